/* map.h: the things module's string-keyed hash table. Intrusive: the nodes live inside the
 * structs they index (products, devices, properties, cached values), so a lookup allocates
 * nothing and a struct may sit in several tables. Keys are borrowed from the struct. */
#ifndef VG_THINGS_MAP_H
#define VG_THINGS_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct things__node {
    struct things__node *next;
    const char *key; /* NUL-terminated, owned by the struct holding the node */
    size_t keylen;
    uint32_t hash;
} things__node_t;

typedef struct things__map {
    things__node_t **buckets; /* NULL while empty */
    size_t mask;              /* buckets - 1 */
    size_t count;
} things__map_t;

/* The struct of type `type` whose member `member` is the node `n`. */
#define THINGS__CONTAINER(n, type, member) ((type *)(void *)((char *)(n)-offsetof(type, member)))

/* Initializes an empty map (allocates nothing). */
void things__map_init(things__map_t *m);
/* Frees the bucket array; the nodes are the caller's. */
void things__map_close(things__map_t *m);
/* The node with key `key` (`len` bytes, no NUL needed), or NULL. */
things__node_t *things__map_get(const things__map_t *m, const char *key, size_t len);
/* Inserts `n` under `key` (NUL-terminated, must outlive the node's membership). Returns 0,
 * VG_EEXIST (a node has that key; nothing changed) or VG_ENOMEM. */
int things__map_put(things__map_t *m, things__node_t *n, const char *key);
/* Removes `n`, which must be in `m`. */
void things__map_del(things__map_t *m, things__node_t *n);
/* Calls fn(data, node) for every node; fn may free the node it is given (not others). */
void things__map_each(things__map_t *m, void (*fn)(void *data, things__node_t *n), void *data);

#endif
