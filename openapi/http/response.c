/* response.c: writing responses: the status table, whole responses with Content-Length and
 * chunked streams, and the finishing of a request (in flight or detached). */
#include "http/conn.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    int status;
    const char *text;
} vg__statuses[] = {
    {100, "Continue"},
    {200, "OK"},
    {202, "Accepted"},
    {204, "No Content"},
    {302, "Found"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {421, "Too Many Connections"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *http_status_text(int status)
{
    for (size_t i = 0; i < sizeof vg__statuses / sizeof vg__statuses[0]; i++)
        if (vg__statuses[i].status == status) return vg__statuses[i].text;
    return "Unknown";
}

const char *http_request_header(const http_request_t *req, const char *name)
{
    for (int i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

void http_request_take_body(http_request_t *req, vg_buf_t *out)
{
    *out = req->body_buf_;
    vg_buf_init(&req->body_buf_);
    req->body = "";
    req->body_len = 0;
}

static void vg__request_free(http_request_t *req)
{
    free(req->headers);
    vg_buf_close(&req->storage_);
    vg_buf_close(&req->body_buf_);
    free(req);
}

/* Whether the connection should close after this response. */
static int vg__closing(const http_request_t *req)
{
    return req->close_ || !req->keep_alive || server__shutting_down(req->conn_->srv);
}

/* Appends the status line and the common headers. */
/* Appends the status line and the common headers (with puts, not printf: this runs for
 * every response). */
static int vg__head(vg_buf_t *b, http_request_t *req, int status, const char *content_type,
                    const char *extra)
{
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), '\0'};
    int rc = vg_buf_reserve(b, 256);
    rc |= vg_buf_puts(b, "HTTP/1.1 ");
    rc |= vg_buf_puts(b, code);
    rc |= vg_buf_puts(b, " ");
    rc |= vg_buf_puts(b, http_status_text(status));
    rc |= vg_buf_puts(b, "\r\nServer: verge\r\nDate: ");
    rc |= vg_buf_puts(b, server__date(req->conn_->srv));
    rc |= vg_buf_puts(b, "\r\nContent-Type: ");
    rc |= vg_buf_puts(b, content_type);
    rc |= vg_buf_puts(b, vg__closing(req) ? "\r\nConnection: close\r\n"
                                          : "\r\nConnection: keep-alive\r\n");
    if (extra) rc |= vg_buf_puts(b, extra);
    return rc;
}

int http_respond(http_request_t *req, int status, const char *content_type,
                 const char *extra_headers, const char *body, size_t len)
{
    http_conn_t *c = req->conn_;
    if (!c) {
        vg__request_free(req);
        return VG_ECLOSED;
    }
    int close_conn = vg__closing(req);
    vg_buf_t b;
    vg_buf_init(&b);
    int rc = vg__head(&b, req, status, content_type, extra_headers);
    char num[24];
    size_t n = sizeof num;
    num[--n] = '\0';
    size_t v = len;
    do {
        num[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    rc |= vg_buf_puts(&b, "Content-Length: ");
    rc |= vg_buf_puts(&b, num + n);
    rc |= vg_buf_puts(&b, "\r\n\r\n");
    if (strcmp(req->method, "HEAD") != 0) rc |= vg_buf_append(&b, body, len);
    vg__request_free(req);
    if (rc) {
        vg_buf_close(&b);
        conn__close(c);
        return VG_ENOMEM;
    }
    rc = conn__send(c, &b);
    vg_buf_close(&b);
    if (rc) return rc;
    conn__request_done(c, close_conn);
    return 0;
}

int http_stream_begin(http_request_t *req, int status, const char *content_type,
                      const char *extra_headers)
{
    http_conn_t *c = req->conn_;
    if (!c) return VG_ECLOSED;
    vg_buf_t b;
    vg_buf_init(&b);
    int rc = vg__head(&b, req, status, content_type, extra_headers);
    rc |= vg_buf_puts(&b, "Transfer-Encoding: chunked\r\n\r\n");
    if (rc) {
        vg_buf_close(&b);
        return VG_ENOMEM;
    }
    req->streaming_ = 1;
    rc = conn__send(c, &b);
    vg_buf_close(&b);
    return rc;
}

int http_stream_write(http_request_t *req, const char *data, size_t len)
{
    http_conn_t *c = req->conn_;
    if (!c) return VG_ECLOSED;
    if (len == 0) return 0; /* an empty chunk would end the stream */
    vg_buf_t b;
    vg_buf_init(&b);
    int rc = vg_buf_printf(&b, "%zx\r\n", len);
    rc |= vg_buf_append(&b, data, len);
    rc |= vg_buf_puts(&b, "\r\n");
    if (rc) {
        vg_buf_close(&b);
        return VG_ENOMEM;
    }
    rc = conn__send(c, &b);
    vg_buf_close(&b);
    return rc;
}

size_t http_stream_queued(const http_request_t *req)
{
    /* What libuv still holds (not yet taken by the kernel) plus what is not handed to it yet;
     * write callbacks run a loop turn later, so bytes already sent are not counted. */
    if (!req->conn_) return 0;
    return uv_stream_get_write_queue_size((const uv_stream_t *)&req->conn_->tcp) +
           req->conn_->out.len;
}

int http_stream_end(http_request_t *req, int close_conn)
{
    http_conn_t *c = req->conn_;
    close_conn = close_conn || (c && vg__closing(req));
    vg__request_free(req);
    if (!c) return VG_ECLOSED;
    vg_buf_t b;
    vg_buf_init(&b);
    int rc = vg_buf_puts(&b, "0\r\n\r\n");
    if (rc == 0) rc = conn__send(c, &b);
    vg_buf_close(&b);
    if (rc) return rc;
    conn__request_done(c, close_conn);
    return 0;
}
