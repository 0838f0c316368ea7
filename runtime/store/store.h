/* store.h: verge's SQLite database (one file in the data directory, WAL mode).
 * The schema is versioned; migrations run in order at open. Users and sessions live here now;
 * devices, properties and deployments join later as new migrations. Loop-thread only. */
#ifndef VG_STORE_STORE_H
#define VG_STORE_STORE_H

#include "core/ctx.h"

#include <sqlite3.h>
#include <stdint.h>

typedef struct store store_t;

#define STORE_NAME_MAX 64  /* user names: 1..63 bytes of [A-Za-z0-9._-] */
#define STORE_PERMS_MAX 2048

/* Opens (creating when missing) the database at `path`, sets WAL and synchronous=NORMAL,
 * and runs every pending migration in one transaction each. Returns 0 and *out, or a negative
 * VG_E* code after logging what failed (nothing is left open then). */
int store_open(vg_ctx_t *ctx, const char *path, store_t **out);

/* Checkpoints the WAL, finalizes every statement and closes the file. NULL is a no-op. */
void store_close(store_t *st);

/* The schema version after migrations (the number of the last migration applied). */
int store_schema_version(store_t *st);

/* The raw handle, for later subsystems' prepared statements. Owned by the store. */
sqlite3 *store_db(store_t *st);

typedef struct store_user {
    char name[STORE_NAME_MAX];
    char perms[STORE_PERMS_MAX]; /* JSON array of allowed API paths; ["*"] allows every API */
    uint8_t salt[16];
    uint8_t hash[32];            /* PBKDF2-HMAC-SHA256(password, salt, iterations) */
    uint32_t iterations;
    int default_password;        /* 1 while the password is the documented default */
    int64_t created_ms, updated_ms;
} store_user_t;

/* Reads user `name` into *out. Returns 0, VG_ENOENT or VG_EDB. */
int store_user_get(store_t *st, const char *name, store_user_t *out);
/* Inserts or replaces the user (created_ms is kept when the user exists). Returns 0 or VG_EDB. */
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

/* Calls `fn` for every stored session (used to warm the in-memory session table at start).
 * Returns 0 or VG_EDB. */
int store_session_each(store_t *st, void (*fn)(void *data, const store_session_t *s), void *data);
/* Inserts a session. Returns 0 or VG_EDB. */
int store_session_insert(store_t *st, const store_session_t *s);
/* Records a later last-use time. Returns 0 (also when the session is gone) or VG_EDB. */
int store_session_touch(store_t *st, const uint8_t token_hash[32], int64_t last_used_ms);
/* Deletes one session. Returns 0 (also when it was not there) or VG_EDB. */
int store_session_delete(store_t *st, const uint8_t token_hash[32]);
/* Deletes every session of `user`. Returns 0 or VG_EDB. */
int store_session_delete_user(store_t *st, const char *user);
/* Deletes sessions last used before `before_ms`. Returns how many, or VG_EDB. */
int store_session_purge(store_t *st, int64_t before_ms);

#endif
