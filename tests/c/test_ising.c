/* Ising core: energies, Gray-code ground states vs brute force, QUBO round trip, clamping,
 * SA / SQA success rates, adiabatic exact annealing, spectrum vs an independent Jacobi
 * eigensolver, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "harness.h"
#include "qnn/gates.h"
#include "qnn/ising.h"
#include "qnn/statevec.h"
#include "../../src/core/ising_internal.h"

/* random model: Gaussian couplings with probability dens, Gaussian fields * hs */
static qnn_ising *random_model(int n, double dens, double hs, uint64_t seed) {
    qnn_ising *m = NULL;
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    if (qnn_ising_new(&m, n, NULL)) return NULL;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (qnn_rng_uniform(&r) < dens) qnn_ising_add_coupling(m, i, j, qnn_rng_normal(&r), NULL);
    for (int i = 0; i < n; i++) qnn_ising_add_field(m, i, hs * qnn_rng_normal(&r), NULL);
    qnn_ising_add_offset(m, 0.25, NULL);
    qnn_ising_prepare(m, NULL);
    return m;
}

/* independent energy straight from the definition (pairs counted once) */
static double brute_energy(const qnn_ising *m, const int8_t *s) {
    double e = m->offset;
    for (int i = 0; i < m->n; i++) e += m->h[i] * s[i];
    for (size_t k = 0; k < m->ne; k++) e += m->e[k].w * s[m->e[k].i] * s[m->e[k].j];
    return e;
}

static void index_spins(uint64_t x, int n, int8_t *s) {
    for (int q = 0; q < n; q++) s[q] = (x >> q) & 1 ? -1 : 1;
}

static double brute_min(qnn_ising *m) {
    int8_t s[32];
    double best = INFINITY;
    for (uint64_t x = 0; x < ((uint64_t)1 << m->n); x++) {
        index_spins(x, m->n, s);
        double e = brute_energy(m, s);
        if (e < best) best = e;
    }
    return best;
}

TEST(coalesce_and_energy) {
    qnn_ising *m;
    CHECK(qnn_ising_new(&m, 3, NULL) == QNN_OK);
    CHECK(qnn_ising_add_coupling(m, 0, 1, 1.0, NULL) == QNN_OK);
    CHECK(qnn_ising_add_coupling(m, 1, 0, 0.5, NULL) == QNN_OK); /* summed with (0,1) */
    CHECK(qnn_ising_add_coupling(m, 1, 2, -2.0, NULL) == QNN_OK);
    CHECK(qnn_ising_add_coupling(m, 2, 1, 2.0, NULL) == QNN_OK); /* cancels */
    CHECK(qnn_ising_add_field(m, 2, 0.75, NULL) == QNN_OK);
    CHECK(qnn_ising_prepare(m, NULL) == QNN_OK);
    CHECK(m->ne == 1 && m->e[0].i == 0 && m->e[0].j == 1 && m->e[0].w == 1.5);
    int8_t s[3] = {1, -1, -1};
    double E;
    CHECK(qnn_ising_energy(m, s, &E, NULL) == QNN_OK);
    CHECK_NEAR(E, -1.5 - 0.75, 0);
    qnn_ising_free(m);
}

TEST(gray_ground_equals_brute) {
    for (int n = 1; n <= 12; n++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            qnn_ising *m = random_model(n, 0.6, seed == 2 ? 0.0 : 0.5, 100 * n + seed);
            int8_t sp[32];
            qnn_ising_ground g = {0};
            g.spins = sp;
            CHECK(qnn_ising_ground_state(m, &g, NULL, NULL) == QNN_OK);
            double b = brute_min(m);
            CHECK_NEAR(g.energy, b, 1e-10);
            CHECK_NEAR(brute_energy(m, sp), b, 1e-10);
            if (seed == 2) CHECK(g.degeneracy >= 2); /* h = 0: spin-flip symmetry */
            qnn_ising_free(m);
        }
}

TEST(energy_table) {
    qnn_ising *m = random_model(9, 0.5, 0.3, 77);
    double *E = malloc(sizeof(double) << 9);
    int8_t s[9];
    CHECK(qnn_ising_energies(m, E, NULL, NULL) == QNN_OK);
    double worst = 0;
    for (uint64_t x = 0; x < 512; x++) {
        index_spins(x, 9, s);
        worst = fmax(worst, fabs(E[x] - brute_energy(m, s)));
    }
    CHECK(worst < 1e-12);
    free(E);
    qnn_ising_free(m);
}

TEST(qubo_round_trip_exact) {
    int n = 6;
    double Q[36], Q2[36], off2;
    qnn_rng r;
    qnn_rng_seed(&r, 5);
    for (int k = 0; k < 36; k++) Q[k] = (double)((int)qnn_rng_below(&r, 21) - 10);
    qnn_ising *m;
    CHECK(qnn_ising_from_qubo(Q, n, 3.0, &m, NULL) == QNN_OK);
    CHECK(qnn_ising_to_qubo(m, Q2, &off2, NULL) == QNN_OK);
    int8_t s[6];
    int exact = 1;
    for (uint64_t x = 0; x < 64; x++) {
        index_spins(x, n, s);
        double eq = 3.0, eq2 = off2, ei;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double xi = (1 + s[i]) / 2, xj = (1 + s[j]) / 2;
                eq += Q[i * n + j] * xi * xj;
                eq2 += Q2[i * n + j] * xi * xj;
            }
        qnn_ising_energy(m, s, &ei, NULL);
        if (eq != ei || eq2 != ei) exact = 0;
    }
    CHECK(exact);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) CHECK(Q2[i * n + j] == 0.0); /* upper triangular */
    qnn_ising_free(m);
}

TEST(clamp_preserves_energy) {
    qnn_ising *m = random_model(8, 0.7, 0.4, 9);
    int idx[3] = {1, 4, 6};
    int8_t vals[3] = {-1, 1, -1};
    int map[8];
    qnn_ising *c;
    CHECK(qnn_ising_clamp(m, idx, vals, 3, &c, map, NULL) == QNN_OK);
    CHECK(c->n == 5);
    CHECK(map[1] == -1 && map[0] == 0 && map[7] == 4);
    int8_t sf[5], s[8];
    double worst = 0;
    for (uint64_t x = 0; x < 32; x++) {
        index_spins(x, 5, sf);
        for (int i = 0; i < 8; i++) s[i] = map[i] >= 0 ? sf[map[i]] : 0;
        s[1] = -1, s[4] = 1, s[6] = -1;
        double a, b;
        qnn_ising_energy(c, sf, &a, NULL);
        qnn_ising_energy(m, s, &b, NULL);
        worst = fmax(worst, fabs(a - b));
    }
    CHECK(worst < 1e-12);
    qnn_ising_free(c);
    /* clamping twice to different values is an error */
    int idx2[2] = {2, 2};
    int8_t v2[2] = {1, -1};
    qnn_error e = {0};
    CHECK(qnn_ising_clamp(m, idx2, v2, 2, &c, NULL, &e) == QNN_EINVAL);
    qnn_ising_free(m);
}

static void geometric(qnn_ising *m, int sweeps, double *b) {
    double dmin, dmax;
    qnn_ising_delta_range(m, &dmin, &dmax);
    double b0 = log(2.0) / dmax, b1 = log(100.0) / dmin;
    for (int k = 0; k < sweeps; k++) b[k] = b0 * pow(b1 / b0, (double)k / (sweeps - 1));
}

TEST(sa_finds_ground_states) {
    int runs = 40, ok = 0, sweeps = 1000, reads = 10;
    double *b = malloc(sweeps * sizeof *b);
    int8_t S[16 * 10];
    double E[10];
    for (int t = 0; t < runs; t++) {
        /* alternate Gaussian (double kernel) and +-1 (integer kernel) instances */
        qnn_ising *m;
        if (t % 2) {
            m = random_model(16, 0.5, 0.2, 1000 + t);
        } else {
            qnn_rng r;
            qnn_rng_seed(&r, 2000 + t);
            qnn_ising_new(&m, 16, NULL);
            for (int i = 0; i < 16; i++)
                for (int j = i + 1; j < 16; j++)
                    if (qnn_rng_uniform(&r) < 0.4)
                        qnn_ising_add_coupling(m, i, j, (qnn_rng_next(&r) >> 63) ? 1 : -1, NULL);
            qnn_ising_add_field(m, 0, 1, NULL); /* break the symmetry */
        }
        qnn_ising_prepare(m, NULL);
        geometric(m, sweeps, b);
        qnn_rng r;
        qnn_rng_seed(&r, (uint64_t)t);
        CHECK(qnn_ising_sa(m, b, sweeps, reads, &r, NULL, S, E, NULL, NULL, NULL) == QNN_OK);
        double best = INFINITY;
        for (int k = 0; k < reads; k++) best = fmin(best, E[k]);
        if (best <= brute_min(m) + 1e-9) ok++;
        qnn_ising_free(m);
    }
    CHECK(ok >= 0.95 * runs);
    free(b);
}

TEST(sqa_finds_ground_states) {
    int runs = 30, ok = 0, sweeps = 500, reads = 4, P = 16;
    double *G = malloc(sweeps * sizeof *G), *B = malloc(sweeps * sizeof *B);
    int8_t S[16 * 4];
    double E[4];
    for (int t = 0; t < runs; t++) {
        qnn_ising *m;
        if (t % 2) {
            m = random_model(16, 0.5, 0.2, 3000 + t);
        } else {
            qnn_rng r;
            qnn_rng_seed(&r, 4000 + t);
            qnn_ising_new(&m, 16, NULL);
            for (int i = 0; i < 16; i++)
                for (int j = i + 1; j < 16; j++)
                    if (qnn_rng_uniform(&r) < 0.4)
                        qnn_ising_add_coupling(m, i, j, (qnn_rng_next(&r) >> 63) ? 1 : -1, NULL);
        }
        qnn_ising_prepare(m, NULL);
        double sc = qnn_ising_scale(m);
        for (int k = 0; k < sweeps; k++) {
            double s = (double)k / (sweeps - 1);
            G[k] = 3 * sc * (1 - s);
            B[k] = s;
        }
        qnn_rng r;
        qnn_rng_seed(&r, (uint64_t)t);
        CHECK(qnn_ising_sqa(m, G, B, sweeps, P, P / sc, reads, QNN_SQA_READOUT_BEST, &r, NULL, S,
                            E, NULL, NULL, NULL) == QNN_OK);
        double best = INFINITY;
        for (int k = 0; k < reads; k++) best = fmin(best, E[k]);
        if (best <= brute_min(m) + 1e-9) ok++;
        qnn_ising_free(m);
    }
    CHECK(ok >= 0.95 * runs);
    free(G);
    free(B);
}

TEST(exact_adiabatic_limit) {
    /* 4 spins, unique ground state */
    qnn_ising *m;
    qnn_ising_new(&m, 4, NULL);
    qnn_ising_add_coupling(m, 0, 1, 1.0, NULL);
    qnn_ising_add_coupling(m, 1, 2, -0.7, NULL);
    qnn_ising_add_coupling(m, 2, 3, 0.9, NULL);
    qnn_ising_add_coupling(m, 0, 3, 0.4, NULL);
    qnn_ising_add_field(m, 0, 0.3, NULL);
    qnn_ising_add_field(m, 2, -0.2, NULL);
    int steps = 4000;
    double *A = malloc(steps * sizeof *A), *B = malloc(steps * sizeof *B), P[16], E[16];
    for (int k = 0; k < steps; k++) {
        double s = (k + 0.5) / steps;
        A[k] = 1 - s;
        B[k] = s;
    }
    CHECK(qnn_ising_exact_anneal(m, A, B, steps, 200.0, -1, P, E, NULL, NULL) == QNN_OK);
    int g = 0;
    double sum = 0;
    for (int x = 0; x < 16; x++) {
        sum += P[x];
        if (E[x] < E[g]) g = x;
    }
    CHECK_NEAR(sum, 1.0, 1e-10);
    CHECK(P[g] > 0.99);
    /* sudden limit T = 0: stays uniform */
    CHECK(qnn_ising_exact_anneal(m, A, B, steps, 0.0, -1, P, NULL, NULL, NULL) == QNN_OK);
    CHECK_NEAR(P[5], 1.0 / 16, 1e-12);
    free(A);
    free(B);
    qnn_ising_free(m);
}

/* the fused kernel against the same evolution built from qnn_state primitives */
TEST(exact_matches_statevec_reference) {
    for (int n = 3; n <= 13; n += 5) { /* 13 > the 11-qubit block: exercises the high passes */
        qnn_ising *m = random_model(n, 0.5, 0.4, 500 + n);
        int steps = 40;
        double T = 7.0, dt = T / steps;
        double *A = malloc(steps * sizeof *A), *B = malloc(steps * sizeof *B);
        for (int k = 0; k < steps; k++) {
            double s = (k + 0.5) / steps;
            A[k] = 1.3 * (1 - s) * (1 - s);
            B[k] = s + 0.1;
        }
        size_t N = (size_t)1 << n;
        double *P = malloc(N * sizeof *P), *E = malloc(N * sizeof *E), *ph = malloc(N * sizeof *ph);
        double *Pr = malloc(N * sizeof *Pr);
        CHECK(qnn_ising_exact_anneal(m, A, B, steps, T, -1, P, E, NULL, NULL) == QNN_OK);
        qnn_state st;
        CHECK(qnn_state_init(&st, n, NULL) == QNN_OK);
        for (int q = 0; q < n; q++) qnn_state_apply_gate(&st, QNN_G_H, &q, 1, NULL, NULL);
        for (int k = 0; k < steps; k++) {
            for (size_t x = 0; x < N; x++) ph[x] = -0.5 * dt * B[k] * E[x];
            qnn_state_apply_diagonal(&st, ph, NULL);
            double ang = -2 * dt * A[k];
            for (int q = 0; q < n; q++) qnn_state_apply_gate(&st, QNN_G_RX, &q, 1, &ang, NULL);
            qnn_state_apply_diagonal(&st, ph, NULL);
        }
        qnn_state_probs(&st, Pr);
        double worst = 0;
        for (size_t x = 0; x < N; x++) worst = fmax(worst, fabs(P[x] - Pr[x]));
        CHECK(worst < 1e-11);
        qnn_state_release(&st);
        free(A); free(B); free(P); free(E); free(ph); free(Pr);
        qnn_ising_free(m);
    }
}

/* cyclic Jacobi eigenvalues of a symmetric N x N matrix (independent of LAPACK) */
static void jacobi(double *a, int N, double *w) {
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < N; p++)
            for (int q = p + 1; q < N; q++) off += a[p * N + q] * a[p * N + q];
        if (off < 1e-30) break;
        for (int p = 0; p < N; p++)
            for (int q = p + 1; q < N; q++) {
                double apq = a[p * N + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * N + q] - a[p * N + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < N; k++) {
                    double akp = a[k * N + p], akq = a[k * N + q];
                    a[k * N + p] = c * akp - s * akq;
                    a[k * N + q] = s * akp + c * akq;
                }
                for (int k = 0; k < N; k++) {
                    double apk = a[p * N + k], aqk = a[q * N + k];
                    a[p * N + k] = c * apk - s * aqk;
                    a[q * N + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < N; i++) w[i] = a[i * N + i];
    for (int i = 1; i < N; i++) /* insertion sort */
        for (int j = i; j > 0 && w[j] < w[j - 1]; j--) {
            double t = w[j];
            w[j] = w[j - 1];
            w[j - 1] = t;
        }
}

TEST(spectrum_matches_jacobi) {
    qnn_ising *m = random_model(4, 0.8, 0.5, 31);
    int N = 16;
    double H[256], wj[16], wl[16];
    double svals[3] = {0.0, 0.37, 1.0};
    for (int t = 0; t < 3; t++) {
        double A = 1 - svals[t], B = svals[t];
        int8_t s[4];
        memset(H, 0, sizeof H);
        for (int x = 0; x < N; x++) {
            index_spins((uint64_t)x, 4, s);
            H[x * N + x] = B * brute_energy(m, s);
            for (int q = 0; q < 4; q++) H[x * N + (x ^ (1 << q))] -= A;
        }
        jacobi(H, N, wj);
        CHECK(qnn_ising_spectrum(m, A, B, N, wl, NULL) == QNN_OK);
        double worst = 0;
        for (int i = 0; i < N; i++) worst = fmax(worst, fabs(wj[i] - wl[i]));
        CHECK(worst < 1e-10);
        CHECK_NEAR(wl[1] - wl[0], wj[1] - wj[0], 1e-10);
    }
    /* s = 0: eigenvalues of -sum X are -(n - 2w) */
    CHECK(qnn_ising_spectrum(m, 1.0, 0.0, 5, wl, NULL) == QNN_OK);
    CHECK_NEAR(wl[0], -4, 1e-12);
    CHECK_NEAR(wl[1], -2, 1e-12);
    CHECK_NEAR(wl[4], -2, 1e-12);
    qnn_ising_free(m);
}

TEST(fast_exp_accuracy) {
    double worst = 0;
    for (double x = -40; x <= 0; x += 0.001) {
        double a = qnn_ising_exp_neg(x), b = exp(x);
        worst = fmax(worst, fabs(a - b) / b);
    }
    CHECK(worst < 2e-7);
}

TEST(bad_input) {
    qnn_error e = {0};
    qnn_ising *m;
    CHECK(qnn_ising_new(&m, -1, &e) == QNN_EINVAL);
    CHECK(qnn_ising_new(&m, 31, NULL) == QNN_OK);
    CHECK(qnn_ising_add_coupling(m, 0, 0, 1.0, &e) == QNN_EINVAL);
    CHECK(qnn_ising_add_coupling(m, 0, 31, 1.0, &e) == QNN_ERANGE);
    CHECK(qnn_ising_add_coupling(m, 0, 1, NAN, &e) == QNN_EINVAL);
    CHECK(qnn_ising_add_field(m, 0, INFINITY, &e) == QNN_EINVAL);
    int8_t sp[31];
    qnn_ising_ground g = {0};
    g.spins = sp;
    CHECK(qnn_ising_ground_state(m, &g, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "30") != NULL);
    double w[2];
    CHECK(qnn_ising_spectrum(m, 1, 0, 1, w, &e) == QNN_EINVAL);
    double A = 1, B = 0, P[2];
    CHECK(qnn_ising_exact_anneal(m, &A, &B, 1, 1.0, -1, P, NULL, NULL, &e) == QNN_EINVAL);
    qnn_ising_free(m);
    qnn_ising_new(&m, 2, NULL);
    int8_t bad[2] = {1, 0};
    double E;
    CHECK(qnn_ising_energy(m, bad, &E, &e) == QNN_EINVAL);
    double beta[2] = {1.0, -1.0};
    int8_t S[2];
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    CHECK(qnn_ising_sa(m, beta, 2, 1, &r, NULL, S, &E, NULL, NULL, &e) == QNN_EINVAL);
    beta[1] = NAN;
    CHECK(qnn_ising_sa(m, beta, 2, 1, &r, NULL, S, &E, NULL, NULL, &e) == QNN_EINVAL);
    double G[2] = {1, -1}, Bs[2] = {0, 1};
    CHECK(qnn_ising_sqa(m, G, Bs, 2, 4, 1.0, 1, 0, &r, NULL, S, &E, NULL, NULL, &e) == QNN_EINVAL);
    G[1] = 0;
    CHECK(qnn_ising_sqa(m, G, Bs, 2, 1, 1.0, 1, 0, &r, NULL, S, &E, NULL, NULL, &e) == QNN_EINVAL);
    CHECK(qnn_ising_sqa(m, G, Bs, 2, 4, 0.0, 1, 0, &r, NULL, S, &E, NULL, NULL, &e) == QNN_EINVAL);
    double Aneg[1] = {-1};
    CHECK(qnn_ising_exact_anneal(m, Aneg, &B, 1, 1.0, -1, P, NULL, NULL, &e) == QNN_EINVAL);
    CHECK(qnn_ising_spectrum(m, 1, 0, 5, w, &e) == QNN_EINVAL); /* k > 2^n */
    qnn_ising_free(m);
}

TEST(interrupt_stops_ground_state) {
    qnn_ising *m = random_model(24, 0.2, 0.1, 3);
    int8_t sp[24];
    qnn_ising_ground g = {0};
    g.spins = sp;
    qnn_interrupt_raise();
    CHECK(qnn_ising_ground_state(m, &g, NULL, NULL) == QNN_EINTR);
    qnn_interrupt_clear();
    qnn_ising_free(m);
}

/* SA and SQA reads run in parallel: 1 and 2 threads give the same bits (spins, energies, flip
 * counts) for each kernel (sparse double, integer, dense; SQA double and integer). */
static qnn_ising *pm_model(int kind) {
    if (kind == 0) return random_model(60, 0.08, 0.3, 11);  /* sparse double */
    if (kind == 2) return random_model(40, 0.6, 0.3, 12);   /* dense */
    qnn_ising *m;
    qnn_rng r;
    qnn_rng_seed(&r, 13);
    qnn_ising_new(&m, 50, NULL);
    for (int i = 0; i < 50; i++)
        for (int j = i + 1; j < 50; j++)
            if (qnn_rng_uniform(&r) < 0.1)
                qnn_ising_add_coupling(m, i, j, (qnn_rng_next(&r) >> 63) ? 1 : -1, NULL);
    qnn_ising_prepare(m, NULL);
    return m;
}

static int stop_cb(void *ud, double done, double total) {
    (void)ud, (void)total;
    return done > 0 ? 1 : 0;
}

TEST(parallel_reads_thread_independent) {
    enum { R = 7, SW = 300, P = 6 }; /* above QNN_ISING_PAR_MIN_ATTEMPTS for every kind */
    double b[SW], G[SW], Bs[SW];
    int saved = omp_get_max_threads();
    for (int kind = 0; kind < 3; kind++) {
        qnn_ising *m = pm_model(kind);
        int n = m->n;
        geometric(m, SW, b);
        for (int k = 0; k < SW; k++) {
            G[k] = 2.0 * (1.0 - (double)k / (SW - 1));
            Bs[k] = (double)k / (SW - 1);
        }
        int8_t *S[2], *Q[2];
        double E[2][R], F[2][R];
        qnn_ising_stats st[2], sq[2];
        for (int t = 0; t < 2; t++) {
            S[t] = malloc((size_t)R * n);
            Q[t] = malloc((size_t)R * n);
            omp_set_num_threads(t + 1);
            qnn_rng r;
            qnn_rng_seed(&r, 99);
            CHECK(qnn_ising_sa(m, b, SW, R, &r, NULL, S[t], E[t], &st[t], NULL, NULL) == QNN_OK);
            qnn_rng_seed(&r, 99);
            CHECK(qnn_ising_sqa(m, G, Bs, SW, P, 4.0, R, QNN_SQA_READOUT_BEST, &r, NULL, Q[t], F[t],
                                &sq[t], NULL, NULL) == QNN_OK);
        }
        CHECK(memcmp(S[0], S[1], (size_t)R * n) == 0);
        CHECK(memcmp(E[0], E[1], sizeof E[0]) == 0);
        CHECK(st[0].flips == st[1].flips && st[0].flips > 0);
        CHECK(memcmp(Q[0], Q[1], (size_t)R * n) == 0);
        CHECK(memcmp(F[0], F[1], sizeof F[0]) == 0);
        CHECK(sq[0].flips == sq[1].flips && sq[0].global_flips == sq[1].global_flips);
        /* reads differ from each other (independent streams) and energies match the spins */
        CHECK(memcmp(S[0], S[0] + n, (size_t)n) != 0);
        for (int k = 0; k < R; k++) CHECK_NEAR(E[0][k], brute_energy(m, S[0] + (size_t)k * n), 1e-9);
        for (int t = 0; t < 2; t++) {
            free(S[t]);
            free(Q[t]);
        }
        qnn_ising_free(m);
    }
    /* interrupt and callback stop with 2 threads */
    omp_set_num_threads(2);
    qnn_ising *m = pm_model(0);
    int8_t *S = malloc((size_t)R * m->n);
    double E[R];
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    qnn_error e;
    qnn_interrupt_raise();
    CHECK(qnn_ising_sa(m, b, SW, R, &r, NULL, S, E, NULL, NULL, &e) == QNN_EINTR);
    CHECK(qnn_ising_sqa(m, G, Bs, SW, P, 4.0, R, 0, &r, NULL, S, E, NULL, NULL, &e) == QNN_EINTR);
    qnn_interrupt_clear();
    qnn_progress pr = {stop_cb, NULL};
    CHECK(qnn_ising_sa(m, b, SW, R, &r, NULL, S, E, NULL, &pr, &e) == QNN_ECALLBACK);
    free(S);
    qnn_ising_free(m);
    omp_set_num_threads(saved);
}

int main(void) {
    RUN(coalesce_and_energy);
    RUN(gray_ground_equals_brute);
    RUN(energy_table);
    RUN(qubo_round_trip_exact);
    RUN(clamp_preserves_energy);
    RUN(sa_finds_ground_states);
    RUN(sqa_finds_ground_states);
    RUN(exact_adiabatic_limit);
    RUN(exact_matches_statevec_reference);
    RUN(spectrum_matches_jacobi);
    RUN(fast_exp_accuracy);
    RUN(bad_input);
    RUN(interrupt_stops_ground_state);
    RUN(parallel_reads_thread_independent);
    return harness_done();
}
