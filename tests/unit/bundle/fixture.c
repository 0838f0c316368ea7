/* fixture.c: temporary bundle directories for the bundle tests (see fixture.h). */
#include "fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const fx_demo_manifest =
    "{'name': 'demo', 'version': '1.0.0',\n"
    " 'products': [{'productKey': 'a1DemoLight', 'tsl': 'products/light.json'}],\n"
    " 'drivers': [{\n"
    "   'name': 'demo_light', 'exec': 'drivers/demo_light/main',\n"
    "   'config': {'json': {}, 'kv': [], 'fileList': []},\n"
    "   'devices': [{'productKey': 'a1DemoLight', 'deviceName': 'LightDev1',\n"
    "                'tags': {'location': 'master bedroom'}, 'custom': {'port': 12345}},\n"
    "               {'productKey': 'a1DemoLight', 'deviceName': 'LightDev2',\n"
    "                'tags': {'location': 'living room'}}]\n"
    " }]\n"
    "}\n";

const char *const fx_demo_tsl =
    "{'schema': 'https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json',\n"
    " 'profile': {'productKey': 'a1DemoLight'}, 'properties': [], 'events': [],\n"
    " 'services': []}\n";

static void fx__die(const char *what, const char *path)
{
    fprintf(stderr, "fixture: %s %s failed\n", what, path);
    exit(2);
}

void fx_init(fx_t *f)
{
    char tmpl[] = "/tmp/vg-bundle-XXXXXX";
    if (!mkdtemp(tmpl)) fx__die("mkdtemp", tmpl);
    if (!realpath(tmpl, f->dir)) fx__die("realpath", tmpl);
    vg_buf_init(&f->errors);
    f->b = NULL;
}

static int fx__rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fx_close(fx_t *f)
{
    bundle_destroy(f->b);
    f->b = NULL;
    vg_buf_close(&f->errors);
    nftw(f->dir, fx__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the parent directories of `path`. */
static void fx__parents(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(tmp, 0755);
        *p = '/';
    }
}

static void fx__path(const fx_t *f, const char *rel, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s", f->dir, rel);
    fx__parents(out);
}

void fx_write(fx_t *f, const char *rel, const char *text)
{
    char path[PATH_MAX];
    fx__path(f, rel, path);
    FILE *fp = fopen(path, "w");
    if (!fp) fx__die("fopen", path);
    for (const char *p = text; *p; p++)
        fputc(*p == '\'' ? '"' : *p, fp);
    fclose(fp);
}

void fx_write_big(fx_t *f, const char *rel, size_t n)
{
    char path[PATH_MAX];
    fx__path(f, rel, path);
    FILE *fp = fopen(path, "w");
    if (!fp) fx__die("fopen", path);
    fputs("{\"x\":\"", fp);
    for (size_t i = 8; i < n; i++)
        fputc('x', fp);
    fputs("\"}", fp);
    fclose(fp);
}

void fx_program(fx_t *f, const char *rel, int mode)
{
    char path[PATH_MAX];
    fx_write(f, rel, "#!/bin/sh\nexit 0\n");
    snprintf(path, sizeof path, "%s/%s", f->dir, rel);
    if (chmod(path, (mode_t)mode)) fx__die("chmod", path);
}

void fx_symlink(fx_t *f, const char *rel, const char *target)
{
    char path[PATH_MAX];
    fx__path(f, rel, path);
    if (symlink(target, path)) fx__die("symlink", path);
}

void fx_manifest(fx_t *f, const char *from, const char *to)
{
    vg_buf_t b;
    vg_buf_init(&b);
    const char *p = fx_demo_manifest;
    size_t n = from ? strlen(from) : 0;
    int replaced = 0;
    while (*p) {
        if (n && strncmp(p, from, n) == 0) {
            vg_buf_puts(&b, to);
            p += n;
            replaced++;
        } else {
            vg_buf_append(&b, p++, 1);
        }
    }
    if (n && !replaced) fx__die("replace (text not in the demo manifest)", from);
    fx_write(f, "bundle.json", b.data);
    vg_buf_close(&b);
}

void fx_demo(fx_t *f)
{
    fx_demo_with(f, NULL, NULL);
}

void fx_demo_with(fx_t *f, const char *from, const char *to)
{
    fx_manifest(f, from, to);
    fx_write(f, "products/light.json", fx_demo_tsl);
    fx_program(f, "drivers/demo_light/main", 0755);
}

int fx_load(fx_t *f, const char *dir)
{
    bundle_destroy(f->b);
    f->b = NULL;
    vg_buf_close(&f->errors);
    return bundle_load(dir ? dir : f->dir, &f->b, &f->errors);
}

const char *fx_errors(const fx_t *f)
{
    return f->errors.data ? f->errors.data : "";
}
