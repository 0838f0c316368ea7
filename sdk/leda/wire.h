/* wire.h: the framing of the driver protocol (docs/driver-protocol.md): a 4-byte big-endian
 * length N (1..1 MiB) followed by N bytes of JSON holding one object. A blocking sender and an
 * incremental reader that takes bytes as they come (internal to libleda_sdk_c). */
#ifndef LEDA_WIRE_H
#define LEDA_WIRE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define LEDA__WIRE_MAX (1024 * 1024) /* largest frame body, bytes */

/* Results of leda__wire_reader_next() and leda__wire_send(). */
#define LEDA__WIRE_FRAME     1  /* a frame was taken */
#define LEDA__WIRE_MORE      0  /* no complete frame yet: feed more bytes */
#define LEDA__WIRE_ERROR     -1 /* the socket failed */
#define LEDA__WIRE_BAD_LEN   -2 /* a length of 0 or over the limit: the stream is unusable */
#define LEDA__WIRE_BAD_JSON  -3 /* one frame whose body is not a JSON object; it was skipped */
#define LEDA__WIRE_TOO_LARGE -4 /* an object that does not fit in a frame; nothing was sent */
#define LEDA__WIRE_NOMEM     -5 /* out of memory; nothing was sent or read */

/* Encodes `obj` as one frame (header and compact JSON) into a malloc'd buffer: *out and *len.
 * Returns 0, LEDA__WIRE_TOO_LARGE when the body would exceed LEDA__WIRE_MAX, or
 * LEDA__WIRE_NOMEM; on failure *out is NULL. */
int leda__wire_encode(const json_t *obj, unsigned char **out, size_t *len);

/* Sends `obj` as one frame on the blocking socket `fd`, holding `mu` for the whole frame so
 * frames from different threads never interleave. Retries on EINTR and partial writes; never
 * raises SIGPIPE. Returns 0, LEDA__WIRE_TOO_LARGE or LEDA__WIRE_NOMEM (nothing sent), or
 * LEDA__WIRE_ERROR (the socket failed, possibly after part of the frame went out: the stream
 * is then unusable). */
int leda__wire_send(int fd, pthread_mutex_t *mu, const json_t *obj);

/* Writes all `n` bytes of `p` to socket `fd` (send with MSG_NOSIGNAL, EINTR retried). Returns 0,
 * or -1 with errno set. */
int leda__wire_write_all(int fd, const unsigned char *p, size_t n);

/* Collects received bytes and cuts them into frames. Not thread-safe: one reader per stream. */
typedef struct leda__wire_reader {
    unsigned char *buf;
    size_t start; /* first unconsumed byte */
    size_t len;   /* end of the received bytes */
    size_t cap;
} leda__wire_reader_t;

/* Prepares an empty reader. */
void leda__wire_reader_init(leda__wire_reader_t *r);

/* Frees the reader's buffer; the reader is empty again afterwards. */
void leda__wire_reader_free(leda__wire_reader_t *r);

/* Appends `n` received bytes. Returns 0, or LEDA__WIRE_NOMEM. */
int leda__wire_reader_feed(leda__wire_reader_t *r, const void *data, size_t n);

/* Takes the next complete frame. Returns LEDA__WIRE_FRAME with *out set to the object (a new
 * reference), LEDA__WIRE_MORE, LEDA__WIRE_BAD_JSON (the frame was consumed; the next call goes
 * on with the following one), or LEDA__WIRE_BAD_LEN (nothing more can be read from this
 * stream). *out is NULL unless a frame is returned. */
int leda__wire_reader_next(leda__wire_reader_t *r, json_t **out);

#endif
