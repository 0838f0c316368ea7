/* response.c: HTTP/1.1 responses parsed with llhttp in response mode. The bytes come from
 * the network and are untrusted: header and body sizes are bounded inside the callbacks, so
 * an oversized response is refused before it is buffered. No I/O here (fuzz_client_response
 * drives it directly). */
#include "client/client.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CLIENT__MAX_HEADER_BYTES (64 * 1024)
#define CLIENT__MAX_HEADERS      128

enum { HDR_NONE = 0, HDR_NAME, HDR_NAME_DONE, HDR_VALUE };

void client_response_init(client_response_t *r)
{
    memset(r, 0, sizeof *r);
    vg_buf_init(&r->headers);
    vg_buf_init(&r->body);
}

void client_response_close(client_response_t *r)
{
    vg_buf_close(&r->headers);
    vg_buf_close(&r->body);
    memset(r, 0, sizeof *r);
}

const char *client_response_header(const client_response_t *r, const char *name)
{
    const char *p = r->headers.data;
    for (size_t i = 0; p && i < r->nheaders; i++) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0) return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

static client_parser_t *client__p(llhttp_t *ll)
{
    return (client_parser_t *)ll->data;
}

static int client__fail(client_parser_t *p, int code, const char *msg)
{
    if (!p->err) {
        p->err = code;
        snprintf(p->msg, sizeof p->msg, "%s", msg);
    }
    return -1;
}

/* Appends header bytes, counting everything of the header section against the limit. */
static int client__store(client_parser_t *p, const char *at, size_t len)
{
    p->header_bytes += len;
    if (p->header_bytes > CLIENT__MAX_HEADER_BYTES)
        return client__fail(p, VG_ELIMIT, "response headers larger than 64 KiB");
    return vg_buf_append(&p->resp->headers, at, len) ? client__fail(p, VG_ENOMEM, "out of memory")
                                                     : 0;
}

/* Ends the header being stored: NUL after the name (and an empty value when none came). */
static int client__end_header(client_parser_t *p)
{
    int rc = 0;
    if (p->state == HDR_NAME) rc = client__store(p, "", 1);
    if (rc == 0 && (p->state == HDR_NAME || p->state == HDR_NAME_DONE))
        rc = client__store(p, "", 1); /* the empty value */
    else if (rc == 0 && p->state == HDR_VALUE)
        rc = client__store(p, "", 1);
    if (rc == 0 && p->state != HDR_NONE) p->resp->nheaders++;
    p->state = HDR_NONE;
    return rc;
}

static int on_message_begin(llhttp_t *ll)
{
    client_parser_t *p = client__p(ll);
    p->began = 1;
    p->header_bytes = 0;
    p->state = HDR_NONE;
    return 0;
}

static int on_status(llhttp_t *ll, const char *at, size_t len)
{
    client_parser_t *p = client__p(ll);
    (void)at;
    p->header_bytes += len; /* counted, not kept */
    return p->header_bytes > CLIENT__MAX_HEADER_BYTES
               ? client__fail(p, VG_ELIMIT, "response status line longer than 64 KiB")
               : 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    client_parser_t *p = client__p(ll);
    if (p->state != HDR_NAME) {
        if (client__end_header(p)) return -1;
        if (p->resp->nheaders >= CLIENT__MAX_HEADERS)
            return client__fail(p, VG_ELIMIT, "more than 128 response header fields");
        p->state = HDR_NAME;
    }
    return client__store(p, at, len);
}

static int on_header_field_complete(llhttp_t *ll)
{
    client_parser_t *p = client__p(ll);
    if (p->state != HDR_NAME) return 0;
    p->state = HDR_NAME_DONE;
    return client__store(p, "", 1);
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    client_parser_t *p = client__p(ll);
    p->state = HDR_VALUE;
    return client__store(p, at, len);
}

static int on_header_value_complete(llhttp_t *ll)
{
    client_parser_t *p = client__p(ll);
    if (p->state == HDR_NAME_DONE) p->state = HDR_VALUE; /* an empty value */
    return client__end_header(p);
}

static int on_headers_complete(llhttp_t *ll)
{
    client_parser_t *p = client__p(ll);
    if (client__end_header(p)) return -1;
    int status = llhttp_get_status_code(ll);
    if (status < 100 || status > 599) { /* llhttp takes any digits; HTTP says 100..599 */
        char msg[64];
        snprintf(msg, sizeof msg, "malformed HTTP response: status %d", status);
        return client__fail(p, VG_EPROTO, msg);
    }
    if (status == 101)
        return client__fail(p, VG_EPROTO, "unexpected 101 Switching Protocols response");
    p->interim = status >= 100 && status < 200;
    p->resp->status = status;
    if (!p->interim && (ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "response body of %llu bytes exceeds the limit of %zu bytes",
                 (unsigned long long)ll->content_length, p->max_body);
        return client__fail(p, VG_ELIMIT, msg);
    }
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    client_parser_t *p = client__p(ll);
    if (len > p->max_body - p->resp->body.len) {
        char msg[128];
        snprintf(msg, sizeof msg, "response body exceeds the limit of %zu bytes", p->max_body);
        return client__fail(p, VG_ELIMIT, msg);
    }
    return vg_buf_append(&p->resp->body, at, len) ? client__fail(p, VG_ENOMEM, "out of memory") : 0;
}

static int on_message_complete(llhttp_t *ll)
{
    client_parser_t *p = client__p(ll);
    if (p->interim) { /* 100 Continue and friends: forget it, the real response follows */
        p->interim = 0;
        p->resp->status = 0;
        p->resp->nheaders = 0;
        vg_buf_consume(&p->resp->headers, p->resp->headers.len);
        return 0;
    }
    p->complete = 1;
    p->resp->keep_alive = llhttp_should_keep_alive(ll);
    return HPE_PAUSED;
}

static const llhttp_settings_t client__settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void client_parser_init(client_parser_t *p, client_response_t *resp, size_t max_body)
{
    memset(p, 0, sizeof *p);
    client_response_close(resp);
    client_response_init(resp);
    p->resp = resp;
    p->max_body = max_body;
    llhttp_init(&p->ll, HTTP_RESPONSE, &client__settings);
    p->ll.data = p;
}

/* Makes the body NUL-terminated once the response is whole. */
static int client__done(client_parser_t *p)
{
    if (vg_buf_append(&p->resp->body, "", 0) || vg_buf_append(&p->resp->headers, "", 0)) {
        client__fail(p, VG_ENOMEM, "out of memory");
        return p->err;
    }
    return 1;
}

int client_parser_feed(client_parser_t *p, const char *data, size_t len)
{
    if (p->err) return p->err;
    if (p->complete) return 1;
    llhttp_errno_t e = llhttp_execute(&p->ll, data, len);
    if (e == HPE_OK) return 0;
    if (e == HPE_PAUSED && p->complete) return client__done(p);
    if (!p->err) {
        char msg[160];
        const char *why = llhttp_get_error_reason(&p->ll);
        snprintf(msg, sizeof msg, "malformed HTTP response: %s", why && *why ? why : "?");
        client__fail(p, VG_EPROTO, msg);
    }
    return p->err;
}

int client_parser_eof(client_parser_t *p)
{
    if (p->err) return p->err;
    if (p->complete) return 1;
    llhttp_errno_t e = llhttp_finish(&p->ll);
    if ((e == HPE_OK || e == HPE_PAUSED) && p->complete) return client__done(p);
    if (p->err) return p->err;
    client__fail(p, VG_ECLOSED,
                 p->began ? "the connection closed before the response was complete"
                          : "the server closed the connection without answering");
    return p->err;
}
