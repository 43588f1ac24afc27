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
#include <stdint.h>
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

/* <a| Pi_ctrl P |b> where P has x/z masks (Y = iXZ on bits in both) and Pi_ctrl projects on
 * the bits of ctrl being 1 (ctrl disjoint from the support of P). */
static void pauli_trans(const qnn_state *a, const qnn_state *b, uint64_t ctrl, uint64_t xm,
                        uint64_t zm, double *re_out, double *im_out) {
    const double *A = a->amp, *B = b->amp;
    const size_t dim = a->dim;
    double part[RED_CHUNKS][2];
    const int nch = PAR(dim) ? RED_CHUNKS : 1;
    int ny = __builtin_popcountll(xm & zm) & 3;
#pragma omp parallel for schedule(static) if (PAR(dim))
    for (int ch = 0; ch < nch; ch++) {
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
    }
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
#pragma omp parallel for schedule(static) if (PAR(psi->dim))
    for (int ch = 0; ch < nch; ch++) {
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
    }
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

/* The pair correlation C of one chunk from its accumulator lanes (real / imaginary parts of
 * the four products; for q = 0 one vector holds both halves of a pair), in a fixed order. */
static inline void corr_lanes(double *o, int q, v4d e1, v4d e2, v4d f1, v4d f2, v4d g1, v4d g2, v4d h1,
                              v4d h2) {
    if (q >= 1) {
        o[0] = (e1[0] + e1[1]) + (e1[2] + e1[3]), o[1] = (e2[0] - e2[1]) + (e2[2] - e2[3]);
        o[6] = (f1[0] + f1[1]) + (f1[2] + f1[3]), o[7] = (f2[0] - f2[1]) + (f2[2] - f2[3]);
        o[2] = (g1[0] + g1[1]) + (g1[2] + g1[3]), o[3] = (g2[0] - g2[1]) + (g2[2] - g2[3]);
        o[4] = (h1[0] + h1[1]) + (h1[2] + h1[3]), o[5] = (h2[0] - h2[1]) + (h2[2] - h2[3]);
    } else {
        o[0] = e1[0] + e1[1], o[1] = e2[0] - e2[1];
        o[6] = e1[2] + e1[3], o[7] = e2[2] - e2[3];
        o[2] = g1[0] + g1[1], o[3] = g2[0] - g2[1];
        o[4] = g1[2] + g1[3], o[5] = g2[2] - g2[3];
    }
}

/* chunk results summed in chunk order: the same numbers for any thread count */
static inline void corr_sum(double C[8], double part[][8], int nch) {
    for (int j = 0; j < 8; j++) C[j] = 0.0;
    for (int ch = 0; ch < nch; ch++)
        for (int j = 0; j < 8; j++) C[j] += part[ch][j];
}
/* AVX2 clone chosen at load time when the CPU has it (as in statevec.c: GCC on x86-64 without
 * sanitizers; other compilers build the portable baseline). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define GRAD_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GRAD_MULTIVERSION
#endif

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
    _Pragma("omp parallel for schedule(static) if (PAR(psi->dim))")                            \
    for (int ch = 0; ch < nch; ch++) {                                                   \
        size_t lo = nv * (size_t)ch / (size_t)nch, hi = nv * (size_t)(ch + 1) / (size_t)nch;     \
        v4d acc = {0, 0, 0, 0};                                                                 \
        for (size_t i = lo; i < hi; i++) {                                                      \
            size_t j0 = ins0v(i, qm), j1 = j0 | st2;                                            \
            v4d x = P4[j0], y = P4[j1], lx = L4[j0], ly = L4[j1];                               \
            __VA_ARGS__                                                                         \
        }                                                                                       \
        part[ch] = (acc[0] + acc[1]) + (acc[2] + acc[3]);                                       \
    }                                                                                           \
    double sum = 0.0;                                                                           \
    for (int ch = 0; ch < nch; ch++) sum += part[ch];                                    \
    return sum;

/* (re, im) swap in both lanes; the element form compiles to one shuffle with GCC and clang
 * (GCC's __builtin_shuffle does not exist in clang). */
#define SWAP4(v) ((v4d){(v)[1], (v)[0], (v)[3], (v)[2]})

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
#pragma omp parallel for schedule(static) if (PAR(psi->dim))
    for (size_t i = 0; i < nv; i++) {
        size_t j0 = ins0v(ins0v(i, lo), hi) | cb, j1 = j0 | tb;
        v4d a = P4[j0], b = P4[j1];
        P4[j0] = b, P4[j1] = a;
        a = L4[j0], b = L4[j1];
        L4[j0] = b, L4[j1] = a;
    }
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
    _Pragma("omp parallel for schedule(static) if (PAR(psi->dim))")                            \
    for (int ch = 0; ch < nch; ch++) {                                                   \
        size_t lo = half * (size_t)ch / (size_t)nch, hi = half * (size_t)(ch + 1) / (size_t)nch; \
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;                                          \
        size_t i = lo;                                                                          \
        for (; i + 4 <= hi; i += 4) {                                                           \
            BODY(i, a0) BODY(i + 1, a1) BODY(i + 2, a2) BODY(i + 3, a3)                         \
        }                                                                                       \
        for (; i < hi; i++) BODY(i, a0)                                                         \
        part[ch] = (a0 + a1) + (a2 + a3);                                                       \
    }                                                                                           \
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

/* One op of the backward sweep (op index k): its angle derivatives added to grad, then, if
 * undo, the op undone on psi and lam. */
static int backward_op(const qnn_circuit *c, size_t k, qnn_state *psi, qnn_state *lam,
                       double *grad, int undo, qnn_error *err) {
    const qnn_op *op = &c->ops[k];
    if (op->kind == QNN_G_ID) return QNN_OK;
    int param = has_param(op);
    if (!param && !undo) return QNN_OK;
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
        if (undo && op->kind == QNN_G_CX && op->qbuf[0] >= 1 && op->qbuf[1] >= 1) {
            fused_cx4(psi, lam, op->qbuf[0], op->qbuf[1]);
        } else if (undo) {
            st = qnn_circ_apply_op(c, op, psi, 1, err);
            if (!st) st = qnn_circ_apply_op(c, op, lam, 1, err);
        }
    }
    if (param) {
        int na = qnn_op_kind_nangles(op->kind);
        for (int a = 0; a < na; a++)
            if (op->ang[a].param >= 0) grad[op->ang[a].param] += op->ang[a].scale * d[a];
    }
    return st;
}

/* Gate by gate: psi = psi_N, lam = lambda_N on entry (both destroyed). */
static int backward_gates(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                          qnn_error *err) {
    for (size_t k = c->nops; k-- > 0;) {
        const qnn_op *op = &c->ops[k];
        if (k == 0 && !has_param(op)) break; /* psi_0 and lambda_0 are not needed */
        int st = backward_op(c, k, psi, lam, grad, k > 0, err);
        if (!st && (k & 127) == 0) st = qnn_progress_step(NULL, (double)(c->nops - k), (double)c->nops);
        if (st) return st;
    }
    return QNN_OK;
}

/* The adjoint sweep on caller-owned vectors (qnn.nn.quantum layers), gate by gate. */
int qnn_circuit_adjoint(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                        int undo_all, qnn_error *err) {
    if (!psi || !lam || !psi->amp || !lam->amp || psi->n != c->n || lam->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "adjoint: states must have %d qubits", c->n);
    if (!qnn_circuit_is_unitary(c))
        return qnn_error_set(err, QNN_EINVAL, "adjoint: the circuit has measurement, reset or "
                             "classical conditions; it has no adjoint gradient");
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    for (size_t k = c->nops; k-- > 0;) {
        const qnn_op *op = &c->ops[k];
        int undo = k > 0 || undo_all;
        if (!undo && !has_param(op)) break;
        int st = backward_op(c, k, psi, lam, grad, undo, err);
        if (st) return st;
    }
    return QNN_OK;
}

/* C = [[a, c], [d, b]] (C_uv = sum over pairs of conj(lam_u) psi_v) of a 1-qubit block's output,
 * then psi <- Ui psi, lam <- Ui lam in the same pass (Ui = the block's inverse). */
#define SWAPH4(v) ((v4d){(v)[2], (v)[3], (v)[0], (v)[1]})
/* Vectorised corr1 (32-byte aligned states, n >= 2): q >= 1 one v4d holds two pairs' x0 (or
 * x1) amplitudes; q = 0 one v4d holds one pair (x0, x1). Accumulators per lane, summed in a
 * fixed order per chunk, chunks in order: the same numbers for any thread count. */
GRAD_MULTIVERSION static void corr1v(qnn_state *psi, qnn_state *lam, int q, const double *U,
                                     double C[8]) {
    v4d *P4 = (v4d *)psi->amp, *L4 = (v4d *)lam->amp;
    const size_t nv = psi->dim / 4; /* pairs of vectors (q >= 1) or pairs of pairs (q = 0) */
    double part[RED_CHUNKS][8];
    const int nch = PAR(psi->dim) ? RED_CHUNKS : 1;
    const v4d sg = {-1, 1, -1, 1};
#define BC(x) ((v4d){(x), (x), (x), (x)})
    const v4d u00r = BC(U[0]), u00i = BC(U[1]) * sg, u01r = BC(U[2]), u01i = BC(U[3]) * sg;
    const v4d u10r = BC(U[4]), u10i = BC(U[5]) * sg, u11r = BC(U[6]), u11i = BC(U[7]) * sg;
    const v4d Ar = {U[0], U[0], U[6], U[6]}, Ai = (v4d){U[1], U[1], U[7], U[7]} * sg;
    const v4d Br = {U[2], U[2], U[4], U[4]}, Bi = (v4d){U[3], U[3], U[5], U[5]} * sg;
#undef BC
    const int qm = q - 1;
    const size_t st2 = q >= 1 ? (size_t)1 << qm : 0;
#pragma omp parallel for schedule(static) if (PAR(psi->dim))
    for (int ch = 0; ch < nch; ch++) {
        size_t lo = nv * (size_t)ch / (size_t)nch, hi = nv * (size_t)(ch + 1) / (size_t)nch;
        v4d e1 = {0, 0, 0, 0}, e2 = e1, f1 = e1, f2 = e1, g1 = e1, g2 = e1, h1 = e1, h2 = e1;
        if (q >= 1) {
            for (size_t i = lo; i < hi; i++) {
                size_t j0 = ins0v(i, qm), j1 = j0 | st2;
                v4d x = P4[j0], y = P4[j1], lx = L4[j0], ly = L4[j1];
                v4d xs = SWAP4(x), ys = SWAP4(y);
                e1 += lx * x, e2 += lx * xs; /* a = conj(l0) p0 */
                f1 += ly * y, f2 += ly * ys; /* b = conj(l1) p1 */
                g1 += lx * y, g2 += lx * ys; /* c = conj(l0) p1 */
                h1 += ly * x, h2 += ly * xs; /* d = conj(l1) p0 */
                v4d lxs = SWAP4(lx), lys = SWAP4(ly);
                P4[j0] = u00r * x + u00i * xs + u01r * y + u01i * ys;
                P4[j1] = u10r * x + u10i * xs + u11r * y + u11i * ys;
                L4[j0] = u00r * lx + u00i * lxs + u01r * ly + u01i * lys;
                L4[j1] = u10r * lx + u10i * lxs + u11r * ly + u11i * lys;
            }
        } else {
            for (size_t i = 2 * lo; i < 2 * hi; i++) {
                v4d v = P4[i], l = L4[i];
                v4d vs = SWAP4(v), vh = SWAPH4(v), vhs = SWAP4(vh);
                e1 += l * v, e2 += l * vs;   /* lanes: a (first pair half), b (second) */
                g1 += l * vh, g2 += l * vhs; /* lanes: c, d */
                v4d ls = SWAP4(l), lh = SWAPH4(l), lhs = SWAP4(lh);
                P4[i] = Ar * v + Ai * vs + Br * vh + Bi * vhs;
                L4[i] = Ar * l + Ai * ls + Br * lh + Bi * lhs;
            }
        }
        corr_lanes(part[ch], q, e1, e2, f1, f2, g1, g2, h1, h2);
    }
    corr_sum(C, part, nch);
}

static void corr1(qnn_state *psi, qnn_state *lam, int q, const double *Ui, double C[8]) {
    if (psi->n >= 3 && ((uintptr_t)psi->amp & 31) == 0 && ((uintptr_t)lam->amp & 31) == 0) {
        corr1v(psi, lam, q, Ui, C);
        return;
    }
    double t[8];
    fused1(psi, lam, q, Ui, t);
    /* fused1 returns I, X, Y, Z transition elements; back to a, b, c, d */
    double Ir = t[0], Ii = t[1], Xr = t[2], Xi = t[3], Yr = t[4], Yi = t[5], Zr = t[6], Zi = t[7];
    /* I = a + b, Z = a - b, X = c + d, Y = i (d - c) => d - c = -i Y */
    C[0] = 0.5 * (Ir + Zr), C[1] = 0.5 * (Ii + Zi); /* a = C00 */
    C[6] = 0.5 * (Ir - Zr), C[7] = 0.5 * (Ii - Zi); /* b = C11 */
    double dmr = Yi, dmi = -Yr;                     /* d - c */
    C[2] = 0.5 * (Xr - dmr), C[3] = 0.5 * (Xi - dmi); /* c = C01 */
    C[4] = 0.5 * (Xr + dmr), C[5] = 0.5 * (Xi + dmi); /* d = C10 */
}

/* 2x2 complex product helpers (row-major re/im) */
static void mm2(const double *A, const double *B, double *O) {
    for (int r = 0; r < 2; r++)
        for (int cc = 0; cc < 2; cc++) {
            double re = 0, im = 0;
            for (int k = 0; k < 2; k++) {
                double ar = A[2 * (2 * r + k)], ai = A[2 * (2 * r + k) + 1];
                double br = B[2 * (2 * k + cc)], bi = B[2 * (2 * k + cc) + 1];
                re += ar * br - ai * bi, im += ar * bi + ai * br;
            }
            O[2 * (2 * r + cc)] = re, O[2 * (2 * r + cc) + 1] = im;
        }
}

/* A fused block of 1-qubit gates on one qubit, backward in ONE pass over psi and lam: the pair
 * correlation C of the block's output is accumulated while the whole block is undone; then each
 * gate's transition elements follow from C by 2x2 algebra, C <- conj(V) C V^T with V = G^+
 * stepping back over gate G. */
static int backward_block1(const qnn_circuit *c, const qnn_fuse_block *b, qnn_state *psi,
                           qnn_state *lam, double *grad, qnn_error *err) {
    double Ui[8], C[8];
    qnn_matrix_dagger(b->matrix, 2, Ui);
    corr1(psi, lam, b->qubits[0], Ui, C);
    for (size_t m = b->ngates; m-- > 0;) {
        const qnn_op *op = &c->ops[b->gates[m]];
        double p[3], G[8], V[8];
        for (int j = 0; j < 3; j++) p[j] = qnn_circuit_angle_value(c, &op->ang[j]);
        int st = qnn_gate_matrix((qnn_gate_kind)op->kind, p, G);
        if (st) return qnn_error_set(err, st, "gradient: bad gate %zu", b->gates[m] + 1);
        if (has_param(op)) {
            double T[8], d[3];
            T[0] = C[0] + C[6], T[1] = C[1] + C[7];                     /* I = a + b */
            T[2] = C[2] + C[4], T[3] = C[3] + C[5];                     /* X = c + d */
            T[4] = -(C[5] - C[3]), T[5] = C[4] - C[2];                  /* Y = i (d - c) */
            T[6] = C[0] - C[6], T[7] = C[1] - C[7];                     /* Z = a - b */
            derivs1(c, op, T, d);
            int na = qnn_op_kind_nangles(op->kind);
            for (int a = 0; a < na; a++)
                if (op->ang[a].param >= 0) grad[op->ang[a].param] += op->ang[a].scale * d[a];
        }
        /* C' = conj(V) C V^T, V = G^+: conj(V) = G^T, V^T = conj(G) */
        double GT[8], Gc[8], tmp[8];
        GT[0] = G[0], GT[1] = G[1], GT[2] = G[4], GT[3] = G[5];
        GT[4] = G[2], GT[5] = G[3], GT[6] = G[6], GT[7] = G[7];
        for (int e = 0; e < 4; e++) Gc[2 * e] = G[2 * e], Gc[2 * e + 1] = -G[2 * e + 1];
        (void)V;
        mm2(GT, C, tmp);
        mm2(tmp, Gc, C);
    }
    return QNN_OK;
}

static int block_has_param(const qnn_circuit *c, const qnn_fuse_block *b) {
    for (size_t m = 0; m < b->ngates; m++)
        if (has_param(&c->ops[b->gates[m]])) return 1;
    return 0;
}

/* Undoes a fused block (dense: M^+, diagonal: conj, permutation: the forward index map;
 * gates: their inverses last to first) on one vector. */
static int undo_block(const qnn_circuit *c, const qnn_fuse_block *b, qnn_state *v, qnn_error *err) {
    int st = QNN_OK;
    if (b->type == QNN_FUSE_DENSE) {
        size_t d = (size_t)1 << b->k;
        double Mi[2 << (2 * 5)];
        qnn_matrix_dagger(b->matrix, d, Mi);
        st = qnn_state_apply_kq(v, b->qubits, b->k, Mi, err);
    } else if (b->type == QNN_FUSE_DIAG) {
        size_t d = (size_t)1 << b->k;
        double Di[2 << 8];
        for (size_t x = 0; x < d; x++) Di[2 * x] = b->matrix[2 * x], Di[2 * x + 1] = -b->matrix[2 * x + 1];
        st = qnn_state_apply_diag_complex(v, b->qubits, b->k, Di, err);
    } else if (b->type == QNN_FUSE_PERM) {
        /* undo: new amplitude of y = old amplitude of f(y), f = the gates' basis map */
        uint64_t col[QNN_CIRCUIT_MAXQ + 1];
        for (int j = 0; j <= c->n; j++) {
            uint64_t y = j < c->n ? (uint64_t)1 << j : 0;
            for (size_t m = 0; m < b->ngates; m++) {
                const qnn_op *op = &c->ops[b->gates[m]];
                const int *q = qnn_op_qubits(op);
                if (op->kind == QNN_G_X) y ^= (uint64_t)1 << q[0];
                else if (op->kind == QNN_G_CX) { if ((y >> q[0]) & 1) y ^= (uint64_t)1 << q[1]; }
                else if (((y >> q[0]) ^ (y >> q[1])) & 1) y ^= ((uint64_t)1 << q[0]) | ((uint64_t)1 << q[1]);
            }
            col[j] = y;
        }
        for (int j = 0; j < c->n; j++) col[j] ^= col[c->n];
        st = qnn_state_permute_linear(v, col, col[c->n], err);
    } else {
        for (size_t m = b->ngates; m-- > 0 && !st;)
            st = qnn_circ_apply_op(c, &c->ops[b->gates[m]], v, 1, err);
    }
    return st;
}

/* Backward sweep over the compiled program (fused blocks): blocks without parameters are
 * undone as one kernel call each on psi and lam (dense: M^+, diagonal: conj, permutation: the
 * forward index map), blocks of 1-qubit gates on one qubit in one pass (backward_block1),
 * others gate by gate. psi = psi_N, lam = lambda_N on entry (both destroyed). */
static int backward(const qnn_circuit *c, qnn_state *psi, qnn_state *lam, double *grad,
                    qnn_error *err) {
    if (!qnn_fusion_default()) return backward_gates(c, psi, lam, grad, err);
    int st = qnn_circuit_compile(c, NULL, err);
    if (st) return st;
    const size_t nb = qnn_circuit_fused_nblocks(c);
    size_t done = 0;
    for (size_t bi = nb; bi-- > 0 && !st;) {
        qnn_fuse_block b;
        qnn_circuit_fused_block(c, bi, &b);
        int param = block_has_param(c, &b);
        if (bi == 0 && !param) break; /* psi_0 and lambda_0 are not needed */
        if (b.type == QNN_FUSE_GATES) {
            for (size_t m = b.ngates; m-- > 0 && !st;)
                st = backward_op(c, b.gates[m], psi, lam, grad, !(bi == 0 && m == 0), err);
        } else if (b.type == QNN_FUSE_DENSE && b.k == 1 && param) {
            st = backward_block1(c, &b, psi, lam, grad, err);
        } else if (!param && b.type != QNN_FUSE_GATES) {
            st = undo_block(c, &b, psi, err);
            if (!st) st = undo_block(c, &b, lam, err);
        } else { /* fused block with parameters on several qubits: its gates one by one */
            for (size_t m = b.ngates; m-- > 0 && !st;)
                st = backward_op(c, b.gates[m], psi, lam, grad, !(bi == 0 && m == 0), err);
        }
        size_t before = done;
        done += b.ngates;
        if (!st && (before >> 7) != (done >> 7)) st = qnn_progress_step(NULL, (double)done, (double)c->nops);
    }
    return st;
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

/* ---------------- stored-state adjoint ----------------
 * The scheme above un-computes psi block by block next to lambda: per block with parameters
 * it transforms two vectors and correlates them (about 3 forward passes of work). Here the
 * forward pass keeps the state at the input of every block with parameters, so the backward
 * sweep transforms lambda only and reads the kept psi for the derivative correlations, in the
 * same pass (2 units). A 1-qubit block with parameters runs out of place in the forward pass
 * (its input buffer is kept, the output goes to the next buffer of the pool: no copy); other
 * blocks with parameters keep a copy of their output. The saving is in arithmetic, the price
 * in memory traffic: measured on the 2-core AVX2 machines (docs/performance.md) it is 8-15 %
 * faster at 11-12 qubits when all kept states fit in about 4 MB, 0-30 % slower at 8 MB, and
 * 5-10x slower once they spill to memory (160 MB at 16 qubits). So auto mode chooses it only
 * from 11 qubits and when the kept states plus two work vectors fit the budget
 * (qnn_adjoint_config / QNN_ADJOINT_MEM, default 4 MB); otherwise, or with
 * QNN_ADJOINT=uncompute, the un-computing
 * sweep runs; QNN_ADJOINT=store forces it at any size (memory permitting). Results agree to
 * rounding (1e-12). A checkpointed variant (keep every k-th state, recompute inside segments)
 * is not implemented: it adds a forward pass to a scheme already slower than un-computing
 * when the states do not fit. */
static int adj_mode_set = -1;
static size_t adj_budget_set = 0;

void qnn_adjoint_config(int mode, size_t budget_bytes) {
    adj_mode_set = mode;
    adj_budget_set = budget_bytes;
}

static int adjoint_mode(void) {
    if (adj_mode_set >= 0) return adj_mode_set;
    const char *e = getenv("QNN_ADJOINT");
    if (!e) return QNN_ADJOINT_AUTO;
    if (strcmp(e, "store") == 0) return QNN_ADJOINT_STORE;
    if (strcmp(e, "uncompute") == 0) return QNN_ADJOINT_UNCOMPUTE;
    return QNN_ADJOINT_AUTO;
}

static size_t adjoint_budget(void) {
    if (adj_budget_set) return adj_budget_set;
    const char *e = getenv("QNN_ADJOINT_MEM");
    if (e) {
        char *end;
        double mb = strtod(e, &end);
        if (end != e && isfinite(mb) && mb >= 0) return (size_t)(mb * 1048576.0);
    }
    return (size_t)4 << 20;
}

enum { SB_PLAIN = 0, SB_ONE = 1, SB_OTHER = 2 };

/* psi_out <- U psi_in for a 1-qubit U on q, out of place (32-byte aligned vectors) */
GRAD_MULTIVERSION static void apply1_oop(const double *src, double *dst, size_t dim, int q,
                                         const double *U) {
    const v4d *S4 = (const v4d *)src;
    v4d *D4 = (v4d *)dst;
    const v4d sg = {-1, 1, -1, 1};
#define BC(x) ((v4d){(x), (x), (x), (x)})
    const v4d u00r = BC(U[0]), u00i = BC(U[1]) * sg, u01r = BC(U[2]), u01i = BC(U[3]) * sg;
    const v4d u10r = BC(U[4]), u10i = BC(U[5]) * sg, u11r = BC(U[6]), u11i = BC(U[7]) * sg;
#undef BC
    const v4d Ar = {U[0], U[0], U[6], U[6]}, Ai = (v4d){U[1], U[1], U[7], U[7]} * sg;
    const v4d Br = {U[2], U[2], U[4], U[4]}, Bi = (v4d){U[3], U[3], U[5], U[5]} * sg;
    if (q >= 1) {
        const int qm = q - 1;
        const size_t st2 = (size_t)1 << qm, nv = dim / 4;
#pragma omp parallel for schedule(static) if (PAR(dim))
        for (size_t i = 0; i < nv; i++) {
            size_t j0 = ins0v(i, qm), j1 = j0 | st2;
            v4d x = S4[j0], y = S4[j1], xs = SWAP4(x), ys = SWAP4(y);
            D4[j0] = u00r * x + u00i * xs + u01r * y + u01i * ys;
            D4[j1] = u10r * x + u10i * xs + u11r * y + u11i * ys;
        }
    } else {
        const size_t nv = dim / 2;
#pragma omp parallel for schedule(static) if (PAR(dim))
        for (size_t i = 0; i < nv; i++) {
            v4d v = S4[i], vs = SWAP4(v), vh = SWAPH4(v), vhs = SWAP4(vh);
            D4[i] = Ar * v + Ai * vs + Br * vh + Bi * vhs;
        }
    }
}

/* lam <- Ui lam on q and, in the same pass, C = [[a, c], [d, b]], C_uv = sum over pairs of
 * conj(lam'_u) psi_v with lam' the new lam and psi the kept input state of the block (read
 * only). Chunked reduction as corr1v: the same numbers for any thread count. */
GRAD_MULTIVERSION static void lamstep1(double *lamv, const double *psiv, size_t dim, int q,
                                       const double *U, double C[8]) {
    v4d *L4 = (v4d *)lamv;
    const v4d *P4 = (const v4d *)psiv;
    const size_t nv = q >= 1 ? dim / 4 : dim / 2; /* vector pairs (q >= 1) or vectors */
    double part[RED_CHUNKS][8];
    const int nch = PAR(dim) ? RED_CHUNKS : 1;
    const v4d sg = {-1, 1, -1, 1};
#define BC(x) ((v4d){(x), (x), (x), (x)})
    const v4d u00r = BC(U[0]), u00i = BC(U[1]) * sg, u01r = BC(U[2]), u01i = BC(U[3]) * sg;
    const v4d u10r = BC(U[4]), u10i = BC(U[5]) * sg, u11r = BC(U[6]), u11i = BC(U[7]) * sg;
#undef BC
    const v4d Ar = {U[0], U[0], U[6], U[6]}, Ai = (v4d){U[1], U[1], U[7], U[7]} * sg;
    const v4d Br = {U[2], U[2], U[4], U[4]}, Bi = (v4d){U[3], U[3], U[5], U[5]} * sg;
    const int qm = q - 1;
    const size_t st2 = q >= 1 ? (size_t)1 << qm : 0;
#pragma omp parallel for schedule(static) if (PAR(dim))
    for (int ch = 0; ch < nch; ch++) {
        size_t lo = nv * (size_t)ch / (size_t)nch, hi = nv * (size_t)(ch + 1) / (size_t)nch;
        v4d e1 = {0, 0, 0, 0}, e2 = e1, f1 = e1, f2 = e1, g1 = e1, g2 = e1, h1 = e1, h2 = e1;
        if (q >= 1) {
            for (size_t i = lo; i < hi; i++) {
                size_t j0 = ins0v(i, qm), j1 = j0 | st2;
                v4d lx = L4[j0], ly = L4[j1], lxs = SWAP4(lx), lys = SWAP4(ly);
                lx = u00r * lx + u00i * lxs + u01r * ly + u01i * lys;
                ly = u10r * L4[j0] + u10i * lxs + u11r * ly + u11i * lys;
                L4[j0] = lx, L4[j1] = ly;
                v4d x = P4[j0], y = P4[j1], xs = SWAP4(x), ys = SWAP4(y);
                e1 += lx * x, e2 += lx * xs; /* a = conj(l0) p0 */
                f1 += ly * y, f2 += ly * ys; /* b = conj(l1) p1 */
                g1 += lx * y, g2 += lx * ys; /* c = conj(l0) p1 */
                h1 += ly * x, h2 += ly * xs; /* d = conj(l1) p0 */
            }
        } else {
            for (size_t i = lo; i < hi; i++) {
                v4d l = L4[i], ls = SWAP4(l), lh = SWAPH4(l), lhs = SWAP4(lh);
                l = Ar * l + Ai * ls + Br * lh + Bi * lhs;
                L4[i] = l;
                v4d v = P4[i], vs = SWAP4(v), vh = SWAPH4(v), vhs = SWAP4(vh);
                e1 += l * v, e2 += l * vs;   /* lanes: a (first pair half), b (second) */
                g1 += l * vh, g2 += l * vhs; /* lanes: c, d */
            }
        }
        corr_lanes(part[ch], q, e1, e2, f1, f2, g1, g2, h1, h2);
    }
    corr_sum(C, part, nch);
}

/* Backward step of a 1-qubit block with parameters from its kept input state pin: lam <- B^+
 * lam with the correlation at the block input, then forward through the block's gates
 * (C <- conj(G) C G^T) taking each gate's derivatives from the correlation at its output. */
static int stored_block1(const qnn_circuit *c, const qnn_fuse_block *b, const double *pin,
                         qnn_state *lam, double *grad, qnn_error *err) {
    double Ui[8], C[8];
    qnn_matrix_dagger(b->matrix, 2, Ui);
    lamstep1(lam->amp, pin, lam->dim, b->qubits[0], Ui, C);
    for (size_t m = 0; m < b->ngates; m++) {
        const qnn_op *op = &c->ops[b->gates[m]];
        double p[3], G[8];
        for (int j = 0; j < 3; j++) p[j] = qnn_circuit_angle_value(c, &op->ang[j]);
        int st = qnn_gate_matrix((qnn_gate_kind)op->kind, p, G);
        if (st) return qnn_error_set(err, st, "gradient: bad gate %zu", b->gates[m] + 1);
        double Gc[8], GT[8], tmp[8];
        for (int e = 0; e < 4; e++) Gc[2 * e] = G[2 * e], Gc[2 * e + 1] = -G[2 * e + 1];
        GT[0] = G[0], GT[1] = G[1], GT[2] = G[4], GT[3] = G[5];
        GT[4] = G[2], GT[5] = G[3], GT[6] = G[6], GT[7] = G[7];
        mm2(Gc, C, tmp);
        mm2(tmp, GT, C);
        if (has_param(op)) {
            double T[8], d[3];
            T[0] = C[0] + C[6], T[1] = C[1] + C[7];    /* I = a + b */
            T[2] = C[2] + C[4], T[3] = C[3] + C[5];    /* X = c + d */
            T[4] = -(C[5] - C[3]), T[5] = C[4] - C[2]; /* Y = i (d - c) */
            T[6] = C[0] - C[6], T[7] = C[1] - C[7];    /* Z = a - b */
            derivs1(c, op, T, d);
            int na = qnn_op_kind_nangles(op->kind);
            for (int a = 0; a < na; a++)
                if (op->ang[a].param >= 0) grad[op->ang[a].param] += op->ang[a].scale * d[a];
        }
    }
    return QNN_OK;
}

/* The plan of a stored sweep: class of every block and the number of kept states. Returns 1
 * when the stored sweep is chosen (fusion on, mode and budget allow it), 0 otherwise (cls
 * freed), -1 out of memory. */
static int stored_plan(const qnn_circuit *c, unsigned char **cls_out, size_t *nkeep,
                       qnn_error *err) {
    *cls_out = NULL;
    int mode = adjoint_mode();
    if (mode == QNN_ADJOINT_UNCOMPUTE || !qnn_fusion_default()) return 0;
    if (qnn_circuit_compile(c, NULL, err)) return -1;
    const size_t nb = qnn_circuit_fused_nblocks(c);
    unsigned char *cls = (unsigned char *)malloc(nb ? nb : 1);
    if (!cls) return -1;
    size_t keep = 0;
    for (size_t bi = 0; bi < nb; bi++) {
        qnn_fuse_block b;
        qnn_circuit_fused_block(c, bi, &b);
        cls[bi] = !block_has_param(c, &b) ? SB_PLAIN
                : b.type == QNN_FUSE_DENSE && b.k == 1 ? SB_ONE : SB_OTHER;
        keep += cls[bi] != SB_PLAIN;
    }
    /* kept states + the working state + lambda */
    double bytes = (double)(keep + 2) * 16.0 * (double)((size_t)1 << c->n);
    /* auto: only when the kept states stay in the caches (measured, docs/performance.md: beyond
     * ~4 MB the backward sweep waits for memory and the stored sweep is slower than
     * un-computing; below 11 qubits fixed costs dominate and it is no faster) */
    if (keep == 0 || (mode != QNN_ADJOINT_STORE && (c->n < 11 || bytes > (double)adjoint_budget()))) {
        free(cls);
        return 0;
    }
    *cls_out = cls;
    *nkeep = keep;
    return 1;
}

/* Forward pass keeping states, then the backward sweep on lambda only. The observable
 * (terms, value) or dprobs (vjp: probs may be NULL) defines lambda_N. */
static int stored_adjoint(const qnn_circuit *c, const unsigned char *cls, size_t nkeep,
                          const qnn_state *state_in, const qnn_pauli_term *terms, int nterms,
                          const double *dprobs, double *value, double *probs, double *grad,
                          qnn_error *err) {
    const size_t dim = (size_t)1 << c->n, nb = qnn_circuit_fused_nblocks(c);
    const size_t stride = (16 * dim + 63) / 64 * 64 / sizeof(double);
    double *pool = NULL;
    const double **kept = (const double **)malloc(sizeof(double *) * (nb ? nb : 1));
    if (!kept || posix_memalign((void **)&pool, 64, sizeof(double) * stride * (nkeep + 1)) != 0) {
        free(kept);
        return qnn_error_set(err, QNN_ENOMEM, "gradient: could not keep %zu states of %d qubits "
                             "(set a smaller QNN_ADJOINT_MEM)", nkeep, c->n);
    }
    qnn_state w = {c->n, dim, pool}, lam = {0, 0, NULL};
    size_t next = 1;
    if (state_in) {
        memcpy(w.amp, state_in->amp, 16 * dim);
    } else {
        memset(w.amp, 0, 16 * dim);
        w.amp[0] = 1.0;
    }
    int st = QNN_OK;
    size_t done = 0;
    for (size_t bi = 0; bi < nb && !st; bi++) {
        qnn_fuse_block b;
        qnn_circuit_fused_block(c, bi, &b);
        kept[bi] = NULL;
        if (cls[bi] == SB_ONE) {
            kept[bi] = w.amp;
            w.amp = pool + stride * next++;
            apply1_oop(kept[bi], w.amp, dim, b.qubits[0], b.matrix);
        } else {
            st = qnn_circ_run_fused_block(c, bi, &w, err);
            if (!st && cls[bi] == SB_OTHER) {
                double *k = pool + stride * next++;
                memcpy(k, w.amp, 16 * dim);
                kept[bi] = k;
            }
        }
        size_t before = done;
        done += b.ngates;
        if (!st && (before >> 8) != (done >> 8)) st = qnn_progress_step(NULL, (double)done, (double)c->nops);
    }
    if (!st) st = qnn_state_init(&lam, c->n, err);
    if (!st) {
        if (terms) {
            *value = qnn_state_expect(&w, terms, nterms);
            st = qnn_state_apply_observable(&lam, &w, terms, nterms, err);
        } else {
            const double *P = w.amp;
            double *L = lam.amp;
#pragma omp parallel for schedule(static) if (dim >= QNN_STATE_OMP_MIN_DIM)
            for (size_t x = 0; x < dim; x++) {
                L[2 * x] = dprobs[x] * P[2 * x];
                L[2 * x + 1] = dprobs[x] * P[2 * x + 1];
            }
            if (probs) qnn_state_probs(&w, probs);
        }
    }
    for (int i = 0; i < c->np; i++) grad[i] = 0.0;
    done = 0;
    for (size_t bi = nb; bi-- > 0 && !st;) {
        qnn_fuse_block b;
        qnn_circuit_fused_block(c, bi, &b);
        if (cls[bi] == SB_PLAIN) {
            if (bi == 0) break; /* lambda_0 is not needed */
            st = undo_block(c, &b, &lam, err);
        } else if (cls[bi] == SB_ONE) {
            st = stored_block1(c, &b, kept[bi], &lam, grad, err);
        } else { /* the kept output as psi, the block's gates one by one (psi is consumed) */
            qnn_state psi = {c->n, dim, (double *)kept[bi]};
            for (size_t m = b.ngates; m-- > 0 && !st;)
                st = backward_op(c, b.gates[m], &psi, &lam, grad, !(bi == 0 && m == 0), err);
        }
        size_t before = done;
        done += b.ngates;
        if (!st && (before >> 7) != (done >> 7)) st = qnn_progress_step(NULL, (double)done, (double)c->nops);
    }
    qnn_state_release(&lam);
    free(pool);
    free(kept);
    return st;
}

int qnn_circuit_expect(const qnn_circuit *c, const qnn_pauli_term *terms, int nterms,
                       const qnn_state *state_in, double *value, qnn_error *err) {
    { /* measurement, reset, conditions: refused, or dropped when terminal (circuit_measure.c) */
        qnn_circuit *view_ = NULL;
        int vst_ = qnn_circ_unitary_view(c, "expect", terms, nterms, &view_, err);
        if (vst_) return vst_;
        if (view_) {
            vst_ = qnn_circuit_expect(view_, terms, nterms, state_in, value, err);
            qnn_circuit_free(view_);
            return vst_;
        }
    }
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
    { /* measurement, reset, conditions: refused, or dropped when terminal (circuit_measure.c) */
        qnn_circuit *view_ = NULL;
        int vst_ = qnn_circ_unitary_view(c, "gradient", terms, nterms, &view_, err);
        if (vst_) return vst_;
        if (view_) {
            vst_ = qnn_circuit_gradient(view_, terms, nterms, state_in, value, grad, err);
            qnn_circuit_free(view_);
            return vst_;
        }
    }
    int st = qnn_circuit_check_observable(terms, nterms, c->n, err);
    if (st) return st;
    st = qnn_state_check_size(c->n, 3, err);
    if (st) return st;
    if (state_in && state_in->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "input state has %d qubits, circuit has %d",
                             state_in->n, c->n);
    unsigned char *cls;
    size_t nkeep;
    int use = stored_plan(c, &cls, &nkeep, err);
    if (use < 0) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    if (use) {
        st = stored_adjoint(c, cls, nkeep, state_in, terms, nterms, NULL, value, NULL, grad, err);
        free(cls);
        return st;
    }
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
#pragma omp parallel for schedule(static) if (dim >= QNN_STATE_OMP_MIN_DIM)
    for (size_t x = 0; x < dim; x++) {
        L[2 * x] = dprobs[x] * P[2 * x];
        L[2 * x + 1] = dprobs[x] * P[2 * x + 1];
    }
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
    { /* measurement, reset, conditions: refused, or dropped when terminal (circuit_measure.c) */
        qnn_circuit *view_ = NULL;
        int vst_ = qnn_circ_unitary_view(c, "vjp", NULL, 0, &view_, err);
        if (vst_) return vst_;
        if (view_) {
            vst_ = qnn_circuit_vjp(view_, dprobs, state_in, probs, grad, err);
            qnn_circuit_free(view_);
            return vst_;
        }
    }
    int st = qnn_state_check_size(c->n, 2, err);
    if (!st) st = check_dprobs(c, dprobs, err);
    if (st) return st;
    if (state_in && state_in->n != c->n)
        return qnn_error_set(err, QNN_EINVAL, "input state has %d qubits, circuit has %d",
                             state_in->n, c->n);
    unsigned char *cls;
    size_t nkeep;
    int use = stored_plan(c, &cls, &nkeep, err);
    if (use < 0) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    if (use) {
        st = stored_adjoint(c, cls, nkeep, state_in, NULL, 0, dprobs, NULL, probs, grad, err);
        free(cls);
        return st;
    }
    qnn_state psi;
    st = forward(c, state_in, &psi, err);
    if (st) return st;
    return vjp_backward(c, dprobs, &psi, probs, grad, err);
}

int qnn_circuit_vjp_from(const qnn_circuit *c, const double *dprobs, const qnn_state *final,
                         double *grad, qnn_error *err) {
    { /* measurement, reset, conditions: refused, or dropped when terminal (circuit_measure.c) */
        qnn_circuit *view_ = NULL;
        int vst_ = qnn_circ_unitary_view(c, "vjp", NULL, 0, &view_, err);
        if (vst_) return vst_;
        if (view_) {
            vst_ = qnn_circuit_vjp_from(view_, dprobs, final, grad, err);
            qnn_circuit_free(view_);
            return vst_;
        }
    }
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
    { /* measurement, reset, conditions: refused, or dropped when terminal (circuit_measure.c) */
        qnn_circuit *view_ = NULL;
        int vst_ = qnn_circ_unitary_view(c, "gradient_shift", terms, nterms, &view_, err);
        if (vst_) return vst_;
        if (view_) {
            vst_ = qnn_circuit_gradient_shift(view_, terms, nterms, state_in, value, grad, err);
            qnn_circuit_free(view_);
            return vst_;
        }
    }
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
