/* test_parser.c: the incremental request parser: whole, byte by byte, pipelined, the header
 * and body limits, malformed input and keep-alive rules. */
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

VG_TEST_MAIN(VG_TEST(test_simple_and_bytewise) VG_TEST(test_pipelined) VG_TEST(test_limits)
                 VG_TEST(test_keepalive_rules))
