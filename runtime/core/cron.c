/* cron.c: the parser and the next-firing-time search of cron.h. Fields are parsed into bit
 * sets against a table of field limits; the search walks wall-clock dates field by field,
 * skipping whole months, days and hours that cannot match, and maps each candidate minute
 * to an instant with mktime, checked by a localtime_r round trip (DST gaps and overlaps). */
#include "core/cron.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* One of the five fields: its name for messages, accepted values and optional names. */
typedef struct vg__cron_field {
    const char *name;
    int lo, hi;               /* accepted numbers */
    int step_max;             /* a larger step would never reach a second value */
    const char *const *names; /* three-letter names of values names_base.., or NULL */
    int names_base;
    int names_count;
    const char *expect; /* what a value may be, for messages */
} vg__cron_field_t;

static const char *const vg__cron_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const vg__cron_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

enum { VG__F_MINUTE, VG__F_HOUR, VG__F_DOM, VG__F_MONTH, VG__F_DOW, VG__F_COUNT };

static const vg__cron_field_t vg__cron_fields[VG__F_COUNT] = {
    {"minute", 0, 59, 59, NULL, 0, 0, "0..59"},
    {"hour", 0, 23, 23, NULL, 0, 0, "0..23"},
    {"day-of-month", 1, 31, 30, NULL, 0, 0, "1..31"},
    {"month", 1, 12, 11, vg__cron_months, 1, 12, "1..12 or jan..dec"},
    {"day-of-week", 0, 7, 6, vg__cron_days, 0, 7, "0..7 or sun..sat"},
};

/* The macros and the expressions they stand for. */
static const struct {
    const char *name;
    const char *expr;
} vg__cron_macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

#define VG__CRON_NMACROS (sizeof vg__cron_macros / sizeof vg__cron_macros[0])
#define VG__QUOTED_MAX   (4 * VG_CRON_EXPR_MAX + 1)

static int vg__cron_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int vg__cron_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int vg__cron_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Copies s[0..n) into out (VG__QUOTED_MAX bytes) with bytes that are not printable ASCII
 * written as \n, \t or \xNN, so a message never carries control bytes into a log. */
static const char *vg__cron_escape(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n > VG_CRON_EXPR_MAX) n = VG_CRON_EXPR_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            out[o++] = (char)ch;
        } else if (ch == '\\') {
            out[o++] = '\\';
            out[o++] = '\\';
        } else if (ch == '\n' || ch == '\t') {
            out[o++] = '\\';
            out[o++] = ch == '\n' ? 'n' : 't';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

static int vg__cron_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vg__cron_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return VG_EINVAL;
}

/* Where a field item is being parsed, for error messages. */
typedef struct vg__cron_item {
    const vg__cron_field_t *f;
    const char *field; /* the whole field text */
    size_t field_len;
    const char *item; /* this list item */
    size_t item_len;
    char *err;
    size_t errlen;
} vg__cron_item_t;

/* Fails with `FIELD "ITEM"[ in "FIELDTEXT"]: DETAIL`. */
static int vg__cron_item_fail(const vg__cron_item_t *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int vg__cron_item_fail(const vg__cron_item_t *it, const char *fmt, ...)
{
    if (!it->err || !it->errlen) return VG_EINVAL;
    char qi[VG__QUOTED_MAX], qf[VG__QUOTED_MAX], detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    vg__cron_escape(qi, it->item, it->item_len);
    if (it->item_len == it->field_len)
        snprintf(it->err, it->errlen, "%s \"%s\": %s", it->f->name, qi, detail);
    else
        snprintf(it->err, it->errlen, "%s \"%s\" in \"%s\": %s", it->f->name, qi,
                 vg__cron_escape(qf, it->field, it->field_len), detail);
    return VG_EINVAL;
}

/* Parses one value (a number or a name) at *pp, before `end`; `after` names what precedes
 * it in messages ("" at the start of an item). On success advances *pp. */
static int vg__cron_value(const vg__cron_item_t *it, const char **pp, const char *end,
                          const char *after, int *out)
{
    const vg__cron_field_t *f = it->f;
    const char *p = *pp, *q = p;
    char qt[VG__QUOTED_MAX];
    if (q < end && vg__cron_digit(*q)) {
        long v = 0;
        while (q < end && vg__cron_digit(*q)) {
            if (v < 100000) v = v * 10 + (*q - '0');
            q++;
        }
        if (v < f->lo || v > f->hi) {
            if (p == it->item && q == it->item + it->item_len)
                return vg__cron_item_fail(it, "expected %s", f->expect);
            return vg__cron_item_fail(it, "\"%s\": expected %s",
                                      vg__cron_escape(qt, p, (size_t)(q - p)), f->expect);
        }
        *out = (int)v;
        *pp = q;
        return 0;
    }
    while (q < end && vg__cron_alpha(*q))
        q++;
    if (q > p && f->names) {
        for (int i = 0; i < f->names_count; i++)
            if ((size_t)(q - p) == 3 && strncasecmp(p, f->names[i], 3) == 0) {
                *out = f->names_base + i;
                *pp = q;
                return 0;
            }
    }
    if (q == p) { /* not a word either: report the one character found (or the end) */
        if (p == end) {
            if (*after) return vg__cron_item_fail(it, "expected %s after \"%s\"", f->expect, after);
            return vg__cron_item_fail(it, "expected %s", f->expect);
        }
        q = p + 1;
    }
    if (p == it->item && q == it->item + it->item_len)
        return vg__cron_item_fail(it, "expected %s", f->expect);
    return vg__cron_item_fail(it, "\"%s\": expected %s", vg__cron_escape(qt, p, (size_t)(q - p)),
                              f->expect);
}

/* Parses one list item ("*", N, N-M, each with an optional /STEP) into *bits. */
static int vg__cron_item(const vg__cron_item_t *it, uint64_t *bits)
{
    const vg__cron_field_t *f = it->f;
    const char *p = it->item, *end = it->item + it->item_len;
    char qt[VG__QUOTED_MAX];
    int lo, hi, step = 1, rc;
    int hi_named_sunday = 0;
    if (*p == '*') {
        lo = f->lo;
        hi = f->hi;
        p++;
    } else {
        if ((rc = vg__cron_value(it, &p, end, "", &lo)) != 0) return rc;
        hi = lo;
        if (p < end && *p == '-') {
            const char *hs = ++p;
            if ((rc = vg__cron_value(it, &p, end, "-", &hi)) != 0) return rc;
            hi_named_sunday = vg__cron_alpha(*hs) && hi == 0;
            if (hi < lo) {
                return vg__cron_item_fail(
                    it, "reversed range, %d is after %d; write it low-high%s", lo, hi,
                    hi_named_sunday ? " (Sunday at the end of a range is 7)" : "");
            }
        } else if (p < end && *p == '/') {
            hi = f->hi; /* N/STEP: from N to the end of the field */
        }
    }
    if (p < end && *p == '/') {
        p++;
        if (p == end || !vg__cron_digit(*p))
            return vg__cron_item_fail(it, "expected a step number after \"/\"");
        long v = 0;
        while (p < end && vg__cron_digit(*p)) {
            if (v < 100000) v = v * 10 + (*p - '0');
            p++;
        }
        if (v < 1) return vg__cron_item_fail(it, "a step must be at least 1");
        if (v > f->step_max)
            return vg__cron_item_fail(it, "a step must be at most %d", f->step_max);
        step = (int)v;
    }
    if (p < end)
        return vg__cron_item_fail(it, "unexpected \"%s\"",
                                  vg__cron_escape(qt, p, (size_t)(end - p)));
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

/* Parses the comma-separated list s[0..n) of field f into *bits. */
static int vg__cron_field(const vg__cron_field_t *f, const char *s, size_t n, uint64_t *bits,
                          char *err, size_t errlen)
{
    vg__cron_item_t it = {f, s, n, s, 0, err, errlen};
    const char *end = s + n;
    *bits = 0;
    for (const char *p = s;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *iend = comma ? comma : end;
        if (iend == p) {
            char qf[VG__QUOTED_MAX];
            return vg__cron_fail(err, errlen, "%s \"%s\": empty list item", f->name,
                                 vg__cron_escape(qf, s, n));
        }
        it.item = p;
        it.item_len = (size_t)(iend - p);
        int rc = vg__cron_item(&it, bits);
        if (rc != 0) return rc;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

int vg_cron_parse(const char *expr, vg_cron_t *out, char *err, size_t errlen)
{
    char q[VG__QUOTED_MAX];
    if (!expr) return vg__cron_fail(err, errlen, "no cron expression");
    size_t len = 0;
    while (len <= VG_CRON_EXPR_MAX && expr[len])
        len++;
    if (len > VG_CRON_EXPR_MAX)
        return vg__cron_fail(err, errlen, "cron expression longer than %d bytes", VG_CRON_EXPR_MAX);
    const char *p = expr, *end = expr + len;
    while (p < end && vg__cron_blank(*p))
        p++;
    if (p < end && *p == '@') {
        const char *m = p;
        while (p < end && !vg__cron_blank(*p))
            p++;
        size_t mlen = (size_t)(p - m);
        while (p < end && vg__cron_blank(*p))
            p++;
        size_t i = 0;
        while (i < VG__CRON_NMACROS && !(strlen(vg__cron_macros[i].name) == mlen &&
                                         strncasecmp(vg__cron_macros[i].name, m, mlen) == 0))
            i++;
        if (i == VG__CRON_NMACROS)
            return vg__cron_fail(err, errlen,
                                 "unknown macro \"%s\"; expected @yearly, @annually, @monthly, "
                                 "@weekly, @daily, @midnight or @hourly",
                                 vg__cron_escape(q, m, mlen));
        if (p < end) {
            char qm[VG__QUOTED_MAX];
            return vg__cron_fail(err, errlen, "macro \"%s\" takes no fields, got \"%s\"",
                                 vg__cron_escape(qm, m, mlen),
                                 vg__cron_escape(q, p, (size_t)(end - p)));
        }
        p = vg__cron_macros[i].expr;
        end = p + strlen(p);
    }

    const char *fs[VG__F_COUNT];
    size_t fl[VG__F_COUNT];
    int nf = 0;
    while (p < end) {
        const char *s = p;
        while (p < end && !vg__cron_blank(*p))
            p++;
        if (nf < VG__F_COUNT) {
            fs[nf] = s;
            fl[nf] = (size_t)(p - s);
        }
        nf++;
        while (p < end && vg__cron_blank(*p))
            p++;
    }
    if (nf != VG__F_COUNT)
        return vg__cron_fail(err, errlen,
                             "expected 5 fields (minute hour day-of-month month day-of-week), "
                             "got %d",
                             nf);

    uint64_t bits[VG__F_COUNT];
    for (int i = 0; i < VG__F_COUNT; i++) {
        int rc = vg__cron_field(&vg__cron_fields[i], fs[i], fl[i], &bits[i], err, errlen);
        if (rc != 0) return rc;
    }
    vg_cron_t c;
    c.minute = bits[VG__F_MINUTE];
    c.hour = (uint32_t)bits[VG__F_HOUR];
    c.dom = (uint32_t)bits[VG__F_DOM];
    c.month = (uint16_t)bits[VG__F_MONTH];
    c.dow = (uint8_t)((bits[VG__F_DOW] | (bits[VG__F_DOW] >> 7)) & 0x7f); /* 7 is Sunday */
    c.dom_any = fl[VG__F_DOM] == 1 && fs[VG__F_DOM][0] == '*';
    c.dow_any = fl[VG__F_DOW] == 1 && fs[VG__F_DOW][0] == '*';
    *out = c;
    return 0;
}

/* ---- the search ---------------------------------------------------------------------------- */

/* A wall-clock minute in the proleptic Gregorian calendar; month 1..12, mday 1..31. */
typedef struct vg__cron_wall {
    int year, month, mday, hour, minute;
} vg__cron_wall_t;

static int vg__cron_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int vg__cron_mdays(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && vg__cron_leap(y) ? 29 : d[m - 1];
}

/* Day of the week, Sunday 0, of a Gregorian date (days from 1970-01-01, a Thursday). */
static int vg__cron_wday(int y, int m, int d)
{
    long yy = m <= 2 ? (long)y - 1 : y;
    long era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400;
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    long w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

/* The lowest set bit of `mask` at or above `from` (< 64), or -1. */
static int vg__cron_next_bit(uint64_t mask, int from)
{
    mask >>= from;
    return mask ? from + __builtin_ctzll(mask) : -1;
}

static int vg__cron_wall_cmp(const vg__cron_wall_t *a, const vg__cron_wall_t *b)
{
    const int x[5] = {a->year, a->month, a->mday, a->hour, a->minute};
    const int y[5] = {b->year, b->month, b->mday, b->hour, b->minute};
    for (int i = 0; i < 5; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

/* The earliest instant (seconds) whose local time is the wall-clock minute *w, trying
 * standard and daylight time; 0 and *out, or -1 when the minute does not exist (a DST gap). */
static int vg__cron_instant(const vg__cron_wall_t *w, time_t *out)
{
    int found = 0;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {0}, back = {0};
        tm.tm_year = w->year - 1900;
        tm.tm_mon = w->month - 1;
        tm.tm_mday = w->mday;
        tm.tm_hour = w->hour;
        tm.tm_min = w->minute;
        tm.tm_isdst = dst;
        time_t t = mktime(&tm);
        if (!localtime_r(&t, &back)) continue;
        if (back.tm_year != w->year - 1900 || back.tm_mon != w->month - 1 ||
            back.tm_mday != w->mday || back.tm_hour != w->hour || back.tm_min != w->minute ||
            back.tm_sec != 0)
            continue;
        if (!found || t < *out) *out = t;
        found = 1;
    }
    return found ? 0 : -1;
}

/* Steps *w to the start of the next month, day, hour or minute. */
static void vg__cron_next_month(vg__cron_wall_t *w)
{
    w->mday = 1;
    w->hour = 0;
    w->minute = 0;
    if (++w->month > 12) {
        w->month = 1;
        w->year++;
    }
}

static void vg__cron_next_day(vg__cron_wall_t *w)
{
    w->hour = 0;
    w->minute = 0;
    if (++w->mday > vg__cron_mdays(w->year, w->month)) vg__cron_next_month(w);
}

static void vg__cron_next_hour(vg__cron_wall_t *w)
{
    w->minute = 0;
    if (++w->hour > 23) vg__cron_next_day(w);
}

static void vg__cron_next_minute(vg__cron_wall_t *w)
{
    if (++w->minute > 59) vg__cron_next_hour(w);
}

int64_t vg_cron_next(const vg_cron_t *c, int64_t after_ms)
{
    const uint64_t minutes = c->minute & ((UINT64_C(1) << 60) - 1);
    const uint32_t hours = c->hour & ((UINT32_C(1) << 24) - 1);
    const uint32_t doms = c->dom & ~UINT32_C(1);
    const uint32_t months = c->month & 0x1ffe;
    const uint32_t dows = (uint32_t)((c->dow | (c->dow >> 7)) & 0x7f);
    if (!minutes || !hours || !doms || !months || !dows) return -1;
    /* Far beyond any calendar (2^50 s is 35 million years) struct tm years overflow. */
    const int64_t limit_s = INT64_C(1) << 50;
    int64_t after_s = after_ms / 1000 - (after_ms % 1000 < 0);
    if (after_s > limit_s || after_s < -limit_s) return -1;
    time_t ts = (time_t)after_s;
    if ((int64_t)ts != after_s) return -1;
    struct tm now;
    if (!localtime_r(&ts, &now)) return -1;

    vg__cron_wall_t w = {now.tm_year + 1900, now.tm_mon + 1, now.tm_mday, now.tm_hour, now.tm_min};
    vg__cron_wall_t stop = w;
    stop.year += 8;           /* Feb 29 can be eight years away (2096 to 2104) */
    vg__cron_next_minute(&w); /* the wall-clock minute after that of `after` */
    /* Wall-clock candidates in order; instants (first occurrences) grow with them, so the
     * first one that exists and lies after `after` is the answer. */
    while (vg__cron_wall_cmp(&w, &stop) <= 0) {
        if (!(months >> w.month & 1)) {
            int m = vg__cron_next_bit(months, w.month);
            if (m < 0) {
                w.year++;
                m = vg__cron_next_bit(months, 1);
            }
            w.month = m;
            w.mday = 1;
            w.hour = 0;
            w.minute = 0;
            continue;
        }
        int dom_ok = (int)(doms >> w.mday & 1);
        int dow_ok = (int)(dows >> vg__cron_wday(w.year, w.month, w.mday) & 1);
        int day_ok = c->dom_any || c->dow_any ? dom_ok && dow_ok : dom_ok || dow_ok;
        if (!day_ok) {
            vg__cron_next_day(&w);
            continue;
        }
        if (!(hours >> w.hour & 1)) {
            int h = vg__cron_next_bit(hours, w.hour);
            if (h < 0) {
                vg__cron_next_day(&w);
            } else {
                w.hour = h;
                w.minute = 0;
            }
            continue;
        }
        int m = vg__cron_next_bit(minutes, w.minute);
        if (m < 0) {
            vg__cron_next_hour(&w);
            continue;
        }
        w.minute = m;
        if (vg__cron_wall_cmp(&w, &stop) > 0) break;
        time_t t = 0;
        if (vg__cron_instant(&w, &t) == 0 && (int64_t)t > after_s) return (int64_t)t * 1000;
        vg__cron_next_minute(&w); /* a DST gap, or a repeated minute already behind us */
    }
    return -1;
}
