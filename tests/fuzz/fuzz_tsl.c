/* fuzz_tsl.c: libFuzzer target for the thing-model (TSL) parser and validator, which reads
 * the TSL files of bundles (operator input, and deployed over HTTPS later). */
#include "things/tsl.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* the parser takes a string; NULs inside simply end it */
    things__tsl_t *tsl = NULL;
    char err[512];
    if (things__tsl_parse("a1Fuzz", text, &tsl, err, sizeof err) == 0) things__tsl_free(tsl);
    free(text);
    return 0;
}
