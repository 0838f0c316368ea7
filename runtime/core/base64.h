/* base64.h: the base64 decoding of RFC 4648 (standard alphabet, '=' padding optional,
 * whitespace refused), for the invokerContext strings the original SDKs send. */
#ifndef VG_CORE_BASE64_H
#define VG_CORE_BASE64_H

#include <stddef.h>

/* Decodes `n` bytes of `in` into `out`, which must hold at least n / 4 * 3 + 3 bytes.
 * Returns 0 and *outlen, or VG_EPARSE for a byte outside the alphabet, misplaced padding, a
 * length that no encoding has (n % 4 == 1) or non-zero trailing bits. */
int vg_base64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen);

#endif
