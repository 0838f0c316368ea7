/* deploy_cli.c: the deployment commands. `verge deploy PATH` packs a bundle directory (or takes
 * a .tar.gz), uploads it with POST /deploy/upload and follows POST /deploy/status until the
 * outcome; `verge rollback [ID]` starts a rollback and follows it the same way; `verge
 * deployments` prints the history; `verge init DIR` writes a bundle skeleton; `verge keygen`
 * and `verge sign` make Ed25519 keys and bundle signatures (runtime/deploy/sign.h).
 * Exit status of deploy and rollback: 0 the version runs, 1 it failed (the reason and every
 * problem printed), 2 usage, 3 the call failed or no outcome came within --timeout. */
#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "deploy/archive.h"
#include "deploy/deploy.h"
#include "deploy/sign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEPLOY_EXIT_FAILED    1      /* the deployment ran and failed (31, 4, 32) */
#define DEPLOY_TIMEOUT_S      120    /* --timeout default */
#define DEPLOY_POLL_MS        200    /* between two /deploy/status calls */
#define DEPLOY_PROGRESS_BYTES 262144 /* bodies larger than this show upload progress */
#define DEPLOY_LIST_DEFAULT   10
#define DEPLOY_LIST_MAX       100 /* pageSize of POST /deploy/list */

static const char deploy__usage[] =
    "usage: verge deploy PATH [--gateway URL] [--user NAME] [--timeout S]\n"
    "                    [-k|--insecure | --cacert FILE | --fingerprint HEX]\n"
    "       PATH: a bundle directory (with bundle.json) or a .tar.gz of one\n";
static const char rollback__usage[] =
    "usage: verge rollback [ID] [--gateway URL] [--user NAME] [--timeout S]\n"
    "                      [-k|--insecure | --cacert FILE | --fingerprint HEX]\n";
static const char deployments__usage[] =
    "usage: verge deployments [--limit N] [--json] [--gateway URL] [--user NAME]\n"
    "                         [-k|--insecure | --cacert FILE | --fingerprint HEX]\n";
static const char init__usage[] = "usage: verge init DIR\n";
static const char keygen__usage[] = "usage: verge keygen NAME   (writes NAME.key and NAME.pub)\n";
static const char sign__usage[] = "usage: verge sign DIR --key FILE\n";

/* ---- numbers and options ---- */

/* Parses a whole decimal number in [min, max]. Returns 0 or -1. */
static int deploy__number(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Refuses the options of other commands. Returns 0 or CLI_EXIT_USAGE. */
static int deploy__only(const cli_opts_t *o, const char *cmd, const char *usage, int timeout,
                        int listing)
{
    const char *bad = o->context               ? "--context"
                      : o->async               ? "--async"
                      : o->key                 ? "--key"
                      : !timeout && o->timeout ? "--timeout"
                      : !listing && o->limit   ? "--limit"
                      : !listing && o->json    ? "--json"
                                               : NULL;
    return bad ? cli_usage_error(cmd, usage, "%s does not apply to %s", bad, cmd) : 0;
}

/* --timeout S in milliseconds (DEPLOY_TIMEOUT_S when absent). Returns 0 or CLI_EXIT_USAGE. */
static int deploy__timeout(const cli_opts_t *o, const char *cmd, const char *usage, int *ms)
{
    long long s = DEPLOY_TIMEOUT_S;
    if (o->timeout && deploy__number(o->timeout, 1, 86400, &s))
        return cli_usage_error(
            cmd, usage, "--timeout \"%s\": expected whole seconds from 1 to 86400", o->timeout);
    *ms = (int)(s * 1000);
    return 0;
}

static int64_t deploy__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- following a deployment ---- */

static int deploy__final(int status)
{
    return status == DEPLOY_RUNNING || status == DEPLOY_FINISHED || status == DEPLOY_FAILED ||
           status == DEPLOY_DEPLOY_FAILED || status == DEPLOY_STOP_FAILED;
}

static const char *deploy__str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Whether a step is still under way (printed once it is done). */
static int deploy__step_open(const json_t *step)
{
    const char *state = deploy__str(step, "state");
    return strcmp(state, "running") == 0 || strcmp(state, "pending") == 0 || !*state;
}

/* Prints the steps from *printed on, stopping at one still under way unless `all`. */
static void deploy__print_steps(const json_t *steps, size_t *printed, int all)
{
    for (; *printed < json_array_size(steps); (*printed)++) {
        const json_t *st = json_array_get(steps, *printed);
        if (!all && deploy__step_open(st)) break;
        const char *msg = deploy__str(st, "message");
        printf("%s %s %" JSON_INTEGER_FORMAT " ms%s%s\n", deploy__str(st, "step"),
               deploy__str(st, "state"), json_integer_value(json_object_get(st, "ms")),
               *msg ? ": " : "", msg);
    }
    fflush(stdout);
}

/* The outcome of a deployment that reached a final status. Returns the exit status. */
static int deploy__outcome(const json_t *info, int64_t id)
{
    int status = (int)json_integer_value(json_object_get(info, "status"));
    const char *bundle = deploy__str(info, "bundle"), *version = deploy__str(info, "version");
    if (status == DEPLOY_RUNNING || status == DEPLOY_FINISHED) {
        printf("deployment %lld: %s%sversion %s %s\n", (long long)id, bundle, *bundle ? " " : "",
               *version ? version : "?",
               status == DEPLOY_RUNNING ? "running" : "ran, and was replaced since");
        return 0;
    }
    const char *reason = deploy__str(info, "reason");
    fprintf(stderr, "verge: deployment %lld failed (%d %s)%s%s\n", (long long)id, status,
            deploy_status_text(status), *reason ? ": " : "", reason);
    const json_t *problems = json_object_get(info, "problems");
    size_t i;
    const json_t *p;
    json_array_foreach(problems, i, p) fprintf(stderr, "  %s\n", json_string_value(p));
    return DEPLOY_EXIT_FAILED;
}

static void deploy__sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Polls /deploy/status {id} every DEPLOY_POLL_MS, printing each step once, until the status
 * is final or `timeout_ms` passed. Returns the exit status. */
static int deploy__follow(cli_gateway_t *g, int64_t id, int timeout_ms)
{
    int64_t deadline = deploy__now_ms() + timeout_ms;
    size_t printed = 0;
    char what[64];
    snprintf(what, sizeof what, "deployment %lld", (long long)id);
    json_t *params = json_pack("{s:I}", "id", (json_int_t)id);
    int rc = -1;
    while (rc < 0) {
        client_reply_t rep;
        if (cli_gateway_call(g, what, "/deploy/status", params, &rep)) {
            rc = CLI_EXIT_FAILED;
            break;
        }
        if (rep.code != 200 || !json_is_object(rep.data)) {
            fprintf(stderr, "verge: %s: %s (%d)\n", what, rep.message, rep.code);
            rc = CLI_EXIT_FAILED;
        } else {
            int status = (int)json_integer_value(json_object_get(rep.data, "status"));
            int final = deploy__final(status);
            deploy__print_steps(json_object_get(rep.data, "steps"), &printed, final);
            if (final) rc = deploy__outcome(rep.data, id);
        }
        client_reply_close(&rep);
        if (rc < 0 && deploy__now_ms() >= deadline) {
            fprintf(stderr,
                    "verge: %s is still in progress after %d s; follow it with verge "
                    "deployments\n",
                    what, timeout_ms / 1000);
            rc = CLI_EXIT_FAILED;
        }
        if (rc < 0) deploy__sleep_ms(DEPLOY_POLL_MS);
    }
    json_decref(params);
    return rc;
}

/* 202 {"id":N,...}: the id of the deployment that started, or 0 after printing why not. */
static int64_t deploy__started(const char *what, int code, const char *message, json_t *data)
{
    json_t *id = json_object_get(data, "id");
    if (code == 202 && json_is_integer(id) && json_integer_value(id) > 0)
        return (int64_t)json_integer_value(id);
    if (code == 202)
        fprintf(stderr,
                "verge: %s: the gateway's reply has no deployment id: is it a verge "
                "gateway?\n",
                what);
    else
        fprintf(stderr, "verge: %s: %s (%d)\n", what, message, code);
    return 0;
}

/* ---- verge deploy ---- */

typedef struct deploy__progress {
    int tty;
    int last_pct;
    int64_t last_ms;
} deploy__progress_t;

static void deploy__on_progress(void *arg, uint64_t sent, uint64_t total)
{
    deploy__progress_t *p = arg;
    if (total <= DEPLOY_PROGRESS_BYTES) return;
    int pct = (int)(sent * 100 / total);
    double mib = 1024.0 * 1024.0;
    if (p->tty) {
        int64_t now = deploy__now_ms();
        if (sent != total && sent != 0 && now - p->last_ms < 100) return;
        p->last_ms = now;
        fprintf(stderr, "\ruploading %.1f of %.1f MiB (%3d%%)", (double)sent / mib,
                (double)total / mib, pct);
        if (sent == total) fputs("\n", stderr);
    } else {
        /* plain lines for logs: the start, every quarter and the end */
        if (sent != 0 && pct / 25 == p->last_pct / 25 && sent != total) return;
        if (sent == total && p->last_pct == 100) return;
        fprintf(stderr, "uploading %.1f of %.1f MiB (%d%%)\n", (double)sent / mib,
                (double)total / mib, pct);
        p->last_pct = pct;
    }
    fflush(stderr);
}

/* Whether `path` names a .tar.gz (or .tgz) file. */
static int deploy__is_archive_name(const char *path)
{
    static const char *const ends[] = {".tar.gz", ".tgz"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t k = strlen(ends[i]);
        if (n > k && strcmp(path + n - k, ends[i]) == 0) return 1;
    }
    return 0;
}

/* The upload's body: `path` packed (a directory) or the file itself. Returns 0, or an exit
 * status after printing why. */
static int deploy__body(const char *path, client_body_t *body, vg_buf_t *packed, int *fd)
{
    struct stat st;
    char err[1024];
    *fd = -1;
    if (stat(path, &st) != 0)
        return cli_usage_error("deploy", deploy__usage, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        char manifest[PATH_MAX];
        snprintf(manifest, sizeof manifest, "%s/bundle.json", path);
        if (access(manifest, R_OK) != 0)
            return cli_usage_error("deploy", deploy__usage,
                                   "%s has no bundle.json: expected a bundle directory "
                                   "(verge init DIR makes one)",
                                   path);
        if (deploy_archive_pack(path, packed, NULL, NULL, err, sizeof err)) {
            fprintf(stderr, "verge: deploy: cannot pack %s: %s\n", path, err);
            return DEPLOY_EXIT_FAILED;
        }
        body->kind = CLIENT_BODY_MEMORY;
        body->data = packed->data;
        body->length = packed->len;
        return 0;
    }
    if (!S_ISREG(st.st_mode) || !deploy__is_archive_name(path))
        return cli_usage_error("deploy", deploy__usage,
                               "%s: expected a bundle directory or a .tar.gz file", path);
    if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return cli_usage_error("deploy", deploy__usage, "%s: %s", path, strerror(errno));
    body->kind = CLIENT_BODY_FD;
    body->fd = *fd;
    body->length = (uint64_t)st.st_size;
    return 0;
}

/* POST /deploy/upload with `body`. Returns the new deployment's id, or 0 after printing why
 * (*exit_rc then says the exit status). */
static int64_t deploy__upload(cli_gateway_t *g, const char *path, client_body_t *body, int *exit_rc)
{
    deploy__progress_t prog = {isatty(STDERR_FILENO), 0, 0};
    body->progress = deploy__on_progress;
    body->progress_arg = &prog;
    client_request_t req = {
        .method = "POST",
        .path = "/deploy/upload",
        .content_type = "application/gzip",
        .body = *body,
    };
    client_response_t resp;
    client_response_init(&resp);
    char err[1024];
    *exit_rc = CLI_EXIT_FAILED;
    if (client_request(g->client, &req, &resp, err, sizeof err)) {
        if (prog.tty) fputs("\n", stderr);
        fprintf(stderr, "verge: deploy %s: %s\n", path, err);
        client_response_close(&resp);
        return 0;
    }
    json_error_t je;
    json_t *root = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, &je) : NULL;
    json_t *code = json_object_get(root, "code");
    const char *message = json_string_value(json_object_get(root, "message"));
    int64_t id = 0;
    if (!json_is_integer(code) || !message)
        fprintf(stderr, "verge: deploy %s: HTTP %d, not a verge reply: is %s a verge gateway?\n",
                path, resp.status, client_url(g->client));
    else
        id = deploy__started("deploy", (int)json_integer_value(code), message,
                             json_object_get(root, "data"));
    json_decref(root);
    client_response_close(&resp);
    return id;
}

int cmd_deploy(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o), timeout_ms = 0;
    if (rc) return rc;
    cli_gateway_t g;
    if ((rc = cli_gateway_init(&g, &o, "deploy", deploy__usage)) ||
        (rc = deploy__only(&o, "deploy", deploy__usage, 1, 0)) ||
        (rc = deploy__timeout(&o, "deploy", deploy__usage, &timeout_ms)))
        return rc;
    if (o.npositional != 1) {
        fputs(deploy__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *path = o.positional[0];
    client_body_t body = {0};
    vg_buf_t packed;
    vg_buf_init(&packed);
    int fd;
    if ((rc = deploy__body(path, &body, &packed, &fd))) {
        vg_buf_close(&packed);
        return rc;
    }
    rc = cli_gateway_open(&g, timeout_ms);
    int64_t id = rc ? 0 : deploy__upload(&g, path, &body, &rc);
    vg_buf_close(&packed);
    if (fd >= 0) close(fd);
    if (id > 0) {
        printf("deployment %lld: uploaded %s (%llu bytes)\n", (long long)id, path,
               (unsigned long long)body.length);
        fflush(stdout);
        rc = deploy__follow(&g, id, timeout_ms);
    }
    cli_gateway_close(&g);
    return rc;
}

/* ---- verge rollback ---- */

int cmd_rollback(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o), timeout_ms = 0;
    if (rc) return rc;
    cli_gateway_t g;
    if ((rc = cli_gateway_init(&g, &o, "rollback", rollback__usage)) ||
        (rc = deploy__only(&o, "rollback", rollback__usage, 1, 0)) ||
        (rc = deploy__timeout(&o, "rollback", rollback__usage, &timeout_ms)))
        return rc;
    long long to = 0;
    if (o.npositional > 1) {
        fputs(rollback__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.npositional == 1 && deploy__number(o.positional[0], 1, INT64_MAX, &to))
        return cli_usage_error("rollback", rollback__usage,
                               "\"%s\": expected a deployment id (see verge deployments)",
                               o.positional[0]);
    if ((rc = cli_gateway_open(&g, timeout_ms))) return rc;
    json_t *params = to ? json_pack("{s:I}", "id", (json_int_t)to) : json_object();
    client_reply_t rep;
    rc = cli_gateway_call(&g, "rollback", "/deploy/rollback", params, &rep);
    json_decref(params);
    if (rc == 0) {
        int64_t id = deploy__started("rollback", rep.code, rep.message, rep.data);
        client_reply_close(&rep);
        if (id > 0) {
            printf("deployment %lld: rolling back%s\n", (long long)id,
                   to ? "" : " to the previous good version");
            fflush(stdout);
            rc = deploy__follow(&g, id, timeout_ms);
        } else {
            rc = CLI_EXIT_FAILED;
        }
    }
    cli_gateway_close(&g);
    return rc;
}

/* ---- verge deployments ---- */

/* "2025-01-31T12:00:00Z" for milliseconds since the epoch ("-" for 0). */
static void deploy__when(json_int_t ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The cells of one row of the table. */
typedef struct deploy__row {
    char id[24], status[40], when[32];
    const char *bundle, *version, *origin, *reason;
} deploy__row_t;

static void deploy__print_table(const json_t *list)
{
    size_t n = json_array_size(list);
    deploy__row_t *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "verge: deployments: out of memory\n");
        return;
    }
    int w[6] = {2, 6, 7, 6, 6, 4}; /* ID BUNDLE VERSION STATUS ORIGIN WHEN */
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(list, i);
        deploy__row_t *r = &rows[i];
        int status = (int)json_integer_value(json_object_get(d, "status"));
        snprintf(r->id, sizeof r->id, "%" JSON_INTEGER_FORMAT "%s",
                 json_integer_value(json_object_get(d, "id")),
                 json_is_true(json_object_get(d, "current")) ? "*" : "");
        snprintf(r->status, sizeof r->status, "%d %s", status, deploy_status_text(status));
        deploy__when(json_integer_value(json_object_get(d, "createdAt")), r->when, sizeof r->when);
        r->bundle = deploy__str(d, "bundle");
        r->version = deploy__str(d, "version");
        r->origin = deploy__str(d, "origin");
        r->reason = deploy__str(d, "reason");
        const char *cells[6] = {r->id, r->bundle, r->version, r->status, r->origin, r->when};
        for (int k = 0; k < 6; k++)
            if ((int)strlen(cells[k]) > w[k]) w[k] = (int)strlen(cells[k]);
    }
    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], "ID", w[1], "BUNDLE", w[2], "VERSION",
           w[3], "STATUS", w[4], "ORIGIN", w[5], "WHEN", "REASON");
    for (size_t i = 0; i < n; i++) {
        const deploy__row_t *r = &rows[i];
        /* the reason's first line: a Lua error goes on with its traceback */
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %.*s\n", w[0], r->id, w[1], r->bundle, w[2],
               r->version, w[3], r->status, w[4], r->origin, w[5], r->when,
               (int)strcspn(r->reason, "\n"), r->reason);
    }
    free(rows);
}

int cmd_deployments(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    cli_gateway_t g;
    if ((rc = cli_gateway_init(&g, &o, "deployments", deployments__usage)) ||
        (rc = deploy__only(&o, "deployments", deployments__usage, 0, 1)))
        return rc;
    long long limit = DEPLOY_LIST_DEFAULT;
    if (o.npositional) {
        fputs(deployments__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.limit && deploy__number(o.limit, 1, DEPLOY_LIST_MAX, &limit))
        return cli_usage_error("deployments", deployments__usage,
                               "--limit \"%s\": expected a number from 1 to %d", o.limit,
                               DEPLOY_LIST_MAX);
    if ((rc = cli_gateway_open(&g, 0))) return rc;
    json_t *params = json_pack("{s:I,s:i}", "pageSize", (json_int_t)limit, "currentPage", 1);
    client_reply_t rep;
    rc = cli_gateway_call(&g, "deployments", "/deploy/list", params, &rep);
    json_decref(params);
    cli_gateway_close(&g);
    if (rc) return rc;
    json_t *list = json_object_get(rep.data, "deployments");
    if (rep.code != 200 || !json_is_array(list)) {
        fprintf(stderr, "verge: deployments: %s (%d)\n", rep.message, rep.code);
        client_reply_close(&rep);
        return CLI_EXIT_FAILED;
    }
    if (o.json) {
        char *text = json_dumps(rep.data, VG_JSON_FLAGS);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        deploy__print_table(list);
        json_int_t total = json_integer_value(json_object_get(rep.data, "total"));
        if ((size_t)total > json_array_size(list))
            fprintf(stderr, "(%zu of %" JSON_INTEGER_FORMAT " deployments; --limit shows more)\n",
                    json_array_size(list), total);
    }
    client_reply_close(&rep);
    return 0;
}

/* ---- verge init ---- */

static const char init__lua[] =
    "-- hello.lua: an on-demand function of this bundle. `verge invoke EdgeFC/hello NAME` runs\n"
    "-- handler(NAME, context) and prints what it returns; the log line goes to verge's log.\n"
    "local lecoresdk = require(\"lecoresdk\")\n"
    "\n"
    "function handler(event, context)\n"
    "  local name = (event ~= nil and event ~= \"\") and event or \"world\"\n"
    "  lecoresdk.logger.info(\"hello: greeting \" .. name .. \" (request \" ..\n"
    "                        tostring(context.requestId) .. \")\")\n"
    "  return \"Hello, \" .. name .. \"!\"\n"
    "end\n";

static const char init__tsl[] = "{\n"
                                "  \"profile\": {\"productKey\": \"a1Hello\"},\n"
                                "  \"properties\": [],\n"
                                "  \"events\": [],\n"
                                "  \"services\": []\n"
                                "}\n";

static const char init__readme[] =
    "# %s\n"
    "\n"
    "A verge bundle, made by `verge init`. `bundle.json` is the manifest: the bundle's name and\n"
    "version, its products (thing models, in `products/`), drivers, functions (Lua, in\n"
    "`functions/`) and routes. docs/functions.md and docs/deploy.md in the verge repository\n"
    "describe every field.\n"
    "\n"
    "What to edit:\n"
    "\n"
    "- `functions/hello.lua`: the function `EdgeFC/hello`; add functions to `functions/` and\n"
    "  list them in `bundle.json`.\n"
    "- `bundle.json`: raise `version` for every change you deploy; add drivers, their devices\n"
    "  and routes there.\n"
    "- `products/hello.json`: an empty thing model; replace it with your devices' models.\n"
    "\n"
    "Deploy it to a running gateway and call the function:\n"
    "\n"
    "```sh\n"
    "VERGE_PASSWORD=... verge deploy %s -k      # upload, verify, switch; exit 0 once it runs\n"
    "VERGE_PASSWORD=... verge invoke EdgeFC/hello Ada -k\n"
    "VERGE_PASSWORD=... verge deployments -k    # the versions and their status\n"
    "VERGE_PASSWORD=... verge rollback -k       # back to the previous good version\n"
    "```\n";

/* Writes `text` to dir/name (new, 0644). Returns 0 or -1 after printing why. */
static int init__write(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        fprintf(stderr, "verge init: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return close(fd) == 0 ? 0 : -1;
}

static int init__mkdir(const char *dir, const char *sub)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, *sub ? "/" : "", sub);
    if (mkdir(path, 0755) == 0 || (errno == EEXIST && !*sub)) return 0;
    fprintf(stderr, "verge init: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

/* Whether `dir` is a directory with nothing in it. */
static int init__empty_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    return empty;
}

/* The bundle name for directory `abs`: its basename, other characters than letters, digits
 * and ._- made '-', at most 64 characters. */
static void init__name(const char *abs, char *out, size_t outlen)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", abs);
    const char *base = basename(copy);
    size_t n = 0;
    for (; base[n] && n + 1 < outlen && n < 64; n++) {
        char c = base[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[n] = ok ? c : '-';
    }
    out[n] = '\0';
    if (n == 0 || strcmp(out, "/") == 0) snprintf(out, outlen, "bundle");
}

int cmd_init(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npositional != 1) {
        fputs(init__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *dir = o.positional[0];
    struct stat st;
    if (stat(dir, &st) == 0 && !init__empty_dir(dir))
        return cli_usage_error("init", init__usage,
                               "%s exists and is not an empty directory; give a new or empty "
                               "one",
                               dir);
    if (init__mkdir(dir, "")) return DEPLOY_EXIT_FAILED;
    char abs[PATH_MAX], name[72], manifest[1024], readme[4096];
    if (!realpath(dir, abs)) snprintf(abs, sizeof abs, "%s", dir);
    init__name(abs, name, sizeof name);
    snprintf(
        manifest, sizeof manifest,
        "{\n"
        "  \"name\": \"%s\",\n"
        "  \"version\": \"0.1.0\",\n"
        "  \"products\": [\n"
        "    {\"productKey\": \"a1Hello\", \"tsl\": \"products/hello.json\"}\n"
        "  ],\n"
        "  \"drivers\": [],\n"
        "  \"functions\": [\n"
        "    {\"service\": \"EdgeFC\", \"name\": \"hello\", \"code\": \"functions/hello.lua\",\n"
        "     \"mode\": \"on-demand\", \"timeoutMs\": 1000, \"memoryMB\": 4}\n"
        "  ],\n"
        "  \"routes\": []\n"
        "}\n",
        name);
    snprintf(readme, sizeof readme, init__readme, name, dir);
    if (init__mkdir(dir, "functions") || init__mkdir(dir, "products") ||
        init__write(dir, "bundle.json", manifest) ||
        init__write(dir, "functions/hello.lua", init__lua) ||
        init__write(dir, "products/hello.json", init__tsl) || init__write(dir, "README.md", readme))
        return DEPLOY_EXIT_FAILED;
    printf("wrote the bundle \"%s\" to %s: bundle.json, functions/hello.lua, products/hello.json, "
           "README.md\nnext: edit it, then verge deploy %s\n",
           name, dir, dir);
    return 0;
}

/* ---- verge keygen, verge sign ---- */

int cmd_keygen(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npositional != 1 || !*o.positional[0]) {
        fputs(keygen__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    char key[PATH_MAX], pub[PATH_MAX], err[1024];
    snprintf(key, sizeof key, "%s.key", o.positional[0]);
    snprintf(pub, sizeof pub, "%s.pub", o.positional[0]);
    if ((rc = deploy_sign_keygen(key, pub, err, sizeof err))) {
        fprintf(stderr, "verge keygen: %s\n", err);
        return rc == VG_EEXIST ? CLI_EXIT_USAGE : DEPLOY_EXIT_FAILED;
    }
    printf("wrote %s (the private key: keep it secret) and %s (the public key: add its line to "
           "the file named by deploy.trusted_keys on each gateway)\n",
           key, pub);
    return 0;
}

int cmd_sign(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npositional != 1 || !o.key) {
        if (o.npositional == 1) fputs("verge sign: --key FILE is missing\n", stderr);
        fputs(sign__usage, stderr);
        return CLI_EXIT_USAGE;
    }
    char err[1024];
    if (deploy_sign_bundle(o.positional[0], o.key, err, sizeof err)) {
        fprintf(stderr, "verge sign: %s\n", err);
        return DEPLOY_EXIT_FAILED;
    }
    printf("signed %s: wrote %s/%s\n", o.positional[0], o.positional[0], DEPLOY_SIG_FILE);
    return 0;
}
