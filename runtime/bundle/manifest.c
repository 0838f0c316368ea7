/* manifest.c: the key tables of bundle.json's top level and of its products, and the checks
 * that fill bundle_t and bundle_product_t (TSL files are read and matched to their product).
 * The top level's other arrays have their own files: drivers.c, functions.c, routes.c; what
 * routes name elsewhere is checked last, whatever the order of the keys in the file. */
#include "bundle/bundle_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bundle__check_name(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                               void *target)
{
    bundle_t *b = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__NAME))
        b->name = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_version(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_t *b = target;
    if (bundle__version_ok(json_string_value(v)))
        b->version = bundle__strdup(c, json_string_value(v));
    else
        bundle__err(c, file, field, v,
                    "expected a version such as 1.0.0: 1 to 3 numbers joined by dots, an "
                    "optional -suffix, at most %d characters",
                    BUNDLE_VERSION_MAX);
}

static void bundle__check_product_key(bundle__ctx_t *c, const char *file, const char *field,
                                      json_t *v, void *target)
{
    bundle_product_t *p = target;
    if (!bundle__check_format(c, file, field, v, BUNDLE__PRODUCT_KEY)) return;
    const char *first = bundle__seen(c, c->product_keys, json_string_value(v), field);
    if (first)
        bundle__err(c, file, field, v, "duplicate of %s", first);
    else
        p->product_key = bundle__strdup(c, json_string_value(v));
}

/* profile.productKey of a TSL, when present, names the product the bundle gives it. */
static void bundle__match_profile(bundle__ctx_t *c, const char *tsl_file, json_t *tsl,
                                  const char *product_key)
{
    json_t *profile = json_object_get(tsl, "profile");
    if (!profile) return;
    if (!json_is_object(profile)) {
        bundle__err(c, tsl_file, "profile", profile, "expected an object");
        return;
    }
    json_t *pk = json_object_get(profile, "productKey");
    if (pk && !json_is_string(pk))
        bundle__err(c, tsl_file, "profile.productKey", pk, "expected a string");
    else if (pk && product_key && strcmp(json_string_value(pk), product_key) != 0)
        bundle__err(c, tsl_file, "profile.productKey", pk,
                    "expected \"%s\", the productKey bundle.json gives this file", product_key);
}

static void bundle__check_tsl(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                              void *target)
{
    bundle_product_t *p = target;
    char *abs = bundle__resolve(c, file, field, v, json_string_value(v), c->root, BUNDLE__FILE);
    if (!abs) return;
    json_t *doc;
    p->tsl = bundle__read_json(c, file, field, v, abs, BUNDLE_TSL_MAX, &doc);
    if (!p->tsl) {
        free(abs);
        return;
    }
    p->tsl_path = abs;
    bundle__match_profile(c, bundle__relative(c, abs), doc, p->product_key);
    json_decref(doc);
}

static void bundle__check_tsl_ext(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  void *target)
{
    bundle_product_t *p = target;
    char *abs = bundle__resolve(c, file, field, v, json_string_value(v), c->root, BUNDLE__FILE);
    if (!abs) return;
    json_t *doc;
    p->tsl_ext_info = bundle__read_json(c, file, field, v, abs, BUNDLE_TSL_MAX, &doc);
    if (!p->tsl_ext_info) {
        free(abs);
        return;
    }
    p->tsl_ext_info_path = abs;
    json_decref(doc);
}

static const bundle__key_t bundle__product_keys[] = {
    {"productKey", BUNDLE__STRING, 1, bundle__check_product_key},
    {"tsl", BUNDLE__STRING, 1, bundle__check_tsl},
    {"tslExtInfo", BUNDLE__STRING, 0, bundle__check_tsl_ext},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__product_kind = {bundle__product_keys, 0, NULL};

static void bundle__check_products(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                   void *target)
{
    bundle_t *b = target;
    c->have_products = 1;
    size_t n = json_array_size(v);
    if (n == 0) {
        bundle__err(c, file, field, v, "expected at least one product");
        return;
    }
    if (!(b->products = calloc(n, sizeof *b->products))) {
        c->oom = 1;
        return;
    }
    b->nproducts = n;
    bundle__check_items(c, file, field, v, &bundle__product_kind, b->products, sizeof *b->products);
}

/* The top level of bundle.json. */
static const bundle__key_t bundle__top_keys[] = {
    {"name", BUNDLE__STRING, 1, bundle__check_name},
    {"version", BUNDLE__STRING, 1, bundle__check_version},
    {"products", BUNDLE__ARRAY, 1, bundle__check_products},
    {"drivers", BUNDLE__ARRAY, 0, bundle__check_drivers},
    {"functions", BUNDLE__ARRAY, 0, bundle__check_functions},
    {"routes", BUNDLE__ARRAY, 0, bundle__check_routes},
    {NULL, 0, 0, NULL},
};

/* Runs once every top-level key has been read. */
static void bundle__finish_top(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                               void *target)
{
    (void)field, (void)target;
    bundle__check_route_refs(c, file, obj);
}
static const bundle__kind_t bundle__top_kind = {bundle__top_keys, 0, bundle__finish_top};

void bundle__check_manifest(bundle__ctx_t *c, json_t *doc)
{
    bundle__check_object(c, BUNDLE_MANIFEST, "", doc, &bundle__top_kind, c->b);
}
