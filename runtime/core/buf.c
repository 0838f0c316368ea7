/* buf.c: the growable buffer of buf.h (doubling growth, always NUL-terminated). */
#include "core/buf.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_buf_init(vg_buf_t *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void vg_buf_close(vg_buf_t *b)
{
    free(b->data);
    vg_buf_init(b);
}

int vg_buf_reserve(vg_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > (size_t)-1 / 2) return VG_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return VG_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int vg_buf_append(vg_buf_t *b, const void *p, size_t n)
{
    if (vg_buf_reserve(b, n)) return VG_ENOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int vg_buf_puts(vg_buf_t *b, const char *s)
{
    return vg_buf_append(b, s, strlen(s));
}

int vg_buf_printf(vg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return VG_EINVAL;
    if ((size_t)n < sizeof small) return vg_buf_append(b, small, (size_t)n);
    if (vg_buf_reserve(b, (size_t)n)) return VG_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void vg_buf_consume(vg_buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data) b->data[b->len] = '\0';
}

char *vg_buf_steal(vg_buf_t *b)
{
    char *p = b->data;
    vg_buf_init(b);
    return p;
}
