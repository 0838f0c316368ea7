/* config.h: verge's configuration, declared once as a table of options.
 * Every option has a key, a type, a default, bounds and a description; the JSON loader, the
 * `--flag` overrides and docs/config.md are all driven by the same table (Fluent Bit's
 * config_map). An unknown or mistyped key is an error that names the key, the value and the
 * valid keys. */
#ifndef VG_CORE_CONFIG_H
#define VG_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VG_CONFIG_STR_MAX 512

typedef struct vg_config {
    /* server */
    char listen[VG_CONFIG_STR_MAX];   /* "ADDR:PORT" */
    char data_dir[VG_CONFIG_STR_MAX]; /* SQLite file, generated certificate */
    char tls_cert[VG_CONFIG_STR_MAX]; /* PEM; empty: self-signed in data_dir */
    char tls_key[VG_CONFIG_STR_MAX];
    int plain_http_loopback; /* accept plain HTTP from 127.0.0.0/8 and ::1 */
    int64_t shutdown_grace_ms;
    /* limits */
    int64_t max_header_bytes;
    int64_t max_headers;
    int64_t max_body_bytes;
    int64_t max_connections;
    int64_t max_connections_per_ip;
    int64_t header_timeout_ms;
    int64_t body_timeout_ms;
    int64_t idle_timeout_ms;
    int64_t tls_handshake_timeout_ms;
    int64_t max_pipeline_bytes;
    /* auth */
    int64_t session_idle_s;
    int64_t session_max;
    int64_t pbkdf2_iterations;
    int64_t login_slowdown_after;
    int64_t login_lockout_after;
    int64_t login_lockout_s;
    int64_t basic_cache_s;
    /* drivers */
    int64_t driver_call_timeout_ms;
    int64_t driver_max_frame_bytes;
    int64_t driver_handshake_timeout_ms;
    int64_t driver_restart_initial_ms;
    int64_t driver_restart_max_ms;
    int64_t driver_stop_timeout_ms;
    /* events */
    int64_t events_heartbeat_ms;
    int64_t events_max_queue_bytes;
    int64_t events_max_subscribers;
    /* things */
    int64_t things_cache_flush_ms;
    /* credentials handed to functions (lecoresdk CredentialProviderChain) */
    char cred_access_key_id[VG_CONFIG_STR_MAX];
    char cred_access_key_secret[VG_CONFIG_STR_MAX];
    char cred_security_token[VG_CONFIG_STR_MAX];
    /* deploy */
    int64_t deploy_max_bundle_bytes;   /* the uploaded .tar.gz */
    int64_t deploy_max_unpacked_bytes; /* all its files, unpacked */
    int64_t deploy_max_files;
    int64_t deploy_health_window_ms;
    int64_t deploy_max_driver_restarts;
    int64_t deploy_max_function_failures;
    int64_t deploy_keep_versions;
    char deploy_trusted_keys[VG_CONFIG_STR_MAX]; /* file of Ed25519 public keys; "" none */
    /* log */
    char log_level[16];
    char log_format[16];
} vg_config_t;

typedef enum { VG_CFG_STRING, VG_CFG_INT, VG_CFG_BOOL, VG_CFG_ENUM } vg_config_type_t;

typedef struct vg_config_option {
    const char *key;       /* "section.name", nested objects in the JSON file */
    vg_config_type_t type;
    const char *def;       /* default, as text */
    size_t offset;         /* offsetof(vg_config_t, field) */
    size_t size;           /* field size, for strings */
    int64_t min, max;      /* bounds for INT */
    const char *choices;   /* "a|b|c" for ENUM */
    const char *unit;      /* "bytes", "ms", "s" or NULL */
    const char *doc;       /* one sentence */
} vg_config_option_t;

/* The option table; terminated by an entry whose key is NULL. */
extern const vg_config_option_t vg_config_options[];

/* Fills `cfg` with every option's default. Never fails. */
void vg_config_defaults(vg_config_t *cfg);

/* Loads the JSON file at `path` over the current values of `cfg`. Returns 0, or a negative
 * VG_E* code with a message naming the file, key, value and what was expected in `err`.
 * On error `cfg` may be partly updated; callers stop start-up. */
int vg_config_load_file(vg_config_t *cfg, const char *path, char *err, size_t errlen);

/* Loads a JSON document held in memory (same rules as vg_config_load_file). `origin` names it
 * in messages. */
int vg_config_load_string(vg_config_t *cfg, const char *json, const char *origin, char *err,
                          size_t errlen);

/* Sets one option from text ("limits.max_body_bytes", "4096"), as command-line flags do.
 * Returns 0 or a negative VG_E* code with a message in `err`. */
int vg_config_set(vg_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Writes the Markdown reference of every option (docs/config.md) to `out`. */
void vg_config_write_doc(FILE *out);

/* Writes the defaults as a JSON document (config/verge.json) to `out`. */
void vg_config_write_defaults(FILE *out);

#endif
