/* main.c: the verge command line: a table of commands, each with its usage and summary,
 * from which `verge help` is printed. */
#include "cli.h"
#include "core/config.h"

#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("verge %s\n", VERGE_VERSION);
    return 0;
}

static int cmd_config(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "doc") == 0) {
        vg_config_write_doc(stdout);
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "defaults") == 0) {
        vg_config_write_defaults(stdout);
        return 0;
    }
    fprintf(stderr, "verge config: expected \"doc\" or \"defaults\"\n");
    return CLI_EXIT_USAGE;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} commands[] = {
    {"serve", cmd_serve,
     "[--config FILE] [--data-dir DIR] [--listen ADDR:PORT] [--set KEY=VALUE]... "
     "[--bundle DIR]",
     "run the gateway runtime and its HTTPS OpenAPI (default 0.0.0.0:9999, data in ./var); "
     "--bundle runs the bundle in DIR (its bundle.json: products, drivers, devices); SIGHUP "
     "sends changed driver configs to the running drivers"},
    {"passwd", cmd_passwd, "USER [--allow PATH,PATH...|*] [--config FILE] [--data-dir DIR]",
     "set USER's password (creating USER); the password comes from $VERGE_PASSWORD, a prompt "
     "or stdin; --allow sets the API paths USER may call (a new user may call none)"},
    {"invoke", cmd_invoke,
     "SERVICE/FUNCTION [PAYLOAD|-] [--gateway URL] [--user NAME] [--async] [--context JSON] "
     "[-k|--insecure|--cacert FILE|--fingerprint HEX]",
     "call a function on a running gateway (POST /function/invoke, default "
     "https://127.0.0.1:9999, user admin, password from $VERGE_PASSWORD or a prompt) and print "
     "its result (Async: the invocation id); PAYLOAD \"-\" reads stdin; the certificate is "
     "checked against the system CAs unless --cacert DATA_DIR/tls/cert.pem, --fingerprint or "
     "-k; exit status 1 when the function returned an error, 3 when the call failed"},
    {"config", cmd_config, "doc|defaults",
     "print the configuration reference (Markdown) or the default configuration (JSON)"},
    {"version", cmd_version, "", "print the version"},
    {"help", cmd_help, "", "print this help"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("verge %s: edge-computing runtime for IoT gateways\n\nusage:\n", VERGE_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("  verge %s%s%s\n      %s\n", commands[i].name, *commands[i].usage ? " " : "",
               commands[i].usage, commands[i].summary);
    printf("\nenvironment: VERGE_ADMIN_PASSWORD (first start: admin's password), "
           "VERGE_PASSWORD (passwd, invoke)\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cmd_help(0, NULL);
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(0, NULL);
    if (strcmp(argv[1], "--version") == 0) return cmd_version(0, NULL);
    fprintf(stderr, "verge: unknown command \"%s\"; commands:", argv[1]);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
    fprintf(stderr, " (see verge help)\n");
    return CLI_EXIT_USAGE;
}
