#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qnn/grover_optim.h"

typedef struct fixture {
    qnn_net *net;
    qnn_tensor X;
    int *y;
} fixture;

/* 6 -> 5 (tanh, bias) -> 4 (sigmoid) -> 3 (softmax), B samples */
static void make_fixture(fixture *f, size_t B, uint64_t seed, int deep) {
    qnn_error e;
    CHECK(qnn_net_new(&f->net, &e) == QNN_OK);
    qnn_init u = {QNN_INIT_UNIFORM, -1.0, 1.0};
    if (deep) {
        CHECK(qnn_net_add_dense(f->net, 6, 5, 1, &u, 0, 0, &e) >= 0);
        CHECK(qnn_net_add_activation(f->net, QNN_LAYER_TANH, 0, &e) >= 0);
        CHECK(qnn_net_add_dense(f->net, 5, 4, 0, &u, 0, 0, &e) >= 0);
        CHECK(qnn_net_add_activation(f->net, QNN_LAYER_SIGMOID, 0, &e) >= 0);
        CHECK(qnn_net_add_dense(f->net, 4, 3, 0, &u, 0, 0, &e) >= 0);
    } else {
        CHECK(qnn_net_add_dense(f->net, 6, 5, 0, &u, 0, 0, &e) >= 0);
        CHECK(qnn_net_add_activation(f->net, QNN_LAYER_TANH, 0, &e) >= 0);
        CHECK(qnn_net_add_dense(f->net, 5, 3, 0, &u, 0, 0, &e) >= 0);
    }
    CHECK(qnn_net_add_activation(f->net, QNN_LAYER_SOFTMAX, 0, &e) >= 0);
    CHECK(qnn_net_build(f->net, seed, &e) == QNN_OK);
    CHECK(qnn_tensor_init(&f->X, B, 6, 2) == QNN_OK);
    f->y = malloc(B * sizeof *f->y);
    qnn_rng r;
    qnn_rng_seed(&r, seed + 100);
    for (size_t s = 0; s < B; s++) {
        double c = 0;
        for (size_t k = 0; k < 6; k++) {
            double v = qnn_rng_normal(&r);
            qnn_tensor_set(&f->X, s, k, v);
            c += v * (k + 1);
        }
        f->y[s] = c < -1 ? 0 : c < 1 ? 1 : 2;
    }
}

static void free_fixture(fixture *f) {
    qnn_net_free(f->net);
    qnn_tensor_release(&f->X);
    free(f->y);
}

static double full_loss(fixture *f, double l2) {
    qnn_targets t = {f->y, NULL};
    double loss = NAN;
    CHECK(qnn_net_loss(f->net, &f->X, QNN_LOSS_CROSS_ENTROPY, &t, l2, 0, NULL, &loss, NULL) == 0);
    return loss;
}

TEST(incremental_equals_full_forward) {
    for (int deep = 0; deep <= 1; deep++) {
        fixture f;
        make_fixture(&f, 37, 3 + deep, deep);
        qnn_gopt_eval *ev;
        qnn_error e;
        CHECK(qnn_gopt_eval_new(&ev, f.net, &f.X, f.y, 1e-3, &e) == QNN_OK);
        CHECK_NEAR(qnn_gopt_eval_loss(ev), full_loss(&f, 1e-3), 1e-12);
        qnn_rng r;
        qnn_rng_seed(&r, 9);
        size_t D = qnn_gopt_eval_nlayers(ev);
        CHECK(D == (size_t)(deep ? 3 : 2));
        double cand[17], inc[17], naive[17];
        for (size_t L = 0; L < D; L++) {
            size_t in, out;
            int bias;
            qnn_gopt_eval_shape(ev, L, &in, &out, &bias);
            for (int t = 0; t < 6; t++) {
                size_t i = qnn_rng_below(&r, in + (bias ? 1 : 0)), j = qnn_rng_below(&r, out);
                double w = *qnn_gopt_eval_weight(ev, L, i, j);
                for (int c = 0; c < 17; c++) cand[c] = w + 2.0 * qnn_rng_normal(&r);
                CHECK(qnn_gopt_eval_candidates(ev, L, i, j, cand, 17, inc, &e) == QNN_OK);
                CHECK(qnn_gopt_eval_candidates_naive(ev, L, i, j, cand, 17, naive, &e) == QNN_OK);
                for (int c = 0; c < 17; c++) CHECK_NEAR(inc[c], naive[c], 1e-12);
                CHECK(*qnn_gopt_eval_weight(ev, L, i, j) == w); /* unchanged */
                /* commit one candidate: cached loss == full forward */
                CHECK(qnn_gopt_eval_set(ev, L, i, j, cand[t], &e) == QNN_OK);
                CHECK_NEAR(qnn_gopt_eval_loss(ev), full_loss(&f, 1e-3), 1e-12);
                CHECK_NEAR(qnn_gopt_eval_loss(ev), inc[t], 1e-12);
            }
        }
        /* bad weights */
        CHECK(qnn_gopt_eval_candidates(ev, D, 0, 0, cand, 3, inc, &e) == QNN_ERANGE);
        CHECK(qnn_gopt_eval_candidates(ev, 0, 99, 0, cand, 3, inc, &e) == QNN_ERANGE);
        qnn_gopt_eval_free(ev);
        free_fixture(&f);
    }
}

static int run_epochs(fixture *f, int epochs, uint64_t seed, double *losses_out) {
    qnn_gopt_eval *ev;
    qnn_error e;
    if (qnn_gopt_eval_new(&ev, f->net, &f->X, f->y, 1e-3, &e)) return -1;
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_gopt_threshold th = {.tol_hidden = 0.05, .tol_output = 0.1, .shots = 256,
                             .form = QNN_GROVER_TEXTBOOK, .rng = &r, .track_circuit = 1};
    int nlos = 0, mono = 1;
    double prev = qnn_gopt_eval_loss(ev);
    for (int ep = 0; ep < epochs; ep++)
        for (size_t L = 0; L < qnn_gopt_eval_nlayers(ev); L++) {
            qnn_gopt_pass_opts o = {.layer = L, .alpha = 0.5, .resolution = L ? 64 : 32,
                                    .select = qnn_gopt_select_threshold, .select_ud = &th};
            qnn_gopt_pass_result res;
            CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_OK);
            CHECK(res.loss_after <= res.loss_before);
            CHECK(res.cost.weights == qnn_gopt_eval_nweights(ev, L));
            CHECK(res.cost.queries >= res.cost.queries_ideal * 256);
            CHECK(res.cost.qubits == (L ? 6 : 5));
            if (res.loss_before < prev - 1e-15) mono = 0;
            prev = res.loss_after;
            if (losses_out) losses_out[nlos++] = res.loss_after;
        }
    CHECK(mono);
    CHECK_NEAR(qnn_gopt_eval_loss(ev), full_loss(f, 1e-3), 1e-12);
    qnn_gopt_eval_free(ev);
    return nlos;
}

TEST(monotone_training_and_reproducible) {
    fixture a, b;
    make_fixture(&a, 40, 5, 1);
    make_fixture(&b, 40, 5, 1);
    double la[16], lb[16];
    double start = full_loss(&a, 1e-3);
    int n = run_epochs(&a, 3, 77, la);
    CHECK(n == 9);
    for (int k = 1; k < n; k++) CHECK(la[k] <= la[k - 1]);
    CHECK(la[n - 1] < start);
    run_epochs(&b, 3, 77, lb);
    CHECK(memcmp(a.net->params, b.net->params, a.net->nparams * sizeof(double)) == 0);
    free_fixture(&a);
    free_fixture(&b);
}

/* The threshold policy with one shot picks a marked candidate with the analytic probability. */
TEST(threshold_pick_probability) {
    double losses[20];
    for (int c = 0; c < 20; c++) losses[c] = 1.0 + 0.1 * c;
    losses[7] = 0.5;
    losses[13] = 0.51; /* within 5% of the minimum */
    qnn_rng r;
    qnn_rng_seed(&r, 3);
    qnn_gopt_threshold th = {.tol_hidden = 0.05, .tol_output = 0.1, .shots = 1, .rng = &r};
    qnn_gopt_weight_info wi = {.N = 20, .n = 5};
    int trials = 20000, hit = 0;
    qnn_gopt_cost cost;
    memset(&cost, 0, sizeof cost);
    for (int t = 0; t < trials; t++) {
        size_t pick;
        CHECK(qnn_gopt_select_threshold(&th, losses, 20, &wi, &pick, &cost, NULL) == QNN_OK);
        hit += pick == 7 || pick == 13;
    }
    /* N = 32 states, M = 2, k = floor(pi/4*4) = 3. Padding outcomes fall back to the arg-min
     * (marked), so P(marked) = p + (1 - p) * 12/30. */
    double p = qnn_grover_p_success_analytic(32, 2, 3);
    double want = p + (1 - p) * 12.0 / 30.0;
    double sd = sqrt(want * (1 - want) / trials);
    CHECK_NEAR((double)hit / trials, want, 5 * sd + 1e-9);
    CHECK(cost.marked == (uint64_t)trials * 2);
    CHECK(cost.queries == (uint64_t)trials * 3);
    /* with 1024 shots the most frequent outcome is marked (p ~ 0.9) */
    th.shots = 1024;
    size_t pick;
    CHECK(qnn_gopt_select_threshold(&th, losses, 20, &wi, &pick, &cost, NULL) == QNN_OK);
    CHECK(pick == 7 || pick == 13);
}

TEST(durr_hoyer_policy_and_bad_input) {
    fixture f;
    make_fixture(&f, 30, 8, 0);
    qnn_gopt_eval *ev;
    qnn_error e;
    CHECK(qnn_gopt_eval_new(&ev, f.net, &f.X, f.y, 0.0, &e) == QNN_OK);
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    qnn_gopt_durr_hoyer dh = {.rng = &r};
    qnn_gopt_pass_opts o = {.layer = 1, .alpha = 0.5, .resolution = 24,
                            .select = qnn_gopt_select_durr_hoyer, .select_ud = &dh};
    qnn_gopt_pass_result res;
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_OK);
    CHECK(res.loss_after < res.loss_before);
    CHECK(res.cost.hits >= res.cost.searches * 9 / 10);
    o.resolution = 1;
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_EINVAL);
    o.resolution = 65537;
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_EINVAL);
    o.resolution = 8;
    o.alpha = NAN;
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_EINVAL);
    o.alpha = 0.5;
    o.layer = 2;
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_ERANGE);
    CHECK(strstr(e.msg, "layer 3") != NULL);
    /* Ctrl-C between weights: stops with the last accepted weights */
    o.layer = 0;
    qnn_interrupt_raise();
    CHECK(qnn_gopt_layer_pass(ev, &o, &res, &e) == QNN_EINTR);
    qnn_interrupt_clear();
    CHECK(res.visited == 0);
    CHECK_NEAR(qnn_gopt_eval_loss(ev), full_loss(&f, 0.0), 1e-12);
    qnn_gopt_eval_free(ev);
    /* unsupported structure: two activations in a row */
    qnn_net *bad;
    CHECK(qnn_net_new(&bad, &e) == QNN_OK);
    qnn_net_add_dense(bad, 6, 3, 0, NULL, 0, 0, &e);
    qnn_net_add_activation(bad, QNN_LAYER_TANH, 0, &e);
    qnn_net_add_activation(bad, QNN_LAYER_TANH, 0, &e);
    CHECK(qnn_net_build(bad, 1, &e) == QNN_OK);
    CHECK(qnn_gopt_eval_new(&ev, bad, &f.X, f.y, 0.0, &e) == QNN_EINVAL);
    qnn_net_free(bad);
    int ybad[30];
    memcpy(ybad, f.y, sizeof ybad);
    ybad[4] = 3;
    CHECK(qnn_gopt_eval_new(&ev, f.net, &f.X, ybad, 0.0, &e) == QNN_EINVAL);
    CHECK(qnn_gopt_eval_new(&ev, f.net, &f.X, f.y, -1.0, &e) == QNN_EINVAL);
    free_fixture(&f);
}

/* Every kernel (BLAS reference path, portable fused kernel, AVX2 and AVX-512 clones where the
 * CPU has them) against full forward passes, on nets with every activation kind, biases, widths
 * above one register block and a sample count that is not a multiple of the 8-row tile. */
static void kernel_case(int variant, size_t B, uint64_t seed) {
    qnn_error e;
    qnn_net *net;
    CHECK(qnn_net_new(&net, &e) == QNN_OK);
    qnn_init u = {QNN_INIT_UNIFORM, -1.0, 1.0};
    /* variant 0: 7-19(tanh)-21(tanh)-13(tanh)-5 softmax, no bias (the Digits shape, smaller)
     * variant 1: 7-6(relu,bias)-9(sigmoid,bias)-4(identity) softmax
     * variant 2: 7-5(sign)-6(tanh,bias)-3(sigmoid): CE on sigmoid outputs, no softmax */
    int acts[3][3] = {{QNN_LAYER_TANH, QNN_LAYER_TANH, QNN_LAYER_TANH},
                      {QNN_LAYER_RELU, QNN_LAYER_SIGMOID, QNN_LAYER_IDENTITY},
                      {QNN_LAYER_SIGN, QNN_LAYER_TANH, QNN_LAYER_SIGMOID}};
    size_t widths[3][4] = {{19, 21, 13, 5}, {6, 9, 4, 0}, {5, 6, 3, 0}};
    size_t in = 7, nd = variant == 0 ? 4 : 3;
    for (size_t d = 0; d < nd; d++) {
        int bias = variant == 1 ? d < 2 : variant == 2 ? d == 1 : 0;
        CHECK(qnn_net_add_dense(net, in, widths[variant][d], bias, &u, 0, 0, &e) >= 0);
        if (d + 1 < nd) CHECK(qnn_net_add_activation(net, acts[variant][d], 0, &e) >= 0);
        in = widths[variant][d];
    }
    if (variant == 2) CHECK(qnn_net_add_activation(net, QNN_LAYER_SIGMOID, 0, &e) >= 0);
    else CHECK(qnn_net_add_activation(net, QNN_LAYER_SOFTMAX, 0, &e) >= 0);
    CHECK(qnn_net_build(net, seed, &e) == QNN_OK);
    size_t K = in;
    qnn_tensor X;
    CHECK(qnn_tensor_init(&X, B, 7, 2) == QNN_OK);
    int *y = malloc(B * sizeof *y);
    qnn_rng r;
    qnn_rng_seed(&r, seed + 1);
    for (size_t s = 0; s < B; s++) {
        for (size_t k = 0; k < 7; k++) { /* zero column 3, zeros in column 5 (skipped rows) */
            double v = 1.5 * qnn_rng_normal(&r);
            qnn_tensor_set(&X, s, k, k == 3 || (k == 5 && s % 3 == 0) ? 0.0 : v);
        }
        y[s] = (int)qnn_rng_below(&r, K);
    }
    qnn_gopt_eval *ev;
    CHECK(qnn_gopt_eval_new(&ev, net, &X, y, 1e-3, &e) == QNN_OK);
    qnn_gopt_kernel ks[] = {QNN_GOPT_KERNEL_BLAS, QNN_GOPT_KERNEL_GENERIC, QNN_GOPT_KERNEL_AVX2,
                            QNN_GOPT_KERNEL_AVX512};
    enum { NC = 70 }; /* more than one 64-candidate chunk */
    double cand[NC], naive[NC], inc[NC];
    size_t D = qnn_gopt_eval_nlayers(ev);
    for (size_t L = 0; L + 1 < D; L++) {
        size_t lin, lout;
        int bias;
        qnn_gopt_eval_shape(ev, L, &lin, &lout, &bias);
        for (int t = 0; t < 5; t++) {
            size_t i = qnn_rng_below(&r, lin + (bias ? 1 : 0)), j = qnn_rng_below(&r, lout);
            if (L == 0 && t < 2) i = t ? 5 : 3; /* inputs with zeros */
            double w = *qnn_gopt_eval_weight(ev, L, i, j);
            for (int c = 0; c < NC; c++) cand[c] = w + 3.0 * qnn_rng_normal(&r);
            CHECK(qnn_gopt_eval_candidates_naive(ev, L, i, j, cand, NC, naive, &e) == QNN_OK);
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                if (!qnn_gopt_kernel_available(ks[q])) continue;
                CHECK(qnn_gopt_eval_set_kernel(ev, ks[q], &e) == QNN_OK);
                CHECK(qnn_gopt_eval_kernel(ev) == ks[q]);
                CHECK(qnn_gopt_eval_candidates(ev, L, i, j, cand, NC, inc, &e) == QNN_OK);
                for (int c = 0; c < NC; c++) CHECK_NEAR(inc[c], naive[c], 1e-12);
            }
            CHECK(qnn_gopt_eval_set_kernel(ev, QNN_GOPT_KERNEL_AUTO, &e) == QNN_OK);
            CHECK(qnn_gopt_eval_set(ev, L, i, j, cand[t], &e) == QNN_OK);
            CHECK_NEAR(qnn_gopt_eval_loss(ev), naive[t], 1e-12);
        }
    }
    CHECK(qnn_gopt_eval_set_kernel(ev, (qnn_gopt_kernel)99, &e) == QNN_EINVAL);
    qnn_gopt_eval_free(ev);
    qnn_net_free(net);
    qnn_tensor_release(&X);
    free(y);
}

TEST(kernels_equal_full_forward) {
    CHECK(qnn_gopt_kernel_available(QNN_GOPT_KERNEL_BLAS));
    CHECK(qnn_gopt_kernel_name(QNN_GOPT_KERNEL_AVX512) != NULL);
    CHECK(qnn_gopt_kernel_name((qnn_gopt_kernel)99) == NULL);
    printf("  kernels available:");
    for (int k = 0; k <= 4; k++)
        if (qnn_gopt_kernel_available((qnn_gopt_kernel)k))
            printf(" %s", qnn_gopt_kernel_name((qnn_gopt_kernel)k));
    printf("\n");
    kernel_case(0, 101, 11);
    kernel_case(1, 37, 12);
    kernel_case(2, 8, 13);
    kernel_case(0, 3, 14);
}

/* The vector kernels of the hot path against libm. */
TEST(vector_kernels) {
    size_t n = 20001;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *t = malloc(n * sizeof *t);
    double maxe = 0, maxt = 0;
    for (size_t i = 0; i < n; i++) x[i] = -700.0 + 1400.0 * (double)i / (double)(n - 1);
    memcpy(y, x, n * sizeof *y);
    qnn_gopt_vexp(y, n);
    for (size_t i = 0; i < n; i++) {
        double r = exp(x[i]), e = fabs(y[i] - r) / r;
        if (e > maxe) maxe = e;
    }
    for (size_t i = 0; i < n; i++) x[i] = -25.0 + 50.0 * (double)i / (double)(n - 1);
    x[0] = 0.0;
    x[1] = -1e-300;
    x[2] = 1e-9;
    memcpy(y, x, n * sizeof *y);
    qnn_gopt_vtanh(y, t, n);
    for (size_t i = 0; i < n; i++) {
        double e = fabs(y[i] - tanh(x[i]));
        if (e > maxt) maxt = e;
    }
    CHECK(maxe < 1e-15);
    CHECK(maxt < 1e-15);
    CHECK(y[0] == 0.0);
    double big[3] = {-1000.0, 1000.0, 0.0};
    qnn_gopt_vexp(big, 3);
    CHECK(big[0] >= 0.0 && big[0] < 1e-300 && isfinite(big[1]) && big[2] == 1.0);
    free(x);
    free(y);
    free(t);
}

int main(void) {
    RUN(vector_kernels);
    RUN(incremental_equals_full_forward);
    RUN(kernels_equal_full_forward);
    RUN(monotone_training_and_reproducible);
    RUN(threshold_pick_probability);
    RUN(durr_hoyer_policy_and_bad_input);
    return harness_done();
}
