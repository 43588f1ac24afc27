/* Dense row-major double tensors: allocation, views, BLAS products, elementwise ops and
 * reductions. 1-D tensors are stored as one row (rows == 1, cols == n, ndim == 1). */
#include "qnn/tensor.h"

#include "qnn/blas.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qnn_tensor_init(qnn_tensor *t, size_t rows, size_t cols, int ndim) {
    size_t n, bytes;
    memset(t, 0, sizeof *t);
    if (ndim != 1 && ndim != 2) return QNN_EINVAL;
    if (ndim == 1 && rows != 1) return QNN_EINVAL;
    if (qnn_mul_size(rows, cols, &n) || qnn_mul_size(n, sizeof(double), &bytes)) return QNN_ENOMEM;
    if (bytes > qnn_max_bytes()) return QNN_ENOMEM;
    double *d = (double *)qnn_aligned_alloc(64, bytes);
    if (!d) return QNN_ENOMEM;
    t->rows = rows;
    t->cols = cols;
    t->ld = cols;
    t->ndim = ndim;
    t->owns = 1;
    t->data = d;
    return QNN_OK;
}

void qnn_tensor_release(qnn_tensor *t) {
    if (!t) return;
    if (t->owns && t->data) qnn_aligned_free(t->data);
    memset(t, 0, sizeof *t);
}

int qnn_tensor_new(qnn_tensor **out, size_t rows, size_t cols) {
    *out = NULL;
    qnn_tensor *t = (qnn_tensor *)malloc(sizeof *t);
    if (!t) return QNN_ENOMEM;
    int rc = qnn_tensor_init(t, rows, cols, 2);
    if (rc) {
        free(t);
        return rc;
    }
    *out = t;
    return QNN_OK;
}

void qnn_tensor_free(qnn_tensor *t) {
    if (!t) return;
    qnn_tensor_release(t);
    free(t);
}

void qnn_tensor_wrap(qnn_tensor *t, double *data, size_t rows, size_t cols, size_t ld, int ndim) {
    t->rows = rows;
    t->cols = cols;
    t->ld = ld < cols ? cols : ld;
    t->ndim = ndim;
    t->owns = 0;
    t->data = data;
}

int qnn_tensor_rows_view(qnn_tensor *view, const qnn_tensor *src, size_t row0, size_t nrows) {
    if (row0 > src->rows || nrows > src->rows - row0) return QNN_ERANGE;
    qnn_tensor_wrap(view, src->data + row0 * src->ld, nrows, src->cols, src->ld, 2);
    return QNN_OK;
}

int qnn_tensor_copy(qnn_tensor *dst, const qnn_tensor *src) {
    int rc = qnn_tensor_init(dst, src->rows, src->cols, src->ndim);
    if (rc) return rc;
    for (size_t i = 0; i < src->rows; i++)
        memcpy(qnn_tensor_row(dst, i), qnn_tensor_row(src, i), src->cols * sizeof(double));
    return QNN_OK;
}

const char *qnn_tensor_shape_str(const qnn_tensor *t, char *buf, size_t n) {
    if (t->ndim == 1) snprintf(buf, n, "(%zu)", t->cols);
    else snprintf(buf, n, "%zux%zu", t->rows, t->cols);
    return buf;
}

int qnn_tensor_same_shape(const qnn_tensor *a, const qnn_tensor *b) {
    return a->rows == b->rows && a->cols == b->cols && a->ndim == b->ndim;
}

void qnn_tensor_fill(qnn_tensor *t, double v) {
    for (size_t i = 0; i < t->rows; i++) {
        double *r = qnn_tensor_row(t, i);
        for (size_t j = 0; j < t->cols; j++) r[j] = v;
    }
}

int qnn_tensor_transpose(qnn_tensor *dst, const qnn_tensor *src) {
    if (src->ndim == 1) return qnn_tensor_copy(dst, src);
    int rc = qnn_tensor_init(dst, src->cols, src->rows, 2);
    if (rc) return rc;
    for (size_t i = 0; i < src->rows; i++) {
        const double *r = qnn_tensor_row(src, i);
        for (size_t j = 0; j < src->cols; j++) dst->data[j * dst->ld + i] = r[j];
    }
    return QNN_OK;
}

int qnn_tensor_gather_rows(qnn_tensor *dst, const qnn_tensor *src, const size_t *idx, size_t n,
                           qnn_error *err) {
    char a[48], b[48];
    if (dst->cols != src->cols || dst->rows < n)
        return qnn_error_set(err, QNN_EINVAL, "gather: destination %s cannot hold %zu rows of %s",
                             qnn_tensor_shape_str(dst, a, sizeof a), n,
                             qnn_tensor_shape_str(src, b, sizeof b));
    for (size_t k = 0; k < n; k++)
        if (idx[k] >= src->rows)
            return qnn_error_set(err, QNN_ERANGE, "gather: row index %zu out of range [1, %zu]",
                                 idx[k] + 1, src->rows);
    for (size_t k = 0; k < n; k++)
        memcpy(qnn_tensor_row(dst, k), qnn_tensor_row(src, idx[k]), src->cols * sizeof(double));
    return QNN_OK;
}

static inline double apply_op(double x, double y, int op) {
    switch (op) {
    case QNN_TENSOR_ADD: return x + y;
    case QNN_TENSOR_SUB: return x - y;
    case QNN_TENSOR_MUL: return x * y;
    default: return x / y;
    }
}

int qnn_tensor_binop(qnn_tensor *dst, const qnn_tensor *a, const qnn_tensor *b, int op,
                     qnn_error *err) {
    char sa[48], sb[48];
    int bcast;
    if (qnn_tensor_same_shape(a, b) || (a->rows == b->rows && a->cols == b->cols)) bcast = 0;
    else if (b->rows == 1 && b->cols == a->cols) bcast = 1;
    else
        return qnn_error_set(err, QNN_EINVAL, "shape mismatch: %s vs %s",
                             qnn_tensor_shape_str(a, sa, sizeof sa),
                             qnn_tensor_shape_str(b, sb, sizeof sb));
    if (op < QNN_TENSOR_ADD || op > QNN_TENSOR_DIV)
        return qnn_error_set(err, QNN_EINVAL, "unknown elementwise operation %d", op);
    if (dst->rows != a->rows || dst->cols != a->cols)
        return qnn_error_set(err, QNN_EINVAL, "destination shape %s does not match %s",
                             qnn_tensor_shape_str(dst, sb, sizeof sb),
                             qnn_tensor_shape_str(a, sa, sizeof sa));
    for (size_t i = 0; i < a->rows; i++) {
        const double *x = qnn_tensor_row(a, i);
        const double *y = qnn_tensor_row(b, bcast ? 0 : i);
        double *d = qnn_tensor_row(dst, i);
        for (size_t j = 0; j < a->cols; j++) d[j] = apply_op(x[j], y[j], op);
    }
    return QNN_OK;
}

void qnn_tensor_scalar_op(qnn_tensor *dst, const qnn_tensor *a, double s, int op, int scalar_left) {
    for (size_t i = 0; i < a->rows; i++) {
        const double *x = qnn_tensor_row(a, i);
        double *d = qnn_tensor_row(dst, i);
        if (scalar_left)
            for (size_t j = 0; j < a->cols; j++) d[j] = apply_op(s, x[j], op);
        else
            for (size_t j = 0; j < a->cols; j++) d[j] = apply_op(x[j], s, op);
    }
}

/* running reduction state */
typedef struct red {
    double acc;
    double best;
    long arg;
    size_t n;
} red;

static void red_init(red *r) {
    r->acc = 0.0;
    r->best = -INFINITY;
    r->arg = -1;
    r->n = 0;
}

static void red_add(red *r, double v, long pos, int kind) {
    if (kind == QNN_REDUCE_MIN) v = -v;
    r->acc += v;
    if (r->arg < 0 || v > r->best || (isnan(v) && !isnan(r->best))) {
        r->best = v;
        r->arg = pos;
    }
    r->n++;
}

static double red_value(const red *r, int kind) {
    switch (kind) {
    case QNN_REDUCE_SUM: return r->acc;
    case QNN_REDUCE_MEAN: return r->n ? r->acc / (double)r->n : NAN;
    case QNN_REDUCE_MAX: return r->best;
    case QNN_REDUCE_MIN: return r->n ? -r->best : INFINITY;
    default: return (double)r->arg;
    }
}

int qnn_tensor_reduce(const qnn_tensor *a, int axis, int kind, qnn_tensor *out, double *scalar,
                      qnn_error *err) {
    if (kind < QNN_REDUCE_SUM || kind > QNN_REDUCE_MIN)
        return qnn_error_set(err, QNN_EINVAL, "unknown reduction %d", kind);
    if (axis == 0) {
        red r;
        red_init(&r);
        for (size_t i = 0; i < a->rows; i++) {
            const double *x = qnn_tensor_row(a, i);
            for (size_t j = 0; j < a->cols; j++) red_add(&r, x[j], (long)(i * a->cols + j), kind);
        }
        *scalar = red_value(&r, kind);
        return QNN_OK;
    }
    size_t want = axis == 1 ? a->cols : a->rows;
    if (axis != 1 && axis != 2) return qnn_error_set(err, QNN_EINVAL, "axis must be 1 or 2");
    if (!out || out->rows * out->cols != want || out->ld < out->cols || (out->rows != 1 && out->cols != 1))
        return qnn_error_set(err, QNN_EINVAL, "reduce: output must hold %zu values", want);
    if (axis == 2) {
        for (size_t i = 0; i < a->rows; i++) {
            red r;
            red_init(&r);
            const double *x = qnn_tensor_row(a, i);
            for (size_t j = 0; j < a->cols; j++) red_add(&r, x[j], (long)j, kind);
            out->data[out->rows == 1 ? i : i * out->ld] = red_value(&r, kind);
        }
    } else {
        for (size_t j = 0; j < a->cols; j++) {
            red r;
            red_init(&r);
            for (size_t i = 0; i < a->rows; i++) red_add(&r, a->data[i * a->ld + j], (long)i, kind);
            out->data[out->rows == 1 ? j : j * out->ld] = red_value(&r, kind);
        }
    }
    return QNN_OK;
}

static int blas_dim_ok(size_t n) { return n <= 0x7fffffffu; }

int qnn_tensor_matmul(qnn_tensor *C, const qnn_tensor *A, int transA, const qnn_tensor *B,
                      int transB, double alpha, double beta, qnn_error *err) {
    char sa[48], sb[48], sc[48];
    size_t m = transA ? A->cols : A->rows, k = transA ? A->rows : A->cols;
    size_t kb = transB ? B->cols : B->rows, n = transB ? B->rows : B->cols;
    if (k != kb)
        return qnn_error_set(err, QNN_EINVAL, "matmul: shape mismatch: %s%s vs %s%s",
                             qnn_tensor_shape_str(A, sa, sizeof sa), transA ? "^T" : "",
                             qnn_tensor_shape_str(B, sb, sizeof sb), transB ? "^T" : "");
    if (C->rows != m || C->cols != n)
        return qnn_error_set(err, QNN_EINVAL, "matmul: result %s should be %zux%zu",
                             qnn_tensor_shape_str(C, sc, sizeof sc), m, n);
    if (!blas_dim_ok(m) || !blas_dim_ok(n) || !blas_dim_ok(k) || !blas_dim_ok(A->ld) ||
        !blas_dim_ok(B->ld) || !blas_dim_ok(C->ld))
        return qnn_error_set(err, QNN_ENOMEM, "matmul: dimensions exceed BLAS limits");
    if (m == 0 || n == 0) return QNN_OK;
    if (k == 0) {
        for (size_t i = 0; i < m; i++) {
            double *r = qnn_tensor_row(C, i);
            for (size_t j = 0; j < n; j++) r[j] = beta == 0.0 ? 0.0 : beta * r[j];
        }
        return QNN_OK;
    }
    qnn_blas_dgemm(transA, transB, m, n, k, alpha, A->data, A->ld ? A->ld : 1, B->data,
                   B->ld ? B->ld : 1, beta, C->data, C->ld ? C->ld : 1);
    return QNN_OK;
}

int qnn_tensor_gemv(double *y, size_t ylen, const qnn_tensor *A, int transA, const double *x,
                    size_t xlen, double alpha, double beta, qnn_error *err) {
    char sa[48];
    size_t m = transA ? A->cols : A->rows, k = transA ? A->rows : A->cols;
    if (xlen != k || ylen != m)
        return qnn_error_set(err, QNN_EINVAL, "matmul: shape mismatch: %s%s vs (%zu)",
                             qnn_tensor_shape_str(A, sa, sizeof sa), transA ? "^T" : "", xlen);
    if (!blas_dim_ok(A->rows) || !blas_dim_ok(A->cols) || !blas_dim_ok(A->ld))
        return qnn_error_set(err, QNN_ENOMEM, "matmul: dimensions exceed BLAS limits");
    if (m == 0) return QNN_OK;
    if (k == 0) {
        for (size_t i = 0; i < m; i++) y[i] = beta == 0.0 ? 0.0 : beta * y[i];
        return QNN_OK;
    }
    qnn_blas_dgemv(transA, A->rows, A->cols, alpha, A->data, A->ld, x, beta, y);
    return QNN_OK;
}
