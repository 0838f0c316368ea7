/* test_auth.c: unit tests of auth on a real uv loop and a real SQLite store: the first admin,
 * logins and sessions (idle expiry, persistence, eviction), lockout, the default-password rule,
 * the Basic cache, permissions and changes made by another connection (`verge passwd`). */
#include "vg_test.h"

#include "auth/auth.h"
#include "auth/auth_int.h"
#include "core/error.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    store_t *st;
    auth_t *auth;
    int64_t now; /* the fake clock, once fx_fake_clock ran */
    char dir[64];
    char path[128];
} fx_t;

static int64_t fake_now(void *data)
{
    return *(const int64_t *)data;
}

static void fx_open(fx_t *f, const vg_config_t *cfg)
{
    vg_config_t def;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&def);
    snprintf(f->dir, sizeof f->dir, "/tmp/verge-auth-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof f->path, "%s/verge.db", f->dir);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, cfg ? cfg : &def), 0);
    f->ctx.log.level = VG_LOG_ERROR;
    CHECK_EQ_INT(store_open(&f->ctx, f->path, &f->st), 0);
    CHECK_EQ_INT(auth_create(&f->ctx, f->st, &f->auth), 0);
}

static void fx_fake_clock(fx_t *f, int64_t now)
{
    f->now = now;
    auth__set_clock(f->auth, fake_now, &f->now);
}

static void fx_restart(fx_t *f)
{
    auth_destroy(f->auth);
    f->auth = NULL;
    CHECK_EQ_INT(auth_create(&f->ctx, f->st, &f->auth), 0);
}

static void fx_close(fx_t *f)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[160];
    auth_destroy(f->auth);
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* close callbacks */
    CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
    vg_ctx_close(&f->ctx);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct waiter {
    int called, returned, early;
    auth_result_t res;
} waiter_t;

static void on_result(void *data, const auth_result_t *res)
{
    waiter_t *w = data;
    if (!w->returned) w->early = 1;
    w->called++;
    w->res = *res;
}

static void start(fx_t *f, int basic, const char *user, const char *pw, const char *ip, int lo,
                  waiter_t *w)
{
    memset(w, 0, sizeof *w);
    if (basic)
        auth_basic(f->auth, user, pw, ip, lo, on_result, w);
    else
        auth_login(f->auth, user, pw, ip, lo, on_result, w);
    w->returned = 1;
    CHECK_EQ_INT(w->called, 0); /* never synchronous */
}

/* One login or Basic check, run to its answer; *ms gets how long it took. */
static auth_result_t check_ms(fx_t *f, int basic, const char *user, const char *pw, const char *ip,
                              int lo, uint64_t *ms)
{
    waiter_t w;
    uint64_t t0 = uv_hrtime();
    start(f, basic, user, pw, ip, lo, &w);
    CHECK_EQ_INT(auth_pending(f->auth), 1);
    while (!w.called)
        uv_run(&f->loop, UV_RUN_ONCE);
    if (ms) *ms = (uv_hrtime() - t0) / 1000000;
    CHECK(!w.early);
    CHECK_EQ_INT(w.called, 1);
    CHECK_EQ_INT(auth_pending(f->auth), 0);
    return w.res;
}

static auth_result_t login(fx_t *f, const char *user, const char *pw, const char *ip, int lo)
{
    return check_ms(f, 0, user, pw, ip, lo, NULL);
}

static auth_result_t basic(fx_t *f, const char *user, const char *pw, const char *ip, int lo)
{
    return check_ms(f, 1, user, pw, ip, lo, NULL);
}

static double failures(fx_t *f, const char *reason)
{
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    vg_series_t *s = vg_metrics_series(f->ctx.metrics, "verge_auth_login_failures_total", labels);
    return s ? s->value : -1;
}

static int check_token(fx_t *f, const char *token)
{
    char user[STORE_NAME_MAX] = "";
    return auth_session_check(f->auth, token, user);
}

/* Stores a session whose raw token is 32 bytes of `tag`; writes the token's hex into `token`. */
static void put_session(store_t *st, uint8_t tag, const char *user, int64_t last_used,
                        char token[AUTH_TOKEN_HEX])
{
    uint8_t raw[32];
    store_session_t s;
    memset(&s, 0, sizeof s);
    memset(raw, tag, sizeof raw);
    CHECK_EQ_INT(auth__sha256(raw, sizeof raw, s.token_hash), 0);
    snprintf(s.user, sizeof s.user, "%s", user);
    s.created_ms = s.last_used_ms = last_used;
    CHECK_EQ_INT(store_session_insert(st, &s), 0);
    for (int i = 0; i < 32; i++)
        snprintf(token + 2 * i, 3, "%02x", tag);
}

typedef struct rows {
    int n;
    int64_t last_used[8];
    uint8_t tag[8];
} rows_t;

static void collect(void *data, const store_session_t *s)
{
    rows_t *r = data;
    if (r->n < 8) {
        r->last_used[r->n] = s->last_used_ms;
        r->tag[r->n] = s->token_hash[0];
    }
    r->n++;
}

static rows_t rows_of(store_t *st)
{
    rows_t r;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(store_session_each(st, collect, &r), 0);
    return r;
}

/* The stored last use of the session whose raw token is all `tag`, or -1. */
static int64_t stored_last_use(store_t *st, uint8_t tag)
{
    uint8_t raw[32], hash[32];
    memset(raw, tag, sizeof raw);
    auth__sha256(raw, sizeof raw, hash);
    rows_t r = rows_of(st);
    for (int i = 0; i < r.n && i < 8; i++)
        if (r.tag[i] == hash[0]) return r.last_used[i];
    return -1;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_default_admin_and_login(void)
{
    fx_t f;
    store_user_t u;
    unsetenv("VERGE_ADMIN_PASSWORD");
    fx_open(&f, NULL);
    CHECK_EQ_INT(store_user_get(f.st, "admin", &u), 0);
    CHECK_EQ_INT(u.default_password, 1);
    CHECK_EQ_STR(u.perms, "[\"*\"]");
    CHECK_EQ_INT(u.iterations, 100000);

    auth_result_t r = login(&f, "admin", "admin1234", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.user, "admin");
    CHECK_EQ_INT(strlen(r.token), 64);
    CHECK_EQ_INT(strspn(r.token, "0123456789abcdef"), 64);
    char user[STORE_NAME_MAX] = "";
    CHECK_EQ_INT(auth_session_check(f.auth, r.token, user), 0);
    CHECK_EQ_STR(user, "admin");
    char upper[AUTH_TOKEN_HEX];
    for (int i = 0; i < AUTH_TOKEN_HEX; i++)
        upper[i] = (char)(r.token[i] >= 'a' ? r.token[i] - 32 : r.token[i]);
    CHECK_EQ_INT(check_token(&f, upper), 0);
    CHECK_EQ_INT(auth__session_count(f.auth), 1);
    CHECK_EQ_INT(rows_of(f.st).n, 1);

    /* malformed tokens */
    char bad[AUTH_TOKEN_HEX + 1];
    CHECK_EQ_INT(check_token(&f, ""), VG_EAUTH);
    CHECK_EQ_INT(check_token(&f, NULL), VG_EAUTH);
    snprintf(bad, sizeof bad, "%.63s", r.token);
    CHECK_EQ_INT(check_token(&f, bad), VG_EAUTH);
    snprintf(bad, sizeof bad, "%sa", r.token);
    CHECK_EQ_INT(check_token(&f, bad), VG_EAUTH);
    snprintf(bad, sizeof bad, "%.63sg", r.token);
    CHECK_EQ_INT(check_token(&f, bad), VG_EAUTH);

    /* logout revokes at once, in memory and in the store */
    CHECK_EQ_INT(auth_logout(f.auth, r.token), 0);
    CHECK_EQ_INT(check_token(&f, r.token), VG_EAUTH);
    CHECK_EQ_INT(auth_logout(f.auth, r.token), VG_EAUTH);
    CHECK_EQ_INT(rows_of(f.st).n, 0);

    /* the default password is refused from afar */
    r = login(&f, "admin", "admin1234", "192.168.1.20", 0);
    CHECK_EQ_INT(r.status, VG_EPERM);
    CHECK_EQ_STR(r.message, "the password of \"admin\" is still the default; it is accepted only "
                            "from loopback clients. Set a new one with: verge passwd admin");
    CHECK_EQ_STR(r.token, "");
    CHECK(failures(&f, "default_password") == 1);

    /* wrong password and unknown user: the same answer, and PBKDF2 ran for both */
    r = login(&f, "admin", "admin12345", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    CHECK_EQ_STR(r.message, "Invalid username or password");
    r = login(&f, "ghost", "admin1234", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    CHECK_EQ_STR(r.message, "Invalid username or password");
    CHECK_EQ_STR(r.token, "");
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), 4);
    CHECK(failures(&f, "password") == 2);
    fx_close(&f);
}

static void test_admin_password_from_env(void)
{
    fx_t f;
    store_user_t u, again;
    setenv("VERGE_ADMIN_PASSWORD", "correct horse battery", 1);
    fx_open(&f, NULL);
    CHECK_EQ_INT(store_user_get(f.st, "admin", &u), 0);
    CHECK_EQ_INT(u.default_password, 0);
    auth_result_t r = login(&f, "admin", "correct horse battery", "192.168.1.20", 0);
    CHECK_EQ_INT(r.status, 0);
    /* with users present, a restart creates nobody */
    setenv("VERGE_ADMIN_PASSWORD", "something else", 1);
    fx_restart(&f);
    unsetenv("VERGE_ADMIN_PASSWORD");
    CHECK_EQ_INT(store_user_count(f.st), 1);
    CHECK_EQ_INT(store_user_get(f.st, "admin", &again), 0);
    CHECK(memcmp(u.hash, again.hash, 32) == 0);
    CHECK_EQ_INT(check_token(&f, r.token), 0); /* sessions survive a restart */
    fx_close(&f);
}

static void test_lockout(void)
{
    fx_t f;
    vg_config_t cfg;
    uint64_t ms = 0;
    unsetenv("VERGE_ADMIN_PASSWORD");
    vg_config_defaults(&cfg);
    cfg.login_slowdown_after = 1;
    cfg.login_lockout_after = 2;
    cfg.login_lockout_s = 300;
    fx_open(&f, &cfg);
    fx_fake_clock(&f, 1700000000000);

    auth_result_t r = login(&f, "admin", "nope", "10.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    /* one failure: the next answer waits 250 ms; a success resets the counters */
    r = check_ms(&f, 0, "admin", "admin1234", "10.0.0.1", 1, &ms);
    CHECK_EQ_INT(r.status, 0);
    CHECK(ms >= 250);
    r = login(&f, "admin", "nope", "10.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    f.now += 1000;
    r = check_ms(&f, 0, "admin", "nope", "10.0.0.1", 1, &ms);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    CHECK(ms >= 250);

    /* locked: refused without PBKDF2, even with the right password */
    uint64_t runs = auth__pbkdf2_runs(f.auth);
    f.now += 3000;
    r = login(&f, "admin", "admin1234", "10.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    CHECK_EQ_INT(r.retry_after_s, 297);
    CHECK_EQ_STR(r.message, "too many failed logins for user \"admin\" or from 10.0.0.1; try "
                            "again in 297 s");
    r = login(&f, "nobody", "x", "10.0.0.1", 1); /* by address */
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    r = login(&f, "admin", "admin1234", "10.0.0.2", 1); /* by user */
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    r = basic(&f, "admin", "admin1234", "10.0.0.2", 1);
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    f.now += 100000;
    r = login(&f, "admin", "admin1234", "10.0.0.2", 1);
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    CHECK_EQ_INT(r.retry_after_s, 197);
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), runs);
    CHECK(failures(&f, "locked") == 5);

    /* failures are forgotten login_lockout_s after the latest */
    f.now += 197001;
    r = login(&f, "admin", "admin1234", "10.0.0.1", 1);
    CHECK_EQ_INT(r.status, 0);

    /* attempts in flight count: the third parallel guess is refused at once */
    waiter_t w[3];
    for (int i = 0; i < 3; i++)
        start(&f, 0, "x", "guess", "10.0.0.3", 0, &w[i]);
    while (!w[0].called || !w[1].called || !w[2].called)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_EQ_INT(w[0].res.status, VG_EAUTH);
    CHECK_EQ_INT(w[1].res.status, VG_EAUTH);
    CHECK_EQ_INT(w[2].res.status, VG_ELOCKED);
    CHECK_EQ_INT(w[2].res.retry_after_s, 1);
    r = login(&f, "x", "guess", "10.0.0.3", 0);
    CHECK_EQ_INT(r.status, VG_ELOCKED);
    CHECK_EQ_INT(r.retry_after_s, 300);
    fx_close(&f);
}

static void test_basic_cache_and_other_connection(void)
{
    fx_t f;
    store_t *st2 = NULL;
    char err[256];
    unsetenv("VERGE_ADMIN_PASSWORD");
    fx_open(&f, NULL);
    auth_result_t r = login(&f, "admin", "admin1234", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, 0);
    char token[AUTH_TOKEN_HEX];
    snprintf(token, sizeof token, "%s", r.token);

    r = basic(&f, "admin", "admin1234", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.user, "admin");
    CHECK_EQ_STR(r.token, ""); /* Basic creates no session */
    uint64_t runs = auth__pbkdf2_runs(f.auth);
    r = basic(&f, "admin", "admin1234", "127.0.0.1", 1); /* from the cache, still async */
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), runs);
    r = basic(&f, "admin", "admin1234", "192.168.1.20", 0); /* the cache keeps the rules */
    CHECK_EQ_INT(r.status, VG_EPERM);
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), runs);
    r = basic(&f, "admin", "admin1234x", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, VG_EAUTH);
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), runs + 1);

    /* `verge passwd` through another connection while the server runs */
    auth__set_sync_interval(f.auth, 0); /* the server looks once a second; here at once */
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st2), 0);
    CHECK_EQ_INT(auth_user_set(&f.ctx, st2, "admin", "n3w-Passw0rd", NULL, err, sizeof err), 0);
    CHECK_EQ_INT(check_token(&f, token), VG_EAUTH); /* revoked there, so here too */
    CHECK_EQ_INT(auth__session_count(f.auth), 0);
    r = basic(&f, "admin", "admin1234", "127.0.0.1", 1); /* the cached entry is stale */
    CHECK_EQ_INT(r.status, VG_EAUTH);
    CHECK_EQ_INT(auth__pbkdf2_runs(f.auth), runs + 2);
    r = basic(&f, "admin", "n3w-Passw0rd", "192.168.1.20", 0);
    CHECK_EQ_INT(r.status, 0);

    /* permissions, refreshed when another connection changes them */
    CHECK_EQ_INT(auth_user_set(&f.ctx, st2, "op", "op-password",
                               "[\"/thing/device/count\", \"/thing/device/property/*\"]", err,
                               sizeof err),
                 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/thing/device/count"), 1);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/thing/device/property/query"), 1);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/thing/device/countx"), 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/auth/logout"), 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "ghost", "/thing/device/count"), 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "admin", "/anything/at/all"), 1); /* perms kept */
    CHECK_EQ_INT(
        auth_user_set(&f.ctx, st2, "op", "op-password", "[\"/auth/logout\"]", err, sizeof err), 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/thing/device/count"), 0);
    CHECK_EQ_INT(auth_allowed(f.auth, "op", "/auth/logout"), 1);
    store_user_t u;
    CHECK_EQ_INT(store_user_get(f.st, "op", &u), 0);
    CHECK_EQ_INT(u.default_password, 0);
    store_close(st2);
    fx_close(&f);
}

static void test_user_set_validation(void)
{
    static const struct {
        const char *user, *password, *perms;
        int rc;
        const char *msg;
    } cases[] = {
        {"", "pw", NULL, VG_EINVAL, "user name \"\" is invalid"},
        {"bad name", "pw", NULL, VG_EINVAL, "user name \"bad name\" is invalid: use 1 to 63"},
        {"x123456789012345678901234567890123456789012345678901234567890123", "pw", NULL, VG_EINVAL,
         "is invalid"},
        {"op", "", NULL, VG_EINVAL, "the password of \"op\" has 0 bytes; it must have 1 to 1024"},
        {"op", "pw", "nope", VG_EINVAL, "permissions are not valid JSON"},
        {"op", "pw", "{}", VG_EINVAL, "permissions must be a JSON array"},
        {"op", "pw", "[\"/a\", 3]", VG_EINVAL, "permission 1 (3) must be \"*\" or an API path"},
        {"op", "pw", "[\"thing\"]", VG_EINVAL, "permission 0 (\"thing\")"},
        {"op", "pw", "[\"/a*b\"]", VG_EINVAL, "permission 0 (\"/a*b\")"},
    };
    fx_t f;
    char err[256], longpw[1100], longperms[2300];
    vg_config_t cfg;
    memset(&f, 0, sizeof f);
    vg_config_defaults(&cfg);
    snprintf(f.dir, sizeof f.dir, "/tmp/verge-auth-XXXXXX");
    CHECK(mkdtemp(f.dir) != NULL);
    snprintf(f.path, sizeof f.path, "%s/verge.db", f.dir);
    uv_loop_init(&f.loop);
    CHECK_EQ_INT(vg_ctx_init(&f.ctx, &f.loop, &cfg), 0);
    f.ctx.log.level = VG_LOG_ERROR;
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &f.st), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        CHECK_EQ_INT(auth_user_set(&f.ctx, f.st, cases[i].user, cases[i].password, cases[i].perms,
                                   err, sizeof err),
                     cases[i].rc);
        if (!strstr(err, cases[i].msg)) fprintf(stderr, "  case %zu: %s\n", i, err);
        CHECK(strstr(err, cases[i].msg) != NULL);
    }
    memset(longpw, 'p', 1025);
    longpw[1025] = '\0';
    CHECK_EQ_INT(auth_user_set(&f.ctx, f.st, "op", longpw, NULL, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "has 1025 bytes") != NULL);
    size_t n = (size_t)snprintf(longperms, sizeof longperms, "[");
    for (int i = 0; i < 160; i++)
        n += (size_t)snprintf(longperms + n, sizeof longperms - n, "%s\"/path/%04d\"", i ? "," : "",
                              i);
    snprintf(longperms + n, sizeof longperms - n, "]");
    CHECK_EQ_INT(auth_user_set(&f.ctx, f.st, "op", "pw", longperms, err, sizeof err), VG_ELIMIT);
    CHECK(strstr(err, "at most 2047") != NULL);
    CHECK_EQ_INT(store_user_count(f.st), 0);
    fx_close(&f);
}

static void test_sessions_idle_persistence_eviction(void)
{
    fx_t f;
    vg_config_t cfg;
    char t1[AUTH_TOKEN_HEX], t2[AUTH_TOKEN_HEX], t3[AUTH_TOKEN_HEX], t4[AUTH_TOKEN_HEX];
    unsetenv("VERGE_ADMIN_PASSWORD");
    vg_config_defaults(&cfg);
    cfg.session_idle_s = 100;
    cfg.session_max = 2;
    fx_open(&f, &cfg);
    int64_t T = vg_time_ms();
    put_session(f.st, 1, "admin", T - 1000000, t1); /* long idle */
    put_session(f.st, 2, "admin", T - 50000, t2);
    put_session(f.st, 3, "admin", T - 40000, t3);
    put_session(f.st, 4, "admin", T - 30000, t4);
    fx_restart(&f); /* loads: t1 expired, t2 evicted (session_max 2, least recently used) */
    CHECK_EQ_INT(auth__session_count(f.auth), 2);
    CHECK_EQ_INT(rows_of(f.st).n, 2);
    fx_fake_clock(&f, T);
    CHECK_EQ_INT(check_token(&f, t1), VG_EAUTH);
    CHECK_EQ_INT(check_token(&f, t2), VG_EAUTH);
    CHECK_EQ_INT(check_token(&f, t3), 0);
    CHECK_EQ_INT(check_token(&f, t4), 0);
    CHECK_EQ_INT(stored_last_use(f.st, 3), T - 40000); /* a use 40 s later is not written */

    f.now = T + 50000; /* idle 90 s: still valid, and the store learns of it */
    CHECK_EQ_INT(check_token(&f, t3), 0);
    CHECK_EQ_INT(stored_last_use(f.st, 3), T + 50000);
    f.now = T + 80000;
    CHECK_EQ_INT(check_token(&f, t3), 0);
    CHECK_EQ_INT(stored_last_use(f.st, 3), T + 50000);

    /* auth_destroy flushes the last uses; a restart finds the sessions again */
    fx_restart(&f);
    CHECK_EQ_INT(stored_last_use(f.st, 3), T + 80000);
    CHECK_EQ_INT(stored_last_use(f.st, 4), T);
    CHECK_EQ_INT(auth__session_count(f.auth), 2);
    fx_fake_clock(&f, T + 90000);
    CHECK_EQ_INT(check_token(&f, t4), 0);
    CHECK_EQ_INT(check_token(&f, t3), 0); /* t4 is now the least recently used */

    /* a new session beyond session_max evicts the least recently used one */
    auth_result_t r = login(&f, "admin", "admin1234", "127.0.0.1", 1);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_INT(auth__session_count(f.auth), 2);
    CHECK_EQ_INT(check_token(&f, t4), VG_EAUTH);
    CHECK_EQ_INT(stored_last_use(f.st, 4), -1);
    CHECK_EQ_INT(check_token(&f, r.token), 0);

    /* idle longer than session_idle_s: refused and deleted */
    f.now = T + 90000 + 100001;
    CHECK_EQ_INT(check_token(&f, t3), VG_EAUTH);
    CHECK_EQ_INT(stored_last_use(f.st, 3), -1);
    CHECK_EQ_INT(auth__session_count(f.auth), 1);

    /* the sweep removes what nobody asks for any more */
    f.now += 1000;
    auth__sessions_purge(f.auth);
    CHECK_EQ_INT(auth__session_count(f.auth), 0);
    CHECK_EQ_INT(rows_of(f.st).n, 0);
    fx_close(&f);
}

static void test_destroy_while_pending(void)
{
    fx_t f;
    waiter_t w;
    unsetenv("VERGE_ADMIN_PASSWORD");
    fx_open(&f, NULL);
    start(&f, 0, "admin", "admin1234", "127.0.0.1", 1, &w);
    CHECK_EQ_INT(auth_pending(f.auth), 1);
    auth_destroy(f.auth);
    f.auth = NULL;
    store_close(f.st); /* the answer must not touch the store any more */
    f.st = NULL;
    while (!w.called)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_EQ_INT(w.res.status, VG_ECANCELED);
    CHECK_EQ_STR(w.res.token, "");
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_default_admin_and_login)
    VG_TEST(test_admin_password_from_env)
    VG_TEST(test_lockout)
    VG_TEST(test_basic_cache_and_other_connection)
    VG_TEST(test_user_set_validation)
    VG_TEST(test_sessions_idle_persistence_eviction)
    VG_TEST(test_destroy_while_pending)
)
/* clang-format on */
