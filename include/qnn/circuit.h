/* Circuits: an ordered list of gates with constant or named trainable angles, run on a
 * state vector (optionally with Monte-Carlo noise trajectories) or a density matrix (exact
 * noise channels), adjoint-mode gradients of Pauli expectation values and of probability
 * vectors (vector-Jacobian products), parameter-shift gradients, text drawing and OpenQASM 2.0
 * export/import. No Lua here.
 *
 * Conventions: qubit 0 is the least significant bit of a basis index. A gate's angle is
 *   value = offset + scale * params[param]      (param < 0: value = offset)
 * so a named parameter may be shared by several gates, each with its own scale.
 * Gate matrices: rx/ry/rz(t) = exp(-i t/2 P); phase(l) = diag(1, e^{il});
 * u3(t,p,l) = [[cos t/2, -e^{il} sin t/2], [e^{ip} sin t/2, e^{i(p+l)} cos t/2]];
 * crx/cry/crz(t) = controlled rx/ry/rz (control first); cphase(l) = diag(1,1,1,e^{il});
 * rxx/ryy/rzz/rzy(a,b,t) = exp(-i t/2 P_a (x) Q_b) (rzy: Z on a, Y on b).
 * mcx: qubits = controls..., target last. unitary: matrix index bit j <-> qubits[j].
 * diagonal: e^{i phases[x]}, x = sub-index over its qubits (bit j <-> qubits[j]); the builder
 * qnn_circuit_diagonal puts it on all n qubits (a phase oracle). See gates.h. */
#ifndef QNN_CIRCUIT_H
#define QNN_CIRCUIT_H

#include <stddef.h>

#include "qnn/common.h"
#include "qnn/rng.h"
#include "qnn/gates.h"
#include "qnn/statevec.h"
#include "qnn/density.h"


/* Gate kinds are the qnn_gate_kind values of gates.h (QNN_G_H ... QNN_G_DIAGONAL). */

/* Kind <-> name ("h", "rx", "cphase", "mcx", ...). Returns -1 / NULL when unknown. */
int qnn_op_kind_from_name(const char *name);
const char *qnn_op_kind_name(int kind);
/* Fixed number of qubits of a kind (1, 2), or 0 for variable (mcx, mcz, unitary, diagonal). */
int qnn_op_kind_nqubits(int kind);
/* Number of angles of a kind (0, 1 or 3). */
int qnn_op_kind_nangles(int kind);

typedef struct qnn_angle {
    double offset; /* constant part */
    double scale;  /* factor on the parameter */
    int param;     /* parameter index, or -1 for a constant angle */
} qnn_angle;

static inline qnn_angle qnn_angle_const(double v) {
    qnn_angle a = {v, 0.0, -1};
    return a;
}
static inline qnn_angle qnn_angle_param(int index, double scale) {
    qnn_angle a = {0.0, scale, index};
    return a;
}

typedef struct qnn_op {
    int kind;          /* qnn_op_kind */
    int nq;            /* number of qubits */
    int qbuf[3];       /* qubits when nq <= 3 */
    int *qext;         /* qubits when nq > 3 (owned) */
    qnn_angle ang[3];  /* first qnn_op_kind_nangles(kind) are used */
    double *data;      /* unitary: 2*d*d doubles (re, im, row-major); diagonal: 2^n phases */
} qnn_op;

static inline const int *qnn_op_qubits(const qnn_op *op) {
    return op->nq <= 3 ? op->qbuf : op->qext;
}

typedef struct qnn_circuit qnn_circuit;

/* ---- life cycle ---- */
int qnn_circuit_new(qnn_circuit **out, int nqubits, qnn_error *err); /* 1 <= n <= 30 */
void qnn_circuit_free(qnn_circuit *c);
int qnn_circuit_copy(qnn_circuit **out, const qnn_circuit *c, qnn_error *err);

int qnn_circuit_nqubits(const qnn_circuit *c);
size_t qnn_circuit_ngates(const qnn_circuit *c);
const qnn_op *qnn_circuit_op(const qnn_circuit *c, size_t i);

/* ---- parameters (index order = order of first use/creation) ---- */
int qnn_circuit_nparams(const qnn_circuit *c);
/* Index of `name`, creating it (value 0) if new. Returns index >= 0, or -1 on OOM/bad name. */
int qnn_circuit_param(qnn_circuit *c, const char *name, qnn_error *err);
int qnn_circuit_param_index(const qnn_circuit *c, const char *name); /* -1 if missing */
const char *qnn_circuit_param_name(const qnn_circuit *c, int i);
double qnn_circuit_get_param(const qnn_circuit *c, int i);
const double *qnn_circuit_params(const qnn_circuit *c); /* nparams values */
int qnn_circuit_set_param(qnn_circuit *c, int i, double v, qnn_error *err); /* finite v */
int qnn_circuit_set_params(qnn_circuit *c, const double *v, qnn_error *err); /* all nparams */
/* Current numeric value of an angle of op. */
double qnn_circuit_angle_value(const qnn_circuit *c, const qnn_angle *a);

/* ---- building (every call checks qubits in range, distinct, finite angles, valid params) ---- */
/* Generic: kind with nq qubits and qnn_op_kind_nangles(kind) angles (may be NULL if 0). */
int qnn_circuit_add(qnn_circuit *c, int kind, const int *qubits, int nq, const qnn_angle *angles,
                    qnn_error *err);
int qnn_circuit_gate1(qnn_circuit *c, int kind, int q, qnn_error *err);
int qnn_circuit_gate2(qnn_circuit *c, int kind, int a, int b, qnn_error *err);
int qnn_circuit_rot1(qnn_circuit *c, int kind, int q, qnn_angle a, qnn_error *err);
int qnn_circuit_rot2(qnn_circuit *c, int kind, int a, int b, qnn_angle t, qnn_error *err);
int qnn_circuit_u3(qnn_circuit *c, int q, qnn_angle t, qnn_angle p, qnn_angle l, qnn_error *err);
int qnn_circuit_mcx(qnn_circuit *c, const int *controls, int nc, int target, qnn_error *err);
int qnn_circuit_mcz(qnn_circuit *c, const int *qubits, int nq, qnn_error *err);
/* m: 2*d*d doubles (re, im interleaved, row-major), d = 2^k; checked unitary to `tol`. */
int qnn_circuit_unitary_gate(qnn_circuit *c, const int *qubits, int k, const double *m,
                             double tol, qnn_error *err);
int qnn_circuit_diagonal(qnn_circuit *c, const double *phases, qnn_error *err); /* 2^n phases */

/* ---- structure ---- */
/* Appends the gates of `other` (parameters merged by name) with qubit i -> map[i]
 * (map may be NULL: identity; needs other->n <= c->n). */
int qnn_circuit_append(qnn_circuit *c, const qnn_circuit *other, const int *map, qnn_error *err);
/* New circuit: gates reversed and inverted, parameters kept by name (their angles negated). */
int qnn_circuit_inverse(qnn_circuit **out, const qnn_circuit *c, qnn_error *err);
/* Repeats the current gate list k >= 1 times in place (k = 1: no change). */
int qnn_circuit_repeat(qnn_circuit *c, int k, qnn_error *err);
int qnn_circuit_depth(const qnn_circuit *c);
/* counts[kind] for QNN_G_COUNT kinds. */
void qnn_circuit_count(const qnn_circuit *c, size_t counts[QNN_G_COUNT]);
/* New circuit of 1-qubit gates and CX only, equal to c up to a global phase: fixed 2-qubit
 * gates by CX conjugations, diagonals / mcz / mcx by their Walsh expansion (CX ladders + RZ,
 * no ancillas). General unitaries on >= 2 qubits are refused. See circuit_decompose.c. */
int qnn_circuit_decompose(const qnn_circuit *c, qnn_circuit **out, qnn_error *err);

/* ---- noise ---- */
/* A noise model: channels applied after every gate.
 *  p1: depolarizing probability on the qubit after each 1-qubit gate and on every touched qubit
 *      after each gate on >= 3 qubits;
 *  p2: two-qubit depolarizing probability on the pair after each 2-qubit gate;
 *  amp_damp, phase_damp (gamma), bit_flip, phase_flip (p): on every touched qubit after every
 *      gate. All in [0, 1]. Depolarizing(p): rho -> (1-p) rho + p/3 (X rho X + Y rho Y + Z rho Z)
 *      and the 15-Pauli analogue for two qubits (same convention as qnn_density). */
typedef struct qnn_noise {
    double p1, p2;
    double amp_damp, phase_damp, bit_flip, phase_flip;
    double readout; /* symmetric bit-flip probability of each measured bit: applied by the
                       Grover engine to register outcomes; circuit runs refuse it (it is not a
                       channel on the state) */
    int native;     /* 1: the circuit is first decomposed into 1-qubit gates + CX
                       (qnn_circuit_decompose), so the channels follow every native gate */
} qnn_noise;
int qnn_noise_check(const qnn_noise *nm, qnn_error *err);
/* Independent symmetric bit flips (probability e) of each of the n bits of an outcome
 * distribution over 2^n states, in place. */
void qnn_noise_readout(double *probs, int n, double e);
int qnn_noise_is_zero(const qnn_noise *nm);

/* ---- simulation ---- */
/* Applies the circuit to s. With noise (may be NULL), one Monte-Carlo trajectory drawn from rng. */
int qnn_circuit_run(const qnn_circuit *c, struct qnn_state *s, const qnn_noise *noise,
                    qnn_rng *rng, qnn_error *err);
/* Applies the circuit to a density matrix with exact noise channels (noise may be NULL). */
int qnn_circuit_run_density(const qnn_circuit *c, struct qnn_density *d, const qnn_noise *noise,
                            qnn_error *err);
/* Full unitary (n <= 10): out holds 2*d*d doubles, row-major re/im, d = 2^n. */
int qnn_circuit_unitary(const qnn_circuit *c, double *out, qnn_error *err);

/* ---- gradients ---- */
/* Observables are arrays of qnn_pauli_term (statevec.h: coef, x/z bit masks). */
/* Adjoint differentiation. state_in may be NULL (|0...0>). Writes <O> to *value and
 * d<O>/d params[i] to grad[i] (nparams entries). Uses 3 state vectors. */
int qnn_circuit_gradient(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                         const struct qnn_state *state_in, double *value, double *grad,
                         qnn_error *err);
/* Vector-Jacobian product of the output probabilities: grad[i] = sum_x dprobs[x] dp_x/dparam_i.
 * dprobs has 2^n entries; probs (may be NULL) receives the 2^n probabilities. */
int qnn_circuit_vjp(const qnn_circuit *c, const double *dprobs, const struct qnn_state *state_in,
                    double *probs, double *grad, qnn_error *err);
/* The same from the circuit's output state `final` (the state run through c with its current
 * parameter values, e.g. cached from a forward pass): skips the forward run. `final` is not
 * changed; two work state vectors are allocated. */
int qnn_circuit_vjp_from(const qnn_circuit *c, const double *dprobs, const struct qnn_state *final,
                         double *grad, qnn_error *err);
/* The adjoint backward sweep on caller-owned vectors: psi = the circuit's output state (for its
 * current parameter values), lam = A psi for a Hermitian A (e.g. a weighted sum of observables
 * plus diag(dprobs)); both are work vectors and are changed. grad[nparams] is overwritten with
 * d<psi|A|psi>/dparams (each transition element counted once: the factor 2 is included).
 * undo_all = 1: every gate is undone, so on return lam = U^dagger A psi_N (the gradient with
 * respect to a real input state is 2 Re lam) and psi = the input state. */
int qnn_circuit_adjoint(const qnn_circuit *c, struct qnn_state *psi, struct qnn_state *lam,
                        double *grad, int undo_all, qnn_error *err);
/* Parameter-shift rule (two-term for gates whose generator has eigenvalues +-1/2 or {0,1}:
 * rx ry rz phase u3 rxx ryy rzz rzy cphase; four-term rule for crx cry crz). */
int qnn_circuit_gradient_shift(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                               const struct qnn_state *state_in, double *value, double *grad,
                               qnn_error *err);
/* <O> of the circuit's output (forward pass only). */
int qnn_circuit_expect(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                       const struct qnn_state *state_in, double *value, qnn_error *err);
/* Checks an observable for n qubits (masks below 2^n, finite coefs, nterms >= 1). */
int qnn_circuit_check_observable(const qnn_pauli_term *terms, int nterms, int n, qnn_error *err);

/* ---- text ---- */
/* Text drawing, one row per qubit (UTF-8). *out is malloc'ed; caller frees. */
int qnn_circuit_draw(const qnn_circuit *c, char **out, qnn_error *err);
/* OpenQASM 2.0 (include "qelib1.inc"); angles written as their current numeric values; gates
 * without a qelib1 name are decomposed exactly into qelib1 gates (see qasm.c). *out malloc'ed. */
int qnn_circuit_to_qasm(const qnn_circuit *c, char **out, qnn_error *err);
/* Parses OpenQASM 2.0. Errors (QNN_EFORMAT) name the line number and its text. */
int qnn_circuit_from_qasm(qnn_circuit **out, const char *text, qnn_error *err);

#endif
