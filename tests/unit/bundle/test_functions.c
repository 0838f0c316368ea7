/* test_functions.c: a manifest's "functions" load into bundle_function_t with every field as
 * given and the documented defaults, and every mistake in them (names, code files and their
 * Lua syntax, bounds, timers, env) is reported as one exact line, all in one load. */
#include "bundle/bundle.h"
#include "core/cron.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONITOR_LUA                                                                                \
    "local n = 0\nfunction handler(event, context)\n  n = n + 1\n  return event\nend\n"

/* The start of a valid function object, with ' for ". */
#define FN "{'service': 'EdgeFC', 'name': 'monitor', 'code': 'functions/monitor.lua'"

/* The demo bundle with the top-level keys `keys` (with ') added, and functions/monitor.lua. */
static void demo_plus(fx_t *f, const char *keys)
{
    static char to[256 * 1024];
    snprintf(to, sizeof to, " }],\n %s\n}", keys);
    fx_demo_with(f, " }]\n}", to);
    fx_write(f, "functions/monitor.lua", MONITOR_LUA);
}

/* Loads the demo plus `keys`; expects VG_EINVAL and exactly `want`. */
#define EXPECT_KEYS(keys, want)                                                                    \
    do {                                                                                           \
        fx_t f_;                                                                                   \
        fx_init(&f_);                                                                              \
        demo_plus(&f_, keys);                                                                      \
        CHECK_EQ_INT(fx_load(&f_, NULL), VG_EINVAL);                                               \
        CHECK(f_.b == NULL);                                                                       \
        CHECK_EQ_STR(fx_errors(&f_), want);                                                        \
        fx_close(&f_);                                                                             \
    } while (0)

/* One function: FN followed by `extra` (", 'key': value..." or ""). */
#define EXPECT_FN(extra, want) EXPECT_KEYS("'functions': [" FN extra "}]", want)

/* Loads the demo plus `keys`; expects success and no problem. */
#define LOAD_OK(f, keys)                                                                           \
    do {                                                                                           \
        demo_plus(f, keys);                                                                        \
        CHECK_EQ_INT(fx_load(f, NULL), 0);                                                         \
        CHECK_EQ_STR(fx_errors(f), "");                                                            \
    } while (0)

/* The issue's example: every field as given. */
static void test_full(void)
{
    fx_t f;
    fx_init(&f);
    LOAD_OK(&f, "'functions': [{'service': 'EdgeFC', 'name': 'monitor',\n"
                "  'code': 'functions/monitor.lua', 'handler': 'handler', 'mode': 'on-demand',\n"
                "  'timeoutMs': 3000, 'memoryMB': 8, 'concurrency': 1, 'queueMax': 100,\n"
                "  'idleUnloadMs': 60000,\n"
                "  'timers': [{'everyMs': 1000, 'payload': 'tick'}, {'cron': '*/5 * * * *'}],\n"
                "  'env': {'THRESHOLD': '30'}}]");
    const bundle_t *b = f.b;
    if (!b) {
        fx_close(&f);
        return;
    }
    CHECK_EQ_INT(b->nfunctions, 1);
    const bundle_function_t *fn = &b->functions[0];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/functions/monitor.lua", f.dir);
    CHECK_EQ_STR(fn->service, "EdgeFC");
    CHECK_EQ_STR(fn->name, "monitor");
    CHECK_EQ_STR(fn->code, path);
    CHECK_EQ_STR(fn->handler, "handler");
    CHECK_EQ_INT(fn->mode, BUNDLE_ON_DEMAND);
    CHECK_EQ_INT(fn->timeout_ms, 3000);
    CHECK_EQ_INT(fn->memory_mb, 8);
    CHECK_EQ_INT(fn->concurrency, 1);
    CHECK_EQ_INT(fn->queue_max, 100);
    CHECK_EQ_INT(fn->idle_unload_ms, 60000);
    CHECK_EQ_INT(fn->ntimers, 2);
    if (fn->ntimers == 2) {
        CHECK_EQ_INT(fn->timers[0].every_ms, 1000);
        CHECK(fn->timers[0].cron == NULL);
        CHECK_EQ_STR(fn->timers[0].payload, "tick");
        CHECK_EQ_INT(fn->timers[1].every_ms, 0);
        CHECK_EQ_STR(fn->timers[1].cron, "*/5 * * * *");
        CHECK_EQ_STR(fn->timers[1].payload, "");
    }
    CHECK(json_is_object(fn->env) && json_object_size(fn->env) == 1);
    CHECK_EQ_STR(json_string_value(json_object_get(fn->env, "THRESHOLD")), "30");
    CHECK(bundle_function(b, "EdgeFC", "monitor") == fn);
    CHECK(bundle_function(b, "EdgeFC", "nope") == NULL);
    CHECK(bundle_function(b, "Other", "monitor") == NULL);
    CHECK_EQ_INT(b->nroutes, 0);
    fx_close(&f);
}

/* What the manifest leaves out is 0 / NULL / {} (the function host's defaults apply). */
static void test_defaults(void)
{
    fx_t f;
    fx_init(&f);
    LOAD_OK(&f, "'functions': [" FN "},\n"
                " {'service': 'EdgeFC', 'name': 'loop', 'code': 'functions/monitor.lua',\n"
                "  'mode': 'long-running', 'handler': 'index.handler', 'queueMax': 0},\n"
                " {'service': 'Other', 'name': 'monitor', 'code': 'functions/monitor.lua',\n"
                "  'timers': [], 'env': {}, 'handler': '_h2'}]");
    const bundle_t *b = f.b;
    if (!b) {
        fx_close(&f);
        return;
    }
    CHECK_EQ_INT(b->nfunctions, 3);
    const bundle_function_t *fn = bundle_function(b, "EdgeFC", "monitor");
    CHECK(fn == &b->functions[0]);
    if (fn) {
        CHECK(fn->handler == NULL);
        CHECK_EQ_INT(fn->mode, BUNDLE_ON_DEMAND);
        CHECK_EQ_INT(fn->timeout_ms, 0);
        CHECK_EQ_INT(fn->memory_mb, 0);
        CHECK_EQ_INT(fn->concurrency, 0);
        CHECK_EQ_INT(fn->queue_max, 0);
        CHECK_EQ_INT(fn->idle_unload_ms, 0);
        CHECK(fn->timers == NULL && fn->ntimers == 0);
        CHECK(json_is_object(fn->env) && json_object_size(fn->env) == 0);
    }
    fn = bundle_function(b, "EdgeFC", "loop");
    CHECK(fn == &b->functions[1]);
    if (fn) {
        CHECK_EQ_INT(fn->mode, BUNDLE_LONG_RUNNING);
        CHECK_EQ_STR(fn->handler, "index.handler");
        CHECK_EQ_INT(fn->queue_max, -1); /* 0 in the manifest: no queue */
    }
    fn = bundle_function(b, "Other", "monitor"); /* same name, other service: another function */
    CHECK(fn == &b->functions[2]);
    if (fn) {
        CHECK(fn->ntimers == 0 && json_object_size(fn->env) == 0);
        CHECK_EQ_STR(fn->handler, "_h2");
    }
    fx_close(&f);

    /* the demo has none; an empty array is fine too */
    fx_init(&f);
    fx_demo(&f);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK(f.b && f.b->nfunctions == 0 && f.b->functions == NULL);
    CHECK(f.b && bundle_function(f.b, "EdgeFC", "monitor") == NULL);
    LOAD_OK(&f, "'functions': []");
    CHECK(f.b && f.b->nfunctions == 0);
    fx_close(&f);
}

/* Bounds: each limit itself loads, one past it is reported. */
static void test_bounds(void)
{
    fx_t f;
    fx_init(&f);
    LOAD_OK(&f, "'functions': [" FN ", 'timeoutMs': 1, 'memoryMB': 1, 'concurrency': 1,"
                " 'queueMax': 1, 'idleUnloadMs': 1000,"
                " 'timers': [{'everyMs': 10}, {'everyMs': 86400000}]},\n"
                " {'service': 'EdgeFC', 'name': 'b', 'code': 'functions/monitor.lua',"
                " 'timeoutMs': 3600000, 'memoryMB': 1024, 'concurrency': 10000,"
                " 'queueMax': 1000000, 'idleUnloadMs': 86400000}]");
    if (f.b) {
        const bundle_function_t *lo = &f.b->functions[0], *hi = &f.b->functions[1];
        CHECK(lo->timeout_ms == 1 && lo->memory_mb == 1 && lo->concurrency == 1 &&
              lo->queue_max == 1 && lo->idle_unload_ms == 1000);
        CHECK(lo->ntimers == 2 && lo->timers[0].every_ms == 10 &&
              lo->timers[1].every_ms == 86400000);
        CHECK(hi->timeout_ms == 3600000 && hi->memory_mb == 1024 && hi->concurrency == 10000 &&
              hi->queue_max == 1000000 && hi->idle_unload_ms == 86400000);
    }
    fx_close(&f);

    EXPECT_FN(", 'timeoutMs': 0, 'memoryMB': 0, 'concurrency': 0, 'queueMax': -1,"
              " 'idleUnloadMs': 999, 'timers': [{'everyMs': 9}]",
              "bundle.json: functions[0].timeoutMs = 0: expected an integer from 1 to 3600000\n"
              "bundle.json: functions[0].memoryMB = 0: expected an integer from 1 to 1024\n"
              "bundle.json: functions[0].concurrency = 0: expected an integer from 1 to 10000\n"
              "bundle.json: functions[0].queueMax = -1: expected an integer from 0 to 1000000\n"
              "bundle.json: functions[0].idleUnloadMs = 999: expected an integer from 1000 to "
              "86400000\n"
              "bundle.json: functions[0].timers[0].everyMs = 9: expected an integer from 10 to "
              "86400000\n");
    EXPECT_FN(", 'timeoutMs': 3600001, 'memoryMB': 1025, 'concurrency': 10001,"
              " 'queueMax': 1000001, 'idleUnloadMs': 86400001, 'timers': [{'everyMs': 86400001}]",
              "bundle.json: functions[0].timeoutMs = 3600001: expected an integer from 1 to "
              "3600000\n"
              "bundle.json: functions[0].memoryMB = 1025: expected an integer from 1 to 1024\n"
              "bundle.json: functions[0].concurrency = 10001: expected an integer from 1 to "
              "10000\n"
              "bundle.json: functions[0].queueMax = 1000001: expected an integer from 0 to "
              "1000000\n"
              "bundle.json: functions[0].idleUnloadMs = 86400001: expected an integer from 1000 "
              "to 86400000\n"
              "bundle.json: functions[0].timers[0].everyMs = 86400001: expected an integer from "
              "10 to 86400000\n");
    /* far out of range: no wrap-around */
    EXPECT_FN(", 'timeoutMs': 9223372036854775807, 'memoryMB': -9223372036854775808",
              "bundle.json: functions[0].timeoutMs = 9223372036854775807: expected an integer "
              "from 1 to 3600000\n"
              "bundle.json: functions[0].memoryMB = -9223372036854775808: expected an integer "
              "from 1 to 1024\n");
}

/* Integers only: reals, strings, booleans are the wrong type. */
static void test_integer_type(void)
{
    EXPECT_FN(", 'timeoutMs': 3000.0, 'memoryMB': '8', 'concurrency': true, 'queueMax': null,"
              " 'idleUnloadMs': 1.5e4, 'timers': [{'everyMs': '1000'}]",
              "bundle.json: functions[0].timeoutMs = 3000.0: expected an integer\n"
              "bundle.json: functions[0].memoryMB = \"8\": expected an integer\n"
              "bundle.json: functions[0].concurrency = true: expected an integer\n"
              "bundle.json: functions[0].queueMax = null: expected an integer\n"
              "bundle.json: functions[0].idleUnloadMs = 15000.0: expected an integer\n"
              "bundle.json: functions[0].timers[0].everyMs = \"1000\": expected an integer\n");
}

static void test_names(void)
{
    EXPECT_KEYS(
        "'functions': [{'service': 'Edge FC', 'name': '', 'code': 'functions/monitor.lua'}]",
        "bundle.json: functions[0].service = \"Edge FC\": expected 1 to 64 characters of "
        "A-Z a-z 0-9 . _ -\n"
        "bundle.json: functions[0].name = \"\": expected 1 to 64 characters of A-Z a-z "
        "0-9 . _ -\n");
    EXPECT_KEYS("'functions': [{'service': 'a/b', 'name': "
                "'x1234567890123456789012345678901234567890123456789012345678901234', "
                "'code': 'functions/monitor.lua'}]",
                "bundle.json: functions[0].service = \"a/b\": expected 1 to 64 characters of A-Z "
                "a-z 0-9 . _ -\n"
                "bundle.json: functions[0].name = "
                "\"x1234567890123456789012345678901234567890123456789012345678901234\": expected "
                "1 to 64 characters of A-Z a-z 0-9 . _ -\n");
    EXPECT_KEYS("'functions': [{'name': 'x'}, 3]",
                "bundle.json: functions[0].service: required key missing\n"
                "bundle.json: functions[0].code: required key missing\n"
                "bundle.json: functions[1] = 3: expected an object\n");
    EXPECT_KEYS("'functions': {}", "bundle.json: functions = {}: expected an array\n");
    EXPECT_FN(", 'memory': 8",
              "bundle.json: functions[0].memory: unknown key; valid keys are service, name, code, "
              "handler, mode, timeoutMs, memoryMB, concurrency, queueMax, idleUnloadMs, timers, "
              "env\n");
    /* the pair is unique; the first one keeps it */
    EXPECT_KEYS("'functions': [" FN "}, {'service': 'EdgeFC', 'name': 'other', 'code': "
                "'functions/monitor.lua'}, " FN "}, " FN "}]",
                "bundle.json: functions[2].name = \"monitor\": duplicate of functions[0] "
                "(EdgeFC/monitor)\n"
                "bundle.json: functions[3].name = \"monitor\": duplicate of functions[0] "
                "(EdgeFC/monitor)\n");
}

static void test_handler_and_mode(void)
{
    static const char *const bad[] = {"", "1x", "a.b.c", "a.", ".a", "a-b", "a b", "x:y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char keys[512], want[512];
        snprintf(keys, sizeof keys, "'functions': [" FN ", 'handler': '%s'}]", bad[i]);
        snprintf(want, sizeof want,
                 "bundle.json: functions[0].handler = \"%s\": expected the name of a Lua global "
                 "function, such as handler, optionally after a module name and a dot, such as "
                 "index.handler\n",
                 bad[i]);
        EXPECT_KEYS(keys, want);
    }
    EXPECT_FN(", 'mode': 'on_demand'",
              "bundle.json: functions[0].mode = \"on_demand\": expected \"on-demand\" or "
              "\"long-running\"\n");
    EXPECT_FN(", 'mode': 'long-running', 'idleUnloadMs': 60000",
              "bundle.json: functions[0].idleUnloadMs = 60000: only on-demand functions are "
              "unloaded when idle; this one is long-running\n");
}

/* The code file: inside the bundle, a regular .lua file. */
static void test_code_paths(void)
{
    EXPECT_FN(", 'x': 1}, {'service': 'S', 'name': 'a', 'code': '../outside.lua'},\n"
              " {'service': 'S', 'name': 'b', 'code': '/etc/x.lua'},\n"
              " {'service': 'S', 'name': 'c', 'code': 'functions/../../x.lua'},\n"
              " {'service': 'S', 'name': 'd', 'code': 'functions/nope.lua'},\n"
              " {'service': 'S', 'name': 'e', 'code': 'functions/monitor.py'},\n"
              " {'service': 'S', 'name': 'f', 'code': '.lua'},\n"
              " {'service': 'S', 'name': 'g', 'code': ''},\n"
              " {'service': 'S', 'name': 'h', 'code': 'functions'",
              "bundle.json: functions[0].x: unknown key; valid keys are service, name, code, "
              "handler, mode, timeoutMs, memoryMB, concurrency, queueMax, idleUnloadMs, timers, "
              "env\n"
              "bundle.json: functions[1].code = \"../outside.lua\": leaves the bundle directory\n"
              "bundle.json: functions[2].code = \"/etc/x.lua\": must be relative to the bundle "
              "directory, not absolute\n"
              "bundle.json: functions[3].code = \"functions/../../x.lua\": leaves the bundle "
              "directory\n"
              "bundle.json: functions[4].code = \"functions/nope.lua\": no such file\n"
              "bundle.json: functions[5].code = \"functions/monitor.py\": expected the path of a "
              "Lua file, ending in .lua\n"
              "bundle.json: functions[6].code = \".lua\": expected the path of a Lua file, ending "
              "in .lua\n"
              "bundle.json: functions[7].code = \"\": expected the path of a Lua file, ending in "
              ".lua\n"
              "bundle.json: functions[8].code = \"functions\": expected the path of a Lua file, "
              "ending in .lua\n");

    /* a symlink out of the bundle, a directory named .lua, a file too big */
    fx_t f;
    fx_init(&f);
    char outside[PATH_MAX], want[2 * PATH_MAX];
    snprintf(outside, sizeof outside, "%s.outside.lua", f.dir);
    FILE *fp = fopen(outside, "w");
    CHECK(fp != NULL);
    if (fp) fclose(fp);
    fx_symlink(&f, "functions/link.lua", outside);
    fx_write(&f, "functions/dir.lua/x", "");
    char big[PATH_MAX];
    snprintf(big, sizeof big, "%s/functions/big.lua", f.dir);
    demo_plus(&f, "'functions': [{'service': 'S', 'name': 'a', 'code': 'functions/link.lua'},\n"
                  " {'service': 'S', 'name': 'b', 'code': 'functions/dir.lua'},\n"
                  " {'service': 'S', 'name': 'c', 'code': 'functions/big.lua'}]");
    fp = fopen(big, "w");
    CHECK(fp != NULL);
    for (int i = 0; fp && i <= 1024 * 1024; i++)
        fputc('\n', fp);
    if (fp) fclose(fp);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    snprintf(want, sizeof want,
             "bundle.json: functions[0].code = \"functions/link.lua\": leaves the bundle "
             "directory: it resolves to %s\n"
             "bundle.json: functions[1].code = \"functions/dir.lua\": is a directory, not a file\n"
             "bundle.json: functions[2].code = \"functions/big.lua\": the file is bigger than the "
             "limit of 1048576 bytes\n",
             outside);
    CHECK_EQ_STR(fx_errors(&f), want);
    remove(outside);
    fx_close(&f);

    /* a symlink inside the bundle is fine: code is the resolved path */
    fx_init(&f);
    fx_symlink(&f, "functions/alias.lua", "monitor.lua");
    LOAD_OK(&f, "'functions': [{'service': 'S', 'name': 'a', 'code': 'functions/alias.lua'}]");
    snprintf(want, sizeof want, "%s/functions/monitor.lua", f.dir);
    CHECK_EQ_STR(f.b ? f.b->functions[0].code : NULL, want);
    fx_close(&f);
}

/* The code compiles as Lua text; a syntax error is placed by file and line as Lua puts it. */
static void test_lua_syntax(void)
{
    fx_t f;
    fx_init(&f);
    demo_plus(&f, "'functions': [" FN "}, {'service': 'S', 'name': 'bad', 'code': "
                  "'functions/bad.lua'}, {'service': 'S', 'name': 'eof', 'code': "
                  "'lib/eof.lua'}]");
    fx_write(&f, "functions/bad.lua",
             "local n = 0\nfunction handler(event, context)\n  n, x x\nend\n");
    fx_write(&f, "lib/eof.lua", "local t = {\n");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f),
                 "bundle.json: functions[1].code = \"functions/bad.lua\": Lua syntax error: "
                 "functions/bad.lua:3: '=' expected near 'x'\n"
                 "bundle.json: functions[2].code = \"lib/eof.lua\": Lua syntax error: "
                 "lib/eof.lua:2: unexpected symbol near <eof>\n");

    /* a first line "#!..." and a UTF-8 BOM are skipped as the function host does; the line
     * numbers still count them */
    fx_write(&f, "functions/bad.lua",
             "#!/usr/bin/env lua\nfunction handler()\n  return 1 +\nend\n");
    fx_write(&f, "lib/eof.lua", "\xEF\xBB\xBF-- ok\nreturn {}\n");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f),
                 "bundle.json: functions[1].code = \"functions/bad.lua\": Lua "
                 "syntax error: functions/bad.lua:4: unexpected symbol near 'end'\n");
    fx_write(&f, "functions/bad.lua", "#!/usr/bin/env lua\nfunction handler() return 1 end\n");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    CHECK_EQ_STR(fx_errors(&f), "");

    /* precompiled chunks are refused, with or without a "#" first line */
    fx_write(&f, "functions/bad.lua", "\x1bLuaT\x00");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[1].code = \"functions/bad.lua\": is a "
                                "precompiled (binary) Lua chunk: expected Lua source text\n");
    fx_write(&f, "functions/bad.lua", "#!/usr/bin/lua\n\x1bLuaT");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[1].code = \"functions/bad.lua\": is a "
                                "precompiled (binary) Lua chunk: expected Lua source text\n");
    /* an empty file is a valid (empty) chunk */
    fx_write(&f, "functions/bad.lua", "");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    fx_close(&f);
}

static void test_timers(void)
{
    char err[256] = "";
    vg_cron_t cron;
    CHECK_EQ_INT(vg_cron_parse("75 * * * *", &cron, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "minute") != NULL);
    char want[2048];
    snprintf(want, sizeof want,
             "bundle.json: functions[0].timers[0]: expected one of everyMs and cron, not both\n"
             "bundle.json: functions[0].timers[1]: expected one of everyMs and cron\n"
             "bundle.json: functions[0].timers[2].cron = \"75 * * * *\": %s\n"
             "bundle.json: functions[0].timers[3].cron = 5: expected a string\n"
             "bundle.json: functions[0].timers[3].payload = {}: expected a string\n"
             "bundle.json: functions[0].timers[4].at: unknown key; valid keys are everyMs, cron, "
             "payload\n"
             "bundle.json: functions[0].timers[5] = \"tick\": expected an object\n",
             err);
    EXPECT_FN(", 'timers': [{'everyMs': 100, 'cron': '* * * * *'}, {'payload': 'p'},"
              " {'cron': '75 * * * *'}, {'cron': 5, 'payload': {}}, {'everyMs': 100, 'at': 1},"
              " 'tick']",
              want);
    EXPECT_FN(", 'timers': {}", "bundle.json: functions[0].timers = {}: expected an array\n");

    /* payload: 64 KiB at most */
    static char keys[80 * 1024];
    fx_t f;
    fx_init(&f);
    int n = snprintf(keys, sizeof keys,
                     "'functions': [" FN ", 'timers': [{'everyMs': 10, "
                     "'payload': '");
    memset(keys + n, 'p', 65536);
    snprintf(keys + n + 65536, sizeof keys - (size_t)n - 65536, "'}, {'cron': '@hourly'}]}]");
    LOAD_OK(&f, keys);
    CHECK(f.b && strlen(f.b->functions[0].timers[0].payload) == 65536);
    CHECK_EQ_STR(f.b ? f.b->functions[0].timers[1].cron : NULL, "@hourly");
    memset(keys + n, 'p', 65537);
    snprintf(keys + n + 65537, sizeof keys - (size_t)n - 65537, "'}]}]");
    demo_plus(&f, keys);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[0].timers[0].payload = "
                                "\"ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                                "ppppppppppppp...: expected at most 65536 bytes, not 65537\n");

    /* 64 timers at most */
    n = snprintf(keys, sizeof keys, "'functions': [" FN ", 'timers': [");
    for (int i = 0; i < 64; i++)
        n += snprintf(keys + n, sizeof keys - (size_t)n, "%s{'everyMs': %d}", i ? ", " : "",
                      1000 + i);
    snprintf(keys + n, sizeof keys - (size_t)n, "]}]");
    LOAD_OK(&f, keys);
    CHECK(f.b && f.b->functions[0].ntimers == 64 && f.b->functions[0].timers[63].every_ms == 1063);
    snprintf(keys + n, sizeof keys - (size_t)n, ", {'everyMs': 5000}]}]");
    demo_plus(&f, keys);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[0].timers: 65 timers: expected at most "
                                "64\n");
    fx_close(&f);
}

static void test_env(void)
{
    EXPECT_FN(", 'env': {'OK_1': 'x', '1X': 'y', 'A-B': 'z', '': 'e', 'N': 30, 'M': null}",
              "bundle.json: functions[0].env[\"1X\"] = \"y\": expected a variable name of A-Z a-z "
              "0-9 _, not starting with a digit\n"
              "bundle.json: functions[0].env.A-B = \"z\": expected a variable name of A-Z a-z 0-9 "
              "_, not starting with a digit\n"
              "bundle.json: functions[0].env[\"\"] = \"e\": expected a variable name of A-Z a-z "
              "0-9 _, not starting with a digit\n"
              "bundle.json: functions[0].env.N = 30: expected a string\n"
              "bundle.json: functions[0].env.M = null: expected a string\n");
    EXPECT_FN(", 'env': ['A=1']",
              "bundle.json: functions[0].env = [\"A=1\"]: expected an object\n");

    static char keys[8192];
    fx_t f;
    fx_init(&f);
    int n = snprintf(keys, sizeof keys, "'functions': [" FN ", 'env': {");
    for (int i = 0; i < 64; i++)
        n += snprintf(keys + n, sizeof keys - (size_t)n, "%s'V%d': '%d'", i ? ", " : "", i, i);
    snprintf(keys + n, sizeof keys - (size_t)n, "}}]");
    LOAD_OK(&f, keys);
    CHECK(f.b && json_object_size(f.b->functions[0].env) == 64);
    CHECK_EQ_STR(f.b ? json_string_value(json_object_get(f.b->functions[0].env, "V63")) : NULL,
                 "63");
    snprintf(keys + n, sizeof keys - (size_t)n, ", '_extra': ''}}]");
    demo_plus(&f, keys);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK_EQ_STR(fx_errors(&f), "bundle.json: functions[0].env: 65 entries: expected at most 64\n");
    fx_close(&f);
}

/* One load reports every mistake of every function, objects in order, keys in table order. */
static void test_many_at_once(void)
{
    fx_t f;
    fx_init(&f);
    demo_plus(&f, "'functions': [\n"
                  " {'service': 'EdgeFC', 'name': 'monitor', 'code': 'functions/monitor.lua',\n"
                  "  'handler': 'a.b.c', 'mode': 'sometimes', 'timeoutMs': 0, 'memoryMB': 8.5,\n"
                  "  'concurrency': 0, 'queueMax': '100', 'idleUnloadMs': 10,\n"
                  "  'timers': [{'everyMs': 1}, {}], 'env': {'9': 'x'}, 'colour': 'red'},\n"
                  " {'service': 'EdgeFC', 'name': 'monitor', 'code': 'functions/bad.lua',\n"
                  "  'mode': 'long-running', 'idleUnloadMs': 5000},\n"
                  " {'service': 'EdgeFC', 'code': '../x.lua'}]");
    fx_write(&f, "functions/bad.lua", "return return\n");
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    CHECK(f.b == NULL);
    CHECK_EQ_STR(fx_errors(&f),
                 "bundle.json: functions[0].colour: unknown key; valid keys are service, name, "
                 "code, handler, mode, timeoutMs, memoryMB, concurrency, queueMax, idleUnloadMs, "
                 "timers, env\n"
                 "bundle.json: functions[0].handler = \"a.b.c\": expected the name of a Lua "
                 "global function, such as handler, optionally after a module name and a dot, "
                 "such as index.handler\n"
                 "bundle.json: functions[0].mode = \"sometimes\": expected \"on-demand\" or "
                 "\"long-running\"\n"
                 "bundle.json: functions[0].timeoutMs = 0: expected an integer from 1 to "
                 "3600000\n"
                 "bundle.json: functions[0].memoryMB = 8.5: expected an integer\n"
                 "bundle.json: functions[0].concurrency = 0: expected an integer from 1 to 10000\n"
                 "bundle.json: functions[0].queueMax = \"100\": expected an integer\n"
                 "bundle.json: functions[0].idleUnloadMs = 10: expected an integer from 1000 to "
                 "86400000\n"
                 "bundle.json: functions[0].timers[0].everyMs = 1: expected an integer from 10 "
                 "to 86400000\n"
                 "bundle.json: functions[0].timers[1]: expected one of everyMs and cron\n"
                 "bundle.json: functions[0].env[\"9\"] = \"x\": expected a variable name of A-Z "
                 "a-z 0-9 _, not starting with a digit\n"
                 "bundle.json: functions[1].code = \"functions/bad.lua\": Lua syntax error: "
                 "functions/bad.lua:1: unexpected symbol near 'return'\n"
                 "bundle.json: functions[1].idleUnloadMs = 5000: only on-demand functions are "
                 "unloaded when idle; this one is long-running\n"
                 "bundle.json: functions[1].name = \"monitor\": duplicate of functions[0] "
                 "(EdgeFC/monitor)\n"
                 "bundle.json: functions[2].name: required key missing\n"
                 "bundle.json: functions[2].code = \"../x.lua\": leaves the bundle directory\n");
    fx_close(&f);
}

VG_TEST_MAIN(VG_TEST(test_full) VG_TEST(test_defaults) VG_TEST(test_bounds)
                 VG_TEST(test_integer_type) VG_TEST(test_names) VG_TEST(test_handler_and_mode)
                     VG_TEST(test_code_paths) VG_TEST(test_lua_syntax) VG_TEST(test_timers)
                         VG_TEST(test_env) VG_TEST(test_many_at_once))
