/* things_int.h: what the files of the things module share: the things struct, products,
 * devices, cached values, and the helpers one file offers the others (things.c: life cycle;
 * registry.c: products and devices; cache.c: the property cache and its SQLite flush;
 * report.c: driver reports; request.c: device requests). Not for other modules. */
#ifndef VG_THINGS_INT_H
#define VG_THINGS_INT_H

#include "things/map.h"
#include "things/things.h"
#include "things/tsl.h"

#include <sqlite3.h>
#include <uv.h>

typedef struct things__product {
    things__node_t node;          /* in t->products, by pk */
    struct things__product *next; /* t->product_list */
    char *pk;
    things__tsl_t *tsl;
    char *ext_info; /* compact JSON */
} things__product_t;

/* The latest value of one property of one device. */
typedef struct things__entry {
    things__node_t node; /* in dev->cache, by id */
    things_device_t *dev;
    json_t *value; /* owned reference; never modified */
    int64_t time_ms;
    int dirty; /* listed in t->dirty, waiting for the next flush */
    char id[];
} things__entry_t;

struct things_device {
    things__node_t node;       /* in t->devices, by cloud id */
    things__node_t local_node; /* in t->locals, by "<pk>/<local_id>" */
    things__product_t *product;
    char *pk, *dn, *cloud_id, *local_id, *local_key, *driver;
    char *topic;  /* "/sys/<pk>/<dn>/thing/event/property/post" */
    char *source; /* "device:<pk>/<dn>" */
    json_t *tags, *custom;
    int online;
    void *port; /* with ops: set while online */
    const things_port_ops_t *ops;
    int64_t created_ms, last_online_ms, last_offline_ms, last_link_ms;
    things__map_t cache; /* things__entry_t by id */
    int dirty;           /* its row is listed in t->dirty_devs */
};

/* A growable array of pointers. */
typedef struct things__vec {
    void **items;
    size_t len, cap;
} things__vec_t;

/* Appends `p`. Returns 0 or VG_ENOMEM (nothing changed). */
int things__vec_push(things__vec_t *v, void *p);
void things__vec_close(things__vec_t *v);

typedef struct things__req things__req_t;
typedef struct things__ticket things__ticket_t;
typedef struct things__batch things__batch_t;

struct things {
    vg_ctx_t *ctx;
    store_t *st;
    bus_t *bus; /* may be NULL */

    things__map_t products;
    things__product_t *product_list;
    size_t nproducts;
    things__map_t devices; /* by cloud id */
    things__map_t locals;  /* by "<pk>/<local_id>" */
    things__vec_t devs;    /* things_device_t *, in the order added */
    things__vec_t retired; /* removed devices and replaced TSLs: requests in flight and
                              pending flushes may still read them; freed at destroy */
    things__vec_t retired_tsls;

    /* cache.c */
    things__vec_t dirty;               /* things__entry_t * waiting for a flush */
    things__vec_t dirty_devs;          /* things_device_t * whose row waits for a flush */
    sqlite3 *wdb;                      /* the flush worker's own connection */
    sqlite3_stmt *put_prop, *put_dev;  /* on wdb */
    sqlite3_stmt *get_dev, *get_props; /* on the store's connection, for things_add_device */
    uv_timer_t *flush_timer;           /* heap: freed by its close callback */
    int flush_armed;
    things__batch_t *inflight; /* the flush on the threadpool, or NULL */
    int flush_failures;        /* in a row, for the back-off */

    /* request.c */
    things__req_t *reqs;       /* requests not answered yet */
    things__ticket_t *tickets; /* port calls not answered yet */
    things__ticket_t **recent; /* ring of THINGS_RECENT_CALLS answered calls */
    size_t recent_head, recent_len;

    /* metrics (series pointers are stable; NULL without a registry) */
    vg_series_t *m_reports_props, *m_reports_events, *m_flush, *m_pending;
};

/* registry.c */
things__product_t *things__product(things_t *t, const char *pk);
void things__registry_free(things_t *t);

/* cache.c */
/* Migrates the tables, opens the flush connection and prepares the statements. Returns 0,
 * VG_EDB or VG_ENOMEM (logged); things__cache_close undoes a partial open. */
int things__cache_open(things_t *t);
/* Waits for a flush in flight, writes what is pending synchronously, finalizes the statements
 * and closes the flush connection. */
void things__cache_close(things_t *t);
/* Restores the stored row and values of device `d` (just added). Returns 0 (also when there are
 * none), VG_EDB or VG_ENOMEM (then `d` has no cached values). */
int things__cache_load(things_t *t, things_device_t *d);
/* Records `value` (a reference is taken) at `time_ms` as the latest of d's property `id`
 * (`len` bytes) and schedules it for the next flush. Returns 0 or VG_ENOMEM. */
int things__cache_put(things_t *t, things_device_t *d, const char *id, size_t len, json_t *value,
                      int64_t time_ms);
/* The entry of d's property `id`, or NULL. */
things__entry_t *things__cache_entry(things_device_t *d, const char *id);
/* Schedules d's row (times, driver, local id) for the next flush. */
void things__cache_touch_device(things_t *t, things_device_t *d);
/* Frees d's cached values. */
void things__cache_free_device(things_device_t *d);

/* report.c */
/* Returns 1 when `text` (`len` bytes of valid JSON: text a parse accepted) is byte for byte what
 * json_dumps(VG_JSON_FLAGS) writes for the value it parses to: no whitespace, no escape that
 * json_dumps writes otherwise, integers and reals as json_dumps prints them. 0 otherwise, and
 * for forms it does not vouch for (exponents, \u escapes). */
int things__json_compact(const char *text, size_t len);

/* request.c */
/* Answers every waiting request with SERVICE_UNREACHABLE and frees the port tickets. */
void things__requests_close(things_t *t);

#endif
