/* bundle.c: loading a bundle directory (bundle.json and the files it names) into plain
 * structs, freeing them, looking things up, and the driver config text a driver is served. */
#include "bundle/bundle_int.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Opens the bundle directory and reads, parses and checks bundle.json into c->b. */
static void bundle__load_dir(bundle__ctx_t *c, const char *dir)
{
    struct stat st;
    if (!(c->root = realpath(dir, NULL))) {
        if (errno == ENOMEM) c->oom = 1;
        bundle__err(c, dir, "(bundle)", NULL, "%s",
                    errno == ENOENT ? "no such directory" : strerror(errno));
        return;
    }
    if (stat(c->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        bundle__err(c, dir, "(bundle)", NULL, "not a directory");
        return;
    }
    if (!(c->b->dir = bundle__strdup(c, c->root))) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->root, BUNDLE_MANIFEST);
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        bundle__err(c, BUNDLE_MANIFEST, "(file)", NULL,
                    "no such file in %s; a bundle is a directory holding %s", c->root,
                    BUNDLE_MANIFEST);
        return;
    }
    char *abs =
        bundle__resolve(c, BUNDLE_MANIFEST, "(file)", NULL, BUNDLE_MANIFEST, c->root, BUNDLE__FILE);
    if (!abs) return;
    json_t *doc;
    char *text =
        bundle__read_json(c, BUNDLE_MANIFEST, "(file)", NULL, abs, BUNDLE_MANIFEST_MAX, &doc);
    if (text) bundle__check_manifest(c, doc);
    json_decref(doc);
    free(text);
    free(abs);
}

int bundle_load(const char *dir, bundle_t **out, vg_buf_t *errors)
{
    bundle__ctx_t c = {.errors = errors};
    c.b = calloc(1, sizeof *c.b);
    c.product_keys = json_object();
    c.driver_names = json_object();
    c.devices = json_object();
    c.local_names = json_object();
    c.functions = json_object();
    c.route_names = json_object();
    if (!c.b || !c.product_keys || !c.driver_names || !c.devices || !c.local_names ||
        !c.functions || !c.route_names)
        c.oom = 1;
    else
        bundle__load_dir(&c, dir);
    int rc = c.oom ? VG_ENOMEM : c.nerrors ? VG_EINVAL : 0;
    if (rc)
        bundle_destroy(c.b);
    else
        *out = c.b;
    free(c.root);
    json_decref(c.product_keys);
    json_decref(c.driver_names);
    json_decref(c.devices);
    json_decref(c.local_names);
    json_decref(c.functions);
    json_decref(c.route_names);
    return rc;
}

static void bundle__free_driver(bundle_driver_t *d)
{
    for (size_t i = 0; i < d->ndevices; i++) {
        bundle_device_t *dev = &d->devices[i];
        free(dev->product_key);
        free(dev->device_name);
        free(dev->local_name);
        json_decref(dev->tags);
        json_decref(dev->custom);
    }
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    free(d->files);
    free(d->devices);
    json_decref(d->config);
    free(d->name);
    free(d->exec);
    free(d->dir);
}

static void bundle__free_function(bundle_function_t *fn)
{
    for (size_t i = 0; i < fn->ntimers; i++) {
        free(fn->timers[i].cron);
        free(fn->timers[i].payload);
    }
    free(fn->timers);
    json_decref(fn->env);
    free(fn->service);
    free(fn->name);
    free(fn->code);
    free(fn->handler);
}

static void bundle__free_route(bundle_route_t *r)
{
    free(r->name);
    free(r->source_a);
    free(r->source_b);
    free(r->topic);
    free(r->target_a);
    free(r->target_b);
}

void bundle_destroy(bundle_t *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nproducts; i++) {
        bundle_product_t *p = &b->products[i];
        free(p->product_key);
        free(p->tsl_path);
        free(p->tsl);
        free(p->tsl_ext_info_path);
        free(p->tsl_ext_info);
    }
    for (size_t i = 0; i < b->ndrivers; i++)
        bundle__free_driver(&b->drivers[i]);
    for (size_t i = 0; i < b->nfunctions; i++)
        bundle__free_function(&b->functions[i]);
    for (size_t i = 0; i < b->nroutes; i++)
        bundle__free_route(&b->routes[i]);
    free(b->products);
    free(b->drivers);
    free(b->functions);
    free(b->routes);
    free(b->dir);
    free(b->name);
    free(b->version);
    free(b);
}

const bundle_product_t *bundle_product(const bundle_t *b, const char *product_key)
{
    for (size_t i = 0; i < b->nproducts; i++)
        if (strcmp(b->products[i].product_key, product_key) == 0) return &b->products[i];
    return NULL;
}

const bundle_function_t *bundle_function(const bundle_t *b, const char *service, const char *name)
{
    for (size_t i = 0; i < b->nfunctions; i++)
        if (strcmp(b->functions[i].service, service) == 0 &&
            strcmp(b->functions[i].name, name) == 0)
            return &b->functions[i];
    return NULL;
}

const bundle_driver_t *bundle_driver(const bundle_t *b, const char *name)
{
    for (size_t i = 0; i < b->ndrivers; i++)
        if (strcmp(b->drivers[i].name, name) == 0) return &b->drivers[i];
    return NULL;
}

/* Whether every real number in `v` survives 15 significant digits. */
static int bundle__reals_short(json_t *v)
{
    const char *key;
    size_t i;
    json_t *item;
    char text[32];
    switch (json_typeof(v)) {
    case JSON_REAL:
        snprintf(text, sizeof text, "%.15g", json_real_value(v));
        return strtod(text, NULL) == json_real_value(v);
    case JSON_OBJECT:
        json_object_foreach(v, key, item)
        {
            if (!bundle__reals_short(item)) return 0;
        }
        return 1;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            if (!bundle__reals_short(item)) return 0;
        }
        return 1;
    default:
        return 1;
    }
}

/* Compact JSON text of `v`; reals with 15 significant digits when that is exact (0.1 stays
 * "0.1", not jansson's default "0.10000000000000001"), with 17 otherwise. */
static char *bundle__dumps(json_t *v)
{
    size_t flags = JSON_COMPACT;
    if (bundle__reals_short(v)) flags |= JSON_REAL_PRECISION(15);
    return json_dumps(v, flags);
}

char *bundle_driver_config(const bundle_driver_t *d)
{
    json_t *root = json_object(), *list = json_array();
    int fail = !root || !list || json_object_set(root, "config", d->config) ||
               json_object_set(root, "deviceList", list);
    for (size_t i = 0; !fail && i < d->ndevices; i++) {
        const bundle_device_t *dev = &d->devices[i];
        char *custom = bundle__dumps(dev->custom);
        json_t *item = custom ? json_pack("{s:s, s:s, s:s}", "productKey", dev->product_key,
                                          "deviceName", dev->device_name, "custom", custom)
                              : NULL;
        free(custom);
        fail = json_array_append_new(list, item);
    }
    char *text = fail ? NULL : bundle__dumps(root);
    json_decref(list);
    json_decref(root);
    return text;
}
