/* device.c: the table of registered devices and the running of their get / set / service
 * callbacks for callServices, with the original SDK's conversion and reply rules (convert.h). */
#include "device.h"

#include "le_error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void leda__devices_init(leda__devices_t *t)
{
    memset(t, 0, sizeof *t);
}

/* Frees one device. */
static void leda__device_free(leda__device_t *d)
{
    if (!d) return;
    leda__device_release(d);
    free(d);
}

void leda__devices_clear(leda__devices_t *t)
{
    for (int i = 0; i < t->count; i++)
        leda__device_free(t->items[i]);
    free(t->items);
    leda__devices_init(t);
}

leda__device_t *leda__devices_by_handle(const leda__devices_t *t, device_handle_t h)
{
    for (int i = 0; i < t->count; i++)
        if (t->items[i]->handle == h) return t->items[i];
    return NULL;
}

leda__device_t *leda__devices_by_name(const leda__devices_t *t, const char *product_key,
                                      const char *name)
{
    for (int i = 0; product_key && name && i < t->count; i++) {
        leda__device_t *d = t->items[i];
        if (strcmp(d->product_key, product_key) == 0 && strcmp(d->name, name) == 0) return d;
    }
    return NULL;
}

leda__device_t *leda__devices_by_cloud_id(const leda__devices_t *t, const char *cloud_id)
{
    for (int i = 0; cloud_id && i < t->count; i++)
        if (strcmp(t->items[i]->cloud_id, cloud_id) == 0) return t->items[i];
    return NULL;
}

leda__device_t *leda__devices_add(leda__devices_t *t, const char *product_key, const char *name,
                                  int by_local_name, const char *cloud_id)
{
    if (t->next_handle == INT_MAX) return NULL;
    if (t->count == t->cap) {
        int cap = t->cap ? t->cap * 2 : 8;
        leda__device_t **items = realloc(t->items, (size_t)cap * sizeof *items);
        if (!items) return NULL;
        t->items = items;
        t->cap = cap;
    }
    leda__device_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->product_key = strdup(product_key);
    d->name = strdup(name);
    d->cloud_id = strdup(cloud_id);
    if (!d->product_key || !d->name || !d->cloud_id) {
        leda__device_free(d);
        return NULL;
    }
    d->by_local_name = by_local_name;
    d->handle = t->next_handle++;
    t->items[t->count++] = d;
    return d;
}

void leda__devices_remove(leda__devices_t *t, device_handle_t h)
{
    for (int i = 0; i < t->count; i++) {
        if (t->items[i]->handle != h) continue;
        leda__device_free(t->items[i]);
        memmove(&t->items[i], &t->items[i + 1], (size_t)(t->count - i - 1) * sizeof *t->items);
        t->count--;
        return;
    }
}

int leda__device_copy(leda__device_t *dst, const leda__device_t *src)
{
    *dst = *src;
    dst->product_key = strdup(src->product_key);
    dst->name = strdup(src->name);
    dst->cloud_id = strdup(src->cloud_id);
    if (!dst->product_key || !dst->name || !dst->cloud_id) {
        leda__device_release(dst);
        return LE_ERROR_ALLOCATING_MEM;
    }
    return LE_SUCCESS;
}

void leda__device_release(leda__device_t *d)
{
    free(d->product_key);
    free(d->name);
    free(d->cloud_id);
    d->product_key = d->name = d->cloud_id = NULL;
}

/* Runs a service other than get and set. */
static json_t *leda__invoke_service(const leda__device_t *dev, const char *service,
                                    leda_device_data_t *in, int count)
{
    int max = dev->cb.service_output_max_count;
    leda_device_data_t *out = NULL;
    if (max > 0) {
        out = calloc((size_t)max, sizeof *out);
        if (!out) return leda__reply_json(LE_ERROR_ALLOCATING_MEM, NULL);
        for (int i = 0; i < max; i++)
            out[i].type = LEDA_TYPE_BUTT;
    }
    int rc = dev->cb.call_service_cb(dev->handle, service, in, count, out, dev->usr_data);
    json_t *reply = leda__reply_service(rc, out, max);
    free(out);
    return reply;
}

json_t *leda__device_invoke(const leda__device_t *dev, const leda__tsl_t *tsl, const char *service,
                            json_t *params)
{
    int max = leda__json_entry_count(params), count = 0;
    if (max > LEDA__MAX_ENTRIES) max = LEDA__MAX_ENTRIES; /* more entries fail to convert */
    leda_device_data_t *in = calloc(max > 0 ? (size_t)max : 1, sizeof *in);
    if (!in) return leda__reply_json(LE_ERROR_ALLOCATING_MEM, NULL);
    leda__json_to_data(params, tsl, service, in, max, &count); /* a failure leaves count 0 */

    json_t *reply;
    int is_get = strcmp(service, "get") == 0, is_set = strcmp(service, "set") == 0;
    if ((is_get || is_set) && count == 0) {
        reply = leda__reply_json(LE_ERROR_INVAILD_PARAM, NULL);
    } else if (is_get) {
        int rc = dev->cb.get_properties_cb(dev->handle, in, count, dev->usr_data);
        reply = leda__reply_get(rc, in, count);
    } else if (is_set) {
        int rc = dev->cb.set_properties_cb(dev->handle, in, count, dev->usr_data);
        reply = leda__reply_set(rc);
    } else {
        reply = leda__invoke_service(dev, service, in, count);
    }
    free(in);
    return reply;
}
