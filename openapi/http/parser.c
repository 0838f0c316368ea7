/* parser.c: the request parser of parser.h. llhttp reports spans; we copy them into one
 * storage buffer per request (offsets while it grows, pointers once it is complete) and
 * enforce the limits from inside the callbacks, so an oversized request is refused before
 * it is buffered. The body limit of each request is chosen, when a hook is set, once its
 * headers are complete (uploads may be larger than limits.max_body_bytes). */
#include "http/parser.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { SPAN_NONE = 0, SPAN_URL, SPAN_FIELD, SPAN_VALUE };

static http_parser_t *vg__p(llhttp_t *ll)
{
    return (http_parser_t *)ll->data;
}

static int vg__fail(http_parser_t *p, int status, const char *msg)
{
    p->error_status = status;
    snprintf(p->error_msg, sizeof p->error_msg, "%s", msg);
    return -1;
}

static int on_message_begin(llhttp_t *ll)
{
    vg__p(ll)->started = 1;
    return 0;
}

/* Terminates the open span (if any) with a NUL. */
static int vg__close_span(http_parser_t *p)
{
    if (p->field_open == SPAN_NONE) return 0;
    p->field_open = SPAN_NONE;
    return vg_buf_append(&p->cur.storage, "", 1) ? vg__fail(p, 500, "out of memory") : 0;
}

/* Appends header-section bytes, counting them against max_header_bytes. */
static int vg__span(http_parser_t *p, int kind, const char *at, size_t len)
{
    p->started = 1;
    p->header_bytes += len;
    if (p->header_bytes > p->limits.max_header_bytes)
        return vg__fail(p, 431, "request line and headers exceed limits.max_header_bytes");
    if (p->field_open != kind) {
        if (vg__close_span(p)) return -1;
        if (kind == SPAN_FIELD) {
            if (p->nhdr >= p->limits.max_headers)
                return vg__fail(p, 431, "more header fields than limits.max_headers");
            if (p->nhdr * 2 + 2 > p->hdr_cap) {
                size_t cap = p->hdr_cap ? p->hdr_cap * 2 : 32;
                size_t *n = realloc(p->hdr_offs, cap * sizeof *n);
                if (!n) return vg__fail(p, 500, "out of memory");
                p->hdr_offs = n;
                p->hdr_cap = cap;
            }
            p->hdr_offs[p->nhdr * 2] = p->cur.storage.len;
            p->hdr_offs[p->nhdr * 2 + 1] = (size_t)-1;
            p->nhdr++;
            p->header_bytes += 4; /* ": " and CRLF */
        } else if (kind == SPAN_VALUE) {
            p->hdr_offs[(p->nhdr - 1) * 2 + 1] = p->cur.storage.len;
        } else {
            p->url_off = p->cur.storage.len;
        }
        p->field_open = kind;
    }
    return vg_buf_append(&p->cur.storage, at, len) ? vg__fail(p, 500, "out of memory") : 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    return vg__span(vg__p(ll), SPAN_URL, at, len);
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    return vg__span(vg__p(ll), SPAN_FIELD, at, len);
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    return vg__span(vg__p(ll), SPAN_VALUE, at, len);
}

static int on_span_complete(llhttp_t *ll)
{
    return vg__close_span(vg__p(ll));
}

/* 413, naming the option that sets the current request's limit. */
static int vg__too_large(http_parser_t *p)
{
    p->error_status = 413;
    snprintf(p->error_msg, sizeof p->error_msg, "request body exceeds %s (%zu bytes)",
             p->body_limit_name, p->body_limit);
    return -1;
}

/* Asks the body hook about the request whose headers just completed. The URL span is
 * NUL-terminated in storage by now; its query is hidden for the call. */
static void vg__body_hook(http_parser_t *p, llhttp_t *ll, http_body_decision_t *d)
{
    const char *method = llhttp_method_name((llhttp_method_t)llhttp_get_method(ll));
    char *url = p->cur.storage.data ? p->cur.storage.data + p->url_off : NULL;
    char *q = url ? strchr(url, '?') : NULL;
    if (q) *q = '\0';
    p->body_fn(p->body_arg, method, url ? url : "", d);
    if (q) *q = '?';
}

static int on_headers_complete(llhttp_t *ll)
{
    http_parser_t *p = vg__p(ll);
    if (vg__close_span(p)) return -1;
    /* A header with an empty value never opened a value span. */
    for (size_t i = 0; i < p->nhdr; i++) {
        if (p->hdr_offs[i * 2 + 1] == (size_t)-1) {
            p->hdr_offs[i * 2 + 1] = p->cur.storage.len;
            if (vg_buf_append(&p->cur.storage, "", 1)) return vg__fail(p, 500, "out of memory");
        }
    }
    for (size_t i = 0; i < p->nhdr; i++) {
        const char *name = p->cur.storage.data + p->hdr_offs[i * 2];
        const char *value = p->cur.storage.data + p->hdr_offs[i * 2 + 1];
        if (strcasecmp(name, "expect") == 0 && strcasecmp(value, "100-continue") == 0)
            p->expect_continue = 1;
    }
    http_body_decision_t d = {p->limits.max_body_bytes, "limits.max_body_bytes", 0, NULL};
    if (p->body_fn) vg__body_hook(p, ll, &d);
    if (d.refuse_status)
        return vg__fail(p, d.refuse_status, d.refuse_msg ? d.refuse_msg : "request refused");
    p->body_limit = d.limit;
    p->body_limit_name = d.limit_name ? d.limit_name : "the body limit";
    if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->body_limit)
        return vg__too_large(p);
    /* A raised limit is one large upload at a time (the hook's rule): take its room at once
     * rather than doubling towards it. */
    if ((ll->flags & F_CONTENT_LENGTH) && p->body_limit > p->limits.max_body_bytes &&
        vg_buf_reserve(&p->cur.body, (size_t)ll->content_length))
        return vg__fail(p, 500, "out of memory");
    p->headers_done = 1;
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    http_parser_t *p = vg__p(ll);
    if (p->cur.body.len + len > p->body_limit) return vg__too_large(p);
    return vg_buf_append(&p->cur.body, at, len) ? vg__fail(p, 500, "out of memory") : 0;
}

static int on_message_complete(llhttp_t *ll)
{
    http_parser_t *p = vg__p(ll);
    p->complete = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t vg__settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_url_complete = on_span_complete,
    .on_header_field_complete = on_span_complete,
    .on_header_value_complete = on_span_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_parser_init(http_parser_t *p, const http_parser_limits_t *limits)
{
    memset(p, 0, sizeof *p);
    p->limits = *limits;
    p->body_limit = limits->max_body_bytes;
    p->body_limit_name = "limits.max_body_bytes";
    p->settings = vg__settings;
    llhttp_init(&p->ll, HTTP_REQUEST, &p->settings);
    p->ll.data = p;
    vg_buf_init(&p->cur.storage);
    vg_buf_init(&p->cur.body);
}

void http_parser_set_body_hook(http_parser_t *p, http_parser_body_fn fn, void *arg)
{
    p->body_fn = fn;
    p->body_arg = arg;
}

void http_parsed_close(http_parsed_t *r)
{
    free(r->headers);
    vg_buf_close(&r->storage);
    vg_buf_close(&r->body);
    memset(r, 0, sizeof *r);
}

void http_parser_close(http_parser_t *p)
{
    http_parsed_close(&p->cur);
    free(p->hdr_offs);
    p->hdr_offs = NULL;
    p->hdr_cap = p->nhdr = 0;
}

/* Resolves offsets into pointers once storage has stopped growing. Returns 0 or -1. */
static int vg__finish(http_parser_t *p)
{
    http_parsed_t *r = &p->cur;
    const char *m = llhttp_method_name((llhttp_method_t)llhttp_get_method(&p->ll));
    size_t moff = r->storage.len;
    if (vg_buf_append(&r->storage, m, strlen(m) + 1)) return -1;
    if (vg_buf_append(&r->body, "", 0)) return -1; /* ensure a NUL-terminated body */
    r->headers = calloc(p->nhdr ? p->nhdr : 1, sizeof *r->headers);
    if (!r->headers) return -1;
    char *base = r->storage.data;
    for (size_t i = 0; i < p->nhdr; i++) {
        r->headers[i].name = base + p->hdr_offs[i * 2];
        r->headers[i].value = base + p->hdr_offs[i * 2 + 1];
    }
    r->nheaders = (int)p->nhdr;
    r->method = base + moff;
    r->path = base + p->url_off;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = base + moff + strlen(m); /* the method's NUL: "" */
    }
    r->keep_alive = llhttp_should_keep_alive(&p->ll);
    return 0;
}

http_parse_result_t http_parser_feed(http_parser_t *p, const char *data, size_t len,
                                     size_t *consumed)
{
    *consumed = 0;
    if (p->error_status) return HTTP_PARSE_ERROR;
    if (p->complete) return HTTP_PARSE_REQUEST;
    llhttp_errno_t e = llhttp_execute(&p->ll, data, len);
    if (e == HPE_OK) {
        *consumed = len;
        return HTTP_PARSE_MORE;
    }
    if ((e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) && p->complete) {
        *consumed = (size_t)(llhttp_get_error_pos(&p->ll) - data);
        if (vg__finish(p)) {
            vg__fail(p, 500, "out of memory");
            return HTTP_PARSE_ERROR;
        }
        if (e == HPE_PAUSED_UPGRADE) p->cur.keep_alive = 0; /* upgrades are not offered */
        return HTTP_PARSE_REQUEST;
    }
    if (!p->error_status) {
        p->error_status = e == HPE_INVALID_VERSION ? 505 : 400;
        snprintf(p->error_msg, sizeof p->error_msg, "malformed HTTP request: %s",
                 llhttp_get_error_reason(&p->ll) ? llhttp_get_error_reason(&p->ll) : "?");
    }
    return HTTP_PARSE_ERROR;
}

void http_parser_take(http_parser_t *p, http_parsed_t *out)
{
    *out = p->cur;
    memset(&p->cur, 0, sizeof p->cur);
}

void http_parser_next(http_parser_t *p)
{
    http_parsed_close(&p->cur);
    p->nhdr = 0;
    p->header_bytes = 0;
    p->field_open = SPAN_NONE;
    p->url_off = 0;
    p->started = p->headers_done = p->complete = p->expect_continue = 0;
    p->body_limit = p->limits.max_body_bytes;
    p->body_limit_name = "limits.max_body_bytes";
    if (llhttp_get_errno(&p->ll) == HPE_PAUSED) llhttp_resume(&p->ll);
    else if (llhttp_get_errno(&p->ll) == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&p->ll);
}

int http_parser_phase(const http_parser_t *p)
{
    return p->headers_done ? 2 : p->started ? 1 : 0;
}
