/* store.c: opening and closing verge's SQLite database, its pragmas, the schema migrations (the
 * store's own and, through store_migrate, each subsystem's) and the cache of prepared statements
 * that users.c and sessions.c use. A schema written by a newer verge is refused, not guessed at. */
#define VG_LOG_MODULE "store"
#include "store/store_int.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE__BUSY_TIMEOUT_MS 5000 /* `verge passwd` may write while the server runs */

/* The schema, one step per version; never edit a step that has shipped, add one. */
static const struct {
    int version;
    const char *sql;
} migrations[] = {
    {1, "CREATE TABLE users(name TEXT PRIMARY KEY, perms TEXT NOT NULL, salt BLOB, hash BLOB,"
        "  iterations INTEGER, default_password INTEGER, created_ms INTEGER, updated_ms INTEGER);"
        "CREATE TABLE sessions(token_hash BLOB PRIMARY KEY,"
        "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
        "  created_ms INTEGER, last_used_ms INTEGER);"
        "CREATE INDEX sessions_user ON sessions(user);"},
    /* Other subsystems' schemas, versioned per component by store_migrate(). */
    {2, "CREATE TABLE schema_versions(component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        "  WITHOUT ROWID;"},
};
#define STORE__NMIGRATIONS (sizeof migrations / sizeof migrations[0])

static const char *const store__sql[STORE__STMT_COUNT] = {
    [STORE__USER_GET] = "SELECT name, perms, salt, hash, iterations, default_password, "
                        "created_ms, updated_ms FROM users WHERE name = ?1",
    [STORE__USER_PUT] =
        "INSERT INTO users(name, perms, salt, hash, iterations, default_password, created_ms, "
        "updated_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO UPDATE SET "
        "perms = excluded.perms, salt = excluded.salt, hash = excluded.hash, "
        "iterations = excluded.iterations, default_password = excluded.default_password, "
        "updated_ms = excluded.updated_ms",
    [STORE__USER_DELETE] = "DELETE FROM users WHERE name = ?1",
    [STORE__USER_COUNT] = "SELECT count(*) FROM users",
    [STORE__SESSION_EACH] = "SELECT token_hash, user, created_ms, last_used_ms FROM sessions "
                            "ORDER BY last_used_ms",
    [STORE__SESSION_INSERT] =
        "INSERT INTO sessions(token_hash, user, created_ms, last_used_ms) VALUES(?1, ?2, ?3, ?4)",
    [STORE__SESSION_TOUCH] = "UPDATE sessions SET last_used_ms = ?2 WHERE token_hash = ?1 AND "
                             "last_used_ms < ?2",
    [STORE__SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
    [STORE__SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user = ?1",
    [STORE__SESSION_PURGE] = "DELETE FROM sessions WHERE last_used_ms < ?1",
};

void store__done(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int store__fail(store_t *st, sqlite3_stmt *stmt, const char *what)
{
    vg_error(&st->ctx->log, "%s: %s failed: %s", st->path, what, sqlite3_errmsg(st->db));
    if (stmt) store__done(stmt);
    return VG_EDB;
}

int store__exec(store_t *st, sqlite3_stmt *stmt, const char *what)
{
    if (sqlite3_step(stmt) != SQLITE_DONE) return store__fail(st, stmt, what);
    store__done(stmt);
    return sqlite3_changes(st->db);
}

/* Runs SQL text without results. Returns 0 or VG_EDB (logged with `what`). */
static int store__run(store_t *st, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    vg_error(&st->ctx->log, "%s: %s failed: %s", st->path, what, msg ? msg : "unknown error");
    sqlite3_free(msg);
    return VG_EDB;
}

/* Reads one integer pragma ("user_version") into *out. Returns 0 or VG_EDB. */
static int store__pragma_int(store_t *st, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        vg_error(&st->ctx->log, "%s: %s failed: %s", st->path, sql, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return VG_EDB;
    }
    *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

/* Sets WAL mode; a file system that refuses it is logged, not fatal (SQLite stays correct). */
static void store__wal(store_t *st)
{
    sqlite3_stmt *s = NULL;
    const char *mode = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        mode = (const char *)sqlite3_column_text(s, 0);
    if (!mode || strcmp(mode, "wal") != 0)
        vg_warn(&st->ctx->log, "%s: WAL mode unavailable (journal mode %s): %s", st->path,
                mode ? mode : "unknown", sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
}

/* Applies migration `i` in its own transaction, unless another process got there first. */
static int store__migrate_one(store_t *st, size_t i)
{
    char what[64], sql[64];
    int v = 0;
    snprintf(what, sizeof what, "migration %d", migrations[i].version);
    if (store__run(st, "BEGIN IMMEDIATE", what) != 0) return VG_EDB;
    if (store__pragma_int(st, "PRAGMA user_version", &v) != 0) goto fail;
    if (v < migrations[i].version) {
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", migrations[i].version);
        if (store__run(st, migrations[i].sql, what) != 0 || store__run(st, sql, what) != 0)
            goto fail;
    }
    if (store__run(st, "COMMIT", what) != 0) goto fail;
    if (v < migrations[i].version)
        vg_info(&st->ctx->log, "%s: applied migration %d", st->path, migrations[i].version);
    return 0;
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return VG_EDB;
}

static int store__migrate(store_t *st)
{
    int v = 0, latest = migrations[STORE__NMIGRATIONS - 1].version;
    if (store__pragma_int(st, "PRAGMA user_version", &v) != 0) return VG_EDB;
    if (v > latest) {
        vg_error(&st->ctx->log,
                 "%s: the database has schema version %d but this verge knows versions up to %d; "
                 "it was written by a newer verge: run that version, or move the file away to "
                 "start afresh",
                 st->path, v, latest);
        return VG_EDB;
    }
    for (size_t i = 0; i < STORE__NMIGRATIONS; i++)
        if (migrations[i].version > v && store__migrate_one(st, i) != 0) return VG_EDB;
    return store__pragma_int(st, "PRAGMA user_version", &st->version);
}

static int store__prepare(store_t *st)
{
    for (int i = 0; i < STORE__STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, store__sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmts[i],
                               NULL) != SQLITE_OK) {
            vg_error(&st->ctx->log, "%s: preparing \"%s\" failed: %s", st->path, store__sql[i],
                     sqlite3_errmsg(st->db));
            return VG_EDB;
        }
    }
    return 0;
}

/* Finalizes the statements and closes the handle; st itself is freed by the caller. */
static void store__shut(store_t *st)
{
    for (int i = 0; i < STORE__STMT_COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    if (sqlite3_close(st->db) == SQLITE_BUSY) {
        vg_error(&st->ctx->log, "%s: statements of another subsystem were still open at close",
                 st->path);
        sqlite3_close_v2(st->db);
    }
}

int store_open(vg_ctx_t *ctx, const char *path, store_t **out)
{
    store_t *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return VG_ENOMEM;
    }
    st->ctx = ctx;
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        vg_error(&ctx->log, "cannot open the database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(st->db, STORE__BUSY_TIMEOUT_MS);
    store__wal(st);
    if (store__run(st, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", "setting pragmas") ||
        store__migrate(st) || store__prepare(st))
        goto fail;
    vg_info(&ctx->log, "opened %s (schema version %d)", path, st->version);
    *out = st;
    return 0;
fail:
    store__shut(st);
    free(st->path);
    free(st);
    return VG_EDB;
}

void store_close(store_t *st)
{
    if (!st) return;
    /* Busy only when another connection (the server, for `verge passwd`) is reading: harmless. */
    if (sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        vg_warn(&st->ctx->log, "%s: checkpointing the WAL at close: %s", st->path,
                sqlite3_errmsg(st->db));
    store__shut(st);
    vg_info(&st->ctx->log, "closed %s", st->path);
    free(st->path);
    free(st);
}

int store_schema_version(store_t *st)
{
    return st->version;
}

sqlite3 *store_db(store_t *st)
{
    return st->db;
}

/* --- per-component migrations ------------------------------------------------------------- */

/* Reads the recorded version of `component` into *out (0 when it has none). Returns 0 or
 * VG_EDB. */
static int store__component_version(store_t *st, const char *component, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT version FROM schema_versions WHERE component = ?1",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        vg_error(&st->ctx->log, "%s: reading the schema version of %s failed: %s", st->path,
                 component, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return VG_EDB;
    }
    *out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return 0;
}

/* Records `version` for `component`. Returns 0 or VG_EDB (logged). */
static int store__component_set(store_t *st, const char *component, int version)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "INSERT INTO schema_versions(component, version) VALUES(?1, ?2) "
                                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, version);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) return 0;
    vg_error(&st->ctx->log, "%s: recording schema version %d of %s failed: %s", st->path, version,
             component, sqlite3_errmsg(st->db));
    return VG_EDB;
}

/* Applies step `m` of `component` in its own transaction, unless another process got there
 * first. */
static int store__component_step(store_t *st, const char *component, const store_migration_t *m)
{
    char what[96];
    int v = 0;
    snprintf(what, sizeof what, "migration %s/%d", component, m->version);
    if (store__run(st, "BEGIN IMMEDIATE", what) != 0) return VG_EDB;
    if (store__component_version(st, component, &v) != 0) goto fail;
    if (v < m->version &&
        (store__run(st, m->sql, what) != 0 || store__component_set(st, component, m->version) != 0))
        goto fail;
    if (store__run(st, "COMMIT", what) != 0) goto fail;
    if (v < m->version) vg_info(&st->ctx->log, "%s: applied %s", st->path, what);
    return 0;
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return VG_EDB;
}

int store_migrate(store_t *st, const char *component, const store_migration_t *m, size_t n)
{
    if (!component || !*component || !m || n == 0) return VG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!m[i].sql || m[i].version != (i ? m[i - 1].version + 1 : 1)) {
            vg_error(&st->ctx->log, "%s: the migrations of %s must be numbered 1, 2, 3...",
                     st->path, component);
            return VG_EINVAL;
        }
    int v = 0, latest = m[n - 1].version;
    if (store__component_version(st, component, &v) != 0) return VG_EDB;
    if (v > latest) {
        vg_error(&st->ctx->log,
                 "%s: the tables of %s have schema version %d but this verge knows versions up "
                 "to %d; they were written by a newer verge: run that version, or move the file "
                 "away to start afresh",
                 st->path, component, v, latest);
        return VG_EDB;
    }
    for (size_t i = 0; i < n; i++)
        if (m[i].version > v && store__component_step(st, component, &m[i]) != 0) return VG_EDB;
    return 0;
}
