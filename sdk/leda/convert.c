/* convert.c: leda_device_data_t <-> JSON conversions, property report frames written without
 * a tree, the TSL type table and the call replies of libleda_sdk_c. The rules are the
 * original SDK's (SDK-FACTS §3.1, §3.3); where the original read out of bounds or crashed,
 * these functions fail cleanly instead (see convert.h). */
#include "convert.h"

#include "le_error.h"
#include "wire.h"

#include <limits.h>
#include <math.h> /* isfinite: a macro, no libm needed */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The codes a reply may carry, with the original SDK's message strings (spellings kept). */
static const struct {
    int code;
    const char *message;
} leda__messages[] = {
    {LE_SUCCESS, "Ok"},
    {LE_ERROR_UNKNOWN, "Unknow error"},
    {LE_ERROR_INVAILD_PARAM, "Invalid params"},
    {LE_ERROR_ALLOCATING_MEM, "Alloc memery failed"},
    {LE_ERROR_CREATING_MUTEX, "Create mutex failed"},
    {LE_ERROR_WRITING_FILE, "Write file failed"},
    {LE_ERROR_READING_FILE, "Read file failed"},
    {LE_ERROR_TIMEOUT, "Tiemout"},
    {LE_ERROR_PARAM_RANGE_OVERFLOW, "Param range overflow"},
    {LE_ERROR_SERVICE_UNREACHABLE, "Service unreachable"},
    {LE_ERROR_FILE_NOT_EXIST, "No file exist"},
    {LEDA_ERROR_DEVICE_UNREGISTER, "Device not register"},
    {LEDA_ERROR_DEVICE_OFFLINE, "Device offline"},
    {LEDA_ERROR_PROPERTY_NOT_EXIST, "Property no exist"},
    {LEDA_ERROR_PROPERTY_READ_ONLY, "Property only support read"},
    {LEDA_ERROR_PROPERTY_WRITE_ONLY, "Property only support write"},
    {LEDA_ERROR_SERVICE_NOT_EXIST, "Service no exist"},
    {LEDA_ERROR_SERVICE_INPUT_PARAM, "Service param invalid"},
    {LEDA_ERROR_INVALID_JSON, "Json formate invalid"},
    {LEDA_ERROR_INVALID_TYPE, "Param type invalid"},
};

/* TSL dataType.type strings that give an argument a type; anything else is LEDA_TYPE_BUTT. */
static const struct {
    const char *name;
    leda_data_type_e type;
} leda__tsl_types[] = {
    {"int", LEDA_TYPE_INT},   {"bool", LEDA_TYPE_BOOL}, {"float", LEDA_TYPE_FLOAT},
    {"date", LEDA_TYPE_DATE}, {"enum", LEDA_TYPE_ENUM}, {"double", LEDA_TYPE_DOUBLE},
    {"text", LEDA_TYPE_TEXT},
};

#define LEDA__COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Largest magnitude below which every integral double is exactly an int64. */
#define LEDA__EXACT_INT 9007199254740992.0 /* 2^53 */

typedef struct leda__tsl_entry {
    char *service; /* one allocation: "service\0key\0" */
    const char *key;
    leda_data_type_e type;
} leda__tsl_entry_t;

struct leda__tsl {
    int count;
    leda__tsl_entry_t *entries;
};

/* ---- outgoing ---------------------------------------------------------------------------- */

/* Sets *len to the length of the text in buf[size] and returns 1, or returns 0 when the
 * buffer holds no NUL (a driver filled it to the brim; the text cannot be trusted). */
static int leda__text_len(const char *buf, size_t size, size_t *len)
{
    const char *nul = memchr(buf, '\0', size);
    if (!nul) return 0;
    *len = (size_t)(nul - buf);
    return 1;
}

/* atoi() without its undefined behaviour: out-of-range text clamps to INT_MIN/INT_MAX. */
static json_int_t leda__atoi(const char *s)
{
    long v = strtol(s, NULL, 10);
    if (v > INT_MAX) v = INT_MAX;
    if (v < INT_MIN) v = INT_MIN;
    return (json_int_t)v;
}

/* A JSON number for `v`: integral values as integers (cJSON prints them without a fraction),
 * non-finite values as null (as cJSON prints them). */
static json_t *leda__number(double v)
{
    if (!isfinite(v)) return json_null();
    if (v >= -LEDA__EXACT_INT && v <= LEDA__EXACT_INT && v == (double)(json_int_t)v)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A float as the double of its shortest decimal form that reads back as the same float, so
 * that "35.4" goes out as 35.4 rather than 35.400001525878906 (the float's exact value). */
static double leda__float_value(const char *text)
{
    float f = strtof(text, NULL);
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

/* The JSON value of one entry, or NULL (bad type, unterminated value, bad UTF-8 or JSON). */
static json_t *leda__entry_value(const leda_device_data_t *e)
{
    size_t len;
    if (!leda__text_len(e->value, sizeof e->value, &len)) return NULL;
    switch (e->type) {
    case LEDA_TYPE_TEXT:
    case LEDA_TYPE_DATE:
        return json_stringn(e->value, len);
    case LEDA_TYPE_FLOAT:
        return leda__number(leda__float_value(e->value));
    case LEDA_TYPE_DOUBLE:
        return leda__number(strtod(e->value, NULL));
    case LEDA_TYPE_INT:
    case LEDA_TYPE_BOOL:
    case LEDA_TYPE_ENUM:
        return json_integer(leda__atoi(e->value));
    case LEDA_TYPE_STRUCT:
    case LEDA_TYPE_ARRAY:
        return json_loadb(e->value, len, JSON_DECODE_ANY, NULL);
    default:
        return NULL;
    }
}

/* Sets obj[e->key] = value (stolen). Returns 0, or -1 (unterminated key, out of memory). */
static int leda__set_entry(json_t *obj, const leda_device_data_t *e, json_t *value)
{
    size_t len;
    if (!value) return -1;
    if (!leda__text_len(e->key, sizeof e->key, &len)) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(obj, e->key, value);
}

json_t *leda__data_to_json(const leda_device_data_t *d, int n)
{
    if (n < 0 || (!d && n > 0)) return NULL;
    json_t *obj = json_object();
    if (!obj) return NULL;
    for (int i = 0; i < n; i++) {
        if (leda__set_entry(obj, &d[i], leda__entry_value(&d[i])) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* {"value":value,"time":time_ms}; `value` is stolen. NULL on failure. */
static json_t *leda__timed(json_t *value, int64_t time_ms)
{
    json_t *t = json_object();
    if (!t || !value) {
        json_decref(t);
        json_decref(value);
        return NULL;
    }
    if (json_object_set_new(t, "value", value) != 0 ||
        json_object_set_new(t, "time", json_integer((json_int_t)time_ms)) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

json_t *leda__report_properties_json(const leda_device_data_t *d, int n, int64_t time_ms)
{
    if (!d || n <= 0) return NULL;
    json_t *obj = json_object();
    if (!obj) return NULL;
    for (int i = 0; i < n; i++) {
        if (leda__set_entry(obj, &d[i], leda__timed(leda__entry_value(&d[i]), time_ms)) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *leda__report_event_json(const leda_device_data_t *d, int n, int64_t time_ms)
{
    json_t *value = (d && n > 0) ? leda__data_to_json(d, n) : json_object();
    json_t *timed = leda__timed(value, time_ms);
    json_t *obj = timed ? json_object() : NULL;
    if (!obj || json_object_set_new(obj, "params", timed) != 0) {
        if (!obj) json_decref(timed);
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* ---- property report frames without a tree ---------------------------------------------- */

/* Makes room for `n` more bytes. Returns 0 or -1 (out of memory). */
static int leda__bytes_room(leda__bytes_t *b, size_t n)
{
    if (b->cap - b->len >= n) return 0;
    size_t cap = b->cap ? b->cap : 512;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    unsigned char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int leda__bytes_put(leda__bytes_t *b, const void *p, size_t n)
{
    if (leda__bytes_room(b, n) != 0) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

#define LEDA__PUT_LIT(b, lit) leda__bytes_put((b), (lit), sizeof(lit) - 1)

/* 1 when the `len` bytes of `s` are all ASCII (below 0x80), else 0. */
static int leda__ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

/* Appends ASCII `s` as jansson's dump writes a string: '"' and '\\' escaped, \b \f \n \r \t,
 * other control bytes as \u00XX with capital hex digits, '/' as it is. */
static int leda__put_string(leda__bytes_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    if (leda__bytes_room(b, len * 6 + 2) != 0) return -1;
    unsigned char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = 0;
        switch (c) {
        case '"':
            e = '"';
            break;
        case '\\':
            e = '\\';
            break;
        case '\b':
            e = 'b';
            break;
        case '\f':
            e = 'f';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\t':
            e = 't';
            break;
        default:
            if (c >= 0x20) {
                *o++ = c;
                continue;
            }
            memcpy(o, "\\u00", 4);
            o[4] = (unsigned char)hex[c >> 4];
            o[5] = (unsigned char)hex[c & 15];
            o += 6;
            continue;
        }
        *o++ = '\\';
        *o++ = (unsigned char)e;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* Appends an integer as jansson writes one ("%lld"). */
static int leda__put_int(leda__bytes_t *b, json_int_t v)
{
    char tmp[24];
    size_t k = sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[--k] = '-';
    return leda__bytes_put(b, tmp + k, sizeof tmp - k);
}

/* Appends a real as jansson writes one with precision 15: "%.15g", ".0" added when that has
 * neither '.' nor 'e', and the exponent without '+' or leading zeros. */
static int leda__put_real(leda__bytes_t *b, double v)
{
    char buf[40];
    int r = snprintf(buf, sizeof buf - 2, "%.15g", v);
    if (r < 0 || (size_t)r >= sizeof buf - 2) return -1;
    size_t len = (size_t)r;
    char *dot = strchr(buf, ','); /* a locale's decimal comma, as jansson undoes it */
    if (dot) *dot = '.';
    char *e = strchr(buf, 'e');
    if (!e && !strchr(buf, '.')) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-') start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    return leda__bytes_put(b, buf, len);
}

/* Appends the value of scalar entry `e` (text of `len` bytes) as leda__entry_value() and
 * json_dumps would write it. */
static int leda__put_entry(leda__bytes_t *b, const leda_device_data_t *e, size_t len)
{
    double v;
    switch (e->type) {
    case LEDA_TYPE_TEXT:
    case LEDA_TYPE_DATE:
        return leda__put_string(b, e->value, len);
    case LEDA_TYPE_INT:
    case LEDA_TYPE_BOOL:
    case LEDA_TYPE_ENUM:
        return leda__put_int(b, leda__atoi(e->value));
    case LEDA_TYPE_FLOAT:
        v = leda__float_value(e->value);
        break;
    default: /* LEDA_TYPE_DOUBLE: the caller took no other type */
        v = strtod(e->value, NULL);
        break;
    }
    if (!isfinite(v)) return LEDA__PUT_LIT(b, "null");
    if (v >= -LEDA__EXACT_INT && v <= LEDA__EXACT_INT && v == (double)(json_int_t)v)
        return leda__put_int(b, (json_int_t)v);
    return leda__put_real(b, v);
}

/* 1 when entry `e` can be written without a tree: a scalar type, a terminated ASCII key and
 * value. Sets *klen and *vlen. */
static int leda__fast_entry(const leda_device_data_t *e, size_t *klen, size_t *vlen)
{
    switch (e->type) {
    case LEDA_TYPE_TEXT:
    case LEDA_TYPE_DATE:
    case LEDA_TYPE_INT:
    case LEDA_TYPE_BOOL:
    case LEDA_TYPE_ENUM:
    case LEDA_TYPE_FLOAT:
    case LEDA_TYPE_DOUBLE:
        break;
    default:
        return 0;
    }
    return leda__text_len(e->key, sizeof e->key, klen) &&
           leda__text_len(e->value, sizeof e->value, vlen) && leda__ascii(e->key, *klen) &&
           leda__ascii(e->value, *vlen);
}

int leda__report_properties_frame(leda__bytes_t *out, const char *cloud_id,
                                  const leda_device_data_t *d, int n, int64_t time_ms)
{
    size_t klen[LEDA__FRAME_FAST_MAX], vlen[LEDA__FRAME_FAST_MAX];
    out->len = 0;
    if (!d || !cloud_id || n <= 0 || n > LEDA__FRAME_FAST_MAX) return 0;
    size_t idlen = strlen(cloud_id);
    if (!leda__ascii(cloud_id, idlen)) return 0;
    for (int i = 0; i < n; i++) {
        if (!leda__fast_entry(&d[i], &klen[i], &vlen[i])) return 0;
        for (int j = 0; j < i; j++) /* a key twice: jansson keeps the first place, last value */
            if (klen[j] == klen[i] && memcmp(d[j].key, d[i].key, klen[i]) == 0) return 0;
    }
    int bad = leda__bytes_put(out, "\0\0\0\0", 4) ||
              LEDA__PUT_LIT(out, "{\"type\":\"signal\",\"method\":\"properties\",\"params\":"
                                 "{\"deviceCloudId\":") ||
              leda__put_string(out, cloud_id, idlen) || LEDA__PUT_LIT(out, ",\"body\":{");
    for (int i = 0; i < n && !bad; i++) {
        bad = (i > 0 && LEDA__PUT_LIT(out, ",")) || leda__put_string(out, d[i].key, klen[i]) ||
              LEDA__PUT_LIT(out, ":{\"value\":") || leda__put_entry(out, &d[i], vlen[i]) ||
              LEDA__PUT_LIT(out, ",\"time\":") || leda__put_int(out, (json_int_t)time_ms) ||
              LEDA__PUT_LIT(out, "}");
    }
    if (bad || LEDA__PUT_LIT(out, "}}}")) {
        out->len = 0;
        return -1;
    }
    size_t body = out->len - 4;
    if (body > LEDA__WIRE_MAX) {
        out->len = 0;
        return 0;
    }
    out->data[0] = (unsigned char)(body >> 24);
    out->data[1] = (unsigned char)(body >> 16);
    out->data[2] = (unsigned char)(body >> 8);
    out->data[3] = (unsigned char)body;
    return 1;
}

/* ---- the TSL type table ------------------------------------------------------------------ */

/* The identifier string of a TSL item, or NULL. */
static const char *leda__tsl_identifier(json_t *item)
{
    return json_is_object(item) ? json_string_value(json_object_get(item, "identifier")) : NULL;
}

/* Maps a dataType.type string (may be NULL) to a type. */
static leda_data_type_e leda__tsl_type_of(const char *name)
{
    for (int i = 0; name && i < LEDA__COUNT(leda__tsl_types); i++)
        if (strcmp(leda__tsl_types[i].name, name) == 0) return leda__tsl_types[i].type;
    return LEDA_TYPE_BUTT;
}

/* Appends the typed input arguments of every service of `root` to `tsl`, or, when
 * `tsl->entries` is NULL, only counts them in tsl->count. Returns 0 or -1 (out of memory). */
static int leda__tsl_walk(json_t *root, leda__tsl_t *tsl)
{
    size_t i, j;
    json_t *svc, *arg;
    json_array_foreach(json_object_get(root, "services"), i, svc)
    {
        const char *sname = leda__tsl_identifier(svc);
        if (!sname) continue;
        json_array_foreach(json_object_get(svc, "inputData"), j, arg)
        {
            const char *key = leda__tsl_identifier(arg);
            if (!key) continue;
            if (tsl->entries) {
                size_t sl = strlen(sname), kl = strlen(key);
                leda__tsl_entry_t *e = &tsl->entries[tsl->count];
                e->service = malloc(sl + kl + 2);
                if (!e->service) return -1;
                memcpy(e->service, sname, sl + 1);
                memcpy(e->service + sl + 1, key, kl + 1);
                e->key = e->service + sl + 1;
                json_t *type = json_object_get(json_object_get(arg, "dataType"), "type");
                e->type = leda__tsl_type_of(json_string_value(type));
            }
            tsl->count++;
        }
    }
    return 0;
}

leda__tsl_t *leda__tsl_create(const char *tsl_json, json_error_t *error)
{
    json_error_t local;
    json_error_t *err = error ? error : &local;
    memset(err, 0, sizeof *err);
    leda__tsl_t *tsl = calloc(1, sizeof *tsl);
    if (!tsl || !tsl_json) return tsl;
    json_t *root = json_loads(tsl_json, 0, err);
    if (!root) return tsl;
    leda__tsl_walk(root, tsl); /* counting cannot fail */
    int n = tsl->count;
    tsl->count = 0;
    if (n > 0) {
        tsl->entries = calloc((size_t)n, sizeof *tsl->entries);
        if (!tsl->entries || leda__tsl_walk(root, tsl) != 0) {
            json_decref(root);
            leda__tsl_destroy(tsl);
            return NULL;
        }
    }
    json_decref(root);
    return tsl;
}

void leda__tsl_destroy(leda__tsl_t *tsl)
{
    if (!tsl) return;
    for (int i = 0; tsl->entries && i < tsl->count; i++)
        free(tsl->entries[i].service);
    free(tsl->entries);
    free(tsl);
}

int leda__tsl_count(const leda__tsl_t *tsl)
{
    return tsl ? tsl->count : 0;
}

leda_data_type_e leda__tsl_arg_type(const leda__tsl_t *tsl, const char *service, const char *key)
{
    if (!tsl || !service || !key) return LEDA_TYPE_BUTT;
    for (int i = 0; i < tsl->count; i++) {
        const leda__tsl_entry_t *e = &tsl->entries[i];
        if (strcmp(e->service, service) == 0 && strcmp(e->key, key) == 0) return e->type;
    }
    return LEDA_TYPE_BUTT;
}

/* ---- incoming ---------------------------------------------------------------------------- */

int leda__json_entry_count(const json_t *params)
{
    size_t n = 0;
    if (json_is_object(params))
        n = json_object_size(params);
    else if (json_is_array(params))
        n = json_array_size(params);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* Copies `len` bytes of text into a value buffer. LE_ERROR_INVAILD_PARAM if it does not fit
 * with its NUL. */
static int leda__put_value(leda_device_data_t *e, const char *text, size_t len)
{
    if (len >= sizeof e->value) return LE_ERROR_INVAILD_PARAM;
    memcpy(e->value, text, len);
    e->value[len] = '\0';
    return LE_SUCCESS;
}

/* Writes a JSON number as the original does: "%d" when integral and within int range, else
 * "%f". */
static int leda__put_number(leda_device_data_t *e, const json_t *v)
{
    char buf[MAX_PARAM_VALUE_LENGTH];
    int n;
    double d = json_number_value(v);
    if (json_is_integer(v) && json_integer_value(v) >= INT_MIN && json_integer_value(v) <= INT_MAX)
        n = snprintf(buf, sizeof buf, "%d", (int)json_integer_value(v));
    else if (json_is_real(v) && d >= INT_MIN && d <= INT_MAX && d == (double)(int)d)
        n = snprintf(buf, sizeof buf, "%d", (int)d);
    else
        n = snprintf(buf, sizeof buf, "%f", d);
    if (n < 0 || (size_t)n >= sizeof buf) return LE_ERROR_INVAILD_PARAM;
    return leda__put_value(e, buf, (size_t)n);
}

/* Fills entry `e` (zeroed first) from object member key: v. v is not a boolean or null. */
static int leda__member_to_entry(const char *key, json_t *v, const leda__tsl_t *tsl,
                                 const char *service, leda_device_data_t *e)
{
    size_t klen = strlen(key);
    memset(e, 0, sizeof *e);
    if (klen >= sizeof e->key) return LE_ERROR_INVAILD_PARAM;
    memcpy(e->key, key, klen + 1);
    if (json_is_number(v)) {
        e->type = leda__tsl_arg_type(tsl, service, key);
        return leda__put_number(e, v);
    }
    if (json_is_string(v)) {
        e->type = leda__tsl_arg_type(tsl, service, key);
        return leda__put_value(e, json_string_value(v), json_string_length(v));
    }
    /* object or array: compact JSON text */
    e->type = json_is_array(v) ? LEDA_TYPE_ARRAY : LEDA_TYPE_STRUCT;
    char *text = json_dumps(v, LEDA__JSON_FLAGS);
    if (!text) return LE_ERROR_ALLOCATING_MEM;
    int rc = leda__put_value(e, text, strlen(text));
    free(text);
    return rc;
}

/* Fills entry `e` (zeroed first) for one name of a get request. */
static int leda__name_to_entry(json_t *name, leda_device_data_t *e)
{
    size_t len = json_string_length(name);
    memset(e, 0, sizeof *e);
    e->type = LEDA_TYPE_BUTT;
    if (len >= sizeof e->key) return LE_ERROR_INVAILD_PARAM;
    memcpy(e->key, json_string_value(name), len);
    return LE_SUCCESS;
}

int leda__json_to_data(json_t *params, const leda__tsl_t *tsl, const char *service,
                       leda_device_data_t *out, int max, int *count)
{
    int n = 0, rc = LE_SUCCESS;
    if (!count) return LE_ERROR_INVAILD_PARAM;
    if (json_is_object(params)) {
        const char *key;
        json_t *v;
        json_object_foreach(params, key, v)
        {
            if (json_is_boolean(v) || json_is_null(v)) continue; /* dropped, as the original does */
            if (!out || n >= max) {
                rc = LE_ERROR_INVAILD_PARAM;
                break;
            }
            rc = leda__member_to_entry(key, v, tsl, service, &out[n]);
            if (rc != LE_SUCCESS) break;
            n++;
        }
    } else if (json_is_array(params)) {
        size_t i;
        json_t *v;
        json_array_foreach(params, i, v)
        {
            if (!json_is_string(v)) continue;
            if (!out || n >= max) {
                rc = LE_ERROR_INVAILD_PARAM;
                break;
            }
            rc = leda__name_to_entry(v, &out[n]);
            if (rc != LE_SUCCESS) break;
            n++;
        }
    }
    *count = rc == LE_SUCCESS ? n : 0;
    return rc;
}

int leda__service_output_count(const leda_device_data_t *out, int max)
{
    int n = 0;
    while (out && n < max && out[n].type != LEDA_TYPE_BUTT)
        n++;
    return n;
}

/* ---- replies ------------------------------------------------------------------------------ */

int leda__reply_code(int code)
{
    for (int i = 0; i < LEDA__COUNT(leda__messages); i++)
        if (leda__messages[i].code == code) return code;
    return LE_ERROR_UNKNOWN;
}

const char *leda__reply_message(int code)
{
    for (int i = 0; i < LEDA__COUNT(leda__messages); i++)
        if (leda__messages[i].code == code) return leda__messages[i].message;
    return "Unknow error";
}

/* {"code":c,"message":m,<name>:value} with c = leda__reply_code(code); `value` is stolen
 * (NULL gives {}). NULL when out of memory. */
static json_t *leda__status(int code, const char *name, json_t *value)
{
    int c = leda__reply_code(code);
    json_t *obj = json_object();
    if (!value) value = json_object();
    if (!obj || !value) {
        json_decref(obj);
        json_decref(value);
        return NULL;
    }
    if (json_object_set_new(obj, "code", json_integer(c)) != 0 ||
        json_object_set_new(obj, "message", json_string(leda__reply_message(c))) != 0) {
        json_decref(value);
        json_decref(obj);
        return NULL;
    }
    if (json_object_set_new(obj, name, value) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *leda__reply_json(int code, json_t *params)
{
    return leda__status(code, "params", params);
}

json_t *leda__reply_get(int code, const leda_device_data_t *props, int n)
{
    return leda__status(code, "params", (props && n > 0) ? leda__data_to_json(props, n) : NULL);
}

json_t *leda__reply_set(int code)
{
    return leda__status(code, "params", NULL);
}

json_t *leda__reply_service(int code, const leda_device_data_t *out, int max)
{
    int n = leda__service_output_count(out, max);
    json_t *data = n > 0 ? leda__data_to_json(out, n) : NULL;
    json_t *inner = leda__status(code, "data", data);
    return inner ? leda__status(code, "params", inner) : NULL;
}
