/* qnn.nn.quantum_spec: the C half of quantum layers (include/qnn/qlayer.h). The friendly
 * constructor qnn.nn.quantum{...} (encoders, re-uploading, default ansatz, names) is in
 * lua/qnn/ext/nn.lua and ends here with parameter indices. The layer copies the circuit when
 * the net is built, so it never borrows the Circuit userdata. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn/nn.h"
#include "qnn/qlayer.h"
#include "qnn_lua.h"

#define SPEC_MT "qnn.nn.layerspec"

/* Pauli string of length 1..n (char k <-> qubit k, missing chars = I). */
static void parse_pauli(lua_State *L, int k, const char *s, int n, qnn_pauli_term *t) {
    size_t len = strlen(s);
    if (len < 1 || len > (size_t)n)
        luaL_error(L, "qnn.nn.quantum: output %d: Pauli string \"%s\" must have 1 to %d letters "
                      "(one per qubit, qubit 0 first)", k, s, n);
    t->x = t->z = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t b = (uint64_t)1 << i;
        switch (s[i]) {
        case 'I': case 'i': break;
        case 'X': case 'x': t->x |= b; break;
        case 'Y': case 'y': t->x |= b; t->z |= b; break;
        case 'Z': case 'z': t->z |= b; break;
        default:
            luaL_error(L, "qnn.nn.quantum: output %d: unknown Pauli letter '%c' in \"%s\" "
                          "(allowed: I, X, Y, Z)", k, s[i], s);
        }
    }
}

/* integer list field -> malloc-free userdata array left on the stack */
static int *int_list(lua_State *L, int t, const char *key, int *count, int lo, int hi) {
    lua_getfield(L, t, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *count = 0;
        lua_newuserdatauv(L, sizeof(int), 0);
        return (int *)lua_touserdata(L, -1);
    }
    if (!lua_istable(L, -1)) luaL_error(L, "qnn.nn.quantum_spec: '%s' must be a list of integers", key);
    int n = (int)lua_rawlen(L, -1);
    int *v = (int *)lua_newuserdatauv(L, sizeof(int) * (size_t)(n ? n : 1), 0);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        int ok;
        lua_Integer x = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || x < lo || x > hi)
            luaL_error(L, "qnn.nn.quantum_spec: '%s' entry %d must be an integer in [%d, %d]", key,
                       i, lo, hi);
        v[i - 1] = (int)x;
    }
    lua_remove(L, -2);
    *count = n;
    return v;
}

/* _build(net, spec) */
static int build_quantum(lua_State *L) {
    qnn_net *net = (qnn_net *)lua_touserdata(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!net) return luaL_error(L, "quantum: bad net handle");
    lua_getfield(L, 2, "circuit");
    qnn_circuit *c = qnn_lua_checkcircuit(L, lua_gettop(L)); /* raises if closed */
    int n = qnn_circuit_nqubits(c), np = qnn_circuit_nparams(c);
    int amplitude = 0;
    lua_getfield(L, 2, "amplitude");
    amplitude = lua_toboolean(L, -1);
    lua_pop(L, 1);
    int nin = 0, nw = 0;
    int *inputs = int_list(L, 2, "inputs", &nin, 0, np - 1);
    int *weights = int_list(L, 2, "weights", &nw, 0, np - 1);
    int F = nin;
    if (amplitude) {
        lua_getfield(L, 2, "features");
        F = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    /* outputs */
    lua_getfield(L, 2, "outputs");
    int oi = lua_gettop(L);
    if (!lua_istable(L, oi)) return luaL_error(L, "qnn.nn.quantum: outputs must be a list");
    int K = (int)lua_rawlen(L, oi);
    if (K < 1 || K > QNN_QLAYER_MAX_OUTPUTS)
        return luaL_error(L, "qnn.nn.quantum: outputs must list 1 to %d outputs, got %d",
                          QNN_QLAYER_MAX_OUTPUTS, K);
    lua_createtable(L, K, 0); /* anchors for the term arrays */
    int anchors = lua_gettop(L);
    qnn_qlayer_output *outs = (qnn_qlayer_output *)lua_newuserdatauv(L, sizeof *outs * (size_t)K, 0);
    memset(outs, 0, sizeof *outs * (size_t)K);
    for (int k = 1; k <= K; k++) {
        lua_rawgeti(L, oi, k);
        int e = lua_gettop(L);
        qnn_qlayer_output *o = &outs[k - 1];
        if (lua_type(L, e) == LUA_TSTRING) {
            qnn_pauli_term *t = (qnn_pauli_term *)lua_newuserdatauv(L, sizeof *t, 0);
            parse_pauli(L, k, lua_tostring(L, e), n, t);
            t->coef = 1.0;
            o->nterms = 1;
            o->terms = t;
            lua_rawseti(L, anchors, k);
        } else if (lua_istable(L, e) && lua_getfield(L, e, "prob") != LUA_TNIL) {
            int ok;
            lua_Integer b = lua_tointegerx(L, -1, &ok);
            if (!ok || b < 0 || (n < 63 && b >= ((lua_Integer)1 << n)))
                return luaL_error(L, "qnn.nn.quantum: output %d: prob must be a basis index in "
                                     "[0, 2^%d - 1]", k, n);
            o->nterms = 0;
            o->basis = (uint64_t)b;
            lua_pop(L, 1);
        } else if (lua_istable(L, e)) {
            lua_pop(L, 1);
            int nt = (int)lua_rawlen(L, e);
            if (nt < 1 || nt > (1 << 20))
                return luaL_error(L, "qnn.nn.quantum: output %d must be a Pauli string, a list of "
                                     "{coef, \"XYZ..\"} terms or {prob = basis index}", k);
            qnn_pauli_term *t = (qnn_pauli_term *)lua_newuserdatauv(L, sizeof *t * (size_t)nt, 0);
            for (int j = 1; j <= nt; j++) {
                lua_rawgeti(L, e, j);
                int ok = 0;
                if (lua_istable(L, -1)) {
                    lua_rawgeti(L, -1, 1);
                    lua_rawgeti(L, -2, 2);
                    double coef = lua_tonumberx(L, -2, &ok);
                    if (!ok || !isfinite(coef) || lua_type(L, -1) != LUA_TSTRING)
                        return luaL_error(L, "qnn.nn.quantum: output %d term %d must be {coef, "
                                             "\"XYZ..\"} with a finite coef", k, j);
                    parse_pauli(L, k, lua_tostring(L, -1), n, &t[j - 1]);
                    t[j - 1].coef = coef;
                    lua_pop(L, 2);
                } else {
                    return luaL_error(L, "qnn.nn.quantum: output %d term %d must be {coef, "
                                         "\"XYZ..\"}", k, j);
                }
                lua_pop(L, 1);
            }
            o->nterms = nt;
            o->terms = t;
            lua_rawseti(L, anchors, k);
        } else {
            return luaL_error(L, "qnn.nn.quantum: output %d must be a Pauli string, a list of "
                                 "{coef, \"XYZ..\"} terms or {prob = basis index}, got %s", k,
                              luaL_typename(L, e));
        }
        lua_settop(L, e - 1);
    }
    lua_getfield(L, 2, "shots");
    lua_Integer shots = lua_isnil(L, -1) ? 0 : lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 2, "seed");
    int has_seed = lua_isinteger(L, -1);
    uint64_t seed = has_seed ? (uint64_t)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    lua_getfield(L, 2, "noise");
    qnn_noise nm;
    int noisy = qnn_lua_checknoise(L, lua_gettop(L), "qnn.nn.quantum", &nm);
    lua_pop(L, 1);
    lua_getfield(L, 2, "init");
    const char *init_s = lua_tostring(L, -1);
    qnn_init init;
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_init_parse(init_s ? init_s : "default", &init, &err), &err,
                         "qnn.nn.quantum");
    lua_pop(L, 1);
    lua_getfield(L, 2, "init_seed");
    int has_iseed = lua_isinteger(L, -1);
    uint64_t iseed = has_iseed ? (uint64_t)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    if (net->nlayers > 0 && net->layers[net->nlayers - 1].out != (size_t)F)
        return luaL_error(L, "qnn.nn.sequential: quantum layer with %d inputs follows a layer with "
                             "%d outputs", F, (int)net->layers[net->nlayers - 1].out);
    qnn_qlayer_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.circuit = c;
    sp.ninputs = F;
    sp.inputs = amplitude ? NULL : inputs;
    sp.amplitude = amplitude;
    sp.nweights = nw;
    sp.weights = weights;
    sp.noutputs = K;
    sp.outputs = outs;
    sp.shots = (size_t)(shots > 0 ? shots : 0);
    sp.has_seed = has_seed;
    sp.seed = seed;
    sp.noise = noisy ? &nm : NULL;
    lua_getfield(L, 2, "threads");
    sp.threads = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    int rc = qnn_net_add_qlayer(net, &sp, &init, has_iseed, iseed, &err);
    if (rc < 0) qnn_lua_check_status(L, -rc, &err, "qnn.nn.quantum");
    return 0;
}

static const char *const spec_opts[] = {"circuit", "inputs", "weights", "amplitude", "features",
                                        "outputs", "shots", "seed", "noise", "init", "init_seed",
                                        "threads", NULL};

static int l_quantum_spec(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, spec_opts);
    lua_getfield(L, 1, "circuit");
    qnn_lua_checkcircuit(L, lua_gettop(L));
    lua_pop(L, 1);
    qnn_lua_optfield_int(L, 1, "shots", 0, 0, (lua_Integer)1 << 30);
    qnn_lua_optfield_int(L, 1, "threads", 0, 0, 4096);
    lua_newtable(L);
    for (int i = 0; spec_opts[i]; i++) {
        lua_getfield(L, 1, spec_opts[i]);
        lua_setfield(L, -2, spec_opts[i]);
    }
    lua_pushliteral(L, "quantum");
    lua_setfield(L, -2, "kind");
    lua_pushcfunction(L, build_quantum);
    lua_setfield(L, -2, "_build");
    luaL_setmetatable(L, SPEC_MT);
    return 1;
}

/* qnn.nn.layer_loaders.quantum is not needed: checkpoints store the layer's description (see
 * qnn_qlayer_describe); Net:quantum_info gives it to Lua. */
static int l_info(lua_State *L) {
    qnn_net *net = qnn_lua_checknet(L, 1);
    lua_Integer k = qnn_lua_checkint(L, 2, "k", 1, (lua_Integer)net->nlayers);
    const qnn_layer *l = &net->layers[k - 1];
    if (!qnn_qlayer_is(l)) return qnn_lua_argerror(L, 2, "k", "layer %d is not a quantum layer", (int)k);
    const qnn_circuit *c = qnn_qlayer_circuit(l);
    lua_createtable(L, 0, 10);
    lua_pushinteger(L, qnn_circuit_nqubits(c));
    lua_setfield(L, -2, "qubits");
    lua_pushinteger(L, qnn_circuit_depth(c));
    lua_setfield(L, -2, "depth");
    lua_pushinteger(L, (lua_Integer)qnn_circuit_ngates(c));
    lua_setfield(L, -2, "gates");
    lua_pushinteger(L, qnn_qlayer_ninputs(l));
    lua_setfield(L, -2, "inputs");
    lua_pushinteger(L, qnn_qlayer_nweights(l));
    lua_setfield(L, -2, "weights");
    lua_pushinteger(L, (lua_Integer)l->out);
    lua_setfield(L, -2, "outputs");
    lua_pushinteger(L, (lua_Integer)qnn_qlayer_shots(l));
    lua_setfield(L, -2, "shots");
    lua_pushboolean(L, qnn_qlayer_is_noisy(l));
    lua_setfield(L, -2, "noisy");
    lua_pushboolean(L, qnn_qlayer_is_amplitude(l));
    lua_setfield(L, -2, "amplitude");
    qnn_error err;
    qnn_error_clear(&err);
    const int *wp = qnn_qlayer_weight_params(l);
    lua_createtable(L, 0, qnn_qlayer_nweights(l));
    for (int j = 0; j < qnn_qlayer_nweights(l); j++) {
        lua_pushnumber(L, l->w[j]);
        lua_setfield(L, -2, qnn_circuit_param_name(c, wp[j]));
    }
    lua_setfield(L, -2, "values");
    const int *ip = qnn_qlayer_input_params(l);
    lua_createtable(L, qnn_qlayer_ninputs(l), 0);
    if (ip)
        for (int i = 0; i < qnn_qlayer_ninputs(l); i++) {
            lua_pushstring(L, qnn_circuit_param_name(c, ip[i]));
            lua_rawseti(L, -2, i + 1);
        }
    lua_setfield(L, -2, "input_names");
    char *txt = NULL;
    if (qnn_qlayer_describe(l, &txt, &err) == QNN_OK) {
        lua_pushstring(L, txt);
        free(txt);
        lua_setfield(L, -2, "description");
    }
    return 1;
}

static const qnn_lua_reg funcs[] = {
    {"quantum_spec", l_quantum_spec,
     "qnn.nn.quantum_spec{circuit=, inputs={i...}, weights={j...}, outputs={...}, amplitude=false, features=, shots=0, seed=, noise=, init=, init_seed=} -> layer",
     "The low-level constructor behind qnn.nn.quantum (use that): circuit: Circuit; inputs / "
     "weights: 0-based circuit parameter indices (every parameter exactly once); amplitude: "
     "features amplitude-encoded into the initial state; outputs: list of Pauli strings, "
     "{{coef, \"XYZ..\"}, ...} sums or {prob = basis index}; shots >= 0; noise: qnn.noise "
     "model; threads: at most this many threads over samples (0 = OpenMP's default).\nReturns a layer spec for qnn.nn.sequential."},
    {"quantum_info", l_info, "qnn.nn.quantum_info(net, k) -> table",
     "net: Net; k: index of a quantum layer among all layers (1-based).\nReturns {qubits=, "
     "depth=, gates=, inputs=, weights=, outputs=, shots=, noisy=, amplitude=, values = "
     "weight name -> trained value, input_names=, description= (text stored in checkpoints)}."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(qlayer) {
    qnn_lua_subtable(L, 1, "nn");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.nn.");
    lua_pop(L, 1);
    return 0;
}
