/* Density matrices as 2n-qubit vectors (see qnn/density.h): U on the row qubits (q + n) and
 * conj(U) on the column qubits (q) gives rho -> U rho U^dagger with the state-vector kernels. */
#include "qnn/density.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAR(dim) ((dim) >= QNN_STATE_OMP_MIN_DIM)

static inline size_t ins0(size_t i, int p) {
    size_t lo = i & (((size_t)1 << p) - 1);
    return ((i >> p) << (p + 1)) | lo;
}

/* ------------------------------------------------------------------ lifetime */
int qnn_density_check_size(int n, size_t copies, qnn_error *err) {
    if (n < 1 || n > QNN_DENSITY_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "number of qubits must be in [1, %d], got %d",
                             QNN_DENSITY_MAX_QUBITS, n);
    size_t bytes;
    if (copies == 0) copies = 1;
    if (qnn_mul_size((size_t)16 << (2 * n), copies, &bytes) != QNN_OK || bytes > qnn_max_bytes())
        return qnn_error_set(err, QNN_ENOMEM,
                             "a density matrix on %d qubits needs %.0f bytes (16 * 4^n), over "
                             "the limit of %.0f bytes (QNN_MAX_BYTES)",
                             n, (double)copies * 16.0 * (double)((size_t)1 << (2 * n)),
                             (double)qnn_max_bytes());
    return QNN_OK;
}

int qnn_density_init(qnn_density *d, int n, qnn_error *err) {
    if (!d) return qnn_error_set(err, QNN_EINVAL, "density is NULL");
    int rc = qnn_density_check_size(n, 1, err);
    if (rc) return rc;
    rc = qnn_state_init(&d->vec, 2 * n, err);
    if (rc) return rc;
    d->n = n;
    d->dim = (size_t)1 << n;
    return QNN_OK;
}

void qnn_density_release(qnn_density *d) {
    if (!d) return;
    qnn_state_release(&d->vec);
    d->n = 0;
    d->dim = 0;
}

int qnn_density_create(qnn_density **out, int n, qnn_error *err) {
    if (!out) return qnn_error_set(err, QNN_EINVAL, "out is NULL");
    *out = NULL;
    qnn_density *d = (qnn_density *)calloc(1, sizeof *d);
    if (!d) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    int rc = qnn_density_init(d, n, err);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return QNN_OK;
}

void qnn_density_free(qnn_density *d) {
    if (!d) return;
    qnn_density_release(d);
    free(d);
}

int qnn_density_copy(qnn_density **out, const qnn_density *src, qnn_error *err) {
    if (!src) return qnn_error_set(err, QNN_EINVAL, "source is NULL");
    int rc = qnn_density_create(out, src->n, err);
    if (rc) return rc;
    return qnn_state_copy_into(&(*out)->vec, &src->vec, err);
}

int qnn_density_copy_into(qnn_density *dst, const qnn_density *src, qnn_error *err) {
    if (!dst || !src) return qnn_error_set(err, QNN_EINVAL, "density is NULL");
    return qnn_state_copy_into(&dst->vec, &src->vec, err);
}

int qnn_density_set_pure(qnn_density *d, const qnn_state *psi, qnn_error *err) {
    if (!d || !psi) return qnn_error_set(err, QNN_EINVAL, "density/state is NULL");
    if (psi->n != d->n)
        return qnn_error_set(err, QNN_EINVAL, "state has %d qubits, density %d", psi->n, d->n);
    const double *a = psi->amp;
    double *r = d->vec.amp;
    const size_t dim = d->dim;
#pragma omp parallel for schedule(static) if (PAR(dim * dim))
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++) {
            double ar = a[2 * i], ai = a[2 * i + 1], br = a[2 * j], bi = a[2 * j + 1];
            r[2 * (i * dim + j)] = ar * br + ai * bi;
            r[2 * (i * dim + j) + 1] = ai * br - ar * bi;
        }
    return QNN_OK;
}

int qnn_density_init_pure(qnn_density *d, const qnn_state *psi, qnn_error *err) {
    if (!d || !psi) return qnn_error_set(err, QNN_EINVAL, "density/state is NULL");
    int rc = qnn_density_init(d, psi->n, err);
    if (rc) return rc;
    return qnn_density_set_pure(d, psi, err);
}

void qnn_density_set_zero(qnn_density *d) { qnn_state_set_zero(&d->vec); }

/* ------------------------------------------------------------------ unitaries */
static void conj_mat(const double *m, size_t len, double *out) {
    for (size_t i = 0; i < len; i += 2) {
        out[i] = m[i];
        out[i + 1] = -m[i + 1];
    }
}

static int check_q(const qnn_density *d, int q, const char *what, qnn_error *err) {
    if (q < 0 || q >= d->n)
        return qnn_error_set(err, QNN_ERANGE, "%s: qubit %d out of range [0, %d]", what, q,
                             d->n - 1);
    return QNN_OK;
}

int qnn_density_apply_1q(qnn_density *d, int q, const double *m, uint64_t ctrl_mask,
                         qnn_error *err) {
    int rc = check_q(d, q, "apply_1q", err);
    if (rc) return rc;
    if ((ctrl_mask >> d->n) != 0 || ((ctrl_mask >> q) & 1))
        return qnn_error_set(err, QNN_EINVAL, "apply_1q: bad control mask");
    if (!m) return qnn_error_set(err, QNN_EINVAL, "apply_1q: matrix is NULL");
    double cm[8];
    conj_mat(m, 8, cm);
    rc = qnn_state_apply_1q(&d->vec, q + d->n, m, ctrl_mask << d->n, err);
    if (!rc) rc = qnn_state_apply_1q(&d->vec, q, cm, ctrl_mask, err);
    return rc;
}

int qnn_density_apply_2q(qnn_density *d, int q0, int q1, const double *m, qnn_error *err) {
    int rc = check_q(d, q0, "apply_2q", err);
    if (!rc) rc = check_q(d, q1, "apply_2q", err);
    if (rc) return rc;
    if (q0 == q1) return qnn_error_set(err, QNN_EINVAL, "apply_2q: duplicate qubit %d", q0);
    if (!m) return qnn_error_set(err, QNN_EINVAL, "apply_2q: matrix is NULL");
    double cm[32];
    conj_mat(m, 32, cm);
    rc = qnn_state_apply_2q(&d->vec, q0 + d->n, q1 + d->n, m, err);
    if (!rc) rc = qnn_state_apply_2q(&d->vec, q0, q1, cm, err);
    return rc;
}

int qnn_density_apply_kq(qnn_density *d, const int *q, int k, const double *m, qnn_error *err) {
    if (k < 1 || k > QNN_GATE_MAX_UNITARY_QUBITS || k > d->n || !q || !m)
        return qnn_error_set(err, QNN_EINVAL, "apply_kq: need 1..%d qubits and a matrix",
                             d->n < QNN_GATE_MAX_UNITARY_QUBITS ? d->n : QNN_GATE_MAX_UNITARY_QUBITS);
    return qnn_density_apply_gate(d, QNN_G_UNITARY, q, k, m, err);
}

int qnn_density_apply_diagonal(qnn_density *d, const double *phases, qnn_error *err) {
    if (!phases) return qnn_error_set(err, QNN_EINVAL, "diagonal: phases are NULL");
    for (size_t i = 0; i < d->dim; i++)
        if (!isfinite(phases[i]))
            return qnn_error_set(err, QNN_EINVAL, "diagonal: phase %zu is not finite", i);
    double *r = d->vec.amp;
    const size_t dim = d->dim;
    double *f = (double *)malloc(2 * dim * sizeof(double));
    if (!f) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    for (size_t i = 0; i < dim; i++) {
        f[2 * i] = cos(phases[i]);
        f[2 * i + 1] = sin(phases[i]);
    }
    /* rho_ij *= f_i conj(f_j) */
#pragma omp parallel for schedule(static) if (PAR(dim * dim))
    for (size_t i = 0; i < dim; i++)
        for (size_t j = 0; j < dim; j++) {
            double c = f[2 * i] * f[2 * j] + f[2 * i + 1] * f[2 * j + 1];
            double s = f[2 * i + 1] * f[2 * j] - f[2 * i] * f[2 * j + 1];
            double *p = r + 2 * (i * dim + j);
            double a = p[0], b = p[1];
            p[0] = c * a - s * b;
            p[1] = c * b + s * a;
        }
    free(f);
    return QNN_OK;
}

int qnn_density_apply_mcx(qnn_density *d, const int *controls, int nc, int target,
                          qnn_error *err) {
    int q[64];
    if (nc < 0 || nc >= d->n || (nc > 0 && !controls))
        return qnn_error_set(err, QNN_EINVAL, "mcx: number of controls must be in [0, %d], got %d",
                             d->n - 1, nc);
    for (int i = 0; i < nc; i++) q[i] = controls[i];
    q[nc] = target;
    return qnn_density_apply_gate(d, QNN_G_MCX, q, nc + 1, NULL, err);
}

int qnn_density_apply_mcz(qnn_density *d, const int *q, int k, qnn_error *err) {
    return qnn_density_apply_gate(d, QNN_G_MCZ, q, k, NULL, err);
}

/* conj(U(kind, p)) as a gate (ck, cp) when one exists; returns 0 if not (Y, CY). */
static int conj_gate(qnn_gate_kind k, const double *p, qnn_gate_kind *ck, double *cp) {
    *ck = k;
    switch (k) {
    case QNN_G_Y: case QNN_G_CY: return 0;
    case QNN_G_S: *ck = QNN_G_SDG; return 1;
    case QNN_G_SDG: *ck = QNN_G_S; return 1;
    case QNN_G_T: *ck = QNN_G_TDG; return 1;
    case QNN_G_TDG: *ck = QNN_G_T; return 1;
    case QNN_G_SX: *ck = QNN_G_SXDG; return 1;
    case QNN_G_SXDG: *ck = QNN_G_SX; return 1;
    case QNN_G_RX: case QNN_G_RZ: case QNN_G_PHASE: case QNN_G_CRX: case QNN_G_CRZ:
    case QNN_G_CPHASE: case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZZ:
        cp[0] = -p[0];
        return 1;
    case QNN_G_RY: case QNN_G_CRY: case QNN_G_RZY:
        cp[0] = p[0];
        return 1;
    case QNN_G_U3:
        cp[0] = p[0];
        cp[1] = -p[1];
        cp[2] = -p[2];
        return 1;
    default: return 1; /* real matrices: H X Z ID CX CZ SWAP MCX MCZ */
    }
}

int qnn_density_apply_gate(qnn_density *d, qnn_gate_kind kind, const int *qubits, int nq,
                           const double *params, qnn_error *err) {
    if (!d || !d->vec.amp) return qnn_error_set(err, QNN_EINVAL, "density is NULL");
    int rc = qnn_gate_check(kind, qubits, nq, d->n, params, err);
    if (rc) return rc;
    const int n = d->n;
    int rq[64];
    for (int i = 0; i < nq; i++) rq[i] = qubits[i] + n;
    if (kind == QNN_G_UNITARY || kind == QNN_G_DIAGONAL) {
        size_t len = kind == QNN_G_UNITARY ? (size_t)2 << (2 * nq) : (size_t)1 << nq;
        double *cm = (double *)malloc(len * sizeof(double));
        if (!cm) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        if (kind == QNN_G_UNITARY) conj_mat(params, len, cm);
        else
            for (size_t i = 0; i < len; i++) cm[i] = -params[i];
        rc = qnn_state_apply_gate(&d->vec, kind, rq, nq, params, err);
        if (!rc) rc = qnn_state_apply_gate(&d->vec, kind, qubits, nq, cm, err);
        free(cm);
        return rc;
    }
    qnn_gate_kind ck;
    double cp[QNN_GATE_MAX_PARAMS] = {0, 0, 0};
    if (conj_gate(kind, params, &ck, cp)) {
        rc = qnn_state_apply_gate(&d->vec, kind, rq, nq, params, err);
        if (!rc) rc = qnn_state_apply_gate(&d->vec, ck, qubits, nq, cp, err);
        return rc;
    }
    double m[32], cm[32];
    qnn_gate_matrix(kind, params, m);
    if (nq == 1) {
        conj_mat(m, 8, cm);
        rc = qnn_state_apply_1q(&d->vec, rq[0], m, 0, err);
        if (!rc) rc = qnn_state_apply_1q(&d->vec, qubits[0], cm, 0, err);
    } else {
        conj_mat(m, 32, cm);
        rc = qnn_state_apply_2q(&d->vec, rq[0], rq[1], m, err);
        if (!rc) rc = qnn_state_apply_2q(&d->vec, qubits[0], qubits[1], cm, err);
    }
    return rc;
}

/* ------------------------------------------------------------------ channels */
static int check_p(double p, const char *what, const char *pname, qnn_error *err) {
    if (!(p >= 0.0 && p <= 1.0))
        return qnn_error_set(err, QNN_EINVAL, "%s: %s must be in [0, 1], got %g", what, pname, p);
    return QNN_OK;
}

/* Superoperator of a 1-qubit Kraus set on the 2x2 block B (entries in the order 00, 01, 10, 11
 * = row, col): vec(sum_k K B K^+) = S vec(B), S[(x,y),(z,w)] = sum_k K_xz conj(K_yw). */
static void kraus_superop(const double *kraus, int nk, double *S) {
    memset(S, 0, 32 * sizeof(double));
    for (int k = 0; k < nk; k++) {
        const double *K = kraus + 8 * k;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 2; z++)
                    for (int w = 0; w < 2; w++) {
                        double ar = K[2 * (2 * x + z)], ai = K[2 * (2 * x + z) + 1];
                        double br = K[2 * (2 * y + w)], bi = -K[2 * (2 * y + w) + 1];
                        double *e = S + 2 * (4 * (2 * x + y) + (2 * z + w));
                        e[0] += ar * br - ai * bi;
                        e[1] += ar * bi + ai * br;
                    }
    }
}

/* rho block over (row bit q+n, col bit q) -> S vec(block), one pass, no checks. One 4x4
 * complex product per block whatever the number of Kraus operators (the Kraus form took
 * 2 x 2x2 products per operator), so chains of channels on a qubit cost one pass. */
/* Fast path of superop1_raw for a real S that maps {00, 11} and {01, 10} into themselves:
 * every named channel (depolarizing, amplitude / phase damping, bit / phase flip) and any
 * composition of them. Two real 2x2 products per block instead of one complex 4x4 product. */
static int superop1_real_blocks(const double *S) {
    for (int o = 0; o < 4; o++)
        for (int e = 0; e < 4; e++) {
            int same = (o == 0 || o == 3) == (e == 0 || e == 3);
            if (S[2 * (4 * o + e) + 1] != 0.0 || (!same && S[2 * (4 * o + e)] != 0.0)) return 0;
        }
    return 1;
}

static void superop1_blocks(qnn_density *d, int q, const double *S) {
    double *r = d->vec.amp;
    const int n = d->n;
    const size_t sc = (size_t)1 << q, sr = (size_t)1 << (q + n);
    const size_t cnt = d->vec.dim >> 2;
    /* real parts of S: (00, 11) block a, (01, 10) block b */
    const double a00 = S[0], a03 = S[2 * 3], a30 = S[2 * 12], a33 = S[2 * 15];
    const double b11 = S[2 * 5], b12 = S[2 * 6], b21 = S[2 * 9], b22 = S[2 * 10];
#pragma omp parallel for schedule(static) if (PAR(d->vec.dim))
    for (size_t i = 0; i < cnt; i++) {
        size_t b = ins0(ins0(i, q), q + n);
        double *e0 = r + 2 * b, *e1 = r + 2 * (b | sc), *e2 = r + 2 * (b | sr), *e3 = r + 2 * (b | sr | sc);
        double x0r = e0[0], x0i = e0[1], x3r = e3[0], x3i = e3[1];
        e0[0] = a00 * x0r + a03 * x3r, e0[1] = a00 * x0i + a03 * x3i;
        e3[0] = a30 * x0r + a33 * x3r, e3[1] = a30 * x0i + a33 * x3i;
        double x1r = e1[0], x1i = e1[1], x2r = e2[0], x2i = e2[1];
        e1[0] = b11 * x1r + b12 * x2r, e1[1] = b11 * x1i + b12 * x2i;
        e2[0] = b21 * x1r + b22 * x2r, e2[1] = b21 * x1i + b22 * x2i;
    }
}

static void superop1_raw(qnn_density *d, int q, const double *Sp) {
    if (superop1_real_blocks(Sp)) {
        superop1_blocks(d, q, Sp);
        return;
    }
    double S[32]; /* a local copy: the compiler need not reload it after every store to r */
    memcpy(S, Sp, sizeof S);
    double *r = d->vec.amp;
    const int n = d->n;
    const size_t sc = (size_t)1 << q, sr = (size_t)1 << (q + n);
    const size_t cnt = d->vec.dim >> 2;
#pragma omp parallel for schedule(static) if (PAR(d->vec.dim))
    for (size_t i = 0; i < cnt; i++) {
        size_t b = ins0(ins0(i, q), q + n);
        size_t idx[4] = {b, b | sc, b | sr, b | sr | sc}; /* 00, 01, 10, 11 (row, col) */
        double Br[4], Bi[4];
        for (int e = 0; e < 4; e++) Br[e] = r[2 * idx[e]], Bi[e] = r[2 * idx[e] + 1];
        for (int o = 0; o < 4; o++) {
            double orr = 0, oi = 0;
            for (int e = 0; e < 4; e++) {
                double sr_ = S[2 * (4 * o + e)], si = S[2 * (4 * o + e) + 1];
                orr += sr_ * Br[e] - si * Bi[e];
                oi += sr_ * Bi[e] + si * Br[e];
            }
            r[2 * idx[o]] = orr, r[2 * idx[o] + 1] = oi;
        }
    }
}

static void kraus1_raw(qnn_density *d, int q, const double *kraus, int nk) {
    double S[32];
    kraus_superop(kraus, nk, S);
    superop1_raw(d, q, S);
}

int qnn_channel_superop(int which, double p, double *S, qnn_error *err) {
    double K[32];
    int nk = 0;
    int rc = qnn_channel_kraus(which, p, K, &nk, err);
    if (rc) return rc;
    kraus_superop(K, nk, S);
    return QNN_OK;
}

void qnn_superop_compose(const double *A, const double *B, double *out) {
    double t[32];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            double re = 0, im = 0;
            for (int k = 0; k < 4; k++) {
                double ar = A[2 * (4 * r + k)], ai = A[2 * (4 * r + k) + 1];
                double br = B[2 * (4 * k + c)], bi = B[2 * (4 * k + c) + 1];
                re += ar * br - ai * bi, im += ar * bi + ai * br;
            }
            t[2 * (4 * r + c)] = re, t[2 * (4 * r + c) + 1] = im;
        }
    memcpy(out, t, sizeof t);
}

int qnn_density_superop1(qnn_density *d, int q, const double *S, qnn_error *err) {
    int rc = check_q(d, q, "superop1", err);
    if (rc) return rc;
    if (!S) return qnn_error_set(err, QNN_EINVAL, "superop1: matrix is NULL");
    superop1_raw(d, q, S);
    return QNN_OK;
}

int qnn_density_kraus1(qnn_density *d, int q, const double *kraus, int nk, qnn_error *err) {
    int rc = check_q(d, q, "kraus1", err);
    if (rc) return rc;
    if (!kraus || nk < 1 || nk > 16)
        return qnn_error_set(err, QNN_EINVAL, "kraus1: number of Kraus matrices must be in [1, 16], got %d", nk);
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < nk; k++) {
        const double *K = kraus + 8 * k;
        for (int i = 0; i < 8; i++)
            if (!isfinite(K[i]))
                return qnn_error_set(err, QNN_EINVAL, "kraus1: matrix %d has a non-finite entry", k + 1);
        /* (K^dag K)_{ij} = sum_z conj(K_zi) K_zj */
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                for (int z = 0; z < 2; z++) {
                    double ar = K[2 * (z * 2 + i)], ai = K[2 * (z * 2 + i) + 1];
                    double br = K[2 * (z * 2 + j)], bi = K[2 * (z * 2 + j) + 1];
                    s[2 * (i * 2 + j)] += ar * br + ai * bi;
                    s[2 * (i * 2 + j) + 1] += ar * bi - ai * br;
                }
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double re = s[2 * (i * 2 + j)] - (i == j ? 1.0 : 0.0), im = s[2 * (i * 2 + j) + 1];
            if (!(fabs(re) <= 1e-10 && fabs(im) <= 1e-10))
                return qnn_error_set(err, QNN_EINVAL,
                                     "kraus1: sum K^dagger K must be the identity (trace "
                                     "preserving) to 1e-10; entry (%d,%d) is off by %.3g",
                                     i + 1, j + 1, hypot(re, im));
        }
    kraus1_raw(d, q, kraus, nk);
    return QNN_OK;
}

int qnn_channel_kraus(int which, double p, double *K, int *nk, qnn_error *err) {
    static const char *names[] = {"depolarize", "amplitude_damp", "phase_damp", "bit_flip",
                                  "phase_flip"};
    if (which < 0 || which > 4)
        return qnn_error_set(err, QNN_EINVAL, "unknown channel %d", which);
    int rc = check_p(p, names[which], which == 1 || which == 2 ? "gamma" : "p", err);
    if (rc) return rc;
    memset(K, 0, 4 * 8 * sizeof(double));
    switch (which) {
    case 0: {
        double a = sqrt(1 - p), b = sqrt(p / 3);
        K[0] = a; K[6] = a;                       /* sqrt(1-p) I */
        K[8 + 2] = b; K[8 + 4] = b;               /* X */
        K[16 + 3] = -b; K[16 + 5] = b;            /* Y = [[0,-i],[i,0]] */
        K[24 + 0] = b; K[24 + 6] = -b;            /* Z */
        *nk = 4;
        break;
    }
    case 1:
        K[0] = 1; K[6] = sqrt(1 - p);
        K[8 + 2] = sqrt(p);
        *nk = 2;
        break;
    case 2:
        K[0] = 1; K[6] = sqrt(1 - p);
        K[8 + 6] = sqrt(p);
        *nk = 2;
        break;
    case 3:
        K[0] = sqrt(1 - p); K[6] = sqrt(1 - p);
        K[8 + 2] = sqrt(p); K[8 + 4] = sqrt(p);
        *nk = 2;
        break;
    default:
        K[0] = sqrt(1 - p); K[6] = sqrt(1 - p);
        K[8 + 0] = sqrt(p); K[8 + 6] = -sqrt(p);
        *nk = 2;
        break;
    }
    return QNN_OK;
}

static int named_channel(qnn_density *d, int which, int q, double p, const char *what,
                         qnn_error *err) {
    int rc = check_q(d, q, what, err);
    if (rc) return rc;
    double K[32];
    int nk = 0;
    rc = qnn_channel_kraus(which, p, K, &nk, err);
    if (rc) return rc;
    kraus1_raw(d, q, K, nk);
    return QNN_OK;
}

int qnn_density_depolarize(qnn_density *d, int q, double p, qnn_error *err) {
    return named_channel(d, 0, q, p, "depolarize", err);
}
int qnn_density_amplitude_damp(qnn_density *d, int q, double gamma, qnn_error *err) {
    return named_channel(d, 1, q, gamma, "amplitude_damp", err);
}
int qnn_density_phase_damp(qnn_density *d, int q, double gamma, qnn_error *err) {
    return named_channel(d, 2, q, gamma, "phase_damp", err);
}
int qnn_density_bit_flip(qnn_density *d, int q, double p, qnn_error *err) {
    return named_channel(d, 3, q, p, "bit_flip", err);
}
int qnn_density_phase_flip(qnn_density *d, int q, double p, qnn_error *err) {
    return named_channel(d, 4, q, p, "phase_flip", err);
}

int qnn_density_depolarize2(qnn_density *d, int a, int b, double p, qnn_error *err) {
    int rc = check_q(d, a, "depolarize2", err);
    if (!rc) rc = check_q(d, b, "depolarize2", err);
    if (!rc) rc = check_p(p, "depolarize2", "p", err);
    if (rc) return rc;
    if (a == b) return qnn_error_set(err, QNN_EINVAL, "depolarize2: duplicate qubit %d", a);
    /* rho -> (1 - 16p/15) rho + (4p/15) tr_ab(rho) (x) I_ab, blockwise over (a, b) */
    const int n = d->n;
    int pos[4] = {a, b, a + n, b + n};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (pos[j] < pos[i]) {
                int t = pos[i];
                pos[i] = pos[j];
                pos[j] = t;
            }
    const double keep = 1.0 - 16.0 * p / 15.0, mix = 4.0 * p / 15.0;
    const size_t sa = (size_t)1 << a, sb = (size_t)1 << b;
    const size_t ra = (size_t)1 << (a + n), rb = (size_t)1 << (b + n);
    double *r = d->vec.amp;
    const size_t cnt = d->vec.dim >> 4;
#pragma omp parallel for schedule(static) if (PAR(d->vec.dim))
    for (size_t i = 0; i < cnt; i++) {
        size_t base = i;
        for (int k = 0; k < 4; k++) base = ins0(base, pos[k]);
        size_t row[4] = {0, ra, rb, ra | rb}, col[4] = {0, sa, sb, sa | sb};
        double trr = 0, tri = 0;
        for (int k = 0; k < 4; k++) {
            size_t x = base | row[k] | col[k];
            trr += r[2 * x];
            tri += r[2 * x + 1];
        }
        for (int x = 0; x < 4; x++)
            for (int y = 0; y < 4; y++) {
                size_t e = base | row[x] | col[y];
                r[2 * e] *= keep;
                r[2 * e + 1] *= keep;
                if (x == y) {
                    r[2 * e] += mix * trr;
                    r[2 * e + 1] += mix * tri;
                }
            }
    }
    return QNN_OK;
}

/* ------------------------------------------------------------------ read-out */
void qnn_density_probs(const qnn_density *d, double *out) {
    for (size_t i = 0; i < d->dim; i++) out[i] = d->vec.amp[2 * (i * d->dim + i)];
}

double qnn_density_prob(const qnn_density *d, size_t x) {
    if (x >= d->dim) return 0.0;
    return d->vec.amp[2 * (x * d->dim + x)];
}

int qnn_density_marginal(const qnn_density *d, const int *q, int k, double *out, qnn_error *err) {
    if (k < 1 || k > d->n || !q || !out)
        return qnn_error_set(err, QNN_EINVAL, "marginal: number of qubits must be in [1, %d], got %d",
                             d->n, k);
    for (int i = 0; i < k; i++) {
        int rc = check_q(d, q[i], "marginal", err);
        if (rc) return rc;
        for (int j = 0; j < i; j++)
            if (q[j] == q[i])
                return qnn_error_set(err, QNN_EINVAL, "marginal: duplicate qubit %d", q[i]);
    }
    memset(out, 0, ((size_t)1 << k) * sizeof(double));
    for (size_t x = 0; x < d->dim; x++) {
        size_t sub = 0;
        for (int j = 0; j < k; j++) sub |= ((x >> q[j]) & 1) << j;
        out[sub] += d->vec.amp[2 * (x * d->dim + x)];
    }
    return QNN_OK;
}

double qnn_density_trace(const qnn_density *d) {
    double t = 0;
    for (size_t i = 0; i < d->dim; i++) t += d->vec.amp[2 * (i * d->dim + i)];
    return t;
}

double qnn_density_purity(const qnn_density *d) {
    /* tr(rho^2) = sum_{rc} rho_rc rho_cr = sum |rho_rc|^2 for Hermitian rho */
    double n2 = qnn_state_norm(&d->vec);
    return n2 * n2;
}

double qnn_density_expect(const qnn_density *d, const qnn_pauli_term *t, int nt) {
    /* tr(P rho) = sum_k ph(k) rho_{k, k^x}, ph(k) = coef i^ny (-1)^{|k & z|} */
    double total = 0;
    const double *r = d->vec.amp;
    for (int j = 0; j < nt; j++) {
        int ny = __builtin_popcountll(t[j].x & t[j].z) & 3;
        double accr = 0, acci = 0;
        for (size_t k = 0; k < d->dim; k++) {
            size_t c = k ^ (size_t)t[j].x;
            double sg = (__builtin_popcountll((uint64_t)k & t[j].z) & 1) ? -1.0 : 1.0;
            accr += sg * r[2 * (k * d->dim + c)];
            acci += sg * r[2 * (k * d->dim + c) + 1];
        }
        double br = 0, bi = 0;
        switch (ny) {
        case 0: br = 1; break;
        case 1: bi = 1; break;
        case 2: br = -1; break;
        default: bi = -1; break;
        }
        total += t[j].coef * (br * accr - bi * acci);
    }
    return total;
}

int qnn_density_sample(const qnn_density *d, size_t shots, const int *q, int k, qnn_rng *rng,
                       uint64_t *out, qnn_error *err) {
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "sample: shots must be >= 1");
    int all = (q == NULL || k == 0);
    size_t m = all ? d->dim : (size_t)1 << k;
    if (!all && (k < 1 || k > d->n))
        return qnn_error_set(err, QNN_EINVAL, "sample: number of qubits must be in [1, %d]", d->n);
    double *p = (double *)malloc(m * sizeof(double));
    if (!p) return qnn_error_set(err, QNN_ENOMEM, "sample: out of memory");
    int rc = QNN_OK;
    if (all) qnn_density_probs(d, p);
    else rc = qnn_density_marginal(d, q, k, p, err);
    if (!rc)
        for (size_t i = 0; i < m; i++)
            if (p[i] < 0) p[i] = 0; /* rounding noise */
    if (!rc) rc = qnn_sample_probs(p, m, shots, rng, out, err);
    free(p);
    return rc;
}

int qnn_density_measure(qnn_density *d, int q, qnn_rng *rng, int *outcome, qnn_error *err) {
    int rc = check_q(d, q, "measure", err);
    if (rc) return rc;
    if (!rng) return qnn_error_set(err, QNN_EINVAL, "measure: rng is NULL");
    double p1 = 0, tot = 0;
    for (size_t x = 0; x < d->dim; x++) {
        double v = d->vec.amp[2 * (x * d->dim + x)];
        tot += v;
        if ((x >> q) & 1) p1 += v;
    }
    if (!(tot > 0)) return qnn_error_set(err, QNN_EINVAL, "measure: trace is 0");
    int o = qnn_rng_uniform(rng) * tot < p1 ? 1 : 0;
    double pk = o ? p1 : tot - p1;
    double f = 1.0 / pk;
    double *r = d->vec.amp;
    for (size_t i = 0; i < d->dim; i++)
        for (size_t j = 0; j < d->dim; j++) {
            double *e = r + 2 * (i * d->dim + j);
            if ((int)((i >> q) & 1) == o && (int)((j >> q) & 1) == o) {
                e[0] *= f;
                e[1] *= f;
            } else {
                e[0] = e[1] = 0;
            }
        }
    if (outcome) *outcome = o;
    return QNN_OK;
}

int qnn_density_reset_qubit(qnn_density *d, int q, qnn_error *err) {
    int rc = check_q(d, q, "reset", err);
    if (rc) return rc;
    double K[16] = {1, 0, 0, 0, 0, 0, 0, 0, /* |0><0| */ 0, 0, 1, 0, 0, 0, 0, 0 /* |0><1| */};
    kraus1_raw(d, q, K, 2);
    return QNN_OK;
}

int qnn_density_fidelity_pure(const qnn_density *d, const qnn_state *psi, double *out,
                              qnn_error *err) {
    if (psi->n != d->n)
        return qnn_error_set(err, QNN_EINVAL, "state has %d qubits, density %d", psi->n, d->n);
    const double *a = psi->amp, *r = d->vec.amp;
    double acc = 0;
    for (size_t i = 0; i < d->dim; i++) {
        /* conj(a_i) * sum_j rho_ij a_j */
        double sr = 0, si = 0;
        for (size_t j = 0; j < d->dim; j++) {
            double rr = r[2 * (i * d->dim + j)], ri = r[2 * (i * d->dim + j) + 1];
            sr += rr * a[2 * j] - ri * a[2 * j + 1];
            si += rr * a[2 * j + 1] + ri * a[2 * j];
        }
        acc += a[2 * i] * sr + a[2 * i + 1] * si;
    }
    *out = acc;
    return QNN_OK;
}
