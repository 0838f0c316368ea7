/* test_routes.c: a manifest's "routes" load into bundle_route_t with their defaults (source
 * any, topic "#"); names, filters, topics and loops are checked; sources and targets must name
 * products, devices and functions of the bundle, whatever the order of the keys in the file. */
#include "bundle/bundle.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two functions, EdgeFC/monitor and EdgeFC/alarm, with ' for ". */
#define FUNCTIONS                                                                                  \
    "'functions': [{'service': 'EdgeFC', 'name': 'monitor', 'code': 'f.lua'},"                     \
    " {'service': 'EdgeFC', 'name': 'alarm', 'code': 'f.lua'}]"

/* The demo bundle (product a1DemoLight, devices LightDev1 and LightDev2) with the top-level
 * keys `keys` added, and the functions' code f.lua. */
static void demo_plus(fx_t *f, const char *keys)
{
    static char to[64 * 1024];
    snprintf(to, sizeof to, " }],\n %s\n}", keys);
    fx_demo_with(f, " }]\n}", to);
    fx_write(f, "f.lua", "function handler(event, context) return event end\n");
}

/* The demo plus FUNCTIONS plus routes `routes` (the array's items); expects exactly `want`. */
#define EXPECT_ROUTES(routes, want)                                                                \
    do {                                                                                           \
        fx_t f_;                                                                                   \
        fx_init(&f_);                                                                              \
        demo_plus(&f_, FUNCTIONS ",\n 'routes': [" routes "]");                                    \
        CHECK_EQ_INT(fx_load(&f_, NULL), VG_EINVAL);                                               \
        CHECK(f_.b == NULL);                                                                       \
        CHECK_EQ_STR(fx_errors(&f_), want);                                                        \
        fx_close(&f_);                                                                             \
    } while (0)

/* The same, expecting a load without problems. */
#define ROUTES_OK(routes)                                                                          \
    do {                                                                                           \
        fx_t f_;                                                                                   \
        fx_init(&f_);                                                                              \
        demo_plus(&f_, FUNCTIONS ",\n 'routes': [" routes "]");                                    \
        CHECK_EQ_INT(fx_load(&f_, NULL), 0);                                                       \
        CHECK_EQ_STR(fx_errors(&f_), "");                                                          \
        fx_close(&f_);                                                                             \
    } while (0)

#define TO_MONITOR "'target': {'type': 'function', 'service': 'EdgeFC', 'function': 'monitor'}"

static const char *str(const char *s)
{
    return s ? s : "(null)";
}

/* The issue's example and one route of each other kind, every field as given or defaulted. */
static void test_full(void)
{
    fx_t f;
    fx_init(&f);
    demo_plus(&f, FUNCTIONS ",\n 'routes': [\n"
                            "  {'name': 'lights', 'source': {'type': 'device', 'productKey': "
                            "'a1DemoLight', 'deviceName': '+'},\n"
                            "   'topic': '/sys/a1DemoLight/+/thing/event/#',\n"
                            "   " TO_MONITOR "},\n"
                            "  {'name': 'alarms', 'source': {'type': 'function', 'service': "
                            "'EdgeFC', 'function': 'monitor'},\n"
                            "   'topic': '/alarm/+', 'target': {'type': 'topic', 'topic': "
                            "'/cloud/alarm'}},\n"
                            "  {'name': 'all', 'target': {'type': 'function', 'service': "
                            "'EdgeFC', 'function': 'alarm'}},\n"
                            "  {'name': 'any.1', 'source': {'type': 'any'}, 'topic': '/in/#',\n"
                            "   'target': {'type': 'topic', 'topic': '/out'}}]");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    const bundle_t *b = f.b;
    if (!b || b->nroutes != 4) {
        CHECK(b && b->nroutes == 4);
        fx_close(&f);
        return;
    }
    const bundle_route_t *r = &b->routes[0];
    CHECK_EQ_STR(r->name, "lights");
    CHECK_EQ_INT(r->source_type, BUNDLE_SOURCE_DEVICE);
    CHECK_EQ_STR(r->source_a, "a1DemoLight");
    CHECK_EQ_STR(r->source_b, "+");
    CHECK_EQ_STR(r->topic, "/sys/a1DemoLight/+/thing/event/#");
    CHECK_EQ_INT(r->target_type, BUNDLE_TARGET_FUNCTION);
    CHECK_EQ_STR(r->target_a, "EdgeFC");
    CHECK_EQ_STR(r->target_b, "monitor");

    r = &b->routes[1];
    CHECK_EQ_STR(r->name, "alarms");
    CHECK_EQ_INT(r->source_type, BUNDLE_SOURCE_FUNCTION);
    CHECK_EQ_STR(r->source_a, "EdgeFC");
    CHECK_EQ_STR(r->source_b, "monitor");
    CHECK_EQ_STR(r->topic, "/alarm/+");
    CHECK_EQ_INT(r->target_type, BUNDLE_TARGET_TOPIC);
    CHECK_EQ_STR(r->target_a, "/cloud/alarm");
    CHECK(r->target_b == NULL);

    r = &b->routes[2]; /* no source: any; no topic: "#" */
    CHECK_EQ_STR(r->name, "all");
    CHECK_EQ_INT(r->source_type, BUNDLE_SOURCE_ANY);
    CHECK(r->source_a == NULL && r->source_b == NULL);
    CHECK_EQ_STR(r->topic, "#");
    CHECK_EQ_INT(r->target_type, BUNDLE_TARGET_FUNCTION);
    CHECK_EQ_STR(r->target_b, "alarm");

    r = &b->routes[3];
    CHECK_EQ_INT(r->source_type, BUNDLE_SOURCE_ANY);
    CHECK(r->source_a == NULL && r->source_b == NULL);
    CHECK_EQ_STR(r->topic, "/in/#");
    CHECK_EQ_STR(r->target_a, "/out");
    fx_close(&f);

    /* no routes key, an empty one */
    fx_init(&f);
    demo_plus(&f, FUNCTIONS);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK(f.b && f.b->nroutes == 0 && f.b->routes == NULL);
    demo_plus(&f, FUNCTIONS ", 'routes': []");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK(f.b && f.b->nroutes == 0);
    fx_close(&f);
}

/* "+" in a source field is any value; a field left out is "+". */
static void test_wildcard_sources(void)
{
    fx_t f;
    fx_init(&f);
    demo_plus(&f, FUNCTIONS ",\n 'routes': [\n"
                            "  {'name': 'r0', 'source': {'type': 'device', 'productKey': '+', "
                            "'deviceName': '+'}, " TO_MONITOR "},\n"
                            "  {'name': 'r1', 'source': {'type': 'device'}, " TO_MONITOR "},\n"
                            "  {'name': 'r2', 'source': {'type': 'device', 'productKey': "
                            "'a1DemoLight'}, " TO_MONITOR "},\n"
                            "  {'name': 'r3', 'source': {'type': 'device', 'deviceName': "
                            "'AnyName'}, " TO_MONITOR "},\n"
                            "  {'name': 'r4', 'source': {'type': 'device', 'productKey': "
                            "'a1DemoLight', 'deviceName': 'LightDev2'}, " TO_MONITOR "},\n"
                            "  {'name': 'r5', 'source': {'type': 'function', 'service': '+', "
                            "'function': '+'}, " TO_MONITOR "},\n"
                            "  {'name': 'r6', 'source': {'type': 'function', 'service': "
                            "'EdgeFC'}, " TO_MONITOR "},\n"
                            "  {'name': 'r7', 'source': {'type': 'function', 'function': "
                            "'alarm'}, " TO_MONITOR "},\n"
                            "  {'name': 'r8', 'source': {'type': 'function'}, " TO_MONITOR "}]");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    static const char *const want[][2] = {
        {"+", "+"},
        {"+", "+"},
        {"a1DemoLight", "+"},
        {"+", "AnyName"},
        {"a1DemoLight", "LightDev2"},
        {"+", "+"},
        {"EdgeFC", "+"},
        {"+", "alarm"},
        {"+", "+"},
    };
    for (size_t i = 0; f.b && i < 9 && i < f.b->nroutes; i++) {
        const bundle_route_t *r = &f.b->routes[i];
        CHECK_EQ_INT(r->source_type, i < 5 ? BUNDLE_SOURCE_DEVICE : BUNDLE_SOURCE_FUNCTION);
        CHECK_EQ_STR(str(r->source_a), want[i][0]);
        CHECK_EQ_STR(str(r->source_b), want[i][1]);
    }
    CHECK(f.b && f.b->nroutes == 9);
    fx_close(&f);
}

/* Sources and targets must name what the bundle has. */
static void test_unknown_references(void)
{
    EXPECT_ROUTES("{'name': 'r', 'target': {'type': 'function', 'service': 'EdgeFC', "
                  "'function': 'monitr'}}",
                  "bundle.json: routes[0].target.function = \"monitr\": no such function "
                  "EdgeFC/monitr; functions are EdgeFC/monitor, EdgeFC/alarm\n");
    EXPECT_ROUTES("{'name': 'r', 'target': {'type': 'function', 'service': 'Edge', "
                  "'function': 'monitor'}}",
                  "bundle.json: routes[0].target.function = \"monitor\": no such function "
                  "Edge/monitor; functions are EdgeFC/monitor, EdgeFC/alarm\n");
    /* "+" is no function name in a target */
    EXPECT_ROUTES("{'name': 'r', 'target': {'type': 'function', 'service': '+', "
                  "'function': '+'}}",
                  "bundle.json: routes[0].target.service = \"+\": expected 1 to 64 characters of "
                  "A-Z a-z 0-9 . _ -\n"
                  "bundle.json: routes[0].target.function = \"+\": expected 1 to 64 characters "
                  "of A-Z a-z 0-9 . _ -\n");
    EXPECT_ROUTES("{'name': 'a', 'source': {'type': 'function', 'service': 'EdgeFC', 'function': "
                  "'nope'}, " TO_MONITOR "},\n"
                  " {'name': 'b', 'source': {'type': 'function', 'service': 'Nope'}, " TO_MONITOR
                  "},\n"
                  " {'name': 'c', 'source': {'type': 'function', 'service': '+', 'function': "
                  "'nope'}, " TO_MONITOR "}",
                  "bundle.json: routes[0].source.function = \"nope\": no such function "
                  "EdgeFC/nope; functions are EdgeFC/monitor, EdgeFC/alarm\n"
                  "bundle.json: routes[1].source.service = \"Nope\": no function of the bundle "
                  "has service Nope; functions are EdgeFC/monitor, EdgeFC/alarm\n"
                  "bundle.json: routes[2].source.function = \"nope\": no function of the bundle "
                  "is named nope; functions are EdgeFC/monitor, EdgeFC/alarm\n");
    EXPECT_ROUTES("{'name': 'a', 'source': {'type': 'device', 'productKey': 'a1Nope', "
                  "'deviceName': 'LightDev1'}, " TO_MONITOR "},\n"
                  " {'name': 'b', 'source': {'type': 'device', 'productKey': 'a1Nope'}, " TO_MONITOR
                  "},\n"
                  " {'name': 'c', 'source': {'type': 'device', 'productKey': 'a1DemoLight', "
                  "'deviceName': 'LightDev3'}, " TO_MONITOR "}",
                  "bundle.json: routes[0].source.productKey = \"a1Nope\": no such product; "
                  "products are a1DemoLight\n"
                  "bundle.json: routes[1].source.productKey = \"a1Nope\": no such product; "
                  "products are a1DemoLight\n"
                  "bundle.json: routes[2].source.deviceName = \"LightDev3\": no such device "
                  "a1DemoLight/LightDev3: no driver of the bundle lists it in its devices\n");

    /* a bundle without functions */
    fx_t f;
    fx_init(&f);
    demo_plus(&f, "'routes': [{'name': 'r', " TO_MONITOR "}]");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: routes[0].target.function = \"monitor\": no such "
                                "function EdgeFC/monitor; the bundle has no function\n");
    /* a broken "functions" key is reported once, not again by every route naming one */
    demo_plus(&f, "'functions': {}, 'routes': [{'name': 'r', " TO_MONITOR "}]");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions = {}: expected an array\n");
    /* a function with a problem of its own still counts as named */
    demo_plus(&f, "'functions': [{'service': 'EdgeFC', 'name': 'monitor', 'code': 'f.lua', "
                  "'memoryMB': 0}], 'routes': [{'name': 'r', " TO_MONITOR "}]");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[0].memoryMB = 0: expected an integer "
                                "from 1 to 1024\n");
    fx_close(&f);
}

/* A route from any source to a topic its own filter matches would route its own output. */
static void test_loops(void)
{
    EXPECT_ROUTES("{'name': 'r', 'target': {'type': 'topic', 'topic': '/out'}},\n"
                  " {'name': 's', 'source': {'type': 'any'}, 'topic': '/a/+', 'target': "
                  "{'type': 'topic', 'topic': '/a/b'}},\n"
                  " {'name': 't', 'topic': '/x/#', 'target': {'type': 'topic', 'topic': '/x'}}",
                  "bundle.json: routes[0].target.topic = \"/out\": loops back into itself: the "
                  "route takes messages from any source on \"#\", which matches this topic, so it "
                  "would route what it publishes again; give it a device or function source, or "
                  "a filter that does not match\n"
                  "bundle.json: routes[1].target.topic = \"/a/b\": loops back into itself: the "
                  "route takes messages from any source on \"/a/+\", which matches this topic, so "
                  "it would route what it publishes again; give it a device or function source, "
                  "or a filter that does not match\n"
                  "bundle.json: routes[2].target.topic = \"/x\": loops back into itself: the "
                  "route takes messages from any source on \"/x/#\", which matches this topic, "
                  "so it would route what it publishes again; give it a device or function "
                  "source, or a filter that does not match\n");
    /* not loops: a filter that does not match, a source that is not the route */
    ROUTES_OK("{'name': 'a', 'topic': '/in/#', 'target': {'type': 'topic', 'topic': '/out'}},\n"
              " {'name': 'b', 'source': {'type': 'any'}, 'topic': '/a/+', 'target': "
              "{'type': 'topic', 'topic': '/a/b/c'}},\n"
              " {'name': 'c', 'source': {'type': 'device'}, 'target': {'type': 'topic', "
              "'topic': '/out'}},\n"
              " {'name': 'd', 'source': {'type': 'function'}, 'topic': '/x', 'target': "
              "{'type': 'topic', 'topic': '/x'}},\n"
              " {'name': 'e', 'topic': '#', 'target': {'type': 'topic', 'topic': '$SYS/x'}},\n"
              " {'name': 'f', 'target': {'type': 'function', 'service': 'EdgeFC', "
              "'function': 'alarm'}}");
}

/* Names, filters, topics, types and keys of routes and their parts. */
static void test_route_fields(void)
{
    EXPECT_ROUTES("{'name': 'r 1', " TO_MONITOR "}, {'name': 'r2', " TO_MONITOR "}, "
                  "{'name': 'r2', " TO_MONITOR "}, {" TO_MONITOR "}",
                  "bundle.json: routes[0].name = \"r 1\": expected 1 to 64 characters of A-Z a-z "
                  "0-9 . _ -\n"
                  "bundle.json: routes[2].name = \"r2\": duplicate of routes[1].name\n"
                  "bundle.json: routes[3].name: required key missing\n");
    EXPECT_ROUTES("{'name': 'a', 'topic': 'a/#/b', " TO_MONITOR "},"
                  " {'name': 'b', 'topic': 'a+', " TO_MONITOR "},"
                  " {'name': 'c', 'topic': '', " TO_MONITOR "},"
                  " {'name': 'd', 'topic': 7, " TO_MONITOR "}",
                  "bundle.json: routes[0].topic = \"a/#/b\": expected an MQTT topic filter: '#' "
                  "must be the last level\n"
                  "bundle.json: routes[1].topic = \"a+\": expected an MQTT topic filter: '+' must "
                  "be a whole level\n"
                  "bundle.json: routes[2].topic = \"\": expected an MQTT topic filter: the filter "
                  "is empty\n"
                  "bundle.json: routes[3].topic = 7: expected a string\n");
    EXPECT_ROUTES("{'name': 'a', 'source': {'type': 'any', 'productKey': 'x'}, " TO_MONITOR "},"
                  " {'name': 'b', 'source': {'type': 'cloud'}, " TO_MONITOR "},"
                  " {'name': 'c', 'source': {'productKey': '+'}, " TO_MONITOR "},"
                  " {'name': 'd', 'source': {'type': 1}, " TO_MONITOR "},"
                  " {'name': 'e', 'source': 'any', " TO_MONITOR "},"
                  " {'name': 'f', 'source': {'type': 'device', 'service': 'EdgeFC', "
                  "'productKey': 'a b', 'deviceName': 'x/y'}, " TO_MONITOR "},"
                  " {'name': 'g', 'source': {'type': 'function', 'service': 'a b', "
                  "'function': ''}, " TO_MONITOR "}",
                  "bundle.json: routes[0].source.productKey: unknown key; valid keys are type\n"
                  "bundle.json: routes[1].source.type = \"cloud\": expected \"device\", "
                  "\"function\" or \"any\"\n"
                  "bundle.json: routes[2].source.type: required key missing\n"
                  "bundle.json: routes[3].source.type = 1: expected a string\n"
                  "bundle.json: routes[4].source = \"any\": expected an object\n"
                  "bundle.json: routes[5].source.service: unknown key; valid keys are type, "
                  "productKey, deviceName\n"
                  "bundle.json: routes[5].source.productKey = \"a b\": expected 1 to 64 "
                  "characters of A-Z a-z 0-9 _ . : -\n"
                  "bundle.json: routes[5].source.deviceName = \"x/y\": expected 1 to 64 "
                  "characters of A-Z a-z 0-9 _ . : @ -\n"
                  "bundle.json: routes[6].source.service = \"a b\": expected 1 to 64 characters "
                  "of A-Z a-z 0-9 . _ -\n"
                  "bundle.json: routes[6].source.function = \"\": expected 1 to 64 characters of "
                  "A-Z a-z 0-9 . _ -\n");
    EXPECT_ROUTES("{'name': 'a'}, {'name': 'b', 'target': {'type': 'queue'}},"
                  " {'name': 'c', 'target': {'type': 'function', 'function': 'monitor'}},"
                  " {'name': 'd', 'target': {'type': 'topic', 'topic': '/a/+', 'qos': 1}},"
                  " {'name': 'e', 'target': {'type': 'topic'}},"
                  " {'name': 'f', 'target': {'type': 'topic', 'topic': ''}},"
                  " {'name': 'g', 'target': ['x'], 'colour': 1}, 'h'",
                  "bundle.json: routes[0].target: required key missing\n"
                  "bundle.json: routes[1].target.type = \"queue\": expected \"function\" or "
                  "\"topic\"\n"
                  "bundle.json: routes[2].target.service: required key missing\n"
                  "bundle.json: routes[3].target.qos: unknown key; valid keys are type, topic\n"
                  "bundle.json: routes[3].target.topic = \"/a/+\": expected a topic to publish on: "
                  "1 to 65535 bytes, no wildcard + or #\n"
                  "bundle.json: routes[4].target.topic: required key missing\n"
                  "bundle.json: routes[5].target.topic = \"\": expected a topic to publish on: 1 "
                  "to 65535 bytes, no wildcard + or #\n"
                  "bundle.json: routes[6].colour: unknown key; valid keys are name, source, topic, "
                  "target\n"
                  "bundle.json: routes[6].target = [\"x\"]: expected an object\n"
                  "bundle.json: routes[7] = \"h\": expected an object\n");
    fx_t f;
    fx_init(&f);
    demo_plus(&f, "'routes': {}");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: routes = {}: expected an array\n");
    fx_close(&f);
}

/* Routes may come before the functions, products and drivers they name. */
static void test_order_independent(void)
{
    fx_t f;
    fx_init(&f);
    fx_write(&f, "f.lua", "function handler() end\n");
    fx_write(&f, "light.json", "{}");
    fx_program(&f, "main", 0755);
    fx_write(&f, "bundle.json",
             "{'routes': [{'name': 'r', 'source': {'type': 'device', 'productKey': 'pk', "
             "'deviceName': 'd1'}, 'target': {'type': 'function', 'service': 'S', 'function': "
             "'f'}},\n"
             "            {'name': 'back', 'source': {'type': 'function', 'service': 'S', "
             "'function': 'f'}, 'target': {'type': 'topic', 'topic': '/out'}}],\n"
             " 'functions': [{'service': 'S', 'name': 'f', 'code': 'f.lua'}],\n"
             " 'drivers': [{'name': 'd', 'exec': 'main', 'devices': [{'productKey': 'pk', "
             "'deviceName': 'd1'}]}],\n"
             " 'products': [{'productKey': 'pk', 'tsl': 'light.json'}],\n"
             " 'name': 'x', 'version': '1'}");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");
    CHECK(f.b && f.b->nroutes == 2 && f.b->nfunctions == 1);
    CHECK_EQ_STR(f.b ? f.b->routes[0].target_b : NULL, "f");

    /* and what is missing is reported the same, wherever the routes are */
    const char *routes = "'routes': [{'name': 'r', 'source': {'type': 'device', 'productKey': "
                         "'pk', 'deviceName': 'd2'}, 'target': {'type': 'function', 'service': "
                         "'S', 'function': 'g'}}]";
    const char *rest = "'functions': [{'service': 'S', 'name': 'f', 'code': 'f.lua'}],\n"
                       " 'drivers': [{'name': 'd', 'exec': 'main', 'devices': [{'productKey': "
                       "'pk', 'deviceName': 'd1'}]}],\n"
                       " 'products': [{'productKey': 'pk', 'tsl': 'light.json'}]";
    const char *want = "bundle.json: routes[0].source.deviceName = \"d2\": no such device pk/d2: "
                       "no driver of the bundle lists it in its devices\n"
                       "bundle.json: routes[0].target.function = \"g\": no such function S/g; "
                       "functions are S/f\n";
    char text[2048];
    snprintf(text, sizeof text, "{'name': 'x', 'version': '1', %s,\n %s}", routes, rest);
    fx_write(&f, "bundle.json", text);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), want);
    snprintf(text, sizeof text, "{'name': 'x', 'version': '1', %s,\n %s}", rest, routes);
    fx_write(&f, "bundle.json", text);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), want);
    fx_close(&f);
}

/* One load reports every mistake of every route: their own first, in order, then what they
 * name elsewhere once the whole manifest is read. */
static void test_many_at_once(void)
{
    EXPECT_ROUTES("{'name': 'lights', 'source': {'type': 'device', 'productKey': 'a1DemoLight', "
                  "'deviceName': 'LightDev9'}, 'topic': '/sys/#/x', 'target': {'type': "
                  "'function', 'service': 'EdgeFC', 'function': 'nope'}},\n"
                  " {'name': 'lights', 'source': {'type': 'function', 'service': 'Nope', "
                  "'extra': 1}, 'target': {'type': 'topic', 'topic': '/a/#'}},\n"
                  " {'name': 'loop', 'target': {'type': 'topic', 'topic': '/a'}},\n"
                  " {'name': 'pk', 'source': {'type': 'device', 'productKey': 'a1Other'}, "
                  "'target': {'type': 'function', 'service': 'Other', 'function': 'monitor'}}",
                  "bundle.json: routes[0].topic = \"/sys/#/x\": expected an MQTT topic filter: "
                  "'#' must be the last level\n"
                  "bundle.json: routes[1].name = \"lights\": duplicate of routes[0].name\n"
                  "bundle.json: routes[1].source.extra: unknown key; valid keys are type, "
                  "service, function\n"
                  "bundle.json: routes[1].target.topic = \"/a/#\": expected a topic to publish "
                  "on: 1 to 65535 bytes, no wildcard + or #\n"
                  "bundle.json: routes[2].target.topic = \"/a\": loops back into itself: the "
                  "route takes messages from any source on \"#\", which matches this topic, so it "
                  "would route what it publishes again; give it a device or function source, or "
                  "a filter that does not match\n"
                  "bundle.json: routes[0].source.deviceName = \"LightDev9\": no such device "
                  "a1DemoLight/LightDev9: no driver of the bundle lists it in its devices\n"
                  "bundle.json: routes[0].target.function = \"nope\": no such function "
                  "EdgeFC/nope; functions are EdgeFC/monitor, EdgeFC/alarm\n"
                  "bundle.json: routes[1].source.service = \"Nope\": no function of the bundle "
                  "has service Nope; functions are EdgeFC/monitor, EdgeFC/alarm\n"
                  "bundle.json: routes[3].source.productKey = \"a1Other\": no such product; "
                  "products are a1DemoLight\n"
                  "bundle.json: routes[3].target.function = \"monitor\": no such function "
                  "Other/monitor; functions are EdgeFC/monitor, EdgeFC/alarm\n");
}

VG_TEST_MAIN(VG_TEST(test_full) VG_TEST(test_wildcard_sources) VG_TEST(test_unknown_references)
                 VG_TEST(test_loops) VG_TEST(test_route_fields) VG_TEST(test_order_independent)
                     VG_TEST(test_many_at_once))
