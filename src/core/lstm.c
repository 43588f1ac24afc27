/* LSTM layer (see qnn/lstm.h). */
#include "qnn/lstm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lstm_state {
    size_t in, T, H;
    size_t cap;      /* batch rows the caches hold */
    double *gates;   /* cap x T x 4H activated gates (i, f, g, o) */
    double *c;       /* cap x (T+1) x H cell states (index 0 = c_0 = 0) */
    double *h;       /* cap x (T+1) x H hidden states */
    double *dz;      /* 4H scratch */
    double *dh, *dc; /* H scratch each */
} lstm_state;

static void lstm_free_caches(lstm_state *s) {
    free(s->gates);
    free(s->c);
    free(s->h);
    s->gates = s->c = s->h = NULL;
    s->cap = 0;
}

static void lstm_destroy(qnn_layer *l) {
    lstm_state *s = (lstm_state *)l->state;
    if (!s) return;
    lstm_free_caches(s);
    free(s->dz);
    free(s->dh);
    free(s->dc);
    free(s);
    l->state = NULL;
}

static lstm_state *lstm_state_new(size_t in, size_t T, size_t H) {
    lstm_state *s = (lstm_state *)calloc(1, sizeof *s);
    if (!s) return NULL;
    s->in = in;
    s->T = T;
    s->H = H;
    s->dz = (double *)calloc(4 * H, sizeof(double));
    s->dh = (double *)calloc(H, sizeof(double));
    s->dc = (double *)calloc(H, sizeof(double));
    if (!s->dz || !s->dh || !s->dc) {
        free(s->dz);
        free(s->dh);
        free(s->dc);
        free(s);
        return NULL;
    }
    return s;
}

static int lstm_reserve(lstm_state *s, size_t B, qnn_error *err) {
    if (B <= s->cap) return QNN_OK;
    lstm_free_caches(s);
    size_t g, c;
    if (qnn_mul_size(B, s->T * 4 * s->H, &g) || qnn_mul_size(B, (s->T + 1) * s->H, &c))
        return qnn_error_set(err, QNN_ENOMEM, "lstm: batch too large");
    s->gates = (double *)malloc(g * sizeof(double));
    s->c = (double *)malloc(c * sizeof(double));
    s->h = (double *)malloc(c * sizeof(double));
    if (!s->gates || !s->c || !s->h) {
        lstm_free_caches(s);
        return qnn_error_set(err, QNN_ENOMEM, "lstm: out of memory for %zu rows", B);
    }
    s->cap = B;
    return QNN_OK;
}

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

static int lstm_forward(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                        qnn_rng *rng, qnn_error *err) {
    (void)train;
    (void)rng;
    lstm_state *s = (lstm_state *)l->state;
    size_t B = in->rows, I = s->in, T = s->T, H = s->H, G = 4 * H;
    int st = lstm_reserve(s, B, err);
    if (st) return st;
    const double *Wx = l->w, *Wh = l->w + I * G, *bias = l->w + I * G + H * G;
    for (size_t b = 0; b < B; b++) {
        const double *x = qnn_tensor_row(in, b);
        double *cb = s->c + b * (T + 1) * H, *hb = s->h + b * (T + 1) * H;
        memset(cb, 0, H * sizeof(double));
        memset(hb, 0, H * sizeof(double));
        for (size_t t = 0; t < T; t++) {
            double *z = s->gates + (b * T + t) * G;
            const double *xt = x + t * I, *hp = hb + t * H, *cp = cb + t * H;
            memcpy(z, bias, G * sizeof(double));
            for (size_t k = 0; k < I; k++) {
                double v = xt[k];
                const double *w = Wx + k * G;
                for (size_t j = 0; j < G; j++) z[j] += v * w[j];
            }
            for (size_t k = 0; k < H; k++) {
                double v = hp[k];
                if (v == 0.0) continue;
                const double *w = Wh + k * G;
                for (size_t j = 0; j < G; j++) z[j] += v * w[j];
            }
            double *cn = cb + (t + 1) * H, *hn = hb + (t + 1) * H;
            for (size_t u = 0; u < H; u++) {
                double ig = sigm(z[u]), fg = sigm(z[H + u]), gg = tanh(z[2 * H + u]),
                       og = sigm(z[3 * H + u]);
                z[u] = ig;
                z[H + u] = fg;
                z[2 * H + u] = gg;
                z[3 * H + u] = og;
                cn[u] = fg * cp[u] + ig * gg;
                hn[u] = og * tanh(cn[u]);
            }
        }
        memcpy(qnn_tensor_row(out, b), hb + T * H, H * sizeof(double));
    }
    return QNN_OK;
}

static int lstm_backward(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                         const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)out;
    lstm_state *s = (lstm_state *)l->state;
    size_t B = in->rows, I = s->in, T = s->T, H = s->H, G = 4 * H;
    if (B > s->cap || !s->gates)
        return qnn_error_set(err, QNN_ESTATE, "lstm: backward without a matching forward");
    const double *Wx = l->w, *Wh = l->w + I * G;
    double *gWx = l->g, *gWh = l->g + I * G, *gb = l->g + I * G + H * G;
    double *dz = s->dz, *dh = s->dh, *dc = s->dc;
    for (size_t b = 0; b < B; b++) {
        const double *x = qnn_tensor_row(in, b);
        const double *cb = s->c + b * (T + 1) * H, *hb = s->h + b * (T + 1) * H;
        memcpy(dh, qnn_tensor_row(dout, b), H * sizeof(double));
        memset(dc, 0, H * sizeof(double));
        double *dx = din ? qnn_tensor_row(din, b) : NULL;
        for (size_t t = T; t-- > 0;) {
            const double *gt = s->gates + (b * T + t) * G;
            const double *cp = cb + t * H, *cn = cb + (t + 1) * H, *hp = hb + t * H;
            for (size_t u = 0; u < H; u++) {
                double ig = gt[u], fg = gt[H + u], gg = gt[2 * H + u], og = gt[3 * H + u];
                double tc = tanh(cn[u]);
                double d_o = dh[u] * tc;
                double dcu = dc[u] + dh[u] * og * (1.0 - tc * tc);
                dz[u] = dcu * gg * ig * (1.0 - ig);
                dz[H + u] = dcu * cp[u] * fg * (1.0 - fg);
                dz[2 * H + u] = dcu * ig * (1.0 - gg * gg);
                dz[3 * H + u] = d_o * og * (1.0 - og);
                dc[u] = dcu * fg;
            }
            const double *xt = x + t * I;
            for (size_t j = 0; j < G; j++) gb[j] += dz[j];
            for (size_t k = 0; k < I; k++) {
                double v = xt[k];
                double *g = gWx + k * G;
                for (size_t j = 0; j < G; j++) g[j] += v * dz[j];
            }
            for (size_t k = 0; k < H; k++) {
                double v = hp[k];
                double *g = gWh + k * G;
                const double *w = Wh + k * G;
                double acc = 0.0;
                for (size_t j = 0; j < G; j++) {
                    g[j] += v * dz[j];
                    acc += w[j] * dz[j];
                }
                dh[k] = acc;
            }
            if (dx)
                for (size_t k = 0; k < I; k++) {
                    const double *w = Wx + k * G;
                    double acc = 0.0;
                    for (size_t j = 0; j < G; j++) acc += w[j] * dz[j];
                    dx[t * I + k] = acc;
                }
        }
    }
    return QNN_OK;
}

static int lstm_init(qnn_layer *l, qnn_rng *rng, qnn_error *err) {
    (void)err;
    lstm_state *s = (lstm_state *)l->state;
    double a = 1.0 / sqrt((double)s->H);
    for (size_t k = 0; k < l->nparams; k++) l->w[k] = a * (2.0 * qnn_rng_uniform(rng) - 1.0);
    return QNN_OK;
}

static int lstm_copy_state(qnn_layer *dst, const qnn_layer *src, qnn_error *err) {
    const lstm_state *s = (const lstm_state *)src->state;
    dst->state = lstm_state_new(s->in, s->T, s->H);
    if (!dst->state) return qnn_error_set(err, QNN_ENOMEM, "lstm: out of memory");
    return QNN_OK;
}

const qnn_layer_vtable qnn_layer_lstm_vt = {"lstm", lstm_forward, lstm_backward, lstm_init,
                                            lstm_destroy, lstm_copy_state};

int qnn_net_add_lstm(qnn_net *net, size_t in, size_t steps, size_t hidden, qnn_error *err) {
    size_t lim = (size_t)1 << 20;
    if (in < 1 || in > lim || steps < 1 || steps > lim || hidden < 1 || hidden > lim)
        return -qnn_error_set(err, QNN_EINVAL,
                              "lstm: in, steps and hidden must be integers in [1, 2^20]");
    lstm_state *s = lstm_state_new(in, steps, hidden);
    if (!s) return -qnn_error_set(err, QNN_ENOMEM, "lstm: out of memory");
    double fp[4] = {(double)in, (double)steps, (double)hidden, 0.0};
    return qnn_net_add_layer(net, &qnn_layer_lstm_vt, in * steps, hidden,
                             qnn_lstm_nparams(in, hidden), fp, s, err);
}
