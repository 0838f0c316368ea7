/* vg_test.h: the unit-test harness, a header only. A test file defines functions
 * `static void test_x(void)`, lists them with VG_TEST(test_x) inside VG_TEST_MAIN, and each
 * failed check prints file:line and the expression. The binary prints "N passed, N failed"
 * and exits non-zero when anything failed. */
#ifndef VG_TEST_H
#define VG_TEST_H

#include <stdio.h>
#include <string.h>

static int vg_test__failed_checks;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr);             \
            vg_test__failed_checks++;                                                              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long vg__a = (long long)(a), vg__b = (long long)(b);                                  \
        if (vg__a != vg__b) {                                                                      \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a,    \
                    #b, vg__a, vg__b);                                                             \
            vg_test__failed_checks++;                                                              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *vg__a = (a), *vg__b = (b);                                                     \
        if (!vg__a || !vg__b || strcmp(vg__a, vg__b) != 0) {                                       \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__,    \
                    #a, #b, vg__a ? vg__a : "(null)", vg__b ? vg__b : "(null)");                   \
            vg_test__failed_checks++;                                                              \
        }                                                                                          \
    } while (0)

#define VG_TEST_MAIN(...)                                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        int passed = 0, failed = 0;                                                                \
        __VA_ARGS__                                                                                \
        printf("%d passed, %d failed\n", passed, failed);                                          \
        return failed ? 1 : 0;                                                                     \
    }

#define VG_TEST(fn)                                                                                \
    do {                                                                                           \
        int before = vg_test__failed_checks;                                                       \
        fn();                                                                                      \
        if (vg_test__failed_checks == before) {                                                    \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0);

#endif
