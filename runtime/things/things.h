/* things.h: products and their thing models (TSL), the device registry and its state, the
 * property cache (memory + SQLite), device reports onto the bus, and the device requests
 * (get / set / service) shared by the OpenAPI and the Lua functions. Loop-thread only. */
#ifndef VG_THINGS_THINGS_H
#define VG_THINGS_THINGS_H

#include "bus/bus.h"
#include "core/ctx.h"
#include "store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct things things_t;
typedef struct things_device things_device_t;

#define THINGS_NAME_MAX 64 /* productKey, deviceName, local id, driver: 1..64 bytes */

/* The result codes of device requests: the numbers (and the SDK's reply messages) of
 * sdk/leda/include/le_error.h, which the runtime does not include. Only things_result_t
 * carries them; C-API failures are negative VG_E* codes as everywhere else. */
#define THINGS_ERRNO_MAP(XX)                                                                       \
    XX(SUCCESS, 0, "Ok")                                                                           \
    XX(UNKNOWN, 100000, "Unknow error")                                                            \
    XX(INVAILD_PARAM, 100001, "Invalid params")                                                    \
    XX(ALLOCATING_MEM, 100002, "Alloc memery failed")                                              \
    XX(CREATING_MUTEX, 100003, "Create mutex failed")                                              \
    XX(WRITING_FILE, 100004, "Write file failed")                                                  \
    XX(READING_FILE, 100005, "Read file failed")                                                   \
    XX(TIMEOUT, 100006, "Tiemout")                                                                 \
    XX(PARAM_RANGE_OVERFLOW, 100007, "Param range overflow")                                       \
    XX(SERVICE_UNREACHABLE, 100008, "Service unreachable")                                         \
    XX(FILE_NOT_EXIST, 100009, "No file exist")                                                    \
    XX(DEVICE_UNREGISTER, 109000, "Device not register")                                           \
    XX(DEVICE_OFFLINE, 109001, "Device offline")                                                   \
    XX(PROPERTY_NOT_EXIST, 109002, "Property no exist")                                            \
    XX(PROPERTY_READ_ONLY, 109003, "Property only support read")                                   \
    XX(PROPERTY_WRITE_ONLY, 109004, "Property only support write")                                 \
    XX(SERVICE_NOT_EXIST, 109005, "Service no exist")                                              \
    XX(SERVICE_INPUT_PARAM, 109006, "Service param invalid")                                       \
    XX(INVALID_JSON, 109007, "Json formate invalid")                                               \
    XX(INVALID_TYPE, 109008, "Param type invalid")

enum {
#define THINGS__ERRENUM(name, code, msg) THINGS_E_##name = code,
    THINGS_ERRNO_MAP(THINGS__ERRENUM)
#undef THINGS__ERRENUM
};

/* The SDK's reply message for a code of THINGS_ERRNO_MAP ("Device offline"...), "Unknow error"
 * for any other code, as the SDK does. Never NULL. */
const char *things_strerror(int code);

/* ---- the port: how things reach a device's driver (implemented by the driver host) -------- */

/* The port's answer to call_service. `code` 0 with `reply` the driver's whole reply object
 * ({"code":C,"message":M,"params":...}), or an LE/LEDA code and `message` (`reply` may be NULL),
 * e.g. THINGS_E_TIMEOUT, or THINGS_E_SERVICE_UNREACHABLE when the driver died. `reply` is
 * borrowed for the call. */
typedef void (*things_reply_fn)(void *data, int code, const char *message, json_t *reply);

typedef struct things_port_ops {
    /* Sends callServices(cloud_id, service, args) to the driver; `args` is the protocol's
     * whole args object, {"params":X} (borrowed: take a reference to keep it). The port owns
     * the timeout: it must call `cb` exactly once, on the loop, after `timeout_ms` at the
     * latest (THINGS_E_TIMEOUT), and may do so before call_service returns.
     * things guards against ports that break this: a port that never answers is answered for
     * by a guard timer (timeout_ms + THINGS_GUARD_MS, THINGS_E_TIMEOUT) and its late answer is
     * ignored; a second answer is ignored (and logged) while the call is among the last
     * THINGS_RECENT_CALLS answered ones, which covers a port answering twice in a row; beyond
     * that window it is a use after free, like any libuv callback called twice. */
    void (*call_service)(void *port, const char *cloud_id, const char *service, json_t *args,
                         int64_t timeout_ms, things_reply_fn cb, void *data);
} things_port_ops_t;

#define THINGS_GUARD_MS     1000
#define THINGS_RECENT_CALLS 1024

/* ---- life cycle ------------------------------------------------------------------------- */

/* Creates the subsystem over `st` (its tables are migrated as component "things") and `bus`
 * (reports are published there; NULL publishes nothing). Opens a second SQLite connection to
 * the store's file for the cache's flush worker and declares the metrics
 * verge_things_reports_total, verge_things_cache_flush_seconds and verge_things_cache_pending.
 * `ctx`, `st` and `bus` must outlive the things. Returns 0 and *out, or VG_ENOMEM or VG_EDB
 * (logged; nothing is left open). */
int things_create(vg_ctx_t *ctx, store_t *st, bus_t *bus, things_t **out);

/* Answers every request not delivered yet, synchronously: those waiting for a driver with
 * THINGS_E_SERVICE_UNREACHABLE ("the runtime is shutting down"). Waits for a flush in flight,
 * writes what is still pending synchronously, finalizes the statements (so the store may close
 * next) and frees everything. The ports must be gone first (the driver host destroyed: it answers
 * its pending calls); a port answering after this is a use after free. Handles close on the next
 * loop run: run the loop once more before closing it. NULL is a no-op. */
void things_destroy(things_t *t);

/* ---- products --------------------------------------------------------------------------- */

/* Adds product `pk` with its TSL (JSON text) and TSL extension info (JSON text, NULL for "{}").
 * The TSL is validated deeply (identifiers, access modes, data types and their specs); a TSL
 * without `get` / `set` services gets them derived from its properties. Returns 0, or with a
 * sentence in `err` naming the field, value and what was expected ("tsl:
 * properties[2].dataType.type = \"integer\": expected one of int, float, ..."): VG_EINVAL for a
 * bad name, TSL or extension info, VG_EEXIST for a product added before, VG_ENOMEM. On error
 * nothing is changed. */
int things_add_product(things_t *t, const char *pk, const char *tsl_json, const char *ext_info_json,
                       char *err, size_t errlen);

/* Adds product `pk` as things_add_product does, or, when it exists, replaces its TSL and
 * extension info (a deployment's new version): its devices are checked against the new TSL
 * from then on. The old TSL stays readable until things_destroy (requests in flight may read
 * it). Same returns as things_add_product, except VG_EEXIST. */
int things_set_product(things_t *t, const char *pk, const char *tsl_json, const char *ext_info_json,
                       char *err, size_t errlen);

/* The TSL served to drivers as gw_TSL_<pk>: compact JSON with the derived get/set services; NULL
 * for an unknown product. Owned by things, valid until things_destroy. */
const char *things_product_tsl(things_t *t, const char *pk);
/* The extension info served as gw_TSL_config_<pk> (compact JSON, "{}" when none was given); NULL
 * for an unknown product. Owned by things. */
/* The TSL's description of event `event` of product `pk`: {"type":"info|alert|error",
 * "name":...} (borrowed), or NULL when the product or the event is unknown. */
json_t *things_product_event(things_t *t, const char *pk, const char *event);
const char *things_product_ext_info(things_t *t, const char *pk);
/* Number of products. */
size_t things_product_count(const things_t *t);

/* ---- devices ---------------------------------------------------------------------------- */

/* Adds device `dn` of product `pk`, served by driver `driver`. `tags` (an object of string
 * values) and `custom` (an object, opaque, for the driver) may be NULL for {}; things keeps a
 * reference to each (do not modify them afterwards). The device's times (created, last
 * online...) and cached property values are restored from the store when it was known before.
 * Returns 0, or with a sentence in `err`: VG_EINVAL (a name not 1..64 bytes of
 * [A-Za-z0-9_.:-], tags or custom not objects), VG_ENOENT (unknown product), VG_EEXIST (the
 * device, its cloud id "<pk>_<dn>" or its local id is taken), VG_ENOMEM, VG_EDB. On error
 * nothing is changed. */
int things_add_device(things_t *t, const char *pk, const char *dn, const char *driver, json_t *tags,
                      json_t *custom, char *err, size_t errlen);
/* Same, with the device's local id (DeviceLocalId: the name a driver may connect it by; NULL
 * means `dn`). Local ids are unique within a product. */
int things_add_device_local(things_t *t, const char *pk, const char *dn, const char *local_id,
                            const char *driver, json_t *tags, json_t *custom, char *err,
                            size_t errlen);

/* Removes device pk/dn (a deployment's new version no longer has it, or changes it): it
 * goes Offline and out of every look-up; its stored row and values stay in the database and
 * come back when it is added again. Requests in flight for it still finish (the struct lives
 * until things_destroy). Returns 0 or VG_ENOENT. */
int things_remove_device(things_t *t, const char *pk, const char *dn);

/* Look-ups, O(1). NULL when there is no such device. */
things_device_t *things_device_find(things_t *t, const char *pk, const char *dn);
things_device_t *things_device_find_cloud(things_t *t, const char *cloud_id); /* "<pk>_<dn>" */
things_device_t *things_device_find_local(things_t *t, const char *pk, const char *local_id);

/* Number of devices. */
size_t things_device_count(const things_t *t);
/* Calls `fn` for every device in the order they were added. `fn` may change devices' state
 * (online/offline, reports, requests) but not add devices. */
typedef void (*things_device_fn)(void *data, things_device_t *d);
void things_device_each(things_t *t, things_device_fn fn, void *data);

/* Accessors (the fields of the OpenAPI's device list). Strings and JSON are owned by things and
 * live as long as it does. Times are wall-clock ms since the epoch, 0 for never. */
const char *things_device_product_key(const things_device_t *d);      /* ProductKey */
const char *things_device_name(const things_device_t *d);             /* DeviceName */
const char *things_device_local_id(const things_device_t *d);         /* DeviceLocalId */
const char *things_device_driver(const things_device_t *d);           /* DriverName */
const char *things_device_cloud_id(const things_device_t *d);         /* "<pk>_<dn>" */
json_t *things_device_tags(const things_device_t *d);                 /* DeviceTags, an object */
json_t *things_device_custom(const things_device_t *d);               /* an object */
int things_device_is_online(const things_device_t *d);                /* LocalState: 1 Online */
int things_device_cloud_state(const things_device_t *d);              /* CloudState: 0 for now */
int64_t things_device_last_online_ms(const things_device_t *d);       /* LastLocalOnlineTime */
int64_t things_device_last_cloud_online_ms(const things_device_t *d); /* 0 for now */
/* LastLinkTime: the latest time the device linked up (connected locally; later also to the
 * cloud), as in the seed's examples where it equals LastLocalOnlineTime. */
int64_t things_device_last_link_ms(const things_device_t *d);
int64_t things_device_last_offline_ms(const things_device_t *d); /* last local disconnect */
int64_t things_device_created_ms(const things_device_t *d);      /* first added, ever */

/* A driver connected the device (connect): it is Online and requests go to `ops` on `port`
 * from now on. Updates LocalState and the online and link times (persisted with the next
 * flush); publishes nothing. Returns 0 or VG_EINVAL (NULL port or ops). */
int things_device_set_online(things_t *t, things_device_t *d, void *port,
                             const things_port_ops_t *ops);
/* The driver disconnected the device or died: it is Offline, requests fail at once with
 * THINGS_E_DEVICE_OFFLINE (a get may be answered from the cache). Requests already sent are
 * answered by the port. Records the offline time. Idempotent. */
void things_device_set_offline(things_t *t, things_device_t *d);

/* ---- reports from drivers --------------------------------------------------------------- */

/* A property report, `body` exactly as on the wire: {"<prop>":{"value":V,"time":MS},...}, at
 * least one property; names 1..63 bytes; `time` an integer >= 0 or a string of digits, or
 * absent (then now). Values are not checked against the TSL. Updates the cache (things keeps
 * references to the values: do not modify `body` afterwards) and publishes the body's compact
 * JSON on /sys/<pk>/<dn>/thing/event/property/post from "device:<pk>/<dn>". Returns 0, or
 * VG_EINVAL for a malformed body (nothing changed). A publish that fails (a routing loop) is
 * logged by the bus; the report still counts. */
int things_report_properties(things_t *t, things_device_t *d, json_t *body);
/* The same, given also `raw`, the JSON text `body` was parsed from (`raw_len` bytes; NULL for
 * none): when it is already the compact JSON the body would be serialised to, those bytes are
 * published as they are (what the SDK sends is), else the body is serialised. Subscribers get
 * the same bytes either way. */
int things_report_properties_raw(things_t *t, things_device_t *d, json_t *body, const char *raw,
                                 size_t raw_len);
/* An event report: `event` an identifier ([A-Za-z_][A-Za-z0-9_]{0,49}, not "property"),
 * `body` {"params":{"value":{...},"time":MS}} (time optional as above). Publishes the body's
 * compact JSON on /sys/<pk>/<dn>/thing/event/<event>/post. Returns 0 or VG_EINVAL (nothing
 * published). */
int things_report_event(things_t *t, things_device_t *d, const char *event, json_t *body);
/* The same with the body's text, as things_report_properties_raw takes it. */
int things_report_event_raw(things_t *t, things_device_t *d, const char *event, json_t *body,
                            const char *raw, size_t raw_len);

/* ---- the property cache ----------------------------------------------------------------- */

/* The latest value and time (ms) of a device property, reported or read. Returns 0 with *value
 * a new reference to the cached value (read-only: the flush worker may be serializing it;
 * json_decref it; `value` may be NULL to only test) and *time_ms (may be NULL), or VG_ENOENT
 * for an unknown device or a property never reported. */
int things_cache_get(things_t *t, const char *pk, const char *dn, const char *prop, json_t **value,
                     int64_t *time_ms);

/* ---- device requests (OpenAPI and functions) -------------------------------------------- */

typedef struct things_result {
    int code;            /* 0 or a THINGS_E_* code */
    const char *message; /* "Ok", or a sentence naming what was wrong: the property, the value,
                            the expected type or range */
    json_t *data;        /* borrowed and read-only, for the callback: get -> {prop: value...};
                            set -> {}; service -> the driver's {"code","message","data"} (also
                            when the driver failed it); NULL for other failures */
    int from_cache;      /* get only: 1 when answered from the cache */
} things_result_t;

/* Called exactly once per request, on the loop, never before the request function returns
 * (things_destroy answers the requests still open). */
typedef void (*things_result_fn)(void *data, const things_result_t *res);

/* Reads properties `names` (an array of identifiers; NULL or [] for every readable property)
 * of device pk/dn. Before anything is sent: DEVICE_UNREGISTER, INVAILD_PARAM (names not an
 * array of strings), PROPERTY_NOT_EXIST, PROPERTY_WRITE_ONLY (an "w" property), then
 * DEVICE_OFFLINE. The driver gets callServices "get" with {"params":[names]} and
 * drivers.call_timeout_ms to answer; the values it returns are written to the cache. With
 * `allow_cache`, a device that is offline, times out or whose driver is unreachable is answered
 * from the cache with from_cache = 1 (properties never reported are left out; when none of the
 * names is cached, the original error stands). */
void things_get_properties(things_t *t, const char *pk, const char *dn, json_t *names,
                           int allow_cache, things_result_fn cb, void *data);
/* Writes properties `props` ({identifier: value}, at least one) of device pk/dn. Checked
 * against the TSL before anything is sent: DEVICE_UNREGISTER, INVAILD_PARAM (not a non-empty
 * object), PROPERTY_NOT_EXIST, PROPERTY_READ_ONLY (an "r" property), INVALID_TYPE (the JSON type
 * does not fit the TSL type: int, enum and bool take integers, bool 0/1 or true/false, which
 * are sent as 1/0; float and double numbers; text strings up to specs.length characters; date a
 * string of digits or an integer >= 0; struct an object of its members; array an array of at
 * most specs.size items of its item type), PARAM_RANGE_OVERFLOW (outside specs min/max, or an
 * enum value not in specs), then DEVICE_OFFLINE. The cache is not touched: it learns the new
 * values when the driver reports them. */
void things_set_properties(things_t *t, const char *pk, const char *dn, json_t *props,
                           things_result_fn cb, void *data);
/* Calls service `service` of device pk/dn with `input` ({argument: value}; NULL for {}).
 * DEVICE_UNREGISTER, SERVICE_NOT_EXIST (also for "get" and "set": use the property requests),
 * SERVICE_INPUT_PARAM (not an object, an unknown argument, or a value that does not fit its
 * data type; the message names the argument), DEVICE_OFFLINE. The result's code and message are
 * the driver's, its data the driver's {"code","message","data"}. */
void things_call_service(things_t *t, const char *pk, const char *dn, const char *service,
                         json_t *input, things_result_fn cb, void *data);

#endif
