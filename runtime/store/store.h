/* store.h: verge's SQLite database (one file in the data directory, WAL mode).
 * The store's own schema (users, sessions, schema_versions) is versioned by user_version and
 * migrated at open; every other subsystem owns its tables and migrates them with
 * store_migrate(), versioned per component. Loop-thread only. */
#ifndef VG_STORE_STORE_H
#define VG_STORE_STORE_H

#include "core/ctx.h"

#include <sqlite3.h>
#include <stdint.h>

typedef struct store store_t;

#define STORE_NAME_MAX 64  /* user names: 1..63 bytes of [A-Za-z0-9._-] */
#define STORE_PERMS_MAX 2048

/* Opens (creating when missing) the database at `path`, sets WAL, synchronous=NORMAL,
 * foreign_keys=ON and a 5 s busy timeout (`verge passwd` may write while the server runs), and
 * runs every pending migration in one transaction each. A database whose schema version is
 * newer than this code knows is refused. Returns 0 and *out, or VG_ENOMEM or VG_EDB after
 * logging what failed (nothing is left open then; *out is untouched). */
int store_open(vg_ctx_t *ctx, const char *path, store_t **out);

/* Checkpoints the WAL (TRUNCATE), finalizes the store's statements and closes the file. Other
 * subsystems must have finalized theirs on store_db() before. NULL is a no-op. */
void store_close(store_t *st);

/* The schema version after migrations (the number of the last migration applied). */
int store_schema_version(store_t *st);

/* The raw handle, for later subsystems' prepared statements. Owned by the store. */
sqlite3 *store_db(store_t *st);

/* One schema step of a subsystem: `sql` (one or more statements) brings the component's tables
 * to `version`. Never edit a step that has shipped; add one. */
typedef struct store_migration {
    int version; /* 1, 2, 3... in order within a list */
    const char *sql;
} store_migration_t;

/* Brings the tables of `component` ("things", "deploy"...) up to date: runs, in order, each of
 * the `n` steps of `m` whose version is above the component's recorded version, each in its own
 * transaction together with the new version in schema_versions(component, version), so a
 * failed step leaves the previous version in place. A component whose recorded version is newer
 * than the last step here was written by a newer verge and is refused. Returns 0, VG_EINVAL for
 * a malformed list (empty component name, no steps, versions not numbered 1, 2, 3...), or
 * VG_EDB after logging what failed. Loop thread, at start-up. */
int store_migrate(store_t *st, const char *component, const store_migration_t *m, size_t n);

typedef struct store_user {
    char name[STORE_NAME_MAX];
    char perms[STORE_PERMS_MAX]; /* JSON array of allowed API paths; ["*"] allows every API */
    uint8_t salt[16];
    uint8_t hash[32];            /* PBKDF2-HMAC-SHA256(password, salt, iterations) */
    uint32_t iterations;
    int default_password;        /* 1 while the password is the documented default */
    int64_t created_ms, updated_ms;
} store_user_t;

/* Reads user `name` into *out. Returns 0, VG_ENOENT (also for names of STORE_NAME_MAX bytes or
 * more) or VG_EDB. A row without a 16-byte salt and a 32-byte hash reads with iterations 0: no
 * password matches it. */
int store_user_get(store_t *st, const char *name, store_user_t *out);
/* Inserts the user, or updates every field of an existing one except created_ms (an upsert:
 * the user's sessions are kept). Returns 0 or VG_EDB. */
int store_user_put(store_t *st, const store_user_t *u);
/* Deletes the user and every session of theirs. Returns 0, VG_ENOENT or VG_EDB. */
int store_user_delete(store_t *st, const char *name);
/* Number of users, or a negative VG_E* code. */
int store_user_count(store_t *st);

typedef struct store_session {
    uint8_t token_hash[32]; /* SHA-256 of the raw token; raw tokens are never stored */
    char user[STORE_NAME_MAX];
    int64_t created_ms;
    int64_t last_used_ms;
} store_session_t;

/* Calls `fn` for every stored session, least recently used first (used to warm the in-memory
 * session table at start); malformed rows are logged and skipped. `fn` may call the other
 * store functions but not store_session_each. Returns 0 or VG_EDB. */
int store_session_each(store_t *st, void (*fn)(void *data, const store_session_t *s), void *data);
/* Inserts a session. Returns 0 or VG_EDB (also for an unknown user or a duplicate hash). */
int store_session_insert(store_t *st, const store_session_t *s);
/* Records a later last-use time (an earlier one is ignored). Returns 0 (also when the session is
 * gone) or VG_EDB. */
int store_session_touch(store_t *st, const uint8_t token_hash[32], int64_t last_used_ms);
/* Deletes one session. Returns 0 (also when it was not there) or VG_EDB. */
int store_session_delete(store_t *st, const uint8_t token_hash[32]);
/* Deletes every session of `user`. Returns 0 or VG_EDB. */
int store_session_delete_user(store_t *st, const char *user);
/* Deletes sessions last used before `before_ms`. Returns how many, or VG_EDB. */
int store_session_purge(store_t *st, int64_t before_ms);

#endif
