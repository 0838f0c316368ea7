/* cli.c: option parsing shared by the verge commands, data-directory creation and password
 * input. Options map onto the configuration table (core/config.h), so a flag and a config
 * key can never disagree. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Flags that set one configuration key. */
static const struct {
    const char *flag;
    const char *key;
} cli__key_flags[] = {
    {"--data-dir", "server.data_dir"},
    {"--listen", "server.listen"},
};

/* Flags whose value is kept as given, in a const char * of cli_opts_t. */
static const struct {
    const char *flag;
    size_t offset;
} cli__str_flags[] = {
    {"--allow", offsetof(cli_opts_t, allow)},
    {"--bundle", offsetof(cli_opts_t, bundle)},
    {"--gateway", offsetof(cli_opts_t, gateway)},
    {"--user", offsetof(cli_opts_t, user)},
    {"--context", offsetof(cli_opts_t, context)},
    {"--cacert", offsetof(cli_opts_t, cacert)},
    {"--fingerprint", offsetof(cli_opts_t, fingerprint)},
    {"--timeout", offsetof(cli_opts_t, timeout)},
    {"--limit", offsetof(cli_opts_t, limit)},
    {"--key", offsetof(cli_opts_t, key)},
};

/* Flags without a value: each sets an int of cli_opts_t to 1. */
static const struct {
    const char *flag;
    size_t offset;
} cli__bool_flags[] = {
    {"-k", offsetof(cli_opts_t, insecure)},
    {"--insecure", offsetof(cli_opts_t, insecure)},
    {"--async", offsetof(cli_opts_t, async)},
    {"--json", offsetof(cli_opts_t, json)},
};

#define CLI__N(a) (sizeof(a) / sizeof((a)[0]))

/* Stores `v` for the flag `a` of cli__str_flags. Returns 1 when `a` is one of them. */
static int cli__str_flag(cli_opts_t *o, const char *a, const char *v)
{
    for (size_t k = 0; k < CLI__N(cli__str_flags); k++) {
        if (strcmp(a, cli__str_flags[k].flag) != 0) continue;
        *(const char **)(void *)((char *)o + cli__str_flags[k].offset) = v;
        return 1;
    }
    return 0;
}

/* Sets the flag `a` of cli__bool_flags. Returns 1 when `a` is one of them. */
static int cli__bool_flag(cli_opts_t *o, const char *a)
{
    for (size_t k = 0; k < CLI__N(cli__bool_flags); k++) {
        if (strcmp(a, cli__bool_flags[k].flag) != 0) continue;
        *(int *)(void *)((char *)o + cli__bool_flags[k].offset) = 1;
        return 1;
    }
    return 0;
}

/* Whether `a` is an option that takes a value. */
static int cli__takes_value(const char *a)
{
    if (strcmp(a, "--config") == 0 || strcmp(a, "--set") == 0) return 1;
    for (size_t k = 0; k < CLI__N(cli__key_flags); k++)
        if (strcmp(a, cli__key_flags[k].flag) == 0) return 1;
    for (size_t k = 0; k < CLI__N(cli__str_flags); k++)
        if (strcmp(a, cli__str_flags[k].flag) == 0) return 1;
    return 0;
}

static void cli__unknown(const char *a)
{
    fprintf(stderr, "verge: unknown option \"%s\"; valid options: --config, --set", a);
    for (size_t k = 0; k < CLI__N(cli__key_flags); k++)
        fprintf(stderr, ", %s", cli__key_flags[k].flag);
    for (size_t k = 0; k < CLI__N(cli__str_flags); k++)
        fprintf(stderr, ", %s", cli__str_flags[k].flag);
    for (size_t k = 0; k < CLI__N(cli__bool_flags); k++)
        fprintf(stderr, ", %s", cli__bool_flags[k].flag);
    fprintf(stderr, " (see verge help)\n");
}

int cli_parse(int argc, char **argv, cli_opts_t *o)
{
    char err[2048];
    memset(o, 0, sizeof *o);
    vg_config_defaults(&o->cfg);
    /* The file first, so that flags override it whatever their order. */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "verge: --config needs a FILE\n");
            return CLI_EXIT_USAGE;
        }
        if (vg_config_load_file(&o->cfg, argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "verge: %s\n", err);
            return CLI_EXIT_USAGE;
        }
    }
    int only_positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (!only_positional && cli__bool_flag(o, a)) continue;
        if (only_positional || a[0] != '-' || a[1] != '-') {
            if (o->npositional == 4) {
                fprintf(stderr, "verge: unexpected argument \"%s\"\n", a);
                return CLI_EXIT_USAGE;
            }
            o->positional[o->npositional++] = a;
            continue;
        }
        if (!cli__takes_value(a)) {
            cli__unknown(a);
            return CLI_EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "verge: %s needs a value\n", a);
            return CLI_EXIT_USAGE;
        }
        const char *v = argv[++i];
        int done = 0;
        for (size_t k = 0; k < sizeof cli__key_flags / sizeof cli__key_flags[0]; k++) {
            if (strcmp(a, cli__key_flags[k].flag) != 0) continue;
            if (vg_config_set(&o->cfg, cli__key_flags[k].key, v, err, sizeof err)) {
                fprintf(stderr, "verge: %s: %s\n", a, err);
                return CLI_EXIT_USAGE;
            }
            done = 1;
        }
        if (done || strcmp(a, "--config") == 0 || cli__str_flag(o, a, v)) continue;
        if (strcmp(a, "--set") == 0) {
            const char *eq = strchr(v, '=');
            char key[128];
            if (!eq || (size_t)(eq - v) >= sizeof key) {
                fprintf(stderr, "verge: --set \"%s\": expected KEY=VALUE\n", v);
                return CLI_EXIT_USAGE;
            }
            memcpy(key, v, (size_t)(eq - v));
            key[eq - v] = '\0';
            if (vg_config_set(&o->cfg, key, eq + 1, err, sizeof err)) {
                fprintf(stderr, "verge: --set: %s\n", err);
                return CLI_EXIT_USAGE;
            }
        } else {
            cli__unknown(a);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

int cli_mkdirs(const char *dir)
{
    char path[VG_CONFIG_STR_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) && errno != EEXIST) return -1;
    return 0;
}

/* Reads one line from `f` without the newline. Returns 0 or -1. */
static int cli__line(FILE *f, char *out, size_t outlen)
{
    if (!fgets(out, (int)outlen, f)) return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* Prints `prompt` on `to` and reads a line from `in` with echo off when it is a terminal. */
static int cli__prompt_on(FILE *in, FILE *to, const char *prompt, char *out, size_t outlen)
{
    struct termios old, quiet;
    fputs(prompt, to);
    fflush(to);
    int tty = tcgetattr(fileno(in), &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    int rc = cli__line(in, out, outlen);
    if (tty) tcsetattr(fileno(in), TCSAFLUSH, &old);
    fputs("\n", to);
    fflush(to);
    return rc;
}

static int cli__prompt(const char *prompt, char *out, size_t outlen)
{
    return cli__prompt_on(stdin, stderr, prompt, out, outlen);
}

int cli_read_password(const char *user, char *out, size_t outlen)
{
    const char *env = getenv("VERGE_PASSWORD");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    if (!isatty(STDIN_FILENO)) {
        if (cli__line(stdin, out, outlen) == 0 && *out) return 0;
        fprintf(stderr, "verge: no password: set VERGE_PASSWORD or write it on stdin\n");
        return -1;
    }
    char again[1024], prompt[128];
    snprintf(prompt, sizeof prompt, "New password for %s: ", user);
    if (cli__prompt(prompt, out, outlen) || cli__prompt("Again: ", again, sizeof again)) return -1;
    if (strcmp(out, again) != 0) {
        fprintf(stderr, "verge: the two passwords differ; nothing changed\n");
        return -1;
    }
    return 0;
}

int cli_read_secret(const char *prompt, char *out, size_t outlen)
{
    const char *env = getenv("VERGE_PASSWORD");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    int rc = -1;
    if (isatty(STDIN_FILENO)) {
        rc = cli__prompt(prompt, out, outlen);
    } else {
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        FILE *tty = fd >= 0 ? fdopen(fd, "r+") : NULL;
        if (!tty) {
            if (fd >= 0) close(fd);
            fprintf(stderr, "verge: no password: set VERGE_PASSWORD, or run on a terminal to be "
                            "asked for it\n");
            return -1;
        }
        rc = cli__prompt_on(tty, tty, prompt, out, outlen);
        fclose(tty);
    }
    if (rc == 0 && *out) return 0;
    fprintf(stderr, "verge: no password given\n");
    return -1;
}
