/* server.c: the listening socket, admission (total and per-address connection limits),
 * the per-request body limit hook and its one large-upload slot, the shared read buffer, the
 * cached Date header and graceful shutdown. */
#define VG_LOG_MODULE "http"
#include "http/conn.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IP_BUCKETS 256
#define READ_BUF_SIZE 65536

typedef struct ip_count {
    struct ip_count *next;
    int count;
    char ip[48];
} ip_count_t;

struct http_server {
    vg_ctx_t *ctx;
    tls_ctx_t *tls;
    http_handler_fn handler;
    void *app;
    http_body_limit_fn body_limit;
    http_conn_t *large; /* the connection receiving (or being answered for) a large upload */
    uv_tcp_t listener;
    uv_timer_t grace;
    int listening, listener_closed, grace_started, shutting_down, done_called;
    int port;
    http_conn_t *conns;
    int nconns;    /* every open connection */
    int nadmitted; /* connections within the limits */
    ip_count_t *ips[IP_BUCKETS];
    void (*done)(void *);
    void *done_data;
    char date[40];
    time_t date_sec;
    char readbuf[READ_BUF_SIZE];
    vg_series_t *m_conns, *m_accepted, *m_hs_ok, *m_hs_fail;
};

uv_loop_t *server__loop(http_server_t *s)
{
    return s->ctx->loop;
}

vg_ctx_t *server__ctx(http_server_t *s)
{
    return s->ctx;
}

tls_ctx_t *server__tls(http_server_t *s)
{
    return s->tls;
}

int server__shutting_down(const http_server_t *s)
{
    return s->shutting_down;
}

void server__dispatch(http_server_t *s, http_request_t *req)
{
    s->handler(s->app, req);
}

void server__tls_handshake(http_server_t *s, int ok)
{
    if (ok)
        s->m_hs_ok->value += 1;
    else
        s->m_hs_fail->value += 1;
}

void server__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn_t *c = h->data;
    /* One buffer serves every connection: reads are consumed before the callback returns. */
    *buf = uv_buf_init(c->srv->readbuf, READ_BUF_SIZE);
}

size_t server__body_limit(http_server_t *s, const char *method, const char *path,
                          const char **limit_name)
{
    return s->body_limit ? s->body_limit(s->app, method, path, limit_name) : 0;
}

int server__large_take(http_server_t *s, http_conn_t *c)
{
    if (s->large && s->large != c) return -1;
    s->large = c;
    return 0;
}

void server__large_release(http_server_t *s, http_conn_t *c)
{
    if (s->large == c) s->large = NULL;
}

void http_server_set_body_limit(http_server_t *s, http_body_limit_fn fn)
{
    s->body_limit = fn;
}

const char *server__date(http_server_t *s)
{
    time_t now = time(NULL);
    if (now != s->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        s->date_sec = now;
    }
    return s->date;
}

static unsigned vg__ip_hash(const char *ip)
{
    unsigned h = 2166136261u;
    for (; *ip; ip++) h = (h ^ (unsigned char)*ip) * 16777619u;
    return h % IP_BUCKETS;
}

static ip_count_t **vg__ip_slot(http_server_t *s, const char *ip)
{
    ip_count_t **pp = &s->ips[vg__ip_hash(ip)];
    while (*pp && strcmp((*pp)->ip, ip) != 0) pp = &(*pp)->next;
    return pp;
}

/* Adds `delta` to the count of `ip`. Returns the new count, or -1 when out of memory. */
static int vg__ip_add(http_server_t *s, const char *ip, int delta)
{
    ip_count_t **pp = vg__ip_slot(s, ip);
    if (!*pp) {
        if (delta <= 0) return 0;
        ip_count_t *e = calloc(1, sizeof *e);
        if (!e) return -1;
        snprintf(e->ip, sizeof e->ip, "%s", ip);
        *pp = e;
    }
    ip_count_t *e = *pp;
    e->count += delta;
    int n = e->count;
    if (n <= 0) {
        *pp = e->next;
        free(e);
    }
    return n;
}

static int vg__ip_get(http_server_t *s, const char *ip)
{
    ip_count_t *e = *vg__ip_slot(s, ip);
    return e ? e->count : 0;
}

static void vg__check_done(http_server_t *s);

void server__conn_closed(http_server_t *s, http_conn_t *c)
{
    server__large_release(s, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    if (c->admitted) {
        s->nadmitted--;
        vg__ip_add(s, c->ip, -1);
    }
    s->m_conns->value = s->nconns;
    if (s->shutting_down) vg__check_done(s);
}

/* Fills ip/loopback from the peer address of `tcp`. */
static void vg__peer(uv_tcp_t *tcp, char *ip, size_t len, int *loopback)
{
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    *loopback = 0;
    snprintf(ip, len, "unknown");
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &sl)) return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, len);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
            const uint8_t *b = a->sin6_addr.s6_addr + 12;
            snprintf(ip, len, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
            *loopback = b[0] == 127;
        } else {
            uv_ip6_name(a, ip, len);
            *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
        }
    }
}

static void on_reject_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *ls, int status)
{
    http_server_t *s = ls->data;
    if (status < 0) {
        vg_warn(&s->ctx->log, "accept failed: %s", uv_strerror(status));
        return;
    }
    const vg_config_t *cfg = &s->ctx->cfg;
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        /* Accept and drop, or the listener would keep waking up for this connection. */
        uv_tcp_t *t = malloc(sizeof *t);
        if (t && uv_tcp_init(s->ctx->loop, t) == 0) {
            if (uv_accept(ls, (uv_stream_t *)t) == 0) {}
            uv_close((uv_handle_t *)t, on_reject_closed);
        } else {
            free(t);
        }
        return;
    }
    c->srv = s;
    uv_tcp_init(s->ctx->loop, &c->tcp);
    uv_timer_init(s->ctx->loop, &c->timer);
    c->handles_open = 2;
    c->tcp.data = c->timer.data = c;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->m_conns->value = s->nconns;
    s->m_accepted->value += 1;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp)) {
        conn__close(c);
        return;
    }
    vg__peer(&c->tcp, c->ip, sizeof c->ip, &c->loopback);
    /* Connections over a limit are answered (421/503) rather than dropped, within a slack;
     * past it they are closed at once so rejections cannot exhaust the process. */
    int64_t slack = cfg->max_connections / 8 + 16;
    const char *reason = NULL;
    if (s->shutting_down || s->nconns > cfg->max_connections + slack) {
        reason = "overload";
    } else if (s->nadmitted >= cfg->max_connections) {
        c->reject_status = 503;
        reason = "total";
    } else if (vg__ip_get(s, c->ip) >= cfg->max_connections_per_ip) {
        c->reject_status = 421;
        reason = "per_ip";
    } else if (vg__ip_add(s, c->ip, 1) < 0) {
        reason = "overload";
    } else {
        c->admitted = 1;
        s->nadmitted++;
    }
    if (reason) {
        char labels[48];
        snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
        vg_metrics_inc(s->ctx->metrics, "verge_http_connections_rejected_total", labels, 1);
        if (!c->reject_status) {
            conn__close(c);
            return;
        }
    }
    conn__start(c);
}

int http_server_create(vg_ctx_t *ctx, tls_ctx_t *tls, http_handler_fn handler, void *app,
                       http_server_t **out)
{
    http_server_t *s = calloc(1, sizeof *s);
    if (!s) return VG_ENOMEM;
    s->ctx = ctx;
    s->tls = tls;
    s->handler = handler;
    s->app = app;
    s->port = -1;
    vg_metrics_t *m = ctx->metrics;
    int rc = vg_metrics_declare(m, "verge_http_connections", VG_METRIC_GAUGE,
                                "Open client connections.");
    rc |= vg_metrics_declare(m, "verge_http_connections_accepted_total", VG_METRIC_COUNTER,
                             "Connections accepted.");
    rc |= vg_metrics_declare(m, "verge_http_connections_rejected_total", VG_METRIC_COUNTER,
                             "Connections refused by a limit, by reason.");
    rc |= vg_metrics_declare(m, "verge_tls_handshakes_total", VG_METRIC_COUNTER,
                             "TLS handshakes, by result.");
    s->m_conns = vg_metrics_series(m, "verge_http_connections", NULL);
    s->m_accepted = vg_metrics_series(m, "verge_http_connections_accepted_total", NULL);
    s->m_hs_ok = vg_metrics_series(m, "verge_tls_handshakes_total", "result=\"ok\"");
    s->m_hs_fail = vg_metrics_series(m, "verge_tls_handshakes_total", "result=\"failed\"");
    if (rc || !s->m_conns || !s->m_accepted || !s->m_hs_ok || !s->m_hs_fail) {
        free(s);
        return VG_ENOMEM;
    }
    *out = s;
    return 0;
}

/* Parses "ADDR:PORT" or "[V6]:PORT" into `ss`. Returns 0 or VG_EINVAL. */
static int vg__parse_listen(const char *spec, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host) return VG_EINVAL;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) return VG_EINVAL;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    char *endp;
    long port = strtol(colon + 1, &endp, 10);
    if (!colon[1] || *endp || port < 0 || port > 65535) return VG_EINVAL;
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) return 0;
    return VG_EINVAL;
}

int http_server_listen(http_server_t *s, char *err, size_t errlen)
{
    const char *spec = s->ctx->cfg.listen;
    struct sockaddr_storage ss;
    if (vg__parse_listen(spec, &ss)) {
        snprintf(err, errlen,
                 "server.listen = \"%s\": expected ADDR:PORT, e.g. 0.0.0.0:9999 or [::]:9999", spec);
        return VG_EINVAL;
    }
    uv_tcp_init(s->ctx->loop, &s->listener);
    s->listener.data = s;
    s->listening = 1;
    int rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, uv_strerror(rc));
        return VG_EIO;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len) == 0)
        s->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                   : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return 0;
}

int http_server_port(const http_server_t *s)
{
    return s->port;
}

int http_server_connections(const http_server_t *s)
{
    return s->nconns;
}

static void on_grace_closed(uv_handle_t *h)
{
    http_server_t *s = h->data;
    if (s->done) s->done(s->done_data);
}

static void vg__check_done(http_server_t *s)
{
    if (s->done_called || s->nconns > 0 || (s->listening && !s->listener_closed)) return;
    s->done_called = 1;
    uv_timer_stop(&s->grace);
    uv_close((uv_handle_t *)&s->grace, on_grace_closed);
}

static void on_listener_closed(uv_handle_t *h)
{
    http_server_t *s = h->data;
    s->listener_closed = 1;
    vg__check_done(s);
}

static void on_grace(uv_timer_t *t)
{
    http_server_t *s = t->data;
    if (s->nconns)
        vg_warn(&s->ctx->log, "shutdown grace over: closing %d connection(s)", s->nconns);
    for (http_conn_t *c = s->conns; c; c = c->next) conn__close(c);
}

void http_server_shutdown(http_server_t *s, void (*done)(void *data), void *data)
{
    if (s->shutting_down) return;
    s->shutting_down = 1;
    s->done = done;
    s->done_data = data;
    uv_timer_init(s->ctx->loop, &s->grace);
    s->grace.data = s;
    uv_timer_start(&s->grace, on_grace, (uint64_t)s->ctx->cfg.shutdown_grace_ms, 0);
    if (s->listening) uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    /* Idle connections and event streams close now; a request being answered finishes
     * first (its response says Connection: close). */
    for (http_conn_t *c = s->conns; c; c = c->next)
        if (!c->req || c->req->streaming_) conn__close(c);
    vg__check_done(s);
}

void http_server_destroy(http_server_t *s)
{
    if (!s) return;
    for (int i = 0; i < IP_BUCKETS; i++) {
        for (ip_count_t *e = s->ips[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    free(s);
}
