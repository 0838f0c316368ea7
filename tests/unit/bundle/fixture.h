/* fixture.h: bundles built in temporary directories for the bundle tests: files, programs,
 * symlinks, the valid demo bundle and variants of it with one piece of text replaced. */
#ifndef VG_TEST_BUNDLE_FIXTURE_H
#define VG_TEST_BUNDLE_FIXTURE_H

#include "bundle/bundle.h"
#include "core/buf.h"

#include <limits.h>

typedef struct fx {
    char dir[256];   /* the bundle directory, realpath'd */
    vg_buf_t errors; /* the problems of the last fx_load */
    bundle_t *b;     /* the bundle of the last successful fx_load */
} fx_t;

/* The demo manifest, with ' for " (fx_manifest converts). */
extern const char *const fx_demo_manifest;
/* The demo TSL, with ' for ". */
extern const char *const fx_demo_tsl;

/* Makes a new empty temporary directory. */
void fx_init(fx_t *f);
/* Frees the bundle and the errors and removes the directory tree. */
void fx_close(fx_t *f);
/* Writes `text` (' becomes ") to `rel`, creating parent directories. */
void fx_write(fx_t *f, const char *rel, const char *text);
/* Writes `n` bytes of 'x'-padding inside a JSON object to `rel`. */
void fx_write_big(fx_t *f, const char *rel, size_t n);
/* Writes a shell script to `rel` with mode `mode`. */
void fx_program(fx_t *f, const char *rel, int mode);
/* Makes `rel` a symlink to `target`. */
void fx_symlink(fx_t *f, const char *rel, const char *target);
/* Writes the demo manifest to bundle.json with every `from` replaced by `to` (both with '). */
void fx_manifest(fx_t *f, const char *from, const char *to);
/* The whole valid demo bundle: manifest, TSL, program. */
void fx_demo(fx_t *f);
/* The demo bundle with one replacement in its manifest. */
void fx_demo_with(fx_t *f, const char *from, const char *to);
/* Loads f->dir (or `dir` when not NULL); returns the rc; problems in f->errors.data. */
int fx_load(fx_t *f, const char *dir);
/* The problems of the last load, "" when none. */
const char *fx_errors(const fx_t *f);

#endif
