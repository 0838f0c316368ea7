/* url.c: the client's inputs that users type: gateway URLs (https://HOST[:PORT][/BASE],
 * http:// for loopback) and SHA-256 certificate fingerprints. Every refusal says which part
 * of what was typed is wrong and what was expected. */
#include "client/client.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *prefix;
    int tls;
} client__schemes[] = {
    {"https://", 1},
    {"http://", 0},
};

static int client__bad(char *err, size_t errlen, const char *url, const char *what)
{
    snprintf(err, errlen, "gateway URL \"%s\": %s", url, what);
    return VG_EINVAL;
}

/* A host name: letters, digits, '-', '_' and '.', labels of 1..63 characters. */
static int client__valid_name(const char *h, size_t len)
{
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch == '.') {
            if (label == 0) return 0;
            label = 0;
        } else if (isalnum(ch) || ch == '-' || ch == '_') {
            if (++label > 63) return 0;
        } else {
            return 0;
        }
    }
    return len > 0;
}

int client_url_parse(const char *url, client_url_t *out, char *err, size_t errlen)
{
    client_url_t u;
    memset(&u, 0, sizeof u);
    if (!url || !*url) return client__bad(err, errlen, url ? url : "", "empty");
    const char *p = NULL;
    for (size_t i = 0; i < sizeof client__schemes / sizeof client__schemes[0]; i++) {
        size_t n = strlen(client__schemes[i].prefix);
        if (strncasecmp(url, client__schemes[i].prefix, n) == 0) {
            p = url + n;
            u.tls = client__schemes[i].tls;
        }
    }
    if (!p)
        return client__bad(err, errlen, url,
                           "expected https://HOST[:PORT][/BASE] (or http:// for a loopback "
                           "address)");
    size_t auth_len = strcspn(p, "/?#");
    if (memchr(p, '@', auth_len))
        return client__bad(err, errlen, url,
                           "user names do not belong in the URL (use --user; the password "
                           "comes from VERGE_PASSWORD or a prompt)");
    const char *host = p, *port = NULL;
    size_t host_len;
    if (*p == '[') {
        const char *close = memchr(p, ']', auth_len);
        if (!close) return client__bad(err, errlen, url, "IPv6 address without its closing ']'");
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < p + auth_len) {
            if (close[1] != ':')
                return client__bad(err, errlen, url, "expected ':PORT' after the IPv6 address");
            port = close + 2;
        }
        u.ip = 6;
    } else {
        const char *colon = memchr(p, ':', auth_len);
        if (colon && memchr(colon + 1, ':', (size_t)(p + auth_len - colon - 1)))
            return client__bad(err, errlen, url,
                               "an IPv6 address must be written in brackets, as in "
                               "https://[::1]:9999");
        host_len = colon ? (size_t)(colon - p) : auth_len;
        if (colon) port = colon + 1;
    }
    if (host_len == 0) return client__bad(err, errlen, url, "no host");
    if (host_len >= sizeof u.host) return client__bad(err, errlen, url, "host name too long");
    memcpy(u.host, host, host_len);
    u.host[host_len] = '\0';
    unsigned char addr[16];
    if (u.ip == 6) {
        if (inet_pton(AF_INET6, u.host, addr) != 1)
            return client__bad(err, errlen, url,
                               "not an IPv6 address between '[' and ']' (zone ids such as "
                               "%eth0 are not supported)");
    } else if (inet_pton(AF_INET, u.host, addr) == 1) {
        u.ip = 4;
    } else if (strspn(u.host, "0123456789.") == host_len) {
        return client__bad(err, errlen, url, "not an IPv4 address");
    } else if (!client__valid_name(u.host, host_len)) {
        return client__bad(err, errlen, url, "the host is not a valid name or address");
    }

    u.port = CLIENT_DEFAULT_PORT;
    if (port) {
        size_t plen = (size_t)(p + auth_len - port);
        unsigned v = 0;
        if (plen == 0 || plen > 5 || strspn(port, "0123456789") < plen)
            return client__bad(err, errlen, url, "the port must be a number from 1 to 65535");
        for (size_t i = 0; i < plen; i++)
            v = v * 10 + (unsigned)(port[i] - '0');
        if (v == 0 || v > 65535)
            return client__bad(err, errlen, url, "the port must be a number from 1 to 65535");
        u.port = v;
    }

    const char *path = p + auth_len;
    if (*path == '?' || *path == '#' || strpbrk(path, "?#"))
        return client__bad(err, errlen, url, "a query or fragment has no place in the gateway URL");
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return client__bad(err, errlen, url,
                               "the path contains a space or a control or non-ASCII character");
    size_t blen = strlen(path);
    while (blen > 0 && path[blen - 1] == '/')
        blen--;
    if (blen >= sizeof u.base) return client__bad(err, errlen, url, "path too long");
    memcpy(u.base, path, blen);
    u.base[blen] = '\0';
    snprintf(u.authority, sizeof u.authority, u.ip == 6 ? "[%s]:%u" : "%s:%u", u.host, u.port);
    *out = u;
    return 0;
}

static int client__hex(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int client_fingerprint_parse(const char *text, unsigned char out[32], char *err, size_t errlen)
{
    unsigned char v[32];
    size_t len = text ? strlen(text) : 0;
    /* colons after every pair but the last (95 characters), or none at all (64) */
    int colons = len == 95;
    if (len != 95 && len != 64) goto bad;
    for (size_t i = 0, k = 0; k < 32; k++) {
        int hi = client__hex((unsigned char)text[i]), lo = client__hex((unsigned char)text[i + 1]);
        if (hi < 0 || lo < 0) goto bad;
        v[k] = (unsigned char)(hi << 4 | lo);
        i += 2;
        if (colons && k < 31 && text[i++] != ':') goto bad;
    }
    memcpy(out, v, sizeof v);
    return 0;
bad:
    snprintf(err, errlen,
             "fingerprint \"%s\": expected the certificate's SHA-256 as 32 hex pairs separated "
             "by ':' (AB:CD:...: verge logs it at start) or as 64 hex digits",
             text ? text : "");
    return VG_EINVAL;
}
