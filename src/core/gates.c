/* Gate table, dense matrices, derivatives, inverses and argument checks (see qnn/gates.h). */
#include "qnn/gates.h"

#include <math.h>
#include <string.h>

#define QNN_PI 3.14159265358979323846

static const qnn_gate_info GATES[QNN_G_COUNT] = {
    {QNN_G_H, "h", "h", 1, 0, 0, 1},
    {QNN_G_X, "x", "x", 1, 0, 0, 1},
    {QNN_G_Y, "y", "y", 1, 0, 0, 1},
    {QNN_G_Z, "z", "z", 1, 0, 1, 1},
    {QNN_G_S, "s", "s", 1, 0, 1, 0},
    {QNN_G_SDG, "sdg", "sdg", 1, 0, 1, 0},
    {QNN_G_T, "t", "t", 1, 0, 1, 0},
    {QNN_G_TDG, "tdg", "tdg", 1, 0, 1, 0},
    {QNN_G_SX, "sx", "sx", 1, 0, 0, 0},
    {QNN_G_SXDG, "sxdg", "sxdg", 1, 0, 0, 0},
    {QNN_G_ID, "id", "id", 1, 0, 1, 1},
    {QNN_G_RX, "rx", "rx", 1, 1, 0, 0},
    {QNN_G_RY, "ry", "ry", 1, 1, 0, 0},
    {QNN_G_RZ, "rz", "rz", 1, 1, 1, 0},
    {QNN_G_PHASE, "phase", "u1", 1, 1, 1, 0},
    {QNN_G_U3, "u3", "u3", 1, 3, 0, 0},
    {QNN_G_CX, "cx", "cx", 2, 0, 0, 1},
    {QNN_G_CY, "cy", "cy", 2, 0, 0, 1},
    {QNN_G_CZ, "cz", "cz", 2, 0, 1, 1},
    {QNN_G_SWAP, "swap", "swap", 2, 0, 0, 1},
    {QNN_G_CRX, "crx", "crx", 2, 1, 0, 0},
    {QNN_G_CRY, "cry", "cry", 2, 1, 0, 0},
    {QNN_G_CRZ, "crz", "crz", 2, 1, 1, 0},
    {QNN_G_CPHASE, "cphase", "cu1", 2, 1, 1, 0},
    {QNN_G_RXX, "rxx", "rxx", 2, 1, 0, 0},
    {QNN_G_RYY, "ryy", NULL, 2, 1, 0, 0},
    {QNN_G_RZZ, "rzz", "rzz", 2, 1, 1, 0},
    {QNN_G_RZY, "rzy", NULL, 2, 1, 0, 0},
    {QNN_G_MCX, "mcx", NULL, 0, 0, 0, 1},
    {QNN_G_MCZ, "mcz", NULL, 0, 0, 1, 1},
    {QNN_G_UNITARY, "unitary", NULL, 0, 0, 0, 0},
    {QNN_G_DIAGONAL, "diagonal", NULL, 0, 0, 1, 0},
};

const qnn_gate_info *qnn_gate_get_info(qnn_gate_kind kind) {
    if ((int)kind < 0 || kind >= QNN_G_COUNT) return NULL;
    return &GATES[kind];
}

int qnn_gate_lookup(const char *name) {
    static const struct { const char *alias; qnn_gate_kind kind; } aliases[] = {
        {"p", QNN_G_PHASE}, {"u1", QNN_G_PHASE}, {"cu1", QNN_G_CPHASE}, {"cp", QNN_G_CPHASE},
        {"cnot", QNN_G_CX}, {"u", QNN_G_U3}, {"i", QNN_G_ID}};
    if (!name) return -1;
    for (int k = 0; k < QNN_G_COUNT; k++)
        if (strcmp(GATES[k].name, name) == 0) return k;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].alias, name) == 0) return (int)aliases[i].kind;
    return -1;
}

/* ---- matrix helpers (interleaved complex, row-major) ---- */
static void mset(double *m, int d, int r, int c, double re, double im) {
    m[2 * (r * d + c)] = re;
    m[2 * (r * d + c) + 1] = im;
}

static void mzero(double *m, int d) { memset(m, 0, sizeof(double) * 2 * (size_t)d * (size_t)d); }

static void meye(double *m, int d) {
    mzero(m, d);
    for (int i = 0; i < d; i++) mset(m, d, i, i, 1.0, 0.0);
}

/* Pauli string on 2 qubits: bit 0 of x/z = first qubit. Fills P (4x4). */
static void pauli2(double *m, unsigned x, unsigned z) {
    mzero(m, 4);
    int ny = 0;
    for (int b = 0; b < 2; b++) ny += ((x >> b) & 1) && ((z >> b) & 1);
    for (unsigned k = 0; k < 4; k++) {
        /* P|k> = i^ny (-1)^{popcount(k & z)} |k ^ x> */
        int sign = __builtin_popcount(k & z) & 1 ? -1 : 1;
        double re = 0, im = 0;
        switch (ny & 3) {
        case 0: re = sign; break;
        case 1: im = sign; break;
        case 2: re = -sign; break;
        default: im = -sign; break;
        }
        mset(m, 4, (int)(k ^ x), (int)k, re, im);
    }
}

/* exp(-i t/2 P) = cos(t/2) I - i sin(t/2) P for a 2-qubit Pauli. */
static void rot2(double *m, unsigned x, unsigned z, double t) {
    double P[32];
    pauli2(P, x, z);
    double c = cos(t / 2), s = sin(t / 2);
    for (int i = 0; i < 16; i++) {
        /* -i s (pr + i pi) = s*pi - i s*pr */
        m[2 * i] = s * P[2 * i + 1];
        m[2 * i + 1] = -s * P[2 * i];
    }
    for (int i = 0; i < 4; i++) m[2 * (i * 4 + i)] += c;
}

/* Controlled version of 2x2 U with control = qubit bit 0, target = bit 1; c0 = value of the
 * control-0 block diagonal (1 for the gate, 0 for its derivative). */
static void controlled(double *m, const double *u, double c0) {
    mzero(m, 4);
    mset(m, 4, 0, 0, c0, 0);
    mset(m, 4, 2, 2, c0, 0);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++)
            mset(m, 4, 1 + 2 * r, 1 + 2 * c, u[2 * (r * 2 + c)], u[2 * (r * 2 + c) + 1]);
}

static void mat1(qnn_gate_kind kind, const double *p, double *m) {
    const double r2 = 0.70710678118654752440;
    mzero(m, 2);
    switch (kind) {
    case QNN_G_H: mset(m, 2, 0, 0, r2, 0); mset(m, 2, 0, 1, r2, 0);
                  mset(m, 2, 1, 0, r2, 0); mset(m, 2, 1, 1, -r2, 0); break;
    case QNN_G_X: mset(m, 2, 0, 1, 1, 0); mset(m, 2, 1, 0, 1, 0); break;
    case QNN_G_Y: mset(m, 2, 0, 1, 0, -1); mset(m, 2, 1, 0, 0, 1); break;
    case QNN_G_Z: mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, -1, 0); break;
    case QNN_G_S: mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, 0, 1); break;
    case QNN_G_SDG: mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, 0, -1); break;
    case QNN_G_T: mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, r2, r2); break;
    case QNN_G_TDG: mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, r2, -r2); break;
    case QNN_G_SX: mset(m, 2, 0, 0, 0.5, 0.5); mset(m, 2, 0, 1, 0.5, -0.5);
                   mset(m, 2, 1, 0, 0.5, -0.5); mset(m, 2, 1, 1, 0.5, 0.5); break;
    case QNN_G_SXDG: mset(m, 2, 0, 0, 0.5, -0.5); mset(m, 2, 0, 1, 0.5, 0.5);
                     mset(m, 2, 1, 0, 0.5, 0.5); mset(m, 2, 1, 1, 0.5, -0.5); break;
    case QNN_G_ID: meye(m, 2); break;
    case QNN_G_RX: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        mset(m, 2, 0, 0, c, 0); mset(m, 2, 0, 1, 0, -s);
        mset(m, 2, 1, 0, 0, -s); mset(m, 2, 1, 1, c, 0);
        break;
    }
    case QNN_G_RY: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        mset(m, 2, 0, 0, c, 0); mset(m, 2, 0, 1, -s, 0);
        mset(m, 2, 1, 0, s, 0); mset(m, 2, 1, 1, c, 0);
        break;
    }
    case QNN_G_RZ: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2);
        mset(m, 2, 0, 0, c, -s); mset(m, 2, 1, 1, c, s);
        break;
    }
    case QNN_G_PHASE:
        mset(m, 2, 0, 0, 1, 0); mset(m, 2, 1, 1, cos(p[0]), sin(p[0]));
        break;
    case QNN_G_U3: {
        double c = cos(p[0] / 2), s = sin(p[0] / 2), ph = p[1], la = p[2];
        mset(m, 2, 0, 0, c, 0);
        mset(m, 2, 0, 1, -cos(la) * s, -sin(la) * s);
        mset(m, 2, 1, 0, cos(ph) * s, sin(ph) * s);
        mset(m, 2, 1, 1, cos(ph + la) * c, sin(ph + la) * c);
        break;
    }
    default: break;
    }
}

static qnn_gate_kind target_kind(qnn_gate_kind k) {
    switch (k) {
    case QNN_G_CX: return QNN_G_X;
    case QNN_G_CY: return QNN_G_Y;
    case QNN_G_CZ: return QNN_G_Z;
    case QNN_G_CRX: return QNN_G_RX;
    case QNN_G_CRY: return QNN_G_RY;
    case QNN_G_CRZ: return QNN_G_RZ;
    case QNN_G_CPHASE: return QNN_G_PHASE;
    default: return QNN_G_COUNT;
    }
}

static int params_finite(qnn_gate_kind kind, const double *p) {
    for (int i = 0; i < GATES[kind].nparams; i++)
        if (!isfinite(p[i])) return 0;
    return 1;
}

int qnn_gate_matrix(qnn_gate_kind kind, const double *params, double *m) {
    if ((int)kind < 0 || kind >= QNN_G_COUNT || GATES[kind].nqubits == 0) return QNN_EINVAL;
    if (GATES[kind].nparams > 0 && (!params || !params_finite(kind, params))) return QNN_EINVAL;
    if (GATES[kind].nqubits == 1) {
        mat1(kind, params, m);
        return QNN_OK;
    }
    double u[8];
    switch (kind) {
    case QNN_G_SWAP:
        mzero(m, 4);
        mset(m, 4, 0, 0, 1, 0); mset(m, 4, 1, 2, 1, 0);
        mset(m, 4, 2, 1, 1, 0); mset(m, 4, 3, 3, 1, 0);
        return QNN_OK;
    case QNN_G_RXX: rot2(m, 3, 0, params[0]); return QNN_OK;
    case QNN_G_RYY: rot2(m, 3, 3, params[0]); return QNN_OK;
    case QNN_G_RZZ: rot2(m, 0, 3, params[0]); return QNN_OK;
    case QNN_G_RZY: rot2(m, 2, 3, params[0]); return QNN_OK; /* Z on bit 0, Y on bit 1 */
    default:
        mat1(target_kind(kind), params, u);
        controlled(m, u, 1.0);
        return QNN_OK;
    }
}

int qnn_gate_matrix_deriv(qnn_gate_kind kind, const double *params, int p, double *dm) {
    if ((int)kind < 0 || kind >= QNN_G_COUNT || GATES[kind].nqubits == 0) return QNN_EINVAL;
    if (p < 0 || p >= GATES[kind].nparams || !params || !params_finite(kind, params))
        return QNN_EINVAL;
    double u[8];
    switch (kind) {
    case QNN_G_RX: case QNN_G_RY: case QNN_G_RZ:
    case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZZ: case QNN_G_RZY: {
        /* M(t) = cI - i sP  =>  dM/dt = M(t + pi) / 2 */
        double t = params[0] + QNN_PI;
        qnn_gate_matrix(kind, &t, dm);
        int d = GATES[kind].nqubits == 1 ? 2 : 4;
        for (int i = 0; i < 2 * d * d; i++) dm[i] *= 0.5;
        return QNN_OK;
    }
    case QNN_G_PHASE:
        mzero(dm, 2);
        mset(dm, 2, 1, 1, -sin(params[0]), cos(params[0]));
        return QNN_OK;
    case QNN_G_U3: {
        double c = cos(params[0] / 2), s = sin(params[0] / 2), ph = params[1], la = params[2];
        mzero(dm, 2);
        if (p == 0) {
            mset(dm, 2, 0, 0, -s / 2, 0);
            mset(dm, 2, 0, 1, -cos(la) * c / 2, -sin(la) * c / 2);
            mset(dm, 2, 1, 0, cos(ph) * c / 2, sin(ph) * c / 2);
            mset(dm, 2, 1, 1, -cos(ph + la) * s / 2, -sin(ph + la) * s / 2);
        } else if (p == 1) {
            /* i e^{i ph} s, i e^{i(ph+la)} c */
            mset(dm, 2, 1, 0, -sin(ph) * s, cos(ph) * s);
            mset(dm, 2, 1, 1, -sin(ph + la) * c, cos(ph + la) * c);
        } else {
            /* -i e^{i la} s, i e^{i(ph+la)} c */
            mset(dm, 2, 0, 1, sin(la) * s, -cos(la) * s);
            mset(dm, 2, 1, 1, -sin(ph + la) * c, cos(ph + la) * c);
        }
        return QNN_OK;
    }
    case QNN_G_CRX: case QNN_G_CRY: case QNN_G_CRZ: case QNN_G_CPHASE:
        qnn_gate_matrix_deriv(target_kind(kind), params, 0, u);
        controlled(dm, u, 0.0);
        return QNN_OK;
    default:
        return QNN_EINVAL;
    }
}

int qnn_gate_inverse(qnn_gate_kind kind, const double *params, qnn_gate_kind *inv_kind,
                     double *inv_params) {
    if ((int)kind < 0 || kind >= QNN_G_COUNT) return QNN_EINVAL;
    if (kind == QNN_G_UNITARY || kind == QNN_G_DIAGONAL) return QNN_EINVAL;
    int np = GATES[kind].nparams;
    if (np > 0 && (!params || !inv_params)) return QNN_EINVAL;
    qnn_gate_kind k = kind;
    switch (kind) {
    case QNN_G_S: k = QNN_G_SDG; break;
    case QNN_G_SDG: k = QNN_G_S; break;
    case QNN_G_T: k = QNN_G_TDG; break;
    case QNN_G_TDG: k = QNN_G_T; break;
    case QNN_G_SX: k = QNN_G_SXDG; break;
    case QNN_G_SXDG: k = QNN_G_SX; break;
    default: break;
    }
    if (kind == QNN_G_U3) {
        double t = params[0], ph = params[1], la = params[2];
        inv_params[0] = -t;
        inv_params[1] = -la;
        inv_params[2] = -ph;
    } else {
        for (int i = 0; i < np; i++) inv_params[i] = -params[i];
    }
    *inv_kind = k;
    return QNN_OK;
}

int qnn_gate_check(qnn_gate_kind kind, const int *qubits, int nq, int n, const double *params,
                   qnn_error *err) {
    if ((int)kind < 0 || kind >= QNN_G_COUNT)
        return qnn_error_set(err, QNN_EINVAL, "unknown gate kind %d", (int)kind);
    const qnn_gate_info *g = &GATES[kind];
    if (n < 1 || n > 62) return qnn_error_set(err, QNN_EINVAL, "%s: register size %d", g->name, n);
    if (g->nqubits > 0) {
        if (nq != g->nqubits)
            return qnn_error_set(err, QNN_EINVAL, "%s acts on %d qubit(s), got %d", g->name,
                                 g->nqubits, nq);
    } else {
        int lo = 1, hi = n;
        if (kind == QNN_G_UNITARY && hi > QNN_GATE_MAX_UNITARY_QUBITS)
            hi = QNN_GATE_MAX_UNITARY_QUBITS;
        if (nq < lo || nq > hi)
            return qnn_error_set(err, QNN_EINVAL, "%s: number of qubits must be in [%d, %d], got %d",
                                 g->name, lo, hi, nq);
    }
    if (!qubits) return qnn_error_set(err, QNN_EINVAL, "%s: no qubits given", g->name);
    for (int i = 0; i < nq; i++) {
        if (qubits[i] < 0 || qubits[i] >= n)
            return qnn_error_set(err, QNN_ERANGE, "%s: qubit %d out of range [0, %d]", g->name,
                                 qubits[i], n - 1);
        for (int j = 0; j < i; j++)
            if (qubits[j] == qubits[i])
                return qnn_error_set(err, QNN_EINVAL, "%s: duplicate qubit %d", g->name, qubits[i]);
    }
    if (g->nparams > 0) {
        if (!params) return qnn_error_set(err, QNN_EINVAL, "%s: missing parameters", g->name);
        for (int i = 0; i < g->nparams; i++)
            if (!isfinite(params[i]))
                return qnn_error_set(err, QNN_EINVAL, "%s: parameter %d must be finite, got %g",
                                     g->name, i + 1, params[i]);
    }
    if (kind == QNN_G_UNITARY || kind == QNN_G_DIAGONAL) {
        if (!params) return qnn_error_set(err, QNN_EINVAL, "%s: missing matrix data", g->name);
        size_t cnt = kind == QNN_G_UNITARY ? (size_t)2 << (2 * nq) : (size_t)1 << nq;
        for (size_t i = 0; i < cnt; i++)
            if (!isfinite(params[i]))
                return qnn_error_set(err, QNN_EINVAL, "%s: entry %zu is not finite", g->name, i);
    }
    return QNN_OK;
}

int qnn_matrix_is_unitary(const double *m, size_t d, double tol) {
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            /* (M^dagger M)_{ij} = sum_k conj(M_ki) M_kj */
            double re = 0, im = 0;
            for (size_t k = 0; k < d; k++) {
                double ar = m[2 * (k * d + i)], ai = m[2 * (k * d + i) + 1];
                double br = m[2 * (k * d + j)], bi = m[2 * (k * d + j) + 1];
                re += ar * br + ai * bi;
                im += ar * bi - ai * br;
            }
            if (i == j) re -= 1.0;
            if (!(fabs(re) <= tol && fabs(im) <= tol)) return 0;
        }
    return 1;
}

void qnn_matrix_dagger(const double *m, size_t d, double *out) {
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            out[2 * (j * d + i)] = m[2 * (i * d + j)];
            out[2 * (j * d + i) + 1] = -m[2 * (i * d + j) + 1];
        }
}
