/* frame.h: the driver protocol's framing and message shapes (docs/driver-protocol.md): a
 * 4-byte big-endian length and one JSON object, validated into a drvhost_msg_t before any
 * handler sees it. Pure: the fuzz target drives it directly. */
#ifndef VG_DRVHOST_FRAME_H
#define VG_DRVHOST_FRAME_H

#include "core/buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define DRVHOST_PROTOCOL_VERSION 1

typedef enum {
    DRVHOST_MSG_HELLO = 0,
    DRVHOST_MSG_CALL,
    DRVHOST_MSG_REPLY,
    DRVHOST_MSG_SIGNAL,
} drvhost_msg_type_t;

/* A validated message. Every pointer borrows from `root`, but `text`, which borrows from the
 * frame given to drvhost_msg_parse. */
typedef struct drvhost_msg {
    json_t *root;
    const char *text; /* the frame's JSON, `len` bytes (for handlers that pass a part on as is) */
    size_t len;
    drvhost_msg_type_t type;
    int64_t seq;         /* call, reply */
    const char *method;  /* call, signal */
    json_t *params;      /* call, signal, reply (may be any JSON value; NULL when absent) */
    int64_t code;        /* reply */
    const char *message; /* reply ("" when absent) */
    /* hello */
    const char *function_id;
    const char *token;
    json_t *versions; /* array of integers */
} drvhost_msg_t;

typedef struct drvhost_frame_reader {
    vg_buf_t buf;
    size_t max_frame;
} drvhost_frame_reader_t;

/* Initializes a reader that refuses frames longer than `max_frame` bytes. */
void drvhost_frame_reader_init(drvhost_frame_reader_t *r, size_t max_frame);
void drvhost_frame_reader_close(drvhost_frame_reader_t *r);

/* Appends bytes and calls `fn(data, frame, len)` for every complete frame, in order. Stops at
 * the first frame whose callback returns non-zero (returns that value). Returns 0, VG_EPROTO
 * with `err` set for a zero or oversized length, or VG_ENOMEM. The callback may not feed the
 * same reader. `frame` is valid during the callback only: it may point into `bytes` (frames
 * are read where they are when nothing is buffered), and the bytes left over are copied. */
int drvhost_frame_feed(drvhost_frame_reader_t *r, const char *bytes, size_t len,
                       int (*fn)(void *data, const char *frame, size_t len), void *data, char *err,
                       size_t errlen);

/* Parses and validates one frame's JSON into *m (free with drvhost_msg_close); m->text keeps
 * pointing at `frame`, which must outlive *m. Returns 0, or VG_EPROTO with a message naming the
 * problem in `err`. */
int drvhost_msg_parse(const char *frame, size_t len, drvhost_msg_t *m, char *err, size_t errlen);
void drvhost_msg_close(drvhost_msg_t *m);

/* Appends a frame holding `obj` (compact JSON) to `out`. Returns 0 or VG_ENOMEM. */
int drvhost_frame_encode(vg_buf_t *out, const json_t *obj);

#endif
