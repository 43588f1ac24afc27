/* qnn.State: state vectors from Lua (qnn.state(n)), plus the gate/observable parsing shared
 * with qnn.Density (qnn_lua_sim.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn_lua.h"
#include "qnn_lua_sim.h"
#include "qnn/statevec.h"

#define STATE_T "qnn.State"

typedef struct lstate {
    qnn_state s;
    int closed;
    qnn_lua_mem mem;
} lstate;

/* ------------------------------------------------------------------ shared helpers */
void *qnn_lua_sim_scratch(lua_State *L, size_t bytes) {
    void *p = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
    return p; /* lua_newuserdatauv raises a memory error itself on failure */
}

int qnn_lua_sim_qubits(lua_State *L, int arg, const char *argname, int n, int *q, int mink,
                       int maxk) {
    int k = 0;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        q[0] = (int)qnn_lua_checkint(L, arg, argname, 0, n - 1);
        k = 1;
    } else if (lua_istable(L, arg)) {
        lua_Integer len = (lua_Integer)lua_rawlen(L, arg);
        if (len < mink || len > maxk)
            return qnn_lua_argerror(L, arg, argname,
                                    "must list between %d and %d qubits, got %d", mink, maxk,
                                    (int)len);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_rawgeti(L, arg, i);
            int ok = 0;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok || v < 0 || v >= n)
                return qnn_lua_argerror(L, arg, argname,
                                        "entry %d must be a qubit, an integer in [0, %d], got %s",
                                        (int)i, n - 1, luaL_tolstring(L, -1, NULL));
            lua_pop(L, 1);
            for (int j = 0; j < k; j++)
                if (q[j] == (int)v)
                    return qnn_lua_argerror(L, arg, argname,
                                            "duplicate qubit %d (entries %d and %d)", (int)v,
                                            j + 1, (int)i);
            q[k++] = (int)v;
        }
    } else {
        return qnn_lua_argerror(L, arg, argname,
                                "must be a qubit index or a table of qubit indices, got %s",
                                luaL_typename(L, arg));
    }
    if (k < mink || k > maxk)
        return qnn_lua_argerror(L, arg, argname, "must list between %d and %d qubits, got %d",
                                mink, maxk, k);
    return k;
}

/* Reads a number or {re, im} at the top of the stack. */
static int read_complex(lua_State *L, double *re, double *im) {
    int ok = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        *re = lua_tonumber(L, -1);
        *im = 0;
        return isfinite(*re);
    }
    if (!lua_istable(L, -1)) return 0;
    lua_rawgeti(L, -1, 1);
    ok = lua_type(L, -1) == LUA_TNUMBER;
    *re = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!ok) return 0;
    lua_rawgeti(L, -1, 2);
    if (lua_isnil(L, -1)) *im = 0;
    else if (lua_type(L, -1) == LUA_TNUMBER) *im = lua_tonumber(L, -1);
    else ok = 0;
    lua_pop(L, 1);
    return ok && isfinite(*re) && isfinite(*im);
}

/* Real vector of m finite numbers from a table or Tensor at arg into out. */
static void read_reals(lua_State *L, int arg, const char *argname, size_t m, double *out) {
    qnn_tensor *t = qnn_lua_testtensor(L, arg);
    if (t) {
        if (qnn_tensor_numel(t) != m)
            qnn_lua_argerror(L, arg, argname, "must have %zu entries, got a Tensor of %zu", m,
                             qnn_tensor_numel(t));
        size_t k = 0;
        for (size_t i = 0; i < t->rows; i++)
            for (size_t j = 0; j < t->cols; j++) {
                double v = qnn_tensor_get(t, i, j);
                if (!isfinite(v))
                    qnn_lua_argerror(L, arg, argname, "entry %zu must be finite, got %g", k + 1, v);
                out[k++] = v;
            }
        return;
    }
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, argname, "must be a table of %zu numbers, got %s", m,
                         luaL_typename(L, arg));
    size_t len = lua_rawlen(L, arg);
    if (len != m)
        qnn_lua_argerror(L, arg, argname, "must have %zu entries, got %zu", m, len);
    for (size_t i = 0; i < m; i++) {
        lua_rawgeti(L, arg, (lua_Integer)i + 1);
        int ok = 0;
        double v = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(v) || lua_type(L, -1) == LUA_TSTRING)
            qnn_lua_argerror(L, arg, argname, "entry %zu must be a finite number, got %s", i + 1,
                             luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
        out[i] = v;
    }
}

/* d x d complex matrix from a table of rows at arg. */
static void read_matrix(lua_State *L, int arg, const char *argname, size_t d, double *m) {
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, argname, "must be a %zux%zu matrix (table of rows), got %s", d, d,
                         luaL_typename(L, arg));
    size_t rows = lua_rawlen(L, arg);
    if (rows != d)
        qnn_lua_argerror(L, arg, argname, "must be a %zux%zu matrix, got %zu rows", d, d, rows);
    for (size_t r = 0; r < d; r++) {
        lua_rawgeti(L, arg, (lua_Integer)r + 1);
        if (!lua_istable(L, -1) || lua_rawlen(L, -1) != d)
            qnn_lua_argerror(L, arg, argname, "row %zu must be a table of %zu entries", r + 1, d);
        for (size_t c = 0; c < d; c++) {
            lua_rawgeti(L, -1, (lua_Integer)c + 1);
            double re, im;
            if (!read_complex(L, &re, &im))
                qnn_lua_argerror(L, arg, argname,
                                 "entry (%zu, %zu) must be a finite number or {re, im}", r + 1,
                                 c + 1);
            lua_pop(L, 1);
            m[2 * (r * d + c)] = re;
            m[2 * (r * d + c) + 1] = im;
        }
        lua_pop(L, 1);
    }
}

static const char *const PNAMES1[] = {"theta", NULL};
static const char *const PNAMES_PHASE[] = {"lambda", NULL};
static const char *const PNAMES_U3[] = {"theta", "phi", "lambda"};

int qnn_lua_sim_gate(lua_State *L, void *obj, int n, qnn_gate_kind kind, qnn_lua_gate_apply apply) {
    const qnn_gate_info *g = qnn_gate_get_info(kind);
    int q[64];
    int nq = 0;
    double p[QNN_GATE_MAX_PARAMS] = {0, 0, 0};
    const double *params = p;
    switch (kind) {
    case QNN_G_MCX: {
        int nc = 0;
        if (lua_type(L, 2) == LUA_TTABLE && lua_rawlen(L, 2) == 0) nc = 0;
        else nc = qnn_lua_sim_qubits(L, 2, "controls", n, q, 0, n - 1);
        int t = (int)qnn_lua_checkint(L, 3, "target", 0, n - 1);
        for (int i = 0; i < nc; i++)
            if (q[i] == t)
                return qnn_lua_argerror(L, 3, "target", "duplicate qubit %d: also a control", t);
        q[nc] = t;
        nq = nc + 1;
        break;
    }
    case QNN_G_MCZ:
        nq = qnn_lua_sim_qubits(L, 2, "qubits", n, q, 1, n);
        break;
    case QNN_G_UNITARY: {
        int maxk = n < QNN_GATE_MAX_UNITARY_QUBITS ? n : QNN_GATE_MAX_UNITARY_QUBITS;
        nq = qnn_lua_sim_qubits(L, 2, "qubits", n, q, 1, maxk);
        size_t d = (size_t)1 << nq;
        double *m = (double *)qnn_lua_sim_scratch(L, 2 * d * d * sizeof(double));
        read_matrix(L, 3, "M", d, m);
        if (!qnn_matrix_is_unitary(m, d, 1e-10))
            return qnn_lua_argerror(L, 3, "M", "must be unitary (M^dagger M = I to 1e-10)");
        params = m;
        break;
    }
    case QNN_G_DIAGONAL: {
        int parg = 2;
        if (!lua_isnoneornil(L, 3)) {
            nq = qnn_lua_sim_qubits(L, 2, "qubits", n, q, 1, n);
            parg = 3;
        } else {
            nq = n;
            for (int i = 0; i < n; i++) q[i] = i;
        }
        size_t m = (size_t)1 << nq;
        double *ph = (double *)qnn_lua_sim_scratch(L, m * sizeof(double));
        read_reals(L, parg, "phases", m, ph);
        params = ph;
        break;
    }
    default: {
        static const char *const n1[] = {"q"}, *const nab[] = {"a", "b"},
                                 *const nct[] = {"control", "target"};
        nq = g->nqubits;
        const char *const *names = nq == 1 ? n1
                                   : (kind == QNN_G_SWAP || kind == QNN_G_RXX || kind == QNN_G_RYY ||
                                      kind == QNN_G_RZZ || kind == QNN_G_RZY)
                                       ? nab
                                       : nct;
        for (int i = 0; i < nq; i++) {
            q[i] = (int)qnn_lua_checkint(L, 2 + i, names[i], 0, n - 1);
            for (int j = 0; j < i; j++)
                if (q[j] == q[i])
                    return qnn_lua_argerror(L, 2 + i, names[i],
                                            "duplicate qubit %d: must differ from '%s'", q[i],
                                            names[j]);
        }
        const char *const *pn = kind == QNN_G_U3 ? PNAMES_U3
                                : (kind == QNN_G_PHASE || kind == QNN_G_CPHASE) ? PNAMES_PHASE
                                                                                  : PNAMES1;
        for (int j = 0; j < g->nparams; j++) p[j] = qnn_lua_checkfinite(L, 2 + nq + j, pn[j]);
        break;
    }
    }
    qnn_error err;
    qnn_error_clear(&err);
    int rc = apply(obj, kind, q, nq, params, &err);
    qnn_lua_check_status(L, rc, &err, g->name);
    lua_settop(L, 1);
    return 1;
}

qnn_pauli_term *qnn_lua_sim_pauli(lua_State *L, int arg, int n, int *nt) {
    qnn_error err;
    qnn_error_clear(&err);
    if (lua_type(L, arg) == LUA_TSTRING) {
        qnn_pauli_term *t = (qnn_pauli_term *)qnn_lua_sim_scratch(L, sizeof *t);
        if (qnn_pauli_parse(lua_tostring(L, arg), n, t, &err) != QNN_OK)
            qnn_lua_argerror(L, arg, "pauli", "%s", err.msg);
        *nt = 1;
        return t;
    }
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, "pauli",
                         "must be a Pauli string like \"ZIX\" (length %d) or a list of "
                         "{coef, \"XYZ...\"} terms, got %s", n, luaL_typename(L, arg));
    int single = 0;
    lua_rawgeti(L, arg, 1);
    single = lua_type(L, -1) == LUA_TNUMBER;
    lua_pop(L, 1);
    size_t m = single ? 1 : lua_rawlen(L, arg);
    if (m < 1 || m > 1000000)
        qnn_lua_argerror(L, arg, "pauli", "must hold between 1 and 1000000 terms, got %zu", m);
    qnn_pauli_term *t = (qnn_pauli_term *)qnn_lua_sim_scratch(L, m * sizeof *t);
    int base = lua_gettop(L);
    for (size_t i = 0; i < m; i++) {
        if (single) lua_pushvalue(L, arg);
        else lua_rawgeti(L, arg, (lua_Integer)i + 1);
        int ti = lua_gettop(L);
        if (!lua_istable(L, ti))
            qnn_lua_argerror(L, arg, "pauli", "term %zu must be a table {coef, \"XYZ...\"}", i + 1);
        lua_rawgeti(L, ti, 1);
        lua_rawgeti(L, ti, 2);
        int ok = 0;
        double c = lua_tonumberx(L, -2, &ok);
        if (!ok || !isfinite(c) || lua_type(L, -2) == LUA_TSTRING)
            qnn_lua_argerror(L, arg, "pauli", "term %zu: coefficient must be a finite number",
                             i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            qnn_lua_argerror(L, arg, "pauli", "term %zu: second entry must be a Pauli string",
                             i + 1);
        if (qnn_pauli_parse(lua_tostring(L, -1), n, &t[i], &err) != QNN_OK)
            qnn_lua_argerror(L, arg, "pauli", "term %zu: %s", i + 1, err.msg);
        t[i].coef = c;
        lua_settop(L, base);
    }
    *nt = (int)m;
    return t;
}

void qnn_lua_sim_push_counts(lua_State *L, const uint64_t *out, size_t m) {
    lua_newtable(L);
    int t = lua_gettop(L);
    for (size_t i = 0; i < m; i++) {
        lua_Integer key = (lua_Integer)out[i];
        lua_Integer c = 0;
        if (lua_rawgeti(L, t, key) == LUA_TNUMBER) c = lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushinteger(L, c + 1);
        lua_rawseti(L, t, key);
    }
}

/* ------------------------------------------------------------------ State userdata */
static lstate *check_open(lua_State *L, int arg) {
    lstate *u = (lstate *)luaL_checkudata(L, arg, STATE_T);
    if (u->closed || !u->s.amp) {
        qnn_lua_closederror(L, arg, "state", "State");
    }
    return u;
}

struct qnn_state *qnn_lua_checkstate(lua_State *L, int arg) { return &check_open(L, arg)->s; }

struct qnn_state *qnn_lua_teststate(lua_State *L, int arg) {
    lstate *u = (lstate *)luaL_testudata(L, arg, STATE_T);
    if (!u) return NULL;
    if (u->closed || !u->s.amp) qnn_lua_closederror(L, arg, "state", "State");
    return &u->s;
}

static int st_isopen(const void *ud) {
    const lstate *u = (const lstate *)ud;
    return !u->closed && u->s.amp;
}
static const qnn_lua_life st_life = {"State", st_isopen, NULL};

struct qnn_state *qnn_lua_pushstate(lua_State *L, int n) {
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_state_check_size(n, 1, &err);
    if (rc) luaL_error(L, "state: %s", err.msg);
    size_t bytes = (size_t)16 << n;
    qnn_lua_mem_reserve(L, bytes);
    lstate *u = (lstate *)lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, STATE_T);
    rc = qnn_state_init(&u->s, n, &err);
    if (rc) {
        u->closed = 1;
        luaL_error(L, "state: %s", err.msg);
    }
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_STATE, bytes);
    return &u->s;
}

static int st_apply(void *obj, qnn_gate_kind kind, const int *q, int nq, const double *params,
                    qnn_error *err) {
    return qnn_state_apply_gate((qnn_state *)obj, kind, q, nq, params, err);
}

#define X(name, KIND, args, doc)                                                                \
    static int st_##name(lua_State *L) {                                                        \
        lstate *u = check_open(L, 1);                                                           \
        return qnn_lua_sim_gate(L, &u->s, u->s.n, KIND, st_apply);                              \
    }
QNN_LUA_GATE_LIST(X)
#undef X

static int l_state(lua_State *L) {
    int n = (int)qnn_lua_checkint(L, 1, "n", 1, QNN_STATE_MAX_QUBITS);
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_state_check_size(n, 1, &err) != QNN_OK) qnn_lua_argerror(L, 1, "n", "%s", err.msg);
    qnn_lua_pushstate(L, n);
    return 1;
}

static int st_nqubits(lua_State *L) {
    lua_pushinteger(L, check_open(L, 1)->s.n);
    return 1;
}

static int st_copy(lua_State *L) {
    lstate *u = check_open(L, 1);
    qnn_state *c = qnn_lua_pushstate(L, u->s.n);
    memcpy(c->amp, u->s.amp, 16 * u->s.dim);
    return 1;
}

static int st_norm(lua_State *L) {
    lua_pushnumber(L, qnn_state_norm(&check_open(L, 1)->s));
    return 1;
}

static int st_normalize(lua_State *L) {
    lstate *u = check_open(L, 1);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_state_normalize(&u->s, &err), &err, "normalize");
    lua_settop(L, 1);
    return 1;
}

static int st_amp(lua_State *L) {
    lstate *u = check_open(L, 1);
    lua_Integer i = qnn_lua_checkint(L, 2, "i", 0, (lua_Integer)u->s.dim - 1);
    lua_pushnumber(L, u->s.amp[2 * i]);
    lua_pushnumber(L, u->s.amp[2 * i + 1]);
    return 2;
}

static int st_set_amps(lua_State *L) {
    lstate *u = check_open(L, 1);
    size_t dim = u->s.dim;
    if (!lua_istable(L, 2))
        return qnn_lua_argerror(L, 2, "amps", "must be a table of %zu numbers or {re, im} pairs, got %s",
                                dim, luaL_typename(L, 2));
    size_t len = lua_rawlen(L, 2);
    if (len != dim)
        return qnn_lua_argerror(L, 2, "amps", "must have 2^n = %zu entries, got %zu", dim, len);
    double re, im;
    for (size_t i = 0; i < dim; i++) { /* validate first: nothing is touched on error */
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        if (!read_complex(L, &re, &im))
            return qnn_lua_argerror(L, 2, "amps", "entry %zu must be a finite number or {re, im}",
                                    i + 1);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < dim; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        read_complex(L, &re, &im);
        lua_pop(L, 1);
        u->s.amp[2 * i] = re;
        u->s.amp[2 * i + 1] = im;
    }
    lua_settop(L, 1);
    return 1;
}

static int want_table(lua_State *L, int arg) {
    static const char *const allowed[] = {"table", NULL};
    if (!qnn_lua_checkopts(L, arg, allowed)) return 0;
    return qnn_lua_optfield_bool(L, arg, "table", 0);
}

static int st_probs(lua_State *L) {
    lstate *u = check_open(L, 1);
    int tbl = want_table(L, 2);
    if (!tbl) {
        qnn_tensor *t = qnn_lua_newtensor(L, 1, u->s.dim, 1);
        qnn_state_probs(&u->s, t->data);
        return 1;
    }
    lua_createtable(L, (int)(u->s.dim < 0x7fffffff ? u->s.dim : 0x7fffffff), 0);
    for (size_t x = 0; x < u->s.dim; x++) {
        lua_pushnumber(L, qnn_state_prob(&u->s, x));
        lua_rawseti(L, -2, (lua_Integer)x + 1);
    }
    return 1;
}

static int st_prob(lua_State *L) {
    lstate *u = check_open(L, 1);
    lua_Integer i = qnn_lua_checkint(L, 2, "i", 0, (lua_Integer)u->s.dim - 1);
    lua_pushnumber(L, qnn_state_prob(&u->s, (size_t)i));
    return 1;
}

static int st_marginal(lua_State *L) {
    lstate *u = check_open(L, 1);
    int q[64];
    int k = qnn_lua_sim_qubits(L, 2, "qubits", u->s.n, q, 1, u->s.n < 24 ? u->s.n : 24);
    size_t d = (size_t)1 << k;
    double *p = (double *)qnn_lua_sim_scratch(L, d * sizeof(double));
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_state_marginal(&u->s, q, k, p, &err), &err, "marginal");
    lua_createtable(L, (int)d, 0);
    for (size_t i = 0; i < d; i++) {
        lua_pushnumber(L, p[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int st_expect(lua_State *L) {
    lstate *u = check_open(L, 1);
    int nt = 0;
    qnn_pauli_term *t = qnn_lua_sim_pauli(L, 2, u->s.n, &nt);
    lua_pushnumber(L, qnn_state_expect(&u->s, t, nt));
    return 1;
}

static const char *const RNG_OPTS[] = {"seed", "rng", NULL};

static int st_measure(lua_State *L) {
    lstate *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->s.n - 1);
    int has = qnn_lua_checkopts(L, 3, RNG_OPTS);
    qnn_rng local;
    qnn_rng *r = qnn_lua_getrng(L, has ? 3 : 0, &local);
    qnn_error err;
    qnn_error_clear(&err);
    int o = 0;
    qnn_lua_check_status(L, qnn_state_measure(&u->s, q, r, &o, &err), &err, "measure");
    lua_pushinteger(L, o);
    return 1;
}

static int st_reset(lua_State *L) {
    lstate *u = check_open(L, 1);
    int q = (int)qnn_lua_checkint(L, 2, "q", 0, u->s.n - 1);
    int has = qnn_lua_checkopts(L, 3, RNG_OPTS);
    qnn_rng local;
    qnn_rng *r = qnn_lua_getrng(L, has ? 3 : 0, &local);
    qnn_error err;
    qnn_error_clear(&err);
    int o = 0;
    qnn_lua_check_status(L, qnn_state_reset_qubit(&u->s, q, r, &o, &err), &err, "reset");
    lua_settop(L, 1);
    lua_pushinteger(L, o);
    return 2;
}

#define SAMPLE_CHUNK ((size_t)1 << 20)
#define MAX_SHOTS QNN_LUA_MAX_SHOTS

typedef int (*sample_fn)(const void *obj, size_t shots, const int *q, int k, qnn_rng *rng,
                         uint64_t *out, qnn_error *err);

/* obj:sample(shots [, qubits] [, opts]) for State and Density */
static int sample_common(lua_State *L, const void *obj, int n, sample_fn fn) {
    lua_Integer shots = qnn_lua_checkint(L, 2, "shots", 1, MAX_SHOTS);
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
    size_t chunk = (size_t)shots < SAMPLE_CHUNK ? (size_t)shots : SAMPLE_CHUNK;
    uint64_t *out = (uint64_t *)qnn_lua_sim_scratch(L, chunk * sizeof(uint64_t));
    lua_newtable(L);
    int t = lua_gettop(L);
    size_t left = (size_t)shots;
    qnn_error err;
    qnn_error_clear(&err);
    while (left > 0) {
        size_t m = left < chunk ? left : chunk;
        int rc = fn(obj, m, k ? q : NULL, k, r, out, &err);
        qnn_lua_check_status(L, rc, &err, "sample");
        for (size_t i = 0; i < m; i++) {
            lua_Integer key = (lua_Integer)out[i];
            lua_Integer c = 0;
            if (lua_rawgeti(L, t, key) == LUA_TNUMBER) c = lua_tointeger(L, -1);
            lua_pop(L, 1);
            lua_pushinteger(L, c + 1);
            lua_rawseti(L, t, key);
        }
        left -= m;
        if (left > 0 && qnn_interrupt_pending()) {
            qnn_interrupt_clear();
            return luaL_error(L, "interrupted");
        }
    }
    return 1;
}

static int state_sample_fn(const void *obj, size_t shots, const int *q, int k, qnn_rng *rng,
                           uint64_t *out, qnn_error *err) {
    return qnn_state_sample((const qnn_state *)obj, shots, q, k, rng, out, err);
}

static int st_sample(lua_State *L) {
    lstate *u = check_open(L, 1);
    return sample_common(L, &u->s, u->s.n, state_sample_fn);
}

/* exported for density.c through qnn_lua_sim.h? kept local: density.c has its own copy. */

static lstate *check_other(lua_State *L, lstate *u) {
    lstate *v = check_open(L, 2);
    if (v->s.n != u->s.n)
        qnn_lua_argerror(L, 2, "other", "must have the same number of qubits (%d), got %d", u->s.n,
                         v->s.n);
    return v;
}

static int st_inner(lua_State *L) {
    lstate *u = check_open(L, 1);
    lstate *v = check_other(L, u);
    double re, im;
    qnn_state_inner(&u->s, &v->s, &re, &im, NULL);
    lua_pushnumber(L, re);
    lua_pushnumber(L, im);
    return 2;
}

static int st_fidelity(lua_State *L) {
    lstate *u = check_open(L, 1);
    lstate *v = check_other(L, u);
    double re, im;
    qnn_state_inner(&u->s, &v->s, &re, &im, NULL);
    lua_pushnumber(L, re * re + im * im);
    return 1;
}

static int st_close(lua_State *L) {
    lstate *u = (lstate *)luaL_checkudata(L, 1, STATE_T);
    qnn_state_release(&u->s);
    qnn_lua_mem_release(L, &u->mem);
    u->closed = 1;
    return 0;
}

static int st_len(lua_State *L) {
    lstate *u = check_open(L, 1);
    lua_pushinteger(L, (lua_Integer)u->s.dim);
    return 1;
}

static void fmt_amp(char *buf, size_t n, double re, double im) {
    if (fabs(im) < 5e-5) snprintf(buf, n, "%.4g", re);
    else if (fabs(re) < 5e-5) snprintf(buf, n, "%.4gi", im);
    else snprintf(buf, n, "(%.4g%+.4gi)", re, im);
}

static int st_tostring(lua_State *L) {
    lstate *u = (lstate *)luaL_checkudata(L, 1, STATE_T);
    if (u->closed || !u->s.amp) {
        lua_pushliteral(L, "qnn.State(closed)");
        return 1;
    }
    const qnn_state *s = &u->s;
    enum { TOP = 4 };
    size_t best[TOP];
    double bp[TOP];
    int nb = 0;
    size_t nonzero = 0;
    for (size_t x = 0; x < s->dim; x++) {
        double p = qnn_state_prob(s, x);
        if (p < 1e-12) continue;
        nonzero++;
        int pos = nb;
        while (pos > 0 && bp[pos - 1] < p) pos--;
        if (pos >= TOP) continue;
        int last = nb < TOP ? nb : TOP - 1;
        for (int j = last; j > pos; j--) {
            best[j] = best[j - 1];
            bp[j] = bp[j - 1];
        }
        best[pos] = x;
        bp[pos] = p;
        if (nb < TOP) nb++;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "qnn.State(%d qubit%s): ", s->n, s->n == 1 ? "" : "s");
    luaL_addstring(&b, tmp);
    if (nb == 0) luaL_addstring(&b, "0");
    for (int j = 0; j < nb; j++) {
        char a[64];
        fmt_amp(a, sizeof a, s->amp[2 * best[j]], s->amp[2 * best[j] + 1]);
        if (j) luaL_addstring(&b, a[0] == '-' ? " - " : " + ");
        luaL_addstring(&b, (j && a[0] == '-') ? a + 1 : a);
        luaL_addchar(&b, '|');
        if (s->n <= 40)
            for (int k = s->n - 1; k >= 0; k--) luaL_addchar(&b, ((best[j] >> k) & 1) ? '1' : '0');
        luaL_addchar(&b, '>');
    }
    if (nonzero > (size_t)nb) {
        snprintf(tmp, sizeof tmp, " + ... (%zu more)", nonzero - (size_t)nb);
        luaL_addstring(&b, tmp);
    }
    luaL_pushresult(&b);
    return 1;
}

#define X(name, KIND, args, doc) {#name, st_##name, "State:" #name args " -> State", doc},
static const qnn_lua_reg methods[] = {
    QNN_LUA_GATE_LIST(X)
    {"nqubits", st_nqubits, "State:nqubits() -> integer", "Returns the number of qubits n."},
    {"copy", st_copy, "State:copy() -> State", "Returns an independent copy."},
    {"norm", st_norm, "State:norm() -> number", "Returns sqrt(sum |a_x|^2)."},
    {"normalize", st_normalize, "State:normalize() -> State",
     "Scales the amplitudes to norm 1 (error if the norm is 0).\nReturns self."},
    {"amp", st_amp, "State:amp(i) -> re, im",
     "i: basis index, integer in [0, 2^n - 1] (qubit 0 = least significant bit).\n"
     "Returns the real and imaginary part of amplitude i."},
    {"set_amps", st_set_amps, "State:set_amps(t) -> State",
     "t: table of 2^n entries, each a number or {re, im}; entry i+1 is basis state i. Not "
     "normalised automatically (see normalize).\nReturns self."},
    {"probs", st_probs, "State:probs([{table=false}]) -> Tensor or table",
     "Probabilities of all 2^n basis states; entry i+1 is basis state i. A 1-D Tensor, or a "
     "Lua table with {table=true}."},
    {"prob", st_prob, "State:prob(i) -> number", "i: basis index in [0, 2^n - 1].\nReturns |a_i|^2."},
    {"marginal", st_marginal, "State:marginal(qubits) -> table",
     "qubits: table of 1..min(n, 24) distinct qubits (or one integer).\nReturns a table of 2^k "
     "probabilities; entry s+1 is the outcome s whose bit j is qubits[j+1]."},
    {"expect", st_expect, "State:expect(pauli) -> number",
     "pauli: a Pauli string like \"ZIX\" with one character (I, X, Y, Z) per qubit, character "
     "k+1 <-> qubit k; or a list of {coef, \"XYZ...\"} terms.\nReturns <psi|P|psi> (sum of "
     "coef * <P> for a list)."},
    {"measure", st_measure, "State:measure(q [, {seed=, rng=}]) -> 0 or 1",
     "q: qubit in [0, n-1]; seed: integer, rng: qnn.Rng (default stream otherwise).\nMeasures "
     "qubit q, collapses the state and returns the outcome."},
    {"sample", st_sample, "State:sample(shots [, qubits] [, {seed=, rng=}]) -> table",
     "shots: integer in [1, 2^30]; qubits: table of distinct qubits (default all; outcome bit j "
     "= qubits[j+1]).\nReturns {outcome = count} for the outcomes drawn; the state is not "
     "changed."},
    {"reset", st_reset, "State:reset(q [, {seed=, rng=}]) -> State, outcome",
     "q: qubit in [0, n-1].\nMeasures q, then flips it to |0> (qubit reuse). Returns self and "
     "the measured value."},
    {"inner", st_inner, "State:inner(other) -> re, im",
     "other: State with the same n.\nReturns <self|other>."},
    {"fidelity", st_fidelity, "State:fidelity(other) -> number",
     "other: State with the same n.\nReturns |<self|other>|^2."},
    {"close", st_close, "State:close()", "Frees the amplitudes now; later use raises an error."},
    {NULL, NULL, NULL, NULL}};
#undef X

static const luaL_Reg meta[] = {{"__gc", st_close},   {"__close", st_close},
                                {"__len", st_len},    {"__tostring", st_tostring},
                                {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"state", l_state, "qnn.state(n) -> State",
     "n: number of qubits, integer in [1, 30], and 16 * 2^n bytes must fit in QNN_MAX_BYTES "
     "(default half the physical memory).\nReturns |0...0> on n qubits. Qubit 0 is the least "
     "significant bit of a basis index."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(state) {
    qnn_lua_newclass(L, STATE_T, methods, meta);
    qnn_lua_setlife(L, STATE_T, &st_life);
    qnn_lua_setfuncs(L, 1, funcs, "qnn.");
    return 0;
}
