/* hook.c: the time limit. A count hook checks the invocation's monotonic deadline every
 * FNHOST__HOOK_COUNT instructions; past it, the invocation is killed and the hook raises a
 * sentinel error on every later tick, which the pcall wrappers re-raise, so nothing catches it. */
#include "fnhost/fnhost_int.h"
#include "core/log.h"
#include "core/metrics.h"

/* The sentinel is a light userdata of this address: raising it never allocates. */
static const char hook_sentinel = 0;

fnhost__fn_t *fnhost__fn_of(lua_State *L)
{
    return *(fnhost__fn_t **)lua_getextraspace(L);
}

const char *fnhost__kill_message(int kind)
{
    return kind == FNHOST__KILL_MEMORY ? "memory limit exceeded" : "time limit exceeded";
}

int fnhost__raise_killed(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&hook_sentinel);
    return lua_error(L);
}

void fnhost__check_killed(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    if (fn && fn->current && fn->current->killed) fnhost__raise_killed(L);
}

void fnhost__hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    fnhost__tick(L);
}

void fnhost__tick(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    fnhost__inv_t *inv = fn ? fn->current : NULL;
    if (!inv) return;
    if (!inv->killed) {
        if (uv_hrtime() < inv->deadline_ns) return;
        inv->killed = FNHOST__KILL_TIME;
        vg_warn(&fn->host->ctx->log, "%s/%s: time limit of %lld ms reached%s", fn->service,
                fn->name, (long long)fn->timeout_ms, inv->toplevel ? " (top level)" : "");
        char labels[sizeof fn->label + 32];
        snprintf(labels, sizeof labels, "%s,kind=\"time\"", fn->label);
        vg_metrics_inc(fn->host->ctx->metrics, "verge_fn_limit_breaches_total", labels, 1);
    }
    fnhost__raise_killed(L);
}
