/* store_int.h: what store.c shares with users.c and sessions.c inside the store module: the
 * store struct and its cached prepared statements. Not for other modules (they see store.h). */
#ifndef VG_STORE_STORE_INT_H
#define VG_STORE_STORE_INT_H

#include "store/store.h"

/* The cached statements; their SQL is the store__sql table in store.c. */
typedef enum {
    STORE__USER_GET,
    STORE__USER_PUT,
    STORE__USER_DELETE,
    STORE__USER_COUNT,
    STORE__SESSION_EACH,
    STORE__SESSION_INSERT,
    STORE__SESSION_TOUCH,
    STORE__SESSION_DELETE,
    STORE__SESSION_DELETE_USER,
    STORE__SESSION_PURGE,
    STORE__STMT_COUNT
} store__stmt_id_t;

struct store {
    vg_ctx_t *ctx;
    sqlite3 *db;
    char *path;
    int version;
    sqlite3_stmt *stmts[STORE__STMT_COUNT]; /* prepared at open, finalized at close */
};

/* Resets a statement after use and clears its bindings (so no SQLITE_STATIC pointer outlives
 * the call that bound it). */
void store__done(sqlite3_stmt *stmt);

/* Logs SQLite's message for a failed `what` ("reading user \"admin\""), resets `stmt` (may be
 * NULL) and returns VG_EDB. */
int store__fail(store_t *st, sqlite3_stmt *stmt, const char *what);

/* Runs a statement that returns no rows (DELETE, UPDATE, INSERT) and resets it. Returns the
 * number of rows changed or VG_EDB (logged with `what`). */
int store__exec(store_t *st, sqlite3_stmt *stmt, const char *what);

#endif
