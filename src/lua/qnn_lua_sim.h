/* Private helpers shared by the State (state.c) and Density (density.c) bindings: gate
 * argument parsing, qubit lists, Pauli observables. Implemented in state.c. */
#ifndef QNN_LUA_SIM_H
#define QNN_LUA_SIM_H
#include "qnn_lua.h"
#include "qnn/gates.h"
#include "qnn/statevec.h"

/* Applies a checked gate to the object (State or Density). */
typedef int (*qnn_lua_gate_apply)(void *obj, qnn_gate_kind kind, const int *q, int nq,
                                  const double *params, qnn_error *err);

/* Parses the arguments of gate method `kind` (self at 1, args from 2) for an n-qubit object,
 * applies it, and returns 1 with self on top (chainable). Raises Lua errors on bad input. */
int qnn_lua_sim_gate(lua_State *L, void *obj, int n, qnn_gate_kind kind, qnn_lua_gate_apply apply);

/* Reads an integer or a sequence of integers at arg: qubits in [0, n-1], distinct, count in
 * [mink, maxk]. Returns the count. */
int qnn_lua_sim_qubits(lua_State *L, int arg, const char *argname, int n, int *q, int mink,
                       int maxk);

/* Reads a Pauli observable at arg: "XZI" (length n, char k <-> qubit k) or a list of
 * {coef, "XZI"} terms (or one such term). Pushes a userdata holding the terms (keep it on the
 * stack while using them) and returns the pointer; *nt gets the count. */
qnn_pauli_term *qnn_lua_sim_pauli(lua_State *L, int arg, int n, int *nt);

/* Counts table from outcomes. Pushes {outcome = count, ...}. */
void qnn_lua_sim_push_counts(lua_State *L, const uint64_t *out, size_t m);

/* Scratch memory owned by a new userdata pushed on the stack (freed by the GC, so it is safe
 * across Lua errors). Raises a Lua error if it cannot be allocated. */
void *qnn_lua_sim_scratch(lua_State *L, size_t bytes);

/* Gate methods shared by State and Density: X(name, KIND, "(args)", "doc"). */
#define QNN_Q "q: qubit, integer in [0, n-1]."
#define QNN_AB "a, b: distinct qubits, integers in [0, n-1]."
#define QNN_CT "control, target: distinct qubits, integers in [0, n-1]."
#define QNN_TH " theta: finite number (radians)."
#define QNN_LUA_GATE_LIST(X)                                                                    \
    X(h, QNN_G_H, "(q)", "Hadamard.\n" QNN_Q "\nReturns self.")                                 \
    X(x, QNN_G_X, "(q)", "Pauli X (NOT).\n" QNN_Q "\nReturns self.")                            \
    X(y, QNN_G_Y, "(q)", "Pauli Y.\n" QNN_Q "\nReturns self.")                                  \
    X(z, QNN_G_Z, "(q)", "Pauli Z.\n" QNN_Q "\nReturns self.")                                  \
    X(s, QNN_G_S, "(q)", "S = diag(1, i).\n" QNN_Q "\nReturns self.")                           \
    X(sdg, QNN_G_SDG, "(q)", "S^dagger = diag(1, -i).\n" QNN_Q "\nReturns self.")               \
    X(t, QNN_G_T, "(q)", "T = diag(1, e^{i pi/4}).\n" QNN_Q "\nReturns self.")                  \
    X(tdg, QNN_G_TDG, "(q)", "T^dagger.\n" QNN_Q "\nReturns self.")                             \
    X(sx, QNN_G_SX, "(q)", "Square root of X.\n" QNN_Q "\nReturns self.")                       \
    X(sxdg, QNN_G_SXDG, "(q)", "Inverse square root of X.\n" QNN_Q "\nReturns self.")           \
    X(id, QNN_G_ID, "(q)", "Identity (does nothing).\n" QNN_Q "\nReturns self.")                \
    X(rx, QNN_G_RX, "(q, theta)", "RX(theta) = exp(-i theta X/2).\n" QNN_Q QNN_TH "\nReturns self.") \
    X(ry, QNN_G_RY, "(q, theta)", "RY(theta) = exp(-i theta Y/2).\n" QNN_Q QNN_TH "\nReturns self.") \
    X(rz, QNN_G_RZ, "(q, theta)", "RZ(theta) = exp(-i theta Z/2).\n" QNN_Q QNN_TH "\nReturns self.") \
    X(phase, QNN_G_PHASE, "(q, lambda)",                                                        \
      "PHASE(lambda) = diag(1, e^{i lambda}) (qelib1 u1).\n" QNN_Q                              \
      " lambda: finite number.\nReturns self.")                                                 \
    X(u3, QNN_G_U3, "(q, theta, phi, lambda)",                                                  \
      "OpenQASM 2 U3(theta, phi, lambda).\n" QNN_Q " theta, phi, lambda: finite numbers.\n"     \
      "Returns self.")                                                                          \
    X(cx, QNN_G_CX, "(control, target)", "Controlled X (CNOT).\n" QNN_CT "\nReturns self.")     \
    X(cy, QNN_G_CY, "(control, target)", "Controlled Y.\n" QNN_CT "\nReturns self.")            \
    X(cz, QNN_G_CZ, "(control, target)", "Controlled Z.\n" QNN_CT "\nReturns self.")            \
    X(swap, QNN_G_SWAP, "(a, b)", "Swaps two qubits.\n" QNN_AB "\nReturns self.")               \
    X(crx, QNN_G_CRX, "(control, target, theta)", "Controlled RX.\n" QNN_CT QNN_TH "\nReturns self.") \
    X(cry, QNN_G_CRY, "(control, target, theta)", "Controlled RY.\n" QNN_CT QNN_TH "\nReturns self.") \
    X(crz, QNN_G_CRZ, "(control, target, theta)", "Controlled RZ.\n" QNN_CT QNN_TH "\nReturns self.") \
    X(cphase, QNN_G_CPHASE, "(control, target, lambda)",                                        \
      "Controlled PHASE(lambda) (qelib1 cu1).\n" QNN_CT " lambda: finite number.\nReturns self.") \
    X(rxx, QNN_G_RXX, "(a, b, theta)", "exp(-i theta/2 X_a X_b).\n" QNN_AB QNN_TH "\nReturns self.") \
    X(ryy, QNN_G_RYY, "(a, b, theta)", "exp(-i theta/2 Y_a Y_b).\n" QNN_AB QNN_TH "\nReturns self.") \
    X(rzz, QNN_G_RZZ, "(a, b, theta)", "exp(-i theta/2 Z_a Z_b).\n" QNN_AB QNN_TH "\nReturns self.") \
    X(rzy, QNN_G_RZY, "(a, b, theta)", "exp(-i theta/2 Z_a Y_b).\n" QNN_AB QNN_TH "\nReturns self.") \
    X(mcx, QNN_G_MCX, "(controls, target)",                                                     \
      "X on target when all controls are 1.\ncontrols: table of distinct qubits (may be "       \
      "empty) or one integer; target: qubit not among the controls; all in [0, n-1].\n"         \
      "Returns self.")                                                                          \
    X(mcz, QNN_G_MCZ, "(qubits)",                                                               \
      "Phase -1 on basis states where all listed qubits are 1.\nqubits: table of 1..n "        \
      "distinct qubits in [0, n-1] (or one integer).\nReturns self.")                          \
    X(unitary, QNN_G_UNITARY, "(qubits, M)",                                                    \
      "Dense unitary on k = #qubits qubits (1 <= k <= 10).\nqubits: table of distinct qubits " \
      "in [0, n-1] (or one integer); bit j of the matrix index is qubits[j+1] (first listed = " \
      "least significant).\nM: table of 2^k rows of 2^k entries, each a number or {re, im}; "   \
      "must be unitary to 1e-10.\nReturns self.")                                               \
    X(diagonal, QNN_G_DIAGONAL, "([qubits,] phases)",                                           \
      "Multiplies basis state x by e^{i phases[x+1]} (a phase oracle).\nphases: table (or "     \
      "Tensor) of 2^n finite numbers, or of 2^k numbers with a qubits table (sub-index bit j = " \
      "qubits[j+1]).\nReturns self.")

#endif
