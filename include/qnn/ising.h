/* Ising models and their samplers (no Lua here).
 *
 * Energy convention (used everywhere in qnnlab):
 *     E(s) = offset + sum_i h_i s_i + sum_{i<j} J_ij s_i s_j,      s_i in {-1, +1}.
 * Spins are 0-based in C (1-based in Lua). Each coupling is counted once (i < j); a symmetric
 * matrix J given to the Lua API means the same thing (E = offset + h.s + s^T J s / 2).
 * QUBO convention: x_i = (1 + s_i) / 2 in {0, 1} and E(x) = offset + x^T Q x (any square Q;
 * x_i^2 = x_i puts the diagonal in the linear terms).
 * Basis states of the quantum samplers (exact annealing, spectrum): qubit q <-> spin q, and
 * bit b_q = 0 <-> s_q = +1 (Z eigenvalue), i.e. s_q = 1 - 2 b_q, qubit 0 the least significant
 * bit of the basis-state index.
 *
 * A model is mutable (add fields/couplings); couplings are kept as a list and coalesced
 * (duplicates summed, zeros dropped, sorted i<j) into a symmetric CSR adjacency on first use
 * after a change (qnn_ising_prepare). */
#ifndef QNN_ISING_H
#define QNN_ISING_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/rng.h"

#define QNN_ISING_MAX_N (1 << 26)   /* spins per model */
#define QNN_ISING_MAX_GROUND 30     /* exhaustive ground state */
#define QNN_ISING_MAX_EXACT 20      /* coherent (state-vector) annealing */
#define QNN_ISING_MAX_SPECTRUM 12   /* dense 2^n x 2^n eigenvalues */

typedef struct qnn_ising_edge {
    int i, j; /* i < j after prepare */
    double w;
} qnn_ising_edge;

typedef struct qnn_ising {
    int n;
    double *h;        /* n fields */
    double offset;    /* constant energy term */
    size_t ne, cap;   /* coupling list (coalesced when !dirty) */
    qnn_ising_edge *e;
    int dirty;        /* list changed since the last prepare */
    /* symmetric CSR adjacency (valid when !dirty): row i holds cols[rowptr[i]..rowptr[i+1]) */
    size_t *rowptr;
    int *col;
    double *val;
} qnn_ising;

/* ---- model ---- */
int qnn_ising_new(qnn_ising **out, int n, qnn_error *err);
void qnn_ising_free(qnn_ising *m);
int qnn_ising_copy(qnn_ising **out, const qnn_ising *m, qnn_error *err);
int qnn_ising_add_field(qnn_ising *m, int i, double v, qnn_error *err);
/* i != j (any order); v finite. Duplicates are summed. */
int qnn_ising_add_coupling(qnn_ising *m, int i, int j, double v, qnn_error *err);
int qnn_ising_add_offset(qnn_ising *m, double v, qnn_error *err);
/* Coalesces the coupling list and builds the CSR adjacency (no-op when up to date). */
int qnn_ising_prepare(qnn_ising *m, qnn_error *err);
/* Energy of spins s (n values, each -1 or +1; other values -> QNN_EINVAL). */
int qnn_ising_energy(qnn_ising *m, const int8_t *s, double *E, qnn_error *err);
/* Typical coefficient magnitude: root mean square of the nonzero h_i and J_ij (1 if none). */
double qnn_ising_scale(qnn_ising *m);
/* Largest |dE| of a single flip bound: max_i 2 (|h_i| + sum_j |J_ij|), and the smallest
 * nonzero single-term excitation min(2|h_i|, 2|J_ij|) over nonzero terms (0 if none). */
void qnn_ising_delta_range(qnn_ising *m, double *dmin, double *dmax);

/* Reduced model with spins idx[0..k) fixed to vals (+-1): their couplings to free spins become
 * fields, their own terms go to the offset. map_out (n entries, may be NULL) gets the new
 * index of each old spin or -1 when clamped. k may be n (a 0-spin model is allowed). */
int qnn_ising_clamp(qnn_ising *m, const int *idx, const int8_t *vals, int k, qnn_ising **out,
                    int *map_out, qnn_error *err);

/* QUBO <-> Ising with x = (1+s)/2. Q is n x n row-major (any square matrix). */
int qnn_ising_from_qubo(const double *Q, int n, double offset, qnn_ising **out, qnn_error *err);
/* Writes an upper-triangular Q (n x n row-major, zero below the diagonal) and the offset. */
int qnn_ising_to_qubo(qnn_ising *m, double *Q, double *offset, qnn_error *err);

/* ---- exhaustive enumeration ---- */
typedef struct qnn_ising_ground {
    double energy;     /* exact energy of `spins` */
    int8_t *spins;     /* caller-provided, n entries */
    uint64_t degeneracy; /* states within tol of the minimum */
    double tol;        /* degeneracy tolerance used */
} qnn_ising_ground;
/* Gray-code enumeration of all 2^n states with incremental energy updates, O(2^n * degree).
 * n <= QNN_ISING_MAX_GROUND. Calls qnn_progress_step every 2^20 states. */
int qnn_ising_ground_state(qnn_ising *m, qnn_ising_ground *g, const qnn_progress *p,
                           qnn_error *err);
/* E[x] for every basis index x (s_q = 1 - 2 bit_q), 2^n entries, n <= QNN_ISING_MAX_EXACT+4. */
int qnn_ising_energies(qnn_ising *m, double *E, const qnn_progress *p, qnn_error *err);

/* ---- samplers: each read writes n spins into spins[r*n ...] and its energy ---- */
typedef struct qnn_ising_stats {
    double flip_attempts;    /* single-spin (SA) or slice-spin (SQA local) attempts */
    double flips;            /* accepted single/local flips */
    double global_attempts;  /* SQA world-line attempts */
    double global_flips;
} qnn_ising_stats;

/* Simulated annealing: betas[sweeps] (>= 0, finite), sequential sweep order, Metropolis with
 * cached local fields. Each read starts from a random state drawn from its own stream
 * qnn_rng_split(rng, read). If init != NULL it holds the n starting spins for every read. */
int qnn_ising_sa(qnn_ising *m, const double *betas, int sweeps, int reads, qnn_rng *rng,
                 const int8_t *init, int8_t *spins, double *energies, qnn_ising_stats *st,
                 const qnn_progress *p, qnn_error *err);

/* Simulated quantum annealing (path-integral Monte Carlo of H = -G(t) sum X + Bt(t) H_P at
 * inverse temperature beta with P Trotter slices): gamma[sweeps] >= 0, bscale[sweeps] >= 0.
 * Each sweep: one local Metropolis pass over all slices and spins, then one world-line pass
 * (flip spin i in every slice) over all spins. readout: 0 = the slice with the lowest problem
 * energy, 1 = the last slice (index P-1). */
enum { QNN_SQA_READOUT_BEST = 0, QNN_SQA_READOUT_LAST = 1 };
int qnn_ising_sqa(qnn_ising *m, const double *gamma, const double *bscale, int sweeps,
                  int slices, double beta, int reads, int readout, qnn_rng *rng,
                  const int8_t *init, int8_t *spins, double *energies, qnn_ising_stats *st,
                  const qnn_progress *p, qnn_error *err);

/* Dense spectrum of H = -A sum_q X_q + B H_P (2^n x 2^n, n <= QNN_ISING_MAX_SPECTRUM): the k
 * lowest eigenvalues (ascending) by LAPACKE_dsyevr. */
int qnn_ising_spectrum(qnn_ising *m, double A, double B, int k, double *evals, qnn_error *err);

/* Coherent annealing on a state vector (n <= QNN_ISING_MAX_EXACT): start in |+>^n, ground
 * state of -sum X; for step k = 0..steps-1 apply exp(-i dt B_k H_P / 2) RX-layer(-2 dt A_k)
 * exp(-i dt B_k H_P / 2) with dt = T/steps (second-order Trotter; A, B sampled at the step
 * midpoints). If init_index >= 0 start in that basis state instead. Writes the final
 * probabilities (2^n) into probs and, if E != NULL, the problem energies (2^n). */
int qnn_ising_exact_anneal(qnn_ising *m, const double *A, const double *B, int steps, double T,
                           long long init_index, double *probs, double *E,
                           const qnn_progress *p, qnn_error *err);

#endif
