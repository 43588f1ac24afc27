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
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/rng.h"
#include "qnn/gates.h"
#include "qnn/statevec.h"
#include "qnn/density.h"


/* Op kinds. Unitary gates are the qnn_gate_kind values of gates.h (QNN_G_H ... QNN_G_DIAGONAL,
 * all < QNN_G_COUNT). Non-unitary ops follow (they are never fused; a gate-fusion pass must
 * treat each of them, and every op with a classical condition (cmask != 0), as a barrier):
 *   QNN_OP_MEASURE  qubits[0] -> classical bit op->cbit (projective, Z basis; records the bit)
 *   QNN_OP_RESET    qubits[0] -> |0> (measure and flip; nothing recorded)
 *   QNN_OP_BARRIER  qubits[0..nq-1]: no action (kept for export; a fusion boundary)
 * Any op may carry a classical condition: it acts only when (bits & cmask) == cval, bits = the
 * classical register (bit j = classical bit j, all 0 at the start of a run). */
enum {
    QNN_OP_MEASURE = QNN_G_COUNT,
    QNN_OP_RESET,
    QNN_OP_BARRIER,
    QNN_OP_COUNT
};
/* Classical bits per circuit (bits are held in one uint64_t). */
#define QNN_CIRCUIT_MAXBITS 64

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
    int cbit;          /* QNN_OP_MEASURE: classical bit written (0-based); unused otherwise */
    uint64_t cmask;    /* classical condition: acts only when (bits & cmask) == cval */
    uint64_t cval;     /* (cmask 0 = unconditional; cval has no bits outside cmask) */
} qnn_op;

/* 1 if op is an unconditional unitary gate (kind < QNN_G_COUNT, cmask == 0). */
static inline int qnn_op_is_gate(const qnn_op *op) {
    return op->kind >= 0 && op->kind < QNN_G_COUNT && op->cmask == 0;
}

static inline const int *qnn_op_qubits(const qnn_op *op) {
    return op->nq <= 3 ? op->qbuf : op->qext;
}

typedef struct qnn_circuit qnn_circuit;

/* ---- life cycle ---- */
int qnn_circuit_new(qnn_circuit **out, int nqubits, qnn_error *err); /* 1 <= n <= 30 */
void qnn_circuit_free(qnn_circuit *c);
/* C memory held (gate list, dense unitary/diagonal data, parameters); O(1). */
size_t qnn_circuit_bytes(const qnn_circuit *c);
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
/* counts[kind] for QNN_OP_COUNT kinds (gates, measure, reset, barrier). */
void qnn_circuit_count(const qnn_circuit *c, size_t counts[QNN_OP_COUNT]);

/* ---- classical registers, measurement, reset, barriers, conditions ---- */
/* Classical bits are numbered 0..nbits-1 across registers in declaration order. */
int qnn_circuit_nbits(const qnn_circuit *c);
int qnn_circuit_ncregs(const qnn_circuit *c);
/* Name of register i (NULL if out of range); *offset, *size (may be NULL) get its bits. */
const char *qnn_circuit_creg(const qnn_circuit *c, int i, int *offset, int *size);
int qnn_circuit_creg_index(const qnn_circuit *c, const char *name); /* -1 if missing */
/* Declares a register of `size` >= 1 bits (total <= QNN_CIRCUIT_MAXBITS); name: identifier
 * ([A-Za-z_][A-Za-z0-9_]*, <= 64 chars), new. Returns its first bit index (>= 0) or -1. */
int qnn_circuit_add_creg(qnn_circuit *c, const char *name, int size, qnn_error *err);
int qnn_circuit_measure(qnn_circuit *c, int q, int bit, qnn_error *err);
int qnn_circuit_reset(qnn_circuit *c, int q, qnn_error *err);
int qnn_circuit_barrier(qnn_circuit *c, const int *qubits, int nq, qnn_error *err);
/* Makes ops [from, ngates) conditional on (bits & mask) == value, combined (AND) with any
 * condition they already have; ops whose combined condition can never hold are removed. */
int qnn_circuit_condition(qnn_circuit *c, size_t from, uint64_t mask, uint64_t value,
                          qnn_error *err);
/* Removes ops [n, ngates) (no-op if n >= ngates). */
void qnn_circuit_truncate(qnn_circuit *c, size_t n);
/* 1 if every op is an unconditional gate or a barrier (the circuit is a unitary). */
int qnn_circuit_is_unitary(const qnn_circuit *c);
/* 1 if the circuit is a unitary followed by measurements only: no reset, no condition, and no
 * gate acts on a qubit after it was measured. Its computational-basis probabilities are then
 * those of the unitary part. */
int qnn_circuit_measures_terminal(const qnn_circuit *c);
/* New circuit holding only the gates of c (measurements and barriers dropped); NULL-safe. */
int qnn_circuit_gates_only(qnn_circuit **out, const qnn_circuit *c, qnn_error *err);
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
/* The same with an explicit fusion switch: fuse = 1 runs the compiled program (fused blocks,
 * see below), 0 gate by gate, -1 the default (qnn_fusion_default()). Noisy runs are always
 * gate by gate (the noise acts after every gate). */
int qnn_circuit_run_ex(const qnn_circuit *c, struct qnn_state *s, const qnn_noise *noise,
                       qnn_rng *rng, int fuse, qnn_error *err);
/* Applies the circuit to a density matrix with exact noise channels (noise may be NULL). */
int qnn_circuit_run_density(const qnn_circuit *c, struct qnn_density *d, const qnn_noise *noise,
                            qnn_error *err);
/* Full unitary (n <= 10): out holds 2*d*d doubles, row-major re/im, d = 2^n. */
int qnn_circuit_unitary(const qnn_circuit *c, double *out, qnn_error *err);

/* ---- runs with measurement and classical control ---- */
/* One trajectory on s: gates (with noise, as qnn_circuit_run), measurements collapse s and
 * record the bit, resets, conditions on the bits recorded so far. *bits (may be NULL) gets the
 * classical register. rng is needed when the circuit measures or resets. */
int qnn_circuit_run_shot(const qnn_circuit *c, struct qnn_state *s, const qnn_noise *noise,
                         qnn_rng *rng, uint64_t *bits, qnn_error *err);
/* Exact run on a density matrix: measurement as a channel, classical control as a mixture
 * over the classical register (one branch per distinct register value). d gets the final
 * state (sum over branches). If values/probs are not NULL they get up to `cap` entries of
 * the classical distribution (register value, probability; ascending values); *count gets the
 * number of outcomes (QNN_ERANGE if more than cap). Branches below 1e-15 probability are
 * dropped. */
int qnn_circuit_run_density_bits(const qnn_circuit *c, struct qnn_density *d,
                                 const qnn_noise *noise, uint64_t *values, double *probs,
                                 size_t cap, size_t *count, qnn_error *err);
/* Samples `shots` runs from state_in (NULL: |0..0>), out[shot] = classical register. Without
 * noise the unitary prefix runs once; if the measurements are terminal and there is no noise,
 * the register is sampled from the final state directly (same distribution). */
int qnn_circuit_sample(const qnn_circuit *c, const struct qnn_state *state_in,
                       const qnn_noise *noise, size_t shots, qnn_rng *rng, uint64_t *out,
                       qnn_error *err);
/* QNN_EINVAL if sampling `shots` one trajectory each would exceed 2^34 amplitude updates
 * (the message gives the largest allowed shot count); terminal measurements without noise are
 * always allowed. qnn_circuit_sample checks it per call. */
int qnn_circuit_sample_check(const qnn_circuit *c, const qnn_noise *noise, size_t shots,
                             qnn_error *err);
/* Exact computational-basis probabilities (2^n) of the output: from the state vector for a
 * unitary circuit or one with terminal measurements only, else from a density matrix (n <=
 * 14); otherwise QNN_EINVAL with a message pointing to sampling. */
int qnn_circuit_probs(const qnn_circuit *c, const struct qnn_state *state_in, double *probs,
                      qnn_error *err);
/* ---- the circuit compiler (gate fusion, circuit_fuse.c) ----
 * Consecutive gates (up to commutation of gates on disjoint qubits) on a few qubits are merged
 * into dense blocks of up to 5 qubits, diagonal blocks of up to 8 qubits when all their gates
 * are diagonal, or basis permutations on any qubits when all are X / CX / SWAP; a cost model in passes over the state decides whether a block runs fused
 * or gate by gate. The program is cached on the circuit, re-planned when its gates change and
 * re-bound (matrices only) when angle values change. Results equal the gate-by-gate run to
 * rounding (1e-12). Unknown (e.g. non-unitary) op kinds are barriers nothing is moved across. */
typedef struct qnn_fuse_stats {
    size_t gates;         /* ops in the circuit */
    size_t blocks;        /* kernel calls of the compiled program */
    size_t dense_blocks;  /* fused dense blocks */
    size_t diag_blocks;   /* fused diagonal blocks */
    size_t perm_blocks;   /* fused X / CX / SWAP blocks (one basis permutation each) */
    size_t single_ops;    /* ops run by themselves */
    int max_k;            /* largest fused block (qubits) */
    double passes;        /* predicted cost, in passes of a dense 1-qubit gate */
    double unfused_passes; /* the same gate by gate */
} qnn_fuse_stats;
enum { QNN_FUSE_GATES = 0, QNN_FUSE_DENSE = 1, QNN_FUSE_DIAG = 2, QNN_FUSE_PERM = 3 };
typedef struct qnn_fuse_block {
    int type;            /* QNN_FUSE_GATES: its gates one by one; DENSE / DIAG: one fused kernel */
    int k;               /* qubits of a fused block (0 for GATES) */
    const int *qubits;   /* k qubits (bit j of the block matrix index = qubits[j]) */
    size_t ngates;
    const size_t *gates; /* 0-based op indices, in application order */
    double cost;         /* predicted passes */
    const double *matrix; /* DENSE: 2^k x 2^k (re, im); DIAG: 2^k entries; else NULL */
} qnn_fuse_block;
/* Plans and binds the program now (runs do it lazily); stats may be NULL. */
int qnn_circuit_compile(const qnn_circuit *c, qnn_fuse_stats *stats, qnn_error *err);
/* Blocks of the last compiled program (valid until the circuit changes or runs again). */
size_t qnn_circuit_fused_nblocks(const qnn_circuit *c);
int qnn_circuit_fused_block(const qnn_circuit *c, size_t i, qnn_fuse_block *out);
/* 0 when the environment variable QNN_FUSE is 0 / off / false (benchmarks), else 1. */
int qnn_fusion_default(void);

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
/* Which adjoint sweep qnn_circuit_gradient and qnn_circuit_vjp use. STORE: the forward pass
 * keeps the state at the input of every fused block with parameters and the backward sweep
 * transforms lambda only (less arithmetic; memory: one state per block with parameters).
 * UNCOMPUTE: the state is un-computed block by block next to lambda (3 state vectors). AUTO
 * (default): STORE from 11 qubits when the kept states fit in the budget (default 4 MB: beyond
 * the caches STORE is slower, see circuit_grad.c), else UNCOMPUTE. mode -1 and budget 0
 * restore the defaults, taken from the environment: QNN_ADJOINT = auto | store | uncompute,
 * QNN_ADJOINT_MEM = budget in MB. Process-wide; not for use while gradients run. */
enum { QNN_ADJOINT_AUTO = 0, QNN_ADJOINT_STORE = 1, QNN_ADJOINT_UNCOMPUTE = 2 };
void qnn_adjoint_config(int mode, size_t budget_bytes);
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
/* version 2 (as above) or 3 (OPENQASM 3.0, stdgates.inc, named parameters as `input float`,
 * angles as offset + scale * name). */
int qnn_circuit_to_qasm_version(const qnn_circuit *c, int version, char **out, qnn_error *err);
/* Parses OpenQASM 2.0 or the OpenQASM 3 subset (see qasm.c). Errors (QNN_EFORMAT) name the
 * line, the column and the offending text. */
int qnn_circuit_from_qasm(qnn_circuit **out, const char *text, qnn_error *err);

#endif
