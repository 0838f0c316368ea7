/* things.c: the things subsystem's life cycle (create, destroy), its metrics, the result codes'
 * messages and the small helpers the module's files share. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define THINGS__M_REPORTS "verge_things_reports_total"
#define THINGS__M_FLUSH   "verge_things_cache_flush_seconds"
#define THINGS__M_PENDING "verge_things_cache_pending"

static const struct {
    int code;
    const char *message;
} things__errors[] = {
#define THINGS__ERRROW(name, code, msg) {code, msg},
    THINGS_ERRNO_MAP(THINGS__ERRROW)
#undef THINGS__ERRROW
};

const char *things_strerror(int code)
{
    for (size_t i = 0; i < sizeof things__errors / sizeof things__errors[0]; i++)
        if (things__errors[i].code == code) return things__errors[i].message;
    return "Unknow error";
}

int things__vec_push(things__vec_t *v, void *p)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items) return VG_ENOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = p;
    return 0;
}

void things__vec_close(things__vec_t *v)
{
    free(v->items);
    memset(v, 0, sizeof *v);
}

static int things__metrics(things_t *t)
{
    vg_metrics_t *m = t->ctx->metrics;
    if (!m) return 0;
    if (vg_metrics_declare(m, THINGS__M_REPORTS, VG_METRIC_COUNTER,
                           "Reports from drivers accepted, by kind: properties or event.") ||
        vg_metrics_declare(m, THINGS__M_FLUSH, VG_METRIC_HISTOGRAM,
                           "Time to write one batch of property values and device rows to "
                           "SQLite (one transaction, off the loop thread).") ||
        vg_metrics_declare(m, THINGS__M_PENDING, VG_METRIC_GAUGE,
                           "Property values reported but not yet written to SQLite."))
        return VG_ENOMEM;
    t->m_reports_props = vg_metrics_series(m, THINGS__M_REPORTS, "kind=\"properties\"");
    t->m_reports_events = vg_metrics_series(m, THINGS__M_REPORTS, "kind=\"event\"");
    t->m_flush = vg_metrics_series(m, THINGS__M_FLUSH, NULL);
    t->m_pending = vg_metrics_series(m, THINGS__M_PENDING, NULL);
    return t->m_reports_props && t->m_reports_events && t->m_flush && t->m_pending ? 0 : VG_ENOMEM;
}

int things_create(vg_ctx_t *ctx, store_t *st, bus_t *bus, things_t **out)
{
    things_t *t = calloc(1, sizeof *t);
    if (!t) return VG_ENOMEM;
    t->ctx = ctx;
    t->st = st;
    t->bus = bus;
    things__map_init(&t->products);
    things__map_init(&t->devices);
    things__map_init(&t->locals);
    int rc = VG_ENOMEM;
    if (!(t->recent = calloc(THINGS_RECENT_CALLS, sizeof *t->recent)) ||
        (rc = things__metrics(t)) != 0 || (rc = things__cache_open(t)) != 0) {
        things__cache_close(t);
        free(t->recent);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void things_destroy(things_t *t)
{
    if (!t) return;
    things__requests_close(t);
    things__cache_close(t);
    things__registry_free(t);
    free(t->recent);
    free(t);
}
