/* frame.c: incremental frame reading and message validation for the driver protocol. A
 * message is checked against a table of shapes (which fields each type needs, of which JSON
 * type) so handlers only ever see well-formed messages. */
#include "drvhost/frame.h"
#include "drvhost/json.h"
#include "core/error.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void drvhost_frame_reader_init(drvhost_frame_reader_t *r, size_t max_frame)
{
    vg_buf_init(&r->buf);
    r->max_frame = max_frame;
}

void drvhost_frame_reader_close(drvhost_frame_reader_t *r)
{
    vg_buf_close(&r->buf);
}

static size_t drvhost__len(const unsigned char *p)
{
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
}

/* Calls fn for every complete frame of `data` (`len` bytes) from its start; sets *used to the
 * bytes of the frames handled. Returns what drvhost_frame_feed does. */
static int drvhost__frames(const drvhost_frame_reader_t *r, const char *data, size_t len,
                           int (*fn)(void *data, const char *frame, size_t len), void *arg,
                           char *err, size_t errlen, size_t *used)
{
    size_t off = 0;
    int rc = 0;
    while (len - off >= 4) {
        size_t n = drvhost__len((const unsigned char *)data + off);
        if (n == 0 || n > r->max_frame) {
            snprintf(err, errlen, "frame length %zu outside 1..%zu", n, r->max_frame);
            rc = VG_EPROTO;
            break;
        }
        if (len - off - 4 < n) break;
        rc = fn(arg, data + off + 4, n);
        off += 4 + n;
        if (rc) break;
    }
    *used = off;
    return rc;
}

int drvhost_frame_feed(drvhost_frame_reader_t *r, const char *bytes, size_t len,
                       int (*fn)(void *data, const char *frame, size_t len), void *arg, char *err,
                       size_t errlen)
{
    size_t used;
    int rc;
    if (r->buf.len == 0 && len > 0) { /* the usual case: frames are read where they are */
        rc = drvhost__frames(r, bytes, len, fn, arg, err, errlen, &used);
        if (rc != VG_EPROTO && used < len && vg_buf_append(&r->buf, bytes + used, len - used))
            return VG_ENOMEM;
        return rc;
    }
    if (vg_buf_append(&r->buf, bytes, len)) return VG_ENOMEM;
    rc = drvhost__frames(r, r->buf.data, r->buf.len, fn, arg, err, errlen, &used);
    vg_buf_consume(&r->buf, used);
    return rc;
}

int drvhost_frame_encode(vg_buf_t *out, const json_t *obj)
{
    char *text = json_dumps(obj, VG_JSON_FLAGS);
    if (!text) return VG_ENOMEM;
    size_t n = strlen(text);
    unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    int rc = vg_buf_append(out, hdr, 4) || vg_buf_append(out, text, n) ? VG_ENOMEM : 0;
    free(text);
    return rc;
}

/* The fields each message type needs; `params` is free-form and checked by its handler. */
enum { F_SEQ = 1, F_METHOD = 2, F_CODE = 4, F_HELLO = 8 };

static const struct {
    const char *name;
    drvhost_msg_type_t type;
    int fields;
} drvhost__types[] = {
    {"hello", DRVHOST_MSG_HELLO, F_HELLO},
    {"call", DRVHOST_MSG_CALL, F_SEQ | F_METHOD},
    {"reply", DRVHOST_MSG_REPLY, F_SEQ | F_CODE},
    {"signal", DRVHOST_MSG_SIGNAL, F_METHOD},
};

static int drvhost__fail(drvhost_msg_t *m, char *err, size_t errlen, const char *fmt,
                         const char *arg)
{
    snprintf(err, errlen, fmt, arg);
    drvhost_msg_close(m);
    return VG_EPROTO;
}

int drvhost_msg_parse(const char *frame, size_t len, drvhost_msg_t *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    json_error_t je;
    m->root = drvhost_json_loadb(frame, len, &je);
    if (!m->root) {
        snprintf(err, errlen, "frame is not JSON: %s at column %d", je.text, je.column);
        return VG_EPROTO;
    }
    if (!json_is_object(m->root))
        return drvhost__fail(m, err, errlen, "frame is not a JSON object%s", "");
    const char *type = json_string_value(json_object_get(m->root, "type"));
    if (!type) return drvhost__fail(m, err, errlen, "frame has no string \"type\"%s", "");
    size_t i = 0, n = sizeof drvhost__types / sizeof drvhost__types[0];
    while (i < n && strcmp(drvhost__types[i].name, type) != 0)
        i++;
    if (i == n)
        return drvhost__fail(m, err, errlen,
                             "unknown message type \"%s\"; expected hello, call, reply or signal",
                             type);
    m->type = drvhost__types[i].type;
    int f = drvhost__types[i].fields;
    json_t *v;
    if (f & F_SEQ) {
        v = json_object_get(m->root, "seq");
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return drvhost__fail(m, err, errlen, "%s: \"seq\" must be a non-negative integer",
                                 type);
        m->seq = (int64_t)json_integer_value(v);
    }
    if (f & F_METHOD) {
        m->method = json_string_value(json_object_get(m->root, "method"));
        if (!m->method || !*m->method)
            return drvhost__fail(m, err, errlen, "%s: \"method\" must be a non-empty string", type);
    }
    if (f & F_CODE) {
        v = json_object_get(m->root, "code");
        if (!json_is_integer(v))
            return drvhost__fail(m, err, errlen, "%s: \"code\" must be an integer", type);
        m->code = (int64_t)json_integer_value(v);
        v = json_object_get(m->root, "message");
        if (v && !json_is_string(v))
            return drvhost__fail(m, err, errlen, "%s: \"message\" must be a string", type);
        m->message = v ? json_string_value(v) : "";
    }
    if (f & F_HELLO) {
        m->function_id = json_string_value(json_object_get(m->root, "functionId"));
        m->token = json_string_value(json_object_get(m->root, "token"));
        m->versions = json_object_get(m->root, "versions");
        if (!m->function_id || !m->token || !json_is_array(m->versions))
            return drvhost__fail(m, err, errlen,
                                 "hello needs \"functionId\", \"token\" (strings) and "
                                 "\"versions\" (an array)%s",
                                 "");
    }
    m->params = json_object_get(m->root, "params");
    m->text = frame;
    m->len = len;
    return 0;
}

void drvhost_msg_close(drvhost_msg_t *m)
{
    json_decref(m->root);
    m->root = NULL;
}
