/* device.h: the devices a driver registered (handle, product key, name, cloud id, callbacks,
 * online flag) and the running of their callbacks for the runtime's callServices. Internal to
 * libleda_sdk_c. A table is not locked: its owner (leda.c) holds a mutex around every use. */
#ifndef LEDA_DEVICE_H
#define LEDA_DEVICE_H

#include "convert.h"
#include "leda.h"

#include <jansson.h>

#define LEDA__MAX_ENTRIES 4096 /* most values one callServices may carry */

typedef struct leda__device {
    device_handle_t handle;
    char *product_key;
    char *name;        /* the device name, or the local name when by_local_name */
    int by_local_name; /* registered with leda_register_and_online_by_local_name() */
    char *cloud_id;    /* deviceCloudId, from the runtime's connect reply */
    leda_device_callback_t cb;
    void *usr_data;
    int online;
} leda__device_t;

typedef struct leda__devices {
    leda__device_t **items;
    int count;
    int cap;
    device_handle_t next_handle; /* handles go 0, 1, 2... and are never reused */
} leda__devices_t;

/* Prepares an empty table whose first handle is 0. */
void leda__devices_init(leda__devices_t *t);

/* Frees every device and the table's memory; the table is empty again with handles from 0. */
void leda__devices_clear(leda__devices_t *t);

/* The device with handle `h`, or NULL. The pointer is valid until the device is removed. */
leda__device_t *leda__devices_by_handle(const leda__devices_t *t, device_handle_t h);

/* The device registered as (product_key, name), by device or local name, or NULL. */
leda__device_t *leda__devices_by_name(const leda__devices_t *t, const char *product_key,
                                      const char *name);

/* The device whose deviceCloudId is `cloud_id`, or NULL. */
leda__device_t *leda__devices_by_cloud_id(const leda__devices_t *t, const char *cloud_id);

/* Adds an offline device with no callbacks under the next handle (strings are copied).
 * Returns it, or NULL when out of memory or out of handles. */
leda__device_t *leda__devices_add(leda__devices_t *t, const char *product_key, const char *name,
                                  int by_local_name, const char *cloud_id);

/* Removes and frees the device with handle `h`; an unknown handle is ignored. */
void leda__devices_remove(leda__devices_t *t, device_handle_t h);

/* Makes `dst` a deep copy of `src`, to use without the table's lock. Returns LE_SUCCESS or
 * LE_ERROR_ALLOCATING_MEM (dst then holds nothing to release). */
int leda__device_copy(leda__device_t *dst, const leda__device_t *src);

/* Frees the strings of a copy made by leda__device_copy(). */
void leda__device_release(leda__device_t *d);

/* Runs service `service` of device `dev` with the call's `params` (the X of
 * {"params":X}; borrowed, may be NULL) and returns the reply object of SDK-FACTS §3.1 (a new
 * reference; NULL when out of memory). "get" calls get_properties_cb with the names, "set"
 * calls set_properties_cb with the values typed by `tsl` (service "set"), any other service
 * calls call_service_cb with its arguments typed by `tsl` and service_output_max_count
 * outputs preset to LEDA_TYPE_BUTT. A get or set without values is answered
 * LE_ERROR_INVAILD_PARAM without calling the driver. Runs on the calling thread. */
json_t *leda__device_invoke(const leda__device_t *dev, const leda__tsl_t *tsl, const char *service,
                            json_t *params);

#endif
