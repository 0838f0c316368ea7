/* alloc.c: the lua_Alloc of every function state. Every byte the state holds, its baseline
 * included, is counted against the function's memory limit; growth past the limit fails, so
 * Lua raises a memory error inside the function and the runtime is unaffected. */
#include "fnhost/fnhost_int.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdlib.h>

/* Logs and counts a breach once per invocation (every time outside one), and kills the
 * invocation that caused it so that pcall cannot swallow the error. */
static void alloc_breach(fnhost__fn_t *fn, size_t nsize)
{
    fnhost__inv_t *inv = fn->current;
    if (inv && inv->killed) return;
    if (inv) inv->killed = FNHOST__KILL_MEMORY;
    vg_warn(&fn->host->ctx->log,
            "%s/%s: memory limit of %zu bytes reached (%zu in use, %zu more asked)", fn->service,
            fn->name, fn->mem_limit, fn->mem_used, nsize);
    char labels[sizeof fn->label + 32];
    snprintf(labels, sizeof labels, "%s,kind=\"memory\"", fn->label);
    vg_metrics_inc(fn->host->ctx->metrics, "verge_fn_limit_breaches_total", labels, 1);
}

void *fnhost__alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    fnhost__fn_t *fn = ud;
    size_t old = ptr ? osize : 0; /* with ptr NULL, osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        fn->mem_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > fn->mem_limit - fn->mem_used) {
        alloc_breach(fn, nsize);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    fn->mem_used = fn->mem_used - old + nsize;
    return p;
}
