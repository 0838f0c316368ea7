/* libarchive.c: loads libarchive at the first pack or unpack and keeps it loaded, so that a
 * daemon that is not deploying maps neither libarchive nor the libraries it depends on
 * (libxml2, ICU, libstdc++, nettle, the compressors). */
#include "deploy/libarchive_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* What the one load left: the table when `ok`, else the message that every call returns. */
static struct {
    pthread_once_t once;
    int ok;
    deploy__la_t la;
    char why[512];
} deploy__la_state = {.once = PTHREAD_ONCE_INIT};

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym results fit a function pointer");

/* The name of every function of the table, with where its pointer goes. */
#define DEPLOY__LA_SYM(fn) {#fn, offsetof(deploy__la_t, fn)},
static const struct {
    const char *name;
    size_t off;
} deploy__la_syms[] = {DEPLOY__LA_FUNCS(DEPLOY__LA_SYM)};
#undef DEPLOY__LA_SYM

static void deploy__la_load(void)
{
    char *why = deploy__la_state.why;
    size_t whylen = sizeof deploy__la_state.why;
    void *h = dlopen(DEPLOY__LA_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, whylen, "%s cannot be loaded (%s); install the Debian package %s",
                 DEPLOY__LA_SONAME, e ? e : "unknown reason", DEPLOY__LA_PACKAGE);
        return;
    }
    for (size_t i = 0; i < sizeof deploy__la_syms / sizeof deploy__la_syms[0]; i++) {
        dlerror();
        void *p = dlsym(h, deploy__la_syms[i].name);
        if (!p) {
            const char *e = dlerror();
            snprintf(why, whylen, "%s lacks %s (%s); install the Debian package %s",
                     DEPLOY__LA_SONAME, deploy__la_syms[i].name, e ? e : "null symbol",
                     DEPLOY__LA_PACKAGE);
            dlclose(h);
            return;
        }
        /* POSIX: a data pointer from dlsym converts to the function pointer it names. */
        memcpy((char *)&deploy__la_state.la + deploy__la_syms[i].off, &p, sizeof p);
    }
    deploy__la_state.ok = 1; /* h is kept until the process exits */
}

const deploy__la_t *deploy__la_get(char *err, size_t errlen)
{
    pthread_once(&deploy__la_state.once, deploy__la_load);
    if (deploy__la_state.ok) return &deploy__la_state.la;
    if (errlen > 0) snprintf(err, errlen, "%s", deploy__la_state.why);
    return NULL;
}
