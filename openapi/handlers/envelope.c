/* envelope.c: parsing of the OpenAPI request envelope. The body is JSON whatever the
 * Content-Type says (the seed's curl commands send form-encoded content types). */
#include "handlers/api.h"
#include "core/error.h"

#include <string.h>

static const struct {
    const char *key;
    json_type type;
    int allow_int; /* "id" may be a string or an integer */
    const char *expected;
} vg__envelope_keys[] = {
    {"id", JSON_STRING, 1, "a string or an integer"},
    {"version", JSON_STRING, 0, "a string such as \"1.0\""},
    {"request", JSON_OBJECT, 0, "an object such as {\"apiVer\":\"0.6\"}"},
    {"params", JSON_OBJECT, 0, "an object"},
};

#define VG__NKEYS (sizeof vg__envelope_keys / sizeof vg__envelope_keys[0])

static int vg__blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int api_envelope_parse(const char *body, size_t len, json_t **root, char *err, size_t errlen)
{
    *root = NULL;
    if (vg__blank(body, len)) return 0;
    json_error_t je;
    json_t *r = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!r) {
        snprintf(err, errlen, "malformed JSON body at line %d, column %d: %s", je.line,
                 je.column, je.text);
        return VG_EPARSE;
    }
    if (!json_is_object(r)) {
        snprintf(err, errlen,
                 "the JSON body must be an object like "
                 "{\"id\":1,\"version\":\"1.0\",\"request\":{\"apiVer\":\"0.6\"},\"params\":{}}");
        json_decref(r);
        return VG_ETYPE;
    }
    const char *key;
    json_t *v;
    json_object_foreach(r, key, v) {
        size_t i = 0;
        while (i < VG__NKEYS && strcmp(vg__envelope_keys[i].key, key) != 0) i++;
        if (i == VG__NKEYS) {
            snprintf(err, errlen,
                     "unknown field \"%s\" in the request; expected id, version, request, params",
                     key);
            json_decref(r);
            return VG_ETYPE;
        }
        if (json_is_null(v)) continue;
        if (json_typeof(v) != vg__envelope_keys[i].type &&
            !(vg__envelope_keys[i].allow_int && json_is_integer(v))) {
            snprintf(err, errlen, "field \"%s\" must be %s", key, vg__envelope_keys[i].expected);
            json_decref(r);
            return VG_ETYPE;
        }
    }
    json_t *req = json_object_get(r, "request");
    json_t *ver = req ? json_object_get(req, "apiVer") : NULL;
    if (ver && !json_is_string(ver)) {
        snprintf(err, errlen, "field \"request.apiVer\" must be a string such as \"0.6\"");
        json_decref(r);
        return VG_ETYPE;
    }
    *root = r;
    return 0;
}
