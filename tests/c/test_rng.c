#include "harness.h"
#include "qnn/common.h"
#include "qnn/rng.h"

TEST(same_seed_same_stream) {
    qnn_rng a, b;
    qnn_rng_seed(&a, 42);
    qnn_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= qnn_rng_next(&a) == qnn_rng_next(&b);
    CHECK(same);
}

TEST(uniform_moments) {
    qnn_rng r;
    qnn_rng_seed(&r, 7);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = qnn_rng_uniform(&r);
        CHECK(u >= 0.0 && u < 1.0);
        s += u;
        s2 += u * u;
    }
    CHECK_NEAR(s / n, 0.5, 0.005);
    CHECK_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12.0, 0.002);
}

TEST(normal_moments) {
    qnn_rng r;
    qnn_rng_seed(&r, 9);
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = qnn_rng_normal(&r);
        s += z;
        s2 += z * z;
    }
    CHECK_NEAR(s / n, 0.0, 0.01);
    CHECK_NEAR(s2 / n, 1.0, 0.01);
}

TEST(below_is_unbiased_and_in_range) {
    qnn_rng r;
    qnn_rng_seed(&r, 3);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = qnn_rng_below(&r, 7);
        CHECK(v < 7);
        counts[v]++;
    }
    for (int i = 0; i < 7; i++) CHECK_NEAR(counts[i], 10000, 400);
}

TEST(shuffle_is_permutation) {
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    size_t idx[50];
    int seen[50] = {0};
    for (size_t i = 0; i < 50; i++) idx[i] = i;
    qnn_rng_shuffle(&r, idx, 50);
    for (size_t i = 0; i < 50; i++) seen[idx[i]]++;
    for (size_t i = 0; i < 50; i++) CHECK(seen[i] == 1);
}

TEST(errors_and_sizes) {
    qnn_error e;
    CHECK(qnn_error_set(&e, QNN_EINVAL, "bad %s", "thing") == QNN_EINVAL);
    CHECK(strcmp(e.msg, "bad thing") == 0);
    size_t out;
    CHECK(qnn_mul_size((size_t)1 << 40, (size_t)1 << 40, &out) == QNN_ENOMEM);
    CHECK(qnn_mul_size(3, 4, &out) == QNN_OK && out == 12);
    void *p = qnn_aligned_alloc(64, 100);
    CHECK(p != NULL && ((uintptr_t)p % 64) == 0);
    qnn_aligned_free(p);
    qnn_interrupt_raise();
    CHECK(qnn_progress_step(NULL, 0, 1) == QNN_EINTR);
    qnn_interrupt_clear();
    CHECK(qnn_progress_step(NULL, 0, 1) == QNN_OK);
}

int main(void) {
    RUN(same_seed_same_stream);
    RUN(uniform_moments);
    RUN(normal_moments);
    RUN(below_is_unbiased_and_in_range);
    RUN(shuffle_is_permutation);
    RUN(errors_and_sizes);
    return harness_done();
}
