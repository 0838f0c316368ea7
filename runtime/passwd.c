/* passwd.c: `verge passwd USER [--allow ...]`: sets a user's password and permissions in the
 * store directly (safe while the server runs: SQLite WAL), revoking the user's sessions. */
#include "auth/auth.h"
#include "cli.h"
#include "core/ctx.h"

#include <stdio.h>
#include <string.h>

/* Turns "a,b" or "*" into a JSON array text. Returns 0 or -1 when it does not fit. */
static int passwd__perms(const char *list, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "[");
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l && n + l + 4 < outlen) {
            n += (size_t)snprintf(out + n, outlen - n, "%s\"%.*s\"", n > 1 ? "," : "", (int)l, p);
        } else if (l) {
            return -1;
        }
        p += l + (p[l] == ',');
    }
    if (n + 2 > outlen) return -1;
    snprintf(out + n, outlen - n, "]");
    return 0;
}

int cmd_passwd(int argc, char **argv)
{
    cli_opts_t o;
    int rc = cli_parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npositional != 1) {
        fprintf(stderr, "usage: verge passwd USER [--allow PATH,PATH...|*] [--data-dir DIR]\n");
        return CLI_EXIT_USAGE;
    }
    const char *user = o.positional[0];
    char perms[STORE_PERMS_MAX];
    if (o.allow && (strpbrk(o.allow, "\"\\") || passwd__perms(o.allow, perms, sizeof perms))) {
        fprintf(stderr, "verge passwd: --allow \"%s\": expected API paths separated by commas, "
                        "or *\n", o.allow);
        return CLI_EXIT_USAGE;
    }
    char password[1024];
    if (cli_read_password(user, password, sizeof password)) return 1;
    if (cli_mkdirs(o.cfg.data_dir)) {
        perror("verge passwd: data directory");
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    vg_ctx_t ctx;
    if (vg_ctx_init(&ctx, &loop, &o.cfg)) return 1;
    char path[VG_CONFIG_STR_MAX + 32], err[512];
    snprintf(path, sizeof path, "%s/verge.db", o.cfg.data_dir);
    store_t *st = NULL;
    rc = store_open(&ctx, path, &st);
    if (rc == 0) {
        rc = auth_user_set(&ctx, st, user, password, o.allow ? perms : NULL, err, sizeof err);
        if (rc)
            fprintf(stderr, "verge passwd: %s\n", err);
        else
            printf("password of %s set%s\n", user, o.allow ? " (permissions updated)" : "");
        store_close(st);
    }
    memset(password, 0, sizeof password);
    vg_ctx_close(&ctx);
    uv_loop_close(&loop);
    return rc ? 1 : 0;
}
