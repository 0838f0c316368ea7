/* drvhost_int.h: the driver host's internal structures, shared by host.c (socket, accept,
 * handshake), driver.c (processes, restarts, output) and methods.c (the protocol's calls and
 * signals). */
#ifndef VG_DRVHOST_INT_H
#define VG_DRVHOST_INT_H

#include "drvhost/drvhost.h"
#include "drvhost/frame.h"

#include <uv.h>

typedef struct drvhost_conn drvhost_conn_t;
typedef struct drvhost_driver drvhost_driver_t;

/* A call the runtime made to a driver, waiting for its reply. */
typedef struct drvhost_pending {
    struct drvhost_pending *next;
    int64_t seq;
    uv_timer_t timer;
    drvhost_driver_t *driver; /* NULL once answered or failed (the timer is closing) */
    things_reply_fn cb;
    void *data;
    int fail_code; /* non-zero: fail with it when the timer fires */
} drvhost_pending_t;

/* One accepted socket connection: unauthenticated until its hello names a driver whose
 * token it knows. */
struct drvhost_conn {
    drvhost_t *host;
    drvhost_conn_t *next;
    uv_pipe_t pipe;
    uv_timer_t hello_timer;
    int handles_open;
    int closing;
    drvhost_driver_t *driver; /* set after the handshake */
    drvhost_frame_reader_t reader;
    uint64_t turn_ns;        /* spent on its frames since the resume handle last ran */
    uint64_t frame_start_ns; /* when the frame being handled started */
    int paused;              /* reading stopped until the next loop turn (turn_ns spent) */
};

/* The output (stdout or stderr) of a driver process, cut into log lines. */
typedef struct drvhost_output {
    uv_pipe_t pipe;
    drvhost_driver_t *driver;
    int is_stderr;
    int open;
    vg_buf_t line;
} drvhost_output_t;

typedef enum {
    DRV_STOPPED = 0, /* not started, or stopped for good */
    DRV_RUNNING,     /* process alive */
    DRV_BACKOFF,     /* waiting to restart */
} drvhost_state_t;

struct drvhost_driver {
    drvhost_t *host;
    drvhost_driver_t *next;
    char *name, *exec, *workdir, *config;
    char token[65];
    drvhost_state_t state;
    uv_process_t proc;
    int proc_open;
    drvhost_output_t out, err;
    uv_timer_t timer; /* restart backoff, or the SIGKILL deadline while stopping */
    int stopping;     /* asked to stop: do not restart */
    int crashes;      /* consecutive short-lived runs */
    int64_t exits;    /* runs that ended without being asked to (spawn failures included) */
    int killed;       /* the stop needed SIGKILL */
    int removing;     /* in h->removing: freed once its handles are closed */
    void (*removed)(void *data, int clean); /* drvhost_remove_driver's callback */
    void *removed_data;
    uint64_t started_at;
    int64_t pid;
    drvhost_conn_t *conn;
    int config_subscribed;
    int64_t next_seq;
    drvhost_pending_t *pending;
    vg_series_t *m_restarts, *m_up;
};

struct drvhost {
    vg_ctx_t *ctx;
    things_t *things;
    uv_pipe_t listener;
    int listening;
    char *socket_path;
    drvhost_driver_t *drivers;
    drvhost_driver_t *removing; /* drivers being stopped by drvhost_remove_driver */
    drvhost_conn_t *conns;
    int shutting_down;
    void (*done)(void *);
    void *done_data;
    int open_handles; /* processes, pipes and timers still to close during shutdown */
    uv_idle_t resume; /* resumes connections paused for the rest of a loop turn */
    int resume_init;
    char readbuf[65536]; /* one buffer serves every connection: reads are consumed at once */
};

/* host.c */
void drvhost__conn_close(drvhost_conn_t *c);
int drvhost__send(drvhost_conn_t *c, const json_t *msg);
void drvhost__check_done(drvhost_t *h);
drvhost_driver_t *drvhost__find(drvhost_t *h, const char *name);

/* driver.c */
void drvhost__driver_start(drvhost_driver_t *d);
void drvhost__driver_stop(drvhost_driver_t *d);
void drvhost__driver_attached(drvhost_driver_t *d, drvhost_conn_t *c);
void drvhost__driver_detached(drvhost_driver_t *d, const char *why);
void drvhost__driver_free(drvhost_driver_t *d);

/* methods.c */
void drvhost__on_message(drvhost_driver_t *d, drvhost_msg_t *m);
void drvhost__fail_pending(drvhost_driver_t *d, int code, const char *message);
extern const things_port_ops_t drvhost__port_ops;

#endif
