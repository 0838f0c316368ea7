/* registry.c: products (their TSL and extension info) and devices (names, driver, tags, local
 * state and its times), indexed by productKey, by cloud id "<pk>_<dn>" and by local id, so that
 * every look-up is O(1) at 10,000 devices. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The punctuation each kind of name allows besides A-Z a-z 0-9 (the bundle's rules). */
typedef enum { THINGS__PK, THINGS__DN, THINGS__DRIVER } things__name_kind_t;
static const struct {
    const char *what;
    const char *extra;
} things__names[] = {
    [THINGS__PK] = {"productKey", "_.:-"},
    [THINGS__DN] = {"deviceName", "_.:@-"},
    [THINGS__DRIVER] = {"driver", "_.-"},
};

static int things__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int things__fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Checks a name of kind `k`; `what` overrides the kind's field name in the message. */
static int things__name_ok(const char *s, things__name_kind_t k, const char *what, char *err,
                           size_t errlen)
{
    size_t n = s ? strlen(s) : 0;
    int ok = n >= 1 && n <= THINGS_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
             (s[i] >= '0' && s[i] <= '9') || strchr(things__names[k].extra, s[i]) != NULL;
    if (ok) return 0;
    char extra[16] = "";
    for (size_t i = 0; things__names[k].extra[i]; i++) {
        size_t l = strlen(extra);
        extra[l] = ' ';
        extra[l + 1] = things__names[k].extra[i];
        extra[l + 2] = '\0';
    }
    return things__fail(err, errlen, VG_EINVAL,
                        "%s \"%.80s%s\": expected 1 to %d characters of A-Z a-z 0-9%s",
                        what ? what : things__names[k].what, s ? s : "", n > 80 ? "..." : "",
                        THINGS_NAME_MAX, extra);
}

/* --- products -------------------------------------------------------------------------------- */

things__product_t *things__product(things_t *t, const char *pk)
{
    things__node_t *n = pk ? things__map_get(&t->products, pk, strlen(pk)) : NULL;
    return n ? THINGS__CONTAINER(n, things__product_t, node) : NULL;
}

static void things__product_free(things__product_t *p)
{
    things__tsl_free(p->tsl);
    free(p->ext_info);
    free(p->pk);
    free(p);
}

/* Parses the extension info into compact text ("{}" for NULL). */
static int things__ext_info(const char *json, char **out, char *err, size_t errlen)
{
    json_error_t je;
    if (!json) return (*out = strdup("{}")) ? 0 : VG_ENOMEM;
    json_t *v = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return things__fail(err, errlen, VG_EINVAL, "tsl ext info: line %d, column %d: %s", je.line,
                            je.column, je.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return things__fail(err, errlen, VG_EINVAL, "tsl ext info: expected a JSON object");
    }
    *out = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return *out ? 0 : VG_ENOMEM;
}

int things_add_product(things_t *t, const char *pk, const char *tsl_json, const char *ext_info_json,
                       char *err, size_t errlen)
{
    int rc = things__name_ok(pk, THINGS__PK, NULL, err, errlen);
    if (rc) return rc;
    if (things__product(t, pk))
        return things__fail(err, errlen, VG_EEXIST, "product \"%s\" was added already", pk);
    things__product_t *p = calloc(1, sizeof *p);
    if (!p || !(p->pk = strdup(pk))) {
        free(p);
        return things__fail(err, errlen, VG_ENOMEM, "out of memory");
    }
    if ((rc = things__tsl_parse(pk, tsl_json, &p->tsl, err, errlen)) != 0 ||
        (rc = things__ext_info(ext_info_json, &p->ext_info, err, errlen)) != 0 ||
        (rc = things__map_put(&t->products, &p->node, p->pk)) != 0) {
        if (rc == VG_ENOMEM) things__fail(err, errlen, rc, "out of memory");
        things__product_free(p);
        return rc;
    }
    p->next = t->product_list;
    t->product_list = p;
    t->nproducts++;
    return 0;
}

int things_set_product(things_t *t, const char *pk, const char *tsl_json, const char *ext_info_json,
                       char *err, size_t errlen)
{
    things__product_t *p = things__product(t, pk);
    if (!p) return things_add_product(t, pk, tsl_json, ext_info_json, err, errlen);
    things__tsl_t *tsl = NULL;
    char *ext = NULL;
    int rc = things__tsl_parse(pk, tsl_json, &tsl, err, errlen);
    if (!rc) rc = things__ext_info(ext_info_json, &ext, err, errlen);
    if (!rc && (rc = things__vec_push(&t->retired_tsls, p->tsl)) != 0)
        things__fail(err, errlen, rc, "out of memory");
    if (rc) {
        things__tsl_free(tsl);
        free(ext);
        return rc;
    }
    p->tsl = tsl;
    free(p->ext_info);
    p->ext_info = ext;
    return 0;
}

const char *things_product_tsl(things_t *t, const char *pk)
{
    things__product_t *p = things__product(t, pk);
    return p ? p->tsl->text : NULL;
}

const char *things_product_ext_info(things_t *t, const char *pk)
{
    things__product_t *p = things__product(t, pk);
    return p ? p->ext_info : NULL;
}

size_t things_product_count(const things_t *t)
{
    return t->nproducts;
}

/* --- devices -----------------------------------------------------------------------------------
 */

static void things__device_free(things_device_t *d)
{
    things__cache_free_device(d);
    json_decref(d->tags);
    json_decref(d->custom);
    free(d->pk);
    free(d->dn);
    free(d->cloud_id);
    free(d->local_id);
    free(d->local_key);
    free(d->driver);
    free(d->topic);
    free(d->source);
    free(d);
}

/* Checks tags (an object of strings) and custom (an object); NULL is {}. */
static int things__device_json(json_t *tags, json_t *custom, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    if (tags && !json_is_object(tags))
        return things__fail(err, errlen, VG_EINVAL, "tags: expected an object of strings");
    json_object_foreach(tags, key, v)
    {
        if (!json_is_string(v)) {
            char brief[64];
            things__json_brief(v, brief, sizeof brief);
            return things__fail(err, errlen, VG_EINVAL, "tags.%s = %s: expected a string", key,
                                brief);
        }
    }
    if (custom && !json_is_object(custom))
        return things__fail(err, errlen, VG_EINVAL, "custom: expected an object");
    return 0;
}

/* Allocates the device with its strings; NULL when out of memory. */
static things_device_t *things__device_new(things__product_t *p, const char *dn,
                                           const char *local_id, const char *driver, json_t *tags,
                                           json_t *custom)
{
    things_device_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->product = p;
    things__map_init(&d->cache);
    d->tags = tags ? json_incref(tags) : json_object();
    d->custom = custom ? json_incref(custom) : json_object();
    d->pk = strdup(p->pk);
    d->dn = strdup(dn);
    d->local_id = strdup(local_id);
    d->driver = strdup(driver);
    if (asprintf(&d->cloud_id, "%s_%s", p->pk, dn) < 0) d->cloud_id = NULL;
    if (asprintf(&d->local_key, "%s/%s", p->pk, local_id) < 0) d->local_key = NULL;
    if (asprintf(&d->topic, "/sys/%s/%s/thing/event/property/post", p->pk, dn) < 0) d->topic = NULL;
    if (asprintf(&d->source, "device:%s/%s", p->pk, dn) < 0) d->source = NULL;
    if (!d->tags || !d->custom || !d->pk || !d->dn || !d->local_id || !d->driver || !d->cloud_id ||
        !d->local_key || !d->topic || !d->source) {
        things__device_free(d);
        return NULL;
    }
    return d;
}

int things_add_device_local(things_t *t, const char *pk, const char *dn, const char *local_id,
                            const char *driver, json_t *tags, json_t *custom, char *err,
                            size_t errlen)
{
    int rc;
    local_id = local_id ? local_id : dn;
    if ((rc = things__name_ok(pk, THINGS__PK, NULL, err, errlen)) ||
        (rc = things__name_ok(dn, THINGS__DN, NULL, err, errlen)) ||
        (rc = things__name_ok(local_id, THINGS__DN, "local id", err, errlen)) ||
        (rc = things__name_ok(driver, THINGS__DRIVER, NULL, err, errlen)) ||
        (rc = things__device_json(tags, custom, err, errlen)))
        return rc;
    things__product_t *p = things__product(t, pk);
    if (!p)
        return things__fail(err, errlen, VG_ENOENT,
                            "device %s/%s: no product \"%s\"; add the product first", pk, dn, pk);
    things_device_t *d = things__device_new(p, dn, local_id, driver, tags, custom);
    if (!d) return things__fail(err, errlen, VG_ENOMEM, "out of memory");
    things__node_t *other = things__map_get(&t->devices, d->cloud_id, strlen(d->cloud_id));
    things__node_t *local = things__map_get(&t->locals, d->local_key, strlen(d->local_key));
    if (other) {
        things_device_t *o = THINGS__CONTAINER(other, things_device_t, node);
        rc = strcmp(o->pk, pk) == 0 && strcmp(o->dn, dn) == 0
                 ? things__fail(err, errlen, VG_EEXIST, "device %s/%s was added already", pk, dn)
                 : things__fail(err, errlen, VG_EEXIST,
                                "device %s/%s: its cloud id \"%s\" is that of device %s/%s", pk, dn,
                                d->cloud_id, o->pk, o->dn);
    } else if (local) {
        things_device_t *o = THINGS__CONTAINER(local, things_device_t, local_node);
        rc = things__fail(err, errlen, VG_EEXIST,
                          "device %s/%s: local id \"%s\" is that of device %s/%s already", pk, dn,
                          local_id, o->pk, o->dn);
    } else if ((rc = things__cache_load(t, d)) != 0) {
        things__fail(err, errlen, rc, "device %s/%s: reading its stored state failed", pk, dn);
    } else if ((rc = things__vec_push(&t->devs, d)) != 0) {
        things__fail(err, errlen, rc, "out of memory");
    } else if ((rc = things__map_put(&t->devices, &d->node, d->cloud_id)) != 0) {
        t->devs.len--;
        things__fail(err, errlen, rc, "out of memory");
    } else if ((rc = things__map_put(&t->locals, &d->local_node, d->local_key)) != 0) {
        things__map_del(&t->devices, &d->node);
        t->devs.len--;
        things__fail(err, errlen, rc, "out of memory");
    }
    if (rc) {
        things__device_free(d);
        return rc;
    }
    things__cache_touch_device(t, d); /* a new row, or a changed driver or local id */
    return 0;
}

int things_add_device(things_t *t, const char *pk, const char *dn, const char *driver, json_t *tags,
                      json_t *custom, char *err, size_t errlen)
{
    return things_add_device_local(t, pk, dn, NULL, driver, tags, custom, err, errlen);
}

int things_remove_device(things_t *t, const char *pk, const char *dn)
{
    things_device_t *d = things_device_find(t, pk, dn);
    if (!d) return VG_ENOENT;
    if (things__vec_push(&t->retired, d)) return VG_ENOMEM;
    things_device_set_offline(t, d);
    things__map_del(&t->devices, &d->node);
    things__map_del(&t->locals, &d->local_node);
    for (size_t i = 0; i < t->devs.len; i++) {
        if (t->devs.items[i] != d) continue;
        memmove(&t->devs.items[i], &t->devs.items[i + 1],
                (t->devs.len - i - 1) * sizeof t->devs.items[0]);
        t->devs.len--;
        break;
    }
    return 0;
}

things_device_t *things_device_find_cloud(things_t *t, const char *cloud_id)
{
    things__node_t *n = cloud_id ? things__map_get(&t->devices, cloud_id, strlen(cloud_id)) : NULL;
    return n ? THINGS__CONTAINER(n, things_device_t, node) : NULL;
}

/* Builds "<pk><sep><name>" in buf; returns its length, or 0 when a part is too long. */
static size_t things__key(char *buf, size_t len, const char *pk, char sep, const char *name)
{
    if (!pk || !name) return 0;
    int w = snprintf(buf, len, "%s%c%s", pk, sep, name);
    return w > 0 && (size_t)w < len ? (size_t)w : 0;
}

things_device_t *things_device_find(things_t *t, const char *pk, const char *dn)
{
    char key[2 * THINGS_NAME_MAX + 2];
    size_t n = things__key(key, sizeof key, pk, '_', dn);
    things__node_t *node = n ? things__map_get(&t->devices, key, n) : NULL;
    things_device_t *d = node ? THINGS__CONTAINER(node, things_device_t, node) : NULL;
    /* "a_b" + "c" and "a" + "b_c" share a cloud id; only one of them can be added. */
    return d && strcmp(d->pk, pk) == 0 && strcmp(d->dn, dn) == 0 ? d : NULL;
}

things_device_t *things_device_find_local(things_t *t, const char *pk, const char *local_id)
{
    char key[2 * THINGS_NAME_MAX + 2];
    size_t n = things__key(key, sizeof key, pk, '/', local_id);
    things__node_t *node = n ? things__map_get(&t->locals, key, n) : NULL;
    return node ? THINGS__CONTAINER(node, things_device_t, local_node) : NULL;
}

size_t things_device_count(const things_t *t)
{
    return t->devs.len;
}

void things_device_each(things_t *t, things_device_fn fn, void *data)
{
    for (size_t i = 0; i < t->devs.len; i++)
        fn(data, t->devs.items[i]);
}

int things_device_set_online(things_t *t, things_device_t *d, void *port,
                             const things_port_ops_t *ops)
{
    if (!port || !ops || !ops->call_service) return VG_EINVAL;
    d->port = port;
    d->ops = ops;
    d->online = 1;
    d->last_online_ms = d->last_link_ms = vg_time_ms();
    things__cache_touch_device(t, d);
    return 0;
}

void things_device_set_offline(things_t *t, things_device_t *d)
{
    if (!d->online) return;
    d->port = NULL;
    d->ops = NULL;
    d->online = 0;
    d->last_offline_ms = vg_time_ms();
    things__cache_touch_device(t, d);
}

void things__registry_free(things_t *t)
{
    for (size_t i = 0; i < t->devs.len; i++)
        things__device_free(t->devs.items[i]);
    things__vec_close(&t->devs);
    for (size_t i = 0; i < t->retired.len; i++)
        things__device_free(t->retired.items[i]);
    things__vec_close(&t->retired);
    for (size_t i = 0; i < t->retired_tsls.len; i++)
        things__tsl_free(t->retired_tsls.items[i]);
    things__vec_close(&t->retired_tsls);
    for (things__product_t *p = t->product_list, *next; p; p = next) {
        next = p->next;
        things__product_free(p);
    }
    t->product_list = NULL;
    things__map_close(&t->products);
    things__map_close(&t->devices);
    things__map_close(&t->locals);
}

/* --- accessors ---------------------------------------------------------------------------------
 */

const char *things_device_product_key(const things_device_t *d)
{
    return d->pk;
}
const char *things_device_name(const things_device_t *d)
{
    return d->dn;
}
const char *things_device_local_id(const things_device_t *d)
{
    return d->local_id;
}
const char *things_device_driver(const things_device_t *d)
{
    return d->driver;
}
const char *things_device_cloud_id(const things_device_t *d)
{
    return d->cloud_id;
}
json_t *things_device_tags(const things_device_t *d)
{
    return d->tags;
}
json_t *things_device_custom(const things_device_t *d)
{
    return d->custom;
}
int things_device_is_online(const things_device_t *d)
{
    return d->online;
}
int things_device_cloud_state(const things_device_t *d)
{
    (void)d;
    return 0;
}
int64_t things_device_last_online_ms(const things_device_t *d)
{
    return d->last_online_ms;
}
int64_t things_device_last_cloud_online_ms(const things_device_t *d)
{
    (void)d;
    return 0;
}
int64_t things_device_last_link_ms(const things_device_t *d)
{
    return d->last_link_ms;
}
int64_t things_device_last_offline_ms(const things_device_t *d)
{
    return d->last_offline_ms;
}
int64_t things_device_created_ms(const things_device_t *d)
{
    return d->created_ms;
}

json_t *things_product_event(things_t *t, const char *pk, const char *event)
{
    things__product_t *p = things__product(t, pk);
    return p && p->tsl ? json_object_get(p->tsl->events, event) : NULL;
}
