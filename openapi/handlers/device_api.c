/* device_api.c: the device endpoints of seed 004 §3.4: count, list-authed, properties/set,
 * property/query and service/invoke, over the shared device-request API of `things`.
 * Failures map to codes by one table (docs/api.md, "Device errors"). */
#include "handlers/api.h"
#include "things/things.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A things code → the HTTP status that answers it. Codes not listed are 500 (among them
 * 109007, a malformed reply from the driver: not the client's fault). */
static const struct {
    int code;
    int status;
} api__device_errors[] = {
    {THINGS_E_DEVICE_UNREGISTER, 404},
    {THINGS_E_PROPERTY_NOT_EXIST, 400},
    {THINGS_E_SERVICE_NOT_EXIST, 400},
    {THINGS_E_PROPERTY_READ_ONLY, 400},
    {THINGS_E_PROPERTY_WRITE_ONLY, 400},
    {THINGS_E_INVALID_TYPE, 400},
    {THINGS_E_PARAM_RANGE_OVERFLOW, 400},
    {THINGS_E_SERVICE_INPUT_PARAM, 400},
    {THINGS_E_INVAILD_PARAM, 400},
    {THINGS_E_DEVICE_OFFLINE, 503},
    {THINGS_E_TIMEOUT, 503},
    {THINGS_E_SERVICE_UNREACHABLE, 503},
};

static void api__device_fail(api_call_t *call, const things_result_t *res)
{
    int status = 500;
    for (size_t i = 0; i < sizeof api__device_errors / sizeof api__device_errors[0]; i++)
        if (api__device_errors[i].code == res->code) status = api__device_errors[i].status;
    api_error(call, status, json_pack("{s:i}", "errorCode", res->code), NULL, "%s",
              res->message ? res->message : things_strerror(res->code));
}

static things_t *api__things(api_call_t *call)
{
    return api_deps(call->api)->things;
}

/* Reads params.<name>, which must be a JSON value of `type` (required or not). */
static int api__param_json(api_call_t *call, const char *name, json_type type, int required,
                           json_t **out)
{
    static const char *const names[] = {[JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array"};
    json_t *v = call->params ? json_object_get(call->params, name) : NULL;
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required) return 0;
        api_error(call, 400, NULL, NULL, "params.%s: missing; expected %s", name, names[type]);
        return -1;
    }
    if (json_typeof(v) != type) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        api_error(call, 400, NULL, NULL, "params.%s = %.200s: expected %s", name, text ? text : "?",
                  names[type]);
        free(text);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- count and list ------------------------------------------------------------------- */

typedef struct api__filter {
    const char *pk, *driver, *local_state, *cloud_state;
    json_t *tags; /* object {k:v} or array of such objects: every pair must match */
    json_int_t online, active;
    json_t *list; /* collected devices (list-authed) */
    int count;
} api__filter_t;

static int api__tags_match(json_t *want, json_t *have)
{
    if (!want) return 1;
    if (json_is_array(want)) {
        size_t i;
        json_t *o;
        json_array_foreach(want, i, o) if (!api__tags_match(o, have)) return 0;
        return 1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) if (!json_equal(v, json_object_get(have, k))) return 0;
    return 1;
}

static int api__matches(const api__filter_t *f, const things_device_t *d)
{
    int online = things_device_is_online(d);
    if (f->pk && strcmp(f->pk, things_device_product_key(d)) != 0) return 0;
    if (f->driver && strcmp(f->driver, things_device_driver(d)) != 0) return 0;
    if (f->online >= 0 && f->online != online) return 0;
    if (f->active == 0) return 0; /* every registered device counts as activated */
    if (f->local_state && strcmp(f->local_state, online ? "Online" : "Offline") != 0) return 0;
    if (f->cloud_state && strcmp(f->cloud_state, "Offline") != 0) return 0;
    return api__tags_match(f->tags, things_device_tags(d));
}

static void api__count_each(void *data, things_device_t *d)
{
    api__filter_t *f = data;
    f->count += api__matches(f, d);
}

void api_device_count(api_call_t *call)
{
    api__filter_t f = {0};
    if (api_param_string(call, "productKey", 0, &f.pk) ||
        api_param_int(call, "activeStatus", -1, 0, 1, &f.active) ||
        api_param_int(call, "onlineStatus", -1, 0, 1, &f.online))
        return;
    things_device_each(api__things(call), api__count_each, &f);
    api_reply(call, json_pack("{s:i}", "deviceCount", f.count), NULL);
}

static json_t *api__ms_text(int64_t ms)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, ms);
    return json_string(buf);
}

static void api__list_each(void *data, things_device_t *d)
{
    api__filter_t *f = data;
    if (!api__matches(f, d)) return;
    json_t *tags = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(things_device_tags(d), k, v)
        json_array_append_new(tags, json_pack("{s:O}", k, v));
    json_t *item = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:o,s:o,s:o,s:I}", "ProductKey", things_device_product_key(d),
        "DeviceName", things_device_name(d), "DriverName", things_device_driver(d), "DeviceLocalId",
        things_device_local_id(d), "DeviceTags", tags, "LocalState",
        things_device_is_online(d) ? "Online" : "Offline", "CloudState", "Offline",
        "LastLocalOnlineTime", api__ms_text(things_device_last_online_ms(d)), "LastCloudOnlineTime",
        api__ms_text(things_device_last_cloud_online_ms(d)), "LastLinkTime",
        api__ms_text(things_device_last_link_ms(d)), "_created",
        (json_int_t)things_device_created_ms(d));
    if (item) json_array_append_new(f->list, item);
}

static int api__by_created(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "_created"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "_created"));
    return x < y ? -1 : x > y;
}

static const char *const api__local_states[] = {"Online", "Offline", NULL};
static const char *const api__cloud_states[] = {"Inactive", "ActivationFailed", "Online", "Offline",
                                                NULL};
static const char *const api__sorts[] = {"TimeDesc", "TimeAsc", NULL};

/* Checks an optional string parameter against its allowed values. */
static int api__param_choice(api_call_t *call, const char *name, const char *const *choices,
                             const char **out)
{
    if (api_param_string(call, name, 0, out)) return -1;
    if (!*out) return 0;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(choices[i], *out) == 0) return 0;
    char list[128] = "";
    for (size_t i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 choices[i]);
    api_error(call, 400, NULL, NULL, "params.%s = \"%s\": expected one of %s", name, *out, list);
    return -1;
}

void api_device_list(api_call_t *call)
{
    api__filter_t f = {0};
    f.online = f.active = -1;
    json_int_t page_size, page;
    const char *sort;
    json_t *tags;
    if (api_param_string(call, "productKey", 0, &f.pk) ||
        api_param_string(call, "driverName", 0, &f.driver) ||
        api__param_choice(call, "LocalState", api__local_states, &f.local_state) ||
        api__param_choice(call, "CloudState", api__cloud_states, &f.cloud_state) ||
        api__param_choice(call, "SortMethod", api__sorts, &sort) ||
        api_param_int(call, "PageSize", 0, 0, 100000, &page_size) ||
        api_param_int(call, "CurrentPage", 1, 1, INT32_MAX, &page))
        return;
    json_t *v = call->params ? json_object_get(call->params, "DeviceTags") : NULL;
    if (v && !json_is_null(v)) {
        int ok = json_is_object(v) || json_is_array(v);
        size_t i;
        json_t *e;
        if (json_is_array(v)) json_array_foreach(v, i, e) ok = ok && json_is_object(e);
        if (!ok) {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            api_error(call, 400, NULL, NULL,
                      "params.DeviceTags = %.200s: expected an object {\"tag\":\"value\"} or "
                      "an array of such objects",
                      text ? text : "?");
            free(text);
            return;
        }
        tags = v;
        f.tags = tags;
    }
    f.list = json_array();
    things_device_each(api__things(call), api__list_each, &f);
    size_t total = json_array_size(f.list);
    json_t **items = total ? malloc(total * sizeof *items) : NULL;
    for (size_t i = 0; i < total; i++)
        items[i] = json_array_get(f.list, i);
    if (items) qsort(items, total, sizeof *items, api__by_created);
    int desc = !sort || strcmp(sort, "TimeDesc") == 0;
    json_t *out = json_array();
    size_t first = page_size ? (size_t)(page - 1) * (size_t)page_size : 0;
    size_t count = page_size ? (size_t)page_size : total;
    for (size_t i = first; i < total && i < first + count; i++) {
        json_t *item = items[desc ? total - 1 - i : i];
        json_object_del(item, "_created");
        json_array_append(out, item);
    }
    free(items);
    json_decref(f.list);
    api_reply(call,
              json_pack("{s:I,s:I,s:I,s:o}", "TotalNum", (json_int_t)total, "PageSize", page_size,
                        "CurrentPage", page, "List", out),
              NULL);
}

/* ---- requests to a device ------------------------------------------------------------- */

static void on_set(void *data, const things_result_t *res)
{
    api_call_t *call = data;
    if (res->code)
        api__device_fail(call, res);
    else
        api_reply(call, NULL, NULL);
}

void api_device_set(api_call_t *call)
{
    const char *pk, *dn;
    json_t *props;
    if (api_param_string(call, "productKey", 1, &pk) ||
        api_param_string(call, "deviceName", 1, &dn) ||
        api__param_json(call, "properties", JSON_OBJECT, 1, &props))
        return;
    things_set_properties(api__things(call), pk, dn, props, on_set, call);
}

/* A value as the seed shows it: strings as they are, anything else as its JSON text. */
static json_t *api__value_text(json_t *v)
{
    if (json_is_string(v)) return json_incref(v);
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_t *s = json_string(text ? text : "");
    free(text);
    return s;
}

static void on_query(void *data, const things_result_t *res)
{
    api_call_t *call = data;
    if (res->code) {
        api__device_fail(call, res);
        return;
    }
    const char *pk = json_string_value(json_object_get(call->params, "productKey"));
    const char *dn = json_string_value(json_object_get(call->params, "deviceName"));
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(res->data, k, v)
    {
        json_t *cached = NULL;
        int64_t when = vg_time_ms(); /* answers from the device are written to the cache */
        if (things_cache_get(api__things(call), pk, dn, k, &cached, &when) == 0)
            json_decref(cached);
        json_array_append_new(list,
                              json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "iotId", "", "batchId", "",
                                        "attribute", k, "group", "", "value", api__value_text(v),
                                        "gmtModified", api__ms_text(when / 1000)));
    }
    if (res->from_cache)
        api_reply_message(call, list,
                          "success (from the property cache: the device did not "
                          "answer; gmtModified is when each value was reported, in seconds)");
    else
        api_reply(call, list, NULL);
}

void api_device_query(api_call_t *call)
{
    const char *pk, *dn;
    json_t *names;
    if (api_param_string(call, "productKey", 1, &pk) ||
        api_param_string(call, "deviceName", 1, &dn) ||
        api__param_json(call, "propertyIdentifier", JSON_ARRAY, 1, &names))
        return;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) if (!json_is_string(n))
    {
        api_error(call, 400, NULL, NULL, "params.propertyIdentifier[%zu]: expected a string", i);
        return;
    }
    things_get_properties(api__things(call), pk, dn, names, 1, on_query, call);
}

static void on_invoke(void *data, const things_result_t *res)
{
    api_call_t *call = data;
    if (res->code)
        api__device_fail(call, res);
    else
        api_reply(call, json_incref(res->data), NULL);
}

void api_device_invoke(api_call_t *call)
{
    const char *pk, *dn, *method;
    json_t *input;
    if (api_param_string(call, "productKey", 1, &pk) ||
        api_param_string(call, "deviceName", 1, &dn) ||
        api_param_string(call, "method", 1, &method) ||
        api__param_json(call, "inputParams", JSON_OBJECT, 0, &input))
        return;
    json_t *empty = input ? NULL : json_object();
    things_call_service(api__things(call), pk, dn, method, input ? input : empty, on_invoke, call);
    json_decref(empty);
}
