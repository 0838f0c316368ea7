/* metrics.c: the registry of metrics.h. Metrics are kept in declaration order, each with its
 * series in a small list; the number of series is bounded by the code that creates them
 * (routes × codes), so lookup is linear over short lists. */
#include "core/metrics.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static const double vg__bucket_bounds[VG_HISTOGRAM_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10};

typedef struct vg__series_node {
    struct vg__series_node *next;
    vg_series_t s;
    char labels[]; /* "" for none */
} vg__series_node_t;

typedef struct vg__metric {
    struct vg__metric *next;
    vg_metric_type_t type;
    char *name;
    char *help;
    vg__series_node_t *series, *last;
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

vg_series_t *vg_metrics_series(vg_metrics_t *m, const char *name, const char *labels)
{
    vg__metric_t *mt = vg__metric_find(m, name);
    if (!mt) return NULL;
    if (!labels) labels = "";
    for (vg__series_node_t *s = mt->series; s; s = s->next)
        if (strcmp(s->labels, labels) == 0) return &s->s;
    size_t l = strlen(labels);
    vg__series_node_t *s = calloc(1, sizeof *s + l + 1);
    if (!s) return NULL;
    memcpy(s->labels, labels, l + 1);
    if (mt->last)
        mt->last->next = s;
    else
        mt->series = s;
    mt->last = s;
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
