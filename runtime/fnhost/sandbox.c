/* sandbox.c: the function's environment, built as an allow-list (Redis script_lua.c style).
 * Only vetted base functions and read-only proxies of string, table, math, utf8, coroutine and
 * a reduced os reach the function's own env table; the real globals are never exposed. */
#include "fnhost/fnhost_int.h"
#include "core/log.h"

#include <lualib.h>
#include <string.h>

const char fnhost__env_key[] = "fnhost.env";
static const char ro_key = 0; /* marks the metatables of read-only proxies */

/* ---- read-only proxies ------------------------------------------------------------------ */

static int ro_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to modify a read-only library table (field '%s')",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

static int ro_next(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

/* __pairs: iterates the real table without handing it out (its iterator keeps it hidden). */
static int ro_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, ro_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void fnhost__push_readonly(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, ro_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &ro_key);
    lua_setmetatable(L, -2);
}

int fnhost__is_readonly(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    int ro = lua_rawgetp(L, -1, &ro_key) != LUA_TNIL;
    lua_pop(L, 2);
    return ro;
}

/* ---- wrapped base functions ------------------------------------------------------------- */

static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
    fnhost__check_killed(L); /* a limit breach is never caught */
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
    return finish_pcall(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

/* load(chunk [, name [, mode [, env]]]): text only, env defaults to the function's env. */
static int sb_load(lua_State *L)
{
    int has_env = !lua_isnone(L, 4);
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (has_env)
        lua_pushvalue(L, 4);
    else
        lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

/* setmetatable refuses __gc (finalizers run with hooks off, after any limit) and read-only
 * proxies (their metatable is locked anyway). */
static int sb_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) /* raw, as Lua marks objects for finalization */
            return luaL_error(L, "__gc metamethods are not allowed in functions");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sb_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (fnhost__is_readonly(L, 1))
        return luaL_error(L, "attempt to modify a read-only library table");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* collectgarbage: only "count", "collect" and "isrunning"; stopping or tuning the collector
 * is refused (memory stays bounded by the allocator either way). */
static int sb_collectgarbage(lua_State *L)
{
    static const char *const allowed[] = {"count", "collect", "isrunning", NULL};
    const char *opt = luaL_optstring(L, 1, "collect");
    fnhost__tick(L); /* a full collection is not bounded by instructions */
    int i;
    for (i = 0; allowed[i] && strcmp(allowed[i], opt) != 0; i++)
        ;
    if (!allowed[i]) return luaL_error(L, "collectgarbage('%s') is not allowed in functions", opt);
    lua_settop(L, 1);
    lua_pushstring(L, opt);
    lua_replace(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* string.rep: an empty string repeated 2^62 times loops in C without allocating. */
static int sb_rep(lua_State *L)
{
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    fnhost__tick(L);
    if (l + lsep == 0 || n <= 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* table.move as in ltablib.c, with a deadline check every 1024 elements: a range of 2^50
 * empty slots is work without data. */
static int sb_tmove(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, tt, LUA_TTABLE);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        int forward = t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ));
        for (lua_Integer i = 0; i < n; i++) {
            lua_Integer k = forward ? i : n - 1 - i;
            if ((i & 1023) == 1023) fnhost__tick(L);
            lua_geti(L, 1, f + k);
            lua_seti(L, tt, t + k);
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* print: one log line under the function's name. */
static int sb_print(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_addvalue(&b);
        (void)s;
        (void)len;
    }
    luaL_pushresult(&b);
    vg_info(&fn->host->ctx->log, "%s/%s: %s", fn->service, fn->name, lua_tostring(L, -1));
    return 0;
}

/* ---- coroutines: the hook is inherited by every new thread (lua_newthread copies it);
 * resume and close refuse the host's own invocation coroutines and re-raise a limit breach. */

static int sb_coresume(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    if (fnhost__is_host_thread(fnhost__fn_of(L), co))
        return luaL_error(L, "cannot resume an invocation's own coroutine");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    fnhost__check_killed(L);
    return lua_gettop(L);
}

static int sb_coclose(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    if (fnhost__is_host_thread(fnhost__fn_of(L), co))
        return luaL_error(L, "cannot close an invocation's own coroutine");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* ---- building the env ------------------------------------------------------------------- */

/* Copies the named fields of the table at `from` into the table at `to`. */
static void copy_fields(lua_State *L, int from, int to, const char *const *names)
{
    for (; *names; names++) {
        lua_getfield(L, from, *names);
        lua_setfield(L, to, *names);
    }
}

/* Opens a library, copies the allowed fields into a fresh table and sets a read-only proxy of
 * it as env[name]. `wrapped` replaces fields with C closures over the original. */
static void add_library(lua_State *L, int env, const char *name, lua_CFunction open,
                        const char *const *names, const luaL_Reg *wrapped, const luaL_Reg *own)
{
    luaL_requiref(L, name, open, 0);
    int lib = lua_gettop(L);
    lua_newtable(L);
    int copy = lua_gettop(L);
    copy_fields(L, lib, copy, names);
    for (; wrapped && wrapped->name; wrapped++) {
        lua_getfield(L, lib, wrapped->name);
        lua_pushcclosure(L, wrapped->func, 1);
        lua_setfield(L, copy, wrapped->name);
    }
    if (own) {
        lua_pushvalue(L, copy);
        luaL_setfuncs(L, own, 0);
        lua_pop(L, 1);
    }
    fnhost__push_readonly(L, copy);
    lua_setfield(L, env, name);
    lua_settop(L, lib - 1);
}

static const char *const base_names[] = {
    "assert", "error",  "getmetatable", "ipairs",   "next", "pairs",    "rawequal", "rawget",
    "rawlen", "select", "tonumber",     "tostring", "type", "_VERSION", NULL};
static const luaL_Reg base_wrapped[] = {/* closures over the original of the same name */
                                        {"load", sb_load},
                                        {"setmetatable", sb_setmetatable},
                                        {"collectgarbage", sb_collectgarbage},
                                        {NULL, NULL}};
static const luaL_Reg base_own[] = {{"pcall", sb_pcall},          {"xpcall", sb_xpcall},
                                    {"rawset", sb_rawset},        {"print", sb_print},
                                    {"require", fnhost__require}, {NULL, NULL}};

/* No dump. find, match, gmatch and gsub are verge's own (pattern.c), not closures over Lua's:
 * Lua's matcher backtracks in C where the count hook cannot stop it; ours checks the deadline
 * as it goes. */
static const char *const string_names[] = {"byte",  "char",   "format",   "len",
                                           "lower", "pack",   "packsize", "reverse",
                                           "sub",   "unpack", "upper",    NULL};
static const luaL_Reg string_wrapped[] = {{"rep", sb_rep}, {NULL, NULL}};
static const luaL_Reg string_own[] = {{"find", fnhost__str_find},
                                      {"match", fnhost__str_match},
                                      {"gmatch", fnhost__str_gmatch},
                                      {"gsub", fnhost__str_gsub},
                                      {NULL, NULL}};
static const char *const table_names[] = {"concat", "insert", "pack", "remove",
                                          "sort",   "unpack", NULL};
static const luaL_Reg table_wrapped[] = {{"move", sb_tmove}, {NULL, NULL}};
static const char *const math_names[] = {
    "abs",       "ceil", "cos",    "deg",        "exp",  "floor",      "fmod",
    "huge",      "log",  "max",    "maxinteger", "min",  "mininteger", "modf",
    "pi",        "rad",  "random", "randomseed", "sin",  "sqrt",       "tan",
    "tointeger", "type", "ult",    "acos",       "asin", "atan",       NULL};
static const char *const utf8_names[] = {"char", "charpattern", "codes", "codepoint",
                                         "len",  "offset",      NULL};
static const char *const co_names[] = {"create", "isyieldable", "running", "status",
                                       "wrap",   "yield",       NULL};
static const luaL_Reg co_wrapped[] = {{"resume", sb_coresume}, {"close", sb_coclose}, {NULL, NULL}};
static const char *const os_names[] = {"time", "clock", "date", "difftime", NULL};

int fnhost__sandbox_open(lua_State *L)
{
    lua_newtable(L);
    int env = lua_gettop(L);
    lua_pushvalue(L, env);
    lua_rawsetp(L, LUA_REGISTRYINDEX, fnhost__env_key);

    luaL_requiref(L, LUA_GNAME, luaopen_base, 0); /* the real globals, never exposed */
    int base = lua_gettop(L);
    copy_fields(L, base, env, base_names);
    for (const luaL_Reg *r = base_wrapped; r->name; r++) {
        lua_getfield(L, base, r->name);
        if (r->func == sb_load) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
            lua_pushcclosure(L, r->func, 2);
        } else {
            lua_pushcclosure(L, r->func, 1);
        }
        lua_setfield(L, env, r->name);
    }
    lua_settop(L, env);
    luaL_setfuncs(L, base_own, 0);
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");

    add_library(L, env, LUA_STRLIBNAME, luaopen_string, string_names, string_wrapped, string_own);
    add_library(L, env, LUA_TABLIBNAME, luaopen_table, table_names, table_wrapped, NULL);
    add_library(L, env, LUA_MATHLIBNAME, luaopen_math, math_names, NULL, NULL);
    add_library(L, env, LUA_UTF8LIBNAME, luaopen_utf8, utf8_names, NULL, NULL);
    add_library(L, env, LUA_COLIBNAME, luaopen_coroutine, co_names, co_wrapped, NULL);
    add_library(L, env, LUA_OSLIBNAME, luaopen_os, os_names, NULL, NULL);

    /* The string metatable: methods are the sandbox's string table (no dump, the wrapped rep),
     * and the metatable is locked. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getfield(L, env, LUA_STRLIBNAME);
    lua_getmetatable(L, -1); /* the proxy's metatable: its __index is the copy */
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -4, "__index");
    lua_pop(L, 2);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_settop(L, env - 1);

    lua_newtable(L); /* require's cache */
    lua_rawsetp(L, LUA_REGISTRYINDEX, fnhost__loaded_key);
    return 0;
}

int fnhost__is_host_thread(fnhost__fn_t *fn, lua_State *co)
{
    if (!fn) return 0;
    for (fnhost__inv_t *i = fn->running; i; i = i->next)
        if (i->co == co) return 1;
    return 0;
}
