/* test_table.c: the deployments table against a real SQLite file: rows and their JSON, the
 * commit that moves the running mark, what a restart after a kill finds (recover), the
 * previous good version, and retention of old versions' directories. */
#include "vg_test.h"

#include "core/error.h"
#include "deploy/deploy_int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    store_t *st;
    deploy_t d;
    char dir[64];
    FILE *devnull;
} fx_t;

static void fx_open(fx_t *f)
{
    vg_config_t cfg;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&cfg);
    snprintf(f->dir, sizeof f->dir, "/tmp/verge-deploy-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, &cfg), 0);
    f->devnull = fopen("/dev/null", "w");
    f->ctx.log.out = f->devnull;
    char path[128];
    snprintf(path, sizeof path, "%s/verge.db", f->dir);
    CHECK_EQ_INT(store_open(&f->ctx, path, &f->st), 0);
    f->d.ctx = &f->ctx;
    f->d.deps.ctx = &f->ctx;
    f->d.deps.store = f->st;
    snprintf(f->d.bundles_dir, sizeof f->d.bundles_dir, "%s/bundles", f->dir);
    CHECK_EQ_INT(deploy__table_open(&f->d), 0);
}

static void fx_close(fx_t *f)
{
    store_close(f->st);
    vg_ctx_close(&f->ctx);
    uv_loop_close(&f->loop);
    fclose(f->devnull);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    CHECK_EQ_INT(system(cmd), 0);
}

static int64_t fx_status(fx_t *f, int64_t id)
{
    json_t *o = deploy__row_json(&f->d, id, 0);
    int64_t s = o ? json_integer_value(json_object_get(o, "status")) : -1;
    json_decref(o);
    return s;
}

static void test_rows_and_json(void)
{
    fx_t f;
    fx_open(&f);
    CHECK(deploy__row_json(&f.d, 0, 1) == NULL); /* none yet */
    int64_t a = deploy__row_insert(&f.d, DEPLOY__UPLOAD, "admin", 0, NULL);
    CHECK_EQ_INT(a, 1);
    deploy__row_meta(&f.d, a, "demo", "1.0.0", "/x/bundles/1", 1234, 7);
    json_t *steps = json_pack("[{s:s,s:s}]", "step", "upload", "state", "ok");
    deploy__row_progress(&f.d, a, steps, "[\"bundle.json: x: bad\"]");
    json_decref(steps);
    json_t *o = deploy__row_json(&f.d, 0, 1);
    CHECK(o != NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(o, "id")), a);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "bundle")), "demo");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "version")), "1.0.0");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "statusText")), "deploying");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "origin")), "upload");
    CHECK_EQ_STR(json_string_value(json_object_get(o, "user")), "admin");
    CHECK_EQ_INT(json_integer_value(json_object_get(o, "sizeBytes")), 1234);
    CHECK_EQ_INT(json_integer_value(json_object_get(o, "files")), 7);
    CHECK(json_is_null(json_object_get(o, "reason")));
    CHECK(json_is_null(json_object_get(o, "rollbackOf")));
    CHECK_EQ_INT(json_array_size(json_object_get(o, "steps")), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(o, "problems"), 0)),
                 "bundle.json: x: bad");
    json_decref(o);
    deploy__row_status(&f.d, a, DEPLOY_DEPLOY_FAILED, "verify: bad");
    o = deploy__row_json(&f.d, a, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(o, "reason")), "verify: bad");
    CHECK(json_object_get(o, "steps") == NULL); /* not in lists */
    json_decref(o);
    int64_t b = deploy__row_insert(&f.d, DEPLOY__ROLLBACK, "ops", a, "/x/bundles/1");
    int64_t total = 0;
    json_t *list = deploy__rows_json(&f.d, 10, 0, &total);
    CHECK_EQ_INT(total, 2);
    CHECK_EQ_INT(json_array_size(list), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(list, 0), "id")), b);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(list, 0), "rollbackOf")), a);
    json_decref(list);
    list = deploy__rows_json(&f.d, 1, 1, &total); /* paging */
    CHECK_EQ_INT(json_array_size(list), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(list, 0), "id")), a);
    json_decref(list);
    CHECK_EQ_STR(deploy_status_text(DEPLOY_STOP_FAILED), "stop failed");
    CHECK_EQ_STR(deploy_status_text(99), "unknown");
    fx_close(&f);
}

static void test_commit_recover_previous(void)
{
    fx_t f;
    fx_open(&f);
    int64_t a = deploy__row_insert(&f.d, DEPLOY__LOCAL, "", 0, "/src/demo");
    CHECK_EQ_INT(deploy__row_commit(&f.d, a, 0), 0);
    CHECK_EQ_INT(deploy__row_running(&f.d), a);
    int64_t b = deploy__row_insert(&f.d, DEPLOY__UPLOAD, "admin", 0, "/x/bundles/2");
    deploy__row_status(&f.d, a, DEPLOY_STOPPING, NULL); /* b is switching in */
    /* a kill -9 here: the next start finds a stopping and b deploying */
    deploy__rows_recover(&f.d);
    CHECK_EQ_INT(fx_status(&f, a), DEPLOY_RUNNING);
    CHECK_EQ_INT(fx_status(&f, b), DEPLOY_DEPLOY_FAILED);
    json_t *o = deploy__row_json(&f.d, b, 0);
    CHECK(strstr(json_string_value(json_object_get(o, "reason")), "interrupted") != NULL);
    CHECK_EQ_INT(json_is_false(json_object_get(o, "kept")), 1); /* an upload's files go */
    json_decref(o);
    int64_t c = deploy__row_insert(&f.d, DEPLOY__UPLOAD, "admin", 0, "/x/bundles/3");
    CHECK_EQ_INT(deploy__row_commit(&f.d, c, a), 0);
    CHECK_EQ_INT(fx_status(&f, a), DEPLOY_FINISHED);
    CHECK_EQ_INT(fx_status(&f, c), DEPLOY_RUNNING);
    CHECK_EQ_INT(deploy__row_running(&f.d), c);
    CHECK_EQ_INT(deploy__row_previous_good(&f.d, c, 0), a); /* b never ran */
    CHECK_EQ_INT(deploy__row_previous_good(&f.d, c, a), 0); /* none older than a */
    char dir[64];
    int status = 0, ran = 0;
    CHECK_EQ_INT(deploy__row_dir(&f.d, a, dir, sizeof dir, &status, &ran), 0);
    CHECK_EQ_STR(dir, "/src/demo");
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(deploy__row_dir(&f.d, 99, dir, sizeof dir, &status, &ran), VG_ENOENT);
    fx_close(&f);
}

static void test_retention_keeps_what_runs(void)
{
    fx_t f;
    fx_open(&f);
    char dirs[6][PATH_MAX + 16];
    int64_t ids[6];
    for (int i = 0; i < 6; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%.200s/%d", f.d.bundles_dir, i + 1);
        ids[i] = deploy__row_insert(&f.d, DEPLOY__UPLOAD, "admin", 0, dirs[i]);
        CHECK_EQ_INT(deploy__row_commit(&f.d, ids[i], i ? ids[i - 1] : 0), 0);
    }
    /* a rollback to #2 shares #2's directory and runs now */
    int64_t rb = deploy__row_insert(&f.d, DEPLOY__ROLLBACK, "admin", ids[1], dirs[1]);
    CHECK_EQ_INT(deploy__row_commit(&f.d, rb, ids[5]), 0);
    deploy__origin_set(&f.d, "drv", ids[0]); /* a driver still runs from #1's files */
    char **drop = NULL;
    size_t ndrop = 0;
    CHECK_EQ_INT(deploy__rows_retire(&f.d, 3, &drop, &ndrop), 0);
    /* kept: the running rollback (#2's dir), #6, #5 (3 versions), and #1 (in use) */
    CHECK_EQ_INT(ndrop, 2);
    int saw3 = 0, saw4 = 0;
    for (size_t i = 0; i < ndrop; i++) {
        saw3 |= strcmp(drop[i], dirs[2]) == 0;
        saw4 |= strcmp(drop[i], dirs[3]) == 0;
        free(drop[i]);
    }
    free(drop);
    CHECK(saw3 && saw4);
    json_t *o = deploy__row_json(&f.d, ids[2], 0);
    CHECK(json_is_false(json_object_get(o, "kept")));
    json_decref(o);
    o = deploy__row_json(&f.d, ids[0], 0);
    CHECK(json_is_true(json_object_get(o, "kept")));
    json_decref(o);
    free(f.d.origins[0].driver);
    free(f.d.origins);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_rows_and_json)
    VG_TEST(test_commit_recover_previous)
    VG_TEST(test_retention_keeps_what_runs)
)
/* clang-format on */
