/* function_api.c: POST /function/invoke, a function called from outside the gateway, Sync
 * (the reply carries its result) or Async (the reply carries the invocation id at once).
 * The params are those of lecoresdk's invokeFunction. */
#include "handlers/api.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static fnhost_t *api__functions(api_call_t *call)
{
    return api_deps(call->api)->functions;
}

static void on_result(void *data, const fnhost_result_t *res)
{
    api_call_t *call = data;
    json_t *d = json_pack("{s:s,s:i,s:s?,s:s%}", "invocationId", res->id, "statusCode",
                          res->status_code, "functionError", res->function_error, "payload",
                          res->payload, res->len);
    if (!d) { /* not UTF-8: JSON cannot carry it, so payload is null and payloadError says why */
        d = json_pack("{s:s,s:i,s:s?,s:n}", "invocationId", res->id, "statusCode",
                      res->status_code, "functionError", res->function_error, "payload");
        if (d) json_object_set_new(d, "payloadError", json_string("the result is not UTF-8"));
    }
    api_reply(call, d, NULL);
}

/* Reads params.payload: a string (absent: ""), or any other JSON value, sent as its text. */
static int api__payload(api_call_t *call, char **owned, const char **p, size_t *len)
{
    json_t *v = call->params ? json_object_get(call->params, "payload") : NULL;
    *owned = NULL;
    if (!v || json_is_null(v)) {
        *p = "";
        *len = 0;
    } else if (json_is_string(v)) {
        *p = json_string_value(v);
        *len = json_string_length(v);
    } else {
        *owned = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!*owned) {
            api_error(call, 500, NULL, NULL, "out of memory");
            return -1;
        }
        *p = *owned;
        *len = strlen(*owned);
    }
    return 0;
}

void api_function_invoke(api_call_t *call)
{
    const char *svc, *name, *id, *type;
    if (api_param_string(call, "serviceName", 0, &svc) ||
        api_param_string(call, "functionName", 0, &name) ||
        api_param_string(call, "functionId", 0, &id) ||
        api_param_string(call, "invocationType", 0, &type))
        return;
    char sbuf[FNHOST_NAME_MAX + 1], nbuf[FNHOST_NAME_MAX + 1];
    if (fnhost_target_parse(svc, name, id, sbuf, nbuf)) {
        api_error(call, 400, NULL, NULL,
                  "params: expected serviceName and functionName, or functionId "
                  "\"SERVICE/FUNCTION\" (each part at most %d characters)",
                  FNHOST_NAME_MAX);
        return;
    }
    svc = sbuf;
    name = nbuf;
    int async = fnhost_invocation_async(type);
    if (async < 0) {
        api_error(call, 400, NULL, NULL,
                  "params.invocationType = \"%.64s\": expected \"Sync\" or \"Async\"", type);
        return;
    }
    json_t *ictx = NULL;
    json_t *c = call->params ? json_object_get(call->params, "invokerContext") : NULL;
    if (json_is_object(c)) {
        ictx = json_incref(c);
    } else if (json_is_string(c)) {
        char why[200];
        if (fnhost_context_parse(json_string_value(c), json_string_length(c), &ictx, why,
                                 sizeof why)) {
            api_error(call, 400, NULL, NULL, "params.%s", why);
            return;
        }
    } else if (c && !json_is_null(c)) {
        api_error(call, 400, NULL, NULL,
                  "params.invokerContext: expected an object or the base64 of a JSON object");
        return;
    }
    char *owned;
    const char *payload;
    size_t len;
    if (api__payload(call, &owned, &payload, &len)) {
        json_decref(ictx);
        return;
    }
    char inv_id[FNHOST_ID_LEN];
    fnhost_t *fns = api__functions(call);
    int rc = fns ? fnhost_invoke(fns, svc, name, payload, len, ictx, async,
                                 async ? NULL : on_result, call, inv_id)
                 : VG_ENOENT;
    json_decref(ictx);
    free(owned);
    if (rc == VG_ENOENT)
        api_error(call, 404, NULL, NULL, "no function %s/%s on this gateway", svc, name);
    else if (rc == VG_ELIMIT)
        api_error(call, 503, NULL, NULL,
                  "function %s/%s is busy: its queue of waiting invocations is full", svc, name);
    else if (rc == VG_ECLOSED)
        api_error(call, 503, NULL, NULL, "the gateway is shutting down");
    else if (rc)
        api_error(call, 500, NULL, NULL, "%s", vg_strerror(rc));
    else if (async)
        api_reply(call, json_pack("{s:s}", "invocationId", inv_id), NULL);
}
