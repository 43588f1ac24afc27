/* Simulated quantum annealing by path-integral Monte Carlo (discrete-time Suzuki-Trotter).
 *
 * H(t) = -G(t) sum_i X_i + Bs(t) H_P at inverse temperature beta maps onto P coupled classical
 * replicas ("slices") s^k, k = 0..P-1 (periodic), with weight exp(-S),
 *     S = (beta/P) Bs sum_k E_P(s^k) - Jp sum_k sum_i s_i^k s_i^{k+1},
 *     Jp = (1/2) ln coth(beta G / P)            (Jp -> infinity as G -> 0; capped at 345).
 * Moves: local (flip s_i^k; dS = (beta Bs/P)(-2 s_i^k f_i^k) + 2 Jp s_i^k (s_i^{k-1} + s_i^{k+1}))
 * and world-line (flip s_i in all slices; the Trotter term is unchanged, dS = (beta Bs/P) sum_k
 * (-2 s_i^k f_i^k)). Each slice keeps its own cached problem fields f^k. */
#include "qnn/ising.h"
#include "ising_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQA_EXP_CUT 40.0

static uint64_t threshold(double p) {
    double t = p * 18446744073709551616.0; /* 2^64 */
    if (t >= 18446744073709551615.0) return UINT64_MAX;
    return t > 0 ? (uint64_t)t : 0;
}

static double jperp(double beta, double G, int P) {
    double x = beta * G / (double)P;
    if (!(x > 1e-150)) x = 1e-150; /* G = 0: frozen world lines (large finite coupling) */
    double t = tanh(x);
    return 0.5 * log(1.0 / t);
}

int qnn_ising_sqa(qnn_ising *m, const double *gamma, const double *bscale, int sweeps,
                  int slices, double beta, int reads, int readout, qnn_rng *rng,
                  const int8_t *init, int8_t *spins, double *energies, qnn_ising_stats *st,
                  const qnn_progress *p, qnn_error *err) {
    if (sweeps < 1) return qnn_error_set(err, QNN_EINVAL, "sweeps must be >= 1, got %d", sweeps);
    if (reads < 1) return qnn_error_set(err, QNN_EINVAL, "reads must be >= 1, got %d", reads);
    if (slices < 2 || slices > 4096)
        return qnn_error_set(err, QNN_EINVAL, "slices must be in [2, 4096], got %d", slices);
    if (!(beta > 0) || !isfinite(beta))
        return qnn_error_set(err, QNN_EINVAL, "beta must be finite and > 0, got %g", beta);
    for (int k = 0; k < sweeps; k++) {
        if (!(gamma[k] >= 0) || !isfinite(gamma[k]))
            return qnn_error_set(err, QNN_EINVAL, "transverse field value %d is %g (must be "
                                 "finite and >= 0)", k + 1, gamma[k]);
        if (!(bscale[k] >= 0) || !isfinite(bscale[k]))
            return qnn_error_set(err, QNN_EINVAL, "problem scale value %d is %g (must be finite "
                                 "and >= 0)", k + 1, bscale[k]);
    }
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    if (init)
        for (int i = 0; i < m->n; i++)
            if (init[i] != 1 && init[i] != -1)
                return qnn_error_set(err, QNN_EINVAL, "initial spin %d must be -1 or +1", i + 1);
    const int n = m->n, P = slices;
    size_t tot;
    if (qnn_mul_size((size_t)n + 1, (size_t)P, &tot) || tot > qnn_max_bytes() / 32)
        return qnn_error_set(err, QNN_ENOMEM, "%d spins x %d slices is too large", n, P);
    qnn_ising_pack pk;
    rc = qnn_ising_pack_build(m, &pk, err);
    if (rc) return rc;
    const size_t ld = (size_t)n + 1; /* slice stride: n spins + the dummy slot of padded rows */
    int use_int = pk.ival != NULL && (size_t)3 * (2 * (size_t)pk.F + 1) <= (size_t)n * P / 2 + 64;
    double *s = NULL, *f = NULL;
    int8_t *is = NULL;
    int *iv = NULL;
    uint64_t *thr = NULL;
    int8_t *tmp = malloc((size_t)n + 1);
    if (use_int) {
        is = calloc(ld * P, 1);
        iv = calloc(ld * P, sizeof *iv);
        thr = malloc((size_t)3 * (2 * (size_t)pk.F + 1) * sizeof *thr);
    } else {
        s = calloc(ld * P, sizeof *s);
        f = calloc(ld * P, sizeof *f);
    }
    if (!tmp || (use_int ? (!is || !iv || !thr) : (!s || !f))) {
        rc = qnn_error_set(err, QNN_ENOMEM, "out of memory for %d spins x %d slices", n, P);
        goto done;
    }
    const int *restrict rp = pk.rp;
    const int *restrict col = pk.col;
    const double *restrict val = pk.val;
    const int *restrict ival = pk.ival;
    const int F = pk.F;
    double flips = 0, gflips = 0;
    int chunk = (int)((1u << 22) / ((unsigned)(n > 0 ? n : 1) * (unsigned)P));
    if (chunk < 1) chunk = 1;
    double total = (double)reads * (double)sweeps;
    for (int rd = 0; rd < reads && !rc; rd++) {
        qnn_rng r;
        qnn_rng_split(rng, (uint64_t)rd, &r);
        for (int k = 0; k < P; k++) {
            for (int i = 0; i < n; i++) {
                int v = init ? init[i] : ((qnn_rng_next(&r) >> 63) ? 1 : -1);
                if (use_int) is[k * ld + i] = (int8_t)v;
                else s[k * ld + i] = v;
            }
            for (int i = 0; i < n; i++) {
                if (use_int) {
                    const int8_t *sk = is + k * ld;
                    int a = pk.ih[i];
                    for (int q = rp[i]; q < rp[i + 1]; q++) a += ival[q] * sk[col[q]];
                    iv[k * ld + i] = a;
                } else {
                    const double *sk = s + k * ld;
                    double a = m->h[i];
                    for (int q = rp[i]; q < rp[i + 1]; q++) a += val[q] * sk[col[q]];
                    f[k * ld + i] = a;
                }
            }
        }
        for (int t = 0; t < sweeps && !rc; t++) {
            const double bp = beta * bscale[t] / P;
            const double jp2 = 2.0 * jperp(beta, gamma[t], P);
            if (use_int) {
                /* thr[(w + 1) (2F + 1) + u + F] for w = s (s_up + s_dn)/2 in {-1, 0, 1} and
                 * u = s v in [-F, F]: dS = 2 jp2 w - 2 bp q u */
                const size_t W = 2 * (size_t)F + 1;
                for (int w = -1; w <= 1; w++)
                    for (int u = -F; u <= F; u++) {
                        double dS = 2.0 * jp2 * w - 2.0 * bp * pk.q * u;
                        thr[(size_t)(w + 1) * W + (size_t)(u + F)] =
                            dS <= 0 ? UINT64_MAX : (dS >= SQA_EXP_CUT ? 0 : threshold(exp(-dS)));
                    }
                const uint64_t *th = thr + W + F; /* centre: w = 0, u = 0 */
                for (int k = 0; k < P; k++) {
                    int8_t *restrict sk = is + k * ld;
                    int *restrict vk = iv + k * ld;
                    const int8_t *su = is + (size_t)(k == 0 ? P - 1 : k - 1) * ld;
                    const int8_t *sd = is + (size_t)(k == P - 1 ? 0 : k + 1) * ld;
                    for (int i = 0; i < n; i++) {
                        const int si = sk[i];
                        const ptrdiff_t idx = (ptrdiff_t)W * ((si * (su[i] + sd[i])) / 2) + si * vk[i];
                        if (qnn_rng_next(&r) >= th[idx]) continue;
                        sk[i] = (int8_t)-si;
                        const int d = -2 * si;
                        for (int q = rp[i]; q < rp[i + 1]; q += 4) {
                            vk[col[q]] += d * ival[q];
                            vk[col[q + 1]] += d * ival[q + 1];
                            vk[col[q + 2]] += d * ival[q + 2];
                            vk[col[q + 3]] += d * ival[q + 3];
                        }
                        flips += 1;
                    }
                }
                if (bp > 0)
                    for (int i = 0; i < n; i++) {
                        long long U = 0;
                        for (int k = 0; k < P; k++) U += is[k * ld + i] * iv[k * ld + i];
                        const double dS = -2.0 * bp * pk.q * (double)U;
                        if (dS > 0.0) {
                            if (dS >= SQA_EXP_CUT) continue;
                            if (qnn_rng_uniform(&r) >= exp(-dS)) continue;
                        }
                        for (int k = 0; k < P; k++) {
                            int8_t *sk = is + k * ld;
                            int *vk = iv + k * ld;
                            const int d = -2 * sk[i];
                            sk[i] = (int8_t)-sk[i];
                            for (int q = rp[i]; q < rp[i + 1]; q++) vk[col[q]] += d * ival[q];
                        }
                        gflips += 1;
                    }
            } else {
                for (int k = 0; k < P; k++) {
                    double *restrict sk = s + k * ld;
                    double *restrict fk = f + k * ld;
                    const double *su = s + (size_t)(k == 0 ? P - 1 : k - 1) * ld;
                    const double *sd = s + (size_t)(k == P - 1 ? 0 : k + 1) * ld;
                    for (int i = 0; i < n; i++) {
                        const double si = sk[i];
                        const double dS = si * (jp2 * (su[i] + sd[i]) - 2.0 * bp * fk[i]);
                        if (dS > 0.0) {
                            if (dS >= SQA_EXP_CUT) continue;
                            if (qnn_rng_uniform(&r) >= qnn_ising_exp_neg(-dS)) continue;
                        }
                        sk[i] = -si;
                        const double d = -2.0 * si;
                        for (int q = rp[i]; q < rp[i + 1]; q += 4) {
                            fk[col[q]] += d * val[q];
                            fk[col[q + 1]] += d * val[q + 1];
                            fk[col[q + 2]] += d * val[q + 2];
                            fk[col[q + 3]] += d * val[q + 3];
                        }
                        flips += 1;
                    }
                }
                if (bp > 0)
                    for (int i = 0; i < n; i++) {
                        double de = 0;
                        for (int k = 0; k < P; k++) de += s[k * ld + i] * f[k * ld + i];
                        const double dS = -2.0 * bp * de;
                        if (dS > 0.0) {
                            if (dS >= SQA_EXP_CUT) continue;
                            if (qnn_rng_uniform(&r) >= exp(-dS)) continue;
                        }
                        for (int k = 0; k < P; k++) {
                            double *sk = s + k * ld, *fk = f + k * ld;
                            const double d = -2.0 * sk[i];
                            sk[i] = -sk[i];
                            for (int q = rp[i]; q < rp[i + 1]; q++) fk[col[q]] += d * val[q];
                        }
                        gflips += 1;
                    }
            }
            if ((t + 1) % chunk == 0 || t + 1 == sweeps)
                rc = qnn_progress_step(p, (double)rd * sweeps + t + 1, total);
        }
        /* read-out */
        int8_t *out = spins + (size_t)rd * (size_t)n;
        double bestE = INFINITY;
        int k0 = readout == QNN_SQA_READOUT_LAST ? P - 1 : 0;
        for (int k = k0; k < P && !rc; k++) {
            for (int i = 0; i < n; i++)
                tmp[i] = use_int ? is[k * ld + i] : (s[k * ld + i] > 0 ? 1 : -1);
            double E;
            rc = qnn_ising_energy(m, tmp, &E, err);
            if (!rc && E < bestE) {
                bestE = E;
                memcpy(out, tmp, (size_t)n);
            }
        }
        energies[rd] = bestE;
    }
    if (st) {
        memset(st, 0, sizeof *st);
        st->flip_attempts = (double)reads * (double)sweeps * (double)n * (double)P;
        st->flips = flips;
        st->global_attempts = (double)reads * (double)sweeps * (double)n;
        st->global_flips = gflips;
    }
    if (rc == QNN_EINTR || rc == QNN_ECALLBACK)
        rc = qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
done:
    free(is);
    free(iv);
    free(thr);
    qnn_ising_pack_free(&pk);
    free(s);
    free(f);
    free(tmp);
    return rc;
}
