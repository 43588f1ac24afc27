/* qnn.nn: layer specs, qnn.Net (sequential feed-forward nets), losses, single weights,
 * evaluation and checkpoints. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qnn/checkpoint.h"
#include "qnn/nn.h"
#include "qnn/qlayer.h"
#include "qnn_lua.h"

#define NET_T "qnn.Net"
#define SPEC_MT "qnn.nn.layerspec"

typedef struct lnet {
    qnn_net *net;
    int closed;
    int busy; /* pinned by a running borrower (qnn_lua_pin) */
    qnn_lua_mem mem;
} lnet;

static int net_isopen(const void *ud) {
    const lnet *u = (const lnet *)ud;
    return !u->closed && u->net;
}
static int *net_busy(void *ud) { return &((lnet *)ud)->busy; }
static const qnn_lua_life net_life = {"Net", net_isopen, net_busy};

/* keeps qnn.memory() and the collector up to date with the net's buffers (they grow with the
 * batch size of forward passes) */
static void net_account(lua_State *L, lnet *u) {
    if (u->net && u->net->built) qnn_lua_mem_set(L, &u->mem, QNN_MEM_NET, qnn_net_bytes(u->net));
}

/* ---------------- Net userdata ---------------- */
static lnet *lnet_check(lua_State *L, int arg) {
    lnet *u = (lnet *)luaL_testudata(L, arg, NET_T);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "net", "must be a Net, got %s", tn ? tn : luaL_typename(L, arg));
    }
    if (u->closed || !u->net) {
        qnn_lua_closederror(L, arg, "net", "Net");
    }
    net_account(L, u);
    return u;
}

qnn_net *qnn_lua_checknet(lua_State *L, int arg) { return lnet_check(L, arg)->net; }

static lnet *lnet_push(lua_State *L) {
    lnet *u = (lnet *)lua_newuserdatauv(L, sizeof *u, 1); /* uv 1: last forward input */
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, NET_T);
    return u;
}

static void check(lua_State *L, int rc, qnn_error *err, const char *where) {
    qnn_lua_check_status(L, rc, err, where);
}

/* ---------------- activation names ---------------- */
static const char *const act_names[] = {"tanh", "relu", "sigmoid", "softmax", "sign",
                                        "identity", "linear", "none", NULL};
static const int act_kinds[] = {QNN_LAYER_TANH, QNN_LAYER_RELU, QNN_LAYER_SIGMOID,
                                QNN_LAYER_SOFTMAX, QNN_LAYER_SIGN, QNN_LAYER_IDENTITY,
                                QNN_LAYER_IDENTITY, QNN_LAYER_IDENTITY};

static int act_kind(lua_State *L, const char *name, const char *what) {
    for (int i = 0; act_names[i]; i++)
        if (strcmp(name, act_names[i]) == 0) return act_kinds[i];
    return luaL_error(L, "unknown activation '%s' for %s (expected one of tanh, relu, sigmoid, "
                         "softmax, sign, identity)", name, what);
}

/* ---------------- layer specs ---------------- */
static void push_spec(lua_State *L, const char *kind, lua_CFunction build) {
    lua_newtable(L);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    lua_pushcfunction(L, build);
    lua_setfield(L, -2, "_build");
    luaL_setmetatable(L, SPEC_MT);
}

static lua_Integer spec_int(lua_State *L, int t, const char *k, lua_Integer def) {
    lua_getfield(L, t, k);
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

/* "double" -> 0, "single" -> 1; raises an error naming the argument otherwise */
static int precision_of(lua_State *L, int arg, const char *s) {
    if (strcmp(s, "double") == 0) return 0;
    if (strcmp(s, "single") == 0) return 1;
    return qnn_lua_argerror(L, arg, "precision", "must be \"double\" or \"single\", got \"%s\"", s);
}

static int build_dense(lua_State *L) {
    /* only the light userdata qnn.nn.sequential passes, never a full userdata from Lua */
    qnn_net *net = lua_islightuserdata(L, 1) ? (qnn_net *)lua_touserdata(L, 1) : NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!net) return luaL_error(L, "dense: bad net handle");
    lua_Integer in = spec_int(L, 2, "in", 0), out = spec_int(L, 2, "out", 0);
    lua_getfield(L, 2, "bias");
    int bias = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 2, "init");
    const char *init_s = lua_tostring(L, -1);
    qnn_init init;
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_init_parse(init_s ? init_s : "default", &init, &err), &err, "qnn.nn.dense");
    lua_pop(L, 1);
    lua_getfield(L, 2, "seed");
    int has_seed = lua_isinteger(L, -1);
    uint64_t seed = has_seed ? (uint64_t)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    if (net->nlayers > 0 && net->layers[net->nlayers - 1].out != (size_t)in)
        return luaL_error(L, "qnn.nn.sequential: dense(%d -> %d) follows a layer with %d outputs",
                          (int)in, (int)out, (int)net->layers[net->nlayers - 1].out);
    int rc = qnn_net_add_dense(net, (size_t)in, (size_t)out, bias, &init, has_seed, seed, &err);
    if (rc < 0) check(L, -rc, &err, "qnn.nn.dense");
    lua_getfield(L, 2, "precision");
    int single = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "single") == 0;
    lua_pop(L, 1);
    if (single) check(L, qnn_layer_dense_set_single(&net->layers[rc], 1, &err), &err, "qnn.nn.dense");
    return 0;
}

static int build_act(lua_State *L) {
    /* only the light userdata qnn.nn.sequential passes, never a full userdata from Lua */
    qnn_net *net = lua_islightuserdata(L, 1) ? (qnn_net *)lua_touserdata(L, 1) : NULL;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!net) return luaL_error(L, "activation: bad net handle");
    lua_getfield(L, 2, "kind");
    const char *name = lua_tostring(L, -1);
    int kind = act_kind(L, name ? name : "?", "a layer");
    lua_pop(L, 1);
    lua_Integer dim = spec_int(L, 2, "dim", 0);
    if (dim > 0 && net->nlayers > 0 && net->layers[net->nlayers - 1].out != (size_t)dim)
        return luaL_error(L, "qnn.nn.sequential: %s(%d) follows a layer with %d outputs", name,
                          (int)dim, (int)net->layers[net->nlayers - 1].out);
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_net_add_activation(net, kind, (size_t)dim, &err);
    if (rc < 0) check(L, -rc, &err, "qnn.nn.sequential");
    return 0;
}

static const char *const dense_opts[] = {"bias", "init", "seed", "precision", NULL};

static int l_dense(lua_State *L) {
    lua_Integer in = qnn_lua_checkint(L, 1, "in", 1, 0x7fffffff);
    lua_Integer out = qnn_lua_checkint(L, 2, "out", 1, 0x7fffffff);
    int has = qnn_lua_checkopts(L, 3, dense_opts);
    int t = has ? 3 : 0;
    int bias = qnn_lua_optfield_bool(L, t, "bias", 1);
    const char *init_s = qnn_lua_optfield_str(L, t, "init", "default");
    qnn_init init;
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_init_parse(init_s, &init, &err))
        return qnn_lua_argerror(L, 3, "init", "%s", err.msg);
    lua_Integer seed = qnn_lua_optfield_int(L, t, "seed", 0, LUA_MININTEGER, LUA_MAXINTEGER);
    int has_seed = 0;
    if (t) {
        lua_getfield(L, t, "seed");
        has_seed = !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    const char *prec = qnn_lua_optfield_str(L, t, "precision", "double");
    precision_of(L, 3, prec);
    push_spec(L, "dense", build_dense);
    lua_pushstring(L, prec);
    lua_setfield(L, -2, "precision");
    lua_pushinteger(L, in);
    lua_setfield(L, -2, "in");
    lua_pushinteger(L, out);
    lua_setfield(L, -2, "out");
    lua_pushboolean(L, bias);
    lua_setfield(L, -2, "bias");
    lua_pushstring(L, init_s);
    lua_setfield(L, -2, "init");
    if (has_seed) {
        lua_pushinteger(L, seed);
        lua_setfield(L, -2, "seed");
    }
    return 1;
}

static int act_spec(lua_State *L, const char *name) {
    lua_Integer dim = qnn_lua_optint(L, 1, "dim", 0, 1, 0x7fffffff);
    push_spec(L, name, build_act);
    if (dim > 0) {
        lua_pushinteger(L, dim);
        lua_setfield(L, -2, "dim");
    }
    return 1;
}

static int l_tanh(lua_State *L) { return act_spec(L, "tanh"); }
static int l_relu(lua_State *L) { return act_spec(L, "relu"); }
static int l_sigmoid(lua_State *L) { return act_spec(L, "sigmoid"); }
static int l_softmax(lua_State *L) { return act_spec(L, "softmax"); }
static int l_sign(lua_State *L) { return act_spec(L, "sign"); }
static int l_identity(lua_State *L) { return act_spec(L, "identity"); }

static int spec_tostring(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "kind");
    const char *k = lua_tostring(L, -1);
    lua_Integer in = spec_int(L, 1, "in", 0), out = spec_int(L, 1, "out", 0);
    if (in > 0 && out > 0) lua_pushfstring(L, "qnn.nn.%s(%d -> %d)", k ? k : "?", (int)in, (int)out);
    else lua_pushfstring(L, "qnn.nn.%s()", k ? k : "?");
    return 1;
}

/* ---------------- building nets ---------------- */
static uint64_t seed_from(lua_State *L, int t) {
    if (t) {
        lua_getfield(L, t, "seed");
        int has = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (has) return (uint64_t)qnn_lua_optfield_int(L, t, "seed", 0, LUA_MININTEGER, LUA_MAXINTEGER);
    }
    return qnn_rng_next(qnn_lua_default_rng(L));
}

static lnet *new_empty_net(lua_State *L) {
    lnet *u = lnet_push(L);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_new(&u->net, &err), &err, "qnn.nn");
    return u;
}

static void call_build(lua_State *L, qnn_net *net, int spec, int pos) {
    spec = lua_absindex(L, spec);
    if (!lua_istable(L, spec) || lua_getfield(L, spec, "_build") != LUA_TFUNCTION)
        luaL_error(L, "qnn.nn.sequential: entry %d is not a layer (use qnn.nn.dense, qnn.nn.tanh, "
                      "...), got %s", pos, luaL_typename(L, spec));
    lua_pushlightuserdata(L, net);
    lua_pushvalue(L, spec);
    lua_call(L, 2, 0);
}

static const char *const seq_opts[] = {"seed", NULL};

static int l_sequential(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, seq_opts);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n == 0) return qnn_lua_argerror(L, 1, "layers", "must list at least one layer");
    uint64_t seed = seed_from(L, 1);
    lnet *u = new_empty_net(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        call_build(L, u->net, -1, (int)i);
        lua_pop(L, 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_build(u->net, seed, &err), &err, "qnn.nn.sequential");
    net_account(L, u);
    return 1;
}

static const char *const mlp_opts[] = {"hidden", "output", "bias", "init", "seed", "precision", NULL};

static int l_mlp(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, mlp_opts);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n < 2) return qnn_lua_argerror(L, 1, "sizes", "must list at least 2 layer sizes, got %d", (int)n);
    size_t sizes[64];
    if (n > 64) return qnn_lua_argerror(L, 1, "sizes", "at most 64 layer sizes");
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        int ok = 0;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || v < 1 || v > 0x7fffffff)
            return qnn_lua_argerror(L, 1, "sizes", "entry %d must be an integer >= 1", (int)i);
        sizes[i - 1] = (size_t)v;
    }
    const char *hidden = qnn_lua_optfield_str(L, 1, "hidden", "relu");
    const char *output = qnn_lua_optfield_str(L, 1, "output", "softmax");
    int hk = act_kind(L, hidden, "hidden");
    int ok = act_kind(L, output, "output");
    int bias = qnn_lua_optfield_bool(L, 1, "bias", 1);
    const char *init_s = qnn_lua_optfield_str(L, 1, "init", "default");
    qnn_init init;
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_init_parse(init_s, &init, &err)) return luaL_error(L, "qnn.nn.mlp: %s", err.msg);
    int single = precision_of(L, 1, qnn_lua_optfield_str(L, 1, "precision", "double"));
    uint64_t seed = seed_from(L, 1);
    lnet *u = new_empty_net(L);
    for (lua_Integer i = 0; i + 1 < n; i++) {
        int rc = qnn_net_add_dense(u->net, sizes[i], sizes[i + 1], bias, &init, 0, 0, &err);
        if (rc < 0) check(L, -rc, &err, "qnn.nn.mlp");
        if (single) check(L, qnn_layer_dense_set_single(&u->net->layers[rc], 1, &err), &err, "qnn.nn.mlp");
        int kind = i + 2 < n ? hk : ok;
        if (kind == QNN_LAYER_IDENTITY) continue;
        rc = qnn_net_add_activation(u->net, kind, 0, &err);
        if (rc < 0) check(L, -rc, &err, "qnn.nn.mlp");
    }
    check(L, qnn_net_build(u->net, seed, &err), &err, "qnn.nn.mlp");
    net_account(L, u);
    return 1;
}

/* ---------------- inputs and targets ---------------- */
/* X at arg as a 2-D tensor struct (1-D -> one row). Pushes a converted tensor if needed. */
static qnn_tensor get_X(lua_State *L, int arg, int *single, int anchor) {
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, arg, "X", &pushed);
    if (pushed) lua_replace(L, arg); /* keep it alive in the argument slot */
    /* the net caches a view of its last input (activation 0): keep that input alive */
    if (anchor && luaL_testudata(L, 1, NET_T)) qnn_lua_borrow(L, 1, 1, arg);
    qnn_tensor x = *t;
    *single = 0;
    if (x.ndim == 1) {
        x.ndim = 2;
        x.rows = 1;
        *single = 1;
    }
    x.owns = 0;
    return x;
}

/* labels: table of integers in [1, K] or a Tensor; returns 0-based ints in a scratch userdata
 * left on the stack */
static int *get_labels(lua_State *L, int arg, size_t n, size_t K, const char *argname) {
    qnn_tensor *t = qnn_lua_testtensor(L, arg);
    size_t m;
    if (t) m = qnn_tensor_numel(t);
    else if (lua_istable(L, arg)) m = lua_rawlen(L, arg);
    else {
        qnn_lua_argerror(L, arg, argname, "must be a table or Tensor of class labels, got %s",
                         luaL_typename(L, arg));
        return NULL;
    }
    if (m != n)
        luaL_error(L, "bad argument '%s' (%d labels for %d rows of X)", argname, (int)m, (int)n);
    int *y = (int *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(int), 0);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (t) v = t->data[(i / t->cols) * t->ld + i % t->cols];
        else {
            lua_rawgeti(L, arg, (lua_Integer)i + 1);
            int ok = 0;
            v = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok) v = NAN;
        }
        if (!(v >= 1 && v <= (double)K) || v != floor(v))
            luaL_error(L, "bad argument '%s' (label %d must be an integer class in [1, %d], got %f)",
                       argname, (int)i + 1, (int)K, v);
        y[i] = (int)v - 1;
    }
    return y;
}

static const char *const loss_names[] = {"cross_entropy", "mse", NULL};

static int get_loss_kind(lua_State *L, int arg) {
    if (lua_isnoneornil(L, arg)) return QNN_LOSS_CROSS_ENTROPY;
    const char *s = luaL_checkstring(L, arg);
    if (strcmp(s, "ce") == 0 || strcmp(s, "crossentropy") == 0) return QNN_LOSS_CROSS_ENTROPY;
    for (int i = 0; loss_names[i]; i++)
        if (strcmp(s, loss_names[i]) == 0) return i;
    return qnn_lua_argerror(L, arg, "loss", "must be \"cross_entropy\" or \"mse\", got \"%s\"", s);
}

/* targets for loss kind; values tensor converted with the right shape */
static qnn_targets get_targets(lua_State *L, int arg, int kind, size_t n, size_t K,
                               qnn_tensor *tv) {
    qnn_targets y = {NULL, NULL};
    if (kind == QNN_LOSS_CROSS_ENTROPY) {
        y.labels = get_labels(L, arg, n, K, "y");
        return y;
    }
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, arg, "y", &pushed);
    *tv = *t;
    tv->owns = 0;
    if (tv->ndim == 1) {
        tv->ndim = 2;
        if (K == 1 && tv->cols == n) {
            tv->rows = n, tv->cols = 1, tv->ld = 1;
        } else {
            tv->rows = 1;
        }
    }
    char s[48];
    if (tv->rows != n || tv->cols != K)
        luaL_error(L, "bad argument 'y' (mse targets shape mismatch: got %s, need %dx%d)",
                   qnn_tensor_shape_str(t, s, sizeof s), (int)n, (int)K);
    y.values = tv;
    return y;
}

static const char *const loss_opts[] = {"l2", "seed", "rng", "train", NULL};

static double opt_l2(lua_State *L, int t) {
    return qnn_lua_optfield_num(L, t, "l2", 0.0, 0.0, HUGE_VAL);
}

/* ---------------- Net methods ---------------- */
static qnn_tensor *push_output_copy(lua_State *L, const qnn_tensor *o, int single) {
    qnn_tensor *r = single ? qnn_lua_newtensor(L, 1, o->cols, 1)
                           : qnn_lua_newtensor(L, o->rows, o->cols, 2);
    for (size_t i = 0; i < o->rows; i++)
        memcpy(qnn_tensor_row(r, i), qnn_tensor_row(o, i), o->cols * sizeof(double));
    return r;
}

static const char *const fwd_opts[] = {"train", "seed", "rng", NULL};

static int m_forward(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    int single;
    qnn_tensor X = get_X(L, 2, &single, 1);
    int t = qnn_lua_checkopts(L, 3, fwd_opts) ? 3 : 0;
    int train = qnn_lua_optfield_bool(L, t, "train", 0);
    qnn_rng local;
    qnn_rng *rng = NULL;
    if (t) {
        lua_getfield(L, t, "seed");
        lua_getfield(L, t, "rng");
        int any = !lua_isnil(L, -1) || !lua_isnil(L, -2);
        lua_pop(L, 2);
        if (any) rng = qnn_lua_getrng(L, t, &local);
    }
    qnn_error err;
    qnn_error_clear(&err);
    const qnn_tensor *out;
    check(L, qnn_net_forward(u->net, &X, train, rng, &out, &err), &err, "Net:forward");
    push_output_copy(L, out, single);
    return 1;
}

static qnn_rng *opt_rng(lua_State *L, int t, qnn_rng *local) {
    if (!t) return NULL;
    lua_getfield(L, t, "seed");
    lua_getfield(L, t, "rng");
    int any = !lua_isnil(L, -1) || !lua_isnil(L, -2);
    lua_pop(L, 2);
    return any ? qnn_lua_getrng(L, t, local) : NULL;
}

static int m_loss(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    int single;
    qnn_tensor X = get_X(L, 2, &single, 1);
    int kind = get_loss_kind(L, 4);
    int t = qnn_lua_checkopts(L, 5, loss_opts) ? 5 : 0;
    double l2 = opt_l2(L, t);
    int train = qnn_lua_optfield_bool(L, t, "train", 0);
    qnn_rng local;
    qnn_rng *rng = opt_rng(L, t, &local);
    qnn_tensor tv;
    qnn_targets y = get_targets(L, 3, kind, X.rows, qnn_net_out_dim(u->net), &tv);
    qnn_error err;
    qnn_error_clear(&err);
    double loss = 0;
    check(L, qnn_net_loss(u->net, &X, kind, &y, l2, train, rng, &loss, &err), &err, "Net:loss");
    lua_pushnumber(L, loss);
    return 1;
}

static int m_backward(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    int single;
    qnn_tensor X = get_X(L, 2, &single, 1);
    int kind = get_loss_kind(L, 4);
    int t = qnn_lua_checkopts(L, 5, loss_opts) ? 5 : 0;
    double l2 = opt_l2(L, t);
    qnn_rng local;
    qnn_rng *rng = opt_rng(L, t, &local);
    qnn_tensor tv;
    qnn_targets y = get_targets(L, 3, kind, X.rows, qnn_net_out_dim(u->net), &tv);
    qnn_error err;
    qnn_error_clear(&err);
    double loss = 0;
    size_t correct = 0;
    check(L, qnn_net_backward(u->net, &X, kind, &y, l2, rng, &loss, &correct, &err), &err,
          "Net:backward");
    lua_pushnumber(L, loss);
    lua_pushinteger(L, (lua_Integer)correct);
    return 2;
}

static int m_backward_output(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    /* the first layer's backward reads the last forward's input (borrowed, user value 1) */
    lua_getiuservalue(L, 1, 1);
    int input_closed = qnn_lua_isopen(L, -1) == 0;
    lua_pop(L, 1);
    if (input_closed)
        return luaL_error(L, "Net:backward_output: the input Tensor of the last forward pass is "
                             "closed (run forward again, or close the input after backward)");
    int single;
    qnn_tensor d = get_X(L, 2, &single, 0);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_backward_from_output(u->net, &d, &err), &err, "Net:backward_output");
    return 0;
}

static int push_flat_view(lua_State *L, int which) {
    lnet *u = lnet_check(L, 1);
    qnn_net *n = u->net;
    qnn_lua_newview(L, 1, &u->closed, which ? n->grads : n->params, 1, n->nparams, n->nparams, 1);
    return 1;
}

static int m_params(lua_State *L) { return push_flat_view(L, 0); }
static int m_grads(lua_State *L) { return push_flat_view(L, 1); }

static int m_zero_grad(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    if (n->nparams) memset(n->grads, 0, n->nparams * sizeof(double));
    lua_settop(L, 1);
    return 1;
}

static size_t check_param_layer(lua_State *L, int arg, qnn_net *n) {
    size_t np = qnn_net_num_param_layers(n);
    if (np == 0) luaL_error(L, "net has no parameterised layers");
    lua_Integer k = qnn_lua_checkint(L, arg, "layer", 1, (lua_Integer)np);
    return (size_t)qnn_net_param_layer(n, (size_t)k - 1);
}

static int m_layer_params(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    qnn_net *n = u->net;
    size_t k = check_param_layer(L, 2, n);
    int grads = lua_toboolean(L, 3);
    qnn_layer *l = &n->layers[k];
    double *base = grads ? l->g : l->w;
    if (l->kind == QNN_LAYER_DENSE) {
        qnn_lua_newview(L, 1, &u->closed, base, l->in, l->out, l->out, 2);
        if (l->has_bias) {
            qnn_lua_newview(L, 1, &u->closed, base + l->in * l->out, 1, l->out, l->out, 1);
            return 2;
        }
        return 1;
    }
    qnn_lua_newview(L, 1, &u->closed, base, 1, l->nparams, l->nparams, 1);
    return 1;
}

static double *weight_ptr(lua_State *L, qnn_net *n, int arg) {
    size_t k = check_param_layer(L, arg, n);
    lua_Integer i = qnn_lua_checkint(L, arg + 1, "i", 1, LUA_MAXINTEGER);
    lua_Integer j = qnn_lua_checkint(L, arg + 2, "j", 1, LUA_MAXINTEGER);
    size_t flat;
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_weight_index(n, k, (size_t)i - 1, (size_t)j - 1, &flat, &err), &err,
          "Net:get/set");
    return n->params + flat;
}

static int m_get(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    lua_pushnumber(L, *weight_ptr(L, u->net, 2));
    return 1;
}

static int m_set(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    double *p = weight_ptr(L, u->net, 2);
    *p = qnn_lua_checkfinite(L, 5, "v");
    lua_settop(L, 1);
    return 1;
}

static int m_precision(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    int ndense = 0, nsingle = 0;
    for (size_t k = 0; k < n->nlayers; k++) {
        ndense += n->layers[k].kind == QNN_LAYER_DENSE;
        nsingle += qnn_layer_dense_is_single(&n->layers[k]);
    }
    if (!lua_isnoneornil(L, 2)) {
        int single = precision_of(L, 2, luaL_checkstring(L, 2));
        qnn_error err;
        qnn_error_clear(&err);
        for (size_t k = 0; k < n->nlayers; k++)
            if (n->layers[k].kind == QNN_LAYER_DENSE)
                check(L, qnn_layer_dense_set_single(&n->layers[k], single, &err), &err, "Net:precision");
        lua_settop(L, 1);
        return 1;
    }
    lua_pushstring(L, ndense == 0 || nsingle == 0 ? "double" : nsingle == ndense ? "single" : "mixed");
    return 1;
}

static int m_nparams(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lnet_check(L, 1)->net->nparams);
    return 1;
}

static int m_dims(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    lua_pushinteger(L, (lua_Integer)qnn_net_in_dim(n));
    lua_pushinteger(L, (lua_Integer)qnn_net_out_dim(n));
    return 2;
}

static int m_copy(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    lnet *c = lnet_push(L);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_copy(&c->net, n, &err), &err, "Net:copy");
    net_account(L, c);
    return 1;
}

static int m_layers(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    lua_createtable(L, (int)n->nlayers, 0);
    for (size_t k = 0; k < n->nlayers; k++) {
        const qnn_layer *l = &n->layers[k];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, l->vt->name);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, (lua_Integer)l->in);
        lua_setfield(L, -2, "in");
        lua_pushinteger(L, (lua_Integer)l->out);
        lua_setfield(L, -2, "out");
        lua_pushinteger(L, (lua_Integer)l->nparams);
        lua_setfield(L, -2, "nparams");
        lua_pushinteger(L, (lua_Integer)l->offset + 1);
        lua_setfield(L, -2, "offset");
        if (l->kind == QNN_LAYER_DENSE) {
            lua_pushboolean(L, l->has_bias);
            lua_setfield(L, -2, "bias");
        }
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    return 1;
}

static int m_activation(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    lua_Integer k = qnn_lua_checkint(L, 2, "k", 0, (lua_Integer)n->nlayers);
    if (!n->acts || n->batch == 0) return luaL_error(L, "Net:activation: no forward pass yet");
    if (k == 0) { /* the cached input must still be alive and open */
        lua_getiuservalue(L, 1, 1);
        int alive = qnn_lua_isopen(L, -1) == 1;
        lua_pop(L, 1);
        if (!alive) return luaL_error(L, "Net:activation: the last input Tensor is closed");
    }
    qnn_tensor a = qnn_net_activation(n, (size_t)k);
    push_output_copy(L, &a, 0);
    return 1;
}

static const char *const eval_opts[] = {"loss", "l2", NULL};

static int m_evaluate(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    qnn_net *n = u->net;
    int single;
    qnn_tensor X = get_X(L, 2, &single, 1);
    int t = qnn_lua_checkopts(L, 4, eval_opts) ? 4 : 0;
    int kind = qnn_lua_optfield_choice(L, t, "loss", loss_names, 0);
    double l2 = opt_l2(L, t);
    size_t K = qnn_net_out_dim(n);
    qnn_tensor tv;
    qnn_targets y = {NULL, NULL};
    int *labels = NULL;
    if (kind == QNN_LOSS_CROSS_ENTROPY) {
        labels = get_labels(L, 3, X.rows, K, "y");
        y.labels = labels;
    } else {
        y = get_targets(L, 3, kind, X.rows, K, &tv);
    }
    int *conf = labels ? (int *)lua_newuserdatauv(L, K * K * sizeof(int), 0) : NULL;
    double loss = 0;
    size_t correct = 0;
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_evaluate(n, &X, kind, &y, l2, &loss, &correct, conf, NULL, &err), &err,
          "Net:evaluate");
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, loss);
    lua_setfield(L, -2, "loss");
    if (labels) {
        lua_pushnumber(L, X.rows ? (double)correct / (double)X.rows : NAN);
        lua_setfield(L, -2, "accuracy");
        lua_pushinteger(L, (lua_Integer)correct);
        lua_setfield(L, -2, "correct");
        lua_createtable(L, (int)K, 0);
        for (size_t i = 0; i < K; i++) {
            lua_createtable(L, (int)K, 0);
            for (size_t j = 0; j < K; j++) {
                lua_pushinteger(L, conf[i * K + j]);
                lua_rawseti(L, -2, (lua_Integer)j + 1);
            }
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "confusion");
    }
    lua_pushinteger(L, (lua_Integer)X.rows);
    lua_setfield(L, -2, "n");
    return 1;
}

static int m_predict(lua_State *L) {
    lnet *u = lnet_check(L, 1);
    int single;
    qnn_tensor X = get_X(L, 2, &single, 1);
    int *pred = (int *)lua_newuserdatauv(L, (X.rows ? X.rows : 1) * sizeof(int), 0);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_net_evaluate(u->net, &X, QNN_LOSS_CROSS_ENTROPY, NULL, 0.0, NULL, NULL, NULL,
                              pred, &err),
          &err, "Net:predict");
    if (single) {
        lua_pushinteger(L, pred[0] + 1);
        return 1;
    }
    lua_createtable(L, (int)X.rows, 0);
    for (size_t i = 0; i < X.rows; i++) {
        lua_pushinteger(L, pred[i] + 1);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* ---------------- checkpoints ---------------- */
static int m_save(lua_State *L) {
    qnn_net *n = lnet_check(L, 1)->net;
    const char *path = luaL_checkstring(L, 2);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_ckpt_save_net(n, path, &err), &err, "Net:save");
    lua_settop(L, 1);
    return 1;
}

static int ckpt_gc(lua_State *L) {
    qnn_ckpt_net *c = (qnn_ckpt_net *)lua_touserdata(L, 1);
    if (c) qnn_ckpt_net_free(c);
    return 0;
}

static int l_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    /* the parsed file lives in a userdata whose __gc frees it, so errors cannot leak */
    qnn_ckpt_net *c = (qnn_ckpt_net *)lua_newuserdatauv(L, sizeof *c, 0);
    memset(c, 0, sizeof *c);
    lua_newtable(L);
    lua_pushcfunction(L, ckpt_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    int cidx = lua_gettop(L);
    qnn_error err;
    qnn_error_clear(&err);
    check(L, qnn_ckpt_read_net(path, c, &err), &err, "qnn.nn.load");
    lnet *u = new_empty_net(L);
    for (size_t k = 0; k < c->nlayers; k++) {
        const qnn_ckpt_layer *cl = &c->layers[k];
        int kind = -1;
        const qnn_layer_vtable *vt = qnn_layer_builtin(cl->name, &kind);
        int rc;
        if (vt && kind == QNN_LAYER_DENSE) {
            rc = qnn_net_add_dense(u->net, cl->in, cl->out, cl->has_bias, NULL, 0, 0, &err);
            if (rc < 0) check(L, -rc, &err, "qnn.nn.load");
            if (cl->fparam[0] == 1.0)
                check(L, qnn_layer_dense_set_single(&u->net->layers[rc], 1, &err), &err, "qnn.nn.load");
        } else if (vt) {
            rc = qnn_net_add_activation(u->net, kind, cl->in, &err);
            if (rc < 0) check(L, -rc, &err, "qnn.nn.load");
        } else if (cl->config && strcmp(cl->name, "quantum") == 0) {
            /* quantum layer: rebuilt from its stored description (circuit, roles, outputs) */
            rc = qnn_net_add_qlayer_text(u->net, cl->config, &err);
            if (rc < 0) check(L, -rc, &err, "qnn.nn.load");
        } else {
            /* custom layer: qnn.nn.layer_loaders[name](in, out, nparams, fparam) -> spec */
            lua_getfield(L, LUA_REGISTRYINDEX, "qnn.nn.loaders");
            if (!lua_istable(L, -1) || lua_getfield(L, -1, cl->name) != LUA_TFUNCTION)
                return luaL_error(L, "qnn.nn.load: %s: unknown layer type '%s' (no "
                                     "qnn.nn.layer_loaders entry)", path, cl->name);
            lua_pushinteger(L, (lua_Integer)cl->in);
            lua_pushinteger(L, (lua_Integer)cl->out);
            lua_pushinteger(L, (lua_Integer)cl->nparams);
            lua_createtable(L, 4, 0);
            for (int q = 0; q < 4; q++) {
                lua_pushnumber(L, cl->fparam[q]);
                lua_rawseti(L, -2, q + 1);
            }
            lua_call(L, 4, 1);
            call_build(L, u->net, -1, (int)k + 1);
            lua_pop(L, 2);
        }
        if (u->net->nlayers != k + 1 || u->net->layers[k].nparams != cl->nparams ||
            u->net->layers[k].in != cl->in || u->net->layers[k].out != cl->out)
            return luaL_error(L, "qnn.nn.load: %s: layer %d (%s) does not match its stored shape",
                              path, (int)k + 1, cl->name);
    }
    check(L, qnn_net_build(u->net, 0, &err), &err, "qnn.nn.load");
    if (u->net->nparams != c->nparams)
        return luaL_error(L, "qnn.nn.load: %s: parameter count mismatch", path);
    memcpy(u->net->params, c->params, c->nparams * sizeof(double));
    memcpy(u->net->rng.s, c->rng, sizeof c->rng);
    qnn_ckpt_net_free(c);
    net_account(L, u);
    (void)cidx;
    return 1;
}

/* ---------------- metamethods ---------------- */
static int mm_tostring(lua_State *L) {
    lnet *u = (lnet *)luaL_checkudata(L, 1, NET_T);
    if (u->closed || !u->net) {
        lua_pushliteral(L, "qnn.Net (closed)");
        return 1;
    }
    qnn_net *n = u->net;
    luaL_Buffer b;
    char line[160];
    luaL_buffinit(L, &b);
    snprintf(line, sizeof line, "qnn.Net %zu -> %zu, %zu layers, %zu parameters", qnn_net_in_dim(n),
             qnn_net_out_dim(n), n->nlayers, n->nparams);
    luaL_addstring(&b, line);
    for (size_t k = 0; k < n->nlayers; k++) {
        const qnn_layer *l = &n->layers[k];
        if (l->kind == QNN_LAYER_DENSE)
            snprintf(line, sizeof line, "\n  %zu: dense %zu -> %zu%s%s, %zu params", k + 1, l->in,
                     l->out, l->has_bias ? " (bias)" : " (no bias)",
                     qnn_layer_dense_is_single(l) ? " single" : "", l->nparams);
        else if (qnn_qlayer_is(l)) {
            const qnn_circuit *qc = qnn_qlayer_circuit(l);
            snprintf(line, sizeof line,
                     "\n  %zu: quantum %zu -> %zu, %d qubits, depth %d, %d gates, %zu weights%s%s",
                     k + 1, l->in, l->out, qnn_circuit_nqubits(qc), qnn_circuit_depth(qc),
                     (int)qnn_circuit_ngates(qc), l->nparams,
                     qnn_qlayer_is_amplitude(l) ? ", amplitude encoding" : "",
                     qnn_qlayer_is_noisy(l) ? ", noisy" : "");
        } else if (l->nparams)
            snprintf(line, sizeof line, "\n  %zu: %s %zu -> %zu, %zu params", k + 1, l->vt->name,
                     l->in, l->out, l->nparams);
        else
            snprintf(line, sizeof line, "\n  %zu: %s (%zu)", k + 1, l->vt->name, l->out);
        luaL_addstring(&b, line);
    }
    luaL_pushresult(&b);
    return 1;
}

static int mm_gc(lua_State *L) {
    lnet *u = (lnet *)luaL_checkudata(L, 1, NET_T);
    qnn_lua_checknotbusy(L, 1);
    if (u->net) qnn_net_free(u->net);
    u->net = NULL;
    qnn_lua_mem_release(L, &u->mem);
    u->closed = 1;
    return 0;
}

static int mm_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lnet_check(L, 1)->net->nlayers);
    return 1;
}

static const qnn_lua_reg methods[] = {
    {"forward", m_forward, "Net:forward(X [, {train=false, seed=, rng=}]) -> Tensor",
     "X: Tensor or nested table, B x in (a 1-D input is one sample and gives a 1-D output); "
     "train: stochastic layers sample in train mode; seed/rng: stream for stochastic layers "
     "(default: the net's own stream).\nReturns the outputs as a new B x out Tensor."},
    {"loss", m_loss, "Net:loss(X, y [, kind=\"cross_entropy\" [, {l2=0, train=false}]]) -> number",
     "X: B x in; y: class labels 1..K (table or Tensor) for cross_entropy, a B x out target "
     "Tensor for \"mse\"; l2 >= 0 adds l2*sum(w^2).\nCross-entropy of a softmax-ended net is "
     "fused with the softmax (stable); otherwise outputs are logits. MSE is the mean over all "
     "B*out entries. Returns the mean loss."},
    {"backward", m_backward, "Net:backward(X, y [, kind [, {l2=0, seed=, rng=}]]) -> loss, correct",
     "Same arguments as Net:loss. Runs a training-mode forward, zeroes and fills the gradients "
     "(net:grads()).\nReturns the loss and the number of argmax hits."},
    {"backward_output", m_backward_output, "Net:backward_output(dout)",
     "dout: B x out Tensor = dLoss/doutput for the last forward.\nZeroes and fills the "
     "gradients from a custom loss gradient (no l2)."},
    {"params", m_params, "Net:params() -> Tensor view",
     "Returns all parameters as one flat 1-D view; writes go into the net. Layout: per "
     "parameterised layer in order; dense = W (in x out, row-major, W[i][j] from input i to "
     "output j) then bias (out)."},
    {"grads", m_grads, "Net:grads() -> Tensor view",
     "Returns the flat gradient buffer (same layout as params) filled by backward."},
    {"zero_grad", m_zero_grad, "Net:zero_grad() -> Net",
     "Sets every gradient to 0 (the parameter protocol params() / grads() / zero_grad() that "
     "optimizers speak; Net:backward zeroes them itself)."},
    {"layer_params", m_layer_params, "Net:layer_params(k [, grads=false]) -> W [, b]",
     "k: index among PARAMETERISED layers (1 = first dense), in [1, #param layers]; grads: true "
     "for gradient views.\nFor dense layers returns W as an in x out view and the bias as a "
     "1-D view (if present); other layers give one flat view."},
    {"get", m_get, "Net:get(k, i, j) -> number",
     "k: index among PARAMETERISED layers (1 = first dense layer); i: input index in [1, in] "
     "(i = in+1 addresses the bias); j: output index in [1, out].\nReturns one weight."},
    {"set", m_set, "Net:set(k, i, j, v) -> Net",
     "k, i, j as for Net:get; v: finite number.\nSets one weight in place."},
    {"nparams", m_nparams, "Net:nparams() -> integer", "Returns the number of parameters."},
    {"precision", m_precision, "Net:precision([p]) -> Net | \"double\"|\"single\"|\"mixed\"",
     "p: \"double\" or \"single\".\nWith p, sets every dense layer's arithmetic and returns the net; "
     "without, reports it. Single: the dense matrix products run in float (sgemm) on float "
     "copies of W and of the layer input (about 2x faster; results differ from double at the "
     "1e-7 relative level); parameters, gradients, activations and the optimizer stay double. "
     "Kept in checkpoints."},
    {"dims", m_dims, "Net:dims() -> in, out", "Returns the input and output widths."},
    {"copy", m_copy, "Net:copy() -> Net", "Returns a deep copy (parameters and layer state)."},
    {"layers", m_layers, "Net:layers() -> table",
     "Returns a list of {name=, in=, out=, nparams=, offset= (1-based into params), bias=}."},
    {"activation", m_activation, "Net:activation(k) -> Tensor",
     "k in [0, #layers]: 0 = input of the last forward, k = output of layer k (copy)."},
    {"evaluate", m_evaluate, "Net:evaluate(X, y [, {loss=\"cross_entropy\", l2=0}]) -> table",
     "X: B x in; y: labels 1..K (or mse targets).\nEval-mode pass in chunks. Returns {loss=, "
     "accuracy=, correct=, n=, confusion=K x K table (row = true class, column = predicted)}."},
    {"predict", m_predict, "Net:predict(X) -> labels",
     "X: B x in (1-D: one sample).\nReturns a table of 1-based argmax classes (a number for a "
     "1-D input)."},
    {"save", m_save, "Net:save(path) -> Net",
     "path: file name.\nWrites a checkpoint (docs/checkpoint-format.md) to path.tmp.<pid> and "
     "renames it over path."},
    {"close", mm_gc, "Net:close()", "Frees the net now; later use raises \"Net is closed\"."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__tostring", mm_tostring}, {"__gc", mm_gc}, {"__close", mm_gc}, {"__len", mm_len},
    {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"dense", l_dense, "qnn.nn.dense(in, out [, {bias=true, init=\"default\", seed=, precision=\"double\"}]) -> layer",
     "in, out: integers >= 1; init: \"default\" (U(+-1/sqrt(in)), PyTorch's), "
     "\"uniform(a,b)\", \"normal(mean,std)\", \"xavier\", \"kaiming\", \"kaiming_normal\", "
     "\"zeros\"; seed: integer (else the net's seed stream); precision: \"double\" (default) "
     "or \"single\" (matrix products in float, see Net:precision).\nReturns a layer spec for "
     "qnn.nn.sequential."},
    {"tanh", l_tanh, "qnn.nn.tanh([dim]) -> layer", "dim: optional width check.\ntanh activation."},
    {"relu", l_relu, "qnn.nn.relu([dim]) -> layer", "dim: optional width.\nReLU activation."},
    {"sigmoid", l_sigmoid, "qnn.nn.sigmoid([dim]) -> layer", "dim: optional width.\nLogistic "
     "sigmoid."},
    {"softmax", l_softmax, "qnn.nn.softmax([dim]) -> layer",
     "dim: optional width.\nRow-wise softmax (fused with cross-entropy when last)."},
    {"sign", l_sign, "qnn.nn.sign([dim]) -> layer",
     "dim: optional width.\nsign(z) in {-1,+1} (sign(0)=+1) with the straight-through "
     "estimator: gradient 1 where |z| < 1, else 0 (hard-tanh)."},
    {"identity", l_identity, "qnn.nn.identity([dim]) -> layer", "dim: optional width.\nNo-op layer."},
    {"sequential", l_sequential, "qnn.nn.sequential{layer, ... [, seed=]} -> Net",
     "layers: specs from qnn.nn.dense/tanh/... (or custom specs with a _build function); seed: "
     "integer for the initialisation (default: drawn from the default stream).\nReturns a "
     "built Net; consecutive widths must match.\n"
     "Layer protocol: a spec is a table {kind = name, _build = C function(net_pointer, spec), "
     "...options}; _build appends the layer to the C net (qnn_net_add_*, include/qnn/nn.h), so "
     "new layer types are written in C (as qnn.nn.qubit_activation and qnn.nn.quantum_train "
     "are). For qnn.nn.load to rebuild such a layer, register qnn.nn.layer_loaders[name] = "
     "function(in, out, nparams, fparam) -> spec (fparam: the 4 stored float parameters)."},
    {"mlp", l_mlp,
     "qnn.nn.mlp{n0, n1, ..., nk, hidden=\"relu\", output=\"softmax\", bias=true, init=, seed=, precision=\"double\"} -> Net",
     "sizes: >= 2 integers >= 1; hidden/output: \"tanh\", \"relu\", \"sigmoid\", \"softmax\", "
     "\"sign\", \"identity\"; init as for dense.\nDense layers with the hidden activation "
     "between them and the output activation last."},
    {"load", l_load, "qnn.nn.load(path) -> Net",
     "path: a file written by Net:save.\nRefuses truncated, corrupted (CRC32), wrong-magic or "
     "wrong-version files with an error naming the problem."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(nn) {
    qnn_lua_newclass(L, NET_T, methods, meta);
    qnn_lua_setlife(L, NET_T, &net_life);
    luaL_newmetatable(L, SPEC_MT);
    lua_pushcfunction(L, spec_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "Layer");
    lua_setfield(L, -2, "__qnntype");
    lua_pop(L, 1);
    qnn_lua_subtable(L, 1, "nn");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.nn.");
    /* registry of loaders for custom layer types, also visible as qnn.nn.layer_loaders */
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "qnn.nn.loaders");
    lua_setfield(L, -2, "layer_loaders");
    lua_pop(L, 1);
    return 0;
}
