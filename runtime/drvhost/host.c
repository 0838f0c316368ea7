/* host.c: the driver socket: listen, accept, read frames, the token handshake that binds a
 * connection to the driver process it was given to, and the host's life cycle. A connection
 * that breaks the protocol is logged and closed; nothing else is affected. */
#define VG_LOG_MODULE "drvhost"
#include "drvhost/drvhost_int.h"
#include "core/error.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Most time one connection's frames may take on the loop before it yields the rest of the
 * loop turn: a flooding driver then waits for the next turn (its bytes stay buffered), so
 * the loop keeps serving everything else. */
#define DRVHOST_TURN_NS 250000

static void drvhost__feed(drvhost_conn_t *c, const char *data, size_t len);

static void drvhost__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    drvhost_conn_t *c = h->data;
    *buf = uv_buf_init(c->host->readbuf, sizeof c->host->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Once per loop turn: every connection gets a fresh budget; paused ones read again. */
static void on_resume(uv_idle_t *ch)
{
    drvhost_t *h = ch->data;
    int paused = 0;
    for (drvhost_conn_t *c = h->conns; c; c = c->next) {
        c->turn_ns = 0;
        if (!c->paused || c->closing) continue;
        c->paused = 0;
        drvhost__feed(c, "", 0); /* the frames left buffered last turn */
        if (c->paused)
            paused = 1;
        else if (!c->closing)
            uv_read_start((uv_stream_t *)&c->pipe, drvhost__alloc, on_read);
    }
    if (!paused) uv_idle_stop(ch);
}

int drvhost_create(vg_ctx_t *ctx, things_t *things, drvhost_t **out)
{
    drvhost_t *h = calloc(1, sizeof *h);
    if (!h) return VG_ENOMEM;
    h->ctx = ctx;
    h->things = things;
    int rc = vg_metrics_declare(ctx->metrics, "verge_driver_restarts_total", VG_METRIC_COUNTER,
                                "Driver process restarts, by driver.");
    rc |= vg_metrics_declare(ctx->metrics, "verge_driver_up", VG_METRIC_GAUGE,
                             "1 while the driver's process runs and is connected.");
    rc |= vg_metrics_declare(ctx->metrics, "verge_driver_protocol_errors_total", VG_METRIC_COUNTER,
                             "Driver connections closed for a protocol error.");
    if (rc) {
        free(h);
        return VG_ENOMEM;
    }
    uv_idle_init(ctx->loop, &h->resume);
    h->resume.data = h;
    uv_unref((uv_handle_t *)&h->resume);
    h->resume_init = 1;
    h->open_handles++;
    *out = h;
    return 0;
}

drvhost_driver_t *drvhost__find(drvhost_t *h, const char *name)
{
    for (drvhost_driver_t *d = h->drivers; d; d = d->next)
        if (strcmp(d->name, name) == 0) return d;
    return NULL;
}

static void on_handle_closed(uv_handle_t *hd)
{
    drvhost_t *h = hd->data;
    h->open_handles--;
    drvhost__check_done(h);
}

static void on_conn_handle_closed(uv_handle_t *hd)
{
    drvhost_conn_t *c = hd->data;
    if (--c->handles_open > 0) return;
    drvhost_t *h = c->host;
    drvhost_conn_t **pp = &h->conns;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp) *pp = c->next;
    drvhost_frame_reader_close(&c->reader);
    free(c);
    h->open_handles--;
    drvhost__check_done(h);
}

void drvhost__conn_close(drvhost_conn_t *c)
{
    if (c->closing) return;
    c->closing = 1;
    if (c->driver) {
        drvhost_driver_t *d = c->driver;
        c->driver = NULL;
        drvhost__driver_detached(d, "connection closed");
    }
    uv_close((uv_handle_t *)&c->pipe, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->hello_timer, on_conn_handle_closed);
}

static void on_write(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows up as a read error or EOF too */
    free(w->data);
    free(w);
}

int drvhost__send(drvhost_conn_t *c, const json_t *msg)
{
    if (c->closing) return VG_ECLOSED;
    vg_buf_t b;
    vg_buf_init(&b);
    if (drvhost_frame_encode(&b, msg)) {
        vg_buf_close(&b);
        return VG_ENOMEM;
    }
    uv_write_t *w = malloc(sizeof *w);
    if (!w) {
        vg_buf_close(&b);
        return VG_ENOMEM;
    }
    uv_buf_t ub = uv_buf_init(b.data, (unsigned)b.len);
    w->data = vg_buf_steal(&b);
    if (uv_write(w, (uv_stream_t *)&c->pipe, &ub, 1, on_write)) {
        free(w->data);
        free(w);
        drvhost__conn_close(c);
        return VG_ECLOSED;
    }
    return 0;
}

/* Answers a failed handshake and closes. */
static void drvhost__refuse(drvhost_conn_t *c, int code, const char *message)
{
    vg_warn(&c->host->ctx->log, "driver connection refused: %s", message);
    json_t *e = json_pack("{s:s,s:i,s:s}", "type", "error", "code", code, "message", message);
    if (e) drvhost__send(c, e);
    json_decref(e);
    drvhost__conn_close(c);
}

static void drvhost__hello(drvhost_conn_t *c, drvhost_msg_t *m)
{
    drvhost_t *h = c->host;
    drvhost_driver_t *d = drvhost__find(h, m->function_id);
    char msg[256];
    if (!d || d->state != DRV_RUNNING || strcmp(d->token, m->token) != 0) {
        snprintf(msg, sizeof msg, "no running driver \"%.64s\" with this token", m->function_id);
        drvhost__refuse(c, 100001, msg);
        return;
    }
    int ok = 0;
    size_t i;
    json_t *v;
    json_array_foreach(m->versions, i, v) if (json_integer_value(v) == DRVHOST_PROTOCOL_VERSION)
        ok = 1;
    if (!ok) {
        char *got = json_dumps(m->versions, JSON_COMPACT);
        snprintf(msg, sizeof msg, "unsupported protocol versions %s; this runtime speaks [%d]",
                 got ? got : "?", DRVHOST_PROTOCOL_VERSION);
        free(got);
        drvhost__refuse(c, 100001, msg);
        return;
    }
    if (d->conn) drvhost__conn_close(d->conn); /* a reconnect replaces the old connection */
    uv_timer_stop(&c->hello_timer);
    c->driver = d;
    json_t *w = json_pack("{s:s,s:i,s:s}", "type", "welcome", "version", DRVHOST_PROTOCOL_VERSION,
                          "driver", d->name);
    int rc = w ? drvhost__send(c, w) : VG_ENOMEM;
    json_decref(w);
    if (rc == 0) drvhost__driver_attached(d, c);
}

/* One frame from a connection; returns non-zero to stop reading this buffer. */
static int drvhost__frame(void *arg, const char *frame, size_t len)
{
    drvhost_conn_t *c = arg;
    if (c->closing) return 1;
    drvhost_msg_t m;
    char err[256];
    if (drvhost_msg_parse(frame, len, &m, err, sizeof err)) {
        const char *who = c->driver ? c->driver->name : "(before hello)";
        vg_error(&c->host->ctx->log, "driver %s: protocol error: %s; disconnecting it", who, err);
        vg_metrics_inc(c->host->ctx->metrics, "verge_driver_protocol_errors_total", NULL, 1);
        if (c->driver) uv_kill(-(int)c->driver->pid, SIGTERM); /* it restarts clean */
        drvhost__conn_close(c);
        return 1;
    }
    if (!c->driver) {
        if (m.type == DRVHOST_MSG_HELLO)
            drvhost__hello(c, &m);
        else
            drvhost__refuse(c, 100001, "the first message must be hello");
    } else if (m.type == DRVHOST_MSG_HELLO) {
        vg_warn(&c->host->ctx->log, "driver %s: second hello ignored", c->driver->name);
    } else {
        drvhost__on_message(c->driver, &m);
    }
    drvhost_msg_close(&m);
    if (c->closing) return 1;
    uint64_t now = uv_hrtime();
    c->turn_ns += now - c->frame_start_ns;
    c->frame_start_ns = now;
    if (c->turn_ns < DRVHOST_TURN_NS) return 0;
    /* Budget spent: stop reading; what is buffered waits for the next loop turn. */
    if (!c->paused) uv_read_stop((uv_stream_t *)&c->pipe);
    c->paused = 1;
    if (c->host->resume_init) uv_idle_start(&c->host->resume, on_resume);
    return 1;
}

/* Hands bytes (or, with len 0, what is still buffered) to the frame reader. */
static void drvhost__feed(drvhost_conn_t *c, const char *data, size_t len)
{
    char err[160];
    c->frame_start_ns = uv_hrtime();
    int rc = drvhost_frame_feed(&c->reader, data, len, drvhost__frame, c, err, sizeof err);
    if (rc == VG_EPROTO || rc == VG_ENOMEM) {
        const char *who = c->driver ? c->driver->name : "(before hello)";
        vg_error(&c->host->ctx->log, "driver %s: protocol error: %s; disconnecting it", who,
                 rc == VG_EPROTO ? err : "out of memory");
        vg_metrics_inc(c->host->ctx->metrics, "verge_driver_protocol_errors_total", NULL, 1);
        if (c->driver) uv_kill(-(int)c->driver->pid, SIGTERM);
        drvhost__conn_close(c);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    drvhost_conn_t *c = s->data;
    if (nread < 0) {
        drvhost__conn_close(c);
    } else if (nread > 0 && !c->closing) {
        drvhost__feed(c, buf->base, (size_t)nread); /* copies what it does not parse now */
    }
}

static void on_hello_timeout(uv_timer_t *t)
{
    drvhost_conn_t *c = t->data;
    if (!c->driver) drvhost__refuse(c, 100006, "no hello within drivers.handshake_timeout_ms");
}

static void on_connection(uv_stream_t *ls, int status)
{
    drvhost_t *h = ls->data;
    if (status < 0) return;
    drvhost_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->host = h;
    uv_pipe_init(h->ctx->loop, &c->pipe, 0);
    uv_timer_init(h->ctx->loop, &c->hello_timer);
    c->pipe.data = c->hello_timer.data = c;
    c->handles_open = 2;
    h->open_handles++;
    c->next = h->conns;
    h->conns = c;
    drvhost_frame_reader_init(&c->reader, (size_t)h->ctx->cfg.driver_max_frame_bytes);
    if (h->shutting_down || uv_accept(ls, (uv_stream_t *)&c->pipe)) {
        drvhost__conn_close(c);
        return;
    }
    uv_timer_start(&c->hello_timer, on_hello_timeout,
                   (uint64_t)h->ctx->cfg.driver_handshake_timeout_ms, 0);
    uv_read_start((uv_stream_t *)&c->pipe, drvhost__alloc, on_read);
}

int drvhost_listen(drvhost_t *h, const char *path, char *err, size_t errlen)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (mkdir(dir, 0700) && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return VG_EIO;
        }
    }
    unlink(path);
    h->socket_path = strdup(path);
    if (!h->socket_path) return VG_ENOMEM;
    uv_pipe_init(h->ctx->loop, &h->listener, 0);
    h->listener.data = h;
    h->listening = 1;
    h->open_handles++;
    int rc = uv_pipe_bind(&h->listener, path);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    if (rc) {
        snprintf(err, errlen, "cannot listen on the driver socket %s: %s", path, uv_strerror(rc));
        return VG_EIO;
    }
    chmod(path, 0600);
    return 0;
}

int drvhost_add_driver(drvhost_t *h, const char *name, const char *exec, const char *workdir,
                       const char *config)
{
    if (drvhost__find(h, name)) return VG_EEXIST;
    drvhost_driver_t *d = calloc(1, sizeof *d);
    if (!d) return VG_ENOMEM;
    d->host = h;
    d->next_seq = 1; /* seq runs from 1 (docs/driver-protocol.md) */
    d->name = strdup(name);
    d->exec = strdup(exec);
    d->workdir = strdup(workdir);
    d->config = strdup(config);
    char labels[128];
    snprintf(labels, sizeof labels, "driver=\"%s\"", name);
    d->m_restarts = vg_metrics_series(h->ctx->metrics, "verge_driver_restarts_total", labels);
    d->m_up = vg_metrics_series(h->ctx->metrics, "verge_driver_up", labels);
    if (!d->name || !d->exec || !d->workdir || !d->config || !d->m_restarts || !d->m_up) {
        drvhost__driver_free(d);
        return VG_ENOMEM;
    }
    uv_timer_init(h->ctx->loop, &d->timer);
    d->timer.data = d;
    h->open_handles++;
    d->next = h->drivers;
    h->drivers = d;
    return 0;
}

void drvhost_start(drvhost_t *h)
{
    for (drvhost_driver_t *d = h->drivers; d; d = d->next)
        if (d->state == DRV_STOPPED) drvhost__driver_start(d);
}

int drvhost_set_config(drvhost_t *h, const char *name, const char *config)
{
    drvhost_driver_t *d = drvhost__find(h, name);
    if (!d) return VG_ENOENT;
    char *copy = strdup(config);
    if (!copy) return VG_ENOMEM;
    free(d->config);
    d->config = copy;
    if (d->conn && d->config_subscribed) {
        char key[160];
        snprintf(key, sizeof key, "gw_driverconfig_%s", d->name);
        json_t *call =
            json_pack("{s:s,s:I,s:s,s:{s:s,s:s}}", "type", "call", "seq", (json_int_t)d->next_seq++,
                      "method", "notifyConfig", "params", "key", key, "value", d->config);
        if (call) drvhost__send(d->conn, call);
        json_decref(call);
    }
    return 0;
}

int drvhost_remove_driver(drvhost_t *h, const char *name, void (*done)(void *data, int clean),
                          void *data)
{
    drvhost_driver_t **pp = &h->drivers;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    drvhost_driver_t *d = *pp;
    if (!d) return VG_ENOENT;
    *pp = d->next;
    d->next = h->removing;
    h->removing = d;
    d->removing = 1;
    d->removed = done;
    d->removed_data = data;
    if (d->conn) drvhost__conn_close(d->conn); /* its devices Offline, its calls failed now */
    vg_info(&h->ctx->log, "driver %s: stopping it (removed)", d->name);
    drvhost__driver_stop(d);
    return 0;
}

int drvhost_driver_health(const drvhost_t *h, const char *name, int64_t *exits, int *connected)
{
    for (const drvhost_driver_t *d = h->drivers; d; d = d->next) {
        if (strcmp(d->name, name) != 0) continue;
        if (exits) *exits = d->exits;
        if (connected) *connected = d->conn != NULL;
        return 0;
    }
    return VG_ENOENT;
}

int drvhost_drivers_up(const drvhost_t *h)
{
    int n = 0;
    for (const drvhost_driver_t *d = h->drivers; d; d = d->next)
        n += d->conn != NULL;
    return n;
}

void drvhost__check_done(drvhost_t *h)
{
    if (!h->shutting_down || h->open_handles > 0 || !h->done) return;
    void (*done)(void *) = h->done;
    h->done = NULL;
    done(h->done_data);
}

void drvhost_shutdown(drvhost_t *h, void (*done)(void *data), void *data)
{
    h->shutting_down = 1;
    h->done = done;
    h->done_data = data;
    if (h->resume_init && !uv_is_closing((uv_handle_t *)&h->resume)) {
        uv_idle_stop(&h->resume);
        uv_close((uv_handle_t *)&h->resume, on_handle_closed);
    }
    if (h->listening) {
        h->listening = 0;
        uv_close((uv_handle_t *)&h->listener, on_handle_closed);
        if (h->socket_path) unlink(h->socket_path);
    }
    for (drvhost_driver_t *d = h->drivers; d; d = d->next)
        drvhost__driver_stop(d);
    for (drvhost_conn_t *c = h->conns; c; c = c->next)
        if (!c->driver) drvhost__conn_close(c);
    drvhost__check_done(h);
}

void drvhost_destroy(drvhost_t *h)
{
    if (!h) return;
    for (drvhost_driver_t *d = h->drivers, *n; d; d = n) {
        n = d->next;
        drvhost__driver_free(d);
    }
    for (drvhost_driver_t *d = h->removing, *n; d; d = n) { /* only after a failed start */
        n = d->next;
        drvhost__driver_free(d);
    }
    free(h->socket_path);
    free(h);
}
