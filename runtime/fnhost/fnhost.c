/* fnhost.c: the host's life cycle: functions added and validated, long-running functions
 * started, invocations accepted, shutdown closing every state and handle. */
#include "fnhost/fnhost_int.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int fnhost_create(vg_ctx_t *ctx, things_t *things, bus_t *bus, fnhost_t **out)
{
    fnhost_t *h = calloc(1, sizeof *h);
    if (!h) return VG_ENOMEM;
    h->ctx = ctx;
    h->things = things;
    h->bus = bus;
    static const struct {
        const char *name;
        vg_metric_type_t type;
        const char *help;
    } metrics[] = {
        {"verge_fn_invocations_total", VG_METRIC_COUNTER,
         "Function invocations by outcome (ok, handled, unhandled, refused)."},
        {"verge_fn_errors_total", VG_METRIC_COUNTER, "Function errors, top levels included."},
        {"verge_fn_limit_breaches_total", VG_METRIC_COUNTER,
         "Function limit breaches by kind (time, memory, payload)."},
        {"verge_fn_memory_bytes", VG_METRIC_GAUGE, "Bytes held by the function's Lua state."},
    };
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        if (vg_metrics_declare(ctx->metrics, metrics[i].name, metrics[i].type, metrics[i].help)) {
            free(h);
            return VG_ENOMEM;
        }
    }
    uv_idle_init(ctx->loop, &h->pump);
    h->pump.data = h;
    h->pump_open = 1;
    h->handles = 1;
    *out = h;
    return 0;
}

fnhost__fn_t *fnhost__find(fnhost_t *h, const char *service, const char *name)
{
    for (fnhost__fn_t *fn = h->fns; fn; fn = fn->next)
        if (!fn->retiring && strcmp(fn->service, service) == 0 && strcmp(fn->name, name) == 0)
            return fn;
    return NULL;
}

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > FNHOST_NAME_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static void fn_free(fnhost__fn_t *fn)
{
    free(fn->code_path);
    free(fn->dir);
    free(fn->handler);
    fnhost__timers_free(fn);
    json_decref(fn->env);
    free(fn->top_error);
    free(fn);
}

/* Compiles the file once in a scratch state to report syntax errors at add time. */
static int check_syntax(const char *path, char *err, size_t errlen)
{
    lua_State *L = luaL_newstate();
    if (!L) return VG_ENOMEM;
    int rc = luaL_loadfilex(L, path, "t");
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
        lua_close(L);
        return rc == LUA_ERRFILE ? VG_EIO : rc == LUA_ERRMEM ? VG_ENOMEM : VG_EINVAL;
    }
    lua_close(L);
    return 0;
}

int fnhost_add(fnhost_t *h, const fnhost_spec_t *spec, char *err, size_t errlen)
{
    if (!name_ok(spec->service) || !name_ok(spec->name)) {
        snprintf(err, errlen,
                 "function \"%s/%s\": service and name must be 1..64 of "
                 "[A-Za-z0-9_.-]",
                 spec->service ? spec->service : "", spec->name ? spec->name : "");
        return VG_EINVAL;
    }
    if (fnhost__find(h, spec->service, spec->name)) {
        snprintf(err, errlen, "function %s/%s: already added", spec->service, spec->name);
        return VG_EEXIST;
    }
    if (spec->memory_bytes && spec->memory_bytes < 256 * 1024) {
        snprintf(err, errlen, "function %s/%s: memory = %zu bytes: expected at least 262144",
                 spec->service, spec->name, spec->memory_bytes);
        return VG_EINVAL;
    }
    if (spec->timeout_ms < 0 || spec->concurrency < 0 || spec->idle_unload_ms < 0 ||
        spec->concurrency > 10000 || spec->queue_max > 1000000) {
        snprintf(err, errlen,
                 "function %s/%s: timeout, concurrency (<= 10000), queueMax "
                 "(<= 1000000) and idleUnloadMs must not be negative",
                 spec->service, spec->name);
        return VG_EINVAL;
    }
    char real[PATH_MAX];
    if (!spec->code_path || !realpath(spec->code_path, real)) {
        snprintf(err, errlen, "function %s/%s: code file \"%s\": %s", spec->service, spec->name,
                 spec->code_path ? spec->code_path : "", strerror(errno));
        return VG_EIO;
    }
    int rc = check_syntax(real, err, errlen);
    if (rc) return rc;
    const char *handler = spec->handler && *spec->handler ? spec->handler : "handler";
    const char *dot = strrchr(handler, '.');
    if (dot) handler = dot + 1;
    fnhost__fn_t *fn = calloc(1, sizeof *fn);
    char dirbuf[PATH_MAX];
    memcpy(dirbuf, real, sizeof dirbuf);
    if (fn) {
        fn->code_path = strdup(real);
        fn->dir = strdup(dirname(dirbuf));
        fn->handler = strdup(handler);
    }
    if (!fn || !fn->code_path || !fn->dir || !fn->handler) {
        if (fn) fn_free(fn);
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    fn->host = h;
    snprintf(fn->service, sizeof fn->service, "%s", spec->service);
    snprintf(fn->name, sizeof fn->name, "%s", spec->name);
    if (spec->env && !json_is_object(spec->env)) {
        snprintf(err, errlen, "function %s/%s: env must be an object of strings", fn->service,
                 fn->name);
        fn_free(fn);
        return VG_EINVAL;
    }
    fn->env = spec->env ? json_incref(spec->env) : json_object();
    if (!fn->env) {
        snprintf(err, errlen, "out of memory");
        fn_free(fn);
        return VG_ENOMEM;
    }
    rc = fnhost__timers_init(fn, spec->timers, spec->ntimers, err, errlen);
    if (rc) {
        fn_free(fn);
        return rc;
    }
    snprintf(fn->label, sizeof fn->label, "function=\"%s/%s\"", spec->service, spec->name);
    fn->mem_limit = spec->memory_bytes ? spec->memory_bytes : 32u * 1024 * 1024;
    fn->timeout_ms = spec->timeout_ms ? spec->timeout_ms : 3000;
    fn->concurrency = spec->concurrency ? spec->concurrency : 1;
    fn->queue_max = spec->queue_max == 0 ? 100 : spec->queue_max < 0 ? 0 : spec->queue_max;
    fn->mode = spec->mode;
    fn->idle_unload_ms = spec->idle_unload_ms ? spec->idle_unload_ms : 60000;
    fn->next = h->fns;
    h->fns = fn;
    vg_metrics_set(h->ctx->metrics, "verge_fn_memory_bytes", fn->label, 0);
    if (h->started && fn->mode == FNHOST_LONG_RUNNING && fnhost__state_open(fn) != 0)
        vg_error(&h->ctx->log, "%s/%s: failed to start", fn->service, fn->name);
    if (h->started) fnhost__timers_start(fn);
    return 0;
}

int fnhost_start(fnhost_t *h)
{
    if (h->started) return 0;
    h->started = 1;
    for (fnhost__fn_t *fn = h->fns; fn; fn = fn->next) {
        if (fn->mode == FNHOST_LONG_RUNNING && !fn->L && fnhost__state_open(fn) != 0)
            vg_error(&h->ctx->log, "%s/%s: failed to start", fn->service, fn->name);
        fnhost__timers_start(fn);
    }
    return 0;
}

int fnhost__invoke(fnhost_t *h, const char *service, const char *name, const void *payload,
                   size_t len, json_t *invoker_context, const char *topic, const char *source,
                   int async, fnhost_done_fn cb, void *data, char *id_out)
{
    if (h->closing) return VG_ECLOSED;
    fnhost__fn_t *fn = fnhost__find(h, service, name);
    if (!fn) return VG_ENOENT;
    fnhost__inv_t *inv = fnhost__inv_new(fn, payload, len);
    if (!inv) return VG_ENOMEM;
    inv->async = async;
    inv->cb = cb;
    inv->data = data;
    inv->invoker_context = invoker_context ? json_incref(invoker_context) : NULL;
    if ((topic && !(inv->topic = strdup(topic))) || (source && !(inv->source = strdup(source)))) {
        fnhost__inv_free(inv);
        return VG_ENOMEM;
    }
    if (id_out) memcpy(id_out, inv->id, FNHOST_ID_LEN);
    int rc = fnhost__submit(h, inv);
    if (rc) fnhost__inv_free(inv);
    return rc;
}

int fnhost_invoke(fnhost_t *h, const char *service, const char *name, const void *payload,
                  size_t len, json_t *invoker_context, int async, fnhost_done_fn cb, void *data,
                  char id_out[FNHOST_ID_LEN])
{
    return fnhost__invoke(h, service, name, payload, len, invoker_context, NULL, NULL, async, cb,
                          data, id_out);
}

int fnhost_invoke_msg(fnhost_t *h, const char *service, const char *name, const bus_msg_t *m,
                      fnhost_done_fn cb, void *data)
{
    vg_buf_t ev;
    vg_buf_init(&ev);
    if (vg_buf_reserve(&ev, m->len + strlen(m->topic) + 64) || vg_buf_puts(&ev, "{\"topic\":") ||
        vg_json_quote(&ev, m->topic, strlen(m->topic)) || vg_buf_puts(&ev, ",\"payload\":") ||
        vg_json_quote(&ev, m->payload, m->len) || vg_buf_puts(&ev, "}")) {
        vg_buf_close(&ev);
        return VG_ENOMEM;
    }
    int rc = fnhost__invoke(h, service, name, ev.data, ev.len, NULL, m->topic, m->source,
                            cb == NULL, cb, data, NULL);
    vg_buf_close(&ev);
    return rc;
}

int fnhost_target_parse(const char *service, const char *name, const char *id,
                        char svc_out[FNHOST_NAME_MAX + 1], char name_out[FNHOST_NAME_MAX + 1])
{
    size_t slen, nlen;
    if (service && name) {
        slen = strlen(service);
        nlen = strlen(name);
    } else {
        const char *slash = id && !service && !name ? strchr(id, '/') : NULL;
        if (!slash) return VG_EINVAL;
        service = id;
        slen = (size_t)(slash - id);
        name = slash + 1;
        nlen = strlen(name);
    }
    if (slen > FNHOST_NAME_MAX || nlen > FNHOST_NAME_MAX) return VG_EINVAL;
    memcpy(svc_out, service, slen);
    svc_out[slen] = '\0';
    memcpy(name_out, name, nlen + 1);
    return 0;
}

int fnhost_invocation_async(const char *type)
{
    if (!type || strcmp(type, "Sync") == 0) return 0;
    return strcmp(type, "Async") == 0 ? 1 : -1;
}

int fnhost_context_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
    if (len > FNHOST_CONTEXT_MAX) {
        snprintf(err, errlen, "invokerContext: %zu bytes: at most %d", len, FNHOST_CONTEXT_MAX);
        return VG_ELIMIT;
    }
    size_t skip = 0;
    while (skip < len && (text[skip] == ' ' || text[skip] == '\t' || text[skip] == '\n' ||
                          text[skip] == '\r'))
        skip++;
    unsigned char *raw = NULL;
    const char *json = text;
    size_t jlen = len;
    if (skip == len || text[skip] != '{') { /* not JSON text: the SDKs' base64 */
        raw = malloc(len / 4 * 3 + 3);
        if (!raw) {
            snprintf(err, errlen, "out of memory");
            return VG_ENOMEM;
        }
        if (vg_base64_decode(text, len, raw, &jlen)) {
            free(raw);
            snprintf(err, errlen,
                     "invokerContext: expected a JSON object or the base64 of one, got \"%.40s\"",
                     text);
            return VG_EINVAL;
        }
        json = (const char *)raw;
    }
    json_error_t je;
    json_t *v = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, &je);
    int decoded = raw != NULL;
    free(raw);
    if (!v || !json_is_object(v)) {
        snprintf(err, errlen, "invokerContext%s: %s", decoded ? " (base64-decoded)" : "",
                 v ? "expected a JSON object" : je.text);
        json_decref(v);
        return VG_EINVAL;
    }
    *out = v;
    return 0;
}

/* --- retiring functions (deployments) ------------------------------------------------------ */

#define FNHOST__REAP_MS 50
enum { FNHOST__RETIRING = 1, FNHOST__RETIRED = 2 };

static void on_handle_closed(uv_handle_t *handle);

/* Whether a finished invocation of fn still waits in h->done for its callback. */
static int fn_has_results(const fnhost_t *h, const fnhost__fn_t *fn)
{
    for (const fnhost__inv_t *inv = h->done; inv; inv = inv->next)
        if (inv->fn == fn) return 1;
    return 0;
}

/* Every FNHOST__REAP_MS while functions retire: a drained one has its state and handles
 * closed; one closed at an earlier tick (its close callbacks have run since) is freed. */
static void on_reap(uv_timer_t *t)
{
    fnhost_t *h = t->data;
    int left = 0;
    for (fnhost__fn_t **pp = &h->fns; *pp;) {
        fnhost__fn_t *fn = *pp;
        if (!fn->retiring) {
            pp = &fn->next;
            continue;
        }
        if (fn->retiring == FNHOST__RETIRED) {
            *pp = fn->next;
            vg_debug(&h->ctx->log, "%s/%s: retired version freed", fn->service, fn->name);
            fn_free(fn);
            continue;
        }
        left = 1;
        if (!fn->queue && fn->nrunning == 0 && !fn_has_results(h, fn)) {
            fnhost__state_close(fn); /* ends a long-running top level */
            if (fn->idle_open) {
                fn->idle_open = 0;
                fn->idle.data = h;
                uv_close((uv_handle_t *)&fn->idle, on_handle_closed);
            }
            if (!fn_has_results(h, fn)) fn->retiring = FNHOST__RETIRED;
        }
        pp = &fn->next;
    }
    if (!left) uv_timer_stop(t);
}

int fnhost_remove(fnhost_t *h, const char *service, const char *name)
{
    fnhost__fn_t *fn = fnhost__find(h, service, name);
    if (!fn) return VG_ENOENT;
    fn->retiring = FNHOST__RETIRING;
    fnhost__timers_close(fn);
    if (!h->reaper_open && !h->closing) {
        uv_timer_init(h->ctx->loop, &h->reaper);
        h->reaper.data = h;
        h->reaper_open = 1;
        h->handles++;
    }
    if (h->reaper_open && !uv_is_active((uv_handle_t *)&h->reaper))
        uv_timer_start(&h->reaper, on_reap, FNHOST__REAP_MS, FNHOST__REAP_MS);
    return 0;
}

int fnhost_load(fnhost_t *h, const char *service, const char *name, char *err, size_t errlen)
{
    fnhost__fn_t *fn = fnhost__find(h, service, name);
    if (!fn) {
        snprintf(err, errlen, "no function %s/%s", service, name);
        return VG_ENOENT;
    }
    if (fn->L) return 0;
    /* A long-running function's top level already ran (and failed) when it was added. */
    int rc = fn->top_error ? VG_EINVAL : fnhost__state_open(fn);
    if (rc == 0) {
        fnhost__maybe_idle(fn);
        return 0;
    }
    snprintf(err, errlen, "%s", fn->top_error ? fn->top_error : vg_strerror(rc));
    return rc == VG_ENOMEM && !fn->top_error ? VG_ENOMEM : VG_EINVAL;
}

int64_t fnhost_memory_in_use(fnhost_t *h, const char *service, const char *name)
{
    fnhost__fn_t *fn = fnhost__find(h, service, name);
    return fn ? (int64_t)fn->mem_used : -1;
}

void fnhost__handle_closed(fnhost_t *h)
{
    if (--h->handles == 0 && h->shutdown_cb) {
        fnhost_shutdown_fn cb = h->shutdown_cb;
        h->shutdown_cb = NULL;
        cb(h->shutdown_data);
    }
}

static void on_handle_closed(uv_handle_t *handle)
{
    fnhost__handle_closed(handle->data);
}

void fnhost_shutdown(fnhost_t *h, fnhost_shutdown_fn done, void *data)
{
    h->closing = 1;
    h->shutdown_cb = done;
    h->shutdown_data = data;
    for (fnhost__fn_t *fn = h->fns; fn; fn = fn->next) {
        while (fn->queue) {
            fnhost__inv_t *inv = fn->queue;
            fn->queue = inv->next;
            fn->nqueued--;
            inv->next = NULL;
            fnhost__finish(inv, "Unhandled", "the runtime is shutting down", 28);
        }
        fn->queue_tail = NULL;
        fnhost__state_close(fn);
    }
    /* Deliver every answer now: their callbacks may not start anything (invokes get
     * VG_ECLOSED). A callback may finish more (a sync invoker's state was closed above). */
    while (h->done) {
        fnhost__inv_t *inv = h->done;
        h->done = inv->next;
        if (!h->done) h->done_tail = NULL;
        if (inv->cb) {
            fnhost_result_t res = {inv->id, 200, inv->outcome == 1 ? "Handled" : "Unhandled",
                                   inv->payload ? inv->payload : "", inv->len};
            if (inv->outcome == 0) res.function_error = NULL;
            inv->cb(inv->data, &res);
        }
        fnhost__inv_free(inv);
    }
    for (fnhost__fn_t *fn = h->fns; fn; fn = fn->next) {
        fnhost__timers_close(fn);
        if (fn->idle_open) {
            fn->idle_open = 0;
            fn->idle.data = h;
            uv_close((uv_handle_t *)&fn->idle, on_handle_closed);
        }
    }
    if (h->reaper_open) {
        h->reaper_open = 0;
        uv_close((uv_handle_t *)&h->reaper, on_handle_closed);
    }
    if (h->pump_open) {
        h->pump_open = 0;
        uv_idle_stop(&h->pump);
        uv_close((uv_handle_t *)&h->pump, on_handle_closed);
    }
}

void fnhost_destroy(fnhost_t *h)
{
    if (!h) return;
    while (h->fns) {
        fnhost__fn_t *fn = h->fns;
        h->fns = fn->next;
        if (fn->L) lua_close(fn->L);
        fn_free(fn);
    }
    free(h);
}
