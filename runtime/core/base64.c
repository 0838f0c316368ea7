/* base64.c: base64 decoding, strict so that one text has one meaning, and padded encoding. */
#include "core/base64.h"
#include "core/error.h"

/* The value of each alphabet byte plus one; 0 for bytes outside it. */
static unsigned char b64__value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return (unsigned char)(c - 'A' + 1);
    if (c >= 'a' && c <= 'z') return (unsigned char)(c - 'a' + 27);
    if (c >= '0' && c <= '9') return (unsigned char)(c - '0' + 53);
    if (c == '+') return 63;
    if (c == '/') return 64;
    return 0;
}

int vg_base64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
    size_t pad = 0;
    while (n > 0 && pad < 2 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad && (n + pad) % 4 != 0)) return VG_EPARSE;
    size_t o = 0;
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char v = b64__value((unsigned char)in[i]);
        if (!v) return VG_EPARSE;
        acc = (acc << 6) | (unsigned)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return VG_EPARSE; /* trailing bits must be zero */
    *outlen = o;
    return 0;
}

static const char b64__alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t vg_base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64__alphabet[v >> 18 & 63];
        out[o++] = b64__alphabet[v >> 12 & 63];
        out[o++] = b64__alphabet[v >> 6 & 63];
        out[o++] = b64__alphabet[v & 63];
    }
    if (i < n) { /* one or two bytes left: two or three characters and padding */
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < n) v |= (unsigned long)in[i + 1] << 8;
        out[o++] = b64__alphabet[v >> 18 & 63];
        out[o++] = b64__alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64__alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}
