/* State vectors: n qubits (1..30), 2^n complex double amplitudes, interleaved (re, im),
 * 64-byte aligned. Qubit 0 is the least significant bit of a basis index (see gates.h for the
 * matrix conventions). Kernels use OpenMP only when dim >= QNN_STATE_OMP_MIN_DIM.
 * Functions returning int return a qnn_status and fill err (may be NULL) on failure; they check
 * their arguments before touching memory. */
#ifndef QNN_STATEVEC_H
#define QNN_STATEVEC_H
#include <stddef.h>
#include <stdint.h>
#include "qnn/common.h"
#include "qnn/gates.h"
#include "qnn/rng.h"

#define QNN_STATE_MAX_QUBITS 30
#define QNN_STATE_OMP_MIN_DIM ((size_t)1 << 14)

typedef struct qnn_state {
    int n;        /* qubits */
    size_t dim;   /* 2^n */
    double *amp;  /* 2*dim doubles: re, im of amplitude x at amp[2x], amp[2x+1]; 64-byte
                     aligned from qnn_state_init (a hand-built struct needs >= 16) */
} qnn_state;

/* A Pauli term coef * P, P = tensor product over qubits; qubit k carries X if bit k of x only,
 * Z if bit k of z only, Y if both (Y = i X Z), I if neither. */
typedef struct qnn_pauli_term {
    double coef;
    uint64_t x, z;
} qnn_pauli_term;

/* Real-valued phase callback for qnn_state_apply_phase_fn: returns phi(x). */
typedef double (*qnn_phase_fn)(void *ud, size_t x);

/* ---- lifetime ---- */
/* Would a state (or `copies` states) on n qubits fit? QNN_EINVAL for n out of [1, 30],
 * QNN_ENOMEM if copies * 16 * 2^n bytes > qnn_max_bytes(). */
int qnn_state_check_size(int n, size_t copies, qnn_error *err);
/* Initialise a caller-owned struct to |0...0> (allocates amp). Nothing allocated on error. */
int qnn_state_init(qnn_state *s, int n, qnn_error *err);
void qnn_state_release(qnn_state *s); /* frees amp, zeroes the struct; safe on zeroed struct */
int qnn_state_create(qnn_state **out, int n, qnn_error *err); /* heap struct + init */
void qnn_state_free(qnn_state *s);                            /* release + free; NULL ok */
int qnn_state_copy(qnn_state **out, const qnn_state *src, qnn_error *err);
/* dst must have the same n (QNN_EINVAL otherwise). */
int qnn_state_copy_into(qnn_state *dst, const qnn_state *src, qnn_error *err);

/* ---- setting ---- */
void qnn_state_set_zero(qnn_state *s);                 /* |0...0> */
int qnn_state_set_basis(qnn_state *s, size_t idx, qnn_error *err); /* |idx> */
/* amps: 2*dim doubles (interleaved). All must be finite; not normalised automatically. */
int qnn_state_set_amps(qnn_state *s, const double *amps, qnn_error *err);
double qnn_state_norm(const qnn_state *s);             /* sqrt(sum |a_x|^2) */
int qnn_state_normalize(qnn_state *s, qnn_error *err);  /* QNN_EINVAL if norm is 0 or not finite */
/* Multiply every amplitude by (re + i im). */
void qnn_state_scale(qnn_state *s, double re, double im);
/* y += (re + i im) * x (same n). */
int qnn_state_axpy(qnn_state *y, double re, double im, const qnn_state *x, qnn_error *err);

/* ---- gates (no unitarity check: derivative matrices may be applied too) ---- */
/* 2x2 matrix m on qubit q, only on basis states whose bits in ctrl_mask are all 1
 * (ctrl_mask 0 = uncontrolled; must not contain q; bits must be < n). */
int qnn_state_apply_1q(qnn_state *s, int q, const double *m, uint64_t ctrl_mask, qnn_error *err);
/* 4x4 matrix on qubits {q0, q1} (matrix index bit 0 = q0, bit 1 = q1), q0 != q1. */
int qnn_state_apply_2q(qnn_state *s, int q0, int q1, const double *m, qnn_error *err);
/* 2^k x 2^k matrix on qubits q[0..k-1] (bit j of the matrix index = q[j]), 1 <= k <= 10. */
int qnn_state_apply_kq(qnn_state *s, const int *q, int k, const double *m, qnn_error *err);
/* amplitude x *= dg[sub] (complex, 2^k entries re/im interleaved; sub bit j = q[j]); the
 * diagonal of a fused block. No unit-modulus check. */
int qnn_state_apply_diag_complex(qnn_state *s, const int *q, int k, const double *dg,
                                 qnn_error *err);
/* Basis permutation given by an invertible affine map over the index bits: the new amplitude
 * of y is the old amplitude of g(y) = shift ^ (XOR of col[j] over the set bits j of y); col has
 * n entries (the map must be a bijection: not checked). A circuit of X, CX and SWAP gates is
 * such a map (circuit_fuse.c). Uses one temporary copy of the state. */
int qnn_state_permute_linear(qnn_state *s, const uint64_t *col, uint64_t shift, qnn_error *err);
/* Full-register phase oracle: amplitude x *= e^{i phases[x]}, phases has dim entries
 * (phase 0 leaves an amplitude untouched, +-pi negates it exactly). */
int qnn_state_apply_diagonal(qnn_state *s, const double *phases, qnn_error *err);
/* Same on a qubit subset: sub-index (bit j = q[j]) selects phases[sub] (2^k entries). */
int qnn_state_apply_diagonal_sub(qnn_state *s, const int *q, int k, const double *phases,
                                 qnn_error *err);
/* amplitude x *= e^{i fn(ud, x)} (called once per x, serially). */
int qnn_state_apply_phase_fn(qnn_state *s, qnn_phase_fn fn, void *ud, qnn_error *err);
/* X on target when all controls are 1 (nc >= 0); Z-phase -1 when all of q[0..k-1] are 1. */
int qnn_state_apply_mcx(qnn_state *s, const int *controls, int nc, int target, qnn_error *err);
int qnn_state_apply_mcz(qnn_state *s, const int *q, int k, qnn_error *err);
/* Any gate of gates.h (qubit order and params as documented there); checked with
 * qnn_gate_check (UNITARY is not checked for unitarity here). Uses fast paths for
 * H, X, Y, Z, S, T, CX, CZ, SWAP, RZ, RY, PHASE, diagonal gates, ... */
int qnn_state_apply_gate(qnn_state *s, qnn_gate_kind kind, const int *qubits, int nq,
                         const double *params, qnn_error *err);
/* Applies the inverse (U^dagger) of that gate. */
int qnn_state_apply_gate_inv(qnn_state *s, qnn_gate_kind kind, const int *qubits, int nq,
                             const double *params, qnn_error *err);

/* ---- Pauli operators ---- */
/* Parses "XIZY" (char k <-> qubit k; I X Y Z, lower case accepted) of length exactly n into t
 * (coef set to 1). QNN_EINVAL with a message on bad char or length. */
int qnn_pauli_parse(const char *str, int n, qnn_pauli_term *t, qnn_error *err);
/* s <- coef * P s. */
void qnn_state_apply_pauli(qnn_state *s, const qnn_pauli_term *t);
/* out <- sum_k coef_k P_k in (out != in, same n). */
int qnn_state_apply_observable(qnn_state *out, const qnn_state *in, const qnn_pauli_term *t,
                               int nt, qnn_error *err);
/* sum_k coef_k <psi|P_k|psi> (real part; exact for Hermitian terms). */
double qnn_state_expect(const qnn_state *s, const qnn_pauli_term *t, int nt);
/* <a|b> (same n; returns 0 and sets QNN_EINVAL in err if n differs). */
int qnn_state_inner(const qnn_state *a, const qnn_state *b, double *re, double *im,
                    qnn_error *err);

/* ---- read-out ---- */
void qnn_state_probs(const qnn_state *s, double *out);   /* out[x] = |a_x|^2, dim entries */
double qnn_state_prob(const qnn_state *s, size_t x);      /* 0 if x >= dim */
/* out[sub] = probability that qubits q[0..k-1] read sub (bit j = q[j]); 2^k entries. */
int qnn_state_marginal(const qnn_state *s, const int *q, int k, double *out, qnn_error *err);
/* Probability that qubit q reads 1. */
double qnn_state_prob1(const qnn_state *s, int q);
/* Projects qubit q onto `outcome` and renormalises; *p (may be NULL) gets its probability.
 * QNN_EINVAL if that probability is 0. */
int qnn_state_collapse(qnn_state *s, int q, int outcome, double *p, qnn_error *err);
/* Measures qubit q (collapsing), *outcome = 0/1. */
int qnn_state_measure(qnn_state *s, int q, qnn_rng *rng, int *outcome, qnn_error *err);
/* Measure q, then flip it to |0>. *outcome (may be NULL) gets the measured value. */
int qnn_state_reset_qubit(qnn_state *s, int q, qnn_rng *rng, int *outcome, qnn_error *err);
/* Draws `shots` outcomes of qubits q[0..k-1] (q == NULL or k == 0: all n qubits, outcome = basis
 * index) into out[shots] (outcome bit j = q[j]); the state is not changed. shots >= 1.
 * Allocates at most 2^k doubles + shots doubles. */
int qnn_state_sample(const qnn_state *s, size_t shots, const int *q, int k, qnn_rng *rng,
                     uint64_t *out, qnn_error *err);
/* Sampling from an explicit distribution p[0..m-1] (sum ~ 1, entries >= 0). */
int qnn_sample_probs(const double *p, size_t m, size_t shots, qnn_rng *rng, uint64_t *out,
                     qnn_error *err);

/* ---- helpers ---- */
/* sin and cos of x (one libm sincos call). */
void qnn_sincos(double x, double *s, double *c);

/* ---- noise by trajectories ---- */
/* One quantum-trajectory step of the single-qubit channel with nk 2x2 Kraus operators
 * (kraus = nk matrices of 8 doubles): picks K_j with probability |K_j psi|^2, applies it and
 * renormalises; *chosen (may be NULL) = j. Kraus set not checked here (see density.h). */
int qnn_state_kraus1(qnn_state *s, int q, const double *kraus, int nk, qnn_rng *rng, int *chosen,
                     qnn_error *err);

#endif
