/* First-order optimizers over a flat parameter buffer (PyTorch semantics and defaults).
 *   SGD:     g += wd*p; buf = momentum*buf + (1-dampening)*g (buf = g at the first step);
 *            g = nesterov ? g + momentum*buf : buf (if momentum > 0); p -= lr*g
 *   Adam:    g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *            p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   RMSprop: g += wd*p; v = alpha*v + (1-alpha)*g^2; if momentum: buf = momentum*buf +
 *            g/(sqrt(v)+eps), p -= lr*buf; else p -= lr*g/(sqrt(v)+eps)
 * State buffers are allocated at the first step (length n) and must keep that length. */
#ifndef QNN_OPTIM_H
#define QNN_OPTIM_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"

typedef enum qnn_optim_kind { QNN_OPTIM_SGD = 0, QNN_OPTIM_ADAM, QNN_OPTIM_RMSPROP } qnn_optim_kind;

typedef struct qnn_optim {
    int kind;
    double lr;
    double momentum, dampening; /* SGD, RMSprop (momentum) */
    int nesterov;               /* SGD */
    double weight_decay;
    double beta1, beta2, eps;   /* Adam (eps also RMSprop) */
    double alpha;               /* RMSprop */
    int64_t t;                  /* steps taken */
    size_t n;                   /* state length (0 before the first step) */
    double *m;                  /* SGD momentum buffer / Adam first moment / RMSprop momentum */
    double *v;                  /* Adam second moment / RMSprop square average */
} qnn_optim;

/* Sets defaults for `kind`: SGD lr 0.01 (PyTorch has none), momentum 0; Adam lr 1e-3, betas
 * (0.9, 0.999), eps 1e-8; RMSprop lr 1e-2, alpha 0.99, eps 1e-8. Weight decay 0. */
void qnn_optim_defaults(qnn_optim *o, int kind);
/* Largest learning rate (and weight decay) accepted: larger values overflow parameter updates. */
#define QNN_OPTIM_MAX_LR 1e6
/* Validates the hyper-parameters with a message naming the bad one: lr and weight_decay in
 * [0, 1e6], momentum and betas in [0, 1), dampening in [0, 1], eps in (0, 1] for Adam and
 * RMSprop ([0, 1] for SGD), alpha in [0, 1), step count >= 0. */
int qnn_optim_check(const qnn_optim *o, qnn_error *err);
/* One update of params[0..n) from grads with learning rate lr (>= 0, finite). */
int qnn_optim_step(qnn_optim *o, double *params, const double *grads, size_t n, double lr,
                   qnn_error *err);
void qnn_optim_reset(qnn_optim *o);   /* forget the state (t = 0, buffers freed) */
void qnn_optim_release(qnn_optim *o); /* free buffers */
/* Deep copy of state (dst uninitialised). */
int qnn_optim_copy(qnn_optim *dst, const qnn_optim *src, qnn_error *err);
const char *qnn_optim_name(int kind); /* "sgd", "adam", "rmsprop" */

#endif
