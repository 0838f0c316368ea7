/* log.c: the logger of log.h. One formatted line per call, written with a single fputs so
 * lines from driver-output readers and the loop thread never interleave mid-line. */
#include "core/log.h"
#include "core/error.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct {
    const char *name;
    const char *color;
} vg__levels[] = {
    [VG_LOG_DEBUG] = {"debug", "\x1b[2m"},
    [VG_LOG_INFO] = {"info", "\x1b[32m"},
    [VG_LOG_WARN] = {"warn", "\x1b[33m"},
    [VG_LOG_ERROR] = {"error", "\x1b[31m"},
};

void vg_logger_init(vg_logger_t *lg, vg_log_level_t level, vg_log_format_t format, FILE *out)
{
    lg->level = level;
    lg->out = out ? out : stderr;
    lg->json = format == VG_LOG_FORMAT_JSON;
    lg->color = !lg->json && isatty(fileno(lg->out));
}

int vg_log_level_parse(const char *s, vg_log_level_t *out)
{
    for (size_t i = 0; i < sizeof(vg__levels) / sizeof(vg__levels[0]); i++) {
        if (strcmp(s, vg__levels[i].name) == 0) {
            *out = (vg_log_level_t)i;
            return 0;
        }
    }
    return VG_EINVAL;
}

/* Appends `s` to buf as the inside of a JSON string; returns the new length. */
static size_t vg__json_escape(char *buf, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    buf[len] = '\0';
    return len;
}

void vg_logv(const vg_logger_t *lg, vg_log_level_t level, const char *module, const char *fmt,
             va_list ap)
{
    vg_logger_t fallback = {VG_LOG_INFO, 0, 0, stderr};
    if (!lg) lg = &fallback;
    if (level < lg->level || level > VG_LOG_ERROR) return;

    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t wl = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wl, sizeof when - wl, ".%03ldZ", ts.tv_nsec / 1000000);

    char line[4096 + 512];
    size_t n;
    if (lg->json) {
        n = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"module\":\"",
                             when, vg__levels[level].name);
        n = vg__json_escape(line, n, sizeof line, module);
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
        n = vg__json_escape(line, n, sizeof line, msg);
        snprintf(line + n, sizeof line - n, "\"}\n");
    } else if (lg->color) {
        snprintf(line, sizeof line, "%s %s%-5s\x1b[0m [%s] %s\n", when, vg__levels[level].color,
                 vg__levels[level].name, module, msg);
    } else {
        snprintf(line, sizeof line, "%s %-5s [%s] %s\n", when, vg__levels[level].name, module, msg);
    }
    fputs(line, lg->out);
    fflush(lg->out);
}

void vg_log(const vg_logger_t *lg, vg_log_level_t level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vg_logv(lg, level, module, fmt, ap);
    va_end(ap);
}
