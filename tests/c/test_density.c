/* Density matrices: pure evolutions against state vectors, channels against explicit Kraus sums. */
#include <stdlib.h>

#include "harness.h"
#include "qnn/density.h"

static void random_state(qnn_state *s, qnn_rng *r) {
    for (size_t i = 0; i < 2 * s->dim; i++) s->amp[i] = qnn_rng_normal(r);
    qnn_state_normalize(s, NULL);
}

static double diff_pure(const qnn_density *d, const qnn_state *s) {
    double e = 0;
    for (size_t i = 0; i < d->dim; i++)
        for (size_t j = 0; j < d->dim; j++) {
            double ar = s->amp[2 * i], ai = s->amp[2 * i + 1], br = s->amp[2 * j], bi = s->amp[2 * j + 1];
            double re = ar * br + ai * bi, im = ai * br - ar * bi;
            const double *p = d->vec.amp + 2 * (i * d->dim + j);
            e = fmax(e, fabs(p[0] - re) + fabs(p[1] - im));
        }
    return e;
}

/* Full-size matrices (dim x dim complex) for reference computations. */
static double *embed1(const double *K, int q, int n) { /* I (x) K (x) I */
    size_t dim = (size_t)1 << n;
    double *m = calloc(2 * dim * dim, sizeof(double));
    for (size_t r = 0; r < dim; r++)
        for (size_t c = 0; c < dim; c++) {
            if ((r & ~((size_t)1 << q)) != (c & ~((size_t)1 << q))) continue;
            int a = (int)((r >> q) & 1), b = (int)((c >> q) & 1);
            m[2 * (r * dim + c)] = K[2 * (a * 2 + b)];
            m[2 * (r * dim + c) + 1] = K[2 * (a * 2 + b) + 1];
        }
    return m;
}

/* out += M rho M^dagger */
static void add_conj(double *out, const double *M, const double *rho, size_t dim) {
    double *t = calloc(2 * dim * dim, sizeof(double));
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++)
            for (size_t k = 0; k < dim; k++) {
                double ar = M[2 * (i * dim + k)], ai = M[2 * (i * dim + k) + 1];
                double br = rho[2 * (k * dim + j)], bi = rho[2 * (k * dim + j) + 1];
                t[2 * (i * dim + j)] += ar * br - ai * bi;
                t[2 * (i * dim + j) + 1] += ar * bi + ai * br;
            }
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++)
            for (size_t k = 0; k < dim; k++) {
                double ar = t[2 * (i * dim + k)], ai = t[2 * (i * dim + k) + 1];
                double br = M[2 * (j * dim + k)], bi = -M[2 * (j * dim + k) + 1];
                out[2 * (i * dim + j)] += ar * br - ai * bi;
                out[2 * (i * dim + j) + 1] += ar * bi + ai * br;
            }
    free(t);
}

static double maxdiff(const double *a, const double *b, size_t len) {
    double m = 0;
    for (size_t i = 0; i < len; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

TEST(pure_evolution_matches_state) {
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    int n = 4;
    qnn_state *s;
    qnn_state_create(&s, n, NULL);
    random_state(s, &r);
    qnn_density d;
    CHECK(qnn_density_init_pure(&d, s, NULL) == QNN_OK);
    CHECK(diff_pure(&d, s) < 1e-15);
    for (int k = 0; k < QNN_G_COUNT; k++) {
        const qnn_gate_info *g = qnn_gate_get_info((qnn_gate_kind)k);
        int q[4] = {2, 0, 3, 1};
        int nq = g->nqubits ? g->nqubits : 3;
        double p[2 * 64];
        for (int i = 0; i < 128; i++) p[i] = qnn_rng_normal(&r);
        if (k == QNN_G_UNITARY) { /* a unitary: diag phases times a permutation */
            memset(p, 0, sizeof p);
            for (int i = 0; i < 8; i++) {
                double ph = qnn_rng_normal(&r);
                p[2 * (i * 8 + (i + 3) % 8)] = cos(ph);
                p[2 * (i * 8 + (i + 3) % 8) + 1] = sin(ph);
            }
        }
        CHECK(qnn_state_apply_gate(s, (qnn_gate_kind)k, q, nq, p, NULL) == QNN_OK);
        CHECK(qnn_density_apply_gate(&d, (qnn_gate_kind)k, q, nq, p, NULL) == QNN_OK);
        double e = diff_pure(&d, s);
        if (e > 1e-13) fprintf(stderr, "density gate %s err %g\n", g->name, e);
        CHECK(e < 1e-13);
    }
    /* read-outs agree */
    double ps[16], pd[16];
    qnn_state_probs(s, ps);
    qnn_density_probs(&d, pd);
    CHECK(maxdiff(ps, pd, 16) < 1e-14);
    qnn_pauli_term t[2];
    qnn_pauli_parse("XYZI", n, &t[0], NULL);
    qnn_pauli_parse("ZZXY", n, &t[1], NULL);
    t[1].coef = -0.7;
    CHECK_NEAR(qnn_density_expect(&d, t, 2), qnn_state_expect(s, t, 2), 1e-13);
    CHECK_NEAR(qnn_density_trace(&d), 1, 1e-13);
    CHECK_NEAR(qnn_density_purity(&d), 1, 1e-13);
    double f;
    CHECK(qnn_density_fidelity_pure(&d, s, &f, NULL) == QNN_OK);
    CHECK_NEAR(f, 1, 1e-13);
    int qm[2] = {3, 1};
    double ms[4], md[4];
    qnn_state_marginal(s, qm, 2, ms, NULL);
    qnn_density_marginal(&d, qm, 2, md, NULL);
    CHECK(maxdiff(ms, md, 4) < 1e-14);
    /* diagonal oracle on the full register */
    double ph[16];
    for (int i = 0; i < 16; i++) ph[i] = qnn_rng_normal(&r);
    qnn_state_apply_diagonal(s, ph, NULL);
    CHECK(qnn_density_apply_diagonal(&d, ph, NULL) == QNN_OK);
    CHECK(diff_pure(&d, s) < 1e-13);
    qnn_density_release(&d);
    qnn_state_free(s);
}

TEST(channels_match_kraus_sums) {
    qnn_rng r;
    qnn_rng_seed(&r, 2);
    int n = 3;
    size_t dim = 8;
    qnn_state *s;
    qnn_state_create(&s, n, NULL);
    for (int which = 0; which < 5; which++) {
        random_state(s, &r);
        qnn_density d;
        qnn_density_init_pure(&d, s, NULL);
        /* mix a bit so the input is not pure */
        qnn_density_depolarize(&d, 2, 0.1, NULL);
        double *rho = malloc(16 * dim * dim);
        memcpy(rho, d.vec.amp, 16 * dim * dim);
        double p = 0.37, K[32];
        int nk = 0, q = 1;
        CHECK(qnn_channel_kraus(which, p, K, &nk, NULL) == QNN_OK);
        double *expect = calloc(2 * dim * dim, sizeof(double));
        for (int k = 0; k < nk; k++) {
            double *M = embed1(K + 8 * k, q, n);
            add_conj(expect, M, rho, dim);
            free(M);
        }
        int rc = which == 0   ? qnn_density_depolarize(&d, q, p, NULL)
                 : which == 1 ? qnn_density_amplitude_damp(&d, q, p, NULL)
                 : which == 2 ? qnn_density_phase_damp(&d, q, p, NULL)
                 : which == 3 ? qnn_density_bit_flip(&d, q, p, NULL)
                              : qnn_density_phase_flip(&d, q, p, NULL);
        CHECK(rc == QNN_OK);
        CHECK(maxdiff(d.vec.amp, expect, 2 * dim * dim) < 1e-14);
        CHECK_NEAR(qnn_density_trace(&d), 1, 1e-13);
        /* generic Kraus gives the same */
        memcpy(d.vec.amp, rho, 16 * dim * dim);
        CHECK(qnn_density_kraus1(&d, q, K, nk, NULL) == QNN_OK);
        CHECK(maxdiff(d.vec.amp, expect, 2 * dim * dim) < 1e-14);
        free(expect);
        free(rho);
        qnn_density_release(&d);
    }
    /* hand values: amplitude damping of |1><1| -> diag(g, 1-g); depolarize |0><0| -> diag(1-2p/3, 2p/3) */
    qnn_density d1;
    qnn_density_init(&d1, 1, NULL);
    int q0 = 0;
    qnn_density_apply_gate(&d1, QNN_G_X, &q0, 1, NULL, NULL);
    qnn_density_amplitude_damp(&d1, 0, 0.25, NULL);
    CHECK_NEAR(qnn_density_prob(&d1, 0), 0.25, 1e-15);
    CHECK_NEAR(qnn_density_prob(&d1, 1), 0.75, 1e-15);
    qnn_density_set_zero(&d1);
    qnn_density_depolarize(&d1, 0, 0.3, NULL);
    CHECK_NEAR(qnn_density_prob(&d1, 1), 0.2, 1e-15);
    /* phase damping of |+>: off-diagonal 0.5 sqrt(1-g) */
    qnn_density_set_zero(&d1);
    qnn_density_apply_gate(&d1, QNN_G_H, &q0, 1, NULL, NULL);
    qnn_density_phase_damp(&d1, 0, 0.36, NULL);
    CHECK_NEAR(d1.vec.amp[2], 0.5 * 0.8, 1e-15);
    CHECK_NEAR(qnn_density_purity(&d1), 0.5 + 2 * 0.16, 1e-14);
    /* depolarize with p = 3/4 on one qubit gives I/2 */
    qnn_density_set_zero(&d1);
    qnn_density_depolarize(&d1, 0, 0.75, NULL);
    CHECK_NEAR(qnn_density_purity(&d1), 0.5, 1e-15);
    qnn_density_release(&d1);
    qnn_state_free(s);
}

TEST(depolarize2_matches_pauli_sum) {
    qnn_rng r;
    qnn_rng_seed(&r, 4);
    int n = 3;
    size_t dim = 8;
    qnn_state *s;
    qnn_state_create(&s, n, NULL);
    random_state(s, &r);
    qnn_density d;
    qnn_density_init_pure(&d, s, NULL);
    double *rho = malloc(16 * dim * dim);
    memcpy(rho, d.vec.amp, 16 * dim * dim);
    double p = 0.42;
    int a = 2, b = 0;
    CHECK(qnn_density_depolarize2(&d, a, b, p, NULL) == QNN_OK);
    double P[4][8] = {{1, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 1, 0, 1, 0, 0, 0},
                      {0, 0, 0, -1, 0, 1, 0, 0}, {1, 0, 0, 0, 0, 0, -1, 0}};
    double *expect = calloc(2 * dim * dim, sizeof(double));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double w = (i == 0 && j == 0) ? 1 - p : p / 15;
            double *A = embed1(P[i], a, n), *B = embed1(P[j], b, n);
            /* M = A B (commute, different qubits) */
            double *M = calloc(2 * dim * dim, sizeof(double));
            for (size_t x = 0; x < dim; x++)
                for (size_t y = 0; y < dim; y++)
                    for (size_t z = 0; z < dim; z++) {
                        double ar = A[2 * (x * dim + z)], ai = A[2 * (x * dim + z) + 1];
                        double br = B[2 * (z * dim + y)], bi = B[2 * (z * dim + y) + 1];
                        M[2 * (x * dim + y)] += ar * br - ai * bi;
                        M[2 * (x * dim + y) + 1] += ar * bi + ai * br;
                    }
            double sw = sqrt(w);
            for (size_t e = 0; e < 2 * dim * dim; e++) M[e] *= sw;
            add_conj(expect, M, rho, dim);
            free(A);
            free(B);
            free(M);
        }
    CHECK(maxdiff(d.vec.amp, expect, 2 * dim * dim) < 1e-14);
    CHECK_NEAR(qnn_density_trace(&d), 1, 1e-13);
    free(expect);
    free(rho);
    qnn_density_release(&d);
    qnn_state_free(s);
}

TEST(measure_reset_sample) {
    qnn_rng r;
    qnn_rng_seed(&r, 8);
    qnn_density d;
    qnn_density_init(&d, 2, NULL);
    int q0 = 0, q01[2] = {0, 1};
    qnn_density_apply_gate(&d, QNN_G_H, &q0, 1, NULL, NULL);
    qnn_density_apply_gate(&d, QNN_G_CX, q01, 2, NULL, NULL);
    size_t shots = 20000;
    uint64_t *out = malloc(shots * sizeof(uint64_t));
    CHECK(qnn_density_sample(&d, shots, NULL, 0, &r, out, NULL) == QNN_OK);
    size_t c0 = 0, c3 = 0;
    for (size_t i = 0; i < shots; i++) {
        c0 += out[i] == 0;
        c3 += out[i] == 3;
    }
    CHECK(c0 + c3 == shots);
    CHECK(fabs((double)c0 / (double)shots - 0.5) < 5 * 0.5 / sqrt((double)shots));
    int o;
    CHECK(qnn_density_measure(&d, 1, &r, &o, NULL) == QNN_OK);
    CHECK_NEAR(qnn_density_prob(&d, o ? 3 : 0), 1, 1e-14);
    CHECK_NEAR(qnn_density_purity(&d), 1, 1e-14);
    CHECK(qnn_density_reset_qubit(&d, 0, NULL) == QNN_OK);
    CHECK(qnn_density_reset_qubit(&d, 1, NULL) == QNN_OK);
    CHECK_NEAR(qnn_density_prob(&d, 0), 1, 1e-14);
    free(out);
    qnn_density_release(&d);
}

TEST(bad_input) {
    qnn_density d;
    qnn_error e;
    CHECK(qnn_density_init(&d, 15, &e) == QNN_EINVAL);
    CHECK(qnn_density_init(&d, 0, &e) == QNN_EINVAL);
    setenv("QNN_MAX_BYTES", "4096", 1);
    CHECK(qnn_density_init(&d, 5, &e) == QNN_ENOMEM);
    unsetenv("QNN_MAX_BYTES");
    CHECK(qnn_density_init(&d, 2, &e) == QNN_OK);
    CHECK(qnn_density_depolarize(&d, 0, 1.5, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "[0, 1]") != NULL);
    CHECK(qnn_density_depolarize(&d, 0, -0.1, &e) == QNN_EINVAL);
    CHECK(qnn_density_amplitude_damp(&d, 2, 0.1, &e) == QNN_ERANGE);
    CHECK(qnn_density_depolarize2(&d, 1, 1, 0.1, &e) == QNN_EINVAL);
    CHECK(qnn_density_phase_flip(&d, 0, NAN, &e) == QNN_EINVAL);
    double K[8] = {1, 0, 0, 0, 0, 0, 0.5, 0};
    CHECK(qnn_density_kraus1(&d, 0, K, 1, &e) == QNN_EINVAL);
    CHECK_NEAR(qnn_density_trace(&d), 1, 0);
    qnn_density_release(&d);
}

int main(void) {
    RUN(pure_evolution_matches_state);
    RUN(channels_match_kraus_sums);
    RUN(depolarize2_matches_pauli_sum);
    RUN(measure_reset_sample);
    RUN(bad_input);
    return harness_done();
}
