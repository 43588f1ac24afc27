/* Method 1 (arXiv 2504.14568): coordinate-wise Grover-search weight optimisation of a qnn_net,
 * layer by layer. No Lua here; every per-step policy is a callback.
 *
 * Supported nets: stacks of dense layers (with or without bias), each followed by at most one
 * elementwise activation (tanh, relu, sigmoid, identity, sign); the last dense layer may be
 * followed by softmax. Loss: mean cross-entropy over the whole training set (logits = the last
 * dense layer's output, or its activation when that is not softmax) + l2 * sum(params^2),
 * exactly as qnn_net_loss computes it.
 *
 * "Layer" below is the 0-based index among the DENSE layers (0 = first hidden layer).
 * Weights are visited output neuron by output neuron (j outer, input i inner), then the biases.
 *
 * Candidate losses are computed incrementally: changing w_ij of dense layer L by Delta shifts
 * column j of L's pre-activation by Delta * a_i (a_i = the layer's input, 1 for a bias); the
 * next layer's pre-activation gets a rank-1 update (its row j times the change of neuron j's
 * activation), then the remaining layers run on the candidates stacked into one matrix. Never
 * a full forward pass per candidate. */
#ifndef QNN_GROVER_OPTIM_H
#define QNN_GROVER_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/grover.h"
#include "qnn/nn.h"
#include "qnn/rng.h"
#include "qnn/tensor.h"

#define QNN_GOPT_MAX_RESOLUTION 65536

/* ---------------- incremental candidate evaluator ---------------- */
typedef struct qnn_gopt_eval qnn_gopt_eval;

/* net: built, supported structure (else QNN_EINVAL naming the problem). X: B x in training
 * inputs, labels: B class indices (0-based, < out). Both must outlive the evaluator; the net's
 * parameters are read and written in place. l2 >= 0. Runs a full forward. */
int qnn_gopt_eval_new(qnn_gopt_eval **out, qnn_net *net, const qnn_tensor *X, const int *labels,
                      double l2, qnn_error *err);
void qnn_gopt_eval_free(qnn_gopt_eval *ev);
size_t qnn_gopt_eval_bytes(const qnn_gopt_eval *ev); /* C memory held (approximate) */
size_t qnn_gopt_eval_nlayers(const qnn_gopt_eval *ev); /* dense layers */
/* Shape of dense layer L (in, out, bias). QNN_ERANGE if L is out of range. */
int qnn_gopt_eval_shape(const qnn_gopt_eval *ev, size_t L, size_t *in, size_t *out, int *bias);
/* Number of trainable entries of dense layer L (in*out + out if bias). */
size_t qnn_gopt_eval_nweights(const qnn_gopt_eval *ev, size_t L);
/* Pointer to the parameter (L, i, j); i == in addresses bias j. NULL if out of range. */
double *qnn_gopt_eval_weight(qnn_gopt_eval *ev, size_t L, size_t i, size_t j);
/* Re-runs the full forward from the net's parameters (call after changing them from outside). */
int qnn_gopt_eval_refresh(qnn_gopt_eval *ev, qnn_error *err);
/* Current loss (cross-entropy mean + l2 sum of squares). */
double qnn_gopt_eval_loss(const qnn_gopt_eval *ev);
/* Losses if parameter (L, i, j) took each value cand[c], c < N (incremental; the net is not
 * changed). */
int qnn_gopt_eval_candidates(qnn_gopt_eval *ev, size_t L, size_t i, size_t j, const double *cand,
                             size_t N, double *losses, qnn_error *err);
/* Same by a full forward pass per candidate (reference / benchmark baseline). */
int qnn_gopt_eval_candidates_naive(qnn_gopt_eval *ev, size_t L, size_t i, size_t j,
                                   const double *cand, size_t N, double *losses, qnn_error *err);
/* Hot-path kernel for weights of the hidden layers (the output layer has its own vector path).
 * AUTO (the default) picks AVX512, else AVX2, else BLAS (on the machine measured the SSE2 build
 * of the fused kernel was slower than BLAS; see docs/performance.md). GENERIC,
 * AVX2 and AVX512 are one fused structure-of-arrays kernel (8 rows per tile, everything in
 * registers/L1) compiled for portable x86-64, AVX2+FMA and AVX-512; BLAS is the original path
 * (candidates stacked into row-major matrices, dgemm per layer). All agree with full forward
 * passes to 1e-12. */
typedef enum qnn_gopt_kernel {
    QNN_GOPT_KERNEL_AUTO = 0,
    QNN_GOPT_KERNEL_BLAS,
    QNN_GOPT_KERNEL_GENERIC,
    QNN_GOPT_KERNEL_AVX2,
    QNN_GOPT_KERNEL_AVX512
} qnn_gopt_kernel;
/* The environment variable QNN_GOPT_KERNEL (auto|blas|generic|avx2|avx512) sets the kernel of
 * new evaluators (qnn_gopt_eval_new fails with QNN_EINVAL for an unknown or unavailable one). */
/* 1 if kernel k can run here (AUTO and BLAS always can). */
int qnn_gopt_kernel_available(qnn_gopt_kernel k);
/* "auto", "blas", "generic", "avx2", "avx512" (NULL for an unknown value). */
const char *qnn_gopt_kernel_name(qnn_gopt_kernel k);
/* Selects the kernel (QNN_EINVAL if unknown or not available on this CPU). */
int qnn_gopt_eval_set_kernel(qnn_gopt_eval *ev, qnn_gopt_kernel k, qnn_error *err);
/* The kernel in use (AUTO resolved). */
qnn_gopt_kernel qnn_gopt_eval_kernel(const qnn_gopt_eval *ev);
/* Sets parameter (L, i, j) = value and updates the cached activations incrementally. */
int qnn_gopt_eval_set(qnn_gopt_eval *ev, size_t L, size_t i, size_t j, double value,
                      qnn_error *err);

/* ---------------- policies ---------------- */
/* Cost counters (all additive). */
typedef struct qnn_gopt_cost {
    uint64_t weights;        /* weights visited */
    uint64_t candidates;     /* candidate losses evaluated */
    uint64_t queries;        /* oracle applications as run (iterations x shots, summed) */
    uint64_t queries_ideal;  /* single-shot count (iterations per search, summed) */
    uint64_t shots;          /* circuit executions */
    uint64_t accepted;       /* accepted moves */
    uint64_t fallbacks;      /* padding outcome -> classical arg-min */
    uint64_t marked;         /* sum of M over threshold searches */
    uint64_t hits;           /* chosen candidate was marked / the true arg-min (durr_hoyer) */
    int qubits;              /* max register + ancilla */
    int depth;               /* max circuit depth */
    uint64_t gates;          /* max gate count of one circuit */
    double depth_sum, gates_sum; /* sums over searches (for means) */
    double p_marked_sum;     /* threshold: sum over searches of the exact probability that ONE
                                shot lands on a marked state (before the majority vote) */
    uint64_t searches;       /* number of oracle-policy calls */
    uint64_t queries_to_best; /* durr_hoyer: queries spent until the returned candidate was
                                 first measured (diagnostic; the search never stops on it) */
} qnn_gopt_cost;
void qnn_gopt_cost_add(qnn_gopt_cost *acc, const qnn_gopt_cost *c);

typedef struct qnn_gopt_weight_info {
    size_t layer, i, j;      /* dense layer, input (== in: bias), output */
    size_t N;                /* candidates */
    int n;                   /* register qubits ceil(log2 N) */
    double current;          /* current parameter value */
    double current_loss;     /* loss at the current value */
    int output_layer;        /* 1 if the last dense layer */
} qnn_gopt_weight_info;

/* Chooses one candidate from losses[0..N). *chosen = index in [0, N), or (size_t)-1 to keep the
 * current value. Adds its costs to *cost. */
typedef int (*qnn_gopt_select_fn)(void *ud, const double *losses, size_t N,
                                  const qnn_gopt_weight_info *wi, size_t *chosen,
                                  qnn_gopt_cost *cost, qnn_error *err);
/* Fills out[0..N) with candidate values for weight w (sigma = layer std, alpha = step). */
typedef int (*qnn_gopt_cand_fn)(void *ud, const qnn_gopt_weight_info *wi, double sigma,
                                double alpha, double *out, qnn_error *err);
/* *accept = 1 to take the new value. */
typedef int (*qnn_gopt_accept_fn)(void *ud, double old_loss, double new_loss,
                                  const qnn_gopt_weight_info *wi, int *accept, qnn_error *err);

/* The paper's oracle: marked <=> loss <= Lmin*(1 + tol) (Lmin >= 0; for a negative Lmin the
 * bound is Lmin + tol*|Lmin|); k = max(1, floor(pi/4*sqrt(2^n/M))); `shots` samples; the most
 * frequent outcome wins; a padding outcome falls back to the classical arg-min. */
typedef struct qnn_gopt_threshold {
    double tol_hidden, tol_output;  /* >= 0 */
    uint64_t shots;                 /* >= 1 */
    qnn_grover_form form;           /* for the cost model (depth, gates, qubits) */
    const qnn_grover_engine *eng;   /* NULL: exact textbook kernel */
    qnn_rng *rng;
    int track_circuit;              /* 1: build the gate-level circuit per search for depth/gates */
} qnn_gopt_threshold;
int qnn_gopt_select_threshold(void *ud, const double *losses, size_t N,
                              const qnn_gopt_weight_info *wi, size_t *chosen, qnn_gopt_cost *cost,
                              qnn_error *err);

/* Honest minimum finding: qnn_grover_minimum over the N losses (padding never marked). */
typedef struct qnn_gopt_durr_hoyer {
    const qnn_grover_engine *eng;   /* NULL: exact textbook kernel */
    qnn_grover_form form;
    qnn_rng *rng;
    double budget;                  /* 0: 22.5 sqrt(2^n) */
} qnn_gopt_durr_hoyer;
int qnn_gopt_select_durr_hoyer(void *ud, const double *losses, size_t N,
                               const qnn_gopt_weight_info *wi, size_t *chosen,
                               qnn_gopt_cost *cost, qnn_error *err);

/* Evenly spaced candidates w - alpha*sigma ... w + alpha*sigma, end points included. */
int qnn_gopt_candidates_linspace(void *ud, const qnn_gopt_weight_info *wi, double sigma,
                                 double alpha, double *out, qnn_error *err);

/* ---------------- one pass over a layer ---------------- */
typedef struct qnn_gopt_pass_opts {
    size_t layer;                 /* dense layer (0-based) */
    double alpha;                 /* > 0, finite */
    size_t resolution;            /* N in [2, 65536] */
    qnn_gopt_select_fn select;    /* required */
    void *select_ud;
    qnn_gopt_cand_fn candidates;  /* NULL: linspace */
    void *cand_ud;
    qnn_gopt_accept_fn accept;    /* NULL: strict decrease */
    void *accept_ud;
    const qnn_progress *progress; /* may be NULL; polled once per weight */
} qnn_gopt_pass_opts;

typedef struct qnn_gopt_pass_result {
    double loss_before, loss_after;
    double sigma;                 /* layer std used for the interval */
    size_t visited;               /* weights visited (less than all when interrupted) */
    qnn_gopt_cost cost;
} qnn_gopt_pass_result;

/* Visits every weight of the layer: candidates, their losses (incremental), the select
 * policy, the accept policy; accepted values are applied at once. Returns QNN_EINTR (or
 * QNN_ECALLBACK) when interrupted between weights: the net then holds the last accepted
 * weights and *res describes the partial pass. */
int qnn_gopt_layer_pass(qnn_gopt_eval *ev, const qnn_gopt_pass_opts *o, qnn_gopt_pass_result *res,
                        qnn_error *err);

/* Vector kernels (AVX-512 or AVX2/FMA clones when the CPU has them; used by the BLAS path, the
 * output layer and the cache updates; the fused kernel has its own): x <- exp(x) (relative error
 * <= 3e-16 on [-708, 709], clamped outside) and x <- tanh(x) (absolute error <= 4e-16; tmp holds
 * n doubles of scratch). */
void qnn_gopt_vexp(double *x, size_t n);
void qnn_gopt_vtanh(double *x, double *tmp, size_t n);

/* Population standard deviation of the (non-bias) weights of dense layer L, 1 if < 1e-12. */
double qnn_gopt_layer_sigma(qnn_gopt_eval *ev, size_t L);

#endif
