/* fuzz_archive.c: libFuzzer target for bundle archive extraction (the uploaded .tar.gz of a
 * deployment): each input is extracted with small limits into a fresh directory under /tmp,
 * which is removed again. Aborts when the contract breaks: a refusal without a problem line,
 * a staging directory left after a refusal, or anything written beside it. */
#include "deploy/archive.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char base[] = "/tmp/vg-fuzz-archive-XXXXXX";
    if (!mkdtemp(base)) abort();
    char dir[sizeof base + 8];
    snprintf(dir, sizeof dir, "%s/stage", base);
    const deploy_archive_limits_t lim = {.max_unpacked_bytes = 256 * 1024, .max_files = 64};
    deploy_archive_stats_t st;
    vg_buf_t problems;
    vg_buf_init(&problems);
    int rc = deploy_archive_extract(data, size, dir, &lim, &st, &problems);
    struct stat sb;
    int there = lstat(dir, &sb) == 0;
    if (rc == 0) {
        if (problems.len != 0 || !there || !S_ISDIR(sb.st_mode)) abort();
        if (st.files > lim.max_files || st.unpacked_bytes > lim.max_unpacked_bytes) abort();
        if (deploy_archive_rmtree(dir) != 0) abort();
    } else if (there || problems.len == 0 || problems.data[problems.len - 1] != '\n') {
        abort();
    }
    if (rmdir(base) != 0) abort(); /* not empty: something was written outside `dir` */
    vg_buf_close(&problems);
    return 0;
}
