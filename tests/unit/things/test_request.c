/* test_request.c: device requests: every result code with its message, round trips through a
 * fake port (get, set, service), answers deferred to a later loop turn, port timeouts, a port
 * that never answers or answers twice, offline devices and the cache fallback of get. */
#include "things_fx.h"

#include <le_error.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v) fprintf(stderr, "  bad test JSON: %s\n", text);
    return v;
}

static void test_codes_match_sdk(void)
{
    static const struct {
        int ours, sdk;
    } pairs[] = {
        {THINGS_E_SUCCESS, LE_SUCCESS},
        {THINGS_E_UNKNOWN, LE_ERROR_UNKNOWN},
        {THINGS_E_INVAILD_PARAM, LE_ERROR_INVAILD_PARAM},
        {THINGS_E_ALLOCATING_MEM, LE_ERROR_ALLOCATING_MEM},
        {THINGS_E_CREATING_MUTEX, LE_ERROR_CREATING_MUTEX},
        {THINGS_E_WRITING_FILE, LE_ERROR_WRITING_FILE},
        {THINGS_E_READING_FILE, LE_ERROR_READING_FILE},
        {THINGS_E_TIMEOUT, LE_ERROR_TIMEOUT},
        {THINGS_E_PARAM_RANGE_OVERFLOW, LE_ERROR_PARAM_RANGE_OVERFLOW},
        {THINGS_E_SERVICE_UNREACHABLE, LE_ERROR_SERVICE_UNREACHABLE},
        {THINGS_E_FILE_NOT_EXIST, LE_ERROR_FILE_NOT_EXIST},
        {THINGS_E_DEVICE_UNREGISTER, LEDA_ERROR_DEVICE_UNREGISTER},
        {THINGS_E_DEVICE_OFFLINE, LEDA_ERROR_DEVICE_OFFLINE},
        {THINGS_E_PROPERTY_NOT_EXIST, LEDA_ERROR_PROPERTY_NOT_EXIST},
        {THINGS_E_PROPERTY_READ_ONLY, LEDA_ERROR_PROPERTY_READ_ONLY},
        {THINGS_E_PROPERTY_WRITE_ONLY, LEDA_ERROR_PROPERTY_WRITE_ONLY},
        {THINGS_E_SERVICE_NOT_EXIST, LEDA_ERROR_SERVICE_NOT_EXIST},
        {THINGS_E_SERVICE_INPUT_PARAM, LEDA_ERROR_SERVICE_INPUT_PARAM},
        {THINGS_E_INVALID_JSON, LEDA_ERROR_INVALID_JSON},
        {THINGS_E_INVALID_TYPE, LEDA_ERROR_INVALID_TYPE},
    };
    for (size_t i = 0; i < NELEM(pairs); i++)
        CHECK_EQ_INT(pairs[i].ours, pairs[i].sdk);
    CHECK_EQ_STR(things_strerror(0), "Ok");
    CHECK_EQ_STR(things_strerror(THINGS_E_DEVICE_OFFLINE), "Device offline");
    CHECK_EQ_STR(things_strerror(THINGS_E_TIMEOUT), "Tiemout");
    CHECK_EQ_STR(things_strerror(12345), "Unknow error");
}

/* --- requests refused before anything is sent ------------------------------------------------ */

typedef enum { REQ_GET, REQ_GET_CACHE, REQ_SET, REQ_SERVICE } req_kind_t;

typedef struct req_case {
    req_kind_t kind;
    const char *dn;
    const char *service;
    const char *arg; /* JSON or NULL */
    int code;
    const char *msg;
} req_case_t;

/* Issues one request; checks it is not answered synchronously, then runs the loop. */
static void issue(fx_t *f, const req_case_t *c, got_t *g)
{
    json_t *arg = c->arg ? J(c->arg) : NULL;
    memset(g, 0, sizeof *g);
    switch (c->kind) {
    case REQ_GET:
    case REQ_GET_CACHE:
        things_get_properties(f->t, FX_PK, c->dn, arg, c->kind == REQ_GET_CACHE, got_result, g);
        break;
    case REQ_SET:
        things_set_properties(f->t, FX_PK, c->dn, arg, got_result, g);
        break;
    case REQ_SERVICE:
        things_call_service(f->t, FX_PK, c->dn, c->service, arg, got_result, g);
        break;
    }
    json_decref(arg);
    CHECK_EQ_INT(g->called, 0); /* never synchronously */
    fx_run_until(f, &g->called);
    CHECK_EQ_INT(g->called, 1);
}

#define TYPE  THINGS_E_INVALID_TYPE
#define RANGE THINGS_E_PARAM_RANGE_OVERFLOW
#define INPUT THINGS_E_SERVICE_INPUT_PARAM

static const req_case_t refused[] = {
    /* unknown devices */
    {REQ_GET, "nope", NULL, NULL, THINGS_E_DEVICE_UNREGISTER,
     "device a1Light/nope is not registered"},
    {REQ_SET, "nope", NULL, "{\"power\":1}", THINGS_E_DEVICE_UNREGISTER,
     "device a1Light/nope is not registered"},
    {REQ_SERVICE, "nope", "blink", NULL, THINGS_E_DEVICE_UNREGISTER,
     "device a1Light/nope is not registered"},
    /* get */
    {REQ_GET, "lamp1", NULL, "{\"power\":1}", THINGS_E_INVAILD_PARAM,
     "the properties to read must be an array of identifiers"},
    {REQ_GET, "lamp1", NULL, "[\"power\",7]", THINGS_E_INVAILD_PARAM,
     "properties[1] = 7: expected a property identifier (a string)"},
    {REQ_GET, "lamp1", NULL, "[\"power\",\"speed\"]", THINGS_E_PROPERTY_NOT_EXIST,
     "device a1Light/lamp1 has no property \"speed\"; its properties are brightness, power, "
     "temperature, secret, mode, label, since, color, schedule, ratio"},
    {REQ_GET, "lamp1", NULL, "[\"secret\"]", THINGS_E_PROPERTY_WRITE_ONLY,
     "property \"secret\" of a1Light/lamp1 is write-only (accessMode w)"},
    {REQ_GET, "lamp1", NULL, "[\"power\"]", THINGS_E_DEVICE_OFFLINE,
     "device a1Light/lamp1 is offline"},
    {REQ_GET_CACHE, "lamp1", NULL, "[\"power\"]", THINGS_E_DEVICE_OFFLINE,
     "device a1Light/lamp1 is offline"}, /* nothing cached: the original error */
    /* set */
    {REQ_SET, "lamp1", NULL, "[1]", THINGS_E_INVAILD_PARAM,
     "the properties to set must be a non-empty object {identifier: value}"},
    {REQ_SET, "lamp1", NULL, "{}", THINGS_E_INVAILD_PARAM,
     "the properties to set must be a non-empty object {identifier: value}"},
    {REQ_SET, "lamp1", NULL, NULL, THINGS_E_INVAILD_PARAM,
     "the properties to set must be a non-empty object {identifier: value}"},
    {REQ_SET, "lamp1", NULL, "{\"speed\":1}", THINGS_E_PROPERTY_NOT_EXIST,
     "device a1Light/lamp1 has no property \"speed\"; its writable properties are brightness, "
     "power, secret, mode, label, since, color, schedule, ratio"},
    {REQ_SET, "lamp1", NULL, "{\"power\":1,\"temperature\":20}", THINGS_E_PROPERTY_READ_ONLY,
     "property \"temperature\" of a1Light/lamp1 is read-only (accessMode r)"},
    {REQ_SET, "lamp1", NULL, "{\"brightness\":\"3\"}", TYPE,
     "property brightness = \"3\": expected an int (a JSON integer)"},
    {REQ_SET, "lamp1", NULL, "{\"brightness\":3.5}", TYPE,
     "property brightness = 3.5: expected an int (a JSON integer)"},
    {REQ_SET, "lamp1", NULL, "{\"brightness\":9}", RANGE,
     "property brightness = 9: expected an int from 1 to 5"},
    {REQ_SET, "lamp1", NULL, "{\"brightness\":0}", RANGE,
     "property brightness = 0: expected an int from 1 to 5"},
    {REQ_SET, "lamp1", NULL, "{\"power\":2}", TYPE,
     "property power = 2: expected a bool: 0, 1, true or false"},
    {REQ_SET, "lamp1", NULL, "{\"power\":null}", TYPE,
     "property power = null: expected a bool: 0, 1, true or false"},
    {REQ_SET, "lamp1", NULL, "{\"mode\":7}", RANGE,
     "property mode = 7: expected one of the enum's values 0, 1, 2"},
    {REQ_SET, "lamp1", NULL, "{\"mode\":\"eco\"}", TYPE,
     "property mode = \"eco\": expected an enum value (a JSON integer)"},
    {REQ_SET, "lamp1", NULL, "{\"label\":\"toolong\"}", TYPE,
     "property label = \"toolong\": expected a text of at most 5 characters"},
    {REQ_SET, "lamp1", NULL, "{\"label\":5}", TYPE,
     "property label = 5: expected a text (a JSON string)"},
    {REQ_SET, "lamp1", NULL, "{\"since\":\"yesterday\"}", TYPE,
     "property since = \"yesterday\": expected a date: UTC milliseconds as a string of digits or "
     "an integer"},
    {REQ_SET, "lamp1", NULL, "{\"ratio\":\"half\"}", TYPE,
     "property ratio = \"half\": expected a double (a JSON number)"},
    {REQ_SET, "lamp1", NULL, "{\"color\":{\"r\":1,\"b\":2}}", TYPE,
     "property color.b = 2: no such member; the struct's members are r, g"},
    {REQ_SET, "lamp1", NULL, "{\"color\":{\"r\":256}}", RANGE,
     "property color.r = 256: expected an int from 0 to 255"},
    {REQ_SET, "lamp1", NULL, "{\"color\":[1,2]}", TYPE,
     "property color = [1,2]: expected a struct: an object with members r, g"},
    {REQ_SET, "lamp1", NULL, "{\"schedule\":[1,2,3,4]}", TYPE,
     "property schedule = [1,2,3,4]: expected an array of at most 3 int items"},
    {REQ_SET, "lamp1", NULL, "{\"schedule\":[1,true]}", TYPE,
     "property schedule[1] = true: expected an int (a JSON integer)"},
    {REQ_SET, "lamp1", NULL, "{\"power\":1}", THINGS_E_DEVICE_OFFLINE,
     "device a1Light/lamp1 is offline"},
    /* services */
    {REQ_SERVICE, "lamp1", "dance", NULL, THINGS_E_SERVICE_NOT_EXIST,
     "device a1Light/lamp1 has no service \"dance\"; its services are blink"},
    {REQ_SERVICE, "lamp1", NULL, NULL, THINGS_E_SERVICE_NOT_EXIST,
     "device a1Light/lamp1 has no service \"\"; its services are blink"},
    {REQ_SERVICE, "lamp1", "set", "{\"power\":1}", THINGS_E_SERVICE_NOT_EXIST,
     "\"set\" is not called as a service; use the property set request"},
    {REQ_SERVICE, "lamp1", "get", NULL, THINGS_E_SERVICE_NOT_EXIST,
     "\"get\" is not called as a service; use the property get request"},
    {REQ_SERVICE, "lamp1", "blink", "[3]", INPUT,
     "service blink: the input must be an object {argument: value}"},
    {REQ_SERVICE, "lamp1", "blink", "{\"count\":3}", INPUT,
     "service blink has no input \"count\"; its inputs are times, fast"},
    {REQ_SERVICE, "lamp1", "blink", "{\"times\":\"3\"}", INPUT,
     "service blink: input times = \"3\": expected an int (a JSON integer)"},
    {REQ_SERVICE, "lamp1", "blink", "{\"times\":11}", INPUT,
     "service blink: input times = 11: expected an int from 1 to 10"},
    {REQ_SERVICE, "lamp1", "blink", "{\"fast\":3}", INPUT,
     "service blink: input fast = 3: expected a bool: 0, 1, true or false"},
    {REQ_SERVICE, "lamp1", "blink", "{\"times\":3}", THINGS_E_DEVICE_OFFLINE,
     "device a1Light/lamp1 is offline"},
    {REQ_SERVICE, "lamp1", "blink", NULL, THINGS_E_DEVICE_OFFLINE,
     "device a1Light/lamp1 is offline"},
};

static void test_refused_requests(void)
{
    fx_t f;
    got_t g;
    memset(&g, 0, sizeof g);
    fx_init(&f);
    fx_light(&f, "lamp1");
    for (size_t i = 0; i < NELEM(refused); i++) {
        issue(&f, &refused[i], &g);
        if (g.code != refused[i].code || strcmp(g.msg, refused[i].msg) != 0)
            fprintf(stderr, "  case %zu (%s)\n", i, refused[i].arg ? refused[i].arg : "NULL");
        CHECK_EQ_INT(g.code, refused[i].code);
        CHECK_EQ_STR(g.msg, refused[i].msg);
        CHECK(g.data == NULL);
        CHECK_EQ_INT(g.from_cache, 0);
        got_free(&g);
    }

    /* Online now: the same checks still come first, before anything reaches the port. */
    fake_port_t port;
    memset(&port, 0, sizeof port);
    CHECK_EQ_INT(
        things_device_set_online(f.t, things_device_find(f.t, FX_PK, "lamp1"), &port, fx_ops()), 0);
    for (size_t i = 0; i < NELEM(refused); i++) {
        if (refused[i].code == THINGS_E_DEVICE_OFFLINE) continue;
        issue(&f, &refused[i], &g);
        CHECK_EQ_INT(g.code, refused[i].code);
        got_free(&g);
    }
    CHECK_EQ_INT(port.ncalls, 0);
    port_free(&port);
    fx_close(&f);
}

/* --- round trips ----------------------------------------------------------------------------- */

typedef struct rt {
    fx_t f;
    fake_port_t port;
    things_device_t *d;
    got_t g;
} rt_t;

static void rt_init(rt_t *r)
{
    memset(r, 0, sizeof *r);
    fx_init(&r->f);
    r->d = fx_light(&r->f, "lamp1");
    CHECK_EQ_INT(things_device_set_online(r->f.t, r->d, &r->port, fx_ops()), 0);
}

static void rt_close(rt_t *r)
{
    got_free(&r->g);
    port_free(&r->port);
    fx_close(&r->f);
}

/* Answers the port's last call and runs the loop until the request's callback. */
static void rt_answer(rt_t *r, int code, const char *reply)
{
    CHECK(r->port.ncalls > 0);
    if (r->port.ncalls <= 0) return;
    CHECK_EQ_INT(r->g.called, 0);
    port_reply(&r->port.calls[r->port.ncalls - 1], code, reply);
    CHECK_EQ_INT(r->g.called, 0); /* delivered on a later loop turn */
    fx_run_until(&r->f, &r->g.called);
    CHECK_EQ_INT(r->g.called, 1);
}

static void test_get_round_trip(void)
{
    rt_t r;
    json_t *v = NULL;
    int64_t time_ms = 0;
    rt_init(&r);
    json_t *names = J("[\"brightness\",\"power\"]");
    int64_t before = vg_time_ms();
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    json_decref(names);
    CHECK_EQ_INT(r.port.ncalls, 1);
    CHECK_EQ_STR(r.port.calls[0].cloud_id, "a1Light_lamp1");
    CHECK_EQ_STR(r.port.calls[0].service, "get");
    CHECK_EQ_STR(r.port.calls[0].args, "{\"params\":[\"brightness\",\"power\"]}");
    CHECK_EQ_INT(r.port.calls[0].timeout_ms, 100);
    rt_answer(&r, 0,
              "{\"code\":0,\"message\":\"Ok\",\"params\":{\"brightness\":3,\"power\":1,"
              "\"extra\":5}}");
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_STR(r.g.msg, "Ok");
    CHECK_EQ_STR(r.g.data, "{\"brightness\":3,\"power\":1}");
    CHECK_EQ_INT(r.g.from_cache, 0);
    /* The driver's values went into the cache. */
    CHECK_EQ_INT(things_cache_get(r.f.t, FX_PK, "lamp1", "brightness", &v, &time_ms), 0);
    CHECK(json_integer_value(v) == 3 && time_ms >= before);
    json_decref(v);
    CHECK_EQ_INT(things_cache_get(r.f.t, FX_PK, "lamp1", "extra", NULL, NULL), VG_ENOENT);
    got_free(&r.g);

    /* No names: every readable property. */
    things_get_properties(r.f.t, FX_PK, "lamp1", NULL, 0, got_result, &r.g);
    CHECK_EQ_STR(r.port.calls[1].args,
                 "{\"params\":[\"brightness\",\"power\",\"temperature\",\"mode\",\"label\","
                 "\"since\",\"color\",\"schedule\",\"ratio\"]}");
    rt_answer(&r, 0, "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_STR(r.g.data, "{}");
    got_free(&r.g);

    /* The driver's own failure. */
    names = J("[\"power\"]");
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    rt_answer(&r, 0, "{\"code\":100001,\"message\":\"Invalid params\",\"params\":{}}");
    CHECK_EQ_INT(r.g.code, THINGS_E_INVAILD_PARAM);
    CHECK_EQ_STR(r.g.msg, "device a1Light/lamp1: the driver failed the get: Invalid params");
    CHECK(r.g.data == NULL);
    got_free(&r.g);

    /* Malformed replies. */
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    rt_answer(&r, 0, "[1]");
    CHECK_EQ_INT(r.g.code, THINGS_E_INVALID_JSON);
    got_free(&r.g);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    rt_answer(&r, 0, "{\"code\":0,\"params\":[]}");
    CHECK_EQ_INT(r.g.code, THINGS_E_INVALID_JSON);
    CHECK_EQ_STR(r.g.msg, "device a1Light/lamp1: the driver's get reply has no params object");
    got_free(&r.g);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    rt_answer(&r, 0, "{\"code\":\"0\",\"params\":{}}");
    CHECK_EQ_INT(r.g.code, THINGS_E_INVALID_JSON);
    got_free(&r.g);
    json_decref(names);
    rt_close(&r);
}

static void test_set_round_trip(void)
{
    rt_t r;
    rt_init(&r);
    json_t *props = J("{\"brightness\":2,\"power\":true,\"mode\":1,\"color\":{\"r\":1,\"g\":2},"
                      "\"since\":\"1524448722000\",\"ratio\":0.5,\"schedule\":[1,2]}");
    things_set_properties(r.f.t, FX_PK, "lamp1", props, got_result, &r.g);
    CHECK_EQ_INT(r.port.ncalls, 1);
    CHECK_EQ_STR(r.port.calls[0].service, "set");
    CHECK_EQ_STR(r.port.calls[0].args,
                 "{\"params\":{\"brightness\":2,\"power\":1,\"mode\":1,\"color\":{\"r\":1,"
                 "\"g\":2},\"since\":\"1524448722000\",\"ratio\":0.5,\"schedule\":[1,2]}}");
    rt_answer(&r, 0, "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_STR(r.g.data, "{}");
    /* The cache learns the values only when the driver reports them. */
    CHECK_EQ_INT(things_cache_get(r.f.t, FX_PK, "lamp1", "brightness", NULL, NULL), VG_ENOENT);
    got_free(&r.g);
    json_decref(props);

    props = J("{\"power\":false}");
    things_set_properties(r.f.t, FX_PK, "lamp1", props, got_result, &r.g);
    CHECK_EQ_STR(r.port.calls[1].args, "{\"params\":{\"power\":0}}");
    rt_answer(&r, 0, "{\"code\":109003,\"message\":\"Property only support read\",\"params\":{}}");
    CHECK_EQ_INT(r.g.code, THINGS_E_PROPERTY_READ_ONLY);
    CHECK_EQ_STR(r.g.msg,
                 "device a1Light/lamp1: the driver failed the set: Property only support read");
    got_free(&r.g);
    json_decref(props);
    rt_close(&r);
}

static void test_service_round_trip(void)
{
    rt_t r;
    rt_init(&r);
    json_t *input = J("{\"times\":3,\"fast\":false}");
    things_call_service(r.f.t, FX_PK, "lamp1", "blink", input, got_result, &r.g);
    json_decref(input);
    CHECK_EQ_INT(r.port.ncalls, 1);
    CHECK_EQ_STR(r.port.calls[0].service, "blink");
    CHECK_EQ_STR(r.port.calls[0].args, "{\"params\":{\"times\":3,\"fast\":0}}");
    rt_answer(&r, 0,
              "{\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,\"message\":\"Ok\","
              "\"data\":{\"done\":1}}}");
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_STR(r.g.msg, "Ok");
    CHECK_EQ_STR(r.g.data, "{\"code\":0,\"message\":\"Ok\",\"data\":{\"done\":1}}");
    got_free(&r.g);

    /* No input at all is an empty one; the driver's failure comes back as it is. */
    things_call_service(r.f.t, FX_PK, "lamp1", "blink", NULL, got_result, &r.g);
    CHECK_EQ_STR(r.port.calls[1].args, "{\"params\":{}}");
    rt_answer(&r, 0,
              "{\"code\":100000,\"message\":\"Unknow error\",\"params\":{\"code\":100000,"
              "\"message\":\"the bulb is gone\",\"data\":{}}}");
    CHECK_EQ_INT(r.g.code, THINGS_E_UNKNOWN);
    CHECK_EQ_STR(r.g.msg, "Unknow error");
    CHECK_EQ_STR(r.g.data, "{\"code\":100000,\"message\":\"the bulb is gone\",\"data\":{}}");
    got_free(&r.g);
    rt_close(&r);
}

/* --- timing, misbehaving ports ------------------------------------------------------------------
 */

static void test_sync_answer_is_deferred(void)
{
    rt_t r;
    rt_init(&r);
    r.port.mode = PORT_SYNC;
    r.port.reply = "{\"code\":0,\"message\":\"Ok\",\"params\":{\"power\":0}}";
    json_t *names = J("[\"power\"]");
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    json_decref(names);
    CHECK_EQ_INT(r.port.ncalls, 1);
    CHECK_EQ_INT(r.g.called, 0);
    fx_run_until(&r.f, &r.g.called);
    CHECK_EQ_INT(r.g.called, 1);
    CHECK_EQ_STR(r.g.data, "{\"power\":0}");
    rt_close(&r);
}

static void test_port_errors(void)
{
    rt_t r;
    rt_init(&r);
    json_t *names = J("[\"power\",\"brightness\"]"), *body = J("{\"power\":{\"value\":1,"
                                                               "\"time\":1000}}");
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    rt_answer(&r, THINGS_E_TIMEOUT, NULL);
    CHECK_EQ_INT(r.g.code, THINGS_E_TIMEOUT);
    CHECK_EQ_STR(r.g.msg, "device a1Light/lamp1: its driver did not answer within 100 ms");
    got_free(&r.g);
    things_call_service(r.f.t, FX_PK, "lamp1", "blink", NULL, got_result, &r.g);
    rt_answer(&r, THINGS_E_SERVICE_UNREACHABLE, NULL);
    CHECK_EQ_INT(r.g.code, THINGS_E_SERVICE_UNREACHABLE);
    CHECK_EQ_STR(r.g.msg, "device a1Light/lamp1: port failure");
    got_free(&r.g);

    /* With the cache allowed, a timeout or an unreachable driver answers from it. */
    CHECK_EQ_INT(things_report_properties(r.f.t, r.d, body), 0);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    rt_answer(&r, THINGS_E_TIMEOUT, NULL);
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_INT(r.g.from_cache, 1);
    CHECK_EQ_STR(r.g.data, "{\"power\":1}"); /* brightness was never reported: left out */
    CHECK_EQ_STR(r.g.msg,
                 "device a1Light/lamp1 did not answer in time; the values come from the cache");
    got_free(&r.g);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    rt_answer(&r, THINGS_E_SERVICE_UNREACHABLE, NULL);
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_INT(r.g.from_cache, 1);
    got_free(&r.g);
    /* Other failures are not covered by the cache. */
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    rt_answer(&r, THINGS_E_INVAILD_PARAM, NULL);
    CHECK_EQ_INT(r.g.code, THINGS_E_INVAILD_PARAM);
    got_free(&r.g);
    json_decref(names);
    json_decref(body);
    rt_close(&r);
}

static void test_port_never_answers(void)
{
    rt_t r;
    rt_init(&r);
    json_t *names = J("[\"power\"]");
    uint64_t t0 = uv_now(&r.f.loop);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    fx_run_until(&r.f, &r.g.called); /* only the guard timer keeps the loop alive */
    CHECK_EQ_INT(r.g.called, 1);
    CHECK_EQ_INT(r.g.code, THINGS_E_TIMEOUT);
    CHECK(uv_now(&r.f.loop) - t0 >= 100 + THINGS_GUARD_MS);
    CHECK(strstr(fx_log(&r.f), "did not answer a call within 1100 ms") != NULL);

    /* The late answer, and a second one, are ignored. */
    port_reply(&r.port.calls[0], 0, "{\"code\":0,\"params\":{\"power\":1}}");
    port_reply(&r.port.calls[0], 0, "{\"code\":0,\"params\":{\"power\":1}}");
    uv_run(&r.f.loop, UV_RUN_NOWAIT);
    CHECK_EQ_INT(r.g.called, 1);
    CHECK(strstr(fx_log(&r.f), "answered the same call twice") != NULL);
    CHECK_EQ_INT(things_cache_get(r.f.t, FX_PK, "lamp1", "power", NULL, NULL), VG_ENOENT);
    got_free(&r.g);

    /* With the cache allowed, the guard's timeout answers from it too. */
    json_t *body = J("{\"power\":{\"value\":0}}");
    CHECK_EQ_INT(things_report_properties(r.f.t, r.d, body), 0);
    json_decref(body);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    fx_run_until(&r.f, &r.g.called);
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_INT(r.g.from_cache, 1);
    CHECK_EQ_STR(r.g.data, "{\"power\":0}");
    json_decref(names);
    rt_close(&r);
}

static void test_port_answers_twice(void)
{
    rt_t r;
    rt_init(&r);
    r.port.mode = PORT_TWICE;
    r.port.reply = "{\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,\"message\":\"Ok\","
                   "\"data\":{}}}";
    for (int i = 0; i < 3; i++) {
        things_call_service(r.f.t, FX_PK, "lamp1", "blink", NULL, got_result, &r.g);
        fx_run_until(&r.f, &r.g.called);
        uv_run(&r.f.loop, UV_RUN_NOWAIT);
        CHECK_EQ_INT(r.g.called, 1);
        CHECK_EQ_INT(r.g.code, 0);
        got_free(&r.g);
    }
    CHECK(strstr(fx_log(&r.f), "answered the same call twice") != NULL);
    rt_close(&r);
}

static void test_offline_answers_from_cache(void)
{
    rt_t r;
    rt_init(&r);
    json_t *body = J("{\"brightness\":{\"value\":4,\"time\":1524448722000}}");
    json_t *names = J("[\"brightness\",\"temperature\"]");
    CHECK_EQ_INT(things_report_properties(r.f.t, r.d, body), 0);
    things_device_set_offline(r.f.t, r.d);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 1, got_result, &r.g);
    CHECK_EQ_INT(r.g.called, 0);
    fx_run_until(&r.f, &r.g.called);
    CHECK_EQ_INT(r.g.code, 0);
    CHECK_EQ_INT(r.g.from_cache, 1);
    CHECK_EQ_STR(r.g.data, "{\"brightness\":4}");
    CHECK_EQ_STR(r.g.msg, "device a1Light/lamp1 is offline; the values come from the cache");
    got_free(&r.g);
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    fx_run_until(&r.f, &r.g.called);
    CHECK_EQ_INT(r.g.code, THINGS_E_DEVICE_OFFLINE);
    CHECK_EQ_INT(r.g.from_cache, 0);
    CHECK_EQ_INT(r.port.ncalls, 0);
    json_decref(body);
    json_decref(names);
    rt_close(&r);
}

static void test_destroy_answers_pending(void)
{
    rt_t r;
    got_t g2;
    memset(&g2, 0, sizeof g2);
    rt_init(&r);
    json_t *names = J("[\"power\"]");
    things_get_properties(r.f.t, FX_PK, "lamp1", names, 0, got_result, &r.g);
    things_call_service(r.f.t, FX_PK, "nope", "blink", NULL, got_result, &g2); /* deferred error */
    json_decref(names);
    things_destroy(r.f.t);
    r.f.t = NULL;
    CHECK_EQ_INT(r.g.called, 1);
    CHECK_EQ_INT(r.g.code, THINGS_E_SERVICE_UNREACHABLE);
    CHECK_EQ_STR(r.g.msg, "the runtime is shutting down");
    CHECK_EQ_INT(g2.called, 1);
    CHECK_EQ_INT(g2.code, THINGS_E_DEVICE_UNREGISTER); /* answered already: keeps its answer */
    got_free(&g2);
    rt_close(&r);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_codes_match_sdk)
    VG_TEST(test_refused_requests)
    VG_TEST(test_get_round_trip)
    VG_TEST(test_set_round_trip)
    VG_TEST(test_service_round_trip)
    VG_TEST(test_sync_answer_is_deferred)
    VG_TEST(test_port_errors)
    VG_TEST(test_port_never_answers)
    VG_TEST(test_port_answers_twice)
    VG_TEST(test_offline_answers_from_cache)
    VG_TEST(test_destroy_answers_pending)
)
/* clang-format on */
