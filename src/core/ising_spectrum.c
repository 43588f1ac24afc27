/* Dense spectrum of the transverse-field Ising Hamiltonian H = -A sum_q X_q + B H_P.
 * H is real symmetric in the computational basis: H[x][x] = B E(x), H[x][x ^ 2^q] = -A. */
#include "qnn/ising.h"
#include "qnn/blas.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int qnn_ising_spectrum(qnn_ising *m, double A, double B, int k, double *evals, qnn_error *err) {
    int n = m->n;
    if (n < 1 || n > QNN_ISING_MAX_SPECTRUM)
        return qnn_error_set(err, QNN_EINVAL, "dense spectrum needs 1 <= n <= %d spins, got %d",
                             QNN_ISING_MAX_SPECTRUM, n);
    if (!isfinite(A) || !isfinite(B))
        return qnn_error_set(err, QNN_EINVAL, "A and B must be finite, got A = %g, B = %g", A, B);
    size_t N = (size_t)1 << n;
    if (k < 1 || (size_t)k > N)
        return qnn_error_set(err, QNN_EINVAL, "k must be in [1, %zu], got %d", N, k);
    if (N * N * sizeof(double) > qnn_max_bytes())
        return qnn_error_set(err, QNN_ENOMEM, "a %zu x %zu matrix exceeds the memory limit", N, N);
    double *E = malloc(N * sizeof *E);
    double *H = calloc(N * N, sizeof *H);
    double *w = malloc(N * sizeof *w);
    lapack_int *isuppz = malloc(2 * N * sizeof *isuppz);
    int rc = QNN_OK;
    if (!E || !H || !w || !isuppz) {
        rc = qnn_error_set(err, QNN_ENOMEM, "out of memory for a %zu x %zu matrix", N, N);
        goto done;
    }
    rc = qnn_ising_energies(m, E, NULL, err);
    if (rc) goto done;
    for (size_t x = 0; x < N; x++) {
        H[x * N + x] = B * E[x];
        for (int q = 0; q < n; q++) H[x * N + (x ^ ((size_t)1 << q))] = -A;
    }
    lapack_int found = 0;
    double z = 0;
    qnn_blas_pin(); /* LAPACK's BLAS calls on one thread: the same bits for any thread count */
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'N', 'I', 'U', (lapack_int)N, H,
                                     (lapack_int)N, 0.0, 0.0, 1, (lapack_int)k, 0.0, &found, w,
                                     &z, 1, isuppz);
    if (info != 0 || found != k) {
        rc = qnn_error_set(err, QNN_EINVAL, "LAPACKE_dsyevr failed (info %d, %d of %d values)",
                           (int)info, (int)found, k);
        goto done;
    }
    memcpy(evals, w, (size_t)k * sizeof *evals);
done:
    free(E);
    free(H);
    free(w);
    free(isuppz);
    return rc;
}
