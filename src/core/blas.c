/* Thread-count-independent matrix products (see qnn/blas.h). */
#include "qnn/blas.h"

#include <cblas.h>
#include <omp.h>

/* Products below this many multiply-adds are one call (splitting costs more than it saves). */
#define BLAS_SPLIT_MIN_FLOPS ((double)(1 << 22))
/* At most this many row blocks; blocks have at least BLAS_MIN_ROWS rows, a multiple of 8. */
#define BLAS_MAX_BLOCKS 32
#define BLAS_MIN_ROWS 32

/* The requested thread count: 0 until first use. This setting (like OpenBLAS's own thread
 * count, which it replaces) is process-wide configuration, not state of any computation. */
static _Atomic int blas_nthreads;

void qnn_blas_pin(void) {
    if (omp_in_parallel()) return;
    if (blas_nthreads == 0) {
        int t = openblas_get_num_threads();
        blas_nthreads = t >= 1 ? t : 1;
    }
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

int qnn_blas_threads(void) {
    qnn_blas_pin();
    int t = blas_nthreads;
    return t >= 1 ? t : 1;
}

void qnn_blas_set_threads(int n) {
    qnn_blas_pin();
    blas_nthreads = n >= 1 ? n : 1;
}

/* Rows per block for an m-row product: depends on the shape only. */
static size_t block_rows(size_t m, size_t n, size_t k) {
    if ((double)m * (double)n * (double)k < BLAS_SPLIT_MIN_FLOPS || m < 2 * BLAS_MIN_ROWS)
        return m;
    size_t rb = (m + BLAS_MAX_BLOCKS - 1) / BLAS_MAX_BLOCKS;
    rb = (rb + 7) / 8 * 8;
    return rb < BLAS_MIN_ROWS ? BLAS_MIN_ROWS : rb;
}

static int team_size(size_t nblocks) {
    if (nblocks < 2 || omp_in_parallel()) return 1;
    int t = qnn_blas_threads();
    return (size_t)t < nblocks ? t : (int)nblocks;
}

#define GEMM_BODY(FN, T)                                                                        \
    if (m == 0 || n == 0) return;                                                               \
    qnn_blas_pin();                                                                             \
    const enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;                        \
    const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;                        \
    const size_t rb = block_rows(m, n, k);                                                      \
    const size_t nb = (m + rb - 1) / rb;                                                        \
    const int nt = team_size(nb);                                                               \
    _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")                    \
    for (size_t b = 0; b < nb; b++) {                                                           \
        size_t r0 = b * rb, r = m - r0 < rb ? m - r0 : rb;                                      \
        const T *Ab = transA ? A + r0 : A + r0 * lda;                                           \
        FN(CblasRowMajor, ta, tb, (int)r, (int)n, (int)k, alpha, Ab, (int)lda, B, (int)ldb,     \
           beta, C + r0 * ldc, (int)ldc);                                                       \
    }

void qnn_blas_dgemm(int transA, int transB, size_t m, size_t n, size_t k, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc) {
    GEMM_BODY(cblas_dgemm, double)
}

void qnn_blas_sgemm(int transA, int transB, size_t m, size_t n, size_t k, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                    size_t ldc) {
    GEMM_BODY(cblas_sgemm, float)
}

void qnn_blas_dgemv(int transA, size_t rows, size_t cols, double alpha, const double *A,
                    size_t lda, const double *x, double beta, double *y) {
    qnn_blas_pin();
    cblas_dgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, alpha, A,
                (int)lda, x, 1, beta, y, 1);
}
