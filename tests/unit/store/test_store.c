/* test_store.c: unit tests of the store against a real SQLite file in a temporary directory:
 * migrations, reopening, refusing a newer schema, pragmas, users and sessions. */
#include "vg_test.h"

#include "core/error.h"
#include "store/store.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    char dir[64];
    char path[128];
    char *log;
    size_t loglen;
} fx_t;

static void fx_init(fx_t *f)
{
    vg_config_t cfg;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&cfg);
    snprintf(f->dir, sizeof f->dir, "/tmp/verge-store-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof f->path, "%s/verge.db", f->dir);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, &cfg), 0);
    /* Capture the log, so that tests can check what the store said. */
    f->ctx.log.out = open_memstream(&f->log, &f->loglen);
    f->ctx.log.color = 0;
}

static void fx_close(fx_t *f)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[160];
    fclose(f->ctx.log.out);
    free(f->log);
    vg_ctx_close(&f->ctx);
    uv_loop_close(&f->loop);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static const char *fx_log(fx_t *f)
{
    fflush(f->ctx.log.out);
    return f->log ? f->log : "";
}

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static store_user_t make_user(const char *name, const char *perms)
{
    store_user_t u;
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "%s", name);
    snprintf(u.perms, sizeof u.perms, "%s", perms);
    for (int i = 0; i < 16; i++)
        u.salt[i] = (uint8_t)i;
    for (int i = 0; i < 32; i++)
        u.hash[i] = (uint8_t)(100 + i);
    u.iterations = 100000;
    u.default_password = 1;
    u.created_ms = 1000;
    u.updated_ms = 2000;
    return u;
}

static store_session_t make_session(uint8_t tag, const char *user, int64_t last_used)
{
    store_session_t s;
    memset(&s, 0, sizeof s);
    memset(s.token_hash, tag, sizeof s.token_hash);
    snprintf(s.user, sizeof s.user, "%s", user);
    s.created_ms = 10;
    s.last_used_ms = last_used;
    return s;
}

typedef struct seen {
    int n;
    store_session_t rows[8];
} seen_t;

static void collect(void *data, const store_session_t *s)
{
    seen_t *seen = data;
    if (seen->n < 8) seen->rows[seen->n] = *s;
    seen->n++;
}

static seen_t sessions_of(store_t *st)
{
    seen_t seen;
    memset(&seen, 0, sizeof seen);
    CHECK_EQ_INT(store_session_each(st, collect, &seen), 0);
    return seen;
}

static int64_t pragma_int(store_t *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void test_migrations_run_once(void)
{
    fx_t f;
    store_t *st = NULL;
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_schema_version(st), 2);
    CHECK_EQ_INT(store_user_count(st), 0);
    store_close(st);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_schema_version(st), 2);
    CHECK_EQ_INT(pragma_int(st, "PRAGMA user_version"), 2);
    CHECK_EQ_INT(pragma_int(st, "SELECT count(*) FROM schema_versions"), 0);
    store_close(st);
    CHECK_EQ_INT(count_substr(fx_log(&f), "applied migration 1"), 1);
    CHECK_EQ_INT(count_substr(fx_log(&f), "applied migration 2"), 1);
    fx_close(&f);
}

static void test_pragmas_and_checkpoint(void)
{
    fx_t f;
    store_t *st = NULL;
    char wal[160];
    struct stat sb;
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    sqlite3_stmt *s = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(store_db(st), "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(s), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    CHECK_EQ_INT(pragma_int(st, "PRAGMA foreign_keys"), 1);
    CHECK_EQ_INT(pragma_int(st, "PRAGMA synchronous"), 1); /* NORMAL */
    CHECK_EQ_INT(pragma_int(st, "PRAGMA busy_timeout"), 5000);
    store_user_t u = make_user("alice", "[]");
    CHECK_EQ_INT(store_user_put(st, &u), 0);
    store_close(st);
    /* After close the WAL is checkpointed: gone or empty. */
    snprintf(wal, sizeof wal, "%s-wal", f.path);
    CHECK(stat(wal, &sb) != 0 || sb.st_size == 0);
    fx_close(&f);
}

static void test_newer_schema_refused(void)
{
    fx_t f;
    store_t *st = NULL;
    sqlite3 *db = NULL;
    fx_init(&f);
    CHECK_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    st = (store_t *)&f; /* must stay untouched */
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), VG_EDB);
    CHECK(st == (store_t *)&f);
    CHECK(strstr(fx_log(&f), "schema version 99") != NULL);
    CHECK(strstr(fx_log(&f), "newer verge") != NULL);
    fx_close(&f);
}

static void test_open_failure(void)
{
    fx_t f;
    store_t *st = NULL;
    char bad[160];
    fx_init(&f);
    snprintf(bad, sizeof bad, "%s/missing/dir/verge.db", f.dir);
    CHECK_EQ_INT(store_open(&f.ctx, bad, &st), VG_EDB);
    CHECK(strstr(fx_log(&f), "cannot open the database") != NULL);
    fx_close(&f);
}

static void test_users(void)
{
    fx_t f;
    store_t *st = NULL;
    store_user_t u = make_user("alice", "[\"*\"]"), got;
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_user_get(st, "alice", &got), VG_ENOENT);
    CHECK_EQ_INT(store_user_put(st, &u), 0);
    CHECK_EQ_INT(store_user_get(st, "alice", &got), 0);
    CHECK_EQ_STR(got.name, "alice");
    CHECK_EQ_STR(got.perms, "[\"*\"]");
    CHECK(memcmp(got.salt, u.salt, 16) == 0);
    CHECK(memcmp(got.hash, u.hash, 32) == 0);
    CHECK_EQ_INT(got.iterations, 100000);
    CHECK_EQ_INT(got.default_password, 1);
    CHECK_EQ_INT(got.created_ms, 1000);
    CHECK_EQ_INT(got.updated_ms, 2000);

    /* Replacing keeps created_ms and the user's sessions. */
    store_session_t s = make_session(1, "alice", 50);
    CHECK_EQ_INT(store_session_insert(st, &s), 0);
    u = make_user("alice", "[\"/thing/device/count\"]");
    u.created_ms = 5;
    u.updated_ms = 3000;
    u.default_password = 0;
    CHECK_EQ_INT(store_user_put(st, &u), 0);
    CHECK_EQ_INT(store_user_get(st, "alice", &got), 0);
    CHECK_EQ_STR(got.perms, "[\"/thing/device/count\"]");
    CHECK_EQ_INT(got.created_ms, 1000);
    CHECK_EQ_INT(got.updated_ms, 3000);
    CHECK_EQ_INT(got.default_password, 0);
    CHECK_EQ_INT(sessions_of(st).n, 1);

    u = make_user("bob", "[]");
    CHECK_EQ_INT(store_user_put(st, &u), 0);
    CHECK_EQ_INT(store_user_count(st), 2);
    CHECK_EQ_INT(
        store_user_get(st, "a-name-that-is-far-too-long-to-be-a-user-name-in-verge-at-all-x", &got),
        VG_ENOENT);

    /* Data survives a reopen. */
    store_close(st);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_user_count(st), 2);
    CHECK_EQ_INT(store_user_delete(st, "alice"), 0);
    CHECK_EQ_INT(store_user_delete(st, "alice"), VG_ENOENT);
    CHECK_EQ_INT(store_user_count(st), 1);
    CHECK_EQ_INT(sessions_of(st).n, 0); /* cascaded */

    /* A row without a usable password record reads as iterations 0. */
    CHECK_EQ_INT(sqlite3_exec(store_db(st), "UPDATE users SET salt = NULL WHERE name = 'bob'", NULL,
                              NULL, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(store_user_get(st, "bob", &got), 0);
    CHECK_EQ_INT(got.iterations, 0);
    store_close(st);
    fx_close(&f);
}

static void test_sessions(void)
{
    fx_t f;
    store_t *st = NULL;
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    store_user_t a = make_user("alice", "[]"), b = make_user("bob", "[]");
    CHECK_EQ_INT(store_user_put(st, &a), 0);
    CHECK_EQ_INT(store_user_put(st, &b), 0);
    store_session_t s1 = make_session(1, "alice", 300), s2 = make_session(2, "alice", 100),
                    s3 = make_session(3, "bob", 200), bad = make_session(4, "nobody", 1);
    CHECK_EQ_INT(store_session_insert(st, &s1), 0);
    CHECK_EQ_INT(store_session_insert(st, &s2), 0);
    CHECK_EQ_INT(store_session_insert(st, &s3), 0);
    CHECK_EQ_INT(store_session_insert(st, &s1), VG_EDB);  /* duplicate */
    CHECK_EQ_INT(store_session_insert(st, &bad), VG_EDB); /* no such user */

    seen_t seen = sessions_of(st);
    CHECK_EQ_INT(seen.n, 3);
    CHECK_EQ_INT(seen.rows[0].token_hash[0], 2); /* oldest first */
    CHECK_EQ_STR(seen.rows[0].user, "alice");
    CHECK_EQ_INT(seen.rows[0].created_ms, 10);
    CHECK_EQ_INT(seen.rows[0].last_used_ms, 100);
    CHECK_EQ_INT(seen.rows[2].token_hash[0], 1);

    /* touch only moves forward; a missing session is not an error */
    CHECK_EQ_INT(store_session_touch(st, s2.token_hash, 400), 0);
    CHECK_EQ_INT(store_session_touch(st, s2.token_hash, 50), 0);
    CHECK_EQ_INT(store_session_touch(st, bad.token_hash, 50), 0);
    seen = sessions_of(st);
    CHECK_EQ_INT(seen.rows[2].token_hash[0], 2);
    CHECK_EQ_INT(seen.rows[2].last_used_ms, 400);

    CHECK_EQ_INT(store_session_purge(st, 250), 1); /* s3 (200) */
    CHECK_EQ_INT(store_session_purge(st, 250), 0);
    CHECK_EQ_INT(sessions_of(st).n, 2);
    CHECK_EQ_INT(store_session_delete(st, s1.token_hash), 0);
    CHECK_EQ_INT(store_session_delete(st, s1.token_hash), 0);
    CHECK_EQ_INT(sessions_of(st).n, 1);
    CHECK_EQ_INT(store_session_insert(st, &s3), 0);
    CHECK_EQ_INT(store_session_delete_user(st, "alice"), 0);
    seen = sessions_of(st);
    CHECK_EQ_INT(seen.n, 1);
    CHECK_EQ_STR(seen.rows[0].user, "bob");
    CHECK_EQ_INT(store_user_delete(st, "bob"), 0);
    CHECK_EQ_INT(sessions_of(st).n, 0);
    store_close(st);
    fx_close(&f);
}

static int64_t component_version(store_t *st, const char *component)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT coalesce((SELECT version FROM schema_versions WHERE "
                              "component = '%s'), 0)", component);
    return pragma_int(st, sql);
}

static void test_component_migrations(void)
{
    fx_t f;
    store_t *st = NULL;
    static const store_migration_t v1[] = {
        {1, "CREATE TABLE widgets(id INTEGER PRIMARY KEY, name TEXT)"},
    };
    static const store_migration_t v2[] = {
        {1, "CREATE TABLE widgets(id INTEGER PRIMARY KEY, name TEXT)"},
        {2, "ALTER TABLE widgets ADD COLUMN color TEXT; INSERT INTO widgets(name) VALUES('w')"},
    };
    static const store_migration_t other[] = {
        {1, "CREATE TABLE gadgets(id INTEGER PRIMARY KEY)"},
    };
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_migrate(st, "widgets", v1, 1), 0);
    CHECK_EQ_INT(component_version(st, "widgets"), 1);
    CHECK_EQ_INT(store_migrate(st, "widgets", v1, 1), 0); /* nothing to do the second time */
    CHECK_EQ_INT(store_migrate(st, "gadgets", other, 1), 0);
    CHECK_EQ_INT(component_version(st, "gadgets"), 1);
    store_close(st);

    /* A later verge adds step 2; only step 2 runs. */
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    CHECK_EQ_INT(store_migrate(st, "widgets", v2, 2), 0);
    CHECK_EQ_INT(component_version(st, "widgets"), 2);
    CHECK_EQ_INT(pragma_int(st, "SELECT count(*) FROM widgets WHERE color IS NULL"), 1);
    CHECK_EQ_INT(count_substr(fx_log(&f), "applied migration widgets/1"), 1);
    CHECK_EQ_INT(count_substr(fx_log(&f), "applied migration widgets/2"), 1);
    CHECK_EQ_INT(count_substr(fx_log(&f), "applied migration gadgets/1"), 1);

    /* An older verge (knowing only step 1) refuses the newer tables. */
    CHECK_EQ_INT(store_migrate(st, "widgets", v1, 1), VG_EDB);
    CHECK(strstr(fx_log(&f), "tables of widgets have schema version 2") != NULL);
    CHECK(strstr(fx_log(&f), "knows versions up to 1") != NULL);
    CHECK_EQ_INT(component_version(st, "widgets"), 2);
    store_close(st);
    fx_close(&f);
}

static void test_component_migration_failure(void)
{
    fx_t f;
    store_t *st = NULL;
    static const store_migration_t bad[] = {
        {1, "CREATE TABLE a(x INTEGER)"},
        {2, "CREATE TABLE b(x INTEGER); INSERT INTO nowhere VALUES(1)"},
    };
    static const store_migration_t gap[] = {
        {1, "CREATE TABLE c(x INTEGER)"},
        {3, "CREATE TABLE d(x INTEGER)"},
    };
    fx_init(&f);
    CHECK_EQ_INT(store_open(&f.ctx, f.path, &st), 0);
    /* Step 1 commits; step 2 fails and is rolled back as a whole (table b is not left). */
    CHECK_EQ_INT(store_migrate(st, "ab", bad, 2), VG_EDB);
    CHECK_EQ_INT(component_version(st, "ab"), 1);
    CHECK_EQ_INT(pragma_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'a'"), 1);
    CHECK_EQ_INT(pragma_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
    CHECK(strstr(fx_log(&f), "migration ab/2 failed") != NULL);
    /* Malformed lists are refused before anything runs. */
    CHECK_EQ_INT(store_migrate(st, "cd", gap, 2), VG_EINVAL);
    CHECK_EQ_INT(pragma_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'c'"), 0);
    CHECK_EQ_INT(store_migrate(st, "", gap, 1), VG_EINVAL);
    CHECK_EQ_INT(store_migrate(st, "cd", gap, 0), VG_EINVAL);
    store_close(st);
    fx_close(&f);
}

static void test_close_null(void)
{
    store_close(NULL);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_migrations_run_once)
    VG_TEST(test_pragmas_and_checkpoint)
    VG_TEST(test_newer_schema_refused)
    VG_TEST(test_open_failure)
    VG_TEST(test_users)
    VG_TEST(test_sessions)
    VG_TEST(test_component_migrations)
    VG_TEST(test_component_migration_failure)
    VG_TEST(test_close_null)
)
/* clang-format on */
