/* Grover search, amplitude amplification and Durr-Hoyer minimum finding (no Lua).
 *
 * Conventions
 *  - The search register has n qubits, N = 2^n basis states; qubit 0 is the least significant
 *    bit of a basis index. A "mask" is an array of N bytes, mask[x] != 0 <=> x is marked.
 *    Values tables shorter than N are padded with states that are never marked.
 *  - One "query" is one application of the oracle inside a circuit. A Grover iteration costs
 *    one query. Sampling s shots from a k-iteration circuit costs k*s queries (the circuit is
 *    re-run for every shot); the ideal single-shot cost is k.
 *  - The probability engine (qnn_grover_engine) turns (n, mask, k) into the distribution of the
 *    measured register. NULL means the built-in exact noise-free textbook simulator: real
 *    amplitudes, oracle = sign flip of the marked amplitudes, diffusion = 2|s><s| - I, run
 *    iteration by iteration on the 2^n-entry vector (O(k*N) work, no closed form used).
 *    Other engines (gate-level circuits, the authors' "paper" circuit, noisy Density runs)
 *    are supplied by callers, e.g. the Lua binding builds them from qnn Circuits.
 */
#ifndef QNN_GROVER_H
#define QNN_GROVER_H

#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/rng.h"

#define QNN_GROVER_MAX_QUBITS 26 /* register size limit of the ideal simulator */

/* Distribution of the measured n-qubit register after k Grover iterations with oracle mask.
 * Must fill probs[0 .. 2^n) (non-negative; normalised or not, the sampler normalises). */
typedef int (*qnn_grover_probs_fn)(void *ud, int n, const unsigned char *mask, int k,
                                   double *probs, qnn_error *err);

typedef struct qnn_grover_engine {
    qnn_grover_probs_fn probs;
    void *ud;
} qnn_grover_engine;

/* ---- closed forms (for tests and cost models) ---- */
/* floor(pi/4 * sqrt(N/M)); 0 when M == 0 (nothing to amplify) or M >= N. */
int qnn_grover_default_iterations(uint64_t N, uint64_t M);
/* sin^2((2k+1) asin(sqrt(M/N))): textbook success probability; 0 when M == 0. */
double qnn_grover_p_success_analytic(uint64_t N, uint64_t M, int k);

/* ---- simulation ---- */
/* Exact textbook Grover on the real 2^n vector: |s>, then k times (oracle, diffusion);
 * probs[x] = amplitude^2. n in [1, QNN_GROVER_MAX_QUBITS], k >= 0. */
int qnn_grover_ideal_probs(int n, const unsigned char *mask, int k, double *probs,
                           qnn_error *err);
/* Through an engine (NULL -> qnn_grover_ideal_probs). */
int qnn_grover_engine_probs(const qnn_grover_engine *eng, int n, const unsigned char *mask,
                            int k, double *probs, qnn_error *err);

/* Draws `shots` samples from probs[0..N) (normalised internally; all-zero or negative/NaN
 * entries -> QNN_EINVAL); counts[0..N) receives the histogram (zeroed first). Returns the most
 * frequent outcome in *mode (ties -> smallest index). */
int qnn_grover_sample(const double *probs, size_t N, uint64_t shots, qnn_rng *rng,
                      uint64_t *counts, size_t *mode, qnn_error *err);
/* One draw. */
int qnn_grover_sample1(const double *probs, size_t N, qnn_rng *rng, size_t *out,
                       qnn_error *err);

/* ---- search ---- */
typedef struct qnn_grover_search_result {
    size_t outcome;       /* most frequent measured outcome */
    double p_success;     /* exact probability mass on marked states before measurement */
    int iterations;       /* k */
    uint64_t marked;      /* M */
    uint64_t queries;     /* k * shots (as run) */
    uint64_t queries_ideal; /* k (one shot) */
} qnn_grover_search_result;

/* k < 0 -> default iterations. counts may be NULL, else 2^n entries. */
int qnn_grover_search(int n, const unsigned char *mask, int k, uint64_t shots,
                      const qnn_grover_engine *eng, qnn_rng *rng, uint64_t *counts,
                      qnn_grover_search_result *res, qnn_error *err);

/* ---- Durr-Hoyer minimum finding with the BBHT schedule ----
 * values[0..nvalues) (finite), register n = ceil(log2 nvalues) (>= 1) unless opts->n given.
 * Algorithm: y = values[j] for j uniform over the valid indices (one classical evaluation).
 * Then repeated BBHT searches for an index with value < y: m = 1; each attempt draws
 * k uniform in [0, floor(m)), runs k Grover iterations whose oracle marks
 * {x : values[x] < y} through the engine (k queries), measures ONE shot x and evaluates
 * values[x] classically; if values[x] < y the threshold moves (y = values[x], m = 1), else
 * m = min(lambda*m, max(sqrt(N), 2)).
 * Stop rule (no knowledge of the true minimum is used): an attempt is only started when its
 * k fits into the remaining query budget (default ceil(22.5*sqrt(N)), Durr-Hoyer's bound on
 * the expected queries); the first attempt whose k does not fit ends the search. A safety cap
 * on attempts (max_rounds) also ends it. */
typedef struct qnn_grover_min_opts {
    int n;               /* register qubits; 0 -> ceil(log2 nvalues) */
    double lambda;       /* BBHT growth factor; 0 -> 6/5 */
    double budget;       /* query budget; 0 -> 22.5*sqrt(N); must be >= 0 */
    uint64_t max_rounds; /* safety cap on attempts; 0 -> 1000 + 16*budget */
} qnn_grover_min_opts;

typedef struct qnn_grover_min_result {
    size_t index;            /* best index found */
    double value;            /* values[index] */
    uint64_t queries;        /* oracle applications used (sum of k over attempts) */
    uint64_t rounds;         /* BBHT attempts (each: one circuit run, one shot) */
    uint64_t improvements;   /* threshold updates */
    uint64_t evaluations;    /* classical evaluations of values (initial + one per attempt) */
    uint64_t queries_at_best;/* queries spent when the final best was first measured
                                (diagnostic only; never used to stop) */
    int max_iterations;      /* largest k used */
    int n;                   /* register qubits */
} qnn_grover_min_result;

int qnn_grover_minimum(const double *values, size_t nvalues, const qnn_grover_min_opts *opts,
                       const qnn_grover_engine *eng, qnn_rng *rng, qnn_grover_min_result *res,
                       qnn_error *err);

/* Smallest n >= 1 with 2^n >= count (count >= 1). */
int qnn_grover_qubits_for(size_t count);


/* ==== Gate-level Grover circuits (built with qnn Circuits, see circuit.h) ==== */
struct qnn_circuit;
struct qnn_noise;

typedef enum qnn_grover_form {
    /* n qubits: oracle = one `diagonal` gate (phase pi on marked states); diffusion =
     * H^n X^n MCZ(all) X^n H^n. */
    QNN_GROVER_TEXTBOOK = 0,
    /* n + 1 qubits, ancilla (qubit n) prepared in |-> by X, H: oracle = for each marked x,
     * X on the zero bits of x, MCX(register -> ancilla), X again (phase kickback);
     * diffusion = H^n X^n MCX(register -> ancilla) X^n H^n. Same register distribution as
     * QNN_GROVER_TEXTBOOK, gate count and depth visible. */
    QNN_GROVER_ANCILLA = 1,
    /* The authors' circuit: n + 1 qubits, ancilla prepared in |->, oracle = for each marked x,
     * X on zero bits, H(anc) MCX(register -> anc) H(anc), X again; diffusion = H^n X^n H(anc)
     * MCX(register -> anc) H(anc) X^n H^n. H-MCX-H is a controlled Z on the ancilla, so only
     * the ancilla = 1 half is amplified: the register reads 1/2 uniform + 1/2 textbook. */
    QNN_GROVER_PAPER = 2
} qnn_grover_form;

/* Qubits used by a form: n, or n + 1 with the ancilla. */
int qnn_grover_form_qubits(qnn_grover_form form, int n);
/* Append pieces to a circuit with >= qnn_grover_form_qubits(form, n) qubits (register = qubits
 * 0..n-1, ancilla = qubit n). mask has 2^n entries. */
int qnn_grover_add_prep(struct qnn_circuit *c, int n, qnn_grover_form form, qnn_error *err);
int qnn_grover_add_oracle(struct qnn_circuit *c, int n, const unsigned char *mask,
                          qnn_grover_form form, qnn_error *err);
int qnn_grover_add_diffusion(struct qnn_circuit *c, int n, qnn_grover_form form, qnn_error *err);
/* Complete circuit: prep, then k iterations (oracle, diffusion). */
int qnn_grover_build(struct qnn_circuit **out, int n, const unsigned char *mask, int k,
                     qnn_grover_form form, qnn_error *err);

/* Engine that builds the circuit for every (mask, k) and runs it: on a State when noise is
 * NULL or zero (and density == 0), else on a Density matrix with the noise model's exact
 * channels (total qubits <= 14). The register marginal is returned. After each call
 * depth/gates/qubits describe the circuit that ran. Use it as
 *   qnn_grover_circuit_engine ce = {.form = QNN_GROVER_PAPER, .noise = &nm};
 *   qnn_grover_engine eng = {qnn_grover_circuit_probs, &ce}; */
typedef struct qnn_grover_circuit_engine {
    qnn_grover_form form;
    const struct qnn_noise *noise;
    int density;   /* 1: run on a Density even without noise */
    int depth;     /* out: depth of the last circuit */
    size_t gates;  /* out: gate count of the last circuit */
    int qubits;    /* out: register + ancilla */
} qnn_grover_circuit_engine;
int qnn_grover_circuit_probs(void *ud, int n, const unsigned char *mask, int k, double *probs,
                             qnn_error *err);

/* Exact noise-free register distribution of the paper circuit without building it:
 * probs = 1/2 * uniform + 1/2 * textbook (equal to the gate-level circuit; tested to 1e-12).
 * Engine-compatible (ud ignored). */
int qnn_grover_paper_mixture_probs(void *ud, int n, const unsigned char *mask, int k,
                                   double *probs, qnn_error *err);

/* Depth, gate count and qubits of the gate-level circuit for (n, mask, k, form). */
int qnn_grover_circuit_cost(int n, const unsigned char *mask, int k, qnn_grover_form form,
                            int *depth, size_t *gates, int *qubits, qnn_error *err);

#endif
