/* test_cron.c: cron expressions: every accepted form, every error message, next firing times
 * in UTC against a table and against a naive minute-by-minute scan, and DST in Europe/Berlin. */
#include "core/cron.h"
#include "core/error.h"
#include "vg_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* "YYYY-MM-DD HH:MM[:SS]" in UTC to Unix ms. */
static int64_t utc_ms(const char *s)
{
    struct tm tm = {0};
    int n = sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
    if (n < 5) {
        fprintf(stderr, "  bad test time \"%s\"\n", s);
        abort();
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000;
}

static vg_cron_t parse_ok(const char *expr)
{
    vg_cron_t c;
    char err[256] = "";
    memset(&c, 0, sizeof c);
    int rc = vg_cron_parse(expr, &c, err, sizeof err);
    if (rc != 0) fprintf(stderr, "  parse \"%s\": %s\n", expr, err);
    CHECK_EQ_INT(rc, 0);
    return c;
}

static uint64_t range_bits(int lo, int hi, int step)
{
    uint64_t b = 0;
    for (int v = lo; v <= hi; v += step)
        b |= (uint64_t)1 << v;
    return b;
}

static void test_parse_forms(void)
{
    vg_cron_t c = parse_ok("* * * * *");
    CHECK(c.minute == range_bits(0, 59, 1));
    CHECK(c.hour == range_bits(0, 23, 1));
    CHECK(c.dom == range_bits(1, 31, 1));
    CHECK(c.month == range_bits(1, 12, 1));
    CHECK(c.dow == 0x7f);
    CHECK(c.dom_any && c.dow_any);

    c = parse_ok("5 17 31 12 6");
    CHECK(c.minute == (UINT64_C(1) << 5) && c.hour == (1u << 17) && c.dom == (1u << 31));
    CHECK(c.month == (1u << 12) && c.dow == (1u << 6));
    CHECK(!c.dom_any && !c.dow_any);

    c = parse_ok("10-20 1-5 * * *");
    CHECK(c.minute == range_bits(10, 20, 1) && c.hour == range_bits(1, 5, 1));
    c = parse_ok("*/15 */6 */10 */3 */2");
    CHECK(c.minute == range_bits(0, 59, 15) && c.hour == range_bits(0, 23, 6));
    CHECK(c.dom == range_bits(1, 31, 10) && c.month == range_bits(1, 12, 3));
    CHECK(c.dow == range_bits(0, 6, 2));
    CHECK(!c.dom_any && !c.dow_any); /* only a bare "*" counts as unrestricted */
    c = parse_ok("10-30/10 5/7 2-31/15 * *");
    CHECK(c.minute == ((UINT64_C(1) << 10) | (UINT64_C(1) << 20) | (UINT64_C(1) << 30)));
    CHECK(c.hour == range_bits(5, 23, 7)); /* N/STEP runs to the end of the field */
    CHECK(c.dom == ((1u << 2) | (1u << 17)));
    c = parse_ok("1,3,5-7,59 0,23 1,15 1,jul mon,3");
    CHECK(c.minute ==
          ((UINT64_C(1) << 1) | (UINT64_C(1) << 3) | range_bits(5, 7, 1) | (UINT64_C(1) << 59)));
    CHECK(c.hour == ((1u << 0) | (1u << 23)) && c.dom == ((1u << 1) | (1u << 15)));
    CHECK(c.month == ((1u << 1) | (1u << 7)) && c.dow == ((1u << 1) | (1u << 3)));

    /* names, any case, in ranges and with steps; 7 is Sunday */
    c = parse_ok("0 0 * JAN-Mar mon-FRI");
    CHECK(c.month == range_bits(1, 3, 1) && c.dow == range_bits(1, 5, 1));
    c = parse_ok("0 0 * jan-dec/2 Sun");
    CHECK(c.month == range_bits(1, 12, 2) && c.dow == 1);
    c = parse_ok("0 0 * * 7");
    CHECK(c.dow == 1 && !c.dow_any);
    c = parse_ok("0 0 * * 5-7");
    CHECK(c.dow == (1u | (1u << 5) | (1u << 6)));
    c = parse_ok("0 0 * * 0-7");
    CHECK(c.dow == 0x7f && !c.dow_any);
    c = parse_ok("0 0 * feb,aug tue,thu,sat");
    CHECK(c.month == ((1u << 2) | (1u << 8)) && c.dow == ((1u << 2) | (1u << 4) | (1u << 6)));

    /* blanks: any run of spaces and tabs, leading and trailing too */
    c = parse_ok(" \t0\t\t12  *  *  1 \t");
    CHECK(c.minute == 1 && c.hour == (1u << 12) && c.dow == 2);

    /* macros stand for their expressions */
    static const struct {
        const char *macro, *expr;
    } macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},  {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},     {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}, {"  @DAILY  ", "0 0 * * *"},
    };
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
        vg_cron_t a = parse_ok(macros[i].macro), b = parse_ok(macros[i].expr);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }

    /* the length limit is inclusive */
    char buf[VG_CRON_EXPR_MAX + 2];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "* * * * *", 9);
    buf[VG_CRON_EXPR_MAX] = '\0';
    parse_ok(buf);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"   ", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
        {"* * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 3"},
        {"0 * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
        {"0 0 * * * /bin/true",
         "expected 5 fields (minute hour day-of-month month day-of-week), got 6"},
        {"75 * * * *", "minute \"75\": expected 0..59"},
        {"99999999999999999999 * * * *", "minute \"99999999999999999999\": expected 0..59"},
        {"* 24 * * *", "hour \"24\": expected 0..23"},
        {"* * 0 * *", "day-of-month \"0\": expected 1..31"},
        {"* * 32 * *", "day-of-month \"32\": expected 1..31"},
        {"* * * 0 *", "month \"0\": expected 1..12 or jan..dec"},
        {"* * * 13 *", "month \"13\": expected 1..12 or jan..dec"},
        {"* * * * 8", "day-of-week \"8\": expected 0..7 or sun..sat"},
        {"1,75 * * * *", "minute \"75\" in \"1,75\": expected 0..59"},
        {"5-75 * * * *", "minute \"5-75\": \"75\": expected 0..59"},
        {"5- * * * *", "minute \"5-\": expected 0..59 after \"-\""},
        {"-5 * * * *", "minute \"-5\": \"-\": expected 0..59"},
        {"? * * * *", "minute \"?\": expected 0..59"},
        {"mon * * * *", "minute \"mon\": expected 0..59"},
        {"* * * foo *", "month \"foo\": expected 1..12 or jan..dec"},
        {"* * * mon *", "month \"mon\": expected 1..12 or jan..dec"},
        {"* * * * monday", "day-of-week \"monday\": expected 0..7 or sun..sat"},
        {"* * * * jan", "day-of-week \"jan\": expected 0..7 or sun..sat"},
        {"* */0 * * *", "hour \"*/0\": a step must be at least 1"},
        {"*/60 * * * *", "minute \"*/60\": a step must be at most 59"},
        {"* * * */12 *", "month \"*/12\": a step must be at most 11"},
        {"*/ * * * *", "minute \"*/\": expected a step number after \"/\""},
        {"*/x * * * *", "minute \"*/x\": expected a step number after \"/\""},
        {"1,,2 * * * *", "minute \"1,,2\": empty list item"},
        {"1, * * * *", "minute \"1,\": empty list item"},
        {"* ,1 * * *", "hour \",1\": empty list item"},
        {"30-10 * * * *", "minute \"30-10\": reversed range, 30 is after 10; write it low-high"},
        {"* * * dec-jan *", "month \"dec-jan\": reversed range, 12 is after 1; write it low-high"},
        {"* * * * fri-sun", "day-of-week \"fri-sun\": reversed range, 5 is after 0; write it "
                            "low-high (Sunday at the end of a range is 7)"},
        {"5x * * * *", "minute \"5x\": unexpected \"x\""},
        {"** * * * *", "minute \"**\": unexpected \"*\""},
        {"1-2-3 * * * *", "minute \"1-2-3\": unexpected \"-3\""},
        {"*/5/5 * * * *", "minute \"*/5/5\": unexpected \"/5\""},
        {"* * * * *\n", "day-of-week \"*\\n\": unexpected \"\\n\""},
        {"* * * * \x01", "day-of-week \"\\x01\": expected 0..7 or sun..sat"},
        {"@often", "unknown macro \"@often\"; expected @yearly, @annually, @monthly, @weekly, "
                   "@daily, @midnight or @hourly"},
        {"@reboot", "unknown macro \"@reboot\"; expected @yearly, @annually, @monthly, @weekly, "
                    "@daily, @midnight or @hourly"},
        {"@", "unknown macro \"@\"; expected @yearly, @annually, @monthly, @weekly, @daily, "
              "@midnight or @hourly"},
        {"@daily 5", "macro \"@daily\" takes no fields, got \"5\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_cron_t c, before;
        memset(&c, 0xa5, sizeof c);
        before = c;
        char err[512] = "";
        CHECK_EQ_INT(vg_cron_parse(cases[i].expr, &c, err, sizeof err), VG_EINVAL);
        CHECK_EQ_STR(err, cases[i].msg);
        CHECK(memcmp(&c, &before, sizeof c) == 0); /* untouched on error */
    }

    vg_cron_t c;
    char err[256] = "";
    CHECK_EQ_INT(vg_cron_parse(NULL, &c, err, sizeof err), VG_EINVAL);
    CHECK_EQ_STR(err, "no cron expression");

    char big[VG_CRON_EXPR_MAX + 2];
    memset(big, ' ', sizeof big);
    memcpy(big, "* * * * *", 9);
    big[VG_CRON_EXPR_MAX + 1] = '\0';
    CHECK_EQ_INT(vg_cron_parse(big, &c, err, sizeof err), VG_EINVAL);
    CHECK_EQ_STR(err, "cron expression longer than 256 bytes");

    /* no room for the message, or a short buffer: still an error, truncated, terminated */
    CHECK_EQ_INT(vg_cron_parse("75 * * * *", &c, NULL, 0), VG_EINVAL);
    char small[8];
    CHECK_EQ_INT(vg_cron_parse("75 * * * *", &c, small, sizeof small), VG_EINVAL);
    CHECK_EQ_STR(small, "minute ");
}

static void test_next_utc(void)
{
    static const struct {
        const char *expr, *after, *expected; /* expected NULL: none within eight years */
    } cases[] = {
        {"* * * * *", "2024-01-01 00:00", "2024-01-01 00:01"},
        {"* * * * *", "2024-01-01 00:00:30", "2024-01-01 00:01"},
        {"* * * * *", "2024-01-01 00:00:59", "2024-01-01 00:01"},
        {"* * * * *", "2023-12-31 23:59", "2024-01-01 00:00"},
        {"*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15"},
        {"*/15 * * * *", "2024-01-01 10:45", "2024-01-01 11:00"},
        {"*/15 * * * *", "2023-12-31 23:59", "2024-01-01 00:00"},
        {"0 */6 * * *", "2024-01-01 07:00", "2024-01-01 12:00"},
        {"30 9-17/4 * * *", "2024-01-01 13:30", "2024-01-01 17:30"},
        {"30 9-17/4 * * *", "2024-01-01 17:30", "2024-01-02 09:30"},
        {"5,10,50 * * * *", "2024-01-01 10:10", "2024-01-01 10:50"},
        {"5,10,50 * * * *", "2024-01-01 10:50", "2024-01-01 11:05"},
        {"0 22 * * 1-5", "2024-01-05 22:00", "2024-01-08 22:00"}, /* Fri to Mon */
        {"0 0 * * mon-fri", "2024-01-06 12:00", "2024-01-08 00:00"},
        {"0 0 * * 0", "2024-01-01 00:00", "2024-01-07 00:00"},
        {"0 0 * * 7", "2024-01-01 00:00", "2024-01-07 00:00"},
        {"0 12 * jun,dec *", "2024-06-30 12:00", "2024-12-01 12:00"},
        {"0 12 1 jun,dec *", "2024-12-01 12:00", "2025-06-01 12:00"},
        {"59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59"},
        {"0 0 1 1 *", "1960-06-01 00:00", "1961-01-01 00:00"}, /* before 1970 */
        {"0 0 1 1 *", "1969-12-31 23:59:59", "1970-01-01 00:00"},
        /* month ends */
        {"0 0 31 * *", "2024-01-31 00:00", "2024-03-31 00:00"},
        {"0 0 31 * *", "2024-03-31 00:00", "2024-05-31 00:00"},
        {"0 0 30 * *", "2024-01-30 00:00", "2024-03-30 00:00"},
        {"0 0 28-31 2 *", "2023-02-28 00:00", "2024-02-28 00:00"},
        {"0 0 28-31 2 *", "2024-02-28 00:00", "2024-02-29 00:00"},
        /* Feb 29: leap years, 2100 is not one, 2000 is */
        {"0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00"},
        {"0 0 29 2 *", "2095-03-01 00:00", "2096-02-29 00:00"},
        {"0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00"},
        {"0 0 29 2 *", "2096-02-29 00:00", "2104-02-29 00:00"}, /* eight years, exactly */
        {"0 0 29 2 *", "1997-01-01 00:00", "2000-02-29 00:00"},
        {"0 0 29 2 *", "1896-03-01 00:00", "1904-02-29 00:00"},
        /* impossible dates */
        {"0 0 30 2 *", "2024-01-01 00:00", NULL},
        {"0 0 31 2 *", "2024-01-01 00:00", NULL},
        {"0 0 31 4,6,9,11 *", "2024-01-01 00:00", NULL},
        {"0 0 29 2 *", "2096-02-29 00:01:00", "2104-02-29 00:00"},
        /* day-of-month and day-of-week both restricted: either one fires */
        {"0 0 13 * fri", "2024-01-01 00:00", "2024-01-05 00:00"}, /* Friday the 5th */
        {"0 0 13 * fri", "2024-01-12 00:00", "2024-01-13 00:00"}, /* Saturday the 13th */
        {"0 0 13 * fri", "2024-01-13 00:00", "2024-01-19 00:00"},
        {"0 0 30 2 mon", "2024-01-01 00:00", "2024-02-05 00:00"},  /* Feb 30 never; Mondays */
        {"0 0 */1 * mon", "2024-01-01 00:00", "2024-01-02 00:00"}, /* "*\/1" is restricted */
        /* only one restricted: that one decides */
        {"0 0 1,15 * *", "2024-01-01 00:00", "2024-01-15 00:00"},
        {"0 0 * * sat", "2024-01-01 00:00", "2024-01-06 00:00"},
        /* macros */
        {"@yearly", "2024-01-01 00:00", "2025-01-01 00:00"},
        {"@annually", "2024-06-15 08:00", "2025-01-01 00:00"},
        {"@monthly", "2024-01-31 00:00", "2024-02-01 00:00"},
        {"@weekly", "2024-01-03 09:00", "2024-01-07 00:00"},
        {"@daily", "2024-02-28 00:00", "2024-02-29 00:00"},
        {"@midnight", "2024-02-29 00:00", "2024-03-01 00:00"},
        {"@hourly", "2024-01-01 10:00", "2024-01-01 11:00"},
        /* names */
        {"0 9 * feb-mar sun", "2024-01-01 00:00", "2024-02-04 09:00"},
    };
    set_tz("UTC");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_cron_t c = parse_ok(cases[i].expr);
        int64_t got = vg_cron_next(&c, utc_ms(cases[i].after));
        int64_t want = cases[i].expected ? utc_ms(cases[i].expected) : -1;
        if (got != want)
            fprintf(stderr, "  \"%s\" after %s: want %s\n", cases[i].expr, cases[i].after,
                    cases[i].expected ? cases[i].expected : "-1");
        CHECK_EQ_INT(got, want);
    }
    /* sub-second instants: ms inside a minute go to the next minute, negative ones too */
    vg_cron_t c = parse_ok("* * * * *");
    CHECK_EQ_INT(vg_cron_next(&c, 1), 60000);
    CHECK_EQ_INT(vg_cron_next(&c, 59999), 60000);
    CHECK_EQ_INT(vg_cron_next(&c, 0), 60000);
    CHECK_EQ_INT(vg_cron_next(&c, -1), 0);
    CHECK_EQ_INT(vg_cron_next(&c, -60000), 0);
    CHECK_EQ_INT(vg_cron_next(&c, -60001), -60000);
    /* instants far outside any calendar */
    CHECK_EQ_INT(vg_cron_next(&c, INT64_MAX), -1);
    CHECK_EQ_INT(vg_cron_next(&c, INT64_MIN), -1);
    /* a hand-built empty set never fires */
    vg_cron_t empty = c;
    empty.minute = 0;
    CHECK_EQ_INT(vg_cron_next(&empty, 0), -1);
}

/* ---- a naive reference: every minute, checked field by field ------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Appends one random item of a field with values lo..hi to s. */
static void gen_item(char *s, size_t cap, int lo, int hi, const char *const *names, int nbase)
{
    size_t l = strlen(s);
    int a = lo + (int)rnd((uint32_t)(hi - lo + 1)), b = lo + (int)rnd((uint32_t)(hi - lo + 1));
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    int step = 1 + (int)rnd((uint32_t)(hi - lo < 6 ? hi - lo : 6));
    switch (rnd(6)) {
    case 0:
        snprintf(s + l, cap - l, "*");
        break;
    case 1:
        snprintf(s + l, cap - l, "*/%d", step);
        break;
    case 2:
        if (names && rnd(2))
            snprintf(s + l, cap - l, "%s", names[a - nbase]);
        else
            snprintf(s + l, cap - l, "%d", a);
        break;
    case 3:
        snprintf(s + l, cap - l, "%d-%d", a, b);
        break;
    case 4:
        snprintf(s + l, cap - l, "%d-%d/%d", a, b, step);
        break;
    default:
        snprintf(s + l, cap - l, "%d/%d", a, step);
        break;
    }
}

static void gen_field(char *s, size_t cap, int lo, int hi, const char *const *names, int nbase)
{
    int n = 1 + (int)rnd(3);
    for (int i = 0; i < n; i++) {
        if (i) strncat(s, ",", cap - strlen(s) - 1);
        gen_item(s, cap, lo, hi, names, nbase);
    }
    strncat(s, " ", cap - strlen(s) - 1);
}

static int naive_day(const vg_cron_t *c, const struct tm *tm)
{
    int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    if (c->dom_any || c->dow_any) return dom && dow;
    return dom || dow;
}

static int naive_match(const vg_cron_t *c, const struct tm *tm)
{
    return ((c->minute >> tm->tm_min) & 1) && ((c->hour >> tm->tm_hour) & 1) &&
           ((c->month >> (tm->tm_mon + 1)) & 1) && naive_day(c, tm);
}

/* The first UTC-minute-aligned instant after `after_s` within `window` minutes whose local
 * time matches and whose wall-clock minute did not already occur an hour before (the second
 * pass of a DST overlap), or -1. Valid for zones with whole-hour offsets and DST shifts. */
static int64_t naive_next(const vg_cron_t *c, int64_t after_s, int window)
{
    int64_t t = (after_s / 60 - (after_s % 60 < 0)) * 60 + 60;
    for (int i = 0; i < window; i++, t += 60) {
        time_t tt = (time_t)t, prev = (time_t)(t - 3600);
        struct tm tm, ptm;
        localtime_r(&tt, &tm);
        if (!naive_match(c, &tm)) continue;
        localtime_r(&prev, &ptm);
        if (ptm.tm_hour == tm.tm_hour && ptm.tm_min == tm.tm_min && ptm.tm_mday == tm.tm_mday)
            continue; /* a repeated wall-clock minute fires once */
        return t;
    }
    return -1;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* Random expressions from a fixed seed at random instants: vg_cron_next agrees with the naive
 * scan over `window` minutes (beyond it, the answer must at least lie beyond the window). */
static void property_run(int samples, int window, int64_t from_s, int64_t span_s)
{
    for (int n = 0; n < samples; n++) {
        char expr[VG_CRON_EXPR_MAX] = "";
        gen_field(expr, sizeof expr, 0, 59, NULL, 0);
        gen_field(expr, sizeof expr, 0, 23, NULL, 0);
        if (rnd(3) == 0)
            strncat(expr, "* ", sizeof expr - strlen(expr) - 1);
        else
            gen_field(expr, sizeof expr, 1, 31, NULL, 0);
        if (rnd(2) == 0)
            strncat(expr, "* ", sizeof expr - strlen(expr) - 1);
        else
            gen_field(expr, sizeof expr, 1, 12, months, 1);
        if (rnd(3) == 0)
            strncat(expr, "*", sizeof expr - strlen(expr) - 1);
        else
            gen_field(expr, sizeof expr, 0, 6, days, 0);
        vg_cron_t c = parse_ok(expr);
        int64_t after_s = from_s + (int64_t)rnd((uint32_t)span_s);
        int64_t after_ms = after_s * 1000 + (int64_t)rnd(1000);
        int64_t got = vg_cron_next(&c, after_ms);
        int64_t want = naive_next(&c, after_s, window);
        int ok = want >= 0 ? got == want * 1000
                           : got == -1 || got > (after_s + (int64_t)window * 60) * 1000;
        if (!ok)
            fprintf(stderr, "  \"%s\" after %lld ms: got %lld, naive %lld s\n", expr,
                    (long long)after_ms, (long long)got, (long long)want);
        CHECK(ok);
    }
}

static void test_next_property_utc(void)
{
    set_tz("UTC");
    rng_state = 0x9e3779b97f4a7c15u;
    /* 1990..2050, a window of 120 days */
    property_run(400, 120 * 1440, 631152000, 60LL * 365 * 86400 / 2);
}

/* Europe/Berlin from tzdata, or the same rules as a POSIX TZ string that needs no files. */
static void set_berlin(void)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0)
        set_tz("Europe/Berlin");
    else
        set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
}

static void test_next_dst(void)
{
    set_berlin();
    /* 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 2024-10-27: 03:00 CEST falls back
     * to 02:00 CET (01:00 UTC). Instants are written in UTC. */
    static const struct {
        const char *expr, *after, *expected;
    } cases[] = {
        /* a skipped wall-clock minute does not fire */
        {"30 2 * * *", "2024-03-30 12:00", "2024-04-01 00:30"},
        {"0 2 * * *", "2024-03-30 12:00", "2024-04-01 00:00"},
        {"* * * * *", "2024-03-31 00:59", "2024-03-31 01:00"}, /* 01:59 CET, then 03:00 CEST */
        {"59 1 * * *", "2024-03-30 12:00", "2024-03-31 00:59"},
        {"0 3 * * *", "2024-03-30 12:00", "2024-03-31 01:00"},
        {"*/30 2 31 3 *", "2024-03-30 12:00", "2025-03-31 00:00"}, /* a Monday, 02:00 CEST */
        /* a repeated wall-clock minute fires once, at its first (summer-time) occurrence */
        {"30 2 * * *", "2024-10-27 00:00", "2024-10-27 00:30"},
        {"30 2 * * *", "2024-10-27 00:30", "2024-10-28 01:30"},
        {"30 2 * * *", "2024-10-27 01:10", "2024-10-28 01:30"},   /* after = 02:10 CET */
        {"*/15 * * * *", "2024-10-27 00:50", "2024-10-27 02:00"}, /* 02:50 CEST to 03:00 CET */
        {"* * * * *", "2024-10-27 01:10", "2024-10-27 02:00"},
        {"* * * * *", "2024-10-27 00:58", "2024-10-27 00:59"},
        {"0 3 * * *", "2024-10-27 00:00", "2024-10-27 02:00"},
        {"0 0 * * *", "2024-10-26 12:00", "2024-10-26 22:00"}, /* midnight CEST */
        {"0 0 * * *", "2024-10-26 22:00", "2024-10-27 23:00"}, /* midnight CET */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vg_cron_t c = parse_ok(cases[i].expr);
        int64_t got = vg_cron_next(&c, utc_ms(cases[i].after));
        int64_t want = utc_ms(cases[i].expected);
        if (got != want)
            fprintf(stderr, "  Berlin \"%s\" after %s UTC: want %s UTC\n", cases[i].expr,
                    cases[i].after, cases[i].expected);
        CHECK_EQ_INT(got, want);
    }
    /* random expressions near the 2024 and 2031 transitions, against the naive scan */
    rng_state = 12345;
    property_run(150, 40 * 1440, utc_ms("2024-03-24 00:00") / 1000, 14 * 86400);
    property_run(150, 40 * 1440, utc_ms("2024-10-20 00:00") / 1000, 14 * 86400);
    property_run(100, 40 * 1440, utc_ms("2031-03-23 00:00") / 1000, 14 * 86400);
    property_run(100, 40 * 1440, utc_ms("2031-10-19 00:00") / 1000, 14 * 86400);
    set_tz("UTC");
}

VG_TEST_MAIN(VG_TEST(test_parse_forms) VG_TEST(test_parse_errors) VG_TEST(test_next_utc)
                 VG_TEST(test_next_property_utc) VG_TEST(test_next_dst))
