/* test_json.c: the fast parser of driver frames against jansson, which it must mirror: the same
 * tree (values and key order) for everything it takes, nothing jansson refuses, jansson's own
 * errors for what it leaves; the same on 300,000 mutations of real frames; finding a member's
 * text (what a report's body is published from); and frames cut from a stream in any pieces,
 * read in place or buffered. */
#include "vg_test.h"

#include "core/error.h"
#include "drvhost/frame.h"
#include "drvhost/json.h"

#include <stdint.h>
#include <stdlib.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

/* 1 when both trees dump to the same text (values and key order) and are json_equal. */
static int same_tree(json_t *a, json_t *b)
{
    char *da = json_dumps(a, DUMP_FLAGS), *db = json_dumps(b, DUMP_FLAGS);
    int same = da && db && strcmp(da, db) == 0 && json_equal(a, b);
    free(da);
    free(db);
    return same;
}

/* Checks that the fast parser takes `text` and builds jansson's tree. */
static void check_fast(const char *text)
{
    json_t *want = json_loadb(text, strlen(text), JSON_REJECT_DUPLICATES, NULL);
    json_t *got = drvhost__json_fast(text, strlen(text));
    if (!want || !got || !same_tree(want, got)) {
        fprintf(stderr, "  fast parse differs for: %s\n", text);
        vg_test__failed_checks++;
    }
    json_decref(want);
    json_decref(got);
}

static void test_valid_same_tree(void)
{
    static const char *const texts[] = {
        "{}",
        "[]",
        " \t\r\n{ \"a\" : 1 , \"b\" : [ 1 , 2 ] } \n",
        ("{\"type\":\"signal\",\"method\":\"properties\",\"params\":{\"deviceCloudId\":\"a1_d\","
         "\"body\":{\"temperature\":{\"value\":24.5,\"time\":1796000000000},\"humidity\":"
         "{\"value\":43,\"time\":\"1796000000000\"}}}}"),
        "{\"z\":1,\"a\":2,\"m\":3,\"b\":4,\"y\":5,\"c\":6,\"x\":7,\"d\":8,\"w\":9,\"e\":10}",
        ("[0,-0,1,-1,123456789012345678,-123456789012345678,9223372036854775807,"
         "-9223372036854775808,1234567890123456789]"),
        ("[0.0,-0.0,1.5,-1.25,0.1,21.5,3.141592653589793,1e5,1E5,1e+5,1e-5,-2.5E-3,1.0e0,"
         "123456789012345678901234567890.5,0.000000000000000000000000000001]"),
        "[true,false,null,[true],{\"t\":false,\"n\":null}]",
        "[\"\",\"plain\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"]",
        ("[\"caf\xc3\xa9\",\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"\xed\x9f\xbf\",\"\xef\xbf\xbf\","
         "\"\xf4\x8f\xbf\xbf\",\"\x7f\"]"),
        "{\"k\\u0065y\":1,\"key2\":{\"\\n\":[]}}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", /* 32 levels */
        ("{\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n"
         "an escape after 300 bytes: decoded on the heap\"}"),
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        check_fast(texts[i]);
}

/* Texts jansson refuses: the fast parser must refuse them too, and drvhost_json_loadb must
 * answer with jansson's error. */
static void test_invalid_refused(void)
{
    static const char *const texts[] = {
        "",
        "   ",
        "1",
        "\"s\"",
        "true",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{\"b\":1,\"b\":1}}",
        "{} {}",
        "{}x",
        "[01]",
        "[-]",
        "[-01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[1e]",
        "[1e+]",
        "[0x10]",
        "[1.5.3]",
        "[9223372036854775808]",
        "[-9223372036854775809]",
        "[1e999]",
        "[-1e999]",
        "[NaN]",
        "[Infinity]",
        "[truex]",
        "[nul]",
        "[True]",
        "[\"a\nb\"]",
        "[\"a\tb\"]",
        "[\"\\x\"]",
        "[\"\\u12\"]",
        "[\"\\u12g4\"]",
        "[\"\\u0000\"]",
        "{\"\\u0000\":1}",
        "[\"\\ud800\"]",
        "[\"\\ud800x\"]",
        "[\"\\ud800\\u0041\"]",
        "[\"\\udc00\"]",
        "[\"\xc0\x80\"]",
        "[\"\xc1\xbf\"]",
        "[\"\xe0\x80\x80\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf0\x80\x80\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xf5\x80\x80\x80\"]",
        "[\"\x80\"]",
        "[\"\xc3\"]",
        "[\"\xe2\x82\"]",
        "[\"unterminated]",
        "\xef\xbb\xbf{}",
        "[1]/*c*/",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i];
        json_t *fast = drvhost__json_fast(t, strlen(t));
        json_error_t want, got;
        json_t *j = json_loadb(t, strlen(t), JSON_REJECT_DUPLICATES, &want);
        json_t *mine = drvhost_json_loadb(t, strlen(t), &got);
        if (fast || j || mine || strcmp(want.text, got.text) != 0) {
            fprintf(stderr, "  not refused alike: %s\n", t);
            vg_test__failed_checks++;
        }
        json_decref(fast);
        json_decref(j);
        json_decref(mine);
    }
    /* A NUL byte inside the text (json_loadb reads `len` bytes). */
    static const char nul[] = "{\"a\":\"x\0y\"}";
    CHECK(drvhost__json_fast(nul, sizeof nul - 1) == NULL);
    CHECK(drvhost_json_loadb(nul, sizeof nul - 1, NULL) == NULL);
}

/* What the fast parser leaves to jansson still comes back right. */
static void test_left_to_jansson(void)
{
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    deep[n++] = '1';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    CHECK(drvhost__json_fast(deep, n) == NULL); /* deeper than DRVHOST_JSON_FAST_DEPTH */
    json_t *v = drvhost_json_loadb(deep, n, NULL);
    CHECK(v != NULL);
    json_decref(v);
    const char *longnum = "[0.00000000000000000000000000000000000000000000000000000000000000001]";
    CHECK(drvhost__json_fast(longnum, strlen(longnum)) == NULL); /* over 63 bytes */
    json_t *want = json_loadb(longnum, strlen(longnum), 0, NULL);
    v = drvhost_json_loadb(longnum, strlen(longnum), NULL);
    CHECK(v && want && same_tree(v, want));
    json_decref(v);
    json_decref(want);
}

/* ---- mutations ------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Real frames and tricky texts, mutated byte by byte: whatever the fast parser takes, jansson
 * takes too, with the same tree; jansson's answer is what drvhost_json_loadb gives. */
static void test_mutations_agree(void)
{
    static const char *const seeds[] = {
        ("{\"type\":\"signal\",\"method\":\"properties\",\"params\":{\"deviceCloudId\":"
         "\"a1BenchSensor_dev3\",\"body\":{\"temperature\":{\"value\":24.5,\"time\":"
         "1796000000000},\"humidity\":{\"value\":43,\"time\":1796000000000},\"pad\":{\"value\":"
         "\"xxxxxxxx\",\"time\":1796000000000}}}}"),
        ("{\"type\":\"reply\",\"seq\":12,\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,"
         "\"message\":\"Ok\",\"params\":[1,2.5e-3,-0,true,false,null,\"\\u00e9\\ud83d\\ude00\"]}}"),
        "{\"type\":\"hello\",\"versions\":[1],\"functionId\":\"d\",\"token\":\"ab\",\"pid\":1}",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",{\"a\\\"b\":{\"c\":[[],{}]}},-12.5E+7]",
    };
    static const char interesting[] = "{}[]\",:\\u0123456789-+.eE tfnrl\x01\x7f\x80\xc3\xa9\xed"
                                      "\xf0\xff";
    char buf[512];
    int taken = 0, cases = 0;
    for (int iter = 0; iter < 300000; iter++) {
        const char *seed = seeds[rnd(sizeof seeds / sizeof seeds[0])];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)rnd(3);
        for (int e = 0; e < edits && n > 1; e++) {
            size_t at = rnd((uint32_t)n);
            char c = interesting[rnd(sizeof interesting - 1)];
            switch (rnd(4)) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                }
                break;
            case 2: /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default: /* cut */
                n = at + 1;
                break;
            }
        }
        cases++;
        json_t *fast = drvhost__json_fast(buf, n);
        json_t *want = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
        if (fast) {
            taken++;
            if (!want || !same_tree(fast, want)) {
                fprintf(stderr, "  fast parse took what jansson %s: %.*s\n",
                        want ? "reads otherwise" : "refuses", (int)n, buf);
                vg_test__failed_checks++;
                json_decref(fast);
                json_decref(want);
                return;
            }
        }
        json_t *mine = drvhost_json_loadb(buf, n, NULL);
        if (!mine != !want || (mine && !same_tree(mine, want))) {
            fprintf(stderr, "  drvhost_json_loadb differs from jansson: %.*s\n", (int)n, buf);
            vg_test__failed_checks++;
        }
        json_decref(fast);
        json_decref(want);
        json_decref(mine);
    }
    /* not vacuous: many mutations stay valid JSON and take the fast path */
    CHECK(taken > cases / 20);
}

/* Reals take a shortcut when they have at most 15 digits and no exponent: the same double as
 * strtod's, bit for bit, on 200,000 random ones of every length around that bound. */
static void test_reals_exact(void)
{
    char text[64];
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = 0;
        text[n++] = '[';
        if (rnd(2)) text[n++] = '-';
        size_t digits = 2 + rnd(17), point = 1 + rnd((uint32_t)digits - 1);
        for (size_t i = 0; i < digits; i++) {
            if (i == point) text[n++] = '.';
            text[n++] = (char)('0' + (i == 0 && point > 1 ? 1 + rnd(9) : rnd(10)));
        }
        text[n++] = ']';
        text[n] = '\0';
        json_t *want = json_loadb(text, n, 0, NULL);
        json_t *got = drvhost__json_fast(text, n);
        double a = json_real_value(json_array_get(want, 0));
        double b = json_real_value(json_array_get(got, 0));
        if (!want || !got || memcmp(&a, &b, sizeof a) != 0) {
            fprintf(stderr, "  %s: jansson %.17g, fast %.17g\n", text, a, b);
            vg_test__failed_checks++;
            iter = 200000;
        }
        json_decref(want);
        json_decref(got);
    }
}

/* ---- member text ---------------------------------------------------------------------- */

static void test_find(void)
{
    static const char *const body_path[] = {"params", "body", NULL};
    static const char *const type_path[] = {"type", NULL};
    const char *v;
    size_t n;
    const char *f =
        " { \"type\" : \"signal\" , \"method\":\"properties\",\"params\": {\"x\":"
        "[1,{\"body\":0}],\"s\":\"}]\\\"\\\\\",\"body\" :  {\"a\":{\"v\":[1,\"]\"]}} }}";
    CHECK_EQ_INT(drvhost_json_find(f, strlen(f), body_path, &v, &n), 1);
    CHECK(n == strlen("{\"a\":{\"v\":[1,\"]\"]}}") &&
          memcmp(v, "{\"a\":{\"v\":[1,\"]\"]}}", n) == 0);
    CHECK_EQ_INT(drvhost_json_find(f, strlen(f), type_path, &v, &n), 1);
    CHECK(n == 8 && memcmp(v, "\"signal\"", 8) == 0);

    const char *scalar = "{\"params\":{\"body\":-12.5e3}}";
    CHECK_EQ_INT(drvhost_json_find(scalar, strlen(scalar), body_path, &v, &n), 1);
    CHECK(n == 7 && memcmp(v, "-12.5e3", 7) == 0);

    /* not found: missing, a key spelt with escapes, a level that is not an object */
    const char *missing = "{\"params\":{\"bodies\":1}}";
    const char *escaped = "{\"params\":{\"bo\\u0064y\":{}}}";
    const char *notobj = "{\"params\":[{\"body\":{}}]}";
    const char *top = "[{\"params\":{\"body\":{}}}]";
    CHECK_EQ_INT(drvhost_json_find(missing, strlen(missing), body_path, &v, &n), 0);
    CHECK_EQ_INT(drvhost_json_find(escaped, strlen(escaped), body_path, &v, &n), 0);
    CHECK_EQ_INT(drvhost_json_find(notobj, strlen(notobj), body_path, &v, &n), 0);
    CHECK_EQ_INT(drvhost_json_find(top, strlen(top), body_path, &v, &n), 0);

    /* every prefix of a frame, in a buffer of exactly that size: never outside the text */
    size_t len = strlen(f);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, f, cut);
        int found = drvhost_json_find(copy, cut, body_path, &v, &n);
        CHECK(!found || (v >= copy && v + n <= copy + cut));
        free(copy);
    }
}

/* ---- frames ------------------------------------------------------------------------------ */

typedef struct frames {
    char got[64][96];
    int n;
    int stop_at; /* return 1 for this frame number (counting from 1), 0: never */
} frames_t;

static int on_frame(void *data, const char *frame, size_t len)
{
    frames_t *f = data;
    if (f->n < 64 && len < sizeof f->got[0]) {
        memcpy(f->got[f->n], frame, len);
        f->got[f->n][len] = '\0';
    }
    f->n++;
    return f->n == f->stop_at;
}

static size_t put_frame(char *out, const char *json)
{
    size_t n = strlen(json);
    out[0] = 0;
    out[1] = 0;
    out[2] = (char)(n >> 8);
    out[3] = (char)n;
    memcpy(out + 4, json, n);
    return n + 4;
}

static void test_frames_in_pieces(void)
{
    char stream[2048];
    size_t len = 0;
    char json[16][40];
    for (int i = 0; i < 16; i++) {
        snprintf(json[i], sizeof json[i], "{\"type\":\"signal\",\"method\":\"m%d\"}", i);
        len += put_frame(stream + len, json[i]);
    }
    for (size_t step = 1; step <= len; step = step < 8 ? step + 1 : step * 2) {
        drvhost_frame_reader_t r;
        drvhost_frame_reader_init(&r, 1024);
        frames_t f;
        memset(&f, 0, sizeof f);
        char err[160];
        for (size_t off = 0; off < len; off += step) {
            size_t n = off + step < len ? step : len - off;
            CHECK_EQ_INT(drvhost_frame_feed(&r, stream + off, n, on_frame, &f, err, sizeof err), 0);
        }
        CHECK_EQ_INT(f.n, 16);
        for (int i = 0; i < 16 && i < f.n; i++)
            CHECK_EQ_STR(f.got[i], json[i]);
        CHECK_EQ_INT(r.buf.len, 0);
        drvhost_frame_reader_close(&r);
    }

    /* A callback that stops: the frames after it stay buffered and come with the next feed. */
    drvhost_frame_reader_t r;
    drvhost_frame_reader_init(&r, 1024);
    frames_t f;
    memset(&f, 0, sizeof f);
    f.stop_at = 3;
    char err[160];
    CHECK_EQ_INT(drvhost_frame_feed(&r, stream, len - 5, on_frame, &f, err, sizeof err), 1);
    CHECK_EQ_INT(f.n, 3);
    f.stop_at = 0;
    CHECK_EQ_INT(drvhost_frame_feed(&r, "", 0, on_frame, &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.n, 15); /* the last one is 5 bytes short */
    CHECK_EQ_INT(drvhost_frame_feed(&r, stream + len - 5, 5, on_frame, &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.n, 16);
    CHECK_EQ_STR(f.got[15], json[15]);
    drvhost_frame_reader_close(&r);

    /* A bad length, read in place or buffered. */
    static const char zero[] = {0, 0, 0, 0, '{', '}'};
    for (int buffered = 0; buffered < 2; buffered++) {
        drvhost_frame_reader_init(&r, 1024);
        memset(&f, 0, sizeof f);
        if (buffered)
            CHECK_EQ_INT(drvhost_frame_feed(&r, zero, 2, on_frame, &f, err, sizeof err), 0);
        CHECK_EQ_INT(drvhost_frame_feed(&r, zero + 2 * buffered, sizeof zero - 2 * (size_t)buffered,
                                        on_frame, &f, err, sizeof err),
                     VG_EPROTO);
        CHECK(strstr(err, "frame length 0") != NULL);
        CHECK_EQ_INT(f.n, 0);
        drvhost_frame_reader_close(&r);
    }
}

static void test_msg_keeps_text(void)
{
    const char *t = "{\"type\":\"signal\",\"method\":\"properties\",\"params\":{\"body\":{}}}";
    drvhost_msg_t m;
    char err[256];
    CHECK_EQ_INT(drvhost_msg_parse(t, strlen(t), &m, err, sizeof err), 0);
    CHECK(m.text == t && m.len == strlen(t));
    CHECK_EQ_STR(m.method, "properties");
    drvhost_msg_close(&m);
    const char *dup = "{\"type\":\"signal\",\"type\":\"call\"}";
    CHECK_EQ_INT(drvhost_msg_parse(dup, strlen(dup), &m, err, sizeof err), VG_EPROTO);
    CHECK(strstr(err, "duplicate object key") != NULL);
}

VG_TEST_MAIN(VG_TEST(test_valid_same_tree) VG_TEST(test_invalid_refused)
                 VG_TEST(test_left_to_jansson) VG_TEST(test_mutations_agree)
                     VG_TEST(test_reals_exact) VG_TEST(test_find) VG_TEST(test_frames_in_pieces)
                         VG_TEST(test_msg_keeps_text))
