/* dtype.c: the TSL's data types as one table, each row with the parser of its specs and the
 * checker of a value against them (int, float, double, text, date, bool, enum, struct, array).
 * Parsers name the offending field in "tsl: <path>..." messages; checkers name the value. */
#include "things/tsl.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THINGS__INT32_MIN (-2147483648.0)
#define THINGS__INT32_MAX 2147483647.0
#define THINGS__TEXT_MAX  1048576 /* largest specs.length */
#define THINGS__ARRAY_MAX 65536   /* largest specs.size */

/* --- paths and messages -------------------------------------------------------------------- */

size_t things__path_push(things__path_t *p, const char *fmt, ...)
{
    size_t old = p->len;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(p->s + p->len, sizeof p->s - p->len, fmt, ap);
    va_end(ap);
    if (w > 0) p->len += (size_t)w < sizeof p->s - p->len ? (size_t)w : sizeof p->s - p->len - 1;
    if (old == 0 && p->s[0] == '.') { /* a member at the top: "properties", not ".properties" */
        memmove(p->s, p->s + 1, p->len);
        p->len--;
    }
    return old;
}

void things__path_pop(things__path_t *p, size_t len)
{
    p->len = len;
    p->s[len] = '\0';
}

void things__json_brief(json_t *v, char *buf, size_t len)
{
    size_t n = json_dumpb(v, buf, len, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (n == 0 && len) {
        snprintf(buf, len, "?");
    } else if (n >= len && len > 4) {
        memcpy(buf + len - 4, "...", 4);
    } else {
        buf[n] = '\0';
    }
}

int things__tsl_fail(things__tslctx_t *c, json_t *value, const char *fmt, ...)
{
    char why[256], val[96] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (value) things__json_brief(value, val, sizeof val);
    if (c->err && c->errlen && c->path.len)
        snprintf(c->err, c->errlen, "tsl: %s%s%s: %s", c->path.s, value ? " = " : "", val, why);
    else if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "tsl: %s", why);
    return VG_EINVAL;
}

/* --- specs helpers ------------------------------------------------------------------------- */

/* Returns 1 when `d` is a whole number (within int64). No libm. */
static int things__integral(double d)
{
    return d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d;
}

/* Reads specs[key] as a number given as a JSON number or a numeric string ("1", "-0.5").
 * Absent: *has = 0. Returns 0 or VG_EINVAL. */
static int things__spec_num(things__tslctx_t *c, json_t *specs, const char *key, double *out,
                            int *has)
{
    json_t *v = json_object_get(specs, key);
    *has = 0;
    if (!v) return 0;
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        *out = s && *s ? strtod(s, &end) : 0;
        if (!s || !*s || errno || *end || !isfinite(*out)) {
            size_t o = things__path_push(&c->path, ".%s", key);
            int rc = things__tsl_fail(c, v, "expected a number, or a string holding one");
            things__path_pop(&c->path, o);
            return rc;
        }
    }
    *has = 1;
    return 0;
}

/* Reads specs[key] as an integer from lo to hi (a JSON integer or a string of one). Absent:
 * *out = 0, an error when `required`. Returns 0 or VG_EINVAL. */
static int things__spec_int(things__tslctx_t *c, json_t *specs, const char *key, int64_t lo,
                            int64_t hi, int required, int64_t *out)
{
    double d = 0;
    int has = 0;
    *out = 0;
    int rc = things__spec_num(c, specs, key, &d, &has);
    if (rc != 0 || (!has && !required)) return rc;
    if (has && things__integral(d) && d >= (double)lo && d <= (double)hi) {
        *out = (int64_t)d;
        return 0;
    }
    size_t o = things__path_push(&c->path, ".%s", key);
    rc = things__tsl_fail(c, json_object_get(specs, key), "%sexpected an integer from %lld to %lld",
                          has ? "" : "missing; ", (long long)lo, (long long)hi);
    things__path_pop(&c->path, o);
    return rc;
}

/* Checks that specs, when present, is an object. */
static int things__specs_object(things__tslctx_t *c, json_t *specs, int required)
{
    if ((!specs && !required) || json_is_object(specs)) return 0;
    size_t o = things__path_push(&c->path, ".specs");
    int rc = specs ? things__tsl_fail(c, specs, "expected an object")
                   : things__tsl_fail(c, NULL, "missing; expected an object");
    things__path_pop(&c->path, o);
    return rc;
}

/* Parses a canonical decimal integer ("0", "-3"; no sign on zero, no leading zeros) within
 * int32. Returns 1 and *out, or 0. */
static int things__int_key(const char *s, long long *out)
{
    char *end = NULL, back[24];
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || errno || *end || v < -2147483648LL || v > 2147483647LL) return 0;
    snprintf(back, sizeof back, "%lld", v);
    if (strcmp(back, s) != 0) return 0;
    *out = v;
    return 1;
}

/* --- specs parsers ------------------------------------------------------------------------- */

static int things__parse_number(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    double step = 0;
    int has_step = 0, rc;
    if ((rc = things__specs_object(c, specs, 0)) != 0 || !specs) return rc;
    size_t o = things__path_push(&c->path, ".specs");
    rc = things__spec_num(c, specs, "min", &dt->min, &dt->has_min);
    if (!rc) rc = things__spec_num(c, specs, "max", &dt->max, &dt->has_max);
    if (!rc) rc = things__spec_num(c, specs, "step", &step, &has_step);
    if (!rc && dt->kind == THINGS__INT) {
        const char *bad = dt->has_min && !things__integral(dt->min)   ? "min"
                          : dt->has_max && !things__integral(dt->max) ? "max"
                                                                      : NULL;
        if (bad) {
            things__path_push(&c->path, ".%s", bad);
            rc = things__tsl_fail(c, json_object_get(specs, bad), "expected an integer for an int");
        }
    }
    if (!rc && dt->has_min && dt->has_max && dt->min > dt->max)
        rc = things__tsl_fail(c, NULL, "min %.15g is greater than max %.15g", dt->min, dt->max);
    if (!rc && has_step && step < 0) {
        things__path_push(&c->path, ".step");
        rc = things__tsl_fail(c, json_object_get(specs, "step"), "expected a step of 0 or more");
    }
    things__path_pop(&c->path, o);
    return rc;
}

static int things__parse_text(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    int rc;
    if ((rc = things__specs_object(c, specs, 0)) != 0 || !specs) return rc;
    size_t o = things__path_push(&c->path, ".specs");
    rc = things__spec_int(c, specs, "length", 1, THINGS__TEXT_MAX, 0, &dt->length);
    things__path_pop(&c->path, o);
    return rc;
}

static int things__parse_date(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    (void)dt;
    return things__specs_object(c, specs, 0);
}

/* bool and enum: a map from value ("0") to label. */
static int things__parse_labels(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    int is_bool = dt->kind == THINGS__BOOL, rc;
    if ((rc = things__specs_object(c, specs, !is_bool)) != 0 || !specs) return rc;
    size_t o = things__path_push(&c->path, ".specs");
    if (json_object_size(specs) == 0 && !is_bool) {
        rc = things__tsl_fail(c, specs, "expected at least one value: {\"0\":\"label\",...}");
        things__path_pop(&c->path, o);
        return rc;
    }
    const char *key;
    json_t *label;
    json_object_foreach(specs, key, label)
    {
        long long v;
        size_t k = things__path_push(&c->path, ".%s", key);
        if (!things__int_key(key, &v) || (is_bool && v != 0 && v != 1))
            rc = things__tsl_fail(c, NULL,
                                  is_bool ? "a bool's values are \"0\" and \"1\""
                                          : "an enum's values are integers (\"0\", \"1\", \"-2\")");
        else if (!json_is_string(label))
            rc = things__tsl_fail(c, label, "expected the value's label, a string");
        things__path_pop(&c->path, k);
        if (rc) break;
    }
    things__path_pop(&c->path, o);
    if (rc == 0) dt->labels = json_incref(specs);
    return rc;
}

static int things__parse_struct(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    size_t o = things__path_push(&c->path, ".specs");
    int rc = 0;
    if (!json_is_array(specs) || json_array_size(specs) == 0) {
        rc = specs ? things__tsl_fail(c, specs, "expected a non-empty array of members")
                   : things__tsl_fail(c, NULL, "missing; expected a non-empty array of members");
        things__path_pop(&c->path, o);
        return rc;
    }
    size_t n = json_array_size(specs);
    dt->members = calloc(n, sizeof *dt->members);
    if (!dt->members) {
        things__path_pop(&c->path, o);
        return VG_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *m = json_array_get(specs, i);
        things__field_t *f = &dt->members[i];
        size_t k = things__path_push(&c->path, "[%zu]", i);
        json_t *id = json_object_get(m, "identifier");
        if (!json_is_object(m)) {
            rc =
                things__tsl_fail(c, m, "expected a member: {\"identifier\",\"name\",\"dataType\"}");
        } else if (!json_is_string(id) || !things__identifier_ok(json_string_value(id))) {
            things__path_push(&c->path, ".identifier");
            rc = things__tsl_fail(c, id, "%s",
                                  id ? "expected 1 to 50 letters, digits or '_', not "
                                       "starting with a digit"
                                     : "missing");
        } else if (!(f->id = strdup(json_string_value(id)))) {
            rc = VG_ENOMEM;
        } else if ((rc = things__map_put(&dt->member_map, &f->node, f->id)) != 0) {
            if (rc == VG_EEXIST) {
                things__path_push(&c->path, ".identifier");
                rc = things__tsl_fail(c, id, "duplicate; member identifiers must be unique");
            }
        } else {
            things__path_push(&c->path, ".dataType");
            rc = things__dtype_parse(c, json_object_get(m, "dataType"), &f->type);
            if (rc == 0) dt->nmembers = i + 1;
        }
        things__path_pop(&c->path, k);
        if (rc && f->id && dt->nmembers <= i) { /* this member is not counted: free it here */
            free(f->id);
            f->id = NULL;
        }
    }
    things__path_pop(&c->path, o);
    return rc;
}

static int things__parse_array(things__tslctx_t *c, json_t *specs, things__dtype_t *dt)
{
    int rc;
    if ((rc = things__specs_object(c, specs, 1)) != 0) return rc;
    size_t o = things__path_push(&c->path, ".specs");
    rc = things__spec_int(c, specs, "size", 1, THINGS__ARRAY_MAX, 1, &dt->size);
    if (rc == 0) {
        json_t *item = json_object_get(specs, "item");
        things__path_push(&c->path, ".item");
        if (!(dt->item = calloc(1, sizeof *dt->item)))
            rc = VG_ENOMEM;
        else if ((rc = things__dtype_parse(c, item, dt->item)) != 0) {
            free(dt->item);
            dt->item = NULL;
        }
    }
    things__path_pop(&c->path, o);
    return rc;
}

/* --- value checkers ------------------------------------------------------------------------ */

typedef struct things__vctx {
    things__path_t what;
    char *msg;
    size_t msglen;
} things__vctx_t;

static int things__vfail(things__vctx_t *vc, json_t *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int things__vfail(things__vctx_t *vc, json_t *v, int code, const char *fmt, ...)
{
    char why[256], val[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    things__json_brief(v, val, sizeof val);
    snprintf(vc->msg, vc->msglen, "%s = %s: %s", vc->what.s, val, why);
    return code;
}

/* Describes the bounds: " from 1 to 5", " of at least 1", "" ... into buf. */
static void things__bounds(const things__dtype_t *dt, double lo, double hi, char *buf, size_t len)
{
    int has_lo = dt->has_min || lo > -INFINITY, has_hi = dt->has_max || hi < INFINITY;
    double min = dt->has_min ? dt->min : lo, max = dt->has_max ? dt->max : hi;
    if (has_lo && has_hi)
        snprintf(buf, len, " from %.15g to %.15g", min, max);
    else if (has_lo)
        snprintf(buf, len, " of at least %.15g", min);
    else if (has_hi)
        snprintf(buf, len, " of at most %.15g", max);
    else
        buf[0] = '\0';
}

static int things__check_range(const things__dtype_t *dt, json_t *v, double x, double lo, double hi,
                               things__vctx_t *vc)
{
    double min = dt->has_min && dt->min > lo ? dt->min : lo;
    double max = dt->has_max && dt->max < hi ? dt->max : hi;
    if (x >= min && x <= max) return THINGS__V_OK;
    char b[96];
    things__bounds(dt, lo, hi, b, sizeof b);
    return things__vfail(vc, v, THINGS__V_RANGE, "expected %s %s%s",
                         dt->kind == THINGS__INT ? "an" : "a", things__kind_name(dt->kind), b);
}

static int things__check_int(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    if (!json_is_integer(v))
        return things__vfail(vc, v, THINGS__V_TYPE, "expected an int (a JSON integer)");
    return things__check_range(dt, v, (double)json_integer_value(v), THINGS__INT32_MIN,
                               THINGS__INT32_MAX, vc);
}

static int things__check_real(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    if (!json_is_number(v))
        return things__vfail(vc, v, THINGS__V_TYPE, "expected a %s (a JSON number)",
                             things__kind_name(dt->kind));
    return things__check_range(dt, v, json_number_value(v), -INFINITY, INFINITY, vc);
}

static int things__check_text(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    if (!json_is_string(v))
        return things__vfail(vc, v, THINGS__V_TYPE, "expected a text (a JSON string)");
    if (dt->length > 0) {
        const unsigned char *s = (const unsigned char *)json_string_value(v);
        size_t n = json_string_length(v);
        int64_t chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += (s[i] & 0xC0) != 0x80;
        if (chars > dt->length)
            return things__vfail(vc, v, THINGS__V_TYPE,
                                 "expected a text of at most %lld characters",
                                 (long long)dt->length);
    }
    return THINGS__V_OK;
}

static int things__check_date(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    (void)dt;
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    int ok = json_is_integer(v) ? json_integer_value(v) >= 0 : n > 0 && n <= 19;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    return ok ? THINGS__V_OK
              : things__vfail(
                    vc, v, THINGS__V_TYPE,
                    "expected a date: UTC milliseconds as a string of digits or an integer");
}

static int things__check_bool(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    (void)dt;
    if (json_is_boolean(v)) return THINGS__V_OK;
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        return THINGS__V_OK;
    return things__vfail(vc, v, THINGS__V_TYPE, "expected a bool: 0, 1, true or false");
}

static int things__check_enum(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    char key[24], values[160];
    if (!json_is_integer(v))
        return things__vfail(vc, v, THINGS__V_TYPE, "expected an enum value (a JSON integer)");
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(v));
    if (json_object_get(dt->labels, key)) return THINGS__V_OK;
    size_t n = 0;
    const char *k;
    json_t *label;
    values[0] = '\0';
    json_object_foreach(dt->labels, k, label)
    {
        int w = snprintf(values + n, sizeof values - n, "%s%s", n ? ", " : "", k);
        if (w < 0 || (size_t)w >= sizeof values - n) break;
        n += (size_t)w;
    }
    return things__vfail(vc, v, THINGS__V_RANGE, "expected one of the enum's values %s", values);
}

static int things__check_in(const things__dtype_t *dt, json_t *v, things__vctx_t *vc);

static int things__check_struct(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    char names[160];
    size_t n = 0;
    names[0] = '\0';
    for (size_t i = 0; i < dt->nmembers; i++) {
        int w = snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", dt->members[i].id);
        if (w < 0 || (size_t)w >= sizeof names - n) break;
        n += (size_t)w;
    }
    if (!json_is_object(v))
        return things__vfail(vc, v, THINGS__V_TYPE, "expected a struct: an object with members %s",
                             names);
    const char *key;
    json_t *m;
    json_object_foreach(v, key, m)
    {
        things__node_t *node = things__map_get(&dt->member_map, key, strlen(key));
        size_t o = things__path_push(&vc->what, ".%s", key);
        int rc;
        if (!node)
            rc = things__vfail(vc, m, THINGS__V_TYPE, "no such member; the struct's members are %s",
                               names);
        else
            rc = things__check_in(&THINGS__CONTAINER(node, things__field_t, node)->type, m, vc);
        things__path_pop(&vc->what, o);
        if (rc) return rc;
    }
    return THINGS__V_OK;
}

static int things__check_array(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    if (!json_is_array(v) || (int64_t)json_array_size(v) > dt->size)
        return things__vfail(vc, v, THINGS__V_TYPE, "expected an array of at most %lld %s items",
                             (long long)dt->size, things__kind_name(dt->item->kind));
    for (size_t i = 0; i < json_array_size(v); i++) {
        size_t o = things__path_push(&vc->what, "[%zu]", i);
        int rc = things__check_in(dt->item, json_array_get(v, i), vc);
        things__path_pop(&vc->what, o);
        if (rc) return rc;
    }
    return THINGS__V_OK;
}

/* --- the table ------------------------------------------------------------------------------ */

typedef struct things__type_row {
    const char *name;
    int (*parse)(things__tslctx_t *c, json_t *specs, things__dtype_t *dt);
    int (*check)(const things__dtype_t *dt, json_t *v, things__vctx_t *vc);
} things__type_row_t;

static const things__type_row_t things__types[THINGS__NTYPES] = {
    [THINGS__INT] = {"int", things__parse_number, things__check_int},
    [THINGS__FLOAT] = {"float", things__parse_number, things__check_real},
    [THINGS__DOUBLE] = {"double", things__parse_number, things__check_real},
    [THINGS__TEXT] = {"text", things__parse_text, things__check_text},
    [THINGS__DATE] = {"date", things__parse_date, things__check_date},
    [THINGS__BOOL] = {"bool", things__parse_labels, things__check_bool},
    [THINGS__ENUM] = {"enum", things__parse_labels, things__check_enum},
    [THINGS__STRUCT] = {"struct", things__parse_struct, things__check_struct},
    [THINGS__ARRAY] = {"array", things__parse_array, things__check_array},
};

const char *things__kind_name(things__kind_t k)
{
    return k < THINGS__NTYPES ? things__types[k].name : "?";
}

static int things__check_in(const things__dtype_t *dt, json_t *v, things__vctx_t *vc)
{
    return things__types[dt->kind].check(dt, v, vc);
}

int things__value_check(const things__dtype_t *dt, json_t *v, const char *what, char *msg,
                        size_t msglen)
{
    things__vctx_t vc = {.msg = msg, .msglen = msglen};
    things__path_push(&vc.what, "%s", what);
    return things__check_in(dt, v, &vc);
}

int things__dtype_parse(things__tslctx_t *c, json_t *dt, things__dtype_t *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(dt))
        return dt ? things__tsl_fail(c, dt, "expected an object {\"type\",\"specs\"}")
                  : things__tsl_fail(c, NULL, "missing; expected an object {\"type\",\"specs\"}");
    if (c->depth >= THINGS__DEPTH_MAX)
        return things__tsl_fail(c, NULL, "structs and arrays nest deeper than %d levels",
                                THINGS__DEPTH_MAX);
    json_t *type = json_object_get(dt, "type");
    const char *name = json_string_value(type);
    size_t k = 0;
    while (name && k < THINGS__NTYPES && strcmp(things__types[k].name, name) != 0)
        k++;
    if (!name || k == THINGS__NTYPES) {
        size_t o = things__path_push(&c->path, ".type");
        int rc = things__tsl_fail(c, type,
                                  "%sexpected one of int, float, double, text, date, "
                                  "bool, enum, struct, array",
                                  type ? "" : "missing; ");
        things__path_pop(&c->path, o);
        return rc;
    }
    out->kind = (things__kind_t)k;
    c->depth++;
    int rc = things__types[k].parse(c, json_object_get(dt, "specs"), out);
    c->depth--;
    if (rc) things__dtype_close(out);
    return rc;
}

void things__dtype_close(things__dtype_t *dt)
{
    json_decref(dt->labels);
    if (dt->item) {
        things__dtype_close(dt->item);
        free(dt->item);
    }
    for (size_t i = 0; i < dt->nmembers; i++)
        things__field_close(&dt->members[i]);
    free(dt->members);
    things__map_close(&dt->member_map);
    memset(dt, 0, sizeof *dt);
}
