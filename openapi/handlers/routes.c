/* routes.c: the route table of the OpenAPI. Each row says who may call it; a user's
 * permissions name the paths they may call (auth_allowed). */
#include "handlers/api.h"

const api_route_t api_routes[] = {
    {"POST", "/auth/login", api_auth_login, API_PUBLIC, "Log in; sets the session cookie."},
    {"POST", "/auth/logout", api_auth_logout, API_PUBLIC, "Revoke the session of the cookie."},
    {"GET", "/healthz", api_ops_healthz, API_PUBLIC, "Liveness: 200 while serving."},
    {"GET", "/metrics", api_ops_metrics, API_AUTHED, "Prometheus metrics."},
    {"POST", "/system/info", api_ops_info, API_AUTHED, "Version, uptime and the caller."},
    {"POST", "/thing/device/count", api_device_count, API_AUTHED,
     "Number of devices (seed 3.4.1)."},
    {"POST", "/thing/device/list-authed", api_device_list, API_AUTHED,
     "Devices, filtered, sorted and paged (seed 3.4.2)."},
    {"POST", "/thing/device/properties/set", api_device_set, API_AUTHED,
     "Set device properties (seed 3.4.3)."},
    {"POST", "/thing/device/property/query", api_device_query, API_AUTHED,
     "Read device properties (seed 3.4.4)."},
    {"POST", "/thing/device/service/invoke", api_device_invoke, API_AUTHED,
     "Call a device service (seed 3.4.5)."},
    {"POST", "/thing/device/events/get", api_device_events, API_AUTHED,
     "Stream device events (chunked), with heartbeats (seed 3.4.6)."},
    {"POST", "/function/invoke", api_function_invoke, API_AUTHED,
     "Invoke a function, Sync (its result) or Async (an invocation id)."},
    {NULL, NULL, NULL, 0, NULL},
};
