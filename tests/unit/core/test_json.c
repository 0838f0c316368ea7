/* test_json.c: vg_json_quote against a byte-at-a-time reference quoter (the one it replaced):
 * every byte value alone and inside runs, escapes at every offset of the eight-byte words,
 * long clean runs, random strings, appending after existing bytes, and that jansson reads the
 * quoted text back as the input. */
#include "core/json.h"
#include "core/error.h"
#include "vg_test.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The reference: one byte at a time, the escapes json.h documents. */
static void ref_quote(vg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    vg_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char out[6];
        size_t k = 2;
        out[0] = '\\';
        switch (c) {
        case '\b':
            out[1] = 'b';
            break;
        case '\f':
            out[1] = 'f';
            break;
        case '\n':
            out[1] = 'n';
            break;
        case '\r':
            out[1] = 'r';
            break;
        case '\t':
            out[1] = 't';
            break;
        case '"':
            out[1] = '"';
            break;
        case '\\':
            out[1] = '\\';
            break;
        default:
            if (c < 0x20) {
                memcpy(out + 1, "u00", 3);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 15];
                k = 6;
            } else {
                out[0] = (char)c;
                k = 1;
            }
        }
        vg_buf_append(b, out, k);
    }
    vg_buf_append(b, "\"", 1);
}

/* Checks that vg_json_quote(s, n) appended after `prefix` equals the reference. */
static void check_same(const char *s, size_t n, const char *prefix)
{
    vg_buf_t got, want;
    vg_buf_init(&got);
    vg_buf_init(&want);
    vg_buf_puts(&got, prefix);
    vg_buf_puts(&want, prefix);
    CHECK_EQ_INT(vg_json_quote(&got, s, n), 0);
    ref_quote(&want, s, n);
    CHECK_EQ_INT(got.len, want.len);
    CHECK(got.len == want.len && memcmp(got.data, want.data, got.len) == 0);
    CHECK(got.data[got.len] == '\0');
    vg_buf_close(&got);
    vg_buf_close(&want);
}

static void test_known_outputs(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"", 0, "\"\""},
        {"abc", 3, "\"abc\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
        {"x\0y", 3, "\"x\\u0000y\""},
        {"/\xc3\xa9", 3, "\"/\xc3\xa9\""}, /* '/' and UTF-8 as they are */
        {"0123456789abcdef\n", 17, "\"0123456789abcdef\\n\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_buf_t b;
        vg_buf_init(&b);
        CHECK_EQ_INT(vg_json_quote(&b, cases[i].in, cases[i].n), 0);
        CHECK_EQ_STR(b.data, cases[i].out);
        vg_buf_close(&b);
    }
}

static void test_every_byte(void)
{
    char all[256];
    for (int c = 0; c < 256; c++) {
        char one = (char)c;
        check_same(&one, 1, "");
        all[c] = (char)c;
        /* the byte at each offset of a 24-byte clean run: first, inside and last of a word */
        for (size_t at = 0; at < 24; at++) {
            char run[24];
            memset(run, 'a', sizeof run);
            run[at] = (char)c;
            check_same(run, sizeof run, "");
            check_same(run, at + 1, "p"); /* the byte last */
        }
    }
    check_same(all, sizeof all, "");
    check_same(all + 1, sizeof all - 1, "{\"x\":"); /* unaligned start */
}

static void test_escapes_at_word_boundaries(void)
{
    /* two escapes at every pair of offsets in strings up to 40 bytes */
    for (size_t n = 1; n <= 40; n++) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = i; j < n; j++) {
                char s[40];
                memset(s, 'z', n);
                s[i] = '"';
                s[j] = (char)(j % 2 ? '\n' : 0x1e);
                check_same(s, n, "");
            }
        }
    }
}

static void test_long_runs(void)
{
    size_t n = 1 << 20;
    char *s = malloc(n);
    CHECK(s != NULL);
    if (!s) return;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(' ' + i % 95); /* printable, includes '"' and '\\' */
    check_same(s, n, "");
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(0x80 | (i & 0x7f)); /* high bytes only: no escape */
    check_same(s, n, "");
    memset(s, 'q', n);
    s[n - 1] = '\\';
    check_same(s, n, ""); /* one escape at the very end of a megabyte */
    free(s);
}

static void test_random(void)
{
    uint32_t x = 12345;
    char s[300];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        x = x * 1103515245u + 12345u;
        n = (x >> 8) % sizeof s;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            unsigned r = x >> 16;
            /* mostly letters, sometimes the bytes that matter */
            s[i] = (char)(r % 16 == 0 ? (r >> 4) % 0x24 : r % 16 == 1 ? 0x5c : 'a' + r % 26);
        }
        check_same(s, n, round % 2 ? "" : "prefix");
    }
}

static void test_jansson_reads_it_back(void)
{
    char s[200];
    for (size_t i = 0; i < sizeof s; i++)
        s[i] = (char)(1 + i % 127); /* every ASCII byte but NUL */
    vg_buf_t b;
    vg_buf_init(&b);
    CHECK_EQ_INT(vg_json_quote(&b, s, sizeof s), 0);
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    CHECK(json_is_string(v));
    CHECK_EQ_INT(json_string_length(v), sizeof s);
    CHECK(json_string_length(v) == sizeof s && memcmp(json_string_value(v), s, sizeof s) == 0);
    json_decref(v);
    vg_buf_close(&b);
}

VG_TEST_MAIN(VG_TEST(test_known_outputs) VG_TEST(test_every_byte)
                 VG_TEST(test_escapes_at_word_boundaries) VG_TEST(test_long_runs)
                     VG_TEST(test_random) VG_TEST(test_jansson_reads_it_back))
