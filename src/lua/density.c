/* qnn.Density: density matrices from Lua (qnn.density(n) or qnn.density(state)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn_lua.h"
#include "qnn_lua_sim.h"
#include "qnn/density.h"

#define DENSITY_T "qnn.Density"

typedef struct ldensity {
    qnn_density d;
    int closed;
    qnn_lua_mem mem;
} ldensity;

static ldensity *check_open(lua_State *L, int arg) {
    ldensity *u = (ldensity *)luaL_checkudata(L, arg, DENSITY_T);
    if (u->closed || !u->d.vec.amp) {
        qnn_lua_closederror(L, arg, "density", "Density");
    }
    return u;
}

struct qnn_density *qnn_lua_checkdensity(lua_State *L, int arg) { return &check_open(L, arg)->d; }

struct qnn_density *qnn_lua_testdensity(lua_State *L, int arg) {
    ldensity *u = (ldensity *)luaL_testudata(L, arg, DENSITY_T);
    if (!u) return NULL;
    if (u->closed || !u->d.vec.amp) qnn_lua_closederror(L, arg, "density", "Density");
    return &u->d;
}

static int dn_isopen(const void *ud) {
    const ldensity *u = (const ldensity *)ud;
    return !u->closed && u->d.vec.amp;
}
static const qnn_lua_life dn_life = {"Density", dn_isopen, NULL};

struct qnn_density *qnn_lua_pushdensity(lua_State *L, int n) {
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_density_check_size(n, 1, &err) != QNN_OK) luaL_error(L, "density: %s", err.msg);
    size_t bytes = (size_t)16 << (2 * n);
    qnn_lua_mem_reserve(L, bytes);
    ldensity *u = (ldensity *)lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, DENSITY_T);
    if (qnn_density_init(&u->d, n, &err) != QNN_OK) {
        u->closed = 1;
        luaL_error(L, "density: %s", err.msg);
    }
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_DENSITY, bytes);
    return &u->d;
}

static int dn_apply(void *obj, qnn_gate_kind kind, const int *q, int nq, const double *params,
                    qnn_error *err) {
    return qnn_density_apply_gate((qnn_density *)obj, kind, q, nq, params, err);
}

#define X(name, KIND, args, doc)                                                                \
    static int dn_##name(lua_State *L) {                                                        \
        ldensity *u = check_open(L, 1);                                                         \
        return qnn_lua_sim_gate(L, &u->d, u->d.n, KIND, dn_apply);                              \
    }
QNN_LUA_GATE_LIST(X)
#undef X

static int l_density(lua_State *L) {
    qnn_state *s = qnn_lua_teststate(L, 1);
    if (s) {
        if (s->n > QNN_DENSITY_MAX_QUBITS)
            return qnn_lua_argerror(L, 1, "state", "must have at most %d qubits, got %d",
                                    QNN_DENSITY_MAX_QUBITS, s->n);
        qnn_error err;
        qnn_error_clear(&err);
        if (qnn_density_check_size(s->n, 1, &err) != QNN_OK)
            return qnn_lua_argerror(L, 1, "state", "%s", err.msg);
        qnn_density *d = qnn_lua_pushdensity(L, s->n);
        qnn_density_set_pure(d, s, NULL);
        return 1;
    }
    if (lua_type(L, 1) != LUA_TNUMBER && luaL_testudata(L, 1, "qnn.State"))
        return luaL_error(L, "State is closed");
    int n = (int)qnn_lua_checkint(L, 1, "n", 1, QNN_DENSITY_MAX_QUBITS);
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_density_check_size(n, 1, &err) != QNN_OK) return qnn_lua_argerror(L, 1, "n", "%s", err.msg);
    qnn_lua_pushdensity(L, n);
    return 1;
}

static int dn_nqubits(lua_State *L) {
    lua_pushinteger(L, check_open(L, 1)->d.n);
    return 1;
}

static int dn_copy(lua_State *L) {
    ldensity *u = check_open(L, 1);
    qnn_density *c = qnn_lua_pushdensity(L, u->d.n);
    qnn_density_copy_into(c, &u->d, NULL);
    return 1;
}

static int dn_probs(lua_State *L) {
    ldensity *u = check_open(L, 1);
    static const char *const allowed[] = {"table", NULL};
    int has = qnn_lua_checkopts(L, 2, allowed);
    int tbl = has ? qnn_lua_optfield_bool(L, 2, "table", 0) : 0;
    if (!tbl) {
        qnn_tensor *t = qnn_lua_newtensor(L, 1, u->d.dim, 1);
        qnn_density_probs(&u->d, t->data);
        return 1;
    }
    lua_createtable(L, (int)u->d.dim, 0);
    for (size_t x = 0; x < u->d.dim; x++) {
        lua_pushnumber(L, qnn_density_prob(&u->d, x));
        lua_rawseti(L, -2, (lua_Integer)x + 1);
    }
    return 1;
}

static int dn_prob(lua_State *L) {
    ldensity *u = check_open(L, 1);
    lua_Integer i = qnn_lua_checkint(L, 2, "i", 0, (lua_Integer)u->d.dim - 1);
    lua_pushnumber(L, qnn_density_prob(&u->d, (size_t)i));
    return 1;
}

static int dn_get(lua_State *L) {
    ldensity *u = check_open(L, 1);
    lua_Integer i = qnn_lua_checkint(L, 2, "i", 0, (lua_Integer)u->d.dim - 1);
    lua_Integer j = qnn_lua_checkint(L, 3, "j", 0, (lua_Integer)u->d.dim - 1);
    const double *e = u->d.vec.amp + 2 * ((size_t)i * u->d.dim + (size_t)j);
    lua_pushnumber(L, e[0]);
    lua_pushnumber(L, e[1]);
    return 2;
}

static int dn_marginal(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int q[64];
    int k = qnn_lua_sim_qubits(L, 2, "qubits", u->d.n, q, 1, u->d.n);
    size_t d = (size_t)1 << k;
    double *p = (double *)qnn_lua_sim_scratch(L, d * sizeof(double));
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_density_marginal(&u->d, q, k, p, &err), &err, "marginal");
    lua_createtable(L, (int)d, 0);
    for (size_t i = 0; i < d; i++) {
        lua_pushnumber(L, p[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int dn_expect(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int nt = 0;
    qnn_pauli_term *t = qnn_lua_sim_pauli(L, 2, u->d.n, &nt);
    lua_pushnumber(L, qnn_density_expect(&u->d, t, nt));
    return 1;
}

static int dn_purity(lua_State *L) {
    lua_pushnumber(L, qnn_density_purity(&check_open(L, 1)->d));
    return 1;
}

static int dn_trace(lua_State *L) {
    lua_pushnumber(L, qnn_density_trace(&check_open(L, 1)->d));
    return 1;
}

static const char *const RNG_OPTS[] = {"seed", "rng", NULL};

static int dn_sample(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int n = u->d.n;
    lua_Integer shots = qnn_lua_checkint(L, 2, "shots", 1, QNN_LUA_MAX_SHOTS);
    int q[64], k = 0, oarg = 3;
    if (lua_type(L, 3) == LUA_TNUMBER || (lua_istable(L, 3) && lua_rawlen(L, 3) > 0)) {
        k = qnn_lua_sim_qubits(L, 3, "qubits", n, q, 1, n);
        oarg = 4;
    } else if (lua_isnoneornil(L, 3) && !lua_isnoneornil(L, 4)) {
        oarg = 4; /* sample(shots, nil, opts) */
    } else if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3)) {
        return qnn_lua_argerror(L, 3, "qubits", "must be a table of qubits or options, got %s",
                                luaL_typename(L, 3));
    }
    int has = qnn_lua_checkopts(L, oarg, RNG_OPTS);
    qnn_rng local;
    qnn_rng *r = qnn_lua_getrng(L, has ? oarg : 0, &local);
    size_t chunk = (size_t)shots < ((size_t)1 << 20) ? (size_t)shots : ((size_t)1 << 20);
    uint64_t *out = (uint64_t *)qnn_lua_sim_scratch(L, chunk * sizeof(uint64_t));
    lua_newtable(L);
    int t = lua_gettop(L);
    size_t left = (size_t)shots;
    qnn_error err;
    qnn_error_clear(&err);
    while (left > 0) {
        size_t m = left < chunk ? left : chunk;
        qnn_lua_check_status(L, qnn_density_sample(&u->d, m, k ? q : NULL, k, r, out, &err), &err,
                             "sample");
        for (size_t i = 0; i < m; i++) {
            lua_Integer key = (lua_Integer)out[i], c = 0;
            if (lua_rawgeti(L, t, key) == LUA_TNUMBER) c = lua_tointeger(L, -1);
            lua_pop(L, 1);
            lua_pushinteger(L, c + 1);
            lua_rawseti(L, t, key);
        }
        left -= m;
    }
    return 1;
}

static int dn_measure(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->d.n - 1);
    int has = qnn_lua_checkopts(L, 3, RNG_OPTS);
    qnn_rng local;
    qnn_rng *r = qnn_lua_getrng(L, has ? 3 : 0, &local);
    qnn_error err;
    qnn_error_clear(&err);
    int o = 0;
    qnn_lua_check_status(L, qnn_density_measure(&u->d, q, r, &o, &err), &err, "measure");
    lua_pushinteger(L, o);
    return 1;
}

static int dn_reset(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->d.n - 1);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_density_reset_qubit(&u->d, q, &err), &err, "reset");
    lua_settop(L, 1);
    return 1;
}

static int dn_fidelity(lua_State *L) {
    ldensity *u = check_open(L, 1);
    qnn_state *s = qnn_lua_teststate(L, 2);
    if (!s) return qnn_lua_argerror(L, 2, "state", "must be an open State, got %s", luaL_typename(L, 2));
    if (s->n != u->d.n)
        return qnn_lua_argerror(L, 2, "state", "must have %d qubits, got %d", u->d.n, s->n);
    double f = 0;
    qnn_density_fidelity_pure(&u->d, s, &f, NULL);
    lua_pushnumber(L, f);
    return 1;
}

/* channels */
typedef int (*chan1_fn)(qnn_density *, int, double, qnn_error *);

static int channel1(lua_State *L, chan1_fn fn, const char *pname, const char *where) {
    ldensity *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->d.n - 1);
    double p = qnn_lua_checknum(L, 3, pname, 0.0, 1.0);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, fn(&u->d, q, p, &err), &err, where);
    lua_settop(L, 1);
    return 1;
}

static int dn_depolarize(lua_State *L) { return channel1(L, qnn_density_depolarize, "p", "depolarize"); }
static int dn_amplitude_damp(lua_State *L) {
    return channel1(L, qnn_density_amplitude_damp, "gamma", "amplitude_damp");
}
static int dn_phase_damp(lua_State *L) { return channel1(L, qnn_density_phase_damp, "gamma", "phase_damp"); }
static int dn_bit_flip(lua_State *L) { return channel1(L, qnn_density_bit_flip, "p", "bit_flip"); }
static int dn_phase_flip(lua_State *L) { return channel1(L, qnn_density_phase_flip, "p", "phase_flip"); }

static int dn_depolarize2(lua_State *L) {
    ldensity *u = check_open(L, 1);
    if (u->d.n < 2) return luaL_error(L, "depolarize2: needs at least 2 qubits, Density has 1");
    int a = (int)qnn_lua_checkint(L, 2, "a", 0, u->d.n - 1);
    int b = (int)qnn_lua_checkint(L, 3, "b", 0, u->d.n - 1);
    if (a == b) return qnn_lua_argerror(L, 3, "b", "duplicate qubit %d: must differ from 'a'", b);
    double p = qnn_lua_checknum(L, 4, "p", 0.0, 1.0);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_density_depolarize2(&u->d, a, b, p, &err), &err, "depolarize2");
    lua_settop(L, 1);
    return 1;
}

static int dn_kraus(lua_State *L) {
    ldensity *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->d.n - 1);
    if (!lua_istable(L, 3))
        return qnn_lua_argerror(L, 3, "K", "must be a list of 2x2 matrices, got %s", luaL_typename(L, 3));
    int nk = (int)lua_rawlen(L, 3);
    if (nk < 1 || nk > 16)
        return qnn_lua_argerror(L, 3, "K", "must hold between 1 and 16 matrices, got %d", nk);
    double K[16 * 8];
    for (int k = 0; k < nk; k++) {
        lua_rawgeti(L, 3, k + 1);
        int ok = lua_istable(L, -1) && lua_rawlen(L, -1) == 2;
        for (int r = 0; ok && r < 2; r++) {
            lua_rawgeti(L, -1, r + 1);
            ok = lua_istable(L, -1) && lua_rawlen(L, -1) == 2;
            for (int c = 0; ok && c < 2; c++) {
                lua_rawgeti(L, -1, c + 1);
                double re = 0, im = 0;
                if (lua_type(L, -1) == LUA_TNUMBER) {
                    re = lua_tonumber(L, -1);
                } else if (lua_istable(L, -1)) {
                    lua_rawgeti(L, -1, 1);
                    lua_rawgeti(L, -2, 2);
                    int o1 = lua_type(L, -2) == LUA_TNUMBER, o2 = lua_type(L, -1) == LUA_TNUMBER || lua_isnil(L, -1);
                    re = lua_tonumber(L, -2);
                    im = lua_tonumber(L, -1);
                    lua_pop(L, 2);
                    ok = o1 && o2;
                } else {
                    ok = 0;
                }
                ok = ok && isfinite(re) && isfinite(im);
                K[8 * k + 2 * (r * 2 + c)] = re;
                K[8 * k + 2 * (r * 2 + c) + 1] = im;
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!ok)
            return qnn_lua_argerror(L, 3, "K",
                                    "matrix %d must be a 2x2 table of rows with finite numbers "
                                    "or {re, im} entries", k + 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_density_kraus1(&u->d, q, K, nk, &err);
    if (rc) return qnn_lua_argerror(L, 3, "K", "%s", err.msg);
    lua_settop(L, 1);
    return 1;
}

static int dn_close(lua_State *L) {
    ldensity *u = (ldensity *)luaL_checkudata(L, 1, DENSITY_T);
    qnn_density_release(&u->d);
    qnn_lua_mem_release(L, &u->mem);
    u->closed = 1;
    return 0;
}

static int dn_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)check_open(L, 1)->d.dim);
    return 1;
}

static int dn_tostring(lua_State *L) {
    ldensity *u = (ldensity *)luaL_checkudata(L, 1, DENSITY_T);
    if (u->closed || !u->d.vec.amp) {
        lua_pushliteral(L, "qnn.Density(closed)");
        return 1;
    }
    char buf[128];
    snprintf(buf, sizeof buf, "qnn.Density(%d qubit%s, trace %.6g, purity %.6g)", u->d.n,
             u->d.n == 1 ? "" : "s", qnn_density_trace(&u->d), qnn_density_purity(&u->d));
    lua_pushstring(L, buf);
    return 1;
}

#define X(name, KIND, args, doc) {#name, dn_##name, "Density:" #name args " -> Density", doc},
static const qnn_lua_reg methods[] = {
    QNN_LUA_GATE_LIST(X)
    {"nqubits", dn_nqubits, "Density:nqubits() -> integer", "Returns the number of qubits n."},
    {"copy", dn_copy, "Density:copy() -> Density", "Returns an independent copy."},
    {"probs", dn_probs, "Density:probs([{table=false}]) -> Tensor or table",
     "Diagonal of rho: probabilities of the 2^n basis states (entry i+1 is basis state i); a "
     "1-D Tensor, or a table with {table=true}."},
    {"prob", dn_prob, "Density:prob(i) -> number", "i: basis index in [0, 2^n - 1].\nReturns rho_ii."},
    {"get", dn_get, "Density:get(i, j) -> re, im",
     "i, j: indices in [0, 2^n - 1].\nReturns the matrix element rho_ij."},
    {"marginal", dn_marginal, "Density:marginal(qubits) -> table",
     "qubits: table of 1..n distinct qubits in [0, n-1].\nReturns 2^k probabilities; entry s+1 "
     "is the outcome s whose bit j is qubits[j+1]."},
    {"expect", dn_expect, "Density:expect(pauli) -> number",
     "pauli: Pauli string (one of I X Y Z per qubit, character k+1 <-> qubit k) or list of "
     "{coef, \"XYZ...\"} terms.\nReturns Re tr(P rho) (summed over terms)."},
    {"purity", dn_purity, "Density:purity() -> number", "Returns tr(rho^2) (1 for a pure state)."},
    {"trace", dn_trace, "Density:trace() -> number", "Returns Re tr(rho) (1 unless collapsed or misused)."},
    {"sample", dn_sample, "Density:sample(shots [, qubits] [, {seed=, rng=}]) -> table",
     "shots: integer in [1, 2^30]; qubits: table of distinct qubits (default all).\nReturns "
     "{outcome = count}; rho is not changed."},
    {"measure", dn_measure, "Density:measure(q [, {seed=, rng=}]) -> 0 or 1",
     "q: qubit in [0, n-1].\nProjective measurement: collapses rho, returns the outcome."},
    {"reset", dn_reset, "Density:reset(q) -> Density",
     "q: qubit in [0, n-1].\nThe reset channel: qubit q ends in |0> (rho stays a mixture over "
     "the other qubits).\nReturns self."},
    {"fidelity", dn_fidelity, "Density:fidelity(state) -> number",
     "state: State with the same n.\nReturns <psi|rho|psi>."},
    {"depolarize", dn_depolarize, "Density:depolarize(q, p) -> Density",
     "q: qubit in [0, n-1]; p: number in [0, 1].\nWith probability p one of X, Y, Z (p/3 each) "
     "hits qubit q.\nReturns self."},
    {"depolarize2", dn_depolarize2, "Density:depolarize2(a, b, p) -> Density",
     "a, b: distinct qubits; p: number in [0, 1].\nWith probability p one of the 15 non-identity "
     "two-qubit Paulis (p/15 each) hits (a, b).\nReturns self."},
    {"amplitude_damp", dn_amplitude_damp, "Density:amplitude_damp(q, gamma) -> Density",
     "q: qubit; gamma: number in [0, 1].\nKraus {[[1,0],[0,sqrt(1-gamma)]], [[0,sqrt(gamma)],[0,0]]}"
     " (|1> decays to |0> with probability gamma).\nReturns self."},
    {"phase_damp", dn_phase_damp, "Density:phase_damp(q, gamma) -> Density",
     "q: qubit; gamma: number in [0, 1].\nKraus {[[1,0],[0,sqrt(1-gamma)]], [[0,0],[0,sqrt(gamma)]]}"
     " (coherences shrink by sqrt(1-gamma)).\nReturns self."},
    {"bit_flip", dn_bit_flip, "Density:bit_flip(q, p) -> Density",
     "q: qubit; p: number in [0, 1].\nX with probability p.\nReturns self."},
    {"phase_flip", dn_phase_flip, "Density:phase_flip(q, p) -> Density",
     "q: qubit; p: number in [0, 1].\nZ with probability p.\nReturns self."},
    {"kraus", dn_kraus, "Density:kraus(q, K) -> Density",
     "q: qubit; K: list of 1..16 2x2 matrices (rows of numbers or {re, im}) with sum K^dagger K "
     "= I to 1e-10.\nApplies rho -> sum K rho K^dagger on qubit q. Returns self."},
    {"close", dn_close, "Density:close()", "Frees the matrix now; later use raises an error."},
    {NULL, NULL, NULL, NULL}};
#undef X

static const luaL_Reg meta[] = {{"__gc", dn_close},   {"__close", dn_close},
                                {"__len", dn_len},    {"__tostring", dn_tostring},
                                {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"density", l_density, "qnn.density(n | state) -> Density",
     "n: number of qubits, integer in [1, 14] (16 * 4^n bytes must fit in QNN_MAX_BYTES); or a "
     "State on at most 14 qubits.\nReturns |0..0><0..0| or |psi><psi|. rho -> U rho U^dagger "
     "for every gate method."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(density) {
    qnn_lua_newclass(L, DENSITY_T, methods, meta);
    qnn_lua_setlife(L, DENSITY_T, &dn_life);
    qnn_lua_setfuncs(L, 1, funcs, "qnn.");
    return 0;
}
