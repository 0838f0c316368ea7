/* test_errors.c: every kind of manifest mistake is reported as one exact line
 * "FILE: FIELD: PROBLEM", and one load reports all the mistakes, not just the first. */
#include "bundle/bundle.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>

/* Loads the demo with one replacement; expects VG_EINVAL and exactly `want`. */
#define EXPECT_WITH(from, to, want)                                                                \
    do {                                                                                           \
        fx_t f_;                                                                                   \
        fx_init(&f_);                                                                              \
        fx_demo_with(&f_, from, to);                                                               \
        CHECK_EQ_INT(fx_load(&f_, NULL), VG_EINVAL);                                               \
        CHECK(f_.b == NULL);                                                                       \
        CHECK_EQ_STR(fx_errors(&f_), want);                                                        \
        fx_close(&f_);                                                                             \
    } while (0)

static void test_bundle_dir(void)
{
    fx_t f;
    fx_init(&f);
    char dir[PATH_MAX], want[2 * PATH_MAX];
    snprintf(dir, sizeof dir, "%s/nope", f.dir);
    CHECK_EQ_INT(fx_load(&f, dir), VG_EINVAL);
    snprintf(want, sizeof want, "%s: (bundle): no such directory\n", dir);
    CHECK_EQ_STR(fx_errors(&f), want);

    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    snprintf(want, sizeof want,
             "bundle.json: (file): no such file in %s; a bundle is a directory holding "
             "bundle.json\n",
             f.dir);
    CHECK_EQ_STR(fx_errors(&f), want);

    fx_write(&f, "file", "x");
    snprintf(dir, sizeof dir, "%s/file", f.dir);
    CHECK_EQ_INT(fx_load(&f, dir), VG_EINVAL);
    snprintf(want, sizeof want, "%s: (bundle): not a directory\n", dir);
    CHECK_EQ_STR(fx_errors(&f), want);
    fx_close(&f);
}

static void test_manifest_file(void)
{
    fx_t f;
    fx_init(&f);
    fx_write(&f, "bundle.json", "{'name': 'demo',\n 'version': }");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: line 2, column 13: invalid JSON: unexpected token "
                                "near '}'\n");
    fx_write(&f, "bundle.json", "{'name': 'demo', 'name': 'x'}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: line 1, column 23: invalid JSON: duplicate object "
                                "key near '\"name\"'\n");
    fx_write(&f, "bundle.json", "[1, 2]");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: (top level) = [1,2]: expected an object\n");
    fx_write_big(&f, "bundle.json", BUNDLE_MANIFEST_MAX + 1);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f),
                 "bundle.json: (file): the file is bigger than the limit of 16777216 bytes\n");
    fx_close(&f);
}

static void test_top_level(void)
{
    EXPECT_WITH("'name': 'demo', ", "'name': 'demo', 'colour': [], ",
                "bundle.json: colour: unknown key; valid keys are name, version, products, "
                "drivers, functions, routes\n");
    EXPECT_WITH("'version': '1.0.0',", "", "bundle.json: version: required key missing\n");
    EXPECT_WITH("'version': '1.0.0'", "'version': 1",
                "bundle.json: version = 1: expected a string\n");
    EXPECT_WITH("'name': 'demo'", "'name': 'my demo'",
                "bundle.json: name = \"my demo\": expected 1 to 64 characters of A-Z a-z 0-9 . _ "
                "-\n");
    EXPECT_WITH("'name': 'demo'", "'name': ''",
                "bundle.json: name = \"\": expected 1 to 64 characters of A-Z a-z 0-9 . _ -\n");
    EXPECT_WITH("'name': 'demo'",
                "'name': 'x1234567890123456789012345678901234567890123456789012345678901234'",
                "bundle.json: name = "
                "\"x1234567890123456789012345678901234567890123456789012345678901234\": expected "
                "1 to 64 characters of A-Z a-z 0-9 . _ -\n");
    static const char *const bad_versions[] = {
        "v1", "1.", "1.2.3.4", "1.0-", "1.0 beta", "1.0.0-123456789012345678901234567"};
    for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
        char to[128], want[512];
        snprintf(to, sizeof to, "'version': '%s'", bad_versions[i]);
        snprintf(want, sizeof want,
                 "bundle.json: version = \"%s\": expected a version such as 1.0.0: 1 to 3 "
                 "numbers joined by dots, an optional -suffix, at most 32 characters\n",
                 bad_versions[i]);
        EXPECT_WITH("'version': '1.0.0'", to, want);
    }
    EXPECT_WITH("'products': [{'productKey': 'a1DemoLight', 'tsl': 'products/light.json'}]",
                "'products': []",
                "bundle.json: products = []: expected at least one product\n"
                "bundle.json: drivers[0].devices[0].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n"
                "bundle.json: drivers[0].devices[1].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n");
    EXPECT_WITH("'drivers': [", "'drivers': 7, 'x': [",
                "bundle.json: x: unknown key; valid keys are name, version, products, drivers, "
                "functions, routes\n"
                "bundle.json: drivers = 7: expected an array\n");
}

static void test_products(void)
{
    EXPECT_WITH("'tsl': 'products/light.json'}]",
                "'tsl': 'products/light.json'}, {'productKey': 'a1DemoLight', 'tsl': "
                "'products/light.json'}]",
                "bundle.json: products[1].productKey = \"a1DemoLight\": duplicate of "
                "products[0].productKey\n");
    EXPECT_WITH("{'productKey': 'a1DemoLight', 'tsl'", "{'productKey': 'a1 Demo', 'tsl'",
                "bundle.json: products[0].productKey = \"a1 Demo\": expected 1 to 64 characters "
                "of A-Z a-z 0-9 _ . : -\n"
                "bundle.json: drivers[0].devices[0].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n"
                "bundle.json: drivers[0].devices[1].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n");
    EXPECT_WITH("'tsl': 'products/light.json'", "'tsl': 'products/nope.json'",
                "bundle.json: products[0].tsl = \"products/nope.json\": no such file\n");
    EXPECT_WITH("'tsl': 'products/light.json'", "'tsl': 'products'",
                "bundle.json: products[0].tsl = \"products\": is a directory, not a file\n");
    EXPECT_WITH("'tsl': 'products/light.json'", "'tsl': ''",
                "bundle.json: products[0].tsl = \"\": expected a non-empty path relative to the "
                "bundle\n");
    EXPECT_WITH("'tsl': 'products/light.json'", "'tsl': 'products/light.json', 'name': 'x'",
                "bundle.json: products[0].name: unknown key; valid keys are productKey, tsl, "
                "tslExtInfo\n");
    EXPECT_WITH("'tsl': 'products/light.json'",
                "'tsl': 'products/light.json', "
                "'tslExtInfo': 'products/none.json'",
                "bundle.json: products[0].tslExtInfo = \"products/none.json\": no such file\n");
    /* the devices of a broken product are reported too: loading goes on */
    EXPECT_WITH("{'productKey': 'a1DemoLight', 'tsl': 'products/light.json'}", "'a1DemoLight'",
                "bundle.json: products[0] = \"a1DemoLight\": expected an object\n"
                "bundle.json: drivers[0].devices[0].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n"
                "bundle.json: drivers[0].devices[1].productKey = \"a1DemoLight\": no such "
                "product; the bundle has no valid product\n");
}

static void test_tsl_content(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo(&f);
    fx_write(&f, "products/light.json", "{'profile': {'productKey': 'a1DemoLight'},\n 'x': [1,]}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "products/light.json: line 2, column 10: invalid JSON: unexpected "
                                "token near ']'\n");
    fx_write(&f, "products/light.json", "'a1DemoLight'");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "products/light.json: line 1, column 13: invalid JSON: '[' or '{' "
                                "expected near '\"a1DemoLight\"'\n");
    fx_write(&f, "products/light.json", "{'profile': {'productKey': 'a1Other'}}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "products/light.json: profile.productKey = \"a1Other\": expected "
                                "\"a1DemoLight\", the productKey bundle.json gives this file\n");
    fx_write(&f, "products/light.json", "{'profile': []}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "products/light.json: profile = []: expected an object\n");
    fx_write(&f, "products/light.json", "{'profile': {}, 'properties': []}");
    CHECK_EQ_INT(fx_load(&f, NULL), 0); /* no productKey in the profile is fine */
    fx_write_big(&f, "products/light.json", BUNDLE_TSL_MAX + 1);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: products[0].tsl = \"products/light.json\": the file "
                                "is bigger than the limit of 1048576 bytes\n");
    fx_close(&f);
}

static void test_drivers(void)
{
    EXPECT_WITH("'name': 'demo_light', 'exec'", "'name': 'demo_light', 'colour': 1, 'exec'",
                "bundle.json: drivers[0].colour: unknown key; valid keys are name, exec, config, "
                "devices\n");
    EXPECT_WITH("'exec': 'drivers/demo_light/main',", "",
                "bundle.json: drivers[0].exec: required key missing\n");
    EXPECT_WITH("'exec': 'drivers/demo_light/main'", "'exec': 'drivers/demo_light/mian'",
                "bundle.json: drivers[0].exec = \"drivers/demo_light/mian\": no such file\n");
    EXPECT_WITH("'exec': 'drivers/demo_light/main'", "'exec': 'drivers/demo_light'",
                "bundle.json: drivers[0].exec = \"drivers/demo_light\": is a directory, not a "
                "file\n");
    EXPECT_WITH("'name': 'demo_light'", "'name': 'demo light'",
                "bundle.json: drivers[0].name = \"demo light\": expected 1 to 64 characters of "
                "A-Z a-z 0-9 . _ -\n");
    EXPECT_WITH("}]\n }]\n}",
                "}]\n }, {'name': 'demo_light', 'exec': 'drivers/demo_light/main'}]\n}",
                "bundle.json: drivers[1].name = \"demo_light\": duplicate of drivers[0].name\n");

    fx_t f;
    fx_init(&f);
    fx_demo(&f);
    fx_program(&f, "drivers/demo_light/main", 0644);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: drivers[0].exec = \"drivers/demo_light/main\": is "
                                "not executable\n");
    fx_close(&f);
}

static void test_config(void)
{
    const char *cfg = "'config': {'json': {}, 'kv': [], 'fileList': []}";
    EXPECT_WITH(cfg, "'config': []", "bundle.json: drivers[0].config = []: expected an object\n");
    EXPECT_WITH(cfg, "'config': {'json': [], 'kv': {}, 'fileList': 'a'}",
                "bundle.json: drivers[0].config.json = []: expected an object\n"
                "bundle.json: drivers[0].config.kv = {}: expected an array\n"
                "bundle.json: drivers[0].config.fileList = \"a\": expected an array\n");
    EXPECT_WITH(cfg,
                "'config': {'kv': [{'key': 'a', 'value': 'b'}, {'key': 'a', 'value': 'c'},"
                " {'key': '', 'value': 1, 'colour': 'red'}, 'x']}",
                "bundle.json: drivers[0].config.kv[1].key = \"a\": duplicate of "
                "drivers[0].config.kv[0].key\n"
                "bundle.json: drivers[0].config.kv[2].colour: unknown key; valid keys are key, "
                "value, note\n"
                "bundle.json: drivers[0].config.kv[2].key = \"\": expected a non-empty key\n"
                "bundle.json: drivers[0].config.kv[2].value = 1: expected a string\n"
                "bundle.json: drivers[0].config.kv[3] = \"x\": expected an object\n");
    EXPECT_WITH(cfg, "'config': {'kv': [{'value': 'b'}]}",
                "bundle.json: drivers[0].config.kv[0].key: required key missing\n");
    EXPECT_WITH(cfg, "'config': {'fileList': [{'path': 'device_config.json'}, {'name': 'x'}]}",
                "bundle.json: drivers[0].config.fileList[0].path = \"device_config.json\": no "
                "such file\n"
                "bundle.json: drivers[0].config.fileList[1].name: unknown key; valid keys are "
                "path\n"
                "bundle.json: drivers[0].config.fileList[1].path: required key missing\n");
}

static void test_devices(void)
{
    EXPECT_WITH("{'productKey': 'a1DemoLight', 'deviceName': 'LightDev2'",
                "{'productKey': 'a1Nope', 'deviceName': 'LightDev2'",
                "bundle.json: drivers[0].devices[1].productKey = \"a1Nope\": no such product; "
                "products are a1DemoLight\n");
    EXPECT_WITH("'deviceName': 'LightDev2'", "'deviceName': 'LightDev1'",
                "bundle.json: drivers[0].devices[1].deviceName = \"LightDev1\": duplicate device "
                "a1DemoLight/LightDev1; drivers[0].devices[0] has it\n");
    EXPECT_WITH("}]\n }]\n}",
                "}]\n }, {'name': 'other', 'exec': 'drivers/demo_light/main', 'devices': "
                "[{'productKey': 'a1DemoLight', 'deviceName': 'LightDev2'}]}]\n}",
                "bundle.json: drivers[1].devices[0].deviceName = \"LightDev2\": duplicate device "
                "a1DemoLight/LightDev2; drivers[0].devices[1] has it\n");
    EXPECT_WITH("'deviceName': 'LightDev1',", "'deviceName': 'Light/Dev1', 'localName': 'a b',",
                "bundle.json: drivers[0].devices[0].deviceName = \"Light/Dev1\": expected 1 to 64 "
                "characters of A-Z a-z 0-9 _ . : @ -\n"
                "bundle.json: drivers[0].devices[0].localName = \"a b\": expected 1 to 64 "
                "characters of A-Z a-z 0-9 _ . : @ -\n");
    EXPECT_WITH("'deviceName': 'LightDev", "'localName': 'l', 'deviceName': 'LightDev",
                "bundle.json: drivers[0].devices[1].localName = \"l\": duplicate localName of "
                "product a1DemoLight; drivers[0].devices[0] has it\n");
    EXPECT_WITH("{'productKey': 'a1DemoLight', 'deviceName': 'LightDev1',",
                "{'deviceName': 'LightDev1', 'size': 3,",
                "bundle.json: drivers[0].devices[0].size: unknown key; valid keys are productKey, "
                "deviceName, localName, tags, custom\n"
                "bundle.json: drivers[0].devices[0].productKey: required key missing\n");
    EXPECT_WITH("'location': 'master bedroom'", "'location': 'master bedroom', 'floor': 3, '': 'x'",
                "bundle.json: drivers[0].devices[0].tags.floor = 3: expected a string\n"
                "bundle.json: drivers[0].devices[0].tags[\"\"] = \"x\": expected a non-empty tag "
                "name\n");
    EXPECT_WITH("'custom': {'port': 12345}", "'custom': '{\\'port\\': 12345}'",
                "bundle.json: drivers[0].devices[0].custom = \"{\\\"port\\\": 12345}\": expected "
                "an object\n");
    EXPECT_WITH("'tags': {'location': 'living room'}",
                "'tags': {'location': 'living room'}, "
                "'the colour': 'red'",
                "bundle.json: drivers[0].devices[1][\"the colour\"]: unknown key; valid keys are "
                "productKey, deviceName, localName, tags, custom\n");
}

/* An unknown productKey lists the products, at most 8 of them. */
static void test_many_products(void)
{
    fx_t f;
    fx_init(&f);
    fx_write(&f, "t.json", "{}");
    vg_buf_t m;
    vg_buf_init(&m);
    vg_buf_puts(&m, "{'name': 'x', 'version': '1', 'products': [");
    for (int i = 0; i < 10; i++)
        vg_buf_printf(&m, "%s{'productKey': 'p%d', 'tsl': 't.json'}", i ? ", " : "", i);
    vg_buf_puts(&m, "], 'drivers': [{'name': 'd', 'exec': 'main', 'devices': "
                    "[{'productKey': 'p10', 'deviceName': 'x'}]}]}");
    fx_write(&f, "bundle.json", m.data);
    fx_program(&f, "main", 0755);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: drivers[0].devices[0].productKey = \"p10\": no "
                                "such product; products are p0, p1, p2, p3, p4, p5, p6, p7 and 2 "
                                "more\n");
    vg_buf_close(&m);
    fx_close(&f);
}

/* One load reports every mistake, in document order of the objects, table order of keys. */
static void test_many_at_once(void)
{
    fx_t f;
    fx_init(&f);
    fx_write(&f, "products/light.json", "{'profile': {'productKey': 'a1Other'}}");
    fx_program(&f, "main", 0644);
    fx_write(&f, "bundle.json",
             "{'name': 'demo!', 'colour': [],\n"
             " 'products': [{'productKey': 'a1DemoLight', 'tsl': 'products/light.json'},\n"
             "              {'productKey': 'a1Fan', 'tsl': '../fan.json'}],\n"
             " 'drivers': [{'name': 'd1', 'exec': 'main',\n"
             "   'devices': [{'productKey': 'a1Nope', 'deviceName': 'dev1'},\n"
             "               {'productKey': 'a1Fan', 'deviceName': 'dev1', 'tags': {'a': 1}},\n"
             "               {'productKey': 'a1Fan', 'deviceName': 'dev1'}]}]}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK(f.b == NULL);
    CHECK_EQ_STR(fx_errors(&f),
                 "bundle.json: colour: unknown key; valid keys are name, version, products, "
                 "drivers, functions, routes\n"
                 "bundle.json: name = \"demo!\": expected 1 to 64 characters of A-Z a-z 0-9 . _ -\n"
                 "bundle.json: version: required key missing\n"
                 "products/light.json: profile.productKey = \"a1Other\": expected \"a1DemoLight\", "
                 "the productKey bundle.json gives this file\n"
                 "bundle.json: products[1].tsl = \"../fan.json\": leaves the bundle directory\n"
                 "bundle.json: drivers[0].exec = \"main\": is not executable\n"
                 "bundle.json: drivers[0].devices[0].productKey = \"a1Nope\": no such product; "
                 "products are a1DemoLight, a1Fan\n"
                 "bundle.json: drivers[0].devices[1].tags.a = 1: expected a string\n"
                 "bundle.json: drivers[0].devices[2].deviceName = \"dev1\": duplicate device "
                 "a1Fan/dev1; drivers[0].devices[1] has it\n");
    fx_close(&f);
}

/* A long value is shortened in the message; control characters never split a line. */
static void test_message_hygiene(void)
{
    EXPECT_WITH("'name': 'demo'",
                "'name': '0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789'",
                "bundle.json: name = "
                "\"0123456789012345678901234567890123456789012345678901234567890123456789012345..."
                ": expected 1 to 64 characters of A-Z a-z 0-9 . _ -\n");
    EXPECT_WITH("'name': 'demo', ", "'name': 'demo', 'a\\nb': 1, ",
                "bundle.json: [\"a\\nb\"]: unknown key; valid keys are name, version, products, "
                "drivers, functions, routes\n");
}

VG_TEST_MAIN(VG_TEST(test_bundle_dir) VG_TEST(test_manifest_file) VG_TEST(test_top_level)
                 VG_TEST(test_products) VG_TEST(test_tsl_content) VG_TEST(test_drivers)
                     VG_TEST(test_config) VG_TEST(test_devices) VG_TEST(test_many_products)
                         VG_TEST(test_many_at_once) VG_TEST(test_message_hygiene))
