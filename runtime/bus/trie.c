/* trie.c: the subscription trie. A node is one topic level; its exact children sit in a short
 * list or, past BUS__KIDS_LIST, an open-addressing table, beside one '+' and one '#' child.
 * Matching walks a topic once, level by level, keeping the nodes its prefix reaches. */
#include "bus/bus_int.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static bus__node_t *bus__node_new(bus_t *b, bus__node_t *parent, const char *name, uint32_t len,
                                  uint32_t h)
{
    bus__node_t *n = calloc(1, sizeof *n + len);
    if (!n) return NULL;
    n->parent = parent;
    n->len = len;
    n->h = h;
    memcpy(n->name, name, len);
    b->nnodes++;
    return n;
}

static int bus__node_empty(const bus__node_t *n)
{
    return !n->subs && !n->nkids && !n->plus && !n->hash;
}

static int bus__is_table(const bus__node_t *n)
{
    return n->capkids > BUS__KIDS_LIST;
}

/* A table's home slot for hash `h`. FNV-1a's low bits depend only on the low bits of the
 * bytes (in a 32-slot table "DeviceA" and "Devicea" would always collide): fold the high half. */
static uint32_t bus__home(uint32_t h, uint32_t mask)
{
    return (h ^ (h >> 16)) & mask;
}

static int bus__kid_is(const bus__node_t *k, const char *name, uint32_t len, uint32_t h)
{
    return k->h == h && k->len == len && memcmp(k->name, name, len) == 0;
}

static bus__node_t *bus__kid_find(const bus__node_t *n, const char *name, uint32_t len, uint32_t h)
{
    if (!bus__is_table(n)) {
        for (uint32_t i = 0; i < n->nkids; i++)
            if (bus__kid_is(n->kids[i], name, len, h)) return n->kids[i];
        return NULL;
    }
    uint32_t mask = n->capkids - 1; /* the load stays under 1/2: there is a free slot */
    for (uint32_t i = bus__home(h, mask); n->kids[i]; i = (i + 1) & mask)
        if (bus__kid_is(n->kids[i], name, len, h)) return n->kids[i];
    return NULL;
}

/* Puts `k` in the first free slot: from 0 in a list (it stays packed), from its hash's home
 * slot in a table. Capacities are powers of two. */
static void bus__kid_place(bus__node_t *n, bus__node_t *k)
{
    uint32_t mask = n->capkids - 1, i = bus__is_table(n) ? bus__home(k->h, mask) : 0;
    while (n->kids[i])
        i = (i + 1) & mask;
    n->kids[i] = k;
}

/* Moves the exact children into `cap` slots. Returns 0 or VG_ENOMEM (nothing changed). */
static int bus__kids_resize(bus__node_t *n, uint32_t cap)
{
    bus__node_t **old = n->kids, **kids = calloc(cap, sizeof *kids);
    uint32_t oldcap = n->capkids;
    if (!kids) return VG_ENOMEM;
    n->kids = kids;
    n->capkids = cap;
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i]) bus__kid_place(n, old[i]);
    free(old);
    return 0;
}

static bus__node_t *bus__kid_add(bus_t *b, bus__node_t *n, const char *name, uint32_t len,
                                 uint32_t h)
{
    uint32_t cap = n->capkids;
    int full = bus__is_table(n) ? (n->nkids + 1) * 2 > cap : n->nkids == cap;
    if (full) {
        cap = cap == 0 ? 2 : cap == BUS__KIDS_LIST ? 4 * BUS__KIDS_LIST : cap * 2;
        if (bus__kids_resize(n, cap)) return NULL;
    }
    bus__node_t *k = bus__node_new(b, n, name, len, h);
    if (!k) return NULL;
    bus__kid_place(n, k);
    n->nkids++;
    return k;
}

static void bus__kid_remove(bus__node_t *n, bus__node_t *k)
{
    uint32_t mask = n->capkids - 1, i = bus__is_table(n) ? bus__home(k->h, mask) : 0;
    while (n->kids[i] != k)
        i = (i + 1) & mask;
    n->nkids--;
    if (!bus__is_table(n)) { /* keep the list packed */
        n->kids[i] = n->kids[n->nkids];
        n->kids[n->nkids] = NULL;
    } else { /* backward-shift deletion: no tombstones */
        n->kids[i] = NULL;
        for (uint32_t j = (i + 1) & mask; n->kids[j]; j = (j + 1) & mask) {
            uint32_t home = bus__home(n->kids[j]->h, mask);
            if (((j - home) & mask) >= ((j - i) & mask)) { /* home not in (i, j]: fill the hole */
                n->kids[i] = n->kids[j];
                n->kids[j] = NULL;
                i = j;
            }
        }
        if (n->nkids <= BUS__KIDS_LIST / 2)
            (void)bus__kids_resize(n, BUS__KIDS_LIST); /* on failure the table stays */
        else if (n->nkids * 8 < n->capkids)
            (void)bus__kids_resize(n, n->capkids / 2);
    }
    if (n->nkids == 0) {
        free(n->kids);
        n->kids = NULL;
        n->capkids = 0;
    }
}

int bus__trie_init(bus_t *b)
{
    b->root = bus__node_new(b, NULL, "", 0, 0);
    return b->root ? 0 : VG_ENOMEM;
}

void bus__trie_free(bus_t *b)
{
    bus__node_t *n = b->root;
    while (n) { /* depth first through the parent pointers: no recursion, no stack */
        bus__node_t *k = NULL;
        if (n->hash) {
            k = n->hash;
            n->hash = NULL;
        } else if (n->plus) {
            k = n->plus;
            n->plus = NULL;
        } else {
            while (!k && n->capkids > 0)
                k = n->kids[--n->capkids];
        }
        if (k) {
            n = k;
            continue;
        }
        bus__node_t *parent = n->parent;
        for (bus_sub_t *s = n->subs, *next; s; s = next) {
            next = s->next;
            free(s);
        }
        free(n->kids);
        free(n);
        n = parent;
    }
    b->root = NULL;
    b->nnodes = 0;
}

bus__node_t *bus__trie_insert(bus_t *b, const char *filter)
{
    bus__node_t *n = b->root, *k;
    for (const char *p = filter;;) {
        const char *q = p;
        uint32_t h = BUS__HASH_INIT;
        for (; *q && *q != '/'; q++)
            h = BUS__HASH_STEP(h, *q);
        uint32_t len = (uint32_t)(q - p);
        bus__node_t **wild = len != 1 ? NULL : *p == '+' ? &n->plus : *p == '#' ? &n->hash : NULL;
        if (wild) {
            if (!*wild) *wild = bus__node_new(b, n, "", 0, 0);
            k = *wild;
        } else {
            k = bus__kid_find(n, p, len, h);
            if (!k) k = bus__kid_add(b, n, p, len, h);
        }
        if (!k) {
            bus__trie_prune(b, n); /* the levels created for this filter */
            return NULL;
        }
        n = k;
        if (!*q) return n;
        p = q + 1;
    }
}

void bus__trie_prune(bus_t *b, bus__node_t *n)
{
    while (n->parent && bus__node_empty(n)) {
        bus__node_t *p = n->parent;
        if (p->plus == n)
            p->plus = NULL;
        else if (p->hash == n)
            p->hash = NULL;
        else
            bus__kid_remove(p, n);
        free(n);
        b->nnodes--;
        n = p;
    }
}

static int bus__push(bus__vec_t *v, bus__node_t *n)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        bus__node_t **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return VG_ENOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return 0;
}

int bus__trie_match(const bus_t *b, const char *topic, bus__scratch_t *sc)
{
    bus__vec_t *walk = &sc->walk, *hits = &sc->hits;
    int dollar = topic[0] == '$'; /* wildcards at the first level skip "$SYS/..." */
    size_t from = 0;              /* walk->v[from..] is the set of nodes the prefix reaches */
    walk->n = hits->n = 0;
    if (bus__push(walk, b->root)) return VG_ENOMEM;
    for (const char *p = topic;;) {
        const char *q = p;
        uint32_t h = BUS__HASH_INIT;
        for (; *q && *q != '/'; q++)
            h = BUS__HASH_STEP(h, *q);
        uint32_t len = (uint32_t)(q - p);
        size_t to = walk->n;
        for (size_t i = from; i < to; i++) {
            bus__node_t *n = walk->v[i], *k;
            int wild = !(dollar && n == b->root);
            if (wild && n->hash && n->hash->subs && bus__push(hits, n->hash)) return VG_ENOMEM;
            if ((k = bus__kid_find(n, p, len, h)) && bus__push(walk, k)) return VG_ENOMEM;
            if (wild && n->plus && bus__push(walk, n->plus)) return VG_ENOMEM;
        }
        from = to;
        if (from == walk->n || !*q) break;
        p = q + 1;
    }
    for (size_t i = from; i < walk->n; i++) { /* the whole topic is consumed */
        bus__node_t *n = walk->v[i];
        if (n->subs && bus__push(hits, n)) return VG_ENOMEM;
        if (n->hash && n->hash->subs && bus__push(hits, n->hash)) return VG_ENOMEM; /* "a/#": "a" */
    }
    return 0;
}

size_t bus__nodes(const bus_t *b)
{
    return b->nnodes;
}
