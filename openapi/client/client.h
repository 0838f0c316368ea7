/* client.h: a small blocking HTTPS (and loopback HTTP) client for the verge command line:
 * `verge invoke` now, the deployment commands next. One connection at a time, poll()-based
 * timeouts, TLS 1.2+ on wolfSSL with a CA file, a pinned SHA-256 fingerprint or no check at
 * all, responses parsed with llhttp. Never used on the server's loop: every call blocks. */
#ifndef VG_CLIENT_CLIENT_H
#define VG_CLIENT_CLIENT_H

#include "core/buf.h"

#include <jansson.h>
#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CLIENT_DEFAULT_URL  "https://127.0.0.1:9999"
#define CLIENT_DEFAULT_PORT 9999 /* when a URL names no port: verge's, not 443 */
#define CLIENT_SYSTEM_CA    "/etc/ssl/certs/ca-certificates.crt"
#define CLIENT_HOST_MAX     256
#define CLIENT_BASE_MAX     512

/* ---- URLs and fingerprints ---- */

typedef struct client_url {
    int tls;                             /* 1 for https, 0 for http */
    char host[CLIENT_HOST_MAX];          /* a name, or an IP literal without its brackets */
    int ip;                              /* 4 or 6 when host is an IP literal, else 0 */
    unsigned port;                       /* 1..65535 */
    char authority[CLIENT_HOST_MAX + 8]; /* "host:port" ("[::1]:9999") for the Host header */
    char base[CLIENT_BASE_MAX];          /* path prefix without a trailing '/', or "" */
} client_url_t;

/* Parses "https://HOST[:PORT][/BASE]" or "http://HOST[:PORT][/BASE]", HOST being a name, an
 * IPv4 address or a bracketed IPv6 address ("[::1]"); PORT defaults to CLIENT_DEFAULT_PORT.
 * User info, queries and fragments are refused. Returns 0, or VG_EINVAL with a message naming
 * the URL and what is wrong in `err`; *out is filled only on success. */
int client_url_parse(const char *url, client_url_t *out, char *err, size_t errlen);

/* Parses a SHA-256 fingerprint written "AB:CD:..." (32 pairs, as verge logs it) or as 64 hex
 * digits, in either case. Returns 0 with the 32 bytes in `out`, or VG_EINVAL with a message. */
int client_fingerprint_parse(const char *text, unsigned char out[32], char *err, size_t errlen);

/* ---- responses ---- */

typedef struct client_response {
    int status;       /* the HTTP status code */
    int keep_alive;   /* the connection may carry another request */
    vg_buf_t headers; /* nheaders pairs "name\0value\0", in the order received */
    size_t nheaders;
    vg_buf_t body; /* decoded (chunked bodies joined); NUL-terminated once complete */
} client_response_t;

/* Initializes an empty response (caller-owned); allocates nothing. */
void client_response_init(client_response_t *r);
/* Frees what `r` holds and leaves it empty and reusable. */
void client_response_close(client_response_t *r);
/* The value of the first header named `name` (case-insensitive), or NULL. The pointer lives
 * as long as `r` is not closed. */
const char *client_response_header(const client_response_t *r, const char *name);

/* The incremental response parser, pure (no I/O): the fuzz target and the tests drive it with
 * canned bytes. 1xx responses before the final one are skipped. */
typedef struct client_parser {
    llhttp_t ll;
    client_response_t *resp;
    size_t max_body;
    size_t header_bytes;
    int state;   /* header being stored: 0 none, 1 name, 2 name done, 3 value */
    int began;   /* a byte of a response has been parsed */
    int interim; /* the message being parsed is a 1xx response */
    int complete;
    int err; /* once set, every later call returns it */
    char msg[192];
} client_parser_t;

/* Starts parsing one response into `resp` (initialized by the caller, emptied here), whose
 * body may hold at most `max_body` bytes. */
void client_parser_init(client_parser_t *p, client_response_t *resp, size_t max_body);
/* Feeds bytes from the connection. Returns 0 when more are needed, 1 when the response is
 * complete (bytes after it are ignored), or a negative code with p->msg saying why:
 * VG_EPROTO (malformed), VG_ELIMIT (body over max_body or headers over 64 KiB), VG_ENOMEM. */
int client_parser_feed(client_parser_t *p, const char *data, size_t len);
/* Tells the parser that the connection has ended: returns 1 when that completes the
 * response (a body delimited by the close), or VG_ECLOSED when the response was cut short
 * (or never began), or the error already reported. */
int client_parser_eof(client_parser_t *p);

/* ---- connections and requests ---- */

typedef enum {
    CLIENT_TRUST_SYSTEM = 0, /* verify the chain against CLIENT_SYSTEM_CA and the host name */
    CLIENT_TRUST_CAFILE,     /* verify the chain against opts.cafile and the host name */
    CLIENT_TRUST_PIN,        /* accept exactly the leaf whose DER has SHA-256 opts.fingerprint */
    CLIENT_TRUST_INSECURE    /* verify nothing (curl -k) */
} client_trust_t;

typedef struct client_opts {
    const char *url; /* NULL: CLIENT_DEFAULT_URL */
    client_trust_t trust;
    const char *cafile;          /* CLIENT_TRUST_CAFILE: a PEM file of trusted certificates */
    const char *fingerprint;     /* CLIENT_TRUST_PIN: see client_fingerprint_parse */
    const char *user, *password; /* Basic credentials sent with every request, when user set */
    int connect_timeout_ms;      /* TCP connect plus TLS handshake; 0: 10 s */
    int read_timeout_ms;         /* each wait for response bytes; 0: 60 s */
    size_t max_body;             /* largest response body accepted; 0: 8 MiB */
} client_opts_t;

typedef struct client client_t;

/* Creates a client for opts->url (strings are copied; nothing connects yet: the first request
 * does). Returns 0 and *out, or VG_EINVAL (bad URL, fingerprint or user name), VG_ENOENT /
 * VG_ETLS (CA file missing or unusable) or VG_ENOMEM with a message in `err`. */
int client_create(const client_opts_t *opts, client_t **out, char *err, size_t errlen);
/* Closes the connection (if any) and frees the client; NULL is a no-op. */
void client_destroy(client_t *c);
/* The URL the client talks to, as given (or the default). */
const char *client_url(const client_t *c);

typedef struct client_header {
    const char *name, *value;
} client_header_t;

typedef enum {
    CLIENT_BODY_NONE = 0,
    CLIENT_BODY_MEMORY,  /* body.data, body.length bytes */
    CLIENT_BODY_FD,      /* body.length bytes read from body.fd */
    CLIENT_BODY_CALLBACK /* body.length bytes produced by body.read */
} client_body_kind_t;

typedef struct client_body {
    client_body_kind_t kind;
    uint64_t length;  /* sent as Content-Length; the source must yield exactly that */
    const void *data; /* CLIENT_BODY_MEMORY */
    int fd;           /* CLIENT_BODY_FD */
    /* CLIENT_BODY_CALLBACK: fills at most `cap` bytes of `buf`; returns how many, 0 at the
     * end, or -1 on an error (the request then fails with VG_EIO). */
    ssize_t (*read)(void *arg, char *buf, size_t cap);
    void *arg;
    /* Called after each piece of the body went out (and once at the start with sent 0). */
    void (*progress)(void *arg, uint64_t sent, uint64_t total);
    void *progress_arg;
} client_body_t;

typedef struct client_request {
    const char *method;             /* "POST" */
    const char *path;               /* "/function/invoke": appended to the URL's base */
    const char *content_type;       /* NULL: no Content-Type */
    const client_header_t *headers; /* extra headers, nheaders of them */
    size_t nheaders;
    client_body_t body;
} client_request_t;

/* Sends `req` (connecting first when needed) and reads the whole response into `resp`
 * (initialized by the caller; close it with client_response_close whatever the result).
 * Returns 0 for any complete HTTP response, whatever its status, or a negative code with a
 * message naming the URL in `err`: VG_EINVAL (bad request fields), VG_EIO (connect, send,
 * receive or body source failure), VG_ETIMEOUT, VG_ETLS (handshake or certificate check,
 * with a hint on how to trust verge's self-signed certificate), VG_EPROTO (malformed
 * response), VG_ELIMIT (response body over max_body), VG_ECLOSED (the server closed early).
 * After an error the connection is closed; the next request opens a new one. */
int client_request(client_t *c, const client_request_t *req, client_response_t *resp, char *err,
                   size_t errlen);

/* ---- the verge OpenAPI envelope ---- */

typedef struct client_reply {
    int status;          /* the HTTP status */
    json_t *root;        /* the whole parsed reply, owned */
    int code;            /* its "code" */
    const char *message; /* its "message", owned by root */
    json_t *data;        /* its "data" (borrowed from root; NULL when absent) */
} client_reply_t;

/* POSTs {"id":N,"version":"1.0","request":{"apiVer":"0.6"},"params":PARAMS} to `path`
 * (params borrowed; NULL sends {}) and parses the {"code","message","data"} reply into *out.
 * Returns 0 when a reply in that shape arrived, whatever its code (free it with
 * client_reply_close), or the errors of client_request plus VG_EPROTO when the body is not
 * such a reply; on error *out is empty. */
int client_call(client_t *c, const char *path, json_t *params, client_reply_t *out, char *err,
                size_t errlen);
/* Frees a reply; an empty one is a no-op. */
void client_reply_close(client_reply_t *r);

#endif
