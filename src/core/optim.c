/* SGD (momentum, Nesterov), Adam and RMSprop over flat buffers; see qnn/optim.h. */
#include "qnn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void qnn_optim_defaults(qnn_optim *o, int kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->alpha = 0.99;
    switch (kind) {
    case QNN_OPTIM_ADAM: o->lr = 1e-3; break;
    case QNN_OPTIM_RMSPROP: o->lr = 1e-2; break;
    default: o->lr = 1e-2; break;
    }
}

const char *qnn_optim_name(int kind) {
    switch (kind) {
    case QNN_OPTIM_SGD: return "sgd";
    case QNN_OPTIM_ADAM: return "adam";
    case QNN_OPTIM_RMSPROP: return "rmsprop";
    default: return "?";
    }
}

int qnn_optim_check(const qnn_optim *o, qnn_error *err) {
    if (o->kind < QNN_OPTIM_SGD || o->kind > QNN_OPTIM_RMSPROP)
        return qnn_error_set(err, QNN_EINVAL, "unknown optimizer kind %d", o->kind);
    if (!isfinite(o->lr) || o->lr < 0 || o->lr > QNN_OPTIM_MAX_LR)
        return qnn_error_set(err, QNN_EINVAL, "learning rate must be a number in [0, %g], got %g",
                             QNN_OPTIM_MAX_LR, o->lr);
    if (!isfinite(o->momentum) || o->momentum < 0 || o->momentum >= 1)
        return qnn_error_set(err, QNN_EINVAL, "momentum must be in [0, 1), got %g", o->momentum);
    if (!isfinite(o->dampening) || o->dampening < 0 || o->dampening > 1)
        return qnn_error_set(err, QNN_EINVAL, "dampening must be in [0, 1], got %g", o->dampening);
    if (o->nesterov && (o->momentum <= 0 || o->dampening != 0))
        return qnn_error_set(err, QNN_EINVAL, "nesterov needs momentum > 0 and dampening 0");
    if (!isfinite(o->weight_decay) || o->weight_decay < 0 || o->weight_decay > QNN_OPTIM_MAX_LR)
        return qnn_error_set(err, QNN_EINVAL, "weight_decay must be in [0, %g], got %g",
                             QNN_OPTIM_MAX_LR, o->weight_decay);
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        return qnn_error_set(err, QNN_EINVAL, "betas must be in [0, 1), got (%g, %g)", o->beta1,
                             o->beta2);
    /* Adam and RMSprop divide by sqrt(v) + eps, and v is 0 for a weight whose gradient was 0 */
    int divides = o->kind == QNN_OPTIM_ADAM || o->kind == QNN_OPTIM_RMSPROP;
    if (!isfinite(o->eps) || o->eps < 0 || (divides && !(o->eps > 0)) || o->eps > 1)
        return qnn_error_set(err, QNN_EINVAL, "eps must be in %s1], got %g",
                             divides ? "(0, " : "[0, ", o->eps);
    if (o->t < 0) return qnn_error_set(err, QNN_EINVAL, "step count must be >= 0, got %lld",
                                       (long long)o->t);
    if (!(o->alpha >= 0 && o->alpha < 1))
        return qnn_error_set(err, QNN_EINVAL, "alpha must be in [0, 1), got %g", o->alpha);
    return QNN_OK;
}

static int ensure_state(qnn_optim *o, size_t n, qnn_error *err) {
    if (o->n == n && (o->m || o->v || n == 0)) return QNN_OK;
    if (o->n != 0 && o->n != n)
        return qnn_error_set(err, QNN_EINVAL,
                             "optimizer state is for %zu parameters, got %zu (use a new optimizer "
                             "or opt:reset())",
                             o->n, n);
    size_t bytes;
    if (qnn_mul_size(n ? n : 1, sizeof(double), &bytes))
        return qnn_error_set(err, QNN_ENOMEM, "too many parameters");
    double *m = (double *)qnn_aligned_alloc(64, bytes);
    double *v = (double *)qnn_aligned_alloc(64, bytes);
    if (!m || !v) {
        qnn_aligned_free(m);
        qnn_aligned_free(v);
        return qnn_error_set(err, QNN_ENOMEM, "cannot allocate optimizer state");
    }
    o->m = m;
    o->v = v;
    o->n = n;
    return QNN_OK;
}

int qnn_optim_step(qnn_optim *o, double *restrict p, const double *restrict g, size_t n, double lr,
                   qnn_error *err) {
    if (!isfinite(lr) || lr < 0)
        return qnn_error_set(err, QNN_EINVAL, "learning rate must be a finite number >= 0, got %g",
                             lr);
    int rc = ensure_state(o, n, err);
    if (rc) return rc;
    o->t++;
    const double wd = o->weight_decay;
    double *restrict m = o->m, *restrict v = o->v;
    switch (o->kind) {
    case QNN_OPTIM_SGD: {
        const double mu = o->momentum, damp = o->dampening;
        if (mu == 0) {
#pragma omp simd
            for (size_t k = 0; k < n; k++) p[k] -= lr * (g[k] + wd * p[k]);
        } else {
            int first = o->t == 1;
#pragma omp simd
            for (size_t k = 0; k < n; k++) {
                double gk = g[k] + wd * p[k];
                m[k] = first ? gk : mu * m[k] + (1.0 - damp) * gk;
                double d = o->nesterov ? gk + mu * m[k] : m[k];
                p[k] -= lr * d;
            }
        }
        break;
    }
    case QNN_OPTIM_ADAM: {
        const double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
        double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
        double step = lr / bc1, sbc2 = sqrt(bc2);
#pragma omp simd
        for (size_t k = 0; k < n; k++) {
            double gk = g[k] + wd * p[k];
            m[k] = b1 * m[k] + (1.0 - b1) * gk;
            v[k] = b2 * v[k] + (1.0 - b2) * gk * gk;
            p[k] -= step * m[k] / (sqrt(v[k]) / sbc2 + eps);
        }
        break;
    }
    case QNN_OPTIM_RMSPROP: {
        const double a = o->alpha, eps = o->eps, mu = o->momentum;
#pragma omp simd
        for (size_t k = 0; k < n; k++) {
            double gk = g[k] + wd * p[k];
            v[k] = a * v[k] + (1.0 - a) * gk * gk;
            double d = gk / (sqrt(v[k]) + eps);
            if (mu > 0) {
                m[k] = mu * m[k] + d;
                d = m[k];
            }
            p[k] -= lr * d;
        }
        break;
    }
    default:
        return qnn_error_set(err, QNN_EINVAL, "unknown optimizer kind %d", o->kind);
    }
    return QNN_OK;
}

void qnn_optim_release(qnn_optim *o) {
    qnn_aligned_free(o->m);
    qnn_aligned_free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
}

void qnn_optim_reset(qnn_optim *o) {
    qnn_optim_release(o);
    o->t = 0;
}

int qnn_optim_copy(qnn_optim *dst, const qnn_optim *src, qnn_error *err) {
    *dst = *src;
    dst->m = dst->v = NULL;
    dst->n = 0;
    if (src->n == 0 || !src->m) return QNN_OK;
    int rc = ensure_state(dst, src->n, err);
    if (rc) return rc;
    memcpy(dst->m, src->m, src->n * sizeof(double));
    memcpy(dst->v, src->v, src->n * sizeof(double));
    return QNN_OK;
}
