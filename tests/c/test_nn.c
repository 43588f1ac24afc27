/* Networks: gradients of every layer and loss against central finite differences, the
 * straight-through sign estimator, Adam/SGD/RMSprop updates against hand-computed values,
 * single-weight access, copies and checkpoint corruption handling. */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "qnn/checkpoint.h"
#include "qnn/nn.h"
#include "qnn/optim.h"

static qnn_net *make_net(int act, int last_softmax, int bias, uint64_t seed) {
    qnn_net *n;
    qnn_error err;
    qnn_init init = {QNN_INIT_NORMAL, 0.0, 0.7};
    if (qnn_net_new(&n, &err)) return NULL;
    qnn_net_add_dense(n, 4, 5, bias, &init, 0, 0, &err);
    qnn_net_add_activation(n, act, 0, &err);
    qnn_net_add_dense(n, 5, 3, bias, &init, 0, 0, &err);
    if (last_softmax) qnn_net_add_activation(n, QNN_LAYER_SOFTMAX, 0, &err);
    if (qnn_net_build(n, seed, &err)) {
        qnn_net_free(n);
        return NULL;
    }
    return n;
}

static void make_data(qnn_tensor *X, qnn_tensor *T, int *labels, size_t B) {
    qnn_rng r;
    qnn_rng_seed(&r, 99);
    qnn_tensor_init(X, B, 4, 2);
    qnn_tensor_init(T, B, 3, 2);
    for (size_t k = 0; k < B * 4; k++) X->data[k] = qnn_rng_normal(&r);
    for (size_t k = 0; k < B * 3; k++) T->data[k] = qnn_rng_uniform(&r);
    for (size_t i = 0; i < B; i++) labels[i] = (int)(i % 3);
}

/* max relative error between analytic gradient and central differences */
static double grad_check(qnn_net *n, const qnn_tensor *X, int kind, const qnn_targets *y,
                         double l2) {
    qnn_error err;
    double loss;
    if (qnn_net_backward(n, X, kind, y, l2, NULL, &loss, NULL, &err)) return 1e9;
    double *g = (double *)malloc(n->nparams * sizeof(double));
    memcpy(g, n->grads, n->nparams * sizeof(double));
    double worst = 0.0, h = 1e-5;
    for (size_t k = 0; k < n->nparams; k++) {
        double p = n->params[k], lp, lm;
        n->params[k] = p + h;
        qnn_net_loss(n, X, kind, y, l2, 0, NULL, &lp, &err);
        n->params[k] = p - h;
        qnn_net_loss(n, X, kind, y, l2, 0, NULL, &lm, &err);
        n->params[k] = p;
        double fd = (lp - lm) / (2 * h);
        double rel = fabs(fd - g[k]) / fmax(1.0, fabs(g[k]));
        if (rel > worst) worst = rel;
    }
    free(g);
    return worst;
}

static const int acts[] = {QNN_LAYER_TANH, QNN_LAYER_RELU, QNN_LAYER_SIGMOID, QNN_LAYER_SOFTMAX,
                           QNN_LAYER_IDENTITY};

TEST(gradients_cross_entropy) {
    qnn_tensor X, T;
    int labels[6];
    make_data(&X, &T, labels, 6);
    qnn_targets y = {labels, NULL};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        for (int sm = 0; sm <= 1; sm++) {
            qnn_net *n = make_net(acts[a], sm, 1, 7 + a);
            CHECK(n != NULL);
            double e = grad_check(n, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0);
            if (!(e < 1e-6)) fprintf(stderr, "  act %d softmax %d: rel err %g\n", acts[a], sm, e);
            CHECK(e < 1e-6);
            qnn_net_free(n);
        }
    }
    qnn_tensor_release(&X);
    qnn_tensor_release(&T);
}

/* single-precision dense layers: loss and gradients equal the double path to float accuracy;
 * the layer input gradient included; checkpoints and copies keep the mode */
TEST(dense_single_precision) {
    qnn_tensor X, T;
    int labels[6];
    make_data(&X, &T, labels, 6);
    qnn_targets y = {labels, NULL};
    qnn_error err;
    qnn_net *a = make_net(QNN_LAYER_TANH, 1, 1, 3), *b = make_net(QNN_LAYER_TANH, 1, 1, 3);
    CHECK(a && b);
    CHECK(qnn_layer_dense_set_single(&b->layers[0], 1, &err) == QNN_OK);
    CHECK(qnn_layer_dense_set_single(&b->layers[2], 1, &err) == QNN_OK);
    CHECK(qnn_layer_dense_set_single(&b->layers[1], 1, &err) == QNN_EINVAL); /* tanh */
    CHECK(qnn_layer_dense_is_single(&b->layers[0]) && !qnn_layer_dense_is_single(&a->layers[0]));
    double la, lb;
    CHECK(qnn_net_backward(a, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, NULL, &la, NULL, &err) == QNN_OK);
    CHECK(qnn_net_backward(b, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, NULL, &lb, NULL, &err) == QNN_OK);
    CHECK(fabs(la - lb) < 1e-6 * fabs(la));
    double worst = 0.0;
    for (size_t k = 0; k < a->nparams; k++)
        worst = fmax(worst, fabs(a->grads[k] - b->grads[k]) / fmax(1.0, fabs(a->grads[k])));
    CHECK(worst > 0.0 && worst < 1e-5); /* really computed in float, and close */
    /* copy and checkpoint keep the mode */
    qnn_net *c;
    CHECK(qnn_net_copy(&c, b, &err) == QNN_OK);
    CHECK(qnn_layer_dense_is_single(&c->layers[0]));
    double lc;
    CHECK(qnn_net_backward(c, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, NULL, &lc, NULL, &err) == QNN_OK);
    CHECK(lc == lb);
    char path[] = "/tmp/qnn_test_single_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(qnn_ckpt_save_net(b, path, &err) == QNN_OK);
    qnn_net *d = NULL;
    CHECK(qnn_ckpt_load_net(path, &d, &err) == QNN_OK);
    unlink(path);
    CHECK(d && qnn_layer_dense_is_single(&d->layers[2]));
    /* back to double: the same numbers as the double net */
    CHECK(qnn_layer_dense_set_single(&c->layers[0], 0, &err) == QNN_OK);
    CHECK(qnn_layer_dense_set_single(&c->layers[2], 0, &err) == QNN_OK);
    CHECK(qnn_net_backward(c, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, NULL, &lc, NULL, &err) == QNN_OK);
    CHECK(lc == la);
    qnn_net_free(a);
    qnn_net_free(b);
    qnn_net_free(c);
    qnn_net_free(d);
    qnn_tensor_release(&X);
    qnn_tensor_release(&T);
}

TEST(gradients_mse_and_l2) {
    qnn_tensor X, T;
    int labels[5];
    make_data(&X, &T, labels, 5);
    qnn_targets y = {NULL, &T};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        for (int sm = 0; sm <= 1; sm++) {
            qnn_net *n = make_net(acts[a], sm, a % 2, 11 + a);
            double e = grad_check(n, &X, QNN_LOSS_MSE, &y, 0.0);
            CHECK(e < 1e-6);
            e = grad_check(n, &X, QNN_LOSS_MSE, &y, 1e-3);
            CHECK(e < 1e-6);
            qnn_net_free(n);
        }
    }
    qnn_targets yc = {labels, NULL};
    qnn_net *n = make_net(QNN_LAYER_TANH, 1, 0, 3);
    CHECK(grad_check(n, &X, QNN_LOSS_CROSS_ENTROPY, &yc, 0.01) < 1e-6);
    qnn_net_free(n);
    qnn_tensor_release(&X);
    qnn_tensor_release(&T);
}

TEST(loss_values) {
    /* single dense layer with known weights: CE = logsumexp(z) - z_y */
    qnn_net *n;
    qnn_error err;
    qnn_net_new(&n, &err);
    qnn_net_add_dense(n, 2, 2, 0, NULL, 0, 0, &err);
    qnn_net_add_activation(n, QNN_LAYER_SOFTMAX, 0, &err);
    CHECK(qnn_net_build(n, 1, &err) == QNN_OK);
    double w[4] = {1, 0, 0, 1}; /* identity */
    memcpy(n->params, w, sizeof w);
    qnn_tensor X;
    qnn_tensor_init(&X, 1, 2, 2);
    X.data[0] = 1.0, X.data[1] = 3.0;
    int lab = 0;
    qnn_targets y = {&lab, NULL};
    double loss;
    CHECK(qnn_net_loss(n, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, 0, NULL, &loss, &err) == QNN_OK);
    CHECK_NEAR(loss, log(exp(1.0) + exp(3.0)) - 1.0, 1e-12);
    CHECK(qnn_net_loss(n, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.5, 0, NULL, &loss, &err) == QNN_OK);
    CHECK_NEAR(loss, log(exp(1.0) + exp(3.0)) - 1.0 + 0.5 * 2.0, 1e-12);
    /* extreme logits stay finite (fused log-softmax) */
    X.data[0] = 1000.0, X.data[1] = -1000.0;
    lab = 1;
    CHECK(qnn_net_loss(n, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, 0, NULL, &loss, &err) == QNN_OK);
    CHECK_NEAR(loss, 2000.0, 1e-9);
    /* label out of range */
    lab = 2;
    CHECK(qnn_net_loss(n, &X, QNN_LOSS_CROSS_ENTROPY, &y, 0.0, 0, NULL, &loss, &err) == QNN_ERANGE);
    /* input width mismatch */
    qnn_tensor Xb;
    qnn_tensor_init(&Xb, 1, 3, 2);
    CHECK(qnn_net_forward(n, &Xb, 0, NULL, NULL, &err) == QNN_EINVAL);
    CHECK(strstr(err.msg, "1x3") != NULL);
    qnn_tensor_release(&Xb);
    qnn_tensor_release(&X);
    qnn_net_free(n);
}

TEST(sign_straight_through) {
    qnn_net *n;
    qnn_error err;
    qnn_net_new(&n, &err);
    qnn_net_add_dense(n, 1, 3, 0, NULL, 0, 0, &err);
    qnn_net_add_activation(n, QNN_LAYER_SIGN, 0, &err);
    CHECK(qnn_net_build(n, 1, &err) == QNN_OK);
    n->params[0] = 0.5, n->params[1] = -2.0, n->params[2] = 0.0;
    qnn_tensor X, D;
    qnn_tensor_init(&X, 1, 1, 2);
    qnn_tensor_init(&D, 1, 3, 2);
    X.data[0] = 1.0;
    const qnn_tensor *out;
    CHECK(qnn_net_forward(n, &X, 1, NULL, &out, &err) == QNN_OK);
    CHECK(qnn_tensor_get(out, 0, 0) == 1.0 && qnn_tensor_get(out, 0, 1) == -1.0 &&
          qnn_tensor_get(out, 0, 2) == 1.0);
    D.data[0] = D.data[1] = D.data[2] = 1.0;
    CHECK(qnn_net_backward_from_output(n, &D, &err) == QNN_OK);
    /* dL/dw = x * 1{|z|<1}: z = 0.5 (pass), -2 (blocked), 0 (pass) */
    CHECK(n->grads[0] == 1.0 && n->grads[1] == 0.0 && n->grads[2] == 1.0);
    qnn_tensor_release(&X);
    qnn_tensor_release(&D);
    qnn_net_free(n);
}

TEST(weights_views_copy) {
    qnn_net *n = make_net(QNN_LAYER_TANH, 1, 1, 5), *c;
    qnn_error err;
    CHECK(n->nparams == 4 * 5 + 5 + 5 * 3 + 3);
    CHECK(qnn_net_num_param_layers(n) == 2 && qnn_net_param_layer(n, 1) == 2);
    size_t f;
    CHECK(qnn_net_weight_index(n, 2, 1, 2, &f, &err) == QNN_OK && f == 25 + 1 * 3 + 2);
    CHECK(qnn_net_weight_index(n, 2, 5, 0, &f, &err) == QNN_OK && f == 25 + 15); /* bias */
    CHECK(qnn_net_weight_index(n, 2, 6, 0, &f, &err) == QNN_ERANGE);
    CHECK(qnn_net_weight_index(n, 1, 0, 0, &f, &err) == QNN_EINVAL);
    CHECK(n->layers[2].w == n->params + 25 && n->layers[2].g == n->grads + 25);
    CHECK(qnn_net_copy(&c, n, &err) == QNN_OK);
    CHECK(c->params != n->params && memcmp(c->params, n->params, n->nparams * 8) == 0);
    c->params[0] += 1.0;
    CHECK(c->params[0] != n->params[0]);
    /* forward_from after changing one weight of layer 2 equals a full forward */
    qnn_tensor X, T;
    int labels[4];
    make_data(&X, &T, labels, 4);
    CHECK(qnn_net_forward(n, &X, 0, NULL, NULL, &err) == QNN_OK);
    n->params[30] += 0.3;
    CHECK(qnn_net_forward_from(n, 2, 0, NULL, &err) == QNN_OK);
    double a = qnn_tensor_get(&n->output, 3, 1);
    CHECK(qnn_net_forward(n, &X, 0, NULL, NULL, &err) == QNN_OK);
    CHECK_NEAR(a, qnn_tensor_get(&n->output, 3, 1), 1e-15);
    qnn_tensor pre = qnn_net_activation(n, 1); /* pre-activation of dense 0 */
    CHECK(pre.rows == 4 && pre.cols == 5);
    qnn_tensor_release(&X);
    qnn_tensor_release(&T);
    qnn_net_free(c);
    qnn_net_free(n);
}

TEST(adam_three_steps) {
    qnn_optim o;
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    double p = 1.0, g[3] = {0.5, -0.3, 0.2};
    const double want[3] = {0.900000002, 0.8808501989417752, 0.846107430790882};
    for (int t = 0; t < 3; t++) {
        CHECK(qnn_optim_step(&o, &p, &g[t], 1, 0.1, NULL) == QNN_OK);
        CHECK_NEAR(p, want[t], 1e-14);
    }
    qnn_optim_release(&o);
    /* with weight decay (L2 added to the gradient) */
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    o.weight_decay = 0.01;
    p = 1.0;
    const double wwd[3] = {0.9000000019607843, 0.8787012438702138, 0.8417716298330955};
    for (int t = 0; t < 3; t++) {
        qnn_optim_step(&o, &p, &g[t], 1, 0.1, NULL);
        CHECK_NEAR(p, wwd[t], 1e-14);
    }
    qnn_optim_release(&o);
}

TEST(sgd_rmsprop_steps) {
    qnn_optim o;
    qnn_error err;
    double p = 1.0, g = 0.5;
    qnn_optim_defaults(&o, QNN_OPTIM_SGD);
    o.momentum = 0.9;
    qnn_optim_step(&o, &p, &g, 1, 0.1, NULL); /* buf = 0.5, p = 0.95 */
    CHECK_NEAR(p, 0.95, 1e-15);
    qnn_optim_step(&o, &p, &g, 1, 0.1, NULL); /* buf = 0.95, p = 0.855 */
    CHECK_NEAR(p, 0.855, 1e-15);
    qnn_optim_release(&o);
    qnn_optim_defaults(&o, QNN_OPTIM_SGD);
    o.momentum = 0.9, o.nesterov = 1;
    p = 1.0;
    qnn_optim_step(&o, &p, &g, 1, 0.1, NULL); /* buf = .5, d = .5 + .45 = .95 */
    CHECK_NEAR(p, 0.905, 1e-15);
    qnn_optim_release(&o);
    qnn_optim_defaults(&o, QNN_OPTIM_RMSPROP);
    p = 1.0;
    qnn_optim_step(&o, &p, &g, 1, 0.01, NULL); /* v = .01*.25, p -= .01*.5/(.05+eps) */
    CHECK_NEAR(p, 1.0 - 0.01 * 0.5 / (0.05 + 1e-8), 1e-15);
    qnn_optim_release(&o);
    /* validation */
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    o.lr = NAN;
    CHECK(qnn_optim_check(&o, &err) == QNN_EINVAL && strstr(err.msg, "learning rate"));
    CHECK(qnn_optim_step(&o, &p, &g, 1, NAN, &err) == QNN_EINVAL);
    o.lr = 1e-3;
    double p2[2] = {0, 0}, g2[2] = {1, 1};
    CHECK(qnn_optim_step(&o, &p, &g, 1, 0.1, &err) == QNN_OK);
    CHECK(qnn_optim_step(&o, p2, g2, 2, 0.1, &err) == QNN_EINVAL); /* state length changed */
    qnn_optim_release(&o);
}

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

TEST(checkpoints) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/qnn_test_nn_%ld.ckpt", (long)getpid());
    qnn_net *n = make_net(QNN_LAYER_RELU, 1, 1, 21), *m = NULL;
    qnn_error err;
    CHECK(qnn_ckpt_save_net(n, path, &err) == QNN_OK);
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_OK);
    CHECK(m && m->nparams == n->nparams && memcmp(m->params, n->params, n->nparams * 8) == 0);
    CHECK(m && m->nlayers == 4 && m->layers[3].kind == QNN_LAYER_SOFTMAX);
    qnn_net_free(m);
    long size = file_size(path);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = (unsigned char *)malloc((size_t)size);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    /* truncated */
    f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)size - 9, f);
    fclose(f);
    m = NULL;
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_EFORMAT && m == NULL);
    CHECK(strstr(err.msg, "truncated") != NULL);
    /* bit flip in the parameters */
    buf[size / 2] ^= 0x10;
    f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)size, f);
    fclose(f);
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_EFORMAT && m == NULL);
    CHECK(strstr(err.msg, "CRC32") != NULL);
    buf[size / 2] ^= 0x10;
    /* wrong version */
    buf[8] = 7;
    f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)size, f);
    fclose(f);
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_EFORMAT && strstr(err.msg, "version 7"));
    buf[8] = 1;
    /* wrong magic */
    buf[0] = 'X';
    f = fopen(path, "wb");
    fwrite(buf, 1, (size_t)size, f);
    fclose(f);
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_EFORMAT && strstr(err.msg, "magic"));
    CHECK(qnn_ckpt_load_net("/nonexistent/x.ckpt", &m, &err) == QNN_EIO);
    free(buf);
    /* optimizer round trip */
    qnn_optim o, o2;
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    double p[3] = {1, 2, 3}, g[3] = {0.1, 0.2, -0.3};
    qnn_optim_step(&o, p, g, 3, 0.01, NULL);
    CHECK(qnn_ckpt_save_optim(&o, path, &err) == QNN_OK);
    CHECK(qnn_ckpt_load_optim(path, &o2, &err) == QNN_OK);
    CHECK(o2.t == 1 && o2.n == 3 && o2.m[2] == o.m[2] && o2.v[1] == o.v[1]);
    qnn_optim_release(&o2);
    CHECK(qnn_ckpt_load_net(path, &m, &err) == QNN_EFORMAT); /* optimizer file is not a net */
    qnn_optim_release(&o);
    remove(path);
    qnn_net_free(n);
}

TEST(bad_construction) {
    qnn_net *n;
    qnn_error err;
    qnn_net_new(&n, &err);
    CHECK(qnn_net_add_dense(n, 0, 3, 1, NULL, 0, 0, &err) < 0);
    CHECK(qnn_net_add_activation(n, QNN_LAYER_TANH, 0, &err) < 0); /* no width yet */
    CHECK(qnn_net_add_activation(n, 42, 3, &err) < 0);
    CHECK(qnn_net_build(n, 1, &err) == QNN_EINVAL);
    qnn_net_add_dense(n, 3, 4, 1, NULL, 0, 0, &err);
    qnn_net_add_dense(n, 5, 2, 1, NULL, 0, 0, &err);
    CHECK(qnn_net_build(n, 1, &err) == QNN_EINVAL && strstr(err.msg, "expects 5 inputs"));
    qnn_net_free(n);
    qnn_init in;
    CHECK(qnn_init_parse("uniform(-1, 1)", &in, &err) == QNN_OK && in.a == -1 && in.b == 1);
    CHECK(qnn_init_parse("normal(0,0.1)", &in, &err) == QNN_OK && in.kind == QNN_INIT_NORMAL);
    CHECK(qnn_init_parse("uniform(2,1)", &in, &err) == QNN_EINVAL);
    CHECK(qnn_init_parse("gaussian", &in, &err) == QNN_EINVAL && strstr(err.msg, "xavier"));
}

int main(void) {
    RUN(gradients_cross_entropy);
    RUN(dense_single_precision);
    RUN(gradients_mse_and_l2);
    RUN(loss_values);
    RUN(sign_straight_through);
    RUN(weights_views_copy);
    RUN(adam_three_steps);
    RUN(sgd_rmsprop_steps);
    RUN(checkpoints);
    RUN(bad_construction);
    return harness_done();
}
