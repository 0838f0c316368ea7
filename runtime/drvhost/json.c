/* json.c: a strict JSON parser for driver frames that builds jansson values directly. jansson's
 * own lexer reads through a per-byte callback and copies every token into a scratch buffer;
 * here strings are scanned with a byte-class table and made from the text in one copy. It
 * accepts a subset of what jansson accepts and builds the same tree: whenever it is unsure it
 * gives up, and jansson parses the text again (and words the error). */
#include "drvhost/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DRVHOST__NUM_MAX 64  /* longer numbers go to jansson */
#define DRVHOST__STACK   256 /* escaped strings up to this long are decoded on the stack */

typedef struct drvhost__jp {
    const unsigned char *p, *end;
    int depth;
} drvhost__jp_t;

/* Bytes inside a string: 0 copied as is, 1 the closing quote, 2 an escape, 3 a control
 * character (not allowed), 4 the first byte of a UTF-8 sequence (checked). */
static const unsigned char drvhost__str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static int drvhost__digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static void drvhost__ws(drvhost__jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

/* Skips the plain ASCII at p (no quote, escape, control character or byte above 0x7F) eight
 * bytes at a time; returns where a byte that may be one of those is, or the last few bytes. */
static const unsigned char *drvhost__plain_run(const unsigned char *p, const unsigned char *end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t q = v ^ (ones * '"'), e = v ^ (ones * '\\');
        uint64_t any = ((q - ones) & ~q) | ((e - ones) & ~e) | (v - ones * 0x20) | v;
        if (any & highs) break;
        p += 8;
    }
    return p;
}

/* The length of the valid UTF-8 sequence at p (2 to 4 bytes), or 0: overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as jansson has them. */
static size_t drvhost__utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (uint32_t)(p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    return n;
}

/* Four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static int32_t drvhost__hex4(const unsigned char *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v += c - '0';
        else if (c >= 'a' && c <= 'f')
            v += c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v += c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t drvhost__utf8_put(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escaped string body [p, end) (end at its closing quote) into `out`, which has
 * room for end - p bytes (a decoded string is never longer than its text). Returns the decoded
 * length, or -1 for anything left to jansson (a bad escape or byte, \u0000, a lone surrogate). */
static ptrdiff_t drvhost__unescape(const unsigned char *p, const unsigned char *end,
                                   unsigned char *out)
{
    unsigned char *o = out;
    while (p < end) {
        unsigned char c = *p;
        int cls = drvhost__str_class[c];
        if (cls == 0) {
            *o++ = c;
            p++;
        } else if (cls == 4) {
            size_t k = drvhost__utf8(p, end);
            if (!k) return -1;
            memcpy(o, p, k);
            o += k;
            p += k;
        } else if (cls == 2) {
            if (end - p < 2) return -1;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *e = p[1] ? strchr(from, p[1]) : NULL;
            if (e) {
                *o++ = (unsigned char)to[e - from];
                p += 2;
                continue;
            }
            if (p[1] != 'u' || end - p < 6) return -1;
            int32_t cp = drvhost__hex4(p + 2);
            p += 6;
            if (cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
                int32_t lo = drvhost__hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                p += 6;
                cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
            }
            o += drvhost__utf8_put(o, (uint32_t)cp);
        } else {
            return -1; /* a control character, or a quote inside: cannot happen */
        }
    }
    return o - out;
}

/* The string whose opening quote is at j->p. Sets *s, *n to its decoded bytes: borrowed from
 * the text when it holds no escape, else decoded into `stack` (DRVHOST__STACK bytes) or into
 * *heap (malloc'd; the caller frees it). Returns 0, or -1 to leave the text to jansson. */
static int drvhost__string(drvhost__jp_t *j, const char **s, size_t *n, unsigned char *stack,
                           unsigned char **heap)
{
    const unsigned char *start = j->p + 1, *p = start, *end = j->end;
    *heap = NULL;
    for (;;) {
        p = drvhost__plain_run(p, end);
        if (p >= end) return -1;
        int cls = drvhost__str_class[*p];
        if (cls == 0) {
            p++;
        } else if (cls == 1) {
            *s = (const char *)start;
            *n = (size_t)(p - start);
            j->p = p + 1;
            return 0;
        } else if (cls == 4) {
            size_t k = drvhost__utf8(p, end);
            if (!k) return -1;
            p += k;
        } else if (cls == 2) {
            break;
        } else {
            return -1;
        }
    }
    /* An escape: find the closing quote, then decode the whole string. */
    const unsigned char *q = p;
    while (q < end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= end) return -1;
    size_t len = (size_t)(q - start);
    unsigned char *out = stack;
    if (len > DRVHOST__STACK && !(out = *heap = malloc(len))) return -1;
    ptrdiff_t got = drvhost__unescape(start, q, out);
    if (got < 0) {
        free(*heap);
        *heap = NULL;
        return -1;
    }
    *s = (const char *)out;
    *n = (size_t)got;
    j->p = q + 1;
    return 0;
}

/* A number at j->p, by JSON's grammar (jansson's): an integer when it has no fraction and no
 * exponent, else a real. NULL for anything else, an overflow, or a number too long. */
static json_t *drvhost__number(drvhost__jp_t *j)
{
    const unsigned char *s = j->p, *p = s, *end = j->end;
    int neg = *p == '-', real = 0, exp = 0;
    p += neg;
    if (p >= end || !drvhost__digit(*p)) return NULL;
    if (*p == '0') {
        p++;
        if (p < end && drvhost__digit(*p)) return NULL; /* leading zero */
    } else {
        while (p < end && drvhost__digit(*p))
            p++;
    }
    size_t ndigits = (size_t)(p - s) - (size_t)neg;
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || !drvhost__digit(*p)) return NULL;
        while (p < end && drvhost__digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = exp = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !drvhost__digit(*p)) return NULL;
        while (p < end && drvhost__digit(*p))
            p++;
    }
    j->p = p;
    if (!real && ndigits <= 18) { /* below 10^18: no overflow */
        json_int_t v = 0;
        for (const unsigned char *d = s + neg; d < p; d++)
            v = v * 10 + (*d - '0');
        return json_integer(neg ? -v : v);
    }
    if (real && !exp && (size_t)(p - s) - (size_t)neg <= 16) {
        /* D.F with at most 15 digits: m / 10^k with m < 2^53 and k <= 22, both exact doubles,
         * and one IEEE division rounds correctly, as strtod does (Clinger's fast path). */
        static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
        int64_t m = 0;
        int k = 0;
        for (const unsigned char *d = s + neg; d < p; d++) {
            if (*d == '.') {
                k = (int)(p - d - 1);
                continue;
            }
            m = m * 10 + (*d - '0');
        }
        double v = (double)m / pow10[k];
        return json_real(neg ? -v : v);
    }
    size_t n = (size_t)(p - s);
    if (n >= DRVHOST__NUM_MAX) return NULL;
    char buf[DRVHOST__NUM_MAX], *e;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    if (!real) {
        long long v = strtoll(buf, &e, 10);
        if (errno == ERANGE || e != buf + n) return NULL; /* jansson: "too big integer" */
        return json_integer((json_int_t)v);
    }
    double d = strtod(buf, &e);
    if (e != buf + n || isinf(d) || isnan(d)) return NULL; /* overflow, or another locale */
    return json_real(d);
}

static json_t *drvhost__value(drvhost__jp_t *j);

static json_t *drvhost__object(drvhost__jp_t *j)
{
    json_t *obj = json_object();
    if (!obj) return NULL;
    j->p++;
    drvhost__ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return obj;
    }
    unsigned char stack[DRVHOST__STACK];
    for (;;) {
        const char *key;
        size_t klen;
        unsigned char *heap;
        if (j->p >= j->end || *j->p != '"' || drvhost__string(j, &key, &klen, stack, &heap)) break;
        json_t *v = NULL;
        drvhost__ws(j);
        if (j->p < j->end && *j->p == ':') {
            j->p++;
            drvhost__ws(j);
            v = drvhost__value(j);
        }
        size_t size = json_object_size(obj);
        int rc = v ? json_object_setn_new_nocheck(obj, key, klen, v) : -1;
        free(heap);
        if (rc || json_object_size(obj) == size) /* a duplicate replaces: jansson's to word */
            break;
        drvhost__ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            drvhost__ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return obj;
        }
        break;
    }
    json_decref(obj);
    return NULL;
}

static json_t *drvhost__array(drvhost__jp_t *j)
{
    json_t *arr = json_array();
    if (!arr) return NULL;
    j->p++;
    drvhost__ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return arr;
    }
    for (;;) {
        json_t *v = drvhost__value(j);
        if (!v || json_array_append_new(arr, v)) break;
        drvhost__ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            drvhost__ws(j);
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return arr;
        }
        break;
    }
    json_decref(arr);
    return NULL;
}

/* The value at j->p (whitespace skipped before it), or NULL. */
static json_t *drvhost__value(drvhost__jp_t *j)
{
    if (j->p >= j->end) return NULL;
    static const struct {
        const char *word;
        size_t len;
    } words[] = {{"true", 4}, {"false", 5}, {"null", 4}};
    switch (*j->p) {
    case '{':
    case '[': {
        if (++j->depth > DRVHOST_JSON_FAST_DEPTH) return NULL;
        json_t *v = *j->p == '{' ? drvhost__object(j) : drvhost__array(j);
        j->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t n;
        unsigned char stack[DRVHOST__STACK], *heap;
        if (drvhost__string(j, &s, &n, stack, &heap)) return NULL;
        json_t *v = json_stringn_nocheck(s, n); /* checked UTF-8, no NUL */
        free(heap);
        return v;
    }
    case 't':
    case 'f':
    case 'n':
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
            if ((size_t)(j->end - j->p) >= words[i].len &&
                memcmp(j->p, words[i].word, words[i].len) == 0) {
                j->p += words[i].len; /* "truex" fails after: no ',' or closing bracket */
                return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
            }
        }
        return NULL;
    default:
        return drvhost__number(j);
    }
}

json_t *drvhost__json_fast(const char *text, size_t len)
{
    drvhost__jp_t j = {(const unsigned char *)text, (const unsigned char *)text + len, 0};
    drvhost__ws(&j);
    if (j.p >= j.end || (*j.p != '{' && *j.p != '[')) return NULL;
    json_t *v = drvhost__value(&j);
    if (!v) return NULL;
    drvhost__ws(&j);
    if (j.p != j.end) {
        json_decref(v);
        return NULL;
    }
    return v;
}

json_t *drvhost_json_loadb(const char *text, size_t len, json_error_t *err)
{
    json_t *v = drvhost__json_fast(text, len);
    return v ? v : json_loadb(text, len, JSON_REJECT_DUPLICATES, err);
}

/* ---- finding a member's text ------------------------------------------------------------ */

/* Skips the string whose opening quote is at p; returns the byte after its closing quote, or
 * NULL at the end of the text. */
static const char *drvhost__skip_string(const char *p, const char *end)
{
    for (p++; p < end;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) return NULL;
        size_t bs = 0; /* an odd run of backslashes before it escapes it */
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0) return q + 1;
        p = q + 1;
    }
    return NULL;
}

/* Bytes the skipping of a container stops at: quotes and brackets. */
static const unsigned char drvhost__nest_class[256] = {
    ['"'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 3, [']'] = 3,
};

/* Skips the value at p; returns the byte after it, or NULL when the text ends first. */
static const char *drvhost__skip_value(const char *p, const char *end)
{
    if (p >= end) return NULL;
    if (*p == '"') return drvhost__skip_string(p, end);
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            int cls = drvhost__nest_class[(unsigned char)*p];
            if (cls == 0) {
                p++;
            } else if (cls == 1) {
                if (!(p = drvhost__skip_string(p, end))) return NULL;
            } else if (cls == 2) {
                depth++;
                p++;
            } else if (--depth == 0) {
                return p + 1;
            } else {
                p++;
            }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n') /* a number or a word */
        p++;
    return p;
}

static const char *drvhost__skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Finds member `key` of the object at p: returns the start of its value, or NULL. The text
 * after the value is not looked at. */
static const char *drvhost__member(const char *p, const char *end, const char *key)
{
    size_t klen = strlen(key);
    p = drvhost__skip_ws(p, end);
    if (p >= end || *p != '{') return NULL;
    p = drvhost__skip_ws(p + 1, end);
    while (p < end && *p == '"') {
        const char *k = p + 1, *kend = drvhost__skip_string(p, end);
        if (!kend) return NULL;
        int match = (size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0;
        p = drvhost__skip_ws(kend, end);
        if (p >= end || *p != ':') return NULL;
        p = drvhost__skip_ws(p + 1, end);
        if (match) return p;
        if (!(p = drvhost__skip_value(p, end))) return NULL;
        p = drvhost__skip_ws(p, end);
        if (p >= end || *p != ',') return NULL;
        p = drvhost__skip_ws(p + 1, end);
    }
    return NULL;
}

int drvhost_json_find(const char *text, size_t len, const char *const *keys, const char **val,
                      size_t *vlen)
{
    const char *p = text, *end = text + len;
    for (; *keys && p; keys++)
        p = drvhost__member(p, end, *keys);
    const char *e = p ? drvhost__skip_value(p, end) : NULL;
    if (!e) return 0;
    *val = p;
    *vlen = (size_t)(e - p);
    return 1;
}
