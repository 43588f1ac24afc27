/* Method 1: coordinate-wise Grover-search weight optimisation. See include/qnn/grover_optim.h. */
#include "fastmath.h"
#include "qnn/grover_optim.h"

#include "qnn/blas.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "grover_kern.h"

#define QNN_PI 3.14159265358979323846
/* Rows of the stacked candidate workspace per chunk (bounds memory: O(chunk * width)). */
#define GOPT_CHUNK_ROWS ((size_t)2048)

typedef struct gdense {
    qnn_layer *layer; /* dense layer inside the net */
    size_t in, out;
    int bias;
    int act; /* QNN_LAYER_* applied after it; QNN_LAYER_IDENTITY if none; SOFTMAX only last */
} gdense;

struct qnn_gopt_eval {
    qnn_net *net;
    const qnn_tensor *X;
    const int *labels;
    double l2;
    size_t B, D, K, maxw;
    gdense *d;
    double **A;     /* A[d]: B x in_d (A[0] = copy of X); A[D] = logits (B x K) */
    double **Z;     /* Z[d]: B x out_d pre-activations */
    double sqnorm;  /* sum of squares of all parameters */
    double ce_sum;  /* sum over samples of cross-entropy */
    double *ws[2];  /* candidate workspaces, chunk_rows x maxw each */
    double *dh;     /* chunk_rows: change of the touched neuron per (candidate, sample) */
    double *tmp;    /* chunk_rows x maxw scratch for the vector kernels */
    double *rowv[3];/* chunk_rows each: per-row scratch (max, sums, ...) */
    double *col;    /* B: scratch column */
    size_t chunk_rows;
    /* fused kernel (grover_kern.h): per-sample arrays padded to Bp, transposed */
    qnn_gopt_kernel kernel; /* resolved, never AUTO */
    size_t Bp;
    double *kzj, *khj, *ka; /* Bp each */
    double *kZT;            /* maxw x Bp */
    double *konehot;        /* K x Bp */
    double *kmask;          /* Bp */
    double *kwork;          /* gopt_kwork_doubles(maxw) */
    gopt_klayer *klay;      /* D */
    double *cerow;          /* B: cross-entropy of each sample at the current weights */
    /* per-thread scratch of the parallel candidate loops (threads 0..tn-1): the fused kernel's
     * work area and 4 B-vectors of the output-layer path */
    int tn;
    double **tkw, **tsc;
};

/* ---------------- activations (same formulas as src/core/layers.c) ---------------- */
static inline double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static inline double act1(int kind, double z) {
    switch (kind) {
    case QNN_LAYER_TANH: return tanh(z);
    case QNN_LAYER_RELU: return z > 0 ? z : 0.0;
    case QNN_LAYER_SIGMOID: return sigmoid(z);
    case QNN_LAYER_SIGN: return z >= 0 ? 1.0 : -1.0;
    default: return z; /* identity; softmax handled by the loss */
    }
}

static void act_inplace(int kind, double *x, size_t n) {
    switch (kind) {
    case QNN_LAYER_TANH:
        for (size_t k = 0; k < n; k++) x[k] = tanh(x[k]);
        break;
    case QNN_LAYER_RELU:
        for (size_t k = 0; k < n; k++) x[k] = x[k] > 0 ? x[k] : 0.0;
        break;
    case QNN_LAYER_SIGMOID:
        for (size_t k = 0; k < n; k++) x[k] = sigmoid(x[k]);
        break;
    case QNN_LAYER_SIGN:
        for (size_t k = 0; k < n; k++) x[k] = x[k] >= 0 ? 1.0 : -1.0;
        break;
    default: break;
    }
}

/* Activation feeding the next layer (softmax at the end is part of the loss). */
static inline int hidden_act(const gdense *g) {
    return g->act == QNN_LAYER_SOFTMAX ? QNN_LAYER_IDENTITY : g->act;
}

/* Cross-entropy of one row of logits (fused stable log-softmax, as nn.c). */
static inline double ce_row(const double *l, size_t K, int y) {
    double m = l[0];
    for (size_t k = 1; k < K; k++)
        if (l[k] > m) m = l[k];
    double s = 0.0;
    for (size_t k = 0; k < K; k++) s += exp(l[k] - m);
    return m + log(s) - l[y];
}


/* ---------------- vector kernels (hot path) ----------------
 * exp on [-708, 709] by range reduction (x = n ln2 + r, |r| <= ln2/2) and a degree-13 Taylor
 * polynomial: relative error <= 2.3e-16 (tested against libm). tanh(x) = sign(x) (1 - e) /
 * (1 + e), e = exp(-2|x|): absolute error <= 3e-16. Written so that GCC vectorises the loops
 * (clamping and the exponent bit trick sit in separate loops), with an AVX2/FMA clone picked at
 * run time where the CPU has it. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(QNN_NO_AVX2)
#define GOPT_HAVE_AVX2 1
#endif

#define exp_reduced qnn_exp_clamped /* src/core/fastmath.h */

#define GOPT_VEXP_BODY                                                                          \
    for (size_t i = 0; i < n; i++) {                                                            \
        double y = x[i];                                                                        \
        y = y < -708.0 ? -708.0 : y;                                                            \
        x[i] = y > 709.0 ? 709.0 : y;                                                           \
    }                                                                                           \
    _Pragma("omp simd") for (size_t i = 0; i < n; i++) x[i] = exp_reduced(x[i]);
#define GOPT_VTANH_BODY                                                                         \
    _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                        \
        double a = -2.0 * fabs(x[i]);                                                           \
        tmp[i] = a < -708.0 ? -708.0 : a;                                                       \
    }                                                                                           \
    _Pragma("omp simd") for (size_t i = 0; i < n; i++) {                                        \
        double e = exp_reduced(tmp[i]);                                                         \
        x[i] = copysign((1.0 - e) / (1.0 + e), x[i]);                                           \
    }

static void vexp_generic(double *x, size_t n) {
    _Pragma("omp simd") GOPT_VEXP_BODY
}
static void vtanh_generic(double *x, double *tmp, size_t n) { GOPT_VTANH_BODY }
#ifdef GOPT_HAVE_AVX2
__attribute__((target("avx2,fma"))) static void vexp_avx2(double *x, size_t n) {
    _Pragma("omp simd") GOPT_VEXP_BODY
}
__attribute__((target("avx2,fma"))) static void vtanh_avx2(double *x, double *tmp, size_t n) {
    GOPT_VTANH_BODY
}
__attribute__((target("avx512f,avx512dq,avx2,fma"))) static void vexp_avx512(double *x, size_t n) {
    _Pragma("omp simd") GOPT_VEXP_BODY
}
__attribute__((target("avx512f,avx512dq,avx2,fma"))) static void vtanh_avx512(double *x,
                                                                               double *tmp,
                                                                               size_t n) {
    GOPT_VTANH_BODY
}
static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int have_avx512(void) {
    return have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}
#endif

/* x <- exp(x) */
void qnn_gopt_vexp(double *x, size_t n) {
#ifdef GOPT_HAVE_AVX2
    if (have_avx512()) {
        vexp_avx512(x, n);
        return;
    }
    if (have_avx2()) {
        vexp_avx2(x, n);
        return;
    }
#endif
    vexp_generic(x, n);
}

/* x <- tanh(x); tmp: n doubles of scratch */
void qnn_gopt_vtanh(double *x, double *tmp, size_t n) {
#ifdef GOPT_HAVE_AVX2
    if (have_avx512()) {
        vtanh_avx512(x, tmp, n);
        return;
    }
    if (have_avx2()) {
        vtanh_avx2(x, tmp, n);
        return;
    }
#endif
    vtanh_generic(x, tmp, n);
}

static void act_vec(int kind, double *x, double *tmp, size_t n) {
    if (kind == QNN_LAYER_TANH) qnn_gopt_vtanh(x, tmp, n);
    else act_inplace(kind, x, n);
}

/* sum of log(v[r]) for v[r] in [1, vmax]: products over blocks, one log per block */
static double sum_log(const double *v, size_t n, double vmax) {
    size_t block = vmax > 1.0 ? (size_t)(700.0 / log(vmax)) : n;
    if (block < 1) block = 1;
    double acc = 0.0;
    for (size_t r0 = 0; r0 < n; r0 += block) {
        size_t r1 = r0 + block < n ? r0 + block : n;
        double p = 1.0;
        for (size_t r = r0; r < r1; r++) p *= v[r];
        acc += log(p);
    }
    return acc;
}

/* Sum over `rows` rows of logits (row-major, K columns) of the cross-entropy (labels[r]). */
static double ce_rows(qnn_gopt_eval *ev, const double *Lg, size_t rows, const int *labels) {
    const size_t K = ev->K;
    double *m = ev->rowv[0], *S = ev->rowv[1], *E = ev->tmp;
    double lin = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const double *l = Lg + r * K;
        double mx = l[0];
        for (size_t k = 1; k < K; k++) mx = l[k] > mx ? l[k] : mx;
        m[r] = mx;
        lin += mx - l[labels[r]];
        double *e = E + r * K;
        for (size_t k = 0; k < K; k++) e[k] = l[k] - mx;
    }
    qnn_gopt_vexp(E, rows * K);
    for (size_t r = 0; r < rows; r++) {
        const double *e = E + r * K;
        double sum = 0.0;
        for (size_t k = 0; k < K; k++) sum += e[k];
        S[r] = sum;
    }
    return lin + sum_log(S, rows, (double)K);
}

/* ---------------- construction ---------------- */
size_t qnn_gopt_eval_bytes(const qnn_gopt_eval *ev) {
    if (!ev) return 0;
    size_t n = ev->B * ev->K + ev->B * 2; /* logits, col, cerow */
    for (size_t d = 0; d < ev->D; d++) n += ev->B * (ev->d[d].in + ev->d[d].out);
    size_t wsw = ev->maxw > 3 ? ev->maxw : 3;
    n += ev->chunk_rows * (2 * wsw + 4 + (ev->maxw > ev->K ? ev->maxw : ev->K));
    n += ev->Bp * (4 + ev->maxw + ev->K) + gopt_kwork_doubles(ev->maxw);
    return sizeof *ev + n * sizeof(double) + ev->D * (sizeof(gdense) + sizeof(gopt_klayer));
}

void qnn_gopt_eval_free(qnn_gopt_eval *ev) {
    if (!ev) return;
    if (ev->A)
        for (size_t d = 0; d <= ev->D; d++) qnn_aligned_free(ev->A[d]);
    if (ev->Z)
        for (size_t d = 0; d < ev->D; d++) qnn_aligned_free(ev->Z[d]);
    free(ev->A);
    free(ev->Z);
    free(ev->d);
    qnn_aligned_free(ev->ws[0]);
    qnn_aligned_free(ev->ws[1]);
    qnn_aligned_free(ev->dh);
    qnn_aligned_free(ev->tmp);
    for (int k = 0; k < 3; k++) qnn_aligned_free(ev->rowv[k]);
    qnn_aligned_free(ev->col);
    qnn_aligned_free(ev->kzj);
    qnn_aligned_free(ev->khj);
    qnn_aligned_free(ev->ka);
    qnn_aligned_free(ev->kZT);
    qnn_aligned_free(ev->konehot);
    qnn_aligned_free(ev->kmask);
    qnn_aligned_free(ev->kwork);
    free(ev->klay);
    qnn_aligned_free(ev->cerow);
    for (int t = 0; t < ev->tn; t++) {
        qnn_aligned_free(ev->tkw[t]);
        qnn_aligned_free(ev->tsc[t]);
    }
    free(ev->tkw);
    free(ev->tsc);
    free(ev);
}

static double *alloc_mat(size_t r, size_t c) {
    size_t n;
    if (qnn_mul_size(r, c ? c : 1, &n) || qnn_mul_size(n, sizeof(double), &n)) return NULL;
    return (double *)qnn_aligned_alloc(64, n);
}

/* ---------------- kernel selection ---------------- */
int qnn_gopt_kernel_available(qnn_gopt_kernel k) {
    switch (k) {
    case QNN_GOPT_KERNEL_AUTO:
    case QNN_GOPT_KERNEL_BLAS: return 1;
#ifdef GOPT_KERN_VEC
    case QNN_GOPT_KERNEL_GENERIC: return 1;
#endif
#ifdef GOPT_KERN_X86
    case QNN_GOPT_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case QNN_GOPT_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

const char *qnn_gopt_kernel_name(qnn_gopt_kernel k) {
    switch (k) {
    case QNN_GOPT_KERNEL_AUTO: return "auto";
    case QNN_GOPT_KERNEL_BLAS: return "blas";
    case QNN_GOPT_KERNEL_GENERIC: return "generic";
    case QNN_GOPT_KERNEL_AVX2: return "avx2";
    case QNN_GOPT_KERNEL_AVX512: return "avx512";
    default: return NULL;
    }
}

static qnn_gopt_kernel best_kernel(void) {
    if (qnn_gopt_kernel_available(QNN_GOPT_KERNEL_AVX512)) return QNN_GOPT_KERNEL_AVX512;
    if (qnn_gopt_kernel_available(QNN_GOPT_KERNEL_AVX2)) return QNN_GOPT_KERNEL_AVX2;
    /* without AVX2 the BLAS path (OpenBLAS picks its own kernels) beat the SSE2 build of the
     * fused kernel on the machine measured (docs/performance.md) */
    return QNN_GOPT_KERNEL_BLAS;
}

int qnn_gopt_eval_set_kernel(qnn_gopt_eval *ev, qnn_gopt_kernel k, qnn_error *err) {
    if (!ev) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: NULL evaluator");
    if (!qnn_gopt_kernel_name(k))
        return qnn_error_set(err, QNN_EINVAL, "grover optimiser: unknown kernel %d", (int)k);
    if (!qnn_gopt_kernel_available(k))
        return qnn_error_set(err, QNN_EINVAL,
                             "grover optimiser: kernel '%s' is not available on this CPU/build",
                             qnn_gopt_kernel_name(k));
    ev->kernel = k == QNN_GOPT_KERNEL_AUTO ? best_kernel() : k;
    return QNN_OK;
}

qnn_gopt_kernel qnn_gopt_eval_kernel(const qnn_gopt_eval *ev) {
    return ev ? ev->kernel : QNN_GOPT_KERNEL_AUTO;
}

int qnn_gopt_eval_new(qnn_gopt_eval **out, qnn_net *net, const qnn_tensor *X, const int *labels,
                      double l2, qnn_error *err) {
    if (!out || !net || !X || !labels)
        return qnn_error_set(err, QNN_EINVAL, "grover optimiser: NULL argument");
    *out = NULL;
    if (!net->built) return qnn_error_set(err, QNN_ESTATE, "grover optimiser: the net is not built");
    if (!(l2 >= 0.0) || !isfinite(l2))
        return qnn_error_set(err, QNN_EINVAL, "grover optimiser: l2 must be finite and >= 0");
    /* parse the layer stack */
    size_t D = 0;
    for (size_t k = 0; k < net->nlayers; k++) D += net->layers[k].kind == QNN_LAYER_DENSE;
    if (D == 0) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: the net has no dense layer");
    qnn_gopt_eval *ev = (qnn_gopt_eval *)calloc(1, sizeof *ev);
    if (!ev) return qnn_error_set(err, QNN_ENOMEM, "grover optimiser: out of memory");
    ev->d = (gdense *)calloc(D, sizeof *ev->d);
    ev->A = (double **)calloc(D + 1, sizeof *ev->A);
    ev->Z = (double **)calloc(D, sizeof *ev->Z);
    if (!ev->d || !ev->A || !ev->Z) {
        qnn_gopt_eval_free(ev);
        return qnn_error_set(err, QNN_ENOMEM, "grover optimiser: out of memory");
    }
    ev->D = D;
    size_t di = 0;
    for (size_t k = 0; k < net->nlayers; k++) {
        qnn_layer *l = &net->layers[k];
        if (l->kind == QNN_LAYER_DENSE) {
            ev->d[di].layer = l;
            ev->d[di].in = l->in;
            ev->d[di].out = l->out;
            ev->d[di].bias = l->has_bias;
            ev->d[di].act = QNN_LAYER_IDENTITY;
            di++;
            continue;
        }
        int ok = di > 0 && (k == 0 || net->layers[k - 1].kind == QNN_LAYER_DENSE);
        int kind = l->kind;
        int elementwise = kind == QNN_LAYER_TANH || kind == QNN_LAYER_RELU ||
                          kind == QNN_LAYER_SIGMOID || kind == QNN_LAYER_SIGN ||
                          kind == QNN_LAYER_IDENTITY;
        if (kind == QNN_LAYER_SOFTMAX) ok = ok && k == net->nlayers - 1;
        else ok = ok && elementwise;
        if (!ok) {
            qnn_gopt_eval_free(ev);
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover optimiser: layer %zu (%s) is not supported: the net must "
                                 "be dense layers each followed by at most one elementwise "
                                 "activation (tanh, relu, sigmoid, sign, identity), softmax only "
                                 "last", k + 1, l->vt && l->vt->name ? l->vt->name : "?");
        }
        ev->d[di - 1].act = kind;
    }
    for (size_t d = 0; d + 1 < D; d++)
        if (ev->d[d].act == QNN_LAYER_SOFTMAX) {
            qnn_gopt_eval_free(ev);
            return qnn_error_set(err, QNN_EINVAL, "grover optimiser: softmax only after the last layer");
        }
    if (X->cols != ev->d[0].in || X->rows == 0) {
        size_t nin = ev->d[0].in; /* read before ev is freed */
        qnn_gopt_eval_free(ev);
        return qnn_error_set(err, QNN_EINVAL,
                             "grover optimiser: X is %zu x %zu, the net takes %zu inputs", X->rows,
                             X->cols, nin);
    }
    ev->net = net;
    ev->X = X;
    ev->labels = labels;
    ev->l2 = l2;
    ev->B = X->rows;
    ev->K = ev->d[D - 1].out;
    for (size_t s = 0; s < ev->B; s++)
        if (labels[s] < 0 || (size_t)labels[s] >= ev->K) {
            size_t K = ev->K;
            int y = labels[s];
            qnn_gopt_eval_free(ev);
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover optimiser: label %zu is %d, must be in [0, %zu)", s + 1, y,
                                 K);
        }
    ev->maxw = 1;
    for (size_t d = 0; d < D; d++) {
        if (ev->d[d].in > ev->maxw) ev->maxw = ev->d[d].in;
        if (ev->d[d].out > ev->maxw) ev->maxw = ev->d[d].out;
    }
    ev->chunk_rows = GOPT_CHUNK_ROWS > ev->B ? GOPT_CHUNK_ROWS : ev->B; /* tmp holds B x maxw */
    int ok = 1;
    for (size_t d = 0; d < D && ok; d++) {
        ev->A[d] = alloc_mat(ev->B, ev->d[d].in);
        ev->Z[d] = alloc_mat(ev->B, ev->d[d].out);
        ok = ev->A[d] && ev->Z[d];
    }
    if (ok) {
        ev->A[D] = alloc_mat(ev->B, ev->K);
        size_t wsw = ev->maxw > 3 ? ev->maxw : 3; /* the output path keeps 3 B-vectors */
        ev->ws[0] = alloc_mat(ev->chunk_rows, wsw);
        ev->ws[1] = alloc_mat(ev->chunk_rows, wsw);
        ev->dh = alloc_mat(ev->chunk_rows, 1);
        ev->col = alloc_mat(ev->B, 1);
        ev->tmp = alloc_mat(ev->chunk_rows, ev->maxw > ev->K ? ev->maxw : ev->K);
        for (int k = 0; k < 3; k++) ev->rowv[k] = alloc_mat(ev->chunk_rows, 1);
        ok = ev->A[D] && ev->ws[0] && ev->ws[1] && ev->dh && ev->col && ev->tmp &&
             ev->rowv[0] && ev->rowv[1] && ev->rowv[2];
    }
    if (ok) {
        size_t Bp = (ev->B + GOPT_KLANES - 1) / GOPT_KLANES * GOPT_KLANES;
        ev->Bp = Bp;
        ev->kzj = alloc_mat(Bp, 1);
        ev->khj = alloc_mat(Bp, 1);
        ev->ka = alloc_mat(Bp, 1);
        ev->kZT = alloc_mat(ev->maxw, Bp);
        ev->konehot = alloc_mat(ev->K, Bp);
        ev->kmask = alloc_mat(Bp, 1);
        ev->kwork = alloc_mat(gopt_kwork_doubles(ev->maxw), 1);
        ev->klay = (gopt_klayer *)calloc(D, sizeof *ev->klay);
        ev->cerow = alloc_mat(ev->B, 1);
        ok = ev->kzj && ev->khj && ev->ka && ev->kZT && ev->konehot && ev->kmask && ev->kwork &&
             ev->klay && ev->cerow;
        ev->kernel = best_kernel();
    }
    const char *kenv = getenv("QNN_GOPT_KERNEL"); /* benchmarks: force a kernel */
    if (ok && kenv && *kenv) {
        int found = 0;
        for (int k = QNN_GOPT_KERNEL_AUTO; k <= QNN_GOPT_KERNEL_AVX512; k++)
            if (strcmp(kenv, qnn_gopt_kernel_name((qnn_gopt_kernel)k)) == 0) {
                found = 1;
                if (qnn_gopt_eval_set_kernel(ev, (qnn_gopt_kernel)k, err)) {
                    qnn_gopt_eval_free(ev);
                    return QNN_EINVAL;
                }
            }
        if (!found) {
            qnn_gopt_eval_free(ev);
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover optimiser: QNN_GOPT_KERNEL=%s is not one of auto, blas, "
                                 "generic, avx2, avx512", kenv);
        }
    }
    if (!ok) {
        qnn_gopt_eval_free(ev);
        return qnn_error_set(err, QNN_ENOMEM, "grover optimiser: out of memory for the caches");
    }
    for (size_t s = 0; s < ev->B; s++)
        memcpy(ev->A[0] + s * ev->d[0].in, qnn_tensor_row(X, s), ev->d[0].in * sizeof(double));
    int rc = qnn_gopt_eval_refresh(ev, err);
    if (rc) {
        qnn_gopt_eval_free(ev);
        return rc;
    }
    *out = ev;
    return QNN_OK;
}

size_t qnn_gopt_eval_nlayers(const qnn_gopt_eval *ev) { return ev ? ev->D : 0; }

int qnn_gopt_eval_shape(const qnn_gopt_eval *ev, size_t L, size_t *in, size_t *out, int *bias) {
    if (!ev || L >= ev->D) return QNN_ERANGE;
    if (in) *in = ev->d[L].in;
    if (out) *out = ev->d[L].out;
    if (bias) *bias = ev->d[L].bias;
    return QNN_OK;
}

size_t qnn_gopt_eval_nweights(const qnn_gopt_eval *ev, size_t L) {
    if (!ev || L >= ev->D) return 0;
    return ev->d[L].in * ev->d[L].out + (ev->d[L].bias ? ev->d[L].out : 0);
}

double *qnn_gopt_eval_weight(qnn_gopt_eval *ev, size_t L, size_t i, size_t j) {
    if (!ev || L >= ev->D) return NULL;
    gdense *g = &ev->d[L];
    if (j >= g->out || i > g->in || (i == g->in && !g->bias)) return NULL;
    return g->layer->w + i * g->out + j; /* bias j sits at in*out + j */
}

/* Z = A W (+ b) for dense layer g; A has `rows` rows. */
static void dense_forward(const gdense *g, const double *A, size_t rows, double *Z) {
    qnn_blas_dgemm(0, 0, rows, g->out, g->in, 1.0, A, g->in, g->layer->w, g->out, 0.0, Z, g->out);
    if (g->bias) {
        const double *b = g->layer->w + g->in * g->out;
        for (size_t s = 0; s < rows; s++) {
            double *z = Z + s * g->out;
            for (size_t j = 0; j < g->out; j++) z[j] += b[j];
        }
    }
}

/* Recomputes A[d+1..D], Z[d..D-1] from A[d] (full) and the loss terms. */
static void forward_from(qnn_gopt_eval *ev, size_t d0) {
    for (size_t d = d0; d < ev->D; d++) {
        gdense *g = &ev->d[d];
        dense_forward(g, ev->A[d], ev->B, ev->Z[d]);
        memcpy(ev->A[d + 1], ev->Z[d], ev->B * g->out * sizeof(double));
        act_vec(hidden_act(g), ev->A[d + 1], ev->tmp, ev->B * g->out); /* vector tanh */
    }
}

static void recompute_ce(qnn_gopt_eval *ev) {
    double s = 0.0;
    for (size_t r = 0; r < ev->B; r++) {
        ev->cerow[r] = ce_row(ev->A[ev->D] + r * ev->K, ev->K, ev->labels[r]);
        s += ev->cerow[r];
    }
    ev->ce_sum = s;
}

int qnn_gopt_eval_refresh(qnn_gopt_eval *ev, qnn_error *err) {
    if (!ev) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: NULL evaluator");
    forward_from(ev, 0);
    recompute_ce(ev);
    ev->sqnorm = qnn_net_sqnorm(ev->net);
    return QNN_OK;
}

double qnn_gopt_eval_loss(const qnn_gopt_eval *ev) {
    return ev->ce_sum / (double)ev->B + ev->l2 * ev->sqnorm;
}

static int check_weight(qnn_gopt_eval *ev, size_t L, size_t i, size_t j, qnn_error *err) {
    if (!ev) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: NULL evaluator");
    if (L >= ev->D)
        return qnn_error_set(err, QNN_ERANGE, "grover optimiser: layer %zu out of range [1, %zu]",
                             L + 1, ev->D);
    if (!qnn_gopt_eval_weight(ev, L, i, j))
        return qnn_error_set(err, QNN_ERANGE,
                             "grover optimiser: weight (%zu, %zu) out of range for layer %zu "
                             "(%zu x %zu%s)", i + 1, j + 1, L + 1, ev->d[L].in, ev->d[L].out,
                             ev->d[L].bias ? " + bias" : "");
    return QNN_OK;
}

/* Sum over samples of the cross-entropy for `nc` candidates whose layer-(L+1) pre-activations
 * are T (nc*B rows x out_{L+1}) ... propagated to the logits. ws/other: ping-pong buffers. */
static void propagate_rows(qnn_gopt_eval *ev, size_t d, double *T, double *other, size_t rows) {
    /* T holds Z_d for `rows` stacked rows; run activation of d and the remaining layers */
    double *cur = T, *nxt = other;
    for (;;) {
        gdense *g = &ev->d[d];
        act_vec(hidden_act(g), cur, ev->tmp, rows * g->out);
        if (d + 1 == ev->D) break;
        dense_forward(&ev->d[d + 1], cur, rows, nxt);
        double *t = cur;
        cur = nxt;
        nxt = t;
        d++;
    }
    if (cur != T) memcpy(T, cur, rows * ev->K * sizeof(double));
}

/* Below this many multiply-adds per call the candidates stay on one thread (a parallel region
 * costs a few microseconds, more on a loaded machine). */
#define GOPT_PAR_MIN_WORK 2e5

/* Threads for a loop over N candidates: up to omp_get_max_threads(), with per-thread scratch
 * grown on demand (if memory runs out, fewer threads: every candidate's loss is computed the
 * same way by any thread, so the results never depend on the team size). */
static int cand_team(qnn_gopt_eval *ev, size_t N, double work) {
    if (omp_in_parallel() || work < GOPT_PAR_MIN_WORK) return 1;
    int want = omp_get_max_threads();
    if ((size_t)want > N) want = (int)N;
    if (want < 1) want = 1;
    if (want > ev->tn) {
        double **kw = (double **)realloc(ev->tkw, (size_t)want * sizeof *kw);
        if (kw) ev->tkw = kw;
        double **sc = kw ? (double **)realloc(ev->tsc, (size_t)want * sizeof *sc) : NULL;
        if (sc) ev->tsc = sc;
        while (kw && sc && ev->tn < want) {
            double *a = alloc_mat(gopt_kwork_doubles(ev->maxw), 1);
            double *b = alloc_mat(4 * ev->B, 1);
            if (!a || !b) {
                qnn_aligned_free(a);
                qnn_aligned_free(b);
                break;
            }
            ev->tkw[ev->tn] = a;
            ev->tsc[ev->tn] = b;
            ev->tn++;
        }
    }
    return want < ev->tn ? want : (ev->tn > 0 ? ev->tn : 1);
}

/* Hidden-layer candidates through the fused kernel: prepares the padded, transposed per-sample
 * arrays and runs the kernel on chunks of GOPT_KCHUNK candidates. Samples whose input a is
 * exactly 0 do not see the weight: they keep their cached cross-entropy and are left out
 * (constant input columns, zero pixels of unstandardised images). */
static void fused_candidates(qnn_gopt_eval *ev, size_t L, size_t j, const double *a, double w,
                             const double *cand, size_t N, double *losses, double sq_rest) {
    const gdense *g = &ev->d[L], *g1 = &ev->d[L + 1];
    const size_t B = ev->B, outL = g->out, o1 = g1->out, K = ev->K;
    const double *Z1 = ev->Z[L + 1];
    const size_t Bp0 = ev->Bp; /* row stride of the transposed arrays */
    size_t nb = 0;
    double ce_skip = 0.0;
    for (size_t s = 0; s < B; s++) {
        if (a[s] == 0.0) {
            ce_skip += ev->cerow[s];
            continue;
        }
        ev->kzj[nb] = ev->Z[L][s * outL + j];
        ev->khj[nb] = ev->A[L + 1][s * outL + j];
        ev->ka[nb] = a[s];
        for (size_t k = 0; k < o1; k++) ev->kZT[k * Bp0 + nb] = Z1[s * o1 + k];
        nb++;
    }
    const size_t Bp = (nb + GOPT_KLANES - 1) / GOPT_KLANES * GOPT_KLANES;
    if (nb == 0) {
        for (size_t c = 0; c < N; c++)
            losses[c] = ce_skip / (double)B + ev->l2 * (sq_rest + cand[c] * cand[c]);
        return;
    }
    for (size_t s = nb; s < Bp; s++) {
        ev->kzj[s] = ev->khj[s] = ev->ka[s] = 0.0;
        for (size_t k = 0; k < o1; k++) ev->kZT[k * Bp0 + s] = 0.0;
    }
    /* the kernel indexes the transposed arrays with stride Bp: repack when samples were left
     * out (rows k >= 1 move down) */
    if (Bp != Bp0)
        for (size_t k = 1; k < o1; k++)
            memmove(ev->kZT + k * Bp, ev->kZT + k * Bp0, Bp * sizeof(double));
    memset(ev->konehot, 0, K * Bp * sizeof(double));
    for (size_t s = 0, n = 0; s < B; s++)
        if (a[s] != 0.0) ev->konehot[(size_t)ev->labels[s] * Bp + n++] = 1.0;
    for (size_t s = 0; s < Bp; s++) ev->kmask[s] = s < nb ? 1.0 : 0.0;
    size_t nl = 0;
    for (size_t d = L + 2; d < ev->D; d++, nl++) {
        const gdense *gd = &ev->d[d];
        ev->klay[nl].in = gd->in;
        ev->klay[nl].out = gd->out;
        ev->klay[nl].act = hidden_act(gd);
        ev->klay[nl].W = gd->layer->w;
        ev->klay[nl].b = gd->bias ? gd->layer->w + gd->in * gd->out : NULL;
    }
    gopt_kjob jb;
    memset(&jb, 0, sizeof jb);
    jb.Bp = Bp;
    jb.act0 = hidden_act(g);
    jb.zj = ev->kzj;
    jb.hj = ev->khj;
    jb.a = ev->ka;
    jb.o1 = o1;
    jb.act1 = hidden_act(g1);
    jb.Z1T = ev->kZT;
    jb.wrow = g1->layer->w + j * o1;
    jb.nl = nl;
    jb.lay = ev->klay;
    jb.K = ev->K;
    jb.onehot = ev->konehot;
    jb.mask = ev->kmask;
    size_t blk = ev->K > 1 ? (size_t)(700.0 / log((double)ev->K)) : Bp;
    jb.blk = blk < 1 ? 1 : blk;
    jb.maxw = ev->maxw;
    jb.work = ev->kwork;
    void (*kern)(const gopt_kjob *) = ev->kernel == QNN_GOPT_KERNEL_AVX512 ? qnn_gopt_kern_avx512
                                      : ev->kernel == QNN_GOPT_KERNEL_AVX2 ? qnn_gopt_kern_avx2
                                                                           : qnn_gopt_kern_generic;
    /* the candidates are cut into one contiguous range per thread; a candidate's sum does not
     * depend on the other candidates of its range (per-candidate accumulators) */
    double work = (double)o1;
    for (size_t l = 0; l < nl; l++) work += (double)ev->klay[l].in * (double)ev->klay[l].out;
    int nt = cand_team(ev, N, work * (double)N * (double)nb);
    if (ev->tn == 0) {
        nt = 1;
        jb.work = ev->kwork;
    }
    double delta[GOPT_KCHUNK];
    for (size_t c0 = 0; c0 < N; c0 += (size_t)GOPT_KCHUNK * (size_t)nt) {
        size_t nc = N - c0 < (size_t)GOPT_KCHUNK * nt ? N - c0 : (size_t)GOPT_KCHUNK * nt;
        if (nt == 1) {
            for (size_t c = 0; c < nc; c++) delta[c] = cand[c0 + c] - w;
            jb.N = nc;
            jb.delta = delta;
            jb.out = losses + c0;
            if (ev->tn) jb.work = ev->tkw[0];
            kern(&jb);
            continue;
        }
#pragma omp parallel num_threads(nt)
        {
            const int t = omp_get_thread_num();
            const size_t a = c0 + nc * (size_t)t / (size_t)nt;
            const size_t b = c0 + nc * (size_t)(t + 1) / (size_t)nt;
            double dl[GOPT_KCHUNK];
            gopt_kjob j = jb;
            for (size_t c = a; c < b; c++) dl[c - a] = cand[c] - w;
            j.N = b - a;
            j.delta = dl;
            j.out = losses + a;
            j.work = ev->tkw[t];
            if (j.N) kern(&j);
        }
    }
    for (size_t c = 0; c < N; c++)
        losses[c] = (losses[c] + ce_skip) / (double)B + ev->l2 * (sq_rest + cand[c] * cand[c]);
}

int qnn_gopt_eval_candidates(qnn_gopt_eval *ev, size_t L, size_t i, size_t j, const double *cand,
                             size_t N, double *losses, qnn_error *err) {
    int rc = check_weight(ev, L, i, j, err);
    if (rc) return rc;
    if (!cand || !losses || N == 0)
        return qnn_error_set(err, QNN_EINVAL, "grover optimiser: no candidates");
    const gdense *g = &ev->d[L];
    const size_t B = ev->B, K = ev->K;
    const double w = *qnn_gopt_eval_weight(ev, L, i, j);
    const double sq_rest = ev->sqnorm - w * w;
    /* a = the input feeding w (1 for a bias) */
    double *a = ev->col;
    if (i == g->in) {
        for (size_t s = 0; s < B; s++) a[s] = 1.0;
    } else {
        for (size_t s = 0; s < B; s++) a[s] = ev->A[L][s * g->in + i];
    }
    const double *zj = ev->Z[L];
    const size_t outL = g->out;

    if (L + 1 == ev->D) {
        /* output layer: only logit j changes. Per sample: max and sum of the others. */
        const int act = hidden_act(g);
        const double *lg = ev->A[ev->D];
        double *mex = ev->ws[0], *rex = ev->ws[0] + B, *ly = ev->ws[0] + 2 * B;
        int *isj = (int *)ev->dh; /* B flags fit in chunk_rows doubles */
        for (size_t s = 0; s < B; s++) {
            const double *l = lg + s * K;
            double m = -INFINITY;
            for (size_t k = 0; k < K; k++)
                if (k != j && l[k] > m) m = l[k];
            double r = 0.0;
            if (K > 1)
                for (size_t k = 0; k < K; k++)
                    if (k != j) r += exp(l[k] - m);
            mex[s] = m;
            rex[s] = r;
            isj[s] = (size_t)ev->labels[s] == j;
            ly[s] = lg[s * K + ev->labels[s]];
        }
        /* candidates in parallel, per-thread scratch (thread 0 without it: the shared one) */
        int nt = cand_team(ev, N, 20.0 * (double)N * (double)B);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (size_t c = 0; c < N; c++) {
            const int t = omp_get_thread_num();
            double *lj = ev->tn ? ev->tsc[t] : ev->ws[1];
            double *e1 = lj + B, *e2 = lj + 2 * B;
            double *tmp = ev->tn ? lj + 3 * B : ev->tmp;
            double delta = cand[c] - w;
            if (K == 1) {
                losses[c] = ev->l2 * (sq_rest + cand[c] * cand[c]);
                continue;
            }
            for (size_t s = 0; s < B; s++) lj[s] = zj[s * outL + j] + delta * a[s];
            act_vec(act, lj, tmp, B);
            double lin = 0.0;
            for (size_t s = 0; s < B; s++) {
                double M = mex[s] > lj[s] ? mex[s] : lj[s];
                e1[s] = mex[s] - M;
                e2[s] = lj[s] - M;
                lin += M - (isj[s] ? lj[s] : ly[s]);
            }
            qnn_gopt_vexp(e1, B);
            qnn_gopt_vexp(e2, B);
            for (size_t s = 0; s < B; s++) e1[s] = rex[s] * e1[s] + e2[s];
            double tot = lin + sum_log(e1, B, (double)K);
            losses[c] = tot / (double)B + ev->l2 * (sq_rest + cand[c] * cand[c]);
        }
        return QNN_OK;
    }

    if (ev->kernel != QNN_GOPT_KERNEL_BLAS) {
        fused_candidates(ev, L, j, a, w, cand, N, losses, sq_rest);
        return QNN_OK;
    }
    /* hidden layer: neuron j's activation changes by dh; next pre-activation gets
     * dh * W_{L+1}[j, :] (rank 1), then the rest of the net on stacked rows. */
    const gdense *g1 = &ev->d[L + 1];
    const int act = hidden_act(g);
    const double *hj = ev->A[L + 1];
    const double *wrow = g1->layer->w + j * g1->out;
    const double *Z1 = ev->Z[L + 1];
    const size_t o1 = g1->out;
    const size_t CR = ev->chunk_rows;
    /* stack several candidates when B is small; split the samples when B is large */
    size_t per = B <= CR ? CR / B : 1;
    size_t srows = B <= CR ? B : CR;
    for (size_t c0 = 0; c0 < N; c0 += per) {
        size_t nc = N - c0 < per ? N - c0 : per;
        double sums[GOPT_CHUNK_ROWS];
        for (size_t c = 0; c < nc; c++) sums[c] = 0.0;
        for (size_t s0 = 0; s0 < B; s0 += srows) {
            size_t ns = B - s0 < srows ? B - s0 : srows;
            size_t rows = nc * ns;
            double *dh = ev->dh;
            for (size_t c = 0; c < nc; c++) {
                double delta = cand[c0 + c] - w;
                for (size_t r = 0; r < ns; r++)
                    dh[c * ns + r] = zj[(s0 + r) * outL + j] + delta * a[s0 + r];
            }
            act_vec(act, dh, ev->tmp, rows);
            double *T = ev->ws[0];
            for (size_t c = 0; c < nc; c++)
                for (size_t r = 0; r < ns; r++) {
                    double *t = T + (c * ns + r) * o1;
                    const double *z = Z1 + (s0 + r) * o1;
                    const double d = dh[c * ns + r] - hj[(s0 + r) * outL + j];
#pragma omp simd
                    for (size_t k = 0; k < o1; k++) t[k] = z[k] + d * wrow[k];
                }
            propagate_rows(ev, L + 1, T, ev->ws[1], rows);
            for (size_t c = 0; c < nc; c++)
                sums[c] += ce_rows(ev, T + c * ns * K, ns, ev->labels + s0);
        }
        for (size_t c = 0; c < nc; c++)
            losses[c0 + c] =
                sums[c] / (double)B + ev->l2 * (sq_rest + cand[c0 + c] * cand[c0 + c]);
    }
    return QNN_OK;
}

int qnn_gopt_eval_candidates_naive(qnn_gopt_eval *ev, size_t L, size_t i, size_t j,
                                   const double *cand, size_t N, double *losses, qnn_error *err) {
    int rc = check_weight(ev, L, i, j, err);
    if (rc) return rc;
    double *wp = qnn_gopt_eval_weight(ev, L, i, j);
    double w = *wp;
    qnn_targets y = {ev->labels, NULL};
    for (size_t c = 0; c < N && !rc; c++) {
        *wp = cand[c];
        rc = qnn_net_loss(ev->net, ev->X, QNN_LOSS_CROSS_ENTROPY, &y, ev->l2, 0, NULL, &losses[c],
                          err);
    }
    *wp = w;
    return rc;
}

int qnn_gopt_eval_set(qnn_gopt_eval *ev, size_t L, size_t i, size_t j, double value,
                      qnn_error *err) {
    int rc = check_weight(ev, L, i, j, err);
    if (rc) return rc;
    if (!isfinite(value))
        return qnn_error_set(err, QNN_EINVAL, "grover optimiser: weight value must be finite");
    gdense *g = &ev->d[L];
    double *wp = qnn_gopt_eval_weight(ev, L, i, j);
    double delta = value - *wp;
    ev->sqnorm += value * value - *wp * *wp;
    *wp = value;
    const size_t B = ev->B, outL = g->out;
    double *Z = ev->Z[L], *H = ev->A[L + 1];
    const int act = hidden_act(g);
    double *dh = ev->col;
    for (size_t s = 0; s < B; s++) {
        double a = i == g->in ? 1.0 : ev->A[L][s * g->in + i];
        Z[s * outL + j] += delta * a;
        double h = act1(act, Z[s * outL + j]);
        dh[s] = h - H[s * outL + j];
        H[s * outL + j] = h;
    }
    if (L + 1 < ev->D) {
        gdense *g1 = &ev->d[L + 1];
        const double *wrow = g1->layer->w + j * g1->out;
        double *Z1 = ev->Z[L + 1];
        for (size_t s = 0; s < B; s++)
            for (size_t k = 0; k < g1->out; k++) Z1[s * g1->out + k] += dh[s] * wrow[k];
        memcpy(ev->A[L + 2], Z1, B * g1->out * sizeof(double));
        act_vec(hidden_act(g1), ev->A[L + 2], ev->tmp, B * g1->out);
        if (L + 2 < ev->D) forward_from(ev, L + 2);
    }
    recompute_ce(ev);
    return QNN_OK;
}

/* ---------------- policies ---------------- */
void qnn_gopt_cost_add(qnn_gopt_cost *acc, const qnn_gopt_cost *c) {
    acc->weights += c->weights;
    acc->candidates += c->candidates;
    acc->queries += c->queries;
    acc->queries_ideal += c->queries_ideal;
    acc->shots += c->shots;
    acc->accepted += c->accepted;
    acc->fallbacks += c->fallbacks;
    acc->marked += c->marked;
    acc->hits += c->hits;
    acc->searches += c->searches;
    acc->queries_to_best += c->queries_to_best;
    acc->depth_sum += c->depth_sum;
    acc->p_marked_sum += c->p_marked_sum;
    acc->gates_sum += c->gates_sum;
    if (c->qubits > acc->qubits) acc->qubits = c->qubits;
    if (c->depth > acc->depth) acc->depth = c->depth;
    if (c->gates > acc->gates) acc->gates = c->gates;
}

int qnn_gopt_candidates_linspace(void *ud, const qnn_gopt_weight_info *wi, double sigma,
                                 double alpha, double *out, qnn_error *err) {
    (void)ud;
    (void)err;
    size_t N = wi->N;
    double lo = wi->current - alpha * sigma, hi = wi->current + alpha * sigma;
    for (size_t c = 0; c < N; c++)
        out[c] = N == 1 ? wi->current : lo + (hi - lo) * (double)c / (double)(N - 1);
    if (N > 1) out[N - 1] = hi;
    return QNN_OK;
}

static void note_circuit(qnn_gopt_cost *cost, int n, const unsigned char *mask, int k,
                         qnn_grover_form form, int track) {
    int q = qnn_grover_form_qubits(form, n);
    if (q > cost->qubits) cost->qubits = q;
    if (!track) return;
    int depth;
    size_t gates;
    if (qnn_grover_circuit_cost(n, mask, k, form, &depth, &gates, NULL, NULL) == QNN_OK) {
        if (depth > cost->depth) cost->depth = depth;
        if (gates > cost->gates) cost->gates = gates;
        cost->depth_sum += depth;
        cost->gates_sum += (double)gates;
    }
}

int qnn_gopt_select_threshold(void *ud, const double *losses, size_t N,
                              const qnn_gopt_weight_info *wi, size_t *chosen, qnn_gopt_cost *cost,
                              qnn_error *err) {
    qnn_gopt_threshold *th = (qnn_gopt_threshold *)ud;
    if (!th || !th->rng) return qnn_error_set(err, QNN_EINVAL, "threshold oracle: no settings");
    double tol = wi->output_layer ? th->tol_output : th->tol_hidden;
    if (!(tol >= 0.0)) return qnn_error_set(err, QNN_EINVAL, "threshold oracle: tol must be >= 0");
    if (th->shots < 1) return qnn_error_set(err, QNN_EINVAL, "threshold oracle: shots must be >= 1");
    int n = wi->n;
    size_t S = (size_t)1 << n;
    size_t amin = 0;
    for (size_t c = 1; c < N; c++)
        if (losses[c] < losses[amin]) amin = c;
    double lmin = losses[amin];
    double bound = lmin >= 0 ? lmin * (1.0 + tol) : lmin + tol * fabs(lmin);
    unsigned char *mask = (unsigned char *)calloc(S, 1);
    uint64_t *counts = (uint64_t *)malloc(S * sizeof *counts);
    if (!mask || !counts) {
        free(mask);
        free(counts);
        return qnn_error_set(err, QNN_ENOMEM, "threshold oracle: out of memory");
    }
    uint64_t M = 0;
    for (size_t c = 0; c < N; c++) M += mask[c] = losses[c] <= bound;
    int k = qnn_grover_default_iterations(S, M);
    if (k < 1) k = 1;
    qnn_grover_search_result r;
    int rc = qnn_grover_search(n, mask, k, th->shots, th->eng, th->rng, counts, &r, err);
    if (rc == QNN_OK) {
        size_t pick = r.outcome;
        if (pick >= N) {
            pick = amin;
            cost->fallbacks++;
        }
        *chosen = pick;
        cost->queries += r.queries;
        cost->queries_ideal += r.queries_ideal;
        cost->shots += th->shots;
        cost->marked += M;
        cost->hits += mask[pick];
        cost->p_marked_sum += r.p_success;
        cost->searches++;
        note_circuit(cost, n, mask, k, th->form, th->track_circuit);
    }
    free(mask);
    free(counts);
    return rc;
}

int qnn_gopt_select_durr_hoyer(void *ud, const double *losses, size_t N,
                               const qnn_gopt_weight_info *wi, size_t *chosen,
                               qnn_gopt_cost *cost, qnn_error *err) {
    qnn_gopt_durr_hoyer *dh = (qnn_gopt_durr_hoyer *)ud;
    if (!dh || !dh->rng) return qnn_error_set(err, QNN_EINVAL, "durr_hoyer oracle: no settings");
    qnn_grover_min_opts o;
    memset(&o, 0, sizeof o);
    o.n = wi->n;
    o.budget = dh->budget;
    qnn_grover_min_result r;
    int rc = qnn_grover_minimum(losses, N, &o, dh->eng, dh->rng, &r, err);
    if (rc) return rc;
    *chosen = r.index;
    size_t amin = 0;
    for (size_t c = 1; c < N; c++)
        if (losses[c] < losses[amin]) amin = c;
    cost->queries += r.queries;
    cost->queries_ideal += r.queries;
    cost->queries_to_best += r.queries_at_best;
    cost->shots += r.rounds;
    cost->hits += losses[r.index] == losses[amin];
    cost->searches++;
    size_t S = (size_t)1 << wi->n;
    unsigned char *mask = (unsigned char *)calloc(S, 1);
    if (mask) {
        /* textbook-form circuit with the largest k used (diagonal oracle: size independent of
         * the marked set) */
        note_circuit(cost, wi->n, mask, r.max_iterations, QNN_GROVER_TEXTBOOK, 1);
        int q = qnn_grover_form_qubits(dh->form, wi->n);
        if (q > cost->qubits) cost->qubits = q;
        free(mask);
    }
    return QNN_OK;
}

/* ---------------- layer pass ---------------- */
double qnn_gopt_layer_sigma(qnn_gopt_eval *ev, size_t L) {
    if (!ev || L >= ev->D) return 1.0;
    const gdense *g = &ev->d[L];
    size_t n = g->in * g->out;
    const double *w = g->layer->w;
    double mean = 0.0;
    for (size_t k = 0; k < n; k++) mean += w[k];
    mean /= (double)n;
    double v = 0.0;
    for (size_t k = 0; k < n; k++) v += (w[k] - mean) * (w[k] - mean);
    double sd = sqrt(v / (double)n);
    return sd < 1e-12 ? 1.0 : sd;
}

int qnn_gopt_layer_pass(qnn_gopt_eval *ev, const qnn_gopt_pass_opts *o, qnn_gopt_pass_result *res,
                        qnn_error *err) {
    if (!ev || !o || !res) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: NULL argument");
    memset(res, 0, sizeof *res);
    if (o->layer >= ev->D)
        return qnn_error_set(err, QNN_ERANGE,
                             "grover optimiser: layer %zu does not exist (the net has %zu dense "
                             "layers)", o->layer + 1, ev->D);
    if (!(o->alpha > 0.0) || !isfinite(o->alpha))
        return qnn_error_set(err, QNN_EINVAL,
                             "grover optimiser: alpha must be finite and > 0, got %g", o->alpha);
    if (o->resolution < 2 || o->resolution > QNN_GOPT_MAX_RESOLUTION)
        return qnn_error_set(err, QNN_EINVAL,
                             "grover optimiser: resolution must be in [2, %d], got %zu",
                             QNN_GOPT_MAX_RESOLUTION, o->resolution);
    if (!o->select) return qnn_error_set(err, QNN_EINVAL, "grover optimiser: no oracle policy");
    size_t N = o->resolution;
    double *cand = (double *)malloc(N * sizeof *cand);
    double *losses = (double *)malloc(N * sizeof *losses);
    if (!cand || !losses) {
        free(cand);
        free(losses);
        return qnn_error_set(err, QNN_ENOMEM, "grover optimiser: out of memory");
    }
    int rc = qnn_gopt_eval_refresh(ev, err); /* exact caches at the start of every pass */
    const gdense *g = &ev->d[o->layer];
    double sigma = qnn_gopt_layer_sigma(ev, o->layer);
    res->sigma = sigma;
    res->loss_before = qnn_gopt_eval_loss(ev);
    size_t nin = g->in + (g->bias ? 1 : 0);
    size_t total = nin * g->out;
    qnn_gopt_weight_info wi;
    memset(&wi, 0, sizeof wi);
    wi.layer = o->layer;
    wi.N = N;
    wi.n = qnn_grover_qubits_for(N);
    wi.output_layer = o->layer + 1 == ev->D;
    for (size_t j = 0; j < g->out && !rc; j++) {
        for (size_t i = 0; i < nin && !rc; i++) {
            rc = qnn_progress_step(o->progress, (double)res->visited, (double)total);
            if (rc) {
                if (rc == QNN_EINTR) qnn_error_set(err, rc, "interrupted");
                else qnn_error_set(err, rc, "stopped by the progress callback");
                break;
            }
            wi.i = i;
            wi.j = j;
            wi.current = *qnn_gopt_eval_weight(ev, o->layer, i, j);
            wi.current_loss = qnn_gopt_eval_loss(ev);
            rc = o->candidates ? o->candidates(o->cand_ud, &wi, sigma, o->alpha, cand, err)
                               : qnn_gopt_candidates_linspace(NULL, &wi, sigma, o->alpha, cand,
                                                              err);
            if (rc) break;
            for (size_t c = 0; c < N; c++)
                if (!isfinite(cand[c])) {
                    rc = qnn_error_set(err, QNN_EINVAL,
                                       "grover optimiser: candidate %zu is not finite", c + 1);
                    break;
                }
            if (rc) break;
            rc = qnn_gopt_eval_candidates(ev, o->layer, i, j, cand, N, losses, err);
            if (rc) break;
            res->cost.weights++;
            res->cost.candidates += N;
            size_t pick = (size_t)-1;
            rc = o->select(o->select_ud, losses, N, &wi, &pick, &res->cost, err);
            if (rc) break;
            res->visited++;
            if (pick == (size_t)-1) continue;
            if (pick >= N) {
                rc = qnn_error_set(err, QNN_ERANGE,
                                   "grover optimiser: the oracle chose candidate %zu of %zu",
                                   pick + 1, N);
                break;
            }
            int acc;
            if (o->accept) {
                rc = o->accept(o->accept_ud, wi.current_loss, losses[pick], &wi, &acc, err);
                if (rc) break;
            } else {
                acc = losses[pick] < wi.current_loss;
            }
            if (acc) {
                rc = qnn_gopt_eval_set(ev, o->layer, i, j, cand[pick], err);
                res->cost.accepted++;
            }
        }
    }
    res->loss_after = qnn_gopt_eval_loss(ev);
    free(cand);
    free(losses);
    return rc;
}
