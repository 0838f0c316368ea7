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
    {"deploy", cmd_deploy,
     "PATH [--gateway URL] [--user NAME] [--timeout S] "
     "[-k|--insecure|--cacert FILE|--fingerprint HEX]",
     "deploy a bundle to a running gateway: PATH is a bundle directory (packed here) or a "
     ".tar.gz; uploads it (POST /deploy/upload), prints each step of the deployment and its "
     "outcome; exit status 0 once the new version runs, 1 when it failed or was rolled back "
     "(the reason and every problem printed), 3 when the call failed or no outcome came "
     "within --timeout (default 120 s); gateway, user, password and trust as for invoke"},
    {"deployments", cmd_deployments,
     "[--limit N] [--json] [--gateway URL] [--user NAME] "
     "[-k|--insecure|--cacert FILE|--fingerprint HEX]",
     "list the gateway's deployments, newest first (default 10, at most 100): id (* the "
     "running one), bundle, version, status, origin, time (UTC) and reason; --json prints "
     "the reply's data"},
    {"rollback", cmd_rollback,
     "[ID] [--gateway URL] [--user NAME] [--timeout S] "
     "[-k|--insecure|--cacert FILE|--fingerprint HEX]",
     "return the gateway to deployment ID, or without ID to the previous good version, and "
     "follow it as deploy does"},
    {"init", cmd_init, "DIR",
     "write a bundle skeleton to DIR (new or empty): bundle.json, one on-demand function "
     "EdgeFC/hello, an empty product and a README saying what to edit and how to deploy"},
    {"keygen", cmd_keygen, "NAME",
     "make an Ed25519 key pair for signing bundles: NAME.key (private, mode 0600) and NAME.pub "
     "(list it in the file named by deploy.trusted_keys)"},
    {"sign", cmd_sign, "DIR --key FILE",
     "sign the bundle in DIR with the private key FILE (writes DIR/bundle.sig)"},
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
           "VERGE_PASSWORD (passwd, invoke, deploy, deployments, rollback)\n");
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
