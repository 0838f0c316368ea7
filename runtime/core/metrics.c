/* metrics.c: the registry of metrics.h. Metrics are kept in declaration order (a short list,
 * one per kind); each metric keeps its series in creation order for the exposition and in a
 * hash by labels for lookup, since a large bundle has one series per route, function or driver
 * (10,000 routes make 30,000 series). */
#include "core/metrics.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const double vg__bucket_bounds[VG_HISTOGRAM_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10};

typedef struct vg__series_node {
    struct vg__series_node *next;  /* creation order */
    struct vg__series_node *chain; /* same hash bucket */
    uint32_t hash;
    vg_series_t s;
    char labels[]; /* "" for none */
} vg__series_node_t;

typedef struct vg__metric {
    struct vg__metric *next;
    vg_metric_type_t type;
    char *name;
    char *help;
    vg__series_node_t *series, *last;
    vg__series_node_t **buckets; /* nbuckets (a power of two, or 0) */
    size_t nbuckets, nseries;
} vg__metric_t;

struct vg_metrics {
    vg__metric_t *head, *tail;
};

vg_metrics_t *vg_metrics_create(void)
{
    return calloc(1, sizeof(vg_metrics_t));
}

void vg_metrics_destroy(vg_metrics_t *m)
{
    if (!m) return;
    for (vg__metric_t *mt = m->head, *nm; mt; mt = nm) {
        nm = mt->next;
        for (vg__series_node_t *s = mt->series, *ns; s; s = ns) {
            ns = s->next;
            free(s);
        }
        free(mt->buckets);
        free(mt->name);
        free(mt->help);
        free(mt);
    }
    free(m);
}

static vg__metric_t *vg__metric_find(const vg_metrics_t *m, const char *name)
{
    for (vg__metric_t *mt = m->head; mt; mt = mt->next)
        if (strcmp(mt->name, name) == 0) return mt;
    return NULL;
}

int vg_metrics_declare(vg_metrics_t *m, const char *name, vg_metric_type_t type, const char *help)
{
    if (vg__metric_find(m, name)) return 0;
    vg__metric_t *mt = calloc(1, sizeof *mt);
    if (!mt) return VG_ENOMEM;
    mt->type = type;
    mt->name = strdup(name);
    mt->help = strdup(help);
    if (!mt->name || !mt->help) {
        free(mt->name);
        free(mt->help);
        free(mt);
        return VG_ENOMEM;
    }
    if (m->tail)
        m->tail->next = mt;
    else
        m->head = mt;
    m->tail = mt;
    return 0;
}

/* FNV-1a of the labels. */
static uint32_t vg__labels_hash(const char *labels)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)labels; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* Doubles mt's bucket array (from 16); on failure the old one stays (lookups still work). */
static void vg__series_grow(vg__metric_t *mt)
{
    size_t n = mt->nbuckets ? mt->nbuckets * 2 : 16;
    vg__series_node_t **b = calloc(n, sizeof *b);
    if (!b) return;
    for (vg__series_node_t *s = mt->series; s; s = s->next) {
        s->chain = b[s->hash & (n - 1)];
        b[s->hash & (n - 1)] = s;
    }
    free(mt->buckets);
    mt->buckets = b;
    mt->nbuckets = n;
}

vg_series_t *vg_metrics_series(vg_metrics_t *m, const char *name, const char *labels)
{
    vg__metric_t *mt = vg__metric_find(m, name);
    if (!mt) return NULL;
    if (!labels) labels = "";
    uint32_t h = vg__labels_hash(labels);
    vg__series_node_t *found = mt->nbuckets ? mt->buckets[h & (mt->nbuckets - 1)] : mt->series;
    for (; found; found = mt->nbuckets ? found->chain : found->next)
        if (found->hash == h && strcmp(found->labels, labels) == 0) return &found->s;
    size_t l = strlen(labels);
    vg__series_node_t *s = calloc(1, sizeof *s + l + 1);
    if (!s) return NULL;
    memcpy(s->labels, labels, l + 1);
    s->hash = h;
    if (mt->last)
        mt->last->next = s;
    else
        mt->series = s;
    mt->last = s;
    mt->nseries++;
    if (mt->nseries > mt->nbuckets) { /* rehashes every node, this one included */
        vg__series_grow(mt);
        if (mt->nseries <= mt->nbuckets) return &s->s;
    }
    if (mt->nbuckets) { /* the array did not grow (out of memory): chains get longer */
        s->chain = mt->buckets[h & (mt->nbuckets - 1)];
        mt->buckets[h & (mt->nbuckets - 1)] = s;
    } /* else no array at all: lookups walk the creation-order list */
    return &s->s;
}

void vg_metrics_inc(vg_metrics_t *m, const char *name, const char *labels, double by)
{
    vg_series_t *s = vg_metrics_series(m, name, labels);
    if (s) s->value += by;
}

void vg_metrics_set(vg_metrics_t *m, const char *name, const char *labels, double value)
{
    vg_series_t *s = vg_metrics_series(m, name, labels);
    if (s) s->value = value;
}

void vg_series_observe(vg_series_t *s, double seconds)
{
    s->value += seconds;
    s->count++;
    for (int i = 0; i < VG_HISTOGRAM_BUCKETS; i++) {
        if (seconds <= vg__bucket_bounds[i]) {
            s->buckets[i]++;
            break;
        }
    }
}

void vg_metrics_observe(vg_metrics_t *m, const char *name, const char *labels, double seconds)
{
    vg_series_t *s = vg_metrics_series(m, name, labels);
    if (s) vg_series_observe(s, seconds);
}

static const char *const vg__type_text[] = {"counter", "gauge", "histogram"};

int vg_metrics_render(const vg_metrics_t *m, vg_buf_t *out)
{
    int rc = 0;
    for (const vg__metric_t *mt = m->head; mt && !rc; mt = mt->next) {
        rc |= vg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help, mt->name,
                            vg__type_text[mt->type]);
        for (const vg__series_node_t *n = mt->series; n && !rc; n = n->next) {
            const char *l = n->labels;
            if (mt->type != VG_METRIC_HISTOGRAM) {
                rc |= vg_buf_printf(out, "%s%s%s%s %.17g\n", mt->name, *l ? "{" : "", l,
                                    *l ? "}" : "", n->s.value);
                continue;
            }
            uint64_t cum = 0;
            for (int i = 0; i < VG_HISTOGRAM_BUCKETS; i++) {
                cum += n->s.buckets[i];
                rc |= vg_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", mt->name, l,
                                    *l ? "," : "", vg__bucket_bounds[i], (unsigned long long)cum);
            }
            rc |= vg_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", mt->name, l,
                                *l ? "," : "", (unsigned long long)n->s.count);
            rc |= vg_buf_printf(out, "%s_sum%s%s%s %.9g\n%s_count%s%s%s %llu\n", mt->name,
                                *l ? "{" : "", l, *l ? "}" : "", n->s.value, mt->name,
                                *l ? "{" : "", l, *l ? "}" : "", (unsigned long long)n->s.count);
        }
    }
    return rc ? VG_ENOMEM : 0;
}
