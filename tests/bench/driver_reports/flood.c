/* flood.c: the bench driver of tests/bench/driver_reports.sh. Written against the Link IoT Edge
 * C driver API only (leda.h, le_error.h, log.h) and jansson, like any driver. It registers every
 * device of its device list, waits until the file config.json.start_file exists when one is
 * given (so that the runtime can be observed idle first), then calls leda_report_properties() in a
 * tight loop: report i goes to device i % N and carries props_per_report INT properties of it,
 * valued i, named p<(r * K + j) % P> for j < K, where r = i / N is the round, K props_per_report
 * and P config.json.props (the TSL's property count), so consecutive rounds walk all P properties.
 * It stops after config.json.reports reports, or after config.json.duration_ms when reports is
 * 0, logs one line
 *   FLOOD_DONE reports=R props_per_report=K props=P devices=N errors=E start_ms=S end_ms=T
 * (wall-clock ms), writes the same line to config.json.result_file when given, and idles until
 * SIGTERM. Given R, anyone can compute the last value of every (device, property). */
#include <jansson.h>
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

#define TAG             "flood"
#define MAX_DEVICES     1024
#define MAX_PROPS       64
#define SERVICE_OUTPUTS 1

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The driver serves nothing: every request is refused. */
static int get_cb(device_handle_t h, leda_device_data_t p[], int n, void *u)
{
    (void)h, (void)p, (void)n, (void)u;
    return LEDA_ERROR_PROPERTY_NOT_EXIST;
}

static int set_cb(device_handle_t h, const leda_device_data_t p[], int n, void *u)
{
    (void)h, (void)p, (void)n, (void)u;
    return LEDA_ERROR_PROPERTY_NOT_EXIST;
}

static int service_cb(device_handle_t h, const char *s, const leda_device_data_t d[], int n,
                      leda_device_data_t out[], void *u)
{
    (void)h, (void)s, (void)d, (void)n, (void)out, (void)u;
    return LEDA_ERROR_SERVICE_NOT_EXIST;
}

typedef struct settings {
    long long reports; /* 0: run for duration_ms */
    long long duration_ms;
    int props_per_report;
    int props;
    char start_file[1024];
    char result_file[1024];
} settings_t;

static long long int_of(json_t *obj, const char *key, long long dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

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
    s->reports = int_of(js, "reports", 1000000);
    s->duration_ms = int_of(js, "duration_ms", 10000);
    s->props_per_report = (int)int_of(js, "props_per_report", 20);
    s->props = (int)int_of(js, "props", 20);
    const char *sf = json_string_value(json_object_get(js, "start_file"));
    const char *rf = json_string_value(json_object_get(js, "result_file"));
    if (sf) snprintf(s->start_file, sizeof s->start_file, "%s", sf);
    if (rf) snprintf(s->result_file, sizeof s->result_file, "%s", rf);
    json_decref(root);
    if (s->props < 1 || s->props > MAX_PROPS || s->props_per_report < 1 ||
        s->props_per_report > s->props || s->reports < 0 || s->reports > INT32_MAX ||
        (s->reports == 0 && s->duration_ms <= 0)) {
        log_e(TAG,
              "config.json: need 1 <= props_per_report <= props <= %d, 0 <= reports < 2^31,"
              " and duration_ms > 0 when reports is 0\n",
              MAX_PROPS);
        return -1;
    }
    return 0;
}

/* Registers every device of the device list into handles[]. Returns their number (0 on
 * failure, logged). */
static int register_devices(device_handle_t *handles, leda_device_callback_t *cb)
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
        device_handle_t h = leda_register_and_online_by_device_name(pk, dn, cb, NULL);
        if (h < 0) {
            log_e(TAG, "%s/%s: register failed (%d)\n", pk, dn, h);
            n = 0;
            break;
        }
        handles[n++] = h;
    }
    json_decref(list);
    if (n == 0) log_e(TAG, "no device registered\n");
    return n;
}

int main(void)
{
    bench_catch_signals(on_signal);

    log_init(TAG, LOG_STDOUT, LOG_LEVEL_INFO, LOG_MOD_BRIEF);
    if (leda_init(1) != LE_SUCCESS) {
        log_e(TAG, "leda_init failed\n");
        return 1;
    }
    settings_t s;
    static device_handle_t handles[MAX_DEVICES];
    leda_device_callback_t cb = {get_cb, set_cb, service_cb, SERVICE_OUTPUTS};
    int ndev = read_settings(&s) == 0 ? register_devices(handles, &cb) : 0;
    if (ndev == 0) {
        /* idle rather than exit: the runtime would restart a driver that exits */
        while (!g_stop)
            sleep_ms(100);
        leda_exit();
        return 1;
    }
    log_i(TAG, "FLOOD_READY devices=%d\n", ndev);
    while (s.start_file[0] && access(s.start_file, F_OK) != 0 && !g_stop)
        sleep_ms(5);

    static leda_device_data_t data[MAX_PROPS];
    int K = s.props_per_report, P = s.props;
    for (int j = 0; j < K; j++)
        data[j].type = LEDA_TYPE_INT;
    long long i = 0, errors = 0;
    int64_t start = wall_ms(), t0 = mono_ms(), until = t0 + s.duration_ms;
    while (!g_stop) {
        if (s.reports > 0 ? i >= s.reports : ((i & 255) == 0 && mono_ms() >= until)) break;
        long long round = i / ndev;
        for (int j = 0; j < K; j++) {
            snprintf(data[j].key, sizeof data[j].key, "p%d", (int)((round * K + j) % P));
            snprintf(data[j].value, sizeof data[j].value, "%lld", i);
        }
        if (leda_report_properties(handles[i % ndev], data, K) != LE_SUCCESS) errors++;
        i++;
    }
    int64_t end = wall_ms();
    char line[512];
    snprintf(line, sizeof line,
             "FLOOD_DONE reports=%lld props_per_report=%d props=%d devices=%d errors=%lld "
             "start_ms=%lld end_ms=%lld",
             i, K, P, ndev, errors, (long long)start, (long long)end);
    log_i(TAG, "%s\n", line);
    if (s.result_file[0]) { /* written whole, then renamed: a reader never sees half */
        char tmp[sizeof s.result_file + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", s.result_file);
        FILE *f = fopen(tmp, "w");
        int ok = f && fprintf(f, "%s\n", line) > 0;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok || rename(tmp, s.result_file) != 0) log_e(TAG, "cannot write %s\n", s.result_file);
    }
    while (!g_stop)
        sleep_ms(100);
    leda_exit();
    return 0;
}
