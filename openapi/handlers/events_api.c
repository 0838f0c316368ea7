/* events_api.c: POST /thing/device/events/get (seed 3.4.6): a chunked response that stays
 * open, one JSON object per chunk: each matching device event, and a heartbeat every
 * events.heartbeat_ms. A stream whose client reads too slowly (more than
 * events.max_queue_bytes waiting) gets a last chunk saying so and is closed; nobody else
 * waits for it. Each event is formatted once, however many streams receive it. */
#include "core/error.h"
#include "core/json.h"
#include "handlers/api_int.h"

#include <stdlib.h>
#include <string.h>

static const char api__heartbeat[] = "{\"code\":204,\"message\":\"heartbeats\",\"data\":null}";

/* One subscription of a stream: a device (or every device) and an optional identifier set. */
typedef struct api__filter {
    api__stream_t *stream;
    bus_sub_t *sub;
    json_t *ids; /* array of event identifiers; NULL: every event */
} api__filter_t;

struct api__stream {
    api__stream_t *prev, *next;
    api_t *api;
    api_call_t *call;
    api__filter_t *filters;
    size_t nfilters;
    int in_send; /* a write is under way: a close then only marks the stream dead */
    int dead;
};

/* ---- life of a stream ----------------------------------------------------------------- */

static void api__stream_destroy(api__stream_t *s)
{
    api__events_t *ev = &s->api->events;
    for (size_t i = 0; i < s->nfilters; i++)
        if (s->filters[i].sub) bus_unsubscribe(s->api->deps.bus, s->filters[i].sub);
    free(s->filters);
    if (s->prev)
        s->prev->next = s->next;
    else
        ev->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    ev->count--;
    ev->m_streams->value = ev->count;
    if (ev->count == 0 && ev->heartbeat_init) uv_timer_stop(&ev->heartbeat);
    api__count(s->call, 200);
    http_stream_end(s->call->req, 1); /* frees the request (detached or not) */
    api__call_free(s->call);
    free(s);
}

/* The client went away. */
static void api__on_close(http_request_t *req)
{
    api__stream_t *s = req->user;
    if (s->in_send)
        s->dead = 1;
    else
        api__stream_destroy(s);
}

/* Writes one chunk, or cuts the stream off when its client is too far behind. Returns 0 while
 * the stream lives, -1 once it is gone (it must not be touched then). */
static int api__stream_send(api__stream_t *s, const char *chunk, size_t len)
{
    api__events_t *ev = &s->api->events;
    http_request_t *req = s->call->req;
    s->in_send = 1;
    if (http_stream_queued(req) + len > (size_t)s->api->deps.ctx->cfg.events_max_queue_bytes) {
        static const char cut[] =
            "{\"code\":503,\"message\":\"event stream closed: this client read too slowly "
            "(more than events.max_queue_bytes waiting to be sent)\",\"data\":null}";
        http_stream_write(req, cut, sizeof cut - 1);
        ev->m_cut->value += 1;
        s->in_send = 0;
        api__stream_destroy(s);
        return -1;
    }
    int rc = http_stream_write(req, chunk, len);
    s->in_send = 0;
    if (rc || s->dead) {
        api__stream_destroy(s);
        return -1;
    }
    ev->m_sent->value += 1;
    return 0;
}

static void api__on_heartbeat(uv_timer_t *t)
{
    api_t *api = t->data;
    for (api__stream_t *s = api->events.streams, *next; s; s = next) {
        next = s->next;
        api__stream_send(s, api__heartbeat, sizeof api__heartbeat - 1);
    }
}

/* ---- events --------------------------------------------------------------------------- */

/* Splits "/sys/<pk>/<dn>/thing/event/<id>/post" into its parts (copied into `buf`). Returns 0,
 * or -1 for any other topic. */
static int api__event_topic(const char *topic, char *buf, size_t len, const char **pk,
                            const char **dn, const char **id)
{
    if (strncmp(topic, "/sys/", 5) != 0 || strlen(topic) >= len) return -1;
    strcpy(buf, topic + 5);
    char *parts[6];
    size_t n = 0;
    for (char *p = buf; n < 6; n++) {
        parts[n] = p;
        char *slash = strchr(p, '/');
        if (!slash) {
            n++;
            break;
        }
        *slash = '\0';
        p = slash + 1;
    }
    if (n != 6 || strcmp(parts[2], "thing") || strcmp(parts[3], "event") ||
        strcmp(parts[5], "post"))
        return -1;
    *pk = parts[0];
    *dn = parts[1];
    *id = parts[4];
    return 0;
}

/* The chunk for message `m`, made once and shared by every stream it reaches. */
static int api__event_chunk(api_t *api, bus_msg_t *m, const char *pk, const char *dn,
                            const char *id)
{
    api__events_t *ev = &api->events;
    if (ev->chunk_msg == m) return 0;
    bus_msg_unref(ev->chunk_msg);
    free(ev->chunk);
    ev->chunk_msg = NULL;
    ev->chunk = NULL;
    json_t *body = json_loadb(m->payload, m->len, 0, NULL);
    json_t *time = json_object_get(json_object_get(body, "params"), "time");
    json_t *info = things_product_event(api->deps.things, pk, id);
    const char *type = info ? json_string_value(json_object_get(info, "type")) : NULL;
    const char *name = info ? json_string_value(json_object_get(info, "name")) : NULL;
    json_t *o =
        json_pack("{s:i,s:s,s:{s:{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o},s:I}}", "code", 200,
                  "message", "success", "data", "items", "productKey", pk, "deviceName", dn,
                  "iotId", "", "eventCode", id, "eventName", name ? name : id, "eventType",
                  type ? type : "info", "eventBody", body ? body : json_object(), "batchId", "",
                  "timestamp", time ? json_incref(time) : json_integer((json_int_t)m->time_ms),
                  "timestamp", (json_int_t)vg_time_ms());
    ev->chunk = o ? json_dumps(o, VG_JSON_FLAGS) : NULL;
    json_decref(o);
    if (!ev->chunk) return -1;
    ev->chunk_len = strlen(ev->chunk);
    ev->chunk_msg = bus_msg_ref(m);
    return 0;
}

static void api__on_event(void *data, bus_msg_t *m)
{
    api__filter_t *f = data;
    char buf[512];
    const char *pk, *dn, *id;
    if (api__event_topic(m->topic, buf, sizeof buf, &pk, &dn, &id) || strcmp(id, "property") == 0)
        return;
    if (f->ids) {
        size_t i;
        json_t *v;
        int want = 0;
        json_array_foreach(f->ids, i, v) if (strcmp(json_string_value(v), id) == 0) want = 1;
        if (!want) return;
    }
    api__stream_t *s = f->stream;
    if (s->dead || api__event_chunk(s->api, m, pk, dn, id)) return;
    api__stream_send(s, s->api->events.chunk, s->api->events.chunk_len);
}

/* ---- the endpoint --------------------------------------------------------------------- */

/* Checks params.eventInfo (or the seed's spelling "eventinfo"). Answers 400/404 and returns
 * NULL on error; otherwise the array (borrowed). */
static json_t *api__event_info(api_call_t *call)
{
    json_t *info = call->params ? json_object_get(call->params, "eventInfo") : NULL;
    if (!info && call->params) info = json_object_get(call->params, "eventinfo");
    if (!json_is_array(info)) {
        api_error(call, 400, NULL, NULL,
                  "params.eventInfo: %s; expected an array of {productKey, deviceName, "
                  "eventIdentifier} ([] for every event of every device)",
                  info ? "not an array" : "missing");
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(info, i, e)
    {
        const char *pk = json_string_value(json_object_get(e, "productKey"));
        const char *dn = json_string_value(json_object_get(e, "deviceName"));
        json_t *ids = json_object_get(e, "eventIdentifier");
        if (!json_is_object(e) || !pk || !dn) {
            api_error(call, 400, NULL, NULL,
                      "params.eventInfo[%zu]: expected an object with productKey and "
                      "deviceName (strings)",
                      i);
            return NULL;
        }
        if (ids && !json_is_null(ids)) {
            size_t k;
            json_t *v;
            int ok = json_is_array(ids);
            if (ok) json_array_foreach(ids, k, v) ok = ok && json_is_string(v);
            if (!ok) {
                api_error(call, 400, NULL, NULL,
                          "params.eventInfo[%zu].eventIdentifier: expected an array of strings", i);
                return NULL;
            }
        }
        if (!things_device_find(api_deps(call->api)->things, pk, dn)) {
            api_error(call, 404, json_pack("{s:i}", "errorCode", THINGS_E_DEVICE_UNREGISTER), NULL,
                      "params.eventInfo[%zu]: device %s/%s is not registered", i, pk, dn);
            return NULL;
        }
    }
    return info;
}

void api_device_events(api_call_t *call)
{
    api_t *api = call->api;
    api__events_t *ev = &api->events;
    json_t *info = api__event_info(call);
    if (!info) return;
    if (ev->count >= api->deps.ctx->cfg.events_max_subscribers) {
        api_error(call, 503, NULL, NULL, "too many open event streams (events.max_subscribers)");
        return;
    }
    api__stream_t *s = calloc(1, sizeof *s);
    size_t n = json_array_size(info);
    api__filter_t *filters = calloc(n ? n : 1, sizeof *filters);
    if (!s || !filters) {
        free(s);
        free(filters);
        api_error(call, 500, NULL, NULL, "out of memory");
        return;
    }
    s->api = api;
    s->call = call;
    s->filters = filters;
    s->nfilters = n ? n : 1;
    int rc = 0;
    for (size_t i = 0; i < s->nfilters && rc == 0; i++) {
        char topic[300] = "/sys/+/+/thing/event/+/post";
        json_t *e = n ? json_array_get(info, i) : NULL;
        if (e) {
            snprintf(topic, sizeof topic, "/sys/%s/%s/thing/event/+/post",
                     json_string_value(json_object_get(e, "productKey")),
                     json_string_value(json_object_get(e, "deviceName")));
            json_t *ids = json_object_get(e, "eventIdentifier");
            filters[i].ids = json_array_size(ids) ? ids : NULL; /* [] means every event */
        }
        filters[i].stream = s;
        rc = bus_subscribe(api->deps.bus, topic, api__on_event, &filters[i], &filters[i].sub);
    }
    if (rc) {
        for (size_t i = 0; i < s->nfilters; i++)
            if (filters[i].sub) bus_unsubscribe(api->deps.bus, filters[i].sub);
        free(filters);
        free(s);
        api_error(call, 500, NULL, NULL, "cannot subscribe: %s", vg_strerror(rc));
        return;
    }
    s->next = ev->streams;
    if (ev->streams) ev->streams->prev = s;
    ev->streams = s;
    ev->count++;
    ev->m_streams->value = ev->count;
    if (http_stream_begin(call->req, 200, "application/json", NULL)) {
        api__stream_destroy(s); /* the client is gone already */
        return;
    }
    call->req->user = s;
    call->req->on_close = api__on_close;
    if (!uv_is_active((uv_handle_t *)&ev->heartbeat)) {
        uint64_t every = (uint64_t)api->deps.ctx->cfg.events_heartbeat_ms;
        uv_timer_start(&ev->heartbeat, api__on_heartbeat, every, every);
    }
}

int api__events_init(api_t *api)
{
    api__events_t *ev = &api->events;
    vg_metrics_t *m = api->deps.ctx->metrics;
    int rc = vg_metrics_declare(m, "verge_events_streams", VG_METRIC_GAUGE,
                                "Open /thing/device/events/get streams.");
    rc |= vg_metrics_declare(m, "verge_events_chunks_total", VG_METRIC_COUNTER,
                             "Chunks (events and heartbeats) written to event streams.");
    rc |= vg_metrics_declare(m, "verge_events_cut_total", VG_METRIC_COUNTER,
                             "Event streams closed because their client read too slowly.");
    ev->m_streams = vg_metrics_series(m, "verge_events_streams", NULL);
    ev->m_sent = vg_metrics_series(m, "verge_events_chunks_total", NULL);
    ev->m_cut = vg_metrics_series(m, "verge_events_cut_total", NULL);
    if (rc || !ev->m_streams || !ev->m_sent || !ev->m_cut) return VG_ENOMEM;
    if (api->deps.bus) {
        uv_timer_init(api->deps.ctx->loop, &ev->heartbeat);
        ev->heartbeat.data = api;
        uv_unref((uv_handle_t *)&ev->heartbeat);
        ev->heartbeat_init = 1;
    }
    return 0;
}

void api__events_close(api_t *api)
{
    api__events_t *ev = &api->events;
    bus_msg_unref(ev->chunk_msg);
    free(ev->chunk);
    ev->chunk_msg = NULL;
    ev->chunk = NULL;
}
