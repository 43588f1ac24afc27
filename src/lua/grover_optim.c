/* qnn.optim.grover (Method 1) and the GroverTrainer userdata it runs on.
 * Core: src/core/grover_optim.c (include/qnn/grover_optim.h). The epoch loop, schedules and
 * reporting are Lua: lua/qnn/methods/grover.lua. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn/grover_optim.h"
#include "qnn_lua.h"

#define TRAINER_T "qnn.GroverTrainer"

typedef struct ltrainer {
    qnn_gopt_eval *ev;
    qnn_tensor X;  /* owned copy of the training inputs */
    int *labels;   /* owned, 0-based */
    int closed;
} ltrainer;

static ltrainer *check_tr(lua_State *L, int arg) {
    ltrainer *t = (ltrainer *)luaL_checkudata(L, arg, TRAINER_T);
    if (t->closed || !t->ev) luaL_error(L, "GroverTrainer is closed");
    return t;
}

static void tr_release(ltrainer *t) {
    if (t->closed) return;
    qnn_gopt_eval_free(t->ev);
    t->ev = NULL;
    qnn_tensor_release(&t->X);
    free(t->labels);
    t->labels = NULL;
    t->closed = 1;
}

static int tr_gc(lua_State *L) {
    ltrainer *t = (ltrainer *)luaL_checkudata(L, 1, TRAINER_T);
    tr_release(t);
    return 0;
}

static int tr_tostring(lua_State *L) {
    ltrainer *t = (ltrainer *)luaL_checkudata(L, 1, TRAINER_T);
    if (t->closed) lua_pushliteral(L, "qnn.GroverTrainer(closed)");
    else
        lua_pushfstring(L, "qnn.GroverTrainer(%d dense layers, %d samples, loss %f)",
                        (int)qnn_gopt_eval_nlayers(t->ev), (int)t->X.rows,
                        qnn_gopt_eval_loss(t->ev));
    return 1;
}

/* qnn.optim.grover_trainer(net, X, y [, {l2=1e-3}]) */
static int l_trainer(lua_State *L) {
    const char *f = "qnn.optim.grover_trainer";
    struct qnn_net *net = qnn_lua_checknet(L, 1);
    int pushed = 0;
    qnn_tensor *X = qnn_lua_totensor(L, 2, "X", &pushed);
    if (pushed) lua_replace(L, 2);
    static const char *const opts[] = {"l2", NULL};
    int t = qnn_lua_checkopts(L, 4, opts) ? 4 : 0;
    double l2 = qnn_lua_optfield_num(L, t, "l2", 1e-3, 0.0, 1e10);
    if (X->ndim != 2 || X->rows == 0)
        luaL_error(L, "%s: X must be a non-empty 2-D Tensor (samples x features)", f);
    size_t B = X->rows, K = qnn_net_out_dim(net);
    qnn_tensor *yt = qnn_lua_testtensor(L, 3);
    size_t m;
    if (yt) m = qnn_tensor_numel(yt);
    else if (lua_istable(L, 3)) m = lua_rawlen(L, 3);
    else return qnn_lua_argerror(L, 3, "y", "must be a table or Tensor of labels 1..K");
    if (m != B) luaL_error(L, "%s: %d labels for %d rows of X", f, (int)m, (int)B);
    ltrainer *tr = (ltrainer *)lua_newuserdatauv(L, sizeof *tr, 1);
    memset(tr, 0, sizeof *tr);
    tr->closed = 1;
    luaL_setmetatable(L, TRAINER_T);
    lua_pushvalue(L, 1); /* keep the net alive */
    lua_setiuservalue(L, -2, 1);
    tr->labels = (int *)malloc(B * sizeof(int));
    if (!tr->labels) luaL_error(L, "%s: out of memory", f);
    tr->closed = 0;
    for (size_t s = 0; s < B; s++) {
        double v;
        if (yt) v = yt->data[(s / yt->cols) * yt->ld + s % yt->cols];
        else {
            lua_rawgeti(L, 3, (lua_Integer)s + 1);
            int ok;
            v = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok) v = NAN;
        }
        if (!(v >= 1 && v <= (double)K) || v != floor(v))
            luaL_error(L, "%s: label y[%d] must be an integer class in [1, %d], got %f", f,
                       (int)s + 1, (int)K, v);
        tr->labels[s] = (int)v - 1;
    }
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_tensor_copy(&tr->X, X)) luaL_error(L, "%s: out of memory", f);
    int rc = qnn_gopt_eval_new(&tr->ev, net, &tr->X, tr->labels, l2, &err);
    qnn_lua_check_status(L, rc, &err, f);
    return 1;
}

/* ---------------- Lua callbacks (pcall'ed; errors travel back as QNN_ECALLBACK) ---------------- */
typedef struct lcb {
    lua_State *L;
    int fn;         /* stack index of the Lua function */
    int info;       /* stack index of a reusable info table */
} lcb;

static void push_info(lua_State *L, int info, const qnn_gopt_weight_info *wi, size_t in) {
    lua_pushinteger(L, (lua_Integer)wi->layer + 1);
    lua_setfield(L, info, "layer");
    lua_pushinteger(L, (lua_Integer)wi->i + 1);
    lua_setfield(L, info, "i");
    lua_pushinteger(L, (lua_Integer)wi->j + 1);
    lua_setfield(L, info, "j");
    lua_pushboolean(L, wi->i == in);
    lua_setfield(L, info, "bias");
    lua_pushinteger(L, (lua_Integer)wi->N);
    lua_setfield(L, info, "N");
    lua_pushinteger(L, wi->n);
    lua_setfield(L, info, "n");
    lua_pushnumber(L, wi->current);
    lua_setfield(L, info, "current");
    lua_pushnumber(L, wi->current_loss);
    lua_setfield(L, info, "loss");
    lua_pushboolean(L, wi->output_layer);
    lua_setfield(L, info, "output");
}

static int cb_error(lua_State *L, qnn_error *err, const char *what) {
    const char *msg = lua_tostring(L, -1);
    qnn_error_set(err, QNN_ECALLBACK, "%s: %s", what, msg ? msg : "(error object)");
    lua_pop(L, 1);
    return QNN_ECALLBACK;
}

typedef struct pass_ctx {
    lcb cand, accept, oracle;
    size_t in; /* inputs of the layer being trained (bias index) */
} pass_ctx;

static int cb_candidates(void *ud, const qnn_gopt_weight_info *wi, double sigma, double alpha,
                         double *out, qnn_error *err) {
    pass_ctx *pc = (pass_ctx *)ud;
    lua_State *L = pc->cand.L;
    lua_pushvalue(L, pc->cand.fn);
    lua_pushnumber(L, wi->current);
    lua_pushnumber(L, sigma);
    lua_pushnumber(L, alpha);
    lua_pushinteger(L, (lua_Integer)wi->N);
    push_info(L, pc->cand.info, wi, pc->in);
    lua_pushvalue(L, pc->cand.info);
    if (lua_pcall(L, 5, 1, 0) != LUA_OK) return cb_error(L, err, "candidates");
    int rc = QNN_OK;
    if (!lua_istable(L, -1)) {
        rc = qnn_error_set(err, QNN_ECALLBACK, "candidates: must return a table of %zu numbers, "
                           "got %s", wi->N, luaL_typename(L, -1));
    } else if ((size_t)lua_rawlen(L, -1) != wi->N) {
        rc = qnn_error_set(err, QNN_ECALLBACK, "candidates: must return %zu numbers, got %zu",
                           wi->N, (size_t)lua_rawlen(L, -1));
    } else {
        for (size_t c = 0; c < wi->N && !rc; c++) {
            lua_rawgeti(L, -1, (lua_Integer)c + 1);
            int ok;
            double v = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok || !isfinite(v))
                rc = qnn_error_set(err, QNN_ECALLBACK,
                                   "candidates: entry %zu must be a finite number", c + 1);
            out[c] = v;
        }
    }
    lua_pop(L, 1);
    return rc;
}

static int cb_accept(void *ud, double old_loss, double new_loss, const qnn_gopt_weight_info *wi,
                     int *accept, qnn_error *err) {
    pass_ctx *pc = (pass_ctx *)ud;
    lua_State *L = pc->accept.L;
    lua_pushvalue(L, pc->accept.fn);
    lua_pushnumber(L, old_loss);
    lua_pushnumber(L, new_loss);
    push_info(L, pc->accept.info, wi, pc->in);
    lua_pushvalue(L, pc->accept.info);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) return cb_error(L, err, "accept");
    *accept = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return QNN_OK;
}

static int cb_oracle(void *ud, const double *losses, size_t N, const qnn_gopt_weight_info *wi,
                     size_t *chosen, qnn_gopt_cost *cost, qnn_error *err) {
    pass_ctx *pc = (pass_ctx *)ud;
    lua_State *L = pc->oracle.L;
    lua_pushvalue(L, pc->oracle.fn);
    lua_createtable(L, (int)N, 0);
    for (size_t c = 0; c < N; c++) {
        lua_pushnumber(L, losses[c]);
        lua_rawseti(L, -2, (lua_Integer)c + 1);
    }
    push_info(L, pc->oracle.info, wi, pc->in);
    lua_pushvalue(L, pc->oracle.info);
    if (lua_pcall(L, 2, 2, 0) != LUA_OK) return cb_error(L, err, "oracle");
    int rc = QNN_OK;
    if (lua_isnil(L, -2)) {
        *chosen = (size_t)-1;
    } else {
        int ok;
        lua_Integer k = lua_tointegerx(L, -2, &ok);
        if (!ok || k < 1 || (size_t)k > N)
            rc = qnn_error_set(err, QNN_ECALLBACK,
                               "oracle: must return a candidate index in [1, %zu] or nil", N);
        else *chosen = (size_t)k - 1;
    }
    if (!rc && !lua_isnil(L, -1)) {
        int ok;
        lua_Integer q = lua_tointegerx(L, -1, &ok);
        if (!ok || q < 0)
            rc = qnn_error_set(err, QNN_ECALLBACK,
                               "oracle: the second result (queries) must be an integer >= 0");
        else {
            cost->queries += (uint64_t)q;
            cost->queries_ideal += (uint64_t)q;
        }
    }
    cost->searches++;
    lua_pop(L, 2);
    return rc;
}

/* noise option: a qnn.noise model (the shared checker of every noise option) */
static int get_noise(lua_State *L, int t, qnn_noise *nm, const char *f) {
    lua_getfield(L, t, "noise");
    int present = qnn_lua_checknoise(L, -1, f, nm);
    lua_pop(L, 1);
    return present;
}

static const char *const pass_opts[] = {
    "layer", "alpha", "resolution", "oracle", "tol", "tol_hidden", "tol_output", "shots",
    "circuit", "noise", "seed", "rng", "candidates", "accept", "budget", "gates",
    "track_circuit", "progress", NULL};
static const char *const oracle_names[] = {"threshold", "durr_hoyer", NULL};
static const char *const circuit_names[] = {"textbook", "paper", NULL};

static void set_num(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}
static void set_int(lua_State *L, const char *k, uint64_t v) {
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* T:pass{layer=, alpha=, ...} -> info */
static int tr_pass(lua_State *L) {
    const char *f = "GroverTrainer:pass";
    ltrainer *tr = check_tr(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    qnn_lua_checkopts(L, 2, pass_opts);
    size_t D = qnn_gopt_eval_nlayers(tr->ev);
    if (lua_getfield(L, 2, "layer") == LUA_TNIL) luaL_error(L, "%s: option 'layer' is required", f);
    lua_pop(L, 1);
    lua_Integer layer = qnn_lua_optfield_int(L, 2, "layer", 1, 1, LUA_MAXINTEGER);
    if ((size_t)layer > D)
        luaL_error(L, "%s: layer %d does not exist: the net has %d dense layers", f, (int)layer,
                   (int)D);
    if (lua_getfield(L, 2, "alpha") == LUA_TNIL) luaL_error(L, "%s: option 'alpha' is required", f);
    lua_pop(L, 1);
    double alpha = qnn_lua_optfield_num(L, 2, "alpha", 0.5, -HUGE_VAL, HUGE_VAL);
    if (!(alpha > 0) || !isfinite(alpha))
        luaL_error(L, "%s: alpha must be a finite number > 0, got %f", f, alpha);
    int output = (size_t)layer == D;
    lua_Integer res_n = qnn_lua_optfield_int(L, 2, "resolution", output ? 64 : 32, 2,
                                             QNN_GOPT_MAX_RESOLUTION);
    int n = qnn_grover_qubits_for((size_t)res_n);
    double tol_h = qnn_lua_optfield_num(L, 2, "tol_hidden", 0.05, 0.0, 1e6);
    double tol_o = qnn_lua_optfield_num(L, 2, "tol_output", 0.1, 0.0, 1e6);
    if (lua_getfield(L, 2, "tol") != LUA_TNIL) {
        lua_pop(L, 1);
        tol_h = tol_o = qnn_lua_optfield_num(L, 2, "tol", 0.05, 0.0, 1e6);
    } else {
        lua_pop(L, 1);
    }
    lua_Integer shots = qnn_lua_optfield_int(L, 2, "shots", 1024, 1, (lua_Integer)1 << 40);
    int circ = qnn_lua_optfield_choice(L, 2, "circuit", circuit_names, 0);
    int gates = qnn_lua_optfield_bool(L, 2, "gates", 0);
    int track = qnn_lua_optfield_bool(L, 2, "track_circuit", 1);
    double budget = qnn_lua_optfield_num(L, 2, "budget", 0.0, 0.0, 1e15);
    qnn_noise nm;
    int noisy = get_noise(L, 2, &nm, f);
    qnn_error err;
    qnn_error_clear(&err);
    if (noisy) qnn_lua_check_status(L, qnn_noise_check(&nm, &err), &err, f);
    qnn_grover_form form = circ == 1 ? QNN_GROVER_PAPER : QNN_GROVER_TEXTBOOK;
    if (noisy && qnn_grover_form_qubits(form, n) > 14)
        luaL_error(L, "%s: with noise the Grover circuit runs on a Density (<= 14 qubits); "
                      "resolution %d needs %d", f, (int)res_n, qnn_grover_form_qubits(form, n));
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, 2, &local);

    /* engine: exact kernels when noise-free, the gate-level circuit otherwise */
    qnn_grover_circuit_engine ce;
    memset(&ce, 0, sizeof ce);
    ce.form = form;
    ce.noise = noisy ? &nm : NULL;
    ce.density = noisy;
    qnn_grover_engine eng_circ = {qnn_grover_circuit_probs, &ce};
    qnn_grover_engine eng_mix = {qnn_grover_paper_mixture_probs, NULL};
    const qnn_grover_engine *eng = NULL;
    if (noisy || gates) eng = &eng_circ;
    else if (form == QNN_GROVER_PAPER) eng = &eng_mix;

    pass_ctx pc;
    memset(&pc, 0, sizeof pc);
    size_t in;
    qnn_gopt_eval_shape(tr->ev, (size_t)layer - 1, &in, NULL, NULL);
    pc.in = in;
    lua_newtable(L);
    int info = lua_gettop(L);
    qnn_gopt_pass_opts o;
    memset(&o, 0, sizeof o);
    o.layer = (size_t)layer - 1;
    o.alpha = alpha;
    o.resolution = (size_t)res_n;
    qnn_gopt_threshold th = {.tol_hidden = tol_h, .tol_output = tol_o, .shots = (uint64_t)shots,
                             .form = form, .eng = eng, .rng = rng, .track_circuit = track};
    qnn_gopt_durr_hoyer dh = {.eng = eng, .form = form, .rng = rng, .budget = budget};
    lua_getfield(L, 2, "oracle");
    if (lua_isfunction(L, -1)) {
        pc.oracle = (lcb){L, lua_gettop(L), info};
        o.select = cb_oracle;
        o.select_ud = &pc;
    } else {
        lua_pop(L, 1);
        int which = qnn_lua_optfield_choice(L, 2, "oracle", oracle_names, 0);
        if (which == 0) {
            o.select = qnn_gopt_select_threshold;
            o.select_ud = &th;
        } else {
            o.select = qnn_gopt_select_durr_hoyer;
            o.select_ud = &dh;
        }
    }
    if (lua_getfield(L, 2, "candidates") != LUA_TNIL) {
        if (!lua_isfunction(L, -1))
            luaL_error(L, "%s: option 'candidates' must be a function(w, sigma, alpha, N, info)", f);
        pc.cand = (lcb){L, lua_gettop(L), info};
        o.candidates = cb_candidates;
        o.cand_ud = &pc;
    } else {
        lua_pop(L, 1);
    }
    if (lua_getfield(L, 2, "accept") != LUA_TNIL) {
        if (!lua_isfunction(L, -1))
            luaL_error(L, "%s: option 'accept' must be a function(old_loss, new_loss, info)", f);
        pc.accept = (lcb){L, lua_gettop(L), info};
        o.accept = cb_accept;
        o.accept_ud = &pc;
    } else {
        lua_pop(L, 1);
    }
    qnn_lua_progress pr;
    char label[48];
    snprintf(label, sizeof label, "grover layer %d", (int)layer);
    qnn_lua_progress_init(L, &pr, 2, label);
    o.progress = &pr.cb;
    qnn_gopt_pass_result res;
    int rc = qnn_gopt_layer_pass(tr->ev, &o, &res, &err);
    qnn_lua_progress_done(&pr);
    int interrupted = rc == QNN_EINTR;
    if (interrupted) qnn_interrupt_clear();
    else qnn_lua_check_status(L, rc, &err, f);
    lua_createtable(L, 0, 24);
    set_int(L, "layer", (uint64_t)layer);
    set_num(L, "alpha", alpha);
    set_num(L, "sigma", res.sigma);
    set_num(L, "loss_before", res.loss_before);
    set_num(L, "loss_after", res.loss_after);
    set_int(L, "visited", res.visited);
    set_int(L, "weights", res.cost.weights);
    set_int(L, "candidates", res.cost.candidates);
    set_int(L, "queries", res.cost.queries);
    set_int(L, "queries_ideal", res.cost.queries_ideal);
    set_int(L, "shots", res.cost.shots);
    set_int(L, "accepted", res.cost.accepted);
    set_int(L, "fallbacks", res.cost.fallbacks);
    set_int(L, "marked", res.cost.marked);
    set_int(L, "hits", res.cost.hits);
    set_int(L, "searches", res.cost.searches);
    set_int(L, "queries_to_best", res.cost.queries_to_best);
    set_int(L, "qubits", (uint64_t)(res.cost.qubits ? res.cost.qubits
                                                    : qnn_grover_form_qubits(form, n)));
    set_int(L, "depth", (uint64_t)res.cost.depth);
    set_int(L, "gates", res.cost.gates);
    set_num(L, "depth_sum", res.cost.depth_sum);
    set_num(L, "gates_sum", res.cost.gates_sum);
    set_num(L, "p_marked_sum", res.cost.p_marked_sum);
    set_int(L, "resolution", (uint64_t)res_n);
    set_int(L, "register", (uint64_t)n);
    lua_pushboolean(L, interrupted);
    lua_setfield(L, -2, "interrupted");
    return 1;
}

static int tr_loss(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    lua_pushnumber(L, qnn_gopt_eval_loss(tr->ev));
    return 1;
}

static int tr_refresh(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_gopt_eval_refresh(tr->ev, &err), &err, "GroverTrainer:refresh");
    lua_settop(L, 1);
    return 1;
}

static void check_lij(lua_State *L, ltrainer *tr, size_t *Lp, size_t *ip, size_t *jp) {
    size_t D = qnn_gopt_eval_nlayers(tr->ev);
    size_t layer = (size_t)qnn_lua_checkint(L, 2, "layer", 1, (lua_Integer)D) - 1;
    size_t in, out;
    int bias;
    qnn_gopt_eval_shape(tr->ev, layer, &in, &out, &bias);
    size_t i = (size_t)qnn_lua_checkint(L, 3, "i", 1, (lua_Integer)(in + (bias ? 1 : 0))) - 1;
    size_t j = (size_t)qnn_lua_checkint(L, 4, "j", 1, (lua_Integer)out) - 1;
    *Lp = layer;
    *ip = i;
    *jp = j;
}

static int tr_cands(lua_State *L, int naive) {
    const char *f = naive ? "GroverTrainer:candidates_naive" : "GroverTrainer:candidates";
    ltrainer *tr = check_tr(L, 1);
    size_t layer, i, j;
    check_lij(L, tr, &layer, &i, &j);
    luaL_checktype(L, 5, LUA_TTABLE);
    size_t N = lua_rawlen(L, 5);
    if (N < 1 || N > QNN_GOPT_MAX_RESOLUTION)
        luaL_error(L, "%s: candidates must hold 1..%d numbers", f, QNN_GOPT_MAX_RESOLUTION);
    double *buf = (double *)lua_newuserdatauv(L, 2 * N * sizeof(double), 0);
    for (size_t c = 0; c < N; c++) {
        lua_rawgeti(L, 5, (lua_Integer)c + 1);
        int ok;
        buf[c] = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(buf[c]))
            luaL_error(L, "%s: candidate %d must be a finite number", f, (int)c + 1);
        lua_pop(L, 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    int rc = naive ? qnn_gopt_eval_candidates_naive(tr->ev, layer, i, j, buf, N, buf + N, &err)
                   : qnn_gopt_eval_candidates(tr->ev, layer, i, j, buf, N, buf + N, &err);
    qnn_lua_check_status(L, rc, &err, f);
    lua_createtable(L, (int)N, 0);
    for (size_t c = 0; c < N; c++) {
        lua_pushnumber(L, buf[N + c]);
        lua_rawseti(L, -2, (lua_Integer)c + 1);
    }
    return 1;
}
static int tr_candidates(lua_State *L) { return tr_cands(L, 0); }
static int tr_candidates_naive(lua_State *L) { return tr_cands(L, 1); }

static int tr_set(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    size_t layer, i, j;
    check_lij(L, tr, &layer, &i, &j);
    double v = qnn_lua_checkfinite(L, 5, "value");
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_gopt_eval_set(tr->ev, layer, i, j, v, &err), &err,
                         "GroverTrainer:set");
    lua_settop(L, 1);
    return 1;
}

static int tr_nlayers(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    lua_pushinteger(L, (lua_Integer)qnn_gopt_eval_nlayers(tr->ev));
    return 1;
}

static int tr_shape(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    size_t D = qnn_gopt_eval_nlayers(tr->ev);
    size_t layer = (size_t)qnn_lua_checkint(L, 2, "layer", 1, (lua_Integer)D) - 1;
    size_t in, out;
    int bias;
    qnn_gopt_eval_shape(tr->ev, layer, &in, &out, &bias);
    lua_pushinteger(L, (lua_Integer)in);
    lua_pushinteger(L, (lua_Integer)out);
    lua_pushboolean(L, bias);
    return 3;
}

static int tr_sigma(lua_State *L) {
    ltrainer *tr = check_tr(L, 1);
    size_t D = qnn_gopt_eval_nlayers(tr->ev);
    size_t layer = (size_t)qnn_lua_checkint(L, 2, "layer", 1, (lua_Integer)D) - 1;
    lua_pushnumber(L, qnn_gopt_layer_sigma(tr->ev, layer));
    return 1;
}

static int tr_close(lua_State *L) {
    ltrainer *t = (ltrainer *)luaL_checkudata(L, 1, TRAINER_T);
    tr_release(t);
    return 0;
}

/* qnn.optim.grover{...}: the Lua loop in lua/qnn/methods/grover.lua */
static int l_grover(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn.methods.grover");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "train");
    lua_insert(L, 1);
    lua_pop(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static const qnn_lua_reg methods[] = {
    {"pass", tr_pass,
     "GroverTrainer:pass{layer=, alpha=, resolution=, oracle=\"threshold\", tol_hidden=0.05, "
     "tol_output=0.1, shots=1024, circuit=\"textbook\", noise=, seed=, candidates=, accept=, "
     "budget=} -> info",
     "layer: dense layer 1..D (required); alpha: finite > 0 (required); resolution: N in "
     "[2, 65536] (default 32 hidden / 64 output; padded to 2^n never-marked states); oracle: "
     "\"threshold\" (paper: marked <=> loss <= Lmin*(1+tol), k = max(1, floor(pi/4*sqrt(2^n/M))), "
     "most frequent of `shots` outcomes, padding -> classical arg-min) | \"durr_hoyer\" "
     "(qnn.grover.minimum over the candidate losses; budget = its query budget) | "
     "function(losses, info) -> index 1..N or nil [, queries]; tol (both layers), tol_hidden, "
     "tol_output: >= 0; shots >= 1; circuit: \"textbook\" | \"paper\" (the authors' circuit); "
     "noise: qnn.noise model (the circuit runs on a Density); candidates: function(w, sigma, "
     "alpha, N, info) -> N numbers; accept: function(old_loss, new_loss, info) -> boolean "
     "(default: strict decrease); gates=true: run the gate-level circuit even when noise-free; "
     "track_circuit=false: skip depth/gate counting; progress=false: no progress bar.\nOne pass over every weight of the layer "
     "(output neuron j outer, input i inner, bias last). Returns {layer, alpha, sigma, "
     "loss_before, loss_after, visited, weights, candidates, queries (iterations x shots), "
     "queries_to_best (durr_hoyer diagnostic), "
     "queries_ideal, shots, accepted, fallbacks, marked, hits, searches, qubits, depth, gates, "
     "depth_sum, gates_sum, p_marked_sum (threshold: sum of the exact one-shot probability of a "
     "marked outcome), resolution, register, interrupted}. Ctrl-C stops between weights "
     "(interrupted = true; the net keeps the accepted weights)."},
    {"loss", tr_loss, "GroverTrainer:loss() -> number",
     "Returns the current training loss (mean cross-entropy + l2*sum(w^2))."},
    {"refresh", tr_refresh, "GroverTrainer:refresh() -> self",
     "Recomputes the cached activations from the net (after changing weights elsewhere)."},
    {"candidates", tr_candidates, "GroverTrainer:candidates(layer, i, j, values) -> losses",
     "layer 1..D; i 1..in (in+1 = bias); j 1..out; values: table of finite numbers.\nReturns the "
     "training loss for each value of weight (i, j), computed incrementally (the net is not "
     "changed)."},
    {"candidates_naive", tr_candidates_naive,
     "GroverTrainer:candidates_naive(layer, i, j, values) -> losses",
     "As :candidates, by one full forward pass per value (reference and benchmark baseline)."},
    {"set", tr_set, "GroverTrainer:set(layer, i, j, value) -> self",
     "Indices as :candidates; value finite.\nSets the weight and updates the caches."},
    {"nlayers", tr_nlayers, "GroverTrainer:nlayers() -> integer", "Number of dense layers."},
    {"shape", tr_shape, "GroverTrainer:shape(layer) -> in, out, bias",
     "layer: 1..D.\nReturns the layer's input and output widths and whether it has a bias."},
    {"sigma", tr_sigma, "GroverTrainer:sigma(layer) -> number",
     "layer: 1..D.\nPopulation std of the layer's weights (1 if below 1e-12)."},
    {"close", tr_close, "GroverTrainer:close()", "Frees the caches now."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__gc", tr_gc}, {"__close", tr_gc}, {"__tostring", tr_tostring}, {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"grover_trainer", l_trainer,
     "qnn.optim.grover_trainer(net, X, y [, {l2=1e-3}]) -> GroverTrainer",
     "net: a Net of dense layers each followed by at most one elementwise activation (softmax "
     "only last); X: Tensor B x in (copied); y: labels 1..K; l2 >= 0.\nReturns the incremental "
     "candidate evaluator + layer-pass engine that qnn.optim.grover drives."},
    {"grover", l_grover,
     "qnn.optim.grover{net=, data=, test=, epochs=10, resolution=, l2=1e-3, oracle=\"threshold\", "
     "tol=, shots=1024, circuit=\"textbook\", noise=, schedule=, candidates=, accept=, seed=, "
     "on_epoch=, verbose=} -> result",
     "Method 1 (Grover-search weight optimisation, arXiv 2504.14568), coordinate-wise and layer "
     "by layer (hidden first, output last). net: Net (dense + elementwise activations, softmax "
     "last); data/test: Dataset or {X=, y=}; epochs >= 1; resolution: N >= 2 for every layer, "
     "or {hidden=32, output=64}, or a list per layer (N in [2, 65536]); l2 >= 0; oracle: "
     "\"threshold\" | \"durr_hoyer\" | function(losses, info); tol: number or {hidden=0.05, "
     "output=0.1}; shots >= 1; circuit: \"textbook\" | \"paper\"; noise: qnn.noise model; "
     "schedule: any table with :value(layer) and :update(layer, info) (default "
     "qnn.schedule.adaptive{}); candidates(w, sigma, alpha, N, info); accept(old, new, info); "
     "on_epoch(row) -> false stops; verbose=true: one line per layer pass and per epoch; "
     "progress=false: no bar (otherwise one live line for the run, one summary line at the end)."
     "\nCallback tables:\n"
     "  schedule:update(layer, info): info = {layer, epoch, pass (passes over this layer so far), "
     "loss_before, loss_after (training loss with L2 around the pass), accepted, visited (weights), "
     "output (true for the output layer), alpha}.\n"
     "  candidates(w, sigma, alpha, N, info), accept(old_loss, new_loss, info), oracle(losses, "
     "info): info = {layer, i, j (1-based weight indices; i = in+1 is the bias), bias, N "
     "(resolution), n (qubits), current (the weight's value), loss (current training loss), "
     "output}.\n"
     "  on_epoch(row): row = {epoch, train_loss (with L2), train_ce, train_acc, test_loss, "
     "test_ce, test_acc (with test=), wall (s), alpha (per layer), weights, candidates, queries, "
     "queries_ideal, shots, accepted, fallbacks, marked, hits, searches, queries_to_best, "
     "p_marked_sum, qubits, depth, gates, depth_mean, gates_mean, interrupted}.\n"
     "Returns {net, history = the rows (epoch 0 = the start), total (the cost fields summed), "
     "interrupted, resolution, schedule, l2}."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(grover_optim) {
    qnn_lua_newclass(L, TRAINER_T, methods, meta);
    qnn_lua_subtable(L, 1, "optim");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.optim.");
    lua_pop(L, 1);
    return 0;
}
