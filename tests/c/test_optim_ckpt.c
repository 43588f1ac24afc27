/* Optimizer checkpoints are validated at load (issue 12): settings a constructor would refuse
 * and non-finite or negative moments give an error naming the bad value, instead of a run that
 * turns to NaN a few steps later. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "qnn/checkpoint.h"
#include "qnn/optim.h"

static char path[256];

/* saves o (bypassing the constructor checks) and loads it back; returns the load status */
static int roundtrip(const qnn_optim *o, qnn_error *err) {
    qnn_error e2;
    if (qnn_ckpt_save_optim(o, path, &e2) != QNN_OK) return -1;
    qnn_optim back;
    qnn_error_clear(err);
    int rc = qnn_ckpt_load_optim(path, &back, err);
    if (rc == QNN_OK) qnn_optim_release(&back);
    return rc;
}

TEST(valid_checkpoint_loads) {
    qnn_optim o;
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    double p[3] = {1, 2, 3}, g[3] = {0.1, 0, -0.2};
    CHECK(qnn_optim_step(&o, p, g, 3, o.lr, NULL) == QNN_OK);
    qnn_error err;
    CHECK(roundtrip(&o, &err) == QNN_OK);
    qnn_optim_release(&o);
}

TEST(bad_settings_refused_with_reason) {
    struct {
        int kind;
        const char *field;
        double value;
        const char *msg;
    } cases[] = {
        {QNN_OPTIM_ADAM, "eps", 0.0, "eps must be in (0, 1]"},
        {QNN_OPTIM_RMSPROP, "eps", 0.0, "eps must be in (0, 1]"},
        {QNN_OPTIM_ADAM, "lr", 1e308, "learning rate must be a number in [0, 1e+06]"},
        {QNN_OPTIM_SGD, "lr", INFINITY, "learning rate"},
        {QNN_OPTIM_ADAM, "beta1", -0.5, "betas must be in [0, 1)"},
        {QNN_OPTIM_ADAM, "beta2", 1.0, "betas must be in [0, 1)"},
        {QNN_OPTIM_SGD, "momentum", -1, "momentum"},
        {QNN_OPTIM_SGD, "weight_decay", 1e300, "weight_decay"},
        {QNN_OPTIM_RMSPROP, "alpha", NAN, "alpha"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qnn_optim o;
        qnn_optim_defaults(&o, cases[i].kind);
        if (!strcmp(cases[i].field, "eps")) o.eps = cases[i].value;
        if (!strcmp(cases[i].field, "lr")) o.lr = cases[i].value;
        if (!strcmp(cases[i].field, "beta1")) o.beta1 = cases[i].value;
        if (!strcmp(cases[i].field, "beta2")) o.beta2 = cases[i].value;
        if (!strcmp(cases[i].field, "momentum")) o.momentum = cases[i].value;
        if (!strcmp(cases[i].field, "weight_decay")) o.weight_decay = cases[i].value;
        if (!strcmp(cases[i].field, "alpha")) o.alpha = cases[i].value;
        qnn_error err;
        int rc = roundtrip(&o, &err);
        CHECK(rc == QNN_EFORMAT);
        CHECK(strstr(err.msg, "invalid optimizer settings") != NULL);
        if (!strstr(err.msg, cases[i].msg)) {
            fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, err.msg, cases[i].msg);
            CHECK(0);
        }
        CHECK(qnn_optim_check(&o, NULL) != QNN_OK); /* constructors refuse the same */
    }
}

TEST(bad_moments_refused) {
    qnn_optim o;
    qnn_optim_defaults(&o, QNN_OPTIM_ADAM);
    double p[2] = {1, 2}, g[2] = {0.5, 0.5};
    CHECK(qnn_optim_step(&o, p, g, 2, o.lr, NULL) == QNN_OK);
    qnn_error err;
    o.v[1] = -1.0;
    CHECK(roundtrip(&o, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "second moment[2]") != NULL);
    o.v[1] = 0.0;
    o.m[0] = NAN;
    CHECK(roundtrip(&o, &err) == QNN_EFORMAT);
    CHECK(strstr(err.msg, "first moment[1]") != NULL);
    qnn_optim_release(&o);
}

int main(void) {
    snprintf(path, sizeof path, "/tmp/qnn-optim-ckpt-%ld.ckpt", (long)getpid());
    RUN(valid_checkpoint_loads);
    RUN(bad_settings_refused_with_reason);
    RUN(bad_moments_refused);
    unlink(path);
    return harness_done();
}
