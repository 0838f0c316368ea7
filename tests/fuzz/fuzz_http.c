/* fuzz_http.c: libFuzzer target for the HTTP request path: the incremental parser with its
 * limits (bytes fed in pieces whose size the input chooses, pipelined requests taken one at
 * a time) and the OpenAPI envelope parser applied to every body. */
#include "handlers/api.h"
#include "http/parser.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 16) + 1; /* piece size chosen by the input */
    data++;
    size--;
    http_parser_limits_t lim = {1024, 16, 4096};
    http_parser_t p;
    http_parser_init(&p, &lim);
    size_t off = 0, pending_from = 0;
    while (off < size) {
        size_t end = off + step < size ? off + step : size;
        size_t used = 0;
        /* Feed from the first byte not yet consumed up to `end`. */
        http_parse_result_t r =
            http_parser_feed(&p, (const char *)data + pending_from, end - pending_from, &used);
        pending_from += used;
        if (r == HTTP_PARSE_ERROR) break;
        if (r == HTTP_PARSE_REQUEST) {
            http_parsed_t req;
            http_parser_take(&p, &req);
            json_t *root = NULL;
            char err[256];
            if (api_envelope_parse(req.body.data ? req.body.data : "", req.body.len, &root, err,
                                   sizeof err) == 0)
                json_decref(root);
            http_parsed_close(&req);
            if (!req.keep_alive) break;
            http_parser_next(&p);
            continue; /* re-feed what followed this request */
        }
        off = end;
    }
    http_parser_close(&p);
    return 0;
}
