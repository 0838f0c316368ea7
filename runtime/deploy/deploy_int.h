/* deploy_int.h: what the files of the deploy module share: the deployer, a deployment in
 * progress (a job), the switch plan, and the helpers each file offers the others (table.c:
 * the deployments table; verify.c: staging and checks on the thread pool; apply.c: the
 * switch from one bundle to another; deploy.c: the lifecycle). Not for other modules. */
#ifndef VG_DEPLOY_INT_H
#define VG_DEPLOY_INT_H

#define VG_LOG_MODULE "deploy"
#include "bundle/bundle.h"
#include "deploy/archive.h"
#include "deploy/deploy.h"

#include <limits.h>
#include <uv.h>

/* How a driver of the new version compares with the running one. */
typedef enum {
    DEPLOY__DRV_SAME = 0, /* same program bytes, config, devices and TSLs: keeps running */
    DEPLOY__DRV_NEW,      /* not in the running version: started */
    DEPLOY__DRV_CHANGED,  /* differs: the running process is stopped, the new one started */
} deploy__drv_change_t;

/* The switch from bundle `from` (NULL: nothing runs) to bundle `to`: per driver of `to`, its
 * change; per driver of `from`, whether `to` drops it. */
typedef struct deploy__plan {
    deploy__drv_change_t *to_drivers; /* to->ndrivers entries */
    unsigned char *dropped;           /* from->ndrivers entries (1: not in `to`) */
} deploy__plan_t;

/* A driver process and the deployment whose files it was started from: that version's
 * directory is kept while the process runs from it. */
typedef struct deploy__origin {
    char *driver;
    int64_t id;
} deploy__origin_t;

typedef enum { DEPLOY__UPLOAD = 0, DEPLOY__ROLLBACK, DEPLOY__LOCAL } deploy__kind_t;

typedef struct deploy__job deploy__job_t;

struct deploy {
    deploy_deps_t deps;
    vg_ctx_t *ctx;
    bundle_t *current; /* the running version's bundle, or NULL */
    int64_t current_id;
    deploy__origin_t *origins;
    size_t norigins;
    deploy__job_t *job; /* the deployment in progress, or NULL */
    int works;          /* thread-pool requests not completed */
    int closing;
    void (*shutdown_cb)(void *data);
    void *shutdown_data;
    char bundles_dir[PATH_MAX]; /* data_dir/bundles */
};

struct deploy__job {
    deploy_t *d;
    int64_t id;
    deploy__kind_t kind;
    int64_t rollback_of; /* DEPLOY__ROLLBACK: the version returned to */
    char user[64];
    char dir[PATH_MAX];
    uv_work_t work;
    /* input and output of the thread-pool part */
    vg_buf_t archive;
    deploy_archive_stats_t stats;
    bundle_t *bundle; /* the new version, once verified */
    deploy__plan_t plan;
    vg_buf_t problems; /* lines "FILE: FIELD: PROBLEM\n" */
    int rc;
    char err[1024];
    /* progress */
    json_t *steps;     /* [{step, state, at, ms, message}] */
    uint64_t step_ns;  /* start of the step in progress */
    int64_t from_id;   /* the version running when the job began (0: none) */
    bundle_t *from;    /* its bundle (d->current), NULL when none */
    int stops_pending; /* drivers being stopped for the switch */
    int rolling_back;  /* the switch back to `from` is in progress */
    char reason[1024]; /* why it failed */
    uv_timer_t health;
    int health_open;
    uint64_t health_end_ns;
    double *fn_base; /* per function of `bundle`: its unhandled invocations and top-level
                        errors counted at the switch (2 entries each) */
};

/* ---- table.c ---- */
int deploy__table_open(deploy_t *d);
/* Inserts a row (status 11) and returns its id, or -1 (logged). */
int64_t deploy__row_insert(deploy_t *d, deploy__kind_t kind, const char *user, int64_t rollback_of,
                           const char *dir);
/* Updates a row's fields; NULL/negative arguments leave the field as it is. */
void deploy__row_status(deploy_t *d, int64_t id, int status, const char *reason);
void deploy__row_meta(deploy_t *d, int64_t id, const char *bundle, const char *version,
                      const char *dir, int64_t size, int64_t files);
void deploy__row_progress(deploy_t *d, int64_t id, const json_t *steps, const char *problems);
/* In one transaction: `id` becomes running (and is marked as having run), `old` (when > 0)
 * finished. Returns 0 or VG_EDB. */
int deploy__row_commit(deploy_t *d, int64_t id, int64_t old);
/* The directory and status of a row; returns 0 or VG_ENOENT. */
int deploy__row_dir(deploy_t *d, int64_t id, char *dir, size_t len, int *status, int *ran);
/* After a restart: 11 rows become 31 "interrupted", 12 rows 2 again. */
void deploy__rows_recover(deploy_t *d);
/* The running row's id (0: none). */
int64_t deploy__row_running(deploy_t *d);
/* The newest row that ran, is not `except` and whose files are kept (status 2 or 3, dir set),
 * older than `before` when > 0; 0 when none. */
int64_t deploy__row_previous_good(deploy_t *d, int64_t except, int64_t before);
/* Directories of rows that ran, newest first, up to `keep` distinct ones, plus the running
 * one's: every other directory under bundles_dir named in a row is returned in *drop (caller
 * frees each string and the array) and its rows' dir cleared. */
int deploy__rows_retire(deploy_t *d, int64_t keep, char ***drop, size_t *ndrop);
/* Every directory named by a row (for removing stray staging directories). */
int deploy__rows_dirs(deploy_t *d, char ***dirs, size_t *n);
json_t *deploy__row_json(deploy_t *d, int64_t id, int full);
json_t *deploy__rows_json(deploy_t *d, int64_t limit, int64_t offset, int64_t *total);

/* ---- deploy.c ---- */
/* The problems (lines "FILE: FIELD: PROBLEM\n") as the text of a JSON array of strings, their
 * count and the first one (not NUL-terminated: *first_len bytes); NULL when out of memory. */
char *deploy__problems_json(const vg_buf_t *p, size_t *count, const char **first,
                            size_t *first_len);

/* ---- verify.c (thread pool; touches no loop state) ---- */
/* Unpacks job->archive into job->dir (upload only), checks the signature when required, loads
 * and checks the bundle, compiles every Lua file, and plans the switch from job->from. Sets
 * job->rc, job->problems, job->bundle, job->plan. */
void deploy__verify_work(uv_work_t *w);

/* ---- apply.c (loop thread) ---- */
/* Compares `from` (may be NULL) and `to` into `plan`. Blocking reads of driver programs.
 * Returns 0 or VG_ENOMEM / VG_EIO with `err`. */
int deploy__plan_make(const bundle_t *from, const bundle_t *to, deploy__plan_t *plan, char *err,
                      size_t errlen);
void deploy__plan_free(deploy__plan_t *plan);
/* Stops the drivers of `from` that `to` drops or changes (and forgets their devices); calls
 * `done(data)` once for each when it has exited. Returns the number stopping (0: no call). */
int deploy__apply_stop(deploy_t *d, const bundle_t *from, const bundle_t *to,
                       const deploy__plan_t *plan, void (*done)(void *data), void *data);
/* Registers products and devices, adds and starts drivers, replaces every function and swaps
 * the routes, from `from` to `to` (deployment `to_id`). `live`: the runtime already runs
 * (functions are loaded now, to find load errors). Returns 0, or an error with `err`. */
int deploy__apply_switch(deploy_t *d, const bundle_t *from, const bundle_t *to,
                         const deploy__plan_t *plan, int64_t to_id, int live, char *err,
                         size_t errlen);
/* Removes every "DIR/" from `s`: messages name a bundle's files relative to it. */
void deploy__strip_dir(char *s, const char *dir);
/* Records that driver `name` now runs from deployment `id`. */
void deploy__origin_set(deploy_t *d, const char *name, int64_t id);
int deploy__origin_uses(const deploy_t *d, int64_t id);

#endif
