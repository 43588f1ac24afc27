/* Stochastic qubit activation layer (natural quantization). Physics and conventions: see
 * include/qnn/qubit_act.h. */
#include "fastmath.h"
#include "qnn/qubit_act.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define QACT_PI 3.14159265358979323846
#define QACT_PI_4 0.78539816339744830962

typedef struct qact_state {
    qnn_qact_params p;
    int readout;      /* QNN_QACT_READ_* (eval mode only) */
    int keep_probs;   /* store P(+1) of every forward */
    int linked;       /* a later shared-register layer reads this layer's register */
    size_t back;      /* distance to the previous qubit layer (0 = none / fresh) */
    size_t n;         /* width */
    size_t cap;       /* rows the buffers hold */
    size_t rows;      /* rows of the last forward */
    double *v0, *v1, *res; /* cap x n: post-measurement amplitudes and outcomes */
    double *pplus;    /* cap x n when keep_probs */
    double *u;        /* n uniforms */
    double *un;       /* n uniforms for the noise (picks the Pauli of each neuron) */
    /* shot cache of the first qubit layer during qnn_qact_predict: 0 off, 1 fill on the next
     * forward, 2 use. cp = P(+1), c{0,1}{p,m} = post amplitudes for d = +1 / -1 (cap x n) */
    int cache_mode;
    double *cp, *c0p, *c1p, *c0m, *c1m;
} qact_state;

/* ---------------- parameters ---------------- */
void qnn_qact_defaults(qnn_qact_params *p) {
    p->a = 0.0;
    p->g = QACT_PI / 2;
    p->reg = QNN_QACT_SHARED;
    p->last = 0;
    p->rule = QNN_QACT_RULE_EXACT;
    p->mode = QNN_QACT_MODE_CUSTOM;
    p->noise = QNN_QACT_NOISE_NONE;
    p->noise_p = 0.0;
}

int qnn_qact_noise_active(const qnn_qact_params *p) {
    return p && p->noise != QNN_QACT_NOISE_NONE && p->noise_p > 0.0;
}

int qnn_qact_check(const qnn_qact_params *p, qnn_error *err) {
    if (!p) return qnn_error_set(err, QNN_EINVAL, "qubit_activation: no parameters");
    if (!(p->a >= 0.0) || !isfinite(p->a))
        return qnn_error_set(err, QNN_EINVAL,
                             "qubit_activation: a must be a finite number >= 0 (0 = sign), got %g",
                             p->a);
    /* allow a rounding hair above pi/2 (5*pi/10 written in Lua ...) */
    if (!(p->g > 0.0) || !(p->g <= QACT_PI / 2 + 1e-12))
        return qnn_error_set(err, QNN_EINVAL,
                             "qubit_activation: g must be in (0, pi/2] (pi/2 = projective), got %g",
                             p->g);
    if (p->reg != QNN_QACT_SHARED && p->reg != QNN_QACT_FRESH)
        return qnn_error_set(err, QNN_EINVAL, "qubit_activation: bad register kind %d", p->reg);
    if (p->rule != QNN_QACT_RULE_EXACT && p->rule != QNN_QACT_RULE_AUTHORS)
        return qnn_error_set(err, QNN_EINVAL, "qubit_activation: bad angle rule %d", p->rule);
    if (p->mode < QNN_QACT_MODE_CUSTOM || p->mode > QNN_QACT_MODE_BOTH)
        return qnn_error_set(err, QNN_EINVAL, "qubit_activation: bad mode %d", p->mode);
    if (p->last != 0 && p->last != 1)
        return qnn_error_set(err, QNN_EINVAL, "qubit_activation: last must be 0 or 1");
    if (p->noise < QNN_QACT_NOISE_NONE || p->noise > QNN_QACT_NOISE_DEPOLARIZING)
        return qnn_error_set(err, QNN_EINVAL,
                             "qubit_activation: bad noise kind %d (dephasing or depolarizing)",
                             p->noise);
    if (!(p->noise_p >= 0.0 && p->noise_p <= 1.0))
        return qnn_error_set(err, QNN_EINVAL,
                             "qubit_activation: noise p must be in [0, 1], got %g", p->noise_p);
    return QNN_OK;
}

static double g_eff(const qnn_qact_params *p) {
    double g = p->last ? QACT_PI / 2 : p->g;
    return g > QACT_PI / 2 ? QACT_PI / 2 : g;
}

/* ---------------- closed form of one neuron ---------------- */
void qnn_qact_neuron_eval(double z, const qnn_qact_params *p, double prior_angle, double r_prev,
                          qnn_qact_neuron *o) {
    double t = p->a > 0 ? tanh(z / p->a) : (z >= 0 ? 1.0 : -1.0);
    double g = g_eff(p);
    o->theta = QACT_PI / 2 * (r_prev - t);
    o->angle = prior_angle + o->theta;
    o->p_plus = 0.5 * (1.0 + sin(g) * cos(o->angle));
    double c = cos(o->angle / 2), s = sin(o->angle / 2);
    double cg = cos(g / 2), sg = sin(g / 2);
    for (int k = 0; k < 2; k++) {
        double d = k == 0 ? 1.0 : -1.0;
        double w0 = c * (cg + d * sg), w1 = s * (cg - d * sg);
        double nrm = sqrt(w0 * w0 + w1 * w1);
        if (nrm > 0) w0 /= nrm, w1 /= nrm;
        else w0 = 1.0, w1 = 0.0;
        if (p->rule == QNN_QACT_RULE_AUTHORS) w0 = fabs(w0);
        o->v0[k] = w0;
        o->v1[k] = w1;
        o->angle_post[k] = 2.0 * atan2(w1, w0);
    }
}

/* ---------------- batched kernel ----------------
 * Fast, vectorisable elementary functions (the layer evaluates ~10^7 neurons per epoch):
 * absolute errors ~1e-16 on the ranges used (checked against libm in tests/c). */
#define QACT_BLOCK 256

/* exp(x) for x in [-60, 0] (src/core/fastmath.h). */
static inline double fast_exp_neg(double x) { return qnn_exp_clamped(x); }

/* tanh(x) with absolute error ~1e-16 (relative accuracy near 0 is not needed here) */
static inline double fast_tanh(double x) {
    double y = fabs(x);
    y = y < 30.0 ? y : 30.0;
    double e = fast_exp_neg(-2.0 * y);
    return copysign((1.0 - e) / (1.0 + e), x);
}

/* sin and cos of h in [-pi/2, pi/2]: Taylor on h/2 in [-pi/4, pi/4], then double angle */
/* One sampled neuron from its state (c, s) before the weak measurement: outcome probability,
 * sampled sign d, and the normalised post-measurement amplitudes (authors: |a0|). */
static inline void qact_sample(double c, double s, double sing, double cg, double sg, double u, int authors,
                               double *pp, double *out, double *ro, double *w0o, double *w1o) {
    double p = 0.5 + 0.5 * sing * ((c - s) * (c + s));
    *pp = p;
    double d = u < p ? 1.0 : -1.0;
    *out = d;
    *ro = d;
    double a0 = c * (cg + d * sg), a1 = s * (cg - d * sg);
    double nrm = a0 * a0 + a1 * a1;
    double inv = 1.0 / sqrt(nrm + 1e-300);
    a0 *= inv;
    a1 *= inv;
    *w0o = authors ? fabs(a0) : a0;
    *w1o = a1;
}

static inline void fast_sincos(double h, double *sn, double *cs) {
    double x = 0.5 * h, x2 = x * x;
    double sp = -1.0 / 1307674368000.0;
    sp = sp * x2 + 1.0 / 6227020800.0;
    sp = sp * x2 - 1.0 / 39916800.0;
    sp = sp * x2 + 1.0 / 362880.0;
    sp = sp * x2 - 1.0 / 5040.0;
    sp = sp * x2 + 1.0 / 120.0;
    sp = sp * x2 - 1.0 / 6.0;
    double s = x + x * x2 * sp;
    double cp = 1.0 / 20922789888000.0;
    cp = cp * x2 - 1.0 / 87178291200.0;
    cp = cp * x2 + 1.0 / 479001600.0;
    cp = cp * x2 - 1.0 / 3628800.0;
    cp = cp * x2 + 1.0 / 40320.0;
    cp = cp * x2 - 1.0 / 720.0;
    cp = cp * x2 + 1.0 / 24.0;
    cp = cp * x2 - 0.5;
    double c = 1.0 + x2 * cp;
    *sn = 2.0 * s * c;
    *cs = (c - s) * (c + s);
}

double qnn_qact_fast_tanh(double x) { return fast_tanh(x); }
void qnn_qact_fast_sincos(double h, double *s, double *c) { fast_sincos(h, s, c); }

typedef struct kconst {
    double inva, sing, cosg, cg, sg;
    int use_tanh, authors;
    int noisy;          /* sampling read-out: apply one Pauli per neuron picked by un */
    double tx, ty, tz;  /* un < tx: X; tx <= un < ty: Y; ty <= un < tz: Z; else identity */
    double lx, lz;      /* mean-field: Bloch vector (X, Z) -> (lx X, lz Z) */
} kconst;

/* Wider vector units when the CPU has them (GCC ifunc clones; the plain build elsewhere). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define QACT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define QACT_CLONES
#endif

/* one block of m <= QACT_BLOCK neurons, all arrays present */
QACT_CLONES
static int kernel_block(const kconst *k, int mean, size_t m, const double *z, const double *v0,
                        const double *v1, const double *rin, const double *u, const double *un,
                        double *out, double *w0o, double *w1o, double *ro, double *pp) {
    double t[QACT_BLOCK];
    double nanacc = 0.0; /* z - z is 0 for finite z, NaN for NaN or inf */
    if (k->use_tanh) {
        const double inva = k->inva;
#pragma omp simd reduction(+ : nanacc)
        for (size_t j = 0; j < m; j++) {
            double zj = z[j];
            nanacc += zj - zj;
            t[j] = fast_tanh(zj * inva);
        }
    } else {
#pragma omp simd reduction(+ : nanacc)
        for (size_t j = 0; j < m; j++) {
            double zj = z[j];
            nanacc += zj - zj;
            t[j] = zj >= 0 ? 1.0 : -1.0;
        }
    }
    int bad = nanacc != 0.0;
    const double sing = k->sing, cg = k->cg, sg = k->sg;
    if (!mean && k->noisy) {
        /* one trajectory of the channel: a Pauli on (c, s) between rotation and measurement */
        const int authors = k->authors;
        const double tx = k->tx, ty = k->ty, tz = k->tz;
#pragma omp simd
        for (size_t j = 0; j < m; j++) {
            double sh, ch;
            fast_sincos(QACT_PI_4 * (rin[j] - t[j]), &sh, &ch);
            double c0 = v0[j] * ch - v1[j] * sh, s0 = v1[j] * ch + v0[j] * sh;
            double e = un[j];
            int isx = e < tx, isy = !isx && e < ty, isz = !(e < ty) && e < tz;
            /* X: (s, c); Y: (-s, c) (global phase i dropped); Z: (c, -s) */
            double c = isx ? s0 : (isy ? -s0 : c0);
            double s = (isx || isy) ? c0 : (isz ? -s0 : s0);
            qact_sample(c, s, sing, cg, sg, u[j], authors, pp + j, out + j, ro + j, w0o + j, w1o + j);
        }
        return bad;
    }
    if (!mean) {
        const int authors = k->authors;
#pragma omp simd
        for (size_t j = 0; j < m; j++) {
            double sh, ch;
            fast_sincos(QACT_PI_4 * (rin[j] - t[j]), &sh, &ch); /* half of theta */
            double c = v0[j] * ch - v1[j] * sh, s = v1[j] * ch + v0[j] * sh;
            qact_sample(c, s, sing, cg, sg, u[j], authors, pp + j, out + j, ro + j, w0o + j, w1o + j);
        }
        return bad;
    }
    const double cosg = k->cosg, lx = k->lx, lz = k->lz;
    for (size_t j = 0; j < m; j++) {
        double sh, ch;
        fast_sincos(QACT_PI_4 * (rin[j] - t[j]), &sh, &ch);
        double c = v0[j] * ch - v1[j] * sh, s = v1[j] * ch + v0[j] * sh;
        /* Bloch vector after the noise channel (lx = lz = 1 without noise: exact no-ops) */
        double ez = lz * ((c - s) * (c + s));
        pp[j] = 0.5 + 0.5 * sing * ez;
        double e = sing * ez;
        out[j] = e;
        ro[j] = e;
        /* Bloch vector of the post-measurement mixture: (X, Z) = (cos g X_in, Z_in) */
        double X = lx * (cosg * 2.0 * c * s), Z = ez;
        double nr = sqrt(X * X + Z * Z);
        if (nr > 0) X /= nr, Z /= nr;
        else X = 0, Z = 1;
        double a0 = sqrt(fmax(0.0, 0.5 * (1.0 + Z))), a1 = sqrt(fmax(0.0, 0.5 * (1.0 - Z)));
        w0o[j] = a0;
        w1o[j] = X < 0 ? -a1 : a1;
    }
    return bad;
}

static void kconst_init(const qnn_qact_params *p, kconst *k) {
    double g = g_eff(p);
    k->inva = p->a > 0 ? 1.0 / p->a : 0.0;
    k->use_tanh = p->a > 0;
    k->sing = sin(g), k->cosg = cos(g), k->cg = cos(g / 2), k->sg = sin(g / 2);
    k->authors = p->rule == QNN_QACT_RULE_AUTHORS;
    k->noisy = qnn_qact_noise_active(p);
    k->tx = k->ty = k->tz = 0.0;
    k->lx = k->lz = 1.0;
    if (k->noisy) {
        double q = p->noise_p;
        if (p->noise == QNN_QACT_NOISE_DEPHASING) {
            k->tz = q;
            k->lx = 1.0 - 2.0 * q;
        } else {
            k->tx = q / 3.0, k->ty = 2.0 * q / 3.0, k->tz = q;
            k->lx = k->lz = 1.0 - 4.0 * q / 3.0;
        }
    }
}

int qnn_qact_kernel(const qnn_qact_params *p, int readout, size_t n, const double *z,
                    const double *v0in, const double *v1in, const double *rin, const double *u,
                    double *out, double *v0out, double *v1out, double *rout, double *pplus,
                    qnn_error *err) {
    return qnn_qact_kernel_noisy(p, readout, n, z, v0in, v1in, rin, u, NULL, out, v0out, v1out,
                                 rout, pplus, err);
}

int qnn_qact_kernel_noisy(const qnn_qact_params *p, int readout, size_t n, const double *z,
                          const double *v0in, const double *v1in, const double *rin,
                          const double *u, const double *un, double *out, double *v0out,
                          double *v1out, double *rout, double *pplus, qnn_error *err) {
    const int mean = readout == QNN_QACT_READ_MEAN;
    if (!mean && !u) return qnn_error_set(err, QNN_EINVAL, "qubit_activation: no uniforms");
    kconst k;
    kconst_init(p, &k);
    if (mean) k.noisy = 0; /* the exact channel (k.lx, k.lz) instead of a trajectory */
    else if (k.noisy && !un)
        return qnn_error_set(err, QNN_EINVAL, "qubit_activation: noise needs its uniforms");
    double one[QACT_BLOCK], zero[QACT_BLOCK], dw0[QACT_BLOCK], dw1[QACT_BLOCK], dr[QACT_BLOCK],
        dp[QACT_BLOCK];
    if (!v0in || !v1in || !rin)
        for (size_t j = 0; j < QACT_BLOCK; j++) one[j] = 1.0, zero[j] = 0.0;
    int bad = 0;
    for (size_t j0 = 0; j0 < n; j0 += QACT_BLOCK) {
        size_t m = n - j0 < QACT_BLOCK ? n - j0 : QACT_BLOCK;
        bad |= kernel_block(&k, mean, m, z + j0, v0in ? v0in + j0 : one, v1in ? v1in + j0 : zero,
                            rin ? rin + j0 : one, u ? u + j0 : zero, un ? un + j0 : zero, out + j0,
                            v0out ? v0out + j0 : dw0, v1out ? v1out + j0 : dw1,
                            rout ? rout + j0 : dr, pplus ? pplus + j0 : dp);
    }
    if (bad)
        return qnn_error_set(err, QNN_EINVAL,
                             "qubit_activation: pre-activation is NaN or infinite (check the "
                             "inputs and the learning rate)");
    return QNN_OK;
}

/* ---------------- layer ---------------- */
static void state_free_bufs(qact_state *s) {
    qnn_aligned_free(s->v0);
    qnn_aligned_free(s->v1);
    qnn_aligned_free(s->res);
    qnn_aligned_free(s->pplus);
    qnn_aligned_free(s->u);
    qnn_aligned_free(s->un);
    s->v0 = s->v1 = s->res = s->pplus = s->u = s->un = NULL;
    double **c[5] = {&s->cp, &s->c0p, &s->c1p, &s->c0m, &s->c1m};
    for (int k = 0; k < 5; k++) {
        qnn_aligned_free(*c[k]);
        *c[k] = NULL;
    }
    s->cap = 0;
    s->rows = 0;
}

static int state_reserve(qact_state *s, size_t rows, qnn_error *err) {
    int need_p = s->keep_probs && !s->pplus;
    if (rows <= s->cap && s->u && !need_p) return QNN_OK;
    size_t cap = rows > s->cap ? rows : s->cap;
    size_t cnt, bytes;
    if (qnn_mul_size(cap, s->n, &cnt) || qnn_mul_size(cnt ? cnt : 1, sizeof(double), &bytes))
        return qnn_error_set(err, QNN_ENOMEM, "qubit_activation: batch too large");
    double *v0 = (double *)qnn_aligned_alloc(64, bytes), *v1 = (double *)qnn_aligned_alloc(64, bytes);
    double *res = (double *)qnn_aligned_alloc(64, bytes);
    double *pp = s->keep_probs ? (double *)qnn_aligned_alloc(64, bytes) : NULL;
    double *u = (double *)qnn_aligned_alloc(64, s->n * sizeof(double));
    double *un = (double *)qnn_aligned_alloc(64, s->n * sizeof(double));
    if (!v0 || !v1 || !res || !u || !un || (s->keep_probs && !pp)) {
        qnn_aligned_free(v0), qnn_aligned_free(v1), qnn_aligned_free(res), qnn_aligned_free(pp),
            qnn_aligned_free(u), qnn_aligned_free(un);
        return qnn_error_set(err, QNN_ENOMEM, "qubit_activation: out of memory (%zu rows)", rows);
    }
    state_free_bufs(s);
    s->v0 = v0, s->v1 = v1, s->res = res, s->pplus = pp, s->u = u, s->un = un;
    s->cap = cap;
    return QNN_OK;
}

static int cache_reserve(qact_state *s, qnn_error *err) {
    if (s->cp) return QNN_OK;
    size_t bytes = s->cap * s->n * sizeof(double);
    double **c[5] = {&s->cp, &s->c0p, &s->c1p, &s->c0m, &s->c1m};
    for (int k = 0; k < 5; k++) {
        *c[k] = (double *)qnn_aligned_alloc(64, bytes ? bytes : 64);
        if (!*c[k]) return qnn_error_set(err, QNN_ENOMEM, "qubit_activation: out of memory");
    }
    return QNN_OK;
}

/* first qubit layer during predict: fill the cache (fresh prior) and/or sample from it */
static int cached_forward(qnn_layer *l, qact_state *s, const qnn_tensor *in, qnn_tensor *out,
                          qnn_rng *rng, qnn_error *err) {
    size_t B = in->rows, n = l->out;
    if (s->cache_mode == 1) {
        int rc = cache_reserve(s, err);
        for (size_t r = 0; r < B && !rc; r++) {
            const double *z = qnn_tensor_row(in, r);
            double *o = qnn_tensor_row(out, r);
            size_t off = r * n;
            for (size_t j = 0; j < n; j++) s->u[j] = 0.0; /* forces +1 where possible */
            rc = qnn_qact_kernel(&s->p, QNN_QACT_READ_SAMPLE, n, z, NULL, NULL, NULL, s->u, o,
                                 s->c0p + off, s->c1p + off, NULL, s->cp + off, err);
            for (size_t j = 0; j < n && !rc; j++) s->u[j] = 0x1.fffffffffffffp-1; /* -1 */
            if (!rc)
                rc = qnn_qact_kernel(&s->p, QNN_QACT_READ_SAMPLE, n, z, NULL, NULL, NULL, s->u, o,
                                     s->c0m + off, s->c1m + off, NULL, NULL, err);
        }
        if (rc) return rc;
        s->cache_mode = 2;
    }
    for (size_t r = 0; r < B; r++) {
        double *o = qnn_tensor_row(out, r);
        size_t off = r * n;
        const double *cp = s->cp + off;
        for (size_t j = 0; j < n; j++) o[j] = qnn_rng_uniform(rng) < cp[j] ? 1.0 : -1.0;
        if (s->keep_probs) memcpy(s->pplus + off, cp, n * sizeof(double));
        if (s->linked) {
            double *v0 = s->v0 + off, *v1 = s->v1 + off, *res = s->res + off;
            const double *a0 = s->c0p + off, *a1 = s->c1p + off, *b0 = s->c0m + off,
                         *b1 = s->c1m + off;
            for (size_t j = 0; j < n; j++) {
                int plus = o[j] > 0;
                v0[j] = plus ? a0[j] : b0[j];
                v1[j] = plus ? a1[j] : b1[j];
                res[j] = o[j];
            }
        }
    }
    s->rows = B;
    return QNN_OK;
}

static int qact_forward(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                        qnn_rng *rng, qnn_error *err) {
    qact_state *s = (qact_state *)l->state;
    size_t B = in->rows, n = l->out;
    if (!s) return qnn_error_set(err, QNN_ESTATE, "qubit_activation: layer has no state");
    int rc = state_reserve(s, B, err);
    if (rc) return rc;
    const qact_state *ps = NULL;
    if (s->p.reg == QNN_QACT_SHARED && s->back > 0) {
        const qnn_layer *pl = l - s->back;
        if (!qnn_qact_is(pl) || !pl->state)
            return qnn_error_set(err, QNN_ESTATE, "qubit_activation: shared register link broken");
        ps = (const qact_state *)pl->state;
        if (ps->rows != B || ps->n != n)
            return qnn_error_set(err, QNN_ESTATE,
                                 "qubit_activation: the previous qubit layer saw %zu rows, this "
                                 "one %zu (run the whole net)", ps->rows, B);
    }
    int readout = train ? QNN_QACT_READ_SAMPLE : s->readout;
    if (!train && s->cache_mode && readout == QNN_QACT_READ_SAMPLE && !ps)
        return cached_forward(l, s, in, out, rng, err);
    int carry = s->linked;
    /* trajectory noise: n more uniforms per row, after the measurement ones (none at p = 0) */
    const int noisy = readout == QNN_QACT_READ_SAMPLE && qnn_qact_noise_active(&s->p);
    for (size_t r = 0; r < B; r++) {
        const double *z = qnn_tensor_row(in, r);
        double *o = qnn_tensor_row(out, r);
        if (readout == QNN_QACT_READ_SAMPLE)
            for (size_t j = 0; j < n; j++) s->u[j] = qnn_rng_uniform(rng);
        if (noisy)
            for (size_t j = 0; j < n; j++) s->un[j] = qnn_rng_uniform(rng);
        size_t off = r * n;
        rc = qnn_qact_kernel_noisy(&s->p, readout, n, z, ps ? ps->v0 + off : NULL,
                                   ps ? ps->v1 + off : NULL, ps ? ps->res + off : NULL, s->u,
                                   noisy ? s->un : NULL, o, carry ? s->v0 + off : NULL,
                                   carry ? s->v1 + off : NULL, carry ? s->res + off : NULL,
                                   s->keep_probs ? s->pplus + off : NULL, err);
        if (rc) return rc;
    }
    s->rows = B;
    return QNN_OK;
}

static int qact_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                         const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)out, (void)err;
    if (!din) return QNN_OK;
    size_t B = in->rows, n = l->in;
    for (size_t r = 0; r < B; r++) {
        const double *z = qnn_tensor_row(in, r), *d = qnn_tensor_row(dout, r);
        double *o = qnn_tensor_row(din, r);
        for (size_t j = 0; j < n; j++) o[j] = (z[j] > -1.0 && z[j] < 1.0) ? d[j] : 0.0;
    }
    return QNN_OK;
}

static void qact_destroy(qnn_layer *l) {
    qact_state *s = (qact_state *)l->state;
    if (!s) return;
    state_free_bufs(s);
    free(s);
    l->state = NULL;
}

static int qact_copy_state(qnn_layer *dst, const qnn_layer *src, qnn_error *err) {
    const qact_state *s = (const qact_state *)src->state;
    dst->state = NULL;
    if (!s) return QNN_OK;
    qact_state *c = (qact_state *)calloc(1, sizeof *c);
    if (!c) return qnn_error_set(err, QNN_ENOMEM, "qubit_activation: out of memory");
    *c = *s;
    c->v0 = c->v1 = c->res = c->pplus = c->u = c->un = NULL;
    c->cp = c->c0p = c->c1p = c->c0m = c->c1m = NULL;
    c->cache_mode = 0;
    c->cap = c->rows = 0; /* registers are per forward: the copy starts empty */
    dst->state = c;
    return QNN_OK;
}

const qnn_layer_vtable qnn_qact_vt = {"qubit_activation", qact_forward, qact_backward, NULL,
                                      qact_destroy, qact_copy_state};

static void encode_fparam(const qnn_qact_params *p, double f[4]) {
    f[0] = p->a;
    f[1] = p->g;
    f[2] = (double)(p->reg | p->last << 1 | p->rule << 2 | p->mode << 3 | p->noise << 5);
    /* format 1 (no noise kind) keeps f[3] = 1, as before; with a noise kind f[3] = -p, so
     * -1 <= f[3] <= 0 (p = 0 gives -0.0) marks format 2 and holds p exactly */
    f[3] = p->noise == QNN_QACT_NOISE_NONE ? 1.0 : -p->noise_p;
}

int qnn_qact_params_from_fparam(const double f[4], qnn_qact_params *p, qnn_error *err) {
    qnn_qact_defaults(p);
    if (!(f[2] >= 0 && f[2] < 128 && f[2] == floor(f[2])))
        return qnn_error_set(err, QNN_EFORMAT, "qubit_activation: bad stored parameters");
    int fl = (int)f[2];
    p->noise = (fl >> 5) & 3;
    if (p->noise == QNN_QACT_NOISE_NONE ? !(f[3] == 1.0) : !(f[3] >= -1.0 && f[3] <= 0.0))
        return qnn_error_set(err, QNN_EFORMAT, "qubit_activation: bad stored parameters");
    p->noise_p = p->noise == QNN_QACT_NOISE_NONE ? 0.0 : -f[3] + 0.0; /* -0.0 -> 0 */
    p->a = f[0];
    p->g = f[1];
    p->reg = fl & 1;
    p->last = (fl >> 1) & 1;
    p->rule = (fl >> 2) & 1;
    p->mode = (fl >> 3) & 3;
    return qnn_qact_check(p, err);
}

int qnn_net_add_qubit_act(qnn_net *net, size_t dim, const qnn_qact_params *p, qnn_error *err) {
    if (!net) return -qnn_error_set(err, QNN_EINVAL, "qubit_activation: no net");
    int rc = qnn_qact_check(p, err);
    if (rc) return -rc;
    if (net->built) return -qnn_error_set(err, QNN_ESTATE, "qubit_activation: net already built");
    if (dim == 0) {
        if (net->nlayers == 0)
            return -qnn_error_set(err, QNN_EINVAL,
                                  "qubit_activation: width unknown (give dim or add it after a "
                                  "dense layer)");
        dim = net->layers[net->nlayers - 1].out;
    }
    size_t back = 0;
    qnn_layer *prev = NULL;
    if (p->reg == QNN_QACT_SHARED) {
        for (size_t k = net->nlayers; k-- > 0;)
            if (qnn_qact_is(&net->layers[k])) {
                prev = &net->layers[k];
                back = net->nlayers - k;
                break;
            }
        if (prev && prev->out != dim)
            return -qnn_error_set(err, QNN_EINVAL,
                                  "qubit_activation: a shared register needs the same width as "
                                  "the previous qubit layer (%zu vs %zu); use register=\"fresh\"",
                                  prev->out, dim);
    }
    qact_state *s = (qact_state *)calloc(1, sizeof *s);
    if (!s) return -qnn_error_set(err, QNN_ENOMEM, "qubit_activation: out of memory");
    s->p = *p;
    s->n = dim;
    s->back = back;
    s->readout = QNN_QACT_READ_SAMPLE;
    double f[4];
    encode_fparam(p, f);
    int idx = qnn_net_add_layer(net, &qnn_qact_vt, dim, dim, 0, f, s, err);
    /* re-find prev: the layer array may have moved */
    if (idx >= 0 && back > 0) ((qact_state *)net->layers[(size_t)idx - back].state)->linked = 1;
    return idx;
}

const qnn_qact_params *qnn_qact_layer_params(const qnn_layer *l) {
    if (!qnn_qact_is(l) || !l->state) return NULL;
    return &((const qact_state *)l->state)->p;
}

size_t qnn_qact_set_readout(qnn_net *net, int readout) {
    size_t c = 0;
    for (size_t k = 0; net && k < net->nlayers; k++)
        if (qnn_qact_is(&net->layers[k]) && net->layers[k].state) {
            ((qact_state *)net->layers[k].state)->readout = readout;
            c++;
        }
    return c;
}

int qnn_qact_keep_probs(qnn_layer *l, int on, qnn_error *err) {
    if (!qnn_qact_is(l) || !l->state)
        return qnn_error_set(err, QNN_EINVAL, "not a qubit_activation layer");
    qact_state *s = (qact_state *)l->state;
    s->keep_probs = on != 0;
    if (!on) {
        qnn_aligned_free(s->pplus);
        s->pplus = NULL;
    }
    return QNN_OK;
}

const double *qnn_qact_last_probs(const qnn_layer *l, size_t *rows) {
    if (!qnn_qact_is(l) || !l->state) return NULL;
    const qact_state *s = (const qact_state *)l->state;
    if (rows) *rows = s->rows;
    return s->keep_probs ? s->pplus : NULL;
}

int qnn_qact_last_register(const qnn_layer *l, const double **v0, const double **v1,
                           const double **res, size_t *rows) {
    if (!qnn_qact_is(l) || !l->state) return QNN_EINVAL;
    const qact_state *s = (const qact_state *)l->state;
    if (!s->linked || !s->v0) return QNN_ESTATE;
    *v0 = s->v0, *v1 = s->v1, *res = s->res;
    if (rows) *rows = s->rows;
    return QNN_OK;
}

/* ---------------- shot-based inference ---------------- */
/* Prepares dst (a copy of src) for qnn_net_forward_from(dst, k0, ...) on the rows Xc that src
 * just ran: its input and the input of layer k0 (src's activation k0). */
static int copy_prefix(qnn_net *dst, const qnn_net *src, const qnn_tensor *Xc, size_t k0,
                       qnn_error *err) {
    int rc = qnn_net_reserve(dst, Xc->rows, err);
    if (rc) return rc;
    qnn_tensor_wrap(&dst->input, Xc->data, Xc->rows, Xc->cols, Xc->ld, 2);
    dst->batch = Xc->rows;
    if (k0 > 0) {
        qnn_tensor a = qnn_net_activation(src, k0), b = qnn_net_activation(dst, k0);
        for (size_t r = 0; r < Xc->rows; r++)
            memcpy(qnn_tensor_row(&b, r), qnn_tensor_row(&a, r), a.cols * sizeof(double));
    }
    return QNN_OK;
}

static size_t argmax_row(const double *o, size_t K) {
    size_t b = 0;
    for (size_t j = 1; j < K; j++)
        if (o[j] > o[b]) b = j;
    return b;
}

int qnn_qact_predict(qnn_net *net, const qnn_tensor *X, size_t shots, int mode, qnn_rng *rng,
                     int *pred, int *first, qnn_error *err) {
    if (!net || !net->built) return qnn_error_set(err, QNN_ESTATE, "predict: net not built");
    if (!X || X->ndim != 2 || X->cols != qnn_net_in_dim(net))
        return qnn_error_set(err, QNN_EINVAL, "predict: X must have %zu columns",
                             qnn_net_in_dim(net));
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "predict: shots must be >= 1");
    if (mode < QNN_QACT_PREDICT_VOTE || mode > QNN_QACT_PREDICT_MEAN)
        return qnn_error_set(err, QNN_EINVAL, "predict: bad mode %d", mode);
    for (size_t i = 0; i < X->rows; i++) {
        const double *x = qnn_tensor_row(X, i);
        for (size_t j = 0; j < X->cols; j++)
            if (!isfinite(x[j]))
                return qnn_error_set(err, QNN_EINVAL,
                                     "predict: X[%zu][%zu] is NaN or infinite", i + 1, j + 1);
    }
    if (mode != QNN_QACT_PREDICT_VOTE) shots = 1;
    size_t K = qnn_net_out_dim(net), B = X->rows;
    size_t k0 = net->nlayers;
    int *readouts = (int *)calloc(net->nlayers ? net->nlayers : 1, sizeof(int));
    if (!readouts) return qnn_error_set(err, QNN_ENOMEM, "predict: out of memory");
    for (size_t k = 0; k < net->nlayers; k++)
        if (qnn_qact_is(&net->layers[k]) && net->layers[k].state) {
            readouts[k] = ((qact_state *)net->layers[k].state)->readout;
            if (k < k0) k0 = k;
        }
    qnn_qact_set_readout(net, mode == QNN_QACT_PREDICT_MEAN ? QNN_QACT_READ_MEAN
                                                            : QNN_QACT_READ_SAMPLE);
    if (k0 == net->nlayers) shots = 1; /* deterministic net */
    if (!rng) rng = &net->rng; /* the net's own stream, as qnn_net_forward */
    /* Several shots: shot sh draws from its own stream (split from rng in shot order), so shots
     * 1.. run in parallel on per-thread copies of the net (thread t: shots 1 + t, 1 + t + nt,
     * ...) and the votes (integer counts) do not depend on the thread count. */
    int nt = 1;
    if (shots > 1 && !omp_in_parallel()) {
        int t = omp_get_max_threads();
        nt = (size_t)t < shots ? t : (int)shots;
        if (nt < 1) nt = 1;
    }
    const size_t chunk = 1000;
    const size_t vrows = chunk < B ? chunk : (B ? B : 1);
    qnn_rng *rs = shots > 1 ? (qnn_rng *)malloc(shots * sizeof *rs) : NULL;
    qnn_net **nets = (qnn_net **)calloc((size_t)nt, sizeof *nets);
    int *votes = (int *)malloc((size_t)nt * vrows * K * sizeof(int));
    int *trc = (int *)calloc((size_t)nt, sizeof *trc);
    qnn_error *terr = (qnn_error *)calloc((size_t)nt, sizeof *terr);
    int rc = votes && nets && trc && terr && (shots == 1 || rs)
                 ? QNN_OK
                 : qnn_error_set(err, QNN_ENOMEM, "predict: out of memory");
    if (!rc) {
        /* shot 0 continues rng itself (so it is the single shot of the same stream); shots
         * 1.. get streams split from it */
        if (rs) rs[0] = *rng;
        for (size_t sh = 1; sh < shots && rs; sh++) qnn_rng_split(rng, (uint64_t)sh, &rs[sh]);
        nets[0] = net;
        /* a copy that cannot be made only means fewer threads (same results) */
        for (int t = 1; t < nt; t++)
            if (qnn_net_copy(&nets[t], net, NULL)) {
                nt = t;
                break;
            }
    }
    for (size_t r0 = 0; r0 < B && !rc; r0 += chunk) {
        size_t nb = B - r0 < chunk ? B - r0 : chunk;
        qnn_tensor Xc;
        rc = qnn_tensor_rows_view(&Xc, X, r0, nb);
        if (rc) {
            qnn_error_set(err, rc, "predict: bad row view");
            break;
        }
        memset(votes, 0, (size_t)nt * nb * K * sizeof(int));
        for (int t = 0; t < nt; t++) {
            qact_state *s0 = k0 < nets[t]->nlayers ? (qact_state *)nets[t]->layers[k0].state : NULL;
            /* the shot cache holds the noiseless branches only: a noisy first layer runs its
             * kernel every shot (cheap next to the dense products) */
            if (s0 && mode != QNN_QACT_PREDICT_MEAN && shots > 1 && !qnn_qact_noise_active(&s0->p))
                s0->cache_mode = 1;
            trc[t] = QNN_OK;
        }
        /* shot 0 on the net itself, outside the parallel region (its products may use every
         * thread); the other shots re-run layers k0.. on copies holding its input of layer k0 */
        rc = qnn_net_forward(net, &Xc, 0, rs ? &rs[0] : rng, NULL, err);
        if (!rc) {
            qnn_tensor o = qnn_net_activation(net, net->nlayers);
            for (size_t i = 0; i < nb; i++) {
                size_t c = argmax_row(qnn_tensor_row(&o, i), K);
                votes[i * K + c]++;
                if (first) first[r0 + i] = (int)c;
            }
            rc = qnn_progress_step(NULL, 0, 0);
            if (rc) qnn_error_set(err, rc, "predict: interrupted");
        }
        for (int t = 1; t < nt && !rc && shots > 1; t++) rc = copy_prefix(nets[t], net, &Xc, k0, err);
        if (!rc && shots > 1) {
#pragma omp parallel num_threads(nt) if (nt > 1)
            {
                const int t = omp_get_thread_num();
                qnn_net *tn = nets[t];
                int *tv = votes + (size_t)t * nb * K;
                int lrc = QNN_OK;
                for (size_t sh = 1 + (size_t)t; sh < shots && !lrc; sh += (size_t)nt) {
                    lrc = qnn_net_forward_from(tn, k0, 0, &rs[sh], &terr[t]);
                    if (lrc) break;
                    qnn_tensor o = qnn_net_activation(tn, tn->nlayers);
                    for (size_t i = 0; i < nb; i++) tv[i * K + argmax_row(qnn_tensor_row(&o, i), K)]++;
                    lrc = t == 0 ? qnn_progress_step(NULL, 0, 0)
                                 : (qnn_interrupt_pending() ? QNN_EINTR : QNN_OK);
                    if (lrc) qnn_error_set(&terr[t], lrc, "predict: interrupted");
                }
                trc[t] = lrc;
            }
        }
        for (int t = 0; t < nt; t++) {
            qact_state *s0 = k0 < nets[t]->nlayers ? (qact_state *)nets[t]->layers[k0].state : NULL;
            if (s0) s0->cache_mode = 0;
        }
        for (int t = 0; t < nt && !rc; t++)
            if (trc[t]) {
                rc = trc[t];
                if (err) *err = terr[t];
            }
        for (int t = 1; t < nt; t++)
            for (size_t i = 0; i < nb * K; i++) votes[i] += votes[(size_t)t * nb * K + i];
        for (size_t i = 0; i < nb && !rc; i++) {
            const int *v = votes + i * K;
            size_t b = 0;
            for (size_t j = 1; j < K; j++)
                if (v[j] > v[b]) b = j; /* ties: smallest class index */
            pred[r0 + i] = (int)b;
        }
    }
    for (int t = 1; nets && t < nt; t++) qnn_net_free(nets[t]);
    free(nets);
    free(rs);
    free(trc);
    free(terr);
    free(votes);
    for (size_t k = 0; k < net->nlayers; k++)
        if (qnn_qact_is(&net->layers[k]) && net->layers[k].state)
            ((qact_state *)net->layers[k].state)->readout = readouts[k];
    free(readouts);
    return rc;
}
