/* Running circuits: on state vectors (optionally one Monte-Carlo noise trajectory), on density
 * matrices with exact channels, and the full unitary. Uses the statevec/density kernels. */
#include "circuit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Numeric angles of op into p[3] (unitary/diagonal: returns op->data). */
const double *qnn_circ_op_params(const qnn_circuit *c, const qnn_op *op, double p[3]) {
    if (op->kind == QNN_G_UNITARY || op->kind == QNN_G_DIAGONAL) return op->data;
    for (int i = 0; i < 3; i++) p[i] = qnn_circuit_angle_value(c, &op->ang[i]);
    return p;
}

int qnn_circ_apply_op(const qnn_circuit *c, const qnn_op *op, qnn_state *s, int inverse,
                      qnn_error *err) {
    double p[3];
    if (op->kind == QNN_G_ID || op->kind == QNN_OP_BARRIER) return QNN_OK;
    const double *par = qnn_circ_op_params(c, op, p);
    if (inverse)
        return qnn_state_apply_gate_inv(s, (qnn_gate_kind)op->kind, qnn_op_qubits(op), op->nq,
                                        par, err);
    return qnn_state_apply_gate(s, (qnn_gate_kind)op->kind, qnn_op_qubits(op), op->nq, par, err);
}

static int check_progress(size_t i, size_t n) {
    if ((i & 255) == 255) return qnn_progress_step(NULL, (double)i, (double)n);
    return QNN_OK;
}

/* ---- trajectories ---- */
static int apply_pauli1(qnn_state *s, int q, int which, qnn_error *err) {
    static const qnn_gate_kind P[4] = {QNN_G_ID, QNN_G_X, QNN_G_Y, QNN_G_Z};
    if (which == 0) return QNN_OK;
    return qnn_state_apply_gate(s, P[which], &q, 1, NULL, err);
}

static int traj_depol1(qnn_state *s, int q, double p, qnn_rng *rng, qnn_error *err) {
    if (p <= 0) return QNN_OK;
    double u = qnn_rng_uniform(rng);
    if (u >= p) return QNN_OK;
    return apply_pauli1(s, q, 1 + (int)qnn_rng_below(rng, 3), err);
}

static int traj_depol2(qnn_state *s, int a, int b, double p, qnn_rng *rng, qnn_error *err) {
    if (p <= 0) return QNN_OK;
    double u = qnn_rng_uniform(rng);
    if (u >= p) return QNN_OK;
    int w = 1 + (int)qnn_rng_below(rng, 15); /* one of the 15 non-identity pairs */
    int st = apply_pauli1(s, a, w & 3, err);
    if (st) return st;
    return apply_pauli1(s, b, w >> 2, err);
}

static int traj_kraus(qnn_state *s, int q, int which, double p, qnn_rng *rng, qnn_error *err) {
    if (p <= 0) return QNN_OK;
    if (which == 3 || which == 4) { /* bit/phase flip: a Pauli with probability p */
        if (qnn_rng_uniform(rng) >= p) return QNN_OK;
        return apply_pauli1(s, q, which == 3 ? 1 : 3, err);
    }
    double k[4 * 8];
    int nk = 0;
    int st = qnn_channel_kraus(which, p, k, &nk, err);
    if (st) return st;
    return qnn_state_kraus1(s, q, k, nk, rng, NULL, err);
}

static int noise_after_state(const qnn_op *op, const qnn_noise *nm, qnn_state *s, qnn_rng *rng,
                             qnn_error *err) {
    const int *q = qnn_op_qubits(op);
    int st = QNN_OK;
    if (op->nq == 2) {
        st = traj_depol2(s, q[0], q[1], nm->p2, rng, err);
    } else {
        for (int j = 0; j < op->nq && !st; j++) st = traj_depol1(s, q[j], nm->p1, rng, err);
    }
    for (int j = 0; j < op->nq && !st; j++) {
        st = traj_kraus(s, q[j], 1, nm->amp_damp, rng, err);
        if (!st) st = traj_kraus(s, q[j], 2, nm->phase_damp, rng, err);
        if (!st) st = traj_kraus(s, q[j], 3, nm->bit_flip, rng, err);
        if (!st) st = traj_kraus(s, q[j], 4, nm->phase_flip, rng, err);
    }
    return st;
}

/* noise per native gate: run the decomposed circuit with the same channels */
static int run_native(const qnn_circuit *c, qnn_state *s, qnn_density *d, const qnn_noise *noise,
                      qnn_rng *rng, qnn_error *err) {
    qnn_circuit *nat = NULL;
    int st = qnn_circuit_decompose(c, &nat, err);
    if (st) return st;
    qnn_noise nm = *noise;
    nm.native = 0;
    st = s ? qnn_circuit_run(nat, s, &nm, rng, err) : qnn_circuit_run_density(nat, d, &nm, err);
    qnn_circuit_free(nat);
    return st;
}

int qnn_circuit_run(const qnn_circuit *c, qnn_state *s, const qnn_noise *noise, qnn_rng *rng,
                    qnn_error *err) {
    return qnn_circuit_run_ex(c, s, noise, rng, -1, err);
}

int qnn_circuit_run_ex(const qnn_circuit *c, qnn_state *s, const qnn_noise *noise, qnn_rng *rng,
                       int fuse, qnn_error *err) {
    if (!s || s->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "run: state has %d qubits, circuit has %d",
                             s ? s->n : 0, c->n);
    int noisy = !qnn_noise_is_zero(noise);
    if (noise && noise->readout > 0)
        return qnn_error_set(err, QNN_EINVAL, "a readout error acts on measured bits, not on "
                             "the state (use it with qnn.grover, or qnn.noise.apply_readout on probabilities)");
    if (noisy && noise->native) return run_native(c, s, NULL, noise, rng, err);
    if (noisy) {
        int st = qnn_noise_check(noise, err);
        if (st) return st;
        if (!rng) return qnn_error_set(err, QNN_EINVAL, "run: noise needs a random stream");
    }
    for (size_t i = 0; i < c->nops; i++) /* measurement, reset, barrier, conditions */
        if (!qnn_op_is_gate(&c->ops[i])) return qnn_circ_run_classical(c, s, noise, rng, NULL, err);
    if (fuse < 0) fuse = qnn_fusion_default();
    if (fuse && !noisy) return qnn_circ_run_fused(c, s, err);
    for (size_t i = 0; i < c->nops; i++) {
        int st = qnn_circ_apply_op(c, &c->ops[i], s, 0, err);
        if (!st && noisy) st = noise_after_state(&c->ops[i], noise, s, rng, err);
        if (!st) st = check_progress(i, c->nops);
        if (st) return st;
    }
    return QNN_OK;
}

/* ---- density matrices ---- */
/* The noise model after op: the two-qubit depolarizing channel on its own, then on every touched
 * qubit the chain depolarize -> amplitude damp -> phase damp -> bit flip -> phase flip composed
 * into one superoperator: one pass per qubit instead of one per channel. G (may be NULL): the
 * 2x2 matrix of a 1-qubit op not yet applied, composed in front of the chain (rho -> G rho G^+
 * as the superoperator G (x) conj(G) on the (row, column) bits), so a noisy 1-qubit gate is one
 * pass over the density matrix instead of three (fewer parallel regions, less memory traffic). */
static int noise_after_density(const qnn_op *op, const double *G, const qnn_noise *nm,
                               qnn_density *d, qnn_error *err) {
    const int *q = qnn_op_qubits(op);
    int st = QNN_OK;
    if (op->nq == 2 && nm->p2 > 0) st = qnn_density_depolarize2(d, q[0], q[1], nm->p2, err);
    const double pk[5] = {op->nq == 2 ? 0.0 : nm->p1, nm->amp_damp, nm->phase_damp, nm->bit_flip,
                          nm->phase_flip};
    double S[32], C[32];
    int have = 0;
    if (G) { /* S[(r c), (r' c')] = G[r][r'] conj(G[c][c']), index 2 row + col */
        for (int r = 0; r < 2; r++)
            for (int cc = 0; cc < 2; cc++)
                for (int r2 = 0; r2 < 2; r2++)
                    for (int c2 = 0; c2 < 2; c2++) {
                        double ar = G[2 * (2 * r + r2)], ai = G[2 * (2 * r + r2) + 1];
                        double br = G[2 * (2 * cc + c2)], bi = -G[2 * (2 * cc + c2) + 1];
                        int e = 4 * (2 * r + cc) + (2 * r2 + c2);
                        S[2 * e] = ar * br - ai * bi, S[2 * e + 1] = ar * bi + ai * br;
                    }
        have = 1;
    }
    for (int w = 0; w < 5 && !st; w++) {
        if (!(pk[w] > 0)) continue;
        st = qnn_channel_superop(w, pk[w], have ? C : S, err);
        if (!st && have) qnn_superop_compose(C, S, S);
        have = 1;
    }
    for (int j = 0; j < op->nq && !st && have; j++) st = qnn_density_superop1(d, q[j], S, err);
    return st;
}

int qnn_circuit_run_density(const qnn_circuit *c, qnn_density *d, const qnn_noise *noise,
                            qnn_error *err) {
    if (!d || d->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "run: density matrix has %d qubits, circuit has %d",
                             d ? d->n : 0, c->n);
    int noisy = !qnn_noise_is_zero(noise);
    if (noise && noise->readout > 0)
        return qnn_error_set(err, QNN_EINVAL, "a readout error acts on measured bits, not on "
                             "the state (use it with qnn.grover, or qnn.noise.apply_readout on probabilities)");
    if (noisy && noise->native) return run_native(c, NULL, d, noise, NULL, err);
    if (noisy) {
        int st = qnn_noise_check(noise, err);
        if (st) return st;
    }
    for (size_t i = 0; i < c->nops; i++) /* measurement, reset, barrier, conditions */
        if (!qnn_op_is_gate(&c->ops[i]))
            return qnn_circuit_run_density_bits(c, d, noise, NULL, NULL, 0, NULL, err);
    for (size_t i = 0; i < c->nops; i++) {
        const qnn_op *op = &c->ops[i];
        int st = QNN_OK;
        double G[8];
        int fold = 0; /* a noisy 1-qubit gate: folded into the channels' superoperator */
        if (op->kind != QNN_G_ID) {
            double p[3];
            const double *par = qnn_circ_op_params(c, op, p);
            fold = noisy && op->nq == 1 && qnn_op_kind_nqubits(op->kind) == 1 &&
                   qnn_gate_matrix((qnn_gate_kind)op->kind, par, G) == QNN_OK;
            if (!fold)
                st = qnn_density_apply_gate(d, (qnn_gate_kind)op->kind, qnn_op_qubits(op), op->nq,
                                            par, err);
        }
        if (!st && noisy) st = noise_after_density(op, fold ? G : NULL, noise, d, err);
        if (!st) st = check_progress(i, c->nops);
        if (st) return st;
    }
    return QNN_OK;
}

/* ---- full unitary ---- */
int qnn_circuit_unitary(const qnn_circuit *c, double *out, qnn_error *err) {
    if (c->n > QNN_CIRCUIT_MAXUNITARY)
        return qnn_error_set(err, QNN_EINVAL, "unitary: only for circuits of at most %d qubits, got %d",
                             QNN_CIRCUIT_MAXUNITARY, c->n);
    if (!qnn_circuit_is_unitary(c))
        return qnn_error_set(err, QNN_EINVAL,
                             "unitary: the circuit has measurement, reset or classical control, "
                             "so it has no unitary (use c:probs, c:sample or run it on a Density)");
    qnn_state s;
    int st = qnn_state_init(&s, c->n, err);
    if (st) return st;
    size_t d = s.dim;
    for (size_t j = 0; j < d && !st; j++) {
        st = qnn_state_set_basis(&s, j, err);
        if (!st) st = qnn_circuit_run(c, &s, NULL, NULL, err);
        if (st) break;
        for (size_t r = 0; r < d; r++) {
            out[2 * (r * d + j)] = s.amp[2 * r];
            out[2 * (r * d + j) + 1] = s.amp[2 * r + 1];
        }
    }
    qnn_state_release(&s);
    return st;
}

/* ---- for circuit_measure.c: the noise channels after one gate ---- */
int qnn_circ_noise_state(const qnn_op *op, const qnn_noise *nm, qnn_state *s, qnn_rng *rng,
                         qnn_error *err) {
    return noise_after_state(op, nm, s, rng, err);
}

int qnn_circ_noise_density(const qnn_op *op, const qnn_noise *nm, qnn_density *d,
                           qnn_error *err) {
    return noise_after_density(op, NULL, nm, d, err);
}
