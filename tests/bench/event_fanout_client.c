/* event_fanout_client.c: the subscribers of tests/bench/event_fanout.sh, in C so that the
 * client is not what limits the figures (the Python version, event_fanout_client.py, needs most
 * of a core for 200 subscribers at 100 events/s and adds milliseconds of its own lag).
 *
 *   cc -O2 tests/bench/event_fanout_client.c -o /tmp/event_fanout_client -lwolfssl
 *   event_fanout_client verge URL COOKIE N EXPECTED READY_FILE TIMEOUT_S OUT_JSON
 *   event_fanout_client mqtt HOST:PORT TOPIC N EXPECTED READY_FILE TIMEOUT_S OUT_JSON
 *
 * verge: N connections each hold POST /thing/device/events/get open on URL (http:// or
 * https://; TLS through wolfSSL without certificate checks) with the Cookie header COOKIE.
 * mqtt: N MQTT 3.1.1 subscribers (QoS 0) of TOPIC, for the broker peer. Once every
 * subscription is set up, READY_FILE is written; then one epoll loop reads every stream until
 * each subscriber has EXPECTED events or TIMEOUT_S passes, and OUT_JSON gets the figures.
 *
 * Each event carries value.seq, value.sent_ns (CLOCK_MONOTONIC) and value.sent_rt_ns
 * (CLOCK_REALTIME), taken by the sender just before it writes. For every (subscriber, event):
 *   socket: the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS, realtime) - sent_rt_ns;
 *           it does not depend on how fast this client reads;
 *   app:    CLOCK_MONOTONIC right after recvmsg() returned the bytes - sent_ns;
 *   lag:    app - socket, this client's own delay. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

typedef struct sub {
    int fd, idx;
    WOLFSSL *ssl;
    char *buf; /* plaintext not parsed yet */
    size_t len, cap;
    int64_t kts, app; /* receive timestamps of the last recvmsg() (kernel realtime, app mono) */
    long events;
} sub_t;

static int g_mqtt;
static long g_expected;
static int64_t *g_sock, *g_app, *g_lag, *g_last; /* g_last[seq]: the latest socket latency */
static size_t g_n;
static long g_other, g_no_kts, g_done, g_payload_bytes;
static double g_first_s;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* recvmsg() with the kernel's receive timestamp; sets s->kts and s->app. */
static ssize_t sub_recv(sub_t *s, void *buf, size_t len)
{
    char anc[CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct iovec iov = {buf, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = anc,
                       .msg_controllen = sizeof anc};
    ssize_t n = recvmsg(s->fd, &m, 0);
    if (n <= 0) return n;
    s->app = now_ns(CLOCK_MONOTONIC);
    s->kts = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            s->kts = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
    if (s->kts < 0) g_no_kts++;
    return n;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ssize_t n = sub_recv(ctx, buf, (size_t)sz);
    if (n > 0) return (int)n;
    if (n == 0) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return WOLFSSL_CBIO_ERR_WANT_READ;
    if (errno == EINTR) return WOLFSSL_CBIO_ERR_ISR;
    return WOLFSSL_CBIO_ERR_GENERAL;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    (void)ssl;
    ssize_t n = send(((sub_t *)ctx)->fd, buf, (size_t)sz, MSG_NOSIGNAL);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return WOLFSSL_CBIO_ERR_WANT_WRITE;
    return WOLFSSL_CBIO_ERR_GENERAL;
}

static void append(sub_t *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        if (!s->buf) die("realloc");
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

static void send_all(sub_t *s, const void *p, size_t n)
{
    if (s->ssl) {
        if (wolfSSL_write(s->ssl, p, (int)n) != (int)n) die("wolfSSL_write");
        return;
    }
    const char *c = p;
    while (n) {
        ssize_t w = send(s->fd, c, n, MSG_NOSIGNAL);
        if (w < 0) die("send");
        c += w;
        n -= (size_t)w;
    }
}

/* Reads what is there into s->buf (during set-up, with a blocking socket, one read: `once`).
 * Returns bytes, 0 when nothing more can be read now, -1 when the peer closed. */
static ssize_t fill(sub_t *s, int once)
{
    char tmp[65536];
    ssize_t total = 0;
    for (;;) {
        ssize_t n;
        if (s->ssl) {
            n = wolfSSL_read(s->ssl, tmp, sizeof tmp);
            if (n <= 0) {
                int e = wolfSSL_get_error(s->ssl, (int)n);
                if (e == WOLFSSL_ERROR_WANT_READ) return total;
                return total ? total : -1;
            }
        } else {
            n = sub_recv(s, tmp, sizeof tmp);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return total;
            if (n <= 0) return total ? total : -1;
        }
        append(s, tmp, (size_t)n);
        total += n;
        if (once || (n < (ssize_t)sizeof tmp && !s->ssl)) return total;
    }
}

static int64_t field(const char *json, size_t len, const char *key)
{
    const char *p = memmem(json, len, key, strlen(key));
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void on_event(sub_t *s, const char *p, size_t n)
{
    if (!g_mqtt && !memmem(p, n, "\"code\":200", 10)) {
        g_other++;
        return;
    }
    int64_t seq = field(p, n, "\"seq\":"), sent = field(p, n, "\"sent_ns\":"),
            sent_rt = field(p, n, "\"sent_rt_ns\":");
    if (seq < 0 || seq >= g_expected || sent < 0 || sent_rt < 0) {
        fprintf(stderr, "subscriber %d: unexpected message %.*s\n", s->idx, (int)n, p);
        exit(1);
    }
    if (!g_payload_bytes) g_payload_bytes = (long)n;
    if (g_first_s == 0) g_first_s = now_ns(CLOCK_MONOTONIC) / 1e9;
    int64_t app = s->app - sent;
    g_app[g_n] = app;
    if (s->kts >= 0) {
        int64_t k = s->kts - sent_rt;
        g_sock[g_n] = k;
        g_lag[g_n] = app - k;
        if (k > g_last[seq]) g_last[seq] = k;
    } else {
        g_sock[g_n] = g_lag[g_n] = INT64_MIN;
    }
    g_n++;
    if (++s->events == g_expected) g_done++;
}

/* Consumes the whole HTTP chunks or MQTT packets in s->buf. */
static void parse(sub_t *s)
{
    size_t pos = 0;
    for (;;) {
        char *b = s->buf + pos;
        size_t left = s->len - pos;
        if (!g_mqtt) {
            char *eol = memmem(b, left, "\r\n", 2);
            if (!eol) break;
            size_t size = strtoul(b, NULL, 16), head = (size_t)(eol - b) + 2;
            if (left < head + size + 2) break;
            if (size == 0) {
                fprintf(stderr, "subscriber %d: the server ended the stream\n", s->idx);
                exit(1);
            }
            on_event(s, b + head, size);
            pos += head + size + 2;
        } else {
            if (left < 2) break;
            size_t n = 0, mult = 1, i = 1;
            int ok = 0;
            while (i < left && i < 5) {
                unsigned char c = (unsigned char)b[i++];
                n += (c & 127) * mult;
                mult *= 128;
                if (!(c & 128)) {
                    ok = 1;
                    break;
                }
            }
            if (!ok || left - i < n) break;
            if ((unsigned char)b[0] >> 4 == 3) { /* PUBLISH, QoS 0 */
                size_t tlen = ((unsigned char)b[i] << 8) | (unsigned char)b[i + 1];
                on_event(s, b + i + 2 + tlen, n - 2 - tlen);
            }
            pos += i + n;
        }
    }
    memmove(s->buf, s->buf + pos, s->len - pos);
    s->len -= pos;
    if (s->buf) s->buf[s->len] = '\0';
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* {"n":..,"p50_us":..,"p99_us":..,"max_us":..,"min_us":..} of v (INT64_MIN entries skipped);
 * nearest-rank percentiles (the ceil(p * n / 100)-th smallest), as in the Python client. */
static void summary(FILE *f, const char *name, int64_t *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] != INT64_MIN) v[k++] = v[i];
    qsort(v, k, sizeof *v, cmp64);
    fprintf(f, "\"%s\":{\"n\":%zu", name, k);
    static const struct {
        const char *key;
        size_t p;
    } ps[] = {{"p50_us", 50}, {"p99_us", 99}};
    for (size_t j = 0; j < 2; j++) {
        if (!k) {
            fprintf(f, ",\"%s\":null", ps[j].key);
            continue;
        }
        size_t rank = (ps[j].p * k + 99) / 100;
        fprintf(f, ",\"%s\":%.1f", ps[j].key, v[rank ? rank - 1 : 0] / 1000.0);
    }
    if (k)
        fprintf(f, ",\"max_us\":%.1f,\"min_us\":%.1f}", v[k - 1] / 1000.0, v[0] / 1000.0);
    else
        fprintf(f, ",\"max_us\":null,\"min_us\":null}");
}

int main(int argc, char **argv)
{
    if (argc != 9 || (strcmp(argv[1], "verge") && strcmp(argv[1], "mqtt"))) {
        fprintf(stderr, "usage: %s verge URL COOKIE N EXPECTED READY_FILE TIMEOUT_S OUT_JSON\n"
                        "       %s mqtt HOST:PORT TOPIC N EXPECTED READY_FILE TIMEOUT_S OUT_JSON\n",
                argv[0], argv[0]);
        return 2;
    }
    g_mqtt = strcmp(argv[1], "mqtt") == 0;
    int nsubs = atoi(argv[4]);
    g_expected = atol(argv[5]);
    double timeout_s = atof(argv[7]);
    char host[256], path[256] = "/", req[2048];
    int port, tls = 0;
    if (!g_mqtt) {
        const char *u = argv[2];
        if (strncmp(u, "https://", 8) == 0) {
            tls = 1;
            u += 8;
        } else if (strncmp(u, "http://", 7) == 0) {
            u += 7;
        }
        if (sscanf(u, "%255[^:]:%d%255s", host, &port, path) < 2) {
            fprintf(stderr, "bad URL %s\n", argv[2]);
            return 2;
        }
        static const char body[] = "{\"request\":{\"apiVer\":\"0.6\"},\"params\":{\"eventInfo\":[]}}";
        snprintf(req, sizeof req,
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nCookie: %s\r\nContent-Type: "
                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 path, host, port, argv[3], sizeof body - 1, body);
    } else if (sscanf(argv[2], "%255[^:]:%d", host, &port) != 2) {
        fprintf(stderr, "bad address %s\n", argv[2]);
        return 2;
    }
    size_t total = (size_t)nsubs * (size_t)g_expected;
    g_sock = malloc(total * sizeof *g_sock);
    g_app = malloc(total * sizeof *g_app);
    g_lag = malloc(total * sizeof *g_lag);
    g_last = malloc((size_t)g_expected * sizeof *g_last);
    sub_t *subs = calloc((size_t)nsubs, sizeof *subs);
    if (!g_sock || !g_app || !g_lag || !g_last || !subs) die("malloc");
    for (long i = 0; i < g_expected; i++)
        g_last[i] = INT64_MIN;

    WOLFSSL_CTX *ctx = NULL;
    if (tls) {
        wolfSSL_Init();
        ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
        if (!ctx) die("wolfSSL_CTX_new");
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
        wolfSSL_CTX_SetIORecv(ctx, io_recv);
        wolfSSL_CTX_SetIOSend(ctx, io_send);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "%s: an IPv4 address, please\n", host);
        return 2;
    }
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < nsubs; i++) {
        sub_t *s = &subs[i];
        s->idx = i;
        s->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof sa)) die("connect");
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        if (tls) {
            s->ssl = wolfSSL_new(ctx);
            if (!s->ssl) die("wolfSSL_new");
            wolfSSL_SetIOReadCtx(s->ssl, s);
            wolfSSL_SetIOWriteCtx(s->ssl, s);
            if (wolfSSL_connect(s->ssl) != WOLFSSL_SUCCESS) {
                fprintf(stderr, "subscriber %d: TLS handshake failed (%d)\n", i,
                        wolfSSL_get_error(s->ssl, 0));
                return 1;
            }
        }
        if (!g_mqtt) {
            send_all(s, req, strlen(req));
            char *end;
            while (!(end = s->buf ? strstr(s->buf, "\r\n\r\n") : NULL))
                if (fill(s, 1) < 0) {
                    fprintf(stderr, "subscriber %d: closed before the response headers\n", i);
                    return 1;
                }
            if (strncmp(s->buf, "HTTP/1.1 200 ", 13) || !strcasestr(s->buf, "chunked")) {
                fprintf(stderr, "subscriber %d: %.*s\n", i, (int)(end - s->buf), s->buf);
                return 1;
            }
            size_t head = (size_t)(end - s->buf) + 4;
            memmove(s->buf, s->buf + head, s->len - head + 1);
            s->len -= head;
        } else {
            char id[64], pkt[512];
            int idn = snprintf(id, sizeof id, "fanout-%d-%d", (int)getpid(), i);
            size_t tl = strlen(argv[3]), n = 0;
            /* CONNECT: protocol MQTT level 4, clean session, keep-alive 600 s */
            pkt[n++] = 0x10;
            pkt[n++] = (char)(10 + 2 + idn);
            memcpy(pkt + n, "\0\4MQTT\4\2\2\x58", 10);
            n += 10;
            pkt[n++] = 0;
            pkt[n++] = (char)idn;
            memcpy(pkt + n, id, (size_t)idn);
            n += (size_t)idn;
            /* SUBSCRIBE packet id 1, QoS 0 */
            pkt[n++] = (char)0x82;
            pkt[n++] = (char)(2 + 2 + tl + 1);
            pkt[n++] = 0;
            pkt[n++] = 1;
            pkt[n++] = (char)(tl >> 8);
            pkt[n++] = (char)tl;
            memcpy(pkt + n, argv[3], tl);
            n += tl;
            pkt[n++] = 0;
            send_all(s, pkt, n);
            /* CONNACK (4 bytes) and SUBACK (5 bytes) */
            while (s->len < 9)
                if (fill(s, 1) < 0) {
                    fprintf(stderr, "subscriber %d: the broker closed the connection\n", i);
                    return 1;
                }
            if ((unsigned char)s->buf[0] != 0x20 || s->buf[3] != 0 ||
                (unsigned char)s->buf[4] != 0x90) {
                fprintf(stderr, "subscriber %d: unexpected CONNACK/SUBACK\n", i);
                return 1;
            }
            memmove(s->buf, s->buf + 9, s->len - 9 + 1);
            s->len -= 9;
        }
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev)) die("epoll_ctl");
    }
    FILE *rf = fopen(argv[6], "w");
    if (!rf) die(argv[6]);
    fprintf(rf, "subscribers=%d\n", nsubs);
    fclose(rf);

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now_ns(CLOCK_MONOTONIC) / 1e9, deadline = t0 + timeout_s;
    for (int i = 0; i < nsubs; i++) /* anything that came with the headers */
        if (subs[i].len) parse(&subs[i]);
    struct epoll_event evs[256];
    while (g_done < nsubs && now_ns(CLOCK_MONOTONIC) / 1e9 < deadline) {
        int n = epoll_wait(ep, evs, 256, 200);
        for (int i = 0; i < n; i++) {
            sub_t *s = evs[i].data.ptr;
            if (fill(s, 0) < 0) {
                fprintf(stderr, "subscriber %d: closed by the server\n", s->idx);
                return 1;
            }
            parse(s);
        }
    }
    double t1 = now_ns(CLOCK_MONOTONIC) / 1e9;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    double busy = t1 - (g_first_s > 0 ? g_first_s : t0);

    FILE *f = fopen(argv[8], "w");
    if (!f) die(argv[8]);
    fprintf(f,
            "{\"client\":\"c\",\"subscribers\":%d,\"expected_per_subscriber\":%ld,"
            "\"received\":%zu,\"missing\":%ld,\"complete_subscribers\":%ld,"
            "\"other_chunks\":%ld,\"payload_bytes\":%ld,\"recv_without_kernel_timestamp\":%ld,",
            nsubs, g_expected, g_n, (long)(total - g_n), g_done, g_other, g_payload_bytes,
            g_no_kts);
    summary(f, "socket", g_sock, g_n);
    fputc(',', f);
    summary(f, "app", g_app, g_n);
    fputc(',', f);
    summary(f, "client_lag", g_lag, g_n);
    fputc(',', f);
    summary(f, "all_subscribers_socket", g_last, (size_t)g_expected);
    fprintf(f, ",\"client_cpu_s\":%.3f,\"client_wall_s\":%.3f,\"client_cpu_share\":%.3f}\n", cpu,
            busy, busy > 0 ? cpu / busy : 0.0);
    fclose(f);
    return g_n == total ? 0 : 3;
}
