/* libarchive_int.h: libarchive, loaded on demand. The daemon deploys rarely, so archive.c
 * reaches libarchive through one table of function pointers filled by dlopen at the first pack
 * or unpack, instead of linking it (and what it pulls in) into every idle process. Types and
 * constants still come from <archive.h>. Not for use outside runtime/deploy. */
#ifndef VG_DEPLOY_LIBARCHIVE_INT_H
#define VG_DEPLOY_LIBARCHIVE_INT_H

#include <archive.h>
#include <archive_entry.h>

#include <stddef.h>

#define DEPLOY__LA_SONAME  "libarchive.so.13"
#define DEPLOY__LA_PACKAGE "libarchive13" /* the Debian package that ships it */

/* Every libarchive function archive.c calls, and nothing else. */
#define DEPLOY__LA_FUNCS(X)                                                                        \
    X(archive_errno)                                                                               \
    X(archive_error_string)                                                                        \
    X(archive_set_error)                                                                           \
    X(archive_filter_count)                                                                        \
    X(archive_filter_code)                                                                         \
    X(archive_read_new)                                                                            \
    X(archive_read_support_filter_gzip)                                                            \
    X(archive_read_support_format_tar)                                                             \
    X(archive_read_open_memory)                                                                    \
    X(archive_read_next_header)                                                                    \
    X(archive_read_data_block)                                                                     \
    X(archive_read_free)                                                                           \
    X(archive_write_new)                                                                           \
    X(archive_write_set_format_pax_restricted)                                                     \
    X(archive_write_add_filter_gzip)                                                               \
    X(archive_write_set_bytes_in_last_block)                                                       \
    X(archive_write_set_filter_option)                                                             \
    X(archive_write_open2)                                                                         \
    X(archive_write_header)                                                                        \
    X(archive_write_data)                                                                          \
    X(archive_write_close)                                                                         \
    X(archive_write_free)                                                                          \
    X(archive_entry_new)                                                                           \
    X(archive_entry_free)                                                                          \
    X(archive_entry_clear)                                                                         \
    X(archive_entry_pathname)                                                                      \
    X(archive_entry_pathname_utf8)                                                                 \
    X(archive_entry_hardlink)                                                                      \
    X(archive_entry_hardlink_utf8)                                                                 \
    X(archive_entry_hardlink_w)                                                                    \
    X(archive_entry_symlink)                                                                       \
    X(archive_entry_symlink_utf8)                                                                  \
    X(archive_entry_filetype)                                                                      \
    X(archive_entry_perm)                                                                          \
    X(archive_entry_size)                                                                          \
    X(archive_entry_set_pathname)                                                                  \
    X(archive_entry_set_filetype)                                                                  \
    X(archive_entry_set_perm)                                                                      \
    X(archive_entry_set_size)                                                                      \
    X(archive_entry_set_mtime)                                                                     \
    X(archive_entry_set_uid)                                                                       \
    X(archive_entry_set_gid)                                                                       \
    X(archive_entry_set_symlink)

/* One pointer per function, typed from the header's own prototype, under the same name. */
#define DEPLOY__LA_FIELD(fn) __typeof__(fn) *fn;
typedef struct deploy__la {
    DEPLOY__LA_FUNCS(DEPLOY__LA_FIELD)
} deploy__la_t;
#undef DEPLOY__LA_FIELD

/* Returns the table of libarchive functions, loading DEPLOY__LA_SONAME with
 * dlopen(RTLD_NOW | RTLD_LOCAL) and resolving every function of DEPLOY__LA_FUNCS on the first
 * call of the process (pthread_once: safe from the loop and the thread pool at once). The
 * library then stays loaded until the process exits; later calls cost one pthread_once.
 * When the library is missing, or lacks one of the functions (the handle is then closed
 * again), returns NULL and writes to `err` (errlen bytes, always terminated when errlen > 0)
 * a message naming DEPLOY__LA_SONAME, the loader's reason and the Debian package to install;
 * the caller returns VG_EIO. A failed load is remembered: every later call fails the same way
 * until the process is restarted. */
const deploy__la_t *deploy__la_get(char *err, size_t errlen);

#endif
