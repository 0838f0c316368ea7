/* json.h: the JSON of driver frames, read fast. drvhost_json_loadb builds the very tree
 * json_loadb(JSON_REJECT_DUPLICATES) builds (the same values, keys in the same order) without
 * jansson's byte-at-a-time lexer; drvhost_json_find finds the text of a member's value, so
 * that a report's body can be passed on as the bytes the driver sent. Pure: no I/O, no
 * global state. */
#ifndef VG_DRVHOST_JSON_H
#define VG_DRVHOST_JSON_H

#include <jansson.h>
#include <stddef.h>

/* json_loadb(text, len, JSON_REJECT_DUPLICATES, err): the top level must be an object or an
 * array. Text the fast parser does not take whole (not JSON, or rare forms: a \u0000 escape,
 * nesting deeper than DRVHOST_JSON_FAST_DEPTH, a number longer than 63 bytes) goes to jansson,
 * which also words the error. Returns a new reference, or NULL with `err` (may be NULL) set by
 * jansson. */
json_t *drvhost_json_loadb(const char *text, size_t len, json_error_t *err);

/* Finds the value at `keys` (a NULL-terminated list: {"params", "body", NULL} is
 * params.body) in `text` (`len` bytes of valid JSON, e.g. text a parse accepted). Returns 1 with
 * *val and *vlen that value's text (surrounding whitespace excluded); 0 when a level is not an
 * object or has no member whose key is written exactly as asked (a key spelt with escapes is
 * not found). Only the text up to the end of that value is read, never anything outside `text`,
 * whatever it holds. */
int drvhost_json_find(const char *text, size_t len, const char *const *keys, const char **val,
                      size_t *vlen);

/* Test hooks. */
#define DRVHOST_JSON_FAST_DEPTH 32
/* The fast parser alone: the tree, or NULL when it leaves the text to jansson. */
json_t *drvhost__json_fast(const char *text, size_t len);

#endif
