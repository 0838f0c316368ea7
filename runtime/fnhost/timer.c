/* timer.c: function timers. An everyMs timer repeats on a libuv timer; a cron timer is a
 * one-shot timer re-armed for the next matching minute after each firing (core/cron.h).
 * Each firing is an ordinary asynchronous invocation with the timer event. */
#include "fnhost/fnhost_int.h"
#include "core/buf.h"
#include "core/cron.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct fnhost__timer {
    fnhost__fn_t *fn;
    uv_timer_t handle;
    int open;     /* the handle is initialised and not yet closed */
    size_t index; /* in the manifest's timers array */
    int64_t every_ms;
    vg_cron_t cron;
    char *cron_text; /* NULL for an everyMs timer */
    char *payload;
    int64_t scheduled_ms; /* when the current arming is due (wall clock) */
};

int fnhost__timers_init(fnhost__fn_t *fn, const fnhost_timer_t *specs, size_t n, char *err,
                        size_t errlen)
{
    if (n == 0) return 0;
    if (n > FNHOST_TIMERS_MAX) {
        snprintf(err, errlen, "function %s/%s: %zu timers: at most %d", fn->service, fn->name, n,
                 FNHOST_TIMERS_MAX);
        return VG_EINVAL;
    }
    fnhost__timer_t *t = calloc(n, sizeof *t);
    if (!t) goto oom;
    fn->timers = t;
    fn->ntimers = n;
    for (size_t i = 0; i < n; i++) {
        const fnhost_timer_t *s = &specs[i];
        t[i].fn = fn;
        t[i].index = i;
        if ((s->every_ms > 0) == (s->cron != NULL) || s->every_ms < 0) {
            snprintf(err, errlen, "function %s/%s: timers[%zu]: expected exactly one of everyMs "
                     "(> 0) and cron", fn->service, fn->name, i);
            goto fail;
        }
        t[i].every_ms = s->every_ms;
        if (s->cron) {
            char why[256];
            if (vg_cron_parse(s->cron, &t[i].cron, why, sizeof why)) {
                snprintf(err, errlen, "function %s/%s: timers[%zu].cron \"%s\": %s", fn->service,
                         fn->name, i, s->cron, why);
                goto fail;
            }
            if (!(t[i].cron_text = strdup(s->cron))) goto oom;
        }
        if (!(t[i].payload = strdup(s->payload ? s->payload : ""))) goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    fnhost__timers_free(fn);
    return VG_ENOMEM;
fail:
    fnhost__timers_free(fn);
    return VG_EINVAL;
}

/* Arms the cron timer `t` for its next minute after now; logs when there is none. */
static void timer_arm_cron(fnhost__timer_t *t);

/* Invokes the function with the timer event. */
static void timer_fire(fnhost__timer_t *t)
{
    fnhost__fn_t *fn = t->fn;
    vg_buf_t ev;
    vg_buf_init(&ev);
    int64_t now = vg_time_ms();
    int rc = vg_buf_printf(&ev, "{\"type\":\"timer\",\"index\":%zu,", t->index);
    if (!rc && t->cron_text) {
        rc = vg_buf_puts(&ev, "\"cron\":") ||
             vg_json_quote(&ev, t->cron_text, strlen(t->cron_text));
    } else if (!rc) {
        rc = vg_buf_printf(&ev, "\"everyMs\":%" PRId64, t->every_ms);
    }
    if (!rc)
        rc = vg_buf_printf(&ev, ",\"scheduledMs\":%" PRId64 ",\"firedMs\":%" PRId64 ",\"payload\":",
                           t->scheduled_ms, now) ||
             vg_json_quote(&ev, t->payload, strlen(t->payload)) || vg_buf_puts(&ev, "}");
    if (rc) {
        vg_error(&fn->host->ctx->log, "%s/%s: timers[%zu]: out of memory, firing skipped",
                 fn->service, fn->name, t->index);
    } else {
        rc = fnhost__invoke(fn->host, fn->service, fn->name, ev.data, ev.len, NULL, NULL, "timer",
                            1, NULL, NULL, NULL);
        if (rc && rc != VG_ELIMIT && rc != VG_ECLOSED)
            vg_error(&fn->host->ctx->log, "%s/%s: timers[%zu]: %s", fn->service, fn->name,
                     t->index, vg_strerror(rc));
    }
    vg_buf_close(&ev);
}

static void on_timer(uv_timer_t *handle)
{
    fnhost__timer_t *t = handle->data;
    if (t->fn->host->closing) return;
    timer_fire(t);
    if (t->cron_text)
        timer_arm_cron(t);
    else
        t->scheduled_ms += t->every_ms;
}

static void timer_arm_cron(fnhost__timer_t *t)
{
    int64_t now = vg_time_ms();
    /* After the minute just fired, not before: a firing a little early must not repeat. */
    int64_t after = t->scheduled_ms > now ? t->scheduled_ms : now;
    int64_t next = vg_cron_next(&t->cron, after);
    if (next < 0) {
        vg_warn(&t->fn->host->ctx->log,
                "%s/%s: timers[%zu].cron \"%s\" never fires again within eight years",
                t->fn->service, t->fn->name, t->index, t->cron_text);
        return;
    }
    t->scheduled_ms = next;
    uv_timer_start(&t->handle, on_timer, (uint64_t)(next - now), 0);
}

void fnhost__timers_start(fnhost__fn_t *fn)
{
    fnhost_t *h = fn->host;
    for (size_t i = 0; i < fn->ntimers; i++) {
        fnhost__timer_t *t = &fn->timers[i];
        if (t->open || h->closing) continue;
        uv_timer_init(h->ctx->loop, &t->handle);
        t->handle.data = t;
        t->open = 1;
        h->handles++;
        if (t->cron_text) {
            t->scheduled_ms = 0;
            timer_arm_cron(t);
        } else {
            t->scheduled_ms = vg_time_ms() + t->every_ms;
            uv_timer_start(&t->handle, on_timer, (uint64_t)t->every_ms, (uint64_t)t->every_ms);
        }
    }
}

static void on_timer_closed(uv_handle_t *handle)
{
    fnhost__timer_t *t = handle->data;
    fnhost__handle_closed(t->fn->host);
}

void fnhost__timers_close(fnhost__fn_t *fn)
{
    for (size_t i = 0; i < fn->ntimers; i++) {
        fnhost__timer_t *t = &fn->timers[i];
        if (!t->open) continue;
        t->open = 0;
        uv_close((uv_handle_t *)&t->handle, on_timer_closed);
    }
}

void fnhost__timers_free(fnhost__fn_t *fn)
{
    for (size_t i = 0; i < fn->ntimers; i++) {
        free(fn->timers[i].cron_text);
        free(fn->timers[i].payload);
    }
    free(fn->timers);
    fn->timers = NULL;
    fn->ntimers = 0;
}
