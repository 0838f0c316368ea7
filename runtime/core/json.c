/* json.c: the JSON string quoting of json.h, one pass over the input with a table of the
 * bytes that need an escape. */
#include "core/json.h"
#include "core/error.h"

#include <string.h>

/* 0: copied as is; 'u': \u00XX; other: the letter after the backslash. */
static const char json__esc[256] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['"'] = '"',
    ['\\'] = '\\', [0] = 'u', [1] = 'u', [2] = 'u', [3] = 'u', [4] = 'u', [5] = 'u', [6] = 'u',
    [7] = 'u', [11] = 'u', [14] = 'u', [15] = 'u', [16] = 'u', [17] = 'u', [18] = 'u',
    [19] = 'u', [20] = 'u', [21] = 'u', [22] = 'u', [23] = 'u', [24] = 'u', [25] = 'u',
    [26] = 'u', [27] = 'u', [28] = 'u', [29] = 'u', [30] = 'u', [31] = 'u',
};

int vg_json_quote(vg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (vg_buf_reserve(b, n + 2)) return VG_ENOMEM;
    size_t mark = b->len;
    vg_buf_append(b, "\"", 1); /* reserved above: cannot fail */
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = json__esc[c];
        if (!e) continue;
        char out[6] = {'\\', e, 0, 0, 0, 0};
        size_t k = 2;
        if (e == 'u') {
            memcpy(out + 1, "u00", 3);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 15];
            k = 6;
        }
        if (vg_buf_append(b, s + run, i - run) || vg_buf_append(b, out, k)) {
            b->len = mark;
            b->data[mark] = '\0';
            return VG_ENOMEM;
        }
        run = i + 1;
    }
    if (vg_buf_append(b, s + run, n - run) || vg_buf_append(b, "\"", 1)) {
        b->len = mark;
        b->data[mark] = '\0';
        return VG_ENOMEM;
    }
    return 0;
}
