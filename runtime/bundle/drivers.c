/* drivers.c: the key tables of a manifest's drivers, their config (json, kv, fileList) and
 * their devices, and the checks that fill bundle_driver_t and bundle_device_t: unique driver
 * names, executable programs inside the bundle, devices of known products, unique devices. */
#include "bundle/bundle_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- devices ---- */

static void bundle__check_device_pk(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_device_t *dev = target;
    if (!bundle__check_format(c, file, field, v, BUNDLE__PRODUCT_KEY)) return;
    const char *pk = json_string_value(v);
    if (c->have_products && !json_object_get(c->product_keys, pk)) {
        char known[8 * (BUNDLE_NAME_MAX + 2) + 32] = "";
        size_t shown = 0, total = json_object_size(c->product_keys);
        const char *key;
        json_t *first;
        json_object_foreach(c->product_keys, key, first)
        {
            if (shown == 8) break; /* a long list would bury the problem */
            size_t n = strlen(known);
            snprintf(known + n, sizeof known - n, "%s%s", shown++ ? ", " : "", key);
        }
        if (total > shown) {
            size_t n = strlen(known);
            snprintf(known + n, sizeof known - n, " and %zu more", total - shown);
        }
        if (total)
            bundle__err(c, file, field, v, "no such product; products are %s", known);
        else
            bundle__err(c, file, field, v, "no such product; the bundle has no valid product");
    }
    dev->product_key = bundle__strdup(c, pk);
}

static void bundle__check_device_name(bundle__ctx_t *c, const char *file, const char *field,
                                      json_t *v, void *target)
{
    bundle_device_t *dev = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__DEVICE_NAME))
        dev->device_name = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_local_name(bundle__ctx_t *c, const char *file, const char *field,
                                     json_t *v, void *target)
{
    bundle_device_t *dev = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__DEVICE_NAME))
        dev->local_name = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_tags(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_device_t *dev = target;
    char f[BUNDLE__FIELD_MAX];
    const char *key;
    json_t *value;
    json_object_foreach(v, key, value)
    {
        bundle__field_key(f, field, key);
        if (!key[0])
            bundle__err(c, file, f, value, "expected a non-empty tag name");
        else if (!json_is_string(value))
            bundle__err(c, file, f, value, "expected a string");
    }
    dev->tags = json_incref(v);
}

static void bundle__check_custom(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    (void)c, (void)file, (void)field;
    bundle_device_t *dev = target;
    dev->custom = json_incref(v);
}

/* A device is unique in the whole bundle by (productKey, deviceName), and by (productKey,
 * localName) when it has one. */
static void bundle__finish_device(bundle__ctx_t *c, const char *file, const char *field,
                                  json_t *obj, void *target)
{
    bundle_device_t *dev = target;
    char key[2 * BUNDLE_NAME_MAX + 2], f[BUNDLE__FIELD_MAX];
    if (!dev->tags && !(dev->tags = json_object())) c->oom = 1;
    if (!dev->custom && !(dev->custom = json_object())) c->oom = 1;
    if (!dev->product_key) return;
    if (dev->device_name) {
        snprintf(key, sizeof key, "%s/%s", dev->product_key, dev->device_name);
        const char *first = bundle__seen(c, c->devices, key, field);
        bundle__field_key(f, field, "deviceName");
        if (first)
            bundle__err(c, file, f, json_object_get(obj, "deviceName"),
                        "duplicate device %s; %s has it", key, first);
    }
    if (dev->local_name) {
        snprintf(key, sizeof key, "%s/%s", dev->product_key, dev->local_name);
        const char *first = bundle__seen(c, c->local_names, key, field);
        bundle__field_key(f, field, "localName");
        if (first)
            bundle__err(c, file, f, json_object_get(obj, "localName"),
                        "duplicate localName of product %s; %s has it", dev->product_key, first);
    }
}

static const bundle__key_t bundle__device_keys[] = {
    {"productKey", BUNDLE__STRING, 1, bundle__check_device_pk},
    {"deviceName", BUNDLE__STRING, 1, bundle__check_device_name},
    {"localName", BUNDLE__STRING, 0, bundle__check_local_name},
    {"tags", BUNDLE__OBJECT, 0, bundle__check_tags},
    {"custom", BUNDLE__OBJECT, 0, bundle__check_custom},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__device_kind = {bundle__device_keys, 0, bundle__finish_device};

static void bundle__check_devices(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_driver_t *d = target;
    size_t n = json_array_size(v);
    if (n == 0) return;
    if (!(d->devices = calloc(n, sizeof *d->devices))) {
        c->oom = 1;
        return;
    }
    d->ndevices = n;
    bundle__check_items(c, file, field, v, &bundle__device_kind, d->devices, sizeof *d->devices);
}

/* ---- config: {"json":{...},"kv":[{key,value,note}],"fileList":[{path}], extras} ---- */

static void bundle__check_kv_key(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    json_t *seen = *(json_t **)target;
    if (!json_string_length(v)) {
        bundle__err(c, file, field, v, "expected a non-empty key");
        return;
    }
    const char *first = bundle__seen(c, seen, json_string_value(v), field);
    if (first) bundle__err(c, file, field, v, "duplicate of %s", first);
}

static const bundle__key_t bundle__kv_keys[] = {
    {"key", BUNDLE__STRING, 1, bundle__check_kv_key},
    {"value", BUNDLE__STRING, 1, NULL},
    {"note", BUNDLE__STRING, 0, NULL},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__kv_kind = {bundle__kv_keys, 0, NULL};

static void bundle__check_kv(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                             void *target)
{
    (void)target;
    json_t *seen = json_object(); /* the keys so far, shared by every item */
    if (!seen) {
        c->oom = 1;
        return;
    }
    bundle__check_items(c, file, field, v, &bundle__kv_kind, &seen, 0);
    json_decref(seen);
}

/* fileList paths are relative to the driver's directory (its working directory), so that a
 * driver opens them as written; they must stay inside the bundle. */
static void bundle__check_file_path(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_driver_t *d = target;
    if (!d->dir) return; /* exec was wrong (and reported): there is no directory to look in */
    char *abs = bundle__resolve(c, file, field, v, json_string_value(v), d->dir, BUNDLE__FILE);
    if (abs) d->files[d->nfiles++] = abs;
}

static const bundle__key_t bundle__file_keys[] = {
    {"path", BUNDLE__STRING, 1, bundle__check_file_path},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__file_kind = {bundle__file_keys, 0, NULL};

static void bundle__check_file_list(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_driver_t *d = target;
    size_t n = json_array_size(v);
    if (n == 0) return;
    if (!(d->files = calloc(n, sizeof *d->files))) {
        c->oom = 1;
        return;
    }
    bundle__check_items(c, file, field, v, &bundle__file_kind, d, 0); /* all fill `d` */
}

/* The driver's config as served: json, kv and fileList first (empty when not given), then the
 * driver's own extra keys in the order given. */
static void bundle__finish_config(bundle__ctx_t *c, const char *file, const char *field,
                                  json_t *obj, void *target)
{
    (void)file, (void)field;
    bundle_driver_t *d = target;
    static const char *const first[] = {"json", "kv", "fileList"};
    json_t *cfg = json_object();
    int fail = !cfg;
    for (size_t i = 0; cfg && i < 3; i++) {
        json_t *v = obj ? json_object_get(obj, first[i]) : NULL;
        if (v)
            json_incref(v);
        else
            v = i == 0 ? json_object() : json_array();
        fail |= json_object_set_new(cfg, first[i], v);
    }
    const char *key;
    json_t *v;
    if (obj && cfg) {
        json_object_foreach(obj, key, v)
        {
            if (!json_object_get(cfg, key)) fail |= json_object_set(cfg, key, v);
        }
    }
    if (fail) c->oom = 1;
    json_decref(d->config);
    d->config = cfg;
}

static const bundle__key_t bundle__config_keys[] = {
    {"json", BUNDLE__OBJECT, 0, NULL},
    {"kv", BUNDLE__ARRAY, 0, bundle__check_kv},
    {"fileList", BUNDLE__ARRAY, 0, bundle__check_file_list},
    {NULL, 0, 0, NULL},
};
/* Open: extra keys are the driver's own (SDK-FACTS §3.2, the lora demo reads serverList). */
static const bundle__kind_t bundle__config_kind = {bundle__config_keys, 1, bundle__finish_config};

/* ---- drivers ---- */

static void bundle__check_driver_name(bundle__ctx_t *c, const char *file, const char *field,
                                      json_t *v, void *target)
{
    bundle_driver_t *d = target;
    if (!bundle__check_format(c, file, field, v, BUNDLE__NAME)) return;
    const char *first = bundle__seen(c, c->driver_names, json_string_value(v), field);
    if (first)
        bundle__err(c, file, field, v, "duplicate of %s", first);
    else
        d->name = bundle__strdup(c, json_string_value(v));
}

/* The driver's directory is the folder the manifest puts the program in ("drivers/x" for
 * "drivers/x/main"), even when the program itself is a symlink to elsewhere in the bundle. */
static void bundle__check_exec(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_driver_t *d = target;
    const char *rel = json_string_value(v);
    if (!(d->exec = bundle__resolve(c, file, field, v, rel, c->root, BUNDLE__EXEC))) return;
    const char *slash = strrchr(rel, '/');
    char joined[PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%.*s", c->root, slash ? (int)(slash - rel) : 0, rel);
    if ((d->dir = realpath(joined, NULL))) return; /* it exists: the program was found in it */
    if (errno == ENOMEM) c->oom = 1;
    bundle__err(c, file, field, v, "its directory cannot be resolved: %s", strerror(errno));
}

static void bundle__check_config(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    bundle__check_object(c, file, field, v, &bundle__config_kind, target);
}

static void bundle__finish_driver(bundle__ctx_t *c, const char *file, const char *field,
                                  json_t *obj, void *target)
{
    (void)obj;
    bundle_driver_t *d = target;
    if (!d->config) bundle__finish_config(c, file, field, NULL, d);
}

static const bundle__key_t bundle__driver_keys[] = {
    {"name", BUNDLE__STRING, 1, bundle__check_driver_name},
    {"exec", BUNDLE__STRING, 1, bundle__check_exec},
    {"config", BUNDLE__OBJECT, 0, bundle__check_config},
    {"devices", BUNDLE__ARRAY, 0, bundle__check_devices},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__driver_kind = {bundle__driver_keys, 0, bundle__finish_driver};

void bundle__check_drivers(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                           void *target)
{
    bundle_t *b = target;
    size_t n = json_array_size(v);
    if (n == 0) return;
    if (!(b->drivers = calloc(n, sizeof *b->drivers))) {
        c->oom = 1;
        return;
    }
    b->ndrivers = n;
    bundle__check_items(c, file, field, v, &bundle__driver_kind, b->drivers, sizeof *b->drivers);
}
