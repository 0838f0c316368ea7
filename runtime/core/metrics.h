/* metrics.h: counters, gauges and histograms, rendered in the Prometheus text format.
 * A series is a metric name plus a label string ("path=\"/auth/login\",code=\"200\"").
 * Lookups return stable pointers that hot paths may keep; all calls are loop-thread only. */
#ifndef VG_CORE_METRICS_H
#define VG_CORE_METRICS_H

#include "core/buf.h"

#include <stdint.h>

typedef struct vg_metrics vg_metrics_t;

typedef enum { VG_METRIC_COUNTER, VG_METRIC_GAUGE, VG_METRIC_HISTOGRAM } vg_metric_type_t;

#define VG_HISTOGRAM_BUCKETS 14
typedef struct vg_series {
    double value; /* counter or gauge value; histogram sum */
    uint64_t count;                          /* histogram only */
    uint64_t buckets[VG_HISTOGRAM_BUCKETS];  /* histogram only, non-cumulative */
} vg_series_t;

/* Creates an empty registry, or returns NULL when out of memory. */
vg_metrics_t *vg_metrics_create(void);
/* Frees the registry and every series; pointers returned earlier become invalid. */
void vg_metrics_destroy(vg_metrics_t *m);

/* Declares a metric (its type and HELP text). Declaring twice is harmless. Returns 0 or
 * VG_ENOMEM. Histogram buckets are fixed: 0.1 ms to 10 s, in seconds. */
int vg_metrics_declare(vg_metrics_t *m, const char *name, vg_metric_type_t type, const char *help);

/* Returns the series for (name, labels), creating it at zero; `labels` may be NULL or "".
 * The name must have been declared. Returns NULL on allocation failure or an undeclared name. */
vg_series_t *vg_metrics_series(vg_metrics_t *m, const char *name, const char *labels);

/* Convenience wrappers over vg_metrics_series; they do nothing when the series can't be had. */
void vg_metrics_inc(vg_metrics_t *m, const char *name, const char *labels, double by);
void vg_metrics_set(vg_metrics_t *m, const char *name, const char *labels, double value);
void vg_metrics_observe(vg_metrics_t *m, const char *name, const char *labels, double seconds);
/* Records one observation into a histogram series obtained earlier. */
void vg_series_observe(vg_series_t *s, double seconds);

/* Appends the whole registry in the Prometheus text exposition format. Returns 0 or
 * VG_ENOMEM. */
int vg_metrics_render(const vg_metrics_t *m, vg_buf_t *out);

#endif
