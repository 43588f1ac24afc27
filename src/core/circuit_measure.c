/* Circuits with measurement, reset and classical control (the non-unitary op kinds of
 * circuit.h: QNN_OP_MEASURE, QNN_OP_RESET, QNN_OP_BARRIER, and conditions cmask/cval).
 *
 * State vector: one trajectory (qnn_circuit_run_shot): measurements collapse the state and
 * write their bit, resets measure and flip, conditions read the bits written so far.
 * Density matrix: exact. The joint classical-quantum state sum_b |b><b| (x) rho_b is kept as one
 * unnormalised density matrix per distinct register value b (a branch); a measurement splits a
 * branch into its two projections, a conditional op acts on the branches whose bits match,
 * branches reaching the same register value are added. The output state is sum_b rho_b and the
 * classical distribution is p(b) = tr rho_b.
 * Sampling: the unitary prefix runs once; terminal measurements without noise are sampled
 * from the final state directly (same distribution as one trajectory per shot). */
#include "circuit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BRANCHES 65536
#define QNN_SAMPLE_MAX_WORK 17179869184.0 /* 2^34 amplitude updates per call */

static int cond_ok(const qnn_op *op, uint64_t bits) { return (bits & op->cmask) == op->cval; }

static int has_random(const qnn_circuit *c, size_t from) {
    for (size_t i = from; i < c->nops; i++)
        if (c->ops[i].kind == QNN_OP_MEASURE || c->ops[i].kind == QNN_OP_RESET) return 1;
    return 0;
}

/* Trajectory over ops [from, nops) starting from register value *bits. */
static int run_range(const qnn_circuit *c, qnn_state *s, size_t from, const qnn_noise *noise,
                     qnn_rng *rng, uint64_t *bits, qnn_error *err) {
    int noisy = !qnn_noise_is_zero(noise);
    if (!rng && has_random(c, from))
        return qnn_error_set(err, QNN_EINVAL,
                             "run: the circuit measures or resets qubits, which needs a random "
                             "stream (seed= or rng=)");
    uint64_t b = *bits;
    for (size_t i = from; i < c->nops; i++) {
        const qnn_op *op = &c->ops[i];
        int st = QNN_OK;
        if (!cond_ok(op, b)) continue;
        const int *q = qnn_op_qubits(op);
        switch (op->kind) {
        case QNN_OP_BARRIER: break;
        case QNN_OP_MEASURE: {
            int o = 0;
            st = qnn_state_measure(s, q[0], rng, &o, err);
            uint64_t m = (uint64_t)1 << op->cbit;
            b = o ? (b | m) : (b & ~m);
            break;
        }
        case QNN_OP_RESET: st = qnn_state_reset_qubit(s, q[0], rng, NULL, err); break;
        default:
            st = qnn_circ_apply_op(c, op, s, 0, err);
            if (!st && noisy) st = qnn_circ_noise_state(op, noise, s, rng, err);
        }
        if (!st && (i & 255) == 255) st = qnn_progress_step(NULL, (double)i, (double)c->nops);
        if (st) return st;
    }
    *bits = b;
    return QNN_OK;
}

int qnn_circ_run_classical(const qnn_circuit *c, qnn_state *s, const qnn_noise *noise,
                           qnn_rng *rng, uint64_t *bits, qnn_error *err) {
    uint64_t b = 0;
    int st = run_range(c, s, 0, noise, rng, &b, err);
    if (!st && bits) *bits = b;
    return st;
}

static int check_run(const qnn_circuit *c, int n, const qnn_noise *noise, qnn_error *err) {
    if (n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "run: state has %d qubits, circuit has %d", n, c->n);
    if (!qnn_noise_is_zero(noise)) return qnn_noise_check(noise, err);
    return QNN_OK;
}

int qnn_circuit_run_shot(const qnn_circuit *c, qnn_state *s, const qnn_noise *noise,
                         qnn_rng *rng, uint64_t *bits, qnn_error *err) {
    if (bits) *bits = 0;
    if (!s) return qnn_error_set(err, QNN_EINVAL, "run: no state");
    int st = check_run(c, s->n, noise, err);
    if (st) return st;
    if (!qnn_noise_is_zero(noise) && !rng)
        return qnn_error_set(err, QNN_EINVAL, "run: noise needs a random stream");
    return qnn_circ_run_classical(c, s, noise, rng, bits, err);
}

/* ---------------- exact density-matrix runs ---------------- */
typedef struct branch {
    uint64_t bits;
    qnn_density d;
} branch;

typedef struct branches {
    branch *b;
    size_t n, cap;
    double *keep; /* the caller's buffer: never freed here */
} branches;

static void branch_free(branches *B, branch *x) {
    if (x->d.vec.amp != B->keep) qnn_density_release(&x->d);
    x->d.vec.amp = NULL;
}

/* keeps only rows/cols whose bit q equals o */
static void project(qnn_density *d, int q, int o) {
    double *r = d->vec.amp;
    for (size_t i = 0; i < d->dim; i++) {
        int ri = (int)((i >> q) & 1);
        for (size_t j = 0; j < d->dim; j++)
            if (ri != o || (int)((j >> q) & 1) != o) r[2 * (i * d->dim + j)] = r[2 * (i * d->dim + j) + 1] = 0;
    }
}

static int cmp_branch(const void *a, const void *b) {
    uint64_t x = ((const branch *)a)->bits, y = ((const branch *)b)->bits;
    return x < y ? -1 : x > y;
}

/* sorts by register value and adds branches with the same value */
static void merge(branches *B) {
    if (B->n < 2) return;
    qsort(B->b, B->n, sizeof(branch), cmp_branch);
    size_t w = 0;
    for (size_t i = 0; i < B->n; i++) {
        if (w > 0 && B->b[w - 1].bits == B->b[i].bits) {
            branch *dst = &B->b[w - 1], *src = &B->b[i];
            if (src->d.vec.amp == B->keep) { /* keep the caller's buffer alive */
                branch t = *dst;
                *dst = *src;
                *src = t;
            }
            size_t len = 2 * dst->d.dim * dst->d.dim;
            for (size_t k = 0; k < len; k++) dst->d.vec.amp[k] += src->d.vec.amp[k];
            branch_free(B, src);
        } else {
            B->b[w++] = B->b[i];
        }
    }
    B->n = w;
}

static int measure_branches(branches *B, const qnn_op *op, double thr, qnn_error *err) {
    int q = qnn_op_qubits(op)[0];
    uint64_t m = (uint64_t)1 << op->cbit;
    size_t n0 = B->n;
    for (size_t i = 0; i < n0; i++) {
        branch *x = &B->b[i];
        if (!cond_ok(op, x->bits)) continue;
        double p1 = 0, tot = 0;
        for (size_t r = 0; r < x->d.dim; r++) {
            double v = x->d.vec.amp[2 * (r * x->d.dim + r)];
            tot += v;
            if ((r >> q) & 1) p1 += v;
        }
        double p0 = tot - p1;
        if (p1 <= thr || p0 <= thr) {
            int o = p1 > thr;
            project(&x->d, q, o);
            x->bits = o ? (x->bits | m) : (x->bits & ~m);
            continue;
        }
        if (B->n >= MAX_BRANCHES)
            return qnn_error_set(err, QNN_ENOMEM,
                                 "exact run: more than %d distinct classical outcomes (use "
                                 "sampling instead)", MAX_BRANCHES);
        int st = qnn_density_check_size(x->d.n, B->n + 1, err);
        if (st) return st;
        if (B->n == B->cap) {
            size_t cap = B->cap * 2;
            branch *nb = (branch *)realloc(B->b, cap * sizeof(branch));
            if (!nb) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
            B->b = nb;
            B->cap = cap;
            x = &B->b[i];
        }
        branch *y = &B->b[B->n];
        memset(y, 0, sizeof *y);
        st = qnn_density_init(&y->d, x->d.n, err);
        if (!st) st = qnn_density_copy_into(&y->d, &x->d, err);
        if (st) {
            qnn_density_release(&y->d);
            return st;
        }
        B->n++;
        project(&x->d, q, 0);
        x->bits &= ~m;
        project(&y->d, q, 1);
        y->bits = x->bits | m;
    }
    merge(B);
    /* drop branches of negligible weight (never the last one) */
    size_t w = 0;
    for (size_t i = 0; i < B->n; i++) {
        if (B->n - i + w > 1 && qnn_density_trace(&B->b[i].d) <= thr) {
            branch_free(B, &B->b[i]);
            continue;
        }
        B->b[w++] = B->b[i];
    }
    B->n = w;
    return QNN_OK;
}

int qnn_circuit_run_density_bits(const qnn_circuit *c, qnn_density *d, const qnn_noise *noise,
                                 uint64_t *values, double *probs, size_t cap, size_t *count,
                                 qnn_error *err) {
    if (count) *count = 0;
    if (!d) return qnn_error_set(err, QNN_EINVAL, "run: no density matrix");
    if (d->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "run: density matrix has %d qubits, circuit has %d",
                             d->n, c->n);
    int noisy = !qnn_noise_is_zero(noise);
    if (noisy) {
        int st = qnn_noise_check(noise, err);
        if (st) return st;
    }
    branches B = {0};
    B.cap = 4;
    B.b = (branch *)malloc(B.cap * sizeof(branch));
    if (!B.b) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    B.keep = d->vec.amp;
    B.b[0].bits = 0;
    B.b[0].d = *d; /* borrows the caller's buffer */
    B.n = 1;
    double thr = 1e-15 * qnn_density_trace(d);
    int st = QNN_OK;
    for (size_t i = 0; i < c->nops && !st; i++) {
        const qnn_op *op = &c->ops[i];
        if (op->kind == QNN_OP_BARRIER) continue;
        if (op->kind == QNN_OP_MEASURE) {
            st = measure_branches(&B, op, thr, err);
        } else {
            for (size_t k = 0; k < B.n && !st; k++) {
                branch *x = &B.b[k];
                if (!cond_ok(op, x->bits)) continue;
                const int *q = qnn_op_qubits(op);
                if (op->kind == QNN_OP_RESET) {
                    st = qnn_density_reset_qubit(&x->d, q[0], err);
                } else if (op->kind != QNN_G_ID) {
                    double p[3];
                    const double *par = qnn_circ_op_params(c, op, p);
                    st = qnn_density_apply_gate(&x->d, (qnn_gate_kind)op->kind, q, op->nq, par,
                                                err);
                }
                if (!st && noisy && op->kind < QNN_G_COUNT)
                    st = qnn_circ_noise_density(op, noise, &x->d, err);
            }
        }
        if (!st && (i & 63) == 63) st = qnn_progress_step(NULL, (double)i, (double)c->nops);
    }
    if (!st && values && probs) {
        if (B.n > cap) {
            st = qnn_error_set(err, QNN_ERANGE, "run: %zu classical outcomes, room for %zu", B.n,
                               cap);
        } else {
            for (size_t k = 0; k < B.n; k++) {
                values[k] = B.b[k].bits;
                probs[k] = qnn_density_trace(&B.b[k].d);
            }
        }
    }
    if (!st && count) *count = B.n;
    /* d <- sum of the branches (in the caller's buffer) */
    size_t len = 2 * d->dim * d->dim;
    size_t owner = B.n;
    for (size_t k = 0; k < B.n; k++)
        if (B.b[k].d.vec.amp == B.keep) owner = k;
    if (!st) {
        if (owner == B.n) memset(B.keep, 0, sizeof(double) * len);
        for (size_t k = 0; k < B.n; k++) {
            if (k == owner) continue;
            const double *src = B.b[k].d.vec.amp;
            for (size_t j = 0; j < len; j++) B.keep[j] += src[j];
        }
    }
    for (size_t k = 0; k < B.n; k++) branch_free(&B, &B.b[k]);
    free(B.b);
    return st;
}

/* ---------------- sampling ---------------- */
static int init_state(qnn_state *s, const qnn_circuit *c, const qnn_state *in, qnn_error *err) {
    int st = qnn_state_init(s, c->n, err);
    if (st) return st;
    if (in) {
        if (in->n != c->n) {
            qnn_state_release(s);
            return qnn_error_set(err, QNN_EINVAL, "input state has %d qubits, circuit has %d",
                                 in->n, c->n);
        }
        st = qnn_state_copy_into(s, in, err);
        if (st) qnn_state_release(s);
    }
    return st;
}

/* runs the gates of c (skipping measurements and barriers) on s */
static int run_gates(const qnn_circuit *c, qnn_state *s, qnn_error *err) {
    for (size_t i = 0; i < c->nops; i++) {
        if (!qnn_op_is_gate(&c->ops[i])) continue;
        int st = qnn_circ_apply_op(c, &c->ops[i], s, 0, err);
        if (!st && (i & 255) == 255) st = qnn_progress_step(NULL, (double)i, (double)c->nops);
        if (st) return st;
    }
    return QNN_OK;
}

int qnn_circuit_sample_check(const qnn_circuit *c, const qnn_noise *noise, size_t shots,
                             qnn_error *err) {
    int noisy = !qnn_noise_is_zero(noise);
    if (!noisy && qnn_circuit_measures_terminal(c)) return QNN_OK; /* one run, then sampling */
    size_t from = 0;
    if (!noisy)
        while (from < c->nops && qnn_op_is_gate(&c->ops[from])) from++;
    /* one trajectory per shot: bound the work (amplitude updates) so no call runs for hours */
    double cost = (double)shots * (double)(c->nops - from + 1) * (double)((size_t)1 << c->n);
    if (cost > QNN_SAMPLE_MAX_WORK)
        return qnn_error_set(err, QNN_EINVAL,
                             "%zu shots of %zu operations on %d qubits need %.3g amplitude "
                             "updates, more than the limit %.3g: at most %.0f shots here", shots,
                             c->nops - from, c->n, cost, QNN_SAMPLE_MAX_WORK,
                             floor(QNN_SAMPLE_MAX_WORK / (cost / (double)shots)));
    return QNN_OK;
}

int qnn_circuit_sample(const qnn_circuit *c, const qnn_state *state_in, const qnn_noise *noise,
                       size_t shots, qnn_rng *rng, uint64_t *out, qnn_error *err) {
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "sample: shots must be >= 1");
    if (!rng) return qnn_error_set(err, QNN_EINVAL, "sample: no random stream");
    int noisy = !qnn_noise_is_zero(noise);
    if (noisy) {
        int st = qnn_noise_check(noise, err);
        if (st) return st;
    }
    int st = qnn_state_check_size(c->n, 2, err);
    if (st) return st;
    qnn_state base, work;
    st = init_state(&base, c, state_in, err);
    if (st) return st;
    if (!noisy && qnn_circuit_measures_terminal(c)) {
        /* sample the measured qubits of the final state, then write their bits in op order */
        int qs[QNN_CIRCUIT_MAXQ], nq = 0, pos[QNN_CIRCUIT_MAXQ];
        for (size_t i = 0; i < c->nops; i++)
            if (c->ops[i].kind == QNN_OP_MEASURE) {
                int q = qnn_op_qubits(&c->ops[i])[0], seen = 0;
                for (int j = 0; j < nq; j++) seen |= qs[j] == q;
                if (!seen) pos[q] = nq, qs[nq++] = q;
            }
        st = run_gates(c, &base, err);
        if (!st && nq) st = qnn_state_sample(&base, shots, qs, nq, rng, out, err);
        if (!st) {
            for (size_t k = 0; k < shots; k++) {
                uint64_t v = nq ? out[k] : 0, b = 0;
                for (size_t i = 0; i < c->nops; i++) {
                    const qnn_op *op = &c->ops[i];
                    if (op->kind != QNN_OP_MEASURE) continue;
                    uint64_t m = (uint64_t)1 << op->cbit;
                    b = (v >> pos[qnn_op_qubits(op)[0]] & 1) ? (b | m) : (b & ~m);
                }
                out[k] = b;
            }
        }
        qnn_state_release(&base);
        return st;
    }
    size_t from = 0;
    if (!noisy)
        while (from < c->nops && qnn_op_is_gate(&c->ops[from])) from++;
    st = qnn_circuit_sample_check(c, noise, shots, err);
    if (st) {
        qnn_state_release(&base);
        return st;
    }
    if (!noisy) {
        for (size_t i = 0; i < from && !st; i++) st = qnn_circ_apply_op(c, &c->ops[i], &base, 0, err);
    }
    if (!st) st = qnn_state_init(&work, c->n, err);
    if (st) {
        qnn_state_release(&base);
        return st;
    }
    for (size_t k = 0; k < shots && !st; k++) {
        uint64_t b = 0;
        st = qnn_state_copy_into(&work, &base, err);
        if (!st) st = run_range(c, &work, from, noise, rng, &b, err);
        out[k] = b;
        if (!st && (k & 63) == 63) st = qnn_progress_step(NULL, (double)k, (double)shots);
    }
    qnn_state_release(&work);
    qnn_state_release(&base);
    return st;
}

/* ---------------- exact probabilities ---------------- */
int qnn_circuit_probs(const qnn_circuit *c, const qnn_state *state_in, double *probs,
                      qnn_error *err) {
    int st;
    if (qnn_circuit_measures_terminal(c)) {
        qnn_state s;
        st = qnn_state_check_size(c->n, 1, err);
        if (!st) st = init_state(&s, c, state_in, err);
        if (st) return st;
        st = run_gates(c, &s, err);
        if (!st) qnn_state_probs(&s, probs);
        qnn_state_release(&s);
        return st;
    }
    if (c->n > QNN_DENSITY_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL,
                             "probs: the circuit has mid-circuit measurement, reset or classical "
                             "control, so its output is a mixed state; exact probabilities need a "
                             "density matrix (at most %d qubits, this circuit has %d): use "
                             "c:sample(shots) instead", QNN_DENSITY_MAX_QUBITS, c->n);
    qnn_density d;
    if (state_in) {
        if (state_in->n != c->n)
            return qnn_error_set(err, QNN_EINVAL, "input state has %d qubits, circuit has %d",
                                 state_in->n, c->n);
        st = qnn_density_init_pure(&d, state_in, err);
    } else {
        st = qnn_density_init(&d, c->n, err);
    }
    if (st) return st;
    st = qnn_circuit_run_density_bits(c, &d, NULL, NULL, NULL, 0, NULL, err);
    if (!st) qnn_density_probs(&d, probs);
    qnn_density_release(&d);
    return st;
}

/* ---------------- gradients: unitary circuits only ---------------- */
int qnn_circ_unitary_view(const qnn_circuit *c, const char *what, const qnn_pauli_term *terms,
                          int nterms, qnn_circuit **view, qnn_error *err) {
    *view = NULL;
    int gates = 1;
    for (size_t i = 0; i < c->nops && gates; i++) gates = qnn_op_is_gate(&c->ops[i]);
    if (gates) return QNN_OK;
    if (!qnn_circuit_measures_terminal(c))
        return qnn_error_set(err, QNN_EINVAL,
                             "the circuit has mid-circuit measurement, reset or classical "
                             "control; %s is defined for unitary circuits only (use c:sample(shots) "
                             "or run the circuit on a Density)", what);
    uint64_t measured = 0;
    for (size_t i = 0; i < c->nops; i++)
        if (c->ops[i].kind == QNN_OP_MEASURE) measured |= (uint64_t)1 << qnn_op_qubits(&c->ops[i])[0];
    for (int t = 0; terms && t < nterms; t++)
        if (terms[t].x & measured)
            return qnn_error_set(err, QNN_EINVAL,
                                 "observable term %d has X or Y on qubit %d, which the circuit "
                                 "measures before the end of %s (measurement removes that "
                                 "coherence); remove the measurement or use Z/I there", t + 1,
                                 __builtin_ctzll(terms[t].x & measured), what);
    return qnn_circuit_gates_only(view, c, err);
}
