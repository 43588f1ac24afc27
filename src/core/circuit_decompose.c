/* Decomposition of a circuit into native gates: single-qubit gates and CX only.
 *
 * - 1-qubit gates and CX are kept as they are.
 * - Fixed 2-qubit gates: CZ = H CX H, CY = Sdg CX S, SWAP = 3 CX; controlled rotations and
 *   two-qubit rotations by the usual CX conjugations (angles keep their parameters, scaled).
 * - Multi-qubit diagonals (DIAGONAL, MCZ, and MCX = H MCZ H on the target) by their Walsh
 *   expansion: a phase function phi(x) on k qubits equals sum_S a_S (-1)^{parity of x on S},
 *   a_S = 2^-k sum_x phi(x) (-1)^{|x & S|}; each S != 0 becomes a CX ladder onto the highest
 *   qubit of S, RZ(-2 a_S), and the ladder undone (Welch, Greenbaum, Mostame, Aspuru-Guzik,
 *   New J. Phys. 16, 033040 (2014): ancilla-free, exact up to a global phase).
 * General k-qubit unitaries (k >= 2, not diagonal) are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"

#define PI 3.14159265358979323846

static qnn_angle scaled(qnn_angle a, double f) {
    qnn_angle b = {a.offset * f, a.scale * f, a.param};
    return b;
}

static int g1(qnn_circuit *o, int kind, int q, qnn_error *err) {
    return qnn_circuit_gate1(o, kind, q, err);
}

static int cx(qnn_circuit *o, int a, int b, qnn_error *err) {
    return qnn_circuit_gate2(o, QNN_G_CX, a, b, err);
}

static int rot(qnn_circuit *o, int kind, int q, qnn_angle a, qnn_error *err) {
    return qnn_circuit_rot1(o, kind, q, a, err);
}

/* exp(-i t/2 Z_a Z_b) */
static int rzz(qnn_circuit *o, int a, int b, qnn_angle t, qnn_error *err) {
    int rc = cx(o, a, b, err);
    if (!rc) rc = rot(o, QNN_G_RZ, b, t, err);
    if (!rc) rc = cx(o, a, b, err);
    return rc;
}

/* controlled RZ(t): RZ(t/2) on b, CX, RZ(-t/2) on b, CX */
static int crz(qnn_circuit *o, int c, int t, qnn_angle a, qnn_error *err) {
    int rc = rot(o, QNN_G_RZ, t, scaled(a, 0.5), err);
    if (!rc) rc = cx(o, c, t, err);
    if (!rc) rc = rot(o, QNN_G_RZ, t, scaled(a, -0.5), err);
    if (!rc) rc = cx(o, c, t, err);
    return rc;
}

/* basis change taking Y to Z (W = H Sdg: apply Sdg then H), and back (H then S) */
static int y_to_z(qnn_circuit *o, int q, qnn_error *err) {
    int rc = g1(o, QNN_G_SDG, q, err);
    return rc ? rc : g1(o, QNN_G_H, q, err);
}
static int z_to_y(qnn_circuit *o, int q, qnn_error *err) {
    int rc = g1(o, QNN_G_H, q, err);
    return rc ? rc : g1(o, QNN_G_S, q, err);
}

/* diag(e^{i phi(x)}) over qubits[0..k) (bit j of x <-> qubits[j]), global phase dropped */
static int diag_walsh(qnn_circuit *o, const int *qubits, int k, const double *phi, qnn_error *err) {
    if (k > 20) return qnn_error_set(err, QNN_EINVAL, "decompose: a diagonal on %d qubits is too large (at most 20)", k);
    size_t N = (size_t)1 << k;
    double *a = (double *)malloc(N * sizeof *a);
    if (!a) return qnn_error_set(err, QNN_ENOMEM, "decompose: out of memory");
    memcpy(a, phi, N * sizeof *a);
    for (size_t h = 1; h < N; h <<= 1) /* fast Walsh-Hadamard transform */
        for (size_t i = 0; i < N; i += h << 1)
            for (size_t j = i; j < i + h; j++) {
                double u = a[j], v = a[j + h];
                a[j] = u + v;
                a[j + h] = u - v;
            }
    int rc = QNN_OK;
    for (size_t S = 1; S < N && !rc; S++) {
        double aS = a[S] / (double)N;
        if (fabs(aS) < 1e-15) continue;
        int top = 63;
        while (!((S >> top) & 1)) top--;
        int t = qubits[top];
        for (int j = 0; j < top && !rc; j++)
            if ((S >> j) & 1) rc = cx(o, qubits[j], t, err);
        if (!rc) rc = rot(o, QNN_G_RZ, t, qnn_angle_const(-2.0 * aS), err);
        for (int j = top - 1; j >= 0 && !rc; j--)
            if ((S >> j) & 1) rc = cx(o, qubits[j], t, err);
    }
    free(a);
    return rc;
}

/* phase pi on the all-ones state of qubits[0..k) */
static int mcz(qnn_circuit *o, const int *qubits, int k, qnn_error *err) {
    size_t N = (size_t)1 << k;
    double *phi = (double *)calloc(N, sizeof *phi);
    if (!phi) return qnn_error_set(err, QNN_ENOMEM, "decompose: out of memory");
    phi[N - 1] = PI;
    int rc = diag_walsh(o, qubits, k, phi, err);
    free(phi);
    return rc;
}

static int decompose_op(qnn_circuit *o, const qnn_op *op, qnn_error *err) {
    const int *q = qnn_op_qubits(op);
    int kind = op->kind;
    if (qnn_op_kind_nqubits(kind) == 1 || kind == QNN_G_CX)
        return qnn_circuit_add(o, kind, q, op->nq, op->ang, err);
    int rc = QNN_OK;
    switch (kind) {
    case QNN_G_CZ:
        rc = g1(o, QNN_G_H, q[1], err);
        if (!rc) rc = cx(o, q[0], q[1], err);
        if (!rc) rc = g1(o, QNN_G_H, q[1], err);
        return rc;
    case QNN_G_CY:
        rc = g1(o, QNN_G_SDG, q[1], err);
        if (!rc) rc = cx(o, q[0], q[1], err);
        if (!rc) rc = g1(o, QNN_G_S, q[1], err);
        return rc;
    case QNN_G_SWAP:
        rc = cx(o, q[0], q[1], err);
        if (!rc) rc = cx(o, q[1], q[0], err);
        if (!rc) rc = cx(o, q[0], q[1], err);
        return rc;
    case QNN_G_CRZ:
        return crz(o, q[0], q[1], op->ang[0], err);
    case QNN_G_CRX: /* RX = H RZ H */
        rc = g1(o, QNN_G_H, q[1], err);
        if (!rc) rc = crz(o, q[0], q[1], op->ang[0], err);
        if (!rc) rc = g1(o, QNN_G_H, q[1], err);
        return rc;
    case QNN_G_CRY: /* RY = S RX Sdg = S H RZ H Sdg: in time order Sdg, H, crz, H, S */
        rc = y_to_z(o, q[1], err);
        if (!rc) rc = crz(o, q[0], q[1], op->ang[0], err);
        if (!rc) rc = z_to_y(o, q[1], err);
        return rc;
    case QNN_G_CPHASE: /* diag(1,1,1,e^{il}) = P(l/2) x P(l/2) . e^{-i l/4 Z Z} up to phase */
        rc = rot(o, QNN_G_PHASE, q[0], scaled(op->ang[0], 0.5), err);
        if (!rc) rc = rot(o, QNN_G_PHASE, q[1], scaled(op->ang[0], 0.5), err);
        if (!rc) rc = rzz(o, q[0], q[1], scaled(op->ang[0], -0.5), err);
        return rc;
    case QNN_G_RZZ:
        return rzz(o, q[0], q[1], op->ang[0], err);
    case QNN_G_RXX:
        rc = g1(o, QNN_G_H, q[0], err);
        if (!rc) rc = g1(o, QNN_G_H, q[1], err);
        if (!rc) rc = rzz(o, q[0], q[1], op->ang[0], err);
        if (!rc) rc = g1(o, QNN_G_H, q[0], err);
        if (!rc) rc = g1(o, QNN_G_H, q[1], err);
        return rc;
    case QNN_G_RYY:
        rc = y_to_z(o, q[0], err);
        if (!rc) rc = y_to_z(o, q[1], err);
        if (!rc) rc = rzz(o, q[0], q[1], op->ang[0], err);
        if (!rc) rc = z_to_y(o, q[0], err);
        if (!rc) rc = z_to_y(o, q[1], err);
        return rc;
    case QNN_G_RZY:
        rc = y_to_z(o, q[1], err);
        if (!rc) rc = rzz(o, q[0], q[1], op->ang[0], err);
        if (!rc) rc = z_to_y(o, q[1], err);
        return rc;
    case QNN_G_MCZ:
        return mcz(o, q, op->nq, err);
    case QNN_G_MCX:
        rc = g1(o, QNN_G_H, q[op->nq - 1], err);
        if (!rc) rc = mcz(o, q, op->nq, err);
        if (!rc) rc = g1(o, QNN_G_H, q[op->nq - 1], err);
        return rc;
    case QNN_G_DIAGONAL:
        return diag_walsh(o, q, op->nq, op->data, err);
    default:
        break;
    }
    const char *name = qnn_op_kind_name(kind);
    return qnn_error_set(err, QNN_EINVAL,
                         "decompose: no native (1-qubit + CX) decomposition for '%s' gates",
                         name ? name : "?");
}

int qnn_circuit_decompose(const qnn_circuit *c, qnn_circuit **out, qnn_error *err) {
    if (!c || !out) return qnn_error_set(err, QNN_EINVAL, "decompose: NULL circuit");
    *out = NULL;
    qnn_circuit *o = NULL;
    int rc = qnn_circuit_new(&o, qnn_circuit_nqubits(c), err);
    if (rc) return rc;
    /* same parameters, same indices, same values */
    int np = qnn_circuit_nparams(c);
    for (int i = 0; i < np && !rc; i++) {
        int k = qnn_circuit_param(o, qnn_circuit_param_name(c, i), err);
        if (k != i) rc = qnn_error_set(err, QNN_EINVAL, "decompose: parameter %d could not be copied", i);
        if (!rc) rc = qnn_circuit_set_param(o, i, qnn_circuit_get_param(c, i), err);
    }
    size_t ng = qnn_circuit_ngates(c);
    for (size_t i = 0; i < ng && !rc; i++) rc = decompose_op(o, qnn_circuit_op(c, i), err);
    if (rc) {
        qnn_circuit_free(o);
        return rc;
    }
    *out = o;
    return QNN_OK;
}
