/* auth.h: users, passwords, sessions, brute-force protection and permissions.
 * Passwords are PBKDF2-HMAC-SHA256 with a per-user salt, computed on libuv's threadpool, never
 * on the loop thread. Session tokens are 256 random bits; only their SHA-256 is stored. Live
 * sessions are kept in memory (and in the store, so they survive restarts). */
#ifndef VG_AUTH_AUTH_H
#define VG_AUTH_AUTH_H

#include "core/ctx.h"
#include "store/store.h"

#include <stdint.h>

typedef struct auth auth_t;

#define AUTH_TOKEN_HEX 65          /* 64 hex digits + NUL */
#define AUTH_DEFAULT_PASSWORD "admin1234"
#define AUTH_COOKIE_NAME "verge_session"

/* Creates the auth subsystem over `st`. On a store with no users it creates `admin` (perms
 * ["*"]) with the password from VERGE_ADMIN_PASSWORD, or the documented default "admin1234"
 * (then marked as default); that runs PBKDF2 once, synchronously, at start-up. Loads the live
 * sessions (expired ones are deleted, the least recently used beyond auth.session_max too) and
 * starts a sweep of idle sessions every 60 s (an unref'd timer: it keeps no loop alive).
 * Changes that another connection commits (`verge passwd` while the server runs) are noticed
 * within a second (PRAGMA data_version, checked at most once a second of loop time because
 * it takes a read lock): their revoked sessions end here too and the
 * permission cache refreshes. Returns 0 and *out or a negative VG_E* code (logged). */
int auth_create(vg_ctx_t *ctx, store_t *st, auth_t **out);
/* Number of logins and Basic checks whose callback has not run yet (PBKDF2 in flight or a
 * slowdown timer pending). Shutdown runs the loop until this is 0 before auth_destroy. */
int auth_pending(const auth_t *a);
/* Flushes session last-use times to the store and frees everything; the loop must run once
 * more to close the sweep timer. Call it when auth_pending() is 0; if checks are still pending,
 * their callbacks later get VG_ECANCELED without touching the store (which may be closed right
 * after this call) and the memory goes with the last one. NULL is a no-op. */
void auth_destroy(auth_t *a);

typedef struct auth_result {
    int status;            /* 0, VG_EAUTH (bad user or password), VG_ELOCKED (locked out),
                              VG_EPERM (default password from a non-loopback client),
                              VG_ECANCELED (auth destroyed), VG_EINTERNAL */
    char user[STORE_NAME_MAX];  /* status 0 only: the authenticated user */
    char token[AUTH_TOKEN_HEX]; /* login only: the new session's raw token, 64 lowercase hex */
    int retry_after_s;          /* VG_ELOCKED only */
    char message[256];          /* a sentence for the API reply, e.g. "Invalid username or password" */
} auth_result_t;

typedef void (*auth_cb)(void *data, const auth_result_t *res);

/* Checks `password` for `user` off the loop thread and, on success, creates a session (the
 * least recently used one goes when auth.session_max are live). `peer_ip` is the client's
 * address as text; `peer_loopback` says whether it is 127.0.0.0/8 or ::1. An unknown user
 * costs the same PBKDF2 as a real one.
 * Brute force: failures are counted per address and per user name (the worse one counts) and
 * forgotten auth.login_lockout_s after the latest. From auth.login_slowdown_after failures on,
 * every answer waits min(2^(n - slowdown_after) * 250 ms, 5 s) on a timer, never by blocking;
 * from auth.login_lockout_after on (attempts still in flight count too), attempts are refused
 * with VG_ELOCKED and retry_after_s without running PBKDF2. A success resets both counters;
 * the default password from afar (VG_EPERM) neither counts nor resets.
 * `cb` is always called exactly once, on the loop thread, never before this function returns
 * (out of memory for the request aborts the process: there would be no way to answer). */
void auth_login(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data);

/* Like auth_login for a Basic `Authorization` header, without creating a session. A recently
 * verified credential (auth.basic_cache_s) is answered from memory without PBKDF2 (cb still
 * runs later on the loop, never synchronously). */
void auth_basic(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data);

/* Checks a session token (the cookie's value: 64 hex digits, either case). Returns 0 and copies
 * the user name into `user` (STORE_NAME_MAX bytes), or VG_EAUTH when the token is unknown,
 * malformed, revoked or idle for longer than auth.session_idle_s (then it is deleted). A valid
 * token's idle timer restarts; the store learns of the use at most once a minute (and at
 * auth_destroy), so requests do not write SQLite. Synchronous. */
int auth_session_check(auth_t *a, const char *token, char *user);

/* Revokes the session `token` at once. Returns 0, or VG_EAUTH when it is not a live session. */
int auth_logout(auth_t *a, const char *token);

/* Returns 1 when `user` may call the API at `api_path` ("/thing/device/count"), else 0 (also
 * for an unknown user). A permission is "*" (every API), an exact path, or a path ending in '*'
 * that matches every path starting with the part before the '*'. Parsed permissions are cached
 * per user. */
int auth_allowed(auth_t *a, const char *user, const char *api_path);

/* Sets (creating when missing) `user`'s password and, when `perms_json` is not NULL, its
 * permissions (a JSON array of permissions as for auth_allowed, ["*"] for all). With NULL an
 * existing user keeps its permissions and a new one gets [] (nothing allowed). The name must
 * be 1..63 characters of [A-Za-z0-9._-], the password 1..1024 bytes. A new salt is drawn each
 * time; the default-password mark is set only when the password is AUTH_DEFAULT_PASSWORD.
 * The user's sessions are revoked in the same transaction. Runs PBKDF2 synchronously: for the
 * CLI (and auth_create's first user), never on the loop thread of a serving process. Returns 0
 * or VG_EINVAL / VG_ELIMIT (a message naming the field and the rule in `err`), VG_EDB or
 * VG_EINTERNAL; on error nothing is changed. */
int auth_user_set(vg_ctx_t *ctx, store_t *st, const char *user, const char *password,
                  const char *perms_json, char *err, size_t errlen);

/* PBKDF2-HMAC-SHA256 of `password` into `out` (32 bytes). Returns 0 or VG_EINTERNAL. */
int auth_pbkdf2(const char *password, const uint8_t salt[16], uint32_t iterations, uint8_t out[32]);

#endif
