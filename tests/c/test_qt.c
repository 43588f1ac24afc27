/* Quantum-Train generator (src/core/qt.c): full chain gradient vs finite differences, layout,
 * bad input. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

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
static double *fd_check(int normalize, int nhidden, int act, size_t p, int nocache, int angles,
                        size_t *np_out) {
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
    cfg.angles = angles;
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
    CHECK(qnn_qt_ntheta(qt) == (size_t)(angles == QNN_QT_ANGLES_PER_CANDIDATE ? 4 : 1) * 2 * n);
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

static void fd_both(int normalize, int nhidden, int act, size_t p, int angles) {
    size_t n1, n2;
    double *g1 = fd_check(normalize, nhidden, act, p, 0, angles, &n1);
    double *g2 = fd_check(normalize, nhidden, act, p, 1, angles, &n2);
    /* cached output states and recomputed forward runs give the same gradient */
    CHECK(n1 == n2);
    for (size_t k = 0; k < n1; k++) CHECK_NEAR(g1[k], g2[k], 1e-12);
    free(g1);
    free(g2);
}

TEST(fd_softmax_linear) { fd_both(QNN_QT_SOFTMAX, 0, QNN_QT_ACT_RELU, 20, QNN_QT_ANGLES_SHARED); }
TEST(fd_none_linear) { fd_both(QNN_QT_NONE, 0, QNN_QT_ACT_RELU, 27, QNN_QT_ANGLES_SHARED); }
TEST(fd_softmax_hidden_tanh) { fd_both(QNN_QT_SOFTMAX, 2, QNN_QT_ACT_TANH, 13, QNN_QT_ANGLES_SHARED); }
/* each candidate its own angle block: the same chain, m times the angles */
TEST(fd_per_candidate_softmax) {
    fd_both(QNN_QT_SOFTMAX, 0, QNN_QT_ACT_RELU, 20, QNN_QT_ANGLES_PER_CANDIDATE);
}
TEST(fd_per_candidate_none_hidden) {
    fd_both(QNN_QT_NONE, 2, QNN_QT_ACT_TANH, 27, QNN_QT_ANGLES_PER_CANDIDATE);
}

/* a generator with the 4 test candidates, depth 2, p weights; angles shared or per candidate */
static qnn_qt *make_qt4(size_t p, int angles, int normalize) {
    qnn_qt_config cfg;
    qnn_qt_config_defaults(&cfg);
    cfg.ntarget = p;
    cfg.depth = 2;
    cfg.normalize = normalize;
    cfg.angles = angles;
    qnn_qt *qt;
    qnn_error e;
    if (qnn_qt_new(&qt, &cfg, &e)) return NULL;
    int n = qnn_qt_nqubits(qt);
    int kinds[4][3] = {{1, 0, QNN_G_RY}, {0, 1, QNN_G_RX}, {1, 1, QNN_G_RZ}, {0, 0, QNN_G_RY}};
    for (int k = 0; k < 4; k++) {
        qnn_circuit *c = make_cand(n, 2, kinds[k][0], kinds[k][1], kinds[k][2]);
        CHECK(c && qnn_qt_add_candidate(qt, c, NULL, &e) == QNN_OK);
        qnn_circuit_free(c);
    }
    CHECK(qnn_qt_finalize(qt, &e) == QNN_OK);
    return qt;
}

/* per-candidate angles with every block equal to the shared vector reproduce the shared
 * generator exactly, and the shared angle gradient is the sum of the per-candidate blocks' */
TEST(per_candidate_equal_blocks_match_shared) {
    size_t p = 40;
    qnn_qt *sh = make_qt4(p, QNN_QT_ANGLES_SHARED, QNN_QT_SOFTMAX);
    qnn_qt *pc = make_qt4(p, QNN_QT_ANGLES_PER_CANDIDATE, QNN_QT_SOFTMAX);
    CHECK(sh && pc);
    qnn_error e;
    qnn_rng rng;
    qnn_rng_seed(&rng, 3);
    CHECK(qnn_qt_init_params(sh, &rng, 1.0, 1.0, &e) == QNN_OK);
    size_t nt = qnn_qt_ntheta(sh), rest = qnn_qt_nparams(sh) - nt;
    CHECK(qnn_qt_ntheta(pc) == 4 * nt);
    CHECK(qnn_qt_nparams(pc) == 4 * nt + rest);
    CHECK(qnn_qt_angles(pc) == QNN_QT_ANGLES_PER_CANDIDATE && qnn_qt_angles(sh) == QNN_QT_ANGLES_SHARED);
    CHECK(qnn_qt_candidate_theta(pc, 3) == 3 * nt && qnn_qt_candidate_theta(sh, 3) == 0);
    CHECK(strcmp(qnn_qt_theta_name(pc, nt + 1), qnn_qt_theta_name(pc, 1)) == 0);
    CHECK(qnn_qt_theta_name(pc, 4 * nt) == NULL);
    double *ws = qnn_qt_params(sh), *wp = qnn_qt_params(pc);
    ws[nt + 1] += 0.3; /* asymmetric structural weights */
    for (int j = 0; j < 4; j++) memcpy(wp + (size_t)j * nt, ws, nt * sizeof(double));
    memcpy(wp + 4 * nt, ws + nt, rest * sizeof(double));
    double Ws[40], Wp[40], g[40];
    CHECK(qnn_qt_generate(sh, Ws, NULL, &e) == QNN_OK);
    CHECK(qnn_qt_generate(pc, Wp, NULL, &e) == QNN_OK);
    for (size_t i = 0; i < p; i++) CHECK(Ws[i] == Wp[i]);
    lossf(Ws, p, g);
    CHECK(qnn_qt_backward(sh, g, NULL, &e) == QNN_OK);
    CHECK(qnn_qt_backward(pc, g, NULL, &e) == QNN_OK);
    const double *gs = qnn_qt_grads(sh), *gp = qnn_qt_grads(pc);
    double maxg = 0.0, maxblock = 0.0;
    for (size_t k = 0; k < nt; k++) {
        double sum = 0.0;
        for (int j = 0; j < 4; j++) sum += gp[(size_t)j * nt + k];
        CHECK_NEAR(sum, gs[k], 1e-12);
        maxg = fabs(gs[k]) > maxg ? fabs(gs[k]) : maxg;
        double dj = fabs(gp[k] - gp[nt + k]);
        maxblock = dj > maxblock ? dj : maxblock;
    }
    CHECK(maxg > 1e-3);
    CHECK(maxblock > 1e-6); /* the blocks get different gradients (they are separate angles) */
    for (size_t k = 0; k < rest; k++) CHECK_NEAR(gp[4 * nt + k], gs[nt + k], 1e-12);
    /* moving one candidate's block changes the output; the shared generator has no such knob */
    wp[nt + 1] += 0.5; /* candidate 2 (RX); candidate 3's RZ angles act on phases only */
    CHECK(qnn_qt_generate(pc, Wp, NULL, &e) == QNN_OK);
    double diff = 0.0;
    for (size_t i = 0; i < p; i++) diff += fabs(Wp[i] - Ws[i]);
    CHECK(diff > 1e-6);
    qnn_qt_free(sh);
    qnn_qt_free(pc);
}

/* generate + backward give bitwise the same numbers on 1, 2 and 3 threads */
TEST(per_candidate_thread_independent) {
    int keep = omp_get_max_threads();
    size_t p = 200;
    double W0[200], G0[400], W[200], g[200];
    size_t np0 = 0;
    for (int t = 1; t <= 3; t++) {
        omp_set_num_threads(t);
        qnn_qt *qt = make_qt4(p, QNN_QT_ANGLES_PER_CANDIDATE, QNN_QT_NONE);
        CHECK(qt != NULL);
        qnn_error e;
        qnn_rng rng;
        qnn_rng_seed(&rng, 11);
        CHECK(qnn_qt_init_params(qt, &rng, 1.0, 1.0, &e) == QNN_OK);
        size_t np = qnn_qt_nparams(qt);
        CHECK(np <= 400);
        CHECK(qnn_qt_generate(qt, W, NULL, &e) == QNN_OK);
        lossf(W, p, g);
        CHECK(qnn_qt_backward(qt, g, NULL, &e) == QNN_OK);
        if (t == 1) {
            memcpy(W0, W, sizeof W);
            memcpy(G0, qnn_qt_grads(qt), np * sizeof(double));
            np0 = np;
        } else {
            CHECK(np == np0);
            CHECK(memcmp(W0, W, sizeof W) == 0);
            CHECK(memcmp(G0, qnn_qt_grads(qt), np * sizeof(double)) == 0);
        }
        qnn_qt_free(qt);
    }
    omp_set_num_threads(keep);
}

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
    cfg.angles = 2;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "per_candidate") != NULL);
    cfg.angles = -1;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_EINVAL);
    cfg.angles = QNN_QT_ANGLES_PER_CANDIDATE;
    CHECK(qnn_qt_new(&qt, &cfg, &e) == QNN_OK);
    CHECK(qnn_qt_finalize(qt, &e) == QNN_EINVAL); /* empty pool, per candidate too */
    qnn_qt_free(qt);
    cfg.angles = QNN_QT_ANGLES_SHARED;
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
    RUN(fd_per_candidate_softmax);
    RUN(fd_per_candidate_none_hidden);
    RUN(per_candidate_equal_blocks_match_shared);
    RUN(per_candidate_thread_independent);
    RUN(layout_counts);
    RUN(bad_input);
    return harness_done();
}
