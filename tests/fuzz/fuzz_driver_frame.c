/* fuzz_driver_frame.c: libFuzzer target for the runtime's driver-protocol parser: frames cut
 * from an arbitrary byte stream (in input-chosen pieces) and each validated as a message. */
#include "drvhost/frame.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_frame(void *arg, const char *frame, size_t len)
{
    (void)arg;
    drvhost_msg_t m;
    char err[256];
    if (drvhost_msg_parse(frame, len, &m, err, sizeof err) == 0) drvhost_msg_close(&m);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 32) + 1;
    drvhost_frame_reader_t r;
    drvhost_frame_reader_init(&r, 4096);
    char err[160];
    for (size_t off = 1; off < size; off += step) {
        size_t n = off + step < size ? step : size - off;
        if (drvhost_frame_feed(&r, (const char *)data + off, n, on_frame, NULL, err, sizeof err))
            break;
    }
    drvhost_frame_reader_close(&r);
    return 0;
}
