/* table.c: the `deployments` table (component "deploy" of store_migrate): one row per
 * deployment with its status, reason, steps and problems. The row with status 2 is what the
 * gateway runs; a commit moves that mark in one transaction. Statements are prepared per call:
 * a deployment writes a handful of rows, nothing here is on a hot path. */
#include "deploy/deploy_int.h"
#include "core/error.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

static const store_migration_t deploy__migrations[] = {
    {1, "CREATE TABLE deployments ("
        " id INTEGER PRIMARY KEY,"
        " bundle TEXT NOT NULL DEFAULT '',"
        " version TEXT NOT NULL DEFAULT '',"
        " status INTEGER NOT NULL,"
        " origin TEXT NOT NULL,"
        " user TEXT NOT NULL DEFAULT '',"
        " dir TEXT NOT NULL DEFAULT '',"
        " rollback_of INTEGER,"
        " reason TEXT,"
        " steps TEXT NOT NULL DEFAULT '[]',"
        " problems TEXT NOT NULL DEFAULT '[]',"
        " size_bytes INTEGER NOT NULL DEFAULT 0,"
        " files INTEGER NOT NULL DEFAULT 0,"
        " ran INTEGER NOT NULL DEFAULT 0,"
        " created_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL);"
        "CREATE INDEX deployments_status ON deployments(status);"},
};

static const char *const deploy__origins[] = {"upload", "rollback", "local"};

int deploy__table_open(deploy_t *d)
{
    return store_migrate(d->deps.store, "deploy", deploy__migrations,
                         sizeof deploy__migrations / sizeof deploy__migrations[0]);
}

static sqlite3 *deploy__db(deploy_t *d)
{
    return store_db(d->deps.store);
}

/* Prepares `sql`; NULL after logging. */
static sqlite3_stmt *deploy__prep(deploy_t *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(deploy__db(d), sql, -1, &st, NULL) != SQLITE_OK) {
        vg_error(&d->ctx->log, "deployments table: %s", sqlite3_errmsg(deploy__db(d)));
        return NULL;
    }
    return st;
}

/* Steps `st` to completion and finalizes it. Returns 0 or VG_EDB (logged). */
static int deploy__exec(deploy_t *d, sqlite3_stmt *st)
{
    if (!st) return VG_EDB;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        vg_error(&d->ctx->log, "deployments table: %s", sqlite3_errmsg(deploy__db(d)));
        return VG_EDB;
    }
    return 0;
}

static void deploy__bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int64_t deploy__row_insert(deploy_t *d, deploy__kind_t kind, const char *user, int64_t rollback_of,
                           const char *dir)
{
    sqlite3_stmt *st = deploy__prep(d, "INSERT INTO deployments(status, origin, user, dir, "
                                       "rollback_of, created_ms, updated_ms) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!st) return -1;
    int64_t now = vg_time_ms();
    sqlite3_bind_int(st, 1, DEPLOY_DEPLOYING);
    sqlite3_bind_text(st, 2, deploy__origins[kind], -1, SQLITE_STATIC);
    deploy__bind_text(st, 3, user ? user : "");
    deploy__bind_text(st, 4, dir ? dir : "");
    if (rollback_of > 0)
        sqlite3_bind_int64(st, 5, rollback_of);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    if (deploy__exec(d, st)) return -1;
    return sqlite3_last_insert_rowid(deploy__db(d));
}

void deploy__row_status(deploy_t *d, int64_t id, int status, const char *reason)
{
    sqlite3_stmt *st = deploy__prep(d, "UPDATE deployments SET status = ?, "
                                       "reason = COALESCE(?, reason), updated_ms = ? WHERE id = ?");
    if (!st) return;
    sqlite3_bind_int(st, 1, status);
    deploy__bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, vg_time_ms());
    sqlite3_bind_int64(st, 4, id);
    deploy__exec(d, st);
}

void deploy__row_meta(deploy_t *d, int64_t id, const char *bundle, const char *version,
                      const char *dir, int64_t size, int64_t files)
{
    sqlite3_stmt *st = deploy__prep(
        d, "UPDATE deployments SET bundle = COALESCE(?, bundle), version = COALESCE(?, version), "
           "dir = COALESCE(?, dir), size_bytes = CASE WHEN ? >= 0 THEN ? ELSE size_bytes END, "
           "files = CASE WHEN ? >= 0 THEN ? ELSE files END, updated_ms = ? WHERE id = ?");
    if (!st) return;
    deploy__bind_text(st, 1, bundle);
    deploy__bind_text(st, 2, version);
    deploy__bind_text(st, 3, dir);
    sqlite3_bind_int64(st, 4, size);
    sqlite3_bind_int64(st, 5, size);
    sqlite3_bind_int64(st, 6, files);
    sqlite3_bind_int64(st, 7, files);
    sqlite3_bind_int64(st, 8, vg_time_ms());
    sqlite3_bind_int64(st, 9, id);
    deploy__exec(d, st);
}

void deploy__row_progress(deploy_t *d, int64_t id, const json_t *steps, const char *problems)
{
    char *text = steps ? json_dumps(steps, JSON_COMPACT) : NULL;
    sqlite3_stmt *st = deploy__prep(d, "UPDATE deployments SET steps = COALESCE(?, steps), "
                                       "problems = COALESCE(?, problems), updated_ms = ? "
                                       "WHERE id = ?");
    if (st) {
        deploy__bind_text(st, 1, text);
        deploy__bind_text(st, 2, problems);
        sqlite3_bind_int64(st, 3, vg_time_ms());
        sqlite3_bind_int64(st, 4, id);
        deploy__exec(d, st);
    }
    free(text);
}

int deploy__row_commit(deploy_t *d, int64_t id, int64_t old)
{
    sqlite3 *db = deploy__db(d);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        vg_error(&d->ctx->log, "deployments table: %s", sqlite3_errmsg(db));
        return VG_EDB;
    }
    int64_t now = vg_time_ms();
    sqlite3_stmt *st = deploy__prep(d, "UPDATE deployments SET status = 3, updated_ms = ? "
                                       "WHERE status IN (2, 12) AND id != ?");
    int rc = VG_EDB;
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, id);
        rc = deploy__exec(d, st);
    }
    (void)old;
    if (!rc && (st = deploy__prep(d, "UPDATE deployments SET status = 2, ran = 1, reason = NULL, "
                                     "updated_ms = ? WHERE id = ?")) != NULL) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, id);
        rc = deploy__exec(d, st);
    } else if (!rc) {
        rc = VG_EDB;
    }
    if (rc || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        vg_error(&d->ctx->log, "deployments table: commit of #%lld failed: %s", (long long)id,
                 sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return VG_EDB;
    }
    return 0;
}

int deploy__row_dir(deploy_t *d, int64_t id, char *dir, size_t len, int *status, int *ran)
{
    sqlite3_stmt *st = deploy__prep(d, "SELECT dir, status, ran FROM deployments WHERE id = ?");
    if (!st) return VG_EDB;
    sqlite3_bind_int64(st, 1, id);
    int rc = VG_ENOENT;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(dir, len, "%s", t ? t : "");
        if (status) *status = sqlite3_column_int(st, 1);
        if (ran) *ran = sqlite3_column_int(st, 2);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

void deploy__rows_recover(deploy_t *d)
{
    sqlite3_stmt *st = deploy__prep(
        d, "UPDATE deployments SET status = 31, updated_ms = ?, reason = 'interrupted: the "
           "gateway stopped during the deployment; the version that was running before it runs', "
           "dir = CASE WHEN origin = 'upload' THEN '' ELSE dir END WHERE status = 11");
    if (st) {
        sqlite3_bind_int64(st, 1, vg_time_ms());
        deploy__exec(d, st);
    }
    if ((st = deploy__prep(d, "UPDATE deployments SET status = 2, updated_ms = ? "
                              "WHERE status = 12")) != NULL) {
        sqlite3_bind_int64(st, 1, vg_time_ms());
        deploy__exec(d, st);
    }
}

/* The first column of the first row of `st` (bound by the caller), 0 when none. */
static int64_t deploy__scalar(deploy_t *d, sqlite3_stmt *st)
{
    (void)d;
    if (!st) return 0;
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

int64_t deploy__row_running(deploy_t *d)
{
    return deploy__scalar(
        d, deploy__prep(d, "SELECT id FROM deployments WHERE status = 2 ORDER BY id DESC LIMIT 1"));
}

int64_t deploy__row_previous_good(deploy_t *d, int64_t except, int64_t before)
{
    sqlite3_stmt *st = deploy__prep(d, "SELECT id FROM deployments WHERE ran = 1 AND dir != '' "
                                       "AND status IN (2, 3) AND id != ? AND (? <= 0 OR id < ?) "
                                       "ORDER BY id DESC LIMIT 1");
    if (!st) return 0;
    sqlite3_bind_int64(st, 1, except);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_int64(st, 3, before);
    return deploy__scalar(d, st);
}

/* Appends a copy of `s` to the string array unless it is there already. */
static int deploy__strv_add(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0) return 0;
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return VG_ENOMEM;
    *v = nv;
    if (!(nv[*n] = strdup(s))) return VG_ENOMEM;
    (*n)++;
    return 0;
}

static int deploy__strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return 1;
    return 0;
}

int deploy__rows_dirs(deploy_t *d, char ***dirs, size_t *n)
{
    *dirs = NULL;
    *n = 0;
    sqlite3_stmt *st = deploy__prep(d, "SELECT dir FROM deployments WHERE dir != ''");
    if (!st) return VG_EDB;
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = deploy__strv_add(dirs, n, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

int deploy__rows_retire(deploy_t *d, int64_t keep, char ***drop, size_t *ndrop)
{
    char **kept = NULL;
    size_t nkept = 0;
    *drop = NULL;
    *ndrop = 0;
    sqlite3_stmt *st = deploy__prep(d, "SELECT id, dir, status, ran FROM deployments "
                                       "WHERE dir != '' ORDER BY id DESC");
    if (!st) return VG_EDB;
    size_t plen = strlen(d->bundles_dir);
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *dir = (const char *)sqlite3_column_text(st, 1);
        int status = sqlite3_column_int(st, 2), ran = sqlite3_column_int(st, 3);
        int ours = strncmp(dir, d->bundles_dir, plen) == 0 && dir[plen] == '/';
        int in_use = status == DEPLOY_RUNNING || status == DEPLOY_DEPLOYING ||
                     status == DEPLOY_STOPPING || deploy__origin_uses(d, id);
        if (in_use || (ran && nkept < (size_t)keep) || deploy__strv_has(kept, nkept, dir)) {
            if (ran || in_use) rc = deploy__strv_add(&kept, &nkept, dir);
            continue;
        }
        if (ours) rc = deploy__strv_add(drop, ndrop, dir);
    }
    sqlite3_finalize(st);
    /* a directory both dropped by an old row and kept by a newer one stays */
    for (size_t i = 0; i < *ndrop;) {
        if (deploy__strv_has(kept, nkept, (*drop)[i])) {
            free((*drop)[i]);
            (*drop)[i] = (*drop)[--*ndrop];
            continue;
        }
        st = deploy__prep(d, "UPDATE deployments SET dir = '' WHERE dir = ?");
        if (st) {
            sqlite3_bind_text(st, 1, (*drop)[i], -1, SQLITE_STATIC);
            deploy__exec(d, st);
        }
        i++;
    }
    for (size_t i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    return rc;
}

/* One row as DeployInfo; with `full`, steps and problems too. */
static json_t *deploy__row_to_json(sqlite3_stmt *st, int full)
{
    int status = sqlite3_column_int(st, 3);
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:b,s:b}", "id",
        (json_int_t)sqlite3_column_int64(st, 0), "bundle", (const char *)sqlite3_column_text(st, 1),
        "version", (const char *)sqlite3_column_text(st, 2), "status", status, "statusText",
        deploy_status_text(status), "origin", (const char *)sqlite3_column_text(st, 4), "user",
        (const char *)sqlite3_column_text(st, 5), "sizeBytes",
        (json_int_t)sqlite3_column_int64(st, 10), "files", (json_int_t)sqlite3_column_int64(st, 11),
        "createdAt", (json_int_t)sqlite3_column_int64(st, 12), "updatedAt",
        (json_int_t)sqlite3_column_int64(st, 13), "current", status == DEPLOY_RUNNING, "kept",
        sqlite3_column_text(st, 6)[0] != '\0');
    if (!o) return NULL;
    json_object_set_new(o, "reason",
                        sqlite3_column_type(st, 7) == SQLITE_NULL
                            ? json_null()
                            : json_string((const char *)sqlite3_column_text(st, 7)));
    json_object_set_new(o, "rollbackOf",
                        sqlite3_column_type(st, 8) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(st, 8)));
    if (full) {
        json_t *steps = json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL);
        json_t *problems = json_loads((const char *)sqlite3_column_text(st, 14), 0, NULL);
        json_object_set_new(o, "steps", steps ? steps : json_array());
        json_object_set_new(o, "problems", problems ? problems : json_array());
    }
    return o;
}

#define DEPLOY__COLUMNS                                                                            \
    "id, bundle, version, status, origin, user, dir, reason, rollback_of, steps, size_bytes, "     \
    "files, created_ms, updated_ms, problems"

json_t *deploy__row_json(deploy_t *d, int64_t id, int full)
{
    sqlite3_stmt *st = deploy__prep(d, id > 0 ? "SELECT " DEPLOY__COLUMNS
                                                " FROM deployments WHERE id = ?"
                                              : "SELECT " DEPLOY__COLUMNS
                                                " FROM deployments ORDER BY id DESC LIMIT 1");
    if (!st) return NULL;
    if (id > 0) sqlite3_bind_int64(st, 1, id);
    json_t *o = sqlite3_step(st) == SQLITE_ROW ? deploy__row_to_json(st, full) : NULL;
    sqlite3_finalize(st);
    return o;
}

json_t *deploy__rows_json(deploy_t *d, int64_t limit, int64_t offset, int64_t *total)
{
    *total = deploy__scalar(d, deploy__prep(d, "SELECT COUNT(*) FROM deployments"));
    sqlite3_stmt *st = deploy__prep(d, "SELECT " DEPLOY__COLUMNS
                                       " FROM deployments ORDER BY id DESC LIMIT ? OFFSET ?");
    json_t *a = json_array();
    if (!st || !a) {
        sqlite3_finalize(st);
        json_decref(a);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, limit);
    sqlite3_bind_int64(st, 2, offset);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = deploy__row_to_json(st, 0);
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            a = NULL;
            break;
        }
    }
    sqlite3_finalize(st);
    return a;
}
