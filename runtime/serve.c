/* serve.c: `verge serve`: builds the runtime (context, store, auth, TLS, API, HTTP server) on
 * one libuv loop, runs it, and on SIGINT/SIGTERM stops accepting, lets requests in flight
 * finish within server.shutdown_grace_ms, closes the database cleanly and exits 0. */
#define VG_LOG_MODULE "verge"
#include "cli.h"
#include "core/ctx.h"
#include "core/error.h"
#include "bundle/bundle.h"
#include "bus/bus.h"
#include "deploy/deploy.h"
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
    deploy_t *deploy;
    tls_ctx_t *tls;
    api_t *api;
    http_server_t *http;
    uv_signal_t sigint, sigterm, sighup;
    const char *bundle_dir; /* --bundle, or NULL: the running deployment */
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

/* SIGHUP: the running version's changed driver configs go to the running drivers. */
static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    verge_t *v = s->data;
    deploy_reload_configs(v->deploy);
}

/* No deployment runs any more: now the API. */
static void on_deploy_stopped(void *data)
{
    verge_t *v = data;
    http_server_shutdown(v->http, on_http_stopped, v);
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
    deploy_shutdown(v->deploy, on_deploy_stopped, v);
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
    deploy_deps_t dd = {ctx, v->store, v->things, v->drivers, v->functions, v->router};
    if (deploy_create(&dd, &v->deploy)) return 1;
    if (deploy_start(v->deploy, v->bundle_dir, err, sizeof err)) {
        if (v->bundle_dir) {
            fprintf(stderr, "verge: cannot load the bundle %s:\n%s", v->bundle_dir, err);
            return CLI_EXIT_USAGE;
        }
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    if (tls_ctx_create(ctx, &v->tls, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    api_deps_t deps = {ctx,          v->auth,       v->store, v->things, v->bus,
                       v->functions, VERGE_VERSION, v->deploy};
    if (api_create(&deps, &v->api) ||
        http_server_create(ctx, v->tls, api_handle, v->api, &v->http)) {
        vg_error(&ctx->log, "out of memory");
        return 1;
    }
    http_server_set_body_limit(v->http, api_body_limit);
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
    deploy_destroy(v->deploy);
    fnhost_destroy(v->functions);
    drvhost_destroy(v->drivers);
    bus_destroy(v->bus);
    tls_ctx_destroy(v->tls);
    store_close(v->store);
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
    if (o.bundle) { /* checked before anything is created (deploy_start loads it again) */
        vg_buf_t errors;
        vg_buf_init(&errors);
        bundle_t *b = NULL;
        if (bundle_load(o.bundle, &b, &errors)) {
            fprintf(stderr, "verge: cannot load the bundle %s:\n%s", o.bundle,
                    errors.data ? errors.data : "out of memory\n");
            vg_buf_close(&errors);
            return CLI_EXIT_USAGE;
        }
        vg_buf_close(&errors);
        bundle_destroy(b);
    }
    v.bundle_dir = o.bundle;
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
