/* base64.h: the base64 of RFC 4648 (standard alphabet): strict decoding ('=' padding
 * optional, whitespace refused) for the invokerContext strings the original SDKs send, and
 * padded encoding for the keys and signatures of bundle signatures. */
#ifndef VG_CORE_BASE64_H
#define VG_CORE_BASE64_H

#include <stddef.h>

/* Decodes `n` bytes of `in` into `out`, which must hold at least n / 4 * 3 + 3 bytes.
 * Returns 0 and *outlen, or VG_EPARSE for a byte outside the alphabet, misplaced padding, a
 * length that no encoding has (n % 4 == 1) or non-zero trailing bits. */
int vg_base64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen);

/* The size of the buffer vg_base64_encode needs for `n` input bytes, the NUL included. */
#define VG_BASE64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Encodes `n` bytes of `in` into `out` with '=' padding and no line breaks; `out` must hold
 * VG_BASE64_ENCODED_SIZE(n) bytes and is NUL-terminated. Returns the length written (without
 * the NUL). Cannot fail. */
size_t vg_base64_encode(const unsigned char *in, size_t n, char *out);

#endif
