/* deploy.h: the gateway side of a deployment (docs/deploy.md). A bundle arrives as a gzip'd
 * tar archive; it is staged into a new directory of the data directory (the running version
 * is never touched), verified, switched to (new and changed drivers started, unchanged ones
 * kept, functions and routes swapped in one loop turn), watched for a health window, then
 * committed, or rolled back to the previous good version with the reason in its status.
 * Every deployment is a row of the `deployments` table; the row marked running is what the
 * gateway starts on its next start, so a kill -9 at any point leaves one consistent version.
 * One deployment runs at a time. Loop-thread only; file work runs on the thread pool. */
#ifndef VG_DEPLOY_DEPLOY_H
#define VG_DEPLOY_DEPLOY_H

#include "bundle/bundle.h"
#include "core/buf.h"
#include "core/ctx.h"
#include "drvhost/drvhost.h"
#include "fnhost/fnhost.h"
#include "router/router.h"
#include "store/store.h"
#include "things/things.h"

#include <jansson.h>
#include <stdint.h>

/* Status codes, those of seed 004 §4 (ListDeployDetail JobStatus). */
typedef enum {
    DEPLOY_NOT_EXIST = 0,
    DEPLOY_RUNNING = 2,        /* committed: the version the gateway runs */
    DEPLOY_FINISHED = 3,       /* was running, replaced by a later deployment */
    DEPLOY_FAILED = 4,         /* was running, then failed to start at a gateway start */
    DEPLOY_DEPLOYING = 11,     /* staging, verifying, switching or in its health window */
    DEPLOY_STOPPING = 12,      /* the running version while a new one switches in */
    DEPLOY_DEPLOY_FAILED = 31, /* refused or rolled back; `reason` says why */
    DEPLOY_STOP_FAILED = 32,   /* its drivers did not stop when it was replaced */
} deploy_status_t;

/* "running", "finished", "deploying"... for a status code; "unknown" otherwise. */
const char *deploy_status_text(int status);

typedef struct deploy deploy_t;

/* What the deployer drives. All are owned by the caller and outlive the deployer. */
typedef struct deploy_deps {
    vg_ctx_t *ctx;
    store_t *store;
    things_t *things;
    drvhost_t *drivers;
    fnhost_t *functions;
    router_t *router;
} deploy_deps_t;

/* Creates the deployer and its table (store_migrate component "deploy"). Returns 0 and *out,
 * VG_ENOMEM or VG_EDB (logged). */
int deploy_create(const deploy_deps_t *deps, deploy_t **out);

/* At start-up, before the drivers and functions start: finishes what a previous process left
 * (a deployment that was in progress is marked 31 "interrupted", the version that was running
 * stays the running one, staging directories nobody refers to are removed) and applies the
 * version to run: `local_dir` (verge serve --bundle) when not NULL, recorded as a deployment
 * of origin "local", else the running deployment, else nothing. Returns 0, or VG_EINVAL /
 * VG_EIO with the problems in `err` (that version is then marked 4 failed). */
int deploy_start(deploy_t *d, const char *local_dir, char *err, size_t errlen);

/* Starts deploying `archive` (a .tar.gz; its bytes are taken over, `archive` is left empty)
 * uploaded by `user`. Returns 0 with the new deployment's id in *id (it then runs in the
 * background: follow it with deploy_describe), VG_EBUSY when a deployment is in progress,
 * VG_ELIMIT when the archive is larger than deploy.max_bundle_bytes, VG_ECLOSED while the
 * gateway stops; `err` says why. */
int deploy_submit(deploy_t *d, vg_buf_t *archive, const char *user, int64_t *id, char *err,
                  size_t errlen);

/* Starts a rollback to deployment `to_id`, or with 0 to the good version before the running
 * one (a version that ran: status 2 or 3, whose files are still kept). Returns 0 and the new
 * deployment's id in *id, VG_ENOENT when there is no such version, VG_EBUSY, VG_ECLOSED. */
int deploy_rollback(deploy_t *d, int64_t to_id, const char *user, int64_t *id, char *err,
                    size_t errlen);

/* One deployment as JSON (the DeployInfo schema of openapi.yaml): id, bundle, version,
 * status, statusText, origin ("upload", "rollback", "local"), user, reason, createdAt,
 * updatedAt (ms), current, rollbackOf, steps [{step, state, at, ms, message}], problems
 * [strings]. `id` 0 is the latest deployment. Returns a new reference, or NULL when there is
 * no such deployment (or out of memory). */
json_t *deploy_describe(deploy_t *d, int64_t id);

/* Deployments, newest first: up to `limit` from `offset`, as an array of DeployInfo without
 * steps and problems; *total is the number of rows. NULL when out of memory. */
json_t *deploy_list(deploy_t *d, int64_t limit, int64_t offset, int64_t *total);

/* The running version's bundle (NULL when nothing runs); valid until the next commit or
 * reload. */
const bundle_t *deploy_current(const deploy_t *d);

/* SIGHUP: re-reads the running version's directory and sends each running driver whose config
 * changed its new config (its config-changed callback runs). Other changes need a deployment.
 * Does nothing while a deployment is in progress. Returns the number of drivers updated. */
int deploy_reload_configs(deploy_t *d);

/* Stops accepting deployments; one in progress is abandoned where it stands (its row stays
 * 11 and the next start marks it interrupted). `done` runs once no thread-pool work is left. */
void deploy_shutdown(deploy_t *d, void (*done)(void *data), void *data);

/* Frees the deployer; after deploy_shutdown's callback (or when nothing ran). */
void deploy_destroy(deploy_t *d);

#endif
