/* api.c: dispatch of OpenAPI requests: route lookup (404/405), the envelope, the session
 * cookie or Basic credentials (401), permissions (403), the handler; and the reply writers,
 * through which every answer passes so that status, code and metrics always agree. */
#define VG_LOG_MODULE "api"
#include "handlers/api_int.h"
#include "core/error.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int api_create(const api_deps_t *deps, api_t **out)
{
    api_t *api = calloc(1, sizeof *api);
    if (!api) return VG_ENOMEM;
    api->deps = *deps;
    vg_metrics_t *m = deps->ctx->metrics;
    int rc = vg_metrics_declare(m, "verge_http_requests_total", VG_METRIC_COUNTER,
                                "Requests answered, by route and status code.");
    rc |= vg_metrics_declare(m, "verge_http_request_duration_seconds", VG_METRIC_HISTOGRAM,
                             "Time from a request's first byte to its reply, by route.");
    while (api_routes[api->nroutes].path)
        api->nroutes++;
    api->metrics = calloc(api->nroutes + 1, sizeof *api->metrics);
    if (rc || !api->metrics || api__events_init(api)) {
        free(api->metrics);
        free(api);
        return VG_ENOMEM;
    }
    *out = api;
    return 0;
}

void api_destroy(api_t *api)
{
    if (!api) return;
    api__events_close(api);
    free(api->metrics);
    free(api);
}

const api_deps_t *api_deps(const api_t *api)
{
    return &api->deps;
}

void api__call_free(api_call_t *call)
{
    json_decref(call->root);
    free(call);
}

/* The counter of (route, status), found in the route's small cache or looked up once. */
static vg_series_t *vg__count_series(api_t *api, api__route_metrics_t *rm, const char *path,
                                     int status)
{
    int i = 0;
    for (; i < API__CODES && rm->codes[i].count; i++)
        if (rm->codes[i].code == status) return rm->codes[i].count;
    char labels[160];
    snprintf(labels, sizeof labels, "path=\"%s\",code=\"%d\"", path, status);
    vg_series_t *s = vg_metrics_series(api->deps.ctx->metrics, "verge_http_requests_total", labels);
    if (s && i < API__CODES) {
        rm->codes[i].code = status;
        rm->codes[i].count = s;
    }
    return s;
}

void api__count(api_call_t *call, int status)
{
    api_t *api = call->api;
    size_t idx = call->route ? (size_t)(call->route - api_routes) : api->nroutes;
    api__route_metrics_t *rm = &api->metrics[idx];
    const char *path = call->route ? call->route->path : "unmatched";
    vg_series_t *count = vg__count_series(api, rm, path, status);
    if (count) count->value += 1;
    if (!rm->latency) {
        char labels[160];
        snprintf(labels, sizeof labels, "path=\"%s\"", path);
        rm->latency = vg_metrics_series(api->deps.ctx->metrics,
                                        "verge_http_request_duration_seconds", labels);
    }
    if (rm->latency)
        vg_series_observe(rm->latency, (double)(vg_mono_ns() - call->req->start_ns) / 1e9);
}

void api_reply_raw(api_call_t *call, int status, const char *content_type, const char *body,
                   size_t len)
{
    api__count(call, status);
    http_respond(call->req, status, content_type, NULL, body, len);
    api__call_free(call);
}

/* Writes {"code","message","data"} with HTTP status == code. Steals `data`. */
static void vg__send(api_call_t *call, int code, const char *message, json_t *data,
                     const char *extra_headers)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_integer(code));
    json_object_set_new(o, "message", json_string(message));
    json_object_set_new(o, "data", data ? data : json_null());
    char *text = json_dumps(o, VG_JSON_FLAGS);
    json_decref(o);
    api__count(call, code);
    if (text) {
        http_respond(call->req, code, "application/json", extra_headers, text, strlen(text));
        free(text);
    } else {
        static const char oom[] = "{\"code\":500,\"message\":\"out of memory\",\"data\":null}";
        http_respond(call->req, 500, "application/json", NULL, oom, sizeof oom - 1);
    }
    api__call_free(call);
}

void api_reply(api_call_t *call, json_t *data, const char *extra_headers)
{
    vg__send(call, 200, "success", data, extra_headers);
}

void api_reply_message(api_call_t *call, json_t *data, const char *message)
{
    vg__send(call, 200, message, data, NULL);
}

void api_reply_status(api_call_t *call, int status, json_t *data, const char *message)
{
    vg__send(call, status, message, data, NULL);
}

void api_error(api_call_t *call, int code, json_t *data, const char *extra_headers, const char *fmt,
               ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vg__send(call, code, msg, data, extra_headers);
}

int api_param_string(api_call_t *call, const char *name, int required, const char **out)
{
    json_t *v = call->params ? json_object_get(call->params, name) : NULL;
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required) return 0;
        api_error(call, 400, NULL, NULL, "params.%s: missing; expected a string", name);
        return -1;
    }
    if (!json_is_string(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        api_error(call, 400, NULL, NULL, "params.%s = %s: expected a string", name,
                  text ? text : "?");
        free(text);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int api_param_int(api_call_t *call, const char *name, json_int_t def, json_int_t min,
                  json_int_t max, json_int_t *out)
{
    json_t *v = call->params ? json_object_get(call->params, name) : NULL;
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = json_integer_value(v);
        return 0;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    api_error(call, 400, NULL, NULL,
              "params.%s = %.64s: expected an integer from %" JSON_INTEGER_FORMAT
              " to %" JSON_INTEGER_FORMAT " (or null)",
              name, text ? text : "?", min, max);
    free(text);
    return -1;
}

/* Finds the route for the request; sets *path_known when the path exists for another method. */
static const api_route_t *vg__route(const http_request_t *req, char *allow, size_t allowlen)
{
    allow[0] = '\0';
    for (const api_route_t *r = api_routes; r->path; r++) {
        if (strcmp(r->path, req->path) != 0) continue;
        if (strcmp(r->method, req->method) == 0) return r;
        size_t l = strlen(allow);
        snprintf(allow + l, allowlen - l, "%s%s", l ? ", " : "", r->method);
    }
    return NULL;
}

static void vg__run(api_call_t *call)
{
    const api_route_t *r = call->route;
    if (r->access == API_AUTHED && !auth_allowed(call->api->deps.auth, call->user, r->path)) {
        api_error(call, 403, NULL, NULL, "user \"%s\" is not allowed to call %s", call->user,
                  r->path);
        return;
    }
    r->handler(call);
}

static void on_basic(void *data, const auth_result_t *res)
{
    api_call_t *call = data;
    if (res->status == 0) {
        snprintf(call->user, sizeof call->user, "%s", res->user);
        vg__run(call);
    } else if (res->status == VG_ELOCKED) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", res->retry_after_s);
        api_error(call, 403, NULL, hdr, "%s", res->message);
    } else if (res->status == VG_EPERM) {
        api_error(call, 403, NULL, NULL, "%s", res->message);
    } else {
        api_error(call, 401, NULL, "WWW-Authenticate: Basic realm=\"verge\"\r\n",
                  "Basic credentials rejected: %s", res->message);
    }
}

int api_cookie(const http_request_t *req, const char *name, char *out, size_t outlen)
{
    const char *h = http_request_header(req, "Cookie");
    size_t nl = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t l = end ? (size_t)(end - h) : strlen(h);
        if (l > nl && strncmp(h, name, nl) == 0 && h[nl] == '=') {
            size_t vl = l - nl - 1;
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, h + nl + 1, vl);
            out[vl] = '\0';
            return 1;
        }
        h = end;
    }
    return 0;
}

/* Decodes standard base64 into out (NUL-terminated). Returns the length or -1. */
static int vg__base64(const char *in, char *out, size_t outlen)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(tbl, *in);
        if (!p) return -1;
        acc = (acc << 6) | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outlen) return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* Authenticates the call: cookie (sync) or Basic (async). Runs the handler or answers 401. */
static void vg__authenticate(api_call_t *call)
{
    auth_t *auth = call->api->deps.auth;
    http_request_t *req = call->req;
    int have_cookie = api_cookie(req, AUTH_COOKIE_NAME, call->token, sizeof call->token);
    if (have_cookie && auth_session_check(auth, call->token, call->user) == 0) {
        vg__run(call);
        return;
    }
    const char *authz = http_request_header(req, "Authorization");
    if (authz && strncasecmp(authz, "Basic ", 6) == 0) {
        char cred[512];
        char *colon;
        if (vg__base64(authz + 6, cred, sizeof cred) < 0 || !(colon = strchr(cred, ':'))) {
            api_error(call, 401, NULL, "WWW-Authenticate: Basic realm=\"verge\"\r\n",
                      "malformed Basic credentials: expected base64 of USER:PASSWORD");
            return;
        }
        *colon = '\0';
        auth_basic(auth, cred, colon + 1, req->peer_ip, req->peer_loopback, on_basic, call);
        return;
    }
    if (have_cookie)
        api_error(call, 401, NULL, NULL,
                  "the session cookie is invalid, expired or revoked; log in again with "
                  "POST /auth/login");
    else
        api_error(call, 401, NULL, "WWW-Authenticate: Basic realm=\"verge\"\r\n",
                  "authentication required: log in with POST /auth/login and send its cookie, "
                  "or send an Authorization: Basic header");
}

void api_handle(void *app, http_request_t *req)
{
    api_t *api = app;
    api_call_t *call = calloc(1, sizeof *call);
    if (!call) {
        http_respond(req, 500, "application/json", NULL, NULL, 0);
        return;
    }
    call->api = api;
    call->req = req;
    if (req->error_status) {
        api_error(call, req->error_status, NULL, NULL, "%s", req->error_msg);
        return;
    }
    char allow[64];
    call->route = vg__route(req, allow, sizeof allow);
    if (!call->route) {
        if (allow[0]) {
            char hdr[96];
            snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
            api_error(call, 405, NULL, hdr, "method %s is not allowed on %s; use %s", req->method,
                      req->path, allow);
        } else {
            api_error(call, 404, NULL, NULL,
                      "no API at %s; see openapi/openapi.yaml for the "
                      "list of paths",
                      req->path);
        }
        return;
    }
    if (strcmp(req->method, "POST") == 0 && call->route->body == API_ENVELOPE) {
        char err[256];
        if (api_envelope_parse(req->body, req->body_len, &call->root, err, sizeof err)) {
            api_error(call, 400, NULL, NULL, "%s", err);
            return;
        }
        json_t *params = call->root ? json_object_get(call->root, "params") : NULL;
        call->params = json_is_object(params) ? params : NULL;
    }
    if (call->route->access == API_PUBLIC)
        call->route->handler(call);
    else
        vg__authenticate(call);
}
