/* tsl.h: the thing model (TSL) as things uses it: properties with their access and data types,
 * services with their typed inputs, and the text served to drivers. tsl.c parses and validates
 * a TSL document and derives get/set; dtype.c holds the table of data types, each with its
 * specs parser and its value checker. Internal to the things module. */
#ifndef VG_THINGS_TSL_H
#define VG_THINGS_TSL_H

#include "things/map.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    THINGS__INT,
    THINGS__FLOAT,
    THINGS__DOUBLE,
    THINGS__TEXT,
    THINGS__DATE,
    THINGS__BOOL,
    THINGS__ENUM,
    THINGS__STRUCT,
    THINGS__ARRAY,
    THINGS__NTYPES
} things__kind_t;

#define THINGS__ID_MAX    50 /* identifiers: [A-Za-z_][A-Za-z0-9_]{0,49} */
#define THINGS__DEPTH_MAX 8  /* nesting of struct members and array items */

typedef struct things__field things__field_t;

/* A data type with its specs, parsed. */
typedef struct things__dtype {
    things__kind_t kind;
    int has_min, has_max; /* int, float, double */
    double min, max;
    int64_t length;             /* text: most characters; 0 for no limit */
    json_t *labels;             /* bool, enum: {"<value>": label...}; NULL when not given */
    int64_t size;               /* array: most items */
    struct things__dtype *item; /* array: the item type (owned) */
    things__field_t *members;   /* struct: its members (owned array) */
    size_t nmembers;
    things__map_t member_map; /* struct: members by identifier */
} things__dtype_t;

#define THINGS__READ  1
#define THINGS__WRITE 2

/* A property, a service argument or a struct member. */
struct things__field {
    things__node_t node; /* in the owner's map, by id */
    char *id;
    int access; /* properties: THINGS__READ | THINGS__WRITE */
    things__dtype_t type;
};

typedef struct things__service {
    things__node_t node; /* in the TSL's service map */
    char *id;
    things__field_t *inputs;
    size_t ninputs;
    things__map_t input_map;
} things__service_t;

typedef struct things__tsl {
    things__field_t *props;
    size_t nprops;
    things__map_t prop_map;
    things__service_t *services;
    size_t nservices;
    things__map_t service_map;
    json_t *events; /* {"<identifier>": {"type":..,"name":..}} for event streams */
    char *text; /* compact JSON with the derived get/set services */
} things__tsl_t;

/* Where in a document a parser is ("properties[2].dataType"), and where its error goes. */
typedef struct things__path {
    char s[256];
    size_t len;
} things__path_t;

typedef struct things__tslctx {
    things__path_t path;
    char *err;
    size_t errlen;
    int depth;
} things__tslctx_t;

/* Appends printf-formatted text to the path (truncating when full) and returns the previous
 * length, for things__path_pop. */
size_t things__path_push(things__path_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Cuts the path back to `len`. */
void things__path_pop(things__path_t *p, size_t len);

/* Writes "tsl: <path> = <value>: <why>" (without " = <value>" when `value` is NULL) into the
 * context's error buffer and returns VG_EINVAL. */
int things__tsl_fail(things__tslctx_t *c, json_t *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes the compact JSON of `v` into `buf`, cut to `len` with "..." when longer. */
void things__json_brief(json_t *v, char *buf, size_t len);

/* Returns 1 when `s` is a TSL identifier: [A-Za-z_][A-Za-z0-9_]{0,49}. */
int things__identifier_ok(const char *s);

/* Parses a dataType object (`dt`, the context's path pointing at it) into *out. Returns 0 or
 * VG_EINVAL with the message in the context (then *out holds nothing to close). */
int things__dtype_parse(things__tslctx_t *c, json_t *dt, things__dtype_t *out);
/* Frees what a parsed data type holds. */
void things__dtype_close(things__dtype_t *dt);
/* The type's TSL name ("int"...). */
const char *things__kind_name(things__kind_t k);

/* Results of things__value_check. */
#define THINGS__V_OK    0
#define THINGS__V_TYPE  1 /* the JSON type does not fit (also text too long, array too big) */
#define THINGS__V_RANGE 2 /* outside min/max, or not one of the enum's values */

/* Checks value `v` against `dt`. `what` names the value in messages ("property brightness");
 * on failure `msg` gets "<what> = <value>: expected ..." (members and items extend `what`:
 * "property pos.x", "property list[3]"). Returns THINGS__V_OK, _TYPE or _RANGE. */
int things__value_check(const things__dtype_t *dt, json_t *v, const char *what, char *msg,
                        size_t msglen);

/* Parses and validates TSL text for product `pk` and derives get/set. Returns 0 and a new model
 * in *out, VG_EINVAL with a sentence in `err`, or VG_ENOMEM. */
int things__tsl_parse(const char *pk, const char *json, things__tsl_t **out, char *err,
                      size_t errlen);
/* Frees a model. NULL is a no-op. */
void things__tsl_free(things__tsl_t *tsl);
/* Frees what a field holds (not the field itself). */
void things__field_close(things__field_t *f);

/* Look-ups in a model; NULL when absent. */
const things__field_t *things__tsl_prop(const things__tsl_t *tsl, const char *id);
const things__service_t *things__tsl_service(const things__tsl_t *tsl, const char *id);
const things__field_t *things__service_input(const things__service_t *s, const char *id);

#endif
