/* cron.h: five-field cron expressions ("minute hour day-of-month month day-of-week", as in
 * crontab(5)) parsed into bit sets, and the next firing time after a given instant, in the
 * gateway's local time. Used by function timers; pure computation, no state. */
#ifndef VG_CORE_CRON_H
#define VG_CORE_CRON_H

#include <stddef.h>
#include <stdint.h>

#define VG_CRON_EXPR_MAX 256 /* bytes of one expression */

/* A parsed expression: bit i of each set means value i is allowed. */
typedef struct vg_cron {
    uint64_t minute; /* 0..59 */
    uint32_t hour;   /* 0..23 */
    uint32_t dom;    /* 1..31 */
    uint16_t month;  /* 1..12 */
    uint8_t dow;     /* 0..6, Sunday 0 (7 is accepted as Sunday too) */
    int dom_any;     /* the day-of-month field was "*" */
    int dow_any;     /* the day-of-week field was "*" */
} vg_cron_t;

/* Parses `expr`: five fields separated by blanks, each a list of "*", N, N-M, with an
 * optional "/STEP", month and weekday names (jan..dec, sun..sat, any case) accepted, or one
 * of the macros @yearly @annually @monthly @weekly @daily @midnight @hourly. As in cron,
 * when both day fields are restricted a day matching either one fires. Returns 0 and *out,
 * or VG_EINVAL with a sentence in `err` naming the field, the text and what was expected,
 * e.g. `minute "75": expected 0..59`. On error *out is untouched. */
int vg_cron_parse(const char *expr, vg_cron_t *out, char *err, size_t errlen);

/* The first instant strictly after `after_ms` (Unix ms) at which `c` fires, in ms at the
 * start of that minute, local time (localtime_r/mktime; a wall-clock minute skipped by a DST
 * change does not fire, one repeated fires once). Returns -1 when none comes within the next
 * eight years (e.g. "0 0 30 2 *"). */
int64_t vg_cron_next(const vg_cron_t *c, int64_t after_ms);

#endif
