/* reporter.c: the driver of the realistic workload (tests/bench/realistic/, issue 7), written
 * against the Link IoT Edge C driver API only (leda.h, le_error.h, log.h) and jansson, like any
 * driver, and shaped after tests/bench/fn_flow/sensor_flood.c. The bundle runs ten of them (one
 * executable, ten driver entries), each with ten devices of the product a1RealSensor (20
 * properties: temperature, humidity, p03 .. p19, tag).
 *
 * It registers every device of its device list and answers property gets from the values it
 * last reported. While the file config.json.run_file exists (relative to its working
 * directory, the bundle folder it shares with the other nine), it calls
 * leda_report_properties() config.json.rate times a second on an absolute CLOCK_MONOTONIC
 * schedule, rotating over its devices. Report k of a device (k counts that device's reports)
 * carries five of the twenty properties:
 *   temperature (float) 21.5 + k % 10        (one report in ten is above 30)
 *   humidity    (int)   40 + k % 50
 *   pA, pB      (int)   100 + k % 900        (two of p03 .. p19, rotating)
 *   tag         (text)  'x' times the length that makes the report's JSON body exactly
 *                       config.json.bytes (default 256) bytes, as the SDK serialises it
 * and every config.json.event_every reports (0: never) it raises the event high_temperature
 * on the device. When the run file goes away it stops, and logs
 *   REPORTER_IDLE driver=NAME reports=R events=E errors=X
 * (totals since start). It logs REPORTER_READY driver=NAME devices=N bytes=B once registered.
 * Runs until SIGTERM. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "le_error.h"
#include "leda.h"
#include "log.h"
#include "../bench_driver.h"

#define TAG             "reporter"
#define MAX_DEVICES     64
#define NPROPS          20
#define NROTATING       17 /* p03 .. p19 */
#define SERVICE_OUTPUTS 1
/* the SDK writes {"KEY":{"value":V,"time":T}} with a 13-digit ms time: 34 bytes besides the
 * key and the value's JSON */
#define ENTRY_OVERHEAD 34

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* One device: its handle and the last value reported of each property, as text. */
typedef struct device {
    device_handle_t handle;
    long long count;
    char values[NPROPS][16];
} device_t;

static const char *const g_keys[NPROPS] = {"temperature", "humidity", "p03", "p04", "p05",
                                           "p06",         "p07",      "p08", "p09", "p10",
                                           "p11",         "p12",      "p13", "p14", "p15",
                                           "p16",         "p17",      "p18", "p19", "tag"};
static const leda_data_type_e g_types[NPROPS] = {
    LEDA_TYPE_FLOAT, LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT,
    LEDA_TYPE_INT,   LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT,
    LEDA_TYPE_INT,   LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT,
    LEDA_TYPE_INT,   LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_INT, LEDA_TYPE_TEXT};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g_devices[].values */
static device_t g_devices[MAX_DEVICES];
static int g_ndev;
static char g_tag[MAX_PARAM_VALUE_LENGTH];

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !g_stop) {
    }
}

static int key_index(const char *key)
{
    for (int i = 0; i < NPROPS; i++)
        if (strcmp(g_keys[i], key) == 0) return i;
    return -1;
}

static device_t *device_of(device_handle_t h)
{
    for (int i = 0; i < g_ndev; i++)
        if (g_devices[i].handle == h) return &g_devices[i];
    return NULL;
}

/* Answers a get from the values last reported (a property never reported reads as 0, or ""). */
static int get_cb(device_handle_t h, leda_device_data_t p[], int n, void *u)
{
    (void)u;
    device_t *d = device_of(h);
    if (!d) return LEDA_ERROR_DEVICE_UNREGISTER;
    int rc = LE_SUCCESS;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < n && rc == LE_SUCCESS; i++) {
        int k = key_index(p[i].key);
        if (k < 0) {
            rc = LEDA_ERROR_PROPERTY_NOT_EXIST;
            break;
        }
        p[i].type = g_types[k];
        const char *v = k == NPROPS - 1 ? g_tag : d->values[k][0] ? d->values[k] : "0";
        snprintf(p[i].value, sizeof p[i].value, "%s", v);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static int set_cb(device_handle_t h, const leda_device_data_t p[], int n, void *u)
{
    (void)h, (void)p, (void)n, (void)u;
    return LEDA_ERROR_PROPERTY_READ_ONLY;
}

static int service_cb(device_handle_t h, const char *s, const leda_device_data_t d[], int n,
                      leda_device_data_t out[], void *u)
{
    (void)h, (void)s, (void)d, (void)n, (void)out, (void)u;
    return LEDA_ERROR_SERVICE_NOT_EXIST;
}

typedef struct settings {
    int rate;
    int bytes;
    int event_every;
    char run_file[1024];
} settings_t;

/* Reads config.json of the driver config into `s`. Returns 0, or -1 after logging. */
static int read_settings(settings_t *s)
{
    memset(s, 0, sizeof *s);
    int size = leda_get_config_size();
    char *text = size > 0 ? malloc((size_t)size) : NULL;
    json_t *root = NULL;
    if (text && leda_get_config(text, size) == LE_SUCCESS) root = json_loads(text, 0, NULL);
    free(text);
    json_t *js = json_object_get(json_object_get(root, "config"), "json");
    if (!json_is_object(js)) {
        log_e(TAG, "no config.json in the driver config\n");
        json_decref(root);
        return -1;
    }
    json_t *v = json_object_get(js, "rate");
    s->rate = json_is_integer(v) ? (int)json_integer_value(v) : 100;
    v = json_object_get(js, "bytes");
    s->bytes = json_is_integer(v) ? (int)json_integer_value(v) : 256;
    v = json_object_get(js, "event_every");
    s->event_every = json_is_integer(v) ? (int)json_integer_value(v) : 0;
    const char *rf = json_string_value(json_object_get(js, "run_file"));
    snprintf(s->run_file, sizeof s->run_file, "%s", rf ? rf : "run");
    json_decref(root);
    if (s->rate < 1 || s->rate > 1000000 || s->event_every < 0) {
        log_e(TAG, "config.json: need 1 <= rate <= 1000000 and event_every >= 0\n");
        return -1;
    }
    return 0;
}

/* Registers every device of the device list. Returns their number (0 on failure, logged). */
static int register_devices(leda_device_callback_t *cb)
{
    json_t *list = bench_device_list();
    int n = 0;
    size_t i;
    json_t *dev;
    json_array_foreach(list, i, dev)
    {
        const char *pk = json_string_value(json_object_get(dev, "productKey"));
        const char *dn = json_string_value(json_object_get(dev, "deviceName"));
        if (!pk || !dn || n == MAX_DEVICES) continue;
        /* g_ndev is raised before registering: a get can arrive as soon as it is online */
        g_devices[n].handle = -1;
        g_ndev = n + 1;
        device_handle_t h = leda_register_and_online_by_device_name(pk, dn, cb, NULL);
        if (h < 0) {
            log_e(TAG, "%s/%s: register failed (%d)\n", pk, dn, h);
            n = 0;
            break;
        }
        pthread_mutex_lock(&g_lock);
        g_devices[n].handle = h;
        pthread_mutex_unlock(&g_lock);
        n++;
    }
    json_decref(list);
    g_ndev = n;
    if (n == 0) log_e(TAG, "no device registered\n");
    return n;
}

/* The length of the JSON body of a report of the four fixed-width values of report_once()
 * and a tag of `tag_len` characters. */
static int body_length(int tag_len)
{
    /* temperature "dd.d", humidity "dd", two "ddd" values, the tag with its quotes */
    int len = 2 + 4; /* braces, four commas */
    len += (int)strlen("temperature") + 4 + ENTRY_OVERHEAD;
    len += (int)strlen("humidity") + 2 + ENTRY_OVERHEAD;
    len += 2 * (3 + 3 + ENTRY_OVERHEAD);
    len += 3 + tag_len + 2 + ENTRY_OVERHEAD;
    return len;
}

/* Reports the next values of device `d`. Returns the SDK's code. */
static int report_once(device_t *d)
{
    leda_device_data_t data[5];
    long long k = d->count++;
    int a = 2 + (int)((2 * k) % NROTATING), b = 2 + (int)((2 * k + 1) % NROTATING);
    int idx[5] = {0, 1, a, b, NPROPS - 1};
    pthread_mutex_lock(&g_lock);
    snprintf(d->values[0], sizeof d->values[0], "%.1f", 21.5 + (double)(k % 10));
    snprintf(d->values[1], sizeof d->values[1], "%lld", 40 + k % 50);
    snprintf(d->values[a], sizeof d->values[a], "%lld", 100 + k % 900);
    snprintf(d->values[b], sizeof d->values[b], "%lld", 100 + (k + 1) % 900);
    for (int i = 0; i < 5; i++) {
        data[i].type = g_types[idx[i]];
        snprintf(data[i].key, sizeof data[i].key, "%s", g_keys[idx[i]]);
        snprintf(data[i].value, sizeof data[i].value, "%s",
                 idx[i] == NPROPS - 1 ? g_tag : d->values[idx[i]]);
    }
    pthread_mutex_unlock(&g_lock);
    return leda_report_properties(d->handle, data, 5);
}

static int raise_event(device_t *d)
{
    leda_device_data_t data[1];
    memset(data, 0, sizeof data);
    data[0].type = LEDA_TYPE_FLOAT;
    snprintf(data[0].key, sizeof data[0].key, "temperature");
    pthread_mutex_lock(&g_lock);
    snprintf(data[0].value, sizeof data[0].value, "%s", d->values[0]);
    pthread_mutex_unlock(&g_lock);
    return leda_report_event(d->handle, "high_temperature", data, 1);
}

int main(void)
{
    bench_catch_signals(on_signal);

    const char *name = getenv("FUNCTION_NAME");
    if (!name) name = "?";
    log_init(TAG, LOG_STDOUT, LOG_LEVEL_INFO, LOG_MOD_BRIEF);
    if (leda_init(2) != LE_SUCCESS) {
        log_e(TAG, "leda_init failed\n");
        return 1;
    }
    settings_t s;
    int tag_len = 0;
    leda_device_callback_t cb = {get_cb, set_cb, service_cb, SERVICE_OUTPUTS};
    int ok = read_settings(&s) == 0;
    if (ok) {
        tag_len = s.bytes - body_length(0);
        if (tag_len < 0 || tag_len >= (int)sizeof g_tag) {
            log_e(TAG, "config.json: bytes = %d: expected %d to %d\n", s.bytes, body_length(0),
                  body_length((int)sizeof g_tag - 1));
            ok = 0;
        }
    }
    if (ok) {
        memset(g_tag, 'x', (size_t)tag_len);
        g_tag[tag_len] = 0;
    }
    int ndev = ok ? register_devices(&cb) : 0;
    if (ndev == 0) {
        /* idle rather than exit: the runtime would restart a driver that exits */
        while (!g_stop)
            sleep_until_ns(now_ns() + 100000000);
        leda_exit();
        return 1;
    }
    log_i(TAG, "REPORTER_READY driver=%s devices=%d bytes=%d\n", name, ndev, body_length(tag_len));

    long long reports = 0, events = 0, errors = 0;
    int64_t period = 1000000000 / s.rate;
    while (!g_stop) {
        while (access(s.run_file, F_OK) != 0 && !g_stop)
            sleep_until_ns(now_ns() + 20000000);
        int64_t next = now_ns();
        long long i = 0;
        while (!g_stop) {
            /* the run file is looked at ten times a second, not at every report */
            if (i % (s.rate / 10 + 1) == 0 && access(s.run_file, F_OK) != 0) break;
            device_t *d = &g_devices[i % ndev];
            if (report_once(d) != LE_SUCCESS) errors++;
            reports++;
            if (s.event_every > 0 && reports % s.event_every == 0) {
                if (raise_event(d) != LE_SUCCESS) errors++;
                events++;
            }
            i++;
            next += period;
            sleep_until_ns(next);
        }
        log_i(TAG, "REPORTER_IDLE driver=%s reports=%lld events=%lld errors=%lld\n", name,
              reports, events, errors);
    }
    leda_exit();
    return 0;
}
