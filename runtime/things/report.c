/* report.c: property and event reports from drivers. A report's shape is checked (its values
 * are the driver's business), property values go into the cache, and the body is published on
 * the device's Alink topic for routes and functions to pick up. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"
#include "core/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THINGS__PROP_NAME_MAX 63 /* the SDK's key buffer is 64 bytes */

/* Reads an optional report time: an integer >= 0 or a string of 1..19 digits; absent is now.
 * Returns 0 and *out, or VG_EINVAL. */
static int things__report_time(json_t *v, int64_t *out)
{
    if (!v) {
        *out = vg_time_ms();
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (n == 0 || n > 18) return VG_EINVAL;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return VG_EINVAL;
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 0;
}

/* ---- the body's text as json_dumps writes it ----------------------------------------------- */

/* Skips the bytes of a string that need no escape (not a quote, a backslash or a control
 * character) eight at a time; returns where one that may need it is, or the last few bytes. */
static const char *things__str_run(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t q = v ^ (ones * '"'), e = v ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((e - ones) & ~e) | ((v - ones * 0x20) & ~v)) & highs) break;
        p += 8;
    }
    return p;
}

static int things__digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Returns 1 when number `s` (`n` bytes, JSON's grammar) is printed back the same: an integer
 * "%lld" prints ("-0" is "0"); a real "%.15g" prints, with ".0" appended when that has no '.',
 * as json_dumps(JSON_REAL_PRECISION(15)) does. A decimal of at most 15 significant digits is
 * the one "%.15g" prints for the double nearest to it (DBL_DIG is 15), in fixed notation when
 * its exponent is in -4..14, without trailing zeros. Exponents are not vouched for. */
static int things__number_compact(const char *s, size_t n)
{
    size_t i = (size_t)(s[0] == '-'), ib = i;
    while (i < n && things__digit(s[i]))
        i++;
    size_t ilen = i - ib;
    int izero = ilen == 1 && s[ib] == '0';
    if (i == n) return !(izero && ib == 1);
    if (s[i] != '.') return 0;
    size_t fb = ++i;
    while (i < n && things__digit(s[i]))
        i++;
    size_t flen = i - fb;
    if (i != n || flen == 0) return 0;
    if (flen == 1 && s[fb] == '0') return ilen <= 15; /* integral: "%.15g" prints "I", then ".0" */
    if (s[n - 1] == '0') return 0;                    /* "%g" drops trailing zeros */
    if (!izero) return ilen + flen <= 15;
    size_t z = 0; /* 0.000ddd: the exponent is -(z + 1) */
    while (s[fb + z] == '0')
        z++;
    return z <= 3 && flen - z <= 15;
}

int things__json_compact(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            for (p++;;) {
                p = things__str_run(p, end);
                while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                    p++;
                if (p >= end) return 0;
                if (*p == '"') break;
                if (*p != '\\' || end - p < 2 || !p[1] || !strchr("\"\\bfnrt", p[1]))
                    return 0; /* a control character, \/ or \u: json_dumps writes them otherwise */
                p += 2;
            }
            p++;
        } else if (c == '-' || things__digit(c)) {
            const char *s = p;
            while (p < end && (things__digit(*p) || *p == '-' || *p == '+' || *p == '.' ||
                               *p == 'e' || *p == 'E'))
                p++;
            if (!things__number_compact(s, (size_t)(p - s))) return 0;
        } else if (c == 't' || c == 'f' || c == 'n') { /* true, false, null */
            while (p < end && *p >= 'a' && *p <= 'z')
                p++;
        } else if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
            p++;
        } else {
            return 0; /* whitespace */
        }
    }
    return 1;
}

/* Publishes `body` on `topic` from the device: `raw` as it is when it is what json_dumps would
 * write, else the compact JSON of `body`. */
static void things__publish(things_t *t, things_device_t *d, const char *topic, json_t *body,
                            const char *raw, size_t raw_len)
{
    if (!t->bus) return;
    char *text = NULL;
    if (!raw || !things__json_compact(raw, raw_len)) {
        text = json_dumps(body, VG_JSON_FLAGS);
        raw = text;
        raw_len = text ? strlen(text) : 0;
    }
    bus_msg_t *m = raw ? bus_msg_create(topic, d->source, raw, raw_len) : NULL;
    if (!m)
        vg_error(&t->ctx->log, "out of memory: a report of %s/%s is not published", d->pk, d->dn);
    else
        bus_publish(t->bus, m);
    bus_msg_unref(m);
    free(text);
}

int things_report_properties(things_t *t, things_device_t *d, json_t *body)
{
    return things_report_properties_raw(t, d, body, NULL, 0);
}

int things_report_properties_raw(things_t *t, things_device_t *d, json_t *body, const char *raw,
                                 size_t raw_len)
{
    const char *key;
    json_t *item;
    int64_t time_ms;
    if (!json_is_object(body) || json_object_size(body) == 0) return VG_EINVAL;
    json_object_foreach(body, key, item)
    {
        size_t n = strlen(key);
        if (n == 0 || n > THINGS__PROP_NAME_MAX || !json_is_object(item) ||
            !json_object_get(item, "value") ||
            things__report_time(json_object_get(item, "time"), &time_ms) != 0)
            return VG_EINVAL;
    }
    json_object_foreach(body, key, item)
    {
        things__report_time(json_object_get(item, "time"), &time_ms);
        if (things__cache_put(t, d, key, strlen(key), json_object_get(item, "value"), time_ms))
            vg_error(&t->ctx->log, "out of memory: %s of %s/%s is not cached", key, d->pk, d->dn);
    }
    if (t->m_reports_props) t->m_reports_props->value += 1;
    things__publish(t, d, d->topic, body, raw, raw_len);
    return 0;
}

int things_report_event(things_t *t, things_device_t *d, const char *event, json_t *body)
{
    return things_report_event_raw(t, d, event, body, NULL, 0);
}

int things_report_event_raw(things_t *t, things_device_t *d, const char *event, json_t *body,
                            const char *raw, size_t raw_len)
{
    char topic[2 * THINGS_NAME_MAX + THINGS__ID_MAX + 32];
    int64_t time_ms;
    json_t *params = json_object_get(body, "params");
    if (!things__identifier_ok(event) || strcmp(event, "property") == 0 ||
        !json_is_object(params) || !json_is_object(json_object_get(params, "value")) ||
        things__report_time(json_object_get(params, "time"), &time_ms) != 0)
        return VG_EINVAL;
    snprintf(topic, sizeof topic, "/sys/%s/%s/thing/event/%s/post", d->pk, d->dn, event);
    if (t->m_reports_events) t->m_reports_events->value += 1;
    things__publish(t, d, topic, body, raw, raw_len);
    return 0;
}
