/* things_fx.h: the fixture the things tests share: a real uv loop, a store in a temporary
 * SQLite file, a real bus with a subscriber recording every message, a fake port standing in
 * for the driver host, and a recorder of request results. */
#ifndef VG_TEST_THINGS_FX_H
#define VG_TEST_THINGS_FX_H

#include "vg_test.h"

#include "core/error.h"
#include "things/things.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A light with one property of every type; events and one service. */
#define FX_PK "a1Light"
#define FX_TSL                                                                                     \
    "{\"schema\":\"https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json\","                \
    "\"profile\":{\"productKey\":\"a1Light\"},"                                                    \
    "\"properties\":["                                                                             \
    "{\"identifier\":\"brightness\",\"name\":\"Brightness\",\"accessMode\":\"rw\","                \
    "\"required\":true,\"dataType\":{\"type\":\"int\",\"specs\":{\"min\":\"1\",\"max\":\"5\","     \
    "\"step\":\"1\"}}},"                                                                           \
    "{\"identifier\":\"power\",\"name\":\"Power\",\"accessMode\":\"rw\",\"dataType\":{\"type\":"   \
    "\"bool\",\"specs\":{\"0\":\"off\",\"1\":\"on\"}}},"                                           \
    "{\"identifier\":\"temperature\",\"accessMode\":\"r\",\"dataType\":{\"type\":\"float\","       \
    "\"specs\":{\"min\":-40,\"max\":125}}},"                                                       \
    "{\"identifier\":\"secret\",\"accessMode\":\"w\",\"dataType\":{\"type\":\"text\","             \
    "\"specs\":{\"length\":\"8\"}}},"                                                              \
    "{\"identifier\":\"mode\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"enum\","              \
    "\"specs\":{\"0\":\"eco\",\"1\":\"normal\",\"2\":\"boost\"}}},"                                \
    "{\"identifier\":\"label\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"text\","             \
    "\"specs\":{\"length\":\"5\"}}},"                                                              \
    "{\"identifier\":\"since\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"date\","             \
    "\"specs\":{}}},"                                                                              \
    "{\"identifier\":\"color\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"struct\","           \
    "\"specs\":[{\"identifier\":\"r\",\"name\":\"red\",\"dataType\":{\"type\":\"int\","            \
    "\"specs\":{\"min\":0,\"max\":255}}},{\"identifier\":\"g\",\"dataType\":{\"type\":\"int\","    \
    "\"specs\":{\"min\":0,\"max\":255}}}]}},"                                                      \
    "{\"identifier\":\"schedule\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"array\","         \
    "\"specs\":{\"size\":\"3\",\"item\":{\"type\":\"int\"}}}},"                                    \
    "{\"identifier\":\"ratio\",\"accessMode\":\"rw\",\"dataType\":{\"type\":\"double\"}}],"        \
    "\"events\":[{\"identifier\":\"overheat\",\"type\":\"alert\",\"outputData\":["                 \
    "{\"identifier\":\"temp\",\"dataType\":{\"type\":\"float\"}}]}],"                              \
    "\"services\":[{\"identifier\":\"blink\",\"callType\":\"async\",\"inputData\":["               \
    "{\"identifier\":\"times\",\"name\":\"times\",\"dataType\":{\"type\":\"int\",\"specs\":"       \
    "{\"min\":\"1\",\"max\":\"10\"}}},"                                                            \
    "{\"identifier\":\"fast\",\"dataType\":{\"type\":\"bool\"}}],"                                 \
    "\"outputData\":[{\"identifier\":\"done\",\"dataType\":{\"type\":\"bool\"}}]}]}"

#define FX_MSGS 64

typedef struct fx_msg {
    char *topic, *source, *payload;
} fx_msg_t;

typedef struct fx {
    uv_loop_t loop;
    vg_ctx_t ctx;
    char dir[64];
    char path[128];
    char *log;
    size_t loglen;
    store_t *st;
    bus_t *bus;
    bus_sub_t *sub;
    things_t *t;
    fx_msg_t msgs[FX_MSGS];
    int nmsgs;
} fx_t;

static inline void fx_on_msg(void *data, bus_msg_t *m)
{
    fx_t *f = data;
    if (f->nmsgs < FX_MSGS) {
        f->msgs[f->nmsgs].topic = strdup(m->topic);
        f->msgs[f->nmsgs].source = strdup(m->source);
        f->msgs[f->nmsgs].payload = strdup(m->payload);
    }
    f->nmsgs++;
}

static inline void fx_clear_msgs(fx_t *f)
{
    for (int i = 0; i < f->nmsgs && i < FX_MSGS; i++) {
        free(f->msgs[i].topic);
        free(f->msgs[i].source);
        free(f->msgs[i].payload);
    }
    memset(f->msgs, 0, sizeof f->msgs);
    f->nmsgs = 0;
}

/* Opens store, bus and things over the fixture's file. */
static inline void fx_open(fx_t *f)
{
    CHECK_EQ_INT(store_open(&f->ctx, f->path, &f->st), 0);
    CHECK_EQ_INT(bus_create(&f->ctx, &f->bus), 0);
    CHECK_EQ_INT(bus_subscribe(f->bus, "#", fx_on_msg, f, &f->sub), 0);
    CHECK_EQ_INT(things_create(&f->ctx, f->st, f->bus, &f->t), 0);
}

/* Destroys things, bus and store (running the loop to close the handles). */
static inline void fx_shut(fx_t *f)
{
    things_destroy(f->t);
    f->t = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    bus_destroy(f->bus);
    f->bus = NULL;
    store_close(f->st);
    f->st = NULL;
}

static inline void fx_init(fx_t *f)
{
    vg_config_t cfg;
    memset(f, 0, sizeof *f);
    vg_config_defaults(&cfg);
    cfg.driver_call_timeout_ms = 100;
    cfg.things_cache_flush_ms = 10;
    snprintf(f->dir, sizeof f->dir, "/tmp/verge-things-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof f->path, "%s/verge.db", f->dir);
    uv_loop_init(&f->loop);
    CHECK_EQ_INT(vg_ctx_init(&f->ctx, &f->loop, &cfg), 0);
    f->ctx.log.out = open_memstream(&f->log, &f->loglen);
    f->ctx.log.color = 0;
    fx_open(f);
}

static inline void fx_close(fx_t *f)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[160];
    fx_shut(f);
    fx_clear_msgs(f);
    CHECK_EQ_INT(uv_loop_close(&f->loop), 0);
    fclose(f->ctx.log.out);
    free(f->log);
    vg_ctx_close(&f->ctx);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static inline const char *fx_log(fx_t *f)
{
    fflush(f->ctx.log.out);
    return f->log ? f->log : "";
}

/* Adds the light product and device a1Light/lamp1 served by driver "drv". */
static inline things_device_t *fx_light(fx_t *f, const char *dn)
{
    char err[512] = "";
    if (!things_product_tsl(f->t, FX_PK))
        CHECK_EQ_INT(things_add_product(f->t, FX_PK, FX_TSL, NULL, err, sizeof err), 0);
    CHECK_EQ_INT(things_add_device(f->t, FX_PK, dn, "drv", NULL, NULL, err, sizeof err), 0);
    if (err[0]) fprintf(stderr, "  fx_light: %s\n", err);
    return things_device_find(f->t, FX_PK, dn);
}

/* Runs the loop until *flag is set (or nothing is left to run). */
static inline void fx_run_until(fx_t *f, const int *flag)
{
    for (int i = 0; !*flag && i < 100000; i++)
        if (!uv_run(&f->loop, UV_RUN_ONCE) && !*flag) break;
}

/* ---- the fake port ------------------------------------------------------------------------- */

typedef enum { PORT_MANUAL, PORT_SYNC, PORT_TWICE } port_mode_t;

typedef struct port_call {
    char cloud_id[160];
    char service[64];
    char *args; /* compact JSON */
    int64_t timeout_ms;
    things_reply_fn cb;
    void *data;
} port_call_t;

typedef struct fake_port {
    port_mode_t mode;
    int code;          /* PORT_SYNC, PORT_TWICE: the answer */
    const char *reply; /* its reply object, JSON text */
    port_call_t calls[32];
    int ncalls;
} fake_port_t;

static inline void port_reply(port_call_t *c, int code, const char *reply_json)
{
    json_t *reply = reply_json ? json_loads(reply_json, 0, NULL) : NULL;
    c->cb(c->data, code, code ? "port failure" : "Ok", reply);
    json_decref(reply);
}

static inline void port_call_service(void *port, const char *cloud_id, const char *service,
                                     json_t *args, int64_t timeout_ms, things_reply_fn cb,
                                     void *data)
{
    fake_port_t *p = port;
    port_call_t *c = &p->calls[p->ncalls < 32 ? p->ncalls : 31];
    p->ncalls++;
    snprintf(c->cloud_id, sizeof c->cloud_id, "%s", cloud_id);
    snprintf(c->service, sizeof c->service, "%s", service);
    free(c->args);
    c->args = json_dumps(args, JSON_COMPACT);
    c->timeout_ms = timeout_ms;
    c->cb = cb;
    c->data = data;
    if (p->mode == PORT_SYNC || p->mode == PORT_TWICE) port_reply(c, p->code, p->reply);
    if (p->mode == PORT_TWICE) port_reply(c, p->code, p->reply);
}

static inline const things_port_ops_t *fx_ops(void)
{
    static const things_port_ops_t ops = {port_call_service};
    return &ops;
}

static inline void port_free(fake_port_t *p)
{
    for (int i = 0; i < 32; i++)
        free(p->calls[i].args);
    memset(p, 0, sizeof *p);
}

/* ---- request results ----------------------------------------------------------------------- */

typedef struct got {
    int called;
    int code;
    int from_cache;
    char msg[512];
    char *data; /* compact JSON or NULL */
} got_t;

static inline void got_result(void *data, const things_result_t *res)
{
    got_t *g = data;
    g->called++;
    g->code = res->code;
    g->from_cache = res->from_cache;
    snprintf(g->msg, sizeof g->msg, "%s", res->message ? res->message : "(null)");
    free(g->data);
    g->data = res->data ? json_dumps(res->data, JSON_COMPACT) : NULL;
}

static inline void got_free(got_t *g)
{
    free(g->data);
    memset(g, 0, sizeof *g);
}

#endif
