/* cli.c: option parsing shared by the verge commands, data-directory creation and password
 * input. Options map onto the configuration table (core/config.h), so a flag and a config
 * key can never disagree. */
#include "cli.h"

#include <errno.h>
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

int cli_parse(int argc, char **argv, cli_opts_t *o)
{
    char err[2048];
    memset(o, 0, sizeof *o);
    vg_config_defaults(&o->cfg);
    /* The file first, so that flags override it whatever their order. */
    for (int i = 0; i < argc; i++) {
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
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] != '-') {
            if (o->npositional == 4) {
                fprintf(stderr, "verge: unexpected argument \"%s\"\n", a);
                return CLI_EXIT_USAGE;
            }
            o->positional[o->npositional++] = a;
            continue;
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
        if (done || strcmp(a, "--config") == 0) continue;
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
        } else if (strcmp(a, "--allow") == 0) {
            o->allow = v;
        } else if (strcmp(a, "--bundle") == 0) {
            o->bundle = v;
        } else {
            fprintf(stderr,
                    "verge: unknown option \"%s\"; valid options: --config, --data-dir, "
                    "--listen, --set, --allow, --bundle (see verge help)\n",
                    a);
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

static int cli__prompt(const char *prompt, char *out, size_t outlen)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    int tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int rc = cli__line(stdin, out, outlen);
    if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputs("\n", stderr);
    return rc;
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
