/* pattern.c: string.find, match, gmatch and gsub for functions. Lua 5.4's pattern semantics
 * (reference manual §6.4.1) in a matcher of verge's own that counts its steps and checks the
 * invocation's deadline every PAT_TICK_STEPS, so that a backtracking pattern cannot hold the
 * loop: Lua's own matcher backtracks in C, where the count hook never runs.
 *
 * The matcher is a backtracking interpreter over the pattern text. Everything it keeps lives on
 * the C stack or in Lua-managed memory (gmatch's userdata, gsub's luaL_Buffer), so a Lua error
 * (a limit, a replacement function failing) can unwind through it at any point. Its recursion
 * is bounded by PAT_MAXDEPTH, as Lua's is by MAXCCALLS, and the same patterns exceed it. */
#include "fnhost/fnhost_int.h"

#include <ctype.h>
#include <string.h>

#define PAT_MAXCAPTURES 32   /* as Lua's LUA_MAXCAPTURES */
#define PAT_MAXDEPTH    200  /* nested matcher calls, as Lua's MAXCCALLS */
#define PAT_TICK_STEPS  4096 /* steps between deadline checks */
#define PAT_ESC         '%'

/* Capture lengths that are not lengths. */
#define PAT_CAP_OPEN (-1) /* started, not closed yet */
#define PAT_CAP_POS  (-2) /* a position capture "()" */

typedef struct pat_cap {
    const char *at;
    ptrdiff_t len; /* or PAT_CAP_OPEN / PAT_CAP_POS */
} pat_cap_t;

/* One match attempt's state. The pattern is a Lua string, so pat_end[0] is '\0' and may be
 * read; the same holds for src_end. */
typedef struct pat {
    lua_State *L;
    const char *src, *src_end; /* the whole subject (a frontier looks before the start) */
    const char *pat_end;
    size_t budget; /* steps left until the next deadline check */
    int depth;     /* nested calls left */
    int ncap;
    pat_cap_t cap[PAT_MAXCAPTURES];
} pat_t;

static void pat_init(pat_t *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
    m->budget = PAT_TICK_STEPS;
    m->depth = PAT_MAXDEPTH;
    m->ncap = 0;
}

/* Before each attempt at a new subject position. */
static void pat_reset(pat_t *m)
{
    m->ncap = 0;
    m->depth = PAT_MAXDEPTH;
}

/* Charges `n` steps; past the budget, checks the deadline (raises the limit sentinel when it
 * has passed, which nothing in the function can catch). */
static inline void pat_cost(pat_t *m, size_t n)
{
    if (n < m->budget) {
        m->budget -= n;
        return;
    }
    m->budget = PAT_TICK_STEPS;
    fnhost__tick(m->L);
}

/* ---- single characters ------------------------------------------------------------------ */

/* Whether c is in class `cl` (the letter after '%'); an upper-case class letter is the
 * complement. Any other character stands for itself. %z (the NUL byte) is deprecated since
 * Lua 5.2, but Lua 5.4 still has it. */
static int pat_class(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a':
        r = isalpha(c);
        break;
    case 'c':
        r = iscntrl(c);
        break;
    case 'd':
        r = isdigit(c);
        break;
    case 'g':
        r = isgraph(c);
        break;
    case 'l':
        r = islower(c);
        break;
    case 'p':
        r = ispunct(c);
        break;
    case 's':
        r = isspace(c);
        break;
    case 'u':
        r = isupper(c);
        break;
    case 'w':
        r = isalnum(c);
        break;
    case 'x':
        r = isxdigit(c);
        break;
    case 'z':
        r = c == 0;
        break;
    default:
        return cl == c;
    }
    return isupper(cl) ? !r : r != 0;
}

/* Whether c is in the set that starts at `p` (its '[') and whose ']' is at `last`. */
static int pat_in_set(int c, const char *p, const char *last)
{
    int in = 1;
    p++;
    if (*p == '^') {
        in = 0;
        p++;
    }
    for (; p < last; p++) {
        if (*p == PAT_ESC) {
            p++;
            if (pat_class(c, (unsigned char)*p)) return in;
        } else if (p[1] == '-' && p + 2 < last) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return in;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return in;
        }
    }
    return !in;
}

/* Where the single-character item at `p` ends (a quantifier may follow it there). Raises on
 * a '%' at the end or a set without its ']'. */
static const char *pat_item_end(pat_t *m, const char *p)
{
    char c = *p++;
    if (c == PAT_ESC) {
        if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (*p == '^') p++;
        do { /* the first character is a member even when it is ']' */
            if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == PAT_ESC && p < m->pat_end) p++;
        } while (*p != ']');
        return p + 1;
    }
    return p;
}

/* Whether the subject character at `s` (none at the end) matches the item p..ep. */
static inline int pat_single(pat_t *m, const char *s, const char *p, const char *ep)
{
    pat_cost(m, 1);
    if (s >= m->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.':
        return 1;
    case PAT_ESC:
        return pat_class(c, (unsigned char)p[1]);
    case '[':
        return pat_in_set(c, p, ep - 1);
    default:
        return (unsigned char)*p == c;
    }
}

/* ---- the matcher ------------------------------------------------------------------------ */

static const char *pat_match(pat_t *m, const char *s, const char *p);

/* item* and item+ : the item matched at s already; take the longest run, then give back one
 * character at a time down to s + min while the rest of the pattern fails. */
static const char *pat_greedy(pat_t *m, const char *s, const char *p, const char *ep, size_t min)
{
    size_t n;
    if (*p == '.') {
        n = (size_t)(m->src_end - s);
        pat_cost(m, n);
    } else {
        for (n = 1; pat_single(m, s + n, p, ep); n++)
            ;
    }
    for (;;) {
        const char *r = pat_match(m, s + n, ep + 1);
        if (r || n == min) return r;
        n--;
    }
}

/* item- : the rest of the pattern first, then one more repetition, as long as the item
 * matches. */
static const char *pat_lazy(pat_t *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = pat_match(m, s, ep + 1);
        if (r) return r;
        if (!pat_single(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *pat_open(pat_t *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->ncap >= PAT_MAXCAPTURES) luaL_error(m->L, "too many captures");
    pat_cap_t *c = &m->cap[m->ncap++];
    c->at = s;
    c->len = what;
    const char *r = pat_match(m, s, p);
    if (!r) m->ncap--;
    return r;
}

static const char *pat_close(pat_t *m, const char *s, const char *p)
{
    int i = m->ncap - 1;
    while (i >= 0 && m->cap[i].len != PAT_CAP_OPEN)
        i--;
    if (i < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[i].len = s - m->cap[i].at;
    const char *r = pat_match(m, s, p);
    if (!r) m->cap[i].len = PAT_CAP_OPEN;
    return r;
}

/* %1-%9 in a pattern: the text of a closed capture again (a position capture never matches). */
static const char *pat_backref(pat_t *m, const char *s, int digit)
{
    int i = digit - '1';
    if (i < 0 || i >= m->ncap || m->cap[i].len == PAT_CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", i + 1);
    if (m->cap[i].len == PAT_CAP_POS) return NULL;
    size_t len = (size_t)m->cap[i].len;
    pat_cost(m, len);
    if ((size_t)(m->src_end - s) < len || memcmp(m->cap[i].at, s, len) != 0) return NULL;
    return s + len;
}

/* %bxy at s (p points at x): the shortest balanced x...y. */
static const char *pat_balance(pat_t *m, const char *s, const char *p)
{
    if (p + 1 >= m->pat_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0]) return NULL;
    char open = p[0], close = p[1];
    size_t level = 1;
    for (const char *q = s + 1; q < m->src_end; q++) {
        if (*q == close) {
            if (--level == 0) {
                pat_cost(m, (size_t)(q - s));
                return q + 1;
            }
        } else if (*q == open) {
            level++;
        }
    }
    pat_cost(m, (size_t)(m->src_end - s));
    return NULL;
}

/* Matches the pattern from p against the subject from s: returns the end of the match, or
 * NULL. The single-character steps loop here; quantifiers and captures recurse. */
static const char *pat_run(pat_t *m, const char *s, const char *p)
{
    for (;;) {
        if (p >= m->pat_end) return s;
        switch (*p) {
        case '(':
            if (p[1] == ')') return pat_open(m, s, p + 2, PAT_CAP_POS);
            return pat_open(m, s, p + 1, PAT_CAP_OPEN);
        case ')':
            return pat_close(m, s, p + 1);
        case '$':
            if (p + 1 == m->pat_end) return s == m->src_end ? s : NULL;
            break; /* a '$' elsewhere is itself */
        case PAT_ESC:
            if (p[1] == 'b') {
                s = pat_balance(m, s, p + 2);
                if (!s) return NULL;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= m->pat_end || *p != '[')
                    luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = pat_item_end(m, p);
                int prev = s == m->src ? 0 : (unsigned char)s[-1];
                int cur = s < m->src_end ? (unsigned char)*s : 0;
                pat_cost(m, 1);
                if (pat_in_set(prev, p, ep - 1) || !pat_in_set(cur, p, ep - 1)) return NULL;
                p = ep;
                continue;
            }
            if (isdigit((unsigned char)p[1])) {
                s = pat_backref(m, s, p[1]);
                if (!s) return NULL;
                p += 2;
                continue;
            }
            break; /* a class */
        default:
            break;
        }
        /* a single-character item, and its quantifier if any */
        const char *ep = pat_item_end(m, p);
        int q = ep < m->pat_end ? *ep : 0;
        if (!pat_single(m, s, p, ep)) {
            if (q != '*' && q != '?' && q != '-') return NULL;
            p = ep + 1; /* zero repetitions */
            continue;
        }
        switch (q) {
        case '?': {
            const char *r = pat_match(m, s + 1, ep + 1);
            if (r) return r;
            p = ep + 1;
            continue;
        }
        case '*':
            return pat_greedy(m, s, p, ep, 0);
        case '+':
            return pat_greedy(m, s, p, ep, 1);
        case '-':
            return pat_lazy(m, s, p, ep);
        default:
            s++;
            p = ep;
            continue;
        }
    }
}

static const char *pat_match(pat_t *m, const char *s, const char *p)
{
    if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
    pat_cost(m, 1);
    s = pat_run(m, s, p);
    m->depth++;
    return s;
}

/* ---- captures --------------------------------------------------------------------------- */

/* Capture i of the match s..e: sets *at and returns its length; a position capture pushes
 * its position and returns PAT_CAP_POS. Capture 0 of a pattern without captures is the whole
 * match. */
static ptrdiff_t pat_get_cap(pat_t *m, int i, const char *s, const char *e, const char **at)
{
    if (i >= m->ncap) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *at = s;
        return e - s;
    }
    *at = m->cap[i].at;
    ptrdiff_t len = m->cap[i].len;
    if (len == PAT_CAP_OPEN) luaL_error(m->L, "unfinished capture");
    if (len == PAT_CAP_POS) lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->src) + 1);
    return len;
}

static void pat_push_cap(pat_t *m, int i, const char *s, const char *e)
{
    const char *at;
    ptrdiff_t len = pat_get_cap(m, i, s, e, &at);
    if (len != PAT_CAP_POS) lua_pushlstring(m->L, at, (size_t)len);
}

/* Pushes every capture (the whole match when there are none and s is set). Returns how many. */
static int pat_push_caps(pat_t *m, const char *s, const char *e)
{
    int n = m->ncap == 0 && s ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        pat_push_cap(m, i, s, e);
    return n;
}

/* ---- find and match --------------------------------------------------------------------- */

/* A 1-based start position from a relative one (negative: from the end), at least 1. */
static size_t pat_start(lua_Integer pos, size_t len)
{
    if (pos > 0) return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

/* Whether the pattern has none of the magic characters (find searches it as plain text). */
static int pat_is_plain(const char *p, size_t lp)
{
    static const char magic[] = "^$*+?.([%-";
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(magic, p[i])) return 0;
    return 1;
}

/* The first occurrence of p (lp bytes) in the subject from `from`, or NULL. memchr finds the
 * candidates (fast on ordinary text); each comparison is charged, so a needle that almost
 * matches everywhere ("aaa...ab" in "aaa...a") meets the deadline instead of running for
 * minutes. */
static const char *pat_plain_find(pat_t *m, const char *from, const char *p, size_t lp)
{
    if (lp == 0) return from;
    if (lp > (size_t)(m->src_end - from)) return NULL;
    const char *last = m->src_end - lp; /* the last start that fits */
    for (const char *at = from; at <= last; at++) {
        at = memchr(at, p[0], (size_t)(last - at) + 1);
        if (!at) return NULL;
        pat_cost(m, lp);
        if (memcmp(at + 1, p + 1, lp - 1) == 0) return at;
    }
    return NULL;
}

static int pat_find(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || pat_is_plain(p, lp))) {
        pat_t m;
        pat_init(&m, L, s, ls, p, lp);
        const char *hit = pat_plain_find(&m, s + init, p, lp);
        if (!hit) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
        return 2;
    }
    pat_t m;
    pat_init(&m, L, s, ls, p, lp);
    int anchor = *p == '^';
    if (anchor) p++;
    for (const char *at = s + init;; at++) {
        pat_reset(&m);
        const char *e = pat_match(&m, at, p);
        if (e) {
            if (!find) return pat_push_caps(&m, at, e);
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return pat_push_caps(&m, NULL, NULL) + 2;
        }
        if (anchor || at >= m.src_end) break;
    }
    luaL_pushfail(L);
    return 1;
}

int fnhost__str_find(lua_State *L)
{
    return pat_find(L, 1);
}

int fnhost__str_match(lua_State *L)
{
    return pat_find(L, 0);
}

/* ---- gmatch ----------------------------------------------------------------------------- */

/* The iterator's state, a userdata upvalue next to the subject and the pattern (which keep
 * the strings m points into alive). */
typedef struct pat_iter {
    pat_t m;
    const char *p;    /* the pattern ('^' is not an anchor here) */
    size_t pos;       /* where the next search starts; > the length when done */
    const char *last; /* the end of the last match: an empty match there is skipped */
} pat_iter_t;

static int pat_gmatch_next(lua_State *L)
{
    pat_iter_t *it = lua_touserdata(L, lua_upvalueindex(3));
    size_t len = (size_t)(it->m.src_end - it->m.src);
    it->m.L = L; /* the iterator may run in another coroutine than gmatch did */
    for (; it->pos <= len; it->pos++) {
        const char *at = it->m.src + it->pos;
        pat_reset(&it->m);
        const char *e = pat_match(&it->m, at, it->p);
        if (e && e != it->last) {
            it->pos = (size_t)(e - it->m.src);
            it->last = e;
            return pat_push_caps(&it->m, at, e);
        }
    }
    return 0;
}

int fnhost__str_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pat_start(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    pat_iter_t *it = lua_newuserdatauv(L, sizeof *it, 0);
    pat_init(&it->m, L, s, ls, p, lp);
    it->p = p;
    it->pos = init > ls ? ls + 1 : init;
    it->last = NULL;
    lua_pushcclosure(L, pat_gmatch_next, 3);
    return 1;
}

/* ---- gsub ------------------------------------------------------------------------------- */

/* Appends the replacement string (argument 3) for the match s..e: %0-%9 and %%. */
static void pat_add_string(pat_t *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *r = lua_tolstring(m->L, 3, &l), *end = r + l;
    pat_cost(m, l); /* "%1" repeated with empty captures is work without output */
    for (;;) {
        const char *pc = memchr(r, PAT_ESC, (size_t)(end - r));
        if (!pc) break;
        luaL_addlstring(b, r, (size_t)(pc - r));
        int c = pc + 1 < end ? (unsigned char)pc[1] : 0;
        if (c == PAT_ESC) {
            luaL_addchar(b, PAT_ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(c)) {
            const char *at;
            ptrdiff_t len = pat_get_cap(m, c - '1', s, e, &at);
            if (len == PAT_CAP_POS)
                luaL_addvalue(b); /* the position pushed */
            else
                luaL_addlstring(b, at, (size_t)len);
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", PAT_ESC);
        }
        r = pc + 2;
    }
    luaL_addlstring(b, r, (size_t)(end - r));
}

/* Appends the replacement of the match s..e for a replacement of Lua type `rt`. Returns 1
 * when it replaced, 0 when the table or function answered false or nil (the match is kept). */
static int pat_add_value(pat_t *m, luaL_Buffer *b, const char *s, const char *e, int rt)
{
    lua_State *L = m->L;
    if (rt == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = pat_push_caps(m, s, e);
        lua_call(L, n, 1); /* user code: the count hook watches it */
    } else if (rt == LUA_TTABLE) {
        pat_push_cap(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        pat_add_string(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

int fnhost__str_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int rt = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(
        L, rt == LUA_TNUMBER || rt == LUA_TSTRING || rt == LUA_TFUNCTION || rt == LUA_TTABLE, 3,
        "string/function/table");
    luaL_Buffer b; /* grows in the state's memory: the memory limit bounds the result */
    luaL_buffinit(L, &b);
    pat_t m;
    pat_init(&m, L, s, ls, p, lp);
    int anchor = *p == '^';
    if (anchor) p++;
    const char *at = s, *last = NULL;
    lua_Integer n = 0;
    int changed = 0;
    while (n < max) {
        pat_reset(&m);
        const char *e = pat_match(&m, at, p);
        if (e && e != last) {
            n++;
            changed |= pat_add_value(&m, &b, at, e, rt);
            at = last = e;
        } else if (at < m.src_end) {
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        if (anchor) break;
    }
    if (changed) {
        luaL_addlstring(&b, at, (size_t)(m.src_end - at));
        luaL_pushresult(&b);
    } else {
        lua_pushvalue(L, 1);
    }
    lua_pushinteger(L, n);
    return 2;
}
