/* main.c: demo_light, the demo bundle's driver. One simulated light per device in its device
 * list: a switch, a brightness and a temperature that drifts toward what the lamp heats up to.
 * It is written only against the original Link IoT Edge C SDK API (leda.h, le_error.h, log.h),
 * so it builds unchanged against that SDK or verge's. JSON is parsed with jansson, which
 * verge's SDK already links (the original demos use cJSON the same way). */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "le_error.h"
#include "leda.h"
#include "log.h"

#define DRIVER_TAG "demo_light"

#define DEFAULT_REPORT_INTERVAL_MS 1000
#define MIN_REPORT_INTERVAL_MS     100
#define MAX_REPORT_INTERVAL_MS     3600000
#define DEFAULT_HIGH_TEMPERATURE   50.0
#define HYSTERESIS                 2.0 /* the alert re-arms this far below the limit */
#define TICK_MS                    50
#define SERVICE_OUTPUT_MAX         5

/* One simulated light. The SDK's worker threads run the callbacks while the main thread
 * reports, so every field after `lock` is read and written under it. */
typedef struct light {
    pthread_mutex_t lock;
    device_handle_t handle;
    char device_name[MAX_PARAM_NAME_LENGTH];
    int on;             /* LightSwitch: 0 or 1 */
    int brightness;     /* 0..100 */
    double temperature; /* degrees Celsius */
    int alerted;        /* high_temperature was raised and has not re-armed yet */
    int dirty;          /* a set or a service changed something: report at the next tick */
    unsigned seed;      /* for the temperature noise */
} light_t;

/* The settings from the driver config. The SDK passes its config-changed callback no user
 * data, so they live at file scope, under a lock (that callback runs on a worker thread). */
static pthread_mutex_t g_settings_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_report_interval_ms = DEFAULT_REPORT_INTERVAL_MS;
static double g_high_temperature = DEFAULT_HIGH_TEMPERATURE;

/* Set by SIGTERM and SIGINT; the main loop then leaves through leda_exit(). */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Parses a whole decimal integer ("42", not "4x" or "4.5"). Returns 0 on success. */
static int parse_int(const char *text, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0') return -1;
    *out = v;
    return 0;
}

/* Reads config.json.report_interval_ms and config.json.high_temperature from the driver
 * config (the text of leda_get_config(), or of the config-changed callback). Missing keys get
 * their defaults; a bad value is logged and replaced by the default. */
static void apply_config(const char *text)
{
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    if (!root) {
        log_w(DRIVER_TAG, "driver config is not JSON (%s); keeping the defaults\n", err.text);
        return;
    }
    json_t *cfg = json_object_get(root, "config");
    json_t *js = json_object_get(cfg ? cfg : root, "json");
    json_t *interval = json_object_get(js, "report_interval_ms");
    json_t *limit = json_object_get(js, "high_temperature");
    int ms = DEFAULT_REPORT_INTERVAL_MS;
    double high = DEFAULT_HIGH_TEMPERATURE;
    if (json_is_integer(interval) && json_integer_value(interval) >= MIN_REPORT_INTERVAL_MS &&
        json_integer_value(interval) <= MAX_REPORT_INTERVAL_MS)
        ms = (int)json_integer_value(interval);
    else if (interval)
        log_w(DRIVER_TAG,
              "config.json.report_interval_ms must be an integer from %d to %d; "
              "using %d\n",
              MIN_REPORT_INTERVAL_MS, MAX_REPORT_INTERVAL_MS, ms);
    if (json_is_number(limit))
        high = json_number_value(limit);
    else if (limit)
        log_w(DRIVER_TAG, "config.json.high_temperature must be a number; using %.1f\n", high);
    json_decref(root);
    pthread_mutex_lock(&g_settings_lock);
    g_report_interval_ms = ms;
    g_high_temperature = high;
    pthread_mutex_unlock(&g_settings_lock);
    log_i(DRIVER_TAG, "report every %d ms, high_temperature above %.1f\n", ms, high);
}

static int config_changed_cb(const char *config)
{
    apply_config(config);
    return LE_SUCCESS;
}

/* Fills `d`; `key` may be d->key itself (a get callback fills the entries it was given). */
static void set_data(leda_device_data_t *d, leda_data_type_e type, const char *key,
                     const char *value)
{
    d->type = type;
    if (key != d->key) snprintf(d->key, sizeof d->key, "%s", key);
    snprintf(d->value, sizeof d->value, "%s", value);
}

/* Fills `d` with property `key` of `l` (locked). Returns LE_SUCCESS or
 * LEDA_ERROR_PROPERTY_NOT_EXIST. */
static int read_property(const light_t *l, const char *key, leda_device_data_t *d)
{
    char value[32];
    if (strcmp(key, "LightSwitch") == 0) {
        snprintf(value, sizeof value, "%d", l->on);
        set_data(d, LEDA_TYPE_BOOL, key, value);
    } else if (strcmp(key, "brightness") == 0) {
        snprintf(value, sizeof value, "%d", l->brightness);
        set_data(d, LEDA_TYPE_INT, key, value);
    } else if (strcmp(key, "temperature") == 0) {
        /* a TSL float; sent as DOUBLE because the SDK reads FLOAT text with strtof, which
         * turns "35.4" into 35.400001525878906 on the wire */
        snprintf(value, sizeof value, "%.1f", l->temperature);
        set_data(d, LEDA_TYPE_DOUBLE, key, value);
    } else {
        return LEDA_ERROR_PROPERTY_NOT_EXIST;
    }
    return LE_SUCCESS;
}

static int get_properties_cb(device_handle_t dev_handle, leda_device_data_t properties[],
                             int properties_count, void *usr_data)
{
    light_t *l = usr_data;
    int rc = LE_SUCCESS;
    (void)dev_handle;
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < properties_count && rc == LE_SUCCESS; i++) {
        rc = read_property(l, properties[i].key, &properties[i]);
        if (rc != LE_SUCCESS)
            log_w(DRIVER_TAG, "%s: get of unknown property %s\n", l->device_name,
                  properties[i].key);
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* Checks one property write. Returns LE_SUCCESS with the new value in *out, or the SDK's
 * error code for it. */
static int check_write(const leda_device_data_t *p, long *out)
{
    int is_switch = strcmp(p->key, "LightSwitch") == 0;
    if (strcmp(p->key, "temperature") == 0) return LEDA_ERROR_PROPERTY_READ_ONLY;
    if (!is_switch && strcmp(p->key, "brightness") != 0) return LEDA_ERROR_PROPERTY_NOT_EXIST;
    if (parse_int(p->value, out) != 0) return LEDA_ERROR_INVALID_TYPE;
    if (*out < 0 || *out > (is_switch ? 1 : 100)) return LE_ERROR_PARAM_RANGE_OVERFLOW;
    return LE_SUCCESS;
}

static int set_properties_cb(device_handle_t dev_handle, const leda_device_data_t properties[],
                             int properties_count, void *usr_data)
{
    light_t *l = usr_data;
    long v;
    (void)dev_handle;
    /* all or nothing: check every write before applying any */
    for (int i = 0; i < properties_count; i++) {
        int rc = check_write(&properties[i], &v);
        if (rc != LE_SUCCESS) {
            log_w(DRIVER_TAG, "%s: refused set %s = \"%s\" (%d)\n", l->device_name,
                  properties[i].key, properties[i].value, rc);
            return rc;
        }
    }
    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < properties_count; i++) {
        check_write(&properties[i], &v);
        if (strcmp(properties[i].key, "LightSwitch") == 0)
            l->on = (int)v;
        else
            l->brightness = (int)v;
        l->dirty = 1;
    }
    pthread_mutex_unlock(&l->lock);
    log_i(DRIVER_TAG, "%s: set %d properties\n", l->device_name, properties_count);
    return LE_SUCCESS;
}

/* Service "turn": input LightSwitch (0 or 1); output LightSwitch and a result sentence. */
static int call_service_cb(device_handle_t dev_handle, const char *service_name,
                           const leda_device_data_t data[], int data_count,
                           leda_device_data_t output_data[], void *usr_data)
{
    light_t *l = usr_data;
    long want = -1;
    (void)dev_handle;
    if (strcmp(service_name, "turn") != 0) return LEDA_ERROR_SERVICE_NOT_EXIST;
    for (int i = 0; i < data_count; i++)
        if (strcmp(data[i].key, "LightSwitch") == 0 && parse_int(data[i].value, &want) != 0)
            want = -1;
    if (want != 0 && want != 1) return LEDA_ERROR_SERVICE_INPUT_PARAM;
    pthread_mutex_lock(&l->lock);
    int was = l->on;
    l->on = (int)want;
    l->dirty |= was != l->on;
    read_property(l, "LightSwitch", &output_data[0]);
    pthread_mutex_unlock(&l->lock);
    char result[64];
    snprintf(result, sizeof result, "%s %s", was == want ? "already" : "switched",
             want ? "on" : "off");
    set_data(&output_data[1], LEDA_TYPE_TEXT, "result", result);
    log_i(DRIVER_TAG, "%s: turn %ld: %s\n", l->device_name, want, result);
    return LE_SUCCESS;
}

/* Moves the temperature one step toward what the lamp heats up to (22 °C off, up to 57 °C at
 * full brightness), with a little noise. Locked. */
static void drift(light_t *l)
{
    double target = 22.0 + (l->on ? 0.35 * l->brightness : 0.0);
    double noise = ((double)(rand_r(&l->seed) % 61) - 30.0) / 100.0;
    l->temperature += (target - l->temperature) * 0.15 + noise;
    if (l->temperature < -40.0) l->temperature = -40.0;
    if (l->temperature > 125.0) l->temperature = 125.0;
}

/* Reports all three properties of `l`; on a drift step also moves the temperature and raises
 * high_temperature when it passes the limit (once, until it falls HYSTERESIS below). */
static void report(light_t *l, int step, double high)
{
    leda_device_data_t props[3], temp;
    int raise = 0;
    pthread_mutex_lock(&l->lock);
    if (step) drift(l);
    read_property(l, "LightSwitch", &props[0]);
    read_property(l, "brightness", &props[1]);
    read_property(l, "temperature", &props[2]);
    if (!l->alerted && l->temperature > high) raise = l->alerted = 1;
    if (l->alerted && l->temperature < high - HYSTERESIS) l->alerted = 0;
    l->dirty = 0;
    temp = props[2];
    pthread_mutex_unlock(&l->lock);
    int rc = leda_report_properties(l->handle, props, 3);
    if (rc != LE_SUCCESS) log_w(DRIVER_TAG, "%s: report failed (%d)\n", l->device_name, rc);
    if (raise) {
        log_i(DRIVER_TAG, "%s: high_temperature %s\n", l->device_name, temp.value);
        rc = leda_report_event(l->handle, "high_temperature", &temp, 1);
        if (rc != LE_SUCCESS) log_w(DRIVER_TAG, "%s: event failed (%d)\n", l->device_name, rc);
    }
}

/* Reads the device list and registers one light per device. Returns the lights (with *count
 * of them; those that failed to register have handle INVALID_DEVICE_HANDLE), or NULL. */
static light_t *register_lights(leda_device_callback_t *cb, size_t *count)
{
    int size = leda_get_device_info_size();
    char *text = size > 0 ? malloc((size_t)size) : NULL;
    json_t *list = NULL;
    if (text && leda_get_device_info(text, size) == LE_SUCCESS) list = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_array(list) || json_array_size(list) == 0) {
        log_e(DRIVER_TAG, "no device list: this driver has no devices\n");
        json_decref(list);
        return NULL;
    }
    *count = json_array_size(list);
    light_t *lights = calloc(*count, sizeof *lights);
    if (!lights) *count = 0;
    for (size_t i = 0; lights && i < *count; i++) {
        light_t *l = &lights[i];
        json_t *dev = json_array_get(list, i);
        const char *pk = json_string_value(json_object_get(dev, "productKey"));
        const char *dn = json_string_value(json_object_get(dev, "deviceName"));
        pthread_mutex_init(&l->lock, NULL);
        l->handle = INVALID_DEVICE_HANDLE;
        l->on = 1;
        l->brightness = 60;
        l->temperature = 25.0;
        l->seed = (unsigned)time(NULL) + (unsigned)i;
        if (!pk || !dn) {
            log_e(DRIVER_TAG, "device %zu has no productKey or deviceName\n", i);
            continue;
        }
        snprintf(l->device_name, sizeof l->device_name, "%s", dn);
        l->handle = leda_register_and_online_by_device_name(pk, dn, cb, l);
        if (l->handle < 0)
            log_e(DRIVER_TAG, "%s/%s: register failed (%d)\n", pk, dn, l->handle);
        else
            log_i(DRIVER_TAG, "%s/%s online as handle %d\n", pk, dn, l->handle);
    }
    json_decref(list);
    return lights;
}

/* Sleeps `ms` milliseconds (less when a signal arrives). */
static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    log_init(DRIVER_TAG, LOG_STDOUT, LOG_LEVEL_INFO, LOG_MOD_BRIEF);
    int rc = leda_init(5);
    if (rc != LE_SUCCESS) {
        log_e(DRIVER_TAG, "leda_init failed (%d)\n", rc);
        return 1;
    }
    int size = leda_get_config_size();
    char *config = size > 0 ? malloc((size_t)size) : NULL;
    if (config && leda_get_config(config, size) == LE_SUCCESS) apply_config(config);
    free(config);
    leda_register_config_changed_callback(config_changed_cb);

    leda_device_callback_t cb = {get_properties_cb, set_properties_cb, call_service_cb,
                                 SERVICE_OUTPUT_MAX};
    size_t count = 0;
    light_t *lights = register_lights(&cb, &count);

    int elapsed = 1 << 30; /* report at once */
    while (!g_stop) {
        pthread_mutex_lock(&g_settings_lock);
        int interval = g_report_interval_ms;
        double high = g_high_temperature;
        pthread_mutex_unlock(&g_settings_lock);
        int step = elapsed >= interval;
        for (size_t i = 0; i < count; i++) {
            light_t *l = &lights[i];
            if (l->handle < 0) continue;
            pthread_mutex_lock(&l->lock);
            int dirty = l->dirty;
            pthread_mutex_unlock(&l->lock);
            if (step || dirty) report(l, step, high);
        }
        if (step) elapsed = 0;
        sleep_ms(TICK_MS);
        elapsed += TICK_MS;
    }

    log_i(DRIVER_TAG, "stopping\n");
    leda_exit(); /* after this no callback runs: the lights can go */
    for (size_t i = 0; i < count; i++)
        pthread_mutex_destroy(&lights[i].lock);
    free(lights);
    log_destroy();
    return 0;
}
