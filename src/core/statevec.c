/* State-vector kernels (see qnn/statevec.h). Complex arithmetic is written out on (re, im)
 * doubles. Loops run in parallel (OpenMP, static schedule) only for large registers. */
#include "qnn/statevec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAR(dim) ((dim) >= QNN_STATE_OMP_MIN_DIM)

/* for (size_t i = 0; i < N; i++) BODY, in parallel when par is true. */
#define PFOR(par, N, i, ...)                                                                    \
    do {                                                                                        \
        const size_t pfor_n_ = (N);                                                             \
        if (par) {                                                                              \
            _Pragma("omp parallel for schedule(static)") for (size_t i = 0; i < pfor_n_; i++) { \
                __VA_ARGS__                                                                     \
            }                                                                                   \
        } else {                                                                                \
            for (size_t i = 0; i < pfor_n_; i++) {                                              \
                __VA_ARGS__                                                                     \
            }                                                                                   \
        }                                                                                       \
    } while (0)

/* Deterministic reduction into up to four accumulators a0..a3 (declared and zeroed by the
 * caller; the body adds to them). Large loops are cut into DRED_CHUNKS fixed chunks summed in
 * order, so results do not depend on the thread count. */
#define DRED_CHUNKS 64
#define DRED(par, N, i, a0, a1, a2, a3, ...)                                                    \
    do {                                                                                        \
        const size_t dred_n_ = (N);                                                             \
        if (par) {                                                                              \
            double dred_p_[DRED_CHUNKS][4];                                                     \
            _Pragma("omp parallel for schedule(static)") for (int c_ = 0; c_ < DRED_CHUNKS; c_++) { \
                double a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                          \
                size_t lo_ = dred_n_ * (size_t)c_ / DRED_CHUNKS;                                \
                size_t hi_ = dred_n_ * (size_t)(c_ + 1) / DRED_CHUNKS;                          \
                for (size_t i = lo_; i < hi_; i++) { __VA_ARGS__ }                              \
                dred_p_[c_][0] = a0;                                                            \
                dred_p_[c_][1] = a1;                                                            \
                dred_p_[c_][2] = a2;                                                            \
                dred_p_[c_][3] = a3;                                                            \
            }                                                                                   \
            for (int c_ = 0; c_ < DRED_CHUNKS; c_++) {                                          \
                a0 += dred_p_[c_][0];                                                           \
                a1 += dred_p_[c_][1];                                                           \
                a2 += dred_p_[c_][2];                                                           \
                a3 += dred_p_[c_][3];                                                           \
            }                                                                                   \
        } else {                                                                                \
            for (size_t i = 0; i < dred_n_; i++) { __VA_ARGS__ }                                \
        }                                                                                       \
        (void)(a0), (void)(a1), (void)(a2), (void)(a3); /* callers may not use every slot */   \
    } while (0)

/* Inserts a zero bit at position p of i. */
static inline size_t ins0(size_t i, int p) {
    size_t lo = i & (((size_t)1 << p) - 1);
    return ((i >> p) << (p + 1)) | lo;
}

/* Inserts zeros at the (ascending) positions pos[0..np-1]. */
static inline size_t ins0s(size_t i, const int *pos, int np) {
    for (int k = 0; k < np; k++) i = ins0(i, pos[k]);
    return i;
}

/* Ascending bit positions of mask into pos; returns count. */
static int mask_positions(uint64_t mask, int *pos) {
    int np = 0;
    while (mask) {
        pos[np++] = __builtin_ctzll(mask);
        mask &= mask - 1;
    }
    return np;
}

/* ------------------------------------------------------------------ lifetime */
int qnn_state_check_size(int n, size_t copies, qnn_error *err) {
    if (n < 1 || n > QNN_STATE_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "number of qubits must be in [1, %d], got %d",
                             QNN_STATE_MAX_QUBITS, n);
    size_t bytes;
    if (copies == 0) copies = 1;
    if (qnn_mul_size((size_t)16 << n, copies, &bytes) != QNN_OK || bytes > qnn_max_bytes())
        return qnn_error_set(err, QNN_ENOMEM,
                             "%zu state vector(s) on %d qubits need %.0f bytes (16 * 2^n each), "
                             "over the limit of %.0f bytes (QNN_MAX_BYTES)",
                             copies, n, (double)copies * 16.0 * (double)((size_t)1 << n),
                             (double)qnn_max_bytes());
    return QNN_OK;
}

int qnn_state_init(qnn_state *s, int n, qnn_error *err) {
    if (!s) return qnn_error_set(err, QNN_EINVAL, "state is NULL");
    int rc = qnn_state_check_size(n, 1, err);
    if (rc) return rc;
    size_t dim = (size_t)1 << n;
    double *amp = (double *)qnn_aligned_alloc(64, 16 * dim);
    if (!amp)
        return qnn_error_set(err, QNN_ENOMEM, "could not allocate a state on %d qubits", n);
    s->n = n;
    s->dim = dim;
    s->amp = amp;
    amp[0] = 1.0;
    return QNN_OK;
}

void qnn_state_release(qnn_state *s) {
    if (!s) return;
    qnn_aligned_free(s->amp);
    s->amp = NULL;
    s->n = 0;
    s->dim = 0;
}

int qnn_state_create(qnn_state **out, int n, qnn_error *err) {
    if (!out) return qnn_error_set(err, QNN_EINVAL, "out is NULL");
    *out = NULL;
    qnn_state *s = (qnn_state *)calloc(1, sizeof *s);
    if (!s) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    int rc = qnn_state_init(s, n, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return QNN_OK;
}

void qnn_state_free(qnn_state *s) {
    if (!s) return;
    qnn_state_release(s);
    free(s);
}

int qnn_state_copy(qnn_state **out, const qnn_state *src, qnn_error *err) {
    if (!src || !src->amp) return qnn_error_set(err, QNN_EINVAL, "source state is NULL");
    int rc = qnn_state_create(out, src->n, err);
    if (rc) return rc;
    memcpy((*out)->amp, src->amp, 16 * src->dim);
    return QNN_OK;
}

int qnn_state_copy_into(qnn_state *dst, const qnn_state *src, qnn_error *err) {
    if (!dst || !src || !dst->amp || !src->amp)
        return qnn_error_set(err, QNN_EINVAL, "state is NULL");
    if (dst->n != src->n)
        return qnn_error_set(err, QNN_EINVAL, "states have %d and %d qubits", dst->n, src->n);
    if (dst != src) memcpy(dst->amp, src->amp, 16 * src->dim);
    return QNN_OK;
}

/* ------------------------------------------------------------------ setting */
void qnn_state_set_zero(qnn_state *s) {
    memset(s->amp, 0, 16 * s->dim);
    s->amp[0] = 1.0;
}

int qnn_state_set_basis(qnn_state *s, size_t idx, qnn_error *err) {
    if (idx >= s->dim)
        return qnn_error_set(err, QNN_ERANGE, "basis index %zu out of range [0, %zu]", idx,
                             s->dim - 1);
    memset(s->amp, 0, 16 * s->dim);
    s->amp[2 * idx] = 1.0;
    return QNN_OK;
}

int qnn_state_set_amps(qnn_state *s, const double *amps, qnn_error *err) {
    if (!amps) return qnn_error_set(err, QNN_EINVAL, "amplitudes are NULL");
    for (size_t i = 0; i < 2 * s->dim; i++)
        if (!isfinite(amps[i]))
            return qnn_error_set(err, QNN_EINVAL, "amplitude %zu is not finite", i / 2);
    memcpy(s->amp, amps, 16 * s->dim);
    return QNN_OK;
}

static double sumsq(const double *a, size_t dim) {
    double acc = 0, u1 = 0, u2 = 0, u3 = 0;
    DRED(PAR(dim), 2 * dim, i, acc, u1, u2, u3, { acc += a[i] * a[i]; });
    return acc + u1 + u2 + u3;
}

double qnn_state_norm(const qnn_state *s) { return sqrt(sumsq(s->amp, s->dim)); }

void qnn_state_scale(qnn_state *s, double re, double im) {
    double *a = s->amp;
    PFOR(PAR(s->dim), s->dim, i, {
        double r = a[2 * i], m = a[2 * i + 1];
        a[2 * i] = re * r - im * m;
        a[2 * i + 1] = re * m + im * r;
    });
}

int qnn_state_normalize(qnn_state *s, qnn_error *err) {
    double nrm = qnn_state_norm(s);
    if (!(nrm > 0) || !isfinite(nrm))
        return qnn_error_set(err, QNN_EINVAL, "cannot normalise a state of norm %g", nrm);
    double f = 1.0 / nrm;
    double *a = s->amp;
    PFOR(PAR(s->dim), 2 * s->dim, i, { a[i] *= f; });
    return QNN_OK;
}

int qnn_state_axpy(qnn_state *y, double re, double im, const qnn_state *x, qnn_error *err) {
    if (y->n != x->n)
        return qnn_error_set(err, QNN_EINVAL, "states have %d and %d qubits", y->n, x->n);
    double *a = y->amp;
    const double *b = x->amp;
    PFOR(PAR(y->dim), y->dim, i, {
        double br = b[2 * i], bi = b[2 * i + 1];
        a[2 * i] += re * br - im * bi;
        a[2 * i + 1] += re * bi + im * br;
    });
    return QNN_OK;
}

/* ------------------------------------------------------------------ kernels */
/* All kernels: positions pos[0..np-1] ascending include the target(s) and controls; the loop
 * runs over dim >> np base indices with zeros inserted, OR-ed with cmask (controls set). */

/* Two doubles = one complex amplitude (re, im); may_alias: the amplitude array is double[]. */
typedef double v2d __attribute__((vector_size(16), may_alias));
/* Two amplitudes per vector. */
typedef double v4d __attribute__((vector_size(32), may_alias));

/* (mr + i mi) * a for a = (re, im): mr*a + (-mi, mi) * swap(a) */
#define CMUL(mr, mnmi, a) ((mr) * (a) + (mnmi) * (v2d){(a)[1], (a)[0]})
#define SWAP2(x) ((v2d){(x)[1], (x)[0]})
#define SWAP4(x) ((v4d){(x)[1], (x)[0], (x)[3], (x)[2]})

/* States made by qnn_state_init are 64-byte aligned; others (caller-built views) may not be. */
#define ALIGNED32(p) ((((uintptr_t)(p)) & 31) == 0)

/* Kernels with arithmetic are built for AVX2 and baseline x86-64 (picked at load time) where
 * the compiler supports function multi-versioning. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define QNN_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define QNN_MULTIVERSION
#endif

/* Index plan shared by the kernels: the loop runs over cnt base indices; base i gets zeros
 * inserted at pos[0..np-1] (ascending) and the bits of `set` OR-ed in. When bit 0 is not among
 * the positions and the array is 32-byte aligned, the plan is "wide": indices count v4d units
 * (two adjacent amplitudes), positions and masks are shifted down by one. */
typedef struct plan {
    int np, wide;
    int pos[64];
    size_t cnt, set;
} plan;

static void make_plan(const qnn_state *s, uint64_t fixed, uint64_t set, plan *pl) {
    pl->np = mask_positions(fixed, pl->pos);
    pl->wide = pl->np > 0 && pl->pos[0] >= 1 && ALIGNED32(s->amp) && s->n >= 2;
    if (pl->wide) {
        for (int k = 0; k < pl->np; k++) pl->pos[k]--;
        pl->cnt = s->dim >> (pl->np + 1);
        pl->set = (size_t)(set >> 1);
    } else {
        pl->cnt = s->dim >> pl->np;
        pl->set = (size_t)set;
    }
}

#define PLAN_INDEX(pl, i) (ins0s((i), (pl).pos, (pl).np) | (pl).set)
#define UNIT(pl, bit) ((pl).wide ? (size_t)(bit) >> 1 : (size_t)(bit))

/* Dense 2x2 m on q for basis states with all cmask bits set. */
QNN_MULTIVERSION
static void k_dense1(qnn_state *s, int q, const double *m, uint64_t cmask) {
    plan pl;
    const size_t st = (size_t)1 << q;
    make_plan(s, cmask | st, cmask, &pl);
    const size_t u = UNIT(pl, st);
    const int par = PAR(s->dim);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        const v4d m00r = {m[0], m[0], m[0], m[0]}, m00i = {-m[1], m[1], -m[1], m[1]};
        const v4d m01r = {m[2], m[2], m[2], m[2]}, m01i = {-m[3], m[3], -m[3], m[3]};
        const v4d m10r = {m[4], m[4], m[4], m[4]}, m10i = {-m[5], m[5], -m[5], m[5]};
        const v4d m11r = {m[6], m[6], m[6], m[6]}, m11i = {-m[7], m[7], -m[7], m[7]};
        PFOR(par, pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v4d x = a[j0], y = a[j1], xs = SWAP4(x), ys = SWAP4(y);
            a[j0] = m00r * x + m00i * xs + m01r * y + m01i * ys;
            a[j1] = m10r * x + m10i * xs + m11r * y + m11i * ys;
        });
    } else {
        v2d *a = (v2d *)s->amp;
        const v2d m00r = {m[0], m[0]}, m00i = {-m[1], m[1]}, m01r = {m[2], m[2]},
                  m01i = {-m[3], m[3]};
        const v2d m10r = {m[4], m[4]}, m10i = {-m[5], m[5]}, m11r = {m[6], m[6]},
                  m11i = {-m[7], m[7]};
        PFOR(par, pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v2d x = a[j0], y = a[j1], xs = SWAP2(x), ys = SWAP2(y);
            a[j0] = m00r * x + m00i * xs + m01r * y + m01i * ys;
            a[j1] = m10r * x + m10i * xs + m11r * y + m11i * ys;
        });
    }
}

/* Real 2x2 [[p, q], [r, t]]. */
QNN_MULTIVERSION
static void k_real1(qnn_state *s, int q, double p, double qq, double r, double t, uint64_t cmask) {
    plan pl;
    const size_t st = (size_t)1 << q;
    make_plan(s, cmask | st, cmask, &pl);
    const size_t u = UNIT(pl, st);
    const int par = PAR(s->dim);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        const v4d vp = {p, p, p, p}, vq = {qq, qq, qq, qq}, vr = {r, r, r, r}, vt = {t, t, t, t};
        PFOR(par, pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v4d x = a[j0], y = a[j1];
            a[j0] = vp * x + vq * y;
            a[j1] = vr * x + vt * y;
        });
    } else {
        v2d *a = (v2d *)s->amp;
        const v2d vp = {p, p}, vq = {qq, qq}, vr = {r, r}, vt = {t, t};
        PFOR(par, pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v2d x = a[j0], y = a[j1];
            a[j0] = vp * x + vq * y;
            a[j1] = vr * x + vt * y;
        });
    }
}

/* X on q (controlled): swaps the two halves. */
static void k_x(qnn_state *s, int q, uint64_t cmask) {
    plan pl;
    const size_t st = (size_t)1 << q;
    make_plan(s, cmask | st, cmask, &pl);
    const size_t u = UNIT(pl, st);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v4d x = a[j0];
            a[j0] = a[j1];
            a[j1] = x;
        });
    } else {
        v2d *a = (v2d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v2d x = a[j0];
            a[j0] = a[j1];
            a[j1] = x;
        });
    }
}

/* Y on q (controlled): new0 = -i a1, new1 = i a0. */
static void k_y(qnn_state *s, int q, uint64_t cmask) {
    plan pl;
    const size_t st = (size_t)1 << q;
    make_plan(s, cmask | st, cmask, &pl);
    const size_t u = UNIT(pl, st);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        const v4d sg = {1, -1, 1, -1};
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v4d x = a[j0], y = a[j1];
            a[j0] = sg * SWAP4(y);  /* (bi, -br) */
            a[j1] = -sg * SWAP4(x); /* (-ai, ar) */
        });
    } else {
        v2d *a = (v2d *)s->amp;
        const v2d sg = {1, -1};
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
            v2d x = a[j0], y = a[j1];
            a[j0] = sg * SWAP2(y);
            a[j1] = -sg * SWAP2(x);
        });
    }
}

/* diag(d0, d1) on q (controlled by cmask); with d0 = 1 only the |1> half is touched. */
QNN_MULTIVERSION
static void k_diag1(qnn_state *s, int q, double d0r, double d0i, double d1r, double d1i,
                    uint64_t cmask) {
    plan pl;
    const size_t st = (size_t)1 << q;
    const int one0 = d0r == 1.0 && d0i == 0.0;
    const int neg1 = d1r == -1.0 && d1i == 0.0;
    /* with a unit d0, the loop runs over the |1> half only: q is a fixed, set bit */
    make_plan(s, cmask | st, one0 ? (cmask | st) : cmask, &pl);
    const size_t u = UNIT(pl, st);
    const int par = PAR(s->dim);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        const v4d r0 = {d0r, d0r, d0r, d0r}, i0 = {-d0i, d0i, -d0i, d0i};
        const v4d r1 = {d1r, d1r, d1r, d1r}, i1 = {-d1i, d1i, -d1i, d1i};
        if (one0 && neg1) {
            PFOR(par, pl.cnt, i, { size_t j = PLAN_INDEX(pl, i); a[j] = -a[j]; });
        } else if (one0) {
            PFOR(par, pl.cnt, i, {
                size_t j = PLAN_INDEX(pl, i);
                v4d y = a[j];
                a[j] = r1 * y + i1 * SWAP4(y);
            });
        } else {
            PFOR(par, pl.cnt, i, {
                size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
                v4d x = a[j0], y = a[j1];
                a[j0] = r0 * x + i0 * SWAP4(x);
                a[j1] = r1 * y + i1 * SWAP4(y);
            });
        }
    } else {
        v2d *a = (v2d *)s->amp;
        const v2d r0 = {d0r, d0r}, i0 = {-d0i, d0i}, r1 = {d1r, d1r}, i1 = {-d1i, d1i};
        if (one0 && neg1) {
            PFOR(par, pl.cnt, i, { size_t j = PLAN_INDEX(pl, i); a[j] = -a[j]; });
        } else if (one0) {
            PFOR(par, pl.cnt, i, {
                size_t j = PLAN_INDEX(pl, i);
                v2d y = a[j];
                a[j] = r1 * y + i1 * SWAP2(y);
            });
        } else {
            PFOR(par, pl.cnt, i, {
                size_t j0 = PLAN_INDEX(pl, i), j1 = j0 | u;
                v2d x = a[j0], y = a[j1];
                a[j0] = r0 * x + i0 * SWAP2(x);
                a[j1] = r1 * y + i1 * SWAP2(y);
            });
        }
    }
}

/* Phase -1 where all bits of mask are 1. */
static void k_mcz(qnn_state *s, uint64_t mask) {
    plan pl;
    make_plan(s, mask, mask, &pl);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, { size_t j = PLAN_INDEX(pl, i); a[j] = -a[j]; });
    } else {
        v2d *a = (v2d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, { size_t j = PLAN_INDEX(pl, i); a[j] = -a[j]; });
    }
}

static void k_swap(qnn_state *s, int qa, int qb) {
    plan pl;
    const size_t sa = (size_t)1 << qa, sb = (size_t)1 << qb;
    make_plan(s, sa | sb, 0, &pl);
    const size_t ua = UNIT(pl, sa), ub = UNIT(pl, sb);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t b = PLAN_INDEX(pl, i);
            v4d x = a[b | ua];
            a[b | ua] = a[b | ub];
            a[b | ub] = x;
        });
    } else {
        v2d *a = (v2d *)s->amp;
        PFOR(PAR(s->dim), pl.cnt, i, {
            size_t b = PLAN_INDEX(pl, i);
            v2d x = a[b | ua];
            a[b | ua] = a[b | ub];
            a[b | ub] = x;
        });
    }
}

/* Dense 4x4 on (q0, q1), matrix index bit 0 = q0. */
QNN_MULTIVERSION
static void k_dense2(qnn_state *s, int q0, int q1, const double *m) {
    plan pl;
    const size_t s0 = (size_t)1 << q0, s1 = (size_t)1 << q1;
    make_plan(s, s0 | s1, 0, &pl);
    const size_t u0 = UNIT(pl, s0), u1 = UNIT(pl, s1);
    const int par = PAR(s->dim);
    if (pl.wide) {
        v4d *a = (v4d *)s->amp;
        v4d mr[16], mi[16];
        for (int e = 0; e < 16; e++) {
            double re = m[2 * e], im = m[2 * e + 1];
            mr[e] = (v4d){re, re, re, re};
            mi[e] = (v4d){-im, im, -im, im};
        }
        PFOR(par, pl.cnt, i, {
            size_t b = PLAN_INDEX(pl, i);
            size_t idx[4] = {b, b | u0, b | u1, b | u0 | u1};
            v4d x[4], xs[4];
            for (int k = 0; k < 4; k++) {
                x[k] = a[idx[k]];
                xs[k] = SWAP4(x[k]);
            }
            for (int r = 0; r < 4; r++) {
                v4d acc = mr[4 * r] * x[0] + mi[4 * r] * xs[0];
                for (int c = 1; c < 4; c++) acc += mr[4 * r + c] * x[c] + mi[4 * r + c] * xs[c];
                a[idx[r]] = acc;
            }
        });
    } else {
        v2d *a = (v2d *)s->amp;
        v2d mr[16], mi[16];
        for (int e = 0; e < 16; e++) {
            double re = m[2 * e], im = m[2 * e + 1];
            mr[e] = (v2d){re, re};
            mi[e] = (v2d){-im, im};
        }
        PFOR(par, pl.cnt, i, {
            size_t b = PLAN_INDEX(pl, i);
            size_t idx[4] = {b, b | u0, b | u1, b | u0 | u1};
            v2d x[4], xs[4];
            for (int k = 0; k < 4; k++) {
                x[k] = a[idx[k]];
                xs[k] = SWAP2(x[k]);
            }
            for (int r = 0; r < 4; r++) {
                v2d acc = mr[4 * r] * x[0] + mi[4 * r] * xs[0];
                for (int c = 1; c < 4; c++) acc += mr[4 * r + c] * x[c] + mi[4 * r + c] * xs[c];
                a[idx[r]] = acc;
            }
        });
    }
}

static int k_densek(qnn_state *s, const int *q, int k, const double *m, qnn_error *err) {
    const size_t d = (size_t)1 << k;
    size_t *offs = (size_t *)malloc(d * sizeof *offs);
    if (!offs) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    for (size_t j = 0; j < d; j++) {
        size_t o = 0;
        for (int b = 0; b < k; b++)
            if ((j >> b) & 1) o |= (size_t)1 << q[b];
        offs[j] = o;
    }
    int pos[64];
    uint64_t mask = 0;
    for (int b = 0; b < k; b++) mask |= (uint64_t)1 << q[b];
    int np = mask_positions(mask, pos);
    double *a = s->amp;
    const int par = PAR(s->dim) && (s->dim >> k) >= 2;
    const size_t groups = s->dim >> k;
#pragma omp parallel if (par)
    {
        double buf[2 << QNN_GATE_MAX_UNITARY_QUBITS]; /* 16 KiB: one group of amplitudes */
#pragma omp for schedule(static)
        for (size_t i = 0; i < groups; i++) {
            size_t b = ins0s(i, pos, np);
            for (size_t j = 0; j < d; j++) {
                buf[2 * j] = a[2 * (b + offs[j])];
                buf[2 * j + 1] = a[2 * (b + offs[j]) + 1];
            }
            for (size_t r = 0; r < d; r++) {
                const double *row = m + 2 * r * d;
                double accr = 0, acci = 0;
                for (size_t c = 0; c < d; c++) {
                    accr += row[2 * c] * buf[2 * c] - row[2 * c + 1] * buf[2 * c + 1];
                    acci += row[2 * c] * buf[2 * c + 1] + row[2 * c + 1] * buf[2 * c];
                }
                a[2 * (b + offs[r])] = accr;
                a[2 * (b + offs[r]) + 1] = acci;
            }
        }
    }
    free(offs);
    return QNN_OK;
}

static inline size_t extract_bits(size_t x, const int *q, int k) {
    size_t sub = 0;
    for (int j = 0; j < k; j++) sub |= ((x >> q[j]) & 1) << j;
    return sub;
}

/* sin and cos of x (GCC turns the pair into one sincos call). */
static inline void fast_sincos(double x, double *sn, double *cs) {
    *sn = sin(x);
    *cs = cos(x);
}

/* e^{i sign*phi} multiplies (re, im) in place; phi = 0 fast. */
static inline void mul_phase_scalar(double *p, double phi, double sign) {
    if (phi == 0.0) return;
    if (phi == 3.14159265358979323846 || phi == -3.14159265358979323846) { /* e^{i pi} = -1 */
        p[0] = -p[0];
        p[1] = -p[1];
        return;
    }
    double c, s;
    fast_sincos(phi, &s, &c);
    s *= sign;
    double r = p[0], m = p[1];
    p[0] = c * r - s * m;
    p[1] = c * m + s * r;
}

/* Four sincos at once (for the full-register diagonal): Cody-Waite reduction by pi/2 with a
 * three-part constant (each part short enough that k * part is exact for |x| <= 1e5), Taylor
 * polynomials on [-pi/4, pi/4] (truncation < 1e-19), exact quadrant selection with bit masks.
 * Within ~1 ulp of libm (tested). Returns 0 (nothing computed) if a lane is out of range. */
typedef long long v4i __attribute__((vector_size(32), may_alias));

QNN_MULTIVERSION
static int sincos4(const double *x, v4d *sn, v4d *cs) {
    v4d v = {x[0], x[1], x[2], x[3]};
    for (int l = 0; l < 4; l++)
        if (!(fabs(v[l]) <= 1e5)) return 0;
    const v4d invpio2 = {0x1.45f306dc9c883p-1, 0x1.45f306dc9c883p-1, 0x1.45f306dc9c883p-1,
                         0x1.45f306dc9c883p-1};
    v4d t = v * invpio2;
    v4d k = {floor(t[0] + 0.5), floor(t[1] + 0.5), floor(t[2] + 0.5), floor(t[3] + 0.5)};
    const double p1 = 0x1.921fb544p+0, p2 = 0x1.0b4611a6p-34, p3 = 0x1.3198a2ep-69,
                 p3t = 0x1.b839a252049c1p-104;
    v4d r = ((v - k * p1) - k * p2) - k * p3;
    r -= k * p3t;
    v4d z = r * r;
    v4d ps = -1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (1.0 / 362880 +
             z * (-1.0 / 39916800 + z * (1.0 / 6227020800.0 + z * (-1.0 / 1307674368000.0 +
             z * (1.0 / 355687428096000.0)))))));
    v4d pc = -0.5 + z * (1.0 / 24 + z * (-1.0 / 720 + z * (1.0 / 40320 +
             z * (-1.0 / 3628800 + z * (1.0 / 479001600 + z * (-1.0 / 87178291200.0 +
             z * (1.0 / 20922789888000.0 + z * (-1.0 / 6402373705728000.0))))))));
    v4d sr = r + r * z * ps, cr = 1.0 + z * pc;
    v4i ki = {(long long)k[0], (long long)k[1], (long long)k[2], (long long)k[3]};
    v4i odd = -(ki & 1);                            /* all ones where the quadrant is odd */
    v4i sgn_s = (ki & 2) << 62;                     /* sign bit where sin flips */
    v4i sgn_c = ((ki + 1) & 2) << 62;               /* cos flips in quadrants 1, 2 */
    v4i si = ((v4i)sr & ~odd) | ((v4i)cr & odd);
    v4i ci = ((v4i)cr & ~odd) | ((v4i)sr & odd);
    *sn = (v4d)(si ^ sgn_s);
    *cs = (v4d)(ci ^ sgn_c);
    return 1;
}

/* a[x] *= e^{i sign phases[x]} for x in [x0, x0 + 4) (x0 multiple of 4, 32-byte aligned a). */
QNN_MULTIVERSION
static void phase_block4(double *a, const double *phases, size_t x0, double sign) {
    const double *p = phases + x0;
    if (p[0] == 0.0 && p[1] == 0.0 && p[2] == 0.0 && p[3] == 0.0) return; /* oracles */
    const double pi = 3.14159265358979323846;
    if ((p[0] == 0.0 || p[0] == pi) && (p[1] == 0.0 || p[1] == pi) && (p[2] == 0.0 || p[2] == pi) &&
        (p[3] == 0.0 || p[3] == pi)) {
        for (size_t x = x0; x < x0 + 4; x++) mul_phase_scalar(a + 2 * x, phases[x], sign);
        return;
    }
    v4d sn, cs;
    if (!sincos4(p, &sn, &cs)) {
        for (size_t x = x0; x < x0 + 4; x++) mul_phase_scalar(a + 2 * x, phases[x], sign);
        return;
    }
    sn *= sign;
    v4d *a4 = (v4d *)a + x0 / 2;
    for (int h = 0; h < 2; h++) {
        v4d c = {cs[2 * h], cs[2 * h], cs[2 * h + 1], cs[2 * h + 1]};
        v4d m = {-sn[2 * h], sn[2 * h], -sn[2 * h + 1], sn[2 * h + 1]};
        v4d y = a4[h];
        a4[h] = c * y + m * SWAP4(y);
    }
}

/* amplitude x *= e^{i sign phases[x]} over the whole register */
static void full_diagonal(qnn_state *s, const double *phases, double sign) {
    double *a = s->amp;
    if (s->dim >= 4 && ALIGNED32(a)) {
        PFOR(PAR(s->dim), s->dim >> 2, j, { phase_block4(a, phases, 4 * j, sign); });
    } else {
        PFOR(PAR(s->dim), s->dim, x, { mul_phase_scalar(a + 2 * x, phases[x], sign); });
    }
}

void qnn_sincos(double x, double *sn, double *cs) { fast_sincos(x, sn, cs); }


static int k_diag_sub(qnn_state *s, const int *q, int k, const double *phases, double sign,
                      qnn_error *err) {
    double *a = s->amp;
    const int par = PAR(s->dim);
    if (k <= 12) {
        size_t d = (size_t)1 << k;
        double *f = (double *)malloc(2 * d * sizeof(double));
        if (!f) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        for (size_t j = 0; j < d; j++) {
            double c, sn;
            fast_sincos(phases[j], &sn, &c);
            f[2 * j] = c;
            f[2 * j + 1] = sign * sn;
        }
        PFOR(par, s->dim, x, {
            size_t j = extract_bits(x, q, k);
            double c = f[2 * j], sn = f[2 * j + 1], r = a[2 * x], m = a[2 * x + 1];
            a[2 * x] = c * r - sn * m;
            a[2 * x + 1] = c * m + sn * r;
        });
        free(f);
        return QNN_OK;
    }
    int ident = 1;
    for (int j = 0; j < k; j++) ident &= q[j] == j;
    if (ident && k == s->n) {
        full_diagonal(s, phases, sign);
    } else {
        PFOR(par, s->dim, x, { mul_phase_scalar(a + 2 * x, phases[extract_bits(x, q, k)], sign); });
    }
    return QNN_OK;
}


/* ------------------------------------------------------------------ public gate API */
static int check_qubit(const qnn_state *s, int q, const char *what, qnn_error *err) {
    if (q < 0 || q >= s->n)
        return qnn_error_set(err, QNN_ERANGE, "%s: qubit %d out of range [0, %d]", what, q,
                             s->n - 1);
    return QNN_OK;
}

int qnn_state_apply_1q(qnn_state *s, int q, const double *m, uint64_t ctrl_mask, qnn_error *err) {
    int rc = check_qubit(s, q, "apply_1q", err);
    if (rc) return rc;
    if (!m) return qnn_error_set(err, QNN_EINVAL, "apply_1q: matrix is NULL");
    if ((ctrl_mask >> q) & 1)
        return qnn_error_set(err, QNN_EINVAL, "apply_1q: target %d is also a control", q);
    if (s->n < 64 && (ctrl_mask >> s->n) != 0)
        return qnn_error_set(err, QNN_ERANGE, "apply_1q: control mask has qubits >= %d", s->n);
    k_dense1(s, q, m, ctrl_mask);
    return QNN_OK;
}

int qnn_state_apply_2q(qnn_state *s, int q0, int q1, const double *m, qnn_error *err) {
    int rc = check_qubit(s, q0, "apply_2q", err);
    if (!rc) rc = check_qubit(s, q1, "apply_2q", err);
    if (rc) return rc;
    if (q0 == q1) return qnn_error_set(err, QNN_EINVAL, "apply_2q: duplicate qubit %d", q0);
    if (!m) return qnn_error_set(err, QNN_EINVAL, "apply_2q: matrix is NULL");
    k_dense2(s, q0, q1, m);
    return QNN_OK;
}

static int check_list(const qnn_state *s, const int *q, int k, int kmax, const char *what,
                      qnn_error *err) {
    if (k < 1 || k > kmax || k > s->n)
        return qnn_error_set(err, QNN_EINVAL, "%s: number of qubits must be in [1, %d], got %d",
                             what, kmax < s->n ? kmax : s->n, k);
    if (!q) return qnn_error_set(err, QNN_EINVAL, "%s: qubit list is NULL", what);
    for (int i = 0; i < k; i++) {
        int rc = check_qubit(s, q[i], what, err);
        if (rc) return rc;
        for (int j = 0; j < i; j++)
            if (q[j] == q[i])
                return qnn_error_set(err, QNN_EINVAL, "%s: duplicate qubit %d", what, q[i]);
    }
    return QNN_OK;
}

int qnn_state_apply_kq(qnn_state *s, const int *q, int k, const double *m, qnn_error *err) {
    int rc = check_list(s, q, k, QNN_GATE_MAX_UNITARY_QUBITS, "apply_kq", err);
    if (rc) return rc;
    if (!m) return qnn_error_set(err, QNN_EINVAL, "apply_kq: matrix is NULL");
    if (k == 1) {
        k_dense1(s, q[0], m, 0);
        return QNN_OK;
    }
    if (k == 2) {
        k_dense2(s, q[0], q[1], m);
        return QNN_OK;
    }
    return k_densek(s, q, k, m, err);
}

int qnn_state_apply_diagonal(qnn_state *s, const double *phases, qnn_error *err) {
    if (!phases) return qnn_error_set(err, QNN_EINVAL, "diagonal: phases are NULL");
    full_diagonal(s, phases, 1.0);
    return QNN_OK;
}

int qnn_state_apply_diagonal_sub(qnn_state *s, const int *q, int k, const double *phases,
                                 qnn_error *err) {
    int rc = check_list(s, q, k, 64, "diagonal", err);
    if (rc) return rc;
    if (!phases) return qnn_error_set(err, QNN_EINVAL, "diagonal: phases are NULL");
    return k_diag_sub(s, q, k, phases, 1.0, err);
}

int qnn_state_apply_phase_fn(qnn_state *s, qnn_phase_fn fn, void *ud, qnn_error *err) {
    if (!fn) return qnn_error_set(err, QNN_EINVAL, "phase function is NULL");
    for (size_t x = 0; x < s->dim; x++) {
        double phi = fn(ud, x);
        if (!isfinite(phi))
            return qnn_error_set(err, QNN_EINVAL, "phase of basis state %zu is not finite", x);
        mul_phase_scalar(s->amp + 2 * x, phi, 1.0);
    }
    return QNN_OK;
}

int qnn_state_apply_mcx(qnn_state *s, const int *controls, int nc, int target, qnn_error *err) {
    int rc = check_qubit(s, target, "mcx", err);
    if (rc) return rc;
    if (nc < 0 || nc >= s->n)
        return qnn_error_set(err, QNN_EINVAL, "mcx: number of controls must be in [0, %d], got %d",
                             s->n - 1, nc);
    uint64_t mask = 0;
    for (int i = 0; i < nc; i++) {
        rc = check_qubit(s, controls[i], "mcx", err);
        if (rc) return rc;
        uint64_t b = (uint64_t)1 << controls[i];
        if ((mask & b) || controls[i] == target)
            return qnn_error_set(err, QNN_EINVAL, "mcx: duplicate qubit %d", controls[i]);
        mask |= b;
    }
    k_x(s, target, mask);
    return QNN_OK;
}

int qnn_state_apply_mcz(qnn_state *s, const int *q, int k, qnn_error *err) {
    int rc = check_list(s, q, k, 64, "mcz", err);
    if (rc) return rc;
    uint64_t mask = 0;
    for (int i = 0; i < k; i++) mask |= (uint64_t)1 << q[i];
    k_mcz(s, mask);
    return QNN_OK;
}

static int apply_checked(qnn_state *s, qnn_gate_kind kind, const int *q, int nq, const double *p,
                         double dsign, qnn_error *err) {
    const double r2 = 0.70710678118654752440;
    double m[32];
    switch (kind) {
    case QNN_G_H: k_real1(s, q[0], r2, r2, r2, -r2, 0); break;
    case QNN_G_X: k_x(s, q[0], 0); break;
    case QNN_G_Y: k_y(s, q[0], 0); break;
    case QNN_G_Z: k_diag1(s, q[0], 1, 0, -1, 0, 0); break;
    case QNN_G_S: k_diag1(s, q[0], 1, 0, 0, 1, 0); break;
    case QNN_G_SDG: k_diag1(s, q[0], 1, 0, 0, -1, 0); break;
    case QNN_G_T: k_diag1(s, q[0], 1, 0, r2, r2, 0); break;
    case QNN_G_TDG: k_diag1(s, q[0], 1, 0, r2, -r2, 0); break;
    case QNN_G_ID: break;
    case QNN_G_RY: {
        double c = cos(p[0] / 2), sn = sin(p[0] / 2);
        k_real1(s, q[0], c, -sn, sn, c, 0);
        break;
    }
    case QNN_G_RZ: {
        double c = cos(p[0] / 2), sn = sin(p[0] / 2);
        k_diag1(s, q[0], c, -sn, c, sn, 0);
        break;
    }
    case QNN_G_PHASE: k_diag1(s, q[0], 1, 0, cos(p[0]), sin(p[0]), 0); break;
    case QNN_G_SX: case QNN_G_SXDG: case QNN_G_RX: case QNN_G_U3:
        qnn_gate_matrix(kind, p, m);
        k_dense1(s, q[0], m, 0);
        break;
    case QNN_G_CX: k_x(s, q[1], (uint64_t)1 << q[0]); break;
    case QNN_G_CY: k_y(s, q[1], (uint64_t)1 << q[0]); break;
    case QNN_G_CZ: k_diag1(s, q[1], 1, 0, -1, 0, (uint64_t)1 << q[0]); break;
    case QNN_G_SWAP: k_swap(s, q[0], q[1]); break;
    case QNN_G_CRX:
        qnn_gate_matrix(QNN_G_RX, p, m);
        k_dense1(s, q[1], m, (uint64_t)1 << q[0]);
        break;
    case QNN_G_CRY: {
        double c = cos(p[0] / 2), sn = sin(p[0] / 2);
        k_real1(s, q[1], c, -sn, sn, c, (uint64_t)1 << q[0]);
        break;
    }
    case QNN_G_CRZ: {
        double c = cos(p[0] / 2), sn = sin(p[0] / 2);
        k_diag1(s, q[1], c, -sn, c, sn, (uint64_t)1 << q[0]);
        break;
    }
    case QNN_G_CPHASE: k_diag1(s, q[1], 1, 0, cos(p[0]), sin(p[0]), (uint64_t)1 << q[0]); break;
    case QNN_G_RZZ: {
        double ph[4] = {-p[0] / 2, p[0] / 2, p[0] / 2, -p[0] / 2};
        return k_diag_sub(s, q, 2, ph, 1.0, err);
    }
    case QNN_G_RXX: case QNN_G_RYY: case QNN_G_RZY:
        qnn_gate_matrix(kind, p, m);
        k_dense2(s, q[0], q[1], m);
        break;
    case QNN_G_MCX: {
        uint64_t mask = 0;
        for (int i = 0; i < nq - 1; i++) mask |= (uint64_t)1 << q[i];
        k_x(s, q[nq - 1], mask);
        break;
    }
    case QNN_G_MCZ: {
        uint64_t mask = 0;
        for (int i = 0; i < nq; i++) mask |= (uint64_t)1 << q[i];
        k_mcz(s, mask);
        break;
    }
    case QNN_G_UNITARY:
        if (nq == 1) k_dense1(s, q[0], p, 0);
        else if (nq == 2) k_dense2(s, q[0], q[1], p);
        else return k_densek(s, q, nq, p, err);
        break;
    case QNN_G_DIAGONAL: return k_diag_sub(s, q, nq, p, dsign, err);
    default: return qnn_error_set(err, QNN_EINVAL, "unknown gate kind %d", (int)kind);
    }
    return QNN_OK;
}

int qnn_state_apply_gate(qnn_state *s, qnn_gate_kind kind, const int *qubits, int nq,
                         const double *params, qnn_error *err) {
    if (!s || !s->amp) return qnn_error_set(err, QNN_EINVAL, "state is NULL");
    int rc = qnn_gate_check(kind, qubits, nq, s->n, params, err);
    if (rc) return rc;
    return apply_checked(s, kind, qubits, nq, params, 1.0, err);
}

int qnn_state_apply_gate_inv(qnn_state *s, qnn_gate_kind kind, const int *qubits, int nq,
                             const double *params, qnn_error *err) {
    if (!s || !s->amp) return qnn_error_set(err, QNN_EINVAL, "state is NULL");
    int rc = qnn_gate_check(kind, qubits, nq, s->n, params, err);
    if (rc) return rc;
    if (kind == QNN_G_DIAGONAL) return apply_checked(s, kind, qubits, nq, params, -1.0, err);
    if (kind == QNN_G_UNITARY) {
        size_t d = (size_t)1 << nq;
        double *md = (double *)malloc(2 * d * d * sizeof(double));
        if (!md) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        qnn_matrix_dagger(params, d, md);
        rc = apply_checked(s, kind, qubits, nq, md, 1.0, err);
        free(md);
        return rc;
    }
    qnn_gate_kind ik;
    double ip[QNN_GATE_MAX_PARAMS] = {0, 0, 0};
    qnn_gate_inverse(kind, params, &ik, ip);
    return apply_checked(s, ik, qubits, nq, ip, 1.0, err);
}

/* ------------------------------------------------------------------ Pauli operators */
int qnn_pauli_parse(const char *str, int n, qnn_pauli_term *t, qnn_error *err) {
    if (!str || !t) return qnn_error_set(err, QNN_EINVAL, "Pauli string is NULL");
    size_t len = strlen(str);
    if (len != (size_t)n)
        return qnn_error_set(err, QNN_EINVAL,
                             "Pauli string \"%.40s\" has length %zu, must have one character per "
                             "qubit (%d)", str, len, n);
    t->coef = 1.0;
    t->x = t->z = 0;
    for (int k = 0; k < n; k++) {
        uint64_t b = (uint64_t)1 << k;
        switch (str[k]) {
        case 'I': case 'i': break;
        case 'X': case 'x': t->x |= b; break;
        case 'Y': case 'y': t->x |= b; t->z |= b; break;
        case 'Z': case 'z': t->z |= b; break;
        default:
            return qnn_error_set(err, QNN_EINVAL,
                                 "Pauli string \"%.40s\": character %d ('%c') must be I, X, Y or Z",
                                 str, k + 1, str[k]);
        }
    }
    return QNN_OK;
}

/* coef * i^{ny} as (re, im) */
static void term_base(const qnn_pauli_term *t, double *br, double *bi) {
    int ny = __builtin_popcountll(t->x & t->z) & 3;
    double c = t->coef;
    switch (ny) {
    case 0: *br = c; *bi = 0; break;
    case 1: *br = 0; *bi = c; break;
    case 2: *br = -c; *bi = 0; break;
    default: *br = 0; *bi = -c; break;
    }
}

static inline double zsign(size_t x, uint64_t z) {
    return (__builtin_popcountll((uint64_t)x & z) & 1) ? -1.0 : 1.0;
}

void qnn_state_apply_pauli(qnn_state *s, const qnn_pauli_term *t) {
    double br, bi;
    term_base(t, &br, &bi);
    double *a = s->amp;
    const uint64_t xm = t->x, zm = t->z;
    const int par = PAR(s->dim);
    if (xm == 0) {
        PFOR(par, s->dim, x, {
            double sg = zsign(x, zm), pr = sg * br, pi = sg * bi;
            double r = a[2 * x], m = a[2 * x + 1];
            a[2 * x] = pr * r - pi * m;
            a[2 * x + 1] = pr * m + pi * r;
        });
        return;
    }
    int hb = 63 - __builtin_clzll(xm);
    PFOR(par, s->dim >> 1, i, {
        size_t x = ins0(i, hb), y = x ^ (size_t)xm;
        double sx = zsign(x, zm), sy = zsign(y, zm);
        double xr = a[2 * x], xi = a[2 * x + 1], yr = a[2 * y], yi = a[2 * y + 1];
        /* new[y] = ph(x) a[x], new[x] = ph(y) a[y] */
        a[2 * y] = sx * (br * xr - bi * xi);
        a[2 * y + 1] = sx * (br * xi + bi * xr);
        a[2 * x] = sy * (br * yr - bi * yi);
        a[2 * x + 1] = sy * (br * yi + bi * yr);
    });
}

int qnn_state_apply_observable(qnn_state *out, const qnn_state *in, const qnn_pauli_term *t,
                               int nt, qnn_error *err) {
    if (!out || !in || out == in || out->amp == in->amp)
        return qnn_error_set(err, QNN_EINVAL, "apply_observable: out and in must be distinct");
    if (out->n != in->n)
        return qnn_error_set(err, QNN_EINVAL, "states have %d and %d qubits", out->n, in->n);
    if (nt < 0 || (nt > 0 && !t)) return qnn_error_set(err, QNN_EINVAL, "bad term list");
    for (int k = 0; k < nt; k++)
        if (in->n < 64 && ((t[k].x | t[k].z) >> in->n) != 0)
            return qnn_error_set(err, QNN_ERANGE, "term %d acts on qubits >= %d", k + 1, in->n);
    double *o = out->amp;
    const double *a = in->amp;
    const int par = PAR(in->dim);
    memset(o, 0, 16 * out->dim);
    for (int k = 0; k < nt; k++) {
        double br, bi;
        term_base(&t[k], &br, &bi);
        const uint64_t xm = t[k].x, zm = t[k].z;
        PFOR(par, in->dim, x, {
            size_t y = x ^ (size_t)xm;
            double sg = zsign(x, zm), r = a[2 * x], m = a[2 * x + 1];
            o[2 * y] += sg * (br * r - bi * m);
            o[2 * y + 1] += sg * (br * m + bi * r);
        });
    }
    return QNN_OK;
}

double qnn_state_expect(const qnn_state *s, const qnn_pauli_term *t, int nt) {
    double total = 0;
    const double *a = s->amp;
    const int par = PAR(s->dim);
    for (int k = 0; k < nt; k++) {
        double br, bi;
        term_base(&t[k], &br, &bi);
        const uint64_t xm = t[k].x, zm = t[k].z;
        double accr = 0, acci = 0, u2 = 0, u3 = 0;
        /* sum_x conj(a[x^xm]) * zsign(x) * a[x]; then times (br + i bi), real part */
        DRED(par, s->dim, x, accr, acci, u2, u3, {
            size_t y = x ^ (size_t)xm;
            double sg = zsign(x, zm);
            double yr = a[2 * y], yi = a[2 * y + 1], xr = a[2 * x], xi = a[2 * x + 1];
            accr += sg * (yr * xr + yi * xi);
            acci += sg * (yr * xi - yi * xr);
        });
        total += br * accr - bi * acci;
    }
    return total;
}

int qnn_state_inner(const qnn_state *a, const qnn_state *b, double *re, double *im,
                    qnn_error *err) {
    *re = 0;
    *im = 0;
    if (a->n != b->n)
        return qnn_error_set(err, QNN_EINVAL, "states have %d and %d qubits", a->n, b->n);
    const double *x = a->amp, *y = b->amp;
    double accr = 0, acci = 0, u2 = 0, u3 = 0;
    DRED(PAR(a->dim), a->dim, i, accr, acci, u2, u3, {
        accr += x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1];
        acci += x[2 * i] * y[2 * i + 1] - x[2 * i + 1] * y[2 * i];
    });
    *re = accr;
    *im = acci;
    return QNN_OK;
}

/* ------------------------------------------------------------------ read-out */
void qnn_state_probs(const qnn_state *s, double *out) {
    const double *a = s->amp;
    PFOR(PAR(s->dim), s->dim, x, { out[x] = a[2 * x] * a[2 * x] + a[2 * x + 1] * a[2 * x + 1]; });
}

double qnn_state_prob(const qnn_state *s, size_t x) {
    if (x >= s->dim) return 0.0;
    return s->amp[2 * x] * s->amp[2 * x] + s->amp[2 * x + 1] * s->amp[2 * x + 1];
}

int qnn_state_marginal(const qnn_state *s, const int *q, int k, double *out, qnn_error *err) {
    int rc = check_list(s, q, k, s->n, "marginal", err);
    if (rc) return rc;
    if (!out) return qnn_error_set(err, QNN_EINVAL, "marginal: output is NULL");
    const size_t d = (size_t)1 << k;
    const double *a = s->amp;
    memset(out, 0, d * sizeof(double));
    enum { MCH = 16 };
    double *part = (PAR(s->dim) && d <= 4096) ? (double *)calloc(MCH * d, sizeof(double)) : NULL;
    if (part) {
        const size_t dim = s->dim;
#pragma omp parallel for schedule(static)
        for (int c = 0; c < MCH; c++) {
            double *loc = part + (size_t)c * d;
            for (size_t x = dim * (size_t)c / MCH; x < dim * (size_t)(c + 1) / MCH; x++)
                loc[extract_bits(x, q, k)] += a[2 * x] * a[2 * x] + a[2 * x + 1] * a[2 * x + 1];
        }
        for (int c = 0; c < MCH; c++)
            for (size_t j = 0; j < d; j++) out[j] += part[(size_t)c * d + j];
        free(part);
    } else {
        for (size_t x = 0; x < s->dim; x++)
            out[extract_bits(x, q, k)] += a[2 * x] * a[2 * x] + a[2 * x + 1] * a[2 * x + 1];
    }
    return QNN_OK;
}

double qnn_state_prob1(const qnn_state *s, int q) {
    if (q < 0 || q >= s->n) return 0.0;
    const double *a = s->amp;
    const size_t st = (size_t)1 << q;
    double acc = 0, u1 = 0, u2 = 0, u3 = 0;
    DRED(PAR(s->dim), s->dim >> 1, i, acc, u1, u2, u3, {
        size_t x = ins0(i, q) | st;
        acc += a[2 * x] * a[2 * x] + a[2 * x + 1] * a[2 * x + 1];
    });
    return acc;
}

int qnn_state_collapse(qnn_state *s, int q, int outcome, double *p, qnn_error *err) {
    int rc = check_qubit(s, q, "collapse", err);
    if (rc) return rc;
    if (outcome != 0 && outcome != 1)
        return qnn_error_set(err, QNN_EINVAL, "collapse: outcome must be 0 or 1, got %d", outcome);
    double p1 = qnn_state_prob1(s, q);
    double tot = qnn_state_norm(s);
    tot *= tot;
    double pk = outcome ? p1 : tot - p1;
    if (pk < 0) pk = 0;
    if (p) *p = tot > 0 ? pk / tot : 0;
    if (!(pk > 0))
        return qnn_error_set(err, QNN_EINVAL, "collapse: outcome %d of qubit %d has probability 0",
                             outcome, q);
    double f = 1.0 / sqrt(pk);
    double *a = s->amp;
    const size_t st = (size_t)1 << q;
    PFOR(PAR(s->dim), s->dim >> 1, i, {
        size_t x0 = ins0(i, q), x1 = x0 | st;
        size_t keep = outcome ? x1 : x0, drop = outcome ? x0 : x1;
        a[2 * keep] *= f;
        a[2 * keep + 1] *= f;
        a[2 * drop] = 0;
        a[2 * drop + 1] = 0;
    });
    return QNN_OK;
}

int qnn_state_measure(qnn_state *s, int q, qnn_rng *rng, int *outcome, qnn_error *err) {
    int rc = check_qubit(s, q, "measure", err);
    if (rc) return rc;
    if (!rng) return qnn_error_set(err, QNN_EINVAL, "measure: rng is NULL");
    double p1 = qnn_state_prob1(s, q);
    double tot = qnn_state_norm(s);
    tot *= tot;
    if (!(tot > 0)) return qnn_error_set(err, QNN_EINVAL, "measure: state has norm 0");
    int o = qnn_rng_uniform(rng) * tot < p1 ? 1 : 0;
    rc = qnn_state_collapse(s, q, o, NULL, err);
    if (rc) return rc;
    if (outcome) *outcome = o;
    return QNN_OK;
}

int qnn_state_reset_qubit(qnn_state *s, int q, qnn_rng *rng, int *outcome, qnn_error *err) {
    int o = 0;
    int rc = qnn_state_measure(s, q, rng, &o, err);
    if (rc) return rc;
    if (o) k_x(s, q, 0);
    if (outcome) *outcome = o;
    return QNN_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void shuffle_u64(qnn_rng *rng, uint64_t *v, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)qnn_rng_below(rng, i);
        uint64_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Cumulative sampling: `prob(i)` gives entry i of m; uses a sorted sweep (no table). */
typedef double (*prob_at_fn)(const void *ud, size_t i);

static int sample_sweep(prob_at_fn prob_at, const void *ud, size_t m, double total, size_t shots,
                        qnn_rng *rng, uint64_t *out, qnn_error *err) {
    double *u = (double *)malloc(shots * sizeof(double));
    if (!u) return qnn_error_set(err, QNN_ENOMEM, "sample: out of memory for %zu shots", shots);
    for (size_t i = 0; i < shots; i++) u[i] = qnn_rng_uniform(rng) * total;
    qsort(u, shots, sizeof(double), cmp_double);
    double cum = 0;
    size_t j = 0, last = 0;
    for (size_t i = 0; i < m && j < shots; i++) {
        double p = prob_at(ud, i);
        if (p > 0) last = i;
        cum += p;
        while (j < shots && u[j] < cum) out[j++] = i;
    }
    while (j < shots) out[j++] = last; /* rounding at the very end */
    free(u);
    shuffle_u64(rng, out, shots);
    return QNN_OK;
}

static double prob_from_array(const void *ud, size_t i) { return ((const double *)ud)[i]; }
static double prob_from_state(const void *ud, size_t i) {
    const double *a = ((const qnn_state *)ud)->amp;
    return a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
}

int qnn_sample_probs(const double *p, size_t m, size_t shots, qnn_rng *rng, uint64_t *out,
                     qnn_error *err) {
    if (!p || !out || !rng || m == 0) return qnn_error_set(err, QNN_EINVAL, "sample: bad arguments");
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "sample: shots must be >= 1");
    double total = 0;
    for (size_t i = 0; i < m; i++) {
        if (!(p[i] >= 0) || !isfinite(p[i]))
            return qnn_error_set(err, QNN_EINVAL, "sample: probability %zu is %g", i, p[i]);
        total += p[i];
    }
    if (!(total > 0)) return qnn_error_set(err, QNN_EINVAL, "sample: probabilities sum to 0");
    if (shots * 4 < m) return sample_sweep(prob_from_array, p, m, total, shots, rng, out, err);
    /* cumulative table + binary search */
    double *cum = (double *)malloc(m * sizeof(double));
    if (!cum) return qnn_error_set(err, QNN_ENOMEM, "sample: out of memory");
    double c = 0;
    for (size_t i = 0; i < m; i++) cum[i] = (c += p[i]);
    for (size_t k = 0; k < shots; k++) {
        double u = qnn_rng_uniform(rng) * c;
        size_t lo = 0, hi = m - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cum[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        while (lo > 0 && p[lo] == 0) lo--; /* only if u hit the rounding edge */
        out[k] = lo;
    }
    free(cum);
    return QNN_OK;
}

int qnn_state_sample(const qnn_state *s, size_t shots, const int *q, int k, qnn_rng *rng,
                     uint64_t *out, qnn_error *err) {
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "sample: shots must be >= 1");
    if (!rng || !out) return qnn_error_set(err, QNN_EINVAL, "sample: rng/out is NULL");
    int all = (q == NULL || k == 0);
    if (!all) {
        int rc = check_list(s, q, k, s->n, "sample", err);
        if (rc) return rc;
        int ident = k == s->n;
        for (int j = 0; j < k && ident; j++) ident = q[j] == j;
        all = ident;
    }
    if (all) {
        double total = sumsq(s->amp, s->dim);
        if (!(total > 0)) return qnn_error_set(err, QNN_EINVAL, "sample: state has norm 0");
        if (shots * 4 < s->dim)
            return sample_sweep(prob_from_state, s, s->dim, total, shots, rng, out, err);
        double *p = (double *)malloc(s->dim * sizeof(double));
        if (!p) return sample_sweep(prob_from_state, s, s->dim, total, shots, rng, out, err);
        qnn_state_probs(s, p);
        int rc = qnn_sample_probs(p, s->dim, shots, rng, out, err);
        free(p);
        return rc;
    }
    size_t d = (size_t)1 << k;
    double *p = (double *)malloc(d * sizeof(double));
    if (!p) return qnn_error_set(err, QNN_ENOMEM, "sample: out of memory");
    int rc = qnn_state_marginal(s, q, k, p, err);
    if (!rc) rc = qnn_sample_probs(p, d, shots, rng, out, err);
    free(p);
    return rc;
}

/* ------------------------------------------------------------------ trajectories */
int qnn_state_kraus1(qnn_state *s, int q, const double *kraus, int nk, qnn_rng *rng, int *chosen,
                     qnn_error *err) {
    int rc = check_qubit(s, q, "kraus1", err);
    if (rc) return rc;
    if (!kraus || nk < 1 || nk > 64 || !rng)
        return qnn_error_set(err, QNN_EINVAL, "kraus1: need 1..64 Kraus matrices and an rng");
    /* reduced density matrix of qubit q */
    const double *a = s->amp;
    const size_t st = (size_t)1 << q;
    double r00 = 0, r11 = 0, r01r = 0, r01i = 0;
    DRED(PAR(s->dim), s->dim >> 1, i, r00, r11, r01r, r01i, {
        size_t x0 = ins0(i, q), x1 = x0 | st;
        double ar = a[2 * x0], ai = a[2 * x0 + 1], br = a[2 * x1], bi = a[2 * x1 + 1];
        r00 += ar * ar + ai * ai;
        r11 += br * br + bi * bi;
        r01r += ar * br + ai * bi; /* a0 conj(a1) */
        r01i += ai * br - ar * bi;
    });
    double pj[64], total = 0;
    for (int j = 0; j < nk; j++) {
        const double *K = kraus + 8 * j;
        double p = 0;
        for (int r = 0; r < 2; r++) {
            double k0r = K[4 * r], k0i = K[4 * r + 1], k1r = K[4 * r + 2], k1i = K[4 * r + 3];
            /* |k0|^2 r00 + |k1|^2 r11 + 2 Re(k0 r01 conj(k1)) */
            double tr = k0r * r01r - k0i * r01i, ti = k0r * r01i + k0i * r01r;
            p += (k0r * k0r + k0i * k0i) * r00 + (k1r * k1r + k1i * k1i) * r11 +
                 2 * (tr * k1r + ti * k1i);
        }
        pj[j] = p > 0 ? p : 0;
        total += pj[j];
    }
    if (!(total > 0)) return qnn_error_set(err, QNN_EINVAL, "kraus1: all outcomes have probability 0");
    double u = qnn_rng_uniform(rng) * total, cum = 0;
    int pick = -1;
    for (int j = 0; j < nk; j++) {
        cum += pj[j];
        if (pj[j] > 0) pick = j;
        if (u < cum && pj[j] > 0) break;
    }
    double m[8], f = 1.0 / sqrt(pj[pick]);
    for (int i = 0; i < 8; i++) m[i] = kraus[8 * pick + i] * f;
    k_dense1(s, q, m, 0);
    if (chosen) *chosen = pick;
    return QNN_OK;
}
