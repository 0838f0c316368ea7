/* json.h: how verge writes JSON. Reals get 15 significant digits, what a double holds
 * exactly as a decimal: 0.1 is written 0.1, not 0.10000000000000001, and a decimal a device
 * reported with up to 15 digits reads back as written. Strings on hot paths are quoted
 * without building a jansson tree. */
#ifndef VG_CORE_JSON_H
#define VG_CORE_JSON_H

#include "core/buf.h"

#include <jansson.h>
#include <stddef.h>

#define VG_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* Appends `n` bytes of `s` to `b` as a JSON string literal, quotes included: '"', '\\' and
 * control characters are escaped (\n \r \t \b \f, else \u00XX); other bytes are copied as
 * they are (the payloads verge carries are UTF-8 by contract; they are not re-validated).
 * Returns 0, or VG_ENOMEM with `b` unchanged. */
int vg_json_quote(vg_buf_t *b, const char *s, size_t n);

#endif
