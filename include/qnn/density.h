/* Density matrices on n qubits (1..14): rho is 2^n x 2^n complex, row-major, interleaved.
 * Stored as a state vector on 2n qubits (member `vec`): element (r, c) is vec amplitude
 * r * 2^n + c, i.e. column qubit q is vector qubit q and row qubit q is vector qubit q + n.
 * rho -> U rho U^dagger is U on the row qubits and conj(U) on the column qubits.
 * Conventions as in gates.h / statevec.h (qubit 0 = least significant bit). */
#ifndef QNN_DENSITY_H
#define QNN_DENSITY_H
#include <stddef.h>
#include <stdint.h>
#include "qnn/common.h"
#include "qnn/gates.h"
#include "qnn/rng.h"
#include "qnn/statevec.h"

#define QNN_DENSITY_MAX_QUBITS 14

typedef struct qnn_density {
    int n;          /* qubits */
    size_t dim;     /* 2^n (rows = cols) */
    qnn_state vec;  /* 2n-qubit vector view of rho: vec.amp[2*(r*dim + c)] = Re rho_rc */
} qnn_density;

/* ---- lifetime ---- */
/* QNN_EINVAL for n out of [1, 14]; QNN_ENOMEM if copies * 16 * 4^n bytes > qnn_max_bytes(). */
int qnn_density_check_size(int n, size_t copies, qnn_error *err);
int qnn_density_init(qnn_density *d, int n, qnn_error *err);   /* |0..0><0..0| */
void qnn_density_release(qnn_density *d);
int qnn_density_create(qnn_density **out, int n, qnn_error *err);
void qnn_density_free(qnn_density *d);
int qnn_density_copy(qnn_density **out, const qnn_density *src, qnn_error *err);
int qnn_density_copy_into(qnn_density *dst, const qnn_density *src, qnn_error *err);
/* Initialise d as |psi><psi| (n <= 14). */
int qnn_density_init_pure(qnn_density *d, const qnn_state *psi, qnn_error *err);
/* Overwrite d (same n) with |psi><psi|. */
int qnn_density_set_pure(qnn_density *d, const qnn_state *psi, qnn_error *err);
void qnn_density_set_zero(qnn_density *d); /* |0..0><0..0| */
static inline double *qnn_density_data(const qnn_density *d) { return d->vec.amp; }

/* ---- unitary evolution rho -> U rho U^dagger (args as the qnn_state_apply_* functions) ---- */
int qnn_density_apply_1q(qnn_density *d, int q, const double *m, uint64_t ctrl_mask,
                         qnn_error *err);
int qnn_density_apply_2q(qnn_density *d, int q0, int q1, const double *m, qnn_error *err);
int qnn_density_apply_kq(qnn_density *d, const int *q, int k, const double *m, qnn_error *err);
int qnn_density_apply_diagonal(qnn_density *d, const double *phases, qnn_error *err);
int qnn_density_apply_mcx(qnn_density *d, const int *controls, int nc, int target,
                          qnn_error *err);
int qnn_density_apply_mcz(qnn_density *d, const int *q, int k, qnn_error *err);
int qnn_density_apply_gate(qnn_density *d, qnn_gate_kind kind, const int *qubits, int nq,
                           const double *params, qnn_error *err);

/* ---- channels (all check 0 <= p <= 1 and qubit ranges; trace preserving) ---- */
/* With probability p apply one of X, Y, Z (p/3 each): rho -> (1-p) rho + p/3 sum P rho P. */
int qnn_density_depolarize(qnn_density *d, int q, double p, qnn_error *err);
/* With probability p apply one of the 15 non-identity two-qubit Paulis (p/15 each). */
int qnn_density_depolarize2(qnn_density *d, int a, int b, double p, qnn_error *err);
/* Kraus {[[1,0],[0,sqrt(1-g)]], [[0,sqrt(g)],[0,0]]} (decay |1> -> |0> with probability g). */
int qnn_density_amplitude_damp(qnn_density *d, int q, double gamma, qnn_error *err);
/* Kraus {[[1,0],[0,sqrt(1-g)]], [[0,0],[0,sqrt(g)]]} (off-diagonals scale by sqrt(1-g)). */
int qnn_density_phase_damp(qnn_density *d, int q, double gamma, qnn_error *err);
/* X with probability p; Z with probability p. */
int qnn_density_bit_flip(qnn_density *d, int q, double p, qnn_error *err);
int qnn_density_phase_flip(qnn_density *d, int q, double p, qnn_error *err);
/* General single-qubit channel: nk (1..16) 2x2 Kraus matrices (8 doubles each); checks
 * sum K^dagger K = I to 1e-10 (QNN_EINVAL otherwise). */
int qnn_density_kraus1(qnn_density *d, int q, const double *kraus, int nk, qnn_error *err);
/* Kraus operators of the named channels (for trajectories on states): fills up to 4 matrices,
 * returns their count in *nk. which: 0 depolarize, 1 amplitude_damp, 2 phase_damp,
 * 3 bit_flip, 4 phase_flip. */
int qnn_channel_kraus(int which, double p, double *kraus, int *nk, qnn_error *err);

/* ---- read-out ---- */
void qnn_density_probs(const qnn_density *d, double *out);  /* diagonal, dim entries */
double qnn_density_prob(const qnn_density *d, size_t x);
int qnn_density_marginal(const qnn_density *d, const int *q, int k, double *out, qnn_error *err);
double qnn_density_trace(const qnn_density *d);             /* Re tr rho */
double qnn_density_purity(const qnn_density *d);            /* tr rho^2 */
/* sum_k coef_k Re tr(P_k rho) */
double qnn_density_expect(const qnn_density *d, const qnn_pauli_term *t, int nt);
int qnn_density_sample(const qnn_density *d, size_t shots, const int *q, int k, qnn_rng *rng,
                       uint64_t *out, qnn_error *err);
/* Projective measurement of qubit q (collapsing, renormalised), and reset to |0>. */
int qnn_density_measure(qnn_density *d, int q, qnn_rng *rng, int *outcome, qnn_error *err);
int qnn_density_reset_qubit(qnn_density *d, int q, qnn_error *err); /* deterministic channel */
/* <psi| rho |psi> (fidelity with a pure state). */
int qnn_density_fidelity_pure(const qnn_density *d, const qnn_state *psi, double *out,
                              qnn_error *err);

/* Single-qubit channels as superoperators: S (4x4 complex, 32 doubles) acts on a qubit's 2x2
 * block of rho (entries 00, 01, 10, 11 = row bit, column bit) as vec(B) -> S vec(B).
 * qnn_channel_superop: the channel `which` of qnn_channel_kraus with parameter p;
 * qnn_superop_compose: out = A B (B applied first; out may alias A or B);
 * qnn_density_superop1: one pass applying S on qubit q (a chain of channels in one pass). */
int qnn_channel_superop(int which, double p, double *S, qnn_error *err);
void qnn_superop_compose(const double *A, const double *B, double *out);
int qnn_density_superop1(qnn_density *d, int q, const double *S, qnn_error *err);

#endif
