/* test_frame.c: property report frames written without a tree (leda__report_properties_frame)
 * against json_dumps of the tree the SDK builds otherwise, byte for byte: every scalar type,
 * numbers jansson writes in each of its forms (integers, reals with '.', 'e' and the ".0" it
 * adds), every ASCII byte in keys, values and the device id; and the cases the fast path
 * leaves to the tree. */
#include "convert.h"
#include "leda.h"
#include "vg_test.h"
#include "wire.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MS INT64_C(1733300000123)

/* The frame as leda.c sends it through the tree: header and json_dumps of the frame object. */
static unsigned char *tree_frame(const char *id, const leda_device_data_t *d, int n, size_t *len)
{
    json_t *body = leda__report_properties_json(d, n, T_MS);
    if (!body) return NULL;
    json_t *f = json_pack("{s:s, s:s, s:{s:s, s:o}}", "type", "signal", "method", "properties",
                          "params", "deviceCloudId", id, "body", body);
    unsigned char *out = NULL;
    if (f && leda__wire_encode(f, &out, len) != 0) out = NULL;
    json_decref(f);
    return out;
}

/* Checks that the fast frame of d[n] exists and equals the tree's. */
static void check_same(const char *id, const leda_device_data_t *d, int n)
{
    size_t tlen = 0;
    unsigned char *want = tree_frame(id, d, n, &tlen);
    leda__bytes_t got = {0};
    CHECK(want != NULL);
    CHECK_EQ_INT(leda__report_properties_frame(&got, id, d, n, T_MS), 1);
    CHECK_EQ_INT(got.len, tlen);
    int same = want && got.len == tlen && memcmp(got.data, want, tlen) == 0;
    CHECK(same);
    if (want && got.len == tlen && !same) {
        fprintf(stderr, "  want %.*s\n  got  %.*s\n", (int)tlen - 4, (const char *)want + 4,
                (int)got.len - 4, (const char *)got.data + 4);
    }
    free(want);
    free(got.data);
}

static leda_device_data_t entry(leda_data_type_e type, const char *key, const char *value)
{
    leda_device_data_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    snprintf(e.key, sizeof e.key, "%s", key);
    snprintf(e.value, sizeof e.value, "%s", value);
    return e;
}

static void test_bench_report(void)
{
    leda_device_data_t d[3] = {entry(LEDA_TYPE_FLOAT, "temperature", "21.5"),
                               entry(LEDA_TYPE_INT, "humidity", "40"),
                               entry(LEDA_TYPE_TEXT, "pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")};
    check_same("a1BenchSensor_dev0", d, 3);
    size_t tlen;
    unsigned char *want = tree_frame("id", d, 1, &tlen);
    CHECK(want &&
          memcmp(want + 4,
                 "{\"type\":\"signal\",\"method\":\"properties\",\"params\":{\"deviceCloudId\":"
                 "\"id\",\"body\":{\"temperature\":{\"value\":21.5,\"time\":1733300000123}}}}",
                 tlen - 4) == 0);
    free(want);
}

static void test_numbers(void)
{
    static const char *reals[] = {"0",
                                  "-0",
                                  "1",
                                  "-1",
                                  "21.5",
                                  "35.4",
                                  "0.1",
                                  "1e-7",
                                  "1.5e-7",
                                  "-2.5e-300",
                                  "1e300",
                                  "123456789012345.6",
                                  "1234567890123456.7",
                                  "9007199254740992",
                                  "9007199254740993",
                                  "1e16",
                                  "-1e22",
                                  "3.14159265358979",
                                  "2.718281828459045",
                                  "1e21",
                                  "1e100",
                                  "5e-324",
                                  "inf",
                                  "-inf",
                                  "nan",
                                  "",
                                  "abc",
                                  "12abc",
                                  " 7",
                                  "0x10",
                                  "1.7976931348623157e308",
                                  "4.9e-05",
                                  "100000000000000000000",
                                  "0.000001",
                                  "0.0000001",
                                  "2147483648",
                                  "-2147483649",
                                  "99999999999999.99",
                                  "1e15",
                                  "1.0000000000000002",
                                  "6.02214076e23"};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        leda_device_data_t d[5] = {
            entry(LEDA_TYPE_DOUBLE, "d", reals[i]), entry(LEDA_TYPE_FLOAT, "f", reals[i]),
            entry(LEDA_TYPE_INT, "i", reals[i]), entry(LEDA_TYPE_BOOL, "b", reals[i]),
            entry(LEDA_TYPE_ENUM, "e", reals[i])};
        check_same("dev", d, 5);
    }
    /* random doubles in each printf form */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 5000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        uint64_t bits = x;
        memcpy(&v, &bits, sizeof v);
        char text[64];
        snprintf(text, sizeof text,
                 i % 3 == 0   ? "%.17g"
                 : i % 3 == 1 ? "%.3f"
                              : "%.6e",
                 i % 3 == 1 ? (double)(int64_t)(x % 2000000) / 1000.0 - 1000.0 : v);
        leda_device_data_t d[2] = {entry(LEDA_TYPE_DOUBLE, "d", text),
                                   entry(LEDA_TYPE_FLOAT, "f", text)};
        check_same("dev", d, 2);
    }
}

static void test_strings(void)
{
    char all[128];
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    all[127] = '\0';
    leda_device_data_t d[3] = {entry(LEDA_TYPE_TEXT, all + 32, all), entry(LEDA_TYPE_DATE, "", ""),
                               entry(LEDA_TYPE_TEXT, "k\"\\/\n", "\x7f/\"\\\b\f\n\r\t\x01\x1f")};
    check_same(all, d, 3); /* every ASCII byte in the id too */
    memcpy(d[0].key, all, sizeof d[0].key - 1);
    d[0].key[sizeof d[0].key - 1] = '\0';
    check_same("x", d, 3);
    leda_device_data_t big = entry(LEDA_TYPE_TEXT, "big", "");
    memset(big.value, '\n', sizeof big.value - 1);
    check_same("x", &big, 1); /* a value that grows six times */
}

static void test_many_entries(void)
{
    leda_device_data_t d[LEDA__FRAME_FAST_MAX + 1];
    for (int i = 0; i <= LEDA__FRAME_FAST_MAX; i++) {
        char key[16], value[16];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "%d.25", i);
        d[i] = entry(i % 2 ? LEDA_TYPE_DOUBLE : LEDA_TYPE_INT, key, value);
    }
    check_same("dev", d, LEDA__FRAME_FAST_MAX);
    leda__bytes_t b = {0};
    CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", d, LEDA__FRAME_FAST_MAX + 1, T_MS), 0);
    CHECK_EQ_INT(b.len, 0);
    free(b.data);
}

/* What the fast path leaves to the tree: 0 and nothing written. */
static void test_not_taken(void)
{
    leda_device_data_t ok = entry(LEDA_TYPE_INT, "a", "1");
    leda_device_data_t cases[][2] = {
        {ok, entry(LEDA_TYPE_STRUCT, "s", "{\"x\":1}")},
        {ok, entry(LEDA_TYPE_ARRAY, "s", "[1,2]")},
        {ok, entry(LEDA_TYPE_BUTT, "s", "1")},
        {ok, entry(LEDA_TYPE_TEXT, "s", "caf\xc3\xa9")}, /* UTF-8: jansson validates it */
        {ok, entry(LEDA_TYPE_TEXT, "\xc3\xa9", "x")},
        {ok, entry(LEDA_TYPE_TEXT, "s", "\xff")},
        {ok, entry(LEDA_TYPE_DOUBLE, "a", "2")}, /* a key twice */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leda__bytes_t b = {0};
        CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", cases[i], 2, T_MS), 0);
        CHECK_EQ_INT(b.len, 0);
        free(b.data);
    }
    leda_device_data_t unterminated = ok;
    memset(unterminated.key, 'k', sizeof unterminated.key);
    leda__bytes_t b = {0};
    CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", &unterminated, 1, T_MS), 0);
    memset(unterminated.value, '1', sizeof unterminated.value);
    memcpy(unterminated.key, "k", 2);
    CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", &unterminated, 1, T_MS), 0);
    CHECK_EQ_INT(leda__report_properties_frame(&b, "d\xc3\xa9v", &ok, 1, T_MS), 0);
    CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", &ok, 0, T_MS), 0);
    CHECK_EQ_INT(leda__report_properties_frame(&b, "dev", NULL, 1, T_MS), 0);
    CHECK_EQ_INT(leda__report_properties_frame(&b, NULL, &ok, 1, T_MS), 0);
    CHECK_EQ_INT(b.len, 0);
    free(b.data);
}

/* The output buffer is reused: a second frame replaces the first. */
static void test_buffer_reused(void)
{
    leda_device_data_t a = entry(LEDA_TYPE_TEXT, "a", "first, and longer than the second");
    leda_device_data_t b = entry(LEDA_TYPE_INT, "b", "2");
    leda__bytes_t out = {0};
    CHECK_EQ_INT(leda__report_properties_frame(&out, "dev", &a, 1, T_MS), 1);
    CHECK_EQ_INT(leda__report_properties_frame(&out, "dev", &b, 1, T_MS), 1);
    size_t tlen;
    unsigned char *want = tree_frame("dev", &b, 1, &tlen);
    CHECK(want && out.len == tlen && memcmp(out.data, want, tlen) == 0);
    free(want);
    free(out.data);
}

VG_TEST_MAIN(VG_TEST(test_bench_report) VG_TEST(test_numbers) VG_TEST(test_strings)
                 VG_TEST(test_many_entries) VG_TEST(test_not_taken) VG_TEST(test_buffer_reused))
