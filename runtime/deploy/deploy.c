/* deploy.c: the life cycle of a deployment: upload → stage and verify (thread pool) → switch
 * → health window → commit, or roll back to the version that ran before with the reason in the
 * status; explicit rollbacks; retention of old versions (start-up is start.c). Each
 * step is logged and recorded in the deployment's row as it ends. */
#include "deploy/deploy_int.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEPLOY__HEALTH_TICK_MS 100

static const struct {
    int code;
    const char *text;
} deploy__statuses[] = {
    {DEPLOY_NOT_EXIST, "not exist"},       {DEPLOY_RUNNING, "running"},
    {DEPLOY_FINISHED, "finished"},         {DEPLOY_FAILED, "failed"},
    {DEPLOY_DEPLOYING, "deploying"},       {DEPLOY_STOPPING, "stopping"},
    {DEPLOY_DEPLOY_FAILED, "deploy failed"}, {DEPLOY_STOP_FAILED, "stop failed"},
};

const char *deploy_status_text(int status)
{
    for (size_t i = 0; i < sizeof deploy__statuses / sizeof deploy__statuses[0]; i++)
        if (deploy__statuses[i].code == status) return deploy__statuses[i].text;
    return "unknown";
}

static const bundle_t deploy__empty; /* what runs before the first version */

int deploy_create(const deploy_deps_t *deps, deploy_t **out)
{
    deploy_t *d = calloc(1, sizeof *d);
    if (!d) return VG_ENOMEM;
    d->deps = *deps;
    d->ctx = deps->ctx;
    if ((size_t)snprintf(d->bundles_dir, sizeof d->bundles_dir, "%s/bundles",
                         d->ctx->cfg.data_dir) >= sizeof d->bundles_dir - 24) {
        vg_error(&d->ctx->log, "server.data_dir is too long for deployments");
        free(d);
        return VG_EINVAL;
    }
    if (mkdir(d->bundles_dir, 0700) && errno != EEXIST) {
        vg_error(&d->ctx->log, "cannot create %s: %s", d->bundles_dir, strerror(errno));
        free(d);
        return VG_EIO;
    }
    int rc = deploy__table_open(d);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* ---- steps ---------------------------------------------------------------------------- */

static void deploy__step_begin(deploy__job_t *job)
{
    job->step_ns = vg_mono_ns();
}

/* Records the end of step `name` in the row and the log. */
static void deploy__step_end(deploy__job_t *job, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void deploy__step_end(deploy__job_t *job, const char *name, int ok, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int64_t ms = (int64_t)((vg_mono_ns() - job->step_ns) / 1000000u);
    json_t *s = json_pack("{s:s,s:s,s:I,s:I,s:s}", "step", name, "state", ok ? "ok" : "failed",
                          "at", (json_int_t)vg_time_ms(), "ms", (json_int_t)ms, "message", msg);
    if (s) json_array_append_new(job->steps, s);
    deploy__row_progress(job->d, job->id, job->steps, NULL);
    if (ok)
        vg_info(&job->d->ctx->log, "deployment #%lld: %s ok (%lld ms): %s", (long long)job->id,
                name, (long long)ms, msg);
    else
        vg_error(&job->d->ctx->log, "deployment #%lld: %s failed (%lld ms): %s",
                 (long long)job->id, name, (long long)ms, msg);
    job->step_ns = vg_mono_ns();
}

/* ---- thread-pool helpers ---------------------------------------------------------------- */

static void deploy__work_done(deploy_t *d)
{
    if (--d->works == 0 && d->closing && d->shutdown_cb) {
        void (*cb)(void *) = d->shutdown_cb;
        d->shutdown_cb = NULL;
        cb(d->shutdown_data);
    }
}

typedef struct deploy__rm {
    uv_work_t work;
    deploy_t *d;
    char **dirs;
    size_t n;
} deploy__rm_t;

static void deploy__rm_work(uv_work_t *w)
{
    deploy__rm_t *rm = w->data;
    for (size_t i = 0; i < rm->n; i++)
        deploy_archive_rmtree(rm->dirs[i]);
}

static void deploy__rm_after(uv_work_t *w, int status)
{
    (void)status;
    deploy__rm_t *rm = w->data;
    for (size_t i = 0; i < rm->n; i++) {
        vg_info(&rm->d->ctx->log, "removed the files of an old version: %s", rm->dirs[i]);
        free(rm->dirs[i]);
    }
    free(rm->dirs);
    deploy_t *d = rm->d;
    free(rm);
    deploy__work_done(d);
}

/* Removes directories on the thread pool; takes the array and its strings. */
static void deploy__rm_later(deploy_t *d, char **dirs, size_t n)
{
    deploy__rm_t *rm = n ? calloc(1, sizeof *rm) : NULL;
    if (!rm) {
        for (size_t i = 0; i < n; i++)
            free(dirs[i]);
        free(dirs);
        return;
    }
    *rm = (deploy__rm_t){.d = d, .dirs = dirs, .n = n};
    rm->work.data = rm;
    d->works++;
    if (uv_queue_work(d->ctx->loop, &rm->work, deploy__rm_work, deploy__rm_after)) {
        d->works--;
        rm->n = 0;
        deploy__rm_after(&rm->work, 0);
    }
}

static void deploy__rm_one_later(deploy_t *d, const char *dir)
{
    char **v = malloc(sizeof *v);
    if (v && (v[0] = strdup(dir)) != NULL)
        deploy__rm_later(d, v, 1);
    else
        free(v);
}

/* ---- jobs ------------------------------------------------------------------------------ */

static void deploy__job_free(deploy__job_t *job)
{
    vg_buf_close(&job->archive);
    vg_buf_close(&job->problems);
    bundle_destroy(job->bundle);
    deploy__plan_free(&job->plan);
    json_decref(job->steps);
    free(job->fn_base);
    free(job);
}

static void deploy__on_health_closed(uv_handle_t *h)
{
    deploy__job_t *job = h->data;
    deploy_t *d = job->d;
    deploy__job_free(job);
    deploy__work_done(d);
}

/* Ends the job: the deployer takes the next one. */
static void deploy__job_end(deploy__job_t *job)
{
    deploy_t *d = job->d;
    if (d->job == job) d->job = NULL;
    if (job->health_open) {
        job->health_open = 0;
        d->works++; /* the close callback frees the job */
        uv_close((uv_handle_t *)&job->health, deploy__on_health_closed);
        return;
    }
    deploy__job_free(job);
}

static deploy__job_t *deploy__job_new(deploy_t *d, deploy__kind_t kind, const char *user)
{
    deploy__job_t *job = calloc(1, sizeof *job);
    if (!job || !(job->steps = json_array())) {
        free(job);
        return NULL;
    }
    job->d = d;
    job->kind = kind;
    snprintf(job->user, sizeof job->user, "%s", user ? user : "");
    vg_buf_init(&job->archive);
    vg_buf_init(&job->problems);
    job->from = d->current;
    job->from_id = d->current_id;
    return job;
}

char *deploy__problems_json(const vg_buf_t *p, size_t *count, const char **first,
                                   size_t *first_len)
{
    json_t *a = json_array();
    *count = 0;
    *first = NULL;
    *first_len = 0;
    const char *s = p->data ? p->data : "";
    while (a && *s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n) {
            json_array_append_new(a, json_stringn(s, n));
            if (!*first) {
                *first = s;
                *first_len = n;
            }
            (*count)++;
        }
        s += n + (nl != NULL);
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

/* Marks the job failed with `reason` and ends it. The version running before (if any) has
 * been put back by the caller. */
static void deploy__job_fail(deploy__job_t *job, const char *reason)
{
    deploy_t *d = job->d;
    deploy__row_status(d, job->id, DEPLOY_DEPLOY_FAILED, reason);
    if (job->kind == DEPLOY__UPLOAD) { /* a failed upload's files are of no further use */
        deploy__row_meta(d, job->id, NULL, NULL, "", -1, -1);
        deploy__rm_one_later(d, job->dir);
    }
    vg_error(&d->ctx->log, "deployment #%lld failed: %s", (long long)job->id, reason);
    deploy__job_end(job);
}

static void deploy__health_start(deploy__job_t *job);
static void deploy__rollback_begin(deploy__job_t *job);

/* ---- commit ------------------------------------------------------------------------------ */

static void deploy__commit(deploy__job_t *job)
{
    deploy_t *d = job->d;
    deploy__step_begin(job);
    if (deploy__row_commit(d, job->id, job->from_id)) {
        snprintf(job->reason, sizeof job->reason,
                 "commit: the database refused the new status (see the log)");
        deploy__rollback_begin(job);
        return;
    }
    bundle_destroy(d->current);
    d->current = job->bundle;
    d->current_id = job->id;
    job->bundle = NULL;
    deploy__step_end(job, "commit", 1, "version %s of bundle %s is running", d->current->version,
                     d->current->name);
    char **drop = NULL;
    size_t ndrop = 0;
    if (deploy__rows_retire(d, d->ctx->cfg.deploy_keep_versions, &drop, &ndrop) == 0)
        deploy__rm_later(d, drop, ndrop);
    deploy__job_end(job);
}

/* ---- rollback ----------------------------------------------------------------------------- */

static void deploy__rollback_finish(deploy__job_t *job)
{
    deploy_t *d = job->d;
    const bundle_t *from = job->from ? job->from : &deploy__empty;
    char err[1024] = "";
    deploy__plan_t back;
    int rc = deploy__plan_make(job->bundle, from, &back, err, sizeof err);
    if (!rc)
        rc = deploy__apply_switch(d, job->bundle, from, &back, job->from_id, 1, err, sizeof err);
    deploy__plan_free(&back);
    if (job->from_id) deploy__row_status(d, job->from_id, DEPLOY_RUNNING, NULL);
    if (rc)
        deploy__step_end(job, "rollback", 0, "back to deployment #%lld failed: %s",
                         (long long)job->from_id, err);
    else if (job->from_id)
        deploy__step_end(job, "rollback", 1, "deployment #%lld (version %s) runs again",
                         (long long)job->from_id, from->version);
    else
        deploy__step_end(job, "rollback", 1, "nothing runs, as before the deployment");
    deploy__job_fail(job, job->reason);
}

static void deploy__on_rollback_stopped(void *data)
{
    deploy__job_t *job = data;
    if (--job->stops_pending > 0 || job->d->closing) return;
    deploy__rollback_finish(job);
}

/* Switches back to the version that ran before; job->reason says why. */
static void deploy__rollback_begin(deploy__job_t *job)
{
    deploy_t *d = job->d;
    if (job->health_open) uv_timer_stop(&job->health);
    job->rolling_back = 1;
    deploy__step_begin(job);
    const bundle_t *from = job->from ? job->from : &deploy__empty;
    char err[512];
    deploy__plan_t back;
    if (deploy__plan_make(job->bundle, from, &back, err, sizeof err)) {
        deploy__rollback_finish(job);
        return;
    }
    job->stops_pending = 1; /* held until every stop is requested */
    job->stops_pending +=
        deploy__apply_stop(d, job->bundle, from, &back, deploy__on_rollback_stopped, job);
    deploy__plan_free(&back);
    deploy__on_rollback_stopped(job);
}

/* ---- health window ------------------------------------------------------------------------- */

static double deploy__fn_count(deploy_t *d, const bundle_function_t *f, const char *metric,
                               const char *extra)
{
    char labels[256];
    snprintf(labels, sizeof labels, "function=\"%s/%s\"%s", f->service, f->name, extra);
    vg_series_t *s = vg_metrics_series(d->ctx->metrics, metric, labels);
    return s ? s->value : 0;
}

static const char *const deploy__unhandled = ",outcome=\"unhandled\"";

/* Returns 1 and sets job->reason when the new version is unhealthy; `final` at the end of the
 * window (drivers must be connected by then). */
static int deploy__unhealthy(deploy__job_t *job, int final)
{
    deploy_t *d = job->d;
    const vg_config_t *cfg = &d->ctx->cfg;
    const bundle_t *b = job->bundle;
    for (size_t i = 0; i < b->ndrivers; i++) {
        if (job->plan.to_drivers[i] == DEPLOY__DRV_SAME) continue;
        int64_t exits = 0;
        int up = 0;
        drvhost_driver_health(d->deps.drivers, b->drivers[i].name, &exits, &up);
        if (exits > cfg->deploy_max_driver_restarts) {
            snprintf(job->reason, sizeof job->reason,
                     "health: driver %s exited %lld times since the switch "
                     "(deploy.max_driver_restarts = %lld); its log lines say why",
                     b->drivers[i].name, (long long)exits,
                     (long long)cfg->deploy_max_driver_restarts);
            return 1;
        }
        if (final && !up) {
            snprintf(job->reason, sizeof job->reason,
                     "health: driver %s did not connect to the runtime within the health window "
                     "(deploy.health_window_ms = %lld)",
                     b->drivers[i].name, (long long)cfg->deploy_health_window_ms);
            return 1;
        }
    }
    for (size_t i = 0; i < b->nfunctions; i++) {
        const bundle_function_t *f = &b->functions[i];
        double unhandled =
            deploy__fn_count(d, f, "verge_fn_invocations_total", deploy__unhandled) -
            job->fn_base[2 * i];
        double top = deploy__fn_count(d, f, "verge_fn_errors_total", "") - job->fn_base[2 * i + 1];
        if (unhandled > (double)cfg->deploy_max_function_failures) {
            snprintf(job->reason, sizeof job->reason,
                     "health: function %s/%s broke its limits %.0f times since the switch "
                     "(deploy.max_function_failures = %lld)",
                     f->service, f->name, unhandled, (long long)cfg->deploy_max_function_failures);
            return 1;
        }
        if (f->mode == BUNDLE_LONG_RUNNING && top > 0) {
            snprintf(job->reason, sizeof job->reason,
                     "health: function %s/%s: its top level failed since the switch (the log "
                     "has its traceback)",
                     f->service, f->name);
            return 1;
        }
    }
    return 0;
}

static void deploy__on_health_tick(uv_timer_t *t)
{
    deploy__job_t *job = t->data;
    if (job->d->closing || job->rolling_back) return;
    int final = vg_mono_ns() >= job->health_end_ns;
    if (deploy__unhealthy(job, final)) {
        deploy__step_end(job, "health", 0, "%s", job->reason);
        deploy__rollback_begin(job);
        return;
    }
    if (!final) return;
    uv_timer_stop(t);
    deploy__step_end(job, "health", 1, "healthy for %lld ms",
                     (long long)job->d->ctx->cfg.deploy_health_window_ms);
    deploy__commit(job);
}

static void deploy__health_start(deploy__job_t *job)
{
    deploy_t *d = job->d;
    const bundle_t *b = job->bundle;
    int64_t window = d->ctx->cfg.deploy_health_window_ms;
    deploy__step_begin(job);
    job->fn_base = calloc(2 * b->nfunctions + 1, sizeof *job->fn_base);
    if (!job->fn_base) {
        snprintf(job->reason, sizeof job->reason, "health: out of memory");
        deploy__rollback_begin(job);
        return;
    }
    for (size_t i = 0; i < b->nfunctions; i++) {
        /* the load at the switch counts: a top level that failed then was reported already */
        job->fn_base[2 * i] = deploy__fn_count(d, &b->functions[i], "verge_fn_invocations_total",
                                               deploy__unhandled);
        job->fn_base[2 * i + 1] =
            deploy__fn_count(d, &b->functions[i], "verge_fn_errors_total", "");
    }
    if (window == 0) {
        deploy__step_end(job, "health", 1, "no health window (deploy.health_window_ms = 0)");
        deploy__commit(job);
        return;
    }
    job->health_end_ns = vg_mono_ns() + (uint64_t)window * 1000000u;
    uv_timer_init(d->ctx->loop, &job->health);
    job->health.data = job;
    job->health_open = 1;
    uv_timer_start(&job->health, deploy__on_health_tick, DEPLOY__HEALTH_TICK_MS,
                   DEPLOY__HEALTH_TICK_MS);
}

/* ---- switch ------------------------------------------------------------------------------- */

static void deploy__switch_finish(deploy__job_t *job)
{
    deploy_t *d = job->d;
    char err[1024];
    const bundle_t *from = job->from ? job->from : &deploy__empty;
    int rc = deploy__apply_switch(d, from, job->bundle, &job->plan, job->id, 1, err, sizeof err);
    if (rc) {
        deploy__step_end(job, "switch", 0, "%s", err);
        snprintf(job->reason, sizeof job->reason, "switch: %.1000s", err);
        job->reason[strcspn(job->reason, "\n")] = '\0'; /* the traceback is in the step */
        deploy__rollback_begin(job);
        return;
    }
    size_t kept = 0, started = 0;
    for (size_t i = 0; i < job->bundle->ndrivers; i++) {
        if (job->plan.to_drivers[i] == DEPLOY__DRV_SAME)
            kept++;
        else
            started++;
    }
    deploy__step_end(job, "switch", 1,
                     "%zu driver(s) kept running, %zu started; %zu function(s) loaded; %zu "
                     "route(s)",
                     kept, started, job->bundle->nfunctions, job->bundle->nroutes);
    deploy__health_start(job);
}

static void deploy__on_switch_stopped(void *data)
{
    deploy__job_t *job = data;
    if (--job->stops_pending > 0 || job->d->closing) return;
    deploy__switch_finish(job);
}

static void deploy__switch_begin(deploy__job_t *job)
{
    deploy_t *d = job->d;
    deploy__step_begin(job);
    if (job->from_id) deploy__row_status(d, job->from_id, DEPLOY_STOPPING, NULL);
    job->stops_pending = 1;
    job->stops_pending += deploy__apply_stop(d, job->from, job->bundle, &job->plan,
                                             deploy__on_switch_stopped, job);
    deploy__on_switch_stopped(job);
}

/* ---- verify (back from the thread pool) ----------------------------------------------------- */

static void deploy__after_verify(uv_work_t *w, int status)
{
    deploy__job_t *job = w->data;
    deploy_t *d = job->d;
    (void)status;
    deploy__work_done(d);
    if (d->closing) return; /* the row stays 11: the next start marks it interrupted */
    size_t count;
    const char *first;
    size_t first_len;
    char *problems = deploy__problems_json(&job->problems, &count, &first, &first_len);
    deploy__row_progress(d, job->id, NULL, problems ? problems : "[]");
    free(problems);
    if (job->rc || count) {
        if (!count)
            snprintf(job->reason, sizeof job->reason, "verify: %.1000s",
                     job->err[0] ? job->err : vg_strerror(job->rc));
        else if (count == 1)
            snprintf(job->reason, sizeof job->reason, "verify: %.*s", (int)first_len, first);
        else
            snprintf(job->reason, sizeof job->reason, "verify: %.*s (and %zu more problems)",
                     (int)first_len, first, count - 1);
        deploy__step_end(job, "verify", 0, "%zu problem(s): %s", count,
                         count ? "see problems" : job->reason);
        deploy__job_fail(job, job->reason);
        return;
    }
    const bundle_t *b = job->bundle;
    deploy__row_meta(d, job->id, b->name, b->version, NULL, -1,
                     job->kind == DEPLOY__UPLOAD ? (int64_t)job->stats.files : -1);
    deploy__step_end(job, "verify", 1,
                     "bundle %s version %s: %zu product(s), %zu driver(s), %zu function(s), %zu "
                     "route(s); signature %s",
                     b->name, b->version, b->nproducts, b->ndrivers, b->nfunctions, b->nroutes,
                     d->ctx->cfg.deploy_trusted_keys[0] ? "verified" : "not required");
    deploy__switch_begin(job);
}

/* Queues the verify step of a new job (its row exists). */
static int deploy__verify_begin(deploy__job_t *job)
{
    deploy_t *d = job->d;
    job->work.data = job;
    deploy__step_begin(job);
    d->works++;
    if (uv_queue_work(d->ctx->loop, &job->work, deploy__verify_work, deploy__after_verify)) {
        d->works--;
        return VG_EIO;
    }
    d->job = job;
    return 0;
}

/* Refuses a new job while one runs or the gateway stops. */
static int deploy__can_start(deploy_t *d, char *err, size_t errlen)
{
    if (d->closing) {
        snprintf(err, errlen, "the gateway is stopping");
        return VG_ECLOSED;
    }
    if (d->job) {
        snprintf(err, errlen, "deployment #%lld is in progress; wait for it to end",
                 (long long)d->job->id);
        return VG_EBUSY;
    }
    return 0;
}

int deploy_submit(deploy_t *d, vg_buf_t *archive, const char *user, int64_t *id, char *err,
                  size_t errlen)
{
    int rc = deploy__can_start(d, err, errlen);
    if (rc) return rc;
    if ((int64_t)archive->len > d->ctx->cfg.deploy_max_bundle_bytes) {
        snprintf(err, errlen, "the archive is %zu bytes: deploy.max_bundle_bytes is %lld",
                 archive->len, (long long)d->ctx->cfg.deploy_max_bundle_bytes);
        return VG_ELIMIT;
    }
    deploy__job_t *job = deploy__job_new(d, DEPLOY__UPLOAD, user);
    if (!job) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    job->id = deploy__row_insert(d, DEPLOY__UPLOAD, user, 0, NULL);
    if (job->id < 0) {
        deploy__job_free(job);
        snprintf(err, errlen, "the database refused the deployment (see the log)");
        return VG_EDB;
    }
    if ((size_t)snprintf(job->dir, sizeof job->dir, "%s/%lld", d->bundles_dir,
                         (long long)job->id) >= sizeof job->dir)
        job->dir[0] = '\0'; /* bundles_dir is shorter than PATH_MAX - 21 (checked at create) */
    deploy__row_meta(d, job->id, NULL, NULL, job->dir, (int64_t)archive->len, -1);
    job->archive = *archive;
    vg_buf_init(archive);
    job->step_ns = vg_mono_ns();
    deploy__step_end(job, "upload", 1, "%zu bytes received from %s", job->archive.len,
                     *job->user ? job->user : "?");
    if (deploy__verify_begin(job)) {
        deploy__row_status(d, job->id, DEPLOY_DEPLOY_FAILED, "cannot queue the verification");
        deploy__job_free(job);
        snprintf(err, errlen, "cannot queue the verification");
        return VG_EIO;
    }
    *id = job->id;
    return 0;
}

int deploy_rollback(deploy_t *d, int64_t to_id, const char *user, int64_t *id, char *err,
                    size_t errlen)
{
    int rc = deploy__can_start(d, err, errlen);
    if (rc) return rc;
    if (to_id <= 0) to_id = deploy__row_previous_good(d, d->current_id, 0);
    char dir[PATH_MAX];
    int status = 0, ran = 0;
    if (to_id <= 0 || deploy__row_dir(d, to_id, dir, sizeof dir, &status, &ran) || !ran ||
        !dir[0] || to_id == d->current_id) {
        if (to_id <= 0)
            snprintf(err, errlen, "no earlier version to return to: none that ran is kept");
        else if (to_id == d->current_id)
            snprintf(err, errlen, "deployment #%lld is the one running", (long long)to_id);
        else
            snprintf(err, errlen,
                     "deployment #%lld cannot be returned to: it never ran, or its files are no "
                     "longer kept (deploy.keep_versions)",
                     (long long)to_id);
        return VG_ENOENT;
    }
    deploy__job_t *job = deploy__job_new(d, DEPLOY__ROLLBACK, user);
    if (!job) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    job->rollback_of = to_id;
    snprintf(job->dir, sizeof job->dir, "%s", dir);
    job->id = deploy__row_insert(d, DEPLOY__ROLLBACK, user, to_id, dir);
    if (job->id < 0 || deploy__verify_begin(job)) {
        if (job->id >= 0) deploy__row_status(d, job->id, DEPLOY_DEPLOY_FAILED, "internal error");
        deploy__job_free(job);
        snprintf(err, errlen, "the database refused the rollback (see the log)");
        return VG_EDB;
    }
    *id = job->id;
    return 0;
}

/* ---- reading -------------------------------------------------------------------------------- */

json_t *deploy_describe(deploy_t *d, int64_t id)
{
    return deploy__row_json(d, id, 1);
}

json_t *deploy_list(deploy_t *d, int64_t limit, int64_t offset, int64_t *total)
{
    return deploy__rows_json(d, limit, offset, total);
}

const bundle_t *deploy_current(const deploy_t *d)
{
    return d->current;
}

/* ---- shutdown -------------------------------------------------------------------------------- */

void deploy_shutdown(deploy_t *d, void (*done)(void *data), void *data)
{
    d->closing = 1;
    if (d->job && d->job->health_open) uv_timer_stop(&d->job->health);
    if (d->job && !d->job->health_open && d->works == 0 && d->job->stops_pending == 0) {
        deploy__job_t *job = d->job; /* abandoned: the next start marks it interrupted */
        d->job = NULL;
        deploy__job_free(job);
    } else if (d->job && d->job->health_open) {
        deploy__job_end(d->job);
    }
    if (d->works == 0) {
        if (done) done(data);
        return;
    }
    d->shutdown_cb = done;
    d->shutdown_data = data;
}

void deploy_destroy(deploy_t *d)
{
    if (!d) return;
    if (d->job) deploy__job_free(d->job);
    bundle_destroy(d->current);
    for (size_t i = 0; i < d->norigins; i++)
        free(d->origins[i].driver);
    free(d->origins);
    free(d);
}
