/* test_tls.c: unit tests of openapi/tls: sniffing, certificate generation and loading, and
 * full handshakes between our server tls_conn and a wolfSSL client over memory (TLS 1.3 and
 * 1.2, whole and byte by byte), old protocols and weak suites refused, garbage survived. */
#include "vg_test.h"
#include "tls/tls.h"
#include "core/error.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a growable byte buffer ---- */

typedef struct {
    char *data;
    size_t len, cap;
} bytes_t;

static void bytes_add(bytes_t *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) abort();
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void bytes_drop(bytes_t *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static void bytes_free(bytes_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- a data_dir in /tmp and a runtime context over it ---- */

typedef struct {
    char dir[64];
    char cert[128], key[128];
    vg_ctx_t ctx;
    FILE *log;
} env_t;

static void env_init(env_t *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/vg_tls_XXXXXX");
    if (!mkdtemp(e->dir)) abort();
    snprintf(e->cert, sizeof e->cert, "%s/tls/cert.pem", e->dir);
    snprintf(e->key, sizeof e->key, "%s/tls/key.pem", e->dir);
    e->log = tmpfile();
    if (!e->log) abort();
    vg_config_defaults(&e->ctx.cfg);
    snprintf(e->ctx.cfg.data_dir, sizeof e->ctx.cfg.data_dir, "%s", e->dir);
    vg_logger_init(&e->ctx.log, VG_LOG_DEBUG, VG_LOG_FORMAT_HUMAN, e->log);
}

/* Returns everything logged so far (static buffer). */
static const char *env_log(env_t *e)
{
    static char buf[16384];
    fflush(e->log);
    rewind(e->log);
    size_t n = fread(buf, 1, sizeof buf - 1, e->log);
    buf[n] = '\0';
    return buf;
}

static void env_close(env_t *e)
{
    char path[160];
    unlink(e->cert);
    unlink(e->key);
    snprintf(path, sizeof path, "%s/tls", e->dir);
    rmdir(path);
    rmdir(e->dir);
    fclose(e->log);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* ---- our server and a wolfSSL client, wired together in memory ---- */

typedef struct {
    tls_conn_t *server;
    bytes_t to_client, to_server, server_got;
    WOLFSSL_CTX *cctx;
    WOLFSSL *client;
    size_t chunk; /* bytes per tls_conn_feed; 0: all at once */
    int server_rc;
} pair_t;

static void server_send(void *data, const char *buf, size_t len)
{
    bytes_add(&((pair_t *)data)->to_client, buf, len);
}

static void server_recv(void *data, const char *buf, size_t len)
{
    bytes_add(&((pair_t *)data)->server_got, buf, len);
}

static int client_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    pair_t *p = arg;
    if (p->to_client.len == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
    size_t n = (size_t)sz < p->to_client.len ? (size_t)sz : p->to_client.len;
    memcpy(buf, p->to_client.data, n);
    bytes_drop(&p->to_client, n);
    return (int)n;
}

static int client_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    bytes_add(&((pair_t *)arg)->to_server, buf, (size_t)sz);
    return sz;
}

/* Opens a pair: `method` for the client, `suites` (NULL: wolfSSL's default), verifying the
 * server against `ca` (NULL: no verification). */
static int pair_open(pair_t *p, tls_ctx_t *t, WOLFSSL_METHOD *method, const char *suites,
                     const char *ca)
{
    memset(p, 0, sizeof *p);
    tls_io_t io = {server_send, server_recv, p};
    if (tls_conn_create(t, &io, &p->server) != 0) return -1;
    p->cctx = wolfSSL_CTX_new(method);
    if (!p->cctx) return -1;
    if (suites && wolfSSL_CTX_set_cipher_list(p->cctx, suites) != WOLFSSL_SUCCESS) return -1;
    if (ca) {
        if (wolfSSL_CTX_load_verify_locations(p->cctx, ca, NULL) != WOLFSSL_SUCCESS) return -1;
        wolfSSL_CTX_set_verify(p->cctx, WOLFSSL_VERIFY_PEER, NULL);
    } else {
        wolfSSL_CTX_set_verify(p->cctx, WOLFSSL_VERIFY_NONE, NULL);
    }
    wolfSSL_CTX_SetIORecv(p->cctx, client_recv);
    wolfSSL_CTX_SetIOSend(p->cctx, client_send);
    p->client = wolfSSL_new(p->cctx);
    if (!p->client) return -1;
    wolfSSL_SetIOReadCtx(p->client, p);
    wolfSSL_SetIOWriteCtx(p->client, p);
    if (ca && wolfSSL_check_domain_name(p->client, "localhost") != WOLFSSL_SUCCESS) return -1;
    return 0;
}

static void pair_close(pair_t *p)
{
    tls_conn_destroy(p->server);
    if (p->client) wolfSSL_free(p->client);
    if (p->cctx) wolfSSL_CTX_free(p->cctx);
    bytes_free(&p->to_client);
    bytes_free(&p->to_server);
    bytes_free(&p->server_got);
}

/* Feeds the client's pending bytes to the server, `chunk` at a time. Returns the first
 * non-zero result of tls_conn_feed, or 0. */
static int pair_pump(pair_t *p)
{
    size_t off = 0;
    int rc = 0;
    while (off < p->to_server.len && rc == 0) {
        size_t n = p->to_server.len - off;
        if (p->chunk && n > p->chunk) n = p->chunk;
        rc = tls_conn_feed(p->server, p->to_server.data + off, n);
        off += n;
    }
    bytes_drop(&p->to_server, p->to_server.len);
    if (rc) p->server_rc = rc;
    return rc;
}

/* Runs the handshake; returns 0 once both sides are done, -1 when either gave up. */
static int pair_handshake(pair_t *p)
{
    for (int i = 0; i < 50; i++) {
        int r = wolfSSL_connect(p->client);
        int e = r == WOLFSSL_SUCCESS ? 0 : wolfSSL_get_error(p->client, r);
        if (pair_pump(p) != 0) return -1;
        if (r == WOLFSSL_SUCCESS && tls_conn_ready(p->server)) return 0;
        if (e != 0 && e != WOLFSSL_ERROR_WANT_READ) return -1;
    }
    return -1;
}

/* Reads whatever the client can decrypt now into `out`; returns wolfSSL's last error. */
static int client_read_all(pair_t *p, bytes_t *out)
{
    char buf[4096];
    for (;;) {
        int n = wolfSSL_read(p->client, buf, sizeof buf);
        if (n <= 0) return wolfSSL_get_error(p->client, n);
        bytes_add(out, buf, (size_t)n);
    }
}

/* A server context over a fresh data_dir (certificate generated). */
static tls_ctx_t *server_ctx(env_t *e)
{
    char err[512];
    tls_ctx_t *t = NULL;
    env_init(e);
    int rc = tls_ctx_create(&e->ctx, &t, err, sizeof err);
    if (rc) fprintf(stderr, "  tls_ctx_create: %s\n", err);
    return t;
}

/* ---- tests ---- */

static void test_sniff(void)
{
    const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    CHECK_EQ_INT(tls_sniff(hello, sizeof hello), 1);
    CHECK_EQ_INT(tls_sniff(hello, 2), 1);
    CHECK_EQ_INT(tls_sniff(hello, 1), -1);
    CHECK_EQ_INT(tls_sniff(hello, 0), -1);
    CHECK_EQ_INT(tls_sniff((const unsigned char *)"GET / HTTP/1.1", 14), 0);
    CHECK_EQ_INT(tls_sniff((const unsigned char *)"G", 1), 0);
    const unsigned char not_tls[] = {0x16, 0x02};
    CHECK_EQ_INT(tls_sniff(not_tls, 2), 0);
    const unsigned char sslv2[] = {0x80, 0x2e, 0x01, 0x03};
    CHECK_EQ_INT(tls_sniff(sslv2, sizeof sslv2), 0);
}

static void test_certgen(void)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    struct stat st;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/tls", e.dir);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(e.key, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(e.cert, &st) == 0 && (st.st_mode & 0777) == 0644);

    char fp[128];
    snprintf(fp, sizeof fp, "%s", tls_ctx_fingerprint(t));
    CHECK_EQ_INT(strlen(fp), 95);
    for (size_t i = 0; i < strlen(fp); i++)
        CHECK(i % 3 == 2 ? fp[i] == ':' : strchr("0123456789ABCDEF", fp[i]) != NULL);
    CHECK(strstr(env_log(&e), fp) != NULL);
    CHECK(strstr(env_log(&e), "generated") != NULL);
    tls_ctx_destroy(t);

    /* a second start reuses the files */
    struct stat before;
    CHECK(stat(e.key, &before) == 0);
    char err[512];
    rewind(e.log);
    CHECK(ftruncate(fileno(e.log), 0) == 0);
    CHECK_EQ_INT(tls_ctx_create(&e.ctx, &t, err, sizeof err), 0);
    if (t) CHECK_EQ_STR(tls_ctx_fingerprint(t), fp);
    CHECK(strstr(env_log(&e), "generated") == NULL);
    CHECK(stat(e.key, &st) == 0 && st.st_ino == before.st_ino);
    tls_ctx_destroy(t);

    /* what the certificate says */
    WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(e.cert, WOLFSSL_FILETYPE_PEM);
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_INT(wolfSSL_X509_get_version(x), 2); /* v3 */
        CHECK_EQ_INT(wolfSSL_X509_check_host(x, "localhost", 9, 0, NULL), 1);
        CHECK_EQ_INT(wolfSSL_X509_check_host(x, "example.com", 11, 0, NULL), 0);
        CHECK_EQ_INT(wolfSSL_X509_check_ip_asc(x, "127.0.0.1", 0), 1);
        /* wolfSSL matches IPv6 in its own fully written-out form */
        CHECK_EQ_INT(wolfSSL_X509_check_ip_asc(x, "0000:0000:0000:0000:0000:0000:0000:0001", 0), 1);
        CHECK_EQ_INT(wolfSSL_X509_check_ip_asc(x, "10.0.0.1", 0), 0);
        CHECK_EQ_INT(wolfSSL_X509_get_isCA(x), 0);
        int days = 0, secs = 0;
        CHECK(wolfSSL_ASN1_TIME_diff(&days, &secs, wolfSSL_X509_get_notBefore(x),
                                     wolfSSL_X509_get_notAfter(x)) == WOLFSSL_SUCCESS);
        CHECK(days >= 3652 && days <= 3655);
        wolfSSL_X509_free(x);
    }

    /* half a pair on disk is an error naming the missing file, and nothing is overwritten */
    CHECK(unlink(e.key) == 0);
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_ENOENT);
    CHECK(t == NULL);
    CHECK(strstr(err, e.key) != NULL);
    env_close(&e);
}

static void test_config_errors(void)
{
    env_t e;
    env_init(&e);
    char err[512];
    tls_ctx_t *t = (tls_ctx_t *)&e; /* must be reset to NULL on failure */

    snprintf(e.ctx.cfg.tls_cert, sizeof e.ctx.cfg.tls_cert, "/nonexistent/verge/cert.pem");
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_EINVAL);
    CHECK(t == NULL);
    CHECK(strstr(err, "server.tls_key") != NULL);

    e.ctx.cfg.tls_cert[0] = '\0';
    snprintf(e.ctx.cfg.tls_key, sizeof e.ctx.cfg.tls_key, "/nonexistent/verge/key.pem");
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_EINVAL);
    CHECK(strstr(err, "server.tls_cert") != NULL);

    snprintf(e.ctx.cfg.tls_cert, sizeof e.ctx.cfg.tls_cert, "/nonexistent/verge/cert.pem");
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_ENOENT);
    CHECK(strstr(err, "/nonexistent/verge/cert.pem") != NULL);

    /* not a certificate */
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.pem", e.dir);
    write_text(bad, "hello\n");
    snprintf(e.ctx.cfg.tls_cert, sizeof e.ctx.cfg.tls_cert, "%s", bad);
    snprintf(e.ctx.cfg.tls_key, sizeof e.ctx.cfg.tls_key, "%s", bad);
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_EPARSE);
    CHECK(strstr(err, bad) != NULL && strstr(err, "certificate") != NULL);

    /* a directory is no certificate */
    snprintf(e.ctx.cfg.tls_cert, sizeof e.ctx.cfg.tls_cert, "%s", e.dir);
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_EINVAL);
    CHECK(strstr(err, e.dir) != NULL);

    /* a generated pair configured explicitly works; a key that is not its key names the file */
    env_t a, b;
    tls_ctx_t *ta = server_ctx(&a), *tb = server_ctx(&b);
    CHECK(ta && tb);
    snprintf(e.ctx.cfg.tls_cert, sizeof e.ctx.cfg.tls_cert, "%s", a.cert);
    snprintf(e.ctx.cfg.tls_key, sizeof e.ctx.cfg.tls_key, "%s", a.key);
    CHECK_EQ_INT(tls_ctx_create(&e.ctx, &t, err, sizeof err), 0);
    if (t && ta) CHECK_EQ_STR(tls_ctx_fingerprint(t), tls_ctx_fingerprint(ta));
    tls_ctx_destroy(t);
    snprintf(e.ctx.cfg.tls_key, sizeof e.ctx.cfg.tls_key, "%s", b.key);
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_ETLS);
    CHECK(strstr(err, b.key) != NULL);
    snprintf(e.ctx.cfg.tls_key, sizeof e.ctx.cfg.tls_key, "%s", bad);
    CHECK(tls_ctx_create(&e.ctx, &t, err, sizeof err) == VG_EPARSE);
    CHECK(strstr(err, bad) != NULL);

    tls_ctx_destroy(ta);
    tls_ctx_destroy(tb);
    env_close(&a);
    env_close(&b);
    unlink(bad);
    env_close(&e);
}

/* One session: handshake with `method`, data both ways, close_notify both ways. */
static void session(WOLFSSL_METHOD *method, const char *suites, size_t chunk, const char *version,
                    const char *cipher)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    pair_t p;
    CHECK_EQ_INT(pair_open(&p, t, method, suites, e.cert), 0);
    p.chunk = chunk;
    CHECK_EQ_STR(tls_conn_version(p.server), "");
    CHECK_EQ_INT(tls_conn_write(p.server, "x", 1), VG_EINVAL);
    CHECK_EQ_INT(pair_handshake(&p), 0);
    CHECK_EQ_INT(tls_conn_ready(p.server), 1);
    CHECK_EQ_STR(tls_conn_version(p.server), version);
    CHECK_EQ_STR(tls_conn_cipher(p.server), cipher);

    /* client to server: a small request, then 100 kB */
    const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    CHECK_EQ_INT(wolfSSL_write(p.client, req, (int)strlen(req)), (int)strlen(req));
    CHECK_EQ_INT(pair_pump(&p), 0);
    CHECK(p.server_got.len == strlen(req) && memcmp(p.server_got.data, req, strlen(req)) == 0);
    static char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 256);
    bytes_drop(&p.server_got, p.server_got.len);
    CHECK_EQ_INT(wolfSSL_write(p.client, big, (int)sizeof big), (int)sizeof big);
    CHECK_EQ_INT(pair_pump(&p), 0);
    CHECK(p.server_got.len == sizeof big && memcmp(p.server_got.data, big, sizeof big) == 0);

    /* server to client */
    bytes_t got = {0};
    CHECK_EQ_INT(tls_conn_write(p.server, big, sizeof big), 0);
    CHECK_EQ_INT(tls_conn_write(p.server, "", 0), 0);
    CHECK_EQ_INT(client_read_all(&p, &got), WOLFSSL_ERROR_WANT_READ);
    CHECK(got.len == sizeof big && memcmp(got.data, big, sizeof big) == 0);

    /* the client closes: the server sees VG_ECLOSED (and keeps saying so), answers in kind */
    wolfSSL_shutdown(p.client);
    CHECK_EQ_INT(pair_pump(&p), VG_ECLOSED);
    CHECK_EQ_INT(tls_conn_feed(p.server, "x", 1), VG_ECLOSED);
    CHECK_EQ_INT(tls_conn_shutdown(p.server), 0);
    CHECK_EQ_INT(client_read_all(&p, &got), WOLFSSL_ERROR_ZERO_RETURN);

    bytes_free(&got);
    pair_close(&p);
    tls_ctx_destroy(t);
    env_close(&e);
}

static void test_tls13(void)
{
    session(wolfSSLv23_client_method(), NULL, 0, "TLSv1.3", "TLS13-CHACHA20-POLY1305-SHA256");
}

static void test_tls13_bytewise(void)
{
    session(wolfTLSv1_3_client_method(), NULL, 1, "TLSv1.3", "TLS13-CHACHA20-POLY1305-SHA256");
}

static void test_tls12(void)
{
    session(wolfTLSv1_2_client_method(), NULL, 0, "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305");
}

static void test_tls12_bytewise(void)
{
    session(wolfTLSv1_2_client_method(), NULL, 1, "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305");
}

/* The server's order wins over the client's. */
static void test_server_preference(void)
{
    session(wolfTLSv1_3_client_method(),
            "TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256", 0,
            "TLSv1.3", "TLS13-CHACHA20-POLY1305-SHA256");
    session(wolfTLSv1_3_client_method(), "TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256", 0,
            "TLSv1.3", "TLS13-AES128-GCM-SHA256");
    session(wolfTLSv1_2_client_method(),
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", 7, "TLSv1.2",
            "ECDHE-ECDSA-AES128-GCM-SHA256");
}

/* A client that cannot meet our floor fails, and the server reports VG_ETLS. */
static void refused(WOLFSSL_METHOD *method, const char *suites)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    pair_t p;
    CHECK_EQ_INT(pair_open(&p, t, method, suites, NULL), 0);
    CHECK_EQ_INT(pair_handshake(&p), -1);
    CHECK_EQ_INT(p.server_rc, VG_ETLS);
    CHECK_EQ_INT(tls_conn_ready(p.server), 0);
    CHECK(p.to_client.len > 0 && p.to_client.data[0] == 0x15); /* an alert went out */
    CHECK_EQ_INT(tls_conn_feed(p.server, "\x16\x03", 2), VG_ETLS);
    CHECK_EQ_INT(tls_conn_write(p.server, "x", 1), VG_ETLS);
    CHECK_EQ_INT(tls_conn_shutdown(p.server), VG_ETLS);
    pair_close(&p);
    tls_ctx_destroy(t);
    env_close(&e);
}

static void test_tls11_refused(void)
{
    refused(wolfTLSv1_1_client_method(), NULL);
}

static void test_cbc_refused(void)
{
    refused(wolfTLSv1_2_client_method(), "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
}

/* Plain HTTP, random bytes and mangled ClientHellos give VG_ETLS or 0, never a crash. */
static void test_garbage(void)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    pair_t p;
    CHECK_EQ_INT(pair_open(&p, t, wolfSSLv23_client_method(), NULL, NULL), 0);
    const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    CHECK_EQ_INT(tls_conn_feed(p.server, http, strlen(http)), VG_ETLS);
    /* a real ClientHello, kept for mangling */
    CHECK(wolfSSL_connect(p.client) != WOLFSSL_SUCCESS);
    bytes_t hello = {0};
    bytes_add(&hello, p.to_server.data, p.to_server.len);
    pair_close(&p);
    CHECK(hello.len > 100 && hello.data[0] == 0x16);

    unsigned int seed = 12345;
    tls_io_t io = {server_send, server_recv, &p};
    for (int i = 0; i < 600 && hello.len > 0; i++) {
        memset(&p, 0, sizeof p);
        CHECK_EQ_INT(tls_conn_create(t, &io, &p.server), 0);
        bytes_t in = {0};
        if (i % 3 == 0) { /* random bytes behind a handshake record header */
            size_t n = (size_t)(rand_r(&seed) % 3000);
            bytes_add(&in, "\x16\x03\x01", 3);
            for (size_t k = 0; k < n; k++) {
                char c = (char)rand_r(&seed);
                bytes_add(&in, &c, 1);
            }
        } else { /* the ClientHello with a few bytes changed, maybe cut short */
            bytes_add(&in, hello.data, hello.len);
            for (int k = 0; k < 1 + i % 8; k++)
                in.data[(size_t)rand_r(&seed) % in.len] = (char)rand_r(&seed);
            if (i % 5 == 0) in.len = (size_t)rand_r(&seed) % in.len;
        }
        size_t chunk = i % 4 == 0 ? 1 : in.len + 1;
        int rc = 0;
        for (size_t off = 0; off < in.len && rc == 0; off += chunk)
            rc =
                tls_conn_feed(p.server, in.data + off, in.len - off < chunk ? in.len - off : chunk);
        CHECK(rc == 0 || rc == VG_ETLS);
        CHECK_EQ_INT(tls_conn_ready(p.server), 0);
        bytes_free(&in);
        pair_close(&p);
    }
    bytes_free(&hello);
    tls_ctx_destroy(t);
    env_close(&e);
}

/* Data the client sends right behind its Finished reaches io->recv in the same feed. */
static void test_data_with_finished(void)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    pair_t p;
    CHECK_EQ_INT(pair_open(&p, t, wolfTLSv1_3_client_method(), NULL, NULL), 0);
    int r = WOLFSSL_FATAL_ERROR;
    for (int i = 0; i < 10 && r != WOLFSSL_SUCCESS; i++) {
        r = wolfSSL_connect(p.client);
        if (r != WOLFSSL_SUCCESS) CHECK_EQ_INT(pair_pump(&p), 0);
    }
    CHECK_EQ_INT(r, WOLFSSL_SUCCESS);
    CHECK_EQ_INT(tls_conn_ready(p.server), 0); /* the client's Finished is still with us */
    CHECK_EQ_INT(wolfSSL_write(p.client, "ping", 4), 4);
    CHECK_EQ_INT(pair_pump(&p), 0);
    CHECK_EQ_INT(tls_conn_ready(p.server), 1);
    CHECK(p.server_got.len == 4 && memcmp(p.server_got.data, "ping", 4) == 0);
    pair_close(&p);
    tls_ctx_destroy(t);
    env_close(&e);
}

/* Shutdown before the handshake sends nothing and ends it; after the peer's close_notify the
 * server may still answer (half-close), then close in turn. */
static void test_shutdown(void)
{
    env_t e;
    tls_ctx_t *t = server_ctx(&e);
    CHECK(t != NULL);
    if (!t) return;
    pair_t p;
    CHECK_EQ_INT(pair_open(&p, t, wolfSSLv23_client_method(), NULL, NULL), 0);
    CHECK(wolfSSL_connect(p.client) != WOLFSSL_SUCCESS);
    CHECK_EQ_INT(tls_conn_feed(p.server, p.to_server.data, 20), 0);
    CHECK_EQ_INT(tls_conn_shutdown(p.server), 0);
    CHECK_EQ_INT(tls_conn_shutdown(p.server), 0);
    CHECK_EQ_INT(p.to_client.len, 0);
    CHECK_EQ_INT(tls_conn_feed(p.server, p.to_server.data + 20, p.to_server.len - 20), VG_ECLOSED);
    CHECK_EQ_INT(tls_conn_ready(p.server), 0);
    pair_close(&p);

    CHECK_EQ_INT(pair_open(&p, t, wolfSSLv23_client_method(), NULL, NULL), 0);
    CHECK_EQ_INT(pair_handshake(&p), 0);
    CHECK_EQ_INT(wolfSSL_write(p.client, "last", 4), 4);
    wolfSSL_shutdown(p.client);
    CHECK_EQ_INT(pair_pump(&p), VG_ECLOSED);
    CHECK(p.server_got.len == 4 && memcmp(p.server_got.data, "last", 4) == 0);
    CHECK_EQ_INT(tls_conn_write(p.server, "reply", 5), 0);
    CHECK_EQ_INT(tls_conn_shutdown(p.server), 0);
    bytes_t got = {0};
    CHECK_EQ_INT(client_read_all(&p, &got), WOLFSSL_ERROR_ZERO_RETURN);
    CHECK(got.len == 5 && memcmp(got.data, "reply", 5) == 0);
    bytes_free(&got);
    pair_close(&p);
    tls_conn_destroy(NULL);
    tls_ctx_destroy(t);
    env_close(&e);
}

VG_TEST_MAIN({
    wolfSSL_Init();
    VG_TEST(test_sniff);
    VG_TEST(test_certgen);
    VG_TEST(test_config_errors);
    VG_TEST(test_tls13);
    VG_TEST(test_tls13_bytewise);
    VG_TEST(test_tls12);
    VG_TEST(test_tls12_bytewise);
    VG_TEST(test_server_preference);
    VG_TEST(test_tls11_refused);
    VG_TEST(test_cbc_refused);
    VG_TEST(test_garbage);
    VG_TEST(test_data_with_finished);
    VG_TEST(test_shutdown);
    wolfSSL_Cleanup();
})
