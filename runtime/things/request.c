/* request.c: device requests (get / set / service) as the OpenAPI and functions make them.
 * Each is checked against the device's TSL before anything is sent, then goes through the
 * device's port with drivers.call_timeout_ms; its answer is delivered on a later loop turn by the
 * request's own timer, which also guards against a port that never answers. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { THINGS__REQ_GET, THINGS__REQ_SET, THINGS__REQ_SERVICE } things__req_kind_t;

/* What the port gets as the `data` of its callback: outlives the request when the port answers
 * late, and lingers in t->recent after the answer so a second answer is recognized. */
struct things__ticket {
    things_t *t;
    things__req_t *req;            /* NULL once the request was answered another way */
    int answered;                  /* the port called back */
    things__ticket_t *prev, *next; /* in t->tickets until answered */
};

struct things__req {
    things_t *t;
    things__req_t *prev, *next; /* in t->reqs until delivered */
    uv_timer_t timer;           /* 0 ms to deliver; timeout + guard while waiting for the port */
    things__ticket_t *ticket;   /* while waiting for the port */
    things__req_kind_t kind;
    int waiting;
    things_device_t *dev;
    json_t *names; /* get: the identifiers asked for */
    int allow_cache;
    things_result_fn cb;
    void *data;
    things_result_t res;
    json_t *res_data; /* owned; handed out as res.data */
    char msg[512];
};

/* --- delivery --------------------------------------------------------------------------------- */

static void things__req_closed(uv_handle_t *h)
{
    free(h->data);
}

static void things__req_deliver(things__req_t *r)
{
    things_t *t = r->t;
    if (r->prev)
        r->prev->next = r->next;
    else
        t->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->res.message = r->msg;
    r->res.data = r->res_data;
    if (r->cb) r->cb(r->data, &r->res);
    json_decref(r->res_data);
    json_decref(r->names);
    uv_close((uv_handle_t *)&r->timer, things__req_closed);
}

static void things__req_guard(things__req_t *r);

static void things__req_fire(uv_timer_t *timer)
{
    things__req_t *r = timer->data;
    if (r->waiting)
        things__req_guard(r);
    else
        things__req_deliver(r);
}

/* Sets the result (`data` is stolen) and delivers it on the next loop turn. */
static void things__answer(things__req_t *r, int code, json_t *data, int from_cache,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void things__answer(things__req_t *r, int code, json_t *data, int from_cache,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->waiting = 0;
    r->res.code = code;
    r->res.from_cache = from_cache;
    json_decref(r->res_data);
    r->res_data = data;
    uv_timer_start(&r->timer, things__req_fire, 0, 0);
}

static things__req_t *things__req_new(things_t *t, things__req_kind_t kind, things_result_fn cb,
                                      void *data)
{
    things__req_t *r = calloc(1, sizeof *r);
    if (!r) {
        /* Without a request there is no way to answer later, as the contract promises. */
        vg_error(&t->ctx->log, "out of memory for a device request");
        abort();
    }
    r->t = t;
    r->kind = kind;
    r->cb = cb;
    r->data = data;
    uv_timer_init(t->ctx->loop, &r->timer);
    r->timer.data = r;
    r->next = t->reqs;
    if (t->reqs) t->reqs->prev = r;
    t->reqs = r;
    return r;
}

/* --- the cache as a fallback for get -----------------------------------------------------------
 */

/* Answers a get from the cache when any asked property is cached. Returns 1 when answered. */
static int things__from_cache(things__req_t *r, const char *why)
{
    json_t *out = json_object();
    if (!out) return 0;
    for (size_t i = 0; i < json_array_size(r->names); i++) {
        const char *id = json_string_value(json_array_get(r->names, i));
        things__entry_t *e = things__cache_entry(r->dev, id);
        if (e && e->value) json_object_set(out, id, e->value);
    }
    if (json_object_size(out) == 0) {
        json_decref(out);
        return 0;
    }
    things__answer(r, 0, out, 1, "device %s/%s %s; the values come from the cache", r->dev->pk,
                   r->dev->dn, why);
    return 1;
}

/* The port failed the call (timeout, driver gone...). */
static void things__port_failed(things__req_t *r, int code, const char *message)
{
    things_t *t = r->t;
    things_device_t *d = r->dev;
    int transport = code == THINGS_E_TIMEOUT || code == THINGS_E_SERVICE_UNREACHABLE;
    if (r->kind == THINGS__REQ_GET && r->allow_cache && transport &&
        things__from_cache(r, code == THINGS_E_TIMEOUT ? "did not answer in time"
                                                       : "cannot be reached"))
        return;
    if (code == THINGS_E_TIMEOUT)
        things__answer(r, code, NULL, 0, "device %s/%s: its driver did not answer within %lld ms",
                       d->pk, d->dn, (long long)t->ctx->cfg.driver_call_timeout_ms);
    else
        things__answer(r, code, NULL, 0, "device %s/%s: %s", d->pk, d->dn,
                       message && *message ? message : things_strerror(code));
}

/* --- the port ------------------------------------------------------------------------------- */

static void things__ticket_unlink(things_t *t, things__ticket_t *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        t->tickets = k->next;
    if (k->next) k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

/* Keeps an answered ticket among the last THINGS_RECENT_CALLS, freeing the oldest. */
static void things__ticket_retire(things_t *t, things__ticket_t *k)
{
    if (t->recent_len == THINGS_RECENT_CALLS) {
        free(t->recent[t->recent_head]);
        t->recent[t->recent_head] = k;
        t->recent_head = (t->recent_head + 1) % THINGS_RECENT_CALLS;
    } else {
        t->recent[(t->recent_head + t->recent_len++) % THINGS_RECENT_CALLS] = k;
    }
}

/* The driver's reply object to a call that reached it. */
static void things__driver_reply(things__req_t *r, json_t *reply)
{
    things_device_t *d = r->dev;
    json_t *jcode = json_object_get(reply, "code"), *params = json_object_get(reply, "params");
    const char *dmsg = json_string_value(json_object_get(reply, "message"));
    if (!json_is_object(reply) || (jcode && !json_is_integer(jcode))) {
        things__answer(r, THINGS_E_INVALID_JSON, NULL, 0,
                       "device %s/%s: the driver's reply is not an object with an integer code",
                       d->pk, d->dn);
        return;
    }
    int code = jcode ? (int)json_integer_value(jcode) : 0;
    if (r->kind == THINGS__REQ_SERVICE) {
        if (params && !json_is_object(params)) {
            things__answer(r, THINGS_E_INVALID_JSON, NULL, 0,
                           "device %s/%s: the driver's reply has params that are not an object",
                           d->pk, d->dn);
            return;
        }
        things__answer(r, code, params ? json_incref(params) : json_object(), 0, "%s",
                       dmsg && *dmsg ? dmsg : things_strerror(code));
        return;
    }
    const char *what = r->kind == THINGS__REQ_GET ? "get" : "set";
    if (code != 0) {
        things__answer(r, code, NULL, 0, "device %s/%s: the driver failed the %s: %s", d->pk, d->dn,
                       what, dmsg && *dmsg ? dmsg : things_strerror(code));
        return;
    }
    if (r->kind == THINGS__REQ_SET) {
        things__answer(r, 0, json_object(), 0, "Ok");
        return;
    }
    if (!json_is_object(params)) {
        things__answer(r, THINGS_E_INVALID_JSON, NULL, 0,
                       "device %s/%s: the driver's get reply has no params object", d->pk, d->dn);
        return;
    }
    json_t *out = json_object();
    int64_t now = vg_time_ms();
    for (size_t i = 0; out && i < json_array_size(r->names); i++) {
        const char *id = json_string_value(json_array_get(r->names, i));
        json_t *v = json_object_get(params, id);
        if (!v) continue;
        json_object_set(out, id, v);
        things__cache_put(r->t, d, id, strlen(id), v, now);
    }
    things__answer(r, out ? 0 : THINGS_E_ALLOCATING_MEM, out, 0, "%s",
                   out ? "Ok" : "out of memory");
}

static void things__on_port_reply(void *data, int code, const char *message, json_t *reply)
{
    things__ticket_t *k = data;
    things_t *t = k->t;
    if (k->answered) {
        vg_warn(&t->ctx->log, "a driver port answered the same call twice; ignored");
        return;
    }
    k->answered = 1;
    things__ticket_unlink(t, k);
    things__ticket_retire(t, k);
    things__req_t *r = k->req;
    if (!r) {
        vg_debug(&t->ctx->log, "a late answer of a driver port was ignored (code %d)", code);
        return;
    }
    k->req = NULL;
    r->ticket = NULL;
    if (code != 0)
        things__port_failed(r, code, message);
    else
        things__driver_reply(r, reply);
}

/* The port did not answer within timeout + THINGS_GUARD_MS: answer without it. */
static void things__req_guard(things__req_t *r)
{
    things_device_t *d = r->dev;
    vg_warn(&r->t->ctx->log,
            "device %s/%s: its driver port did not answer a call within %lld ms; answering "
            "with a timeout",
            d->pk, d->dn, (long long)(r->t->ctx->cfg.driver_call_timeout_ms + THINGS_GUARD_MS));
    if (r->ticket) r->ticket->req = NULL;
    r->ticket = NULL;
    r->waiting = 0;
    things__port_failed(r, THINGS_E_TIMEOUT, NULL);
}

/* Sends callServices(service, {"params": x}) (x is stolen). */
static void things__send(things__req_t *r, const char *service, json_t *x)
{
    things_t *t = r->t;
    things_device_t *d = r->dev;
    things__ticket_t *k = calloc(1, sizeof *k);
    json_t *args = json_pack("{s:o}", "params", x);
    if (!k || !args) {
        free(k);
        json_decref(args);
        things__answer(r, THINGS_E_ALLOCATING_MEM, NULL, 0, "out of memory");
        return;
    }
    k->t = t;
    k->req = r;
    k->next = t->tickets;
    if (t->tickets) t->tickets->prev = k;
    t->tickets = k;
    r->ticket = k;
    r->waiting = 1;
    int64_t timeout = t->ctx->cfg.driver_call_timeout_ms;
    uv_timer_start(&r->timer, things__req_fire, (uint64_t)(timeout + THINGS_GUARD_MS), 0);
    d->ops->call_service(d->port, d->cloud_id, service, args, timeout, things__on_port_reply, k);
    json_decref(args);
}

/* --- checks --------------------------------------------------------------------------------- */

/* Lists the identifiers of `fields` with any of `access` bits (0: all) into buf. */
static const char *things__ids(char *buf, size_t len, const things__field_t *fields, size_t n,
                               int access)
{
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (access && !(fields[i].access & access)) continue;
        int k = snprintf(buf + w, len - w, "%s%s", w ? ", " : "", fields[i].id);
        if (k < 0 || (size_t)k >= len - w) {
            snprintf(buf + (w < len - 5 ? w : len - 5), 5, "...");
            break;
        }
        w += (size_t)k;
    }
    if (!w) snprintf(buf, len, "(none)");
    return buf;
}

/* Finds the device or answers DEVICE_UNREGISTER. */
static things_device_t *things__req_device(things__req_t *r, const char *pk, const char *dn)
{
    things_device_t *d = pk && dn ? things_device_find(r->t, pk, dn) : NULL;
    if (!d)
        things__answer(r, THINGS_E_DEVICE_UNREGISTER, NULL, 0, "device %s/%s is not registered",
                       pk ? pk : "", dn ? dn : "");
    r->dev = d;
    return d;
}

/* The value to send: a bool given as true/false goes as 1/0 (the SDK drops JSON booleans). */
static json_t *things__wire_value(const things__field_t *f, json_t *v)
{
    if (f->type.kind == THINGS__BOOL && json_is_boolean(v)) return json_integer(json_is_true(v));
    return json_incref(v);
}

/* Checks one value; answers and returns non-zero when it does not fit. */
static int things__check(things__req_t *r, const things__field_t *f, json_t *v, const char *what,
                         int type_code, int range_code)
{
    char msg[sizeof r->msg];
    int rc = things__value_check(&f->type, v, what, msg, sizeof msg);
    if (rc == THINGS__V_OK) return 0;
    things__answer(r, rc == THINGS__V_TYPE ? type_code : range_code, NULL, 0, "%s", msg);
    return 1;
}

/* --- the requests ---------------------------------------------------------------------------- */

void things_get_properties(things_t *t, const char *pk, const char *dn, json_t *names,
                           int allow_cache, things_result_fn cb, void *data)
{
    char ids[256];
    things__req_t *r = things__req_new(t, THINGS__REQ_GET, cb, data);
    things_device_t *d = things__req_device(r, pk, dn);
    if (!d) return;
    const things__tsl_t *tsl = d->product->tsl;
    r->allow_cache = allow_cache;
    if (!(r->names = json_array())) {
        things__answer(r, THINGS_E_ALLOCATING_MEM, NULL, 0, "out of memory");
        return;
    }
    if (names && !json_is_array(names)) {
        things__answer(r, THINGS_E_INVAILD_PARAM, NULL, 0,
                       "the properties to read must be an array of identifiers");
        return;
    }
    for (size_t i = 0; !json_array_size(names) && i < tsl->nprops; i++)
        if (tsl->props[i].access & THINGS__READ)
            json_array_append_new(r->names, json_string(tsl->props[i].id));
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *n = json_array_get(names, i);
        const char *id = json_string_value(n);
        const things__field_t *f = id ? things__tsl_prop(tsl, id) : NULL;
        if (!id) {
            char brief[64];
            things__json_brief(n, brief, sizeof brief);
            things__answer(r, THINGS_E_INVAILD_PARAM, NULL, 0,
                           "properties[%zu] = %s: expected a property identifier (a string)", i,
                           brief);
            return;
        }
        if (!f) {
            things__answer(r, THINGS_E_PROPERTY_NOT_EXIST, NULL, 0,
                           "device %s/%s has no property \"%s\"; its properties are %s", pk, dn, id,
                           things__ids(ids, sizeof ids, tsl->props, tsl->nprops, 0));
            return;
        }
        if (!(f->access & THINGS__READ)) {
            things__answer(r, THINGS_E_PROPERTY_WRITE_ONLY, NULL, 0,
                           "property \"%s\" of %s/%s is write-only (accessMode w)", id, pk, dn);
            return;
        }
        json_array_append(r->names, n);
    }
    if (!d->online) {
        if (!allow_cache || !things__from_cache(r, "is offline"))
            things__answer(r, THINGS_E_DEVICE_OFFLINE, NULL, 0, "device %s/%s is offline", pk, dn);
        return;
    }
    things__send(r, "get", json_copy(r->names));
}

/* Answers DEVICE_OFFLINE (dropping `out`) when the device has no driver. Returns 1 then. */
static int things__offline(things__req_t *r, const things_device_t *d, json_t *out, const char *pk,
                           const char *dn)
{
    if (d->online) return 0;
    json_decref(out);
    things__answer(r, THINGS_E_DEVICE_OFFLINE, NULL, 0, "device %s/%s is offline", pk, dn);
    return 1;
}

void things_set_properties(things_t *t, const char *pk, const char *dn, json_t *props,
                           things_result_fn cb, void *data)
{
    char ids[256], what[96];
    const char *key;
    json_t *v;
    things__req_t *r = things__req_new(t, THINGS__REQ_SET, cb, data);
    things_device_t *d = things__req_device(r, pk, dn);
    if (!d) return;
    const things__tsl_t *tsl = d->product->tsl;
    if (!json_is_object(props) || json_object_size(props) == 0) {
        things__answer(r, THINGS_E_INVAILD_PARAM, NULL, 0,
                       "the properties to set must be a non-empty object {identifier: value}");
        return;
    }
    json_t *out = json_object();
    json_object_foreach(props, key, v)
    {
        const things__field_t *f = things__tsl_prop(tsl, key);
        snprintf(what, sizeof what, "property %s", key);
        if (!f) {
            things__answer(r, THINGS_E_PROPERTY_NOT_EXIST, NULL, 0,
                           "device %s/%s has no property \"%s\"; its writable properties are %s",
                           pk, dn, key,
                           things__ids(ids, sizeof ids, tsl->props, tsl->nprops, THINGS__WRITE));
        } else if (!(f->access & THINGS__WRITE)) {
            things__answer(r, THINGS_E_PROPERTY_READ_ONLY, NULL, 0,
                           "property \"%s\" of %s/%s is read-only (accessMode r)", key, pk, dn);
        } else if (!things__check(r, f, v, what, THINGS_E_INVALID_TYPE,
                                  THINGS_E_PARAM_RANGE_OVERFLOW)) {
            if (!out || json_object_set_new(out, key, things__wire_value(f, v)) == 0) continue;
            things__answer(r, THINGS_E_ALLOCATING_MEM, NULL, 0, "out of memory");
        }
        json_decref(out);
        return;
    }
    if (things__offline(r, d, out, pk, dn)) return;
    things__send(r, "set", out);
}

void things_call_service(things_t *t, const char *pk, const char *dn, const char *service,
                         json_t *input, things_result_fn cb, void *data)
{
    char ids[256], what[128];
    const char *key;
    json_t *v;
    things__req_t *r = things__req_new(t, THINGS__REQ_SERVICE, cb, data);
    things_device_t *d = things__req_device(r, pk, dn);
    if (!d) return;
    const things__tsl_t *tsl = d->product->tsl;
    const things__service_t *s = service ? things__tsl_service(tsl, service) : NULL;
    service = service ? service : "";
    if (strcmp(service, "get") == 0 || strcmp(service, "set") == 0) {
        things__answer(r, THINGS_E_SERVICE_NOT_EXIST, NULL, 0,
                       "\"%s\" is not called as a service; use the property %s request", service,
                       service);
        return;
    }
    if (!s) {
        size_t w = 0;
        ids[0] = '\0';
        for (size_t i = 0; i < tsl->nservices && w + 1 < sizeof ids; i++) {
            int k = snprintf(ids + w, sizeof ids - w, "%s%s", w ? ", " : "", tsl->services[i].id);
            w += k > 0 ? (size_t)k : 0;
        }
        things__answer(r, THINGS_E_SERVICE_NOT_EXIST, NULL, 0,
                       "device %s/%s has no service \"%s\"; its services are %s", pk, dn, service,
                       w ? ids : "(none)");
        return;
    }
    if (input && !json_is_object(input)) {
        things__answer(r, THINGS_E_SERVICE_INPUT_PARAM, NULL, 0,
                       "service %s: the input must be an object {argument: value}", service);
        return;
    }
    json_t *out = json_object();
    json_object_foreach(input, key, v)
    {
        const things__field_t *f = things__service_input(s, key);
        snprintf(what, sizeof what, "service %s: input %s", service, key);
        if (!f) {
            things__answer(r, THINGS_E_SERVICE_INPUT_PARAM, NULL, 0,
                           "service %s has no input \"%s\"; its inputs are %s", service, key,
                           things__ids(ids, sizeof ids, s->inputs, s->ninputs, 0));
        } else if (!things__check(r, f, v, what, THINGS_E_SERVICE_INPUT_PARAM,
                                  THINGS_E_SERVICE_INPUT_PARAM)) {
            if (!out || json_object_set_new(out, key, things__wire_value(f, v)) == 0) continue;
            things__answer(r, THINGS_E_ALLOCATING_MEM, NULL, 0, "out of memory");
        }
        json_decref(out);
        return;
    }
    if (things__offline(r, d, out, pk, dn)) return;
    if (!out) {
        things__answer(r, THINGS_E_ALLOCATING_MEM, NULL, 0, "out of memory");
        return;
    }
    things__send(r, service, out);
}

/* --- shutdown --------------------------------------------------------------------------------- */

void things__requests_close(things_t *t)
{
    while (t->reqs) {
        things__req_t *r = t->reqs;
        if (r->waiting) { /* answered ones keep their answer */
            if (r->ticket) r->ticket->req = NULL;
            r->ticket = NULL;
            r->waiting = 0;
            r->res.code = THINGS_E_SERVICE_UNREACHABLE;
            r->res.from_cache = 0;
            json_decref(r->res_data);
            r->res_data = NULL;
            snprintf(r->msg, sizeof r->msg, "the runtime is shutting down");
        }
        uv_timer_stop(&r->timer);
        things__req_deliver(r);
    }
    while (t->tickets) {
        things__ticket_t *k = t->tickets;
        things__ticket_unlink(t, k);
        free(k);
    }
    for (size_t i = 0; i < t->recent_len; i++)
        free(t->recent[(t->recent_head + i) % THINGS_RECENT_CALLS]);
    t->recent_len = t->recent_head = 0;
}
