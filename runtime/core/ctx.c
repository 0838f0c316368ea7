/* ctx.c: set-up and tear-down of the runtime context, and the clocks. */
#include "core/ctx.h"
#include "core/error.h"

#include <string.h>
#include <time.h>

int vg_ctx_init(vg_ctx_t *ctx, uv_loop_t *loop, const vg_config_t *cfg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->loop = loop;
    ctx->cfg = *cfg;
    vg_log_level_t level = VG_LOG_INFO;
    (void)vg_log_level_parse(cfg->log_level, &level);
    vg_logger_init(&ctx->log, level,
                   strcmp(cfg->log_format, "json") == 0 ? VG_LOG_FORMAT_JSON : VG_LOG_FORMAT_HUMAN,
                   stderr);
    ctx->metrics = vg_metrics_create();
    if (!ctx->metrics) return VG_ENOMEM;
    ctx->started_ms = uv_now(loop);
    return 0;
}

void vg_ctx_close(vg_ctx_t *ctx)
{
    vg_metrics_destroy(ctx->metrics);
    ctx->metrics = NULL;
}

int64_t vg_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t vg_mono_ns(void)
{
    return uv_hrtime();
}
