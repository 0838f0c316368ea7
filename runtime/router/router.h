/* router.h: message routes (DESIGN.md §1). Each route subscribes its topic filter on the bus
 * and forwards the messages whose source it accepts to a function (as the routed-message
 * event) or republishes them on a local topic. The route table is replaced as a whole, so a
 * deployment swaps routes in one step. Loop-thread only. */
#ifndef VG_ROUTER_ROUTER_H
#define VG_ROUTER_ROUTER_H

#include "bundle/bundle.h"
#include "bus/bus.h"
#include "core/ctx.h"
#include "fnhost/fnhost.h"

#include <stddef.h>

typedef struct router router_t;

/* Creates a router with no routes over `bus` and `fns` (both must outlive it). Declares
 * verge_route_messages_total{route,outcome} (outcome: forwarded, refused, failed). Returns 0
 * and *out, or VG_ENOMEM. */
int router_create(vg_ctx_t *ctx, bus_t *bus, fnhost_t *fns, router_t **out);

/* Replaces the route table with copies of `routes[0..n)` (validated by the bundle loader;
 * a route naming a function the host does not have fails each message as "failed"). The new
 * routes are subscribed before the old ones go, so no message published between the two is
 * missed by both; a message being delivered while this runs reaches the old table only.
 * Returns 0, or VG_ENOMEM / VG_EINVAL (a filter the bus refuses, named in `err`) with the old
 * table still in place. */
int router_set(router_t *r, const bundle_route_t *routes, size_t n, char *err, size_t errlen);

/* Number of routes in the table. */
size_t router_count(const router_t *r);

/* Unsubscribes every route and frees the router. NULL is a no-op. Not from inside a delivery. */
void router_destroy(router_t *r);

#endif
