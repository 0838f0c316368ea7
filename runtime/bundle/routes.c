/* routes.c: the key tables of a manifest's message routes (name, source, topic filter, target)
 * and the checks that fill bundle_route_t: unique names, MQTT filters and topics by the bus's
 * rules, no route that feeds itself, and, once the whole manifest is read, sources and targets
 * that name products, devices and functions the bundle has. */
#include "bundle/bundle_int.h"
#include "bus/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE__ANY "+" /* a source field that matches every value */

static int bundle__is_any(const char *s)
{
    return strcmp(s, BUNDLE__ANY) == 0;
}

/* A source field: "+" or a name of format `f`. Returns the copy to store, or NULL. */
static char *bundle__source_field(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                  bundle__format_t f)
{
    if (!bundle__is_any(json_string_value(v)) && !bundle__check_format(c, file, field, v, f))
        return NULL;
    return bundle__strdup(c, json_string_value(v));
}

/* ---- source: {"type": "device" | "function" | "any", ...} ---- */

static void bundle__check_source_pk(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_route_t *r = target;
    r->source_a = bundle__source_field(c, file, field, v, BUNDLE__PRODUCT_KEY);
}

static void bundle__check_source_dn(bundle__ctx_t *c, const char *file, const char *field,
                                    json_t *v, void *target)
{
    bundle_route_t *r = target;
    r->source_b = bundle__source_field(c, file, field, v, BUNDLE__DEVICE_NAME);
}

static void bundle__check_source_service(bundle__ctx_t *c, const char *file, const char *field,
                                         json_t *v, void *target)
{
    bundle_route_t *r = target;
    r->source_a = bundle__source_field(c, file, field, v, BUNDLE__NAME);
}

static void bundle__check_source_function(bundle__ctx_t *c, const char *file, const char *field,
                                          json_t *v, void *target)
{
    bundle_route_t *r = target;
    r->source_b = bundle__source_field(c, file, field, v, BUNDLE__NAME);
}

/* A source key left out means "+": {"type": "device"} is every device. */
static void bundle__finish_source(bundle__ctx_t *c, const char *file, const char *field,
                                  json_t *obj, void *target)
{
    (void)file, (void)field;
    bundle_route_t *r = target;
    const char *a = r->source_type == BUNDLE_SOURCE_DEVICE ? "productKey" : "service";
    const char *b = r->source_type == BUNDLE_SOURCE_DEVICE ? "deviceName" : "function";
    if (!json_object_get(obj, a)) r->source_a = bundle__strdup(c, BUNDLE__ANY);
    if (!json_object_get(obj, b)) r->source_b = bundle__strdup(c, BUNDLE__ANY);
}

static const bundle__key_t bundle__source_device_keys[] = {
    {"type", BUNDLE__STRING, 1, NULL},
    {"productKey", BUNDLE__STRING, 0, bundle__check_source_pk},
    {"deviceName", BUNDLE__STRING, 0, bundle__check_source_dn},
    {NULL, 0, 0, NULL},
};
static const bundle__key_t bundle__source_function_keys[] = {
    {"type", BUNDLE__STRING, 1, NULL},
    {"service", BUNDLE__STRING, 0, bundle__check_source_service},
    {"function", BUNDLE__STRING, 0, bundle__check_source_function},
    {NULL, 0, 0, NULL},
};
static const bundle__key_t bundle__source_any_keys[] = {
    {"type", BUNDLE__STRING, 1, NULL},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__source_device_kind = {bundle__source_device_keys, 0,
                                                          bundle__finish_source};
static const bundle__kind_t bundle__source_function_kind = {bundle__source_function_keys, 0,
                                                            bundle__finish_source};
static const bundle__kind_t bundle__source_any_kind = {bundle__source_any_keys, 0, NULL};

/* One "type" a source or target object may have: the enum value it stands for and the keys it
 * then takes. */
typedef struct bundle__variant {
    const char *type;
    int value;
    const bundle__kind_t *kind;
} bundle__variant_t;

static const bundle__variant_t bundle__sources[] = {
    {"device", BUNDLE_SOURCE_DEVICE, &bundle__source_device_kind},
    {"function", BUNDLE_SOURCE_FUNCTION, &bundle__source_function_kind},
    {"any", BUNDLE_SOURCE_ANY, &bundle__source_any_kind},
};

/* The "type" of a source or target object `obj` at `field`, which decides its other keys;
 * NULL after reporting that it is missing or not a string. */
static json_t *bundle__type_of(bundle__ctx_t *c, const char *file, const char *field, json_t *obj)
{
    char f[BUNDLE__FIELD_MAX];
    bundle__field_key(f, field, "type");
    json_t *type = json_object_get(obj, "type");
    if (!type)
        bundle__err(c, file, f, NULL, "required key missing");
    else if (!json_is_string(type))
        bundle__err(c, file, f, type, "expected a string");
    else
        return type;
    return NULL;
}

/* The variant among `vs[0..n)` that the "type" of object `v` names, or NULL after reporting
 * the problem (an unknown type is reported with `expected`). */
static const bundle__variant_t *bundle__variant_of(bundle__ctx_t *c, const char *file,
                                                   const char *field, json_t *v,
                                                   const bundle__variant_t *vs, size_t n,
                                                   const char *expected)
{
    json_t *type = bundle__type_of(c, file, field, v);
    if (!type) return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(json_string_value(type), vs[i].type) == 0) return &vs[i];
    char f[BUNDLE__FIELD_MAX];
    bundle__field_key(f, field, "type");
    bundle__err(c, file, f, type, "expected %s", expected);
    return NULL;
}

static void bundle__check_source(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    bundle_route_t *r = target;
    const bundle__variant_t *var =
        bundle__variant_of(c, file, field, v, bundle__sources,
                           sizeof bundle__sources / sizeof *bundle__sources,
                           "\"device\", \"function\" or \"any\"");
    if (!var) return;
    r->source_type = (bundle_source_t)var->value; /* the kind's finish reads it */
    bundle__check_object(c, file, field, v, var->kind, r);
}

/* ---- target: {"type": "function", "service", "function"} | {"type": "topic", "topic"} ---- */

static void bundle__check_target_service(bundle__ctx_t *c, const char *file, const char *field,
                                         json_t *v, void *target)
{
    bundle_route_t *r = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__NAME))
        r->target_a = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_target_function(bundle__ctx_t *c, const char *file, const char *field,
                                          json_t *v, void *target)
{
    bundle_route_t *r = target;
    if (bundle__check_format(c, file, field, v, BUNDLE__NAME))
        r->target_b = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_target_topic(bundle__ctx_t *c, const char *file, const char *field,
                                       json_t *v, void *target)
{
    bundle_route_t *r = target;
    if (bus_topic_valid(json_string_value(v)))
        r->target_a = bundle__strdup(c, json_string_value(v));
    else
        bundle__err(c, file, field, v,
                    "expected a topic to publish on: 1 to 65535 bytes, no wildcard + or #");
}

static const bundle__key_t bundle__target_function_keys[] = {
    {"type", BUNDLE__STRING, 1, NULL},
    {"service", BUNDLE__STRING, 1, bundle__check_target_service},
    {"function", BUNDLE__STRING, 1, bundle__check_target_function},
    {NULL, 0, 0, NULL},
};
static const bundle__key_t bundle__target_topic_keys[] = {
    {"type", BUNDLE__STRING, 1, NULL},
    {"topic", BUNDLE__STRING, 1, bundle__check_target_topic},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__target_function_kind = {bundle__target_function_keys, 0, NULL};
static const bundle__kind_t bundle__target_topic_kind = {bundle__target_topic_keys, 0, NULL};

static const bundle__variant_t bundle__targets[] = {
    {"function", BUNDLE_TARGET_FUNCTION, &bundle__target_function_kind},
    {"topic", BUNDLE_TARGET_TOPIC, &bundle__target_topic_kind},
};

static void bundle__check_target(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target)
{
    bundle_route_t *r = target;
    const bundle__variant_t *var =
        bundle__variant_of(c, file, field, v, bundle__targets,
                           sizeof bundle__targets / sizeof *bundle__targets,
                           "\"function\" or \"topic\"");
    if (!var) return;
    r->target_type = (bundle_target_t)var->value;
    bundle__check_object(c, file, field, v, var->kind, r);
}

/* ---- the route ---- */

static void bundle__check_route_name(bundle__ctx_t *c, const char *file, const char *field,
                                     json_t *v, void *target)
{
    bundle_route_t *r = target;
    if (!bundle__check_format(c, file, field, v, BUNDLE__NAME)) return;
    const char *first = bundle__seen(c, c->route_names, json_string_value(v), field);
    if (first)
        bundle__err(c, file, field, v, "duplicate of %s", first);
    else
        r->name = bundle__strdup(c, json_string_value(v));
}

static void bundle__check_topic(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                void *target)
{
    bundle_route_t *r = target;
    const char *why = "";
    if (bus_filter_valid(json_string_value(v), &why))
        r->topic = bundle__strdup(c, json_string_value(v));
    else
        bundle__err(c, file, field, v, "expected an MQTT topic filter: %s", why);
}

/* Defaults (source any, topic "#"), and the one loop a route makes by itself: taking messages
 * from any source, it would take back what it publishes when its target topic matches its
 * own filter. */
static void bundle__finish_route(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                                 void *target)
{
    bundle_route_t *r = target;
    json_t *source = json_object_get(obj, "source");
    if (!json_object_get(obj, "topic")) r->topic = bundle__strdup(c, "#");
    json_t *type = json_object_get(source, "type");
    int any = !source || (json_is_object(source) && json_is_string(type) &&
                          strcmp(json_string_value(type), "any") == 0);
    if (!any || r->target_type != BUNDLE_TARGET_TOPIC || !r->target_a || !r->topic) return;
    if (!bus_match(r->topic, r->target_a)) return;
    char t[BUNDLE__FIELD_MAX], f[BUNDLE__FIELD_MAX];
    bundle__field_key(t, field, "target");
    bundle__field_key(f, t, "topic");
    bundle__err(c, file, f, json_object_get(json_object_get(obj, "target"), "topic"),
                "loops back into itself: the route takes messages from any source on \"%s\", "
                "which matches this topic, so it would route what it publishes again; give it a "
                "device or function source, or a filter that does not match",
                r->topic);
}

static const bundle__key_t bundle__route_keys[] = {
    {"name", BUNDLE__STRING, 1, bundle__check_route_name},
    {"source", BUNDLE__OBJECT, 0, bundle__check_source},
    {"topic", BUNDLE__STRING, 0, bundle__check_topic},
    {"target", BUNDLE__OBJECT, 1, bundle__check_target},
    {NULL, 0, 0, NULL},
};
static const bundle__kind_t bundle__route_kind = {bundle__route_keys, 0, bundle__finish_route};

void bundle__check_routes(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                          void *target)
{
    bundle_t *b = target;
    size_t n = json_array_size(v);
    if (n == 0) return;
    if (!(b->routes = calloc(n, sizeof *b->routes))) {
        c->oom = 1;
        return;
    }
    b->nroutes = n;
    bundle__check_items(c, file, field, v, &bundle__route_kind, b->routes, sizeof *b->routes);
}

/* ---- what routes name elsewhere in the manifest ---- */

/* The room bundle__functions_are needs: 8 "service/name, " and " and N more". */
#define BUNDLE__FUNCTIONS_ARE_MAX (8 * (2 * BUNDLE_NAME_MAX + 3) + 64)

/* "functions are A/b, C/d" or "the bundle has no function" into out[n]. */
static void bundle__functions_are(const bundle__ctx_t *c, char out[BUNDLE__FUNCTIONS_ARE_MAX])
{
    static const char prefix[] = "functions are ";
    memcpy(out, prefix, sizeof prefix - 1); /* the list goes straight after it: no copy */
    bundle__list_keys(c->functions, out + sizeof prefix - 1,
                      BUNDLE__FUNCTIONS_ARE_MAX - (sizeof prefix - 1));
    if (!out[sizeof prefix - 1])
        snprintf(out, BUNDLE__FUNCTIONS_ARE_MAX, "the bundle has no function");
}

/* Whether some function of the bundle has service `service` (NULL: any) and name `name`
 * (NULL: any). */
static int bundle__has_function(const bundle__ctx_t *c, const char *service, const char *name)
{
    const char *key;
    json_t *first;
    json_object_foreach(c->functions, key, first)
    {
        const char *slash = strchr(key, '/');
        size_t len = (size_t)(slash - key);
        if (service && (strlen(service) != len || strncmp(key, service, len) != 0)) continue;
        if (name && strcmp(slash + 1, name) != 0) continue;
        return 1;
    }
    return 0;
}

/* The function service/name that `obj` (a source or target at `field`) names; with `wild`, either
 * may be "+". NULL values were wrong and have been reported. */
static void bundle__check_function_ref(bundle__ctx_t *c, const char *file, const char *field,
                                       json_t *obj, const char *service, const char *name, int wild)
{
    if (!service || !name) return;
    int any_service = wild && bundle__is_any(service), any_name = wild && bundle__is_any(name);
    if (any_service && any_name) return;
    if (bundle__has_function(c, any_service ? NULL : service, any_name ? NULL : name)) return;
    char f[BUNDLE__FIELD_MAX], known[BUNDLE__FUNCTIONS_ARE_MAX];
    bundle__functions_are(c, known);
    const char *key = any_name ? "service" : "function";
    bundle__field_key(f, field, key);
    json_t *v = json_object_get(obj, key);
    if (any_service)
        bundle__err(c, file, f, v, "no function of the bundle is named %s; %s", name, known);
    else if (any_name)
        bundle__err(c, file, f, v, "no function of the bundle has service %s; %s", service, known);
    else
        bundle__err(c, file, f, v, "no such function %s/%s; %s", service, name, known);
}

/* The product and the device a device source names: the product must be one of the bundle,
 * and a concrete device one that a driver serves. */
static void bundle__check_device_ref(bundle__ctx_t *c, const char *file, const char *field,
                                     json_t *obj, const bundle_route_t *r, int devices_known)
{
    const char *pk = r->source_a, *dn = r->source_b;
    char f[BUNDLE__FIELD_MAX];
    if (!pk || bundle__is_any(pk) || !c->have_products) return;
    if (!json_object_get(c->product_keys, pk)) {
        char known[8 * (BUNDLE_NAME_MAX + 2) + 32];
        bundle__list_keys(c->product_keys, known, sizeof known);
        bundle__field_key(f, field, "productKey");
        if (known[0])
            bundle__err(c, file, f, json_object_get(obj, "productKey"),
                        "no such product; products are %s", known);
        else
            bundle__err(c, file, f, json_object_get(obj, "productKey"),
                        "no such product; the bundle has no valid product");
        return;
    }
    if (!dn || bundle__is_any(dn) || !devices_known) return;
    char key[2 * BUNDLE_NAME_MAX + 2];
    snprintf(key, sizeof key, "%s/%s", pk, dn);
    if (json_object_get(c->devices, key)) return;
    bundle__field_key(f, field, "deviceName");
    bundle__err(c, file, f, json_object_get(obj, "deviceName"),
                "no such device %s: no driver of the bundle lists it in its devices", key);
}

void bundle__check_route_refs(bundle__ctx_t *c, const char *file, json_t *doc)
{
    json_t *routes = json_object_get(doc, "routes");
    json_t *functions = json_object_get(doc, "functions"),
           *drivers = json_object_get(doc, "drivers");
    /* a broken "functions" or "drivers" key is reported already: its names are unknown */
    int functions_known = !functions || json_is_array(functions);
    int devices_known = !drivers || json_is_array(drivers);
    char rf[BUNDLE__FIELD_MAX], f[BUNDLE__FIELD_MAX];
    if (!json_is_array(routes)) return;
    for (size_t i = 0; i < c->b->nroutes; i++) {
        const bundle_route_t *r = &c->b->routes[i];
        json_t *route = json_array_get(routes, i);
        if (!json_is_object(route)) continue;
        bundle__field_index(rf, "routes", i);
        json_t *source = json_object_get(route, "source"),
               *target = json_object_get(route, "target");
        bundle__field_key(f, rf, "source");
        if (r->source_type == BUNDLE_SOURCE_DEVICE)
            bundle__check_device_ref(c, file, f, source, r, devices_known);
        else if (r->source_type == BUNDLE_SOURCE_FUNCTION && functions_known)
            bundle__check_function_ref(c, file, f, source, r->source_a, r->source_b, 1);
        bundle__field_key(f, rf, "target");
        if (r->target_type == BUNDLE_TARGET_FUNCTION && functions_known)
            bundle__check_function_ref(c, file, f, target, r->target_a, r->target_b, 0);
    }
}
