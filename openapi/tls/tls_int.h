/* tls_int.h: what tls.c and certgen.c share inside the tls module; not part of its interface.
 * certgen.c decides which certificate files to load (generating them when needed) and
 * computes fingerprints; tls.c runs the wolfSSL context and the connections. */
#ifndef VG_TLS_TLS_INT_H
#define VG_TLS_TLS_INT_H

#include "core/ctx.h"

#include <stddef.h>

/* "AB:CD:..." for 32 bytes, with the NUL. */
#define TLS__FINGERPRINT_LEN 96
/* Room for a configured path or data_dir plus "/tls/cert.pem". */
#define TLS__PATH_MAX (VG_CONFIG_STR_MAX + 32)

/* Picks the certificate and key files from ctx->cfg: the configured tls_cert/tls_key pair, or
 * data_dir/tls/cert.pem and key.pem, generating both (ECDSA P-256, self-signed) when neither
 * exists. Returns 0 with the paths in `cert` and `key`, or a negative VG_E* code with a
 * message naming the option or the file in `err`. Files are never overwritten. */
int tls__cert_paths(vg_ctx_t *ctx, char *cert, size_t certlen, char *key, size_t keylen, char *err,
                    size_t errlen);

/* Reads the file at `path` (at most 1 MiB) into a new buffer the caller frees. Returns 0, or
 * VG_ENOENT, VG_EPERM, VG_EIO, VG_ELIMIT or VG_ENOMEM with a message naming the file. */
int tls__read_file(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen);

/* Writes the SHA-256 fingerprint of the first certificate of a PEM buffer to `out` as
 * "AB:CD:...". Returns 0 or VG_EPARSE (no PEM certificate) or VG_ENOMEM. */
int tls__fingerprint(const unsigned char *pem, size_t len, char out[TLS__FINGERPRINT_LEN]);

/* Whether the PEM private key `key` belongs to the first certificate of the PEM `cert`: 1 yes,
 * 0 no, -1 cannot tell (not an ECC certificate). wolfSSL 5.5.4's wolfSSL_CTX_check_private_key
 * accepts any ECC key, so the public point made from the private key is compared here. */
int tls__key_matches(const unsigned char *cert, size_t cert_len, const unsigned char *key,
                     size_t key_len);

#endif
