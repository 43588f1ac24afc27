/* Ising models: storage, energies, clamping, QUBO conversion, exhaustive ground states. */
#include "qnn/ising.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int qnn_ising_new(qnn_ising **out, int n, qnn_error *err) {
    *out = NULL;
    if (n < 0 || n > QNN_ISING_MAX_N)
        return qnn_error_set(err, QNN_EINVAL, "n must be in [0, %d], got %d", QNN_ISING_MAX_N, n);
    qnn_ising *m = calloc(1, sizeof *m);
    if (!m) return qnn_error_set(err, QNN_ENOMEM, "out of memory for an Ising model");
    m->n = n;
    m->h = calloc((size_t)(n > 0 ? n : 1), sizeof *m->h);
    m->rowptr = calloc((size_t)n + 1, sizeof *m->rowptr);
    if (!m->h || !m->rowptr) {
        qnn_ising_free(m);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory for an Ising model of %d spins", n);
    }
    m->dirty = 0; /* empty CSR is valid */
    *out = m;
    return QNN_OK;
}

void qnn_ising_free(qnn_ising *m) {
    if (!m) return;
    free(m->h);
    free(m->e);
    free(m->rowptr);
    free(m->col);
    free(m->val);
    free(m);
}

int qnn_ising_copy(qnn_ising **out, const qnn_ising *m, qnn_error *err) {
    int rc = qnn_ising_new(out, m->n, err);
    if (rc) return rc;
    qnn_ising *c = *out;
    if (m->n) memcpy(c->h, m->h, (size_t)m->n * sizeof *m->h);
    c->offset = m->offset;
    if (m->ne) {
        c->e = malloc(m->ne * sizeof *c->e);
        if (!c->e) {
            qnn_ising_free(c);
            *out = NULL;
            return qnn_error_set(err, QNN_ENOMEM, "out of memory copying an Ising model");
        }
        memcpy(c->e, m->e, m->ne * sizeof *c->e);
        c->ne = c->cap = m->ne;
        c->dirty = 1;
    }
    return QNN_OK;
}

int qnn_ising_add_field(qnn_ising *m, int i, double v, qnn_error *err) {
    if (i < 0 || i >= m->n)
        return qnn_error_set(err, QNN_ERANGE, "spin index %d outside [1, %d]", i + 1, m->n);
    if (!isfinite(v)) return qnn_error_set(err, QNN_EINVAL, "field h[%d] must be finite", i + 1);
    m->h[i] += v;
    return QNN_OK;
}

int qnn_ising_add_offset(qnn_ising *m, double v, qnn_error *err) {
    if (!isfinite(v)) return qnn_error_set(err, QNN_EINVAL, "offset must be finite");
    m->offset += v;
    return QNN_OK;
}

int qnn_ising_add_coupling(qnn_ising *m, int i, int j, double v, qnn_error *err) {
    if (i < 0 || i >= m->n || j < 0 || j >= m->n)
        return qnn_error_set(err, QNN_ERANGE, "coupling (%d, %d) outside [1, %d]", i + 1, j + 1,
                             m->n);
    if (i == j)
        return qnn_error_set(err, QNN_EINVAL,
                             "coupling (%d, %d) is a self-coupling (s_i^2 = 1 is a constant: "
                             "use the offset)", i + 1, j + 1);
    if (!isfinite(v))
        return qnn_error_set(err, QNN_EINVAL, "coupling J[%d][%d] must be finite", i + 1, j + 1);
    if (v == 0.0) return QNN_OK;
    if (m->ne == m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 16;
        if (nc > ((size_t)1 << 40) / sizeof *m->e)
            return qnn_error_set(err, QNN_ENOMEM, "too many couplings");
        qnn_ising_edge *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne) return qnn_error_set(err, QNN_ENOMEM, "out of memory for couplings");
        m->e = ne;
        m->cap = nc;
    }
    if (i > j) {
        int t = i;
        i = j;
        j = t;
    }
    m->e[m->ne].i = i;
    m->e[m->ne].j = j;
    m->e[m->ne].w = v;
    m->ne++;
    m->dirty = 1;
    return QNN_OK;
}

static int edge_cmp(const void *a, const void *b) {
    const qnn_ising_edge *x = a, *y = b;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    if (x->j != y->j) return x->j < y->j ? -1 : 1;
    return 0;
}

int qnn_ising_prepare(qnn_ising *m, qnn_error *err) {
    if (!m->dirty) return QNN_OK;
    /* coalesce */
    if (m->ne > 1) qsort(m->e, m->ne, sizeof *m->e, edge_cmp);
    size_t w = 0;
    for (size_t r = 0; r < m->ne;) {
        qnn_ising_edge cur = m->e[r++];
        while (r < m->ne && m->e[r].i == cur.i && m->e[r].j == cur.j) cur.w += m->e[r++].w;
        if (cur.w != 0.0) m->e[w++] = cur;
    }
    m->ne = w;
    /* CSR */
    size_t nnz = 2 * m->ne;
    int *col = malloc((nnz ? nnz : 1) * sizeof *col);
    double *val = malloc((nnz ? nnz : 1) * sizeof *val);
    size_t *fill = calloc((size_t)m->n + 1, sizeof *fill);
    if (!col || !val || !fill) {
        free(col);
        free(val);
        free(fill);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory for the coupling adjacency");
    }
    size_t *rp = m->rowptr;
    memset(rp, 0, ((size_t)m->n + 1) * sizeof *rp);
    for (size_t k = 0; k < m->ne; k++) {
        rp[m->e[k].i + 1]++;
        rp[m->e[k].j + 1]++;
    }
    for (int i = 0; i < m->n; i++) rp[i + 1] += rp[i];
    /* row i: first the smaller neighbours (edges (j,i), sorted by j), then the larger ones */
    for (size_t k = 0; k < m->ne; k++) {
        int i = m->e[k].i, j = m->e[k].j;
        size_t pj = rp[j] + fill[j]++;
        col[pj] = i;
        val[pj] = m->e[k].w;
    }
    for (size_t k = 0; k < m->ne; k++) {
        int i = m->e[k].i, j = m->e[k].j;
        size_t pi = rp[i] + fill[i]++;
        col[pi] = j;
        val[pi] = m->e[k].w;
    }
    free(fill);
    free(m->col);
    free(m->val);
    m->col = col;
    m->val = val;
    m->dirty = 0;
    return QNN_OK;
}

int qnn_ising_energy(qnn_ising *m, const int8_t *s, double *E, qnn_error *err) {
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    for (int i = 0; i < m->n; i++)
        if (s[i] != 1 && s[i] != -1)
            return qnn_error_set(err, QNN_EINVAL, "spin %d must be -1 or +1, got %d", i + 1,
                                 (int)s[i]);
    double e = 0.0;
    for (int i = 0; i < m->n; i++) e += m->h[i] * s[i];
    for (size_t k = 0; k < m->ne; k++) e += m->e[k].w * s[m->e[k].i] * s[m->e[k].j];
    *E = e + m->offset;
    return QNN_OK;
}

double qnn_ising_scale(qnn_ising *m) {
    qnn_ising_prepare(m, NULL);
    double ss = 0.0;
    size_t cnt = 0;
    for (int i = 0; i < m->n; i++)
        if (m->h[i] != 0.0) {
            ss += m->h[i] * m->h[i];
            cnt++;
        }
    for (size_t k = 0; k < m->ne; k++) {
        ss += m->e[k].w * m->e[k].w;
        cnt++;
    }
    return cnt ? sqrt(ss / (double)cnt) : 1.0;
}

void qnn_ising_delta_range(qnn_ising *m, double *dmin, double *dmax) {
    qnn_ising_prepare(m, NULL);
    double mx = 0.0, mn = INFINITY;
    for (int i = 0; i < m->n; i++) {
        double a = fabs(m->h[i]);
        if (a > 0 && 2 * a < mn) mn = 2 * a;
        for (size_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) {
            double b = fabs(m->val[p]);
            a += b;
            if (b > 0 && 2 * b < mn) mn = 2 * b;
        }
        if (2 * a > mx) mx = 2 * a;
    }
    *dmax = mx;
    *dmin = isinf(mn) ? 0.0 : mn;
}

int qnn_ising_clamp(qnn_ising *m, const int *idx, const int8_t *vals, int k, qnn_ising **out,
                    int *map_out, qnn_error *err) {
    *out = NULL;
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    if (k < 0 || k > m->n)
        return qnn_error_set(err, QNN_EINVAL, "number of clamped spins %d outside [0, %d]", k,
                             m->n);
    int8_t *fixed = calloc((size_t)m->n + 1, 1);
    int *map = malloc(((size_t)m->n + 1) * sizeof *map);
    if (!fixed || !map) {
        free(fixed);
        free(map);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory clamping");
    }
    for (int t = 0; t < k; t++) {
        int i = idx[t];
        if (i < 0 || i >= m->n) {
            rc = qnn_error_set(err, QNN_ERANGE, "clamped index %d outside [1, %d]", i + 1, m->n);
            goto done;
        }
        if (vals[t] != 1 && vals[t] != -1) {
            rc = qnn_error_set(err, QNN_EINVAL, "clamped value for spin %d must be -1 or +1", i + 1);
            goto done;
        }
        if (fixed[i] && fixed[i] != vals[t]) {
            rc = qnn_error_set(err, QNN_EINVAL, "spin %d clamped twice to different values", i + 1);
            goto done;
        }
        fixed[i] = vals[t];
    }
    int nf = 0;
    for (int i = 0; i < m->n; i++) map[i] = fixed[i] ? -1 : nf++;
    qnn_ising *r = NULL;
    rc = qnn_ising_new(&r, nf, err);
    if (rc) goto done;
    r->offset = m->offset;
    for (int i = 0; i < m->n; i++) {
        if (fixed[i]) r->offset += m->h[i] * fixed[i];
        else r->h[map[i]] += m->h[i];
    }
    for (size_t e = 0; e < m->ne && rc == QNN_OK; e++) {
        int i = m->e[e].i, j = m->e[e].j;
        double w = m->e[e].w;
        if (fixed[i] && fixed[j]) r->offset += w * fixed[i] * fixed[j];
        else if (fixed[i]) r->h[map[j]] += w * fixed[i];
        else if (fixed[j]) r->h[map[i]] += w * fixed[j];
        else rc = qnn_ising_add_coupling(r, map[i], map[j], w, err);
    }
    if (rc == QNN_OK) rc = qnn_ising_prepare(r, err);
    if (rc) {
        qnn_ising_free(r);
        goto done;
    }
    if (map_out) memcpy(map_out, map, (size_t)m->n * sizeof *map);
    *out = r;
done:
    free(fixed);
    free(map);
    return rc;
}

int qnn_ising_from_qubo(const double *Q, int n, double offset, qnn_ising **out, qnn_error *err) {
    *out = NULL;
    if (!isfinite(offset)) return qnn_error_set(err, QNN_EINVAL, "QUBO offset must be finite");
    for (size_t k = 0; k < (size_t)n * (size_t)n; k++)
        if (!isfinite(Q[k]))
            return qnn_error_set(err, QNN_EINVAL, "Q[%d][%d] must be finite", (int)(k / (size_t)n) + 1,
                                 (int)(k % (size_t)n) + 1);
    qnn_ising *m = NULL;
    int rc = qnn_ising_new(&m, n, err);
    if (rc) return rc;
    /* x = (1+s)/2:  q x_i = q/2 + q/2 s_i;  q x_i x_j = q/4 (1 + s_i + s_j + s_i s_j) */
    double c = offset;
    for (int i = 0; i < n && !rc; i++) {
        double qii = Q[(size_t)i * n + i];
        m->h[i] += qii / 2;
        c += qii / 2;
        for (int j = i + 1; j < n && !rc; j++) {
            double q = Q[(size_t)i * n + j] + Q[(size_t)j * n + i];
            if (q == 0.0) continue;
            m->h[i] += q / 4;
            m->h[j] += q / 4;
            c += q / 4;
            rc = qnn_ising_add_coupling(m, i, j, q / 4, err);
        }
    }
    if (!rc) rc = qnn_ising_prepare(m, err);
    if (rc) {
        qnn_ising_free(m);
        return rc;
    }
    m->offset = c;
    *out = m;
    return QNN_OK;
}

int qnn_ising_to_qubo(qnn_ising *m, double *Q, double *offset, qnn_error *err) {
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    int n = m->n;
    memset(Q, 0, (size_t)n * (size_t)n * sizeof *Q);
    /* s = 2x - 1:  h s = 2h x - h;  J s_i s_j = 4J x_i x_j - 2J x_i - 2J x_j + J */
    double c = m->offset;
    for (int i = 0; i < n; i++) {
        Q[(size_t)i * n + i] += 2 * m->h[i];
        c -= m->h[i];
    }
    for (size_t k = 0; k < m->ne; k++) {
        int i = m->e[k].i, j = m->e[k].j;
        double w = m->e[k].w;
        Q[(size_t)i * n + j] += 4 * w;
        Q[(size_t)i * n + i] -= 2 * w;
        Q[(size_t)j * n + j] -= 2 * w;
        c += w;
    }
    *offset = c;
    return QNN_OK;
}

/* ---------------- exhaustive enumeration ---------------- */

/* Local fields f_i = h_i + sum_j J_ij s_j for spins s. */
static void local_fields(const qnn_ising *m, const int8_t *s, double *f) {
    for (int i = 0; i < m->n; i++) {
        double a = m->h[i];
        for (size_t p = m->rowptr[i]; p < m->rowptr[i + 1]; p++) a += m->val[p] * s[m->col[p]];
        f[i] = a;
    }
}

int qnn_ising_ground_state(qnn_ising *m, qnn_ising_ground *g, const qnn_progress *p,
                           qnn_error *err) {
    int n = m->n;
    if (n > QNN_ISING_MAX_GROUND)
        return qnn_error_set(err, QNN_EINVAL,
                             "exhaustive ground state needs n <= %d spins, got %d",
                             QNN_ISING_MAX_GROUND, n);
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    int8_t *s = malloc((size_t)n + 1);
    double *f = malloc(((size_t)n + 1) * sizeof *f);
    if (!s || !f) {
        free(s);
        free(f);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) s[i] = 1;
    local_fields(m, s, f);
    double E = m->offset;
    for (int i = 0; i < n; i++) E += m->h[i];
    for (size_t k = 0; k < m->ne; k++) E += m->e[k].w;
    /* tolerance for degeneracy and for the drift of the running energy */
    double scale = fabs(m->offset);
    for (int i = 0; i < n; i++) scale += fabs(m->h[i]);
    for (size_t k = 0; k < m->ne; k++) scale += fabs(m->e[k].w);
    double tol = 1e-9 * (scale > 1 ? scale : 1);
    double best = E;
    uint64_t best_code = 0, degen = 1;
    uint64_t code = 0; /* bit i set <-> s_i = -1 */
    uint64_t total = (uint64_t)1 << n;
    const size_t *rp = m->rowptr;
    const int *col = m->col;
    const double *val = m->val;
    for (uint64_t g_ = 1; g_ < total; g_++) {
        int i = __builtin_ctzll(g_);
        double si = s[i];
        E -= 2.0 * si * f[i];
        double d = -2.0 * si; /* change of s_i */
        for (size_t q = rp[i]; q < rp[i + 1]; q++) f[col[q]] += d * val[q];
        s[i] = (int8_t)-s[i];
        code ^= (uint64_t)1 << i;
        if (E < best - tol) {
            best = E;
            best_code = code;
            degen = 1;
        } else if (E <= best + tol) {
            degen++;
            if (E < best) {
                best = E;
                best_code = code;
            }
        }
        if ((g_ & ((1u << 20) - 1)) == 0) {
            /* resynchronise the running energy and fields (bounded rounding drift) */
            qnn_ising_energy(m, s, &E, NULL);
            local_fields(m, s, f);
            rc = qnn_progress_step(p, (double)g_, (double)total);
            if (rc) {
                free(s);
                free(f);
                return qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
            }
        }
    }
    for (int i = 0; i < n; i++) g->spins[i] = (best_code >> i) & 1 ? -1 : 1;
    free(s);
    free(f);
    g->degeneracy = degen;
    g->tol = tol;
    return qnn_ising_energy(m, g->spins, &g->energy, err);
}

int qnn_ising_energies(qnn_ising *m, double *Eout, const qnn_progress *p, qnn_error *err) {
    int n = m->n;
    if (n > QNN_ISING_MAX_EXACT + 4)
        return qnn_error_set(err, QNN_EINVAL, "energy table needs n <= %d, got %d",
                             QNN_ISING_MAX_EXACT + 4, n);
    int rc = qnn_ising_prepare(m, err);
    if (rc) return rc;
    /* Direct evaluation per index in blocks: the low L bits enumerate with a Gray code over a
     * fixed high part would be faster, but a plain Gray walk over x already costs O(degree)
     * per state; we write E[x] at the Gray index (s_q = 1 - 2 bit_q). To keep the rounding
     * drift bounded, the energy is recomputed exactly every 4096 states. */
    int8_t *s = malloc((size_t)n + 1);
    double *f = malloc(((size_t)n + 1) * sizeof *f);
    if (!s || !f) {
        free(s);
        free(f);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) s[i] = 1;
    local_fields(m, s, f);
    double E;
    qnn_ising_energy(m, s, &E, NULL);
    Eout[0] = E;
    uint64_t total = (uint64_t)1 << n, x = 0;
    for (uint64_t g_ = 1; g_ < total; g_++) {
        int i = __builtin_ctzll(g_);
        double si = s[i];
        E -= 2.0 * si * f[i];
        double d = -2.0 * si;
        for (size_t q = m->rowptr[i]; q < m->rowptr[i + 1]; q++) f[m->col[q]] += d * m->val[q];
        s[i] = (int8_t)-s[i];
        x ^= (uint64_t)1 << i;
        if ((g_ & 4095) == 0) {
            qnn_ising_energy(m, s, &E, NULL);
            local_fields(m, s, f);
            if ((g_ & ((1u << 20) - 1)) == 0) {
                rc = qnn_progress_step(p, (double)g_, (double)total);
                if (rc) break;
            }
        }
        Eout[x] = E;
    }
    free(s);
    free(f);
    if (rc) return qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
    return QNN_OK;
}
