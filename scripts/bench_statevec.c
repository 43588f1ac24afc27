/* State-vector kernel benchmark. Built and run by scripts/bench_statevec.sh (make bench-statevec).
 * Prints ns per amplitude per gate for a 1-qubit dense gate (U3), RY, CNOT, a 1-qubit diagonal
 * gate (RZ), a full-register diagonal with arbitrary phases (one sincos per amplitude) and a
 * Grover-style phase oracle (phases 0 or pi, 1 in 64 marked) at 20 and 24 qubits with 1 and 2 OpenMP
 * threads, each with its ratio to an in-place read-modify-write sweep over the same bytes
 * measured in the same run (the memory-bandwidth limit), then the per-call overhead of
 * qnn_state_apply_gate at 4 qubits. Wall-clock times, best of several repetitions.
 * Usage: bench_statevec [--quick] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnn/statevec.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    qnn_state *s;
    double *phases;
    double *oracle;
    int q;
} ctx;

static void sweep(ctx *c) {
    double *a = c->s->amp;
    const size_t n2 = 2 * c->s->dim;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n2; i++) a[i] = a[i] * 0.9999999 + 1e-300;
}

static void g_u3(ctx *c) {
    double p[3] = {0.3, 0.2, 0.1};
    qnn_state_apply_gate(c->s, QNN_G_U3, &c->q, 1, p, NULL);
}
static void g_ry(ctx *c) {
    double p = 0.3;
    qnn_state_apply_gate(c->s, QNN_G_RY, &c->q, 1, &p, NULL);
}
static void g_cx(ctx *c) {
    int q[2] = {c->q, (c->q + 1) % c->s->n};
    qnn_state_apply_gate(c->s, QNN_G_CX, q, 2, NULL, NULL);
}
static void g_rz(ctx *c) {
    double p = 0.3;
    qnn_state_apply_gate(c->s, QNN_G_RZ, &c->q, 1, &p, NULL);
}
static void g_diag(ctx *c) { qnn_state_apply_diagonal(c->s, c->phases, NULL); }
static void g_oracle(ctx *c) { qnn_state_apply_diagonal(c->s, c->oracle, NULL); }

/* one timed call of f, averaged over target qubits 0, n/2, n-1 */
static double time_once(void (*f)(ctx *), ctx *c) {
    int qs[3] = {0, c->s->n / 2, c->s->n - 1};
    double tot = 0;
    for (int k = 0; k < 3; k++) {
        c->q = qs[k];
        double t0 = now();
        f(c);
        tot += now() - t0;
    }
    return tot / 3;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int sizes[2] = {20, 24};
    printf("State vector kernels: ns per amplitude per gate (best of interleaved runs; target "
           "qubit cycled over 0, n/2, n-1)\n");
    printf("%-4s %-3s %7s %7s %7s %7s %7s %7s %7s | ratio to sweep: %5s %5s %5s %5s %5s %5s\n",
           "n", "thr", "sweep", "u3", "ry", "cx", "rz", "diag", "oracle", "u3", "ry", "cx", "rz",
           "diag", "orac");
    for (int si = 0; si < 2; si++) {
        int n = sizes[si];
        if (quick && n > 20) continue;
        qnn_state *s = NULL;
        qnn_error err;
        if (qnn_state_create(&s, n, &err) != QNN_OK) {
            printf("n=%d: skipped (%s)\n", n, err.msg);
            continue;
        }
        double *ph = malloc(sizeof(double) * s->dim);
        double *orc = malloc(sizeof(double) * s->dim);
        for (size_t x = 0; x < s->dim; x++) {
            ph[x] = 1e-3 * (double)(x % 977);
            orc[x] = (x % 64 == 17) ? 3.14159265358979323846 : 0.0;
        }
        int q0 = 0;
        qnn_state_apply_gate(s, QNN_G_H, &q0, 1, NULL, NULL);
        ctx c = {s, ph, orc, 0};
        int reps = quick ? 3 : (n <= 20 ? 20 : 6);
        for (int thr = 1; thr <= 2; thr++) {
            omp_set_num_threads(thr);
            sweep(&c); /* warm up, first touch */
            /* interleaved: every repetition times the sweep and each gate back to back, so
             * both see the same machine load; best of the repetitions */
            double ts = 1e30, t[6] = {1e30, 1e30, 1e30, 1e30, 1e30, 1e30};
            void (*fs[6])(ctx *) = {g_u3, g_ry, g_cx, g_rz, g_diag, g_oracle};
            for (int r = 0; r < reps; r++) {
                double x = time_once(sweep, &c);
                if (x < ts) ts = x;
                for (int k = 0; k < 6; k++) {
                    if (k == 4 && r >= 2) continue; /* the sincos-bound one is slow */
                    x = time_once(fs[k], &c);
                    if (x < t[k]) t[k] = x;
                }
            }
            double d = (double)s->dim;
            printf("%-4d %-3d %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f | %21.2f %5.2f %5.2f %5.2f "
                   "%5.2f %5.2f\n",
                   n, thr, 1e9 * ts / d, 1e9 * t[0] / d, 1e9 * t[1] / d, 1e9 * t[2] / d,
                   1e9 * t[3] / d, 1e9 * t[4] / d, 1e9 * t[5] / d, t[0] / ts, t[1] / ts,
                   t[2] / ts, t[3] / ts, t[4] / ts, t[5] / ts);
            fflush(stdout);
        }
        free(ph);
        free(orc);
        qnn_state_free(s);
    }
    /* per-call overhead at 4 qubits */
    omp_set_num_threads(2);
    qnn_state *s = NULL;
    qnn_state_create(&s, 4, NULL);
    const int N = quick ? 200000 : 2000000;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        for (int i = 0; i < N; i++) {
            int q = i & 3, qq[2] = {q, (q + 1) & 3};
            double th = 0.001 * (i & 1023);
            switch (i % 3) {
            case 0: qnn_state_apply_gate(s, QNN_G_H, &q, 1, NULL, NULL); break;
            case 1: qnn_state_apply_gate(s, QNN_G_RY, &q, 1, &th, NULL); break;
            default: qnn_state_apply_gate(s, QNN_G_CX, qq, 2, NULL, NULL); break;
            }
        }
        double t = (now() - t0) / N;
        if (t < best) best = t;
    }
    printf("per-call overhead at 4 qubits from C (qnn_state_apply_gate, mix of H/RY/CX): %.3f us/gate "
           "(target <= 0.3)\n", 1e6 * best);
    qnn_state_free(s);
    return 0;
}
