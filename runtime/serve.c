/* serve.c: `verge serve`: builds the runtime (context, store, auth, TLS, API, HTTP server) on
 * one libuv loop, runs it, and on SIGINT/SIGTERM stops accepting, lets requests in flight
 * finish within server.shutdown_grace_ms, closes the database cleanly and exits 0. */
#define VG_LOG_MODULE "verge"
#include "cli.h"
#include "core/ctx.h"
#include "core/error.h"
#include "bundle/bundle.h"
#include "bus/bus.h"
#include "drvhost/drvhost.h"
#include "fnhost/fnhost.h"
#include "router/router.h"
#include "handlers/api.h"
#include "things/things.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything the daemon owns: the one runtime context and the modules built on it. */
typedef struct verge {
    uv_loop_t loop;
    vg_ctx_t ctx;
    store_t *store;
    auth_t *auth;
    bus_t *bus;
    things_t *things;
    drvhost_t *drivers;
    fnhost_t *functions;
    router_t *router;
    bundle_t *bundle;
    tls_ctx_t *tls;
    api_t *api;
    http_server_t *http;
    uv_signal_t sigint, sigterm, sighup;
    const char *bundle_dir; /* --bundle, re-read on SIGHUP */
    uv_timer_t drain;
    int signals_open;
} verge_t;

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

static void on_drain(uv_timer_t *t)
{
    verge_t *v = t->data;
    if (auth_pending(v->auth) > 0) return; /* logins still hashing: look again shortly */
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, on_closed_noop);
    uv_stop(&v->loop);
}

static void on_drivers_stopped(void *data)
{
    verge_t *v = data;
    uv_timer_init(&v->loop, &v->drain);
    v->drain.data = v;
    uv_timer_start(&v->drain, on_drain, 0, 10);
}

/* The functions have stopped: now the drivers (SIGTERM, then SIGKILL after a bound). */
static void on_functions_stopped(void *data)
{
    verge_t *v = data;
    drvhost_shutdown(v->drivers, on_drivers_stopped, v);
}

/* The API has stopped: now the functions (what still runs or waits is answered
 * "Unhandled"), so that no function calls a driver that is going away. */
static void on_http_stopped(void *data)
{
    verge_t *v = data;
    router_destroy(v->router);
    v->router = NULL;
    fnhost_shutdown(v->functions, on_functions_stopped, v);
}

/* SIGHUP: re-reads the bundle and sends each running driver whose config changed its new
 * config (its config-changed callback runs). Other changes of the bundle are not applied
 * here: they need a deployment or a restart, and the log says so. */
static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    verge_t *v = s->data;
    if (!v->bundle_dir) {
        vg_info(&v->ctx.log, "SIGHUP: no bundle to reload");
        return;
    }
    vg_buf_t errors;
    vg_buf_init(&errors);
    bundle_t *b = NULL;
    if (bundle_load(v->bundle_dir, &b, &errors)) {
        vg_error(&v->ctx.log, "SIGHUP: %s not reloaded, it has problems:\n%s", v->bundle_dir,
                 errors.data ? errors.data : "out of memory");
        vg_buf_close(&errors);
        return;
    }
    vg_buf_close(&errors);
    int changed = 0;
    for (size_t i = 0; i < b->ndrivers; i++) {
        const bundle_driver_t *old = bundle_driver(v->bundle, b->drivers[i].name);
        char *now = bundle_driver_config(&b->drivers[i]);
        char *was = old ? bundle_driver_config(old) : NULL;
        if (now && was && strcmp(now, was) != 0 &&
            drvhost_set_config(v->drivers, b->drivers[i].name, now) == 0) {
            vg_info(&v->ctx.log, "SIGHUP: new config sent to driver %s", b->drivers[i].name);
            changed++;
        }
        free(now);
        free(was);
    }
    vg_info(&v->ctx.log,
            "SIGHUP: %d driver config(s) changed; other changes to the bundle (products, "
            "drivers, devices) take effect at the next start",
            changed);
    /* The reloaded bundle is what the next SIGHUP compares with (drivers it adds are not
     * running: drvhost_set_config ignores them). */
    bundle_destroy(v->bundle);
    v->bundle = b;
}

static void on_signal(uv_signal_t *s, int signum)
{
    verge_t *v = s->data;
    if (v->ctx.stopping) return;
    v->ctx.stopping = 1;
    vg_info(&v->ctx.log, "%s: stopping (grace %lld ms)", signum == SIGINT ? "SIGINT" : "SIGTERM",
            (long long)v->ctx.cfg.shutdown_grace_ms);
    uv_close((uv_handle_t *)&v->sigint, on_closed_noop);
    uv_close((uv_handle_t *)&v->sigterm, on_closed_noop);
    uv_close((uv_handle_t *)&v->sighup, on_closed_noop);
    http_server_shutdown(v->http, on_http_stopped, v);
}

/* Registers the bundle's products, devices and drivers. Returns 0, or 1 after logging. */
static int verge__apply_bundle(verge_t *v)
{
    vg_ctx_t *ctx = &v->ctx;
    const bundle_t *b = v->bundle;
    char err[512];
    for (size_t i = 0; i < b->nproducts; i++) {
        const bundle_product_t *p = &b->products[i];
        if (things_add_product(v->things, p->product_key, p->tsl, p->tsl_ext_info, err,
                               sizeof err)) {
            vg_error(&ctx->log, "%s: %s", p->tsl_path, err);
            return 1;
        }
    }
    for (size_t i = 0; i < b->ndrivers; i++) {
        const bundle_driver_t *d = &b->drivers[i];
        for (size_t k = 0; k < d->ndevices; k++) {
            const bundle_device_t *dev = &d->devices[k];
            if (things_add_device_local(v->things, dev->product_key, dev->device_name,
                                        dev->local_name, d->name, dev->tags, dev->custom, err,
                                        sizeof err)) {
                vg_error(&ctx->log, "bundle.json: drivers[%zu].devices[%zu]: %s", i, k, err);
                return 1;
            }
        }
        char *config = bundle_driver_config(d);
        int rc =
            config ? drvhost_add_driver(v->drivers, d->name, d->exec, d->dir, config) : VG_ENOMEM;
        free(config);
        if (rc) {
            vg_error(&ctx->log, "driver %s: %s", d->name, vg_strerror(rc));
            return 1;
        }
    }
    for (size_t i = 0; i < b->nfunctions; i++) {
        const bundle_function_t *f = &b->functions[i];
        fnhost_timer_t timers[FNHOST_TIMERS_MAX];
        for (size_t k = 0; k < f->ntimers && k < FNHOST_TIMERS_MAX; k++)
            timers[k] = (fnhost_timer_t){f->timers[k].every_ms, f->timers[k].cron,
                                         f->timers[k].payload};
        fnhost_spec_t spec = {
            .service = f->service,
            .name = f->name,
            .code_path = f->code,
            .handler = f->handler,
            .memory_bytes = (size_t)f->memory_mb * 1024u * 1024u,
            .timeout_ms = f->timeout_ms,
            .concurrency = (int)f->concurrency,
            .queue_max = (int)f->queue_max,
            .mode = f->mode == BUNDLE_LONG_RUNNING ? FNHOST_LONG_RUNNING : FNHOST_ON_DEMAND,
            .idle_unload_ms = f->idle_unload_ms,
            .timers = timers,
            .ntimers = f->ntimers,
            .env = f->env,
        };
        if (fnhost_add(v->functions, &spec, err, sizeof err)) {
            vg_error(&ctx->log, "bundle.json: functions[%zu]: %s", i, err);
            return 1;
        }
    }
    if (router_set(v->router, b->routes, b->nroutes, err, sizeof err)) {
        vg_error(&ctx->log, "bundle.json: routes: %s", err);
        return 1;
    }
    vg_info(&ctx->log,
            "bundle %s %s: %zu product(s), %zu driver(s), %zu function(s), %zu route(s)",
            b->name, b->version, b->nproducts, b->ndrivers, b->nfunctions, b->nroutes);
    return 0;
}

/* Builds every module. Returns 0, or 1 after logging what failed. */
static int verge__start(verge_t *v)
{
    char err[1024], path[VG_CONFIG_STR_MAX + 32];
    vg_ctx_t *ctx = &v->ctx;
    if (cli_mkdirs(ctx->cfg.data_dir)) {
        vg_error(&ctx->log, "cannot create server.data_dir \"%s\": %s", ctx->cfg.data_dir,
                 strerror(errno));
        return 1;
    }
    /* Absolute from here on: drivers run in their own folders and must find the socket. */
    char abs[PATH_MAX];
    if (!realpath(ctx->cfg.data_dir, abs) || strlen(abs) >= sizeof ctx->cfg.data_dir) {
        vg_error(&ctx->log, "server.data_dir \"%s\": cannot resolve it: %s", ctx->cfg.data_dir,
                 strerror(errno ? errno : ENAMETOOLONG));
        return 1;
    }
    memcpy(ctx->cfg.data_dir, abs, strlen(abs) + 1);
    snprintf(path, sizeof path, "%s/verge.db", ctx->cfg.data_dir);
    if (store_open(ctx, path, &v->store)) return 1;
    if (auth_create(ctx, v->store, &v->auth)) return 1;
    if (bus_create(ctx, &v->bus) || things_create(ctx, v->store, v->bus, &v->things) ||
        drvhost_create(ctx, v->things, &v->drivers) ||
        fnhost_create(ctx, v->things, v->bus, &v->functions) ||
        router_create(ctx, v->bus, v->functions, &v->router)) {
        vg_error(&ctx->log, "cannot start the device subsystems");
        return 1;
    }
    snprintf(path, sizeof path, "%s/run/drivers.sock", ctx->cfg.data_dir);
    if (drvhost_listen(v->drivers, path, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    if (v->bundle && verge__apply_bundle(v)) return 1;
    if (tls_ctx_create(ctx, &v->tls, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    api_deps_t deps = {ctx, v->auth, v->store, v->things, v->bus, v->functions, VERGE_VERSION};
    if (api_create(&deps, &v->api) ||
        http_server_create(ctx, v->tls, api_handle, v->api, &v->http)) {
        vg_error(&ctx->log, "out of memory");
        return 1;
    }
    if (http_server_listen(v->http, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    drvhost_start(v->drivers);
    fnhost_start(v->functions);
    uv_signal_init(&v->loop, &v->sigint);
    uv_signal_init(&v->loop, &v->sigterm);
    uv_signal_init(&v->loop, &v->sighup);
    v->sigint.data = v->sigterm.data = v->sighup.data = v;
    uv_signal_start(&v->sigint, on_signal, SIGINT);
    uv_signal_start(&v->sigterm, on_signal, SIGTERM);
    uv_signal_start(&v->sighup, on_sighup, SIGHUP);
    vg_info(&ctx->log, "verge %s serving the OpenAPI on https://%s (port %d), data in %s",
            VERGE_VERSION, ctx->cfg.listen, http_server_port(v->http), ctx->cfg.data_dir);
    return 0;
}

static void verge__close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, on_closed_noop);
}

/* Closes whatever handle is still open (only after a failed start, or an unref'd timer),
 * lets libuv finish, then frees the modules in reverse order of creation. */
static void verge__stop(verge_t *v)
{
    if (v->functions && v->router) { /* the start failed: nothing stopped the functions */
        router_destroy(v->router);
        v->router = NULL;
        fnhost_shutdown(v->functions, NULL, NULL);
    }
    auth_destroy(v->auth);
    things_destroy(v->things); /* writes the pending property values */
    uv_walk(&v->loop, verge__close_handle, NULL);
    uv_run(&v->loop, UV_RUN_DEFAULT);
    api_destroy(v->api);
    http_server_destroy(v->http);
    router_destroy(v->router);
    fnhost_destroy(v->functions);
    drvhost_destroy(v->drivers);
    bus_destroy(v->bus);
    tls_ctx_destroy(v->tls);
    store_close(v->store);
    bundle_destroy(v->bundle);
}

int cmd_serve(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npositional) {
        fprintf(stderr, "verge serve: unexpected argument \"%s\"\n", o.positional[0]);
        return CLI_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    verge_t v;
    memset(&v, 0, sizeof v);
    if (o.bundle) {
        vg_buf_t errors;
        vg_buf_init(&errors);
        v.bundle_dir = o.bundle;
        if (bundle_load(o.bundle, &v.bundle, &errors)) {
            fprintf(stderr, "verge: cannot load the bundle %s:\n%s", o.bundle,
                    errors.data ? errors.data : "out of memory\n");
            vg_buf_close(&errors);
            return CLI_EXIT_USAGE;
        }
        vg_buf_close(&errors);
    }
    uv_loop_init(&v.loop);
    if (vg_ctx_init(&v.ctx, &v.loop, &o.cfg)) {
        fprintf(stderr, "verge: out of memory\n");
        return 1;
    }
    rc = verge__start(&v);
    if (rc == 0) {
        uv_run(&v.loop, UV_RUN_DEFAULT);
        vg_info(&v.ctx.log, "stopped");
    }
    verge__stop(&v);
    vg_ctx_close(&v.ctx);
    uv_loop_close(&v.loop);
    return rc;
}
