/* require.c: the function's own require. It finds only "lecoresdk", "cjson" and Lua files of
 * the function's bundle directory ("a.b" is <dir>/a/b.lua, resolved with realpath and refused
 * outside the dir), loads them as text with the function's env, and caches them per state. */
#include "fnhost/fnhost_int.h"

#include <limits.h>
#include <lua-cjson.h>
#include <stdlib.h>
#include <string.h>

const char fnhost__loaded_key[] = "fnhost.loaded";

/* cjson, read-only, without a buffer kept between calls (its buffers are malloc'd outside the
 * state's accounting). */
static int open_cjson(lua_State *L)
{
    luaopen_cjson(L);
    int mod = lua_gettop(L);
    lua_getfield(L, mod, "encode_keep_buffer");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    fnhost__push_readonly(L, mod);
    return 1;
}

static const luaL_Reg require_builtin[] = {
    {"lecoresdk", fnhost__open_lecoresdk}, {"cjson", open_cjson}, {NULL, NULL}};

/* Stores the module's value (top) in the cache under the name at index 1 and returns it. */
static int require_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__loaded_key);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* A module name is dot-separated segments of [A-Za-z0-9_-]. */
static int name_valid(const char *name)
{
    size_t seg = 0, n = 0;
    for (const char *p = name; *p; p++, n++) {
        if (*p == '.') {
            if (seg == 0) return 0;
            seg = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0 && n <= 200;
}

int fnhost__require(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__loaded_key);
    if (lua_getfield(L, 2, name) != LUA_TNIL) return 1;
    lua_settop(L, 1);
    for (const luaL_Reg *r = require_builtin; r->name; r++) {
        if (strcmp(r->name, name) == 0) {
            lua_pushcfunction(L, r->func);
            lua_call(L, 0, 1);
            return require_done(L, LUA_OK, 0);
        }
    }
    if (!name_valid(name))
        return luaL_error(L,
                          "module '%s' not found: a module is lecoresdk, cjson or a Lua file "
                          "of the function's bundle named like 'dir.file'",
                          name);
    char rel[PATH_MAX], real[PATH_MAX];
    int n = snprintf(rel, sizeof rel, "%s/%s", fn->dir, name);
    if (n < 0 || (size_t)n + 4 >= sizeof rel)
        return luaL_error(L, "module '%s' not found: name too long", name);
    for (char *p = rel + strlen(fn->dir) + 1; *p; p++)
        if (*p == '.') *p = '/';
    memcpy(rel + n, ".lua", 5);
    size_t dl = strlen(fn->dir);
    if (!realpath(rel, real) || strncmp(real, fn->dir, dl) != 0 || real[dl] != '/')
        return luaL_error(L, "module '%s' not found in the function's bundle (%s)", name, fn->dir);
    if (luaL_loadfilex(L, real, "t") != LUA_OK) return lua_error(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    lua_setupvalue(L, -2, 1);
    lua_pushvalue(L, 1);
    lua_callk(L, 1, 1, 0, require_done);
    return require_done(L, LUA_OK, 0);
}
