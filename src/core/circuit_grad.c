/* Gradients of circuits.
 *
 * Adjoint differentiation: with psi_k = U_k ... U_1 psi_0 and f = <psi_N|A|psi_N> for a
 * Hermitian A (a Pauli observable, or diag(dprobs) for vector-Jacobian products),
 *   df/d(alpha_k) = 2 Re <lambda_k| dU_k/d(alpha_k) |psi_{k-1}>,  lambda_k = U_{k+1}^+...U_N^+ A psi_N.
 * Every parameterised gate has dU/d(alpha) = -i/2 G U (or = U (-i/2 G')), G a Pauli string,
 * a projector-controlled Pauli, or a combination of single-qubit Paulis (u3), so each term is
 * a transition element <lambda|G|psi_k> of two vectors that are both in memory during the
 * backward sweep: psi and lambda (2 state vectors) and, only while building lambda for a
 * multi-term observable, one scratch vector. Gates are undone with their inverses.
 *
 * Parameter shift (cross-check): two-term rule f'(a) = [f(a+pi/2) - f(a-pi/2)]/2 for
 * generators with eigenvalues {+-1/2} or {0, 1} (rx ry rz phase u3 rxx ryy rzz rzy cphase);
 * four-term rule for crx cry crz (generator eigenvalues {0, +-1/2}):
 *   f' = d+ [f(a+pi/2) - f(a-pi/2)] - d- [f(a+3pi/2) - f(a-3pi/2)],  d+- = (sqrt2 +- 1)/(4 sqrt2).
 */
#include "circuit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_SQRT2
#define M_SQRT2 1.41421356237309504880
#endif
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

int qnn_circuit_check_observable(const qnn_pauli_term *terms, int nterms, int n, qnn_error *err) {
    if (nterms < 1 || !terms)
        return qnn_error_set(err, QNN_EINVAL, "observable needs at least one term");
    uint64_t lim = n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    for (int i = 0; i < nterms; i++) {
        if (!isfinite(terms[i].coef))
            return qnn_error_set(err, QNN_EINVAL, "observable term %d: coefficient must be finite",
                                 i + 1);
        if ((terms[i].x & ~lim) || (terms[i].z & ~lim))
            return qnn_error_set(err, QNN_EINVAL,
                                 "observable term %d acts on a qubit >= %d (circuit size)", i + 1, n);
    }
    return QNN_OK;
}

/* Deterministic parallel reductions: the index range is cut into RED_CHUNKS fixed chunks whose
 * partial sums are added in order, so results do not depend on the number of threads. */
#define RED_CHUNKS 64
#define PAR(dim) ((dim) >= QNN_STATE_OMP_MIN_DIM)
/* for (T i = 0; i < n; i++) { body }, with OpenMP only when `par`: a parallel region whose
 * if-clause is false still starts a libgomp team (futex traffic, microseconds), more than a whole
 * gate of a small circuit costs; quantum layers run thousands of those per batch. */
#define PAR_FOR(par, T, i, n, ...)                                                              \
    do {                                                                                        \
        const T par_n_ = (n);                                                                   \
        if (par) {                                                                              \
            _Pragma("omp parallel for schedule(static)") for (T i = 0; i < par_n_; i++) {       \
                __VA_ARGS__                                                                     \
            }                                                                                   \
        } else {                                                                                \
            for (T i = 0; i < par_n_; i++) {                                                    \
                __VA_ARGS__                                                                     \
            }                                                                                   \
        }                                                                                       \
    } while (0)

/* <a| Pi_ctrl P |b> where P has x/z masks (Y = iXZ on bits in both) and Pi_ctrl projects on
 * the bits of ctrl being 1 (ctrl disjoint from the support of P). */
static void pauli_trans(const qnn_state *a, const qnn_state *b, uint64_t ctrl, uint64_t xm,
                        uint64_t zm, double *re_out, double *im_out) {
    const double *A = a->amp, *B = b->amp;
    const size_t dim = a->dim;
    double part[RED_CHUNKS][2];
    const int nch = PAR(dim) ? RED_CHUNKS : 1;
    int ny = __builtin_popcountll(xm & zm) & 3;
    PAR_FOR(PAR(dim), int, ch, nch,
        size_t lo = dim * (size_t)ch / (size_t)nch, hi = dim * (size_t)(ch + 1) / (size_t)nch;
        double re = 0.0, im = 0.0;
        for (size_t x = lo; x < hi; x++) {
            if ((x & ctrl) != ctrl) continue;
            size_t y = x ^ (size_t)xm;
            double sgn = (__builtin_popcountll((uint64_t)y & zm) & 1) ? -1.0 : 1.0;
            double ar = A[2 * x], ai = A[2 * x + 1], br = B[2 * y], bi = B[2 * y + 1];
            re += sgn * (ar * br + ai * bi); /* conj(a) * b */
            im += sgn * (ar * bi - ai * br);
        }
        part[ch][0] = re;
        part[ch][1] = im;
    );
    double re = 0.0, im = 0.0;
    for (int ch = 0; ch < nch; ch++) re += part[ch][0], im += part[ch][1];
    /* times i^ny */
    double r = re, i = im;
    switch (ny) {
    case 1: r = -im; i = re; break;
    case 2: r = -re; i = -im; break;
    case 3: r = im; i = -re; break;
    default: break;
    }
    *re_out = r;
    *im_out = i;
}

/* Fused backward step of a 1-qubit gate on q: T[P] = <lam|P|psi> for P = I, X, Y, Z on q
 * (t[2P] = re, t[2P+1] = im), computed before the undo, then psi <- Ui psi, lam <- Ui lam, all
 * in one pass over both vectors. */
static void fused1(qnn_state *psi, qnn_state *lam, int q, const double *Ui, double t[8]) {
    double *P = psi->amp, *L = lam->amp;
    const size_t half = psi->dim / 2;
    const size_t bq = (size_t)1 << q, lowmask = bq - 1;
    double part[RED_CHUNKS][8];
    const int nch = PAR(psi->dim) ? RED_CHUNKS : 1;
    const double u00r = Ui[0], u00i = Ui[1], u01r = Ui[2], u01i = Ui[3];
    const double u10r = Ui[4], u10i = Ui[5], u11r = Ui[6], u11i = Ui[7];
    PAR_FOR(PAR(psi->dim), int, ch, nch,
        size_t lo = half * (size_t)ch / (size_t)nch, hi = half * (size_t)(ch + 1) / (size_t)nch;
        double ar = 0, ai = 0, br = 0, bi = 0, cr = 0, ci = 0, dr = 0, di = 0;
        for (size_t i = lo; i < hi; i++) {
            size_t x0 = ((i & ~lowmask) << 1) | (i & lowmask), x1 = x0 | bq;
            double p0r = P[2 * x0], p0i = P[2 * x0 + 1], p1r = P[2 * x1], p1i = P[2 * x1 + 1];
            double l0r = L[2 * x0], l0i = L[2 * x0 + 1], l1r = L[2 * x1], l1i = L[2 * x1 + 1];
            /* a = conj(l0) p0, b = conj(l1) p1, c = conj(l0) p1, d = conj(l1) p0 */
            ar += l0r * p0r + l0i * p0i, ai += l0r * p0i - l0i * p0r;
            br += l1r * p1r + l1i * p1i, bi += l1r * p1i - l1i * p1r;
            cr += l0r * p1r + l0i * p1i, ci += l0r * p1i - l0i * p1r;
            dr += l1r * p0r + l1i * p0i, di += l1r * p0i - l1i * p0r;
            P[2 * x0] = u00r * p0r - u00i * p0i + u01r * p1r - u01i * p1i;
            P[2 * x0 + 1] = u00r * p0i + u00i * p0r + u01r * p1i + u01i * p1r;
            P[2 * x1] = u10r * p0r - u10i * p0i + u11r * p1r - u11i * p1i;
            P[2 * x1 + 1] = u10r * p0i + u10i * p0r + u11r * p1i + u11i * p1r;
            L[2 * x0] = u00r * l0r - u00i * l0i + u01r * l1r - u01i * l1i;
            L[2 * x0 + 1] = u00r * l0i + u00i * l0r + u01r * l1i + u01i * l1r;
            L[2 * x1] = u10r * l0r - u10i * l0i + u11r * l1r - u11i * l1i;
            L[2 * x1 + 1] = u10r * l0i + u10i * l0r + u11r * l1i + u11i * l1r;
        }
        part[ch][0] = ar, part[ch][1] = ai, part[ch][2] = br, part[ch][3] = bi;
        part[ch][4] = cr, part[ch][5] = ci, part[ch][6] = dr, part[ch][7] = di;
    );
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int ch = 0; ch < nch; ch++)
        for (int j = 0; j < 8; j++) s[j] += part[ch][j];
    /* I = a + b, X = c + d, Y = i (d - c), Z = a - b */
    t[0] = s[0] + s[2], t[1] = s[1] + s[3];
    t[2] = s[4] + s[6], t[3] = s[5] + s[7];
    t[4] = -(s[7] - s[5]), t[5] = s[6] - s[4];
    t[6] = s[0] - s[2], t[7] = s[1] - s[3];
}

/* Vectorised variant for q >= 1: two consecutive amplitudes (x0, x0 + 1) share bit q, so one
 * 4-double vector holds both; pairs of vectors j0 / j1 = j0 | 2^(q-1) (in vector units). */
typedef double v4d __attribute__((vector_size(32)));
/* AVX2 clone chosen at load time when the CPU has it (as in statevec.c). */
#define GRAD_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))

static inline size_t ins0v(size_t i, int p) {
    size_t lo = i & (((size_t)1 << p) - 1);
    return ((i >> p) << (p + 1)) | lo;
}

#define FUSED_LOOP4(...)                                                                         \
    v4d *P4 = (v4d *)psi->amp, *L4 = (v4d *)lam->amp;                                           \
    const size_t nv = psi->dim / 4;                                                             \
    const int qm = q - 1;                                                                       \
    const size_t st2 = (size_t)1 << qm;                                                         \
    double part[RED_CHUNKS];                                                                    \
    const int nch = PAR(psi->dim) ? RED_CHUNKS : 1;                                             \
    PAR_FOR(PAR(psi->dim), int, ch, nch,                                                        \
        size_t lo = nv * (size_t)ch / (size_t)nch, hi = nv * (size_t)(ch + 1) / (size_t)nch;     \
        v4d acc = {0, 0, 0, 0};                                                                 \
        for (size_t i = lo; i < hi; i++) {                                                      \
            size_t j0 = ins0v(i, qm), j1 = j0 | st2;                                            \
            v4d x = P4[j0], y = P4[j1], lx = L4[j0], ly = L4[j1];                               \
            __VA_ARGS__                                                                         \
        }                                                                                       \
        part[ch] = (acc[0] + acc[1]) + (acc[2] + acc[3]););                                     \
    double sum = 0.0;                                                                           \
    for (int ch = 0; ch < nch; ch++) sum += part[ch];                                    \
    return sum;

typedef long long v4i __attribute__((vector_size(32)));
#if defined(__clang__)
#define SWAP4(v) __builtin_shufflevector((v), (v), 1, 0, 3, 2)
#else
#define SWAP4(v) __builtin_shuffle((v), (v4i){1, 0, 3, 2})
#endif

/* Im conj(l) p per complex lane pair = l_r p_i - l_i p_r = (l .* swap(p)) . (1, -1, 1, -1) */
GRAD_MULTIVERSION static double fused_diag4(qnn_state *psi, qnn_state *lam, int q, const double *Ui, int which) {
    const v4d sg = {1, -1, 1, -1}, sg2 = {-1, 1, -1, 1};
    const v4d u0r = {Ui[0], Ui[0], Ui[0], Ui[0]}, u0i = {Ui[1], Ui[1], Ui[1], Ui[1]};
    const v4d u1r = {Ui[6], Ui[6], Ui[6], Ui[6]}, u1i = {Ui[7], Ui[7], Ui[7], Ui[7]};
    const double wa = which ? 0.0 : 1.0, wb = which ? -2.0 : -1.0;
    const v4d va = {wa, -wa, wa, -wa}, vb = {wb, -wb, wb, -wb};
    (void)sg;
    FUSED_LOOP4({
        v4d xs = SWAP4(x), ys = SWAP4(y), lxs = SWAP4(lx), lys = SWAP4(ly);
        acc += va * lx * xs + vb * ly * ys;
        P4[j0] = u0r * x + u0i * sg2 * xs;
        P4[j1] = u1r * y + u1i * sg2 * ys;
        L4[j0] = u0r * lx + u0i * sg2 * lxs;
        L4[j1] = u1r * ly + u1i * sg2 * lys;
    })
}

GRAD_MULTIVERSION static double fused_ry4(qnn_state *psi, qnn_state *lam, int q, const double *Ui) {
    const v4d a = {Ui[0], Ui[0], Ui[0], Ui[0]}, b = {Ui[2], Ui[2], Ui[2], Ui[2]};
    const v4d c = {Ui[4], Ui[4], Ui[4], Ui[4]}, d = {Ui[6], Ui[6], Ui[6], Ui[6]};
    FUSED_LOOP4({
        acc += ly * x - lx * y;
        P4[j0] = a * x + b * y;
        P4[j1] = c * x + d * y;
        L4[j0] = a * lx + b * ly;
        L4[j1] = c * lx + d * ly;
    })
}

GRAD_MULTIVERSION static double fused_rx4(qnn_state *psi, qnn_state *lam, int q, const double *Ui) {
    const v4d sg = {1, -1, 1, -1}, sg2 = {-1, 1, -1, 1};
    const v4d c = {Ui[0], Ui[0], Ui[0], Ui[0]};
    const v4d sn = {Ui[3], Ui[3], Ui[3], Ui[3]};
    FUSED_LOOP4({
        v4d xs = SWAP4(x), ys = SWAP4(y), lxs = SWAP4(lx), lys = SWAP4(ly);
        acc += sg * (lx * ys + ly * xs);
        P4[j0] = c * x + sn * sg2 * ys;
        P4[j1] = c * y + sn * sg2 * xs;
        L4[j0] = c * lx + sn * sg2 * lys;
        L4[j1] = c * ly + sn * sg2 * lxs;
    })
}

/* CX (control c, target t, both >= 1) applied to psi and lam in one pass: swap the vectors
 * holding amplitude pairs with bit c = 1, t = 0 and bit c = 1, t = 1. */
GRAD_MULTIVERSION static void fused_cx4(qnn_state *psi, qnn_state *lam, int c, int t) {
    v4d *P4 = (v4d *)psi->amp, *L4 = (v4d *)lam->amp;
    const int lo = (c < t ? c : t) - 1, hi = (c < t ? t : c) - 1;
    const size_t cb = (size_t)1 << (c - 1), tb = (size_t)1 << (t - 1);
    const size_t nv = psi->dim / 8; /* dim/2 vectors, a quarter with both bits 0 */
    PAR_FOR(PAR(psi->dim), size_t, i, nv,
        size_t j0 = ins0v(ins0v(i, lo), hi) | cb, j1 = j0 | tb;
        v4d a = P4[j0], b = P4[j1];
        P4[j0] = b, P4[j1] = a;
        a = L4[j0], b = L4[j1];
        L4[j0] = b, L4[j1] = a;
    );
}

/* Specialised fused steps for rx, ry, rz, phase: only the one real number the derivative needs
 * is accumulated, and the inverse is applied with its structure (diagonal / real / rx form).
 * Returns d f / d angle. */
/* Loop over the amplitude pairs (x0, x1 = x0 | 2^q) of chunk ch, BODY(i, ACC) handling pair i
 * and adding to accumulator ACC; unrolled by 4 with 4 accumulators (fixed pattern, so the
 * result is still independent of the thread count). */
#define FUSED_LOOP(BODY)                                                                        \
    double *P = psi->amp, *L = lam->amp;                                                        \
    const size_t half = psi->dim / 2;                                                           \
    const size_t bq = (size_t)1 << q, lowmask = bq - 1;                                         \
    double part[RED_CHUNKS];                                                                    \
    const int nch = PAR(psi->dim) ? RED_CHUNKS : 1;                                             \
    PAR_FOR(PAR(psi->dim), int, ch, nch,                                                        \
        size_t lo = half * (size_t)ch / (size_t)nch, hi = half * (size_t)(ch + 1) / (size_t)nch; \
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;                                          \
        size_t i = lo;                                                                          \
        for (; i + 4 <= hi; i += 4) {                                                           \
            BODY(i, a0) BODY(i + 1, a1) BODY(i + 2, a2) BODY(i + 3, a3)                         \
        }                                                                                       \
        for (; i < hi; i++) BODY(i, a0)                                                         \
        part[ch] = (a0 + a1) + (a2 + a3););                                                     \
    double sum = 0.0;                                                                           \
    for (int ch = 0; ch < nch; ch++) sum += part[ch];                                    \
    return sum;

#define LOAD_PAIR(I)                                                                            \
    size_t x0 = (((I) & ~lowmask) << 1) | ((I) & lowmask), x1 = x0 | bq;                        \
    double p0r = P[2 * x0], p0i = P[2 * x0 + 1], p1r = P[2 * x1], p1i = P[2 * x1 + 1];          \
    double l0r = L[2 * x0], l0i = L[2 * x0 + 1], l1r = L[2 * x1], l1i = L[2 * x1 + 1];

/* Specialised fused steps for rx, ry, rz, phase: only the one real number the derivative needs
 * is accumulated, and the inverse is applied with its structure (diagonal / real / rx form).
 * Each returns d f / d angle. */

/* diagonal inverse diag(u0, u1) (rz, phase); which = 0: rz (Im a - Im b), 1: phase (-2 Im b) */
#define DIAG_BODY(I, ACC)                                                                       \
    {                                                                                           \
        LOAD_PAIR(I)                                                                            \
        ACC += wa * (l0r * p0i - l0i * p0r) + wb * (l1r * p1i - l1i * p1r);                     \
        P[2 * x0] = u0r * p0r - u0i * p0i, P[2 * x0 + 1] = u0r * p0i + u0i * p0r;               \
        P[2 * x1] = u1r * p1r - u1i * p1i, P[2 * x1 + 1] = u1r * p1i + u1i * p1r;               \
        L[2 * x0] = u0r * l0r - u0i * l0i, L[2 * x0 + 1] = u0r * l0i + u0i * l0r;               \
        L[2 * x1] = u1r * l1r - u1i * l1i, L[2 * x1 + 1] = u1r * l1i + u1i * l1r;               \
    }
static double fused_diag(qnn_state *psi, qnn_state *lam, int q, const double *Ui, int which) {
    const double u0r = Ui[0], u0i = Ui[1], u1r = Ui[6], u1i = Ui[7];
    const double wa = which ? 0.0 : 1.0, wb = which ? -2.0 : -1.0;
    FUSED_LOOP(DIAG_BODY)
}

/* ry: inverse [[a, b], [cc, dd]] (real); derivative Im <l|Y|p> = Re(d) - Re(c) */
#define RY_BODY(I, ACC)                                                                         \
    {                                                                                           \
        LOAD_PAIR(I)                                                                            \
        ACC += (l1r * p0r + l1i * p0i) - (l0r * p1r + l0i * p1i);                               \
        P[2 * x0] = a * p0r + b * p1r, P[2 * x0 + 1] = a * p0i + b * p1i;                       \
        P[2 * x1] = cc * p0r + dd * p1r, P[2 * x1 + 1] = cc * p0i + dd * p1i;                   \
        L[2 * x0] = a * l0r + b * l1r, L[2 * x0 + 1] = a * l0i + b * l1i;                       \
        L[2 * x1] = cc * l0r + dd * l1r, L[2 * x1 + 1] = cc * l0i + dd * l1i;                   \
    }
static double fused_ry(qnn_state *psi, qnn_state *lam, int q, const double *Ui) {
    const double a = Ui[0], b = Ui[2], cc = Ui[4], dd = Ui[6];
    FUSED_LOOP(RY_BODY)
}

/* rx: inverse [[c, i s], [i s, c]]; derivative Im <l|X|p> = Im(c) + Im(d) */
#define RX_BODY(I, ACC)                                                                         \
    {                                                                                           \
        LOAD_PAIR(I)                                                                            \
        ACC += (l0r * p1i - l0i * p1r) + (l1r * p0i - l1i * p0r);                               \
        P[2 * x0] = c * p0r - sn * p1i, P[2 * x0 + 1] = c * p0i + sn * p1r;                     \
        P[2 * x1] = c * p1r - sn * p0i, P[2 * x1 + 1] = c * p1i + sn * p0r;                     \
        L[2 * x0] = c * l0r - sn * l1i, L[2 * x0 + 1] = c * l0i + sn * l1r;                     \
        L[2 * x1] = c * l1r - sn * l0i, L[2 * x1 + 1] = c * l1i + sn * l0r;                     \
    }
static double fused_rx(qnn_state *psi, qnn_state *lam, int q, const double *Ui) {
    const double c = Ui[0], sn = Ui[3];
    FUSED_LOOP(RX_BODY)
}

/* d f / d angle for a 1-qubit parameterised gate from the transition elements T (before undo). */
static void derivs1(const qnn_circuit *c, const qnn_op *op, const double T[8], double d[3]) {
    const double iI = T[1], iX = T[3], iY = T[5], iZ = T[7];
    d[0] = d[1] = d[2] = 0.0;
    switch (op->kind) {
    case QNN_G_RX: d[0] = iX; break;
    case QNN_G_RY: d[0] = iY; break;
    case QNN_G_RZ: d[0] = iZ; break;
    case QNN_G_PHASE: d[0] = -(iI - iZ); break; /* U' = i Pi1 U, Pi1 = (I - Z)/2 */
    case QNN_G_U3: {
        double th = qnn_circuit_angle_value(c, &op->ang[0]);
        double ph = qnn_circuit_angle_value(c, &op->ang[1]);
        d[0] = cos(ph) * iY - sin(ph) * iX;
        d[1] = -(iI - iZ);
        double nx = -sin(th) * cos(ph), ny = -sin(th) * sin(ph), nz = -cos(th);
        d[2] = -(iI + nx * iX + ny * iY + nz * iZ);
        break;
    }
    default: break;
    }
}

static int is_fused1(int kind) {
    return kind == QNN_G_RX || kind == QNN_G_RY || kind == QNN_G_RZ || kind == QNN_G_PHASE ||
           kind == QNN_G_U3;
}

static uint64_t bit(int q) { return (uint64_t)1 << q; }

/* d f / d angle of a 2-qubit parameterised op (psi = psi_k, lambda = lambda_k, both BEFORE
 * undoing op). 1-qubit kinds go through fused1/derivs1. */
static void op_angle_derivs(const qnn_op *op, const qnn_state *lam,
                            const qnn_state *psi, double d[3]) {
    const int *q = qnn_op_qubits(op);
    double re, im;
    d[0] = d[1] = d[2] = 0.0;
    switch (op->kind) {
    case QNN_G_CRX: pauli_trans(lam, psi, bit(q[0]), bit(q[1]), 0, &re, &im); d[0] = im; break;
    case QNN_G_CRY:
        pauli_trans(lam, psi, bit(q[0]), bit(q[1]), bit(q[1]), &re, &im);
        d[0] = im;
        break;
    case QNN_G_CRZ: pauli_trans(lam, psi, bit(q[0]), 0, bit(q[1]), &re, &im); d[0] = im; break;
    case QNN_G_CPHASE:
        pauli_trans(lam, psi, bit(q[0]) | bit(q[1]), 0, 0, &re, &im);
        d[0] = -2.0 * im;
        break;
    case QNN_G_RXX:
        pauli_trans(lam, psi, 0, bit(q[0]) | bit(q[1]), 0, &re, &im);
        d[0] = im;
        break;
    case QNN_G_RYY:
        pauli_trans(lam, psi, 0, bit(q[0]) | bit(q[1]), bit(q[0]) | bit(q[1]), &re, &im);
        d[0] = im;
        break;
    case QNN_G_RZZ:
        pauli_trans(lam, psi, 0, 0, bit(q[0]) | bit(q[1]), &re, &im);
        d[0] = im;
        break;
    case QNN_G_RZY:
        pauli_trans(lam, psi, 0, bit(q[1]), bit(q[0]) | bit(q[1]), &re, &im);
        d[0] = im;
        break;
    default: break;
    }
}

static int has_param(const qnn_op *op) {
    return op->ang[0].param >= 0 || op->ang[1].param >= 0 || op->ang[2].param >= 0;
}

/* Backward sweep: psi = psi_N, lam = lambda_N on entry (both destroyed). grad[nparams] += ...
 * undo_all: undo every gate, so that lam ends as lambda_0 (and psi as psi_0). */
static int backward_sweep(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                          int undo_all, qnn_error *err) {
    for (size_t k = c->nops; k-- > 0;) {
        const qnn_op *op = &c->ops[k];
        if (op->kind == QNN_G_ID) continue;
        int param = has_param(op);
        if (!param && k == 0 && !undo_all) break; /* psi_0 and lambda_0 are not needed */
        double d[3];
        int st = QNN_OK;
        if (param && is_fused1(op->kind)) {
            /* one pass: transition elements, then undo on both vectors */
            double p[3], m[8], mi[8], T[8];
            for (int j = 0; j < 3; j++) p[j] = qnn_circuit_angle_value(c, &op->ang[j]);
            st = qnn_gate_matrix((qnn_gate_kind)op->kind, p, m);
            if (st) return qnn_error_set(err, st, "gradient: bad angle in gate %zu", k + 1);
            qnn_matrix_dagger(m, 2, mi);
            int q = op->qbuf[0];
            d[1] = d[2] = 0.0;
            switch (op->kind) {
            case QNN_G_RX:
                d[0] = q >= 1 ? fused_rx4(psi, lam, q, mi) : fused_rx(psi, lam, q, mi);
                break;
            case QNN_G_RY:
                d[0] = q >= 1 ? fused_ry4(psi, lam, q, mi) : fused_ry(psi, lam, q, mi);
                break;
            case QNN_G_RZ:
                d[0] = q >= 1 ? fused_diag4(psi, lam, q, mi, 0) : fused_diag(psi, lam, q, mi, 0);
                break;
            case QNN_G_PHASE:
                d[0] = q >= 1 ? fused_diag4(psi, lam, q, mi, 1) : fused_diag(psi, lam, q, mi, 1);
                break;
            default:
                fused1(psi, lam, q, mi, T);
                derivs1(c, op, T, d);
            }
        } else {
            if (param) op_angle_derivs(op, lam, psi, d);
            if ((k > 0 || undo_all) && op->kind == QNN_G_CX && op->qbuf[0] >= 1 &&
                op->qbuf[1] >= 1) {
                fused_cx4(psi, lam, op->qbuf[0], op->qbuf[1]);
            } else if (k > 0 || undo_all) {
                st = qnn_circ_apply_op(c, op, psi, 1, err);
                if (!st) st = qnn_circ_apply_op(c, op, lam, 1, err);
            }
        }
        if (param) {
            int na = qnn_op_kind_nangles(op->kind);
            for (int a = 0; a < na; a++)
                if (op->ang[a].param >= 0) grad[op->ang[a].param] += op->ang[a].scale * d[a];
        }
        if (!st && (k & 127) == 0) st = qnn_progress_step(NULL, (double)(c->nops - k), (double)c->nops);
        if (st) return st;
    }
    return QNN_OK;
}

static int backward(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                    qnn_error *err) {
    return backward_sweep(c, psi, lam, grad, 0, err);
}

int qnn_circuit_adjoint(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                        int undo_all, qnn_error *err) {
    if (!psi || !lam || !psi->amp || !lam->amp || psi->n != c->n || lam->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "adjoint: states must have %d qubits", c->n);
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    return backward_sweep(c, psi, lam, grad, undo_all, err);
}

/* psi <- state_in (or |0>) run through c. psi must be uninitialised. */
static int forward(const qnn_circuit *c, const qnn_state *state_in, qnn_state *psi,
                   qnn_error *err) {
    int st;
    if (state_in) {
        if (state_in->n != c->n)
            return qnn_error_set(err, QNN_EINVAL, "input state has %d qubits, circuit has %d",
                                 state_in->n, c->n);
        st = qnn_state_init(psi, c->n, err);
        if (!st) st = qnn_state_copy_into(psi, state_in, err);
    } else {
        st = qnn_state_init(psi, c->n, err);
    }
    if (!st) st = qnn_circuit_run(c, psi, NULL, NULL, err);
    if (st) qnn_state_release(psi);
    return st;
}

int qnn_circuit_expect(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                       const qnn_state *state_in, double *value, qnn_error *err) {
    int st = qnn_circuit_check_observable(terms, nterms, c->n, err);
    if (st) return st;
    qnn_state psi;
    st = forward(c, state_in, &psi, err);
    if (st) return st;
    *value = qnn_state_expect(&psi, terms, nterms);
    qnn_state_release(&psi);
    return QNN_OK;
}

int qnn_circuit_gradient(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                         const qnn_state *state_in, double *value, double *grad, qnn_error *err) {
    int st = qnn_circuit_check_observable(terms, nterms, c->n, err);
    if (st) return st;
    st = qnn_state_check_size(c->n, 3, err);
    if (st) return st;
    qnn_state psi, lam;
    st = forward(c, state_in, &psi, err);
    if (st) return st;
    *value = qnn_state_expect(&psi, terms, nterms);
    st = qnn_state_init(&lam, c->n, err);
    if (st) {
        qnn_state_release(&psi);
        return st;
    }
    st = qnn_state_apply_observable(&lam, &psi, terms, nterms, err);
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    if (!st) st = backward(c, &psi, &lam, grad, err);
    qnn_state_release(&psi);
    qnn_state_release(&lam);
    return st;
}

/* lam <- dprobs .* psi (psi = the output state), then the backward sweep. Releases both. */
static int vjp_backward(const qnn_circuit *c, const double *dprobs, qnn_state *psi, double *probs,
                        double *grad, qnn_error *err) {
    size_t dim = (size_t)1 << c->n;
    qnn_state lam;
    int st = qnn_state_init(&lam, c->n, err);
    if (st) {
        qnn_state_release(psi);
        return st;
    }
    const double *P = psi->amp;
    double *L = lam.amp;
    PAR_FOR(dim >= QNN_STATE_OMP_MIN_DIM, size_t, x, dim,
        L[2 * x] = dprobs[x] * P[2 * x];
        L[2 * x + 1] = dprobs[x] * P[2 * x + 1];
    );
    if (probs) qnn_state_probs(psi, probs);
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    st = backward(c, psi, &lam, grad, err);
    qnn_state_release(psi);
    qnn_state_release(&lam);
    return st;
}

static int check_dprobs(const qnn_circuit *c, const double *dprobs, qnn_error *err) {
    size_t dim = (size_t)1 << c->n;
    for (size_t x = 0; x < dim; x++)
        if (!isfinite(dprobs[x]))
            return qnn_error_set(err, QNN_EINVAL, "vjp: dprobs[%zu] must be finite", x + 1);
    return QNN_OK;
}

int qnn_circuit_vjp(const qnn_circuit *c, const double *dprobs, const qnn_state *state_in,
                    double *probs, double *grad, qnn_error *err) {
    int st = qnn_state_check_size(c->n, 2, err);
    if (!st) st = check_dprobs(c, dprobs, err);
    if (st) return st;
    qnn_state psi;
    st = forward(c, state_in, &psi, err);
    if (st) return st;
    return vjp_backward(c, dprobs, &psi, probs, grad, err);
}

int qnn_circuit_vjp_from(const qnn_circuit *c, const double *dprobs, const qnn_state *final,
                         double *grad, qnn_error *err) {
    int st = qnn_state_check_size(c->n, 2, err);
    if (!st) st = check_dprobs(c, dprobs, err);
    if (st) return st;
    if (!final || !final->amp || final->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "vjp: output state has %d qubits, circuit has %d",
                             final && final->amp ? final->n : 0, c->n);
    qnn_state psi;
    st = qnn_state_init(&psi, c->n, err);
    if (!st) st = qnn_state_copy_into(&psi, final, err);
    if (st) {
        qnn_state_release(&psi);
        return st;
    }
    return vjp_backward(c, dprobs, &psi, NULL, grad, err);
}

/* ---------------- parameter shift ---------------- */
static int shifted_value(qnn_circuit *w, qnn_op *op, int a, double shift,
                         const qnn_pauli_term *terms, int nterms, const qnn_state *state_in,
                         double *out, qnn_error *err) {
    double keep = op->ang[a].offset;
    op->ang[a].offset = keep + shift;
    int st = qnn_circuit_expect(w, terms, nterms, state_in, out, err);
    op->ang[a].offset = keep;
    return st;
}

int qnn_circuit_gradient_shift(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                               const qnn_state *state_in, double *value, double *grad,
                               qnn_error *err) {
    int st = qnn_circuit_expect(c, terms, nterms, state_in, value, err);
    if (st) return st;
    qnn_circuit *w;
    st = qnn_circuit_copy(&w, c, err);
    if (st) return st;
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    const double dp = (M_SQRT2 + 1.0) / (4.0 * M_SQRT2), dm = (M_SQRT2 - 1.0) / (4.0 * M_SQRT2);
    for (size_t k = 0; k < w->nops && !st; k++) {
        qnn_op *op = &w->ops[k];
        int na = qnn_op_kind_nangles(op->kind);
        for (int a = 0; a < na && !st; a++) {
            if (op->ang[a].param < 0) continue;
            double fp, fm, d;
            st = shifted_value(w, op, a, M_PI / 2, terms, nterms, state_in, &fp, err);
            if (!st) st = shifted_value(w, op, a, -M_PI / 2, terms, nterms, state_in, &fm, err);
            if (st) break;
            if (op->kind == QNN_G_CRX || op->kind == QNN_G_CRY || op->kind == QNN_G_CRZ) {
                double gp, gm;
                st = shifted_value(w, op, a, 1.5 * M_PI, terms, nterms, state_in, &gp, err);
                if (!st) st = shifted_value(w, op, a, -1.5 * M_PI, terms, nterms, state_in, &gm, err);
                if (st) break;
                d = dp * (fp - fm) - dm * (gp - gm);
            } else {
                d = 0.5 * (fp - fm);
            }
            grad[op->ang[a].param] += op->ang[a].scale * d;
        }
    }
    qnn_circuit_free(w);
    return st;
}
