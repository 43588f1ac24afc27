/* qnn.nn.qubit_activation (natural quantization), the single-neuron closed form, shot-based
 * inference, and Net:predict(X, {shots=}) (wraps the Net:predict of src/lua/nn.c: without an
 * options table the original runs). Physics and conventions: include/qnn/qubit_act.h. */
#include <math.h>
#include <string.h>

#include "qnn/nn.h"
#include "qnn/qubit_act.h"
#include "qnn_lua.h"

#define QPI 3.14159265358979323846
#define SPEC_MT "qnn.nn.layerspec"

static const char *const mode_names[] = {"custom", "rotation", "weak", "both", "classical", NULL};
static const char *const reg_names[] = {"shared", "fresh", NULL};
static const char *const rule_names[] = {"exact", "authors", NULL};
static const char *const noise_names[] = {"none", "dephasing", "depolarizing", NULL};

/* noise = {kind = "dephasing" | "depolarizing", p = number in [0, 1]} (nil/false: none) */
static void read_noise(lua_State *L, int t, qnn_qact_params *p, const char *fname) {
    lua_getfield(L, t, "noise");
    int nt = lua_gettop(L);
    if (lua_isnil(L, nt) || (lua_isboolean(L, nt) && !lua_toboolean(L, nt))) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, nt))
        luaL_error(L, "%s: bad option 'noise' (must be a table {kind=\"dephasing\"|\"depolarizing\", "
                      "p=number in [0, 1]} or nil), got %s", fname, luaL_typename(L, nt));
    lua_pushnil(L);
    while (lua_next(L, nt)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!k || (strcmp(k, "kind") != 0 && strcmp(k, "p") != 0))
            luaL_error(L, "%s: bad option 'noise' (unknown key '%s'; allowed: kind, p)", fname,
                       k ? k : luaL_typename(L, -1));
    }
    lua_getfield(L, nt, "kind");
    const char *kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int ki = -1;
    for (int i = 1; kind && noise_names[i]; i++)
        if (strcmp(kind, noise_names[i]) == 0) ki = i;
    if (ki < 0)
        luaL_error(L, "%s: bad option 'noise.kind' (must be \"dephasing\" or \"depolarizing\"), "
                      "got %s", fname,
                   kind ? lua_pushfstring(L, "\"%s\"", kind) : luaL_typename(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, nt, "p");
    int isnum = lua_type(L, -1) == LUA_TNUMBER;
    double q = lua_tonumber(L, -1);
    if (!isnum || !(q >= 0.0 && q <= 1.0))
        luaL_error(L, "%s: bad option 'noise.p' (must be a number in [0, 1]), got %s", fname,
                   isnum ? lua_pushfstring(L, "%f", q) : luaL_typename(L, -1));
    lua_pop(L, 2);
    p->noise = ki;
    p->noise_p = q;
}

/* reads the parameter table at t (validated) into p */
static void read_params(lua_State *L, int t, qnn_qact_params *p, const char *fname) {
    qnn_qact_defaults(p);
    int mode = t ? qnn_lua_optfield_choice(L, t, "mode", mode_names, 0) : 0;
    int has_a = 0, has_g = 0;
    if (t) {
        lua_getfield(L, t, "a");
        has_a = !lua_isnil(L, -1);
        lua_getfield(L, t, "g");
        has_g = !lua_isnil(L, -1);
        lua_pop(L, 2);
    }
    double def_a = (mode == 1 || mode == 3) ? 0.316 : 0.0;
    double def_g = (mode == 2 || mode == 3) ? 5 * QPI / 19 : QPI / 2;
    /* a < 0, NaN, inf; g outside (0, pi/2] */
    if (has_a) {
        lua_getfield(L, t, "a");
        int isnum = lua_type(L, -1) == LUA_TNUMBER;
        double a = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (!isnum || !(a >= 0) || !isfinite(a))
            luaL_error(L, "%s: bad option 'a' (must be a finite number >= 0; 0 = sign(z)), got %s",
                       fname, isnum ? lua_pushfstring(L, "%f", a) : "a non-number");
        p->a = a;
    } else {
        p->a = def_a;
    }
    if (has_g) {
        lua_getfield(L, t, "g");
        int isnum = lua_type(L, -1) == LUA_TNUMBER;
        double g = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (!isnum || !(g > 0) || !(g <= QPI / 2 + 1e-12))
            luaL_error(L, "%s: bad option 'g' (must be in (0, pi/2]; pi/2 = projective), got %s",
                       fname, isnum ? lua_pushfstring(L, "%f", g) : "a non-number");
        p->g = g;
    } else {
        p->g = def_g;
    }
    if (mode == 1 && p->a <= 0)
        luaL_error(L, "%s: mode \"rotation\" needs a > 0 (a = 0 is the classical sign)", fname);
    if (mode == 1 && fabs(p->g - QPI / 2) > 1e-12)
        luaL_error(L, "%s: mode \"rotation\" measures projectively (g = pi/2); use mode \"both\" "
                      "for a weak measurement", fname);
    if (mode == 2 && p->a != 0)
        luaL_error(L, "%s: mode \"weak\" uses sign rotations (a = 0); use mode \"both\" for a > 0",
                   fname);
    if (mode == 4 && (p->a != 0 || fabs(p->g - QPI / 2) > 1e-12))
        luaL_error(L, "%s: mode \"classical\" is a = 0, g = pi/2", fname);
    p->mode = mode == 4 ? QNN_QACT_MODE_CUSTOM : mode;
    p->reg = t ? qnn_lua_optfield_choice(L, t, "register", reg_names, 0) : 0;
    p->rule = t ? qnn_lua_optfield_choice(L, t, "rule", rule_names, 0) : 0;
    p->last = t ? qnn_lua_optfield_bool(L, t, "last", 0) : 0;
    if (t) read_noise(L, t, p, fname);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qact_check(p, &err), &err, fname);
}

static void push_params(lua_State *L, const qnn_qact_params *p) {
    lua_pushnumber(L, p->a);
    lua_setfield(L, -2, "a");
    lua_pushnumber(L, p->g);
    lua_setfield(L, -2, "g");
    lua_pushstring(L, p->mode == 0 ? "custom" : mode_names[p->mode]);
    lua_setfield(L, -2, "mode");
    lua_pushstring(L, reg_names[p->reg]);
    lua_setfield(L, -2, "register");
    lua_pushstring(L, rule_names[p->rule]);
    lua_setfield(L, -2, "rule");
    lua_pushboolean(L, p->last);
    lua_setfield(L, -2, "last");
    if (p->noise != QNN_QACT_NOISE_NONE) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, noise_names[p->noise]);
        lua_setfield(L, -2, "kind");
        lua_pushnumber(L, p->noise_p);
        lua_setfield(L, -2, "p");
        lua_setfield(L, -2, "noise");
    }
}

static int build_qact(lua_State *L) {
    /* only the light userdata qnn.nn.sequential passes, never a full userdata from Lua */
    qnn_net *net = lua_islightuserdata(L, 1) ? (qnn_net *)lua_touserdata(L, 1) : NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!net) return luaL_error(L, "qubit_activation: bad net handle");
    qnn_qact_params p;
    read_params(L, 2, &p, "qnn.nn.qubit_activation");
    lua_getfield(L, 2, "dim");
    lua_Integer dim = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    if (dim > 0 && net->nlayers > 0 && net->layers[net->nlayers - 1].out != (size_t)dim)
        return luaL_error(L, "qnn.nn.sequential: qubit_activation(%d) follows a layer with %d "
                             "outputs", (int)dim, (int)net->layers[net->nlayers - 1].out);
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_net_add_qubit_act(net, dim > 0 ? (size_t)dim : 0, &p, &err);
    if (rc < 0) qnn_lua_check_status(L, -rc, &err, "qnn.nn.qubit_activation");
    return 0;
}

static const char *const qact_opts[] = {"a",    "g",   "mode",  "register", "last",
                                        "rule", "dim", "noise", NULL};

static int l_qubit_activation(lua_State *L) {
    int t = qnn_lua_checkopts(L, 1, qact_opts) ? 1 : 0;
    qnn_qact_params p;
    read_params(L, t, &p, "qnn.nn.qubit_activation");
    lua_Integer dim = t ? qnn_lua_optfield_int(L, t, "dim", 0, 1, 0x7fffffff) : 0;
    lua_newtable(L);
    lua_pushliteral(L, "qubit_activation");
    lua_setfield(L, -2, "kind");
    lua_pushcfunction(L, build_qact);
    lua_setfield(L, -2, "_build");
    push_params(L, &p);
    if (dim > 0) {
        lua_pushinteger(L, dim);
        lua_setfield(L, -2, "dim");
    }
    luaL_setmetatable(L, SPEC_MT);
    return 1;
}

/* qnn.nn.layer_loaders.qubit_activation(in, out, nparams, fparam) -> spec */
static int l_loader(lua_State *L) {
    lua_Integer in = luaL_checkinteger(L, 1);
    luaL_checktype(L, 4, LUA_TTABLE);
    double f[4];
    for (int q = 0; q < 4; q++) {
        lua_rawgeti(L, 4, q + 1);
        f[q] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    qnn_qact_params p;
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qact_params_from_fparam(f, &p, &err), &err, "qnn.nn.load");
    lua_newtable(L);
    lua_pushliteral(L, "qubit_activation");
    lua_setfield(L, -2, "kind");
    lua_pushcfunction(L, build_qact);
    lua_setfield(L, -2, "_build");
    push_params(L, &p);
    lua_pushstring(L, p.mode == 0 ? "custom" : mode_names[p.mode]);
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, in);
    lua_setfield(L, -2, "dim");
    luaL_setmetatable(L, SPEC_MT);
    return 1;
}

static const char *const neuron_opts[] = {"a", "g", "mode", "last", "rule", "register", NULL};

static int l_qubit_neuron(lua_State *L) {
    double z = qnn_lua_checkfinite(L, 1, "z");
    int t = qnn_lua_checkopts(L, 2, neuron_opts) ? 2 : 0;
    qnn_qact_params p;
    read_params(L, t, &p, "qnn.nn.qubit_neuron");
    double prior = lua_isnoneornil(L, 3) ? 0.0 : qnn_lua_checkfinite(L, 3, "prior_angle");
    double r = lua_isnoneornil(L, 4) ? 1.0 : qnn_lua_checknum(L, 4, "r_prev", -1.0, 1.0);
    qnn_qact_neuron ne;
    qnn_qact_neuron_eval(z, &p, prior, r, &ne);
    lua_createtable(L, 0, 6);
    lua_pushnumber(L, ne.theta);
    lua_setfield(L, -2, "theta");
    lua_pushnumber(L, ne.angle);
    lua_setfield(L, -2, "angle");
    lua_pushnumber(L, ne.p_plus);
    lua_setfield(L, -2, "p_plus");
    const char *names[2] = {"plus", "minus"};
    for (int k = 0; k < 2; k++) {
        lua_createtable(L, 0, 3);
        lua_pushnumber(L, ne.v0[k]);
        lua_setfield(L, -2, "v0");
        lua_pushnumber(L, ne.v1[k]);
        lua_setfield(L, -2, "v1");
        lua_pushnumber(L, ne.angle_post[k]);
        lua_setfield(L, -2, "angle");
        lua_setfield(L, -2, names[k]);
    }
    return 1;
}

/* ---------------- inference ---------------- */
static const char *const pred_modes[] = {"vote", "single", "mean", NULL};
static const char *const pred_opts[] = {"shots", "mode", "seed", "rng", "first", NULL};

static int predict_impl(lua_State *L, int net_arg, int x_arg, int t, const char *fname) {
    qnn_net *net = qnn_lua_checknet(L, net_arg);
    int pushed = 0;
    qnn_tensor *xt = qnn_lua_totensor(L, x_arg, "X", &pushed);
    qnn_tensor X = *xt;
    X.owns = 0;
    int single = 0;
    if (X.ndim == 1) X.ndim = 2, X.rows = 1, X.ld = X.cols, single = 1;
    if (X.cols != qnn_net_in_dim(net))
        return luaL_error(L, "%s: X has %d columns, the net takes %d", fname, (int)X.cols,
                          (int)qnn_net_in_dim(net));
    int mode = qnn_lua_optfield_choice(L, t, "mode", pred_modes, 0);
    lua_Integer shots = qnn_lua_optfield_int(L, t, "shots", mode == 0 ? 15 : 1, 1, 1000000);
    if (mode != 0 && shots != 1)
        return luaL_error(L, "%s: shots must be 1 with mode \"%s\"", fname, pred_modes[mode]);
    int want_first = t ? qnn_lua_optfield_bool(L, t, "first", 0) : 0;
    qnn_rng local;
    qnn_rng *rng = NULL;
    if (t) {
        lua_getfield(L, t, "seed");
        lua_getfield(L, t, "rng");
        int any = !lua_isnil(L, -1) || !lua_isnil(L, -2);
        lua_pop(L, 2);
        if (any) rng = qnn_lua_getrng(L, t, &local);
    }
    size_t B = X.rows;
    int *pred = (int *)lua_newuserdatauv(L, (B ? B : 1) * sizeof(int) * 2, 0);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_qact_predict(net, &X, (size_t)shots, mode, rng, pred, pred + B,
                                             &err),
                         &err, fname);
    for (int w = 0; w < (want_first ? 2 : 1); w++) {
        const int *src = pred + (size_t)w * B;
        if (single) {
            lua_pushinteger(L, src[0] + 1);
            continue;
        }
        lua_createtable(L, (int)B, 0);
        for (size_t i = 0; i < B; i++) {
            lua_pushinteger(L, src[i] + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
    }
    return want_first ? 2 : 1;
}

static int l_predict_shots(lua_State *L) {
    int t = qnn_lua_checkopts(L, 3, pred_opts) ? 3 : 0;
    return predict_impl(L, 1, 2, t, "qnn.nn.predict_shots");
}

/* Net:predict(X [, opts]): with an options table -> shot-based; else the original method
 * (upvalue 1). */
static int m_predict(lua_State *L) {
    if (lua_istable(L, 3) && !qnn_lua_testtensor(L, 3)) {
        int t = qnn_lua_checkopts(L, 3, pred_opts) ? 3 : 0;
        return predict_impl(L, 1, 2, t, "Net:predict");
    }
    if (!lua_isnoneornil(L, 3))
        return qnn_lua_argerror(L, 3, "opts", "must be an options table {shots=, mode=, seed=}");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static const qnn_lua_reg funcs[] = {
    {"qubit_activation", l_qubit_activation,
     "qnn.nn.qubit_activation{a=, g=, mode=, register=\"shared\", last=false, rule=\"exact\", noise=, dim=} -> layer",
     "Stochastic qubit neurons (natural quantization, arXiv 2503.15482). Each neuron is a "
     "qubit rotated by theta = pi/2 (r_prev - tanh(z/a)) (a = 0: sign(z)) on top of its "
     "current angle, then measured through an ancilla coupled by RZY(g): P(+1) = (1 + sin g "
     "<Z>)/2; the output is the outcome +-1.\na: number >= 0 (0 = sign); g: in (0, pi/2] "
     "(pi/2 = projective); mode: \"rotation\" (a > 0, default 0.316, projective), \"weak\" "
     "(a = 0, g default 5pi/19), \"both\" (a 0.316, g 5pi/19 by default), \"classical\" (a = 0, "
     "g = pi/2) or absent (a default 0, g default pi/2); register: \"shared\" (qubit j starts "
     "from qubit j of the previous qubit layer after its measurement, the authors' model) or "
     "\"fresh\" (|0> per layer); last: true = the last hidden layer, measured projectively; "
     "rule: \"exact\" post-measurement state or \"authors\" (their asin formula, cos(phi/2) >= "
     "0); noise: {kind=\"dephasing\" (Z with probability p) or \"depolarizing\" (X, Y, Z each "
     "with p/3), p= in [0, 1]}, a channel on every neuron qubit between its rotation and its "
     "measurement, in training and evaluation (sampled read-outs: one trajectory, one more "
     "uniform per neuron when p > 0; mean-field: the exact channel on the Bloch vector); dim: "
     "optional width check.\nTraining samples; eval mode samples one shot (see "
     "Net:predict for votes and mean-field). Backward: hard-tanh straight-through (1 where "
     "|z| < 1). Returns a layer spec for qnn.nn.sequential."},
    {"qubit_neuron", l_qubit_neuron,
     "qnn.nn.qubit_neuron(z [, {a=, g=, mode=, last=, rule=}] [, prior_angle=0 [, r_prev=1]]) -> table",
     "Closed form of one qubit neuron. z: finite pre-activation; options as for "
     "qubit_activation; prior_angle: the neuron's RY angle before the rotation; r_prev: previous "
     "outcome in [-1, 1].\nReturns {theta=, angle= (before measurement), p_plus= P(d=+1), "
     "plus={v0=, v1=, angle=}, minus={...}} with the post-measurement state cos(angle/2)|0> + "
     "sin(angle/2)|1> for each outcome."},
    {"predict_shots", l_predict_shots,
     "qnn.nn.predict_shots(net, X [, {shots=15, mode=\"vote\", seed=, rng=, first=false}]) -> labels [, first]",
     "net: a Net; X: B x in (finite); shots: integer >= 1; mode: \"vote\" (shots re-sampled "
     "forward passes, majority vote over per-shot arg-max, ties -> smallest class), \"single\" "
     "(one shot) or \"mean\" (mean-field read-out <d> = sin g <Z>, deterministic); seed/rng: "
     "stream (default: the net's own); first: also return the first shot's labels.\nReturns "
     "1-based class labels (a number for a 1-D X)."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(qubit_act) {
    qnn_lua_subtable(L, 1, "nn");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.nn.");
    /* checkpoint loader */
    if (lua_getfield(L, -1, "layer_loaders") == LUA_TTABLE) {
        lua_pushcfunction(L, l_loader);
        qnn_lua_document(L, -1, "qnn.nn.layer_loaders.qubit_activation",
                         "qnn.nn.layer_loaders.qubit_activation(in, out, nparams, fparam) -> layer",
                         "Rebuilds a qubit_activation spec from a checkpoint (used by qnn.nn.load).");
        lua_setfield(L, -2, "qubit_activation");
    }
    lua_pop(L, 2);
    /* Net:predict(X, {shots=}) */
    if (luaL_getmetatable(L, "qnn.Net") == LUA_TTABLE) {
        if (lua_getfield(L, -1, "__index") == LUA_TTABLE) {
            if (lua_getfield(L, -1, "predict") == LUA_TFUNCTION) {
                lua_pushcclosure(L, m_predict, 1);
                qnn_lua_document(L, -1, "Net:predict",
                                 "Net:predict(X [, {shots=15, mode=\"vote\"|\"single\"|\"mean\", seed=, rng=, first=false}]) -> labels [, first]",
                                 "X: B x in (1-D: one sample).\nWithout options: eval-mode "
                                 "forward (stochastic layers draw one shot) and arg-max. With "
                                 "options: as qnn.nn.predict_shots (majority vote over shots "
                                 "re-sampled passes, single shot, or mean-field). Returns 1-based "
                                 "labels (a number for a 1-D input).");
                lua_setfield(L, -2, "predict");
            } else {
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}
