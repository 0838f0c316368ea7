/* test_registry.c: products (TSL served with derived get/set, extension info, errors) and devices
 * (add errors, names, look-ups by cloud and local id, the OpenAPI fields, online/offline and
 * their times, which survive a restart). */
#include "things_fx.h"

static void test_products(void)
{
    fx_t f;
    char err[512];
    fx_init(&f);
    CHECK_EQ_INT(things_product_count(f.t), 0);
    CHECK(things_product_tsl(f.t, FX_PK) == NULL);
    CHECK(things_product_ext_info(f.t, FX_PK) == NULL);
    CHECK_EQ_INT(things_add_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_product_count(f.t), 1);
    CHECK_EQ_STR(things_product_ext_info(f.t, FX_PK), "{}");
    const char *tsl = things_product_tsl(f.t, FX_PK);
    CHECK(tsl && strstr(tsl, "\"method\":\"thing.service.property.get\"") != NULL);
    CHECK(tsl && strstr(tsl, "\"method\":\"thing.service.property.set\"") != NULL);
    CHECK(tsl && strchr(tsl, '\n') == NULL); /* compact */

    /* Duplicates, bad names, bad TSLs and bad extension info change nothing. */
    CHECK_EQ_INT(things_add_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), VG_EEXIST);
    CHECK_EQ_STR(err, "product \"a1Light\" was added already");
    CHECK_EQ_INT(things_add_product(f.t, "a b", "{}", NULL, err, sizeof err), VG_EINVAL);
    CHECK_EQ_STR(err, "productKey \"a b\": expected 1 to 64 characters of A-Z a-z 0-9 _ . : -");
    CHECK_EQ_INT(things_add_product(f.t, "", "{}", NULL, err, sizeof err), VG_EINVAL);
    CHECK_EQ_INT(things_add_product(f.t, NULL, "{}", NULL, err, sizeof err), VG_EINVAL);
    char name[80];
    memset(name, 'p', 65);
    name[65] = '\0';
    CHECK_EQ_INT(things_add_product(f.t, name, "{}", NULL, err, sizeof err), VG_EINVAL);
    name[64] = '\0';
    CHECK_EQ_INT(things_add_product(f.t, name, "{}", NULL, err, sizeof err), 0); /* 64 bytes */
    CHECK_EQ_INT(things_add_product(f.t, "p2", "{\"properties\":7}", NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err, "tsl: properties = 7: expected an array");
    CHECK_EQ_INT(things_add_product(f.t, "p2", "{}", "{\"a\":", err, sizeof err), VG_EINVAL);
    CHECK(strncmp(err, "tsl ext info: line 1, column ", 29) == 0);
    CHECK_EQ_INT(things_add_product(f.t, "p2", "{}", "[1]", err, sizeof err), VG_EINVAL);
    CHECK_EQ_STR(err, "tsl ext info: expected a JSON object");
    CHECK(things_product_tsl(f.t, "p2") == NULL);
    CHECK_EQ_INT(things_product_count(f.t), 2);

    CHECK_EQ_INT(
        things_add_product(f.t, "p2", "{}", "{ \"slave\" : 1,\n \"x\": [1, 2] }", err, sizeof err),
        0);
    CHECK_EQ_STR(things_product_ext_info(f.t, "p2"), "{\"slave\":1,\"x\":[1,2]}");
    CHECK_EQ_STR(things_product_tsl(f.t, "p2"),
                 "{\"services\":[{\"identifier\":\"get\",\"name\":\"get\",\"callType\":\"sync\","
                 "\"required\":true,\"method\":\"thing.service.property.get\",\"inputData\":[],"
                 "\"outputData\":[]},{\"identifier\":\"set\",\"name\":\"set\",\"callType\":"
                 "\"sync\",\"required\":true,\"method\":\"thing.service.property.set\","
                 "\"inputData\":[],\"outputData\":[]}]}");
    fx_close(&f);
}

static void test_device_add_errors(void)
{
    fx_t f;
    char err[512];
    json_t *bad_tags = json_pack("{s:i}", "floor", 3), *arr = json_array();
    fx_init(&f);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp1", "drv", NULL, NULL, err, sizeof err),
                 VG_ENOENT);
    CHECK_EQ_STR(err, "device a1Light/lamp1: no product \"a1Light\"; add the product first");
    fx_light(&f, "lamp1");
    CHECK_EQ_INT(things_device_count(f.t), 1);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp1", "drv", NULL, NULL, err, sizeof err),
                 VG_EEXIST);
    CHECK_EQ_STR(err, "device a1Light/lamp1 was added already");
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp 2", "drv", NULL, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err,
                 "deviceName \"lamp 2\": expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -");
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "a/b", "drv", NULL, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "", "drv", NULL, NULL, err, sizeof err), VG_EINVAL);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "x@y.z:1-2_3", "drv", NULL, NULL, err, sizeof err),
                 0);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp2", "my driver", NULL, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err, "driver \"my driver\": expected 1 to 64 characters of A-Z a-z 0-9 _ . -");
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp2", NULL, NULL, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_INT(things_add_device(f.t, "nope", "lamp2", "drv", NULL, NULL, err, sizeof err),
                 VG_ENOENT);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp2", "drv", bad_tags, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err, "tags.floor = 3: expected a string");
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp2", "drv", arr, NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err, "tags: expected an object of strings");
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "lamp2", "drv", NULL, arr, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(err, "custom: expected an object");
    CHECK_EQ_INT(
        things_add_device_local(f.t, FX_PK, "lamp2", "lamp1", "drv", NULL, NULL, err, sizeof err),
        VG_EEXIST);
    CHECK_EQ_STR(
        err, "device a1Light/lamp2: local id \"lamp1\" is that of device a1Light/lamp1 already");
    CHECK_EQ_INT(
        things_add_device_local(f.t, FX_PK, "lamp2", "bad id", "drv", NULL, NULL, err, sizeof err),
        VG_EINVAL);
    CHECK_EQ_STR(err, "local id \"bad id\": expected 1 to 64 characters of A-Z a-z 0-9 _ . : @ -");

    /* "a_b" + "c" and "a" + "b_c" would share the cloud id "a_b_c". */
    CHECK_EQ_INT(things_add_product(f.t, "a", "{}", NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_product(f.t, "a_b", "{}", NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_device(f.t, "a_b", "c", "drv", NULL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_device(f.t, "a", "b_c", "drv", NULL, NULL, err, sizeof err), VG_EEXIST);
    CHECK_EQ_STR(err, "device a/b_c: its cloud id \"a_b_c\" is that of device a_b/c");
    CHECK(things_device_find(f.t, "a", "b_c") == NULL);
    CHECK(things_device_find(f.t, "a_b", "c") != NULL);
    CHECK_EQ_INT(things_device_count(f.t), 3);
    json_decref(bad_tags);
    json_decref(arr);
    fx_close(&f);
}

typedef struct seen {
    int n;
    const char *names[8];
} seen_t;

static void collect(void *data, things_device_t *d)
{
    seen_t *s = data;
    if (s->n < 8) s->names[s->n] = things_device_name(d);
    s->n++;
}

static void test_device_fields(void)
{
    fx_t f;
    fake_port_t port;
    char err[512];
    memset(&port, 0, sizeof port);
    fx_init(&f);
    fx_light(&f, "lamp1");
    json_t *tags = json_pack("{s:s}", "location", "master bedroom");
    json_t *custom = json_pack("{s:i}", "slave", 7);
    int64_t before = vg_time_ms();
    CHECK_EQ_INT(
        things_add_device_local(f.t, FX_PK, "lamp2", "L-2", "drv2", tags, custom, err, sizeof err),
        0);
    json_decref(tags);
    json_decref(custom);
    things_device_t *d = things_device_find(f.t, FX_PK, "lamp2");
    CHECK(d != NULL);
    if (!d) {
        fx_close(&f);
        return;
    }
    CHECK(things_device_find_cloud(f.t, "a1Light_lamp2") == d);
    CHECK(things_device_find_local(f.t, FX_PK, "L-2") == d);
    CHECK(things_device_find_local(f.t, FX_PK, "lamp2") == NULL);
    CHECK(things_device_find_local(f.t, FX_PK, "lamp1") == things_device_find(f.t, FX_PK, "lamp1"));
    CHECK(things_device_find_cloud(f.t, "a1Light_lamp3") == NULL);
    CHECK(things_device_find(f.t, "x", "lamp2") == NULL);
    CHECK(things_device_find(f.t, NULL, "lamp2") == NULL);
    CHECK_EQ_STR(things_device_product_key(d), FX_PK);
    CHECK_EQ_STR(things_device_name(d), "lamp2");
    CHECK_EQ_STR(things_device_local_id(d), "L-2");
    CHECK_EQ_STR(things_device_local_id(things_device_find(f.t, FX_PK, "lamp1")), "lamp1");
    CHECK_EQ_STR(things_device_driver(d), "drv2");
    CHECK_EQ_STR(things_device_cloud_id(d), "a1Light_lamp2");
    CHECK_EQ_STR(json_string_value(json_object_get(things_device_tags(d), "location")),
                 "master bedroom");
    CHECK_EQ_INT(json_integer_value(json_object_get(things_device_custom(d), "slave")), 7);
    CHECK(json_is_object(things_device_tags(things_device_find(f.t, FX_PK, "lamp1"))));
    CHECK_EQ_INT(things_device_is_online(d), 0);
    CHECK_EQ_INT(things_device_cloud_state(d), 0);
    CHECK_EQ_INT(things_device_last_online_ms(d), 0);
    CHECK_EQ_INT(things_device_last_cloud_online_ms(d), 0);
    CHECK_EQ_INT(things_device_last_link_ms(d), 0);
    CHECK_EQ_INT(things_device_last_offline_ms(d), 0);
    CHECK(things_device_created_ms(d) >= before && things_device_created_ms(d) <= vg_time_ms());

    seen_t seen;
    memset(&seen, 0, sizeof seen);
    things_device_each(f.t, collect, &seen);
    CHECK_EQ_INT(seen.n, 2);
    CHECK_EQ_STR(seen.names[0], "lamp1"); /* the order they were added */
    CHECK_EQ_STR(seen.names[1], "lamp2");
    CHECK_EQ_INT(things_device_count(f.t), 2);

    CHECK_EQ_INT(things_device_set_online(f.t, d, NULL, fx_ops()), VG_EINVAL);
    CHECK_EQ_INT(things_device_set_online(f.t, d, &port, NULL), VG_EINVAL);
    CHECK_EQ_INT(things_device_is_online(d), 0);
    before = vg_time_ms();
    CHECK_EQ_INT(things_device_set_online(f.t, d, &port, fx_ops()), 0);
    CHECK_EQ_INT(things_device_is_online(d), 1);
    CHECK(things_device_last_online_ms(d) >= before);
    CHECK_EQ_INT(things_device_last_link_ms(d), things_device_last_online_ms(d));
    CHECK_EQ_INT(things_device_last_offline_ms(d), 0);
    things_device_set_offline(f.t, d);
    CHECK_EQ_INT(things_device_is_online(d), 0);
    CHECK(things_device_last_offline_ms(d) >= things_device_last_online_ms(d));
    int64_t off = things_device_last_offline_ms(d);
    things_device_set_offline(f.t, d); /* idempotent */
    CHECK_EQ_INT(things_device_last_offline_ms(d), off);
    CHECK_EQ_INT(port.ncalls, 0); /* state changes call nothing */
    CHECK_EQ_INT(f.nmsgs, 0);     /* ...and publish nothing */
    fx_close(&f);
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

static void test_device_state_survives_restart(void)
{
    fx_t f;
    fake_port_t port;
    char err[512];
    memset(&port, 0, sizeof port);
    fx_init(&f);
    CHECK_EQ_INT(sql_int(&f, "SELECT version FROM schema_versions WHERE component = 'things'"), 1);
    things_device_t *d = fx_light(&f, "lamp1");
    CHECK_EQ_INT(things_device_set_online(f.t, d, &port, fx_ops()), 0);
    int64_t created = things_device_created_ms(d), online = things_device_last_online_ms(d);
    usleep(2000);
    fx_shut(&f); /* things_destroy writes what is pending */

    fx_open(&f);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM devices"), 1);
    CHECK_EQ_INT(sql_int(&f, "SELECT last_online_ms FROM devices WHERE dn = 'lamp1'"), online);
    CHECK_EQ_INT(things_add_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(
        things_add_device_local(f.t, FX_PK, "lamp1", "L1", "drv9", NULL, NULL, err, sizeof err), 0);
    d = things_device_find(f.t, FX_PK, "lamp1");
    CHECK_EQ_INT(things_device_created_ms(d), created);
    CHECK_EQ_INT(things_device_last_online_ms(d), online);
    CHECK_EQ_INT(things_device_last_link_ms(d), online);
    CHECK_EQ_INT(things_device_is_online(d), 0); /* a restart starts offline */
    things_device_set_offline(f.t, d);           /* already offline: nothing recorded */
    CHECK_EQ_INT(things_device_last_offline_ms(d), 0);

    /* The new driver and local id reach the table with the next flush. */
    for (int i = 0; i < 200 && sql_int(&f, "SELECT count(*) FROM devices WHERE driver = 'drv9' "
                                           "AND local_id = 'L1'") != 1;
         i++)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_EQ_INT(sql_int(&f, "SELECT count(*) FROM devices WHERE driver = 'drv9' AND "
                             "local_id = 'L1'"),
                 1);
    CHECK_EQ_INT(sql_int(&f, "SELECT created_ms FROM devices"), created);
    fx_close(&f);
}

/* Deployments: a product's TSL replaced in place, a device removed and added back. */
static void test_set_product_and_remove_device(void)
{
    fx_t f;
    char err[512];
    fx_init(&f);
    CHECK_EQ_INT(things_set_product(f.t, FX_PK, FX_TSL, NULL, err, sizeof err), 0); /* adds */
    const char *before = things_product_tsl(f.t, FX_PK);
    CHECK(before && strstr(before, "\"properties\"") != NULL);
    CHECK_EQ_INT(things_set_product(f.t, FX_PK, "{}", "{\"v\":2}", err, sizeof err), 0);
    CHECK_EQ_INT(things_product_count(f.t), 1);
    CHECK(strstr(things_product_tsl(f.t, FX_PK), "\"properties\"") == NULL);
    CHECK_EQ_STR(things_product_ext_info(f.t, FX_PK), "{\"v\":2}");
    CHECK(strstr(before, "\"properties\"") != NULL); /* the old text stays readable */
    CHECK_EQ_INT(things_set_product(f.t, FX_PK, "{\"properties\":7}", NULL, err, sizeof err),
                 VG_EINVAL);
    CHECK_EQ_STR(things_product_ext_info(f.t, FX_PK), "{\"v\":2}"); /* unchanged */

    CHECK_EQ_INT(things_add_device_local(f.t, FX_PK, "d1", "L1", "drv", NULL, NULL, err,
                                         sizeof err),
                 0);
    CHECK_EQ_INT(things_add_device(f.t, FX_PK, "d2", "drv", NULL, NULL, err, sizeof err), 0);
    things_device_t *d1 = things_device_find(f.t, FX_PK, "d1");
    CHECK(d1 != NULL);
    CHECK_EQ_INT(things_remove_device(f.t, FX_PK, "d1"), 0);
    CHECK_EQ_INT(things_remove_device(f.t, FX_PK, "d1"), VG_ENOENT);
    CHECK(things_device_find(f.t, FX_PK, "d1") == NULL);
    CHECK(things_device_find_local(f.t, FX_PK, "L1") == NULL);
    CHECK(things_device_find_cloud(f.t, FX_PK "_d1") == NULL);
    CHECK_EQ_INT(things_device_count(f.t), 1);
    CHECK_EQ_STR(things_device_name(d1), "d1"); /* still readable by requests in flight */
    /* added again, by another driver and local id */
    CHECK_EQ_INT(things_add_device_local(f.t, FX_PK, "d1", "L9", "drv2", NULL, NULL, err,
                                         sizeof err),
                 0);
    things_device_t *again = things_device_find_local(f.t, FX_PK, "L9");
    CHECK(again != NULL && again != d1);
    CHECK_EQ_STR(things_device_driver(again), "drv2");
    CHECK_EQ_INT(things_device_count(f.t), 2);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_products)
    VG_TEST(test_device_add_errors)
    VG_TEST(test_device_fields)
    VG_TEST(test_device_state_survives_restart)
    VG_TEST(test_set_product_and_remove_device)
)
/* clang-format on */
