/* http.h: the HTTP/1.1 server of the OpenAPI: one listening port that speaks TLS, or plain
 * HTTP to loopback clients, with keep-alive, in-order pipelining, chunked responses and the
 * limits of the `limits.*` options. Requests are handed to one callback; routing is the
 * caller's (openapi/handlers). Loop-thread only. */
#ifndef VG_HTTP_HTTP_H
#define VG_HTTP_HTTP_H

#include "core/buf.h"
#include "core/ctx.h"
#include "tls/tls.h"

#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server_t;
typedef struct http_conn http_conn_t;
typedef struct http_request http_request_t;

typedef struct http_header {
    const char *name; /* as sent; compare with strcasecmp */
    const char *value;
} http_header_t;

/* One request. The server creates it when the request is complete and hands it to the
 * handler, which must finish it with exactly one http_respond() or http_stream_end(). If the
 * client goes away first, the request is "detached": the response calls still must be made
 * (they then only free the request), and on_close (when set) is called once. */
struct http_request {
    const char *method;     /* "GET", "POST"... */
    const char *path;       /* decoded of nothing: the raw path without the query */
    const char *query;      /* after '?', or "" */
    http_header_t *headers; /* nheaders entries */
    int nheaders;
    const char *body; /* NUL-terminated copy; body_len bytes */
    size_t body_len;
    char peer_ip[48];
    int peer_loopback;
    int tls;            /* 1 when it came over TLS */
    int keep_alive;     /* the client allows keep-alive (the server may still close) */
    uint64_t start_ns;  /* when its first byte arrived, vg_mono_ns() */
    void *user;         /* for the handler */
    void (*on_close)(http_request_t *req); /* client gone while the request was open */

    /* Set when the server itself must refuse this request (a malformed request, a limit, too
     * many connections, plain HTTP from a remote client): the handler answers with this status
     * and message through its one error writer, and the connection closes afterwards. */
    int error_status;
    const char *error_msg;

    /* private to the http module */
    http_conn_t *conn_;
    int streaming_;
    int close_;
    vg_buf_t storage_;
    vg_buf_t body_buf_;
};

typedef void (*http_handler_fn)(void *app, http_request_t *req);

/* Creates a server that will hand requests to `handler(app, req)`. `tls` may be NULL to serve
 * plain HTTP only (tests, fuzzing). Returns 0 and *out, or VG_ENOMEM. */
int http_server_create(vg_ctx_t *ctx, tls_ctx_t *tls, http_handler_fn handler, void *app,
                       http_server_t **out);

/* Chooses the body limit of a request from its method and path (without the query) once its
 * headers are complete: returns the largest body allowed in bytes, or 0 for
 * limits.max_body_bytes, and may point *limit_name at the name of the option that sets it
 * (the 413 message names it). */
typedef size_t (*http_body_limit_fn)(void *app, const char *method, const char *path,
                                     const char **limit_name);

/* Installs `fn` (called with the server's `app`) for every request from now on; NULL removes
 * it. A request given a limit above limits.max_body_bytes is a large upload, and the server
 * receives one at a time: another one arriving while a large body is being received (or its
 * request is being answered) gets 503 at its headers, before its body is read, so that
 * unauthenticated clients cannot make the server buffer many large bodies at once. */
void http_server_set_body_limit(http_server_t *s, http_body_limit_fn fn);

/* Binds and listens on ctx->cfg.listen ("ADDR:PORT", "[v6]:PORT"). Returns 0, or a negative
 * VG_E* code with a message naming the address in `err`. */
int http_server_listen(http_server_t *s, char *err, size_t errlen);

/* The port actually bound (useful with port 0), or -1. */
int http_server_port(const http_server_t *s);

/* Graceful stop: closes the listener, closes idle connections, lets requests in flight finish
 * (their connections close after the response) and force-closes whatever is left after
 * server.shutdown_grace_ms. `done` runs once every connection is closed. */
void http_server_shutdown(http_server_t *s, void (*done)(void *data), void *data);

/* Frees the server; only after the shutdown callback has run (or if it never listened). */
void http_server_destroy(http_server_t *s);

/* Number of open connections. */
int http_server_connections(const http_server_t *s);

/* Returns the value of header `name` (case-insensitive), or NULL. */
const char *http_request_header(const http_request_t *req, const char *name);

/* Moves the request's body into *out (which must be empty: initialized or closed), without a
 * copy; req->body is then "" and body_len 0. Lets a handler keep a large upload. */
void http_request_take_body(http_request_t *req, vg_buf_t *out);

/* Sends a complete response and finishes the request. `extra_headers` is NULL or a block of
 * "Name: value\r\n" lines. Content-Length, Connection, Date and Server are added. Returns 0,
 * or VG_ECLOSED when the client was gone (the request is freed either way). */
int http_respond(http_request_t *req, int status, const char *content_type,
                 const char *extra_headers, const char *body, size_t len);

/* Starts a chunked response (Transfer-Encoding: chunked). The request stays open; the caller
 * writes chunks and ends it. Returns 0 or VG_ECLOSED (then call http_stream_end to free). */
int http_stream_begin(http_request_t *req, int status, const char *content_type,
                      const char *extra_headers);
/* Writes one chunk (len > 0). Returns 0, or VG_ECLOSED when the client is gone. */
int http_stream_write(http_request_t *req, const char *data, size_t len);
/* Bytes written to this request's connection and not yet taken by the kernel (for bounding
 * slow readers); 0 when detached. */
size_t http_stream_queued(const http_request_t *req);
/* Writes the last chunk and finishes the request (frees it). With `close_conn` the connection
 * is closed after the last byte is sent. Returns 0 or VG_ECLOSED. */
int http_stream_end(http_request_t *req, int close_conn);

/* Reason phrase of a status code ("Not Found"), or "Unknown". */
const char *http_status_text(int status);

#endif
