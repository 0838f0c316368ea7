/* fuzz_pattern.c: libFuzzer target for verge's own pattern matcher (runtime/fnhost/pattern.c),
 * which runs string.find/match/gmatch/gsub on patterns that functions (user code) choose.
 * Every input runs under a 50 ms deadline checked by the matcher itself, so a backtracking
 * pattern ends with the limit sentinel instead of a libFuzzer timeout. When the subject and the
 * pattern are short (Lua's own matcher is then bounded), the result must equal Lua's.
 *
 * Input: byte 0 picks the function and its options, byte 1 the init argument, byte 2 gsub's
 * maximum; the rest is subject, pattern and replacement separated by 0xFF bytes. */
#include "fnhost/fnhost_int.h"
#include "core/ctx.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_DEADLINE_NS (50u * 1000000u)
#define FZ_MEM_LIMIT   (64u * 1024 * 1024)
#define FZ_SHORT       12 /* subject and pattern lengths up to which Lua's result is compared */
#define FZ_GMATCH_MAX  256

/* A function behind the state, as the host has one, so fnhost__tick enforces the deadline. */
static uv_loop_t fz_loop;
static vg_ctx_t fz_ctx;
static fnhost_t fz_host;
static fnhost__fn_t fz_fn;
static fnhost__inv_t fz_inv;
static lua_State *fz_L;
static size_t fz_used;

static void *fz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        fz_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > FZ_MEM_LIMIT - fz_used) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) fz_used = fz_used - old + nsize;
    return p;
}

/* gsub's function replacement: nil, false, a number, a table (an invalid value) or the
 * captures concatenated, depending on the first capture. */
static int fz_repl_fn(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0 || lua_isnumber(L, 1)) return n == 0 ? 0 : 1;
    size_t len;
    const char *s = lua_tolstring(L, 1, &len);
    if (len == 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (s[0] == 'x') {
        lua_newtable(L);
        return 1;
    }
    if (s[0] == 'n') return 0;
    lua_concat(L, n);
    return 1;
}

/* Appends the values at from..to, with their types, to out (truncated at outlen). */
static void fz_describe(lua_State *L, int from, int to, char *out, size_t outlen, size_t *pos)
{
    for (int i = from; i <= to; i++) {
        char tmp[64];
        int n;
        switch (lua_type(L, i)) {
        case LUA_TSTRING: {
            size_t len;
            const char *s = lua_tolstring(L, i, &len);
            n = snprintf(tmp, sizeof tmp, "s%zu:", len);
            if (*pos + (size_t)n + len < outlen) {
                memcpy(out + *pos, tmp, (size_t)n);
                memcpy(out + *pos + (size_t)n, s, len);
                *pos += (size_t)n + len;
            }
            continue;
        }
        case LUA_TNUMBER:
            if (lua_isinteger(L, i))
                n = snprintf(tmp, sizeof tmp, "i%lld|", (long long)lua_tointeger(L, i));
            else
                n = snprintf(tmp, sizeof tmp, "f%.17g|", (double)lua_tonumber(L, i));
            break;
        default:
            n = snprintf(tmp, sizeof tmp, "%s|", lua_typename(L, lua_type(L, i)));
            break;
        }
        if (*pos + (size_t)n < outlen) {
            memcpy(out + *pos, tmp, (size_t)n);
            *pos += (size_t)n;
        }
    }
}

typedef struct fz_out {
    char text[1 << 16];
    size_t len;
} fz_out_t;

/* Protected: fz_run(out, op, fn, s, p, a3, a4) calls fn and describes what it returned (every
 * iteration for gmatch) into out. */
static int fz_run(lua_State *L)
{
    fz_out_t *o = lua_touserdata(L, 1);
    int op = (int)lua_tointeger(L, 2);
    int base = 3; /* fn and its arguments */
    lua_call(L, lua_gettop(L) - base, LUA_MULTRET);
    if (op != 2) {
        fz_describe(L, base, lua_gettop(L), o->text, sizeof o->text, &o->len);
        return 0;
    }
    int it = lua_gettop(L); /* gmatch's iterator */
    for (int i = 0; i < FZ_GMATCH_MAX; i++) {
        lua_pushvalue(L, it);
        lua_call(L, 0, LUA_MULTRET);
        int n = lua_gettop(L) - it;
        fz_describe(L, it + 1, it + n, o->text, sizeof o->text, &o->len);
        if (o->len + 1 < sizeof o->text) o->text[o->len++] = ';';
        int done = n == 0 || lua_isnil(L, it + 1);
        lua_settop(L, it);
        if (done) break;
    }
    return 0;
}

static void fz_setup(void)
{
    vg_config_t cfg;
    vg_config_defaults(&cfg);
    uv_loop_init(&fz_loop);
    if (vg_ctx_init(&fz_ctx, &fz_loop, &cfg) != 0) abort();
    fz_ctx.log.level = VG_LOG_ERROR; /* the time-limit warnings */
    fz_host.ctx = &fz_ctx;
    fz_fn.host = &fz_host;
    fz_inv.fn = &fz_fn;
    fz_L = lua_newstate(fz_alloc, NULL);
    if (!fz_L) abort();
    *(fnhost__fn_t **)lua_getextraspace(fz_L) = &fz_fn;
    luaL_openlibs(fz_L);
}

static const lua_CFunction fz_own[] = {fnhost__str_find, fnhost__str_match, fnhost__str_gmatch,
                                       fnhost__str_gsub};
static const char *const fz_names[] = {"find", "match", "gmatch", "gsub"};

/* Runs one call with verge's functions (own = 1, under the deadline) or Lua's. Returns 0 when
 * it returned, 1 on a Lua error (message in o), 2 when the deadline ended it. */
static int fz_call(int own, int op, int flags, const char *parts[3], const size_t lens[3], int init,
                   int max, fz_out_t *o)
{
    lua_State *L = fz_L;
    o->len = 0;
    lua_settop(L, 0);
    lua_pushcfunction(L, fz_run);
    lua_pushlightuserdata(L, o);
    lua_pushinteger(L, op);
    if (own) {
        lua_pushcfunction(L, fz_own[op]);
    } else {
        lua_getglobal(L, "string");
        lua_getfield(L, -1, fz_names[op]);
        lua_remove(L, -2);
    }
    lua_pushlstring(L, parts[0], lens[0]);
    lua_pushlstring(L, parts[1], lens[1]);
    int nargs = 5;
    if (op == 3) { /* gsub: the replacement, and a maximum */
        switch ((flags >> 3) & 3) {
        case 0:
            lua_pushlstring(L, parts[2], lens[2]);
            break;
        case 1:
            lua_pushcfunction(L, fz_repl_fn);
            break;
        case 2:
            lua_createtable(L, 2, 4);
            lua_pushliteral(L, "A");
            lua_setfield(L, -2, "a");
            lua_pushboolean(L, 0);
            lua_setfield(L, -2, "b");
            lua_newtable(L);
            lua_setfield(L, -2, "c");
            lua_pushliteral(L, "E");
            lua_setfield(L, -2, "");
            lua_pushliteral(L, "one");
            lua_rawseti(L, -2, 1);
            break;
        default:
            lua_pushinteger(L, 7);
            break;
        }
        nargs++;
        if (flags & 0x20) {
            lua_pushinteger(L, max);
            nargs++;
        }
    } else if (init != 0) {
        lua_pushinteger(L, init);
        nargs++;
        if (op == 0 && (flags & 4)) {
            lua_pushboolean(L, 1);
            nargs++;
        }
    }
    fz_fn.current = own ? &fz_inv : NULL;
    fz_inv.killed = 0;
    fz_inv.deadline_ns = uv_hrtime() + FZ_DEADLINE_NS;
    int rc = lua_pcall(L, nargs, 0, 0);
    fz_fn.current = NULL;
    int killed = fz_inv.killed;
    fz_inv.killed = 0;
    if (rc == LUA_OK) return 0;
    if (killed) {
        if (lua_type(L, -1) != LUA_TLIGHTUSERDATA) abort(); /* the sentinel, nothing else */
        return 2;
    }
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    if (!msg) abort(); /* the matcher raises strings only */
    o->len = len < sizeof o->text ? len : sizeof o->text;
    memcpy(o->text, msg, o->len);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_out_t mine, lua;
    if (!fz_L) fz_setup();
    if (size < 3) return 0;
    int flags = data[0], op = flags & 3;
    int init = (int8_t)data[1], max = (int8_t)data[2];
    const char *parts[3] = {"", "", ""};
    size_t lens[3] = {0, 0, 0};
    const char *rest = (const char *)data + 3, *end = (const char *)data + size;
    for (int i = 0; i < 3 && rest <= end; i++) {
        const char *sep = i < 2 ? memchr(rest, 0xFF, (size_t)(end - rest)) : NULL;
        parts[i] = rest;
        lens[i] = (size_t)((sep ? sep : end) - rest);
        if (!sep) break;
        rest = sep + 1;
    }
    int rc = fz_call(1, op, flags, parts, lens, init, max, &mine);
    if (rc == 2 || lens[0] > FZ_SHORT || lens[1] > FZ_SHORT) return 0;
    int rc_lua = fz_call(0, op, flags, parts, lens, init, max, &lua);
    if (rc != rc_lua || mine.len != lua.len || memcmp(mine.text, lua.text, mine.len) != 0) {
        fprintf(stderr,
                "fuzz_pattern: %s differs from Lua's (%d/%d)\n  verge: %.*s\n  lua:   %.*s\n",
                fz_names[op], rc, rc_lua, (int)mine.len, mine.text, (int)lua.len, lua.text);
        abort();
    }
    return 0;
}
