/* Stochastic qubit activations ("natural quantization", arXiv 2503.15482, method 3).
 *
 * Every neuron of the layer is a qubit. For a pre-activation z the qubit is rotated about Y by
 *     theta = pi/2 * (r_prev - t),   t = tanh(z / a)   (a > 0)   or   t = sign(z)   (a = 0),
 * added to its current angle phi (state RY(phi)|0> = cos(phi/2)|0> + sin(phi/2)|1>), and then
 * measured through an ancilla.
 *
 * Sign conventions (qubit 0 = neuron, qubit 1 = ancilla, RZY(g) = exp(-i g/2 Z_neuron Y_anc)):
 *  - Outcome d = +1 <-> the ancilla reads |+> (X basis; in the circuit: H on the ancilla, then
 *    ancilla bit 0). Then P(d = +1) = (1 + sin g * <Z>) / 2, <Z> = cos(phi + theta).
 *  - A fresh neuron is |0> (phi = 0) with r_prev = +1, so phi + theta = pi/2 * (1 - t):
 *    z >> 0 gives angle 0, <Z> = +1 and d = +1; z << 0 gives angle pi and d = -1.
 *    Hence a = 0, g = pi/2 is exactly the classical sign network (d = sign(z), sign(0) = +1
 *    as qnn.nn.sign), and with g = pi/2, P(+1) = [1 + sin(pi/2 * tanh(z/a))] / 2.
 *  - The rotation pi/2 * r_prev undoes the previous projective outcome (angle 0 for r = +1,
 *    pi for r = -1, both land on the equator pi/2), so with projective measurements the shared
 *    and fresh registers give the same statistics; with weak ones they differ.
 *  - Post-measurement neuron state (derived from the 2-qubit circuit, exact): with
 *    (c, s) = (cos((phi+theta)/2), sin((phi+theta)/2)) and (cg, sg) = (cos(g/2), sin(g/2)),
 *    outcome d leaves the neuron in the REAL pure state proportional to
 *        c (cg + d sg) |0> + s (cg - d sg) |1>,
 *    i.e. again RY(phi')|0> with tan(phi'/2) = tan((phi+theta)/2) * tan(pi/4 - d g/2). No
 *    approximation is needed. The authors' code computes sin(phi'/2) by the same formula and
 *    takes phi' = 2 asin(.), i.e. it forces cos(phi'/2) >= 0. That equals the exact state
 *    whenever |phi + theta| <= pi (always true in the first weak layer, so the paper's
 *    784-512-512-10 net is unaffected); deeper nets can differ. rule = QNN_QACT_RULE_AUTHORS
 *    reproduces their rule, QNN_QACT_RULE_EXACT (default) is the physical state.
 *  - The last hidden layer (last = 1) measures projectively (g = pi/2) whatever g is.
 *
 * Registers: QNN_QACT_SHARED (the authors' model): the layer's qubit j starts from qubit j of
 * the previous qubit_activation layer of the same net (its post-measurement amplitudes and its
 * outcome r_prev), per sample; the first qubit layer starts from |0>, r_prev = +1.
 * Implementation: each layer keeps, per sample, the post-measurement amplitudes (v0, v1) and
 * the outcomes of its last forward in its state; a shared-register layer stores the distance
 * `back` (in layers) to the previous qubit layer, found when it is added, and reads
 * (l - back)->state during forward. Layers live in one contiguous array in the net (also in
 * copies), so this link survives qnn_net_copy. Widths must match. QNN_QACT_FRESH: a new |0>
 * register (r_prev = +1) per layer.
 *
 * Sampling: one uniform draw per neuron per forward from the rng stream the net passes in;
 * d = +1 iff u < P(+1). Eval mode (train = 0) samples too (a single shot) unless the layer's
 * read-out is switched to mean-field (qnn_qact_set_readout): then the output is <d> =
 * sin g <Z> and the carried state is the direction of the Bloch vector of the post-measurement
 * mixture (with r_prev = <d>).
 *
 * Noise (optional, off by default): a single-qubit channel of strength p on every neuron qubit
 * between its rotation and its measurement: dephasing (Z with probability p) or depolarizing
 * (X, Y, Z each with probability p/3, as qnn_density_depolarize). Sampling read-out: one
 * trajectory, i.e. one more uniform per neuron per forward (drawn after the row's measurement
 * uniforms, only when p > 0, so p = 0 is bitwise the noiseless layer) picks the Pauli. On the
 * real amplitudes (c, s) = (cos, sin)(angle/2) after the rotation: Z -> (c, -s) (angle -> -angle),
 * X -> (s, c) (angle -> pi - angle), Y -> (-s, c) up to a global phase (angle -> angle + pi).
 * Mean-field read-out: the exact channel on the Bloch vector, (X, Z) -> (lx X, lz Z) with
 * lx = 1 - 2p, lz = 1 (dephasing) or lx = lz = 1 - 4p/3 (depolarizing). Dephasing commutes with
 * the Z-basis measurement: it never changes P(+1) of the layer it hits, only the carried
 * post-measurement state (so it has no effect at all with projective layers or fresh registers).
 *
 * Backward: hard-tanh straight-through estimator, dL/dz = dL/dd * 1{|z| < 1} (as the authors).
 *
 * Speed: the batched kernel uses its own tanh (exp by Cody-Waite + Taylor) and sin/cos
 * polynomials (absolute error <= 4e-16 against libm, tested), is compiled with
 * -fno-math-errno -fno-trapping-math (Makefile) so its loops vectorise, and has GCC ifunc clones
 * for x86-64-v4 / v3 / baseline (no FP contraction under -std=c11, so the clones compute the
 * same numbers). About 2.6 ns per neuron per shot on one AVX-512 core.
 */
#ifndef QNN_QUBIT_ACT_H
#define QNN_QUBIT_ACT_H
#include <stddef.h>

#include "qnn/common.h"
#include "qnn/nn.h"
#include "qnn/rng.h"
#include "qnn/tensor.h"

enum { QNN_QACT_SHARED = 0, QNN_QACT_FRESH = 1 };
enum { QNN_QACT_RULE_EXACT = 0, QNN_QACT_RULE_AUTHORS = 1 };
enum { QNN_QACT_READ_SAMPLE = 0, QNN_QACT_READ_MEAN = 1 };
/* mode: only used to check/choose defaults; stored for checkpoints. */
enum { QNN_QACT_MODE_CUSTOM = 0, QNN_QACT_MODE_ROTATION, QNN_QACT_MODE_WEAK, QNN_QACT_MODE_BOTH };
enum { QNN_QACT_NOISE_NONE = 0, QNN_QACT_NOISE_DEPHASING = 1, QNN_QACT_NOISE_DEPOLARIZING = 2 };

typedef struct qnn_qact_params {
    double a;     /* >= 0, finite; 0 = sign(z) */
    double g;     /* in (0, pi/2]; pi/2 = projective */
    int reg;      /* QNN_QACT_SHARED / QNN_QACT_FRESH */
    int last;     /* 1: measure projectively (g = pi/2 in effect) */
    int rule;     /* QNN_QACT_RULE_EXACT / QNN_QACT_RULE_AUTHORS */
    int mode;     /* QNN_QACT_MODE_* (informational) */
    int noise;    /* QNN_QACT_NOISE_*: channel between rotation and measurement */
    double noise_p; /* its strength in [0, 1] (0 = none, whatever the kind) */
} qnn_qact_params;

/* Defaults: a = 0, g = pi/2, shared, not last, exact rule, custom mode (= classical sign),
 * no noise. */
void qnn_qact_defaults(qnn_qact_params *p);
/* Validates a (>= 0, finite), g (0 < g <= pi/2), enums, noise_p in [0, 1]; message names the
 * bad one. */
int qnn_qact_check(const qnn_qact_params *p, qnn_error *err);

/* The layer vtable ("qubit_activation") and a test for it. */
extern const qnn_layer_vtable qnn_qact_vt;
static inline int qnn_qact_is(const qnn_layer *l) { return l && l->vt == &qnn_qact_vt; }

/* Appends a qubit activation of width dim (0 = previous layer's width). A shared-register layer
 * links to the previous qubit_activation layer (same width required, else QNN_EINVAL).
 * Returns the layer index or a negative status. fparam = {a, g, flags, 1} with flags =
 * reg | last << 1 | rule << 2 | mode << 3 | noise << 5 (qnn_qact_params_from_fparam decodes
 * it); fparam[3] = 1 without noise, -noise_p (in [-1, 0]) with a noise kind set. */
int qnn_net_add_qubit_act(qnn_net *net, size_t dim, const qnn_qact_params *p, qnn_error *err);
int qnn_qact_params_from_fparam(const double fparam[4], qnn_qact_params *p, qnn_error *err);
/* Parameters of a qubit layer (NULL if l is not one). */
const qnn_qact_params *qnn_qact_layer_params(const qnn_layer *l);

/* Sets the eval-mode read-out of every qubit layer of net; returns how many there are. */
size_t qnn_qact_set_readout(qnn_net *net, int readout);
/* Keep P(+1) of the last forward (for tests / analysis): qnn_qact_last_probs gives a B x n
 * array (row-major) or NULL. Off by default. */
int qnn_qact_keep_probs(qnn_layer *l, int on, qnn_error *err);
const double *qnn_qact_last_probs(const qnn_layer *l, size_t *rows);
/* Post-measurement amplitudes (v0, v1) of the last forward, B x n each (NULL if none). */
int qnn_qact_last_register(const qnn_layer *l, const double **v0, const double **v1,
                           const double **res, size_t *rows);

/* ---- closed-form physics of one neuron (reference; the batched kernel does the same) ---- */
typedef struct qnn_qact_neuron {
    double theta;        /* pi/2 (r_prev - t) */
    double angle;        /* phi + theta, the angle before the measurement */
    double p_plus;       /* P(d = +1) */
    double v0[2], v1[2]; /* post-measurement amplitudes for d = +1 ([0]) and d = -1 ([1]) */
    double angle_post[2];/* 2 atan2(v1, v0) for d = +1, -1 (in (-2pi, 2pi]) */
} qnn_qact_neuron;
/* prior state = RY(prior_angle)|0>; g_eff = pi/2 if last. */
void qnn_qact_neuron_eval(double z, const qnn_qact_params *p, double prior_angle, double r_prev,
                          qnn_qact_neuron *out);

/* ---- batched kernel (one row of n neurons) ----
 * z[n]: pre-activations; v0in/v1in/rin (NULL = fresh: (1, 0), r = +1) prior amplitudes and
 * outcomes; u[n]: uniforms in [0, 1) (NULL with readout MEAN). Writes out[n] (outcomes or <d>),
 * v0out/v1out/rout (may be NULL: no carry) and pplus (may be NULL). Returns QNN_EINVAL if a z
 * is not finite. */
int qnn_qact_kernel(const qnn_qact_params *p, int readout, size_t n, const double *z,
                    const double *v0in, const double *v1in, const double *rin, const double *u,
                    double *out, double *v0out, double *v1out, double *rout, double *pplus,
                    qnn_error *err);

/* The same with noise (p->noise, p->noise_p): un[n] are the uniforms that pick each neuron's
 * Pauli in the sampling read-out (required there when the noise is active, i.e. kind set and
 * p > 0; ignored otherwise). qnn_qact_kernel = this with un = NULL (so it refuses a sampling
 * read-out with active noise). */
int qnn_qact_kernel_noisy(const qnn_qact_params *p, int readout, size_t n, const double *z,
                          const double *v0in, const double *v1in, const double *rin,
                          const double *u, const double *un, double *out, double *v0out,
                          double *v1out, double *rout, double *pplus, qnn_error *err);
/* 1 if p's noise changes anything (kind set and noise_p > 0). */
int qnn_qact_noise_active(const qnn_qact_params *p);

/* The fast elementary functions the kernel uses (exposed for tests): tanh with absolute error
 * ~1e-16, sin/cos of h in [-pi/2, pi/2]. */
double qnn_qact_fast_tanh(double x);
void qnn_qact_fast_sincos(double h, double *s, double *c);

/* ---- shot-based inference ----
 * mode VOTE: `shots` independent forward passes (eval mode, sampling, a real re-sample each
 * shot; deterministic layers before the first stochastic layer run once), majority vote over
 * the per-shot arg-max (ties -> the smallest class index). The first qubit layer's input and
 * prior (|0>) do not change between shots, so its P(+1) and both post-measurement states are
 * computed once per chunk and only re-sampled (one uniform per neuron per shot); SINGLE: one shot; MEAN: mean-field
 * read-out (no sampling). pred[B] gets 0-based classes; first[B] (may be NULL) the first
 * shot's arg-max. X must be finite (QNN_EINVAL otherwise). Works on nets without qubit layers
 * too (all shots then agree). */
enum { QNN_QACT_PREDICT_VOTE = 0, QNN_QACT_PREDICT_SINGLE, QNN_QACT_PREDICT_MEAN };
int qnn_qact_predict(qnn_net *net, const qnn_tensor *X, size_t shots, int mode, qnn_rng *rng,
                     int *pred, int *first, qnn_error *err);

#endif
