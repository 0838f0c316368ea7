/* functions.c: the key tables of a manifest's Lua functions, their timers and environment,
 * and the checks that fill bundle_function_t and bundle_timer_t: unique service/name pairs,
 * code files inside the bundle that compile as Lua source text, bounded numbers, cron
 * expressions. The bounds are those of docs/functions.md. */
#include "bundle/bundle_int.h"
#include "core/cron.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE__TIMERS_MAX  64          /* timers of one function */
#define BUNDLE__ENV_MAX     64          /* env entries of one function */
#define BUNDLE__PAYLOAD_MAX (64 * 1024) /* bytes of a timer's payload */

/* ---- timers ---- */

static void bundle__check_every(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                void *target)
{
    bundle_timer_t *t = target;
    if (bundle__check_range(c, file, field, v, 10, 86400000)) t->every_ms = json_integer_value(v);
}

static void bundle__check_cron(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_timer_t *t = target;
    vg_cron_t cron;
    char err[256] = "";
    if (vg_cron_parse(json_string_value(v), &cron, err, sizeof err) != 0)
        bundle__err(c, file, field, v, "%s", err[0] ? err : "expected a cron expression");
    else
        t->cron = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_payload(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_timer_t *t = target;
    if (json_string_length(v) > BUNDLE__PAYLOAD_MAX)
        bundle__err(c, file, field, v, "expected at most %d bytes, not %zu", BUNDLE__PAYLOAD_MAX,
                    json_string_length(v));
    else
        t->payload = bundle__strdup(c, json_string_value(v));
}

/* A timer is either periodic or a cron schedule; its payload defaults to "". */
static void bundle__finish_timer(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                                 void *target)
{
    bundle_timer_t *t = target;
    int every = json_object_get(obj, "everyMs") != NULL,
        cron = json_object_get(obj, "cron") != NULL;
    if (every && cron)
        bundle__err(c, file, field, NULL, "expected one of everyMs and cron, not both");
    else if (!every && !cron)
        bundle__err(c, file, field, NULL, "expected one of everyMs and cron");
    if (!t->payload) t->payload = bundle__strdup(c, "");
}

static const bundle__key_t bundle__timer_keys[] = {
    {"everyMs", BUNDLE__INTEGER, 0, bundle__check_every},
    {"cron", BUNDLE__STRING, 0, bundle__check_cron},
    {"payload", BUNDLE__STRING, 0, bundle__check_payload},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__timer_kind = {bundle__timer_keys, 0, bundle__finish_timer};

static void bundle__check_timers(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    bundle_function_t *fn = target;
    size_t n = json_array_size(v);
    if (n > BUNDLE__TIMERS_MAX)
        bundle__err(c, file, field, NULL, "%zu timers: expected at most %d", n, BUNDLE__TIMERS_MAX);
    if (n == 0) return;
    if (!(fn->timers = calloc(n, sizeof *fn->timers))) {
        c->oom = 1;
        return;
    }
    fn->ntimers = n;
    bundle__check_items(c, file, field, v, &bundle__timer_kind, fn->timers, sizeof *fn->timers);
}

/* ---- the function ---- */

static void bundle__check_service(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_function_t *fn = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__NAME))
        fn->service = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_fn_name(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_function_t *fn = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__NAME))
        fn->name = bundle__strdup(c, json_string_value(v));
}

/* Compiles the `len` bytes of `text` as the Lua chunk `name` (its bundle-relative path) the way
 * the function host loads it with luaL_loadfilex(mode "t"): a UTF-8 byte order mark and a first
 * line starting with '#' are skipped (line numbers stay right), binary chunks are refused. */
static void bundle__compile(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                            const char *name, const char *text, size_t len)
{
    const char *p = text;
    size_t n = len;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3, n -= 3;
    const char *first = p; /* where Lua looks for the binary signature */
    if (n && *p == '#') {
        while (n && *p != '\n')
            p++, n--; /* the '\n' stays: the second line is still line 2 */
        first = n ? p + 1 : p;
    }
    if (first < text + len && *first == LUA_SIGNATURE[0]) {
        bundle__err(c, file, field, v,
                    "is a precompiled (binary) Lua chunk: expected Lua source "
                    "text");
        return;
    }
    lua_State *L = luaL_newstate();
    if (!L) {
        c->oom = 1;
        return;
    }
    char chunk[BUNDLE__FIELD_MAX];
    snprintf(chunk, sizeof chunk, "@%s", name);
    int rc = luaL_loadbufferx(L, p, n, chunk, "t");
    if (rc == LUA_ERRMEM)
        c->oom = 1;
    else if (rc != LUA_OK)
        bundle__err(c, file, field, v, "Lua syntax error: %s", lua_tostring(L, -1));
    lua_close(L);
}

static void bundle__check_code(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_function_t *fn = target;
    const char *rel = json_string_value(v);
    size_t n = json_string_length(v);
    if (n <= 4 || strcmp(rel + n - 4, ".lua") != 0) {
        bundle__err(c, file, field, v, "expected the path of a Lua file, ending in .lua");
        return;
    }
    if (!(fn->code = bundle__resolve(c, file, field, v, rel, c->root, BUNDLE__FILE))) return;
    size_t len;
    char *text = bundle__read_text(c, file, field, v, fn->code, BUNDLE__CODE_MAX, &len);
    if (!text) return;
    bundle__compile(c, file, field, v, bundle__relative(c, fn->code), text, len);
    free(text);
}

/* "handler", or "index.handler" (the original's module.function form). */
static void bundle__check_handler(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_function_t *fn = target;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    const char *dot = memchr(s, '.', n);
    int ok = dot ? bundle__identifier(s, (size_t)(dot - s)) &&
                       bundle__identifier(dot + 1, n - (size_t)(dot - s) - 1)
                 : bundle__identifier(s, n);
    if (ok)
        fn->handler = bundle__strdup(c, s);
    else
        bundle__err(c, file, field, v,
                    "expected the name of a Lua global function, such as handler, optionally "
                    "after a module name and a dot, such as index.handler");
}

static const struct {
    const char *name;
    bundle_mode_t mode;
} bundle__modes[] = {
    {"on-demand", BUNDLE_ON_DEMAND},
    {"long-running", BUNDLE_LONG_RUNNING},
};

static void bundle__check_mode(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_function_t *fn = target;
    for (size_t i = 0; i < sizeof bundle__modes / sizeof *bundle__modes; i++) {
        if (strcmp(json_string_value(v), bundle__modes[i].name) == 0) {
            fn->mode = bundle__modes[i].mode;
            return;
        }
    }
    bundle__err(c, file, field, v, "expected \"on-demand\" or \"long-running\"");
}

/* One check per integer key of a function: its bounds and the member it fills. */
#define BUNDLE__FN_INT(check, member, min, max)                                                    \
    static void check(bundle__ctx_t *c, const char *file, const char *field, json_t *v,            \
                      void *target)                                                                \
    {                                                                                              \
        bundle_function_t *fn = target;                                                            \
        if (bundle__check_range(c, file, field, v, min, max)) fn->member = json_integer_value(v);  \
    }
BUNDLE__FN_INT(bundle__check_timeout, timeout_ms, 1, 3600000)
BUNDLE__FN_INT(bundle__check_memory, memory_mb, 1, 1024)
BUNDLE__FN_INT(bundle__check_concurrency, concurrency, 1, 10000)
BUNDLE__FN_INT(bundle__check_idle_unload, idle_unload_ms, 1000, 86400000)
#undef BUNDLE__FN_INT

/* queueMax 0 means no queue; the struct keeps 0 for "not given" and -1 for that. */
static void bundle__check_queue_max(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_function_t *fn = target;
    if (!bundle__check_range(c, file, field, v, 0, 1000000)) return;
    fn->queue_max = json_integer_value(v) ? json_integer_value(v) : -1;
}

static void bundle__check_env(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                              void *target)
{
    bundle_function_t *fn = target;
    char f[BUNDLE__FIELD_MAX];
    const char *key;
    json_t *value;
    json_object_foreach(v, key, value)
    {
        bundle__field_key(f, field, key);
        if (!bundle__identifier(key, strlen(key)))
            bundle__err(c, file, f, value,
                        "expected a variable name of A-Z a-z 0-9 _, not starting with a digit");
        else if (!json_is_string(value))
            bundle__err(c, file, f, value, "expected a string");
    }
    if (json_object_size(v) > BUNDLE__ENV_MAX)
        bundle__err(c, file, field, NULL, "%zu entries: expected at most %d", json_object_size(v),
                    BUNDLE__ENV_MAX);
    fn->env = json_incref(v);
}

/* The pair service/name is unique; idleUnloadMs only means something for on-demand functions;
 * env defaults to {}. */
static void bundle__finish_function(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *obj, void *target)
{
    bundle_function_t *fn = target;
    char f[BUNDLE__FIELD_MAX];
    if (!fn->env && !(fn->env = json_object())) c->oom = 1;
    json_t *idle = json_object_get(obj, "idleUnloadMs");
    if (idle && fn->mode == BUNDLE_LONG_RUNNING) {
        bundle__field_key(f, field, "idleUnloadMs");
        bundle__err(c, file, f, idle,
                    "only on-demand functions are unloaded when idle; this one is long-running");
    }
    if (!fn->service || !fn->name) return;
    char key[2 * BUNDLE_NAME_MAX + 2];
    snprintf(key, sizeof key, "%s/%s", fn->service, fn->name);
    const char *first = bundle__seen(c, c->functions, key, field);
    if (first) {
        bundle__field_key(f, field, "name");
        bundle__err(c, file, f, json_object_get(obj, "name"), "duplicate of %s (%s)", first, key);
    }
}

static const bundle__key_t bundle__function_keys[] = {
    {"service", BUNDLE__STRING, 1, bundle__check_service},
    {"name", BUNDLE__STRING, 1, bundle__check_fn_name},
    {"code", BUNDLE__STRING, 1, bundle__check_code},
    {"handler", BUNDLE__STRING, 0, bundle__check_handler},
    {"mode", BUNDLE__STRING, 0, bundle__check_mode},
    {"timeoutMs", BUNDLE__INTEGER, 0, bundle__check_timeout},
    {"memoryMB", BUNDLE__INTEGER, 0, bundle__check_memory},
    {"concurrency", BUNDLE__INTEGER, 0, bundle__check_concurrency},
    {"queueMax", BUNDLE__INTEGER, 0, bundle__check_queue_max},
    {"idleUnloadMs", BUNDLE__INTEGER, 0, bundle__check_idle_unload},
    {"timers", BUNDLE__ARRAY, 0, bundle__check_timers},
    {"env", BUNDLE__OBJECT, 0, bundle__check_env},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__function_kind = {bundle__function_keys, 0,
                                                     bundle__finish_function};

void bundle__check_functions(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                             void *target)
{
    bundle_t *b = target;
    size_t n = json_array_size(v);
    if (n == 0) return;
    if (!(b->functions = calloc(n, sizeof *b->functions))) {
        c->oom = 1;
        return;
    }
    b->nfunctions = n;
    bundle__check_items(c, file, field, v, &bundle__function_kind, b->functions,
                        sizeof *b->functions);
}
