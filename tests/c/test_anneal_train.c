/* Ising-network trainer (include/qnn/anneal_train.h): energies against a direct sum, the sign
 * of the update (it lowers E(nudged) - E(free) by exactly eta |c_n - c_f|^2), a tiny net that
 * learns, active blocks touching only their couplings, determinism, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qnn/anneal_train.h"

/* E straight from the definition */
static double brute_energy(const qnn_anet *n, const double *x, const int8_t *s) {
    double E = 0;
    const double *h = n->params + n->nJ;
    for (int g = 0; g < n->nspins; g++) E += h[g] * s[g];
    for (int l = 0; l + 1 < n->nlayers; l++)
        for (int i = 0; i < n->sizes[l]; i++)
            for (int j = 0; j < n->sizes[l + 1]; j++) {
                double a = l == 0 ? x[i] : s[n->off[l] + i];
                E += n->params[n->wofs[l] + (size_t)i * n->sizes[l + 1] + j] * a *
                     s[n->off[l + 1] + j];
            }
    return E;
}

static void index_state(unsigned x, int ns, int8_t *s) {
    for (int g = 0; g < ns; g++) s[g] = (x >> g) & 1 ? -1 : 1;
}

/* ground state over all spins (free) or with outputs clamped to label (nudged) */
static double ground(const qnn_anet *n, const double *x, int label, int8_t *best) {
    int ns = n->nspins, o = n->off[n->nlayers - 1];
    int8_t s[32];
    double Eb = INFINITY;
    for (unsigned k = 0; k < (1u << ns); k++) {
        index_state(k, ns, s);
        if (label >= 0) {
            int ok = 1;
            for (int q = o; q < ns; q++) ok &= s[q] == (q - o == label ? 1 : -1);
            if (!ok) continue;
        }
        double E = brute_energy(n, x, s);
        if (E < Eb) {
            Eb = E;
            memcpy(best, s, (size_t)ns);
        }
    }
    return Eb;
}

TEST(energy_matches_definition) {
    int sizes[] = {3, 4, 3, 2};
    qnn_anet *n = NULL;
    CHECK(qnn_anet_new(&n, sizes, 4, NULL) == QNN_OK);
    qnn_rng r;
    qnn_rng_seed(&r, 7);
    CHECK(qnn_anet_init(n, QNN_ANET_INIT_GAUSSIAN, 1.0, &r, NULL) == QNN_OK);
    for (int g = 0; g < n->nspins; g++) n->params[n->nJ + g] = 0.3 * qnn_rng_normal(&r);
    double x[3] = {0.5, -1, 2};
    int8_t s[9];
    for (unsigned k = 0; k < 512; k += 37) {
        index_state(k, 9, s);
        double E;
        CHECK(qnn_anet_energy(n, x, s, &E, NULL) == QNN_OK);
        CHECK_NEAR(E, brute_energy(n, x, s), 1e-12);
    }
    /* feed-forward: each spin is -sign of its field from the layer below */
    double sc[2];
    int cls = qnn_anet_feedforward(n, x, s, sc);
    CHECK(cls == (sc[1] > sc[0] ? 1 : 0));
    for (int p = 0; p < 2; p++) CHECK(s[n->off[3] + p] == (sc[p] >= 0 ? 1 : -1));
    /* sub-model + offset reproduces the full energy */
    int sub[] = {1, 5, 7};
    double hs[3], w[64], off;
    int ei[64], ej[64];
    size_t ne;
    index_state(300, 9, s);
    CHECK(qnn_anet_submodel(n, x, s, sub, 3, -1, 0, hs, ei, ej, w, 64, &ne, &off, NULL) == 0);
    double Es = off;
    for (int k = 0; k < 3; k++) Es += hs[k] * s[sub[k]];
    for (size_t e = 0; e < ne; e++) Es += w[e] * s[sub[ei[e]]] * s[sub[ej[e]]];
    CHECK_NEAR(Es, brute_energy(n, x, s), 1e-12);
    qnn_anet_free(n);
}

TEST(update_sign_lowers_gap) {
    int sizes[] = {2, 3, 2};
    qnn_anet *n = NULL;
    qnn_anet_new(&n, sizes, 3, NULL);
    qnn_rng r;
    qnn_rng_seed(&r, 3);
    qnn_anet_init(n, QNN_ANET_INIT_GAUSSIAN, 1.5, &r, NULL);
    double x[2] = {1, -1};
    int label = 1;
    int8_t sf[8], sn[8];
    /* pick a case where the free answer is wrong so the phases differ */
    for (int tries = 0; tries < 50; tries++) {
        ground(n, x, -1, sf);
        if (sf[n->off[2] + label] != 1 || sf[n->off[2]] != -1) break;
        qnn_anet_init(n, QNN_ANET_INIT_GAUSSIAN, 1.5, &r, NULL);
    }
    ground(n, x, label, sn);
    double gap0 = brute_energy(n, x, sn) - brute_energy(n, x, sf);
    /* c_n - c_f */
    double d2 = 0;
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < 2; i++) {
            double d = x[i] * (sn[p] - sf[p]);
            d2 += d * d;
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            double d = sn[i] * sn[3 + j] - sf[i] * sf[3 + j];
            d2 += d * d;
        }
    for (int g = 0; g < 5; g++) d2 += (double)(sn[g] - sf[g]) * (sn[g] - sf[g]);
    CHECK(d2 > 0);
    qnn_anet_opts o;
    qnn_anet_opts_defaults(&o);
    o.free_s.sweeps = o.nudged_s.sweeps = 300;
    o.free_s.reads = o.nudged_s.reads = 8;
    o.weighting = QNN_ANET_WEIGHT_LOWEST;
    size_t idx = 0;
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    double eta = 0.01;
    CHECK(qnn_anet_train_batch(n, &o, x, 2, &label, &idx, 1, eta, NULL, &r, &st, NULL, NULL) == 0);
    double gap1 = brute_energy(n, x, sn) - brute_energy(n, x, sf);
    CHECK(gap1 < gap0);
    CHECK_NEAR(gap1 - gap0, -eta * d2, 1e-9);
    CHECK_NEAR(st.gap, gap0, 1e-9);
    CHECK(st.samples == 1 && st.updates == 1 && st.sampler_calls == 2);
    CHECK(st.flip_attempts == 300.0 * 8 * (5 + 3));
    /* the exact sampler and Durr-Hoyer find the same ground states */
    for (int kind = QNN_ANET_EXACT; kind <= QNN_ANET_GROVER; kind++) {
        qnn_anet *m = NULL;
        qnn_anet_copy(&m, n, NULL);
        ground(m, x, -1, sf);
        ground(m, x, label, sn);
        gap0 = brute_energy(m, x, sn) - brute_energy(m, x, sf);
        o.free_s.kind = o.nudged_s.kind = kind;
        o.free_s.T = o.nudged_s.T = 60;
        o.free_s.sweeps = o.nudged_s.sweeps = 600;
        o.free_s.reads = o.nudged_s.reads = 16;
        memset(&st, 0, sizeof st);
        CHECK(qnn_anet_train_batch(m, &o, x, 2, &label, &idx, 1, 0.0, NULL, &r, &st, NULL, NULL) == 0);
        CHECK_NEAR(st.gap, gap0, 1e-9);
        if (kind == QNN_ANET_GROVER) CHECK(st.queries > 0);
        else CHECK(st.exact_steps == 1200);
        qnn_anet_free(m);
    }
    qnn_anet_free(n);
}

/* linearly separable toy set: class 1 iff x1 + 0.5 x2 > 0 */
static void toy(double *X, int *y, int n, uint64_t seed) {
    qnn_rng r;
    qnn_rng_seed(&r, seed);
    for (int k = 0; k < n; k++) {
        double a = 2 * qnn_rng_uniform(&r) - 1, b = 2 * qnn_rng_uniform(&r) - 1;
        double m = a + 0.5 * b;
        if (fabs(m) < 0.1) a += m > 0 ? 0.2 : -0.2;
        X[2 * k] = a;
        X[2 * k + 1] = b;
        y[k] = a + 0.5 * b > 0;
    }
}

TEST(tiny_net_learns) {
    int sizes[] = {2, 4, 2};
    qnn_anet *n = NULL;
    qnn_anet_new(&n, sizes, 3, NULL);
    qnn_rng r;
    qnn_rng_seed(&r, 11);
    qnn_anet_init(n, QNN_ANET_INIT_UNIFORM, 1.0, &r, NULL);
    double X[2 * 80];
    int y[80];
    toy(X, y, 80, 5);
    qnn_anet_opts o;
    qnn_anet_opts_defaults(&o);
    o.free_s.sweeps = o.nudged_s.sweeps = 50;
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    for (int e = 0; e < 30; e++)
        CHECK(qnn_anet_train_epoch(n, &o, X, 2, y, 80, 8, 1, 0.05, NULL, NULL, 0, 1, NULL, &r, &st,
                                   NULL, NULL) == 0);
    int ok = 0;
    for (int k = 0; k < 80; k++) ok += qnn_anet_feedforward(n, X + 2 * k, NULL, NULL) == y[k];
    CHECK(ok >= 72);
    double sc[160];
    int cls[80];
    CHECK(qnn_anet_predict_anneal(n, &o.free_s, X, 2, 80, NULL, NULL, 0, 1, &r, sc, cls, &st,
                                  NULL, NULL) == 0);
    int ok2 = 0;
    for (int k = 0; k < 80; k++) ok2 += cls[k] == y[k];
    CHECK(ok2 >= 72);
    qnn_anet_free(n);
}

TEST(block_touches_only_its_couplings_and_is_deterministic) {
    int sizes[] = {3, 4, 4, 2};
    qnn_anet *a = NULL, *b = NULL, *c = NULL;
    qnn_anet_new(&a, sizes, 4, NULL);
    qnn_rng r;
    qnn_rng_seed(&r, 2);
    qnn_anet_init(a, QNN_ANET_INIT_GAUSSIAN, 1.0, &r, NULL);
    qnn_anet_copy(&b, a, NULL);
    qnn_anet_copy(&c, a, NULL);
    double X[3 * 6] = {1, -1, 1, -1, 1, 1, 1, 1, -1, -1, -1, 1, 1, -1, -1, -1, 1, -1};
    int y[6] = {0, 1, 0, 1, 1, 0};
    int blocks[] = {5, 6}; /* spins 2 and 3 of the second hidden layer (0-based 4.. 7) */
    int boff[] = {0, 2};
    qnn_anet_opts o;
    qnn_anet_opts_defaults(&o);
    o.free_s.kind = QNN_ANET_EXACT;
    o.nudged_s.kind = QNN_ANET_GROVER;
    o.free_s.reads = 5;
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    long long cur = 0;
    qnn_rng r1, r2;
    qnn_rng_seed(&r1, 9);
    qnn_rng_seed(&r2, 9);
    CHECK(qnn_anet_train_epoch(b, &o, X, 3, y, 6, 2, 1, 0.1, blocks, boff, 1, 1, &cur, &r1, &st,
                               NULL, NULL) == 0);
    CHECK(cur == 3);
    CHECK(st.spins <= 6.0 * 4);
    cur = 0;
    CHECK(qnn_anet_train_epoch(c, &o, X, 3, y, 6, 2, 1, 0.1, blocks, boff, 1, 1, &cur, &r2, &st,
                               NULL, NULL) == 0);
    CHECK(memcmp(b->params, c->params, b->nparams * sizeof(double)) == 0);
    int changed = 0, bad = 0;
    unsigned char act[10] = {0};
    act[5] = act[6] = 1;
    for (int l = 0; l + 1 < a->nlayers; l++)
        for (int i = 0; i < a->sizes[l]; i++)
            for (int j = 0; j < a->sizes[l + 1]; j++) {
                size_t k = a->wofs[l] + (size_t)i * a->sizes[l + 1] + j;
                int inc = act[a->off[l + 1] + j] || (l >= 1 && act[a->off[l] + i]);
                if (a->params[k] != b->params[k]) {
                    if (inc) changed++;
                    else bad++;
                }
            }
    for (int g = 0; g < a->nspins; g++) {
        size_t k = a->nJ + g;
        if (a->params[k] != b->params[k]) {
            if (act[g]) changed++;
            else bad++;
        }
    }
    CHECK(changed > 0);
    CHECK(bad == 0);
    qnn_anet_free(a);
    qnn_anet_free(b);
    qnn_anet_free(c);
}

TEST(bad_input) {
    int sizes[] = {3, 20, 2};
    qnn_anet *n = NULL;
    qnn_error e = {0};
    int bad_sizes[] = {3, 0, 2};
    CHECK(qnn_anet_new(&n, bad_sizes, 3, &e) == QNN_EINVAL);
    CHECK(qnn_anet_new(&n, sizes, 1, &e) == QNN_EINVAL);
    CHECK(qnn_anet_new(&n, sizes, 3, &e) == QNN_OK);
    qnn_rng r;
    qnn_rng_seed(&r, 1);
    CHECK(qnn_anet_init(n, QNN_ANET_INIT_UNIFORM, NAN, &r, &e) == QNN_EINVAL);
    qnn_anet_init(n, QNN_ANET_INIT_UNIFORM, 1, &r, &e);
    double X[3] = {1, 0, -1};
    int y = 0;
    size_t idx = 0;
    qnn_anet_opts o;
    qnn_anet_opts_defaults(&o);
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, NAN, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "eta") != NULL);
    o.free_s.kind = QNN_ANET_EXACT;
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, 0.1, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "at most 16") != NULL);
    o.free_s.kind = 9;
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, 0.1, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    qnn_anet_opts_defaults(&o);
    y = 2;
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, 0.1, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    y = 0;
    X[1] = NAN;
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, 0.1, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    o.nudge = -1;
    CHECK(qnn_anet_check_opts(n, &o, &e) == QNN_EINVAL);
    /* block-coordinate phases: a 20-spin block is too big for exact; bad spin index */
    X[1] = 0;
    qnn_anet_opts_defaults(&o);
    int cb[20], co[2] = {0, 20};
    for (int k = 0; k < 20; k++) cb[k] = k;
    o.cblocks = cb;
    o.cboff = co;
    o.ncblocks = 1;
    o.cpasses = 1;
    o.free_s.kind = QNN_ANET_EXACT;
    CHECK(qnn_anet_train_batch(n, &o, X, 3, &y, &idx, 1, 0.1, NULL, &r, &st, NULL, &e) == QNN_EINVAL);
    CHECK(strstr(e.msg, "at most 16") != NULL);
    cb[3] = 99;
    CHECK(qnn_anet_check_opts(n, &o, &e) == QNN_ERANGE);
    o.cpasses = 0;
    cb[3] = 3;
    CHECK(qnn_anet_check_opts(n, &o, &e) == QNN_EINVAL);
    qnn_anet_free(n);
}

int main(void) {
    RUN(energy_matches_definition);
    RUN(update_sign_lowers_gap);
    RUN(tiny_net_learns);
    RUN(block_touches_only_its_couplings_and_is_deterministic);
    RUN(bad_input);
    return harness_done();
}
