/* methods.c: the driver protocol's messages once a driver is connected: its calls
 * (getConfig, subscribeConfig, connect, disconnect, unregisterDevice) and signals
 * (properties, event, feedDog) from two tables, replies to the runtime's own calls, and the
 * things port through which device requests reach the driver (callServices). */
#define VG_LOG_MODULE "drvhost"
#include "drvhost/drvhost_int.h"
#include "drvhost/json.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* Codes and messages of le_error.h used on the wire. */
enum {
    LE_OK = 0,
    LE_INVALID_PARAM = 100001,
    LE_TIMEOUT = 100006,
    LE_UNREACHABLE = 100008,
    LE_NO_FILE = 100009,
    LEDA_UNREGISTERED = 109000,
    LEDA_OFFLINE = 109001,
};

static void drvhost__reply(drvhost_driver_t *d, int64_t seq, int code, const char *message,
                           json_t *params /* stolen, may be NULL */)
{
    if (!d->conn) {
        json_decref(params);
        return;
    }
    json_t *r = json_pack("{s:s,s:I,s:i,s:s,s:o}", "type", "reply", "seq", (json_int_t)seq, "code",
                          code, "message", message, "params", params ? params : json_object());
    if (r) drvhost__send(d->conn, r);
    json_decref(r);
}

/* The device named by params.deviceCloudId (or params itself as a bare string, as the Node
 * SDK sends), when it belongs to this driver. */
static things_device_t *drvhost__device(drvhost_driver_t *d, json_t *params)
{
    const char *id = json_is_string(params)
                         ? json_string_value(params)
                         : json_string_value(json_object_get(params, "deviceCloudId"));
    if (!id) return NULL;
    things_device_t *dev = things_device_find_cloud(d->host->things, id);
    if (!dev || strcmp(things_device_driver(dev), d->name) != 0) return NULL;
    return dev;
}

/* ---- calls from the driver -------------------------------------------------------------- */

static void m_get_config(drvhost_driver_t *d, drvhost_msg_t *m)
{
    const char *key = json_string_value(json_object_get(m->params, "key"));
    const char *value = NULL;
    size_t l = key ? strlen(key) : 0;
    if (!key) {
        drvhost__reply(d, m->seq, LE_INVALID_PARAM, "Invalid params", NULL);
        return;
    }
    static const char drv[] = "gw_driverconfig_", tsl[] = "gw_TSL_", ext[] = "gw_TSL_config_";
    if (strncmp(key, drv, sizeof drv - 1) == 0) {
        if (strcmp(key + sizeof drv - 1, d->name) == 0) value = d->config;
    } else if (strncmp(key, ext, sizeof ext - 1) == 0) {
        value = things_product_ext_info(d->host->things, key + sizeof ext - 1);
    } else if (strncmp(key, tsl, sizeof tsl - 1) == 0 && l > sizeof tsl - 1) {
        value = things_product_tsl(d->host->things, key + sizeof tsl - 1);
    }
    if (!value) {
        drvhost__reply(d, m->seq, LE_NO_FILE, "No file exist", NULL);
        return;
    }
    drvhost__reply(d, m->seq, LE_OK, "Ok", json_pack("{s:s}", "value", value));
}

static void m_subscribe_config(drvhost_driver_t *d, drvhost_msg_t *m)
{
    d->config_subscribed = 1;
    drvhost__reply(d, m->seq, LE_OK, "Ok", NULL);
}

static void m_connect(drvhost_driver_t *d, drvhost_msg_t *m)
{
    const char *pk = json_string_value(json_object_get(m->params, "productKey"));
    const char *dn = json_string_value(json_object_get(m->params, "deviceName"));
    const char *local = json_string_value(json_object_get(m->params, "deviceLocalId"));
    if (!pk || (!dn && !local)) {
        drvhost__reply(d, m->seq, LE_INVALID_PARAM, "Invalid params", NULL);
        return;
    }
    things_device_t *dev = dn ? things_device_find(d->host->things, pk, dn)
                              : things_device_find_local(d->host->things, pk, local);
    if (!dn) dn = local;
    if (!dev || strcmp(things_device_driver(dev), d->name) != 0) {
        vg_warn(&d->host->ctx->log, "driver %s: connect %s/%s: not one of its devices", d->name, pk,
                dn);
        drvhost__reply(d, m->seq, LEDA_UNREGISTERED, "Device not register", NULL);
        return;
    }
    things_device_set_online(d->host->things, dev, d, &drvhost__port_ops);
    drvhost__reply(d, m->seq, LE_OK, "Ok",
                   json_pack("{s:s}", "deviceCloudId", things_device_cloud_id(dev)));
}

static void m_disconnect(drvhost_driver_t *d, drvhost_msg_t *m)
{
    things_device_t *dev = drvhost__device(d, m->params);
    if (!dev) {
        drvhost__reply(d, m->seq, LEDA_UNREGISTERED, "Device not register", NULL);
        return;
    }
    things_device_set_offline(d->host->things, dev);
    drvhost__reply(d, m->seq, LE_OK, "Ok", NULL);
}

/* ---- signals from the driver -------------------------------------------------------------- */

/* Finds the text of params.body in the frame, which things may publish as it is. Sets *raw
 * to NULL when it cannot be found (a key written with escapes). */
static void drvhost__body_text(const drvhost_msg_t *m, const char **raw, size_t *len)
{
    static const char *const path[] = {"params", "body", NULL};
    if (!drvhost_json_find(m->text, m->len, path, raw, len)) {
        *raw = NULL;
        *len = 0;
    }
}

static void s_properties(drvhost_driver_t *d, drvhost_msg_t *m)
{
    things_device_t *dev = drvhost__device(d, m->params);
    json_t *body = json_object_get(m->params, "body");
    const char *raw;
    size_t len;
    drvhost__body_text(m, &raw, &len);
    if (!dev || !things_device_is_online(dev) ||
        things_report_properties_raw(d->host->things, dev, body, raw, len))
        vg_debug(&d->host->ctx->log,
                 "driver %s: property report dropped (unknown or offline "
                 "device, or malformed body)",
                 d->name);
}

static void s_event(drvhost_driver_t *d, drvhost_msg_t *m)
{
    things_device_t *dev = drvhost__device(d, m->params);
    const char *event = json_string_value(json_object_get(m->params, "event"));
    json_t *body = json_object_get(m->params, "body");
    const char *raw;
    size_t len;
    drvhost__body_text(m, &raw, &len);
    if (!dev || !event || !things_device_is_online(dev) ||
        things_report_event_raw(d->host->things, dev, event, body, raw, len))
        vg_debug(&d->host->ctx->log,
                 "driver %s: event report dropped (unknown or offline "
                 "device, or malformed body)",
                 d->name);
}

static void s_feed_dog(drvhost_driver_t *d, drvhost_msg_t *m)
{
    (void)d;
    (void)m; /* liveness is the process and its socket; the watchdog feed is accepted */
}

static const struct {
    const char *method;
    void (*fn)(drvhost_driver_t *d, drvhost_msg_t *m);
} drvhost__calls[] =
    {
        {"getConfig", m_get_config},
        {"subscribeConfig", m_subscribe_config},
        {"connect", m_connect},
        {"disconnect", m_disconnect},
        {"unregisterDevice", m_disconnect},
},
  drvhost__signals[] = {
      {"properties", s_properties},
      {"event", s_event},
      {"feedDog", s_feed_dog},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- runtime -> driver calls ---------------------------------------------------------------- */

static void on_pending_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Unlinks the pending call and closes its timer (which frees it). */
static void drvhost__pending_finish(drvhost_pending_t *p)
{
    drvhost_driver_t *d = p->driver;
    drvhost_pending_t **pp = &d->pending;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp) *pp = p->next;
    p->driver = NULL;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_pending_closed);
}

static void on_pending_timeout(uv_timer_t *t)
{
    drvhost_pending_t *p = t->data;
    things_reply_fn cb = p->cb;
    void *data = p->data;
    int failed = p->fail_code;
    drvhost__pending_finish(p);
    if (failed)
        cb(data, failed, "Service unreachable", NULL);
    else
        cb(data, LE_TIMEOUT, "Tiemout", NULL);
}

void drvhost__fail_pending(drvhost_driver_t *d, int code, const char *message)
{
    while (d->pending) {
        drvhost_pending_t *p = d->pending;
        things_reply_fn cb = p->cb;
        void *data = p->data;
        drvhost__pending_finish(p);
        cb(data, code, message, NULL);
    }
}

static void drvhost__on_reply(drvhost_driver_t *d, drvhost_msg_t *m)
{
    drvhost_pending_t *p = d->pending;
    while (p && p->seq != m->seq)
        p = p->next;
    if (!p) return; /* late reply after a timeout, or a reply to notifyConfig */
    things_reply_fn cb = p->cb;
    void *data = p->data;
    drvhost__pending_finish(p);
    cb(data, (int)m->code, m->message, m->params);
}

static void drvhost__call_service(void *port, const char *cloud_id, const char *service,
                                  json_t *args, int64_t timeout_ms, things_reply_fn cb, void *data)
{
    drvhost_driver_t *d = port;
    drvhost_pending_t *p = calloc(1, sizeof *p);
    if (!p) abort(); /* the callback must run later: nothing else can promise that */
    json_t *call = json_pack("{s:s,s:I,s:s,s:{s:s,s:s,s:O}}", "type", "call", "seq",
                             (json_int_t)d->next_seq, "method", "callServices", "params",
                             "deviceCloudId", cloud_id, "service", service, "args", args);
    if (!d->conn || !call || drvhost__send(d->conn, call)) {
        p->fail_code = LE_UNREACHABLE; /* answered on the next loop turn, never synchronously */
        timeout_ms = 0;
    }
    json_decref(call);
    p->seq = d->next_seq++;
    p->driver = d;
    p->cb = cb;
    p->data = data;
    uv_timer_init(d->host->ctx->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_pending_timeout, (uint64_t)timeout_ms, 0);
    p->next = d->pending;
    d->pending = p;
}

const things_port_ops_t drvhost__port_ops = {drvhost__call_service};

void drvhost__on_message(drvhost_driver_t *d, drvhost_msg_t *m)
{
    if (m->type == DRVHOST_MSG_REPLY) {
        drvhost__on_reply(d, m);
        return;
    }
    int is_call = m->type == DRVHOST_MSG_CALL;
    size_t n = is_call ? NELEM(drvhost__calls) : NELEM(drvhost__signals);
    for (size_t i = 0; i < n; i++) {
        const char *name = is_call ? drvhost__calls[i].method : drvhost__signals[i].method;
        if (strcmp(name, m->method) != 0) continue;
        (is_call ? drvhost__calls[i].fn : drvhost__signals[i].fn)(d, m);
        return;
    }
    if (is_call) drvhost__reply(d, m->seq, LE_UNREACHABLE, "Service unreachable", NULL);
}
