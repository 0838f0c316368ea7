/* apply.c: the switch from one bundle to another. The plan says which drivers differ (program
 * bytes, config, devices, the TSLs of their products); those and the dropped ones are stopped
 * first, then, in one loop turn, products and devices are registered, new and changed drivers
 * added and started, every function replaced (in-flight invocations finish on the version they
 * started on) and the route table swapped. Unchanged drivers keep running, their devices stay
 * Online. The same code switches back on a rollback and applies the first version at start. */
#include "deploy/deploy_int.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether files `a` and `b` hold the same bytes; -1 when one cannot be read. */
static int deploy__same_file(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) return 1;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb ? 1 : -1;
    char ba[65536], bb[65536];
    while (same == 1) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) same = 0;
        if (na < sizeof ba) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static int deploy__same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether every product a driver's devices use has the same TSL in both bundles. */
static int deploy__same_products(const bundle_t *from, const bundle_t *to,
                                 const bundle_driver_t *drv)
{
    for (size_t k = 0; k < drv->ndevices; k++) {
        const bundle_product_t *a = bundle_product(from, drv->devices[k].product_key);
        const bundle_product_t *b = bundle_product(to, drv->devices[k].product_key);
        if (!a || !b || !deploy__same_str(a->tsl, b->tsl) ||
            !deploy__same_str(a->tsl_ext_info, b->tsl_ext_info))
            return 0;
    }
    return 1;
}

/* Compares driver `b` of `to` with its namesake `a` of `from`. */
static deploy__drv_change_t deploy__driver_change(const bundle_t *from, const bundle_t *to,
                                                  const bundle_driver_t *a,
                                                  const bundle_driver_t *b)
{
    if (!a) return DEPLOY__DRV_NEW;
    char *ca = bundle_driver_config(a), *cb = bundle_driver_config(b);
    int same = ca && cb && strcmp(ca, cb) == 0 && deploy__same_file(a->exec, b->exec) == 1 &&
               a->nfiles == b->nfiles && deploy__same_products(from, to, b);
    for (size_t i = 0; same && i < a->nfiles; i++)
        same = deploy__same_file(a->files[i], b->files[i]) == 1;
    free(ca);
    free(cb);
    return same ? DEPLOY__DRV_SAME : DEPLOY__DRV_CHANGED;
}

int deploy__plan_make(const bundle_t *from, const bundle_t *to, deploy__plan_t *plan, char *err,
                      size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    plan->to_drivers = calloc(to->ndrivers + 1, sizeof *plan->to_drivers);
    plan->dropped = calloc((from ? from->ndrivers : 0) + 1, 1);
    if (!plan->to_drivers || !plan->dropped) {
        deploy__plan_free(plan);
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < to->ndrivers; i++) {
        const bundle_driver_t *a = from ? bundle_driver(from, to->drivers[i].name) : NULL;
        plan->to_drivers[i] = deploy__driver_change(from, to, a, &to->drivers[i]);
    }
    for (size_t i = 0; from && i < from->ndrivers; i++)
        plan->dropped[i] = bundle_driver(to, from->drivers[i].name) == NULL;
    return 0;
}

void deploy__plan_free(deploy__plan_t *plan)
{
    free(plan->to_drivers);
    free(plan->dropped);
    memset(plan, 0, sizeof *plan);
}

void deploy__origin_set(deploy_t *d, const char *name, int64_t id)
{
    for (size_t i = 0; i < d->norigins; i++) {
        if (strcmp(d->origins[i].driver, name) == 0) {
            d->origins[i].id = id;
            return;
        }
    }
    deploy__origin_t *o = realloc(d->origins, (d->norigins + 1) * sizeof *o);
    if (!o) return; /* the directory may then be removed while the driver runs: logged below */
    d->origins = o;
    if ((o[d->norigins].driver = strdup(name)) != NULL) o[d->norigins++].id = id;
}

static void deploy__origin_drop(deploy_t *d, const char *name)
{
    for (size_t i = 0; i < d->norigins; i++) {
        if (strcmp(d->origins[i].driver, name) != 0) continue;
        free(d->origins[i].driver);
        d->origins[i] = d->origins[--d->norigins];
        return;
    }
}

int deploy__origin_uses(const deploy_t *d, int64_t id)
{
    for (size_t i = 0; i < d->norigins; i++)
        if (d->origins[i].id == id) return 1;
    return 0;
}

typedef struct deploy__stop {
    deploy_t *d;
    void (*done)(void *data);
    void *data;
} deploy__stop_t;

static void deploy__on_driver_stopped(void *arg, int clean)
{
    deploy__stop_t *s = arg;
    (void)clean;
    s->done(s->data);
    free(s);
}

/* Forgets the devices of driver `drv` (they go Offline with it). */
static void deploy__forget_devices(deploy_t *d, const bundle_driver_t *drv)
{
    for (size_t k = 0; k < drv->ndevices; k++)
        things_remove_device(d->deps.things, drv->devices[k].product_key,
                             drv->devices[k].device_name);
}

int deploy__apply_stop(deploy_t *d, const bundle_t *from, const bundle_t *to,
                       const deploy__plan_t *plan, void (*done)(void *data), void *data)
{
    int n = 0;
    for (size_t i = 0; from && i < from->ndrivers; i++) {
        const bundle_driver_t *a = &from->drivers[i];
        int stop = plan->dropped[i];
        for (size_t j = 0; !stop && j < to->ndrivers; j++)
            stop = plan->to_drivers[j] == DEPLOY__DRV_CHANGED &&
                   strcmp(to->drivers[j].name, a->name) == 0;
        if (!stop) continue;
        deploy__stop_t *s = malloc(sizeof *s);
        if (s) *s = (deploy__stop_t){d, done, data};
        if (!s || drvhost_remove_driver(d->deps.drivers, a->name, deploy__on_driver_stopped, s)) {
            free(s);
            vg_warn(&d->ctx->log, "driver %s was not running", a->name);
        } else {
            n++;
        }
        deploy__forget_devices(d, a);
        deploy__origin_drop(d, a->name);
    }
    return n;
}

/* Registers the products of `to` (new ones added, changed TSLs replaced). */
static int deploy__apply_products(deploy_t *d, const bundle_t *from, const bundle_t *to, char *err,
                                  size_t errlen)
{
    char msg[512];
    for (size_t i = 0; i < to->nproducts; i++) {
        const bundle_product_t *p = &to->products[i];
        const bundle_product_t *was = from ? bundle_product(from, p->product_key) : NULL;
        if (was && deploy__same_str(was->tsl, p->tsl) &&
            deploy__same_str(was->tsl_ext_info, p->tsl_ext_info))
            continue;
        if (things_set_product(d->deps.things, p->product_key, p->tsl, p->tsl_ext_info, msg,
                               sizeof msg)) {
            snprintf(err, errlen, "%s: %s", p->tsl_path, msg);
            return VG_EINVAL;
        }
    }
    return 0;
}

/* Registers the devices of driver `drv` and adds the driver. */
static int deploy__apply_driver(deploy_t *d, const bundle_driver_t *drv, size_t index, char *err,
                                size_t errlen)
{
    char msg[512];
    for (size_t k = 0; k < drv->ndevices; k++) {
        const bundle_device_t *dev = &drv->devices[k];
        if (things_add_device_local(d->deps.things, dev->product_key, dev->device_name,
                                    dev->local_name, drv->name, dev->tags, dev->custom, msg,
                                    sizeof msg)) {
            snprintf(err, errlen, "bundle.json: drivers[%zu].devices[%zu]: %s", index, k, msg);
            return VG_EINVAL;
        }
    }
    char *config = bundle_driver_config(drv);
    int rc = config ? drvhost_add_driver(d->deps.drivers, drv->name, drv->exec, drv->dir, config)
                    : VG_ENOMEM;
    free(config);
    if (rc) snprintf(err, errlen, "driver %s: %s", drv->name, vg_strerror(rc));
    return rc;
}

/* Adds function `f` of the bundle (index `i`) to the host. */
static int deploy__apply_function(deploy_t *d, const bundle_function_t *f, size_t i, char *err,
                                  size_t errlen)
{
    fnhost_timer_t timers[FNHOST_TIMERS_MAX];
    for (size_t k = 0; k < f->ntimers && k < FNHOST_TIMERS_MAX; k++)
        timers[k] = (fnhost_timer_t){f->timers[k].every_ms, f->timers[k].cron,
                                     f->timers[k].payload};
    fnhost_spec_t spec = {
        .service = f->service,
        .name = f->name,
        .code_path = f->code,
        .handler = f->handler,
        .memory_bytes = (size_t)f->memory_mb * 1024u * 1024u,
        .timeout_ms = f->timeout_ms,
        .concurrency = (int)f->concurrency,
        .queue_max = (int)f->queue_max,
        .mode = f->mode == BUNDLE_LONG_RUNNING ? FNHOST_LONG_RUNNING : FNHOST_ON_DEMAND,
        .idle_unload_ms = f->idle_unload_ms,
        .timers = timers,
        .ntimers = f->ntimers,
        .env = f->env,
    };
    char msg[512];
    int rc = fnhost_add(d->deps.functions, &spec, msg, sizeof msg);
    if (rc) snprintf(err, errlen, "bundle.json: functions[%zu]: %s", i, msg);
    return rc;
}

void deploy__strip_dir(char *s, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 0) return;
    for (char *p = strstr(s, dir); p; p = strstr(p, dir)) {
        if (p[n] != '/') {
            p += n;
            continue;
        }
        memmove(p, p + n + 1, strlen(p + n + 1) + 1);
    }
}

int deploy__apply_switch(deploy_t *d, const bundle_t *from, const bundle_t *to,
                         const deploy__plan_t *plan, int64_t to_id, int live, char *err,
                         size_t errlen)
{
    int rc = deploy__apply_products(d, from, to, err, errlen);
    for (size_t i = 0; !rc && i < to->ndrivers; i++) {
        if (plan->to_drivers[i] == DEPLOY__DRV_SAME) continue;
        rc = deploy__apply_driver(d, &to->drivers[i], i, err, errlen);
        if (!rc) deploy__origin_set(d, to->drivers[i].name, to_id);
    }
    if (rc) return rc;
    /* Functions and routes change in this one loop turn: a message is routed either by the
     * old table to the old functions or by the new table to the new ones. */
    for (size_t i = 0; from && i < from->nfunctions; i++)
        fnhost_remove(d->deps.functions, from->functions[i].service, from->functions[i].name);
    for (size_t i = 0; !rc && i < to->nfunctions; i++)
        rc = deploy__apply_function(d, &to->functions[i], i, err, errlen);
    char msg[512];
    if (!rc && router_set(d->deps.router, to->routes, to->nroutes, msg, sizeof msg)) {
        snprintf(err, errlen, "bundle.json: routes: %s", msg);
        rc = VG_EINVAL;
    }
    if (rc || !live) return rc;
    drvhost_start(d->deps.drivers);
    for (size_t i = 0; i < to->nfunctions; i++) {
        const bundle_function_t *f = &to->functions[i];
        if (fnhost_load(d->deps.functions, f->service, f->name, msg, sizeof msg)) {
            deploy__strip_dir(msg, to->dir);
            snprintf(err, errlen, "function %s/%s failed to load: %s", f->service, f->name, msg);
            return VG_EINVAL;
        }
    }
    return 0;
}
