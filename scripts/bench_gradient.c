/* Benchmark (not a test): adjoint gradient and vjp vs the forward pass, in process CPU time
 * (robust on a shared machine; run with OMP_NUM_THREADS=1 for single-thread numbers), plus the
 * per-gate cost of Circuit:run from C at 4 qubits.
 * Build and run (after `make`):
 *   cc -O2 -fopenmp -Iinclude scripts/bench_gradient.c lib/libqnn.a -lopenblas -lm -o /tmp/bg
 *   OMP_NUM_THREADS=1 /tmp/bg [n=20] [layers=5]
 * Circuit: per layer RY and RZ on every qubit (named parameters) and a CNOT ladder. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "qnn/circuit.h"

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20, L = argc > 2 ? atoi(argv[2]) : 5;
    qnn_circuit *c;
    if (qnn_circuit_new(&c, n, NULL)) return 1;
    char nm[32];
    for (int l = 0; l < L; l++) {
        for (int q = 0; q < n; q++) {
            snprintf(nm, sizeof nm, "y%d_%d", l, q);
            qnn_circuit_rot1(c, QNN_G_RY, q, qnn_angle_param(qnn_circuit_param(c, nm, NULL), 1), NULL);
        }
        for (int q = 0; q < n; q++) {
            snprintf(nm, sizeof nm, "z%d_%d", l, q);
            qnn_circuit_rot1(c, QNN_G_RZ, q, qnn_angle_param(qnn_circuit_param(c, nm, NULL), 1), NULL);
        }
        for (int q = 0; q + 1 < n; q++) qnn_circuit_gate2(c, QNN_G_CX, q, q + 1, NULL);
    }
    int np = qnn_circuit_nparams(c);
    for (int i = 0; i < np; i++) qnn_circuit_set_param(c, i, 0.1 * i, NULL);
    qnn_state s;
    if (qnn_state_init(&s, n, NULL)) return 1;
    qnn_pauli_term t = {1.0, 0, 1};
    double *g = malloc(sizeof(double) * (size_t)np), v;
    double *dp = calloc(s.dim, sizeof(double)), *pr = malloc(sizeof(double) * s.dim);
    double bf = 1e300, bg = 1e300, bv = 1e300;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = cpu();
        qnn_circuit_run(c, &s, NULL, NULL, NULL);
        double t1 = cpu();
        qnn_circuit_gradient(c, &t, 1, NULL, &v, g, NULL);
        double t2 = cpu();
        qnn_circuit_vjp(c, dp, NULL, pr, g, NULL);
        double t3 = cpu();
        if (t1 - t0 < bf) bf = t1 - t0;
        if (t2 - t1 < bg) bg = t2 - t1;
        if (t3 - t2 < bv) bv = t3 - t2;
    }
    printf("| %d qubits, %zu gates, %d params | forward %.1f ms | gradient %.1f ms (%.2fx) | vjp %.1f ms "
           "(%.2fx) |\n", n, qnn_circuit_ngates(c), np, bf * 1e3, bg * 1e3, bg / bf, bv * 1e3, bv / bf);
    /* per-gate cost from C at 4 qubits */
    qnn_circuit *sm;
    qnn_circuit_new(&sm, 4, NULL);
    for (int i = 0; i < 10000; i++) qnn_circuit_rot1(sm, QNN_G_RY, i % 4, qnn_angle_const(0.1), NULL);
    qnn_state s4;
    qnn_state_init(&s4, 4, NULL);
    double best = 1e300;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = cpu();
        qnn_circuit_run(sm, &s4, NULL, NULL, NULL);
        double dt = cpu() - t0;
        if (dt < best) best = dt;
    }
    printf("| 4 qubits | Circuit run from C: %.0f ns per RY gate |\n", best / 10000 * 1e9);
    qnn_circuit_free(sm);
    qnn_state_release(&s4);
    qnn_state_release(&s);
    qnn_circuit_free(c);
    free(g), free(dp), free(pr);
    return 0;
}
