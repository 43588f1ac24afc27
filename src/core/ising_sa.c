/* Simulated annealing: Metropolis single-spin flips in sequential sweep order with cached local
 * fields f_i = h_i + sum_j J_ij s_j (flip cost dE = -2 s_i f_i). Three kernels:
 *  - integer: when all h, J are integer multiples of a quantum q (see ising_internal.h), fields
 *    are kept as integers v_i = f_i / q and the acceptance min(1, exp(-beta dE)) is looked up in
 *    a per-sweep table of 64-bit thresholds (exact exp, no per-attempt exp, no conversions);
 *  - dense: >= 25% of all pairs coupled (n <= 4096): J as a dense row-major matrix, so the field
 *    update after an accepted flip is one contiguous vectorised row;
 *  - sparse double: padded CSR rows; exp() is skipped when dE <= 0 (accept) or beta*dE >= 40
 *    (reject: e^-40 < 5e-18) and otherwise approximated to 2e-7 relative (qnn_ising_exp_neg). */
#include "qnn/ising.h"
#include "ising_internal.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SA_EXP_CUT 40.0

/* threshold of acceptance probability p in [0, 1] for a uniform 64-bit draw x: accept iff x < t */
static uint64_t prob_threshold(double p) {
    if (!(p > 0)) return 0;
    double t = p * 18446744073709551616.0; /* 2^64 */
    if (t >= 18446744073709551615.0) return UINT64_MAX;
    return (uint64_t)t;
}

static double sweeps_int(const qnn_ising_pack *pk, const double *betas, int k0, int k1,
                         qnn_rng *rng, int8_t *restrict s, int *restrict v, uint64_t *thr) {
    const int n = pk->n, F = pk->F;
    const int *restrict rp = pk->rp;
    const int *restrict col = pk->col;
    const int *restrict val = pk->ival;
    const uint64_t *th = thr + F; /* th[u] for u = s_i v_i in [-F, F] */
    qnn_rng r = *rng;
    double acc = 0;
    for (int k = k0; k < k1; k++) {
        /* dE = -2 q u: accept with min(1, exp(2 beta q u)) */
        const double c = 2.0 * betas[k] * pk->q;
        for (int u = -F; u < 0; u++) thr[u + F] = prob_threshold(exp(c * u));
        for (int u = 0; u <= F; u++) thr[u + F] = UINT64_MAX;
        for (int i = 0; i < n; i++) {
            const int si = s[i];
            if (qnn_rng_next(&r) >= th[si * v[i]]) continue;
            s[i] = (int8_t)-si;
            const int d = -2 * si;
            for (int p = rp[i]; p < rp[i + 1]; p += 4) {
                v[col[p]] += d * val[p];
                v[col[p + 1]] += d * val[p + 1];
                v[col[p + 2]] += d * val[p + 2];
                v[col[p + 3]] += d * val[p + 3];
            }
            acc += 1;
        }
    }
    *rng = r;
    return acc;
}

static double sweeps_sparse(const qnn_ising_pack *pk, const double *betas, int k0, int k1,
                            qnn_rng *rng, double *restrict s, double *restrict f) {
    const int n = pk->n;
    const int *restrict rp = pk->rp;
    const int *restrict col = pk->col;
    const double *restrict val = pk->val;
    qnn_rng r = *rng;
    double acc = 0;
    for (int k = k0; k < k1; k++) {
        const double b = betas[k];
        const double lim = b > 0 ? SA_EXP_CUT / b : INFINITY;
        for (int i = 0; i < n; i++) {
            const double si = s[i];
            const double de = -2.0 * si * f[i];
            if (de > 0.0) {
                if (de >= lim) continue;
                if (qnn_rng_uniform(&r) >= qnn_ising_exp_neg(-b * de)) continue;
            }
            s[i] = -si;
            const double d = -2.0 * si;
            for (int p = rp[i]; p < rp[i + 1]; p += 4) {
                f[col[p]] += d * val[p];
                f[col[p + 1]] += d * val[p + 1];
                f[col[p + 2]] += d * val[p + 2];
                f[col[p + 3]] += d * val[p + 3];
            }
            acc += 1;
        }
    }
    *rng = r;
    return acc;
}

static double sweeps_dense(int n, const double *restrict J, const double *betas, int k0, int k1,
                           qnn_rng *rng, double *restrict s, double *restrict f) {
    qnn_rng r = *rng;
    double acc = 0;
    for (int k = k0; k < k1; k++) {
        const double b = betas[k];
        const double lim = b > 0 ? SA_EXP_CUT / b : INFINITY;
        for (int i = 0; i < n; i++) {
            const double si = s[i];
            const double de = -2.0 * si * f[i];
            if (de > 0.0) {
                if (de >= lim) continue;
                if (qnn_rng_uniform(&r) >= qnn_ising_exp_neg(-b * de)) continue;
            }
            s[i] = -si;
            const double d = -2.0 * si;
            const double *restrict row = J + (size_t)i * (size_t)n;
#pragma omp simd
            for (int j = 0; j < n; j++) f[j] += d * row[j];
            acc += 1;
        }
    }
    *rng = r;
    return acc;
}

/* per-thread workspace of the read loop */
typedef struct sa_work {
    double *s, *f;
    int8_t *si;
    int *vi;
    uint64_t *thr;
} sa_work;

static int sa_work_init(sa_work *w, int n, int F) {
    w->s = malloc(((size_t)n + 1) * sizeof *w->s);
    w->f = malloc(((size_t)n + 1) * sizeof *w->f);
    w->si = malloc((size_t)n + 1);
    w->vi = malloc(((size_t)n + 1) * sizeof *w->vi);
    w->thr = malloc(((size_t)2 * F + 1) * sizeof *w->thr);
    return w->s && w->f && w->si && w->vi && w->thr;
}

static void sa_work_free(sa_work *w) {
    free(w->s);
    free(w->f);
    free(w->si);
    free(w->vi);
    free(w->thr);
}

int qnn_ising_sa(qnn_ising *m, const double *betas, int sweeps, int reads, qnn_rng *rng,
                 const int8_t *init, int8_t *spins, double *energies, qnn_ising_stats *st,
                 const qnn_progress *p, qnn_error *err) {
    if (sweeps < 1) return qnn_error_set(err, QNN_EINVAL, "sweeps must be >= 1, got %d", sweeps);
    if (reads < 1) return qnn_error_set(err, QNN_EINVAL, "reads must be >= 1, got %d", reads);
    for (int k = 0; k < sweeps; k++)
        if (!(betas[k] >= 0.0) || !isfinite(betas[k]))
            return qnn_error_set(err, QNN_EINVAL,
                                 "beta schedule value %d is %g (must be finite and >= 0)", k + 1,
                                 betas[k]);
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    if (init)
        for (int i = 0; i < m->n; i++)
            if (init[i] != 1 && init[i] != -1)
                return qnn_error_set(err, QNN_EINVAL, "initial spin %d must be -1 or +1", i + 1);
    int n = m->n;
    qnn_ising_pack pk;
    rc = qnn_ising_pack_build(m, &pk, err);
    if (rc) return rc;
    double *dense = NULL;
    size_t nn = (size_t)n * (size_t)n;
    if (n >= 8 && n <= 4096 && (double)(2 * m->ne) >= 0.25 * (double)nn &&
        nn * sizeof(double) <= qnn_max_bytes()) {
        dense = calloc(nn, sizeof *dense);
        if (dense)
            for (size_t e = 0; e < m->ne; e++) {
                dense[(size_t)m->e[e].i * n + m->e[e].j] = m->e[e].w;
                dense[(size_t)m->e[e].j * n + m->e[e].i] = m->e[e].w;
            }
    }
    int use_int = !dense && pk.ival != NULL;
    /* Reads run in parallel, one seeded stream each (split from rng in read order, as a serial
     * loop would) and one workspace per thread: spins and energies do not depend on the thread
     * count. Only the calling thread (team thread 0) reports progress; the others poll the
     * interrupt flag; the first failure stops every read. */
    int nt = omp_get_max_threads();
    if (nt > reads) nt = reads;
    /* small jobs (e.g. the annealing trainer's per-sample problems) stay on one thread */
    if (nt < 1 || omp_in_parallel() || (double)reads * sweeps * n < QNN_ISING_PAR_MIN_ATTEMPTS) nt = 1;
    qnn_rng *rr = malloc((size_t)reads * sizeof *rr);
    double *rflips = calloc((size_t)reads, sizeof *rflips);
    int *rrc = calloc((size_t)reads, sizeof *rrc);
    qnn_error *rerr = calloc((size_t)reads, sizeof *rerr);
    sa_work *wk = calloc((size_t)nt, sizeof *wk);
    int ok = rr && rflips && rrc && rerr && wk;
    for (int t = 0; t < nt && ok; t++) ok = sa_work_init(&wk[t], n, pk.F);
    if (!ok) {
        rc = qnn_error_set(err, QNN_ENOMEM, "out of memory for %d spins", n);
        goto done;
    }
    for (int rd = 0; rd < reads; rd++) qnn_rng_split(rng, (uint64_t)rd, &rr[rd]);
    /* poll progress/interrupt about every 2^22 attempts */
    int chunk = (int)((1u << 22) / (unsigned)(n > 0 ? n : 1));
    if (chunk < 1) chunk = 1;
    double total = (double)reads * (double)sweeps;
    _Atomic int stop = 0;
    _Atomic long long done_sweeps = 0;
#pragma omp parallel for schedule(static, 1) num_threads(nt) if (nt > 1)
    for (int rd = 0; rd < reads; rd++) {
        if (stop) continue;
        const int tid = omp_get_thread_num();
        sa_work *w = &wk[tid];
        double *s = w->s, *f = w->f;
        int8_t *si = w->si;
        int *vi = w->vi;
        qnn_rng r = rr[rd];
        for (int i = 0; i < n; i++)
            s[i] = init ? (double)init[i] : ((qnn_rng_next(&r) >> 63) ? 1.0 : -1.0);
        s[n] = 0;
        for (int i = 0; i < n; i++) {
            double a = m->h[i];
            for (size_t q = m->rowptr[i]; q < m->rowptr[i + 1]; q++) a += m->val[q] * s[m->col[q]];
            f[i] = a;
        }
        f[n] = 0;
        if (use_int) {
            for (int i = 0; i < n; i++) {
                si[i] = s[i] > 0 ? 1 : -1;
                int a = pk.ih[i];
                for (int q = pk.rp[i]; q < pk.rp[i + 1]; q++) a += pk.ival[q] * (int)s[pk.col[q]];
                vi[i] = a;
            }
            vi[n] = 0;
        }
        double fl = 0;
        int lrc = 0;
        for (int k0 = 0; k0 < sweeps && !lrc; k0 += chunk) {
            int k1 = k0 + chunk < sweeps ? k0 + chunk : sweeps;
            if (use_int) fl += sweeps_int(&pk, betas, k0, k1, &r, si, vi, w->thr);
            else if (dense) fl += sweeps_dense(n, dense, betas, k0, k1, &r, s, f);
            else fl += sweeps_sparse(&pk, betas, k0, k1, &r, s, f);
            long long dn = atomic_fetch_add(&done_sweeps, (long long)(k1 - k0)) + (k1 - k0);
            if (tid == 0) lrc = qnn_progress_step(p, (double)dn, total);
            else if (qnn_interrupt_pending()) lrc = QNN_EINTR;
            if (!lrc && stop) lrc = QNN_EINTR;
        }
        int8_t *out = spins + (size_t)rd * (size_t)n;
        for (int i = 0; i < n; i++) out[i] = use_int ? si[i] : (s[i] > 0 ? 1 : -1);
        if (!lrc) lrc = qnn_ising_energy(m, out, &energies[rd], &rerr[rd]);
        rflips[rd] = fl;
        rrc[rd] = lrc;
        if (lrc) stop = 1;
    }
    /* final report from the calling thread (reads of the other threads may have finished last) */
    if (!stop) {
        int frc = qnn_progress_step(p, total, total);
        if (frc) rrc[reads - 1] = frc;
    }
    double flips = 0;
    for (int rd = 0; rd < reads; rd++) flips += rflips[rd];
    /* the first error in read order; an interrupt or callback stop wins over the EINTR that it
     * made the other reads return */
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
        st->flip_attempts = (double)reads * (double)sweeps * (double)n;
        st->flips = flips;
    }
    if (rc == QNN_EINTR || rc == QNN_ECALLBACK)
        rc = qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
done:
    if (wk)
        for (int t = 0; t < nt; t++) sa_work_free(&wk[t]);
    free(wk);
    free(rr);
    free(rflips);
    free(rrc);
    free(rerr);
    free(dense);
    qnn_ising_pack_free(&pk);
    return rc;
}
