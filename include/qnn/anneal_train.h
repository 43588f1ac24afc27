/* Annealing-based training of Ising networks (issue 6, "the trainer"; no Lua here).
 *
 * Our reading of arXiv 2506.05244 (only its abstract is public): neurons are Ising spins
 * (+-1), weights are couplings between adjacent layers, biases are fields; the input vector x
 * (real numbers, e.g. sign-encoded pixels) is clamped and enters as fields on the first
 * non-input layer. Training is equilibrium propagation with a strong nudge:
 *   free phase    anneal with x clamped; the deep states found are the network's answers;
 *   nudged phase  also clamp the output spins to the one-hot +-1 target (strong nudge), or add
 *                 a finite nudge field -beta*t_k on output k;
 *   update        dJ = -eta (<s_i s_j>_nudged - <s_i s_j>_free), dh = -eta (<s_i>_n - <s_i>_f)
 *                 averaged over the mini-batch, each phase's expectation taken over the states
 *                 its sampler returned (weighted by counts, or the lowest-energy one only).
 * Energy convention (the one of qnn/ising.h, low energy favours s_i s_j = -sign(J_ij)):
 *   E(x, s) = sum_g h_g s_g + sum_{i,p} J0[i][p] x_i s1_p + sum_{l>=1} s_l^T J_l s_{l+1}.
 * The minus sign of the update is what the usual "dW = +eta(<>_n - <>_f)" becomes for W = -J:
 * it lowers E(nudged state) - E(free state) by eta |c_n - c_f|^2 to first order.
 *
 * Layout: layer 0 is the input (sizes[0] values, not spins); layers 1..L-1 are spins, numbered
 * globally g = off[l] + p. Parameters live in one array: J_0 (sizes[0] x sizes[1], row-major,
 * J0[i][p] at wofs[0] + i*sizes[1] + p), J_1, ..., J_{L-2}, then the nspins fields h.
 *
 * Active set (layer-wise / active-block training): a mask over the spins. Only active spins
 * are annealed; the others are clamped to an environment state (the feed-forward state relaxed
 * by `settle` zero-temperature passes, outputs set to the target in the nudged phase) and only
 * parameters incident to an active spin are updated. */
#ifndef QNN_ANNEAL_TRAIN_H
#define QNN_ANNEAL_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/rng.h"

#define QNN_ANET_MAX_LAYERS 64
#define QNN_ANET_MAX_WIDTH (1 << 20)
#define QNN_ANET_MAX_BLOCK 16 /* spins per phase for the "exact" and "grover" samplers */

typedef struct qnn_anet {
    int nlayers;                        /* >= 2: input + >= 1 spin layer */
    int sizes[QNN_ANET_MAX_LAYERS];
    int off[QNN_ANET_MAX_LAYERS];       /* first spin of layer l >= 1 (off[0] = 0, unused) */
    size_t wofs[QNN_ANET_MAX_LAYERS];   /* offset of J_l in params, l = 0..L-2 */
    int nspins;                         /* sum of sizes[1..L-1] */
    size_t nJ;                          /* number of couplings (incl. input couplings) */
    size_t nparams;                     /* nJ + nspins */
    double *params;                     /* [J_0 | ... | J_{L-2} | h] */
    int *layer_of;                      /* nspins */
} qnn_anet;

enum { QNN_ANET_SA = 0, QNN_ANET_SQA = 1, QNN_ANET_EXACT = 2, QNN_ANET_GROVER = 3 };
enum { QNN_ANET_INIT_UNIFORM = 0, QNN_ANET_INIT_GAUSSIAN = 1 };
enum { QNN_ANET_WEIGHT_COUNTS = 0, QNN_ANET_WEIGHT_LOWEST = 1 };

/* Sampler configuration for one phase. Schedules are arrays sampled beforehand. */
typedef struct qnn_anet_sampler {
    int kind;              /* QNN_ANET_SA ... */
    int reads;             /* sa/sqa: reads; exact: shots drawn; grover: independent searches */
    int sweeps;            /* sa/sqa: sweeps; exact: Trotter steps (>= 1) */
    const double *betas;   /* sa: `sweeps` inverse temperatures, or NULL = automatic per call:
                              geometric from beta_hot to beta_cold (below) */
    double beta_hot, beta_cold; /* sa auto: absolute values if > 0, else ln2/max|dE| and
                              ln100/max(min|dE|, 1e-3 max|dE|) of the phase's model */
    const double *A, *B;   /* sqa: `sweeps` values at t_k; exact: `sweeps` (=steps) midpoints;
                              NULL = linear A = 1 - t, B = t */
    int slices;            /* sqa Trotter slices (>= 2) */
    double gamma;          /* sqa: Gamma = gamma * scale * A (scale = rms coefficient) */
    double beta_rel;       /* sqa: beta = beta_rel * slices / scale */
    double T;              /* exact: anneal time in units of 1/scale (H_P is divided by scale) */
    double lambda, budget; /* grover: qnn_grover_minimum options (0 = defaults) */
    int best_of_slices;    /* sqa: 1 = each read returns its lowest-energy Trotter slice (the
                              old default, optimistic); 0 = one slice per read, as one hardware
                              read (default) */
    double control_noise;  /* >= 0: every anneal programs h + N(0, (c*scale)^2) and
                              J + N(0, (c*scale)^2) (scale = rms of the nonzero coefficients),
                              drawn afresh per anneal: analogue control error (0 = none) */
} qnn_anet_sampler;

typedef struct qnn_anet_opts {
    qnn_anet_sampler free_s, nudged_s;
    double nudge;          /* 0 = strong nudge (outputs clamped); > 0 finite field strength */
    int weighting;         /* QNN_ANET_WEIGHT_* */
    int settle;            /* zero-temperature passes for the environment (active sets only) */
    double l2;             /* weight decay on updated couplings (>= 0) */
    /* Block-coordinate annealing (ncblocks > 0): each phase starts from the feed-forward state
     * (nudged: from the free result with the outputs set to the target) and makes cpasses
     * passes over the blocks cblocks[cboff[b] .. cboff[b+1]), annealing each block with the rest
     * clamped and keeping its lowest-energy read; correlations come from the final state. So a
     * sampler of <= 16 spins trains a deep net; all parameters (or the active set's) update. */
    const int *cblocks, *cboff;
    int ncblocks, cpasses;
    int cpick;             /* 0: keep each block's lowest-energy read; 1: a read drawn uniformly
                              (count-weighted) - a stochastic, Gibbs-like block update */
    int crandom;           /* 1: every pass re-partitions the blocks' spins at random into blocks
                              of the largest block size (blocks then straddle layers) */
} qnn_anet_opts;

/* Costs, accumulated (callers zero them). */
typedef struct qnn_anet_stats {
    double samples;        /* training samples processed */
    double sampler_calls;  /* phase anneals */
    double spins;          /* sum over calls of the spins annealed */
    double sweeps;         /* sa/sqa sweeps per read summed over calls x reads; exact: steps */
    double flip_attempts;  /* sa single-spin, sqa slice-spin attempts (+ world-line attempts) */
    double queries;        /* grover oracle queries */
    double exact_steps;    /* Trotter steps of coherent anneals */
    double settle_attempts;/* zero-temperature flip attempts of the environment relaxation */
    double free_errors;    /* samples whose free-phase answer (lowest-energy state) is wrong */
    double gap;            /* sum of E(nudged best) - E(free best) (full-network energy) */
    double updates;        /* parameter updates applied (mini-batches) */
} qnn_anet_stats;

int qnn_anet_new(qnn_anet **out, const int *sizes, int nlayers, qnn_error *err);
void qnn_anet_free(qnn_anet *net);
int qnn_anet_copy(qnn_anet **out, const qnn_anet *net, qnn_error *err);
/* Couplings of J_l (fan_in = sizes[l]): uniform U(-scale, scale)/sqrt(fan_in) or Gaussian
 * N(0, scale^2 / fan_in); fields set to 0. scale > 0 finite. */
int qnn_anet_init(qnn_anet *net, int kind, double scale, qnn_rng *rng, qnn_error *err);

/* Default sampler values (sa, 4 reads, 100 sweeps, auto betas, 16 slices, gamma 3, ...). */
void qnn_anet_sampler_defaults(qnn_anet_sampler *s);
void qnn_anet_opts_defaults(qnn_anet_opts *o);
/* Checks a configuration against the net (active set sizes for exact/grover are checked per
 * anneal; coordinate blocks are checked here). */
int qnn_anet_check_opts(const qnn_anet *net, const qnn_anet_opts *o, qnn_error *err);

/* Feed-forward sign read-out: s_1 = -sgn(h_1 + J_0^T x), s_{l+1} = -sgn(h_{l+1} + J_l^T s_l)
 * with -sgn(0) = +1. state (nspins, may be NULL) gets the spins, scores (sizes[L-1], may be
 * NULL) the output pre-activations -(h + J^T s) (class = argmax). Returns the class 0-based. */
int qnn_anet_feedforward(const qnn_anet *net, const double *x, int8_t *state, double *scores);
/* Network energy E(x, s) (s: nspins spins +-1). */
int qnn_anet_energy(const qnn_anet *net, const double *x, const int8_t *s, double *E,
                    qnn_error *err);

/* Field of every spin in `sub` (nsub spins, global indices, distinct) and the couplings among
 * them with every other spin clamped to env (nspins; entries for spins of sub are ignored):
 * h_out[k] = field of sub[k]; edges (i, j, w) with i < j local indices written to ei, ej, w
 * (capacity cap; *ne gets the count, QNN_ERANGE if cap is too small). label >= 0 with nudge 0
 * clamps nothing extra; label >= 0 and nudge > 0 adds -nudge*t_k to output fields. offset_out
 * (may be NULL) gets the energy of the clamped part so that E_sub + offset = E(x, s). */
int qnn_anet_submodel(const qnn_anet *net, const double *x, const int8_t *env, const int *sub,
                      int nsub, int label, double nudge, double *h_out, int *ei, int *ej,
                      double *w, size_t cap, size_t *ne, double *offset_out, qnn_error *err);

/* One mini-batch: for samples idx[0..nb) of X (rows of ldx doubles, sizes[0] used) with
 * labels (0-based, < sizes[L-1]) run both phases and apply the update with learning rate eta
 * (finite, >= 0). active: nspins-entry mask (non-zero = active) or NULL for all spins. */
int qnn_anet_train_batch(qnn_anet *net, const qnn_anet_opts *o, const double *X, size_t ldx,
                         const int *labels, const size_t *idx, size_t nb, double eta,
                         const unsigned char *active, qnn_rng *rng, qnn_anet_stats *st,
                         const qnn_progress *p, qnn_error *err);

/* One epoch over n samples in mini-batches of `batch` (shuffled with rng if shuffle). Active
 * blocks: nblocks > 0 lists blocks[boff[b] .. boff[b+1]) of global spin indices; every
 * mini-batch visits `per_batch` (>= 1) blocks in turn, blocks (*cursor), (*cursor + 1), ...
 * mod nblocks, each with its own phases and update, and *cursor advances by the number of
 * blocks visited. nblocks = 0 trains the whole net. */
int qnn_anet_train_epoch(qnn_anet *net, const qnn_anet_opts *o, const double *X, size_t ldx,
                         const int *labels, size_t n, size_t batch, int shuffle, double eta,
                         const int *blocks, const int *boff, int nblocks, int per_batch,
                         long long *cursor, qnn_rng *rng, qnn_anet_stats *st,
                         const qnn_progress *p, qnn_error *err);

/* Free-phase annealing read-out for n samples: per sample the spins are the feed-forward state,
 * then `passes` passes over the blocks (nblocks = 0: one anneal of the whole net), each block
 * annealed by sampler s with the rest clamped and set to its lowest-energy read. scores (n x
 * sizes[L-1]) get the count-weighted mean output spins of the last anneal touching the outputs,
 * plus 1e-9 x the feed-forward score to break ties; classes (n, may be NULL) the argmax. */
int qnn_anet_predict_anneal(const qnn_anet *net, const qnn_anet_sampler *s, const double *X,
                            size_t ldx, size_t n, const int *blocks, const int *boff,
                            int nblocks, int passes, qnn_rng *rng, double *scores, int *classes,
                            qnn_anet_stats *st, const qnn_progress *p, qnn_error *err);

#endif
