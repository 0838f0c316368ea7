/* bus.c: messages, subscriptions and delivery. A publish first collects the trie nodes that
 * match, then calls their subscriptions. Unsubscribing during a delivery only marks the
 * subscription; the outermost publish frees it, and prunes the trie, when it returns. */
#define VG_LOG_MODULE "bus"
#include "bus/bus_int.h"
#include "core/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

bus_msg_t *bus_msg_create(const char *topic, const char *source, const void *payload, size_t len)
{
    if (!source) source = "";
    size_t tlen = strlen(topic), slen = strlen(source);
    if (len > SIZE_MAX / 2) return NULL;
    bus_msg_t *m = malloc(sizeof *m + len + 1 + tlen + 1 + slen + 1); /* the one copy */
    if (!m) return NULL;
    m->refs = 1;
    m->payload = (char *)(m + 1);
    m->topic = m->payload + len + 1;
    m->source = m->topic + tlen + 1;
    if (len) memcpy(m->payload, payload, len);
    m->payload[len] = '\0';
    memcpy(m->topic, topic, tlen + 1);
    memcpy(m->source, source, slen + 1);
    m->len = len;
    m->time_ms = vg_time_ms();
    return m;
}

bus_msg_t *bus_msg_ref(bus_msg_t *m)
{
    m->refs++;
    return m;
}

void bus_msg_unref(bus_msg_t *m)
{
    if (!m) return;
    assert(m->refs > 0);
    if (--m->refs == 0) free(m);
}

static vg_series_t *bus__series(vg_metrics_t *mt, const char *name, vg_metric_type_t type,
                                const char *help)
{
    return vg_metrics_declare(mt, name, type, help) ? NULL : vg_metrics_series(mt, name, NULL);
}

int bus_create(vg_ctx_t *ctx, bus_t **out)
{
    bus_t *b = calloc(1, sizeof *b);
    if (!b) return VG_ENOMEM;
    b->ctx = ctx;
    b->published = bus__series(ctx->metrics, "verge_bus_published_total", VG_METRIC_COUNTER,
                               "Messages published on the internal bus.");
    b->delivered = bus__series(ctx->metrics, "verge_bus_delivered_total", VG_METRIC_COUNTER,
                               "Messages delivered to bus subscriptions (one per subscription).");
    b->subscriptions = bus__series(ctx->metrics, "verge_bus_subscriptions", VG_METRIC_GAUGE,
                                   "Live bus subscriptions.");
    if (!b->published || !b->delivered || !b->subscriptions || bus__trie_init(b)) {
        bus_destroy(b);
        return VG_ENOMEM;
    }
    *out = b;
    return 0;
}

void bus_destroy(bus_t *b)
{
    if (!b) return;
    if (b->subscriptions) b->subscriptions->value -= (double)b->nsubs;
    bus__trie_free(b);
    for (int i = 0; i < BUS__DEPTH_MAX; i++) {
        free(b->scratch[i].walk.v);
        free(b->scratch[i].hits.v);
    }
    free(b);
}

int bus_subscribe(bus_t *b, const char *filter, bus_deliver_fn fn, void *data, bus_sub_t **out)
{
    if (!fn || !bus_filter_valid(filter, NULL)) return VG_EINVAL;
    bus_sub_t *s = calloc(1, sizeof *s);
    if (!s) return VG_ENOMEM;
    bus__node_t *n = bus__trie_insert(b, filter);
    if (!n) {
        free(s);
        return VG_ENOMEM;
    }
    s->node = n;
    s->fn = fn;
    s->data = data;
    s->id = b->next_id++;
    s->prev = n->last;
    if (n->last)
        n->last->next = s;
    else
        n->subs = s;
    n->last = s;
    b->nsubs++;
    b->subscriptions->value += 1;
    *out = s;
    return 0;
}

/* Unlinks and frees `s`, then prunes the levels nobody uses any more. No publish may run. */
static void bus__sub_free(bus_t *b, bus_sub_t *s)
{
    bus__node_t *n = s->node;
    if (s->prev)
        s->prev->next = s->next;
    else
        n->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        n->last = s->prev;
    free(s);
    bus__trie_prune(b, n);
}

void bus_unsubscribe(bus_t *b, bus_sub_t *s)
{
    if (!s || s->dead) return;
    s->dead = 1;
    b->nsubs--;
    b->subscriptions->value -= 1;
    if (b->depth == 0) {
        bus__sub_free(b, s);
        return;
    }
    s->dead_next = b->dead; /* a running publish may be walking this list */
    b->dead = s;
}

int bus_publish(bus_t *b, bus_msg_t *m)
{
    if (!bus_topic_valid(m->topic)) return VG_EINVAL;
    if (b->depth >= BUS__DEPTH_MAX) {
        if (!b->loop_logged)
            vg_warn(&b->ctx->log,
                    "publish to \"%.200s\" from \"%.200s\" nests deeper than %d publishes: "
                    "dropped (a routing loop?)",
                    m->topic, m->source, BUS__DEPTH_MAX);
        b->loop_logged = 1;
        return VG_ELIMIT;
    }
    bus__scratch_t *sc = &b->scratch[b->depth];
    if (bus__trie_match(b, m->topic, sc)) return VG_ENOMEM;
    uint64_t limit = b->next_id; /* subscriptions made from now on miss this message */
    int count = 0;
    b->depth++;
    for (size_t i = 0; i < sc->hits.n; i++) {
        for (bus_sub_t *s = sc->hits.v[i]->subs; s; s = s->next) {
            if (s->dead || s->id >= limit) continue;
            count++;
            s->fn(s->data, m);
        }
    }
    if (--b->depth == 0) {
        b->loop_logged = 0;
        while (b->dead) {
            bus_sub_t *s = b->dead;
            b->dead = s->dead_next;
            bus__sub_free(b, s);
        }
    }
    b->published->value += 1;
    b->delivered->value += count;
    return count;
}

size_t bus_subscriptions(const bus_t *b)
{
    return b->nsubs;
}
