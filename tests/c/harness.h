/* Tiny C test harness. Each tests/c/test_*.c is one program:
 *   #include "harness.h"
 *   TEST(name) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-12); }
 *   int main(void) { RUN(name); return harness_done(); }
 * It prints one line per failure and ends with "C <file>: N passed, M failed". */
#ifndef QNN_TEST_HARNESS_H
#define QNN_TEST_HARNESS_H
#include <math.h>
#include <stdio.h>
#include <string.h>

static int harness_pass = 0, harness_fail = 0, harness_cur_failed = 0;
static const char *harness_cur = "";

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                               \
    do {                                                                                        \
        harness_cur = #name;                                                                    \
        harness_cur_failed = 0;                                                                 \
        test_##name();                                                                          \
        if (harness_cur_failed) harness_fail++;                                                 \
        else harness_pass++;                                                                    \
    } while (0)
#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "FAIL %s (%s:%d): %s\n", harness_cur, __FILE__, __LINE__, #cond);   \
            harness_cur_failed = 1;                                                             \
        }                                                                                       \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                        \
        double ha_ = (double)(a), hb_ = (double)(b);                                            \
        if (!(fabs(ha_ - hb_) <= (tol))) {                                                      \
            fprintf(stderr, "FAIL %s (%s:%d): %s = %.17g, %s = %.17g, tol %g\n", harness_cur,   \
                    __FILE__, __LINE__, #a, ha_, #b, hb_, (double)(tol));                       \
            harness_cur_failed = 1;                                                             \
        }                                                                                       \
    } while (0)

static int harness_done(void) {
    printf("C %s: %d passed, %d failed\n", __BASE_FILE__, harness_pass, harness_fail);
    return harness_fail ? 1 : 0;
}
#endif
