/* map.c: the intrusive hash table of map.h: FNV-1a hashes, chained buckets, a power-of-two
 * bucket array that doubles when the table holds as many nodes as buckets. */
#include "things/map.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define THINGS__MAP_MIN 16

static uint32_t things__hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 16777619u;
    }
    return h;
}

void things__map_init(things__map_t *m)
{
    memset(m, 0, sizeof *m);
}

void things__map_close(things__map_t *m)
{
    free(m->buckets);
    things__map_init(m);
}

things__node_t *things__map_get(const things__map_t *m, const char *key, size_t len)
{
    if (!m->buckets) return NULL;
    uint32_t h = things__hash(key, len);
    for (things__node_t *n = m->buckets[h & m->mask]; n; n = n->next)
        if (n->hash == h && n->keylen == len && memcmp(n->key, key, len) == 0) return n;
    return NULL;
}

/* Rehashes into twice the buckets (or the minimum). Returns 0 or VG_ENOMEM (map unchanged). */
static int things__map_grow(things__map_t *m)
{
    size_t size = m->buckets ? (m->mask + 1) * 2 : THINGS__MAP_MIN;
    things__node_t **b = calloc(size, sizeof *b);
    if (!b) return VG_ENOMEM;
    if (m->buckets) {
        for (size_t i = 0; i <= m->mask; i++) {
            for (things__node_t *n = m->buckets[i], *next; n; n = next) {
                next = n->next;
                n->next = b[n->hash & (size - 1)];
                b[n->hash & (size - 1)] = n;
            }
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->mask = size - 1;
    return 0;
}

int things__map_put(things__map_t *m, things__node_t *n, const char *key)
{
    size_t len = strlen(key);
    if (things__map_get(m, key, len)) return VG_EEXIST;
    if ((!m->buckets || m->count > m->mask) && things__map_grow(m) != 0) return VG_ENOMEM;
    n->key = key;
    n->keylen = len;
    n->hash = things__hash(key, len);
    n->next = m->buckets[n->hash & m->mask];
    m->buckets[n->hash & m->mask] = n;
    m->count++;
    return 0;
}

void things__map_del(things__map_t *m, things__node_t *n)
{
    for (things__node_t **pp = &m->buckets[n->hash & m->mask]; *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            n->next = NULL;
            m->count--;
            return;
        }
    }
}

void things__map_each(things__map_t *m, void (*fn)(void *data, things__node_t *n), void *data)
{
    if (!m->buckets) return;
    for (size_t i = 0; i <= m->mask; i++) {
        for (things__node_t *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            fn(data, n);
        }
    }
}
