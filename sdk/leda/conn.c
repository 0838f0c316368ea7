/* conn.c: the driver side of docs/driver-protocol.md. One reader thread takes every frame:
 * replies wake the caller waiting for that seq, calls from the runtime go to a queue served by
 * the worker pool. Frames from the runtime are validated; bad ones are logged and skipped.
 * Frames to the runtime go through one bounded output buffer: a sender appends its frame and,
 * when no other thread is writing, writes everything buffered with one write, again until the
 * buffer is empty; frames appended meanwhile by other threads go out in that thread's next
 * write. Idle, a frame is written by its own sender at once; under load, one write carries
 * many frames. */
#include "conn.h"

#include "convert.h"
#include "le_error.h"
#include "leda.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LEDA__PROTOCOL_VERSION 1
#define LEDA__QUEUE_MAX        4096 /* runtime calls waiting for a worker; more are refused */
#define LEDA__RECV_CHUNK       16384
#define LEDA__OUT_MAX          (256 * 1024) /* bytes buffered for writing; more wait for room */
#define LEDA__DRAIN_MS         1000 /* how long a shutdown waits for buffered frames to go out */

/* A call of the driver waiting for its reply; lives on the caller's stack. */
typedef struct leda__pending {
    json_int_t seq;
    int done;      /* answered, or failed */
    int status;    /* LE_SUCCESS when a reply came, else why the call failed */
    int code;      /* the reply's code */
    json_t *reply; /* the reply frame, handed over whole (see leda__frame_types) */
    struct leda__pending *next;
} leda__pending_t;

/* A call of the runtime waiting for a worker. */
typedef struct leda__job {
    json_t *frame;
    struct leda__job *next;
} leda__job_t;

struct leda__conn {
    int fd;
    pthread_mutex_t out_mu;  /* guards out, batch, writing, out_failed */
    pthread_cond_t out_room; /* out was taken or written, or writing failed (MONOTONIC) */
    leda__bytes_t out;       /* whole frames not yet written, in the order they came */
    leda__bytes_t batch;     /* what the writer is writing now (storage swapped with out) */
    int writing;             /* a sender is writing: frames appended now are its to write */
    int out_failed;          /* a write failed: the stream is unusable, senders fail fast */
    pthread_mutex_t mu;      /* guards everything down to `stopping` */
    pthread_cond_t replied;  /* a pending call is done (CLOCK_MONOTONIC) */
    pthread_cond_t work;     /* a job was queued, or the workers must stop */
    json_int_t next_seq;
    leda__pending_t *pending;
    leda__job_t *head, *tail;
    int queued;
    int closed;   /* the connection is gone: calls fail fast */
    int stopping; /* the workers must exit */
    leda__call_fn on_call;
    void *data;
    leda__wire_reader_t rd; /* the handshake's, then the reader thread's */
    int reader_started;
    pthread_t reader;
    int nworkers; /* started so far */
    pthread_t *workers;
};

/* ---- time ---------------------------------------------------------------------------------- */

static int64_t leda__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec leda__deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void leda__sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- frames -------------------------------------------------------------------------------- */

/* {"type":type} plus `seq` when >= 0, `method` when not NULL and `params` (stolen) when not
 * NULL. Returns NULL when out of memory (params is released then too). */
static json_t *leda__frame(const char *type, json_int_t seq, const char *method, json_t *params)
{
    json_t *f = json_object();
    int bad = !f || json_object_set_new(f, "type", json_string(type)) != 0;
    if (!bad && seq >= 0) bad = json_object_set_new(f, "seq", json_integer(seq)) != 0;
    if (!bad && method) bad = json_object_set_new(f, "method", json_string(method)) != 0;
    if (!bad && params) {
        bad = json_object_set_new(f, "params", params) != 0;
        params = NULL;
    }
    json_decref(params);
    if (bad) {
        json_decref(f);
        return NULL;
    }
    return f;
}

/* Appends the `len` bytes of whole frames to the output buffer, waiting while it holds
 * LEDA__OUT_MAX bytes or more (a writer is taking them; its send times out after
 * LEDA__CALL_TIMEOUT_MS when the runtime stops reading), then writes the buffer unless
 * another sender is writing, which then writes these frames too, in order. A failed write may
 * leave half a frame behind, so the socket is shut down then and the reader fails everything.
 * Returns LE_SUCCESS (written, or handed to the writing sender), LE_ERROR_SERVICE_UNREACHABLE
 * (a write failed, now or before) or LE_ERROR_ALLOCATING_MEM (nothing appended). */
static int leda__put(leda__conn_t *c, const unsigned char *frame, size_t len)
{
    pthread_mutex_lock(&c->out_mu);
    while (!c->out_failed && c->out.len > 0 && c->out.len + len > LEDA__OUT_MAX)
        pthread_cond_wait(&c->out_room, &c->out_mu);
    if (c->out_failed) {
        pthread_mutex_unlock(&c->out_mu);
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    if (c->out.cap - c->out.len < len) {
        size_t cap = c->out.cap ? c->out.cap : 4096;
        while (cap - c->out.len < len)
            cap *= 2;
        unsigned char *p = realloc(c->out.data, cap);
        if (!p) {
            pthread_mutex_unlock(&c->out_mu);
            return LE_ERROR_ALLOCATING_MEM;
        }
        c->out.data = p;
        c->out.cap = cap;
    }
    memcpy(c->out.data + c->out.len, frame, len);
    c->out.len += len;
    if (c->writing) { /* the writing sender takes it with its next write */
        pthread_mutex_unlock(&c->out_mu);
        return LE_SUCCESS;
    }
    c->writing = 1;
    int rc = LE_SUCCESS, first = 1;
    while (c->out.len > 0 && !c->out_failed) {
        leda__bytes_t b = c->batch; /* take the buffer; appenders get the emptied one */
        c->batch = c->out;
        c->out = b;
        c->out.len = 0;
        pthread_cond_broadcast(&c->out_room);
        pthread_mutex_unlock(&c->out_mu);
        int w = leda__wire_write_all(c->fd, c->batch.data, c->batch.len);
        int err = errno;
        pthread_mutex_lock(&c->out_mu);
        c->batch.len = 0;
        if (w != 0) {
            log_e(LEDA_TAG_NAME, "writing to the runtime failed: %s\n", strerror(err));
            c->out_failed = 1;
            c->out.len = 0; /* frames after a broken one cannot be read: dropped */
            shutdown(c->fd, SHUT_RDWR);
            pthread_cond_broadcast(&c->out_room);
            if (first) rc = LE_ERROR_SERVICE_UNREACHABLE; /* this sender's frame was in it */
        }
        first = 0;
    }
    c->writing = 0;
    pthread_cond_broadcast(&c->out_room); /* for leda__drain() */
    pthread_mutex_unlock(&c->out_mu);
    return rc;
}

/* Waits until every frame handed to a writing sender is written, writing failed, or
 * LEDA__DRAIN_MS passed (a runtime that stops reading must not hold up a close). */
static void leda__drain(leda__conn_t *c)
{
    struct timespec deadline = leda__deadline(LEDA__DRAIN_MS);
    pthread_mutex_lock(&c->out_mu);
    while (c->writing && !c->out_failed)
        if (pthread_cond_timedwait(&c->out_room, &c->out_mu, &deadline) == ETIMEDOUT) break;
    pthread_mutex_unlock(&c->out_mu);
}

/* Sends frame `f` (borrowed) through leda__put(). Returns an le_error.h code. */
static int leda__send(leda__conn_t *c, json_t *f)
{
    if (!f) return LE_ERROR_ALLOCATING_MEM;
    unsigned char *buf;
    size_t len;
    int rc = leda__wire_encode(f, &buf, &len);
    switch (rc) {
    case 0:
        break;
    case LEDA__WIRE_TOO_LARGE:
        log_e(LEDA_TAG_NAME, "message larger than %d bytes not sent\n", LEDA__WIRE_MAX);
        return LE_ERROR_INVAILD_PARAM;
    default:
        return LE_ERROR_ALLOCATING_MEM;
    }
    rc = leda__put(c, buf, len);
    free(buf);
    return rc;
}

/* Answers call `seq` with `code` and `params` (stolen; NULL gives {}). */
static void leda__reply(leda__conn_t *c, json_int_t seq, int code, json_t *params)
{
    int rc = leda__reply_code(code);
    json_t *f = leda__frame("reply", seq, NULL, params ? params : json_object());
    if (f && (json_object_set_new(f, "code", json_integer(rc)) != 0 ||
              json_object_set_new(f, "message", json_string(leda__reply_message(rc))) != 0)) {
        json_decref(f);
        f = NULL;
    }
    if (leda__send(c, f) != LE_SUCCESS)
        log_e(LEDA_TAG_NAME, "reply to call %lld not sent\n", (long long)seq);
    json_decref(f);
}

/* ---- receiving ----------------------------------------------------------------------------- */

/* Waits up to `timeout_ms` (-1: forever) for bytes and adds them to the reader. Returns 1 when
 * bytes came, 0 on timeout, -1 when the connection closed or failed. */
static int leda__recv(leda__conn_t *c, int timeout_ms)
{
    unsigned char buf[LEDA__RECV_CHUNK];
    for (;;) {
        if (timeout_ms >= 0) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            int r = poll(&pfd, 1, timeout_ms);
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) return 0;
            if (r < 0) return -1;
        }
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        return leda__wire_reader_feed(&c->rd, buf, (size_t)n) == 0 ? 1 : -1;
    }
}

/* Takes the next frame into *out, receiving until `deadline_ms` (monotonic; -1: none). Frames
 * that are not JSON objects are logged and skipped. Returns 1, 0 (deadline), or -1 (the
 * connection closed, failed, or sent a bad length). */
static int leda__next_frame(leda__conn_t *c, int64_t deadline_ms, json_t **out)
{
    for (;;) {
        int r = leda__wire_reader_next(&c->rd, out);
        if (r == LEDA__WIRE_FRAME) return 1;
        if (r == LEDA__WIRE_BAD_JSON) {
            log_e(LEDA_TAG_NAME, "frame from the runtime is not a JSON object; skipped\n");
            continue;
        }
        if (r == LEDA__WIRE_BAD_LEN) {
            log_e(LEDA_TAG_NAME, "frame from the runtime has a bad length; closing\n");
            return -1;
        }
        int wait = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - leda__now_ms();
            if (left <= 0) return 0;
            wait = left > INT_MAX ? INT_MAX : (int)left;
        }
        r = leda__recv(c, wait);
        if (r <= 0) return r;
    }
}

/* The `seq` of frame `f`, or -1 when it has no valid one. */
static json_int_t leda__seq(json_t *f)
{
    json_t *s = json_object_get(f, "seq");
    return json_is_integer(s) && json_integer_value(s) >= 0 ? json_integer_value(s) : -1;
}

/* Marks the connection closed and fails every pending call; shuts the socket down so that
 * blocked readers and writers return. Idempotent. */
static void leda__fail_all(leda__conn_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->closed = 1;
    for (leda__pending_t *p = c->pending; p; p = p->next) {
        if (p->done) continue;
        p->done = 1;
        p->status = LE_ERROR_SERVICE_UNREACHABLE;
    }
    pthread_cond_broadcast(&c->replied);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&c->out_mu);
    c->out_failed = 1; /* later frames fail fast; one being written fails with the socket */
    c->out.len = 0;
    pthread_cond_broadcast(&c->out_room);
    pthread_mutex_unlock(&c->out_mu);
    shutdown(c->fd, SHUT_RDWR);
}

static void leda__on_reply(leda__conn_t *c, json_t *f)
{
    json_int_t seq = leda__seq(f);
    json_t *jcode = json_object_get(f, "code");
    int code = LE_ERROR_UNKNOWN, found = 0;
    if (seq < 0) {
        log_e(LEDA_TAG_NAME, "reply without a valid seq; ignored\n");
        json_decref(f);
        return;
    }
    if (json_is_integer(jcode) && json_integer_value(jcode) >= INT_MIN &&
        json_integer_value(jcode) <= INT_MAX)
        code = (int)json_integer_value(jcode);
    else
        log_e(LEDA_TAG_NAME, "reply %lld without a valid code\n", (long long)seq);
    pthread_mutex_lock(&c->mu);
    for (leda__pending_t *p = c->pending; p && !found; p = p->next) {
        if (p->seq != seq || p->done) continue;
        p->done = found = 1;
        p->status = LE_SUCCESS;
        p->code = code;
        p->reply = f;
        pthread_cond_broadcast(&c->replied);
    }
    pthread_mutex_unlock(&c->mu);
    if (!found) {
        log_e(LEDA_TAG_NAME, "reply to no waiting call (seq %lld); ignored\n", (long long)seq);
        json_decref(f);
    }
}

static void leda__on_call(leda__conn_t *c, json_t *f)
{
    json_int_t seq = leda__seq(f);
    if (seq < 0) {
        log_e(LEDA_TAG_NAME, "call without a valid seq; ignored\n");
        json_decref(f);
        return;
    }
    if (!json_is_string(json_object_get(f, "method"))) {
        log_e(LEDA_TAG_NAME, "call %lld without a method\n", (long long)seq);
        json_decref(f);
        leda__reply(c, seq, LE_ERROR_INVAILD_PARAM, NULL);
        return;
    }
    leda__job_t *job = malloc(sizeof *job);
    pthread_mutex_lock(&c->mu);
    int full = c->queued >= LEDA__QUEUE_MAX;
    if (job && !full) {
        job->frame = f;
        job->next = NULL;
        if (c->tail)
            c->tail->next = job;
        else
            c->head = job;
        c->tail = job;
        c->queued++;
        pthread_cond_signal(&c->work);
    }
    pthread_mutex_unlock(&c->mu);
    if (!job || full) {
        int code = job ? LE_ERROR_SERVICE_UNREACHABLE : LE_ERROR_ALLOCATING_MEM;
        log_e(LEDA_TAG_NAME, "call %lld refused: %s\n", (long long)seq,
              job ? "too many calls waiting" : "out of memory");
        json_decref(f);
        free(job);
        leda__reply(c, seq, code, NULL);
    }
}

/* Signals to the driver: none is defined yet; unknown ones are ignored (versioning rule). */
static void leda__on_signal(leda__conn_t *c, json_t *f)
{
    (void)c;
    json_decref(f);
}

/* Handlers of the frame types. Each takes the reader's frame over: a frame is handed to the
 * thread that uses it and is never shared, as jansson's reference counts are not made for
 * objects used by several threads at once. */
static const struct {
    const char *type;
    void (*fn)(leda__conn_t *c, json_t *f);
} leda__frame_types[] = {
    {"reply", leda__on_reply},
    {"call", leda__on_call},
    {"signal", leda__on_signal},
};

static void *leda__reader_main(void *arg)
{
    leda__conn_t *c = arg;
    json_t *f;
    while (leda__next_frame(c, -1, &f) > 0) {
        const char *type = json_string_value(json_object_get(f, "type"));
        size_t i = 0, n = sizeof leda__frame_types / sizeof leda__frame_types[0];
        while (type && i < n && strcmp(type, leda__frame_types[i].type) != 0)
            i++;
        if (type && i < n) {
            leda__frame_types[i].fn(c, f);
        } else {
            log_e(LEDA_TAG_NAME, "frame of unknown type %s; ignored\n", type ? type : "(none)");
            json_decref(f);
        }
    }
    leda__fail_all(c);
    return NULL;
}

/* ---- the worker pool ----------------------------------------------------------------------- */

static void *leda__worker_main(void *arg)
{
    leda__conn_t *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head && !c->stopping)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->stopping) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        leda__job_t *job = c->head;
        c->head = job->next;
        if (!c->head) c->tail = NULL;
        c->queued--;
        pthread_mutex_unlock(&c->mu);

        json_t *f = job->frame;
        const char *method = json_string_value(json_object_get(f, "method"));
        int code = LE_ERROR_SERVICE_UNREACHABLE;
        json_t *result = c->on_call(c->data, method, json_object_get(f, "params"), &code);
        leda__reply(c, leda__seq(f), code, result);
        json_decref(f);
        free(job);
    }
}

/* ---- opening and closing ------------------------------------------------------------------- */

/* Connects to `path`, retrying while the runtime may still be binding. Returns the socket or
 * -1 (errno set). */
static int leda__connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int64_t give_up = leda__now_ms() + LEDA__CONNECT_TIMEOUT_MS;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
        int err = errno;
        close(fd);
        if (leda__now_ms() >= give_up) {
            errno = err;
            return -1;
        }
        leda__sleep_ms(LEDA__CONNECT_RETRY_MS);
    }
}

/* Sends hello and waits for the answer. Returns an le_error.h code. */
static int leda__handshake(leda__conn_t *c, const leda__conn_opts_t *o)
{
    json_t *hello = json_pack("{s:s, s:[i], s:s, s:s, s:I}", "type", "hello", "versions",
                              LEDA__PROTOCOL_VERSION, "functionId", o->function_id, "token",
                              o->token ? o->token : "", "pid", (json_int_t)getpid());
    if (!hello) {
        log_e(LEDA_TAG_NAME, "FUNCTION_ID or VERGE_DRIVER_TOKEN is not valid UTF-8\n");
        return LE_ERROR_INVAILD_PARAM;
    }
    int rc = leda__send(c, hello);
    json_decref(hello);
    if (rc != LE_SUCCESS) return rc;

    json_t *f = NULL;
    int wait = o->timeout_ms > 0 ? o->timeout_ms : LEDA__CALL_TIMEOUT_MS;
    int r = leda__next_frame(c, leda__now_ms() + wait, &f);
    if (r <= 0) {
        log_e(LEDA_TAG_NAME, "no welcome from the runtime: %s\n", r == 0 ? "timeout" : "closed");
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    const char *type = json_string_value(json_object_get(f, "type"));
    json_t *version = json_object_get(f, "version");
    rc = LE_SUCCESS;
    if (!type || strcmp(type, "welcome") != 0) {
        const char *msg = json_string_value(json_object_get(f, "message"));
        log_e(LEDA_TAG_NAME, "the runtime refused the driver: %s %lld %s\n", type ? type : "?",
              (long long)json_integer_value(json_object_get(f, "code")), msg ? msg : "");
        rc = LE_ERROR_UNKNOWN;
    } else if (!json_is_integer(version) || json_integer_value(version) != LEDA__PROTOCOL_VERSION) {
        log_e(LEDA_TAG_NAME, "the runtime chose an unsupported protocol version\n");
        rc = LE_ERROR_UNKNOWN;
    }
    json_decref(f);
    return rc;
}

/* Frees a connection whose threads have all been joined. */
static void leda__conn_free(leda__conn_t *c)
{
    while (c->head) {
        leda__job_t *job = c->head;
        c->head = job->next;
        json_decref(job->frame);
        free(job);
    }
    leda__wire_reader_free(&c->rd);
    if (c->fd >= 0) close(c->fd);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->replied);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->out_room);
    pthread_mutex_destroy(&c->out_mu);
    free(c->out.data);
    free(c->batch.data);
    free(c->workers);
    free(c);
}

/* Allocates a connection with its locks, not connected. NULL when out of memory. */
static leda__conn_t *leda__conn_new(const leda__conn_opts_t *o)
{
    leda__conn_t *c = calloc(1, sizeof *c);
    pthread_t *workers = calloc((size_t)o->workers, sizeof *workers);
    pthread_condattr_t attr;
    if (!c || !workers || pthread_condattr_init(&attr) != 0) {
        free(c);
        free(workers);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&c->out_mu, NULL);
    pthread_cond_init(&c->out_room, &attr);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->replied, &attr);
    pthread_cond_init(&c->work, NULL);
    pthread_condattr_destroy(&attr);
    c->fd = -1;
    c->next_seq = 1;
    c->on_call = o->on_call;
    c->data = o->data;
    c->workers = workers;
    leda__wire_reader_init(&c->rd);
    return c;
}

int leda__conn_open(const leda__conn_opts_t *o, leda__conn_t **out)
{
    *out = NULL;
    if (!o || !o->socket_path || !o->function_id || o->workers <= 0 || !o->on_call)
        return LE_ERROR_INVAILD_PARAM;
    leda__conn_t *c = leda__conn_new(o);
    if (!c) return LE_ERROR_ALLOCATING_MEM;
    c->fd = leda__connect(o->socket_path);
    if (c->fd < 0) {
        log_e(LEDA_TAG_NAME, "cannot connect to %s: %s\n", o->socket_path, strerror(errno));
        leda__conn_free(c);
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    /* a runtime that stops reading must not block the driver forever */
    struct timeval tv = {LEDA__CALL_TIMEOUT_MS / 1000, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = leda__handshake(c, o);
    if (rc != LE_SUCCESS) {
        leda__conn_free(c);
        return rc;
    }
    if (pthread_create(&c->reader, NULL, leda__reader_main, c) != 0) {
        leda__conn_free(c);
        return LE_ERROR_UNKNOWN;
    }
    c->reader_started = 1;
    while (c->nworkers < o->workers) {
        if (pthread_create(&c->workers[c->nworkers], NULL, leda__worker_main, c) != 0) {
            log_e(LEDA_TAG_NAME, "cannot start worker thread %d\n", c->nworkers);
            leda__conn_close(c);
            return LE_ERROR_UNKNOWN;
        }
        c->nworkers++;
    }
    *out = c;
    return LE_SUCCESS;
}

int leda__conn_call(leda__conn_t *c, const char *method, json_t *params, int timeout_ms, int *code,
                    json_t **result)
{
    leda__pending_t p = {0};
    if (result) *result = NULL;
    *code = LE_ERROR_UNKNOWN;
    if (!c) {
        json_decref(params);
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    pthread_mutex_lock(&c->mu);
    if (c->closed) {
        pthread_mutex_unlock(&c->mu);
        json_decref(params);
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    p.seq = c->next_seq++;
    p.next = c->pending;
    c->pending = &p;
    pthread_mutex_unlock(&c->mu);

    json_t *f = leda__frame("call", p.seq, method, params ? params : json_object());
    int rc = leda__send(c, f);
    json_decref(f);

    struct timespec deadline = leda__deadline(timeout_ms);
    pthread_mutex_lock(&c->mu);
    while (rc == LE_SUCCESS && !p.done)
        if (pthread_cond_timedwait(&c->replied, &c->mu, &deadline) == ETIMEDOUT) break;
    leda__pending_t **pp = &c->pending;
    while (*pp != &p)
        pp = &(*pp)->next;
    *pp = p.next;
    pthread_mutex_unlock(&c->mu);

    if (rc == LE_SUCCESS && !p.done) {
        log_e(LEDA_TAG_NAME, "%s: no reply from the runtime in %d ms\n", method, timeout_ms);
        rc = LE_ERROR_TIMEOUT;
    } else if (rc == LE_SUCCESS) {
        rc = p.status;
    }
    if (rc == LE_SUCCESS) {
        *code = p.code;
        if (result) *result = json_incref(json_object_get(p.reply, "params"));
    }
    json_decref(p.reply);
    return rc;
}

int leda__conn_signal(leda__conn_t *c, const char *method, json_t *params)
{
    int closed = 1;
    if (c) {
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        pthread_mutex_unlock(&c->mu);
    }
    if (closed) {
        json_decref(params);
        return LE_ERROR_SERVICE_UNREACHABLE;
    }
    json_t *f = leda__frame("signal", -1, method, params ? params : json_object());
    int rc = leda__send(c, f);
    json_decref(f);
    return rc;
}

int leda__conn_signal_frame(leda__conn_t *c, const unsigned char *frame, size_t len)
{
    int closed = 1;
    if (c) {
        pthread_mutex_lock(&c->mu);
        closed = c->closed;
        pthread_mutex_unlock(&c->mu);
    }
    if (closed) return LE_ERROR_SERVICE_UNREACHABLE;
    return leda__put(c, frame, len);
}

void leda__conn_shutdown(leda__conn_t *c)
{
    if (!c) return;
    leda__drain(c);
    leda__fail_all(c);
}

void leda__conn_close(leda__conn_t *c)
{
    if (!c) return;
    leda__conn_shutdown(c);
    if (c->reader_started) pthread_join(c->reader, NULL);
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->nworkers; i++)
        pthread_join(c->workers[i], NULL);
    leda__conn_free(c);
}
