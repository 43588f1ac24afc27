/* Circuit IR, adjoint gradients, vjp, parameter shift, QASM round trip, noise. */
#include "harness.h"

#include <stdlib.h>

#include "qnn/circuit.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static const int PKINDS[] = {QNN_G_RX,  QNN_G_RY,  QNN_G_RZ,  QNN_G_PHASE, QNN_G_U3,
                             QNN_G_CRX, QNN_G_CRY, QNN_G_CRZ, QNN_G_CPHASE, QNN_G_RXX,
                             QNN_G_RYY, QNN_G_RZZ, QNN_G_RZY};
#define NPK ((int)(sizeof PKINDS / sizeof PKINDS[0]))

static double urand(qnn_rng *r, double a, double b) { return a + (b - a) * qnn_rng_uniform(r); }

/* random angle: named (one of np names, random scale) or constant */
static qnn_angle rand_angle(qnn_circuit *c, qnn_rng *r, int np) {
    if (qnn_rng_uniform(r) < 0.8) {
        char name[16];
        snprintf(name, sizeof name, "p%d", (int)qnn_rng_below(r, (uint64_t)np));
        int idx = qnn_circuit_param(c, name, NULL);
        qnn_angle a = qnn_angle_param(idx, qnn_rng_uniform(r) < 0.5 ? 1.0 : urand(r, -2, 2));
        a.offset = qnn_rng_uniform(r) < 0.3 ? urand(r, -1, 1) : 0.0;
        return a;
    }
    return qnn_angle_const(urand(r, -3, 3));
}

static void two_qubits(qnn_rng *r, int n, int *a, int *b) {
    *a = (int)qnn_rng_below(r, (uint64_t)n);
    do *b = (int)qnn_rng_below(r, (uint64_t)n);
    while (*b == *a);
}

/* Random circuit using every parameterised kind (plus fixed gates), shared parameters. */
static qnn_circuit *random_circuit(int n, int ngates, int np, uint64_t seed, int fixed_extra) {
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_circuit *c;
    if (qnn_circuit_new(&c, n, NULL)) return NULL;
    for (int q = 0; q < n; q++) qnn_circuit_gate1(c, QNN_G_H, q, NULL);
    for (int g = 0; g < ngates; g++) {
        int kind = PKINDS[g < NPK ? g : (int)qnn_rng_below(&r, NPK)];
        int a, b;
        two_qubits(&r, n, &a, &b);
        if (kind == QNN_G_U3) {
            qnn_circuit_u3(c, a, rand_angle(c, &r, np), rand_angle(c, &r, np), rand_angle(c, &r, np),
                           NULL);
        } else if (qnn_op_kind_nqubits(kind) == 1) {
            qnn_circuit_rot1(c, kind, a, rand_angle(c, &r, np), NULL);
        } else {
            qnn_circuit_rot2(c, kind, a, b, rand_angle(c, &r, np), NULL);
        }
        if (fixed_extra && g % 4 == 3) {
            static const int FK[] = {QNN_G_CX, QNN_G_SX, QNN_G_T, QNN_G_CY, QNN_G_SWAP, QNN_G_S};
            int k = FK[qnn_rng_below(&r, 6)];
            if (qnn_op_kind_nqubits(k) == 1) qnn_circuit_gate1(c, k, a, NULL);
            else qnn_circuit_gate2(c, k, a, b, NULL);
        }
    }
    if (fixed_extra && n >= 3) {
        int ctrl[2] = {0, 1};
        qnn_circuit_mcx(c, ctrl, 2, 2, NULL);
        int zq[3] = {2, 0, 1};
        qnn_circuit_mcz(c, zq, 3, NULL);
        size_t d = (size_t)1 << n;
        double *ph = malloc(sizeof(double) * d);
        for (size_t x = 0; x < d; x++) ph[x] = urand(&r, -3, 3);
        qnn_circuit_diagonal(c, ph, NULL);
        free(ph);
        /* a random 2-qubit unitary: product of gates */
        qnn_circuit *u;
        qnn_circuit_new(&u, 2, NULL);
        qnn_circuit_u3(u, 0, qnn_angle_const(0.3), qnn_angle_const(1.1), qnn_angle_const(-0.4), NULL);
        qnn_circuit_gate2(u, QNN_G_CX, 0, 1, NULL);
        qnn_circuit_rot1(u, QNN_G_RY, 1, qnn_angle_const(0.7), NULL);
        qnn_circuit_rot2(u, QNN_G_CPHASE, 1, 0, qnn_angle_const(2.1), NULL);
        double m[32];
        qnn_circuit_unitary(u, m, NULL);
        int uq[2] = {2, 0};
        qnn_circuit_unitary_gate(c, uq, 2, m, 1e-10, NULL);
        qnn_circuit_free(u);
    }
    for (int i = 0; i < qnn_circuit_nparams(c); i++)
        qnn_circuit_set_param(c, i, urand(&r, -3, 3), NULL);
    return c;
}

static qnn_pauli_term OBS[2];
static void make_obs(int n) {
    qnn_pauli_parse(n == 3 ? "ZXY" : "ZXYZ", n, &OBS[0], NULL);
    OBS[0].coef = 0.7;
    qnn_pauli_parse(n == 3 ? "XIZ" : "IYIX", n, &OBS[1], NULL);
    OBS[1].coef = -1.3;
}

static double f_expect(qnn_circuit *c) {
    double v = 0;
    qnn_circuit_expect(c, OBS, 2, NULL, &v, NULL);
    return v;
}

TEST(gradient_matches_finite_differences) {
    for (int trial = 0; trial < 3; trial++) {
        int n = 3 + trial % 2;
        make_obs(n);
        qnn_circuit *c = random_circuit(n, 30, 6, 100 + trial, 1);
        CHECK(c != NULL);
        int np = qnn_circuit_nparams(c);
        double *g = calloc((size_t)np, sizeof(double)), *gs = calloc((size_t)np, sizeof(double));
        double v = 0, vs = 0;
        CHECK(qnn_circuit_gradient(c, OBS, 2, NULL, &v, g, NULL) == QNN_OK);
        CHECK(qnn_circuit_gradient_shift(c, OBS, 2, NULL, &vs, gs, NULL) == QNN_OK);
        CHECK_NEAR(v, f_expect(c), 1e-12);
        CHECK_NEAR(v, vs, 1e-12);
        const double h = 1e-5;
        for (int i = 0; i < np; i++) {
            double x = qnn_circuit_get_param(c, i);
            qnn_circuit_set_param(c, i, x + h, NULL);
            double fp = f_expect(c);
            qnn_circuit_set_param(c, i, x - h, NULL);
            double fm = f_expect(c);
            qnn_circuit_set_param(c, i, x, NULL);
            double fd = (fp - fm) / (2 * h);
            CHECK_NEAR(g[i], fd, 1e-7);
            CHECK_NEAR(gs[i], fd, 1e-7);
        }
        free(g), free(gs);
        qnn_circuit_free(c);
    }
}

TEST(every_kind_alone) {
    /* one gate of each parameterised kind with a shared parameter used twice */
    make_obs(3);
    for (int k = 0; k < NPK; k++) {
        qnn_circuit *c;
        qnn_circuit_new(&c, 3, NULL);
        qnn_circuit_gate1(c, QNN_G_H, 0, NULL);
        qnn_circuit_gate1(c, QNN_G_H, 1, NULL);
        qnn_circuit_rot1(c, QNN_G_RX, 2, qnn_angle_const(0.4), NULL);
        int p = qnn_circuit_param(c, "th", NULL);
        for (int rep = 0; rep < 2; rep++) {
            qnn_angle a = qnn_angle_param(p, rep ? -0.7 : 1.0);
            if (PKINDS[k] == QNN_G_U3) qnn_circuit_u3(c, 1, a, a, a, NULL);
            else if (qnn_op_kind_nqubits(PKINDS[k]) == 1) qnn_circuit_rot1(c, PKINDS[k], 1, a, NULL);
            else qnn_circuit_rot2(c, PKINDS[k], rep ? 2 : 1, rep ? 1 : 0, a, NULL);
            qnn_circuit_gate2(c, QNN_G_CX, 1, 2, NULL);
        }
        qnn_circuit_set_param(c, p, 0.9, NULL);
        double g = 0, gs = 0, v;
        qnn_circuit_gradient(c, OBS, 2, NULL, &v, &g, NULL);
        qnn_circuit_gradient_shift(c, OBS, 2, NULL, &v, &gs, NULL);
        const double h = 1e-5;
        qnn_circuit_set_param(c, p, 0.9 + h, NULL);
        double fp = f_expect(c);
        qnn_circuit_set_param(c, p, 0.9 - h, NULL);
        double fm = f_expect(c);
        double fd = (fp - fm) / (2 * h);
        if (fabs(g - fd) > 1e-7 || fabs(gs - fd) > 1e-7)
            fprintf(stderr, "kind %s: adjoint %g shift %g fd %g\n", qnn_op_kind_name(PKINDS[k]), g,
                    gs, fd);
        CHECK_NEAR(g, fd, 1e-7);
        CHECK_NEAR(gs, fd, 1e-7);
        qnn_circuit_free(c);
    }
}

TEST(vjp_matches_finite_differences) {
    int n = 4;
    qnn_circuit *c = random_circuit(n, 26, 5, 7, 1);
    int np = qnn_circuit_nparams(c);
    size_t d = (size_t)1 << n;
    double dp[16], probs[16], p2[16];
    qnn_rng r;
    qnn_rng_seed(&r, 3);
    for (size_t x = 0; x < d; x++) dp[x] = urand(&r, -1, 1);
    double *g = calloc((size_t)np, sizeof(double));
    CHECK(qnn_circuit_vjp(c, dp, NULL, probs, g, NULL) == QNN_OK);
    qnn_state s;
    qnn_state_init(&s, n, NULL);
    qnn_circuit_run(c, &s, NULL, NULL, NULL);
    qnn_state_probs(&s, p2);
    for (size_t x = 0; x < d; x++) CHECK_NEAR(probs[x], p2[x], 1e-14);
    /* from the output state: same gradient, the state is left unchanged */
    double *g2 = calloc((size_t)np, sizeof(double));
    double a0 = s.amp[3];
    CHECK(qnn_circuit_vjp_from(c, dp, &s, g2, NULL) == QNN_OK);
    CHECK(s.amp[3] == a0);
    for (int i = 0; i < np; i++) CHECK_NEAR(g2[i], g[i], 1e-13);
    qnn_state s3;
    qnn_state_init(&s3, n + 1, NULL);
    qnn_error e;
    CHECK(qnn_circuit_vjp_from(c, dp, &s3, g2, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "qubits") != NULL);
    CHECK(qnn_circuit_vjp_from(c, dp, NULL, g2, &e) == QNN_EINVAL);
    qnn_state_release(&s3);
    free(g2);
    const double h = 1e-5;
    for (int i = 0; i < np; i++) {
        double x0 = qnn_circuit_get_param(c, i), f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            qnn_circuit_set_param(c, i, x0 + (sgn ? -h : h), NULL);
            qnn_state_set_zero(&s);
            qnn_circuit_run(c, &s, NULL, NULL, NULL);
            qnn_state_probs(&s, p2);
            f[sgn] = 0;
            for (size_t x = 0; x < d; x++) f[sgn] += dp[x] * p2[x];
        }
        qnn_circuit_set_param(c, i, x0, NULL);
        CHECK_NEAR(g[i], (f[0] - f[1]) / (2 * h), 1e-7);
    }
    qnn_state_release(&s);
    free(g);
    qnn_circuit_free(c);
}

static double max_dev_identity(const double *u, size_t d) {
    double m = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double re = u[2 * (i * d + j)] - (i == j), im = u[2 * (i * d + j) + 1];
            double e = hypot(re, im);
            if (e > m) m = e;
        }
    return m;
}

TEST(inverse_is_identity) {
    qnn_circuit *c = random_circuit(4, 30, 6, 11, 1);
    qnn_circuit *inv;
    CHECK(qnn_circuit_inverse(&inv, c, NULL) == QNN_OK);
    CHECK(qnn_circuit_append(c, inv, NULL, NULL) == QNN_OK);
    double *u = malloc(sizeof(double) * 2 * 256);
    CHECK(qnn_circuit_unitary(c, u, NULL) == QNN_OK);
    CHECK(max_dev_identity(u, 16) < 1e-12);
    free(u);
    qnn_circuit_free(inv);
    qnn_circuit_free(c);
}

TEST(qasm_round_trip) {
    for (int trial = 0; trial < 2; trial++) {
        int n = 3 + trial;
        qnn_circuit *c = random_circuit(n, 30, 6, 21 + trial, 1);
        int ctrl[3] = {0, 1, 2};
        if (n == 4) qnn_circuit_mcx(c, ctrl, 3, 3, NULL);
        int zq[4] = {3, 1, 0, 2};
        if (n == 4) qnn_circuit_mcz(c, zq, 4, NULL);
        char *text = NULL;
        CHECK(qnn_circuit_to_qasm(c, &text, NULL) == QNN_OK);
        qnn_circuit *b = NULL;
        qnn_error err;
        qnn_error_clear(&err);
        int st = qnn_circuit_from_qasm(&b, text, &err);
        if (st) fprintf(stderr, "from_qasm: %s\n", err.msg);
        CHECK(st == QNN_OK);
        if (b) {
            size_t d = (size_t)1 << n;
            double *u1 = malloc(sizeof(double) * 2 * d * d), *u2 = malloc(sizeof(double) * 2 * d * d);
            qnn_circuit_unitary(c, u1, NULL);
            qnn_circuit_unitary(b, u2, NULL);
            double m = 0;
            for (size_t i = 0; i < 2 * d * d; i++)
                if (fabs(u1[i] - u2[i]) > m) m = fabs(u1[i] - u2[i]);
            CHECK(m < 1e-10);
            if (m >= 1e-10) fprintf(stderr, "round trip deviation %g\n", m);
            free(u1), free(u2);
            qnn_circuit_free(b);
        }
        free(text);
        qnn_circuit_free(c);
    }
}

TEST(qasm_unitary_decomposition) {
    /* 3-qubit random unitary (from a circuit) as a dense gate: exact round trip */
    qnn_circuit *src = random_circuit(3, 20, 4, 5, 0);
    double m[2 * 64];
    qnn_circuit_unitary(src, m, NULL);
    qnn_circuit *c;
    qnn_circuit_new(&c, 4, NULL);
    int q[3] = {3, 0, 2};
    CHECK(qnn_circuit_unitary_gate(c, q, 3, m, 1e-10, NULL) == QNN_OK);
    double one[8] = {0.6, 0, 0, 0.8, 0, 0.8, 0.6, 0}; /* [[.6, .8i], [.8i, .6]] */
    int q1 = 1;
    CHECK(qnn_circuit_unitary_gate(c, &q1, 1, one, 1e-10, NULL) == QNN_OK);
    char *text;
    CHECK(qnn_circuit_to_qasm(c, &text, NULL) == QNN_OK);
    qnn_circuit *b = NULL;
    CHECK(qnn_circuit_from_qasm(&b, text, NULL) == QNN_OK);
    if (b) {
        double *u1 = malloc(sizeof(double) * 2 * 256), *u2 = malloc(sizeof(double) * 2 * 256);
        qnn_circuit_unitary(c, u1, NULL);
        qnn_circuit_unitary(b, u2, NULL);
        double dev = 0;
        for (int i = 0; i < 512; i++)
            if (fabs(u1[i] - u2[i]) > dev) dev = fabs(u1[i] - u2[i]);
        CHECK(dev < 1e-10);
        if (dev >= 1e-10) fprintf(stderr, "unitary decomposition deviation %g\n", dev);
        free(u1), free(u2);
        qnn_circuit_free(b);
    }
    free(text);
    qnn_circuit_free(c);
    qnn_circuit_free(src);
}

TEST(qasm_errors_name_line) {
    qnn_circuit *c = NULL;
    qnn_error err;
    const char *bad1 = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\nfoo q[0];\n";
    CHECK(qnn_circuit_from_qasm(&c, bad1, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "line 4") != NULL && strstr(err.msg, "foo q[0]") != NULL);
    const char *bad2 = "OPENQASM 2.0;\nqreg q[2];\n// comment\nrx(pi/2 q[0];\n";
    CHECK(qnn_circuit_from_qasm(&c, bad2, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "line 4") != NULL);
    const char *bad3 = "qreg q[2];\ncx q[0],q[5];\n";
    CHECK(qnn_circuit_from_qasm(&c, bad3, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "line 2") != NULL);
    const char *bad4 = "qreg q[2];\ncx q[0],q[0];\n";
    CHECK(qnn_circuit_from_qasm(&c, bad4, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    const char *good = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg a[1];\nqreg b[2];\ncreg c[3];\n"
                       "h b; // broadcast\nu2(0, pi) a[0];\nbarrier a, b;\nrz(-(pi/4)*2 + 1e-1) b[1];\n"
                       "measure b[0] -> c[0];\nmeasure a -> c[2];\n";
    qnn_error_clear(&err);
    int st = qnn_circuit_from_qasm(&c, good, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    CHECK(st == QNN_OK);
    if (c) {
        CHECK(qnn_circuit_nqubits(c) == 3);
        CHECK(qnn_circuit_ngates(c) == 4);
        const qnn_op *op = qnn_circuit_op(c, 3);
        CHECK(op->kind == QNN_G_RZ && qnn_op_qubits(op)[0] == 2);
        CHECK_NEAR(op->ang[0].offset, -M_PI / 2 + 0.1, 1e-15);
        qnn_circuit_free(c);
    }
}

TEST(noise_density_vs_trajectories) {
    int n = 3;
    qnn_circuit *c = random_circuit(n, 12, 4, 9, 0);
    qnn_noise nm = {.p1 = 0.05, .p2 = 0.08, .amp_damp = 0.04, .phase_damp = 0.03, .bit_flip = 0.02, .phase_flip = 0.02};
    qnn_density rho;
    qnn_density_init(&rho, n, NULL);
    CHECK(qnn_circuit_run_density(c, &rho, &nm, NULL) == QNN_OK);
    double pd[8], acc[8] = {0}, p[8];
    qnn_density_probs(&rho, pd);
    CHECK_NEAR(qnn_density_trace(&rho), 1.0, 1e-12);
    qnn_rng r;
    qnn_rng_seed(&r, 42);
    qnn_state s;
    qnn_state_init(&s, n, NULL);
    const int T = 4000;
    for (int t = 0; t < T; t++) {
        qnn_state_set_zero(&s);
        qnn_circuit_run(c, &s, &nm, &r, NULL);
        qnn_state_probs(&s, p);
        for (int x = 0; x < 8; x++) acc[x] += p[x] / T;
    }
    for (int x = 0; x < 8; x++) CHECK_NEAR(acc[x], pd[x], 0.02);
    /* the noise matters: differs from the ideal run */
    qnn_state_set_zero(&s);
    qnn_circuit_run(c, &s, NULL, NULL, NULL);
    qnn_state_probs(&s, p);
    double dev = 0;
    for (int x = 0; x < 8; x++) dev += fabs(p[x] - pd[x]);
    CHECK(dev > 0.05);
    qnn_state_release(&s);
    qnn_density_release(&rho);
    qnn_circuit_free(c);
}

TEST(bad_input) {
    qnn_circuit *c = NULL;
    qnn_error err;
    CHECK(qnn_circuit_new(&c, 0, &err) == QNN_EINVAL);
    CHECK(qnn_circuit_new(&c, 31, &err) == QNN_EINVAL);
    CHECK(qnn_circuit_new(&c, 3, &err) == QNN_OK);
    CHECK(qnn_circuit_gate1(c, QNN_G_H, 3, &err) == QNN_ERANGE);
    CHECK(qnn_circuit_gate1(c, QNN_G_H, -1, &err) == QNN_ERANGE);
    CHECK(qnn_circuit_gate2(c, QNN_G_CX, 1, 1, &err) == QNN_EINVAL);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    CHECK(qnn_circuit_rot1(c, QNN_G_RX, 0, qnn_angle_const(NAN), &err) == QNN_EINVAL);
    CHECK(qnn_circuit_rot1(c, QNN_G_RX, 0, qnn_angle_param(5, 1.0), &err) == QNN_ERANGE);
    double notu[8] = {1, 0, 1, 0, 0, 0, 1, 0};
    int q = 0;
    CHECK(qnn_circuit_unitary_gate(c, &q, 1, notu, 1e-10, &err) == QNN_EINVAL);
    CHECK(qnn_circuit_set_param(c, 0, 1.0, &err) == QNN_ERANGE);
    int p = qnn_circuit_param(c, "a", &err);
    CHECK(p == 0);
    CHECK(qnn_circuit_set_param(c, 0, INFINITY, &err) == QNN_EINVAL);
    CHECK(qnn_circuit_ngates(c) == 0);
    qnn_state s;
    qnn_state_init(&s, 2, NULL);
    CHECK(qnn_circuit_run(c, &s, NULL, NULL, &err) == QNN_EINVAL);
    qnn_noise bad = {.p1 = 1.5};
    qnn_state_release(&s);
    qnn_state_init(&s, 3, NULL);
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    CHECK(qnn_circuit_run(c, &s, &bad, &r, &err) == QNN_EINVAL);
    qnn_pauli_term t = {1.0, 8, 0};
    double v, g[1];
    CHECK(qnn_circuit_gradient(c, &t, 1, NULL, &v, g, &err) == QNN_EINVAL);
    qnn_state_release(&s);
    qnn_circuit_free(c);
}

TEST(structure) {
    qnn_circuit *c;
    qnn_circuit_new(&c, 3, NULL);
    qnn_circuit_gate1(c, QNN_G_H, 0, NULL);
    qnn_circuit_gate2(c, QNN_G_CX, 0, 1, NULL);
    qnn_circuit_gate2(c, QNN_G_CX, 1, 2, NULL);
    qnn_circuit_rot1(c, QNN_G_RY, 0, qnn_angle_param(qnn_circuit_param(c, "t", NULL), 1), NULL);
    CHECK(qnn_circuit_depth(c) == 3);
    size_t counts[QNN_G_COUNT];
    qnn_circuit_count(c, counts);
    CHECK(counts[QNN_G_CX] == 2 && counts[QNN_G_H] == 1);
    CHECK(qnn_circuit_repeat(c, 3, NULL) == QNN_OK);
    CHECK(qnn_circuit_ngates(c) == 12);
    CHECK(qnn_circuit_nparams(c) == 1);
    char *txt;
    CHECK(qnn_circuit_draw(c, &txt, NULL) == QNN_OK);
    CHECK(strstr(txt, "RY(t)") != NULL && strstr(txt, "⊕") != NULL);
    free(txt);
    qnn_circuit *d;
    qnn_circuit_new(&d, 5, NULL);
    int map[3] = {4, 2, 0};
    CHECK(qnn_circuit_append(d, c, map, NULL) == QNN_OK);
    CHECK(qnn_circuit_op(d, 1)->qbuf[0] == 4 && qnn_circuit_op(d, 1)->qbuf[1] == 2);
    CHECK(qnn_circuit_append(c, d, NULL, NULL) == QNN_EINVAL);
    qnn_circuit_free(d);
    qnn_circuit_free(c);
}

int main(void) {
    RUN(gradient_matches_finite_differences);
    RUN(every_kind_alone);
    RUN(vjp_matches_finite_differences);
    RUN(inverse_is_identity);
    RUN(qasm_round_trip);
    RUN(qasm_unitary_decomposition);
    RUN(qasm_errors_name_line);
    RUN(noise_density_vs_trajectories);
    RUN(bad_input);
    RUN(structure);
    return harness_done();
}
