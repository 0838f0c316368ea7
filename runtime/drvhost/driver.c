/* driver.c: one driver process: spawn it with its identity in the environment, turn its
 * stdout/stderr into log lines under its name, notice its exit, mark its devices Offline and
 * restart it with exponential backoff; at shutdown SIGTERM it, then SIGKILL after a bound. */
#define VG_LOG_MODULE "drvhost"
#include "drvhost/drvhost_int.h"
#include "core/error.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRV_LINE_MAX  4096
#define DRV_STABLE_MS 10000 /* a run this long resets the crash count */

extern char **environ;

static void drvhost__start_later(drvhost_driver_t *d);

/* Unlinks a removed driver from h->removing, tells its owner, frees it. */
static void drvhost__removed(drvhost_driver_t *d)
{
    drvhost_t *h = d->host;
    drvhost_driver_t **pp = &h->removing;
    while (*pp && *pp != d)
        pp = &(*pp)->next;
    if (*pp) *pp = d->next;
    if (d->removed) d->removed(d->removed_data, !d->killed);
    drvhost__driver_free(d);
}

static void on_timer_closed(uv_handle_t *hd)
{
    drvhost_driver_t *d = hd->data;
    drvhost_t *h = d->host;
    h->open_handles--;
    if (d->removing) drvhost__removed(d);
    drvhost__check_done(h);
}

/* Once stopped for good during shutdown, the driver's timer is closed too. */
static void drvhost__maybe_finish(drvhost_driver_t *d)
{
    if (!d->stopping || d->state != DRV_STOPPED || d->proc_open || d->out.open || d->err.open)
        return;
    if (!uv_is_closing((uv_handle_t *)&d->timer))
        uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

static void on_output_closed(uv_handle_t *h)
{
    drvhost_output_t *o = h->data;
    o->open = 0;
    vg_buf_close(&o->line);
    o->driver->host->open_handles--;
    drvhost__maybe_finish(o->driver);
    drvhost__check_done(o->driver->host);
}

/* Logs one line of a driver's output, without the ANSI colour sequences the SDK's logger
 * writes (ESC [ ... letter). */
static void drvhost__log_line(drvhost_output_t *o, const char *line, size_t len)
{
    char clean[DRV_LINE_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n < DRV_LINE_MAX; i++) {
        if (line[i] == '\x1b' && i + 1 < len && line[i + 1] == '[') {
            i += 2;
            while (i < len &&
                   !((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= 'a' && line[i] <= 'z')))
                i++;
            continue;
        }
        clean[n++] = line[i];
    }
    if (n == 0) return; /* what is left of the SDK's colour reset after a newline */
    line = clean;
    len = n;
    char module[96];
    snprintf(module, sizeof module, "driver:%s", o->driver->name);
    vg_log(&o->driver->host->ctx->log, o->is_stderr ? VG_LOG_WARN : VG_LOG_INFO, module, "%.*s",
           (int)len, line);
}

/* Closes an output pipe now (a child the driver left behind may hold its other end open). */
static void drvhost__output_close(drvhost_output_t *o)
{
    if (!o->open || uv_is_closing((uv_handle_t *)&o->pipe)) return;
    if (o->line.len) drvhost__log_line(o, o->line.data, o->line.len);
    uv_close((uv_handle_t *)&o->pipe, on_output_closed);
}

static void drvhost__out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(4096);
    buf->len = buf->base ? 4096 : 0;
}

static void on_output(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    drvhost_output_t *o = s->data;
    if (nread < 0) {
        drvhost__output_close(o);
    } else {
        for (ssize_t i = 0; i < nread; i++) {
            char ch = buf->base[i];
            if (ch == '\n' || o->line.len >= DRV_LINE_MAX) {
                drvhost__log_line(o, o->line.data ? o->line.data : "", o->line.len);
                vg_buf_consume(&o->line, o->line.len);
                if (ch == '\n') continue;
            }
            if (ch != '\r') vg_buf_append(&o->line, &ch, 1);
        }
    }
    free(buf->base);
}

static void on_proc_closed(uv_handle_t *h)
{
    drvhost_driver_t *d = h->data;
    d->proc_open = 0;
    d->host->open_handles--;
    drvhost__maybe_finish(d);
    drvhost__check_done(d->host);
}

static void on_proc_exit(uv_process_t *p, int64_t status, int term_signal)
{
    drvhost_driver_t *d = p->data;
    vg_ctx_t *ctx = d->host->ctx;
    uint64_t ran = uv_now(ctx->loop) - d->started_at;
    /* Whatever the driver started goes with it: its process group is signalled, and its
     * output pipes close even if a straggler still holds them. */
    uv_kill(-(int)d->pid, SIGKILL);
    uv_read_stop((uv_stream_t *)&d->out.pipe);
    uv_read_stop((uv_stream_t *)&d->err.pipe);
    drvhost__output_close(&d->out);
    drvhost__output_close(&d->err);
    uv_close((uv_handle_t *)&d->proc, on_proc_closed);
    if (d->conn) drvhost__conn_close(d->conn); /* marks its devices Offline */
    drvhost__fail_pending(d, 100008, "Service unreachable");
    d->m_up->value = 0;
    if (d->stopping) {
        uv_timer_stop(&d->timer);
        d->state = DRV_STOPPED;
        vg_info(&ctx->log, "driver %s stopped (%s %d)", d->name, term_signal ? "signal" : "status",
                term_signal ? term_signal : (int)status);
        drvhost__maybe_finish(d);
        return;
    }
    if (term_signal)
        vg_warn(&ctx->log, "driver %s (pid %lld) killed by signal %d after %llu ms", d->name,
                (long long)d->pid, term_signal, (unsigned long long)ran);
    else
        vg_warn(&ctx->log, "driver %s (pid %lld) exited with status %lld after %llu ms", d->name,
                (long long)d->pid, (long long)status, (unsigned long long)ran);
    if (ran >= DRV_STABLE_MS) d->crashes = 0;
    drvhost__start_later(d);
}

static void on_restart(uv_timer_t *t)
{
    drvhost_driver_t *d = t->data;
    if (d->state != DRV_BACKOFF || d->stopping) return;
    if (d->proc_open || d->out.open || d->err.open) { /* the last run is still closing */
        uv_timer_start(&d->timer, on_restart, 10, 0);
        return;
    }
    d->m_restarts->value += 1;
    drvhost__driver_start(d);
}

/* Schedules a restart: initial delay, doubling per consecutive crash, up to the maximum. */
static void drvhost__start_later(drvhost_driver_t *d)
{
    const vg_config_t *cfg = &d->host->ctx->cfg;
    int64_t delay = cfg->driver_restart_initial_ms;
    for (int i = 0; i < d->crashes && delay < cfg->driver_restart_max_ms; i++)
        delay *= 2;
    if (delay > cfg->driver_restart_max_ms) delay = cfg->driver_restart_max_ms;
    d->crashes++;
    d->exits++;
    d->state = DRV_BACKOFF;
    if (d->crashes >= 3)
        vg_error(&d->host->ctx->log,
                 "driver %s is crash-looping: %d failed runs in a row; next start in %lld ms",
                 d->name, d->crashes, (long long)delay);
    else
        vg_info(&d->host->ctx->log, "driver %s: restart in %lld ms", d->name, (long long)delay);
    uv_timer_start(&d->timer, on_restart, (uint64_t)delay, 0);
}

/* Builds the child's environment: ours plus the driver's identity. NULL when out of memory. */
static char **drvhost__env(drvhost_driver_t *d)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 5, sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    static const char *const ours[] = {
        "FUNCTION_ID=", "FUNCTION_NAME=", "VERGE_DRIVER_SOCKET=", "VERGE_DRIVER_TOKEN="};
    for (size_t i = 0; i < n; i++) {
        int skip = 0;
        for (size_t j = 0; j < 4; j++)
            if (strncmp(environ[i], ours[j], strlen(ours[j])) == 0) skip = 1;
        if (!skip) env[k++] = strdup(environ[i]);
    }
    const char *vals[] = {d->name, d->name, d->host->socket_path ? d->host->socket_path : "",
                          d->token};
    for (size_t j = 0; j < 4; j++) {
        size_t l = strlen(ours[j]) + strlen(vals[j]) + 1;
        env[k] = malloc(l);
        if (env[k]) snprintf(env[k], l, "%s%s", ours[j], vals[j]);
        k++;
    }
    return env;
}

static void drvhost__env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static int drvhost__output_open(drvhost_driver_t *d, drvhost_output_t *o, int is_stderr)
{
    o->driver = d;
    o->is_stderr = is_stderr;
    vg_buf_init(&o->line);
    if (uv_pipe_init(d->host->ctx->loop, &o->pipe, 0)) return -1;
    o->pipe.data = o;
    o->open = 1;
    d->host->open_handles++;
    return 0;
}

void drvhost__driver_start(drvhost_driver_t *d)
{
    vg_ctx_t *ctx = d->host->ctx;
    unsigned char rnd[32];
    if (uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL)) {
        drvhost__start_later(d);
        return;
    }
    for (int i = 0; i < 32; i++)
        snprintf(d->token + i * 2, 3, "%02x", rnd[i]);
    char **env = drvhost__env(d);
    if (!env || drvhost__output_open(d, &d->out, 0) || drvhost__output_open(d, &d->err, 1)) {
        drvhost__env_free(env);
        vg_error(&ctx->log, "driver %s: out of memory starting it", d->name);
        drvhost__start_later(d);
        return;
    }
    char *args[] = {d->exec, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&d->out.pipe},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&d->err.pipe},
    };
    uv_process_options_t opt = {
        .flags = UV_PROCESS_DETACHED, /* its own process group: stopping it stops its children */
        .exit_cb = on_proc_exit,
        .file = d->exec,
        .args = args,
        .env = env,
        .cwd = d->workdir,
        .stdio_count = 3,
        .stdio = stdio,
    };
    d->proc.data = d;
    d->started_at = uv_now(ctx->loop);
    int rc = uv_spawn(ctx->loop, &d->proc, &opt);
    drvhost__env_free(env);
    d->host->open_handles++;
    d->proc_open = 1;
    if (rc) {
        vg_error(&ctx->log, "driver %s: cannot start %s: %s", d->name, d->exec, uv_strerror(rc));
        uv_close((uv_handle_t *)&d->proc, on_proc_closed);
        uv_close((uv_handle_t *)&d->out.pipe, on_output_closed);
        uv_close((uv_handle_t *)&d->err.pipe, on_output_closed);
        drvhost__start_later(d);
        return;
    }
    d->pid = d->proc.pid;
    d->state = DRV_RUNNING;
    uv_read_start((uv_stream_t *)&d->out.pipe, drvhost__out_alloc, on_output);
    uv_read_start((uv_stream_t *)&d->err.pipe, drvhost__out_alloc, on_output);
    vg_info(&ctx->log, "driver %s started (pid %lld)", d->name, (long long)d->pid);
}

static void on_kill_deadline(uv_timer_t *t)
{
    drvhost_driver_t *d = t->data;
    if (d->state != DRV_RUNNING) return;
    vg_warn(&d->host->ctx->log, "driver %s ignored SIGTERM for %lld ms: SIGKILL", d->name,
            (long long)d->host->ctx->cfg.driver_stop_timeout_ms);
    d->killed = 1;
    uv_kill(-(int)d->pid, SIGKILL);
}

void drvhost__driver_stop(drvhost_driver_t *d)
{
    d->stopping = 1;
    if (d->state == DRV_RUNNING) {
        uv_kill(-(int)d->pid, SIGTERM);
        uv_timer_start(&d->timer, on_kill_deadline,
                       (uint64_t)d->host->ctx->cfg.driver_stop_timeout_ms, 0);
        return;
    }
    uv_timer_stop(&d->timer);
    d->state = DRV_STOPPED;
    drvhost__maybe_finish(d);
}

/* Marks Offline every device this driver had online. */
static void drvhost__offline_each(void *data, things_device_t *dev)
{
    drvhost_driver_t *d = data;
    if (things_device_is_online(dev) && strcmp(things_device_driver(dev), d->name) == 0)
        things_device_set_offline(d->host->things, dev);
}

void drvhost__driver_attached(drvhost_driver_t *d, drvhost_conn_t *c)
{
    d->conn = c;
    d->config_subscribed = 0;
    d->m_up->value = 1;
    vg_info(&d->host->ctx->log, "driver %s connected (pid %lld)", d->name, (long long)d->pid);
}

void drvhost__driver_detached(drvhost_driver_t *d, const char *why)
{
    d->conn = NULL;
    d->m_up->value = 0;
    things_device_each(d->host->things, drvhost__offline_each, d);
    drvhost__fail_pending(d, 100008, "Service unreachable");
    vg_info(&d->host->ctx->log, "driver %s disconnected: %s", d->name, why);
}

void drvhost__driver_free(drvhost_driver_t *d)
{
    free(d->name);
    free(d->exec);
    free(d->workdir);
    free(d->config);
    free(d);
}
