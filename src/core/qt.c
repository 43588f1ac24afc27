/* Quantum-Train generator with a DiffQAS ensemble of candidate circuits (see qnn/qt.h). */
#include "qnn/qt.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/statevec.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct qt_cand {
    qnn_circuit *c;  /* own copy; its parameter values are set from Theta before each use */
    char *name;
    int np;          /* circuit parameters */
    int *map;        /* circuit parameter k -> Theta index */
    double *vals;    /* np values */
    double *g;       /* np gradient values of the last vjp */
} qt_cand;

#define QT_MAXL (QNN_QT_MAX_HIDDEN + 1)

struct qnn_qt {
    qnn_qt_config cfg;
    int n;
    size_t p, dim;
    size_t ntheta;   /* depth * n: one candidate's angle names */
    size_t nang;     /* angles in the trainable vector: ntheta (shared) or m * ntheta (per
                      * candidate, set by finalize; ntheta before) */
    char *tnames;    /* ntheta names of 16 chars each */
    int m, cap;
    qt_cand *c;
    int finalized;
    size_t nstruct, nmap, np;
    double *own_params, *own_grads, *params, *grads;
    /* mapping model: nl dense layers */
    int nl;
    size_t lin[QT_MAXL], lout[QT_MAXL], loff[QT_MAXL];
    double *Z[QT_MAXL], *H[QT_MAXL]; /* pre-/post-activation of hidden layers (p x width) */
    /* caches of the last generate */
    double *probs;   /* m x p candidate probabilities */
    double *P, *u, *xt, *y, *dtmp, *dtmp2;
    double *s;       /* m mixture */
    double *gs;      /* m */
    int have_fwd;
    /* output states of the last generate, one per candidate (NULL when over the budget):
     * backward then skips each candidate's forward run */
    qnn_state *fin;
    int fin_tried;   /* allocation attempted (successful or not) */
    int fin_valid;   /* fin holds the states of the last generate */
    double *theta_fwd; /* nang angles the states were computed with */
};

/* Budget for the cached output states (m x 2^n x 16 bytes); also bounded by QNN_MAX_BYTES. */
#define QT_STATE_CACHE_BYTES ((double)(1u << 30))

#define TNAME_LEN 16

void qnn_qt_config_defaults(qnn_qt_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->ntarget = 1;
    cfg->depth = 1;
    cfg->normalize = QNN_QT_SOFTMAX;
    cfg->gamma = 0.1;
    cfg->beta = 0.8;
    cfg->alpha = 0.3;
    cfg->nhidden = 0;
    cfg->activation = QNN_QT_ACT_RELU;
}

int qnn_qt_qubits_for(size_t p) {
    if (p == 0 || p > QNN_QT_MAX_WEIGHTS) return 0;
    int n = 0;
    while (((size_t)1 << n) < p) n++;
    return n < 1 ? 1 : n;
}

static int check_config(const qnn_qt_config *cfg, qnn_error *err) {
    if (cfg->ntarget == 0)
        return qnn_error_set(err, QNN_EINVAL, "target has no weights to generate");
    if (cfg->ntarget > QNN_QT_MAX_WEIGHTS)
        return qnn_error_set(err, QNN_EINVAL,
                             "target has %zu weights, more than 2^30 = %zu (30 qubits at most)",
                             cfg->ntarget, QNN_QT_MAX_WEIGHTS);
    if (cfg->depth < 1 || cfg->depth > 100000)
        return qnn_error_set(err, QNN_EINVAL, "depth must be an integer in [1, 100000], got %d",
                             cfg->depth);
    if (cfg->normalize != QNN_QT_SOFTMAX && cfg->normalize != QNN_QT_NONE)
        return qnn_error_set(err, QNN_EINVAL, "normalize must be softmax or none");
    if (!(cfg->gamma > 0) || !isfinite(cfg->gamma))
        return qnn_error_set(err, QNN_EINVAL, "gamma must be finite and > 0, got %g", cfg->gamma);
    if (!(cfg->beta > 0) || !isfinite(cfg->beta))
        return qnn_error_set(err, QNN_EINVAL, "beta must be finite and > 0, got %g", cfg->beta);
    if (!(cfg->alpha > 0) || !isfinite(cfg->alpha))
        return qnn_error_set(err, QNN_EINVAL, "alpha must be finite and > 0, got %g", cfg->alpha);
    if (cfg->nhidden < 0 || cfg->nhidden > QNN_QT_MAX_HIDDEN)
        return qnn_error_set(err, QNN_EINVAL, "mapping may have 0 to %d hidden layers, got %d",
                             QNN_QT_MAX_HIDDEN, cfg->nhidden);
    for (int i = 0; i < cfg->nhidden; i++)
        if (cfg->hidden[i] < 1 || cfg->hidden[i] > 4096)
            return qnn_error_set(err, QNN_EINVAL,
                                 "mapping hidden width %d must be in [1, 4096], got %d", i + 1,
                                 cfg->hidden[i]);
    if (cfg->activation < QNN_QT_ACT_RELU || cfg->activation > QNN_QT_ACT_SIGMOID)
        return qnn_error_set(err, QNN_EINVAL, "unknown mapping activation");
    if (cfg->angles != QNN_QT_ANGLES_SHARED && cfg->angles != QNN_QT_ANGLES_PER_CANDIDATE)
        return qnn_error_set(err, QNN_EINVAL, "angles must be shared or per_candidate, got %d",
                             cfg->angles);
    return QNN_OK;
}

int qnn_qt_new(qnn_qt **out, const qnn_qt_config *cfg, qnn_error *err) {
    *out = NULL;
    int st = check_config(cfg, err);
    if (st) return st;
    qnn_qt *qt = (qnn_qt *)calloc(1, sizeof *qt);
    if (!qt) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    qt->cfg = *cfg;
    qt->p = cfg->ntarget;
    qt->n = qnn_qt_qubits_for(qt->p);
    qt->dim = (size_t)1 << qt->n;
    qt->ntheta = (size_t)cfg->depth * (size_t)qt->n;
    qt->nang = qt->ntheta;
    qt->tnames = (char *)malloc(qt->ntheta * TNAME_LEN);
    if (!qt->tnames) {
        free(qt);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < qt->ntheta; i++)
        snprintf(qt->tnames + i * TNAME_LEN, TNAME_LEN, "L%d_q%d", (int)(i / (size_t)qt->n) + 1,
                 (int)(i % (size_t)qt->n));
    *out = qt;
    return QNN_OK;
}

static void free_cand(qt_cand *c) {
    qnn_circuit_free(c->c);
    free(c->name);
    free(c->map);
    free(c->vals);
    free(c->g);
}

void qnn_qt_free(qnn_qt *qt) {
    if (!qt) return;
    for (int j = 0; j < qt->m; j++) free_cand(&qt->c[j]);
    free(qt->c);
    free(qt->tnames);
    qnn_aligned_free(qt->own_params);
    qnn_aligned_free(qt->own_grads);
    for (int l = 0; l < QT_MAXL; l++) {
        qnn_aligned_free(qt->Z[l]);
        qnn_aligned_free(qt->H[l]);
    }
    qnn_aligned_free(qt->probs);
    qnn_aligned_free(qt->P);
    qnn_aligned_free(qt->u);
    qnn_aligned_free(qt->xt);
    qnn_aligned_free(qt->y);
    qnn_aligned_free(qt->dtmp);
    qnn_aligned_free(qt->dtmp2);
    free(qt->s);
    free(qt->gs);
    if (qt->fin)
        for (int j = 0; j < qt->m; j++) qnn_state_release(&qt->fin[j]);
    free(qt->fin);
    free(qt->theta_fwd);
    free(qt);
}

size_t qnn_qt_bytes(const qnn_qt *qt) {
    if (!qt) return 0;
    size_t d = 2 * qt->np + (size_t)qt->m * qt->p + 6 * qt->p + 2 * (size_t)qt->m + qt->nang;
    for (int l = 0; l < qt->nl; l++) d += 2 * qt->p * qt->lout[l];
    size_t b = sizeof *qt + d * sizeof(double) + qt->ntheta * TNAME_LEN +
               (size_t)qt->cap * sizeof(qt_cand);
    if (qt->fin)
        for (int j = 0; j < qt->m; j++) b += qt->fin[j].amp ? 16 * qt->fin[j].dim : 0;
    return b;
}

int qnn_qt_nqubits(const qnn_qt *qt) { return qt->n; }
int qnn_qt_depth(const qnn_qt *qt) { return qt->cfg.depth; }
size_t qnn_qt_ntarget(const qnn_qt *qt) { return qt->p; }
const char *qnn_qt_theta_name(const qnn_qt *qt, size_t i) {
    return i < qt->nang ? qt->tnames + (i % qt->ntheta) * TNAME_LEN : NULL;
}
int qnn_qt_angles(const qnn_qt *qt) { return qt->cfg.angles; }
size_t qnn_qt_candidate_theta(const qnn_qt *qt, int j) {
    if (j < 0 || j >= qt->m || qt->cfg.angles != QNN_QT_ANGLES_PER_CANDIDATE) return 0;
    return (size_t)j * qt->ntheta;
}
int qnn_qt_ncandidates(const qnn_qt *qt) { return qt->m; }
const char *qnn_qt_candidate_name(const qnn_qt *qt, int j) {
    return j >= 0 && j < qt->m ? qt->c[j].name : NULL;
}
const qnn_circuit *qnn_qt_candidate(const qnn_qt *qt, int j) {
    return j >= 0 && j < qt->m ? qt->c[j].c : NULL;
}
size_t qnn_qt_ntheta(const qnn_qt *qt) { return qt->nang; }
size_t qnn_qt_nstruct(const qnn_qt *qt) { return qt->nstruct; }
size_t qnn_qt_nmapping(const qnn_qt *qt) { return qt->nmap; }
size_t qnn_qt_nparams(const qnn_qt *qt) { return qt->np; }
double *qnn_qt_params(qnn_qt *qt) { return qt->params; }
double *qnn_qt_grads(qnn_qt *qt) { return qt->grads; }
size_t qnn_qt_cache_bytes(const qnn_qt *qt) {
    return qt->fin ? (size_t)qt->m * qt->dim * 16 : 0;
}
const double *qnn_qt_last_probs(const qnn_qt *qt) { return qt->have_fwd ? qt->P : NULL; }
const double *qnn_qt_last_processed(const qnn_qt *qt) { return qt->have_fwd ? qt->xt : NULL; }

/* Theta index of a name "L<l>_q<q>" or -1. */
static long theta_index(const qnn_qt *qt, const char *name) {
    int l = 0, q = 0, used = 0;
    if (sscanf(name, "L%d_q%d%n", &l, &q, &used) != 2 || name[used] != '\0') return -1;
    if (l < 1 || l > qt->cfg.depth || q < 0 || q >= qt->n) return -1;
    long idx = (long)(l - 1) * qt->n + q;
    /* reject non-canonical spellings like L01_q1 */
    return strcmp(qt->tnames + (size_t)idx * TNAME_LEN, name) == 0 ? idx : -1;
}

int qnn_qt_add_candidate(qnn_qt *qt, const qnn_circuit *c, const char *name, qnn_error *err) {
    char label[96];
    if (name) snprintf(label, sizeof label, "candidate '%s'", name);
    else snprintf(label, sizeof label, "candidate %d", qt->m + 1);
    if (qt->finalized)
        return qnn_error_set(err, QNN_ESTATE, "%s: generator already finalized", label);
    if (!c) return qnn_error_set(err, QNN_EINVAL, "%s: no circuit", label);
    if (qnn_circuit_nqubits(c) != qt->n)
        return qnn_error_set(err, QNN_EINVAL, "%s: circuit has %d qubits, the generator needs %d",
                             label, qnn_circuit_nqubits(c), qt->n);
    if (qnn_circuit_ngates(c) == 0)
        return qnn_error_set(err, QNN_EINVAL, "%s: added no gates", label);
    if (!qnn_circuit_is_unitary(c))
        return qnn_error_set(err, QNN_EINVAL,
                             "%s: the circuit has measurement, reset or classical control; a "
                             "weight generator needs a unitary circuit", label);
    int np = qnn_circuit_nparams(c);
    for (int k = 0; k < np; k++)
        if (theta_index(qt, qnn_circuit_param_name(c, k)) < 0)
            return qnn_error_set(err, QNN_EINVAL,
                                 "%s: parameter '%s' is not one of the shared layer angles "
                                 "L<1..%d>_q<0..%d>",
                                 label, qnn_circuit_param_name(c, k), qt->cfg.depth, qt->n - 1);
    if (qt->m == qt->cap) {
        int nc = qt->cap ? 2 * qt->cap : 16;
        qt_cand *a = (qt_cand *)realloc(qt->c, (size_t)nc * sizeof *a);
        if (!a) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        qt->c = a;
        qt->cap = nc;
    }
    qt_cand cd;
    memset(&cd, 0, sizeof cd);
    int st = qnn_circuit_copy(&cd.c, c, err);
    if (st) return st;
    cd.np = np;
    cd.name = strdup(name ? name : label);
    cd.map = (int *)calloc((size_t)(np > 0 ? np : 1), sizeof(int));
    cd.vals = (double *)calloc((size_t)(np > 0 ? np : 1), sizeof(double));
    cd.g = (double *)calloc((size_t)(np > 0 ? np : 1), sizeof(double));
    if (!cd.name || !cd.map || !cd.vals || !cd.g) {
        free_cand(&cd);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (int k = 0; k < np; k++) cd.map[k] = (int)theta_index(qt, qnn_circuit_param_name(c, k));
    qt->c[qt->m++] = cd;
    return QNN_OK;
}

static double *alloc_d(size_t n) {
    size_t bytes;
    if (qnn_mul_size(n ? n : 1, sizeof(double), &bytes)) return NULL;
    return (double *)qnn_aligned_alloc(64, bytes);
}

int qnn_qt_finalize(qnn_qt *qt, qnn_error *err) {
    if (qt->finalized) return QNN_OK;
    if (qt->m < 1) return qnn_error_set(err, QNN_EINVAL, "the candidate pool is empty");
    qt->nstruct = qt->m > 1 ? (size_t)qt->m : 0;
    if (qt->cfg.angles == QNN_QT_ANGLES_PER_CANDIDATE) {
        /* candidate j's angles are the block [j * ntheta, (j + 1) * ntheta) */
        size_t na;
        if (qnn_mul_size(qt->ntheta, (size_t)qt->m, &na) || na > (size_t)INT_MAX)
            return qnn_error_set(err, QNN_EINVAL,
                                 "per-candidate angles: %d candidates x %zu angles is too many",
                                 qt->m, qt->ntheta);
        qt->nang = na;
    }
    /* mapping layers */
    qt->nl = qt->cfg.nhidden + 1;
    size_t in = (size_t)qt->n + 1, off = 0;
    for (int l = 0; l < qt->nl; l++) {
        size_t o = l < qt->cfg.nhidden ? (size_t)qt->cfg.hidden[l] : 1;
        qt->lin[l] = in;
        qt->lout[l] = o;
        qt->loff[l] = off;
        off += in * o + o;
        in = o;
    }
    qt->nmap = off;
    qt->np = qt->nang + qt->nstruct + qt->nmap;
    size_t p = qt->p, pm;
    if (qnn_mul_size(p, (size_t)qt->m, &pm))
        return qnn_error_set(err, QNN_ENOMEM, "probability cache too large");
    qt->own_params = alloc_d(qt->np);
    qt->own_grads = alloc_d(qt->np);
    qt->probs = alloc_d(pm);
    qt->P = alloc_d(p);
    qt->u = alloc_d(p);
    qt->xt = alloc_d(p);
    qt->y = alloc_d(p);
    qt->dtmp = alloc_d(p);
    qt->dtmp2 = alloc_d(p);
    qt->s = (double *)calloc((size_t)qt->m, sizeof(double));
    qt->gs = (double *)calloc((size_t)qt->m, sizeof(double));
    int bad = !qt->own_params || !qt->own_grads || !qt->probs || !qt->P || !qt->u || !qt->xt ||
              !qt->y || !qt->dtmp || !qt->dtmp2 || !qt->s || !qt->gs;
    for (int l = 0; l + 1 < qt->nl && !bad; l++) {
        size_t z;
        if (qnn_mul_size(p, qt->lout[l], &z)) {
            bad = 1;
            break;
        }
        qt->Z[l] = alloc_d(z);
        qt->H[l] = alloc_d(z);
        bad = !qt->Z[l] || !qt->H[l];
    }
    if (bad) return qnn_error_set(err, QNN_ENOMEM, "out of memory allocating the generator");
    qt->params = qt->own_params;
    qt->grads = qt->own_grads;
    if (qt->cfg.angles == QNN_QT_ANGLES_PER_CANDIDATE) /* once: finalize ends here only once */
        for (int j = 0; j < qt->m; j++)
            for (int k = 0; k < qt->c[j].np; k++) qt->c[j].map[k] += j * (int)qt->ntheta;
    qt->finalized = 1;
    return QNN_OK;
}

int qnn_qt_use_buffers(qnn_qt *qt, double *params, double *grads, qnn_error *err) {
    if (!qt->finalized) return qnn_error_set(err, QNN_ESTATE, "generator not finalized");
    if ((params == NULL) != (grads == NULL))
        return qnn_error_set(err, QNN_EINVAL, "give both buffers or neither");
    if (!params) {
        params = qt->own_params;
        grads = qt->own_grads;
    }
    if (params != qt->params) memmove(params, qt->params, qt->np * sizeof(double));
    if (grads != qt->grads) memmove(grads, qt->grads, qt->np * sizeof(double));
    qt->params = params;
    qt->grads = grads;
    return QNN_OK;
}

int qnn_qt_init_params(qnn_qt *qt, qnn_rng *rng, double theta_scale, double mapping_scale,
                       qnn_error *err) {
    if (!qt->finalized) return qnn_error_set(err, QNN_ESTATE, "generator not finalized");
    if (!isfinite(theta_scale) || !isfinite(mapping_scale))
        return qnn_error_set(err, QNN_EINVAL, "initialisation scales must be finite");
    double *w = qt->params;
    for (size_t i = 0; i < qt->nang; i++)
        w[i] = theta_scale * (2.0 * qnn_rng_uniform(rng) - 1.0) * M_PI;
    double *sw = w + qt->nang;
    for (size_t j = 0; j < qt->nstruct; j++)
        sw[j] = qt->cfg.normalize == QNN_QT_SOFTMAX ? 0.0 : 1.0 / (double)qt->m;
    double *mp = sw + qt->nstruct;
    for (int l = 0; l < qt->nl; l++) {
        double b = (l == qt->nl - 1 ? mapping_scale : 1.0) / sqrt((double)qt->lin[l]);
        size_t cnt = qt->lin[l] * qt->lout[l] + qt->lout[l];
        for (size_t k = 0; k < cnt; k++) mp[qt->loff[l] + k] = b * (2.0 * qnn_rng_uniform(rng) - 1.0);
    }
    memset(qt->grads, 0, qt->np * sizeof(double));
    qt->have_fwd = 0;
    return QNN_OK;
}

int qnn_qt_mixture(const qnn_qt *qt, double *s, qnn_error *err) {
    if (!qt->finalized) return qnn_error_set(err, QNN_ESTATE, "generator not finalized");
    if (qt->m == 1) {
        s[0] = 1.0;
        return QNN_OK;
    }
    const double *w = qt->params + qt->nang;
    for (int j = 0; j < qt->m; j++)
        if (!isfinite(w[j]))
            return qnn_error_set(err, QNN_EINVAL, "structural weight %d is not finite", j + 1);
    if (qt->cfg.normalize == QNN_QT_NONE) {
        memcpy(s, w, (size_t)qt->m * sizeof(double));
        return QNN_OK;
    }
    double mx = w[0], sum = 0.0;
    for (int j = 1; j < qt->m; j++) mx = w[j] > mx ? w[j] : mx;
    for (int j = 0; j < qt->m; j++) sum += (s[j] = exp(w[j] - mx));
    for (int j = 0; j < qt->m; j++) s[j] /= sum;
    return QNN_OK;
}

/* ---------------- circuits ---------------- */
static int set_cand_params(qnn_qt *qt, qt_cand *cd, qnn_error *err) {
    if (cd->np == 0) return QNN_OK;
    for (int k = 0; k < cd->np; k++) cd->vals[k] = qt->params[cd->map[k]];
    return qnn_circuit_set_params(cd->c, cd->vals, err);
}

static int cand_label_error(const qt_cand *cd, int st, qnn_error *e, qnn_error *err) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg[0] ? e->msg : qnn_strerror(st));
    return qnn_error_set(err, st, "candidate '%s': %s", cd->name, msg);
}

/* Threads over candidates. With more threads than candidates (12 candidates on a 16-core host
 * scaled only 4.9x: at most m threads busy, uneven candidate costs, and m full states streaming
 * through the shared caches at once), the candidates run one after another with every thread
 * inside the state-vector kernels instead, so one state at a time is split over all cores'
 * caches. Either way each candidate's numbers do not depend on the thread count. */
static int nthreads_for(const qnn_qt *qt) {
    int t = omp_get_max_threads();
    if (t > qt->m && qt->dim >= QNN_STATE_OMP_MIN_DIM) return 1;
    return qt->m > 1 ? (t < qt->m ? t : qt->m) : 1;
}

/* Allocates the per-candidate output-state cache once, if it fits the budget; failure only
 * means no cache (backward then recomputes the forward runs). */
static void alloc_state_cache(qnn_qt *qt) {
    if (qt->fin_tried) return;
    qt->fin_tried = 1;
    int m = qt->m, nt = nthreads_for(qt);
    double bytes = (double)m * 16.0 * (double)qt->dim;
    qnn_error e;
    if (bytes > QT_STATE_CACHE_BYTES || qnn_state_check_size(qt->n, (size_t)(m + 3 * nt), &e))
        return;
    qt->fin = (qnn_state *)calloc((size_t)m, sizeof(qnn_state));
    qt->theta_fwd = (double *)malloc((qt->nang ? qt->nang : 1) * sizeof(double));
    int ok = qt->fin && qt->theta_fwd;
    for (int j = 0; j < m && ok; j++) ok = qnn_state_init(&qt->fin[j], qt->n, &e) == QNN_OK;
    if (!ok) {
        if (qt->fin)
            for (int j = 0; j < m; j++) qnn_state_release(&qt->fin[j]);
        free(qt->fin);
        free(qt->theta_fwd);
        qt->fin = NULL;
        qt->theta_fwd = NULL;
    }
}

static int run_candidates(qnn_qt *qt, qnn_error *err) {
    alloc_state_cache(qt);
    qt->fin_valid = 0;
    int m = qt->m, nt = nthreads_for(qt);
    size_t p = qt->p;
    int *status = (int *)calloc((size_t)m, sizeof(int));
    qnn_error *errs = (qnn_error *)calloc((size_t)m, sizeof(qnn_error));
    qnn_state *states = (qnn_state *)calloc((size_t)nt, sizeof(qnn_state));
    int st = QNN_OK;
    if (!status || !errs || !states) {
        st = qnn_error_set(err, QNN_ENOMEM, "out of memory");
        goto done;
    }
    st = qnn_state_check_size(qt->n, (size_t)nt + 2, err);
    for (int t = 0; t < nt && !st && !qt->fin; t++) st = qnn_state_init(&states[t], qt->n, err);
    if (st) goto done;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int j = 0; j < m; j++) {
        qt_cand *cd = &qt->c[j];
        qnn_state *s = qt->fin ? &qt->fin[j] : &states[omp_get_thread_num()];
        if (qnn_interrupt_pending()) {
            status[j] = QNN_EINTR;
            continue;
        }
        int r = set_cand_params(qt, cd, &errs[j]);
        if (!r) {
            qnn_state_set_zero(s);
            r = qnn_circuit_run(cd->c, s, NULL, NULL, &errs[j]);
        }
        if (!r) {
            double *pr = qt->probs + (size_t)j * p;
            const double *a = s->amp;
            for (size_t i = 0; i < p; i++) pr[i] = a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
        }
        status[j] = r;
    }
    for (int j = 0; j < m && !st; j++)
        if (status[j]) st = cand_label_error(&qt->c[j], status[j], &errs[j], err);
    if (!st && qt->fin) {
        memcpy(qt->theta_fwd, qt->params, qt->nang * sizeof(double));
        qt->fin_valid = 1;
    }
done:
    if (states)
        for (int t = 0; t < nt; t++) qnn_state_release(&states[t]);
    free(states);
    free(errs);
    free(status);
    return st;
}

/* ---------------- mapping model ---------------- */
static double act_f(int a, double z) {
    switch (a) {
    case QNN_QT_ACT_TANH: return tanh(z);
    case QNN_QT_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    default: return z > 0 ? z : 0.0;
    }
}
/* derivative from pre-activation z and post-activation h */
static double act_d(int a, double z, double h) {
    switch (a) {
    case QNN_QT_ACT_TANH: return 1.0 - h * h;
    case QNN_QT_ACT_SIGMOID: return h * (1.0 - h);
    default: return z > 0 ? 1.0 : 0.0;
    }
}

/* first-layer output j for basis state i with processed value x */
static double layer0(const qnn_qt *qt, const double *W, size_t i, double x, size_t j) {
    size_t out = qt->lout[0];
    int n = qt->n;
    double z = W[(size_t)n * out + j] * x + W[(size_t)(n + 1) * out + j];
    for (int k = 0; k < n; k++) {
        double b = ((i >> k) & 1) ? 1.0 : -1.0;
        z += b * W[(size_t)k * out + j];
    }
    return z;
}

static void mapping_forward(qnn_qt *qt) {
    const double *mp = qt->params + qt->nang + qt->nstruct;
    size_t p = qt->p;
    int act = qt->cfg.activation;
    if (qt->nl == 1) {
        const double *W = mp;
#pragma omp parallel for schedule(static) if (p >= 65536)
        for (size_t i = 0; i < p; i++) qt->y[i] = layer0(qt, W, i, qt->xt[i], 0);
        return;
    }
    for (int l = 0; l < qt->nl; l++) {
        const double *W = mp + qt->loff[l];
        size_t in = qt->lin[l], out = qt->lout[l];
        const double *b = W + in * out;
        int last = l == qt->nl - 1;
        double *Z = last ? qt->y : qt->Z[l];
        double *Hh = last ? NULL : qt->H[l];
        const double *X = l > 0 ? qt->H[l - 1] : NULL;
#pragma omp parallel for schedule(static) if (p * out >= 65536)
        for (size_t i = 0; i < p; i++) {
            for (size_t j = 0; j < out; j++) {
                double z;
                if (l == 0) {
                    z = layer0(qt, W, i, qt->xt[i], j);
                } else {
                    z = b[j];
                    const double *xi = X + i * in;
                    for (size_t k = 0; k < in; k++) z += xi[k] * W[k * out + j];
                }
                Z[i * out + j] = z;
                if (!last) Hh[i * out + j] = act_f(act, z);
            }
        }
    }
}

/* dy (p) -> mapping grads (added into g) and dxt (p) */
static int mapping_backward(qnn_qt *qt, const double *dy, double *dxt, qnn_error *err) {
    const double *mp = qt->params + qt->nang + qt->nstruct;
    double *gm = qt->grads + qt->nang + qt->nstruct;
    size_t p = qt->p;
    int n = qt->n, act = qt->cfg.activation;
    /* dZ of the current layer: p x out. Use a scratch array sized for the widest layer. */
    size_t wmax = 1;
    for (int l = 0; l < qt->nl; l++) wmax = qt->lout[l] > wmax ? qt->lout[l] : wmax;
    size_t bytes;
    if (qnn_mul_size(p, wmax, &bytes)) return qnn_error_set(err, QNN_ENOMEM, "mapping too large");
    double *dZ = alloc_d(bytes), *dH = alloc_d(bytes);
    if (!dZ || !dH) {
        qnn_aligned_free(dZ);
        qnn_aligned_free(dH);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory (mapping backward)");
    }
    memcpy(dZ, dy, p * sizeof(double));
    for (int l = qt->nl - 1; l >= 0; l--) {
        const double *W = mp + qt->loff[l];
        double *gW = gm + qt->loff[l];
        size_t in = qt->lin[l], out = qt->lout[l];
        double *gb = gW + in * out;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < out; j++) gb[j] += dZ[i * out + j];
        if (l == 0) {
            for (size_t i = 0; i < p; i++) {
                const double *dz = dZ + i * out;
                double dx = 0.0;
                for (size_t j = 0; j < out; j++) {
                    double d = dz[j];
                    for (int k = 0; k < n; k++) gW[(size_t)k * out + j] += (((i >> k) & 1) ? d : -d);
                    gW[(size_t)n * out + j] += qt->xt[i] * d;
                    dx += d * W[(size_t)n * out + j];
                }
                dxt[i] = dx;
            }
        } else {
            const double *X = qt->H[l - 1], *Zp = qt->Z[l - 1];
            for (size_t i = 0; i < p; i++) {
                const double *xi = X + i * in, *dz = dZ + i * out;
                for (size_t k = 0; k < in; k++) {
                    double acc = 0.0;
                    for (size_t j = 0; j < out; j++) {
                        gW[k * out + j] += xi[k] * dz[j];
                        acc += dz[j] * W[k * out + j];
                    }
                    dH[i * in + k] = acc * act_d(act, Zp[i * in + k], xi[k]);
                }
            }
            double *t = dZ;
            dZ = dH;
            dH = t;
        }
    }
    qnn_aligned_free(dZ);
    qnn_aligned_free(dH);
    return QNN_OK;
}

static double mean_of(const double *v, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

/* ---------------- forward ---------------- */
int qnn_qt_generate(qnn_qt *qt, double *weights, double *t_circuits, qnn_error *err) {
    if (!qt->finalized) return qnn_error_set(err, QNN_ESTATE, "generator not finalized");
    for (size_t i = 0; i < qt->np; i++)
        if (!isfinite(qt->params[i]))
            return qnn_error_set(err, QNN_EINVAL, "trainable parameter %zu is not finite", i + 1);
    qt->have_fwd = 0;
    double t0 = omp_get_wtime();
    int st = run_candidates(qt, err);
    if (t_circuits) *t_circuits = omp_get_wtime() - t0;
    if (st) return st;
    st = qnn_qt_mixture(qt, qt->s, err);
    if (st) return st;
    size_t p = qt->p;
    int m = qt->m;
    double c = qt->cfg.gamma * (double)((size_t)1 << (qt->n - 1));
    double beta = qt->cfg.beta, alpha = qt->cfg.alpha;
    for (size_t i = 0; i < p; i++) {
        double v = 0.0;
        for (int j = 0; j < m; j++) v += qt->s[j] * qt->probs[(size_t)j * p + i];
        qt->P[i] = v;
        double uu = beta * tanh(c * v);
        qt->u[i] = uu;
        /* u < 0 only with normalize = none and negative weights: keep the sign, odd power */
        qt->xt[i] = uu >= 0 ? pow(uu, alpha) : -pow(-uu, alpha);
    }
    double mx = mean_of(qt->xt, p);
    for (size_t i = 0; i < p; i++) qt->xt[i] -= mx;
    mapping_forward(qt);
    double my = mean_of(qt->y, p);
    for (size_t i = 0; i < p; i++) {
        double wv = qt->y[i] - my;
        if (!isfinite(wv))
            return qnn_error_set(err, QNN_EINVAL, "generated weight %zu is not finite", i + 1);
        weights[i] = wv;
    }
    qt->have_fwd = 1;
    return QNN_OK;
}

/* ---------------- backward ---------------- */
int qnn_qt_backward(qnn_qt *qt, const double *dweights, double *t_circuits, qnn_error *err) {
    if (!qt->finalized) return qnn_error_set(err, QNN_ESTATE, "generator not finalized");
    if (!qt->have_fwd)
        return qnn_error_set(err, QNN_ESTATE, "backward needs a generate() first");
    size_t p = qt->p;
    int m = qt->m;
    for (size_t i = 0; i < p; i++)
        if (!isfinite(dweights[i]))
            return qnn_error_set(err, QNN_EINVAL, "weight gradient %zu is not finite", i + 1);
    memset(qt->grads, 0, qt->np * sizeof(double));
    /* mean subtraction of the outputs */
    double mg = mean_of(dweights, p);
    double *dy = qt->dtmp, *dxt = qt->dtmp2;
    for (size_t i = 0; i < p; i++) dy[i] = dweights[i] - mg;
    int st = mapping_backward(qt, dy, dxt, err);
    if (st) return st;
    /* mean subtraction of x, power, tanh: dP into dy */
    double mdx = mean_of(dxt, p);
    double c = qt->cfg.gamma * (double)((size_t)1 << (qt->n - 1));
    double beta = qt->cfg.beta, alpha = qt->cfg.alpha;
    double *dP = dy;
    for (size_t i = 0; i < p; i++) {
        double dx = dxt[i] - mdx, uu = qt->u[i];
        double au = fabs(uu);
        double dxdu = au > 0 ? alpha * pow(au, alpha - 1.0) : 0.0;
        double th = uu / beta;
        dP[i] = dx * dxdu * beta * c * (1.0 - th * th);
    }
    /* structural weights */
    for (int j = 0; j < m; j++) {
        const double *pr = qt->probs + (size_t)j * p;
        double acc = 0.0;
        for (size_t i = 0; i < p; i++) acc += dP[i] * pr[i];
        qt->gs[j] = acc;
    }
    if (m > 1) {
        double *gw = qt->grads + qt->nang;
        if (qt->cfg.normalize == QNN_QT_SOFTMAX) {
            double dot = 0.0;
            for (int j = 0; j < m; j++) dot += qt->s[j] * qt->gs[j];
            for (int j = 0; j < m; j++) gw[j] = qt->s[j] * (qt->gs[j] - dot);
        } else {
            for (int j = 0; j < m; j++) gw[j] = qt->gs[j];
        }
    }
    /* circuits: vjp per candidate */
    double t0 = omp_get_wtime();
    int nt = nthreads_for(qt);
    size_t dim = qt->dim;
    int *status = (int *)calloc((size_t)m, sizeof(int));
    qnn_error *errs = (qnn_error *)calloc((size_t)m, sizeof(qnn_error));
    double **dpb = (double **)calloc((size_t)nt, sizeof(double *));
    if (!status || !errs || !dpb) {
        st = qnn_error_set(err, QNN_ENOMEM, "out of memory");
        goto done;
    }
    st = qnn_state_check_size(qt->n, (size_t)nt * 3 + (qt->fin ? (size_t)m : 0), err);
    for (int t = 0; t < nt && !st; t++)
        if (!(dpb[t] = alloc_d(dim))) st = qnn_error_set(err, QNN_ENOMEM, "out of memory");
    if (st) goto done;
    /* the cached output states are used only if the angles have not changed since generate */
    int use_fin = qt->fin && qt->fin_valid &&
                  memcmp(qt->theta_fwd, qt->params, qt->nang * sizeof(double)) == 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int j = 0; j < m; j++) {
        qt_cand *cd = &qt->c[j];
        double *d = dpb[omp_get_thread_num()];
        if (qnn_interrupt_pending()) {
            status[j] = QNN_EINTR;
            continue;
        }
        if (cd->np == 0) continue;
        double sj = qt->s[j];
        for (size_t i = 0; i < p; i++) d[i] = sj * dP[i];
        for (size_t i = p; i < dim; i++) d[i] = 0.0;
        int r = set_cand_params(qt, cd, &errs[j]);
        if (!r && use_fin) r = qnn_circuit_vjp_from(cd->c, d, &qt->fin[j], cd->g, &errs[j]);
        else if (!r) r = qnn_circuit_vjp(cd->c, d, NULL, NULL, cd->g, &errs[j]);
        status[j] = r;
    }
    for (int j = 0; j < m && !st; j++)
        if (status[j]) st = cand_label_error(&qt->c[j], status[j], &errs[j], err);
    if (!st)
        for (int j = 0; j < m; j++)
            for (int k = 0; k < qt->c[j].np; k++) qt->grads[qt->c[j].map[k]] += qt->c[j].g[k];
done:
    if (t_circuits) *t_circuits = omp_get_wtime() - t0;
    if (dpb)
        for (int t = 0; t < nt; t++) qnn_aligned_free(dpb[t]);
    free(dpb);
    free(errs);
    free(status);
    return st;
}
