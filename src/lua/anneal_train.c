/* qnn.optim.ising_net / qnn.IsingNet: Ising networks trained by annealing (issue 6) and
 * qnn.optim.anneal (the Lua half, lua/qnn/methods/anneal.lua). The hot loop (phases,
 * correlations, updates) is C: src/core/anneal_train.c. Schedules are sampled into arrays in
 * Lua before they get here. Layers are numbered like the sizes table: layer 1 is the input,
 * couplings(k) join layers k and k+1, fields(k) belong to spin layer k >= 2; spins are numbered
 * 1..nspins globally from the first spin layer on. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnn/anneal_train.h"
#include "qnn_lua.h"

#define NET_T "qnn.IsingNet"

typedef struct lnet {
    qnn_anet *n; /* NULL once closed */
} lnet;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int lerr(lua_State *L, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", buf);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static qnn_anet *check_net(lua_State *L, int arg) {
    lnet *u = (lnet *)luaL_testudata(L, arg, NET_T);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "net", "must be an IsingNet, got %s", tn ? tn : luaL_typename(L, arg));
    }
    if (!u->n) luaL_error(L, "IsingNet is closed");
    return u->n;
}

static lnet *push_net(lua_State *L) {
    lnet *u = (lnet *)lua_newuserdatauv(L, sizeof *u, 0);
    u->n = NULL;
    luaL_setmetatable(L, NET_T);
    return u;
}

static void *scratch(lua_State *L, size_t count, size_t size, const char *where) {
    size_t b;
    if (qnn_mul_size(count ? count : 1, size, &b) || b > qnn_max_bytes())
        lerr(L, "%s: %zu entries exceed the memory limit", where, count);
    void *p = lua_newuserdatauv(L, b, 0);
    memset(p, 0, b);
    return p;
}

/* ---------------- constructor ---------------- */
static const char *const NET_OPTS[] = {"sizes", "init", "scale", "seed", "rng", NULL};

static int l_ising_net(lua_State *L) {
    const char *W = "qnn.optim.ising_net";
    luaL_checktype(L, 1, LUA_TTABLE);
    /* positional sizes or sizes= */
    int st = 1;
    if (lua_getfield(L, 1, "sizes") != LUA_TNIL) {
        if (!lua_istable(L, -1)) lerr(L, "%s: sizes must be a table of layer widths", W);
        st = lua_gettop(L);
    } else lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            int ok = 0;
            for (int i = 0; NET_OPTS[i]; i++) ok |= strcmp(k, NET_OPTS[i]) == 0;
            if (!ok) lerr(L, "%s: unknown option '%s' (allowed: sizes, init, scale, seed, rng)", W, k);
        }
    }
    int nl = (int)lua_rawlen(L, st);
    if (nl < 2 || nl > QNN_ANET_MAX_LAYERS)
        lerr(L, "%s: needs 2..%d layer widths {in, hidden..., out}, got %d", W, QNN_ANET_MAX_LAYERS, nl);
    int sizes[QNN_ANET_MAX_LAYERS];
    for (int l = 0; l < nl; l++) {
        lua_rawgeti(L, st, l + 1);
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < 1 || v > QNN_ANET_MAX_WIDTH)
            lerr(L, "%s: layer %d width must be an integer in [1, %d]", W, l + 1, QNN_ANET_MAX_WIDTH);
        sizes[l] = (int)v;
        lua_pop(L, 1);
    }
    static const char *const INITS[] = {"uniform", "gaussian", NULL};
    int init = qnn_lua_optfield_choice(L, 1, "init", INITS, 0);
    double scale = 1.0, lscale[QNN_ANET_MAX_LAYERS];
    for (int l = 0; l < nl; l++) lscale[l] = 1.0;
    if (lua_getfield(L, 1, "scale") == LUA_TTABLE) {
        /* one scale per coupling matrix J_1 .. J_{L-1} */
        if ((int)lua_rawlen(L, -1) != nl - 1)
            lerr(L, "%s: scale must be a number or a list of %d numbers (one per coupling matrix)", W, nl - 1);
        for (int l = 0; l < nl - 1; l++) {
            lua_rawgeti(L, -1, l + 1);
            int ok = 0;
            lscale[l] = lua_tonumberx(L, -1, &ok);
            if (!ok || !(lscale[l] > 0) || !isfinite(lscale[l]))
                lerr(L, "%s: scale[%d] must be a finite number > 0", W, l + 1);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
        scale = qnn_lua_optfield_num(L, 1, "scale", 1.0, 1e-300, 1e300);
    }
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, 1, &local);
    lnet *u = push_net(L);
    qnn_error e = {0};
    qnn_lua_check_status(L, qnn_anet_new(&u->n, sizes, nl, &e), &e, W);
    qnn_lua_check_status(L, qnn_anet_init(u->n, init, scale, rng, &e), &e, W);
    for (int l = 0; l + 1 < nl; l++) {
        double *J = u->n->params + u->n->wofs[l];
        size_t cnt = (size_t)sizes[l] * (size_t)sizes[l + 1];
        for (size_t k = 0; k < cnt; k++) J[k] *= lscale[l];
    }
    return 1;
}

/* ---------------- simple methods ---------------- */
static int m_sizes(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    lua_createtable(L, n->nlayers, 0);
    for (int l = 0; l < n->nlayers; l++) {
        lua_pushinteger(L, n->sizes[l]);
        lua_rawseti(L, -2, l + 1);
    }
    return 1;
}

static int m_nspins(lua_State *L) {
    lua_pushinteger(L, check_net(L, 1)->nspins);
    return 1;
}

static int m_nparams(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    lua_pushinteger(L, (lua_Integer)n->nparams);
    lua_pushinteger(L, (lua_Integer)n->nJ);
    return 2;
}

static int m_layer_spins(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "layer", 2, n->nlayers);
    lua_pushinteger(L, n->off[k - 1] + 1);
    lua_pushinteger(L, n->off[k - 1] + n->sizes[k - 1]);
    return 2;
}

static int m_couplings(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "k", 1, n->nlayers - 1);
    int r = n->sizes[k - 1], c = n->sizes[k];
    qnn_tensor *t = qnn_lua_newtensor(L, (size_t)r, (size_t)c, 2);
    const double *J = n->params + n->wofs[k - 1];
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) t->data[(size_t)i * t->ld + j] = J[(size_t)i * c + j];
    return 1;
}

static int m_set_couplings(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "k", 1, n->nlayers - 1);
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, 3, "J", &pushed);
    int r = n->sizes[k - 1], c = n->sizes[k];
    if ((int)t->rows != r || (int)t->cols != c)
        lerr(L, "IsingNet:set_couplings: J must be %dx%d, got %dx%d", r, c, (int)t->rows, (int)t->cols);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            if (!isfinite(t->data[(size_t)i * t->ld + j]))
                lerr(L, "IsingNet:set_couplings: J[%d][%d] is not finite", i + 1, j + 1);
    double *J = n->params + n->wofs[k - 1];
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) J[(size_t)i * c + j] = t->data[(size_t)i * t->ld + j];
    lua_settop(L, 1);
    return 1;
}

static int m_fields(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "layer", 2, n->nlayers);
    int c = n->sizes[k - 1];
    qnn_tensor *t = qnn_lua_newtensor(L, 1, (size_t)c, 1);
    memcpy(t->data, n->params + n->nJ + n->off[k - 1], (size_t)c * sizeof(double));
    return 1;
}

static int m_set_fields(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "layer", 2, n->nlayers);
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, 3, "h", &pushed);
    int c = n->sizes[k - 1];
    if ((int)qnn_tensor_numel(t) != c)
        lerr(L, "IsingNet:set_fields: h must have %d entries, got %d", c, (int)qnn_tensor_numel(t));
    double *h = n->params + n->nJ + n->off[k - 1];
    for (int i = 0; i < c; i++) {
        double v = t->data[(size_t)(i / (int)t->cols) * t->ld + (size_t)(i % (int)t->cols)];
        if (!isfinite(v)) lerr(L, "IsingNet:set_fields: h[%d] is not finite", i + 1);
        h[i] = v;
    }
    lua_settop(L, 1);
    return 1;
}

static int m_params(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    qnn_tensor *t = qnn_lua_newtensor(L, 1, n->nparams, 1);
    memcpy(t->data, n->params, n->nparams * sizeof(double));
    return 1;
}

static int m_set_params(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, 2, "params", &pushed);
    if (qnn_tensor_numel(t) != n->nparams || t->rows != 1)
        lerr(L, "IsingNet:set_params: params must be a vector of %zu numbers", n->nparams);
    for (size_t k = 0; k < n->nparams; k++)
        if (!isfinite(t->data[k])) lerr(L, "IsingNet:set_params: params[%zu] is not finite", k + 1);
    memcpy(n->params, t->data, n->nparams * sizeof(double));
    lua_settop(L, 1);
    return 1;
}

static int m_copy(lua_State *L) {
    qnn_anet *n = check_net(L, 1);
    lnet *u = push_net(L);
    qnn_error e = {0};
    qnn_lua_check_status(L, qnn_anet_copy(&u->n, n, &e), &e, "IsingNet:copy");
    return 1;
}

/* ---------------- data arguments ---------------- */
/* X at arg: Tensor or table, rows x sizes[0]; returns the tensor (pushes a converted one) */
static qnn_tensor *check_X(lua_State *L, int arg, const qnn_anet *n, const char *W) {
    int pushed = 0;
    qnn_tensor *X = qnn_lua_totensor(L, arg, "X", &pushed);
    if (pushed) lua_replace(L, arg);
    if (X->ndim == 1 && (int)X->cols == n->sizes[0]) return X; /* one sample */
    if ((int)X->cols != n->sizes[0] || X->rows == 0)
        lerr(L, "%s: X must be samples x %d (the input width), got %dx%d", W, n->sizes[0],
             (int)X->rows, (int)X->cols);
    for (size_t r = 0; r < X->rows; r++)
        for (size_t c = 0; c < X->cols; c++)
            if (!isfinite(X->data[r * X->ld + c]))
                lerr(L, "%s: X[%zu][%zu] is not finite", W, r + 1, c + 1);
    return X;
}

/* labels 1..nout from a table or Tensor at arg, rows entries; returns 0-based ints */
static int *check_y(lua_State *L, int arg, const qnn_anet *n, size_t rows, const char *W) {
    int no = n->sizes[n->nlayers - 1];
    int *y = scratch(L, rows, sizeof(int), W);
    qnn_tensor *t = qnn_lua_testtensor(L, arg);
    if (!t && !lua_istable(L, arg)) lerr(L, "%s: y must be a table of labels 1..%d", W, no);
    size_t len = t ? qnn_tensor_numel(t) : lua_rawlen(L, arg);
    if (len != rows) lerr(L, "%s: y has %zu labels for %zu samples", W, len, rows);
    for (size_t k = 0; k < rows; k++) {
        double v;
        if (t) v = t->data[(k / t->cols) * t->ld + k % t->cols];
        else {
            lua_rawgeti(L, arg, (lua_Integer)k + 1);
            int ok = 0;
            v = lua_tonumberx(L, -1, &ok);
            if (!ok) v = NAN;
            lua_pop(L, 1);
        }
        if (!(v >= 1 && v <= no) || v != floor(v))
            lerr(L, "%s: y[%zu] = %g must be an integer label in [1, %d]", W, k + 1, v, no);
        y[k] = (int)v - 1;
    }
    return y;
}

/* doubles from an array field of table t (exactly n entries) into a stack scratch; NULL if nil */
static const double *num_array(lua_State *L, int t, const char *key, int n, const char *W) {
    if (lua_getfield(L, t, key) == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    int a = lua_gettop(L);
    if (!lua_istable(L, a) || (int)lua_rawlen(L, a) != n)
        lerr(L, "%s: %s must be an array of %d numbers (one per sweep/step)", W, key, n);
    double *v = scratch(L, (size_t)n, sizeof(double), W);
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, a, k + 1);
        int ok = 0;
        double x = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(x) || x < 0)
            lerr(L, "%s: %s[%d] must be a finite number >= 0", W, key, k + 1);
        v[k] = x;
        lua_pop(L, 1);
    }
    lua_remove(L, a); /* the scratch userdata stays on the stack */
    return v;
}

static const char *const SAMPLERS[] = {"sa", "sqa", "exact", "grover", NULL};
static const char *const SAMPLER_OPTS[] = {"sampler", "reads", "sweeps", "steps", "betas",
                                           "beta_range", "A", "B", "slices", "gamma", "beta",
                                           "T", "lambda", "budget", "best_of_slices",
                                           "control_noise", NULL};

/* sampler table at index t (absolute) -> cfg; arrays stay on the stack */
static void read_sampler(lua_State *L, int t, qnn_anet_sampler *s, const char *W) {
    qnn_anet_sampler_defaults(s);
    if (t == 0) return;
    if (!lua_istable(L, t)) lerr(L, "%s: sampler options must be a table", W);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; SAMPLER_OPTS[i]; i++) ok |= strcmp(lua_tostring(L, -1), SAMPLER_OPTS[i]) == 0;
        if (!ok) {
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
            lerr(L, "%s: unknown sampler option '%s' (allowed: sampler, reads, sweeps, steps, betas, "
                 "beta_range, A, B, slices, gamma, beta, T, lambda, budget, best_of_slices, control_noise)", W, k);
        }
    }
    if (lua_getfield(L, t, "sampler") != LUA_TNIL) {
        const char *nm = lua_tostring(L, -1);
        int k = -1;
        for (int i = 0; nm && SAMPLERS[i]; i++)
            if (strcmp(nm, SAMPLERS[i]) == 0) k = i;
        if (k < 0) lerr(L, "%s: unknown sampler '%s' (allowed: sa, sqa, exact, grover)", W, nm ? nm : "?");
        s->kind = k;
    }
    lua_pop(L, 1);
    s->reads = (int)qnn_lua_optfield_int(L, t, "reads", s->kind == QNN_ANET_GROVER ? 1 : 4, 1, 1 << 20);
    s->sweeps = (int)qnn_lua_optfield_int(L, t, "sweeps", 100, 1, 1 << 26);
    if (s->kind == QNN_ANET_EXACT) s->sweeps = (int)qnn_lua_optfield_int(L, t, "steps", 100, 1, 1 << 26);
    s->slices = (int)qnn_lua_optfield_int(L, t, "slices", 16, 2, 4096);
    s->gamma = qnn_lua_optfield_num(L, t, "gamma", 3.0, 0.0, 1e12);
    s->beta_rel = qnn_lua_optfield_num(L, t, "beta", 1.0, 1e-12, 1e12);
    s->T = qnn_lua_optfield_num(L, t, "T", 10.0, 0.0, 1e12);
    s->lambda = qnn_lua_optfield_num(L, t, "lambda", 0.0, 0.0, 100.0);
    if (s->lambda != 0 && !(s->lambda > 1)) lerr(L, "%s: lambda must be > 1 (or 0 = default)", W);
    s->budget = qnn_lua_optfield_num(L, t, "budget", 0.0, 0.0, 1e15);
    s->control_noise = qnn_lua_optfield_num(L, t, "control_noise", 0.0, 0.0, 100.0);
    if (lua_getfield(L, t, "best_of_slices") != LUA_TNIL) {
        if (!lua_isboolean(L, -1)) lerr(L, "%s: best_of_slices must be a boolean", W);
        s->best_of_slices = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, t, "beta_range") != LUA_TNIL) {
        if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2) lerr(L, "%s: beta_range must be {hot, cold}", W);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        double b0 = lua_tonumber(L, -2), b1 = lua_tonumber(L, -1);
        if (!(b0 > 0) || !(b1 > 0) || !isfinite(b0) || !isfinite(b1))
            lerr(L, "%s: beta_range entries must be finite numbers > 0", W);
        s->beta_hot = b0;
        s->beta_cold = b1;
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    if (s->kind == QNN_ANET_SA) s->betas = num_array(L, t, "betas", s->sweeps, W);
    if (s->kind == QNN_ANET_SQA || s->kind == QNN_ANET_EXACT) {
        s->A = num_array(L, t, "A", s->sweeps, W);
        s->B = num_array(L, t, "B", s->sweeps, W);
    }
}

/* blocks: array of arrays of 1-based spin indices -> flat 0-based + offsets on the stack */
static int read_blocks(lua_State *L, int t, const char *key, const qnn_anet *n, const int **blocks,
                       const int **boff, const char *W) {
    *blocks = NULL;
    *boff = NULL;
    if (t == 0 || lua_getfield(L, t, key) == LUA_TNIL) {
        if (t) lua_pop(L, 1);
        return 0;
    }
    int a = lua_gettop(L);
    if (!lua_istable(L, a)) lerr(L, "%s: %s must be a list of blocks {{spin, ...}, ...}", W, key);
    int nb = (int)lua_rawlen(L, a);
    if (nb < 1) lerr(L, "%s: %s must hold at least one block", W, key);
    size_t total = 0;
    for (int b = 1; b <= nb; b++) {
        if (lua_rawgeti(L, a, b) != LUA_TTABLE) lerr(L, "%s: %s[%d] must be a list of spin indices", W, key, b);
        total += lua_rawlen(L, -1);
        lua_pop(L, 1);
    }
    int *fl = scratch(L, total, sizeof(int), W);
    int *of = scratch(L, (size_t)nb + 1, sizeof(int), W);
    unsigned char *seen = scratch(L, (size_t)n->nspins, 1, W);
    size_t k = 0;
    for (int b = 1; b <= nb; b++) {
        lua_rawgeti(L, a, b);
        int len = (int)lua_rawlen(L, -1);
        if (len < 1) lerr(L, "%s: %s[%d] is empty", W, key, b);
        of[b - 1] = (int)k;
        memset(seen, 0, (size_t)n->nspins);
        for (int i = 1; i <= len; i++) {
            lua_rawgeti(L, -1, i);
            int isint = 0;
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint || v < 1 || v > n->nspins)
                lerr(L, "%s: %s[%d][%d] must be a spin index in [1, %d]", W, key, b, i, n->nspins);
            if (seen[v - 1]) lerr(L, "%s: %s[%d] lists spin %d twice", W, key, b, (int)v);
            seen[v - 1] = 1;
            fl[k++] = (int)v - 1;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    of[nb] = (int)k;
    lua_pop(L, 1); /* seen */
    lua_remove(L, a);
    *blocks = fl;
    *boff = of;
    return nb;
}

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void push_stats(lua_State *L, const qnn_anet_stats *st, double time) {
    lua_createtable(L, 0, 14);
    set_num(L, "samples", st->samples);
    set_num(L, "sampler_calls", st->sampler_calls);
    set_num(L, "spins", st->spins);
    set_num(L, "sweeps", st->sweeps);
    set_num(L, "flip_attempts", st->flip_attempts);
    set_num(L, "queries", st->queries);
    set_num(L, "exact_steps", st->exact_steps);
    set_num(L, "settle_attempts", st->settle_attempts);
    set_num(L, "free_errors", st->free_errors);
    set_num(L, "gap", st->gap);
    set_num(L, "updates", st->updates);
    set_num(L, "time", time);
}

static const char *const TRAIN_OPTS[] = {"free", "nudged", "sampler", "nudge", "weighting",
                                         "settle", "l2", "batch", "shuffle", "eta", "blocks",
                                         "per_batch", "cursor", "seed", "rng", "progress", "active",
                                         "coordinate", "coord_passes", "coord_pick",
                                         "coord_random", NULL};

static void read_train_opts(lua_State *L, int t, qnn_anet_opts *o, const char *W) {
    qnn_anet_opts_defaults(o);
    if (t == 0) return;
    /* sampler = shared table for both phases; free= / nudged= override */
    int shared = 0;
    if (lua_getfield(L, t, "sampler") != LUA_TNIL) shared = lua_gettop(L);
    else lua_pop(L, 1);
    int f = 0, nd = 0;
    if (lua_getfield(L, t, "free") != LUA_TNIL) f = lua_gettop(L);
    else lua_pop(L, 1);
    if (lua_getfield(L, t, "nudged") != LUA_TNIL) nd = lua_gettop(L);
    else lua_pop(L, 1);
    read_sampler(L, f ? f : shared, &o->free_s, W);
    read_sampler(L, nd ? nd : (shared ? shared : f), &o->nudged_s, W);
    if (lua_getfield(L, t, "nudge") != LUA_TNIL) {
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "strong") == 0) o->nudge = 0;
        else {
            int ok = 0;
            double v = lua_tonumberx(L, -1, &ok);
            if (!ok || !isfinite(v) || v < 0)
                lerr(L, "%s: nudge must be \"strong\" (or 0) or a finite field strength > 0", W);
            o->nudge = v;
        }
    }
    lua_pop(L, 1);
    static const char *const WEIGHTS[] = {"counts", "lowest", NULL};
    o->weighting = qnn_lua_optfield_choice(L, t, "weighting", WEIGHTS, 0);
    o->settle = (int)qnn_lua_optfield_int(L, t, "settle", 2, 0, 1000);
    o->l2 = qnn_lua_optfield_num(L, t, "l2", 0.0, 0.0, 1e6);
}

/* coordinate= blocks and coord_passes= (block-coordinate annealing phases) */
static void read_coord(lua_State *L, int t, const qnn_anet *n, qnn_anet_opts *o, const char *W) {
    const int *cb, *co;
    o->ncblocks = read_blocks(L, t, "coordinate", n, &cb, &co, W);
    o->cblocks = cb;
    o->cboff = co;
    o->cpasses = (int)qnn_lua_optfield_int(L, t, "coord_passes", 1, 1, 1000);
    static const char *const PICKS[] = {"best", "sample", NULL};
    o->cpick = qnn_lua_optfield_choice(L, t, "coord_pick", PICKS, 0);
    o->crandom = qnn_lua_optfield_bool(L, t, "coord_random", 0);
}

static double read_eta(lua_State *L, int t, const char *W) {
    if (t == 0 || lua_getfield(L, t, "eta") == LUA_TNIL) {
        if (t) lua_pop(L, 1);
        return 0.05;
    }
    int ok = 0;
    double v = lua_tonumberx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok || !isfinite(v) || v < 0) lerr(L, "%s: eta must be a finite number >= 0, got %s", W, ok ? (isnan(v) ? "nan" : "inf or < 0") : "no number");
    return v;
}

/* IsingNet:epoch(X, y [, opts]) -> stats */
static int m_epoch(lua_State *L) {
    const char *W = "IsingNet:epoch";
    qnn_anet *n = check_net(L, 1);
    lua_settop(L, 4); /* optional arguments at fixed slots, scratch above */
    qnn_tensor *X = check_X(L, 2, n, W);
    int *y = check_y(L, 3, n, X->rows, W);
    int t = qnn_lua_checkopts(L, 4, TRAIN_OPTS) ? 4 : 0;
    qnn_anet_opts o;
    read_train_opts(L, t, &o, W);
    read_coord(L, t, n, &o, W);
    double eta = read_eta(L, t, W);
    size_t batch = (size_t)qnn_lua_optfield_int(L, t, "batch", 16, 1, 1 << 30);
    int shuffle = qnn_lua_optfield_bool(L, t, "shuffle", 1);
    long long cursor = (long long)qnn_lua_optfield_int(L, t, "cursor", 0, 0, LUA_MAXINTEGER);
    int per_batch = (int)qnn_lua_optfield_int(L, t, "per_batch", 1, 1, 1 << 20);
    const int *blocks, *boff;
    int nb = read_blocks(L, t, "blocks", n, &blocks, &boff, W);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, t, &local);
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, t, "anneal epoch");
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_anet_train_epoch(n, &o, X->data, X->ld, y, X->rows, batch, shuffle, eta, blocks,
                                  boff, nb, per_batch, &cursor, rng, &st, &pr.cb, &e);
    double el = now() - t0;
    qnn_lua_progress_done(&pr);
    qnn_lua_check_status(L, rc, &e, W);
    push_stats(L, &st, el);
    lua_pushinteger(L, cursor);
    lua_setfield(L, -2, "cursor");
    return 1;
}

/* IsingNet:train_batch(X, y [, opts]) -> stats (all rows one mini-batch, opts.active = spins) */
static int m_train_batch(lua_State *L) {
    const char *W = "IsingNet:train_batch";
    qnn_anet *n = check_net(L, 1);
    lua_settop(L, 4); /* optional arguments at fixed slots, scratch above */
    qnn_tensor *X = check_X(L, 2, n, W);
    int *y = check_y(L, 3, n, X->rows, W);
    int t = qnn_lua_checkopts(L, 4, TRAIN_OPTS) ? 4 : 0;
    qnn_anet_opts o;
    read_train_opts(L, t, &o, W);
    read_coord(L, t, n, &o, W);
    double eta = read_eta(L, t, W);
    unsigned char *act = NULL;
    if (t && lua_getfield(L, t, "active") != LUA_TNIL) {
        int a = lua_gettop(L);
        if (!lua_istable(L, a)) lerr(L, "%s: active must be a list of spin indices", W);
        act = scratch(L, (size_t)n->nspins, 1, W);
        int len = (int)lua_rawlen(L, a);
        for (int i = 1; i <= len; i++) {
            lua_rawgeti(L, a, i);
            int isint = 0;
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint || v < 1 || v > n->nspins)
                lerr(L, "%s: active[%d] must be a spin index in [1, %d]", W, i, n->nspins);
            act[v - 1] = 1;
            lua_pop(L, 1);
        }
    } else if (t) lua_pop(L, 1);
    size_t *idx = scratch(L, X->rows, sizeof(size_t), W);
    for (size_t k = 0; k < X->rows; k++) idx[k] = k;
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, t, &local);
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_anet_train_batch(n, &o, X->data, X->ld, y, idx, X->rows, eta, act, rng, &st, NULL, &e);
    qnn_lua_check_status(L, rc, &e, W);
    push_stats(L, &st, now() - t0);
    return 1;
}

/* IsingNet:feedforward(X) -> labels, scores[, states] */
static int m_feedforward(lua_State *L) {
    const char *W = "IsingNet:feedforward";
    qnn_anet *n = check_net(L, 1);
    lua_settop(L, 3); /* optional arguments at fixed slots, scratch above */
    qnn_tensor *X = check_X(L, 2, n, W);
    int no = n->sizes[n->nlayers - 1];
    size_t rows = X->ndim == 1 ? 1 : X->rows;
    for (size_t c = 0; X->ndim == 1 && c < X->cols; c++)
        if (!isfinite(X->data[c])) lerr(L, "%s: x[%zu] is not finite", W, c + 1);
    int want_states = lua_toboolean(L, 3);
    lua_createtable(L, (int)rows, 0);
    int lab = lua_gettop(L);
    qnn_tensor *S = qnn_lua_newtensor(L, rows, (size_t)no, 2);
    int sc = lua_gettop(L);
    int8_t *st = scratch(L, (size_t)n->nspins, 1, W);
    if (want_states) lua_createtable(L, (int)rows, 0);
    for (size_t r = 0; r < rows; r++) {
        int cls = qnn_anet_feedforward(n, X->data + r * X->ld, st, S->data + r * S->ld);
        if (cls < 0) lerr(L, "%s: out of memory", W);
        lua_pushinteger(L, cls + 1);
        lua_rawseti(L, lab, (lua_Integer)r + 1);
        if (want_states) {
            lua_createtable(L, n->nspins, 0);
            for (int g = 0; g < n->nspins; g++) {
                lua_pushinteger(L, st[g]);
                lua_rawseti(L, -2, g + 1);
            }
            lua_rawseti(L, -2, (lua_Integer)r + 1);
        }
    }
    lua_pushvalue(L, lab);
    lua_pushvalue(L, sc);
    if (want_states) {
        lua_pushvalue(L, -3);
        return 3;
    }
    return 2;
}

static void read_state(lua_State *L, int arg, const qnn_anet *n, int8_t *s, const char *W) {
    if (!lua_istable(L, arg) || (int)lua_rawlen(L, arg) != n->nspins)
        lerr(L, "%s: spins must be a table of %d spins (-1 or +1)", W, n->nspins);
    for (int g = 0; g < n->nspins; g++) {
        lua_rawgeti(L, arg, g + 1);
        int ok = 0;
        double v = lua_tonumberx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || (v != 1 && v != -1)) lerr(L, "%s: spins[%d] must be -1 or +1", W, g + 1);
        s[g] = (int8_t)v;
    }
}

static const double *read_x(lua_State *L, int arg, const qnn_anet *n, const char *W) {
    int pushed = 0;
    qnn_tensor *x = qnn_lua_totensor(L, arg, "x", &pushed);
    if (pushed) lua_replace(L, arg);
    if ((int)qnn_tensor_numel(x) != n->sizes[0] || x->rows != 1)
        lerr(L, "%s: x must be a vector of %d inputs", W, n->sizes[0]);
    for (int i = 0; i < n->sizes[0]; i++)
        if (!isfinite(x->data[i])) lerr(L, "%s: x[%d] is not finite", W, i + 1);
    return x->data;
}

static int m_energy(lua_State *L) {
    const char *W = "IsingNet:energy";
    qnn_anet *n = check_net(L, 1);
    const double *x = read_x(L, 2, n, W);
    int8_t *s = scratch(L, (size_t)n->nspins, 1, W);
    read_state(L, 3, n, s, W);
    double E;
    qnn_error e = {0};
    qnn_lua_check_status(L, qnn_anet_energy(n, x, s, &E, &e), &e, W);
    lua_pushnumber(L, E);
    return 1;
}

/* IsingNet:block(x, spins, block [, {label=, nudge=}]) -> {n=, h=, J=, offset=} */
static int m_block(lua_State *L) {
    const char *W = "IsingNet:block";
    qnn_anet *n = check_net(L, 1);
    lua_settop(L, 5); /* optional arguments at fixed slots, scratch above */
    const double *x = read_x(L, 2, n, W);
    int8_t *s = scratch(L, (size_t)n->nspins, 1, W);
    read_state(L, 3, n, s, W);
    luaL_checktype(L, 4, LUA_TTABLE);
    static const char *const allowed[] = {"label", "nudge", NULL};
    int t = qnn_lua_checkopts(L, 5, allowed) ? 5 : 0;
    int no = n->sizes[n->nlayers - 1];
    int label = (int)qnn_lua_optfield_int(L, t, "label", 0, 0, no) - 1;
    double nudge = qnn_lua_optfield_num(L, t, "nudge", 0.0, 0.0, 1e12);
    int k = (int)lua_rawlen(L, 4);
    if (k < 1 || k > n->nspins) lerr(L, "%s: block must list 1..%d spin indices", W, n->nspins);
    int *sub = scratch(L, (size_t)k, sizeof(int), W);
    for (int i = 0; i < k; i++) {
        lua_rawgeti(L, 4, i + 1);
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        lua_pop(L, 1);
        if (!isint || v < 1 || v > n->nspins) lerr(L, "%s: block[%d] must be a spin in [1, %d]", W, i + 1, n->nspins);
        sub[i] = (int)v - 1;
    }
    size_t cap = 1;
    for (int l = 1; l + 1 < n->nlayers; l++) cap += (size_t)n->sizes[l] * n->sizes[l + 1];
    double *h = scratch(L, (size_t)k, sizeof(double), W);
    double *w = scratch(L, cap, sizeof(double), W);
    int *ei = scratch(L, cap, sizeof(int), W);
    int *ej = scratch(L, cap, sizeof(int), W);
    size_t ne = 0;
    double off = 0;
    qnn_error e = {0};
    qnn_lua_check_status(L, qnn_anet_submodel(n, x, s, sub, k, label, nudge, h, ei, ej, w, cap,
                                              &ne, &off, &e), &e, W);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "n");
    lua_createtable(L, k, 0);
    for (int i = 0; i < k; i++) {
        lua_pushnumber(L, h[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "h");
    lua_createtable(L, (int)ne, 0);
    for (size_t q = 0; q < ne; q++) {
        lua_createtable(L, 3, 0);
        lua_pushinteger(L, ei[q] + 1);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, ej[q] + 1);
        lua_rawseti(L, -2, 2);
        lua_pushnumber(L, w[q]);
        lua_rawseti(L, -2, 3);
        lua_rawseti(L, -2, (lua_Integer)q + 1);
    }
    lua_setfield(L, -2, "J");
    lua_pushnumber(L, off);
    lua_setfield(L, -2, "offset");
    return 1;
}

static const char *const PRED_OPTS[] = {"sampler", "reads", "sweeps", "steps", "betas",
                                        "beta_range", "A", "B", "slices", "gamma", "beta", "T",
                                        "lambda", "budget", "best_of_slices", "control_noise",
                                        "blocks", "passes", "seed", "rng",
                                        "progress", NULL};

/* IsingNet:predict_anneal(X [, opts]) -> labels, scores, stats */
static int m_predict_anneal(lua_State *L) {
    const char *W = "IsingNet:predict_anneal";
    qnn_anet *n = check_net(L, 1);
    lua_settop(L, 3); /* optional arguments at fixed slots, scratch above */
    qnn_tensor *X = check_X(L, 2, n, W);
    size_t rows = X->ndim == 1 ? 1 : X->rows;
    int t = qnn_lua_checkopts(L, 3, PRED_OPTS) ? 3 : 0;
    /* the sampler fields live in the same table: copy them into a fresh one */
    int stab = 0;
    if (t) {
        lua_createtable(L, 0, 8);
        stab = lua_gettop(L);
        for (int i = 0; SAMPLER_OPTS[i]; i++) {
            lua_getfield(L, t, SAMPLER_OPTS[i]);
            lua_setfield(L, stab, SAMPLER_OPTS[i]);
        }
    }
    qnn_anet_sampler s;
    read_sampler(L, stab, &s, W);
    const int *blocks, *boff;
    int nb = read_blocks(L, t, "blocks", n, &blocks, &boff, W);
    int passes = (int)qnn_lua_optfield_int(L, t, "passes", 1, 1, 1000);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, t, &local);
    int no = n->sizes[n->nlayers - 1];
    lua_createtable(L, (int)rows, 0);
    int lab = lua_gettop(L);
    qnn_tensor *S = qnn_lua_newtensor(L, rows, (size_t)no, 2);
    int sc = lua_gettop(L);
    int *cls = scratch(L, rows, sizeof(int), W);
    double *buf = scratch(L, rows * (size_t)no, sizeof(double), W);
    qnn_anet_stats st;
    memset(&st, 0, sizeof st);
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, t, "anneal read-out");
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_anet_predict_anneal(n, &s, X->data, X->ld, rows, blocks, boff, nb, passes, rng,
                                     buf, cls, &st, &pr.cb, &e);
    double el = now() - t0;
    qnn_lua_progress_done(&pr);
    qnn_lua_check_status(L, rc, &e, W);
    for (size_t r = 0; r < rows; r++) {
        lua_pushinteger(L, cls[r] + 1);
        lua_rawseti(L, lab, (lua_Integer)r + 1);
        for (int k = 0; k < no; k++) S->data[r * S->ld + k] = buf[r * no + k];
    }
    lua_pushvalue(L, lab);
    lua_pushvalue(L, sc);
    push_stats(L, &st, el);
    return 3;
}

static int m_tostring(lua_State *L) {
    lnet *u = (lnet *)luaL_checkudata(L, 1, NET_T);
    if (!u->n) {
        lua_pushliteral(L, "qnn.IsingNet(closed)");
        return 1;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "qnn.IsingNet(");
    for (int l = 0; l < u->n->nlayers; l++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%s%d", l ? "-" : "", u->n->sizes[l]);
        luaL_addstring(&b, tmp);
    }
    char tmp[96];
    snprintf(tmp, sizeof tmp, ", %d spins, %zu couplings)", u->n->nspins, u->n->nJ);
    luaL_addstring(&b, tmp);
    luaL_pushresult(&b);
    return 1;
}

static int m_gc(lua_State *L) {
    lnet *u = (lnet *)luaL_checkudata(L, 1, NET_T);
    qnn_anet_free(u->n);
    u->n = NULL;
    return 0;
}

/* qnn.optim.anneal{...}: the Lua trainer in lua/qnn/methods/anneal.lua */
static int l_anneal(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn.methods.anneal");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

#define SAMPLER_DOC                                                                              \
    "Sampler tables: {sampler=\"sa\"|\"sqa\"|\"exact\"|\"grover\", reads (>= 1; exact: shots; "      \
    "grover: searches), sweeps (sa/sqa, >= 1), steps (exact Trotter steps), betas (sa: array of "  \
    "`sweeps` inverse temperatures; default geometric ln2/max|dE| -> ln100/min|dE| per anneal, or " \
    "beta_range={hot, cold}), A, B (sqa/exact: arrays of `sweeps`/`steps` values >= 0; default "    \
    "linear), slices (sqa, >= 2), gamma (sqa: Gamma = gamma*scale*A), beta (sqa: beta*slices/scale), " \
    "T (exact: time in units of 1/scale, H_P divided by its rms coefficient), lambda, budget "      \
    "(grover), best_of_slices (sqa: true = each read is its lowest-energy Trotter slice, the "      \
    "optimistic pre-0.2 behaviour; default false = one slice per read, like one hardware read), "   \
    "control_noise (>= 0: each anneal programs h and J with added Gaussian noise of sd "             \
    "control_noise * rms coefficient, drawn per anneal; default 0)}. exact and grover anneal at "    \
    "most 16 spins per phase."

#define TRAIN_DOC                                                                                \
    "Options: sampler (table for both phases) or free= / nudged= tables; nudge=\"strong\" (outputs " \
    "clamped to the +-1 one-hot target, default) or a finite field strength > 0 (field -nudge*t_k " \
    "on output k); weighting=\"counts\" (default: each read weighs 1/reads) | \"lowest\" (only the " \
    "lowest-energy reads); settle (zero-temperature passes relaxing the clamped environment in " \
    "block mode, default 2); l2 (weight decay, default 0); eta (learning rate >= 0, default 0.05); " \
    "seed or rng."

static const qnn_lua_reg methods[] = {
    {"sizes", m_sizes, "IsingNet:sizes() -> {in, hidden..., out}", "Returns the layer widths."},
    {"nspins", m_nspins, "IsingNet:nspins() -> integer",
     "Returns the number of spins (all layers but the input)."},
    {"nparams", m_nparams, "IsingNet:nparams() -> nparams, ncouplings",
     "Returns the parameter count (couplings + fields) and the coupling count."},
    {"layer_spins", m_layer_spins, "IsingNet:layer_spins(layer) -> first, last",
     "layer: 2..#sizes.\nReturns the global 1-based spin indices of that layer."},
    {"couplings", m_couplings, "IsingNet:couplings(k) -> Tensor",
     "k: 1..#sizes-1.\nReturns a copy of J_k (sizes[k] x sizes[k+1]) joining layers k and k+1 "
     "(k = 1: the input couplings). Energy E = sum h s + sum J s s (low energy favours "
     "s_i s_j = -sign J)."},
    {"set_couplings", m_set_couplings, "IsingNet:set_couplings(k, J) -> IsingNet",
     "k: 1..#sizes-1; J: Tensor or table sizes[k] x sizes[k+1], finite.\nOverwrites J_k."},
    {"fields", m_fields, "IsingNet:fields(layer) -> Tensor",
     "layer: 2..#sizes.\nReturns a copy of the fields h of that spin layer."},
    {"set_fields", m_set_fields, "IsingNet:set_fields(layer, h) -> IsingNet",
     "layer: 2..#sizes; h: sizes[layer] finite numbers.\nOverwrites the fields."},
    {"params", m_params, "IsingNet:params() -> Tensor",
     "Returns a copy of all parameters [J_1 | J_2 | ... | h] (row-major couplings)."},
    {"set_params", m_set_params, "IsingNet:set_params(p) -> IsingNet",
     "p: vector of nparams finite numbers (as returned by params).\nOverwrites all parameters."},
    {"copy", m_copy, "IsingNet:copy() -> IsingNet", "Returns an independent copy."},
    {"feedforward", m_feedforward, "IsingNet:feedforward(X [, states=false]) -> labels, scores [, states]",
     "X: samples x inputs (Tensor/table) or one input vector.\nFeed-forward sign read-out "
     "s_{l+1} = -sign(h + J^T s_l) (-sign(0) = +1); labels 1..K = argmax of the output "
     "pre-activations -(h + J^T s), scores (samples x K) those pre-activations; states=true also "
     "returns each sample's spins."},
    {"energy", m_energy, "IsingNet:energy(x, spins) -> number",
     "x: input vector; spins: nspins values -1/+1.\nReturns E(x, s) = sum h s + sum_i,p J1 x_i s_p + "
     "sum s_l^T J_l s_{l+1}."},
    {"block", m_block, "IsingNet:block(x, spins, block [, {label=, nudge=0}]) -> {n=, h=, J=, offset=}",
     "x: input vector; spins: nspins values -1/+1 (the clamped environment); block: list of spin "
     "indices; label 1..K with nudge > 0 adds -nudge*t_k to output fields.\nReturns the block's "
     "Ising model with the rest clamped, as arguments for qnn.ising.model (edge list J), and the "
     "offset such that E_block(s_block) + offset = E(x, s)."},
    {"epoch", m_epoch, "IsingNet:epoch(X, y [, opts]) -> stats",
     "X: samples x inputs; y: labels 1..K. One epoch of equilibrium propagation with mini-batches "
     "(batch, default 16; shuffle=true); blocks={{spin, ...}, ...}: every mini-batch visits "
     "per_batch (default 1) active blocks in turn, each with its own phases and update, starting "
     "at cursor (0-based, returned as stats.cursor). coordinate={{spin, ...}, ...}: block-coordinate "
     "phases: each phase starts from the feed-forward state (nudged: the free result with the "
     "outputs set to the target) and makes coord_passes (default 1) passes over these blocks, "
     "annealing each with the rest clamped and keeping its lowest-energy read (coord_pick=\"best\") "
     "or a uniformly drawn read (\"sample\"); coord_random=true re-partitions the blocks' spins "
     "at random every pass (blocks then straddle layers); correlations from the final states. " TRAIN_DOC " "
     SAMPLER_DOC "\nReturns {samples, sampler_calls, spins, sweeps, flip_attempts, queries, "
     "exact_steps, settle_attempts, free_errors, gap, updates, time, cursor}."},
    {"train_batch", m_train_batch, "IsingNet:train_batch(X, y [, opts]) -> stats",
     "All rows of X form one mini-batch; opts as for epoch plus active={spin, ...} (only those "
     "spins annealed, only their couplings and fields updated).\nReturns the stats table."},
    {"predict_anneal", m_predict_anneal,
     "IsingNet:predict_anneal(X [, opts]) -> labels, scores, stats",
     "opts: sampler options (" SAMPLER_DOC "), blocks (as for epoch; each annealed in turn, rest "
     "clamped, starting from the feed-forward state), passes (>= 1, default 1), seed/rng.\n"
     "Free-phase annealing read-out: scores = count-weighted mean output spins of the reads "
     "(ties broken by the feed-forward scores), labels = argmax."},
    {"close", m_gc, "IsingNet:close()", "Frees the net; later use raises \"IsingNet is closed\"."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {{"__tostring", m_tostring}, {"__gc", m_gc}, {"__close", m_gc},
                                {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"ising_net", l_ising_net,
     "qnn.optim.ising_net{in, hidden..., out [, init=\"uniform\", scale=1, seed=, rng=]} -> IsingNet",
     "Layer widths (2..64 layers, each 1..2^20; also as sizes={...}); init: \"uniform\" "
     "(U(-scale, scale)/sqrt(fan_in)) or \"gaussian\" (N(0, scale^2/fan_in)); scale > 0 or a list "
     "of #sizes-1 scales, one per coupling matrix (e.g. decreasing with depth so that bottom-up "
     "fields dominate top-down feedback); fields start at 0.\n"
     "Returns an Ising network: spins are neurons, couplings J between adjacent layers are the "
     "weights, fields h the biases; the input enters as fields J_1^T x on the first spin layer."},
    {"anneal", l_anneal,
     "qnn.optim.anneal{sizes={in, hidden..., out} | net=IsingNet, init=\"uniform\"|\"gaussian\", "
     "scale=1|{per layer}, sampler=\"sa\"|\"sqa\"|\"exact\"|\"grover\"|{...}, free=, nudged=, "
     "reads=4, sweeps=100, schedule=, nudge=\"strong\"|beta, eta=0.05|fn(epoch), batch=16, "
     "weighting=\"counts\"|\"lowest\", settle=2, l2=0, mode=\"full\"|\"coordinate\"|\"layers\"|"
     "\"block\"|\"blocks\", block=16, layers=, blocks=, per_batch=1|\"all\", passes=1, "
     "pick=\"best\"|\"sample\", random_blocks=false, readout={sampler...}, seed=1} -> AnnealTrainer",
     "Annealing-based trainer of Ising networks, our reading of arXiv 2506.05244: equilibrium "
     "propagation with a strong nudge (free phase: anneal with the input clamped as fields; "
     "nudged phase: outputs also clamped to the one-hot +-1 target, or a field -beta*t on them), "
     "dJ = -eta(<ss>_nudged - <ss>_free) in the convention E = sum h s + sum J s s. Sampler "
     "tables {sampler=, reads=, sweeps=, steps= (exact), schedule= (qnn.anneal schedule or "
     "function: beta(t) for sa, path s(t) for sqa/exact), beta_range=, slices=, gamma=, beta=, T=, "
     "lambda=, budget=}; exact and grover anneal <= 16 spins at a time. Modes: full (all spins per "
     "anneal); coordinate (blocks of <= block spins annealed one at a time, rest clamped, all "
     "parameters update); layers / block / blocks (active sets: only their couplings update). "
     "Returns a trainer: :fit(train, {epochs=, test=, on_epoch=, anneal_eval=}) -> history, "
     ":predict(X, {readout=\"feedforward\"|\"anneal\"}) -> labels, scores, :evaluate(data) -> "
     "error; fields net (the IsingNet) and cost (spins, couplings, sampler calls, sweeps, flip "
     "attempts, queries, exact steps, time). See docs/results/anneal.md."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(anneal_train) {
    qnn_lua_newclass(L, NET_T, methods, meta);
    qnn_lua_subtable(L, 1, "optim");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.optim.");
    lua_pop(L, 1);
    return 0;
}
