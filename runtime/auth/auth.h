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

/* Creates the auth subsystem over `st`. On a store with no users it creates `admin` with the
 * password from VERGE_ADMIN_PASSWORD, or the documented default "admin1234" (then marked as
 * default). Loads live sessions. Returns 0 and *out or a negative VG_E* code (logged). */
int auth_create(vg_ctx_t *ctx, store_t *st, auth_t **out);
/* Number of logins and Basic checks whose callback has not run yet (PBKDF2 in flight or a
 * slowdown timer pending). Shutdown runs the loop until this is 0 before auth_destroy. */
int auth_pending(const auth_t *a);
/* Flushes session last-use times to the store and frees everything. Call only when
 * auth_pending() is 0. NULL is a no-op. */
void auth_destroy(auth_t *a);

typedef struct auth_result {
    int status;            /* 0, VG_EAUTH (bad user or password), VG_ELOCKED (locked out),
                              VG_EPERM (default password from a non-loopback client),
                              VG_ECANCELED (auth destroyed), VG_EINTERNAL */
    char user[STORE_NAME_MAX];
    char token[AUTH_TOKEN_HEX]; /* login only: the new session's raw token, hex */
    int retry_after_s;          /* VG_ELOCKED only */
    char message[256];          /* a sentence for the API reply, e.g. "Invalid username or password" */
} auth_result_t;

typedef void (*auth_cb)(void *data, const auth_result_t *res);

/* Checks `password` for `user` off the loop thread and, on success, creates a session.
 * `peer_ip` is the client's address as text; `peer_loopback` says whether it is 127.0.0.0/8
 * or ::1. Failures count towards the per-address and per-user slowdown and lockout; a slowed
 * answer is delayed with a timer, never by blocking. `cb` is always called exactly once, on
 * the loop thread, never before this function returns. */
void auth_login(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data);

/* Like auth_login for a Basic `Authorization` header, without creating a session. A recently
 * verified credential (auth.basic_cache_s) is answered from memory without PBKDF2 (cb still
 * runs later on the loop, never synchronously). */
void auth_basic(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data);

/* Checks a session token (the cookie's value). Returns 0 and copies the user name into `user`
 * (STORE_NAME_MAX bytes), or VG_EAUTH when the token is unknown, malformed, revoked or idle
 * for longer than auth.session_idle_s. A valid token's idle timer restarts. Synchronous. */
int auth_session_check(auth_t *a, const char *token, char *user);

/* Revokes the session `token` at once. Returns 0, or VG_EAUTH when it is not a live session. */
int auth_logout(auth_t *a, const char *token);

/* Returns 1 when `user` may call the API at `api_path` ("/thing/device/count"), else 0. */
int auth_allowed(auth_t *a, const char *user, const char *api_path);

/* Sets (creating when missing) `user`'s password and, when `perms_json` is not NULL, its
 * permissions (a JSON array of API paths, ["*"] for all). Runs PBKDF2 synchronously: for the
 * CLI, never on the loop thread. Revokes the user's sessions. Returns 0 or a negative VG_E*
 * code with a message in `err`. */
int auth_user_set(vg_ctx_t *ctx, store_t *st, const char *user, const char *password,
                  const char *perms_json, char *err, size_t errlen);

/* PBKDF2-HMAC-SHA256 of `password` into `out` (32 bytes). Returns 0 or VG_EINTERNAL. */
int auth_pbkdf2(const char *password, const uint8_t salt[16], uint32_t iterations, uint8_t out[32]);

#endif
