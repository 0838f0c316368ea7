/* convert.h: the data conversions of libleda_sdk_c (internal, prefix leda__).
 * leda_device_data_t arrays <-> the JSON the runtime exchanges, the TSL type table used for
 * incoming values, and the call-reply builders, following the original SDK's rules
 * (SDK-FACTS §3.1, §3.3). Pure functions on jansson: no I/O, no globals, thread-safe. */
#ifndef LEDA_CONVERT_H
#define LEDA_CONVERT_H

#include "leda.h"

#include <jansson.h>

/* How the SDK writes JSON: compact, reals with 15 significant digits (what a double holds
 * exactly as decimal), so 0.1 is written 0.1 and not 0.10000000000000001. */
#define LEDA__JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
#include <stdint.h>

/* ---- outgoing: driver -> runtime ------------------------------------------------------ */

/* Converts `n` entries to a JSON object keyed by `key`: TEXT and DATE as strings, FLOAT via
 * strtof, DOUBLE via strtod (a non-finite result becomes null), INT, BOOL and ENUM via atoi
 * (out-of-range text clamps to INT_MIN/INT_MAX), STRUCT and ARRAY parsed as JSON text.
 * A later entry with the same key replaces an earlier one.
 * Returns a new reference (n == 0 gives {}), or NULL if d is NULL with n > 0, n < 0, any
 * entry has another type (e.g. LEDA_TYPE_BUTT), a key or value is not NUL-terminated within
 * its buffer, a TEXT/DATE value is not UTF-8, a STRUCT/ARRAY value is not valid JSON, or
 * memory ran out. */
json_t *leda__data_to_json(const leda_device_data_t *d, int n);

/* Builds a property report {"<key>":{"value":<v>,"time":time_ms},...} from `n` (> 0) entries
 * converted as leda__data_to_json() does. Returns a new reference, or NULL when d is NULL,
 * n <= 0 (the API rejects an empty report) or the conversion fails. */
json_t *leda__report_properties_json(const leda_device_data_t *d, int n, int64_t time_ms);

/* Builds an event report {"params":{"value":{...},"time":time_ms}}. NULL `d` or n <= 0 gives
 * "value":{}. Returns a new reference, or NULL when the conversion fails. */
json_t *leda__report_event_json(const leda_device_data_t *d, int n, int64_t time_ms);

/* A growable byte buffer a frame is written into. Start it zeroed; free(data) when done. */
typedef struct leda__bytes {
    unsigned char *data;
    size_t len, cap;
} leda__bytes_t;

/* Largest entry count leda__report_properties_frame() takes. */
#define LEDA__FRAME_FAST_MAX 32

/* Writes the whole frame of a property report into `out` (emptied first): the 4-byte length
 * and the body {"type":"signal","method":"properties","params":{"deviceCloudId":cloud_id,
 * "body":<leda__report_properties_json(d, n, time_ms)>}}, byte for byte what json_dumps with
 * LEDA__JSON_FLAGS writes for that tree, without building it. Takes the common case only:
 * 1..LEDA__FRAME_FAST_MAX entries of the scalar types (not STRUCT/ARRAY), keys, text values
 * and cloud_id of ASCII bytes (no UTF-8 to validate), no key twice, a body within the frame
 * limit. Returns 1 (written), 0 when the case is not taken (out->len is 0: build the tree;
 * it gives the same bytes, or the error) or -1 (out of memory). */
int leda__report_properties_frame(leda__bytes_t *out, const char *cloud_id,
                                  const leda_device_data_t *d, int n, int64_t time_ms);

/* ---- the TSL type table ------------------------------------------------------------------ */

/* The types of service input arguments of one product, extracted once from its TSL:
 * services[].identifier x services[].inputData[].identifier -> dataType.type. Immutable after
 * creation, so it can be shared by threads. */
typedef struct leda__tsl leda__tsl_t;

/* Parses TSL text (NULL is taken as "no TSL") and keeps only the argument types. Malformed
 * JSON, a missing "services" array or malformed entries give a table with fewer (or no)
 * entries, whose lookups answer LEDA_TYPE_BUTT, as the original does. If `error` is not NULL
 * it receives jansson's parse error, and error->text is "" when the text parsed (or was NULL).
 * Returns the table (free it with leda__tsl_destroy), or NULL when memory ran out. */
leda__tsl_t *leda__tsl_create(const char *tsl_json, json_error_t *error);

/* Frees a table; NULL is ignored. */
void leda__tsl_destroy(leda__tsl_t *tsl);

/* Number of (service, argument) entries in the table; 0 for NULL. */
int leda__tsl_count(const leda__tsl_t *tsl);

/* Returns the type of argument `key` of service `service`: the first matching entry's
 * "int", "bool", "float", "date", "enum", "double" or "text" mapped to LEDA_TYPE_*, and
 * LEDA_TYPE_BUTT for any other type string, no match, or a NULL argument. */
leda_data_type_e leda__tsl_arg_type(const leda__tsl_t *tsl, const char *service, const char *key);

/* ---- incoming: runtime -> driver --------------------------------------------------------- */

/* Upper bound on the entries leda__json_to_data() makes from `params`: the member count of
 * an object, the element count of an array, 0 for anything else. */
int leda__json_entry_count(const json_t *params);

/* Converts the "params" of an incoming call into entries in `out` (`max` of them).
 * - An object (set, service arguments): each member becomes one entry, in order. Numbers are
 *   written "%d" when integral and within int range, else "%f"; strings are copied; both take
 *   their type from leda__tsl_arg_type(tsl, service, key) (NULL tsl: LEDA_TYPE_BUTT). Objects
 *   and arrays become LEDA_TYPE_STRUCT / LEDA_TYPE_ARRAY holding their compact JSON text.
 *   true, false and null members are dropped.
 * - An array (a get request): each string element becomes {key=name, LEDA_TYPE_BUTT, ""};
 *   other elements are skipped.
 * - NULL or any other JSON value gives no entries.
 * Unused bytes of each entry are zero. Sets *count to the number of entries and returns
 * LE_SUCCESS. A key of 64 bytes or more, a value text of 2048 bytes or more, or more entries
 * than `max` abort the conversion: *count is 0 and the result is LE_ERROR_INVAILD_PARAM.
 * LE_ERROR_ALLOCATING_MEM (count 0) when memory ran out. For get and set a count of 0 must
 * be answered with LE_ERROR_INVAILD_PARAM; a service callback is still called with it. */
int leda__json_to_data(json_t *params, const leda__tsl_t *tsl, const char *service,
                       leda_device_data_t *out, int max, int *count);

/* Number of leading entries of `out` (of `max`) that are not LEDA_TYPE_BUTT: the part of a
 * service's output that is sent back. 0 for NULL or max <= 0. */
int leda__service_output_count(const leda_device_data_t *out, int max);

/* ---- replies to calls ------------------------------------------------------------------- */

/* `code` if it is in the le_error.h table, else LE_ERROR_UNKNOWN. */
int leda__reply_code(int code);

/* The reply message of leda__reply_code(code), with the original's spellings ("Ok",
 * "Unknow error", "Tiemout", ...). Never NULL; a static string. */
const char *leda__reply_message(int code);

/* Builds {"code":c,"message":m,"params":params} with c = leda__reply_code(code). `params` is
 * stolen (NULL gives {}), even on failure. Returns a new reference or NULL (out of memory). */
json_t *leda__reply_json(int code, json_t *params);

/* Reply to a get: "params" holds the `n` entries as leda__data_to_json() converts them, or
 * {} when props is NULL, n <= 0, any entry is still LEDA_TYPE_BUTT or the conversion fails.
 * Returns a new reference or NULL (out of memory). */
json_t *leda__reply_get(int code, const leda_device_data_t *props, int n);

/* Reply to a set: {"code":c,"message":m,"params":{}}. New reference or NULL. */
json_t *leda__reply_set(int code);

/* Reply to a service call:
 * {"code":c,"message":m,"params":{"code":c,"message":m,"data":{...}}}, where "data" holds the
 * entries of `out` before the first LEDA_TYPE_BUTT one ({} if none, or if they do not
 * convert). New reference or NULL (out of memory). */
json_t *leda__reply_service(int code, const leda_device_data_t *out, int max);

#endif
