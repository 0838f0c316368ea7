/* cli.h: what the verge commands share: the command table entry, option parsing into the
 * configuration, the data directory, password input, and the client side of the commands
 * that talk to a running gateway. */
#ifndef VG_CLI_H
#define VG_CLI_H

#include "core/config.h"
#include "client/client.h"

#define CLI_EXIT_USAGE  2
#define CLI_EXIT_FAILED 3 /* a call to a gateway failed: connection, TLS, authentication, HTTP */

typedef struct cli_opts {
    vg_config_t cfg;
    const char *positional[4]; /* non-option arguments, in order */
    int npositional;
    const char *allow;  /* passwd --allow */
    const char *bundle; /* serve --bundle */
    /* the client commands (invoke): NULL / 0 when not given */
    const char *gateway;     /* --gateway URL */
    const char *user;        /* --user NAME */
    const char *context;     /* --context JSON */
    const char *cacert;      /* --cacert FILE */
    const char *fingerprint; /* --fingerprint HEX */
    int insecure;            /* -k, --insecure */
    int async;               /* --async */
    const char *timeout;     /* --timeout S (deploy, rollback) */
    const char *limit;       /* --limit N (deployments) */
    const char *key;         /* --key FILE (sign) */
    int json;                /* --json (deployments) */
} cli_opts_t;

/* Parses argv (after the command name): --config FILE (loaded first, wherever it appears),
 * --data-dir DIR, --listen ADDR:PORT, --set KEY=VALUE, --allow LIST, --bundle DIR, the client
 * options (--gateway, --user, --context, --cacert, --fingerprint, --timeout, --limit, --key
 * with a value; -k/--insecure, --async and --json without) and up to four positional
 * arguments ("-" is one; after "--" every argument is). Prints the problem to stderr and
 * returns CLI_EXIT_USAGE on error, 0 otherwise. */
int cli_parse(int argc, char **argv, cli_opts_t *o);

/* Creates `dir` (and its parents) with mode 0700 when missing. Returns 0 or -1 (errno set). */
int cli_mkdirs(const char *dir);

/* Reads a password: $VERGE_PASSWORD when set, else a prompt (twice, no echo) on a terminal,
 * else one line of stdin. Returns 0 or -1 with a message printed. */
int cli_read_password(const char *user, char *out, size_t outlen);

/* Reads an existing password (to log in with): $VERGE_PASSWORD when set, else one prompt
 * `prompt` without echo on stdin when it is a terminal, else on /dev/tty (so stdin can carry
 * data). Returns 0, or -1 with a message printed when there is no way to ask. */
int cli_read_secret(const char *prompt, char *out, size_t outlen);

/* Prints "verge CMD: <message>" and `usage` on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- talking to a running gateway (gateway.c): invoke, deploy, deployments, rollback ---- */

typedef struct cli_gateway {
    const char *cmd;  /* "invoke": the prefix of messages */
    client_opts_t co; /* url, trust, user; password once opened */
    char password[1024];
    client_t *client;
} cli_gateway_t;

/* Checks the gateway options of `o` for command `cmd` (--gateway URL, default
 * https://127.0.0.1:9999; at most one of -k, --cacert FILE and --fingerprint HEX; --user,
 * default admin; --allow and --bundle do not apply) into `g`. Nothing is sent and no password
 * is asked for. Returns 0, or CLI_EXIT_USAGE after printing the problem and `usage`. */
int cli_gateway_init(cli_gateway_t *g, const cli_opts_t *o, const char *cmd, const char *usage);

/* Reads the password ($VERGE_PASSWORD, else a prompt on the terminal) and creates the client
 * (it connects at the first call); `read_timeout_ms` 0 is the client's default. Returns 0,
 * CLI_EXIT_USAGE (no way to get a password) or CLI_EXIT_FAILED, the message printed. */
int cli_gateway_open(cli_gateway_t *g, int read_timeout_ms);

/* POSTs the envelope around `params` (borrowed; NULL: {}) to `path` and parses the reply into
 * *rep (client_reply_close it), whatever its code. Returns 0, or CLI_EXIT_FAILED after
 * printing "verge: WHAT: <why>" when no reply in the envelope's shape arrived. */
int cli_gateway_call(cli_gateway_t *g, const char *what, const char *path, json_t *params,
                     client_reply_t *rep);

/* Frees the client and wipes the password. */
void cli_gateway_close(cli_gateway_t *g);

int cmd_serve(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_invoke(int argc, char **argv);
/* deploy_cli.c */
int cmd_deploy(int argc, char **argv);
int cmd_deployments(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);

#endif
