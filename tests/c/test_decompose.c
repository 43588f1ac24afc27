/* qnn_circuit_decompose: every gate kind against its own unitary (up to a global phase), and
 * the native gate set of the result. */
#include <complex.h>
#include <stdlib.h>

#include "harness.h"
#include "qnn/circuit.h"

/* max |U - e^{ia} V| with the phase a fitted on the largest entry */
static double phase_dist(const double *U, const double *V, size_t d) {
    size_t best = 0;
    double bm = -1;
    for (size_t k = 0; k < d * d; k++) {
        double m = hypot(U[2 * k], U[2 * k + 1]);
        if (m > bm) { bm = m; best = k; }
    }
    double complex u = U[2 * best] + I * U[2 * best + 1], v = V[2 * best] + I * V[2 * best + 1];
    double complex ph = u / v;
    ph /= cabs(ph);
    double worst = 0;
    for (size_t k = 0; k < d * d; k++) {
        double complex a = U[2 * k] + I * U[2 * k + 1], b = V[2 * k] + I * V[2 * k + 1];
        double e = cabs(a - ph * b);
        if (e > worst) worst = e;
    }
    return worst;
}

static void check_equal(qnn_circuit *c) {
    qnn_error err;
    qnn_error_clear(&err);
    qnn_circuit *o = NULL;
    CHECK(qnn_circuit_decompose(c, &o, &err) == QNN_OK);
    if (!o) return;
    int n = qnn_circuit_nqubits(c);
    size_t d = (size_t)1 << n;
    double *U = malloc(2 * d * d * sizeof *U), *V = malloc(2 * d * d * sizeof *V);
    CHECK(qnn_circuit_unitary(c, U, &err) == QNN_OK);
    CHECK(qnn_circuit_unitary(o, V, &err) == QNN_OK);
    CHECK_NEAR(phase_dist(U, V, d), 0.0, 1e-12);
    /* only 1-qubit gates and CX */
    for (size_t i = 0; i < qnn_circuit_ngates(o); i++) {
        const qnn_op *op = qnn_circuit_op(o, i);
        CHECK(op->nq == 1 || op->kind == QNN_G_CX);
    }
    CHECK(qnn_circuit_nparams(o) == qnn_circuit_nparams(c));
    free(U);
    free(V);
    qnn_circuit_free(o);
}

TEST(two_qubit_kinds) {
    int kinds[] = {QNN_G_CX, QNN_G_CY, QNN_G_CZ, QNN_G_SWAP, QNN_G_CRX, QNN_G_CRY, QNN_G_CRZ,
                   QNN_G_CPHASE, QNN_G_RXX, QNN_G_RYY, QNN_G_RZZ, QNN_G_RZY};
    qnn_error err;
    qnn_error_clear(&err);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int order = 0; order < 2; order++) {
            qnn_circuit *c = NULL;
            qnn_circuit_new(&c, 3, &err);
            qnn_circuit_gate1(c, QNN_G_H, 0, &err);
            qnn_circuit_rot1(c, QNN_G_RY, 2, qnn_angle_const(0.3), &err);
            int q[2] = {order ? 2 : 0, order ? 0 : 1};
            qnn_angle a = qnn_angle_const(0.7 + 0.1 * (double)k);
            CHECK(qnn_circuit_add(c, kinds[k], q, 2, &a, &err) == QNN_OK);
            check_equal(c);
            qnn_circuit_free(c);
        }
    }
}

TEST(parameterised_angles_keep_their_parameter) {
    qnn_error err;
    qnn_error_clear(&err);
    qnn_circuit *c = NULL;
    qnn_circuit_new(&c, 2, &err);
    int th = qnn_circuit_param(c, "theta", &err);
    qnn_circuit_set_param(c, th, 0.37, &err);
    int q[2] = {1, 0};
    qnn_angle a = qnn_angle_param(th, 2.0);
    qnn_circuit_add(c, QNN_G_CRY, q, 2, &a, &err);
    qnn_circuit_add(c, QNN_G_CPHASE, q, 2, &a, &err);
    check_equal(c);
    qnn_circuit *o = NULL;
    qnn_circuit_decompose(c, &o, &err);
    /* re-binding the parameter moves both circuits the same way */
    qnn_circuit_set_param(c, th, -1.1, &err);
    qnn_circuit_set_param(o, th, -1.1, &err);
    double U[32], V[32];
    qnn_circuit_unitary(c, U, &err);
    qnn_circuit_unitary(o, V, &err);
    CHECK_NEAR(phase_dist(U, V, 4), 0.0, 1e-12);
    qnn_circuit_free(o);
    qnn_circuit_free(c);
}

TEST(multi_controlled_and_diagonals) {
    qnn_error err;
    qnn_error_clear(&err);
    for (int n = 2; n <= 6; n++) {
        qnn_circuit *c = NULL;
        qnn_circuit_new(&c, n, &err);
        for (int q = 0; q < n; q++) qnn_circuit_gate1(c, QNN_G_H, q, &err);
        int ctrl[8];
        for (int q = 0; q < n - 1; q++) ctrl[q] = q;
        CHECK(qnn_circuit_mcx(c, ctrl, n - 1, n - 1, &err) == QNN_OK);
        int all[8];
        for (int q = 0; q < n; q++) all[q] = n - 1 - q;
        CHECK(qnn_circuit_mcz(c, all, n, &err) == QNN_OK);
        double ph[64];
        for (int x = 0; x < (1 << n); x++) ph[x] = (x % 3 == 0) ? 3.14159265358979323846 : 0.1 * x;
        CHECK(qnn_circuit_diagonal(c, ph, &err) == QNN_OK);
        check_equal(c);
        qnn_circuit_free(c);
    }
}

TEST(refuses_general_unitaries) {
    qnn_error err;
    qnn_error_clear(&err);
    qnn_circuit *c = NULL;
    qnn_circuit_new(&c, 2, &err);
    double m[32] = {0};
    m[0] = m[2 * 5] = m[2 * 11] = m[2 * 14] = 1; /* a permutation: |0>,|1>,|3>,|2> */
    int q[2] = {0, 1};
    CHECK(qnn_circuit_unitary_gate(c, q, 2, m, 1e-12, &err) == QNN_OK);
    qnn_circuit *o = NULL;
    CHECK(qnn_circuit_decompose(c, &o, &err) == QNN_EINVAL);
    CHECK(o == NULL);
    CHECK(strstr(err.msg, "unitary") != NULL);
    qnn_circuit_free(c);
}

TEST(readout_flips_bits) {
    double p[4] = {1, 0, 0, 0};
    qnn_noise_readout(p, 2, 0.1);
    CHECK_NEAR(p[0], 0.81, 1e-15);
    CHECK_NEAR(p[1], 0.09, 1e-15);
    CHECK_NEAR(p[2], 0.09, 1e-15);
    CHECK_NEAR(p[3], 0.01, 1e-15);
}

int main(void) {
    RUN(two_qubit_kinds);
    RUN(parameterised_angles_keep_their_parameter);
    RUN(multi_controlled_and_diagonals);
    RUN(refuses_general_unitaries);
    RUN(readout_flips_bits);
    return harness_done();
}
