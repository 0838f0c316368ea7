/* leda.c: the public API of libleda_sdk_c (leda.h) over the driver protocol, with the
 * original SDK's return codes (SDK-FACTS §1.2). The one process-wide SDK instance the API
 * implies lives in the `leda__sdk` struct below; everything else is in conn.c and device.c. */
#include "conn.h"
#include "convert.h"
#include "device.h"
#include "le_error.h"
#include "leda.h"
#include "leda_int.h"
#include "log.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define LEDA__KEY_DRIVER     "gw_driverconfig_"
#define LEDA__KEY_TSL        "gw_TSL_"
#define LEDA__KEY_TSL_CONFIG "gw_TSL_config_"

/* The TSL type table of one product, fetched on its first set or service call. */
typedef struct leda__product {
    char *product_key;
    leda__tsl_t *tsl;
    struct leda__product *next;
} leda__product_t;

static struct {
    pthread_mutex_t life_mu;    /* serialises leda_init() and leda_exit() */
    pthread_rwlock_t conn_lock; /* read while using the three fields below; written to swap them */
    leda__conn_t *conn;         /* NULL outside leda_init() .. leda_exit() */
    char *function_id;
    char *function_name;
    atomic_int timeout_ms;     /* reply deadline of every call */
    pthread_mutex_t mu;        /* guards the fields below */
    leda__devices_t devices;   /* registered devices */
    leda__product_t *products; /* TSL cache */
    config_changed_callback config_cb;
    int connecting;         /* connect calls between sending and updating `devices` */
    pthread_cond_t settled; /* `connecting` went down */
} leda__sdk = {
    .life_mu = PTHREAD_MUTEX_INITIALIZER,
    .conn_lock = PTHREAD_RWLOCK_INITIALIZER,
    .timeout_ms = LEDA__CALL_TIMEOUT_MS,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .settled = PTHREAD_COND_INITIALIZER,
};

void leda__set_call_timeout_ms(int timeout_ms)
{
    atomic_store(&leda__sdk.timeout_ms, timeout_ms > 0 ? timeout_ms : LEDA__CALL_TIMEOUT_MS);
}

static int64_t leda__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logging: log_e for what the runtime did wrong or failed to do, log_w for a driver's bad
 * argument (answered with a code, and hidden by the default ERR threshold, as the original). */

/* ---- talking to the runtime ---------------------------------------------------------------- */

/* Calls `method` with `params` (stolen; NULL means they could not be built: the call is not
 * made). Returns LE_SUCCESS with *result (may be NULL) holding the reply's params when the
 * runtime answered 0; LE_ERROR_UNKNOWN when it answered another code, as the original does;
 * or the transport's LE_ERROR_TIMEOUT / LE_ERROR_SERVICE_UNREACHABLE / ... */
static int leda__call(const char *method, json_t *params, json_t **result)
{
    int code = LE_SUCCESS;
    json_t *res = NULL;
    if (result) *result = NULL;
    if (!params) return LE_ERROR_INVAILD_PARAM;
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    int rc = leda__conn_call(leda__sdk.conn, method, params, atomic_load(&leda__sdk.timeout_ms),
                             &code, &res);
    pthread_rwlock_unlock(&leda__sdk.conn_lock);
    if (rc == LE_SUCCESS && code != LE_SUCCESS) {
        log_e(LEDA_TAG_NAME, "%s failed: the runtime answered %d\n", method, code);
        rc = LE_ERROR_UNKNOWN;
    }
    if (rc == LE_SUCCESS && result)
        *result = res;
    else
        json_decref(res);
    return rc;
}

/* Sends signal `method` with `params` (stolen; NULL: not sent, LE_ERROR_INVAILD_PARAM). */
static int leda__signal(const char *method, json_t *params)
{
    if (!params) return LE_ERROR_INVAILD_PARAM;
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    int rc = leda__conn_signal(leda__sdk.conn, method, params);
    pthread_rwlock_unlock(&leda__sdk.conn_lock);
    return rc;
}

/* Fetches config key prefix+name into *value (malloc'd, not empty). Returns LE_SUCCESS,
 * LE_ERROR_UNKNOWN (no such key, or no usable value) or the transport's error. */
static int leda__fetch(const char *prefix, const char *name, char **value)
{
    char *key = NULL;
    json_t *res = NULL;
    *value = NULL;
    if (asprintf(&key, "%s%s", prefix, name) < 0) return LE_ERROR_ALLOCATING_MEM;
    int rc = leda__call("getConfig", json_pack("{s:s}", "key", key), &res);
    const char *v = json_string_value(json_object_get(res, "value"));
    if (rc == LE_SUCCESS && (!v || !*v)) {
        log_e(LEDA_TAG_NAME, "getConfig %s: no value in the reply\n", key);
        rc = LE_ERROR_UNKNOWN;
    }
    if (rc == LE_SUCCESS && !(*value = strdup(v))) rc = LE_ERROR_ALLOCATING_MEM;
    json_decref(res);
    free(key);
    return rc;
}

/* Fetches the driver config: key gw_driverconfig_<FUNCTION_ID>, and when the runtime has none,
 * gw_driverconfig_<FUNCTION_NAME> (as the original). Returns like leda__fetch();
 * LE_ERROR_SERVICE_UNREACHABLE before leda_init(). */
static int leda__fetch_driver_config(char **value)
{
    *value = NULL;
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    char *id = leda__sdk.function_id ? strdup(leda__sdk.function_id) : NULL;
    char *name = leda__sdk.function_name ? strdup(leda__sdk.function_name) : NULL;
    pthread_rwlock_unlock(&leda__sdk.conn_lock);
    int rc = LE_ERROR_SERVICE_UNREACHABLE;
    if (id && name) {
        rc = leda__fetch(LEDA__KEY_DRIVER, id, value);
        if (rc == LE_ERROR_UNKNOWN) rc = leda__fetch(LEDA__KEY_DRIVER, name, value);
    }
    free(id);
    free(name);
    return rc;
}

/* ---- sizes and copies ------------------------------------------------------------------------ */

/* strlen(text) + 1, or 0 when `rc` is not LE_SUCCESS or the text is too long; frees text. */
static int leda__size_of(int rc, char *text)
{
    size_t n = rc == LE_SUCCESS && text ? strlen(text) + 1 : 0;
    free(text);
    return n > INT32_MAX ? 0 : (int)n;
}

/* Copies `text` into buf[size] when `rc` is LE_SUCCESS; frees text. Returns rc, or
 * LE_ERROR_INVAILD_PARAM when it does not fit. */
static int leda__copy_out(int rc, char *text, char *buf, int size)
{
    if (rc == LE_SUCCESS) {
        size_t n = strlen(text) + 1;
        if ((size_t)size < n) {
            log_w(LEDA_TAG_NAME, "buffer of %d bytes is smaller than %zu\n", size, n);
            rc = LE_ERROR_INVAILD_PARAM;
        } else {
            memcpy(buf, text, n);
        }
    }
    free(text);
    return rc;
}

/* The value of a product's key, for the TSL functions (NULL product key: invalid). */
static int leda__fetch_product(const char *prefix, const char *product_key, char **value)
{
    *value = NULL;
    if (!product_key) return LE_ERROR_INVAILD_PARAM;
    return leda__fetch(prefix, product_key, value);
}

/* Derives the driver info ("config" of the driver config, as compact JSON) or the device info
 * ("deviceList" with every custom string turned into JSON) from the driver config. Returns
 * LE_SUCCESS and *out, LE_ERROR_INVAILD_PARAM when the config has no such part (or the runtime
 * has no config, as the original), or the transport's error. */
static int leda__config_part(int devices, char **out)
{
    char *text = NULL;
    *out = NULL;
    int rc = leda__fetch_driver_config(&text);
    if (rc == LE_ERROR_UNKNOWN) rc = LE_ERROR_INVAILD_PARAM;
    if (rc != LE_SUCCESS) return rc;
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_t *part = json_object_get(root, devices ? "deviceList" : "config");
    size_t i;
    json_t *item;
    json_array_foreach(devices ? part : NULL, i, item)
    {
        json_t *custom = json_object_get(item, "custom");
        if (!json_is_string(custom)) continue;
        json_t *parsed = json_loadb(json_string_value(custom), json_string_length(custom),
                                    JSON_DECODE_ANY, NULL);
        if (parsed) json_object_set_new(item, "custom", parsed); /* else kept as it was */
    }
    if (part) *out = json_dumps(part, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!*out)
        log_e(LEDA_TAG_NAME, "the driver config has no usable %s\n",
              devices ? "deviceList" : "config");
    json_decref(root);
    return *out ? LE_SUCCESS : LE_ERROR_INVAILD_PARAM;
}

int leda_get_config_size(void)
{
    char *text;
    int rc = leda__fetch_driver_config(&text);
    return leda__size_of(rc, text);
}

int leda_get_config(char *config, int size)
{
    char *text;
    if (!config || size <= 0) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__fetch_driver_config(&text);
    return leda__copy_out(rc, text, config, size);
}

int leda_get_driver_info_size(void)
{
    char *text;
    int rc = leda__config_part(0, &text);
    return leda__size_of(rc, text);
}

int leda_get_driver_info(char *driver_info, int size)
{
    char *text;
    if (!driver_info || size <= 0) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__config_part(0, &text);
    return leda__copy_out(rc, text, driver_info, size);
}

int leda_get_device_info_size(void)
{
    char *text;
    int rc = leda__config_part(1, &text);
    return leda__size_of(rc, text);
}

int leda_get_device_info(char *device_info, int size)
{
    char *text;
    if (!device_info || size <= 0) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__config_part(1, &text);
    return leda__copy_out(rc, text, device_info, size);
}

int leda_get_tsl_size(const char *product_key)
{
    char *text;
    int rc = leda__fetch_product(LEDA__KEY_TSL, product_key, &text);
    return leda__size_of(rc, text);
}

int leda_get_tsl(const char *product_key, char *tsl, int size)
{
    char *text;
    if (!product_key || !tsl || size <= 0) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__fetch_product(LEDA__KEY_TSL, product_key, &text);
    return leda__copy_out(rc, text, tsl, size);
}

int leda_get_tsl_ext_info_size(const char *product_key)
{
    char *text;
    int rc = leda__fetch_product(LEDA__KEY_TSL_CONFIG, product_key, &text);
    return leda__size_of(rc, text);
}

int leda_get_tsl_ext_info(const char *product_key, char *tsl_ext_info, int size)
{
    char *text;
    if (!product_key || !tsl_ext_info || size <= 0) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__fetch_product(LEDA__KEY_TSL_CONFIG, product_key, &text);
    return leda__copy_out(rc, text, tsl_ext_info, size);
}

/* ---- devices --------------------------------------------------------------------------------- */

/* Sends connect for (product_key, name) and marks the device online under the handle of its
 * deviceCloudId, adding it when new; the callbacks and usr_data are (re)set. Returns
 * LE_SUCCESS and *handle, or an error code. The runtime may call the device as soon as it has
 * answered, so calls for unknown devices wait while a connect is in progress. */
static int leda__connect_device(const char *product_key, const char *name, int by_local_name,
                                const leda_device_callback_t *cb, void *usr_data,
                                device_handle_t *handle)
{
    json_t *res = NULL;
    json_t *params =
        json_pack("{s:s, s:s, s:s}", "productKey", product_key,
                  by_local_name ? "deviceLocalId" : "deviceName", name, "isLocal", "False");
    pthread_mutex_lock(&leda__sdk.mu);
    leda__sdk.connecting++;
    pthread_mutex_unlock(&leda__sdk.mu);
    int rc = leda__call("connect", params, &res);
    const char *cloud_id = json_string_value(json_object_get(res, "deviceCloudId"));
    if (rc == LE_SUCCESS && (!cloud_id || !*cloud_id)) {
        log_e(LEDA_TAG_NAME, "connect %s/%s: no deviceCloudId in the reply\n", product_key, name);
        rc = LE_ERROR_UNKNOWN;
    }
    pthread_mutex_lock(&leda__sdk.mu);
    leda__device_t *d = NULL;
    if (rc == LE_SUCCESS) {
        d = leda__devices_by_cloud_id(&leda__sdk.devices, cloud_id);
        if (!d)
            d = leda__devices_add(&leda__sdk.devices, product_key, name, by_local_name, cloud_id);
        if (d) {
            d->cb = *cb;
            d->usr_data = usr_data;
            d->online = 1;
            *handle = d->handle;
        }
    }
    leda__sdk.connecting--;
    pthread_cond_broadcast(&leda__sdk.settled);
    pthread_mutex_unlock(&leda__sdk.mu);
    if (rc == LE_SUCCESS && !d) rc = LE_ERROR_ALLOCATING_MEM;
    json_decref(res);
    return rc;
}

/* leda_register_and_online_by_device_name / _by_local_name. */
static device_handle_t leda__register(const char *product_key, const char *name, int by_local_name,
                                      const leda_device_callback_t *cb, void *usr_data)
{
    device_handle_t h = INVALID_DEVICE_HANDLE;
    if (!product_key || !name || !cb || !cb->get_properties_cb || !cb->set_properties_cb ||
        !cb->call_service_cb) {
        log_w(LEDA_TAG_NAME, "register: product key, name and all three callbacks are needed\n");
        return INVALID_DEVICE_HANDLE;
    }
    pthread_mutex_lock(&leda__sdk.mu);
    leda__device_t *d = leda__devices_by_name(&leda__sdk.devices, product_key, name);
    if (d && d->online) h = d->handle;
    pthread_mutex_unlock(&leda__sdk.mu);
    if (h != INVALID_DEVICE_HANDLE) return h;
    if (leda__connect_device(product_key, name, by_local_name, cb, usr_data, &h) != LE_SUCCESS) {
        log_e(LEDA_TAG_NAME, "register %s/%s failed\n", product_key, name);
        return INVALID_DEVICE_HANDLE;
    }
    return h;
}

device_handle_t leda_register_and_online_by_device_name(const char *product_key,
                                                        const char *device_name,
                                                        leda_device_callback_t *device_cb,
                                                        void *usr_data)
{
    return leda__register(product_key, device_name, 0, device_cb, usr_data);
}

device_handle_t leda_register_and_online_by_local_name(const char *product_key,
                                                       const char *local_name,
                                                       leda_device_callback_t *device_cb,
                                                       void *usr_data)
{
    return leda__register(product_key, local_name, 1, device_cb, usr_data);
}

/* Copies the device of handle `h` into *copy. Returns LE_SUCCESS, LE_ERROR_ALLOCATING_MEM, or
 * `unknown` when there is no such device. */
static int leda__device_get(device_handle_t h, leda__device_t *copy, int unknown)
{
    pthread_mutex_lock(&leda__sdk.mu);
    leda__device_t *d = leda__devices_by_handle(&leda__sdk.devices, h);
    int rc = d ? leda__device_copy(copy, d) : unknown;
    pthread_mutex_unlock(&leda__sdk.mu);
    if (!d) log_w(LEDA_TAG_NAME, "device handle %d is not registered\n", h);
    return rc;
}

int leda_online(device_handle_t dev_handle)
{
    leda__device_t d;
    device_handle_t h;
    int rc = leda__device_get(dev_handle, &d, LE_ERROR_INVAILD_PARAM);
    if (rc != LE_SUCCESS) return rc;
    if (!d.online)
        rc = leda__connect_device(d.product_key, d.name, d.by_local_name, &d.cb, d.usr_data, &h);
    leda__device_release(&d);
    return rc;
}

/* Sends `method` {"deviceCloudId":id}. */
static int leda__device_call(const char *method, const char *cloud_id)
{
    return leda__call(method, json_pack("{s:s}", "deviceCloudId", cloud_id), NULL);
}

int leda_offline(device_handle_t dev_handle)
{
    leda__device_t d;
    int rc = leda__device_get(dev_handle, &d, LE_ERROR_INVAILD_PARAM);
    if (rc != LE_SUCCESS) return rc;
    rc = leda__device_call("disconnect", d.cloud_id);
    pthread_mutex_lock(&leda__sdk.mu); /* offline even when the runtime failed, as the original */
    leda__device_t *cur = leda__devices_by_handle(&leda__sdk.devices, dev_handle);
    if (cur) cur->online = 0;
    pthread_mutex_unlock(&leda__sdk.mu);
    leda__device_release(&d);
    return rc;
}

int leda_unregister(device_handle_t dev_handle)
{
    leda__device_t d;
    int rc = leda__device_get(dev_handle, &d, LE_ERROR_INVAILD_PARAM);
    if (rc != LE_SUCCESS) return rc;
    if (d.online) leda_offline(dev_handle);
    rc = leda__device_call("unregisterDevice", d.cloud_id);
    pthread_mutex_lock(&leda__sdk.mu); /* forgotten even when the runtime failed */
    leda__devices_remove(&leda__sdk.devices, dev_handle);
    pthread_mutex_unlock(&leda__sdk.mu);
    leda__device_release(&d);
    return rc;
}

device_handle_t leda_get_device_handle(const char *product_key, const char *device_name)
{
    pthread_mutex_lock(&leda__sdk.mu);
    leda__device_t *d = leda__devices_by_name(&leda__sdk.devices, product_key, device_name);
    device_handle_t h = d ? d->handle : INVALID_DEVICE_HANDLE;
    pthread_mutex_unlock(&leda__sdk.mu);
    return h;
}

/* The cloud id of an online device for a report: LE_SUCCESS and *cloud_id (malloc'd),
 * LEDA_ERROR_DEVICE_UNREGISTER, LEDA_ERROR_DEVICE_OFFLINE or LE_ERROR_ALLOCATING_MEM. */
static int leda__report_target(device_handle_t h, char **cloud_id)
{
    leda__device_t d;
    *cloud_id = NULL;
    int rc = leda__device_get(h, &d, LEDA_ERROR_DEVICE_UNREGISTER);
    if (rc != LE_SUCCESS) return rc;
    if (!d.online) {
        log_w(LEDA_TAG_NAME, "device handle %d is offline\n", h);
        rc = LEDA_ERROR_DEVICE_OFFLINE;
    } else {
        *cloud_id = d.cloud_id;
        d.cloud_id = NULL;
    }
    leda__device_release(&d);
    return rc;
}

int leda_report_properties(device_handle_t dev_handle, const leda_device_data_t properties[],
                           int properties_count)
{
    char *cloud_id;
    int rc = leda__report_target(dev_handle, &cloud_id);
    if (rc != LE_SUCCESS) return rc;
    int64_t now = leda__wall_ms();
    leda__bytes_t frame = {0};
    /* the common case is written straight into a frame; the rest builds the tree */
    int fast = leda__report_properties_frame(&frame, cloud_id, properties, properties_count, now);
    if (fast != 0) {
        free(cloud_id);
        if (fast > 0) {
            pthread_rwlock_rdlock(&leda__sdk.conn_lock);
            rc = leda__conn_signal_frame(leda__sdk.conn, frame.data, frame.len);
            pthread_rwlock_unlock(&leda__sdk.conn_lock);
        }
        free(frame.data);
        return fast > 0 ? rc : LE_ERROR_ALLOCATING_MEM;
    }
    free(frame.data);
    json_t *body = NULL;
    if (properties && properties_count > 0)
        body = leda__report_properties_json(properties, properties_count, now);
    if (!body) {
        log_w(LEDA_TAG_NAME, "report_properties: no properties, or a bad type or value\n");
        free(cloud_id);
        return LE_ERROR_INVAILD_PARAM;
    }
    rc = leda__signal("properties",
                      json_pack("{s:s, s:o}", "deviceCloudId", cloud_id, "body", body));
    free(cloud_id);
    return rc;
}

int leda_report_event(device_handle_t dev_handle, const char *event_name,
                      const leda_device_data_t data[], int data_count)
{
    char *cloud_id;
    if (!event_name) return LE_ERROR_INVAILD_PARAM;
    int rc = leda__report_target(dev_handle, &cloud_id);
    if (rc != LE_SUCCESS) return rc;
    json_t *body = leda__report_event_json(data, data_count, leda__wall_ms());
    if (!body) {
        log_w(LEDA_TAG_NAME, "report_event %s: a bad type or value\n", event_name);
        free(cloud_id);
        return LE_ERROR_INVAILD_PARAM;
    }
    rc = leda__signal("event", json_pack("{s:s, s:s, s:o}", "deviceCloudId", cloud_id, "event",
                                         event_name, "body", body));
    free(cloud_id);
    return rc;
}

int leda_feed_watchdog(const char *module_id, const char *thread_name, int count_down_seconds)
{
    if (!module_id || !thread_name) return LE_ERROR_INVAILD_PARAM;
    return leda__signal(
        "feedDog", json_pack("{s:s, s:i}", "thread", thread_name, "countDown", count_down_seconds));
}

int leda_register_config_changed_callback(config_changed_callback config_cb)
{
    char *key = NULL;
    if (!config_cb) return LE_ERROR_INVAILD_PARAM;
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    int rc = leda__sdk.function_id ? LE_SUCCESS : LE_ERROR_INVAILD_PARAM; /* not initialised */
    if (rc == LE_SUCCESS && asprintf(&key, "%s%s", LEDA__KEY_DRIVER, leda__sdk.function_id) < 0)
        rc = LE_ERROR_ALLOCATING_MEM;
    pthread_rwlock_unlock(&leda__sdk.conn_lock);
    if (rc == LE_SUCCESS) rc = leda__call("subscribeConfig", json_pack("{s:s}", "key", key), NULL);
    if (rc == LE_SUCCESS) {
        pthread_mutex_lock(&leda__sdk.mu);
        leda__sdk.config_cb = config_cb;
        pthread_mutex_unlock(&leda__sdk.mu);
    }
    free(key);
    return rc;
}

/* ---- calls from the runtime, on worker threads ----------------------------------------------- */

/* The TSL table of `product_key`, fetched once and kept until leda_exit(); NULL when the
 * runtime has none (then every value is LEDA_TYPE_BUTT, as the original; retried next time). */
static const leda__tsl_t *leda__product_tsl(const char *product_key)
{
    leda__product_t *p;
    pthread_mutex_lock(&leda__sdk.mu);
    for (p = leda__sdk.products; p && strcmp(p->product_key, product_key) != 0; p = p->next) {
    }
    pthread_mutex_unlock(&leda__sdk.mu);
    if (p) return p->tsl;

    char *text = NULL;
    json_error_t err;
    if (leda__fetch(LEDA__KEY_TSL, product_key, &text) != LE_SUCCESS) return NULL;
    leda__tsl_t *tsl = leda__tsl_create(text, &err);
    free(text);
    if (err.text[0]) log_e(LEDA_TAG_NAME, "TSL of %s: %s\n", product_key, err.text);
    p = calloc(1, sizeof *p);
    if (!tsl || !p || !(p->product_key = strdup(product_key))) {
        leda__tsl_destroy(tsl);
        free(p);
        return NULL;
    }
    p->tsl = tsl;
    pthread_mutex_lock(&leda__sdk.mu);
    leda__product_t *other = leda__sdk.products; /* another worker may have been faster */
    while (other && strcmp(other->product_key, product_key) != 0)
        other = other->next;
    if (!other) {
        p->next = leda__sdk.products;
        leda__sdk.products = p;
    }
    pthread_mutex_unlock(&leda__sdk.mu);
    if (!other) return tsl;
    leda__tsl_destroy(tsl);
    free(p->product_key);
    free(p);
    return other->tsl;
}

/* callServices {"deviceCloudId","service","args":{"params":X}}: the reply object goes back
 * whole as the reply's params, and its code as the reply's code. */
static json_t *leda__on_call_services(json_t *params, int *code)
{
    const char *cloud_id = json_string_value(json_object_get(params, "deviceCloudId"));
    const char *service = json_string_value(json_object_get(params, "service"));
    json_t *x = json_object_get(json_object_get(params, "args"), "params");
    leda__device_t d;
    int rc = LE_ERROR_INVAILD_PARAM;
    if (cloud_id && service) {
        pthread_mutex_lock(&leda__sdk.mu);
        leda__device_t *cur = leda__devices_by_cloud_id(&leda__sdk.devices, cloud_id);
        while (!cur && leda__sdk.connecting > 0) { /* its connect reply may be being handled */
            pthread_cond_wait(&leda__sdk.settled, &leda__sdk.mu);
            cur = leda__devices_by_cloud_id(&leda__sdk.devices, cloud_id);
        }
        rc = !cur           ? LEDA_ERROR_DEVICE_UNREGISTER
             : !cur->online ? LEDA_ERROR_DEVICE_OFFLINE
                            : leda__device_copy(&d, cur);
        pthread_mutex_unlock(&leda__sdk.mu);
    }
    if (rc != LE_SUCCESS) {
        log_e(LEDA_TAG_NAME, "callServices %s of %s: %s\n", service ? service : "(none)",
              cloud_id ? cloud_id : "(none)", leda__reply_message(rc));
        *code = rc;
        return leda__reply_json(rc, NULL);
    }
    const leda__tsl_t *tsl = strcmp(service, "get") != 0 ? leda__product_tsl(d.product_key) : NULL;
    json_t *reply = leda__device_invoke(&d, tsl, service, x);
    leda__device_release(&d);
    *code =
        reply ? (int)json_integer_value(json_object_get(reply, "code")) : LE_ERROR_ALLOCATING_MEM;
    return reply;
}

/* notifyConfig {"key","value"}: calls the config-changed callback with the new value when the
 * key is this driver's config; answers with the callback's result (LE_ERROR_UNKNOWN when no
 * callback took it, as the original). */
static json_t *leda__on_notify_config(json_t *params, int *code)
{
    const char *key = json_string_value(json_object_get(params, "key"));
    const char *value = json_string_value(json_object_get(params, "value"));
    size_t plen = strlen(LEDA__KEY_DRIVER);
    int ours = 0;
    if (!key || !value) {
        log_e(LEDA_TAG_NAME, "notifyConfig without a key and a value\n");
        *code = LE_ERROR_INVAILD_PARAM;
        return NULL;
    }
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    if (leda__sdk.function_id && strncmp(key, LEDA__KEY_DRIVER, plen) == 0)
        ours = strcmp(key + plen, leda__sdk.function_id) == 0 ||
               strcmp(key + plen, leda__sdk.function_name) == 0;
    pthread_rwlock_unlock(&leda__sdk.conn_lock);
    pthread_mutex_lock(&leda__sdk.mu);
    config_changed_callback cb = ours ? leda__sdk.config_cb : NULL;
    pthread_mutex_unlock(&leda__sdk.mu);
    *code = cb ? cb(value) : LE_ERROR_UNKNOWN;
    return NULL;
}

/* getDeviceList {"selector":"deviceState=online"|"deviceState=offline"|other: all}. */
static json_t *leda__on_get_device_list(json_t *params, int *code)
{
    const char *selector = json_string_value(json_object_get(params, "selector"));
    int want = -1; /* all */
    if (selector && strcmp(selector, "deviceState=online") == 0) want = 1;
    if (selector && strcmp(selector, "deviceState=offline") == 0) want = 0;
    json_t *list = json_array();
    pthread_mutex_lock(&leda__sdk.mu);
    for (int i = 0; list && i < leda__sdk.devices.count; i++) {
        const leda__device_t *d = leda__sdk.devices.items[i];
        if (want < 0 || d->online == want) json_array_append_new(list, json_string(d->cloud_id));
    }
    pthread_mutex_unlock(&leda__sdk.mu);
    json_t *reply = json_pack("{s:o, s:I}", "devList", list ? list : json_array(), "devNum",
                              (json_int_t)json_array_size(list));
    *code = reply ? LE_SUCCESS : LE_ERROR_ALLOCATING_MEM;
    return reply;
}

static const struct {
    const char *method;
    json_t *(*fn)(json_t *params, int *code);
} leda__methods[] = {
    {"callServices", leda__on_call_services},
    {"notifyConfig", leda__on_notify_config},
    {"getDeviceList", leda__on_get_device_list},
};

/* The connection's handler: dispatches by method; unknown methods get 100008. */
static json_t *leda__on_call(void *data, const char *method, json_t *params, int *code)
{
    (void)data;
    for (size_t i = 0; i < sizeof leda__methods / sizeof leda__methods[0]; i++)
        if (strcmp(method, leda__methods[i].method) == 0) return leda__methods[i].fn(params, code);
    log_e(LEDA_TAG_NAME, "unknown call %s from the runtime\n", method);
    *code = LE_ERROR_SERVICE_UNREACHABLE;
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int leda_init(int worker_thread_nums)
{
    const char *id = getenv("FUNCTION_ID"), *name = getenv("FUNCTION_NAME");
    const char *socket_path = getenv("VERGE_DRIVER_SOCKET");
    if (!id || !name) {
        log_e(LEDA_TAG_NAME, "FUNCTION_ID and FUNCTION_NAME are not set: not started by verge?\n");
        return LE_ERROR_INVAILD_PARAM;
    }
    if (worker_thread_nums <= 0) {
        log_e(LEDA_TAG_NAME, "worker_thread_nums %d must be > 0\n", worker_thread_nums);
        return LE_ERROR_INVAILD_PARAM;
    }
    if (!socket_path) {
        log_e(LEDA_TAG_NAME, "VERGE_DRIVER_SOCKET is not set: not started by verge?\n");
        return LE_ERROR_INVAILD_PARAM;
    }
#ifdef __linux__
    /* The runtime that started us is our parent: when it dies, even by SIGKILL, we get SIGTERM
     * (the next runtime starts its own copy, so no orphan keeps serving the devices). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
        log_e(LEDA_TAG_NAME, "the runtime that started this driver is gone\n");
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
#endif
    pthread_mutex_lock(&leda__sdk.life_mu);
    if (leda__sdk.conn) {
        pthread_mutex_unlock(&leda__sdk.life_mu);
        log_e(LEDA_TAG_NAME, "leda_init: already initialised\n");
        return LE_ERROR_UNKNOWN;
    }
    char *idc = strdup(id), *namec = strdup(name);
    leda__conn_t *conn = NULL;
    leda__conn_opts_t opts = {
        .socket_path = socket_path,
        .function_id = id,
        .token = getenv("VERGE_DRIVER_TOKEN"),
        .workers = worker_thread_nums,
        .timeout_ms = atomic_load(&leda__sdk.timeout_ms),
        .on_call = leda__on_call,
    };
    int rc = idc && namec ? leda__conn_open(&opts, &conn) : LE_ERROR_ALLOCATING_MEM;
    if (rc == LE_SUCCESS) {
        pthread_rwlock_wrlock(&leda__sdk.conn_lock);
        leda__sdk.conn = conn;
        leda__sdk.function_id = idc;
        leda__sdk.function_name = namec;
        pthread_rwlock_unlock(&leda__sdk.conn_lock);
    } else {
        free(idc);
        free(namec);
    }
    pthread_mutex_unlock(&leda__sdk.life_mu);
    return rc;
}

void leda_exit(void)
{
    pthread_mutex_lock(&leda__sdk.life_mu);
    /* fail the calls in flight first, so that the write lock comes quickly */
    pthread_rwlock_rdlock(&leda__sdk.conn_lock);
    leda__conn_shutdown(leda__sdk.conn);
    pthread_rwlock_unlock(&leda__sdk.conn_lock);

    pthread_rwlock_wrlock(&leda__sdk.conn_lock);
    leda__conn_t *conn = leda__sdk.conn;
    char *id = leda__sdk.function_id, *name = leda__sdk.function_name;
    leda__sdk.conn = NULL;
    leda__sdk.function_id = leda__sdk.function_name = NULL;
    pthread_rwlock_unlock(&leda__sdk.conn_lock);

    leda__conn_close(conn); /* joins the workers; their API calls now fail fast */
    pthread_mutex_lock(&leda__sdk.mu);
    leda__devices_clear(&leda__sdk.devices);
    while (leda__sdk.products) {
        leda__product_t *p = leda__sdk.products;
        leda__sdk.products = p->next;
        leda__tsl_destroy(p->tsl);
        free(p->product_key);
        free(p);
    }
    leda__sdk.config_cb = NULL;
    pthread_mutex_unlock(&leda__sdk.mu);
    free(id);
    free(name);
    pthread_mutex_unlock(&leda__sdk.life_mu);
}
