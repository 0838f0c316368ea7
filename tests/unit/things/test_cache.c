/* test_cache.c: reports and the property cache: bus deliveries with their exact topics, sources
 * and payloads, malformed reports refused with nothing changed, cache reads, persistence across
 * a restart, coalesced batched flushes, a failed flush retried, and a measured load of 100,000
 * reports (100 devices x 1000 rounds) accepted on the loop and committed off it. */
#include "things_fx.h"

#include <stdint.h>

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v) fprintf(stderr, "  bad test JSON: %s\n", text);
    return v;
}

static int64_t sql_int(fx_t *f, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static vg_series_t *series(fx_t *f, const char *name, const char *labels)
{
    return vg_metrics_series(f->ctx.metrics, name, labels);
}

/* Runs the loop until nothing is pending and no flush is in flight. */
static void flush_all(fx_t *f)
{
    vg_series_t *pending = series(f, "verge_things_cache_pending", NULL);
    for (int i = 0; i < 100000 && uv_run(&f->loop, UV_RUN_ONCE); i++)
        ;
    CHECK(pending && pending->value == 0);
}

static void test_report_properties(void)
{
    fx_t f;
    json_t *v = NULL;
    int64_t time_ms = 0;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    const char *text = "{\"power\":{\"value\":1,\"time\":1524448722000},"
                       "\"color\":{\"value\":{\"r\":1,\"g\":2},\"time\":\"1524448722001\"}}";
    json_t *body = J(text);
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    json_decref(body);
    CHECK_EQ_INT(f.nmsgs, 1);
    CHECK_EQ_STR(f.msgs[0].topic, "/sys/a1Light/lamp1/thing/event/property/post");
    CHECK_EQ_STR(f.msgs[0].source, "device:a1Light/lamp1");
    CHECK_EQ_STR(f.msgs[0].payload, text);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "power", &v, &time_ms), 0);
    CHECK_EQ_INT(json_integer_value(v), 1);
    CHECK_EQ_INT(time_ms, 1524448722000LL);
    json_decref(v);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "color", &v, &time_ms), 0);
    CHECK_EQ_INT(time_ms, 1524448722001LL);
    char *dump = json_dumps(v, JSON_COMPACT);
    CHECK_EQ_STR(dump, "{\"r\":1,\"g\":2}");
    free(dump);
    json_decref(v);

    /* Without a time the report is stamped now; a later report replaces the value. */
    int64_t before = vg_time_ms();
    body = J("{\"power\":{\"value\":0}}");
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    json_decref(body);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "power", &v, &time_ms), 0);
    CHECK_EQ_INT(json_integer_value(v), 0);
    CHECK(time_ms >= before && time_ms <= vg_time_ms());
    json_decref(v);
    CHECK_EQ_INT(f.nmsgs, 2);
    CHECK_EQ_STR(f.msgs[1].payload, "{\"power\":{\"value\":0}}");

    /* Properties outside the TSL are kept too: values are the driver's business. */
    body = J("{\"rssi\":{\"value\":-70,\"time\":5}}");
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    json_decref(body);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "rssi", NULL, &time_ms), 0);
    CHECK_EQ_INT(time_ms, 5);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "brightness", NULL, NULL), VG_ENOENT);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp9", "power", NULL, NULL), VG_ENOENT);
    CHECK_EQ_INT(things_cache_get(f.t, "nope", "lamp1", "power", NULL, NULL), VG_ENOENT);
    CHECK_EQ_INT(series(&f, "verge_things_reports_total", "kind=\"properties\"")->value, 3);
    fx_close(&f);
}

static void test_report_properties_malformed(void)
{
    static const char *const bad[] = {
        "[]",
        "{}",
        "7",
        "{\"power\":1}",
        "{\"power\":{\"time\":1}}",
        "{\"power\":{\"value\":1,\"time\":-1}}",
        "{\"power\":{\"value\":1,\"time\":1.5}}",
        "{\"power\":{\"value\":1,\"time\":\"12a\"}}",
        "{\"power\":{\"value\":1,\"time\":\"\"}}",
        "{\"power\":{\"value\":1},\"brightness\":{\"value\":2,\"time\":null}}", /* one bad item */
        "{\"\":{\"value\":1}}",
        "{\"p234567890123456789012345678901234567890123456789012345678901234\":{\"value\":1}}",
    };
    fx_t f;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = J(bad[i]);
        if (things_report_properties(f.t, d, body) != VG_EINVAL)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        json_decref(body);
    }
    CHECK_EQ_INT(things_report_properties(f.t, d, NULL), VG_EINVAL);
    CHECK_EQ_INT(f.nmsgs, 0);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "power", NULL, NULL), VG_ENOENT);
    CHECK_EQ_INT(series(&f, "verge_things_reports_total", "kind=\"properties\"")->value, 0);
    CHECK_EQ_INT(series(&f, "verge_things_cache_pending", NULL)->value, 0);
    fx_close(&f);
}

static void test_report_event(void)
{
    fx_t f;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    const char *text = "{\"params\":{\"value\":{\"temp\":80.5},\"time\":1524448722000}}";
    json_t *body = J(text);
    CHECK_EQ_INT(things_report_event(f.t, d, "overheat", body), 0);
    CHECK_EQ_INT(f.nmsgs, 1);
    CHECK_EQ_STR(f.msgs[0].topic, "/sys/a1Light/lamp1/thing/event/overheat/post");
    CHECK_EQ_STR(f.msgs[0].source, "device:a1Light/lamp1");
    CHECK_EQ_STR(f.msgs[0].payload, text);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "temp", NULL, NULL), VG_ENOENT);

    /* Malformed events and names publish nothing. */
    CHECK_EQ_INT(things_report_event(f.t, d, "property", body), VG_EINVAL);
    CHECK_EQ_INT(things_report_event(f.t, d, "over-heat", body), VG_EINVAL);
    CHECK_EQ_INT(things_report_event(f.t, d, "a/b", body), VG_EINVAL);
    CHECK_EQ_INT(things_report_event(f.t, d, "", body), VG_EINVAL);
    CHECK_EQ_INT(things_report_event(f.t, d, NULL, body), VG_EINVAL);
    json_decref(body);
    static const char *const bad[] = {
        "{}",
        "{\"params\":1}",
        "{\"params\":{\"value\":1,\"time\":1}}",
        "{\"params\":{\"time\":1}}",
        "{\"params\":{\"value\":{},\"time\":\"x\"}}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        body = J(bad[i]);
        CHECK_EQ_INT(things_report_event(f.t, d, "overheat", body), VG_EINVAL);
        json_decref(body);
    }
    CHECK_EQ_INT(f.nmsgs, 1);
    body = J("{\"params\":{\"value\":{}}}"); /* no time: accepted */
    CHECK_EQ_INT(things_report_event(f.t, d, "ledBroken", body), 0);
    json_decref(body);
    CHECK_EQ_INT(f.nmsgs, 2);
    CHECK_EQ_STR(f.msgs[1].topic, "/sys/a1Light/lamp1/thing/event/ledBroken/post");
    CHECK_EQ_INT(series(&f, "verge_things_reports_total", "kind=\"event\"")->value, 2);
    fx_close(&f);
}

static void test_cache_survives_restart(void)
{
    fx_t f;
    char err[512];
    json_t *v = NULL;
    int64_t time_ms = 0;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    json_t *body =
        J("{\"power\":{\"value\":1,\"time\":10},\"label\":{\"value\":\"hi\",\"time\":11},"
          "\"ratio\":{\"value\":0.25,\"time\":12},\"color\":{\"value\":{\"r\":3},"
          "\"time\":13}}");
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    json_decref(body);
    fx_shut(&f); /* nothing was flushed yet: things_destroy writes it */

    fx_open(&f);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM properties WHERE pk = 'a1Light' AND "
                             "dn = 'lamp1'"),
                 4);
    CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", "power", NULL, NULL), VG_ENOENT);
    CHECK_EQ_INT(things_add_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp1", "drv", NULL, NULL, err, sizeof err), 0);
    static const struct {
        const char *id, *json;
        int64_t time_ms;
    } want[] = {
        {"power", "1", 10},
        {"label", "\"hi\"", 11},
        {"ratio", "0.25", 12},
        {"color", "{\"r\":3}", 13},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_EQ_INT(things_cache_get(f.t, FX_PK, "lamp1", want[i].id, &v, &time_ms), 0);
        char *dump = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        CHECK_EQ_STR(dump, want[i].json);
        CHECK_EQ_INT(time_ms, want[i].time_ms);
        free(dump);
        json_decref(v);
        v = NULL;
    }
    fx_close(&f);
}

static void test_flush_coalesces(void)
{
    fx_t f;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    vg_series_t *flushes = series(&f, "verge_things_cache_flush_seconds", NULL);
    vg_series_t *pending = series(&f, "verge_things_cache_pending", NULL);
    uint64_t before = flushes->count;
    for (int i = 1; i <= 5; i++) {
        char text[96];
        snprintf(text, sizeof text,
                 "{\"brightness\":{\"value\":%d,\"time\":%d},"
                 "\"power\":{\"value\":%d}}",
                 i, i * 100, i % 2);
        json_t *body = J(text);
        CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
        json_decref(body);
    }
    CHECK_EQ_INT(pending->value, 2); /* five reports of two properties: two keys pending */
    flush_all(&f);
    /* One flush wrote the device row and both values; the latest won. */
    CHECK_EQ_INT(flushes->count - before, 1);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM properties"), 2);
    CHECK_EQ_INT(sql_int(&f, "SELECT value FROM properties WHERE identifier = 'brightness'"), 5);
    CHECK_EQ_INT(sql_int(&f, "SELECT time_ms FROM properties WHERE identifier = 'brightness'"),
                 500);
    CHECK_EQ_INT(sql_int(&f, "SELECT value FROM properties WHERE identifier = 'power'"), 1);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM devices"), 1);
    fx_close(&f);
}

static void test_failed_flush_is_retried(void)
{
    fx_t f;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    flush_all(&f); /* the device row */
    CHECK_EQ_INT(
        sqlite3_exec(store_db(f.st), "ALTER TABLE properties RENAME TO away", NULL, NULL, NULL),
        SQLITE_OK);
    json_t *body = J("{\"power\":{\"value\":1,\"time\":7}}");
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    json_decref(body);
    for (int i = 0; i < 1000 && !strstr(fx_log(&f), "failed"); i++)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK(strstr(fx_log(&f), "writing 1 property values and 0 device rows to SQLite failed") !=
          NULL);
    CHECK_EQ_INT(series(&f, "verge_things_cache_pending", NULL)->value, 1); /* kept */
    CHECK_EQ_INT(
        sqlite3_exec(store_db(f.st), "ALTER TABLE away RENAME TO properties", NULL, NULL, NULL),
        SQLITE_OK);
    flush_all(&f);
    CHECK(strstr(fx_log(&f), "writing to SQLite works again") != NULL);
    CHECK_EQ_INT(sql_int(&f, "SELECT time_ms FROM properties WHERE identifier = 'power'"), 7);
    fx_close(&f);
}

/* --- the load test -------------------------------------------------------------------------- */

#define BENCH_DEVICES 100
#define BENCH_ROUNDS  1000

typedef struct ticker {
    uv_timer_t timer;
    fx_t *f;
    uint64_t last_ns, max_gap_ns;
    vg_series_t *flushes, *pending;
    uint64_t flushes_before;
} ticker_t;

/* Every millisecond: measures how late the loop is, and stops once the flushes are done. */
static void on_tick(uv_timer_t *t)
{
    ticker_t *k = t->data;
    uint64_t now = vg_mono_ns();
    if (now - k->last_ns > k->max_gap_ns) k->max_gap_ns = now - k->last_ns;
    k->last_ns = now;
    if (k->flushes->count > k->flushes_before && k->pending->value == 0 &&
        sql_int(k->f, "SELECT count(*) FROM properties") == BENCH_DEVICES * BENCH_ROUNDS)
        uv_timer_stop(t);
}

static void test_load(void)
{
    fx_t f;
    char err[512], dn[16], text[96];
    things_device_t *devs[BENCH_DEVICES];
    fx_init(&f);
    CHECK_EQ_INT(things_add_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), 0);
    for (int i = 0; i < BENCH_DEVICES; i++) {
        snprintf(dn, sizeof dn, "dev%d", i);
        CHECK_EQ_INT(things_add_device(f.t, FX_PK, dn, "drv", NULL, NULL, err, sizeof err), 0);
        devs[i] = things_device_find(f.t, FX_PK, dn);
    }
    flush_all(&f); /* the device rows */

    /* 100,000 reports, each of one property; every (device, property) distinct, so the one
     * flush that follows writes 100,000 rows. Only the things calls are timed. */
    uint64_t spent = 0;
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        for (int i = 0; i < BENCH_DEVICES; i++) {
            snprintf(text, sizeof text, "{\"p%d\":{\"value\":%d,\"time\":%d}}", r, r * i, r);
            json_t *body = J(text);
            uint64_t t0 = vg_mono_ns();
            int rc = things_report_properties(f.t, devs[i], body);
            spent += vg_mono_ns() - t0;
            if (rc) CHECK_EQ_INT(rc, 0);
            json_decref(body);
        }
    }
    ticker_t k;
    memset(&k, 0, sizeof k);
    k.f = &f;
    k.flushes = series(&f, "verge_things_cache_flush_seconds", NULL);
    k.pending = series(&f, "verge_things_cache_pending", NULL);
    k.flushes_before = k.flushes->count;
    CHECK_EQ_INT(k.pending->value, BENCH_DEVICES * BENCH_ROUNDS);
    uv_timer_init(&f.loop, &k.timer);
    k.timer.data = &k;
    k.last_ns = vg_mono_ns();
    uint64_t f0 = vg_mono_ns();
    uv_timer_start(&k.timer, on_tick, 1, 1);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    uint64_t flushed = vg_mono_ns() - f0;
    uv_close((uv_handle_t *)&k.timer, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);

    double accept_s = (double)spent / 1e9;
    double flush_s = k.flushes->value; /* histogram sum: time inside the flush transactions */
    printf("load: %d reports accepted on the loop in %.1f ms (%.0f per second); %llu flush(es) "
           "committed them in %.1f ms (%.1f ms until visible); longest loop stall meanwhile "
           "%.1f ms; %d bus deliveries\n",
           BENCH_DEVICES * BENCH_ROUNDS, accept_s * 1e3,
           (double)(BENCH_DEVICES * BENCH_ROUNDS) / accept_s,
           (unsigned long long)(k.flushes->count - k.flushes_before), flush_s * 1e3,
           (double)flushed / 1e6, (double)k.max_gap_ns / 1e6, f.nmsgs);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    CHECK(accept_s < 10.0);
#else
    CHECK(accept_s < 1.0);
    CHECK(k.max_gap_ns < 250 * 1000000ULL); /* the flush does not run on the loop */
#endif
    CHECK_EQ_INT(f.nmsgs, BENCH_DEVICES * BENCH_ROUNDS + 0);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM properties"), BENCH_DEVICES * BENCH_ROUNDS);
    CHECK_EQ_INT(sql_int(&f, "SELECT value FROM properties WHERE dn = 'dev7' AND "
                             "identifier = 'p999'"),
                 999 * 7);
    CHECK_EQ_INT(series(&f, "verge_things_reports_total", "kind=\"properties\"")->value,
                 BENCH_DEVICES * BENCH_ROUNDS);

    /* Coalescing under load: 100 devices x 1000 rounds over 10 properties is 1000 rows. */
    spent = 0;
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        for (int i = 0; i < BENCH_DEVICES; i++) {
            snprintf(text, sizeof text, "{\"q%d\":{\"value\":%d,\"time\":%d}}", r % 10, r, r);
            json_t *body = J(text);
            uint64_t t0 = vg_mono_ns();
            things_report_properties(f.t, devs[i], body);
            spent += vg_mono_ns() - t0;
            json_decref(body);
        }
    }
    CHECK(series(&f, "verge_things_cache_pending", NULL)->value <= 1000);
    flush_all(&f);
    printf("load: %d reports over 10 properties per device accepted in %.1f ms\n",
           BENCH_DEVICES * BENCH_ROUNDS, (double)spent / 1e6);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM properties WHERE identifier LIKE 'q%'"), 1000);
    CHECK_EQ_INT(sql_int(&f, "SELECT min(value) FROM properties WHERE identifier = 'q9'"), 999);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_report_properties)
    VG_TEST(test_report_properties_malformed)
    VG_TEST(test_report_event)
    VG_TEST(test_cache_survives_restart)
    VG_TEST(test_flush_coalesces)
    VG_TEST(test_failed_flush_is_retried)
    VG_TEST(test_load)
)
/* clang-format on */
