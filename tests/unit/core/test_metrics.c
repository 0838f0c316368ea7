/* test_metrics.c: buffers and the metrics registry's Prometheus text. */
#include "core/buf.h"
#include "core/metrics.h"
#include "vg_test.h"

#include <stdlib.h>

static void test_buf(void)
{
    vg_buf_t b;
    vg_buf_init(&b);
    CHECK_EQ_INT(vg_buf_puts(&b, "hello "), 0);
    for (int i = 0; i < 200; i++) vg_buf_printf(&b, "%d,", i);
    CHECK(strncmp(b.data, "hello 0,1,2,", 12) == 0);
    CHECK_EQ_INT(b.data[b.len], '\0');
    vg_buf_consume(&b, 6);
    CHECK(strncmp(b.data, "0,1,", 4) == 0);
    char *s = vg_buf_steal(&b);
    CHECK(b.data == NULL && b.len == 0);
    free(s);
    vg_buf_close(&b);
}

static void test_render(void)
{
    vg_metrics_t *m = vg_metrics_create();
    CHECK_EQ_INT(vg_metrics_declare(m, "x_total", VG_METRIC_COUNTER, "Xs."), 0);
    CHECK_EQ_INT(vg_metrics_declare(m, "lat", VG_METRIC_HISTOGRAM, "Latency."), 0);
    CHECK(vg_metrics_series(m, "undeclared", NULL) == NULL);
    vg_metrics_inc(m, "x_total", "code=\"200\"", 2);
    vg_metrics_inc(m, "x_total", "code=\"200\"", 1);
    vg_metrics_observe(m, "lat", "path=\"/a\"", 0.0003);
    vg_metrics_observe(m, "lat", "path=\"/a\"", 3);
    vg_buf_t b;
    vg_buf_init(&b);
    CHECK_EQ_INT(vg_metrics_render(m, &b), 0);
    CHECK(strstr(b.data, "# TYPE x_total counter\n") != NULL);
    CHECK(strstr(b.data, "x_total{code=\"200\"} 3\n") != NULL);
    CHECK(strstr(b.data, "lat_bucket{path=\"/a\",le=\"0.0005\"} 1\n") != NULL);
    CHECK(strstr(b.data, "lat_bucket{path=\"/a\",le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(b.data, "lat_count{path=\"/a\"} 2\n") != NULL);
    vg_buf_close(&b);
    vg_metrics_destroy(m);
}

VG_TEST_MAIN(VG_TEST(test_buf) VG_TEST(test_render))
