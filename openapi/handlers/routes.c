/* routes.c: the route table of the OpenAPI. Each row says who may call it; a user's
 * permissions name the paths they may call (auth_allowed). */
#include "handlers/api.h"

const api_route_t api_routes[] = {
    {"POST", "/auth/login", api_auth_login, API_PUBLIC, "Log in; sets the session cookie."},
    {"POST", "/auth/logout", api_auth_logout, API_PUBLIC, "Revoke the session of the cookie."},
    {"GET", "/healthz", api_ops_healthz, API_PUBLIC, "Liveness: 200 while serving."},
    {"GET", "/metrics", api_ops_metrics, API_AUTHED, "Prometheus metrics."},
    {"POST", "/system/info", api_ops_info, API_AUTHED, "Version, uptime and the caller."},
    {NULL, NULL, NULL, 0, NULL},
};
