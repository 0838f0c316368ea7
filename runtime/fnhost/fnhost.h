/* fnhost.h: the function host. Each Lua function gets its own sandboxed lua_State with a
 * byte-accounted allocator (memory limit) and an instruction-count hook (time limit); each
 * invocation runs in its own coroutine, which yields while lecoresdk waits. Loop-thread only. */
#ifndef VG_FNHOST_FNHOST_H
#define VG_FNHOST_FNHOST_H

#include "bus/bus.h"
#include "core/ctx.h"
#include "things/things.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fnhost fnhost_t;

typedef enum {
    FNHOST_ON_DEMAND = 0, /* state created at the first invocation, closed when idle */
    FNHOST_LONG_RUNNING   /* state created at fnhost_start; its top level may loop with sleep */
} fnhost_mode_t;

#define FNHOST_NAME_MAX    64         /* service and function names: [A-Za-z0-9_.-]{1,64} */
#define FNHOST_PAYLOAD_MAX (1u << 20) /* a handler's result above this is "Unhandled" */
#define FNHOST_ID_LEN      40         /* invocation ids, NUL included */

/* A timer that invokes the function (runtime/fnhost/timer.c): exactly one of every_ms and cron.
 * Its handler gets the event {"type":"timer","index":I,"everyMs":N | "cron":"EXPR",
 * "scheduledMs":T,"firedMs":T,"payload":"..."} and context.source "timer". A firing that
 * finds the function's queue full is counted as refused and skipped. */
typedef struct fnhost_timer {
    int64_t every_ms;    /* > 0, or 0 when cron is set */
    const char *cron;    /* a five-field expression (core/cron.h), or NULL */
    const char *payload; /* NULL: "" */
} fnhost_timer_t;

#define FNHOST_TIMERS_MAX 64

typedef struct fnhost_spec {
    const char *service;   /* e.g. "EdgeFC" */
    const char *name;      /* e.g. "helloworld" */
    const char *code_path; /* the function's Lua file; its directory is the bundle dir */
    const char *handler;   /* global called per invocation; "index.handler" means "handler";
                              NULL: "handler" */
    size_t memory_bytes;   /* the state's whole heap, baseline included; 0: 32 MiB */
    int64_t timeout_ms;    /* per invocation (wall clock); per run slice of a long-running
                              top level; 0: 3000 */
    int concurrency;       /* invocations running or waiting in the state; 0: 1 */
    int queue_max;         /* invocations waiting for a slot; 0: 100, < 0: none */
    fnhost_mode_t mode;
    int64_t idle_unload_ms; /* on-demand: close the state after this long idle; 0: 60000 */
    const fnhost_timer_t *timers; /* copied; started by fnhost_start (or at add once started) */
    size_t ntimers;               /* at most FNHOST_TIMERS_MAX */
    json_t *env; /* NULL, or an object of strings: lecoresdk.env (a reference is taken) */
} fnhost_spec_t;

typedef struct fnhost_result {
    const char *id;             /* the invocation id */
    int status_code;            /* 200 when the function ran, 500 when it could not be run */
    const char *function_error; /* NULL, "Handled" (a Lua error) or "Unhandled" (a limit,
                                   a refused or failed start, shutdown) */
    const char *payload;        /* the handler's result, or the error message; borrowed */
    size_t len;
} fnhost_result_t;

/* Called exactly once per accepted invocation, on the loop, never from inside fnhost_invoke.
 * `res` and its strings are borrowed for the call. */
typedef void (*fnhost_done_fn)(void *data, const fnhost_result_t *res);
typedef void (*fnhost_shutdown_fn)(void *data);

/* Creates an empty host on `ctx`; `things` and `bus` (each may be NULL: the lecoresdk calls
 * that need them then fail with an error) must outlive the host. Declares the metrics
 * verge_fn_invocations_total{function,outcome}, verge_fn_errors_total{function},
 * verge_fn_limit_breaches_total{function,kind} and verge_fn_memory_bytes{function}.
 * Returns 0 and *out, or VG_ENOMEM. */
int fnhost_create(vg_ctx_t *ctx, things_t *things, bus_t *bus, fnhost_t **out);

/* Adds a function. Validates the spec and compiles the code file once, as text, to check its
 * syntax. Returns 0, or with a sentence in `err`: VG_EINVAL (a bad name or bound, a syntax
 * error naming file and line), VG_EEXIST (service/name taken), VG_EIO (unreadable file),
 * VG_ENOMEM. On error nothing is changed. Before fnhost_start or after it. */
int fnhost_add(fnhost_t *h, const fnhost_spec_t *spec, char *err, size_t errlen);

/* Starts the long-running functions: each one's state is created and its top level runs in a
 * coroutine, now, until it finishes or first waits (it is resumed by the loop afterwards);
 * long-running functions added later start when added. A top level that fails is logged, and
 * its state is loaded again by the function's next invocation. Returns 0. */
int fnhost_start(fnhost_t *h);

/* Invokes service/name with `payload` (`len` bytes, copied) as the event. `invoker_context`
 * (may be NULL; a reference is taken) becomes context.invokerContext. With `async`, `cb` may
 * be NULL and the result payload is dropped. Writes the invocation id to `id_out` (may be
 * NULL). Returns 0 (cb will be called later, exactly once), VG_ENOENT (no such function),
 * VG_ELIMIT (its queue is full), VG_ECLOSED (shutting down) or VG_ENOMEM; on error cb is
 * never called. */
int fnhost_invoke(fnhost_t *h, const char *service, const char *name, const void *payload,
                  size_t len, json_t *invoker_context, int async, fnhost_done_fn cb, void *data,
                  char id_out[FNHOST_ID_LEN]);

/* Resolves the function an invoker names, as invokeFunction's params do: `service` and `name`
 * both given, or else `id` "SERVICE/NAME" (any may be NULL). Writes both parts, NUL-terminated,
 * to svc_out and name_out. Returns 0, or VG_EINVAL when neither form is complete or a part is
 * longer than FNHOST_NAME_MAX (the outputs are then unspecified). */
int fnhost_target_parse(const char *service, const char *name, const char *id,
                        char svc_out[FNHOST_NAME_MAX + 1], char name_out[FNHOST_NAME_MAX + 1]);

/* invocationType: NULL or "Sync" gives 0, "Async" 1, anything else -1. */
int fnhost_invocation_async(const char *type);

#define FNHOST_CONTEXT_MAX (64 * 1024) /* bytes of an invokerContext, as JSON or base64 */

/* Parses an invokerContext given as text: a JSON object, or the base64 of one (what the
 * original SDKs send: base64(JSON({"custom":{...}}))). Returns 0 and a new reference in *out,
 * or VG_EINVAL / VG_ELIMIT with a sentence in `err` (not base64, not JSON, not an object,
 * over FNHOST_CONTEXT_MAX). */
int fnhost_context_parse(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* Same, for a routed message `m` (borrowed): the event is the JSON text
 * {"topic":"<m->topic>","payload":"<m->payload as a JSON string>"} (DESIGN.md §2.3), and
 * context.topic and context.source are m's. `cb` may be NULL (then the result is dropped). */
int fnhost_invoke_msg(fnhost_t *h, const char *service, const char *name, const bus_msg_t *m,
                      fnhost_done_fn cb, void *data);

/* Stops the host: invocations queued or running are answered "Unhandled" ("the runtime is
 * shutting down"), states are closed, handles are closed; `done(data)` is called once
 * everything is released (on a later loop iteration). Further invokes get VG_ECLOSED. */
void fnhost_shutdown(fnhost_t *h, fnhost_shutdown_fn done, void *data);

/* Retires function service/name (a deployment replaces or drops it): from now on it is out
 * of every look-up, so invokes, routes and timers reach the function added under the same name
 * next, if any; its timers stop; its queued and running invocations finish on it, then its
 * state is closed and it is freed (a long-running function's top level ends once no handler
 * invocation is left). Returns 0 or VG_ENOENT. */
int fnhost_remove(fnhost_t *h, const char *service, const char *name);

/* Loads function service/name now when it is not loaded: creates its state and runs its top
 * level (after fnhost_start). Returns 0 when the state is open (the top level finished, or
 * waits in a lecoresdk call), VG_EINVAL with the top level's error (message and traceback) in
 * `err` when it raised or broke a limit, VG_ENOENT, VG_ENOMEM. An on-demand function loaded
 * this way is unloaded after its idle time as usual. */
int fnhost_load(fnhost_t *h, const char *service, const char *name, char *err, size_t errlen);

/* Frees the host. Call only after fnhost_shutdown's done callback (the host owns an idle
 * handle from fnhost_create on). NULL is a no-op. */
void fnhost_destroy(fnhost_t *h);

/* Bytes currently allocated by the function's state (0 when unloaded), or -1 when unknown. */
int64_t fnhost_memory_in_use(fnhost_t *h, const char *service, const char *name);

#endif
