/* Coherent (state-vector) annealing of H(t) = -A(t) sum_q X_q + B(t) H_P, second-order
 * Trotter: U_k = D(dt B_k / 2) R(dt A_k) D(dt B_k / 2) with D(th) = exp(-i th H_P) (diagonal
 * phases from the precomputed problem energies) and R(a) = prod_q RX_q(-2a) = exp(+i a sum X).
 * Adjacent half diagonals are merged, so a run costs steps RX layers + steps + 1 diagonals.
 * The kernel is fused and cache-blocked on the amplitudes of a qnn_state: per step one pass over
 * blocks of 2^11 amplitudes applies the diagonal phases (vectorisable polynomial sincos, error
 * ~1e-16) and the RX gates of the low 11 qubits, then one pass per higher qubit. The test
 * compares it with the same evolution built from qnn_state_apply_diagonal / RX gates. */
#include "qnn/ising.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/gates.h"
#include "qnn/statevec.h"

#define EXACT_LB 11

/* sin and cos of x (|x| < 1e6): Cody-Waite reduction by pi/2, Taylor polynomials on
 * [-pi/4, pi/4] (truncation < 1e-17), quadrant fix-up without branches. */
static inline void sincos_poly(double x, double *sn, double *cs) {
    double q = (x * 0.6366197723675814 + 0x1.8p52) - 0x1.8p52;
    double r = (x - q * 1.5707963267948966) - q * 6.123233995736766e-17;
    double r2 = r * r;
    double s = r + r * r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 +
               r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800 + r2 * (-1.0 / 1307674368000.0)))))));
    double c = 1 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 +
               r2 * (-1.0 / 3628800 + r2 * (1.0 / 479001600 + r2 * (-1.0 / 87178291200.0 +
               r2 * (1.0 / 20922789888000.0))))))));
    long long k = (long long)q & 3;
    double S = (k & 1) ? c : s, C = (k & 1) ? s : c;
    *sn = (k & 2) ? -S : S;
    *cs = ((k + 1) & 2) ? -C : C;
}

/* exp(-i a X) on the qubit with stride `half` of the n_amp interleaved amplitudes at a, as
 * RX(2a): (x, y) -> (c x - i s y, -i s x + c y), c = cos a, s = sin a. */
static void rx_pass(double *restrict a, size_t n_amp, size_t half, double c, double s) {
    for (size_t base = 0; base < n_amp; base += 2 * half) {
        double *restrict x = a + 2 * base, *restrict y = a + 2 * (base + half);
        for (size_t j = 0; j < half; j++) {
            double xr = x[2 * j], xi = x[2 * j + 1], yr = y[2 * j], yi = y[2 * j + 1];
            x[2 * j] = c * xr + s * yi;
            x[2 * j + 1] = c * xi - s * yr;
            y[2 * j] = c * yr + s * xi;
            y[2 * j + 1] = c * yi - s * xr;
        }
    }
}

/* amplitude x *= exp(-i th e[x]) for the n_amp amplitudes of a block */
static void phase_block(double *restrict a, const double *restrict e, size_t n_amp, double th) {
    for (size_t x = 0; x < n_amp; x++) {
        double sn, cs;
        sincos_poly(-th * e[x], &sn, &cs);
        double re = a[2 * x], im = a[2 * x + 1];
        a[2 * x] = re * cs - im * sn;
        a[2 * x + 1] = re * sn + im * cs;
    }
}

int qnn_ising_exact_anneal(qnn_ising *m, const double *A, const double *B, int steps, double T,
                           long long init_index, double *probs, double *Eout,
                           const qnn_progress *p, qnn_error *err) {
    int n = m->n;
    if (n < 1 || n > QNN_ISING_MAX_EXACT)
        return qnn_error_set(err, QNN_EINVAL, "coherent annealing needs 1 <= n <= %d spins, got %d",
                             QNN_ISING_MAX_EXACT, n);
    if (steps < 1) return qnn_error_set(err, QNN_EINVAL, "steps must be >= 1, got %d", steps);
    if (!(T >= 0) || !isfinite(T))
        return qnn_error_set(err, QNN_EINVAL, "T must be finite and >= 0, got %g", T);
    for (int k = 0; k < steps; k++)
        if (!(A[k] >= 0) || !isfinite(A[k]) || !(B[k] >= 0) || !isfinite(B[k]))
            return qnn_error_set(err, QNN_EINVAL, "schedule step %d: A = %g, B = %g (must be "
                                 "finite and >= 0)", k + 1, A[k], B[k]);
    size_t N = (size_t)1 << n;
    if (init_index >= (long long)N)
        return qnn_error_set(err, QNN_EINVAL, "initial basis index %lld >= 2^%d", init_index, n);
    int rc = qnn_state_check_size(n, 1, err);
    if (rc) return rc;
    double *E = malloc(N * sizeof *E);
    qnn_state st;
    memset(&st, 0, sizeof st);
    if (!E) {
        rc = qnn_error_set(err, QNN_ENOMEM, "out of memory for 2^%d energies", n);
        goto done;
    }
    rc = qnn_ising_energies(m, E, NULL, err);
    if (rc) goto done;
    rc = qnn_state_init(&st, n, err);
    if (rc) goto done;
    if (init_index >= 0) {
        rc = qnn_state_set_basis(&st, (size_t)init_index, err);
        if (rc) goto done;
    } else {
        double a = 1.0 / sqrt((double)N);
        for (size_t x = 0; x < N; x++) {
            st.amp[2 * x] = a;
            st.amp[2 * x + 1] = 0.0;
        }
    }
    /* energies relative to their minimum (global phase only; keeps phases small) */
    double emin = INFINITY;
    for (size_t x = 0; x < N; x++)
        if (E[x] < emin) emin = E[x];
    double dt = T / steps;
    for (size_t x = 0; x < N; x++) E[x] -= emin; /* E now holds E - emin */
    const int lb = n < EXACT_LB ? n : EXACT_LB;
    const size_t BS = (size_t)1 << lb;
    for (int k = 0; k <= steps && !rc; k++) {
        double th = 0.5 * dt * ((k > 0 ? B[k - 1] : 0.0) + (k < steps ? B[k] : 0.0));
        double a = k < steps ? dt * A[k] : 0.0, c = cos(a), sn = -sin(a);
        /* exp(+i dt A X) = RX(-2 dt A): c = cos(dt A), s = sin(-dt A) in rx_pass's convention */
        for (size_t b0 = 0; b0 < N; b0 += BS) {
            double *blk = st.amp + 2 * b0;
            if (th != 0.0) phase_block(blk, E + b0, BS, th);
            if (a != 0.0)
                for (int q = 0; q < lb; q++) rx_pass(blk, BS, (size_t)1 << q, c, sn);
        }
        if (a != 0.0)
            for (int q = lb; q < n; q++) rx_pass(st.amp, N, (size_t)1 << q, c, sn);
        if ((k & 63) == 63) {
            rc = qnn_progress_step(p, (double)k + 1, (double)steps);
            if (rc) rc = qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
        }
    }
    for (size_t x = 0; x < N; x++) E[x] += emin;
    if (!rc) {
        qnn_state_probs(&st, probs);
        if (Eout) memcpy(Eout, E, N * sizeof *E);
    }
done:
    qnn_state_release(&st);
    free(E);
    return rc;
}
