/* test_tsl.c: the TSL parser and the data-type table: validation errors with their exact field
 * paths, real TSLs accepted (specs as strings or numbers), derived get/set services, and value
 * checks against every type with their messages. */
#include "vg_test.h"

#include "core/error.h"
#include "things/tsl.h"

#include <stdlib.h>
#include <string.h>

/* Test JSON is written with single quotes; this turns them into double quotes. */
static char *q(const char *s)
{
    char *out = strdup(s);
    for (char *p = out; *p; p++)
        if (*p == '\'') *p = '"';
    return out;
}

/* Parses TSL `json` (single-quoted) for product "pk1"; returns the rc and the message. */
static int parse(const char *json, char *err, size_t errlen)
{
    char *text = q(json);
    things__tsl_t *tsl = NULL;
    err[0] = '\0';
    int rc = things__tsl_parse("pk1", text, &tsl, err, errlen);
    free(text);
    things__tsl_free(tsl);
    return rc;
}

#define ID_RULE "expected 1 to 50 letters, digits or '_', not starting with a digit"
#define TYPES   "expected one of int, float, double, text, date, bool, enum, struct, array"

static const struct {
    const char *tsl;
    const char *err;
} bad_cases[] = {
    {"[]", "tsl: expected a JSON object with properties, events and services"},
    {"{'properties':{}}", "tsl: properties = {}: expected an array"},
    {"{'events':'x'}", "tsl: events = \"x\": expected an array"},
    {"{'properties':[1]}",
     "tsl: properties[0] = 1: expected an object with identifier, name and dataType"},
    {"{'properties':[{'accessMode':'rw','dataType':{'type':'int'}}]}",
     "tsl: properties[0].identifier: missing; " ID_RULE},
    {"{'properties':[{'identifier':'9lives','accessMode':'rw','dataType':{'type':'int'}}]}",
     "tsl: properties[0].identifier = \"9lives\": " ID_RULE},
    {"{'properties':[{'identifier':'a-b','accessMode':'rw','dataType':{'type':'int'}}]}",
     "tsl: properties[0].identifier = \"a-b\": " ID_RULE},
    {"{'properties':[{'identifier':'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijK',"
     "'accessMode':'rw','dataType':{'type':'int'}}]}",
     "tsl: properties[0].identifier = "
     "\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijK\": " ID_RULE},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int'}},"
     "{'identifier':'a','accessMode':'r','dataType':{'type':'int'}}]}",
     "tsl: properties[1].identifier = \"a\": duplicate; identifiers must be unique among "
     "properties"},
    {"{'properties':[{'identifier':'a','name':5,'accessMode':'rw','dataType':{'type':'int'}}]}",
     "tsl: properties[0].name = 5: expected a string"},
    {"{'properties':[{'identifier':'a','accessMode':'x','dataType':{'type':'int'}}]}",
     "tsl: properties[0].accessMode = \"x\": expected r, rw or w"},
    {"{'properties':[{'identifier':'a','dataType':{'type':'int'}}]}",
     "tsl: properties[0].accessMode: missing; expected r, rw or w"},
    {"{'properties':[{'identifier':'a','accessMode':'r','required':'yes',"
     "'dataType':{'type':'int'}}]}",
     "tsl: properties[0].required = \"yes\": expected true or false"},
    {"{'properties':[{'identifier':'a','accessMode':'rw'}]}",
     "tsl: properties[0].dataType: missing; expected an object {\"type\",\"specs\"}"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':'int'}]}",
     "tsl: properties[0].dataType = \"int\": expected an object {\"type\",\"specs\"}"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int'}},"
     "{'identifier':'b','accessMode':'rw','dataType':{'type':'int'}},"
     "{'identifier':'c','accessMode':'rw','dataType':{'type':'integer'}}]}",
     "tsl: properties[2].dataType.type = \"integer\": " TYPES},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'specs':{}}}]}",
     "tsl: properties[0].dataType.type: missing; " TYPES},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int',"
     "'specs':{'min':'5','max':'1'}}}]}",
     "tsl: properties[0].dataType.specs: min 5 is greater than max 1"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'float',"
     "'specs':{'min':'abc'}}}]}",
     "tsl: properties[0].dataType.specs.min = \"abc\": expected a number, or a string holding "
     "one"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'double',"
     "'specs':{'max':true}}}]}",
     "tsl: properties[0].dataType.specs.max = true: expected a number, or a string holding one"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int',"
     "'specs':{'min':'1.5'}}}]}",
     "tsl: properties[0].dataType.specs.min = \"1.5\": expected an integer for an int"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int',"
     "'specs':{'step':'-1'}}}]}",
     "tsl: properties[0].dataType.specs.step = \"-1\": expected a step of 0 or more"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int',"
     "'specs':[1]}}]}",
     "tsl: properties[0].dataType.specs = [1]: expected an object"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'text',"
     "'specs':{'length':0}}}]}",
     "tsl: properties[0].dataType.specs.length = 0: expected an integer from 1 to 1048576"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'text',"
     "'specs':{'length':'ten'}}}]}",
     "tsl: properties[0].dataType.specs.length = \"ten\": expected a number, or a string "
     "holding one"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'date',"
     "'specs':1}}]}",
     "tsl: properties[0].dataType.specs = 1: expected an object"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'enum'}}]}",
     "tsl: properties[0].dataType.specs: missing; expected an object"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'enum',"
     "'specs':{}}}]}",
     "tsl: properties[0].dataType.specs = {}: expected at least one value: "
     "{\"0\":\"label\",...}"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'enum',"
     "'specs':{'0':'a','x':'b'}}}]}",
     "tsl: properties[0].dataType.specs.x: an enum's values are integers (\"0\", \"1\", "
     "\"-2\")"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'enum',"
     "'specs':{'01':'a'}}}]}",
     "tsl: properties[0].dataType.specs.01: an enum's values are integers (\"0\", \"1\", "
     "\"-2\")"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'enum',"
     "'specs':{'0':5}}}]}",
     "tsl: properties[0].dataType.specs.0 = 5: expected the value's label, a string"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'bool',"
     "'specs':{'0':'off','2':'on'}}}]}",
     "tsl: properties[0].dataType.specs.2: a bool's values are \"0\" and \"1\""},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'struct',"
     "'specs':{}}}]}",
     "tsl: properties[0].dataType.specs = {}: expected a non-empty array of members"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'struct'}}]}",
     "tsl: properties[0].dataType.specs: missing; expected a non-empty array of members"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'struct',"
     "'specs':[{'identifier':'x','dataType':{'type':'int'}},"
     "{'identifier':'x','dataType':{'type':'int'}}]}}]}",
     "tsl: properties[0].dataType.specs[1].identifier = \"x\": duplicate; member identifiers "
     "must be unique"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'struct',"
     "'specs':[{'identifier':'x','dataType':{'type':'long'}}]}}]}",
     "tsl: properties[0].dataType.specs[0].dataType.type = \"long\": " TYPES},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'struct',"
     "'specs':['x']}}]}",
     "tsl: properties[0].dataType.specs[0] = \"x\": expected a member: "
     "{\"identifier\",\"name\",\"dataType\"}"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'array',"
     "'specs':{'item':{'type':'int'}}}}]}",
     "tsl: properties[0].dataType.specs.size: missing; expected an integer from 1 to 65536"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'array',"
     "'specs':{'size':'0','item':{'type':'int'}}}}]}",
     "tsl: properties[0].dataType.specs.size = \"0\": expected an integer from 1 to 65536"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'array',"
     "'specs':{'size':3}}}]}",
     "tsl: properties[0].dataType.specs.item: missing; expected an object {\"type\",\"specs\"}"},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'array',"
     "'specs':{'size':3,'item':{'type':'list'}}}}]}",
     "tsl: properties[0].dataType.specs.item.type = \"list\": " TYPES},
    {"{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'array',"
     "'specs':{'size':3,'item':{'type':'int','specs':{'min':9,'max':1}}}}}]}",
     "tsl: properties[0].dataType.specs.item.specs: min 9 is greater than max 1"},
    {"{'events':[{'identifier':'e','type':'fatal'}]}",
     "tsl: events[0].type = \"fatal\": expected info, alert or error"},
    {"{'events':[{'identifier':'e'},{'identifier':'e'}]}",
     "tsl: events[1].identifier = \"e\": duplicate; identifiers must be unique among events"},
    {"{'events':[{'type':'info'}]}", "tsl: events[0].identifier: missing; " ID_RULE},
    {"{'events':[{'identifier':'e','outputData':[{'identifier':'t','dataType':{'type':'x'}}]}]}",
     "tsl: events[0].outputData[0].dataType.type = \"x\": " TYPES},
    {"{'events':[{'identifier':'e','outputData':{}}]}",
     "tsl: events[0].outputData = {}: expected an array"},
    {"{'services':[{'identifier':'s','callType':'maybe'}]}",
     "tsl: services[0].callType = \"maybe\": expected sync or async"},
    {"{'services':[{'identifier':'s'},{'identifier':'s'}]}",
     "tsl: services[1].identifier = \"s\": duplicate; identifiers must be unique among services"},
    {"{'services':[{'identifier':'s','inputData':[{'identifier':'x','dataType':{'type':'int'}},"
     "{'identifier':'x','dataType':{'type':'int'}}]}]}",
     "tsl: services[0].inputData[1].identifier = \"x\": duplicate; identifiers must be unique "
     "among a service's inputData"},
    {"{'services':[{'identifier':'s','outputData':[{'identifier':'x'}]}]}",
     "tsl: services[0].outputData[0].dataType: missing; expected an object {\"type\",\"specs\"}"},
    {"{'services':[{'identifier':'get','inputData':['nope']}]}",
     "tsl: services[0].inputData[0] = \"nope\": expected the identifier of a property"},
    {"{'services':[{'identifier':'s','inputData':['x']}]}",
     "tsl: services[0].inputData[0] = \"x\": expected an object with identifier, name and "
     "dataType"},
    {"{'services':[{'identifier':'s','method':7}]}",
     "tsl: services[0].method = 7: expected a string"},
    {"{'profile':{'productKey':'other'}}",
     "tsl: profile.productKey = \"other\": expected \"pk1\", the product this TSL is added as"},
    {"{'profile':[]}", "tsl: profile = []: expected an object"},
};

static void test_bad_tsls(void)
{
    char err[512];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        int rc = parse(bad_cases[i].tsl, err, sizeof err);
        if (rc != VG_EINVAL || strcmp(err, bad_cases[i].err) != 0)
            fprintf(stderr, "  case %zu: %s\n", i, bad_cases[i].tsl);
        CHECK_EQ_INT(rc, VG_EINVAL);
        CHECK_EQ_STR(err, bad_cases[i].err);
    }
}

static void test_not_json(void)
{
    char err[512];
    CHECK_EQ_INT(parse("{'properties':[", err, sizeof err), VG_EINVAL);
    CHECK(strncmp(err, "tsl: line 1, column ", 20) == 0);
    CHECK_EQ_INT(parse("{'a':1,'a':2}", err, sizeof err), VG_EINVAL); /* duplicate keys */
    CHECK(strstr(err, "duplicate") != NULL);
    CHECK_EQ_INT(parse("", err, sizeof err), VG_EINVAL);
}

static void test_depth_limit(void)
{
    char err[512], tsl[2048];
    /* nine arrays of arrays, built inside out (each level adds 43 bytes) */
    char dt[1024] = "{'type':'int'}";
    for (int i = 0; i < 9; i++) {
        char next[sizeof dt + 64];
        snprintf(next, sizeof next, "{'type':'array','specs':{'size':2,'item':%s}}", dt);
        memcpy(dt, next, sizeof dt - 1);
        dt[sizeof dt - 1] = '\0';
    }
    snprintf(tsl, sizeof tsl, "{'properties':[{'identifier':'a','accessMode':'rw','dataType':%s}]}",
             dt);
    CHECK_EQ_INT(parse(tsl, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "nest deeper than 8 levels") != NULL);
    CHECK(strstr(err, "tsl: properties[0].dataType.specs.item.specs.item.specs.item") == err);
}

/* The SDK-FACTS §4 example: numbers as strings, get/set given, get's inputData as names. */
static void test_real_tsl_accepted(void)
{
    char err[512];
    const char *tsl =
        "{'schema':'https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json',"
        "'profile':{'productKey':'pk1'},"
        "'properties':["
        "{'identifier':'brightness','name':'brightnes','accessMode':'rw','required':true,"
        " 'dataType':{'type':'int','specs':{'min':'1','max':'5','step':'1'}}},"
        "{'identifier':'power','name':'power','accessMode':'rw','required':false,"
        " 'dataType':{'type':'bool','specs':{'0':'off','1':'on'}}}],"
        "'events':["
        "{'identifier':'post','name':'post','type':'info','required':true,"
        " 'method':'thing.event.property.post','outputData':["
        "  {'identifier':'brightness','name':'b','dataType':{'type':'int','specs':{'min':'1'}}}]},"
        "{'identifier':'ledBroken','name':'ledBroken','type':'error','required':false,"
        " 'method':'thing.event.ledBroken.post','outputData':[]}],"
        "'services':["
        "{'identifier':'set','name':'set','callType':'sync','required':true,"
        " 'method':'thing.service.property.set','inputData':["
        "  {'identifier':'brightness','name':'b','dataType':{'type':'int','specs':{'min':1}}}],"
        " 'outputData':[]},"
        "{'identifier':'get','name':'get','callType':'sync','required':true,"
        " 'method':'thing.service.property.get','inputData':['brightness','power'],"
        " 'outputData':[]},"
        "{'identifier':'blink','name':'blink','callType':'async','required':false,"
        " 'method':'thing.service.blink','inputData':[],'outputData':[]}]}";
    char *text = q(tsl);
    things__tsl_t *m = NULL;
    CHECK_EQ_INT(things__tsl_parse("pk1", text, &m, err, sizeof err), 0);
    if (m) {
        CHECK_EQ_INT(m->nprops, 2);
        CHECK_EQ_INT(m->nservices, 3);
        const things__field_t *b = things__tsl_prop(m, "brightness");
        CHECK(b && b->type.kind == THINGS__INT && b->type.has_min && b->type.min == 1 &&
              b->type.max == 5 && b->access == (THINGS__READ | THINGS__WRITE));
        CHECK(things__tsl_service(m, "blink") != NULL);
        CHECK(things__tsl_service(m, "nope") == NULL);
        /* get and set were given: nothing is derived, the document is served as is. */
        json_t *a = json_loads(text, 0, NULL), *b2 = json_loads(m->text, 0, NULL);
        CHECK(json_equal(a, b2));
        json_decref(a);
        json_decref(b2);
    }
    things__tsl_free(m);
    free(text);
    CHECK_EQ_INT(parse("{}", err, sizeof err), 0); /* an empty model is a model */
}

static void test_derived_get_set(void)
{
    char err[512];
    char *text = q("{'properties':["
                   "{'identifier':'a','name':'A','accessMode':'rw','dataType':{'type':'int',"
                   "'specs':{'min':'0','max':'9'}}},"
                   "{'identifier':'b','accessMode':'r','dataType':{'type':'text','specs':"
                   "{'length':'4'}}},"
                   "{'identifier':'c','accessMode':'w','dataType':{'type':'bool'}}]}");
    things__tsl_t *m = NULL;
    CHECK_EQ_INT(things__tsl_parse("pk1", text, &m, err, sizeof err), 0);
    char *want =
        q("{'properties':["
          "{'identifier':'a','name':'A','accessMode':'rw','dataType':{'type':'int',"
          "'specs':{'min':'0','max':'9'}}},"
          "{'identifier':'b','accessMode':'r','dataType':{'type':'text','specs':{'length':'4'}}},"
          "{'identifier':'c','accessMode':'w','dataType':{'type':'bool'}}],"
          "'services':["
          "{'identifier':'get','name':'get','callType':'sync','required':true,"
          "'method':'thing.service.property.get','inputData':['a','b'],'outputData':["
          "{'identifier':'a','name':'A','dataType':{'type':'int','specs':{'min':'0','max':'9'}}},"
          "{'identifier':'b','dataType':{'type':'text','specs':{'length':'4'}}}]},"
          "{'identifier':'set','name':'set','callType':'sync','required':true,"
          "'method':'thing.service.property.set','inputData':["
          "{'identifier':'a','name':'A','dataType':{'type':'int','specs':{'min':'0','max':'9'}}},"
          "{'identifier':'c','dataType':{'type':'bool'}}],'outputData':[]}]}");
    if (m) CHECK_EQ_STR(m->text, want);
    things__tsl_free(m);
    free(text);
    free(want);

    /* A TSL with its own get keeps it; only set is derived, after the given services. */
    text = q("{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int'}}],"
             "'services':[{'identifier':'get','inputData':['a'],'outputData':[]}]}");
    m = NULL;
    CHECK_EQ_INT(things__tsl_parse("pk1", text, &m, err, sizeof err), 0);
    want = q("{'properties':[{'identifier':'a','accessMode':'rw','dataType':{'type':'int'}}],"
             "'services':[{'identifier':'get','inputData':['a'],'outputData':[]},"
             "{'identifier':'set','name':'set','callType':'sync','required':true,"
             "'method':'thing.service.property.set','inputData':["
             "{'identifier':'a','dataType':{'type':'int'}}],'outputData':[]}]}");
    if (m) CHECK_EQ_STR(m->text, want);
    things__tsl_free(m);
    free(text);
    free(want);
}

/* --- value checks --------------------------------------------------------------------------- */

/* Checks `value` (single-quoted JSON) against the dataType `dt`; returns the result and msg. */
static int check(const char *dt, const char *value, char *msg, size_t msglen)
{
    char err[512], tsl[1024];
    snprintf(tsl, sizeof tsl, "{'properties':[{'identifier':'p','accessMode':'rw','dataType':%s}]}",
             dt);
    char *text = q(tsl), *vtext = q(value);
    things__tsl_t *m = NULL;
    int rc = -1;
    msg[0] = '\0';
    if (things__tsl_parse("pk1", text, &m, err, sizeof err) != 0) {
        fprintf(stderr, "  bad test TSL: %s\n", err);
    } else {
        json_t *v = json_loads(vtext, JSON_DECODE_ANY, NULL);
        rc = things__value_check(&things__tsl_prop(m, "p")->type, v, "property p", msg, msglen);
        json_decref(v);
    }
    things__tsl_free(m);
    free(text);
    free(vtext);
    return rc;
}

static const struct {
    const char *dt, *value;
    int rc;
    const char *msg;
} value_cases[] = {
    {"{'type':'int','specs':{'min':'1','max':'5'}}", "3", THINGS__V_OK, ""},
    {"{'type':'int','specs':{'min':'1','max':'5'}}", "9", THINGS__V_RANGE,
     "property p = 9: expected an int from 1 to 5"},
    {"{'type':'int','specs':{'min':'1','max':'5'}}", "'3'", THINGS__V_TYPE,
     "property p = \"3\": expected an int (a JSON integer)"},
    {"{'type':'int'}", "2.5", THINGS__V_TYPE, "property p = 2.5: expected an int (a JSON integer)"},
    {"{'type':'int'}", "4294967296", THINGS__V_RANGE,
     "property p = 4294967296: expected an int from -2147483648 to 2147483647"},
    {"{'type':'float','specs':{'min':-40,'max':125}}", "20", THINGS__V_OK, ""},
    {"{'type':'float','specs':{'min':-40,'max':125}}", "-40.5", THINGS__V_RANGE,
     "property p = -40.5: expected a float from -40 to 125"},
    {"{'type':'double','specs':{'min':'0.5'}}", "0.1", THINGS__V_RANGE,
     "property p = 0.1: expected a double of at least 0.5"},
    {"{'type':'double'}", "true", THINGS__V_TYPE,
     "property p = true: expected a double (a JSON number)"},
    {"{'type':'text','specs':{'length':'3'}}", "'abc'", THINGS__V_OK, ""},
    {"{'type':'text','specs':{'length':'3'}}", "'\xe4\xbd\xa0\xe5\xa5\xbd\xe5\x90\x97'",
     THINGS__V_OK, ""}, /* three characters, nine bytes */
    {"{'type':'text','specs':{'length':'3'}}", "'abcd'", THINGS__V_TYPE,
     "property p = \"abcd\": expected a text of at most 3 characters"},
    {"{'type':'text'}", "5", THINGS__V_TYPE, "property p = 5: expected a text (a JSON string)"},
    {"{'type':'date'}", "'1524448722000'", THINGS__V_OK, ""},
    {"{'type':'date'}", "1524448722000", THINGS__V_OK, ""},
    {"{'type':'date'}", "'2018-04-23'", THINGS__V_TYPE,
     "property p = \"2018-04-23\": expected a date: UTC milliseconds as a string of digits or an "
     "integer"},
    {"{'type':'date'}", "-1", THINGS__V_TYPE,
     "property p = -1: expected a date: UTC milliseconds as a string of digits or an integer"},
    {"{'type':'bool'}", "1", THINGS__V_OK, ""},
    {"{'type':'bool'}", "false", THINGS__V_OK, ""},
    {"{'type':'bool'}", "2", THINGS__V_TYPE,
     "property p = 2: expected a bool: 0, 1, true or false"},
    {"{'type':'bool'}", "'1'", THINGS__V_TYPE,
     "property p = \"1\": expected a bool: 0, 1, true or false"},
    {"{'type':'enum','specs':{'0':'a','1':'b','-2':'c'}}", "-2", THINGS__V_OK, ""},
    {"{'type':'enum','specs':{'0':'a','1':'b','-2':'c'}}", "3", THINGS__V_RANGE,
     "property p = 3: expected one of the enum's values 0, 1, -2"},
    {"{'type':'enum','specs':{'0':'a'}}", "'0'", THINGS__V_TYPE,
     "property p = \"0\": expected an enum value (a JSON integer)"},
    {"{'type':'struct','specs':[{'identifier':'r','dataType':{'type':'int','specs':{'max':255}}},"
     "{'identifier':'g','dataType':{'type':'int'}}]}",
     "{'r':1,'g':2}", THINGS__V_OK, ""},
    {"{'type':'struct','specs':[{'identifier':'r','dataType':{'type':'int','specs':{'max':255}}},"
     "{'identifier':'g','dataType':{'type':'int'}}]}",
     "{'r':300}", THINGS__V_RANGE, "property p.r = 300: expected an int from -2147483648 to 255"},
    {"{'type':'struct','specs':[{'identifier':'r','dataType':{'type':'int'}}]}", "{'x':1}",
     THINGS__V_TYPE, "property p.x = 1: no such member; the struct's members are r"},
    {"{'type':'struct','specs':[{'identifier':'r','dataType':{'type':'int'}}]}", "[1]",
     THINGS__V_TYPE, "property p = [1]: expected a struct: an object with members r"},
    {"{'type':'array','specs':{'size':2,'item':{'type':'int'}}}", "[1,2]", THINGS__V_OK, ""},
    {"{'type':'array','specs':{'size':2,'item':{'type':'int'}}}", "[1,2,3]", THINGS__V_TYPE,
     "property p = [1,2,3]: expected an array of at most 2 int items"},
    {"{'type':'array','specs':{'size':2,'item':{'type':'int'}}}", "[1,'x']", THINGS__V_TYPE,
     "property p[1] = \"x\": expected an int (a JSON integer)"},
    {"{'type':'array','specs':{'size':2,'item':{'type':'struct','specs':[{'identifier':'v',"
     "'dataType':{'type':'text','specs':{'length':1}}}]}}}",
     "[{'v':'ab'}]", THINGS__V_TYPE,
     "property p[0].v = \"ab\": expected a text of at most 1 "
     "characters"},
};

static void test_value_checks(void)
{
    char msg[512];
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        int rc = check(value_cases[i].dt, value_cases[i].value, msg, sizeof msg);
        if (rc != value_cases[i].rc || (rc && strcmp(msg, value_cases[i].msg) != 0))
            fprintf(stderr, "  case %zu: %s against %s\n", i, value_cases[i].value,
                    value_cases[i].dt);
        CHECK_EQ_INT(rc, value_cases[i].rc);
        if (rc) CHECK_EQ_STR(msg, value_cases[i].msg);
    }
}

static void test_identifiers(void)
{
    CHECK(things__identifier_ok("a"));
    CHECK(things__identifier_ok("_x9"));
    CHECK(things__identifier_ok("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij")); /* 50 */
    CHECK(!things__identifier_ok("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijk"));
    CHECK(!things__identifier_ok(""));
    CHECK(!things__identifier_ok("1a"));
    CHECK(!things__identifier_ok("a.b"));
    CHECK(!things__identifier_ok(NULL));
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_bad_tsls)
    VG_TEST(test_not_json)
    VG_TEST(test_depth_limit)
    VG_TEST(test_real_tsl_accepted)
    VG_TEST(test_derived_get_set)
    VG_TEST(test_value_checks)
    VG_TEST(test_identifiers)
)
/* clang-format on */
