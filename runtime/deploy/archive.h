/* archive.h: bundle archives (gzip'd tar, through libarchive, which is loaded with dlopen at the
 * first pack or unpack so that an idle gateway does not map it and what it pulls in; when
 * libarchive.so.13 cannot be loaded, both calls fail with VG_EIO and a message naming it and
 * the Debian package libarchive13). The gateway unpacks what it is
 * sent with limits and refuses entries that could write outside the staging directory; the
 * CLI packs a bundle directory the same way every time (sorted paths, no owners, fixed mode
 * bits), so that the same directory gives the same archive. Blocking file I/O: thread pool. */
#ifndef VG_DEPLOY_ARCHIVE_H
#define VG_DEPLOY_ARCHIVE_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct deploy_archive_limits {
    uint64_t max_unpacked_bytes; /* sum of the regular files' sizes */
    uint64_t max_files;          /* entries of every kind */
} deploy_archive_limits_t;

/* What deploy_archive_extract found, for the deployment's status. */
typedef struct deploy_archive_stats {
    uint64_t files;          /* entries written */
    uint64_t unpacked_bytes; /* bytes of regular files written */
} deploy_archive_stats_t;

/* Unpacks the gzip'd tar `data` (len bytes) into `dir`, which must not exist (it is created
 * with mode 0700; when it exists it is left alone and VG_EIO returned). Accepted entries:
 * directories (mode 0755), regular files (mode reduced to 0644, or 0755 when any execute bit
 * is set; no setuid/setgid/sticky) and symbolic links whose target is relative and stays
 * inside the bundle (any ".." only at the target's start, never climbing above the root, so
 * that it never climbs through another link). Names are normalised ("./a//b/" is "a/b"; "."
 * itself is the root). Nothing is written through a link: every directory is opened with
 * O_NOFOLLOW, every file created with O_EXCL. Files and directories are fsync'd before
 * success. `lim` is required. Refused, each with its own line in `problems`
 * ("archive: ENTRY: REASON\n"), while the scan goes on so that one run reports them all:
 * absolute paths, ".." components, empty or over-long names, control characters, hard links,
 * devices, FIFOs, sockets, links pointing outside, an entry under a link, duplicates, more than
 * lim->max_files entries or lim->max_unpacked_bytes in all. A stream that is not a gzip'd tar,
 * or is truncated or corrupt, is one problem "archive: not a valid .tar.gz (REASON)". Returns
 * 0 with the counts in *stats (may be NULL); VG_EINVAL when anything was refused (then `dir`
 * is removed again); VG_EIO (`problems` names the path and errno text); VG_ENOMEM. */
int deploy_archive_extract(const void *data, size_t len, const char *dir,
                           const deploy_archive_limits_t *lim, deploy_archive_stats_t *stats,
                           vg_buf_t *problems);

/* Packs directory `dir` (a bundle) into a gzip'd tar appended to `out`: every directory,
 * regular file and symbolic link under it, paths relative to `dir` in byte order, owner 0,
 * mtime 0, modes as deploy_archive_extract would write them, no gzip timestamp. Other kinds
 * of file, and names or link targets that deploy_archive_extract would refuse, are an error
 * (VG_EINVAL). Calls `progress(arg, bytes_so_far)` now and then when not NULL (bytes of file
 * data read). Returns 0, or VG_EIO / VG_EINVAL / VG_ENOMEM with a message naming the path in
 * `err`; on error nothing is appended to `out`. */
int deploy_archive_pack(const char *dir, vg_buf_t *out, void (*progress)(void *arg, uint64_t n),
                        void *arg, char *err, size_t errlen);

/* Removes directory `dir` and everything under it (links are removed, not followed).
 * Returns 0 (also when `dir` does not exist) or VG_EIO. */
int deploy_archive_rmtree(const char *dir);

#endif
