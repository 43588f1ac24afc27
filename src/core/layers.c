/* Built-in layers: dense (BLAS) and elementwise activations, plus weight initialisers. */
#include "qnn/blas.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/nn.h"

/* ---------------- initialisers ---------------- */
int qnn_init_parse(const char *s, qnn_init *out, qnn_error *err) {
    static const char accepted[] =
        "\"default\", \"uniform(a,b)\", \"normal(mean,std)\", \"xavier\", \"glorot\", "
        "\"kaiming\", \"kaiming_normal\" or \"zeros\"";
    double a = 0, b = 0;
    char tail = 0;
    out->a = out->b = 0.0;
    if (!s) s = "default";
    if (strcmp(s, "default") == 0) out->kind = QNN_INIT_DEFAULT;
    else if (strcmp(s, "xavier") == 0 || strcmp(s, "glorot") == 0) out->kind = QNN_INIT_XAVIER;
    else if (strcmp(s, "kaiming") == 0 || strcmp(s, "he") == 0) out->kind = QNN_INIT_KAIMING;
    else if (strcmp(s, "kaiming_normal") == 0) out->kind = QNN_INIT_KAIMING_NORMAL;
    else if (strcmp(s, "zeros") == 0 || strcmp(s, "zero") == 0) out->kind = QNN_INIT_ZERO;
    else if (sscanf(s, " uniform ( %lf , %lf %c", &a, &b, &tail) == 3 && tail == ')') {
        if (!isfinite(a) || !isfinite(b) || b < a)
            return qnn_error_set(err, QNN_EINVAL, "init \"%s\": need finite a <= b", s);
        out->kind = QNN_INIT_UNIFORM;
        out->a = a, out->b = b;
    } else if (sscanf(s, " normal ( %lf , %lf %c", &a, &b, &tail) == 3 && tail == ')') {
        if (!isfinite(a) || !isfinite(b) || b < 0)
            return qnn_error_set(err, QNN_EINVAL, "init \"%s\": need finite mean and std >= 0", s);
        out->kind = QNN_INIT_NORMAL;
        out->a = a, out->b = b;
    } else
        return qnn_error_set(err, QNN_EINVAL, "unknown init \"%.60s\" (expected %s)", s, accepted);
    return QNN_OK;
}

/* ---------------- dense ---------------- */
/* Single-precision mode (fparam[0] = 1, see qnn_layer_dense_set_single): W and the layer input
 * are rounded to float, the products run in sgemm (float accumulation), results are widened
 * back; parameters, gradients and the tensors between layers stay double. Scratch in l->state. */
typedef struct dense32 {
    size_t rows;        /* rows the A/Z/D buffers can hold */
    size_t arows;       /* rows of the last forward held in A, with its W (0: none) */
    float *W, *dW;      /* in x out */
    float *A, *Z, *D;   /* rows x in, rows x out, rows x in */
} dense32;

static void dense32_free(dense32 *s) {
    if (!s) return;
    free(s->W);
    free(s->dW);
    free(s->A);
    free(s->Z);
    free(s->D);
    free(s);
}

static void dense_destroy(qnn_layer *l) {
    dense32_free((dense32 *)l->state);
    l->state = NULL;
}

/* copies get their own scratch, allocated on first use */
static int dense_copy_state(qnn_layer *dst, const qnn_layer *src, qnn_error *err) {
    (void)src, (void)err;
    dst->state = NULL;
    return QNN_OK;
}

static int dense_is_single(const qnn_layer *l) { return l->fparam[0] == 1.0; }

static float *falloc(size_t n) { return (float *)malloc((n ? n : 1) * sizeof(float)); }

static int dense32_reserve(qnn_layer *l, size_t B, qnn_error *err) {
    dense32 *s = (dense32 *)l->state;
    if (!s) {
        s = (dense32 *)calloc(1, sizeof *s);
        if (!s) return qnn_error_set(err, QNN_ENOMEM, "out of memory (dense, single precision)");
        s->W = falloc(l->in * l->out);
        s->dW = falloc(l->in * l->out);
        if (!s->W || !s->dW) {
            dense32_free(s);
            return qnn_error_set(err, QNN_ENOMEM, "out of memory (dense, single precision)");
        }
        l->state = s;
    }
    if (B > s->rows) {
        free(s->A);
        free(s->Z);
        free(s->D);
        s->A = falloc(B * l->in);
        s->Z = falloc(B * l->out);
        s->D = falloc(B * l->in);
        s->rows = s->arows = 0;
        if (!s->A || !s->Z || !s->D)
            return qnn_error_set(err, QNN_ENOMEM, "out of memory (dense, single precision, %zu rows)", B);
        s->rows = B;
    }
    return QNN_OK;
}

static void narrow_w(const qnn_layer *l, float *restrict W) {
    const double *restrict w = l->w;
    const size_t n = l->in * l->out;
#pragma omp simd
    for (size_t k = 0; k < n; k++) W[k] = (float)w[k];
}

static void narrow_rows(const qnn_tensor *t, size_t B, size_t cols, float *restrict dst) {
    for (size_t r = 0; r < B; r++) {
        const double *restrict x = qnn_tensor_row(t, r);
        float *restrict y = dst + r * cols;
#pragma omp simd
        for (size_t j = 0; j < cols; j++) y[j] = (float)x[j];
    }
}

static int dense_forward(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                         qnn_rng *rng, qnn_error *err) {
    (void)train, (void)rng;
    size_t B = in->rows;
    if (B == 0) return QNN_OK;
    const size_t ni = l->in, no = l->out;
    if (dense_is_single(l)) {
        int st = dense32_reserve(l, B, err);
        if (st) return st;
        dense32 *s = (dense32 *)l->state;
        narrow_w(l, s->W);
        narrow_rows(in, B, ni, s->A);
        s->arows = B;
        qnn_blas_sgemm(0, 0, B, no, ni, 1.0f, s->A, ni, s->W, no, 0.0f, s->Z, no);
        const double *restrict b = l->has_bias ? l->w + ni * no : NULL;
        for (size_t r = 0; r < B; r++) {
            double *restrict o = qnn_tensor_row(out, r);
            const float *restrict z = s->Z + r * no;
            if (b) {
#pragma omp simd
                for (size_t j = 0; j < no; j++) o[j] = (double)z[j] + b[j];
            } else {
#pragma omp simd
                for (size_t j = 0; j < no; j++) o[j] = (double)z[j];
            }
        }
        return QNN_OK;
    }
    qnn_blas_dgemm(0, 0, B, l->out, l->in, 1.0, in->data, in->ld, l->w, l->out, 0.0, out->data,
                   out->ld);
    if (l->has_bias) {
        const double *restrict b = l->w + l->in * l->out;
        for (size_t r = 0; r < B; r++) {
            double *restrict o = qnn_tensor_row(out, r);
#pragma omp simd
            for (size_t j = 0; j < no; j++) o[j] += b[j];
        }
    }
    (void)err;
    return QNN_OK;
}

static int dense_backward32(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *dout,
                            qnn_tensor *din, qnn_error *err) {
    size_t B = in->rows;
    const size_t ni = l->in, no = l->out;
    int st = dense32_reserve(l, B, err);
    if (st) return st;
    dense32 *s = (dense32 *)l->state;
    /* the forward's float copies of the input and of W are reused (the gradient is that of the
     * loss the forward computed); without a forward of these rows they are made here */
    if (s->arows != B) {
        narrow_rows(in, B, ni, s->A);
        narrow_w(l, s->W);
        s->arows = B;
    }
    narrow_rows(dout, B, no, s->Z); /* Z now holds dout */
    qnn_blas_sgemm(1, 0, ni, no, B, 1.0f, s->A, ni, s->Z, no, 0.0f, s->dW, no);
    double *restrict g = l->g;
    const float *restrict dW = s->dW;
    const size_t nw = ni * no;
#pragma omp simd
    for (size_t k = 0; k < nw; k++) g[k] += (double)dW[k];
    if (din) {
        qnn_blas_sgemm(0, 1, B, ni, no, 1.0f, s->Z, no, s->W, no, 0.0f, s->D, ni);
        for (size_t r = 0; r < B; r++) {
            double *restrict o = qnn_tensor_row(din, r);
            const float *restrict d = s->D + r * ni;
#pragma omp simd
            for (size_t j = 0; j < ni; j++) o[j] = (double)d[j];
        }
    }
    return QNN_OK;
}

static int dense_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                          const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)out;
    size_t B = in->rows;
    if (B == 0) return QNN_OK;
    if (l->has_bias) {
        double *restrict gb = l->g + l->in * l->out;
        const size_t no = l->out;
        for (size_t r = 0; r < B; r++) {
            const double *restrict d = qnn_tensor_row(dout, r);
#pragma omp simd
            for (size_t j = 0; j < no; j++) gb[j] += d[j];
        }
    }
    if (dense_is_single(l)) return dense_backward32(l, in, dout, din, err);
    /* gW (in x out) += in^T dout */
    qnn_blas_dgemm(1, 0, l->in, l->out, B, 1.0, in->data, in->ld, dout->data, dout->ld, 1.0, l->g,
                   l->out);
    if (din)
        qnn_blas_dgemm(0, 1, B, l->in, l->out, 1.0, dout->data, dout->ld, l->w, l->out, 0.0,
                       din->data, din->ld);
    return QNN_OK;
}

int qnn_layer_dense_set_single(qnn_layer *l, int single, qnn_error *err) {
    if (!l || l->kind != QNN_LAYER_DENSE)
        return qnn_error_set(err, QNN_EINVAL, "precision applies to dense layers only");
    l->fparam[0] = single ? 1.0 : 0.0;
    if (!single) dense_destroy(l);
    return QNN_OK;
}

int qnn_layer_dense_is_single(const qnn_layer *l) {
    return l && l->kind == QNN_LAYER_DENSE && dense_is_single(l);
}

static int dense_init(qnn_layer *l, qnn_rng *rng, qnn_error *err) {
    size_t nw = l->in * l->out, nb = l->has_bias ? l->out : 0;
    double *w = l->w, *b = l->w + nw;
    double fan_in = (double)l->in, fan_out = (double)l->out;
    double lim;
    switch (l->init.kind) {
    case QNN_INIT_DEFAULT:
        lim = 1.0 / sqrt(fan_in);
        for (size_t k = 0; k < nw + nb; k++) w[k] = -lim + 2.0 * lim * qnn_rng_uniform(rng);
        break;
    case QNN_INIT_UNIFORM:
        for (size_t k = 0; k < nw + nb; k++)
            w[k] = l->init.a + (l->init.b - l->init.a) * qnn_rng_uniform(rng);
        break;
    case QNN_INIT_NORMAL:
        for (size_t k = 0; k < nw + nb; k++) w[k] = l->init.a + l->init.b * qnn_rng_normal(rng);
        break;
    case QNN_INIT_XAVIER:
        lim = sqrt(6.0 / (fan_in + fan_out));
        for (size_t k = 0; k < nw; k++) w[k] = -lim + 2.0 * lim * qnn_rng_uniform(rng);
        for (size_t k = 0; k < nb; k++) b[k] = 0.0;
        break;
    case QNN_INIT_KAIMING:
        lim = sqrt(6.0 / fan_in);
        for (size_t k = 0; k < nw; k++) w[k] = -lim + 2.0 * lim * qnn_rng_uniform(rng);
        for (size_t k = 0; k < nb; k++) b[k] = 0.0;
        break;
    case QNN_INIT_KAIMING_NORMAL:
        lim = sqrt(2.0 / fan_in);
        for (size_t k = 0; k < nw; k++) w[k] = lim * qnn_rng_normal(rng);
        for (size_t k = 0; k < nb; k++) b[k] = 0.0;
        break;
    case QNN_INIT_ZERO:
        for (size_t k = 0; k < nw + nb; k++) w[k] = 0.0;
        break;
    default:
        return qnn_error_set(err, QNN_EINVAL, "dense: unknown init kind %d", l->init.kind);
    }
    return QNN_OK;
}

const qnn_layer_vtable qnn_layer_dense_vt = {"dense", dense_forward, dense_backward, dense_init,
                                             dense_destroy, dense_copy_state};

/* ---------------- elementwise activations ---------------- */
#define ELEMENTWISE_FORWARD(fname, expr)                                                        \
    static int fname(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,            \
                     qnn_rng *rng, qnn_error *err) {                                            \
        (void)train, (void)rng, (void)err, (void)l;                                             \
        for (size_t r = 0; r < in->rows; r++) {                                                 \
            const double *restrict x = qnn_tensor_row(in, r);                                   \
            double *restrict y = qnn_tensor_row(out, r);                                        \
            const size_t nc = in->cols;                                                         \
            _Pragma("omp simd") for (size_t j = 0; j < nc; j++) {                               \
                double z = x[j];                                                                \
                y[j] = (expr);                                                                  \
            }                                                                                   \
        }                                                                                       \
        return QNN_OK;                                                                          \
    }

/* backward: din = dout * f'(z, y) */
#define ELEMENTWISE_BACKWARD(fname, dexpr)                                                      \
    static int fname(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,                 \
                     const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {                 \
        (void)err, (void)l;                                                                     \
        if (!din) return QNN_OK;                                                                \
        for (size_t r = 0; r < in->rows; r++) {                                                 \
            const double *restrict x = qnn_tensor_row(in, r);                                   \
            const double *restrict y = qnn_tensor_row(out, r);                                  \
            const double *restrict d = qnn_tensor_row(dout, r);                                 \
            double *restrict o = qnn_tensor_row(din, r);                                        \
            const size_t nc = in->cols;                                                         \
            _Pragma("omp simd") for (size_t j = 0; j < nc; j++) {                               \
                double z = x[j], a = y[j];                                                      \
                (void)z, (void)a;                                                               \
                o[j] = d[j] * (dexpr);                                                          \
            }                                                                                   \
        }                                                                                       \
        return QNN_OK;                                                                          \
    }

static inline double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

ELEMENTWISE_FORWARD(tanh_forward, tanh(z))
ELEMENTWISE_BACKWARD(tanh_backward, 1.0 - a * a)
ELEMENTWISE_FORWARD(relu_forward, z > 0 ? z : 0.0)
static int relu_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                         const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)l, (void)out, (void)err;
    if (!din) return QNN_OK;
    for (size_t r = 0; r < in->rows; r++) {
        const double *restrict x = qnn_tensor_row(in, r);
        const double *restrict d = qnn_tensor_row(dout, r);
        double *restrict o = qnn_tensor_row(din, r);
        const size_t nc = in->cols;
#pragma omp simd
        for (size_t j = 0; j < nc; j++) {
            double dj = d[j], xj = x[j];
            o[j] = xj > 0 ? dj : 0.0;
        }
    }
    return QNN_OK;
}
ELEMENTWISE_FORWARD(sigmoid_forward, sigmoid(z))
ELEMENTWISE_BACKWARD(sigmoid_backward, a * (1.0 - a))
ELEMENTWISE_FORWARD(sign_forward, z >= 0 ? 1.0 : -1.0)
ELEMENTWISE_BACKWARD(sign_backward, fabs(z) < 1.0 ? 1.0 : 0.0)
ELEMENTWISE_FORWARD(identity_forward, z)
ELEMENTWISE_BACKWARD(identity_backward, 1.0)

static int softmax_forward(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                           qnn_rng *rng, qnn_error *err) {
    (void)l, (void)train, (void)rng, (void)err;
    for (size_t r = 0; r < in->rows; r++) {
        const double *x = qnn_tensor_row(in, r);
        double *y = qnn_tensor_row(out, r);
        double m = -INFINITY, s = 0.0;
        for (size_t j = 0; j < in->cols; j++)
            if (x[j] > m) m = x[j];
        for (size_t j = 0; j < in->cols; j++) s += (y[j] = exp(x[j] - m));
        for (size_t j = 0; j < in->cols; j++) y[j] /= s;
    }
    return QNN_OK;
}

static int softmax_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                            const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)l, (void)err;
    if (!din) return QNN_OK;
    for (size_t r = 0; r < in->rows; r++) {
        const double *y = qnn_tensor_row(out, r), *d = qnn_tensor_row(dout, r);
        double *o = qnn_tensor_row(din, r);
        double dot = 0.0;
        for (size_t j = 0; j < in->cols; j++) dot += d[j] * y[j];
        for (size_t j = 0; j < in->cols; j++) o[j] = y[j] * (d[j] - dot);
    }
    return QNN_OK;
}

const qnn_layer_vtable qnn_layer_tanh_vt = {"tanh", tanh_forward, tanh_backward, NULL, NULL, NULL};
const qnn_layer_vtable qnn_layer_relu_vt = {"relu", relu_forward, relu_backward, NULL, NULL, NULL};
const qnn_layer_vtable qnn_layer_sigmoid_vt = {"sigmoid", sigmoid_forward, sigmoid_backward,
                                               NULL, NULL, NULL};
const qnn_layer_vtable qnn_layer_softmax_vt = {"softmax", softmax_forward, softmax_backward,
                                               NULL, NULL, NULL};
const qnn_layer_vtable qnn_layer_sign_vt = {"sign", sign_forward, sign_backward, NULL, NULL, NULL};
const qnn_layer_vtable qnn_layer_identity_vt = {"identity", identity_forward, identity_backward,
                                                NULL, NULL, NULL};

const qnn_layer_vtable *qnn_layer_builtin(const char *name, int *kind) {
    static const struct {
        const char *name;
        const qnn_layer_vtable *vt;
        int kind;
    } table[] = {{"dense", &qnn_layer_dense_vt, QNN_LAYER_DENSE},
                 {"tanh", &qnn_layer_tanh_vt, QNN_LAYER_TANH},
                 {"relu", &qnn_layer_relu_vt, QNN_LAYER_RELU},
                 {"sigmoid", &qnn_layer_sigmoid_vt, QNN_LAYER_SIGMOID},
                 {"softmax", &qnn_layer_softmax_vt, QNN_LAYER_SOFTMAX},
                 {"sign", &qnn_layer_sign_vt, QNN_LAYER_SIGN},
                 {"identity", &qnn_layer_identity_vt, QNN_LAYER_IDENTITY}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (name && strcmp(name, table[i].name) == 0) {
            if (kind) *kind = table[i].kind;
            return table[i].vt;
        }
    return NULL;
}
