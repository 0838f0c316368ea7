/* users.c: users as auth sees them: setting passwords and permissions with clear errors
 * (auth_user_set, for the CLI and the first start), creating the first admin, and answering
 * auth_allowed from a small cache of parsed permission lists. */
#define VG_LOG_MODULE "auth"
#include "auth/auth_int.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH__NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define AUTH__PERMS_HINT "\"*\" or an API path starting with '/' (a final '*' matches any rest)"

static int auth__err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int auth__err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* 1 when `p` is "*" or an API path: "/..." with '*' at most as its last character. */
static int auth__perm_valid(const char *p)
{
    const char *star = strchr(p, '*');
    return strcmp(p, "*") == 0 || (p[0] == '/' && (!star || star[1] == '\0'));
}

/* The index of the first element of the array `perms` that is not a valid permission, or
 * SIZE_MAX when all are. */
static size_t auth__perms_bad(const json_t *perms)
{
    size_t i;
    json_t *v;
    json_array_foreach(perms, i, v)
    {
        if (!json_is_string(v) || !auth__perm_valid(json_string_value(v))) return i;
    }
    return SIZE_MAX;
}

static int auth__perm_match(const char *perm, const char *path)
{
    size_t n = strlen(perm);
    if (n > 0 && perm[n - 1] == '*') return strncmp(perm, path, n - 1) == 0;
    return strcmp(perm, path) == 0;
}

/* Validates `json` and writes its compact form into `out`. Returns 0 or VG_EINVAL/VG_ELIMIT. */
static int auth__perms_parse(const char *json, char out[STORE_PERMS_MAX], char *err, size_t errlen)
{
    json_error_t je;
    json_t *arr = json_loads(json, 0, &je);
    if (!arr)
        return auth__err(err, errlen, VG_EINVAL,
                         "permissions are not valid JSON: %s (line %d, column %d)", je.text,
                         je.line, je.column);
    int rc = 0;
    size_t bad = SIZE_MAX;
    char *txt = NULL;
    if (!json_is_array(arr)) {
        rc = auth__err(err, errlen, VG_EINVAL,
                       "permissions must be a JSON array of API paths, like "
                       "[\"/thing/device/count\"], or [\"*\"] for every API");
    } else if ((bad = auth__perms_bad(arr)) != SIZE_MAX) {
        txt = json_dumps(json_array_get(arr, bad), JSON_ENCODE_ANY | JSON_COMPACT);
        rc = auth__err(err, errlen, VG_EINVAL, "permission %zu (%.60s) must be " AUTH__PERMS_HINT,
                       bad, txt ? txt : "?");
    } else if (!(txt = json_dumps(arr, JSON_COMPACT))) {
        rc = auth__err(err, errlen, VG_ENOMEM, "out of memory");
    } else if (strlen(txt) >= STORE_PERMS_MAX) {
        rc = auth__err(err, errlen, VG_ELIMIT,
                       "permissions take %zu bytes as JSON; at most %d are allowed", strlen(txt),
                       STORE_PERMS_MAX - 1);
    } else {
        snprintf(out, STORE_PERMS_MAX, "%s", txt);
    }
    free(txt);
    json_decref(arr);
    return rc;
}

static int auth__salt(uint8_t salt[16])
{
    WC_RNG rng;
    if (wc_InitRng(&rng) != 0) return VG_EINTERNAL;
    int rc = wc_RNG_GenerateBlock(&rng, salt, 16);
    wc_FreeRng(&rng);
    return rc == 0 ? 0 : VG_EINTERNAL;
}

/* Writes `u` (perms kept from the existing user when `perms` is NULL) and revokes the user's
 * sessions, in one transaction. Returns 0 or VG_EDB. */
static int auth__user_save(vg_ctx_t *ctx, store_t *st, store_user_t *u, const char *perms)
{
    store_user_t old;
    int rc = auth__sql(ctx, st, "BEGIN IMMEDIATE");
    if (rc != 0) return rc;
    int got = store_user_get(st, u->name, &old);
    if (got != 0 && got != VG_ENOENT) rc = got;
    if (rc == 0) {
        snprintf(u->perms, sizeof u->perms, "%s", perms ? perms : got == 0 ? old.perms : "[]");
        u->created_ms = got == 0 ? old.created_ms : u->updated_ms;
        rc = store_user_put(st, u);
    }
    if (rc == 0) rc = store_session_delete_user(st, u->name);
    if (rc == 0) rc = auth__sql(ctx, st, "COMMIT");
    if (rc != 0) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    explicit_bzero(&old, sizeof old);
    return rc;
}

int auth_user_set(vg_ctx_t *ctx, store_t *st, const char *user, const char *password,
                  const char *perms_json, char *err, size_t errlen)
{
    char perms[STORE_PERMS_MAX];
    size_t n = strlen(user), pwlen = strlen(password);
    if (n == 0 || n >= STORE_NAME_MAX || strspn(user, AUTH__NAME_CHARS) != n)
        return auth__err(err, errlen, VG_EINVAL,
                         "user name \"%.80s\" is invalid: use 1 to %d characters from A-Z, a-z, "
                         "0-9, '.', '_' and '-'",
                         user, STORE_NAME_MAX - 1);
    if (pwlen == 0 || pwlen > AUTH__PASSWORD_MAX)
        return auth__err(err, errlen, VG_EINVAL,
                         "the password of \"%s\" has %zu bytes; it must have 1 to %d", user, pwlen,
                         AUTH__PASSWORD_MAX);
    int rc = perms_json ? auth__perms_parse(perms_json, perms, err, errlen) : 0;
    if (rc != 0) return rc;

    store_user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", user);
    u.iterations = (uint32_t)ctx->cfg.pbkdf2_iterations;
    u.default_password = strcmp(password, AUTH_DEFAULT_PASSWORD) == 0;
    u.updated_ms = vg_time_ms();
    if (auth__salt(u.salt) != 0 || auth_pbkdf2(password, u.salt, u.iterations, u.hash) != 0)
        return auth__err(err, errlen, VG_EINTERNAL,
                         "could not hash the password of \"%s\": wolfCrypt failed", user);
    rc = auth__user_save(ctx, st, &u, perms_json ? perms : NULL);
    explicit_bzero(&u, sizeof u);
    if (rc != 0)
        return auth__err(err, errlen, rc,
                         "could not save user \"%s\": database failure (details in the log)", user);
    vg_info(&ctx->log, "user \"%s\" saved; their sessions are revoked", user);
    return 0;
}

int auth__admin_ensure(auth_t *a)
{
    int n = store_user_count(a->st);
    if (n < 0) return n;
    if (n > 0) return 0;
    const char *env = getenv("VERGE_ADMIN_PASSWORD");
    int from_env = env && *env;
    char err[256];
    int rc = auth_user_set(a->ctx, a->st, "admin", from_env ? env : AUTH_DEFAULT_PASSWORD,
                           "[\"*\"]", err, sizeof err);
    if (rc != 0) {
        vg_error(&a->ctx->log, "cannot create the first user%s: %s",
                 from_env ? " from VERGE_ADMIN_PASSWORD" : "", err);
        return rc;
    }
    if (from_env)
        vg_info(&a->ctx->log, "created user \"admin\" with the password from VERGE_ADMIN_PASSWORD");
    else
        vg_warn(&a->ctx->log,
                "created user \"admin\" with the documented default password; it is accepted "
                "only from loopback clients until you set a new one with: verge passwd admin");
    return 0;
}

void auth__perms_flush(auth_t *a)
{
    for (size_t i = 0; i < a->nperms; i++)
        json_decref(a->perms[i].paths);
    a->nperms = 0;
}

/* The cached permissions of `user`, loading them on a miss; NULL when there is no such user. */
static const auth__perms_t *auth__perms_get(auth_t *a, const char *user)
{
    for (size_t i = 0; i < a->nperms; i++)
        if (strcmp(a->perms[i].user, user) == 0) return &a->perms[i];
    store_user_t u;
    if (store_user_get(a->st, user, &u) != 0) return NULL;
    if (a->nperms == AUTH__PERMS_MAX) auth__perms_flush(a);
    auth__perms_t *p = &a->perms[a->nperms++];
    snprintf(p->user, sizeof p->user, "%s", user);
    p->paths = json_loads(u.perms, 0, NULL);
    if (!json_is_array(p->paths) || auth__perms_bad(p->paths) != SIZE_MAX) {
        vg_warn(&a->ctx->log,
                "user \"%s\": stored permissions are not a JSON array of API "
                "paths; nothing is allowed",
                user);
        json_decref(p->paths);
        p->paths = NULL;
    }
    explicit_bzero(&u, sizeof u);
    return p;
}

int auth_allowed(auth_t *a, const char *user, const char *api_path)
{
    auth__sync(a);
    const auth__perms_t *p = auth__perms_get(a, user);
    if (!p || !p->paths) return 0;
    size_t i;
    json_t *v;
    json_array_foreach(p->paths, i, v)
    {
        if (auth__perm_match(json_string_value(v), api_path)) return 1;
    }
    return 0;
}
