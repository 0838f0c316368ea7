/* sign.c: bundle signatures. The bundle's file list (one "TYPE SIZE SHA256 PATH" line per
 * entry, the walk archive.c packs) is hashed with SHA-512 and the digest signed with Ed25519
 * (wolfcrypt); keys are files of one base64 line. */
#include "deploy/sign.h"
#include "deploy/archive_int.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/error.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGN__ALG      "ed25519"
#define SIGN__KEY_MAX  256         /* bytes of a key file */
#define SIGN__SIG_MAX  4096        /* bytes of bundle.sig */
#define SIGN__KEYS_MAX (1 << 20)   /* bytes of the trusted keys file */
#define SIGN__CHUNK    (64 * 1024) /* bytes hashed at a time */

/* Reads file `path` (at most `max` bytes; a link is refused when `nofollow`) into a new
 * NUL-terminated buffer.
 * Returns 0, VG_ENOENT (no such file), VG_EINVAL (not a regular file, or too large) or
 * VG_EIO, with a message in `err`; *mode gets the file's permission bits when not NULL. */
static int sign__read(const char *path, size_t max, int nofollow, char **out, size_t *len,
                      unsigned *mode, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && nofollow) {
            snprintf(err, errlen, "%s: a symbolic link; expected a regular file", path);
            return VG_EINVAL;
        }
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? VG_ENOENT : VG_EIO;
    }
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = VG_EIO;
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        rc = VG_EINVAL;
    } else if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "%s: larger than %zu bytes; this is not a key or signature file",
                 path, max);
        rc = VG_EINVAL;
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = VG_ENOMEM;
    } else {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got != (size_t)st.st_size) {
            snprintf(err, errlen, "%s: cannot read: %s", path,
                     errno ? strerror(errno) : "short read");
            rc = VG_EIO;
        } else {
            buf[got] = '\0';
            *len = got;
            if (mode) *mode = (unsigned)st.st_mode & 07777;
        }
    }
    close(fd);
    if (rc)
        free(buf);
    else
        *out = buf;
    return rc;
}

/* Decodes `n` bytes of base64 `s` into exactly `want` bytes of `out`. Returns 0 or -1. */
static int sign__unbase64(const char *s, size_t n, unsigned char *out, size_t want)
{
    unsigned char tmp[ED25519_SIG_SIZE + 3]; /* the largest thing decoded here */
    size_t got = 0;
    if (n > (sizeof tmp - 3) / 3 * 4 + 4) return -1;
    if (vg_base64_decode(s, n, tmp, &got) != 0 || got != want) return -1;
    memcpy(out, tmp, want);
    return 0;
}

/* Parses a key file's text: one base64 line of 32 bytes, then an optional newline. */
static int sign__parse_key_text(const char *text, size_t len, unsigned char out[32])
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    return sign__unbase64(text, len, out, 32);
}

/* Writes `text` to new file `path` with `mode` and fsyncs it. Returns 0, VG_EEXIST or VG_EIO. */
static int sign__write_new(const char *path, const char *text, unsigned mode, int excl, char *err,
                           size_t errlen)
{
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
    int fd = open(path, flags, (mode_t)mode);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(e));
        return e == EEXIST ? VG_EEXIST : VG_EIO;
    }
    size_t len = strlen(text), off = 0;
    int rc = fchmod(fd, (mode_t)mode) == 0 ? 0 : VG_EIO;
    while (!rc && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            rc = VG_EIO;
        else
            off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0) rc = VG_EIO;
    if (close(fd) != 0) rc = VG_EIO;
    if (rc) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        unlink(path);
    }
    return rc;
}

int deploy_sign_keygen(const char *key_path, const char *pub_path, char *err, size_t errlen)
{
    struct stat st;
    const char *paths[] = {key_path, pub_path};
    for (size_t i = 0; i < 2; i++)
        if (lstat(paths[i], &st) == 0) {
            snprintf(err, errlen,
                     "%s: already exists; expected a new file (a key is never "
                     "overwritten)",
                     paths[i]);
            return VG_EEXIST;
        }
    WC_RNG rng;
    ed25519_key key;
    unsigned char seed[ED25519_KEY_SIZE], pub[ED25519_PUB_KEY_SIZE];
    word32 slen = sizeof seed, plen = sizeof pub;
    if (wc_InitRng(&rng) != 0) {
        snprintf(err, errlen, "cannot initialise the random number generator");
        return VG_EIO;
    }
    int ok = wc_ed25519_init(&key) == 0;
    ok = ok && wc_ed25519_make_key(&rng, ED25519_KEY_SIZE, &key) == 0 &&
         wc_ed25519_export_private_only(&key, seed, &slen) == 0 &&
         wc_ed25519_export_public(&key, pub, &plen) == 0 && slen == sizeof seed &&
         plen == sizeof pub;
    wc_ed25519_free(&key);
    wc_FreeRng(&rng);
    if (!ok) {
        explicit_bzero(seed, sizeof seed);
        snprintf(err, errlen, "cannot make an Ed25519 key pair");
        return VG_EIO;
    }
    char text[VG_BASE64_ENCODED_SIZE(32) + 1];
    size_t n = vg_base64_encode(seed, sizeof seed, text);
    explicit_bzero(seed, sizeof seed);
    text[n] = '\n';
    text[n + 1] = '\0';
    int rc = sign__write_new(key_path, text, 0600, 1, err, errlen);
    explicit_bzero(text, sizeof text);
    if (rc) return rc;
    n = vg_base64_encode(pub, sizeof pub, text);
    text[n] = '\n';
    text[n + 1] = '\0';
    if ((rc = sign__write_new(pub_path, text, 0644, 1, err, errlen))) unlink(key_path);
    return rc;
}

/* Writes the lowercase hex of SHA-256 over what `fd` holds to `hex` (65 bytes). Checks that
 * exactly `size` bytes were read. */
static int sign__hash_fd(int fd, uint64_t size, char hex[65], const char *path, char *err,
                         size_t errlen)
{
    wc_Sha256 sha;
    unsigned char d[WC_SHA256_DIGEST_SIZE];
    unsigned char *buf = malloc(SIGN__CHUNK);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        return VG_ENOMEM;
    }
    int rc = wc_InitSha256(&sha) == 0 ? 0 : VG_EIO;
    uint64_t got = 0;
    while (!rc) {
        ssize_t r = read(fd, buf, SIGN__CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            rc = VG_EIO;
        } else if (r == 0) {
            break;
        } else if (wc_Sha256Update(&sha, buf, (word32)r) != 0) {
            rc = VG_EIO;
        } else {
            got += (uint64_t)r;
        }
    }
    if (!rc && wc_Sha256Final(&sha, d) != 0) rc = VG_EIO;
    wc_Sha256Free(&sha);
    free(buf);
    if (!rc && got != size) {
        snprintf(err, errlen, "%s: changed while it was hashed", path);
        rc = VG_EIO;
    }
    for (size_t i = 0; !rc && i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return rc;
}

static void sign__hash_text(const char *s, char hex[65])
{
    wc_Sha256 sha;
    unsigned char d[WC_SHA256_DIGEST_SIZE];
    memset(d, 0, sizeof d);
    if (wc_InitSha256(&sha) == 0) {
        if (wc_Sha256Update(&sha, (const byte *)s, (word32)strlen(s)) != 0 ||
            wc_Sha256Final(&sha, d) != 0)
            memset(d, 0, sizeof d);
        wc_Sha256Free(&sha);
    }
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* The SHA-512 of the listing of bundle directory `dir`: "TYPE SIZE SHA256 PATH\n" per entry
 * in byte order of PATH, DEPLOY_SIG_FILE at the root left out. TYPE is f, d or l; SIZE is a
 * file's size, 0 for the others; SHA256 (lowercase hex) is that of a file's bytes, of a
 * link's target text, of nothing for a directory. */
static int sign__digest(const char *dir, unsigned char digest[WC_SHA512_DIGEST_SIZE], char *err,
                        size_t errlen)
{
    deploy__tree_t t = {0};
    vg_buf_t list;
    vg_buf_init(&list);
    int rc = deploy__tree_scan(dir, &t, err, errlen);
    for (size_t i = 0; !rc && i < t.n; i++) {
        const deploy__node_t *nd = &t.v[i];
        if (!strcmp(nd->path, DEPLOY_SIG_FILE)) continue;
        char hex[65];
        if (nd->type == 'f') {
            char *full = NULL;
            if (asprintf(&full, "%s/%s", dir, nd->path) < 0) {
                snprintf(err, errlen, "out of memory");
                rc = VG_ENOMEM;
                break;
            }
            int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                snprintf(err, errlen, "%s: cannot open: %s", full, strerror(errno));
                rc = VG_EIO;
            } else {
                rc = sign__hash_fd(fd, nd->size, hex, full, err, errlen);
                close(fd);
            }
            free(full);
        } else {
            sign__hash_text(nd->type == 'l' ? nd->target : "", hex);
        }
        if (!rc && vg_buf_printf(&list, "%c %llu %s %s\n", nd->type, (unsigned long long)nd->size,
                                 hex, nd->path) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = VG_ENOMEM;
        }
    }
    deploy__tree_free(&t);
    wc_Sha512 sha;
    if (!rc && wc_InitSha512(&sha) == 0) {
        int bad = 0;
        for (size_t off = 0; off < list.len && !bad; off += SIGN__CHUNK) {
            size_t n = list.len - off < SIGN__CHUNK ? list.len - off : SIGN__CHUNK;
            bad = wc_Sha512Update(&sha, (const byte *)list.data + off, (word32)n) != 0;
        }
        if (bad || wc_Sha512Final(&sha, digest) != 0) rc = VG_EIO;
        wc_Sha512Free(&sha);
    } else if (!rc) {
        rc = VG_EIO;
    }
    if (rc == VG_EIO && !*err) snprintf(err, errlen, "%s: cannot hash the bundle", dir);
    vg_buf_close(&list);
    return rc;
}

int deploy_sign_bundle(const char *dir, const char *key_path, char *err, size_t errlen)
{
    if (errlen) *err = '\0';
    char *text = NULL;
    size_t len = 0;
    unsigned mode = 0;
    int rc = sign__read(key_path, SIGN__KEY_MAX, 0, &text, &len, &mode, err, errlen);
    if (rc == VG_ENOENT) rc = VG_EIO;
    if (rc) return rc;
    unsigned char seed[ED25519_KEY_SIZE];
    if (sign__parse_key_text(text, len, seed) != 0) {
        snprintf(err, errlen,
                 "%s: not a private key; expected one line of base64 of a 32-byte Ed25519 "
                 "seed, as verge keygen writes",
                 key_path);
        rc = VG_EINVAL;
    } else if (mode & 077) {
        snprintf(err, errlen,
                 "%s: readable by others (mode %04o); expected mode 0600 "
                 "(chmod 600 %s)",
                 key_path, mode, key_path);
        rc = VG_EINVAL;
    }
    explicit_bzero(text, len);
    free(text);
    if (rc) {
        explicit_bzero(seed, sizeof seed);
        return rc;
    }
    unsigned char digest[WC_SHA512_DIGEST_SIZE], pub[ED25519_PUB_KEY_SIZE], sig[ED25519_SIG_SIZE];
    rc = sign__digest(dir, digest, err, errlen);
    if (rc) {
        explicit_bzero(seed, sizeof seed);
        return rc;
    }
    ed25519_key key;
    word32 siglen = sizeof sig;
    int ok = wc_ed25519_init(&key) == 0;
    ok = ok && wc_ed25519_import_private_only(seed, sizeof seed, &key) == 0 &&
         wc_ed25519_make_public(&key, pub, sizeof pub) == 0;
    wc_ed25519_free(&key);
    ok = ok && wc_ed25519_init(&key) == 0;
    ok = ok && wc_ed25519_import_private_key(seed, sizeof seed, pub, sizeof pub, &key) == 0 &&
         wc_ed25519_sign_msg(digest, sizeof digest, sig, &siglen, &key) == 0 &&
         siglen == sizeof sig;
    wc_ed25519_free(&key);
    explicit_bzero(seed, sizeof seed);
    if (!ok) {
        snprintf(err, errlen, "%s: cannot sign with this key", key_path);
        return VG_EIO;
    }
    char kb[VG_BASE64_ENCODED_SIZE(ED25519_PUB_KEY_SIZE)],
        sb[VG_BASE64_ENCODED_SIZE(ED25519_SIG_SIZE)];
    vg_base64_encode(pub, sizeof pub, kb);
    vg_base64_encode(sig, sizeof sig, sb);
    char out[256], *path = NULL, *tmp = NULL;
    snprintf(out, sizeof out, "{\"alg\":\"%s\",\"key\":\"%s\",\"sig\":\"%s\"}\n", SIGN__ALG, kb,
             sb);
    if (asprintf(&path, "%s/%s", dir, DEPLOY_SIG_FILE) < 0) path = NULL;
    if (asprintf(&tmp, "%s/%s.tmp", dir, DEPLOY_SIG_FILE) < 0) tmp = NULL;
    if (!path || !tmp) {
        snprintf(err, errlen, "out of memory");
        rc = VG_ENOMEM;
    } else if (!(rc = sign__write_new(tmp, out, 0644, 0, err, errlen)) && rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
        rc = VG_EIO;
    }
    free(path);
    free(tmp);
    return rc;
}

/* The fields of bundle.sig, all required strings. */
static const char *const sign__fields[] = {"alg", "key", "sig"};

/* Reads and checks dir/bundle.sig into pub and sig. */
static int sign__load_sig(const char *path, unsigned char pub[ED25519_PUB_KEY_SIZE],
                          unsigned char sig[ED25519_SIG_SIZE], char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = sign__read(path, SIGN__SIG_MAX, 1, &text, &len, NULL, err, errlen);
    if (rc == VG_ENOENT)
        snprintf(err, errlen,
                 "%s: no such file: the bundle is not signed, and this gateway only accepts "
                 "bundles signed with a trusted key (verge sign)",
                 path);
    if (rc) return rc;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc || !json_is_object(doc)) {
        if (doc)
            snprintf(err, errlen, "%s: expected a JSON object {\"alg\",\"key\",\"sig\"}", path);
        else
            snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        json_decref(doc);
        return VG_EINVAL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        size_t i = 0;
        while (i < sizeof sign__fields / sizeof sign__fields[0] && strcmp(k, sign__fields[i]))
            i++;
        if (i == sizeof sign__fields / sizeof sign__fields[0]) {
            snprintf(err, errlen, "%s: unknown field \"%.64s\"; expected alg, key and sig", path,
                     k);
            rc = VG_EINVAL;
            break;
        }
    }
    for (size_t i = 0; !rc && i < sizeof sign__fields / sizeof sign__fields[0]; i++)
        if (!json_is_string(json_object_get(doc, sign__fields[i]))) {
            snprintf(err, errlen, "%s: field \"%s\" missing or not a string", path,
                     sign__fields[i]);
            rc = VG_EINVAL;
        }
    if (!rc) {
        json_t *alg = json_object_get(doc, "alg"), *key = json_object_get(doc, "key"),
               *s = json_object_get(doc, "sig");
        if (strcmp(json_string_value(alg), SIGN__ALG) != 0) {
            snprintf(err, errlen, "%s: alg: \"%.32s\" is not supported; expected \"%s\"", path,
                     json_string_value(alg), SIGN__ALG);
            rc = VG_EINVAL;
        } else if (sign__unbase64(json_string_value(key), json_string_length(key), pub,
                                  ED25519_PUB_KEY_SIZE) != 0) {
            snprintf(err, errlen, "%s: key: expected the base64 of a 32-byte Ed25519 public key",
                     path);
            rc = VG_EINVAL;
        } else if (sign__unbase64(json_string_value(s), json_string_length(s), sig,
                                  ED25519_SIG_SIZE) != 0) {
            snprintf(err, errlen, "%s: sig: expected the base64 of a 64-byte Ed25519 signature",
                     path);
            rc = VG_EINVAL;
        }
    }
    json_decref(doc);
    return rc;
}

/* Looks `pub` up in the trusted keys file. Returns 0 (found), VG_EPERM, VG_EINVAL, VG_EIO. */
static int sign__trusted(const char *path, const unsigned char pub[ED25519_PUB_KEY_SIZE], char *err,
                         size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = sign__read(path, SIGN__KEYS_MAX, 0, &text, &len, NULL, err, errlen);
    if (rc == VG_ENOENT) rc = VG_EIO; /* a gateway's own file: not "the bundle is not signed" */
    if (rc) return rc;
    int found = 0, nkeys = 0, lineno = 0;
    for (char *line = text; line && !rc;) {
        char *nl = memchr(line, '\n', len - (size_t)(line - text));
        size_t n = nl ? (size_t)(nl - line) : len - (size_t)(line - text);
        lineno++;
        while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            n--;
        }
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            n--;
        unsigned char k[ED25519_PUB_KEY_SIZE];
        if (n == 0 || line[0] == '#') {
            /* blank or comment */
        } else if (sign__unbase64(line, n, k, sizeof k) != 0) {
            snprintf(err, errlen,
                     "%s:%d: not an Ed25519 public key; expected one line of base64 of 32 "
                     "bytes, as verge keygen writes to the .pub file",
                     path, lineno);
            rc = VG_EINVAL;
        } else {
            nkeys++;
            if (!memcmp(k, pub, sizeof k)) found = 1;
        }
        line = nl && (size_t)(nl + 1 - text) < len ? nl + 1 : NULL;
    }
    free(text);
    if (rc) return rc;
    if (!found) {
        char kb[VG_BASE64_ENCODED_SIZE(ED25519_PUB_KEY_SIZE)];
        vg_base64_encode(pub, ED25519_PUB_KEY_SIZE, kb);
        snprintf(err, errlen,
                 "the bundle is signed by key %s, which is not in %s (%d trusted key%s)", kb, path,
                 nkeys, nkeys == 1 ? "" : "s");
        return VG_EPERM;
    }
    return 0;
}

int deploy_sign_verify(const char *dir, const char *trusted_path, char *err, size_t errlen)
{
    if (errlen) *err = '\0';
    unsigned char pub[ED25519_PUB_KEY_SIZE], sig[ED25519_SIG_SIZE], digest[WC_SHA512_DIGEST_SIZE];
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, DEPLOY_SIG_FILE) < 0) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    int rc = sign__load_sig(path, pub, sig, err, errlen);
    if (!rc) rc = sign__trusted(trusted_path, pub, err, errlen);
    if (!rc) rc = sign__digest(dir, digest, err, errlen);
    if (!rc) {
        ed25519_key key;
        int res = 0;
        if (wc_ed25519_init(&key) != 0 || wc_ed25519_import_public(pub, sizeof pub, &key) != 0) {
            snprintf(err, errlen, "%s: key: not a valid Ed25519 public key", path);
            rc = VG_EINVAL;
        } else if (wc_ed25519_verify_msg(sig, sizeof sig, digest, sizeof digest, &res, &key) != 0 ||
                   res != 1) {
            snprintf(err, errlen,
                     "%s: the signature does not match the bundle's contents: a file was "
                     "changed, added or removed after signing",
                     path);
            rc = VG_EAUTH;
        }
        wc_ed25519_free(&key);
    }
    free(path);
    return rc;
}
