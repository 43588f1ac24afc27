/* Dense row-major double matrices and vectors (BLAS-backed). Shared by networks, data sets
 * and simulator read-outs. A tensor is 1-D (ndim 1: rows == 1, cols == n) or 2-D.
 * Views (row slices) share the parent's data and have owns == 0; the owner must outlive them. */
#ifndef QNN_TENSOR_H
#define QNN_TENSOR_H
#include <stddef.h>
#include "qnn/common.h"

typedef struct qnn_tensor {
    size_t rows, cols;
    size_t ld;      /* distance between rows in doubles (>= cols) */
    int ndim;       /* 1 or 2 */
    int owns;       /* 1: data allocated by this tensor (64-byte aligned) */
    double *data;
} qnn_tensor;

/* Allocation: zero-filled. Returns QNN_ENOMEM on overflow or failure. */
int qnn_tensor_init(qnn_tensor *t, size_t rows, size_t cols, int ndim);
void qnn_tensor_release(qnn_tensor *t);               /* frees data if owned; zeroes struct */
int qnn_tensor_new(qnn_tensor **out, size_t rows, size_t cols); /* heap struct, ndim 2 */
void qnn_tensor_free(qnn_tensor *t);                  /* release + free struct */
/* View of rows [row0, row0 + nrows) of src (no copy). */
int qnn_tensor_rows_view(qnn_tensor *view, const qnn_tensor *src, size_t row0, size_t nrows);
int qnn_tensor_copy(qnn_tensor *dst, const qnn_tensor *src);   /* dst allocated by callee */

static inline double *qnn_tensor_row(const qnn_tensor *t, size_t i) { return t->data + i * t->ld; }
static inline double qnn_tensor_get(const qnn_tensor *t, size_t i, size_t j) {
    return t->data[i * t->ld + j];
}
static inline void qnn_tensor_set(qnn_tensor *t, size_t i, size_t j, double v) {
    t->data[i * t->ld + j] = v;
}
static inline size_t qnn_tensor_numel(const qnn_tensor *t) { return t->rows * t->cols; }

/* C = alpha * op(A) * op(B) + beta * C via cblas_dgemm; shapes checked (QNN_EINVAL with a
 * message stating both shapes). */
int qnn_tensor_matmul(qnn_tensor *C, const qnn_tensor *A, int transA, const qnn_tensor *B,
                      int transB, double alpha, double beta, qnn_error *err);

#endif
