/* Ising sampler benchmark (single thread). Built and run by scripts/bench_ising.sh.
 *
 * Instances (generator below, qnn_rng xoshiro256** seeds fixed):
 *   sparse-2000: n = 2000, 6000 distinct uniformly random pairs (average degree 6),
 *                J = +-1 with probability 1/2, h = 0, seed 20260601.
 *   sk-128:      n = 128, all pairs, J ~ N(0, 1), h = 0, seed 20260602.
 *   sk-16:       n = 16, all pairs, J ~ N(0, 1), h ~ N(0, 0.1), seed 20260603 (exact annealing).
 * Measurements: SA ns per flip attempt (1000 sweeps, default geometric beta range), SQA ns per
 * slice-spin update (local moves; world-line moves included in the time), exact annealing
 * wall time (16 spins, 1000 Trotter steps), and the same-quality check: best of 10 reads x
 * 1000 sweeps vs the best energy seen over long runs in this script.
 * Usage: bench_ising [--quick] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnn/ising.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(int rc, qnn_error *e, const char *what) {
    if (rc) {
        fprintf(stderr, "bench_ising: %s: %s\n", what, e->msg);
        exit(1);
    }
}

static qnn_ising *sparse_instance(int n, int edges, uint64_t seed) {
    qnn_error e = {0};
    qnn_ising *m;
    die(qnn_ising_new(&m, n, &e), &e, "new");
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    /* distinct pairs by rejection with a hash set over i*n+j */
    size_t cap = 1;
    while (cap < (size_t)edges * 4) cap <<= 1;
    uint64_t *set = calloc(cap, sizeof *set);
    int added = 0;
    while (added < edges) {
        int i = (int)qnn_rng_below(&r, (uint64_t)n), j = (int)qnn_rng_below(&r, (uint64_t)n);
        if (i == j) continue;
        if (i > j) { int t = i; i = j; j = t; }
        uint64_t key = (uint64_t)i * (uint64_t)n + (uint64_t)j + 1;
        size_t hsh = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
        int dup = 0;
        while (set[hsh]) {
            if (set[hsh] == key) { dup = 1; break; }
            hsh = (hsh + 1) & (cap - 1);
        }
        if (dup) continue;
        set[hsh] = key;
        double w = (qnn_rng_next(&r) >> 63) ? 1.0 : -1.0;
        die(qnn_ising_add_coupling(m, i, j, w, &e), &e, "add");
        added++;
    }
    free(set);
    die(qnn_ising_prepare(m, &e), &e, "prepare");
    return m;
}

static qnn_ising *sk_instance(int n, double hsd, uint64_t seed) {
    qnn_error e = {0};
    qnn_ising *m;
    die(qnn_ising_new(&m, n, &e), &e, "new");
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) die(qnn_ising_add_coupling(m, i, j, qnn_rng_normal(&r), &e), &e, "add");
    if (hsd > 0)
        for (int i = 0; i < n; i++) qnn_ising_add_field(m, i, hsd * qnn_rng_normal(&r), &e);
    die(qnn_ising_prepare(m, &e), &e, "prepare");
    return m;
}

static void default_betas(qnn_ising *m, int sweeps, double *b) {
    double dmin, dmax;
    qnn_ising_delta_range(m, &dmin, &dmax);
    double b0 = log(2.0) / dmax, b1 = log(100.0) / dmin;
    for (int k = 0; k < sweeps; k++) b[k] = b0 * pow(b1 / b0, sweeps > 1 ? (double)k / (sweeps - 1) : 1.0);
}

/* SA run: returns the best energy, *ns = ns per attempt */
static double run_sa(qnn_ising *m, int sweeps, int reads, uint64_t seed, double *ns) {
    qnn_error e = {0};
    double *b = malloc((size_t)sweeps * sizeof *b);
    default_betas(m, sweeps, b);
    int8_t *S = malloc((size_t)reads * m->n);
    double *E = malloc((size_t)reads * sizeof *E);
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_ising_stats st;
    double t0 = now();
    die(qnn_ising_sa(m, b, sweeps, reads, &r, NULL, S, E, &st, NULL, &e), &e, "sa");
    double el = now() - t0;
    if (ns) *ns = 1e9 * el / st.flip_attempts;
    double best = INFINITY;
    for (int i = 0; i < reads; i++) if (E[i] < best) best = E[i];
    free(b);
    free(S);
    free(E);
    return best;
}

static double run_sqa(qnn_ising *m, int sweeps, int slices, int reads, uint64_t seed, double *ns) {
    qnn_error e = {0};
    double *G = malloc((size_t)sweeps * sizeof *G), *B = malloc((size_t)sweeps * sizeof *B);
    double sc = qnn_ising_scale(m);
    for (int k = 0; k < sweeps; k++) {
        double s = sweeps > 1 ? (double)k / (sweeps - 1) : 1.0;
        G[k] = 3.0 * sc * (1 - s);
        B[k] = s;
    }
    int8_t *S = malloc((size_t)reads * m->n);
    double *E = malloc((size_t)reads * sizeof *E);
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_ising_stats st;
    double t0 = now();
    die(qnn_ising_sqa(m, G, B, sweeps, slices, slices / sc, reads, 0, &r, NULL, S, E, &st, NULL, &e),
        &e, "sqa");
    double el = now() - t0;
    if (ns) *ns = 1e9 * el / st.flip_attempts;
    double best = INFINITY;
    for (int i = 0; i < reads; i++) if (E[i] < best) best = E[i];
    free(G);
    free(B);
    free(S);
    free(E);
    return best;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int long_reads = quick ? 4 : 16, long_sweeps = quick ? 5000 : 20000;
    printf("# Ising samplers, single thread; times are process CPU time (the machine may be shared)\n");
    qnn_ising *sp = sparse_instance(2000, 6000, 20260601);
    qnn_ising *sk = sk_instance(128, 0.0, 20260602);
    qnn_ising *sk16 = sk_instance(16, 0.1, 20260603);

    double ns_sp, ns_sk, ns_sqa, ns_tmp;
    /* speed: 1000 sweeps; several reads to average out noise */
    double q_sp = run_sa(sp, 1000, 10, 1, &ns_sp);
    double q_sk = run_sa(sk, 1000, 10, 1, &ns_sk);
    double sqa_sp = run_sqa(sp, 1000, 16, 1, 1, &ns_sqa);
    double ns_sqa_sk;
    double sqa_sk = run_sqa(sk, 1000, 16, 1, 1, &ns_sqa_sk);
    /* baselines: best over long runs */
    double best_sp = run_sa(sp, long_sweeps, long_reads, 7, &ns_tmp);
    double best_sk = run_sa(sk, long_sweeps, long_reads * 4, 7, &ns_tmp);
    if (q_sp < best_sp) best_sp = q_sp;
    if (q_sk < best_sk) best_sk = q_sk;

    /* exact annealing, 16 spins, 1000 steps */
    qnn_error e = {0};
    int steps = 1000;
    double *A = malloc(steps * sizeof *A), *B = malloc(steps * sizeof *B);
    for (int k = 0; k < steps; k++) {
        double s = (k + 0.5) / steps;
        A[k] = 1 - s;
        B[k] = s;
    }
    double *P = malloc(((size_t)1 << 16) * sizeof *P), *E = malloc(((size_t)1 << 16) * sizeof *E);
    double t0 = now();
    die(qnn_ising_exact_anneal(sk16, A, B, steps, 50.0, -1, P, E, NULL, &e), &e, "exact");
    double t_exact = now() - t0;
    double emin = INFINITY, pg = 0;
    for (size_t x = 0; x < ((size_t)1 << 16); x++) if (E[x] < emin) emin = E[x];
    for (size_t x = 0; x < ((size_t)1 << 16); x++) if (E[x] <= emin + 1e-9) pg += P[x];

    printf("\n| measurement | instance | result | target | status |\n|---|---|---|---|---|\n");
    printf("| SA ns / flip attempt (1000 sweeps) | sparse-2000 (deg 6, +-1) | %.2f ns | <= 10 ns | %s |\n",
           ns_sp, ns_sp <= 10 ? "ok" : "MISSED");
    printf("| SA ns / flip attempt (1000 sweeps) | sk-128 (Gaussian) | %.2f ns | <= 15 ns | %s |\n",
           ns_sk, ns_sk <= 15 ? "ok" : "MISSED");
    printf("| SQA ns / slice-spin update (P=16, 1000 sweeps) | sparse-2000 | %.2f ns (%.2g updates/s) | >= 1e8 /s | %s |\n",
           ns_sqa, 1e9 / ns_sqa, ns_sqa <= 10 ? "ok" : "MISSED");
    printf("| exact anneal 16 spins, 1000 Trotter steps, T=50 | sk-16 | %.3f s (p_ground %.3f) | <= 2 s | %s |\n",
           t_exact, pg, t_exact <= 2 ? "ok" : "MISSED");
    double gap_sp = (q_sp - best_sp) / fabs(best_sp), gap_sk = (q_sk - best_sk) / fabs(best_sk);
    printf("| SA best of 10 x 1000 sweeps vs best known | sparse-2000 | %.1f vs %.1f (%.3f%%) | <= 0.5%% | %s |\n",
           q_sp, best_sp, 100 * gap_sp, gap_sp <= 0.005 ? "ok" : "MISSED");
    printf("| SA best of 10 x 1000 sweeps vs best known | sk-128 | %.3f vs %.3f (%.3f%%) | <= 0.5%% | %s |\n",
           q_sk, best_sk, 100 * gap_sk, gap_sk <= 0.005 ? "ok" : "MISSED");
    printf("| SQA 1 read x 1000 sweeps (P=16) vs best known | sparse-2000 | %.1f (%.3f%%) | - | info |\n",
           sqa_sp, 100 * (sqa_sp - best_sp) / fabs(best_sp));
    printf("| SQA ns / slice-spin update (P=16, 1000 sweeps, double kernel) | sk-128 | %.2f ns, 1 read %.3f (%.3f%%) | - | info |\n",
           ns_sqa_sk, sqa_sk, 100 * (sqa_sk - best_sk) / fabs(best_sk));
    printf("\nbest known = best over %d reads x %d sweeps of SA (and the runs above) in this script\n",
           long_reads, long_sweeps);
    printf("\nReference rows, quoted from the issue (measured by the issue author on this machine kind;\n"
           "we cannot run them here):\n");
    printf("| peer | sparse-2000 SA | dense SK-128 SA | SQA |\n|---|---|---|---|\n");
    printf("| D-Wave dwave-samplers cpu_sa | 15.8 ns | 57 ns | - |\n");
    printf("| OpenJij | 15.6 ns | 23 ns | 12-17 ns per slice-spin update |\n");
    printf("\nratios (ours / peer): sparse SA vs cpu_sa %.2f, vs OpenJij %.2f; SK-128 SA vs cpu_sa "
           "%.2f, vs OpenJij %.2f; SQA vs OpenJij (12 ns) %.2f\n",
           ns_sp / 15.8, ns_sp / 15.6, ns_sk / 57, ns_sk / 23, ns_sqa / 12);
    qnn_ising_free(sp);
    qnn_ising_free(sk);
    qnn_ising_free(sk16);
    free(A); free(B); free(P); free(E);
    return 0;
}
