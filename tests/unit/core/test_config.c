/* test_config.c: the option table: defaults, JSON loading, type and bound errors that name
 * the key and value, unknown keys listing the valid ones, flags, and the generated docs. */
#include "core/config.h"
#include "core/error.h"
#include "vg_test.h"

#include <stdlib.h>

static void test_defaults(void)
{
    vg_config_t c;
    vg_config_defaults(&c);
    CHECK_EQ_STR(c.listen, "0.0.0.0:9999");
    CHECK_EQ_STR(c.data_dir, "var");
    CHECK_EQ_INT(c.session_idle_s, 3600);
    CHECK_EQ_INT(c.pbkdf2_iterations, 100000);
    CHECK_EQ_INT(c.plain_http_loopback, 1);
    CHECK_EQ_STR(c.log_level, "info");
}

static void test_load_ok(void)
{
    vg_config_t c;
    char err[512];
    vg_config_defaults(&c);
    CHECK_EQ_INT(vg_config_load_string(&c,
                                       "{\"server\":{\"listen\":\"127.0.0.1:1\"},"
                                       "\"limits\":{\"max_body_bytes\":10},"
                                       "\"log\":{\"format\":\"json\"}}",
                                       "t.json", err, sizeof err),
                 0);
    CHECK_EQ_STR(c.listen, "127.0.0.1:1");
    CHECK_EQ_INT(c.max_body_bytes, 10);
    CHECK_EQ_STR(c.log_format, "json");
    CHECK_EQ_INT(c.max_headers, 64); /* untouched keys keep their defaults */
}

static void test_unknown_key(void)
{
    vg_config_t c;
    char err[2048];
    vg_config_defaults(&c);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"limits\":{\"max_bdy\":1}}", "t.json", err,
                                       sizeof err),
                 VG_ENOENT);
    CHECK(strstr(err, "limits.max_bdy") != NULL);
    CHECK(strstr(err, "limits.max_body_bytes") != NULL); /* the valid keys are listed */
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"nope\":{}}", "t.json", err, sizeof err),
                 VG_ENOENT);
    CHECK(strstr(err, "nope") != NULL);
}

static void test_type_and_bounds(void)
{
    vg_config_t c;
    char err[512];
    vg_config_defaults(&c);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"limits\":{\"max_headers\":\"64\"}}", "t.json",
                                       err, sizeof err),
                 VG_ETYPE);
    CHECK(strstr(err, "limits.max_headers") && strstr(err, "\"64\"") && strstr(err, "integer"));
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"limits\":{\"max_headers\":1}}", "t.json", err,
                                       sizeof err),
                 VG_ERANGE);
    CHECK(strstr(err, "from 4 to 1024") != NULL);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"log\":{\"level\":\"loud\"}}", "t.json", err,
                                       sizeof err),
                 VG_EINVAL);
    CHECK(strstr(err, "debug|info|warn|error") != NULL);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"server\":{\"plain_http_loopback\":1}}", "t.json",
                                       err, sizeof err),
                 VG_ETYPE);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"server\":", "t.json", err, sizeof err), VG_EPARSE);
    CHECK(strstr(err, "t.json:") != NULL);
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"log\":{\"level\":\"info\",\"level\":\"debug\"}}",
                                       "t.json", err, sizeof err),
                 VG_EPARSE); /* duplicate keys are refused */
}

static void test_set(void)
{
    vg_config_t c;
    char err[2048];
    vg_config_defaults(&c);
    CHECK_EQ_INT(vg_config_set(&c, "auth.session_idle_s", "60", err, sizeof err), 0);
    CHECK_EQ_INT(c.session_idle_s, 60);
    CHECK_EQ_INT(vg_config_set(&c, "auth.session_idle_s", "6x", err, sizeof err), VG_ETYPE);
    CHECK_EQ_INT(vg_config_set(&c, "server.plain_http_loopback", "false", err, sizeof err), 0);
    CHECK_EQ_INT(c.plain_http_loopback, 0);
    CHECK_EQ_INT(vg_config_set(&c, "no.such", "1", err, sizeof err), VG_ENOENT);
    CHECK(strstr(err, "server.listen") != NULL);
}

static void test_defaults_roundtrip(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    vg_config_write_defaults(f);
    fclose(f);
    vg_config_t a, b;
    char err[512];
    vg_config_defaults(&a);
    vg_config_defaults(&b);
    b.max_headers = 5;
    CHECK_EQ_INT(vg_config_load_string(&b, text, "defaults", err, sizeof err), 0);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    free(text);
}

static void test_drivers_and_things(void)
{
    vg_config_t c;
    char err[2048];
    vg_config_defaults(&c);
    CHECK_EQ_INT(c.driver_call_timeout_ms, 5000);
    CHECK_EQ_INT(c.driver_max_frame_bytes, 1048576);
    CHECK_EQ_INT(c.things_cache_flush_ms, 200);
    CHECK_EQ_INT(vg_config_load_string(&c,
                                       "{\"drivers\":{\"call_timeout_ms\":250,"
                                       "\"max_frame_bytes\":2097152},"
                                       "\"things\":{\"cache_flush_ms\":50}}",
                                       "t.json", err, sizeof err),
                 0);
    CHECK_EQ_INT(c.driver_call_timeout_ms, 250);
    CHECK_EQ_INT(c.driver_max_frame_bytes, 2097152);
    CHECK_EQ_INT(c.things_cache_flush_ms, 50);
    CHECK_EQ_INT(vg_config_set(&c, "drivers.call_timeout_ms", "99", err, sizeof err), VG_ERANGE);
    CHECK(strstr(err, "from 100 to 600000") != NULL);
    CHECK_EQ_INT(vg_config_set(&c, "drivers.max_frame_bytes", "67108865", err, sizeof err),
                 VG_ERANGE);
    CHECK_EQ_INT(vg_config_set(&c, "things.cache_flush_ms", "9", err, sizeof err), VG_ERANGE);
    CHECK_EQ_INT(vg_config_set(&c, "things.cache_flush_ms", "60000", err, sizeof err), 0);
    /* An unknown section lists the sections of the table, the new ones included. */
    CHECK_EQ_INT(vg_config_load_string(&c, "{\"thing\":{}}", "t.json", err, sizeof err),
                 VG_ENOENT);
    CHECK(strstr(err, "valid sections: server, limits, auth, drivers, events, things, credentials, deploy, log") != NULL);
}

static void test_errors(void)
{
    CHECK_EQ_STR(vg_strerror(0), "success");
    CHECK_EQ_STR(vg_errname(VG_ENOMEM), "VG_ENOMEM");
    CHECK_EQ_STR(vg_strerror(VG_EINTERNAL), "internal error");
    CHECK_EQ_STR(vg_strerror(12345), "unknown error");
    CHECK(VG_ENOMEM < 0 && VG_EINTERNAL < 0);
}

VG_TEST_MAIN(VG_TEST(test_defaults) VG_TEST(test_load_ok) VG_TEST(test_unknown_key)
                 VG_TEST(test_type_and_bounds) VG_TEST(test_set) VG_TEST(test_defaults_roundtrip)
                     VG_TEST(test_drivers_and_things) VG_TEST(test_errors))
