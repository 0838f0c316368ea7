/* start.c: what the gateway runs when it starts: a deployment left half done by a kill is
 * marked interrupted, staging directories no deployment names are removed, and the running
 * version (or `verge serve --bundle DIR`, recorded as a deployment of origin "local") is
 * applied before the drivers and functions start; a version that cannot start falls back to
 * the one before it. Also SIGHUP's reload of the running version's driver configs. */
#include "deploy/deploy_int.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- start-up ------------------------------------------------------------------------------ */

/* Removes the directories under bundles_dir that no row names (staging left by a kill). */
static void deploy__remove_strays(deploy_t *d)
{
    char **dirs = NULL;
    size_t n = 0;
    if (deploy__rows_dirs(d, &dirs, &n)) return;
    DIR *dh = opendir(d->bundles_dir);
    char **drop = NULL;
    size_t ndrop = 0;
    struct dirent *e;
    while (dh && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", d->bundles_dir, e->d_name);
        int named = 0;
        for (size_t i = 0; i < n && !named; i++)
            named = strcmp(dirs[i], path) == 0;
        char **nd = named ? NULL : realloc(drop, (ndrop + 1) * sizeof *nd);
        if (nd && (nd[ndrop] = strdup(path)) != NULL) {
            drop = nd;
            ndrop++;
        } else if (nd) {
            drop = nd;
        }
    }
    if (dh) closedir(dh);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    for (size_t i = 0; i < ndrop; i++) { /* at start-up, before anything else runs */
        vg_info(&d->ctx->log, "removing %s: no deployment refers to it", drop[i]);
        deploy_archive_rmtree(drop[i]);
        free(drop[i]);
    }
    free(drop);
}

/* Loads and applies the version in `dir` as deployment `id` at start-up. */
static int deploy__start_version(deploy_t *d, int64_t id, const char *dir, char *err,
                                 size_t errlen)
{
    vg_buf_t problems;
    vg_buf_init(&problems);
    bundle_t *b = NULL;
    int rc = bundle_load(dir, &b, &problems);
    if (rc) {
        snprintf(err, errlen, "%s", problems.data ? problems.data : vg_strerror(rc));
        size_t count, first_len;
        const char *first;
        char *json = deploy__problems_json(&problems, &count, &first, &first_len);
        deploy__row_progress(d, id, NULL, json ? json : "[]");
        free(json);
        vg_buf_close(&problems);
        return rc;
    }
    vg_buf_close(&problems);
    deploy__plan_t plan;
    rc = deploy__plan_make(NULL, b, &plan, err, errlen);
    if (!rc) rc = deploy__apply_switch(d, NULL, b, &plan, id, 0, err, errlen);
    deploy__plan_free(&plan);
    if (rc) {
        bundle_destroy(b);
        return rc;
    }
    deploy__row_meta(d, id, b->name, b->version, NULL, -1, -1);
    if (deploy__row_commit(d, id, 0)) {
        bundle_destroy(b);
        snprintf(err, errlen, "the database refused the status (see the log)");
        return VG_EDB;
    }
    d->current = b;
    d->current_id = id;
    vg_info(&d->ctx->log, "running deployment #%lld: bundle %s version %s (%s)", (long long)id,
            b->name, b->version, dir);
    return 0;
}

int deploy_start(deploy_t *d, const char *local_dir, char *err, size_t errlen)
{
    deploy__rows_recover(d);
    deploy__remove_strays(d);
    if (local_dir) {
        char abs[PATH_MAX];
        if (!realpath(local_dir, abs)) {
            snprintf(err, errlen, "%s: %s", local_dir, strerror(errno));
            return VG_EIO;
        }
        int64_t id = deploy__row_insert(d, DEPLOY__LOCAL, "", 0, abs);
        if (id < 0) {
            snprintf(err, errlen, "the database refused the deployment (see the log)");
            return VG_EDB;
        }
        int rc = deploy__start_version(d, id, abs, err, errlen);
        if (rc) deploy__row_status(d, id, DEPLOY_DEPLOY_FAILED, err);
        return rc;
    }
    int64_t id = deploy__row_running(d);
    while (id > 0) {
        char dir[PATH_MAX];
        int rc = deploy__row_dir(d, id, dir, sizeof dir, NULL, NULL);
        if (!rc) rc = dir[0] ? deploy__start_version(d, id, dir, err, errlen) : VG_ENOENT;
        if (!rc) return 0;
        if (rc == VG_ENOENT) snprintf(err, errlen, "its files are gone");
        vg_error(&d->ctx->log, "deployment #%lld cannot start: %s", (long long)id, err);
        deploy__row_status(d, id, DEPLOY_FAILED, err);
        id = deploy__row_previous_good(d, id, id);
        if (id > 0) vg_warn(&d->ctx->log, "falling back to deployment #%lld", (long long)id);
    }
    return 0;
}

/* ---- SIGHUP ---------------------------------------------------------------------------------- */

int deploy_reload_configs(deploy_t *d)
{
    if (d->job || !d->current) {
        vg_info(&d->ctx->log, "SIGHUP: %s", d->job ? "a deployment is in progress; not reloaded"
                                                   : "nothing deployed to reload");
        return 0;
    }
    vg_buf_t errors;
    vg_buf_init(&errors);
    bundle_t *b = NULL;
    if (bundle_load(d->current->dir, &b, &errors)) {
        vg_error(&d->ctx->log, "SIGHUP: %s not reloaded, it has problems:\n%s", d->current->dir,
                 errors.data ? errors.data : "out of memory");
        vg_buf_close(&errors);
        return 0;
    }
    vg_buf_close(&errors);
    int changed = 0;
    for (size_t i = 0; i < b->ndrivers; i++) {
        const bundle_driver_t *old = bundle_driver(d->current, b->drivers[i].name);
        char *now = bundle_driver_config(&b->drivers[i]);
        char *was = old ? bundle_driver_config(old) : NULL;
        if (now && was && strcmp(now, was) != 0 &&
            drvhost_set_config(d->deps.drivers, b->drivers[i].name, now) == 0) {
            vg_info(&d->ctx->log, "SIGHUP: new config sent to driver %s", b->drivers[i].name);
            changed++;
        }
        free(now);
        free(was);
    }
    vg_info(&d->ctx->log,
            "SIGHUP: %d driver config(s) changed; other changes to the bundle need a deployment "
            "(verge deploy) or a restart",
            changed);
    /* The reloaded bundle is what the next SIGHUP compares with. */
    bundle_destroy(d->current);
    d->current = b;
    return changed;
}
