/* test_convert.c: the SDK's data conversions (SDK-FACTS §3.3) and call replies (§3.1): every
 * type going out, failures, numbers/strings/objects coming in typed by the TSL, dropped
 * booleans, the 64/2048 limits, get and service rules, reply shapes and messages. */
#include "convert.h"
#include "le_error.h"
#include "leda.h"
#include "vg_test.h"

#include <stdlib.h>
#include <string.h>

/* Checks that `j` (consumed) dumps compactly to `want`; NULL `want` means j must be NULL. */
#define CHECK_JSON(j, want)                                                                        \
    do {                                                                                           \
        json_t *cj__j = (j);                                                                       \
        const char *cj__w = (want);                                                                \
        char *cj__s = cj__j ? json_dumps(cj__j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;            \
        if (cj__w)                                                                                 \
            CHECK_EQ_STR(cj__s, cj__w);                                                            \
        else                                                                                       \
            CHECK_EQ_STR(cj__s ? cj__s : "(null)", "(null)");                                      \
        free(cj__s);                                                                               \
        json_decref(cj__j);                                                                        \
    } while (0)

/* One entry; `value` must fit. */
static leda_device_data_t entry(leda_data_type_e type, const char *key, const char *value)
{
    leda_device_data_t d;
    memset(&d, 0, sizeof d);
    d.type = type;
    snprintf(d.key, sizeof d.key, "%s", key);
    snprintf(d.value, sizeof d.value, "%s", value);
    return d;
}

/* A TSL shaped like SDK-FACTS §4, with one service per argument type and some junk. */
static const char *TSL =
    "{\"schema\":\"x\",\"profile\":{\"productKey\":\"pk\"},\"properties\":[],\"events\":[],"
    "\"services\":["
    "{\"identifier\":\"set\",\"inputData\":["
    "{\"identifier\":\"brightness\",\"dataType\":{\"type\":\"int\"}},"
    "{\"identifier\":\"power\",\"dataType\":{\"type\":\"bool\"}},"
    "{\"identifier\":\"label\",\"dataType\":{\"type\":\"text\"}}]},"
    "{\"identifier\":\"get\",\"inputData\":[\"brightness\",\"power\"]},"
    "{\"identifier\":\"tune\",\"inputData\":["
    "{\"identifier\":\"rate\",\"dataType\":{\"type\":\"float\"}},"
    "{\"identifier\":\"ratio\",\"dataType\":{\"type\":\"double\"}},"
    "{\"identifier\":\"when\",\"dataType\":{\"type\":\"date\"}},"
    "{\"identifier\":\"mode\",\"dataType\":{\"type\":\"enum\"}},"
    "{\"identifier\":\"name\",\"dataType\":{\"type\":\"text\"}},"
    "{\"identifier\":\"cfg\",\"dataType\":{\"type\":\"struct\"}},"
    "{\"identifier\":\"notype\"},"
    "{\"name\":\"no identifier\"},"
    "{\"identifier\":\"rate\",\"dataType\":{\"type\":\"text\"}}]},"
    "{\"name\":\"service without identifier\",\"inputData\":[{\"identifier\":\"x\"}]},"
    "\"junk\"]}";

/* ---- outgoing -------------------------------------------------------------------------- */

static void test_out_each_type(void)
{
    leda_device_data_t d[] = {
        entry(LEDA_TYPE_TEXT, "t", "hello"),
        entry(LEDA_TYPE_DATE, "dt", "1524448722000"),
        entry(LEDA_TYPE_FLOAT, "f", "21.5"),
        entry(LEDA_TYPE_DOUBLE, "d", "3.25"),
        entry(LEDA_TYPE_INT, "i", "42abc"),
        entry(LEDA_TYPE_BOOL, "b", "1"),
        entry(LEDA_TYPE_ENUM, "e", "2"),
        entry(LEDA_TYPE_STRUCT, "s", "{\"a\":1,\"b\":\"x\"}"),
        entry(LEDA_TYPE_ARRAY, "a", "[1,2,3]"),
    };
    CHECK_JSON(leda__data_to_json(d, 9),
               "{\"t\":\"hello\",\"dt\":\"1524448722000\",\"f\":21.5,\"d\":3.25,\"i\":42,"
               "\"b\":1,\"e\":2,\"s\":{\"a\":1,\"b\":\"x\"},\"a\":[1,2,3]}");
}

static void test_out_numbers(void)
{
    leda_device_data_t d[] = {
        entry(LEDA_TYPE_FLOAT, "f", "21"),          /* integral: no fraction, as cJSON */
        entry(LEDA_TYPE_INT, "big", "99999999999"), /* clamped instead of UB */
        entry(LEDA_TYPE_INT, "neg", "-17"),         entry(LEDA_TYPE_INT, "empty", ""),
        entry(LEDA_TYPE_DOUBLE, "nan", "nan"), /* non-finite: null, as cJSON */
        entry(LEDA_TYPE_FLOAT, "junk", "abc"),
    };
    CHECK_JSON(leda__data_to_json(d, 6), "{\"f\":21,\"big\":2147483647,\"neg\":-17,\"empty\":0,"
                                         "\"nan\":null,\"junk\":0}");
}

static void test_out_failures(void)
{
    leda_device_data_t ok = entry(LEDA_TYPE_INT, "i", "1");
    leda_device_data_t butt[] = {ok, entry(LEDA_TYPE_BUTT, "x", "1")};
    CHECK_JSON(leda__data_to_json(butt, 2), NULL);

    leda_device_data_t bad_struct[] = {entry(LEDA_TYPE_STRUCT, "s", "{a:1")};
    CHECK_JSON(leda__data_to_json(bad_struct, 1), NULL);
    leda_device_data_t empty_struct[] = {entry(LEDA_TYPE_STRUCT, "s", "")};
    CHECK_JSON(leda__data_to_json(empty_struct, 1), NULL);
    leda_device_data_t trailing[] = {entry(LEDA_TYPE_ARRAY, "a", "[1] x")};
    CHECK_JSON(leda__data_to_json(trailing, 1), NULL);

    leda_device_data_t garbage = entry(LEDA_TYPE_INT, "g", "1");
    garbage.type = (leda_data_type_e)42;
    CHECK_JSON(leda__data_to_json(&garbage, 1), NULL);

    leda_device_data_t bad_utf8 = entry(LEDA_TYPE_TEXT, "u", "\xff\xfe");
    CHECK_JSON(leda__data_to_json(&bad_utf8, 1), NULL);

    leda_device_data_t full_key = ok; /* no NUL inside the key buffer */
    memset(full_key.key, 'k', sizeof full_key.key);
    CHECK_JSON(leda__data_to_json(&full_key, 1), NULL);
    leda_device_data_t full_value = entry(LEDA_TYPE_TEXT, "v", "");
    memset(full_value.value, 'v', sizeof full_value.value);
    CHECK_JSON(leda__data_to_json(&full_value, 1), NULL);

    CHECK_JSON(leda__data_to_json(NULL, 1), NULL);
    CHECK_JSON(leda__data_to_json(&ok, -1), NULL);
    CHECK_JSON(leda__data_to_json(NULL, 0), "{}");
}

static void test_out_reports(void)
{
    leda_device_data_t d[] = {entry(LEDA_TYPE_INT, "temperature", "55"),
                              entry(LEDA_TYPE_TEXT, "unit", "C")};
    CHECK_JSON(leda__report_properties_json(d, 2, 1524448722000),
               "{\"temperature\":{\"value\":55,\"time\":1524448722000},"
               "\"unit\":{\"value\":\"C\",\"time\":1524448722000}}");
    CHECK_JSON(leda__report_properties_json(d, 0, 1), NULL);
    CHECK_JSON(leda__report_properties_json(NULL, 1, 1), NULL);

    CHECK_JSON(leda__report_event_json(d, 1, 7),
               "{\"params\":{\"value\":{\"temperature\":55},\"time\":7}}");
    CHECK_JSON(leda__report_event_json(NULL, 0, 7), "{\"params\":{\"value\":{},\"time\":7}}");
    CHECK_JSON(leda__report_event_json(d, 0, 7), "{\"params\":{\"value\":{},\"time\":7}}");

    leda_device_data_t butt = entry(LEDA_TYPE_BUTT, "x", "1");
    CHECK_JSON(leda__report_properties_json(&butt, 1, 1), NULL);
    CHECK_JSON(leda__report_event_json(&butt, 1, 1), NULL);
}

/* ---- TSL ------------------------------------------------------------------------------- */

static void test_tsl_lookup(void)
{
    json_error_t err;
    leda__tsl_t *t = leda__tsl_create(TSL, &err);
    CHECK(t != NULL);
    CHECK_EQ_STR(err.text, "");
    CHECK_EQ_INT(leda__tsl_count(t), 11);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "set", "brightness"), LEDA_TYPE_INT);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "set", "power"), LEDA_TYPE_BOOL);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "set", "label"), LEDA_TYPE_TEXT);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "rate"), LEDA_TYPE_FLOAT); /* first match wins */
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "ratio"), LEDA_TYPE_DOUBLE);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "when"), LEDA_TYPE_DATE);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "mode"), LEDA_TYPE_ENUM);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "name"), LEDA_TYPE_TEXT);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "cfg"), LEDA_TYPE_BUTT); /* not mapped */
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "notype"), LEDA_TYPE_BUTT);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "tune", "brightness"), LEDA_TYPE_BUTT); /* other svc */
    CHECK_EQ_INT(leda__tsl_arg_type(t, "get", "brightness"), LEDA_TYPE_BUTT);  /* strings */
    CHECK_EQ_INT(leda__tsl_arg_type(t, "nosuch", "x"), LEDA_TYPE_BUTT);
    CHECK_EQ_INT(leda__tsl_arg_type(t, NULL, "x"), LEDA_TYPE_BUTT);
    CHECK_EQ_INT(leda__tsl_arg_type(NULL, "set", "brightness"), LEDA_TYPE_BUTT);
    leda__tsl_destroy(t);
}

static void test_tsl_malformed(void)
{
    json_error_t err;
    leda__tsl_t *t = leda__tsl_create("{\"services\":[", &err);
    CHECK(t != NULL);
    CHECK(err.text[0] != '\0');
    CHECK_EQ_INT(leda__tsl_count(t), 0);
    CHECK_EQ_INT(leda__tsl_arg_type(t, "set", "x"), LEDA_TYPE_BUTT);
    leda__tsl_destroy(t);

    t = leda__tsl_create(NULL, NULL);
    CHECK_EQ_INT(leda__tsl_count(t), 0);
    leda__tsl_destroy(t);
    t = leda__tsl_create("{\"services\":{}}", NULL);
    CHECK_EQ_INT(leda__tsl_count(t), 0);
    leda__tsl_destroy(t);
    t = leda__tsl_create("[]", NULL);
    CHECK_EQ_INT(leda__tsl_count(t), 0);
    leda__tsl_destroy(t);
    leda__tsl_destroy(NULL);
}

/* ---- incoming ---------------------------------------------------------------------------- */

/* Converts `json` text with the test TSL for `service` into out[16]; returns the result. */
static int in(const char *json, const char *service, leda_device_data_t *out, int max, int *count)
{
    leda__tsl_t *t = leda__tsl_create(TSL, NULL);
    json_t *p = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    int rc = leda__json_to_data(p, t, service, out, max, count);
    json_decref(p);
    leda__tsl_destroy(t);
    return rc;
}

static void test_in_set_typed(void)
{
    leda_device_data_t out[16];
    int n = -1;
    CHECK_EQ_INT(in("{\"brightness\":3,\"power\":1,\"label\":\"on\"}", "set", out, 16, &n),
                 LE_SUCCESS);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_STR(out[0].key, "brightness");
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_INT);
    CHECK_EQ_STR(out[0].value, "3");
    CHECK_EQ_STR(out[1].key, "power");
    CHECK_EQ_INT(out[1].type, LEDA_TYPE_BOOL);
    CHECK_EQ_STR(out[1].value, "1");
    CHECK_EQ_STR(out[2].key, "label");
    CHECK_EQ_INT(out[2].type, LEDA_TYPE_TEXT);
    CHECK_EQ_STR(out[2].value, "on");
}

static void test_in_numbers(void)
{
    leda_device_data_t out[16];
    int n = -1;
    CHECK_EQ_INT(in("{\"rate\":2.5,\"ratio\":4.0,\"mode\":-7,\"when\":5000000000,"
                    "\"name\":1e300}",
                    "tune", out, 16, &n),
                 LE_SUCCESS);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_STR(out[0].value, "2.500000"); /* fraction: %f */
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_FLOAT);
    CHECK_EQ_STR(out[1].value, "4"); /* integral real: %d */
    CHECK_EQ_INT(out[1].type, LEDA_TYPE_DOUBLE);
    CHECK_EQ_STR(out[2].value, "-7");
    CHECK_EQ_INT(out[2].type, LEDA_TYPE_ENUM);
    CHECK_EQ_STR(out[3].value, "5000000000.000000"); /* beyond int: %f, as cJSON's valueint */
    CHECK_EQ_INT(out[3].type, LEDA_TYPE_DATE);
    CHECK_EQ_INT(strlen(out[4].value), 301 + 7); /* 1e300 with %f still fits */
}

static void test_in_struct_array_and_drops(void)
{
    leda_device_data_t out[16];
    int n = -1;
    CHECK_EQ_INT(in("{\"a\":true,\"cfg\":{\"x\":1,\"y\":[1,\"z\"]},\"b\":false,\"c\":null,"
                    "\"list\":[1,\"x\",{}],\"name\":\"n\"}",
                    "tune", out, 16, &n),
                 LE_SUCCESS);
    CHECK_EQ_INT(n, 3); /* true, false, null dropped */
    CHECK_EQ_STR(out[0].key, "cfg");
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_STRUCT);
    CHECK_EQ_STR(out[0].value, "{\"x\":1,\"y\":[1,\"z\"]}");
    CHECK_EQ_STR(out[1].key, "list");
    CHECK_EQ_INT(out[1].type, LEDA_TYPE_ARRAY);
    CHECK_EQ_STR(out[1].value, "[1,\"x\",{}]");
    CHECK_EQ_STR(out[2].key, "name");
    CHECK_EQ_INT(out[2].type, LEDA_TYPE_TEXT);
}

static void test_in_unknown_is_butt(void)
{
    leda_device_data_t out[4];
    int n = -1;
    CHECK_EQ_INT(in("{\"nosuch\":1,\"brightness\":\"x\"}", "tune", out, 4, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_BUTT);
    CHECK_EQ_STR(out[0].value, "1");
    CHECK_EQ_INT(out[1].type, LEDA_TYPE_BUTT); /* brightness belongs to "set", not "tune" */

    json_t *p = json_loads("{\"brightness\":3}", 0, NULL);
    CHECK_EQ_INT(leda__json_to_data(p, NULL, "set", out, 4, &n), LE_SUCCESS); /* no TSL */
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_BUTT);
    json_decref(p);
}

/* A JSON object {"<key>":"<value>"} with a key of `klen` and a value of `vlen` characters. */
static char *kv_json(size_t klen, size_t vlen)
{
    char *s = malloc(klen + vlen + 8);
    size_t i = 0;
    s[i++] = '{';
    s[i++] = '"';
    memset(s + i, 'k', klen);
    i += klen;
    memcpy(s + i, "\":\"", 3);
    i += 3;
    memset(s + i, 'v', vlen);
    i += vlen;
    memcpy(s + i, "\"}", 3);
    return s;
}

static void test_in_limits(void)
{
    static leda_device_data_t out[2];
    int n = -1;
    char *j = kv_json(63, 2047); /* the largest that fit */
    CHECK_EQ_INT(in(j, "set", out, 2, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(strlen(out[0].key), 63);
    CHECK_EQ_INT(strlen(out[0].value), 2047);
    free(j);

    j = kv_json(64, 1);
    n = -1;
    CHECK_EQ_INT(in(j, "set", out, 2, &n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);
    free(j);

    j = kv_json(1, 2048);
    n = -1;
    CHECK_EQ_INT(in(j, "set", out, 2, &n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);
    free(j);

    /* a long key after a good member still aborts the whole conversion */
    n = -1;
    CHECK_EQ_INT(
        in("{\"a\":\"1\",\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":1}",
           "set", out, 2, &n),
        LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);

    /* a STRUCT whose compact text is 2048 bytes or more */
    char *big = malloc(2200);
    strcpy(big, "{\"s\":{\"x\":\"");
    memset(big + strlen(big), 'x', 2040);
    strcpy(big + 11 + 2040, "\"}}");
    n = -1;
    CHECK_EQ_INT(in(big, "set", out, 2, &n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);
    free(big);

    /* more members than room */
    n = -1;
    CHECK_EQ_INT(in("{\"a\":1,\"b\":2,\"c\":3}", "set", out, 2, &n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(in("{\"a\":1,\"b\":true,\"c\":3}", "set", out, 2, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 2); /* dropped members take no room */
}

static void test_in_get_names(void)
{
    leda_device_data_t out[4];
    int n = -1;
    CHECK_EQ_INT(in("[\"brightness\",5,\"power\",null]", "get", out, 4, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(out[0].key, "brightness");
    CHECK_EQ_INT(out[0].type, LEDA_TYPE_BUTT);
    CHECK_EQ_STR(out[0].value, "");
    CHECK_EQ_STR(out[1].key, "power");
    CHECK_EQ_INT(out[1].type, LEDA_TYPE_BUTT);

    n = -1;
    CHECK_EQ_INT(in("[\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"]", "get",
                    out, 4, &n),
                 LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(n, 0);
}

static void test_in_other_shapes(void)
{
    leda_device_data_t out[4];
    int n = -1;
    CHECK_EQ_INT(in(NULL, "set", out, 4, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(in("\"text\"", "set", out, 4, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(in("{}", "set", out, 4, &n), LE_SUCCESS);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(in("{\"a\":1}", "set", NULL, 0, &n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda__json_to_data(NULL, NULL, "set", out, 4, NULL), LE_ERROR_INVAILD_PARAM);

    json_t *o = json_loads("{\"a\":1,\"b\":true}", 0, NULL);
    json_t *a = json_loads("[1,2,3]", 0, NULL);
    CHECK_EQ_INT(leda__json_entry_count(o), 2);
    CHECK_EQ_INT(leda__json_entry_count(a), 3);
    CHECK_EQ_INT(leda__json_entry_count(NULL), 0);
    json_decref(o);
    json_decref(a);
}

/* ---- replies --------------------------------------------------------------------------- */

static void test_reply_get(void)
{
    leda_device_data_t d[] = {entry(LEDA_TYPE_INT, "brightness", "3"),
                              entry(LEDA_TYPE_BOOL, "power", "1")};
    CHECK_JSON(leda__reply_get(LE_SUCCESS, d, 2),
               "{\"code\":0,\"message\":\"Ok\",\"params\":{\"brightness\":3,\"power\":1}}");
    d[1].type = LEDA_TYPE_BUTT; /* the callback left one unfilled */
    CHECK_JSON(leda__reply_get(LE_SUCCESS, d, 2), "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    CHECK_JSON(leda__reply_get(LEDA_ERROR_PROPERTY_NOT_EXIST, d, 1),
               "{\"code\":109002,\"message\":\"Property no exist\",\"params\":{\"brightness\":3}}");
    CHECK_JSON(leda__reply_get(LE_SUCCESS, NULL, 0),
               "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
}

static void test_reply_set(void)
{
    CHECK_JSON(leda__reply_set(LE_SUCCESS), "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    CHECK_JSON(leda__reply_set(-3), "{\"code\":100000,\"message\":\"Unknow error\",\"params\":{}}");
}

static void test_reply_service(void)
{
    leda_device_data_t out[5];
    for (int i = 0; i < 5; i++)
        out[i] = entry(LEDA_TYPE_BUTT, "", "");
    out[0] = entry(LEDA_TYPE_INT, "a", "1");
    out[1] = entry(LEDA_TYPE_TEXT, "b", "x");
    out[3] = entry(LEDA_TYPE_INT, "after_butt", "9"); /* not sent: after the first BUTT */
    CHECK_EQ_INT(leda__service_output_count(out, 5), 2);
    CHECK_JSON(leda__reply_service(LE_SUCCESS, out, 5),
               "{\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,\"message\":\"Ok\","
               "\"data\":{\"a\":1,\"b\":\"x\"}}}");
    CHECK_JSON(leda__reply_service(LE_ERROR_SERVICE_UNREACHABLE, out, 0),
               "{\"code\":100008,\"message\":\"Service unreachable\",\"params\":{\"code\":100008,"
               "\"message\":\"Service unreachable\",\"data\":{}}}");
    CHECK_JSON(leda__reply_service(12345, NULL, 5),
               "{\"code\":100000,\"message\":\"Unknow error\",\"params\":{\"code\":100000,"
               "\"message\":\"Unknow error\",\"data\":{}}}");
    out[0] = entry(LEDA_TYPE_STRUCT, "s", "{bad"); /* unconvertible output: data {} */
    CHECK_JSON(leda__reply_service(LE_SUCCESS, out, 5),
               "{\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,\"message\":\"Ok\","
               "\"data\":{}}}");
    CHECK_EQ_INT(leda__service_output_count(NULL, 5), 0);
    for (int i = 0; i < 5; i++)
        out[i] = entry(LEDA_TYPE_INT, "k", "1");
    CHECK_EQ_INT(leda__service_output_count(out, 5), 5);
}

static void test_reply_generic(void)
{
    CHECK_JSON(leda__reply_json(LEDA_ERROR_INVALID_JSON, json_string("p")),
               "{\"code\":109007,\"message\":\"Json formate invalid\",\"params\":\"p\"}");
    CHECK_JSON(leda__reply_json(LE_SUCCESS, NULL), "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
}

static void test_messages(void)
{
    static const struct {
        int code;
        const char *msg;
    } t[] = {
        {LE_SUCCESS, "Ok"},
        {LE_ERROR_UNKNOWN, "Unknow error"},
        {LE_ERROR_INVAILD_PARAM, "Invalid params"},
        {LE_ERROR_ALLOCATING_MEM, "Alloc memery failed"},
        {LE_ERROR_CREATING_MUTEX, "Create mutex failed"},
        {LE_ERROR_WRITING_FILE, "Write file failed"},
        {LE_ERROR_READING_FILE, "Read file failed"},
        {LE_ERROR_TIMEOUT, "Tiemout"},
        {LE_ERROR_PARAM_RANGE_OVERFLOW, "Param range overflow"},
        {LE_ERROR_SERVICE_UNREACHABLE, "Service unreachable"},
        {LE_ERROR_FILE_NOT_EXIST, "No file exist"},
        {LEDA_ERROR_DEVICE_UNREGISTER, "Device not register"},
        {LEDA_ERROR_DEVICE_OFFLINE, "Device offline"},
        {LEDA_ERROR_PROPERTY_NOT_EXIST, "Property no exist"},
        {LEDA_ERROR_PROPERTY_READ_ONLY, "Property only support read"},
        {LEDA_ERROR_PROPERTY_WRITE_ONLY, "Property only support write"},
        {LEDA_ERROR_SERVICE_NOT_EXIST, "Service no exist"},
        {LEDA_ERROR_SERVICE_INPUT_PARAM, "Service param invalid"},
        {LEDA_ERROR_INVALID_JSON, "Json formate invalid"},
        {LEDA_ERROR_INVALID_TYPE, "Param type invalid"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_EQ_INT(leda__reply_code(t[i].code), t[i].code);
        CHECK_EQ_STR(leda__reply_message(t[i].code), t[i].msg);
    }
    int unknown[] = {-1, 1, 100010, 108999, 109009, 200000};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_EQ_INT(leda__reply_code(unknown[i]), LE_ERROR_UNKNOWN);
        CHECK_EQ_STR(leda__reply_message(unknown[i]), "Unknow error");
    }
}

VG_TEST_MAIN(VG_TEST(test_out_each_type) VG_TEST(test_out_numbers) VG_TEST(test_out_failures)
                 VG_TEST(test_out_reports) VG_TEST(test_tsl_lookup) VG_TEST(test_tsl_malformed)
                     VG_TEST(test_in_set_typed) VG_TEST(test_in_numbers)
                         VG_TEST(test_in_struct_array_and_drops) VG_TEST(test_in_unknown_is_butt)
                             VG_TEST(test_in_limits) VG_TEST(test_in_get_names)
                                 VG_TEST(test_in_other_shapes) VG_TEST(test_reply_get)
                                     VG_TEST(test_reply_set) VG_TEST(test_reply_service)
                                         VG_TEST(test_reply_generic) VG_TEST(test_messages))
