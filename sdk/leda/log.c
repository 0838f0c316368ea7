/* log.c: the driver-side logger of libleda_sdk_c (log.h), behaving like the original SDK's:
 * stdout only, one process-wide threshold (ERR until set), one line of at most 1024 bytes per
 * call, written with a single stdio call so lines from different threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define LEDA__LOG_LINE_MAX 1024 /* bytes per line, colour codes included */
#define LEDA__LOG_CUT      "...\n"

/* The threshold is the one piece of process-wide state the API forces on us (log_set_level
 * has no handle); atomic so any thread may log while another changes it. */
static atomic_int leda__log_threshold = LOG_LEVEL_ERR;

/* Level names, indexed by LOG_LEVEL; MILESTONE has its own (the original read past the end). */
static const char *const leda__log_names[] = {"DEBUG", "INFO",  "WARNING",
                                              "ERROR", "FATAL", "MILESTONE"};

/* The threshold to use for a requested level: DEBUG..FATAL as given, anything else ERR. */
static int leda__log_clamp(int lvl)
{
    return (lvl < LOG_LEVEL_DEBUG || lvl > LOG_LEVEL_FATAL) ? LOG_LEVEL_ERR : lvl;
}

int log_init(const char *name, LOG_STORE_TYPE type, LOG_LEVEL lvl, LOG_MODE mode)
{
    (void)name;
    (void)type;
    (void)mode;
    atomic_store(&leda__log_threshold, leda__log_clamp((int)lvl));
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0) printf("setbuf error: %s\n", strerror(errno));
    return 0;
}

void log_set_level(LOG_LEVEL level)
{
    atomic_store(&leda__log_threshold, leda__log_clamp((int)level));
    printf("set log level :  %d\n", (int)level);
}

void log_print(unsigned char lvl, const char *color, const char *tag, const char *file,
               const char *func, unsigned int line, const char *format, ...)
{
    if ((int)lvl < atomic_load_explicit(&leda__log_threshold, memory_order_relaxed)) return;

    const char *name =
        lvl < sizeof leda__log_names / sizeof leda__log_names[0] ? leda__log_names[lvl] : "UNKNOWN";
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : (file ? file : "");
    size_t reset = color ? strlen(COL_DEF) : 0;
    /* prefix + message fit in `cap` bytes, leaving room for "...\n" and the reset code */
    size_t cap = LEDA__LOG_LINE_MAX - reset - strlen(LEDA__LOG_CUT);
    char buf[LEDA__LOG_LINE_MAX + 1];
    int cut = 0;

    int n = snprintf(buf, cap + 1, "%s%s <%s> %s-%s:%u ", color ? color : "", name, tag ? tag : "",
                     base, func ? func : "", line);
    size_t pos = n < 0 ? 0 : (size_t)n;
    if (pos > cap) {
        pos = cap;
        cut = 1;
    } else if (format) {
        va_list ap;
        va_start(ap, format);
        int m = vsnprintf(buf + pos, cap - pos + 1, format, ap);
        va_end(ap);
        if (m > 0 && (size_t)m > cap - pos) {
            pos = cap;
            cut = 1;
        } else if (m > 0) {
            pos += (size_t)m;
        }
    }
    if (cut) {
        memcpy(buf + pos, LEDA__LOG_CUT, strlen(LEDA__LOG_CUT));
        pos += strlen(LEDA__LOG_CUT);
    }
    if (color) {
        memcpy(buf + pos, COL_DEF, reset);
        pos += reset;
    }
    fwrite(buf, 1, pos, stdout);
}

void log_destroy(void) {}
