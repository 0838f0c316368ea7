/* scale_reporter.c: the driver of the scale test of issue 7 (tests/bench/realistic/scale.py),
 * written against the Link IoT Edge C driver API only (leda.h, le_error.h, log.h) and jansson,
 * like reporter.c, whose shape it follows. Each instance registers every device of its device
 * list (any number) of the product a1ScaleSensor (NPROPS int properties p00 .. p49) and answers
 * property gets from the values it last reported (0 before any report).
 *
 * config.json: {"fill_file": F, "run_file": R, "rate": N} (paths relative to the working
 * directory, the folder of the executable, which all instances share).
 *   - When F appears, it reports every property of every device once (one report of NPROPS
 *     properties per device, as fast as the SDK takes them) and logs
 *     SCALE_FILLED driver=NAME devices=D errors=X; once per run of the driver.
 *   - While R exists, it raises the event tick (one int property n) N times a second on an
 *     absolute CLOCK_MONOTONIC schedule, rotating over its devices (the messages the bundle's
 *     routes carry), and logs SCALE_IDLE driver=NAME events=E errors=X when R goes away.
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

#define TAG             "scale_reporter"
#define NPROPS          50
#define SERVICE_OUTPUTS 1

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* One device: its handle and the last value reported of each property. */
typedef struct device {
    device_handle_t handle;
    int values[NPROPS];
} device_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g_devices, g_ndev */
static device_t *g_devices;
static int g_ndev;

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

/* "p00" .. "p49" to 0 .. 49; -1 for anything else. */
static int key_index(const char *key)
{
    if (key[0] != 'p' || key[1] < '0' || key[1] > '9' || key[2] < '0' || key[2] > '9' || key[3])
        return -1;
    int k = (key[1] - '0') * 10 + (key[2] - '0');
    return k < NPROPS ? k : -1;
}

static device_t *device_of(device_handle_t h)
{
    for (int i = 0; i < g_ndev; i++)
        if (g_devices[i].handle == h) return &g_devices[i];
    return NULL;
}

static int get_cb(device_handle_t h, leda_device_data_t p[], int n, void *u)
{
    (void)u;
    int rc = LE_SUCCESS;
    pthread_mutex_lock(&g_lock);
    device_t *d = device_of(h);
    for (int i = 0; d && i < n; i++) {
        int k = key_index(p[i].key);
        if (k < 0) {
            rc = LEDA_ERROR_PROPERTY_NOT_EXIST;
            break;
        }
        p[i].type = LEDA_TYPE_INT;
        snprintf(p[i].value, sizeof p[i].value, "%d", d->values[k]);
    }
    pthread_mutex_unlock(&g_lock);
    return d ? rc : LEDA_ERROR_DEVICE_UNREGISTER;
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
    char fill_file[1024];
    char run_file[1024];
} settings_t;

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
    s->rate = json_is_integer(v) ? (int)json_integer_value(v) : 1;
    const char *ff = json_string_value(json_object_get(js, "fill_file"));
    const char *rf = json_string_value(json_object_get(js, "run_file"));
    snprintf(s->fill_file, sizeof s->fill_file, "%s", ff ? ff : "fill");
    snprintf(s->run_file, sizeof s->run_file, "%s", rf ? rf : "run");
    json_decref(root);
    if (s->rate < 1 || s->rate > 1000000) {
        log_e(TAG, "config.json: need 1 <= rate <= 1000000\n");
        return -1;
    }
    return 0;
}

/* Registers every device of the device list. Returns their number (0 on failure, logged). */
static int register_devices(leda_device_callback_t *cb)
{
    json_t *list = bench_device_list();
    size_t cap = json_array_size(list);
    g_devices = cap ? calloc(cap, sizeof *g_devices) : NULL;
    int n = 0;
    size_t i;
    json_t *dev;
    json_array_foreach(list, i, dev)
    {
        const char *pk = json_string_value(json_object_get(dev, "productKey"));
        const char *dn = json_string_value(json_object_get(dev, "deviceName"));
        if (!pk || !dn || !g_devices) continue;
        pthread_mutex_lock(&g_lock);
        g_devices[n].handle = -1; /* a get can arrive as soon as it is online */
        g_ndev = n + 1;
        pthread_mutex_unlock(&g_lock);
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
    pthread_mutex_lock(&g_lock);
    g_ndev = n;
    pthread_mutex_unlock(&g_lock);
    if (n == 0) log_e(TAG, "no device registered\n");
    return n;
}

/* Reports all NPROPS properties of device `d` (values 1000 + index). Returns the SDK's code. */
static int report_all(device_t *d)
{
    static leda_device_data_t data[NPROPS];
    pthread_mutex_lock(&g_lock);
    for (int k = 0; k < NPROPS; k++) {
        d->values[k] = 1000 + k;
        data[k].type = LEDA_TYPE_INT;
        snprintf(data[k].key, sizeof data[k].key, "p%02d", k);
        snprintf(data[k].value, sizeof data[k].value, "%d", d->values[k]);
    }
    pthread_mutex_unlock(&g_lock);
    return leda_report_properties(d->handle, data, NPROPS);
}

static int raise_tick(device_t *d, long long n)
{
    leda_device_data_t data[1];
    memset(data, 0, sizeof data);
    data[0].type = LEDA_TYPE_INT;
    snprintf(data[0].key, sizeof data[0].key, "n");
    snprintf(data[0].value, sizeof data[0].value, "%lld", n % 1000000);
    return leda_report_event(d->handle, "tick", data, 1);
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
    leda_device_callback_t cb = {get_cb, set_cb, service_cb, SERVICE_OUTPUTS};
    int ndev = read_settings(&s) == 0 ? register_devices(&cb) : 0;
    if (ndev == 0) {
        /* idle rather than exit: the runtime would restart a driver that exits */
        while (!g_stop)
            sleep_until_ns(now_ns() + 100000000);
        leda_exit();
        return 1;
    }
    log_i(TAG, "SCALE_READY driver=%s devices=%d\n", name, ndev);

    int filled = 0;
    long long events = 0, errors = 0;
    int64_t period = 1000000000 / s.rate;
    while (!g_stop) {
        if (!filled && access(s.fill_file, F_OK) == 0) {
            long long ferr = 0;
            for (int i = 0; i < ndev && !g_stop; i++)
                if (report_all(&g_devices[i]) != LE_SUCCESS) ferr++;
            filled = 1;
            log_i(TAG, "SCALE_FILLED driver=%s devices=%d errors=%lld\n", name, ndev, ferr);
        }
        if (access(s.run_file, F_OK) != 0) {
            sleep_until_ns(now_ns() + 20000000);
            continue;
        }
        int64_t next = now_ns();
        long long i = 0;
        while (!g_stop) {
            if (i % (s.rate / 10 + 1) == 0 && access(s.run_file, F_OK) != 0) break;
            if (raise_tick(&g_devices[i % ndev], events) != LE_SUCCESS) errors++;
            events++;
            i++;
            next += period;
            sleep_until_ns(next);
        }
        log_i(TAG, "SCALE_IDLE driver=%s events=%lld errors=%lld\n", name, events, errors);
    }
    leda_exit();
    return 0;
}
