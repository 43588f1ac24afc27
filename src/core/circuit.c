/* Circuit IR: gate list, parameter table, building with checks, append/inverse/repeat,
 * depth/count, and the text drawing. Simulation lives in circuit_run.c, gradients in
 * circuit_grad.c, OpenQASM in qasm.c. */
#include "circuit_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- kind table ---------------- */
typedef struct kind_info {
    const char *name;
    int nq;     /* 0: variable */
    int nang;
} kind_info;

static const kind_info KINDS[QNN_G_COUNT] = {
    [QNN_G_H] = {"h", 1, 0},          [QNN_G_X] = {"x", 1, 0},
    [QNN_G_Y] = {"y", 1, 0},          [QNN_G_Z] = {"z", 1, 0},
    [QNN_G_S] = {"s", 1, 0},          [QNN_G_SDG] = {"sdg", 1, 0},
    [QNN_G_T] = {"t", 1, 0},          [QNN_G_TDG] = {"tdg", 1, 0},
    [QNN_G_SX] = {"sx", 1, 0},        [QNN_G_SXDG] = {"sxdg", 1, 0},
    [QNN_G_ID] = {"id", 1, 0},
    [QNN_G_RX] = {"rx", 1, 1},        [QNN_G_RY] = {"ry", 1, 1},
    [QNN_G_RZ] = {"rz", 1, 1},        [QNN_G_PHASE] = {"phase", 1, 1},
    [QNN_G_U3] = {"u3", 1, 3},        [QNN_G_CX] = {"cx", 2, 0},
    [QNN_G_CY] = {"cy", 2, 0},        [QNN_G_CZ] = {"cz", 2, 0},
    [QNN_G_SWAP] = {"swap", 2, 0},    [QNN_G_CRX] = {"crx", 2, 1},
    [QNN_G_CRY] = {"cry", 2, 1},      [QNN_G_CRZ] = {"crz", 2, 1},
    [QNN_G_CPHASE] = {"cphase", 2, 1}, [QNN_G_RXX] = {"rxx", 2, 1},
    [QNN_G_RYY] = {"ryy", 2, 1},      [QNN_G_RZZ] = {"rzz", 2, 1},
    [QNN_G_RZY] = {"rzy", 2, 1},      [QNN_G_MCX] = {"mcx", 0, 0},
    [QNN_G_MCZ] = {"mcz", 0, 0},      [QNN_G_UNITARY] = {"unitary", 0, 0},
    [QNN_G_DIAGONAL] = {"diagonal", 0, 0},
};

int qnn_op_kind_from_name(const char *name) {
    if (!name) return -1;
    for (int k = 0; k < QNN_G_COUNT; k++)
        if (strcmp(KINDS[k].name, name) == 0) return k;
    return -1;
}

const char *qnn_op_kind_name(int kind) {
    return (kind >= 0 && kind < QNN_G_COUNT) ? KINDS[kind].name : NULL;
}

int qnn_op_kind_nqubits(int kind) {
    return (kind >= 0 && kind < QNN_G_COUNT) ? KINDS[kind].nq : -1;
}

int qnn_op_kind_nangles(int kind) {
    return (kind >= 0 && kind < QNN_G_COUNT) ? KINDS[kind].nang : 0;
}

/* ---------------- life cycle ---------------- */
int qnn_circuit_new(qnn_circuit **out, int nqubits, qnn_error *err) {
    *out = NULL;
    if (nqubits < 1 || nqubits > QNN_CIRCUIT_MAXQ)
        return qnn_error_set(err, QNN_EINVAL, "number of qubits must be in [1, %d], got %d",
                             QNN_CIRCUIT_MAXQ, nqubits);
    qnn_circuit *c = (qnn_circuit *)calloc(1, sizeof *c);
    if (!c) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    c->n = nqubits;
    *out = c;
    return QNN_OK;
}

static void op_release(qnn_op *op) {
    free(op->qext);
    free(op->data);
    op->qext = NULL;
    op->data = NULL;
}

void qnn_circuit_free(qnn_circuit *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nops; i++) op_release(&c->ops[i]);
    free(c->ops);
    for (int i = 0; i < c->np; i++) free(c->names[i]);
    free(c->names);
    free(c->values);
    free(c);
}

size_t qnn_circ_op_datalen(const qnn_op *op, int n) {
    if (op->kind == QNN_G_UNITARY) {
        size_t d = (size_t)1 << op->nq;
        return 2 * d * d;
    }
    if (op->kind == QNN_G_DIAGONAL) return (size_t)1 << op->nq;
    (void)n;
    return 0;
}

/* Deep copy of op into dst (dst uninitialised). */
int qnn_circ_op_clone(qnn_op *dst, const qnn_op *src, int n) {
    *dst = *src;
    dst->qext = NULL;
    dst->data = NULL;
    if (src->nq > 3) {
        dst->qext = (int *)malloc(sizeof(int) * (size_t)src->nq);
        if (!dst->qext) return QNN_ENOMEM;
        memcpy(dst->qext, src->qext, sizeof(int) * (size_t)src->nq);
    }
    size_t len = qnn_circ_op_datalen(src, n);
    if (len) {
        dst->data = (double *)malloc(sizeof(double) * len);
        if (!dst->data) {
            free(dst->qext);
            dst->qext = NULL;
            return QNN_ENOMEM;
        }
        memcpy(dst->data, src->data, sizeof(double) * len);
    }
    return QNN_OK;
}

static int reserve_ops(qnn_circuit *c, size_t extra) {
    if (c->nops + extra <= c->cap) return QNN_OK;
    size_t cap = c->cap ? c->cap : 16;
    while (cap < c->nops + extra) {
        if (cap > ((size_t)-1) / 2 / sizeof(qnn_op)) return QNN_ENOMEM;
        cap *= 2;
    }
    qnn_op *p = (qnn_op *)realloc(c->ops, cap * sizeof(qnn_op));
    if (!p) return QNN_ENOMEM;
    c->ops = p;
    c->cap = cap;
    return QNN_OK;
}

int qnn_circuit_copy(qnn_circuit **out, const qnn_circuit *c, qnn_error *err) {
    qnn_circuit *d;
    int st = qnn_circuit_new(&d, c->n, err);
    if (st) return st;
    for (int i = 0; i < c->np; i++) {
        int idx = qnn_circuit_param(d, c->names[i], err);
        if (idx < 0) {
            qnn_circuit_free(d);
            return QNN_ENOMEM;
        }
        d->values[idx] = c->values[i];
    }
    if (reserve_ops(d, c->nops)) {
        qnn_circuit_free(d);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->nops; i++) {
        if (qnn_circ_op_clone(&d->ops[i], &c->ops[i], c->n)) {
            qnn_circuit_free(d);
            return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        }
        d->nops++;
    }
    *out = d;
    return QNN_OK;
}

int qnn_circuit_nqubits(const qnn_circuit *c) { return c->n; }
size_t qnn_circuit_ngates(const qnn_circuit *c) { return c->nops; }
const qnn_op *qnn_circuit_op(const qnn_circuit *c, size_t i) {
    return i < c->nops ? &c->ops[i] : NULL;
}

/* ---------------- parameters ---------------- */
int qnn_circuit_nparams(const qnn_circuit *c) { return c->np; }

int qnn_circuit_param_index(const qnn_circuit *c, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < c->np; i++)
        if (strcmp(c->names[i], name) == 0) return i;
    return -1;
}

int qnn_circuit_param(qnn_circuit *c, const char *name, qnn_error *err) {
    if (!name || !*name) {
        qnn_error_set(err, QNN_EINVAL, "parameter name must be a non-empty string");
        return -1;
    }
    if (strlen(name) > 200) {
        qnn_error_set(err, QNN_EINVAL, "parameter name longer than 200 characters");
        return -1;
    }
    int i = qnn_circuit_param_index(c, name);
    if (i >= 0) return i;
    if (c->np >= c->pcap) {
        int cap = c->pcap ? c->pcap * 2 : 8;
        char **nn = (char **)realloc(c->names, sizeof(char *) * (size_t)cap);
        if (!nn) goto oom;
        c->names = nn;
        double *nv = (double *)realloc(c->values, sizeof(double) * (size_t)cap);
        if (!nv) goto oom;
        c->values = nv;
        c->pcap = cap;
    }
    size_t len = strlen(name);
    char *copy = (char *)malloc(len + 1);
    if (!copy) goto oom;
    memcpy(copy, name, len + 1);
    c->names[c->np] = copy;
    c->values[c->np] = 0.0;
    return c->np++;
oom:
    qnn_error_set(err, QNN_ENOMEM, "out of memory");
    return -1;
}

const char *qnn_circuit_param_name(const qnn_circuit *c, int i) {
    return (i >= 0 && i < c->np) ? c->names[i] : NULL;
}

double qnn_circuit_get_param(const qnn_circuit *c, int i) {
    return (i >= 0 && i < c->np) ? c->values[i] : NAN;
}

const double *qnn_circuit_params(const qnn_circuit *c) { return c->values; }

int qnn_circuit_set_param(qnn_circuit *c, int i, double v, qnn_error *err) {
    if (i < 0 || i >= c->np)
        return qnn_error_set(err, QNN_ERANGE, "parameter index %d out of range [0, %d)", i, c->np);
    if (!isfinite(v))
        return qnn_error_set(err, QNN_EINVAL, "parameter '%s' value must be finite", c->names[i]);
    c->values[i] = v;
    return QNN_OK;
}

int qnn_circuit_set_params(qnn_circuit *c, const double *v, qnn_error *err) {
    for (int i = 0; i < c->np; i++)
        if (!isfinite(v[i]))
            return qnn_error_set(err, QNN_EINVAL, "parameter '%s' value must be finite",
                                 c->names[i]);
    if (c->np) memcpy(c->values, v, sizeof(double) * (size_t)c->np);
    return QNN_OK;
}

double qnn_circuit_angle_value(const qnn_circuit *c, const qnn_angle *a) {
    if (a->param < 0) return a->offset;
    return a->offset + a->scale * c->values[a->param];
}

/* ---------------- building ---------------- */
static int check_qubits(const qnn_circuit *c, const char *what, const int *q, int nq,
                        qnn_error *err) {
    for (int i = 0; i < nq; i++) {
        if (q[i] < 0 || q[i] >= c->n)
            return qnn_error_set(err, QNN_ERANGE, "%s: qubit %d out of range [0, %d]", what, q[i],
                                 c->n - 1);
        for (int j = 0; j < i; j++)
            if (q[j] == q[i])
                return qnn_error_set(err, QNN_EINVAL, "%s: duplicate qubit %d", what, q[i]);
    }
    return QNN_OK;
}

static int check_angle(const qnn_circuit *c, const char *what, const qnn_angle *a,
                       qnn_error *err) {
    if (!isfinite(a->offset) || !isfinite(a->scale))
        return qnn_error_set(err, QNN_EINVAL, "%s: angle must be finite", what);
    if (a->param >= c->np || a->param < -1)
        return qnn_error_set(err, QNN_ERANGE, "%s: parameter index %d out of range [0, %d)", what,
                             a->param, c->np);
    return QNN_OK;
}

/* Adds an op (takes ownership of qext/data on success and failure). */
int qnn_circ_push(qnn_circuit *c, qnn_op *op, qnn_error *err) {
    if (reserve_ops(c, 1)) {
        op_release(op);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    c->ops[c->nops++] = *op;
    return QNN_OK;
}

int qnn_circuit_add(qnn_circuit *c, int kind, const int *qubits, int nq, const qnn_angle *angles,
                    qnn_error *err) {
    if (kind < 0 || kind >= QNN_G_COUNT)
        return qnn_error_set(err, QNN_EINVAL, "unknown gate kind %d", kind);
    const char *what = KINDS[kind].name;
    int fixed = KINDS[kind].nq;
    if (kind == QNN_G_UNITARY || kind == QNN_G_DIAGONAL)
        return qnn_error_set(err, QNN_EINVAL, "%s: use the dedicated builder", what);
    if (fixed && nq != fixed)
        return qnn_error_set(err, QNN_EINVAL, "%s: needs %d qubit(s), got %d", what, fixed, nq);
    if (!fixed && (nq < 1 || nq > c->n))
        return qnn_error_set(err, QNN_EINVAL, "%s: needs 1 to %d qubits, got %d", what, c->n, nq);
    int st = check_qubits(c, what, qubits, nq, err);
    if (st) return st;
    qnn_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.nq = nq;
    for (int i = 0; i < KINDS[kind].nang; i++) {
        st = check_angle(c, what, &angles[i], err);
        if (st) return st;
        op.ang[i] = angles[i];
        if (op.ang[i].param < 0) op.ang[i].scale = 0.0;
    }
    for (int i = KINDS[kind].nang; i < 3; i++) op.ang[i] = qnn_angle_const(0.0);
    if (nq <= 3) {
        memcpy(op.qbuf, qubits, sizeof(int) * (size_t)nq);
    } else {
        op.qext = (int *)malloc(sizeof(int) * (size_t)nq);
        if (!op.qext) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        memcpy(op.qext, qubits, sizeof(int) * (size_t)nq);
    }
    return qnn_circ_push(c, &op, err);
}

int qnn_circuit_gate1(qnn_circuit *c, int kind, int q, qnn_error *err) {
    return qnn_circuit_add(c, kind, &q, 1, NULL, err);
}

int qnn_circuit_gate2(qnn_circuit *c, int kind, int a, int b, qnn_error *err) {
    int q[2] = {a, b};
    return qnn_circuit_add(c, kind, q, 2, NULL, err);
}

int qnn_circuit_rot1(qnn_circuit *c, int kind, int q, qnn_angle a, qnn_error *err) {
    return qnn_circuit_add(c, kind, &q, 1, &a, err);
}

int qnn_circuit_rot2(qnn_circuit *c, int kind, int a, int b, qnn_angle t, qnn_error *err) {
    int q[2] = {a, b};
    return qnn_circuit_add(c, kind, q, 2, &t, err);
}

int qnn_circuit_u3(qnn_circuit *c, int q, qnn_angle t, qnn_angle p, qnn_angle l, qnn_error *err) {
    qnn_angle a[3] = {t, p, l};
    return qnn_circuit_add(c, QNN_G_U3, &q, 1, a, err);
}

int qnn_circuit_mcx(qnn_circuit *c, const int *controls, int nc, int target, qnn_error *err) {
    if (nc < 0 || nc >= c->n)
        return qnn_error_set(err, QNN_EINVAL, "mcx: number of controls must be in [0, %d], got %d",
                             c->n - 1, nc);
    int q[QNN_CIRCUIT_MAXQ];
    for (int i = 0; i < nc; i++) q[i] = controls[i];
    q[nc] = target;
    return qnn_circuit_add(c, QNN_G_MCX, q, nc + 1, NULL, err);
}

int qnn_circuit_mcz(qnn_circuit *c, const int *qubits, int nq, qnn_error *err) {
    return qnn_circuit_add(c, QNN_G_MCZ, qubits, nq, NULL, err);
}

int qnn_circ_check_unitary(const double *m, int k, double tol) {
    size_t d = (size_t)1 << k;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double re = 0, im = 0;
            for (size_t r = 0; r < d; r++) {
                /* (M^dagger M)_{ij} = sum_r conj(M_ri) M_rj */
                double ar = m[2 * (r * d + i)], ai = m[2 * (r * d + i) + 1];
                double br = m[2 * (r * d + j)], bi = m[2 * (r * d + j) + 1];
                re += ar * br + ai * bi;
                im += ar * bi - ai * br;
            }
            if (!isfinite(re) || !isfinite(im)) return 0;
            if (fabs(re - (i == j ? 1.0 : 0.0)) > tol || fabs(im) > tol) return 0;
        }
    return 1;
}

int qnn_circuit_unitary_gate(qnn_circuit *c, const int *qubits, int k, const double *m,
                             double tol, qnn_error *err) {
    if (k < 1 || k > c->n || k > QNN_CIRCUIT_MAXU)
        return qnn_error_set(err, QNN_EINVAL, "unitary: number of qubits must be in [1, %d], got %d",
                             c->n < QNN_CIRCUIT_MAXU ? c->n : QNN_CIRCUIT_MAXU, k);
    int st = check_qubits(c, "unitary", qubits, k, err);
    if (st) return st;
    size_t d = (size_t)1 << k;
    for (size_t i = 0; i < 2 * d * d; i++)
        if (!isfinite(m[i]))
            return qnn_error_set(err, QNN_EINVAL, "unitary: matrix entries must be finite");
    if (!qnn_circ_check_unitary(m, k, tol))
        return qnn_error_set(err, QNN_EINVAL, "unitary: matrix is not unitary (tolerance %g)", tol);
    qnn_op op;
    memset(&op, 0, sizeof op);
    op.kind = QNN_G_UNITARY;
    op.nq = k;
    for (int i = 0; i < 3; i++) op.ang[i] = qnn_angle_const(0.0);
    if (k <= 3) {
        memcpy(op.qbuf, qubits, sizeof(int) * (size_t)k);
    } else {
        op.qext = (int *)malloc(sizeof(int) * (size_t)k);
        if (!op.qext) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        memcpy(op.qext, qubits, sizeof(int) * (size_t)k);
    }
    op.data = (double *)malloc(sizeof(double) * 2 * d * d);
    if (!op.data) {
        free(op.qext);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    memcpy(op.data, m, sizeof(double) * 2 * d * d);
    return qnn_circ_push(c, &op, err);
}

int qnn_circuit_diagonal(qnn_circuit *c, const double *phases, qnn_error *err) {
    if (c->n > QNN_CIRCUIT_MAXDIAG)
        return qnn_error_set(err, QNN_EINVAL,
                             "diagonal: supported for circuits of at most %d qubits, got %d",
                             QNN_CIRCUIT_MAXDIAG, c->n);
    size_t d = (size_t)1 << c->n;
    for (size_t i = 0; i < d; i++)
        if (!isfinite(phases[i]))
            return qnn_error_set(err, QNN_EINVAL, "diagonal: phase %zu must be finite", i + 1);
    qnn_op op;
    memset(&op, 0, sizeof op);
    op.kind = QNN_G_DIAGONAL;
    op.nq = c->n;
    for (int i = 0; i < 3; i++) op.ang[i] = qnn_angle_const(0.0);
    if (c->n > 3) {
        op.qext = (int *)malloc(sizeof(int) * (size_t)c->n);
        if (!op.qext) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    int *q = c->n > 3 ? op.qext : op.qbuf;
    for (int i = 0; i < c->n; i++) q[i] = i;
    op.data = (double *)malloc(sizeof(double) * d);
    if (!op.data) {
        free(op.qext);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    memcpy(op.data, phases, sizeof(double) * d);
    return qnn_circ_push(c, &op, err);
}

/* ---------------- structure ---------------- */
int qnn_circuit_append(qnn_circuit *c, const qnn_circuit *other, const int *map, qnn_error *err) {
    int ident[QNN_CIRCUIT_MAXQ];
    if (!map) {
        if (other->n > c->n)
            return qnn_error_set(err, QNN_EINVAL,
                                 "append: other circuit has %d qubits, this one only %d (give a map)",
                                 other->n, c->n);
        for (int i = 0; i < other->n; i++) ident[i] = i;
        map = ident;
    } else {
        int st = check_qubits(c, "append map", map, other->n, err);
        if (st) return st;
    }
    /* parameter map (created in c as needed) */
    int *pmap = NULL;
    if (other->np) {
        pmap = (int *)malloc(sizeof(int) * (size_t)other->np);
        if (!pmap) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        for (int i = 0; i < other->np; i++) {
            int existed = qnn_circuit_param_index(c, other->names[i]) >= 0;
            pmap[i] = qnn_circuit_param(c, other->names[i], err);
            if (pmap[i] < 0) {
                free(pmap);
                return QNN_ENOMEM;
            }
            if (!existed) c->values[pmap[i]] = other->values[i];
        }
    }
    if (reserve_ops(c, other->nops)) {
        free(pmap);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    size_t n0 = other->nops; /* other may be c itself */
    for (size_t i = 0; i < n0; i++) {
        qnn_op op;
        if (qnn_circ_op_clone(&op, &other->ops[i], other->n)) {
            free(pmap);
            return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        }
        int *q = op.nq <= 3 ? op.qbuf : op.qext;
        for (int j = 0; j < op.nq; j++) q[j] = map[q[j]];
        for (int j = 0; j < 3; j++)
            if (op.ang[j].param >= 0) op.ang[j].param = pmap[op.ang[j].param];
        c->ops[c->nops++] = op;
    }
    free(pmap);
    return QNN_OK;
}

/* In-place inversion of one op. */
static void op_invert(qnn_op *op) {
    switch (op->kind) {
    case QNN_G_S: op->kind = QNN_G_SDG; break;
    case QNN_G_SDG: op->kind = QNN_G_S; break;
    case QNN_G_T: op->kind = QNN_G_TDG; break;
    case QNN_G_TDG: op->kind = QNN_G_T; break;
    case QNN_G_SX: op->kind = QNN_G_SXDG; break;
    case QNN_G_SXDG: op->kind = QNN_G_SX; break;
    case QNN_G_U3: {
        /* u3(t, p, l)^dagger = u3(-t, -l, -p) */
        qnn_angle p = op->ang[1];
        op->ang[1] = op->ang[2];
        op->ang[2] = p;
        for (int i = 0; i < 3; i++) {
            op->ang[i].offset = -op->ang[i].offset;
            op->ang[i].scale = -op->ang[i].scale;
        }
        break;
    }
    case QNN_G_RX: case QNN_G_RY: case QNN_G_RZ: case QNN_G_PHASE:
    case QNN_G_CRX: case QNN_G_CRY: case QNN_G_CRZ: case QNN_G_CPHASE:
    case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZZ: case QNN_G_RZY:
        op->ang[0].offset = -op->ang[0].offset;
        op->ang[0].scale = -op->ang[0].scale;
        break;
    case QNN_G_UNITARY: {
        size_t d = (size_t)1 << op->nq;
        double *m = op->data;
        for (size_t i = 0; i < d; i++) {
            for (size_t j = i + 1; j < d; j++) {
                double ar = m[2 * (i * d + j)], ai = m[2 * (i * d + j) + 1];
                double br = m[2 * (j * d + i)], bi = m[2 * (j * d + i) + 1];
                m[2 * (i * d + j)] = br;
                m[2 * (i * d + j) + 1] = -bi;
                m[2 * (j * d + i)] = ar;
                m[2 * (j * d + i) + 1] = -ai;
            }
            m[2 * (i * d + i) + 1] = -m[2 * (i * d + i) + 1];
        }
        break;
    }
    case QNN_G_DIAGONAL: {
        size_t d = (size_t)1 << op->nq;
        for (size_t i = 0; i < d; i++) op->data[i] = -op->data[i];
        break;
    }
    default: break; /* self-inverse: h x y z cx cy cz swap mcx mcz */
    }
}

int qnn_circuit_inverse(qnn_circuit **out, const qnn_circuit *c, qnn_error *err) {
    qnn_circuit *d;
    int st = qnn_circuit_copy(&d, c, err);
    if (st) return st;
    for (size_t i = 0, j = d->nops ? d->nops - 1 : 0; i < j; i++, j--) {
        qnn_op t = d->ops[i];
        d->ops[i] = d->ops[j];
        d->ops[j] = t;
    }
    for (size_t i = 0; i < d->nops; i++) op_invert(&d->ops[i]);
    *out = d;
    return QNN_OK;
}

int qnn_circuit_repeat(qnn_circuit *c, int k, qnn_error *err) {
    if (k < 1) return qnn_error_set(err, QNN_EINVAL, "repeat count must be >= 1, got %d", k);
    size_t n0 = c->nops;
    if (n0 && (size_t)k > ((size_t)1 << 40) / n0)
        return qnn_error_set(err, QNN_ENOMEM, "repeat: too many gates");
    if (reserve_ops(c, n0 * (size_t)(k - 1)))
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    for (int r = 1; r < k; r++)
        for (size_t i = 0; i < n0; i++) {
            if (qnn_circ_op_clone(&c->ops[c->nops], &c->ops[i], c->n))
                return qnn_error_set(err, QNN_ENOMEM, "out of memory");
            c->nops++;
        }
    return QNN_OK;
}

int qnn_circuit_depth(const qnn_circuit *c) {
    int level[QNN_CIRCUIT_MAXQ] = {0};
    int depth = 0;
    for (size_t i = 0; i < c->nops; i++) {
        const qnn_op *op = &c->ops[i];
        const int *q = qnn_op_qubits(op);
        int m = 0;
        for (int j = 0; j < op->nq; j++)
            if (level[q[j]] > m) m = level[q[j]];
        m++;
        for (int j = 0; j < op->nq; j++) level[q[j]] = m;
        if (m > depth) depth = m;
    }
    return depth;
}

void qnn_circuit_count(const qnn_circuit *c, size_t counts[QNN_G_COUNT]) {
    for (int k = 0; k < QNN_G_COUNT; k++) counts[k] = 0;
    for (size_t i = 0; i < c->nops; i++) counts[c->ops[i].kind]++;
}

/* ---------------- noise model checks ---------------- */
int qnn_noise_check(const qnn_noise *nm, qnn_error *err) {
    const double v[7] = {nm->p1, nm->p2, nm->amp_damp, nm->phase_damp, nm->bit_flip,
                         nm->phase_flip, nm->readout};
    static const char *names[7] = {"p1", "p2", "amplitude_damping", "phase_damping", "bit_flip",
                                   "phase_flip", "readout"};
    for (int i = 0; i < 7; i++)
        if (!(v[i] >= 0.0 && v[i] <= 1.0))
            return qnn_error_set(err, QNN_EINVAL, "noise model: %s must be in [0, 1], got %g",
                                 names[i], v[i]);
    return QNN_OK;
}

int qnn_noise_is_zero(const qnn_noise *nm) {
    return !nm || (nm->p1 == 0 && nm->p2 == 0 && nm->amp_damp == 0 && nm->phase_damp == 0 &&
                   nm->bit_flip == 0 && nm->phase_flip == 0);
}

/* ---------------- text drawing ---------------- */
void qnn_sb_add(qnn_sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = (char *)realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void qnn_sb_puts(qnn_sbuf *b, const char *s) { qnn_sb_add(b, s, strlen(s)); }

void qnn_sb_printf(qnn_sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        qnn_sb_add(b, tmp, (size_t)n);
        return;
    }
    char *big = (char *)malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    qnn_sb_add(b, big, (size_t)n);
    free(big);
}

/* Display width of a UTF-8 string (code points; all glyphs used here are narrow). */
static size_t u8width(const char *s) {
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void angle_text(const qnn_circuit *c, const qnn_angle *a, char *buf, size_t n) {
    if (a->param < 0) {
        snprintf(buf, n, "%.4g", a->offset);
        return;
    }
    const char *name = c->names[a->param];
    char sc[48] = "";
    if (a->scale == -1.0) snprintf(sc, sizeof sc, "-");
    else if (a->scale != 1.0) snprintf(sc, sizeof sc, "%.4g*", a->scale);
    if (a->offset != 0.0)
        snprintf(buf, n, "%s%s%+.4g", sc, name, a->offset);
    else
        snprintf(buf, n, "%s%s", sc, name);
}

/* Cell label of qubit slot j of op (UTF-8). */
static void cell_label(const qnn_circuit *c, const qnn_op *op, int j, char *buf, size_t n) {
    static const char *UP[QNN_G_COUNT] = {
        [QNN_G_H] = "H",     [QNN_G_X] = "X",     [QNN_G_Y] = "Y",       [QNN_G_Z] = "Z",
        [QNN_G_S] = "S",     [QNN_G_SDG] = "S†",  [QNN_G_T] = "T",       [QNN_G_TDG] = "T†",
        [QNN_G_SX] = "SX",   [QNN_G_SXDG] = "SX†", [QNN_G_RX] = "RX",    [QNN_G_RY] = "RY",
        [QNN_G_RZ] = "RZ",   [QNN_G_PHASE] = "P", [QNN_G_U3] = "U3",     [QNN_G_CRX] = "RX",
        [QNN_G_CRY] = "RY",  [QNN_G_CRZ] = "RZ",  [QNN_G_CPHASE] = "P",  [QNN_G_RXX] = "RXX",
        [QNN_G_RYY] = "RYY", [QNN_G_RZZ] = "RZZ", [QNN_G_RZY] = "RZY",
    };
    char a0[96], a1[96], a2[96];
    int k = op->kind;
    int last = op->nq - 1;
    switch (k) {
    case QNN_G_CX: case QNN_G_MCX:
        snprintf(buf, n, "%s", j == last ? "⊕" : "●");
        return;
    case QNN_G_CZ: case QNN_G_MCZ:
        snprintf(buf, n, "●");
        return;
    case QNN_G_CY:
        snprintf(buf, n, "%s", j == last ? "Y" : "●");
        return;
    case QNN_G_SWAP:
        snprintf(buf, n, "×");
        return;
    case QNN_G_UNITARY:
        snprintf(buf, n, "U%d", j);
        return;
    case QNN_G_DIAGONAL:
        snprintf(buf, n, "D");
        return;
    case QNN_G_CRX: case QNN_G_CRY: case QNN_G_CRZ: case QNN_G_CPHASE:
        if (j == 0) {
            snprintf(buf, n, "●");
            return;
        }
        break;
    default: break;
    }
    if (KINDS[k].nang == 0) {
        snprintf(buf, n, "%s", UP[k]);
    } else if (k == QNN_G_U3) {
        angle_text(c, &op->ang[0], a0, sizeof a0);
        angle_text(c, &op->ang[1], a1, sizeof a1);
        angle_text(c, &op->ang[2], a2, sizeof a2);
        snprintf(buf, n, "U3(%s,%s,%s)", a0, a1, a2);
    } else {
        angle_text(c, &op->ang[0], a0, sizeof a0);
        snprintf(buf, n, "%s(%s)", UP[k], a0);
    }
}

int qnn_circuit_draw(const qnn_circuit *c, char **out, qnn_error *err) {
    *out = NULL;
    int n = c->n;
    size_t nops = c->nops;
    /* column of each op: ops occupy the whole range [min q, max q] so vertical links fit */
    int *col = (int *)malloc(sizeof(int) * (nops ? nops : 1));
    int level[QNN_CIRCUIT_MAXQ] = {0};
    if (!col) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    int ncols = 0;
    for (size_t i = 0; i < nops; i++) {
        const qnn_op *op = &c->ops[i];
        const int *q = qnn_op_qubits(op);
        int lo = n, hi = -1;
        for (int j = 0; j < op->nq; j++) {
            if (q[j] < lo) lo = q[j];
            if (q[j] > hi) hi = q[j];
        }
        int m = 0;
        for (int r = lo; r <= hi; r++)
            if (level[r] > m) m = level[r];
        col[i] = m;
        for (int r = lo; r <= hi; r++) level[r] = m + 1;
        if (m + 1 > ncols) ncols = m + 1;
    }
    /* cells: ncols x n strings */
    size_t ncell = (size_t)ncols * (size_t)n;
    char **cell = (char **)calloc(ncell ? ncell : 1, sizeof(char *));
    size_t *width = (size_t *)calloc((size_t)(ncols ? ncols : 1), sizeof(size_t));
    if (!cell || !width) {
        free(col);
        free(cell);
        free(width);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    int oom = 0;
    for (size_t i = 0; i < nops && !oom; i++) {
        const qnn_op *op = &c->ops[i];
        const int *q = qnn_op_qubits(op);
        int lo = n, hi = -1;
        for (int j = 0; j < op->nq; j++) {
            if (q[j] < lo) lo = q[j];
            if (q[j] > hi) hi = q[j];
        }
        for (int r = lo; r <= hi && !oom; r++) {
            char lab[400];
            int slot = -1;
            for (int j = 0; j < op->nq; j++)
                if (q[j] == r) slot = j;
            if (slot >= 0) cell_label(c, op, slot, lab, sizeof lab);
            else snprintf(lab, sizeof lab, "┼");
            size_t len = strlen(lab);
            char *s = (char *)malloc(len + 1);
            if (!s) {
                oom = 1;
                break;
            }
            memcpy(s, lab, len + 1);
            cell[(size_t)col[i] * (size_t)n + (size_t)r] = s;
            size_t w = u8width(lab);
            if (w > width[col[i]]) width[col[i]] = w;
        }
    }
    qnn_sbuf b = {0};
    if (!oom) {
        int lw = snprintf(NULL, 0, "q%d", n - 1);
        for (int r = 0; r < n; r++) {
            qnn_sb_printf(&b, "q%-*d: ─", lw - 1, r);
            for (int k = 0; k < ncols; k++) {
                const char *s = cell[(size_t)k * (size_t)n + (size_t)r];
                size_t w = s ? u8width(s) : 0;
                size_t pad = width[k] - w, left = pad / 2;
                for (size_t p = 0; p < left; p++) qnn_sb_puts(&b, "─");
                if (s) qnn_sb_puts(&b, s);
                for (size_t p = left; p < pad; p++) qnn_sb_puts(&b, "─");
                qnn_sb_puts(&b, "─");
            }
            qnn_sb_puts(&b, "\n");
        }
        if (b.oom) oom = 1;
    }
    for (size_t i = 0; i < ncell; i++) free(cell[i]);
    free(cell);
    free(width);
    free(col);
    if (oom || !b.p) {
        free(b.p);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    *out = b.p;
    return QNN_OK;
}
