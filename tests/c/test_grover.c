#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qnn/circuit.h"
#include "qnn/grover.h"

/* Ideal textbook simulation vs sin^2((2k+1) asin(sqrt(M/N))) for many (n, M, k). */
TEST(success_probability_analytic) {
    int ns[] = {1, 2, 3, 5, 6, 8, 10};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        int n = ns[a];
        size_t N = (size_t)1 << n;
        unsigned char *mask = calloc(N, 1);
        double *p = malloc(N * sizeof *p);
        size_t Ms[] = {1, 2, 3, N / 4 ? N / 4 : 1, N / 2};
        for (size_t b = 0; b < 5; b++) {
            size_t M = Ms[b];
            if (M < 1 || M > N) continue;
            memset(mask, 0, N);
            for (size_t j = 0; j < M; j++) mask[(j * 7 + 3) % N] = 1;
            size_t Mr = 0;
            for (size_t x = 0; x < N; x++) Mr += mask[x];
            for (int k = 0; k <= 12; k++) {
                CHECK(qnn_grover_ideal_probs(n, mask, k, p, NULL) == QNN_OK);
                double ps = 0, tot = 0;
                for (size_t x = 0; x < N; x++) {
                    tot += p[x];
                    if (mask[x]) ps += p[x];
                }
                CHECK_NEAR(tot, 1.0, 1e-12);
                CHECK_NEAR(ps, qnn_grover_p_success_analytic(N, Mr, k), 1e-12);
            }
        }
        free(mask);
        free(p);
    }
}

TEST(default_iterations) {
    CHECK(qnn_grover_default_iterations(1024, 1) == 25);
    CHECK(qnn_grover_default_iterations(64, 1) == 6);
    CHECK(qnn_grover_default_iterations(64, 0) == 0);
    CHECK(qnn_grover_default_iterations(4, 1) == 1);
    CHECK(qnn_grover_qubits_for(1) == 1);
    CHECK(qnn_grover_qubits_for(2) == 1);
    CHECK(qnn_grover_qubits_for(17) == 5);
    CHECK(qnn_grover_qubits_for(32) == 5);
    CHECK(qnn_grover_qubits_for(33) == 6);
}

TEST(search_and_sampling) {
    int n = 6;
    size_t N = 64;
    unsigned char mask[64] = {0};
    mask[37] = 1;
    uint64_t counts[64];
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    qnn_grover_search_result res;
    CHECK(qnn_grover_search(n, mask, -1, 4096, NULL, &r, counts, &res, NULL) == QNN_OK);
    CHECK(res.iterations == 6);
    CHECK(res.outcome == 37);
    CHECK(res.queries == 6 * 4096);
    CHECK(res.queries_ideal == 6);
    CHECK_NEAR(res.p_success, qnn_grover_p_success_analytic(N, 1, 6), 1e-12);
    uint64_t tot = 0;
    for (size_t x = 0; x < N; x++) tot += counts[x];
    CHECK(tot == 4096);
    /* sampled frequency close to p_success (binomial sd ~ 0.0016) */
    CHECK_NEAR((double)counts[37] / 4096.0, res.p_success, 0.01);
    /* reproducible */
    qnn_rng_seed(&r, 1);
    uint64_t c2[64];
    qnn_grover_search_result r2;
    CHECK(qnn_grover_search(n, mask, -1, 4096, NULL, &r, c2, &r2, NULL) == QNN_OK);
    CHECK(memcmp(counts, c2, sizeof counts) == 0);
}

TEST(bad_input) {
    unsigned char mask[4] = {0};
    double p[4];
    qnn_error e;
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    CHECK(qnn_grover_ideal_probs(0, mask, 1, p, &e) == QNN_EINVAL);
    CHECK(qnn_grover_ideal_probs(QNN_GROVER_MAX_QUBITS + 1, mask, 1, p, &e) == QNN_EINVAL);
    CHECK(qnn_grover_ideal_probs(2, mask, -1, p, &e) == QNN_EINVAL);
    qnn_grover_search_result res;
    CHECK(qnn_grover_search(2, mask, 1, 0, NULL, &r, NULL, &res, &e) == QNN_EINVAL);
    double bad[4] = {0.5, NAN, 0.1, 0.2};
    uint64_t c[4];
    CHECK(qnn_grover_sample(bad, 4, 10, &r, c, NULL, &e) == QNN_EINVAL);
    double zero[4] = {0};
    CHECK(qnn_grover_sample(zero, 4, 10, &r, c, NULL, &e) == QNN_EINVAL);
    qnn_grover_min_result mr;
    CHECK(qnn_grover_minimum(bad, 4, NULL, NULL, &r, &mr, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "values[2]") != NULL);
    CHECK(qnn_grover_minimum(bad, 0, NULL, NULL, &r, &mr, &e) == QNN_EINVAL);
    qnn_grover_min_opts o = {.n = 1};
    double v[4] = {1, 2, 3, 4};
    CHECK(qnn_grover_minimum(v, 4, &o, NULL, &r, &mr, &e) == QNN_EINVAL);
}

/* Durr-Hoyer: >= 99% of 1000 seeded trials find the minimum, mean queries <= 22.5 sqrt(N). */
static void minimum_trials(int n, int trials, double *found_frac, double *mean_q,
                           double *mean_q_best) {
    size_t N = (size_t)1 << n;
    double *v = malloc(N * sizeof *v);
    qnn_rng r, vr;
    qnn_rng_seed(&vr, 12345 + (uint64_t)n);
    int found = 0;
    double q = 0, qb = 0;
    for (int t = 0; t < trials; t++) {
        double mn = INFINITY;
        for (size_t x = 0; x < N; x++) {
            v[x] = qnn_rng_normal(&vr);
            if (v[x] < mn) mn = v[x];
        }
        qnn_rng_seed(&r, (uint64_t)t + 1);
        qnn_grover_min_result res;
        int rc = qnn_grover_minimum(v, N, NULL, NULL, &r, &res, NULL);
        CHECK(rc == QNN_OK);
        found += res.value == mn;
        q += (double)res.queries;
        qb += (double)res.queries_at_best;
    }
    *found_frac = found / (double)trials;
    *mean_q = q / trials;
    *mean_q_best = qb / trials;
    free(v);
}

TEST(durr_hoyer_minimum) {
    for (int n = 5; n <= 6; n++) {
        double f, q, qb;
        minimum_trials(n, 1000, &f, &q, &qb);
        double bound = 22.5 * sqrt((double)(1 << n));
        printf("  durr-hoyer N=%d: found %.1f%%, mean queries %.1f (bound %.1f), "
               "mean queries until best %.1f\n", 1 << n, 100 * f, q, bound, qb);
        CHECK(f >= 0.99);
        CHECK(q <= bound);
    }
}

TEST(minimum_with_padding_and_ties) {
    double v[5] = {3, 1, 4, 1, 5};
    qnn_rng r;
    qnn_rng_seed(&r, 9);
    qnn_grover_min_result res;
    CHECK(qnn_grover_minimum(v, 5, NULL, NULL, &r, &res, NULL) == QNN_OK);
    CHECK(res.n == 3);
    CHECK(res.value == 1.0);
    CHECK(res.index == 1 || res.index == 3);
    double one[1] = {2.5};
    CHECK(qnn_grover_minimum(one, 1, NULL, NULL, &r, &res, NULL) == QNN_OK);
    CHECK(res.index == 0 && res.value == 2.5);
}


/* Gate-level circuits: diagonal-oracle and ancilla forms reproduce the exact kernel; the
 * authors' circuit gives 1/2 uniform + 1/2 textbook on the register, to 1e-12. */
TEST(gate_level_forms) {
    int ns[] = {1, 2, 3, 4, 5};
    for (size_t a = 0; a < 5; a++) {
        int n = ns[a];
        size_t N = (size_t)1 << n;
        unsigned char mask[32] = {0};
        mask[(3 * N) / 4 % N] = 1;
        if (n >= 3) mask[1] = mask[N - 2] = 1;
        double ideal[32], p[32];
        for (int k = 0; k <= 4; k++) {
            CHECK(qnn_grover_ideal_probs(n, mask, k, ideal, NULL) == QNN_OK);
            qnn_grover_form forms[3] = {QNN_GROVER_TEXTBOOK, QNN_GROVER_ANCILLA, QNN_GROVER_PAPER};
            for (int f = 0; f < 3; f++) {
                qnn_grover_circuit_engine ce = {.form = forms[f]};
                qnn_error e;
                int rc = qnn_grover_circuit_probs(&ce, n, mask, k, p, &e);
                CHECK(rc == QNN_OK);
                if (rc) {
                    fprintf(stderr, "  %s\n", e.msg);
                    continue;
                }
                CHECK(ce.qubits == (f == 0 ? n : n + 1));
                for (size_t x = 0; x < N; x++) {
                    double want = f == 2 ? 0.5 / (double)N + 0.5 * ideal[x] : ideal[x];
                    CHECK_NEAR(p[x], want, 1e-12);
                }
                /* the closed-form mixture engine agrees with the gates */
                if (f == 2) {
                    double q[32];
                    CHECK(qnn_grover_paper_mixture_probs(NULL, n, mask, k, q, NULL) == QNN_OK);
                    for (size_t x = 0; x < N; x++) CHECK_NEAR(p[x], q[x], 1e-12);
                }
                /* Density without noise equals the State run */
                ce.density = 1;
                double d[32];
                CHECK(qnn_grover_circuit_probs(&ce, n, mask, k, d, NULL) == QNN_OK);
                for (size_t x = 0; x < N; x++) CHECK_NEAR(p[x], d[x], 1e-12);
            }
        }
    }
}

TEST(noisy_density_engine) {
    int n = 3;
    unsigned char mask[8] = {0};
    mask[5] = 1;
    qnn_noise nm;
    memset(&nm, 0, sizeof nm);
    nm.p1 = 0.05;
    nm.p2 = 0.05;
    qnn_grover_circuit_engine ce = {.form = QNN_GROVER_TEXTBOOK, .noise = &nm};
    double p[8], ideal[8];
    CHECK(qnn_grover_circuit_probs(&ce, n, mask, 2, p, NULL) == QNN_OK);
    CHECK(qnn_grover_ideal_probs(n, mask, 2, ideal, NULL) == QNN_OK);
    double tot = 0;
    for (int x = 0; x < 8; x++) tot += p[x];
    CHECK_NEAR(tot, 1.0, 1e-12);
    CHECK(p[5] < ideal[5] - 1e-3);
    CHECK(p[5] > 1.0 / 8);
    /* noisy minimum finding still runs and returns a valid index */
    double v[8] = {4, 2, 7, 1, 9, 3, 8, 5};
    qnn_grover_engine eng = {qnn_grover_circuit_probs, &ce};
    qnn_rng r;
    qnn_rng_seed(&r, 4);
    qnn_grover_min_result res;
    CHECK(qnn_grover_minimum(v, 8, NULL, &eng, &r, &res, NULL) == QNN_OK);
    CHECK(res.index < 8 && v[res.index] == res.value);
    /* too many qubits for a Density */
    unsigned char *big = calloc((size_t)1 << 14, 1);
    big[3] = 1;
    qnn_error e;
    double *pb = malloc(sizeof(double) << 14);
    ce.form = QNN_GROVER_PAPER;
    CHECK(qnn_grover_circuit_probs(&ce, 14, big, 1, pb, &e) == QNN_EINVAL);
    free(big);
    free(pb);
}

TEST(circuit_cost) {
    unsigned char mask[16] = {0};
    mask[3] = mask[12] = 1;
    int depth, q;
    size_t gates;
    CHECK(qnn_grover_circuit_cost(4, mask, 2, QNN_GROVER_TEXTBOOK, &depth, &gates, &q, NULL) == 0);
    /* prep 4 H + 2 x (diagonal + 4H 4X MCZ 4X 4H) */
    CHECK(gates == 4 + 2 * (1 + 17));
    CHECK(q == 4);
    CHECK(depth == 1 + 2 * (1 + 5));
    CHECK(qnn_grover_circuit_cost(4, mask, 2, QNN_GROVER_PAPER, &depth, &gates, &q, NULL) == 0);
    CHECK(q == 5);
    /* prep 4 H + X H; oracle per marked: zeros X (2 for 3, 2 for 12) twice + 3; diffusion 16 + 3 */
    CHECK(gates == 6 + 2 * ((2 * 2 + 3) + (2 * 2 + 3) + 19));
}

int main(void) {
    RUN(success_probability_analytic);
    RUN(default_iterations);
    RUN(search_and_sampling);
    RUN(bad_input);
    RUN(durr_hoyer_minimum);
    RUN(minimum_with_padding_and_ties);
    RUN(gate_level_forms);
    RUN(noisy_density_engine);
    RUN(circuit_cost);
    return harness_done();
}
