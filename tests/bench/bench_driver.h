/* bench_driver.h: what the bench drivers (fn_flow/sensor_flood.c, driver_reports/flood.c,
 * realistic/reporter.c, realistic/scale_reporter.c) share: stopping cleanly on SIGTERM and
 * SIGINT, and reading the driver's device list from the runtime. Header-only, because each bench
 * driver is one C file built by its own CMake project against sdk/leda. */
#ifndef VERGE_BENCH_DRIVER_H
#define VERGE_BENCH_DRIVER_H

#include <jansson.h>
#include "leda.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Installs `handler` for SIGTERM (how the runtime stops a driver) and SIGINT. */
static inline void bench_catch_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* The driver's device list (leda_get_device_info: [{"productKey","deviceName",...}]) as a new
 * JSON reference, or NULL when the runtime gave none or it does not parse. */
static inline json_t *bench_device_list(void)
{
    int size = leda_get_device_info_size();
    char *text = size > 0 ? malloc((size_t)size) : NULL;
    json_t *list = NULL;
    if (text && leda_get_device_info(text, size) == LE_SUCCESS) list = json_loads(text, 0, NULL);
    free(text);
    return list;
}

#endif
