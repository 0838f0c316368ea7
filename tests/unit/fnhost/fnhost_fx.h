/* fnhost_fx.h: the fixture the fnhost tests share: a real uv loop, a context, a bus with a
 * recording subscriber, a host, Lua functions written to a temporary bundle directory, and a
 * recorder of invocation results. */
#ifndef VG_TEST_FNHOST_FX_H
#define VG_TEST_FNHOST_FX_H

#include "vg_test.h"

#include "core/error.h"
#include "fnhost/fnhost.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx_res {
    int done;
    int calls;
    char fnerr[16]; /* "" for none */
    char *payload;
    size_t len;
    int status;
} fx_res_t;

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    bus_t *bus;
    bus_sub_t *sub;
    int nmsgs;
    char last_topic[128], last_source[128], last_payload[256];
    fnhost_t *host;
    char root[64]; /* the temporary directory */
    char dir[96];  /* the bundle: root/bundle */
    FILE *devnull; /* the log, unless FX_LOG is set */
} fx_t;

static inline void fx_on_msg(void *data, bus_msg_t *m)
{
    fx_t *f = data;
    f->nmsgs++;
    snprintf(f->last_topic, sizeof f->last_topic, "%s", m->topic);
    snprintf(f->last_source, sizeof f->last_source, "%s", m->source);
    snprintf(f->last_payload, sizeof f->last_payload, "%s", m->payload);
}

static inline void fx_open(fx_t *f)
{
    vg_config_t cfg;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&cfg);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, &cfg), 0);
    if (getenv("FX_LOG")) {
        f->ctx.log.level = VG_LOG_DEBUG;
    } else {
        f->devnull = fopen("/dev/null", "w");
        f->ctx.log.out = f->devnull;
    }
    CHECK_EQ_INT(bus_create(&f->ctx, &f->bus), 0);
    CHECK_EQ_INT(bus_subscribe(f->bus, "#", fx_on_msg, f, &f->sub), 0);
    CHECK_EQ_INT(fnhost_create(&f->ctx, NULL, f->bus, &f->host), 0);
    snprintf(f->root, sizeof f->root, "/tmp/fnhost_test_XXXXXX");
    CHECK(mkdtemp(f->root) != NULL);
    snprintf(f->dir, sizeof f->dir, "%s/bundle", f->root);
    CHECK_EQ_INT(mkdir(f->dir, 0700), 0);
}

/* Writes `text` to `dir/name`. */
static inline void fx_write(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

/* A spec with the tests' defaults: 8 MiB, 300 ms, on demand. */
static inline fnhost_spec_t fx_spec(fx_t *f, const char *name, char *path, size_t pathlen)
{
    fnhost_spec_t s;
    memset(&s, 0, sizeof s);
    snprintf(path, pathlen, "%s/%s.lua", f->dir, name);
    s.service = "svc";
    s.name = name;
    s.code_path = path;
    s.memory_bytes = 8u * 1024 * 1024;
    s.timeout_ms = 300;
    return s;
}

/* Writes function `name` with `code` and adds it with fx_spec's defaults, `mod` applied. */
static inline int fx_add_spec(fx_t *f, const char *name, const char *code,
                              const fnhost_spec_t *spec)
{
    char file[80], err[512] = "";
    snprintf(file, sizeof file, "%s.lua", name);
    fx_write(f->dir, file, code);
    int rc = fnhost_add(f->host, spec, err, sizeof err);
    if (rc) fprintf(stderr, "  fnhost_add %s: %s\n", name, err);
    return rc;
}

static inline int fx_add(fx_t *f, const char *name, const char *code)
{
    char path[256];
    fnhost_spec_t s = fx_spec(f, name, path, sizeof path);
    return fx_add_spec(f, name, code, &s);
}

static inline void fx_done(void *data, const fnhost_result_t *r)
{
    fx_res_t *res = data;
    res->calls++;
    res->done = 1;
    res->status = r->status_code;
    snprintf(res->fnerr, sizeof res->fnerr, "%s", r->function_error ? r->function_error : "");
    free(res->payload);
    res->payload = malloc(r->len + 1);
    memcpy(res->payload, r->payload, r->len);
    res->payload[r->len] = 0;
    res->len = r->len;
}

static inline void fx_res_free(fx_res_t *r)
{
    free(r->payload);
    memset(r, 0, sizeof *r);
}

static inline void fx_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until *flag is set or `ms` pass. Returns 1 when it was set. */
static inline int fx_run_until(fx_t *f, const int *flag, uint64_t ms)
{
    uint64_t end = uv_hrtime() + ms * 1000000u;
    uv_timer_t tick; /* keeps the loop from blocking forever */
    uv_timer_init(&f->loop, &tick);
    uv_timer_start(&tick, fx_tick, 5, 5);
    while (!*flag && uv_hrtime() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return *flag;
}

/* Invokes svc/name with `event` and waits up to 5 s for the result. */
static inline int fx_call(fx_t *f, const char *name, const char *event, fx_res_t *res)
{
    fx_res_free(res);
    int rc = fnhost_invoke(f->host, "svc", name, event, strlen(event), NULL, 0, fx_done, res, NULL);
    if (rc) return rc;
    CHECK_EQ_INT(res->done, 0); /* never synchronous */
    CHECK(fx_run_until(f, &res->done, 5000));
    return 0;
}

static inline void fx_on_shutdown(void *data)
{
    *(int *)data = 1;
}

static inline void fx_rmrf(const char *path)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "  cannot remove %s\n", path);
}

static inline void fx_close(fx_t *f)
{
    int down = 0;
    fnhost_shutdown(f->host, fx_on_shutdown, &down);
    CHECK(fx_run_until(f, &down, 5000));
    fnhost_destroy(f->host);
    bus_destroy(f->bus);
    vg_ctx_close(&f->ctx);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
    if (f->devnull) fclose(f->devnull);
    fx_rmrf(f->root);
}

/* The normal function every sandbox test runs after its attack: it checks that the libraries
 * and the string metatable are intact in a fresh state. */
#define FX_GOOD_CODE                                                                               \
    "function handler(e)\n"                                                                        \
    "  assert(string.rep('ab', 2) == 'abab')\n"                                                    \
    "  assert(('ab'):rep(2) == 'abab')\n"                                                          \
    "  assert(('x'):upper() == 'X')\n"                                                             \
    "  assert(type(table.insert) == 'function' and type(string.format) == 'function')\n"           \
    "  assert(math.pi > 3.14 and math.floor(1.5) == 1)\n"                                          \
    "  assert(getmetatable('') == 'locked' and getmetatable(_G) == nil)\n"                         \
    "  local t = {} table.insert(t, 'ok:') return t[1] .. e\n"                                     \
    "end\n"

#endif
