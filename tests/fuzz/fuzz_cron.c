/* fuzz_cron.c: libFuzzer target for the cron parser and the next-firing search, which read the
 * timer schedules of deployed bundles. A parsed expression must, from a few instants, yield
 * -1 or a later minute-aligned instant that matches, with no earlier match close before it. */
#include "core/cron.h"
#include "core/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether local minute `t` (seconds) fires for c: its fields match and it is not the second
 * pass of a wall-clock minute repeated by a DST change (the zone below shifts by one hour). */
static int fires(const vg_cron_t *c, time_t t)
{
    struct tm tm, prev;
    time_t p = t - 3600;
    if (!localtime_r(&t, &tm) || !localtime_r(&p, &prev)) abort();
    int dom = (c->dom >> tm.tm_mday) & 1, dow = (c->dow >> tm.tm_wday) & 1;
    int day = c->dom_any || c->dow_any ? dom && dow : dom || dow;
    int match = ((c->minute >> tm.tm_min) & 1) && ((c->hour >> tm.tm_hour) & 1) &&
                ((c->month >> (tm.tm_mon + 1)) & 1) && day;
    int repeated =
        prev.tm_mday == tm.tm_mday && prev.tm_hour == tm.tm_hour && prev.tm_min == tm.tm_min;
    return match && !repeated;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int tz_set;
    if (!tz_set) { /* Central European rules, with DST, from a string: no tzdata needed */
        setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
        tzset();
        tz_set = 1;
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the parser takes a string; NULs inside simply end it */

    vg_cron_t c, before;
    memset(&c, 0x5a, sizeof c);
    before = c;
    char err[512];
    err[0] = 'x';
    int rc = vg_cron_parse(text, &c, err, sizeof err);
    if (rc != 0) {
        if (rc != VG_EINVAL || memcmp(&c, &before, sizeof c) != 0) abort();
        if (strnlen(err, sizeof err) >= sizeof err || err[0] == '\0') abort();
        free(text);
        return 0;
    }
    uint32_t h = 2166136261u; /* FNV-1a of the input: one more instant that varies */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    const int64_t afters[] = {
        0,
        1711845000000, /* 2024-03-31 00:30 UTC, half an hour before the spring gap */
        1729989000000, /* 2024-10-27 00:30 UTC, in the first pass of the repeated hour */
        4012416000123, /* 2097-02-23, the eight-year bound over 2100 */
        (int64_t)h * 1000 + 7,
    };
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
        int64_t next = vg_cron_next(&c, afters[i]);
        if (next == -1) continue;
        if (next <= afters[i] || next % 60000 != 0) abort();
        if (!fires(&c, (time_t)(next / 1000))) abort();
        /* no firing minute was skipped in the three hours before it */
        int64_t first = afters[i] / 60000 * 60000 + 60000;
        int64_t from = next - 3 * 3600000 > first ? next - 3 * 3600000 : first;
        for (int64_t t = from; t < next; t += 60000)
            if (fires(&c, (time_t)(t / 1000))) abort();
    }
    free(text);
    return 0;
}
