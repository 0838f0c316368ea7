/* test_wire.c: the driver protocol's framing (sdk/leda/wire.c): big-endian header, the 1 MiB
 * limit both ways, frames cut from bytes fed one at a time, bad lengths and bodies, a frame
 * larger than the socket buffer sent whole, and a send to a closed peer without SIGPIPE. */
#include "vg_test.h"
#include "wire.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Feeds a header for `n` followed by `body` (n bytes) into `r`. */
static void feed_frame(leda__wire_reader_t *r, const char *body, size_t n)
{
    unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    CHECK_EQ_INT(leda__wire_reader_feed(r, h, 4), 0);
    CHECK_EQ_INT(leda__wire_reader_feed(r, body, n), 0);
}

static void test_encode(void)
{
    json_t *obj = json_pack("{s:s}", "type", "hello");
    unsigned char *buf;
    size_t len;
    CHECK_EQ_INT(leda__wire_encode(obj, &buf, &len), 0);
    const char *want = "{\"type\":\"hello\"}";
    CHECK_EQ_INT(len, 4 + strlen(want));
    CHECK(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == strlen(want));
    CHECK(memcmp(buf + 4, want, strlen(want)) == 0);
    free(buf);
    json_decref(obj);
}

/* {"k":"xxx..."} whose compact text is exactly `n` bytes (n >= 9). */
static json_t *object_of_size(size_t n)
{
    char *s = malloc(n - 8 + 1);
    memset(s, 'x', n - 8);
    s[n - 8] = '\0';
    json_t *obj = json_pack("{s:s}", "k", s);
    free(s);
    return obj;
}

static void test_limits(void)
{
    unsigned char *buf;
    size_t len;
    json_t *max = object_of_size(LEDA__WIRE_MAX), *over = object_of_size(LEDA__WIRE_MAX + 1);
    CHECK_EQ_INT(leda__wire_encode(max, &buf, &len), 0);
    CHECK_EQ_INT(len, LEDA__WIRE_MAX + 4);

    leda__wire_reader_t r;
    json_t *out;
    leda__wire_reader_init(&r);
    CHECK_EQ_INT(leda__wire_reader_feed(&r, buf, len), 0);
    CHECK_EQ_INT(leda__wire_reader_next(&r, &out), LEDA__WIRE_FRAME);
    CHECK(json_equal(out, max));
    json_decref(out);
    CHECK_EQ_INT(leda__wire_reader_next(&r, &out), LEDA__WIRE_MORE);
    leda__wire_reader_free(&r);
    free(buf);

    CHECK_EQ_INT(leda__wire_encode(over, &buf, &len), LEDA__WIRE_TOO_LARGE);
    CHECK(buf == NULL);
    json_decref(max);
    json_decref(over);
}

static void test_bad_lengths(void)
{
    leda__wire_reader_t r;
    json_t *out;
    unsigned char zero[4] = {0, 0, 0, 0}, big[4] = {0, 0x10, 0, 1},
                  huge[4] = {0xff, 0xff, 0xff, 0xff};
    unsigned char *bad[] = {zero, big, huge};
    for (int i = 0; i < 3; i++) {
        leda__wire_reader_init(&r);
        CHECK_EQ_INT(leda__wire_reader_feed(&r, bad[i], 4), 0);
        CHECK_EQ_INT(leda__wire_reader_next(&r, &out), LEDA__WIRE_BAD_LEN);
        CHECK(out == NULL);
        leda__wire_reader_free(&r);
    }
}

static void test_bad_bodies_are_skipped(void)
{
    leda__wire_reader_t r;
    json_t *out;
    leda__wire_reader_init(&r);
    feed_frame(&r, "nope", 4);
    feed_frame(&r, "[1,2]", 5);
    feed_frame(&r, "{\"a\":1,\"a\":2}", 13); /* duplicate keys */
    feed_frame(&r, "{\"a\":\"\xff\"}", 9);   /* not UTF-8 */
    feed_frame(&r, "{\"ok\":true}", 11);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(leda__wire_reader_next(&r, &out), LEDA__WIRE_BAD_JSON);
        CHECK(out == NULL);
    }
    CHECK_EQ_INT(leda__wire_reader_next(&r, &out), LEDA__WIRE_FRAME);
    CHECK(json_is_true(json_object_get(out, "ok")));
    json_decref(out);
    leda__wire_reader_free(&r);
}

static void test_byte_by_byte(void)
{
    json_t *a = json_pack("{s:i}", "seq", 1), *b = json_pack("{s:s}", "type", "reply");
    unsigned char *ba, *bb;
    size_t la, lb;
    CHECK_EQ_INT(leda__wire_encode(a, &ba, &la), 0);
    CHECK_EQ_INT(leda__wire_encode(b, &bb, &lb), 0);
    leda__wire_reader_t r;
    json_t *out;
    int got = 0;
    leda__wire_reader_init(&r);
    for (size_t i = 0; i < la + lb; i++) {
        unsigned char byte = i < la ? ba[i] : bb[i - la];
        CHECK_EQ_INT(leda__wire_reader_feed(&r, &byte, 1), 0);
        int rc;
        while ((rc = leda__wire_reader_next(&r, &out)) == LEDA__WIRE_FRAME) {
            CHECK(json_equal(out, got == 0 ? a : b));
            CHECK_EQ_INT(i, got == 0 ? la - 1 : la + lb - 1);
            got++;
            json_decref(out);
        }
        CHECK_EQ_INT(rc, LEDA__WIRE_MORE);
    }
    CHECK_EQ_INT(got, 2);
    leda__wire_reader_free(&r);
    free(ba);
    free(bb);
    json_decref(a);
    json_decref(b);
}

static int reader_fd;

/* Reads one frame from reader_fd with a wire reader; returns it or NULL. */
static void *read_one(void *arg)
{
    (void)arg;
    leda__wire_reader_t r;
    json_t *out = NULL;
    unsigned char buf[4096];
    leda__wire_reader_init(&r);
    while (leda__wire_reader_next(&r, &out) == LEDA__WIRE_MORE) {
        ssize_t n = read(reader_fd, buf, sizeof buf);
        if (n <= 0) break;
        leda__wire_reader_feed(&r, buf, (size_t)n);
    }
    leda__wire_reader_free(&r);
    return out;
}

static void test_send_large_and_closed(void)
{
    int sv[2];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t t;
    void *got = NULL;
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    reader_fd = sv[1];
    json_t *big = object_of_size(LEDA__WIRE_MAX - 10);
    pthread_create(&t, NULL, read_one, NULL);
    CHECK_EQ_INT(leda__wire_send(sv[0], &mu, big), 0); /* far more than the socket buffer */
    pthread_join(t, &got);
    CHECK(got && json_equal(got, big));
    json_decref(got);
    json_decref(big);

    close(sv[1]); /* the peer is gone: an error, not SIGPIPE */
    json_t *small = json_pack("{s:i}", "a", 1);
    CHECK_EQ_INT(leda__wire_send(sv[0], &mu, small), LEDA__WIRE_ERROR);
    json_decref(small);
    close(sv[0]);
}

VG_TEST_MAIN(VG_TEST(test_encode) VG_TEST(test_limits) VG_TEST(test_bad_lengths)
                 VG_TEST(test_bad_bodies_are_skipped) VG_TEST(test_byte_by_byte)
                     VG_TEST(test_send_large_and_closed))
