/* log.h: verge's source-compatible version of the Link IoT Edge C SDK logger.
 * Same enums, prototypes, colour macros and log_d/i/w/e/f/m macros as the original, token for
 * token. Lines go to stdout as "<colour>LEVEL <tag> file-func:line message<reset>".
 * The macros use the GNU named-variadic form `args...` / `##args`, as the original does: gcc
 * and clang accept it in every -std mode (gnu* and c*); `-pedantic` warns about it. Drivers are
 * built with the compiler's default (GNU) dialect, as the original demos are. */
#ifndef __LOG_H__
#define __LOG_H__

#ifdef __cplusplus
extern "C" {
#endif

/* Where log lines go. verge, like the original, writes to stdout whatever is chosen. */
typedef enum { LOG_STDOUT = 0, LOG_FILE, LOG_DB, LOG_FILE_DB } LOG_STORE_TYPE;

/* Severity, lowest first. A line is printed when its level is >= the threshold. */
typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERR,
    LOG_LEVEL_FATAL,
    LOG_LEVEL_MILESTONE
} LOG_LEVEL;

/* Line layout. Accepted and ignored, as in the original. */
typedef enum { LOG_MOD_BRIEF_MIN = 0, LOG_MOD_BRIEF, LOG_MOD_VERBOSE } LOG_MODE;

/* Sets the threshold to `lvl` (a level outside DEBUG..FATAL selects ERR) and makes stdout
 * line-buffered. `name`, `type` and `mode` are ignored. Returns 0. */
int log_init(const char *name, LOG_STORE_TYPE type, LOG_LEVEL lvl, LOG_MODE mode);

/* Sets the threshold (a level outside DEBUG..FATAL selects ERR) and prints a line saying so.
 * Before any call the threshold is ERR. */
void log_set_level(LOG_LEVEL level);

/* Prints one line if `lvl` >= the threshold: `color` (may be NULL: no colour codes), the
 * level name, "<tag>", the base name of `file`, "-", `func`, ":", `line`, a space, the
 * printf-formatted message, then COL_DEF. The caller ends the message with "\n". A line is
 * at most 1024 bytes; a longer message is cut and ends with "...\n". Thread-safe: each line is
 * written with one stdio call. */
void log_print(unsigned char lvl, const char *color, const char *tag, const char *file,
               const char *func, unsigned int line, const char *format, ...);

/* Releases the logger; nothing to do, kept for source compatibility. */
void log_destroy(void);

#define COL_DEF "\x1B[0m" /* reset */
#define COL_RED "\x1B[31m"
#define COL_GRE "\x1B[32m"
#define COL_BLU "\x1B[34m"
#define COL_YEL "\x1B[33m"
#define COL_WHE "\x1B[37m"
#define COL_CYN "\x1B[36m"
#define COL_MAG "\x1B[35m"

/* log_x(tag, fmt, ...): one macro per level, recording the caller's file, function and line.
 * Kept token-for-token (spacing included) as in the original, so that a driver's identical
 * redefinition is accepted. */
/* clang-format off */
#define log_d(tag, fmt,args...) \
    log_print(LOG_LEVEL_DEBUG,COL_WHE,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_i(tag, fmt,args...) \
    log_print(LOG_LEVEL_INFO,COL_GRE,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_w(tag, fmt,args...) \
    log_print(LOG_LEVEL_WARN,COL_CYN,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_e(tag,fmt,args...) \
    log_print(LOG_LEVEL_ERR,COL_YEL,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_f(tag,fmt,args...) \
    log_print(LOG_LEVEL_FATAL,COL_RED,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_m(tag,fmt,args...) \
    log_print(LOG_LEVEL_MILESTONE,COL_BLU,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
/* clang-format on */

#ifdef __cplusplus
}
#endif

#endif /* __LOG_H__ */
