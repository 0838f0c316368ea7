/* auth.c: the auth subsystem's life cycle and its asynchronous checks. Logins and Basic checks
 * copy what they need, run PBKDF2 on libuv's threadpool and answer on the loop after the
 * slowdown delay; verified Basic credentials are remembered for auth.basic_cache_s. */
#define VG_LOG_MODULE "auth"
#include "auth/auth_int.h"
#include "core/error.h"

#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH__METRIC "verge_auth_login_failures_total"
#define AUTH__METRIC_HELP                                                                          \
    "Failed logins and Basic checks, by reason: password (wrong user or password), locked "        \
    "(refused by the lockout), default_password (the default password from a non-loopback "        \
    "client)."
#define AUTH__MSG_INVALID "Invalid username or password"

typedef enum { AUTH__REASON_PASSWORD, AUTH__REASON_LOCKED, AUTH__REASON_DEFAULT } auth__reason_t;
static const char *const auth__reason_labels[] = {
    [AUTH__REASON_PASSWORD] = "reason=\"password\"",
    [AUTH__REASON_LOCKED] = "reason=\"locked\"",
    [AUTH__REASON_DEFAULT] = "reason=\"default_password\"",
};

typedef enum { AUTH__LOGIN, AUTH__BASIC } auth__kind_t;

/* One login or Basic check. The worker reads only password, rec.salt and rec.iterations and
 * writes only out and work_rc. */
typedef struct auth__req {
    uv_work_t work;
    uv_timer_t timer; /* initialized only when the answer is deferred */
    auth_t *a;
    auth__kind_t kind;
    auth_cb cb;
    void *data;
    char name[STORE_NAME_MAX]; /* the user name as given (truncated) */
    char peer[AUTH__KEY_MAX];
    int loopback;
    int usable;       /* the user exists and has a password record */
    store_user_t rec; /* a copy of the user; the dummy salt when !usable */
    char *password;   /* wiped and freed as soon as it is not needed */
    int cacheable;    /* mac is valid: a verified Basic credential may be remembered */
    uint8_t mac[32];  /* Basic cache key */
    uint8_t out[32];
    int work_rc;
    int64_t delay_ms;
    auth_result_t res;
} auth__req_t;

/* --- small helpers ------------------------------------------------------------------------ */

static int64_t auth__wall(void *data)
{
    (void)data;
    return vg_time_ms();
}

int64_t auth__now(const auth_t *a)
{
    return a->clock(a->clock_data);
}

int auth__ct_equal(const uint8_t *x, const uint8_t *y, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

int auth__sha256(const uint8_t *in, size_t n, uint8_t out[32])
{
    return wc_Sha256Hash(in, (word32)n, out) == 0 ? 0 : VG_EINTERNAL;
}

int auth__sql(vg_ctx_t *ctx, store_t *st, const char *sql)
{
    if (sqlite3_exec(store_db(st), sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
    vg_error(&ctx->log, "%s failed: %s", sql, sqlite3_errmsg(store_db(st)));
    return VG_EDB;
}

int auth_pbkdf2(const char *password, const uint8_t salt[16], uint32_t iterations, uint8_t out[32])
{
    size_t n = strlen(password);
    if (iterations == 0 || iterations > INT_MAX || n > INT_MAX) return VG_EINTERNAL;
    int rc =
        wc_PBKDF2(out, (const byte *)password, (int)n, salt, 16, (int)iterations, 32, WC_SHA256);
    return rc == 0 ? 0 : VG_EINTERNAL;
}

static void auth__count_failure(auth_t *a, auth__reason_t reason)
{
    if (a->ctx->metrics)
        vg_metrics_inc(a->ctx->metrics, AUTH__METRIC, auth__reason_labels[reason], 1);
}

static void auth__set(auth_result_t *res, int status, const char *message)
{
    res->status = status;
    snprintf(res->message, sizeof res->message, "%s", message);
}

void auth__sync(auth_t *a)
{
    if (!a->data_version) return;
    /* At most once per AUTH__SYNC_MS of loop time: the check takes a SQLite read lock
     * (fcntl), too dear for every request; another process's change shows within that. */
    uint64_t now = uv_now(a->ctx->loop);
    if (a->synced_at && now - a->synced_at < a->sync_every_ms) return;
    a->synced_at = now;
    int64_t v = -1;
    if (sqlite3_step(a->data_version) == SQLITE_ROW) v = sqlite3_column_int64(a->data_version, 0);
    sqlite3_reset(a->data_version);
    if (v < 0 || v == a->seen_version) return;
    a->seen_version = v;
    auth__perms_flush(a);
    auth__sessions_reconcile(a);
}

/* --- the Basic cache ---------------------------------------------------------------------- */

static int auth__basic_mac(const auth_t *a, const char *user, const char *password, uint8_t mac[32])
{
    Hmac h;
    int rc = wc_HmacInit(&h, NULL, INVALID_DEVID);
    if (rc == 0) rc = wc_HmacSetKey(&h, WC_SHA256, a->basic_key, sizeof a->basic_key);
    if (rc == 0) rc = wc_HmacUpdate(&h, (const byte *)user, (word32)strlen(user) + 1);
    if (rc == 0) rc = wc_HmacUpdate(&h, (const byte *)password, (word32)strlen(password));
    if (rc == 0) rc = wc_HmacFinal(&h, mac);
    wc_HmacFree(&h);
    return rc == 0 ? 0 : VG_EINTERNAL;
}

/* 1 when r's credential was verified less than basic_cache_s ago against the password record
 * the user still has. */
static int auth__basic_hit(const auth_t *a, const auth__req_t *r)
{
    int64_t now = auth__now(a), ttl = a->ctx->cfg.basic_cache_s * 1000;
    for (size_t i = 0; i < a->nbasic; i++) {
        const auth__basic_t *b = &a->basic[i];
        if (auth__ct_equal(b->mac, r->mac, 32) && auth__ct_equal(b->hash, r->rec.hash, 32) &&
            now >= b->verified_ms && now - b->verified_ms <= ttl)
            return 1;
    }
    return 0;
}

static void auth__basic_remember(auth_t *a, const auth__req_t *r)
{
    auth__basic_t *slot = NULL;
    for (size_t i = 0; i < a->nbasic && !slot; i++)
        if (auth__ct_equal(a->basic[i].mac, r->mac, 32)) slot = &a->basic[i];
    if (!slot && a->nbasic < AUTH__BASIC_MAX) slot = &a->basic[a->nbasic++];
    for (size_t i = 0; i < a->nbasic && !slot; i++) /* full: the oldest verification goes */
        if (i == 0 || a->basic[i].verified_ms < slot->verified_ms) slot = &a->basic[i];
    memcpy(slot->mac, r->mac, 32);
    memcpy(slot->hash, r->rec.hash, 32);
    slot->verified_ms = auth__now(a);
}

/* --- requests ----------------------------------------------------------------------------- */

static void auth__free(auth_t *a);

static void auth__wipe(auth__req_t *r)
{
    if (!r->password) return;
    explicit_bzero(r->password, strlen(r->password));
    free(r->password);
    r->password = NULL;
}

/* Hands the result to the caller. After this, `r` may be freed and `a` may be gone. */
static void auth__deliver(auth__req_t *r)
{
    auth_t *a = r->a;
    auth__wipe(r);
    int last = --a->pending == 0 && a->destroyed;
    if (a->destroyed) {
        memset(&r->res, 0, sizeof r->res);
        auth__set(&r->res, VG_ECANCELED, "the server is shutting down");
    }
    r->cb(r->data, &r->res);
    if (last) auth__free(a);
}

static void auth__on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void auth__on_timer(uv_timer_t *t)
{
    auth__deliver(t->data);
    uv_close((uv_handle_t *)t, auth__on_closed);
}

/* Answers after `delay_ms`; `defer` forces a timer even for no delay (the caller of auth_login
 * is still on the stack). */
static void auth__reply(auth__req_t *r, int64_t delay_ms, int defer)
{
    if (delay_ms <= 0 && !defer) {
        auth__deliver(r);
        free(r);
        return;
    }
    uv_timer_init(r->a->ctx->loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, auth__on_timer, delay_ms > 0 ? (uint64_t)delay_ms : 0, 0);
}

/* Decides a checked attempt: wrong password, default password from afar, or success. */
static void auth__verdict(auth__req_t *r, int ok)
{
    auth_t *a = r->a;
    if (!ok) {
        auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_FAILED);
        auth__count_failure(a, AUTH__REASON_PASSWORD);
        auth__set(&r->res, VG_EAUTH, AUTH__MSG_INVALID);
        return;
    }
    if (r->rec.default_password && !r->loopback) {
        auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_NEUTRAL);
        auth__count_failure(a, AUTH__REASON_DEFAULT);
        r->res.status = VG_EPERM;
        snprintf(r->res.message, sizeof r->res.message,
                 "the password of \"%s\" is still the default; it is accepted only from loopback "
                 "clients. Set a new one with: verge passwd %s",
                 r->name, r->name);
        return;
    }
    auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_OK);
    auth__set(&r->res, 0, "");
    snprintf(r->res.user, sizeof r->res.user, "%s", r->name);
    if (r->kind == AUTH__LOGIN && auth__session_create(a, r->name, r->res.token) != 0) {
        memset(r->res.token, 0, sizeof r->res.token);
        auth__set(&r->res, VG_EINTERNAL, "could not create a session; see the server log");
    }
}

static void auth__work(uv_work_t *w)
{
    auth__req_t *r = w->data;
    r->work_rc = auth_pbkdf2(r->password, r->rec.salt, r->rec.iterations, r->out);
}

static void auth__after_work(uv_work_t *w, int status)
{
    auth__req_t *r = w->data;
    auth_t *a = r->a;
    auth__wipe(r);
    if (a->destroyed) {
        auth__reply(r, 0, 0);
        return;
    }
    if (status != 0 || r->work_rc != 0) {
        vg_error(&a->ctx->log, "PBKDF2 failed for user \"%s\"", r->name);
        auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_NEUTRAL);
        auth__set(&r->res, VG_EINTERNAL, "could not check the password; see the server log");
    } else {
        auth__verdict(r, auth__ct_equal(r->out, r->rec.hash, 32) & r->usable);
        if (r->cacheable && r->res.status == 0) auth__basic_remember(a, r);
    }
    auth__reply(r, r->delay_ms, 0);
}

/* Looks the user up and decides how to check: from the Basic cache or with PBKDF2. */
static void auth__check(auth_t *a, auth__req_t *r, const char *user)
{
    int rc = strlen(user) < STORE_NAME_MAX ? store_user_get(a->st, user, &r->rec) : VG_ENOENT;
    if (rc != 0 && rc != VG_ENOENT) {
        auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_NEUTRAL);
        auth__set(&r->res, VG_EINTERNAL, "could not read the user database; see the server log");
        auth__reply(r, 0, 1);
        return;
    }
    r->usable = rc == 0 && r->rec.iterations > 0;
    if (!r->usable) { /* same work as for a real user, so timing does not tell who exists */
        memcpy(r->rec.salt, a->dummy_salt, sizeof r->rec.salt);
        r->rec.iterations = (uint32_t)a->ctx->cfg.pbkdf2_iterations;
    }
    r->cacheable = r->kind == AUTH__BASIC && a->ctx->cfg.basic_cache_s > 0 && r->usable &&
                   auth__basic_mac(a, user, r->password, r->mac) == 0;
    if (r->cacheable && auth__basic_hit(a, r)) {
        auth__wipe(r);
        auth__verdict(r, 1);
        auth__reply(r, r->delay_ms, 1);
        return;
    }
    a->pbkdf2_runs++;
    r->work.data = r;
    if (uv_queue_work(a->ctx->loop, &r->work, auth__work, auth__after_work) != 0) {
        auth__lock_end(a, r->name, r->peer, AUTH__ATTEMPT_NEUTRAL);
        auth__set(&r->res, VG_EINTERNAL, "could not queue the password check");
        auth__reply(r, 0, 1);
    }
}

static void auth__start(auth_t *a, auth__kind_t kind, const char *user, const char *password,
                        const char *peer_ip, int peer_loopback, auth_cb cb, void *data)
{
    auth__req_t *r = calloc(1, sizeof *r);
    char *pw = strdup(password ? password : "");
    if (!r || !pw) {
        /* Without a request there is no way to answer later, as the contract promises. */
        vg_error(&a->ctx->log, "out of memory for a login request");
        abort();
    }
    user = user ? user : "";
    r->a = a;
    r->kind = kind;
    r->cb = cb;
    r->data = data;
    r->password = pw;
    r->loopback = peer_loopback;
    snprintf(r->name, sizeof r->name, "%s", user);
    snprintf(r->peer, sizeof r->peer, "%s", peer_ip ? peer_ip : "unknown");
    a->pending++;
    auth__sync(a);
    if (auth__lock_begin(a, r->name, r->peer, &r->res, &r->delay_ms) != 0) {
        auth__wipe(r);
        auth__count_failure(a, AUTH__REASON_LOCKED);
        auth__reply(r, 0, 1);
        return;
    }
    auth__check(a, r, user);
}

void auth_login(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data)
{
    auth__start(a, AUTH__LOGIN, user, password, peer_ip, peer_loopback, cb, data);
}

void auth_basic(auth_t *a, const char *user, const char *password, const char *peer_ip,
                int peer_loopback, auth_cb cb, void *data)
{
    auth__start(a, AUTH__BASIC, user, password, peer_ip, peer_loopback, cb, data);
}

/* --- life cycle --------------------------------------------------------------------------- */

static void auth__on_purge(uv_timer_t *t)
{
    auth__sessions_purge(t->data);
}

static void auth__free_handle(uv_handle_t *h)
{
    free(h);
}

static int auth__start_purge(auth_t *a)
{
    a->purge_timer = malloc(sizeof *a->purge_timer);
    if (!a->purge_timer) return VG_ENOMEM;
    uv_timer_init(a->ctx->loop, a->purge_timer);
    a->purge_timer->data = a;
    uv_timer_start(a->purge_timer, auth__on_purge, AUTH__PURGE_MS, AUTH__PURGE_MS);
    uv_unref((uv_handle_t *)a->purge_timer);
    return 0;
}

static void auth__free(auth_t *a)
{
    auth__sessions_free(a);
    auth__lock_free(a);
    auth__perms_flush(a);
    sqlite3_finalize(a->data_version);
    wc_FreeRng(&a->rng);
    explicit_bzero(a->basic_key, sizeof a->basic_key);
    free(a);
}

int auth_create(vg_ctx_t *ctx, store_t *st, auth_t **out)
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a) return VG_ENOMEM;
    a->ctx = ctx;
    a->sync_every_ms = AUTH__SYNC_MS;
    a->st = st;
    a->clock = auth__wall;
    a->seen_version = -1;
    if (wc_InitRng(&a->rng) != 0) {
        vg_error(&ctx->log, "cannot initialize wolfCrypt's random number generator");
        free(a);
        return VG_EINTERNAL;
    }
    int rc = VG_EINTERNAL;
    if (wc_RNG_GenerateBlock(&a->rng, a->dummy_salt, sizeof a->dummy_salt) != 0 ||
        wc_RNG_GenerateBlock(&a->rng, a->basic_key, sizeof a->basic_key) != 0) {
        vg_error(&ctx->log, "cannot draw random bytes from wolfCrypt");
        goto fail;
    }
    if (sqlite3_prepare_v2(store_db(st), "PRAGMA data_version", -1, &a->data_version, NULL) !=
        SQLITE_OK) {
        vg_error(&ctx->log, "preparing PRAGMA data_version failed: %s",
                 sqlite3_errmsg(store_db(st)));
        rc = VG_EDB;
        goto fail;
    }
    auth__sync(a);
    rc = ctx->metrics
             ? vg_metrics_declare(ctx->metrics, AUTH__METRIC, VG_METRIC_COUNTER, AUTH__METRIC_HELP)
             : 0;
    if (rc != 0 || (rc = auth__admin_ensure(a)) != 0 || (rc = auth__sessions_load(a)) != 0 ||
        (rc = auth__start_purge(a)) != 0)
        goto fail;
    *out = a;
    return 0;
fail:
    auth__free(a);
    return rc;
}

int auth_pending(const auth_t *a)
{
    return a->pending;
}

void auth_destroy(auth_t *a)
{
    if (!a) return;
    auth__sessions_flush(a);
    if (a->purge_timer) uv_close((uv_handle_t *)a->purge_timer, auth__free_handle);
    a->purge_timer = NULL;
    sqlite3_finalize(a->data_version); /* before the store closes */
    a->data_version = NULL;
    if (a->pending > 0)
        a->destroyed = 1; /* freed by the last answer, which gets VG_ECANCELED */
    else
        auth__free(a);
}

/* --- test hooks --------------------------------------------------------------------------- */

void auth__set_sync_interval(auth_t *a, uint64_t ms)
{
    a->sync_every_ms = ms;
}

void auth__set_clock(auth_t *a, auth__clock_fn now_ms, void *data)
{
    a->clock = now_ms ? now_ms : auth__wall;
    a->clock_data = now_ms ? data : NULL;
}

uint64_t auth__pbkdf2_runs(const auth_t *a)
{
    return a->pbkdf2_runs;
}
