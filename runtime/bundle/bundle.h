/* bundle.h: what runs on a gateway is one bundle, a directory holding a bundle.json manifest
 * plus the files it names (TSLs, driver programs, driver config files, Lua code). bundle_load()
 * reads and validates all of it and hands the runtime plain structs. The manifest's format is
 * the key tables in manifest.c (bundle, product), drivers.c (driver, config, device),
 * functions.c (function, timer) and routes.c (route, source, target); docs/functions.md
 * documents the last two. */
#ifndef VG_BUNDLE_BUNDLE_H
#define VG_BUNDLE_BUNDLE_H

#include "core/buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define BUNDLE_MANIFEST     "bundle.json"
#define BUNDLE_MANIFEST_MAX (16 * 1024 * 1024) /* bytes of bundle.json */
#define BUNDLE_TSL_MAX      (1024 * 1024) /* bytes of one TSL or TSL extension info file */
#define BUNDLE_NAME_MAX     64            /* bundle, driver, productKey, deviceName lengths */
#define BUNDLE_VERSION_MAX  32

/* One product: its thing model (TSL). The runtime's things module validates the TSL deeply;
 * the loader only checks that it is a JSON object whose profile.productKey, if any, matches. */
typedef struct bundle_product {
    char *product_key;
    char *tsl_path;          /* absolute, symlinks resolved */
    char *tsl;               /* the file's text, NUL-terminated */
    char *tsl_ext_info_path; /* absolute; NULL when the manifest names no tslExtInfo */
    char *tsl_ext_info;      /* the file's text (a JSON object); NULL when none */
} bundle_product_t;

/* One device a driver serves. `tags` and `custom` are JSON objects (never NULL, {} when the
 * manifest gives none), shared with the bundle: read them, do not change them. */
typedef struct bundle_device {
    char *product_key;
    char *device_name;
    char *local_name; /* NULL when the manifest gives none */
    json_t *tags;     /* object of string values */
    json_t *custom;   /* object, opaque to verge, handed to the driver */
} bundle_device_t;

/* One driver process. `config` is the manifest's config object as given, with `json` ({}),
 * `kv` ([]) and `fileList` ([]) added when missing; keys beyond those three are the driver's
 * own and passed through (SDK-FACTS §3.2: lora reads config.serverList). */
typedef struct bundle_driver {
    char *name;     /* FUNCTION_ID and FUNCTION_NAME of the process */
    char *exec;     /* absolute path of the program, symlinks resolved */
    char *dir;      /* absolute directory of `exec`: the process's working directory */
    json_t *config; /* object; owned by the bundle, read-only */
    char **files;   /* absolute paths of config.fileList[i].path (relative to `dir`) */
    size_t nfiles;
    bundle_device_t *devices;
    size_t ndevices;
} bundle_driver_t;

/* One timer of a function (manifest `functions[i].timers[j]`): exactly one of `every_ms`
 * (> 0) and `cron` (a 5-field cron expression, checked by cron_parse) is set. Each firing
 * invokes the function's handler with the timer event documented in docs/functions.md. */
typedef struct bundle_timer {
    int64_t every_ms; /* 0 when `cron` is set */
    char *cron;       /* NULL when `every_ms` is set */
    char *payload;    /* the manifest's `payload` string, "" when absent */
} bundle_timer_t;

typedef enum { BUNDLE_ON_DEMAND = 0, BUNDLE_LONG_RUNNING } bundle_mode_t;

/* One Lua function (manifest `functions[i]`). Numbers are 0 where the manifest gives none:
 * the function host's documented defaults apply then. */
typedef struct bundle_function {
    char *service;        /* e.g. "EdgeFC" */
    char *name;           /* e.g. "monitor" */
    char *code;           /* absolute path of the Lua file, inside the bundle */
    char *handler;        /* NULL: "handler" */
    bundle_mode_t mode;   /* `mode`: "on-demand" (default) or "long-running" */
    int64_t timeout_ms;   /* `timeoutMs` */
    int64_t memory_mb;    /* `memoryMB` */
    int64_t concurrency;  /* `concurrency` */
    int64_t queue_max;    /* `queueMax`; -1 when the manifest gives 0 (no queue) */
    int64_t idle_unload_ms; /* `idleUnloadMs` (on-demand only) */
    bundle_timer_t *timers;
    size_t ntimers;
    json_t *env; /* `env`: object of string values, {} when absent; read-only */
} bundle_function_t;

/* Where a route takes messages from. */
typedef enum { BUNDLE_SOURCE_ANY = 0, BUNDLE_SOURCE_DEVICE, BUNDLE_SOURCE_FUNCTION } bundle_source_t;
/* Where a route sends them. */
typedef enum { BUNDLE_TARGET_FUNCTION = 0, BUNDLE_TARGET_TOPIC } bundle_target_t;

/* One message route (manifest `routes[i]`): messages published on the bus whose source is
 * `source` and whose topic matches `topic` go to `target`. "+" in a source field means any. */
typedef struct bundle_route {
    char *name;
    bundle_source_t source_type;
    char *source_a; /* device: productKey; function: service; NULL for any */
    char *source_b; /* device: deviceName; function: function name; NULL for any */
    char *topic;    /* MQTT filter; "#" when the manifest gives none */
    bundle_target_t target_type;
    char *target_a; /* function: service; topic: the topic to publish on */
    char *target_b; /* function: function name; NULL for a topic */
} bundle_route_t;

typedef struct bundle {
    char *dir; /* absolute, symlinks resolved */
    char *name;
    char *version;
    bundle_product_t *products;
    size_t nproducts;
    bundle_driver_t *drivers;
    size_t ndrivers;
    bundle_function_t *functions;
    size_t nfunctions;
    bundle_route_t *routes;
    size_t nroutes;
} bundle_t;

/* Loads the bundle in directory `dir`: parses bundle.json, checks every field, path and file
 * it names and reads the TSL files. Every problem found is appended to `errors` (when not
 * NULL) as one line "FILE: FIELD: PROBLEM\n", FILE relative to the bundle, e.g.
 *   bundle.json: drivers[0].devices[1].productKey = "a1Nope": no such product; products are
 * a1DemoLight and loading goes on, so that one run reports them all. Returns 0 and a new bundle in
 * *out (free it with bundle_destroy), VG_EINVAL when anything was wrong, or VG_ENOMEM. On error
 * *out is untouched. Blocking file I/O: run it off the loop thread when the bundle is big. */
int bundle_load(const char *dir, bundle_t **out, vg_buf_t *errors);

/* Frees the bundle and everything it holds. NULL is a no-op. */
void bundle_destroy(bundle_t *b);

/* The product `product_key` of the bundle, or NULL. */
const bundle_product_t *bundle_product(const bundle_t *b, const char *product_key);

/* The function service/name, or NULL. */
const bundle_function_t *bundle_function(const bundle_t *b, const char *service,
                                         const char *name);

/* The driver named `name`, or NULL. */
const bundle_driver_t *bundle_driver(const bundle_t *b, const char *name);

/* The value of the config key gw_driverconfig_<name> for driver `d` (SDK-FACTS §3.2), compact
 * JSON: {"config":{...},"deviceList":[{"productKey":P,"deviceName":D,"custom":"<custom as a
 * JSON-encoded string>"},...]}. leda_get_config() returns it as is; the SDK derives
 * leda_get_driver_info() and leda_get_device_info() from it. Returns a string the caller
 * frees, or NULL when out of memory. */
char *bundle_driver_config(const bundle_driver_t *d);

#endif
