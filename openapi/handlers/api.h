/* api.h: the edge OpenAPI on top of the HTTP server: the request envelope, the route table,
 * authentication and permissions, and the one reply shape {"code","message","data"} whose
 * code always equals the HTTP status. */
#ifndef VG_API_API_H
#define VG_API_API_H

#include "auth/auth.h"
#include "http/http.h"
#include "store/store.h"
#include "bus/bus.h"
#include "fnhost/fnhost.h"
#include "things/things.h"

#include <jansson.h>

typedef struct api api_t;
typedef struct api_call api_call_t;
typedef struct api_route api_route_t;
typedef struct deploy deploy_t; /* runtime/deploy/deploy.h */

typedef void (*api_handler_fn)(api_call_t *call);

enum { API_PUBLIC = 0, API_AUTHED = 1 };

/* What a route's body is: API_ENVELOPE, the JSON envelope (POST; GET routes have none), or
 * API_UPLOAD, raw bytes the handler takes (http_request_take_body), allowed up to
 * deploy.max_bundle_bytes (api_body_limit). */
enum { API_ENVELOPE = 0, API_UPLOAD = 1 };

/* One row of the route table (routes.c): a method and path, its handler, whether it needs a
 * logged-in user allowed to call `path`, and what its body is. */
struct api_route {
    const char *method;
    const char *path;
    api_handler_fn handler;
    int access; /* API_PUBLIC or API_AUTHED */
    int body;   /* API_ENVELOPE or API_UPLOAD */
    const char *summary;
};

/* The route table, terminated by a row whose path is NULL. */
extern const api_route_t api_routes[];

/* One request being answered. Owned by the API layer; freed by the reply. */
struct api_call {
    api_t *api;
    http_request_t *req;
    const api_route_t *route;
    json_t *root;   /* the parsed envelope, or NULL for an empty body / GET */
    json_t *params; /* root["params"] (an object), or NULL when absent */
    char user[STORE_NAME_MAX];
    char token[AUTH_TOKEN_HEX]; /* the session cookie's value when one was sent */
    uint64_t start_ns;
};

typedef struct api_deps {
    vg_ctx_t *ctx;
    auth_t *auth;
    store_t *store;
    things_t *things;
    bus_t *bus;
    fnhost_t *functions;
    const char *version;
    deploy_t *deploy; /* NULL: deployments are not available (the /deploy calls answer 503) */
} api_deps_t;

/* Creates the API over its dependencies (borrowed, they must outlive it). Returns 0 and *out,
 * or VG_ENOMEM. */
int api_create(const api_deps_t *deps, api_t **out);
/* Frees the API. NULL is a no-op. */
void api_destroy(api_t *api);
/* The http_handler_fn to give http_server_create with the api as `app`. */
void api_handle(void *app, http_request_t *req);
/* The http_body_limit_fn to give http_server_set_body_limit (same `app`): the upload routes
 * (POST /deploy/upload) may carry up to deploy.max_bundle_bytes when deployments are
 * available; every other request keeps limits.max_body_bytes (returns 0). */
size_t api_body_limit(void *app, const char *method, const char *path, const char **limit_name);
/* The dependencies given to api_create. */
const api_deps_t *api_deps(const api_t *api);

/* Replies 200 {"code":200,"message":"success","data":data} (data is stolen; NULL means
 * JSON null) and frees the call. `extra_headers` is NULL or "Name: value\r\n" lines. */
void api_reply(api_call_t *call, json_t *data, const char *extra_headers);

/* Like api_reply with another message than "success" (still code 200). */
void api_reply_message(api_call_t *call, json_t *data, const char *message);

/* A success other than 200 (202 Accepted): replies {"code":status,"message":message,
 * "data":data} with that HTTP status (data stolen) and frees the call. */
void api_reply_status(api_call_t *call, int status, json_t *data, const char *message);

/* The one writer of every error: replies {"code":code,"message":<formatted>,"data":data}
 * with HTTP status `code` (data stolen; NULL means JSON null) and frees the call. */
void api_error(api_call_t *call, int code, json_t *data, const char *extra_headers,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Replies with a non-JSON body (e.g. /metrics) and frees the call. */
void api_reply_raw(api_call_t *call, int status, const char *content_type, const char *body,
                   size_t len);

/* Reads params.<name> as a string into *out (borrowed from the call). Returns 0; when it is
 * absent (and `required`) or not a string, answers 400 naming the field and returns -1 (the
 * call is then finished). Absent and optional: *out = NULL and 0. */
int api_param_string(api_call_t *call, const char *name, int required, const char **out);

/* Reads params.<name> as an integer into *out: `def` when absent or null. Answers 400 naming
 * the field, the value and the range and returns -1 (the call is then finished) when it is
 * something else or outside [min, max]. */
int api_param_int(api_call_t *call, const char *name, json_int_t def, json_int_t min,
                  json_int_t max, json_int_t *out);

/* Copies the value of cookie `name` from the request's Cookie header into `out` (truncated to
 * outlen-1 bytes). Returns 1 when the cookie is present, else 0. */
int api_cookie(const http_request_t *req, const char *name, char *out, size_t outlen);

/* Parses an envelope {"id","version","request":{"apiVer"},"params":{}} from `body`.
 * An empty (or all-whitespace) body gives *root = NULL. Returns 0, or VG_EPARSE / VG_ETYPE
 * with a message naming the position or the field in `err`. */
int api_envelope_parse(const char *body, size_t len, json_t **root, char *err, size_t errlen);

/* Handlers (auth_api.c, ops_api.c, device_api.c, events_api.c, function_api.c, deploy_api.c). */
void api_auth_login(api_call_t *call);
void api_auth_logout(api_call_t *call);
void api_ops_healthz(api_call_t *call);
void api_ops_metrics(api_call_t *call);
void api_ops_info(api_call_t *call);
void api_device_count(api_call_t *call);
void api_device_list(api_call_t *call);
void api_device_set(api_call_t *call);
void api_device_query(api_call_t *call);
void api_device_invoke(api_call_t *call);
void api_device_events(api_call_t *call);
void api_function_invoke(api_call_t *call);
void api_deploy_upload(api_call_t *call);
void api_deploy_status(api_call_t *call);
void api_deploy_list(api_call_t *call);
void api_deploy_rollback(api_call_t *call);

#endif
