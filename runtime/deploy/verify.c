/* verify.c: the thread-pool half of a deployment: unpack the upload into its own directory,
 * check its signature when the gateway requires one, load and check the bundle, compile every
 * Lua file, and compare it with the running version. Every problem found goes to
 * job->problems, one line each, so that one upload reports them all. Touches no loop state:
 * it reads the job and the running bundle (which no one changes while a job runs). */
#include "deploy/deploy_int.h"
#include "deploy/sign.h"
#include "core/error.h"

#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEPLOY__LUA_DEPTH 16 /* directory levels searched for .lua files */

/* Compiles `path` (text chunks only, as the function host loads them); a syntax error becomes
 * one problem line, unless the bundle loader reported that file already. */
static void deploy__compile(deploy__job_t *job, const char *path, const char *rel)
{
    lua_State *L = luaL_newstate();
    if (!L) return;
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char mention[PATH_MAX + 2];
        snprintf(mention, sizeof mention, "%s:", rel);
        const char *seen = job->problems.data ? job->problems.data : "";
        if (!strstr(seen, mention)) {
            /* Lua names the file by the path it was given: show it relative to the bundle */
            const char *tail = msg && strncmp(msg, path, strlen(path)) == 0 ? msg + strlen(path)
                                                                              : NULL;
            if (tail)
                vg_buf_printf(&job->problems, "%s%s\n", rel, tail);
            else
                vg_buf_printf(&job->problems, "%s: %s\n", rel, msg ? msg : "cannot compile");
        }
    }
    lua_close(L);
}

/* Compiles every .lua file under dir/rel. */
static void deploy__compile_tree(deploy__job_t *job, const char *root, const char *rel, int depth)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *dir = opendir(path);
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char sub[PATH_MAX], full[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                sizeof sub ||
            (size_t)snprintf(full, sizeof full, "%s/%s", root, sub) >= sizeof full)
            continue; /* the archive's path limit keeps names far shorter */
        struct stat sb;
        if (lstat(full, &sb) != 0) continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(sb.st_mode) && depth < DEPLOY__LUA_DEPTH)
            deploy__compile_tree(job, root, sub, depth + 1);
        else if (S_ISREG(sb.st_mode) && n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0)
            deploy__compile(job, full, sub);
    }
    closedir(dir);
}

void deploy__verify_work(uv_work_t *w)
{
    deploy__job_t *job = w->data;
    const vg_config_t *cfg = &job->d->ctx->cfg;
    if (job->kind == DEPLOY__UPLOAD) {
        deploy_archive_limits_t lim = {(uint64_t)cfg->deploy_max_unpacked_bytes,
                                       (uint64_t)cfg->deploy_max_files};
        job->rc = deploy_archive_extract(job->archive.data, job->archive.len, job->dir, &lim,
                                         &job->stats, &job->problems);
        vg_buf_close(&job->archive);
        if (job->rc) return; /* nothing unpacked: nothing more to check */
    }
    if (cfg->deploy_trusted_keys[0]) {
        char err[512];
        int rc = deploy_sign_verify(job->dir, cfg->deploy_trusted_keys, err, sizeof err);
        if (rc) {
            deploy__strip_dir(err, job->dir); /* the message names the file already */
            vg_buf_printf(&job->problems, "%s\n", err);
            job->rc = rc == VG_EIO ? VG_EIO : VG_EINVAL;
            return; /* an untrusted bundle is not looked at any further */
        }
    }
    int rc = bundle_load(job->dir, &job->bundle, &job->problems);
    deploy__compile_tree(job, job->dir, "", 0);
    if (rc == 0 && job->problems.len) rc = VG_EINVAL;
    if (rc == 0)
        rc = deploy__plan_make(job->from, job->bundle, &job->plan, job->err, sizeof job->err);
    job->rc = rc;
}
