/* gateway.c: what the commands that talk to a running gateway share (invoke, deploy,
 * deployments, rollback): the --gateway URL, the certificate trust options, the user and its
 * password, one client over openapi/client, and the messages of a failed call. */
#include "cli.h"
#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "verge %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_gateway_init(cli_gateway_t *g, const cli_opts_t *o, const char *cmd, const char *usage)
{
    char err[1024];
    memset(g, 0, sizeof *g);
    g->cmd = cmd;
    if (o->allow || o->bundle)
        return cli_usage_error(cmd, usage, "%s does not apply to %s",
                               o->allow ? "--allow" : "--bundle", cmd);
    g->co.url = o->gateway ? o->gateway : CLIENT_DEFAULT_URL;
    g->co.user = o->user ? o->user : "admin";
    client_url_t url;
    unsigned char fp[32];
    if (client_url_parse(g->co.url, &url, err, sizeof err))
        return cli_usage_error(cmd, usage, "--gateway: %s", err);
    if ((o->insecure != 0) + (o->cacert != NULL) + (o->fingerprint != NULL) > 1)
        return cli_usage_error(cmd, usage, "%s",
                               "-k, --cacert and --fingerprint exclude each other");
    if (o->fingerprint && client_fingerprint_parse(o->fingerprint, fp, err, sizeof err))
        return cli_usage_error(cmd, usage, "--fingerprint: %s", err);
    if (o->cacert && access(o->cacert, R_OK) != 0)
        return cli_usage_error(cmd, usage, "--cacert %s: %s", o->cacert, strerror(errno));
    g->co.trust = o->insecure      ? CLIENT_TRUST_INSECURE
                  : o->fingerprint ? CLIENT_TRUST_PIN
                  : o->cacert      ? CLIENT_TRUST_CAFILE
                                   : CLIENT_TRUST_SYSTEM;
    g->co.cafile = o->cacert;
    g->co.fingerprint = o->fingerprint;
    return 0;
}

int cli_gateway_open(cli_gateway_t *g, int read_timeout_ms)
{
    char prompt[1200], err[1024];
    snprintf(prompt, sizeof prompt, "Password for %s at %s: ", g->co.user, g->co.url);
    if (cli_read_secret(prompt, g->password, sizeof g->password)) return CLI_EXIT_USAGE;
    g->co.password = g->password;
    g->co.read_timeout_ms = read_timeout_ms;
    if (client_create(&g->co, &g->client, err, sizeof err)) {
        fprintf(stderr, "verge: %s: %s\n", g->cmd, err);
        return CLI_EXIT_FAILED;
    }
    return 0;
}

int cli_gateway_call(cli_gateway_t *g, const char *what, const char *path, json_t *params,
                     client_reply_t *rep)
{
    char err[1024];
    if (client_call(g->client, path, params, rep, err, sizeof err) == 0) return 0;
    fprintf(stderr, "verge: %s: %s\n", what, err);
    return CLI_EXIT_FAILED;
}

void cli_gateway_close(cli_gateway_t *g)
{
    client_destroy(g->client);
    g->client = NULL;
    memset(g->password, 0, sizeof g->password);
    g->co.password = NULL;
}
