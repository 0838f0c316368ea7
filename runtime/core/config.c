/* config.c: the option table of config.h and the loaders that apply it to JSON and flags. */
#include "core/config.h"
#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define VG__STR(field) offsetof(vg_config_t, field), sizeof(((vg_config_t *)0)->field)
#define VG__NUM(field) offsetof(vg_config_t, field), sizeof(((vg_config_t *)0)->field)
#define VG__DAY_MS 86400000

const vg_config_option_t vg_config_options[] = {
    {"server.listen", VG_CFG_STRING, "0.0.0.0:9999", VG__STR(listen), 0, 0, NULL, NULL,
     "Address and port of the OpenAPI server, as ADDR:PORT (IPv6 as [ADDR]:PORT)."},
    {"server.data_dir", VG_CFG_STRING, "var", VG__STR(data_dir), 0, 0, NULL, NULL,
     "Directory for the database and the generated certificate; relative paths start at the "
     "working directory."},
    {"server.tls_cert", VG_CFG_STRING, "", VG__STR(tls_cert), 0, 0, NULL, NULL,
     "PEM certificate chain. Empty: an ECDSA P-256 self-signed certificate is generated in "
     "data_dir on first start."},
    {"server.tls_key", VG_CFG_STRING, "", VG__STR(tls_key), 0, 0, NULL, NULL,
     "PEM private key of tls_cert. Set both or neither."},
    {"server.plain_http_loopback", VG_CFG_BOOL, "true", VG__NUM(plain_http_loopback), 0, 1, NULL,
     NULL, "Accept plain HTTP on the TLS port from loopback clients (127.0.0.0/8, ::1)."},
    {"server.shutdown_grace_ms", VG_CFG_INT, "5000", VG__NUM(shutdown_grace_ms), 0, 600000, NULL,
     "ms", "On SIGINT/SIGTERM, how long in-flight requests may take before connections close."},

    {"limits.max_header_bytes", VG_CFG_INT, "8192", VG__NUM(max_header_bytes), 512, 1048576,
     NULL, "bytes", "Largest request line plus headers; larger gets 431 and the connection closes."},
    {"limits.max_headers", VG_CFG_INT, "64", VG__NUM(max_headers), 4, 1024, NULL, NULL,
     "Most header fields in one request; more gets 431."},
    {"limits.max_body_bytes", VG_CFG_INT, "1048576", VG__NUM(max_body_bytes), 0, 1073741824,
     NULL, "bytes", "Largest request body; larger gets 413."},
    {"limits.max_connections", VG_CFG_INT, "1024", VG__NUM(max_connections), 1, 1000000, NULL,
     NULL, "Most open connections in all; one more gets 503 and is closed."},
    {"limits.max_connections_per_ip", VG_CFG_INT, "64", VG__NUM(max_connections_per_ip), 1,
     1000000, NULL, NULL,
     "Most open connections from one client address; one more gets 421 and is closed."},
    {"limits.header_timeout_ms", VG_CFG_INT, "10000", VG__NUM(header_timeout_ms), 100, VG__DAY_MS,
     NULL, "ms", "Time allowed from a request's first byte to the end of its headers (slowloris)."},
    {"limits.body_timeout_ms", VG_CFG_INT, "30000", VG__NUM(body_timeout_ms), 100, VG__DAY_MS,
     NULL, "ms", "Time allowed to receive a request body."},
    {"limits.idle_timeout_ms", VG_CFG_INT, "60000", VG__NUM(idle_timeout_ms), 100, VG__DAY_MS,
     NULL, "ms", "A keep-alive connection with no request in flight is closed after this."},
    {"limits.tls_handshake_timeout_ms", VG_CFG_INT, "10000", VG__NUM(tls_handshake_timeout_ms),
     100, VG__DAY_MS, NULL, "ms", "Time allowed for the TLS handshake."},
    {"limits.max_pipeline_bytes", VG_CFG_INT, "65536", VG__NUM(max_pipeline_bytes), 1024,
     16777216, NULL, "bytes",
     "Most bytes of pipelined requests buffered behind the one being answered; reading from "
     "that connection pauses beyond (requests are answered one at a time, in order)."},

    {"auth.session_idle_s", VG_CFG_INT, "3600", VG__NUM(session_idle_s), 10, 31536000, NULL, "s",
     "A session unused for this long expires (the cookie's Max-Age)."},
    {"auth.session_max", VG_CFG_INT, "10000", VG__NUM(session_max), 1, 10000000, NULL, NULL,
     "Most live sessions; the least recently used is revoked beyond."},
    {"auth.pbkdf2_iterations", VG_CFG_INT, "100000", VG__NUM(pbkdf2_iterations), 100000,
     100000000, NULL, NULL, "PBKDF2-HMAC-SHA256 iterations for new password hashes."},
    {"auth.login_slowdown_after", VG_CFG_INT, "3", VG__NUM(login_slowdown_after), 1, 1000, NULL,
     NULL, "Failed logins (per address or per user) after which each answer is delayed."},
    {"auth.login_lockout_after", VG_CFG_INT, "10", VG__NUM(login_lockout_after), 1, 1000, NULL,
     NULL, "Failed logins (per address or per user) after which logins are refused (403)."},
    {"auth.login_lockout_s", VG_CFG_INT, "300", VG__NUM(login_lockout_s), 1, 86400, NULL, "s",
     "How long a lockout lasts; failures older than this are forgotten."},
    {"auth.basic_cache_s", VG_CFG_INT, "60", VG__NUM(basic_cache_s), 0, 3600, NULL, "s",
     "How long a verified Basic credential is remembered (keyed by a keyed hash) so that "
     "Basic auth does not run PBKDF2 on every request; 0 disables the cache."},

    {"drivers.call_timeout_ms", VG_CFG_INT, "5000", VG__NUM(driver_call_timeout_ms), 100, 600000,
     NULL, "ms",
     "How long a device request (get, set, service) waits for the driver's reply before it "
     "fails with a timeout (or, for a get that allows it, is answered from the cache)."},
    {"drivers.max_frame_bytes", VG_CFG_INT, "1048576", VG__NUM(driver_max_frame_bytes), 1048576,
     67108864, NULL, "bytes",
     "Largest frame on the driver socket; a driver sending a larger one is disconnected and "
     "restarted."},

    {"drivers.handshake_timeout_ms", VG_CFG_INT, "10000", VG__NUM(driver_handshake_timeout_ms),
     100, 600000, NULL, "ms",
     "Time a new connection on the driver socket has to send its hello before it is closed."},
    {"drivers.restart_initial_ms", VG_CFG_INT, "200", VG__NUM(driver_restart_initial_ms), 10,
     60000, NULL, "ms",
     "Delay before restarting a driver that exited; doubles with each consecutive failed run "
     "(a run of 10 s or more resets it)."},
    {"drivers.restart_max_ms", VG_CFG_INT, "30000", VG__NUM(driver_restart_max_ms), 100,
     3600000, NULL, "ms", "Longest delay between restarts of a crash-looping driver."},
    {"drivers.stop_timeout_ms", VG_CFG_INT, "3000", VG__NUM(driver_stop_timeout_ms), 100,
     600000, NULL, "ms", "At shutdown, how long a driver has after SIGTERM before SIGKILL."},
    {"events.heartbeat_ms", VG_CFG_INT, "10000", VG__NUM(events_heartbeat_ms), 100, 3600000,
     NULL, "ms",
     "Interval of the {\"code\":204,\"message\":\"heartbeats\"} chunk on each open "
     "/thing/device/events/get stream."},
    {"events.max_queue_bytes", VG_CFG_INT, "1048576", VG__NUM(events_max_queue_bytes), 4096,
     1073741824, NULL, "bytes",
     "An event-stream client with more than this waiting to be sent (it reads too slowly) gets "
     "a last chunk saying so and is disconnected; no one else waits for it."},
    {"events.max_subscribers", VG_CFG_INT, "4096", VG__NUM(events_max_subscribers), 1, 1000000,
     NULL, NULL, "Most open event streams; one more is answered 503."},
    {"things.cache_flush_ms", VG_CFG_INT, "200", VG__NUM(things_cache_flush_ms), 10, 60000, NULL,
     "ms",
     "How often reported property values are written to SQLite, in one transaction per flush, "
     "off the loop thread."},

    {"credentials.access_key_id", VG_CFG_STRING, "", VG__STR(cred_access_key_id), 0, 0, NULL,
     NULL,
     "The accessKeyId that lecoresdk.CredentialProviderChain():get_credential() hands to "
     "functions; empty: functions get nil and an error saying none is configured."},
    {"credentials.access_key_secret", VG_CFG_STRING, "", VG__STR(cred_access_key_secret), 0, 0,
     NULL, NULL, "The accessKeySecret that goes with credentials.access_key_id."},
    {"credentials.security_token", VG_CFG_STRING, "", VG__STR(cred_security_token), 0, 0, NULL,
     NULL, "The securityToken of temporary (STS) credentials; empty for long-term keys."},

    {"deploy.max_bundle_bytes", VG_CFG_INT, "67108864", VG__NUM(deploy_max_bundle_bytes), 1024,
     1073741824, NULL, "bytes",
     "Largest uploaded bundle archive (.tar.gz); a larger upload gets 413 before it is read."},
    {"deploy.max_unpacked_bytes", VG_CFG_INT, "268435456", VG__NUM(deploy_max_unpacked_bytes),
     1024, 4294967296, NULL, "bytes",
     "Most bytes a bundle may hold once unpacked (all its files); beyond, it is refused."},
    {"deploy.max_files", VG_CFG_INT, "10000", VG__NUM(deploy_max_files), 1, 1000000, NULL, NULL,
     "Most entries (files, directories, links) a bundle archive may hold."},
    {"deploy.health_window_ms", VG_CFG_INT, "5000", VG__NUM(deploy_health_window_ms), 0,
     3600000, NULL, "ms",
     "After the switch, how long the new version is watched before it is committed; a driver "
     "crash loop or a failing function in this time rolls it back."},
    {"deploy.max_driver_restarts", VG_CFG_INT, "2", VG__NUM(deploy_max_driver_restarts), 0, 1000,
     NULL, NULL,
     "A new or changed driver that exits more often than this in the health window fails the "
     "deployment."},
    {"deploy.max_function_failures", VG_CFG_INT, "5", VG__NUM(deploy_max_function_failures), 0,
     1000000, NULL, NULL,
     "A function that breaks its limits (Unhandled) more often than this in the health window "
     "fails the deployment."},
    {"deploy.keep_versions", VG_CFG_INT, "3", VG__NUM(deploy_keep_versions), 1, 1000, NULL, NULL,
     "Versions that ran whose files are kept for rollback, the running one included; older "
     "ones are removed after a commit."},
    {"deploy.trusted_keys", VG_CFG_STRING, "", VG__STR(deploy_trusted_keys), 0, 0, NULL, NULL,
     "File of trusted Ed25519 public keys (one base64 key per line, # comments). Set: every "
     "deployed bundle must carry a bundle.sig made with one of them (verge sign). Empty: "
     "signatures are not required."},

    {"log.level", VG_CFG_ENUM, "info", VG__STR(log_level), 0, 0, "debug|info|warn|error", NULL,
     "Least severe level written to stderr."},
    {"log.format", VG_CFG_ENUM, "human", VG__STR(log_format), 0, 0, "human|json", NULL,
     "human: readable lines (coloured on a terminal); json: one JSON object per line."},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static const char *vg__type_names[] = {
    [VG_CFG_STRING] = "string", [VG_CFG_INT] = "integer", [VG_CFG_BOOL] = "boolean",
    [VG_CFG_ENUM] = "string",
};

static const vg_config_option_t *vg__find(const char *key)
{
    for (const vg_config_option_t *o = vg_config_options; o->key; o++)
        if (strcmp(o->key, key) == 0) return o;
    return NULL;
}

/* Lists the keys that start with `prefix` (or every key) into `buf`, comma-separated. */
static void vg__list_keys(char *buf, size_t len, const char *prefix, size_t plen)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const vg_config_option_t *o = vg_config_options; o->key && n + 1 < len; o++) {
        if (prefix && strncmp(o->key, prefix, plen) != 0) continue;
        int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", o->key);
        if (w < 0) break;
        n += (size_t)w;
    }
}

/* Returns 1 when `choice` is one of the '|'-separated `choices`. */
static int vg__choice_ok(const char *choices, const char *choice)
{
    size_t cl = strlen(choice);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == cl && strncmp(p, choice, l) == 0) return 1;
        p += l + (bar ? 1 : 0);
    }
    return 0;
}

static int vg__set_string(vg_config_t *cfg, const vg_config_option_t *o, const char *v,
                          const char *origin, char *err, size_t errlen)
{
    if (o->type == VG_CFG_ENUM && !vg__choice_ok(o->choices, v)) {
        snprintf(err, errlen, "%s: %s = \"%s\": expected one of %s", origin, o->key, v,
                 o->choices);
        return VG_EINVAL;
    }
    if (strlen(v) >= o->size) {
        snprintf(err, errlen, "%s: %s: value is %zu bytes long, at most %zu allowed", origin,
                 o->key, strlen(v), o->size - 1);
        return VG_ERANGE;
    }
    memcpy((char *)cfg + o->offset, v, strlen(v) + 1);
    return 0;
}

static int vg__set_int(vg_config_t *cfg, const vg_config_option_t *o, int64_t v,
                       const char *origin, char *err, size_t errlen)
{
    if (v < o->min || v > o->max) {
        snprintf(err, errlen, "%s: %s = %" PRId64 ": expected %s from %" PRId64 " to %" PRId64,
                 origin, o->key, v, o->type == VG_CFG_BOOL ? "boolean" : "an integer", o->min,
                 o->max);
        return VG_ERANGE;
    }
    if (o->type == VG_CFG_BOOL)
        *(int *)((char *)cfg + o->offset) = (int)v;
    else
        *(int64_t *)((char *)cfg + o->offset) = v;
    return 0;
}

/* Applies one textual value (defaults, flags). */
static int vg__apply_text(vg_config_t *cfg, const vg_config_option_t *o, const char *v,
                          const char *origin, char *err, size_t errlen)
{
    if (o->type == VG_CFG_STRING || o->type == VG_CFG_ENUM)
        return vg__set_string(cfg, o, v, origin, err, errlen);
    if (o->type == VG_CFG_BOOL) {
        if (strcmp(v, "true") == 0) return vg__set_int(cfg, o, 1, origin, err, errlen);
        if (strcmp(v, "false") == 0) return vg__set_int(cfg, o, 0, origin, err, errlen);
        snprintf(err, errlen, "%s: %s = \"%s\": expected true or false", origin, o->key, v);
        return VG_ETYPE;
    }
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        snprintf(err, errlen, "%s: %s = \"%s\": expected an integer", origin, o->key, v);
        return VG_ETYPE;
    }
    return vg__set_int(cfg, o, (int64_t)n, origin, err, errlen);
}

void vg_config_defaults(vg_config_t *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (const vg_config_option_t *o = vg_config_options; o->key; o++)
        (void)vg__apply_text(cfg, o, o->def, "defaults", err, sizeof err);
}

int vg_config_set(vg_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    const vg_config_option_t *o = vg__find(key);
    if (!o) {
        char keys[2048];
        vg__list_keys(keys, sizeof keys, NULL, 0);
        snprintf(err, errlen, "unknown option \"%s\"; valid options: %s", key, keys);
        return VG_ENOENT;
    }
    return vg__apply_text(cfg, o, value, "option", err, errlen);
}

/* Applies one JSON value to option `o`, checking its JSON type. */
static int vg__apply_json(vg_config_t *cfg, const vg_config_option_t *o, json_t *v,
                          const char *origin, char *err, size_t errlen)
{
    switch (o->type) {
    case VG_CFG_STRING:
    case VG_CFG_ENUM:
        if (json_is_string(v)) return vg__set_string(cfg, o, json_string_value(v), origin, err, errlen);
        break;
    case VG_CFG_INT:
        if (json_is_integer(v))
            return vg__set_int(cfg, o, (int64_t)json_integer_value(v), origin, err, errlen);
        break;
    case VG_CFG_BOOL:
        if (json_is_boolean(v)) return vg__set_int(cfg, o, json_is_true(v), origin, err, errlen);
        break;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(err, errlen, "%s: %s = %s: expected a%s %s", origin, o->key, text ? text : "?",
             o->type == VG_CFG_INT ? "n" : "", vg__type_names[o->type]);
    free(text);
    return VG_ETYPE;
}

/* Writes the sections of the option table in order into `buf`, comma-separated, each between
 * `q` quotes ("server, limits, ..." or "`server`, `limits`, ..."). */
static void vg__sections(char *buf, size_t len, const char *q)
{
    size_t n = 0;
    const char *prev = NULL;
    size_t plen = 0;
    buf[0] = '\0';
    for (const vg_config_option_t *o = vg_config_options; o->key; o++) {
        size_t l = (size_t)(strchr(o->key, '.') - o->key);
        if (prev && l == plen && strncmp(prev, o->key, l) == 0) continue;
        int w = snprintf(buf + n, len - n, "%s%s%.*s%s", n ? ", " : "", q, (int)l, o->key, q);
        if (w < 0 || (size_t)w >= len - n) break;
        n += (size_t)w;
        prev = o->key;
        plen = l;
    }
}

static int vg__load_json(vg_config_t *cfg, json_t *root, const char *origin, char *err,
                         size_t errlen)
{
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: the top level must be a JSON object of sections", origin);
        return VG_ETYPE;
    }
    const char *section;
    json_t *obj;
    json_object_foreach(root, section, obj) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s.", section);
        size_t plen = strlen(prefix);
        char keys[2048];
        vg__list_keys(keys, sizeof keys, prefix, plen);
        if (!keys[0]) {
            char sections[256];
            vg__sections(sections, sizeof sections, "");
            snprintf(err, errlen, "%s: unknown section \"%s\"; valid sections: %s", origin,
                     section, sections);
            return VG_ENOENT;
        }
        if (!json_is_object(obj)) {
            snprintf(err, errlen, "%s: section \"%s\" must be an object with keys %s", origin,
                     section, keys);
            return VG_ETYPE;
        }
        const char *name;
        json_t *v;
        json_object_foreach(obj, name, v) {
            char key[256];
            snprintf(key, sizeof key, "%s%s", prefix, name);
            const vg_config_option_t *o = vg__find(key);
            if (!o) {
                char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                snprintf(err, errlen, "%s: unknown key \"%s\" (value %s); valid keys: %s", origin,
                         key, text ? text : "?", keys);
                free(text);
                return VG_ENOENT;
            }
            int rc = vg__apply_json(cfg, o, v, origin, err, errlen);
            if (rc) return rc;
        }
    }
    return 0;
}

int vg_config_load_string(vg_config_t *cfg, const char *json, const char *origin, char *err,
                          size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
        return VG_EPARSE;
    }
    int rc = vg__load_json(cfg, root, origin, err, errlen);
    json_decref(root);
    return rc;
}

int vg_config_load_file(vg_config_t *cfg, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line < 0)
            snprintf(err, errlen, "%s: %s", path, je.text);
        else
            snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return VG_EPARSE;
    }
    int rc = vg__load_json(cfg, root, path, err, errlen);
    json_decref(root);
    return rc;
}

void vg_config_write_doc(FILE *out)
{
    char sections[256];
    vg__sections(sections, sizeof sections, "`");
    fprintf(out,
            "# Configuration reference\n\n"
            "Generated by `verge config doc` from the option table in `runtime/core/config.c`; "
            "do not edit by hand.\n\n"
            "verge reads a JSON file (`verge serve --config FILE`) whose top level holds sections "
            "(%s), each an object of the keys below. Every key is "
            "optional; an unknown key, a value of the wrong type or a value out of bounds stops "
            "start-up with a message naming the key, the value and what was expected. "
            "`config/verge.json` holds every default.\n\n"
            "Command-line flags override the file: `--listen` sets `server.listen`, `--data-dir` "
            "sets `server.data_dir`, and `--set KEY=VALUE` sets any key.\n\n"
            "| key | type | default | bounds | description |\n"
            "| --- | --- | --- | --- | --- |\n",
            sections);
    for (const vg_config_option_t *o = vg_config_options; o->key; o++) {
        char bounds[96] = "";
        if (o->type == VG_CFG_INT)
            snprintf(bounds, sizeof bounds, "%" PRId64 " to %" PRId64 "%s%s", o->min, o->max,
                     o->unit ? " " : "", o->unit ? o->unit : "");
        else if (o->type == VG_CFG_ENUM)
            snprintf(bounds, sizeof bounds, "%s", o->choices);
        fprintf(out, "| `%s` | %s | `%s` | %s | %s |\n", o->key, vg__type_names[o->type],
                o->type == VG_CFG_STRING || o->type == VG_CFG_ENUM ? o->def : o->def, bounds,
                o->doc);
    }
}

void vg_config_write_defaults(FILE *out)
{
    const char *section = NULL;
    size_t slen = 0;
    fputs("{", out);
    for (const vg_config_option_t *o = vg_config_options; o->key; o++) {
        const char *dot = strchr(o->key, '.');
        size_t l = (size_t)(dot - o->key);
        int first_in_section = !section || l != slen || strncmp(section, o->key, l) != 0;
        if (first_in_section) {
            fprintf(out, "%s\n  \"%.*s\": {\n", section ? "\n  }," : "", (int)l, o->key);
            section = o->key;
            slen = l;
        } else {
            fputs(",\n", out);
        }
        if (o->type == VG_CFG_STRING || o->type == VG_CFG_ENUM)
            fprintf(out, "    \"%s\": \"%s\"", dot + 1, o->def);
        else
            fprintf(out, "    \"%s\": %s", dot + 1, o->def);
    }
    fputs("\n  }\n}\n", out);
}
