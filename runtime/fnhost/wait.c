/* wait.c: a lecoresdk call that waits (sleep, a device request, a sync invoke). The
 * invocation's coroutine yields; a timer (the sleep, or a guard at the deadline) and the
 * operation's callback resume it. A wait outlives an invocation killed or closed before. */
#include "fnhost/fnhost_int.h"

#include "core/metrics.h"

#include <stdio.h>
#include <stdlib.h>

static void wait_free_if_done(fnhost__wait_t *w)
{
    if (w->op_pending || !w->timer_closed) return;
    free(w->message);
    free(w->str);
    json_decref(w->json);
    free(w);
}

static void wait_timer_closed(uv_handle_t *t)
{
    fnhost__wait_t *w = t->data;
    w->timer_closed = 1;
    fnhost_t *host = w->host;
    wait_free_if_done(w);
    fnhost__handle_closed(host);
}

/* Detaches w from its invocation and closes the timer. */
static fnhost__inv_t *wait_detach(fnhost__wait_t *w)
{
    fnhost__inv_t *inv = w->inv;
    if (inv) inv->wait = NULL;
    w->inv = NULL;
    if (!uv_is_closing((uv_handle_t *)&w->timer))
        uv_close((uv_handle_t *)&w->timer, wait_timer_closed);
    return inv;
}

static void wait_timer_cb(uv_timer_t *t)
{
    fnhost__wait_t *w = t->data;
    fnhost__inv_t *inv = wait_detach(w);
    if (!inv) return;
    if (w->op_pending || w->clamped || (!inv->toplevel && uv_hrtime() >= inv->deadline_ns)) {
        if (!inv->killed) {
            inv->killed = FNHOST__KILL_TIME;
            fnhost__fn_t *fn = inv->fn;
            char labels[sizeof fn->label + 32];
            snprintf(labels, sizeof labels, "%s,kind=\"time\"", fn->label);
            vg_metrics_inc(fn->host->ctx->metrics, "verge_fn_limit_breaches_total", labels, 1);
        }
    }
    fnhost__resume(inv, 0);
}

fnhost__wait_t *fnhost__wait_begin(lua_State *L, int64_t sleep_ms)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    fnhost__inv_t *inv = fn ? fn->current : NULL;
    if (!inv || inv->co != L)
        luaL_error(L, "this lecoresdk call waits: make it from the function itself, not from "
                      "inside coroutine.create or coroutine.wrap");
    if (!lua_isyieldable(L))
        luaL_error(L, "this lecoresdk call waits and cannot be made here (inside a metamethod "
                      "or a callback of a C function)");
    fnhost__check_killed(L);
    fnhost__wait_t *w = calloc(1, sizeof *w);
    if (!w) luaL_error(L, "out of memory");
    w->host = fn->host;
    w->inv = inv;
    w->op_pending = sleep_ms < 0;
    uv_timer_init(fn->host->ctx->loop, &w->timer);
    w->timer.data = w;
    fn->host->handles++;
    uint64_t ms = 0;
    if (!inv->toplevel) {
        uint64_t now = uv_hrtime();
        ms = now >= inv->deadline_ns ? 0 : (inv->deadline_ns - now + 999999u) / 1000000u;
    }
    if (sleep_ms >= 0 && (inv->toplevel || (uint64_t)sleep_ms < ms))
        ms = (uint64_t)sleep_ms;
    else if (sleep_ms >= 0)
        w->clamped = 1; /* the sleep outlasts the deadline: it ends the invocation */
    if (sleep_ms >= 0 || !inv->toplevel) uv_timer_start(&w->timer, wait_timer_cb, ms, 0);
    inv->wait = w;
    return w;
}

int fnhost__wait_yield(lua_State *L, fnhost__wait_t *w, lua_KFunction k)
{
    return lua_yieldk(L, 0, (lua_KContext)w, k);
}

void fnhost__wait_op_done(fnhost__wait_t *w)
{
    w->op_pending = 0;
    fnhost__inv_t *inv = wait_detach(w);
    if (inv)
        fnhost__resume(inv, 0);
    else
        wait_free_if_done(w);
}

void fnhost__wait_cancel(fnhost__inv_t *inv)
{
    if (inv->wait) wait_detach(inv->wait);
}

fnhost__inv_t *fnhost__wait_inv(fnhost__wait_t *w)
{
    return w->inv;
}
