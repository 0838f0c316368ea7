/* test_sign.c: bundle signatures. keygen, sign and verify; the signed listing checked against
 * one written out by hand (so the format of sign.h is what is signed); every way a bundle or
 * a key file can be wrong gives its own code; a signature survives pack and extract. */
#include "deploy/archive.h"
#include "deploy/sign.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/error.h"
#include "vg_test.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static char *in_base(const char *name)
{
    static char p[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", base, name);
    return p[i];
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

/* The text of `path`, in one of four rotating buffers, or NULL. */
static char *read_text(const char *path)
{
    static char bufs[4][8192];
    static int i;
    i = (i + 1) % 4;
    char *buf = bufs[i];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buf, sizeof bufs[0] - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

/* The bundle: a.txt "hello\n", ln -> a.txt, sub/, sub/b (empty). */
static void make_bundle(const char *dir)
{
    char p[512];
    CHECK_EQ_INT(mkdir(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/a.txt", dir);
    write_text(p, "hello\n", 0644);
    snprintf(p, sizeof p, "%s/ln", dir);
    CHECK_EQ_INT(symlink("a.txt", p), 0);
    snprintf(p, sizeof p, "%s/sub", dir);
    CHECK_EQ_INT(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/b", dir);
    write_text(p, "", 0644);
}

static char *key, *pub, *key2, *pub2, *trusted, *bundle;

static void test_keygen(void)
{
    char err[512] = "";
    CHECK_EQ_INT(deploy_sign_keygen(key, pub, err, sizeof err), 0);
    struct stat st;
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
    const char *k = read_text(key);
    CHECK(k && strlen(k) == 45 && k[44] == '\n'); /* base64 of 32 bytes, one line */
    const char *p = read_text(pub);
    CHECK(p && strlen(p) == 45 && p[44] == '\n');
    unsigned char raw[40];
    size_t n = 0;
    CHECK_EQ_INT(vg_base64_decode(p, 44, raw, &n), 0);
    CHECK_EQ_INT(n, 32);
    /* never overwritten, and nothing written when one of the two exists */
    char before[64];
    snprintf(before, sizeof before, "%s", read_text(key));
    CHECK_EQ_INT(deploy_sign_keygen(key, in_base("other.pub"), err, sizeof err), VG_EEXIST);
    CHECK(strstr(err, "already exists") != NULL);
    CHECK(access(in_base("other.pub"), F_OK) != 0);
    CHECK_EQ_INT(deploy_sign_keygen(in_base("other.key"), pub, err, sizeof err), VG_EEXIST);
    CHECK(access(in_base("other.key"), F_OK) != 0);
    CHECK_EQ_STR(read_text(key), before);
    /* two key pairs differ */
    CHECK_EQ_INT(deploy_sign_keygen(key2, pub2, err, sizeof err), 0);
    CHECK(strcmp(before, read_text(key2)) != 0);
}

/* Verifies with the trusted keys file holding `keys`. */
static int verify_with(const char *keys, char *err, size_t errlen)
{
    write_text(trusted, keys, 0644);
    return deploy_sign_verify(bundle, trusted, err, errlen);
}

static void test_sign_verify(void)
{
    char err[512] = "", keys[256];
    make_bundle(bundle);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key, err, sizeof err), 0);
    char sigpath[512];
    snprintf(sigpath, sizeof sigpath, "%s/%s", bundle, DEPLOY_SIG_FILE);
    const char *sig = read_text(sigpath);
    CHECK(sig && strncmp(sig, "{\"alg\":\"ed25519\",\"key\":\"", 24) == 0);
    snprintf(keys, sizeof keys, "# verge signing keys\n\n   %s", read_text(pub));
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);
    /* another trusted key first, CRLF lines: still found */
    char two[512];
    snprintf(two, sizeof two, "%.44s\r\n%.44s\r\n", read_text(pub2), read_text(pub));
    CHECK_EQ_INT(verify_with(two, err, sizeof err), 0);
    /* Ed25519 is deterministic: signing again gives the same file */
    char first[512];
    snprintf(first, sizeof first, "%s", sig);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key, err, sizeof err), 0);
    CHECK_EQ_STR(read_text(sigpath), first);
}

/* The signed message is the SHA-512 of the listing of sign.h, written out here by hand. */
static void test_listing_format(void)
{
    static const char listing[] =
        "f 6 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 a.txt\n"
        "l 0 18b7cb099a9ea3f50ba899b5ba81e0d377a5f3b16f8f6eeb8b3e58cd4692b993 ln\n"
        "d 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sub\n"
        "f 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sub/b\n";
    unsigned char digest[WC_SHA512_DIGEST_SIZE];
    CHECK_EQ_INT(wc_Sha512Hash((const byte *)listing, (word32)strlen(listing), digest), 0);
    char sigpath[512];
    snprintf(sigpath, sizeof sigpath, "%s/%s", bundle, DEPLOY_SIG_FILE);
    const char *text = read_text(sigpath);
    const char *k = strstr(text, "\"key\":\""), *s = strstr(text, "\"sig\":\"");
    CHECK(k && s);
    if (!k || !s) return;
    unsigned char pk[40], sg[70];
    size_t pn = 0, sn = 0;
    CHECK_EQ_INT(vg_base64_decode(k + 7, 44, pk, &pn), 0);
    CHECK_EQ_INT(vg_base64_decode(s + 7, 88, sg, &sn), 0);
    CHECK_EQ_INT(pn, 32);
    CHECK_EQ_INT(sn, 64);
    ed25519_key ek;
    int res = 0;
    CHECK_EQ_INT(wc_ed25519_init(&ek), 0);
    CHECK_EQ_INT(wc_ed25519_import_public(pk, 32, &ek), 0);
    CHECK_EQ_INT(wc_ed25519_verify_msg(sg, 64, digest, sizeof digest, &res, &ek), 0);
    CHECK_EQ_INT(res, 1);
    /* and a listing that differs in one byte does not verify */
    char other[sizeof listing];
    memcpy(other, listing, sizeof listing);
    other[2] = '7';
    CHECK_EQ_INT(wc_Sha512Hash((const byte *)other, (word32)strlen(other), digest), 0);
    res = 0;
    wc_ed25519_verify_msg(sg, 64, digest, sizeof digest, &res, &ek);
    CHECK_EQ_INT(res, 0);
    wc_ed25519_free(&ek);
    /* the key in bundle.sig is the .pub file's */
    CHECK(strncmp(k + 7, read_text(pub), 44) == 0);
}

static void test_tampering(void)
{
    char err[512] = "", keys[128], p[512];
    snprintf(keys, sizeof keys, "%s", read_text(pub));
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    snprintf(p, sizeof p, "%s/a.txt", bundle);
    write_text(p, "hellO\n", 0644); /* same size, one byte changed */
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EAUTH);
    CHECK(strstr(err, "bundle.sig: the signature does not match the bundle's contents") != NULL);
    write_text(p, "hello\n", 0644);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    snprintf(p, sizeof p, "%s/sub/added", bundle);
    write_text(p, "", 0644);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EAUTH);
    unlink(p);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    snprintf(p, sizeof p, "%s/sub/b", bundle);
    unlink(p);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EAUTH);
    write_text(p, "", 0644);

    snprintf(p, sizeof p, "%s/ln", bundle);
    unlink(p);
    CHECK_EQ_INT(symlink("sub/b", p), 0);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EAUTH);
    unlink(p);
    CHECK_EQ_INT(symlink("a.txt", p), 0);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    snprintf(p, sizeof p, "%s/sub", bundle); /* an empty directory added */
    char q[600];
    snprintf(q, sizeof q, "%s/newdir", p);
    CHECK_EQ_INT(mkdir(q, 0755), 0);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EAUTH);
    rmdir(q);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);
}

static void test_untrusted_and_unsigned(void)
{
    char err[512] = "", keys[256];
    snprintf(keys, sizeof keys, "# only the other key\n%s", read_text(pub2));
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EPERM);
    CHECK(strstr(err, "which is not in") && strstr(err, trusted) && strstr(err, "(1 trusted key)"));
    CHECK_EQ_INT(verify_with("# nobody\n", err, sizeof err), VG_EPERM);
    CHECK(strstr(err, "(0 trusted keys)") != NULL);

    /* signed by the other key, trusted list has the first: EPERM; both: fine */
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key2, err, sizeof err), 0);
    snprintf(keys, sizeof keys, "%s", read_text(pub));
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EPERM);
    snprintf(keys, sizeof keys, "%.44s\n%.44s\n", read_text(pub), read_text(pub2));
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    char sigpath[512];
    snprintf(sigpath, sizeof sigpath, "%s/%s", bundle, DEPLOY_SIG_FILE);
    unlink(sigpath);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_ENOENT);
    CHECK(strstr(err, "bundle.sig: no such file: the bundle is not signed") != NULL);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key, err, sizeof err), 0);
}

static void test_malformed(void)
{
    char err[512] = "", keys[128], sigpath[512], good[512];
    snprintf(keys, sizeof keys, "%s", read_text(pub));
    snprintf(sigpath, sizeof sigpath, "%s/%s", bundle, DEPLOY_SIG_FILE);
    snprintf(good, sizeof good, "%s", read_text(sigpath));
    const char *k = strstr(good, "\"key\":\"") + 7, *s = strstr(good, "\"sig\":\"") + 7;
    char buf[600];
    /* @K: the key (44 characters), @k: its first 40; @S: the signature (88), @s: its first 84 */
    static const struct {
        const char *text, *say;
    } bad[] = {
        {"not json", "bundle.sig:1:"},
        {"[\"@K\",\"@S\"]", "expected a JSON object"},
        {"{\"alg\":\"rsa\",\"key\":\"@K\",\"sig\":\"@S\"}", "alg: \"rsa\" is not supported"},
        {"{\"alg\":\"ed25519\",\"key\":\"@k\",\"sig\":\"@S\"}", "key: expected the base64"},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\",\"sig\":\"@s\"}", "sig: expected the base64"},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\",\"sig\":\"!@s===\"}", "sig: expected the base64"},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\"}", "field \"sig\" missing or not a string"},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\",\"sig\":7}", "field \"sig\" missing or not a string"},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\",\"sig\":\"@S\",\"by\":1}", "unknown field \"by\""},
        {"{\"alg\":\"ed25519\",\"key\":\"@K\",\"key\":\"@K\",\"sig\":\"@S\"}",
         "duplicate object key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t o = 0;
        for (const char *c = bad[i].text; *c && o < sizeof buf - 100; c++) {
            if (c[0] == '@' && (c[1] == 'K' || c[1] == 'k' || c[1] == 'S' || c[1] == 's')) {
                const char *from = c[1] == 'K' || c[1] == 'k' ? k : s;
                size_t n = c[1] == 'K' ? 44 : c[1] == 'k' ? 40 : c[1] == 'S' ? 88 : 84;
                memcpy(buf + o, from, n);
                o += n;
                c++;
            } else {
                buf[o++] = *c;
            }
        }
        buf[o] = '\0';
        write_text(sigpath, buf, 0644);
        CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EINVAL);
        if (!strstr(err, bad[i].say)) fprintf(stderr, "  case %zu: %s\n", i, err);
        CHECK(strstr(err, bad[i].say) != NULL);
    }
    /* a bundle.sig that is a link is not followed */
    unlink(sigpath);
    CHECK_EQ_INT(symlink("a.txt", sigpath), 0);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "a symbolic link") != NULL);
    unlink(sigpath);
    write_text(sigpath, good, 0644);
    CHECK_EQ_INT(verify_with(keys, err, sizeof err), 0);

    /* a trusted keys file with a line that is not a key, named by its line number */
    snprintf(buf, sizeof buf, "%.44s\nnot-a-key\n", read_text(pub));
    CHECK_EQ_INT(verify_with(buf, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, trusted) && strstr(err, ":2: not an Ed25519 public key"));
    snprintf(buf, sizeof buf, "%.40s\n", read_text(pub)); /* cut short */
    CHECK_EQ_INT(verify_with(buf, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, ":1: not an Ed25519 public key") != NULL);
    CHECK_EQ_INT(deploy_sign_verify(bundle, in_base("no-such-keys"), err, sizeof err), VG_EIO);
    CHECK(strstr(err, "no-such-keys: cannot open") != NULL);

    /* private key files: garbage, a public key that is too short, readable by others */
    char *bad_key = in_base("bad.key");
    write_text(bad_key, "this is not base64\n", 0600);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, bad_key, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "bad.key: not a private key") != NULL);
    write_text(bad_key, "AAAA\n", 0600);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, bad_key, err, sizeof err), VG_EINVAL);
    write_text(bad_key, read_text(key), 0644);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, bad_key, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "readable by others (mode 0644); expected mode 0600") != NULL);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, in_base("missing.key"), err, sizeof err), VG_EIO);
    CHECK_EQ_STR(read_text(sigpath), good); /* none of these touched bundle.sig */
}

static void test_bundle_kinds(void)
{
    char err[512] = "", p[512];
    snprintf(p, sizeof p, "%s/fifo", bundle);
    CHECK_EQ_INT(mkfifo(p, 0644), 0);
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "fifo: a FIFO") != NULL);
    unlink(p);
    CHECK_EQ_INT(deploy_sign_bundle(in_base("nope"), key, err, sizeof err), VG_EIO);
    CHECK(strstr(err, "nope") != NULL);
}

static void test_survives_pack_and_extract(void)
{
    char err[512] = "", keys[128];
    snprintf(keys, sizeof keys, "%s", read_text(pub));
    CHECK_EQ_INT(deploy_sign_bundle(bundle, key, err, sizeof err), 0);
    vg_buf_t tgz, problems;
    vg_buf_init(&tgz);
    vg_buf_init(&problems);
    CHECK_EQ_INT(deploy_archive_pack(bundle, &tgz, NULL, NULL, err, sizeof err), 0);
    deploy_archive_limits_t lim = {.max_unpacked_bytes = 1 << 20, .max_files = 100};
    char stage[256];
    snprintf(stage, sizeof stage, "%s/stage", base);
    CHECK_EQ_INT(deploy_archive_extract(tgz.data, tgz.len, stage, &lim, NULL, &problems), 0);
    write_text(trusted, keys, 0644);
    CHECK_EQ_INT(deploy_sign_verify(stage, trusted, err, sizeof err), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/sub/b", stage);
    write_text(p, "x", 0644);
    CHECK_EQ_INT(deploy_sign_verify(stage, trusted, err, sizeof err), VG_EAUTH);
    CHECK(strstr(err, stage) != NULL);
    CHECK_EQ_INT(deploy_archive_rmtree(stage), 0);
    vg_buf_close(&tgz);
    vg_buf_close(&problems);
}

VG_TEST_MAIN({
    snprintf(base, sizeof base, "/tmp/vg-test-sign-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    key = strdup(in_base("signer.key"));
    pub = strdup(in_base("signer.pub"));
    key2 = strdup(in_base("other-signer.key"));
    pub2 = strdup(in_base("other-signer.pub"));
    trusted = strdup(in_base("trusted.keys"));
    bundle = strdup(in_base("bundle"));
    VG_TEST(test_keygen);
    VG_TEST(test_sign_verify);
    VG_TEST(test_listing_format);
    VG_TEST(test_tampering);
    VG_TEST(test_untrusted_and_unsigned);
    VG_TEST(test_malformed);
    VG_TEST(test_bundle_kinds);
    VG_TEST(test_survives_pack_and_extract);
    deploy_archive_rmtree(base);
    free(key);
    free(pub);
    free(key2);
    free(pub2);
    free(trusted);
    free(bundle);
})
