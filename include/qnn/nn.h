/* Feed-forward networks: a sequence of layers over batches (rows = samples).
 *
 * Memory layout (the contract the method helpers build on):
 *  - ALL parameters of a net live in ONE contiguous, 64-byte aligned double buffer
 *    net->params[0 .. net->nparams); gradients likewise in net->grads (same layout). Each layer
 *    owns the slice [l->offset, l->offset + l->nparams) and has pointers l->w / l->g into it.
 *    Writing net->params directly (Quantum-Train generators) changes the net; nothing caches
 *    derived copies of the weights.
 *  - Dense layer parameters: W is in x out, row-major: W[i*out + j] is the weight from input i
 *    to output j (so Y = X W + b with one dgemm); the bias b[0..out) follows W when present.
 *    qnn_net_weight_index() maps (layer, i, j) to a flat index; i == in addresses the bias.
 *  - The net owns per-layer activation workspaces sized for the largest batch seen so far:
 *    after qnn_net_forward(net, X) on a batch of B rows, qnn_net_activation(net, k) is a
 *    B x dim view of the input of layer k (k = 0: the input X itself, never copied) and
 *    qnn_net_activation(net, nlayers) is the output. With activations as separate layers, the
 *    pre-activation of dense layer k is activation(k + 1) and its post-activation is
 *    activation(k + 2).
 *  - Layers are a small vtable (qnn_layer_vtable) so new kinds (stochastic qubit activations,
 *    ...) plug in without touching this file: forward gets (train, rng) and may sample;
 *    backward gets the layer's input and output and may use any surrogate gradient.
 */
#ifndef QNN_NN_H
#define QNN_NN_H
#include <stddef.h>

#include "qnn/common.h"
#include "qnn/rng.h"
#include "qnn/tensor.h"

typedef struct qnn_layer qnn_layer;
typedef struct qnn_net qnn_net;

/* Built-in kinds; custom layers use QNN_LAYER_CUSTOM and are told apart by vt->name. */
typedef enum qnn_layer_kind {
    QNN_LAYER_DENSE = 0,
    QNN_LAYER_TANH,
    QNN_LAYER_RELU,
    QNN_LAYER_SIGMOID,
    QNN_LAYER_SOFTMAX,
    QNN_LAYER_SIGN,     /* forward sign(z) in {-1, +1} (sign(0) = +1); backward: 1 where |z|<1 */
    QNN_LAYER_IDENTITY,
    QNN_LAYER_CUSTOM = 100
} qnn_layer_kind;

typedef struct qnn_layer_vtable {
    const char *name; /* "dense", "tanh", ...; stored in checkpoints */
    /* out (B x l->out) = layer(in (B x l->in)). train: 1 while training (stochastic layers
     * sample from rng; in eval mode they may sample or use a deterministic value, layer's
     * choice, documented per layer). rng is never NULL. */
    int (*forward)(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train, qnn_rng *rng,
                   qnn_error *err);
    /* Given in/out of the last forward and dout = dLoss/dout (B x out): ADD parameter gradients
     * into l->g (already zeroed by the net) and, if din != NULL, write dLoss/din (B x in).
     * din never aliases dout. */
    int (*backward)(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                    const qnn_tensor *dout, qnn_tensor *din, qnn_error *err);
    /* Initialise l->w (nparams values) from rng; may be NULL (nothing to initialise). */
    int (*init)(qnn_layer *l, qnn_rng *rng, qnn_error *err);
    /* Free l->state; may be NULL. */
    void (*destroy)(qnn_layer *l);
    /* Deep-copy l->state into dst->state (dst is a bitwise copy of l otherwise); may be NULL
     * when state is NULL or needs no copy. */
    int (*copy_state)(qnn_layer *dst, const qnn_layer *src, qnn_error *err);
} qnn_layer_vtable;

/* Weight initialisers for dense layers. */
typedef enum qnn_init_kind {
    QNN_INIT_DEFAULT = 0,  /* PyTorch's: W, b ~ U(-1/sqrt(in), 1/sqrt(in)) */
    QNN_INIT_UNIFORM,      /* W, b ~ U(a, b) */
    QNN_INIT_NORMAL,       /* W, b ~ N(a, b^2)   (a = mean, b = std) */
    QNN_INIT_XAVIER,       /* Glorot uniform: W ~ U(+-sqrt(6/(in+out))), b = 0 */
    QNN_INIT_KAIMING,      /* He uniform: W ~ U(+-sqrt(6/in)), b = 0 */
    QNN_INIT_KAIMING_NORMAL, /* He normal: W ~ N(0, 2/in), b = 0 */
    QNN_INIT_ZERO
} qnn_init_kind;

typedef struct qnn_init {
    int kind;      /* qnn_init_kind */
    double a, b;   /* parameters for UNIFORM / NORMAL */
} qnn_init;

/* Parses "uniform(-1,1)", "normal(0,0.1)", "xavier", "glorot", "kaiming", "kaiming_normal",
 * "default", "zeros". QNN_EINVAL with a message listing the accepted forms. */
int qnn_init_parse(const char *s, qnn_init *out, qnn_error *err);

struct qnn_layer {
    const qnn_layer_vtable *vt;
    int kind;          /* qnn_layer_kind */
    size_t in, out;    /* feature dimensions */
    size_t nparams;    /* slice length in the flat buffers */
    size_t offset;     /* slice start in net->params / net->grads */
    double *w, *g;     /* = net->params + offset, net->grads + offset (NULL if nparams == 0) */
    int has_bias;      /* dense: bias stored after W */
    qnn_init init;     /* dense: initialiser */
    int has_seed;      /* layer has its own init seed (else the net's build stream is used) */
    uint64_t seed;
    double fparam[4];  /* layer-specific numbers saved in checkpoints (e.g. qubit a, g) */
    void *state;       /* layer-specific state (custom layers) */
};

struct qnn_net {
    size_t nlayers, cap_layers;
    qnn_layer *layers;
    int built;             /* params allocated; no more layers may be added */
    size_t nparams;
    double *params, *grads; /* flat buffers, nparams each */
    qnn_rng rng;           /* stream for stochastic layers when forward gets rng == NULL */
    /* workspaces */
    size_t cap_batch;      /* rows the workspaces can hold */
    size_t batch;          /* rows of the last forward */
    qnn_tensor input;      /* view of the last forward's input (not owned) */
    qnn_tensor output;     /* view of the last forward's output (batch rows, not owned) */
    qnn_tensor *acts;      /* nlayers owned workspaces: acts[k] = output of layer k */
    qnn_tensor dbuf[2];    /* backward ping-pong buffers (cap_batch x max dim) */
    qnn_tensor xbatch;     /* gather buffer for mini-batches (see qnn_net_gather) */
    int *ybatch;           /* gathered labels */
    size_t xbatch_cap;
};

/* Dense layers in single precision: fparam[0] = 1 (kept in checkpoints). The matrix products
 * run in float (sgemm) on float copies of W and of the layer input; parameters, gradients and
 * activations stay double. Switching back to double frees the float scratch. */
int qnn_layer_dense_set_single(qnn_layer *l, int single, qnn_error *err);
int qnn_layer_dense_is_single(const qnn_layer *l);

/* ---- construction ---- */
int qnn_net_new(qnn_net **out, qnn_error *err);
void qnn_net_free(qnn_net *net);
/* Bytes of C memory the net holds (parameters, gradients, workspaces; an estimate for
 * layer-private state). */
size_t qnn_net_bytes(const qnn_net *net);
/* Appends a dense layer (in > 0, out > 0). Returns the 0-based layer index or a negative
 * status (-QNN_EINVAL ...). init may be NULL (default). seed: used if has_seed. */
int qnn_net_add_dense(qnn_net *net, size_t in, size_t out, int bias, const qnn_init *init,
                      int has_seed, uint64_t seed, qnn_error *err);
/* Appends an elementwise activation (TANH, RELU, SIGMOID, SOFTMAX, SIGN, IDENTITY) of width
 * dim (0 = take the previous layer's width). Returns the layer index or a negative status. */
int qnn_net_add_activation(qnn_net *net, int kind, size_t dim, qnn_error *err);
/* Extension point: appends a layer with a custom vtable. state is owned by the layer from
 * now on (vt->destroy frees it, also when this call fails). fparam (may be NULL) = 4 numbers
 * stored in checkpoints. Returns the layer index or a negative status. */
int qnn_net_add_layer(qnn_net *net, const qnn_layer_vtable *vt, size_t in, size_t out,
                      size_t nparams, const double *fparam, void *state, qnn_error *err);
/* Allocates the flat buffers and initialises all parameters in layer order (layers with their
 * own seed use it; the others draw from a stream seeded with `seed`). Checks that consecutive
 * widths match. Also seeds net->rng from seed. */
int qnn_net_build(qnn_net *net, uint64_t seed, qnn_error *err);
/* Deep copy (parameters, layer state; not the workspaces). */
int qnn_net_copy(qnn_net **out, const qnn_net *src, qnn_error *err);

/* Input / output widths of a built net. */
static inline size_t qnn_net_in_dim(const qnn_net *n) { return n->nlayers ? n->layers[0].in : 0; }
static inline size_t qnn_net_out_dim(const qnn_net *n) {
    return n->nlayers ? n->layers[n->nlayers - 1].out : 0;
}
static inline double *qnn_net_params(qnn_net *n) { return n->params; }
static inline double *qnn_net_grads(qnn_net *n) { return n->grads; }

/* ---- single weights (Grover's unit) ---- */
/* Flat index of dense weight (i = input, j = output, 0-based) of layer `layer` (index among
 * ALL layers); i == in addresses bias j. For other parameterised layers the index is
 * offset + i * out + j must be < nparams. Returns QNN_ERANGE / QNN_EINVAL on bad input. */
int qnn_net_weight_index(const qnn_net *net, size_t layer, size_t i, size_t j, size_t *flat,
                         qnn_error *err);
/* Index (among all layers) of the k-th parameterised layer (0-based), or -1. */
long qnn_net_param_layer(const qnn_net *net, size_t k);
size_t qnn_net_num_param_layers(const qnn_net *net);

/* ---- forward / loss / backward ---- */
typedef enum qnn_loss_kind { QNN_LOSS_CROSS_ENTROPY = 0, QNN_LOSS_MSE } qnn_loss_kind;

/* Ensures workspaces hold `batch` rows (grows, never shrinks). */
int qnn_net_reserve(qnn_net *net, size_t batch, qnn_error *err);
/* Runs all layers on X (B x in). *out (may be NULL) points at the internal output tensor,
 * valid until the next call. rng NULL -> net->rng. */
int qnn_net_forward(qnn_net *net, const qnn_tensor *X, int train, qnn_rng *rng,
                    const qnn_tensor **out, qnn_error *err);
/* Re-runs layers k .. nlayers-1 on the cached input of layer k from the last forward (after a
 * change to layer k's weights, e.g. one Grover candidate). */
int qnn_net_forward_from(qnn_net *net, size_t k, int train, qnn_rng *rng, qnn_error *err);
/* B x dim view of the input of layer k (k = 0: X) / output of layer k-1; k = nlayers is the
 * output. Valid after a forward. */
qnn_tensor qnn_net_activation(const qnn_net *net, size_t k);

/* Targets: cross-entropy takes labels (0-based class indices, length B; each < out dim);
 * MSE takes a B x out tensor. Losses are means over the batch (MSE: mean over all B*out
 * elements, as PyTorch's MSELoss). Cross-entropy: if the last layer is softmax, the loss is
 * computed from the pre-softmax values with a fused stable log-softmax; otherwise the
 * outputs are treated as logits. l2 >= 0 adds l2 * sum(params^2). */
typedef struct qnn_targets {
    const int *labels;          /* cross entropy */
    const qnn_tensor *values;   /* mse */
} qnn_targets;

/* Loss of the last forward's output (no new forward). */
int qnn_net_loss_last(qnn_net *net, int loss_kind, const qnn_targets *y, double l2, double *loss,
                      qnn_error *err);
/* forward(train) + loss. */
int qnn_net_loss(qnn_net *net, const qnn_tensor *X, int loss_kind, const qnn_targets *y,
                 double l2, int train, qnn_rng *rng, double *loss, qnn_error *err);
/* forward(train = 1) + loss + backward: zeroes net->grads, then fills them with dLoss/dparams.
 * *loss (may be NULL) gets the loss; *correct (may be NULL) the number of argmax hits
 * (cross entropy only). */
int qnn_net_backward(qnn_net *net, const qnn_tensor *X, int loss_kind, const qnn_targets *y,
                     double l2, qnn_rng *rng, double *loss, size_t *correct, qnn_error *err);
/* Backward only, from the last forward's cached activations (dout = dLoss/doutput given,
 * B x out): zeroes grads, fills them; l2 term NOT added. For custom losses (e.g. circuits). */
int qnn_net_backward_from_output(qnn_net *net, const qnn_tensor *dout, qnn_error *err);

/* Evaluation over all rows of X in chunks (eval mode, train = 0): mean loss, argmax accuracy
 * count and optional confusion matrix (K*K ints, row = true class, col = predicted, zeroed
 * here). predict (may be NULL, length B) gets 0-based argmax classes. */
int qnn_net_evaluate(qnn_net *net, const qnn_tensor *X, int loss_kind, const qnn_targets *y,
                     double l2, double *loss, size_t *correct, int *confusion, int *predict,
                     qnn_error *err);

/* Mini-batch gather into the net's batch buffer: rows idx[0..n) of X (and labels) ->
 * *xb (view, valid until next gather) and *yb. labels may be NULL. */
int qnn_net_gather(qnn_net *net, const qnn_tensor *X, const int *labels, const size_t *idx,
                   size_t n, qnn_tensor *xb, const int **yb, qnn_error *err);

/* Sum of squares of all parameters. */
double qnn_net_sqnorm(const qnn_net *net);

/* ---- built-in layer vtables (for custom code that wants to compare/identify) ---- */
extern const qnn_layer_vtable qnn_layer_dense_vt, qnn_layer_tanh_vt, qnn_layer_relu_vt,
    qnn_layer_sigmoid_vt, qnn_layer_softmax_vt, qnn_layer_sign_vt, qnn_layer_identity_vt;
/* vtable of a built-in by name ("dense", "tanh", ...), NULL if unknown. */
const qnn_layer_vtable *qnn_layer_builtin(const char *name, int *kind);

#endif
