/* test_base64.c: base64 encoding against the RFC 4648 §10 vectors, encode/decode round trips
 * of every length up to 64 and every byte value, and the strictness of decoding. */
#include "core/base64.h"
#include "core/error.h"
#include "vg_test.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *plain, *coded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_encode_vectors(void)
{
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        char out[VG_BASE64_ENCODED_SIZE(6)];
        memset(out, 'x', sizeof out);
        size_t n = vg_base64_encode((const unsigned char *)rfc4648[i].plain,
                                    strlen(rfc4648[i].plain), out);
        CHECK_EQ_STR(out, rfc4648[i].coded);
        CHECK_EQ_INT(n, strlen(rfc4648[i].coded));
    }
}

static void test_encode_size_is_exact(void)
{
    for (size_t n = 0; n < 10; n++) {
        unsigned char in[10] = {0};
        char out[VG_BASE64_ENCODED_SIZE(10) + 8];
        memset(out, '#', sizeof out);
        size_t len = vg_base64_encode(in, n, out);
        CHECK_EQ_INT(len + 1, VG_BASE64_ENCODED_SIZE(n));
        CHECK(out[len] == '\0');
        CHECK(out[len + 1] == '#'); /* nothing written past the NUL */
    }
}

static void test_round_trip(void)
{
    unsigned char in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)(255 - i);
    for (size_t n = 0; n <= 64; n++) {
        for (size_t start = 0; start + n <= sizeof in; start += 61) {
            char coded[VG_BASE64_ENCODED_SIZE(64)];
            size_t clen = vg_base64_encode(in + start, n, coded);
            unsigned char back[64 / 3 * 4 + 3];
            size_t blen = 0;
            CHECK_EQ_INT(vg_base64_decode(coded, clen, back, &blen), 0);
            CHECK_EQ_INT(blen, n);
            CHECK(memcmp(back, in + start, n) == 0);
        }
    }
    /* all 256 byte values in one text */
    char coded[VG_BASE64_ENCODED_SIZE(256)];
    size_t clen = vg_base64_encode(in, sizeof in, coded);
    CHECK_EQ_INT(clen, 344);
    unsigned char back[256 / 3 * 4 + 3];
    size_t blen = 0;
    CHECK_EQ_INT(vg_base64_decode(coded, clen, back, &blen), 0);
    CHECK_EQ_INT(blen, 256);
    CHECK(memcmp(back, in, 256) == 0);
}

static void test_decode_strict(void)
{
    unsigned char out[16];
    size_t n = 0;
    CHECK_EQ_INT(vg_base64_decode("Zm9vYg", 6, out, &n), 0); /* padding optional */
    CHECK_EQ_INT(n, 4);
    CHECK(memcmp(out, "foob", 4) == 0);
    CHECK_EQ_INT(vg_base64_decode("Zm9v Yg==", 9, out, &n), VG_EPARSE); /* whitespace */
    CHECK_EQ_INT(vg_base64_decode("Zm9vY", 5, out, &n), VG_EPARSE);     /* n % 4 == 1 */
    CHECK_EQ_INT(vg_base64_decode("Zg=", 3, out, &n), VG_EPARSE);       /* half padding */
    CHECK_EQ_INT(vg_base64_decode("Zh==", 4, out, &n), VG_EPARSE);      /* trailing bits */
    CHECK_EQ_INT(vg_base64_decode("Z=g=", 4, out, &n), VG_EPARSE);      /* misplaced '=' */
    CHECK_EQ_INT(vg_base64_decode("Zm-v", 4, out, &n), VG_EPARSE);      /* url alphabet */
}

VG_TEST_MAIN(VG_TEST(test_encode_vectors) VG_TEST(test_encode_size_is_exact)
                 VG_TEST(test_round_trip) VG_TEST(test_decode_strict))
