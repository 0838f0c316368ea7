/* sessions.c: the sessions table of the store. A row is the SHA-256 of a session token, its
 * user and its times; deleting a user deletes its rows (ON DELETE CASCADE). Auth keeps the live
 * copy in memory and writes here at creation, revocation and (lazily) on use. */
#define VG_LOG_MODULE "store"
#include "store/store_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

int store_session_each(store_t *st, void (*fn)(void *data, const store_session_t *s), void *data)
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_EACH];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        store_session_t s;
        memset(&s, 0, sizeof s);
        const char *user = (const char *)sqlite3_column_text(q, 1);
        if (sqlite3_column_bytes(q, 0) != sizeof s.token_hash || !user ||
            strlen(user) >= sizeof s.user) {
            vg_warn(&st->ctx->log, "%s: skipping a malformed session row", st->path);
            continue;
        }
        memcpy(s.token_hash, sqlite3_column_blob(q, 0), sizeof s.token_hash);
        snprintf(s.user, sizeof s.user, "%s", user);
        s.created_ms = sqlite3_column_int64(q, 2);
        s.last_used_ms = sqlite3_column_int64(q, 3);
        fn(data, &s);
    }
    if (rc != SQLITE_DONE) return store__fail(st, q, "reading sessions");
    store__done(q);
    return 0;
}

int store_session_insert(store_t *st, const store_session_t *s)
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_INSERT];
    sqlite3_bind_blob(q, 1, s->token_hash, sizeof s->token_hash, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, s->created_ms);
    sqlite3_bind_int64(q, 4, s->last_used_ms);
    int rc = store__exec(st, q, "inserting a session");
    return rc < 0 ? rc : 0;
}

int store_session_touch(store_t *st, const uint8_t token_hash[32], int64_t last_used_ms)
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_TOUCH];
    sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, last_used_ms);
    int rc = store__exec(st, q, "recording a session's use");
    return rc < 0 ? rc : 0;
}

int store_session_delete(store_t *st, const uint8_t token_hash[32])
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_DELETE];
    sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
    int rc = store__exec(st, q, "deleting a session");
    return rc < 0 ? rc : 0;
}

int store_session_delete_user(store_t *st, const char *user)
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_DELETE_USER];
    sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
    int rc = store__exec(st, q, "deleting a user's sessions");
    return rc < 0 ? rc : 0;
}

int store_session_purge(store_t *st, int64_t before_ms)
{
    sqlite3_stmt *q = st->stmts[STORE__SESSION_PURGE];
    sqlite3_bind_int64(q, 1, before_ms);
    return store__exec(st, q, "purging expired sessions");
}
