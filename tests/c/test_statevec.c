/* State-vector kernels against analytic matrices and a naive reference implementation. */
#include <omp.h>
#include <stdlib.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "harness.h"
#include "qnn/gates.h"
#include "qnn/statevec.h"

static void random_state(qnn_state *s, qnn_rng *r) {
    for (size_t i = 0; i < 2 * s->dim; i++) s->amp[i] = qnn_rng_normal(r);
    qnn_state_normalize(s, NULL);
}

/* Naive: out = (M on qubits q[0..k-1]) in, bit j of matrix index = q[j]. */
static void ref_apply(const double *in, double *out, int n, const int *q, int k, const double *m) {
    size_t dim = (size_t)1 << n, d = (size_t)1 << k;
    for (size_t x = 0; x < dim; x++) {
        size_t rsub = 0, rest = x;
        for (int j = 0; j < k; j++) {
            rsub |= ((x >> q[j]) & 1) << j;
            rest &= ~((size_t)1 << q[j]);
        }
        double ar = 0, ai = 0;
        for (size_t c = 0; c < d; c++) {
            size_t y = rest;
            for (int j = 0; j < k; j++)
                if ((c >> j) & 1) y |= (size_t)1 << q[j];
            double mr = m[2 * (rsub * d + c)], mi = m[2 * (rsub * d + c) + 1];
            ar += mr * in[2 * y] - mi * in[2 * y + 1];
            ai += mr * in[2 * y + 1] + mi * in[2 * y];
        }
        out[2 * x] = ar;
        out[2 * x + 1] = ai;
    }
}

static double maxdiff(const double *a, const double *b, size_t len) {
    double m = 0;
    for (size_t i = 0; i < len; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > m) m = d;
    }
    return m;
}

/* kron of 2x2 Paulis: P = p1 (x) p0 in matrix terms, i.e. bit 0 = p0 (first qubit). */
static void pauli1(char c, double *m) {
    double I[8] = {1, 0, 0, 0, 0, 0, 1, 0}, X[8] = {0, 0, 1, 0, 1, 0, 0, 0},
           Y[8] = {0, 0, 0, -1, 0, 1, 0, 0}, Z[8] = {1, 0, 0, 0, 0, 0, -1, 0};
    memcpy(m, c == 'X' ? X : c == 'Y' ? Y : c == 'Z' ? Z : I, sizeof I);
}
static void kron2(char first, char second, double *m) {
    double a[8], b[8];
    pauli1(first, a);  /* bit 0 */
    pauli1(second, b); /* bit 1 */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            int r0 = r & 1, r1 = r >> 1, c0 = c & 1, c1 = c >> 1;
            double ar = a[2 * (r0 * 2 + c0)], ai = a[2 * (r0 * 2 + c0) + 1];
            double br = b[2 * (r1 * 2 + c1)], bi = b[2 * (r1 * 2 + c1) + 1];
            m[2 * (r * 4 + c)] = ar * br - ai * bi;
            m[2 * (r * 4 + c) + 1] = ar * bi + ai * br;
        }
}

TEST(rotation_matrices_match_exponentials) {
    double t = 0.731, m[32], P[32];
    struct { qnn_gate_kind k; char a, b; } rots[] = {
        {QNN_G_RXX, 'X', 'X'}, {QNN_G_RYY, 'Y', 'Y'}, {QNN_G_RZZ, 'Z', 'Z'}, {QNN_G_RZY, 'Z', 'Y'}};
    for (int i = 0; i < 4; i++) {
        CHECK(qnn_gate_matrix(rots[i].k, &t, m) == QNN_OK);
        kron2(rots[i].a, rots[i].b, P);
        double c = cos(t / 2), s = sin(t / 2), err = 0;
        for (int e = 0; e < 16; e++) {
            double er = (e % 5 == 0 ? c : 0) + s * P[2 * e + 1], ei = -s * P[2 * e];
            err = fmax(err, fabs(m[2 * e] - er) + fabs(m[2 * e + 1] - ei));
        }
        CHECK_NEAR(err, 0, 1e-15);
    }
    /* 1-qubit rotations */
    const char *pc = "XYZ";
    qnn_gate_kind k1[] = {QNN_G_RX, QNN_G_RY, QNN_G_RZ};
    for (int i = 0; i < 3; i++) {
        qnn_gate_matrix(k1[i], &t, m);
        pauli1(pc[i], P);
        double c = cos(t / 2), s = sin(t / 2), err = 0;
        for (int e = 0; e < 4; e++) {
            double er = (e % 3 == 0 ? c : 0) + s * P[2 * e + 1], ei = -s * P[2 * e];
            err = fmax(err, fabs(m[2 * e] - er) + fabs(m[2 * e + 1] - ei));
        }
        CHECK_NEAR(err, 0, 1e-15);
    }
    /* U3(theta, -pi/2, pi/2) = RX(theta); U3(theta, 0, 0) = RY(theta) */
    double u[8], r[8], p3[3] = {t, -M_PI / 2, M_PI / 2};
    qnn_gate_matrix(QNN_G_U3, p3, u);
    qnn_gate_matrix(QNN_G_RX, &t, r);
    CHECK_NEAR(maxdiff(u, r, 8), 0, 1e-15);
    p3[1] = p3[2] = 0;
    qnn_gate_matrix(QNN_G_U3, p3, u);
    qnn_gate_matrix(QNN_G_RY, &t, r);
    CHECK_NEAR(maxdiff(u, r, 8), 0, 1e-15);
    /* SX^2 = X, T^2 = S, H Z H = X */
    double sx[8], x[8];
    qnn_gate_matrix(QNN_G_SX, NULL, sx);
    qnn_gate_matrix(QNN_G_X, NULL, x);
    double sq[8];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double re = 0, im = 0;
            for (int k = 0; k < 2; k++) {
                double ar = sx[2 * (i * 2 + k)], ai = sx[2 * (i * 2 + k) + 1];
                double br = sx[2 * (k * 2 + j)], bi = sx[2 * (k * 2 + j) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            sq[2 * (i * 2 + j)] = re;
            sq[2 * (i * 2 + j) + 1] = im;
        }
    CHECK_NEAR(maxdiff(sq, x, 8), 0, 1e-15);
    /* CX on (c, t): index = c + 2t, swaps 1 <-> 3 */
    qnn_gate_matrix(QNN_G_CX, NULL, m);
    CHECK(m[2 * (1 * 4 + 3)] == 1 && m[2 * (3 * 4 + 1)] == 1 && m[0] == 1 && m[2 * (2 * 4 + 2)] == 1);
}

TEST(all_gates_unitary_inverse_and_derivatives) {
    double p[3] = {0.3, -1.1, 2.2};
    for (int k = 0; k < QNN_G_COUNT; k++) {
        const qnn_gate_info *g = qnn_gate_get_info((qnn_gate_kind)k);
        CHECK(g != NULL && g->kind == (qnn_gate_kind)k);
        CHECK(qnn_gate_lookup(g->name) == k);
        if (g->nqubits == 0) continue;
        size_t d = (size_t)1 << g->nqubits;
        double m[32], mi[32], prod[32], ip[3];
        CHECK(qnn_gate_matrix((qnn_gate_kind)k, p, m) == QNN_OK);
        CHECK(qnn_matrix_is_unitary(m, d, 1e-14));
        qnn_gate_kind ik;
        CHECK(qnn_gate_inverse((qnn_gate_kind)k, p, &ik, ip) == QNN_OK);
        qnn_gate_matrix(ik, ip, mi);
        double dag[32];
        qnn_matrix_dagger(m, d, dag);
        CHECK_NEAR(maxdiff(dag, mi, 2 * d * d), 0, 1e-14);
        (void)prod;
        for (int j = 0; j < g->nparams; j++) {
            double dm[32], mp[32], mm[32], pp[3], pm[3], h = 1e-6;
            memcpy(pp, p, sizeof pp);
            memcpy(pm, p, sizeof pm);
            pp[j] += h;
            pm[j] -= h;
            CHECK(qnn_gate_matrix_deriv((qnn_gate_kind)k, p, j, dm) == QNN_OK);
            qnn_gate_matrix((qnn_gate_kind)k, pp, mp);
            qnn_gate_matrix((qnn_gate_kind)k, pm, mm);
            double e = 0;
            for (size_t i = 0; i < 2 * d * d; i++) e = fmax(e, fabs((mp[i] - mm[i]) / (2 * h) - dm[i]));
            if (e > 1e-8) fprintf(stderr, "deriv %s param %d err %g\n", g->name, j, e);
            CHECK(e < 1e-8);
        }
    }
    CHECK(qnn_gate_lookup("u1") == QNN_G_PHASE);
    CHECK(qnn_gate_lookup("cu1") == QNN_G_CPHASE);
    CHECK(qnn_gate_lookup("nope") == -1);
}

static void check_fast_vs_ref(int n, qnn_rng *r) {
    qnn_state *s = NULL, *t = NULL;
    CHECK(qnn_state_create(&s, n, NULL) == QNN_OK);
    CHECK(qnn_state_create(&t, n, NULL) == QNN_OK);
    double *ref = malloc(16 * s->dim);
    for (int k = 0; k < QNN_G_COUNT; k++) {
        const qnn_gate_info *g = qnn_gate_get_info((qnn_gate_kind)k);
        if (g->nqubits == 0) continue;
        for (int rep = 0; rep < (n > 8 ? 1 : 3); rep++) {
            int q[2];
            q[0] = (int)qnn_rng_below(r, (uint64_t)n);
            do q[1] = (int)qnn_rng_below(r, (uint64_t)n); while (q[1] == q[0]);
            double p[3] = {qnn_rng_normal(r) * 2, qnn_rng_normal(r), qnn_rng_normal(r)};
            random_state(s, r);
            qnn_state_copy_into(t, s, NULL);
            double m[32];
            qnn_gate_matrix((qnn_gate_kind)k, p, m);
            CHECK(qnn_state_apply_gate(s, (qnn_gate_kind)k, q, g->nqubits, p, NULL) == QNN_OK);
            ref_apply(t->amp, ref, n, q, g->nqubits, m);
            double e = maxdiff(s->amp, ref, 2 * s->dim);
            if (e > 1e-13) fprintf(stderr, "gate %s n=%d err %g\n", g->name, n, e);
            CHECK(e < 1e-13);
            /* generic dense path agrees */
            CHECK(qnn_state_apply_kq(t, q, g->nqubits, m, NULL) == QNN_OK);
            CHECK(maxdiff(t->amp, ref, 2 * s->dim) < 1e-13);
            /* inverse undoes */
            CHECK(qnn_state_apply_gate_inv(s, (qnn_gate_kind)k, q, g->nqubits, p, NULL) == QNN_OK);
            ref_apply(ref, t->amp, n, q, g->nqubits, m); /* scratch */
        }
    }
    free(ref);
    qnn_state_free(s);
    qnn_state_free(t);
}

TEST(fast_paths_match_reference) {
    qnn_rng r;
    qnn_rng_seed(&r, 11);
    check_fast_vs_ref(5, &r);
    check_fast_vs_ref(15, &r); /* above the OpenMP threshold */
}

TEST(inverse_restores_state) {
    qnn_rng r;
    qnn_rng_seed(&r, 12);
    qnn_state *s, *t;
    qnn_state_create(&s, 6, NULL);
    qnn_state_create(&t, 6, NULL);
    random_state(s, &r);
    qnn_state_copy_into(t, s, NULL);
    int q[2] = {4, 1};
    double p[3] = {0.4, 1.3, -0.2};
    for (int k = 0; k < QNN_G_COUNT; k++) {
        const qnn_gate_info *g = qnn_gate_get_info((qnn_gate_kind)k);
        if (g->nqubits == 0) continue;
        qnn_state_apply_gate(s, (qnn_gate_kind)k, q, g->nqubits, p, NULL);
        qnn_state_apply_gate_inv(s, (qnn_gate_kind)k, q, g->nqubits, p, NULL);
    }
    CHECK(maxdiff(s->amp, t->amp, 2 * s->dim) < 1e-13);
    qnn_state_free(s);
    qnn_state_free(t);
}

TEST(multi_controlled_and_dense_k) {
    qnn_rng r;
    qnn_rng_seed(&r, 13);
    for (int n = 5; n <= 15; n += 10) {
        qnn_state *s, *t;
        qnn_state_create(&s, n, NULL);
        qnn_state_create(&t, n, NULL);
        double *ref = malloc(16 * s->dim);
        /* MCX with 3 controls: 16x16 matrix */
        int q[4] = {3, 0, 4, 2};
        double m[2 * 256];
        memset(m, 0, sizeof m);
        for (int i = 0; i < 16; i++) {
            int j = (i & 7) == 7 ? i ^ 8 : i;
            m[2 * (i * 16 + j)] = 1;
        }
        random_state(s, &r);
        qnn_state_copy_into(t, s, NULL);
        CHECK(qnn_state_apply_mcx(s, q, 3, q[3], NULL) == QNN_OK);
        ref_apply(t->amp, ref, n, q, 4, m);
        CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-14);
        CHECK(qnn_state_apply_kq(t, q, 4, m, NULL) == QNN_OK);
        CHECK(maxdiff(t->amp, ref, 2 * s->dim) < 1e-14);
        /* MCZ on 3 qubits */
        memset(m, 0, sizeof m);
        for (int i = 0; i < 8; i++) m[2 * (i * 8 + i)] = i == 7 ? -1 : 1;
        random_state(s, &r);
        qnn_state_copy_into(t, s, NULL);
        CHECK(qnn_state_apply_mcz(s, q, 3, NULL) == QNN_OK);
        ref_apply(t->amp, ref, n, q, 3, m);
        CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-14);
        /* random 3-qubit unitary-ish dense matrix (not unitary: kernels do not care) */
        double a[2 * 64];
        for (int i = 0; i < 128; i++) a[i] = qnn_rng_normal(&r);
        random_state(s, &r);
        qnn_state_copy_into(t, s, NULL);
        CHECK(qnn_state_apply_gate(s, QNN_G_UNITARY, q, 3, a, NULL) == QNN_OK);
        ref_apply(t->amp, ref, n, q, 3, a);
        CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-12);
        /* diagonal on a subset and full */
        double ph[8], dm[2 * 64];
        memset(dm, 0, sizeof dm);
        for (int i = 0; i < 8; i++) {
            ph[i] = qnn_rng_normal(&r);
            dm[2 * (i * 8 + i)] = cos(ph[i]);
            dm[2 * (i * 8 + i) + 1] = sin(ph[i]);
        }
        random_state(s, &r);
        qnn_state_copy_into(t, s, NULL);
        CHECK(qnn_state_apply_gate(s, QNN_G_DIAGONAL, q, 3, ph, NULL) == QNN_OK);
        ref_apply(t->amp, ref, n, q, 3, dm);
        CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-14);
        CHECK(qnn_state_apply_gate_inv(s, QNN_G_DIAGONAL, q, 3, ph, NULL) == QNN_OK);
        CHECK(maxdiff(s->amp, t->amp, 2 * s->dim) < 1e-14);
        double *full = malloc(sizeof(double) * s->dim);
        for (size_t x = 0; x < s->dim; x++) full[x] = (x % 3 == 0) ? M_PI : 0.1 * (double)x;
        qnn_state_copy_into(t, s, NULL);
        CHECK(qnn_state_apply_diagonal(s, full, NULL) == QNN_OK);
        double e = 0;
        for (size_t x = 0; x < s->dim; x++) {
            double c = cos(full[x]), sn = sin(full[x]);
            double er = c * t->amp[2 * x] - sn * t->amp[2 * x + 1];
            double ei = c * t->amp[2 * x + 1] + sn * t->amp[2 * x];
            e = fmax(e, fabs(er - s->amp[2 * x]) + fabs(ei - s->amp[2 * x + 1]));
        }
        CHECK(e < 1e-14);
        free(full);
        free(ref);
        qnn_state_free(s);
        qnn_state_free(t);
    }
}

TEST(bell_ghz_probabilities_and_expectations) {
    qnn_state *s;
    CHECK(qnn_state_create(&s, 3, NULL) == QNN_OK);
    int q01[2] = {0, 1}, q12[2] = {1, 2}, q0 = 0;
    qnn_state_apply_gate(s, QNN_G_H, &q0, 1, NULL, NULL);
    qnn_state_apply_gate(s, QNN_G_CX, q01, 2, NULL, NULL);
    qnn_state_apply_gate(s, QNN_G_CX, q12, 2, NULL, NULL);
    double p[8];
    qnn_state_probs(s, p);
    CHECK_NEAR(p[0], 0.5, 1e-15);
    CHECK_NEAR(p[7], 0.5, 1e-15);
    CHECK_NEAR(p[1] + p[2] + p[3] + p[4] + p[5] + p[6], 0, 1e-15);
    double mg[4];
    int qs[2] = {2, 0};
    CHECK(qnn_state_marginal(s, qs, 2, mg, NULL) == QNN_OK);
    CHECK_NEAR(mg[0], 0.5, 1e-15);
    CHECK_NEAR(mg[3], 0.5, 1e-15);
    qnn_pauli_term t;
    CHECK(qnn_pauli_parse("ZZI", 3, &t, NULL) == QNN_OK);
    CHECK_NEAR(qnn_state_expect(s, &t, 1), 1, 1e-14);
    qnn_pauli_parse("XXX", 3, &t, NULL);
    CHECK_NEAR(qnn_state_expect(s, &t, 1), 1, 1e-14);
    qnn_pauli_parse("YYX", 3, &t, NULL);
    CHECK_NEAR(qnn_state_expect(s, &t, 1), -1, 1e-14);
    qnn_pauli_parse("ZII", 3, &t, NULL);
    CHECK_NEAR(qnn_state_expect(s, &t, 1), 0, 1e-14);
    CHECK(qnn_pauli_parse("ZZ", 3, &t, NULL) == QNN_EINVAL);
    CHECK(qnn_pauli_parse("ZQZ", 3, &t, NULL) == QNN_EINVAL);
    /* RY(t)|0>: <Z> = cos t, <X> = sin t */
    qnn_state *u;
    qnn_state_create(&u, 1, NULL);
    double th = 0.77;
    qnn_state_apply_gate(u, QNN_G_RY, &q0, 1, &th, NULL);
    qnn_pauli_parse("Z", 1, &t, NULL);
    CHECK_NEAR(qnn_state_expect(u, &t, 1), cos(th), 1e-15);
    qnn_pauli_parse("X", 1, &t, NULL);
    CHECK_NEAR(qnn_state_expect(u, &t, 1), sin(th), 1e-15);
    qnn_pauli_parse("Y", 1, &t, NULL);
    CHECK_NEAR(qnn_state_expect(u, &t, 1), 0, 1e-15);
    qnn_state_free(u);
    qnn_state_free(s);
}

TEST(pauli_apply_observable_inner) {
    qnn_rng r;
    qnn_rng_seed(&r, 21);
    for (int n = 4; n <= 15; n += 11) {
        qnn_state *s, *t, *o;
        qnn_state_create(&s, n, NULL);
        qnn_state_create(&t, n, NULL);
        qnn_state_create(&o, n, NULL);
        random_state(s, &r);
        qnn_pauli_term terms[3];
        char buf[3][32];
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < n; i++) buf[k][i] = "IXYZ"[qnn_rng_below(&r, 4)];
            buf[k][n] = 0;
            qnn_pauli_parse(buf[k], n, &terms[k], NULL);
            terms[k].coef = qnn_rng_normal(&r);
        }
        double total = 0;
        for (int k = 0; k < 3; k++) {
            qnn_state_copy_into(t, s, NULL);
            qnn_state_apply_pauli(t, &terms[k]);
            double re, im;
            qnn_state_inner(s, t, &re, &im, NULL);
            CHECK_NEAR(im, 0, 1e-12);
            CHECK_NEAR(re, qnn_state_expect(s, &terms[k], 1), 1e-12);
            total += re;
            /* dense reference for the Pauli: build via 1-qubit gates */
            qnn_state_copy_into(o, s, NULL);
            for (int i = 0; i < n; i++) {
                char c = buf[k][i];
                if (c == 'I') continue;
                qnn_gate_kind g = c == 'X' ? QNN_G_X : c == 'Y' ? QNN_G_Y : QNN_G_Z;
                qnn_state_apply_gate(o, g, &i, 1, NULL, NULL);
            }
            qnn_state_scale(o, terms[k].coef, 0);
            CHECK(maxdiff(o->amp, t->amp, 2 * s->dim) < 1e-13);
        }
        CHECK_NEAR(qnn_state_expect(s, terms, 3), total, 1e-12);
        CHECK(qnn_state_apply_observable(o, s, terms, 3, NULL) == QNN_OK);
        double re, im;
        qnn_state_inner(s, o, &re, &im, NULL);
        CHECK_NEAR(re, total, 1e-12);
        qnn_state_free(s);
        qnn_state_free(t);
        qnn_state_free(o);
    }
}

TEST(sampling_frequencies) {
    qnn_rng r;
    qnn_rng_seed(&r, 5);
    qnn_state *s;
    qnn_state_create(&s, 3, NULL);
    int q0 = 0, q1 = 1;
    double th = 1.0;
    qnn_state_apply_gate(s, QNN_G_RY, &q0, 1, &th, NULL); /* p(q0=1) = sin^2(0.5) */
    qnn_state_apply_gate(s, QNN_G_H, &q1, 1, NULL, NULL);
    size_t shots = 40000;
    uint64_t *out = malloc(shots * sizeof(uint64_t));
    CHECK(qnn_state_sample(s, shots, NULL, 0, &r, out, NULL) == QNN_OK);
    double cnt[8] = {0};
    for (size_t i = 0; i < shots; i++) cnt[out[i]] += 1;
    double p[8];
    qnn_state_probs(s, p);
    for (int x = 0; x < 8; x++) {
        double sd = sqrt(p[x] * (1 - p[x]) / (double)shots);
        CHECK(fabs(cnt[x] / (double)shots - p[x]) <= 5 * sd + 1e-12);
    }
    /* marginal sampling of qubit 0 only */
    CHECK(qnn_state_sample(s, shots, &q0, 1, &r, out, NULL) == QNN_OK);
    double ones = 0;
    for (size_t i = 0; i < shots; i++) ones += (double)out[i];
    double p1 = sin(0.5) * sin(0.5);
    CHECK(fabs(ones / (double)shots - p1) < 5 * sqrt(p1 * (1 - p1) / (double)shots));
    qnn_state_free(s);
    /* sorted-sweep path: few shots on a big uniform state; outcomes in range, roughly uniform */
    qnn_state_create(&s, 14, NULL);
    for (int q = 0; q < 14; q++) qnn_state_apply_gate(s, QNN_G_H, &q, 1, NULL, NULL);
    CHECK(qnn_state_sample(s, 1000, NULL, 0, &r, out, NULL) == QNN_OK);
    double mean = 0;
    int inrange = 1;
    for (int i = 0; i < 1000; i++) {
        inrange &= out[i] < s->dim;
        mean += (double)out[i];
    }
    CHECK(inrange);
    mean /= 1000.0;
    CHECK(fabs(mean - 8191.5) < 5 * 4729.0 / sqrt(1000.0));
    /* same seed -> same draws */
    qnn_rng a, b;
    uint64_t o2[50], o3[50];
    qnn_rng_seed(&a, 9);
    qnn_rng_seed(&b, 9);
    qnn_state_sample(s, 50, NULL, 0, &a, o2, NULL);
    qnn_state_sample(s, 50, NULL, 0, &b, o3, NULL);
    CHECK(memcmp(o2, o3, sizeof o2) == 0);
    CHECK(qnn_state_sample(s, 0, NULL, 0, &a, o2, NULL) == QNN_EINVAL);
    qnn_state_free(s);
    /* zero-probability outcomes never appear */
    double pz[5] = {0, 0.5, 0, 0.5, 0};
    CHECK(qnn_sample_probs(pz, 5, shots, &r, out, NULL) == QNN_OK);
    int bad = 0;
    for (size_t i = 0; i < shots; i++) bad += out[i] != 1 && out[i] != 3;
    CHECK(bad == 0);
    free(out);
}

TEST(measure_collapse_reset) {
    qnn_rng r;
    qnn_rng_seed(&r, 77);
    int q01[2] = {0, 1}, q0 = 0;
    int agree = 1, ones = 0;
    qnn_state *s;
    qnn_state_create(&s, 2, NULL);
    for (int rep = 0; rep < 400; rep++) {
        qnn_state_set_zero(s);
        qnn_state_apply_gate(s, QNN_G_H, &q0, 1, NULL, NULL);
        qnn_state_apply_gate(s, QNN_G_CX, q01, 2, NULL, NULL);
        int a, b;
        CHECK(qnn_state_measure(s, 0, &r, &a, NULL) == QNN_OK);
        CHECK(qnn_state_measure(s, 1, &r, &b, NULL) == QNN_OK);
        agree &= a == b;
        ones += a;
        CHECK_NEAR(qnn_state_norm(s), 1, 1e-14);
    }
    CHECK(agree);
    CHECK(ones > 140 && ones < 260);
    qnn_state_set_zero(s);
    qnn_state_apply_gate(s, QNN_G_H, &q0, 1, NULL, NULL);
    int o;
    CHECK(qnn_state_reset_qubit(s, 0, &r, &o, NULL) == QNN_OK);
    CHECK_NEAR(qnn_state_prob(s, 0), 1, 1e-14);
    CHECK(qnn_state_collapse(s, 0, 1, NULL, NULL) == QNN_EINVAL);
    qnn_state_free(s);
}

TEST(kraus_trajectories) {
    qnn_rng r;
    qnn_rng_seed(&r, 3);
    qnn_state *s;
    qnn_state_create(&s, 1, NULL);
    double g = 0.3, K[8 * 2] = {1, 0, 0, 0, 0, 0, sqrt(1 - g), 0, 0, 0, sqrt(g), 0, 0, 0, 0, 0};
    int decayed = 0, N = 20000, q0 = 0;
    for (int i = 0; i < N; i++) {
        qnn_state_set_zero(s);
        qnn_state_apply_gate(s, QNN_G_X, &q0, 1, NULL, NULL);
        int j;
        CHECK(qnn_state_kraus1(s, 0, K, 2, &r, &j, NULL) == QNN_OK);
        decayed += j == 1;
    }
    CHECK(fabs((double)decayed / N - g) < 5 * sqrt(g * (1 - g) / N));
    qnn_state_free(s);
}

TEST(size_limits_and_bad_input) {
    qnn_state *s = NULL;
    qnn_error e;
    CHECK(qnn_state_create(&s, 0, &e) == QNN_EINVAL && s == NULL);
    CHECK(qnn_state_create(&s, 31, &e) == QNN_EINVAL && s == NULL);
    CHECK(strstr(e.msg, "[1, 30]") != NULL);
    setenv("QNN_MAX_BYTES", "1000", 1);
    CHECK(qnn_state_create(&s, 8, &e) == QNN_ENOMEM && s == NULL);
    CHECK(strstr(e.msg, "QNN_MAX_BYTES") != NULL);
    CHECK(qnn_state_create(&s, 5, &e) == QNN_OK);
    unsetenv("QNN_MAX_BYTES");
    int q[3] = {0, 0, 7};
    double nan = NAN;
    CHECK(qnn_state_apply_gate(s, QNN_G_CX, q, 2, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "duplicate") != NULL);
    CHECK(qnn_state_apply_gate(s, QNN_G_H, q + 2, 1, NULL, &e) == QNN_ERANGE);
    CHECK(qnn_state_apply_gate(s, QNN_G_RX, q, 1, &nan, &e) == QNN_EINVAL);
    CHECK(qnn_state_apply_gate(s, QNN_G_H, q, 2, NULL, &e) == QNN_EINVAL);
    CHECK(qnn_state_apply_mcx(s, q, 1, 0, &e) == QNN_EINVAL);
    CHECK_NEAR(qnn_state_norm(s), 1, 0);
    qnn_state_free(s);
}

TEST(same_results_for_any_thread_count) {
    qnn_rng r;
    qnn_rng_seed(&r, 99);
    qnn_state *s;
    qnn_state_create(&s, 16, NULL);
    random_state(s, &r);
    qnn_pauli_term t;
    qnn_pauli_parse("XYZIXYZIXYZIZZXX", 16, &t, NULL);
    int q[3] = {5, 0, 12};
    double e[2], nr[2], p1[2], mg[2][8];
    uint64_t out[2][64];
    for (int thr = 1; thr <= 2; thr++) {
        omp_set_num_threads(thr);
        e[thr - 1] = qnn_state_expect(s, &t, 1);
        nr[thr - 1] = qnn_state_norm(s);
        p1[thr - 1] = qnn_state_prob1(s, 7);
        qnn_state_marginal(s, q, 3, mg[thr - 1], NULL);
        qnn_rng a;
        qnn_rng_seed(&a, 5);
        qnn_state_sample(s, 64, NULL, 0, &a, out[thr - 1], NULL);
    }
    CHECK(e[0] == e[1]);
    CHECK(nr[0] == nr[1]);
    CHECK(p1[0] == p1[1]);
    CHECK(memcmp(mg[0], mg[1], sizeof mg[0]) == 0);
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
    qnn_state_free(s);
}

TEST(every_target_qubit_1q_kernels) {
    qnn_rng r;
    qnn_rng_seed(&r, 31);
    int ns[2] = {6, 15};
    for (int t = 0; t < 2; t++) {
        int n = ns[t];
        qnn_state *s, *u;
        qnn_state_create(&s, n, NULL);
        qnn_state_create(&u, n, NULL);
        double *ref = malloc(16 * s->dim);
        qnn_gate_kind kinds[4] = {QNN_G_U3, QNN_G_RY, QNN_G_RZ, QNN_G_H};
        int qsel[5] = {0, 1, 2, n / 2, n - 1};
        for (int qi = 0; qi < (n > 8 ? 5 : n); qi++)
            for (int k = 0; k < 4; k++) {
                int q = n > 8 ? qsel[qi] : qi;
                double p[3] = {0.7, -0.4, 1.9}, m[8];
                random_state(s, &r);
                qnn_state_copy_into(u, s, NULL);
                qnn_gate_matrix(kinds[k], p, m);
                qnn_state_apply_gate(s, kinds[k], &q, 1, p, NULL);
                ref_apply(u->amp, ref, n, &q, 1, m);
                CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-14);
            }
        /* every (control, target) pair for the 2-qubit kernels */
        qnn_gate_kind k2[4] = {QNN_G_CX, QNN_G_CZ, QNN_G_SWAP, QNN_G_CRY};
        int sel[4] = {0, 1, n / 2, n - 1};
        for (int ci = 0; ci < (n > 8 ? 4 : n); ci++)
            for (int ti = 0; ti < (n > 8 ? 4 : n); ti++) {
                int c = n > 8 ? sel[ci] : ci, tq = n > 8 ? sel[ti] : ti;
                if (c == tq) continue;
                for (int k = 0; k < 4; k++) {
                    int qq[2] = {c, tq};
                    double p = 0.9, m[32];
                    random_state(s, &r);
                    qnn_state_copy_into(u, s, NULL);
                    qnn_gate_matrix(k2[k], &p, m);
                    qnn_state_apply_gate(s, k2[k], qq, 2, &p, NULL);
                    ref_apply(u->amp, ref, n, qq, 2, m);
                    CHECK(maxdiff(s->amp, ref, 2 * s->dim) < 1e-14);
                }
            }
        free(ref);
        qnn_state_free(s);
        qnn_state_free(u);
    }
}

TEST(fast_sincos_accuracy) {
    /* qnn_sincos, and the vectorised sincos inside the full-register diagonal */
    qnn_rng r;
    qnn_rng_seed(&r, 123);
    qnn_state *s;
    qnn_state_create(&s, 12, NULL);
    double *ph = malloc(sizeof(double) * s->dim);
    double worst = 0, ws = 0;
    for (int rep = 0; rep < 8; rep++) {
        for (size_t x = 0; x < s->dim; x++) {
            int i = (int)(x + (size_t)rep);
            ph[x] = (i % 5 == 0)   ? (qnn_rng_uniform(&r) - 0.5) * 2e5
                    : (i % 5 == 1) ? (qnn_rng_uniform(&r) - 0.5) * 20
                    : (i % 5 == 2) ? (qnn_rng_uniform(&r) - 0.5) * 1e-6
                    : (i % 5 == 3) ? (double)(x % 1000) * (M_PI / 4)
                                   : (rep == 7 && x == 5 ? 3e6 : -(double)(x % 77) * 0.5);
        }
        for (size_t x = 0; x < s->dim; x++) {
            s->amp[2 * x] = 1.0;
            s->amp[2 * x + 1] = 0.0;
        }
        CHECK(qnn_state_apply_diagonal(s, ph, NULL) == QNN_OK);
        for (size_t x = 0; x < s->dim; x++) {
            worst = fmax(worst, fabs(s->amp[2 * x] - cos(ph[x])));
            worst = fmax(worst, fabs(s->amp[2 * x + 1] - sin(ph[x])));
            double sn, cs;
            qnn_sincos(ph[x], &sn, &cs);
            ws = fmax(ws, fabs(sn - sin(ph[x])) + fabs(cs - cos(ph[x])));
        }
    }
    if (worst >= 5e-16) fprintf(stderr, "diagonal sincos worst %g\n", worst);
    CHECK(worst < 5e-16);
    CHECK(ws == 0);
    free(ph);
    qnn_state_free(s);
}

int main(void) {
    RUN(rotation_matrices_match_exponentials);
    RUN(all_gates_unitary_inverse_and_derivatives);
    RUN(fast_sincos_accuracy);
    RUN(fast_paths_match_reference);
    RUN(every_target_qubit_1q_kernels);
    RUN(inverse_restores_state);
    RUN(multi_controlled_and_dense_k);
    RUN(bell_ghz_probabilities_and_expectations);
    RUN(pauli_apply_observable_inner);
    RUN(sampling_frequencies);
    RUN(measure_collapse_reset);
    RUN(kraus_trajectories);
    RUN(size_limits_and_bad_input);
    RUN(same_results_for_any_thread_count);
    return harness_done();
}
