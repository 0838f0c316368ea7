/* router.c: the route table. A route is one bus subscription on its topic filter; its
 * delivery callback checks the message's source ("device:<pk>/<dn>", "function:<svc>/<fn>")
 * against the route's, then hands the message to a function or republishes it. */
#define VG_LOG_MODULE "router"
#include "router/router.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>

typedef struct router__route {
    router_t *r;
    bundle_route_t spec; /* owned copies of the strings */
    bus_sub_t *sub;
    vg_series_t *forwarded, *refused, *failed;
    int64_t failure_logged_ms; /* failures are logged at most once a second per route */
} router__route_t;

struct router {
    vg_ctx_t *ctx;
    bus_t *bus;
    fnhost_t *fns;
    router__route_t *routes;
    size_t nroutes;
};

int router_create(vg_ctx_t *ctx, bus_t *bus, fnhost_t *fns, router_t **out)
{
    router_t *r = calloc(1, sizeof *r);
    if (!r) return VG_ENOMEM;
    if (vg_metrics_declare(ctx->metrics, "verge_route_messages_total", VG_METRIC_COUNTER,
                           "Messages a route matched, by outcome (forwarded; refused: the "
                           "target function's queue was full; failed).")) {
        free(r);
        return VG_ENOMEM;
    }
    r->ctx = ctx;
    r->bus = bus;
    r->fns = fns;
    *out = r;
    return 0;
}

/* Compares one "a/b" half of a source with the route's (NULL or "+": any). */
static int router__part_ok(const char *want, const char *have, size_t n)
{
    if (!want || (want[0] == '+' && want[1] == '\0')) return 1;
    return strlen(want) == n && memcmp(want, have, n) == 0;
}

/* Returns 1 when message source `src` is one the route takes. */
static int router__source_ok(const bundle_route_t *s, const char *src)
{
    static const char *const prefix[] = {
        [BUNDLE_SOURCE_DEVICE] = "device:",
        [BUNDLE_SOURCE_FUNCTION] = "function:",
    };
    if (s->source_type == BUNDLE_SOURCE_ANY) return 1;
    size_t plen = strlen(prefix[s->source_type]);
    if (strncmp(src, prefix[s->source_type], plen) != 0) return 0;
    const char *a = src + plen;
    const char *slash = strchr(a, '/');
    if (!slash) return 0;
    return router__part_ok(s->source_a, a, (size_t)(slash - a)) &&
           router__part_ok(s->source_b, slash + 1, strlen(slash + 1));
}

static void router__failed(router__route_t *rt, const char *what, int rc)
{
    rt->failed->value += 1;
    int64_t now = vg_time_ms();
    if (now - rt->failure_logged_ms < 1000) return;
    rt->failure_logged_ms = now;
    vg_error(&rt->r->ctx->log,
             "route %s: %s: %s (counted in verge_route_messages_total{outcome=\"failed\"}; "
             "logged once a second)",
             rt->spec.name, what, vg_strerror(rc));
}

static void router__deliver(void *data, bus_msg_t *m)
{
    router__route_t *rt = data;
    const bundle_route_t *s = &rt->spec;
    if (!router__source_ok(s, m->source)) return;
    if (s->target_type == BUNDLE_TARGET_FUNCTION) {
        int rc = fnhost_invoke_msg(rt->r->fns, s->target_a, s->target_b, m, NULL, NULL);
        if (rc == 0)
            rt->forwarded->value += 1;
        else if (rc == VG_ELIMIT)
            rt->refused->value += 1; /* fnhost counts and logs the refusal too */
        else
            router__failed(rt, s->target_b, rc);
        return;
    }
    bus_msg_t *out = bus_msg_create(s->target_a, m->source, m->payload, m->len);
    int rc = out ? bus_publish(rt->r->bus, out) : VG_ENOMEM;
    bus_msg_unref(out);
    if (rc >= 0)
        rt->forwarded->value += 1;
    else
        router__failed(rt, s->target_a, rc);
}

static char *router__dup(const char *s, int *oom)
{
    if (!s) return NULL;
    char *p = strdup(s);
    if (!p) *oom = 1;
    return p;
}

static void router__route_close(router_t *r, router__route_t *rt)
{
    bus_unsubscribe(r->bus, rt->sub);
    bundle_route_t *s = &rt->spec;
    free(s->name);
    free(s->source_a);
    free(s->source_b);
    free(s->topic);
    free(s->target_a);
    free(s->target_b);
}

/* Copies `src` into `rt` and subscribes it. Returns 0 or a VG_E* code (rt is then closed). */
static int router__route_open(router_t *r, router__route_t *rt, const bundle_route_t *src,
                              char *err, size_t errlen)
{
    int oom = 0;
    rt->r = r;
    rt->spec = *src;
    bundle_route_t *s = &rt->spec;
    s->name = router__dup(src->name ? src->name : "", &oom);
    s->source_a = router__dup(src->source_a, &oom);
    s->source_b = router__dup(src->source_b, &oom);
    s->topic = router__dup(src->topic ? src->topic : "#", &oom);
    s->target_a = router__dup(src->target_a, &oom);
    s->target_b = router__dup(src->target_b, &oom);
    vg_series_t **series[] = {&rt->forwarded, &rt->refused, &rt->failed};
    static const char *const outcome[] = {"forwarded", "refused", "failed"};
    for (size_t i = 0; i < 3; i++) {
        char labels[160];
        snprintf(labels, sizeof labels, "route=\"%.64s\",outcome=\"%s\"", s->name ? s->name : "",
                 outcome[i]);
        *series[i] = vg_metrics_series(r->ctx->metrics, "verge_route_messages_total", labels);
    }
    int bad_target = !s->target_a || (s->target_type == BUNDLE_TARGET_FUNCTION && !s->target_b);
    int rc = oom || !rt->forwarded || !rt->refused || !rt->failed ? VG_ENOMEM
             : bad_target                                         ? VG_EINVAL
             : bus_subscribe(r->bus, s->topic, router__deliver, rt, &rt->sub);
    if (rc) {
        snprintf(err, errlen, "route %s: %s", s->name ? s->name : "?",
                 rc == VG_EINVAL ? "invalid topic filter or target" : vg_strerror(rc));
        rt->sub = NULL;
        router__route_close(r, rt);
    }
    return rc;
}

int router_set(router_t *r, const bundle_route_t *routes, size_t n, char *err, size_t errlen)
{
    router__route_t *next = n ? calloc(n, sizeof *next) : NULL;
    if (n && !next) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = router__route_open(r, &next[i], &routes[i], err, errlen);
        if (rc) {
            while (i--) router__route_close(r, &next[i]);
            free(next);
            return rc;
        }
    }
    for (size_t i = 0; i < r->nroutes; i++) router__route_close(r, &r->routes[i]);
    free(r->routes);
    r->routes = next;
    r->nroutes = n;
    return 0;
}

size_t router_count(const router_t *r)
{
    return r->nroutes;
}

void router_destroy(router_t *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nroutes; i++) router__route_close(r, &r->routes[i]);
    free(r->routes);
    free(r);
}
