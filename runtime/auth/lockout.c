/* lockout.c: brute-force protection. Failed logins are counted per client address and per user
 * name in a bounded table; from login_slowdown_after failures on answers are delayed, from
 * login_lockout_after on attempts are refused without PBKDF2 until the failures are forgotten. */
#define VG_LOG_MODULE "auth"
#include "auth/auth_int.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH__SLOWDOWN_BASE_MS 250
#define AUTH__SLOWDOWN_MAX_MS  5000

static uint64_t auth__fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211u;
    return h;
}

/* Makes room for `n` more records without moving them (so two lookups in a row stay valid). */
static void auth__fail_reserve(auth_t *a, size_t n)
{
    if (a->nfails + n <= a->capfails || a->capfails == AUTH__FAILS_MAX) return;
    size_t cap = a->capfails ? a->capfails * 2 : 64;
    cap = cap < AUTH__FAILS_MAX ? cap : AUTH__FAILS_MAX;
    auth__fail_t *f = realloc(a->fails, cap * sizeof *f);
    if (!f) return; /* lookups below fall back to reusing records */
    a->fails = f;
    a->capfails = cap;
}

/* 1 when `x` should make room before `y`: idle records first, then the longest unfailed. */
static int auth__staler(const auth__fail_t *x, const auth__fail_t *y)
{
    if ((x->count > 0) != (y->count > 0)) return x->count == 0;
    return x->last_ms < y->last_ms;
}

/* Finds the record for `key`, forgetting its failures when the latest is older than the
 * lockout period. With `create`, makes a missing one, reusing the stalest record not in flight
 * when the table is full. Returns NULL when there is none (or no room). */
static auth__fail_t *auth__fail_get(auth_t *a, const char *key, int create)
{
    uint64_t h = auth__fnv1a(key);
    int64_t now = auth__now(a), window = a->ctx->cfg.login_lockout_s * 1000;
    auth__fail_t *victim = NULL;
    for (size_t i = 0; i < a->nfails; i++) {
        auth__fail_t *f = &a->fails[i];
        if (f->count > 0 && now - f->last_ms > window) f->count = 0;
        if (f->key_hash == h && strcmp(f->key, key) == 0) return f;
        if (f->inflight == 0 && (!victim || auth__staler(f, victim))) victim = f;
    }
    if (!create) return NULL;
    if (a->nfails < a->capfails) victim = &a->fails[a->nfails++];
    if (!victim) return NULL;
    memset(victim, 0, sizeof *victim);
    victim->key_hash = h;
    snprintf(victim->key, sizeof victim->key, "%s", key);
    return victim;
}

/* Looks up (creating with `create`) the records of `user` and `peer`; rec[i] may be NULL. */
static void auth__fail_pair(auth_t *a, const char *user, const char *peer, int create,
                            auth__fail_t *rec[2])
{
    char ukey[AUTH__KEY_MAX], akey[AUTH__KEY_MAX];
    snprintf(ukey, sizeof ukey, "u:%s", user);
    snprintf(akey, sizeof akey, "a:%s", peer);
    auth__fail_reserve(a, 2);
    rec[0] = auth__fail_get(a, ukey, create);
    if (rec[0]) rec[0]->inflight++; /* so that the second lookup cannot reuse it */
    rec[1] = auth__fail_get(a, akey, create);
    if (rec[0]) rec[0]->inflight--;
}

/* min(2^steps * 250 ms, 5 s) */
static int64_t auth__slowdown(int64_t steps)
{
    int64_t d = AUTH__SLOWDOWN_BASE_MS;
    for (int64_t i = 0; i < steps && d < AUTH__SLOWDOWN_MAX_MS; i++)
        d *= 2;
    return d < AUTH__SLOWDOWN_MAX_MS ? d : AUTH__SLOWDOWN_MAX_MS;
}

int auth__lock_begin(auth_t *a, const char *user, const char *peer, auth_result_t *res,
                     int64_t *delay_ms)
{
    const vg_config_t *cfg = &a->ctx->cfg;
    int64_t now = auth__now(a), window = cfg->login_lockout_s * 1000, until = 0;
    int64_t failures = 0, attempts = 0;
    auth__fail_t *rec[2];
    auth__fail_pair(a, user, peer, 1, rec);
    for (int i = 0; i < 2; i++) {
        if (!rec[i]) continue;
        if (rec[i]->count > failures) failures = rec[i]->count;
        if (rec[i]->count + rec[i]->inflight > attempts)
            attempts = rec[i]->count + rec[i]->inflight;
        if (rec[i]->count >= cfg->login_lockout_after && rec[i]->last_ms + window > until)
            until = rec[i]->last_ms + window;
    }
    /* Attempts in flight count too, so parallel guesses cannot outrun the lockout. */
    if (attempts >= cfg->login_lockout_after) {
        int64_t left = until - now;
        res->status = VG_ELOCKED;
        res->retry_after_s = left > 0 ? (int)((left + 999) / 1000) : 1;
        snprintf(res->message, sizeof res->message,
                 "too many failed logins for user \"%s\" or from %s; try again in %d s", user, peer,
                 res->retry_after_s);
        return VG_ELOCKED;
    }
    *delay_ms = failures >= cfg->login_slowdown_after
                    ? auth__slowdown(failures - cfg->login_slowdown_after)
                    : 0;
    for (int i = 0; i < 2; i++)
        if (rec[i]) rec[i]->inflight++;
    return 0;
}

void auth__lock_end(auth_t *a, const char *user, const char *peer, auth__attempt_t outcome)
{
    int64_t now = auth__now(a);
    auth__fail_t *rec[2];
    auth__fail_pair(a, user, peer, outcome == AUTH__ATTEMPT_FAILED, rec);
    for (int i = 0; i < 2; i++) {
        auth__fail_t *f = rec[i];
        if (!f) continue;
        if (f->inflight > 0) f->inflight--;
        if (outcome == AUTH__ATTEMPT_OK) f->count = 0;
        if (outcome == AUTH__ATTEMPT_FAILED) {
            f->count++;
            f->last_ms = now;
        }
    }
}

void auth__lock_free(auth_t *a)
{
    free(a->fails);
    a->fails = NULL;
    a->nfails = a->capfails = 0;
}
