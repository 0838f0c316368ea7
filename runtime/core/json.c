/* json.c: the JSON string quoting of json.h: the input is scanned eight bytes at a time for
 * the bytes that need an escape (exact per-byte flags in a word; a table for the tail), and
 * the runs between them are copied in one go, straight into the buffer. */
#include "core/json.h"
#include "core/error.h"

#include <stdint.h>
#include <string.h>

/* 0: copied as is; 'u': \u00XX; other: the letter after the backslash. */
static const char json__esc[256] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['"'] = '"',
    ['\\'] = '\\', [0] = 'u', [1] = 'u', [2] = 'u', [3] = 'u', [4] = 'u', [5] = 'u', [6] = 'u',
    [7] = 'u', [11] = 'u', [14] = 'u', [15] = 'u', [16] = 'u', [17] = 'u', [18] = 'u',
    [19] = 'u', [20] = 'u', [21] = 'u', [22] = 'u', [23] = 'u', [24] = 'u', [25] = 'u',
    [26] = 'u', [27] = 'u', [28] = 'u', [29] = 'u', [30] = 'u', [31] = 'u',
};

/* Eight bytes at a time: a word of eight copies of byte `b`. */
#define JSON__LOW7     UINT64_C(0x7f7f7f7f7f7f7f7f)
#define JSON__EVERY(b) (UINT64_C(0x0101010101010101) * (uint64_t)(b))

/* The high bit of each byte of `v` that is zero, and no other bit (no carry crosses bytes). */
static inline uint64_t json__zero_bytes(uint64_t v)
{
    uint64_t t = (v & JSON__LOW7) + JSON__LOW7; /* high bit set: the low 7 bits are not 0 */
    return ~(t | v | JSON__LOW7);
}

/* The index of the first byte of s[from, n) that needs an escape, or n. A little-endian
 * machine tests a word at a time ('"', '\\' and the bytes below 0x20, whose top three bits
 * are 0) and finds the byte from the lowest flag; others go through the table. */
static size_t json__next_escape(const char *s, size_t from, size_t n)
{
    size_t i = from;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8); /* one unaligned load */
        uint64_t hit = json__zero_bytes(w ^ JSON__EVERY('"')) |
                       json__zero_bytes(w ^ JSON__EVERY('\\')) |
                       json__zero_bytes(w & JSON__EVERY(0xe0));
        if (hit) return i + (size_t)(__builtin_ctzll(hit) >> 3);
        i += 8;
    }
#endif
    while (i < n && !json__esc[(unsigned char)s[i]])
        i++;
    return i;
}

int vg_json_quote(vg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (vg_buf_reserve(b, n + 2)) return VG_ENOMEM;
    size_t mark = b->len, o = b->len; /* o: where the next output byte goes */
    b->data[o++] = '"';
    /* invariant: b->cap holds the output so far, the input not yet read, '"' and the NUL */
    size_t i = 0; /* the first input byte not yet written */
    for (;;) {
        size_t j = json__next_escape(s, i, n);
        memcpy(b->data + o, s + i, j - i);
        o += j - i;
        if (j == n) break;
        size_t rest = n - j - 1;     /* input after the escaped byte */
        if (b->cap - o < rest + 8) { /* the escape may take 6 bytes where the input had 1 */
            b->len = o;
            if (vg_buf_reserve(b, rest + 7)) {
                b->len = mark;
                b->data[mark] = '\0';
                return VG_ENOMEM;
            }
        }
        unsigned char c = (unsigned char)s[j];
        char e = json__esc[c];
        b->data[o++] = '\\';
        if (e == 'u') {
            memcpy(b->data + o, "u00", 3);
            b->data[o + 3] = hex[c >> 4];
            b->data[o + 4] = hex[c & 15];
            o += 5;
        } else {
            b->data[o++] = e;
        }
        i = j + 1;
    }
    b->data[o++] = '"';
    b->data[o] = '\0';
    b->len = o;
    return 0;
}
