/* Matrix products with results independent of the thread count.
 *
 * qnnlab calls OpenBLAS only through these wrappers. OpenBLAS itself always runs on one thread
 * (its threaded kernels cut the rows of a product at thread-count-dependent places, and the edge
 * kernels sum in a different order: OpenBLAS 0.3.21 gives different bits for C = A^T B with
 * 147 x 32 x 80 on 1 and 2 threads). Instead a product is cut into row blocks whose boundaries
 * depend only on its shape; the blocks are single-threaded OpenBLAS calls run on up to
 * qnn_blas_threads() OpenMP threads. Same inputs, same bits, for any OMP_NUM_THREADS /
 * OPENBLAS_NUM_THREADS. Inside an OpenMP parallel region the blocks run on the calling thread. */
#ifndef QNN_BLAS_H
#define QNN_BLAS_H
#include <stddef.h>

/* Row-major C (m x n) = alpha op(A) op(B) + beta C, op = transpose when trans* != 0 (as
 * cblas_dgemm / cblas_sgemm with CblasRowMajor). Every dimension and leading dimension must fit
 * in an int (OpenBLAS's interface; callers check, e.g. qnn_tensor_gemm). */
void qnn_blas_dgemm(int transA, int transB, size_t m, size_t n, size_t k, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc);
void qnn_blas_sgemm(int transA, int transB, size_t m, size_t n, size_t k, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                    size_t ldc);
/* y = alpha op(A) x + beta y, A row-major rows x cols (one single-threaded call). */
void qnn_blas_dgemv(int transA, size_t rows, size_t cols, double alpha, const double *A,
                    size_t lda, const double *x, double beta, double *y);

/* Threads used by the products (>= 1). The start value is OpenBLAS's own setting at first use
 * (OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else the cores). Results do not depend on it. */
int qnn_blas_threads(void);
void qnn_blas_set_threads(int n);
/* Pins OpenBLAS to one thread (idempotent; call outside parallel regions, e.g. at start-up). */
void qnn_blas_pin(void);

#endif
