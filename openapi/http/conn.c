/* conn.c: the life of one connection: sniff TLS or plain HTTP, run the TLS filter, parse one
 * request at a time (pipelined bytes wait in `in`), enforce the timeouts, write responses and
 * close gracefully (half-close, then a short linger so the client reads the last reply). */
#define VG_LOG_MODULE "http"
#include "http/conn.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define CONN_LINGER_MS 1000

enum { PHASE_NONE = 0, PHASE_HANDSHAKE, PHASE_IDLE, PHASE_HEADERS, PHASE_BODY, PHASE_LINGER };

typedef struct conn_write {
    uv_write_t w;
    http_conn_t *c;
    char *data;
    size_t len;
} conn_write_t;

static void conn__process(http_conn_t *c);
static void conn__flush(http_conn_t *c);

static const vg_config_t *vg__cfg(http_conn_t *c)
{
    return &server__ctx(c->srv)->cfg;
}

static void on_timer(uv_timer_t *t);

/* Arms the connection's one timer for `phase`, unless it already holds that phase. */
static void conn__deadline(http_conn_t *c, int phase)
{
    if (c->closing || c->timer_phase == phase) return;
    const vg_config_t *cfg = vg__cfg(c);
    int64_t ms = 0;
    switch (phase) {
    case PHASE_HANDSHAKE: ms = cfg->tls_handshake_timeout_ms; break;
    case PHASE_IDLE: ms = cfg->idle_timeout_ms; break;
    case PHASE_HEADERS: ms = cfg->header_timeout_ms; break;
    case PHASE_BODY: ms = cfg->body_timeout_ms; break;
    case PHASE_LINGER: ms = CONN_LINGER_MS; break;
    default: break;
    }
    c->timer_phase = phase;
    if (phase == PHASE_NONE)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
}

static void on_handle_closed(uv_handle_t *h)
{
    http_conn_t *c = h->data;
    if (--c->handles_open > 0) return;
    http_parser_close(&c->parser);
    tls_conn_destroy(c->tls);
    vg_buf_close(&c->in);
    vg_buf_close(&c->out);
    server__conn_closed(c->srv, c);
    free(c);
}

/* Builds a request the server itself answers with an error (see http.h error_status). */
static http_request_t *conn__error_request(http_conn_t *c, int status, const char *msg);

void conn__close(http_conn_t *c)
{
    if (c->closing) return;
    c->closing = 1;
    server__large_release(c->srv, c);
    http_request_t *req = c->req;
    c->req = NULL;
    if (req) {
        req->conn_ = NULL;
        if (req->on_close) req->on_close(req);
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    http_conn_t *c = sr->data;
    if (status || c->closing) {
        conn__close(c);
        return;
    }
    /* Keep reading (and discarding) briefly so the client sees our last reply, not a reset. */
    c->lingering = 1;
    c->timer_phase = PHASE_NONE;
    conn__deadline(c, PHASE_LINGER);
}

/* Called when every queued byte is written and the connection is to close. */
static void conn__finish_close(http_conn_t *c)
{
    if (c->closing || c->lingering) return;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown)) conn__close(c);
}

static void on_write(uv_write_t *w, int status)
{
    conn_write_t *cw = (conn_write_t *)w;
    http_conn_t *c = cw->c;
    c->write_queued -= cw->len;
    free(cw->data);
    free(cw);
    if (c->closing) return;
    if (status) {
        conn__close(c);
        return;
    }
    if (c->close_after_write && c->write_queued == 0 && c->out.len == 0) conn__finish_close(c);
}

static void conn__flush(http_conn_t *c)
{
    if (c->closing || c->out.len == 0) return;
    conn_write_t *cw = malloc(sizeof *cw);
    if (!cw) {
        conn__close(c);
        return;
    }
    cw->c = c;
    cw->len = c->out.len;
    cw->data = vg_buf_steal(&c->out);
    uv_buf_t b = uv_buf_init(cw->data, (unsigned)cw->len);
    c->write_queued += cw->len;
    if (uv_write(&cw->w, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
        c->write_queued -= cw->len;
        free(cw->data);
        free(cw);
        conn__close(c);
    }
}

int conn__send(http_conn_t *c, vg_buf_t *data)
{
    if (c->closing) return VG_ECLOSED;
    if (c->mode == CONN_TLS) {
        if (tls_conn_write(c->tls, data->data, data->len)) {
            conn__close(c);
            return VG_ECLOSED;
        }
    } else if (c->out.len == 0) {
        c->out = *data; /* hand the buffer over without a copy */
        vg_buf_init(data);
    } else if (vg_buf_append(&c->out, data->data, data->len)) {
        conn__close(c);
        return VG_ECLOSED;
    }
    conn__flush(c);
    return c->closing ? VG_ECLOSED : 0;
}

static void tls_send_cb(void *data, const char *buf, size_t len)
{
    http_conn_t *c = data;
    if (vg_buf_append(&c->out, buf, len)) c->close_after_write = 1;
}

static void tls_recv_cb(void *data, const char *buf, size_t len)
{
    http_conn_t *c = data;
    if (c->lingering) return;
    if (vg_buf_append(&c->in, buf, len)) c->close_after_write = 1;
}

/* Starts closing after whatever is queued has been written. */
static void conn__close_when_written(http_conn_t *c)
{
    if (c->close_after_write) return;
    c->close_after_write = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    if (c->mode == CONN_TLS && tls_conn_ready(c->tls)) tls_conn_shutdown(c->tls);
    conn__flush(c);
    if (c->write_queued == 0 && c->out.len == 0) conn__finish_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn__read_start(http_conn_t *c)
{
    if (c->reading || c->closing || c->close_after_write) return;
    if (uv_read_start((uv_stream_t *)&c->tcp, server__alloc, on_read) == 0) c->reading = 1;
}

static void conn__read_stop(http_conn_t *c)
{
    if (!c->reading) return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

void conn__request_done(http_conn_t *c, int close_conn)
{
    c->req = NULL;
    server__large_release(c->srv, c);
    c->continue_sent = 0;
    if (close_conn || server__shutting_down(c->srv)) {
        conn__close_when_written(c);
        return;
    }
    http_parser_next(&c->parser);
    if (!c->processing) conn__process(c);
}

static void on_timer(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    int phase = c->timer_phase;
    c->timer_phase = PHASE_NONE;
    if (c->closing) return;
    if ((phase == PHASE_HEADERS || phase == PHASE_BODY) && !c->req && !c->close_after_write) {
        http_request_t *req = conn__error_request(
            c, 408,
            phase == PHASE_HEADERS ? "request headers not received within limits.header_timeout_ms"
                                   : "request body not received within limits.body_timeout_ms");
        if (req) {
            c->req = req;
            server__dispatch(c->srv, req);
            return;
        }
    }
    conn__close(c);
}

static http_request_t *conn__request_new(http_conn_t *c)
{
    http_request_t *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    req->conn_ = c;
    memcpy(req->peer_ip, c->ip, sizeof req->peer_ip);
    req->peer_loopback = c->loopback;
    req->tls = c->mode == CONN_TLS;
    req->start_ns = vg_mono_ns();
    req->method = req->path = req->query = req->body = "";
    vg_buf_init(&req->storage_);
    vg_buf_init(&req->body_buf_);
    return req;
}

static http_request_t *conn__error_request(http_conn_t *c, int status, const char *msg)
{
    http_request_t *req = conn__request_new(c);
    if (!req) return NULL;
    req->error_status = status;
    req->error_msg = msg;
    req->close_ = 1;
    return req;
}

/* Turns the parser's complete request into an http_request_t. NULL when out of memory. */
static http_request_t *conn__take_request(http_conn_t *c)
{
    http_request_t *req = conn__request_new(c);
    if (!req) return NULL;
    http_parsed_t p;
    http_parser_take(&c->parser, &p);
    req->headers = calloc(p.nheaders ? (size_t)p.nheaders : 1, sizeof *req->headers);
    if (!req->headers) {
        http_parsed_close(&p);
        free(req);
        return NULL;
    }
    for (int i = 0; i < p.nheaders; i++) {
        req->headers[i].name = p.headers[i].name;
        req->headers[i].value = p.headers[i].value;
    }
    req->nheaders = p.nheaders;
    req->method = p.method;
    req->path = p.path;
    req->query = p.query;
    req->keep_alive = p.keep_alive;
    free(p.headers);
    req->storage_ = p.storage;
    req->body_buf_ = p.body;
    req->body = req->body_buf_.data ? req->body_buf_.data : "";
    req->body_len = req->body_buf_.len;
    return req;
}

static void conn__send_continue(http_conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    vg_buf_t b;
    vg_buf_init(&b);
    if (vg_buf_append(&b, cont, sizeof cont - 1) == 0) conn__send(c, &b);
    vg_buf_close(&b);
    c->continue_sent = 1;
}

/* Parses and dispatches as many requests as `in` holds, one at a time. */
static void conn__process(http_conn_t *c)
{
    c->processing = 1;
    while (!c->req && !c->closing && !c->close_after_write) {
        if (c->in.len == 0) {
            int ph = http_parser_phase(&c->parser);
            conn__deadline(c, ph == 0 ? PHASE_IDLE : ph == 1 ? PHASE_HEADERS : PHASE_BODY);
            break;
        }
        size_t used = 0;
        http_parse_result_t r = http_parser_feed(&c->parser, c->in.data, c->in.len, &used);
        vg_buf_consume(&c->in, used);
        if (r == HTTP_PARSE_MORE) {
            int ph = http_parser_phase(&c->parser);
            if (ph == 2 && c->parser.expect_continue && !c->continue_sent)
                conn__send_continue(c);
            conn__deadline(c, ph == 1 ? PHASE_HEADERS : PHASE_BODY);
            break;
        }
        http_request_t *req;
        if (r == HTTP_PARSE_ERROR) {
            req = conn__error_request(c, c->parser.error_status, c->parser.error_msg);
            c->in.len = 0;
        } else {
            req = conn__take_request(c);
            if (req && c->reject_status) {
                req->error_status = c->reject_status;
                req->error_msg = c->reject_status == 421
                                     ? "too many connections from this address "
                                       "(limits.max_connections_per_ip)"
                                     : "too many connections (limits.max_connections)";
                req->close_ = 1;
            }
        }
        if (!req) {
            conn__close(c);
            break;
        }
        conn__deadline(c, PHASE_NONE);
        c->req = req;
        server__dispatch(c->srv, req);
    }
    c->processing = 0;
    if (c->closing) return;
    if (c->req && c->in.len > (size_t)vg__cfg(c)->max_pipeline_bytes)
        conn__read_stop(c);
    else
        conn__read_start(c);
}

/* First bytes of a connection: TLS ClientHello or plain HTTP? */
static void conn__sniff(http_conn_t *c)
{
    int tls = tls_sniff((const unsigned char *)c->in.data, c->in.len);
    if (tls < 0) return;
    if (tls == 1 && server__tls(c->srv)) {
        tls_io_t io = {tls_send_cb, tls_recv_cb, c};
        if (tls_conn_create(server__tls(c->srv), &io, &c->tls)) {
            conn__close(c);
            return;
        }
        c->mode = CONN_TLS;
        vg_buf_t raw = c->in;
        vg_buf_init(&c->in);
        int rc = tls_conn_feed(c->tls, raw.data, raw.len);
        vg_buf_close(&raw);
        conn__flush(c);
        if (rc) {
            server__tls_handshake(c->srv, 0);
            conn__close_when_written(c);
        }
        return;
    }
    c->mode = CONN_PLAIN;
    if (!server__tls(c->srv) || (c->loopback && vg__cfg(c)->plain_http_loopback)) {
        conn__process(c);
        return;
    }
    http_request_t *req = conn__error_request(
        c, 400, "this port speaks HTTPS; plain HTTP is accepted only from loopback clients");
    if (!req) {
        conn__close(c);
        return;
    }
    c->in.len = 0;
    c->req = req;
    server__dispatch(c->srv, req);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_conn_t *c = s->data;
    if (nread == 0 || c->closing) return;
    if (nread < 0) {
        conn__close(c);
        return;
    }
    if (c->lingering) return;
    size_t n = (size_t)nread;
    if (c->mode == CONN_TLS) {
        int was_ready = tls_conn_ready(c->tls);
        int rc = tls_conn_feed(c->tls, buf->base, n);
        conn__flush(c);
        if (!was_ready && tls_conn_ready(c->tls)) {
            server__tls_handshake(c->srv, 1);
        }
        if (rc == VG_ETLS) {
            if (!was_ready) server__tls_handshake(c->srv, 0);
            conn__close_when_written(c);
            return;
        }
        if (rc == VG_ECLOSED) {
            conn__close_when_written(c);
            return;
        }
        if (!tls_conn_ready(c->tls)) return;
        if (!c->processing) conn__process(c);
        return;
    }
    if (vg_buf_append(&c->in, buf->base, n)) {
        conn__close(c);
        return;
    }
    if (c->mode == CONN_SNIFF)
        conn__sniff(c);
    else if (!c->processing)
        conn__process(c);
}

/* The parser's body hook: the server's limit for this request, and its one large upload at
 * a time (the slot is held until the request is answered or the connection closes). */
static void conn__body_hook(void *arg, const char *method, const char *path,
                            http_body_decision_t *d)
{
    http_conn_t *c = arg;
    const char *name = NULL;
    size_t limit = server__body_limit(c->srv, method, path, &name);
    if (limit == 0) return;
    d->limit = limit;
    if (name) d->limit_name = name;
    if (limit > (size_t)vg__cfg(c)->max_body_bytes && server__large_take(c->srv, c)) {
        d->refuse_status = 503;
        d->refuse_msg = "another upload is being received; the gateway takes one at a time: "
                        "retry when it is done";
    }
}

void conn__start(http_conn_t *c)
{
    c->tcp.data = c;
    c->timer.data = c;
    http_parser_limits_t lim = {
        (size_t)vg__cfg(c)->max_header_bytes,
        (size_t)vg__cfg(c)->max_headers,
        (size_t)vg__cfg(c)->max_body_bytes,
    };
    http_parser_init(&c->parser, &lim);
    http_parser_set_body_hook(&c->parser, conn__body_hook, c);
    vg_buf_init(&c->in);
    vg_buf_init(&c->out);
    uv_tcp_nodelay(&c->tcp, 1);
    conn__deadline(c, PHASE_HANDSHAKE);
    conn__read_start(c);
}
