/* Annealing-based training of Ising networks: free and nudged phases with any sampler of
 * qnn/ising.h, correlation accumulation and updates (see include/qnn/anneal_train.h). */
#include "qnn/anneal_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/grover.h"
#include "qnn/ising.h"


static inline double *Jp(const qnn_anet *net, int l) { return net->params + net->wofs[l]; }
static inline double *Hp(const qnn_anet *net) { return net->params + net->nJ; }
static inline int nout(const qnn_anet *net) { return net->sizes[net->nlayers - 1]; }
static inline int out0(const qnn_anet *net) { return net->off[net->nlayers - 1]; }

/* ---------------- construction ---------------- */
int qnn_anet_new(qnn_anet **out, const int *sizes, int nlayers, qnn_error *err) {
    *out = NULL;
    if (nlayers < 2 || nlayers > QNN_ANET_MAX_LAYERS)
        return qnn_error_set(err, QNN_EINVAL, "number of layers %d outside [2, %d]", nlayers,
                             QNN_ANET_MAX_LAYERS);
    for (int l = 0; l < nlayers; l++)
        if (sizes[l] < 1 || sizes[l] > QNN_ANET_MAX_WIDTH)
            return qnn_error_set(err, QNN_EINVAL, "layer %d width %d outside [1, %d]", l + 1,
                                 sizes[l], QNN_ANET_MAX_WIDTH);
    qnn_anet *n = calloc(1, sizeof *n);
    if (!n) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    n->nlayers = nlayers;
    size_t nJ = 0;
    int ns = 0;
    for (int l = 0; l < nlayers; l++) {
        n->sizes[l] = sizes[l];
        if (l >= 1) {
            n->off[l] = ns;
            ns += sizes[l];
        }
        if (l + 1 < nlayers) {
            n->wofs[l] = nJ;
            nJ += (size_t)sizes[l] * (size_t)sizes[l + 1];
        }
    }
    n->nspins = ns;
    n->nJ = nJ;
    n->nparams = nJ + (size_t)ns;
    size_t bytes;
    if (qnn_mul_size(n->nparams, sizeof(double), &bytes) || bytes > qnn_max_bytes()) {
        size_t np = n->nparams;
        free(n);
        return qnn_error_set(err, QNN_ENOMEM, "%zu parameters exceed the memory limit", np);
    }
    n->params = calloc(n->nparams, sizeof(double));
    n->layer_of = calloc((size_t)ns, sizeof(int));
    if (!n->params || !n->layer_of) {
        qnn_anet_free(n);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory for %zu parameters", n->nparams);
    }
    for (int l = 1; l < nlayers; l++)
        for (int p = 0; p < sizes[l]; p++) n->layer_of[n->off[l] + p] = l;
    *out = n;
    return QNN_OK;
}

void qnn_anet_free(qnn_anet *net) {
    if (!net) return;
    free(net->params);
    free(net->layer_of);
    free(net);
}

int qnn_anet_copy(qnn_anet **out, const qnn_anet *net, qnn_error *err) {
    int rc = qnn_anet_new(out, net->sizes, net->nlayers, err);
    if (rc) return rc;
    memcpy((*out)->params, net->params, net->nparams * sizeof(double));
    return QNN_OK;
}

int qnn_anet_init(qnn_anet *net, int kind, double scale, qnn_rng *rng, qnn_error *err) {
    if (kind != QNN_ANET_INIT_UNIFORM && kind != QNN_ANET_INIT_GAUSSIAN)
        return qnn_error_set(err, QNN_EINVAL, "unknown initialisation %d", kind);
    if (!(scale > 0) || !isfinite(scale))
        return qnn_error_set(err, QNN_EINVAL, "init scale must be finite and > 0, got %g", scale);
    for (int l = 0; l + 1 < net->nlayers; l++) {
        double *J = Jp(net, l);
        size_t cnt = (size_t)net->sizes[l] * (size_t)net->sizes[l + 1];
        double a = scale / sqrt((double)net->sizes[l]);
        for (size_t k = 0; k < cnt; k++)
            J[k] = kind == QNN_ANET_INIT_UNIFORM ? a * (2.0 * qnn_rng_uniform(rng) - 1.0)
                                                 : a * qnn_rng_normal(rng);
    }
    memset(Hp(net), 0, (size_t)net->nspins * sizeof(double));
    return QNN_OK;
}

void qnn_anet_sampler_defaults(qnn_anet_sampler *s) {
    memset(s, 0, sizeof *s);
    s->kind = QNN_ANET_SA;
    s->reads = 4;
    s->sweeps = 100;
    s->slices = 16;
    s->gamma = 3.0;
    s->beta_rel = 1.0;
    s->T = 10.0;
}

void qnn_anet_opts_defaults(qnn_anet_opts *o) {
    memset(o, 0, sizeof *o);
    qnn_anet_sampler_defaults(&o->free_s);
    qnn_anet_sampler_defaults(&o->nudged_s);
    o->settle = 2;
}

static int check_sampler(const qnn_anet_sampler *s, const char *which, qnn_error *err) {
    if (s->kind < QNN_ANET_SA || s->kind > QNN_ANET_GROVER)
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: unknown kind %d", which, s->kind);
    if (s->reads < 1 || s->reads > (1 << 20))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: reads %d outside [1, 2^20]", which,
                             s->reads);
    if (s->kind != QNN_ANET_GROVER && (s->sweeps < 1 || s->sweeps > (1 << 26)))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: sweeps/steps %d outside [1, 2^26]",
                             which, s->sweeps);
    if (s->kind == QNN_ANET_SA && s->betas)
        for (int k = 0; k < s->sweeps; k++)
            if (!(s->betas[k] >= 0) || !isfinite(s->betas[k]))
                return qnn_error_set(err, QNN_EINVAL, "%s sampler: beta[%d] = %g (must be finite "
                                     "and >= 0)", which, k + 1, s->betas[k]);
    if ((s->kind == QNN_ANET_SQA || s->kind == QNN_ANET_EXACT) && (s->A || s->B))
        for (int k = 0; k < s->sweeps; k++) {
            double a = s->A ? s->A[k] : 0, b = s->B ? s->B[k] : 0;
            if (!(a >= 0) || !(b >= 0) || !isfinite(a) || !isfinite(b))
                return qnn_error_set(err, QNN_EINVAL, "%s sampler: schedule A/B[%d] must be "
                                     "finite and >= 0", which, k + 1);
        }
    if (!(s->beta_hot >= 0) || !(s->beta_cold >= 0) || !isfinite(s->beta_hot) ||
        !isfinite(s->beta_cold))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: beta_range must be finite >= 0", which);
    if (s->kind == QNN_ANET_SQA &&
        (s->slices < 2 || !(s->gamma >= 0) || !isfinite(s->gamma) || !(s->beta_rel > 0) ||
         !isfinite(s->beta_rel)))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: sqa needs slices >= 2, gamma >= 0, "
                             "beta > 0 (finite)", which);
    if (s->kind == QNN_ANET_EXACT && (!(s->T >= 0) || !isfinite(s->T)))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: T must be finite and >= 0", which);
    if (s->kind == QNN_ANET_GROVER &&
        ((s->lambda != 0 && !(s->lambda > 1)) || !(s->budget >= 0) || !isfinite(s->budget) ||
         !isfinite(s->lambda)))
        return qnn_error_set(err, QNN_EINVAL, "%s sampler: grover lambda must be 0 or > 1, "
                             "budget >= 0", which);
    return QNN_OK;
}

static int check_blocks(const qnn_anet *net, const int *blocks, const int *boff, int nblocks,
                        qnn_error *err) {
    for (int b = 0; b < nblocks; b++) {
        if (boff[b + 1] <= boff[b]) return qnn_error_set(err, QNN_EINVAL, "block %d is empty", b + 1);
        for (int k = boff[b]; k < boff[b + 1]; k++)
            if (blocks[k] < 0 || blocks[k] >= net->nspins)
                return qnn_error_set(err, QNN_ERANGE, "block %d: spin %d outside [1, %d]", b + 1,
                                     blocks[k] + 1, net->nspins);
    }
    return QNN_OK;
}

int qnn_anet_check_opts(const qnn_anet *net, const qnn_anet_opts *o, qnn_error *err) {
    if (o->ncblocks < 0 || (o->ncblocks > 0 && (!o->cblocks || !o->cboff)))
        return qnn_error_set(err, QNN_EINVAL, "coordinate blocks missing");
    if (o->ncblocks > 0) {
        if (o->cpasses < 1 || o->cpasses > 1000)
            return qnn_error_set(err, QNN_EINVAL, "coordinate passes %d outside [1, 1000]", o->cpasses);
        int rc = check_blocks(net, o->cblocks, o->cboff, o->ncblocks, err);
        if (rc) return rc;
    }
    int rc = check_sampler(&o->free_s, "free", err);
    if (!rc) rc = check_sampler(&o->nudged_s, "nudged", err);
    if (rc) return rc;
    if (!(o->nudge >= 0) || !isfinite(o->nudge))
        return qnn_error_set(err, QNN_EINVAL, "nudge must be 0 (strong) or finite > 0, got %g",
                             o->nudge);
    if (o->weighting != QNN_ANET_WEIGHT_COUNTS && o->weighting != QNN_ANET_WEIGHT_LOWEST)
        return qnn_error_set(err, QNN_EINVAL, "unknown weighting %d", o->weighting);
    if (o->settle < 0 || o->settle > 1000)
        return qnn_error_set(err, QNN_EINVAL, "settle %d outside [0, 1000]", o->settle);
    if (!(o->l2 >= 0) || !isfinite(o->l2))
        return qnn_error_set(err, QNN_EINVAL, "l2 must be finite and >= 0, got %g", o->l2);
    return QNN_OK;
}

/* ---------------- fields and energies ---------------- */
/* u1[p] = sum_i J0[i][p] x_i */
static void input_fields(const qnn_anet *net, const double *x, double *u1) {
    int n0 = net->sizes[0], n1 = net->sizes[1];
    const double *J = Jp(net, 0);
    for (int p = 0; p < n1; p++) u1[p] = 0;
    for (int i = 0; i < n0; i++) {
        double xi = x[i];
        if (xi == 0) continue;
        const double *row = J + (size_t)i * n1;
        for (int p = 0; p < n1; p++) u1[p] += row[p] * xi;
    }
}

/* local field of spin g in state s (neighbours with skip[b] >= 0 left out if skip != NULL) */
static double local_field(const qnn_anet *net, const double *u1, const int8_t *s, int g,
                          const int *skip) {
    int l = net->layer_of[g], p = g - net->off[l], L = net->nlayers;
    double f = Hp(net)[g];
    if (l == 1) f += u1[p];
    else {
        int nl = net->sizes[l], nb = net->sizes[l - 1], ob = net->off[l - 1];
        const double *J = Jp(net, l - 1) + p;
        for (int i = 0; i < nb; i++)
            if (!skip || skip[ob + i] < 0) f += J[(size_t)i * nl] * s[ob + i];
    }
    if (l + 1 < L) {
        int na = net->sizes[l + 1], oa = net->off[l + 1];
        const double *J = Jp(net, l) + (size_t)p * na;
        for (int j = 0; j < na; j++)
            if (!skip || skip[oa + j] < 0) f += J[j] * s[oa + j];
    }
    return f;
}

static inline int8_t neg_sgn(double f) { return f > 0 ? -1 : 1; }

static void feedforward_u(const qnn_anet *net, const double *u1, int8_t *s, double *scores) {
    int L = net->nlayers;
    const double *h = Hp(net);
    for (int l = 1; l < L; l++) {
        int nl = net->sizes[l], o = net->off[l];
        for (int p = 0; p < nl; p++) {
            double f = h[o + p];
            if (l == 1) f += u1[p];
            else {
                int nb = net->sizes[l - 1], ob = net->off[l - 1];
                const double *J = Jp(net, l - 1) + p;
                for (int i = 0; i < nb; i++) f += J[(size_t)i * nl] * s[ob + i];
            }
            s[o + p] = neg_sgn(f);
            if (l == L - 1 && scores) scores[p] = -f;
        }
    }
}

static int argmax(const double *v, int n) {
    int b = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[b]) b = k;
    return b;
}

int qnn_anet_feedforward(const qnn_anet *net, const double *x, int8_t *state, double *scores) {
    double *u1 = malloc((size_t)net->sizes[1] * sizeof *u1);
    int8_t *s = state ? state : malloc((size_t)net->nspins);
    double *sc = malloc((size_t)nout(net) * sizeof *sc);
    int cls = -1;
    if (u1 && s && sc) {
        input_fields(net, x, u1);
        feedforward_u(net, u1, s, sc);
        if (scores) memcpy(scores, sc, (size_t)nout(net) * sizeof *sc);
        cls = argmax(sc, nout(net));
    }
    free(u1);
    if (!state) free(s);
    free(sc);
    return cls;
}

static double energy_u(const qnn_anet *net, const double *u1, const int8_t *s) {
    const double *h = Hp(net);
    double E = 0;
    for (int g = 0; g < net->nspins; g++) E += h[g] * s[g];
    for (int p = 0; p < net->sizes[1]; p++) E += u1[p] * s[net->off[1] + p];
    for (int l = 1; l + 1 < net->nlayers; l++) {
        int nl = net->sizes[l], na = net->sizes[l + 1];
        const double *J = Jp(net, l);
        const int8_t *sl = s + net->off[l], *sa = s + net->off[l + 1];
        for (int i = 0; i < nl; i++) {
            double a = 0;
            const double *row = J + (size_t)i * na;
            for (int j = 0; j < na; j++) a += row[j] * sa[j];
            E += sl[i] * a;
        }
    }
    return E;
}

int qnn_anet_energy(const qnn_anet *net, const double *x, const int8_t *s, double *E,
                    qnn_error *err) {
    for (int g = 0; g < net->nspins; g++)
        if (s[g] != 1 && s[g] != -1)
            return qnn_error_set(err, QNN_EINVAL, "spin %d must be -1 or +1", g + 1);
    for (int i = 0; i < net->sizes[0]; i++)
        if (!isfinite(x[i]))
            return qnn_error_set(err, QNN_EINVAL, "input %d is not finite", i + 1);
    double *u1 = malloc((size_t)net->sizes[1] * sizeof *u1);
    if (!u1) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    input_fields(net, x, u1);
    *E = energy_u(net, u1, s);
    free(u1);
    return QNN_OK;
}

/* class of a full state: argmax_k (s_k - 1e-6 * tanh(field_k)) over the outputs */
static int state_class(const qnn_anet *net, const double *u1, const int8_t *s) {
    int no = nout(net), o = out0(net), b = 0;
    double best = -INFINITY;
    for (int k = 0; k < no; k++) {
        double v = s[o + k] - 1e-6 * tanh(local_field(net, u1, s, o + k, NULL));
        if (v > best) {
            best = v;
            b = k;
        }
    }
    return b;
}

/* ---------------- sub-models ---------------- */
/* loc: nspins work array, -1 on return. Fills h_out (nsub) and edges; nudge fields use label. */
static int sub_build(const qnn_anet *net, const double *u1, const int8_t *env, const int *sub,
                     int nsub, int label, double nudge, int *loc, double *h_out, int *ei,
                     int *ej, double *w, size_t cap, size_t *ne, qnn_error *err) {
    int rc = QNN_OK;
    for (int k = 0; k < nsub; k++) loc[sub[k]] = k;
    int L = net->nlayers, o = out0(net);
    size_t cnt = 0;
    for (int k = 0; k < nsub && !rc; k++) {
        int g = sub[k];
        h_out[k] = local_field(net, u1, env, g, loc);
        if (label >= 0 && nudge > 0 && g >= o) h_out[k] -= nudge * (g - o == label ? 1.0 : -1.0);
        int l = net->layer_of[g];
        if (l + 1 >= L) continue;
        int p = g - net->off[l], na = net->sizes[l + 1], oa = net->off[l + 1];
        const double *J = Jp(net, l) + (size_t)p * na;
        for (int j = 0; j < na; j++) {
            int b = loc[oa + j];
            if (b < 0 || J[j] == 0.0) continue;
            if (cnt >= cap) {
                rc = qnn_error_set(err, QNN_ERANGE, "edge buffer of %zu entries too small", cap);
                break;
            }
            ei[cnt] = k < b ? k : b;
            ej[cnt] = k < b ? b : k;
            w[cnt] = J[j];
            cnt++;
        }
    }
    for (int k = 0; k < nsub; k++) loc[sub[k]] = -1;
    *ne = cnt;
    return rc;
}

int qnn_anet_submodel(const qnn_anet *net, const double *x, const int8_t *env, const int *sub,
                      int nsub, int label, double nudge, double *h_out, int *ei, int *ej,
                      double *w, size_t cap, size_t *ne, double *offset_out, qnn_error *err) {
    *ne = 0;
    if (nsub < 0 || nsub > net->nspins)
        return qnn_error_set(err, QNN_EINVAL, "block size %d outside [0, %d]", nsub, net->nspins);
    if (label >= nout(net))
        return qnn_error_set(err, QNN_EINVAL, "label %d outside [1, %d]", label + 1, nout(net));
    if (!(nudge >= 0) || !isfinite(nudge))
        return qnn_error_set(err, QNN_EINVAL, "nudge must be finite and >= 0");
    for (int g = 0; g < net->nspins; g++)
        if (env[g] != 1 && env[g] != -1)
            return qnn_error_set(err, QNN_EINVAL, "environment spin %d must be -1 or +1", g + 1);
    for (int i = 0; i < net->sizes[0]; i++)
        if (!isfinite(x[i])) return qnn_error_set(err, QNN_EINVAL, "input %d is not finite", i + 1);
    int *loc = malloc((size_t)net->nspins * sizeof *loc);
    double *u1 = malloc((size_t)net->sizes[1] * sizeof *u1);
    if (!loc || !u1) {
        free(loc);
        free(u1);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (int g = 0; g < net->nspins; g++) loc[g] = -1;
    int rc = QNN_OK;
    for (int k = 0; k < nsub && !rc; k++) {
        if (sub[k] < 0 || sub[k] >= net->nspins)
            rc = qnn_error_set(err, QNN_ERANGE, "block spin %d outside [1, %d]", sub[k] + 1,
                               net->nspins);
        else if (loc[sub[k]] >= 0)
            rc = qnn_error_set(err, QNN_EINVAL, "block spin %d listed twice", sub[k] + 1);
        else loc[sub[k]] = k;
    }
    for (int g = 0; g < net->nspins; g++) loc[g] = -1;
    if (!rc) {
        input_fields(net, x, u1);
        rc = sub_build(net, u1, env, sub, nsub, label, nudge, loc, h_out, ei, ej, w, cap, ne,
                       err);
    }
    if (!rc && offset_out) {
        /* E(x, env) minus the block's part at env's values */
        double Es = 0;
        for (int k = 0; k < nsub; k++) {
            double hk = h_out[k];
            int g = sub[k];
            if (label >= 0 && nudge > 0 && g >= out0(net))
                hk += nudge * (g - out0(net) == label ? 1.0 : -1.0);
            Es += hk * env[g];
        }
        for (size_t e = 0; e < *ne; e++) Es += w[e] * env[sub[ei[e]]] * env[sub[ej[e]]];
        *offset_out = energy_u(net, u1, env) - Es;
    }
    free(loc);
    free(u1);
    return rc;
}

/* ---------------- workspace ---------------- */
typedef struct ws {
    double *u1, *ffsc, *hsub, *ew, *E, *wt, *betas, *G, *B, *P, *Ev, *grad, *outmean;
    int8_t *ff, *envf, *envn, *st, *S, *best;
    int *loc, *F, *ei, *ej, *perm;
    size_t cap, permcap;
    int maxreads, maxsweeps;
} ws;

static void ws_free(ws *w) {
    free(w->u1); free(w->ffsc); free(w->hsub); free(w->ew); free(w->E); free(w->wt);
    free(w->betas); free(w->G); free(w->B); free(w->P); free(w->Ev); free(w->grad);
    free(w->outmean); free(w->ff); free(w->envf); free(w->envn); free(w->st); free(w->S);
    free(w->best); free(w->loc); free(w->F); free(w->ei); free(w->ej); free(w->perm);
    memset(w, 0, sizeof *w);
}

static size_t edge_cap(const qnn_anet *net) {
    size_t c = 0;
    for (int l = 1; l + 1 < net->nlayers; l++) c += (size_t)net->sizes[l] * net->sizes[l + 1];
    return c + 1;
}

static int ws_alloc(ws *w, const qnn_anet *net, const qnn_anet_sampler *a,
                    const qnn_anet_sampler *b, int need_grad, qnn_error *err) {
    memset(w, 0, sizeof *w);
    int ns = net->nspins, no = nout(net);
    int mr = a->reads, msw = a->sweeps;
    int quantum = a->kind == QNN_ANET_EXACT || a->kind == QNN_ANET_GROVER;
    if (b) {
        if (b->reads > mr) mr = b->reads;
        if (b->sweeps > msw) msw = b->sweeps;
        quantum |= b->kind == QNN_ANET_EXACT || b->kind == QNN_ANET_GROVER;
    }
    if (msw < 1) msw = 1;
    size_t sbytes;
    if (qnn_mul_size((size_t)mr, (size_t)ns + 1, &sbytes) || sbytes > qnn_max_bytes())
        return qnn_error_set(err, QNN_ENOMEM, "%d reads x %d spins exceed the memory limit", mr, ns);
    w->maxreads = mr;
    w->maxsweeps = msw;
    w->cap = edge_cap(net);
    w->u1 = malloc((size_t)net->sizes[1] * sizeof(double));
    w->ffsc = malloc((size_t)no * sizeof(double));
    w->outmean = malloc((size_t)no * sizeof(double));
    w->hsub = malloc((size_t)ns * sizeof(double));
    w->ew = malloc(w->cap * sizeof(double));
    w->ei = malloc(w->cap * sizeof(int));
    w->ej = malloc(w->cap * sizeof(int));
    w->E = malloc((size_t)mr * sizeof(double));
    w->wt = malloc((size_t)mr * sizeof(double));
    w->betas = malloc((size_t)msw * sizeof(double));
    w->G = malloc((size_t)msw * sizeof(double));
    w->B = malloc((size_t)msw * sizeof(double));
    if (quantum) {
        w->P = malloc(((size_t)1 << QNN_ANET_MAX_BLOCK) * sizeof(double));
        w->Ev = malloc(((size_t)1 << QNN_ANET_MAX_BLOCK) * sizeof(double));
    }
    if (need_grad) w->grad = calloc(net->nparams, sizeof(double));
    w->ff = malloc((size_t)ns);
    w->envf = malloc((size_t)ns);
    w->envn = malloc((size_t)ns);
    w->st = malloc((size_t)ns);
    w->best = malloc((size_t)ns);
    w->S = malloc(sbytes);
    w->loc = malloc((size_t)ns * sizeof(int));
    w->F = malloc((size_t)ns * sizeof(int));
    w->perm = NULL;
    if (!w->u1 || !w->ffsc || !w->outmean || !w->hsub || !w->ew || !w->ei || !w->ej || !w->E ||
        !w->wt || !w->betas || !w->G || !w->B || (quantum && (!w->P || !w->Ev)) ||
        (need_grad && !w->grad) || !w->ff || !w->envf || !w->envn || !w->st || !w->best ||
        !w->S || !w->loc || !w->F) {
        ws_free(w);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory for the training workspace");
    }
    for (int g = 0; g < ns; g++) w->loc[g] = -1;
    return QNN_OK;
}

/* ---------------- one anneal of the spins F with the rest clamped to env ---------------- */
/* Leaves reads in w->S (nreads x nF), sub-model energies in w->E, weights in w->wt. */
static int run_phase(const qnn_anet *net, const qnn_anet_sampler *cfg, int weighting, ws *w,
                     const int8_t *env, const int *F, int nF, int label, double nudge,
                     qnn_rng *rng, qnn_anet_stats *st, int *nreads, qnn_error *err) {
    if (nF == 0) {
        *nreads = 1;
        w->E[0] = 0;
        w->wt[0] = 1;
        return QNN_OK;
    }
    if ((cfg->kind == QNN_ANET_EXACT || cfg->kind == QNN_ANET_GROVER) && nF > QNN_ANET_MAX_BLOCK)
        return qnn_error_set(err, QNN_EINVAL, "the %s sampler anneals at most %d spins at a time, "
                             "this phase has %d free spins (use an active block: block <= %d)",
                             cfg->kind == QNN_ANET_EXACT ? "exact" : "grover", QNN_ANET_MAX_BLOCK,
                             nF, QNN_ANET_MAX_BLOCK);
    size_t ne = 0;
    int rc = sub_build(net, w->u1, env, F, nF, label, nudge, w->loc, w->hsub, w->ei, w->ej, w->ew,
                       w->cap, &ne, err);
    if (rc) return rc;
    if (cfg->control_noise > 0) {
        /* analogue control error: every programmed coefficient gets Gaussian noise of
         * standard deviation control_noise * rms(nonzero coefficients), from its own stream */
        double ss = 0;
        size_t nz = 0;
        for (int k = 0; k < nF; k++)
            if (w->hsub[k] != 0.0) { ss += w->hsub[k] * w->hsub[k]; nz++; }
        for (size_t e = 0; e < ne; e++)
            if (w->ew[e] != 0.0) { ss += w->ew[e] * w->ew[e]; nz++; }
        double sd = nz ? cfg->control_noise * sqrt(ss / (double)nz) : 0.0;
        qnn_rng nz_rng;
        qnn_rng_split(rng, 0x6e01, &nz_rng);
        for (int k = 0; k < nF; k++) w->hsub[k] += sd * qnn_rng_normal(&nz_rng);
        for (size_t e = 0; e < ne; e++) w->ew[e] += sd * qnn_rng_normal(&nz_rng);
    }
    qnn_ising *m = NULL;
    rc = qnn_ising_new(&m, nF, err);
    for (int k = 0; !rc && k < nF; k++)
        if (w->hsub[k] != 0.0) rc = qnn_ising_add_field(m, k, w->hsub[k], err);
    for (size_t e = 0; !rc && e < ne; e++) rc = qnn_ising_add_coupling(m, w->ei[e], w->ej[e], w->ew[e], err);
    if (!rc) rc = qnn_ising_prepare(m, err);
    if (rc) {
        qnn_ising_free(m);
        return rc;
    }
    qnn_rng child;
    qnn_rng_split(rng, 0x5a17, &child);
    int R = cfg->reads, K = cfg->sweeps;
    qnn_ising_stats ist;
    memset(&ist, 0, sizeof ist);
    st->sampler_calls += 1;
    st->spins += nF;
    switch (cfg->kind) {
    case QNN_ANET_SA: {
        const double *betas = cfg->betas;
        if (!betas) {
            double dmin, dmax;
            qnn_ising_delta_range(m, &dmin, &dmax);
            double b0 = cfg->beta_hot > 0 ? cfg->beta_hot : (dmax > 0 ? log(2.0) / dmax : 1.0);
            double lo = dmin > 1e-3 * dmax ? dmin : 1e-3 * dmax;
            double b1 = cfg->beta_cold > 0 ? cfg->beta_cold : (lo > 0 ? log(100.0) / lo : 1.0);
            if (b1 < b0) b1 = b0;
            for (int k = 0; k < K; k++)
                w->betas[k] = K > 1 ? b0 * pow(b1 / b0, (double)k / (K - 1)) : b1;
            betas = w->betas;
        }
        rc = qnn_ising_sa(m, betas, K, R, &child, NULL, w->S, w->E, &ist, NULL, err);
        st->sweeps += (double)K * R;
        st->flip_attempts += ist.flip_attempts;
        break;
    }
    case QNN_ANET_SQA: {
        double scale = qnn_ising_scale(m);
        for (int k = 0; k < K; k++) {
            double t = K > 1 ? (double)k / (K - 1) : 1.0;
            double a = cfg->A ? cfg->A[k] : 1.0 - t, b = cfg->B ? cfg->B[k] : t;
            w->G[k] = cfg->gamma * scale * a;
            w->B[k] = b;
        }
        double beta = cfg->beta_rel * cfg->slices / scale;
        rc = qnn_ising_sqa(m, w->G, w->B, K, cfg->slices, beta, R,
                           cfg->best_of_slices ? QNN_SQA_READOUT_BEST : QNN_SQA_READOUT_LAST, &child,
                           NULL, w->S, w->E, &ist, NULL, err);
        st->sweeps += (double)K * R;
        st->flip_attempts += ist.flip_attempts + ist.global_attempts;
        break;
    }
    case QNN_ANET_EXACT: {
        double scale = qnn_ising_scale(m);
        for (int k = 0; k < K; k++) {
            double t = ((double)k + 0.5) / K;
            w->G[k] = cfg->A ? cfg->A[k] : 1.0 - t;
            w->B[k] = (cfg->B ? cfg->B[k] : t) / scale;
        }
        size_t N = (size_t)1 << nF;
        rc = qnn_ising_exact_anneal(m, w->G, w->B, K, cfg->T, -1, w->P, w->Ev, NULL, err);
        if (rc) break;
        double acc = 0;
        for (size_t x = 0; x < N; x++) w->P[x] = (acc += w->P[x]);
        for (int r = 0; r < R; r++) {
            double u = qnn_rng_uniform(&child) * acc;
            size_t lo = 0, hi = N - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (w->P[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            int8_t *s = w->S + (size_t)r * nF;
            for (int q = 0; q < nF; q++) s[q] = (lo >> q) & 1 ? -1 : 1;
            w->E[r] = w->Ev[lo];
        }
        st->exact_steps += K;
        st->sweeps += K;
        break;
    }
    default: {
        size_t N = (size_t)1 << nF;
        rc = qnn_ising_energies(m, w->Ev, NULL, err);
        qnn_grover_min_opts go;
        memset(&go, 0, sizeof go);
        go.n = nF;
        go.lambda = cfg->lambda;
        go.budget = cfg->budget;
        for (int r = 0; !rc && r < R; r++) {
            qnn_grover_min_result res;
            memset(&res, 0, sizeof res);
            qnn_rng c2;
            qnn_rng_split(&child, (uint64_t)r, &c2);
            rc = qnn_grover_minimum(w->Ev, N, &go, NULL, &c2, &res, err);
            if (rc) break;
            int8_t *s = w->S + (size_t)r * nF;
            for (int q = 0; q < nF; q++) s[q] = (res.index >> q) & 1 ? -1 : 1;
            w->E[r] = w->Ev[res.index];
            st->queries += (double)res.queries;
        }
        break;
    }
    }
    qnn_ising_free(m);
    if (rc) return rc;
    /* weights */
    double emin = INFINITY;
    for (int r = 0; r < R; r++)
        if (w->E[r] < emin) emin = w->E[r];
    if (weighting == QNN_ANET_WEIGHT_LOWEST) {
        double tol = 1e-12 * (fabs(emin) > 1 ? fabs(emin) : 1), cnt = 0;
        for (int r = 0; r < R; r++) cnt += w->E[r] <= emin + tol;
        for (int r = 0; r < R; r++) w->wt[r] = w->E[r] <= emin + tol ? 1.0 / cnt : 0.0;
    } else {
        for (int r = 0; r < R; r++) w->wt[r] = 1.0 / R;
    }
    *nreads = R;
    return QNN_OK;
}

/* index of the lowest-energy read (first among ties) */
static int best_read(const ws *w, int R) {
    int b = 0;
    for (int r = 1; r < R; r++)
        if (w->E[r] < w->E[b]) b = r;
    return b;
}

/* full state of read r: env with F replaced */
static void full_state(const ws *w, const int8_t *env, const int *F, int nF, int r, int ns,
                       int8_t *out) {
    memcpy(out, env, (size_t)ns);
    const int8_t *s = w->S + (size_t)r * nF;
    for (int k = 0; k < nF; k++) out[F[k]] = s[k];
}

/* grad += c * d E / d params at (x, s), restricted to parameters incident to an active spin */
static void accum(const qnn_anet *net, const double *x, const int8_t *s,
                  const unsigned char *act, double c, double *grad) {
    int L = net->nlayers, n0 = net->sizes[0], n1 = net->sizes[1], o1 = net->off[1];
    double *g0 = grad + net->wofs[0];
    for (int p = 0; p < n1; p++) {
        if (act && !act[o1 + p]) continue;
        double v = c * s[o1 + p];
        for (int i = 0; i < n0; i++) g0[(size_t)i * n1 + p] += v * x[i];
    }
    for (int l = 1; l + 1 < L; l++) {
        int nl = net->sizes[l], na = net->sizes[l + 1], ol = net->off[l], oa = net->off[l + 1];
        double *gl = grad + net->wofs[l];
        for (int i = 0; i < nl; i++) {
            double v = c * s[ol + i];
            double *row = gl + (size_t)i * na;
            if (!act || act[ol + i]) {
                for (int j = 0; j < na; j++) row[j] += v * s[oa + j];
            } else {
                for (int j = 0; j < na; j++)
                    if (act[oa + j]) row[j] += v * s[oa + j];
            }
        }
    }
    double *gh = grad + net->nJ;
    for (int g = 0; g < net->nspins; g++)
        if (!act || act[g]) gh[g] += c * s[g];
}

/* zero-temperature relaxation: `passes` sequential passes over spins g with !fixed(g) */
static void settle(const qnn_anet *net, const double *u1, int8_t *s, int passes, int label,
                   double nudge, int clamp_out, qnn_anet_stats *st) {
    int o = out0(net);
    int last = clamp_out ? o : net->nspins;
    for (int ps = 0; ps < passes; ps++) {
        int changed = 0;
        for (int g = 0; g < last; g++) {
            double f = local_field(net, u1, s, g, NULL);
            if (label >= 0 && nudge > 0 && g >= o) f -= nudge * (g - o == label ? 1.0 : -1.0);
            int8_t v = f > 0 ? -1 : (f < 0 ? 1 : s[g]);
            if (v != s[g]) {
                s[g] = v;
                changed = 1;
            }
        }
        st->settle_attempts += last;
        if (!changed) break;
    }
}

static int check_x(const qnn_anet *net, const double *x, size_t row, qnn_error *err) {
    for (int i = 0; i < net->sizes[0]; i++)
        if (!isfinite(x[i]))
            return qnn_error_set(err, QNN_EINVAL, "X[%zu][%d] is not finite", row + 1, i + 1);
    return QNN_OK;
}

/* block-coordinate phase: passes over the blocks, each annealed with the rest clamped to s */
static int coord_phase(const qnn_anet *net, const qnn_anet_opts *o, const qnn_anet_sampler *cfg,
                       ws *w, int8_t *s, int label, double nudge, int strong, qnn_rng *rng,
                       qnn_anet_stats *st, qnn_error *err) {
    int oo = out0(net), ns = net->nspins;
    int total = o->cboff[o->ncblocks], bs = 0;
    for (int b = 0; b < o->ncblocks; b++)
        if (o->cboff[b + 1] - o->cboff[b] > bs) bs = o->cboff[b + 1] - o->cboff[b];
    if (o->crandom && w->permcap < (size_t)total) {
        int *p = realloc(w->perm, (size_t)total * sizeof *p);
        if (!p) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        w->perm = p;
        w->permcap = (size_t)total;
    }
    int *perm = w->perm;
    for (int ps = 0; ps < o->cpasses; ps++) {
        if (o->crandom) {
            memcpy(perm, o->cblocks, (size_t)total * sizeof *perm);
            for (int i = total - 1; i > 0; i--) {
                int j = (int)qnn_rng_below(rng, (uint64_t)i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        }
        int nb = o->crandom ? (total + bs - 1) / bs : o->ncblocks;
        for (int bb = 0; bb < nb; bb++) {
            /* the nudged phase visits the blocks in reverse order (top-down: the nudge on the
             * outputs reaches every layer in one pass) */
            int b = label >= 0 ? nb - 1 - bb : bb;
            int nF = 0;
            int lo = o->crandom ? b * bs : o->cboff[b];
            int hi = o->crandom ? (lo + bs < total ? lo + bs : total) : o->cboff[b + 1];
            const int *src = o->crandom ? perm : o->cblocks;
            for (int k = lo; k < hi; k++)
                if (!(strong && src[k] >= oo)) w->F[nF++] = src[k];
            if (nF == 0) continue;
            int R = 0;
            int rc = run_phase(net, cfg, QNN_ANET_WEIGHT_LOWEST, w, s, w->F, nF, label, nudge, rng,
                               st, &R, err);
            if (rc) return rc;
            int pick = o->cpick ? (int)qnn_rng_below(rng, (uint64_t)R) : best_read(w, R);
            full_state(w, s, w->F, nF, pick, ns, w->st);
            memcpy(s, w->st, (size_t)ns);
        }
    }
    return QNN_OK;
}

static int train_sample_coord(const qnn_anet *net, const qnn_anet_opts *o, ws *w, const double *x,
                              int label, const unsigned char *act, int full, qnn_rng *rng,
                              qnn_anet_stats *st, qnn_error *err) {
    int ns = net->nspins, oo = out0(net), no = nout(net);
    int strong = !(o->nudge > 0);
    memcpy(w->envf, w->ff, (size_t)ns);
    int rc = coord_phase(net, o, &o->free_s, w, w->envf, -1, 0, 0, rng, st, err);
    if (rc) return rc;
    accum(net, x, w->envf, full ? NULL : act, -1.0, w->grad);
    if (state_class(net, w->u1, w->envf) != label) st->free_errors += 1;
    double Ef = energy_u(net, w->u1, w->envf);
    memcpy(w->envn, w->envf, (size_t)ns);
    if (strong)
        for (int k = 0; k < no; k++) w->envn[oo + k] = k == label ? 1 : -1;
    rc = coord_phase(net, o, &o->nudged_s, w, w->envn, label, o->nudge, strong, rng, st, err);
    if (rc) return rc;
    accum(net, x, w->envn, full ? NULL : act, 1.0, w->grad);
    st->gap += energy_u(net, w->u1, w->envn) - Ef;
    st->samples += 1;
    return QNN_OK;
}

/* one training sample: both phases, gradient accumulated into w->grad */
static int train_sample(const qnn_anet *net, const qnn_anet_opts *o, ws *w, const double *x,
                        int label, const unsigned char *act, int nact, qnn_rng *rng,
                        qnn_anet_stats *st, qnn_error *err) {
    int ns = net->nspins, oo = out0(net), no = nout(net);
    int full = act == NULL || nact == ns;
    input_fields(net, x, w->u1);
    feedforward_u(net, w->u1, w->ff, w->ffsc);
    if (o->ncblocks > 0) return train_sample_coord(net, o, w, x, label, act, full, rng, st, err);
    /* ---- free phase ---- */
    memcpy(w->envf, w->ff, (size_t)ns);
    if (!full) settle(net, w->u1, w->envf, o->settle, -1, 0, 0, st);
    int nF = 0;
    for (int g = 0; g < ns; g++)
        if (full || act[g]) w->F[nF++] = g;
    int R = 0;
    int rc = run_phase(net, &o->free_s, o->weighting, w, w->envf, w->F, nF, -1, 0, rng, st, &R,
                       err);
    if (rc) return rc;
    int b = best_read(w, R);
    for (int r = 0; r < R; r++) {
        if (w->wt[r] == 0) continue;
        full_state(w, w->envf, w->F, nF, r, ns, w->st);
        accum(net, x, w->st, full ? NULL : act, -w->wt[r], w->grad);
    }
    full_state(w, w->envf, w->F, nF, b, ns, w->best);
    if (state_class(net, w->u1, w->best) != label) st->free_errors += 1;
    double Ef = energy_u(net, w->u1, w->best);
    /* ---- nudged phase ---- */
    int strong = !(o->nudge > 0);
    memcpy(w->envn, w->envf, (size_t)ns);
    if (strong)
        for (int k = 0; k < no; k++) w->envn[oo + k] = k == label ? 1 : -1;
    if (!full) settle(net, w->u1, w->envn, o->settle, label, o->nudge, strong, st);
    nF = 0;
    for (int g = 0; g < ns; g++)
        if ((full || act[g]) && !(strong && g >= oo)) w->F[nF++] = g;
    rc = run_phase(net, &o->nudged_s, o->weighting, w, w->envn, w->F, nF, label, o->nudge, rng,
                   st, &R, err);
    if (rc) return rc;
    b = best_read(w, R);
    for (int r = 0; r < R; r++) {
        if (w->wt[r] == 0) continue;
        full_state(w, w->envn, w->F, nF, r, ns, w->st);
        accum(net, x, w->st, full ? NULL : act, w->wt[r], w->grad);
    }
    full_state(w, w->envn, w->F, nF, b, ns, w->best);
    st->gap += energy_u(net, w->u1, w->best) - Ef;
    st->samples += 1;
    return QNN_OK;
}

/* params -= eta/nb * grad (+ l2) on the parameters incident to the active set; grad zeroed */
static void apply_update(qnn_anet *net, const qnn_anet_opts *o, double *grad, size_t nb,
                         double eta, const unsigned char *act) {
    double c = eta / (double)nb, d = eta * o->l2;
    int L = net->nlayers;
    for (int l = 0; l + 1 < L; l++) {
        int nl = net->sizes[l], na = net->sizes[l + 1], oa = net->off[l + 1];
        int ol = l >= 1 ? net->off[l] : 0;
        double *J = Jp(net, l), *G = grad + net->wofs[l];
        for (int i = 0; i < nl; i++)
            for (int j = 0; j < na; j++) {
                int on = !act || act[oa + j] || (l >= 1 && act[ol + i]);
                if (!on) continue;
                size_t k = (size_t)i * na + j;
                J[k] -= c * G[k] + d * J[k];
            }
    }
    double *h = Hp(net), *G = grad + net->nJ;
    for (int g = 0; g < net->nspins; g++)
        if (!act || act[g]) h[g] -= c * G[g];
    memset(grad, 0, net->nparams * sizeof(double));
}

static int check_batch_args(const qnn_anet *net, const qnn_anet_opts *o, const int *labels,
                            size_t n, double eta, qnn_error *err) {
    int rc = qnn_anet_check_opts(net, o, err);
    if (rc) return rc;
    if (!(eta >= 0) || !isfinite(eta))
        return qnn_error_set(err, QNN_EINVAL, "learning rate eta must be finite and >= 0, got %g",
                             eta);
    for (size_t k = 0; k < n; k++)
        if (labels[k] < 0 || labels[k] >= nout(net))
            return qnn_error_set(err, QNN_EINVAL, "label %d of sample %zu outside [1, %d]",
                                 labels[k] + 1, k + 1, nout(net));
    return QNN_OK;
}

static int batch_core(qnn_anet *net, const qnn_anet_opts *o, ws *w, const double *X, size_t ldx,
                      const int *labels, const size_t *idx, size_t nb, double eta,
                      const unsigned char *act, qnn_rng *rng, qnn_anet_stats *st,
                      const qnn_progress *p, double done0, double total, qnn_error *err) {
    int nact = 0;
    if (act)
        for (int g = 0; g < net->nspins; g++) nact += act[g] != 0;
    int rc = QNN_OK;
    for (size_t k = 0; k < nb && !rc; k++) {
        size_t r = idx[k];
        const double *x = X + r * ldx;
        rc = check_x(net, x, r, err);
        if (!rc) rc = train_sample(net, o, w, x, labels[r], act, nact, rng, st, err);
        if (!rc) {
            rc = qnn_progress_step(p, done0 + (double)k + 1, total);
            if (rc) rc = qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
        }
    }
    if (rc) {
        memset(w->grad, 0, net->nparams * sizeof(double));
        return rc;
    }
    apply_update(net, o, w->grad, nb, eta, act);
    st->updates += 1;
    return QNN_OK;
}

int qnn_anet_train_batch(qnn_anet *net, const qnn_anet_opts *o, const double *X, size_t ldx,
                         const int *labels, const size_t *idx, size_t nb, double eta,
                         const unsigned char *active, qnn_rng *rng, qnn_anet_stats *st,
                         const qnn_progress *p, qnn_error *err) {
    if (nb == 0) return qnn_error_set(err, QNN_EINVAL, "empty mini-batch");
    int rc = qnn_anet_check_opts(net, o, err);
    if (rc) return rc;
    if (!(eta >= 0) || !isfinite(eta))
        return qnn_error_set(err, QNN_EINVAL, "learning rate eta must be finite and >= 0, got %g",
                             eta);
    for (size_t k = 0; k < nb; k++)
        if (labels[idx[k]] < 0 || labels[idx[k]] >= nout(net))
            return qnn_error_set(err, QNN_EINVAL, "label %d of sample %zu outside [1, %d]",
                                 labels[idx[k]] + 1, idx[k] + 1, nout(net));
    ws w;
    rc = ws_alloc(&w, net, &o->free_s, &o->nudged_s, 1, err);
    if (rc) return rc;
    rc = batch_core(net, o, &w, X, ldx, labels, idx, nb, eta, active, rng, st, p, 0, (double)nb,
                    err);
    ws_free(&w);
    return rc;
}

int qnn_anet_train_epoch(qnn_anet *net, const qnn_anet_opts *o, const double *X, size_t ldx,
                         const int *labels, size_t n, size_t batch, int shuffle, double eta,
                         const int *blocks, const int *boff, int nblocks, int per_batch,
                         long long *cursor, qnn_rng *rng, qnn_anet_stats *st,
                         const qnn_progress *p, qnn_error *err) {
    if (per_batch < 1 || per_batch > (1 << 20))
        return qnn_error_set(err, QNN_EINVAL, "blocks per batch %d outside [1, 2^20]", per_batch);
    if (n == 0) return qnn_error_set(err, QNN_EINVAL, "no training samples");
    if (batch == 0) return qnn_error_set(err, QNN_EINVAL, "batch must be >= 1");
    int rc = check_batch_args(net, o, labels, n, eta, err);
    if (rc) return rc;
    rc = check_blocks(net, blocks, boff, nblocks, err);
    if (rc) return rc;
    ws w;
    rc = ws_alloc(&w, net, &o->free_s, &o->nudged_s, 1, err);
    if (rc) return rc;
    size_t *idx = malloc(n * sizeof *idx);
    unsigned char *act = nblocks > 0 ? calloc((size_t)net->nspins, 1) : NULL;
    if (!idx || (nblocks > 0 && !act)) {
        free(idx);
        free(act);
        ws_free(&w);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) idx[k] = k;
    if (shuffle) qnn_rng_shuffle(rng, idx, n);
    long long cur = cursor ? *cursor : 0;
    for (size_t s0 = 0; s0 < n && !rc; s0 += batch) {
        size_t nb = n - s0 < batch ? n - s0 : batch;
        int visits = act ? per_batch : 1;
        for (int v = 0; v < visits && !rc; v++) {
            if (act) {
                int b = (int)(cur % nblocks);
                memset(act, 0, (size_t)net->nspins);
                for (int k = boff[b]; k < boff[b + 1]; k++) act[blocks[k]] = 1;
                cur++;
            }
            rc = batch_core(net, o, &w, X, ldx, labels, idx + s0, nb, eta, act, rng, st, p,
                            (double)s0, (double)n, err);
        }
    }
    if (cursor) *cursor = cur;
    free(idx);
    free(act);
    ws_free(&w);
    return rc;
}

int qnn_anet_predict_anneal(const qnn_anet *net, const qnn_anet_sampler *s, const double *X,
                            size_t ldx, size_t n, const int *blocks, const int *boff,
                            int nblocks, int passes, qnn_rng *rng, double *scores, int *classes,
                            qnn_anet_stats *st, const qnn_progress *p, qnn_error *err) {
    int rc = check_sampler(s, "read-out", err);
    if (rc) return rc;
    if (passes < 1 || passes > 1000)
        return qnn_error_set(err, QNN_EINVAL, "passes %d outside [1, 1000]", passes);
    rc = check_blocks(net, blocks, boff, nblocks, err);
    if (rc) return rc;
    ws w;
    rc = ws_alloc(&w, net, s, NULL, 0, err);
    if (rc) return rc;
    int ns = net->nspins, no = nout(net), oo = out0(net);
    int nb = nblocks > 0 ? nblocks : 1;
    if (nblocks == 0) passes = 1;
    for (size_t r = 0; r < n && !rc; r++) {
        const double *x = X + r * ldx;
        rc = check_x(net, x, r, err);
        if (rc) break;
        input_fields(net, x, w.u1);
        feedforward_u(net, w.u1, w.ff, w.ffsc);
        for (int k = 0; k < no; k++) w.outmean[k] = w.ff[oo + k];
        for (int ps = 0; ps < passes && !rc; ps++)
            for (int b = 0; b < nb && !rc; b++) {
                int nF = 0, touches = 0;
                if (nblocks == 0)
                    for (int g = 0; g < ns; g++) w.F[nF++] = g;
                else
                    for (int k = boff[b]; k < boff[b + 1]; k++) w.F[nF++] = blocks[k];
                for (int k = 0; k < nF; k++) touches |= w.F[k] >= oo;
                int R = 0;
                rc = run_phase(net, s, QNN_ANET_WEIGHT_COUNTS, &w, w.ff, w.F, nF, -1, 0, rng, st,
                               &R, err);
                if (rc) break;
                if (touches) {
                    for (int k = 0; k < no; k++) w.outmean[k] = 0;
                    for (int q = 0; q < R; q++) {
                        full_state(&w, w.ff, w.F, nF, q, ns, w.st);
                        for (int k = 0; k < no; k++) w.outmean[k] += w.wt[q] * w.st[oo + k];
                    }
                }
                full_state(&w, w.ff, w.F, nF, best_read(&w, R), ns, w.best);
                memcpy(w.ff, w.best, (size_t)ns);
            }
        if (rc) break;
        double *sc = scores + r * (size_t)no;
        for (int k = 0; k < no; k++) sc[k] = w.outmean[k] + 1e-9 * w.ffsc[k];
        if (classes) classes[r] = argmax(sc, no);
        rc = qnn_progress_step(p, (double)r + 1, (double)n);
        if (rc) rc = qnn_error_set(err, rc, rc == QNN_EINTR ? "interrupted" : "stopped by callback");
    }
    ws_free(&w);
    return rc;
}
