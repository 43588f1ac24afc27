/* qnn.grover: Grover search, amplitude amplification circuits, Durr-Hoyer minimum finding.
 * Core in src/core/grover.c and grover_circuit.c (include/qnn/grover.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn/grover.h"
#include "qnn_lua.h"

#define GROVER_MAX_N 20 /* register limit for Lua-level calls (2^20 states) */

/* ---------------- option parsing ---------------- */

/* A scratch byte buffer owned by the Lua stack (freed by the GC, also on errors). */
static unsigned char *push_buffer(lua_State *L, size_t bytes) {
    unsigned char *p = (unsigned char *)lua_newuserdatauv(L, bytes ? bytes : 1, 0);
    memset(p, 0, bytes ? bytes : 1);
    return p;
}

/* values = table (1-based: values[i+1] belongs to basis state i) or Tensor; pushes a double
 * buffer holding them and returns it; *count = number of values. NaN/inf -> error. */
static double *opt_values(lua_State *L, int t, const char *fname, size_t *count) {
    int vi = lua_gettop(L) + 1;
    lua_getfield(L, t, "values");
    qnn_tensor *tt = qnn_lua_testtensor(L, vi);
    size_t nv;
    if (tt) {
        nv = qnn_tensor_numel(tt);
    } else if (lua_istable(L, vi)) {
        nv = (size_t)luaL_len(L, vi);
    } else {
        luaL_error(L, "%s: option 'values' must be a table of numbers or a Tensor, got %s", fname,
                   luaL_typename(L, vi));
        return NULL;
    }
    if (nv < 1) luaL_error(L, "%s: option 'values' must not be empty", fname);
    if (nv > ((size_t)1 << GROVER_MAX_N))
        luaL_error(L, "%s: option 'values' has %d entries, at most 2^%d allowed", fname, (int)nv,
                   GROVER_MAX_N);
    double *v = (double *)push_buffer(L, nv * sizeof(double));
    for (size_t i = 0; i < nv; i++) {
        double x;
        if (tt) {
            x = tt->ndim == 1 || tt->cols == 0 ? tt->data[i]
                                                : qnn_tensor_get(tt, i / tt->cols, i % tt->cols);
        } else {
            lua_geti(L, vi, (lua_Integer)i + 1);
            int isnum;
            x = lua_tonumberx(L, -1, &isnum);
            if (!isnum)
                luaL_error(L, "%s: values[%d] must be a number, got %s", fname, (int)i + 1,
                           luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        if (!isfinite(x))
            luaL_error(L, "%s: values[%d] must be finite, got %f", fname, (int)i + 1, x);
        v[i] = x;
    }
    lua_remove(L, vi); /* the buffer stays */
    *count = nv;
    return v;
}

/* Register size and oracle mask from the options at t:
 *   n = 1..GROVER_MAX_N (required with marked=, default ceil(log2 #values) with values=)
 *   marked = {i, ...} (basis indices 0 .. 2^n-1) | function(i) -> boolean
 *   values = {...} + threshold = y: marked <=> values[i+1] < y (padding never marked)
 * Pushes the mask buffer (2^n bytes) and returns it. */
static unsigned char *opt_mask(lua_State *L, int t, const char *fname, int *n_out) {
    int has_marked = lua_getfield(L, t, "marked") != LUA_TNIL;
    lua_pop(L, 1);
    int has_values = lua_getfield(L, t, "values") != LUA_TNIL;
    lua_pop(L, 1);
    if (has_marked == has_values)
        luaL_error(L, "%s: give exactly one of 'marked' (indices or function) or 'values' (with "
                      "'threshold')", fname);
    int n = (int)qnn_lua_optfield_int(L, t, "n", 0, 1, GROVER_MAX_N);
    if (has_values) {
        size_t nv;
        double *v = opt_values(L, t, fname, &nv);
        int vidx = lua_gettop(L);
        if (lua_getfield(L, t, "threshold") == LUA_TNIL)
            luaL_error(L, "%s: option 'threshold' is required with 'values' (marked <=> value < "
                          "threshold)", fname);
        lua_pop(L, 1);
        double y = qnn_lua_optfield_num(L, t, "threshold", 0.0, -HUGE_VAL, HUGE_VAL);
        if (isnan(y)) luaL_error(L, "%s: option 'threshold' must not be NaN", fname);
        int need = qnn_grover_qubits_for(nv);
        if (n == 0) n = need;
        if (n < need)
            luaL_error(L, "%s: option 'n' = %d is too small for %d values (need n >= %d)", fname,
                       n, (int)nv, need);
        size_t N = (size_t)1 << n;
        unsigned char *mask = push_buffer(L, N);
        for (size_t i = 0; i < nv; i++) mask[i] = v[i] < y;
        lua_remove(L, vidx);
        *n_out = n;
        return mask;
    }
    if (n == 0) luaL_error(L, "%s: option 'n' (register qubits, 1..%d) is required with 'marked'",
                           fname, GROVER_MAX_N);
    size_t N = (size_t)1 << n;
    unsigned char *mask = push_buffer(L, N);
    int mi = lua_gettop(L) + 1;
    lua_getfield(L, t, "marked");
    if (lua_isfunction(L, mi)) {
        /* evaluated into the mask before any C loop runs */
        for (size_t x = 0; x < N; x++) {
            lua_pushvalue(L, mi);
            lua_pushinteger(L, (lua_Integer)x);
            lua_call(L, 1, 1);
            mask[x] = (unsigned char)lua_toboolean(L, -1);
            lua_pop(L, 1);
        }
    } else if (lua_istable(L, mi)) {
        lua_Integer len = luaL_len(L, mi);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_geti(L, mi, i);
            int isint;
            lua_Integer x = lua_tointegerx(L, -1, &isint);
            if (!isint || x < 0 || (uint64_t)x >= N)
                luaL_error(L, "%s: marked[%d] must be an integer basis index in [0, %d], got %s",
                           fname, (int)i, (int)(N - 1), luaL_tolstring(L, -1, NULL));
            mask[x] = 1;
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "%s: option 'marked' must be a table of indices or a function(i) -> "
                      "boolean, got %s", fname, luaL_typename(L, mi));
    }
    lua_pop(L, 1);
    *n_out = n;
    return mask;
}

/* noise = nil | a noise model (qnn.noise.*). Returns 1 if a noise model is present. */
static int opt_noise(lua_State *L, int t, const char *fname, qnn_noise *nm) {
    lua_getfield(L, t, "noise");
    int present = qnn_lua_checknoise(L, -1, fname, nm);
    lua_pop(L, 1);
    return present;
}

static const char *const circuit_choices[] = {"textbook", "paper", NULL};

typedef struct grover_setup {
    qnn_grover_form form;
    qnn_noise noise;
    int has_noise;
    qnn_grover_circuit_engine ce;
    qnn_grover_engine eng;
    const qnn_grover_engine *engp; /* NULL: ideal textbook kernel */
} grover_setup;

/* circuit = "textbook" | "paper", ancilla = bool, noise = model, gates = bool (force the
 * gate-level run even when the ideal kernel would do). */
static void opt_engine(lua_State *L, int t, const char *fname, int n, grover_setup *g) {
    int which = qnn_lua_optfield_choice(L, t, "circuit", circuit_choices, 0);
    int anc = qnn_lua_optfield_bool(L, t, "ancilla", 0);
    int gates = qnn_lua_optfield_bool(L, t, "gates", 0);
    g->form = which == 1 ? QNN_GROVER_PAPER : anc ? QNN_GROVER_ANCILLA : QNN_GROVER_TEXTBOOK;
    g->has_noise = opt_noise(L, t, fname, &g->noise);
    memset(&g->ce, 0, sizeof g->ce);
    g->ce.form = g->form;
    g->ce.noise = g->has_noise ? &g->noise : NULL;
    g->ce.density = g->has_noise;
    int nq = qnn_grover_form_qubits(g->form, n);
    if (g->has_noise && nq > QNN_DENSITY_MAX_QUBITS)
        luaL_error(L, "%s: with 'noise' the circuit runs on a Density: register + ancilla must be "
                      "<= %d qubits, got %d", fname, QNN_DENSITY_MAX_QUBITS, nq);
    g->eng.probs = qnn_grover_circuit_probs;
    g->eng.ud = &g->ce;
    /* Noise-free textbook without ancilla: the exact real-amplitude kernel (same distribution
     * as the diagonal-oracle circuit, tested); everything else runs the gate-level circuit. */
    g->engp = (g->form == QNN_GROVER_TEXTBOOK && !g->has_noise && !gates) ? NULL : &g->eng;
}

/* ---------------- functions ---------------- */

static const char *const search_opts[] = {"n", "marked", "values", "threshold", "iterations",
                                          "shots", "noise", "seed", "rng", "circuit", "ancilla",
                                          "gates", NULL};

static int l_search(lua_State *L) {
    const char *f = "qnn.grover.search";
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, search_opts);
    int n;
    unsigned char *mask = opt_mask(L, 1, f, &n);
    int k = (int)qnn_lua_optfield_int(L, 1, "iterations", -1, 0, 1 << 20);
    if (lua_getfield(L, 1, "iterations") == LUA_TNIL) k = -1;
    lua_pop(L, 1);
    lua_Integer shots = qnn_lua_optfield_int(L, 1, "shots", 1024, 1, QNN_LUA_MAX_SHOTS);
    grover_setup g;
    opt_engine(L, 1, f, n, &g);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, 1, &local);
    size_t N = (size_t)1 << n;
    uint64_t *counts = (uint64_t *)push_buffer(L, N * sizeof(uint64_t));
    qnn_grover_search_result res;
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_grover_search(n, mask, k, (uint64_t)shots, g.engp, rng, counts, &res, &err);
    qnn_lua_check_status(L, rc, &err, f);
    int depth, qubits;
    size_t ngates;
    if (g.engp) {
        depth = g.ce.depth;
        ngates = g.ce.gates;
        qubits = g.ce.qubits;
    } else {
        rc = qnn_grover_circuit_cost(n, mask, res.iterations, g.form, &depth, &ngates, &qubits,
                                     &err);
        qnn_lua_check_status(L, rc, &err, f);
    }
    lua_createtable(L, 0, 12);
    lua_pushinteger(L, (lua_Integer)res.outcome);
    lua_setfield(L, -2, "outcome");
    lua_newtable(L);
    for (size_t x = 0; x < N; x++)
        if (counts[x]) {
            lua_pushinteger(L, (lua_Integer)counts[x]);
            lua_rawseti(L, -2, (lua_Integer)x);
        }
    lua_setfield(L, -2, "counts");
    lua_pushnumber(L, res.p_success);
    lua_setfield(L, -2, "p_success");
    lua_pushinteger(L, res.iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushinteger(L, (lua_Integer)res.queries);
    lua_setfield(L, -2, "queries");
    lua_pushinteger(L, (lua_Integer)res.queries_ideal);
    lua_setfield(L, -2, "queries_ideal");
    lua_pushinteger(L, (lua_Integer)res.marked);
    lua_setfield(L, -2, "marked");
    lua_pushinteger(L, qubits);
    lua_setfield(L, -2, "qubits");
    lua_pushinteger(L, depth);
    lua_setfield(L, -2, "depth");
    lua_pushinteger(L, (lua_Integer)ngates);
    lua_setfield(L, -2, "gates");
    lua_pushinteger(L, shots);
    lua_setfield(L, -2, "shots");
    lua_pushboolean(L, mask[res.outcome]);
    lua_setfield(L, -2, "success");
    return 1;
}

static const char *const probs_opts[] = {"n", "marked", "values", "threshold", "iterations",
                                         "noise", "circuit", "ancilla", "gates", NULL};

static int l_probs(lua_State *L) {
    const char *f = "qnn.grover.probs";
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, probs_opts);
    int n;
    unsigned char *mask = opt_mask(L, 1, f, &n);
    size_t N = (size_t)1 << n;
    uint64_t M = 0;
    for (size_t x = 0; x < N; x++) M += mask[x] != 0;
    int k = (int)qnn_lua_optfield_int(L, 1, "iterations", qnn_grover_default_iterations(N, M), 0,
                                      1 << 20);
    grover_setup g;
    opt_engine(L, 1, f, n, &g);
    double *p = (double *)push_buffer(L, N * sizeof(double));
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_grover_engine_probs(g.engp, n, mask, k, p, &err);
    qnn_lua_check_status(L, rc, &err, f);
    lua_createtable(L, (int)N, 0);
    for (size_t x = 0; x < N; x++) {
        lua_pushnumber(L, p[x]);
        lua_rawseti(L, -2, (lua_Integer)x + 1);
    }
    return 1;
}

static const char *const min_opts[] = {"values", "n", "seed", "rng", "noise", "circuit",
                                       "ancilla", "gates", "budget", "lambda", "max_rounds",
                                       NULL};

static int l_minimum(lua_State *L) {
    const char *f = "qnn.grover.minimum";
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, min_opts);
    size_t nv;
    double *v = opt_values(L, 1, f, &nv);
    qnn_grover_min_opts o;
    memset(&o, 0, sizeof o);
    o.n = (int)qnn_lua_optfield_int(L, 1, "n", 0, 1, GROVER_MAX_N);
    if (o.n && ((size_t)1 << o.n) < nv)
        luaL_error(L, "%s: option 'n' = %d is too small for %d values", f, o.n, (int)nv);
    int n = o.n ? o.n : qnn_grover_qubits_for(nv);
    o.budget = qnn_lua_optfield_num(L, 1, "budget", 0.0, 0.0, 1e15);
    o.lambda = qnn_lua_optfield_num(L, 1, "lambda", 1.2, 1.0 + 1e-9, 100.0);
    o.max_rounds = (uint64_t)qnn_lua_optfield_int(L, 1, "max_rounds", 0, 0, (lua_Integer)1 << 40);
    grover_setup g;
    opt_engine(L, 1, f, n, &g);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, 1, &local);
    qnn_grover_min_result res;
    qnn_error err;
    qnn_error_clear(&err);
    int rc = qnn_grover_minimum(v, nv, &o, g.engp, rng, &res, &err);
    qnn_lua_check_status(L, rc, &err, f);
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, (lua_Integer)res.index + 1);
    lua_setfield(L, -2, "index");
    lua_pushnumber(L, res.value);
    lua_setfield(L, -2, "value");
    lua_pushinteger(L, (lua_Integer)res.queries);
    lua_setfield(L, -2, "queries");
    lua_pushinteger(L, (lua_Integer)res.rounds);
    lua_setfield(L, -2, "rounds");
    lua_pushinteger(L, (lua_Integer)res.improvements);
    lua_setfield(L, -2, "improvements");
    lua_pushinteger(L, (lua_Integer)res.evaluations);
    lua_setfield(L, -2, "evaluations");
    lua_pushinteger(L, (lua_Integer)res.queries_at_best);
    lua_setfield(L, -2, "queries_at_best");
    lua_pushinteger(L, res.max_iterations);
    lua_setfield(L, -2, "max_iterations");
    lua_pushinteger(L, res.n);
    lua_setfield(L, -2, "n");
    lua_pushinteger(L, qnn_grover_form_qubits(g.form, res.n));
    lua_setfield(L, -2, "qubits");
    lua_pushnumber(L, o.budget > 0 ? o.budget : 22.5 * sqrt((double)((size_t)1 << res.n)));
    lua_setfield(L, -2, "budget");
    return 1;
}

static int l_p_success(lua_State *L) {
    lua_Integer N = qnn_lua_checkint(L, 1, "N", 1, (lua_Integer)1 << 52);
    lua_Integer M = qnn_lua_checkint(L, 2, "M", 0, N);
    lua_Integer k = qnn_lua_checkint(L, 3, "k", 0, 1 << 30);
    lua_pushnumber(L, qnn_grover_p_success_analytic((uint64_t)N, (uint64_t)M, (int)k));
    return 1;
}

static int l_iterations(lua_State *L) {
    lua_Integer N = qnn_lua_checkint(L, 1, "N", 1, (lua_Integer)1 << 52);
    lua_Integer M = qnn_lua_checkint(L, 2, "M", 0, N);
    lua_pushinteger(L, qnn_grover_default_iterations((uint64_t)N, (uint64_t)M));
    return 1;
}

static int l_marked(lua_State *L) {
    const char *f = "qnn.grover.marked";
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const opts[] = {"n", "marked", "values", "threshold", NULL};
    qnn_lua_checkopts(L, 1, opts);
    int n;
    unsigned char *mask = opt_mask(L, 1, f, &n);
    size_t N = (size_t)1 << n;
    lua_newtable(L);
    lua_Integer j = 0;
    for (size_t x = 0; x < N; x++)
        if (mask[x]) {
            lua_pushinteger(L, (lua_Integer)x);
            lua_rawseti(L, -2, ++j);
        }
    lua_pushinteger(L, n);
    return 2;
}

/* ---- circuits: made through qnn.circuit(n) so they are ordinary Circuit objects ---- */
static qnn_circuit *new_lua_circuit(lua_State *L, int nq) {
    lua_getfield(L, lua_upvalueindex(1), "circuit");
    if (lua_isnil(L, -1))
        luaL_error(L, "qnn.grover: qnn.circuit is not available");
    lua_pushinteger(L, nq);
    lua_call(L, 1, 1);
    return qnn_lua_checkcircuit(L, -1);
}

enum { PIECE_ORACLE, PIECE_DIFFUSION, PIECE_ITERATE, PIECE_CIRCUIT };

static int build_piece(lua_State *L, int piece, const char *f) {
    int n;
    unsigned char *mask = NULL;
    grover_setup g;
    int k = 1;
    if (piece == PIECE_DIFFUSION && !lua_istable(L, 1)) {
        n = (int)qnn_lua_checkint(L, 1, "n", 1, GROVER_MAX_N);
        int top = lua_gettop(L);
        if (top >= 2 && !lua_isnil(L, 2)) {
            static const char *const opts[] = {"ancilla", "circuit", NULL};
            qnn_lua_checkopts(L, 2, opts);
            opt_engine(L, 2, f, n, &g);
        } else {
            g.form = QNN_GROVER_TEXTBOOK;
        }
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        static const char *const opts[] = {"n", "marked", "values", "threshold", "ancilla",
                                           "circuit", "iterations", NULL};
        qnn_lua_checkopts(L, 1, opts);
        if (piece == PIECE_DIFFUSION) {
            n = (int)qnn_lua_optfield_int(L, 1, "n", 0, 1, GROVER_MAX_N);
            if (n == 0) luaL_error(L, "%s: option 'n' (1..%d) is required", f, GROVER_MAX_N);
        } else {
            mask = opt_mask(L, 1, f, &n);
        }
        opt_engine(L, 1, f, n, &g);
        if (piece == PIECE_CIRCUIT) {
            size_t N = (size_t)1 << n;
            uint64_t M = 0;
            for (size_t x = 0; x < N; x++) M += mask[x] != 0;
            k = (int)qnn_lua_optfield_int(L, 1, "iterations", qnn_grover_default_iterations(N, M),
                                          0, 1 << 16);
        }
    }
    qnn_circuit *c = new_lua_circuit(L, qnn_grover_form_qubits(g.form, n));
    qnn_error err;
    qnn_error_clear(&err);
    int rc = QNN_OK;
    if (piece == PIECE_CIRCUIT) rc = qnn_grover_add_prep(c, n, g.form, &err);
    for (int i = 0; i < k && !rc; i++) {
        if (piece != PIECE_DIFFUSION) rc = qnn_grover_add_oracle(c, n, mask, g.form, &err);
        if (!rc && piece != PIECE_ORACLE) rc = qnn_grover_add_diffusion(c, n, g.form, &err);
    }
    qnn_lua_check_status(L, rc, &err, f);
    return 1;
}

static int l_oracle(lua_State *L) { return build_piece(L, PIECE_ORACLE, "qnn.grover.oracle"); }
static int l_diffusion(lua_State *L) {
    return build_piece(L, PIECE_DIFFUSION, "qnn.grover.diffusion");
}
static int l_iterate(lua_State *L) { return build_piece(L, PIECE_ITERATE, "qnn.grover.iterate"); }
static int l_circuit(lua_State *L) { return build_piece(L, PIECE_CIRCUIT, "qnn.grover.circuit"); }

#define MARK_DOC                                                                                \
    "Oracle (one of): marked = {i, ...} basis indices in [0, 2^n) with n = 1..20 required; "    \
    "marked = function(i) -> boolean (called for every i in [0, 2^n) before the circuit "      \
    "runs); values = {v1, ...} (table or Tensor, finite; values[i+1] belongs to basis i) with " \
    "threshold = y: marked <=> value < y (n defaults to ceil(log2 #values); padding states "    \
    "are never marked). Qubit 0 is the least significant bit of an index.\n"
#define FORM_DOC                                                                                \
    "circuit = \"textbook\" (default) | \"paper\" (the authors' circuit: ancilla in |->, "      \
    "oracle and diffusion H-MCX-H on it; the register reads 1/2 uniform + 1/2 textbook); "      \
    "ancilla = true: textbook with an MCX oracle on an ancilla in |-> (gate-level); noise = "   \
    "a qnn.noise model (runs exactly on a Density, register + ancilla <= 14 qubits); gates = " \
    "true: run the gate-level circuit even when the exact real-amplitude kernel would do.\n"

static const qnn_lua_reg funcs[] = {
    {"search", l_search,
     "qnn.grover.search{n=, marked=|values=,threshold=, iterations=k, shots=1024, noise=, "
     "seed=, circuit=\"textbook\"|\"paper\", ancilla=false} -> result",
     MARK_DOC FORM_DOC
     "iterations: integer >= 0 (default floor(pi/4*sqrt(2^n/M)); M = 0 gives k = 0, i.e. "
     "uniform sampling); shots: integer >= 1; seed: integer (or rng = Rng).\n"
     "Returns {outcome (most frequent basis index, ties -> smallest), counts (basis index -> "
     "count), p_success (exact probability on the marked states before measurement), "
     "iterations, queries (= iterations*shots, as run), queries_ideal (= iterations), marked "
     "(M), success (outcome is marked), shots, qubits (register + ancilla), depth, gates (of "
     "the gate-level circuit)}."},
    {"probs", l_probs,
     "qnn.grover.probs{n=, marked=|values=,threshold=, iterations=k, circuit=, ancilla=, "
     "noise=} -> table",
     MARK_DOC FORM_DOC
     "Returns the exact distribution of the measured register after k iterations: 2^n "
     "numbers, entry i+1 <-> basis state i."},
    {"minimum", l_minimum,
     "qnn.grover.minimum{values=, n=?, seed=, noise=?, circuit=, budget=, lambda=1.2} -> result",
     "values: table or Tensor of finite numbers (1..2^20 of them); n: register qubits "
     "(default ceil(log2 #values)); budget: query budget > 0 (default 22.5*sqrt(2^n)); "
     "lambda: BBHT growth factor > 1; circuit/noise as in qnn.grover.search.\n"
     "Durr-Hoyer minimum finding with the Boyer-Brassard-Hoyer-Tapp schedule: threshold y = "
     "value of a random index; repeated attempts draw k uniform in [0, m), run k Grover "
     "iterations marking {value < y} on the simulator and measure ONE shot; an improvement "
     "moves y and resets m = 1, a miss sets m = min(1.2m, sqrt(N)). Stop rule (the true "
     "minimum is never consulted): stop at the first attempt whose k no longer fits in the "
     "query budget.\nReturns {index (1-based position in values), value, queries (oracle "
     "applications), rounds (attempts = single-shot circuit runs), improvements, evaluations "
     "(classical look-ups of measured values), queries_at_best (diagnostic), max_iterations, "
     "n, qubits, budget}."},
    {"oracle", l_oracle,
     "qnn.grover.oracle{n=, marked=|values=,threshold=, ancilla=false, circuit=} -> Circuit",
     MARK_DOC FORM_DOC
     "Returns the phase oracle as a Circuit: one `diagonal` gate (phase pi on marked states) "
     "on n qubits, or with ancilla=true / circuit=\"paper\" a gate-level MCX version on n+1 "
     "qubits (ancilla = qubit n, expected in |->)."},
    {"diffusion", l_diffusion,
     "qnn.grover.diffusion(n [, {ancilla=, circuit=}]) -> Circuit",
     "n: register qubits in [1, 20].\nReturns the diffusion operator (reflection about the "
     "uniform state, up to a global phase) as a Circuit: H X MCZ X H on n qubits, or with an "
     "ancilla (qubit n) MCX on it (circuit=\"paper\": H-MCX-H)."},
    {"iterate", l_iterate,
     "qnn.grover.iterate{n=, marked=|values=,threshold=, ancilla=false, circuit=} -> Circuit",
     MARK_DOC FORM_DOC "Returns one Grover iterate (oracle then diffusion) as a Circuit."},
    {"circuit", l_circuit,
     "qnn.grover.circuit{n=, marked=|values=,threshold=, iterations=k, ancilla=, circuit=} -> "
     "Circuit",
     MARK_DOC FORM_DOC
     "Returns the complete search circuit: state preparation (H on the register; X, H on the "
     "ancilla) followed by k iterates (default floor(pi/4*sqrt(2^n/M))). Run it on qnn.state "
     "or qnn.density; the register is qubits 0..n-1."},
    {"marked", l_marked,
     "qnn.grover.marked{n=, marked=|values=,threshold=} -> indices, n",
     MARK_DOC "Returns the sorted list of marked basis indices and the register size n."},
    {"p_success", l_p_success, "qnn.grover.p_success(N, M, k) -> number",
     "N >= 1, 0 <= M <= N, k >= 0 integers.\nReturns sin^2((2k+1) asin(sqrt(M/N))), the "
     "textbook success probability."},
    {"iterations", l_iterations, "qnn.grover.iterations(N, M) -> integer",
     "N >= 1, 0 <= M <= N.\nReturns floor(pi/4*sqrt(N/M)) (0 when M = 0 or M = N)."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(grover) {
    qnn_lua_subtable(L, 1, "grover");
    int t = lua_gettop(L);
    for (const qnn_lua_reg *r = funcs; r->name; r++) {
        lua_pushvalue(L, 1); /* upvalue: the qnn module table */
        lua_pushcclosure(L, r->fn, 1);
        char full[128];
        snprintf(full, sizeof full, "qnn.grover.%s", r->name);
        qnn_lua_document(L, -1, full, r->sig, r->doc);
        lua_setfield(L, t, r->name);
    }
    lua_pop(L, 1);
    return 0;
}
