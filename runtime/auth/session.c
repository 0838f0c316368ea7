/* session.c: live sessions, in a chained hash table keyed by the token's SHA-256 plus a recency
 * list (most recently used first) for the auth.session_max eviction and the idle sweep.
 * Creation and revocation write the store at once; last-use times reach it lazily. */
#define VG_LOG_MODULE "auth"
#include "auth/auth_int.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t auth__bucket(const auth_t *a, const uint8_t hash[32])
{
    uint64_t v;
    memcpy(&v, hash, sizeof v); /* the hash of a random token is already well mixed */
    return (size_t)(v & (a->nbuckets - 1));
}

static auth__session_t *auth__session_find(const auth_t *a, const uint8_t hash[32])
{
    if (!a->nbuckets) return NULL;
    for (auth__session_t *s = a->buckets[auth__bucket(a, hash)]; s; s = s->hnext)
        if (memcmp(s->hash, hash, 32) == 0) return s;
    return NULL;
}

static void auth__recent_unlink(auth_t *a, auth__session_t *s)
{
    *(s->prev ? &s->prev->next : &a->mru) = s->next;
    *(s->next ? &s->next->prev : &a->lru) = s->prev;
    s->prev = s->next = NULL;
}

static void auth__recent_push(auth_t *a, auth__session_t *s)
{
    s->prev = NULL;
    s->next = a->mru;
    *(a->mru ? &a->mru->prev : &a->lru) = s;
    a->mru = s;
}

static int auth__grow(auth_t *a)
{
    size_t n = a->nbuckets ? a->nbuckets * 2 : 64;
    auth__session_t **b = calloc(n, sizeof *b);
    if (!b) return VG_ENOMEM;
    size_t old = a->nbuckets;
    auth__session_t **ob = a->buckets;
    a->buckets = b;
    a->nbuckets = n;
    for (size_t i = 0; i < old; i++) {
        for (auth__session_t *s = ob[i], *next; s; s = next) {
            next = s->hnext;
            size_t k = auth__bucket(a, s->hash);
            s->hnext = b[k];
            b[k] = s;
        }
    }
    free(ob);
    return 0;
}

static auth__session_t *auth__session_add(auth_t *a, const store_session_t *src)
{
    if (a->nsessions >= a->nbuckets && auth__grow(a) != 0) return NULL;
    auth__session_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    memcpy(s->hash, src->token_hash, sizeof s->hash);
    snprintf(s->user, sizeof s->user, "%s", src->user);
    s->created_ms = src->created_ms;
    s->last_used_ms = s->stored_ms = src->last_used_ms;
    size_t k = auth__bucket(a, s->hash);
    s->hnext = a->buckets[k];
    a->buckets[k] = s;
    auth__recent_push(a, s);
    a->nsessions++;
    return s;
}

/* Forgets `s`, and deletes its row too when `in_store`. */
static void auth__session_drop(auth_t *a, auth__session_t *s, int in_store)
{
    if (in_store) store_session_delete(a->st, s->hash);
    auth__session_t **pp = &a->buckets[auth__bucket(a, s->hash)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    auth__recent_unlink(a, s);
    a->nsessions--;
    free(s);
}

static int auth__idle(const auth_t *a, const auth__session_t *s, int64_t now)
{
    return now - s->last_used_ms > a->ctx->cfg.session_idle_s * 1000;
}

static int auth__hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* SHA-256 of the raw token that `token` (64 hex digits) encodes. Returns 0 or VG_EAUTH. */
static int auth__token_hash(const char *token, uint8_t hash[32])
{
    uint8_t raw[32];
    if (!token || strnlen(token, AUTH_TOKEN_HEX) != AUTH_TOKEN_HEX - 1) return VG_EAUTH;
    for (size_t i = 0; i < sizeof raw; i++) {
        int hi = auth__hexval(token[2 * i]), lo = auth__hexval(token[2 * i + 1]);
        if (hi < 0 || lo < 0) return VG_EAUTH;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    int rc = auth__sha256(raw, sizeof raw, hash);
    explicit_bzero(raw, sizeof raw);
    return rc == 0 ? 0 : VG_EAUTH;
}

static void auth__load_one(void *data, const store_session_t *row)
{
    auth_t *a = data;
    auth__session_t s = {.last_used_ms = row->last_used_ms};
    if (auth__idle(a, &s, auth__now(a)) || auth__session_find(a, row->token_hash)) return;
    if (!auth__session_add(a, row)) vg_error(&a->ctx->log, "out of memory loading sessions");
}

int auth__sessions_load(auth_t *a)
{
    int rc = store_session_each(a->st, auth__load_one, a); /* oldest first */
    if (rc != 0) return rc;
    rc = store_session_purge(a->st, auth__now(a) - a->ctx->cfg.session_idle_s * 1000);
    if (rc < 0) return rc;
    while (a->nsessions > (size_t)a->ctx->cfg.session_max)
        auth__session_drop(a, a->lru, 1);
    vg_info(&a->ctx->log, "%zu live sessions loaded, %d expired ones deleted", a->nsessions, rc);
    return 0;
}

int auth__session_create(auth_t *a, const char *user, char token[AUTH_TOKEN_HEX])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[32];
    store_session_t row;
    memset(&row, 0, sizeof row);
    if (wc_RNG_GenerateBlock(&a->rng, raw, sizeof raw) != 0 ||
        auth__sha256(raw, sizeof raw, row.token_hash) != 0) {
        vg_error(&a->ctx->log, "cannot draw a session token from wolfCrypt");
        return VG_EINTERNAL;
    }
    while (a->nsessions >= (size_t)a->ctx->cfg.session_max && a->lru)
        auth__session_drop(a, a->lru, 1);
    snprintf(row.user, sizeof row.user, "%s", user);
    row.created_ms = row.last_used_ms = auth__now(a);
    int rc = store_session_insert(a->st, &row);
    if (rc == 0 && !auth__session_add(a, &row)) {
        store_session_delete(a->st, row.token_hash);
        rc = VG_ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < sizeof raw; i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    token[rc == 0 ? AUTH_TOKEN_HEX - 1 : 0] = '\0';
    explicit_bzero(raw, sizeof raw);
    return rc;
}

int auth_session_check(auth_t *a, const char *token, char *user)
{
    uint8_t hash[32];
    if (auth__token_hash(token, hash) != 0) return VG_EAUTH;
    auth__sync(a);
    auth__session_t *s = auth__session_find(a, hash);
    if (!s) return VG_EAUTH;
    int64_t now = auth__now(a);
    if (auth__idle(a, s, now)) {
        auth__session_drop(a, s, 1);
        return VG_EAUTH;
    }
    if (now > s->last_used_ms) s->last_used_ms = now;
    auth__recent_unlink(a, s);
    auth__recent_push(a, s);
    /* The store learns of the use only once a minute: no SQLite write per request. */
    if (s->last_used_ms - s->stored_ms >= AUTH__TOUCH_MS &&
        store_session_touch(a->st, s->hash, s->last_used_ms) == 0)
        s->stored_ms = s->last_used_ms;
    snprintf(user, STORE_NAME_MAX, "%s", s->user);
    return 0;
}

int auth_logout(auth_t *a, const char *token)
{
    uint8_t hash[32];
    if (auth__token_hash(token, hash) != 0) return VG_EAUTH;
    auth__sync(a);
    auth__session_t *s = auth__session_find(a, hash);
    if (!s) return VG_EAUTH;
    auth__session_drop(a, s, 1);
    return 0;
}

static void auth__mark_one(void *data, const store_session_t *row)
{
    auth__session_t *s = auth__session_find(data, row->token_hash);
    if (s) s->seen = 1;
}

void auth__sessions_reconcile(auth_t *a)
{
    for (auth__session_t *s = a->mru; s; s = s->next)
        s->seen = 0;
    if (store_session_each(a->st, auth__mark_one, a) != 0) return;
    size_t gone = 0;
    for (auth__session_t *s = a->mru, *next; s; s = next) {
        next = s->next;
        if (!s->seen) {
            auth__session_drop(a, s, 0);
            gone++;
        }
    }
    if (gone) vg_info(&a->ctx->log, "%zu sessions were revoked by another process", gone);
}

void auth__sessions_purge(auth_t *a)
{
    auth__sync(a);
    int64_t now = auth__now(a);
    size_t n = 0;
    int tx = auth__sql(a->ctx, a->st, "BEGIN") == 0;
    while (a->lru && auth__idle(a, a->lru, now)) {
        auth__session_drop(a, a->lru, 1);
        n++;
    }
    /* Rows of live sessions lag memory by less than AUTH__TOUCH_MS; older ones are dead. */
    int rows = store_session_purge(a->st, now - a->ctx->cfg.session_idle_s * 1000 - AUTH__TOUCH_MS);
    if (tx) auth__sql(a->ctx, a->st, "COMMIT");
    if (n || rows > 0)
        vg_debug(&a->ctx->log, "purged %zu idle sessions", n + (size_t)(rows > 0 ? rows : 0));
}

void auth__sessions_flush(auth_t *a)
{
    int tx = auth__sql(a->ctx, a->st, "BEGIN") == 0;
    for (auth__session_t *s = a->mru; s; s = s->next)
        if (s->last_used_ms > s->stored_ms &&
            store_session_touch(a->st, s->hash, s->last_used_ms) == 0)
            s->stored_ms = s->last_used_ms;
    if (tx) auth__sql(a->ctx, a->st, "COMMIT");
}

void auth__sessions_free(auth_t *a)
{
    for (auth__session_t *s = a->mru, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    free(a->buckets);
    a->buckets = NULL;
    a->mru = a->lru = NULL;
    a->nbuckets = a->nsessions = 0;
}

size_t auth__session_count(const auth_t *a)
{
    return a->nsessions;
}
