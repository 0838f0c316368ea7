/* auth_int.h: the auth struct and what the files of the auth module share: auth.c (requests,
 * PBKDF2, the Basic cache), lockout.c (failure records), session.c (the session table) and
 * users.c (users, permissions). Not for other modules; tests use the auth__ hooks at the end. */
#ifndef VG_AUTH_AUTH_INT_H
#define VG_AUTH_AUTH_INT_H

#include "auth/auth.h"

#include <jansson.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#define AUTH__PASSWORD_MAX 1024  /* bytes */
#define AUTH__TOUCH_MS     60000 /* a session's stored last use may lag memory by this much */
#define AUTH__PURGE_MS     60000 /* period of the expired-session sweep */
#define AUTH__FAILS_MAX    4096  /* failure records (per address and per user name) */
#define AUTH__BASIC_MAX    128   /* Basic cache entries */
#define AUTH__PERMS_MAX    64    /* users whose parsed permissions are cached */
#define AUTH__KEY_MAX      72    /* failure record key: "u:" or "a:" + name or address */

typedef int64_t (*auth__clock_fn)(void *data);

/* How often (loop ms) changes made by other processes (verge passwd) are looked for. */
#define AUTH__SYNC_MS 1000

typedef struct auth__session {
    struct auth__session *hnext;       /* hash bucket chain */
    struct auth__session *prev, *next; /* recency list, most recently used first */
    uint8_t hash[32];                  /* SHA-256 of the raw token */
    char user[STORE_NAME_MAX];
    int64_t created_ms, last_used_ms;
    int64_t stored_ms; /* last_used_ms as the store has it */
    int seen;          /* reconciliation mark */
} auth__session_t;

typedef struct auth__fail {
    uint64_t key_hash; /* FNV-1a of key */
    char key[AUTH__KEY_MAX];
    int count;       /* failures, forgotten login_lockout_s after the latest */
    int inflight;    /* attempts being checked now (they count towards the lockout) */
    int64_t last_ms; /* time of the latest failure */
} auth__fail_t;

typedef struct auth__basic {
    uint8_t mac[32];  /* HMAC-SHA256(basic_key, "user\0password") */
    uint8_t hash[32]; /* the user's stored hash then: a new password invalidates the entry */
    int64_t verified_ms;
} auth__basic_t;

typedef struct auth__perms {
    char user[STORE_NAME_MAX];
    json_t *paths; /* the validated array, or NULL when the stored text is unusable */
} auth__perms_t;

struct auth {
    vg_ctx_t *ctx;
    store_t *st;
    auth__clock_fn clock;
    void *clock_data;
    WC_RNG rng;
    uint8_t dummy_salt[16]; /* PBKDF2 for unknown users costs the same as for real ones */
    uint8_t basic_key[32];
    sqlite3_stmt *data_version; /* PRAGMA data_version: changes by other connections */
    uint64_t synced_at;         /* loop time of the last data_version check */
    uint64_t sync_every_ms;     /* AUTH__SYNC_MS; tests set 0 to look at every call */
    int64_t seen_version;
    uv_timer_t *purge_timer; /* freed by its close callback */
    int pending;
    int destroyed; /* auth_destroy ran while requests were pending */
    uint64_t pbkdf2_runs;
    /* sessions: a chained hash table plus a recency list */
    auth__session_t **buckets;
    size_t nbuckets, nsessions;
    auth__session_t *mru, *lru;
    /* failure records */
    auth__fail_t *fails;
    size_t nfails, capfails;
    /* caches */
    auth__basic_t basic[AUTH__BASIC_MAX];
    size_t nbasic;
    auth__perms_t perms[AUTH__PERMS_MAX];
    size_t nperms;
};

/* auth.c */
int64_t auth__now(const auth_t *a);
/* Notices writes by other connections (`verge passwd`): drops the permission cache and the
 * sessions that are no longer in the store. Cheap when nothing changed. */
void auth__sync(auth_t *a);
int auth__ct_equal(const uint8_t *x, const uint8_t *y, size_t n);
int auth__sha256(const uint8_t *in, size_t n, uint8_t out[32]);
/* Runs SQL text ("BEGIN IMMEDIATE") on the store's connection. Returns 0 or VG_EDB (logged). */
int auth__sql(vg_ctx_t *ctx, store_t *st, const char *sql);

/* lockout.c. Outcomes of an attempt, for auth__lock_end. */
typedef enum { AUTH__ATTEMPT_FAILED, AUTH__ATTEMPT_OK, AUTH__ATTEMPT_NEUTRAL } auth__attempt_t;
/* Starts an attempt by `user` from `peer`: returns VG_ELOCKED with res->retry_after_s and
 * res->message filled, or 0 with *delay_ms (the slowdown) and the attempt counted in flight. */
int auth__lock_begin(auth_t *a, const char *user, const char *peer, auth_result_t *res,
                     int64_t *delay_ms);
/* Ends an attempt that auth__lock_begin accepted. */
void auth__lock_end(auth_t *a, const char *user, const char *peer, auth__attempt_t outcome);
void auth__lock_free(auth_t *a);

/* session.c */
int auth__sessions_load(auth_t *a);
/* Creates a session for `user` and writes its raw token as hex. Returns 0 or a VG_E* code. */
int auth__session_create(auth_t *a, const char *user, char token[AUTH_TOKEN_HEX]);
void auth__sessions_reconcile(auth_t *a);
void auth__sessions_flush(auth_t *a);
void auth__sessions_free(auth_t *a);

/* users.c */
int auth__admin_ensure(auth_t *a);
void auth__perms_flush(auth_t *a);

/* Test hooks. */
/* Replaces the wall clock (milliseconds since the epoch) used for sessions, lockouts and the
 * Basic cache; NULL restores it. Timers still run on the loop's real time. */
void auth__set_clock(auth_t *a, auth__clock_fn now_ms, void *data);
/* Sets how often (loop ms) other connections' changes are looked for; 0: at every call. */
void auth__set_sync_interval(auth_t *a, uint64_t ms);
/* How many PBKDF2 computations logins and Basic checks have started. */
uint64_t auth__pbkdf2_runs(const auth_t *a);
/* Runs the periodic sweep now: expired sessions leave memory and the store. */
void auth__sessions_purge(auth_t *a);
/* Number of sessions in memory. */
size_t auth__session_count(const auth_t *a);

#endif
