/* client.c: the blocking connection of client.h: name resolution, a non-blocking socket
 * driven by poll() so every wait has a timeout, TLS through wolfSSL's I/O callbacks, the
 * trust checks (CA chain plus host name or IP, SHA-256 pin, none), requests with a body from
 * memory, a file descriptor or a callback, and the verge envelope on top. */
#include "client/client.h"
#include "client/client_int.h"
#include "core/error.h"
#include "core/json.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT__CONNECT_TIMEOUT_MS 10000
#define CLIENT__READ_TIMEOUT_MS    60000
#define CLIENT__MAX_BODY           (8u * 1024 * 1024)
#define CLIENT__INLINE_BODY        (16 * 1024) /* smaller bodies go out with the head */
#define CLIENT__PIECE              (64 * 1024)

/* AEAD suites with forward secrecy only, as the server offers them (openapi/tls/tls.c). */
static const char client__suites[] = "TLS13-CHACHA20-POLY1305-SHA256:"
                                     "TLS13-AES128-GCM-SHA256:"
                                     "TLS13-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                     "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                     "ECDHE-RSA-CHACHA20-POLY1305:"
                                     "ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-RSA-AES256-GCM-SHA384";

/* What to tell a user whose gateway's certificate could not be verified. */
#define CLIENT__TRUST_HINT                                                                         \
    "verge's own certificate is self-signed: pass --cacert DATA_DIR/tls/cert.pem (./var/tls/"      \
    "cert.pem by default), --fingerprint with the SHA-256 fingerprint verge logs at start, or -k " \
    "to skip verification"

struct client {
    char url_text[CLIENT_BASE_MAX + CLIENT_HOST_MAX + 16];
    client_url_t url;
    client_trust_t trust;
    char cafile[4096];
    unsigned char pin[32];
    char *authorization; /* "Basic ..." or NULL */
    int connect_timeout_ms, read_timeout_ms;
    size_t max_body;
    json_int_t next_id;

    WOLFSSL_CTX *ssl_ctx;
    WOLFSSL *ssl;
    int fd;         /* -1 when not connected */
    int timeout_ms; /* what the I/O callbacks wait: connect or read timeout */
    int io_err;     /* set by the socket layer: VG_ETIMEOUT or VG_EIO, with io_errno */
    int io_errno;
    int io_eof; /* the peer closed the TCP connection */
};

/* ---- the socket layer: every wait bounded by c->timeout_ms ---- */

static int64_t client__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until c->fd is ready for `events`. Returns 0, or VG_ETIMEOUT / VG_EIO (io_err set). */
static int client__wait(client_t *c, short events)
{
    int64_t deadline = client__now_ms() + c->timeout_ms;
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = events};
        int64_t left = deadline - client__now_ms();
        int n = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (n > 0) return 0;
        if (n == 0) return c->io_err = VG_ETIMEOUT;
        if (errno != EINTR) {
            c->io_errno = errno;
            return c->io_err = VG_EIO;
        }
    }
}

/* Receives up to `len` bytes: returns how many, 0 at the end of the stream, or a negative
 * code (io_err set). */
static ssize_t client__sock_recv(client_t *c, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) return n;
        if (n == 0) {
            c->io_eof = 1;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = client__wait(c, POLLIN);
            if (rc) return rc;
            continue;
        }
        c->io_errno = errno;
        if (errno == ECONNRESET) c->io_eof = 1;
        return c->io_err = VG_EIO;
    }
}

/* Sends up to `len` bytes (at least one): returns how many or a negative code. */
static ssize_t client__sock_send(client_t *c, const char *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = client__wait(c, POLLOUT);
            if (rc) return rc;
            continue;
        }
        c->io_errno = errno;
        return c->io_err = VG_EIO;
    }
}

static int client__recv_cb(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    ssize_t n = client__sock_recv(arg, buf, (size_t)sz);
    if (n > 0) return (int)n;
    return n == 0 ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_GENERAL;
}

static int client__send_cb(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    ssize_t n = client__sock_send(arg, buf, (size_t)sz);
    return n > 0 ? (int)n : WOLFSSL_CBIO_ERR_GENERAL;
}

/* "cannot ... : why" for the last socket-layer failure. */
static int client__io_fail(client_t *c, const char *doing, char *err, size_t errlen)
{
    if (c->io_err == VG_ETIMEOUT)
        snprintf(err, errlen, "%s: no answer within %d ms while %s", c->url_text, c->timeout_ms,
                 doing);
    else if (c->io_err == VG_EIO)
        snprintf(err, errlen, "%s: %s: %s", c->url_text, doing, strerror(c->io_errno));
    else
        snprintf(err, errlen, "%s: the server closed the connection while %s", c->url_text, doing);
    return c->io_err ? c->io_err : VG_ECLOSED;
}

/* ---- connecting ---- */

int client__loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

static void client__disconnect(client_t *c)
{
    if (c->ssl) {
        wolfSSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

/* Connects c->fd to one address within the connect timeout. Returns 0 or -1 (io_errno). */
static int client__connect_addr(client_t *c, const struct addrinfo *ai)
{
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        c->io_errno = errno;
        return -1;
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) return 0;
    if (errno != EINPROGRESS) {
        c->io_errno = errno;
        goto fail;
    }
    if (client__wait(c, POLLOUT)) {
        if (c->io_err == VG_ETIMEOUT) c->io_errno = ETIMEDOUT;
        goto fail;
    }
    int so = 0;
    socklen_t len = sizeof so;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &len) == 0 && so == 0) return 0;
    c->io_errno = so ? so : errno;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

/* Resolves the host and connects to the first address that answers. */
static int client__tcp(client_t *c, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    if (c->url.ip) hints.ai_flags = AI_NUMERICHOST;
    char port[8];
    snprintf(port, sizeof port, "%u", c->url.port);
    struct addrinfo *res = NULL;
    int g = getaddrinfo(c->url.host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s: %s", c->url_text, c->url.host,
                 gai_strerror(g));
        return VG_EIO;
    }
    int rc = VG_EIO;
    c->io_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!c->url.tls && !client__loopback(ai->ai_addr)) {
            snprintf(err, errlen,
                     "%s: http:// sends the password in clear and is only for loopback "
                     "addresses (127.0.0.1, ::1, localhost); use https://",
                     c->url_text);
            rc = VG_EINVAL;
            break;
        }
        c->io_err = 0;
        if (client__connect_addr(c, ai) == 0) {
            rc = 0;
            break;
        }
    }
    freeaddrinfo(res);
    if (rc == VG_EIO) {
        int e = c->io_errno;
        snprintf(err, errlen, "%s: cannot connect to %s port %u: %s%s", c->url_text, c->url.host,
                 c->url.port, e == ETIMEDOUT ? "timed out" : strerror(e ? e : EHOSTUNREACH),
                 e == ECONNREFUSED ? " (is verge serve running there?)" : "");
        if (e == ETIMEDOUT) rc = VG_ETIMEOUT;
    }
    return rc;
}

/* "AB:CD:..." of 32 bytes. */
static void client__hexfp(const unsigned char fp[32], char out[96])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 3 * i, 4, i < 31 ? "%02X:" : "%02X", fp[i]);
}

/* The peer's leaf certificate as DER (owned by the session), or NULL. */
static const unsigned char *client__leaf(client_t *c, int *len)
{
    WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(c->ssl);
    if (!chain || wolfSSL_get_chain_count(chain) < 1) return NULL;
    *len = wolfSSL_get_chain_length(chain, 0);
    const unsigned char *der = wolfSSL_get_chain_cert(chain, 0);
    return der && *len > 0 ? der : NULL;
}

/* wolfSSL spells an IPv6 SAN out in full ("0000:...:0001"), so the host is compared so. */
static void client__ip6_full(const char *host, char out[40])
{
    unsigned char a[16] = {0};
    (void)inet_pton(AF_INET6, host, a);
    for (int i = 0; i < 8; i++)
        snprintf(out + 5 * i, 6, i < 7 ? "%02x%02x:" : "%02x%02x", a[2 * i], a[2 * i + 1]);
}

/* After the handshake: the pin, or the host name / IP of a verified chain. */
static int client__check_peer(client_t *c, char *err, size_t errlen)
{
    if (c->trust == CLIENT_TRUST_INSECURE) return 0;
    int len = 0;
    const unsigned char *der = client__leaf(c, &len);
    if (!der) {
        snprintf(err, errlen, "%s: the server sent no certificate", c->url_text);
        return VG_ETLS;
    }
    if (c->trust == CLIENT_TRUST_PIN) {
        unsigned char fp[32];
        char got[96], want[96];
        if (wc_Sha256Hash(der, (word32)len, fp) != 0) {
            snprintf(err, errlen, "%s: cannot hash the server's certificate", c->url_text);
            return VG_ETLS;
        }
        if (memcmp(fp, c->pin, sizeof fp) == 0) return 0;
        client__hexfp(fp, got);
        client__hexfp(c->pin, want);
        snprintf(err, errlen,
                 "%s: the server's certificate has SHA-256 fingerprint %s, not the pinned %s: "
                 "refusing to talk to it",
                 c->url_text, got, want);
        return VG_ETLS;
    }
    WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_buffer(der, len, WOLFSSL_FILETYPE_ASN1);
    if (!x) {
        snprintf(err, errlen, "%s: cannot decode the server's certificate", c->url_text);
        return VG_ETLS;
    }
    int ok;
    if (c->url.ip == 6) {
        char full[40];
        client__ip6_full(c->url.host, full);
        ok = wolfSSL_X509_check_ip_asc(x, full, 0) == 1;
    } else if (c->url.ip == 4) {
        ok = wolfSSL_X509_check_ip_asc(x, c->url.host, 0) == 1;
    } else {
        ok = wolfSSL_X509_check_host(x, c->url.host, strlen(c->url.host), 0, NULL) == 1;
    }
    wolfSSL_X509_free(x);
    if (ok) return 0;
    snprintf(err, errlen,
             "%s: the server's certificate is not valid for %s %s (connect with a name or "
             "address it lists, or pin it with --fingerprint)",
             c->url_text, c->url.ip ? "the address" : "the name", c->url.host);
    return VG_ETLS;
}

/* Explains a failed handshake. */
static int client__tls_fail(client_t *c, int ret, char *err, size_t errlen)
{
    if (c->io_err || c->io_eof) return client__io_fail(c, "setting up TLS", err, errlen);
    int e = wolfSSL_get_error(c->ssl, ret);
    char why[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)e, why, sizeof why);
    const char *bundle = c->trust == CLIENT_TRUST_SYSTEM ? CLIENT_SYSTEM_CA : c->cafile;
    switch (e) {
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
    case ASN_SIG_CONFIRM_E:
        if (c->trust == CLIENT_TRUST_SYSTEM)
            snprintf(
                err, errlen,
                "%s: the server's certificate is not signed by a CA in %s; " CLIENT__TRUST_HINT,
                c->url_text, bundle);
        else
            snprintf(err, errlen, "%s: the server's certificate is not signed by a CA in %s",
                     c->url_text, bundle);
        break;
    case ASN_AFTER_DATE_E:
        snprintf(err, errlen, "%s: the server's certificate has expired", c->url_text);
        break;
    case ASN_BEFORE_DATE_E:
        snprintf(err, errlen, "%s: the server's certificate is not valid yet (check the clock)",
                 c->url_text);
        break;
    default: /* an alert is the server's refusal; anything else may be a server without TLS */
        snprintf(err, errlen, "%s: TLS handshake failed: %s (%d)%s", c->url_text, why, e,
                 e == FATAL_ERROR ? "" : "; is it an https:// server?");
    }
    return VG_ETLS;
}

/* Opens the connection: TCP, then TLS with the trust checks. */
static int client__connect(client_t *c, char *err, size_t errlen)
{
    c->io_err = c->io_errno = c->io_eof = 0;
    c->timeout_ms = c->connect_timeout_ms;
    int rc = client__tcp(c, err, errlen);
    if (rc || !c->url.tls) goto out;
    c->ssl = wolfSSL_new(c->ssl_ctx);
    if (!c->ssl) {
        snprintf(err, errlen, "out of memory");
        rc = VG_ENOMEM;
        goto out;
    }
    wolfSSL_SetIOReadCtx(c->ssl, c);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    if (!c->url.ip)
        (void)wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, c->url.host,
                             (unsigned short)strlen(c->url.host));
    int ret = wolfSSL_connect(c->ssl);
    if (ret != WOLFSSL_SUCCESS)
        rc = client__tls_fail(c, ret, err, errlen);
    else
        rc = client__check_peer(c, err, errlen);
out:
    if (rc) client__disconnect(c);
    c->timeout_ms = c->read_timeout_ms;
    return rc;
}

/* ---- creating ---- */

static int client__basic(client_t *c, const char *user, const char *password, char *err,
                         size_t errlen)
{
    if (strchr(user, ':') || strpbrk(user, "\r\n")) {
        snprintf(err, errlen, "user name \"%s\": must not contain ':' or line breaks", user);
        return VG_EINVAL;
    }
    size_t ul = strlen(user), pl = password ? strlen(password) : 0;
    size_t n = ul + 1 + pl;
    unsigned char *plain = malloc(n + 1);
    word32 outlen = (word32)((n + 2) / 3 * 4 + 1);
    c->authorization = malloc(6 + outlen);
    int rc = plain && c->authorization ? 0 : VG_ENOMEM;
    if (rc == 0) {
        memcpy(plain, user, ul);
        plain[ul] = ':';
        if (pl) memcpy(plain + ul + 1, password, pl);
        memcpy(c->authorization, "Basic ", 6);
        if (Base64_Encode_NoNl(plain, (word32)n, (byte *)c->authorization + 6, &outlen) != 0)
            rc = VG_ENOMEM;
        else
            c->authorization[6 + outlen] = '\0';
    }
    if (plain) memset(plain, 0, n);
    free(plain);
    if (rc) snprintf(err, errlen, "out of memory");
    return rc;
}

static int client__tls_ctx(client_t *c, char *err, size_t errlen)
{
    c->ssl_ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (!c->ssl_ctx) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    if (wolfSSL_CTX_SetMinVersion(c->ssl_ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_cipher_list(c->ssl_ctx, client__suites) != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "wolfSSL refused the TLS 1.2 minimum or the cipher suites");
        return VG_ETLS;
    }
    wolfSSL_CTX_SetIORecv(c->ssl_ctx, client__recv_cb);
    wolfSSL_CTX_SetIOSend(c->ssl_ctx, client__send_cb);
    if (c->trust == CLIENT_TRUST_PIN || c->trust == CLIENT_TRUST_INSECURE) {
        /* the pin is checked against the leaf once the handshake is done */
        wolfSSL_CTX_set_verify(c->ssl_ctx, WOLFSSL_VERIFY_NONE, NULL);
        return 0;
    }
    const char *file = c->trust == CLIENT_TRUST_SYSTEM ? CLIENT_SYSTEM_CA : c->cafile;
    if (access(file, R_OK) != 0) {
        int e = errno;
        if (c->trust == CLIENT_TRUST_SYSTEM)
            snprintf(err, errlen,
                     "cannot read the system CA bundle %s (%s) to verify %s; " CLIENT__TRUST_HINT,
                     file, strerror(e), c->url_text);
        else
            snprintf(err, errlen, "--cacert %s: %s", file, strerror(e));
        return e == ENOENT ? VG_ENOENT : VG_EPERM;
    }
    if (wolfSSL_CTX_load_verify_locations(c->ssl_ctx, file, NULL) != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "%s: no usable PEM certificate in it", file);
        return VG_ETLS;
    }
    wolfSSL_CTX_set_verify(c->ssl_ctx, WOLFSSL_VERIFY_PEER, NULL);
    return 0;
}

int client_create(const client_opts_t *opts, client_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen) err[0] = '\0';
    const char *url = opts->url ? opts->url : CLIENT_DEFAULT_URL;
    if (strlen(url) >= sizeof((client_t *)0)->url_text) {
        snprintf(err, errlen, "gateway URL too long");
        return VG_EINVAL;
    }
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
        snprintf(err, errlen, "wolfSSL failed to initialize");
        return VG_ETLS;
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c) {
        wolfSSL_Cleanup();
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    c->fd = -1;
    c->next_id = 1;
    snprintf(c->url_text, sizeof c->url_text, "%s", url);
    c->trust = opts->trust;
    c->connect_timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : CLIENT__CONNECT_TIMEOUT_MS;
    c->read_timeout_ms =
        opts->read_timeout_ms > 0 ? opts->read_timeout_ms : CLIENT__READ_TIMEOUT_MS;
    c->timeout_ms = c->read_timeout_ms;
    c->max_body = opts->max_body ? opts->max_body : CLIENT__MAX_BODY;
    int rc = client_url_parse(url, &c->url, err, errlen);
    if (rc == 0 && c->trust == CLIENT_TRUST_PIN)
        rc = client_fingerprint_parse(opts->fingerprint, c->pin, err, errlen);
    if (rc == 0 && c->trust == CLIENT_TRUST_CAFILE) {
        if (!opts->cafile || !*opts->cafile || strlen(opts->cafile) >= sizeof c->cafile) {
            snprintf(err, errlen, "--cacert needs a FILE (a PEM certificate or bundle)");
            rc = VG_EINVAL;
        } else {
            snprintf(c->cafile, sizeof c->cafile, "%s", opts->cafile);
        }
    }
    if (rc == 0 && opts->user) rc = client__basic(c, opts->user, opts->password, err, errlen);
    if (rc == 0 && c->url.tls) rc = client__tls_ctx(c, err, errlen);
    if (rc) {
        client_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

void client_destroy(client_t *c)
{
    if (!c) return;
    client__disconnect(c);
    if (c->ssl_ctx) wolfSSL_CTX_free(c->ssl_ctx);
    if (c->authorization) {
        memset(c->authorization, 0, strlen(c->authorization));
        free(c->authorization);
    }
    memset(c, 0, sizeof *c);
    free(c);
    wolfSSL_Cleanup(); /* reference counted: balances client_create's wolfSSL_Init */
}

const char *client_url(const client_t *c)
{
    return c->url_text;
}

/* ---- the transport: TLS or plain ---- */

/* Writes all of `buf`. Returns 0 or a negative code (the reason in io_err or wolfSSL). */
static int client__write(client_t *c, const char *buf, size_t len)
{
    while (len > 0) {
        size_t piece = len > CLIENT__PIECE ? CLIENT__PIECE : len;
        ssize_t n;
        if (c->ssl) {
            int r = wolfSSL_write(c->ssl, buf, (int)piece);
            n = r > 0 ? r : (c->io_err ? c->io_err : VG_ETLS);
        } else {
            n = client__sock_send(c, buf, piece);
        }
        if (n <= 0) return n < 0 ? (int)n : VG_EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what is there (waiting up to the read timeout): the byte count, 0 at the end of
 * the stream (close_notify or TCP close), or a negative code. */
static ssize_t client__read(client_t *c, char *buf, size_t len)
{
    if (!c->ssl) return client__sock_recv(c, buf, len);
    int r = wolfSSL_read(c->ssl, buf, (int)len);
    if (r > 0) return r;
    int e = wolfSSL_get_error(c->ssl, r);
    if (e == WOLFSSL_ERROR_ZERO_RETURN || (c->io_eof && !c->io_err)) return 0;
    return c->io_err ? c->io_err : VG_ETLS;
}

/* ---- requests ---- */

/* Refuses request fields that would break the request framing. */
static int client__check_request(const client_request_t *req, char *err, size_t errlen)
{
    const char *what = NULL, *value = "";
    if (!req->method || !*req->method || strpbrk(req->method, " \t\r\n"))
        what = "method", value = req->method;
    else if (!req->path || req->path[0] != '/' || strpbrk(req->path, " \t\r\n"))
        what = "path (must start with '/', without spaces)", value = req->path;
    else if (req->content_type && strpbrk(req->content_type, "\r\n"))
        what = "Content-Type", value = req->content_type;
    for (size_t i = 0; !what && i < req->nheaders; i++) {
        const client_header_t *h = &req->headers[i];
        if (!h->name || !*h->name || strpbrk(h->name, " \t\r\n:"))
            what = "header name", value = h->name;
        else if (!h->value || strpbrk(h->value, "\r\n"))
            what = "header value", value = h->value;
    }
    const client_body_t *b = &req->body;
    if (!what && b->kind == CLIENT_BODY_MEMORY && b->length && !b->data)
        what = "body (no data)";
    else if (!what && b->kind == CLIENT_BODY_CALLBACK && !b->read)
        what = "body (no read callback)";
    else if (!what && b->kind == CLIENT_BODY_FD && b->fd < 0)
        what = "body (no file descriptor)";
    if (!what) return 0;
    snprintf(err, errlen, "invalid request %s: \"%s\"", what, value ? value : "");
    return VG_EINVAL;
}

/* The request line and headers, plus a small memory body. Returns 0 or VG_ENOMEM. */
static int client__head(client_t *c, const client_request_t *req, int inline_body, vg_buf_t *b)
{
    const client_body_t *body = &req->body;
    int e = vg_buf_printf(b,
                          "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: verge-cli\r\n"
                          "Accept: application/json\r\n",
                          req->method, c->url.base, req->path, c->url.authority);
    if (e == 0 && c->authorization) e = vg_buf_printf(b, "Authorization: %s\r\n", c->authorization);
    if (e == 0 && req->content_type)
        e = vg_buf_printf(b, "Content-Type: %s\r\n", req->content_type);
    for (size_t i = 0; e == 0 && i < req->nheaders; i++)
        e = vg_buf_printf(b, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
    if (e == 0 && body->kind != CLIENT_BODY_NONE)
        e = vg_buf_printf(b, "Content-Length: %llu\r\n", (unsigned long long)body->length);
    if (e == 0) e = vg_buf_puts(b, "\r\n");
    if (e == 0 && inline_body) e = vg_buf_append(b, body->data, (size_t)body->length);
    return e;
}

/* One piece of a streamed body: up to `cap` bytes, 0 at the end, -1 on error (errno). */
static ssize_t client__body_piece(const client_body_t *body, uint64_t sent, char *buf, size_t cap)
{
    if (body->kind == CLIENT_BODY_MEMORY) {
        memcpy(buf, (const char *)body->data + sent, cap);
        return (ssize_t)cap;
    }
    if (body->kind == CLIENT_BODY_CALLBACK) return body->read(body->arg, buf, cap);
    for (;;) {
        ssize_t n = read(body->fd, buf, cap);
        if (n >= 0 || errno != EINTR) return n;
    }
}

/* The message for a failed client__write. */
static int client__write_fail(client_t *c, const char *doing, char *err, size_t errlen)
{
    if (c->io_err || c->io_eof) return client__io_fail(c, doing, err, errlen);
    snprintf(err, errlen, "%s: TLS failure while %s", c->url_text, doing);
    return VG_ETLS;
}

/* Sends the body after the head (unless it went with it), reporting progress. Returns 0,
 * VG_EIO with *source_failed set when the body's source failed, or the write's error. */
static int client__send_body(client_t *c, const client_body_t *body, int inline_sent,
                             int *source_failed, char *err, size_t errlen)
{
    uint64_t total = body->kind == CLIENT_BODY_NONE ? 0 : body->length, sent = 0;
    if (body->progress) body->progress(body->progress_arg, 0, total);
    if (inline_sent) {
        if (body->progress && total) body->progress(body->progress_arg, total, total);
        return 0;
    }
    char *buf = total ? malloc(CLIENT__PIECE) : NULL;
    if (total && !buf) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    int rc = 0;
    while (rc == 0 && sent < total) {
        size_t cap = total - sent < CLIENT__PIECE ? (size_t)(total - sent) : CLIENT__PIECE;
        ssize_t n = client__body_piece(body, sent, buf, cap);
        if (n <= 0) {
            int e = errno;
            snprintf(err, errlen, "%s: the request body ended after %llu of its %llu bytes%s%s",
                     c->url_text, (unsigned long long)sent, (unsigned long long)total,
                     n < 0 ? ": " : "", n < 0 ? strerror(e) : "");
            *source_failed = 1;
            rc = VG_EIO;
        } else if (client__write(c, buf, (size_t)n)) {
            rc = client__write_fail(c, "sending the request body", err, errlen);
        } else {
            sent += (uint64_t)n;
            if (body->progress) body->progress(body->progress_arg, sent, total);
        }
    }
    free(buf);
    return rc;
}

/* Reads the response. Returns 0 or a negative code with a message. */
static int client__recv_response(client_t *c, client_response_t *resp, char *err, size_t errlen)
{
    client_parser_t p;
    client_parser_init(&p, resp, c->max_body);
    char buf[16384];
    int r = 0;
    c->timeout_ms = c->read_timeout_ms;
    while (r == 0) {
        ssize_t n = client__read(c, buf, sizeof buf);
        if (n < 0) {
            if (n == VG_ETLS) {
                snprintf(err, errlen, "%s: TLS failure while reading the response", c->url_text);
                return VG_ETLS;
            }
            if (c->io_err == VG_EIO && c->io_errno == ECONNRESET && p.began) {
                r = client_parser_eof(&p); /* a reset right after a close-delimited body */
                break;
            }
            return client__io_fail(c, "waiting for the response", err, errlen);
        }
        r = n == 0 ? client_parser_eof(&p) : client_parser_feed(&p, buf, (size_t)n);
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", c->url_text, p.msg);
        return r;
    }
    return 0;
}

int client_request(client_t *c, const client_request_t *req, client_response_t *resp, char *err,
                   size_t errlen)
{
    if (errlen) err[0] = '\0';
    int rc = client__check_request(req, err, errlen);
    if (rc) return rc;
    int inline_body =
        req->body.kind == CLIENT_BODY_MEMORY && req->body.length <= CLIENT__INLINE_BODY;
    vg_buf_t head;
    vg_buf_init(&head);
    if (client__head(c, req, inline_body, &head)) {
        vg_buf_close(&head);
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    if (c->fd < 0) rc = client__connect(c, err, errlen);
    c->io_err = c->io_errno = c->io_eof = 0;
    c->timeout_ms = c->read_timeout_ms;
    int source_failed = 0;
    if (rc == 0 && client__write(c, head.data, head.len))
        rc = client__write_fail(c, "sending the request", err, errlen);
    vg_buf_close(&head);
    if (rc == 0) rc = client__send_body(c, &req->body, inline_body, &source_failed, err, errlen);
    if (rc == 0) {
        rc = client__recv_response(c, resp, err, errlen);
    } else if ((rc == VG_EIO || rc == VG_ECLOSED) && !source_failed && c->fd >= 0) {
        /* A server that refuses a request (413, 401, 421) may answer and close before
         * reading all of it: its answer says more than our failed send. */
        char rerr[64];
        c->io_err = c->io_errno = 0;
        if (client__recv_response(c, resp, rerr, sizeof rerr) == 0) {
            resp->keep_alive = 0;
            rc = 0;
        }
    }
    if (rc || !resp->keep_alive) client__disconnect(c);
    return rc;
}

/* ---- the envelope ---- */

void client_reply_close(client_reply_t *r)
{
    if (r->root) json_decref(r->root);
    memset(r, 0, sizeof *r);
}

int client_call(client_t *c, const char *path, json_t *params, client_reply_t *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *p = params ? json_incref(params) : json_object();
    json_t *env = p ? json_pack("{s:I,s:s,s:{s:s},s:o}", "id", c->next_id++, "version", "1.0",
                                "request", "apiVer", "0.6", "params", p)
                    : NULL; /* "o" takes p's reference, even on failure */
    char *text = env ? json_dumps(env, VG_JSON_FLAGS) : NULL;
    if (env) json_decref(env);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return VG_ENOMEM;
    }
    client_request_t req = {
        .method = "POST",
        .path = path,
        .content_type = "application/json",
        .body = {.kind = CLIENT_BODY_MEMORY, .data = text, .length = strlen(text)},
    };
    client_response_t resp;
    client_response_init(&resp);
    int rc = client_request(c, &req, &resp, err, errlen);
    free(text);
    if (rc) {
        client_response_close(&resp);
        return rc;
    }
    json_error_t jerr;
    json_t *root = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, &jerr) : NULL;
    json_t *code = root ? json_object_get(root, "code") : NULL;
    json_t *message = root ? json_object_get(root, "message") : NULL;
    if (!json_is_object(root) || !json_is_integer(code) || !json_is_string(message)) {
        char start[121]; /* the body's start on one line, control characters made spaces */
        size_t n = 0;
        for (size_t i = 0; i < resp.body.len && n < sizeof start - 1; i++) {
            unsigned char ch = (unsigned char)resp.body.data[i];
            if (ch < ' ' || ch == 0x7f) ch = ' ';
            if (ch != ' ' || (n > 0 && start[n - 1] != ' ')) start[n++] = (char)ch;
        }
        start[n] = '\0';
        snprintf(err, errlen, "%s: POST %s: HTTP %d with a body that is not a verge reply: %s",
                 c->url_text, path, resp.status, n ? start : "(empty)");
        if (root) json_decref(root);
        client_response_close(&resp);
        return VG_EPROTO;
    }
    out->status = resp.status;
    out->root = root;
    out->code = (int)json_integer_value(code);
    out->message = json_string_value(message);
    out->data = json_object_get(root, "data");
    client_response_close(&resp);
    return 0;
}
