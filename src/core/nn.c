/* Networks: construction, flat parameter buffers, workspaces, forward, losses, backward,
 * evaluation and mini-batch gathering. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/nn.h"

#define EVAL_CHUNK 4096

int qnn_net_new(qnn_net **out, qnn_error *err) {
    *out = NULL;
    qnn_net *n = (qnn_net *)calloc(1, sizeof *n);
    if (!n) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    n->cap_layers = 8;
    n->layers = (qnn_layer *)calloc(n->cap_layers, sizeof *n->layers);
    if (!n->layers) {
        free(n);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    qnn_rng_seed(&n->rng, 1);
    *out = n;
    return QNN_OK;
}

static void free_workspaces(qnn_net *n) {
    if (n->acts) {
        for (size_t k = 0; k < n->nlayers; k++) qnn_tensor_release(&n->acts[k]);
        free(n->acts);
        n->acts = NULL;
    }
    qnn_tensor_release(&n->dbuf[0]);
    qnn_tensor_release(&n->dbuf[1]);
    qnn_tensor_release(&n->xbatch);
    free(n->ybatch);
    n->ybatch = NULL;
    n->xbatch_cap = 0;
    n->cap_batch = 0;
    n->batch = 0;
}

void qnn_net_free(qnn_net *n) {
    if (!n) return;
    for (size_t k = 0; k < n->nlayers; k++)
        if (n->layers[k].vt && n->layers[k].vt->destroy) n->layers[k].vt->destroy(&n->layers[k]);
    free(n->layers);
    free_workspaces(n);
    qnn_aligned_free(n->params);
    qnn_aligned_free(n->grads);
    free(n);
}

static size_t tensor_bytes(const qnn_tensor *t) {
    return t->owns && t->data ? t->rows * t->ld * sizeof(double) : 0;
}

size_t qnn_net_bytes(const qnn_net *n) {
    if (!n) return 0;
    size_t b = sizeof *n + n->cap_layers * sizeof(qnn_layer) + 2 * n->nparams * sizeof(double);
    for (size_t k = 0; n->acts && k < n->nlayers; k++) b += tensor_bytes(&n->acts[k]);
    for (size_t k = 0; k < n->nlayers; k++) /* single-precision dense: float W and input */
        if (n->layers[k].kind == QNN_LAYER_DENSE && qnn_layer_dense_is_single(&n->layers[k]))
            b += (n->layers[k].nparams + n->cap_batch * n->layers[k].in) * sizeof(float);
    b += tensor_bytes(&n->dbuf[0]) + tensor_bytes(&n->dbuf[1]) + tensor_bytes(&n->xbatch);
    if (n->ybatch) b += n->xbatch_cap * sizeof(int);
    return b;
}

static int push_layer(qnn_net *n, qnn_layer *l, qnn_error *err) {
    if (n->built) return -qnn_error_set(err, QNN_ESTATE, "net is already built; cannot add layers");
    if (n->nlayers == n->cap_layers) {
        size_t cap = n->cap_layers * 2;
        qnn_layer *nl = (qnn_layer *)realloc(n->layers, cap * sizeof *nl);
        if (!nl) return -qnn_error_set(err, QNN_ENOMEM, "out of memory");
        n->layers = nl;
        n->cap_layers = cap;
    }
    n->layers[n->nlayers] = *l;
    return (int)n->nlayers++;
}

int qnn_net_add_dense(qnn_net *n, size_t in, size_t out, int bias, const qnn_init *init,
                      int has_seed, uint64_t seed, qnn_error *err) {
    if (in == 0 || out == 0 || in > 0x7fffffff || out > 0x7fffffff)
        return -qnn_error_set(err, QNN_EINVAL, "dense: sizes must be in [1, 2^31), got %zu -> %zu",
                              in, out);
    size_t nw;
    if (qnn_mul_size(in, out, &nw) || nw > ((size_t)1 << 40))
        return -qnn_error_set(err, QNN_ENOMEM, "dense %zu -> %zu: too many weights", in, out);
    qnn_layer l;
    memset(&l, 0, sizeof l);
    l.vt = &qnn_layer_dense_vt;
    l.kind = QNN_LAYER_DENSE;
    l.in = in;
    l.out = out;
    l.has_bias = bias ? 1 : 0;
    l.nparams = nw + (bias ? out : 0);
    if (init) l.init = *init;
    l.has_seed = has_seed;
    l.seed = seed;
    return push_layer(n, &l, err);
}

int qnn_net_add_activation(qnn_net *n, int kind, size_t dim, qnn_error *err) {
    const qnn_layer_vtable *vt;
    switch (kind) {
    case QNN_LAYER_TANH: vt = &qnn_layer_tanh_vt; break;
    case QNN_LAYER_RELU: vt = &qnn_layer_relu_vt; break;
    case QNN_LAYER_SIGMOID: vt = &qnn_layer_sigmoid_vt; break;
    case QNN_LAYER_SOFTMAX: vt = &qnn_layer_softmax_vt; break;
    case QNN_LAYER_SIGN: vt = &qnn_layer_sign_vt; break;
    case QNN_LAYER_IDENTITY: vt = &qnn_layer_identity_vt; break;
    default: return -qnn_error_set(err, QNN_EINVAL, "unknown activation kind %d", kind);
    }
    if (dim == 0) {
        if (n->nlayers == 0)
            return -qnn_error_set(err, QNN_EINVAL,
                                  "%s as first layer needs an explicit width", vt->name);
        dim = n->layers[n->nlayers - 1].out;
    }
    qnn_layer l;
    memset(&l, 0, sizeof l);
    l.vt = vt;
    l.kind = kind;
    l.in = l.out = dim;
    return push_layer(n, &l, err);
}

int qnn_net_add_layer(qnn_net *n, const qnn_layer_vtable *vt, size_t in, size_t out,
                      size_t nparams, const double *fparam, void *state, qnn_error *err) {
    qnn_layer l;
    memset(&l, 0, sizeof l);
    l.vt = vt;
    l.kind = QNN_LAYER_CUSTOM;
    l.in = in;
    l.out = out;
    l.nparams = nparams;
    l.state = state;
    if (fparam) memcpy(l.fparam, fparam, sizeof l.fparam);
    if (!vt || !vt->forward || !vt->backward || !vt->name) {
        if (vt && vt->destroy) vt->destroy(&l);
        return -qnn_error_set(err, QNN_EINVAL, "layer vtable needs name, forward and backward");
    }
    if (in == 0 || out == 0 || in > 0x7fffffff || out > 0x7fffffff || nparams > ((size_t)1 << 40)) {
        vt->destroy ? vt->destroy(&l) : (void)0;
        return -qnn_error_set(err, QNN_EINVAL, "%s: sizes out of range (%zu -> %zu, %zu params)",
                              vt->name, in, out, nparams);
    }
    int rc = push_layer(n, &l, err);
    if (rc < 0 && vt->destroy) vt->destroy(&l);
    return rc;
}

static void point_layers(qnn_net *n) {
    for (size_t k = 0; k < n->nlayers; k++) {
        qnn_layer *l = &n->layers[k];
        l->w = l->nparams ? n->params + l->offset : NULL;
        l->g = l->nparams ? n->grads + l->offset : NULL;
    }
}

static int alloc_params(qnn_net *n, qnn_error *err) {
    size_t total = 0;
    for (size_t k = 0; k < n->nlayers; k++) {
        n->layers[k].offset = total;
        total += n->layers[k].nparams;
    }
    size_t bytes;
    if (qnn_mul_size(total, sizeof(double), &bytes) || bytes > qnn_max_bytes())
        return qnn_error_set(err, QNN_ENOMEM, "%zu parameters exceed the memory limit", total);
    n->params = (double *)qnn_aligned_alloc(64, bytes);
    n->grads = (double *)qnn_aligned_alloc(64, bytes);
    if (!n->params || !n->grads) {
        qnn_aligned_free(n->params);
        qnn_aligned_free(n->grads);
        n->params = n->grads = NULL;
        return qnn_error_set(err, QNN_ENOMEM, "cannot allocate %zu parameters", total);
    }
    n->nparams = total;
    point_layers(n);
    return QNN_OK;
}

int qnn_net_build(qnn_net *n, uint64_t seed, qnn_error *err) {
    if (n->built) return qnn_error_set(err, QNN_ESTATE, "net is already built");
    if (n->nlayers == 0) return qnn_error_set(err, QNN_EINVAL, "a net needs at least one layer");
    for (size_t k = 1; k < n->nlayers; k++)
        if (n->layers[k].in != n->layers[k - 1].out)
            return qnn_error_set(err, QNN_EINVAL,
                                 "layer %zu (%s) expects %zu inputs but layer %zu (%s) gives %zu",
                                 k + 1, n->layers[k].vt->name, n->layers[k].in, k,
                                 n->layers[k - 1].vt->name, n->layers[k - 1].out);
    int rc = alloc_params(n, err);
    if (rc) return rc;
    qnn_rng build;
    qnn_rng_seed(&build, seed);
    for (size_t k = 0; k < n->nlayers; k++) {
        qnn_layer *l = &n->layers[k];
        if (!l->vt->init || l->nparams == 0) continue;
        qnn_rng own;
        qnn_rng *r = &build;
        if (l->has_seed) {
            qnn_rng_seed(&own, l->seed);
            r = &own;
        }
        rc = l->vt->init(l, r, err);
        if (rc) return rc;
    }
    qnn_rng_split(&build, 0x5eed, &n->rng);
    n->built = 1;
    return QNN_OK;
}

int qnn_net_copy(qnn_net **out, const qnn_net *src, qnn_error *err) {
    *out = NULL;
    if (!src->built) return qnn_error_set(err, QNN_ESTATE, "cannot copy a net that is not built");
    qnn_net *n = (qnn_net *)calloc(1, sizeof *n);
    if (!n) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    n->layers = (qnn_layer *)calloc(src->nlayers ? src->nlayers : 1, sizeof *n->layers);
    if (!n->layers) {
        free(n);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    n->cap_layers = src->nlayers ? src->nlayers : 1;
    n->rng = src->rng;
    for (size_t k = 0; k < src->nlayers; k++) {
        n->layers[k] = src->layers[k];
        n->layers[k].state = NULL;
        n->nlayers = k + 1;
        if (src->layers[k].state) {
            if (!src->layers[k].vt->copy_state) {
                n->nlayers = k; /* nothing to destroy for this one */
                qnn_net_free(n);
                return qnn_error_set(err, QNN_EINVAL, "layer %s cannot be copied",
                                     src->layers[k].vt->name);
            }
            int rc = src->layers[k].vt->copy_state(&n->layers[k], &src->layers[k], err);
            if (rc) {
                n->layers[k].state = NULL;
                n->nlayers = k;
                qnn_net_free(n);
                return rc;
            }
        }
    }
    int rc = alloc_params(n, err);
    if (rc) {
        qnn_net_free(n);
        return rc;
    }
    memcpy(n->params, src->params, src->nparams * sizeof(double));
    n->built = 1;
    *out = n;
    return QNN_OK;
}

/* ---------------- single weights ---------------- */
size_t qnn_net_num_param_layers(const qnn_net *n) {
    size_t c = 0;
    for (size_t k = 0; k < n->nlayers; k++) c += n->layers[k].nparams > 0;
    return c;
}

long qnn_net_param_layer(const qnn_net *n, size_t want) {
    size_t c = 0;
    for (size_t k = 0; k < n->nlayers; k++)
        if (n->layers[k].nparams > 0) {
            if (c == want) return (long)k;
            c++;
        }
    return -1;
}

int qnn_net_weight_index(const qnn_net *n, size_t layer, size_t i, size_t j, size_t *flat,
                         qnn_error *err) {
    if (!n->built) return qnn_error_set(err, QNN_ESTATE, "net is not built");
    if (layer >= n->nlayers)
        return qnn_error_set(err, QNN_ERANGE, "layer %zu out of range [1, %zu]", layer + 1,
                             n->nlayers);
    const qnn_layer *l = &n->layers[layer];
    if (l->nparams == 0)
        return qnn_error_set(err, QNN_EINVAL, "layer %zu (%s) has no parameters", layer + 1,
                             l->vt->name);
    size_t rows = l->kind == QNN_LAYER_DENSE ? l->in + (size_t)l->has_bias : l->nparams / (l->out ? l->out : 1);
    if (i >= rows || j >= l->out)
        return qnn_error_set(err, QNN_ERANGE,
                             "weight (%zu, %zu) out of range for layer %zu (%s): i in [1, %zu], "
                             "j in [1, %zu]%s",
                             i + 1, j + 1, layer + 1, l->vt->name, rows, l->out,
                             l->kind == QNN_LAYER_DENSE && l->has_bias ? " (i = in+1: bias)" : "");
    size_t idx = i * l->out + j;
    if (idx >= l->nparams)
        return qnn_error_set(err, QNN_ERANGE, "weight index out of range for layer %zu",
                             layer + 1);
    *flat = l->offset + idx;
    return QNN_OK;
}

/* ---------------- workspaces ---------------- */
static size_t max_dim(const qnn_net *n) {
    size_t m = 1;
    for (size_t k = 0; k < n->nlayers; k++) {
        if (n->layers[k].in > m) m = n->layers[k].in;
        if (n->layers[k].out > m) m = n->layers[k].out;
    }
    return m;
}

int qnn_net_reserve(qnn_net *n, size_t batch, qnn_error *err) {
    if (!n->built) return qnn_error_set(err, QNN_ESTATE, "net is not built");
    if (batch <= n->cap_batch && n->acts) return QNN_OK;
    if (batch < 1) batch = 1;
    size_t cap = n->cap_batch ? n->cap_batch : 1;
    while (cap < batch) cap = cap * 2 < batch ? cap * 2 : batch;
    qnn_tensor *acts = (qnn_tensor *)calloc(n->nlayers, sizeof *acts);
    if (!acts) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    qnn_tensor d0, d1;
    memset(&d0, 0, sizeof d0);
    memset(&d1, 0, sizeof d1);
    int rc = QNN_OK;
    for (size_t k = 0; k < n->nlayers && !rc; k++) rc = qnn_tensor_init(&acts[k], cap, n->layers[k].out, 2);
    size_t md = max_dim(n);
    if (!rc) rc = qnn_tensor_init(&d0, cap, md, 2);
    if (!rc) rc = qnn_tensor_init(&d1, cap, md, 2);
    if (rc) {
        for (size_t k = 0; k < n->nlayers; k++) qnn_tensor_release(&acts[k]);
        free(acts);
        qnn_tensor_release(&d0);
        qnn_tensor_release(&d1);
        return qnn_error_set(err, QNN_ENOMEM, "cannot allocate workspaces for a batch of %zu",
                             batch);
    }
    if (n->acts) {
        for (size_t k = 0; k < n->nlayers; k++) qnn_tensor_release(&n->acts[k]);
        free(n->acts);
    }
    qnn_tensor_release(&n->dbuf[0]);
    qnn_tensor_release(&n->dbuf[1]);
    n->acts = acts;
    n->dbuf[0] = d0;
    n->dbuf[1] = d1;
    n->cap_batch = cap;
    n->batch = 0;
    return QNN_OK;
}

qnn_tensor qnn_net_activation(const qnn_net *n, size_t k) {
    qnn_tensor v;
    memset(&v, 0, sizeof v);
    if (k == 0) return n->input;
    if (k > n->nlayers || !n->acts) return v;
    const qnn_tensor *a = &n->acts[k - 1];
    qnn_tensor_wrap(&v, a->data, n->batch, a->cols, a->ld, 2);
    return v;
}

static int run_layers(qnn_net *n, size_t from, int train, qnn_rng *rng, qnn_error *err) {
    if (!rng) rng = &n->rng;
    for (size_t k = from; k < n->nlayers; k++) {
        qnn_layer *l = &n->layers[k];
        qnn_tensor in = qnn_net_activation(n, k), out = qnn_net_activation(n, k + 1);
        int rc = l->vt->forward(l, &in, &out, train, rng, err);
        if (rc) return rc;
    }
    return QNN_OK;
}

static int check_input(const qnn_net *n, const qnn_tensor *X, qnn_error *err) {
    char s[48];
    if (!n->built) return qnn_error_set(err, QNN_ESTATE, "net is not built");
    size_t in = qnn_net_in_dim(n);
    if (X->cols != in)
        return qnn_error_set(err, QNN_EINVAL, "input shape mismatch: got %s, net expects Bx%zu",
                             qnn_tensor_shape_str(X, s, sizeof s), in);
    return QNN_OK;
}

int qnn_net_forward(qnn_net *n, const qnn_tensor *X, int train, qnn_rng *rng,
                    const qnn_tensor **out, qnn_error *err) {
    int rc = check_input(n, X, err);
    if (rc) return rc;
    rc = qnn_net_reserve(n, X->rows, err);
    if (rc) return rc;
    qnn_tensor_wrap(&n->input, X->data, X->rows, X->cols, X->ld, 2);
    n->batch = X->rows;
    rc = run_layers(n, 0, train, rng, err);
    if (rc) return rc;
    n->output = qnn_net_activation(n, n->nlayers);
    if (out) *out = &n->output;
    return QNN_OK;
}

int qnn_net_forward_from(qnn_net *n, size_t k, int train, qnn_rng *rng, qnn_error *err) {
    if (!n->built || !n->acts || k >= n->nlayers)
        return qnn_error_set(err, QNN_ESTATE, "forward_from: no previous forward or bad layer");
    int rc = run_layers(n, k, train, rng, err);
    n->output = qnn_net_activation(n, n->nlayers);
    return rc;
}

/* ---------------- losses ---------------- */
double qnn_net_sqnorm(const qnn_net *n) {
    double s = 0.0;
    for (size_t k = 0; k < n->nparams; k++) s += n->params[k] * n->params[k];
    return s;
}

static int check_targets(const qnn_net *n, int kind, const qnn_targets *y, size_t B,
                         qnn_error *err) {
    size_t K = qnn_net_out_dim(n);
    char s[48];
    if (kind == QNN_LOSS_CROSS_ENTROPY) {
        if (!y || !y->labels) {
            if (B == 0) return QNN_OK;
            return qnn_error_set(err, QNN_EINVAL, "cross_entropy needs class labels");
        }
        for (size_t i = 0; i < B; i++)
            if (y->labels[i] < 0 || (size_t)y->labels[i] >= K)
                return qnn_error_set(err, QNN_ERANGE,
                                     "label %d of sample %zu out of range [1, %zu]",
                                     y->labels[i] + 1, i + 1, K);
    } else if (kind == QNN_LOSS_MSE) {
        if (!y || !y->values)
            return qnn_error_set(err, QNN_EINVAL, "mse needs a target tensor");
        if (y->values->rows != B || y->values->cols != K)
            return qnn_error_set(err, QNN_EINVAL, "mse targets shape mismatch: got %s, need %zux%zu",
                                 qnn_tensor_shape_str(y->values, s, sizeof s), B, K);
    } else {
        return qnn_error_set(err, QNN_EINVAL, "unknown loss kind %d", kind);
    }
    return QNN_OK;
}

static int ends_in_softmax(const qnn_net *n) {
    return n->nlayers > 1 && n->layers[n->nlayers - 1].kind == QNN_LAYER_SOFTMAX;
}

/* sum over the batch of the per-sample loss (no l2), plus argmax hits */
static double batch_loss_sum(const qnn_net *n, int kind, const qnn_targets *y, size_t *correct) {
    size_t B = n->batch, K = qnn_net_out_dim(n);
    qnn_tensor out = qnn_net_activation(n, n->nlayers);
    double total = 0.0;
    size_t hits = 0;
    if (kind == QNN_LOSS_CROSS_ENTROPY) {
        qnn_tensor z = ends_in_softmax(n) ? qnn_net_activation(n, n->nlayers - 1) : out;
        for (size_t i = 0; i < B; i++) {
            const double *zr = qnn_tensor_row(&z, i);
            double m = -INFINITY, s = 0.0;
            size_t am = 0;
            for (size_t j = 0; j < K; j++)
                if (zr[j] > m) m = zr[j], am = j;
            for (size_t j = 0; j < K; j++) s += exp(zr[j] - m);
            total += m + log(s) - zr[y->labels[i]];
            hits += am == (size_t)y->labels[i];
        }
    } else {
        for (size_t i = 0; i < B; i++) {
            const double *o = qnn_tensor_row(&out, i), *t = qnn_tensor_row(y->values, i);
            for (size_t j = 0; j < K; j++) total += (o[j] - t[j]) * (o[j] - t[j]);
        }
        total /= (double)K;
        if (y && y->labels) {
            for (size_t i = 0; i < B; i++) {
                const double *o = qnn_tensor_row(&out, i);
                size_t am = 0;
                for (size_t j = 1; j < K; j++)
                    if (o[j] > o[am]) am = j;
                hits += am == (size_t)y->labels[i];
            }
        }
    }
    if (correct) *correct = hits;
    return total;
}

int qnn_net_loss_last(qnn_net *n, int kind, const qnn_targets *y, double l2, double *loss,
                      qnn_error *err) {
    if (!n->built || !n->acts)
        return qnn_error_set(err, QNN_ESTATE, "loss: no forward pass yet");
    if (!(l2 >= 0) || !isfinite(l2)) return qnn_error_set(err, QNN_EINVAL, "l2 must be >= 0");
    int rc = check_targets(n, kind, y, n->batch, err);
    if (rc) return rc;
    double s = batch_loss_sum(n, kind, y, NULL);
    *loss = (n->batch ? s / (double)n->batch : NAN) + (l2 > 0 ? l2 * qnn_net_sqnorm(n) : 0.0);
    return QNN_OK;
}

int qnn_net_loss(qnn_net *n, const qnn_tensor *X, int kind, const qnn_targets *y, double l2,
                 int train, qnn_rng *rng, double *loss, qnn_error *err) {
    int rc = check_input(n, X, err);
    if (rc) return rc;
    rc = check_targets(n, kind, y, X->rows, err);
    if (rc) return rc;
    rc = qnn_net_forward(n, X, train, rng, NULL, err);
    if (rc) return rc;
    return qnn_net_loss_last(n, kind, y, l2, loss, err);
}

/* backward through layers start..0 with dL/d(output of layer start) in dbuf[cur] */
static int run_backward(qnn_net *n, long start, int cur, qnn_error *err) {
    size_t B = n->batch;
    for (long k = start; k >= 0; k--) {
        qnn_layer *l = &n->layers[k];
        qnn_tensor in = qnn_net_activation(n, (size_t)k), out = qnn_net_activation(n, (size_t)k + 1);
        qnn_tensor dout, din;
        qnn_tensor_wrap(&dout, n->dbuf[cur].data, B, l->out, l->out, 2);
        qnn_tensor_wrap(&din, n->dbuf[1 - cur].data, B, l->in, l->in, 2);
        int need_din = k > 0; /* the first layer's input gradient is never needed */
        int rc = l->vt->backward(l, &in, &out, &dout, need_din ? &din : NULL, err);
        if (rc) return rc;
        if (k > 0) {
            /* stop early when no earlier layer has parameters */
            int any = 0;
            for (long q = 0; q < k; q++) any |= n->layers[q].nparams > 0;
            if (!any) break;
        }
        cur = 1 - cur;
    }
    return QNN_OK;
}

int qnn_net_backward(qnn_net *n, const qnn_tensor *X, int kind, const qnn_targets *y, double l2,
                     qnn_rng *rng, double *loss, size_t *correct, qnn_error *err) {
    if (!(l2 >= 0) || !isfinite(l2)) return qnn_error_set(err, QNN_EINVAL, "l2 must be >= 0");
    int rc = check_input(n, X, err);
    if (rc) return rc;
    rc = check_targets(n, kind, y, X->rows, err);
    if (rc) return rc;
    rc = qnn_net_forward(n, X, 1, rng, NULL, err);
    if (rc) return rc;
    size_t B = n->batch, K = qnn_net_out_dim(n);
    memset(n->grads, 0, n->nparams * sizeof(double));
    double s = batch_loss_sum(n, kind, y, correct);
    if (loss) *loss = (B ? s / (double)B : NAN) + (l2 > 0 ? l2 * qnn_net_sqnorm(n) : 0.0);
    if (B > 0) {
        qnn_tensor out = qnn_net_activation(n, n->nlayers);
        double *d = n->dbuf[0].data; /* B x K contiguous */
        long start = (long)n->nlayers - 1;
        double invB = 1.0 / (double)B;
        if (kind == QNN_LOSS_CROSS_ENTROPY) {
            if (ends_in_softmax(n)) {
                /* fused softmax + NLL: dL/dz = (p - onehot) / B */
                for (size_t i = 0; i < B; i++) {
                    const double *p = qnn_tensor_row(&out, i);
                    double *di = d + i * K;
                    for (size_t j = 0; j < K; j++) di[j] = p[j] * invB;
                    di[y->labels[i]] -= invB;
                }
                start--;
            } else {
                for (size_t i = 0; i < B; i++) {
                    const double *z = qnn_tensor_row(&out, i);
                    double *di = d + i * K;
                    double m = -INFINITY, sum = 0.0;
                    for (size_t j = 0; j < K; j++)
                        if (z[j] > m) m = z[j];
                    for (size_t j = 0; j < K; j++) sum += (di[j] = exp(z[j] - m));
                    for (size_t j = 0; j < K; j++) di[j] = di[j] / sum * invB;
                    di[y->labels[i]] -= invB;
                }
            }
        } else {
            double c = 2.0 / ((double)B * (double)K);
            for (size_t i = 0; i < B; i++) {
                const double *o = qnn_tensor_row(&out, i), *t = qnn_tensor_row(y->values, i);
                double *di = d + i * K;
                for (size_t j = 0; j < K; j++) di[j] = c * (o[j] - t[j]);
            }
        }
        if (start >= 0) {
            rc = run_backward(n, start, 0, err);
            if (rc) return rc;
        }
    }
    if (l2 > 0)
        for (size_t k = 0; k < n->nparams; k++) n->grads[k] += 2.0 * l2 * n->params[k];
    return QNN_OK;
}

int qnn_net_backward_from_output(qnn_net *n, const qnn_tensor *dout, qnn_error *err) {
    char s[48];
    if (!n->built || !n->acts) return qnn_error_set(err, QNN_ESTATE, "backward: no forward pass yet");
    size_t B = n->batch, K = qnn_net_out_dim(n);
    if (dout->rows != B || dout->cols != K)
        return qnn_error_set(err, QNN_EINVAL, "output gradient shape mismatch: got %s, need %zux%zu",
                             qnn_tensor_shape_str(dout, s, sizeof s), B, K);
    memset(n->grads, 0, n->nparams * sizeof(double));
    for (size_t i = 0; i < B; i++)
        memcpy(n->dbuf[0].data + i * K, qnn_tensor_row(dout, i), K * sizeof(double));
    if (B == 0) return QNN_OK;
    return run_backward(n, (long)n->nlayers - 1, 0, err);
}

/* ---------------- evaluation ---------------- */
int qnn_net_evaluate(qnn_net *n, const qnn_tensor *X, int kind, const qnn_targets *y, double l2,
                     double *loss, size_t *correct, int *confusion, int *predict, qnn_error *err) {
    if (!(l2 >= 0) || !isfinite(l2)) return qnn_error_set(err, QNN_EINVAL, "l2 must be >= 0");
    int rc = check_input(n, X, err);
    if (rc) return rc;
    int have_y = y && (kind == QNN_LOSS_CROSS_ENTROPY ? y->labels != NULL : y->values != NULL);
    if (have_y) {
        rc = check_targets(n, kind, y, X->rows, err);
        if (rc) return rc;
    }
    size_t K = qnn_net_out_dim(n), B = X->rows;
    if (confusion) memset(confusion, 0, K * K * sizeof(int));
    double total = 0.0;
    size_t hits = 0;
    for (size_t r0 = 0; r0 < B; r0 += EVAL_CHUNK) {
        size_t m = B - r0 < EVAL_CHUNK ? B - r0 : EVAL_CHUNK;
        qnn_tensor chunk;
        qnn_tensor_rows_view(&chunk, X, r0, m);
        rc = qnn_net_forward(n, &chunk, 0, NULL, NULL, err);
        if (rc) return rc;
        qnn_targets yc = {NULL, NULL};
        qnn_tensor tv;
        if (have_y) {
            if (y->labels) yc.labels = y->labels + r0;
            if (y->values) {
                qnn_tensor_rows_view(&tv, y->values, r0, m);
                yc.values = &tv;
            }
            size_t h = 0;
            total += batch_loss_sum(n, kind, &yc, &h);
            hits += h;
        }
        qnn_tensor out = qnn_net_activation(n, n->nlayers);
        for (size_t i = 0; i < m; i++) {
            const double *o = qnn_tensor_row(&out, i);
            size_t am = 0;
            for (size_t j = 1; j < K; j++)
                if (o[j] > o[am]) am = j;
            if (predict) predict[r0 + i] = (int)am;
            if (confusion && y && y->labels) confusion[(size_t)y->labels[r0 + i] * K + am]++;
        }
        rc = qnn_progress_step(NULL, 0, 0);
        if (rc) return rc;
    }
    if (loss) *loss = (B && have_y ? total / (double)B : NAN) + (l2 > 0 ? l2 * qnn_net_sqnorm(n) : 0.0);
    if (correct) *correct = hits;
    return QNN_OK;
}

int qnn_net_gather(qnn_net *n, const qnn_tensor *X, const int *labels, const size_t *idx,
                   size_t cnt, qnn_tensor *xb, const int **yb, qnn_error *err) {
    int rc = check_input(n, X, err);
    if (rc) return rc;
    if (cnt > n->xbatch_cap || n->xbatch.cols != X->cols) {
        qnn_tensor t;
        rc = qnn_tensor_init(&t, cnt ? cnt : 1, X->cols, 2);
        if (rc) return qnn_error_set(err, rc, "cannot allocate a batch of %zu rows", cnt);
        int *yl = (int *)malloc((cnt ? cnt : 1) * sizeof(int));
        if (!yl) {
            qnn_tensor_release(&t);
            return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        }
        qnn_tensor_release(&n->xbatch);
        free(n->ybatch);
        n->xbatch = t;
        n->ybatch = yl;
        n->xbatch_cap = cnt ? cnt : 1;
    }
    rc = qnn_tensor_gather_rows(&n->xbatch, X, idx, cnt, err);
    if (rc) return rc;
    if (labels) {
        for (size_t k = 0; k < cnt; k++) n->ybatch[k] = labels[idx[k]];
    }
    qnn_tensor_wrap(xb, n->xbatch.data, cnt, X->cols, n->xbatch.ld, 2);
    if (yb) *yb = labels ? n->ybatch : NULL;
    return QNN_OK;
}
