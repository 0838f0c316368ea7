/* fnhost_int.h: the host's internal types shared by its files: a function (its state and
 * limits), an invocation (its coroutine), and a wait (a lecoresdk call in flight). */
#ifndef VG_FNHOST_FNHOST_INT_H
#define VG_FNHOST_FNHOST_INT_H

#include "fnhost/fnhost.h"

#include <lua.h>
#include <lauxlib.h>

#define VG_LOG_MODULE "fnhost"

#define FNHOST__HOOK_COUNT 1000 /* instructions between deadline checks */

typedef struct fnhost__fn fnhost__fn_t;
typedef struct fnhost__inv fnhost__inv_t;
typedef struct fnhost__wait fnhost__wait_t;
typedef struct fnhost__timer fnhost__timer_t;

enum { FNHOST__KILL_NONE = 0, FNHOST__KILL_TIME, FNHOST__KILL_MEMORY };

/* A lecoresdk call in flight. It outlives its invocation when the invocation is killed or
 * the host shuts down first (inv is then NULL); it is freed when both its operation has
 * answered (op_done) and its timer has closed. */
struct fnhost__wait {
    fnhost_t *host;
    fnhost__inv_t *inv;
    uv_timer_t timer; /* sleep, or the guard at the invocation's deadline */
    int op_pending;   /* an operation (device call, invoke) will still call back */
    int timer_closed;
    int clamped; /* a sleep cut short by the deadline */
    /* the operation's answer, read by the continuation inside the coroutine */
    int code;
    char *message;
    json_t *json;
    char *str;
    size_t len;
    const char *fnerr;
};

struct fnhost__inv {
    fnhost__fn_t *fn;
    fnhost__inv_t *next; /* queue or running list */
    lua_State *co;       /* the coroutine, anchored by `ref` in the registry */
    int ref;
    char id[FNHOST_ID_LEN];
    char *payload;
    size_t len;
    json_t *invoker_context;
    char *topic, *source;
    int async;
    int toplevel; /* the function's top-level chunk, not a handler call */
    fnhost_done_fn cb;
    void *data;
    uint64_t deadline_ns;
    int killed; /* FNHOST__KILL_*: every later hook tick and pcall re-raises */
    fnhost__wait_t *wait;
    int outcome; /* once finished: 0 ok, 1 Handled, 2 Unhandled */
};

struct fnhost__fn {
    fnhost_t *host;
    fnhost__fn_t *next;
    char service[FNHOST_NAME_MAX + 1], name[FNHOST_NAME_MAX + 1];
    char label[2 * FNHOST_NAME_MAX + 16]; /* function="svc/name" */
    char *code_path, *dir, *handler;
    size_t mem_limit, mem_used;
    int64_t timeout_ms, idle_unload_ms;
    int concurrency, queue_max;
    fnhost_mode_t mode;
    lua_State *L;           /* NULL while unloaded */
    int ready;              /* the top level completed or is waiting */
    fnhost__inv_t *current; /* the invocation being resumed right now */
    fnhost__inv_t *running; /* handler invocations started, not finished (and the top level) */
    int nrunning;
    fnhost__inv_t *queue, *queue_tail;
    int nqueued;
    uv_timer_t idle;
    int idle_open;
    fnhost__timer_t *timers; /* spec.timers, armed while the host runs */
    size_t ntimers;
    json_t *env;             /* object of strings, never NULL */
    int64_t refusal_logged_ms; /* refusals are logged at most once a second */
    /* its metric series, found at the first use (invoke.c); NULL until then */
    vg_series_t *m_outcomes[4]; /* verge_fn_invocations_total: ok, handled, unhandled, refused */
    vg_series_t *m_errors, *m_memory;
    int retiring;    /* fnhost_remove: out of look-ups, freed once drained (fnhost.c) */
    char *top_error; /* the last top-level error text (load failures), or NULL */
};

struct fnhost {
    vg_ctx_t *ctx;
    things_t *things;
    bus_t *bus;
    fnhost__fn_t *fns;
    uv_timer_t reaper; /* frees retired functions once drained (fnhost.c) */
    int reaper_open;
    fnhost__inv_t *done, *done_tail; /* finished, callbacks to deliver */
    uv_idle_t pump;                  /* starts runnable invocations, delivers results */
    int pump_open;
    int started, closing;
    uint64_t seq;
    int handles; /* open handles (pump, idle timers, wait timers) */
    fnhost_shutdown_fn shutdown_cb;
    void *shutdown_data;
};

/* alloc.c */
void *fnhost__alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* hook.c */
void fnhost__hook(lua_State *L, lua_Debug *ar);
fnhost__fn_t *fnhost__fn_of(lua_State *L);
/* Checks the running invocation's deadline, as the hook does; for C functions whose work
 * is not bounded by the data they hold (the hook only runs between Lua instructions). */
void fnhost__tick(lua_State *L);
/* Raises the limit sentinel when the running invocation was killed; returns otherwise. */
void fnhost__check_killed(lua_State *L);
/* Kills the current invocation with `kind` and raises the sentinel. */
int fnhost__raise_killed(lua_State *L);
const char *fnhost__kill_message(int kind);

/* sandbox.c */
/* Builds the sandbox in fn->L (protected: call through lua_pcall). Leaves the env table in
 * the registry under FNHOST__ENV. */
int fnhost__sandbox_open(lua_State *L);
/* Returns 1 when `t` (index) is a read-only library proxy. */
int fnhost__is_readonly(lua_State *L, int idx);
/* Pushes a read-only proxy of the table at `idx`. */
void fnhost__push_readonly(lua_State *L, int idx);
/* Returns 1 when thread `co` is one of the host's invocation coroutines. */
int fnhost__is_host_thread(fnhost__fn_t *fn, lua_State *co);
extern const char fnhost__env_key[]; /* registry key of the env table (its address) */


/* pattern.c: string.find, match, gmatch and gsub with Lua 5.4's semantics, by a matcher that
 * checks the deadline (fnhost__tick) every few thousand steps. Plain C functions (no upvalues);
 * gmatch's iterator keeps its state in a userdata. */
int fnhost__str_find(lua_State *L);
int fnhost__str_match(lua_State *L);
int fnhost__str_gmatch(lua_State *L);
int fnhost__str_gsub(lua_State *L);

/* require.c */
int fnhost__require(lua_State *L);
extern const char fnhost__loaded_key[]; /* registry key of require's cache */

/* lecoresdk.c */
int fnhost__open_lecoresdk(lua_State *L);
/* Pushes a Lua value converted from `j` (depth-limited). */
void fnhost__push_json(lua_State *L, json_t *j, int depth);
/* Converts the Lua value at `idx` to JSON: a new reference, or NULL with *why set (a value
 * that has no JSON form, too deep, out of memory). Never raises, never runs metamethods. */
json_t *fnhost__to_json(lua_State *L, int idx, int depth, const char **why);

/* invoke.c */
/* Makes the pump run on the next loop iteration (not while closing). */
void fnhost__pump_schedule(fnhost_t *h);
/* Resumes inv's coroutine with `nargs` values on it; handles its result, error or wait. */
void fnhost__resume(fnhost__inv_t *inv, int nargs);
/* Ends inv: releases its coroutine and wait, counts the outcome, and queues the callback
 * (`fnerr` NULL, "Handled" or "Unhandled"; `payload` copied). A top level is freed at once. */
void fnhost__finish(fnhost__inv_t *inv, const char *fnerr, const char *payload, size_t len);
void fnhost__inv_free(fnhost__inv_t *inv);
/* Creates fn's state and runs its top level until it finishes or waits. Returns 0, or
 * VG_ENOMEM / VG_EINVAL (logged) with fn->L NULL. */
int fnhost__state_open(fnhost__fn_t *fn);
/* Ends fn's running invocations ("Unhandled") and closes its state. No-op when unloaded. */
void fnhost__state_close(fnhost__fn_t *fn);
/* Arms the idle-unload timer of an on-demand function with nothing running or queued. */
void fnhost__maybe_idle(fnhost__fn_t *fn);
fnhost__fn_t *fnhost__find(fnhost_t *h, const char *service, const char *name);
/* Queues inv for a start by the pump. Returns 0 or VG_ELIMIT (its queue is full). */
int fnhost__submit(fnhost_t *h, fnhost__inv_t *inv);
/* A new invocation of fn with a copy of the payload and a fresh id, or NULL. */
fnhost__inv_t *fnhost__inv_new(fnhost__fn_t *fn, const void *payload, size_t len);

/* timer.c */
/* Copies and checks spec timers into fn (cron expressions parsed). Returns 0, or VG_EINVAL /
 * VG_ENOMEM with a sentence in `err`; on error fn has no timers. */
int fnhost__timers_init(fnhost__fn_t *fn, const fnhost_timer_t *specs, size_t n, char *err,
                        size_t errlen);
/* Arms fn's timers (each one's handle counts in h->handles until closed). */
void fnhost__timers_start(fnhost__fn_t *fn);
/* Stops and closes fn's timers; their memory is freed by fnhost__timers_free after the close
 * callbacks. */
void fnhost__timers_close(fnhost__fn_t *fn);
void fnhost__timers_free(fnhost__fn_t *fn);

/* fnhost.c */
/* Accepts an invocation (fnhost_invoke's body) with an optional context topic and source. */
int fnhost__invoke(fnhost_t *h, const char *service, const char *name, const void *payload,
                   size_t len, json_t *invoker_context, const char *topic, const char *source,
                   int async, fnhost_done_fn cb, void *data, char *id_out);

/* wait.c */
/* Starts a wait for the invocation running L (its own coroutine): returns the wait, or raises
 * a Lua error when L is not an invocation's coroutine (a nested coroutine) or cannot yield.
 * `sleep_ms` >= 0: a sleep (bounded by the deadline); < 0: an operation will answer through
 * fnhost__wait_op_done, and the timer guards the invocation's deadline. */
fnhost__wait_t *fnhost__wait_begin(lua_State *L, int64_t sleep_ms);
/* Yields until the wait ends; `k(L, status, (lua_KContext)w)` runs inside the coroutine: it
 * must call fnhost__check_killed first, then read w's answer. */
int fnhost__wait_yield(lua_State *L, fnhost__wait_t *w, lua_KFunction k);
/* The operation of `w` answered (its fields are set): resumes the invocation when it still
 * waits. Frees w once its timer is closed too. */
void fnhost__wait_op_done(fnhost__wait_t *w);
/* Detaches and cancels the wait of `inv` (killed or shutdown). */
void fnhost__wait_cancel(fnhost__inv_t *inv);
/* The invocation still waiting on w, or NULL when it went away (drop the answer then). */
fnhost__inv_t *fnhost__wait_inv(fnhost__wait_t *w);
/* One of the host's handles closed; the last one completes a shutdown. */
void fnhost__handle_closed(fnhost_t *h);

#endif
