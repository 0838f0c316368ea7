/* test_transport.c: libleda_sdk_c against a fake runtime written here with plain blocking
 * sockets and jansson (docs/driver-protocol.md): the handshake, every leda_* function's return
 * codes and frames, callServices / notifyConfig / getDeviceList round trips on worker threads,
 * timeouts, a closing runtime, malformed frames, concurrent use, and many reports from many
 * threads: their order, a burst larger than the buffers, a close and an exit during a burst. */
#include "le_error.h"
#include "leda.h"
#include "leda_int.h"
#include "log.h"
#include "vg_test.h"

#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ID      "drv_id"
#define NAME    "drv_name"
#define TOKEN   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PK      "pk1"
#define WAIT_MS 5000

static const char *DRIVER_CONFIG =
    "{\"config\":{\"json\":{\"ip\":\"127.0.0.1\",\"port\":54321},"
    "\"kv\":[{\"key\":\"ip\",\"value\":\"127.0.0.1\",\"note\":\"ip\"}],"
    "\"fileList\":[{\"path\":\"device_config.json\"}]},"
    "\"deviceList\":[{\"productKey\":\"pk1\",\"deviceName\":\"dev1\","
    "\"custom\":\"{\\\"port\\\":12345,\\\"ip\\\":\\\"127.0.0.1\\\"}\"},"
    "{\"productKey\":\"pk1\",\"deviceName\":\"dev2\",\"custom\":\"{}\"}]}";
static const char *DRIVER_INFO =
    "{\"json\":{\"ip\":\"127.0.0.1\",\"port\":54321},"
    "\"kv\":[{\"key\":\"ip\",\"value\":\"127.0.0.1\",\"note\":\"ip\"}],"
    "\"fileList\":[{\"path\":\"device_config.json\"}]}";
static const char *DEVICE_INFO =
    "[{\"productKey\":\"pk1\",\"deviceName\":\"dev1\",\"custom\":{\"port\":12345,\"ip\":"
    "\"127.0.0.1\"}},{\"productKey\":\"pk1\",\"deviceName\":\"dev2\",\"custom\":{}}]";
static const char *TSL =
    "{\"schema\":\"x\",\"profile\":{\"productKey\":\"pk1\"},\"properties\":[],\"events\":[],"
    "\"services\":["
    "{\"identifier\":\"set\",\"inputData\":[{\"identifier\":\"brightness\",\"dataType\":{\"type\":"
    "\"int\"}},{\"identifier\":\"ratio\",\"dataType\":{\"type\":\"double\"}},{\"identifier\":"
    "\"label\",\"dataType\":{\"type\":\"text\"}}]},"
    "{\"identifier\":\"get\",\"inputData\":[\"brightness\"]},"
    "{\"identifier\":\"turn\",\"inputData\":[{\"identifier\":\"level\",\"dataType\":{\"type\":"
    "\"int\"}},{\"identifier\":\"mode\",\"dataType\":{\"type\":\"enum\"}}]}]}";
static const char *TSL_EXT = "{\"ext\":1}";

/* ---- the fake runtime ------------------------------------------------------------------------ */

static char tmp_dir[64];
static struct {
    char path[96];
    int lfd;                /* listening socket */
    int fd;                 /* the driver's connection, -1 before accept */
    int bind_late;          /* bind only after this many ms (connect retry test) */
    int refuse;             /* answer hello with error */
    int mute;               /* record calls but do not answer them */
    int call_after_connect; /* call get on a device right after answering its connect */
    int stopping;
    int closed; /* the driver's connection ended */
    pthread_t thread;
    pthread_mutex_t mu; /* guards everything here */
    pthread_cond_t cv;
    pthread_mutex_t send_mu;
    json_t *hello;
    json_t *frames;  /* copies of every call and signal from the driver, in order */
    json_t *replies; /* copies of the driver's replies to fake_call() */
    size_t cursor;   /* frames before it were taken by fake_next() */
    json_t *config;  /* getConfig key -> value */
    json_int_t seq;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER,
       .send_mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits on F.cv (F.mu held) until the absolute monotonic `deadline`; 0 when it passed. */
static int fake_wait(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&F.cv, &F.mu, &ts);
    return 1;
}

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_full(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r <= 0) return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one frame; NULL on EOF or anything malformed. */
static json_t *read_frame(int fd)
{
    unsigned char h[4];
    if (read_full(fd, h, 4) != 0) return NULL;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n == 0 || n > 1048576) return NULL;
    char *buf = malloc(n);
    json_t *f = buf && read_full(fd, buf, n) == 0 ? json_loadb(buf, n, 0, NULL) : NULL;
    free(buf);
    return f;
}

/* Sends raw bytes on the driver's connection. */
static void send_raw(const void *p, size_t n)
{
    pthread_mutex_lock(&F.send_mu);
    write_full(F.fd, p, n);
    pthread_mutex_unlock(&F.send_mu);
}

/* Sends `body` (n bytes) as one frame. */
static void send_body(const char *body, size_t n)
{
    unsigned char *buf = malloc(n + 4);
    buf[0] = (unsigned char)(n >> 24);
    buf[1] = (unsigned char)(n >> 16);
    buf[2] = (unsigned char)(n >> 8);
    buf[3] = (unsigned char)n;
    memcpy(buf + 4, body, n);
    send_raw(buf, n + 4);
    free(buf);
}

/* Sends the text `s` as one frame. */
static void send_str(const char *s)
{
    send_body(s, strlen(s));
}

/* Sends `f` (stolen) as one frame. */
static void send_frame(json_t *f)
{
    char *s = json_dumps(f, JSON_COMPACT);
    send_body(s, strlen(s));
    free(s);
    json_decref(f);
}

/* Answers a call from the driver the way the runtime would. */
static void fake_answer(json_t *call)
{
    const char *method = json_string_value(json_object_get(call, "method"));
    json_t *p = json_object_get(call, "params");
    json_t *res = json_object();
    int code = 0;
    if (strcmp(method, "getConfig") == 0) {
        pthread_mutex_lock(&F.mu);
        json_t *v = json_object_get(F.config, json_string_value(json_object_get(p, "key")));
        if (v) json_object_set_new(res, "value", json_deep_copy(v));
        pthread_mutex_unlock(&F.mu);
        if (!v) code = LE_ERROR_FILE_NOT_EXIST;
    } else if (strcmp(method, "connect") == 0) {
        const char *pk = json_string_value(json_object_get(p, "productKey"));
        const char *dn = json_string_value(json_object_get(p, "deviceName"));
        const char *local = json_string_value(json_object_get(p, "deviceLocalId"));
        char id[256];
        snprintf(id, sizeof id, "%s_%s", pk ? pk : "?", dn ? dn : local ? local : "?");
        if ((dn && strcmp(dn, "ghost") == 0) || !pk)
            code = LEDA_ERROR_DEVICE_UNREGISTER;
        else
            json_object_set_new(res, "deviceCloudId", json_string(id));
    } else if (strcmp(method, "disconnect") != 0 && strcmp(method, "unregisterDevice") != 0 &&
               strcmp(method, "subscribeConfig") != 0) {
        code = LE_ERROR_SERVICE_UNREACHABLE;
    }
    int call_now = code == 0 && strcmp(method, "connect") == 0;
    json_t *id = json_incref(json_object_get(res, "deviceCloudId"));
    send_frame(json_pack("{s:s, s:O, s:i, s:s, s:o}", "type", "reply", "seq",
                         json_object_get(call, "seq"), "code", code, "message",
                         code ? "error" : "Ok", "params", res));
    pthread_mutex_lock(&F.mu);
    call_now = call_now && F.call_after_connect;
    json_int_t seq = call_now ? ++F.seq : 0;
    pthread_mutex_unlock(&F.mu);
    if (call_now) /* before the driver may have taken the reply in */
        send_frame(json_pack("{s:s, s:I, s:s, s:{s:O, s:s, s:{s:[s]}}}", "type", "call", "seq", seq,
                             "method", "callServices", "params", "deviceCloudId", id, "service",
                             "get", "args", "params", "temperature"));
    json_decref(id);
}

static void *fake_main(void *arg)
{
    (void)arg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", F.path);
    if (F.bind_late) {
        sleep_ms(F.bind_late);
        bind(F.lfd, (struct sockaddr *)&sa, sizeof sa);
        listen(F.lfd, 4);
    }
    int fd = accept(F.lfd, NULL, NULL);
    pthread_mutex_lock(&F.mu);
    if (F.stopping && fd >= 0) close(fd);
    if (F.stopping || fd < 0) {
        F.closed = 1;
        pthread_cond_broadcast(&F.cv);
        pthread_mutex_unlock(&F.mu);
        return NULL;
    }
    F.fd = fd;
    pthread_mutex_unlock(&F.mu);

    json_t *hello = read_frame(fd);
    pthread_mutex_lock(&F.mu);
    F.hello = hello;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
    if (hello && F.refuse) {
        send_frame(json_pack("{s:s, s:i, s:s}", "type", "error", "code", 100001, "message",
                             "unsupported protocol versions"));
    } else if (hello) {
        send_frame(json_pack("{s:s, s:i, s:s}", "type", "welcome", "version", 1, "driver", ID));
        json_t *f;
        while ((f = read_frame(fd))) {
            const char *type = json_string_value(json_object_get(f, "type"));
            int is_reply = type && strcmp(type, "reply") == 0;
            pthread_mutex_lock(&F.mu);
            json_array_append_new(is_reply ? F.replies : F.frames, json_deep_copy(f));
            int answer = !F.mute && type && strcmp(type, "call") == 0;
            pthread_cond_broadcast(&F.cv);
            pthread_mutex_unlock(&F.mu);
            if (answer) fake_answer(f);
            json_decref(f);
        }
    }
    pthread_mutex_lock(&F.mu);
    F.closed = 1;
    pthread_cond_broadcast(&F.cv);
    pthread_mutex_unlock(&F.mu);
    return NULL;
}

/* Starts the fake runtime and points the SDK's environment at it. */
static void fake_start(int bind_late, int refuse)
{
    F.fd = -1;
    F.bind_late = bind_late;
    F.refuse = refuse;
    F.mute = F.stopping = F.closed = F.call_after_connect = 0;
    F.hello = NULL;
    F.frames = json_array();
    F.replies = json_array();
    F.cursor = 0;
    F.seq = 0;
    F.config = json_pack("{s:s, s:s, s:s}", "gw_driverconfig_" ID, DRIVER_CONFIG, "gw_TSL_" PK, TSL,
                         "gw_TSL_config_" PK, TSL_EXT);
    snprintf(F.path, sizeof F.path, "%s/drivers.sock", tmp_dir);
    unlink(F.path);
    F.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (!bind_late) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", F.path);
        CHECK_EQ_INT(bind(F.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
        CHECK_EQ_INT(listen(F.lfd, 4), 0);
    }
    pthread_create(&F.thread, NULL, fake_main, NULL);
    setenv("FUNCTION_ID", ID, 1);
    setenv("FUNCTION_NAME", NAME, 1);
    setenv("VERGE_DRIVER_SOCKET", F.path, 1);
    setenv("VERGE_DRIVER_TOKEN", TOKEN, 1);
}

static void fake_stop(void)
{
    pthread_mutex_lock(&F.mu);
    F.stopping = 1;
    int fd = F.fd;
    pthread_mutex_unlock(&F.mu);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    shutdown(F.lfd, SHUT_RDWR);
    pthread_join(F.thread, NULL);
    if (fd >= 0) close(fd);
    close(F.lfd);
    unlink(F.path);
    json_decref(F.hello);
    json_decref(F.frames);
    json_decref(F.replies);
    json_decref(F.config);
}

/* The next call or signal from the driver (a copy: json objects are never shared between
 * threads, as jansson's reference counts do not synchronise), or NULL after WAIT_MS. */
static json_t *fake_next(void)
{
    int64_t deadline = now_ms() + WAIT_MS;
    json_t *f = NULL;
    pthread_mutex_lock(&F.mu);
    while (json_array_size(F.frames) <= F.cursor && fake_wait(deadline)) {
    }
    if (json_array_size(F.frames) > F.cursor)
        f = json_deep_copy(json_array_get(F.frames, F.cursor++));
    pthread_mutex_unlock(&F.mu);
    return f;
}

/* Number of frames not yet taken by fake_next(). */
static size_t fake_unread(void)
{
    pthread_mutex_lock(&F.mu);
    size_t n = json_array_size(F.frames) - F.cursor;
    pthread_mutex_unlock(&F.mu);
    return n;
}

/* The driver's reply to call `seq` (a copy), or NULL after WAIT_MS. */
static json_t *fake_reply(json_int_t seq)
{
    int64_t deadline = now_ms() + WAIT_MS;
    json_t *r = NULL;
    pthread_mutex_lock(&F.mu);
    do {
        size_t i;
        json_t *f;
        json_array_foreach(F.replies, i, f)
        {
            if (json_integer_value(json_object_get(f, "seq")) == seq) r = json_deep_copy(f);
        }
    } while (!r && fake_wait(deadline));
    pthread_mutex_unlock(&F.mu);
    return r;
}

/* Calls `method` on the driver with `params` (stolen) and returns the reply frame (a copy),
 * or NULL after WAIT_MS. */
static json_t *fake_call(const char *method, json_t *params)
{
    pthread_mutex_lock(&F.mu);
    json_int_t seq = ++F.seq;
    pthread_mutex_unlock(&F.mu);
    send_frame(json_pack("{s:s, s:I, s:s, s:o}", "type", "call", "seq", seq, "method", method,
                         "params", params));
    return fake_reply(seq);
}

/* Checks that `f` is a frame of `type` and `method`; returns its params (borrowed). */
static json_t *frame_params(json_t *f, const char *type, const char *method)
{
    CHECK(f != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(f, "type")), type);
    CHECK_EQ_STR(json_string_value(json_object_get(f, "method")), method);
    return json_object_get(f, "params");
}

/* Checks that `j` (borrowed) dumps compactly (sorted keys) the way `want` does. */
static void check_json(json_t *j, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    char *a = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    char *b = w ? json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    CHECK_EQ_STR(a, b);
    free(a);
    free(b);
    json_decref(w);
}

/* Starts the fake runtime and leda_init(2). */
static int start(void)
{
    fake_start(0, 0);
    leda__set_call_timeout_ms(0);
    int rc = leda_init(2);
    CHECK_EQ_INT(rc, LE_SUCCESS);
    return rc;
}

static void stop(void)
{
    leda_exit();
    fake_stop();
}

/* ---- the driver's callbacks ------------------------------------------------------------------ */

static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int calls;
    int on_main_thread;
    void *usr_data;
    device_handle_t handle;
    char service[64];
    int count;
    leda_device_data_t data[8];
    char config[4096];
} cb_seen;
static pthread_t main_thread;
static int usr_token;

/* Records one callback invocation. */
static void seen(device_handle_t h, const char *service, const leda_device_data_t *d, int n,
                 void *usr)
{
    pthread_mutex_lock(&cb_mu);
    cb_seen.calls++;
    cb_seen.on_main_thread |= pthread_equal(pthread_self(), main_thread);
    cb_seen.usr_data = usr;
    cb_seen.handle = h;
    snprintf(cb_seen.service, sizeof cb_seen.service, "%s", service);
    cb_seen.count = n;
    for (int i = 0; i < n && i < 8; i++)
        cb_seen.data[i] = d[i];
    pthread_mutex_unlock(&cb_mu);
}

static int get_cb(device_handle_t h, leda_device_data_t props[], int n, void *usr)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(props[i].key, "temperature") == 0) {
            props[i].type = LEDA_TYPE_INT;
            snprintf(props[i].value, sizeof props[i].value, "%d", 21);
        } else if (strcmp(props[i].key, "label") == 0) {
            props[i].type = LEDA_TYPE_TEXT;
            snprintf(props[i].value, sizeof props[i].value, "hi");
        }
    }
    seen(h, "get", props, n, usr);
    return LE_SUCCESS;
}

static int set_cb(device_handle_t h, const leda_device_data_t props[], int n, void *usr)
{
    seen(h, "set", props, n, usr);
    return LE_SUCCESS;
}

static int service_cb(device_handle_t h, const char *service, const leda_device_data_t data[],
                      int n, leda_device_data_t out[], void *usr)
{
    seen(h, service, data, n, usr);
    if (strcmp(service, "fail") == 0) return LEDA_ERROR_SERVICE_INPUT_PARAM;
    out[0].type = LEDA_TYPE_INT;
    snprintf(out[0].key, sizeof out[0].key, "result");
    snprintf(out[0].value, sizeof out[0].value, "7");
    out[1].type = LEDA_TYPE_TEXT;
    snprintf(out[1].key, sizeof out[1].key, "msg");
    snprintf(out[1].value, sizeof out[1].value, "done");
    return LE_SUCCESS;
}

static leda_device_callback_t callbacks = {get_cb, set_cb, service_cb, 5};

static int config_cb(const char *config)
{
    pthread_mutex_lock(&cb_mu);
    cb_seen.calls++;
    cb_seen.on_main_thread |= pthread_equal(pthread_self(), main_thread);
    snprintf(cb_seen.config, sizeof cb_seen.config, "%s", config);
    pthread_mutex_unlock(&cb_mu);
    return LE_SUCCESS;
}

static void reset_seen(void)
{
    pthread_mutex_lock(&cb_mu);
    memset(&cb_seen, 0, sizeof cb_seen);
    pthread_mutex_unlock(&cb_mu);
}

/* Registers dev1 (usr_data &usr_token) and takes its connect frame; returns the handle. */
static device_handle_t register_dev1(void)
{
    device_handle_t h = leda_register_and_online_by_device_name(PK, "dev1", &callbacks, &usr_token);
    json_t *f = fake_next();
    frame_params(f, "call", "connect");
    json_decref(f);
    return h;
}

static leda_device_data_t entry(leda_data_type_e type, const char *key, const char *value)
{
    leda_device_data_t d;
    memset(&d, 0, sizeof d);
    d.type = type;
    snprintf(d.key, sizeof d.key, "%s", key);
    snprintf(d.value, sizeof d.value, "%s", value);
    return d;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_init_needs_environment(void)
{
    leda_device_data_t d = entry(LEDA_TYPE_INT, "temperature", "1");
    char buf[16];
    unsetenv("FUNCTION_ID");
    setenv("FUNCTION_NAME", NAME, 1);
    setenv("VERGE_DRIVER_SOCKET", "/nonexistent/drivers.sock", 1);
    CHECK_EQ_INT(leda_init(1), LE_ERROR_INVAILD_PARAM);
    setenv("FUNCTION_ID", ID, 1);
    unsetenv("FUNCTION_NAME");
    CHECK_EQ_INT(leda_init(1), LE_ERROR_INVAILD_PARAM);
    setenv("FUNCTION_NAME", NAME, 1);
    CHECK_EQ_INT(leda_init(0), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_init(-3), LE_ERROR_INVAILD_PARAM);
    unsetenv("VERGE_DRIVER_SOCKET");
    CHECK_EQ_INT(leda_init(1), LE_ERROR_INVAILD_PARAM);

    /* nothing works before leda_init, and nothing crashes */
    CHECK_EQ_INT(leda_get_config_size(), 0);
    CHECK_EQ_INT(leda_get_config(buf, sizeof buf), LE_ERROR_SERVICE_UNREACHABLE);
    CHECK_EQ_INT(leda_get_driver_info_size(), 0);
    CHECK_EQ_INT(leda_get_tsl_size(PK), 0);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &callbacks, NULL),
                 INVALID_DEVICE_HANDLE);
    CHECK_EQ_INT(leda_get_device_handle(PK, "dev1"), INVALID_DEVICE_HANDLE);
    CHECK_EQ_INT(leda_report_properties(0, &d, 1), LEDA_ERROR_DEVICE_UNREGISTER);
    CHECK_EQ_INT(leda_feed_watchdog(ID, "main", 30), LE_ERROR_SERVICE_UNREACHABLE);
    CHECK_EQ_INT(leda_register_config_changed_callback(config_cb), LE_ERROR_INVAILD_PARAM);
    leda_exit(); /* harmless */
}

static void test_init_gives_up_when_no_runtime(void)
{
    setenv("FUNCTION_ID", ID, 1);
    setenv("FUNCTION_NAME", NAME, 1);
    char path[128];
    snprintf(path, sizeof path, "%s/absent.sock", tmp_dir);
    setenv("VERGE_DRIVER_SOCKET", path, 1);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(leda_init(1), LE_ERROR_SERVICE_UNREACHABLE);
    int64_t took = now_ms() - t0;
    CHECK(took >= 4500 && took < 8000); /* retried for about 5 s */
}

static void test_hello_and_welcome(void)
{
    if (start() != LE_SUCCESS) return;
    pthread_mutex_lock(&F.mu);
    json_t *hello = json_deep_copy(F.hello);
    pthread_mutex_unlock(&F.mu);
    CHECK_EQ_STR(json_string_value(json_object_get(hello, "type")), "hello");
    check_json(json_object_get(hello, "versions"), "[1]");
    CHECK_EQ_STR(json_string_value(json_object_get(hello, "functionId")), ID);
    CHECK_EQ_STR(json_string_value(json_object_get(hello, "token")), TOKEN);
    CHECK_EQ_INT(json_integer_value(json_object_get(hello, "pid")), getpid());
    json_decref(hello);
    CHECK_EQ_INT(leda_init(2), LE_ERROR_UNKNOWN); /* once per process */
    CHECK_EQ_INT(leda_get_config_size(), (int)strlen(DRIVER_CONFIG) + 1);
    stop();
}

static void test_refused_handshake(void)
{
    fake_start(0, 1);
    CHECK_EQ_INT(leda_init(2), LE_ERROR_UNKNOWN);
    fake_stop();
}

static void test_connect_retries_while_runtime_binds(void)
{
    fake_start(400, 0);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(leda_init(1), LE_SUCCESS);
    CHECK(now_ms() - t0 >= 350);
    CHECK_EQ_INT(leda_get_tsl_size(PK), (int)strlen(TSL) + 1);
    stop();
}

static void test_config_getters(void)
{
    if (start() != LE_SUCCESS) return;
    char buf[4096];
    int n = leda_get_config_size();
    CHECK_EQ_INT(n, (int)strlen(DRIVER_CONFIG) + 1);
    CHECK_EQ_INT(leda_get_config(buf, n), LE_SUCCESS);
    CHECK_EQ_STR(buf, DRIVER_CONFIG);
    CHECK_EQ_INT(leda_get_config(buf, n - 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_config(NULL, n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_config(buf, 0), LE_ERROR_INVAILD_PARAM);

    n = leda_get_driver_info_size();
    CHECK_EQ_INT(n, (int)strlen(DRIVER_INFO) + 1);
    CHECK_EQ_INT(leda_get_driver_info(buf, n), LE_SUCCESS);
    CHECK_EQ_STR(buf, DRIVER_INFO);
    CHECK_EQ_INT(leda_get_driver_info(buf, n - 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_driver_info(NULL, n), LE_ERROR_INVAILD_PARAM);

    n = leda_get_device_info_size();
    CHECK_EQ_INT(n, (int)strlen(DEVICE_INFO) + 1);
    CHECK_EQ_INT(leda_get_device_info(buf, n), LE_SUCCESS);
    CHECK_EQ_STR(buf, DEVICE_INFO);
    CHECK_EQ_INT(leda_get_device_info(buf, n - 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_device_info(buf, -1), LE_ERROR_INVAILD_PARAM);

    n = leda_get_tsl_size(PK);
    CHECK_EQ_INT(n, (int)strlen(TSL) + 1);
    CHECK_EQ_INT(leda_get_tsl(PK, buf, n), LE_SUCCESS);
    CHECK_EQ_STR(buf, TSL);
    CHECK_EQ_INT(leda_get_tsl(PK, buf, n - 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_tsl(NULL, buf, n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_tsl_size(NULL), 0);
    CHECK_EQ_INT(leda_get_tsl_size("nope"), 0);
    CHECK_EQ_INT(leda_get_tsl("nope", buf, sizeof buf), LE_ERROR_UNKNOWN);

    n = leda_get_tsl_ext_info_size(PK);
    CHECK_EQ_INT(n, (int)strlen(TSL_EXT) + 1);
    CHECK_EQ_INT(leda_get_tsl_ext_info(PK, buf, n), LE_SUCCESS);
    CHECK_EQ_STR(buf, TSL_EXT);
    CHECK_EQ_INT(leda_get_tsl_ext_info(PK, buf, n - 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_tsl_ext_info(PK, NULL, n), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_tsl_ext_info_size("nope"), 0);

    /* the frames: getConfig with the keys of SDK-FACTS §3.2 */
    json_t *f = fake_next();
    check_json(frame_params(f, "call", "getConfig"), "{\"key\":\"gw_driverconfig_" ID "\"}");
    CHECK(json_integer_value(json_object_get(f, "seq")) > 0);
    json_decref(f);
    stop();
}

static void test_config_retried_with_function_name(void)
{
    fake_start(0, 0);
    pthread_mutex_lock(&F.mu);
    json_object_del(F.config, "gw_driverconfig_" ID);
    json_object_set_new(F.config, "gw_driverconfig_" NAME,
                        json_string("{\"config\":{},\"deviceList\":[]}"));
    pthread_mutex_unlock(&F.mu);
    leda__set_call_timeout_ms(0);
    if (leda_init(1) != LE_SUCCESS) {
        CHECK(0);
        fake_stop();
        return;
    }
    char buf[64];
    CHECK_EQ_INT(leda_get_config_size(), (int)strlen("{\"config\":{},\"deviceList\":[]}") + 1);
    json_t *a = fake_next(), *b = fake_next();
    check_json(frame_params(a, "call", "getConfig"), "{\"key\":\"gw_driverconfig_" ID "\"}");
    check_json(frame_params(b, "call", "getConfig"), "{\"key\":\"gw_driverconfig_" NAME "\"}");
    json_decref(a);
    json_decref(b);
    CHECK_EQ_INT(leda_get_device_info(buf, sizeof buf), LE_SUCCESS);
    CHECK_EQ_STR(buf, "[]");
    CHECK_EQ_INT(leda_get_driver_info(buf, sizeof buf), LE_SUCCESS);
    CHECK_EQ_STR(buf, "{}");
    /* no config under either key: size 0, and the getters fail as the original's do */
    pthread_mutex_lock(&F.mu);
    json_object_clear(F.config);
    pthread_mutex_unlock(&F.mu);
    CHECK_EQ_INT(leda_get_config_size(), 0);
    CHECK_EQ_INT(leda_get_config(buf, sizeof buf), LE_ERROR_UNKNOWN);
    CHECK_EQ_INT(leda_get_driver_info(buf, sizeof buf), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_get_device_info_size(), 0);
    stop();
}

static void test_register(void)
{
    if (start() != LE_SUCCESS) return;
    leda_device_callback_t no_get = {NULL, set_cb, service_cb, 1};
    leda_device_callback_t no_set = {get_cb, NULL, service_cb, 1};
    leda_device_callback_t no_svc = {get_cb, set_cb, NULL, 1};
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &no_get, NULL), -1);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &no_set, NULL), -1);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &no_svc, NULL), -1);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", NULL, NULL), -1);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(NULL, "dev1", &callbacks, NULL), -1);
    CHECK_EQ_INT(leda_register_and_online_by_local_name(PK, NULL, &callbacks, NULL), -1);
    CHECK_EQ_INT(fake_unread(), 0); /* nothing was sent */

    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &callbacks, NULL), 0);
    json_t *f = fake_next();
    check_json(frame_params(f, "call", "connect"),
               "{\"productKey\":\"pk1\",\"deviceName\":\"dev1\",\"isLocal\":\"False\"}");
    json_decref(f);
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev2", &callbacks, NULL), 1);
    json_decref(fake_next());
    /* already online: the same handle, without asking the runtime */
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &callbacks, NULL), 0);
    CHECK_EQ_INT(leda_feed_watchdog(ID, "main", 30), LE_SUCCESS);
    f = fake_next();
    frame_params(f, "signal", "feedDog");
    json_decref(f);

    CHECK_EQ_INT(leda_register_and_online_by_local_name(PK, "loc7", &callbacks, NULL), 2);
    f = fake_next();
    check_json(frame_params(f, "call", "connect"),
               "{\"productKey\":\"pk1\",\"deviceLocalId\":\"loc7\",\"isLocal\":\"False\"}");
    json_decref(f);
    /* the runtime does not know the device */
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "ghost", &callbacks, NULL), -1);
    json_decref(fake_next());

    CHECK_EQ_INT(leda_get_device_handle(PK, "dev1"), 0);
    CHECK_EQ_INT(leda_get_device_handle(PK, "dev2"), 1);
    CHECK_EQ_INT(leda_get_device_handle(PK, "loc7"), 2);
    CHECK_EQ_INT(leda_get_device_handle(PK, "ghost"), INVALID_DEVICE_HANDLE);
    CHECK_EQ_INT(leda_get_device_handle(NULL, "dev1"), INVALID_DEVICE_HANDLE);
    CHECK_EQ_INT(leda_get_device_handle(PK, NULL), INVALID_DEVICE_HANDLE);
    stop();
}

static void test_report_properties_and_events(void)
{
    if (start() != LE_SUCCESS) return;
    device_handle_t h = register_dev1();
    leda_device_data_t d[2] = {entry(LEDA_TYPE_INT, "temperature", "21"),
                               entry(LEDA_TYPE_BUTT, "broken", "1")};
    CHECK_EQ_INT(leda_report_properties(h, d, 0), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_report_properties(h, d, -1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_report_properties(h, NULL, 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_report_properties(h, d, 2), LE_ERROR_INVAILD_PARAM); /* BUTT */
    CHECK_EQ_INT(leda_report_properties(h + 7, d, 1), LEDA_ERROR_DEVICE_UNREGISTER);
    CHECK_EQ_INT(leda_report_properties(-1, d, 1), LEDA_ERROR_DEVICE_UNREGISTER);
    CHECK_EQ_INT(fake_unread(), 0);

    int64_t t0 = wall_ms();
    CHECK_EQ_INT(leda_report_properties(h, d, 1), LE_SUCCESS);
    json_t *f = fake_next();
    json_t *p = frame_params(f, "signal", "properties");
    CHECK(json_object_get(f, "seq") == NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(p, "deviceCloudId")), "pk1_dev1");
    json_t *t = json_object_get(p, "body");
    json_int_t ms = json_integer_value(json_object_get(json_object_get(t, "temperature"), "time"));
    CHECK(ms >= t0 && ms <= wall_ms());
    char want[256];
    snprintf(want, sizeof want, "{\"temperature\":{\"value\":21,\"time\":%lld}}", (long long)ms);
    check_json(t, want);
    json_decref(f);

    /* events: no data gives {} */
    CHECK_EQ_INT(leda_report_event(h, "high_temperature", NULL, 0), LE_SUCCESS);
    CHECK_EQ_INT(leda_report_event(h, "high_temperature", d, 0), LE_SUCCESS);
    CHECK_EQ_INT(leda_report_event(h, "high_temperature", d, 1), LE_SUCCESS);
    const char *values[] = {"{}", "{}", "{\"temperature\":21}"};
    for (int i = 0; i < 3; i++) {
        f = fake_next();
        p = frame_params(f, "signal", "event");
        CHECK_EQ_STR(json_string_value(json_object_get(p, "deviceCloudId")), "pk1_dev1");
        CHECK_EQ_STR(json_string_value(json_object_get(p, "event")), "high_temperature");
        t = json_object_get(json_object_get(p, "body"), "params");
        ms = json_integer_value(json_object_get(t, "time"));
        CHECK(ms >= t0 && ms <= wall_ms());
        snprintf(want, sizeof want, "{\"params\":{\"value\":%s,\"time\":%lld}}", values[i],
                 (long long)ms);
        check_json(json_object_get(p, "body"), want);
        json_decref(f);
    }
    CHECK_EQ_INT(leda_report_event(h, NULL, d, 1), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_report_event(h, "e", d, 2), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_report_event(h + 7, "e", d, 1), LEDA_ERROR_DEVICE_UNREGISTER);

    /* offline and online again */
    CHECK_EQ_INT(leda_offline(h), LE_SUCCESS);
    f = fake_next();
    check_json(frame_params(f, "call", "disconnect"), "{\"deviceCloudId\":\"pk1_dev1\"}");
    json_decref(f);
    CHECK_EQ_INT(leda_report_properties(h, d, 1), LEDA_ERROR_DEVICE_OFFLINE);
    CHECK_EQ_INT(leda_report_event(h, "e", NULL, 0), LEDA_ERROR_DEVICE_OFFLINE);
    CHECK_EQ_INT(leda_report_properties(h, d, 0), LEDA_ERROR_DEVICE_OFFLINE); /* checked first */
    CHECK_EQ_INT(leda_online(h), LE_SUCCESS);
    f = fake_next();
    frame_params(f, "call", "connect");
    json_decref(f);
    CHECK_EQ_INT(leda_online(h), LE_SUCCESS); /* already online: nothing sent */
    CHECK_EQ_INT(leda_report_properties(h, d, 1), LE_SUCCESS);
    f = fake_next();
    frame_params(f, "signal", "properties");
    json_decref(f);
    CHECK_EQ_INT(leda_offline(h + 7), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_online(h + 7), LE_ERROR_INVAILD_PARAM);

    /* an offline device registered again comes back under its handle */
    CHECK_EQ_INT(leda_offline(h), LE_SUCCESS);
    json_decref(fake_next());
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev1", &callbacks, NULL), h);
    json_decref(fake_next());
    stop();
}

static void test_watchdog(void)
{
    if (start() != LE_SUCCESS) return;
    CHECK_EQ_INT(leda_feed_watchdog(ID, NULL, 30), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_feed_watchdog(NULL, "main", 30), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_feed_watchdog(ID, "main", 30), LE_SUCCESS);
    CHECK_EQ_INT(leda_feed_watchdog(ID, "main", -1), LE_SUCCESS);
    json_t *f = fake_next();
    check_json(frame_params(f, "signal", "feedDog"), "{\"thread\":\"main\",\"countDown\":30}");
    json_decref(f);
    f = fake_next();
    check_json(frame_params(f, "signal", "feedDog"), "{\"thread\":\"main\",\"countDown\":-1}");
    json_decref(f);
    stop();
}

static void test_unregister(void)
{
    if (start() != LE_SUCCESS) return;
    device_handle_t h = register_dev1();
    leda_device_data_t d = entry(LEDA_TYPE_INT, "temperature", "1");
    CHECK_EQ_INT(leda_unregister(h + 3), LE_ERROR_INVAILD_PARAM);
    CHECK_EQ_INT(leda_unregister(h), LE_SUCCESS);
    json_t *f = fake_next();
    check_json(frame_params(f, "call", "disconnect"), "{\"deviceCloudId\":\"pk1_dev1\"}");
    json_decref(f);
    f = fake_next();
    check_json(frame_params(f, "call", "unregisterDevice"), "{\"deviceCloudId\":\"pk1_dev1\"}");
    json_decref(f);
    CHECK_EQ_INT(leda_report_properties(h, &d, 1), LEDA_ERROR_DEVICE_UNREGISTER);
    CHECK_EQ_INT(leda_get_device_handle(PK, "dev1"), INVALID_DEVICE_HANDLE);
    CHECK_EQ_INT(leda_unregister(h), LE_ERROR_INVAILD_PARAM);
    /* registered again: a new handle; an offline device unregisters without disconnect */
    h = register_dev1();
    CHECK_EQ_INT(h, 1);
    CHECK_EQ_INT(leda_offline(h), LE_SUCCESS);
    json_decref(fake_next());
    CHECK_EQ_INT(leda_unregister(h), LE_SUCCESS);
    f = fake_next();
    frame_params(f, "call", "unregisterDevice");
    json_decref(f);
    stop();
}

/* callServices params for pk1_dev1. */
static json_t *service_call(const char *service, const char *x)
{
    return json_pack("{s:s, s:s, s:{s:o}}", "deviceCloudId", "pk1_dev1", "service", service, "args",
                     "params", json_loads(x, 0, NULL));
}

/* Checks a reply frame: code and params (the driver's whole reply object). */
static void check_reply(json_t *r, int code, const char *params)
{
    CHECK(r != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(r, "type")), "reply");
    CHECK_EQ_INT(json_integer_value(json_object_get(r, "code")), code);
    CHECK(json_is_string(json_object_get(r, "message")));
    check_json(json_object_get(r, "params"), params);
    json_decref(r);
}

static void test_call_services(void)
{
    if (start() != LE_SUCCESS) return;
    main_thread = pthread_self();
    device_handle_t h = register_dev1();
    reset_seen();

    /* get: names in, values out */
    check_reply(fake_call("callServices", service_call("get", "[\"temperature\",\"label\"]")), 0,
                "{\"code\":0,\"message\":\"Ok\",\"params\":{\"temperature\":21,\"label\":\"hi\"}}");
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_INT(cb_seen.calls, 1);
    CHECK_EQ_INT(cb_seen.on_main_thread, 0);
    CHECK(cb_seen.usr_data == &usr_token);
    CHECK_EQ_INT(cb_seen.handle, h);
    CHECK_EQ_INT(cb_seen.count, 2);
    pthread_mutex_unlock(&cb_mu);
    /* a name the driver leaves unfilled empties the values; no names is invalid */
    check_reply(fake_call("callServices", service_call("get", "[\"temperature\",\"missing\"]")), 0,
                "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    check_reply(fake_call("callServices", service_call("get", "[]")), LE_ERROR_INVAILD_PARAM,
                "{\"code\":100001,\"message\":\"Invalid params\",\"params\":{}}");

    /* set: values typed by the TSL's "set" service; booleans are dropped */
    reset_seen();
    check_reply(fake_call("callServices",
                          service_call("set", "{\"brightness\":80,\"ratio\":0.5,\"label\":"
                                              "\"kitchen\",\"flag\":true,\"cfg\":{\"a\":1}}")),
                0, "{\"code\":0,\"message\":\"Ok\",\"params\":{}}");
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_STR(cb_seen.service, "set");
    CHECK_EQ_INT(cb_seen.count, 4);
    CHECK_EQ_STR(cb_seen.data[0].key, "brightness");
    CHECK_EQ_INT(cb_seen.data[0].type, LEDA_TYPE_INT);
    CHECK_EQ_STR(cb_seen.data[0].value, "80");
    CHECK_EQ_INT(cb_seen.data[1].type, LEDA_TYPE_DOUBLE);
    CHECK_EQ_STR(cb_seen.data[1].value, "0.500000");
    CHECK_EQ_INT(cb_seen.data[2].type, LEDA_TYPE_TEXT);
    CHECK_EQ_STR(cb_seen.data[2].value, "kitchen");
    CHECK_EQ_STR(cb_seen.data[3].key, "cfg");
    CHECK_EQ_INT(cb_seen.data[3].type, LEDA_TYPE_STRUCT);
    CHECK_EQ_STR(cb_seen.data[3].value, "{\"a\":1}");
    pthread_mutex_unlock(&cb_mu);
    check_reply(fake_call("callServices", service_call("set", "{}")), LE_ERROR_INVAILD_PARAM,
                "{\"code\":100001,\"message\":\"Invalid params\",\"params\":{}}");

    /* a service: typed arguments, outputs up to the first BUTT */
    reset_seen();
    check_reply(
        fake_call("callServices", service_call("turn", "{\"level\":3,\"mode\":1,\"extra\":\"x\"}")),
        0,
        "{\"code\":0,\"message\":\"Ok\",\"params\":{\"code\":0,\"message\":\"Ok\","
        "\"data\":{\"result\":7,\"msg\":\"done\"}}}");
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_STR(cb_seen.service, "turn");
    CHECK_EQ_INT(cb_seen.count, 3);
    CHECK_EQ_INT(cb_seen.data[0].type, LEDA_TYPE_INT);
    CHECK_EQ_INT(cb_seen.data[1].type, LEDA_TYPE_ENUM);
    CHECK_EQ_STR(cb_seen.data[1].value, "1");
    CHECK_EQ_INT(cb_seen.data[2].type, LEDA_TYPE_BUTT);
    CHECK_EQ_INT(cb_seen.on_main_thread, 0);
    pthread_mutex_unlock(&cb_mu);
    check_reply(
        fake_call("callServices", service_call("fail", "{}")), LEDA_ERROR_SERVICE_INPUT_PARAM,
        "{\"code\":109006,\"message\":\"Service param invalid\",\"params\":{\"code\":109006,"
        "\"message\":\"Service param invalid\",\"data\":{}}}");

    /* the TSL was fetched once for all of these */
    int tsl_fetches = 0;
    json_t *f;
    while (fake_unread() > 0 && (f = fake_next())) {
        json_t *p = frame_params(f, "call", "getConfig");
        tsl_fetches += strcmp(json_string_value(json_object_get(p, "key")), "gw_TSL_" PK) == 0;
        json_decref(f);
    }
    CHECK_EQ_INT(tsl_fetches, 1);

    /* errors */
    check_reply(
        fake_call("callServices", json_pack("{s:s, s:s, s:{s:[]}}", "deviceCloudId", "pk1_nobody",
                                            "service", "get", "args", "params")),
        LEDA_ERROR_DEVICE_UNREGISTER,
        "{\"code\":109000,\"message\":\"Device not register\",\"params\":{}}");
    check_reply(fake_call("callServices", json_pack("{s:i}", "deviceCloudId", 3)),
                LE_ERROR_INVAILD_PARAM,
                "{\"code\":100001,\"message\":\"Invalid params\",\"params\":{}}");
    check_reply(fake_call("rebootPlanet", json_object()), LE_ERROR_SERVICE_UNREACHABLE, "{}");

    /* getDeviceList */
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev2", &callbacks, NULL), 1);
    json_decref(fake_next());
    CHECK_EQ_INT(leda_offline(1), LE_SUCCESS);
    json_decref(fake_next());
    check_reply(fake_call("getDeviceList", json_pack("{s:s}", "selector", "deviceState=online")), 0,
                "{\"devList\":[\"pk1_dev1\"],\"devNum\":1}");
    check_reply(fake_call("getDeviceList", json_pack("{s:s}", "selector", "deviceState=offline")),
                0, "{\"devList\":[\"pk1_dev2\"],\"devNum\":1}");
    check_reply(fake_call("getDeviceList", json_object()), 0,
                "{\"devList\":[\"pk1_dev1\",\"pk1_dev2\"],\"devNum\":2}");
    /* an offline device takes no calls */
    check_reply(
        fake_call("callServices", json_pack("{s:s, s:s, s:{s:[s]}}", "deviceCloudId", "pk1_dev2",
                                            "service", "get", "args", "params", "temperature")),
        LEDA_ERROR_DEVICE_OFFLINE,
        "{\"code\":109001,\"message\":\"Device offline\",\"params\":{}}");
    stop();
}

/* The runtime may call a device as soon as it has answered its connect, before the
 * registering thread has taken the reply in: the call waits for the registration. */
static void test_call_right_after_connect(void)
{
    if (start() != LE_SUCCESS) return;
    pthread_mutex_lock(&F.mu);
    F.call_after_connect = 1;
    pthread_mutex_unlock(&F.mu);
    for (int i = 0; i < 20; i++) {
        char dn[16];
        snprintf(dn, sizeof dn, "dev%d", i);
        CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, dn, &callbacks, NULL), i);
        json_decref(fake_next());
        check_reply(fake_reply(i + 1), 0,
                    "{\"code\":0,\"message\":\"Ok\",\"params\":{\"temperature\":21}}");
    }
    stop();
}

static void test_config_changed_callback(void)
{
    if (start() != LE_SUCCESS) return;
    main_thread = pthread_self();
    reset_seen();
    CHECK_EQ_INT(leda_register_config_changed_callback(NULL), LE_ERROR_INVAILD_PARAM);
    /* before a callback is registered the notification is not taken */
    check_reply(fake_call("notifyConfig",
                          json_pack("{s:s, s:s}", "key", "gw_driverconfig_" ID, "value", "{}")),
                LE_ERROR_UNKNOWN, "{}");
    CHECK_EQ_INT(leda_register_config_changed_callback(config_cb), LE_SUCCESS);
    json_t *f = fake_next();
    check_json(frame_params(f, "call", "subscribeConfig"), "{\"key\":\"gw_driverconfig_" ID "\"}");
    json_decref(f);
    check_reply(fake_call("notifyConfig", json_pack("{s:s, s:s}", "key", "gw_driverconfig_" ID,
                                                    "value", DRIVER_CONFIG)),
                0, "{}");
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_INT(cb_seen.calls, 1);
    CHECK_EQ_INT(cb_seen.on_main_thread, 0);
    CHECK_EQ_STR(cb_seen.config, DRIVER_CONFIG);
    pthread_mutex_unlock(&cb_mu);
    check_reply(fake_call("notifyConfig",
                          json_pack("{s:s, s:s}", "key", "gw_driverconfig_other", "value", "{}")),
                LE_ERROR_UNKNOWN, "{}");
    check_reply(fake_call("notifyConfig", json_pack("{s:s}", "key", "gw_driverconfig_" ID)),
                LE_ERROR_INVAILD_PARAM, "{}");
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_INT(cb_seen.calls, 1);
    pthread_mutex_unlock(&cb_mu);
    stop();
}

static void test_timeout(void)
{
    if (start() != LE_SUCCESS) return;
    device_handle_t h = register_dev1();
    char buf[4096];
    leda__set_call_timeout_ms(300);
    pthread_mutex_lock(&F.mu);
    F.mute = 1;
    pthread_mutex_unlock(&F.mu);

    int64_t t0 = now_ms();
    CHECK_EQ_INT(leda_get_config(buf, sizeof buf), LE_ERROR_TIMEOUT);
    int64_t took = now_ms() - t0;
    CHECK(took >= 280 && took < 2000);
    json_t *late = fake_next(); /* one getConfig: a timeout is not retried with the name */
    frame_params(late, "call", "getConfig");
    CHECK_EQ_INT(leda_get_config_size(), 0);
    json_decref(fake_next());
    CHECK_EQ_INT(leda_offline(h), LE_ERROR_TIMEOUT);
    json_decref(fake_next());
    leda_device_data_t d = entry(LEDA_TYPE_INT, "temperature", "1");
    CHECK_EQ_INT(leda_report_properties(h, &d, 1), LEDA_ERROR_DEVICE_OFFLINE); /* offline anyway */
    CHECK_EQ_INT(leda_register_and_online_by_device_name(PK, "dev2", &callbacks, NULL), -1);
    json_decref(fake_next());
    CHECK_EQ_INT(fake_unread(), 0);

    /* a reply after the deadline is ignored, and the next call gets its own reply */
    pthread_mutex_lock(&F.mu);
    F.mute = 0;
    pthread_mutex_unlock(&F.mu);
    send_frame(json_pack("{s:s, s:O, s:i, s:s, s:{s:s}}", "type", "reply", "seq",
                         json_object_get(late, "seq"), "code", 0, "message", "Ok", "params",
                         "value", "stale"));
    json_decref(late);
    CHECK_EQ_INT(leda_get_config(buf, sizeof buf), LE_SUCCESS);
    CHECK_EQ_STR(buf, DRIVER_CONFIG);
    stop();
}

static int unreachable_rc;

static void *blocked_get_config(void *arg)
{
    (void)arg;
    char buf[4096];
    unreachable_rc = leda_get_config(buf, sizeof buf);
    return NULL;
}

static void test_runtime_closes(void)
{
    if (start() != LE_SUCCESS) return;
    device_handle_t h = register_dev1();
    pthread_mutex_lock(&F.mu);
    F.mute = 1;
    pthread_mutex_unlock(&F.mu);
    pthread_t t;
    pthread_create(&t, NULL, blocked_get_config, NULL);
    json_t *f = fake_next(); /* the call is pending now */
    frame_params(f, "call", "getConfig");
    json_decref(f);
    int64_t t0 = now_ms();
    pthread_mutex_lock(&F.mu);
    shutdown(F.fd, SHUT_RDWR);
    pthread_mutex_unlock(&F.mu);
    pthread_join(t, NULL);
    CHECK_EQ_INT(unreachable_rc, LE_ERROR_SERVICE_UNREACHABLE);
    CHECK(now_ms() - t0 < 2000); /* not the 10 s timeout */

    /* later calls fail fast */
    leda_device_data_t d = entry(LEDA_TYPE_INT, "temperature", "1");
    t0 = now_ms();
    CHECK_EQ_INT(leda_get_config_size(), 0);
    CHECK_EQ_INT(leda_offline(h), LE_ERROR_SERVICE_UNREACHABLE);
    CHECK_EQ_INT(leda_online(h), LE_ERROR_SERVICE_UNREACHABLE);
    CHECK_EQ_INT(leda_report_properties(h, &d, 1), LEDA_ERROR_DEVICE_OFFLINE);
    CHECK_EQ_INT(leda_feed_watchdog(ID, "main", 5), LE_ERROR_SERVICE_UNREACHABLE);
    CHECK(now_ms() - t0 < 1000);
    stop();
}

static void test_malformed_frames(void)
{
    if (start() != LE_SUCCESS) return;
    send_str("not json");
    send_str("[1,2,3]");
    send_str("{\"seq\":1}");
    send_str("{\"type\":42}");
    send_str("{\"type\":\"gossip\"}");
    send_str("{\"type\":\"reply\",\"seq\":999,\"code\":0}");
    send_str("{\"type\":\"reply\",\"code\":0}");
    send_str("{\"type\":\"reply\",\"seq\":\"x\"}");
    send_str("{\"type\":\"call\",\"method\":\"getDeviceList\"}"); /* no seq */
    send_str("{\"type\":\"call\",\"seq\":-5,\"method\":\"getDeviceList\"}");
    send_str("{\"type\":\"signal\",\"method\":\"future\",\"params\":{}}");
    /* a call without a method is answered Invalid params */
    send_str("{\"type\":\"call\",\"seq\":77}");
    check_reply(fake_call("getDeviceList", json_object()), 0, "{\"devList\":[],\"devNum\":0}");
    pthread_mutex_lock(&F.mu);
    json_t *r77 = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(F.replies, i, r)
    {
        if (json_integer_value(json_object_get(r, "seq")) == 77) r77 = json_deep_copy(r);
    }
    CHECK_EQ_INT(json_array_size(F.replies), 2);
    pthread_mutex_unlock(&F.mu);
    check_reply(r77, LE_ERROR_INVAILD_PARAM, "{}");
    /* the connection still works */
    CHECK_EQ_INT(leda_get_tsl_size(PK), (int)strlen(TSL) + 1);

    /* a bad length makes the rest of the stream unreadable: the SDK hangs up */
    unsigned char zero[4] = {0, 0, 0, 0};
    send_raw(zero, 4);
    int64_t deadline = now_ms() + WAIT_MS;
    pthread_mutex_lock(&F.mu);
    while (!F.closed && fake_wait(deadline)) {
    }
    CHECK_EQ_INT(F.closed, 1);
    pthread_mutex_unlock(&F.mu);
    CHECK_EQ_INT(leda_get_tsl_size(PK), 0);
    stop();
}

static void test_exit_and_init_again(void)
{
    if (start() != LE_SUCCESS) return;
    CHECK_EQ_INT(register_dev1(), 0);
    CHECK_EQ_INT(leda_register_config_changed_callback(config_cb), LE_SUCCESS);
    stop();
    CHECK_EQ_INT(leda_get_device_handle(PK, "dev1"), INVALID_DEVICE_HANDLE);
    if (start() != LE_SUCCESS) return;
    CHECK_EQ_INT(register_dev1(), 0); /* handles start from 0 again */
    stop();
}

/* ---- concurrency -------------------------------------------------------------------------- */

static int worker_failures;

static void *hammer(void *arg)
{
    device_handle_t h = *(device_handle_t *)arg;
    leda_device_data_t d = entry(LEDA_TYPE_FLOAT, "temperature", "21.5");
    int bad = 0;
    for (int i = 0; i < 40; i++) {
        bad += leda_report_properties(h, &d, 1) != LE_SUCCESS;
        bad += leda_get_tsl_size(PK) != (int)strlen(TSL) + 1;
    }
    pthread_mutex_lock(&cb_mu);
    worker_failures += bad;
    pthread_mutex_unlock(&cb_mu);
    return NULL;
}

static void test_concurrent_use(void)
{
    if (start() != LE_SUCCESS) return;
    device_handle_t h = register_dev1();
    pthread_t t[4];
    worker_failures = 0;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &h);
    for (int i = 0; i < 30; i++)
        check_reply(fake_call("callServices", service_call("get", "[\"temperature\"]")), 0,
                    "{\"code\":0,\"message\":\"Ok\",\"params\":{\"temperature\":21}}");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(worker_failures, 0);
    stop();
}

static int compare_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* leda_exit() while calls are in flight on other threads: they fail fast, nothing leaks. */
static int exit_rcs[3];

static void *call_then_record(void *arg)
{
    int *slot = arg;
    char buf[4096];
    *slot = leda_get_config(buf, sizeof buf);
    return NULL;
}

static void test_exit_with_calls_in_flight(void)
{
    if (start() != LE_SUCCESS) return;
    pthread_mutex_lock(&F.mu);
    F.mute = 1;
    pthread_mutex_unlock(&F.mu);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, call_then_record, &exit_rcs[i]);
    for (int i = 0; i < 3; i++)
        json_decref(fake_next());
    int64_t t0 = now_ms();
    leda_exit();
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK(now_ms() - t0 < 2000);
    qsort(exit_rcs, 3, sizeof exit_rcs[0], compare_int);
    CHECK_EQ_INT(exit_rcs[0], LE_ERROR_SERVICE_UNREACHABLE);
    CHECK_EQ_INT(exit_rcs[2], LE_ERROR_SERVICE_UNREACHABLE);
    fake_stop();
}

/* ---- many reports: order, bursts, a close during a burst ------------------------------------ */

#define BURST_THREADS 4

static struct {
    device_handle_t h;
    int reports;     /* each thread's reports */
    int pad;         /* bytes of a text property in each */
    int calls_every; /* a getConfig call after every this many reports (0: none) */
    int stop_on_error;
    int sent[BURST_THREADS]; /* reports that returned LE_SUCCESS */
    int last_rc[BURST_THREADS];
} burst;

static void *burst_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    leda_device_data_t d[3];
    char num[16];
    snprintf(num, sizeof num, "%d", t);
    d[0] = entry(LEDA_TYPE_INT, "t", num);
    d[2] = entry(LEDA_TYPE_TEXT, "pad", "");
    memset(d[2].value, 'a' + t, (size_t)burst.pad);
    for (int i = 0; i < burst.reports; i++) {
        snprintf(num, sizeof num, "%d", i);
        d[1] = entry(LEDA_TYPE_INT, "n", num);
        int rc = leda_report_properties(burst.h, d, 3);
        burst.last_rc[t] = rc;
        if (rc == LE_SUCCESS) burst.sent[t]++;
        if (rc != LE_SUCCESS && burst.stop_on_error) break;
        if (burst.calls_every && i % burst.calls_every == burst.calls_every - 1) {
            char buf[4096];
            if (leda_get_config(buf, sizeof buf) != LE_SUCCESS) burst.last_rc[t] = -1;
        }
    }
    return NULL;
}

static void burst_run(pthread_t *th)
{
    memset(burst.sent, 0, sizeof burst.sent);
    memset(burst.last_rc, 0, sizeof burst.last_rc);
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_create(&th[t], NULL, burst_main, (void *)(intptr_t)t);
}

/* Waits until the fake has `n` frames after the cursor (or WAIT_MS without progress). */
static size_t fake_wait_frames(size_t n)
{
    pthread_mutex_lock(&F.mu);
    size_t have = json_array_size(F.frames) - F.cursor;
    int64_t deadline = now_ms() + WAIT_MS;
    while (have < n && fake_wait(deadline)) {
        size_t now = json_array_size(F.frames) - F.cursor;
        if (now != have) deadline = now_ms() + WAIT_MS;
        have = now;
    }
    pthread_mutex_unlock(&F.mu);
    return have;
}

/* Checks the frames after the cursor: each thread's reports arrive as 0, 1, 2, ... with
 * nothing missing, reordered or doubled, and its pad intact; getConfig calls in between are
 * allowed. Sets got[t] to each thread's count and returns the reports seen. */
static int check_report_order(int *got)
{
    int bad = 0, total = 0;
    memset(got, 0, sizeof(int) * BURST_THREADS);
    pthread_mutex_lock(&F.mu);
    for (size_t i = F.cursor; i < json_array_size(F.frames); i++) {
        json_t *f = json_array_get(F.frames, i);
        const char *method = json_string_value(json_object_get(f, "method"));
        if (method && strcmp(method, "getConfig") == 0) continue;
        json_t *body = json_object_get(json_object_get(f, "params"), "body");
        json_int_t t = json_integer_value(json_object_get(json_object_get(body, "t"), "value"));
        json_int_t n = json_integer_value(json_object_get(json_object_get(body, "n"), "value"));
        const char *pad = json_string_value(json_object_get(json_object_get(body, "pad"), "value"));
        if (!method || strcmp(method, "properties") != 0 || t < 0 || t >= BURST_THREADS ||
            n != got[t] || !pad || strlen(pad) != (size_t)burst.pad ||
            (burst.pad > 0 && pad[0] != 'a' + t)) {
            bad++;
            continue;
        }
        got[t]++;
        total++;
    }
    F.cursor = json_array_size(F.frames);
    pthread_mutex_unlock(&F.mu);
    CHECK_EQ_INT(bad, 0);
    return total;
}

static void test_many_reports_in_order(void)
{
    if (start() != LE_SUCCESS) return;
    burst.h = register_dev1();
    burst.reports = 3000;
    burst.pad = 100;
    burst.calls_every = 250; /* calls share the output with the reports */
    burst.stop_on_error = 0;
    pthread_t th[BURST_THREADS];
    burst_run(th);
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_join(th[t], NULL);
    size_t calls = (size_t)(BURST_THREADS * (burst.reports / burst.calls_every));
    CHECK_EQ_INT(fake_wait_frames((size_t)(BURST_THREADS * burst.reports) + calls),
                 (size_t)(BURST_THREADS * burst.reports) + calls);
    int got[BURST_THREADS];
    CHECK_EQ_INT(check_report_order(got), BURST_THREADS * burst.reports);
    for (int t = 0; t < BURST_THREADS; t++) {
        CHECK_EQ_INT(burst.sent[t], burst.reports);
        CHECK_EQ_INT(burst.last_rc[t], LE_SUCCESS);
        CHECK_EQ_INT(got[t], burst.reports);
    }
    stop();
}

/* Reports far larger than the output buffer and the socket's: senders wait for room, and
 * everything still arrives in order. */
static void test_report_burst(void)
{
    if (start() != LE_SUCCESS) return;
    burst.h = register_dev1();
    burst.reports = 1500;
    burst.pad = 1800; /* about 1.9 KB a frame, 11 MB in all */
    burst.calls_every = 0;
    burst.stop_on_error = 0;
    pthread_t th[BURST_THREADS];
    burst_run(th);
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK_EQ_INT(fake_wait_frames((size_t)(BURST_THREADS * burst.reports)),
                 (size_t)(BURST_THREADS * burst.reports));
    int got[BURST_THREADS];
    CHECK_EQ_INT(check_report_order(got), BURST_THREADS * burst.reports);
    for (int t = 0; t < BURST_THREADS; t++)
        CHECK_EQ_INT(got[t], burst.reports);
    stop();
}

/* The runtime closes while four threads report as fast as they can: every sender returns
 * promptly with a failure, and what arrived before is each thread's reports in order. */
static void test_close_during_burst(void)
{
    if (start() != LE_SUCCESS) return;
    burst.h = register_dev1();
    burst.reports = 1000000;
    burst.pad = 200;
    burst.calls_every = 0;
    burst.stop_on_error = 1;
    pthread_t th[BURST_THREADS];
    burst_run(th);
    fake_wait_frames(2000);
    int64_t t0 = now_ms();
    pthread_mutex_lock(&F.mu);
    shutdown(F.fd, SHUT_RDWR);
    pthread_mutex_unlock(&F.mu);
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(now_ms() - t0 < 2000);
    pthread_mutex_lock(&F.mu);
    while (!F.closed)
        fake_wait(now_ms() + WAIT_MS);
    pthread_mutex_unlock(&F.mu);
    int got[BURST_THREADS];
    CHECK(check_report_order(got) >= 2000);
    for (int t = 0; t < BURST_THREADS; t++) {
        CHECK(burst.last_rc[t] == LE_ERROR_SERVICE_UNREACHABLE ||
              burst.last_rc[t] == LEDA_ERROR_DEVICE_OFFLINE);
        CHECK(got[t] <= burst.sent[t]); /* nothing arrived that was not accepted */
    }
    leda_device_data_t d = entry(LEDA_TYPE_INT, "temperature", "1");
    t0 = now_ms();
    CHECK(leda_report_properties(burst.h, &d, 1) != LE_SUCCESS); /* fails fast */
    CHECK(now_ms() - t0 < 1000);
    stop();
}

/* leda_exit() during a burst: the reporters stop with a failure soon, exit does not hang. */
static void test_exit_during_burst(void)
{
    if (start() != LE_SUCCESS) return;
    burst.h = register_dev1();
    burst.reports = 1000000;
    burst.pad = 200;
    burst.calls_every = 0;
    burst.stop_on_error = 1;
    pthread_t th[BURST_THREADS];
    burst_run(th);
    fake_wait_frames(1000);
    int64_t t0 = now_ms();
    leda_exit();
    for (int t = 0; t < BURST_THREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(now_ms() - t0 < 3000);
    for (int t = 0; t < BURST_THREADS; t++)
        CHECK(burst.last_rc[t] != LE_SUCCESS);
    pthread_mutex_lock(&F.mu);
    while (!F.closed)
        fake_wait(now_ms() + WAIT_MS);
    pthread_mutex_unlock(&F.mu);
    int got[BURST_THREADS];
    check_report_order(got);
    for (int t = 0; t < BURST_THREADS; t++)
        CHECK(got[t] <= burst.sent[t]);
    fake_stop();
}

int main(void)
{
    int passed = 0, failed = 0;
    if (!getenv("LEDA_TEST_VERBOSE")) log_init("test", LOG_STDOUT, LOG_LEVEL_FATAL, LOG_MOD_BRIEF);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/leda_transport_XXXXXX");
    if (!mkdtemp(tmp_dir)) return 1;
    VG_TEST(test_init_needs_environment)
    VG_TEST(test_init_gives_up_when_no_runtime)
    VG_TEST(test_hello_and_welcome)
    VG_TEST(test_refused_handshake)
    VG_TEST(test_connect_retries_while_runtime_binds)
    VG_TEST(test_config_getters)
    VG_TEST(test_config_retried_with_function_name)
    VG_TEST(test_register)
    VG_TEST(test_report_properties_and_events)
    VG_TEST(test_watchdog)
    VG_TEST(test_unregister)
    VG_TEST(test_call_services)
    VG_TEST(test_call_right_after_connect)
    VG_TEST(test_config_changed_callback)
    VG_TEST(test_timeout)
    VG_TEST(test_runtime_closes)
    VG_TEST(test_malformed_frames)
    VG_TEST(test_exit_and_init_again)
    VG_TEST(test_concurrent_use)
    VG_TEST(test_exit_with_calls_in_flight)
    VG_TEST(test_many_reports_in_order)
    VG_TEST(test_report_burst)
    VG_TEST(test_close_during_burst)
    VG_TEST(test_exit_during_burst)
    rmdir(tmp_dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
