/* archive.c: bundle archives. Extraction reads a gzip'd tar from memory through libarchive,
 * checks every entry and writes what it accepts itself (openat with O_EXCL|O_NOFOLLOW under
 * directories it created and opened itself, never through a link); packing walks a directory
 * in byte order into a reproducible gzip'd pax-restricted ustar. libarchive is reached through
 * the table of libarchive.c, loaded at the first extraction or pack. */
#include "deploy/archive.h"
#include "deploy/archive_int.h"
#include "deploy/libarchive_int.h"
#include "core/error.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEPLOY__SHOW_MAX  160           /* bytes of an entry name quoted in a problem line */
#define DEPLOY__CHUNK     (64 * 1024)   /* bytes read from a file at a time when packing */
#define DEPLOY__PROGRESS  (1024 * 1024) /* bytes between two progress calls inside a file */
#define DEPLOY__DIR_MODE  0755
#define DEPLOY__FILE_MODE 0644
#define DEPLOY__EXEC_MODE 0755
#define DEPLOY__LINK_MODE 0777

static unsigned deploy__file_mode(unsigned perm)
{
    return (perm & 0111) ? DEPLOY__EXEC_MODE : DEPLOY__FILE_MODE;
}

/* ---- names and link targets --------------------------------------------------------- */

const char *deploy__check_name(const char *name, size_t n)
{
    if (n == 0) return "empty name";
    if (n > DEPLOY__NAME_MAX) return "a name longer than 255 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) return "control character in the name";
    }
    if (n == 1 && name[0] == '.') return "\".\" component";
    if (n == 2 && name[0] == '.' && name[1] == '.') return "\"..\" component";
    return NULL;
}

const char *deploy__check_target(const char *path, const char *target)
{
    size_t len = target ? strlen(target) : 0;
    if (len == 0) return "link with an empty target";
    if (len > DEPLOY__PATH_MAX) return "link target longer than 1024 bytes";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c < 0x20 || c == 0x7f) return "control character in the link target";
    }
    if (target[0] == '/')
        return "link target is an absolute path; expected a path relative to the link";
    size_t depth = 0; /* directories between the root and the link */
    for (const char *p = path; *p; p++)
        if (*p == '/') depth++;
    int named = 0;
    for (const char *p = target; *p;) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (*p == '/') p++;
        if (n == 0 || (n == 1 && s[0] == '.')) continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (named)
                return "link target has \"..\" after a name; only leading \"..\" are allowed";
            if (depth == 0) return "link target points outside the bundle";
            depth--;
        } else if (n > DEPLOY__NAME_MAX) {
            return "link target has a name longer than 255 bytes";
        } else {
            named = 1;
        }
    }
    return NULL;
}

/* Normalises tar entry name `name` into `out` (DEPLOY__PATH_MAX + 1 bytes): "." and empty
 * components dropped, no leading or trailing '/'; "" is the root. Returns NULL, or the reason
 * the name is refused. */
static const char *deploy__normalise(const char *name, char *out)
{
    if (!*name) return "empty name";
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) return "control character in the name";
    }
    if (name[0] == '/') return "absolute path; expected a path relative to the bundle";
    size_t o = 0;
    for (const char *p = name; *p;) {
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (*p == '/') p++;
        if (n == 0 || (n == 1 && s[0] == '.')) continue;
        const char *why = deploy__check_name(s, n);
        if (why) return why;
        if (o + (o ? 1 : 0) + n > DEPLOY__PATH_MAX) return "path longer than 1024 bytes";
        if (o) out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return NULL;
}

/* Copies `s` into `out` (outlen >= 8) for a message: control bytes and '\\' as \xNN, cut
 * with "..." at DEPLOY__SHOW_MAX bytes or where `out` ends. Returns `out`. */
static const char *deploy__escape(const char *s, char *out, size_t outlen)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < DEPLOY__SHOW_MAX && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    snprintf(out + o, outlen - o, "%s", s[i] ? "..." : "");
    return out;
}

/* Appends `s` for a message line, escaped as deploy__escape does. */
static int deploy__show(vg_buf_t *b, const char *s)
{
    char shown[4 * DEPLOY__SHOW_MAX + 8];
    return vg_buf_puts(b, deploy__escape(s, shown, sizeof shown));
}

/* ---- the set of entries seen -------------------------------------------------------- */

enum {
    DEPLOY__K_IMPLICIT = 1, /* a directory made for the entries under it */
    DEPLOY__K_DIR,
    DEPLOY__K_FILE,
    DEPLOY__K_LINK,
};

typedef struct deploy__slot {
    char *key; /* a normalised path; NULL for a free slot */
    size_t len;
    int kind;
} deploy__slot_t;

typedef struct deploy__set {
    deploy__slot_t *slots;
    size_t cap, n; /* cap is a power of two, or 0 */
} deploy__set_t;

static size_t deploy__hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)h;
}

static deploy__slot_t *deploy__set_slot(deploy__slot_t *slots, size_t cap, const char *key,
                                        size_t n)
{
    size_t i = deploy__hash(key, n) & (cap - 1);
    while (slots[i].key && (slots[i].len != n || memcmp(slots[i].key, key, n) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* The entry with path key[0..n), or NULL. */
static deploy__slot_t *deploy__set_find(deploy__set_t *s, const char *key, size_t n)
{
    if (!s->cap) return NULL;
    deploy__slot_t *sl = deploy__set_slot(s->slots, s->cap, key, n);
    return sl->key ? sl : NULL;
}

/* Adds path key[0..n) (not yet present) as `kind`. Returns 0 or VG_ENOMEM. */
static int deploy__set_add(deploy__set_t *s, const char *key, size_t n, int kind)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        deploy__slot_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return VG_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].key)
                *deploy__set_slot(slots, cap, s->slots[i].key, s->slots[i].len) = s->slots[i];
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    char *k = malloc(n + 1);
    if (!k) return VG_ENOMEM;
    memcpy(k, key, n);
    k[n] = '\0';
    deploy__slot_t *sl = deploy__set_slot(s->slots, s->cap, key, n);
    sl->key = k;
    sl->len = n;
    sl->kind = kind;
    s->n++;
    return 0;
}

static void deploy__set_free(deploy__set_t *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].key);
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}

/* ---- extraction --------------------------------------------------------------------- */

typedef struct deploy__x {
    const deploy__la_t *la; /* libarchive */
    const char *dir;
    const deploy_archive_limits_t *lim;
    vg_buf_t *problems;
    size_t nproblems;
    int rc;       /* VG_EIO or VG_ENOMEM: stop */
    int rootfd;   /* `dir` */
    int parentfd; /* the directory `parent` names, or -1 */
    char parent[DEPLOY__PATH_MAX + 1];
    deploy__set_t seen;
    uint64_t entries; /* entries of the archive */
    uint64_t bytes;   /* declared bytes of the regular files accepted */
    int bytes_over;   /* the byte limit was reported */
    deploy_archive_stats_t st;
} deploy__x_t;

static void deploy__oom(deploy__x_t *x)
{
    if (!x->rc) x->rc = VG_ENOMEM;
}

/* Adds the line "archive: ENTRY: REASON" (ENTRY NULL: "archive: REASON"). */
__attribute__((format(printf, 3, 4))) static void deploy__problem(deploy__x_t *x, const char *entry,
                                                                  const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    x->nproblems++;
    if (vg_buf_puts(x->problems, "archive: ") || (entry && deploy__show(x->problems, entry)) ||
        (entry && vg_buf_puts(x->problems, ": ")) || vg_buf_puts(x->problems, why) ||
        vg_buf_puts(x->problems, "\n"))
        deploy__oom(x);
}

/* A failed system call on `path` (relative to the bundle; "" is `dir` itself): VG_EIO. */
static void deploy__io(deploy__x_t *x, const char *what, const char *path, int e)
{
    char full[DEPLOY__PATH_MAX + 512];
    snprintf(full, sizeof full, "%s%s%s", x->dir, *path ? "/" : "", path);
    deploy__problem(x, full, "%s: %s", what, strerror(e));
    if (!x->rc) x->rc = e == ENOMEM ? VG_ENOMEM : VG_EIO;
}

static void deploy__invalid(deploy__x_t *x, struct archive *a, const char *fallback)
{
    const char *why = x->la->archive_error_string(a);
    deploy__problem(x, NULL, "not a valid .tar.gz (%s)", why && *why ? why : fallback);
}

/* Checks the parents of `path` (n bytes): each must be a directory of this archive or a new
 * one, never a file or a link. Returns NULL or the reason, naming the parent, in `why`. */
static const char *deploy__check_parents(deploy__x_t *x, const char *path, char *why, size_t whylen)
{
    for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
        deploy__slot_t *sl = deploy__set_find(&x->seen, path, (size_t)(p - path));
        if (!sl || sl->kind == DEPLOY__K_DIR || sl->kind == DEPLOY__K_IMPLICIT) continue;
        snprintf(why, whylen, "%s %.*s of this archive; nothing may be written under %s",
                 sl->kind == DEPLOY__K_LINK ? "is under the link" : "is under the file",
                 (int)(p - path), path, sl->kind == DEPLOY__K_LINK ? "a link" : "a file");
        return why;
    }
    return NULL;
}

/* Records `path` and the directories above it in x->seen. */
static void deploy__record(deploy__x_t *x, const char *path, int kind)
{
    for (const char *p = strchr(path, '/'); p && !x->rc; p = strchr(p + 1, '/'))
        if (!deploy__set_find(&x->seen, path, (size_t)(p - path)) &&
            deploy__set_add(&x->seen, path, (size_t)(p - path), DEPLOY__K_IMPLICIT))
            deploy__oom(x);
    if (x->rc) return;
    deploy__slot_t *sl = deploy__set_find(&x->seen, path, strlen(path));
    if (sl)
        sl->kind = kind; /* an implicit directory made explicit */
    else if (deploy__set_add(&x->seen, path, strlen(path), kind))
        deploy__oom(x);
}

/* Opens (creating the missing ones, mode 0755) the directories above `path` one by one with
 * O_NOFOLLOW, so that nothing is ever reached through a link. Returns the parent's fd (owned
 * by x: do not close it) and *leaf, or -1 with x->rc set. */
static int deploy__open_parent(deploy__x_t *x, const char *path, const char **leaf)
{
    const char *slash = strrchr(path, '/');
    *leaf = slash ? slash + 1 : path;
    size_t plen = slash ? (size_t)(slash - path) : 0;
    if (plen == 0) return x->rootfd;
    if (x->parentfd >= 0 && strlen(x->parent) == plen && memcmp(x->parent, path, plen) == 0)
        return x->parentfd;
    if (x->parentfd >= 0) close(x->parentfd);
    x->parentfd = -1;
    int fd = x->rootfd;
    char sub[DEPLOY__PATH_MAX + 1];
    memcpy(sub, path, plen);
    sub[plen] = '\0';
    for (char *s = sub; s;) {
        char *next = strchr(s, '/');
        if (next) *next = '\0';
        int nfd = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT) {
            if (mkdirat(fd, s, DEPLOY__DIR_MODE) != 0 && errno != EEXIST) {
                int e = errno;
                if (next) *next = '/';
                deploy__io(x, "cannot create directory", sub, e);
                nfd = -1;
                goto out;
            }
            nfd = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (nfd >= 0 && fchmod(nfd, DEPLOY__DIR_MODE) != 0) {
                int e = errno;
                close(nfd);
                errno = e;
                nfd = -1;
            }
        }
        if (nfd < 0) {
            int e = errno;
            if (next) *next = '/';
            deploy__io(x, "cannot open directory", sub, e);
            goto out;
        }
        if (fd != x->rootfd) close(fd);
        fd = nfd;
        if (next) *next = '/';
        s = next ? next + 1 : NULL;
    }
    memcpy(x->parent, path, plen);
    x->parent[plen] = '\0';
    x->parentfd = fd;
    return fd;
out:
    if (fd != x->rootfd) close(fd);
    return -1;
}

/* Writes the data of the current entry to a new file at `path`. */
static void deploy__write_file(deploy__x_t *x, struct archive *a, const char *path, uint64_t size,
                               unsigned mode)
{
    const char *leaf;
    int pfd = deploy__open_parent(x, path, &leaf);
    if (pfd < 0) return;
    int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        deploy__io(x, "cannot create file", path, errno);
        return;
    }
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = x->la->archive_read_data_block(a, &buf, &n, &off);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            deploy__invalid(x, a, "cannot read the data of an entry");
            break;
        }
        if (off < 0 || (uint64_t)off > size || n > size - (uint64_t)off) {
            deploy__problem(x, path, "data beyond the entry's size");
            break;
        }
        const char *p = buf;
        while (n > 0) {
            ssize_t w = pwrite(fd, p, n, (off_t)off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                deploy__io(x, "cannot write", path, w < 0 ? errno : ENOSPC);
                break;
            }
            p += w;
            n -= (size_t)w;
            off += w;
        }
        if (x->rc) break;
    }
    if (!x->rc && !x->nproblems) { /* sparse entries leave holes; the size is the header's */
        if (ftruncate(fd, (off_t)size) != 0 || fchmod(fd, mode) != 0)
            deploy__io(x, "cannot write", path, errno);
    }
    if (close(fd) != 0 && !x->rc) deploy__io(x, "cannot write", path, errno);
    x->st.files++;
    x->st.unpacked_bytes += size;
}

static void deploy__write_dir(deploy__x_t *x, const char *path)
{
    const char *leaf;
    int pfd = deploy__open_parent(x, path, &leaf);
    if (pfd < 0) return;
    if (mkdirat(pfd, leaf, DEPLOY__DIR_MODE) != 0 && errno != EEXIST) {
        deploy__io(x, "cannot create directory", path, errno);
        return;
    }
    int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, DEPLOY__DIR_MODE) != 0)
        deploy__io(x, "cannot open directory", path, errno);
    if (fd >= 0) close(fd);
    x->st.files++;
}

static void deploy__write_link(deploy__x_t *x, const char *path, const char *target)
{
    const char *leaf;
    int pfd = deploy__open_parent(x, path, &leaf);
    if (pfd < 0) return;
    if (symlinkat(target, pfd, leaf) != 0) {
        deploy__io(x, "cannot create link", path, errno);
        return;
    }
    x->st.files++;
}

/* Kinds of entry that are refused, with their reason. */
static const struct {
    mode_t type;
    const char *what;
} deploy__refused_types[] = {
    {AE_IFCHR, "character device"},
    {AE_IFBLK, "block device"},
    {AE_IFIFO, "FIFO"},
    {AE_IFSOCK, "socket"},
};

/* Checks and, while nothing has been refused, writes the entry `e` just read. */
static void deploy__entry(deploy__x_t *x, struct archive *a, struct archive_entry *e)
{
    const char *name = x->la->archive_entry_pathname(e);
    if (!name) name = x->la->archive_entry_pathname_utf8(e);
    if (!name) {
        deploy__problem(x, "(unreadable name)", "the entry's name cannot be read");
        return;
    }
    char path[DEPLOY__PATH_MAX + 1];
    const char *why = deploy__normalise(name, path);
    if (why) {
        deploy__problem(x, name, "%s", why);
        return;
    }
    const char *hard = x->la->archive_entry_hardlink(e);
    if (!hard) hard = x->la->archive_entry_hardlink_utf8(e);
    if (!hard && x->la->archive_entry_hardlink_w(e)) hard = "(unreadable name)";
    if (hard) {
        deploy__problem(x, name,
                        "hard link (to %.*s); expected a regular file, a directory or a "
                        "symbolic link",
                        DEPLOY__SHOW_MAX, hard);
        return;
    }
    mode_t type = x->la->archive_entry_filetype(e);
    int kind = type == AE_IFREG   ? DEPLOY__K_FILE
               : type == AE_IFDIR ? DEPLOY__K_DIR
               : type == AE_IFLNK ? DEPLOY__K_LINK
                                  : 0;
    if (!kind) {
        const char *what = "entry of an unknown type";
        for (size_t i = 0; i < sizeof deploy__refused_types / sizeof deploy__refused_types[0]; i++)
            if (deploy__refused_types[i].type == type) what = deploy__refused_types[i].what;
        deploy__problem(x, name, "%s; expected a regular file, a directory or a symbolic link",
                        what);
        return;
    }
    if (!*path) { /* "." or "./": the bundle's root */
        if (kind != DEPLOY__K_DIR)
            deploy__problem(x, name, "the bundle's root must be a directory");
        else if (deploy__set_find(&x->seen, "", 0))
            deploy__problem(x, name, "duplicate entry");
        else if (deploy__set_add(&x->seen, "", 0, DEPLOY__K_DIR))
            deploy__oom(x);
        return;
    }
    const char *target = NULL;
    if (kind == DEPLOY__K_LINK) {
        target = x->la->archive_entry_symlink(e);
        if (!target) target = x->la->archive_entry_symlink_utf8(e);
        if ((why = deploy__check_target(path, target))) {
            char shown[4 * DEPLOY__SHOW_MAX + 8];
            deploy__problem(x, name, "%s (link to %s)", why,
                            deploy__escape(target ? target : "", shown, sizeof shown));
            return;
        }
    }
    char buf[DEPLOY__PATH_MAX + 128];
    if ((why = deploy__check_parents(x, path, buf, sizeof buf))) {
        deploy__problem(x, name, "%s", why);
        return;
    }
    deploy__slot_t *sl = deploy__set_find(&x->seen, path, strlen(path));
    if (sl && !(sl->kind == DEPLOY__K_IMPLICIT && kind == DEPLOY__K_DIR)) {
        deploy__problem(x, name, "%s",
                        sl->kind == DEPLOY__K_IMPLICIT
                            ? "is also the directory of earlier entries; expected a directory"
                            : "duplicate entry");
        return;
    }
    uint64_t size = 0;
    if (kind == DEPLOY__K_FILE) {
        la_int64_t sz = x->la->archive_entry_size(e);
        size = sz > 0 ? (uint64_t)sz : 0;
        if (size > x->lim->max_unpacked_bytes - x->bytes) {
            if (!x->bytes_over)
                deploy__problem(x, name,
                                "the files hold more than %llu bytes in all "
                                "(deploy.max_unpacked_bytes)",
                                (unsigned long long)x->lim->max_unpacked_bytes);
            x->bytes_over = 1;
            return;
        }
        x->bytes += size;
    }
    deploy__record(x, path, kind);
    if (x->rc || x->nproblems) return; /* refused: check the rest, write nothing more */
    if (kind == DEPLOY__K_FILE)
        deploy__write_file(x, a, path, size,
                           deploy__file_mode((unsigned)x->la->archive_entry_perm(e)));
    else if (kind == DEPLOY__K_DIR)
        deploy__write_dir(x, path);
    else
        deploy__write_link(x, path, target);
}

/* fsyncs what was written: every file and directory, `dir` and the directory holding it. */
static void deploy__sync(deploy__x_t *x)
{
    for (size_t i = 0; i < x->seen.cap && !x->rc; i++) {
        deploy__slot_t *sl = &x->seen.slots[i];
        if (!sl->key || !*sl->key || sl->kind == DEPLOY__K_LINK) continue;
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
        if (sl->kind != DEPLOY__K_FILE) flags |= O_DIRECTORY;
        int fd = openat(x->rootfd, sl->key, flags);
        if (fd < 0 || fsync(fd) != 0) deploy__io(x, "cannot sync", sl->key, errno);
        if (fd >= 0) close(fd);
    }
    if (!x->rc && fsync(x->rootfd) != 0) deploy__io(x, "cannot sync", "", errno);
    if (x->rc) return;
    char up[4096];
    snprintf(up, sizeof up, "%s/..", x->dir);
    int fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) deploy__io(x, "cannot sync the directory above", "", errno);
    if (fd >= 0) close(fd);
}

/* Reads every entry of the opened archive `a`. */
static void deploy__scan(deploy__x_t *x, struct archive *a)
{
    for (;;) {
        struct archive_entry *e;
        int r = x->la->archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            deploy__invalid(x, a, "cannot read an entry");
            break;
        }
        if (x->la->archive_filter_count(a) != 2 ||
            x->la->archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
            deploy__problem(x, NULL, "not a valid .tar.gz (expected one gzip layer over a tar)");
            break;
        }
        if (++x->entries > x->lim->max_files) {
            deploy__problem(x, NULL,
                            "more than %llu entries (deploy.max_files); the rest was not read",
                            (unsigned long long)x->lim->max_files);
            break;
        }
        deploy__entry(x, a, e);
        if (x->rc) break;
    }
}

int deploy_archive_extract(const void *data, size_t len, const char *dir,
                           const deploy_archive_limits_t *lim, deploy_archive_stats_t *stats,
                           vg_buf_t *problems)
{
    assert(lim && dir && problems);
    deploy__x_t x = {.dir = dir, .lim = lim, .problems = problems, .rootfd = -1, .parentfd = -1};
    if (stats) memset(stats, 0, sizeof *stats);
    const unsigned char *d = data;
    if (len < 2 || d[0] != 0x1f || d[1] != 0x8b) {
        deploy__problem(&x, NULL, "not a valid .tar.gz (%s)",
                        len == 0 ? "empty input" : "it does not start like gzip data");
        return x.rc ? x.rc : VG_EINVAL;
    }
    char why[512];
    if (!(x.la = deploy__la_get(why, sizeof why))) { /* before anything is created */
        deploy__problem(&x, NULL, "%s", why);
        return x.rc ? x.rc : VG_EIO;
    }
    if (mkdir(dir, 0700) != 0) {
        deploy__problem(&x, dir, "cannot create the staging directory: %s", strerror(errno));
        return x.rc ? x.rc : VG_EIO; /* not ours: left alone */
    }
    x.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (x.rootfd < 0) deploy__io(&x, "cannot open directory", "", errno);
    struct archive *a = x.rc ? NULL : x.la->archive_read_new();
    if (!a && !x.rc) deploy__oom(&x);
    if (a) {
        if (x.la->archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            x.la->archive_read_support_format_tar(a) != ARCHIVE_OK) {
            deploy__problem(&x, NULL, "libarchive: %s", x.la->archive_error_string(a));
            x.rc = VG_EIO;
        } else if (x.la->archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
            deploy__invalid(&x, a, "cannot open");
        } else {
            deploy__scan(&x, a);
        }
        x.la->archive_read_free(a);
    }
    if (!x.rc && !x.nproblems) deploy__sync(&x);
    if (x.parentfd >= 0) close(x.parentfd);
    if (x.rootfd >= 0) close(x.rootfd);
    deploy__set_free(&x.seen);
    int rc = x.rc ? x.rc : x.nproblems ? VG_EINVAL : 0;
    if (rc) {
        if (deploy_archive_rmtree(dir) != 0)
            deploy__problem(&x, dir, "could not be removed again: %s", strerror(errno));
        return rc;
    }
    if (stats) *stats = x.st;
    return 0;
}

/* ---- removal ------------------------------------------------------------------------ */

static int deploy__rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_DNR) return rmdir(path) != 0 ? -1 : 0;
    return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

int deploy_archive_rmtree(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : VG_EIO;
    if (!S_ISDIR(st.st_mode)) return unlink(dir) != 0 ? VG_EIO : 0;
    /* FTW_PHYS: links are reported as links and removed, never followed; FTW_DEPTH: a
     * directory after what it holds. */
    return nftw(dir, deploy__rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 ? VG_EIO : 0;
}

/* ---- the walk of a bundle directory ------------------------------------------------- */

void deploy__tree_free(deploy__tree_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].path);
        free(t->v[i].target);
    }
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static int deploy__node_cmp(const void *a, const void *b)
{
    return strcmp(((const deploy__node_t *)a)->path, ((const deploy__node_t *)b)->path);
}

static int deploy__name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A new zeroed node at the end of `t`, or NULL (out of memory; `t` unchanged). */
static deploy__node_t *deploy__tree_push(deploy__tree_t *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        deploy__node_t *v = realloc(t->v, cap * sizeof *v);
        if (!v) return NULL;
        t->v = v;
        t->cap = cap;
    }
    deploy__node_t *nd = &t->v[t->n++];
    memset(nd, 0, sizeof *nd);
    return nd;
}

typedef struct deploy__walk {
    deploy__tree_t *t;
    char *err;
    size_t errlen;
} deploy__walk_t;

static int deploy__walk_fail(deploy__walk_t *w, int rc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int deploy__walk_fail(deploy__walk_t *w, int rc, const char *path, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s: %s", path, why);
    return rc;
}

/* Adds what directory `full` (the bundle's `rel`, "" for the root) holds, recursively. */
static int deploy__walk_dir(deploy__walk_t *w, const char *full, const char *rel)
{
    DIR *d = opendir(full);
    if (!d) return deploy__walk_fail(w, VG_EIO, full, "cannot open directory: %s", strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (!rc && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = VG_ENOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = VG_ENOMEM;
        else
            n++;
    }
    if (!rc && errno)
        rc = deploy__walk_fail(w, VG_EIO, full, "cannot read directory: %s", strerror(errno));
    closedir(d);
    if (rc == VG_ENOMEM) snprintf(w->err, w->errlen, "%s: out of memory", full);
    if (!rc && n > 1) qsort(names, n, sizeof *names, deploy__name_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = names[i];
        size_t relen = strlen(rel) + (*rel ? 1 : 0) + strlen(name);
        char *cfull = NULL, *crel = NULL;
        if (asprintf(&cfull, "%s/%s", full, name) < 0) cfull = NULL;
        if (asprintf(&crel, "%s%s%s", rel, *rel ? "/" : "", name) < 0) crel = NULL;
        const char *why = deploy__check_name(name, strlen(name));
        struct stat st;
        deploy__node_t *nd;
        char shown[4 * DEPLOY__SHOW_MAX + 8];
        if (!cfull || !crel) {
            rc = VG_ENOMEM;
            snprintf(w->err, w->errlen, "%s: out of memory", full);
        } else if (why) {
            rc = deploy__walk_fail(w, VG_EINVAL, full, "%s: %s",
                                   deploy__escape(name, shown, sizeof shown), why);
        } else if (relen > DEPLOY__PATH_MAX) {
            rc = deploy__walk_fail(w, VG_EINVAL, cfull, "path longer than 1024 bytes");
        } else if (lstat(cfull, &st) != 0) {
            rc = deploy__walk_fail(w, VG_EIO, cfull, "%s", strerror(errno));
        } else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
            rc = deploy__walk_fail(w, VG_EINVAL, cfull,
                                   "a %s; a bundle holds only directories, regular files and "
                                   "symbolic links",
                                   S_ISFIFO(st.st_mode)   ? "FIFO"
                                   : S_ISSOCK(st.st_mode) ? "socket"
                                                          : "device");
        } else if (!(nd = deploy__tree_push(w->t))) {
            rc = VG_ENOMEM;
            snprintf(w->err, w->errlen, "%s: out of memory", full);
        } else {
            nd->path = crel;
            crel = NULL;
            if (S_ISDIR(st.st_mode)) {
                nd->type = 'd';
                nd->mode = DEPLOY__DIR_MODE;
                rc = deploy__walk_dir(w, cfull, nd->path);
            } else if (S_ISREG(st.st_mode)) {
                nd->type = 'f';
                nd->mode = deploy__file_mode((unsigned)st.st_mode);
                nd->size = (uint64_t)st.st_size;
            } else {
                nd->type = 'l';
                nd->mode = DEPLOY__LINK_MODE;
                char tgt[DEPLOY__PATH_MAX + 2];
                ssize_t tl = readlink(cfull, tgt, sizeof tgt - 1);
                if (tl < 0) {
                    rc = deploy__walk_fail(w, VG_EIO, cfull, "cannot read link: %s",
                                           strerror(errno));
                } else {
                    tgt[tl] = '\0';
                    if ((why = deploy__check_target(nd->path, tgt)))
                        rc = deploy__walk_fail(w, VG_EINVAL, cfull, "%s (link to %s)", why,
                                               deploy__escape(tgt, shown, sizeof shown));
                    else if (!(nd->target = strdup(tgt))) {
                        rc = VG_ENOMEM;
                        snprintf(w->err, w->errlen, "%s: out of memory", cfull);
                    }
                }
            }
        }
        free(cfull);
        free(crel);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int deploy__tree_scan(const char *dir, deploy__tree_t *t, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return VG_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory; expected a bundle directory", dir);
        return VG_EINVAL;
    }
    deploy__walk_t w = {.t = t, .err = err, .errlen = errlen};
    int rc = deploy__walk_dir(&w, dir, "");
    if (!rc && t->n > 1) qsort(t->v, t->n, sizeof *t->v, deploy__node_cmp); /* "a.b" < "a/b" */
    return rc;
}

/* ---- packing ------------------------------------------------------------------------ */

/* Where deploy__out appends, and the table to report with. */
typedef struct deploy__sink {
    const deploy__la_t *la;
    vg_buf_t *out;
} deploy__sink_t;

static la_ssize_t deploy__out(struct archive *a, void *arg, const void *buf, size_t n)
{
    deploy__sink_t *sink = arg;
    if (vg_buf_append(sink->out, buf, n) != 0) {
        sink->la->archive_set_error(a, ENOMEM, "out of memory");
        return -1;
    }
    return (la_ssize_t)n;
}

/* Streams regular file `full` (node `nd`) into the archive. */
static int deploy__pack_file(const deploy__la_t *la, struct archive *a, const char *full,
                             const deploy__node_t *nd, uint64_t *done,
                             void (*progress)(void *, uint64_t), void *arg, char *err,
                             size_t errlen)
{
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", full, strerror(errno));
        return VG_EIO;
    }
    char *buf = malloc(DEPLOY__CHUNK);
    int rc = buf ? 0 : VG_ENOMEM;
    if (!buf) snprintf(err, errlen, "%s: out of memory", full);
    uint64_t left = nd->size, since = 0;
    while (!rc && left > 0) {
        ssize_t r = read(fd, buf, left < DEPLOY__CHUNK ? (size_t)left : DEPLOY__CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s: %s", full,
                     r < 0 ? strerror(errno) : "the file shrank while it was packed");
            rc = VG_EIO;
        } else if (la->archive_write_data(a, buf, (size_t)r) != r) {
            snprintf(err, errlen, "%s: %s", full, la->archive_error_string(a));
            rc = la->archive_errno(a) == ENOMEM ? VG_ENOMEM : VG_EIO;
        } else {
            left -= (uint64_t)r;
            *done += (uint64_t)r;
            since += (uint64_t)r;
            if (progress && since >= DEPLOY__PROGRESS) {
                progress(arg, *done);
                since = 0;
            }
        }
    }
    char extra;
    if (!rc && read(fd, &extra, 1) > 0) {
        snprintf(err, errlen, "%s: the file grew while it was packed", full);
        rc = VG_EIO;
    }
    free(buf);
    close(fd);
    return rc;
}

int deploy_archive_pack(const char *dir, vg_buf_t *out, void (*progress)(void *arg, uint64_t n),
                        void *arg, char *err, size_t errlen)
{
    size_t start = out->len;
    deploy__tree_t t = {0};
    int rc = deploy__tree_scan(dir, &t, err, errlen);
    const deploy__la_t *la = NULL;
    if (!rc && !(la = deploy__la_get(err, errlen))) rc = VG_EIO;
    deploy__sink_t sink = {.la = la, .out = out};
    struct archive *a = NULL;
    struct archive_entry *e = NULL;
    if (!rc && (!(a = la->archive_write_new()) || !(e = la->archive_entry_new()))) {
        snprintf(err, errlen, "out of memory");
        rc = VG_ENOMEM;
    }
    /* pax-restricted: plain ustar headers unless a name or size needs a pax record; gzip
     * without a timestamp, so that the same tree gives the same bytes; the compressed stream
     * is not padded to a 10240-byte block. */
    if (!rc && (la->archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
                la->archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
                la->archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
                la->archive_write_set_filter_option(a, "gzip", "timestamp", NULL) < ARCHIVE_WARN ||
                la->archive_write_open2(a, &sink, NULL, deploy__out, NULL, NULL) != ARCHIVE_OK)) {
        snprintf(err, errlen, "libarchive: %s", la->archive_error_string(a));
        rc = VG_EIO;
    }
    uint64_t done = 0;
    for (size_t i = 0; !rc && i < t.n; i++) {
        const deploy__node_t *nd = &t.v[i];
        char *full = NULL;
        if (asprintf(&full, "%s/%s", dir, nd->path) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = VG_ENOMEM;
            break;
        }
        la->archive_entry_clear(e);
        la->archive_entry_set_pathname(e, nd->path);
        la->archive_entry_set_filetype(e, nd->type == 'f'   ? AE_IFREG
                                          : nd->type == 'd' ? AE_IFDIR
                                                            : AE_IFLNK);
        la->archive_entry_set_perm(e, (mode_t)nd->mode);
        la->archive_entry_set_size(e, (la_int64_t)nd->size);
        la->archive_entry_set_mtime(e, 0, 0);
        la->archive_entry_set_uid(e, 0);
        la->archive_entry_set_gid(e, 0);
        if (nd->target) la->archive_entry_set_symlink(e, nd->target);
        if (la->archive_write_header(a, e) < ARCHIVE_WARN) {
            snprintf(err, errlen, "%s: %s", full, la->archive_error_string(a));
            rc = la->archive_errno(a) == ENOMEM ? VG_ENOMEM : VG_EIO;
        } else if (nd->type == 'f') {
            rc = deploy__pack_file(la, a, full, nd, &done, progress, arg, err, errlen);
        }
        free(full);
        if (!rc && progress) progress(arg, done);
    }
    if (!rc && la->archive_write_close(a) != ARCHIVE_OK) {
        snprintf(err, errlen, "libarchive: %s", la->archive_error_string(a));
        rc = la->archive_errno(a) == ENOMEM ? VG_ENOMEM : VG_EIO;
    }
    if (a) la->archive_write_free(a);
    if (e) la->archive_entry_free(e); /* a or e only when la was loaded */
    deploy__tree_free(&t);
    if (rc && out->data) { /* nothing appended on error */
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}
