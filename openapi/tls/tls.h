/* tls.h: TLS for the OpenAPI server on wolfSSL, with no I/O of its own.
 * The connection layer feeds ciphertext in and receives plaintext and ciphertext through
 * callbacks (memory I/O), so TLS is a filter over any byte stream. TLS 1.2 and 1.3 only. */
#ifndef VG_TLS_TLS_H
#define VG_TLS_TLS_H

#include "core/ctx.h"

#include <stddef.h>

typedef struct tls_ctx tls_ctx_t;
typedef struct tls_conn tls_conn_t;

/* Creates the server context from ctx->cfg: the configured tls_cert/tls_key pair, or, when
 * both are empty, data_dir/tls/cert.pem and key.pem, generated on first start as an ECDSA
 * P-256 self-signed certificate (CN and SAN "localhost" plus the 127.0.0.1 and ::1 addresses,
 * 10 years). Logs the certificate's SHA-256 fingerprint. TLS 1.2 minimum, 1.3 preferred,
 * AEAD suites only with forward secrecy, ordered by what is faster on this machine.
 * Returns 0 and *out, or a negative VG_E* code with a message in `err` naming the file. */
int tls_ctx_create(vg_ctx_t *ctx, tls_ctx_t **out, char *err, size_t errlen);
/* Frees the context; every tls_conn made from it must be destroyed first. */
void tls_ctx_destroy(tls_ctx_t *t);
/* The certificate's SHA-256 fingerprint as "AB:CD:...", owned by `t`. */
const char *tls_ctx_fingerprint(const tls_ctx_t *t);

/* The callbacks run inside tls_conn_feed/write/shutdown. They may call tls_conn_write or
 * tls_conn_shutdown on the same connection but must not destroy it. */
typedef struct tls_io {
    /* Ciphertext to send to the peer; the callee copies what it needs before returning. */
    void (*send)(void *data, const char *buf, size_t len);
    /* Decrypted application data from the peer; copied by the callee. */
    void (*recv)(void *data, const char *buf, size_t len);
    void *data;
} tls_io_t;

/* Creates a server-side connection that talks through `io`. Returns 0 and *out or VG_ENOMEM. */
int tls_conn_create(tls_ctx_t *t, const tls_io_t *io, tls_conn_t **out);
/* Frees the connection (without sending anything). NULL is a no-op. */
void tls_conn_destroy(tls_conn_t *c);

/* Consumes `len` bytes of ciphertext: advances the handshake, calls io->recv for every
 * decrypted record and io->send for whatever must go back. Returns 0, or VG_ETLS on a fatal
 * error (an alert may have been passed to io->send: flush it, then close), or VG_ECLOSED when
 * the peer sent close_notify. */
int tls_conn_feed(tls_conn_t *c, const char *data, size_t len);

/* Encrypts `len` bytes of plaintext, passing the records to io->send. Only after the handshake
 * is done. Returns 0, VG_EINVAL (handshake not done) or VG_ETLS. */
int tls_conn_write(tls_conn_t *c, const char *data, size_t len);

/* Sends close_notify through io->send (nothing before the handshake is done; later feeds then
 * return VG_ECLOSED). A second call does nothing. Returns 0 or VG_ETLS. */
int tls_conn_shutdown(tls_conn_t *c);

/* 1 once the handshake has completed. */
int tls_conn_ready(const tls_conn_t *c);
/* Negotiated protocol ("TLSv1.3") and suite names, or "" before the handshake. */
const char *tls_conn_version(const tls_conn_t *c);
const char *tls_conn_cipher(const tls_conn_t *c);

/* Looks at the first bytes of a connection: returns 1 when they start a TLS handshake record
 * (a ClientHello), 0 when they cannot, -1 when more bytes are needed to tell. */
int tls_sniff(const unsigned char *data, size_t len);

#endif
