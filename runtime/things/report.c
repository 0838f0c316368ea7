/* report.c: property and event reports from drivers. A report's shape is checked (its values
 * are the driver's business), property values go into the cache, and the body is published on
 * the device's Alink topic for routes and functions to pick up. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"
#include "core/json.h"

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

/* Publishes the compact JSON of `body` on `topic` from the device. */
static void things__publish(things_t *t, things_device_t *d, const char *topic, json_t *body)
{
    if (!t->bus) return;
    char *text = json_dumps(body, VG_JSON_FLAGS);
    bus_msg_t *m = text ? bus_msg_create(topic, d->source, text, strlen(text)) : NULL;
    if (!m)
        vg_error(&t->ctx->log, "out of memory: a report of %s/%s is not published", d->pk, d->dn);
    else
        bus_publish(t->bus, m);
    bus_msg_unref(m);
    free(text);
}

int things_report_properties(things_t *t, things_device_t *d, json_t *body)
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
    things__publish(t, d, d->topic, body);
    return 0;
}

int things_report_event(things_t *t, things_device_t *d, const char *event, json_t *body)
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
    things__publish(t, d, topic, body);
    return 0;
}
