/* Quantum layers: a parameterised circuit as a layer of a qnn_net (hybrid quantum-classical
 * models). No Lua here.
 *
 * A layer maps a batch X (B x F) to Y (B x K). Every circuit parameter is either an INPUT
 * (angle encoding: input feature i sets circuit parameter inputs[i] for each sample) or a
 * WEIGHT (weights[j] = l->w[j], trained). With amplitude encoding the F features of a row are
 * normalised, padded with zeros to 2^n amplitudes and used as the initial state (then every
 * circuit parameter is a weight). Gate angles are affine in the parameters
 * (offset + scale * value), so encoders may scale their inputs.
 *
 * Outputs: output k is either an observable (a weighted sum of Pauli strings, nterms >= 1) or
 * the probability of one basis state (nterms == 0, index `basis`). With shots > 0 the
 * forward returns shot estimates (each Pauli term measured `shots` times, i.e. a binomial draw
 * with p = (1 + <P>)/2; the probabilities of one row come from one multinomial draw of `shots`
 * outcomes) from a stream derived per row from the net's stream (or the layer's own seed), so
 * the numbers do not depend on the thread count; the backward pass uses the exact gradient of
 * the expectation values (the shot noise has zero mean).
 *
 * Backward (pure states): for row r, lambda = (sum_k dY[r,k] O_k + diag(dprobs)) psi_N and one
 * adjoint sweep (qnn_circuit_adjoint) gives dL/dparams for inputs and weights at once; with
 * amplitude encoding the sweep runs to the start and dL/dx follows from 2 Re lambda_0 through
 * the normalisation. The output states of the last forward are cached when they fit (B * 2^n *
 * 16 bytes <= 64 MiB), so backward does not re-run the circuit.
 * With noise (channels after every gate as in qnn_noise) the layer runs on density matrices
 * (n <= 12) and the gradients come from the parameter-shift rule on every gate occurrence
 * (exact also with the channels, which do not depend on the angles); amplitude encoding is not
 * available with noise.
 *
 * Parallelism: circuits with n < 14 qubits run one sample per OpenMP thread (each thread owns
 * a copy of the circuit and its state vectors); larger ones run the samples one after another
 * with the state-vector kernels parallel over amplitudes. Per-sample weight gradients are
 * summed in row order, so the numbers are identical for any thread count. */
#ifndef QNN_QLAYER_H
#define QNN_QLAYER_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/circuit.h"
#include "qnn/common.h"
#include "qnn/nn.h"

#define QNN_QLAYER_MAX_OUTPUTS 65536
#define QNN_QLAYER_MAX_DENSITY_QUBITS 12
#define QNN_QLAYER_PAR_QUBITS 14 /* below: parallel over samples */

typedef struct qnn_qlayer_output {
    int nterms;                   /* >= 1: observable; 0: probability of `basis` */
    const qnn_pauli_term *terms;  /* nterms terms (copied by the layer) */
    uint64_t basis;               /* basis index (< 2^n) when nterms == 0 */
} qnn_qlayer_output;

typedef struct qnn_qlayer_spec {
    const qnn_circuit *circuit;   /* copied */
    int ninputs;                  /* F >= 1 */
    const int *inputs;            /* F circuit parameter indices (NULL with amplitude) */
    int amplitude;                /* 1: amplitude encoding (F <= 2^n) */
    int nweights;
    const int *weights;           /* circuit parameter indices of the trained weights */
    int noutputs;                 /* K >= 1 */
    const qnn_qlayer_output *outputs;
    size_t shots;                 /* 0: exact expectation values */
    int has_seed;                 /* shots drawn from the layer's own stream seeded with seed */
    uint64_t seed;
    const qnn_noise *noise;       /* NULL or all zero: state vectors */
    int threads;                  /* at most this many threads over samples (0: OpenMP's
                                     default); a run-time setting, not stored in checkpoints */
} qnn_qlayer_spec;

extern const qnn_layer_vtable qnn_qlayer_vt; /* name "quantum" */
static inline int qnn_qlayer_is(const qnn_layer *l) { return l && l->vt == &qnn_qlayer_vt; }

/* Appends a quantum layer. Checks: every circuit parameter is exactly one of input / weight
 * (QNN_EINVAL naming the parameter otherwise), indices in range and distinct, outputs valid
 * for n qubits, noise probabilities in [0, 1], density size. init (may be NULL: U(-pi, pi))
 * initialises the weights at qnn_net_build. Returns the layer index or a negative status. */
int qnn_net_add_qlayer(qnn_net *net, const qnn_qlayer_spec *spec, const qnn_init *init,
                       int has_init_seed, uint64_t init_seed, qnn_error *err);

/* Read-outs of a quantum layer (NULL / 0 if l is not one). */
const qnn_circuit *qnn_qlayer_circuit(const qnn_layer *l);
int qnn_qlayer_ninputs(const qnn_layer *l);
int qnn_qlayer_nweights(const qnn_layer *l);
int qnn_qlayer_is_amplitude(const qnn_layer *l);
int qnn_qlayer_is_noisy(const qnn_layer *l);
size_t qnn_qlayer_shots(const qnn_layer *l);
const int *qnn_qlayer_input_params(const qnn_layer *l);
const int *qnn_qlayer_weight_params(const qnn_layer *l);

/* Serialised description (circuit with parameter names and affine angles, inputs, weights,
 * outputs, shots, noise) as text, and back (for checkpoints). *out malloc'ed. */
int qnn_qlayer_describe(const qnn_layer *l, char **out, qnn_error *err);
/* Appends a layer rebuilt from qnn_qlayer_describe text. */
int qnn_net_add_qlayer_text(qnn_net *net, const char *text, qnn_error *err);

#endif
