/* bus_int.h: the bus struct and what the files of the bus module share: bus.c (messages,
 * subscriptions, delivery), trie.c (the subscription trie and its matching walk) and topic.c
 * (filter and topic rules). Not for other modules; tests use the bus__ hooks at the end. */
#ifndef VG_BUS_BUS_INT_H
#define VG_BUS_BUS_INT_H

#include "bus/bus.h"

#define BUS__DEPTH_MAX 16    /* publishes nested deeper than this are a routing loop */
#define BUS__LEN_MAX   65535 /* bytes in a filter or a topic (MQTT's limit) */
#define BUS__KIDS_LIST 8     /* up to this many exact children: a list; more: a hash table */

/* One topic level. Exact children are found by name; '+' and '#' have their own slots. */
typedef struct bus__node {
    struct bus__node *parent; /* NULL for the root */
    struct bus__node *plus;   /* the '+' child */
    struct bus__node *hash;   /* the '#' child (always a leaf) */
    struct bus__node **kids;  /* capkids <= BUS__KIDS_LIST: the first nkids slots, packed;
                                 more: open addressing with linear probing, NULL = free */
    uint32_t nkids, capkids;
    bus_sub_t *subs, *last; /* subscriptions ending here, oldest first */
    uint32_t h;             /* the name hashed with BUS__HASH_INIT/STEP */
    uint32_t len;
    char name[]; /* the level, not NUL-terminated; "" for the root and '+'/'#' nodes */
} bus__node_t;

struct bus_sub {
    bus_sub_t *prev, *next; /* the node's list */
    bus_sub_t *dead_next;   /* the bus's list of subscriptions to free */
    bus__node_t *node;
    bus_deliver_fn fn;
    void *data;
    uint64_t id; /* creation order: deliveries skip ids at or above the publish's limit */
    int dead;    /* unsubscribed; freed once no publish is running */
};

/* A growable array of node pointers; kept between publishes so matching does not allocate. */
typedef struct bus__vec {
    bus__node_t **v;
    size_t n, cap;
} bus__vec_t;

/* What one publish (at one nesting depth) matched: the nodes visited and those that match. */
typedef struct bus__scratch {
    bus__vec_t walk, hits;
} bus__scratch_t;

struct bus {
    vg_ctx_t *ctx;
    bus__node_t *root;
    size_t nsubs;  /* live subscriptions */
    size_t nnodes; /* trie nodes, the root included */
    uint64_t next_id;
    int depth;       /* publishes running now (nested) */
    int loop_logged; /* the depth limit was logged during the running outermost publish */
    bus_sub_t *dead; /* unsubscribed during a delivery, freed after the outermost publish */
    vg_series_t *published, *delivered, *subscriptions;
    bus__scratch_t scratch[BUS__DEPTH_MAX];
};

/* The hash of a level (FNV-1a), built a byte at a time so the walk hashes while it scans. */
#define BUS__HASH_INIT       2166136261u
#define BUS__HASH_STEP(h, c) (((h) ^ (uint8_t)(c)) * 16777619u)

/* trie.c */
/* Creates the root. Returns 0 or VG_ENOMEM. */
int bus__trie_init(bus_t *b);
/* Frees every node and every subscription still attached (without a recursion). */
void bus__trie_free(bus_t *b);
/* Returns the node of the (valid) `filter`, creating the missing levels, or NULL when out of
 * memory (then nothing is changed). */
bus__node_t *bus__trie_insert(bus_t *b, const char *filter);
/* Frees `n` and its ancestors while they hold no subscription and no child (never the root).
 * Only for nodes no running publish can reach: those of bus__trie_insert, or after delivery. */
void bus__trie_prune(bus_t *b, bus__node_t *n);
/* Collects in sc->hits the nodes whose subscriptions match the (valid) `topic`, walking the
 * topic once, level by level. Returns 0 or VG_ENOMEM. */
int bus__trie_match(const bus_t *b, const char *topic, bus__scratch_t *sc);

/* Test hooks. */
/* Number of trie nodes, the root included (1 for an empty bus). */
size_t bus__nodes(const bus_t *b);

#endif
