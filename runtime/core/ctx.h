/* ctx.h: the runtime context, the one value every module receives instead of globals.
 * It holds what all layers share: the event loop, the configuration, the logger and the
 * metrics registry. Subsystems and the OpenAPI keep a pointer to it; main() owns it. */
#ifndef VG_CORE_CTX_H
#define VG_CORE_CTX_H

#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"

#include <uv.h>

typedef struct vg_ctx {
    uv_loop_t *loop;        /* the one loop; everything touching runtime state runs on it */
    vg_config_t cfg;        /* read-only after start-up */
    vg_logger_t log;
    vg_metrics_t *metrics;
    uint64_t started_ms;    /* uv_now() at start */
    int stopping;           /* set once SIGINT/SIGTERM arrived */
} vg_ctx_t;

/* Initializes `ctx` (caller-owned) with `loop`, a copy of `cfg` and a logger configured from
 * it; creates the metrics registry. Returns 0 or VG_ENOMEM (nothing to close then). */
int vg_ctx_init(vg_ctx_t *ctx, uv_loop_t *loop, const vg_config_t *cfg);
/* Releases what vg_ctx_init created. The loop is not touched. */
void vg_ctx_close(vg_ctx_t *ctx);

/* Wall-clock milliseconds since the epoch. */
int64_t vg_time_ms(void);
/* Monotonic nanoseconds (for latency measurements). */
uint64_t vg_mono_ns(void);

#endif
