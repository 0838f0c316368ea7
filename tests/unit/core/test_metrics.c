/* test_metrics.c: buffers and the metrics registry's Prometheus text. */
#include "core/buf.h"
#include "core/metrics.h"
#include "vg_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* Many series of one metric (a bundle with 10,000 routes): each lookup finds the series it
 * created, and the exposition keeps the creation order. */
static void test_many_series(void)
{
    vg_metrics_t *m = vg_metrics_create();
    CHECK(m != NULL);
    CHECK_EQ_INT(vg_metrics_declare(m, "verge_many_total", VG_METRIC_COUNTER, "Many."), 0);
    enum { N = 30000 };
    static vg_series_t *made[N];
    char labels[64];
    for (int i = 0; i < N; i++) {
        snprintf(labels, sizeof labels, "route=\"r%d\"", i);
        made[i] = vg_metrics_series(m, "verge_many_total", labels);
        CHECK(made[i] != NULL);
        made[i]->value = i;
    }
    for (int i = N - 1; i >= 0; i -= 7) {
        snprintf(labels, sizeof labels, "route=\"r%d\"", i);
        CHECK(vg_metrics_series(m, "verge_many_total", labels) == made[i]);
    }
    CHECK(vg_metrics_series(m, "verge_many_total", "") != made[0]); /* a new, empty one */
    CHECK(vg_metrics_series(m, "verge_many_total", NULL) ==
          vg_metrics_series(m, "verge_many_total", ""));
    vg_buf_t out;
    vg_buf_init(&out);
    CHECK_EQ_INT(vg_metrics_render(m, &out), 0);
    const char *a = strstr(out.data, "verge_many_total{route=\"r0\"} 0");
    const char *b = strstr(out.data, "verge_many_total{route=\"r29999\"} 29999");
    CHECK(a && b && a < b);
    vg_buf_close(&out);
    vg_metrics_destroy(m);
}

VG_TEST_MAIN(VG_TEST(test_buf) VG_TEST(test_render) VG_TEST(test_many_series))
