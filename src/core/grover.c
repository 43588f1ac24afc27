/* Grover search, sampling and Durr-Hoyer minimum finding. See include/qnn/grover.h. */
#include "qnn/grover.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QNN_PI 3.14159265358979323846

int qnn_grover_qubits_for(size_t count) {
    int n = 1;
    while (n < 63 && ((size_t)1 << n) < count) n++;
    return n;
}

int qnn_grover_default_iterations(uint64_t N, uint64_t M) {
    if (M == 0 || M >= N) return 0;
    return (int)floor(QNN_PI / 4.0 * sqrt((double)N / (double)M));
}

double qnn_grover_p_success_analytic(uint64_t N, uint64_t M, int k) {
    if (M == 0 || N == 0) return 0.0;
    if (M >= N) return 1.0;
    double th = asin(sqrt((double)M / (double)N));
    double s = sin((2.0 * k + 1.0) * th);
    return s * s;
}

int qnn_grover_ideal_probs(int n, const unsigned char *mask, int k, double *probs,
                           qnn_error *err) {
    if (n < 1 || n > QNN_GROVER_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "grover: n must be in [1, %d], got %d",
                             QNN_GROVER_MAX_QUBITS, n);
    if (k < 0) return qnn_error_set(err, QNN_EINVAL, "grover: iterations must be >= 0, got %d", k);
    if (!mask || !probs) return qnn_error_set(err, QNN_EINVAL, "grover: NULL mask or probs");
    size_t N = (size_t)1 << n;
    double *a = probs; /* amplitudes live in the output buffer, squared at the end */
    double a0 = 1.0 / sqrt((double)N);
    for (size_t x = 0; x < N; x++) a[x] = a0;
    for (int it = 0; it < k; it++) {
        double sum = 0.0;
        for (size_t x = 0; x < N; x++) {
            if (mask[x]) a[x] = -a[x]; /* oracle: phase flip */
            sum += a[x];
        }
        double twomean = 2.0 * sum / (double)N; /* diffusion: a -> 2<a> - a */
        for (size_t x = 0; x < N; x++) a[x] = twomean - a[x];
    }
    for (size_t x = 0; x < N; x++) a[x] *= a[x];
    return QNN_OK;
}

int qnn_grover_engine_probs(const qnn_grover_engine *eng, int n, const unsigned char *mask,
                            int k, double *probs, qnn_error *err) {
    if (eng && eng->probs) return eng->probs(eng->ud, n, mask, k, probs, err);
    return qnn_grover_ideal_probs(n, mask, k, probs, err);
}

static int check_probs(const double *probs, size_t N, double *total, qnn_error *err) {
    double s = 0.0;
    for (size_t x = 0; x < N; x++) {
        double p = probs[x];
        if (!(p >= 0.0) || !isfinite(p))
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover: probability %zu is %g (must be finite and >= 0)", x, p);
        s += p;
    }
    if (!(s > 0.0)) return qnn_error_set(err, QNN_EINVAL, "grover: all probabilities are zero");
    *total = s;
    return QNN_OK;
}

int qnn_grover_sample1(const double *probs, size_t N, qnn_rng *rng, size_t *out,
                       qnn_error *err) {
    if (!probs || !rng || !out || N == 0)
        return qnn_error_set(err, QNN_EINVAL, "grover: bad sample arguments");
    double total;
    int rc = check_probs(probs, N, &total, err);
    if (rc) return rc;
    double u = qnn_rng_uniform(rng) * total, c = 0.0;
    size_t last = 0;
    for (size_t x = 0; x < N; x++) {
        if (probs[x] > 0.0) {
            last = x;
            c += probs[x];
            if (u < c) {
                *out = x;
                return QNN_OK;
            }
        }
    }
    *out = last; /* rounding: u landed past the final partial sum */
    return QNN_OK;
}

int qnn_grover_sample(const double *probs, size_t N, uint64_t shots, qnn_rng *rng,
                      uint64_t *counts, size_t *mode, qnn_error *err) {
    if (!probs || !rng || !counts || N == 0)
        return qnn_error_set(err, QNN_EINVAL, "grover: bad sample arguments");
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "grover: shots must be >= 1");
    double total;
    int rc = check_probs(probs, N, &total, err);
    if (rc) return rc;
    double *cdf = (double *)malloc(N * sizeof *cdf);
    if (!cdf) return qnn_error_set(err, QNN_ENOMEM, "grover: out of memory (%zu outcomes)", N);
    double c = 0.0;
    for (size_t x = 0; x < N; x++) {
        c += probs[x];
        cdf[x] = c;
    }
    memset(counts, 0, N * sizeof *counts);
    for (uint64_t s = 0; s < shots; s++) {
        double u = qnn_rng_uniform(rng) * total;
        size_t lo = 0, hi = N - 1; /* first x with cdf[x] > u */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cdf[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        while (lo > 0 && probs[lo] <= 0.0) lo--; /* never land on a zero-probability state */
        counts[lo]++;
    }
    free(cdf);
    if (mode) {
        size_t best = 0;
        for (size_t x = 1; x < N; x++)
            if (counts[x] > counts[best]) best = x;
        *mode = best;
    }
    return QNN_OK;
}

int qnn_grover_search(int n, const unsigned char *mask, int k, uint64_t shots,
                      const qnn_grover_engine *eng, qnn_rng *rng, uint64_t *counts,
                      qnn_grover_search_result *res, qnn_error *err) {
    if (n < 1 || n > QNN_GROVER_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "grover.search: n must be in [1, %d], got %d",
                             QNN_GROVER_MAX_QUBITS, n);
    if (shots < 1) return qnn_error_set(err, QNN_EINVAL, "grover.search: shots must be >= 1");
    if (!mask || !rng || !res) return qnn_error_set(err, QNN_EINVAL, "grover.search: NULL argument");
    size_t N = (size_t)1 << n;
    uint64_t M = 0;
    for (size_t x = 0; x < N; x++) M += mask[x] != 0;
    if (k < 0) k = qnn_grover_default_iterations(N, M);
    double *probs = (double *)malloc(N * sizeof *probs);
    uint64_t *cnt = counts ? counts : (uint64_t *)malloc(N * sizeof *cnt);
    if (!probs || !cnt) {
        free(probs);
        if (!counts) free(cnt);
        return qnn_error_set(err, QNN_ENOMEM, "grover.search: out of memory");
    }
    int rc = qnn_grover_engine_probs(eng, n, mask, k, probs, err);
    if (rc == QNN_OK) {
        double ps = 0.0, tot = 0.0;
        for (size_t x = 0; x < N; x++) {
            tot += probs[x];
            if (mask[x]) ps += probs[x];
        }
        res->p_success = tot > 0 ? ps / tot : 0.0;
        rc = qnn_grover_sample(probs, N, shots, rng, cnt, &res->outcome, err);
        res->iterations = k;
        res->marked = M;
        res->queries = (uint64_t)k * shots;
        res->queries_ideal = (uint64_t)k;
    }
    free(probs);
    if (!counts) free(cnt);
    return rc;
}

int qnn_grover_minimum(const double *values, size_t nvalues, const qnn_grover_min_opts *opts,
                       const qnn_grover_engine *eng, qnn_rng *rng, qnn_grover_min_result *res,
                       qnn_error *err) {
    if (!values || !rng || !res) return qnn_error_set(err, QNN_EINVAL, "grover.minimum: NULL argument");
    if (nvalues < 1) return qnn_error_set(err, QNN_EINVAL, "grover.minimum: values must not be empty");
    for (size_t i = 0; i < nvalues; i++)
        if (!isfinite(values[i]))
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover.minimum: values[%zu] is %g (must be finite)", i + 1,
                                 values[i]);
    int n = opts && opts->n ? opts->n : qnn_grover_qubits_for(nvalues);
    if (n < 1 || n > QNN_GROVER_MAX_QUBITS || ((size_t)1 << n) < nvalues)
        return qnn_error_set(err, QNN_EINVAL,
                             "grover.minimum: n must be in [ceil(log2 #values), %d], got %d",
                             QNN_GROVER_MAX_QUBITS, n);
    double lambda = opts && opts->lambda > 0 ? opts->lambda : 6.0 / 5.0;
    if (!(lambda > 1.0) || !isfinite(lambda))
        return qnn_error_set(err, QNN_EINVAL, "grover.minimum: lambda must be > 1, got %g", lambda);
    size_t N = (size_t)1 << n;
    double sqrtN = sqrt((double)N);
    double budget = opts && opts->budget > 0 ? opts->budget : 22.5 * sqrtN;
    if (opts && (opts->budget < 0 || !isfinite(opts->budget)))
        return qnn_error_set(err, QNN_EINVAL, "grover.minimum: budget must be finite and >= 0");
    /* m is capped at sqrt(N), but at 2 at least so that k = 1 stays reachable when N = 2 */
    double mcap = fmax(sqrtN, 2.0);
    uint64_t max_rounds =
        opts && opts->max_rounds ? opts->max_rounds : (uint64_t)(1000.0 + 16.0 * budget);

    unsigned char *mask = (unsigned char *)calloc(N, 1);
    double *probs = (double *)malloc(N * sizeof *probs);
    if (!mask || !probs) {
        free(mask);
        free(probs);
        return qnn_error_set(err, QNN_ENOMEM, "grover.minimum: out of memory");
    }
    memset(res, 0, sizeof *res);
    res->n = n;
    size_t best = (size_t)qnn_rng_below(rng, nvalues);
    double y = values[best];
    res->evaluations = 1;
    double m = 1.0;
    int rc = QNN_OK;
    for (;;) {
        if (res->rounds >= max_rounds) break;
        int k = (int)qnn_rng_below(rng, (uint64_t)floor(m)); /* uniform in [0, m) */
        if ((double)(res->queries + (uint64_t)k) > budget) break;
        for (size_t x = 0; x < N; x++) mask[x] = x < nvalues && values[x] < y;
        rc = qnn_grover_engine_probs(eng, n, mask, k, probs, err);
        if (rc) break;
        size_t x;
        rc = qnn_grover_sample1(probs, N, rng, &x, err);
        if (rc) break;
        res->queries += (uint64_t)k;
        res->rounds++;
        if (k > res->max_iterations) res->max_iterations = k;
        if (x < nvalues) {
            res->evaluations++;
            if (values[x] < y) {
                y = values[x];
                best = x;
                res->improvements++;
                res->queries_at_best = res->queries;
                m = 1.0;
                continue;
            }
        }
        m = fmin(lambda * m, mcap);
        if ((res->rounds & 63) == 0 && qnn_interrupt_pending()) {
            rc = qnn_error_set(err, QNN_EINTR, "grover.minimum: interrupted");
            break;
        }
    }
    free(mask);
    free(probs);
    res->index = best;
    res->value = y;
    return rc;
}

int qnn_grover_paper_mixture_probs(void *ud, int n, const unsigned char *mask, int k,
                                   double *probs, qnn_error *err) {
    (void)ud;
    int rc = qnn_grover_ideal_probs(n, mask, k, probs, err);
    if (rc) return rc;
    size_t N = (size_t)1 << n;
    double u = 0.5 / (double)N;
    for (size_t x = 0; x < N; x++) probs[x] = u + 0.5 * probs[x];
    return QNN_OK;
}
