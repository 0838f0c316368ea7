/* test_fnhost.c: unit tests of the function host on a real uv loop: results and errors,
 * context, limits on concurrency and queue, lecoresdk (sleep, publish, invokeFunction, device
 * requests through things, tags), long-running and on-demand modes, metrics and shutdown. */
#include "fnhost_fx.h"

#include "core/buf.h"
#include "store/store.h"

#include <lauxlib.h>
#include <lualib.h>

/* ---- results ---------------------------------------------------------------------------- */

static void test_returns_payload(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "echo", "function handler(e, c) return 'got:' .. e end"), 0);
    CHECK_EQ_INT(fx_add(&f, "nil", "function handler() end"), 0);
    CHECK_EQ_INT(fx_add(&f, "num", "function handler() return 42 end"), 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "echo", "hi", &r), 0);
    CHECK_EQ_STR(r.payload, "got:hi");
    CHECK_EQ_STR(r.fnerr, "");
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(fx_call(&f, "nil", "hi", &r), 0);
    CHECK_EQ_STR(r.payload, "");
    CHECK_EQ_STR(r.fnerr, "");
    CHECK_EQ_INT(fx_call(&f, "num", "hi", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Handled");
    CHECK_EQ_STR(r.payload, "handler must return a string or nil");
    CHECK_EQ_INT(fx_call(&f, "nope", "hi", &r), VG_ENOENT);
    fx_res_free(&r);
    fx_close(&f);
}

static void test_lua_error_handled_with_traceback(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "bad",
                        "local function inner() error('boom') end\n"
                        "function handler(e) inner() end\n"),
                 0);
    CHECK_EQ_INT(fx_add(&f, "nohandler", "x = 1"), 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "bad", "x", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Handled");
    CHECK(r.payload && strstr(r.payload, "bad.lua:1: boom"));
    CHECK(r.payload && !strstr(r.payload, "traceback")); /* the traceback goes to the log */
    CHECK_EQ_INT(fx_call(&f, "nohandler", "x", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Handled");
    CHECK_EQ_STR(r.payload, "handler 'handler' is not a function (it is a nil value)");
    fx_res_free(&r);
    fx_close(&f);
}

static void test_add_validation(void)
{
    fx_t f;
    fx_open(&f);
    char path[256], err[512] = "";
    fnhost_spec_t s = fx_spec(&f, "syntax", path, sizeof path);
    fx_write(f.dir, "syntax.lua", "function handler(e)\n  return 'x' ..\nend\n");
    CHECK_EQ_INT(fnhost_add(f.host, &s, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "syntax.lua:3:") != NULL);
    s = fx_spec(&f, "missing", path, sizeof path);
    CHECK_EQ_INT(fnhost_add(f.host, &s, err, sizeof err), VG_EIO);
    CHECK(strstr(err, "missing.lua") != NULL);
    CHECK_EQ_INT(fx_add(&f, "ok", "function handler() end"), 0);
    s = fx_spec(&f, "ok", path, sizeof path);
    CHECK_EQ_INT(fnhost_add(f.host, &s, err, sizeof err), VG_EEXIST);
    s.name = "bad name";
    CHECK_EQ_INT(fnhost_add(f.host, &s, err, sizeof err), VG_EINVAL);
    s = fx_spec(&f, "ok", path, sizeof path);
    s.name = "tiny";
    s.memory_bytes = 1000;
    CHECK_EQ_INT(fnhost_add(f.host, &s, err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "memory") != NULL);
    fx_close(&f);
}

static void test_context_fields(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "ctx",
                        "local cjson = require('cjson')\n"
                        "function handler(e, c)\n"
                        "  return table.concat({c.requestId:len(), c['function'].service,\n"
                        "    c['function'].name, c['function'].handler, c['function'].memory,\n"
                        "    c['function'].timeout, tostring(c.invokerContext.custom and\n"
                        "    c.invokerContext.custom.data), tostring(c.topic),\n"
                        "    tostring(c.source), e}, ',') end"),
                 0);
    fx_res_t r = {0};
    json_t *ictx = json_loads("{\"custom\":{\"data\":\"x\"}}", 0, NULL);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "ctx", "ev", 2, ictx, 0, fx_done, &r, NULL), 0);
    json_decref(ictx);
    CHECK(fx_run_until(&f, &r.done, 5000));
    CHECK_EQ_STR(r.payload, "24,svc,ctx,handler,8,300,x,nil,nil,ev");
    bus_msg_t *m = bus_msg_create("/sys/pk/dn/thing/event/property/post", "device:pk/dn", "{}", 2);
    fx_res_free(&r);
    CHECK_EQ_INT(fnhost_invoke_msg(f.host, "svc", "ctx", m, fx_done, &r), 0);
    bus_msg_unref(m);
    CHECK(fx_run_until(&f, &r.done, 5000));
    CHECK_EQ_STR(r.payload, "24,svc,ctx,handler,8,300,nil,/sys/pk/dn/thing/event/property/post,"
                            "device:pk/dn,{\"topic\":\"/sys/pk/dn/thing/event/property/post\",\"payload\":\"{}\"}");
    fx_res_free(&r);
    fx_close(&f);
}

/* ---- waiting, concurrency, queue -------------------------------------------------------- */

static void test_sleep_yields_and_others_run(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "slow",
                        "local sdk = require('lecoresdk')\n"
                        "function handler(e) sdk.sleep(100) return 'slow' end"),
                 0);
    CHECK_EQ_INT(fx_add(&f, "fast", "function handler(e) return 'fast' end"), 0);
    fx_res_t a = {0}, b = {0};
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "slow", "", 0, NULL, 0, fx_done, &a, NULL), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "fast", "", 0, NULL, 0, fx_done, &b, NULL), 0);
    CHECK(fx_run_until(&f, &b.done, 5000));
    CHECK_EQ_INT(a.done, 0);
    CHECK(fx_run_until(&f, &a.done, 5000));
    CHECK_EQ_STR(a.payload, "slow");
    CHECK_EQ_STR(b.payload, "fast");
    fx_res_free(&a);
    fx_res_free(&b);
    fx_close(&f);
}

static void test_sleep_bounded_by_deadline(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "sleepy",
                        "local sdk = require('lecoresdk')\n"
                        "function handler(e) sdk.sleep(100000) return 'woke' end"),
                 0);
    fx_res_t r = {0};
    uint64_t t0 = uv_hrtime();
    CHECK_EQ_INT(fx_call(&f, "sleepy", "", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Unhandled");
    CHECK_EQ_STR(r.payload, "time limit exceeded");
    CHECK(uv_hrtime() - t0 < 2000000000u);
    fx_res_free(&r);
    fx_close(&f);
}

static void test_concurrency_and_queue(void)
{
    fx_t f;
    fx_open(&f);
    char path[256];
    fnhost_spec_t s = fx_spec(&f, "one", path, sizeof path);
    s.concurrency = 1;
    s.queue_max = 1;
    CHECK_EQ_INT(fx_add_spec(&f, "one",
                             "local sdk = require('lecoresdk')\n"
                             "n = 0\n"
                             "function handler(e) n = n + 1 local mine = n\n"
                             "  sdk.sleep(30) return mine .. ':' .. n end",
                             &s),
                 0);
    fx_res_t a = {0}, b = {0}, c = {0};
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "one", "", 0, NULL, 0, fx_done, &a, NULL), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "one", "", 0, NULL, 0, fx_done, &b, NULL), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "one", "", 0, NULL, 0, fx_done, &c, NULL), VG_ELIMIT);
    CHECK(fx_run_until(&f, &b.done, 5000));
    CHECK_EQ_STR(a.payload, "1:1"); /* one at a time: the second started after the first */
    CHECK_EQ_STR(b.payload, "2:2");
    CHECK_EQ_INT(c.calls, 0);
    fx_res_free(&a);
    fx_res_free(&b);
    /* concurrency 2: both run at once */
    s = fx_spec(&f, "two", path, sizeof path);
    s.concurrency = 2;
    CHECK_EQ_INT(fx_add_spec(&f, "two",
                             "local sdk = require('lecoresdk')\n"
                             "n = 0\n"
                             "function handler(e) n = n + 1 local mine = n\n"
                             "  sdk.sleep(30) return mine .. ':' .. n end",
                             &s),
                 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "two", "", 0, NULL, 0, fx_done, &a, NULL), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "two", "", 0, NULL, 0, fx_done, &b, NULL), 0);
    CHECK(fx_run_until(&f, &b.done, 5000));
    CHECK(fx_run_until(&f, &a.done, 5000));
    CHECK_EQ_STR(a.payload, "1:2");
    CHECK_EQ_STR(b.payload, "2:2");
    fx_res_free(&a);
    fx_res_free(&b);
    fx_close(&f);
}

/* ---- modes ------------------------------------------------------------------------------ */

static void test_long_running_top_level_publishes(void)
{
    fx_t f;
    fx_open(&f);
    char path[256];
    fnhost_spec_t s = fx_spec(&f, "lr", path, sizeof path);
    s.mode = FNHOST_LONG_RUNNING;
    CHECK_EQ_INT(fx_add_spec(&f, "lr",
                             "local sdk = require('lecoresdk')\n"
                             "local iot = sdk.IoTData()\n"
                             "count = 0\n"
                             "function handler(e) return 'count=' .. count end\n"
                             "for i = 1, 3 do\n"
                             "  assert(iot:publish({topic = '/hello/' .. i, payload = 'p' .. i}))\n"
                             "  count = i\n"
                             "  sdk.sleep(20)\n"
                             "end\n"
                             "local ok, err = iot:publish({topic = 'bad/#', payload = 'x'})\n"
                             "assert(ok == nil and err:find('invalid topic'))\n",
                             &s),
                 0);
    CHECK_EQ_INT(fnhost_start(f.host), 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "lr", "", &r), 0); /* runs while the top level sleeps */
    CHECK(r.payload && strncmp(r.payload, "count=", 6) == 0 && strcmp(r.payload, "count=3") != 0);
    int three = 0;
    for (int i = 0; i < 200 && f.nmsgs < 3; i++)
        fx_run_until(&f, &three, 5);
    CHECK_EQ_INT(f.nmsgs, 3);
    CHECK_EQ_STR(f.last_topic, "/hello/3");
    CHECK_EQ_STR(f.last_source, "function:svc/lr");
    CHECK_EQ_STR(f.last_payload, "p3");
    CHECK_EQ_INT(fx_call(&f, "lr", "", &r), 0);
    CHECK_EQ_STR(r.payload, "count=3");
    fx_res_free(&r);
    fx_close(&f);
}

static void test_on_demand_idle_unload(void)
{
    fx_t f;
    fx_open(&f);
    char path[256];
    fnhost_spec_t s = fx_spec(&f, "od", path, sizeof path);
    s.idle_unload_ms = 20;
    CHECK_EQ_INT(
        fx_add_spec(&f, "od", "n = 0 function handler() n = n + 1 return tostring(n) end", &s), 0);
    CHECK_EQ_INT(fnhost_memory_in_use(f.host, "svc", "od"), 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "od", "", &r), 0);
    CHECK_EQ_INT(fx_call(&f, "od", "", &r), 0);
    CHECK_EQ_STR(r.payload, "2");
    CHECK(fnhost_memory_in_use(f.host, "svc", "od") > 10000);
    int never = 0;
    fx_run_until(&f, &never, 100);
    CHECK_EQ_INT(fnhost_memory_in_use(f.host, "svc", "od"), 0);
    CHECK_EQ_INT(fx_call(&f, "od", "", &r), 0);
    CHECK_EQ_STR(r.payload, "1"); /* a fresh state */
    fx_res_free(&r);
    fx_close(&f);
}

static void test_top_level_errors(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "init", "error('bad init')\nfunction handler() return 'x' end"), 0);
    char path[256];
    fnhost_spec_t s = fx_spec(&f, "spin", path, sizeof path);
    s.mode = FNHOST_LONG_RUNNING;
    s.timeout_ms = 50;
    CHECK_EQ_INT(fx_add_spec(&f, "spin",
                             "function handler() return 'x' end\n"
                             "while true do end\n",
                             &s),
                 0);
    CHECK_EQ_INT(fnhost_start(f.host), 0);
    CHECK_EQ_INT(fnhost_memory_in_use(f.host, "svc", "spin"), 0); /* killed, state closed */
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "init", "", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Unhandled");
    CHECK_EQ_STR(r.payload, "the function failed to load (see the log)");
    CHECK_EQ_INT(fx_call(&f, "spin", "", &r), 0); /* reloaded, killed again */
    CHECK_EQ_STR(r.fnerr, "Unhandled");
    CHECK_EQ_INT(fnhost_memory_in_use(f.host, "svc", "init"), 0);
    fx_res_free(&r);
    fx_close(&f);
}

/* ---- lecoresdk -------------------------------------------------------------------------- */

static void test_invoke_function_sync_and_async(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "callee",
                        "function handler(e, c)\n"
                        "  if e == 'fail' then error('nope') end\n"
                        "  return 'callee:' .. e .. ':' .. c.invokerContext.custom.data end"),
                 0);
    CHECK_EQ_INT(
        fx_add(
            &f, "caller",
            "local fc = require('lecoresdk').Client()\n"
            "function handler(e)\n"
            "  local res = fc:invokeFunction({serviceName = 'svc', functionName = 'callee',\n"
            "    invocationType = 'Sync', invokerContext = {custom = {data = 'x'}},\n"
            "    payload = e})\n"
            "  local bad = fc:invokeFunction({functionId = 'svc/callee', payload = 'fail',\n"
            "    invokerContext = {custom = {}}})\n"
            "  local id = fc:invokeFunction({serviceName = 'svc', functionName = 'callee',\n"
            "    invocationType = 'Async', payload = 'a', invokerContext = "
            "'{\"custom\":{\"data\":1}}'})\n"
            "  local none, err = fc:invokeFunction({serviceName = 'svc', functionName = 'zz'})\n"
            "  return res.statusCode .. ',' .. tostring(res.functionError) .. ',' .. res.payload\n"
            "    .. ',' .. bad.functionError .. ',' .. #id .. ',' .. tostring(none) .. ',' .. err "
            "end"),
        0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "caller", "hello", &r), 0);
    CHECK_EQ_STR(r.payload,
                 "200,nil,callee:hello:x,Handled,24,nil,invokeFunction svc/zz: not found");
    fx_res_free(&r);
    fx_close(&f);
}

static void test_sync_self_invoke_times_out(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "self",
                        "local fc = require('lecoresdk').Client()\n"
                        "function handler(e)\n"
                        "  if e == 'inner' then return 'inner' end\n"
                        "  return fc:invokeFunction({serviceName = 'svc', functionName = 'self',\n"
                        "    payload = 'inner'}).payload end"),
                 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "self", "outer", &r), 0);
    CHECK_EQ_STR(r.fnerr, "Unhandled"); /* concurrency 1: waits for itself until its deadline */
    CHECK_EQ_STR(r.payload, "time limit exceeded");
    CHECK_EQ_INT(fx_call(&f, "self", "inner", &r), 0);
    CHECK_EQ_STR(r.payload, "inner");
    fx_res_free(&r);
    fx_close(&f);
}

static void test_waiting_inside_coroutine_refused(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(
        fx_add(&f, "co",
               "local sdk = require('lecoresdk')\n"
               "function handler(e)\n"
               "  local ok, err = coroutine.wrap(function() return pcall(sdk.sleep, 1) end)()\n"
               "  return tostring(ok) .. ':' .. err end"),
        0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "co", "", &r), 0);
    CHECK(r.payload && strstr(r.payload, "false:") &&
          strstr(r.payload, "not from inside coroutine"));
    fx_res_free(&r);
    fx_close(&f);
}

static void test_require_bundle_module_and_cjson(void)
{
    fx_t f;
    fx_open(&f);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/lib", f.dir);
    CHECK_EQ_INT(mkdir(sub, 0700), 0);
    fx_write(sub, "util.lua",
             "loads = (loads or 0) + 1\n"
             "return {twice = function(s) return s .. s end}\n");
    CHECK_EQ_INT(fx_add(&f, "req",
                        "local util = require('lib.util')\n"
                        "local again = require('lib.util')\n"
                        "local cjson = require('cjson')\n"
                        "function handler(e)\n"
                        "  local t = cjson.decode(e)\n"
                        "  local ok = pcall(function() cjson.encode = nil end)\n"
                        "  return util.twice(t.a) .. tostring(util == again) .. loads ..\n"
                        "    tostring(ok) .. cjson.encode({b = {1, 2}}) end"),
                 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "req", "{\"a\":\"xy\"}", &r), 0);
    CHECK_EQ_STR(r.payload, "xyxytrue1false{\"b\":[1,2]}");
    fx_res_free(&r);
    fx_close(&f);
}

/* A lamp with a switch and a `turn` service: enough for the device calls of lecoresdk. */
#define LAMP_TSL                                                                                   \
    "{\"properties\":[{\"identifier\":\"LightSwitch\",\"accessMode\":\"rw\","                         \
    "\"dataType\":{\"type\":\"bool\",\"specs\":{\"0\":\"off\",\"1\":\"on\"}}}],"                        \
    "\"events\":[],\"services\":[{\"identifier\":\"turn\",\"inputData\":[{\"identifier\":"              \
    "\"LightSwitch\",\"dataType\":{\"type\":\"bool\",\"specs\":{\"0\":\"off\",\"1\":\"on\"}}}],"       \
    "\"outputData\":[]}]}"

static void test_device_requests_and_tags(void)
{
    fx_t f;
    fx_open(&f);
    int down = 0;
    fnhost_shutdown(f.host, fx_on_shutdown, &down); /* replaced by a host with things */
    CHECK(fx_run_until(&f, &down, 5000));
    fnhost_destroy(f.host);
    char db[128], err[512] = "";
    snprintf(db, sizeof db, "%s/verge.db", f.root);
    store_t *st = NULL;
    things_t *t = NULL;
    CHECK_EQ_INT(store_open(&f.ctx, db, &st), 0);
    CHECK_EQ_INT(things_create(&f.ctx, st, f.bus, &t), 0);
    CHECK_EQ_INT(things_add_product(t, "a1Lamp", LAMP_TSL, NULL, err, sizeof err), 0);
    json_t *tags = json_loads("{\"location\":\"master bedroom\",\"floor\":\"1\"}", 0, NULL);
    CHECK_EQ_INT(things_add_device(t, "a1Lamp", "lamp1", "drv", tags, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_device(t, "a1Lamp", "lamp2", "drv", NULL, NULL, err, sizeof err), 0);
    json_decref(tags);
    CHECK_EQ_INT(fnhost_create(&f.ctx, t, f.bus, &f.host), 0);
    CHECK_EQ_INT(
        fx_add(
            &f, "dev",
            "local iot = require('lecoresdk').IoTData()\n"
            "function handler(e)\n"
            "  local p, err, code = iot:getThingProperties({productKey = 'a1Lamp',\n"
            "    deviceName = 'lamp1', payload = {'LightSwitch'}})\n"
            "  local s, err2 = iot:setThingProperties({productKey = 'a1Lamp',\n"
            "    deviceName = 'lamp1', payload = {Nope = 1}})\n"
            "  local c, err3 = iot:callThingService({productKey = 'a1Lamp',\n"
            "    deviceName = 'ghost', service = 'turn', payload = {}})\n"
            "  local found = iot:getThingsWithTags({payload = {{location = 'master bedroom'}}})\n"
            "  return tostring(p) .. '|' .. err .. '|' .. code .. '|' .. tostring(s) .. '|' ..\n"
            "    err2 .. '|' .. tostring(c) .. '|' .. err3 .. '|' .. #found .. '|' ..\n"
            "    found[1].deviceName .. '|' .. found[1].productKey end"),
        0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "dev", "", &r), 0);
    CHECK_EQ_STR(r.fnerr, "");
    CHECK(r.payload && strstr(r.payload, "nil|") && strstr(r.payload, "|109001|nil|") &&
          strstr(r.payload, "|1|lamp1|a1Lamp"));
    if (r.payload && !strstr(r.payload, "|1|lamp1|a1Lamp"))
        fprintf(stderr, "  device result: %s\n", r.payload);
    fx_res_free(&r);
    down = 0;
    fnhost_shutdown(f.host, fx_on_shutdown, &down);
    CHECK(fx_run_until(&f, &down, 5000));
    fnhost_destroy(f.host);
    things_destroy(t);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    store_close(st);
    CHECK_EQ_INT(fnhost_create(&f.ctx, NULL, f.bus, &f.host), 0); /* for fx_close */
    fx_close(&f);
}

static void test_memory_accounting(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "mem",
                        "function handler(e)\n"
                        "  if e == 'grow' then big = string.rep('x', 2 * 1024 * 1024)\n"
                        "  elseif e == 'drop' then big = nil collectgarbage() end\n"
                        "  return tostring(collectgarbage('count')) end"),
                 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "mem", "", &r), 0);
    int64_t m0 = fnhost_memory_in_use(f.host, "svc", "mem");
    CHECK(m0 > 10000 && m0 < 1024 * 1024); /* the baseline is counted */
    CHECK_EQ_INT(fx_call(&f, "mem", "grow", &r), 0);
    int64_t m1 = fnhost_memory_in_use(f.host, "svc", "mem");
    if (m1 < 2 * 1024 * 1024 + 10000)
        fprintf(stderr, "  m0 %lld m1 %lld\n", (long long)m0, (long long)m1);
    CHECK(m1 >= 2 * 1024 * 1024 + 10000);
    CHECK_EQ_INT(fx_call(&f, "mem", "drop", &r), 0);
    int64_t m2 = fnhost_memory_in_use(f.host, "svc", "mem");
    CHECK(m2 < m0 + 512 * 1024);
    /* Lua's own count agrees with ours to within a few KiB */
    double lua_kib = r.payload ? atof(r.payload) : 0;
    CHECK(lua_kib * 1024 > (double)m2 - 64 * 1024 && lua_kib * 1024 < (double)m2 + 64 * 1024);
    CHECK_EQ_INT(fnhost_memory_in_use(f.host, "svc", "none"), -1);
    fx_res_free(&r);
    fx_close(&f);
}

/* ---- metrics and shutdown --------------------------------------------------------------- */

static void test_metrics(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "m",
                        "function handler(e) if e == 'err' then error('x') end "
                        "if e == 'loop' then while true do end end "
                        "if e == 'mem' then local s = string.rep('x', 1e9) end return 'ok' end"),
                 0);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "m", "", &r), 0);
    CHECK_EQ_INT(fx_call(&f, "m", "err", &r), 0);
    CHECK_EQ_INT(fx_call(&f, "m", "loop", &r), 0);
    CHECK_EQ_INT(fx_call(&f, "m", "mem", &r), 0);
    CHECK_EQ_STR(r.payload, "memory limit exceeded");
    vg_buf_t b;
    vg_buf_init(&b);
    CHECK_EQ_INT(vg_metrics_render(f.ctx.metrics, &b), 0);
    const char *text = b.data ? b.data : "";
    CHECK(strstr(text, "verge_fn_invocations_total{function=\"svc/m\",outcome=\"ok\"} 1"));
    CHECK(strstr(text, "verge_fn_invocations_total{function=\"svc/m\",outcome=\"handled\"} 1"));
    CHECK(strstr(text, "verge_fn_invocations_total{function=\"svc/m\",outcome=\"unhandled\"} 2"));
    CHECK(strstr(text, "verge_fn_errors_total{function=\"svc/m\"} 3"));
    CHECK(strstr(text, "verge_fn_limit_breaches_total{function=\"svc/m\",kind=\"memory\"} 1"));
    CHECK(strstr(text, "verge_fn_limit_breaches_total{function=\"svc/m\",kind=\"time\"} 1"));
    CHECK(strstr(text, "verge_fn_memory_bytes{function=\"svc/m\"}"));
    vg_buf_close(&b);
    fx_res_free(&r);
    fx_close(&f);
}

static void test_shutdown_answers_running_and_queued(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "sl",
                        "local sdk = require('lecoresdk')\n"
                        "function handler(e) sdk.sleep(250) return 'woke' end"),
                 0);
    fx_res_t a = {0}, b = {0};
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "sl", "", 0, NULL, 0, fx_done, &a, NULL), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "sl", "", 0, NULL, 0, fx_done, &b, NULL), 0);
    int never = 0;
    fx_run_until(&f, &never, 30);
    CHECK_EQ_INT(a.done + b.done, 0);
    fx_close(&f);
    CHECK_EQ_INT(a.calls, 1);
    CHECK_EQ_INT(b.calls, 1);
    CHECK_EQ_STR(a.fnerr, "Unhandled");
    CHECK_EQ_STR(a.payload, "the runtime is shutting down");
    CHECK_EQ_STR(b.payload, "the runtime is shutting down");
    fx_res_free(&a);
    fx_res_free(&b);
}

/* ---- retiring (deployments) ---------------------------------------------------------------- */

static void test_remove_finishes_in_flight_on_old_version(void)
{
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(fx_add(&f, "v",
                        "local sdk = require('lecoresdk')\n"
                        "function handler(e) sdk.sleep(100) return 'old' end"),
                 0);
    CHECK_EQ_INT(fx_add(&f, "loop",
                        "local sdk = require('lecoresdk')\n"
                        "function handler(e) return 'x' end\n"
                        "while true do sdk.sleep(20) end\n"),
                 0);
    fx_res_t a = {0}, b = {0};
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "v", "", 0, NULL, 0, fx_done, &a, NULL), 0);
    fx_res_t warm = {0};
    CHECK_EQ_INT(fx_call(&f, "loop", "", &warm), 0); /* its top level now loops */
    CHECK_EQ_INT(fnhost_remove(f.host, "svc", "v"), 0);
    CHECK_EQ_INT(fnhost_remove(f.host, "svc", "v"), VG_ENOENT); /* out of look-ups already */
    CHECK_EQ_INT(fnhost_remove(f.host, "svc", "loop"), 0);
    CHECK_EQ_INT(fx_add(&f, "v", "function handler(e) return 'new' end"), 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "v", "", 0, NULL, 0, fx_done, &b, NULL), 0);
    CHECK(fx_run_until(&f, &b.done, 5000));
    CHECK_EQ_STR(b.payload, "new");
    CHECK(fx_run_until(&f, &a.done, 5000));
    CHECK_EQ_STR(a.payload, "old"); /* started on the old version, finished there */
    CHECK_EQ_STR(a.fnerr, "");
    CHECK_EQ_INT(fx_call(&f, "loop", "", &warm), VG_ENOENT);
    int never = 0;
    fx_run_until(&f, &never, 300); /* the reaper frees both retired versions (ASan checks) */
    fx_res_free(&a);
    fx_res_free(&b);
    fx_res_free(&warm);
    fx_close(&f);
}

static void test_load_reports_top_level_error(void)
{
    fx_t f;
    fx_open(&f);
    char err[1024] = "";
    CHECK_EQ_INT(fx_add(&f, "boom", "error('top level boom')\nfunction handler() end"), 0);
    CHECK_EQ_INT(fnhost_load(f.host, "svc", "boom", err, sizeof err), VG_EINVAL);
    CHECK(strstr(err, "top level boom") != NULL);
    CHECK_EQ_INT(fx_add(&f, "fine", "function handler() return 'ok' end"), 0);
    CHECK_EQ_INT(fnhost_load(f.host, "svc", "fine", err, sizeof err), 0);
    CHECK_EQ_INT(fnhost_load(f.host, "svc", "fine", err, sizeof err), 0); /* loaded already */
    CHECK(fnhost_memory_in_use(f.host, "svc", "fine") > 0);
    CHECK_EQ_INT(fnhost_load(f.host, "svc", "nope", err, sizeof err), VG_ENOENT);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_returns_payload)
    VG_TEST(test_lua_error_handled_with_traceback)
    VG_TEST(test_add_validation)
    VG_TEST(test_context_fields)
    VG_TEST(test_sleep_yields_and_others_run)
    VG_TEST(test_sleep_bounded_by_deadline)
    VG_TEST(test_concurrency_and_queue)
    VG_TEST(test_long_running_top_level_publishes)
    VG_TEST(test_on_demand_idle_unload)
    VG_TEST(test_top_level_errors)
    VG_TEST(test_invoke_function_sync_and_async)
    VG_TEST(test_sync_self_invoke_times_out)
    VG_TEST(test_waiting_inside_coroutine_refused)
    VG_TEST(test_require_bundle_module_and_cjson)
    VG_TEST(test_device_requests_and_tags)
    VG_TEST(test_memory_accounting)
    VG_TEST(test_metrics)
    VG_TEST(test_shutdown_answers_running_and_queued)
    VG_TEST(test_remove_finishes_in_flight_on_old_version)
    VG_TEST(test_load_reports_top_level_error)
)
/* clang-format on */
