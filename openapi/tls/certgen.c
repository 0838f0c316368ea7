/* certgen.c: the server's certificate files. Either the configured pair, or data_dir/tls/
 * cert.pem and key.pem, generated once as an ECDSA P-256 self-signed certificate for
 * localhost, 127.0.0.1 and ::1 (key 0600 in a 0700 directory, written atomically). */
#define VG_LOG_MODULE "tls"
#include "tls/tls_int.h"
#include "core/error.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/ssl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_DAYS  3653          /* ten years, leap days included */
#define FILE_MAX   (1024 * 1024) /* largest PEM file we read */
#define SERIAL_LEN 16

/* subjectAltName's GeneralNames: dNSName "localhost", iPAddress 127.0.0.1 and ::1. */
static const unsigned char san_der[] = {
    0x30, 0x23,                                              /* SEQUENCE, 35 bytes */
    0x82, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', /* [2] dNSName */
    0x87, 0x04, 127, 0,   0,   1,                            /* [7] iPAddress, IPv4 */
    0x87, 0x10, 0,   0,   0,   0,   0,   0,   0,   0,        /* [7] iPAddress, IPv6 */
    0,    0,    0,   0,   0,   0,   0,   1,
};

static int errno_code(int e)
{
    if (e == ENOENT || e == ENOTDIR) return VG_ENOENT;
    if (e == EACCES || e == EPERM || e == EROFS) return VG_EPERM;
    return VG_EIO;
}

int tls__read_file(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return errno_code(e);
    }
    unsigned char *buf = NULL;
    struct stat st;
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        rc = VG_EINVAL;
    } else if (st.st_size > FILE_MAX) {
        snprintf(err, errlen, "%s is larger than 1 MiB", path);
        rc = VG_ELIMIT;
    } else if (!(buf = malloc((size_t)st.st_size + 1))) {
        snprintf(err, errlen, "out of memory reading %s", path);
        rc = VG_ENOMEM;
    } else if ((*len = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size && ferror(f)) {
        snprintf(err, errlen, "cannot read %s", path);
        rc = VG_EIO;
    }
    fclose(f);
    if (rc) {
        free(buf);
        *len = 0;
        return rc;
    }
    *out = buf;
    return 0;
}

int tls__fingerprint(const unsigned char *pem, size_t len, char out[TLS__FINGERPRINT_LEN])
{
    out[0] = '\0';
    if (len == 0 || len > FILE_MAX) return VG_EPARSE;
    unsigned char *der = malloc(len);
    if (!der) return VG_ENOMEM;
    int n = wc_CertPemToDer(pem, (int)len, der, (int)len, CERT_TYPE);
    unsigned char hash[32];
    int rc = n > 0 && wc_Sha256Hash(der, (word32)n, hash) == 0 ? 0 : VG_EPARSE;
    free(der);
    if (rc) return rc;
    for (size_t i = 0; i < sizeof hash; i++)
        snprintf(out + 3 * i, 4, i + 1 < sizeof hash ? "%02X:" : "%02X", hash[i]);
    return 0;
}

/* The uncompressed public point of `key`; made from the private part when `derive` is set. */
static int public_point(ecc_key *key, int derive, unsigned char out[ECC_BUFSIZE], word32 *len)
{
    *len = ECC_BUFSIZE;
    if (derive && wc_ecc_make_pub(key, NULL) != 0) return -1;
    return wc_ecc_export_x963(key, out, len) == 0 ? 0 : -1;
}

int tls__key_matches(const unsigned char *cert, size_t cert_len, const unsigned char *key,
                     size_t key_len)
{
    if (cert_len > FILE_MAX || key_len > FILE_MAX) return -1;
    unsigned char *spki = malloc(cert_len + key_len);
    if (!spki) return -1;
    unsigned char *der = spki + cert_len, a[ECC_BUFSIZE], b[ECC_BUFSIZE];
    int rc = -1, spki_len = (int)cert_len, pub_ok = 0, priv_ok = 0, n;
    word32 idx = 0, a_len, b_len;
    ecc_key pub, priv;
    WOLFSSL_X509 *x =
        wolfSSL_X509_load_certificate_buffer(cert, (int)cert_len, WOLFSSL_FILETYPE_PEM);
    if (!x || wolfSSL_X509_get_pubkey_buffer(x, spki, &spki_len) != WOLFSSL_SUCCESS) goto out;
    pub_ok = wc_ecc_init(&pub) == 0;
    if (!pub_ok || wc_EccPublicKeyDecode(spki, &idx, &pub, (word32)spki_len) != 0) goto out;

    rc = 0; /* an ECC certificate: from here on, a key we cannot use is not its key */
    n = wc_KeyPemToDer(key, (int)key_len, der, (int)key_len, NULL);
    if (n <= 0) goto out;
    idx = 0;
    if (wc_GetPkcs8TraditionalOffset(der, &idx, (word32)n) < 0) idx = 0; /* SEC1, not PKCS#8 */
    priv_ok = wc_ecc_init(&priv) == 0;
    if (!priv_ok || wc_EccPrivateKeyDecode(der, &idx, &priv, (word32)n) != 0) goto out;
    if (public_point(&pub, 0, a, &a_len) == 0 && public_point(&priv, 1, b, &b_len) == 0)
        rc = a_len == b_len && memcmp(a, b, a_len) == 0;
out:
    if (pub_ok) wc_ecc_free(&pub);
    if (priv_ok) wc_ecc_free(&priv);
    if (x) wolfSSL_X509_free(x);
    memset(spki, 0, cert_len + key_len);
    free(spki);
    return rc;
}

/* Writes `path` through a temporary file and a rename, so it is whole or absent; `mode` is
 * set exactly, whatever the umask. */
static int write_atomic(const char *path, const unsigned char *data, size_t len, mode_t mode,
                        char *err, size_t errlen)
{
    char tmp[TLS__PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "path too long: %s", path);
        return VG_ERANGE;
    }
    (void)unlink(tmp); /* a leftover of an interrupted start */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(e));
        return errno_code(e);
    }
    int ok = fchmod(fd, mode) == 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) off += (size_t)n;
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0) return 0;
    if (ok) e = errno;
    (void)unlink(tmp);
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
    return errno_code(e);
}

/* Makes `dir` with mode 0700 unless it exists. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) return 0;
    int e = errno;
    snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(e));
    return errno_code(e);
}

/* Fills `cert` with a self-signed X.509 v3 certificate for localhost, signed by `key`. */
static int cert_fill(Cert *cert, ecc_key *key, WC_RNG *rng)
{
    if (wc_InitCert(cert) != 0) return -1;
    cert->sigType = CTC_SHA256wECDSA;
    cert->daysValid = CERT_DAYS;
    cert->isCA = 0;
    snprintf(cert->subject.commonName, CTC_NAME_SIZE, "localhost");
    snprintf(cert->subject.org, CTC_NAME_SIZE, "verge");
    memcpy(cert->altNames, san_der, sizeof san_der);
    cert->altNamesSz = (int)sizeof san_der;
    /* a random positive serial with no leading zero byte */
    if (wc_RNG_GenerateBlock(rng, cert->serial, SERIAL_LEN) != 0) return -1;
    cert->serial[0] = (unsigned char)((cert->serial[0] & 0x7f) | 0x40);
    cert->serialSz = SERIAL_LEN;
    if (wc_SetKeyUsage(cert, "digitalSignature") != 0) return -1;
    if (wc_SetExtKeyUsage(cert, "serverAuth") != 0) return -1;
    return wc_SetSubjectKeyIdFromPublicKey_ex(cert, ECC_TYPE, key) == 0 ? 0 : -1;
}

/* PEM of a new key and of its certificate, into caller buffers; returns 0 or -1. */
static int cert_make(unsigned char *key_pem, int *key_len, unsigned char *cert_pem, int *cert_len,
                     size_t cap)
{
    WC_RNG rng;
    ecc_key key;
    Cert *cert = calloc(1, sizeof *cert);
    unsigned char *der = malloc(cap);
    int rc = -1, rng_ok = 0, key_ok = 0;
    if (!cert || !der) goto out;
    rng_ok = wc_InitRng(&rng) == 0;
    key_ok = rng_ok && wc_ecc_init(&key) == 0;
    if (!key_ok || wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1) != 0) goto out;

    int n = wc_EccKeyToDer(&key, der, (word32)cap);
    if (n <= 0) goto out;
    *key_len = wc_DerToPem(der, (word32)n, key_pem, (word32)cap, ECC_PRIVATEKEY_TYPE);
    if (*key_len <= 0 || cert_fill(cert, &key, &rng) != 0) goto out;

    if (wc_MakeCert_ex(cert, der, (word32)cap, ECC_TYPE, &key, &rng) <= 0) goto out;
    n = wc_SignCert_ex(cert->bodySz, cert->sigType, der, (word32)cap, ECC_TYPE, &key, &rng);
    if (n <= 0) goto out;
    *cert_len = wc_DerToPem(der, (word32)n, cert_pem, (word32)cap, CERT_TYPE);
    if (*cert_len > 0) rc = 0;
out:
    if (key_ok) wc_ecc_free(&key);
    if (rng_ok) wc_FreeRng(&rng);
#ifdef WOLFSSL_CERT_GEN_CACHE
    if (cert) wc_SetCert_Free(cert);
#endif
    free(cert);
    if (der) memset(der, 0, cap);
    free(der);
    return rc;
}

/* Generates the key and certificate files in `dir`: the key first, so a certificate on disk
 * always has its key next to it. */
static int cert_generate(vg_ctx_t *ctx, const char *dir, const char *cert_path,
                         const char *key_path, char *err, size_t errlen)
{
    enum { CAP = 4096 };
    unsigned char key_pem[CAP], cert_pem[CAP];
    int key_len = 0, cert_len = 0;
    if (cert_make(key_pem, &key_len, cert_pem, &cert_len, CAP) != 0) {
        snprintf(err, errlen, "cannot generate a certificate for %s", cert_path);
        return VG_ETLS;
    }
    int rc = write_atomic(key_path, key_pem, (size_t)key_len, 0600, err, errlen);
    memset(key_pem, 0, sizeof key_pem);
    if (rc == 0) rc = write_atomic(cert_path, cert_pem, (size_t)cert_len, 0644, err, errlen);
    if (rc) return rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* make the renames durable */
        close(fd);
    }
    vg_info(&ctx->log, "generated a self-signed ECDSA P-256 certificate for localhost in %s", dir);
    return 0;
}

/* Returns 1 when `path` exists, 0 when it does not, or a negative code with a message. */
static int file_exists(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0) return 1;
    if (errno == ENOENT) return 0;
    int e = errno;
    snprintf(err, errlen, "cannot access %s: %s", path, strerror(e));
    return errno_code(e);
}

static int copy_path(char *dst, size_t cap, const char *src, char *err, size_t errlen)
{
    if (snprintf(dst, cap, "%s", src) < (int)cap) return 0;
    snprintf(err, errlen, "path too long: %s", src);
    return VG_ERANGE;
}

int tls__cert_paths(vg_ctx_t *ctx, char *cert, size_t certlen, char *key, size_t keylen, char *err,
                    size_t errlen)
{
    const vg_config_t *cfg = &ctx->cfg;
    if (cfg->tls_cert[0] || cfg->tls_key[0]) {
        if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
            snprintf(err, errlen,
                     "server.%s is set (\"%s\") but server.%s is empty: set both or neither",
                     cfg->tls_cert[0] ? "tls_cert" : "tls_key",
                     cfg->tls_cert[0] ? cfg->tls_cert : cfg->tls_key,
                     cfg->tls_cert[0] ? "tls_key" : "tls_cert");
            return VG_EINVAL;
        }
        int rc = copy_path(cert, certlen, cfg->tls_cert, err, errlen);
        return rc ? rc : copy_path(key, keylen, cfg->tls_key, err, errlen);
    }

    if (!cfg->data_dir[0]) {
        snprintf(err, errlen, "server.data_dir is empty: it holds the generated certificate");
        return VG_EINVAL;
    }
    char dir[TLS__PATH_MAX];
    int n1 = snprintf(dir, sizeof dir, "%s/tls", cfg->data_dir);
    int n2 = snprintf(cert, certlen, "%s/cert.pem", dir);
    int n3 = snprintf(key, keylen, "%s/key.pem", dir);
    if (n1 >= (int)sizeof dir || n2 >= (int)certlen || n3 >= (int)keylen) {
        snprintf(err, errlen, "server.data_dir is too long: %s", cfg->data_dir);
        return VG_ERANGE;
    }

    int have_cert = file_exists(cert, err, errlen);
    if (have_cert < 0) return have_cert;
    int have_key = file_exists(key, err, errlen);
    if (have_key < 0) return have_key;
    if (have_cert && have_key) return 0;
    if (have_cert || have_key) {
        snprintf(err, errlen,
                 "%s exists but %s is missing: restore it, or delete %s to have a new "
                 "pair generated",
                 have_cert ? cert : key, have_cert ? key : cert, have_cert ? cert : key);
        return VG_ENOENT;
    }
    int rc = make_dir(cfg->data_dir, err, errlen);
    if (rc == 0) rc = make_dir(dir, err, errlen);
    return rc ? rc : cert_generate(ctx, dir, cert, key, err, errlen);
}
