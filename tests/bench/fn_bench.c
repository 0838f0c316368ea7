/* clang-format off */
/* fn_bench.c: the function host measured from C, for tests/bench/fn_flow.sh (issue 5: aims b
 * and d, and the rule function of aim a alone). Linked with the static libraries of a verge
 * build (B is its directory):
 * cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime tests/bench/fn_bench.c $B/runtime/fnhost/libvg_fnhost.a $B/runtime/things/libvg_things.a $B/runtime/store/libvg_store.a $B/runtime/bus/libvg_bus.a $B/runtime/core/libvg_core.a -l:liblua5.4-cjson.a $(pkg-config --cflags --libs lua5.4 libuv jansson sqlite3) -lm -o /tmp/fn_bench
 *
 *   fn_bench rtt N WARMUP
 *       invokeFunction Sync round trips on a trivial handler, one at a time, each issued from
 *       the previous one's completion callback: fnhost_invoke to the callback, timed with
 *       CLOCK_MONOTONIC (N after WARMUP); the same with bare Lua (lua_pcall of the same
 *       handler in a plain state, and a fresh coroutine per call as fnhost makes), the floor;
 *       and Lua to Lua: a function calling lecoresdk.Client():invokeFunction Sync on another N
 *       times in one invocation, timed from C as total / N.
 *   fn_bench mem MODE CODE N
 *       adds N functions (MODE on-demand: each invoked once; long-running: started, its top
 *       level returns at once; CODE trivial: a handler only; sdk: requires cjson and lecoresdk
 *       at the top as a rule function does), then invokes each with "collect" (its handler
 *       runs a full garbage collection). Prints the Lua heap (fnhost_memory_in_use) and the
 *       process's Rss and Pss deltas (/proc/self/smaps_rollup) per function at each stage.
 *   fn_bench rule FILE N
 *       the rule function of fn_flow.sh alone (FILE: its monitor.lua) as EdgeFC/monitor: N
 *       property-report messages shaped as things publishes them, handed over with
 *       fnhost_invoke_msg as a route does, 500 in flight (a tenth of them above the
 *       threshold), after N / 10 of warm-up; prints invocations per second and checks that
 *       the alerts it published on the bus are N / 10. The upper bound of the
 *       driver-to-function flow: no driver, socket, cache or bus delivery.
 *
 * Output: one line per figure, "KIND name key=value ...", for the script to parse. Not a test. */
/* clang-format on */
#include "core/ctx.h"
#include "core/error.h"
#include "fnhost/fnhost.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SVC "bench"

typedef struct bench {
    uv_loop_t loop;
    vg_ctx_t ctx;
    bus_t *bus;
    fnhost_t *host;
    FILE *devnull;
    char dir[64];
} bench_t;

static void die(const char *what, int rc)
{
    fprintf(stderr, "fn_bench: %s: %s\n", what, rc ? vg_strerror(rc) : "failed");
    exit(1);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) die(path, 0);
}

static void bench_open(bench_t *b)
{
    vg_config_t cfg;
    memset(b, 0, sizeof *b);
    vg_config_defaults(&cfg);
    uv_loop_init(&b->loop);
    if (vg_ctx_init(&b->ctx, &b->loop, &cfg)) die("vg_ctx_init", VG_ENOMEM);
    b->devnull = fopen("/dev/null", "w");
    if (!getenv("FN_BENCH_LOG")) b->ctx.log.out = b->devnull;
    int rc = bus_create(&b->ctx, &b->bus);
    if (rc) die("bus_create", rc);
    rc = fnhost_create(&b->ctx, NULL, b->bus, &b->host);
    if (rc) die("fnhost_create", rc);
    snprintf(b->dir, sizeof b->dir, "/tmp/fn_bench_XXXXXX");
    if (!mkdtemp(b->dir)) die("mkdtemp", 0);
}

static void on_shutdown(void *data)
{
    *(int *)data = 1;
}

static void bench_close(bench_t *b)
{
    int down = 0;
    fnhost_shutdown(b->host, on_shutdown, &down);
    while (!down)
        uv_run(&b->loop, UV_RUN_ONCE);
    fnhost_destroy(b->host);
    bus_destroy(b->bus);
    vg_ctx_close(&b->ctx);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    fclose(b->devnull);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) fprintf(stderr, "fn_bench: cannot remove %s\n", b->dir);
}

/* Adds function `name` from `file` (in the bench directory). */
static void add_fn(bench_t *b, const char *name, const char *file, fnhost_mode_t mode,
                   int64_t timeout_ms)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", b->dir, file);
    fnhost_spec_t s;
    memset(&s, 0, sizeof s);
    s.service = SVC;
    s.name = name;
    s.code_path = path;
    s.memory_bytes = 8u * 1024 * 1024;
    s.timeout_ms = timeout_ms;
    s.mode = mode;
    s.idle_unload_ms = 3600 * 1000; /* stay loaded for the whole run */
    int rc = fnhost_add(b->host, &s, err, sizeof err);
    if (rc) {
        fprintf(stderr, "fn_bench: fnhost_add %s: %s\n", name, err);
        exit(1);
    }
}

/* ---- percentiles -------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints "RTT name n= mean_us= p50_us= p90_us= p99_us= p999_us= max_us= per_s=" of `ns`
 * (sorted in place); `total_ns` is the wall time of the whole series. */
static void print_rtt(const char *name, uint32_t *ns, size_t n, uint64_t total_ns)
{
    qsort(ns, n, sizeof *ns, cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ns[i];
#define PCT(p) (ns[(size_t)((double)(n - 1) * (p))] / 1000.0)
    printf("RTT %s n=%zu mean_us=%.3f p50_us=%.3f p90_us=%.3f p99_us=%.3f p999_us=%.3f "
           "max_us=%.3f per_s=%.0f\n",
           name, n, sum / (double)n / 1000.0, PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999),
           ns[n - 1] / 1000.0, (double)n * 1e9 / (double)total_ns);
#undef PCT
    fflush(stdout);
}

/* ---- (b) C -> Lua: invokeFunction Sync round trips ---------------------------------------- */

#define TRIVIAL_CODE                                                                               \
    "function handler(event, context)\n"                                                           \
    "  if event == 'collect' then collectgarbage('collect') end\n"                                 \
    "  return 'ok'\n"                                                                              \
    "end\n"

typedef struct rtt_run {
    bench_t *b;
    size_t warmup, n, i; /* i counts calls issued so far, warm-up included */
    uint32_t *ns;
    uint64_t t0, start, end;
    int failed;
} rtt_run_t;

static void rtt_issue(rtt_run_t *r);

static void rtt_done(void *data, const fnhost_result_t *res)
{
    rtt_run_t *r = data;
    uint64_t t1 = vg_mono_ns();
    if (res->function_error || res->len != 2 || memcmp(res->payload, "ok", 2) != 0) {
        fprintf(stderr, "fn_bench: echo answered %s: %.*s\n",
                res->function_error ? res->function_error : "ok", (int)res->len, res->payload);
        r->failed = 1;
        uv_stop(&r->b->loop);
        return;
    }
    if (r->i > r->warmup) r->ns[r->i - r->warmup - 1] = (uint32_t)(t1 - r->t0);
    if (r->i == r->warmup) r->start = t1;
    if (r->i == r->warmup + r->n) {
        r->end = t1;
        uv_stop(&r->b->loop);
        return;
    }
    rtt_issue(r);
}

static void rtt_issue(rtt_run_t *r)
{
    r->i++;
    r->t0 = vg_mono_ns();
    int rc = fnhost_invoke(r->b->host, SVC, "echo", "hi", 2, NULL, 0, rtt_done, r, NULL);
    if (rc) die("fnhost_invoke", rc);
}

static void bench_rtt_c(bench_t *b, size_t n, size_t warmup)
{
    rtt_run_t r = {b, warmup, n, 0, calloc(n, sizeof(uint32_t)), 0, 0, 0, 0};
    if (!r.ns) die("calloc", VG_ENOMEM);
    rtt_issue(&r);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (r.failed || r.i != warmup + n) die("C round trips did not complete", 0);
    print_rtt("c_sync", r.ns, n, r.end - r.start);
    free(r.ns);
}

/* ---- the floor: the same handler called by bare Lua ------------------------------------- */

static void bench_rtt_bare(size_t n, size_t warmup, int coroutine)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_loadstring(L, TRIVIAL_CODE) != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
        die("bare Lua: load", 0);
    uint32_t *ns = calloc(n, sizeof *ns);
    if (!ns) die("calloc", VG_ENOMEM);
    uint64_t start = 0;
    for (size_t i = 0; i < warmup + n; i++) {
        if (i == warmup) start = vg_mono_ns();
        uint64_t t0 = vg_mono_ns();
        int ok;
        size_t len = 0;
        if (coroutine) { /* what fnhost does per invocation: a thread, anchored, resumed */
            lua_State *co = lua_newthread(L);
            int ref = luaL_ref(L, LUA_REGISTRYINDEX);
            lua_getglobal(co, "handler");
            lua_pushlstring(co, "hi", 2);
            int nres = 0;
            ok = lua_resume(co, L, 1, &nres) == LUA_OK;
            const char *s = ok ? lua_tolstring(co, -1, &len) : NULL;
            ok = ok && s && len == 2;
            luaL_unref(L, LUA_REGISTRYINDEX, ref);
        } else {
            lua_getglobal(L, "handler");
            lua_pushlstring(L, "hi", 2);
            ok = lua_pcall(L, 1, 1, 0) == LUA_OK;
            const char *s = ok ? lua_tolstring(L, -1, &len) : NULL;
            ok = ok && s && len == 2;
            lua_pop(L, 1);
        }
        uint64_t t1 = vg_mono_ns();
        if (!ok) die("bare Lua: call", 0);
        if (i >= warmup) ns[i - warmup] = (uint32_t)(t1 - t0);
    }
    uint64_t end = vg_mono_ns();
    print_rtt(coroutine ? "bare_lua_coroutine" : "bare_lua_pcall", ns, n, end - start);
    free(ns);
    lua_close(L);
}

/* ---- (b) Lua -> Lua: invokeFunction Sync from a function ---------------------------------- */

#define CALLER_CODE                                                                                \
    "local fc = require('lecoresdk').Client()\n"                                                   \
    "local req = {serviceName = 'bench', functionName = 'echo', invocationType = 'Sync',\n"        \
    "             payload = 'hi'}\n"                                                               \
    "function handler(event, context)\n"                                                           \
    "  local n = tonumber(event)\n"                                                                \
    "  for i = 1, n do\n"                                                                          \
    "    local r = fc:invokeFunction(req)\n"                                                       \
    "    if r.statusCode ~= 200 or r.functionError or r.payload ~= 'ok' then\n"                    \
    "      error('call ' .. i .. ': ' .. tostring(r.functionError) .. ' ' .. r.payload)\n"         \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  return tostring(n)\n"                                                                       \
    "end\n"

typedef struct lua_run {
    int done;
    char answer[256];
    int ok;
} lua_run_t;

static void lua_done(void *data, const fnhost_result_t *res)
{
    lua_run_t *r = data;
    r->done = 1;
    r->ok = !res->function_error;
    snprintf(r->answer, sizeof r->answer, "%.*s", (int)(res->len < 200 ? res->len : 200),
             res->payload);
}

/* Runs caller with event "n" and returns the wall time of the invocation. */
static uint64_t lua_loop(bench_t *b, size_t n)
{
    char ev[32];
    int len = snprintf(ev, sizeof ev, "%zu", n);
    lua_run_t r = {0, "", 0};
    uint64_t t0 = vg_mono_ns();
    int rc = fnhost_invoke(b->host, SVC, "caller", ev, (size_t)len, NULL, 0, lua_done, &r, NULL);
    if (rc) die("fnhost_invoke caller", rc);
    while (!r.done)
        uv_run(&b->loop, UV_RUN_ONCE);
    uint64_t t1 = vg_mono_ns();
    if (!r.ok || strcmp(r.answer, ev) != 0) {
        fprintf(stderr, "fn_bench: caller answered: %s\n", r.answer);
        exit(1);
    }
    return t1 - t0;
}

static void bench_rtt_lua(bench_t *b, size_t n, size_t warmup)
{
    lua_loop(b, warmup);
    uint64_t ns = lua_loop(b, n);
    printf("RTT lua_sync n=%zu mean_us=%.3f per_s=%.0f\n", n, (double)ns / (double)n / 1000.0,
           (double)n * 1e9 / (double)ns);
    fflush(stdout);
}

static int run_rtt(size_t n, size_t warmup)
{
    bench_t b;
    bench_open(&b);
    write_file(b.dir, "echo.lua", TRIVIAL_CODE);
    write_file(b.dir, "caller.lua", CALLER_CODE);
    add_fn(&b, "echo", "echo.lua", FNHOST_ON_DEMAND, 3000);
    add_fn(&b, "caller", "caller.lua", FNHOST_ON_DEMAND, 3600 * 1000);
    fnhost_start(b.host);
    bench_rtt_c(&b, n, warmup);
    bench_rtt_lua(&b, n, warmup);
    bench_close(&b);
    bench_rtt_bare(n, warmup, 0);
    bench_rtt_bare(n, warmup, 1);
    return 0;
}

/* ---- (d) memory per idle function --------------------------------------------------------- */

#define SDK_CODE                                                                                   \
    "local cjson = require('cjson')\n"                                                             \
    "local lecoresdk = require('lecoresdk')\n"                                                     \
    "local iot = lecoresdk.IoTData()\n"                                                            \
    "function handler(event, context)\n"                                                           \
    "  if event == 'collect' then collectgarbage('collect') return 'ok' end\n"                     \
    "  local m = cjson.decode(event)\n"                                                            \
    "  iot:publish({topic = '/alerts/x', payload = cjson.encode(m)})\n"                            \
    "  return 'ok'\n"                                                                              \
    "end\n"

typedef struct mem {
    long rss_kb, pss_kb;
} mem_t;

static mem_t mem_now(void)
{
    mem_t m = {-1, -1};
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "Rss:", 4) == 0) m.rss_kb = strtol(line + 4, NULL, 10);
        if (strncmp(line, "Pss:", 4) == 0) m.pss_kb = strtol(line + 4, NULL, 10);
    }
    if (f) fclose(f);
    if (m.rss_kb < 0 || m.pss_kb < 0) die("/proc/self/smaps_rollup", 0);
    return m;
}

typedef struct mem_wait {
    size_t pending, failed;
} mem_wait_t;

static void mem_done(void *data, const fnhost_result_t *res)
{
    mem_wait_t *w = data;
    w->pending--;
    if (res->function_error || res->len != 2) w->failed++;
}

/* Invokes each of the n functions once with `event` and waits for all. */
static void invoke_all(bench_t *b, size_t n, const char *event)
{
    mem_wait_t w = {0, 0};
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", i);
        int rc =
            fnhost_invoke(b->host, SVC, name, event, strlen(event), NULL, 0, mem_done, &w, NULL);
        if (rc) die("fnhost_invoke", rc);
        w.pending++;
    }
    while (w.pending)
        uv_run(&b->loop, UV_RUN_ONCE);
    if (w.failed) {
        fprintf(stderr, "fn_bench: %zu of %zu invocations failed\n", w.failed, n);
        exit(1);
    }
}

static int64_t heap_sum(bench_t *b, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", i);
        int64_t v = fnhost_memory_in_use(b->host, SVC, name);
        if (v <= 0) {
            fprintf(stderr, "fn_bench: %s is not loaded (%lld bytes)\n", name, (long long)v);
            exit(1);
        }
        sum += v;
    }
    return sum;
}

static void print_mem(const char *mode, const char *code, const char *stage, size_t n, int64_t heap,
                      mem_t base, mem_t now)
{
    printf("MEM %s/%s stage=%s n=%zu heap_per_fn_b=%.0f rss_per_fn_b=%.0f pss_per_fn_b=%.0f "
           "rss_total_kb=%ld\n",
           mode, code, stage, n, (double)heap / (double)n,
           (double)(now.rss_kb - base.rss_kb) * 1024.0 / (double)n,
           (double)(now.pss_kb - base.pss_kb) * 1024.0 / (double)n, now.rss_kb);
    fflush(stdout);
}

static int run_mem(const char *mode_s, const char *code_s, size_t n)
{
    int long_running = strcmp(mode_s, "long-running") == 0;
    int sdk = strcmp(code_s, "sdk") == 0;
    if ((!long_running && strcmp(mode_s, "on-demand") != 0) ||
        (!sdk && strcmp(code_s, "trivial") != 0)) {
        fprintf(stderr, "fn_bench: mem MODE (on-demand|long-running) CODE (trivial|sdk) N\n");
        return 2;
    }
    bench_t b;
    bench_open(&b);
    write_file(b.dir, "f.lua", sdk ? SDK_CODE : TRIVIAL_CODE);
    mem_t base = mem_now();
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", i);
        add_fn(&b, name, "f.lua", long_running ? FNHOST_LONG_RUNNING : FNHOST_ON_DEMAND, 3000);
    }
    mem_t added = mem_now();
    print_mem(mode_s, code_s, "added", n, 0, base, added);
    fnhost_start(b.host);
    uv_run(&b.loop, UV_RUN_NOWAIT);
    if (long_running) {
        print_mem(mode_s, code_s, "started", n, heap_sum(&b, n), base, mem_now());
    } else {
        invoke_all(&b, n, "{\"x\":1}");
        print_mem(mode_s, code_s, "invoked", n, heap_sum(&b, n), base, mem_now());
    }
    invoke_all(&b, n, "collect");
    print_mem(mode_s, code_s, "collected", n, heap_sum(&b, n), base, mem_now());
    bench_close(&b);
    return 0;
}

/* ---- the rule function alone ------------------------------------------------------------ */

#define RULE_EVENTS 100 /* distinct messages, invoked round robin */
#define RULE_BATCH  500 /* invocations in flight (the function's queue holds 1000) */

typedef struct rule_run {
    size_t done, failed, alerts;
} rule_run_t;

static void rule_done(void *data, const fnhost_result_t *res) /* a sync result: "" */
{
    rule_run_t *r = data;
    r->done++;
    if (res->function_error) {
        if (r->failed++ == 0)
            fprintf(stderr, "fn_bench: monitor failed: %.*s\n", (int)res->len, res->payload);
    }
}

static void rule_alert(void *data, bus_msg_t *m)
{
    (void)m;
    ((rule_run_t *)data)->alerts++;
}

/* Message i: what things publishes for report i of sensor_flood.c (device i % 10, temperature
 * 21.5 + i % 10, humidity 40 + i % 50, a 140-character pad), as a route receives it. */
static bus_msg_t *rule_msg(size_t i)
{
    char pad[141];
    memset(pad, 'x', 140);
    pad[140] = 0;
    json_int_t now = (json_int_t)vg_time_ms();
    json_t *rep =
        json_pack("{s:{s:f,s:I},s:{s:I,s:I},s:{s:s,s:I}}", "temperature", "value",
                  21.5 + (double)(i % 10), "time", now, "humidity", "value",
                  (json_int_t)(40 + i % 50), "time", now, "pad", "value", pad, "time", now);
    char *payload = json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(15));
    char topic[96], source[64];
    snprintf(topic, sizeof topic, "/sys/a1BenchSensor/dev%zu/thing/event/property/post", i % 10);
    snprintf(source, sizeof source, "device:a1BenchSensor/dev%zu", i % 10);
    bus_msg_t *m = payload ? bus_msg_create(topic, source, payload, strlen(payload)) : NULL;
    json_decref(rep);
    free(payload);
    if (!m) die("rule message", VG_ENOMEM);
    return m;
}

static int run_rule(const char *file, size_t n)
{
    bench_t b;
    bench_open(&b);
    char err[512] = "";
    fnhost_spec_t s;
    memset(&s, 0, sizeof s);
    s.service = "EdgeFC";
    s.name = "monitor";
    s.code_path = file;
    s.memory_bytes = 8u * 1024 * 1024;
    s.queue_max = 1000;
    int rc = fnhost_add(b.host, &s, err, sizeof err);
    if (rc) {
        fprintf(stderr, "fn_bench: fnhost_add %s: %s\n", file, err);
        return 1;
    }
    fnhost_start(b.host);
    rule_run_t r = {0, 0, 0};
    bus_sub_t *sub;
    if ((rc = bus_subscribe(b.bus, "/alerts/#", rule_alert, &r, &sub))) die("bus_subscribe", rc);
    bus_msg_t *msgs[RULE_EVENTS];
    for (size_t i = 0; i < RULE_EVENTS; i++)
        msgs[i] = rule_msg(i);
    uint64_t start = 0;
    size_t warmup = n / 10, total = warmup + n, sent = 0, alerts0 = 0;
    while (r.done < total) {
        if (sent == warmup && r.done == warmup && !start) {
            start = vg_mono_ns();
            alerts0 = r.alerts;
        }
        size_t limit = sent < warmup ? warmup : total;
        while (sent < limit && sent - r.done < RULE_BATCH) {
            rc = fnhost_invoke_msg(b.host, "EdgeFC", "monitor", msgs[sent % RULE_EVENTS], rule_done,
                                   &r);
            if (rc) die("fnhost_invoke monitor", rc);
            sent++;
        }
        uv_run(&b.loop, UV_RUN_NOWAIT);
    }
    uint64_t end = vg_mono_ns();
    size_t alerts = r.alerts - alerts0;
    printf("RULE monitor n=%zu per_s=%.0f mean_us=%.3f alerts=%zu failed=%zu report_bytes=%zu\n", n,
           (double)n * 1e9 / (double)(end - start), (double)(end - start) / (double)n / 1000.0,
           alerts, r.failed, msgs[0]->len);
    for (size_t i = 0; i < RULE_EVENTS; i++)
        bus_msg_unref(msgs[i]);
    bus_unsubscribe(b.bus, sub);
    bench_close(&b);
    if (r.failed || alerts != n / 10) {
        fprintf(stderr, "fn_bench: %zu failed, %zu alerts for %zu events\n", r.failed, alerts, n);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "rtt") == 0)
        return run_rtt(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "mem") == 0)
        return run_mem(argv[2], argv[3], strtoul(argv[4], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "rule") == 0)
        return run_rule(argv[2], strtoul(argv[3], NULL, 10));
    fprintf(stderr, "usage: fn_bench rtt N WARMUP | fn_bench mem on-demand|long-running "
                    "trivial|sdk N | fn_bench rule FILE N\n");
    return 2;
}
