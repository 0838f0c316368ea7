/* deploy_api.c: the deployment endpoints over runtime/deploy: POST /deploy/upload (the raw
 * .tar.gz body, started in the background: 202), /deploy/status, /deploy/list and
 * /deploy/rollback (the JSON envelope); and api_body_limit, the HTTP server's body-limit hook
 * that lets an upload be larger than limits.max_body_bytes, up to deploy.max_bundle_bytes. */
#include "handlers/api.h"
#include "core/error.h"
#include "deploy/deploy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API__DEPLOY_PAGE_MAX 100

/* The media types an upload may have (Content-Type, parameters aside). */
static const char *const api__bundle_types[] = {
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
};
#define API__NTYPES (sizeof api__bundle_types / sizeof api__bundle_types[0])

size_t api_body_limit(void *app, const char *method, const char *path, const char **limit_name)
{
    const api_t *api = app;
    const api_deps_t *d = api_deps(api);
    if (!d->deploy) return 0;
    for (const api_route_t *r = api_routes; r->path; r++) {
        if (r->body != API_UPLOAD || strcmp(r->path, path) != 0 || strcmp(r->method, method) != 0)
            continue;
        *limit_name = "deploy.max_bundle_bytes";
        return (size_t)d->ctx->cfg.deploy_max_bundle_bytes;
    }
    return 0;
}

/* The deployer, or NULL after answering 503. */
static deploy_t *api__deploy(api_call_t *call)
{
    deploy_t *d = api_deps(call->api)->deploy;
    if (!d)
        api_error(call, 503, NULL, NULL,
                  "deployments are not available on this gateway (it runs without a deployer)");
    return d;
}

/* Whether Content-Type `ct` (parameters after ';' ignored) is one of api__bundle_types. */
static int api__bundle_type(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < API__NTYPES; i++)
        if (strlen(api__bundle_types[i]) == n && strncasecmp(ct, api__bundle_types[i], n) == 0)
            return 1;
    return 0;
}

/* Reads params.id, a deployment id: 1 or more, or 0 when absent or null (`absent` says what
 * that means). Answers 400 and returns -1 otherwise. */
static int api__id_param(api_call_t *call, const char *absent, int64_t *out)
{
    json_t *v = call->params ? json_object_get(call->params, "id") : NULL;
    *out = 0;
    if (!v || json_is_null(v)) return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 1) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    api_error(call, 400, NULL, NULL,
              "params.id = %.64s: expected a deployment id (an integer from 1), or no id for %s",
              text ? text : "?", absent);
    free(text);
    return -1;
}

/* 202 {"id","status":11,"statusText":"deploying"} for a deployment that started. */
static void api__started(api_call_t *call, int64_t id, int rollback)
{
    char msg[160];
    snprintf(msg, sizeof msg, "deployment %lld%s started; follow it with POST /deploy/status",
             (long long)id, rollback ? " (a rollback)" : "");
    api_reply_status(call, 202,
                     json_pack("{s:I,s:i,s:s}", "id", (json_int_t)id, "status", DEPLOY_DEPLOYING,
                               "statusText", deploy_status_text(DEPLOY_DEPLOYING)),
                     msg);
}

/* 409 naming the deployment in progress (its DeployInfo as data). */
static void api__busy(api_call_t *call, deploy_t *d, const char *err)
{
    json_t *cur = deploy_describe(d, 0);
    json_t *id = cur ? json_object_get(cur, "id") : NULL;
    const char *bundle = cur ? json_string_value(json_object_get(cur, "bundle")) : NULL;
    const char *version = cur ? json_string_value(json_object_get(cur, "version")) : NULL;
    if (json_is_integer(id))
        api_error(call, 409, cur, NULL,
                  "deployment %" JSON_INTEGER_FORMAT " (%s %s) is in progress; one runs at a "
                  "time: wait for it to end (POST /deploy/status)",
                  json_integer_value(id), bundle && *bundle ? bundle : "bundle",
                  version && *version ? version : "?");
    else
        api_error(call, 409, cur, NULL, "%s", *err ? err : "a deployment is in progress");
}

/* HTTP statuses of deploy_submit's and deploy_rollback's errors (VG_EBUSY: api__busy). */
static const struct {
    int rc, status;
    const char *otherwise; /* the message when the deployer gave none */
} api__deploy_errors[] = {
    {VG_ELIMIT, 413, "the bundle exceeds deploy.max_bundle_bytes"},
    {VG_ENOENT, 404, "no such version to roll back to"},
    {VG_ECLOSED, 503, "the gateway is stopping"},
    {VG_ENOMEM, 500, "out of memory"},
};

/* The answer to a failed deploy_submit / deploy_rollback. */
static void api__deploy_fail(api_call_t *call, deploy_t *d, int rc, const char *err)
{
    if (rc == VG_EBUSY) {
        api__busy(call, d, err);
        return;
    }
    int status = 500;
    const char *msg = vg_strerror(rc);
    for (size_t i = 0; i < sizeof api__deploy_errors / sizeof api__deploy_errors[0]; i++) {
        if (api__deploy_errors[i].rc != rc) continue;
        status = api__deploy_errors[i].status;
        msg = api__deploy_errors[i].otherwise;
    }
    api_error(call, status, NULL, NULL, "%s", *err ? err : msg);
}

void api_deploy_upload(api_call_t *call)
{
    deploy_t *d = api__deploy(call);
    if (!d) return;
    const char *ct = http_request_header(call->req, "Content-Type");
    if (!ct || !api__bundle_type(ct)) {
        api_error(call, 415, NULL, NULL,
                  "Content-Type %s%.64s%s: expected the bundle archive (.tar.gz) as %s, %s or %s",
                  ct ? "\"" : "", ct ? ct : "missing", ct ? "\"" : "", api__bundle_types[0],
                  api__bundle_types[1], api__bundle_types[2]);
        return;
    }
    if (call->req->body_len == 0) {
        api_error(call, 400, NULL, NULL,
                  "the request body is empty: expected the bundle archive (.tar.gz), e.g. curl "
                  "--data-binary @bundle.tar.gz -H 'Content-Type: application/gzip'");
        return;
    }
    vg_buf_t archive;
    vg_buf_init(&archive);
    http_request_take_body(call->req, &archive);
    int64_t id = 0;
    char err[512] = "";
    int rc = deploy_submit(d, &archive, call->user, &id, err, sizeof err);
    vg_buf_close(&archive);
    if (rc)
        api__deploy_fail(call, d, rc, err);
    else
        api__started(call, id, 0);
}

void api_deploy_status(api_call_t *call)
{
    deploy_t *d = api__deploy(call);
    int64_t id;
    if (!d || api__id_param(call, "the latest", &id)) return;
    json_t *info = deploy_describe(d, id);
    if (info)
        api_reply(call, info, NULL);
    else if (id)
        api_error(call, 404, NULL, NULL, "no deployment %lld on this gateway", (long long)id);
    else
        api_error(call, 404, NULL, NULL,
                  "no deployment on this gateway yet: deploy a bundle with verge deploy or "
                  "POST /deploy/upload");
}

void api_deploy_list(api_call_t *call)
{
    deploy_t *d = api__deploy(call);
    json_int_t size, page;
    if (!d || api_param_int(call, "pageSize", 10, 1, API__DEPLOY_PAGE_MAX, &size) ||
        api_param_int(call, "currentPage", 1, 1, INT32_MAX, &page))
        return;
    int64_t total = 0;
    json_t *list = deploy_list(d, size, (page - 1) * size, &total);
    if (!list) {
        api_error(call, 500, NULL, NULL, "out of memory listing the deployments");
        return;
    }
    api_reply(call,
              json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)total, "pageSize", size,
                        "currentPage", page, "deployments", list),
              NULL);
}

void api_deploy_rollback(api_call_t *call)
{
    deploy_t *d = api__deploy(call);
    int64_t to;
    if (!d || api__id_param(call, "the previous good version", &to)) return;
    int64_t id = 0;
    char err[512] = "";
    int rc = deploy_rollback(d, to, call->user, &id, err, sizeof err);
    if (rc)
        api__deploy_fail(call, d, rc, err);
    else
        api__started(call, id, 1);
}
