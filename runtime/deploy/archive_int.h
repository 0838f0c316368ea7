/* archive_int.h: what archive.c shares with sign.c inside vg_deploy_io: the rules a bundle
 * path and a link target must follow, and the sorted walk of a bundle directory that both
 * packing and signing see the same way. Not for use outside runtime/deploy. */
#ifndef VG_DEPLOY_ARCHIVE_INT_H
#define VG_DEPLOY_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#define DEPLOY__PATH_MAX 1024 /* bytes of a path relative to the bundle, or of a link target */
#define DEPLOY__NAME_MAX 255  /* bytes of one path component */

/* One entry of a bundle directory, as packing and signing see it. */
typedef struct deploy__node {
    char *path;    /* relative to the bundle, '/' separators, no "." or ".." */
    char type;     /* 'f' regular file, 'd' directory, 'l' symbolic link */
    unsigned mode; /* as extraction writes it: 0644 or 0755 (f), 0755 (d), 0777 (l) */
    uint64_t size; /* bytes of a regular file; 0 otherwise */
    char *target;  /* a link's target; NULL otherwise */
} deploy__node_t;

typedef struct deploy__tree {
    deploy__node_t *v;
    size_t n, cap;
} deploy__tree_t;

/* Walks directory `dir` without following links into t->v (t zero-initialised by the caller),
 * sorted by path bytewise, `dir` itself left out. Every name must pass deploy__check_name and
 * every link target deploy__check_target; other kinds of file (FIFO, socket, device) are
 * refused. Returns 0, or VG_EINVAL / VG_EIO / VG_ENOMEM with a message naming the path in
 * `err`. Call deploy__tree_free in both cases. */
int deploy__tree_scan(const char *dir, deploy__tree_t *t, char *err, size_t errlen);

/* Frees what deploy__tree_scan stored and leaves `t` empty. */
void deploy__tree_free(deploy__tree_t *t);

/* Checks one path component of `n` bytes (no '/' in it). Returns NULL when it may be part of
 * a bundle path, else a static reason ("control character in the name"...). */
const char *deploy__check_name(const char *name, size_t n);

/* Checks that `target`, the target of a link at relative path `path` (already checked), is
 * relative and, resolved against the link's directory, stays inside the bundle: any ".."
 * must lead the target (so that they climb through real directories, never through another
 * link) and may not climb above the root. Returns NULL, or a static reason. */
const char *deploy__check_target(const char *path, const char *target);

#endif
