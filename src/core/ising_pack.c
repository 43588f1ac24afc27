/* Padded (and, when possible, integer) adjacency for the SA / SQA kernels. */
#include "ising_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void qnn_ising_pack_free(qnn_ising_pack *pk) {
    free(pk->rp);
    free(pk->col);
    free(pk->val);
    free(pk->ival);
    free(pk->ih);
    memset(pk, 0, sizeof *pk);
}

/* Is v an integer multiple k*q of q with |k| < 2^20? */
static int multiple_of(double v, double q, int *k) {
    double r = nearbyint(v / q);
    if (fabs(r) >= 1048576.0 || r * q != v) return 0;
    *k = (int)r;
    return 1;
}

static int try_quantum(const qnn_ising *m, double q, int *F) {
    int k, fmax = 0;
    for (int i = 0; i < m->n; i++) {
        if (!multiple_of(m->h[i], q, &k)) return 0;
        long long a = llabs((long long)k);
        for (size_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) {
            if (!multiple_of(m->val[p], q, &k)) return 0;
            a += llabs((long long)k);
        }
        if (a > QNN_ISING_PACK_MAX_F) return 0;
        if (a > fmax) fmax = (int)a;
    }
    *F = fmax;
    return 1;
}

int qnn_ising_pack_build(qnn_ising *m, qnn_ising_pack *pk, qnn_error *err) {
    memset(pk, 0, sizeof *pk);
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    int n = m->n;
    pk->n = n;
    pk->rp = malloc(((size_t)n + 1) * sizeof *pk->rp);
    if (!pk->rp) return qnn_error_set(err, QNN_ENOMEM, "out of memory for the sampler adjacency");
    size_t tot = 0;
    pk->rp[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t d = m->rowptr[i + 1] - m->rowptr[i];
        tot += (d + 3) / 4 * 4;
        if (tot > (size_t)INT_MAX - 8) {
            qnn_ising_pack_free(pk);
            return qnn_error_set(err, QNN_ENOMEM, "too many couplings for the samplers");
        }
        pk->rp[i + 1] = (int)tot;
    }
    pk->col = malloc((tot + 1) * sizeof *pk->col);
    pk->val = malloc((tot + 1) * sizeof *pk->val);
    if (!pk->col || !pk->val) {
        qnn_ising_pack_free(pk);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory for the sampler adjacency");
    }
    for (int i = 0; i < n; i++) {
        int q = pk->rp[i];
        for (size_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++, q++) {
            pk->col[q] = m->col[p];
            pk->val[q] = m->val[p];
        }
        for (; q < pk->rp[i + 1]; q++) {
            pk->col[q] = n;
            pk->val[q] = 0.0;
        }
    }
    /* quantum: the smallest nonzero magnitude, else dyadic 2^-k */
    double amin = INFINITY;
    for (int i = 0; i < n; i++)
        if (m->h[i] != 0 && fabs(m->h[i]) < amin) amin = fabs(m->h[i]);
    for (size_t e = 0; e < m->ne; e++)
        if (fabs(m->e[e].w) < amin) amin = fabs(m->e[e].w);
    if (isinf(amin)) amin = 1.0;
    double q = 0;
    int F = 0;
    if (try_quantum(m, amin, &F)) q = amin;
    for (int k = 0; q == 0 && k <= 10; k++)
        if (try_quantum(m, ldexp(1.0, -k), &F)) q = ldexp(1.0, -k);
    if (q > 0) {
        pk->ival = malloc((tot + 1) * sizeof *pk->ival);
        pk->ih = malloc(((size_t)n + 1) * sizeof *pk->ih);
        if (pk->ival && pk->ih) {
            int k;
            for (size_t p = 0; p < tot; p++) pk->ival[p] = multiple_of(pk->val[p], q, &k) ? k : 0;
            for (int i = 0; i < n; i++) pk->ih[i] = multiple_of(m->h[i], q, &k) ? k : 0;
            pk->q = q;
            pk->F = F;
        } else { /* fall back to the double kernels */
            free(pk->ival);
            free(pk->ih);
            pk->ival = NULL;
            pk->ih = NULL;
        }
    }
    return QNN_OK;
}
