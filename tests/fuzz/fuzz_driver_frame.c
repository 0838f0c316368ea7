/* fuzz_driver_frame.c: libFuzzer target for the runtime's driver-protocol parser: frames cut
 * from an arbitrary byte stream (in input-chosen pieces) and each validated as a message. Each
 * frame is also parsed by drvhost's fast JSON parser and by jansson: whatever the fast parser
 * accepts, jansson must accept as the same tree, keys in the same order (their dumps match),
 * and drvhost_json_find must give the text of the same member. */
#include "drvhost/frame.h"
#include "drvhost/json.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when the two parsers disagree on `frame`. */
static void differential(const char *frame, size_t len)
{
    json_t *fast = drvhost__json_fast(frame, len);
    if (!fast) return; /* left to jansson: nothing to compare */
    json_t *ref = json_loadb(frame, len, JSON_REJECT_DUPLICATES, NULL);
    if (!ref) abort(); /* the fast parser took what jansson refuses */
    char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!a || !b || strcmp(a, b) != 0 || !json_equal(fast, ref)) abort();
    free(a);
    free(b);
    static const char *const keys[] = {"params", NULL};
    const char *val;
    size_t vlen;
    json_t *want = json_is_object(ref) ? json_object_get(ref, "params") : NULL;
    if (drvhost_json_find(frame, len, keys, &val, &vlen)) {
        json_t *got = json_loadb(val, vlen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        if (!got || !want || !json_equal(got, want)) abort();
        json_decref(got);
    }
    json_decref(fast);
    json_decref(ref);
}

static int on_frame(void *arg, const char *frame, size_t len)
{
    (void)arg;
    differential(frame, len);
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
