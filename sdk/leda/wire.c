/* wire.c: length-prefixed JSON frames over the driver socket: encoding, a blocking sender
 * that survives partial writes and EINTR, and an incremental reader that cuts a byte stream
 * into objects and rejects bad lengths and bodies without trusting anything it receives. */
#include "wire.h"
#include "convert.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LEDA__WIRE_HDR 4 /* bytes of the length prefix */

int leda__wire_encode(const json_t *obj, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char *body = json_dumps(obj, LEDA__JSON_FLAGS);
    if (!body) return LEDA__WIRE_NOMEM;
    size_t n = strlen(body);
    if (n == 0 || n > LEDA__WIRE_MAX) {
        free(body);
        return LEDA__WIRE_TOO_LARGE;
    }
    unsigned char *buf = malloc(LEDA__WIRE_HDR + n);
    if (!buf) {
        free(body);
        return LEDA__WIRE_NOMEM;
    }
    buf[0] = (unsigned char)(n >> 24);
    buf[1] = (unsigned char)(n >> 16);
    buf[2] = (unsigned char)(n >> 8);
    buf[3] = (unsigned char)n;
    memcpy(buf + LEDA__WIRE_HDR, body, n);
    free(body);
    *out = buf;
    *len = LEDA__WIRE_HDR + n;
    return 0;
}

int leda__wire_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int leda__wire_send(int fd, pthread_mutex_t *mu, const json_t *obj)
{
    unsigned char *buf;
    size_t len;
    int rc = leda__wire_encode(obj, &buf, &len);
    if (rc != 0) return rc;
    pthread_mutex_lock(mu);
    rc = leda__wire_write_all(fd, buf, len) == 0 ? 0 : LEDA__WIRE_ERROR;
    pthread_mutex_unlock(mu);
    free(buf);
    return rc;
}

void leda__wire_reader_init(leda__wire_reader_t *r)
{
    memset(r, 0, sizeof *r);
}

void leda__wire_reader_free(leda__wire_reader_t *r)
{
    free(r->buf);
    leda__wire_reader_init(r);
}

int leda__wire_reader_feed(leda__wire_reader_t *r, const void *data, size_t n)
{
    if (n == 0) return 0;
    if (r->start > 0) { /* drop consumed bytes first */
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len < n) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap - r->len < n)
            cap *= 2;
        unsigned char *nb = realloc(r->buf, cap);
        if (!nb) return LEDA__WIRE_NOMEM;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

int leda__wire_reader_next(leda__wire_reader_t *r, json_t **out)
{
    *out = NULL;
    size_t avail = r->len - r->start;
    if (avail < LEDA__WIRE_HDR) return LEDA__WIRE_MORE;
    const unsigned char *p = r->buf + r->start;
    uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n == 0 || n > LEDA__WIRE_MAX) return LEDA__WIRE_BAD_LEN;
    if (avail - LEDA__WIRE_HDR < n) return LEDA__WIRE_MORE;
    r->start += LEDA__WIRE_HDR + n;
    json_t *obj = json_loadb((const char *)p + LEDA__WIRE_HDR, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return LEDA__WIRE_BAD_JSON;
    }
    *out = obj;
    return LEDA__WIRE_FRAME;
}
