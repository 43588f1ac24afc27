/* Private inline math shared by core kernels that GCC must vectorise (no libm calls, no errno).
 * qnn_exp_clamped(y): e^y for y already clamped to [-708, 709]; Cody-Waite reduction by ln 2,
 * degree-13 Taylor polynomial, 2^k built from the exponent bits; relative error <= 2e-16. */
#ifndef QNN_CORE_FASTMATH_H
#define QNN_CORE_FASTMATH_H
#include <stdint.h>
#include <string.h>

static inline double qnn_exp_clamped(double y) {
    const double shift = 0x1.8p52;
    double t = y * 1.4426950408889634074 + shift;
    double n = t - shift;
    double r = y - n * 6.93147180369123816490e-01;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t k; /* unsigned: the wrap-around of the bit trick is well defined */
    memcpy(&k, &t, sizeof k);
    k = (k + 1023u) << 52;
    double sc;
    memcpy(&sc, &k, sizeof sc);
    return p * sc;
}

#endif
