/* test_paths.c: paths in a manifest are relative and stay inside the bundle: "../x",
 * "a/../../x", absolute paths and symlinks that lead outside are refused; symlinks that stay
 * inside, and a bundle directory reached through a symlink, are fine. */
#include "bundle/bundle.h"
#include "core/error.h"
#include "fixture.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The demo with `from` replaced by `to` and then `prepare` run; expects exactly `want`. */
static void expect(const char *from, const char *to, void (*prepare)(fx_t *), const char *want)
{
    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, from, to);
    if (prepare) prepare(&f);
    CHECK_EQ_INT(fx_load(&f, NULL), *want ? VG_EINVAL : 0);
    CHECK_EQ_STR(fx_errors(&f), want);
    fx_close(&f);
}

#define TSL   "'tsl': 'products/light.json'"
#define EXEC  "'exec': 'drivers/demo_light/main'"
#define FILES "'fileList': []"

static void test_lexical(void)
{
    expect(TSL, "'tsl': '../light.json'", NULL,
           "bundle.json: products[0].tsl = \"../light.json\": leaves the bundle directory\n");
    expect(TSL, "'tsl': 'products/../../x/light.json'", NULL,
           "bundle.json: products[0].tsl = \"products/../../x/light.json\": leaves the bundle "
           "directory\n");
    expect(TSL, "'tsl': 'nowhere/../../light.json'", NULL,
           "bundle.json: products[0].tsl = \"nowhere/../../light.json\": leaves the bundle "
           "directory\n");
    expect(EXEC, "'exec': '../../bin/sh'", NULL,
           "bundle.json: drivers[0].exec = \"../../bin/sh\": leaves the bundle directory\n");
    /* fileList paths are taken from the driver's directory, two levels down */
    expect(FILES, "'fileList': [{'path': '../../../x'}, {'path': '../../products/light.json'}]",
           NULL,
           "bundle.json: drivers[0].config.fileList[0].path = \"../../../x\": leaves the bundle "
           "directory\n");
    /* staying inside through ".." and "." is fine */
    expect(TSL, "'tsl': './products/../products//light.json'", NULL, "");
}

static void test_absolute(void)
{
    expect(TSL, "'tsl': '/etc/hostname'", NULL,
           "bundle.json: products[0].tsl = \"/etc/hostname\": must be relative to the bundle "
           "directory, not absolute\n");
    expect(EXEC, "'exec': '/bin/true'", NULL,
           "bundle.json: drivers[0].exec = \"/bin/true\": must be relative to the bundle "
           "directory, not absolute\n");
    expect(FILES, "'fileList': [{'path': '/etc/passwd'}]", NULL,
           "bundle.json: drivers[0].config.fileList[0].path = \"/etc/passwd\": must be relative "
           "to the bundle directory, not absolute\n");
}

static void link_tsl_to_passwd(fx_t *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/products/light.json", f->dir);
    unlink(path);
    fx_symlink(f, "products/light.json", "/etc/passwd");
}

static void link_exec_to_true(fx_t *f)
{
    fx_symlink(f, "drivers/demo_light/true", "/bin/true");
}

static void link_products_dir_out(fx_t *f)
{
    fx_symlink(f, "etc", "/etc");
}

static void link_inside(fx_t *f)
{
    fx_write(f, "real/light.json", fx_demo_tsl);
    fx_symlink(f, "products/inside.json", "../real/light.json");
}

static void link_dangling(fx_t *f)
{
    fx_symlink(f, "products/dangling.json", "../nothing.json");
}

static void link_loop(fx_t *f)
{
    fx_symlink(f, "products/a.json", "b.json");
    fx_symlink(f, "products/b.json", "a.json");
}

static void test_symlinks(void)
{
    expect(NULL, NULL, link_tsl_to_passwd,
           "bundle.json: products[0].tsl = \"products/light.json\": leaves the bundle directory: "
           "it resolves to /etc/passwd\n");
    char want[2 * PATH_MAX], real[PATH_MAX];
    if (!realpath("/bin/true", real)) snprintf(real, sizeof real, "/bin/true");
    snprintf(want, sizeof want,
             "bundle.json: drivers[0].exec = \"drivers/demo_light/true\": leaves the bundle "
             "directory: it resolves to %s\n",
             real);
    expect(EXEC, "'exec': 'drivers/demo_light/true'", link_exec_to_true, want);
    expect(TSL, "'tsl': 'etc/hostname'", link_products_dir_out,
           "bundle.json: products[0].tsl = \"etc/hostname\": leaves the bundle directory: it "
           "resolves to /etc/hostname\n");
    expect(TSL, "'tsl': 'products/dangling.json'", link_dangling,
           "bundle.json: products[0].tsl = \"products/dangling.json\": no such file\n");
    expect(TSL, "'tsl': 'products/a.json'", link_loop,
           "bundle.json: products[0].tsl = \"products/a.json\": cannot be resolved: Too many "
           "levels of symbolic links\n");

    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, TSL, "'tsl': 'products/inside.json'");
    link_inside(&f);
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    snprintf(want, sizeof want, "%s/real/light.json", f.dir);
    CHECK_EQ_STR(f.b ? f.b->products[0].tsl_path : NULL, want);
    fx_close(&f);
}

/* A program that is a symlink inside the bundle runs from the folder the manifest names. */
static void test_exec_symlink_inside(void)
{
    fx_t f;
    fx_init(&f);
    fx_demo_with(&f, EXEC, "'exec': 'drivers/demo_light/run'");
    fx_program(&f, "bin/light", 0755);
    fx_symlink(&f, "drivers/demo_light/run", "../../bin/light");
    CHECK_EQ_INT(fx_load(&f, NULL), 0);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/bin/light", f.dir);
    CHECK_EQ_STR(f.b ? f.b->drivers[0].exec : NULL, want);
    snprintf(want, sizeof want, "%s/drivers/demo_light", f.dir);
    CHECK_EQ_STR(f.b ? f.b->drivers[0].dir : NULL, want);
    fx_close(&f);
}

/* The manifest itself must not lead outside; the bundle directory may be reached through a
 * symlink (its real path is what the bundle records). */
static void test_manifest_and_dir_links(void)
{
    fx_t out, f;
    fx_init(&out);
    fx_init(&f);
    fx_demo(&out);
    char target[PATH_MAX], want[2 * PATH_MAX];
    snprintf(target, sizeof target, "%s/bundle.json", out.dir);
    fx_write(&f, "products/light.json", fx_demo_tsl);
    fx_program(&f, "drivers/demo_light/main", 0755);
    fx_symlink(&f, "bundle.json", target);
    CHECK_EQ_INT(fx_load(&f, NULL), VG_EINVAL);
    snprintf(want, sizeof want,
             "bundle.json: (file): leaves the bundle directory: it resolves to %s\n", target);
    CHECK_EQ_STR(fx_errors(&f), want);

    snprintf(target, sizeof target, "%s/bundle.json", f.dir);
    unlink(target);
    fx_manifest(&f, NULL, NULL);
    fx_symlink(&out, "link", f.dir); /* out/link -> f */
    snprintf(target, sizeof target, "%s/link", out.dir);
    CHECK_EQ_INT(fx_load(&f, target), 0);
    CHECK_EQ_STR(f.b ? f.b->dir : NULL, f.dir);
    fx_close(&f);
    fx_close(&out);
}

VG_TEST_MAIN(VG_TEST(test_lexical) VG_TEST(test_absolute) VG_TEST(test_symlinks)
                 VG_TEST(test_exec_symlink_inside) VG_TEST(test_manifest_and_dir_links))
