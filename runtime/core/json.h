/* json.h: how verge writes JSON. Reals get 15 significant digits, what a double holds
 * exactly as a decimal: 0.1 is written 0.1, not 0.10000000000000001, and a decimal a device
 * reported with up to 15 digits reads back as written. */
#ifndef VG_CORE_JSON_H
#define VG_CORE_JSON_H

#include <jansson.h>

#define VG_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

#endif
