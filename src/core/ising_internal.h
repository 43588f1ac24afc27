/* Private helpers of the Ising samplers. */
#ifndef QNN_ISING_INTERNAL_H
#define QNN_ISING_INTERNAL_H
#include <stdint.h>
#include <string.h>

/* exp(x) for x in [-40, 0] (Metropolis acceptance), relative error < 2e-7: x log2(e) = k + f
 * with f in [-1/2, 1/2], 2^f = e^(f ln 2) by a degree-6 Taylor polynomial, 2^k put into the
 * exponent bits. Branch-free and vectorisable; about 4x cheaper than libm exp. */
static inline double qnn_ising_exp_neg(double x) {
    double t = x * 1.4426950408889634; /* log2(e) */
    double kf = (t + 0x1.8p52) - 0x1.8p52; /* round to nearest (default rounding mode) */
    double y = (t - kf) * 0.6931471805599453;
    double p = 1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y * (1.0 / 720))))));
    int64_t k = (int64_t)kf;
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}



/* Reads run in parallel only above this many flip attempts in total (a parallel region costs
 * microseconds; the results do not depend on it). */
#define QNN_ISING_PAR_MIN_ATTEMPTS 65536.0

/* Sampler-friendly copy of a prepared model: CSR rows padded to a multiple of 4 entries with
 * (col = n, val = 0) so the field update after a flip is an unrolled loop with few exits
 * (arrays of spins/fields get one dummy slot n). When every h_i and J_ij is an integer
 * multiple of a quantum q (|value/q| < 2^20) and the largest local field F = max_i (|h_i| +
 * sum_j |J_ij|)/q is small, integer copies ival/ih are also built: the samplers then keep
 * integer fields and look Metropolis acceptance up in a per-sweep table (exact, no exp). */
#include "qnn/ising.h"
typedef struct qnn_ising_pack {
    int n;
    int *rp;      /* n + 1 */
    int *col;
    double *val;
    int *ival;    /* NULL unless quantised */
    int *ih;      /* n, NULL unless quantised */
    double q;
    int F;
} qnn_ising_pack;
#define QNN_ISING_PACK_MAX_F 4096
int qnn_ising_pack_build(qnn_ising *m, qnn_ising_pack *pk, qnn_error *err);
void qnn_ising_pack_free(qnn_ising_pack *pk);
#endif
