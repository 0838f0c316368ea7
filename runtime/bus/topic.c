/* topic.c: the MQTT rules for topics and filters: what is valid, and whether a filter matches a
 * topic (the reference the trie must agree with). Levels are the bytes between '/'; they may be
 * empty ("/a", "a//b", "a/"). */
#include "bus/bus_int.h"

#include <string.h>

int bus_filter_valid(const char *filter, const char **why)
{
    const char *reason = NULL;
    size_t i = 0;
    if (!filter || !filter[0]) reason = "the filter is empty";
    for (; !reason && filter[i]; i++) {
        char c = filter[i];
        int starts = i == 0 || filter[i - 1] == '/';
        int ends = filter[i + 1] == '\0' || filter[i + 1] == '/';
        if (i >= BUS__LEN_MAX)
            reason = "the filter is longer than 65535 bytes";
        else if (c == '+' && !(starts && ends))
            reason = "'+' must be a whole level";
        else if (c == '#' && !(starts && ends))
            reason = "'#' must be a whole level";
        else if (c == '#' && filter[i + 1] != '\0')
            reason = "'#' must be the last level";
    }
    if (reason && why) *why = reason;
    return reason == NULL;
}

int bus_topic_valid(const char *topic)
{
    if (!topic || !topic[0]) return 0;
    size_t i = 0;
    for (; topic[i]; i++)
        if (topic[i] == '+' || topic[i] == '#' || i >= BUS__LEN_MAX) return 0;
    return 1;
}

int bus_match(const char *f, const char *t)
{
    /* Wildcards at the first level do not match topics of the server ("$SYS/..."). */
    if ((f[0] == '+' || f[0] == '#') && t[0] == '$') return 0;
    for (;;) { /* f and t are at the start of a level */
        if (f[0] == '#') return 1;
        if (f[0] == '+') {
            f++;
            while (*t && *t != '/')
                t++;
        } else {
            for (; *f && *f != '/'; f++, t++)
                if (*f != *t) return 0;
            if (*t && *t != '/') return 0;
        }
        if (!*f) return !*t;
        if (!*t) return strcmp(f, "/#") == 0; /* "a/#" matches "a" too */
        f++;
        t++;
    }
}
