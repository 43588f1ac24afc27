/* qnn.circuit: Lua binding of the circuit IR (include/qnn/circuit.h). Metatable qnn.Circuit.
 * qnn.circuit is a callable table: qnn.circuit(n) makes a circuit, qnn.circuit.from_qasm(text)
 * reads OpenQASM 2.0. Qubits are 0-based (qubit 0 = least significant bit of a basis index);
 * tables of 2^n values (probabilities, dprobs, phases) are 1-based: entry x+1 <-> basis x. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn_lua.h"

static const char CIRC_T[] = "qnn.Circuit";

typedef struct lcirc {
    qnn_circuit *c;
    qnn_lua_mem mem;
} lcirc;

static int circ_isopen(const void *ud) { return ((const lcirc *)ud)->c != NULL; }
static const qnn_lua_life circ_life = {"Circuit", circ_isopen, NULL};

static lcirc *check_lc(lua_State *L, int arg) {
    lcirc *lc = (lcirc *)luaL_checkudata(L, arg, CIRC_T);
    if (!lc->c) {
        qnn_lua_closederror(L, arg, "circuit", "Circuit");
    }
    /* O(1); counts what the previous call added (dense unitaries can be 16 MiB each) */
    qnn_lua_mem_set(L, &lc->mem, QNN_MEM_CIRCUIT, qnn_circuit_bytes(lc->c));
    return lc;
}

qnn_circuit *qnn_lua_checkcircuit(lua_State *L, int arg) { return check_lc(L, arg)->c; }

static qnn_circuit *check_c(lua_State *L, int arg) { return check_lc(L, arg)->c; }

/* Creates a userdata first (so a Lua memory error cannot leak the circuit), then the circuit. */
static lcirc *push_empty(lua_State *L) {
    lcirc *lc = (lcirc *)lua_newuserdatauv(L, sizeof *lc, 1); /* uv 1: last gradient table */
    memset(lc, 0, sizeof *lc);
    luaL_setmetatable(L, CIRC_T);
    return lc;
}

static void fail(lua_State *L, int st, const qnn_error *err, const char *where) {
    qnn_lua_check_status(L, st, err, where);
}

/* ---------------- argument helpers ---------------- */
static int check_qubit(lua_State *L, qnn_circuit *c, int arg, const char *name) {
    return (int)qnn_lua_checkint(L, arg, name, 0, qnn_circuit_nqubits(c) - 1);
}

static void check_distinct(lua_State *L, const int *q, int nq, int arg) {
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < i; j++)
            if (q[i] == q[j])
                qnn_lua_argerror(L, arg, "qubits", "must be distinct, qubit %d appears twice", q[i]);
}

/* Table of qubit indices at arg (or a single integer if allow_int). Returns count. */
static int check_qubit_list(lua_State *L, qnn_circuit *c, int arg, const char *name, int *q,
                            int maxq, int allow_int) {
    int n = qnn_circuit_nqubits(c);
    if (allow_int && lua_type(L, arg) == LUA_TNUMBER) {
        q[0] = check_qubit(L, c, arg, name);
        return 1;
    }
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, name, "must be a table of qubit indices in [0, %d], got %s", n - 1,
                         luaL_typename(L, arg));
    lua_Integer len = luaL_len(L, arg);
    if (len < 1 || len > maxq)
        qnn_lua_argerror(L, arg, name, "must list 1 to %d qubits, got %d", maxq, (int)len);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, arg, i);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok || v < 0 || v >= n)
            qnn_lua_argerror(L, arg, name, "entry %d must be a qubit index in [0, %d]", (int)i, n - 1);
        q[i - 1] = (int)v;
    }
    check_distinct(L, q, (int)len, arg);
    return (int)len;
}

/* Affine parameter expressions: "2*theta", "theta/2", "-theta + 0.5", "pi/2*theta - 1" (the
 * form the drawing prints). Grammar: expr = term {(+|-) term}; term = factor {(*|/) factor};
 * factor = [+|-] (number | pi | name); every term holds at most one name (divisions only by
 * constants) and the expression at most one distinct name. Returns 1 and fills name (start,
 * length), scale, offset; 0 if the text is not such an expression. */
typedef struct aparse {
    const char *p;
    const char *name;
    size_t nlen;
    int bad;
} aparse;

static void ap_ws(aparse *a) {
    while (*a->p == ' ' || *a->p == '\t') a->p++;
}

static int ap_identchar(char ch, int first) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ((ch >= '0' && ch <= '9') || ch == '.'));
}

/* factor: sets *coef and *has_name */
static void ap_factor(aparse *a, double *coef, int *has_name) {
    ap_ws(a);
    double sign = 1.0;
    while (*a->p == '+' || *a->p == '-') {
        if (*a->p == '-') sign = -sign;
        a->p++;
        ap_ws(a);
    }
    *has_name = 0;
    if ((*a->p >= '0' && *a->p <= '9') || *a->p == '.') {
        char *e;
        double v = strtod(a->p, &e);
        if (e == a->p || !isfinite(v)) {
            a->bad = 1;
            return;
        }
        a->p = e;
        *coef = sign * v;
        return;
    }
    if (ap_identchar(*a->p, 1)) {
        const char *s = a->p;
        while (ap_identchar(*a->p, 0)) a->p++;
        size_t len = (size_t)(a->p - s);
        if (len == 2 && strncmp(s, "pi", 2) == 0) {
            *coef = sign * 3.14159265358979323846;
            return;
        }
        if (a->name && (a->nlen != len || strncmp(a->name, s, len) != 0)) {
            a->bad = 1; /* a second parameter */
            return;
        }
        a->name = s;
        a->nlen = len;
        *coef = sign;
        *has_name = 1;
        return;
    }
    a->bad = 1;
}

static int parse_affine(const char *text, const char **name, size_t *nlen, double *scale,
                        double *offset) {
    aparse a = {text, NULL, 0, 0};
    double sc = 0.0, off = 0.0, tsign = 1.0;
    for (;;) {
        double coef, f;
        int hn, nm;
        ap_factor(&a, &coef, &hn);
        if (a.bad) return 0;
        nm = hn;
        ap_ws(&a);
        while (*a.p == '*' || *a.p == '/') {
            char op = *a.p++;
            ap_factor(&a, &f, &hn);
            if (a.bad) return 0;
            if (op == '/') {
                if (hn || f == 0.0) return 0; /* not affine */
                coef /= f;
            } else {
                if (hn && nm) return 0; /* name * name */
                nm |= hn;
                coef *= f;
            }
            ap_ws(&a);
        }
        if (nm) sc += tsign * coef;
        else off += tsign * coef;
        if (*a.p == '+' || *a.p == '-') {
            tsign = *a.p == '-' ? -1.0 : 1.0;
            a.p++;
            continue;
        }
        break;
    }
    if (*a.p != 0 || !a.name || !isfinite(sc) || !isfinite(off)) return 0;
    *name = a.name;
    *nlen = a.nlen;
    *scale = sc;
    *offset = off;
    return 1;
}

static int plain_name(const char *s) {
    if (!ap_identchar(*s, 1)) return 0;
    for (; *s; s++)
        if (!ap_identchar(*s, 0) && !(*s >= '0' && *s <= '9') && *s != '[' && *s != ']' &&
            *s != ':' && *s != '@' && *s != '#')
            return 0;
    return 1;
}

/* number | "name" | "affine expression" | {"name", scale [, offset]} */
static qnn_angle check_angle(lua_State *L, qnn_circuit *c, int arg, const char *argname) {
    int t = lua_type(L, arg);
    if (t == LUA_TNUMBER) return qnn_angle_const(qnn_lua_checkfinite(L, arg, argname));
    qnn_error err;
    qnn_error_clear(&err);
    if (t == LUA_TSTRING) {
        size_t len;
        const char *name = lua_tolstring(L, arg, &len);
        if (len == 0 || len > 200 || strlen(name) != len)
            qnn_lua_argerror(L, arg, argname, "parameter name must be 1 to 200 characters");
        if (!plain_name(name)) {
            const char *nm = NULL;
            size_t nl = 0;
            double scale = 1.0, offset = 0.0;
            if (!parse_affine(name, &nm, &nl, &scale, &offset))
                qnn_lua_argerror(L, arg, argname,
                                 "\"%s\" is neither a parameter name (a letter or _ followed by "
                                 "letters, digits, _ . [ ] : @ #) nor an affine expression in one "
                                 "parameter such as \"2*theta\", \"theta/2 + 0.5\" or "
                                 "\"pi/2*theta\"", name);
            char buf[201];
            memcpy(buf, nm, nl);
            buf[nl] = 0;
            int idx = qnn_circuit_param(c, buf, &err);
            if (idx < 0) fail(L, QNN_ENOMEM, &err, argname);
            qnn_angle a = qnn_angle_param(idx, scale);
            a.offset = offset;
            return a;
        }
        int idx = qnn_circuit_param(c, name, &err);
        if (idx < 0) fail(L, QNN_ENOMEM, &err, argname);
        return qnn_angle_param(idx, 1.0);
    }
    if (t == LUA_TTABLE) {
        lua_geti(L, arg, 1);
        lua_geti(L, arg, 2);
        lua_geti(L, arg, 3);
        int ok2 = 0, ok3 = 0;
        double scale = lua_isnil(L, -2) ? 1.0 : lua_tonumberx(L, -2, &ok2);
        double offset = lua_isnil(L, -1) ? 0.0 : lua_tonumberx(L, -1, &ok3);
        if (lua_isnil(L, -2)) ok2 = 1;
        if (lua_isnil(L, -1)) ok3 = 1;
        if (lua_type(L, -3) != LUA_TSTRING || !ok2 || !ok3 || !isfinite(scale) || !isfinite(offset))
            qnn_lua_argerror(L, arg, argname,
                             "must be {name, scale [, offset]} with a string name and finite numbers");
        size_t len;
        const char *name = lua_tolstring(L, -3, &len);
        if (len == 0 || len > 200 || strlen(name) != len)
            qnn_lua_argerror(L, arg, argname, "parameter name must be 1 to 200 characters");
        int idx = qnn_circuit_param(c, name, &err);
        lua_pop(L, 3);
        if (idx < 0) fail(L, QNN_ENOMEM, &err, argname);
        qnn_angle a = qnn_angle_param(idx, scale);
        a.offset = offset;
        return a;
    }
    qnn_lua_argerror(L, arg, argname,
                     "must be a finite number, a parameter name or {name, scale}, got %s",
                     luaL_typename(L, arg));
    return qnn_angle_const(0);
}

/* ---------------- gates ---------------- */
static int gate1(lua_State *L, int kind) {
    qnn_circuit *c = check_c(L, 1);
    int q = check_qubit(L, c, 2, "q");
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_gate1(c, kind, q, &err), &err, qnn_op_kind_name(kind));
    lua_settop(L, 1);
    return 1;
}

static int rot1(lua_State *L, int kind) {
    qnn_circuit *c = check_c(L, 1);
    int q = check_qubit(L, c, 2, "q");
    luaL_checkany(L, 3);
    qnn_angle a = check_angle(L, c, 3, "angle");
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_rot1(c, kind, q, a, &err), &err, qnn_op_kind_name(kind));
    lua_settop(L, 1);
    return 1;
}

static void two(lua_State *L, qnn_circuit *c, int *a, int *b) {
    *a = check_qubit(L, c, 2, "a");
    *b = check_qubit(L, c, 3, "b");
    if (*a == *b) qnn_lua_argerror(L, 3, "b", "must differ from a (both are %d)", *a);
}

static int gate2(lua_State *L, int kind) {
    qnn_circuit *c = check_c(L, 1);
    int a, b;
    two(L, c, &a, &b);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_gate2(c, kind, a, b, &err), &err, qnn_op_kind_name(kind));
    lua_settop(L, 1);
    return 1;
}

static int rot2(lua_State *L, int kind) {
    qnn_circuit *c = check_c(L, 1);
    int a, b;
    two(L, c, &a, &b);
    luaL_checkany(L, 4);
    qnn_angle t = check_angle(L, c, 4, "angle");
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_rot2(c, kind, a, b, t, &err), &err, qnn_op_kind_name(kind));
    lua_settop(L, 1);
    return 1;
}

#define G1(name, K) \
    static int l_##name(lua_State *L) { return gate1(L, K); }
#define R1(name, K) \
    static int l_##name(lua_State *L) { return rot1(L, K); }
#define G2(name, K) \
    static int l_##name(lua_State *L) { return gate2(L, K); }
#define R2(name, K) \
    static int l_##name(lua_State *L) { return rot2(L, K); }
G1(h, QNN_G_H)
G1(x, QNN_G_X)
G1(y, QNN_G_Y)
G1(z, QNN_G_Z)
G1(s, QNN_G_S)
G1(sdg, QNN_G_SDG)
G1(t, QNN_G_T)
G1(tdg, QNN_G_TDG)
G1(sx, QNN_G_SX)
G1(sxdg, QNN_G_SXDG)
R1(rx, QNN_G_RX)
R1(ry, QNN_G_RY)
R1(rz, QNN_G_RZ)
R1(phase, QNN_G_PHASE)
G2(cx, QNN_G_CX)
G2(cy, QNN_G_CY)
G2(cz, QNN_G_CZ)
G2(swap, QNN_G_SWAP)
R2(crx, QNN_G_CRX)
R2(cry, QNN_G_CRY)
R2(crz, QNN_G_CRZ)
R2(cphase, QNN_G_CPHASE)
R2(rxx, QNN_G_RXX)
R2(ryy, QNN_G_RYY)
R2(rzz, QNN_G_RZZ)
R2(rzy, QNN_G_RZY)

static int l_u3(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int q = check_qubit(L, c, 2, "q");
    luaL_checkany(L, 3);
    luaL_checkany(L, 4);
    luaL_checkany(L, 5);
    /* check all three before creating parameters */
    for (int i = 3; i <= 5; i++)
        if (lua_type(L, i) == LUA_TNUMBER) qnn_lua_checkfinite(L, i, i == 3 ? "theta" : i == 4 ? "phi" : "lambda");
    qnn_angle t = check_angle(L, c, 3, "theta");
    qnn_angle p = check_angle(L, c, 4, "phi");
    qnn_angle l = check_angle(L, c, 5, "lambda");
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_u3(c, q, t, p, l, &err), &err, "u3");
    lua_settop(L, 1);
    return 1;
}

static int l_mcx(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int n = qnn_circuit_nqubits(c);
    int q[32];
    int nc = 0;
    if (lua_istable(L, 2) && luaL_len(L, 2) == 0) {
        nc = 0;
    } else {
        nc = check_qubit_list(L, c, 2, "controls", q, n - 1 > 0 ? n - 1 : 1, 1);
    }
    int t = check_qubit(L, c, 3, "target");
    for (int i = 0; i < nc; i++)
        if (q[i] == t) qnn_lua_argerror(L, 3, "target", "must not be one of the controls (%d)", t);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_mcx(c, q, nc, t, &err), &err, "mcx");
    lua_settop(L, 1);
    return 1;
}

static int l_mcz(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int q[32];
    int nq = check_qubit_list(L, c, 2, "qubits", q, qnn_circuit_nqubits(c), 1);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_mcz(c, q, nq, &err), &err, "mcz");
    lua_settop(L, 1);
    return 1;
}

/* Matrix at arg: table of d rows of d entries, each a number or {re, im}. */
static double *check_matrix(lua_State *L, int arg, size_t d) {
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, "M", "must be a table of %zu rows, got %s", d, luaL_typename(L, arg));
    if ((size_t)luaL_len(L, arg) != d)
        qnn_lua_argerror(L, arg, "M", "must have %zu rows, got %d", d, (int)luaL_len(L, arg));
    double *m = (double *)lua_newuserdatauv(L, sizeof(double) * 2 * d * d, 0);
    for (size_t r = 0; r < d; r++) {
        lua_geti(L, arg, (lua_Integer)r + 1);
        if (!lua_istable(L, -1) || (size_t)luaL_len(L, -1) != d)
            qnn_lua_argerror(L, arg, "M", "row %zu must be a table of %zu entries", r + 1, d);
        for (size_t j = 0; j < d; j++) {
            lua_geti(L, -1, (lua_Integer)j + 1);
            double re = NAN, im = 0.0;
            if (lua_type(L, -1) == LUA_TNUMBER) {
                re = lua_tonumber(L, -1);
            } else if (lua_istable(L, -1)) {
                lua_geti(L, -1, 1);
                lua_geti(L, -2, 2);
                int ok1, ok2;
                re = lua_tonumberx(L, -2, &ok1);
                im = lua_tonumberx(L, -1, &ok2);
                if (!ok1) re = NAN;
                if (!ok2) im = NAN;
                lua_pop(L, 2);
            }
            if (!isfinite(re) || !isfinite(im))
                qnn_lua_argerror(L, arg, "M", "entry (%zu, %zu) must be a finite number or {re, im}",
                                 r + 1, j + 1);
            m[2 * (r * d + j)] = re;
            m[2 * (r * d + j) + 1] = im;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return m; /* anchored on the stack */
}

static int l_unitary_gate(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int q[32];
    int maxk = qnn_circuit_nqubits(c) < 10 ? qnn_circuit_nqubits(c) : 10;
    int k = check_qubit_list(L, c, 2, "qubits", q, maxk, 1);
    double *m = check_matrix(L, 3, (size_t)1 << k);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_unitary_gate(c, q, k, m, 1e-10, &err), &err, "unitary");
    lua_settop(L, 1);
    return 1;
}

/* Vector of `len` finite numbers from a table or Tensor at arg (pushes an anchor). */
static const double *check_vector(lua_State *L, int arg, const char *name, size_t len) {
    if (!lua_istable(L, arg) && !qnn_lua_testtensor(L, arg))
        qnn_lua_argerror(L, arg, name, "must be a table or Tensor of %zu numbers, got %s", len,
                         luaL_typename(L, arg));
    if (lua_istable(L, arg)) {
        if ((size_t)luaL_len(L, arg) != len)
            qnn_lua_argerror(L, arg, name, "must have %zu entries (2^n), got %d", len,
                             (int)luaL_len(L, arg));
        double *v = (double *)lua_newuserdatauv(L, sizeof(double) * (len ? len : 1), 0);
        for (size_t i = 0; i < len; i++) {
            lua_geti(L, arg, (lua_Integer)i + 1);
            int ok;
            v[i] = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok || !isfinite(v[i]))
                qnn_lua_argerror(L, arg, name, "entry %zu must be a finite number", i + 1);
        }
        return v;
    }
    qnn_tensor *t = qnn_lua_testtensor(L, arg);
    if (qnn_tensor_numel(t) != len)
        qnn_lua_argerror(L, arg, name, "must have %zu entries (2^n), got %zu", len,
                         qnn_tensor_numel(t));
    double *v = (double *)lua_newuserdatauv(L, sizeof(double) * (len ? len : 1), 0);
    size_t k = 0;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t j = 0; j < t->cols; j++) {
            v[k] = qnn_tensor_get(t, r, j);
            if (!isfinite(v[k])) qnn_lua_argerror(L, arg, name, "entry %zu must be finite", k + 1);
            k++;
        }
    return v;
}

static int l_diagonal(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int n = qnn_circuit_nqubits(c);
    if (n > 26) luaL_error(L, "diagonal: circuits of at most 26 qubits");
    const double *ph = check_vector(L, 2, "phases", (size_t)1 << n);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_diagonal(c, ph, &err), &err, "diagonal");
    lua_settop(L, 1);
    return 1;
}

/* ---------------- parameters ---------------- */
static int l_params(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int np = qnn_circuit_nparams(c);
    lua_createtable(L, 0, np);
    for (int i = 0; i < np; i++) {
        lua_pushnumber(L, qnn_circuit_get_param(c, i));
        lua_setfield(L, -2, qnn_circuit_param_name(c, i));
    }
    return 1;
}

static int l_param_names(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int np = qnn_circuit_nparams(c);
    lua_createtable(L, np, 0);
    for (int i = 0; i < np; i++) {
        lua_pushstring(L, qnn_circuit_param_name(c, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int param_of(lua_State *L, qnn_circuit *c, int idx, int arg) {
    const char *name = lua_tostring(L, idx);
    int i = qnn_circuit_param_index(c, name);
    if (i < 0) qnn_lua_argerror(L, arg, "name", "unknown parameter '%s'", name);
    return i;
}

static int l_set(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    if (lua_istable(L, 2)) {
        int np = qnn_circuit_nparams(c);
        double *v = (double *)lua_newuserdatauv(L, sizeof(double) * (size_t)(np ? np : 1), 0);
        if (np) memcpy(v, qnn_circuit_params(c), sizeof(double) * (size_t)np);
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                qnn_lua_argerror(L, 2, "values", "keys must be parameter names");
            int i = param_of(L, c, -2, 2);
            int ok;
            double x = lua_tonumberx(L, -1, &ok);
            if (!ok || !isfinite(x))
                qnn_lua_argerror(L, 2, "values", "value of '%s' must be a finite number",
                                 lua_tostring(L, -2));
            v[i] = x;
            lua_pop(L, 1);
        }
        qnn_error err;
        qnn_error_clear(&err);
        fail(L, qnn_circuit_set_params(c, v, &err), &err, "set");
    } else {
        if (lua_type(L, 2) != LUA_TSTRING)
            qnn_lua_argerror(L, 2, "name", "must be a parameter name or a table name -> value, got %s",
                             luaL_typename(L, 2));
        int i = param_of(L, c, 2, 2);
        double x = qnn_lua_checkfinite(L, 3, "value");
        qnn_error err;
        qnn_error_clear(&err);
        fail(L, qnn_circuit_set_param(c, i, x, &err), &err, "set");
    }
    lua_settop(L, 1);
    return 1;
}

/* ---------------- structure ---------------- */
static int l_nqubits(lua_State *L) {
    lua_pushinteger(L, qnn_circuit_nqubits(check_c(L, 1)));
    return 1;
}

static int l_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)qnn_circuit_ngates(check_c(L, 1)));
    return 1;
}

static int l_depth(lua_State *L) {
    lua_pushinteger(L, qnn_circuit_depth(check_c(L, 1)));
    return 1;
}

static int l_count(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    size_t counts[QNN_OP_COUNT];
    qnn_circuit_count(c, counts);
    lua_newtable(L);
    size_t total = 0;
    for (int k = 0; k < QNN_OP_COUNT; k++) {
        if (!counts[k]) continue;
        lua_pushinteger(L, (lua_Integer)counts[k]);
        lua_setfield(L, -2, qnn_op_kind_name(k));
        total += counts[k];
    }
    lua_pushinteger(L, (lua_Integer)total);
    lua_setfield(L, -2, "total");
    return 1;
}

static void push_stats(lua_State *L, const qnn_fuse_stats *st) {
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)st->gates);
    lua_setfield(L, -2, "gates");
    lua_pushinteger(L, (lua_Integer)st->blocks);
    lua_setfield(L, -2, "blocks");
    lua_pushinteger(L, (lua_Integer)st->dense_blocks);
    lua_setfield(L, -2, "dense");
    lua_pushinteger(L, (lua_Integer)st->diag_blocks);
    lua_setfield(L, -2, "diagonal");
    lua_pushinteger(L, (lua_Integer)st->perm_blocks);
    lua_setfield(L, -2, "permutation");
    lua_pushinteger(L, (lua_Integer)st->single_ops);
    lua_setfield(L, -2, "single");
    lua_pushinteger(L, st->max_k);
    lua_setfield(L, -2, "max_k");
    lua_pushnumber(L, st->passes);
    lua_setfield(L, -2, "passes");
    lua_pushnumber(L, st->unfused_passes);
    lua_setfield(L, -2, "unfused_passes");
}

static int l_stats(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    qnn_fuse_stats st;
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_compile(c, &st, &err), &err, "stats");
    push_stats(L, &st);
    return 1;
}

static int l_compile(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    qnn_fuse_stats st;
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_compile(c, &st, &err), &err, "compile");
    size_t nb = qnn_circuit_fused_nblocks(c);
    lua_createtable(L, (int)nb, 1);
    static const char *const types[] = {"gates", "dense", "diagonal", "permutation"};
    for (size_t i = 0; i < nb; i++) {
        qnn_fuse_block b;
        if (qnn_circuit_fused_block(c, i, &b)) break;
        lua_createtable(L, 0, 4);
        lua_pushstring(L, types[b.type]);
        lua_setfield(L, -2, "type");
        lua_createtable(L, b.k, 0);
        for (int j = 0; j < b.k; j++) {
            lua_pushinteger(L, b.qubits[j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_setfield(L, -2, "qubits");
        lua_createtable(L, (int)b.ngates, 0);
        for (size_t j = 0; j < b.ngates; j++) {
            lua_pushinteger(L, (lua_Integer)b.gates[j] + 1);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_setfield(L, -2, "gates");
        lua_pushnumber(L, b.cost);
        lua_setfield(L, -2, "cost");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    push_stats(L, &st);
    lua_setfield(L, -2, "stats");
    return 1;
}

static int l_copy(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lcirc *lc = push_empty(L);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_copy(&lc->c, c, &err), &err, "copy");
    return 1;
}

static int l_inverse(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lcirc *lc = push_empty(L);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_inverse(&lc->c, c, &err), &err, "inverse");
    return 1;
}

static int l_decompose(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lcirc *lc = push_empty(L);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_decompose(c, &lc->c, &err), &err, "decompose");
    return 1;
}

static int l_repeat(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int k = (int)qnn_lua_checkint(L, 2, "k", 1, 1000000);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_repeat(c, k, &err), &err, "repeat_");
    lua_settop(L, 1);
    return 1;
}

static int l_append(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    qnn_circuit *o = check_c(L, 2);
    int map[32];
    int on = qnn_circuit_nqubits(o), n = qnn_circuit_nqubits(c);
    const int *mp = NULL;
    if (!lua_isnoneornil(L, 3)) {
        if (!lua_istable(L, 3))
            qnn_lua_argerror(L, 3, "map", "must be a table of %d qubit indices, got %s", on,
                             luaL_typename(L, 3));
        if (luaL_len(L, 3) != on)
            qnn_lua_argerror(L, 3, "map", "must have %d entries (one per qubit of other), got %d", on,
                             (int)luaL_len(L, 3));
        check_qubit_list(L, c, 3, "map", map, on, 0);
        mp = map;
    } else if (on > n) {
        qnn_lua_argerror(L, 2, "other", "has %d qubits, more than this circuit's %d (give a map)",
                         on, n);
    }
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_append(c, o, mp, &err), &err, "append");
    lua_settop(L, 1);
    return 1;
}

static int l_tostring(lua_State *L) {
    lcirc *lc = (lcirc *)luaL_checkudata(L, 1, CIRC_T);
    if (!lc->c) {
        lua_pushliteral(L, "qnn.Circuit (closed)");
        return 1;
    }
    qnn_circuit *c = lc->c;
    char *txt = NULL;
    qnn_error err;
    qnn_error_clear(&err);
    int st = qnn_circuit_draw(c, &txt, &err);
    if (st) fail(L, st, &err, "tostring");
    if (qnn_circuit_nbits(c) > 0)
        lua_pushfstring(L, "qnn.Circuit(%d qubits, %d classical bits, %d ops, depth %d, %d params)\n",
                        qnn_circuit_nqubits(c), qnn_circuit_nbits(c), (int)qnn_circuit_ngates(c),
                        qnn_circuit_depth(c), qnn_circuit_nparams(c));
    else
        lua_pushfstring(L, "qnn.Circuit(%d qubits, %d gates, depth %d, %d params)\n",
                        qnn_circuit_nqubits(c), (int)qnn_circuit_ngates(c), qnn_circuit_depth(c),
                        qnn_circuit_nparams(c));
    lua_pushstring(L, txt);
    free(txt);
    lua_concat(L, 2);
    return 1;
}

static int l_draw(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    char *txt = NULL;
    qnn_error err;
    qnn_error_clear(&err);
    int st = qnn_circuit_draw(c, &txt, &err);
    if (st) fail(L, st, &err, "draw");
    lua_pushstring(L, txt);
    free(txt);
    return 1;
}

static int l_gc(lua_State *L) {
    lcirc *lc = (lcirc *)luaL_checkudata(L, 1, CIRC_T);
    qnn_circuit_free(lc->c);
    lc->c = NULL;
    qnn_lua_mem_release(L, &lc->mem);
    return 0;
}

/* ---------------- noise models ---------------- */
/* nil | table with numeric fields p1, p2, amp_damp, phase_damp, bit_flip, phase_flip (as
 * made by qnn.noise.*). Shared with the other bindings through qnn_lua.h. */
int qnn_lua_checknoise(lua_State *L, int idx, const char *where, qnn_noise *nm) {
    memset(nm, 0, sizeof *nm);
    idx = lua_absindex(L, idx);
    if (lua_isnoneornil(L, idx) || (lua_isboolean(L, idx) && !lua_toboolean(L, idx))) return 0;
    if (!lua_istable(L, idx))
        luaL_error(L, "%s: option 'noise' must be a noise model (qnn.noise.*), got %s", where,
                   luaL_typename(L, idx));
    static const char *const keys[] = {"p1", "p2", "amp_damp", "phase_damp", "bit_flip",
                                       "phase_flip"};
    double *dst[] = {&nm->p1, &nm->p2, &nm->amp_damp, &nm->phase_damp, &nm->bit_flip,
                     &nm->phase_flip};
    for (int i = 0; i < 6; i++) {
        lua_getfield(L, idx, keys[i]);
        if (!lua_isnil(L, -1)) {
            int ok;
            double v = lua_tonumberx(L, -1, &ok);
            if (!ok || !(v >= 0.0 && v <= 1.0))
                luaL_error(L, "%s: noise field '%s' must be a probability in [0, 1], got %s",
                           where, keys[i], luaL_tolstring(L, -1, NULL));
            *dst[i] = v;
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "readout");
    if (!lua_isnil(L, -1)) {
        int ok;
        double v = lua_tonumberx(L, -1, &ok);
        if (!ok || !(v >= 0.0 && v <= 1.0))
            luaL_error(L, "%s: noise field 'readout' must be a probability in [0, 1], got %s", where,
                       luaL_tolstring(L, -1, NULL));
        nm->readout = v;
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "native");
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "%s: noise field 'native' must be a boolean, got %s", where, luaL_typename(L, -1));
        nm->native = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_noise_check(nm, &err), &err, where);
    return 1;
}

/* ---------------- simulation ---------------- */
static void run_density_dist(lua_State *L, qnn_circuit *c, qnn_density *d, const qnn_noise *nm);

static int l_run(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 3);
    static const char *const opts[] = {"noise", "seed", "rng", "fuse", NULL};
    int has = qnn_lua_checkopts(L, 3, opts);
    qnn_noise nm;
    int noisy = 0, fuse = -1;
    if (has) {
        lua_getfield(L, 3, "noise");
        noisy = qnn_lua_checknoise(L, lua_gettop(L), "run", &nm);
        lua_pop(L, 1);
        lua_getfield(L, 3, "fuse");
        int t = lua_type(L, -1);
        lua_pop(L, 1);
        if (t != LUA_TNIL) fuse = qnn_lua_optfield_bool(L, 3, "fuse", 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    qnn_state *s = qnn_lua_teststate(L, 2);
    if (s) {
        if (s->n != qnn_circuit_nqubits(c))
            qnn_lua_argerror(L, 2, "state", "must have %d qubits, got %d", qnn_circuit_nqubits(c),
                             s->n);
        qnn_rng local;
        int classical = !qnn_circuit_is_unitary(c);
        qnn_rng *rng = (noisy || classical) ? qnn_lua_getrng(L, has ? 3 : 0, &local) : NULL;
        if (!classical) {
            fail(L, qnn_circuit_run_ex(c, s, noisy ? &nm : NULL, rng, fuse, &err), &err, "run");
            lua_settop(L, 2);
            return 1;
        }
        uint64_t bits = 0;
        fail(L, qnn_circuit_run_shot(c, s, noisy ? &nm : NULL, rng, &bits, &err), &err, "run");
        lua_settop(L, 2);
        lua_pushinteger(L, (lua_Integer)bits);
        return 2;
    } else {
        qnn_density *d = qnn_lua_testdensity(L, 2);
        if (!d)
            qnn_lua_argerror(L, 2, "state", "must be a State or Density, got %s",
                             qnn_lua_typename(L, 2) ? qnn_lua_typename(L, 2) : luaL_typename(L, 2));
        if (d->n != qnn_circuit_nqubits(c))
            qnn_lua_argerror(L, 2, "state", "must have %d qubits, got %d", qnn_circuit_nqubits(c),
                             d->n);
        if (qnn_circuit_is_unitary(c)) {
            fail(L, qnn_circuit_run_density(c, d, noisy ? &nm : NULL, &err), &err, "run");
            lua_settop(L, 2);
            return 1;
        }
        lua_settop(L, 3);
        run_density_dist(L, c, d, noisy ? &nm : NULL);
        lua_remove(L, 3);
        return 2;
    }
}

static int l_unitary(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int n = qnn_circuit_nqubits(c);
    if (n > 10) luaL_error(L, "unitary: only for circuits of at most 10 qubits (this one has %d)", n);
    size_t d = (size_t)1 << n;
    double *u = (double *)lua_newuserdatauv(L, sizeof(double) * 2 * d * d, 0);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_unitary(c, u, &err), &err, "unitary");
    lua_createtable(L, (int)d, 0);
    for (size_t r = 0; r < d; r++) {
        lua_createtable(L, (int)d, 0);
        for (size_t j = 0; j < d; j++) {
            lua_createtable(L, 2, 0);
            lua_pushnumber(L, u[2 * (r * d + j)]);
            lua_rawseti(L, -2, 1);
            lua_pushnumber(L, u[2 * (r * d + j) + 1]);
            lua_rawseti(L, -2, 2);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    return 1;
}

/* ---------------- observables and gradients ---------------- */
static void parse_pauli(lua_State *L, int arg, const char *s, int n, qnn_pauli_term *t) {
    size_t len = strlen(s);
    if (len < 1 || (int)len > n)
        qnn_lua_argerror(L, arg, "observable", "Pauli string must have 1 to %d characters, got \"%s\"",
                         n, s);
    t->x = t->z = 0;
    for (size_t k = 0; k < len; k++) {
        uint64_t b = (uint64_t)1 << k;
        switch (s[k]) {
        case 'I': case 'i': break;
        case 'X': case 'x': t->x |= b; break;
        case 'Y': case 'y': t->x |= b, t->z |= b; break;
        case 'Z': case 'z': t->z |= b; break;
        default:
            qnn_lua_argerror(L, arg, "observable", "character %d of \"%s\" must be one of I X Y Z",
                             (int)k + 1, s);
        }
    }
}

/* "ZIZ" or {{coef, "XZ"}, ...}; pushes an anchor userdata holding the terms. */
static qnn_pauli_term *check_observable(lua_State *L, int arg, int n, int *nt) {
    if (lua_type(L, arg) == LUA_TSTRING) {
        qnn_pauli_term *t = (qnn_pauli_term *)lua_newuserdatauv(L, sizeof *t, 0);
        t->coef = 1.0;
        parse_pauli(L, arg, lua_tostring(L, arg), n, t);
        *nt = 1;
        return t;
    }
    if (!lua_istable(L, arg))
        qnn_lua_argerror(L, arg, "observable",
                         "must be a Pauli string like \"ZIZ\" or a list of {coef, \"XYZ..\"} terms, got %s",
                         luaL_typename(L, arg));
    lua_Integer len = luaL_len(L, arg);
    if (len < 1 || len > 100000)
        qnn_lua_argerror(L, arg, "observable", "must have 1 to 100000 terms, got %d", (int)len);
    qnn_pauli_term *t = (qnn_pauli_term *)lua_newuserdatauv(L, sizeof *t * (size_t)len, 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, arg, i);
        if (!lua_istable(L, -1))
            qnn_lua_argerror(L, arg, "observable", "term %d must be {coef, \"XYZ..\"}", (int)i);
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        int ok;
        double coef = lua_tonumberx(L, -2, &ok);
        if (!ok || !isfinite(coef) || lua_type(L, -1) != LUA_TSTRING)
            qnn_lua_argerror(L, arg, "observable",
                             "term %d must be {coef, \"XYZ..\"} with a finite coef", (int)i);
        t[i - 1].coef = coef;
        parse_pauli(L, arg, lua_tostring(L, -1), n, &t[i - 1]);
        lua_pop(L, 3);
    }
    *nt = (int)len;
    return t;
}

static const qnn_state *opt_state_in(lua_State *L, int arg, qnn_circuit *c) {
    if (lua_isnoneornil(L, arg)) return NULL;
    qnn_state *s = qnn_lua_teststate(L, arg);
    if (!s)
        qnn_lua_argerror(L, arg, "state_in", "must be a State, got %s",
                         qnn_lua_typename(L, arg) ? qnn_lua_typename(L, arg) : luaL_typename(L, arg));
    if (s->n != qnn_circuit_nqubits(c))
        qnn_lua_argerror(L, arg, "state_in", "must have %d qubits, got %d", qnn_circuit_nqubits(c),
                         s->n);
    return s;
}

static void push_grad(lua_State *L, qnn_circuit *c, const double *g) {
    int np = qnn_circuit_nparams(c);
    lua_createtable(L, 0, np);
    for (int i = 0; i < np; i++) {
        lua_pushnumber(L, g[i]);
        lua_setfield(L, -2, qnn_circuit_param_name(c, i));
    }
}

static void keep_grads(lua_State *L);

static int gradient_common(lua_State *L, int shift) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 3);
    int n = qnn_circuit_nqubits(c), nt;
    qnn_pauli_term *t = check_observable(L, 2, n, &nt);
    const qnn_state *in = opt_state_in(L, 3, c);
    int np = qnn_circuit_nparams(c);
    double *g = (double *)lua_newuserdatauv(L, sizeof(double) * (size_t)(np ? np : 1), 0);
    double v = 0;
    qnn_error err;
    qnn_error_clear(&err);
    int st = shift ? qnn_circuit_gradient_shift(c, t, nt, in, &v, g, &err)
                   : qnn_circuit_gradient(c, t, nt, in, &v, g, &err);
    fail(L, st, &err, shift ? "gradient_shift" : "gradient");
    lua_pushnumber(L, v);
    push_grad(L, c, g);
    keep_grads(L);
    return 2;
}

static int l_gradient(lua_State *L) { return gradient_common(L, 0); }

/* remembers the grads table on top of the stack as the circuit's gradient (Circuit:grads) */
static void keep_grads(lua_State *L) {
    lua_createtable(L, 0, 8);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_setiuservalue(L, 1, 1);
}

static int l_grads(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int np = qnn_circuit_nparams(c);
    int has = lua_getiuservalue(L, 1, 1) == LUA_TTABLE;
    lua_createtable(L, 0, np);
    for (int i = 0; i < np; i++) {
        double v = 0.0;
        if (has) {
            lua_getfield(L, -2, qnn_circuit_param_name(c, i));
            v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0.0;
            lua_pop(L, 1);
        }
        lua_pushnumber(L, v);
        lua_setfield(L, -2, qnn_circuit_param_name(c, i));
    }
    return 1;
}

static int l_zero_grad(lua_State *L) {
    check_c(L, 1);
    lua_pushnil(L);
    lua_setiuservalue(L, 1, 1);
    lua_settop(L, 1);
    return 1;
}
static int l_gradient_shift(lua_State *L) { return gradient_common(L, 1); }

static int l_expect(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 3);
    int nt;
    qnn_pauli_term *t = check_observable(L, 2, qnn_circuit_nqubits(c), &nt);
    const qnn_state *in = opt_state_in(L, 3, c);
    double v = 0;
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_expect(c, t, nt, in, &v, &err), &err, "expect");
    lua_pushnumber(L, v);
    return 1;
}

static int l_vjp(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 3);
    int n = qnn_circuit_nqubits(c);
    if (n > 26) luaL_error(L, "vjp: circuits of at most 26 qubits");
    size_t dim = (size_t)1 << n;
    luaL_checkany(L, 2);
    const double *dp = check_vector(L, 2, "dprobs", dim);
    const qnn_state *in = opt_state_in(L, 3, c);
    int np = qnn_circuit_nparams(c);
    double *g = (double *)lua_newuserdatauv(L, sizeof(double) * (size_t)(np ? np : 1), 0);
    int gi = lua_gettop(L);
    qnn_tensor *probs = qnn_lua_newtensor(L, 1, dim, 1);
    int pi = lua_gettop(L);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_vjp(c, dp, in, probs->data, g, &err), &err, "vjp");
    push_grad(L, c, (const double *)lua_touserdata(L, gi));
    keep_grads(L);
    lua_pushvalue(L, pi);
    return 2;
}


/* ---------------- classical registers, measurement, conditions ---------------- */
static int l_creg(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    const char *name = luaL_checkstring(L, 2);
    int size = (int)qnn_lua_checkint(L, 3, "size", 1, QNN_CIRCUIT_MAXBITS);
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_circuit_add_creg(c, name, size, &err) < 0) fail(L, QNN_EINVAL, &err, "creg");
    lua_settop(L, 1);
    return 1;
}

static int l_cregs(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int nr = qnn_circuit_ncregs(c);
    lua_createtable(L, nr, 0);
    for (int i = 0; i < nr; i++) {
        int off, size;
        const char *name = qnn_circuit_creg(c, i, &off, &size);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, name);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, off);
        lua_setfield(L, -2, "offset");
        lua_pushinteger(L, size);
        lua_setfield(L, -2, "size");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_nbits(lua_State *L) {
    lua_pushinteger(L, qnn_circuit_nbits(check_c(L, 1)));
    return 1;
}

/* Classical bit at arg: integer index or "name[i]"; or (allow_reg) a register "name".
 * Returns the first bit; *width = 1 for a bit, register size for a register. */
static int check_cbit(lua_State *L, qnn_circuit *c, int arg, const char *argname, int allow_reg,
                      int *width) {
    int nb = qnn_circuit_nbits(c);
    *width = 1;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        if (nb == 0)
            qnn_lua_argerror(L, arg, argname, "the circuit has no classical bits (c:creg(name, size))");
        return (int)qnn_lua_checkint(L, arg, argname, 0, nb - 1);
    }
    if (lua_type(L, arg) != LUA_TSTRING)
        qnn_lua_argerror(L, arg, argname, "must be a classical bit index in [0, %d]%s, got %s",
                         nb - 1, allow_reg ? ", \"reg[i]\" or a register name" : " or \"reg[i]\"",
                         luaL_typename(L, arg));
    size_t len;
    const char *s = lua_tolstring(L, arg, &len);
    char name[80];
    size_t k = 0;
    while (k < len && k < sizeof name - 1 && s[k] != '[') {
        name[k] = s[k];
        k++;
    }
    name[k] = '\0';
    int r = qnn_circuit_creg_index(c, name);
    if (r < 0) qnn_lua_argerror(L, arg, argname, "unknown classical register '%s'", name);
    int off, size;
    qnn_circuit_creg(c, r, &off, &size);
    if (k == len) {
        if (!allow_reg)
            qnn_lua_argerror(L, arg, argname, "must name one bit, like \"%s[0]\"", name);
        *width = size;
        return off;
    }
    char *end;
    long i = strtol(s + k + 1, &end, 10);
    if (end == s + k + 1 || *end != ']' || (size_t)(end - s) != len - 1 || i < 0 || i >= size)
        qnn_lua_argerror(L, arg, argname, "must be \"%s[i]\" with i in [0, %d], got \"%s\"", name,
                         size - 1, s);
    return off + (int)i;
}

static int l_measure(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int q = check_qubit(L, c, 2, "q");
    qnn_error err;
    qnn_error_clear(&err);
    int bit, w;
    if (lua_isnoneornil(L, 3)) {
        if (qnn_circuit_nbits(c) == 0 &&
            qnn_circuit_add_creg(c, "c", qnn_circuit_nqubits(c), &err) < 0)
            fail(L, QNN_EINVAL, &err, "measure");
        if (q >= qnn_circuit_nbits(c))
            qnn_lua_argerror(L, 3, "bit", "needed: qubit %d has no classical bit of the same index "
                             "(the circuit has %d bits)", q, qnn_circuit_nbits(c));
        bit = q;
    } else {
        bit = check_cbit(L, c, 3, "bit", 0, &w);
    }
    fail(L, qnn_circuit_measure(c, q, bit, &err), &err, "measure");
    lua_settop(L, 1);
    return 1;
}

static int l_reset(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int q = check_qubit(L, c, 2, "q");
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_reset(c, q, &err), &err, "reset");
    lua_settop(L, 1);
    return 1;
}

static int l_barrier(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    int n = qnn_circuit_nqubits(c), q[32], nq;
    if (lua_isnoneornil(L, 2)) {
        for (int i = 0; i < n; i++) q[i] = i;
        nq = n;
    } else {
        nq = check_qubit_list(L, c, 2, "qubits", q, n, 1);
    }
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_barrier(c, q, nq, &err), &err, "barrier");
    lua_settop(L, 1);
    return 1;
}

static int l_if(lua_State *L) {
    lcirc *lc = check_lc(L, 1);
    int w;
    int first = check_cbit(L, lc->c, 2, "bit_or_register", 1, &w);
    lua_Integer hi = w >= 63 ? LUA_MAXINTEGER : (((lua_Integer)1 << w) - 1);
    lua_Integer v = qnn_lua_checkint(L, 3, "value", 0, hi);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    uint64_t mask = (w >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << w) - 1)) << first;
    uint64_t val = ((uint64_t)v) << first;
    size_t from = qnn_circuit_ngates(lc->c);
    lua_pushvalue(L, 4);
    lua_pushvalue(L, 1);
    int rc = lua_pcall(L, 1, 0, 0);
    if (!lc->c) return luaL_error(L, "if_: the circuit was closed inside the block");
    if (rc != LUA_OK) {
        qnn_circuit_truncate(lc->c, from); /* no half-conditioned ops */
        return lua_error(L);
    }
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_condition(lc->c, from, mask, val, &err), &err, "if_");
    lua_settop(L, 1);
    return 1;
}

static void push_dist(lua_State *L, const uint64_t *vals, const double *p, size_t n) {
    lua_createtable(L, 0, (int)(n < 1000 ? n : 1000));
    for (size_t i = 0; i < n; i++) {
        lua_pushnumber(L, p[i]);
        lua_rawseti(L, -2, (lua_Integer)vals[i]);
    }
}

/* Runs c on Density d exactly; pushes the outcome table. */
static void run_density_dist(lua_State *L, qnn_circuit *c, qnn_density *d, const qnn_noise *nm) {
    size_t cap = 65536;
    uint64_t *vals = (uint64_t *)lua_newuserdatauv(L, cap * sizeof(uint64_t), 0);
    double *p = (double *)lua_newuserdatauv(L, cap * sizeof(double), 0);
    size_t n = 0;
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_run_density_bits(c, d, nm, vals, p, cap, &n, &err), &err, "run");
    lua_pop(L, 2);
    push_dist(L, vals, p, n);
}

#define SAMPLE_CHUNK ((size_t)1 << 20)
static int l_sample(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_Integer shots = qnn_lua_checkint(L, 2, "shots", 1, (lua_Integer)1 << 30);
    lua_settop(L, 3);
    static const char *const opts[] = {"seed", "rng", "noise", "state", NULL};
    int has = qnn_lua_checkopts(L, 3, opts);
    if (qnn_circuit_nbits(c) == 0)
        luaL_error(L, "sample: the circuit has no classical bits to sample; add measurements "
                      "(c:measure(q)) or use State:sample on its output");
    qnn_noise nm;
    int noisy = 0;
    const qnn_state *in = NULL;
    if (has) {
        lua_getfield(L, 3, "noise");
        noisy = qnn_lua_checknoise(L, lua_gettop(L), "sample", &nm);
        lua_pop(L, 1);
        lua_getfield(L, 3, "state");
        if (!lua_isnil(L, -1)) {
            in = qnn_lua_teststate(L, -1);
            if (!in || in->n != qnn_circuit_nqubits(c))
                qnn_lua_argerror(L, 3, "state", "must be a State of %d qubits",
                                 qnn_circuit_nqubits(c));
        }
        lua_pop(L, 1); /* the option table keeps it alive */
    }
    qnn_rng local;
    qnn_rng *r = qnn_lua_getrng(L, has ? 3 : 0, &local);
    qnn_error err;
    qnn_error_clear(&err);
    if (qnn_circuit_sample_check(c, noisy ? &nm : NULL, (size_t)shots, &err))
        qnn_lua_argerror(L, 2, "shots", "%s", err.msg);
    size_t chunk = (size_t)shots < SAMPLE_CHUNK ? (size_t)shots : SAMPLE_CHUNK;
    uint64_t *out = (uint64_t *)lua_newuserdatauv(L, chunk * sizeof(uint64_t), 0);
    lua_newtable(L);
    int t = lua_gettop(L);
    size_t left = (size_t)shots;
    while (left > 0) {
        size_t m = left < chunk ? left : chunk;
        fail(L, qnn_circuit_sample(c, in, noisy ? &nm : NULL, m, r, out, &err), &err, "sample");
        for (size_t i = 0; i < m; i++) {
            lua_Integer key = (lua_Integer)out[i];
            lua_Integer k = 0;
            if (lua_rawgeti(L, t, key) == LUA_TNUMBER) k = lua_tointeger(L, -1);
            lua_pop(L, 1);
            lua_pushinteger(L, k + 1);
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

static int l_probs(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 2);
    const qnn_state *in = opt_state_in(L, 2, c);
    int n = qnn_circuit_nqubits(c);
    if (n > 26) luaL_error(L, "probs: circuits of at most 26 qubits");
    qnn_tensor *t = qnn_lua_newtensor(L, 1, (size_t)1 << n, 1);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_probs(c, in, t->data, &err), &err, "probs");
    return 1;
}

static int l_distribution(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    lua_settop(L, 2);
    static const char *const opts[] = {"noise", "state", NULL};
    int has = qnn_lua_checkopts(L, 2, opts);
    int n = qnn_circuit_nqubits(c);
    if (n > QNN_DENSITY_MAX_QUBITS)
        luaL_error(L, "distribution: exact results use a density matrix (at most %d qubits, this "
                      "circuit has %d): use c:sample(shots)", QNN_DENSITY_MAX_QUBITS, n);
    qnn_noise nm;
    int noisy = 0;
    const qnn_state *in = NULL;
    if (has) {
        lua_getfield(L, 2, "noise");
        noisy = qnn_lua_checknoise(L, lua_gettop(L), "distribution", &nm);
        lua_pop(L, 1);
        lua_getfield(L, 2, "state");
        if (!lua_isnil(L, -1)) {
            in = qnn_lua_teststate(L, -1);
            if (!in || in->n != n) qnn_lua_argerror(L, 2, "state", "must be a State of %d qubits", n);
        }
        lua_pop(L, 1);
    }
    qnn_density *d = qnn_lua_pushdensity(L, n);
    qnn_error err;
    qnn_error_clear(&err);
    if (in) fail(L, qnn_density_set_pure(d, in, &err), &err, "distribution");
    run_density_dist(L, c, d, noisy ? &nm : NULL);
    return 1;
}

/* ---------------- QASM ---------------- */
static int l_qasm(lua_State *L) {
    qnn_circuit *c = check_c(L, 1);
    static const char *const opts[] = {"version", NULL};
    int has = qnn_lua_checkopts(L, 2, opts);
    int version = has ? (int)qnn_lua_optfield_int(L, 2, "version", 2, 2, 3) : 2;
    char *txt = NULL;
    qnn_error err;
    qnn_error_clear(&err);
    int st = qnn_circuit_to_qasm_version(c, version, &txt, &err);
    if (st) fail(L, st, &err, "qasm");
    lua_pushstring(L, txt);
    free(txt);
    return 1;
}

static int l_from_qasm(lua_State *L) {
    size_t len;
    if (lua_type(L, 1) != LUA_TSTRING)
        qnn_lua_argerror(L, 1, "text", "must be a string of OpenQASM 2.0 or 3, got %s", luaL_typename(L, 1));
    const char *text = lua_tolstring(L, 1, &len);
    if (strlen(text) != len) qnn_lua_argerror(L, 1, "text", "must not contain NUL bytes");
    lcirc *lc = push_empty(L);
    qnn_error err;
    qnn_error_clear(&err);
    int st = qnn_circuit_from_qasm(&lc->c, text, &err);
    if (st) fail(L, st, &err, "from_qasm");
    return 1;
}

static int l_new(lua_State *L) {
    /* called as qnn.circuit(n): arg 1 is the qnn.circuit table */
    lua_remove(L, 1);
    int n = (int)qnn_lua_checkint(L, 1, "n", 1, 30);
    lcirc *lc = push_empty(L);
    qnn_error err;
    qnn_error_clear(&err);
    fail(L, qnn_circuit_new(&lc->c, n, &err), &err, "qnn.circuit");
    return 1;
}

static int l_close(lua_State *L) {
    lcirc *lc = (lcirc *)luaL_checkudata(L, 1, CIRC_T);
    qnn_circuit_free(lc->c);
    lc->c = NULL;
    qnn_lua_mem_release(L, &lc->mem);
    return 0;
}

#define Q1DOC "q: qubit index in [0, n-1].\nReturns the circuit (chainable)."
#define ADOC                                                                                    \
    "angle: a finite number, a parameter name (string; trainable, starts at 0, may be shared "  \
    "by several gates), an affine expression in one parameter as the drawing prints it "        \
    "(\"2*theta\", \"theta/2+0.5\", \"pi/2*theta\"; anything else is refused), or "                  \
    "{name, scale [, offset]} (angle = offset + scale * value)."
#define R1DOC "q: qubit index in [0, n-1]; " ADOC "\nReturns the circuit (chainable)."
#define Q2DOC "a, b: distinct qubit indices in [0, n-1].\nReturns the circuit (chainable)."
#define R2DOC "a, b: distinct qubit indices in [0, n-1]; " ADOC "\nReturns the circuit (chainable)."

static const qnn_lua_reg methods[] = {
    {"h", l_h, "Circuit:h(q) -> Circuit", "Appends a Hadamard. " Q1DOC},
    {"x", l_x, "Circuit:x(q) -> Circuit", "Appends a Pauli X. " Q1DOC},
    {"y", l_y, "Circuit:y(q) -> Circuit", "Appends a Pauli Y. " Q1DOC},
    {"z", l_z, "Circuit:z(q) -> Circuit", "Appends a Pauli Z. " Q1DOC},
    {"s", l_s, "Circuit:s(q) -> Circuit", "Appends S = diag(1, i). " Q1DOC},
    {"sdg", l_sdg, "Circuit:sdg(q) -> Circuit", "Appends S^dagger. " Q1DOC},
    {"t", l_t, "Circuit:t(q) -> Circuit", "Appends T = diag(1, e^{i pi/4}). " Q1DOC},
    {"tdg", l_tdg, "Circuit:tdg(q) -> Circuit", "Appends T^dagger. " Q1DOC},
    {"sx", l_sx, "Circuit:sx(q) -> Circuit", "Appends sqrt(X). " Q1DOC},
    {"sxdg", l_sxdg, "Circuit:sxdg(q) -> Circuit", "Appends sqrt(X)^dagger. " Q1DOC},
    {"rx", l_rx, "Circuit:rx(q, angle) -> Circuit", "Appends RX = exp(-i angle X/2). " R1DOC},
    {"ry", l_ry, "Circuit:ry(q, angle) -> Circuit", "Appends RY = exp(-i angle Y/2). " R1DOC},
    {"rz", l_rz, "Circuit:rz(q, angle) -> Circuit", "Appends RZ = exp(-i angle Z/2). " R1DOC},
    {"phase", l_phase, "Circuit:phase(q, angle) -> Circuit",
     "Appends diag(1, e^{i angle}). " R1DOC},
    {"u3", l_u3, "Circuit:u3(q, theta, phi, lambda) -> Circuit",
     "Appends the OpenQASM U3 gate. q: qubit in [0, n-1]; each angle as for rx (number, "
     "parameter name or {name, scale}).\nReturns the circuit (chainable)."},
    {"cx", l_cx, "Circuit:cx(a, b) -> Circuit", "Appends CNOT, control a, target b. " Q2DOC},
    {"cy", l_cy, "Circuit:cy(a, b) -> Circuit", "Appends controlled Y, control a. " Q2DOC},
    {"cz", l_cz, "Circuit:cz(a, b) -> Circuit", "Appends controlled Z. " Q2DOC},
    {"swap", l_swap, "Circuit:swap(a, b) -> Circuit", "Appends SWAP. " Q2DOC},
    {"crx", l_crx, "Circuit:crx(a, b, angle) -> Circuit", "Appends controlled RX (control a). " R2DOC},
    {"cry", l_cry, "Circuit:cry(a, b, angle) -> Circuit", "Appends controlled RY (control a). " R2DOC},
    {"crz", l_crz, "Circuit:crz(a, b, angle) -> Circuit", "Appends controlled RZ (control a). " R2DOC},
    {"cphase", l_cphase, "Circuit:cphase(a, b, angle) -> Circuit",
     "Appends diag(1, 1, 1, e^{i angle}). " R2DOC},
    {"rxx", l_rxx, "Circuit:rxx(a, b, angle) -> Circuit", "Appends exp(-i angle/2 X_a X_b). " R2DOC},
    {"ryy", l_ryy, "Circuit:ryy(a, b, angle) -> Circuit", "Appends exp(-i angle/2 Y_a Y_b). " R2DOC},
    {"rzz", l_rzz, "Circuit:rzz(a, b, angle) -> Circuit", "Appends exp(-i angle/2 Z_a Z_b). " R2DOC},
    {"rzy", l_rzy, "Circuit:rzy(a, b, angle) -> Circuit", "Appends exp(-i angle/2 Z_a Y_b). " R2DOC},
    {"mcx", l_mcx, "Circuit:mcx(controls, target) -> Circuit",
     "controls: table of distinct qubit indices (or one integer; {} = plain X); target: qubit "
     "not among the controls.\nAppends X on target when all controls are 1; returns the circuit."},
    {"mcz", l_mcz, "Circuit:mcz(qubits) -> Circuit",
     "qubits: table of 1..n distinct qubit indices.\nAppends a -1 phase when all are 1; returns "
     "the circuit."},
    {"diagonal", l_diagonal, "Circuit:diagonal(phases) -> Circuit",
     "phases: table or Tensor of 2^n finite numbers (entry x+1 <-> basis state x).\nAppends "
     "e^{i phases[x]} on every basis state (a phase oracle); returns the circuit."},
    {"params", l_params, "Circuit:params() -> table",
     "Returns a table parameter name -> current value (new parameters start at 0)."},
    {"grads", l_grads, "Circuit:grads() -> table",
     "Returns a table parameter name -> gradient from the last gradient / gradient_shift / vjp "
     "call (0 for parameters it did not cover or after zero_grad). With Circuit:params() this "
     "is the parameter protocol the optimizers step: opt:step(c)."},
    {"zero_grad", l_zero_grad, "Circuit:zero_grad() -> Circuit",
     "Forgets the stored gradient (grads() returns zeros)."},
    {"param_names", l_param_names, "Circuit:param_names() -> table",
     "Returns the parameter names in order of first use."},
    {"set", l_set, "Circuit:set(name, value) | Circuit:set{name = value, ...} -> Circuit",
     "name: an existing parameter name (unknown names are an error); value: finite number.\n"
     "Sets parameter values; returns the circuit."},
    {"nqubits", l_nqubits, "Circuit:nqubits() -> integer", "Returns the number of qubits."},
    {"depth", l_depth, "Circuit:depth() -> integer",
     "Returns the circuit depth (layers of gates on disjoint qubits)."},
    {"count", l_count, "Circuit:count() -> table",
     "Returns a table gate kind -> count, plus field total (= #c)."},
    {"copy", l_copy, "Circuit:copy() -> Circuit", "Returns an independent copy (same parameters)."},
    {"inverse", l_inverse, "Circuit:inverse() -> Circuit",
     "Returns a new circuit applying the inverse: gates reversed and inverted; parameters kept "
     "by name with their angles negated."},
    {"decompose", l_decompose, "Circuit:decompose() -> Circuit",
     "Returns a new circuit of 1-qubit gates and CX only, equal to this one up to a global phase "
     "(parameters kept by name): CZ/CY/SWAP and the controlled and two-qubit rotations by CX "
     "conjugations; mcx, mcz and diagonals by their Walsh expansion (CX ladders + RZ, no "
     "ancillas: up to k 2^k CX for k qubits). General unitaries on >= 2 qubits raise an error. "
     "Noise models with native = true run this form."},
    {"repeat_", l_repeat, "Circuit:repeat_(k) -> Circuit",
     "k: integer in [1, 1e6].\nRepeats the gate list k times IN PLACE (parameters shared "
     "between the copies); returns the circuit. Use c:copy():repeat_(k) for a new one."},
    {"rep", l_repeat, "Circuit:rep(k) -> Circuit", "Alias of Circuit:repeat_(k)."},
    {"append", l_append, "Circuit:append(other [, map]) -> Circuit",
     "other: Circuit; map: table of other:nqubits() distinct qubit indices of this circuit "
     "(other's qubit i -> map[i+1]); default identity (needs other:nqubits() <= n).\nAppends "
     "other's ops (parameters and classical registers merged by name; new parameters keep "
     "other's values, a register of the same name must have the same size); returns self."},
    {"compile", l_compile, "Circuit:compile() -> table",
     "Compiles the circuit for state-vector runs (gate fusion; done lazily by run, expect, "
     "gradient, vjp) and returns its blocks in application order: {type = \"dense\" | "
     "\"diagonal\" | \"permutation\" | \"gates\", qubits = {...} (fused blocks; bit j of the block matrix = "
     "qubits[j]), gates = {1-based gate indices}, cost = predicted passes}, plus field stats "
     "(as Circuit:stats()). The program is cached, re-planned when gates change and re-bound "
     "when parameter values change."},
    {"stats", l_stats, "Circuit:stats() -> table",
     "Fusion statistics of the compiled program: gates, blocks (kernel calls per run), dense, "
     "diagonal, permutation (fused blocks), single (gates run alone), max_k (largest fused block), passes "
     "(predicted cost in passes of a dense 1-qubit gate) and unfused_passes (gate by gate)."},
    {"run", l_run, "Circuit:run(s [, {noise=, seed=, rng=, fuse=}]) -> s, bits | d, dist",
     "s: State or Density with the circuit's qubit count; noise: a noise model (qnn.noise.*): "
     "on a State one seeded Monte-Carlo trajectory (seed: integer, rng: qnn.Rng; default "
     "stream otherwise), on a Density the exact channels; fuse: boolean (default true, or false when "
     "QNN_FUSE=0): noiseless unitary State runs use the compiled program of fused gate blocks "
     "(Circuit:compile), fuse=false runs gate by gate.\nApplies the circuit to s in place. "
     "On a State measurements collapse it (one sampled trajectory); a circuit with measurement, "
     "reset or conditions also returns the classical register as an integer (bit j = "
     "classical bit j). On a Density the run is "
     "exact (measurement as a channel, classical control as a mixture); a circuit with "
     "measurement, reset or conditions also returns the classical distribution (table value "
     "-> probability)."},
    {"matrix", l_unitary, "Circuit:matrix() -> table",
     "For n <= 10. Returns the full 2^n x 2^n unitary as rows of {re, im} pairs."},
    {"draw", l_draw, "Circuit:draw() -> string",
     "Returns the text drawing (one row per qubit) without the header line of tostring."},
    {"expect", l_expect, "Circuit:expect(observable [, state_in]) -> number",
     "observable: Pauli string like \"ZIZ\" (char k <-> qubit k, length <= n) or a list of "
     "{coef, \"XYZ..\"} terms; state_in: State (default |0...0>, not modified).\nReturns <O> "
     "of the output state."},
    {"gradient", l_gradient, "Circuit:gradient(observable [, state_in]) -> value, grads",
     "observable and state_in as for expect.\nAdjoint differentiation (one forward pass, one "
     "backward sweep, ~3 state vectors). Returns <O> and a table name -> d<O>/d(parameter)."},
    {"gradient_shift", l_gradient_shift,
     "Circuit:gradient_shift(observable [, state_in]) -> value, grads",
     "As gradient, by the parameter-shift rule (two-term; four-term for crx/cry/crz). "
     "A cross-check: costs 2-4 circuit runs per parameterised gate."},
    {"vjp", l_vjp, "Circuit:vjp(dprobs [, state_in]) -> grads, probs",
     "dprobs: table or Tensor of 2^n finite numbers (entry x+1 <-> basis x); state_in: State.\n"
     "Returns a table name -> sum_x dprobs[x] dp_x/d(parameter) (adjoint method) and the "
     "output probabilities as a Tensor of 2^n entries."},
    {"qasm", l_qasm, "Circuit:qasm([{version=2|3}]) -> string",
     "version: 2 (default) or 3.\nReturns OpenQASM text. Version 2: include \"qelib1.inc\", "
     "parameters written as their current values, creg/measure/reset/barrier and if(creg==v) "
     "(conditions must test a whole register). Version 3: include \"stdgates.inc\", named "
     "parameters as `input float[64] name;` and angles offset + scale * name, bit registers, "
     "c[i] = measure q[j];, if (...) { } blocks. Gates without a library name (ryy, rzy, mcx "
     "with > 2 controls, mcz on > 2 qubits, unitary, diagonal) are decomposed exactly (global "
     "phase included) or defined with gate definitions. qnn.circuit.from_qasm reads both back."},
    {"creg", l_creg, "Circuit:creg(name, size) -> Circuit",
     "name: identifier ([A-Za-z_][A-Za-z0-9_]*), new; size: integer in [1, 64] (at most 64 "
     "classical bits in total).\nDeclares a classical register; its bits follow the earlier "
     "registers' (bit indices are global, 0-based). Returns the circuit."},
    {"cregs", l_cregs, "Circuit:cregs() -> table",
     "Returns the classical registers in order, each {name=, offset=, size=}."},
    {"nbits", l_nbits, "Circuit:nbits() -> integer", "Returns the number of classical bits."},
    {"measure", l_measure, "Circuit:measure(q [, bit]) -> Circuit",
     "q: qubit in [0, n-1]; bit: classical bit index in [0, nbits-1] or \"reg[i]\" (default: "
     "bit q; a circuit without classical bits first gets a register \"c\" of n bits).\n"
     "Appends a Z-basis measurement of q written to bit. Returns the circuit."},
    {"reset", l_reset, "Circuit:reset(q) -> Circuit",
     "q: qubit in [0, n-1].\nAppends a reset of q to |0> (non-unitary). Returns the circuit."},
    {"barrier", l_barrier, "Circuit:barrier([qubits]) -> Circuit",
     "qubits: table of distinct qubits or one integer (default all).\nAppends a barrier (no "
     "action; exported to QASM; gates are not merged across it). Returns the circuit."},
    {"if_", l_if, "Circuit:if_(bit_or_register, value, function(c) ... end) -> Circuit",
     "bit_or_register: classical bit index, \"reg[i]\" or a register name; value: 0/1 for a "
     "bit, in [0, 2^size - 1] for a register (bit j of value <-> bit j of the register).\n"
     "Calls the function with the circuit; every op it appends acts only when the bit / "
     "register equals value at that point of a run (nested if_ blocks combine). If the "
     "function raises, the ops it added are removed and the error propagates. Returns the "
     "circuit."},
    {"sample", l_sample, "Circuit:sample(shots [, {seed=, rng=, noise=, state=}]) -> table",
     "shots: integer in [1, 2^30] (and shots x operations x 2^n <= 2^34 when each shot is a "
     "trajectory); seed/rng: random stream; noise: noise model (qnn.noise.*); "
     "state: initial State (default |0..0>).\nRuns the circuit `shots` times (one trajectory "
     "each: measurements collapse, conditions read the bits) and returns the joint distribution "
     "of the classical register: table value -> count (bit j of value = classical bit j). "
     "Terminal measurements without noise are sampled from one final state."},
    {"probs", l_probs, "Circuit:probs([state_in]) -> Tensor",
     "state_in: State (default |0..0>).\nExact computational-basis probabilities (2^n) of the "
     "output: from the state vector for a unitary circuit or one whose measurements are all "
     "terminal; with mid-circuit measurement, reset or conditions from a density matrix (n <= "
     "14), otherwise an error pointing to c:sample."},
    {"distribution", l_distribution, "Circuit:distribution([{noise=, state=}]) -> table",
     "noise: noise model; state: initial State (default |0..0>). n <= 14.\nExact joint "
     "distribution of the classical register (table value -> probability) from a density-matrix "
     "run: measurement as a channel, classical control as a mixture."},
    {"close", l_close, "Circuit:close()", "Frees the circuit; later use raises \"Circuit is closed\"."},
    {NULL, NULL, NULL, NULL}};

static int l_unitary_alias(lua_State *L) {
    /* c:unitary() with no arguments -> matrix; c:unitary(qubits, M) -> appends a gate */
    if (lua_gettop(L) == 1) return l_unitary(L);
    return l_unitary_gate(L);
}

static const luaL_Reg meta[] = {{"__tostring", l_tostring}, {"__gc", l_gc},   {"__close", l_gc},
                                {"__len", l_len},           {NULL, NULL}};

QNN_LUA_OPENER(circuit) {
    int t = lua_absindex(L, 1);
    qnn_lua_newclass(L, CIRC_T, methods, meta);
    qnn_lua_setlife(L, CIRC_T, &circ_life);
    /* c:unitary() without arguments returns the matrix (documented under Circuit:unitary) */
    luaL_getmetatable(L, CIRC_T);
    lua_getfield(L, -1, "methods");
    lua_pushcfunction(L, l_unitary_alias);
    qnn_lua_document(L, -1, "Circuit:unitary",
                     "Circuit:unitary(qubits, M) -> Circuit | Circuit:unitary() -> table",
                     "With arguments: qubits: table of k distinct qubits (1 <= k <= 10) or one "
                     "integer; M: 2^k rows of 2^k entries, each a number or {re, im}, bit j of the "
                     "matrix index <-> qubits[j+1], checked unitary to 1e-10; appends the dense "
                     "gate and returns the circuit.\nWithout arguments (n <= 10): returns the "
                     "circuit's full unitary as rows of {re, im} pairs.");
    lua_setfield(L, -2, "unitary");
    lua_pop(L, 2);

    /* qnn.circuit: callable table with from_qasm */
    lua_newtable(L);
    static const qnn_lua_reg funcs[] = {
        {"from_qasm", l_from_qasm, "qnn.circuit.from_qasm(text) -> Circuit",
         "text: OpenQASM 2.0 (all of it: qelib1 gates, gate/opaque definitions, qreg/creg, "
         "measure, reset, barrier, if(creg==n), broadcasting) or the OpenQASM 3 subset "
         "(OPENQASM 3; include \"stdgates.inc\"; qubit[n]/bit[n]; c[i] = measure q[j]; reset; "
         "if (c[i] == 1) { ... } [else { ... }]; gate definitions; input float name -> named "
         "circuit parameter).\nReturns a Circuit with measurement and classical control in its "
         "ops. Malformed text, unsupported constructs, recursive gate definitions and excessive "
         "nesting raise an error naming the line, the column and the offending text."},
        {NULL, NULL, NULL, NULL}};
    qnn_lua_setfuncs(L, -1, funcs, "qnn.circuit.");
    lua_newtable(L);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    qnn_lua_document(L, -1, "qnn.circuit", "qnn.circuit(n) -> Circuit",
                     "n: number of qubits in [1, 30].\nReturns an empty circuit. Gate methods as "
                     "on State (chainable); angles may be named trainable parameters. See also "
                     "qnn.circuit.from_qasm and qnn.noise.");
    lua_setfield(L, t, "circuit");
    return 0;
}
