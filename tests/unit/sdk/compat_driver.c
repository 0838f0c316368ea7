/* compat_driver.c: a driver written the way the original SDK's demo_led is (SDK-FACTS §2), in
 * the style drivers use, to prove such code compiles against verge's leda.h, le_error.h and
 * log.h unchanged (gcc default dialect, -Wall). Built and linked in every build (static and
 * shared libleda_sdk_c); the integration tests run it under the real runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "le_error.h"
#include "leda.h"
#include "log.h"

#define DRIVER_TAG "demo_led"

/* Drivers for the original SDK declare its undeclared exports themselves; that must still
 * compile now that leda.h declares them too. */
int leda_unregister(device_handle_t dev_handle);
int leda_feed_watchdog(const char *module_id, const char *thread_name, int count_down_seconds);

static int get_properties_callback_cb(device_handle_t device_handle,
                                      leda_device_data_t properties[],
                                      int properties_count,
                                      void *usr_data)
{
    int i = 0;

    for (i = 0; i < properties_count; i++)
    {
        log_i(DRIVER_TAG, "get_property %s: ", properties[i].key);

        if (!strcmp(properties[i].key, "temperature"))
        {
            /* fill in the current value of the property */
            properties[i].type = LEDA_TYPE_INT;
            sprintf(properties[i].value, "%d", 30);
            log_i(DRIVER_TAG, "%s\r\n", properties[i].value);
        }
    }

    return LE_SUCCESS;
}

static int set_properties_callback_cb(device_handle_t device_handle,
                                      const leda_device_data_t properties[],
                                      int properties_count,
                                      void *usr_data)
{
    int i = 0;

    for (i = 0; i < properties_count; i++)
    {
        log_i(DRIVER_TAG, "set_property type:%d %s: %d\r\n", properties[i].type,
              properties[i].key, atoi(properties[i].value));
    }

    return LE_SUCCESS;
}

static int call_service_callback_cb(device_handle_t device_handle,
                                    const char *service_name,
                                    const leda_device_data_t data[],
                                    int data_count,
                                    leda_device_data_t output_data[],
                                    void *usr_data)
{
    int i = 0;

    log_i(DRIVER_TAG, "service_name: %s\r\n", service_name);
    for (i = 0; i < data_count; i++)
    {
        log_i(DRIVER_TAG, "input_data %s: %s\r\n", data[i].key, data[i].value);
    }

    return LE_SUCCESS;
}

/* A tiny scanner standing in for cJSON: copies the string value of the next "name":"..." at or
 * after `from` into out[size]; returns the position after it, or NULL if there is none. */
static const char *next_string_field(const char *from, const char *name, char *out, int size)
{
    char pattern[64];
    const char *p, *end;
    int len;

    snprintf(pattern, sizeof(pattern), "\"%s\"", name);
    p = strstr(from, pattern);
    if (NULL == p)
    {
        return NULL;
    }
    p = strchr(p + strlen(pattern), '"');
    if (NULL == p)
    {
        return NULL;
    }
    end = strchr(++p, '"');
    if (NULL == end)
    {
        return NULL;
    }
    len = (int)(end - p) < size - 1 ? (int)(end - p) : size - 1;
    memcpy(out, p, len);
    out[len] = '\0';
    return end + 1;
}

int main(int argc, char** argv)
{
    int ret = LE_SUCCESS;
    int size = 0;
    char *device_info = NULL;
    const char *cursor = NULL;
    char product_key[64];
    char device_name[64];
    device_handle_t dev_handle = INVALID_DEVICE_HANDLE;
    leda_device_callback_t device_cb;
    int temperature = 0;

    log_init(DRIVER_TAG, LOG_STDOUT, LOG_LEVEL_DEBUG, LOG_MOD_BRIEF);

    log_i(DRIVER_TAG, "demo startup\r\n");

    /* initialize the SDK with 5 worker threads for the callbacks */
    if (LE_SUCCESS != (ret = leda_init(5)))
    {
        log_e(DRIVER_TAG, "leda_init failed\r\n");
        return ret;
    }

    /* the device list: [{"productKey":..,"deviceName":..,"custom":{..}}] */
    size = leda_get_device_info_size();
    if (size > 0)
    {
        device_info = (char *)malloc(size);
        if (NULL == device_info)
        {
            log_e(DRIVER_TAG, "allocate memory failed\r\n");
            return LE_ERROR_ALLOCATING_MEM;
        }

        if (LE_SUCCESS != (ret = leda_get_device_info(device_info, size)))
        {
            log_e(DRIVER_TAG, "get device info failed\r\n");
            free(device_info);
            return ret;
        }

        cursor = device_info;
        while (NULL != (cursor = next_string_field(cursor, "productKey", product_key,
                                                   sizeof(product_key))))
        {
            cursor = next_string_field(cursor, "deviceName", device_name, sizeof(device_name));
            if (NULL == cursor)
            {
                break;
            }

            device_cb.get_properties_cb = get_properties_callback_cb;
            device_cb.set_properties_cb = set_properties_callback_cb;
            device_cb.call_service_cb = call_service_callback_cb;
            device_cb.service_output_max_count = 5;

            dev_handle = leda_register_and_online_by_device_name(product_key, device_name,
                                                                 &device_cb, NULL);
            if (dev_handle < 0)
            {
                log_e(DRIVER_TAG, "product:%s device:%s register failed\r\n", product_key,
                      device_name);
                continue;
            }
            log_i(DRIVER_TAG, "product:%s device:%s register success\r\n", product_key,
                  device_name);
        }
        free(device_info);
    }

    while (1)
    {
        /* report the temperature as a property, and an event when it is high */
        leda_device_data_t dev_proper_data[1] =
        {
            {
                .type = LEDA_TYPE_INT,
                .key = {"temperature"},
                .value = {0}
            }
        };
        sprintf(dev_proper_data[0].value, "%d", temperature);
        leda_report_properties(dev_handle, dev_proper_data, 1);

        if (temperature > 50)
        {
            leda_report_event(dev_handle, "high_temperature", dev_proper_data, 1);
        }
        temperature = (temperature + 5) % 100;

        if (temperature == 95)
        {
            leda_feed_watchdog("demo_led", "main", 30);
        }

        sleep(5);
    }

    leda_exit();

    return LE_SUCCESS;
}
