/* Seeded random streams (xoshiro256** seeded through splitmix64). Same seed -> same numbers. */
#ifndef QNN_RNG_H
#define QNN_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct qnn_rng {
    uint64_t s[4];
    double spare;      /* cached second normal deviate */
    int has_spare;
} qnn_rng;

void qnn_rng_seed(qnn_rng *r, uint64_t seed);
uint64_t qnn_rng_next(qnn_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
static inline double qnn_rng_uniform(qnn_rng *r) {
    /* inline copy of next() for speed in hot loops */
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return (double)(result >> 11) * 0x1.0p-53;
}
double qnn_rng_normal(qnn_rng *r);               /* standard normal */
uint64_t qnn_rng_below(qnn_rng *r, uint64_t n);  /* uniform integer in [0, n), n >= 1, unbiased */
/* Derive an independent stream (e.g. one per trajectory) from r without disturbing
 * reproducibility: child = seed(next(r) ^ salt). */
void qnn_rng_split(qnn_rng *r, uint64_t salt, qnn_rng *child);
/* Fisher-Yates shuffle of an index array. */
void qnn_rng_shuffle(qnn_rng *r, size_t *idx, size_t n);

#endif
