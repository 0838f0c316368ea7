/* cache.c: the property cache. The latest value and time of every (device, property) live in
 * memory for reads; updates are coalesced per key (latest wins) and written to SQLite every
 * things.cache_flush_ms as one transaction, on libuv's threadpool over a second connection to
 * the store's file, so the loop never waits for the disk. Device rows (their times) ride along. */
#define VG_LOG_MODULE "things"
#include "things/things_int.h"
#include "core/error.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#define THINGS__BUSY_TIMEOUT_MS 5000
#define THINGS__BACKOFF_MAX_MS  60000
#define THINGS__DUMP_STACK      2048

static const store_migration_t things__migrations[] = {
    {1, "CREATE TABLE devices(pk TEXT NOT NULL, dn TEXT NOT NULL, local_id TEXT, driver TEXT,"
        "  created_ms INTEGER, last_online_ms INTEGER, last_offline_ms INTEGER,"
        "  last_link_ms INTEGER, PRIMARY KEY(pk, dn)) WITHOUT ROWID;"
        "CREATE TABLE properties(pk TEXT NOT NULL, dn TEXT NOT NULL, identifier TEXT NOT NULL,"
        "  value TEXT, time_ms INTEGER, PRIMARY KEY(pk, dn, identifier)) WITHOUT ROWID;"},
};

#define THINGS__SQL_GET_DEV                                                                        \
    "SELECT created_ms, last_online_ms, last_offline_ms, last_link_ms FROM devices "               \
    "WHERE pk = ?1 AND dn = ?2"
#define THINGS__SQL_GET_PROPS                                                                      \
    "SELECT identifier, value, time_ms FROM properties WHERE pk = ?1 AND dn = ?2"
#define THINGS__SQL_PUT_DEV                                                                        \
    "INSERT INTO devices(pk, dn, local_id, driver, created_ms, last_online_ms, last_offline_ms, "  \
    "last_link_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(pk, dn) DO UPDATE SET "      \
    "local_id = excluded.local_id, driver = excluded.driver, created_ms = excluded.created_ms, "   \
    "last_online_ms = excluded.last_online_ms, last_offline_ms = excluded.last_offline_ms, "       \
    "last_link_ms = excluded.last_link_ms"
#define THINGS__SQL_PUT_PROP                                                                       \
    "INSERT INTO properties(pk, dn, identifier, value, time_ms) VALUES(?1, ?2, ?3, ?4, ?5) "       \
    "ON CONFLICT(pk, dn, identifier) DO UPDATE SET value = excluded.value, "                       \
    "time_ms = excluded.time_ms"

/* One property value to write; `value` is the batch's own reference. */
typedef struct things__pitem {
    things__entry_t *e;
    json_t *value;
    int64_t time_ms;
} things__pitem_t;

/* One device row to write, its fields copied on the loop. */
typedef struct things__ditem {
    things_device_t *d;
    int64_t created_ms, last_online_ms, last_offline_ms, last_link_ms;
} things__ditem_t;

/* One flush. The worker reads only the items, the immutable names they point to (device and
 * property names never change while things lives) and the flush connection, and writes only
 * rc, err and seconds. `t` is NULL once things was destroyed with the flush in flight. */
struct things__batch {
    uv_work_t work;
    things_t *t;
    sqlite3 *db;
    sqlite3_stmt *put_prop, *put_dev;
    things__pitem_t *props;
    size_t nprops;
    things__ditem_t *devs;
    size_t ndevs;
    int rc;
    char err[256];
    double seconds;
    uv_mutex_t mu; /* done and cv: things_destroy waits for the worker */
    uv_cond_t cv;
    int done;
};

/* --- entries ------------------------------------------------------------------------------- */

things__entry_t *things__cache_entry(things_device_t *d, const char *id)
{
    things__node_t *n = things__map_get(&d->cache, id, strlen(id));
    return n ? THINGS__CONTAINER(n, things__entry_t, node) : NULL;
}

/* The entry of d's property `id` (`len` bytes), created (without a value) when missing. */
static things__entry_t *things__entry_ensure(things_device_t *d, const char *id, size_t len)
{
    things__node_t *n = things__map_get(&d->cache, id, len);
    if (n) return THINGS__CONTAINER(n, things__entry_t, node);
    things__entry_t *e = calloc(1, sizeof *e + len + 1);
    if (!e) return NULL;
    memcpy(e->id, id, len);
    e->dev = d;
    if (things__map_put(&d->cache, &e->node, e->id) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void things__entry_free(void *data, things__node_t *n)
{
    (void)data;
    things__entry_t *e = THINGS__CONTAINER(n, things__entry_t, node);
    json_decref(e->value);
    free(e);
}

void things__cache_free_device(things_device_t *d)
{
    things__map_each(&d->cache, things__entry_free, NULL);
    things__map_close(&d->cache);
}

int things_cache_get(things_t *t, const char *pk, const char *dn, const char *prop, json_t **value,
                     int64_t *time_ms)
{
    things_device_t *d = things_device_find(t, pk, dn);
    things__entry_t *e = d && prop ? things__cache_entry(d, prop) : NULL;
    if (!e || !e->value) return VG_ENOENT;
    if (value) *value = json_incref(e->value);
    if (time_ms) *time_ms = e->time_ms;
    return 0;
}

/* --- scheduling ---------------------------------------------------------------------------- */

static void things__flush_start(uv_timer_t *timer);

/* Most property values one flush takes (the copy runs on the loop: ~8k entries is a few
 * hundred microseconds). */
#define THINGS__BATCH_MAX 8192

static void things__pending_gauge(things_t *t)
{
    if (t->m_pending) t->m_pending->value = (double)t->dirty.len;
}

/* Arms the flush timer when something waits and no flush is in flight or armed; after failures
 * the delay doubles up to a minute. */
static void things__flush_arm(things_t *t)
{
    if (t->flush_armed || t->inflight || !t->flush_timer || (!t->dirty.len && !t->dirty_devs.len))
        return;
    /* A backlog larger than one batch goes on at once; otherwise wait for more values. */
    int64_t delay = t->dirty.len >= THINGS__BATCH_MAX && !t->flush_failures
                        ? 0
                        : t->ctx->cfg.things_cache_flush_ms;
    for (int i = 0; i < t->flush_failures && delay < THINGS__BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > THINGS__BACKOFF_MAX_MS) delay = THINGS__BACKOFF_MAX_MS;
    uv_timer_start(t->flush_timer, things__flush_start, (uint64_t)delay, 0);
    t->flush_armed = 1;
}

int things__cache_put(things_t *t, things_device_t *d, const char *id, size_t len, json_t *value,
                      int64_t time_ms)
{
    things__entry_t *e = things__entry_ensure(d, id, len);
    if (!e) return VG_ENOMEM;
    if (!e->dirty) {
        if (things__vec_push(&t->dirty, e) != 0) return VG_ENOMEM;
        e->dirty = 1;
        things__pending_gauge(t);
    }
    json_incref(value);
    json_decref(e->value);
    e->value = value;
    e->time_ms = time_ms;
    things__flush_arm(t);
    return 0;
}

void things__cache_touch_device(things_t *t, things_device_t *d)
{
    if (!d->dirty) {
        if (things__vec_push(&t->dirty_devs, d) != 0) {
            vg_error(&t->ctx->log, "out of memory: the state of device %s/%s is not saved", d->pk,
                     d->dn);
            return;
        }
        d->dirty = 1;
    }
    things__flush_arm(t);
}

/* --- batches ------------------------------------------------------------------------------- */

static void things__batch_free(things__batch_t *b)
{
    for (size_t i = 0; i < b->nprops; i++)
        json_decref(b->props[i].value);
    free(b->props);
    free(b->devs);
    uv_cond_destroy(&b->cv);
    uv_mutex_destroy(&b->mu);
    free(b);
}

/* Takes up to THINGS__BATCH_MAX pending values (and every pending device row) into a new
 * batch, from the end of the pending list. The copy runs on the loop, so it is bounded: a
 * big backlog leaves in several batches, one right after the other. NULL when out of memory
 * (nothing taken). */
static things__batch_t *things__batch_take(things_t *t)
{
    things__batch_t *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    size_t nprops = t->dirty.len < THINGS__BATCH_MAX ? t->dirty.len : THINGS__BATCH_MAX;
    size_t first = t->dirty.len - nprops;
    b->props = malloc((nprops ? nprops : 1) * sizeof *b->props);
    b->devs = malloc((t->dirty_devs.len ? t->dirty_devs.len : 1) * sizeof *b->devs);
    if (!b->props || !b->devs || uv_mutex_init(&b->mu) != 0) {
        free(b->props);
        free(b->devs);
        free(b);
        return NULL;
    }
    if (uv_cond_init(&b->cv) != 0) {
        uv_mutex_destroy(&b->mu);
        free(b->props);
        free(b->devs);
        free(b);
        return NULL;
    }
    b->t = t;
    b->db = t->wdb;
    b->put_prop = t->put_prop;
    b->put_dev = t->put_dev;
    b->work.data = b;
    for (size_t i = 0; i < nprops; i++) {
        things__entry_t *e = t->dirty.items[first + i];
        b->props[i] = (things__pitem_t){e, json_incref(e->value), e->time_ms};
        e->dirty = 0;
    }
    for (size_t i = 0; i < t->dirty_devs.len; i++) {
        things_device_t *d = t->dirty_devs.items[i];
        b->devs[i] = (things__ditem_t){d, d->created_ms, d->last_online_ms, d->last_offline_ms,
                                       d->last_link_ms};
        d->dirty = 0;
    }
    b->nprops = nprops;
    b->ndevs = t->dirty_devs.len;
    t->dirty.len = first;
    t->dirty_devs.len = 0;
    things__pending_gauge(t);
    return b;
}

/* Puts a failed batch's items back unless newer ones are pending already. */
static void things__batch_requeue(things_t *t, things__batch_t *b)
{
    for (size_t i = 0; i < b->nprops; i++) {
        things__entry_t *e = b->props[i].e;
        if (!e->dirty && things__vec_push(&t->dirty, e) == 0) e->dirty = 1;
    }
    for (size_t i = 0; i < b->ndevs; i++) {
        things_device_t *d = b->devs[i].d;
        if (!d->dirty && things__vec_push(&t->dirty_devs, d) == 0) d->dirty = 1;
    }
    things__pending_gauge(t);
}

/* Resets a statement after use and clears its bindings (no SQLITE_STATIC pointer outlives the
 * call that bound it). */
static void things__reset(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps a bound statement that returns no rows and resets it. Returns 0 or an SQLite error. */
static int things__step(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    things__reset(s);
    return rc == SQLITE_DONE ? 0 : rc;
}

static int things__write_dev(things__batch_t *b, const things__ditem_t *it)
{
    sqlite3_stmt *s = b->put_dev;
    sqlite3_bind_text(s, 1, it->d->pk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, it->d->dn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, it->d->local_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, it->d->driver, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, it->created_ms);
    sqlite3_bind_int64(s, 6, it->last_online_ms);
    sqlite3_bind_int64(s, 7, it->last_offline_ms);
    sqlite3_bind_int64(s, 8, it->last_link_ms);
    return things__step(s);
}

static int things__write_prop(things__batch_t *b, const things__pitem_t *it, char *stack)
{
    sqlite3_stmt *s = b->put_prop;
    char *heap = NULL, *text = stack;
    size_t n = json_dumpb(it->value, stack, THINGS__DUMP_STACK, VG_JSON_FLAGS | JSON_ENCODE_ANY);
    if (n > THINGS__DUMP_STACK) {
        if (!(heap = malloc(n))) return SQLITE_NOMEM;
        n = json_dumpb(it->value, heap, n, VG_JSON_FLAGS | JSON_ENCODE_ANY);
        text = heap;
    }
    sqlite3_bind_text(s, 1, it->e->dev->pk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, it->e->dev->dn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, it->e->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, text, (int)n, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, it->time_ms);
    int rc = things__step(s);
    free(heap);
    return rc;
}

/* Writes the batch in one transaction. Runs on the threadpool (or on the loop at destroy). */
static void things__batch_run(things__batch_t *b)
{
    uint64_t t0 = vg_mono_ns();
    char stack[THINGS__DUMP_STACK];
    int rc = sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < b->ndevs; i++)
        rc = things__write_dev(b, &b->devs[i]);
    for (size_t i = 0; rc == SQLITE_OK && i < b->nprops; i++)
        rc = things__write_prop(b, &b->props[i], stack);
    if (rc == SQLITE_OK) rc = sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(b->err, sizeof b->err, "%s", sqlite3_errmsg(b->db));
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        b->rc = VG_EDB;
    }
    b->seconds = (double)(vg_mono_ns() - t0) / 1e9;
}

static void things__batch_work(uv_work_t *w)
{
    things__batch_t *b = w->data;
    things__batch_run(b);
    uv_mutex_lock(&b->mu);
    b->done = 1;
    uv_cond_signal(&b->cv);
    uv_mutex_unlock(&b->mu);
}

/* Loop side of a finished batch: metrics, log, requeue on failure, next flush. */
static void things__batch_finish(things_t *t, things__batch_t *b)
{
    if (t->m_flush) vg_series_observe(t->m_flush, b->seconds);
    if (b->rc) {
        t->flush_failures++;
        vg_error(&t->ctx->log,
                 "writing %zu property values and %zu device rows to SQLite failed (%s); "
                 "retrying (attempt %d)",
                 b->nprops, b->ndevs, b->err, t->flush_failures + 1);
        things__batch_requeue(t, b);
    } else {
        if (t->flush_failures) vg_info(&t->ctx->log, "writing to SQLite works again");
        t->flush_failures = 0;
    }
}

static void things__batch_done(uv_work_t *w, int status)
{
    things__batch_t *b = w->data;
    things_t *t = b->t;
    if (t) {
        t->inflight = NULL;
        if (status != 0 && !b->rc) { /* canceled: never ran */
            b->rc = VG_ECANCELED;
            snprintf(b->err, sizeof b->err, "%s", uv_strerror(status));
        }
        things__batch_finish(t, b);
        things__flush_arm(t);
    }
    things__batch_free(b);
}

static void things__flush_start(uv_timer_t *timer)
{
    things_t *t = timer->data;
    t->flush_armed = 0;
    if (t->inflight || (!t->dirty.len && !t->dirty_devs.len)) return;
    things__batch_t *b = things__batch_take(t);
    if (!b) {
        vg_error(&t->ctx->log, "out of memory for a cache flush; retrying");
        t->flush_failures++;
        things__flush_arm(t);
        return;
    }
    int rc = uv_queue_work(t->ctx->loop, &b->work, things__batch_work, things__batch_done);
    if (rc != 0) {
        b->rc = VG_EINTERNAL;
        snprintf(b->err, sizeof b->err, "%s", uv_strerror(rc));
        things__batch_finish(t, b);
        things__batch_free(b);
        things__flush_arm(t);
        return;
    }
    t->inflight = b;
}

/* --- loading a device ------------------------------------------------------------------------ */

int things__cache_load(things_t *t, things_device_t *d)
{
    sqlite3_stmt *s = t->get_dev;
    int rc;
    sqlite3_bind_text(s, 1, d->pk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, d->dn, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    d->created_ms = vg_time_ms();
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_int64(s, 0) > 0) d->created_ms = sqlite3_column_int64(s, 0);
        d->last_online_ms = sqlite3_column_int64(s, 1);
        d->last_offline_ms = sqlite3_column_int64(s, 2);
        d->last_link_ms = sqlite3_column_int64(s, 3);
    }
    things__reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) goto fail;

    s = t->get_props;
    sqlite3_bind_text(s, 1, d->pk, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, d->dn, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const char *text = (const char *)sqlite3_column_text(s, 1);
        json_error_t je;
        json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
        things__entry_t *e = id && v ? things__entry_ensure(d, id, strlen(id)) : NULL;
        if (!e) {
            if (id && !v)
                vg_warn(&t->ctx->log, "device %s/%s: stored value of %s is not JSON; ignored",
                        d->pk, d->dn, id);
            json_decref(v);
            continue;
        }
        json_decref(e->value);
        e->value = v;
        e->time_ms = sqlite3_column_int64(s, 2);
    }
    things__reset(s);
    if (rc == SQLITE_DONE) return 0;
fail:
    vg_error(&t->ctx->log, "device %s/%s: reading its stored state failed: %s", d->pk, d->dn,
             sqlite3_errmsg(store_db(t->st)));
    things__cache_free_device(d);
    return VG_EDB;
}

/* --- open and close ------------------------------------------------------------------------ */

static int things__prepare(things_t *t, sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) == SQLITE_OK)
        return 0;
    vg_error(&t->ctx->log, "preparing \"%s\" failed: %s", sql, sqlite3_errmsg(db));
    return VG_EDB;
}

/* Opens the flush worker's connection to the store's file. */
static int things__open_writer(things_t *t)
{
    const char *path = sqlite3_db_filename(store_db(t->st), "main");
    if (!path || !*path) {
        vg_error(&t->ctx->log, "the property cache needs the store in a file, not in memory");
        return VG_EDB;
    }
    int rc = sqlite3_open_v2(path, &t->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(t->wdb, THINGS__BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(t->wdb, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        vg_error(&t->ctx->log, "opening %s for the property cache failed: %s", path,
                 t->wdb ? sqlite3_errmsg(t->wdb) : sqlite3_errstr(rc));
        return VG_EDB;
    }
    return 0;
}

int things__cache_open(things_t *t)
{
    sqlite3 *db = store_db(t->st);
    int rc = store_migrate(t->st, "things", things__migrations,
                           sizeof things__migrations / sizeof things__migrations[0]);
    if (rc || (rc = things__prepare(t, db, THINGS__SQL_GET_DEV, &t->get_dev)) ||
        (rc = things__prepare(t, db, THINGS__SQL_GET_PROPS, &t->get_props)) ||
        (rc = things__open_writer(t)) ||
        (rc = things__prepare(t, t->wdb, THINGS__SQL_PUT_DEV, &t->put_dev)) ||
        (rc = things__prepare(t, t->wdb, THINGS__SQL_PUT_PROP, &t->put_prop)))
        return rc == VG_EINVAL ? VG_EDB : rc;
    if (!(t->flush_timer = malloc(sizeof *t->flush_timer))) return VG_ENOMEM;
    uv_timer_init(t->ctx->loop, t->flush_timer);
    t->flush_timer->data = t;
    return 0;
}

static void things__free_handle(uv_handle_t *h)
{
    free(h);
}

void things__cache_close(things_t *t)
{
    if (t->flush_timer) uv_close((uv_handle_t *)t->flush_timer, things__free_handle);
    t->flush_timer = NULL;
    t->flush_armed = 0;
    things__batch_t *b = t->inflight;
    if (b) { /* let the worker finish; its done callback frees the batch later */
        uv_mutex_lock(&b->mu);
        while (!b->done)
            uv_cond_wait(&b->cv, &b->mu);
        uv_mutex_unlock(&b->mu);
        b->t = NULL;
        t->inflight = NULL;
        things__batch_finish(t, b);
    }
    while (t->wdb && (t->dirty.len || t->dirty_devs.len) && !t->flush_failures) {
        if ((b = things__batch_take(t)) != NULL) {
            things__batch_run(b);
            if (b->rc) t->flush_failures++;
            if (b->rc)
                vg_error(&t->ctx->log,
                         "writing %zu property values and %zu device rows to SQLite at "
                         "shutdown failed: %s",
                         b->nprops, b->ndevs, b->err);
            else if (t->m_flush)
                vg_series_observe(t->m_flush, b->seconds);
            things__batch_free(b);
        } else {
            vg_error(&t->ctx->log, "out of memory: %zu property values are not saved",
                     t->dirty.len);
            break;
        }
    }
    sqlite3_finalize(t->get_dev);
    sqlite3_finalize(t->get_props);
    sqlite3_finalize(t->put_dev);
    sqlite3_finalize(t->put_prop);
    t->get_dev = t->get_props = t->put_dev = t->put_prop = NULL;
    sqlite3_close(t->wdb);
    t->wdb = NULL;
    things__vec_close(&t->dirty);
    things__vec_close(&t->dirty_devs);
}
