/* test_log.c: the driver logger (log.h) against the original's behaviour: default threshold
 * ERR, out-of-range levels, the exact line format and colours, MILESTONE's name, truncation at
 * 1024 bytes with "...\n", and whole lines under concurrent logging. stdout is captured by
 * pointing file descriptor 1 at a temporary file. */
#include "log.h"
#include "vg_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "tst"

static char captured[1 << 20];
static int line_no; /* __LINE__ of the last log call, for the expected text */

/* Runs fn() with stdout going to a temporary file; returns everything it printed. */
static const char *capture(void (*fn)(void))
{
    fflush(stdout);
    int saved = dup(1);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp || dup2(fileno(tmp), 1) < 0) {
        captured[0] = '\0';
        return captured;
    }
    fn();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return captured;
}

/* The expected line for a macro call from function `func` at line_no. */
static const char *expect(const char *color, const char *level, const char *func, const char *msg)
{
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s <%s> test_log.c-%s:%d %s%s", color, level, TAG, func, line_no,
             msg, COL_DEF);
    return buf;
}

static void log_all_levels(void)
{
    log_d(TAG, "d\n");
    log_i(TAG, "i\n");
    log_w(TAG, "w\n");
    log_e(TAG, "e\n");
    log_f(TAG, "f\n");
    log_m(TAG, "m\n");
}

/* Must run first: before log_init/log_set_level the threshold is ERR. */
static void test_default_threshold(void)
{
    const char *out = capture(log_all_levels);
    CHECK(strstr(out, "DEBUG") == NULL);
    CHECK(strstr(out, "INFO") == NULL);
    CHECK(strstr(out, "WARNING") == NULL);
    CHECK(strstr(out, COL_YEL "ERROR <" TAG "> test_log.c-log_all_levels:") != NULL);
    CHECK(strstr(out, COL_RED "FATAL <" TAG ">") != NULL);
    CHECK(strstr(out, COL_BLU "MILESTONE <" TAG ">") != NULL);
}

static void debug_line(void)
{
    log_init("demo", LOG_STDOUT, LOG_LEVEL_DEBUG, LOG_MOD_BRIEF);
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_d(TAG, "hello %d %s\n", 42, "x");
}

static void test_format(void)
{
    CHECK_EQ_STR(capture(debug_line), expect(COL_WHE, "DEBUG", "debug_line", "hello 42 x\n"));
}

static void info_line(void)
{
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_i(TAG, "no args\n");
}
static void warn_line(void)
{
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_w(TAG, "w %s\n", "1");
}
static void err_line(void)
{
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_e(TAG, "e\n");
}
static void fatal_line(void)
{
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_f(TAG, "f\n");
}
static void milestone_line(void)
{
    line_no = __LINE__ + 1; /* the log call is on the next line */
    log_m(TAG, "m\n");
}

static void set_debug(void)
{
    log_set_level(LOG_LEVEL_DEBUG);
}

static void test_levels_and_colours(void)
{
    CHECK_EQ_STR(capture(set_debug), "set log level :  0\n");
    CHECK_EQ_STR(capture(info_line), expect(COL_GRE, "INFO", "info_line", "no args\n"));
    CHECK_EQ_STR(capture(warn_line), expect(COL_CYN, "WARNING", "warn_line", "w 1\n"));
    CHECK_EQ_STR(capture(err_line), expect(COL_YEL, "ERROR", "err_line", "e\n"));
    CHECK_EQ_STR(capture(fatal_line), expect(COL_RED, "FATAL", "fatal_line", "f\n"));
    CHECK_EQ_STR(capture(milestone_line), expect(COL_BLU, "MILESTONE", "milestone_line", "m\n"));
}

static void set_warn(void)
{
    log_set_level(LOG_LEVEL_WARN);
    log_all_levels();
}
static void set_out_of_range(void)
{
    log_set_level((LOG_LEVEL)99);
    log_all_levels();
}
static void init_milestone(void)
{
    log_init("x", LOG_FILE, LOG_LEVEL_MILESTONE, LOG_MOD_VERBOSE); /* above FATAL: ERR */
    log_all_levels();
}
static void init_negative(void)
{
    log_init("x", LOG_STDOUT, (LOG_LEVEL)-1, LOG_MOD_BRIEF);
    log_all_levels();
}

static void test_threshold(void)
{
    const char *out = capture(set_warn);
    CHECK(strncmp(out, "set log level :  2\n", 19) == 0);
    CHECK(strstr(out, "INFO") == NULL);
    CHECK(strstr(out, "WARNING") != NULL);
    CHECK(strstr(out, "ERROR") != NULL);

    out = capture(set_out_of_range);
    CHECK(strncmp(out, "set log level :  99\n", 20) == 0);
    CHECK(strstr(out, "WARNING") == NULL);
    CHECK(strstr(out, "ERROR") != NULL);

    out = capture(init_milestone);
    CHECK(strstr(out, "WARNING") == NULL);
    CHECK(strstr(out, "ERROR") != NULL);
    CHECK(strstr(out, "MILESTONE") != NULL);

    out = capture(init_negative);
    CHECK(strstr(out, "WARNING") == NULL);
    CHECK(strstr(out, "ERROR") != NULL);
}

static void raw_lines(void)
{
    log_set_level(LOG_LEVEL_DEBUG);
    log_print(LOG_LEVEL_INFO, NULL, "t", "/a/b/c.c", "fn", 7, "plain %s\n", "x");
    log_print(LOG_LEVEL_INFO, NULL, NULL, NULL, NULL, 8, "nulls\n");
    log_print(200, NULL, "t", "f.c", "fn", 9, "odd level\n");
}

static void test_raw_print(void)
{
    CHECK_EQ_STR(capture(raw_lines), "set log level :  0\n"
                                     "INFO <t> c.c-fn:7 plain x\n"
                                     "INFO <> -:8 nulls\n"
                                     "UNKNOWN <t> f.c-fn:9 odd level\n");
}

static char long_msg[5000];
static size_t fill_len;

static void long_coloured(void)
{
    log_print(LOG_LEVEL_ERR, COL_YEL, "t", "f.c", "fn", 1, "%s", long_msg);
}
static void long_plain(void)
{
    log_print(LOG_LEVEL_ERR, NULL, "t", "f.c", "fn", 1, "%s", long_msg);
}
static void fill_exact(void)
{
    log_print(LOG_LEVEL_ERR, NULL, "t", "f.c", "fn", 1, "%.*s", (int)fill_len, long_msg);
}

static void test_truncation(void)
{
    memset(long_msg, 'x', sizeof long_msg - 1);
    const char *out = capture(long_coloured);
    size_t n = strlen(out);
    CHECK_EQ_INT(n, 1024);
    CHECK(strncmp(out, COL_YEL "ERROR <t> f.c-fn:1 xxx", 22) == 0);
    CHECK(n >= 8 && strcmp(out + n - 8, "...\n" COL_DEF) == 0);

    out = capture(long_plain);
    n = strlen(out);
    CHECK_EQ_INT(n, 1024);
    CHECK(n >= 5 && strcmp(out + n - 5, "x...\n") == 0);

    /* the longest message that is not cut, and one byte more */
    size_t prefix = strlen("ERROR <t> f.c-fn:1 ");
    fill_len = 1024 - 4 - prefix;
    out = capture(fill_exact);
    CHECK_EQ_INT(strlen(out), 1020);
    CHECK(strstr(out, "...") == NULL);
    fill_len++;
    out = capture(fill_exact);
    CHECK_EQ_INT(strlen(out), 1024);
    CHECK(strstr(out, "...\n") != NULL);
}

#define THREADS 4
#define LINES   300

static void *log_worker(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < LINES; i++)
        log_print(LOG_LEVEL_ERR, NULL, "mt", "f.c", "fn", 1, "thread %d line %d %.*s|\n", id, i,
                  400, long_msg);
    return NULL;
}

static void many_threads(void)
{
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, log_worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
}

static void test_threads_whole_lines(void)
{
    static int seen[THREADS][LINES];
    memset(seen, 0, sizeof seen);
    const char *out = capture(many_threads);
    int lines = 0, bad = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        int id = -1, i = -1, end = 0;
        if (!nl) break;
        if (sscanf(p, "ERROR <mt> f.c-fn:1 thread %d line %d %*[x]|%n", &id, &i, &end) == 2 &&
            p + end == nl && id >= 0 && id < THREADS && i >= 0 && i < LINES)
            seen[id][i]++;
        else
            bad++;
        lines++;
        p = nl + 1;
    }
    CHECK_EQ_INT(lines, THREADS * LINES);
    CHECK_EQ_INT(bad, 0);
    int missing = 0;
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < LINES; i++)
            missing += seen[t][i] != 1;
    CHECK_EQ_INT(missing, 0);
}

static void test_destroy(void)
{
    log_destroy(); /* a no-op that must exist */
    CHECK(1);
}

VG_TEST_MAIN(VG_TEST(test_default_threshold) VG_TEST(test_format) VG_TEST(test_levels_and_colours)
                 VG_TEST(test_threshold) VG_TEST(test_raw_print) VG_TEST(test_truncation)
                     VG_TEST(test_threads_whole_lines) VG_TEST(test_destroy))
