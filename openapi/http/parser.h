/* parser.h: incremental HTTP/1.1 request parsing on llhttp, with the header and body limits
 * enforced while bytes arrive. One request at a time: after a complete request the parser
 * stops and waits for http_parser_next(), which is how pipelined requests stay in order.
 * Pure: no I/O, no loop; the fuzz target drives it directly. */
#ifndef VG_HTTP_PARSER_H
#define VG_HTTP_PARSER_H

#include "core/buf.h"

#include <llhttp.h>
#include <stddef.h>

typedef struct http_parser_limits {
    size_t max_header_bytes; /* request line + header lines */
    size_t max_headers;
    size_t max_body_bytes;
} http_parser_limits_t;

/* What a body hook (http_parser_set_body_hook) decides for one request once its headers are
 * complete. On entry `limit` is limits.max_body_bytes and `limit_name` "limits.max_body_bytes";
 * the hook may raise or lower the limit (naming the option that sets it, for the 413 message),
 * or refuse the request before its body is read with `refuse_status` (an HTTP status) and
 * `refuse_msg` (a string that outlives the parser's request). */
typedef struct http_body_decision {
    size_t limit;
    const char *limit_name;
    int refuse_status;
    const char *refuse_msg;
} http_body_decision_t;

/* The hook: `method` and `path` (without the query) are valid during the call only. */
typedef void (*http_parser_body_fn)(void *arg, const char *method, const char *path,
                                    http_body_decision_t *d);

typedef enum {
    HTTP_PARSE_MORE = 0, /* every byte consumed; send more */
    HTTP_PARSE_REQUEST,  /* a complete request is ready (see http_parser_take) */
    HTTP_PARSE_ERROR     /* error_status / error_msg say why; the connection must close */
} http_parse_result_t;

typedef struct http_parsed {
    char *method;           /* points into storage */
    char *path;
    char *query;
    struct {
        char *name, *value;
    } *headers;             /* allocated; nheaders entries */
    int nheaders;
    vg_buf_t storage;       /* the strings above */
    vg_buf_t body;
    int keep_alive;
} http_parsed_t;

typedef struct http_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    http_parser_limits_t limits;
    http_parser_body_fn body_fn; /* NULL: every body has limits.max_body_bytes */
    void *body_arg;
    size_t body_limit;      /* the current request's, chosen when its headers are complete */
    const char *body_limit_name;
    int started;            /* a byte of the current request has been seen */
    int headers_done;
    int complete;
    int expect_continue;    /* the request carries Expect: 100-continue */
    int error_status;       /* 400, 413, 431, 501, 505 */
    char error_msg[160];
    size_t header_bytes;
    int field_open;         /* which span is accumulating: 0 none, 1 url, 2 field, 3 value */
    size_t url_off;
    size_t *hdr_offs;       /* 2 offsets per header into cur.storage */
    size_t nhdr, hdr_cap;
    http_parsed_t cur;
} http_parser_t;

/* Initializes `p` (caller-owned). */
void http_parser_init(http_parser_t *p, const http_parser_limits_t *limits);
/* Installs the hook that chooses the body limit of each later request of `p` once its
 * headers are complete (NULL removes it). */
void http_parser_set_body_hook(http_parser_t *p, http_parser_body_fn fn, void *arg);
/* Frees what `p` holds. */
void http_parser_close(http_parser_t *p);

/* Feeds bytes. Sets *consumed to how many were used: on REQUEST the rest belongs to the next
 * request (feed it after http_parser_next). */
http_parse_result_t http_parser_feed(http_parser_t *p, const char *data, size_t len,
                                     size_t *consumed);

/* Moves the complete request out of the parser into *out (caller-owned; free with
 * http_parsed_close). Only after HTTP_PARSE_REQUEST. */
void http_parser_take(http_parser_t *p, http_parsed_t *out);
/* Frees a taken request. */
void http_parsed_close(http_parsed_t *r);

/* Readies the parser for the next request on the same connection. */
void http_parser_next(http_parser_t *p);

/* 1 when some bytes of a request have arrived; 2 when its headers are complete. 0 otherwise. */
int http_parser_phase(const http_parser_t *p);

#endif
