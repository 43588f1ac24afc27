/* Internal (not installed): the fused candidate-evaluation kernel of Method 1's hot path
 * (src/core/grover_optim.c). One kernel body (grover_kern_body.h) compiled three times: portable
 * x86-64 (grover_kern_generic.c), AVX2+FMA (grover_kern_avx2.c) and AVX-512 (grover_kern_avx512.c);
 * grover_optim.c picks one at run time (__builtin_cpu_supports).
 *
 * Layout: structure of arrays, 8 (candidate, sample) rows per tile, one double per lane, so every
 * matrix product is a broadcast-FMA over lanes and every activation a vector kernel. A job
 * evaluates the N candidate values of one weight feeding neuron j of dense layer L (L + 1 < D):
 *   h'   = act0(zj + delta_c * a) - hj           (the touched neuron's change; per sample)
 *   z1   = Z1 + h' * wrow                         (rank-1 update of layer L+1's pre-activations)
 *   x    = act1(z1), then each layer of lay[]: x = act(x W + b)
 *   out_c = sum over real samples of cross-entropy(logits = x, label)
 * All per-sample arrays are padded to Bp (multiple of 8) samples; padded lanes have mask 0. */
#ifndef QNN_GROVER_KERN_H
#define QNN_GROVER_KERN_H

#include <stddef.h>

#define GOPT_KLANES 8
#define GOPT_KCHUNK 64 /* candidates per pass over the samples (accumulators: O(chunk)) */

typedef struct gopt_klayer {
    size_t in, out;
    int act;              /* QNN_LAYER_* (softmax never: it is part of the loss) */
    const double *W;      /* in x out, row-major */
    const double *b;      /* out, or NULL */
} gopt_klayer;

typedef struct gopt_kjob {
    size_t Bp;            /* padded sample count, multiple of 8 */
    size_t N;             /* candidates */
    const double *delta;  /* N: candidate - current weight */
    int act0;             /* activation of layer L */
    const double *zj, *hj, *a; /* Bp each: pre-activation and activation of neuron j, input */
    size_t o1;            /* width of layer L+1 */
    int act1;             /* activation of layer L+1 */
    const double *Z1T;    /* o1 x Bp: layer L+1 pre-activations, transposed */
    const double *wrow;   /* o1: row j of layer L+1's weights */
    size_t nl;            /* dense layers after L+1 */
    const gopt_klayer *lay;
    size_t K;             /* classes (width of the last layer) */
    const double *onehot; /* K x Bp: 1 where label == k (0 on padded samples) */
    const double *mask;   /* Bp: 1 real sample, 0 padding */
    size_t blk;           /* tiles per product block of the softmax sums (each in [1, K]) */
    size_t maxw;          /* max layer width (tile buffer size) */
    double *work;         /* >= gopt_kwork_doubles(maxw) doubles, 64-byte aligned */
    double *out;          /* N: sums of cross-entropy */
} gopt_kjob;

static inline size_t gopt_kwork_doubles(size_t maxw) {
    return GOPT_KLANES * (2 * maxw + 2 * GOPT_KCHUNK) + 2 * GOPT_KCHUNK;
}

/* Which variants are built: the kernel needs GCC/Clang vector extensions; the AVX2 and AVX-512
 * clones need x86-64 (define QNN_NO_AVX2 to leave them out). */
#if defined(__GNUC__)
#define GOPT_KERN_VEC 1
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(QNN_NO_AVX2)
#define GOPT_KERN_X86 1
#endif

void qnn_gopt_kern_generic(const gopt_kjob *jb);
void qnn_gopt_kern_avx2(const gopt_kjob *jb);   /* only where the CPU has AVX2 and FMA */
void qnn_gopt_kern_avx512(const gopt_kjob *jb); /* only where the CPU has AVX512F/DQ */

#endif
