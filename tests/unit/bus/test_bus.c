/* test_bus.c: unit tests of the bus: filter and topic rules, bus_match against the MQTT spec's
 * examples, the trie against bus_match on random filters and topics, reference counting,
 * (un)subscribing during delivery, the nesting limit, pruning and the metrics. */
#include "vg_test.h"

#include "bus/bus.h"
#include "bus/bus_int.h"
#include "core/error.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    bus_t *bus;
} fx_t;

static void fx_open(fx_t *f)
{
    vg_config_t cfg;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&cfg);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, &cfg), 0);
    f->ctx.log.level = VG_LOG_ERROR;
    CHECK_EQ_INT(bus_create(&f->ctx, &f->bus), 0);
}

static void fx_close(fx_t *f)
{
    bus_destroy(f->bus);
    vg_ctx_close(&f->ctx);
    uv_loop_close(&f->loop);
}

/* Publishes a fresh message on `topic`; returns bus_publish's result. */
static int pub(bus_t *b, const char *topic)
{
    bus_msg_t *m = bus_msg_create(topic, "test", "x", 1);
    int rc = bus_publish(b, m);
    bus_msg_unref(m);
    return rc;
}

static void count_cb(void *data, bus_msg_t *m)
{
    (void)m;
    (*(int *)data)++;
}

/* Records the order of deliveries: each subscription's data is its label. */
typedef struct trace {
    char text[256];
} trace_t;

typedef struct tsub {
    trace_t *trace;
    const char *label;
} tsub_t;

static void trace_cb(void *data, bus_msg_t *m)
{
    tsub_t *t = data;
    size_t len = strlen(t->trace->text);
    (void)m;
    snprintf(t->trace->text + len, sizeof t->trace->text - len, "%s%s", len ? " " : "", t->label);
}

/* ---- rules ------------------------------------------------------------------------------ */

static void test_filter_valid(void)
{
    static const struct {
        const char *filter;
        const char *why; /* NULL: valid */
    } cases[] = {
        {"#", NULL},
        {"+", NULL},
        {"a", NULL},
        {"/", NULL},
        {"//", NULL},
        {"a//b", NULL},
        {"/+", NULL},
        {"+/+", NULL},
        {"+/#", NULL},
        {"a/#", NULL},
        {"sport/tennis/player1/#", NULL},
        {"sport/+/player1", NULL},
        {"$SYS/#", NULL},
        {"/sys/+/+/thing/event/property/post", NULL},
        {"", "the filter is empty"},
        {"a+", "'+' must be a whole level"},
        {"+a", "'+' must be a whole level"},
        {"a/b+/c", "'+' must be a whole level"},
        {"++", "'+' must be a whole level"},
        {"a#", "'#' must be a whole level"},
        {"a/b#", "'#' must be a whole level"},
        {"##", "'#' must be a whole level"},
        {"#/a", "'#' must be the last level"},
        {"a/#/b", "'#' must be the last level"},
        {"#/", "'#' must be the last level"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        int valid = bus_filter_valid(cases[i].filter, &why);
        CHECK_EQ_INT(valid, cases[i].why == NULL);
        if (cases[i].why) CHECK_EQ_STR(why, cases[i].why);
        if (valid != (cases[i].why == NULL)) fprintf(stderr, "  filter \"%s\"\n", cases[i].filter);
    }
    CHECK(!bus_filter_valid(NULL, NULL));
    CHECK(!bus_filter_valid("a+", NULL)); /* `why` may be NULL */

    char *big = malloc(BUS__LEN_MAX + 2);
    memset(big, 'a', BUS__LEN_MAX);
    big[BUS__LEN_MAX] = '\0';
    CHECK(bus_filter_valid(big, NULL));
    CHECK(bus_topic_valid(big));
    big[BUS__LEN_MAX] = 'a';
    big[BUS__LEN_MAX + 1] = '\0';
    const char *why = NULL;
    CHECK(!bus_filter_valid(big, &why));
    CHECK_EQ_STR(why, "the filter is longer than 65535 bytes");
    CHECK(!bus_topic_valid(big));
    free(big);
}

static void test_topic_valid(void)
{
    static const char *const good[] = {
        "a", "/", "//", "a//b", "a/", "$SYS/broker", "/sys/pk/dn/thing/event/property/post",
    };
    static const char *const bad[] = {"", "+", "#", "a/+", "a/#", "a+b", "sport/#/x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(bus_topic_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!bus_topic_valid(bad[i]));
    CHECK(!bus_topic_valid(NULL));
}

static void test_match_spec(void)
{
    static const struct {
        const char *filter, *topic;
        int match;
    } cases[] = {
        /* MQTT 3.1.1 §4.7.1.2: '#' */
        {"sport/tennis/player1/#", "sport/tennis/player1", 1},
        {"sport/tennis/player1/#", "sport/tennis/player1/ranking", 1},
        {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", 1},
        {"sport/tennis/player1/#", "sport/tennis/player2", 0},
        {"sport/#", "sport", 1},
        {"#", "sport/tennis", 1},
        {"#", "/", 1},
        /* §4.7.1.3: '+' */
        {"sport/tennis/+", "sport/tennis/player1", 1},
        {"sport/tennis/+", "sport/tennis/player2", 1},
        {"sport/tennis/+", "sport/tennis/player1/ranking", 0},
        {"sport/+", "sport", 0},
        {"sport/+", "sport/", 1},
        {"sport/+/player1", "sport/tennis/player1", 1},
        {"sport/+/player1", "sport/tennis/player2", 0},
        {"+/+", "/finance", 1},
        {"/+", "/finance", 1},
        {"+", "/finance", 0},
        {"+/tennis/#", "sport/tennis/player1", 1},
        /* §4.7.2: topics starting with '$' */
        {"#", "$SYS/broker/clients", 0},
        {"+/monitor/Clients", "$SYS/monitor/Clients", 0},
        {"$SYS/#", "$SYS/monitor/Clients", 1},
        {"$SYS/#", "$SYS", 1},
        {"$SYS/monitor/+", "$SYS/monitor/Clients", 1},
        {"+", "$SYS", 0},
        {"/+", "/$SYS", 1}, /* the first level is empty, not '$' */
        {"#", "/$SYS", 1},
        /* empty levels */
        {"a//b", "a//b", 1},
        {"a/+/b", "a//b", 1},
        {"a/b", "a//b", 0},
        {"a", "a/", 0},
        {"a/", "a", 0},
        {"a/#", "a/", 1},
        {"/#", "/", 1},
        {"+/+", "/", 1},
        {"+", "/", 0},
        {"//#", "/", 1},
        /* Alink topics */
        {"/sys/+/+/thing/event/property/post", "/sys/pk/dn/thing/event/property/post", 1},
        {"/sys/pk/+/thing/event/+/post", "/sys/pk/dn/thing/event/alarm/post", 1},
        {"/sys/pk/dn/#", "/sys/pk/dn/thing/event/property/post", 1},
        {"/sys/pk/dn/#", "/sys/pk/dn2/thing/event/property/post", 0},
        {"sys/#", "/sys/pk/dn/thing/event/property/post", 0},
        /* plain */
        {"a/b", "a/b", 1},
        {"a/b", "a/bc", 0},
        {"a/bc", "a/b", 0},
        {"a/b/c", "a/b", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = bus_match(cases[i].filter, cases[i].topic);
        if (got != cases[i].match) {
            fprintf(stderr, "  bus_match(\"%s\", \"%s\") = %d\n", cases[i].filter, cases[i].topic,
                    got);
            CHECK(got == cases[i].match);
        }
    }

    /* The trie agrees on every case. */
    fx_t f;
    fx_open(&f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = 0;
        bus_sub_t *s;
        CHECK_EQ_INT(bus_subscribe(f.bus, cases[i].filter, count_cb, &n, &s), 0);
        CHECK_EQ_INT(pub(f.bus, cases[i].topic), cases[i].match);
        CHECK_EQ_INT(n, cases[i].match);
        bus_unsubscribe(f.bus, s);
    }
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    fx_close(&f);
}

/* ---- the trie against bus_match --------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned rng_below(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

#define PROP_N 2000

/* A random topic or filter of 1 to 5 levels drawn from `nlevels` names (name 0 is "", the
 * last "$x"); a filter also gets '+' levels and, sometimes, a final '#'. */
static void rand_levels(uint64_t *rng, char *out, size_t size, unsigned nlevels, int filter)
{
    unsigned levels = 1 + rng_below(rng, 5);
    size_t len = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < levels; i++) {
        const char *sep = i ? "/" : "";
        unsigned r = rng_below(rng, 100);
        unsigned k = rng_below(rng, nlevels);
        if (filter && r < 8) {
            len += (size_t)snprintf(out + len, size - len, "%s#", sep);
            return;
        }
        if (filter && r < 25)
            len += (size_t)snprintf(out + len, size - len, "%s+", sep);
        else if (k == 0)
            len += (size_t)snprintf(out + len, size - len, "%s", sep);
        else if (k == nlevels - 1)
            len += (size_t)snprintf(out + len, size - len, "%s$x", sep);
        else
            len += (size_t)snprintf(out + len, size - len, "%sk%u", sep, k);
    }
}

static void rand_name(uint64_t *rng, char *out, size_t size, unsigned nlevels, int filter)
{
    do /* one empty level is the empty string: not a topic, nor a filter */
        rand_levels(rng, out, size, nlevels, filter);
    while (!out[0]);
}

typedef struct prop {
    char filters[PROP_N][64];
    char topics[PROP_N][64];
    int counts[PROP_N];
    bus_sub_t *subs[PROP_N]; /* NULL: not subscribed */
} prop_t;

/* Publishes every topic and checks each subscription got it exactly when bus_match says so. */
static int prop_compare(bus_t *b, prop_t *p)
{
    int bad = 0;
    for (int t = 0; t < PROP_N && bad < 10; t++) {
        int expected = 0;
        memset(p->counts, 0, sizeof p->counts);
        int got = pub(b, p->topics[t]);
        for (int i = 0; i < PROP_N; i++) {
            int want = p->subs[i] && bus_match(p->filters[i], p->topics[t]);
            expected += want;
            if (p->counts[i] != want && bad++ < 10) {
                fprintf(stderr, "  filter \"%s\" topic \"%s\": %d deliveries, want %d\n",
                        p->filters[i], p->topics[t], p->counts[i], want);
            }
        }
        if (got != expected) bad++;
    }
    return bad;
}

static void prop_run(unsigned nlevels, uint64_t seed)
{
    prop_t *p = calloc(1, sizeof *p);
    uint64_t rng = seed;
    fx_t f;
    fx_open(&f);
    for (int i = 0; i < PROP_N; i++) {
        rand_name(&rng, p->filters[i], sizeof p->filters[i], nlevels, 1);
        rand_name(&rng, p->topics[i], sizeof p->topics[i], nlevels, 0);
        CHECK(bus_filter_valid(p->filters[i], NULL) && bus_topic_valid(p->topics[i]));
        CHECK_EQ_INT(bus_subscribe(f.bus, p->filters[i], count_cb, &p->counts[i], &p->subs[i]), 0);
    }
    CHECK_EQ_INT(prop_compare(f.bus, p), 0);

    /* Drop a random half, add some back, and compare again (removal paths, table shrinking). */
    for (int i = 0; i < PROP_N; i++) {
        if (rng_below(&rng, 2)) continue;
        bus_unsubscribe(f.bus, p->subs[i]);
        p->subs[i] = NULL;
    }
    for (int i = 0; i < PROP_N; i += 7) {
        if (p->subs[i]) continue;
        CHECK_EQ_INT(bus_subscribe(f.bus, p->filters[i], count_cb, &p->counts[i], &p->subs[i]), 0);
    }
    CHECK_EQ_INT(prop_compare(f.bus, p), 0);

    size_t live = 0;
    for (int i = 0; i < PROP_N; i++)
        live += p->subs[i] != NULL;
    CHECK_EQ_INT(bus_subscriptions(f.bus), live);
    for (int i = 0; i < PROP_N; i++)
        bus_unsubscribe(f.bus, p->subs[i]);
    CHECK_EQ_INT(bus_subscriptions(f.bus), 0);
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    fx_close(&f);
    free(p);
}

static void test_trie_property(void)
{
    prop_run(4, 0x9e3779b97f4a7c15u);  /* "", k1, k2, $x: dense matches, short child lists */
    prop_run(40, 0x2545f4914f6cdd1du); /* 40 names: child tables, sparse matches */
}

/* Publishes "/sys/pk/dn<i>/thing/event/property/post" for i in [0, n); returns the deliveries. */
static int pub_devices(bus_t *b, int n)
{
    char name[64];
    int total = 0;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "/sys/pk/dn%d/thing/event/property/post", i);
        total += pub(b, name);
    }
    return total;
}

/* Many children of one level: lists grow into tables, entries leave them (backward shifts),
 * and tables shrink back into lists. */
static void test_wide_level(void)
{
    enum { N = 3000 };
    static bus_sub_t *subs[N];
    int n = 0;
    char name[64];
    fx_t f;
    fx_open(&f);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "/sys/pk/dn%d/thing/event/property/post", i);
        CHECK_EQ_INT(bus_subscribe(f.bus, name, count_cb, &n, &subs[i]), 0);
    }
    CHECK_EQ_INT(pub_devices(f.bus, N), N);
    uint64_t rng = 42;
    for (int i = N - 1; i > 0; i--) { /* a random order of removal */
        int j = (int)rng_below(&rng, (unsigned)i + 1);
        bus_sub_t *t = subs[i];
        subs[i] = subs[j];
        subs[j] = t;
    }
    static const int keep[] = {N / 2, N / 5, 100, 10, 3};
    int live = N;
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
        for (; live > keep[k]; live--)
            bus_unsubscribe(f.bus, subs[live - 1]);
        CHECK_EQ_INT(pub_devices(f.bus, N), live); /* every remaining child is still found */
    }
    CHECK_EQ_INT(bus__nodes(f.bus), 1 + 3 + 3 * 5); /* root, "", sys, pk, 3 devices */
    for (int i = 0; i < live; i++)
        bus_unsubscribe(f.bus, subs[i]);
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    fx_close(&f);
}

/* A filter of 32768 '+' levels and a topic of as many empty levels: nothing recurses. */
static void test_deep(void)
{
    char *filter = malloc(BUS__LEN_MAX + 1), *topic = malloc(BUS__LEN_MAX);
    for (int i = 0; i < BUS__LEN_MAX; i++)
        filter[i] = i % 2 ? '/' : '+';
    filter[BUS__LEN_MAX] = '\0';
    memset(topic, '/', 32767);
    topic[32767] = '\0';
    CHECK(bus_match(filter, topic));
    int n = 0;
    bus_sub_t *s;
    fx_t f;
    fx_open(&f);
    CHECK_EQ_INT(bus_subscribe(f.bus, filter, count_cb, &n, &s), 0);
    CHECK_EQ_INT(bus__nodes(f.bus), 1 + 32768);
    CHECK_EQ_INT(pub(f.bus, topic), 1);
    fx_close(&f); /* frees the deep chain without a recursion */
    free(filter);
    free(topic);
}

/* ---- messages --------------------------------------------------------------------------- */

static void test_msg(void)
{
    static const char payload[] = {'a', '\0', 'b'};
    bus_msg_t *m = bus_msg_create("/a/b", NULL, payload, sizeof payload);
    CHECK(m != NULL);
    CHECK_EQ_INT(m->refs, 1);
    CHECK_EQ_STR(m->topic, "/a/b");
    CHECK_EQ_STR(m->source, "");
    CHECK_EQ_INT(m->len, 3);
    CHECK(memcmp(m->payload, payload, 3) == 0 && m->payload[3] == '\0');
    CHECK(m->time_ms > 1600000000000LL);
    /* One allocation: the strings live right after the struct. */
    const char *lo = (const char *)m, *hi = lo + malloc_usable_size(m);
    CHECK(m->payload >= lo && m->topic >= lo && m->source >= lo);
    CHECK(m->payload < hi && m->topic < hi && m->source < hi);
    CHECK(bus_msg_ref(m) == m);
    CHECK_EQ_INT(m->refs, 2);
    bus_msg_unref(m);
    bus_msg_unref(m);
    bus_msg_unref(NULL);

    m = bus_msg_create("t", "api", NULL, 0);
    CHECK_EQ_STR(m->payload, "");
    CHECK_EQ_STR(m->source, "api");
    bus_msg_unref(m);
}

typedef struct keeper {
    bus_msg_t *kept;
    const char *payload;
} keeper_t;

static void keep_cb(void *data, bus_msg_t *m)
{
    keeper_t *k = data;
    k->kept = bus_msg_ref(m);
    k->payload = m->payload;
}

static void test_refcount(void)
{
    static const char *const filters[] = {"#", "/sys/#", "/sys/+/+/thing/event/property/post",
                                          "/sys/pk/dn/thing/event/property/post", "+/+/+/#"};
    enum { N = sizeof filters / sizeof filters[0] };
    keeper_t k[N];
    bus_sub_t *s[N];
    fx_t f;
    fx_open(&f);
    memset(k, 0, sizeof k);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(bus_subscribe(f.bus, filters[i], keep_cb, &k[i], &s[i]), 0);
    bus_msg_t *m =
        bus_msg_create("/sys/pk/dn/thing/event/property/post", "device:pk/dn", "{\"a\":1}", 7);
    CHECK_EQ_INT(bus_publish(f.bus, m), N);
    CHECK_EQ_INT(m->refs, 1 + N);
    for (int i = 0; i < N; i++)
        CHECK(k[i].kept == m && k[i].payload == m->payload);
    bus_msg_unref(m); /* the publisher lets go; the subscribers still hold it */
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(k[i].kept->refs, N - i);
        CHECK_EQ_STR(k[i].kept->payload, "{\"a\":1}");
        bus_msg_unref(k[i].kept); /* the last one frees it (ASan checks) */
    }
    fx_close(&f);
}

/* ---- changes during delivery ------------------------------------------------------------ */

typedef struct unsub_fx {
    bus_t *bus;
    bus_sub_t *victims[4];
    int nvictims;
    int calls;
} unsub_fx_t;

static void unsub_cb(void *data, bus_msg_t *m)
{
    unsub_fx_t *u = data;
    (void)m;
    u->calls++;
    for (int i = 0; i < u->nvictims; i++)
        bus_unsubscribe(u->bus, u->victims[i]);
    u->nvictims = 0;
}

static void test_unsubscribe_in_delivery(void)
{
    fx_t f;
    fx_open(&f);
    int d = 0, b = 0, c = 0, e = 0;
    unsub_fx_t a = {.bus = f.bus};
    bus_sub_t *sa, *sb, *sc, *sd, *se;
    /* Delivery order for "a/b": a/# (d), then a/b (a, b, c), then +/b (e). */
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/#", count_cb, &d, &sd), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/b", unsub_cb, &a, &sa), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/b", count_cb, &b, &sb), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/b", count_cb, &c, &sc), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "+/b", count_cb, &e, &se), 0);
    CHECK_EQ_INT(bus__nodes(f.bus), 6);
    /* a removes itself, its neighbour c, and e on a later node; d already had the message. */
    a.victims[0] = sa;
    a.victims[1] = sc;
    a.victims[2] = se;
    a.victims[3] = sd;
    a.nvictims = 4;
    CHECK_EQ_INT(pub(f.bus, "a/b"), 3);
    CHECK(a.calls == 1 && b == 1 && c == 0 && d == 1 && e == 0);
    CHECK_EQ_INT(bus_subscriptions(f.bus), 1);
    CHECK_EQ_INT(bus__nodes(f.bus), 3); /* root, a, a/b: the rest was pruned */
    CHECK_EQ_INT(pub(f.bus, "a/b"), 1);
    CHECK(a.calls == 1 && b == 2);
    bus_unsubscribe(f.bus, sb);
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    fx_close(&f);
}

/* A nested publish's subscriber removes one the outer publish has yet to reach. */
typedef struct nest_fx {
    bus_t *bus;
    bus_sub_t *victim;
    int calls;
} nest_fx_t;

static void nest_outer_cb(void *data, bus_msg_t *m)
{
    nest_fx_t *n = data;
    (void)m;
    n->calls++;
    CHECK_EQ_INT(pub(n->bus, "inner"), 1);
}

static void nest_inner_cb(void *data, bus_msg_t *m)
{
    nest_fx_t *n = data;
    (void)m;
    bus_unsubscribe(n->bus, n->victim);
    bus_unsubscribe(n->bus, n->victim); /* twice during delivery: harmless */
}

static void test_unsubscribe_nested(void)
{
    fx_t f;
    fx_open(&f);
    int late = 0;
    nest_fx_t n = {.bus = f.bus};
    bus_sub_t *s1, *s2, *s3;
    CHECK_EQ_INT(bus_subscribe(f.bus, "outer", nest_outer_cb, &n, &s1), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "outer", count_cb, &late, &n.victim), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "inner", nest_inner_cb, &n, &s3), 0);
    CHECK_EQ_INT(pub(f.bus, "outer"), 1);
    CHECK(n.calls == 1 && late == 0);
    CHECK_EQ_INT(bus_subscriptions(f.bus), 2);
    s2 = NULL;
    bus_unsubscribe(f.bus, s2); /* NULL: no-op */
    bus_unsubscribe(f.bus, s1);
    bus_unsubscribe(f.bus, s3);
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    fx_close(&f);
}

typedef struct sub_fx {
    bus_t *bus;
    bus_sub_t *added[2];
    int added_count; /* deliveries to the added subscriptions */
    int calls;
} sub_fx_t;

static void added_cb(void *data, bus_msg_t *m)
{
    (void)m;
    ((sub_fx_t *)data)->added_count++;
}

static void sub_cb(void *data, bus_msg_t *m)
{
    sub_fx_t *s = data;
    if (s->calls++ > 0) return;
    /* One on this very node (appended to the list being walked), one on a new node. */
    CHECK_EQ_INT(bus_subscribe(s->bus, "a/b", added_cb, s, &s->added[0]), 0);
    CHECK_EQ_INT(bus_subscribe(s->bus, "a/b/#", added_cb, s, &s->added[1]), 0);
    CHECK_EQ_INT(s->added_count, 0);
    /* A publish made after the subscriptions reaches them, nested or not. */
    CHECK_EQ_INT(bus_publish(s->bus, m), 3);
    CHECK_EQ_INT(s->added_count, 2);
}

static void test_subscribe_in_delivery(void)
{
    fx_t f;
    fx_open(&f);
    sub_fx_t s = {.bus = f.bus};
    bus_sub_t *first;
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/b", sub_cb, &s, &first), 0);
    CHECK_EQ_INT(pub(f.bus, "a/b"), 1); /* the new ones miss the message being delivered */
    CHECK_EQ_INT(s.added_count, 2);     /* from the nested publish only */
    CHECK_EQ_INT(pub(f.bus, "a/b"), 3);
    CHECK_EQ_INT(s.added_count, 4);
    CHECK_EQ_INT(bus_subscriptions(f.bus), 3);
    fx_close(&f); /* frees the three */
}

typedef struct loop_fx {
    bus_t *bus;
    int depth, max_depth, calls;
    int deepest_rc;
} loop_fx_t;

static void loop_cb(void *data, bus_msg_t *m)
{
    loop_fx_t *l = data;
    l->calls++;
    l->depth++;
    if (l->depth > l->max_depth) l->max_depth = l->depth;
    int rc = bus_publish(l->bus, m); /* a route back to itself */
    if (rc < 0) l->deepest_rc = rc;
    l->depth--;
}

static void test_nesting_limit(void)
{
    fx_t f;
    fx_open(&f);
    FILE *logs = tmpfile();
    f.ctx.log.out = logs;
    f.ctx.log.level = VG_LOG_WARN;
    f.ctx.log.color = 0;
    loop_fx_t l = {.bus = f.bus};
    bus_sub_t *s;
    CHECK_EQ_INT(bus_subscribe(f.bus, "loop/#", loop_cb, &l, &s), 0);
    CHECK_EQ_INT(pub(f.bus, "loop/a"), 1);
    CHECK_EQ_INT(l.max_depth, 16); /* 16 publishes nested, the 17th refused */
    CHECK_EQ_INT(l.calls, 16);
    CHECK_EQ_INT(l.deepest_rc, VG_ELIMIT);
    CHECK_EQ_INT(pub(f.bus, "loop/b"), 1); /* the depth came back down */
    CHECK_EQ_INT(l.calls, 32);

    /* Logged once per outermost publish. */
    char line[512];
    int lines = 0;
    rewind(logs);
    while (fgets(line, sizeof line, logs)) {
        lines++;
        CHECK(strstr(line, "nests deeper than 16") != NULL);
    }
    CHECK_EQ_INT(lines, 2);
    fclose(logs);
    f.ctx.log.out = stderr;
    fx_close(&f);
}

/* ---- pruning, metrics, order ------------------------------------------------------------ */

static void test_pruning(void)
{
    enum { N = 100000 };
    static bus_sub_t *subs[N];
    char name[96];
    int n = 0;
    fx_t f;
    fx_open(&f);
#ifndef __SANITIZE_ADDRESS__
    size_t before = mallinfo2().uordblks;
#endif
    for (int i = 0; i < N; i++) { /* one at a time: a chain of levels made and pruned */
        snprintf(name, sizeof name, "/sys/pk%d/dn%d/thing/event/+/post", i % 37, i);
        CHECK_EQ_INT(bus_subscribe(f.bus, name, count_cb, &n, &subs[0]), 0);
        bus_unsubscribe(f.bus, subs[0]);
    }
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
    for (int i = 0; i < N; i++) { /* all at once: wide tables grow, then shrink away */
        snprintf(name, sizeof name, "/sys/pk%d/dn%d/#", i % 37, i);
        CHECK_EQ_INT(bus_subscribe(f.bus, name, count_cb, &n, &subs[i]), 0);
    }
    CHECK_EQ_INT(bus_subscriptions(f.bus), N);
    CHECK_EQ_INT(pub(f.bus, "/sys/pk5/dn5/x"), 1);
    for (int i = 0; i < N; i++)
        bus_unsubscribe(f.bus, subs[i]);
    CHECK_EQ_INT(bus_subscriptions(f.bus), 0);
    CHECK_EQ_INT(bus__nodes(f.bus), 1);
#ifndef __SANITIZE_ADDRESS__
    size_t after = mallinfo2().uordblks;
    /* The publish scratch arrays stay; everything else went back. */
    CHECK(after <= before + 4096);
#endif
    fx_close(&f);
}

static void test_metrics(void)
{
    fx_t f;
    fx_open(&f);
    int n = 0;
    bus_sub_t *s1, *s2;
    vg_series_t *pubs = vg_metrics_series(f.ctx.metrics, "verge_bus_published_total", NULL);
    vg_series_t *dels = vg_metrics_series(f.ctx.metrics, "verge_bus_delivered_total", NULL);
    vg_series_t *subs = vg_metrics_series(f.ctx.metrics, "verge_bus_subscriptions", NULL);
    CHECK(pubs && dels && subs);
    CHECK_EQ_INT(bus_subscribe(f.bus, "a/+", count_cb, &n, &s1), 0);
    CHECK_EQ_INT(bus_subscribe(f.bus, "#", count_cb, &n, &s2), 0);
    CHECK_EQ_INT(subs->value, 2);
    CHECK_EQ_INT(pub(f.bus, "a/b"), 2);
    CHECK_EQ_INT(pub(f.bus, "b"), 1);
    CHECK_EQ_INT(pub(f.bus, "a/+"), VG_EINVAL); /* not counted */
    CHECK_EQ_INT(pubs->value, 2);
    CHECK_EQ_INT(dels->value, 3);
    bus_unsubscribe(f.bus, s1);
    CHECK_EQ_INT(subs->value, 1);

    vg_buf_t out;
    vg_buf_init(&out);
    CHECK_EQ_INT(vg_metrics_render(f.ctx.metrics, &out), 0);
    CHECK(strstr(out.data, "# TYPE verge_bus_subscriptions gauge\n") != NULL);
    CHECK(strstr(out.data, "verge_bus_delivered_total 3\n") != NULL);
    vg_buf_close(&out);
    bus_destroy(f.bus); /* takes its subscriptions off the gauge */
    f.bus = NULL;
    CHECK_EQ_INT(subs->value, 0);
    fx_close(&f);
}

static void test_order_and_errors(void)
{
    static const char *const filters[] = {"a/b", "+/+", "a/b/#", "+/b", "a/b",
                                          "+/#", "a/#", "#",     "b/#"};
    enum { N = sizeof filters / sizeof filters[0] };
    static const char *const labels[N] = {"ab1", "++", "ab#", "+b", "ab2", "+#", "a#", "#", "b#"};
    trace_t trace = {{0}};
    tsub_t t[N];
    bus_sub_t *s;
    fx_t f;
    fx_open(&f);
    for (int i = 0; i < N; i++) {
        t[i] = (tsub_t){&trace, labels[i]};
        CHECK_EQ_INT(bus_subscribe(f.bus, filters[i], trace_cb, &t[i], &s), 0);
    }
    CHECK_EQ_INT(pub(f.bus, "a/b"), 8);
    CHECK_EQ_STR(trace.text, "# a# +# ab1 ab2 ab# +b ++");

    CHECK_EQ_INT(bus_subscribe(f.bus, "a/#/b", trace_cb, &t[0], &s), VG_EINVAL);
    CHECK_EQ_INT(bus_subscribe(f.bus, "a", NULL, NULL, &s), VG_EINVAL);
    CHECK_EQ_INT(pub(f.bus, "a/#"), VG_EINVAL);
    bus_msg_t *m = bus_msg_create("", "test", NULL, 0);
    CHECK_EQ_INT(bus_publish(f.bus, m), VG_EINVAL);
    bus_msg_unref(m);
    CHECK_EQ_INT(bus_subscriptions(f.bus), N);
    fx_close(&f);
}

/* clang-format off */
VG_TEST_MAIN(
    VG_TEST(test_filter_valid)
    VG_TEST(test_topic_valid)
    VG_TEST(test_match_spec)
    VG_TEST(test_trie_property)
    VG_TEST(test_wide_level)
    VG_TEST(test_deep)
    VG_TEST(test_msg)
    VG_TEST(test_refcount)
    VG_TEST(test_unsubscribe_in_delivery)
    VG_TEST(test_unsubscribe_nested)
    VG_TEST(test_subscribe_in_delivery)
    VG_TEST(test_nesting_limit)
    VG_TEST(test_pruning)
    VG_TEST(test_metrics)
    VG_TEST(test_order_and_errors)
)
/* clang-format on */
