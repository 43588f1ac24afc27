/* Circuit compiler benchmark (issue 15). Built and run by scripts/bench_fusion.sh. All ratios
 * are measured in the same run, repetitions interleaved (best of each), wall clock:
 *  - a 20-qubit random circuit of 200 gates (U3 on random qubits, CX on random neighbour
 *    pairs), fused run vs gate by gate (qnn_circuit_run_ex fuse = 1 / 0);
 *  - a 16-qubit layered ansatz (RY, RZ on every qubit, CNOT ladder), 10 layers, the same;
 *  - a dense 1-qubit gate (U3) on target qubits 0, 1 and n/2 vs the plain C loop (an in-place
 *    read-modify-write sweep over the same bytes, as in bench_statevec.c) at 20 qubits;
 *  - the adjoint gradient (qnn_circuit_gradient, <Z0>) and vjp vs one forward run of the same
 *    circuit, fused (as Circuit:run does by default) and gate by gate, at 11, 12, 16, 20 qubits,
 *    with the stored-state sweep (forced; skipped when its kept states exceed 64 MB) and the
 *    un-computing sweep;
 *  - a noisy density-matrix run (every channel after every gate) with 1 and 2 threads.
 * Usage: bench_fusion [--quick] [--adjoint | --density] (only that section) */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnn/circuit.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static qnn_circuit *random_circuit(int n, int ngates, uint64_t seed) {
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    qnn_circuit *c;
    if (qnn_circuit_new(&c, n, NULL)) return NULL;
    for (int g = 0; g < ngates; g++) {
        if (g % 2 == 0) {
            int q = (int)qnn_rng_below(&r, (uint64_t)n);
            qnn_circuit_u3(c, q, qnn_angle_const(qnn_rng_uniform(&r) * 3),
                           qnn_angle_const(qnn_rng_uniform(&r) * 3),
                           qnn_angle_const(qnn_rng_uniform(&r) * 3), NULL);
        } else {
            int a = (int)qnn_rng_below(&r, (uint64_t)(n - 1));
            if (qnn_rng_uniform(&r) < 0.5) qnn_circuit_gate2(c, QNN_G_CX, a, a + 1, NULL);
            else qnn_circuit_gate2(c, QNN_G_CX, a + 1, a, NULL);
        }
    }
    return c;
}

static qnn_circuit *ansatz(int n, int layers) {
    qnn_circuit *c;
    if (qnn_circuit_new(&c, n, NULL)) return NULL;
    char name[32];
    for (int l = 0; l < layers; l++) {
        for (int q = 0; q < n; q++) {
            snprintf(name, sizeof name, "y%d_%d", l, q);
            qnn_circuit_rot1(c, QNN_G_RY, q, qnn_angle_param(qnn_circuit_param(c, name, NULL), 1), NULL);
        }
        for (int q = 0; q < n; q++) {
            snprintf(name, sizeof name, "z%d_%d", l, q);
            qnn_circuit_rot1(c, QNN_G_RZ, q, qnn_angle_param(qnn_circuit_param(c, name, NULL), 1), NULL);
        }
        for (int q = 0; q + 1 < n; q++) qnn_circuit_gate2(c, QNN_G_CX, q, q + 1, NULL);
    }
    qnn_rng r;
    qnn_rng_seed(&r, 7);
    for (int i = 0; i < qnn_circuit_nparams(c); i++)
        qnn_circuit_set_param(c, i, (qnn_rng_uniform(&r) - 0.5) * 6, NULL);
    return c;
}

/* fused vs unfused runs of c, interleaved; returns the ratio unfused / fused */
static double fuse_ratio(qnn_circuit *c, int reps, double *tf, double *tu) {
    qnn_state s;
    qnn_state_init(&s, qnn_circuit_nqubits(c), NULL);
    qnn_circuit_run_ex(c, &s, NULL, NULL, 1, NULL); /* compile, first touch */
    double bf = 1e30, bu = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        qnn_circuit_run_ex(c, &s, NULL, NULL, 1, NULL);
        double t1 = now();
        qnn_circuit_run_ex(c, &s, NULL, NULL, 0, NULL);
        double t2 = now();
        if (t1 - t0 < bf) bf = t1 - t0;
        if (t2 - t1 < bu) bu = t2 - t1;
    }
    qnn_state_release(&s);
    *tf = bf, *tu = bu;
    return bu / bf;
}

/* the plain C loop: an in-place read-modify-write sweep over the same bytes */
static void plain_loop(qnn_state *s) {
    double *a = s->amp;
    const size_t n2 = 2 * s->dim;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n2; i++) a[i] = a[i] * 0.9999999 + 1e-300;
}

int main(int argc, char **argv) {
    int quick = 0, only = 0; /* only: 1 adjoint section, 2 density section */
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0) quick = 1;
        else if (strcmp(argv[a], "--adjoint") == 0) only = 1;
        else if (strcmp(argv[a], "--density") == 0) only = 2;
    }
    int reps = quick ? 3 : 7;
    int threads = omp_get_max_threads();
    printf("Circuit compiler (gate fusion), %d OpenMP thread(s), best of %d interleaved runs\n\n",
           threads, reps);
    double tf, tu, r;
    qnn_fuse_stats st;
    qnn_circuit *c;
    if (only) goto sections;
    printf("| what | fused | gate by gate | speed-up | target |\n|---|---|---|---|---|\n");
    c = random_circuit(20, 200, 20261204);
    r = fuse_ratio(c, reps, &tf, &tu);
    qnn_circuit_compile(c, &st, NULL);
    printf("| random 20 qubits, 100 U3 + 100 CX (%zu kernel calls, max block %d) | %.2f ms | "
           "%.2f ms | %.2fx | >= 2.5x |\n", st.blocks, st.max_k, 1e3 * tf, 1e3 * tu, r);
    qnn_circuit_free(c);
    c = ansatz(16, 10);
    r = fuse_ratio(c, reps * 2, &tf, &tu);
    qnn_circuit_compile(c, &st, NULL);
    printf("| ansatz 16 qubits, 10 layers RY RZ + CNOT ladder (%zu gates, %zu kernel calls) | "
           "%.2f ms | %.2f ms | %.2fx | >= 2x |\n", st.gates, st.blocks, 1e3 * tf, 1e3 * tu, r);
    qnn_circuit_free(c);
    fflush(stdout);

    /* target qubits vs the plain loop */
    printf("\n| U3 at 20 qubits, target | kernel ns/amp | plain loop ns/amp | ratio | target |\n"
           "|---|---|---|---|---|\n");
    qnn_state s;
    qnn_state_init(&s, 20, NULL);
    int q0 = 0;
    qnn_state_apply_gate(&s, QNN_G_H, &q0, 1, NULL, NULL);
    double p[3] = {0.3, 0.2, 0.1};
    int targets[3] = {0, 1, 10};
    for (int t = 0; t < 3; t++) {
        int q = targets[t];
        double bk = 1e30, bp = 1e30;
        for (int rr = 0; rr < reps * 3; rr++) {
            double t0 = now();
            for (int k = 0; k < 4; k++) qnn_state_apply_gate(&s, QNN_G_U3, &q, 1, p, NULL);
            double t1 = now();
            for (int k = 0; k < 4; k++) plain_loop(&s);
            double t2 = now();
            if (t1 - t0 < bk) bk = t1 - t0;
            if (t2 - t1 < bp) bp = t2 - t1;
        }
        double d = 4.0 * (double)s.dim;
        printf("| %d | %.3f | %.3f | %.2fx | %s |\n", q, 1e9 * bk / d, 1e9 * bp / d, bk / bp,
               q == 0 ? "<= 1.1x" : "");
    }
    qnn_state_release(&s);
    fflush(stdout);

sections:
    /* adjoint vs forward: the stored-state sweep (QNN_ADJOINT=store, what auto picks from 11
     * qubits when the kept states fit in the budget, 4 MB: here only the 11-qubit row) and the
     * un-computing sweep (QNN_ADJOINT=uncompute, what auto picks otherwise) */
    printf("\n| adjoint, layered ansatz | forward fused | forward gate by gate | gradient stored | "
           "ratio to fused / gate-by-gate forward | vjp stored | ratio | gradient un-computing | "
           "ratio | vjp un-computing | ratio | kept states | target |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int sizes[4] = {11, 12, 16, 20}, layers[4] = {10, 10, 10, 5};
    for (int i = 0; i < 4 && only != 2; i++) {
        int n = sizes[i];
        c = ansatz(n, layers[i]);
        int np = qnn_circuit_nparams(c);
        double *g = malloc(sizeof(double) * (size_t)np);
        double *dp = malloc(sizeof(double) * ((size_t)1 << n));
        for (size_t x = 0; x < ((size_t)1 << n); x++) dp[x] = (x & 1) ? -1.0 : 1.0;
        qnn_pauli_term z0 = {1.0, 0, 1};
        qnn_state ps;
        qnn_state_init(&ps, n, NULL);
        int rr = n <= 16 ? reps * 3 : reps;
        size_t keep = 0; /* kept states of the stored sweep (the ansatz: every non-ladder block) */
        qnn_circuit_compile(c, NULL, NULL);
        for (size_t b = 0; b < qnn_circuit_fused_nblocks(c); b++) {
            qnn_fuse_block fb;
            qnn_circuit_fused_block(c, b, &fb);
            keep += fb.type != QNN_FUSE_PERM;
        }
        double kept_mb = (double)(keep + 2) * 16.0 * (double)((size_t)1 << n) / 1048576.0;
        int mmax = kept_mb <= 64 ? 2 : 1; /* forced stored sweep only within 64 MB (it is 5-10x
                                             slower beyond the caches: docs/performance.md) */
        double bfw = 1e30, bfu = 1e30, bg[2] = {1e30, 1e30}, bv[2] = {1e30, 1e30}, val;
        for (int k = 0; k < rr; k++) {
            double tu = now();
            qnn_state_set_zero(&ps);
            qnn_circuit_run_ex(c, &ps, NULL, NULL, 0, NULL);
            double t0 = now();
            if (t0 - tu < bfu) bfu = t0 - tu;
            qnn_state_set_zero(&ps);
            qnn_circuit_run(c, &ps, NULL, NULL, NULL);
            double t1 = now();
            if (t1 - t0 < bfw) bfw = t1 - t0;
            for (int m = 2 - mmax; m < 2; m++) {
                qnn_adjoint_config(m ? QNN_ADJOINT_UNCOMPUTE : QNN_ADJOINT_STORE, 0);
                double t2 = now();
                qnn_circuit_gradient(c, &z0, 1, NULL, &val, g, NULL);
                double t3 = now();
                qnn_circuit_vjp(c, dp, NULL, NULL, g, NULL);
                double t4 = now();
                if (t3 - t2 < bg[m]) bg[m] = t3 - t2;
                if (t4 - t3 < bv[m]) bv[m] = t4 - t3;
            }
            qnn_adjoint_config(-1, 0);
        }
        if (mmax == 1) bg[0] = bv[0] = NAN; /* not run: the kept states would exceed 64 MB */
        printf("| %d qubits, %d layers (%zu gates, %d params) | %.2f ms | %.2f ms | %.2f ms | "
               "**%.2fx** / %.2fx | %.2f ms | **%.2fx** / %.2fx | %.2f ms | %.2fx | %.2f ms | %.2fx | "
               "%zu (%.0f MB) | <= 2.5x |\n", n, layers[i], qnn_circuit_ngates(c), np, 1e3 * bfw,
               1e3 * bfu, 1e3 * bg[0], bg[0] / bfw, bg[0] / bfu, 1e3 * bv[0], bv[0] / bfw,
               bv[0] / bfu, 1e3 * bg[1], bg[1] / bfw, 1e3 * bv[1], bv[1] / bfw, keep, kept_mb);
        fflush(stdout);
        qnn_state_release(&ps);
        free(g);
        free(dp);
        qnn_circuit_free(c);
    }

    /* density matrix with noise channels: 1 vs 2 threads in the same run */
    if (threads >= 2) {
        int n = quick ? 8 : 10;
        c = random_circuit(n, 40, 5);
        qnn_noise nm = {0.01, 0.02, 0.01, 0.01, 0.005, 0.005, 0, 0};
        qnn_density *d;
        qnn_density_create(&d, n, NULL);
        double bt[3] = {1e30, 1e30, 1e30};
        for (int k = 0; k < reps; k++)
            for (int t = 1; t <= 2; t++) {
                omp_set_num_threads(t);
                double t0 = now();
                qnn_circuit_run_density(c, d, &nm, NULL);
                double dt = now() - t0;
                if (dt < bt[t]) bt[t] = dt;
            }
        omp_set_num_threads(threads);
        printf("\n| noisy density matrix, %d qubits, 40 gates, all channels | 1 thread %.1f ms | "
               "2 threads %.1f ms | speed-up %.2fx |\n", n, 1e3 * bt[1], 1e3 * bt[2], bt[1] / bt[2]);
        qnn_density_free(d);
        qnn_circuit_free(c);
    }
    return 0;
}
