/* paths.c: every path a manifest names is relative and stays inside the bundle, as written
 * and after resolving symlinks (realpath); files are read with a size limit and parsed as
 * JSON objects with their syntax errors placed by line and column. */
#include "bundle/bundle_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Number of path components in `p` ("a//b/" has 2). */
static int bundle__components(const char *p)
{
    int n = 0;
    for (; *p; p++)
        if (*p != '/' && (p[1] == '/' || p[1] == '\0')) n++;
    return n;
}

/* Whether `rel`, taken from a directory `depth` levels below the bundle root, ever climbs
 * above the root as written ("..", "a/../../b"). */
static int bundle__climbs(const char *rel, int depth)
{
    const char *p = rel;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0) return 1;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            depth++;
        }
        p += len;
        while (*p == '/')
            p++;
    }
    return 0;
}

static int bundle__inside(const bundle__ctx_t *c, const char *abs)
{
    size_t n = strlen(c->root);
    if (n == 1) return 1; /* the bundle is "/" */
    return strncmp(abs, c->root, n) == 0 && (abs[n] == '/' || abs[n] == '\0');
}

const char *bundle__relative(const bundle__ctx_t *c, const char *abs)
{
    size_t n = strlen(c->root);
    if (n == 1) return abs[1] ? abs + 1 : ".";
    return abs[n] == '/' ? abs + n + 1 : ".";
}

char *bundle__resolve(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                      const char *rel, const char *base, bundle__want_t want)
{
    if (!*rel) {
        bundle__err(c, file, field, v, "expected a non-empty path relative to the bundle");
        return NULL;
    }
    if (rel[0] == '/') {
        bundle__err(c, file, field, v, "must be relative to the bundle directory, not absolute");
        return NULL;
    }
    if (bundle__climbs(rel, bundle__components(base + strlen(c->root)))) {
        bundle__err(c, file, field, v, "leaves the bundle directory");
        return NULL;
    }
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", base, rel) >= sizeof joined) {
        bundle__err(c, file, field, v, "path too long");
        return NULL;
    }
    char *abs = realpath(joined, NULL);
    if (!abs) {
        int e = errno;
        if (e == ENOMEM) c->oom = 1;
        if (e == ENOENT || e == ENOTDIR)
            bundle__err(c, file, field, v, "no such file");
        else
            bundle__err(c, file, field, v, "cannot be resolved: %s", strerror(e));
        return NULL;
    }
    struct stat st;
    if (!bundle__inside(c, abs))
        bundle__err(c, file, field, v, "leaves the bundle directory: it resolves to %s", abs);
    else if (stat(abs, &st) != 0)
        bundle__err(c, file, field, v, "cannot be read: %s", strerror(errno));
    else if (S_ISDIR(st.st_mode))
        bundle__err(c, file, field, v, "is a directory, not a file");
    else if (!S_ISREG(st.st_mode))
        bundle__err(c, file, field, v, "is not a regular file");
    else if (want == BUNDLE__EXEC && access(abs, X_OK) != 0)
        bundle__err(c, file, field, v, "is not executable");
    else
        return abs;
    free(abs);
    return NULL;
}

/* Reads at most `max` bytes of the open regular file `fd` into *text (NUL-terminated) and
 * *len. Returns 0, EFBIG when the file holds more than `max` bytes, or another errno value. */
static int bundle__read_fd(int fd, size_t max, char **text, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return EINVAL;
    if ((unsigned long long)st.st_size > max) return EFBIG;
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    while (buf) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            rc = got < 0 ? errno : 0;
            break;
        }
        n += (size_t)got;
        if (n > max) {
            rc = EFBIG;
            break;
        }
        if (n == cap) { /* the file grew since fstat */
            cap *= 2;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    if (!buf) return ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

char *bundle__read_text(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        const char *abs, size_t max, size_t *len)
{
    char *text = NULL;
    *len = 0;
    int fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = fd < 0 ? errno : bundle__read_fd(fd, max, &text, len);
    if (fd >= 0) close(fd);
    if (rc == ENOMEM) c->oom = 1;
    if (rc == EFBIG) {
        bundle__err(c, file, field, v, "the file is bigger than the limit of %zu bytes", max);
        return NULL;
    }
    if (rc) {
        bundle__err(c, file, field, v, "cannot be read: %s", strerror(rc));
        return NULL;
    }
    return text;
}

char *bundle__read_json(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        const char *abs, size_t max, json_t **doc)
{
    *doc = NULL;
    size_t len;
    char *text = bundle__read_text(c, file, field, v, abs, max, &len);
    if (!text) return NULL;
    const char *name = bundle__relative(c, abs);
    json_error_t e;
    *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!*doc) {
        char where[64];
        snprintf(where, sizeof where, "line %d, column %d", e.line, e.column);
        bundle__err(c, name, where, NULL, "invalid JSON: %s", e.text);
    } else if (!json_is_object(*doc)) {
        bundle__err(c, name, "(top level)", *doc, "expected an object");
        json_decref(*doc);
        *doc = NULL;
    }
    if (!*doc) {
        free(text);
        return NULL;
    }
    return text;
}
