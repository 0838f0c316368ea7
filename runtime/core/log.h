/* log.h: leveled logging to stderr, tagged with the module's name.
 * Human lines on a terminal, JSON lines when configured. The logger is a value owned by the
 * runtime context; there is no global logger. */
#ifndef VG_CORE_LOG_H
#define VG_CORE_LOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum { VG_LOG_DEBUG = 0, VG_LOG_INFO, VG_LOG_WARN, VG_LOG_ERROR } vg_log_level_t;
typedef enum { VG_LOG_FORMAT_AUTO = 0, VG_LOG_FORMAT_HUMAN, VG_LOG_FORMAT_JSON } vg_log_format_t;

typedef struct vg_logger {
    vg_log_level_t level; /* messages below this level are dropped */
    int json;             /* 1: one JSON object per line */
    int color;            /* 1: ANSI colours (human lines on a terminal) */
    FILE *out;            /* stderr unless a test says otherwise */
} vg_logger_t;

/* Initializes `lg` (caller-owned) to write to `out` at `level`. HUMAN and AUTO write human
 * lines (with colour when `out` is a terminal); JSON writes one JSON object per line. */
void vg_logger_init(vg_logger_t *lg, vg_log_level_t level, vg_log_format_t format, FILE *out);

/* Parses "debug", "info", "warn" or "error". Returns 0 and sets *out, or VG_EINVAL. */
int vg_log_level_parse(const char *s, vg_log_level_t *out);

/* Writes one line: time, level, module, message. Safe to call from any thread (one fputs per
 * line). `lg` may be NULL, which logs at INFO to stderr in human form. */
void vg_log(const vg_logger_t *lg, vg_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vg_logv(const vg_logger_t *lg, vg_log_level_t level, const char *module, const char *fmt,
             va_list ap);

/* Files define VG_LOG_MODULE ("http", "store"...) and call these with their logger. */
#define vg_debug(lg, ...) vg_log((lg), VG_LOG_DEBUG, VG_LOG_MODULE, __VA_ARGS__)
#define vg_info(lg, ...) vg_log((lg), VG_LOG_INFO, VG_LOG_MODULE, __VA_ARGS__)
#define vg_warn(lg, ...) vg_log((lg), VG_LOG_WARN, VG_LOG_MODULE, __VA_ARGS__)
#define vg_error(lg, ...) vg_log((lg), VG_LOG_ERROR, VG_LOG_MODULE, __VA_ARGS__)

#endif
