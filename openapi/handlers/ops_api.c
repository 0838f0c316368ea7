/* ops_api.c: operations endpoints: GET /healthz, GET /metrics (Prometheus text) and
 * POST /system/info. */
#include "handlers/api.h"

void api_ops_healthz(api_call_t *call)
{
    api_reply(call, json_pack("{s:s}", "status", "ok"), NULL);
}

void api_ops_metrics(api_call_t *call)
{
    vg_buf_t b;
    vg_buf_init(&b);
    if (vg_metrics_render(api_deps(call->api)->ctx->metrics, &b)) {
        vg_buf_close(&b);
        api_error(call, 500, NULL, NULL, "out of memory rendering metrics");
        return;
    }
    api_reply_raw(call, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
    vg_buf_close(&b);
}

void api_ops_info(api_call_t *call)
{
    const api_deps_t *d = api_deps(call->api);
    json_int_t uptime = (json_int_t)(uv_now(d->ctx->loop) - d->ctx->started_ms);
    api_reply(call, json_pack("{s:s,s:I,s:s}", "version", d->version, "uptimeMs", uptime, "user",
                              call->user),
              NULL);
}
