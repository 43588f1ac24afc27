/* The circuit compiler (gate fusion) and the kernels it uses: fused runs equal gate-by-gate
 * runs to 1e-12 on random circuits of every gate kind and many qubit layouts, for 1 and 2
 * threads; re-binding after parameter changes, re-planning after structural changes; the
 * dense k-qubit and complex-diagonal kernels against a plain reference. */
#include "harness.h"

#include <omp.h>
#include <stdlib.h>

#include "qnn/circuit.h"
#include "qnn/density.h"

static double urand(qnn_rng *r, double a, double b) { return a + (b - a) * qnn_rng_uniform(r); }

static void rand_state(qnn_state *s, qnn_rng *r) {
    for (size_t x = 0; x < 2 * s->dim; x++) s->amp[x] = urand(r, -1, 1);
    qnn_state_normalize(s, NULL);
}

static double max_diff(const qnn_state *a, const qnn_state *b) {
    double m = 0;
    for (size_t x = 0; x < 2 * a->dim; x++) {
        double d = fabs(a->amp[x] - b->amp[x]);
        if (d > m) m = d;
    }
    return m;
}

/* distinct random qubits; layout 0: anywhere, 1: neighbours, 2: low qubits (0, 1 often) */
static void pick(qnn_rng *r, int n, int k, int layout, int *q) {
    if (layout == 2 && k > (n < 4 ? n : 4)) layout = 0;
    for (int j = 0; j < k; j++) {
        int v, dup;
        do {
            if (layout == 1) v = j == 0 ? (int)qnn_rng_below(r, (uint64_t)(n - k + 1)) : q[0] + j;
            else if (layout == 2) v = (int)qnn_rng_below(r, (uint64_t)(n < 4 ? n : 4));
            else v = (int)qnn_rng_below(r, (uint64_t)n);
            dup = 0;
            for (int l = 0; l < j; l++) dup |= q[l] == v;
        } while (dup);
        q[j] = v;
    }
    if (layout == 1 && qnn_rng_uniform(r) < 0.5)
        for (int j = 0; j < k / 2; j++) {
            int t = q[j];
            q[j] = q[k - 1 - j];
            q[k - 1 - j] = t;
        }
}

static qnn_angle angle(qnn_circuit *c, qnn_rng *r) {
    if (qnn_rng_uniform(r) < 0.7) {
        char name[8];
        snprintf(name, sizeof name, "p%d", (int)qnn_rng_below(r, 6));
        qnn_angle a = qnn_angle_param(qnn_circuit_param(c, name, NULL), urand(r, -2, 2));
        a.offset = urand(r, -1, 1);
        return a;
    }
    return qnn_angle_const(urand(r, -3, 3));
}

/* random unitary on k qubits: product of random U3 and CX gates */
static void rand_unitary(qnn_rng *r, int k, double *m) {
    qnn_circuit *u;
    qnn_circuit_new(&u, k, NULL);
    for (int g = 0; g < 4 * k; g++) {
        int q = (int)qnn_rng_below(r, (uint64_t)k);
        qnn_circuit_u3(u, q, qnn_angle_const(urand(r, -3, 3)), qnn_angle_const(urand(r, -3, 3)),
                       qnn_angle_const(urand(r, -3, 3)), NULL);
        if (k > 1) qnn_circuit_gate2(u, QNN_G_CX, q, (q + 1) % k, NULL);
    }
    qnn_circuit_unitary(u, m, NULL);
    qnn_circuit_free(u);
}

static qnn_circuit *random_circuit(int n, int ngates, int layout, qnn_rng *r) {
    qnn_circuit *c;
    qnn_circuit_new(&c, n, NULL);
    for (int g = 0; g < ngates; g++) {
        int kind = (int)qnn_rng_below(r, QNN_G_COUNT);
        int arity = qnn_op_kind_nqubits(kind);
        int q[8];
        if (arity == 2 && n < 2) continue;
        if (arity) {
            pick(r, n, arity, layout, q);
            qnn_angle a[3] = {angle(c, r), angle(c, r), angle(c, r)};
            qnn_circuit_add(c, kind, q, arity, a, NULL);
        } else if (kind == QNN_G_MCX || kind == QNN_G_MCZ) {
            int k = 1 + (int)qnn_rng_below(r, (uint64_t)(n < 7 ? n : 7));
            pick(r, n, k, layout, q);
            if (kind == QNN_G_MCX) qnn_circuit_mcx(c, q, k - 1, q[k - 1], NULL);
            else qnn_circuit_mcz(c, q, k, NULL);
        } else if (kind == QNN_G_UNITARY) {
            int k = 1 + (int)qnn_rng_below(r, (uint64_t)(n < 4 ? n : 4));
            double m[2 * 256];
            pick(r, n, k, layout, q);
            rand_unitary(r, k, m);
            qnn_circuit_unitary_gate(c, q, k, m, 1e-8, NULL);
        } else if (kind == QNN_G_DIAGONAL && n <= 10 && qnn_rng_uniform(r) < 0.3) {
            size_t d = (size_t)1 << n;
            double *ph = malloc(sizeof(double) * d);
            for (size_t x = 0; x < d; x++) ph[x] = urand(r, -3, 3);
            qnn_circuit_diagonal(c, ph, NULL);
            free(ph);
        }
    }
    for (int i = 0; i < qnn_circuit_nparams(c); i++)
        qnn_circuit_set_param(c, i, urand(r, -3, 3), NULL);
    return c;
}

/* fused run == gate-by-gate run on a random input */
static double compare(const qnn_circuit *c, qnn_rng *r) {
    int n = qnn_circuit_nqubits(c);
    qnn_state a, b;
    qnn_state_init(&a, n, NULL);
    qnn_state_init(&b, n, NULL);
    rand_state(&a, r);
    qnn_state_copy_into(&b, &a, NULL);
    int st1 = qnn_circuit_run_ex(c, &a, NULL, NULL, 0, NULL);
    int st2 = qnn_circuit_run_ex(c, &b, NULL, NULL, 1, NULL);
    double d = st1 || st2 ? 1.0 : max_diff(&a, &b);
    qnn_state_release(&a);
    qnn_state_release(&b);
    return d;
}

TEST(fused_equals_gate_by_gate) {
    static const int sizes[] = {1, 2, 3, 4, 5, 6, 8, 11, 14, 15};
    qnn_rng r;
    qnn_rng_seed(&r, 1504);
    double worst = 0;
    size_t fused_blocks = 0;
    for (int si = 0; si < (int)(sizeof sizes / sizeof *sizes); si++)
        for (int layout = 0; layout < 3; layout++)
            for (int rep = 0; rep < 3; rep++) {
                int n = sizes[si];
                qnn_circuit *c = random_circuit(n, 80, layout, &r);
                double d = compare(c, &r);
                if (d > worst) worst = d;
                qnn_fuse_stats st;
                CHECK(qnn_circuit_compile(c, &st, NULL) == QNN_OK);
                CHECK(st.gates == qnn_circuit_ngates(c));
                fused_blocks += st.dense_blocks + st.diag_blocks + st.perm_blocks;
                /* new parameter values: re-bound, not re-planned */
                for (int i = 0; i < qnn_circuit_nparams(c); i++)
                    qnn_circuit_set_param(c, i, urand(&r, -3, 3), NULL);
                d = compare(c, &r);
                if (d > worst) worst = d;
                /* structural change: re-planned */
                qnn_circuit_u3(c, 0, qnn_angle_const(0.3), qnn_angle_const(0.2),
                               qnn_angle_const(0.1), NULL);
                if (n > 1) qnn_circuit_gate2(c, QNN_G_CX, 0, n - 1, NULL);
                d = compare(c, &r);
                if (d > worst) worst = d;
                qnn_fuse_stats st2;
                CHECK(qnn_circuit_compile(c, &st2, NULL) == QNN_OK);
                CHECK(st2.gates == qnn_circuit_ngates(c));
                qnn_circuit_free(c);
            }
    CHECK(worst <= 1e-12);
    CHECK(fused_blocks > 50); /* the test exercised fused kernels */
}

/* layered ansatz and U3 + CX circuits (the benchmark shapes) at sizes using OpenMP */
TEST(fused_benchmark_shapes_threads) {
    qnn_rng r;
    qnn_rng_seed(&r, 77);
    for (int shape = 0; shape < 2; shape++) {
        int n = 15;
        qnn_circuit *c;
        qnn_circuit_new(&c, n, NULL);
        for (int g = 0; g < 120; g++) {
            int q = (int)qnn_rng_below(&r, (uint64_t)n);
            if (shape == 0) {
                qnn_circuit_u3(c, q, qnn_angle_const(urand(&r, -3, 3)),
                               qnn_angle_const(urand(&r, -3, 3)), qnn_angle_const(urand(&r, -3, 3)),
                               NULL);
                int a = (int)qnn_rng_below(&r, (uint64_t)(n - 1));
                qnn_circuit_gate2(c, QNN_G_CX, a, a + 1, NULL);
            } else if (g % n == 0) { /* layers: RY, RZ on every qubit, CNOT ladder */
                for (int k = 0; k < n; k++) qnn_circuit_rot1(c, QNN_G_RY, k, angle(c, &r), NULL);
                for (int k = 0; k < n; k++) qnn_circuit_rot1(c, QNN_G_RZ, k, angle(c, &r), NULL);
                for (int k = 0; k + 1 < n; k++) qnn_circuit_gate2(c, QNN_G_CX, k, k + 1, NULL);
            }
        }
        qnn_state a, b;
        qnn_state_init(&a, n, NULL);
        qnn_state_init(&b, n, NULL);
        rand_state(&a, &r);
        qnn_state_copy_into(&b, &a, NULL);
        omp_set_num_threads(1);
        qnn_circuit_run_ex(c, &a, NULL, NULL, 1, NULL);
        omp_set_num_threads(2);
        qnn_circuit_run_ex(c, &b, NULL, NULL, 1, NULL);
        CHECK(max_diff(&a, &b) == 0.0); /* same numbers for any thread count */
        qnn_state_copy_into(&b, &a, NULL);
        CHECK(compare(c, &r) <= 1e-12);
        qnn_fuse_stats st;
        qnn_circuit_compile(c, &st, NULL);
        CHECK(st.blocks < st.gates);
        CHECK(st.passes < st.unfused_passes);
        if (shape == 1) CHECK(st.perm_blocks > 0); /* the CNOT ladders became permutations */
        qnn_state_release(&a);
        qnn_state_release(&b);
        qnn_circuit_free(c);
    }
}

/* the compiled program lists every gate exactly once */
TEST(compile_blocks) {
    qnn_circuit *c;
    qnn_circuit_new(&c, 4, NULL);
    int t = qnn_circuit_param(c, "t", NULL);
    qnn_circuit_rot1(c, QNN_G_RY, 0, qnn_angle_param(t, 1), NULL);
    qnn_circuit_rot1(c, QNN_G_RZ, 0, qnn_angle_const(0.4), NULL);
    qnn_circuit_gate1(c, QNN_G_H, 3, NULL);
    qnn_circuit_rot1(c, QNN_G_RX, 0, qnn_angle_const(0.2), NULL);
    qnn_circuit_rot1(c, QNN_G_RZ, 2, qnn_angle_const(0.1), NULL);
    qnn_circuit_rot2(c, QNN_G_CPHASE, 2, 1, qnn_angle_const(0.3), NULL);
    qnn_circuit_gate2(c, QNN_G_CZ, 1, 3, NULL);
    qnn_fuse_stats st;
    CHECK(qnn_circuit_compile(c, &st, NULL) == QNN_OK);
    size_t nb = qnn_circuit_fused_nblocks(c), seen = 0;
    int hit[7] = {0};
    int dense1 = 0;
    for (size_t i = 0; i < nb; i++) {
        qnn_fuse_block b;
        CHECK(qnn_circuit_fused_block(c, i, &b) == QNN_OK);
        for (size_t g = 0; g < b.ngates; g++) hit[b.gates[g]]++;
        seen += b.ngates;
        /* RY, RZ, RX on qubit 0 become one 2x2 block */
        if (b.type == QNN_FUSE_DENSE && b.k == 1 && b.qubits[0] == 0 && b.ngates == 3) dense1 = 1;
    }
    CHECK(seen == 7);
    for (int g = 0; g < 7; g++) CHECK(hit[g] == 1);
    CHECK(dense1);
    CHECK(qnn_circuit_fused_block(c, nb, &(qnn_fuse_block){0}) == QNN_EINVAL);
    qnn_circuit_free(c);
}

/* dense k-qubit and complex diagonal kernels against a plain loop */
TEST(kernels_against_reference) {
    qnn_rng r;
    qnn_rng_seed(&r, 5);
    double worst = 0;
    static const int sizes[] = {2, 6, 15};
    for (int ni = 0; ni < 3; ni++) {
        int n = sizes[ni];
        for (int k = 1; k <= 5 && k <= n; k++)
            for (int layout = 0; layout < 3; layout++) {
                int q[8];
                pick(&r, n, k, layout, q);
                size_t d = (size_t)1 << k;
                double *m = malloc(sizeof(double) * 2 * d * d);
                for (size_t e = 0; e < 2 * d * d; e++) m[e] = urand(&r, -1, 1);
                qnn_state a, b;
                qnn_state_init(&a, n, NULL);
                qnn_state_init(&b, n, NULL);
                rand_state(&a, &r);
                qnn_state_copy_into(&b, &a, NULL);
                CHECK(qnn_state_apply_kq(&a, q, k, m, NULL) == QNN_OK);
                /* reference */
                for (size_t base = 0; base < b.dim; base++) {
                    int skip = 0;
                    for (int j = 0; j < k; j++) skip |= (int)((base >> q[j]) & 1);
                    if (skip) continue;
                    double in[64], out[64];
                    for (size_t j = 0; j < d; j++) {
                        size_t x = base;
                        for (int l = 0; l < k; l++)
                            if ((j >> l) & 1) x |= (size_t)1 << q[l];
                        in[2 * j] = b.amp[2 * x], in[2 * j + 1] = b.amp[2 * x + 1];
                    }
                    for (size_t rr = 0; rr < d; rr++) {
                        double re = 0, im = 0;
                        for (size_t cc = 0; cc < d; cc++) {
                            const double *e = m + 2 * (rr * d + cc);
                            re += e[0] * in[2 * cc] - e[1] * in[2 * cc + 1];
                            im += e[0] * in[2 * cc + 1] + e[1] * in[2 * cc];
                        }
                        out[2 * rr] = re, out[2 * rr + 1] = im;
                    }
                    for (size_t j = 0; j < d; j++) {
                        size_t x = base;
                        for (int l = 0; l < k; l++)
                            if ((j >> l) & 1) x |= (size_t)1 << q[l];
                        b.amp[2 * x] = out[2 * j], b.amp[2 * x + 1] = out[2 * j + 1];
                    }
                }
                double dd = max_diff(&a, &b);
                if (dd > worst) worst = dd;
                /* complex diagonal */
                qnn_state_copy_into(&b, &a, NULL);
                CHECK(qnn_state_apply_diag_complex(&a, q, k, m, NULL) == QNN_OK);
                for (size_t x = 0; x < b.dim; x++) {
                    size_t j = 0;
                    for (int l = 0; l < k; l++) j |= ((x >> q[l]) & 1) << l;
                    double re = b.amp[2 * x], im = b.amp[2 * x + 1];
                    b.amp[2 * x] = m[2 * j] * re - m[2 * j + 1] * im;
                    b.amp[2 * x + 1] = m[2 * j] * im + m[2 * j + 1] * re;
                }
                dd = max_diff(&a, &b);
                if (dd > worst) worst = dd;
                qnn_state_release(&a);
                qnn_state_release(&b);
                free(m);
            }
    }
    CHECK(worst <= 1e-13);
    qnn_state s;
    qnn_state_init(&s, 3, NULL);
    int bad[2] = {0, 0};
    double m[8] = {1, 0, 0, 0, 0, 0, 1, 0};
    CHECK(qnn_state_apply_diag_complex(&s, bad, 2, m, NULL) == QNN_EINVAL);
    CHECK(qnn_state_apply_diag_complex(&s, bad, 1, NULL, NULL) == QNN_EINVAL);
    bad[0] = 3;
    CHECK(qnn_state_apply_diag_complex(&s, bad, 1, m, NULL) == QNN_ERANGE);
    qnn_state_release(&s);
}

/* gradient and vjp through the fused backward sweep == gate-by-gate sweep (QNN_FUSE=0) */
TEST(fused_backward_equals_gate_by_gate) {
    qnn_rng r;
    qnn_rng_seed(&r, 99);
    double worst = 0;
    for (int trial = 0; trial < 12; trial++) {
        int n = trial < 6 ? 4 + trial : 15;
        qnn_circuit *c = trial % 2 ? random_circuit(n, 60, trial % 3, &r) : NULL;
        if (!c) { /* layered: chains of 1-qubit gates on each qubit, ladders */
            qnn_circuit_new(&c, n, NULL);
            for (int l = 0; l < 3; l++) {
                for (int q = 0; q < n; q++) {
                    qnn_circuit_rot1(c, QNN_G_RY, q, angle(c, &r), NULL);
                    qnn_circuit_rot1(c, QNN_G_RZ, q, angle(c, &r), NULL);
                    if (q % 3 == 0) qnn_circuit_gate1(c, QNN_G_H, q, NULL);
                    if (q % 4 == 1)
                        qnn_circuit_u3(c, q, angle(c, &r), angle(c, &r), angle(c, &r), NULL);
                    if (q % 5 == 2) qnn_circuit_rot1(c, QNN_G_PHASE, q, angle(c, &r), NULL);
                    if (q % 3 == 1) qnn_circuit_rot1(c, QNN_G_RX, q, angle(c, &r), NULL);
                }
                for (int q = 0; q + 1 < n; q++) qnn_circuit_gate2(c, QNN_G_CX, q, q + 1, NULL);
                qnn_circuit_gate1(c, QNN_G_X, l % n, NULL);
                qnn_circuit_gate2(c, QNN_G_SWAP, 0, n - 1, NULL);
            }
            for (int i = 0; i < qnn_circuit_nparams(c); i++)
                qnn_circuit_set_param(c, i, urand(&r, -3, 3), NULL);
        }
        int np = qnn_circuit_nparams(c);
        double *g1 = calloc((size_t)np + 1, sizeof(double)), *g2 = calloc((size_t)np + 1, sizeof(double));
        double *h1 = calloc((size_t)np + 1, sizeof(double)), *h2 = calloc((size_t)np + 1, sizeof(double));
        size_t dim = (size_t)1 << n;
        double *dp = malloc(sizeof(double) * dim);
        for (size_t x = 0; x < dim; x++) dp[x] = urand(&r, -1, 1);
        qnn_pauli_term obs[2] = {{0.7, 0, 1}, {-0.4, 3, 2}};
        double v1 = 0, v2 = 0;
        setenv("QNN_FUSE", "0", 1);
        CHECK(qnn_circuit_gradient(c, obs, 2, NULL, &v1, g1, NULL) == QNN_OK);
        CHECK(qnn_circuit_vjp(c, dp, NULL, NULL, h1, NULL) == QNN_OK);
        unsetenv("QNN_FUSE");
        CHECK(qnn_circuit_gradient(c, obs, 2, NULL, &v2, g2, NULL) == QNN_OK);
        CHECK(qnn_circuit_vjp(c, dp, NULL, NULL, h2, NULL) == QNN_OK);
        if (fabs(v1 - v2) > worst) worst = fabs(v1 - v2);
        for (int i = 0; i < np; i++) {
            if (fabs(g1[i] - g2[i]) > worst) worst = fabs(g1[i] - g2[i]);
            if (fabs(h1[i] - h2[i]) > worst) worst = fabs(h1[i] - h2[i]);
        }
        free(g1), free(g2), free(h1), free(h2), free(dp);
        qnn_circuit_free(c);
    }
    CHECK(worst <= 1e-10);
}

/* layered circuit: chains of 1-qubit gates on each qubit, ladders, a 2-qubit parameterised gate */
static qnn_circuit *layered(int n, int layers, qnn_rng *r) {
    qnn_circuit *c;
    qnn_circuit_new(&c, n, NULL);
    for (int l = 0; l < layers; l++) {
        for (int q = 0; q < n; q++) {
            qnn_circuit_rot1(c, QNN_G_RY, q, angle(c, r), NULL);
            qnn_circuit_rot1(c, QNN_G_RZ, q, angle(c, r), NULL);
            if (q % 3 == 0) qnn_circuit_gate1(c, QNN_G_H, q, NULL);
            if (q % 4 == 1) qnn_circuit_u3(c, q, angle(c, r), angle(c, r), angle(c, r), NULL);
            if (q % 5 == 2) qnn_circuit_rot1(c, QNN_G_PHASE, q, angle(c, r), NULL);
            if (q % 3 == 1) qnn_circuit_rot1(c, QNN_G_RX, q, angle(c, r), NULL);
        }
        for (int q = 0; q + 1 < n; q++) qnn_circuit_gate2(c, QNN_G_CX, q, q + 1, NULL);
        if (n >= 2) {
            int q[2] = {l % n, (l + 1) % n};
            qnn_angle a[3] = {angle(c, r), angle(c, r), angle(c, r)};
            qnn_circuit_add(c, l % 2 ? QNN_G_CRY : QNN_G_RZZ, q, 2, a, NULL);
        }
    }
    for (int i = 0; i < qnn_circuit_nparams(c); i++) qnn_circuit_set_param(c, i, urand(r, -3, 3), NULL);
    return c;
}

/* gradient (value, grad) and vjp (probs, grad) of c in one mode; in may be NULL */
static void grads(qnn_circuit *c, int mode, size_t budget, const qnn_state *in, const double *dp,
                  double *v, double *g, double *pr, double *h) {
    qnn_pauli_term obs[2] = {{0.7, 0, 1}, {-0.4, 3, 2}};
    int n = qnn_circuit_nqubits(c);
    if (n < 2) obs[1].x = 1, obs[1].z = 1;
    qnn_adjoint_config(mode, budget);
    CHECK(qnn_circuit_gradient(c, obs, 2, in, v, g, NULL) == QNN_OK);
    CHECK(qnn_circuit_vjp(c, dp, in, pr, h, NULL) == QNN_OK);
    qnn_adjoint_config(-1, 0);
}

/* the stored-state sweep == the un-computing sweep == gate by gate (1e-12), equal bitwise for 1
 * and 2 threads, close to finite differences; size and budget pick the sweep in auto mode */
TEST(stored_adjoint_equals_uncompute) {
    qnn_rng r;
    qnn_rng_seed(&r, 1205);
    double worst = 0, worst_fd = 0;
    int mismatch_threads = 0;
    for (int trial = 0; trial < 18; trial++) {
        int n = trial < 12 ? 1 + trial : 13 + (trial % 3);
        qnn_circuit *c = trial % 3 == 2 ? random_circuit(n, 50, trial % 3, &r) : layered(n, 2 + trial % 2, &r);
        int np = qnn_circuit_nparams(c);
        size_t dim = (size_t)1 << n, npp = (size_t)np + 1;
        double *g[3], *h[3], *pr[3], v[3];
        for (int m = 0; m < 3; m++) {
            g[m] = calloc(npp, sizeof(double)), h[m] = calloc(npp, sizeof(double));
            pr[m] = calloc(dim, sizeof(double));
        }
        double *dp = malloc(sizeof(double) * dim);
        for (size_t x = 0; x < dim; x++) dp[x] = urand(&r, -1, 1);
        qnn_state in, *pin = NULL;
        if (trial % 2) {
            qnn_state_init(&in, n, NULL);
            rand_state(&in, &r);
            pin = &in;
        }
        grads(c, QNN_ADJOINT_STORE, 0, pin, dp, &v[0], g[0], pr[0], h[0]);
        grads(c, QNN_ADJOINT_UNCOMPUTE, 0, pin, dp, &v[1], g[1], pr[1], h[1]);
        setenv("QNN_FUSE", "0", 1);
        grads(c, QNN_ADJOINT_STORE, 0, pin, dp, &v[2], g[2], pr[2], h[2]); /* gate by gate */
        unsetenv("QNN_FUSE");
        for (int m = 1; m < 3; m++) {
            if (fabs(v[0] - v[m]) > worst) worst = fabs(v[0] - v[m]);
            for (int i = 0; i < np; i++) {
                if (fabs(g[0][i] - g[m][i]) > worst) worst = fabs(g[0][i] - g[m][i]);
                if (fabs(h[0][i] - h[m][i]) > worst) worst = fabs(h[0][i] - h[m][i]);
            }
            for (size_t x = 0; x < dim; x++)
                if (fabs(pr[0][x] - pr[m][x]) > worst) worst = fabs(pr[0][x] - pr[m][x]);
        }
        /* 2 threads: the same numbers */
        int keep = omp_get_max_threads();
        omp_set_num_threads(2);
        grads(c, QNN_ADJOINT_STORE, 0, pin, dp, &v[1], g[1], pr[1], h[1]);
        omp_set_num_threads(keep);
        if (v[1] != v[0]) mismatch_threads++;
        for (int i = 0; i < np; i++) mismatch_threads += g[1][i] != g[0][i] || h[1][i] != h[0][i];
        /* central differences on the first parameters */
        if (n <= 8)
            for (int i = 0; i < np && i < 4; i++) {
                double x0 = qnn_circuit_get_param(c, i), e = 1e-5, vp, vm;
                qnn_pauli_term obs[2] = {{0.7, 0, 1}, {-0.4, 3, 2}};
                if (n < 2) obs[1].x = 1, obs[1].z = 1;
                qnn_circuit_set_param(c, i, x0 + e, NULL);
                qnn_circuit_expect(c, obs, 2, pin, &vp, NULL);
                qnn_circuit_set_param(c, i, x0 - e, NULL);
                qnn_circuit_expect(c, obs, 2, pin, &vm, NULL);
                qnn_circuit_set_param(c, i, x0, NULL);
                double fd = (vp - vm) / (2 * e);
                if (fabs(fd - g[0][i]) > worst_fd) worst_fd = fabs(fd - g[0][i]);
            }
        /* auto mode: a budget below one state falls back to un-computing (same numbers as
         * UNCOMPUTE), a large one stores */
        grads(c, QNN_ADJOINT_AUTO, 16, pin, dp, &v[1], g[1], pr[1], h[1]);
        grads(c, QNN_ADJOINT_UNCOMPUTE, 0, pin, dp, &v[2], g[2], pr[2], h[2]);
        for (int i = 0; i < np; i++) CHECK(g[1][i] == g[2][i] && h[1][i] == h[2][i]);
        grads(c, QNN_ADJOINT_AUTO, (size_t)1 << 30, pin, dp, &v[1], g[1], pr[1], h[1]);
        int want = n >= 11 ? 0 : 2; /* auto stores from 11 qubits */
        for (int i = 0; i < np; i++) CHECK(g[1][i] == g[want][i] && h[1][i] == h[want][i]);
        if (pin) qnn_state_release(&in);
        for (int m = 0; m < 3; m++) free(g[m]), free(h[m]), free(pr[m]);
        free(dp);
        qnn_circuit_free(c);
    }
    CHECK(worst <= 1e-12);
    CHECK(worst_fd <= 1e-7);
    CHECK(mismatch_threads == 0);
    /* the environment switch */
    setenv("QNN_ADJOINT", "uncompute", 1);
    qnn_circuit *c = layered(6, 2, &r);
    double v1, v2, *g1 = calloc(200, sizeof(double)), *g2 = calloc(200, sizeof(double));
    qnn_pauli_term z = {1.0, 0, 1};
    CHECK(qnn_circuit_gradient(c, &z, 1, NULL, &v1, g1, NULL) == QNN_OK);
    qnn_adjoint_config(QNN_ADJOINT_UNCOMPUTE, 0);
    CHECK(qnn_circuit_gradient(c, &z, 1, NULL, &v2, g2, NULL) == QNN_OK);
    qnn_adjoint_config(-1, 0);
    unsetenv("QNN_ADJOINT");
    for (int i = 0; i < qnn_circuit_nparams(c); i++) CHECK(g1[i] == g2[i]);
    free(g1), free(g2);
    qnn_circuit_free(c);
}

/* noisy density run (a 1-qubit gate is folded into its channels' superoperator: one pass) ==
 * each gate applied, then each channel one by one; the same numbers for 1 and 2 threads */
TEST(noisy_density_folded_gates) {
    qnn_rng r;
    qnn_rng_seed(&r, 77);
    const int kinds1[6] = {QNN_G_H, QNN_G_RX, QNN_G_RY, QNN_G_U3, QNN_G_SX, QNN_G_PHASE};
    double worst = 0;
    int mismatch = 0;
    for (int trial = 0; trial < 4; trial++) {
        int n = 2 + 2 * trial % 6; /* 2, 4, 6, 2 */
        if (trial == 3) n = 7;     /* 4^7 amplitudes: the parallel kernels */
        qnn_noise nm = {0.03, 0.05, 0.02, 0.04, 0.01, 0.02, 0, 0};
        if (trial == 1) nm.p2 = 0, nm.bit_flip = 0;
        qnn_circuit *c;
        qnn_circuit_new(&c, n, NULL);
        qnn_density ref, d, d2;
        qnn_density_init(&ref, n, NULL);
        for (int g = 0; g < 24; g++) {
            qnn_circuit *one;
            qnn_circuit_new(&one, n, NULL);
            int q[2] = {(int)qnn_rng_below(&r, (uint64_t)n), 0}, nq = 1;
            if (g % 3 == 2) {
                q[1] = (q[0] + 1) % n, nq = 2;
                for (int k = 0; k < 2; k++) qnn_circuit_gate2(k ? one : c, g % 2 ? QNN_G_CX : QNN_G_CZ, q[0], q[1], NULL);
            } else {
                int kind = kinds1[qnn_rng_below(&r, 6)];
                qnn_angle a[3] = {qnn_angle_const(urand(&r, -3, 3)), qnn_angle_const(urand(&r, -3, 3)),
                                  qnn_angle_const(urand(&r, -3, 3))};
                CHECK(qnn_circuit_add(c, kind, q, 1, a, NULL) == QNN_OK);
                CHECK(qnn_circuit_add(one, kind, q, 1, a, NULL) == QNN_OK);
            }
            CHECK(qnn_circuit_run_density(one, &ref, NULL, NULL) == QNN_OK); /* the gate alone */
            if (nq == 2 && nm.p2 > 0) qnn_density_depolarize2(&ref, q[0], q[1], nm.p2, NULL);
            for (int j = 0; j < nq; j++) {
                if (nq == 1) qnn_density_depolarize(&ref, q[j], nm.p1, NULL);
                qnn_density_amplitude_damp(&ref, q[j], nm.amp_damp, NULL);
                qnn_density_phase_damp(&ref, q[j], nm.phase_damp, NULL);
                qnn_density_bit_flip(&ref, q[j], nm.bit_flip, NULL);
                qnn_density_phase_flip(&ref, q[j], nm.phase_flip, NULL);
            }
            qnn_circuit_free(one);
        }
        qnn_density_init(&d, n, NULL);
        qnn_density_init(&d2, n, NULL);
        int keep = omp_get_max_threads();
        omp_set_num_threads(1);
        CHECK(qnn_circuit_run_density(c, &d, &nm, NULL) == QNN_OK);
        omp_set_num_threads(2);
        CHECK(qnn_circuit_run_density(c, &d2, &nm, NULL) == QNN_OK);
        omp_set_num_threads(keep);
        for (size_t x = 0; x < 2 * d.vec.dim; x++) {
            double e = fabs(d.vec.amp[x] - ref.vec.amp[x]);
            if (e > worst) worst = e;
            mismatch += d.vec.amp[x] != d2.vec.amp[x];
        }
        CHECK(fabs(qnn_density_trace(&d) - 1.0) <= 1e-12);
        qnn_density_release(&ref), qnn_density_release(&d), qnn_density_release(&d2);
        qnn_circuit_free(c);
    }
    CHECK(worst <= 1e-12);
    CHECK(mismatch == 0);
}

int main(void) {
    RUN(fused_equals_gate_by_gate);
    RUN(fused_benchmark_shapes_threads);
    RUN(compile_blocks);
    RUN(kernels_against_reference);
    RUN(fused_backward_equals_gate_by_gate);
    RUN(stored_adjoint_equals_uncompute);
    RUN(noisy_density_folded_gates);
    return harness_done();
}
