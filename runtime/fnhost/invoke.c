/* invoke.c: invocations. Each runs in its own coroutine of the function's state, anchored in
 * the registry; it is resumed by the pump, and again by a wait's completion. The pump also
 * opens states on demand, enforces the concurrency limit and delivers results. */
#include "fnhost/fnhost_int.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ---------------------------------------------------------------------------- */

/* Outcomes, in the order of fn->m_outcomes. */
enum { OUTCOME_OK, OUTCOME_HANDLED, OUTCOME_UNHANDLED, OUTCOME_REFUSED };

/* The series of metric `name` for fn with labels fn->label plus `extra` (may be NULL), found
 * once and kept in *slot (series pointers are stable); NULL when it cannot be had (then the
 * next call tries again). */
static vg_series_t *fn_series(fnhost__fn_t *fn, vg_series_t **slot, const char *name,
                              const char *extra)
{
    if (*slot) return *slot;
    char labels[sizeof fn->label + 32];
    snprintf(labels, sizeof labels, "%s%s%s", fn->label, extra ? "," : "", extra ? extra : "");
    return *slot = vg_metrics_series(fn->host->ctx->metrics, name, labels);
}

static void count_error(fnhost__fn_t *fn)
{
    vg_series_t *s = fn_series(fn, &fn->m_errors, "verge_fn_errors_total", NULL);
    if (s) s->value += 1;
}

static void count_outcome(fnhost__fn_t *fn, int outcome)
{
    static const char *const labels[] = {
        [OUTCOME_OK] = "outcome=\"ok\"",
        [OUTCOME_HANDLED] = "outcome=\"handled\"",
        [OUTCOME_UNHANDLED] = "outcome=\"unhandled\"",
        [OUTCOME_REFUSED] = "outcome=\"refused\"",
    };
    vg_series_t *s =
        fn_series(fn, &fn->m_outcomes[outcome], "verge_fn_invocations_total", labels[outcome]);
    if (s) s->value += 1;
    if (outcome != OUTCOME_OK) count_error(fn);
}

static void update_gauge(fnhost__fn_t *fn)
{
    vg_series_t *s = fn_series(fn, &fn->m_memory, "verge_fn_memory_bytes", NULL);
    if (s) s->value = (double)fn->mem_used;
}

/* Writes `v` as `n` lowercase hex digits, zero-padded ("%0*" PRIx64 for a v that fits). */
static void put_hex(char *out, uint64_t v, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
}

/* The payload stored with the invocation (one allocation holds both). */
static char *inv_inline(fnhost__inv_t *inv)
{
    return (char *)(inv + 1);
}

fnhost__inv_t *fnhost__inv_new(fnhost__fn_t *fn, const void *payload, size_t len)
{
    if (len > SIZE_MAX - sizeof(fnhost__inv_t) - 1) return NULL;
    fnhost__inv_t *inv = calloc(1, sizeof *inv + len + 1);
    if (!inv) return NULL;
    inv->payload = inv_inline(inv);
    if (len) memcpy(inv->payload, payload, len);
    inv->payload[len] = 0;
    inv->len = len;
    inv->fn = fn;
    inv->ref = LUA_NOREF;
    fnhost_t *h = fn->host;
    put_hex(inv->id, (uint64_t)uv_hrtime(), 16); /* "%016" PRIx64 "%08" PRIx64 */
    put_hex(inv->id + 16, ++h->seq & 0xffffffffu, 8);
    inv->id[24] = '\0';
    return inv;
}

void fnhost__inv_free(fnhost__inv_t *inv)
{
    if (!inv) return;
    if (inv->payload != inv_inline(inv)) free(inv->payload);
    free(inv->topic);
    free(inv->source);
    json_decref(inv->invoker_context);
    free(inv);
}

static void list_remove(fnhost__inv_t **head, fnhost__inv_t *inv)
{
    for (fnhost__inv_t **p = head; *p; p = &(*p)->next) {
        if (*p == inv) {
            *p = inv->next;
            inv->next = NULL;
            return;
        }
    }
}

/* Queues the finished invocation for delivery (top levels are freed at once). `payload` is
 * copied. */
void fnhost__finish(fnhost__inv_t *inv, const char *fnerr, const char *payload, size_t len)
{
    fnhost__fn_t *fn = inv->fn;
    fnhost_t *h = fn->host;
    char *result = NULL; /* copied first: `payload` may live in the coroutine */
    if (!inv->toplevel && !inv->async && payload) {
        result = malloc(len + 1);
        if (result) {
            memcpy(result, payload, len);
            result[len] = 0;
        } else {
            len = 0;
        }
    }
    if (inv->co) {
        list_remove(&fn->running, inv);
        if (!inv->toplevel) fn->nrunning--;
        if (fn->L) luaL_unref(fn->L, LUA_REGISTRYINDEX, inv->ref);
        inv->co = NULL;
    }
    if (inv->wait) fnhost__wait_cancel(inv);
    if (inv->toplevel) {
        fnhost__inv_free(inv);
        return;
    }
    count_outcome(fn, !fnerr                          ? OUTCOME_OK
                      : strcmp(fnerr, "Handled") == 0 ? OUTCOME_HANDLED
                                                      : OUTCOME_UNHANDLED);
    if (inv->payload != inv_inline(inv)) free(inv->payload);
    inv->payload = result;
    inv->len = result ? len : 0;
    inv->outcome = fnerr ? (strcmp(fnerr, "Handled") == 0 ? 1 : 2) : 0;
    inv->next = NULL;
    if (h->done_tail)
        h->done_tail->next = inv;
    else
        h->done = inv;
    h->done_tail = inv;
    fnhost__pump_schedule(h);
}

/* ---- error messages, without running user code ------------------------------------------ */

/* Appends a traceback of `co` (walked with lua_getstack, no allocation in the state). */
static void traceback(vg_buf_t *b, lua_State *co)
{
    lua_Debug ar;
    vg_buf_puts(b, "\nstack traceback:");
    for (int level = 0; level < 22 && lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "Sln", &ar)) break;
        if (ar.currentline > 0)
            vg_buf_printf(b, "\n\t%s:%d: in ", ar.short_src, ar.currentline);
        else
            vg_buf_printf(b, "\n\t%s: in ", ar.short_src);
        if (ar.name)
            vg_buf_printf(b, "%s '%s'", *ar.namewhat ? ar.namewhat : "function", ar.name);
        else if (*ar.what == 'm')
            vg_buf_puts(b, "main chunk");
        else if (*ar.what == 'C')
            vg_buf_puts(b, "a C function");
        else
            vg_buf_printf(b, "function <%s:%d>", ar.short_src, ar.linedefined);
    }
}

/* The message of the error at the top of co: strings and numbers as they are, other values by
 * their type only (never __tostring). */
static void error_text(vg_buf_t *b, lua_State *co)
{
    int t = lua_type(co, -1);
    if (t == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(co, -1, &len);
        if (len <= 4096) {
            vg_buf_append(b, s, len);
        } else { /* the head and the tail, where nested messages keep the cause */
            vg_buf_append(b, s, 2048);
            vg_buf_puts(b, " ... ");
            vg_buf_append(b, s + len - 2048, 2048);
        }
    } else if (t == LUA_TNUMBER) {
        if (lua_isinteger(co, -1))
            vg_buf_printf(b, "%lld", (long long)lua_tointeger(co, -1));
        else
            vg_buf_printf(b, "%.14g", (double)lua_tonumber(co, -1));
    } else {
        vg_buf_printf(b, "(error object is a %s value)", luaL_typename(co, -1));
    }
}

/* ---- running ---------------------------------------------------------------------------- */

static int k_handler(lua_State *co, int status, lua_KContext ctx)
{
    (void)co;
    (void)status;
    (void)ctx;
    return 1;
}

static int k_top(lua_State *co, int status, lua_KContext ctx)
{
    (void)co;
    (void)status;
    (void)ctx;
    return 0;
}

/* Sets t[k] = s when s is not NULL. */
static void set_str(lua_State *L, const char *k, const char *s)
{
    if (!s) return;
    lua_pushstring(L, s);
    lua_setfield(L, -2, k);
}

/* The coroutine's body: loads the top level, or calls the handler with (event, context). */
static int inv_body(lua_State *co)
{
    fnhost__inv_t *inv = lua_touserdata(co, 1);
    fnhost__fn_t *fn = inv->fn;
    lua_settop(co, 0);
    if (inv->toplevel) {
        if (luaL_loadfilex(co, fn->code_path, "t") != LUA_OK) return lua_error(co);
        lua_rawgetp(co, LUA_REGISTRYINDEX, fnhost__env_key);
        lua_setupvalue(co, -2, 1);
        lua_callk(co, 0, 0, 0, k_top);
        return 0;
    }
    lua_rawgetp(co, LUA_REGISTRYINDEX, fnhost__env_key);
    if (lua_getfield(co, -1, fn->handler) != LUA_TFUNCTION) /* metamethods of _G apply */
        return luaL_error(co, "handler '%s' is not a function (it is a %s value)", fn->handler,
                          luaL_typename(co, -1));
    lua_pushlstring(co, inv->payload, inv->len);
    lua_createtable(co, 0, 6);
    set_str(co, "requestId", inv->id);
    if (inv->invoker_context)
        fnhost__push_json(co, inv->invoker_context, 0);
    else
        lua_newtable(co);
    lua_setfield(co, -2, "invokerContext");
    lua_createtable(co, 0, 5);
    set_str(co, "service", fn->service);
    set_str(co, "name", fn->name);
    set_str(co, "handler", fn->handler);
    lua_pushinteger(co, (lua_Integer)(fn->mem_limit / (1024 * 1024)));
    lua_setfield(co, -2, "memory");
    lua_pushinteger(co, (lua_Integer)fn->timeout_ms);
    lua_setfield(co, -2, "timeout");
    lua_setfield(co, -2, "function");
    set_str(co, "topic", inv->topic);
    set_str(co, "source", inv->source);
    lua_callk(co, 2, 1, 0, k_handler);
    return 1;
}

static void fail_text(fnhost__inv_t *inv, const char *fnerr, const char *msg)
{
    fnhost__finish(inv, fnerr, msg, strlen(msg));
}

/* The coroutine stopped: with a result, an error, or a yield not made by a wait. */
static void inv_stopped(fnhost__inv_t *inv, int status, int nres)
{
    fnhost__fn_t *fn = inv->fn;
    lua_State *co = inv->co;
    vg_logger_t *log = &fn->host->ctx->log;
    if (status == LUA_OK && !inv->killed) {
        if (inv->toplevel) {
            fn->ready = 1;
            fnhost__finish(inv, NULL, NULL, 0);
            return;
        }
        int t = nres > 0 ? lua_type(co, -1) : LUA_TNIL;
        if (t != LUA_TSTRING && t != LUA_TNIL) {
            vg_error(log, "%s/%s: handler must return a string or nil, not a %s", fn->service,
                     fn->name, lua_typename(co, t));
            fail_text(inv, "Handled", "handler must return a string or nil");
            return;
        }
        size_t len = 0;
        const char *s = t == LUA_TSTRING ? lua_tolstring(co, -1, &len) : "";
        if (len > FNHOST_PAYLOAD_MAX) {
            char msg[128];
            snprintf(msg, sizeof msg, "result of %zu bytes exceeds the limit of %u bytes", len,
                     FNHOST_PAYLOAD_MAX);
            vg_warn(log, "%s/%s: %s", fn->service, fn->name, msg);
            char labels[sizeof fn->label + 32];
            snprintf(labels, sizeof labels, "%s,kind=\"payload\"", fn->label);
            vg_metrics_inc(fn->host->ctx->metrics, "verge_fn_limit_breaches_total", labels, 1);
            fail_text(inv, "Unhandled", msg);
            return;
        }
        fnhost__finish(inv, NULL, s, len);
        return;
    }
    vg_buf_t b;
    vg_buf_init(&b);
    if (inv->killed)
        vg_buf_puts(&b, fnhost__kill_message(inv->killed));
    else if (status == LUA_YIELD)
        vg_buf_puts(&b, "the function yielded outside a lecoresdk call");
    else
        error_text(&b, co);
    size_t msglen = b.len;
    traceback(&b, co);
    const char *text = b.data ? b.data : "error";
    vg_error(log, "%s/%s%s: %s", fn->service, fn->name, inv->toplevel ? " (top level)" : "", text);
    const char *fnerr = inv->killed ? "Unhandled" : "Handled";
    if (inv->toplevel) {
        free(fn->top_error);
        fn->top_error = strdup(text);
        fnhost__finish(inv, fnerr, NULL, 0);
        count_error(fn);
        fnhost__state_close(fn); /* reloaded by the next invocation */
    } else {
        fnhost__finish(inv, fnerr, text, msglen);
    }
    vg_buf_close(&b);
}

void fnhost__resume(fnhost__inv_t *inv, int nargs)
{
    fnhost__fn_t *fn = inv->fn;
    int nres = 0;
    if (inv->toplevel) /* a top level gets `timeout` per run slice */
        inv->deadline_ns = uv_hrtime() + (uint64_t)fn->timeout_ms * 1000000u;
    fn->current = inv;
    int status = lua_resume(inv->co, fn->L, nargs, &nres);
    fn->current = NULL;
    if (status == LUA_YIELD && inv->wait && !inv->killed) {
        if (inv->toplevel && !fn->ready) {
            fn->ready = 1;
            fnhost__pump_schedule(fn->host);
        }
    } else {
        inv_stopped(inv, status, nres);
    }
    if (fn->L) update_gauge(fn);
}

/* Protected on the main thread: creates the coroutine and anchors it. */
static int inv_spawn(lua_State *L)
{
    fnhost__inv_t *inv = lua_touserdata(L, 1);
    lua_State *co = lua_newthread(L);
    inv->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    inv->co = co;
    return 0;
}

/* Starts `inv` in fn's open state. */
static void inv_start(fnhost__inv_t *inv)
{
    fnhost__fn_t *fn = inv->fn;
    lua_pushcfunction(fn->L, inv_spawn);
    lua_pushlightuserdata(fn->L, inv);
    fn->current = inv;
    int rc = lua_pcall(fn->L, 1, 0, 0);
    fn->current = NULL;
    if (rc != LUA_OK) {
        lua_pop(fn->L, 1);
        inv->co = NULL;
        fail_text(inv, "Unhandled", "memory limit exceeded");
        if (inv->toplevel) fnhost__state_close(fn);
        return;
    }
    inv->next = fn->running;
    fn->running = inv;
    if (!inv->toplevel) fn->nrunning++;
    inv->deadline_ns = uv_hrtime() + (uint64_t)fn->timeout_ms * 1000000u;
    lua_pushcfunction(inv->co, inv_body);
    lua_pushlightuserdata(inv->co, inv);
    fnhost__resume(inv, 1);
}

static void lua_panic_log(fnhost__fn_t *fn, lua_State *L)
{
    vg_error(&fn->host->ctx->log, "%s/%s: cannot build the sandbox: %s", fn->service, fn->name,
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "memory limit exceeded");
}

int fnhost__state_open(fnhost__fn_t *fn)
{
    lua_State *L = lua_newstate(fnhost__alloc, fn);
    if (!L) return VG_ENOMEM;
    *(fnhost__fn_t **)lua_getextraspace(L) = fn;
    lua_sethook(L, fnhost__hook, LUA_MASKCOUNT, FNHOST__HOOK_COUNT);
    lua_pushcfunction(L, fnhost__sandbox_open);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_panic_log(fn, L);
        lua_close(L);
        return VG_ENOMEM;
    }
    fn->L = L;
    fn->ready = 0;
    fnhost__inv_t *top = fnhost__inv_new(fn, "", 0);
    if (!top) {
        fnhost__state_close(fn);
        return VG_ENOMEM;
    }
    top->toplevel = 1;
    inv_start(top);
    update_gauge(fn);
    return fn->L ? 0 : VG_EINVAL;
}

void fnhost__state_close(fnhost__fn_t *fn)
{
    if (!fn->L) return;
    while (fn->running) {
        fnhost__inv_t *inv = fn->running;
        const char *msg =
            fn->host->closing ? "the runtime is shutting down" : "the function's state was closed";
        fnhost__finish(inv, "Unhandled", msg, strlen(msg));
    }
    lua_close(fn->L);
    fn->L = NULL;
    fn->ready = 0;
    update_gauge(fn);
}

static void idle_cb(uv_timer_t *t)
{
    fnhost__fn_t *fn = t->data;
    if (!fn->running && !fn->queue) {
        vg_debug(&fn->host->ctx->log, "%s/%s: idle, state closed", fn->service, fn->name);
        fnhost__state_close(fn);
    }
}

void fnhost__maybe_idle(fnhost__fn_t *fn)
{
    if (fn->mode != FNHOST_ON_DEMAND || !fn->L || fn->running || fn->queue || fn->host->closing)
        return;
    if (!fn->idle_open) {
        uv_timer_init(fn->host->ctx->loop, &fn->idle);
        fn->idle.data = fn;
        fn->idle_open = 1;
        fn->host->handles++;
    }
    uv_timer_start(&fn->idle, idle_cb, (uint64_t)fn->idle_unload_ms, 0);
}

/* Starts what may start: opens the state, then handler invocations up to the concurrency. */
static void fn_run_queue(fnhost__fn_t *fn)
{
    if (!fn->queue) return;
    if (fn->idle_open) uv_timer_stop(&fn->idle);
    if (!fn->L && fnhost__state_open(fn) != 0) {
        while (fn->queue) {
            fnhost__inv_t *inv = fn->queue;
            fn->queue = inv->next;
            fn->nqueued--;
            fail_text(inv, "Unhandled", "the function failed to load (see the log)");
        }
        fn->queue_tail = NULL;
        return;
    }
    while (fn->L && fn->ready && fn->queue && fn->nrunning < fn->concurrency) {
        fnhost__inv_t *inv = fn->queue;
        fn->queue = inv->next;
        if (!fn->queue) fn->queue_tail = NULL;
        fn->nqueued--;
        inv->next = NULL;
        inv_start(inv);
    }
}

static int fn_runnable(const fnhost__fn_t *fn)
{
    return fn->queue && (!fn->L || (fn->ready && fn->nrunning < fn->concurrency));
}

static void pump_cb(uv_idle_t *idle)
{
    fnhost_t *h = idle->data;
    for (fnhost__fn_t *fn = h->fns; fn; fn = fn->next)
        fn_run_queue(fn);
    while (h->done) {
        fnhost__inv_t *inv = h->done;
        h->done = inv->next;
        if (!h->done) h->done_tail = NULL;
        fnhost__fn_t *fn = inv->fn;
        if (inv->cb) {
            fnhost_result_t res = {inv->id, 200,
                                   inv->outcome == 1   ? "Handled"
                                   : inv->outcome == 2 ? "Unhandled"
                                                       : NULL,
                                   inv->payload ? inv->payload : "", inv->len};
            inv->cb(inv->data, &res);
        }
        fnhost__inv_free(inv);
        fnhost__maybe_idle(fn);
    }
    int more = 0;
    for (fnhost__fn_t *fn = h->fns; fn && !more; fn = fn->next)
        more = fn_runnable(fn);
    if (!more && !h->done) uv_idle_stop(idle);
}

void fnhost__pump_schedule(fnhost_t *h)
{
    if (h->pump_open && !h->closing) uv_idle_start(&h->pump, pump_cb);
}

int fnhost__submit(fnhost_t *h, fnhost__inv_t *inv)
{
    fnhost__fn_t *fn = inv->fn;
    int free_slots = fn->concurrency - fn->nrunning;
    if (fn->nqueued >= fn->queue_max + (free_slots > 0 ? free_slots : 0)) {
        count_outcome(fn, OUTCOME_REFUSED);
        int64_t now = vg_time_ms();
        if (now - fn->refusal_logged_ms >= 1000) { /* a flood must not flood the log too */
            fn->refusal_logged_ms = now;
            vg_warn(&h->ctx->log,
                    "%s/%s: invocation refused, %d waiting already (counted in "
                    "verge_fn_invocations_total{outcome=\"refused\"}; logged once a second)",
                    fn->service, fn->name, fn->nqueued);
        }
        return VG_ELIMIT;
    }
    if (fn->queue_tail)
        fn->queue_tail->next = inv;
    else
        fn->queue = inv;
    fn->queue_tail = inv;
    fn->nqueued++;
    fnhost__pump_schedule(h);
    return 0;
}
