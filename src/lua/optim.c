/* qnn.optim: SGD / Adam / RMSprop over a net's flat parameter buffer, one-epoch mini-batch
 * training in C (Optimizer:epoch, used by qnn.train.fit) and optimizer checkpoints. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qnn/checkpoint.h"
#include "qnn/nn.h"
#include "qnn/optim.h"
#include "qnn_lua.h"

#define OPT_T "qnn.Optimizer"

typedef struct lopt {
    qnn_optim o;
    int closed;
    qnn_lua_mem mem;
} lopt;

static int opt_isopen(const void *ud) { return !((const lopt *)ud)->closed; }
static const qnn_lua_life opt_life = {"Optimizer", opt_isopen, NULL};

static lopt *lopt_check(lua_State *L, int arg) {
    lopt *u = (lopt *)luaL_testudata(L, arg, OPT_T);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "optimizer", "must be an Optimizer, got %s",
                         tn ? tn : luaL_typename(L, arg));
    }
    if (u->closed) {
        qnn_lua_closederror(L, arg, "optimizer", "Optimizer");
    }
    /* the moment buffers appear at the first step */
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_OPTIMIZER,
                    u->o.n * sizeof(double) * ((u->o.m != NULL) + (u->o.v != NULL)));
    return u;
}

static lopt *lopt_push(lua_State *L) {
    lopt *u = (lopt *)lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, OPT_T);
    return u;
}

/* lr option: number or function(step) -> number; the function goes to user value 1 */
static void read_lr(lua_State *L, int t, lopt *u, int uidx, double def) {
    u->o.lr = def;
    if (!t) return;
    lua_getfield(L, t, "lr");
    if (lua_isfunction(L, -1)) {
        lua_setiuservalue(L, uidx, 1);
        return;
    }
    lua_pop(L, 1);
    u->o.lr = qnn_lua_optfield_num(L, t, "lr", def, 0.0, QNN_OPTIM_MAX_LR);
}

static void finish_new(lua_State *L, lopt *u) {
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_optim_check(&u->o, &err);
    if (rc) luaL_error(L, "qnn.optim.%s: %s", qnn_optim_name(u->o.kind), err.msg);
}

static const char *const sgd_opts[] = {"lr", "momentum", "dampening", "nesterov", "weight_decay", NULL};

static int l_sgd(lua_State *L) {
    int t = qnn_lua_checkopts(L, 1, sgd_opts) ? 1 : 0;
    lopt *u = lopt_push(L);
    int ui = lua_gettop(L);
    qnn_optim_defaults(&u->o, QNN_OPTIM_SGD);
    read_lr(L, t, u, ui, 1e-2);
    u->o.momentum = qnn_lua_optfield_num(L, t, "momentum", 0.0, 0.0, 0.999999999);
    u->o.dampening = qnn_lua_optfield_num(L, t, "dampening", 0.0, 0.0, 1.0);
    u->o.nesterov = qnn_lua_optfield_bool(L, t, "nesterov", 0);
    u->o.weight_decay = qnn_lua_optfield_num(L, t, "weight_decay", 0.0, 0.0, QNN_OPTIM_MAX_LR);
    finish_new(L, u);
    return 1;
}

static const char *const adam_opts[] = {"lr", "betas", "eps", "weight_decay", NULL};

static int l_adam(lua_State *L) {
    int t = qnn_lua_checkopts(L, 1, adam_opts) ? 1 : 0;
    lopt *u = lopt_push(L);
    int ui = lua_gettop(L);
    qnn_optim_defaults(&u->o, QNN_OPTIM_ADAM);
    read_lr(L, t, u, ui, 1e-3);
    if (t) {
        lua_getfield(L, t, "betas");
        if (!lua_isnil(L, -1)) {
            int ok1 = 0, ok2 = 0;
            if (lua_istable(L, -1)) {
                lua_rawgeti(L, -1, 1);
                lua_rawgeti(L, -2, 2);
                u->o.beta1 = lua_tonumberx(L, -2, &ok1);
                u->o.beta2 = lua_tonumberx(L, -1, &ok2);
                lua_pop(L, 2);
            }
            if (!ok1 || !ok2 || !(u->o.beta1 >= 0 && u->o.beta1 < 1) ||
                !(u->o.beta2 >= 0 && u->o.beta2 < 1))
                return luaL_error(L, "bad option 'betas' to 'adam' (must be {b1, b2} with both "
                                     "in [0, 1))");
        }
        lua_pop(L, 1);
    }
    u->o.eps = qnn_lua_optfield_num(L, t, "eps", 1e-8, 1e-300, 1.0);
    u->o.weight_decay = qnn_lua_optfield_num(L, t, "weight_decay", 0.0, 0.0, QNN_OPTIM_MAX_LR);
    finish_new(L, u);
    return 1;
}

static const char *const rms_opts[] = {"lr", "alpha", "eps", "momentum", "weight_decay", NULL};

static int l_rmsprop(lua_State *L) {
    int t = qnn_lua_checkopts(L, 1, rms_opts) ? 1 : 0;
    lopt *u = lopt_push(L);
    int ui = lua_gettop(L);
    qnn_optim_defaults(&u->o, QNN_OPTIM_RMSPROP);
    read_lr(L, t, u, ui, 1e-2);
    u->o.alpha = qnn_lua_optfield_num(L, t, "alpha", 0.99, 0.0, 0.999999999);
    u->o.eps = qnn_lua_optfield_num(L, t, "eps", 1e-8, 1e-300, 1.0);
    u->o.momentum = qnn_lua_optfield_num(L, t, "momentum", 0.0, 0.0, 0.999999999);
    u->o.weight_decay = qnn_lua_optfield_num(L, t, "weight_decay", 0.0, 0.0, QNN_OPTIM_MAX_LR);
    finish_new(L, u);
    return 1;
}

/* current learning rate for the next step (t + 1) */
static double current_lr(lua_State *L, int uidx, lopt *u) {
    if (lua_getiuservalue(L, uidx, 1) == LUA_TFUNCTION) {
        lua_pushinteger(L, (lua_Integer)u->o.t + 1);
        lua_call(L, 1, 1);
        int ok = 0;
        double lr = lua_tonumberx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || !isfinite(lr) || lr < 0 || lr > QNN_OPTIM_MAX_LR)
            luaL_error(L, "learning-rate function returned %s at step %d (need a number in "
                          "[0, 1e6])",
                       ok ? (isnan(lr) ? "NaN" : "an invalid number") : "a non-number",
                       (int)u->o.t + 1);
        return lr;
    }
    lua_pop(L, 1);
    return u->o.lr;
}

/* A learning-rate function is Lua code: it may close the optimizer, the net or the data.
 * After calling it, check the arguments again (they are on the stack, so still alive). */
static lopt *recheck_after_lr(lua_State *L, qnn_net **net, int ndata) {
    lopt *u = lopt_check(L, 1);
    *net = qnn_lua_checknet(L, 2);
    if (ndata >= 1) qnn_lua_checkopen(L, 3, "X");
    if (ndata >= 2) qnn_lua_checkopen(L, 4, "y");
    return u;
}

/* ---------------- the parameter protocol ----------------
 * Optimizer:step(obj) with obj a Net (fast path over its flat buffers), or any object with
 * params() / grads() methods (Circuit, QuantumTrain, ...); Optimizer:step(params, grads) with
 * two Lua tables of the same keys holding Tensors (same numel) or numbers. Keys are visited in
 * a fixed order (integer keys ascending, then string keys sorted), values flattened in that
 * order (Tensors row by row). Updated numbers are written back into the params table; when obj
 * gave a table of numbers (Circuit:params()), obj:set(params) stores them. Nothing is updated
 * when a gradient is missing, has the wrong shape or is not finite. */
static int key_less(lua_State *L, int a, int b) {
    int ta = lua_type(L, a), tb = lua_type(L, b);
    if (ta != tb) return ta == LUA_TNUMBER;
    if (ta == LUA_TNUMBER) return lua_compare(L, a, b, LUA_OPLT);
    return lua_compare(L, a, b, LUA_OPLT);
}

/* pushes a sequence of the keys of table t in the fixed order */
static void sorted_keys(lua_State *L, int t) {
    t = lua_absindex(L, t);
    lua_newtable(L);
    int ks = lua_gettop(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (kt != LUA_TNUMBER && kt != LUA_TSTRING)
            luaL_error(L, "Optimizer:step: params keys must be numbers or strings");
        /* insertion sort (parameter tables are small) */
        int pos = ++n;
        while (pos > 1) {
            lua_rawgeti(L, ks, pos - 1);
            int less = key_less(L, -2, -1);
            if (!less) {
                lua_pop(L, 1);
                break;
            }
            lua_rawseti(L, ks, pos);
            pos--;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, ks, pos);
    }
}

static const char *keystr(lua_State *L, int k) {
    if (lua_type(L, k) == LUA_TNUMBER) return lua_pushfstring(L, "[%d]", (int)lua_tointeger(L, k));
    return lua_pushfstring(L, "['%s']", lua_tostring(L, k));
}

/* steps params table P (index p) with grads table G (index g); returns 1 if numbers were
 * written back into P */
static int step_tables(lua_State *L, lopt *u, int p, int g, double lr) {
    p = lua_absindex(L, p);
    g = lua_absindex(L, g);
    sorted_keys(L, p);
    int ks = lua_gettop(L);
    int nk = (int)lua_rawlen(L, ks);
    /* grads must have exactly the same keys */
    lua_pushnil(L);
    while (lua_next(L, g)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, p) == LUA_TNIL) {
            const char *k = keystr(L, -2);
            luaL_error(L, "Optimizer:step: grads%s has no matching params entry", k);
        }
        lua_pop(L, 1);
    }
    size_t total = 0;
    int numbers = 0;
    for (int i = 1; i <= nk; i++) {
        lua_rawgeti(L, ks, i);
        int k = lua_gettop(L);
        lua_pushvalue(L, k);
        lua_rawget(L, p);
        lua_pushvalue(L, k);
        lua_rawget(L, g);
        qnn_tensor *tp = qnn_lua_testtensor(L, -2), *tg = qnn_lua_testtensor(L, -1);
        if (lua_isnil(L, -1)) luaL_error(L, "Optimizer:step: grads%s is missing", keystr(L, k));
        if (tp) {
            if (!tg || qnn_tensor_numel(tg) != qnn_tensor_numel(tp))
                luaL_error(L, "Optimizer:step: grads%s must be a Tensor of %d entries like "
                              "params%s, got %s%s", keystr(L, k), (int)qnn_tensor_numel(tp),
                           keystr(L, k), tg ? "a Tensor of " : luaL_typename(L, -1),
                           tg ? lua_pushfstring(L, "%d entries", (int)qnn_tensor_numel(tg)) : "");
            total += qnn_tensor_numel(tp);
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
            if (lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "Optimizer:step: grads%s must be a number like params%s, got %s",
                           keystr(L, k), keystr(L, k), luaL_typename(L, -1));
            total++;
            numbers = 1;
        } else {
            luaL_error(L, "Optimizer:step: params%s must be a Tensor or a number, got %s",
                       keystr(L, k), luaL_typename(L, -2));
        }
        lua_settop(L, k - 1);
    }
    double *P = (double *)lua_newuserdatauv(L, sizeof(double) * (total ? total : 1), 0);
    double *G = (double *)lua_newuserdatauv(L, sizeof(double) * (total ? total : 1), 0);
    size_t at = 0;
    for (int i = 1; i <= nk; i++) {
        lua_rawgeti(L, ks, i);
        int k = lua_gettop(L);
        lua_pushvalue(L, k);
        lua_rawget(L, p);
        lua_pushvalue(L, k);
        lua_rawget(L, g);
        qnn_tensor *tp = qnn_lua_testtensor(L, -2), *tg = qnn_lua_testtensor(L, -1);
        size_t start = at;
        if (tp) {
            size_t a2 = at;
            for (size_t r = 0; r < tp->rows; r++)
                for (size_t j = 0; j < tp->cols; j++) P[at++] = qnn_tensor_get(tp, r, j);
            for (size_t r = 0; r < tg->rows; r++)
                for (size_t j = 0; j < tg->cols; j++) G[a2++] = qnn_tensor_get(tg, r, j);
        } else {
            P[at] = lua_tonumber(L, -2);
            G[at++] = lua_tonumber(L, -1);
        }
        for (size_t q = start; q < at; q++)
            if (!isfinite(G[q]))
                luaL_error(L, "Optimizer:step: grads%s entry %d is %s; nothing updated", keystr(L, k),
                           (int)(q - start) + 1, isnan(G[q]) ? "NaN" : "infinite");
        lua_settop(L, k - 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    if (u->o.n && u->o.n != total)
        luaL_error(L, "Optimizer:step: this optimizer has state for %d parameters, got %d (use a "
                      "new optimizer or opt:reset())", (int)u->o.n, (int)total);
    qnn_lua_check_status(L, qnn_optim_step(&u->o, P, G, total, lr, &err), &err, "Optimizer:step");
    at = 0;
    for (int i = 1; i <= nk; i++) {
        lua_rawgeti(L, ks, i);
        int k = lua_gettop(L);
        lua_pushvalue(L, k);
        lua_rawget(L, p);
        qnn_tensor *tp = qnn_lua_testtensor(L, -1);
        lua_pop(L, 1);
        if (tp) {
            for (size_t r = 0; r < tp->rows; r++)
                for (size_t j = 0; j < tp->cols; j++) tp->data[r * tp->ld + j] = P[at++];
        } else {
            lua_pushvalue(L, k);
            lua_pushnumber(L, P[at++]);
            lua_rawset(L, p);
        }
        lua_settop(L, k - 1);
    }
    lua_settop(L, ks - 1);
    return numbers;
}

/* calls obj:name() and leaves the result on the stack */
static void call_method(lua_State *L, int obj, const char *name) {
    obj = lua_absindex(L, obj);
    if (lua_getfield(L, obj, name) != LUA_TFUNCTION) {
        const char *tn = qnn_lua_typename(L, obj);
        luaL_error(L, "Optimizer:step: %s has no %s() method (expected a Net, a Circuit, an "
                      "object with params()/grads(), or a table of parameters with a grads table)",
                   tn ? tn : luaL_typename(L, obj), name);
    }
    lua_pushvalue(L, obj);
    lua_call(L, 1, 1);
}

static int m_step(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    if (lua_isnoneornil(L, 2))
        return qnn_lua_argerror(L, 2, "params", "must be a Net, a Circuit, an object with "
                                "params()/grads(), or a table of Tensors/numbers");
    const char *tn = qnn_lua_typename(L, 2);
    if (tn && strcmp(tn, "Net") == 0) {
        qnn_net *net = qnn_lua_checknet(L, 2);
        double lr = current_lr(L, 1, u);
        u = recheck_after_lr(L, &net, 0);
        for (size_t k = 0; k < net->nparams; k++)
            if (!isfinite(net->grads[k]))
                return luaL_error(L, "Optimizer:step: gradient %d of the net is %s; nothing "
                                     "updated", (int)k + 1, isnan(net->grads[k]) ? "NaN" : "infinite");
        qnn_error err;
        qnn_error_clear(&err);
        qnn_lua_check_status(L, qnn_optim_step(&u->o, net->params, net->grads, net->nparams, lr, &err),
                             &err, "Optimizer:step");
        lua_pushnumber(L, lr);
        return 1;
    }
    double lr = current_lr(L, 1, u);
    u = lopt_check(L, 1); /* the learning-rate function may have closed it */
    if (lua_istable(L, 2) && !lua_getmetatable(L, 2)) {
        /* plain table of parameters with a grads table */
        if (!lua_istable(L, 3))
            return qnn_lua_argerror(L, 3, "grads", "must be a table with the keys of params, got %s",
                                    luaL_typename(L, 3));
        step_tables(L, u, 2, 3, lr);
        lua_pushnumber(L, lr);
        return 1;
    }
    lua_settop(L, 2);
    /* protocol object: params() / grads() (Tensors, or tables of numbers keyed by name) */
    call_method(L, 2, "params");
    call_method(L, 2, "grads");
    if (qnn_lua_testtensor(L, 3)) {
        lua_newtable(L);
        lua_pushvalue(L, 3);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 3);
        lua_newtable(L);
        lua_pushvalue(L, 4);
        lua_rawseti(L, -2, 1);
        lua_replace(L, 4);
    }
    if (!lua_istable(L, 3) || !lua_istable(L, 4))
        return luaL_error(L, "Optimizer:step: params()/grads() must return Tensors or tables");
    if (step_tables(L, u, 3, 4, lr)) {
        lua_getfield(L, 2, "set");
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_call(L, 2, 0);
    }
    lua_pushnumber(L, lr);
    return 1;
}

static int m_lr(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        if (lua_isfunction(L, 2)) {
            lua_pushvalue(L, 2);
            lua_setiuservalue(L, 1, 1);
        } else {
            u->o.lr = qnn_lua_checknum(L, 2, "lr", 0.0, QNN_OPTIM_MAX_LR);
            lua_pushnil(L);
            lua_setiuservalue(L, 1, 1);
        }
    }
    lua_pushnumber(L, current_lr(L, 1, u));
    return 1;
}

static void push_buf(lua_State *L, const double *p, size_t n) {
    qnn_tensor *t = qnn_lua_newtensor(L, 1, n, 1);
    if (n) memcpy(t->data, p, n * sizeof(double));
}

static int m_state(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    qnn_optim *o = &u->o;
    lua_createtable(L, 0, 12);
    lua_pushstring(L, qnn_optim_name(o->kind));
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, (lua_Integer)o->t);
    lua_setfield(L, -2, "step");
    lua_pushnumber(L, o->lr);
    lua_setfield(L, -2, "lr");
    lua_pushnumber(L, o->weight_decay);
    lua_setfield(L, -2, "weight_decay");
    if (o->kind == QNN_OPTIM_SGD) {
        lua_pushnumber(L, o->momentum);
        lua_setfield(L, -2, "momentum");
        lua_pushnumber(L, o->dampening);
        lua_setfield(L, -2, "dampening");
        lua_pushboolean(L, o->nesterov);
        lua_setfield(L, -2, "nesterov");
        if (o->n && o->momentum > 0) {
            push_buf(L, o->m, o->n);
            lua_setfield(L, -2, "momentum_buffer");
        }
    } else if (o->kind == QNN_OPTIM_ADAM) {
        lua_createtable(L, 2, 0);
        lua_pushnumber(L, o->beta1);
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, o->beta2);
        lua_rawseti(L, -2, 2);
        lua_setfield(L, -2, "betas");
        lua_pushnumber(L, o->eps);
        lua_setfield(L, -2, "eps");
        if (o->n) {
            push_buf(L, o->m, o->n);
            lua_setfield(L, -2, "exp_avg");
            push_buf(L, o->v, o->n);
            lua_setfield(L, -2, "exp_avg_sq");
        }
    } else {
        lua_pushnumber(L, o->alpha);
        lua_setfield(L, -2, "alpha");
        lua_pushnumber(L, o->eps);
        lua_setfield(L, -2, "eps");
        lua_pushnumber(L, o->momentum);
        lua_setfield(L, -2, "momentum");
        if (o->n) {
            push_buf(L, o->v, o->n);
            lua_setfield(L, -2, "square_avg");
        }
    }
    return 1;
}

static int m_reset(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    qnn_optim_reset(&u->o);
    lua_settop(L, 1);
    return 1;
}

static int m_save(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    const char *path = luaL_checkstring(L, 2);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_ckpt_save_optim(&u->o, path, &err), &err, "Optimizer:save");
    lua_settop(L, 1);
    return 1;
}

static int l_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lopt *u = lopt_push(L);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_optim o;
    qnn_lua_check_status(L, qnn_ckpt_load_optim(path, &o, &err), &err, "qnn.optim.load");
    u->o = o;
    return 1;
}

static int m_copy(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    lopt *c = lopt_push(L);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_optim o;
    qnn_lua_check_status(L, qnn_optim_copy(&o, &u->o, &err), &err, "Optimizer:copy");
    c->o = o;
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* ---------------- one epoch of mini-batch training ---------------- */
static int *to_labels(lua_State *L, int arg, size_t n, size_t K) {
    qnn_tensor *t = qnn_lua_testtensor(L, arg);
    size_t m;
    if (t) m = qnn_tensor_numel(t);
    else if (lua_istable(L, arg)) m = lua_rawlen(L, arg);
    else
        return qnn_lua_argerror(L, arg, "y", "must be a table or Tensor of labels, got %s",
                                luaL_typename(L, arg)),
               (int *)NULL;
    if (m != n) luaL_error(L, "bad argument 'y' (%d labels for %d rows of X)", (int)m, (int)n);
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
            luaL_error(L, "bad argument 'y' (label %d must be an integer class in [1, %d], got %f)",
                       (int)i + 1, (int)K, v);
        y[i] = (int)v - 1;
    }
    return y;
}

static const char *const epoch_opts[] = {"batch", "shuffle", "seed", "rng", "loss", "l2", NULL};
static const char *const loss_names[] = {"cross_entropy", "mse", NULL};

static int m_epoch(lua_State *L) {
    lopt *u = lopt_check(L, 1);
    qnn_net *net = qnn_lua_checknet(L, 2);
    int pushed = 0;
    qnn_tensor *Xt = qnn_lua_totensor(L, 3, "X", &pushed);
    if (pushed) lua_replace(L, 3);
    qnn_tensor X = *Xt;
    if (X.ndim == 1) X.ndim = 2;
    int t = qnn_lua_checkopts(L, 5, epoch_opts) ? 5 : 0;
    size_t N = X.rows;
    if (N == 0) return luaL_error(L, "Optimizer:epoch: empty data set (X has 0 rows)");
    lua_Integer batch = qnn_lua_optfield_int(L, t, "batch", 32, 1, 0x7fffffff);
    int shuffle = qnn_lua_optfield_bool(L, t, "shuffle", 1);
    int kind = qnn_lua_optfield_choice(L, t, "loss", loss_names, 0);
    double l2 = qnn_lua_optfield_num(L, t, "l2", 0.0, 0.0, HUGE_VAL);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, t, &local);
    size_t K = qnn_net_out_dim(net);
    char s1[48];
    if (X.cols != qnn_net_in_dim(net))
        return luaL_error(L, "Optimizer:epoch: input shape mismatch: X is %s, net expects Nx%d",
                          qnn_tensor_shape_str(&X, s1, sizeof s1), (int)qnn_net_in_dim(net));
    int *labels = NULL;
    qnn_tensor T;
    qnn_tensor *tb = NULL;
    if (kind == QNN_LOSS_CROSS_ENTROPY) {
        labels = to_labels(L, 4, N, K);
    } else {
        qnn_tensor *tt = qnn_lua_totensor(L, 4, "y", &pushed);
        if (pushed) lua_replace(L, 4);
        T = *tt;
        if (T.ndim == 1 && K == 1 && T.cols == N) T.rows = N, T.cols = 1, T.ld = 1;
        T.ndim = 2;
        if (T.rows != N || T.cols != K)
            return luaL_error(L, "Optimizer:epoch: mse targets shape mismatch: got %s, need %dx%d",
                              qnn_tensor_shape_str(tt, s1, sizeof s1), (int)N, (int)K);
        tb = qnn_lua_newtensor(L, (size_t)batch < N ? (size_t)batch : N, K, 2);
    }
    size_t *perm = (size_t *)lua_newuserdatauv(L, N * sizeof(size_t), 0);
    for (size_t i = 0; i < N; i++) perm[i] = i;
    if (shuffle) qnn_rng_shuffle(rng, perm, N);
    qnn_error err;
    qnn_error_clear(&err);
    double total = 0.0;
    size_t hits = 0, steps = 0;
    for (size_t b0 = 0; b0 < N; b0 += (size_t)batch) {
        size_t cnt = N - b0 < (size_t)batch ? N - b0 : (size_t)batch;
        qnn_tensor xb;
        const int *yb = NULL;
        int rc = qnn_net_gather(net, &X, labels, perm + b0, cnt, &xb, &yb, &err);
        qnn_lua_check_status(L, rc, &err, "Optimizer:epoch");
        qnn_targets y = {yb, NULL};
        qnn_tensor tv;
        if (tb) {
            rc = qnn_tensor_gather_rows(tb, &T, perm + b0, cnt, &err);
            qnn_lua_check_status(L, rc, &err, "Optimizer:epoch");
            qnn_tensor_wrap(&tv, tb->data, cnt, K, tb->ld, 2);
            y.values = &tv;
        }
        double loss = 0;
        size_t c = 0;
        rc = qnn_net_backward(net, &xb, kind, &y, l2, NULL, &loss, &c, &err);
        qnn_lua_check_status(L, rc, &err, "Optimizer:epoch");
        if (!isfinite(loss))
            return luaL_error(L, "Optimizer:epoch: loss became %f at step %d (diverged; lower the "
                                 "learning rate)", loss, (int)u->o.t + 1);
        double lr = current_lr(L, 1, u);
        u = recheck_after_lr(L, &net, 2);
        rc = qnn_optim_step(&u->o, net->params, net->grads, net->nparams, lr, &err);
        qnn_lua_check_status(L, rc, &err, "Optimizer:epoch");
        total += loss * (double)cnt;
        hits += c;
        steps++;
        qnn_lua_check_status(L, qnn_progress_step(NULL, (double)b0, (double)N), NULL, "Optimizer:epoch");
    }
    lua_pushnumber(L, total / (double)N);
    if (kind == QNN_LOSS_CROSS_ENTROPY) lua_pushnumber(L, (double)hits / (double)N);
    else lua_pushnil(L);
    lua_pushinteger(L, (lua_Integer)steps);
    return 3;
}

/* ---------------- metamethods ---------------- */
static int mm_tostring(lua_State *L) {
    lopt *u = (lopt *)luaL_checkudata(L, 1, OPT_T);
    if (u->closed) {
        lua_pushliteral(L, "qnn.Optimizer (closed)");
        return 1;
    }
    const qnn_optim *o = &u->o;
    int fn = lua_getiuservalue(L, 1, 1) == LUA_TFUNCTION;
    lua_pop(L, 1);
    char lr[48];
    if (fn) snprintf(lr, sizeof lr, "schedule");
    else snprintf(lr, sizeof lr, "%g", o->lr);
    switch (o->kind) {
    case QNN_OPTIM_SGD:
        lua_pushfstring(L, "qnn.Optimizer sgd{lr=%s, momentum=%f, nesterov=%s, weight_decay=%f} step %d",
                        lr, o->momentum, o->nesterov ? "true" : "false", o->weight_decay, (int)o->t);
        break;
    case QNN_OPTIM_ADAM:
        lua_pushfstring(L, "qnn.Optimizer adam{lr=%s, betas={%f, %f}, eps=%f, weight_decay=%f} step %d",
                        lr, o->beta1, o->beta2, o->eps, o->weight_decay, (int)o->t);
        break;
    default:
        lua_pushfstring(L, "qnn.Optimizer rmsprop{lr=%s, alpha=%f, eps=%f} step %d", lr, o->alpha,
                        o->eps, (int)o->t);
    }
    return 1;
}

static int mm_gc(lua_State *L) {
    lopt *u = (lopt *)luaL_checkudata(L, 1, OPT_T);
    if (!u->closed) qnn_optim_release(&u->o);
    qnn_lua_mem_release(L, &u->mem);
    u->closed = 1;
    return 0;
}

static const qnn_lua_reg methods[] = {
    {"step", m_step, "Optimizer:step(obj) | Optimizer:step(params, grads) -> lr",
     "obj: a Net (grads filled by Net:backward; C loop over its flat buffer), a Circuit (grads "
     "of its last gradient/vjp call; updated with Circuit:set) or any object with params() / "
     "grads() (QuantumTrain, ...); params, grads: Lua tables with the same keys holding Tensors "
     "(same number of entries) or numbers (new values are written back into params).\nOne "
     "update; entries are visited in a fixed order (integer keys, then sorted string keys). "
     "Missing, mis-shaped or non-finite gradients raise an error and nothing is updated. "
     "Returns the learning rate used."},
    {"epoch", m_epoch,
     "Optimizer:epoch(net, X, y [, {batch=32, shuffle=true, seed=, rng=, loss=\"cross_entropy\", l2=0}]) -> loss, acc, steps",
     "X: N x in Tensor (N >= 1); y: labels 1..K (table/Tensor) or mse targets; batch >= 1.\n"
     "One pass of mini-batch training in C (gather, forward, backward, update per batch). "
     "Returns the mean training loss, accuracy (nil for mse) and the number of steps."},
    {"lr", m_lr, "Optimizer:lr([new]) -> number",
     "new: number >= 0 or function(step) -> number.\nSets (optionally) and returns the "
     "learning rate of the next step."},
    {"state", m_state, "Optimizer:state() -> table",
     "Returns kind, step, hyper-parameters and copies of the state buffers (exp_avg, "
     "exp_avg_sq, momentum_buffer, square_avg as Tensors)."},
    {"reset", m_reset, "Optimizer:reset() -> Optimizer",
     "Forgets the state (step 0, buffers freed); hyper-parameters stay."},
    {"copy", m_copy, "Optimizer:copy() -> Optimizer", "Deep copy including state."},
    {"save", m_save, "Optimizer:save(path) -> Optimizer",
     "path: file.\nWrites hyper-parameters and state (a learning-rate function is not saved) "
     "to path.tmp.<pid>, then renames."},
    {"close", mm_gc, "Optimizer:close()", "Frees the state now."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__tostring", mm_tostring}, {"__gc", mm_gc}, {"__close", mm_gc}, {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"sgd", l_sgd,
     "qnn.optim.sgd{lr=0.01, momentum=0, dampening=0, nesterov=false, weight_decay=0} -> Optimizer",
     "lr: number in [0, 1e6] or function(step) -> number; momentum in [0, 1); nesterov needs "
     "momentum > 0 and dampening 0; weight_decay in [0, 1e6].\nPyTorch semantics."},
    {"adam", l_adam,
     "qnn.optim.adam{lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0} -> Optimizer",
     "lr: number in [0, 1e6] or function(step); betas in [0, 1); eps in (0, 1]; weight_decay "
     "in [0, 1e6] (L2 "
     "added to the gradient, as torch.optim.Adam).\nBias-corrected Adam."},
    {"rmsprop", l_rmsprop,
     "qnn.optim.rmsprop{lr=1e-2, alpha=0.99, eps=1e-8, momentum=0, weight_decay=0} -> Optimizer",
     "lr: number in [0, 1e6] or function(step); alpha in [0, 1); eps in (0, 1].\nPyTorch RMSprop "
     "(non-centered)."},
    {"load", l_load, "qnn.optim.load(path) -> Optimizer",
     "path: file written by Optimizer:save.\nRefuses truncated, corrupted, wrong-magic or "
     "wrong-version files, and settings or state a constructor would refuse (e.g. eps = 0, "
     "lr > 1e6, betas outside [0, 1), negative or non-finite moments), naming the bad one."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(optim) {
    qnn_lua_newclass(L, OPT_T, methods, meta);
    qnn_lua_setlife(L, OPT_T, &opt_life);
    qnn_lua_subtable(L, 1, "optim");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.optim.");
    lua_pop(L, 1);
    return 0;
}
