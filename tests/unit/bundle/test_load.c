/* test_load.c: the valid demo bundle loads into the structs the runtime reads, and a driver's
 * gw_driverconfig text has exactly the SDK-FACTS §3.2 shape, custom as a JSON string. */
#include "bundle/bundle.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdlib.h>

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT);
}

static void test_demo_loads(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo(&f);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    bundle_t *b = f.b;
    if (!b) {
        fx_close(&f);
        return;
    }
    char path[PATH_MAX];
    CHECK_EQ_STR(b->dir, f.dir);
    CHECK_EQ_STR(b->name, "demo");
    CHECK_EQ_STR(b->version, "1.0.0");
    CHECK_EQ_INT(b->nproducts, 1);
    CHECK_EQ_STR(b->products[0].product_key, "a1DemoLight");
    snprintf(path, sizeof path, "%s/products/light.json", f.dir);
    CHECK_EQ_STR(b->products[0].tsl_path, path);
    CHECK(b->products[0].tsl && strstr(b->products[0].tsl, "\"profile\"") != NULL);
    CHECK(b->products[0].tsl_ext_info == NULL && b->products[0].tsl_ext_info_path == NULL);
    CHECK_EQ_INT(b->ndrivers, 1);
    const bundle_driver_t *d = &b->drivers[0];
    CHECK_EQ_STR(d->name, "demo_light");
    snprintf(path, sizeof path, "%s/drivers/demo_light/main", f.dir);
    CHECK_EQ_STR(d->exec, path);
    snprintf(path, sizeof path, "%s/drivers/demo_light", f.dir);
    CHECK_EQ_STR(d->dir, path);
    char *cfg = dump(d->config);
    CHECK_EQ_STR(cfg, "{\"json\":{},\"kv\":[],\"fileList\":[]}");
    free(cfg);
    CHECK_EQ_INT(d->nfiles, 0);
    CHECK_EQ_INT(d->ndevices, 2);
    CHECK_EQ_STR(d->devices[0].product_key, "a1DemoLight");
    CHECK_EQ_STR(d->devices[0].device_name, "LightDev1");
    CHECK(d->devices[0].local_name == NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(d->devices[0].tags, "location")),
                 "master bedroom");
    CHECK_EQ_INT(json_integer_value(json_object_get(d->devices[0].custom, "port")), 12345);
    CHECK_EQ_STR(d->devices[1].device_name, "LightDev2");
    CHECK_EQ_STR(json_string_value(json_object_get(d->devices[1].tags, "location")), "living room");
    CHECK(json_is_object(d->devices[1].custom) && json_object_size(d->devices[1].custom) == 0);
    CHECK(bundle_product(b, "a1DemoLight") == &b->products[0]);
    CHECK(bundle_product(b, "a1Nope") == NULL);
    CHECK(bundle_driver(b, "demo_light") == d);
    CHECK(bundle_driver(b, "nope") == NULL);
    fx_close(&f);
}

static void test_driver_config_text(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo(&f);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    char *text = f.b ? bundle_driver_config(&f.b->drivers[0]) : NULL;
    CHECK_EQ_STR(text, "{\"config\":{\"json\":{},\"kv\":[],\"fileList\":[]},"
                       "\"deviceList\":["
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev1\","
                       "\"custom\":\"{\\\"port\\\":12345}\"},"
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev2\","
                       "\"custom\":\"{}\"}]}");
    /* what the SDK does with it: custom is a string holding JSON */
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    json_t *custom =
        json_object_get(json_array_get(json_object_get(doc, "deviceList"), 0), "custom");
    CHECK(json_is_string(custom));
    json_t *parsed = json_loads(json_string_value(custom), 0, NULL);
    CHECK_EQ_INT(json_integer_value(json_object_get(parsed, "port")), 12345);
    json_decref(parsed);
    json_decref(doc);
    free(text);
    fx_close(&f);
}

/* config as given (json, kv, fileList, the driver's own keys); reals keep their short form. */
static void test_driver_config_full(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, "'config': {'json': {}, 'kv': [], 'fileList': []}",
                 "'config': {'serverList': [{'serverId': 1}],"
                 " 'fileList': [{'path': 'dev.json'}, {'path': '../../products/light.json'}],"
                 " 'json': {'report_interval_ms': 500, 'high_temperature': 50.5, 'k': 0.1},"
                 " 'kv': [{'key': 'ip', 'value': '127.0.0.1', 'note': 'ip地址'}]}");
    fx_write(&f, "drivers/demo_light/dev.json", "{}");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    if (!f.b) {
        fx_close(&f);
        return;
    }
    const bundle_driver_t *d = &f.b->drivers[0];
    char *text = bundle_driver_config(d);
    CHECK_EQ_STR(text, "{\"config\":{\"json\":{\"report_interval_ms\":500,"
                       "\"high_temperature\":50.5,\"k\":0.1},"
                       "\"kv\":[{\"key\":\"ip\",\"value\":\"127.0.0.1\",\"note\":\"ip地址\"}],"
                       "\"fileList\":[{\"path\":\"dev.json\"},"
                       "{\"path\":\"../../products/light.json\"}],"
                       "\"serverList\":[{\"serverId\":1}]},"
                       "\"deviceList\":["
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev1\","
                       "\"custom\":\"{\\\"port\\\":12345}\"},"
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev2\","
                       "\"custom\":\"{}\"}]}");
    free(text);
    char path[PATH_MAX];
    CHECK_EQ_INT(d->nfiles, 2);
    snprintf(path, sizeof path, "%s/drivers/demo_light/dev.json", f.dir);
    CHECK_EQ_STR(d->nfiles > 0 ? d->files[0] : NULL, path);
    snprintf(path, sizeof path, "%s/products/light.json", f.dir);
    CHECK_EQ_STR(d->nfiles > 1 ? d->files[1] : NULL, path);
    fx_close(&f);
}

/* No config: the three keys, empty. Only kv: json and fileList are added around it. */
static void test_driver_config_defaults(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, "'config': {'json': {}, 'kv': [], 'fileList': []},", "");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    char *cfg = f.b ? dump(f.b->drivers[0].config) : NULL;
    CHECK_EQ_STR(cfg, "{\"json\":{},\"kv\":[],\"fileList\":[]}");
    free(cfg);
    fx_demo_with(&f, "'config': {'json': {}, 'kv': [], 'fileList': []}",
                 "'config': {'kv': [{'key': 'a', 'value': 'b'}]}");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    cfg = f.b ? dump(f.b->drivers[0].config) : NULL;
    CHECK_EQ_STR(cfg, "{\"json\":{},\"kv\":[{\"key\":\"a\",\"value\":\"b\"}],\"fileList\":[]}");
    free(cfg);
    fx_close(&f);
}

/* Optional parts: tslExtInfo, localName, no devices, no drivers, a 1 MiB TSL. */
static void test_optional_parts(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, "'tsl': 'products/light.json'}",
                 "'tsl': 'products/light.json', 'tslExtInfo': 'products/light.ext.json'}");
    fx_write(&f, "products/light.ext.json", "{'profile': {}}\n");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(f.b ? f.b->products[0].tsl_ext_info : NULL, "{\"profile\": {}}\n");
    fx_close(&f);

    fx_init(&f);
    fx_demo_with(&f, "'deviceName': 'LightDev2',", "'deviceName': 'LightDev2', 'localName': 'l2',");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(f.b ? f.b->drivers[0].devices[1].local_name : NULL, "l2");
    fx_close(&f);

    fx_init(&f);
    fx_write(&f, "bundle.json",
             "{'name': 'x', 'version': '2', 'products': "
             "[{'productKey': 'a1DemoLight', 'tsl': 'light.json'}],"
             " 'drivers': [{'name': 'd', 'exec': 'main'}]}");
    fx_write_big(&f, "light.json", BUNDLE_TSL_MAX);
    fx_program(&f, "main", 0700);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    CHECK(f.b && f.b->ndrivers == 1 && f.b->drivers[0].ndevices == 0);
    CHECK(f.b && strlen(f.b->products[0].tsl) == BUNDLE_TSL_MAX);
    CHECK_EQ_STR(f.b ? f.b->drivers[0].dir : NULL, f.dir);
    fx_close(&f);

    fx_init(&f);
    fx_write(&f, "bundle.json",
             "{'name': 'x', 'version': '2.0.1-rc.1+b7', 'products': "
             "[{'productKey': 'a1DemoLight', 'tsl': 'light.json'}]}");
    fx_write(&f, "light.json", "{}");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK(f.b && f.b->ndrivers == 0 && f.b->drivers == NULL);
    fx_close(&f);
}

VG_TEST_MAIN(VG_TEST(test_demo_loads) VG_TEST(test_driver_config_text)
                 VG_TEST(test_driver_config_full) VG_TEST(test_driver_config_defaults)
                     VG_TEST(test_optional_parts))
