/* clang-format off */
/* bus_bench.c: publishes per second through the bus with 10,000 subscriptions in an Alink-like
 * mix (exact device topics, per-device '#', per-product '+', a few global routes), side by side
 * with a linear scan of the same filters with bus_match (a routing table without the trie).
 * Build and run from the repository root (sh; [a-z]*.c is every .c file of the folder):
 * cc -O2 -std=c11 -D_GNU_SOURCE -Iruntime tests/bench/bus_bench.c runtime/bus/[a-z]*.c runtime/core/[a-z]*.c $(pkg-config --cflags --libs libuv jansson) -o /tmp/bus_bench && /tmp/bus_bench
 */
/* clang-format on */
#include "bus/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRODUCTS 100
#define DEVICES  100 /* per product */
#define NSUBS    10000
#define NMSGS    4096 /* distinct messages, published round robin */
#define SECONDS  1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char filters[NSUBS][80];

/* The 10,000 filters: what routes and functions of a gateway with 10,000 devices subscribe.
 * Each entry is {count, format}; the format gets (product, index / PRODUCTS). */
static const struct {
    int count;
    const char *format;
} mix[] = {
    {6790, "/sys/pk%d/dn%d/thing/event/property/post"}, /* one device's property reports */
    {2000, "/sys/pk%d/dn%d/#"},                         /* everything of one device */
    {1000, "/sys/pk%d/+/thing/event/ev%d/post"},        /* one event of a product's devices */
    {200, "/sys/pk%d/+/thing/event/property/post"},     /* a product's reports (2 functions) */
    {5, "/sys/+/+/thing/event/property/post"},          /* global routes */
    {3, "/sys/+/+/thing/event/+/post"},
    {2, "/sys/#"},
};

static void make_filters(void)
{
    int n = 0;
    for (size_t k = 0; k < sizeof mix / sizeof mix[0]; k++)
        for (int i = 0; i < mix[k].count && n < NSUBS; i++)
            snprintf(filters[n++], sizeof filters[0], mix[k].format, i % PRODUCTS,
                     (k == 1 ? 60 : 0) + i / PRODUCTS);
}

/* Random device reports: 80% properties, 20% one of 20 events (half of them routed). */
static void make_topic(uint64_t *rng, char *out, size_t size)
{
    unsigned pk = (unsigned)(rng_next(rng) % PRODUCTS), dn = (unsigned)(rng_next(rng) % DEVICES);
    unsigned kind = (unsigned)(rng_next(rng) % 100);
    if (kind < 80)
        snprintf(out, size, "/sys/pk%u/dn%u/thing/event/property/post", pk, dn);
    else
        snprintf(out, size, "/sys/pk%u/dn%u/thing/event/ev%u/post", pk, dn, kind % 20);
}

static void count_cb(void *data, bus_msg_t *m)
{
    (void)m;
    (*(uint64_t *)data)++;
}

int main(void)
{
    uv_loop_t loop;
    vg_ctx_t ctx;
    vg_config_t cfg;
    bus_t *bus;
    uint64_t delivered = 0, rng = 0x9e3779b97f4a7c15u;
    static bus_msg_t *msgs[NMSGS];

    uv_loop_init(&loop);
    vg_config_defaults(&cfg);
    if (vg_ctx_init(&ctx, &loop, &cfg) || bus_create(&ctx, &bus)) return 1;
    make_filters();
    for (int i = 0; i < NSUBS; i++) {
        bus_sub_t *s;
        if (bus_subscribe(bus, filters[i], count_cb, &delivered, &s)) return 1;
    }
    for (int i = 0; i < NMSGS; i++) {
        char topic[96];
        make_topic(&rng, topic, sizeof topic);
        msgs[i] = bus_msg_create(topic, "device:bench", "{\"Temperature\":{\"value\":21.5}}", 31);
    }

    /* 1. bus_publish of prepared messages. */
    uint64_t pubs = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < NMSGS; i++)
            bus_publish(bus, msgs[i]);
        pubs += NMSGS;
    } while ((t = now_s() - t0) < SECONDS);
    double trie_rate = (double)pubs / t;
    printf("trie, %d subscriptions: %.0f publishes/s, %.0f deliveries/s (%.2f per publish), "
           "%.0f ns per publish\n",
           NSUBS, trie_rate, (double)delivered / t, (double)delivered / (double)pubs,
           1e9 / trie_rate);

    /* 2. The message's whole life: create (the one copy), publish, unref. */
    uint64_t lives = 0;
    t0 = now_s();
    do {
        for (int i = 0; i < NMSGS; i++) {
            bus_msg_t *m =
                bus_msg_create(msgs[i]->topic, msgs[i]->source, msgs[i]->payload, msgs[i]->len);
            bus_publish(bus, m);
            bus_msg_unref(m);
        }
        lives += NMSGS;
    } while ((t = now_s() - t0) < SECONDS);
    printf("trie, create + publish + unref: %.0f messages/s\n", (double)lives / t);

    /* 3. The peer: a linear scan of the same filters with bus_match. */
    uint64_t scans = 0, matches = 0;
    t0 = now_s();
    do {
        for (int i = 0; i < 64; i++, scans++)
            for (int f = 0; f < NSUBS; f++)
                matches += (uint64_t)bus_match(filters[f], msgs[scans % NMSGS]->topic);
    } while ((t = now_s() - t0) < SECONDS);
    double scan_rate = (double)scans / t;
    printf(
        "linear bus_match scan: %.0f publishes/s (%.2f matches per publish); trie/scan = %.0fx\n",
        scan_rate, (double)matches / (double)scans, trie_rate / scan_rate);

    for (int i = 0; i < NMSGS; i++)
        bus_msg_unref(msgs[i]);
    bus_destroy(bus);
    vg_ctx_close(&ctx);
    uv_loop_close(&loop);
    return 0;
}
