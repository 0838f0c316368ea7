/* bus.h: publish/subscribe inside the runtime. Topics are '/'-separated levels as in MQTT;
 * subscriptions use MQTT filters ('+' one level, '#' the rest, last) matched by a trie.
 * Messages are reference counted and delivered to every match without copying the payload.
 * Loop-thread only. */
#ifndef VG_BUS_BUS_H
#define VG_BUS_BUS_H

#include "core/ctx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bus bus_t;
typedef struct bus_sub bus_sub_t;

typedef struct bus_msg {
    int refs;
    char *topic;   /* NUL-terminated, owned */
    char *source;  /* who published: "device:<pk>/<dn>", "function:<svc>/<fn>", "api"... */
    char *payload; /* `len` bytes, NUL-terminated for convenience, owned */
    size_t len;
    int64_t time_ms; /* when it was published (wall clock) */
} bus_msg_t;

/* Creates a message with one reference, copying topic, source and payload (the one copy a
 * message ever gets: a single allocation holds the struct and the three strings). A NULL
 * `source` becomes "". time_ms is now. The topic is checked by bus_publish, not here.
 * Returns NULL when out of memory. */
bus_msg_t *bus_msg_create(const char *topic, const char *source, const void *payload, size_t len);
/* Adds a reference; returns `m`. */
bus_msg_t *bus_msg_ref(bus_msg_t *m);
/* Drops a reference; frees the message with the last one. NULL is a no-op. */
void bus_msg_unref(bus_msg_t *m);

/* Called for each message matching a subscription. `m` is borrowed for the call: take a
 * reference to keep it. The callback may publish, subscribe and unsubscribe (itself too). */
typedef void (*bus_deliver_fn)(void *data, bus_msg_t *m);

/* Creates an empty bus on `ctx` (which must outlive it) and declares its metrics in
 * ctx->metrics: verge_bus_published_total, verge_bus_delivered_total and the gauge
 * verge_bus_subscriptions. Returns 0 and *out, or VG_ENOMEM. */
int bus_create(vg_ctx_t *ctx, bus_t **out);
/* Frees the bus and every subscription still on it (their handles become invalid). NULL is a
 * no-op. Not from inside a delivery. */
void bus_destroy(bus_t *b);

/* Returns 1 when `filter` is a valid MQTT filter: non-empty, at most 65535 bytes, '+' and '#'
 * only as whole levels, '#' only last. Otherwise 0 and, when `why` is not NULL, a reason. */
int bus_filter_valid(const char *filter, const char **why);
/* Returns 1 when `topic` is a valid topic to publish: non-empty, at most 65535 bytes, no '+' or
 * '#'. Levels may be empty ("/sys/..." starts with one). Bytes are not checked for UTF-8. */
int bus_topic_valid(const char *topic);
/* Returns 1 when `topic` matches `filter` (both valid), by MQTT's rules: '+' matches one level,
 * empty ones too; "a/#" matches "a" and everything below it; a '+' or '#' first level does not
 * match topics starting with '$' ("#" does not match "$SYS/x", "$SYS/#" does). */
int bus_match(const char *filter, const char *topic);

/* Subscribes `fn(data, msg)` to `filter`. Returns 0 and *out (a handle for bus_unsubscribe),
 * VG_EINVAL for an invalid filter or a NULL `fn`, or VG_ENOMEM (nothing changed). The same
 * (fn, data) may subscribe several filters; a message matching several of them is delivered
 * once per subscription. Made inside a delivery, the subscription does not get the messages
 * whose publish is running; it gets those published after, nested publishes included. */
int bus_subscribe(bus_t *b, const char *filter, bus_deliver_fn fn, void *data, bus_sub_t **out);
/* Removes a subscription; `s` is invalid afterwards. NULL is a no-op. Safe from inside a
 * delivery, for any subscription, itself included: it gets no further messages, and its memory
 * (and the trie levels only it used) is freed when the outermost publish returns. */
void bus_unsubscribe(bus_t *b, bus_sub_t *s);

/* Delivers `m` to every matching subscription, synchronously, in subscription order per trie
 * node; nodes come level by level as the topic is walked ("#" before "a/#" before "a/b"), an
 * exact level before '+'. The caller keeps its reference. Returns the number of deliveries,
 * VG_EINVAL for an invalid topic, VG_ENOMEM (nobody got it), or VG_ELIMIT when publishes nest
 * deeper than 16 (a routing loop; logged once per outermost publish). */
int bus_publish(bus_t *b, bus_msg_t *m);

/* Number of live subscriptions (for metrics and tests). */
size_t bus_subscriptions(const bus_t *b);

#endif
