/* test_server.c: the HTTP server's per-request body limit (http_server_set_body_limit) on a
 * real loop and real sockets: a path given a larger limit accepts bodies past
 * limits.max_body_bytes, one such upload is received at a time (a second one gets 503 at its
 * headers, before its body is read), the slot is released by the answer or by the client
 * going away, and a body over the raised limit is 413 naming its option. */
#include "vg_test.h"
#include "core/config.h"
#include "core/ctx.h"
#include "http/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define UPLOAD_LIMIT 8192 /* the limit of POST /upload; limits.max_body_bytes is 1024 */

typedef struct env {
    uv_loop_t loop;
    vg_ctx_t ctx;
    http_server_t *srv;
    int port;
    int requests; /* answered by the handler */
    int stopped;
} env_t;

/* Answers every request with its body length; errors the server made with their status. */
static void handler(void *app, http_request_t *req)
{
    env_t *e = app;
    char text[200];
    if (req->error_status) {
        snprintf(text, sizeof text, "%s", req->error_msg);
        http_respond(req, req->error_status, "text/plain", NULL, text, strlen(text));
        return;
    }
    e->requests++;
    snprintf(text, sizeof text, "%zu", req->body_len);
    http_respond(req, 200, "text/plain", NULL, text, strlen(text));
}

static size_t upload_limit(void *app, const char *method, const char *path,
                           const char **limit_name)
{
    (void)app;
    if (strcmp(method, "POST") != 0 || strcmp(path, "/upload") != 0) return 0;
    *limit_name = "deploy.max_bundle_bytes";
    return UPLOAD_LIMIT;
}

static void env_init(env_t *e)
{
    memset(e, 0, sizeof *e);
    vg_config_t cfg;
    char err[256];
    vg_config_defaults(&cfg);
    CHECK(vg_config_set(&cfg, "server.listen", "127.0.0.1:0", err, sizeof err) == 0);
    CHECK(vg_config_set(&cfg, "limits.max_body_bytes", "1024", err, sizeof err) == 0);
    CHECK(vg_config_set(&cfg, "log.level", "error", err, sizeof err) == 0);
    uv_loop_init(&e->loop);
    CHECK(vg_ctx_init(&e->ctx, &e->loop, &cfg) == 0);
    CHECK(http_server_create(&e->ctx, NULL, handler, e, &e->srv) == 0);
    http_server_set_body_limit(e->srv, upload_limit);
    CHECK(http_server_listen(e->srv, err, sizeof err) == 0);
    e->port = http_server_port(e->srv);
    CHECK(e->port > 0);
}

static void on_stopped(void *data)
{
    ((env_t *)data)->stopped = 1;
}

static void env_close(env_t *e)
{
    http_server_shutdown(e->srv, on_stopped, e);
    for (int i = 0; i < 500 && !e->stopped; i++)
        uv_run(&e->loop, UV_RUN_NOWAIT), usleep(2000);
    CHECK(e->stopped);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    http_server_destroy(e->srv);
    vg_ctx_close(&e->ctx);
    CHECK_EQ_INT(uv_loop_close(&e->loop), 0);
}

/* Runs the loop for about `ms` milliseconds. */
static void pump(env_t *e, int ms)
{
    for (int i = 0; i < ms; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* A client socket connected to the server (the kernel completes the handshake). */
static int client(env_t *e)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            CHECK(k > 0);
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

static void send_head(int fd, const char *path, size_t content_length)
{
    char head[200];
    int k = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                     path, content_length);
    send_all(fd, head, (size_t)k);
}

static void send_body(int fd, size_t n)
{
    char *b = malloc(n ? n : 1);
    memset(b, 'z', n);
    send_all(fd, b, n);
    free(b);
}

/* Reads one response (running the loop meanwhile) into `out`: "STATUS BODY". Returns the
 * status, or -1 when none arrived within 5 s. */
static int response(env_t *e, int fd, char *out, size_t outlen)
{
    char buf[4096];
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < 5000; i++) {
        uv_run(&e->loop, UV_RUN_NOWAIT);
        ssize_t k = recv(fd, buf + len, sizeof buf - 1 - len, MSG_DONTWAIT);
        if (k > 0) len += (size_t)k;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (end && cl) {
            size_t want = (size_t)strtoul(cl + 16, NULL, 10);
            if (len >= (size_t)(end + 4 - buf) + want) {
                int status = atoi(buf + 9);
                snprintf(out, outlen, "%d %.*s", status, (int)want, end + 4);
                return status;
            }
        }
        if (k == 0) break;
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
        usleep(1000);
    }
    return -1;
}

static void test_raised_limit_and_one_upload_at_a_time(void)
{
    env_t e;
    env_init(&e);
    char out[512];

    /* A: an upload of 4000 bytes (past limits.max_body_bytes), half sent */
    int a = client(&e);
    send_head(a, "/upload", 4000);
    send_body(a, 2000);
    pump(&e, 50);

    /* B: a second upload meanwhile is refused at its headers, its body never sent */
    int b = client(&e);
    send_head(b, "/upload", 3000);
    CHECK_EQ_INT(response(&e, b, out, sizeof out), 503);
    CHECK(strstr(out, "one at a time") != NULL);
    close(b);

    /* an ordinary request is not held up, and keeps the ordinary limit */
    int s = client(&e);
    send_head(s, "/other", 10);
    send_body(s, 10);
    CHECK_EQ_INT(response(&e, s, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 10");
    close(s);
    s = client(&e);
    send_head(s, "/other", 2000);
    CHECK_EQ_INT(response(&e, s, out, sizeof out), 413);
    CHECK(strstr(out, "limits.max_body_bytes (1024 bytes)") != NULL);
    close(s);

    /* A completes and is answered: 4000 bytes arrived whole */
    send_body(a, 2000);
    CHECK_EQ_INT(response(&e, a, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 4000");

    /* the slot is free again: C's upload goes through */
    int c = client(&e);
    send_head(c, "/upload", 3000);
    send_body(c, 3000);
    CHECK_EQ_INT(response(&e, c, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 3000");
    close(c);

    /* a keep-alive connection may upload again once its upload was answered */
    send_head(a, "/upload", 100);
    send_body(a, 100);
    CHECK_EQ_INT(response(&e, a, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 100");
    close(a);

    CHECK_EQ_INT(e.requests, 4);
    env_close(&e);
}

static void test_slot_released_when_the_client_leaves(void)
{
    env_t e;
    env_init(&e);
    char out[512];
    int d = client(&e);
    send_head(d, "/upload", 5000);
    send_body(d, 100);
    pump(&e, 50);
    int x = client(&e);
    send_head(x, "/upload", 10);
    CHECK_EQ_INT(response(&e, x, out, sizeof out), 503);
    close(x);
    close(d); /* gone mid-body */
    pump(&e, 50);
    int f = client(&e);
    send_head(f, "/upload", 10);
    send_body(f, 10);
    CHECK_EQ_INT(response(&e, f, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 10");
    close(f);
    env_close(&e);
}

static void test_over_the_raised_limit_413(void)
{
    env_t e;
    env_init(&e);
    char out[512];
    int g = client(&e);
    send_head(g, "/upload", UPLOAD_LIMIT + 1);
    CHECK_EQ_INT(response(&e, g, out, sizeof out), 413);
    CHECK(strstr(out, "deploy.max_bundle_bytes (8192 bytes)") != NULL);
    close(g);
    /* the refusal released the slot */
    pump(&e, 20);
    int h = client(&e);
    send_head(h, "/upload", UPLOAD_LIMIT);
    send_body(h, UPLOAD_LIMIT);
    CHECK_EQ_INT(response(&e, h, out, sizeof out), 200);
    CHECK_EQ_STR(out, "200 8192");
    close(h);
    env_close(&e);
}

VG_TEST_MAIN(VG_TEST(test_raised_limit_and_one_upload_at_a_time)
                 VG_TEST(test_slot_released_when_the_client_leaves)
                     VG_TEST(test_over_the_raised_limit_413))
