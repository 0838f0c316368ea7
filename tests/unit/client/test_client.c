/* test_client.c: unit tests of openapi/client: URL and fingerprint parsing, the response
 * parser on canned bytes (content-length, chunked, split reads, 1xx, close-delimited,
 * oversize, malformed), and round trips against a small blocking server thread on loopback
 * (wolfSSL with a certificate generated at test time, or plain): pin accepted and refused,
 * -k, CA file with names and addresses, the system bundle's hint, streamed bodies, timeouts
 * and the OpenAPI envelope. */
#include "vg_test.h"
#include "client/client.h"
#include "client/client_int.h"
#include "core/error.h"
#include "tls/tls.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- URLs and fingerprints ---- */

static void test_url(void)
{
    client_url_t u;
    char err[256];
    CHECK_EQ_INT(client_url_parse("https://127.0.0.1:9999", &u, err, sizeof err), 0);
    CHECK_EQ_INT(u.tls, 1);
    CHECK_EQ_STR(u.host, "127.0.0.1");
    CHECK_EQ_INT(u.ip, 4);
    CHECK_EQ_INT(u.port, 9999);
    CHECK_EQ_STR(u.base, "");
    CHECK_EQ_STR(u.authority, "127.0.0.1:9999");

    CHECK_EQ_INT(client_url_parse("http://localhost:8080/", &u, err, sizeof err), 0);
    CHECK_EQ_INT(u.tls, 0);
    CHECK_EQ_STR(u.host, "localhost");
    CHECK_EQ_INT(u.ip, 0);
    CHECK_EQ_INT(u.port, 8080);
    CHECK_EQ_STR(u.base, "");

    CHECK_EQ_INT(client_url_parse("HTTPS://[::1]:443/edge/api//", &u, err, sizeof err), 0);
    CHECK_EQ_INT(u.tls, 1);
    CHECK_EQ_STR(u.host, "::1");
    CHECK_EQ_INT(u.ip, 6);
    CHECK_EQ_INT(u.port, 443);
    CHECK_EQ_STR(u.base, "/edge/api");
    CHECK_EQ_STR(u.authority, "[::1]:443");

    CHECK_EQ_INT(client_url_parse("https://gw-01.example.com", &u, err, sizeof err), 0);
    CHECK_EQ_INT(u.port, CLIENT_DEFAULT_PORT);
    CHECK_EQ_STR(u.authority, "gw-01.example.com:9999");
    CHECK_EQ_INT(client_url_parse("https://[::1]", &u, err, sizeof err), 0);
    CHECK_EQ_INT(u.port, 9999);
    CHECK_EQ_INT(client_url_parse(CLIENT_DEFAULT_URL, &u, err, sizeof err), 0);

    static const struct {
        const char *url, *says;
    } bad[] = {
        {"", "empty"},
        {"127.0.0.1:9999", "expected https://"},
        {"ftp://127.0.0.1", "expected https://"},
        {"https://", "no host"},
        {"https://:9999", "no host"},
        {"https://127.0.0.1:", "port"},
        {"https://127.0.0.1:0", "port"},
        {"https://127.0.0.1:65536", "port"},
        {"https://127.0.0.1:99999999", "port"},
        {"https://127.0.0.1:9x", "port"},
        {"https://127.0.0.1:-1", "port"},
        {"https://[::1", "closing ']'"},
        {"https://[::1]x", "':PORT'"},
        {"https://[::g]:1", "IPv6"},
        {"https://[fe80::1%eth0]:1", "zone"},
        {"https://::1:9999", "brackets"},
        {"https://300.1.1.1", "IPv4"},
        {"https://admin:pw@127.0.0.1", "--user"},
        {"https://127.0.0.1:9999/?x=1", "query"},
        {"https://127.0.0.1:9999/a#frag", "query or fragment"},
        {"https://bad host", "not a valid name"},
        {"https://a..b", "not a valid name"},
        {"https://127.0.0.1/a b", "space"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&u, 0x5a, sizeof u);
        err[0] = '\0';
        int rc = client_url_parse(bad[i].url, &u, err, sizeof err);
        CHECK_EQ_INT(rc, VG_EINVAL);
        if (rc != VG_EINVAL || !strstr(err, bad[i].says) || !strstr(err, bad[i].url))
            fprintf(stderr, "  url \"%s\": rc %d, message \"%s\" (want \"%s\")\n", bad[i].url, rc,
                    err, bad[i].says);
        CHECK(strstr(err, bad[i].says) != NULL);
        CHECK(strstr(err, bad[i].url) != NULL); /* the message names what was typed */
        CHECK_EQ_INT(u.port, 0x5a5a5a5a);       /* nothing written on failure */
    }
}

static void test_fingerprint_parse(void)
{
    unsigned char fp[32], want[32];
    char err[256];
    for (int i = 0; i < 32; i++)
        want[i] = (unsigned char)(i * 8 + 7);
    char colon[96], hex[65], lower[96];
    for (int i = 0; i < 32; i++) {
        snprintf(colon + 3 * i, 4, i < 31 ? "%02X:" : "%02X", want[i]);
        snprintf(hex + 2 * i, 3, "%02X", want[i]);
        snprintf(lower + 3 * i, 4, i < 31 ? "%02x:" : "%02x", want[i]);
    }
    memset(fp, 0, sizeof fp);
    CHECK_EQ_INT(client_fingerprint_parse(colon, fp, err, sizeof err), 0);
    CHECK(memcmp(fp, want, 32) == 0);
    memset(fp, 0, sizeof fp);
    CHECK_EQ_INT(client_fingerprint_parse(hex, fp, err, sizeof err), 0);
    CHECK(memcmp(fp, want, 32) == 0);
    memset(fp, 0, sizeof fp);
    CHECK_EQ_INT(client_fingerprint_parse(lower, fp, err, sizeof err), 0);
    CHECK(memcmp(fp, want, 32) == 0);

    char bad[4][100];
    snprintf(bad[0], sizeof bad[0], "%.94s", colon); /* one digit short */
    snprintf(bad[1], sizeof bad[1], "%s", colon);
    bad[1][2] = '-'; /* wrong separator */
    snprintf(bad[2], sizeof bad[2], "%s", hex);
    bad[2][10] = 'g';                              /* not hex */
    snprintf(bad[3], sizeof bad[3], "%s:", colon); /* trailing colon */
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(client_fingerprint_parse(bad[i], fp, err, sizeof err), VG_EINVAL);
        CHECK(strstr(err, bad[i]) != NULL && strstr(err, "SHA-256") != NULL);
    }
    CHECK_EQ_INT(client_fingerprint_parse("", fp, err, sizeof err), VG_EINVAL);
}

static void test_loopback(void)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    static const struct {
        const char *addr;
        int loopback;
    } cases[] = {
        {"127.0.0.1", 1}, {"127.255.0.9", 1}, {"10.0.0.1", 0},         {"0.0.0.0", 0},
        {"::1", 1},       {"::", 0},          {"::ffff:127.0.0.1", 1}, {"::ffff:10.0.0.1", 0},
        {"fe80::1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sockaddr *sa;
        if (strchr(cases[i].addr, ':')) {
            CHECK_EQ_INT(inet_pton(AF_INET6, cases[i].addr, &a6.sin6_addr), 1);
            sa = (const struct sockaddr *)&a6;
        } else {
            CHECK_EQ_INT(inet_pton(AF_INET, cases[i].addr, &a4.sin_addr), 1);
            sa = (const struct sockaddr *)&a4;
        }
        if (client__loopback(sa) != cases[i].loopback)
            fprintf(stderr, "  loopback(%s) != %d\n", cases[i].addr, cases[i].loopback);
        CHECK_EQ_INT(client__loopback(sa), cases[i].loopback);
    }
}

/* ---- the response parser ---- */

/* Parses `raw` fed `step` bytes at a time (0: all at once), then EOF when `eof`. Returns the
 * last result. */
static int parse(const char *raw, size_t len, size_t step, int eof, size_t max_body,
                 client_response_t *r, char *msg, size_t msglen)
{
    client_parser_t p;
    client_parser_init(&p, r, max_body);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = step && len - off > step ? step : len - off;
        rc = client_parser_feed(&p, raw + off, n);
        off += n;
    }
    if (rc == 0 && eof) rc = client_parser_eof(&p);
    snprintf(msg, msglen, "%s", p.msg);
    return rc;
}

#define PARSE(raw, step, eof, max, r)                                                              \
    parse(raw, sizeof(raw) - 1, step, eof, max, r, msg, sizeof msg)

static void test_parse_content_length(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "X-Empty:\r\n"
                              "Set-Cookie: a=1\r\n"
                              "Set-Cookie: b=2\r\n"
                              "Content-Length: 27\r\n"
                              "\r\n"
                              "{\"code\":200,\"message\":\"ok\"}";
    char msg[256];
    static const size_t steps[] = {0, 1, 2, 3, 7, 64};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        client_response_t r;
        client_response_init(&r);
        CHECK_EQ_INT(PARSE(raw, steps[i], 0, 1024, &r), 1);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_INT(r.keep_alive, 1);
        CHECK_EQ_INT(r.nheaders, 5);
        CHECK_EQ_STR(client_response_header(&r, "content-type"), "application/json");
        CHECK_EQ_STR(client_response_header(&r, "X-EMPTY"), "");
        CHECK_EQ_STR(client_response_header(&r, "set-cookie"), "a=1");
        CHECK_EQ_STR(client_response_header(&r, "Content-Length"), "27");
        CHECK(client_response_header(&r, "Location") == NULL);
        CHECK_EQ_INT(r.body.len, 27);
        CHECK_EQ_STR(r.body.data, "{\"code\":200,\"message\":\"ok\"}");
        client_response_close(&r);
    }

    /* bytes after the response are not ours; a finished parser stays finished */
    client_response_t r;
    client_response_init(&r);
    client_parser_t p;
    client_parser_init(&p, &r, 100);
    static const char two[] = "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 500 Oops\r\n\r\n";
    CHECK_EQ_INT(client_parser_feed(&p, two, sizeof two - 1), 1);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_INT(r.body.len, 0);
    CHECK(r.body.data && r.body.data[0] == '\0');
    CHECK_EQ_INT(client_parser_feed(&p, "x", 1), 1);
    CHECK_EQ_INT(client_parser_eof(&p), 1);
    client_response_close(&r);

    /* Connection: close and HTTP/1.0 end the connection */
    static const char close1[] = "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n"
                                 "Content-Length: 2\r\n\r\n{}";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(close1, 0, 0, 100, &r), 1);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_INT(r.keep_alive, 0);
    client_response_close(&r);
    static const char http10[] = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(http10, 0, 0, 100, &r), 1);
    CHECK_EQ_INT(r.keep_alive, 0);
    client_response_close(&r);
}

static void test_parse_chunked(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "Content-Type: text/plain\r\n"
                              "\r\n"
                              "5\r\nhello\r\n"
                              "1;ext=1\r\n,\r\n"
                              "A\r\n 012345678\r\n"
                              "0\r\n"
                              "X-Trailer: t\r\n"
                              "\r\n";
    char msg[256];
    for (size_t step = 0; step < 12; step++) {
        client_response_t r;
        client_response_init(&r);
        CHECK_EQ_INT(PARSE(raw, step, 0, 1024, &r), 1);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body.data, "hello, 012345678");
        CHECK_EQ_INT(r.body.len, 16);
        CHECK_EQ_STR(client_response_header(&r, "Content-Type"), "text/plain");
        client_response_close(&r);
    }
    /* a body that ends with the connection */
    static const char eof_body[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc";
    client_response_t r;
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(eof_body, 1, 1, 100, &r), 1);
    CHECK_EQ_STR(r.body.data, "abc");
    CHECK_EQ_INT(r.keep_alive, 0);
    client_response_close(&r);

    /* 100 Continue (and a 103) before the answer are skipped with their headers */
    static const char interim[] = "HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n"
                                  "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
                                  "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig";
    for (size_t step = 0; step < 4; step++) {
        client_response_init(&r);
        CHECK_EQ_INT(PARSE(interim, step, 0, 100, &r), 1);
        CHECK_EQ_INT(r.status, 413);
        CHECK_EQ_INT(r.nheaders, 1);
        CHECK(client_response_header(&r, "X-A") == NULL);
        CHECK(client_response_header(&r, "Link") == NULL);
        CHECK_EQ_STR(r.body.data, "big");
        client_response_close(&r);
    }
}

static void test_parse_limits_and_errors(void)
{
    char msg[256];
    client_response_t r;

    /* a declared length over the limit is refused before any body byte */
    static const char big[] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(big, 0, 0, 10, &r), VG_ELIMIT);
    CHECK(strstr(msg, "11 bytes") != NULL && strstr(msg, "10 bytes") != NULL);
    client_response_close(&r);
    static const char exact[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(exact, 3, 0, 10, &r), 1);
    client_response_close(&r);
    /* chunks adding up past the limit, and a close-delimited body */
    static const char chunks[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(chunks, 0, 0, 10, &r), VG_ELIMIT);
    CHECK(r.body.len <= 10);
    client_response_close(&r);
    static const char eofbig[] = "HTTP/1.1 200 OK\r\n\r\n0123456789A";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(eofbig, 4, 1, 10, &r), VG_ELIMIT);
    client_response_close(&r);

    /* too many headers, headers too large */
    vg_buf_t b;
    vg_buf_init(&b);
    vg_buf_puts(&b, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 200; i++)
        vg_buf_printf(&b, "X-%d: v\r\n", i);
    vg_buf_puts(&b, "\r\n");
    client_response_init(&r);
    CHECK_EQ_INT(parse(b.data, b.len, 0, 0, 10, &r, msg, sizeof msg), VG_ELIMIT);
    CHECK(strstr(msg, "header") != NULL);
    client_response_close(&r);
    vg_buf_consume(&b, b.len);
    vg_buf_puts(&b, "HTTP/1.1 200 OK\r\nX-Long: ");
    for (int i = 0; i < 70000; i++)
        vg_buf_append(&b, "a", 1);
    client_response_init(&r);
    CHECK_EQ_INT(parse(b.data, b.len, 4096, 0, 10, &r, msg, sizeof msg), VG_ELIMIT);
    CHECK(r.headers.len <= 64 * 1024);
    client_response_close(&r);
    vg_buf_close(&b);

    /* malformed */
    static const char *malformed[] = {
        "garbage\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/9.9 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nq\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
        "HTTP/1.1 1 41\r\n\r\nbody", /* llhttp takes any number of digits */
        "HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        client_response_init(&r);
        client_parser_t p;
        client_parser_init(&p, &r, 100);
        int rc = client_parser_feed(&p, malformed[i], strlen(malformed[i]));
        if (rc != VG_EPROTO) fprintf(stderr, "  malformed #%zu: rc %d (%s)\n", i, rc, p.msg);
        CHECK_EQ_INT(rc, VG_EPROTO);
        CHECK(p.msg[0] != '\0');
        CHECK_EQ_INT(client_parser_feed(&p, "HTTP/1.1 200 OK\r\n\r\n", 19), VG_EPROTO);
        CHECK_EQ_INT(client_parser_eof(&p), VG_EPROTO);
        client_response_close(&r);
    }

    /* cut short, or nothing at all */
    static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(truncated, 0, 1, 100, &r), VG_ECLOSED);
    CHECK(strstr(msg, "before the response was complete") != NULL);
    client_response_close(&r);
    static const char half_head[] = "HTTP/1.1 200 OK\r\nContent-Le";
    client_response_init(&r);
    CHECK_EQ_INT(PARSE(half_head, 0, 1, 100, &r), VG_ECLOSED);
    client_response_close(&r);
    client_response_init(&r);
    CHECK_EQ_INT(parse("", 0, 0, 1, 100, &r, msg, sizeof msg), VG_ECLOSED);
    CHECK(strstr(msg, "without answering") != NULL);
    client_response_close(&r);
}

/* ---- a blocking server thread on loopback ---- */

typedef struct {
    char dir[64], cert[128], key[128];
    char fingerprint[96];
} certs_t;

/* Generates a certificate with the server's own code (data_dir/tls/cert.pem, key.pem). */
static int certs_make(certs_t *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/vg_client_XXXXXX");
    if (!mkdtemp(k->dir)) return -1;
    snprintf(k->cert, sizeof k->cert, "%s/tls/cert.pem", k->dir);
    snprintf(k->key, sizeof k->key, "%s/tls/key.pem", k->dir);
    vg_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    vg_config_defaults(&ctx.cfg);
    snprintf(ctx.cfg.data_dir, sizeof ctx.cfg.data_dir, "%s", k->dir);
    FILE *log = tmpfile();
    if (!log) return -1;
    vg_logger_init(&ctx.log, VG_LOG_ERROR, VG_LOG_FORMAT_HUMAN, log);
    tls_ctx_t *t = NULL;
    char err[512];
    int rc = tls_ctx_create(&ctx, &t, err, sizeof err);
    if (rc == 0) {
        snprintf(k->fingerprint, sizeof k->fingerprint, "%s", tls_ctx_fingerprint(t));
        tls_ctx_destroy(t);
    } else {
        fprintf(stderr, "  tls_ctx_create: %s\n", err);
    }
    fclose(log);
    return rc ? -1 : 0;
}

static void certs_remove(certs_t *k)
{
    char path[160];
    unlink(k->cert);
    unlink(k->key);
    snprintf(path, sizeof path, "%s/tls", k->dir);
    rmdir(path);
    rmdir(k->dir);
}

enum { SERVE_REPLY = 0, SERVE_SILENT, SERVE_EARLY, SERVE_GREET };

typedef struct {
    int fd;
    unsigned port;
    WOLFSSL_CTX *ctx; /* NULL: plain HTTP */
    int mode;
    const char *reply; /* the canned response, sent for every request */
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
    /* what it saw */
    int accepted, handshakes, requests;
    vg_buf_t last; /* the last request, head and body */
} server_t;

static int server_stopping(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static ssize_t conn_read(WOLFSSL *ssl, int fd, char *buf, size_t len)
{
    if (ssl) return wolfSSL_read(ssl, buf, (int)len);
    return recv(fd, buf, len, 0);
}

/* Serves requests on one connection until the client closes it. */
static void server_conn(server_t *s, int fd)
{
    WOLFSSL *ssl = NULL;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (s->ctx) {
        ssl = wolfSSL_new(s->ctx);
        wolfSSL_set_fd(ssl, fd);
        if (wolfSSL_accept(ssl) != WOLFSSL_SUCCESS) goto out;
        pthread_mutex_lock(&s->mu);
        s->handshakes++;
        pthread_mutex_unlock(&s->mu);
    }
    vg_buf_t in;
    vg_buf_init(&in);
    if (s->mode == SERVE_GREET) { /* talks first, whatever the client says */
        (void)send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL);
        char buf[256];
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
        goto done;
    }
    for (;;) {
        char *end;
        while (!(end = in.data ? strstr(in.data, "\r\n\r\n") : NULL)) {
            char buf[4096];
            ssize_t n = conn_read(ssl, fd, buf, sizeof buf);
            if (n <= 0) goto done;
            vg_buf_append(&in, buf, (size_t)n);
        }
        size_t head = (size_t)(end - in.data) + 4, body = 0;
        const char *cl = strcasestr(in.data, "\r\nContent-Length: ");
        if (cl && cl < end) body = strtoul(cl + 18, NULL, 10);
        if (s->mode == SERVE_EARLY) { /* answer from the head alone and hang up */
            pthread_mutex_lock(&s->mu);
            s->requests++;
            pthread_mutex_unlock(&s->mu);
            (void)send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL);
            goto done;
        }
        while (in.len < head + body) {
            char buf[65536];
            ssize_t n = conn_read(ssl, fd, buf, sizeof buf);
            if (n <= 0) goto done;
            vg_buf_append(&in, buf, (size_t)n);
        }
        pthread_mutex_lock(&s->mu);
        s->requests++;
        vg_buf_consume(&s->last, s->last.len);
        vg_buf_append(&s->last, in.data, head + body);
        pthread_mutex_unlock(&s->mu);
        vg_buf_consume(&in, head + body);
        if (s->mode == SERVE_SILENT) {
            char buf[256];
            while (conn_read(ssl, fd, buf, sizeof buf) > 0 && !server_stopping(s)) {
            }
            goto done;
        }
        size_t len = strlen(s->reply);
        if (ssl ? wolfSSL_write(ssl, s->reply, (int)len) != (int)len
                : send(fd, s->reply, len, MSG_NOSIGNAL) != (ssize_t)len)
            goto done;
        if (strstr(s->reply, "Connection: close")) goto done;
    }
done:
    vg_buf_close(&in);
out:
    if (ssl) {
        wolfSSL_shutdown(ssl);
        wolfSSL_free(ssl);
    }
    close(fd);
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    while (!server_stopping(s)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        pthread_mutex_lock(&s->mu);
        s->accepted++;
        pthread_mutex_unlock(&s->mu);
        server_conn(s, fd);
    }
    wc_ecc_fp_free(); /* wolfSSL's fixed-point ECC cache is per thread */
    return NULL;
}

/* Starts a server on `addr` (an IPv4 or IPv6 loopback literal) with TLS when `k` is given,
 * answering every request with `reply` (SERVE_REPLY) or never (SERVE_SILENT).
 * Returns 0, or -1 when `addr` cannot be bound here. */
static int server_start(server_t *s, const char *addr, const certs_t *k, const char *reply,
                        int mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    vg_buf_init(&s->last);
    s->reply = reply;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        sl = sizeof *a;
    }
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, sl) != 0 || listen(s->fd, 8) != 0) {
        if (s->fd >= 0) close(s->fd);
        return -1;
    }
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (k) {
        s->ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
        if (!s->ctx ||
            wolfSSL_CTX_use_certificate_file(s->ctx, k->cert, WOLFSSL_FILETYPE_PEM) !=
                WOLFSSL_SUCCESS ||
            wolfSSL_CTX_use_PrivateKey_file(s->ctx, k->key, WOLFSSL_FILETYPE_PEM) !=
                WOLFSSL_SUCCESS)
            abort();
    }
    if (pthread_create(&s->th, NULL, server_main, s) != 0) abort();
    return 0;
}

static void server_stop(server_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    close(s->fd);
    if (s->ctx) wolfSSL_CTX_free(s->ctx);
    vg_buf_close(&s->last);
    pthread_mutex_destroy(&s->mu);
}

/* A copy of what the server saw last (static buffer), and its counters. */
static const char *server_last(server_t *s, int *requests, int *handshakes)
{
    static char buf[1 << 20];
    pthread_mutex_lock(&s->mu);
    snprintf(buf, sizeof buf, "%s", s->last.data ? s->last.data : "");
    if (requests) *requests = s->requests;
    if (handshakes) *handshakes = s->handshakes;
    pthread_mutex_unlock(&s->mu);
    return buf;
}

static const char ok_reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 41\r\n\r\n"
                               "{\"code\":200,\"message\":\"success\",\"data\":7}";

static char url_buf[128];
static const char *url_of(const char *scheme, const char *host, unsigned port, const char *base)
{
    snprintf(url_buf, sizeof url_buf, "%s://%s:%u%s", scheme, host, port, base);
    return url_buf;
}

/* One POST of "hello" through a client made from `o`. Returns client_request's result. */
static int post_once(const client_opts_t *o, client_response_t *r, char *err, size_t errlen)
{
    client_t *c = NULL;
    int rc = client_create(o, &c, err, errlen);
    if (rc) return rc;
    client_request_t req = {
        .method = "POST",
        .path = "/system/info",
        .content_type = "application/json",
        .body = {.kind = CLIENT_BODY_MEMORY, .data = "hello", .length = 5},
    };
    rc = client_request(c, &req, r, err, errlen);
    client_destroy(c);
    return rc;
}

static certs_t certs;

static void test_insecure_round_trip(void)
{
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", &certs, ok_reply, SERVE_REPLY), 0);
    client_opts_t o = {.url = url_of("https", "127.0.0.1", s.port, "/base/"),
                       .trust = CLIENT_TRUST_INSECURE,
                       .user = "admin",
                       .password = "pw"};
    client_t *c = NULL;
    char err[512];
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), 0);
    if (!c) {
        server_stop(&s);
        return;
    }
    CHECK_EQ_STR(client_url(c), o.url);
    client_header_t extra[] = {{"X-Verge-Test", "1"}};
    client_request_t req = {
        .method = "POST",
        .path = "/system/info",
        .content_type = "application/json",
        .headers = extra,
        .nheaders = 1,
        .body = {.kind = CLIENT_BODY_MEMORY, .data = "{\"a\":1}", .length = 7},
    };
    for (int round = 0; round < 3; round++) {
        client_response_t r;
        client_response_init(&r);
        CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), 0);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body.data, "{\"code\":200,\"message\":\"success\",\"data\":7}");
        CHECK_EQ_STR(client_response_header(&r, "Content-Type"), "application/json");
        client_response_close(&r);
    }
    int requests = 0, handshakes = 0;
    const char *seen = server_last(&s, &requests, &handshakes);
    CHECK_EQ_INT(requests, 3);
    CHECK_EQ_INT(handshakes, 1); /* keep-alive: one connection for the three */
    CHECK(strncmp(seen, "POST /base/system/info HTTP/1.1\r\n", 33) == 0);
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%u\r\n", s.port);
    CHECK(strstr(seen, host) != NULL);
    CHECK(strstr(seen, "\r\nAuthorization: Basic YWRtaW46cHc=\r\n") != NULL); /* admin:pw */
    CHECK(strstr(seen, "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(seen, "\r\nContent-Length: 7\r\n") != NULL);
    CHECK(strstr(seen, "\r\nX-Verge-Test: 1\r\n") != NULL);
    CHECK(strstr(seen, "\r\n\r\n{\"a\":1}") != NULL);

    /* fields that would break the framing are refused before anything is sent */
    client_response_t r;
    client_response_init(&r);
    client_header_t evil[] = {{"X-A", "1\r\nX-Injected: 1"}};
    req.headers = evil;
    CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), VG_EINVAL);
    req.nheaders = 0;
    req.path = "no-slash";
    CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "no-slash") != NULL);
    client_response_close(&r);
    server_last(&s, &requests, NULL);
    CHECK_EQ_INT(requests, 3);
    client_destroy(c);
    server_stop(&s);

    /* a user name with ':' cannot be sent as Basic credentials */
    o.user = "ad:min";
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), VG_EINVAL);
    CHECK(c == NULL && strstr(err, "ad:min") != NULL);
}

static void test_fingerprint_pin(void)
{
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", &certs, ok_reply, SERVE_REPLY), 0);
    char err[512];
    client_response_t r;
    client_response_init(&r);
    client_opts_t o = {.url = url_of("https", "127.0.0.1", s.port, ""),
                       .trust = CLIENT_TRUST_PIN,
                       .fingerprint = certs.fingerprint,
                       .user = "admin",
                       .password = "secret-pw"};
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    CHECK_EQ_INT(r.status, 200);
    client_response_close(&r);

    /* the same pin as bare lower-case hex */
    char hex[65];
    size_t n = 0;
    for (const char *p = certs.fingerprint; *p && n < 64; p++)
        if (*p != ':') hex[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    hex[n] = '\0';
    o.fingerprint = hex;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    client_response_close(&r);
    int requests = 0, handshakes = 0;
    server_last(&s, &requests, &handshakes);
    CHECK_EQ_INT(requests, 2);

    /* another pin: refused after the handshake, before a byte of the request is sent */
    char wrong[96];
    snprintf(wrong, sizeof wrong, "%s", certs.fingerprint);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    o.fingerprint = wrong;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ETLS);
    CHECK(strstr(err, certs.fingerprint) != NULL);
    CHECK(strstr(err, wrong) != NULL);
    CHECK(strstr(err, o.url) != NULL);
    client_response_close(&r);
    for (int i = 0; i < 100; i++) { /* the server thread notices the close */
        server_last(&s, &requests, &handshakes);
        if (handshakes == 3) break;
        usleep(10000);
    }
    CHECK_EQ_INT(handshakes, 3);
    CHECK_EQ_INT(requests, 2);
    CHECK(strstr(server_last(&s, NULL, NULL), "secret-pw") == NULL);

    /* -k accepts it all the same */
    o.trust = CLIENT_TRUST_INSECURE;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    client_response_close(&r);

    /* a malformed pin is refused at creation */
    o.trust = CLIENT_TRUST_PIN;
    o.fingerprint = "AB:CD";
    client_t *c = NULL;
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), VG_EINVAL);
    CHECK(c == NULL && strstr(err, "AB:CD") != NULL);
    server_stop(&s);
}

static void test_cafile(void)
{
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", &certs, ok_reply, SERVE_REPLY), 0);
    char err[512];
    client_response_t r;
    client_opts_t o = {.url = url_of("https", "127.0.0.1", s.port, ""),
                       .trust = CLIENT_TRUST_CAFILE,
                       .cafile = certs.cert};
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    client_response_close(&r);
    /* by name: "localhost" is in the certificate (::1 may come first: it is refused, then
     * 127.0.0.1 answers) */
    o.url = url_of("https", "localhost", s.port, "");
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "  %s\n", err);
    client_response_close(&r);

    /* the system bundle does not know verge's self-signed certificate: the hint says what
     * to pass instead */
    o.trust = CLIENT_TRUST_SYSTEM;
    o.url = url_of("https", "127.0.0.1", s.port, "");
    client_response_init(&r);
    int rc = post_once(&o, &r, err, sizeof err);
    CHECK(rc == VG_ETLS || rc == VG_ENOENT);
    CHECK(strstr(err, "--cacert") && strstr(err, "--fingerprint") && strstr(err, "-k"));
    CHECK(strstr(err, CLIENT_SYSTEM_CA) != NULL);
    client_response_close(&r);
    int requests = 0;
    server_last(&s, &requests, NULL);
    CHECK_EQ_INT(requests, 2);

    /* a CA file that is missing or no certificate */
    client_t *c = NULL;
    o.trust = CLIENT_TRUST_CAFILE;
    o.cafile = "/nonexistent/verge/cert.pem";
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), VG_ENOENT);
    CHECK(c == NULL && strstr(err, "/nonexistent/verge/cert.pem") != NULL);
    char notcert[160];
    snprintf(notcert, sizeof notcert, "%s/notcert.pem", certs.dir);
    FILE *f = fopen(notcert, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    o.cafile = notcert;
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), VG_ETLS);
    CHECK(c == NULL && strstr(err, notcert) != NULL);
    unlink(notcert);
    server_stop(&s);

    /* an address the certificate does not list: 127.0.0.2 is loopback too */
    if (server_start(&s, "127.0.0.2", &certs, ok_reply, SERVE_REPLY) == 0) {
        o.url = url_of("https", "127.0.0.2", s.port, "");
        o.cafile = certs.cert;
        client_response_init(&r);
        CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ETLS);
        CHECK(strstr(err, "not valid for the address 127.0.0.2") != NULL);
        client_response_close(&r);
        server_last(&s, &requests, NULL);
        CHECK_EQ_INT(requests, 0);
        server_stop(&s);
    } else {
        fprintf(stderr, "  note: cannot bind 127.0.0.2; address mismatch not tested\n");
    }
    /* IPv6 loopback, where the host has it */
    if (server_start(&s, "::1", &certs, ok_reply, SERVE_REPLY) == 0) {
        o.url = url_of("https", "[::1]", s.port, "");
        client_response_init(&r);
        CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
        if (err[0]) fprintf(stderr, "  %s\n", err);
        client_response_close(&r);
        server_stop(&s);
    } else {
        fprintf(stderr, "  note: no IPv6 loopback here; [::1] not tested\n");
    }
}

/* ---- streamed bodies ---- */

typedef struct {
    uint64_t produced, limit;
    uint64_t last_sent, last_total;
    int calls, monotonic;
} stream_t;

static ssize_t stream_read(void *arg, char *buf, size_t cap)
{
    stream_t *st = arg;
    size_t n = 0;
    while (n < cap && st->produced < st->limit && n < 1000)
        buf[n++] = (char)('a' + st->produced++ % 26);
    return (ssize_t)n;
}

static void stream_progress(void *arg, uint64_t sent, uint64_t total)
{
    stream_t *st = arg;
    if (st->calls && sent < st->last_sent) st->monotonic = 0;
    st->last_sent = sent;
    st->last_total = total;
    st->calls++;
}

static void test_streamed_bodies(void)
{
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, ok_reply, SERVE_REPLY), 0);
    char err[512];
    client_opts_t o = {.url = url_of("http", "127.0.0.1", s.port, "")};
    client_t *c = NULL;
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), 0);
    if (!c) {
        server_stop(&s);
        return;
    }
    /* a callback body of 300 000 bytes, in pieces of at most 1000 */
    stream_t st = {.limit = 300000, .monotonic = 1};
    client_request_t req = {.method = "PUT", .path = "/upload"};
    req.body = (client_body_t){.kind = CLIENT_BODY_CALLBACK,
                               .length = 300000,
                               .read = stream_read,
                               .arg = &st,
                               .progress = stream_progress,
                               .progress_arg = &st};
    client_response_t r;
    client_response_init(&r);
    CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), 0);
    CHECK_EQ_INT(r.status, 200);
    client_response_close(&r);
    CHECK(st.calls > 2 && st.monotonic);
    CHECK_EQ_INT(st.last_sent, 300000);
    CHECK_EQ_INT(st.last_total, 300000);
    const char *seen = server_last(&s, NULL, NULL);
    CHECK(strncmp(seen, "PUT /upload HTTP/1.1\r\n", 22) == 0);
    CHECK(strstr(seen, "\r\nContent-Length: 300000\r\n") != NULL);
    const char *body = strstr(seen, "\r\n\r\n");
    CHECK(body && strlen(body + 4) == 300000);
    int same = body != NULL;
    for (size_t i = 0; same && i < 300000; i++)
        same = body[4 + i] == (char)('a' + i % 26);
    CHECK(same);

    /* a file descriptor body, 200 000 bytes of a temporary file */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    for (int i = 0; f && i < 200000; i++)
        fputc('0' + i % 10, f);
    if (f) {
        fflush(f);
        rewind(f);
        st = (stream_t){.monotonic = 1};
        req.body = (client_body_t){.kind = CLIENT_BODY_FD,
                                   .length = 200000,
                                   .fd = fileno(f),
                                   .progress = stream_progress,
                                   .progress_arg = &st};
        client_response_init(&r);
        CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), 0);
        client_response_close(&r);
        CHECK_EQ_INT(st.last_sent, 200000);
        seen = server_last(&s, NULL, NULL);
        body = strstr(seen, "\r\n\r\n");
        CHECK(body && strlen(body + 4) == 200000 && body[4] == '0' && body[4 + 199999] == '9');

        /* the file ends before the declared length: an error, and the connection is dropped */
        rewind(f);
        req.body.length = 200001;
        client_response_init(&r);
        CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), VG_EIO);
        CHECK(strstr(err, "200000 of its 200001 bytes") != NULL);
        client_response_close(&r);
        fclose(f);
    }
    /* and a memory body larger than one piece still arrives whole */
    static char big[150000];
    memset(big, 'z', sizeof big);
    req.body = (client_body_t){.kind = CLIENT_BODY_MEMORY, .data = big, .length = sizeof big};
    client_response_init(&r);
    CHECK_EQ_INT(client_request(c, &req, &r, err, sizeof err), 0);
    client_response_close(&r);
    body = strstr(server_last(&s, NULL, NULL), "\r\n\r\n");
    CHECK(body && strlen(body + 4) == sizeof big);
    client_destroy(c);
    int requests = 0;
    server_last(&s, &requests, NULL);
    CHECK_EQ_INT(requests, 3);
    server_stop(&s);
}

/* A server that refuses a body from its head (413) and closes while the body is still
 * coming: the client reports the answer, not its failed send. */
static void test_early_answer(void)
{
    static const char too_large[] =
        "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 64\r\n\r\n"
        "{\"code\":413,\"message\":\"request body exceeds limits\",\"data\":null}";
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, too_large, SERVE_EARLY), 0);
    char err[512];
    client_opts_t o = {.url = url_of("http", "127.0.0.1", s.port, "")};
    for (int round = 0; round < 5; round++) {
        client_t *c = NULL;
        CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), 0);
        if (!c) break;
        stream_t st = {.limit = 16u << 20, .monotonic = 1};
        client_request_t req = {.method = "POST", .path = "/deploy"};
        req.body = (client_body_t){
            .kind = CLIENT_BODY_CALLBACK, .length = 16u << 20, .read = stream_read, .arg = &st};
        client_response_t r;
        client_response_init(&r);
        int rc = client_request(c, &req, &r, err, sizeof err);
        if (rc) fprintf(stderr, "  round %d: %s\n", round, err);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(r.status, 413);
        CHECK(r.body.data && strstr(r.body.data, "exceeds limits") != NULL);
        CHECK(st.produced < st.limit); /* it stopped sending */
        client_response_close(&r);
        client_destroy(c);
    }
    server_stop(&s);
}

/* ---- failures ---- */

static void test_timeouts_and_refusals(void)
{
    char err[512];
    client_response_t r;
    /* a server that never answers: the read timeout fires */
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", &certs, ok_reply, SERVE_SILENT), 0);
    client_opts_t o = {.url = url_of("https", "127.0.0.1", s.port, ""),
                       .trust = CLIENT_TRUST_INSECURE,
                       .read_timeout_ms = 300};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ETIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(took >= 0.25 && took < 3.0);
    CHECK(strstr(err, "300 ms") != NULL);
    client_response_close(&r);
    server_stop(&s);

    /* a plain HTTP server behind an https:// URL: the handshake fails with a message, or
     * times out when the server waits for a request that never comes */
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, ok_reply, SERVE_GREET), 0);
    o.url = url_of("https", "127.0.0.1", s.port, "");
    o.read_timeout_ms = 0;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ETLS);
    CHECK(strstr(err, o.url) && strstr(err, "TLS handshake failed") &&
          strstr(err, "is it an https:// server?"));
    client_response_close(&r);
    server_stop(&s);
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, ok_reply, SERVE_REPLY), 0);
    o.url = url_of("https", "127.0.0.1", s.port, "");
    o.connect_timeout_ms = 300;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ETIMEOUT);
    CHECK(strstr(err, "no answer within 300 ms while setting up TLS") != NULL);
    client_response_close(&r);
    server_stop(&s);
    o.connect_timeout_ms = 0;

    /* nobody listening */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    o.url = url_of("https", "127.0.0.1", ntohs(a.sin_port), "");
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_EIO);
    CHECK(strstr(err, "cannot connect") && strstr(err, "refused") && strstr(err, "verge serve"));
    client_response_close(&r);

    /* a server that answers garbage */
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, "SMTP ready\r\n\r\n", SERVE_REPLY), 0);
    o.url = url_of("http", "127.0.0.1", s.port, "");
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_EPROTO);
    CHECK(strstr(err, "malformed HTTP response") != NULL);
    client_response_close(&r);
    server_stop(&s);

    /* a body over the limit */
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, ok_reply, SERVE_REPLY), 0);
    o.url = url_of("http", "127.0.0.1", s.port, "");
    o.max_body = 40;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), VG_ELIMIT);
    CHECK(strstr(err, "41 bytes") != NULL);
    client_response_close(&r);
    o.max_body = 41;
    client_response_init(&r);
    CHECK_EQ_INT(post_once(&o, &r, err, sizeof err), 0);
    client_response_close(&r);
    server_stop(&s);
}

/* ---- the envelope ---- */

static void test_call(void)
{
    static const char reply[] =
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 69\r\n\r\n"
        "{\"code\":404,\"message\":\"no function EdgeFC/x\",\"data\":{\"k\":[1,2,null]}}";
    server_t s;
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", &certs, reply, SERVE_REPLY), 0);
    client_opts_t o = {.url = url_of("https", "127.0.0.1", s.port, ""),
                       .trust = CLIENT_TRUST_PIN,
                       .fingerprint = certs.fingerprint,
                       .user = "admin",
                       .password = "pw"};
    client_t *c = NULL;
    char err[512];
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), 0);
    if (!c) {
        server_stop(&s);
        return;
    }
    json_t *params = json_pack("{s:s,s:s}", "serviceName", "EdgeFC", "functionName", "x");
    for (int id = 1; id <= 2; id++) {
        client_reply_t rep;
        CHECK_EQ_INT(client_call(c, "/function/invoke", params, &rep, err, sizeof err), 0);
        CHECK_EQ_INT(rep.status, 404);
        CHECK_EQ_INT(rep.code, 404);
        CHECK_EQ_STR(rep.message, "no function EdgeFC/x");
        CHECK(json_is_object(rep.data));
        CHECK_EQ_INT(json_array_size(json_object_get(rep.data, "k")), 3);
        client_reply_close(&rep);
        CHECK(rep.root == NULL);

        const char *seen = server_last(&s, NULL, NULL);
        CHECK(strncmp(seen, "POST /function/invoke HTTP/1.1\r\n", 32) == 0);
        const char *body = strstr(seen, "\r\n\r\n");
        json_t *env = body ? json_loads(body + 4, 0, NULL) : NULL;
        CHECK(env != NULL);
        CHECK_EQ_INT(json_integer_value(json_object_get(env, "id")), id);
        CHECK_EQ_STR(json_string_value(json_object_get(env, "version")), "1.0");
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(env, "request"), "apiVer")),
                     "0.6");
        CHECK(json_equal(json_object_get(env, "params"), params));
        CHECK_EQ_INT(json_object_size(env), 4);
        if (env) json_decref(env);
    }
    CHECK_EQ_INT(params->refcount, 1); /* borrowed, not kept */
    json_decref(params);
    /* NULL params send {} */
    client_reply_t rep;
    CHECK_EQ_INT(client_call(c, "/system/info", NULL, &rep, err, sizeof err), 0);
    client_reply_close(&rep);
    const char *body = strstr(server_last(&s, NULL, NULL), "\r\n\r\n");
    CHECK(body && strstr(body, "\"params\":{}") != NULL);
    client_destroy(c);
    server_stop(&s);

    /* a reply that is not an envelope */
    static const char html[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 12\r\n\r\n<html></html";
    CHECK_EQ_INT(server_start(&s, "127.0.0.1", NULL, html, SERVE_REPLY), 0);
    o.url = url_of("http", "127.0.0.1", s.port, "");
    o.trust = CLIENT_TRUST_SYSTEM;
    CHECK_EQ_INT(client_create(&o, &c, err, sizeof err), 0);
    if (c) {
        memset(&rep, 0x5a, sizeof rep);
        CHECK_EQ_INT(client_call(c, "/system/info", NULL, &rep, err, sizeof err), VG_EPROTO);
        CHECK(rep.root == NULL);
        CHECK(strstr(err, "HTTP 502") && strstr(err, "not a verge reply") && strstr(err, "<html>"));
        client_destroy(c);
    }
    server_stop(&s);
}

VG_TEST_MAIN({
    wolfSSL_Init();
    if (certs_make(&certs) != 0) {
        fprintf(stderr, "cannot generate a certificate\n");
        return 1;
    }
    VG_TEST(test_url);
    VG_TEST(test_fingerprint_parse);
    VG_TEST(test_loopback);
    VG_TEST(test_parse_content_length);
    VG_TEST(test_parse_chunked);
    VG_TEST(test_parse_limits_and_errors);
    VG_TEST(test_insecure_round_trip);
    VG_TEST(test_fingerprint_pin);
    VG_TEST(test_cafile);
    VG_TEST(test_streamed_bodies);
    VG_TEST(test_early_answer);
    VG_TEST(test_timeouts_and_refusals);
    VG_TEST(test_call);
    certs_remove(&certs);
    wolfSSL_Cleanup();
})
