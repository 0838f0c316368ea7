/* test_report.c: reports published as the bytes the driver sent. things__json_compact must only
 * vouch for text that json_dumps(VG_JSON_FLAGS) writes back byte for byte (checked on a table
 * and on 200,000 random numbers and strings), and must vouch for what json_dumps writes (the
 * SDK's reports) but exponents and \u escapes; reports then publish the raw text or the
 * serialised body, the same bytes either way. */
#include "things_fx.h"

#include "core/json.h"
#include "things/things_int.h"

#include <stdint.h>

/* json_dumps(VG_JSON_FLAGS) of `text` parsed (a malloc'd string), or NULL. */
static char *redump(const char *text)
{
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    char *d = v ? json_dumps(v, VG_JSON_FLAGS) : NULL;
    json_decref(v);
    return d;
}

/* Checks compact(text) == want, and that compact text is what json_dumps writes. */
static void check_compact(const char *text, int want)
{
    int got = things__json_compact(text, strlen(text));
    char *d = redump(text);
    if (got != want || (got && (!d || strcmp(d, text) != 0))) {
        fprintf(stderr, "  things__json_compact(%s) = %d, want %d (json_dumps: %s)\n", text, got,
                want, d ? d : "(null)");
        vg_test__failed_checks++;
    }
    free(d);
}

static void test_compact_table(void)
{
    static const struct {
        const char *text;
        int compact;
    } cases[] = {
        {"{}", 1},
        {"[]", 1},
        {"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\"}}", 1},
        {"{\"temperature\":{\"value\":24.5,\"time\":1796000000000},\"pad\":{\"value\":\"xx\"}}", 1},
        {"{\"a\":0,\"b\":-1,\"c\":9223372036854775807,\"d\":-9223372036854775808}", 1},
        {"{\"a\":-0}", 0}, /* written 0 */
        {"{\"a\":30.0,\"b\":0.0,\"c\":-0.0,\"d\":100.0,\"e\":123456789012345.0}", 1},
        {"{\"a\":1234567890123456.0}", 0}, /* 16 digits: 1.23456789012346e15 */
        {"{\"a\":0.1,\"b\":-0.5,\"c\":0.0001,\"d\":0.0001234,\"e\":3.14159265358979}", 1},
        {"{\"a\":0.00001}", 0},           /* 1e-05 */
        {"{\"a\":3.141592653589793}", 0}, /* 16 digits: 3.14159265358979 */
        {"{\"a\":1.50}", 0},              /* 1.5 */
        {"{\"a\":1.00}", 0},              /* 1.0 */
        {"{\"a\":0.10}", 0},
        {"{\"a\":12345678901234.5}", 1}, /* 15 digits */
        {"{\"a\":0.000123456789012345}", 1},
        {"{\"a\":0.0001234567890123456}", 0},
        {"{\"a\":1e5}", 0},
        {"{\"a\":1E5}", 0},
        {"{\"a\":2.5e-3}", 0},
        {"{ \"a\":1}", 0},
        {"{\"a\" :1}", 0},
        {"{\"a\":1 }", 0},
        {"{\"a\":1}\n", 0},
        {"{\"a\":\"q\\\"b\\\\n\\n\\r\\t\\b\\f\"}", 1},
        {"{\"a\":\"\\/\"}", 0},     /* written "/" */
        {"{\"a\":\"\\u0041\"}", 0}, /* written "A" */
        {"{\"a\":\"\\u0001\"}", 0}, /* \u0001 is json_dumps' form, not vouched for */
        {"{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}", 1},
        {"{\"a\":\"\\u00e9\"}", 0}, /* written as UTF-8 */
        {"{\"k\\\"ey\":{\"\":[[],{}]}}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_compact(cases[i].text, cases[i].compact);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Random decimals of every shape: whenever compact says yes, json_dumps agrees; and what
 * json_dumps writes for a double in fixed notation is vouched for. */
static void test_compact_numbers(void)
{
    char text[128], num[80];
    int vouched = 0;
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = 0;
        if (rnd(2)) num[n++] = '-';
        size_t ilen = rnd(4) ? 1 + rnd(18) : 1;
        for (size_t i = 0; i < ilen; i++)
            num[n++] = (char)('0' + (i == 0 && ilen > 1 ? 1 + rnd(9) : rnd(10)));
        if (rnd(4)) {
            num[n++] = '.';
            size_t flen = 1 + rnd(18);
            for (size_t i = 0; i < flen; i++)
                num[n++] = (char)('0' + (rnd(3) ? rnd(10) : 0));
        }
        if (!rnd(8)) n += (size_t)snprintf(num + n, sizeof num - n, "e%d", (int)rnd(40) - 20);
        num[n] = '\0';
        snprintf(text, sizeof text, "[%s]", num);
        int c = things__json_compact(text, strlen(text));
        char *d = redump(text);
        if (c && (!d || strcmp(d, text) != 0)) {
            fprintf(stderr, "  vouched for %s, json_dumps writes %s\n", text, d ? d : "(null)");
            vg_test__failed_checks++;
        }
        vouched += c;
        free(d);

        /* a double as the SDK writes it */
        double v = (double)((int64_t)rnd(2000000000) - 1000000000);
        for (uint32_t k = rnd(12); k > 0; k--)
            v /= 10;
        json_t *a = json_pack("[f]", v);
        d = json_dumps(a, VG_JSON_FLAGS);
        json_decref(a);
        if (d && !strchr(d, 'e') && !things__json_compact(d, strlen(d))) {
            fprintf(stderr, "  not vouched for json_dumps' own %s\n", d);
            vg_test__failed_checks++;
        }
        free(d);
    }
    CHECK(vouched > 10000); /* not vacuous */
}

/* Random strings, written by hand with every escape, and by json_dumps. */
static void test_compact_strings(void)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\\\"",
                                         "\\\\",
                                         "\\n",
                                         "\\t",
                                         "\\r",
                                         "\\b",
                                         "\\f",
                                         "\\/",
                                         "\\u0041",
                                         "\\u0001",
                                         "\\u00e9",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\x7f",
                                         "{",
                                         "]"};
    char text[256];
    int vouched = 0;
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = 0;
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"");
        int k = (int)rnd(12);
        for (int i = 0; i < k; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s",
                                  pieces[rnd(sizeof pieces / sizeof pieces[0])]);
        n += (size_t)snprintf(text + n, sizeof text - n, "\":1}");
        int c = things__json_compact(text, n);
        char *d = redump(text);
        if (c && (!d || strcmp(d, text) != 0)) {
            fprintf(stderr, "  vouched for %s, json_dumps writes %s\n", text, d ? d : "(null)");
            vg_test__failed_checks++;
        }
        vouched += c;
        if (d && !strstr(d, "\\u") && !things__json_compact(d, strlen(d))) {
            fprintf(stderr, "  not vouched for json_dumps' own %s\n", d);
            vg_test__failed_checks++;
        }
        free(d);
    }
    CHECK(vouched > 10000);
}

/* What subscribers get: json_dumps of the body whatever the raw text looks like, and the raw
 * text itself when it is compact (shown by a probe whose raw text is not the body's). */
static void test_report_publishes(void)
{
    fx_t f;
    fx_init(&f);
    things_device_t *d = fx_light(&f, "lamp1");
    static const char *const raws[] = {
        "{\"power\":{\"value\":1,\"time\":1524448722000},\"temperature\":{\"value\":21.5}}",
        ("{ \"power\" : { \"value\" : 1 , \"time\" : 1524448722000 } ,\n"
         "  \"temperature\" : { \"value\" : 21.50 } }"),
        "{\"power\":{\"value\":1,\"time\":1524448722000},\"temperature\":{\"value\":2.15e1}}",
    };
    const char *want =
        "{\"power\":{\"value\":1,\"time\":1524448722000},\"temperature\":{\"value\":21.5}}";
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        json_t *body = json_loads(raws[i], JSON_REJECT_DUPLICATES, NULL);
        CHECK_EQ_INT(things_report_properties_raw(f.t, d, body, raws[i], strlen(raws[i])), 0);
        json_decref(body);
    }
    json_t *body = json_loads(want, 0, NULL);
    CHECK_EQ_INT(things_report_properties_raw(f.t, d, body, NULL, 0), 0);
    CHECK_EQ_INT(things_report_properties(f.t, d, body), 0);
    CHECK_EQ_INT(f.nmsgs, 5);
    for (int i = 0; i < f.nmsgs && i < 5; i++) {
        CHECK_EQ_STR(f.msgs[i].payload, want);
        CHECK_EQ_STR(f.msgs[i].topic, "/sys/a1Light/lamp1/thing/event/property/post");
    }
    /* the probe: a compact raw text is published as it is */
    const char *probe = "{\"power\":{\"value\":0}}";
    CHECK_EQ_INT(things_report_properties_raw(f.t, d, body, probe, strlen(probe)), 0);
    CHECK_EQ_INT(f.nmsgs, 6);
    if (f.nmsgs == 6) CHECK_EQ_STR(f.msgs[5].payload, probe);
    json_decref(body);

    /* a malformed body is refused before anything is looked at, raw text or not */
    body = json_loads("{\"power\":1}", 0, NULL);
    CHECK_EQ_INT(things_report_properties_raw(f.t, d, body, "{\"power\":1}", 11), VG_EINVAL);
    json_decref(body);
    CHECK_EQ_INT(f.nmsgs, 6);

    /* events alike */
    const char *ev_raw = "{\"params\" : {\"value\":{\"temp\":90.0},\"time\":7}}";
    const char *ev_want = "{\"params\":{\"value\":{\"temp\":90.0},\"time\":7}}";
    body = json_loads(ev_raw, 0, NULL);
    CHECK_EQ_INT(things_report_event_raw(f.t, d, "overheat", body, ev_raw, strlen(ev_raw)), 0);
    CHECK_EQ_INT(things_report_event_raw(f.t, d, "overheat", body, ev_want, strlen(ev_want)), 0);
    json_decref(body);
    CHECK_EQ_INT(f.nmsgs, 8);
    for (int i = 6; i < f.nmsgs && i < 8; i++) {
        CHECK_EQ_STR(f.msgs[i].payload, ev_want);
        CHECK_EQ_STR(f.msgs[i].topic, "/sys/a1Light/lamp1/thing/event/overheat/post");
    }
    fx_close(&f);
}

VG_TEST_MAIN(VG_TEST(test_compact_table) VG_TEST(test_compact_numbers) VG_TEST(test_compact_strings)
                 VG_TEST(test_report_publishes))
