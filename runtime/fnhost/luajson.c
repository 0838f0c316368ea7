/* luajson.c: Lua values <-> jansson, for the lecoresdk bindings and the invoker context. Depth
 * is limited; keys must be strings; a table with keys 1..n only is an array; null is cjson.null
 * (a NULL light userdata). Conversions never call metamethods. */
#include "fnhost/fnhost_int.h"

#include <math.h>

#define LUAJSON_MAX_DEPTH 32

void fnhost__push_json(lua_State *L, json_t *j, int depth)
{
    if (depth > LUAJSON_MAX_DEPTH)
        luaL_error(L, "JSON nested deeper than %d levels", LUAJSON_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON too deep");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach(j, k, v)
        {
            fnhost__push_json(L, v, depth + 1);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        lua_createtable(L, (int)json_array_size(j), 0);
        json_array_foreach(j, i, v)
        {
            fnhost__push_json(L, v, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, (lua_Number)json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushlightuserdata(L, NULL);
        break;
    }
}

/* Returns n when the table at idx has exactly the keys 1..n (n > 0), else 0. */
static lua_Integer array_len(lua_State *L, int idx)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    if (n <= 0) return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n ? n : 0;
}

static json_t *table_to_json(lua_State *L, int idx, int depth, const char **why)
{
    lua_Integer n = array_len(L, idx);
    if (n > 0) {
        json_t *a = json_array();
        for (lua_Integer i = 1; a && i <= n; i++) {
            lua_rawgeti(L, idx, i);
            json_t *v = fnhost__to_json(L, -1, depth + 1, why);
            lua_pop(L, 1);
            if (!v || json_array_append_new(a, v)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    json_t *o = json_object();
    lua_pushnil(L);
    while (o && lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            *why = "table keys must be strings (or 1..n for an array)";
            lua_pop(L, 2);
            json_decref(o);
            return NULL;
        }
        json_t *v = fnhost__to_json(L, -1, depth + 1, why);
        if (!v || json_object_set_new(o, lua_tostring(L, -2), v)) {
            lua_pop(L, 2);
            json_decref(o);
            return NULL;
        }
        lua_pop(L, 1);
    }
    return o;
}

json_t *fnhost__to_json(lua_State *L, int idx, int depth, const char **why)
{
    idx = lua_absindex(L, idx);
    if (depth > LUAJSON_MAX_DEPTH || !lua_checkstack(L, 4)) {
        *why = "value nested too deeply";
        return NULL;
    }
    *why = "out of memory";
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite((double)lua_tonumber(L, idx))) {
            *why = "numbers must be finite";
            return NULL;
        }
        {
            /* JSON has one number type, and cjson.decode gives floats for every number: a
             * float with an integral value (1.0) is written as the integer, or a device's
             * bool or int property set from decoded JSON would be refused as a real. */
            double d = (double)lua_tonumber(L, idx);
            if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((json_int_t)d);
            return json_real(d);
        }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j) *why = "strings must be UTF-8";
        return j;
    }
    case LUA_TLIGHTUSERDATA:
        if (!lua_touserdata(L, idx)) return json_null();
        break;
    case LUA_TTABLE:
        return table_to_json(L, idx, depth, why);
    default:
        break;
    }
    *why = "only nil, booleans, numbers, strings and tables convert to JSON";
    return NULL;
}
