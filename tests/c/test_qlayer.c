/* Quantum layers in C: gradients against finite differences (inputs and weights), the
 * adjoint sweep against Circuit gradients, the text description round trip, bad input. */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "qnn/checkpoint.h"
#include "qnn/circuit.h"
#include "qnn/nn.h"
#include "qnn/qlayer.h"

/* 3 qubits: inputs a0..a2 (RY, one scaled), weights w0..w3 */
static qnn_circuit *make_circuit(void) {
    qnn_circuit *c;
    qnn_error e;
    if (qnn_circuit_new(&c, 3, &e)) return NULL;
    int x0 = qnn_circuit_param(c, "a0", &e), x1 = qnn_circuit_param(c, "a1", &e),
        x2 = qnn_circuit_param(c, "a2", &e);
    int w0 = qnn_circuit_param(c, "w0", &e), w1 = qnn_circuit_param(c, "w1", &e),
        w2 = qnn_circuit_param(c, "w2", &e), w3 = qnn_circuit_param(c, "w3", &e);
    int ok = 1;
    ok &= !qnn_circuit_rot1(c, QNN_G_RY, 0, qnn_angle_param(x0, 1.0), &e);
    ok &= !qnn_circuit_rot1(c, QNN_G_RY, 1, qnn_angle_param(x1, 0.5), &e);
    ok &= !qnn_circuit_rot1(c, QNN_G_RX, 2, qnn_angle_param(x2, 1.0), &e);
    ok &= !qnn_circuit_gate2(c, QNN_G_CX, 0, 1, &e);
    ok &= !qnn_circuit_rot2(c, QNN_G_CRY, 1, 2, qnn_angle_param(w0, 1.0), &e);
    ok &= !qnn_circuit_rot1(c, QNN_G_RZ, 0, qnn_angle_param(w1, 1.0), &e);
    ok &= !qnn_circuit_rot2(c, QNN_G_RZZ, 0, 2, qnn_angle_param(w2, 1.0), &e);
    ok &= !qnn_circuit_u3(c, 1, qnn_angle_param(w3, 1.0), qnn_angle_const(0.3), qnn_angle_param(x0, -1.0), &e);
    ok &= !qnn_circuit_rot1(c, QNN_G_RY, 2, qnn_angle_param(w1, 2.0), &e);
    if (!ok) {
        qnn_circuit_free(c);
        return NULL;
    }
    return c;
}

/* net = [quantum]; outputs: Z0, 0.5 X0X1 - Y2, prob(5) */
static qnn_net *make_net(const qnn_circuit *c, const qnn_noise *noise) {
    static const int inputs[3] = {0, 1, 2}, weights[4] = {3, 4, 5, 6};
    qnn_pauli_term z0 = {1.0, 0, 1}, h[2] = {{0.5, 3, 0}, {-1.0, 4, 4}};
    qnn_qlayer_output outs[3] = {{1, &z0, 0}, {2, h, 0}, {0, NULL, 5}};
    qnn_qlayer_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.circuit = c;
    sp.ninputs = 3;
    sp.inputs = inputs;
    sp.nweights = 4;
    sp.weights = weights;
    sp.noutputs = 3;
    sp.outputs = outs;
    sp.noise = noise;
    qnn_net *net;
    qnn_error e;
    if (qnn_net_new(&net, &e)) return NULL;
    if (qnn_net_add_qlayer(net, &sp, NULL, 0, 0, &e) < 0 || qnn_net_build(net, 5, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        qnn_net_free(net);
        return NULL;
    }
    return net;
}

static double objective(qnn_net *net, const qnn_tensor *X, const double *R) {
    const qnn_tensor *Y;
    qnn_error e;
    if (qnn_net_forward(net, X, 0, NULL, &Y, &e)) return NAN;
    double s = 0;
    for (size_t r = 0; r < Y->rows; r++)
        for (size_t k = 0; k < 3; k++) s += R[r * 3 + k] * qnn_tensor_get(Y, r, k);
    return s;
}

static void fd_check(const qnn_noise *noise) {
    qnn_circuit *c = make_circuit();
    CHECK(c != NULL);
    if (!c) return;
    qnn_net *net = make_net(c, noise);
    CHECK(net != NULL);
    if (!net) {
        qnn_circuit_free(c);
        return;
    }
    double xd[6] = {0.3, -0.7, 1.1, -0.2, 0.9, 0.4}, R[6] = {1.0, -0.5, 2.0, 0.3, 0.7, -1.2};
    qnn_tensor X, D, G;
    qnn_error e;
    qnn_tensor_wrap(&X, xd, 2, 3, 3, 2);
    qnn_tensor_wrap(&D, R, 2, 3, 3, 2);
    CHECK(qnn_tensor_init(&G, 2, 3, 2) == QNN_OK);
    /* weights */
    const qnn_tensor *Y;
    CHECK(qnn_net_forward(net, &X, 0, NULL, &Y, &e) == QNN_OK);
    qnn_layer *l = &net->layers[0];
    memset(l->g, 0, sizeof(double) * l->nparams);
    CHECK(l->vt->backward(l, &X, Y, &D, &G, &e) == QNN_OK);
    const double h = 1e-6;
    for (size_t k = 0; k < l->nparams; k++) {
        double v = l->w[k];
        l->w[k] = v + h;
        double a = objective(net, &X, R);
        l->w[k] = v - h;
        double b = objective(net, &X, R);
        l->w[k] = v;
        CHECK_NEAR((a - b) / (2 * h), l->g[k], 1e-7);
    }
    /* inputs */
    for (size_t r = 0; r < 2; r++)
        for (size_t i = 0; i < 3; i++) {
            double v = xd[r * 3 + i];
            xd[r * 3 + i] = v + h;
            double a = objective(net, &X, R);
            xd[r * 3 + i] = v - h;
            double b = objective(net, &X, R);
            xd[r * 3 + i] = v;
            CHECK_NEAR((a - b) / (2 * h), qnn_tensor_get(&G, r, i), 1e-7);
        }
    qnn_tensor_release(&G);
    qnn_net_free(net);
    qnn_circuit_free(c);
}

TEST(fd_pure) { fd_check(NULL); }

TEST(fd_noisy) {
    qnn_noise nz;
    memset(&nz, 0, sizeof nz);
    nz.p1 = 0.02, nz.p2 = 0.05, nz.amp_damp = 0.03, nz.phase_damp = 0.01, nz.phase_flip = 0.02;
    fd_check(&nz);
}

/* the layer's sweep agrees with qnn_circuit_gradient for one output */
TEST(adjoint_matches_circuit_gradient) {
    qnn_circuit *c = make_circuit();
    CHECK(c != NULL);
    if (!c) return;
    double v[7] = {0.3, -0.7, 1.1, 0.2, -0.4, 0.8, 1.3};
    qnn_error e;
    CHECK(qnn_circuit_set_params(c, v, &e) == QNN_OK);
    qnn_pauli_term z0 = {1.0, 0, 1};
    double val, g[7], g2[7];
    CHECK(qnn_circuit_gradient(c, &z0, 1, NULL, &val, g, &e) == QNN_OK);
    qnn_state psi, lam;
    CHECK(qnn_state_init(&psi, 3, &e) == QNN_OK);
    CHECK(qnn_state_init(&lam, 3, &e) == QNN_OK);
    CHECK(qnn_circuit_run(c, &psi, NULL, NULL, &e) == QNN_OK);
    CHECK(qnn_state_apply_observable(&lam, &psi, &z0, 1, &e) == QNN_OK);
    CHECK(qnn_circuit_adjoint(c, &psi, &lam, g2, 1, &e) == QNN_OK);
    for (int i = 0; i < 7; i++) CHECK_NEAR(g[i], g2[i], 1e-12);
    /* undo_all: psi is back at |000> */
    CHECK_NEAR(psi.amp[0], 1.0, 1e-12);
    qnn_state_release(&psi);
    qnn_state_release(&lam);
    qnn_circuit_free(c);
}

TEST(describe_round_trip) {
    qnn_circuit *c = make_circuit();
    CHECK(c != NULL);
    if (!c) return;
    qnn_net *net = make_net(c, NULL), *n2;
    qnn_error e;
    CHECK(net != NULL);
    char *txt = NULL;
    CHECK(qnn_qlayer_describe(&net->layers[0], &txt, &e) == QNN_OK);
    CHECK(qnn_net_new(&n2, &e) == QNN_OK);
    CHECK(qnn_net_add_qlayer_text(n2, txt, &e) == 0);
    CHECK(qnn_net_build(n2, 1, &e) == QNN_OK);
    memcpy(n2->params, net->params, sizeof(double) * net->nparams);
    double xd[3] = {0.1, 0.2, -0.3};
    qnn_tensor X;
    qnn_tensor_wrap(&X, xd, 1, 3, 3, 2);
    const qnn_tensor *Y1, *Y2;
    CHECK(qnn_net_forward(net, &X, 0, NULL, &Y1, &e) == QNN_OK);
    double y1[3] = {qnn_tensor_get(Y1, 0, 0), qnn_tensor_get(Y1, 0, 1), qnn_tensor_get(Y1, 0, 2)};
    CHECK(qnn_net_forward(n2, &X, 0, NULL, &Y2, &e) == QNN_OK);
    for (int k = 0; k < 3; k++) CHECK(y1[k] == qnn_tensor_get(Y2, 0, k));
    /* checkpoint round trip through the C loader (format version 2) */
    char path[64];
    snprintf(path, sizeof path, "/tmp/qnn_test_qlayer_%d.ckpt", (int)getpid());
    CHECK(qnn_ckpt_save_net(net, path, &e) == QNN_OK);
    qnn_net *n4 = NULL;
    CHECK(qnn_ckpt_load_net(path, &n4, &e) == QNN_OK);
    remove(path);
    if (n4) {
        CHECK(qnn_net_forward(n4, &X, 0, NULL, &Y2, &e) == QNN_OK);
        for (int k = 0; k < 3; k++) CHECK(y1[k] == qnn_tensor_get(Y2, 0, k));
        qnn_net_free(n4);
    }
    /* corrupted descriptions are refused */
    qnn_net *n3;
    CHECK(qnn_net_new(&n3, &e) == QNN_OK);
    txt[strlen(txt) / 2] = 0;
    CHECK(qnn_net_add_qlayer_text(n3, txt, &e) < 0);
    CHECK(qnn_net_add_qlayer_text(n3, "garbage", &e) < 0);
    free(txt);
    qnn_net_free(n3);
    qnn_net_free(n2);
    qnn_net_free(net);
    qnn_circuit_free(c);
}

TEST(bad_input) {
    qnn_circuit *c = make_circuit();
    CHECK(c != NULL);
    if (!c) return;
    static const int inputs[3] = {0, 1, 2}, weights[3] = {3, 4, 5};
    qnn_pauli_term z0 = {1.0, 0, 1}, big = {1.0, 0, 8};
    qnn_qlayer_output outs[1] = {{1, &z0, 0}};
    qnn_qlayer_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.circuit = c;
    sp.ninputs = 3;
    sp.inputs = inputs;
    sp.nweights = 3; /* w3 missing */
    sp.weights = weights;
    sp.noutputs = 1;
    sp.outputs = outs;
    qnn_net *net;
    qnn_error e;
    CHECK(qnn_net_new(&net, &e) == QNN_OK);
    CHECK(qnn_net_add_qlayer(net, &sp, NULL, 0, 0, &e) < 0);
    CHECK(strstr(e.msg, "'w3' is neither an input nor a weight") != NULL);
    static const int w4[4] = {3, 4, 5, 6};
    sp.nweights = 4;
    sp.weights = w4;
    outs[0].terms = &big; /* qubit 3 of a 3-qubit circuit */
    CHECK(qnn_net_add_qlayer(net, &sp, NULL, 0, 0, &e) < 0);
    outs[0].terms = &z0;
    outs[0].nterms = 0;
    outs[0].basis = 8;
    CHECK(qnn_net_add_qlayer(net, &sp, NULL, 0, 0, &e) < 0);
    outs[0].basis = 7;
    CHECK(qnn_net_add_qlayer(net, &sp, NULL, 0, 0, &e) == 0);
    CHECK(qnn_net_build(net, 1, &e) == QNN_OK);
    double xd[3] = {0.1, NAN, 0.2};
    qnn_tensor X;
    qnn_tensor_wrap(&X, xd, 1, 3, 3, 2);
    CHECK(qnn_net_forward(net, &X, 0, NULL, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "feature 2 is NaN") != NULL);
    qnn_net_free(net);
    qnn_circuit_free(c);
}

int main(void) {
    RUN(fd_pure);
    RUN(fd_noisy);
    RUN(adjoint_matches_circuit_gradient);
    RUN(describe_round_trip);
    RUN(bad_input);
    return harness_done();
}
