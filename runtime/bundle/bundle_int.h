/* bundle_int.h: internals of the bundle loader shared by its files: the load context that
 * collects problems, the key tables that describe each kind of JSON object in a manifest, the
 * name formats, and the path and file checks. */
#ifndef VG_BUNDLE_BUNDLE_INT_H
#define VG_BUNDLE_BUNDLE_INT_H

#include "bundle/bundle.h"

#include <stddef.h>

#define BUNDLE__FIELD_MAX 512           /* a field path, "drivers[0].devices[12].tags.location" */
#define BUNDLE__CODE_MAX  (1024 * 1024) /* bytes of one function's Lua file */

/* State of one bundle_load(). */
typedef struct bundle__ctx {
    vg_buf_t *errors; /* where problem lines go; may be NULL */
    int nerrors;
    int oom;              /* an allocation failed: the load fails with VG_ENOMEM */
    char *root;           /* the bundle directory, absolute, symlinks resolved */
    bundle_t *b;          /* the bundle being built */
    int have_products;    /* "products" was an array: device productKeys can be checked */
    json_t *product_keys; /* sets: value -> the field that holds it ("products[0]") */
    json_t *driver_names;
    json_t *devices;     /* "productKey/deviceName" */
    json_t *local_names; /* "productKey/localName" */
    json_t *functions;   /* "service/name" of the valid functions -> "functions[i]" */
    json_t *route_names;
} bundle__ctx_t;

/* Appends one problem line "FILE: FIELD[ = VALUE]: PROBLEM\n" (VALUE as compact JSON,
 * shortened when long; control characters in FILE and FIELD become '?'). */
void bundle__err(bundle__ctx_t *c, const char *file, const char *field, json_t *value,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes `prefix.key` (or `prefix["key"]` when the key is not a plain identifier, or just
 * `key` when prefix is empty) into out[BUNDLE__FIELD_MAX]. */
void bundle__field_key(char *out, const char *prefix, const char *key);
/* Writes `prefix[i]` into out[BUNDLE__FIELD_MAX]. */
void bundle__field_index(char *out, const char *prefix, size_t i);

/* Marks `value` as seen in set `set` at `field`. Returns NULL when it is new, or the field
 * that held it first (owned by the set). */
const char *bundle__seen(bundle__ctx_t *c, json_t *set, const char *value, const char *field);

/* strdup() that records an allocation failure in the context. */
char *bundle__strdup(bundle__ctx_t *c, const char *s);

/* Writes the keys of set `set` into out[n] for a problem line: "a, b, c", at most 8 of them
 * and then " and N more"; "" when the set is empty. */
void bundle__list_keys(json_t *set, char *out, size_t n);

/* Returns 1 when the `n` bytes at `s` are a Lua-style identifier: [A-Za-z_][A-Za-z0-9_]*. */
int bundle__identifier(const char *s, size_t n);

/* The key table of one kind of JSON object: each key with its JSON type, whether it is
 * required, and the function that checks a present value of the right type and stores it in
 * the struct being built (`target`). */
typedef enum {
    BUNDLE__STRING = 1,
    BUNDLE__OBJECT,
    BUNDLE__ARRAY,
    BUNDLE__INTEGER, /* a JSON integer: 3000.0 and "3000" are the wrong type */
} bundle__type_t;

typedef void (*bundle__check_fn)(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                                 void *target);

typedef struct bundle__key {
    const char *key;
    bundle__type_t type;
    int required;
    bundle__check_fn check; /* NULL: any value of the type is fine */
} bundle__key_t;

typedef struct bundle__kind {
    const bundle__key_t *keys; /* terminated by an entry whose key is NULL */
    int open;                  /* keys beyond the table are allowed and passed through */
    /* NULL, or called last with the whole object: cross-checks keys and fills defaults */
    void (*finish)(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                   void *target);
} bundle__kind_t;

/* Checks object `obj` found at `field` of `file` against `kind`: reports every unknown key
 * (listing the valid ones), missing required key and value of the wrong type, runs the check
 * of each present key in table order, then the kind's finish. */
void bundle__check_object(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                          const bundle__kind_t *kind, void *target);

/* Name formats: 1..BUNDLE_NAME_MAX characters of A-Z a-z 0-9 and some punctuation. */
typedef enum {
    BUNDLE__NAME,        /* bundle and driver names: . _ - */
    BUNDLE__PRODUCT_KEY, /* _ . : - */
    BUNDLE__DEVICE_NAME, /* deviceName, localName: _ . : @ - */
} bundle__format_t;

/* Checks that string `v` has format `f`; reports a problem and returns 0 when not. */
int bundle__check_format(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                         bundle__format_t f);

/* Checks that integer `v` lies in min..max; reports a problem and returns 0 when not. */
int bundle__check_range(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        int64_t min, int64_t max);

/* Returns 1 when `s` is a version: 1 to 3 dot-separated numbers, optionally followed by '-'
 * or '+' and a suffix of A-Z a-z 0-9 . + -, at most BUNDLE_VERSION_MAX characters. */
int bundle__version_ok(const char *s);

/* What a resolved path must be. */
typedef enum { BUNDLE__FILE, BUNDLE__EXEC } bundle__want_t;

/* Resolves relative path `rel`, found at `field` of `file` (its JSON value `v` is quoted in
 * problems; may be NULL), against the absolute directory `base` inside the bundle: it must be
 * relative, stay inside the bundle both as written and after resolving symlinks, exist and be
 * a regular file (and executable for BUNDLE__EXEC). Returns the absolute resolved path
 * (caller frees), or NULL after reporting the problem. */
char *bundle__resolve(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                      const char *rel, const char *base, bundle__want_t want);

/* The bundle-relative form of absolute path `abs` inside the bundle (points into `abs`). */
const char *bundle__relative(const bundle__ctx_t *c, const char *abs);

/* Reads the regular file `abs` of at most `max` bytes into a NUL-terminated string (caller
 * frees) and its length into *len. Problems are reported against `file`/`field`/`v`.
 * Returns the text, or NULL after reporting. */
char *bundle__read_text(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        const char *abs, size_t max, size_t *len);

/* Reads the regular file `abs` of at most `max` bytes into a NUL-terminated string (caller
 * frees) and parses it as a JSON object into *doc. Problems with the file are reported
 * against `file`/`field`/`v`, problems with its content against the file's own
 * bundle-relative name. Returns the text, or NULL after reporting. */
char *bundle__read_json(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        const char *abs, size_t max, json_t **doc);

/* Checks each element of array `arr` (at `field`) as an object of `kind`, element i filling
 * the struct at (char *)items + i * size (a size of 0: every element fills `items`). */
void bundle__check_items(bundle__ctx_t *c, const char *file, const char *field, json_t *arr,
                         const bundle__kind_t *kind, void *items, size_t size);

/* Checks the top-level object of bundle.json and fills c->b (manifest.c). */
void bundle__check_manifest(bundle__ctx_t *c, json_t *doc);

/* The check of the manifest's "drivers" array (drivers.c); `target` is the bundle_t. */
void bundle__check_drivers(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                           void *target);

/* The check of the manifest's "functions" array (functions.c); `target` is the bundle_t. */
void bundle__check_functions(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                             void *target);

/* The check of the manifest's "routes" array (routes.c); `target` is the bundle_t. Checks
 * what each route says by itself: names, formats, topics, loops. */
void bundle__check_routes(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                          void *target);

/* Checks what the routes of c->b name elsewhere in the manifest `doc` (products, devices,
 * functions), once every top-level key has been read, so that the order of the keys in the
 * file does not matter (routes.c). */
void bundle__check_route_refs(bundle__ctx_t *c, const char *file, json_t *doc);

#endif
