/* test_demo.c: the shipped demo bundle (functions/demo) loads: its manifest is the one of the
 * bundle issue, its TSL is a light in the Alibaba format, its driver is served the expected
 * config. The driver program is built elsewhere; a stand-in takes its place here. */
#include "bundle/bundle.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>

/* Copies functions/demo/<rel> of the source tree into the fixture. */
static void copy_from_source(fx_t *f, const char *rel)
{
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/functions/demo/%s", VG_SOURCE_DIR, rel);
    snprintf(dst, sizeof dst, "%s/%s", f->dir, rel);
    fx_write(f, rel, ""); /* creates the parent directories */
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CHECK(in != NULL && out != NULL);
    int ch;
    while (in && out && (ch = fgetc(in)) != EOF)
        fputc(ch, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

/* The identifiers of the objects in array `arr`, comma-separated. */
static void identifiers(json_t *arr, char *out, size_t n)
{
    size_t i;
    json_t *item;
    out[0] = '\0';
    json_array_foreach(arr, i, item)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(item, "identifier")));
    }
}

static void test_demo_bundle(void)
{
    fx_t f;
    fx_init(&f);
    copy_from_source(&f, "bundle.json");
    copy_from_source(&f, "products/light.json");
    static const char *const lua[] = {"publish",  "get_light",  "set_light",
                                      "call_turn", "tags",      "invoker",
                                      "helloworld", "credentials", "monitor"};
    for (size_t i = 0; i < sizeof lua / sizeof lua[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "functions/%s.lua", lua[i]);
        copy_from_source(&f, rel);
    }
    fx_program(&f, "drivers/demo_light/main", 0755);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    bundle_t *b = f.b;
    if (!b) {
        fx_close(&f);
        return;
    }
    CHECK_EQ_STR(b->name, "demo");
    CHECK_EQ_STR(b->version, "1.1.0");
    CHECK_EQ_INT(b->nproducts, 1);
    CHECK_EQ_INT(b->ndrivers, 1);
    const bundle_driver_t *d = bundle_driver(b, "demo_light");
    CHECK(d != NULL);
    char *text = d ? bundle_driver_config(d) : NULL;
    CHECK_EQ_STR(text, "{\"config\":{\"json\":{},\"kv\":[],\"fileList\":[]},"
                       "\"deviceList\":["
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev1\","
                       "\"custom\":\"{\\\"port\\\":12345}\"},"
                       "{\"productKey\":\"a1DemoLight\",\"deviceName\":\"LightDev2\","
                       "\"custom\":\"{}\"}]}");
    free(text);
    if (d && d->ndevices == 2) {
        CHECK_EQ_STR(json_string_value(json_object_get(d->devices[0].tags, "location")),
                     "master bedroom");
        CHECK_EQ_STR(json_string_value(json_object_get(d->devices[1].tags, "location")),
                     "living room");
    }

    const bundle_product_t *p = bundle_product(b, "a1DemoLight");
    json_t *tsl = p ? json_loads(p->tsl, 0, NULL) : NULL;
    char ids[256];
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(tsl, "profile"), "productKey")),
                 "a1DemoLight");
    identifiers(json_object_get(tsl, "properties"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "LightSwitch,brightness,temperature");
    identifiers(json_object_get(tsl, "events"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "post,high_temperature");
    identifiers(json_object_get(tsl, "services"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "set,get,turn");
    json_t *props = json_object_get(tsl, "properties");
    json_t *sw = json_array_get(props, 0), *temp = json_array_get(props, 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(sw, "dataType"), "type")),
                 "bool");
    CHECK_EQ_STR(json_string_value(json_object_get(sw, "accessMode")), "rw");
    CHECK_EQ_STR(json_string_value(json_object_get(temp, "accessMode")), "r");
    CHECK_EQ_STR(json_string_value(json_object_get(
                     json_object_get(json_object_get(temp, "dataType"), "specs"), "unit")),
                 "°C");
    json_decref(tsl);
    fx_close(&f);
}

VG_TEST_MAIN(VG_TEST(test_demo_bundle))
