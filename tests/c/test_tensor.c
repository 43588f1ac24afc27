/* Tensor core: allocation, views, BLAS products, elementwise ops, reductions, gather. */
#include "harness.h"
#include "qnn/tensor.h"

static void fill_seq(qnn_tensor *t) {
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < t->cols; j++) qnn_tensor_set(t, i, j, (double)(i * 10 + j));
}

TEST(alloc_and_views) {
    qnn_tensor t, v;
    CHECK(qnn_tensor_init(&t, 4, 3, 2) == QNN_OK);
    CHECK(t.owns && t.ld == 3 && ((uintptr_t)t.data % 64) == 0);
    fill_seq(&t);
    CHECK(qnn_tensor_rows_view(&v, &t, 1, 2) == QNN_OK);
    CHECK(!v.owns && v.rows == 2 && qnn_tensor_get(&v, 0, 2) == 12.0);
    qnn_tensor_set(&v, 1, 0, -1.0);
    CHECK(qnn_tensor_get(&t, 2, 0) == -1.0);
    CHECK(qnn_tensor_rows_view(&v, &t, 3, 2) == QNN_ERANGE);
    CHECK(qnn_tensor_init(&v, 2, 2, 1) == QNN_EINVAL); /* 1-D must have one row */
    qnn_tensor c;
    CHECK(qnn_tensor_copy(&c, &t) == QNN_OK);
    CHECK(qnn_tensor_get(&c, 2, 0) == -1.0 && c.owns);
    qnn_tensor_release(&c);
    qnn_tensor_release(&t);
    CHECK(t.data == NULL);
    qnn_tensor *h = NULL;
    CHECK(qnn_tensor_new(&h, 0, 5) == QNN_OK && h && h->rows == 0);
    qnn_tensor_free(h);
}

TEST(matmul_against_naive) {
    qnn_tensor A, B, C, At;
    qnn_error err;
    qnn_tensor_init(&A, 3, 4, 2);
    qnn_tensor_init(&B, 4, 2, 2);
    qnn_tensor_init(&C, 3, 2, 2);
    for (size_t k = 0; k < 12; k++) A.data[k] = (double)k * 0.5 - 2.0;
    for (size_t k = 0; k < 8; k++) B.data[k] = (double)(k * k) * 0.1;
    CHECK(qnn_tensor_matmul(&C, &A, 0, &B, 0, 1.0, 0.0, &err) == QNN_OK);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 2; j++) {
            double s = 0;
            for (size_t k = 0; k < 4; k++) s += qnn_tensor_get(&A, i, k) * qnn_tensor_get(&B, k, j);
            CHECK_NEAR(qnn_tensor_get(&C, i, j), s, 1e-12);
        }
    /* A^T A via trans flag equals explicit transpose */
    qnn_tensor G1, G2;
    qnn_tensor_init(&G1, 4, 4, 2);
    qnn_tensor_init(&G2, 4, 4, 2);
    CHECK(qnn_tensor_transpose(&At, &A) == QNN_OK && At.rows == 4 && At.cols == 3);
    CHECK(qnn_tensor_matmul(&G1, &A, 1, &A, 0, 1.0, 0.0, &err) == QNN_OK);
    CHECK(qnn_tensor_matmul(&G2, &At, 0, &A, 0, 1.0, 0.0, &err) == QNN_OK);
    for (size_t k = 0; k < 16; k++) CHECK_NEAR(G1.data[k], G2.data[k], 1e-12);
    /* shape mismatch names both shapes */
    CHECK(qnn_tensor_matmul(&C, &A, 0, &A, 0, 1.0, 0.0, &err) == QNN_EINVAL);
    CHECK(strstr(err.msg, "3x4") != NULL);
    /* gemv */
    double x[4] = {1, 2, 3, 4}, y[3];
    CHECK(qnn_tensor_gemv(y, 3, &A, 0, x, 4, 1.0, 0.0, &err) == QNN_OK);
    for (size_t i = 0; i < 3; i++) {
        double s = 0;
        for (size_t k = 0; k < 4; k++) s += qnn_tensor_get(&A, i, k) * x[k];
        CHECK_NEAR(y[i], s, 1e-12);
    }
    CHECK(qnn_tensor_gemv(y, 3, &A, 0, x, 3, 1.0, 0.0, &err) == QNN_EINVAL);
    qnn_tensor_release(&A), qnn_tensor_release(&B), qnn_tensor_release(&C);
    qnn_tensor_release(&At), qnn_tensor_release(&G1), qnn_tensor_release(&G2);
}

TEST(elementwise_and_reduce) {
    qnn_tensor a, b, d, row, out;
    qnn_error err;
    qnn_tensor_init(&a, 2, 3, 2);
    qnn_tensor_init(&b, 2, 3, 2);
    qnn_tensor_init(&d, 2, 3, 2);
    qnn_tensor_init(&row, 1, 3, 1);
    fill_seq(&a);
    qnn_tensor_fill(&b, 2.0);
    CHECK(qnn_tensor_binop(&d, &a, &b, QNN_TENSOR_MUL, &err) == QNN_OK);
    CHECK(qnn_tensor_get(&d, 1, 2) == 24.0);
    row.data[0] = 1, row.data[1] = 2, row.data[2] = 3;
    CHECK(qnn_tensor_binop(&d, &a, &row, QNN_TENSOR_SUB, &err) == QNN_OK);
    CHECK(qnn_tensor_get(&d, 1, 2) == 9.0);
    qnn_tensor bad;
    qnn_tensor_init(&bad, 3, 2, 2);
    CHECK(qnn_tensor_binop(&d, &a, &bad, QNN_TENSOR_ADD, &err) == QNN_EINVAL);
    CHECK(strstr(err.msg, "2x3") && strstr(err.msg, "3x2"));
    qnn_tensor_scalar_op(&d, &a, 10.0, QNN_TENSOR_SUB, 1);
    CHECK(qnn_tensor_get(&d, 0, 1) == 9.0);
    double s;
    CHECK(qnn_tensor_reduce(&a, 0, QNN_REDUCE_SUM, NULL, &s, &err) == QNN_OK && s == 36.0);
    CHECK(qnn_tensor_reduce(&a, 0, QNN_REDUCE_ARGMAX, NULL, &s, &err) == QNN_OK && s == 5.0);
    qnn_tensor_init(&out, 1, 3, 1);
    CHECK(qnn_tensor_reduce(&a, 1, QNN_REDUCE_MEAN, &out, NULL, &err) == QNN_OK);
    CHECK(out.data[0] == 5.0 && out.data[2] == 7.0);
    qnn_tensor_release(&out);
    qnn_tensor_init(&out, 1, 2, 1);
    CHECK(qnn_tensor_reduce(&a, 2, QNN_REDUCE_MAX, &out, NULL, &err) == QNN_OK);
    CHECK(out.data[0] == 2.0 && out.data[1] == 12.0);
    CHECK(qnn_tensor_reduce(&a, 2, QNN_REDUCE_ARGMAX, &out, NULL, &err) == QNN_OK);
    CHECK(out.data[0] == 2.0);
    /* gather */
    size_t idx[3] = {1, 0, 1};
    qnn_tensor g;
    qnn_tensor_init(&g, 3, 3, 2);
    CHECK(qnn_tensor_gather_rows(&g, &a, idx, 3, &err) == QNN_OK);
    CHECK(qnn_tensor_get(&g, 0, 0) == 10.0 && qnn_tensor_get(&g, 1, 0) == 0.0);
    idx[2] = 7;
    CHECK(qnn_tensor_gather_rows(&g, &a, idx, 3, &err) == QNN_ERANGE);
    qnn_tensor_release(&a), qnn_tensor_release(&b), qnn_tensor_release(&d);
    qnn_tensor_release(&row), qnn_tensor_release(&out), qnn_tensor_release(&bad);
    qnn_tensor_release(&g);
}

int main(void) {
    RUN(alloc_and_views);
    RUN(matmul_against_naive);
    RUN(elementwise_and_reduce);
    return harness_done();
}
