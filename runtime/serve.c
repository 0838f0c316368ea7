/* serve.c: `verge serve`: builds the runtime (context, store, auth, TLS, API, HTTP server) on
 * one libuv loop, runs it, and on SIGINT/SIGTERM stops accepting, lets requests in flight
 * finish within server.shutdown_grace_ms, closes the database cleanly and exits 0. */
#define VG_LOG_MODULE "verge"
#include "cli.h"
#include "core/ctx.h"
#include "core/error.h"
#include "handlers/api.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Everything the daemon owns: the one runtime context and the modules built on it. */
typedef struct verge {
    uv_loop_t loop;
    vg_ctx_t ctx;
    store_t *store;
    auth_t *auth;
    tls_ctx_t *tls;
    api_t *api;
    http_server_t *http;
    uv_signal_t sigint, sigterm;
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

static void on_http_stopped(void *data)
{
    verge_t *v = data;
    uv_timer_init(&v->loop, &v->drain);
    v->drain.data = v;
    uv_timer_start(&v->drain, on_drain, 0, 10);
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
    http_server_shutdown(v->http, on_http_stopped, v);
}

/* Builds every module. Returns 0, or 1 after logging what failed. */
static int verge__start(verge_t *v, const cli_opts_t *o)
{
    char err[1024], path[VG_CONFIG_STR_MAX + 32];
    vg_ctx_t *ctx = &v->ctx;
    if (cli_mkdirs(ctx->cfg.data_dir)) {
        vg_error(&ctx->log, "cannot create server.data_dir \"%s\": %s", ctx->cfg.data_dir,
                 strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/verge.db", ctx->cfg.data_dir);
    if (store_open(ctx, path, &v->store)) return 1;
    if (auth_create(ctx, v->store, &v->auth)) return 1;
    if (tls_ctx_create(ctx, &v->tls, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    api_deps_t deps = {ctx, v->auth, v->store, VERGE_VERSION};
    if (api_create(&deps, &v->api) ||
        http_server_create(ctx, v->tls, api_handle, v->api, &v->http)) {
        vg_error(&ctx->log, "out of memory");
        return 1;
    }
    if (http_server_listen(v->http, err, sizeof err)) {
        vg_error(&ctx->log, "%s", err);
        return 1;
    }
    if (o->bundle) vg_warn(&ctx->log, "--bundle %s: bundles are not supported yet", o->bundle);
    uv_signal_init(&v->loop, &v->sigint);
    uv_signal_init(&v->loop, &v->sigterm);
    v->sigint.data = v->sigterm.data = v;
    uv_signal_start(&v->sigint, on_signal, SIGINT);
    uv_signal_start(&v->sigterm, on_signal, SIGTERM);
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
    auth_destroy(v->auth);
    uv_walk(&v->loop, verge__close_handle, NULL);
    uv_run(&v->loop, UV_RUN_DEFAULT);
    api_destroy(v->api);
    http_server_destroy(v->http);
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
    uv_loop_init(&v.loop);
    if (vg_ctx_init(&v.ctx, &v.loop, &o.cfg)) {
        fprintf(stderr, "verge: out of memory\n");
        return 1;
    }
    rc = verge__start(&v, &o);
    if (rc == 0) {
        uv_run(&v.loop, UV_RUN_DEFAULT);
        vg_info(&v.ctx.log, "stopped");
    }
    verge__stop(&v);
    vg_ctx_close(&v.ctx);
    uv_loop_close(&v.loop);
    return rc;
}
