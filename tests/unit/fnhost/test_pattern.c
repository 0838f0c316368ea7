/* test_pattern.c: verge's own string.find/match/gmatch/gsub (runtime/fnhost/pattern.c) against
 * Lua 5.4's. Every case runs in a plain state with Lua's string library and in a state built by
 * the sandbox (whose string table and string metatable hold verge's functions); the returns,
 * the captures, the gsub counts, the replacement callbacks' arguments and the error messages
 * must be identical. Hand-written cases cover every feature; a fixed-seed generator adds
 * thousands of small random patterns and subjects. */
#include "vg_test.h"

#include "fnhost/fnhost_int.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The driver: runs one case and describes everything it saw as one string. The same text runs
 * in both states (in the sandbox's env there). */
static const char driver_code[] =
    "local op, s, p, a3, a4, rk = ...\n"
    "local function ser(...)\n"
    "  local out = {tostring(select('#', ...))}\n"
    "  for i = 1, select('#', ...) do\n"
    "    local v = select(i, ...)\n"
    "    if type(v) == 'string' then out[#out + 1] = 's' .. #v .. ':' .. v\n"
    "    else out[#out + 1] = type(v):sub(1, 1) .. tostring(v) end\n"
    "  end\n"
    "  return table.concat(out, '|')\n"
    "end\n"
    "local log = {}\n"
    "local tab = {a = '[A]', b = false, ab = 'AB', [1] = 'one', [3] = 'three', x = 12,\n"
    "             ['('] = 'paren', [''] = 'empty', c = {}}\n"
    "local repls = {\n"
    "  fun = function(...) log[#log + 1] = ser(...)\n"
    "    local a = ...\n"
    "    if a == 'b' then return false elseif a == 'c' then return nil\n"
    "    elseif a == 'd' then return 7 elseif a == 'e' then return 1.5 end\n"
    "    return '<' .. tostring(a) .. '>' end,\n"
    "  badval = function() return {} end,\n"
    "  err = function(c) error('boom ' .. tostring(c)) end,\n"
    "  nest = function(c) return (string.gsub(c, '.', '%0%0')) .. (('x' .. c):match('x(.*)'))\n"
    "    end,\n"
    "  tab = tab, num = 42, float = 2.5, bool = true,\n"
    "}\n"
    "local ok, a, b, c\n"
    "if op == 'find' then ok, a = pcall(function() return ser(s:find(p, a3, a4)) end)\n"
    "elseif op == 'sfind' then ok, a = pcall(function() return ser(string.find(s, p, a3, a4))"
    " end)\n"
    "elseif op == 'match' then ok, a = pcall(function() return ser(string.match(s, p, a3)) end)\n"
    "elseif op == 'mmatch' then ok, a = pcall(function() return ser(s:match(p, a3)) end)\n"
    "elseif op == 'gmatch' then ok, a = pcall(function()\n"
    "    local out, it = {}, string.gmatch(s, p, a3)\n"
    "    for i = 1, 1000 do\n"
    "      local r = table.pack(it())\n"
    "      out[#out + 1] = ser(table.unpack(r, 1, r.n))\n"
    "      if r[1] == nil then break end\n"
    "    end\n"
    "    return table.concat(out, ';') end)\n"
    "elseif op == 'gsub' then ok, a = pcall(function()\n"
    "    local r = a3 if rk then r = repls[rk] end\n"
    "    return ser(string.gsub(s, p, r, a4)) end)\n"
    "elseif op == 'mgsub' then ok, a = pcall(function()\n"
    "    local r = a3 if rk then r = repls[rk] end\n"
    "    return ser(s:gsub(p, r, a4)) end)\n"
    "else error('unknown op ' .. op) end\n"
    "return (ok and 'ok ' or 'error ') .. tostring(a) .. ' #' .. table.concat(log, ';')\n";

typedef struct pcase {
    const char *op; /* find (as a method), sfind, match, mmatch (method), gmatch, gsub, mgsub */
    const char *s;
    const char *p;
    const char *a3; /* a Lua literal or NULL: init (find, match, gmatch) or the replacement */
    const char *a4; /* plain (find) or max (gsub) */
    const char *rk; /* gsub: a replacement from the driver's table instead of a3 */
    size_t slen;    /* 0: strlen(s) */
    size_t plen;    /* 0: strlen(p) */
} pcase_t;

typedef struct side {
    lua_State *L;
    int driver; /* registry ref */
} side_t;

/* A plain state with Lua's own libraries. */
static void side_ref(side_t *sd)
{
    sd->L = luaL_newstate();
    *(fnhost__fn_t **)lua_getextraspace(sd->L) = NULL;
    luaL_openlibs(sd->L);
    CHECK_EQ_INT(luaL_loadbuffer(sd->L, driver_code, sizeof driver_code - 1, "=driver"), 0);
    sd->driver = luaL_ref(sd->L, LUA_REGISTRYINDEX);
}

/* A state built by the sandbox; the driver runs in the function env. With no function behind
 * the state (extra space NULL) fnhost__tick never fires. */
static void side_sandbox(side_t *sd)
{
    lua_State *L = luaL_newstate();
    sd->L = L;
    *(fnhost__fn_t **)lua_getextraspace(L) = NULL;
    lua_pushcfunction(L, fnhost__sandbox_open);
    CHECK_EQ_INT(lua_pcall(L, 0, 0, 0), 0);
    CHECK_EQ_INT(luaL_loadbufferx(L, driver_code, sizeof driver_code - 1, "=driver", "t"), 0);
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    CHECK(lua_setupvalue(L, -2, 1) != NULL);
    sd->driver = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes the value of the Lua literal `lit` (nil when NULL). */
static void push_literal(lua_State *L, const char *lit)
{
    if (!lit) {
        lua_pushnil(L);
        return;
    }
    char code[256];
    snprintf(code, sizeof code, "return %s", lit);
    if (luaL_dostring(L, code) != LUA_OK) {
        fprintf(stderr, "  bad literal %s: %s\n", lit, lua_tostring(L, -1));
        CHECK(0);
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* Runs case c on one side; returns a malloc'd description. */
static char *side_run(side_t *sd, const pcase_t *c)
{
    lua_State *L = sd->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, sd->driver);
    lua_pushstring(L, c->op);
    lua_pushlstring(L, c->s, c->slen ? c->slen : strlen(c->s));
    lua_pushlstring(L, c->p, c->plen ? c->plen : strlen(c->p));
    push_literal(L, c->a3);
    push_literal(L, c->a4);
    if (c->rk)
        lua_pushstring(L, c->rk);
    else
        lua_pushnil(L);
    char *out;
    if (lua_pcall(L, 6, 1, 0) != LUA_OK) {
        const char *e = lua_tostring(L, -1);
        size_t n = strlen(e ? e : "?") + 16;
        out = malloc(n);
        snprintf(out, n, "driver: %s", e ? e : "?");
    } else {
        size_t n;
        const char *r = lua_tolstring(L, -1, &n);
        out = malloc(n + 1);
        memcpy(out, r, n);
        out[n] = 0;
    }
    lua_pop(L, 1);
    return out;
}

typedef struct tally {
    int cases, mismatches, ok, nomatch, errors;
} tally_t;

static void print_bytes(const char *what, const char *s, size_t n)
{
    fprintf(stderr, "%s\"", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 32 && ch < 127)
            fputc(ch, stderr);
        else
            fprintf(stderr, "\\%u", ch);
    }
    fprintf(stderr, "\" ");
}

static void compare(side_t *ref, side_t *sb, const pcase_t *c, tally_t *t)
{
    char *a = side_run(ref, c), *b = side_run(sb, c);
    t->cases++;
    if (strncmp(a, "driver", 6) == 0 || strcmp(a, b) != 0) {
        t->mismatches++;
        if (t->mismatches <= 20) {
            fprintf(stderr, "  mismatch: %s ", c->op);
            print_bytes("s=", c->s, c->slen ? c->slen : strlen(c->s));
            print_bytes("p=", c->p, c->plen ? c->plen : strlen(c->p));
            fprintf(stderr, "a3=%s a4=%s rk=%s\n    lua:   %s\n    verge: %s\n",
                    c->a3 ? c->a3 : "nil", c->a4 ? c->a4 : "nil", c->rk ? c->rk : "nil", a, b);
        }
    } else if (strncmp(a, "error", 5) == 0) {
        t->errors++;
    } else if (strcmp(a, "ok 1|nnil #") == 0 || strcmp(a, "ok 0 #") == 0 ||
               (strstr(c->op, "gsub") && strstr(a, "|n0 #"))) {
        t->nomatch++; /* fail, an empty gmatch, or no gsub replacement */
    } else {
        t->ok++;
    }
    free(a);
    free(b);
}

static void sides_open(side_t *ref, side_t *sb)
{
    side_ref(ref);
    side_sandbox(sb);
}

static void sides_close(side_t *ref, side_t *sb)
{
    lua_close(ref->L);
    lua_close(sb->L);
}

static void run_table(const pcase_t *cases, size_t n, tally_t *t)
{
    side_t ref, sb;
    sides_open(&ref, &sb);
    for (size_t i = 0; i < n; i++)
        compare(&ref, &sb, &cases[i], t);
    sides_close(&ref, &sb);
}

/* ---- the functions are installed -------------------------------------------------------- */

static void test_sandbox_installs_own_functions(void)
{
    side_t sb;
    side_sandbox(&sb);
    lua_State *L = sb.L;
    static const struct {
        const char *name;
        lua_CFunction fn;
    } own[] = {{"find", fnhost__str_find},
               {"match", fnhost__str_match},
               {"gmatch", fnhost__str_gmatch},
               {"gsub", fnhost__str_gsub}};
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    lua_getfield(L, -1, "string");
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        lua_getfield(L, -1, own[i].name); /* through the proxy */
        CHECK(lua_tocfunction(L, -1) == own[i].fn);
        lua_pop(L, 1);
        lua_pushliteral(L, "x"); /* the string metatable's __index */
        lua_getfield(L, -1, own[i].name);
        CHECK(lua_tocfunction(L, -1) == own[i].fn);
        lua_pop(L, 2);
    }
    lua_pop(L, 2);
    lua_close(L);
}

/* ---- hand-written cases ----------------------------------------------------------------- */

/* clang-format off */
#define FIND(S, P, ...)   {.op = "find", .s = S, .p = P, __VA_ARGS__}
#define SFIND(S, P, ...)  {.op = "sfind", .s = S, .p = P, __VA_ARGS__}
#define MATCH(S, P, ...)  {.op = "match", .s = S, .p = P, __VA_ARGS__}
#define MMATCH(S, P, ...) {.op = "mmatch", .s = S, .p = P, __VA_ARGS__}
#define GMATCH(S, P, ...) {.op = "gmatch", .s = S, .p = P, __VA_ARGS__}
#define GSUB(S, P, ...)   {.op = "gsub", .s = S, .p = P, __VA_ARGS__}
#define MGSUB(S, P, ...)  {.op = "mgsub", .s = S, .p = P, __VA_ARGS__}
/* with embedded NULs: literal arrays, their sizes */
#define ZCASE(O, S, P, ...) \
    {.op = O, .s = S, .slen = sizeof S - 1, .plen = sizeof P - 1, .p = P, __VA_ARGS__}
/* clang-format on */

static const pcase_t classes_cases[] = {
    MATCH("hello World 42!", "%a+"),
    MATCH("hello World 42!", "%A+"),
    MATCH("\1\2abc", "%c+"),
    MATCH("abc\1\2", "%C+"),
    MATCH("x 123 y", "%d+"),
    MATCH("123 y", "%D+"),
    MATCH("  \t a!b", "%g+"),
    MATCH("ab c", "%G+"),
    MATCH("ABcdE", "%l+"),
    MATCH("abCDe", "%L+"),
    MATCH("ab,.;!c", "%p+"),
    MATCH(",.ab;", "%P+"),
    MATCH("ab \t\n\r\v\fc", "%s+"),
    MATCH("  ab c", "%S+"),
    MATCH("abCDe", "%u+"),
    MATCH("ABcdE", "%U+"),
    MATCH("  ab_12 ", "%w+"),
    MATCH("ab  _12", "%W+"),
    MATCH("zz0x1fAg", "%x+"),
    MATCH("1fAgz", "%X+"),
    MATCH("a.b", "%."),
    MATCH("a%b", "%%"),
    MATCH("a]b", "%]"),
    MATCH("a-b", "%-"),
    MATCH("q", "%q"), /* a non-class letter stands for itself */
    MATCH("Q", "%Q"),
    MATCH("z", "%z"),
    MATCH("a b", "."),
    MATCH("", "."),
    MATCH("\200\377abc", "%A+"),
    ZCASE("match", "a\0b", "%z"),
    ZCASE("match", "a\0b", "%Z+"),
    ZCASE("match", "a\0b\0", "%c"),
    ZCASE("find", "ab\0cd", "\0c"),
    ZCASE("find", "ab\0cd", "[\0]"),
    ZCASE("find", "ab\0cd", "%\0"),
    ZCASE("match", "ab\0\0cd", "(\0+)"),
    ZCASE("gsub", "a\0b\0", "\0", "'-'"),
    ZCASE("find", "a\0b.c", "\0b.", NULL, "true"),
    ZCASE("find", "a\0b.c", ".", NULL, "true"),
};

static const pcase_t set_cases[] = {
    MATCH("hello", "[aeiou]+"), MATCH("hello", "[^aeiou]+"),
    MATCH("x7y", "[0-9]"),      MATCH("abcxyz", "[b-y]+"),
    MATCH("a-b", "[a-]+"),      MATCH("a-b", "[-a]+"),
    MATCH("a-z", "[%a-]+"),     MATCH("]]a", "[]]+"),
    MATCH("a]]", "[^]]+"),      MATCH("^^a", "[^^]+"),
    MATCH("a^b", "[b^]+"),      MATCH("x%y", "[%%]"),
    MATCH("x]y", "[%]]"),       MATCH("x[y", "[[]"),
    MATCH("ab12_", "[%d_]+"),   MATCH("ab12_", "[^%d]+"),
    MATCH("AbC", "[%u%l]+"),    MATCH("z-a", "[z-a]"), /* an empty range */
    MATCH("a-c", "[a-]"),       MATCH("abc", "[a-c-e]+"),
    MATCH("e-", "[a-c-e]+"),    MATCH("\200\201\377", "[\200-\377]+"),
    MATCH(" x ", "[%s]*x"),     MATCH("abc", "[]"),
    MATCH("abc", "[^]"),        MATCH("abc", "[a"),
    MATCH("abc", "[a%"),        MATCH("abc", "[%"),
    MATCH("abc", "["),          MATCH("abc", "[^"),
    MATCH("a]", "[a]]"),        MATCH("%]", "[%]"),
    MATCH("ab", "[a-%d]+"),
};

static const pcase_t quant_cases[] = {
    MATCH("aaab", "a*"),
    MATCH("aaab", "a*b"),
    MATCH("b", "a*b"),
    MATCH("aaab", "a+"),
    MATCH("b", "a+"),
    MATCH("aaab", "a-b"),
    MATCH("aaab", "a-"),
    MATCH("aaab", "(a-)(a*)b"),
    MATCH("ab", "a?b"),
    MATCH("b", "a?b"),
    MATCH("aab", "a?ab"),
    MATCH("a", "a?a?a?a"),
    MATCH("<<a>>", "<(.*)>"),
    MATCH("<<a>>", "<(.-)>"),
    MATCH("one two", "(%a+) (%a+)"),
    MATCH("key = value", "^(%w+)%s*=%s*(%w+)$"),
    MATCH("2024-01-02", "(%d+)-(%d+)-(%d+)"),
    MATCH("x", "x*?"),
    MATCH("x+", "x++"),
    MATCH("*a", "*a"),
    MATCH("+a", "+a"),
    MATCH("?a", "?a"),
    MATCH("-a", "-a"),
    MATCH("abc", ".-$"),
    MATCH("abc", ".-c"),
    MATCH("abc", "[abc]-c"),
    MATCH("aaa", "%a-a"),
    MATCH("aaaa", ".*.*a"),
    MATCH("abcabc", "(.+)%1"),
    MATCH("abcab", "(.+)%1"),
    FIND("xaaay", "a*"),
    FIND("xaaay", "a+"),
    FIND("xaaay", "a-y"),
    FIND("", "a*"),
    FIND("", ".-"),
};

static const pcase_t anchor_cases[] = {
    FIND("abc", "^a"),
    FIND("abc", "^b"),
    FIND("abc", "^b", "2"),
    FIND("abc", "c$"),
    FIND("abc", "b$"),
    FIND("abc", "^abc$"),
    FIND("abc", "^$"),
    FIND("", "^$"),
    FIND("a$b", "$b"),
    FIND("a$b", "a$b"),
    FIND("a^b", "a^b"),
    FIND("a^b", "^", "2"),
    FIND("abc", "$"),
    FIND("abc", "$$"),
    FIND("ab$", "%$$"),
    MATCH("abc", "^(a)(b)"),
    MATCH("abc", "()$"),
    MATCH("abc", "^"),
    MATCH("abc", ""),
    GSUB("abc", "^", "'>'"),
    GSUB("abc", "$", "'<'"),
    GSUB("aaa", "^a", "'b'"),
    GSUB("hello world", "^%s*(.-)%s*$", "'%1'"),
    GMATCH("^a^a", "^a"), /* no anchor in gmatch */
    GMATCH("aaa", "^a"),
    GMATCH("ab$", "b$"),
    GMATCH("ab", "$"),
};

static const pcase_t capture_cases[] = {
    MATCH("hello world", "(h)(e)(l)(l)(o)"),
    MATCH("hello", "()ll()"),
    MATCH("hello", "()"),
    FIND("hello", "()ll()"),
    FIND("hello", "(l)(l)"),
    FIND("hello", "l(l)()"),
    MATCH("abc", "((a)(b))"),
    MATCH("abc", "(a(b(c)))"),
    MATCH("abc", "a()b()c()"),
    MATCH("abab", "(ab)%1"),
    MATCH("abba", "(a)(b)%2%1"),
    MATCH("aa", "(a)%1%1"),
    MATCH("xyz", "(x)%2"),
    MATCH("xyz", "(x%1)"),
    MATCH("xyz", "%1"),
    MATCH("xyz", "%0"),
    MATCH("xyz", "()%1"),
    MATCH("xx", "(x)()%2"),
    MATCH("abc", "(a"),
    MATCH("abc", "a)"),
    MATCH("abc", "(a))"),
    MATCH("abc", "((a)"),
    FIND("abc", "(a"),
    FIND("abc", "(b"),
    GSUB("abc", "(b", "'x'"),
    MATCH("abc", "(()())"),
    MATCH("abcdefghijklmnopqrstuvwxyzABCDEF",
          "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(A)(B)("
          "C)(D)(E)(F)"),
    MATCH("abcdefghijklmnopqrstuvwxyzABCDEFG",
          "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(A)(B)("
          "C)(D)(E)(F)(G)"),
    MATCH("a", "()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()"),
    MATCH("a", "()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()()"),
    GSUB("hello world", "(o)", "'[%1]'"),
    GSUB("hello world", "o()", "'%1'"),
    GSUB("abc", "", "'-'"),
    GSUB("abc", ".", "'%0%0'"),
    GSUB("abc", "%w", "'%1'"),
    GSUB("abc", "%w", "'%2'"),
    GSUB("abc", "(%w)", "'%2'"),
    GSUB("abc", "(%w)", "'%9'"),
    GSUB("abc", "(b)(c)", "'%2%1'"),
    GSUB("abc", "(b)()", "'%2'"),
};

static const pcase_t special_cases[] = {
    MATCH("THE (quick) fox", "%b()"),
    MATCH("((a)(b))c", "%b()"),
    MATCH("((a)", "%b()"),
    MATCH("x[a[b]c]y", "%b[]"),
    MATCH("'abc' 'd'", "%b''"),
    MATCH("abc", "%b"),
    MATCH("abc", "%ba"),
    MATCH("(a)", "%b()$"),
    MATCH("f(a(b)c)d", "f(%b())d"),
    GSUB("f(x) g(y(z))", "%b()", "'[]'"),
    FIND("THE (quick) fox", "%f[%a]%a+"),
    FIND("THE (quick) fox", "%f[%A]", "2"),
    FIND("hello", "%f[%l]"),
    FIND("hello", "%f[%L]"),
    FIND("", "%f[%z]"),
    FIND("a", "%f[%z]"),
    FIND("a\200", "%f[\200]"),
    GSUB("THE (quick) brown fox", "%f[%a]%a+", "'W'"),
    GSUB("hello world from Lua", "%f[%w]%w+", "'<%0>'"),
    MATCH("abc", "%f"),
    MATCH("abc", "%fa"),
    MATCH("abc", "%f[a"),
    MATCH("abc", "%f[^a]"),
    MATCH("a%", "%"),
    MATCH("a%", "a%"),
    FIND("a%", "%"),
    FIND("a%", "%", NULL, "true"),
    GSUB("a", "%", "'x'"),
    GMATCH("a", "%"),
};

static const pcase_t init_cases[] = {
    FIND("hello", "l", "1"),
    FIND("hello", "l", "4"),
    FIND("hello", "l", "5"),
    FIND("hello", "l", "-1"),
    FIND("hello", "l", "-2"),
    FIND("hello", "l", "-100"),
    FIND("hello", "l", "0"),
    FIND("hello", "", "5"),
    FIND("hello", "", "6"),
    FIND("hello", "", "7"),
    FIND("hello", "", "100"),
    FIND("hello", "", "-100"),
    FIND("hello", "()", "6"),
    FIND("hello", "()", "7"),
    FIND("hello", "l", "9223372036854775807"),
    FIND("hello", "l", "-9223372036854775807 - 1"),
    FIND("hello", "l", "2.0"),
    FIND("hello", "l", "2.5"),
    FIND("hello", "l", "'3'"),
    FIND("hello", "l", "'x'"),
    FIND("hello", "l", "{}"),
    MATCH("hello", ".", "3"),
    MATCH("hello", ".", "-1"),
    MATCH("hello", ".", "6"),
    MATCH("hello", "()", "6"),
    MATCH("hello", "()", "7"),
    MATCH("hello", "^h", "2"),
    MATCH("hello", "^e", "2"),
    MMATCH("hello", "(l+)", "-3"),
    GMATCH("hello", ".", "3"),
    GMATCH("hello", ".", "-2"),
    GMATCH("hello", "", "5"),
    GMATCH("hello", "", "6"),
    GMATCH("hello", "", "7"),
    GMATCH("hello", "", "-100"),
    GMATCH("hello", ".", "9223372036854775807"),
    GMATCH("hello", ".", "2.5"),
};

static const pcase_t plain_cases[] = {
    FIND("a.b", ".", NULL, "true"),
    FIND("a.b", ".", NULL, "false"),
    FIND("a.b", ".", NULL, "nil"),
    FIND("a.b", ".", NULL, "1"),
    FIND("a.b", ".", NULL, "0"),
    FIND("a+b(c)", "+b(", NULL, "true"),
    FIND("a+b(c)", "+b(", "3", "true"),
    FIND("a+b(c)", "+b(", "-4", "true"),
    FIND("a+b", "", "2", "true"),
    FIND("a+b", "", "4", "true"),
    FIND("a+b", "", "5", "true"),
    FIND("aaab", "aab"),
    FIND("aaab", "aab", "3"),
    FIND("abc", "abcd"),
    FIND("abc", "abc"),
    FIND("abc", "c", "3"),
    FIND("abc", "c", "4"),
    FIND("", ""),
    FIND("", "", "2"),
    FIND("x", "%", NULL, "true"),
    FIND("x[y", "[", NULL, "true"),
    FIND("x[y", "[y", "1", "false"),
    SFIND("hello world", "o w"),
    SFIND("hello world", "o", "6"),
    SFIND("hello", "l+"),
};

static const pcase_t gmatch_cases[] = {
    GMATCH("hello world from Lua", "%a+"),
    GMATCH("k1=v1, k2=v2", "(%w+)=(%w+)"),
    GMATCH("abc", ""),
    GMATCH("abc", "()"),
    GMATCH("abc", ".-"),
    GMATCH("abc", "a*"),
    GMATCH("aaa", "a-"),
    GMATCH("a,b,,c", "([^,]*)"),
    GMATCH("one two", "%a*"),
    GMATCH("", ""),
    GMATCH("", "x"),
    GMATCH("xax", "()a()"),
    GMATCH("abc", "(a"),
    GMATCH("abc", "a)"),
    GMATCH("abc", "[a"),
    GMATCH("(a)(b)", "%b()"),
    GMATCH("THE (quick) fox", "%f[%a]%a+"),
    GMATCH("abab", "(a)(b)%1"),
};

static const pcase_t gsub_cases[] = {
    GSUB("hello world", "o", "'0'"),
    GSUB("hello world", "o", "'0'", "1"),
    GSUB("hello world", "o", "'0'", "0"),
    GSUB("hello world", "o", "'0'", "-1"),
    GSUB("hello world", "o", "'0'", "2.0"),
    GSUB("hello world", "o", "'0'", "1.5"),
    GSUB("hello world", "o", "'0'", "'2'"),
    GSUB("hello world", "o", "'0'", "'z'"),
    GSUB("hello world", "(o)", "'%%%1%%'"),
    GSUB("hello world", "o", "'%'"),
    GSUB("hello world", "o", "'%x'"),
    GSUB("hello world", "o", "'a%'"),
    GSUB("hello", "l", "5"),
    GSUB("hello", "l", "5.5"),
    GSUB("hello", "l", NULL, NULL, "num"),
    GSUB("hello", "l", NULL, NULL, "float"),
    GSUB("hello", "l", NULL, NULL, "bool"),
    GSUB("hello", "l", NULL),
    GSUB("hello", "l"),
    GSUB("hello", "l", NULL, "'x'", "bool"),
    GSUB("abcde", "%w", NULL, NULL, "fun"),
    GSUB("abcde", "(%w)", NULL, NULL, "fun"),
    GSUB("abcde", "(%w)()", NULL, NULL, "fun"),
    GSUB("abcde", "()(%w)", NULL, NULL, "fun"),
    GSUB("abcde", "%w", NULL, "2", "fun"),
    GSUB("abcde", "", NULL, NULL, "fun"),
    GSUB("abcde", "(", NULL, NULL, "fun"),
    GSUB("a b c", "%w", NULL, NULL, "tab"),
    GSUB("a b c ab", "%w+", NULL, NULL, "tab"),
    GSUB("abc", "()", NULL, NULL, "tab"),
    GSUB("abc", "(b)(c)", NULL, NULL, "tab"),
    GSUB("x y", "%w", NULL, NULL, "tab"),
    GSUB("c", "%w", NULL, NULL, "tab"),
    GSUB("()", "%(", NULL, NULL, "tab"),
    GSUB("abc", "", NULL, NULL, "tab"),
    GSUB("abc", "%w", NULL, NULL, "badval"),
    GSUB("abc", "%w", NULL, NULL, "err"),
    GSUB("abc", "%w", NULL, NULL, "nest"),
    GSUB("abc", "%w+", NULL, NULL, "nest"),
    GSUB("abc", "%w", "'x'", "nil"),
    GSUB("", "", "'x'"),
    GSUB("", "x*", "'-'"),
    GSUB("abc", "x*", "'-'"),
    GSUB("abc", ".-", "'-'"),
    GSUB("abc", "b*", "'-'"),
    GSUB("abc", "b*", "'-'", "2"),
    GSUB("hello world", "(%w+)", "'<%1>'"),
    GSUB("hello world", "%w+", "'%0 %0'", "1"),
    GSUB("hello world", "(%w+) (%w+)", "'%2 %1'"),
    GSUB("$name is $age", "%$(%w+)", NULL, NULL, "tab"),
    GSUB("  trim me  ", "^%s*(.-)%s*$", "'%1'"),
    GSUB("abc", "%w", "'%0%1'"),
    MGSUB("abc", "b", "'B'"),
    MGSUB("abc", "(b)", NULL, NULL, "fun"),
};

static const pcase_t error_arg_cases[] = {
    FIND("abc", "b", "nil", "true"), SFIND("abc", "b", "1", "true"), MATCH("abc", "b", "true"),
    GMATCH("abc", "b", "true"),      GSUB("abc", "b", "{}", "true"), GSUB("abc", "b", "true", "1"),
    GSUB("abc", "b", "true", "1.5"), SFIND("abc", "b", "1", "2"),
};

static void test_hand_written_cases(void)
{
    static const struct {
        const char *name;
        const pcase_t *cases;
        size_t n;
    } groups[] = {
#define GROUP(a) {#a, a, sizeof a / sizeof a[0]}
        GROUP(classes_cases), GROUP(set_cases),     GROUP(quant_cases),     GROUP(anchor_cases),
        GROUP(capture_cases), GROUP(special_cases), GROUP(init_cases),      GROUP(plain_cases),
        GROUP(gmatch_cases),  GROUP(gsub_cases),    GROUP(error_arg_cases),
#undef GROUP
    };
    tally_t all = {0};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        tally_t t = {0};
        run_table(groups[g].cases, groups[g].n, &t);
        if (t.mismatches) fprintf(stderr, "  %s: %d mismatches\n", groups[g].name, t.mismatches);
        all.cases += t.cases;
        all.mismatches += t.mismatches;
        all.ok += t.ok;
        all.errors += t.errors;
        all.nomatch += t.nomatch;
    }
    printf("  hand-written: %d cases, %d matched, %d without a match, %d errors, %d mismatches\n",
           all.cases, all.ok, all.nomatch, all.errors, all.mismatches);
    CHECK_EQ_INT(all.mismatches, 0);
    CHECK(all.cases > 300);
    CHECK(all.errors > 40); /* the error paths are compared too */
}

/* ---- the recursion bound ---------------------------------------------------------------- */

/* Patterns around MAXCCALLS (200) nested matcher calls: the same ones fail with "pattern too
 * complex" in both, and nothing overflows. */
static void test_depth_bound_same_as_lua(void)
{
    side_t ref, sb;
    sides_open(&ref, &sb);
    tally_t t = {0};
    static char subj[512], pat[1024], pat2[1024], pat3[2048], subj3[512];
    for (int k = 190; k <= 210; k++) {
        memset(subj, 'a', (size_t)k);
        subj[k] = 0;
        for (int i = 0; i < k; i++)
            memcpy(pat + 2 * i, "a?", 2);
        pat[2 * k] = 0;
        for (int i = 0; i < k; i++)
            memcpy(pat2 + 2 * i, "a*", 2);
        pat2[2 * k] = 0;
        for (int i = 0; i < k; i++) /* %b and a lazy item per level */
            memcpy(pat3 + 5 * i, "%b()-", 5);
        pat3[5 * k] = 0;
        for (int i = 0; i < k; i++)
            memcpy(subj3 + 2 * i, "()", 2);
        subj3[2 * k] = 0;
        const pcase_t cases[] = {
            MATCH(subj, pat),       FIND(subj, pat),
            GSUB(subj, pat, "'x'"), GMATCH(subj, pat),
            MATCH(subj, pat2),      MATCH(subj3, pat3),
            FIND(subj3, "%b()"),    GSUB(subj3, "%b()", "'x'"),
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            compare(&ref, &sb, &cases[i], &t);
    }
    printf("  depth: %d cases, %d errors, %d mismatches\n", t.cases, t.errors, t.mismatches);
    CHECK_EQ_INT(t.mismatches, 0);
    CHECK(t.errors > 20 && t.ok > 20); /* both sides of the bound were reached */
    /* and the message is Lua's */
    lua_State *L = sb.L;
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    const char *code = "local ok, e = pcall(string.match, ('a'):rep(300), ('a?'):rep(300)) "
                       "return e";
    CHECK_EQ_INT(luaL_loadbufferx(L, code, strlen(code), "=t", "t"), 0);
    lua_pushvalue(L, -2);
    lua_setupvalue(L, -2, 1);
    CHECK_EQ_INT(lua_pcall(L, 0, 1, 0), 0);
    CHECK_EQ_STR(lua_tostring(L, -1), "pattern too complex");
    lua_pop(L, 2);
    sides_close(&ref, &sb);
}

/* ---- random cases ----------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng(void) /* xorshift64*, fixed seed: the same cases every run */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

#define PICK(arr) arr[rng() % (sizeof arr / sizeof arr[0])]

static void test_random_cases(void)
{
    static const char *const atoms[] = {
        "a",    "b",    "x",     ".",      "%a",     "%d",    "%s",    "%w",   "%p",  "%A",
        "[ab]", "[^a]", "[a-c]", "[%a_]",  "[]a]",   "[^%d]", "(",     ")",    "()",  "%1",
        "%2",   "%b()", "%b''",  "%f[%w]", "%f[%W]", "*",     "+",     "-",    "?",   "^",
        "$",    "%",    "[",     "]",      "%%",     "%.",    "(a)",   "(.-)", "a*",  "b+",
        ".-",   "%d+",  "a?",    "%0",     "%bab",   "%f[a]", "[%]]",  "[^]]", "(()", "%z",
        "a",    "a",    "b",     ".",      ".*",     "%w*",   "[ab]*", "a-",   "%a+", "(a*)"};
    static const char subj_chars[] = "aaaabbbc()x1 _.%'\n";
    static const char *const inits[] = {NULL, NULL, NULL, "1", "2", "-1", "-3", "0", "20", "4"};
    static const char *const repls[] = {"'%0'",     "'<%1>'", "'x'", "'%%'",     "'%2'",
                                        "'{%1%2}'", "''",     "'%'", "'a%1b%0'", "3"};
    static const char *const rkinds[] = {"fun", "tab", "nest"};
    static const char *const maxes[] = {NULL, NULL, NULL, "1", "2", "0"};
    static const char *const ops[] = {"find", "match", "gmatch", "gsub"};
    side_t ref, sb;
    sides_open(&ref, &sb);
    tally_t t = {0};
    char pat[128], subj[32];
    for (int n = 0; n < 20000; n++) {
        size_t pl = 0;
        int natoms = 1 + (int)(rng() % 4);
        for (int i = 0; i < natoms; i++) {
            const char *a = PICK(atoms);
            size_t al = strlen(a);
            memcpy(pat + pl, a, al);
            pl += al;
        }
        pat[pl] = 0;
        size_t sl = rng() % 13;
        for (size_t i = 0; i < sl; i++)
            subj[i] = subj_chars[rng() % (sizeof subj_chars - 1)];
        subj[sl] = 0;
        pcase_t c = {.op = ops[n % 4], .s = subj, .slen = 0, .p = pat};
        if (sl == 0) c.s = "";
        if (n % 4 == 3) { /* gsub */
            if (rng() % 4 == 0)
                c.rk = PICK(rkinds);
            else
                c.a3 = PICK(repls);
            c.a4 = PICK(maxes);
        } else {
            c.a3 = PICK(inits);
            if (n % 4 == 0 && rng() % 5 == 0) c.a4 = "true";
        }
        compare(&ref, &sb, &c, &t);
    }
    printf("  random: %d cases, %d matched, %d without a match, %d errors, %d mismatches\n",
           t.cases, t.ok, t.nomatch, t.errors, t.mismatches);
    CHECK_EQ_INT(t.mismatches, 0);
    CHECK(t.ok > 3500 && t.nomatch > 5000 && t.errors > 1000); /* every outcome is seen */
    sides_close(&ref, &sb);
}

/* Long subjects: the budget and deadline checks run (no function: they never fire) and the
 * results still agree. */
static void test_long_subjects(void)
{
    side_t ref, sb;
    sides_open(&ref, &sb);
    tally_t t = {0};
    size_t n = 20000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = "ab (c)d, e1 "[i % 12];
    s[n] = 0;
    const pcase_t cases[] = {
        FIND(s, "%d%s*$"),
        FIND(s, "c%)d, e1 a"),
        FIND(s, "zz"),
        MATCH(s, "(.*)e(.-)$"),
        MATCH(s, "^(.-)%b()"),
        GMATCH(s, "%b()"),
        GSUB(s, "%w+", "'<%0>'"),
        GSUB(s, "%s", "''"),
        GSUB(s, "%f[%w]%w", NULL, NULL, "fun"),
        GSUB(s, "()", "'%1'", "100"),
        MATCH(s, "^(.-)%1"),
        FIND(s, "e1 (a)b %(c%)d, e1 %1", "-100"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        compare(&ref, &sb, &cases[i], &t);
    CHECK_EQ_INT(t.mismatches, 0);
    free(s);
    sides_close(&ref, &sb);
}

/* ---- speed ------------------------------------------------------------------------------ */

/* Times ordinary patterns on both sides and prints the ratios. A loose bound catches a
 * matcher that went quadratic; the real figures come from a Release build with
 * PATTERN_BENCH=1 (more rounds). */
static double time_side(side_t *sd, const char *code, int rounds)
{
    lua_State *L = sd->L;
    CHECK_EQ_INT(luaL_loadbufferx(L, code, strlen(code), "=bench", "t"), 0);
    lua_rawgetp(L, LUA_REGISTRYINDEX, fnhost__env_key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
    } else {
        lua_setupvalue(L, -2, 1);
    }
    lua_pushinteger(L, rounds);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = lua_pcall(L, 1, 1, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (rc != LUA_OK) fprintf(stderr, "  bench: %s\n", lua_tostring(L, -1));
    CHECK_EQ_INT(rc, 0);
    lua_pop(L, 1);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void test_speed_against_lua(void)
{
    static const struct {
        const char *name, *code;
    } benches[] = {
        {"find plain word in 4 KiB",
         "local s = ('lorem ipsum dolor sit amet, '):rep(150) .. 'needle' local n = ... "
         "local x for i = 1, n do x = s:find('needle') end return x"},
        {"find %d+%.%d+ in a log line",
         "local s = '2024-05-01 12:00:01 INFO temperature=21.5 humidity=40' local n = ... "
         "local x for i = 1, n do x = s:find('%d+%.%d+') end return x"},
        {"match ^(%w+)=(%w+)$",
         "local n = ... local a for i = 1, n do a = ('threshold=42'):match('^(%w+)=(%w+)$') end "
         "return a"},
        {"match JSON-ish key",
         "local s = '{\"productKey\":\"a1B2c3\",\"deviceName\":\"lamp\"}' local n = ... "
         "local a for i = 1, n do a = s:match('\"deviceName\":\"([^\"]*)\"') end return a"},
        {"gsub %s+ -> ' ' on 1 KiB",
         "local s = ('a  b\\t\\tc   d '):rep(80) local n = ... "
         "local x for i = 1, n / 10 do x = s:gsub('%s+', ' ') end return x"},
        {"gsub (%w+) -> <%1> on 1 KiB",
         "local s = ('word1 word2, word3; '):rep(50) local n = ... "
         "local x for i = 1, n / 10 do x = s:gsub('(%w+)', '<%1>') end return x"},
        {"gmatch %a+ word count",
         "local s = ('the quick brown fox jumps '):rep(40) local n = ... local c = 0 "
         "for i = 1, n / 10 do for w in s:gmatch('%a+') do c = c + 1 end end return c"},
        {"trim ^%s*(.-)%s*$", "local s = '   some value with spaces   ' local n = ... local x "
                              "for i = 1, n do x = s:match('^%s*(.-)%s*$') end return x"},
    };
    int rounds = getenv("PATTERN_BENCH") ? 200000 : 5000;
    side_t ref, sb;
    sides_open(&ref, &sb);
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        double best_ref = 1e9, best_sb = 1e9;
        for (int r = 0; r < 3; r++) {
            double a = time_side(&ref, benches[i].code, rounds);
            double b = time_side(&sb, benches[i].code, rounds);
            if (a < best_ref) best_ref = a;
            if (b < best_sb) best_sb = b;
        }
        double ratio = best_sb / (best_ref > 1e-9 ? best_ref : 1e-9);
        printf("  speed %-32s lua %8.2f ms  verge %8.2f ms  ratio %.2f\n", benches[i].name,
               best_ref * 1e3, best_sb * 1e3, ratio);
        CHECK(ratio < 25.0); /* loose: this build may be Debug + ASan, Lua's library is not */
    }
    sides_close(&ref, &sb);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_sandbox_installs_own_functions)
    VG_TEST(test_hand_written_cases)
    VG_TEST(test_depth_bound_same_as_lua)
    VG_TEST(test_random_cases)
    VG_TEST(test_long_subjects)
    VG_TEST(test_speed_against_lua)
)
/* clang-format on */
