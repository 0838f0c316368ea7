/* fuzz_envelope.c: libFuzzer target for the OpenAPI request envelope parser alone. */
#include "handlers/api.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = NULL;
    char err[256];
    if (api_envelope_parse((const char *)data, size, &root, err, sizeof err) == 0)
        json_decref(root);
    return 0;
}
