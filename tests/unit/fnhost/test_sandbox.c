/* test_sandbox.c: named sandbox-escape attempts. Each runs an attacking function, checks that
 * the attempt failed the way it should (the error kind and message), then checks that the
 * runtime still runs a normal invocation of another function with intact libraries. */
#include "fnhost_fx.h"

#include <lauxlib.h>
#include <lua.h>

typedef struct attack {
    const char *code;
    const char *event;  /* NULL: "x" */
    size_t event_len;   /* 0: strlen(event) */
    const char *fnerr;  /* expected functionError: "" none, "Handled", "Unhandled" */
    const char *want;   /* a substring of the payload (result or error message) */
    const char *want2;  /* another one, or NULL */
    size_t memory;      /* 0: the fixture's 8 MiB */
    int64_t timeout_ms; /* 0: the fixture's 300 ms */
    fx_t *keep;         /* when set: the fixture stays open for more checks (caller closes) */
} attack_t;

/* Runs the attack, checks its outcome, then a normal function. */
static void run_attack(const attack_t *a)
{
    fx_t local, *f = a->keep ? a->keep : &local;
    fx_open(f);
    char path[256];
    fnhost_spec_t s = fx_spec(f, "evil", path, sizeof path);
    if (a->memory) s.memory_bytes = a->memory;
    if (a->timeout_ms) s.timeout_ms = a->timeout_ms;
    CHECK_EQ_INT(fx_add_spec(f, "evil", a->code, &s), 0);
    CHECK_EQ_INT(fx_add(f, "good", FX_GOOD_CODE), 0);
    fx_res_t r = {0};
    const char *ev = a->event ? a->event : "x";
    size_t evlen = a->event_len ? a->event_len : strlen(ev);
    CHECK_EQ_INT(fnhost_invoke(f->host, "svc", "evil", ev, evlen, NULL, 0, fx_done, &r, NULL), 0);
    CHECK(fx_run_until(f, &r.done, 10000));
    CHECK_EQ_STR(r.fnerr, a->fnerr);
    if (!r.payload || !strstr(r.payload, a->want) || (a->want2 && !strstr(r.payload, a->want2))) {
        fprintf(stderr, "  payload: %.300s\n  wanted: %s %s\n", r.payload ? r.payload : "(null)",
                a->want, a->want2 ? a->want2 : "");
        CHECK(0);
    }
    fx_res_t g = {0};
    CHECK_EQ_INT(fx_call(f, "good", "x", &g), 0);
    CHECK_EQ_STR(g.fnerr, "");
    CHECK_EQ_STR(g.payload, "ok:x");
    fx_res_free(&g);
    fx_res_free(&r);
    if (!a->keep) fx_close(f);
}

#define ATTACK(...)                                                                                \
    do {                                                                                           \
        attack_t a__ = {__VA_ARGS__};                                                              \
        run_attack(&a__);                                                                          \
    } while (0)

/* ---- binary chunks and load ------------------------------------------------------------- */

typedef struct dump_buf {
    char data[4096];
    size_t len;
} dump_buf_t;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    dump_buf_t *b = ud;
    (void)L;
    if (b->len + sz > sizeof b->data) return 1;
    memcpy(b->data + b->len, p, sz);
    b->len += sz;
    return 0;
}

static void test_load_binary_chunk_from_string_dump(void)
{
    /* string.dump output made by a plain state outside the sandbox, sent as the event */
    lua_State *L = luaL_newstate();
    CHECK_EQ_INT(luaL_loadstring(L, "return 'pwned'"), 0);
    dump_buf_t b = {.len = 0};
    CHECK_EQ_INT(lua_dump(L, dump_writer, &b, 0), 0);
    CHECK(b.len > 8 && memcmp(b.data, LUA_SIGNATURE, 4) == 0);
    const char *chunk = b.data;
    size_t len = b.len;
    ATTACK(.code =
               "function handler(e) local f, err = load(e) return tostring(f) .. '|' .. err end",
           .event = chunk, .event_len = len, .fnerr = "", .want = "nil|",
           .want2 = "attempt to load a binary chunk");
    lua_close(L);
}

static void test_load_handcrafted_lua_header(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local f, err = load('\\27Lua\\x54\\0\\x19\\x93\\r\\n\\x1a\\n\\4\\8\\8')\n"
                   "  local g, err2 = load('\\27Lua', 'x', 'b')\n"
                   "  return tostring(f) .. tostring(g) .. '|' .. err .. '|' .. err2 end",
           .fnerr = "", .want = "nilnil|attempt to load a binary chunk",
           .want2 = "|attempt to load a binary chunk");
}

static void test_string_dump_absent(void)
{
    ATTACK(.code = "function handler(e) return tostring(string.dump) .. tostring(('').dump) end",
           .fnerr = "", .want = "nilnil");
}

static void test_load_env_cannot_reach_host_globals(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local a = load('return _G', nil, 't', {})()\n"
                   "  local b = load('return io or debug or package or dofile')()\n"
                   "  local c = load('return _G')() == _G\n"
                   "  local d = load('return print', 'n', 't', nil)\n"
                   "  return tostring(a) .. tostring(b) .. tostring(c) .. tostring(pcall(d)) end",
           .fnerr = "", .want = "nilniltruefalse");
}

static void test_load_reader_with_huge_pieces(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local f = load(function() return string.rep('x', 1024 * 1024) end)\n"
                   "  return 'survived' end",
           .fnerr = "Unhandled", .want = "memory limit exceeded",
           .timeout_ms = 5000); /* memory first, even under ASan */
}

/* ---- missing libraries ------------------------------------------------------------------ */

static void test_debug_absent(void)
{
    ATTACK(.code = "function handler(e) local ok, err = pcall(require, 'debug')\n"
                   "  return tostring(debug) .. tostring(ok) .. err end",
           .fnerr = "", .want = "nilfalsemodule 'debug' not found");
}

static void test_io_absent(void)
{
    ATTACK(.code = "function handler(e) return io.open('/etc/passwd'):read('a') end",
           .fnerr = "Handled", .want = "attempt to index a nil value (global 'io')");
}

static void test_os_execute(void)
{
    ATTACK(.code = "function handler(e) os.execute('touch /tmp/fnhost_pwned') return 'ran' end",
           .fnerr = "Handled", .want = "attempt to call a nil value (field 'execute')");
    CHECK(access("/tmp/fnhost_pwned", F_OK) != 0);
}

static void test_os_exit(void)
{
    ATTACK(.code = "function handler(e) os.exit(3) return 'ran' end", .fnerr = "Handled",
           .want = "attempt to call a nil value (field 'exit')");
}

static void test_os_getenv(void)
{
    ATTACK(.code =
               "function handler(e) return tostring(os.getenv) .. tostring(rawget(os, 'getenv'))"
               " .. os.date('%Y'):sub(1, 1) end",
           .fnerr = "", .want = "nilnil2");
}

static void test_os_remove(void)
{
    fx_t f;
    attack_t a = {.code = "function handler(e) return tostring(pcall(os.remove, e)) .. "
                          "tostring(os.rename) .. tostring(os.tmpname) end",
                  .fnerr = "",
                  .want = "falsenilnil",
                  .keep = &f};
    run_attack(&a); /* event "x": relative, but the attempt must fail before touching it */
    fx_write(f.root, "victim", "data");
    char victim[128];
    snprintf(victim, sizeof victim, "%s/victim", f.root);
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "evil", victim, &r), 0);
    CHECK_EQ_STR(r.payload, "falsenilnil");
    CHECK_EQ_INT(access(victim, F_OK), 0);
    fx_res_free(&r);
    fx_close(&f);
}

static void test_dofile_loadfile_absent(void)
{
    ATTACK(.code = "function handler(e) return tostring(dofile) .. tostring(loadfile) .. "
                   "tostring(warn) end",
           .fnerr = "", .want = "nilnilnil");
}

/* ---- package and require ---------------------------------------------------------------- */

static void test_package_loadlib(void)
{
    ATTACK(.code = "function handler(e) return package.loadlib('/lib/x86_64-linux-gnu/libc.so.6', "
                   "'system') end",
           .fnerr = "Handled", .want = "attempt to index a nil value (global 'package')");
}

static void test_package_path_and_cpath_tricks(void)
{
    ATTACK(.code = "package = {path = '/etc/?', cpath = '/usr/lib/x86_64-linux-gnu/?.so',\n"
                   "  loaded = {}, preload = {pwn = function() return 'pwned' end}}\n"
                   "function handler(e)\n"
                   "  local ok1, e1 = pcall(require, 'passwd')\n"
                   "  local ok2, e2 = pcall(require, 'pwn')\n"
                   "  local ok3, e3 = pcall(require, 'libc')\n"
                   "  return tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. e1 end",
           .fnerr = "", .want = "falsefalsefalse", .want2 = "not found in the function's bundle");
}

static void test_require_c_module(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  local out = ''\n"
               "  for _, m in ipairs({'socket', 'posix', 'io', 'os', 'ffi', 'lfs', 'string'}) do\n"
               "    local ok, err = pcall(require, m)\n"
               "    out = out .. tostring(ok) .. ','\n"
               "  end\n"
               "  return out end",
           .fnerr = "", .want = "false,false,false,false,false,false,false,");
}

static void test_require_path_traversal(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local ok1, e1 = pcall(require, '../../etc/passwd')\n"
                   "  local ok2, e2 = pcall(require, '..etc.passwd')\n"
                   "  local ok3, e3 = pcall(require, '.....etc.passwd')\n"
                   "  return tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. e1 end",
           .fnerr = "", .want = "falsefalsefalse", .want2 = "a module is lecoresdk, cjson or");
}

static void test_require_absolute_path(void)
{
    ATTACK(.code = "function handler(e) local ok, err = pcall(require, '/etc/passwd')\n"
                   "  return tostring(ok) .. err end",
           .fnerr = "", .want = "falsemodule '/etc/passwd' not found");
}

static void test_require_symlink_out_of_bundle(void)
{
    fx_t f;
    attack_t a = {.code = "function handler(e) local ok, err = pcall(require, e)\n"
                          "  return tostring(ok) .. ':' .. tostring(err) end",
                  .fnerr = "",
                  .want = "false:",
                  .keep = &f};
    run_attack(&a);
    fx_write(f.root, "outside.lua", "return 'pwned'");
    char link[160], target[160];
    snprintf(link, sizeof link, "%s/link.lua", f.dir);
    snprintf(target, sizeof target, "%s/outside.lua", f.root);
    CHECK_EQ_INT(symlink(target, link), 0);
    fx_write(f.dir, "inside.lua", "return 'fine'");
    fx_res_t r = {0};
    CHECK_EQ_INT(fx_call(&f, "evil", "link", &r), 0);
    CHECK(r.payload && strstr(r.payload, "false:module 'link' not found in the function's bundle"));
    CHECK_EQ_INT(fx_call(&f, "evil", "inside", &r), 0);
    CHECK_EQ_STR(r.payload, "true:fine"); /* the control: a bundle module loads */
    fx_res_free(&r);
    fx_close(&f);
}

/* ---- shared state: metatables and library tables ---------------------------------------- */

static void test_string_metatable_change(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  local ok1, e1 = pcall(function() getmetatable('').__index = {rep = print} end)\n"
               "  local ok2 = pcall(rawset, getmetatable(''), '__index', {})\n"
               "  local ok3 = pcall(setmetatable, '', {})\n"
               "  return tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. ('a'):rep(2) .. e1 end",
           .fnerr = "", .want = "falsefalsefalseaa", .want2 = "attempt to index a string value");
}

static void test_library_modification_isolated(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  local r = ''\n"
               "  r = r .. tostring(pcall(function() string.rep = function() return 'p' end end))\n"
               "  r = r .. tostring(pcall(function() table.insert = nil end))\n"
               "  r = r .. tostring(pcall(function() math.pi = 3 end))\n"
               "  r = r .. tostring(pcall(function() os.time = nil end))\n"
               "  r = r .. tostring(pcall(function() coroutine.create = print end))\n"
               "  local ok, err = pcall(function() string.rep = nil end)\n"
               "  return r .. string.rep('z', 2) .. err end",
           .fnerr = "", .want = "falsefalsefalsefalsefalsezz",
           .want2 = "read-only library table (field 'rep')");
}

static void test_rawset_on_library_table(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local ok1, e1 = pcall(rawset, string, 'rep', function() return 'p' end)\n"
                   "  local ok2 = pcall(rawset, math, 'floor', print)\n"
                   "  return tostring(ok1) .. tostring(ok2) .. ('q'):rep(2) .. string.rep('q', 1)"
                   " .. e1 end",
           .fnerr = "", .want = "falsefalseqqq", .want2 = "read-only library table");
}

static void test_setmetatable_on_library_table(void)
{
    ATTACK(.code = "function handler(e) local ok, err = pcall(setmetatable, string, {})\n"
                   "  return tostring(ok) .. err end",
           .fnerr = "", .want = "falsecannot change a protected metatable");
}

static void test_setmetatable_G_isolated(void)
{
    fx_t f;
    attack_t a = {.code = "function handler(e) return tostring(undefined_global) end\n"
                          "setmetatable(_G, {__index = function(t, k) return 'evil' end,\n"
                          "                  __newindex = function() error('no') end})\n",
                  .fnerr = "",
                  .want = "evil",
                  .keep = &f};
    run_attack(&a); /* the good function ran in its own state with getmetatable(_G) == nil */
    fx_close(&f);
}

static void test_getmetatable_library_tables_locked(void)
{
    ATTACK(.code = "function handler(e) return tostring(getmetatable(string)) .. ','\n"
                   "  .. tostring(getmetatable('')) .. ',' .. tostring(getmetatable(math)) .. ','\n"
                   "  .. tostring(getmetatable(require('cjson'))) end",
           .fnerr = "", .want = "locked,locked,locked,locked");
}

static void test_env_tricks(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  local tostring = tostring\n"
               "  do local _ENV = {} x = io y = debug end\n"
               "  local _ENV = setmetatable({}, {__index = _G})\n"
               "  return tostring(io) .. tostring(debug) .. tostring(package) .. tostring(x) end",
           .fnerr = "", .want = "nilnilnilnil");
}

static void test_rawget_G_io(void)
{
    ATTACK(.code = "function handler(e) return tostring(rawget(_G, 'io')) .. tostring(rawget(_G, "
                   "'debug')) .. tostring(rawget(_G, 'package')) .. tostring(rawget(_G, 'dofile'))"
                   " .. tostring(rawget(string, 'dump')) .. tostring(rawget(_G, 'loadstring')) end",
           .fnerr = "", .want = "nilnilnilnilnilnil");
}

static void test_next_iterating_library_tables(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  local bad, n = {}, 0\n"
               "  local forbidden = {dump = 1, execute = 1, getenv = 1, exit = 1,\n"
               "    rename = 1, tmpname = 1, setlocale = 1, loadlib = 1, dofile = 1,\n"
               "    loadfile = 1, sethook = 1, getregistry = 1, open = 1, popen = 1}\n"
               "  for _, lib in ipairs({_G, string, table, math, utf8, coroutine, os}) do\n"
               "    if next(lib) ~= nil and lib ~= _G then bad[#bad + 1] = 'next' end\n"
               "    for k, v in pairs(lib) do n = n + 1\n"
               "      if forbidden[k] then bad[#bad + 1] = k end\n"
               "      if type(v) == 'table' and v ~= _G then\n"
               "        for k2 in pairs(v) do if forbidden[k2] then bad[#bad + 1] = k2 end end\n"
               "      end\n"
               "    end\n"
               "  end\n"
               "  for k in pairs(os) do if k == 'remove' then bad[#bad + 1] = k end end\n"
               "  local _, state = pairs(string)\n"
               "  local ok = pcall(rawset, state, 'rep', print)\n"
               "  return (#bad == 0 and 'clean' or table.concat(bad, ',')) .. tostring(n > 60)"
               " .. tostring(ok) end",
           .fnerr = "", .want = "cleantruefalse");
}

/* ---- time limit ------------------------------------------------------------------------- */

static void test_infinite_loop(void)
{
    ATTACK(.code = "function handler(e) while true do end end", .fnerr = "Unhandled",
           .want = "time limit exceeded");
}

static void test_infinite_loop_in_pcall(void)
{
    ATTACK(.code =
               "function handler(e) pcall(function() while true do end end) return 'caught' end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_loop_catching_timeout_with_pcall(void)
{
    ATTACK(.code =
               "function handler(e) while true do pcall(function() while true do end end) end end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_loop_catching_timeout_with_xpcall_handler(void)
{
    ATTACK(.code =
               "function handler(e)\n"
               "  while true do\n"
               "    xpcall(function() while true do end end, function(err) return err end)\n"
               "    xpcall(function() while true do end end, function(err) while true do end end)\n"
               "  end end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_close_variable_looping_after_timeout(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local x <close> = setmetatable({}, {__close = function() while true do end "
                   "end})\n"
                   "  while true do end end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_busy_loop_inside_coroutine(void)
{
    ATTACK(.code = "function handler(e) coroutine.wrap(function() while true do end end)() end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_coroutine_create_of_infinite_loop(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  while true do\n"
                   "    local co = coroutine.create(function() while true do end end)\n"
                   "    coroutine.resume(co)\n"
                   "  end end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
}

static void test_yield_outside_sdk_call(void)
{
    ATTACK(.code = "function handler(e) coroutine.yield('x') return 'resumed' end",
           .fnerr = "Handled", .want = "yielded outside a lecoresdk call");
}

/* ---- memory ----------------------------------------------------------------------------- */

static void test_memory_bomb_string_rep(void)
{
    ATTACK(.code = "function handler(e) return string.rep('x', 1e9) end", .fnerr = "Unhandled",
           .want = "memory limit exceeded");
}

static void test_memory_bomb_table_growth(void)
{
    ATTACK(.code = "function handler(e) local t = {} for i = 1, 1e9 do t[i] = {i} end end",
           .fnerr = "Unhandled", .want = "memory limit exceeded", .timeout_ms = 5000);
}

static void test_memory_bomb_concatenation(void)
{
    ATTACK(.code = "function handler(e) local s = 'x' while true do s = s .. s end end",
           .fnerr = "Unhandled", .want = "memory limit exceeded");
}

static void test_memory_error_caught_by_pcall(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  for i = 1, 10 do pcall(string.rep, 'x', 1e9) end\n"
                   "  return 'survived' end",
           .fnerr = "Unhandled", .want = "memory limit exceeded");
}

static void test_rep_integer_edge(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local ok, err = pcall(string.rep, 'x', math.maxinteger)\n"
                   "  assert(not ok and err:find('too large'))\n"
                   "  local ok2, err2 = pcall(string.rep, 'x', 2^31)\n"
                   "  assert(not ok2 and err2:find('too large'))\n"
                   "  return ('x'):rep(2^30) end",
           .fnerr = "Unhandled", .want = "memory limit exceeded");
}

static void test_string_rep_empty_huge_count(void)
{
    uint64_t t0 = uv_hrtime();
    ATTACK(.code = "function handler(e)\n"
                   "  local a = string.rep('', math.maxinteger)\n"
                   "  local b = ('').rep('', 2^62, '')\n"
                   "  return '[' .. a .. b .. ']' .. #string.rep('ab', 3, ',') end",
           .fnerr = "", .want = "[]8");
    CHECK(uv_hrtime() - t0 < 2000000000u);
}

static void test_table_move_huge_range(void)
{
    uint64_t t0 = uv_hrtime();
    ATTACK(.code = "function handler(e)\n"
                   "  local t = table.move({1, 2, 3}, 1, 3, 2)\n"
                   "  assert(t[1] == 1 and t[2] == 1 and t[4] == 3)\n"
                   "  assert(not pcall(table.move, {1}, 1, 1, 1, string))\n"
                   "  table.move({}, 1, 2^50, 1, {}) return 'moved' end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
    CHECK(uv_hrtime() - t0 < 2000000000u);
}

static void test_collectgarbage_loop_overruns_deadline(void)
{
    uint64_t t0 = uv_hrtime();
    ATTACK(.code = "function handler(e)\n"
                   "  local keep = {} for i = 1, 50000 do keep[i] = {i} end\n"
                   "  while true do collectgarbage() collectgarbage() collectgarbage() end end",
           .fnerr = "Unhandled", .want = "time limit exceeded");
    CHECK(uv_hrtime() - t0 < 2000000000u);
}

/* ---- pattern matching: verge's matcher checks the deadline (Lua's own would run for minutes
 * in C on these, out of the hook's reach) ------------------------------------------------- */

/* Runs a pathological pattern attack with a 200 ms limit: it must end "Unhandled" with the
 * time limit, not before the deadline and not long after it (run_attack then runs the good
 * function). */
static void pattern_attack(const char *code)
{
    uint64_t t0 = uv_hrtime();
    ATTACK(.code = code, .fnerr = "Unhandled", .want = "time limit exceeded", .timeout_ms = 200);
    uint64_t ms = (uv_hrtime() - t0) / 1000000u;
    if (ms < 200 || ms > 2000)
        fprintf(stderr, "  pattern attack took %llu ms\n", (unsigned long long)ms);
    CHECK(ms >= 200 && ms < 2000);
}

static void test_pattern_find_backtracking(void)
{
    pattern_attack("function handler(e) return tostring(('a'):rep(2000):find('.-.-.-b')) end");
}

static void test_pattern_match_backtracking(void)
{
    pattern_attack("function handler(e)\n"
                   "  return string.match(string.rep('a', 3000), 'a*a*a*a*a*a*b') end");
}

static void test_pattern_gmatch_backtracking(void)
{
    pattern_attack("function handler(e) local n = 0\n"
                   "  for x in ('a'):rep(3000):gmatch('(a-)a-a-a-b') do n = n + 1 end\n"
                   "  return tostring(n) end");
}

static void test_pattern_gsub_backtracking(void)
{
    pattern_attack("function handler(e) return (('a'):rep(3000):gsub('.-.-.-b', 'x')) end");
}

static void test_pattern_backref_backtracking(void)
{
    pattern_attack("function handler(e) return tostring(('ab'):rep(20000):find('(.-)%1%1x')) end");
}

static void test_pattern_plain_find_quadratic(void)
{
    /* a needle that almost matches at every position: plain search is quadratic too */
    pattern_attack("function handler(e) local s = ('a'):rep(300000)\n"
                   "  return tostring(s:find(('a'):rep(100000) .. 'b', 1, true)) end");
}

static void test_pattern_balance_quadratic(void)
{
    pattern_attack("function handler(e) local s = ('('):rep(400000)\n"
                   "  for i = 1, 100 do s:find('%b()') end return 'done' end");
}

static void test_pattern_timeout_in_pcall_not_caught(void)
{
    pattern_attack("function handler(e)\n"
                   "  local s = ('a'):rep(3000)\n"
                   "  for i = 1, 100 do\n"
                   "    local ok, err = pcall(string.match, s, '.-.-.-b')\n"
                   "    pcall(function() return s:find('(.-)(.-)(.-)b') end)\n"
                   "  end\n"
                   "  return 'caught' end");
}

static void test_pattern_gsub_replacement_work_without_output(void)
{
    /* empty matches, a replacement of 100,000 empty %0: no memory grows, time does */
    pattern_attack("function handler(e)\n"
                   "  return (('a'):rep(100000):gsub('', ('%0'):rep(50000))) end");
}

static void test_pattern_gsub_callback_loops(void)
{
    pattern_attack("function handler(e)\n"
                   "  pcall(string.gsub, 'abc', '%w', function(c) while true do end end)\n"
                   "  return 'caught' end");
}

static void test_pattern_gsub_memory_bomb(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local s = ('x'):rep(1000)\n"
                   "  local ok = pcall(string.gsub, s, '.', ('y'):rep(100000))\n"
                   "  return 'survived' end",
           .fnerr = "Unhandled", .want = "memory limit exceeded", .timeout_ms = 5000);
}

static void test_pattern_gsub_doubling_bomb(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local s = 'x'\n"
                   "  for i = 1, 40 do s = s:gsub('.', '%0%0') end\n"
                   "  return #s end",
           .fnerr = "Unhandled", .want = "memory limit exceeded", .timeout_ms = 5000);
}

static void test_pattern_recursion_bound(void)
{
    /* Lua's bound: 200 nested matcher calls, 32 captures; %b is not recursive */
    ATTACK(.code = "function handler(e)\n"
                   "  local r = {}\n"
                   "  local function try(...) local ok, v = pcall(...)\n"
                   "    r[#r + 1] = ok and tostring(type(v) == 'string' and #v or v) or v end\n"
                   "  try(string.match, ('a'):rep(199), ('a?'):rep(199))\n"
                   "  try(string.match, ('a'):rep(400), ('a?'):rep(400))\n"
                   "  try(string.find, ('a'):rep(400), ('(a?)'):rep(30) .. ('a?'):rep(400))\n"
                   "  try(string.gsub, ('a'):rep(400), ('%a?'):rep(300), 'x')\n"
                   "  try(string.match, 'a', ('('):rep(32) .. 'a' .. (')'):rep(32))\n"
                   "  try(string.match, 'a', ('('):rep(33) .. 'a' .. (')'):rep(33))\n"
                   "  try(string.match, ('('):rep(100000) .. (')'):rep(100000), '%b()')\n"
                   "  try(string.match, ('('):rep(100000) .. (')'):rep(99999), '%b()')\n"
                   "  try(string.match, 'x', ('%f[x]'):rep(1000) .. 'x')\n"
                   "  return table.concat(r, '|') end",
           .fnerr = "",
           .want = "199|pattern too complex|pattern too complex|pattern too complex|"
                   "1|too many captures|200000|199998|1");
}

static void test_pattern_callback_error_leaves_state_clean(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local it = ('a1 b2 c3'):gmatch('(%a)(%d)')\n"
                   "  local a, b = it()\n"
                   "  local ok, err = pcall(string.gsub, 'abc', '%w', function(c)\n"
                   "    error('cb ' .. c, 0) end)\n"
                   "  local ok2, err2 = pcall(it, 'ignored')\n"
                   "  local c, d = it()\n"
                   "  local t = setmetatable({}, {__index = function(_, k) error('idx ' .. k, 0) "
                   "end})\n"
                   "  local ok3, err3 = pcall(string.gsub, 'xy', '.', t)\n"
                   "  local s, n = ('x y z'):gsub('%a', {x = 'X', y = false})\n"
                   "  return a .. b .. tostring(ok) .. err .. tostring(ok2) .. tostring(err2)\n"
                   "    .. c .. d .. err3 .. s .. n end",
           .fnerr = "", .want = "a1falsecb atruebc3idx xX y z3");
}

static void test_huge_format_width(void)
{
    ATTACK(.code = "function handler(e) return string.format('%99999999s', 'x') end",
           .fnerr = "Handled", .want = "invalid conversion");
}

static void test_huge_return_value(void)
{
    ATTACK(.code = "function handler(e) return string.rep('x', 2 * 1024 * 1024) end",
           .fnerr = "Unhandled", .want = "exceeds the limit of 1048576 bytes",
           .memory = 16u * 1024 * 1024);
}

static void test_collectgarbage_stop(void)
{
    ATTACK(.code = "function handler(e) local ok, err = pcall(collectgarbage, 'stop')\n"
                   "  return tostring(ok) .. tostring(collectgarbage('isrunning')) .. err end",
           .fnerr = "", .want = "falsetrue", .want2 = "collectgarbage('stop') is not allowed");
}

static void test_collectgarbage_step_abuse(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  local ok1 = pcall(collectgarbage, 'step', 1e9)\n"
                   "  local ok2 = pcall(collectgarbage, 'setpause', 1e9)\n"
                   "  local ok3 = pcall(collectgarbage, 'generational')\n"
                   "  return tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. "
                   "tostring(collectgarbage('count') > 0) end",
           .fnerr = "", .want = "falsefalsefalsetrue");
}

/* ---- stacks ----------------------------------------------------------------------------- */

static void test_deep_recursion(void)
{
    ATTACK(.code = "local function f(n) return 1 + f(n + 1) end\n"
                   "function handler(e) f(1) end",
           .fnerr = "Handled", .want = "stack overflow", .memory = 64u * 1024 * 1024,
           .timeout_ms = 5000);
}

static void test_c_stack_overflow_gsub(void)
{
    ATTACK(.code = "local function f(s) return (s:gsub('.', f)) end\n"
                   "function handler(e) return f('xx') end",
           .fnerr = "Handled", .want = "stack overflow");
}

static void test_c_stack_overflow_metamethod(void)
{
    ATTACK(.code = "local t = setmetatable({}, {__index = function(t, k) return t[k] end})\n"
                   "function handler(e) return t.x end",
           .fnerr = "Handled", .want = "stack overflow");
}

static void test_coroutine_wrap_nesting(void)
{
    ATTACK(.code = "local function f() return coroutine.wrap(f)() end\n"
                   "function handler(e) return f() end",
           .fnerr = "Handled", .want = "stack overflow");
}

/* ---- error objects and finalizers ------------------------------------------------------- */

static void test_error_object_with_gc(void)
{
    ATTACK(.code = "function handler(e)\n"
                   "  error(setmetatable({}, {__gc = function() while true do end end}))\n"
                   "end",
           .fnerr = "Handled", .want = "__gc metamethods are not allowed");
}

static void test_error_object_with_tostring_loop(void)
{
    uint64_t t0 = uv_hrtime();
    ATTACK(.code = "function handler(e)\n"
                   "  error(setmetatable({}, {__tostring = function() while true do end end,\n"
                   "                          __index = function() while true do end end}))\n"
                   "end",
           .fnerr = "Handled", .want = "(error object is a table value)");
    CHECK(uv_hrtime() - t0 < 2000000000u); /* no __tostring ran */
}

static void test_gc_finalizer_looping_at_state_close(void)
{
    fx_t f;
    attack_t a = {.code = "local mt = {}\n"
                          "keep = setmetatable({}, mt)\n"
                          "mt.__gc = function() while true do end end -- too late: not marked\n"
                          "function handler(e)\n"
                          "  local ok, err = pcall(setmetatable, {}, {__gc = function() end})\n"
                          "  return tostring(ok) .. err end",
                  .fnerr = "",
                  .want = "false",
                  .want2 = "__gc metamethods are not allowed",
                  .keep = &f};
    run_attack(&a);
    fx_close(&f); /* closes the state: nothing loops */
}

static void test_resume_other_invocations_coroutine(void)
{
    fx_t f;
    fx_open(&f);
    char path[256];
    fnhost_spec_t s = fx_spec(&f, "evil", path, sizeof path);
    s.concurrency = 2;
    s.timeout_ms = 2000;
    CHECK_EQ_INT(fx_add_spec(&f, "evil",
                             "local sdk = require('lecoresdk')\n"
                             "function handler(e)\n"
                             "  if e == 'sleeper' then victim = coroutine.running()\n"
                             "    sdk.sleep(200) return 'slept' end\n"
                             "  local ok1, e1 = pcall(coroutine.resume, victim, 'x')\n"
                             "  local ok2 = pcall(coroutine.close, victim)\n"
                             "  return tostring(ok1) .. tostring(ok2) .. e1 end",
                             &s),
                 0);
    CHECK_EQ_INT(fx_add(&f, "good", FX_GOOD_CODE), 0);
    fx_res_t r1 = {0}, r2 = {0};
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "evil", "sleeper", 7, NULL, 0, fx_done, &r1, NULL),
                 0);
    CHECK_EQ_INT(fnhost_invoke(f.host, "svc", "evil", "attacker", 8, NULL, 0, fx_done, &r2, NULL),
                 0);
    CHECK(fx_run_until(&f, &r2.done, 5000));
    CHECK(r2.payload && strstr(r2.payload, "falsefalse") &&
          strstr(r2.payload, "cannot resume an invocation's own coroutine"));
    CHECK(fx_run_until(&f, &r1.done, 5000));
    CHECK_EQ_STR(r1.payload, "slept");
    fx_res_t g = {0};
    CHECK_EQ_INT(fx_call(&f, "good", "x", &g), 0);
    CHECK_EQ_STR(g.payload, "ok:x");
    fx_res_free(&g);
    fx_res_free(&r1);
    fx_res_free(&r2);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_load_binary_chunk_from_string_dump)
    VG_TEST(test_load_handcrafted_lua_header)
    VG_TEST(test_string_dump_absent)
    VG_TEST(test_load_env_cannot_reach_host_globals)
    VG_TEST(test_load_reader_with_huge_pieces)
    VG_TEST(test_debug_absent)
    VG_TEST(test_io_absent)
    VG_TEST(test_os_execute)
    VG_TEST(test_os_exit)
    VG_TEST(test_os_getenv)
    VG_TEST(test_os_remove)
    VG_TEST(test_dofile_loadfile_absent)
    VG_TEST(test_package_loadlib)
    VG_TEST(test_package_path_and_cpath_tricks)
    VG_TEST(test_require_c_module)
    VG_TEST(test_require_path_traversal)
    VG_TEST(test_require_absolute_path)
    VG_TEST(test_require_symlink_out_of_bundle)
    VG_TEST(test_string_metatable_change)
    VG_TEST(test_library_modification_isolated)
    VG_TEST(test_rawset_on_library_table)
    VG_TEST(test_setmetatable_on_library_table)
    VG_TEST(test_setmetatable_G_isolated)
    VG_TEST(test_getmetatable_library_tables_locked)
    VG_TEST(test_env_tricks)
    VG_TEST(test_rawget_G_io)
    VG_TEST(test_next_iterating_library_tables)
    VG_TEST(test_infinite_loop)
    VG_TEST(test_infinite_loop_in_pcall)
    VG_TEST(test_loop_catching_timeout_with_pcall)
    VG_TEST(test_loop_catching_timeout_with_xpcall_handler)
    VG_TEST(test_close_variable_looping_after_timeout)
    VG_TEST(test_busy_loop_inside_coroutine)
    VG_TEST(test_coroutine_create_of_infinite_loop)
    VG_TEST(test_yield_outside_sdk_call)
    VG_TEST(test_memory_bomb_string_rep)
    VG_TEST(test_memory_bomb_table_growth)
    VG_TEST(test_memory_bomb_concatenation)
    VG_TEST(test_memory_error_caught_by_pcall)
    VG_TEST(test_rep_integer_edge)
    VG_TEST(test_string_rep_empty_huge_count)
    VG_TEST(test_table_move_huge_range)
    VG_TEST(test_collectgarbage_loop_overruns_deadline)
    VG_TEST(test_pattern_find_backtracking)
    VG_TEST(test_pattern_match_backtracking)
    VG_TEST(test_pattern_gmatch_backtracking)
    VG_TEST(test_pattern_gsub_backtracking)
    VG_TEST(test_pattern_backref_backtracking)
    VG_TEST(test_pattern_plain_find_quadratic)
    VG_TEST(test_pattern_balance_quadratic)
    VG_TEST(test_pattern_timeout_in_pcall_not_caught)
    VG_TEST(test_pattern_gsub_replacement_work_without_output)
    VG_TEST(test_pattern_gsub_callback_loops)
    VG_TEST(test_pattern_gsub_memory_bomb)
    VG_TEST(test_pattern_gsub_doubling_bomb)
    VG_TEST(test_pattern_recursion_bound)
    VG_TEST(test_pattern_callback_error_leaves_state_clean)
    VG_TEST(test_huge_format_width)
    VG_TEST(test_huge_return_value)
    VG_TEST(test_collectgarbage_stop)
    VG_TEST(test_collectgarbage_step_abuse)
    VG_TEST(test_deep_recursion)
    VG_TEST(test_c_stack_overflow_gsub)
    VG_TEST(test_c_stack_overflow_metamethod)
    VG_TEST(test_coroutine_wrap_nesting)
    VG_TEST(test_error_object_with_gc)
    VG_TEST(test_error_object_with_tostring_loop)
    VG_TEST(test_gc_finalizer_looping_at_state_close)
    VG_TEST(test_resume_other_invocations_coroutine)
)
/* clang-format on */
