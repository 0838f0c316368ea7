/* conn.h: one client connection of the HTTP server (internal to openapi/http). It owns the
 * socket, the TLS filter, the parser and the one request being answered; server.c creates and
 * counts connections, response.c writes through conn__send. */
#ifndef VG_HTTP_CONN_H
#define VG_HTTP_CONN_H

#include "http/http.h"
#include "http/parser.h"

#include <uv.h>

typedef enum { CONN_SNIFF = 0, CONN_TLS, CONN_PLAIN } conn_mode_t;

struct http_conn {
    http_server_t *srv;
    http_conn_t *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    int handles_open;
    conn_mode_t mode;
    tls_conn_t *tls;
    http_parser_t parser;
    vg_buf_t in;  /* plaintext not parsed yet (raw bytes while sniffing) */
    vg_buf_t out; /* bytes ready to write (ciphertext under TLS) */
    http_request_t *req; /* the request being answered, or NULL */
    size_t write_queued; /* bytes handed to uv_write and not yet completed */
    int reading, processing, closing, close_after_write, lingering, continue_sent;
    int admitted;      /* counted against the per-address and total limits */
    int reject_status; /* 421 or 503 for a connection over a limit */
    int timer_phase;   /* which deadline the timer holds, see conn.c */
    char ip[48];
    int loopback;
};

/* Internal server hooks used by conn.c (defined in server.c). */
void server__conn_closed(http_server_t *s, http_conn_t *c);
uv_loop_t *server__loop(http_server_t *s);
vg_ctx_t *server__ctx(http_server_t *s);
tls_ctx_t *server__tls(http_server_t *s);
int server__shutting_down(const http_server_t *s);
void server__dispatch(http_server_t *s, http_request_t *req);
void server__tls_handshake(http_server_t *s, int ok);
void server__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
/* The body limit the server's hook gives (method, path); 0 when none is set or it gives 0. */
size_t server__body_limit(http_server_t *s, const char *method, const char *path,
                          const char **limit_name);
/* Takes the server's one large-upload slot for `c`. Returns 0, or -1 when another connection
 * holds it. Released by server__large_release (a no-op when `c` does not hold it). */
int server__large_take(http_server_t *s, http_conn_t *c);
void server__large_release(http_server_t *s, http_conn_t *c);
const char *server__date(http_server_t *s);

/* Starts a connection accepted on `s` (tcp already initialized and accepted). */
void conn__start(http_conn_t *c);
/* Closes the connection now; a request in flight is detached. Idempotent. */
void conn__close(http_conn_t *c);
/* Queues bytes for the client (encrypting under TLS) and flushes. Returns 0 or VG_ECLOSED. */
int conn__send(http_conn_t *c, vg_buf_t *data);
/* Called by response.c when the current request is finished. */
void conn__request_done(http_conn_t *c, int close_conn);

#endif
