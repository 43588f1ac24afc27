/* The circuit compiler: gate fusion for state-vector runs.
 *
 * Plan (structure only): the ops are walked in order; each unitary op on few qubits joins the
 * most recent block that touches any of its qubits, provided no later block touches them
 * (so moving it there only commutes it past blocks on disjoint qubits) and the union of qubits
 * stays within the size limits: up to QNN_FUSE_MAXK qubits for a dense block, up to
 * QNN_FUSE_MAXKD for a block whose gates are all diagonal. A cost model (passes over the state,
 * in units of one dense 1-qubit gate) decides whether a block runs as one fused dense (or
 * diagonal) kernel or as its gates one by one with their specialised kernels; a block of one
 * gate always runs as that gate. Ops the compiler does not know (or large ones: mcx on many
 * qubits, big unitaries, full-register diagonals) run as themselves; unknown kinds (anything
 * not listed in op_class, e.g. non-unitary ops) are full barriers.
 *
 * Bind (values): the matrix of every fused block is the product of its gates' matrices,
 * computed from the current angle values and kept with the values it was built from.
 *
 * Cache: the program is stored on the circuit. Every run checks it against the circuit
 * (op kinds and qubits: re-plan on any change; angle values and unitary/diagonal data of
 * fused ops: re-bind only the blocks whose values changed), so any way of changing a circuit
 * (builders, set, append, repeat, direct edits of ops) is seen. The check is O(gates), far
 * below one pass over the state. Planning and binding run in an OpenMP critical section, so
 * concurrent runs of one circuit from several threads are safe (they must not change it).
 *
 * Switches: qnn_circuit_run_ex(..., fuse = 0) runs gate by gate; QNN_FUSE=0 in the
 * environment makes that the default (for benchmarks). */
#include "circuit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QNN_FUSE_MAXK 5  /* dense block */
#define QNN_FUSE_MAXKD 8 /* all-diagonal block */

enum { FB_OP = 0, FB_DENSE = 1, FB_DIAG = 2, FB_PERM = 3 };
enum { OC_BARRIER = 0, OC_SELF = 1, OC_DENSE = 2, OC_DIAG = 3, OC_PERM = 4 };

typedef struct fblock {
    int type, k, diag, perm;
    int q[QNN_CIRCUIT_MAXQ];
    size_t first, n;  /* member op indices: prog->members[first .. first + n) */
    size_t mat;       /* offset of the bound matrix / diagonal in prog->mats */
    double sum;       /* cost of the gates run one by one */
} fblock;

typedef struct qnn_fuse_prog {
    /* snapshot of the structure the plan was made from */
    size_t nops;
    int *okind, *onq;
    size_t *oq;        /* offset of op i's qubits in qs */
    int *qs;
    /* plan */
    fblock *b;
    size_t nb;
    size_t *members;   /* op indices, grouped by block, in application order */
    double *mats;      /* bound matrices (dense: 2 d^2, diag: 2 d doubles; permutation: the
                          n + 1 words of its index map, stored as uint64_t) */
    size_t nmats;
    double *vals;      /* per op: 3 angle values the binding used */
    double **data;     /* per op: copy of unitary/diagonal data of fused ops (else NULL) */
    int bound;
    qnn_fuse_stats stats;
} qnn_fuse_prog;

/* ---- op classes and costs ---- */
static int op_class(const qnn_op *op, int n) {
    switch (op->kind) {
    case QNN_G_ID: return OC_SELF; /* no-op; never fused */
    case QNN_G_Z: case QNN_G_S: case QNN_G_SDG: case QNN_G_T: case QNN_G_TDG: case QNN_G_RZ:
    case QNN_G_PHASE: case QNN_G_CZ: case QNN_G_CRZ: case QNN_G_CPHASE: case QNN_G_RZZ:
        return OC_DIAG;
    case QNN_G_X: case QNN_G_CX: case QNN_G_SWAP: return OC_PERM;
    case QNN_G_H: case QNN_G_Y: case QNN_G_SX: case QNN_G_SXDG: case QNN_G_RX:
    case QNN_G_RY: case QNN_G_U3: case QNN_G_CY: case QNN_G_CRX:
    case QNN_G_CRY: case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZY:
        return OC_DENSE;
    case QNN_G_MCZ: return op->nq <= QNN_FUSE_MAXKD ? OC_DIAG : OC_SELF;
    case QNN_G_MCX:
    case QNN_G_UNITARY: return op->nq <= QNN_FUSE_MAXK ? OC_DENSE : OC_SELF;
    case QNN_G_DIAGONAL: return op->nq <= QNN_FUSE_MAXKD && op->nq < n ? OC_DIAG : OC_SELF;
    default: return OC_BARRIER; /* unknown (e.g. non-unitary) ops: nothing moves across */
    }
}

/* Cost of a kernel call, in units of one dense 1-qubit gate (U3) on the same state. Measured
 * (scripts/bench_fusion.sh, docs/performance.md): on 2-core AVX2 machines states up to 2^20
 * amplitudes sit in L2/L3 and every kernel is bound by arithmetic, so a dense k-qubit block
 * costs about 2^k complex multiply-adds per amplitude against 2 for a U3. */
static double op_cost(const qnn_op *op) {
    switch (op->kind) {
    case QNN_G_Z: case QNN_G_S: case QNN_G_SDG: case QNN_G_T: case QNN_G_TDG: case QNN_G_PHASE:
        return 0.5;
    case QNN_G_CZ: case QNN_G_CPHASE: case QNN_G_MCZ: case QNN_G_MCX: return 0.4;
    case QNN_G_RZ: return 0.85;
    case QNN_G_CX: case QNN_G_CY: case QNN_G_SWAP: case QNN_G_X: return 0.65;
    case QNN_G_CRZ: return 0.5;
    case QNN_G_CRX: case QNN_G_CRY: return 0.7;
    case QNN_G_H: case QNN_G_RY: case QNN_G_Y: return 0.8;
    case QNN_G_RZZ: return 1.2;
    case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZY: return 2.2;
    case QNN_G_UNITARY: return op->nq <= 1 ? 1.0 : op->nq == 2 ? 2.2 : 4.8 * (double)(1 << (op->nq - 3));
    case QNN_G_DIAGONAL: return 1.2;
    default: return 1.0;
    }
}
static const double DENSE_COST[QNN_FUSE_MAXK + 1] = {0, 1.0, 2.2, 4.8, 10.3, 22.5};
#define PERM_COST 2.4 /* gather through the index map + copy back (measured) */
static double block_cost(const fblock *b) {
    double fused = b->perm ? PERM_COST : b->diag ? (b->k <= 6 ? 1.2 : 1.8) : DENSE_COST[b->k];
    return b->n <= 1 || b->sum <= fused ? b->sum : fused;
}
static int block_fused(const fblock *b) {
    return b->n >= 2 && block_cost(b) < b->sum;
}

int qnn_fusion_default(void) {
    const char *e = getenv("QNN_FUSE");
    return !(e && (e[0] == '0' || strcmp(e, "off") == 0 || strcmp(e, "false") == 0));
}

/* ---- life cycle ---- */
static void prog_free(qnn_fuse_prog *p) {
    if (!p) return;
    if (p->data)
        for (size_t i = 0; i < p->nops; i++) free(p->data[i]);
    free(p->data);
    free(p->okind), free(p->onq), free(p->oq), free(p->qs);
    free(p->b), free(p->members), free(p->mats), free(p->vals);
    free(p);
}

void qnn_circ_fuse_free(qnn_circuit *c) {
    prog_free(c->fuse);
    c->fuse = NULL;
}

static int same_structure(const qnn_fuse_prog *p, const qnn_circuit *c) {
    if (p->nops != c->nops) return 0;
    for (size_t i = 0; i < c->nops; i++) {
        const qnn_op *op = &c->ops[i];
        if (op->kind != p->okind[i] || op->nq != p->onq[i]) return 0;
        if (memcmp(qnn_op_qubits(op), p->qs + p->oq[i], sizeof(int) * (size_t)op->nq)) return 0;
    }
    return 1;
}

/* ---- planning ---- */
static int plan(const qnn_circuit *c, qnn_fuse_prog **out, qnn_error *err) {
    const size_t N = c->nops;
    const int n = c->n;
    qnn_fuse_prog *p = (qnn_fuse_prog *)calloc(1, sizeof *p);
    if (!p) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    size_t nq = 0;
    for (size_t i = 0; i < N; i++) nq += (size_t)c->ops[i].nq;
    size_t N1 = N ? N : 1;
    p->nops = N;
    p->okind = (int *)malloc(N1 * sizeof(int));
    p->onq = (int *)malloc(N1 * sizeof(int));
    p->oq = (size_t *)malloc(N1 * sizeof(size_t));
    p->qs = (int *)malloc((nq ? nq : 1) * sizeof(int));
    p->b = (fblock *)malloc(N1 * sizeof(fblock));
    p->members = (size_t *)malloc(N1 * sizeof(size_t));
    p->vals = (double *)malloc(3 * N1 * sizeof(double));
    p->data = (double **)calloc(N1, sizeof(double *));
    size_t *bmem = (size_t *)malloc(N1 * sizeof(size_t)); /* op -> block */
    if (!p->okind || !p->onq || !p->oq || !p->qs || !p->b || !p->members || !p->vals || !p->data ||
        !bmem) {
        free(bmem);
        prog_free(p);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    long last[QNN_CIRCUIT_MAXQ];
    for (int q = 0; q < n; q++) last[q] = -1;
    long bar = -1;
    size_t nb = 0, off = 0;
    for (size_t i = 0; i < N; i++) {
        const qnn_op *op = &c->ops[i];
        const int *oq = qnn_op_qubits(op);
        p->okind[i] = op->kind, p->onq[i] = op->nq, p->oq[i] = off;
        memcpy(p->qs + off, oq, sizeof(int) * (size_t)op->nq);
        off += (size_t)op->nq;
        bmem[i] = (size_t)-1;
        int cls = op_class(op, n);
        if (op->kind == QNN_G_ID) continue;
        long x = bar;
        for (int j = 0; j < op->nq; j++)
            if (last[oq[j]] > x) x = last[oq[j]];
        int isdiag = cls == OC_DIAG, isperm = cls == OC_PERM && n >= 2;
        if (cls == OC_DENSE || cls == OC_DIAG || cls == OC_PERM) {
            fblock *t = x >= 0 ? &p->b[x] : NULL;
            if (t && t->type != FB_OP) {
                int u[QNN_CIRCUIT_MAXQ + QNN_GATE_MAX_UNITARY_QUBITS];
                int k = t->k;
                memcpy(u, t->q, sizeof(int) * (size_t)k);
                for (int j = 0; j < op->nq; j++) {
                    int seen = 0;
                    for (int l = 0; l < k; l++) seen |= u[l] == oq[j];
                    if (!seen) u[k++] = oq[j];
                }
                int diag = t->diag && isdiag, perm = t->perm && isperm;
                if (k <= (perm ? n : diag ? QNN_FUSE_MAXKD : QNN_FUSE_MAXK)) {
                    fblock m = *t;
                    m.k = k, m.diag = diag, m.perm = perm, m.n = t->n + 1;
                    m.sum = t->sum + op_cost(op);
                    memcpy(m.q, u, sizeof(int) * (size_t)k);
                    /* the cost model: merging must not cost more than running op alone */
                    if (block_cost(&m) <= block_cost(t) + op_cost(op) + 1e-9) {
                        *t = m;
                        bmem[i] = (size_t)x;
                        for (int j = 0; j < op->nq; j++) last[oq[j]] = x;
                        continue;
                    }
                }
            }
            fblock *nbk = &p->b[nb];
            memset(nbk, 0, sizeof *nbk);
            nbk->type = FB_DENSE, nbk->k = op->nq, nbk->diag = isdiag, nbk->perm = isperm;
            nbk->n = 1;
            nbk->sum = op_cost(op);
            memcpy(nbk->q, oq, sizeof(int) * (size_t)op->nq);
        } else {
            fblock *nbk = &p->b[nb];
            memset(nbk, 0, sizeof *nbk);
            nbk->type = FB_OP, nbk->n = 1, nbk->sum = op_cost(op);
            if (cls == OC_BARRIER) bar = (long)nb;
        }
        bmem[i] = nb;
        for (int j = 0; j < op->nq; j++) last[oq[j]] = (long)nb;
        nb++;
    }
    /* members grouped by block, in circuit order within each block */
    size_t pos = 0;
    for (size_t b = 0; b < nb; b++) {
        p->b[b].first = pos;
        pos += p->b[b].n;
        p->b[b].n = 0;
    }
    for (size_t i = 0; i < N; i++)
        if (bmem[i] != (size_t)-1) {
            fblock *t = &p->b[bmem[i]];
            p->members[t->first + t->n++] = i;
        }
    free(bmem);
    /* final types, matrix storage, stats */
    size_t mats = 0;
    qnn_fuse_stats *s = &p->stats;
    memset(s, 0, sizeof *s);
    s->gates = N;
    for (size_t b = 0; b < nb; b++) {
        fblock *t = &p->b[b];
        s->unfused_passes += t->sum;
        if (t->type == FB_DENSE && block_fused(t) && t->perm) {
            t->type = FB_PERM;
            t->mat = mats;
            mats += (size_t)n + 1;
            s->perm_blocks++;
            s->blocks++;
            s->passes += block_cost(t);
        } else if (t->type == FB_DENSE && block_fused(t)) {
            t->type = t->diag ? FB_DIAG : FB_DENSE;
            size_t d = (size_t)1 << t->k;
            t->mat = mats;
            mats += t->diag ? 2 * d : 2 * d * d;
            if (t->diag) s->diag_blocks++;
            else s->dense_blocks++;
            if (t->k > s->max_k) s->max_k = t->k;
            s->blocks++;
            s->passes += block_cost(t);
        } else if (t->type == FB_DENSE) {
            t->type = FB_OP; /* run its gates one by one */
            s->blocks += t->n;
            s->single_ops += t->n;
            s->passes += t->sum;
        } else {
            s->blocks++;
            s->single_ops++;
            s->passes += t->sum;
        }
    }
    p->nb = nb;
    p->nmats = mats;
    p->mats = (double *)malloc((mats ? mats : 1) * sizeof(double));
    if (!p->mats) {
        prog_free(p);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    *out = p;
    return QNN_OK;
}

/* ---- binding ---- */
/* M (d x d, row-major, complex) <- G M, G a 2^gk x 2^gk matrix on local bits lb[0..gk-1]. */
static void left_mul(double *M, int k, const int *lb, int gk, const double *G) {
    const size_t d = (size_t)1 << k, gd = (size_t)1 << gk;
    size_t offs[1 << QNN_FUSE_MAXK];
    for (size_t j = 0; j < gd; j++) {
        size_t o = 0;
        for (int b = 0; b < gk; b++)
            if ((j >> b) & 1) o |= (size_t)1 << lb[b];
        offs[j] = o;
    }
    size_t fixed = offs[gd - 1];
    double buf[2 << QNN_FUSE_MAXK];
    for (size_t col = 0; col < d; col++)
        for (size_t base = 0; base < d; base++) {
            if (base & fixed) continue;
            for (size_t j = 0; j < gd; j++) {
                const double *e = M + 2 * ((base | offs[j]) * d + col);
                buf[2 * j] = e[0], buf[2 * j + 1] = e[1];
            }
            for (size_t r = 0; r < gd; r++) {
                double re = 0, im = 0;
                for (size_t j = 0; j < gd; j++) {
                    double gr = G[2 * (r * gd + j)], gi = G[2 * (r * gd + j) + 1];
                    re += gr * buf[2 * j] - gi * buf[2 * j + 1];
                    im += gr * buf[2 * j + 1] + gi * buf[2 * j];
                }
                double *e = M + 2 * ((base | offs[r]) * d + col);
                e[0] = re, e[1] = im;
            }
        }
}

/* Dense matrix of a fusable op on its own qubits (2^nq x 2^nq) into G. */
static int op_matrix(const qnn_circuit *c, const qnn_op *op, double *G) {
    double p[3];
    const double *par = qnn_circ_op_params(c, op, p);
    const size_t d = (size_t)1 << op->nq;
    switch (op->kind) {
    case QNN_G_UNITARY: memcpy(G, par, sizeof(double) * 2 * d * d); return QNN_OK;
    case QNN_G_MCX: case QNN_G_MCZ: case QNN_G_DIAGONAL: {
        memset(G, 0, sizeof(double) * 2 * d * d);
        size_t all = d - 1;
        for (size_t x = 0; x < d; x++) {
            if (op->kind == QNN_G_MCX) {
                /* target is the last qubit (top bit of the local index) */
                size_t ctl = all >> 1;
                size_t y = (x & ctl) == ctl ? x ^ (d >> 1) : x;
                G[2 * (y * d + x)] = 1.0;
            } else if (op->kind == QNN_G_MCZ) {
                G[2 * (x * d + x)] = x == all ? -1.0 : 1.0;
            } else {
                G[2 * (x * d + x)] = cos(par[x]);
                G[2 * (x * d + x) + 1] = sin(par[x]);
            }
        }
        return QNN_OK;
    }
    default: return qnn_gate_matrix((qnn_gate_kind)op->kind, par, G);
    }
}

static int op_values_equal(const qnn_fuse_prog *p, const qnn_circuit *c, size_t i) {
    const qnn_op *op = &c->ops[i];
    if (op->kind == QNN_G_UNITARY || op->kind == QNN_G_DIAGONAL) {
        size_t len = qnn_circ_op_datalen(op, c->n);
        return p->data[i] && memcmp(p->data[i], op->data, sizeof(double) * len) == 0;
    }
    int na = qnn_op_kind_nangles(op->kind);
    for (int a = 0; a < na; a++)
        if (p->vals[3 * i + (size_t)a] != qnn_circuit_angle_value(c, &op->ang[a])) return 0;
    return 1;
}

/* index map of a block of X / CX / SWAP: new amplitude of y = old amplitude of g(y), g the
 * inverse of the gates' basis map (each gate is its own inverse: apply them last to first) */
static uint64_t perm_g(const qnn_fuse_prog *p, const qnn_circuit *c, const fblock *t, uint64_t y) {
    for (size_t m = t->n; m-- > 0;) {
        const qnn_op *op = &c->ops[p->members[t->first + m]];
        const int *q = qnn_op_qubits(op);
        if (op->kind == QNN_G_X) {
            y ^= (uint64_t)1 << q[0];
        } else if (op->kind == QNN_G_CX) {
            if ((y >> q[0]) & 1) y ^= (uint64_t)1 << q[1];
        } else { /* SWAP */
            uint64_t a = (y >> q[0]) & 1, b = (y >> q[1]) & 1;
            if (a != b) y ^= ((uint64_t)1 << q[0]) | ((uint64_t)1 << q[1]);
        }
    }
    return y;
}

static int bind_block(qnn_fuse_prog *p, const qnn_circuit *c, fblock *t, qnn_error *err) {
    if (t->type == FB_PERM) {
        uint64_t *w = (uint64_t *)(void *)(p->mats + t->mat);
        uint64_t g0 = perm_g(p, c, t, 0);
        for (int j = 0; j < c->n; j++) w[j] = perm_g(p, c, t, (uint64_t)1 << j) ^ g0;
        w[c->n] = g0;
        return QNN_OK;
    }
    const size_t d = (size_t)1 << t->k;
    double M[2 << (2 * QNN_FUSE_MAXK)];
    double G[2 << (2 * QNN_FUSE_MAXK)];
    if (t->type == FB_DIAG) {
        double *D = p->mats + t->mat;
        for (size_t x = 0; x < d; x++) D[2 * x] = 1.0, D[2 * x + 1] = 0.0;
    } else {
        memset(M, 0, sizeof(double) * 2 * d * d);
        for (size_t x = 0; x < d; x++) M[2 * (x * d + x)] = 1.0;
    }
    for (size_t m = 0; m < t->n; m++) {
        size_t i = p->members[t->first + m];
        const qnn_op *op = &c->ops[i];
        int na = qnn_op_kind_nangles(op->kind);
        for (int a = 0; a < na; a++) p->vals[3 * i + (size_t)a] = qnn_circuit_angle_value(c, &op->ang[a]);
        if (op->kind == QNN_G_UNITARY || op->kind == QNN_G_DIAGONAL) {
            size_t len = qnn_circ_op_datalen(op, c->n);
            if (!p->data[i]) {
                p->data[i] = (double *)malloc(sizeof(double) * len);
                if (!p->data[i]) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
            }
            memcpy(p->data[i], op->data, sizeof(double) * len);
        }
        const int *oq = qnn_op_qubits(op);
        int lb[QNN_FUSE_MAXKD];
        for (int j = 0; j < op->nq; j++)
            for (int l = 0; l < t->k; l++)
                if (t->q[l] == oq[j]) lb[j] = l;
        int st;
        if (t->type == FB_DIAG) {
            /* diagonal of the op on its sub-index, multiplied into the block's entries */
            const size_t gd = (size_t)1 << op->nq;
            double dg[2 << QNN_FUSE_MAXKD];
            if (op->nq <= QNN_FUSE_MAXK) {
                st = op_matrix(c, op, G);
                if (st) return qnn_error_set(err, st, "run: bad gate %zu", i + 1);
                for (size_t x = 0; x < gd; x++)
                    dg[2 * x] = G[2 * (x * gd + x)], dg[2 * x + 1] = G[2 * (x * gd + x) + 1];
            } else { /* mcz / diagonal on more qubits */
                double pp[3];
                const double *par = qnn_circ_op_params(c, op, pp);
                for (size_t x = 0; x < gd; x++) {
                    if (op->kind == QNN_G_MCZ) dg[2 * x] = x == gd - 1 ? -1.0 : 1.0, dg[2 * x + 1] = 0;
                    else dg[2 * x] = cos(par[x]), dg[2 * x + 1] = sin(par[x]);
                }
            }
            double *D = p->mats + t->mat;
            for (size_t x = 0; x < d; x++) {
                size_t sub = 0;
                for (int j = 0; j < op->nq; j++) sub |= ((x >> lb[j]) & 1) << j;
                double ar = D[2 * x], ai = D[2 * x + 1], br = dg[2 * sub], bi = dg[2 * sub + 1];
                D[2 * x] = ar * br - ai * bi;
                D[2 * x + 1] = ar * bi + ai * br;
            }
        } else {
            st = op_matrix(c, op, G);
            if (st) return qnn_error_set(err, st, "run: bad gate %zu", i + 1);
            left_mul(M, t->k, lb, op->nq, G);
        }
    }
    if (t->type == FB_DENSE) memcpy(p->mats + t->mat, M, sizeof(double) * 2 * d * d);
    return QNN_OK;
}

/* Makes the cached program valid for c's current structure and values. */
static int prepare(const qnn_circuit *cc, qnn_fuse_prog **out, qnn_error *err) {
    qnn_circuit *c = (qnn_circuit *)cc; /* the cache is not part of the circuit's value */
    int st = QNN_OK;
#pragma omp critical(qnn_circuit_fuse)
    {
        if (c->fuse && !same_structure(c->fuse, c)) qnn_circ_fuse_free(c);
        if (!c->fuse) st = plan(c, &c->fuse, err);
        qnn_fuse_prog *p = c->fuse;
        for (size_t b = 0; !st && b < p->nb; b++) {
            fblock *t = &p->b[b];
            if (t->type == FB_OP) continue;
            int same = p->bound;
            for (size_t m = 0; m < t->n && same; m++) same = op_values_equal(p, c, p->members[t->first + m]);
            if (!same) st = bind_block(p, c, t, err);
        }
        if (!st) p->bound = 1;
        else if (p) qnn_circ_fuse_free(c);
        *out = c->fuse;
    }
    return st;
}

int qnn_circuit_compile(const qnn_circuit *c, qnn_fuse_stats *stats, qnn_error *err) {
    qnn_fuse_prog *p;
    int st = prepare(c, &p, err);
    if (!st && stats) *stats = p->stats;
    return st;
}

int qnn_circuit_fused_block(const qnn_circuit *c, size_t i, qnn_fuse_block *out) {
    const qnn_fuse_prog *p = c->fuse;
    if (!p || i >= p->nb) return QNN_EINVAL;
    const fblock *t = &p->b[i];
    out->type = t->type == FB_DENSE ? QNN_FUSE_DENSE
              : t->type == FB_DIAG  ? QNN_FUSE_DIAG
              : t->type == FB_PERM  ? QNN_FUSE_PERM
                                    : QNN_FUSE_GATES;
    out->k = t->type == FB_OP ? 0 : t->k;
    out->qubits = t->q;
    out->ngates = t->n;
    out->gates = p->members + t->first;
    out->cost = block_cost(t);
    out->matrix = t->type == FB_DENSE || t->type == FB_DIAG ? p->mats + t->mat : NULL;
    return QNN_OK;
}

size_t qnn_circuit_fused_nblocks(const qnn_circuit *c) {
    return c->fuse ? ((const qnn_fuse_prog *)c->fuse)->nb : 0;
}

static int progress(size_t done, size_t total, size_t *next) {
    if (done < *next) return QNN_OK;
    *next = done + 256;
    return qnn_progress_step(NULL, (double)done, (double)total);
}

/* Block b of the compiled program on s, in place (the program must be prepared). */
static int run_block(const qnn_circuit *c, const qnn_fuse_prog *p, size_t b, qnn_state *s,
                     qnn_error *err) {
    const fblock *t = &p->b[b];
    int st = QNN_OK;
    if (t->type == FB_OP) {
        for (size_t m = 0; m < t->n && !st; m++)
            st = qnn_circ_apply_op(c, &c->ops[p->members[t->first + m]], s, 0, err);
    } else if (t->type == FB_PERM) {
        const uint64_t *w = (const uint64_t *)(const void *)(p->mats + t->mat);
        st = qnn_state_permute_linear(s, w, w[c->n], err);
    } else if (t->type == FB_DENSE) {
        st = qnn_state_apply_kq(s, t->q, t->k, p->mats + t->mat, err);
    } else {
        st = qnn_state_apply_diag_complex(s, t->q, t->k, p->mats + t->mat, err);
    }
    return st;
}

int qnn_circ_run_fused_block(const qnn_circuit *c, size_t b, qnn_state *s, qnn_error *err) {
    const qnn_fuse_prog *p = c->fuse;
    if (!p || b >= p->nb) return qnn_error_set(err, QNN_EINVAL, "run: no compiled block %zu", b + 1);
    return run_block(c, p, b, s, err);
}

int qnn_circ_run_fused(const qnn_circuit *c, qnn_state *s, qnn_error *err) {
    qnn_fuse_prog *p;
    int st = prepare(c, &p, err);
    size_t done = 0, next = 256;
    for (size_t b = 0; !st && b < p->nb; b++) {
        const fblock *t = &p->b[b];
        st = run_block(c, p, b, s, err);
        done += t->n;
        if (!st) st = progress(done, p->nops, &next);
    }
    return st;
}
