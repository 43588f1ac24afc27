/* Body of the fused candidate kernel (see grover_kern.h). Included by grover_kern_generic.c,
 * grover_kern_avx2.c and grover_kern_avx512.c with KNAME (the function to define), KW (doubles
 * per vector: 2 SSE2, 4 AVX2, 8 AVX-512; a tile is one vector of rows) and KMB (the most
 * accumulator vectors one dense block may keep in registers) defined, after the target pragmas:
 * the same source becomes SSE2, AVX2/FMA or AVX-512 code.
 *
 * exp and tanh: see k_exp / k_tanh below; tested against full forward passes (libm) in
 * tests/c/test_grover_optim.c through the kernels' results. */
#include "qnn/nn.h"

typedef double v8d __attribute__((vector_size(KW * 8)));
typedef uint64_t v8u __attribute__((vector_size(KW * 8)));
typedef int64_t v8l __attribute__((vector_size(KW * 8)));

#define KI static inline __attribute__((always_inline))

#if KW == 8
KI v8d k_splat(double x) { return (v8d){x, x, x, x, x, x, x, x}; }
#elif KW == 4
KI v8d k_splat(double x) { return (v8d){x, x, x, x}; }
#else
KI v8d k_splat(double x) { return (v8d){x, x}; }
#endif
/* lanes of a where m is all ones, else b */
KI v8d k_sel(v8l m, v8d a, v8d b) {
    v8u mu = (v8u)m;
    return (v8d)(((v8u)a & mu) | ((v8u)b & ~mu));
}

#if KW == 8
#define K_MIN(a, b) ((v8d)_mm512_min_pd((__m512d)(a), (__m512d)(b)))
#define K_MAX(a, b) ((v8d)_mm512_max_pd((__m512d)(a), (__m512d)(b)))
#elif KW == 4
#define K_MIN(a, b) ((v8d)_mm256_min_pd((__m256d)(a), (__m256d)(b)))
#define K_MAX(a, b) ((v8d)_mm256_max_pd((__m256d)(a), (__m256d)(b)))
#elif defined(__SSE2__)
#define K_MIN(a, b) ((v8d)_mm_min_pd((__m128d)(a), (__m128d)(b)))
#define K_MAX(a, b) ((v8d)_mm_max_pd((__m128d)(a), (__m128d)(b)))
#else
#define K_MIN(a, b) k_sel((a) < (b), (a), (b))
#define K_MAX(a, b) k_sel((a) > (b), (a), (b))
#endif

/* exp(y) for y in [-708, 709] (callers clamp). y = n ln2 + r, |r| <= ln2/2; degree-11
 * polynomial interpolating exp at the Chebyshev nodes of [-ln2/2, ln2/2] (relative error
 * 1.6e-16 in double arithmetic, checked against 60-digit values); 2^n by vscalefpd (AVX-512) or
 * the exponent bits. */
KI v8d k_exp(v8d y) {
#if KW == 8
    v8d n = (v8d)_mm512_roundscale_pd((__m512d)(y * 1.4426950408889634074),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    const v8d shift = k_splat(0x1.8p52);
    v8d t = y * 1.4426950408889634074 + shift;
    v8d n = t - shift;
#endif
    v8d r = y - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    v8d p = k_splat(2.5110037605963777e-08);
    p = p * r + 2.763263963904103e-07;
    p = p * r + 2.755724091857897e-06;
    p = p * r + 2.4801485482328494e-05;
    p = p * r + 0.00019841269890047113;
    p = p * r + 0.0013888888952314775;
    p = p * r + 0.008333333333319601;
    p = p * r + 0.0416666666664881;
    p = p * r + 0.1666666666666668;
    p = p * r + 0.5000000000000019;
    p = p * r + 1.0;
    p = p * r + 1.0;
#if KW == 8
    return (v8d)_mm512_scalef_pd((__m512d)p, (__m512d)n);
#else
    v8u k = ((v8u)t + 1023u) << 52;
    return p * (v8d)k;
#endif
}

/* 1 + exp(2x) with x clamped to <= 20 (tanh(20) rounds to 1; keeps products of 4 finite).
 * exp(2x) = 2^n exp(2r), r = x - n ln2/2, exp(2r) by the degree-10 interpolant of exp at the
 * Chebyshev nodes of [-ln2/2, ln2/2] (relative error 4.3e-16, so tanh's absolute error stays
 * below ~5e-16) with the coefficients c_k 2^k (exact scaling): the doubling costs nothing. AVX-512: vscalefpd saturates to 0 for very negative
 * x (no lower clamp); the bit trick needs x >= -354. */
KI v8d k_tanh_den(v8d x) {
#if KW == 8
    x = K_MIN(x, k_splat(20.0));
    v8d n = (v8d)_mm512_roundscale_pd((__m512d)(x * 2.8853900817779268147),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    x = K_MIN(K_MAX(x, k_splat(-20.0)), k_splat(20.0));
    const v8d shift = k_splat(0x1.8p52);
    v8d t = x * 2.8853900817779268147 + shift;
    v8d n = t - shift;
#endif
    v8d r = x - n * 3.46573590184561908245e-01;
    r = r - n * 9.54107464635293850010e-11;
    v8d p = k_splat(2.7626357241447223e-07 * 1024.0);
    p = p * r + 2.764018079620985e-06 * 512.0;
    p = p * r + 2.4801504346997686e-05 * 256.0;
    p = p * r + 0.00019841170270440067 * 128.0;
    p = p * r + 0.0013888888932488599 * 64.0;
    p = p * r + 0.008333333385667782 * 32.0;
    p = p * r + 0.04166666666657314 * 16.0;
    p = p * r + 0.16666666666554406 * 8.0;
    p = p * r + 0.5000000000000006 * 4.0;
    p = p * r + 1.0000000000000067 * 2.0;
    p = p * r + 1.0;
#if KW == 8
    return 1.0 + (v8d)_mm512_scalef_pd((__m512d)p, (__m512d)n);
#else
    v8u k = ((v8u)t + 1023u) << 52;
    return 1.0 + p * (v8d)k;
#endif
}

/* tanh(x) = 1 - 2 / (1 + exp(2x)): absolute error <= ~5e-16 */
KI v8d k_tanh(v8d x) { return 1.0 - 2.0 / k_tanh_den(x); }

/* tanh of 4 vectors in place with ONE division: 1/d_q from 1/(d0 d1 d2 d3) by products
 * (denominators in [1, 2.4e17]: no overflow; a few ulps). Divisions are the slowest operation
 * of the kernel. */
KI void k_tanh4(v8d *v) {
    v8d den[4];
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) den[q] = k_tanh_den(v[q]);
    v8d p01 = den[0] * den[1], p23 = den[2] * den[3];
    v8d inv = 1.0 / (p01 * p23);
    v8d i01 = inv * p23, i23 = inv * p01;
    v[0] = 1.0 - 2.0 * (i01 * den[1]);
    v[1] = 1.0 - 2.0 * (i01 * den[0]);
    v[2] = 1.0 - 2.0 * (i23 * den[3]);
    v[3] = 1.0 - 2.0 * (i23 * den[2]);
}

KI v8d k_sigmoid(v8d z) {
    v8d ax = (v8d)((v8u)z & 0x7fffffffffffffffu);
    ax = k_sel(ax > k_splat(708.0), k_splat(708.0), ax);
    v8d e = k_exp(-ax);
    return k_sel(z >= k_splat(0.0), k_splat(1.0), e) / (1.0 + e);
}

KI v8d k_act(int kind, v8d z) {
    switch (kind) {
    case QNN_LAYER_TANH: return k_tanh(z);
    case QNN_LAYER_RELU: return k_sel(z > k_splat(0.0), z, k_splat(0.0));
    case QNN_LAYER_SIGMOID: return k_sigmoid(z);
    case QNN_LAYER_SIGN: return k_sel(z >= k_splat(0.0), k_splat(1.0), k_splat(-1.0));
    default: return z;
    }
}

/* y[0..MBV) = act(x W[:, 0..MBV) + b) for one block of MBV outputs (W with leading dim ldw) */
#define K_DENSE_BLOCK(MBV)                                                                      \
    KI void k_dense##MBV(const v8d *x, size_t nin, const double *W, size_t ldw, const double *b, \
                         int act, v8d *y) {                                                     \
        v8d acc[MBV];                                                                           \
        _Pragma("GCC unroll 16") for (int q = 0; q < MBV; q++) acc[q] = k_splat(b ? b[q] : 0.0); \
        for (size_t k = 0; k < nin; k++) {                                                      \
            const v8d xv = x[k];                                                                \
            const double *w = W + k * ldw;                                                      \
            _Pragma("GCC unroll 16") for (int q = 0; q < MBV; q++) acc[q] += xv * w[q];         \
        }                                                                                       \
        if (act == QNN_LAYER_TANH && MBV % 4 == 0) {                                            \
            _Pragma("GCC unroll 4") for (int q = 0; q < MBV; q += 4) k_tanh4(acc + q);           \
            _Pragma("GCC unroll 16") for (int q = 0; q < MBV; q++) y[q] = acc[q];                \
        } else {                                                                                \
            _Pragma("GCC unroll 16") for (int q = 0; q < MBV; q++) y[q] = k_act(act, acc[q]);   \
        }                                                                                       \
    }
K_DENSE_BLOCK(1)
K_DENSE_BLOCK(2)
#if KMB >= 4
K_DENSE_BLOCK(4)
#endif
#if KMB >= 8
K_DENSE_BLOCK(8)
#endif
#if KMB >= 16
K_DENSE_BLOCK(16)
#endif

KI void k_dense(const v8d *x, const gopt_klayer *l, v8d *y) {
    const size_t n = l->out;
    size_t m = 0;
#define K_RUN(MBV)                                                                              \
    for (; m + MBV <= n; m += MBV)                                                              \
        k_dense##MBV(x, l->in, l->W + m, n, l->b ? l->b + m : NULL, l->act, y + m);
#if KMB >= 16
    K_RUN(16)
#endif
#if KMB >= 8
    K_RUN(8)
#endif
#if KMB >= 4
    K_RUN(4)
#endif
    K_RUN(2)
    K_RUN(1)
#undef K_RUN
}

void KNAME(const gopt_kjob *jb) {
    const size_t nt = jb->Bp / KW, N = jb->N, K = jb->K, o1 = jb->o1;
    v8d *b0 = (v8d *)jb->work, *b1 = b0 + jb->maxw, *lin = b1 + jb->maxw;
    v8d *prod = lin + GOPT_KCHUNK;
    double *logs = (double *)(prod + GOPT_KCHUNK);
    const v8d *A = (const v8d *)jb->a, *ZJ = (const v8d *)jb->zj, *HJ = (const v8d *)jb->hj;
    const v8d *Z1T = (const v8d *)jb->Z1T, *OH = (const v8d *)jb->onehot;
    const v8d *MK = (const v8d *)jb->mask;
    const int act0 = jb->act0, act1 = jb->act1;
    for (size_t c0 = 0; c0 < N; c0 += GOPT_KCHUNK) {
        const size_t nc = N - c0 < GOPT_KCHUNK ? N - c0 : GOPT_KCHUNK;
        for (size_t c = 0; c < nc; c++) {
            lin[c] = k_splat(0.0);
            prod[c] = k_splat(1.0);
            logs[c] = 0.0;
        }
        size_t cnt = 0;
        for (size_t t = 0; t < nt; t++) {
            const v8d a = A[t], z = ZJ[t], h = HJ[t], mk = MK[t];
            for (size_t c = 0; c < nc; c++) {
                const v8d d = k_act(act0, z + a * jb->delta[c0 + c]) - h;
                if (act1 == QNN_LAYER_TANH) {
                    size_t k = 0;
                    for (; k + 4 <= o1; k += 4) {
                        v8d v[4];
                        _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++)
                            v[q] = Z1T[(k + q) * nt + t] + d * jb->wrow[k + q];
                        k_tanh4(v);
                        _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) b0[k + q] = v[q];
                    }
                    for (; k < o1; k++) b0[k] = k_tanh(Z1T[k * nt + t] + d * jb->wrow[k]);
                } else {
                    for (size_t k = 0; k < o1; k++)
                        b0[k] = k_act(act1, Z1T[k * nt + t] + d * jb->wrow[k]);
                }
                v8d *x = b0, *y = b1;
                for (size_t l = 0; l < jb->nl; l++) {
                    k_dense(x, &jb->lay[l], y);
                    v8d *sw = x;
                    x = y;
                    y = sw;
                }
                v8d mx = x[0];
                for (size_t k = 1; k < K; k++) mx = K_MAX(x[k], mx);
                v8d s = k_splat(0.0), ly = k_splat(0.0);
                for (size_t k = 0; k < K; k++) {
                    v8d e = x[k] - mx;
                    e = K_MAX(e, k_splat(-708.0));
                    s += k_exp(e);
                    ly += OH[k * nt + t] * x[k];
                }
                lin[c] += mk * mx - ly;
                prod[c] *= k_sel(mk > k_splat(0.0), s, k_splat(1.0));
            }
            if (++cnt == jb->blk || t + 1 == nt) {
                for (size_t c = 0; c < nc; c++) {
                    double p[KW];
                    memcpy(p, &prod[c], sizeof p);
                    for (int q = 0; q < KW; q++) logs[c] += log(p[q]);
                    prod[c] = k_splat(1.0);
                }
                cnt = 0;
            }
        }
        for (size_t c = 0; c < nc; c++) {
            double v[KW];
            memcpy(v, &lin[c], sizeof v);
            double sum = logs[c];
            for (int q = 0; q < KW; q++) sum += v[q];
            jb->out[c0 + c] = sum;
        }
    }
}
