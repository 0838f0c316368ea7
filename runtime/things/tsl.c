/* tsl.c: parsing and validating a product's thing model (TSL): its properties, events and
 * services, each named by its path in error messages; deriving the `get` and `set` services
 * that the SDK needs to type a driver's values when the TSL lacks them (SDK-FACTS §3.3, §4). */
#include "things/tsl.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* The access modes of a property. */
static const struct {
    const char *mode;
    int access;
} things__modes[] = {
    {"r", THINGS__READ},
    {"rw", THINGS__READ | THINGS__WRITE},
    {"w", THINGS__WRITE},
};

static const char *const things__event_types[] = {"info", "alert", "error"};
static const char *const things__call_types[] = {"sync", "async"};

#define THINGS__NELEM(a) (sizeof(a) / sizeof((a)[0]))

int things__identifier_ok(const char *s)
{
    size_t n = 0;
    if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return n <= THINGS__ID_MAX;
}

void things__field_close(things__field_t *f)
{
    free(f->id);
    things__dtype_close(&f->type);
    f->id = NULL;
}

/* Checks that obj[key], when present (or always when `required`), is one of `choices`. */
static int things__tsl_choice(things__tslctx_t *c, json_t *obj, const char *key, int required,
                              const char *const *choices, size_t n, const char *expected)
{
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, choices[i]) == 0) return 0;
    if (!v && !required) return 0;
    size_t o = things__path_push(&c->path, ".%s", key);
    int rc = things__tsl_fail(c, v, "%sexpected %s", v ? "" : "missing; ", expected);
    things__path_pop(&c->path, o);
    return rc;
}

/* Checks that obj[key], when present, is a string (name, method...). */
static int things__tsl_string(things__tslctx_t *c, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_string(v)) return 0;
    size_t o = things__path_push(&c->path, ".%s", key);
    int rc = things__tsl_fail(c, v, "expected a string");
    things__path_pop(&c->path, o);
    return rc;
}

/* The array obj[key]: absent gives an empty one (*out NULL); else it must be an array. */
static int things__tsl_array(things__tslctx_t *c, json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = v;
    if (!v || json_is_array(v)) return 0;
    size_t o = things__path_push(&c->path, ".%s", key);
    int rc = things__tsl_fail(c, v, "expected an array");
    things__path_pop(&c->path, o);
    return rc;
}

/* Parses an item {identifier, name, dataType} at the current path into *f and indexes it in
 * `map` (NULL: not indexed). `what` names the set whose identifiers must be unique. */
static int things__tsl_item(things__tslctx_t *c, json_t *item, things__field_t *f,
                            things__map_t *map, const char *what)
{
    json_t *id = json_object_get(item, "identifier");
    int rc = 0;
    memset(f, 0, sizeof *f);
    if (!json_is_object(item))
        return things__tsl_fail(c, item, "expected an object with identifier, name and dataType");
    size_t o = things__path_push(&c->path, ".identifier");
    if (!id)
        rc = things__tsl_fail(c, NULL,
                              "missing; expected 1 to 50 letters, digits or '_', not "
                              "starting with a digit");
    else if (!json_is_string(id) || !things__identifier_ok(json_string_value(id)))
        rc = things__tsl_fail(c, id,
                              "expected 1 to 50 letters, digits or '_', not starting with "
                              "a digit");
    else if (!(f->id = strdup(json_string_value(id))))
        rc = VG_ENOMEM;
    else if (map && (rc = things__map_put(map, &f->node, f->id)) == VG_EEXIST)
        rc = things__tsl_fail(c, id, "duplicate; identifiers must be unique among %s", what);
    things__path_pop(&c->path, o);
    if (rc == 0) rc = things__tsl_string(c, item, "name");
    if (rc == 0) {
        o = things__path_push(&c->path, ".dataType");
        rc = things__dtype_parse(c, json_object_get(item, "dataType"), &f->type);
        things__path_pop(&c->path, o);
    }
    if (rc) {
        if (map && f->id && things__map_get(map, f->id, strlen(f->id)) == &f->node)
            things__map_del(map, &f->node);
        free(f->id);
        f->id = NULL;
    }
    return rc;
}

/* Validates an array of items (outputData) without keeping them. */
static int things__tsl_items_check(things__tslctx_t *c, json_t *obj, const char *key,
                                   const char *what)
{
    json_t *arr;
    things__map_t ids;
    int rc = things__tsl_array(c, obj, key, &arr);
    if (rc || !arr) return rc;
    size_t n = json_array_size(arr);
    things__field_t *fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs) return VG_ENOMEM;
    things__map_init(&ids);
    size_t done = 0;
    for (; done < n && rc == 0; done++) {
        size_t o = things__path_push(&c->path, ".%s[%zu]", key, done);
        rc = things__tsl_item(c, json_array_get(arr, done), &fs[done], &ids, what);
        things__path_pop(&c->path, o);
    }
    for (size_t i = 0; i < done; i++)
        things__field_close(&fs[i]);
    things__map_close(&ids);
    free(fs);
    return rc;
}

static int things__tsl_property(things__tslctx_t *c, things__tsl_t *tsl, json_t *p,
                                things__field_t *f)
{
    int rc = things__tsl_item(c, p, f, &tsl->prop_map, "properties");
    if (rc) return rc;
    json_t *mode = json_object_get(p, "accessMode");
    for (size_t i = 0; i < THINGS__NELEM(things__modes); i++)
        if (json_is_string(mode) && strcmp(json_string_value(mode), things__modes[i].mode) == 0)
            f->access = things__modes[i].access;
    json_t *req = json_object_get(p, "required");
    size_t o = things__path_push(&c->path, ".accessMode");
    if (!f->access)
        rc = things__tsl_fail(c, mode, "%sexpected r, rw or w", mode ? "" : "missing; ");
    things__path_pop(&c->path, o);
    if (rc == 0 && req && !json_is_boolean(req)) {
        o = things__path_push(&c->path, ".required");
        rc = things__tsl_fail(c, req, "expected true or false");
        things__path_pop(&c->path, o);
    }
    return rc;
}

/* Checks an identifier's form ([A-Za-z_][A-Za-z0-9_]{0,49}); 0 or the failure. */
static int things__tsl_check_id(things__tslctx_t *c, json_t *id)
{
    if (json_is_string(id) && things__identifier_ok(json_string_value(id))) return 0;
    return things__tsl_fail(c, id,
                            "%sexpected 1 to 50 letters, digits or '_', not starting with a digit",
                            id ? "" : "missing; ");
}

static int things__tsl_event(things__tslctx_t *c, json_t *e, things__map_t *ids,
                             things__node_t *node)
{
    json_t *id = json_object_get(e, "identifier");
    if (!json_is_object(e))
        return things__tsl_fail(c, e, "expected an object with identifier, type and outputData");
    size_t o = things__path_push(&c->path, ".identifier");
    int rc = things__tsl_check_id(c, id);
    if (rc == 0 && (rc = things__map_put(ids, node, json_string_value(id))) == VG_EEXIST)
        rc = things__tsl_fail(c, id, "duplicate; identifiers must be unique among events");
    things__path_pop(&c->path, o);
    if (rc == 0)
        rc = things__tsl_choice(c, e, "type", 0, things__event_types,
                                THINGS__NELEM(things__event_types), "info, alert or error");
    if (rc == 0) rc = things__tsl_string(c, e, "name");
    if (rc == 0) rc = things__tsl_string(c, e, "method");
    if (rc == 0) rc = things__tsl_items_check(c, e, "outputData", "an event's outputData");
    return rc;
}

/* A service's inputData: items, or for `get` property identifiers. */
static int things__tsl_inputs(things__tslctx_t *c, things__tsl_t *tsl, json_t *s,
                              things__service_t *svc)
{
    json_t *arr;
    int rc = things__tsl_array(c, s, "inputData", &arr);
    if (rc || !arr) return rc;
    size_t n = json_array_size(arr);
    int is_get = strcmp(svc->id, "get") == 0;
    if (!(svc->inputs = calloc(n ? n : 1, sizeof *svc->inputs))) return VG_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *item = json_array_get(arr, i);
        size_t o = things__path_push(&c->path, ".inputData[%zu]", i);
        if (is_get && json_is_string(item)) {
            if (!things__tsl_prop(tsl, json_string_value(item)))
                rc = things__tsl_fail(c, item, "expected the identifier of a property");
        } else {
            rc = things__tsl_item(c, item, &svc->inputs[svc->ninputs], &svc->input_map,
                                  "a service's inputData");
            if (rc == 0) svc->ninputs++;
        }
        things__path_pop(&c->path, o);
    }
    return rc;
}

static int things__tsl_parse_service(things__tslctx_t *c, things__tsl_t *tsl, json_t *s,
                                     things__service_t *svc)
{
    json_t *id = json_object_get(s, "identifier");
    if (!json_is_object(s))
        return things__tsl_fail(c, s,
                                "expected an object with identifier, inputData and "
                                "outputData");
    size_t o = things__path_push(&c->path, ".identifier");
    int rc = things__tsl_check_id(c, id);
    if (rc == 0 && !(svc->id = strdup(json_string_value(id))))
        rc = VG_ENOMEM;
    else if (rc == 0 && (rc = things__map_put(&tsl->service_map, &svc->node, svc->id)) == VG_EEXIST)
        rc = things__tsl_fail(c, id, "duplicate; identifiers must be unique among services");
    things__path_pop(&c->path, o);
    if (rc == 0)
        rc = things__tsl_choice(c, s, "callType", 0, things__call_types,
                                THINGS__NELEM(things__call_types), "sync or async");
    if (rc == 0) rc = things__tsl_string(c, s, "name");
    if (rc == 0) rc = things__tsl_string(c, s, "method");
    if (rc == 0) rc = things__tsl_inputs(c, tsl, s, svc);
    if (rc == 0) rc = things__tsl_items_check(c, s, "outputData", "a service's outputData");
    return rc;
}

/* --- derived services ---------------------------------------------------------------------- */

/* The service item of property `p`: {identifier, name, dataType}. */
static json_t *things__tsl_item_of(json_t *p)
{
    json_t *item = json_object();
    json_t *name = json_object_get(p, "name");
    if (!item || json_object_set(item, "identifier", json_object_get(p, "identifier")) ||
        (name && json_object_set(item, "name", name)) ||
        json_object_set_new(item, "dataType", json_deep_copy(json_object_get(p, "dataType")))) {
        json_decref(item);
        return NULL;
    }
    return item;
}

/* A service object in the shape of SDK-FACTS §4: set takes the writable properties' items,
 * get takes the readable identifiers and outputs their items. */
static json_t *things__tsl_derive(const things__tsl_t *tsl, json_t *props, int is_get)
{
    json_t *in = json_array(), *out = json_array();
    json_t *svc =
        json_pack("{s:s,s:s,s:s,s:b,s:s,s:o,s:o}", "identifier", is_get ? "get" : "set", "name",
                  is_get ? "get" : "set", "callType", "sync", "required", 1, "method",
                  is_get ? "thing.service.property.get" : "thing.service.property.set", "inputData",
                  in, "outputData", out);
    if (!svc) return NULL;
    for (size_t i = 0; i < tsl->nprops; i++) {
        json_t *p = json_array_get(props, i);
        int ok = 0;
        if (is_get && (tsl->props[i].access & THINGS__READ))
            ok = json_array_append(in, json_object_get(p, "identifier")) == 0 &&
                 json_array_append_new(out, things__tsl_item_of(p)) == 0;
        else if (!is_get && (tsl->props[i].access & THINGS__WRITE))
            ok = json_array_append_new(in, things__tsl_item_of(p)) == 0;
        else
            ok = 1;
        if (!ok) {
            json_decref(svc);
            return NULL;
        }
    }
    return svc;
}

/* Appends get and set to the document's services when it lacks them, and renders the text. */
static int things__tsl_render(things__tsl_t *tsl, json_t *root, json_t *props)
{
    json_t *services = json_object_get(root, "services");
    if (!services) {
        if (json_object_set_new(root, "services", json_array())) return VG_ENOMEM;
        services = json_object_get(root, "services");
    }
    for (int is_get = 1; is_get >= 0; is_get--) {
        if (things__tsl_service(tsl, is_get ? "get" : "set")) continue;
        if (json_array_append_new(services, things__tsl_derive(tsl, props, is_get)))
            return VG_ENOMEM;
    }
    tsl->text = json_dumps(root, JSON_COMPACT);
    return tsl->text ? 0 : VG_ENOMEM;
}

/* --- the document -------------------------------------------------------------------------- */

static int things__tsl_profile(things__tslctx_t *c, const char *pk, json_t *root)
{
    json_t *profile = json_object_get(root, "profile");
    json_t *key = json_object_get(profile, "productKey");
    int rc = 0;
    if (!profile) return 0;
    size_t o = things__path_push(&c->path, "profile");
    if (!json_is_object(profile))
        rc = things__tsl_fail(c, profile, "expected an object");
    else if (key && (!json_is_string(key) || strcmp(json_string_value(key), pk) != 0)) {
        things__path_push(&c->path, ".productKey");
        rc = things__tsl_fail(c, key, "expected \"%s\", the product this TSL is added as", pk);
    }
    things__path_pop(&c->path, o);
    return rc;
}

static int things__tsl_doc(things__tslctx_t *c, const char *pk, things__tsl_t *tsl, json_t *root)
{
    json_t *props, *events, *services;
    int rc = things__tsl_profile(c, pk, root);
    if (rc || (rc = things__tsl_array(c, root, "properties", &props)) ||
        (rc = things__tsl_array(c, root, "events", &events)) ||
        (rc = things__tsl_array(c, root, "services", &services)))
        return rc;
    size_t np = json_array_size(props), ne = json_array_size(events),
           ns = json_array_size(services);
    tsl->props = calloc(np ? np : 1, sizeof *tsl->props);
    tsl->services = calloc(ns ? ns : 1, sizeof *tsl->services);
    things__node_t *enodes = calloc(ne ? ne : 1, sizeof *enodes);
    if (!tsl->props || !tsl->services || !enodes) {
        free(enodes);
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < np && rc == 0; i++) {
        size_t o = things__path_push(&c->path, "properties[%zu]", i);
        rc = things__tsl_property(c, tsl, json_array_get(props, i), &tsl->props[i]);
        things__path_pop(&c->path, o);
        if (tsl->props[i].id) tsl->nprops = i + 1; /* parsed, maybe with a bad accessMode */
    }
    things__map_t eids;
    things__map_init(&eids);
    tsl->events = json_object();
    for (size_t i = 0; i < ne && rc == 0; i++) {
        size_t o = things__path_push(&c->path, "events[%zu]", i);
        json_t *e = json_array_get(events, i);
        rc = things__tsl_event(c, e, &eids, &enodes[i]);
        things__path_pop(&c->path, o);
        if (rc == 0) {
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *id = json_string_value(json_object_get(e, "identifier"));
            json_object_set_new(
                tsl->events, id,
                json_pack("{s:s,s:s}", "type", type ? type : "info", "name", name ? name : id));
        }
    }
    things__map_close(&eids);
    free(enodes);
    for (size_t i = 0; i < ns && rc == 0; i++) {
        size_t o = things__path_push(&c->path, "services[%zu]", i);
        things__service_t *svc = &tsl->services[i];
        rc = things__tsl_parse_service(c, tsl, json_array_get(services, i), svc);
        things__path_pop(&c->path, o);
        tsl->nservices = i + 1; /* freed by things__tsl_free even when half parsed */
    }
    return rc ? rc : things__tsl_render(tsl, root, props);
}

int things__tsl_parse(const char *pk, const char *json, things__tsl_t **out, char *err,
                      size_t errlen)
{
    json_error_t je;
    things__tslctx_t c = {.err = err, .errlen = errlen};
    json_t *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "tsl: line %d, column %d: %s", je.line, je.column, je.text);
        return VG_EINVAL;
    }
    if (!json_is_object(root)) {
        int rc = things__tsl_fail(&c, NULL,
                                  "expected a JSON object with properties, events and "
                                  "services");
        json_decref(root);
        return rc;
    }
    things__tsl_t *tsl = calloc(1, sizeof *tsl);
    if (!tsl) {
        json_decref(root);
        return VG_ENOMEM;
    }
    int rc = things__tsl_doc(&c, pk, tsl, root);
    json_decref(root);
    if (rc) {
        if (rc == VG_ENOMEM) snprintf(err, errlen, "tsl: out of memory");
        things__tsl_free(tsl);
        return rc;
    }
    *out = tsl;
    return 0;
}

void things__tsl_free(things__tsl_t *tsl)
{
    if (!tsl) return;
    for (size_t i = 0; i < tsl->nprops; i++)
        things__field_close(&tsl->props[i]);
    for (size_t i = 0; i < tsl->nservices; i++) {
        things__service_t *s = &tsl->services[i];
        for (size_t j = 0; j < s->ninputs; j++)
            things__field_close(&s->inputs[j]);
        free(s->inputs);
        things__map_close(&s->input_map);
        free(s->id);
    }
    things__map_close(&tsl->prop_map);
    things__map_close(&tsl->service_map);
    json_decref(tsl->events);
    free(tsl->props);
    free(tsl->services);
    free(tsl->text);
    free(tsl);
}

const things__field_t *things__tsl_prop(const things__tsl_t *tsl, const char *id)
{
    things__node_t *n = things__map_get(&tsl->prop_map, id, strlen(id));
    return n ? THINGS__CONTAINER(n, things__field_t, node) : NULL;
}

const things__service_t *things__tsl_service(const things__tsl_t *tsl, const char *id)
{
    things__node_t *n = things__map_get(&tsl->service_map, id, strlen(id));
    return n ? THINGS__CONTAINER(n, things__service_t, node) : NULL;
}

const things__field_t *things__service_input(const things__service_t *s, const char *id)
{
    things__node_t *n = things__map_get(&s->input_map, id, strlen(id));
    return n ? THINGS__CONTAINER(n, things__field_t, node) : NULL;
}
