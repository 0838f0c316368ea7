/* invoke.c: `verge invoke SERVICE/FUNCTION [PAYLOAD]`: calls a function on a running gateway
 * through POST /function/invoke (gateway.c: openapi/client, Basic credentials) and prints its
 * result.
 * Exit status: 0 the function ran, 1 it returned an error, 2 usage, 3 the call failed. */
#include "cli.h"
#include "client/client.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INVOKE_EXIT_FUNCTION 1 /* the function ran and returned functionError */
#define INVOKE_PAYLOAD_MAX   (16 * 1024 * 1024)

static const char invoke__usage[] =
    "usage: verge invoke SERVICE/FUNCTION [PAYLOAD|-] [--gateway URL] [--user NAME] [--async]\n"
    "                    [--context JSON] [-k|--insecure | --cacert FILE | --fingerprint HEX]\n";

/* Reads all of stdin into a new NUL-terminated buffer. Returns it (*len set) or NULL with a
 * message printed. */
static char *invoke__stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= INVOKE_PAYLOAD_MAX) {
                fprintf(stderr, "verge invoke: the payload on stdin is larger than 16 MiB\n");
                free(buf);
                return NULL;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin)) {
                perror("verge invoke: reading the payload from stdin");
                free(buf);
                return NULL;
            }
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    free(buf);
    fprintf(stderr, "verge invoke: out of memory reading stdin\n");
    return NULL;
}

/* Builds the params of POST /function/invoke. Returns NULL (message printed) on a bad
 * --context. */
static json_t *invoke__params(const cli_opts_t *o, const char *service, const char *function,
                              const char *payload, size_t payload_len)
{
    json_t *ctx = NULL;
    if (o->context) {
        json_error_t e;
        ctx = json_loads(o->context, JSON_REJECT_DUPLICATES, &e);
        if (!ctx) {
            fprintf(stderr, "verge invoke: --context is not JSON: %s (at character %d)\n%s", e.text,
                    e.position, invoke__usage);
            return NULL;
        }
        if (!json_is_object(ctx)) {
            json_decref(ctx);
            fprintf(stderr, "verge invoke: --context must be a JSON object, such as "
                            "'{\"custom\":{\"data\":\"x\"}}'\n");
            return NULL;
        }
    }
    json_t *params =
        json_pack("{s:s,s:s,s:s,s:s#}", "serviceName", service, "functionName", function,
                  "invocationType", o->async ? "Async" : "Sync", "payload", payload, payload_len);
    if (params && ctx)
        json_object_set_new(params, "invokerContext", ctx);
    else if (ctx)
        json_decref(ctx);
    if (!params) fprintf(stderr, "verge invoke: out of memory (or the payload is not UTF-8)\n");
    return params;
}

/* Prints the result of a call that the gateway accepted. Returns the exit status. */
static int invoke__result(const cli_opts_t *o, const char *id, const client_reply_t *rep)
{
    json_t *data = rep->data;
    if (o->async) {
        const char *inv = json_string_value(json_object_get(data, "invocationId"));
        if (!inv) goto odd;
        printf("%s\n", inv);
        return 0;
    }
    if (!json_is_object(data)) goto odd;
    json_t *payload = json_object_get(data, "payload");
    const char *ferr = json_string_value(json_object_get(data, "functionError"));
    char *text = NULL;
    const char *p = "";
    size_t len = 0;
    if (json_is_string(payload)) {
        p = json_string_value(payload);
        len = json_string_length(payload);
    } else if (payload && !json_is_null(payload)) {
        text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
        p = text ? text : "";
        len = strlen(p);
    }
    int rc = 0;
    if (ferr) {
        fprintf(stderr, "verge: %s: %s error: %.*s\n", id, ferr, (int)len, p);
        rc = INVOKE_EXIT_FUNCTION;
    } else {
        fwrite(p, 1, len, stdout);
        if (isatty(STDOUT_FILENO) && (len == 0 || p[len - 1] != '\n')) fputc('\n', stdout);
        fflush(stdout);
    }
    free(text);
    return rc;
odd:
    fprintf(stderr, "verge: %s: the gateway's reply has no %s: is it a verge gateway?\n", id,
            o->async ? "invocationId" : "result object");
    return CLI_EXIT_FAILED;
}

int cmd_invoke(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    cli_gateway_t g;
    if ((rc = cli_gateway_init(&g, &o, "invoke", invoke__usage))) return rc;
    const char *other = o.timeout ? "--timeout"
                        : o.limit ? "--limit"
                        : o.key   ? "--key"
                        : o.json  ? "--json"
                                  : NULL;
    if (other)
        return cli_usage_error("invoke", invoke__usage, "%s does not apply to invoke", other);
    if (o.npositional < 1 || o.npositional > 2) {
        fputs(invoke__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    /* SERVICE/FUNCTION */
    const char *id = o.positional[0];
    const char *slash = strchr(id, '/');
    char service[256];
    if (!slash || slash == id || !slash[1] || strchr(slash + 1, '/') ||
        (size_t)(slash - id) >= sizeof service)
        return cli_usage_error("invoke", invoke__usage,
                               "\"%s\": expected SERVICE/FUNCTION, such as EdgeFC/helloworld", id);
    memcpy(service, id, (size_t)(slash - id));
    service[slash - id] = '\0';
    const char *function = slash + 1;

    /* what to send */
    const char *payload = o.npositional == 2 ? o.positional[1] : "";
    size_t payload_len = strlen(payload);
    char *from_stdin = NULL;
    if (strcmp(payload, "-") == 0) {
        if (!(from_stdin = invoke__stdin(&payload_len))) return CLI_EXIT_USAGE;
        payload = from_stdin;
    }
    json_t *params = invoke__params(&o, service, function, payload, payload_len);
    free(from_stdin);
    if (!params) return CLI_EXIT_USAGE;

    client_reply_t rep = {0};
    rc = cli_gateway_open(&g, 0);
    if (rc == 0) rc = cli_gateway_call(&g, id, "/function/invoke", params, &rep);
    cli_gateway_close(&g);
    json_decref(params);
    if (rc) return rc;
    if (rep.code != 200) {
        fprintf(stderr, "verge: %s: %s (%d)\n", id, rep.message, rep.code);
        client_reply_close(&rep);
        return CLI_EXIT_FAILED;
    }
    rc = invoke__result(&o, id, &rep);
    client_reply_close(&rep);
    return rc;
}
