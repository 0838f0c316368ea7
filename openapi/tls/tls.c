/* tls.c: TLS server connections on wolfSSL over memory I/O. Ciphertext comes in through
 * tls_conn_feed() and is handed to wolfSSL by the receive callback; what wolfSSL sends leaves
 * through io->send at once, so nothing here ever blocks or owns a socket. */
#define VG_LOG_MODULE "tls"
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "core/error.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* AEAD with forward secrecy only, fastest first: without AES-NI, wolfCrypt's
 * ChaCha20-Poly1305 runs about 2.6 times as fast as AES-128-GCM on this machine (465 against
 * 178 MB/s, tests/bench/tls_ciphers.c). The RSA suites serve a configured RSA certificate. */
static const char suites[] = "TLS13-CHACHA20-POLY1305-SHA256:"
                             "TLS13-AES128-GCM-SHA256:"
                             "TLS13-AES256-GCM-SHA384:"
                             "ECDHE-ECDSA-CHACHA20-POLY1305:"
                             "ECDHE-ECDSA-AES128-GCM-SHA256:"
                             "ECDHE-ECDSA-AES256-GCM-SHA384:"
                             "ECDHE-RSA-CHACHA20-POLY1305:"
                             "ECDHE-RSA-AES128-GCM-SHA256:"
                             "ECDHE-RSA-AES256-GCM-SHA384";

struct tls_ctx {
    vg_ctx_t *vg;
    WOLFSSL_CTX *ssl_ctx;
    char fingerprint[TLS__FINGERPRINT_LEN];
};

struct tls_conn {
    tls_ctx_t *t;
    WOLFSSL *ssl;
    tls_io_t io;
    const char *in; /* ciphertext of the tls_conn_feed() in progress */
    size_t in_len, in_pos;
    int ready; /* handshake done */
    int shut;  /* tls_conn_shutdown() was called */
    int err;   /* once set (VG_ETLS, VG_ECLOSED), every later feed returns it */
    const char *version, *cipher;
};

/* wolfSSL's receive callback: what is left of the fed bytes, or "would block". */
static int conn_recv_cb(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    tls_conn_t *c = arg;
    size_t avail = c->in_len - c->in_pos;
    if (avail == 0 || sz <= 0) return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = (size_t)sz < avail ? (size_t)sz : avail;
    memcpy(buf, c->in + c->in_pos, n);
    c->in_pos += n;
    return (int)n;
}

/* wolfSSL's send callback: everything goes to io->send, which copies it. */
static int conn_send_cb(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    tls_conn_t *c = arg;
    if (sz > 0) c->io.send(c->io.data, buf, (size_t)sz);
    return sz;
}

/* Loads the certificate chain and the key, checks they match and takes the fingerprint. */
static int ctx_load(tls_ctx_t *t, const char *cert, const char *key, char *err, size_t errlen)
{
    unsigned char *c = NULL, *k = NULL;
    size_t c_len, k_len;
    int rc = tls__read_file(cert, &c, &c_len, err, errlen);
    if (rc == 0) rc = tls__read_file(key, &k, &k_len, err, errlen);
    if (rc) goto out;
    if (wolfSSL_CTX_use_certificate_chain_buffer(t->ssl_ctx, c, (long)c_len) != WOLFSSL_SUCCESS ||
        tls__fingerprint(c, c_len, t->fingerprint) != 0) {
        snprintf(err, errlen, "%s: not a PEM certificate (chain)", cert);
        rc = VG_EPARSE;
    } else if (wolfSSL_CTX_use_PrivateKey_buffer(t->ssl_ctx, k, (long)k_len,
                                                 WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "%s: not a PEM private key (or an encrypted one)", key);
        rc = VG_EPARSE;
    } else if (wolfSSL_CTX_check_private_key(t->ssl_ctx) != WOLFSSL_SUCCESS ||
               tls__key_matches(c, c_len, k, k_len) == 0) {
        snprintf(err, errlen, "%s is not the private key of the certificate in %s", key, cert);
        rc = VG_ETLS;
    }
out:
    if (k) memset(k, 0, k_len);
    free(k);
    free(c);
    return rc;
}

/* Protocol versions, suites, groups and the I/O callbacks. */
static int ctx_configure(tls_ctx_t *t, char *err, size_t errlen)
{
    WOLFSSL_CTX *s = t->ssl_ctx;
    int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1};
    const char *what = NULL;
    if (wolfSSL_CTX_SetMinVersion(s, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        what = "minimum version TLS 1.2";
    else if (wolfSSL_CTX_set_cipher_list(s, suites) != WOLFSSL_SUCCESS)
        what = "cipher suites";
    else if (wolfSSL_CTX_set1_curves_list(s, "X25519:P-256") != WOLFSSL_SUCCESS ||
             wolfSSL_CTX_set_groups(s, groups, (int)(sizeof groups / sizeof groups[0])) !=
                 WOLFSSL_SUCCESS)
        what = "key exchange groups";
    if (what) {
        snprintf(err, errlen, "wolfSSL refused the %s", what);
        return VG_ETLS;
    }
    /* Server preference needs no switch: wolfSSL 5.5.4 always matches suites in the server's
     * order unless wolfSSL_CTX_UseClientSuites() is called, and ignores
     * WOLFSSL_OP_CIPHER_SERVER_PREFERENCE (test_server_preference holds either way). */
    wolfSSL_CTX_set_verify(s, WOLFSSL_VERIFY_NONE, NULL);
    wolfSSL_CTX_SetIORecv(s, conn_recv_cb);
    wolfSSL_CTX_SetIOSend(s, conn_send_cb);
    return 0;
}

int tls_ctx_create(vg_ctx_t *ctx, tls_ctx_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "wolfSSL failed to initialize");
        return VG_ETLS;
    }
    tls_ctx_t *t = calloc(1, sizeof *t);
    if (!t) {
        wolfSSL_Cleanup();
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    t->vg = ctx;
    char cert[TLS__PATH_MAX], key[TLS__PATH_MAX];
    int rc = tls__cert_paths(ctx, cert, sizeof cert, key, sizeof key, err, errlen);
    if (rc == 0) {
        t->ssl_ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
        if (!t->ssl_ctx) snprintf(err, errlen, "out of memory");
        rc = t->ssl_ctx ? ctx_configure(t, err, errlen) : VG_ENOMEM;
    }
    if (rc == 0) rc = ctx_load(t, cert, key, err, errlen);
    if (rc) {
        tls_ctx_destroy(t);
        return rc;
    }
    vg_info(&ctx->log, "certificate %s, SHA-256 fingerprint %s", cert, t->fingerprint);
    /* Generating or checking the key filled wolfCrypt's fixed-point ECC cache (about 800 KiB
     * a point, kept per thread): give it back; handshakes build what they use. */
    wc_ecc_fp_free();
    *out = t;
    return 0;
}

void tls_ctx_destroy(tls_ctx_t *t)
{
    if (!t) return;
    if (t->ssl_ctx) wolfSSL_CTX_free(t->ssl_ctx);
    free(t);
    wolfSSL_Cleanup(); /* reference counted: balances the wolfSSL_Init of tls_ctx_create */
}

const char *tls_ctx_fingerprint(const tls_ctx_t *t)
{
    return t->fingerprint;
}

int tls_conn_create(tls_ctx_t *t, const tls_io_t *io, tls_conn_t **out)
{
    *out = NULL;
    tls_conn_t *c = calloc(1, sizeof *c);
    if (!c) return VG_ENOMEM;
    c->ssl = wolfSSL_new(t->ssl_ctx);
    if (!c->ssl) {
        free(c);
        return VG_ENOMEM;
    }
    c->t = t;
    c->io = *io;
    c->version = c->cipher = "";
    wolfSSL_SetIOReadCtx(c->ssl, c);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    *out = c;
    return 0;
}

void tls_conn_destroy(tls_conn_t *c)
{
    if (!c) return;
    wolfSSL_free(c->ssl);
    free(c);
}

/* Turns wolfSSL's error for `ret` into VG_ECLOSED or VG_ETLS and makes it stick. */
static int conn_fail(tls_conn_t *c, int ret)
{
    int e = wolfSSL_get_error(c->ssl, ret);
    if (e == WOLFSSL_ERROR_ZERO_RETURN) return c->err = VG_ECLOSED;
    char why[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)e, why, sizeof why);
    vg_debug(&c->t->vg->log, "%s failed: %s (%d)", c->ready ? "TLS" : "TLS handshake", why, e);
    return c->err = VG_ETLS;
}

/* Advances the handshake and reads records until the fed bytes are used up. */
static int conn_pump(tls_conn_t *c)
{
    char buf[16384];
    for (;;) {
        size_t pos = c->in_pos;
        int ret;
        if (!c->ready) {
            ret = wolfSSL_accept(c->ssl);
            if (ret == WOLFSSL_SUCCESS) {
                c->ready = 1;
                c->version = wolfSSL_get_version(c->ssl);
                c->cipher = wolfSSL_get_cipher_name(c->ssl);
                if (!c->cipher) c->cipher = "";
                continue;
            }
        } else {
            ret = wolfSSL_read(c->ssl, buf, (int)sizeof buf);
            if (ret > 0) {
                c->io.recv(c->io.data, buf, (size_t)ret);
                continue;
            }
        }
        int e = wolfSSL_get_error(c->ssl, ret);
        if (e != WOLFSSL_ERROR_WANT_READ && e != WOLFSSL_ERROR_WANT_WRITE) return conn_fail(c, ret);
        if (c->in_pos == c->in_len) return 0;
        /* wolfSSL waits for more while fed bytes are left: it must have stalled */
        if (c->in_pos == pos) return conn_fail(c, ret);
    }
}

int tls_conn_feed(tls_conn_t *c, const char *data, size_t len)
{
    if (c->err) return c->err;
    if (c->shut && !c->ready) return VG_ECLOSED; /* we gave up on the handshake */
    c->in = data;
    c->in_len = len;
    c->in_pos = 0;
    int rc = conn_pump(c);
    c->in = NULL;
    c->in_len = c->in_pos = 0;
    return rc;
}

int tls_conn_write(tls_conn_t *c, const char *data, size_t len)
{
    if (c->err == VG_ETLS) return VG_ETLS;
    if (!c->ready) return VG_EINVAL;
    while (len > 0) {
        int chunk = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
        int n = wolfSSL_write(c->ssl, data, chunk);
        if (n <= 0) {
            (void)conn_fail(c, n);
            return c->err = VG_ETLS;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int tls_conn_shutdown(tls_conn_t *c)
{
    if (c->err == VG_ETLS) return VG_ETLS;
    if (c->shut) return 0;
    c->shut = 1;
    if (!c->ready) return 0; /* no session to close yet: nothing is sent */
    int ret = wolfSSL_shutdown(c->ssl);
    return ret == WOLFSSL_SUCCESS || ret == WOLFSSL_SHUTDOWN_NOT_DONE ? 0 : VG_ETLS;
}

int tls_conn_ready(const tls_conn_t *c)
{
    return c->ready;
}

const char *tls_conn_version(const tls_conn_t *c)
{
    return c->version;
}

const char *tls_conn_cipher(const tls_conn_t *c)
{
    return c->cipher;
}

int tls_sniff(const unsigned char *data, size_t len)
{
    if (len == 0) return -1;
    if (data[0] != 0x16) return 0; /* not a handshake record */
    if (len < 2) return -1;
    return data[1] == 0x03 ? 1 : 0; /* record version 3.x: SSLv3 to TLS 1.3 */
}
