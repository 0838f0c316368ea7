/* users.c: the users table of the store: names, permissions (a JSON array kept as text),
 * PBKDF2 salts and hashes. Validation of what goes in is auth's job; this file only persists. */
#define VG_LOG_MODULE "store"
#include "store/store_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* Copies a blob column of exactly `n` bytes into `out`. Returns 1, or 0 when it has another
 * size (NULL included), leaving `out` zeroed. */
static int store__blob(sqlite3_stmt *s, int col, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    if ((size_t)sqlite3_column_bytes(s, col) != n) return 0;
    memcpy(out, sqlite3_column_blob(s, col), n);
    return 1;
}

int store_user_get(store_t *st, const char *name, store_user_t *out)
{
    if (strlen(name) >= STORE_NAME_MAX) return VG_ENOENT;
    sqlite3_stmt *s = st->stmts[STORE__USER_GET];
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        store__done(s);
        return VG_ENOENT;
    }
    if (rc != SQLITE_ROW) return store__fail(st, s, "reading a user");
    if (sqlite3_column_bytes(s, 1) >= STORE_PERMS_MAX) {
        vg_error(&st->ctx->log, "%s: user \"%s\": permissions longer than %d bytes", st->path, name,
                 STORE_PERMS_MAX - 1);
        store__done(s);
        return VG_EDB;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->perms, sizeof out->perms, "%s", (const char *)sqlite3_column_text(s, 1));
    int ok = store__blob(s, 2, out->salt, sizeof out->salt);
    ok &= store__blob(s, 3, out->hash, sizeof out->hash);
    sqlite3_int64 it = sqlite3_column_int64(s, 4);
    /* A user without a usable password record has iterations 0: no password matches. */
    out->iterations = ok && it > 0 && it <= UINT32_MAX ? (uint32_t)it : 0;
    out->default_password = sqlite3_column_int(s, 5) != 0;
    out->created_ms = sqlite3_column_int64(s, 6);
    out->updated_ms = sqlite3_column_int64(s, 7);
    store__done(s);
    return 0;
}

int store_user_put(store_t *st, const store_user_t *u)
{
    sqlite3_stmt *s = st->stmts[STORE__USER_PUT];
    sqlite3_bind_text(s, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, u->perms, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, u->salt, sizeof u->salt, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, u->hash, sizeof u->hash, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, u->iterations);
    sqlite3_bind_int(s, 6, u->default_password != 0);
    sqlite3_bind_int64(s, 7, u->created_ms);
    sqlite3_bind_int64(s, 8, u->updated_ms);
    int rc = store__exec(st, s, "writing a user");
    return rc < 0 ? rc : 0;
}

int store_user_delete(store_t *st, const char *name)
{
    sqlite3_stmt *s = st->stmts[STORE__USER_DELETE];
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = store__exec(st, s, "deleting a user");
    if (rc < 0) return rc;
    return rc == 0 ? VG_ENOENT : 0;
}

int store_user_count(store_t *st)
{
    sqlite3_stmt *s = st->stmts[STORE__USER_COUNT];
    if (sqlite3_step(s) != SQLITE_ROW) return store__fail(st, s, "counting users");
    int n = sqlite3_column_int(s, 0);
    store__done(s);
    return n;
}
