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

/* ---- additions (nn helper) ---- */
/* Wrap external memory as a non-owning tensor (no allocation). */
void qnn_tensor_wrap(qnn_tensor *t, double *data, size_t rows, size_t cols, size_t ld, int ndim);
/* "3x4" for 2-D, "(5)" for 1-D; returns buf. */
const char *qnn_tensor_shape_str(const qnn_tensor *t, char *buf, size_t n);
int qnn_tensor_same_shape(const qnn_tensor *a, const qnn_tensor *b); /* rows, cols and ndim */
void qnn_tensor_fill(qnn_tensor *t, double v);
/* dst (allocated by callee) = src^T; a 1-D src gives a copy. */
int qnn_tensor_transpose(qnn_tensor *dst, const qnn_tensor *src);
/* dst (preallocated, n x src->cols, may be larger: only the first n rows are written) =
 * rows idx[0..n) of src (0-based). QNN_ERANGE with a message if an index is out of range. */
int qnn_tensor_gather_rows(qnn_tensor *dst, const qnn_tensor *src, const size_t *idx, size_t n,
                           qnn_error *err);

enum { QNN_TENSOR_ADD = 0, QNN_TENSOR_SUB, QNN_TENSOR_MUL, QNN_TENSOR_DIV };
/* dst = a (op) b elementwise. b has a's shape, or is a single row (1-D of length a->cols or
 * 1 x a->cols) broadcast over a's rows. dst (preallocated) has a's shape; may alias a. */
int qnn_tensor_binop(qnn_tensor *dst, const qnn_tensor *a, const qnn_tensor *b, int op,
                     qnn_error *err);
/* dst = a (op) s, or s (op) a when scalar_left. dst has a's shape (may alias a). */
void qnn_tensor_scalar_op(qnn_tensor *dst, const qnn_tensor *a, double s, int op, int scalar_left);

enum { QNN_REDUCE_SUM = 0, QNN_REDUCE_MEAN, QNN_REDUCE_MAX, QNN_REDUCE_ARGMAX, QNN_REDUCE_MIN };
/* Reduction. axis 0: whole tensor, result in *scalar (argmax: flat 0-based index).
 * axis 1: over rows (one value per column, out is 1-D of length cols, preallocated);
 * axis 2: over columns (one value per row, out 1-D of length rows). Argmax gives 0-based
 * indices as doubles. Empty reductions: sum 0, mean NaN, max -inf, argmax -1. */
int qnn_tensor_reduce(const qnn_tensor *a, int axis, int kind, qnn_tensor *out, double *scalar,
                      qnn_error *err);
/* y = alpha * op(A) x + beta * y (cblas_dgemv); x and y are contiguous vectors. */
int qnn_tensor_gemv(double *y, size_t ylen, const qnn_tensor *A, int transA, const double *x,
                    size_t xlen, double alpha, double beta, qnn_error *err);

#endif
