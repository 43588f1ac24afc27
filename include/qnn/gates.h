/* Gate definitions shared by State, Density and Circuit.
 *
 * Conventions (used everywhere in qnnlab):
 *  - Qubit 0 is the least significant bit of a basis-state index.
 *  - Matrices are dense complex, row-major, interleaved (re, im): element (r, c) of a
 *    d x d matrix is m[2*(r*d + c)] + i*m[2*(r*d + c) + 1].
 *  - A gate acting on qubits (q[0], q[1], ..., q[k-1]) has a 2^k x 2^k matrix whose row/column
 *    index has bit j = state of q[j]. So q[0] is the LEAST significant bit of the matrix index
 *    (same rule as for basis states). Example: CX on (control c, target t) = qubits {c, t}:
 *    index = c_bit + 2*t_bit, it swaps indices 1 <-> 3.
 *  - Rotations: RX(t) = exp(-i t X/2), RY(t) = exp(-i t Y/2), RZ(t) = exp(-i t Z/2) =
 *    diag(e^{-it/2}, e^{it/2}); PHASE(l) = diag(1, e^{il}); U3(t, p, l) as OpenQASM 2:
 *    [[cos(t/2), -e^{il} sin(t/2)], [e^{ip} sin(t/2), e^{i(p+l)} cos(t/2)]].
 *  - Two-qubit rotations on qubits {a, b}: RXX(t) = exp(-i t/2 X_a X_b), RYY, RZZ likewise,
 *    RZY(t) = exp(-i t/2 Z_a Y_b) (Z on the first listed qubit, Y on the second).
 *  - Controlled gates list the control first: CX/CY/CZ/CRX/CRY/CRZ/CPHASE on {control, target}.
 *  - MCX on {c_0, ..., c_{k-1}, target} (k >= 0 controls), MCZ on {q_0, ..., q_{k-1}} (k >= 1,
 *    phase -1 when all are 1).
 *  - UNITARY on k qubits: params = the 2^k x 2^k matrix (2*4^k doubles, layout above).
 *  - DIAGONAL on k qubits: params = 2^k phases; basis sub-index x (bit j = q[j]) gets e^{i phi_x}.
 *    DIAGONAL on qubits {0, ..., n-1} is a full phase oracle.
 */
#ifndef QNN_GATES_H
#define QNN_GATES_H
#include <stddef.h>
#include <stdint.h>
#include "qnn/common.h"

typedef enum qnn_gate_kind {
    QNN_G_H = 0,
    QNN_G_X,
    QNN_G_Y,
    QNN_G_Z,
    QNN_G_S,
    QNN_G_SDG,
    QNN_G_T,
    QNN_G_TDG,
    QNN_G_SX,
    QNN_G_SXDG,
    QNN_G_ID,
    QNN_G_RX,
    QNN_G_RY,
    QNN_G_RZ,
    QNN_G_PHASE,
    QNN_G_U3,
    QNN_G_CX,
    QNN_G_CY,
    QNN_G_CZ,
    QNN_G_SWAP,
    QNN_G_CRX,
    QNN_G_CRY,
    QNN_G_CRZ,
    QNN_G_CPHASE,
    QNN_G_RXX,
    QNN_G_RYY,
    QNN_G_RZZ,
    QNN_G_RZY,
    QNN_G_MCX,
    QNN_G_MCZ,
    QNN_G_UNITARY,
    QNN_G_DIAGONAL,
    QNN_G_COUNT
} qnn_gate_kind;

#define QNN_GATE_MAX_PARAMS 3
/* Largest k for UNITARY (matrix 2^k x 2^k). */
#define QNN_GATE_MAX_UNITARY_QUBITS 10

typedef struct qnn_gate_info {
    qnn_gate_kind kind;
    const char *name;  /* Lua method name: "h", "rx", "cphase", "mcx", "unitary", ... */
    const char *qasm;  /* OpenQASM 2 qelib1.inc name ("u1" for phase, "cu1" for cphase), or NULL */
    int nqubits;       /* 1 or 2; 0 = variable (MCX, MCZ, UNITARY, DIAGONAL) */
    int nparams;       /* angle parameters (0..3); UNITARY/DIAGONAL carry matrix data instead */
    int diagonal;      /* 1 if the matrix is diagonal in the computational basis */
    int self_inverse;  /* 1 if U = U^dagger for all parameters */
} qnn_gate_info;

/* Info for a kind (NULL if out of range). */
const qnn_gate_info *qnn_gate_get_info(qnn_gate_kind kind);
/* Kind from a Lua method name or a qelib1 name ("u1" -> PHASE, "p" -> PHASE, "cu1"/"cp" ->
 * CPHASE, "cnot" -> CX, "ccx"/"toffoli" not included: use MCX); -1 if unknown. */
int qnn_gate_lookup(const char *name);

/* Dense matrix of a fixed-arity gate (nqubits 1 or 2): m gets 2*d*d doubles, d = 2 or 4.
 * Returns QNN_EINVAL for variable-arity kinds or non-finite params. */
int qnn_gate_matrix(qnn_gate_kind kind, const double *params, double *m);
/* d/d params[p] of the matrix above (same layout); QNN_EINVAL if p >= nparams. */
int qnn_gate_matrix_deriv(qnn_gate_kind kind, const double *params, int p, double *dm);
/* The inverse of a fixed-arity or MCX/MCZ gate as a gate of (possibly) another kind on the same
 * qubits: S -> SDG, RX(t) -> RX(-t), U3(t,p,l) -> U3(-t,-l,-p), ... UNITARY/DIAGONAL: QNN_EINVAL
 * (invert the data yourself, or use qnn_state_apply_gate_inv). */
int qnn_gate_inverse(qnn_gate_kind kind, const double *params, qnn_gate_kind *inv_kind,
                     double *inv_params);

/* Validates one gate application on an n-qubit register before anything is touched:
 * kind known; nq matches the arity (MCX nq >= 1, MCZ nq >= 1, UNITARY 1 <= nq <= 10,
 * DIAGONAL 1 <= nq <= n); every qubit in [0, n); no duplicates; the nparams angle parameters
 * finite. UNITARY/DIAGONAL data are checked for finiteness; unitarity is checked separately
 * (qnn_matrix_is_unitary). Message names the problem. */
int qnn_gate_check(qnn_gate_kind kind, const int *qubits, int nq, int n, const double *params,
                   qnn_error *err);

/* 1 if the d x d complex matrix m satisfies |M^dagger M - I| <= tol elementwise. */
int qnn_matrix_is_unitary(const double *m, size_t d, double tol);
/* out = conj-transpose of the d x d matrix m (out != m). */
void qnn_matrix_dagger(const double *m, size_t d, double *out);

#endif
