/* sensor_flood.c: the bench driver of tests/bench/fn_flow.sh, shaped after
 * tests/bench/driver_reports/flood.c and written against the Link IoT Edge C driver API only
 * (leda.h, le_error.h, log.h) and jansson, like any driver. It registers every device of its
 * device list, waits until config.json.start_file exists (relative paths are relative to the
 * driver's working directory, its bundle folder), removes it, then calls
 * leda_report_properties() in a tight loop, config.json.reports times: report i goes to device
 * i % N and carries
 *   temperature (float) 21.5 + i % 10   (so exactly one report in ten is above 30)
 *   humidity    (int)   40 + i % 50
 *   pad         (text)  config.json.pad characters (default 140), to make the report's JSON
 *                       about as long as the peer's 256-byte messages
 * When done it logs one line
 *   FLOOD_DONE round=K reports=R devices=N errors=E start_ms=S end_ms=T
 * (wall-clock ms), writes the same line to config.json.result_file when given, and waits for
 * the start file again (round K + 1), until SIGTERM. */
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

#define TAG             "sensor_flood"
#define MAX_DEVICES     1024
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
    long long reports;
    int pad;
    char start_file[1024];
    char result_file[1024];
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
    json_t *v = json_object_get(js, "reports");
    s->reports = json_is_integer(v) ? (long long)json_integer_value(v) : 500000;
    v = json_object_get(js, "pad");
    s->pad = json_is_integer(v) ? (int)json_integer_value(v) : 140;
    const char *sf = json_string_value(json_object_get(js, "start_file"));
    const char *rf = json_string_value(json_object_get(js, "result_file"));
    if (sf) snprintf(s->start_file, sizeof s->start_file, "%s", sf);
    if (rf) snprintf(s->result_file, sizeof s->result_file, "%s", rf);
    json_decref(root);
    if (s->reports < 1 || s->reports > INT32_MAX || s->pad < 0 ||
        s->pad >= MAX_PARAM_VALUE_LENGTH) {
        log_e(TAG, "config.json: need 1 <= reports < 2^31 and 0 <= pad < %d\n",
              MAX_PARAM_VALUE_LENGTH);
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

    static leda_device_data_t data[3];
    data[0].type = LEDA_TYPE_FLOAT;
    snprintf(data[0].key, sizeof data[0].key, "temperature");
    data[1].type = LEDA_TYPE_INT;
    snprintf(data[1].key, sizeof data[1].key, "humidity");
    data[2].type = LEDA_TYPE_TEXT;
    snprintf(data[2].key, sizeof data[2].key, "pad");
    memset(data[2].value, 'x', (size_t)s.pad);
    data[2].value[s.pad] = 0;
    for (int round = 1; !g_stop; round++) {
        while (s.start_file[0] && access(s.start_file, F_OK) != 0 && !g_stop)
            sleep_ms(2);
        if (g_stop) break;
        if (s.start_file[0]) unlink(s.start_file);
        long long i = 0, errors = 0;
        int64_t start = wall_ms();
        for (; i < s.reports && !g_stop; i++) {
            snprintf(data[0].value, sizeof data[0].value, "%.1f", 21.5 + (double)(i % 10));
            snprintf(data[1].value, sizeof data[1].value, "%lld", 40 + i % 50);
            if (leda_report_properties(handles[i % ndev], data, 3) != LE_SUCCESS) errors++;
        }
        int64_t end = wall_ms();
        char line[512];
        snprintf(line, sizeof line,
                 "FLOOD_DONE round=%d reports=%lld devices=%d errors=%lld start_ms=%lld "
                 "end_ms=%lld",
                 round, i, ndev, errors, (long long)start, (long long)end);
        log_i(TAG, "%s\n", line);
        if (s.result_file[0]) { /* written whole, then renamed: a reader never sees half */
            char tmp[sizeof s.result_file + 8];
            snprintf(tmp, sizeof tmp, "%s.tmp", s.result_file);
            FILE *f = fopen(tmp, "w");
            int ok = f && fprintf(f, "%s\n", line) > 0;
            if (f && fclose(f) != 0) ok = 0;
            if (!ok || rename(tmp, s.result_file) != 0)
                log_e(TAG, "cannot write %s\n", s.result_file);
        }
        if (!s.start_file[0]) break; /* one round only */
    }
    while (!g_stop)
        sleep_ms(100);
    leda_exit();
    return 0;
}
