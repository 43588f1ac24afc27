/* qnn.nn.quantum_train (Quantum-Train generator with a DiffQAS candidate ensemble, metatable
 * qnn.QuantumTrain), qnn.nn.lstm (LSTM layer spec) and qnn.math.jn (Bessel J_n from libm).
 * The Lua half (ranking helpers, discretize, runners) is lua/qnn/methods/diffqas.lua. */
#define _GNU_SOURCE /* jn(), RTLD_NODELETE */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn/lstm.h"
#include "qnn/nn.h"
#include "qnn/qt.h"
#include "qnn/statevec.h"
#include "qnn_lua.h"

#define QT_T "qnn.QuantumTrain"
#define SPEC_MT "qnn.nn.layerspec"

/* user values of a QuantumTrain: 1 target Net (or nil), 2 carrier Net, 3 candidate list
 * {{name=, layer=fn}, ...}, 4 config table */
typedef struct lqt {
    qnn_qt *qt;
    int closed;
    double t_cf, t_cb, t_net, t_total; /* seconds of the last generate/backward */
    size_t nweights;                    /* p */
    qnn_lua_mem mem;
} lqt;

static int qt_isopen(const void *ud) {
    const lqt *u = (const lqt *)ud;
    return !u->closed && u->qt;
}
static const qnn_lua_life qt_life = {"QuantumTrain", qt_isopen, NULL};

static lqt *lqt_check(lua_State *L, int arg) {
    lqt *u = (lqt *)luaL_testudata(L, arg, QT_T);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "self", "must be a QuantumTrain, got %s",
                         tn ? tn : luaL_typename(L, arg));
    }
    if (u->closed || !u->qt) luaL_error(L, "QuantumTrain is closed");
    /* borrowed: the target net (user value 1) and the carrier net holding the trainable
     * vector (user value 2, its buffers are the generator's parameters) */
    qnn_lua_checkborrow(L, arg, 1);
    qnn_lua_checkborrow(L, arg, 2);
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_QUANTUM_TRAIN, qnn_qt_bytes(u->qt));
    return u;
}

/* the target net (NULL if the generator was made from a weight count); checks it is open */
static qnn_net *get_target(lua_State *L, int self) {
    qnn_net *n = NULL;
    if (lua_getiuservalue(L, self, 1) != LUA_TNIL) n = qnn_lua_checknet(L, -1);
    lua_pop(L, 1);
    return n;
}

/* checks the carrier net is open (its buffers hold the trainable vector) */
static void check_carrier(lua_State *L, int self) {
    lua_getiuservalue(L, self, 2);
    qnn_lua_checknet(L, -1);
    lua_pop(L, 1);
}

/* ---------------- carrier layer: holds the trainable vector for the optimizers ---------------- */
static int carrier_fwd(qnn_layer *l, const qnn_tensor *in, qnn_tensor *out, int train,
                       qnn_rng *rng, qnn_error *err) {
    (void)l, (void)train, (void)rng, (void)err;
    for (size_t i = 0; i < in->rows; i++) qnn_tensor_set(out, i, 0, qnn_tensor_get(in, i, 0));
    return QNN_OK;
}
static int carrier_bwd(qnn_layer *l, const qnn_tensor *in, const qnn_tensor *out,
                       const qnn_tensor *dout, qnn_tensor *din, qnn_error *err) {
    (void)l, (void)in, (void)out, (void)err;
    if (din)
        for (size_t i = 0; i < dout->rows; i++) qnn_tensor_set(din, i, 0, qnn_tensor_get(dout, i, 0));
    return QNN_OK;
}
static const qnn_layer_vtable carrier_vt = {"qt_params", carrier_fwd, carrier_bwd, NULL, NULL,
                                            NULL};

static int build_carrier(lua_State *L) {
    /* only the light userdata qnn.nn.sequential passes, never a full userdata from Lua */
    qnn_net *net = lua_islightuserdata(L, 1) ? (qnn_net *)lua_touserdata(L, 1) : NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "n");
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (!net || n < 1) return luaL_error(L, "qt_params: bad carrier spec");
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_net_add_layer(net, &carrier_vt, 1, 1, (size_t)n, NULL, NULL, &err);
    if (rc < 0) qnn_lua_check_status(L, -rc, &err, "qnn.nn.quantum_train");
    return 0;
}

/* qnn.nn.layer_loaders.qt_params: a saved carrier net loads back as a plain parameter holder */
static int l_carrier_loader(lua_State *L) {
    lua_Integer np = luaL_checkinteger(L, 3);
    lua_newtable(L);
    lua_pushliteral(L, "qt_params");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, np);
    lua_setfield(L, -2, "n");
    lua_pushcfunction(L, build_carrier);
    lua_setfield(L, -2, "_build");
    return 1;
}

/* ---------------- construction ---------------- */
static const char *const qt_opts[] = {"target", "depth", "pool", "mapping", "normalize", "gamma",
                                      "beta", "alpha", "seed", "rng", "theta_scale", "angles", NULL};
static const char *const norm_names[] = {"softmax", "none", NULL};
static const char *const act_names[] = {"relu", "tanh", "sigmoid", NULL};
static const char *const angle_names[] = {"shared", "per_candidate", NULL};
static const char *const map_opts[] = {"hidden", "activation", "init_scale", NULL};

static int l_qt_gc(lua_State *L) {
    lqt *u = (lqt *)luaL_checkudata(L, 1, QT_T);
    if (u->qt) {
        /* the carrier may already be collected: go back to the internal buffers without
         * reading the carrier's memory */
        qnn_qt_free(u->qt);
        u->qt = NULL;
    }
    qnn_lua_mem_release(L, &u->mem);
    u->closed = 1;
    return 0;
}

/* pushes the candidate list built from the pool value at index `pool` (nil -> default) */
static void push_candidates(lua_State *L, int pool) {
    pool = lua_absindex(L, pool);
    if (lua_isnil(L, pool) || lua_type(L, pool) == LUA_TSTRING) {
        const char *name = lua_isnil(L, pool) ? "diffqas" : lua_tostring(L, pool);
        lua_getglobal(L, "require");
        lua_pushfstring(L, "qnn.pools.%s", name);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK)
            luaL_error(L, "qnn.nn.quantum_train: cannot load pool '%s': %s", name,
                       lua_tostring(L, -1));
        lua_replace(L, pool);
    }
    if (!lua_istable(L, pool))
        qnn_lua_argerror(L, 1, "pool", "must be a list of candidates (functions or {name=, layer=fn}), got %s",
                         luaL_typename(L, pool));
    lua_Integer m = (lua_Integer)lua_rawlen(L, pool);
    if (m == 0)
        luaL_error(L, "qnn.nn.quantum_train: the candidate pool is empty (give at least one "
                      "candidate function)");
    lua_createtable(L, (int)m, 0);
    for (lua_Integer j = 1; j <= m; j++) {
        lua_rawgeti(L, pool, j);
        lua_createtable(L, 0, 2);
        if (lua_isfunction(L, -2)) {
            lua_pushvalue(L, -2);
            lua_setfield(L, -2, "layer");
            lua_pushfstring(L, "candidate %d", (int)j);
            lua_setfield(L, -2, "name");
        } else if (lua_istable(L, -2)) {
            if (lua_getfield(L, -2, "layer") != LUA_TFUNCTION) {
                lua_pop(L, 1);
                lua_rawgeti(L, -2, 2);
            }
            if (!lua_isfunction(L, -1))
                luaL_error(L, "qnn.nn.quantum_train: pool entry %d has no layer function "
                              "({name=, layer=function(circuit, names, nqubits, layer)})", (int)j);
            lua_setfield(L, -2, "layer");
            if (lua_getfield(L, -2, "name") != LUA_TSTRING) {
                lua_pop(L, 1);
                lua_rawgeti(L, -2, 1);
            }
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 1);
                lua_pushfstring(L, "candidate %d", (int)j);
            }
            lua_setfield(L, -2, "name");
        } else {
            luaL_error(L, "qnn.nn.quantum_train: pool entry %d must be a function or a table "
                          "{name=, layer=fn}, got %s", (int)j, luaL_typename(L, -2));
        }
        lua_rawseti(L, -3, j);
        lua_pop(L, 1);
    }
}

/* builds candidate j's circuit in Lua and adds it to qt */
static void add_candidate(lua_State *L, qnn_qt *qt, int cands, lua_Integer j) {
    int n = qnn_qt_nqubits(qt), depth = qnn_qt_depth(qt);
    lua_rawgeti(L, cands, j);
    int ent = lua_gettop(L);
    lua_getfield(L, ent, "name");
    const char *name = lua_tostring(L, -1);
    int nameidx = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "circuit");
    lua_pushinteger(L, n);
    lua_call(L, 1, 1); /* circuit */
    int circ = lua_gettop(L);
    for (int l = 1; l <= depth; l++) {
        lua_getfield(L, ent, "layer");
        lua_pushvalue(L, circ);
        lua_createtable(L, n, 0);
        for (int q = 0; q < n; q++) {
            lua_pushstring(L, qnn_qt_theta_name(qt, (size_t)(l - 1) * (size_t)n + (size_t)q));
            lua_rawseti(L, -2, q + 1);
        }
        lua_pushinteger(L, n);
        lua_pushinteger(L, l);
        if (lua_pcall(L, 4, 0, 0) != LUA_OK) {
            const char *msg = lua_tostring(L, -1);
            luaL_error(L, "qnn.nn.quantum_train: candidate '%s' (#%d) failed in layer %d "
                          "(circuit of %d qubits, 0..%d): %s",
                       name, (int)j, l, n, n - 1, msg ? msg : "(error object is not a string)");
        }
    }
    qnn_circuit *c = qnn_lua_checkcircuit(L, circ);
    qnn_error err;
    qnn_error_clear(&err);
    int st = qnn_qt_add_candidate(qt, c, name, &err);
    if (st) qnn_lua_check_status(L, st, &err, "qnn.nn.quantum_train");
    /* free the Lua-side circuit now (the generator keeps a copy) */
    lua_getfield(L, circ, "close");
    lua_pushvalue(L, circ);
    lua_call(L, 1, 0);
    (void)nameidx;
    lua_settop(L, ent - 1);
}

static int l_quantum_train(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, qt_opts);
    lua_settop(L, 1);
    qnn_qt_config cfg;
    qnn_qt_config_defaults(&cfg);
    /* target: a Net or a weight count */
    lua_getfield(L, 1, "target"); /* 2 */
    int have_net = 0;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        int ok = 0;
        lua_Integer p = lua_tointegerx(L, 2, &ok);
        if (!ok || p < 1)
            return luaL_error(L, "qnn.nn.quantum_train: target must be a Net or a weight count "
                                 ">= 1");
        if ((unsigned long long)p > (unsigned long long)QNN_QT_MAX_WEIGHTS)
            return luaL_error(L, "qnn.nn.quantum_train: target has %I weights, more than "
                                 "2^30 = 1073741824 (30 qubits at most)", p);
        cfg.ntarget = (size_t)p;
    } else if (!lua_isnil(L, 2)) {
        if (qnn_lua_isopen(L, 2) == 0)
            return luaL_error(L, "qnn.nn.quantum_train: option 'target' is a closed %s",
                              qnn_lua_typename(L, 2));
        qnn_net *net = qnn_lua_checknet(L, 2);
        if (net->nparams > QNN_QT_MAX_WEIGHTS)
            return luaL_error(L, "qnn.nn.quantum_train: target has %zu weights, more than "
                                 "2^30 = 1073741824 (30 qubits at most)", net->nparams);
        if (net->nparams < 1)
            return luaL_error(L, "qnn.nn.quantum_train: target net has no weights");
        cfg.ntarget = net->nparams;
        have_net = 1;
    } else {
        return luaL_error(L, "qnn.nn.quantum_train: option 'target' (a Net or a weight count) "
                             "is required");
    }
    lua_getfield(L, 1, "depth");
    if (lua_isnil(L, -1))
        return luaL_error(L, "qnn.nn.quantum_train: option 'depth' (integer >= 1) is required");
    lua_pop(L, 1);
    {
        lua_getfield(L, 1, "depth");
        int ok = 0;
        lua_Integer d = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || d < 1 || d > 100000)
            return luaL_error(L, "qnn.nn.quantum_train: depth must be an integer in [1, 100000]");
        cfg.depth = (int)d;
    }
    {
        /* refuse sizes that cannot run before building any candidate circuit */
        int nq = qnn_qt_qubits_for(cfg.ntarget);
        qnn_error serr;
        qnn_error_clear(&serr);
        if (qnn_state_check_size(nq, 1, &serr) != QNN_OK)
            return luaL_error(L, "qnn.nn.quantum_train: %d target weights need %d qubits: %s",
                              (int)cfg.ntarget, nq, serr.msg);
        qnn_lua_checkwork(L, "qnn.nn.quantum_train", "depth * qubits (gates per candidate)",
                          (double)cfg.depth * nq, 1e7, "lower depth");
        qnn_lua_checkwork(L, "qnn.nn.quantum_train", "depth * qubits * 2^qubits",
                          (double)cfg.depth * nq * ldexp(1.0, nq), QNN_LUA_MAX_WORK / 10,
                          "amplitude updates per candidate and generation; lower depth");
    }
    cfg.normalize = qnn_lua_optfield_choice(L, 1, "normalize", norm_names, 0);
    cfg.angles = qnn_lua_optfield_choice(L, 1, "angles", angle_names, 0);
    cfg.gamma = qnn_lua_optfield_num(L, 1, "gamma", 0.1, 1e-300, HUGE_VAL);
    cfg.beta = qnn_lua_optfield_num(L, 1, "beta", 0.8, 1e-300, HUGE_VAL);
    cfg.alpha = qnn_lua_optfield_num(L, 1, "alpha", 0.3, 1e-300, HUGE_VAL);
    double theta_scale = qnn_lua_optfield_num(L, 1, "theta_scale", 1.0, 0.0, 1e6);
    double map_scale = 1.0;
    lua_getfield(L, 1, "mapping"); /* 3 */
    if (!lua_isnil(L, 3)) {
        if (!lua_istable(L, 3))
            return luaL_error(L, "qnn.nn.quantum_train: mapping must be a table {hidden={...}, "
                                 "activation=\"relu\"|\"tanh\"|\"sigmoid\"}");
        qnn_lua_checkopts(L, 3, map_opts);
        cfg.activation = qnn_lua_optfield_choice(L, 3, "activation", act_names, 0);
        map_scale = qnn_lua_optfield_num(L, 3, "init_scale", 1.0, 0.0, 1e6);
        lua_getfield(L, 3, "hidden");
        if (!lua_isnil(L, -1)) {
            if (!lua_istable(L, -1))
                return luaL_error(L, "qnn.nn.quantum_train: mapping.hidden must be a list of "
                                     "widths");
            lua_Integer nh = (lua_Integer)lua_rawlen(L, -1);
            if (nh > QNN_QT_MAX_HIDDEN)
                return luaL_error(L, "qnn.nn.quantum_train: mapping.hidden has %d layers, at "
                                     "most %d", (int)nh, QNN_QT_MAX_HIDDEN);
            for (lua_Integer k = 1; k <= nh; k++) {
                lua_rawgeti(L, -1, k);
                int ok = 0;
                lua_Integer w = lua_tointegerx(L, -1, &ok);
                lua_pop(L, 1);
                if (!ok || w < 1 || w > 4096)
                    return luaL_error(L, "qnn.nn.quantum_train: mapping.hidden[%d] must be an "
                                         "integer in [1, 4096]", (int)k);
                cfg.hidden[k - 1] = (int)w;
            }
            cfg.nhidden = (int)nh;
        }
        lua_pop(L, 1);
    }
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, 1, &local);
    qnn_rng rcopy = *rng; /* candidates run Lua code: keep our own copy of the stream state */
    /* the userdata first, so errors below do not leak */
    lqt *u = (lqt *)lua_newuserdatauv(L, sizeof *u, 4); /* 4 */
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, QT_T);
    int self = lua_gettop(L);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qt_new(&u->qt, &cfg, &err), &err, "qnn.nn.quantum_train");
    u->nweights = cfg.ntarget;
    if (have_net) qnn_lua_borrow(L, self, 1, 2);
    /* candidates */
    lua_getfield(L, 1, "pool");
    push_candidates(L, -1);
    int cands = lua_gettop(L);
    lua_pushvalue(L, cands);
    lua_setiuservalue(L, self, 3);
    lua_Integer m = (lua_Integer)lua_rawlen(L, cands);
    for (lua_Integer j = 1; j <= m; j++) add_candidate(L, u->qt, cands, j);
    qnn_lua_check_status(L, qnn_qt_finalize(u->qt, &err), &err, "qnn.nn.quantum_train");
    qnn_lua_check_status(L, qnn_qt_init_params(u->qt, &rcopy, theta_scale, map_scale, &err), &err,
                         "qnn.nn.quantum_train");
    if (rng != &local) *rng = rcopy; /* advance the caller's stream */
    /* carrier net: qnn.nn.sequential{ {_build = build_carrier, n = np} } */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "nn");
    lua_getfield(L, -1, "sequential");
    lua_createtable(L, 1, 1);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "qt_params");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, (lua_Integer)qnn_qt_nparams(u->qt));
    lua_setfield(L, -2, "n");
    lua_pushcfunction(L, build_carrier);
    lua_setfield(L, -2, "_build");
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "seed");
    lua_call(L, 1, 1);
    qnn_net *carrier = qnn_lua_checknet(L, -1);
    qnn_lua_check_status(L, qnn_qt_use_buffers(u->qt, carrier->params, carrier->grads, &err), &err,
                         "qnn.nn.quantum_train");
    lua_setiuservalue(L, self, 2);
    lua_pop(L, 2);
    /* config table (for discretize and tostring) */
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, cfg.depth);
    lua_setfield(L, -2, "depth");
    lua_pushstring(L, norm_names[cfg.normalize]);
    lua_setfield(L, -2, "normalize");
    lua_pushstring(L, angle_names[cfg.angles]);
    lua_setfield(L, -2, "angles");
    lua_pushnumber(L, cfg.gamma);
    lua_setfield(L, -2, "gamma");
    lua_pushnumber(L, cfg.beta);
    lua_setfield(L, -2, "beta");
    lua_pushnumber(L, cfg.alpha);
    lua_setfield(L, -2, "alpha");
    lua_pushnumber(L, theta_scale);
    lua_setfield(L, -2, "theta_scale");
    lua_createtable(L, 0, 2);
    lua_createtable(L, cfg.nhidden, 0);
    for (int k = 0; k < cfg.nhidden; k++) {
        lua_pushinteger(L, cfg.hidden[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "hidden");
    lua_pushstring(L, act_names[cfg.activation]);
    lua_setfield(L, -2, "activation");
    lua_pushnumber(L, map_scale);
    lua_setfield(L, -2, "init_scale");
    lua_setfield(L, -2, "mapping");
    lua_setiuservalue(L, self, 4);
    lua_settop(L, self);
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_QUANTUM_TRAIN, qnn_qt_bytes(u->qt));
    return 1;
}

/* ---------------- methods ---------------- */
static int generate_into_target(lua_State *L, lqt *u, int self) {
    check_carrier(L, self);
    qnn_net *t = get_target(L, self);
    qnn_error err;
    qnn_error_clear(&err);
    if (t) {
        if (t->nparams != u->nweights)
            return luaL_error(L, "QuantumTrain: the target net now has %d weights, the generator "
                                 "makes %d", (int)t->nparams, (int)u->nweights);
        qnn_lua_check_status(L, qnn_qt_generate(u->qt, t->params, &u->t_cf, &err), &err,
                             "QuantumTrain:generate");
        return 0;
    }
    qnn_tensor *w = qnn_lua_newtensor(L, 1, u->nweights, 1);
    qnn_lua_check_status(L, qnn_qt_generate(u->qt, w->data, &u->t_cf, &err), &err,
                         "QuantumTrain:generate");
    return 1;
}

static int m_generate(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    if (generate_into_target(L, u, 1)) return 1;
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int m_backward(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    double t0 = omp_get_wtime();
    qnn_net *t = get_target(L, 1);
    if (!t)
        return luaL_error(L, "QuantumTrain:backward needs a target net (use "
                             "QuantumTrain:backprop(dweights) with a weight-count generator)");
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (!lua_isnoneornil(L, 4) && lua_type(L, 4) != LUA_TSTRING)
        return qnn_lua_argerror(L, 4, "loss", "must be \"cross_entropy\" or \"mse\"");
    lua_settop(L, 4);
    generate_into_target(L, u, 1);
    double t1 = omp_get_wtime();
    /* target:backward(X, y, loss) */
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "backward");
    lua_insert(L, -2);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    if (lua_isnil(L, 4)) lua_pushliteral(L, "cross_entropy");
    else lua_pushvalue(L, 4);
    lua_call(L, 4, 2);
    double t2 = omp_get_wtime();
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qt_backward(u->qt, t->grads, &u->t_cb, &err), &err,
                         "QuantumTrain:backward");
    double t3 = omp_get_wtime();
    u->t_total = t3 - t0;
    u->t_net = (t2 - t1) + (t3 - t2 - u->t_cb) + (t1 - t0 - u->t_cf);
    return 2;
}

static int m_backprop(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    check_carrier(L, 1);
    const double *g = NULL;
    if (lua_isnoneornil(L, 2)) {
        qnn_net *t = get_target(L, 1);
        if (!t)
            return luaL_error(L, "QuantumTrain:backprop: give dweights (no target net)");
        g = t->grads;
    } else {
        int pushed = 0;
        qnn_tensor *d = qnn_lua_totensor(L, 2, "dweights", &pushed);
        if (qnn_tensor_numel(d) != u->nweights || (d->ndim == 2 && d->rows != 1 && d->cols != 1))
            return qnn_lua_argerror(L, 2, "dweights", "must hold %d values, got %d",
                                    (int)u->nweights, (int)qnn_tensor_numel(d));
        if (d->ndim == 2 && d->cols == 1 && d->rows > 1 && d->ld != 1) {
            /* column vector with a stride: copy */
            double *tmp = (double *)lua_newuserdatauv(L, u->nweights * sizeof(double), 0);
            for (size_t i = 0; i < u->nweights; i++) tmp[i] = qnn_tensor_get(d, i, 0);
            g = tmp;
        } else {
            g = d->data;
        }
    }
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qt_backward(u->qt, g, &u->t_cb, &err), &err,
                         "QuantumTrain:backprop");
    return 0;
}

static int push_carrier_view(lua_State *L, int grads) {
    lqt *u = lqt_check(L, 1);
    check_carrier(L, 1);
    lua_getiuservalue(L, 1, 2);
    lua_getfield(L, -1, grads ? "grads" : "params");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    (void)u;
    return 1;
}
static int m_params(lua_State *L) { return push_carrier_view(L, 0); }
static int m_grads(lua_State *L) { return push_carrier_view(L, 1); }

static int m_zero_grad(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    check_carrier(L, 1);
    size_t n = qnn_qt_nparams(u->qt);
    double *g = qnn_qt_grads(u->qt);
    if (n && g) memset(g, 0, n * sizeof(double));
    lua_settop(L, 1);
    return 1;
}

static int m_trainable(lua_State *L) {
    lqt_check(L, 1);
    check_carrier(L, 1);
    lua_getiuservalue(L, 1, 2);
    return 1;
}

static int m_target(lua_State *L) {
    lqt_check(L, 1);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int m_step(lua_State *L) {
    lqt_check(L, 1);
    check_carrier(L, 1);
    if (!lua_isuserdata(L, 2) || !qnn_lua_typename(L, 2) ||
        strcmp(qnn_lua_typename(L, 2), "Optimizer") != 0) {
        const char *tn = qnn_lua_typename(L, 2);
        return qnn_lua_argerror(L, 2, "optimizer", "must be an Optimizer (qnn.optim.adam{...}), "
                                "got %s", tn ? tn : luaL_typename(L, 2));
    }
    lua_getfield(L, 2, "step");
    lua_pushvalue(L, 2);
    lua_getiuservalue(L, 1, 2);
    lua_call(L, 2, 1);
    return 1;
}

static int m_nparams(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    lua_pushinteger(L, (lua_Integer)qnn_qt_nparams(u->qt));
    lua_pushinteger(L, (lua_Integer)u->nweights);
    return 2;
}

static int m_layout(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    qnn_qt *q = u->qt;
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, (lua_Integer)qnn_qt_ntheta(q));
    lua_setfield(L, -2, "theta");
    lua_pushinteger(L, (lua_Integer)qnn_qt_nqubits(q) * qnn_qt_depth(q));
    lua_setfield(L, -2, "theta_per_candidate");
    lua_pushstring(L, angle_names[qnn_qt_angles(q)]);
    lua_setfield(L, -2, "angles");
    lua_pushinteger(L, (lua_Integer)qnn_qt_nstruct(q));
    lua_setfield(L, -2, "structural");
    lua_pushinteger(L, (lua_Integer)qnn_qt_nmapping(q));
    lua_setfield(L, -2, "mapping");
    lua_pushinteger(L, (lua_Integer)qnn_qt_nparams(q));
    lua_setfield(L, -2, "trained");
    lua_pushinteger(L, (lua_Integer)u->nweights);
    lua_setfield(L, -2, "target");
    lua_pushinteger(L, qnn_qt_nqubits(q));
    lua_setfield(L, -2, "qubits");
    lua_pushinteger(L, qnn_qt_depth(q));
    lua_setfield(L, -2, "depth");
    lua_pushinteger(L, qnn_qt_ncandidates(q));
    lua_setfield(L, -2, "candidates");
    lua_pushinteger(L, (lua_Integer)qnn_qt_cache_bytes(q));
    lua_setfield(L, -2, "cache_bytes");
    return 1;
}

static int m_mixture(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    check_carrier(L, 1);
    int m = qnn_qt_ncandidates(u->qt);
    double *s = (double *)lua_newuserdatauv(L, (size_t)m * sizeof(double), 0);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qt_mixture(u->qt, s, &err), &err, "QuantumTrain:mixture");
    lua_createtable(L, m, 0);
    for (int j = 0; j < m; j++) {
        lua_pushnumber(L, s[j]);
        lua_rawseti(L, -2, j + 1);
    }
    return 1;
}

static int m_candidates(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    int m = qnn_qt_ncandidates(u->qt);
    lua_createtable(L, m, 0);
    for (int j = 0; j < m; j++) {
        lua_pushstring(L, qnn_qt_candidate_name(u->qt, j));
        lua_rawseti(L, -2, j + 1);
    }
    return 1;
}

static int cmp_desc(const void *a, const void *b) {
    const double *x = (const double *)a, *y = (const double *)b;
    if (x[0] != y[0]) return x[0] < y[0] ? 1 : -1;
    return x[1] < y[1] ? -1 : (x[1] > y[1]);
}

static int m_ranking(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    check_carrier(L, 1);
    int m = qnn_qt_ncandidates(u->qt);
    double *s = (double *)lua_newuserdatauv(L, (size_t)m * 3 * sizeof(double), 0);
    double *pairs = s + m;
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qt_mixture(u->qt, s, &err), &err, "QuantumTrain:ranking");
    for (int j = 0; j < m; j++) {
        pairs[2 * j] = s[j];
        pairs[2 * j + 1] = (double)j;
    }
    qsort(pairs, (size_t)m, 2 * sizeof(double), cmp_desc);
    const double *w = qnn_qt_params(u->qt) + qnn_qt_ntheta(u->qt);
    lua_createtable(L, m, 0);
    for (int r = 0; r < m; r++) {
        int j = (int)pairs[2 * r + 1];
        lua_createtable(L, 0, 5);
        lua_pushinteger(L, r + 1);
        lua_setfield(L, -2, "rank");
        lua_pushinteger(L, j + 1);
        lua_setfield(L, -2, "index");
        lua_pushstring(L, qnn_qt_candidate_name(u->qt, j));
        lua_setfield(L, -2, "name");
        lua_pushnumber(L, s[j]);
        lua_setfield(L, -2, "weight");
        lua_pushnumber(L, m > 1 ? w[j] : 1.0);
        lua_setfield(L, -2, "raw");
        lua_rawseti(L, -2, r + 1);
    }
    return 1;
}

static int m_probs(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    int processed = lua_toboolean(L, 2);
    const double *p = processed ? qnn_qt_last_processed(u->qt) : qnn_qt_last_probs(u->qt);
    if (!p) return luaL_error(L, "QuantumTrain:probs: call generate() first");
    qnn_tensor *t = qnn_lua_newtensor(L, 1, u->nweights, 1);
    memcpy(t->data, p, u->nweights * sizeof(double));
    return 1;
}

static int m_timings(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushnumber(L, u->t_cf);
    lua_setfield(L, -2, "circuits_forward");
    lua_pushnumber(L, u->t_cb);
    lua_setfield(L, -2, "circuits_backward");
    lua_pushnumber(L, u->t_net);
    lua_setfield(L, -2, "network");
    lua_pushnumber(L, u->t_total);
    lua_setfield(L, -2, "total");
    return 1;
}

static int m_config(lua_State *L) {
    lqt_check(L, 1);
    lua_getiuservalue(L, 1, 4);
    lua_getiuservalue(L, 1, 3);
    return 2;
}

static int m_candidate_circuit(lua_State *L) {
    lqt *u = lqt_check(L, 1);
    int m = qnn_qt_ncandidates(u->qt);
    int j = (int)qnn_lua_checkint(L, 2, "j", 1, m);
    qnn_circuit *src = (qnn_circuit *)qnn_qt_candidate(u->qt, j - 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "circuit");
    lua_pushinteger(L, qnn_circuit_nqubits(src));
    lua_call(L, 1, 1);
    qnn_circuit *dst = qnn_lua_checkcircuit(L, -1);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_circuit_append(dst, src, NULL, &err), &err,
                         "QuantumTrain:circuit");
    /* current Theta values (candidate j's own block with per-candidate angles) */
    const double *th = qnn_qt_params(u->qt) + qnn_qt_candidate_theta(u->qt, j - 1);
    size_t nth = (size_t)qnn_qt_nqubits(u->qt) * (size_t)qnn_qt_depth(u->qt);
    for (size_t i = 0; i < nth; i++) {
        int k = qnn_circuit_param_index(dst, qnn_qt_theta_name(u->qt, i));
        if (k >= 0) qnn_circuit_set_param(dst, k, th[i], NULL);
    }
    return 1;
}

static int m_discretize(lua_State *L) {
    lqt_check(L, 1);
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn.diffqas");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "discretize");
    for (int i = 1; i <= top; i++) lua_pushvalue(L, i);
    lua_call(L, top, LUA_MULTRET);
    return lua_gettop(L) - top - 1;
}

static int m_tostring(lua_State *L) {
    lqt *u = (lqt *)luaL_checkudata(L, 1, QT_T);
    if (u->closed || !u->qt) {
        lua_pushliteral(L, "qnn.QuantumTrain(closed)");
        return 1;
    }
    qnn_qt *q = u->qt;
    lua_getiuservalue(L, 1, 4);
    lua_getfield(L, -1, "normalize");
    const char *norm = lua_tostring(L, -1);
    lua_pushfstring(L,
                    "qnn.QuantumTrain(%d qubits, depth %d, %d candidates, normalize=%s, "
                    "angles=%s: %d trained = %d theta + %d structural + %d mapping -> %d "
                    "target weights)",
                    qnn_qt_nqubits(q), qnn_qt_depth(q), qnn_qt_ncandidates(q), norm ? norm : "?",
                    angle_names[qnn_qt_angles(q)],
                    (int)qnn_qt_nparams(q), (int)qnn_qt_ntheta(q), (int)qnn_qt_nstruct(q),
                    (int)qnn_qt_nmapping(q), (int)u->nweights);
    return 1;
}

static int m_close(lua_State *L) {
    luaL_checkudata(L, 1, QT_T);
    return l_qt_gc(L);
}

/* ---------------- LSTM spec ---------------- */
static int build_lstm(lua_State *L) {
    /* only the light userdata qnn.nn.sequential passes, never a full userdata from Lua */
    qnn_net *net = lua_islightuserdata(L, 1) ? (qnn_net *)lua_touserdata(L, 1) : NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!net) return luaL_error(L, "lstm: bad net handle");
    lua_getfield(L, 2, "input");
    lua_getfield(L, 2, "hidden");
    lua_getfield(L, 2, "steps");
    lua_Integer in = lua_tointeger(L, -3), hid = lua_tointeger(L, -2), T = lua_tointeger(L, -1);
    lua_pop(L, 3);
    if (net->nlayers > 0 && net->layers[net->nlayers - 1].out != (size_t)(in * T))
        return luaL_error(L, "qnn.nn.sequential: lstm(%d x %d steps) follows a layer with %d "
                             "outputs", (int)in, (int)T, (int)net->layers[net->nlayers - 1].out);
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_net_add_lstm(net, (size_t)in, (size_t)T, (size_t)hid, &err);
    if (rc < 0) qnn_lua_check_status(L, -rc, &err, "qnn.nn.lstm");
    lua_getfield(L, 2, "seed");
    if (lua_isinteger(L, -1)) {
        net->layers[rc].has_seed = 1;
        net->layers[rc].seed = (uint64_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return 0;
}

static void push_lstm_spec(lua_State *L, lua_Integer in, lua_Integer hid, lua_Integer T) {
    lua_createtable(L, 0, 8);
    lua_pushliteral(L, "lstm");
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, in);
    lua_setfield(L, -2, "input");
    lua_pushinteger(L, hid);
    lua_setfield(L, -2, "hidden");
    lua_pushinteger(L, T);
    lua_setfield(L, -2, "steps");
    lua_pushinteger(L, in * T);
    lua_setfield(L, -2, "in");
    lua_pushinteger(L, hid);
    lua_setfield(L, -2, "out");
    lua_pushcfunction(L, build_lstm);
    lua_setfield(L, -2, "_build");
    luaL_setmetatable(L, SPEC_MT);
}

static const char *const lstm_opts[] = {"steps", "seed", NULL};

static int l_lstm(lua_State *L) {
    lua_Integer in = qnn_lua_checkint(L, 1, "in", 1, 1 << 20);
    lua_Integer hid = qnn_lua_checkint(L, 2, "hidden", 1, 1 << 20);
    int t = qnn_lua_checkopts(L, 3, lstm_opts) ? 3 : 0;
    lua_Integer T = qnn_lua_optfield_int(L, t, "steps", 1, 1, 1 << 20);
    if (in * T > 0x7fffffff)
        return qnn_lua_argerror(L, 3, "steps", "in * steps must be < 2^31");
    if (t) {
        lua_getfield(L, t, "seed");
        int has = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (has) (void)qnn_lua_optfield_int(L, t, "seed", 0, LUA_MININTEGER, LUA_MAXINTEGER);
    }
    push_lstm_spec(L, in, hid, T);
    if (t) {
        lua_getfield(L, t, "seed");
        lua_setfield(L, -2, "seed");
    }
    return 1;
}

static int l_lstm_loader(lua_State *L) {
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_rawgeti(L, 4, 1);
    lua_rawgeti(L, 4, 2);
    lua_rawgeti(L, 4, 3);
    lua_Integer in = (lua_Integer)lua_tonumber(L, -3), T = (lua_Integer)lua_tonumber(L, -2),
                hid = (lua_Integer)lua_tonumber(L, -1);
    lua_pop(L, 3);
    if (in < 1 || T < 1 || hid < 1) return luaL_error(L, "qnn.nn.load: bad lstm layer record");
    push_lstm_spec(L, in, hid, T);
    return 1;
}

/* ---------------- qnn.math.jn ---------------- */
static int l_jn(lua_State *L) {
    lua_Integer n = qnn_lua_checkint(L, 1, "n", -100000, 100000);
    if (lua_istable(L, 2) || qnn_lua_testtensor(L, 2)) {
        int pushed = 0;
        qnn_tensor *x = qnn_lua_totensor(L, 2, "x", &pushed);
        qnn_tensor *y = qnn_lua_newtensor(L, x->rows, x->cols, x->ndim);
        for (size_t i = 0; i < x->rows; i++)
            for (size_t j = 0; j < x->cols; j++)
                qnn_tensor_set(y, i, j, jn((int)n, qnn_tensor_get(x, i, j)));
        return 1;
    }
    double x = qnn_lua_checkfinite(L, 2, "x");
    lua_pushnumber(L, jn((int)n, x));
    return 1;
}

static const qnn_lua_reg methods[] = {
    {"generate", m_generate, "QuantumTrain:generate() -> target Net | Tensor",
     "Runs every candidate circuit, mixes their probabilities with the structural weights, "
     "post-processes and maps them to the p target weights (mean-subtracted) and writes them "
     "into the target net's parameters. Returns the target net (a 1-D Tensor of the p weights "
     "for a generator made from a weight count)."},
    {"backward", m_backward,
     "QuantumTrain:backward(X, y [, loss=\"cross_entropy\"|\"mse\"]) -> loss, correct",
     "X: B x in inputs of the target net; y: labels (cross entropy, 1-based) or B x out values "
     "(mse).\ngenerate(), then the target's forward + loss + backward, then the gradient of the "
     "whole trainable vector (theta, structural weights, mapping) through the mapping model, "
     "the post-processing and each candidate circuit's vector-Jacobian product. Overwrites "
     "grads(). Returns the batch loss and the number of correct arg-max predictions."},
    {"backprop", m_backprop, "QuantumTrain:backprop([dweights]) ",
     "dweights: p values dL/dweights (Tensor or table); default: the target net's current "
     "gradients (after Net:backward / Net:backward_output, e.g. a policy-gradient loss).\n"
     "Fills grads() from the last generate(). Returns nothing."},
    {"params", m_params, "QuantumTrain:params() -> Tensor view",
     "The trainable vector (flat 1-D view, writes go through): theta (depth*n shared angles, "
     "layer-major, qubit-minor; with angles=\"per_candidate\" one such block per candidate, in "
     "pool order) | structural weights (one per candidate; none with one "
     "candidate) | mapping parameters (per dense layer W (in x out) then b). See layout()."},
    {"zero_grad", m_zero_grad, "QuantumTrain:zero_grad() -> QuantumTrain",
     "Sets the trainable gradient to 0 (parameter protocol: params(), grads(), zero_grad(); "
     "any optimizer steps a QuantumTrain with opt:step(qt))."},
    {"grads", m_grads, "QuantumTrain:grads() -> Tensor view",
     "Gradient of the trainable vector (same layout as params()), filled by backward()."},
    {"trainable", m_trainable, "QuantumTrain:trainable() -> Net",
     "A parameter-holder Net whose params()/grads() ARE this generator's trainable vector, so "
     "optimizers step it: opt:step(qt:trainable())."},
    {"step", m_step, "QuantumTrain:step(opt) -> lr",
     "opt: a qnn.optim optimizer.\nOne optimizer update of the trainable vector from grads(). "
     "Returns the learning rate used."},
    {"target", m_target, "QuantumTrain:target() -> Net | nil", "The target network."},
    {"nparams", m_nparams, "QuantumTrain:nparams() -> trained, target",
     "Returns the number of trained parameters (theta + structural weights + mapping) and the "
     "number of target weights p they generate."},
    {"layout", m_layout, "QuantumTrain:layout() -> table",
     "Returns {theta=, theta_per_candidate=, angles=, structural=, mapping=, trained=, target=, "
     "qubits=, depth=, candidates=, cache_bytes=} (theta: angles in the trainable vector, "
     "theta_per_candidate = depth * qubits, angles: \"shared\" or \"per_candidate\"; cache_bytes: the candidates' output states kept from the last generate so "
     "backward skips their forward runs; 0 before the first generate or when m x 2^n x 16 bytes "
     "exceeds 1 GiB or QNN_MAX_BYTES)."},
    {"mixture", m_mixture, "QuantumTrain:mixture() -> table",
     "The current ensemble coefficients s_j (softmax of the structural weights, or the raw "
     "weights with normalize=\"none\"), one per candidate in pool order."},
    {"candidates", m_candidates, "QuantumTrain:candidates() -> table",
     "Candidate names in pool order."},
    {"ranking", m_ranking, "QuantumTrain:ranking() -> table",
     "Candidates sorted by ensemble coefficient (largest first): list of {rank=, index=, "
     "name=, weight= (coefficient s_j), raw= (structural weight w_j)}."},
    {"probs", m_probs, "QuantumTrain:probs([processed=false]) -> Tensor",
     "Ensemble probabilities of the first p basis states from the last generate(); with "
     "processed=true the post-processed, mean-subtracted values fed to the mapping model."},
    {"timings", m_timings, "QuantumTrain:timings() -> table",
     "Seconds of the last generate/backward: {circuits_forward=, circuits_backward=, network= "
     "(target net + mapping + post-processing), total=}."},
    {"config", m_config, "QuantumTrain:config() -> config, candidates",
     "The options the generator was made with ({depth=, normalize=, angles=, gamma=, beta=, alpha=, "
     "theta_scale=, mapping={hidden=, activation=}}) and its candidate list {{name=, layer=fn}, "
     "...}."},
    {"circuit", m_candidate_circuit, "QuantumTrain:circuit(j) -> Circuit",
     "j: candidate index in [1, m].\nA copy of candidate j's full circuit with its current "
     "angles (the shared ones, or its own block with angles=\"per_candidate\")."},
    {"discretize", m_discretize,
     "QuantumTrain:discretize(k [, {evaluate=fn, X=, y=, loss=}]) -> table",
     "Keeps the top k candidates of ranking() and re-evaluates each standalone (same theta and "
     "mapping, one candidate) and the top-k ensemble; see qnn.diffqas.discretize."},
    {"close", m_close, "QuantumTrain:close()",
     "Frees the generator now; later use raises \"QuantumTrain is closed\"."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__tostring", m_tostring}, {"__gc", l_qt_gc}, {"__close", l_qt_gc}, {NULL, NULL}};

static const qnn_lua_reg nn_funcs[] = {
    {"quantum_train", l_quantum_train,
     "qnn.nn.quantum_train{target=, depth=, pool=, mapping={hidden={...}, activation=\"relu\", init_scale=1}, "
     "normalize=\"softmax\", angles=\"shared\", gamma=0.1, beta=0.8, alpha=0.3, theta_scale=1, seed=} -> QuantumTrain",
     "Quantum-Train generator with a differentiable architecture-search ensemble (DiffQAS-QT).\n"
     "target: a Net (its p = nparams weights are generated) or a weight count p in [1, 2^30]; "
     "depth: integer >= 1 (layers); pool: list of candidates, each a function(circuit, names, "
     "nqubits, layer) appending ONE layer to a qnn.Circuit given the layer's shared angle names "
     "(names[q+1] for qubit q), or {name=, layer=fn}; default (nil or \"diffqas\"): the 12 "
     "candidates of lua/qnn/pools/diffqas.lua; mapping: hidden widths (each 1..4096, at most 8) "
     "and activation of the mapping model (default linear n+1 -> 1; init_scale >= 0 multiplies "
     "the initial range U(+-1/sqrt(in)) of its LAST layer); normalize: \"softmax\" "
     "or \"none\" (ensemble = sum_j s_j p_j with s = softmax(w) or w); angles: \"shared\" (the "
     "paper's: every candidate uses the same depth*n angles) or \"per_candidate\" (each candidate "
     "its own depth*n angles: m times as many trained angles); gamma, beta, alpha > 0: "
     "post-processing x = (beta tanh(gamma 2^(n-1) p))^alpha; theta_scale >= 0: theta ~ "
     "U(-pi, pi) * scale; seed/rng: initialisation stream.\nn = ceil(log2 p) qubits. Errors "
     "name the candidate whose function fails or adds a gate on a missing qubit. Returns a "
     "QuantumTrain (see its methods)."},
    {"lstm", l_lstm, "qnn.nn.lstm(in, hidden [, {steps=1, seed=}]) -> layer",
     "in: features per step in [1, 2^20]; hidden: units in [1, 2^20]; steps: time steps T.\n"
     "LSTM layer (gates i, f, g, o; one bias per gate; backprop through time). Input B x "
     "(T*in) (row = x_1..x_T, time-major), output B x hidden = h_T. Parameters 4*hidden*(in + "
     "hidden) + 4*hidden (LSTM(1->20): 1,760). Returns a layer spec for qnn.nn.sequential."},
    {NULL, NULL, NULL, NULL}};

static const qnn_lua_reg math_funcs[] = {
    {"jn", l_jn, "qnn.math.jn(n, x) -> number | Tensor",
     "n: integer order in [-100000, 100000]; x: finite number, or a Tensor/table (elementwise).\n"
     "Bessel function of the first kind J_n(x) from the C library (POSIX jn)."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(qt) {
    qnn_lua_newclass(L, QT_T, methods, meta);
    qnn_lua_setlife(L, QT_T, &qt_life);
    qnn_lua_subtable(L, 1, "nn");
    qnn_lua_setfuncs(L, -1, nn_funcs, "qnn.nn.");
    if (lua_getfield(L, -1, "layer_loaders") == LUA_TTABLE) {
        lua_pushcfunction(L, l_lstm_loader);
        qnn_lua_document(L, -1, "qnn.nn.layer_loaders.lstm",
                         "qnn.nn.layer_loaders.lstm(in, out, nparams, fparam) -> layer",
                         "Rebuilds an lstm spec from a checkpoint (used by qnn.nn.load).");
        lua_setfield(L, -2, "lstm");
        lua_pushcfunction(L, l_carrier_loader);
        qnn_lua_document(L, -1, "qnn.nn.layer_loaders.qt_params",
                         "qnn.nn.layer_loaders.qt_params(in, out, nparams, fparam) -> layer",
                         "Rebuilds a QuantumTrain parameter holder from a checkpoint.");
        lua_setfield(L, -2, "qt_params");
    }
    lua_pop(L, 2);
    qnn_lua_subtable(L, 1, "math");
    qnn_lua_setfuncs(L, -1, math_funcs, "qnn.math.");
    lua_pop(L, 1);
    return 0;
}
