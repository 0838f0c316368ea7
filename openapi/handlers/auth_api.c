/* auth_api.c: POST /auth/login and POST /auth/logout (seed 004 §3.3). Login answers from
 * auth's callback, after PBKDF2 has run off the loop thread. */
#include "handlers/api.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static void on_login(void *data, const auth_result_t *res)
{
    api_call_t *call = data;
    /* The seed's replies echo the UserName that was sent, on success and failure alike. */
    json_t *who = json_pack("{s:O}", "UserName", json_object_get(call->params, "UserName"));
    if (res->status == 0) {
        char cookie[256];
        snprintf(cookie, sizeof cookie,
                 "Set-Cookie: %s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s\r\n",
                 AUTH_COOKIE_NAME, res->token,
                 (long long)api_deps(call->api)->ctx->cfg.session_idle_s,
                 call->req->tls ? "; Secure" : "");
        api_reply(call, who, cookie);
    } else if (res->status == VG_EAUTH) {
        api_error(call, 400, who, NULL, "%s", res->message);
    } else if (res->status == VG_ELOCKED) {
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", res->retry_after_s);
        api_error(call, 403, who, hdr, "%s", res->message);
    } else if (res->status == VG_EPERM) {
        api_error(call, 403, who, NULL, "%s", res->message);
    } else {
        api_error(call, 500, who, NULL, "login failed: %s", res->message);
    }
}

void api_auth_login(api_call_t *call)
{
    const char *user, *password;
    if (api_param_string(call, "UserName", 1, &user)) return;
    if (api_param_string(call, "Password", 1, &password)) return;
    auth_login(api_deps(call->api)->auth, user, password, call->req->peer_ip,
               call->req->peer_loopback, on_login, call);
}

void api_auth_logout(api_call_t *call)
{
    const char *user;
    if (api_param_string(call, "UserName", 1, &user)) return;
    auth_t *auth = api_deps(call->api)->auth;
    char owner[STORE_NAME_MAX];
    const char *t = call->token;
    if (!api_cookie(call->req, AUTH_COOKIE_NAME, call->token, sizeof call->token) ||
        auth_session_check(auth, t, owner) != 0) {
        api_error(call, 400, json_object(), NULL, "cookie is invalid");
        return;
    }
    if (strcmp(owner, user) != 0) {
        api_error(call, 400, json_object(), NULL,
                  "params.UserName = \"%s\" is not the user of this session", user);
        return;
    }
    auth_logout(auth, t);
    api_reply(call, json_object(),
              "Set-Cookie: " AUTH_COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; "
              "SameSite=Strict\r\n");
}
