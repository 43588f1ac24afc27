/* Quantum layers (include/qnn/qlayer.h): batched forward over samples, adjoint backward with
 * respect to inputs and weights, density-matrix noise with parameter-shift gradients, shot
 * estimates, and a text description for checkpoints. */
#include "circuit_internal.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/qlayer.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_SQRT2
#define M_SQRT2 1.41421356237309504880
#endif

#define CACHE_MAX_BYTES ((size_t)64 << 20)

typedef struct qlayer {
    qnn_circuit *c;
    int n, np;
    int ninputs, *inputs, amplitude;
    int nweights, *weights;
    int noutputs;
    qnn_qlayer_output *outs;
    qnn_pauli_term *terms; /* all observable terms, outs[k].terms point into it */
    int nterms;
    size_t shots;
    int has_seed;
    uint64_t seed;
    qnn_rng own;
    qnn_noise noise;
    int noisy;
    int threads;
    /* workspaces (not copied) */
    int nthr;
    qnn_circuit **tc;
    qnn_state *psi, *lam;
    qnn_density *rho;
    double **grad;
    qnn_pauli_term **cterms;
    double **counts; /* shots on probabilities: 2^n per thread */
    double **diag;   /* 2^n per thread: probabilities (forward) / diagonal weights (backward) */
    double *cache;   /* output states of the last forward, rows x 2*dim */
    size_t cache_cap, cache_rows;
    const double *cache_x; /* input data pointer of the cached forward */
    double *cache_w;       /* weights of the cached forward */
    int cache_ok;
    double *gw;            /* per-row weight gradients */
    size_t gw_cap;
} qlayer;

static qlayer *QL(const qnn_layer *l) { return (qlayer *)l->state; }

static void free_work(qlayer *q) {
    for (int t = 0; t < q->nthr; t++) {
        if (q->tc) qnn_circuit_free(q->tc[t]);
        if (q->psi) qnn_state_release(&q->psi[t]);
        if (q->lam) qnn_state_release(&q->lam[t]);
        if (q->rho) qnn_density_release(&q->rho[t]);
        if (q->grad) free(q->grad[t]);
        if (q->cterms) free(q->cterms[t]);
        if (q->counts) free(q->counts[t]);
        if (q->diag) free(q->diag[t]);
    }
    free(q->diag);
    q->diag = NULL;
    free(q->tc);
    free(q->psi);
    free(q->lam);
    free(q->rho);
    free(q->grad);
    free(q->cterms);
    free(q->counts);
    q->tc = NULL;
    q->psi = q->lam = NULL;
    q->rho = NULL;
    q->grad = NULL;
    q->cterms = NULL;
    q->counts = NULL;
    q->nthr = 0;
    qnn_aligned_free(q->cache);
    q->cache = NULL;
    q->cache_cap = q->cache_rows = 0;
    q->cache_ok = 0;
    free(q->cache_w);
    q->cache_w = NULL;
    free(q->gw);
    q->gw = NULL;
    q->gw_cap = 0;
}

static void ql_free(qlayer *q) {
    if (!q) return;
    free_work(q);
    qnn_circuit_free(q->c);
    free(q->inputs);
    free(q->weights);
    free(q->outs);
    free(q->terms);
    free(q);
}

static void ql_destroy(qnn_layer *l) {
    ql_free(QL(l));
    l->state = NULL;
}

/* ---------------- construction ---------------- */
static int build_state(const qnn_qlayer_spec *s, qlayer **out, qnn_error *err) {
    *out = NULL;
    if (!s || !s->circuit) return qnn_error_set(err, QNN_EINVAL, "quantum layer needs a circuit");
    const qnn_circuit *c = s->circuit;
    int n = c->n, np = c->np;
    if (c->nops == 0) return qnn_error_set(err, QNN_EINVAL, "quantum layer: the circuit has no gates");
    if (s->ninputs < 1 || s->ninputs > 0x7fffffff)
        return qnn_error_set(err, QNN_EINVAL, "quantum layer: needs at least one input, got %d",
                             s->ninputs);
    if (s->amplitude && (n > 30 || (uint64_t)s->ninputs > ((uint64_t)1 << n)))
        return qnn_error_set(err, QNN_EINVAL,
                             "quantum layer: amplitude encoding of %d features needs at least %d "
                             "qubits, the circuit has %d", s->ninputs,
                             (int)ceil(log2((double)s->ninputs)), n);
    if (s->noutputs < 1 || s->noutputs > QNN_QLAYER_MAX_OUTPUTS)
        return qnn_error_set(err, QNN_EINVAL, "quantum layer: outputs must number 1 to %d, got %d",
                             QNN_QLAYER_MAX_OUTPUTS, s->noutputs);
    if (s->nweights < 0 || (s->nweights > 0 && !s->weights) ||
        (!s->amplitude && !s->inputs) || !s->outputs)
        return qnn_error_set(err, QNN_EINVAL, "quantum layer: bad spec");
    if (s->noise && (s->noise->readout != 0.0 || s->noise->native))
        return qnn_error_set(err, QNN_EINVAL,
                             "quantum layer: noise fields 'readout' and 'native' are not available "
                             "(the layer applies the channels after every gate of its circuit and "
                             "differentiates them by parameter shift)");
    int noisy = s->noise && !qnn_noise_is_zero(s->noise);
    if (noisy) {
        int st = qnn_noise_check(s->noise, err);
        if (st) return st;
        if (n > QNN_QLAYER_MAX_DENSITY_QUBITS)
            return qnn_error_set(err, QNN_EINVAL,
                                 "quantum layer: noise runs on density matrices, at most %d qubits "
                                 "(got %d)", QNN_QLAYER_MAX_DENSITY_QUBITS, n);
        if (s->amplitude)
            return qnn_error_set(err, QNN_EINVAL,
                                 "quantum layer: amplitude encoding is not available with noise");
    }
    {
        /* a psi and a lambda per thread at least: refuse sizes that can never run */
        int st0 = noisy ? qnn_density_check_size(n, 1, err) : qnn_state_check_size(n, 2, err);
        if (st0) return st0;
    }
    /* roles: every parameter exactly once */
    int *role = (int *)calloc((size_t)(np ? np : 1), sizeof(int));
    if (!role) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    int st = QNN_OK;
    int nin = s->amplitude ? 0 : s->ninputs;
    for (int i = 0; i < nin && !st; i++) {
        int p = s->inputs[i];
        if (p < 0 || p >= np) st = qnn_error_set(err, QNN_ERANGE, "quantum layer: input %d: parameter index %d out of range", i + 1, p);
        else if (role[p]) st = qnn_error_set(err, QNN_EINVAL, "quantum layer: parameter '%s' is declared twice as an input", c->names[p]);
        else role[p] = 1;
    }
    for (int j = 0; j < s->nweights && !st; j++) {
        int p = s->weights[j];
        if (p < 0 || p >= np) st = qnn_error_set(err, QNN_ERANGE, "quantum layer: weight %d: parameter index %d out of range", j + 1, p);
        else if (role[p]) st = qnn_error_set(err, QNN_EINVAL, "quantum layer: parameter '%s' is declared both as %s and as a weight", c->names[p], role[p] == 1 ? "an input" : "a weight");
        else role[p] = 2;
    }
    for (int p = 0; p < np && !st; p++)
        if (!role[p])
            st = qnn_error_set(err, QNN_EINVAL,
                               "quantum layer: circuit parameter '%s' is neither an input nor a "
                               "weight", c->names[p]);
    free(role);
    if (st) return st;
    /* outputs */
    int nterms = 0;
    uint64_t dimmask = n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
    for (int k = 0; k < s->noutputs; k++) {
        const qnn_qlayer_output *o = &s->outputs[k];
        if (o->nterms < 0 || o->nterms > 1 << 20 || (o->nterms > 0 && !o->terms))
            return qnn_error_set(err, QNN_EINVAL, "quantum layer: output %d: bad term list", k + 1);
        if (o->nterms == 0) {
            if (o->basis & ~dimmask)
                return qnn_error_set(err, QNN_ERANGE,
                                     "quantum layer: output %d: basis state %llu out of range "
                                     "[0, 2^%d)", k + 1, (unsigned long long)o->basis, n);
            continue;
        }
        st = qnn_circuit_check_observable(o->terms, o->nterms, n, err);
        if (st) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return qnn_error_set(err, st, "quantum layer: output %d: %s", k + 1, msg);
        }
        if (nterms > (1 << 24) - o->nterms)
            return qnn_error_set(err, QNN_EINVAL, "quantum layer: too many observable terms");
        nterms += o->nterms;
    }
    qlayer *q = (qlayer *)calloc(1, sizeof *q);
    if (!q) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    st = qnn_circuit_copy(&q->c, c, err);
    if (st) {
        free(q);
        return st;
    }
    q->n = n;
    q->np = np;
    q->ninputs = s->ninputs;
    q->amplitude = s->amplitude ? 1 : 0;
    q->nweights = s->nweights;
    q->noutputs = s->noutputs;
    q->nterms = nterms;
    q->shots = s->shots;
    q->has_seed = s->has_seed;
    q->seed = s->seed;
    qnn_rng_seed(&q->own, s->seed);
    if (noisy) q->noise = *s->noise;
    q->noisy = noisy;
    q->threads = s->threads > 0 ? s->threads : 0;
    q->inputs = (int *)malloc(sizeof(int) * (size_t)(nin ? nin : 1));
    q->weights = (int *)malloc(sizeof(int) * (size_t)(s->nweights ? s->nweights : 1));
    q->outs = (qnn_qlayer_output *)malloc(sizeof *q->outs * (size_t)s->noutputs);
    q->terms = (qnn_pauli_term *)malloc(sizeof *q->terms * (size_t)(nterms ? nterms : 1));
    if (!q->inputs || !q->weights || !q->outs || !q->terms) {
        ql_free(q);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    if (nin) memcpy(q->inputs, s->inputs, sizeof(int) * (size_t)nin);
    if (s->nweights) memcpy(q->weights, s->weights, sizeof(int) * (size_t)s->nweights);
    int at = 0;
    for (int k = 0; k < s->noutputs; k++) {
        q->outs[k] = s->outputs[k];
        if (s->outputs[k].nterms) {
            memcpy(q->terms + at, s->outputs[k].terms, sizeof *q->terms * (size_t)s->outputs[k].nterms);
            at += s->outputs[k].nterms;
        }
    }
    at = 0;
    for (int k = 0; k < s->noutputs; k++) {
        q->outs[k].terms = q->outs[k].nterms ? q->terms + at : NULL;
        at += q->outs[k].nterms;
    }
    *out = q;
    return QNN_OK;
}

static int ensure_work(qlayer *q, int nthr, qnn_error *err) {
    if (q->nthr >= nthr) return QNN_OK;
    /* keep the cache, rebuild the per-thread part */
    double *cache = q->cache, *cw = q->cache_w, *gw = q->gw;
    size_t ccap = q->cache_cap, crows = q->cache_rows, gcap = q->gw_cap;
    int cok = q->cache_ok;
    const double *cx = q->cache_x;
    q->cache = NULL;
    q->cache_w = NULL;
    q->gw = NULL;
    free_work(q);
    q->cache = cache, q->cache_w = cw, q->gw = gw;
    q->cache_cap = ccap, q->cache_rows = crows, q->gw_cap = gcap, q->cache_ok = cok, q->cache_x = cx;
    q->tc = (qnn_circuit **)calloc((size_t)nthr, sizeof *q->tc);
    q->psi = (qnn_state *)calloc((size_t)nthr, sizeof *q->psi);
    q->lam = (qnn_state *)calloc((size_t)nthr, sizeof *q->lam);
    q->grad = (double **)calloc((size_t)nthr, sizeof *q->grad);
    q->cterms = (qnn_pauli_term **)calloc((size_t)nthr, sizeof *q->cterms);
    q->counts = (double **)calloc((size_t)nthr, sizeof *q->counts);
    q->diag = (double **)calloc((size_t)nthr, sizeof *q->diag);
    if (q->noisy) q->rho = (qnn_density *)calloc((size_t)nthr, sizeof *q->rho);
    q->nthr = nthr;
    if (!q->tc || !q->psi || !q->lam || !q->grad || !q->cterms || !q->counts || !q->diag ||
        (q->noisy && !q->rho)) {
        free_work(q);
        return qnn_error_set(err, QNN_ENOMEM, "quantum layer: out of memory");
    }
    int st = qnn_state_check_size(q->n, (size_t)(2 * nthr), err);
    if (st) {
        free_work(q);
        return st;
    }
    for (int t = 0; t < nthr && !st; t++) {
        st = qnn_circuit_copy(&q->tc[t], q->c, err);
        if (!st) st = qnn_state_init(&q->psi[t], q->n, err);
        if (!st) st = qnn_state_init(&q->lam[t], q->n, err);
        if (!st && q->noisy) st = qnn_density_init(&q->rho[t], q->n, err);
        if (!st) {
            q->grad[t] = (double *)calloc((size_t)(q->np ? q->np : 1), sizeof(double));
            q->cterms[t] = (qnn_pauli_term *)malloc(sizeof(qnn_pauli_term) * (size_t)(q->nterms ? q->nterms : 1));
            if (q->shots) q->counts[t] = (double *)calloc((size_t)1 << q->n, sizeof(double));
            q->diag[t] = (double *)malloc(sizeof(double) << q->n);
            if (!q->grad[t] || !q->cterms[t] || (q->shots && !q->counts[t]) || !q->diag[t])
                st = qnn_error_set(err, QNN_ENOMEM, "quantum layer: out of memory");
        }
    }
    if (st) free_work(q);
    return st;
}

static int nthreads_for(const qlayer *q, size_t B) {
    if (q->n >= QNN_QLAYER_PAR_QUBITS || B < 2) return 1;
    int t = omp_get_max_threads();
    if (q->threads > 0 && t > q->threads) t = q->threads;
    if ((size_t)t > B) t = (int)B;
    return t < 1 ? 1 : t;
}

/* Sets the circuit values of thread circuit tc for row x. */
static void set_row_params(const qlayer *q, qnn_circuit *tc, const double *w, const double *x) {
    double *v = tc->values;
    for (int j = 0; j < q->nweights; j++) v[q->weights[j]] = w[j];
    if (!q->amplitude)
        for (int i = 0; i < q->ninputs; i++) v[q->inputs[i]] = x[i];
}

/* Amplitude encoding: psi <- x / |x| padded; returns the norm (0 if x is zero). */
static double amp_encode(const qlayer *q, qnn_state *psi, const double *x) {
    double s = 0.0;
    for (int i = 0; i < q->ninputs; i++) s += x[i] * x[i];
    double nrm = sqrt(s);
    memset(psi->amp, 0, 16 * psi->dim);
    if (nrm > 0)
        for (int i = 0; i < q->ninputs; i++) psi->amp[2 * i] = x[i] / nrm;
    return nrm;
}

/* <Z-string z> from probabilities p (dim entries), summed in index order. */
static double diag_expect(const double *p, size_t dim, uint64_t z) {
    double s = 0.0;
    if ((z & (z - 1)) == 0) { /* one qubit (or none) */
        for (size_t x = 0; x < dim; x++) s += (x & z) ? -p[x] : p[x];
        return s;
    }
    for (size_t x = 0; x < dim; x++) s += (__builtin_popcountll((uint64_t)x & z) & 1) ? -p[x] : p[x];
    return s;
}

/* Exact outputs of a pure state; p: dim scratch. Diagonal (Z/I) terms are read from the
 * probabilities, computed once. */
static void outputs_state(const qlayer *q, const qnn_state *psi, double *p, double *y) {
    const size_t dim = psi->dim;
    const double *a = psi->amp;
    for (size_t x = 0; x < dim; x++) p[x] = a[2 * x] * a[2 * x] + a[2 * x + 1] * a[2 * x + 1];
    for (int k = 0; k < q->noutputs; k++) {
        const qnn_qlayer_output *o = &q->outs[k];
        if (!o->nterms) {
            y[k] = p[o->basis];
            continue;
        }
        double v = 0.0;
        for (int t = 0; t < o->nterms; t++) {
            const qnn_pauli_term *tm = &o->terms[t];
            if (tm->x == 0) v += tm->coef * diag_expect(p, dim, tm->z);
            else v += qnn_state_expect(psi, tm, 1);
        }
        y[k] = v;
    }
}

static void outputs_density(const qlayer *q, const qnn_density *d, double *y) {
    for (int k = 0; k < q->noutputs; k++) {
        const qnn_qlayer_output *o = &q->outs[k];
        y[k] = o->nterms ? qnn_density_expect(d, o->terms, o->nterms)
                         : qnn_density_prob(d, (size_t)o->basis);
    }
}

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Shot estimates of row r into y (state psi or density d). */
static void outputs_shots(const qlayer *q, const qnn_state *psi, const qnn_density *d,
                          double *counts, uint64_t base, size_t r, double *y) {
    qnn_rng rng;
    qnn_rng_seed(&rng, mix64(base ^ mix64((uint64_t)r)));
    const double N = (double)q->shots;
    int any_prob = 0;
    for (int k = 0; k < q->noutputs; k++) {
        const qnn_qlayer_output *o = &q->outs[k];
        if (!o->nterms) {
            any_prob = 1;
            continue;
        }
        double v = 0.0;
        for (int t = 0; t < o->nterms; t++) {
            qnn_pauli_term one = o->terms[t];
            double c = one.coef;
            one.coef = 1.0;
            double e = psi ? qnn_state_expect(psi, &one, 1) : qnn_density_expect(d, &one, 1);
            double p = 0.5 * (1.0 + e);
            size_t hits = 0;
            for (size_t s = 0; s < q->shots; s++) hits += qnn_rng_uniform(&rng) < p;
            v += c * (2.0 * (double)hits / N - 1.0);
        }
        y[k] = v;
    }
    if (!any_prob) return;
    /* one multinomial draw over all basis states by inverse CDF (counts holds the CDF) */
    size_t dim = (size_t)1 << q->n;
    double acc = 0.0;
    for (size_t x = 0; x < dim; x++) {
        double p;
        if (psi) p = psi->amp[2 * x] * psi->amp[2 * x] + psi->amp[2 * x + 1] * psi->amp[2 * x + 1];
        else p = qnn_density_prob(d, x);
        acc += p;
        counts[x] = acc;
    }
    for (int k = 0; k < q->noutputs; k++)
        if (!q->outs[k].nterms) y[k] = 0.0;
    for (size_t s = 0; s < q->shots; s++) {
        double u = qnn_rng_uniform(&rng) * acc;
        size_t lo = 0, hi = dim - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (counts[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        for (int k = 0; k < q->noutputs; k++)
            if (!q->outs[k].nterms && q->outs[k].basis == lo) y[k] += 1.0 / N;
    }
}

static int check_finite_input(const qlayer *q, const qnn_tensor *in, qnn_error *err) {
    for (size_t r = 0; r < in->rows; r++) {
        const double *x = qnn_tensor_row(in, r);
        for (int i = 0; i < q->ninputs; i++)
            if (!isfinite(x[i]))
                return qnn_error_set(err, QNN_EINVAL,
                                     "quantum layer: input row %zu, feature %d is %s (inputs must "
                                     "be finite)", r + 1, i + 1, isnan(x[i]) ? "NaN" : "infinite");
        if (q->amplitude) {
            double s = 0.0;
            for (int i = 0; i < q->ninputs; i++) s += x[i] * x[i];
            if (!(s > 0))
                return qnn_error_set(err, QNN_EINVAL,
                                     "quantum layer: input row %zu is all zero (amplitude "
                                     "encoding needs a non-zero vector)", r + 1);
        }
    }
    return QNN_OK;
}

static int check_weights(const qnn_layer *l, qnn_error *err) {
    const qlayer *q = QL(l);
    for (int j = 0; j < q->nweights; j++)
        if (!isfinite(l->w[j]))
            return qnn_error_set(err, QNN_EINVAL, "quantum layer: weight '%s' is not finite",
                                 q->c->names[q->weights[j]]);
    return QNN_OK;
}

/* Records the first failing row (lowest index) and its message. */
typedef struct failure {
    size_t row;
    int st;
    qnn_error err;
} failure;

static void record(failure *f, size_t r, int st, const qnn_error *e) {
#pragma omp critical(qnn_qlayer_fail)
    {
        if (!f->st || r < f->row) {
            f->row = r;
            f->st = st;
            f->err = *e;
        }
    }
}

static int failed(const failure *f) {
    int v;
#pragma omp atomic read
    v = f->st;
    return v;
}

static int ql_forward(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                      qnn_rng *rng, qnn_error *err) {
    (void)train;
    qlayer *q = QL(l);
    const size_t B = in->rows;
    if (B == 0) return QNN_OK;
    int st = check_finite_input(q, in, err);
    if (!st) st = check_weights(l, err);
    if (st) return st;
    const int T = nthreads_for(q, B);
    st = ensure_work(q, T, err);
    if (st) return st;
    uint64_t base = 0;
    if (q->shots) base = q->has_seed ? qnn_rng_next(&q->own) : qnn_rng_next(rng);
    /* cache of output states (pure states only) */
    const size_t dim = (size_t)1 << q->n;
    q->cache_ok = 0;
    size_t need = 0;
    int use_cache = !q->noisy && !qnn_mul_size(B, 16 * dim, &need) && need <= CACHE_MAX_BYTES;
    if (use_cache && need > q->cache_cap) {
        qnn_aligned_free(q->cache);
        q->cache = (double *)qnn_aligned_alloc(64, need);
        q->cache_cap = q->cache ? need : 0;
        if (!q->cache) use_cache = 0;
    }
    if (use_cache && !q->cache_w && q->nweights) {
        q->cache_w = (double *)malloc(sizeof(double) * (size_t)q->nweights);
        if (!q->cache_w) use_cache = 0;
    }
    failure f;
    memset(&f, 0, sizeof f);
    const double *w = l->w;
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (size_t r = 0; r < B; r++) {
        if (failed(&f)) continue;
        int t = T > 1 ? omp_get_thread_num() : 0;
        qnn_error e;
        qnn_error_clear(&e);
        const double *x = qnn_tensor_row(in, r);
        double *y = qnn_tensor_row(out, r);
        qnn_circuit *tc = q->tc[t];
        set_row_params(q, tc, w, x);
        int s = qnn_interrupt_pending() ? QNN_EINTR : QNN_OK;
        if (!s && q->noisy) {
            qnn_density_set_zero(&q->rho[t]);
            s = qnn_circuit_run_density(tc, &q->rho[t], &q->noise, &e);
            if (!s) {
                if (q->shots) outputs_shots(q, NULL, &q->rho[t], q->counts[t], base, r, y);
                else outputs_density(q, &q->rho[t], y);
            }
        } else if (!s) {
            qnn_state *psi = &q->psi[t];
            if (q->amplitude) amp_encode(q, psi, x);
            else qnn_state_set_zero(psi);
            s = qnn_circuit_run(tc, psi, NULL, NULL, &e);
            if (!s) {
                if (q->shots) outputs_shots(q, psi, NULL, q->counts[t], base, r, y);
                else outputs_state(q, psi, q->diag[t], y);
                if (use_cache) memcpy(q->cache + r * 2 * dim, psi->amp, 16 * dim);
            }
        }
        if (s) record(&f, r, s, &e);
    }
    if (f.st) {
        if (err) *err = f.err;
        if (f.st == QNN_EINTR) return qnn_error_set(err, QNN_EINTR, "interrupted");
        return qnn_error_set(err, f.st, "quantum layer, sample %zu: %s", f.row + 1, f.err.msg);
    }
    if (use_cache) {
        q->cache_ok = 1;
        q->cache_rows = B;
        q->cache_x = in->data;
        if (q->nweights) memcpy(q->cache_w, w, sizeof(double) * (size_t)q->nweights);
    }
    return QNN_OK;
}

/* Scalar S = sum_k d[k] out_k of a density run of tc (noisy path). */
static int density_objective(const qlayer *q, qnn_circuit *tc, qnn_density *rho, const double *d,
                             double *S, qnn_error *e) {
    qnn_density_set_zero(rho);
    int st = qnn_circuit_run_density(tc, rho, &q->noise, e);
    if (st) return st;
    double s = 0.0;
    for (int k = 0; k < q->noutputs; k++) {
        if (d[k] == 0.0) continue;
        const qnn_qlayer_output *o = &q->outs[k];
        double v = o->nterms ? qnn_density_expect(rho, o->terms, o->nterms)
                             : qnn_density_prob(rho, (size_t)o->basis);
        s += d[k] * v;
    }
    *S = s;
    return QNN_OK;
}

/* Parameter-shift gradient of S over every gate occurrence (noisy path). */
static int shift_grad(const qlayer *q, qnn_circuit *tc, qnn_density *rho, const double *d,
                      double *g, qnn_error *e) {
    const double dp = (M_SQRT2 + 1.0) / (4.0 * M_SQRT2), dm = (M_SQRT2 - 1.0) / (4.0 * M_SQRT2);
    for (int i = 0; i < q->np; i++) g[i] = 0.0;
    for (size_t k = 0; k < tc->nops; k++) {
        qnn_op *op = &tc->ops[k];
        int na = qnn_op_kind_nangles(op->kind);
        for (int a = 0; a < na; a++) {
            if (op->ang[a].param < 0 || op->ang[a].scale == 0.0) continue;
            const double keep = op->ang[a].offset;
            const int four = op->kind == QNN_G_CRX || op->kind == QNN_G_CRY || op->kind == QNN_G_CRZ;
            const double sh[4] = {M_PI / 2, -M_PI / 2, 1.5 * M_PI, -1.5 * M_PI};
            double f[4] = {0, 0, 0, 0};
            int st = QNN_OK;
            for (int j = 0; j < (four ? 4 : 2) && !st; j++) {
                op->ang[a].offset = keep + sh[j];
                st = density_objective(q, tc, rho, d, &f[j], e);
            }
            op->ang[a].offset = keep;
            if (st) return st;
            double der = four ? dp * (f[0] - f[1]) - dm * (f[2] - f[3]) : 0.5 * (f[0] - f[1]);
            g[op->ang[a].param] += op->ang[a].scale * der;
        }
    }
    return QNN_OK;
}

static int ql_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *outt,
                       const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)outt;
    qlayer *q = QL(l);
    const size_t B = in->rows;
    if (B == 0) return QNN_OK;
    int st = check_finite_input(q, in, err);
    if (!st) st = check_weights(l, err);
    if (st) return st;
    for (size_t r = 0; r < B; r++) {
        const double *d = qnn_tensor_row(dout, r);
        for (int k = 0; k < q->noutputs; k++)
            if (!isfinite(d[k]))
                return qnn_error_set(err, QNN_EINVAL,
                                     "quantum layer backward: output gradient (%zu, %d) is not "
                                     "finite", r + 1, k + 1);
    }
    const int T = nthreads_for(q, B);
    st = ensure_work(q, T, err);
    if (st) return st;
    const int nw = q->nweights;
    size_t gneed = 0;
    if (qnn_mul_size(B, (size_t)(nw ? nw : 1), &gneed) || gneed > ((size_t)1 << 32))
        return qnn_error_set(err, QNN_ENOMEM, "quantum layer: batch too large");
    if (gneed > q->gw_cap) {
        free(q->gw);
        q->gw = (double *)malloc(sizeof(double) * gneed);
        q->gw_cap = q->gw ? gneed : 0;
        if (!q->gw) return qnn_error_set(err, QNN_ENOMEM, "quantum layer: out of memory");
    }
    const double *w = l->w;
    const size_t dim = (size_t)1 << q->n;
    int cached = q->cache_ok && q->cache_rows == B && q->cache_x == in->data &&
                 (nw == 0 || memcmp(q->cache_w, w, sizeof(double) * (size_t)nw) == 0);
    failure f;
    memset(&f, 0, sizeof f);
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (size_t r = 0; r < B; r++) {
        if (failed(&f)) continue;
        int t = T > 1 ? omp_get_thread_num() : 0;
        qnn_error e;
        qnn_error_clear(&e);
        const double *x = qnn_tensor_row(in, r);
        const double *d = qnn_tensor_row(dout, r);
        qnn_circuit *tc = q->tc[t];
        double *g = q->grad[t];
        set_row_params(q, tc, w, x);
        int s = qnn_interrupt_pending() ? QNN_EINTR : QNN_OK;
        double nrm = 0.0;
        if (!s && q->noisy) {
            s = shift_grad(q, tc, &q->rho[t], d, g, &e);
        } else if (!s) {
            qnn_state *psi = &q->psi[t], *lam = &q->lam[t];
            if (q->amplitude) nrm = amp_encode(q, psi, x);
            if (cached) {
                memcpy(psi->amp, q->cache + r * 2 * dim, 16 * dim);
            } else {
                if (!q->amplitude) qnn_state_set_zero(psi);
                s = qnn_circuit_run(tc, psi, NULL, NULL, &e);
            }
            if (!s) {
                /* lam = (sum_k d_k O_k + diag(dprobs)) psi: off-diagonal terms through
                 * apply_observable, Z/I terms and probabilities as one diagonal weight w */
                qnn_pauli_term *ct = q->cterms[t];
                double *wd = q->diag[t];
                memset(wd, 0, sizeof(double) * dim);
                int nt = 0;
                for (int k = 0; k < q->noutputs; k++) {
                    const qnn_qlayer_output *o = &q->outs[k];
                    if (d[k] == 0.0) continue;
                    if (!o->nterms) {
                        wd[o->basis] += d[k];
                        continue;
                    }
                    for (int j = 0; j < o->nterms; j++) {
                        const qnn_pauli_term *tm = &o->terms[j];
                        const double c = tm->coef * d[k];
                        if (tm->x == 0) {
                            const uint64_t z = tm->z;
                            for (size_t x = 0; x < dim; x++)
                                wd[x] += (__builtin_popcountll((uint64_t)x & z) & 1) ? -c : c;
                        } else {
                            ct[nt] = *tm;
                            ct[nt].coef = c;
                            nt++;
                        }
                    }
                }
                if (nt) s = qnn_state_apply_observable(lam, psi, ct, nt, &e);
                if (!s) {
                    double *la = lam->amp;
                    const double *pa = psi->amp;
                    if (nt)
                        for (size_t x = 0; x < dim; x++) {
                            la[2 * x] += wd[x] * pa[2 * x];
                            la[2 * x + 1] += wd[x] * pa[2 * x + 1];
                        }
                    else
                        for (size_t x = 0; x < dim; x++) {
                            la[2 * x] = wd[x] * pa[2 * x];
                            la[2 * x + 1] = wd[x] * pa[2 * x + 1];
                        }
                }
            }
            if (!s) s = qnn_circuit_adjoint(tc, psi, lam, g, q->amplitude, &e);
        }
        if (s) {
            record(&f, r, s, &e);
            continue;
        }
        for (int j = 0; j < nw; j++) q->gw[r * (size_t)nw + (size_t)j] = g[q->weights[j]];
        if (din) {
            double *o = qnn_tensor_row(din, r);
            if (!q->amplitude) {
                for (int i = 0; i < q->ninputs; i++) o[i] = g[q->inputs[i]];
            } else {
                /* psi0 = x / |x|: dL/dx = (G - (psi0 . G) psi0) / |x|, G = 2 Re lambda_0 */
                const double *lm = q->lam[t].amp;
                double dot = 0.0;
                for (int i = 0; i < q->ninputs; i++) dot += (x[i] / nrm) * 2.0 * lm[2 * i];
                for (int i = 0; i < q->ninputs; i++)
                    o[i] = (2.0 * lm[2 * i] - dot * x[i] / nrm) / nrm;
            }
        }
    }
    if (f.st) {
        if (f.st == QNN_EINTR) return qnn_error_set(err, QNN_EINTR, "interrupted");
        return qnn_error_set(err, f.st, "quantum layer backward, sample %zu: %s", f.row + 1,
                             f.err.msg);
    }
    /* fixed-order reduction over rows */
    for (size_t r = 0; r < B; r++) {
        const double *gr = q->gw + r * (size_t)nw;
        for (int j = 0; j < nw; j++) l->g[j] += gr[j];
    }
    /* the cached states were consumed only as copies; keep them valid */
    return QNN_OK;
}

static int ql_init(qnn_layer *l, qnn_rng *rng, qnn_error *err) {
    for (size_t k = 0; k < l->nparams; k++) {
        switch (l->init.kind) {
        case QNN_INIT_DEFAULT: l->w[k] = -M_PI + 2.0 * M_PI * qnn_rng_uniform(rng); break;
        case QNN_INIT_UNIFORM: l->w[k] = l->init.a + (l->init.b - l->init.a) * qnn_rng_uniform(rng); break;
        case QNN_INIT_NORMAL: l->w[k] = l->init.a + l->init.b * qnn_rng_normal(rng); break;
        case QNN_INIT_ZERO: l->w[k] = 0.0; break;
        default:
            return qnn_error_set(err, QNN_EINVAL,
                                 "quantum layer: init must be default, uniform(a,b), normal(m,s) "
                                 "or zeros");
        }
    }
    return QNN_OK;
}

static int ql_copy_state(qnn_layer *dst, const qnn_layer *src, qnn_error *err) {
    const qlayer *s = QL(src);
    qnn_qlayer_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.circuit = s->c;
    sp.ninputs = s->ninputs;
    sp.inputs = s->amplitude ? NULL : s->inputs;
    sp.amplitude = s->amplitude;
    sp.nweights = s->nweights;
    sp.weights = s->weights;
    sp.noutputs = s->noutputs;
    sp.outputs = s->outs;
    sp.shots = s->shots;
    sp.has_seed = s->has_seed;
    sp.seed = s->seed;
    sp.noise = s->noisy ? &s->noise : NULL;
    sp.threads = s->threads;
    qlayer *q;
    int st = build_state(&sp, &q, err);
    if (st) return st;
    q->own = s->own;
    dst->state = q;
    return QNN_OK;
}

const qnn_layer_vtable qnn_qlayer_vt = {"quantum", ql_forward, ql_backward, ql_init, ql_destroy,
                                        ql_copy_state};

int qnn_net_add_qlayer(qnn_net *net, const qnn_qlayer_spec *spec, const qnn_init *init,
                       int has_init_seed, uint64_t init_seed, qnn_error *err) {
    qlayer *q;
    int st = build_state(spec, &q, err);
    if (st) return -st;
    if (init && init->kind != QNN_INIT_DEFAULT && init->kind != QNN_INIT_UNIFORM &&
        init->kind != QNN_INIT_NORMAL && init->kind != QNN_INIT_ZERO) {
        ql_free(q);
        return -qnn_error_set(err, QNN_EINVAL,
                              "quantum layer: init must be default, uniform(a,b), normal(m,s) or "
                              "zeros");
    }
    double fp[4] = {(double)q->n, (double)q->nweights, (double)q->amplitude, (double)q->shots};
    int rc = qnn_net_add_layer(net, &qnn_qlayer_vt, (size_t)q->ninputs, (size_t)q->noutputs,
                               (size_t)q->nweights, fp, q, err);
    if (rc < 0) return rc; /* the layer freed q */
    qnn_layer *l = &net->layers[rc];
    if (init) l->init = *init;
    l->has_seed = has_init_seed;
    l->seed = init_seed;
    return rc;
}

/* ---------------- read-outs ---------------- */
const qnn_circuit *qnn_qlayer_circuit(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->c : NULL; }
int qnn_qlayer_ninputs(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->ninputs : 0; }
int qnn_qlayer_nweights(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->nweights : 0; }
int qnn_qlayer_is_amplitude(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->amplitude : 0; }
int qnn_qlayer_is_noisy(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->noisy : 0; }
size_t qnn_qlayer_shots(const qnn_layer *l) { return qnn_qlayer_is(l) ? QL(l)->shots : 0; }
const int *qnn_qlayer_input_params(const qnn_layer *l) {
    return qnn_qlayer_is(l) && !QL(l)->amplitude ? QL(l)->inputs : NULL;
}
const int *qnn_qlayer_weight_params(const qnn_layer *l) {
    return qnn_qlayer_is(l) ? QL(l)->weights : NULL;
}

/* ---------------- text description ----------------
 * qlayer 1
 * n <n> params <np>
 * p <len> <name>                       (np lines)
 * ops <nops>
 * o <kind> <nq> <q...> <off scale param> x3 <ndata> <data...>
 * inputs <F> <amplitude> <idx...>
 * weights <nw> <idx...>
 * outputs <K>
 * t <nterms> <basis> [<coef> <x> <z>]...  (K lines)
 * shots <shots> <has_seed> <seed>
 * noise <p1> <p2> <amp_damp> <phase_damp> <bit_flip> <phase_flip>
 * Doubles are written with %a (exact). */
int qnn_qlayer_describe(const qnn_layer *l, char **out, qnn_error *err) {
    *out = NULL;
    if (!qnn_qlayer_is(l)) return qnn_error_set(err, QNN_EINVAL, "not a quantum layer");
    const qlayer *q = QL(l);
    const qnn_circuit *c = q->c;
    qnn_sbuf b = {NULL, 0, 0, 0};
    qnn_sb_printf(&b, "qlayer 1\nn %d params %d\n", c->n, c->np);
    for (int i = 0; i < c->np; i++) qnn_sb_printf(&b, "p %zu %s\n", strlen(c->names[i]), c->names[i]);
    qnn_sb_printf(&b, "ops %zu\n", c->nops);
    for (size_t k = 0; k < c->nops; k++) {
        const qnn_op *op = &c->ops[k];
        const int *qs = qnn_op_qubits(op);
        qnn_sb_printf(&b, "o %d %d", op->kind, op->nq);
        for (int i = 0; i < op->nq; i++) qnn_sb_printf(&b, " %d", qs[i]);
        for (int a = 0; a < 3; a++)
            qnn_sb_printf(&b, " %a %a %d", op->ang[a].offset, op->ang[a].scale, op->ang[a].param);
        size_t nd = qnn_circ_op_datalen(op, c->n);
        qnn_sb_printf(&b, " %zu", nd);
        for (size_t i = 0; i < nd; i++) qnn_sb_printf(&b, " %a", op->data[i]);
        qnn_sb_puts(&b, "\n");
    }
    qnn_sb_printf(&b, "inputs %d %d", q->ninputs, q->amplitude);
    if (!q->amplitude)
        for (int i = 0; i < q->ninputs; i++) qnn_sb_printf(&b, " %d", q->inputs[i]);
    qnn_sb_printf(&b, "\nweights %d", q->nweights);
    for (int j = 0; j < q->nweights; j++) qnn_sb_printf(&b, " %d", q->weights[j]);
    qnn_sb_printf(&b, "\noutputs %d\n", q->noutputs);
    for (int k = 0; k < q->noutputs; k++) {
        const qnn_qlayer_output *o = &q->outs[k];
        qnn_sb_printf(&b, "t %d %llu", o->nterms, (unsigned long long)o->basis);
        for (int t = 0; t < o->nterms; t++)
            qnn_sb_printf(&b, " %a %llu %llu", o->terms[t].coef, (unsigned long long)o->terms[t].x,
                          (unsigned long long)o->terms[t].z);
        qnn_sb_puts(&b, "\n");
    }
    qnn_sb_printf(&b, "shots %zu %d %llu\n", q->shots, q->has_seed, (unsigned long long)q->seed);
    qnn_sb_printf(&b, "noise %a %a %a %a %a %a\n", q->noise.p1, q->noise.p2, q->noise.amp_damp,
                  q->noise.phase_damp, q->noise.bit_flip, q->noise.phase_flip);
    if (b.oom || !b.p) {
        free(b.p);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    *out = b.p;
    return QNN_OK;
}

/* tiny bounded scanner */
typedef struct scan {
    const char *p;
    int bad;
} scan;

static void skip_ws(scan *s) {
    while (*s->p == ' ' || *s->p == '\n') s->p++;
}
static void word(scan *s, const char *w) {
    skip_ws(s);
    size_t n = strlen(w);
    if (strncmp(s->p, w, n) != 0) s->bad = 1;
    else s->p += n;
}
static long long sint(scan *s, long long lo, long long hi) {
    skip_ws(s);
    char *e;
    long long v = strtoll(s->p, &e, 10);
    if (e == s->p || v < lo || v > hi) {
        s->bad = 1;
        return lo;
    }
    s->p = e;
    return v;
}
static unsigned long long suint(scan *s) {
    skip_ws(s);
    if (*s->p == '-') {
        s->bad = 1;
        return 0;
    }
    char *e;
    unsigned long long v = strtoull(s->p, &e, 10);
    if (e == s->p) s->bad = 1;
    else s->p = e;
    return v;
}
static double sdbl(scan *s) {
    skip_ws(s);
    char *e;
    double v = strtod(s->p, &e);
    if (e == s->p || !isfinite(v)) {
        s->bad = 1;
        return 0.0;
    }
    s->p = e;
    return v;
}

int qnn_net_add_qlayer_text(qnn_net *net, const char *text, qnn_error *err) {
    if (!text) return -qnn_error_set(err, QNN_EINVAL, "quantum layer: no description");
    scan s = {text, 0};
    qnn_circuit *c = NULL;
    int *inputs = NULL, *weights = NULL;
    qnn_qlayer_output *outs = NULL;
    qnn_pauli_term *terms = NULL;
    double *data = NULL;
    int rc = -QNN_EFORMAT, nouts = 0;
    word(&s, "qlayer 1");
    word(&s, "n");
    int n = (int)sint(&s, 1, 30);
    word(&s, "params");
    int np = (int)sint(&s, 0, 1 << 20);
    if (s.bad || qnn_circuit_new(&c, n, err)) goto fail;
    for (int i = 0; i < np && !s.bad; i++) {
        word(&s, "p");
        size_t len = (size_t)sint(&s, 1, 200);
        if (s.bad || *s.p != ' ') goto fail;
        s.p++;
        if (strnlen(s.p, len) < len) goto fail;
        char name[201];
        memcpy(name, s.p, len);
        name[len] = 0;
        s.p += len;
        if (qnn_circuit_param(c, name, err) != i) goto fail;
    }
    word(&s, "ops");
    long long nops = sint(&s, 1, 1LL << 30);
    for (long long k = 0; k < nops && !s.bad; k++) {
        word(&s, "o");
        int kind = (int)sint(&s, 0, QNN_G_COUNT - 1);
        int nq = (int)sint(&s, 1, n);
        if (s.bad) goto fail;
        int qs[QNN_CIRCUIT_MAXQ];
        for (int i = 0; i < nq; i++) qs[i] = (int)sint(&s, 0, n - 1);
        qnn_angle ang[3];
        for (int a = 0; a < 3; a++) {
            ang[a].offset = sdbl(&s);
            ang[a].scale = sdbl(&s);
            ang[a].param = (int)sint(&s, -1, np - 1);
        }
        long long nd = sint(&s, 0, 1LL << 22);
        if (s.bad) goto fail;
        free(data);
        data = (double *)malloc(sizeof(double) * (size_t)(nd ? nd : 1));
        if (!data) {
            rc = -qnn_error_set(err, QNN_ENOMEM, "out of memory");
            goto out;
        }
        for (long long i = 0; i < nd; i++) data[i] = sdbl(&s);
        if (s.bad) goto fail;
        int st;
        if (kind == QNN_G_UNITARY) {
            if (nq > QNN_CIRCUIT_MAXU || nd != 2LL << (2 * nq)) goto fail;
            st = qnn_circuit_unitary_gate(c, qs, nq, data, 1e-9, err);
        } else if (kind == QNN_G_DIAGONAL) {
            if (nq > QNN_CIRCUIT_MAXDIAG || nd != 1LL << nq) goto fail;
            qnn_op op;
            memset(&op, 0, sizeof op);
            op.kind = kind;
            op.nq = nq;
            for (int i = 0; i < nq; i++)
                for (int j = 0; j < i; j++)
                    if (qs[i] == qs[j]) goto fail;
            if (nq > 3) {
                op.qext = (int *)malloc(sizeof(int) * (size_t)nq);
                if (!op.qext) goto fail;
                memcpy(op.qext, qs, sizeof(int) * (size_t)nq);
            } else memcpy(op.qbuf, qs, sizeof(int) * (size_t)nq);
            for (int a = 0; a < 3; a++) op.ang[a] = qnn_angle_const(0.0);
            op.data = data;
            data = NULL;
            st = qnn_circ_push(c, &op, err);
        } else {
            if (nd != 0) goto fail;
            st = qnn_circuit_add(c, kind, qs, nq, ang, err);
        }
        if (st) goto fail;
    }
    word(&s, "inputs");
    int F = (int)sint(&s, 1, 0x7fffffff);
    int amp = (int)sint(&s, 0, 1);
    if (s.bad || F > (1 << 24)) goto fail;
    if (!amp) {
        inputs = (int *)malloc(sizeof(int) * (size_t)F);
        if (!inputs) goto fail;
        for (int i = 0; i < F; i++) inputs[i] = (int)sint(&s, 0, np - 1);
    }
    word(&s, "weights");
    int nw = (int)sint(&s, 0, np);
    if (s.bad) goto fail;
    weights = (int *)malloc(sizeof(int) * (size_t)(nw ? nw : 1));
    if (!weights) goto fail;
    for (int j = 0; j < nw; j++) weights[j] = (int)sint(&s, 0, np - 1);
    word(&s, "outputs");
    nouts = (int)sint(&s, 1, QNN_QLAYER_MAX_OUTPUTS);
    if (s.bad) goto fail;
    outs = (qnn_qlayer_output *)calloc((size_t)nouts, sizeof *outs);
    if (!outs) goto fail;
    for (int k = 0; k < nouts && !s.bad; k++) {
        word(&s, "t");
        int nt = (int)sint(&s, 0, 1 << 20);
        outs[k].basis = suint(&s);
        outs[k].nterms = nt;
        if (s.bad) goto fail;
        if (nt) {
            qnn_pauli_term *tt = (qnn_pauli_term *)malloc(sizeof *tt * (size_t)nt);
            if (!tt) goto fail;
            outs[k].terms = tt;
            for (int t = 0; t < nt; t++) {
                tt[t].coef = sdbl(&s);
                tt[t].x = suint(&s);
                tt[t].z = suint(&s);
            }
        }
    }
    word(&s, "shots");
    size_t shots = (size_t)suint(&s);
    int has_seed = (int)sint(&s, 0, 1);
    uint64_t seed = suint(&s);
    word(&s, "noise");
    qnn_noise nz;
    memset(&nz, 0, sizeof nz);
    nz.p1 = sdbl(&s);
    nz.p2 = sdbl(&s);
    nz.amp_damp = sdbl(&s);
    nz.phase_damp = sdbl(&s);
    nz.bit_flip = sdbl(&s);
    nz.phase_flip = sdbl(&s);
    if (s.bad) goto fail;
    qnn_qlayer_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.circuit = c;
    sp.ninputs = F;
    sp.inputs = inputs;
    sp.amplitude = amp;
    sp.nweights = nw;
    sp.weights = weights;
    sp.noutputs = nouts;
    sp.outputs = outs;
    sp.shots = shots;
    sp.has_seed = has_seed;
    sp.seed = seed;
    sp.noise = &nz;
    rc = qnn_net_add_qlayer(net, &sp, NULL, 0, 0, err);
    goto out;
fail:
    rc = -qnn_error_set(err, QNN_EFORMAT, "quantum layer: malformed description (%s)",
                        err && err->msg[0] ? err->msg : "parse error");
out:
    if (outs)
        for (int k = 0; k < nouts; k++) free((void *)outs[k].terms);
    free(outs);
    free(terms);
    free(inputs);
    free(weights);
    free(data);
    qnn_circuit_free(c);
    return rc;
}
