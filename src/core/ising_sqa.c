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
#include <omp.h>
#include <stdatomic.h>
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

/* per-thread workspace of the read loop: integer or double slices, read-out buffer */
typedef struct sqa_work {
    double *s, *f;
    int8_t *is, *tmp;
    int *iv;
    uint64_t *thr;
} sqa_work;

static int sqa_work_init(sqa_work *w, int use_int, size_t ld, int P, int n, int F) {
    w->tmp = malloc((size_t)n + 1);
    if (use_int) {
        w->is = calloc(ld * P, 1);
        w->iv = calloc(ld * P, sizeof *w->iv);
        w->thr = malloc((size_t)3 * (2 * (size_t)F + 1) * sizeof *w->thr);
        return w->tmp && w->is && w->iv && w->thr;
    }
    w->s = calloc(ld * P, sizeof *w->s);
    w->f = calloc(ld * P, sizeof *w->f);
    return w->tmp && w->s && w->f;
}

static void sqa_work_free(sqa_work *w) {
    free(w->s);
    free(w->f);
    free(w->is);
    free(w->tmp);
    free(w->iv);
    free(w->thr);
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
    /* Reads run in parallel, one seeded stream each (split from rng in read order) and one
     * workspace per thread: results do not depend on the thread count (see qnn_ising_sa). */
    int nt = omp_get_max_threads();
    if (nt > reads) nt = reads;
    if (nt < 1 || omp_in_parallel() || (double)reads * sweeps * n * P < QNN_ISING_PAR_MIN_ATTEMPTS)
        nt = 1;
    qnn_rng *rr = malloc((size_t)reads * sizeof *rr);
    double *rfl = calloc((size_t)2 * (size_t)reads, sizeof *rfl);
    int *rrc = calloc((size_t)reads, sizeof *rrc);
    qnn_error *rerr = calloc((size_t)reads, sizeof *rerr);
    sqa_work *wk = calloc((size_t)nt, sizeof *wk);
    int ok = rr && rfl && rrc && rerr && wk;
    for (int t = 0; t < nt && ok; t++) ok = sqa_work_init(&wk[t], use_int, ld, P, n, pk.F);
    if (!ok) {
        rc = qnn_error_set(err, QNN_ENOMEM, "out of memory for %d spins x %d slices", n, P);
        goto done;
    }
    for (int rd = 0; rd < reads; rd++) qnn_rng_split(rng, (uint64_t)rd, &rr[rd]);
    const int *restrict rp = pk.rp;
    const int *restrict col = pk.col;
    const double *restrict val = pk.val;
    const int *restrict ival = pk.ival;
    const int F = pk.F;
    int chunk = (int)((1u << 22) / ((unsigned)(n > 0 ? n : 1) * (unsigned)P));
    if (chunk < 1) chunk = 1;
    double total = (double)reads * (double)sweeps;
    _Atomic int stop = 0;
    _Atomic long long done_sweeps = 0;
#pragma omp parallel for schedule(static, 1) num_threads(nt) if (nt > 1)
    for (int rd = 0; rd < reads; rd++) {
        if (stop) continue;
        const int tid = omp_get_thread_num();
        sqa_work *w = &wk[tid];
        double *s = w->s, *f = w->f;
        int8_t *is = w->is, *tmp = w->tmp;
        int *iv = w->iv;
        uint64_t *thr = w->thr;
        double flips = 0, gflips = 0;
        int rc = 0, since = 0;
        qnn_rng r = rr[rd];
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
            if (++since == chunk || t + 1 == sweeps) {
                long long dn = atomic_fetch_add(&done_sweeps, (long long)since) + since;
                since = 0;
                if (tid == 0) rc = qnn_progress_step(p, (double)dn, total);
                else if (qnn_interrupt_pending()) rc = QNN_EINTR;
                if (!rc && stop) rc = QNN_EINTR;
            }
        }
        /* read-out */
        int8_t *out = spins + (size_t)rd * (size_t)n;
        double bestE = INFINITY;
        int k0 = readout == QNN_SQA_READOUT_LAST ? P - 1 : 0;
        for (int k = k0; k < P && !rc; k++) {
            for (int i = 0; i < n; i++)
                tmp[i] = use_int ? is[k * ld + i] : (s[k * ld + i] > 0 ? 1 : -1);
            double E;
            rc = qnn_ising_energy(m, tmp, &E, &rerr[rd]);
            if (!rc && E < bestE) {
                bestE = E;
                memcpy(out, tmp, (size_t)n);
            }
        }
        energies[rd] = bestE;
        rfl[2 * rd] = flips;
        rfl[2 * rd + 1] = gflips;
        rrc[rd] = rc;
        if (rc) stop = 1;
    }
    /* final report from the calling thread (reads of the other threads may have finished last) */
    if (!stop) {
        int frc = qnn_progress_step(p, total, total);
        if (frc) rrc[reads - 1] = frc;
    }
    double flips = 0, gflips = 0;
    for (int rd = 0; rd < reads; rd++) {
        flips += rfl[2 * rd];
        gflips += rfl[2 * rd + 1];
    }
    for (int rd = 0; rd < reads && !rc; rd++)
        if (rrc[rd] && rrc[rd] != QNN_EINTR && rrc[rd] != QNN_ECALLBACK) {
            rc = rrc[rd];
            if (err) *err = rerr[rd];
        }
    for (int rd = 0; rd < reads && !rc; rd++)
        if (rrc[rd] == QNN_ECALLBACK) rc = QNN_ECALLBACK;
    for (int rd = 0; rd < reads && !rc; rd++)
        if (rrc[rd]) rc = rrc[rd];
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
    if (wk)
        for (int t = 0; t < nt; t++) sqa_work_free(&wk[t]);
    free(wk);
    free(rr);
    free(rfl);
    free(rrc);
    free(rerr);
    qnn_ising_pack_free(&pk);
    return rc;
}
