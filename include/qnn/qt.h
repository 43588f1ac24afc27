/* Quantum-Train (QT) parameter generator with a differentiable architecture-search ensemble
 * (DiffQAS-QT, arXiv 2505.09653). No Lua here.
 *
 * A generator makes all p weights of a classical network from quantum-circuit probabilities on
 * n = max(1, ceil(log2 p)) qubits (p <= 2^30):
 *   1. candidate circuits C_1..C_m (m >= 1) share ONE parameter vector Theta (depth * n angles,
 *      named "L<layer>_q<qubit>", layer 1-based, qubit 0-based); each candidate's circuit may use
 *      any subset of these names (matched by name when the candidate is added). With
 *      angles = QNN_QT_ANGLES_PER_CANDIDATE each candidate gets its OWN copy of these depth * n
 *      angles instead (Theta = m blocks, candidate j's block at j * depth * n; same names);
 *   2. ensemble probabilities P_i = sum_j s_j p_j,i(Theta) for the first p basis states, with
 *      s = softmax(w) (normalize = SOFTMAX) or s = w (NONE); m == 1: no structural weight, s = 1;
 *   3. post-processing (the base method's code): u_i = beta * tanh(gamma * 2^(n-1) * P_i),
 *      x_i = u_i^alpha, xt_i = x_i - mean(x)   (d x/d u is taken as 0 where u_i == 0);
 *   4. mapping model M: input of basis state i = (b_0, ..., b_{n-1}, xt_i) with b_k = +1 if bit k
 *      of i is set else -1 (qubit 0 = least significant bit); default a linear map n+1 -> 1,
 *      optionally hidden layers (dense + activation), last layer linear; y_i = M(input_i);
 *   5. generated weights W_i = y_i - mean(y), i = 0..p-1.
 *
 * Trainable vector (one flat buffer, this order): Theta (ntheta = depth * n, or m * depth * n
 * per candidate) | structural
 * weights w (m values; none when m == 1) | mapping parameters (per dense layer: W (in x out,
 * row-major, W[i*out+j] from input i to output j) then b (out)).
 *
 * Backward: given g = dL/dW (p values, e.g. a target net's net->grads) it fills the gradient of
 * the whole trainable vector: through the mean subtraction and M (mapping gradients), the
 * post-processing (-> dL/dP), the ensemble (-> dL/dw) and, per candidate, qnn_circuit_vjp with
 * dprobs = s_j dL/dP (zero beyond p) (-> dL/dTheta, summed over candidates).
 *
 * Memory: candidate circuits + m * p cached probabilities + per worker thread 2 or 3 state-sized
 * buffers (2^n) + the mapping model's activations (p x hidden). Never 2^n x 2^n.
 * Candidates are simulated in parallel (OpenMP, one candidate per thread, each single-threaded)
 * when m > 1; with m == 1 the state-vector kernels themselves use the threads. */
#ifndef QNN_QT_H
#define QNN_QT_H
#include <stddef.h>

#include "qnn/circuit.h"
#include "qnn/common.h"
#include "qnn/rng.h"

#define QNN_QT_MAX_WEIGHTS ((size_t)1 << 30)
#define QNN_QT_MAX_HIDDEN 8

enum { QNN_QT_SOFTMAX = 0, QNN_QT_NONE = 1 };
enum { QNN_QT_ACT_RELU = 0, QNN_QT_ACT_TANH = 1, QNN_QT_ACT_SIGMOID = 2 };
enum { QNN_QT_ANGLES_SHARED = 0, QNN_QT_ANGLES_PER_CANDIDATE = 1 };

typedef struct qnn_qt_config {
    size_t ntarget;   /* p: number of generated weights, 1 .. 2^30 */
    int depth;        /* layers (>= 1): Theta has depth * n angles */
    int normalize;    /* QNN_QT_SOFTMAX or QNN_QT_NONE */
    double gamma, beta, alpha; /* post-processing (defaults 0.1, 0.8, 0.3); all finite, > 0 */
    int nhidden;      /* mapping hidden layers, 0 .. QNN_QT_MAX_HIDDEN */
    int hidden[QNN_QT_MAX_HIDDEN]; /* widths, each 1 .. 4096 */
    int activation;   /* hidden activation: QNN_QT_ACT_* */
    int angles;       /* QNN_QT_ANGLES_SHARED (default: one Theta for all candidates) or
                       * QNN_QT_ANGLES_PER_CANDIDATE (one Theta block per candidate) */
} qnn_qt_config;

typedef struct qnn_qt qnn_qt;

/* Fills the defaults above (ntarget = 1, depth = 1, softmax, linear mapping, relu). */
void qnn_qt_config_defaults(qnn_qt_config *cfg);
/* Qubits for p weights: max(1, ceil(log2 p)); 0 if p == 0 or p > 2^30. */
int qnn_qt_qubits_for(size_t p);

/* New generator without candidates. Checks the config (QNN_EINVAL with a message naming the
 * field: target size, depth, gamma/beta/alpha, hidden widths). */
int qnn_qt_new(qnn_qt **out, const qnn_qt_config *cfg, qnn_error *err);
void qnn_qt_free(qnn_qt *qt);
/* C memory held (parameters, caches, cached output states; approximate). */
size_t qnn_qt_bytes(const qnn_qt *qt);

int qnn_qt_nqubits(const qnn_qt *qt);
int qnn_qt_depth(const qnn_qt *qt);
size_t qnn_qt_ntarget(const qnn_qt *qt);
/* Name of Theta entry i ("L3_q0"), i < qnn_qt_ntheta (per candidate: the name within its
 * candidate's block, i mod depth * n). */
const char *qnn_qt_theta_name(const qnn_qt *qt, size_t i);
/* QNN_QT_ANGLES_SHARED or QNN_QT_ANGLES_PER_CANDIDATE. */
int qnn_qt_angles(const qnn_qt *qt);
/* Offset of candidate j's angle block in Theta: j * depth * n per candidate, 0 when shared
 * (or j out of range). Valid after finalize. */
size_t qnn_qt_candidate_theta(const qnn_qt *qt, int j);
/* Adds a candidate: copies c (must have n qubits, at least one gate, and only parameters named
 * like Theta entries). name (may be NULL) is used in messages. Only before qnn_qt_finalize. */
int qnn_qt_add_candidate(qnn_qt *qt, const qnn_circuit *c, const char *name, qnn_error *err);
int qnn_qt_ncandidates(const qnn_qt *qt);
const char *qnn_qt_candidate_name(const qnn_qt *qt, int j);
const qnn_circuit *qnn_qt_candidate(const qnn_qt *qt, int j);
/* Freezes the candidate list (needs >= 1) and allocates the trainable buffers. */
int qnn_qt_finalize(qnn_qt *qt, qnn_error *err);

/* Layout of the trainable vector (valid after finalize). */
size_t qnn_qt_ntheta(const qnn_qt *qt);   /* depth * n shared, m * depth * n per candidate */
size_t qnn_qt_nstruct(const qnn_qt *qt);  /* m if m > 1 else 0 */
size_t qnn_qt_nmapping(const qnn_qt *qt);
size_t qnn_qt_nparams(const qnn_qt *qt);  /* ntheta + nstruct + nmapping */
double *qnn_qt_params(qnn_qt *qt);
double *qnn_qt_grads(qnn_qt *qt);
/* Makes the generator use external buffers (nparams doubles each, e.g. a carrier net's
 * params/grads so an optimizer can step them); the current values are copied over. Both
 * buffers must stay valid while used; pass NULL, NULL to go back to the internal ones
 * (values copied back). */
int qnn_qt_use_buffers(qnn_qt *qt, double *params, double *grads, qnn_error *err);
/* Initialises: Theta ~ U(-pi, pi) * theta_scale, structural weights 0 (softmax) or 1/m (none),
 * mapping layers PyTorch-style U(+-1/sqrt(in)) * mapping_scale (both scales finite, >= 0). */
int qnn_qt_init_params(qnn_qt *qt, qnn_rng *rng, double theta_scale, double mapping_scale,
                       qnn_error *err);

/* Current structural mixture s (m values). */
int qnn_qt_mixture(const qnn_qt *qt, double *s, qnn_error *err);

/* Forward: writes the p generated weights into `weights` and caches what backward needs.
 * *t_circuits (may be NULL) gets the wall seconds spent simulating circuits. */
int qnn_qt_generate(qnn_qt *qt, double *weights, double *t_circuits, qnn_error *err);
/* Backward from dL/dW (p values) of the last generate: overwrites the trainable gradient
 * buffer. *t_circuits (may be NULL) gets the wall seconds in the circuit vjps. */
int qnn_qt_backward(qnn_qt *qt, const double *dweights, double *t_circuits, qnn_error *err);
/* Bytes held for the candidates' cached output states (m x 2^n x 16 after the first generate,
 * 0 when that exceeds 1 GiB or QNN_MAX_BYTES: backward then re-runs each candidate). */
size_t qnn_qt_cache_bytes(const qnn_qt *qt);
/* Read-outs of the last generate (p values each): ensemble probabilities P and processed xt. */
const double *qnn_qt_last_probs(const qnn_qt *qt);
const double *qnn_qt_last_processed(const qnn_qt *qt);

#endif
