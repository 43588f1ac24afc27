/* Quantum-Train generator (src/core/qt.c): full chain gradient vs finite differences, layout,
 * bad input. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "harness.h"
#include "qnn/qt.h"

/* candidate kinds: (hadamard, ring, rotation) */
static qnn_circuit *make_cand(int n, int depth, int had, int ring, int rot) {
    qnn_circuit *c;
    qnn_error e;
    if (qnn_circuit_new(&c, n, &e)) return NULL;
    char nm[32];
    for (int l = 1; l <= depth; l++) {
        if (had && l == 1)
            for (int q = 0; q < n; q++) qnn_circuit_gate1(c, QNN_G_H, q, &e);
        for (int q = 0; q + 1 < n; q++) qnn_circuit_gate2(c, QNN_G_CX, q, q + 1, &e);
        if (ring && n > 2) qnn_circuit_gate2(c, QNN_G_CX, n - 1, 0, &e);
        for (int q = 0; q < n; q++) {
            snprintf(nm, sizeof nm, "L%d_q%d", l, q);
            int i = qnn_circuit_param(c, nm, &e);
            qnn_circuit_rot1(c, rot, q, qnn_angle_param(i, 1.0), &e);
        }
    }
    return c;
}

/* loss L(W) = sum_i a_i W_i + 0.5 sum_i W_i^2 sin(i) */
static double lossf(const double *W, size_t p, double *g) {
    double L = 0.0;
    for (size_t i = 0; i < p; i++) {
        double a = cos(0.7 * (double)i) + 0.3, b = sin((double)i + 1.0);
        L += a * W[i] + 0.5 * b * W[i] * W[i];
        if (g) g[i] = a + b * W[i];
    }
    return L;
}

/* nocache: a QNN_MAX_BYTES too small for the per-candidate output-state cache (one thread),
 * so backward recomputes each candidate's forward run. Returns the gradient (malloc'ed). */
static double *fd_check(int normalize, int nhidden, int act, size_t p, int nocache, size_t *np_out) {
    int keep_threads = omp_get_max_threads();
    if (nocache) omp_set_num_threads(1);
    qnn_qt_config cfg;
    qnn_qt_config_defaults(&cfg);
    cfg.ntarget = p;
    cfg.depth = 2;
    cfg.normalize = normalize;
    cfg.nhidden = nhidden;
    cfg.hidden[0] = 4;
    cfg.hidden[1] = 3;
    cfg.activation = act;
    qnn_qt *qt;
    qnn_error e;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_OK);
    int n = qnn_qt_nqubits(qt);
    if (nocache) { /* room for 4 states; the cache needs 4 + 3 */
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", (size_t)4 * 16 * ((size_t)1 << n));
        setenv("QNN_MAX_BYTES", lim, 1);
    }
    int kinds[4][3] = {{1, 0, QNN_G_RY}, {0, 1, QNN_G_RX}, {1, 1, QNN_G_RZ}, {0, 0, QNN_G_RY}};
    for (int k = 0; k < 4; k++) {
        qnn_circuit *c = make_cand(n, 2, kinds[k][0], kinds[k][1], kinds[k][2]);
        CHECK(c != NULL);
        CHECK(qnn_qt_add_candidate(qt, c, NULL, &e) == QNN_OK);
        qnn_circuit_free(c);
    }
    CHECK(qnn_qt_finalize(qt, &e) == QNN_OK);
    qnn_rng rng;
    qnn_rng_seed(&rng, 7);
    CHECK(qnn_qt_init_params(qt, &rng, 1.0, 1.0, &e) == QNN_OK);
    size_t np = qnn_qt_nparams(qt);
    double *w = qnn_qt_params(qt);
    /* perturb structural weights away from the symmetric start */
    for (size_t j = 0; j < qnn_qt_nstruct(qt); j++)
        w[qnn_qt_ntheta(qt) + j] += 0.1 * (double)j - 0.05 + (normalize == QNN_QT_NONE ? 0.2 : 0);
    double *W = calloc(p, sizeof(double)), *gW = calloc(p, sizeof(double));
    CHECK(qnn_qt_generate(qt, W, NULL, &e) == QNN_OK);
    if (nocache) unsetenv("QNN_MAX_BYTES");
    CHECK(qnn_qt_cache_bytes(qt) == (nocache ? 0 : 4 * ((size_t)1 << n) * 16));
    double sum = 0.0;
    for (size_t i = 0; i < p; i++) sum += W[i];
    CHECK_NEAR(sum, 0.0, 1e-10); /* mean-subtracted */
    lossf(W, p, gW);
    CHECK(qnn_qt_backward(qt, gW, NULL, &e) == QNN_OK);
    double *g = malloc(np * sizeof(double));
    for (size_t k = 0; k < np; k++) g[k] = qnn_qt_grads(qt)[k];
    double h = 1e-5, maxerr = 0.0, maxg = 0.0;
    for (size_t k = 0; k < np; k++) {
        double keep = w[k];
        w[k] = keep + h;
        qnn_qt_generate(qt, W, NULL, &e);
        double lp = lossf(W, p, NULL);
        w[k] = keep - h;
        qnn_qt_generate(qt, W, NULL, &e);
        double lm = lossf(W, p, NULL);
        w[k] = keep;
        double fd = (lp - lm) / (2 * h);
        double d = fabs(fd - g[k]) / (1.0 + fabs(fd));
        if (d > maxerr) maxerr = d;
        if (fabs(g[k]) > maxg) maxg = fabs(g[k]);
        if (d > 1e-5)
            fprintf(stderr, "  param %zu: fd %.10g adjoint %.10g\n", k, fd, g[k]);
    }
    CHECK(maxerr < 1e-5);
    CHECK(maxg > 1e-3); /* the check is not vacuous */
    /* a second backward after the finite-difference generates (same angles again) */
    qnn_qt_generate(qt, W, NULL, &e);
    lossf(W, p, gW);
    CHECK(qnn_qt_backward(qt, gW, NULL, &e) == QNN_OK);
    for (size_t k = 0; k < np; k++) CHECK_NEAR(qnn_qt_grads(qt)[k], g[k], 1e-12);
    free(W);
    free(gW);
    qnn_qt_free(qt);
    omp_set_num_threads(keep_threads);
    *np_out = np;
    return g;
}

static void fd_both(int normalize, int nhidden, int act, size_t p) {
    size_t n1, n2;
    double *g1 = fd_check(normalize, nhidden, act, p, 0, &n1);
    double *g2 = fd_check(normalize, nhidden, act, p, 1, &n2);
    /* cached output states and recomputed forward runs give the same gradient */
    CHECK(n1 == n2);
    for (size_t k = 0; k < n1; k++) CHECK_NEAR(g1[k], g2[k], 1e-12);
    free(g1);
    free(g2);
}

TEST(fd_softmax_linear) { fd_both(QNN_QT_SOFTMAX, 0, QNN_QT_ACT_RELU, 20); }
TEST(fd_none_linear) { fd_both(QNN_QT_NONE, 0, QNN_QT_ACT_RELU, 27); }
TEST(fd_softmax_hidden_tanh) { fd_both(QNN_QT_SOFTMAX, 2, QNN_QT_ACT_TANH, 13); }

TEST(layout_counts) {
    qnn_qt_config cfg;
    qnn_qt_config_defaults(&cfg);
    cfg.ntarget = 108866;
    cfg.depth = 15;
    qnn_qt *qt;
    qnn_error e;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_OK);
    CHECK(qnn_qt_nqubits(qt) == 17);
    CHECK(qnn_qt_ntheta(qt) == 255);
    CHECK(strcmp(qnn_qt_theta_name(qt, 0), "L1_q0") == 0);
    CHECK(strcmp(qnn_qt_theta_name(qt, 254), "L15_q16") == 0);
    qnn_qt_free(qt);
    CHECK(qnn_qt_qubits_for(1781) == 11);
    CHECK(qnn_qt_qubits_for(1) == 1);
    CHECK(qnn_qt_qubits_for(2) == 1);
    CHECK(qnn_qt_qubits_for(3) == 2);
    CHECK(qnn_qt_qubits_for(((size_t)1 << 30) + 1) == 0);
}

TEST(bad_input) {
    qnn_qt_config cfg;
    qnn_qt_config_defaults(&cfg);
    qnn_qt *qt;
    qnn_error e;
    cfg.ntarget = ((size_t)1 << 30) + 1;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "2^30") != NULL);
    cfg.ntarget = 10;
    cfg.depth = 0;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "depth") != NULL);
    cfg.depth = 1;
    cfg.alpha = NAN;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_EINVAL);
    cfg.alpha = 0.3;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_OK);
    CHECK(qnn_qt_finalize(qt, &e) == QNN_EINVAL); /* empty pool */
    CHECK(strstr(e.msg, "empty") != NULL);
    qnn_circuit *c;
    qnn_circuit_new(&c, 3, &e);
    qnn_circuit_gate1(c, QNN_G_H, 0, &e);
    CHECK(qnn_qt_add_candidate(qt, c, "wrong", &e) == QNN_EINVAL); /* 3 qubits, needs 4 */
    CHECK(strstr(e.msg, "'wrong'") != NULL);
    qnn_circuit_free(c);
    qnn_circuit_new(&c, 4, &e);
    CHECK(qnn_qt_add_candidate(qt, c, "empty", &e) == QNN_EINVAL); /* no gates */
    int i = qnn_circuit_param(c, "theta", &e);
    qnn_circuit_rot1(c, QNN_G_RY, 0, qnn_angle_param(i, 1.0), &e);
    CHECK(qnn_qt_add_candidate(qt, c, "badname", &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "theta") != NULL);
    qnn_circuit_free(c);
    double W[10];
    CHECK(qnn_qt_generate(qt, W, NULL, &e) == QNN_ESTATE);
    qnn_qt_free(qt);
}

int main(void) {
    RUN(fd_softmax_linear);
    RUN(fd_none_linear);
    RUN(fd_softmax_hidden_tanh);
    RUN(layout_counts);
    RUN(bad_input);
    return harness_done();
}
