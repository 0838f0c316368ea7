/* fuzz_client_response.c: libFuzzer target for the CLI client's HTTP response parser, which
 * reads bytes from whatever answers at the gateway URL. The input picks the piece size and
 * the body limit, is fed in pieces, then the connection "closes"; the result must be
 * consistent with the limits whatever the bytes. */
#include "client/client.h"
#include "core/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t step = (size_t)(data[0] % 32) + 1;          /* piece size */
    size_t max_body = (size_t)(data[1] % 4) * 64 + 16; /* 16, 80, 144 or 208 bytes */
    data += 2;
    size -= 2;
    client_response_t r;
    client_response_init(&r);
    client_parser_t p;
    client_parser_init(&p, &r, max_body);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step) {
        size_t n = size - off < step ? size - off : step;
        rc = client_parser_feed(&p, (const char *)data + off, n);
    }
    if (rc == 0) rc = client_parser_eof(&p);
    if (rc == 1) {
        /* a complete response: a real status, a body within the limit, NUL-terminated,
         * headers that can all be looked up */
        if (r.status < 200 || r.status > 599 || r.body.len > max_body) abort();
        if (r.body.data && r.body.data[r.body.len] != '\0') abort();
        const char *h = r.headers.data;
        for (size_t i = 0; h && i < r.nheaders; i++) {
            const char *v = h + strlen(h) + 1;
            if (client_response_header(&r, h) == NULL) abort();
            h = v + strlen(v) + 1;
        }
    } else if (rc >= 0 || p.msg[0] == '\0') {
        abort(); /* an error always comes with a message */
    }
    client_response_close(&r);
    return 0;
}
