/* lecoresdk.c: require("lecoresdk"), the function SDK of DESIGN.md §2.3: IoTData (publish,
 * device properties and services, devices by tags), Client (invokeFunction), a credential
 * provider, sleep and a logger. Calls that wait yield the invocation's coroutine. */
#include "fnhost/fnhost_int.h"
#include "core/error.h"
#include "core/log.h"

#include <stdarg.h>

#include <stdlib.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* Returns nil, message (and code when not 0): the SDK's failure convention. */
static int fail(lua_State *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushnil(L);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    if (!code) return 2;
    lua_pushinteger(L, code);
    return 3;
}

/* The params table of a method call obj:m{...} (argument 2). */
static void check_params(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
}

/* params[key] as a string, or NULL. The value is left on the stack to keep it alive. */
static const char *param_str(lua_State *L, const char *key)
{
    if (lua_getfield(L, 2, key) != LUA_TSTRING) return NULL;
    return lua_tostring(L, -1);
}

static char *memdup0(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = 0;
    }
    return p;
}

/* Returns 1 when the table at idx has no entries. */
static int table_empty(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    if (lua_next(L, idx)) {
        lua_pop(L, 2);
        return 0;
    }
    return 1;
}

/* ---- sleep and log ---------------------------------------------------------------------- */

static int k_sleep(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    fnhost__check_killed(L);
    return 0;
}

/* lecoresdk.sleep(ms): yields for ms milliseconds (bounded by the invocation's deadline). */
static int sdk_sleep(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    luaL_argcheck(L, ms >= 0, 1, "must not be negative");
    fnhost__wait_t *w = fnhost__wait_begin(L, (int64_t)ms);
    return fnhost__wait_yield(L, w, k_sleep);
}

static int sdk_log(lua_State *L, vg_log_level_t level)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    vg_log(&fn->host->ctx->log, level, "function", "%s/%s: %s", fn->service, fn->name,
           lua_tostring(L, -1));
    return 0;
}
static int log_debug(lua_State *L)
{
    return sdk_log(L, VG_LOG_DEBUG);
}
static int log_info(lua_State *L)
{
    return sdk_log(L, VG_LOG_INFO);
}
static int log_warn(lua_State *L)
{
    return sdk_log(L, VG_LOG_WARN);
}
static int log_error(lua_State *L)
{
    return sdk_log(L, VG_LOG_ERROR);
}

/* ---- IoTData ---------------------------------------------------------------------------- */

/* iot:publish{topic=, payload=}: payload a string (a table is sent as JSON). */
static int iot_publish(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    check_params(L);
    const char *topic = param_str(L, "topic");
    if (!topic) return fail(L, 0, "publish: topic must be a string");
    size_t len = 0;
    const char *payload;
    char *owned = NULL;
    int t = lua_getfield(L, 2, "payload");
    if (t == LUA_TSTRING) {
        payload = lua_tolstring(L, -1, &len);
    } else if (t == LUA_TTABLE) {
        const char *why;
        json_t *j = fnhost__to_json(L, -1, 0, &why);
        if (!j) return fail(L, 0, "publish: payload: %s", why);
        owned = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!owned) return fail(L, 0, "publish: out of memory");
        payload = owned;
        len = strlen(owned);
    } else if (t == LUA_TNIL) {
        payload = "";
    } else {
        return fail(L, 0, "publish: payload must be a string or a table");
    }
    if (!fn->host->bus) {
        free(owned);
        return fail(L, 0, "publish: no message bus in this runtime");
    }
    if (!bus_topic_valid(topic)) {
        free(owned);
        return fail(L, 0, "publish: invalid topic \"%s\"", topic);
    }
    char source[sizeof fn->service + sizeof fn->name + 16];
    snprintf(source, sizeof source, "function:%s/%s", fn->service, fn->name);
    bus_msg_t *m = bus_msg_create(topic, source, payload, len);
    free(owned);
    if (!m) return fail(L, 0, "publish: out of memory");
    int rc = bus_publish(fn->host->bus, m);
    bus_msg_unref(m);
    if (rc < 0) return fail(L, 0, "publish: %s", vg_strerror(rc));
    lua_pushboolean(L, 1);
    return 1;
}

static void things_cb(void *data, const things_result_t *res)
{
    fnhost__wait_t *w = data;
    if (fnhost__wait_inv(w)) {
        w->code = res->code;
        w->message = strdup(res->message ? res->message : "");
        w->json = res->data ? json_deep_copy(res->data) : NULL;
    }
    fnhost__wait_op_done(w);
}

static int k_things(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    fnhost__check_killed(L);
    fnhost__wait_t *w = (fnhost__wait_t *)ctx;
    if (w->code != 0) return fail(L, w->code, "%s", w->message ? w->message : "error");
    if (w->json)
        fnhost__push_json(L, w->json, 0);
    else
        lua_newtable(L);
    return 1;
}

enum { DEV_GET, DEV_SET, DEV_CALL };

/* The shared body of get/set/call: checks the params, starts the request, yields. */
static int device_request(lua_State *L, int op)
{
    static const char *const what[] = {"getThingProperties", "setThingProperties",
                                       "callThingService"};
    fnhost__fn_t *fn = fnhost__fn_of(L);
    check_params(L);
    const char *pk = param_str(L, "productKey");
    const char *dn = param_str(L, "deviceName");
    const char *service = op == DEV_CALL ? param_str(L, "service") : NULL;
    if (!pk || !dn || (op == DEV_CALL && !service))
        return fail(L, 0, "%s: productKey, deviceName%s must be strings", what[op],
                    op == DEV_CALL ? " and service" : "");
    if (!fn->host->things) return fail(L, 0, "%s: no device registry in this runtime", what[op]);
    json_t *payload = NULL;
    int t = lua_getfield(L, 2, "payload");
    if (t == LUA_TTABLE && !(op == DEV_GET && table_empty(L, -1))) {
        const char *why;
        payload = fnhost__to_json(L, -1, 0, &why);
        if (!payload) return fail(L, 0, "%s: payload: %s", what[op], why);
    } else if (t != LUA_TNIL && t != LUA_TTABLE) {
        return fail(L, 0, "%s: payload must be a table", what[op]);
    }
    fnhost__wait_t *w = fnhost__wait_begin(L, -1);
    if (op == DEV_GET)
        things_get_properties(fn->host->things, pk, dn, payload, 0, things_cb, w);
    else if (op == DEV_SET)
        things_set_properties(fn->host->things, pk, dn, payload, things_cb, w);
    else
        things_call_service(fn->host->things, pk, dn, service, payload, things_cb, w);
    json_decref(payload);
    return fnhost__wait_yield(L, w, k_things);
}

static int iot_get(lua_State *L)
{
    return device_request(L, DEV_GET);
}
static int iot_set(lua_State *L)
{
    return device_request(L, DEV_SET);
}
static int iot_call(lua_State *L)
{
    return device_request(L, DEV_CALL);
}

typedef struct tags_match {
    json_t *want; /* {k: v} every one of which a device must carry */
    json_t *out;  /* [{productKey, deviceName, tags:[{k:v}...]}] */
} tags_match_t;

static void tags_each(void *data, things_device_t *d)
{
    tags_match_t *m = data;
    json_t *tags = things_device_tags(d);
    const char *k;
    json_t *v;
    json_object_foreach(m->want, k, v)
    {
        json_t *have = tags ? json_object_get(tags, k) : NULL;
        if (!have || !json_equal(have, v)) return;
    }
    json_t *list = json_array();
    json_object_foreach(tags, k, v)
    {
        json_t *one = json_object();
        json_object_set(one, k, v);
        json_array_append_new(list, one);
    }
    json_array_append_new(m->out,
                          json_pack("{s:s,s:s,s:o}", "productKey", things_device_product_key(d),
                                    "deviceName", things_device_name(d), "tags", list));
}

/* iot:getThingsWithTags{payload = {{k = v}, ...}}: the devices carrying every listed tag. */
static int iot_tags(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    check_params(L);
    if (!fn->host->things)
        return fail(L, 0, "getThingsWithTags: no device registry in this runtime");
    const char *why = "payload must be a list of {tag = value} tables";
    lua_getfield(L, 2, "payload");
    json_t *list = lua_istable(L, -1) ? fnhost__to_json(L, -1, 0, &why) : NULL;
    json_t *want = json_object();
    size_t i;
    json_t *item;
    int ok = list && want && (json_is_array(list) || json_object_size(list) == 0);
    json_array_foreach(ok ? list : NULL, i, item)
    {
        if (!json_is_object(item) || json_object_update(want, item)) {
            ok = 0;
            break;
        }
    }
    json_decref(list);
    if (!ok) {
        json_decref(want);
        return fail(L, 0, "getThingsWithTags: %s", why);
    }
    tags_match_t m = {want, json_array()};
    if (m.out) things_device_each(fn->host->things, tags_each, &m);
    json_decref(want);
    if (!m.out) return fail(L, 0, "getThingsWithTags: out of memory");
    fnhost__push_json(L, m.out, 0);
    json_decref(m.out);
    return 1;
}

/* ---- Client: invokeFunction ------------------------------------------------------------- */

static void invoke_cb(void *data, const fnhost_result_t *res)
{
    fnhost__wait_t *w = data;
    if (fnhost__wait_inv(w)) {
        w->code = res->status_code;
        w->fnerr = res->function_error;
        w->str = memdup0(res->payload, res->len);
        w->len = w->str ? res->len : 0;
    }
    fnhost__wait_op_done(w);
}

static int k_invoke(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    fnhost__check_killed(L);
    fnhost__wait_t *w = (fnhost__wait_t *)ctx;
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, w->code);
    lua_setfield(L, -2, "statusCode");
    if (w->fnerr) {
        lua_pushstring(L, w->fnerr);
        lua_setfield(L, -2, "functionError");
    }
    lua_pushlstring(L, w->str ? w->str : "", w->len);
    lua_setfield(L, -2, "payload");
    return 1;
}

/* fc:invokeFunction{serviceName=, functionName= | functionId="svc/name", invocationType=
 * "Sync"|"Async", invokerContext=table|JSON string, payload=string}. */
static int fc_invoke(lua_State *L)
{
    fnhost__fn_t *fn = fnhost__fn_of(L);
    check_params(L);
    char svc[FNHOST_NAME_MAX + 1], name[FNHOST_NAME_MAX + 1];
    const char *s = param_str(L, "serviceName"), *n = param_str(L, "functionName");
    const char *id = param_str(L, "functionId");
    if (fnhost_target_parse(s, n, id, svc, name))
        return fail(L, 0,
                    "invokeFunction: serviceName and functionName (or functionId "
                    "\"service/name\") must be strings of at most %d characters",
                    FNHOST_NAME_MAX);
    const char *type = param_str(L, "invocationType");
    int async = fnhost_invocation_async(type);
    if (async < 0)
        return fail(L, 0, "invokeFunction: invocationType \"%s\": expected Sync or Async", type);
    size_t len = 0;
    int t = lua_getfield(L, 2, "payload");
    const char *payload = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : "";
    if (t != LUA_TSTRING && t != LUA_TNIL)
        return fail(L, 0, "invokeFunction: payload must be a string");
    json_t *ictx = NULL;
    t = lua_getfield(L, 2, "invokerContext");
    if (t == LUA_TTABLE) {
        const char *why;
        if (!(ictx = fnhost__to_json(L, -1, 0, &why)))
            return fail(L, 0, "invokeFunction: invokerContext: %s", why);
    } else if (t == LUA_TSTRING) {
        char why[160];
        size_t clen;
        const char *text = lua_tolstring(L, -1, &clen);
        if (fnhost_context_parse(text, clen, &ictx, why, sizeof why))
            return fail(L, 0, "invokeFunction: %s", why);
    } else if (t != LUA_TNIL) {
        return fail(L, 0, "invokeFunction: invokerContext must be a table or a string");
    }
    char idbuf[FNHOST_ID_LEN];
    if (async) {
        int rc = fnhost_invoke(fn->host, svc, name, payload, len, ictx, 1, NULL, NULL, idbuf);
        json_decref(ictx);
        if (rc) return fail(L, 0, "invokeFunction %s/%s: %s", svc, name, vg_strerror(rc));
        lua_pushstring(L, idbuf);
        return 1;
    }
    fnhost__wait_t *w = fnhost__wait_begin(L, -1);
    int rc = fnhost_invoke(fn->host, svc, name, payload, len, ictx, 0, invoke_cb, w, idbuf);
    json_decref(ictx);
    if (rc) {
        w->op_pending = 0; /* nothing will answer: end the wait here */
        fnhost__wait_cancel(fn->current);
        return fail(L, 0, "invokeFunction %s/%s: %s", svc, name, vg_strerror(rc));
    }
    return fnhost__wait_yield(L, w, k_invoke);
}

/* ---- credentials ------------------------------------------------------------------------ */

/* get_credential(): {accessKeyId, accessKeySecret, securityToken} from the gateway's
 * configuration (credentials.*), or nil and why when none is configured. */
static int cred_get(lua_State *L)
{
    const vg_config_t *cfg = &fnhost__fn_of(L)->host->ctx->cfg;
    if (!cfg->cred_access_key_id[0] || !cfg->cred_access_key_secret[0])
        return fail(L, 0,
                    "get_credential: no credentials configured on this gateway (set "
                    "credentials.access_key_id and credentials.access_key_secret)");
    lua_createtable(L, 0, 3);
    lua_pushstring(L, cfg->cred_access_key_id);
    lua_setfield(L, -2, "accessKeyId");
    lua_pushstring(L, cfg->cred_access_key_secret);
    lua_setfield(L, -2, "accessKeySecret");
    lua_pushstring(L, cfg->cred_security_token);
    lua_setfield(L, -2, "securityToken");
    return 1;
}

/* ---- the module ------------------------------------------------------------------------- */

/* Constructor: a new object whose metatable (upvalue 1) indexes the read-only methods. */
static int sdk_new(lua_State *L)
{
    lua_newtable(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setmetatable(L, -2);
    return 1;
}

static const luaL_Reg iot_methods[] = {
    {"publish", iot_publish},        {"getThingProperties", iot_get},
    {"setThingProperties", iot_set}, {"callThingService", iot_call},
    {"getThingsWithTags", iot_tags}, {NULL, NULL}};
static const luaL_Reg fc_methods[] = {{"invokeFunction", fc_invoke}, {NULL, NULL}};
static const luaL_Reg cred_methods[] = {
    {"get_credential", cred_get}, {"resolvePromise", cred_get}, {NULL, NULL}};
static const luaL_Reg log_funcs[] = {{"debug", log_debug},
                                     {"info", log_info},
                                     {"warn", log_warn},
                                     {"error", log_error},
                                     {NULL, NULL}};

static const struct {
    const char *name;
    const luaL_Reg *methods;
} sdk_classes[] = {
    {"IoTData", iot_methods}, {"Client", fc_methods}, {"CredentialProviderChain", cred_methods}};

int fnhost__open_lecoresdk(lua_State *L)
{
    lua_newtable(L);
    int mod = lua_gettop(L);
    for (size_t i = 0; i < sizeof sdk_classes / sizeof sdk_classes[0]; i++) {
        lua_createtable(L, 0, 2); /* the objects' metatable */
        lua_newtable(L);
        luaL_setfuncs(L, sdk_classes[i].methods, 0);
        fnhost__push_readonly(L, -1);
        lua_setfield(L, -3, "__index");
        lua_pop(L, 1);
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
        lua_pushcclosure(L, sdk_new, 1);
        lua_setfield(L, mod, sdk_classes[i].name);
    }
    lua_pushcfunction(L, sdk_sleep);
    lua_setfield(L, mod, "sleep");
    luaL_newlib(L, log_funcs);
    fnhost__push_readonly(L, -1);
    lua_setfield(L, mod, "logger");
    lua_pop(L, 1);
    lua_pushliteral(L, "verge 0.1");
    lua_setfield(L, mod, "_VERSION");
    /* env: the manifest's env of this function, read-only. */
    fnhost__push_json(L, fnhost__fn_of(L)->env, 0);
    fnhost__push_readonly(L, -1);
    lua_setfield(L, mod, "env");
    lua_pop(L, 1);
    fnhost__push_readonly(L, mod);
    return 1;
}
