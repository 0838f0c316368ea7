/* conn.h: the driver's connection to the runtime (docs/driver-protocol.md): connect and
 * handshake, blocking calls matched to replies by seq, signals, and a worker pool that runs
 * the runtime's calls to the driver. Internal to libleda_sdk_c; every function is thread-safe. */
#ifndef LEDA_CONN_H
#define LEDA_CONN_H

#include <jansson.h>
#include <stddef.h>

#define LEDA__CALL_TIMEOUT_MS    10000 /* a call's reply deadline, as the original's D-Bus calls */
#define LEDA__CONNECT_TIMEOUT_MS 5000  /* how long to retry connect() while the runtime binds */
#define LEDA__CONNECT_RETRY_MS   100

typedef struct leda__conn leda__conn_t;

/* Handles one call from the runtime on a worker thread: `method` is the call's method (a
 * string), `params` its params (borrowed; NULL when absent). Sets *code to an le_error.h code
 * (LE_ERROR_SERVICE_UNREACHABLE for an unknown method) and returns the reply's params as a new
 * reference (NULL sends {}). */
typedef json_t *(*leda__call_fn)(void *data, const char *method, json_t *params, int *code);

typedef struct leda__conn_opts {
    const char *socket_path; /* the runtime's Unix socket */
    const char *function_id; /* sent in hello */
    const char *token;       /* sent in hello */
    int workers;             /* threads running on_call, > 0 */
    int timeout_ms;          /* deadline of the handshake's welcome (<= 0: the default) */
    leda__call_fn on_call;
    void *data; /* passed to on_call */
} leda__conn_opts_t;

/* Connects to opts->socket_path (retrying every LEDA__CONNECT_RETRY_MS for up to
 * LEDA__CONNECT_TIMEOUT_MS), sends hello, waits for welcome, then starts the reader thread and
 * the workers. Returns LE_SUCCESS and *out, LE_ERROR_INVAILD_PARAM (bad options),
 * LE_ERROR_SERVICE_UNREACHABLE (no connection, no welcome in time, or the runtime closed),
 * LE_ERROR_UNKNOWN (the runtime answered error or an unusable welcome) or
 * LE_ERROR_ALLOCATING_MEM. On failure nothing is left behind. */
int leda__conn_open(const leda__conn_opts_t *opts, leda__conn_t **out);

/* Calls `method` with `params` (stolen; NULL sends {}) and blocks until its reply or
 * `timeout_ms`. Returns LE_SUCCESS when a reply came: *code is its code and, if `result` is not
 * NULL, *result its params (a new reference, NULL when absent). Otherwise returns
 * LE_ERROR_TIMEOUT, LE_ERROR_SERVICE_UNREACHABLE (NULL `c`, the connection is closed or
 * closes meanwhile), LE_ERROR_INVAILD_PARAM (the call does not fit in a frame) or
 * LE_ERROR_ALLOCATING_MEM, and *result is NULL. */
int leda__conn_call(leda__conn_t *c, const char *method, json_t *params, int timeout_ms, int *code,
                    json_t **result);

/* Frames to the runtime, calls, replies and signals alike, go out in the order their senders
 * handed them over (so a thread's frames never overtake each other) through one output
 * buffer of at most 256 KiB: a sender whose frame does not fit waits for the writing sender
 * to take the buffer. When no other thread is writing, a sender writes its frame (and
 * whatever was appended meanwhile) itself before returning; when one is, it appends its frame
 * and returns, and the writing thread writes it with its next write(). */

/* Sends signal `method` with `params` (stolen). Returns LE_SUCCESS once it is written or
 * handed to the thread writing, LE_ERROR_SERVICE_UNREACHABLE (closed, or a write failed),
 * LE_ERROR_INVAILD_PARAM (too large) or LE_ERROR_ALLOCATING_MEM. */
int leda__conn_signal(leda__conn_t *c, const char *method, json_t *params);

/* Sends the `len` bytes of `frame`, one or more whole frames (length and body) made by the
 * caller, as leda__conn_signal() sends one. Returns what leda__conn_signal() does, but never
 * LE_ERROR_INVAILD_PARAM: the caller has checked the size. */
int leda__conn_signal_frame(leda__conn_t *c, const unsigned char *frame, size_t len);

/* Waits (up to a second) for the frames already handed to a writing thread to be written,
 * then shuts the socket down: pending and later calls fail with
 * LE_ERROR_SERVICE_UNREACHABLE. Idempotent; threads keep running until leda__conn_close(). */
void leda__conn_shutdown(leda__conn_t *c);

/* Shuts down, joins the reader and the workers (waiting for running handlers), drops queued
 * calls and frees `c`. NULL is ignored. Must not be called from a handler. */
void leda__conn_close(leda__conn_t *c);

#endif
