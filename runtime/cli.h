/* cli.h: what the verge commands share: the command table entry, option parsing into the
 * configuration, the data directory, and password input. */
#ifndef VG_CLI_H
#define VG_CLI_H

#include "core/config.h"

#define CLI_EXIT_USAGE 2

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
} cli_opts_t;

/* Parses argv (after the command name): --config FILE (loaded first, wherever it appears),
 * --data-dir DIR, --listen ADDR:PORT, --set KEY=VALUE, --allow LIST, --bundle DIR, the client
 * options (--gateway, --user, --context, --cacert, --fingerprint with a value; -k/--insecure
 * and --async without) and up to four positional arguments ("-" is one; after "--" every
 * argument is). Prints the problem to stderr and returns CLI_EXIT_USAGE on error, 0
 * otherwise. */
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

int cmd_serve(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_invoke(int argc, char **argv);

#endif
