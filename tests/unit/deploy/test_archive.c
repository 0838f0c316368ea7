/* test_archive.c: bundle archives. Hostile archives built here with libarchive's writer are
 * refused with the right line each (several at once when there are several), leave nothing
 * behind and leak no descriptor; a packed tree extracts to the same tree, and packing is
 * byte-for-byte reproducible. */
#include "deploy/archive.h"
#include "core/buf.h"
#include "core/error.h"
#include "vg_test.h"

#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

static char base[64]; /* this run's temporary directory */

static const deploy_archive_limits_t lim = {.max_unpacked_bytes = 1 << 20, .max_files = 100};

/* ---- building archives ------------------------------------------------------------- */

static la_ssize_t tb_out(struct archive *a, void *arg, const void *buf, size_t n)
{
    (void)a;
    return vg_buf_append(arg, buf, n) == 0 ? (la_ssize_t)n : -1;
}

typedef struct tb {
    struct archive *a;
    vg_buf_t out;
} tb_t;

static void tb_begin(tb_t *t, int gzip)
{
    vg_buf_init(&t->out);
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    if (gzip) archive_write_add_filter_gzip(t->a);
    archive_write_set_bytes_in_last_block(t->a, 1); /* no padding after the gzip stream */
    archive_write_open2(t->a, &t->out, NULL, tb_out, NULL, NULL);
}

/* type: 'f' file (data = contents), 'd' directory, 'l' link (data = target), 'h' hard link
 * (data = target), 'p' FIFO, 'c' character device. */
static void tb_add(tb_t *t, const char *path, char type, const char *data, unsigned mode)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (type) {
    case 'f':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)strlen(data));
        break;
    case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
    case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, data);
        break;
    case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, data);
        break;
    case 'p':
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    case 'c':
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, makedev(1, 3));
        break;
    }
    CHECK(archive_write_header(t->a, e) == ARCHIVE_OK);
    if (type == 'f' && *data)
        CHECK(archive_write_data(t->a, data, strlen(data)) == (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

static void tb_end(tb_t *t)
{
    CHECK(archive_write_close(t->a) == ARCHIVE_OK);
    archive_write_free(t->a);
}

/* ---- helpers ----------------------------------------------------------------------- */

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n == 0;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        if (*s == '\n') n++;
    return n;
}

static char *path_in(const char *name)
{
    static char p[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", base, name);
    return p[i];
}

static char *read_text(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) return NULL;
    buf[n] = '\0';
    return buf;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

/* Extracts `data` into base/stage expecting a refusal with exactly the `n` given lines (in
 * this order, nothing else), and checks that nothing is left behind. */
static void expect_refused(const void *data, size_t len, const deploy_archive_limits_t *l, size_t n,
                           const char *const *lines)
{
    vg_buf_t problems;
    vg_buf_init(&problems);
    int fds = count_fds();
    char stage[256];
    snprintf(stage, sizeof stage, "%s/stage", base);
    int rc = deploy_archive_extract(data, len, stage, l, NULL, &problems);
    CHECK_EQ_INT(rc, VG_EINVAL);
    vg_buf_t want;
    vg_buf_init(&want);
    for (size_t i = 0; i < n; i++)
        vg_buf_printf(&want, "%s\n", lines[i]);
    if (lines[0][strlen(lines[0]) - 1] == '(') { /* a prefix: libarchive's own words follow */
        CHECK(problems.data && strncmp(problems.data, lines[0], strlen(lines[0])) == 0);
        CHECK_EQ_INT(count_lines(problems.data), n);
    } else {
        CHECK_EQ_STR(problems.data, want.data);
    }
    CHECK(!exists(stage));
    CHECK(dir_is_empty(base));
    CHECK_EQ_INT(count_fds(), fds);
    vg_buf_close(&want);
    vg_buf_close(&problems);
}

/* One hostile entry (after a harmless file) refused with `line`. */
static void refuse_one(const char *path, char type, const char *data, const char *line)
{
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "ok.txt", 'f', "fine", 0644);
    tb_add(&t, path, type, data, type == 'd' ? 0755 : 0644);
    tb_end(&t);
    expect_refused(t.out.data, t.out.len, &lim, 1, &line);
    vg_buf_close(&t.out);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void test_absolute_and_dotdot(void)
{
    refuse_one("/etc/x", 'f', "x",
               "archive: /etc/x: absolute path; expected a path relative to the bundle");
    refuse_one("../x", 'f', "x", "archive: ../x: \"..\" component");
    refuse_one("a/../../x", 'f', "x", "archive: a/../../x: \"..\" component");
    refuse_one("a/..", 'd', "", "archive: a/../: \"..\" component");
}

static void test_bad_names(void)
{
    refuse_one("a\nb", 'f', "x", "archive: a\\x0ab: control character in the name");
    refuse_one("tab\there", 'f', "x", "archive: tab\\x09here: control character in the name");
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = '\0';
    char line[600];
    snprintf(line, sizeof line, "archive: %.160s...: a name longer than 255 bytes", longname);
    refuse_one(longname, 'f', "x", line);
    char deep[1200] = "";
    while (strlen(deep) < 1030)
        strcat(deep, "abcdefghi/");
    strcat(deep, "f");
    snprintf(line, sizeof line, "archive: %.160s...: path longer than 1024 bytes", deep);
    refuse_one(deep, 'f', "x", line);
}

static void test_links_outside(void)
{
    refuse_one("l", 'l', "/etc",
               "archive: l: link target is an absolute path; expected a path relative to the "
               "link (link to /etc)");
    refuse_one("a", 'l', "../..",
               "archive: a: link target points outside the bundle (link to ../..)");
    refuse_one("d/e/up", 'l', "../../..",
               "archive: d/e/up: link target points outside the bundle (link to ../../..)");
    refuse_one("d/l", 'l', "x/../../..",
               "archive: d/l: link target has \"..\" after a name; only leading \"..\" are "
               "allowed (link to x/../../..)");
    refuse_one("e", 'l', "", "archive: e: link with an empty target (link to )");
}

static void test_link_through_link(void)
{
    /* d/l1 -> .. is the root, so l2 -> d/l1/.. would be the root's parent for the kernel
     * even though it looks like "d" lexically: refused. */
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "d/", 'd', "", 0755);
    tb_add(&t, "d/l1", 'l', "..", 0777);
    tb_add(&t, "l2", 'l', "d/l1/..", 0777);
    tb_end(&t);
    const char *line = "archive: l2: link target has \"..\" after a name; only leading \"..\" "
                       "are allowed (link to d/l1/..)";
    expect_refused(t.out.data, t.out.len, &lim, 1, &line);
    vg_buf_close(&t.out);
}

static void test_under_a_link(void)
{
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "sub/", 'd', "", 0755);
    tb_add(&t, "d", 'l', "sub", 0777);
    tb_add(&t, "d/x", 'f', "through the link", 0644);
    tb_add(&t, "d/", 'd', "", 0755);
    tb_end(&t);
    const char *lines[] = {
        "archive: d/x: is under the link d of this archive; nothing may be written under a link",
        "archive: d/: duplicate entry",
    };
    expect_refused(t.out.data, t.out.len, &lim, 2, lines);
    vg_buf_close(&t.out);

    /* the other order: a link where earlier entries made a directory */
    tb_begin(&t, 1);
    tb_add(&t, "d/x", 'f', "x", 0644);
    tb_add(&t, "d", 'l', "/tmp", 0777);
    tb_add(&t, "e/y", 'f', "y", 0644);
    tb_add(&t, "e", 'l', "d", 0777);
    tb_end(&t);
    const char *lines2[] = {
        "archive: d: link target is an absolute path; expected a path relative to the link "
        "(link to /tmp)",
        "archive: e: is also the directory of earlier entries; expected a directory",
    };
    expect_refused(t.out.data, t.out.len, &lim, 2, lines2);
    vg_buf_close(&t.out);

    refuse_one("ok.txt/inner", 'f', "x",
               "archive: ok.txt/inner: is under the file ok.txt of this archive; nothing may be "
               "written under a file");
}

static void test_special_entries(void)
{
    refuse_one("h", 'h', "ok.txt",
               "archive: h: hard link (to ok.txt); expected a regular file, a directory or a "
               "symbolic link");
    refuse_one("p", 'p', "",
               "archive: p: FIFO; expected a regular file, a directory or a symbolic link");
    refuse_one("c", 'c', "",
               "archive: c: character device; expected a regular file, a directory or a "
               "symbolic link");
    refuse_one("ok.txt", 'f', "again", "archive: ok.txt: duplicate entry");
    refuse_one("./ok.txt", 'f', "again", "archive: ./ok.txt: duplicate entry");
}

static void test_limits(void)
{
    deploy_archive_limits_t small = {.max_unpacked_bytes = 100, .max_files = 5};
    tb_t t;
    tb_begin(&t, 1);
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        tb_add(&t, name, 'f', "x", 0644);
    }
    tb_end(&t);
    const char *line = "archive: more than 5 entries (deploy.max_files); the rest was not read";
    expect_refused(t.out.data, t.out.len, &small, 1, &line);
    vg_buf_close(&t.out);

    char sixty[61];
    memset(sixty, 'z', 60);
    sixty[60] = '\0';
    tb_begin(&t, 1);
    tb_add(&t, "a", 'f', sixty, 0644);
    tb_add(&t, "b", 'f', sixty, 0644); /* 120 > 100 */
    tb_add(&t, "c", 'f', sixty, 0644); /* reported once */
    tb_add(&t, "/abs", 'f', "", 0644); /* and the scan goes on */
    tb_end(&t);
    const char *lines[] = {
        "archive: b: the files hold more than 100 bytes in all (deploy.max_unpacked_bytes)",
        "archive: /abs: absolute path; expected a path relative to the bundle",
    };
    expect_refused(t.out.data, t.out.len, &small, 2, lines);
    vg_buf_close(&t.out);

    /* exactly at the limits: accepted */
    deploy_archive_limits_t exact = {.max_unpacked_bytes = 120, .max_files = 2};
    tb_begin(&t, 1);
    tb_add(&t, "a", 'f', sixty, 0644);
    tb_add(&t, "b", 'f', sixty, 0644);
    tb_end(&t);
    vg_buf_t problems;
    vg_buf_init(&problems);
    deploy_archive_stats_t st;
    CHECK_EQ_INT(
        deploy_archive_extract(t.out.data, t.out.len, path_in("stage"), &exact, &st, &problems), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(st.files, 2);
    CHECK_EQ_INT(st.unpacked_bytes, 120);
    CHECK_EQ_INT(deploy_archive_rmtree(path_in("stage")), 0);
    vg_buf_close(&problems);
    vg_buf_close(&t.out);
}

static void test_not_a_tgz(void)
{
    const char *empty = "archive: not a valid .tar.gz (empty input)";
    expect_refused("", 0, &lim, 1, &empty);

    unsigned char rnd[4096];
    srand(42);
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (unsigned char)(rand() >> 7);
    rnd[0] = 'x';
    const char *notgz = "archive: not a valid .tar.gz (it does not start like gzip data)";
    expect_refused(rnd, sizeof rnd, &lim, 1, &notgz);
    rnd[0] = 0x1f; /* a gzip magic before random bytes */
    rnd[1] = 0x8b;
    const char *bad = "archive: not a valid .tar.gz (";
    expect_refused(rnd, sizeof rnd, &lim, 1, &bad);

    /* a valid archive cut short */
    tb_t t;
    tb_begin(&t, 1);
    char big[8192];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = '\0';
    tb_add(&t, "a", 'f', big, 0644);
    tb_add(&t, "b", 'f', big, 0644);
    tb_end(&t);
    expect_refused(t.out.data, t.out.len / 2, &lim, 1, &bad);
    vg_buf_close(&t.out);

    /* a tar that is not gzip'd */
    tb_begin(&t, 0);
    tb_add(&t, "a", 'f', "plain", 0644);
    tb_end(&t);
    expect_refused(t.out.data, t.out.len, &lim, 1, &notgz);
    vg_buf_close(&t.out);

    /* gzip'd text that is not a tar */
    struct archive *a = archive_write_new();
    vg_buf_t gz;
    vg_buf_init(&gz);
    archive_write_add_filter_gzip(a);
    archive_write_set_format_raw(a);
    archive_write_open2(a, &gz, NULL, tb_out, NULL, NULL);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_write_header(a, e);
    archive_write_data(a, "hello, not a tar archive at all\n", 32);
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    expect_refused(gz.data, gz.len, &lim, 1, &bad);
    vg_buf_close(&gz);
}

static void test_all_problems_at_once(void)
{
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "good/one.txt", 'f', "1", 0644);
    tb_add(&t, "/etc/passwd", 'f', "root", 0644);
    tb_add(&t, "good/two.txt", 'f', "2", 0644);
    tb_add(&t, "../escape", 'f', "x", 0644);
    tb_add(&t, "etc", 'l', "/etc", 0777);
    tb_add(&t, "hl", 'h', "good/one.txt", 0644);
    tb_add(&t, "fifo", 'p', "", 0644);
    tb_add(&t, "good/one.txt", 'f', "again", 0644);
    tb_add(&t, "good/three.txt", 'f', "3", 0644);
    tb_end(&t);
    const char *lines[] = {
        "archive: /etc/passwd: absolute path; expected a path relative to the bundle",
        "archive: ../escape: \"..\" component",
        "archive: etc: link target is an absolute path; expected a path relative to the link "
        "(link to /etc)",
        "archive: hl: hard link (to good/one.txt); expected a regular file, a directory or a "
        "symbolic link",
        "archive: fifo: FIFO; expected a regular file, a directory or a symbolic link",
        "archive: good/one.txt: duplicate entry",
    };
    expect_refused(t.out.data, t.out.len, &lim, 6, lines);
    vg_buf_close(&t.out);
}

static void test_existing_dir_left_alone(void)
{
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "a", 'f', "x", 0644);
    tb_end(&t);
    char stage[256];
    snprintf(stage, sizeof stage, "%s/stage", base);
    CHECK_EQ_INT(mkdir(stage, 0700), 0);
    write_text(path_in("stage/mine"), "keep me", 0644);
    vg_buf_t problems;
    vg_buf_init(&problems);
    CHECK_EQ_INT(deploy_archive_extract(t.out.data, t.out.len, stage, &lim, NULL, &problems),
                 VG_EIO);
    CHECK(problems.data && strstr(problems.data, "cannot create the staging directory: File "
                                                 "exists"));
    CHECK(exists(path_in("stage/mine")));
    CHECK(!exists(path_in("stage/a")));
    CHECK_EQ_INT(deploy_archive_rmtree(stage), 0);
    CHECK(!exists(stage));
    vg_buf_close(&problems);
    vg_buf_close(&t.out);
}

/* ---- what is accepted -------------------------------------------------------------- */

static void test_extract_modes_and_root(void)
{
    tb_t t;
    tb_begin(&t, 1);
    tb_add(&t, "./", 'd', "", 0700);
    tb_add(&t, "./bin/run", 'f', "#!/bin/sh\n", 04744); /* setuid and u+x: 0755 */
    tb_add(&t, "bin//data", 'f', "d", 0600);            /* 0644 */
    tb_add(&t, "conf/", 'd', "", 0700);                 /* directories: 0755 */
    tb_add(&t, "conf/./x", 'f', "x", 02777);            /* 0755, no setgid */
    tb_add(&t, "bin/self", 'l', "../bin", 0777);
    tb_add(&t, "top", 'l', ".", 0777);
    tb_add(&t, "bin/", 'd', "", 0755); /* explicit after implicit: fine */
    tb_end(&t);
    vg_buf_t problems;
    vg_buf_init(&problems);
    deploy_archive_stats_t st;
    char stage[256];
    snprintf(stage, sizeof stage, "%s/stage", base);
    int fds = count_fds();
    CHECK_EQ_INT(deploy_archive_extract(t.out.data, t.out.len, stage, &lim, &st, &problems), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(count_fds(), fds);
    CHECK_EQ_INT(st.files, 7);
    CHECK_EQ_INT(st.unpacked_bytes, 12);
    struct stat s;
    CHECK(lstat(stage, &s) == 0 && (s.st_mode & 07777) == 0700);
    CHECK(lstat(path_in("stage/bin/run"), &s) == 0 && (s.st_mode & 07777) == 0755);
    CHECK(lstat(path_in("stage/bin/data"), &s) == 0 && (s.st_mode & 07777) == 0644);
    CHECK(lstat(path_in("stage/conf"), &s) == 0 && (s.st_mode & 07777) == 0755);
    CHECK(lstat(path_in("stage/bin"), &s) == 0 && (s.st_mode & 07777) == 0755);
    CHECK(lstat(path_in("stage/conf/x"), &s) == 0 && (s.st_mode & 07777) == 0755);
    CHECK(lstat(path_in("stage/bin/self"), &s) == 0 && S_ISLNK(s.st_mode));
    CHECK_EQ_STR(read_text(path_in("stage/bin/run")), "#!/bin/sh\n");
    char tgt[64] = "";
    CHECK(readlink(path_in("stage/bin/self"), tgt, sizeof tgt - 1) == 6);
    CHECK_EQ_STR(tgt, "../bin");
    CHECK_EQ_INT(deploy_archive_rmtree(stage), 0);
    CHECK(dir_is_empty(base));
    vg_buf_close(&problems);
    vg_buf_close(&t.out);
}

/* ---- packing ----------------------------------------------------------------------- */

static const char long_dir[] = "a-directory-name-long-enough-that-with-the-file-name-the-path-"
                               "passes-the-hundred-bytes-of-ustar";

static void make_tree(const char *root)
{
    char p[512];
    CHECK_EQ_INT(mkdir(root, 0755), 0);
    snprintf(p, sizeof p, "%s/bundle.json", root);
    write_text(p, "{\"name\":\"demo\"}\n", 0664);
    snprintf(p, sizeof p, "%s/drivers", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/drivers/d1", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/drivers/d1/main", root);
    write_text(p, "#!/bin/sh\necho driver\n", 0700);
    snprintf(p, sizeof p, "%s/a", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a/b", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a/b/c.txt", root);
    write_text(p, "nested\n", 0644);
    snprintf(p, sizeof p, "%s/a.txt", root); /* sorts between "a" and "a/b" */
    write_text(p, "", 0644);
    snprintf(p, sizeof p, "%s/empty", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lib", root);
    CHECK_EQ_INT(symlink("a/b", p), 0);
    snprintf(p, sizeof p, "%s/drivers/d1/cfg", root);
    CHECK_EQ_INT(symlink("../../a/b/c.txt", p), 0);
    snprintf(p, sizeof p, "%s/%s", root, long_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/and-a-file-in-it.lua", root, long_dir);
    write_text(p, "return 1\n", 0644);
}

typedef struct {
    const char *path;
    char type;
    unsigned mode;
    const char *data; /* contents or link target */
} want_t;

static void check_tree(const char *root)
{
    char longf[256];
    snprintf(longf, sizeof longf, "%s/and-a-file-in-it.lua", long_dir);
    const want_t want[] = {
        {"bundle.json", 'f', 0644, "{\"name\":\"demo\"}\n"},
        {"drivers", 'd', 0755, NULL},
        {"drivers/d1", 'd', 0755, NULL},
        {"drivers/d1/main", 'f', 0755, "#!/bin/sh\necho driver\n"},
        {"drivers/d1/cfg", 'l', 0, "../../a/b/c.txt"},
        {"a/b/c.txt", 'f', 0644, "nested\n"},
        {"a.txt", 'f', 0644, ""},
        {"empty", 'd', 0755, NULL},
        {"lib", 'l', 0, "a/b"},
        {longf, 'f', 0644, "return 1\n"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", root, want[i].path);
        struct stat st;
        CHECK(lstat(p, &st) == 0);
        if (want[i].type == 'f') {
            CHECK(S_ISREG(st.st_mode));
            CHECK_EQ_INT(st.st_mode & 07777, want[i].mode);
            CHECK_EQ_STR(read_text(p), want[i].data);
        } else if (want[i].type == 'd') {
            CHECK(S_ISDIR(st.st_mode));
            CHECK_EQ_INT(st.st_mode & 07777, want[i].mode);
        } else {
            CHECK(S_ISLNK(st.st_mode));
            char t[256] = "";
            CHECK(readlink(p, t, sizeof t - 1) > 0);
            CHECK_EQ_STR(t, want[i].data);
        }
    }
}

static void test_pack_round_trip(void)
{
    char src[256];
    snprintf(src, sizeof src, "%s/src", base);
    make_tree(src);
    vg_buf_t out, problems;
    vg_buf_init(&out);
    vg_buf_init(&problems);
    char err[512] = "";
    int fds = count_fds();
    CHECK_EQ_INT(deploy_archive_pack(src, &out, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(count_fds(), fds);

    /* the entries: sorted bytewise, owner 0, no names, mtime 0, normalised modes */
    char ld[160], ldf[200];
    snprintf(ld, sizeof ld, "%s/", long_dir);
    snprintf(ldf, sizeof ldf, "%s/and-a-file-in-it.lua", long_dir);
    /* bytewise: '-' < '.' < '/', so "a-..." and "a.txt" come before "a/b" */
    const char *const order[] = {
        "a/",
        ld,
        ldf,
        "a.txt",
        "a/b/",
        "a/b/c.txt",
        "bundle.json",
        "drivers/",
        "drivers/d1/",
        "drivers/d1/cfg",
        "drivers/d1/main",
        "empty/",
        "lib",
    };
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    CHECK(archive_read_open_memory(a, out.data, out.len) == ARCHIVE_OK);
    struct archive_entry *e;
    size_t i = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (i < sizeof order / sizeof order[0]) CHECK_EQ_STR(name, order[i]);
        CHECK_EQ_INT(archive_entry_uid(e), 0);
        CHECK_EQ_INT(archive_entry_gid(e), 0);
        CHECK(!archive_entry_uname(e) || !*archive_entry_uname(e));
        CHECK(!archive_entry_gname(e) || !*archive_entry_gname(e));
        CHECK_EQ_INT(archive_entry_mtime(e), 0);
        unsigned perm = archive_entry_perm(e);
        CHECK(perm == 0644 || perm == 0755 || perm == 0777);
        i++;
    }
    CHECK_EQ_INT(i, sizeof order / sizeof order[0]);
    archive_read_free(a);

    deploy_archive_stats_t st;
    char dst[256];
    snprintf(dst, sizeof dst, "%s/dst", base);
    CHECK_EQ_INT(deploy_archive_extract(out.data, out.len, dst, &lim, &st, &problems), 0);
    CHECK_EQ_INT(problems.len, 0);
    CHECK_EQ_INT(st.files, 13);
    check_tree(dst);

    /* and the extracted tree packs to the same bytes */
    vg_buf_t again;
    vg_buf_init(&again);
    CHECK_EQ_INT(deploy_archive_pack(dst, &again, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(again.len, out.len);
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    vg_buf_close(&again);
    CHECK_EQ_INT(deploy_archive_rmtree(dst), 0);
    CHECK_EQ_INT(deploy_archive_rmtree(src), 0);
    vg_buf_close(&out);
    vg_buf_close(&problems);
}

static void progress_cb(void *arg, uint64_t n)
{
    uint64_t *last = arg;
    CHECK(n >= *last);
    *last = n;
}

static void test_pack_reproducible(void)
{
    char src[256];
    snprintf(src, sizeof src, "%s/src", base);
    make_tree(src);
    vg_buf_t one, two;
    vg_buf_init(&one);
    vg_buf_init(&two);
    char err[512] = "";
    uint64_t last = 0;
    CHECK_EQ_INT(vg_buf_puts(&one, "prefix"), 0); /* pack appends */
    CHECK_EQ_INT(deploy_archive_pack(src, &one, progress_cb, &last, err, sizeof err), 0);
    CHECK_EQ_INT(last, strlen("{\"name\":\"demo\"}\n") + strlen("#!/bin/sh\necho driver\n") +
                           strlen("nested\n") + strlen("return 1\n"));
    CHECK(memcmp(one.data, "prefix", 6) == 0);
    /* gzip header: no timestamp */
    const unsigned char *g = (const unsigned char *)one.data + 6;
    CHECK(g[0] == 0x1f && g[1] == 0x8b && !g[4] && !g[5] && !g[6] && !g[7]);

    /* other mtimes, other group/other bits, another second: the same bytes */
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    char p[512];
    snprintf(p, sizeof p, "%s/bundle.json", src);
    CHECK_EQ_INT(utimes(p, tv), 0);
    chmod(p, 0600);
    snprintf(p, sizeof p, "%s/drivers/d1/main", src);
    chmod(p, 0711);
    snprintf(p, sizeof p, "%s/a", src);
    CHECK_EQ_INT(utimes(p, tv), 0);
    sleep(1);
    CHECK_EQ_INT(deploy_archive_pack(src, &two, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(two.len + 6, one.len);
    CHECK(two.len + 6 == one.len && memcmp(one.data + 6, two.data, two.len) == 0);
    CHECK_EQ_INT(deploy_archive_rmtree(src), 0);
    vg_buf_close(&one);
    vg_buf_close(&two);
}

static void test_pack_refuses(void)
{
    char src[256];
    snprintf(src, sizeof src, "%s/src", base);
    char p[512], err[512] = "";
    vg_buf_t out;
    vg_buf_init(&out);
    CHECK_EQ_INT(mkdir(src, 0755), 0);
    snprintf(p, sizeof p, "%s/ok", src);
    write_text(p, "ok", 0644);
    snprintf(p, sizeof p, "%s/fifo", src);
    CHECK_EQ_INT(mkfifo(p, 0644), 0);
    CHECK_EQ_INT(vg_buf_puts(&out, "kept"), 0);
    CHECK_EQ_INT(deploy_archive_pack(src, &out, NULL, NULL, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "/fifo: a FIFO; a bundle holds only directories, regular files and "
                      "symbolic links") != NULL);
    CHECK_EQ_STR(out.data, "kept"); /* nothing appended on error */
    unlink(p);

    snprintf(p, sizeof p, "%s/out", src);
    CHECK_EQ_INT(symlink("../../etc", p), 0);
    CHECK_EQ_INT(deploy_archive_pack(src, &out, NULL, NULL, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "/out: link target points outside the bundle (link to ../../etc)") != NULL);
    unlink(p);

    snprintf(p, sizeof p, "%s/bad\nname", src);
    write_text(p, "x", 0644);
    CHECK_EQ_INT(deploy_archive_pack(src, &out, NULL, NULL, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "src: bad\\x0aname: control character in the name") != NULL);
    unlink(p);

    CHECK_EQ_INT(deploy_archive_pack(path_in("nope"), &out, NULL, NULL, err, sizeof err), VG_EIO);
    CHECK(strstr(err, "nope: No such file or directory") != NULL);
    snprintf(p, sizeof p, "%s/ok", src);
    CHECK_EQ_INT(deploy_archive_pack(p, &out, NULL, NULL, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "not a directory") != NULL);
    CHECK_EQ_STR(out.data, "kept");
    CHECK_EQ_INT(deploy_archive_rmtree(src), 0);
    vg_buf_close(&out);
}

static void test_rmtree_does_not_follow(void)
{
    char outside[256];
    snprintf(outside, sizeof outside, "%s/outside", base);
    char victim[256];
    snprintf(victim, sizeof victim, "%s/victim", base);
    char p[512];
    CHECK_EQ_INT(mkdir(outside, 0755), 0);
    snprintf(p, sizeof p, "%s/precious", outside);
    write_text(p, "keep", 0644);
    CHECK_EQ_INT(mkdir(victim, 0755), 0);
    snprintf(p, sizeof p, "%s/sub", victim);
    CHECK_EQ_INT(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/link", victim);
    CHECK_EQ_INT(symlink(outside, p), 0);
    snprintf(p, sizeof p, "%s/sub/file", victim);
    write_text(p, "x", 0644);
    snprintf(p, sizeof p, "%s/ro", victim);
    CHECK_EQ_INT(mkdir(p, 0755), 0);
    CHECK_EQ_INT(deploy_archive_rmtree(victim), 0);
    CHECK(!exists(victim));
    snprintf(p, sizeof p, "%s/precious", outside);
    CHECK(exists(p));
    CHECK_EQ_INT(deploy_archive_rmtree(victim), 0); /* gone already: fine */
    /* a link given as the directory: the link goes, its target stays */
    CHECK_EQ_INT(symlink(outside, victim), 0);
    CHECK_EQ_INT(deploy_archive_rmtree(victim), 0);
    CHECK(!exists(victim) && exists(p));
    CHECK_EQ_INT(deploy_archive_rmtree(outside), 0);
    CHECK(dir_is_empty(base));
}

VG_TEST_MAIN({
    snprintf(base, sizeof base, "/tmp/vg-test-archive-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    VG_TEST(test_absolute_and_dotdot);
    VG_TEST(test_bad_names);
    VG_TEST(test_links_outside);
    VG_TEST(test_link_through_link);
    VG_TEST(test_under_a_link);
    VG_TEST(test_special_entries);
    VG_TEST(test_limits);
    VG_TEST(test_not_a_tgz);
    VG_TEST(test_all_problems_at_once);
    VG_TEST(test_existing_dir_left_alone);
    VG_TEST(test_extract_modes_and_root);
    VG_TEST(test_pack_round_trip);
    VG_TEST(test_pack_reproducible);
    VG_TEST(test_pack_refuses);
    VG_TEST(test_rmtree_does_not_follow);
    deploy_archive_rmtree(base);
})
