/* check.c: the generic half of manifest checking: problem lines, field paths, the key-table
 * walker that every kind of object goes through, the name and version formats, identifiers
 * and integer bounds. */
#include "bundle/bundle_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE__VALUE_SHOWN 80 /* characters of a value quoted in a problem line */

/* Appends `s` with control characters replaced, so that one problem stays one line. */
static void bundle__put_clean(bundle__ctx_t *c, const char *s)
{
    size_t start = c->errors->len;
    if (vg_buf_puts(c->errors, s)) {
        c->oom = 1;
        return;
    }
    for (size_t i = start; i < c->errors->len; i++)
        if ((unsigned char)c->errors->data[i] < 0x20 || c->errors->data[i] == 0x7f)
            c->errors->data[i] = '?';
}

void bundle__err(bundle__ctx_t *c, const char *file, const char *field, json_t *value,
                 const char *fmt, ...)
{
    c->nerrors++;
    if (!c->errors) return;
    bundle__put_clean(c, file);
    if (vg_buf_puts(c->errors, ": ")) c->oom = 1;
    bundle__put_clean(c, field);
    if (value) {
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text) {
            c->oom = 1;
        } else {
            if (strlen(text) > BUNDLE__VALUE_SHOWN) {
                size_t cut = BUNDLE__VALUE_SHOWN - 3;
                while (cut && ((unsigned char)text[cut] & 0xC0) == 0x80)
                    cut--; /* UTF-8 */
                strcpy(text + cut, "...");
            }
            if (vg_buf_printf(c->errors, " = %s", text)) c->oom = 1;
            free(text);
        }
    }
    if (vg_buf_puts(c->errors, ": ")) c->oom = 1;
    char problem[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    bundle__put_clean(c, problem);
    if (vg_buf_puts(c->errors, "\n")) c->oom = 1;
}

/* ASCII classes, independent of the locale. */
static int bundle__digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int bundle__alpha(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static int bundle__alnum(char ch)
{
    return bundle__alpha(ch) || bundle__digit(ch);
}

/* A key printed bare after a dot: a letter or '_' first, then letters, digits, '_' and '-'. */
static int bundle__plain_key(const char *key)
{
    if (!bundle__alpha(key[0]) && key[0] != '_') return 0;
    for (const char *p = key; *p; p++)
        if (!bundle__alnum(*p) && *p != '_' && *p != '-') return 0;
    return 1;
}

void bundle__field_key(char *out, const char *prefix, const char *key)
{
    if (bundle__plain_key(key)) {
        snprintf(out, BUNDLE__FIELD_MAX, "%s%s%s", prefix, *prefix ? "." : "", key);
        return;
    }
    json_t *s = json_string(key);
    char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    snprintf(out, BUNDLE__FIELD_MAX, "%s[%s]", prefix, quoted ? quoted : "?");
    free(quoted);
    json_decref(s);
}

void bundle__field_index(char *out, const char *prefix, size_t i)
{
    snprintf(out, BUNDLE__FIELD_MAX, "%s[%zu]", prefix, i);
}

const char *bundle__seen(bundle__ctx_t *c, json_t *set, const char *value, const char *field)
{
    json_t *first = json_object_get(set, value);
    if (first) return json_string_value(first);
    if (json_object_set_new(set, value, json_string(field))) c->oom = 1;
    return NULL;
}

char *bundle__strdup(bundle__ctx_t *c, const char *s)
{
    char *p = strdup(s);
    if (!p) c->oom = 1;
    return p;
}

void bundle__list_keys(json_t *set, char *out, size_t n)
{
    size_t shown = 0, total = json_object_size(set), len;
    const char *key;
    json_t *v;
    out[0] = '\0';
    json_object_foreach(set, key, v)
    {
        if (shown == 8) break; /* a long list would bury the problem */
        len = strlen(out);
        snprintf(out + len, n - len, "%s%s", shown++ ? ", " : "", key);
    }
    len = strlen(out);
    if (total > shown) snprintf(out + len, n - len, " and %zu more", total - shown);
}

int bundle__identifier(const char *s, size_t n)
{
    if (n == 0 || (!bundle__alpha(s[0]) && s[0] != '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!bundle__alnum(s[i]) && s[i] != '_') return 0;
    return 1;
}

static const char *const bundle__type_names[] = {
    [BUNDLE__STRING] = "a string",
    [BUNDLE__OBJECT] = "an object",
    [BUNDLE__ARRAY] = "an array",
    [BUNDLE__INTEGER] = "an integer",
};

static int bundle__type_ok(json_t *v, bundle__type_t t)
{
    switch (t) {
    case BUNDLE__STRING:
        return json_is_string(v);
    case BUNDLE__OBJECT:
        return json_is_object(v);
    case BUNDLE__ARRAY:
        return json_is_array(v);
    case BUNDLE__INTEGER:
        return json_is_integer(v);
    }
    return 0;
}

static const bundle__key_t *bundle__find_key(const bundle__kind_t *kind, const char *key)
{
    for (const bundle__key_t *k = kind->keys; k->key; k++)
        if (strcmp(k->key, key) == 0) return k;
    return NULL;
}

void bundle__check_object(bundle__ctx_t *c, const char *file, const char *field, json_t *obj,
                          const bundle__kind_t *kind, void *target)
{
    char f[BUNDLE__FIELD_MAX];
    const char *key;
    json_t *v;
    if (!kind->open) {
        json_object_foreach(obj, key, v)
        {
            if (bundle__find_key(kind, key)) continue;
            char valid[512] = "";
            for (const bundle__key_t *k = kind->keys; k->key; k++) {
                size_t n = strlen(valid);
                snprintf(valid + n, sizeof valid - n, "%s%s", n ? ", " : "", k->key);
            }
            bundle__field_key(f, field, key);
            bundle__err(c, file, f, NULL, "unknown key; valid keys are %s", valid);
        }
    }
    for (const bundle__key_t *k = kind->keys; k->key; k++) {
        bundle__field_key(f, field, k->key);
        v = json_object_get(obj, k->key);
        if (!v) {
            if (k->required) bundle__err(c, file, f, NULL, "required key missing");
        } else if (!bundle__type_ok(v, k->type)) {
            bundle__err(c, file, f, v, "expected %s", bundle__type_names[k->type]);
        } else if (k->check) {
            k->check(c, file, f, v, target);
        }
    }
    if (kind->finish) kind->finish(c, file, field, obj, target);
}

void bundle__check_items(bundle__ctx_t *c, const char *file, const char *field, json_t *arr,
                         const bundle__kind_t *kind, void *items, size_t size)
{
    char f[BUNDLE__FIELD_MAX];
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        bundle__field_index(f, field, i);
        if (json_is_object(item))
            bundle__check_object(c, file, f, item, kind, (char *)items + i * size);
        else
            bundle__err(c, file, f, item, "expected an object");
    }
}

/* The punctuation each name format allows besides A-Z a-z 0-9. */
static const char *const bundle__format_extra[] = {
    [BUNDLE__NAME] = "._-",
    [BUNDLE__PRODUCT_KEY] = "_.:-",
    [BUNDLE__DEVICE_NAME] = "_.:@-",
};

int bundle__check_format(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                         bundle__format_t f)
{
    const char *allowed = bundle__format_extra[f];
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int ok = n >= 1 && n <= BUNDLE_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = bundle__alnum(s[i]) || (s[i] && strchr(allowed, s[i]));
    if (ok) return 1;
    char extra[32] = "";
    for (const char *p = allowed; *p && strlen(extra) + 3 < sizeof extra; p++) {
        size_t len = strlen(extra);
        extra[len] = ' ';
        extra[len + 1] = *p;
        extra[len + 2] = '\0';
    }
    bundle__err(c, file, field, v, "expected 1 to %d characters of A-Z a-z 0-9%s", BUNDLE_NAME_MAX,
                extra);
    return 0;
}

int bundle__check_range(bundle__ctx_t *c, const char *file, const char *field, json_t *v,
                        int64_t min, int64_t max)
{
    json_int_t n = json_integer_value(v);
    if (n >= min && n <= max) return 1;
    bundle__err(c, file, field, v, "expected an integer from %lld to %lld", (long long)min,
                (long long)max);
    return 0;
}

/* Skips one or more digits at *p; returns 0 when there is none. */
static int bundle__digits(const char **p)
{
    const char *start = *p;
    while (bundle__digit(**p))
        (*p)++;
    return *p > start;
}

int bundle__version_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > BUNDLE_VERSION_MAX) return 0;
    const char *p = s;
    if (!bundle__digits(&p)) return 0;
    for (int parts = 1; *p == '.' && parts < 3; parts++) {
        p++;
        if (!bundle__digits(&p)) return 0;
    }
    if (*p == '\0') return 1;
    if (*p != '-' && *p != '+') return 0;
    if (*++p == '\0') return 0;
    for (; *p; p++)
        if (!bundle__alnum(*p) && !strchr(".+-", *p)) return 0;
    return 1;
}
