/* Qubit activation layer: closed form and batched kernel against a 2-qubit state-vector
 * circuit, classical limit, sampling statistics, shared register, STE, inference, bad input. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "qnn/density.h"
#include "qnn/nn.h"
#include "qnn/qubit_act.h"
#include "qnn/statevec.h"

#define PI 3.14159265358979323846

/* Simulator reference: neuron = qubit 0, ancilla = qubit 1. RY(prior) RY(theta) on the neuron,
 * RZY(g) on (neuron, ancilla), H on the ancilla, then the ancilla read: bit 0 <-> d = +1.
 * Returns P(+1) and the neuron's real amplitudes after each outcome (ok[k] = 0 if that outcome
 * has probability ~0). */
static void circuit_ref(double prior, double theta, double g, double pk[2], double v0[2],
                        double v1[2], int ok[2], double *maximag) {
    qnn_state s;
    qnn_state_init(&s, 2, NULL);
    int q0 = 0, q01[2] = {0, 1}, q1 = 1;
    qnn_state_apply_gate(&s, QNN_G_RY, &q0, 1, &prior, NULL);
    qnn_state_apply_gate(&s, QNN_G_RY, &q0, 1, &theta, NULL);
    qnn_state_apply_gate(&s, QNN_G_RZY, q01, 2, &g, NULL);
    qnn_state_apply_gate(&s, QNN_G_H, &q1, 1, NULL, NULL);
    double marg[2];
    qnn_state_marginal(&s, &q1, 1, marg, NULL);
    pk[0] = marg[0], pk[1] = marg[1];
    *maximag = 0;
    /* the projected, unnormalised neuron state for ancilla bit k: amplitudes k*2 + {0, 1}.
     * Comparing sqrt(P_k) * (normalised post state) with it is well conditioned even when
     * P_k is tiny (renormalising the simulator's state would amplify its rounding). */
    for (int k = 0; k < 2; k++) {
        ok[k] = marg[k] > 0;
        size_t base = (size_t)k * 2; /* index = neuron bit + 2 * ancilla bit */
        v0[k] = s.amp[2 * base];
        v1[k] = s.amp[2 * (base + 1)];
        double im = fmax(fabs(s.amp[2 * base + 1]), fabs(s.amp[2 * (base + 1) + 1]));
        if (im > *maximag) *maximag = im;
    }
    qnn_state_release(&s);
}

/* distance between two real unit 2-vectors up to a global sign */
static double ray_dist(double a0, double a1, double b0, double b1) {
    double dp = fabs(a0 - b0) + fabs(a1 - b1), dm = fabs(a0 + b0) + fabs(a1 + b1);
    return dp < dm ? dp : dm;
}

TEST(physics_grid_matches_circuit) {
    const double zs[] = {-3.0, -0.7, -0.1, 0.0, 0.05, 0.4, 2.5};
    const double as[] = {0.0, 0.1, 0.316, 1.0};
    const double gs[] = {PI / 16, PI / 8, 5 * PI / 19, PI / 3, PI / 2};
    const double priors[] = {0.0, 0.3, 1.2, PI / 2, 2.5, PI, -0.8, 4.0};
    const double rs[] = {1.0, -1.0};
    double worst_p = 0, worst_v = 0, worst_im = 0;
    int count = 0;
    for (size_t iz = 0; iz < sizeof zs / sizeof *zs; iz++)
        for (size_t ia = 0; ia < sizeof as / sizeof *as; ia++)
            for (size_t ig = 0; ig < sizeof gs / sizeof *gs; ig++)
                for (size_t ip = 0; ip < sizeof priors / sizeof *priors; ip++)
                    for (int ir = 0; ir < 2; ir++)
                        for (int last = 0; last < 2; last++) {
                            qnn_qact_params p;
                            qnn_qact_defaults(&p);
                            p.a = as[ia], p.g = gs[ig], p.last = last;
                            double z = zs[iz], r = rs[ir], prior = priors[ip];
                            double t = p.a > 0 ? tanh(z / p.a) : (z >= 0 ? 1 : -1);
                            double theta = PI / 2 * (r - t), g = last ? PI / 2 : p.g;
                            double pk[2], rv0[2], rv1[2], im;
                            int ok[2];
                            circuit_ref(prior, theta, g, pk, rv0, rv1, ok, &im);
                            double pref = pk[0];
                            if (im > worst_im) worst_im = im;
                            /* closed form */
                            qnn_qact_neuron ne;
                            qnn_qact_neuron_eval(z, &p, prior, r, &ne);
                            worst_p = fmax(worst_p, fabs(ne.p_plus - pref));
                            /* batched kernel, forced outcomes */
                            double v0in = cos(prior / 2), v1in = sin(prior / 2);
                            for (int k = 0; k < 2; k++) {
                                /* outcomes of probability < 1e-15 are not drawable with 53-bit uniforms */
                                if (!ok[k] || pk[k] < 1e-15) continue;
                                double u = k == 0 ? 0.0 : nextafter(1.0, 0.0), o, w0, w1, rr, pp;
                                int rc = qnn_qact_kernel(&p, QNN_QACT_READ_SAMPLE, 1, &z, &v0in,
                                                         &v1in, &r, &u, &o, &w0, &w1, &rr, &pp,
                                                         NULL);
                                CHECK(rc == 0);
                                CHECK(o == (k == 0 ? 1.0 : -1.0) && rr == o);
                                worst_p = fmax(worst_p, fabs(pp - pref));
                                double sp = sqrt(pk[k]);
                                worst_v = fmax(worst_v, ray_dist(sp * w0, sp * w1, rv0[k], rv1[k]));
                                worst_v = fmax(worst_v, ray_dist(sp * ne.v0[k], sp * ne.v1[k],
                                                                 rv0[k], rv1[k]));
                                /* the angle is the RY angle of that state */
                                worst_v = fmax(worst_v, ray_dist(sp * cos(ne.angle_post[k] / 2),
                                                                 sp * sin(ne.angle_post[k] / 2),
                                                                 rv0[k], rv1[k]));
                                /* authors' rule: cos(phi'/2) >= 0, same state if |angle| <= pi */
                                qnn_qact_params pa = p;
                                pa.rule = QNN_QACT_RULE_AUTHORS;
                                double a0, a1;
                                qnn_qact_kernel(&pa, QNN_QACT_READ_SAMPLE, 1, &z, &v0in, &v1in, &r,
                                                &u, &o, &a0, &a1, &rr, NULL, NULL);
                                CHECK(a0 >= 0);
                                CHECK_NEAR(fabs(a0), fabs(w0), 1e-14);
                                CHECK_NEAR(a1 * (w0 < 0 ? -1 : 1), w1 * (w0 < 0 ? -1 : 1), 1e-14);
                                count++;
                            }
                        }
    CHECK(count > 2000);
    CHECK(worst_p <= 1e-12);
    CHECK(worst_v <= 1e-12);
    CHECK(worst_im <= 1e-14);
    printf("  physics grid: %d cases, max |dP| %.2e, max |sqrt(P) dv| %.2e\n", count, worst_p, worst_v);
}

TEST(fast_functions) {
    double wt = 0, ws = 0;
    for (double x = -40; x <= 40; x += 0.00731) wt = fmax(wt, fabs(qnn_qact_fast_tanh(x) - tanh(x)));
    for (double x = -1e-3; x <= 1e-3; x += 1.3e-6) wt = fmax(wt, fabs(qnn_qact_fast_tanh(x) - tanh(x)));
    CHECK(qnn_qact_fast_tanh(1e300) == 1.0 && qnn_qact_fast_tanh(-1e300) == -1.0);
    CHECK(qnn_qact_fast_tanh(0.0) == 0.0);
    for (double h = -PI / 2; h <= PI / 2; h += 0.000123) {
        double s, c;
        qnn_qact_fast_sincos(h, &s, &c);
        ws = fmax(ws, fmax(fabs(s - sin(h)), fabs(c - cos(h))));
    }
    CHECK(wt < 4e-16);
    CHECK(ws < 4e-16);
    printf("  fast tanh max err %.2e, sincos %.2e\n", wt, ws);
}

TEST(projective_formula) {
    qnn_qact_params p;
    qnn_qact_defaults(&p);
    p.a = 0.316;
    for (double z = -2; z <= 2; z += 0.125) {
        qnn_qact_neuron ne;
        qnn_qact_neuron_eval(z, &p, 0.0, 1.0, &ne);
        CHECK_NEAR(ne.p_plus, 0.5 * (1 + sin(PI / 2 * tanh(z / p.a))), 1e-14);
        /* weak: (1 + sin g <Z>)/2 with <Z> = cos(theta) */
        qnn_qact_params w = p;
        w.g = 5 * PI / 19;
        qnn_qact_neuron_eval(z, &w, 0.0, 1.0, &ne);
        CHECK_NEAR(ne.p_plus, 0.5 * (1 + sin(w.g) * cos(PI / 2 * (1 - tanh(z / p.a)))), 1e-14);
    }
}

static qnn_net *make_net(size_t in, size_t hid, size_t out, const qnn_qact_params *p1,
                         const qnn_qact_params *p2, int sign_layers, uint64_t seed) {
    qnn_net *n = NULL;
    qnn_error err;
    qnn_init init = {QNN_INIT_NORMAL, 0.0, 1.0 / sqrt((double)in)};
    if (qnn_net_new(&n, &err)) return NULL;
    int ok = qnn_net_add_dense(n, in, hid, 0, &init, 0, 0, &err) >= 0;
    if (sign_layers) ok = ok && qnn_net_add_activation(n, QNN_LAYER_SIGN, 0, &err) >= 0;
    else ok = ok && qnn_net_add_qubit_act(n, 0, p1, &err) >= 0;
    ok = ok && qnn_net_add_dense(n, hid, hid, 0, &init, 0, 0, &err) >= 0;
    if (sign_layers) ok = ok && qnn_net_add_activation(n, QNN_LAYER_SIGN, 0, &err) >= 0;
    else ok = ok && qnn_net_add_qubit_act(n, 0, p2, &err) >= 0;
    ok = ok && qnn_net_add_dense(n, hid, out, 0, &init, 0, 0, &err) >= 0;
    ok = ok && qnn_net_build(n, seed, &err) == 0;
    if (!ok) {
        fprintf(stderr, "make_net: %s\n", err.msg);
        qnn_net_free(n);
        return NULL;
    }
    return n;
}

static void rand_input(qnn_tensor *X, size_t rows, size_t cols, uint64_t seed) {
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_tensor_init(X, rows, cols, 2);
    for (size_t i = 0; i < rows * cols; i++) X->data[i] = qnn_rng_uniform(&r);
}

TEST(classical_limit_is_sign_net) {
    qnn_qact_params p1, p2;
    qnn_qact_defaults(&p1);
    p2 = p1;
    p2.last = 1;
    qnn_net *q = make_net(20, 16, 5, &p1, &p2, 0, 7), *c = make_net(20, 16, 5, NULL, NULL, 1, 7);
    CHECK(q && c);
    if (!q || !c) return;
    CHECK(q->nparams == c->nparams);
    for (size_t i = 0; i < q->nparams; i++) CHECK(q->params[i] == c->params[i]);
    qnn_tensor X;
    rand_input(&X, 33, 20, 3);
    const qnn_tensor *oq, *oc;
    qnn_rng r;
    qnn_rng_seed(&r, 99);
    for (int train = 0; train < 2; train++) {
        CHECK(qnn_net_forward(q, &X, train, &r, &oq, NULL) == 0);
        CHECK(qnn_net_forward(c, &X, train, &r, &oc, NULL) == 0);
        double md = 0;
        for (size_t i = 0; i < 33; i++)
            for (size_t j = 0; j < 5; j++)
                md = fmax(md, fabs(qnn_tensor_get(oq, i, j) - qnn_tensor_get(oc, i, j)));
        CHECK(md == 0.0);
    }
    /* gradients equal too (same STE) */
    int labels[33];
    for (int i = 0; i < 33; i++) labels[i] = i % 5;
    qnn_targets y = {labels, NULL};
    double lq, lc;
    CHECK(qnn_net_backward(q, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0, &r, &lq, NULL, NULL) == 0);
    CHECK(qnn_net_backward(c, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0, &r, &lc, NULL, NULL) == 0);
    CHECK(lq == lc);
    double gd = 0;
    for (size_t i = 0; i < q->nparams; i++) gd = fmax(gd, fabs(q->grads[i] - c->grads[i]));
    CHECK(gd == 0.0);
    qnn_tensor_release(&X);
    qnn_net_free(q);
    qnn_net_free(c);
}

TEST(sampling_frequency) {
    /* one neuron column repeated: frequency of +1 ~ P(+1) */
    qnn_qact_params p;
    qnn_qact_defaults(&p);
    p.a = 0.5, p.g = PI / 5, p.reg = QNN_QACT_FRESH;
    qnn_net *n = NULL;
    qnn_net_new(&n, NULL);
    CHECK(qnn_net_add_qubit_act(n, 4, &p, NULL) == 0);
    CHECK(qnn_net_build(n, 1, NULL) == 0);
    size_t B = 40000;
    qnn_tensor X;
    qnn_tensor_init(&X, B, 4, 2);
    const double zs[4] = {-0.6, 0.0, 0.2, 1.5};
    for (size_t i = 0; i < B; i++)
        for (int j = 0; j < 4; j++) X.data[i * 4 + j] = zs[j];
    const qnn_tensor *o;
    CHECK(qnn_net_forward(n, &X, 1, NULL, &o, NULL) == 0);
    for (int j = 0; j < 4; j++) {
        double cnt = 0;
        for (size_t i = 0; i < B; i++) cnt += qnn_tensor_get(o, i, j) > 0;
        qnn_qact_neuron ne;
        qnn_qact_neuron_eval(zs[j], &p, 0, 1, &ne);
        double sd = sqrt(ne.p_plus * (1 - ne.p_plus) / (double)B);
        CHECK(fabs(cnt / (double)B - ne.p_plus) < 5 * sd + 1e-12);
    }
    qnn_tensor_release(&X);
    qnn_net_free(n);
}

TEST(shared_register_carries_state) {
    qnn_qact_params p1, p2;
    qnn_qact_defaults(&p1);
    p1.a = 0.3, p1.g = 5 * PI / 19;
    p2 = p1;
    p2.last = 1;
    qnn_net *n = make_net(12, 8, 3, &p1, &p2, 0, 5);
    CHECK(n != NULL);
    if (!n) return;
    CHECK(qnn_qact_is(&n->layers[1]) && qnn_qact_is(&n->layers[3]));
    CHECK(qnn_qact_keep_probs(&n->layers[3], 1, NULL) == 0);
    qnn_tensor X;
    rand_input(&X, 10, 12, 8);
    CHECK(qnn_net_forward(n, &X, 1, NULL, NULL, NULL) == 0);
    const double *v0, *v1, *res;
    size_t rows;
    CHECK(qnn_qact_last_register(&n->layers[1], &v0, &v1, &res, &rows) == 0);
    size_t pr;
    const double *pp = qnn_qact_last_probs(&n->layers[3], &pr);
    CHECK(pp && pr == 10);
    qnn_tensor z2 = qnn_net_activation(n, 3); /* input of layer 3 = second pre-activation */
    qnn_tensor a1 = qnn_net_activation(n, 2);
    double worst = 0;
    for (size_t i = 0; i < 10; i++)
        for (size_t j = 0; j < 8; j++) {
            size_t k = i * 8 + j;
            CHECK(res[k] == qnn_tensor_get(&a1, i, j));
            CHECK_NEAR(v0[k] * v0[k] + v1[k] * v1[k], 1.0, 1e-14);
            qnn_qact_neuron ne;
            qnn_qact_neuron_eval(qnn_tensor_get(&z2, i, j), &p2, 2 * atan2(v1[k], v0[k]), res[k],
                                 &ne);
            worst = fmax(worst, fabs(ne.p_plus - pp[k]));
        }
    CHECK(worst < 1e-12);
    /* a copy keeps the link */
    qnn_net *c = NULL;
    CHECK(qnn_net_copy(&c, n, NULL) == 0);
    CHECK(qnn_net_forward(c, &X, 1, NULL, NULL, NULL) == 0);
    CHECK(qnn_qact_last_register(&c->layers[1], &v0, &v1, &res, &rows) == 0 && rows == 10);
    qnn_net_free(c);
    qnn_tensor_release(&X);
    qnn_net_free(n);
}

TEST(fresh_register_and_width_check) {
    qnn_qact_params p;
    qnn_qact_defaults(&p);
    qnn_net *n = NULL;
    qnn_error err;
    qnn_net_new(&n, NULL);
    CHECK(qnn_net_add_qubit_act(n, 4, &p, &err) == 0);
    CHECK(qnn_net_add_dense(n, 4, 3, 0, NULL, 0, 0, &err) == 1);
    CHECK(qnn_net_add_qubit_act(n, 0, &p, &err) < 0); /* shared, width 3 != 4 */
    CHECK(strstr(err.msg, "fresh") != NULL);
    p.reg = QNN_QACT_FRESH;
    CHECK(qnn_net_add_qubit_act(n, 0, &p, &err) == 2);
    qnn_net_free(n);
}

TEST(ste_backward) {
    qnn_qact_params p;
    qnn_qact_defaults(&p);
    p.a = 0.2;
    qnn_net *n = NULL;
    qnn_net_new(&n, NULL);
    qnn_net_add_qubit_act(n, 5, &p, NULL);
    CHECK(qnn_net_build(n, 1, NULL) == 0);
    qnn_tensor X;
    qnn_tensor_init(&X, 1, 5, 2);
    const double zs[5] = {-1.5, -0.999, 0.0, 0.5, 1.0};
    memcpy(X.data, zs, sizeof zs);
    CHECK(qnn_net_forward(n, &X, 1, NULL, NULL, NULL) == 0);
    qnn_tensor dout, din;
    qnn_tensor_init(&dout, 1, 5, 2);
    qnn_tensor_init(&din, 1, 5, 2);
    for (int j = 0; j < 5; j++) dout.data[j] = j + 1.0;
    qnn_tensor out = qnn_net_activation(n, 1);
    CHECK(qnn_qact_vt.backward(&n->layers[0], &X, &out, &dout, &din, NULL) == 0);
    const double want[5] = {0, 2, 3, 4, 0};
    for (int j = 0; j < 5; j++) CHECK(din.data[j] == want[j]);
    qnn_tensor_release(&X), qnn_tensor_release(&dout), qnn_tensor_release(&din);
    qnn_net_free(n);
}

TEST(mean_field_and_predict) {
    qnn_qact_params p1, p2;
    qnn_qact_defaults(&p1);
    p1.a = 0.3, p1.g = 5 * PI / 19;
    p2 = p1;
    p2.last = 1;
    qnn_net *n = make_net(12, 8, 3, &p1, &p2, 0, 5);
    if (!n) return;
    qnn_tensor X;
    rand_input(&X, 2500, 12, 8);
    int *pred = malloc(2500 * sizeof(int)), *first = malloc(2500 * sizeof(int));
    int *pred2 = malloc(2500 * sizeof(int));
    qnn_rng r;
    qnn_rng_seed(&r, 4);
    CHECK(qnn_qact_predict(n, &X, 15, QNN_QACT_PREDICT_VOTE, &r, pred, first, NULL) == 0);
    /* the votes differ from single shots somewhere (the net is stochastic) */
    int diff = 0;
    for (int i = 0; i < 2500; i++) diff += pred[i] != first[i];
    CHECK(diff > 0);
    qnn_rng_seed(&r, 4);
    CHECK(qnn_qact_predict(n, &X, 15, QNN_QACT_PREDICT_VOTE, &r, pred2, NULL, NULL) == 0);
    for (int i = 0; i < 2500; i++) CHECK(pred[i] == pred2[i]); /* seeded */
    CHECK(qnn_qact_predict(n, &X, 1, QNN_QACT_PREDICT_MEAN, &r, pred, NULL, NULL) == 0);
    CHECK(qnn_qact_predict(n, &X, 1, QNN_QACT_PREDICT_MEAN, &r, pred2, NULL, NULL) == 0);
    for (int i = 0; i < 2500; i++) CHECK(pred[i] == pred2[i]); /* deterministic */
    /* readout restored to sampling */
    qnn_qact_set_readout(n, QNN_QACT_READ_MEAN);
    qnn_tensor X1;
    qnn_tensor_rows_view(&X1, &X, 0, 1);
    const qnn_tensor *o;
    CHECK(qnn_net_forward(n, &X1, 0, NULL, &o, NULL) == 0);
    qnn_tensor a1 = qnn_net_activation(n, 2), z1 = qnn_net_activation(n, 1);
    for (size_t j = 0; j < 8; j++) {
        qnn_qact_neuron ne;
        qnn_qact_neuron_eval(qnn_tensor_get(&z1, 0, j), &p1, 0, 1, &ne);
        CHECK_NEAR(qnn_tensor_get(&a1, 0, j), 2 * ne.p_plus - 1, 1e-14);
    }
    qnn_error err;
    CHECK(qnn_qact_predict(n, &X, 0, QNN_QACT_PREDICT_VOTE, &r, pred, NULL, &err) == QNN_EINVAL);
    X.data[17] = NAN;
    CHECK(qnn_qact_predict(n, &X, 3, QNN_QACT_PREDICT_VOTE, &r, pred, NULL, &err) == QNN_EINVAL);
    CHECK(strstr(err.msg, "NaN") != NULL);
    CHECK(qnn_net_forward(n, &X, 1, NULL, NULL, &err) == QNN_EINVAL);
    free(pred), free(pred2), free(first);
    qnn_tensor_release(&X);
    qnn_net_free(n);
}

TEST(bad_params) {
    qnn_qact_params p;
    qnn_error err;
    qnn_qact_defaults(&p);
    CHECK(qnn_qact_check(&p, &err) == 0);
    p.a = -0.1;
    CHECK(qnn_qact_check(&p, &err) == QNN_EINVAL && strstr(err.msg, "a must"));
    p.a = NAN;
    CHECK(qnn_qact_check(&p, &err) == QNN_EINVAL);
    p.a = 0.3, p.g = 0;
    CHECK(qnn_qact_check(&p, &err) == QNN_EINVAL && strstr(err.msg, "g must"));
    p.g = PI / 2 + 0.01;
    CHECK(qnn_qact_check(&p, &err) == QNN_EINVAL);
    p.g = NAN;
    CHECK(qnn_qact_check(&p, &err) == QNN_EINVAL);
    p.g = PI / 2;
    double f[4] = {0.3, 1.0, 7, 1};
    CHECK(qnn_qact_params_from_fparam(f, &p, &err) == 0 && p.reg == 1 && p.last == 1 && p.rule == 1);
    f[3] = 2;
    CHECK(qnn_qact_params_from_fparam(f, &p, &err) != 0);
}

/* Noise: the trajectory ensemble of the sampling kernel (every Pauli branch, forced by its
 * noise uniform, weighted by its probability) equals the density-matrix circuit with the
 * channel between rotation and measurement, exactly: P(+1) and, for each outcome, the
 * unnormalised post-measurement neuron block. The mean-field read-out gets the exact channel:
 * <d> = P(+) - P(-) and the carried state is the direction of the post-measurement mixture's
 * Bloch vector. */
TEST(noise_matches_density_matrix) {
    const double zs[] = {-1.5, -0.2, 0.0, 0.6};
    const double gs[] = {PI / 8, 5 * PI / 19, PI / 2};
    const double priors[] = {0.0, 1.1, PI / 2, 2.8, -0.7};
    const double ps[] = {0.0, 0.05, 0.3, 0.75, 1.0};
    double worst = 0, worst_mf = 0;
    int count = 0;
    for (int kind = 1; kind <= 2; kind++)
        for (size_t ipp = 0; ipp < sizeof ps / sizeof *ps; ipp++)
            for (size_t iz = 0; iz < sizeof zs / sizeof *zs; iz++)
                for (size_t ig = 0; ig < sizeof gs / sizeof *gs; ig++)
                    for (size_t ip = 0; ip < sizeof priors / sizeof *priors; ip++)
                        for (int ir = 0; ir < 2; ir++) {
                            qnn_qact_params p;
                            qnn_qact_defaults(&p);
                            p.a = iz % 2 ? 0.316 : 0.0, p.g = gs[ig];
                            p.noise = kind, p.noise_p = ps[ipp];
                            CHECK(qnn_qact_check(&p, NULL) == 0);
                            double z = zs[iz], r = ir ? -1.0 : 1.0, prior = priors[ip], q = ps[ipp];
                            double t = p.a > 0 ? tanh(z / p.a) : (z >= 0 ? 1 : -1);
                            double theta = PI / 2 * (r - t);
                            /* density reference */
                            qnn_density d;
                            CHECK(qnn_density_init(&d, 2, NULL) == 0);
                            int q0 = 0, q1 = 1, q01[2] = {0, 1};
                            qnn_density_apply_gate(&d, QNN_G_RY, &q0, 1, &prior, NULL);
                            qnn_density_apply_gate(&d, QNN_G_RY, &q0, 1, &theta, NULL);
                            CHECK((kind == 1 ? qnn_density_phase_flip(&d, 0, q, NULL)
                                             : qnn_density_depolarize(&d, 0, q, NULL)) == 0);
                            qnn_density_apply_gate(&d, QNN_G_RZY, q01, 2, &p.g, NULL);
                            qnn_density_apply_gate(&d, QNN_G_H, &q1, 1, NULL, NULL);
                            const double *rho = qnn_density_data(&d);
                            /* block of ancilla bit b: rows/cols x + 2b; ref[b][x][y] (real part) */
                            double ref[2][2][2], pref[2];
                            for (int b = 0; b < 2; b++) {
                                for (int x = 0; x < 2; x++)
                                    for (int y = 0; y < 2; y++) {
                                        size_t rr = (size_t)(x + 2 * b), cc = (size_t)(y + 2 * b);
                                        ref[b][x][y] = rho[2 * (rr * 4 + cc)];
                                        worst = fmax(worst, fabs(rho[2 * (rr * 4 + cc) + 1]));
                                    }
                                pref[b] = ref[b][0][0] + ref[b][1][1];
                            }
                            qnn_density_release(&d);
                            /* trajectory branches: un picks X, Y, Z or identity */
                            double tx = kind == 2 ? q / 3 : 0, ty = kind == 2 ? 2 * q / 3 : 0;
                            double un_k[4] = {tx / 2, (tx + ty) / 2, (ty + q) / 2, (q + 1) / 2};
                            double w_k[4] = {tx, ty - tx, q - ty, 1 - q};
                            double v0in = cos(prior / 2), v1in = sin(prior / 2);
                            double pplus = 0, blk[2][2][2] = {{{0}}};
                            for (int k = 0; k < 4; k++) {
                                if (w_k[k] <= 0) continue;
                                for (int b = 0; b < 2; b++) {
                                    double u = b == 0 ? 0.0 : nextafter(1.0, 0.0), o, w0, w1, rr,
                                           pp;
                                    CHECK(qnn_qact_kernel_noisy(&p, QNN_QACT_READ_SAMPLE, 1, &z,
                                                                &v0in, &v1in, &r, &u, &un_k[k], &o,
                                                                &w0, &w1, &rr, &pp, NULL) == 0);
                                    double pb = b == 0 ? pp : 1 - pp;
                                    if (b == 0) pplus += w_k[k] * pp;
                                    /* an outcome the uniform could not force has weight ~0 */
                                    if (o != (b == 0 ? 1.0 : -1.0)) {
                                        CHECK(pb < 1e-15);
                                        continue;
                                    }
                                    double w[2] = {w0, w1};
                                    for (int x = 0; x < 2; x++)
                                        for (int y = 0; y < 2; y++)
                                            blk[b][x][y] += w_k[k] * pb * w[x] * w[y];
                                }
                            }
                            worst = fmax(worst, fabs(pplus - pref[0]));
                            for (int b = 0; b < 2; b++)
                                for (int x = 0; x < 2; x++)
                                    for (int y = 0; y < 2; y++)
                                        worst = fmax(worst, fabs(blk[b][x][y] - ref[b][x][y]));
                            /* mean-field: exact channel */
                            double o, w0, w1, rr, pp;
                            CHECK(qnn_qact_kernel_noisy(&p, QNN_QACT_READ_MEAN, 1, &z, &v0in, &v1in,
                                                        &r, NULL, NULL, &o, &w0, &w1, &rr, &pp,
                                                        NULL) == 0);
                            worst_mf = fmax(worst_mf, fabs(o - (pref[0] - pref[1])));
                            worst_mf = fmax(worst_mf, fabs(pp - pref[0]));
                            double X = 2 * (ref[0][0][1] + ref[1][0][1]);
                            double Z = ref[0][0][0] + ref[1][0][0] - ref[0][1][1] - ref[1][1][1];
                            double nb = sqrt(X * X + Z * Z);
                            if (nb > 1e-9) {
                                worst_mf = fmax(worst_mf, fabs(2 * w0 * w1 - X / nb));
                                worst_mf = fmax(worst_mf, fabs(w0 * w0 - w1 * w1 - Z / nb));
                            }
                            count++;
                        }
    CHECK(count == 2 * 5 * 4 * 3 * 5 * 2);
    CHECK(worst <= 1e-12);
    CHECK(worst_mf <= 1e-12);
    printf("  noise vs density matrix: %d cases, max |diff| %.2e (trajectories), %.2e (mean-field)\n",
           count, worst, worst_mf);
}

/* p = 0 (either kind) is bitwise the noiseless kernel; sampling with active noise and no noise
 * uniforms is refused; fparam round trip of the noise; bad noise parameters. */
TEST(noise_params) {
    qnn_qact_params p, q;
    qnn_error err;
    qnn_error_clear(&err);
    qnn_qact_defaults(&p);
    CHECK(p.noise == QNN_QACT_NOISE_NONE && p.noise_p == 0 && !qnn_qact_noise_active(&p));
    p.a = 0.316, p.g = 5 * PI / 19;
    double z[5] = {-1, -0.1, 0, 0.2, 3}, u[5] = {0.1, 0.5, 0.9, 0.3, 0.7}, un[5] = {0, 0, 0, 0, 0};
    double o1[5], o2[5], a1[5], a2[5], b1[5], b2[5], r1[5], r2[5];
    for (int kind = 1; kind <= 2; kind++)
        for (int mode = 0; mode < 2; mode++) {
            q = p;
            q.noise = kind, q.noise_p = 0.0;
            CHECK(!qnn_qact_noise_active(&q));
            qnn_qact_kernel(&p, mode, 5, z, NULL, NULL, NULL, u, o1, a1, b1, r1, NULL, NULL);
            qnn_qact_kernel_noisy(&q, mode, 5, z, NULL, NULL, NULL, u, un, o2, a2, b2, r2, NULL, NULL);
            CHECK(memcmp(o1, o2, sizeof o1) == 0 && memcmp(a1, a2, sizeof a1) == 0 &&
                  memcmp(b1, b2, sizeof b1) == 0 && memcmp(r1, r2, sizeof r1) == 0);
        }
    q = p;
    q.noise = QNN_QACT_NOISE_DEPHASING, q.noise_p = 0.2;
    CHECK(qnn_qact_noise_active(&q));
    CHECK(qnn_qact_kernel(&q, QNN_QACT_READ_SAMPLE, 5, z, NULL, NULL, NULL, u, o1, NULL, NULL,
                          NULL, NULL, &err) == QNN_EINVAL && strstr(err.msg, "noise"));
    /* checkpoint numbers: format 1 without noise, -p with it (exact) */
    for (int kind = 0; kind <= 2; kind++)
        for (int ip = 0; ip < 3; ip++) {
            double pv[3] = {0.0, 0.01, 1.0};
            q = p;
            q.noise = kind, q.noise_p = kind ? pv[ip] : 0.0;
            qnn_net *net = NULL;
            CHECK(qnn_net_new(&net, NULL) == 0);
            CHECK(qnn_net_add_qubit_act(net, 4, &q, NULL) >= 0);
            qnn_qact_params back;
            CHECK(qnn_qact_params_from_fparam(net->layers[0].fparam, &back, NULL) == 0);
            CHECK(back.noise == q.noise && back.noise_p == q.noise_p && back.a == q.a &&
                  back.g == q.g && back.mode == q.mode);
            CHECK(kind != 0 || net->layers[0].fparam[3] == 1.0);
            qnn_net_free(net);
        }
    double f[4] = {0.3, 1.0, 7 | 1 << 5, -1.5};
    CHECK(qnn_qact_params_from_fparam(f, &q, &err) == QNN_EFORMAT);
    f[3] = 1.0; /* a noise kind needs -1 <= f[3] <= 0 */
    CHECK(qnn_qact_params_from_fparam(f, &q, &err) == QNN_EFORMAT);
    f[2] = 3 << 5, f[3] = -0.1; /* kind 3 does not exist */
    CHECK(qnn_qact_params_from_fparam(f, &q, &err) == QNN_EINVAL);
    q = p;
    q.noise = 3;
    CHECK(qnn_qact_check(&q, &err) == QNN_EINVAL && strstr(err.msg, "noise kind"));
    q.noise = 1, q.noise_p = 1.5;
    CHECK(qnn_qact_check(&q, &err) == QNN_EINVAL && strstr(err.msg, "noise p must be in [0, 1]"));
    q.noise_p = -0.01;
    CHECK(qnn_qact_check(&q, &err) == QNN_EINVAL);
    q.noise_p = NAN;
    CHECK(qnn_qact_check(&q, &err) == QNN_EINVAL);
}

int main(void) {
    RUN(physics_grid_matches_circuit);
    RUN(fast_functions);
    RUN(projective_formula);
    RUN(classical_limit_is_sign_net);
    RUN(sampling_frequency);
    RUN(shared_register_carries_state);
    RUN(fresh_register_and_width_check);
    RUN(ste_backward);
    RUN(mean_field_and_predict);
    RUN(bad_params);
    RUN(noise_matches_density_matrix);
    RUN(noise_params);
    return harness_done();
}
