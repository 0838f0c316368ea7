/* test_parser.c: the incremental request parser: whole, byte by byte, pipelined, the header
 * and body limits, malformed input, keep-alive rules, and the body hook that chooses a
 * request's body limit (or refuses it) once its headers are complete. */
#include "http/parser.h"
#include "vg_test.h"

static const http_parser_limits_t lim = {256, 8, 64};

/* Feeds `s` in pieces of `step` bytes until a request or an error. Returns the result and
 * the bytes consumed in total. */
static http_parse_result_t feed_all(http_parser_t *p, const char *s, size_t step, size_t *total)
{
    size_t len = strlen(s), off = 0;
    *total = 0;
    while (off < len) {
        size_t n = off + step < len ? step : len - off, used = 0;
        http_parse_result_t r = http_parser_feed(p, s + off, n, &used);
        off += used;
        *total = off;
        if (r != HTTP_PARSE_MORE) return r;
    }
    return HTTP_PARSE_MORE;
}

static void test_simple_and_bytewise(void)
{
    const char *req = "POST /auth/login?x=1 HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nContent-Length: "
                      "2\r\n\r\n{}";
    for (size_t step = 1; step <= 64; step *= 4) {
        http_parser_t p;
        http_parser_init(&p, &lim);
        size_t used;
        CHECK_EQ_INT(feed_all(&p, req, step, &used), HTTP_PARSE_REQUEST);
        CHECK_EQ_INT(used, strlen(req));
        http_parsed_t r;
        http_parser_take(&p, &r);
        CHECK_EQ_STR(r.method, "POST");
        CHECK_EQ_STR(r.path, "/auth/login");
        CHECK_EQ_STR(r.query, "x=1");
        CHECK_EQ_INT(r.nheaders, 3);
        CHECK_EQ_STR(r.headers[1].name, "X-Empty");
        CHECK_EQ_STR(r.headers[1].value, "");
        CHECK_EQ_STR(r.headers[2].value, "2");
        CHECK_EQ_INT(r.body.len, 2);
        CHECK_EQ_INT(r.keep_alive, 1);
        http_parsed_close(&r);
        http_parser_close(&p);
    }
}

static void test_pipelined(void)
{
    const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    http_parser_t p;
    http_parser_init(&p, &lim);
    size_t used;
    CHECK_EQ_INT(http_parser_feed(&p, two, strlen(two), &used), HTTP_PARSE_REQUEST);
    http_parsed_t r;
    http_parser_take(&p, &r);
    CHECK_EQ_STR(r.path, "/a");
    CHECK_EQ_STR(r.query, "");
    http_parsed_close(&r);
    http_parser_next(&p);
    size_t used2;
    CHECK_EQ_INT(http_parser_feed(&p, two + used, strlen(two) - used, &used2),
                 HTTP_PARSE_REQUEST);
    CHECK_EQ_INT(used + used2, strlen(two));
    http_parser_take(&p, &r);
    CHECK_EQ_STR(r.path, "/b");
    http_parsed_close(&r);
    http_parser_close(&p);
}

static void expect_error(const char *req, int status)
{
    http_parser_t p;
    http_parser_init(&p, &lim);
    size_t used;
    CHECK_EQ_INT(feed_all(&p, req, 7, &used), HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, status);
    CHECK(p.error_msg[0] != '\0');
    http_parser_close(&p);
}

static void test_limits(void)
{
    char big[600];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nX: %0400d\r\n\r\n", 0);
    expect_error(big, 431);
    expect_error("GET / HTTP/1.1\r\na:1\r\nb:1\r\nc:1\r\nd:1\r\ne:1\r\nf:1\r\ng:1\r\nh:1\r\ni:1\r\n\r\n",
                 431);
    expect_error("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413);
    expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n"
                 "01234567890123456789012345678901234567890123456789012345678901234\r\n0\r\n\r\n",
                 413);
    expect_error("GARBAGE\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400);
}

static void test_keepalive_rules(void)
{
    http_parser_t p;
    http_parser_init(&p, &lim);
    size_t used;
    CHECK_EQ_INT(feed_all(&p, "GET / HTTP/1.0\r\n\r\n", 100, &used), HTTP_PARSE_REQUEST);
    http_parsed_t r;
    http_parser_take(&p, &r);
    CHECK_EQ_INT(r.keep_alive, 0);
    http_parsed_close(&r);
    http_parser_close(&p);

    http_parser_init(&p, &lim);
    CHECK_EQ_INT(feed_all(&p, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
                          100, &used),
                 HTTP_PARSE_MORE);
    CHECK_EQ_INT(p.expect_continue, 1);
    CHECK_EQ_INT(http_parser_phase(&p), 2);
    http_parser_close(&p);
}

/* ---- the body hook: a per-request limit chosen once the headers are complete ---- */

typedef struct hook_seen {
    int calls;
    char method[16], path[64];
    int refuse; /* answer 503 instead of a limit */
} hook_seen_t;

/* Gives POST /upload a 100-byte limit named "deploy.max_bundle_bytes" (the default is 64). */
static void upload_hook(void *arg, const char *method, const char *path, http_body_decision_t *d)
{
    hook_seen_t *h = arg;
    h->calls++;
    snprintf(h->method, sizeof h->method, "%s", method);
    snprintf(h->path, sizeof h->path, "%s", path);
    CHECK_EQ_INT(d->limit, 64);
    CHECK_EQ_STR(d->limit_name, "limits.max_body_bytes");
    if (strcmp(method, "POST") != 0 || strcmp(path, "/upload") != 0) return;
    if (h->refuse) {
        d->refuse_status = 503;
        d->refuse_msg = "busy: one upload at a time";
        return;
    }
    d->limit = 100;
    d->limit_name = "deploy.max_bundle_bytes";
}

/* "POST PATH HTTP/1.1" with a Content-Length body of `n` bytes of 'x'. */
static void post_with_body(char *out, size_t outlen, const char *path, size_t n)
{
    int k = snprintf(out, outlen, "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n",
                     path, n);
    CHECK(k > 0 && (size_t)k + n < outlen);
    memset(out + k, 'x', n);
    out[(size_t)k + n] = '\0';
}

static http_parse_result_t hooked(hook_seen_t *h, const char *req, http_parser_t *p)
{
    size_t used;
    http_parser_init(p, &lim);
    http_parser_set_body_hook(p, upload_hook, h);
    return feed_all(p, req, 13, &used);
}

static void test_body_hook_raises_the_limit_for_one_path(void)
{
    char req[512];
    hook_seen_t h = {0};
    http_parser_t p;
    /* 80 bytes: over the default 64, within the 100 the hook gives /upload */
    post_with_body(req, sizeof req, "/upload?v=2", 80);
    CHECK_EQ_INT(hooked(&h, req, &p), HTTP_PARSE_REQUEST);
    CHECK_EQ_INT(h.calls, 1);
    CHECK_EQ_STR(h.method, "POST");
    CHECK_EQ_STR(h.path, "/upload"); /* the query is hidden from the hook... */
    http_parsed_t r;
    http_parser_take(&p, &r);
    CHECK_EQ_STR(r.path, "/upload");
    CHECK_EQ_STR(r.query, "v=2"); /* ...and there again afterwards */
    CHECK_EQ_INT(r.body.len, 80);
    http_parsed_close(&r);
    http_parser_close(&p);

    /* the same body elsewhere keeps the default limit and its name */
    post_with_body(req, sizeof req, "/other", 80);
    CHECK_EQ_INT(hooked(&h, req, &p), HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 413);
    CHECK(strstr(p.error_msg, "limits.max_body_bytes (64 bytes)") != NULL);
    http_parser_close(&p);

    /* a Content-Length over the raised limit: 413 at the headers, naming the option */
    CHECK_EQ_INT(hooked(&h, "POST /upload HTTP/1.1\r\nContent-Length: 101\r\n\r\n", &p),
                 HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 413);
    CHECK(strstr(p.error_msg, "deploy.max_bundle_bytes (100 bytes)") != NULL);
    http_parser_close(&p);

    /* a chunked body is counted as it arrives: 70 + 40 > 100 */
    char chunked[512];
    snprintf(chunked, sizeof chunked,
             "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n46\r\n%070d\r\n"
             "28\r\n%040d\r\n0\r\n\r\n",
             0, 0);
    CHECK_EQ_INT(hooked(&h, chunked, &p), HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 413);
    CHECK(strstr(p.error_msg, "deploy.max_bundle_bytes") != NULL);
    http_parser_close(&p);
}

static void test_body_hook_limit_is_per_request(void)
{
    /* pipelined: an 80-byte upload, then 80 bytes to another path, which is refused */
    char a[256], b[256], both[512];
    post_with_body(a, sizeof a, "/upload", 80);
    post_with_body(b, sizeof b, "/other", 80);
    snprintf(both, sizeof both, "%s%s", a, b);
    hook_seen_t h = {0};
    http_parser_t p;
    http_parser_init(&p, &lim);
    http_parser_set_body_hook(&p, upload_hook, &h);
    size_t used, used2;
    CHECK_EQ_INT(http_parser_feed(&p, both, strlen(both), &used), HTTP_PARSE_REQUEST);
    CHECK_EQ_INT(used, strlen(a));
    http_parsed_t r;
    http_parser_take(&p, &r);
    CHECK_EQ_INT(r.body.len, 80);
    http_parsed_close(&r);
    http_parser_next(&p);
    CHECK_EQ_INT(http_parser_feed(&p, both + used, strlen(both) - used, &used2),
                 HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 413);
    CHECK_EQ_INT(h.calls, 2);
    CHECK_EQ_STR(h.path, "/other");
    http_parser_close(&p);

    /* without a hook the default applies to /upload too */
    http_parser_init(&p, &lim);
    CHECK_EQ_INT(feed_all(&p, a, 5, &used), HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 413);
    http_parser_close(&p);
}

static void test_body_hook_refuses_before_the_body(void)
{
    hook_seen_t h = {.refuse = 1};
    http_parser_t p;
    /* the headers alone are enough for the refusal: no body byte was sent */
    CHECK_EQ_INT(hooked(&h, "POST /upload HTTP/1.1\r\nContent-Length: 50\r\n\r\n", &p),
                 HTTP_PARSE_ERROR);
    CHECK_EQ_INT(p.error_status, 503);
    CHECK_EQ_STR(p.error_msg, "busy: one upload at a time");
    CHECK_EQ_INT(p.cur.body.len, 0);
    http_parser_close(&p);
    /* other paths are not refused */
    h.calls = 0;
    CHECK_EQ_INT(hooked(&h, "POST /other HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", &p),
                 HTTP_PARSE_REQUEST);
    CHECK_EQ_INT(h.calls, 1);
    http_parser_close(&p);
}

VG_TEST_MAIN(VG_TEST(test_simple_and_bytewise) VG_TEST(test_pipelined) VG_TEST(test_limits)
                 VG_TEST(test_keepalive_rules) VG_TEST(test_body_hook_raises_the_limit_for_one_path)
                     VG_TEST(test_body_hook_limit_is_per_request)
                         VG_TEST(test_body_hook_refuses_before_the_body))
