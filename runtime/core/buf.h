/* buf.h: a growable byte buffer, the one way verge builds responses and messages.
 * The caller owns the vg_buf_t; vg_buf_init/vg_buf_close manage its heap storage. */
#ifndef VG_CORE_BUF_H
#define VG_CORE_BUF_H

#include <stddef.h>

typedef struct vg_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} vg_buf_t;

/* Initializes an empty buffer; allocates nothing. */
void vg_buf_init(vg_buf_t *b);
/* Frees the storage and leaves `b` empty and reusable. */
void vg_buf_close(vg_buf_t *b);
/* Ensures room for `extra` more bytes (plus a NUL). Returns 0 or VG_ENOMEM; on error `b` is
 * unchanged. */
int vg_buf_reserve(vg_buf_t *b, size_t extra);
/* Appends `n` bytes. Returns 0 or VG_ENOMEM (nothing appended). */
int vg_buf_append(vg_buf_t *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int vg_buf_puts(vg_buf_t *b, const char *s);
/* Appends printf-formatted text. Returns 0 or VG_ENOMEM. */
int vg_buf_printf(vg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first `n` bytes (all when n >= len). */
void vg_buf_consume(vg_buf_t *b, size_t n);
/* Hands the storage to the caller (free() it) and leaves `b` empty. May return NULL when
 * nothing was ever appended. */
char *vg_buf_steal(vg_buf_t *b);

#endif
