/* qnn.ising: Ising models (userdata qnn.Ising) and their samplers.
 *
 * Energy convention: E(s) = offset + sum_i h_i s_i + sum_{i<j} J_ij s_i s_j, s_i in {-1, +1},
 * spins 1-based in Lua. QUBO: x = (1 + s)/2, E(x) = offset + x^T Q x. Schedules (Lua functions
 * or tables, see lua/qnn/methods/anneal.lua) are sampled into arrays before any C loop runs. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qnn/grover.h"
#include "qnn/ising.h"
#include "qnn_lua.h"

#define ISING_T "qnn.Ising"

/* luaL_error with full printf formats (lua_pushfstring knows no %g/%zu) */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int lerr(lua_State *L, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", buf);
}

typedef struct lising {
    qnn_ising *m; /* NULL once closed */
} lising;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static qnn_ising *check_model(lua_State *L, int arg) {
    lising *u = (lising *)luaL_testudata(L, arg, ISING_T);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "model", "must be an Ising model (qnn.ising.model), got %s",
                         tn ? tn : luaL_typename(L, arg));
    }
    if (!u->m) lerr(L, "Ising is closed");
    return u->m;
}

static lising *push_model(lua_State *L) {
    lising *u = (lising *)lua_newuserdatauv(L, sizeof *u, 0);
    u->m = NULL;
    luaL_setmetatable(L, ISING_T);
    return u;
}

/* scratch buffer owned by the Lua stack (freed by the GC, also on errors) */
static void *scratch(lua_State *L, size_t bytes) {
    void *p = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
    memset(p, 0, bytes ? bytes : 1);
    return p;
}

static void *scratch_n(lua_State *L, size_t count, size_t size, const char *what) {
    size_t b;
    if (qnn_mul_size(count, size, &b) || b > qnn_max_bytes())
        lerr(L, "%s: %zu entries exceed the memory limit", what, count);
    return scratch(L, b);
}

/* ---------------- reading numbers / spins ---------------- */
static double finite_at(lua_State *L, int idx, const char *what, lua_Integer i, lua_Integer j) {
    int ok = 0;
    double v = lua_tonumberx(L, idx, &ok);
    if (!ok || !isfinite(v)) {
        if (j > 0)
            lerr(L, "%s[%d][%d] must be a finite number, got %s", what, (int)i, (int)j,
                       ok ? (isnan(v) ? "nan" : "inf") : luaL_typename(L, idx));
        lerr(L, "%s[%d] must be a finite number, got %s", what, (int)i,
                   ok ? (isnan(v) ? "nan" : "inf") : luaL_typename(L, idx));
    }
    return v;
}

/* Reads a vector of n numbers (table or Tensor) at idx into out. */
static void read_vector(lua_State *L, int idx, int n, double *out, const char *what) {
    idx = lua_absindex(L, idx);
    qnn_tensor *t = qnn_lua_testtensor(L, idx);
    if (t) {
        if (qnn_tensor_numel(t) != (size_t)n)
            lerr(L, "%s must have %d entries, got a Tensor with %d", what, n,
                       (int)qnn_tensor_numel(t));
        for (size_t r = 0, k = 0; r < t->rows; r++)
            for (size_t c = 0; c < t->cols; c++, k++) {
                double v = qnn_tensor_get(t, r, c);
                if (!isfinite(v)) lerr(L, "%s[%d] must be finite, got %g", what, (int)k + 1, v);
                out[k] = v;
            }
        return;
    }
    if (!lua_istable(L, idx))
        lerr(L, "%s must be a table of %d numbers or a Tensor, got %s", what, n,
                   luaL_typename(L, idx));
    if ((lua_Integer)lua_rawlen(L, idx) != n)
        lerr(L, "%s must have %d entries, got %d", what, n, (int)lua_rawlen(L, idx));
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        out[i - 1] = finite_at(L, -1, what, i, 0);
        lua_pop(L, 1);
    }
}

/* Reads n spins (+-1) from a table or Tensor at idx. */
static void read_spins(lua_State *L, int idx, int n, int8_t *out, const char *what) {
    idx = lua_absindex(L, idx);
    qnn_tensor *t = qnn_lua_testtensor(L, idx);
    size_t len = t ? qnn_tensor_numel(t) : (lua_istable(L, idx) ? lua_rawlen(L, idx) : 0);
    if (!t && !lua_istable(L, idx))
        lerr(L, "%s must be a table of %d spins (-1 or +1), got %s", what, n,
                   luaL_typename(L, idx));
    if (len != (size_t)n) lerr(L, "%s must have %d spins, got %d", what, n, (int)len);
    for (int i = 0; i < n; i++) {
        double v;
        if (t) {
            v = t->data[(size_t)(i / (int)t->cols) * t->ld + (size_t)(i % (int)t->cols)];
        } else {
            lua_rawgeti(L, idx, i + 1);
            int ok = 0;
            v = lua_tonumberx(L, -1, &ok);
            if (!ok) v = NAN;
            lua_pop(L, 1);
        }
        if (v != 1.0 && v != -1.0) lerr(L, "%s[%d] must be -1 or +1, got %g", what, i + 1, v);
        out[i] = (int8_t)v;
    }
}

static void push_spins(lua_State *L, const int8_t *s, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, s[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* ---------------- building models from Lua data ---------------- */
static void fail_status(lua_State *L, int rc, qnn_error *e, const char *where) {
    qnn_lua_check_status(L, rc, e, where);
}

/* Is the table at idx an edge list {{i, j, w}, ...} for n spins? */
static int looks_like_edges(lua_State *L, int idx, int n) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer k = 1; k <= len; k++) {
        int ok = 1;
        if (lua_rawgeti(L, idx, k) != LUA_TTABLE || lua_rawlen(L, -1) != 3) ok = 0;
        for (int c = 1; ok && c <= 2; c++) {
            lua_rawgeti(L, -1, c);
            int isint = 0;
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint || v < 1 || v > n) ok = 0;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (!ok) return 0;
    }
    return 1;
}

/* Adds couplings from J at idx (edge list, n x n table or Tensor) into m. */
static void add_couplings(lua_State *L, int idx, qnn_ising *m, const char *where) {
    idx = lua_absindex(L, idx);
    int n = m->n;
    qnn_error e = {0};
    qnn_tensor *t = qnn_lua_testtensor(L, idx);
    int is_matrix = 0;
    if (t) {
        if (t->rows != (size_t)n || t->cols != (size_t)n || (t->ndim == 1 && n != 1))
            lerr(L, "%s: J Tensor must be %dx%d, got %dx%d", where, n, n, (int)t->rows,
                       (int)t->cols);
        is_matrix = 1;
    } else if (lua_istable(L, idx)) {
        lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
        int square = len == n && n > 0;
        for (lua_Integer k = 1; square && k <= len; k++) {
            if (lua_rawgeti(L, idx, k) != LUA_TTABLE || (lua_Integer)lua_rawlen(L, -1) != n)
                square = 0;
            lua_pop(L, 1);
        }
        is_matrix = square && !(n == 3 && looks_like_edges(L, idx, n));
    } else {
        lerr(L, "%s: J must be an edge list {{i, j, Jij}, ...}, a symmetric %dx%d table or "
                   "a Tensor, got %s", where, n, n, luaL_typename(L, idx));
    }
    if (is_matrix) {
        double *J = scratch_n(L, (size_t)n * (size_t)n, sizeof(double), where);
        if (t) {
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    double v = qnn_tensor_get(t, (size_t)i, (size_t)j);
                    if (!isfinite(v))
                        lerr(L, "%s: J[%d][%d] must be finite, got %g", where, i + 1, j + 1, v);
                    J[(size_t)i * n + j] = v;
                }
        } else {
            for (int i = 0; i < n; i++) {
                lua_rawgeti(L, idx, i + 1);
                for (int j = 0; j < n; j++) {
                    lua_rawgeti(L, -1, j + 1);
                    J[(size_t)i * n + j] = finite_at(L, -1, "J", i + 1, j + 1);
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
        }
        for (int i = 0; i < n; i++) {
            if (J[(size_t)i * n + i] != 0.0)
                lerr(L, "%s: J[%d][%d] = %g but the diagonal must be 0 (s_i^2 = 1 is a "
                           "constant: use offset=)", where, i + 1, i + 1, J[(size_t)i * n + i]);
            for (int j = i + 1; j < n; j++) {
                double a = J[(size_t)i * n + j], b = J[(size_t)j * n + i];
                double tol = 1e-12 * fmax(fabs(a), fabs(b));
                if (fabs(a - b) > tol)
                    lerr(L, "%s: J must be symmetric, but J[%d][%d] = %.17g and J[%d][%d] = "
                               "%.17g (a matrix J means E = h.s + s^T J s / 2)", where, i + 1,
                               j + 1, a, j + 1, i + 1, b);
                if (a != 0.0) fail_status(L, qnn_ising_add_coupling(m, i, j, a, &e), &e, where);
            }
        }
        lua_pop(L, 1);
        return;
    }
    /* edge list */
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer k = 1; k <= len; k++) {
        if (lua_rawgeti(L, idx, k) != LUA_TTABLE || lua_rawlen(L, -1) != 3)
            lerr(L, "%s: J edge %d must be {i, j, Jij} (J is read as an edge list; a matrix "
                       "must be %dx%d)", where, (int)k, n, n);
        lua_Integer ij[2];
        for (int c = 0; c < 2; c++) {
            lua_rawgeti(L, -1, c + 1);
            int isint = 0;
            ij[c] = lua_tointegerx(L, -1, &isint);
            if (!isint || ij[c] < 1 || ij[c] > n)
                lerr(L, "%s: J edge %d: index %d must be an integer in [1, %d]", where,
                           (int)k, c + 1, n);
            lua_pop(L, 1);
        }
        if (ij[0] == ij[1])
            lerr(L, "%s: J edge %d couples spin %d to itself (s_i^2 = 1 is a constant: use "
                       "offset=)", where, (int)k, (int)ij[0]);
        lua_rawgeti(L, -1, 3);
        double w = finite_at(L, -1, "J edge", k, 3);
        lua_pop(L, 2);
        fail_status(L, qnn_ising_add_coupling(m, (int)ij[0] - 1, (int)ij[1] - 1, w, &e), &e, where);
    }
}

/* Adds h / J / offset fields of the table at t into m. */
static void add_terms(lua_State *L, int t, qnn_ising *m, const char *where) {
    qnn_error e = {0};
    if (lua_getfield(L, t, "h") != LUA_TNIL) {
        double *h = scratch_n(L, (size_t)m->n + 1, sizeof(double), where);
        read_vector(L, -2, m->n, h, "h");
        for (int i = 0; i < m->n; i++) fail_status(L, qnn_ising_add_field(m, i, h[i], &e), &e, where);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, t, "J") != LUA_TNIL) add_couplings(L, -1, m, where);
    lua_pop(L, 1);
    if (lua_getfield(L, t, "offset") != LUA_TNIL) {
        int ok = 0;
        double v = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(v)) lerr(L, "%s: offset must be a finite number", where);
        fail_status(L, qnn_ising_add_offset(m, v, &e), &e, where);
    }
    lua_pop(L, 1);
    fail_status(L, qnn_ising_prepare(m, &e), &e, where);
}

static int l_model(lua_State *L) {
    static const char *const allowed[] = {"n", "h", "J", "offset", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, allowed);
    lua_Integer n = -1;
    if (lua_getfield(L, 1, "n") != LUA_TNIL) n = qnn_lua_optfield_int(L, 1, "n", 0, 0, QNN_ISING_MAX_N);
    lua_pop(L, 1);
    if (n < 0) {
        /* infer from h or a matrix J */
        int top = lua_gettop(L);
        if (lua_getfield(L, 1, "h") != LUA_TNIL) {
            qnn_tensor *t = qnn_lua_testtensor(L, -1);
            n = t ? (lua_Integer)qnn_tensor_numel(t) : (lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : -1);
        }
        lua_pop(L, 1);
        if (n < 0 && lua_getfield(L, 1, "J") != LUA_TNIL) {
            qnn_tensor *t = qnn_lua_testtensor(L, -1);
            if (t && t->rows == t->cols) n = (lua_Integer)t->rows;
            if (!t && lua_istable(L, -1)) {
                /* a square table of rows that is not an edge list */
                lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
                int square = len > 0;
                for (lua_Integer k = 1; square && k <= len; k++) {
                    if (lua_rawgeti(L, -1, k) != LUA_TTABLE || (lua_Integer)lua_rawlen(L, -1) != len)
                        square = 0;
                    lua_pop(L, 1);
                }
                if (square && !(len == 3 && looks_like_edges(L, lua_gettop(L), 3))) n = len;
            }
        }
        lua_settop(L, top);
        if (n < 0)
            lerr(L, "qnn.ising.model: give n= (the number of spins), or h= / a matrix J= to "
                          "infer it");
        if (n > QNN_ISING_MAX_N) lerr(L, "qnn.ising.model: n must be <= %d", QNN_ISING_MAX_N);
    }
    lising *u = push_model(L);
    qnn_error e = {0};
    fail_status(L, qnn_ising_new(&u->m, (int)n, &e), &e, "qnn.ising.model");
    add_terms(L, 1, u->m, "qnn.ising.model");
    return 1;
}

/* ---------------- methods ---------------- */
static int m_n(lua_State *L) {
    lua_pushinteger(L, check_model(L, 1)->n);
    return 1;
}

static int m_energy(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    int8_t *s = scratch(L, (size_t)m->n + 1);
    read_spins(L, 2, m->n, s, "spins");
    double E;
    qnn_error e = {0};
    fail_status(L, qnn_ising_energy(m, s, &E, &e), &e, "Ising:energy");
    lua_pushnumber(L, E);
    return 1;
}

static int m_add(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    qnn_error e = {0};
    if (lua_istable(L, 2) && lua_gettop(L) == 2) {
        static const char *const allowed[] = {"h", "J", "offset", NULL};
        qnn_lua_checkopts(L, 2, allowed);
        add_terms(L, 2, m, "Ising:add");
    } else if (lua_gettop(L) == 3) {
        lua_Integer i = qnn_lua_checkint(L, 2, "i", 1, m->n);
        double v = qnn_lua_checkfinite(L, 3, "v");
        fail_status(L, qnn_ising_add_field(m, (int)i - 1, v, &e), &e, "Ising:add");
    } else if (lua_gettop(L) == 4) {
        lua_Integer i = qnn_lua_checkint(L, 2, "i", 1, m->n);
        lua_Integer j = qnn_lua_checkint(L, 3, "j", 1, m->n);
        if (i == j) qnn_lua_argerror(L, 3, "j", "must differ from i (%d): s_i^2 = 1 is a constant", (int)i);
        double v = qnn_lua_checkfinite(L, 4, "v");
        fail_status(L, qnn_ising_add_coupling(m, (int)i - 1, (int)j - 1, v, &e), &e, "Ising:add");
    } else {
        lerr(L, "Ising:add: expected (i, v), (i, j, v) or {h=, J=, offset=}");
    }
    lua_settop(L, 1);
    return 1;
}

static int m_edges(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    qnn_error e = {0};
    fail_status(L, qnn_ising_prepare(m, &e), &e, "Ising:edges");
    lua_createtable(L, (int)m->ne, 0);
    for (size_t k = 0; k < m->ne; k++) {
        lua_createtable(L, 3, 0);
        lua_pushinteger(L, m->e[k].i + 1);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, m->e[k].j + 1);
        lua_rawseti(L, -2, 2);
        lua_pushnumber(L, m->e[k].w);
        lua_rawseti(L, -2, 3);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    return 1;
}

static int m_fields(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    lua_createtable(L, m->n, 0);
    for (int i = 0; i < m->n; i++) {
        lua_pushnumber(L, m->h[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_offset(lua_State *L) {
    lua_pushnumber(L, check_model(L, 1)->offset);
    return 1;
}

static int m_copy(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    lising *u = push_model(L);
    qnn_error e = {0};
    fail_status(L, qnn_ising_copy(&u->m, m, &e), &e, "Ising:copy");
    return 1;
}

static int m_to_qubo(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    int n = m->n;
    double *Q = scratch_n(L, (size_t)n * (size_t)n + 1, sizeof(double), "Ising:to_qubo");
    double off;
    qnn_error e = {0};
    fail_status(L, qnn_ising_to_qubo(m, Q, &off, &e), &e, "Ising:to_qubo");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, n, 0);
        for (int j = 0; j < n; j++) {
            lua_pushnumber(L, Q[(size_t)i * n + j]);
            lua_rawseti(L, -2, j + 1);
        }
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushnumber(L, off);
    return 2;
}

static int m_ground_state(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    static const char *const allowed[] = {"progress", NULL};
    int has = qnn_lua_checkopts(L, 2, allowed);
    if (m->n > QNN_ISING_MAX_GROUND)
        lerr(L, "Ising:ground_state: exhaustive enumeration needs n <= %d spins, the model "
                      "has %d", QNN_ISING_MAX_GROUND, m->n);
    int8_t *s = scratch(L, (size_t)m->n + 1);
    qnn_ising_ground g = {0};
    g.spins = s;
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, has ? 2 : 0, "ground state");
    qnn_error e = {0};
    int rc = qnn_ising_ground_state(m, &g, &pr.cb, &e);
    qnn_lua_progress_done(&pr);
    fail_status(L, rc, &e, "Ising:ground_state");
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, g.energy);
    lua_setfield(L, -2, "energy");
    push_spins(L, s, m->n);
    lua_setfield(L, -2, "spins");
    lua_pushinteger(L, (lua_Integer)g.degeneracy);
    lua_setfield(L, -2, "degeneracy");
    return 1;
}

static int m_clamp(lua_State *L) {
    qnn_ising *m = check_model(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    int k = (int)lua_rawlen(L, 2);
    if ((int)lua_rawlen(L, 3) != k)
        qnn_lua_argerror(L, 3, "values", "must have as many entries as indices (%d), got %d", k,
                         (int)lua_rawlen(L, 3));
    if (k > m->n) qnn_lua_argerror(L, 2, "indices", "has %d entries, the model only %d spins", k, m->n);
    int *idx = scratch_n(L, (size_t)k + 1, sizeof(int), "Ising:clamp");
    int8_t *vals = scratch(L, (size_t)k + 1);
    for (int t = 0; t < k; t++) {
        lua_rawgeti(L, 2, t + 1);
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < 1 || v > m->n)
            qnn_lua_argerror(L, 2, "indices", "entry %d must be an integer in [1, %d]", t + 1, m->n);
        idx[t] = (int)v - 1;
        lua_pop(L, 1);
    }
    read_spins(L, 3, k, vals, "values");
    int *map = scratch_n(L, (size_t)m->n + 1, sizeof(int), "Ising:clamp");
    lising *u = push_model(L);
    qnn_error e = {0};
    fail_status(L, qnn_ising_clamp(m, idx, vals, k, &u->m, map, &e), &e, "Ising:clamp");
    lua_createtable(L, m->n, 0);
    for (int i = 0; i < m->n; i++) {
        if (map[i] >= 0) {
            lua_pushinteger(L, map[i] + 1);
            lua_rawseti(L, -2, i + 1);
        }
    }
    return 2;
}

static int m_tostring(lua_State *L) {
    lising *u = (lising *)luaL_checkudata(L, 1, ISING_T);
    if (!u->m) {
        lua_pushliteral(L, "qnn.Ising(closed)");
        return 1;
    }
    qnn_ising_prepare(u->m, NULL);
    lua_pushfstring(L, "qnn.Ising(n=%d, couplings=%d, offset=%f)", u->m->n, (int)u->m->ne,
                    u->m->offset);
    return 1;
}

static int m_gc(lua_State *L) {
    lising *u = (lising *)luaL_checkudata(L, 1, ISING_T);
    qnn_ising_free(u->m);
    u->m = NULL;
    return 0;
}

/* ---------------- QUBO ---------------- */
static int l_from_qubo(lua_State *L) {
    double off = qnn_lua_optnum(L, 2, "offset", 0.0, -HUGE_VAL, HUGE_VAL);
    int pushed = 0;
    qnn_tensor *Q = qnn_lua_totensor(L, 1, "Q", &pushed);
    if (Q->rows != Q->cols || (Q->ndim == 1 && Q->cols != 1))
        qnn_lua_argerror(L, 1, "Q", "must be a square matrix, got %dx%d", (int)Q->rows, (int)Q->cols);
    int n = (int)Q->rows;
    if (n > 1 << 15) qnn_lua_argerror(L, 1, "Q", "must have at most %d rows", 1 << 15);
    double *q = scratch_n(L, (size_t)n * (size_t)n + 1, sizeof(double), "qnn.ising.from_qubo");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = qnn_tensor_get(Q, (size_t)i, (size_t)j);
            if (!isfinite(v)) qnn_lua_argerror(L, 1, "Q", "entry [%d][%d] must be finite", i + 1, j + 1);
            q[(size_t)i * n + j] = v;
        }
    lising *u = push_model(L);
    qnn_error e = {0};
    fail_status(L, qnn_ising_from_qubo(q, n, off, &u->m, &e), &e, "qnn.ising.from_qubo");
    return 1;
}

/* ---------------- schedules ---------------- */
/* Calls schedule method `name` (table: sched:name(x); function: f(x)) and checks the value. */
static double sched_call(lua_State *L, int sidx, const char *name, double x, double lo,
                         double hi, const char *where) {
    if (lua_isfunction(L, sidx)) {
        lua_pushvalue(L, sidx);
        lua_pushnumber(L, x);
        lua_call(L, 1, 1);
    } else {
        lua_getfield(L, sidx, name);
        lua_pushvalue(L, sidx);
        lua_pushnumber(L, x);
        lua_call(L, 2, 1);
    }
    int ok = 0;
    double v = lua_tonumberx(L, -1, &ok);
    if (!ok || !isfinite(v) || v < lo || v > hi) {
        char got[64];
        if (ok) snprintf(got, sizeof got, "%g", v);
        else snprintf(got, sizeof got, "%s", luaL_typename(L, -1));
        if (isinf(hi))
            lerr(L, "%s: schedule %s(%g) returned %s (must be a finite number >= %g)", where,
                 name, x, got, lo);
        lerr(L, "%s: schedule %s(%g) returned %s (must be a finite number in [%g, %g])", where,
             name, x, got, lo, hi);
    }
    lua_pop(L, 1);
    return v;
}

static int sched_has(lua_State *L, int sidx, const char *name) {
    if (!lua_istable(L, sidx)) return 0;
    int t = lua_getfield(L, sidx, name);
    lua_pop(L, 1);
    if (t != LUA_TNIL && t != LUA_TFUNCTION && !(t == LUA_TTABLE || t == LUA_TUSERDATA))
        lerr(L, "schedule field '%s' must be a function (method)", name);
    return t != LUA_TNIL;
}

/* a table whose own fields define beta but no path/curves: an SA schedule */
static int is_beta_only(lua_State *L, int sidx) {
    if (!lua_istable(L, sidx)) return 0;
    int r = 0;
    if (lua_getfield(L, sidx, "beta") != LUA_TNIL) {
        r = 1;
        static const char *const own[] = {"s", "A", "B"};
        for (int k = 0; k < 3; k++) {
            lua_pushstring(L, own[k]);
            if (lua_rawget(L, sidx) != LUA_TNIL) r = 0;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return r;
}

static void check_sched_type(lua_State *L, int sidx, const char *where) {
    if (!lua_isfunction(L, sidx) && !lua_istable(L, sidx))
        lerr(L, "%s: schedule must be a function or a table with :s/:A/:B (or :beta) "
                      "methods, got %s", where, luaL_typename(L, sidx));
}

/* s, A, B at t for a path/curve schedule at sidx (0 = default linear). */
static void sched_sab(lua_State *L, int sidx, double t, double *s, double *A, double *B,
                      const char *where) {
    if (sidx == 0) {
        *s = t;
        *A = 1 - t;
        *B = t;
        return;
    }
    if (lua_isfunction(L, sidx)) {
        *s = sched_call(L, sidx, "s", t, 0.0, 1.0, where);
        *A = 1 - *s;
        *B = *s;
        return;
    }
    *s = sched_has(L, sidx, "s") ? sched_call(L, sidx, "s", t, 0.0, 1.0, where) : t;
    *A = sched_has(L, sidx, "A") ? sched_call(L, sidx, "A", *s, 0.0, HUGE_VAL, where) : 1 - *s;
    *B = sched_has(L, sidx, "B") ? sched_call(L, sidx, "B", *s, 0.0, HUGE_VAL, where) : *s;
}

static double sweep_t(int k, int K) { return K <= 1 ? 1.0 : (double)k / (double)(K - 1); }

/* ---------------- result tables ---------------- */
typedef struct sort_ctx {
    const double *E;
    const int8_t *S;
    int n;
} sort_ctx;

static int cmp_reads(const void *a, const void *b, void *ud) {
    const sort_ctx *c = ud;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (c->E[x] < c->E[y]) return -1;
    if (c->E[x] > c->E[y]) return 1;
    return memcmp(c->S + x * (size_t)c->n, c->S + y * (size_t)c->n, (size_t)c->n);
}

/* simple merge sort with context (qsort_r is not C11) */
static void msort(size_t *a, size_t *tmp, size_t n, const sort_ctx *c) {
    if (n < 2) return;
    size_t h = n / 2;
    msort(a, tmp, h, c);
    msort(a + h, tmp, n - h, c);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp_reads(&a[j], &a[i], (void *)c) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* Pushes the result list (distinct states sorted by energy, with counts). */
static void push_distinct(lua_State *L, const double *E, const int8_t *S, int reads, int n) {
    size_t *ord = scratch_n(L, (size_t)reads, sizeof(size_t), "sample");
    size_t *tmp = scratch_n(L, (size_t)reads, sizeof(size_t), "sample");
    for (int r = 0; r < reads; r++) ord[r] = (size_t)r;
    sort_ctx c = {E, S, n};
    msort(ord, tmp, (size_t)reads, &c);
    lua_createtable(L, 8, 8);
    int res = lua_gettop(L);
    int distinct = 0;
    for (int r = 0; r < reads;) {
        int q = r + 1;
        while (q < reads && cmp_reads(&ord[r], &ord[q], &c) == 0) q++;
        lua_createtable(L, 0, 3);
        lua_pushnumber(L, E[ord[r]]);
        lua_setfield(L, -2, "energy");
        push_spins(L, S + ord[r] * (size_t)n, n);
        lua_setfield(L, -2, "spins");
        lua_pushinteger(L, q - r);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, res, ++distinct);
        r = q;
    }
    lua_remove(L, res - 1); /* tmp */
    lua_remove(L, res - 2); /* ord */
}

static void setnum(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}
static void setint(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}
static void setstr(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* ---------------- samplers ---------------- */
static const char *const SAMPLE_OPTS[] = {
    "sampler", "reads", "sweeps", "schedule", "seed", "rng", "beta_range", "slices", "beta",
    "gamma", "readout", "T", "steps", "initial_state", "progress", "top", "min_prob",
    "lambda", "budget", NULL};

static int opt_sched(lua_State *L, int o, const char *where) {
    if (o == 0) return 0;
    lua_getfield(L, o, "schedule");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    check_sched_type(L, lua_gettop(L), where);
    return lua_gettop(L); /* stays on the stack */
}

static const int8_t *opt_init(lua_State *L, int o, int n, const char *where) {
    if (o == 0) return NULL;
    lua_getfield(L, o, "initial_state");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    int8_t *s = scratch(L, (size_t)n + 1);
    read_spins(L, -2, n, s, "initial_state");
    (void)where;
    lua_remove(L, -2);
    return s; /* scratch stays on the stack */
}

static int sample_sa(lua_State *L, qnn_ising *m, int o) {
    const char *W = "qnn.ising.sample(sa)";
    int reads = (int)qnn_lua_optfield_int(L, o, "reads", 10, 1, 1 << 24);
    int sweeps = (int)qnn_lua_optfield_int(L, o, "sweeps", 1000, 1, 1 << 28);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, o, &local);
    const int8_t *init = opt_init(L, o, m->n, W);
    int sidx = opt_sched(L, o, W);
    double *betas = scratch_n(L, (size_t)sweeps, sizeof(double), W);
    double b0 = 0, b1 = 0;
    if (sidx && lua_istable(L, sidx) && !sched_has(L, sidx, "beta")) {
        /* explicit array of betas */
        if ((int)lua_rawlen(L, sidx) != sweeps)
            lerr(L, "%s: a schedule table for sa needs a :beta(t) method or exactly sweeps "
                          "(%d) numbers, got %d entries", W, sweeps, (int)lua_rawlen(L, sidx));
        for (int k = 0; k < sweeps; k++) {
            lua_rawgeti(L, sidx, k + 1);
            int ok = 0;
            double v = lua_tonumberx(L, -1, &ok);
            if (!ok || !isfinite(v) || v < 0)
                lerr(L, "%s: schedule[%d] must be a finite number >= 0 (an inverse "
                              "temperature)", W, k + 1);
            betas[k] = v;
            lua_pop(L, 1);
        }
    } else if (sidx) {
        for (int k = 0; k < sweeps; k++)
            betas[k] = sched_call(L, sidx, "beta", sweep_t(k, sweeps), 0.0, HUGE_VAL, W);
    } else {
        /* default: geometric from beta_range or from the coupling scale */
        double dmin, dmax;
        qnn_ising_delta_range(m, &dmin, &dmax);
        b0 = dmax > 0 ? log(2.0) / dmax : 0.1;
        b1 = dmin > 0 ? log(100.0) / dmin : 1.0;
        if (o && lua_getfield(L, o, "beta_range") != LUA_TNIL) {
            if (!lua_istable(L, -1) || lua_rawlen(L, -1) != 2)
                lerr(L, "%s: beta_range must be {beta_hot, beta_cold}", W);
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            int ok0 = 0, ok1 = 0;
            b0 = lua_tonumberx(L, -2, &ok0);
            b1 = lua_tonumberx(L, -1, &ok1);
            if (!ok0 || !ok1 || !(b0 > 0) || !(b1 > 0) || !isfinite(b0) || !isfinite(b1))
                lerr(L, "%s: beta_range entries must be finite numbers > 0", W);
            lua_pop(L, 2);
        }
        if (o) lua_pop(L, 1);
        if (b1 < b0) b1 = b0;
        for (int k = 0; k < sweeps; k++) betas[k] = b0 * pow(b1 / b0, sweep_t(k, sweeps));
    }
    int8_t *S = scratch_n(L, (size_t)reads * (size_t)m->n + 1, 1, W);
    double *E = scratch_n(L, (size_t)reads, sizeof(double), W);
    qnn_ising_stats st;
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, o, "sa");
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_ising_sa(m, betas, sweeps, reads, rng, init, S, E, &st, &pr.cb, &e);
    double el = now() - t0;
    qnn_lua_progress_done(&pr);
    fail_status(L, rc, &e, W);
    push_distinct(L, E, S, reads, m->n);
    setstr(L, "sampler", "sa");
    setnum(L, "time", el);
    setint(L, "sweeps", sweeps);
    setint(L, "reads", reads);
    setnum(L, "flip_attempts", st.flip_attempts);
    setnum(L, "flips", st.flips);
    setnum(L, "ns_per_attempt", st.flip_attempts > 0 ? 1e9 * el / st.flip_attempts : 0);
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, betas[0]);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, betas[sweeps - 1]);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "beta_range");
    return 1;
}

static int sample_sqa(lua_State *L, qnn_ising *m, int o) {
    const char *W = "qnn.ising.sample(sqa)";
    static const char *const READOUTS[] = {"best", "last", NULL};
    int reads = (int)qnn_lua_optfield_int(L, o, "reads", 10, 1, 1 << 24);
    int sweeps = (int)qnn_lua_optfield_int(L, o, "sweeps", 1000, 1, 1 << 28);
    int P = (int)qnn_lua_optfield_int(L, o, "slices", 16, 2, 4096);
    double scale = qnn_ising_scale(m);
    double beta = qnn_lua_optfield_num(L, o, "beta", (double)P / scale, 1e-300, HUGE_VAL);
    double gamma = qnn_lua_optfield_num(L, o, "gamma", 3.0 * scale, 0.0, HUGE_VAL);
    int readout = qnn_lua_optfield_choice(L, o, "readout", READOUTS, 0);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, o, &local);
    const int8_t *init = opt_init(L, o, m->n, W);
    int sidx = opt_sched(L, o, W);
    if (sidx && is_beta_only(L, sidx))
        lerr(L, "%s: this is a beta schedule (for sa); sqa needs a path s(t) or :A/:B curves", W);
    double *G = scratch_n(L, (size_t)sweeps, sizeof(double), W);
    double *B = scratch_n(L, (size_t)sweeps, sizeof(double), W);
    for (int k = 0; k < sweeps; k++) {
        double s, a, b;
        sched_sab(L, sidx, sweep_t(k, sweeps), &s, &a, &b, W);
        G[k] = gamma * a;
        B[k] = b;
    }
    int8_t *S = scratch_n(L, (size_t)reads * (size_t)m->n + 1, 1, W);
    double *E = scratch_n(L, (size_t)reads, sizeof(double), W);
    qnn_ising_stats st;
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, o, "sqa");
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_ising_sqa(m, G, B, sweeps, P, beta, reads, readout, rng, init, S, E, &st,
                           &pr.cb, &e);
    double el = now() - t0;
    qnn_lua_progress_done(&pr);
    fail_status(L, rc, &e, W);
    push_distinct(L, E, S, reads, m->n);
    setstr(L, "sampler", "sqa");
    setnum(L, "time", el);
    setint(L, "sweeps", sweeps);
    setint(L, "reads", reads);
    setint(L, "slices", P);
    setnum(L, "beta", beta);
    setnum(L, "gamma", gamma);
    setstr(L, "readout", READOUTS[readout]);
    setnum(L, "flip_attempts", st.flip_attempts);
    setnum(L, "flips", st.flips);
    setnum(L, "worldline_attempts", st.global_attempts);
    setnum(L, "worldline_flips", st.global_flips);
    setnum(L, "ns_per_update", st.flip_attempts > 0 ? 1e9 * el / st.flip_attempts : 0);
    return 1;
}

typedef struct prob_ctx {
    const double *E, *P;
} prob_ctx;

static int cmp_state(size_t x, size_t y, const prob_ctx *c) {
    if (c->E[x] < c->E[y]) return -1;
    if (c->E[x] > c->E[y]) return 1;
    if (c->P[x] > c->P[y]) return -1;
    if (c->P[x] < c->P[y]) return 1;
    return x < y ? -1 : (x > y);
}

static void msort_states(size_t *a, size_t *tmp, size_t n, const prob_ctx *c) {
    if (n < 2) return;
    size_t h = n / 2;
    msort_states(a, tmp, h, c);
    msort_states(a + h, tmp, n - h, c);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp_state(a[j], a[i], c) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static void push_index_spins(lua_State *L, size_t x, int n) {
    lua_createtable(L, n, 0);
    for (int q = 0; q < n; q++) {
        lua_pushinteger(L, (x >> q) & 1 ? -1 : 1);
        lua_rawseti(L, -2, q + 1);
    }
}

static int sample_exact(lua_State *L, qnn_ising *m, int o) {
    const char *W = "qnn.ising.sample(exact)";
    if (m->n < 1 || m->n > QNN_ISING_MAX_EXACT)
        lerr(L, "%s: coherent annealing needs 1 <= n <= %d spins, the model has %d", W,
                   QNN_ISING_MAX_EXACT, m->n);
    double T = qnn_lua_optfield_num(L, o, "T", 10.0, 0.0, 1e12);
    int steps = (int)qnn_lua_optfield_int(L, o, "steps", 1000, 1, 1 << 26);
    int reads = (int)qnn_lua_optfield_int(L, o, "reads", 0, 0, 1 << 26);
    int top = (int)qnn_lua_optfield_int(L, o, "top", 64, 1, 1 << 24);
    double minp = qnn_lua_optfield_num(L, o, "min_prob", 1e-9, 0.0, 1.0);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, o, &local);
    const int8_t *init = opt_init(L, o, m->n, W);
    long long init_index = -1;
    if (init) {
        init_index = 0;
        for (int q = 0; q < m->n; q++)
            if (init[q] < 0) init_index |= 1LL << q;
    }
    int sidx = opt_sched(L, o, W);
    if (sidx && is_beta_only(L, sidx))
        lerr(L, "%s: this is a beta schedule (for sa); exact needs a path s(t) or :A/:B "
                      "curves", W);
    double *A = scratch_n(L, (size_t)steps, sizeof(double), W);
    double *B = scratch_n(L, (size_t)steps, sizeof(double), W);
    for (int k = 0; k < steps; k++) {
        double s;
        sched_sab(L, sidx, ((double)k + 0.5) / steps, &s, &A[k], &B[k], W);
    }
    size_t N = (size_t)1 << m->n;
    double *P = scratch_n(L, N, sizeof(double), W);
    double *E = scratch_n(L, N, sizeof(double), W);
    qnn_lua_progress pr;
    qnn_lua_progress_init(L, &pr, o, "exact anneal");
    qnn_error e = {0};
    double t0 = now();
    int rc = qnn_ising_exact_anneal(m, A, B, steps, T, init_index, P, E, &pr.cb, &e);
    double el = now() - t0;
    qnn_lua_progress_done(&pr);
    fail_status(L, rc, &e, W);
    /* ground manifold */
    double emin = INFINITY, emax = -INFINITY;
    for (size_t x = 0; x < N; x++) {
        if (E[x] < emin) emin = E[x];
        if (E[x] > emax) emax = E[x];
    }
    double tol = 1e-9 * fmax(1.0, fmax(fabs(emin), fabs(emax)));
    double pg = 0;
    size_t ng = 0;
    for (size_t x = 0; x < N; x++)
        if (E[x] <= emin + tol) {
            pg += P[x];
            ng++;
        }
    /* optional shots */
    uint64_t *cnt = NULL;
    if (reads > 0) {
        cnt = scratch_n(L, N, sizeof(uint64_t), W);
        double *cdf = scratch_n(L, N, sizeof(double), W);
        double acc = 0;
        for (size_t x = 0; x < N; x++) cdf[x] = (acc += P[x]);
        for (int r = 0; r < reads; r++) {
            double u = qnn_rng_uniform(rng) * acc;
            size_t lo = 0, hi = N - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cdf[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            cnt[lo]++;
        }
    }
    /* the `top` most probable states with prob >= min_prob (plus every sampled state) */
    size_t *ord = scratch_n(L, N, sizeof(size_t), W);
    size_t *tmp = scratch_n(L, N, sizeof(size_t), W);
    size_t kept = 0;
    {
        /* select by probability: sort all by prob descending via prob_ctx with E = -P trick */
        double *negP = scratch_n(L, N, sizeof(double), W);
        for (size_t x = 0; x < N; x++) {
            negP[x] = -P[x];
            ord[x] = x;
        }
        prob_ctx pc = {negP, P};
        msort_states(ord, tmp, N, &pc);
        for (size_t r = 0; r < N; r++) {
            size_t x = ord[r];
            int take = (kept < (size_t)top && P[x] >= minp) || (cnt && cnt[x] > 0);
            if (take) tmp[kept++] = x;
        }
        memcpy(ord, tmp, kept * sizeof *ord);
        lua_pop(L, 1);
        prob_ctx ec = {E, P};
        msort_states(ord, tmp, kept, &ec);
    }
    lua_createtable(L, (int)kept, 16);
    for (size_t r = 0; r < kept; r++) {
        size_t x = ord[r];
        lua_createtable(L, 0, 4);
        lua_pushnumber(L, E[x]);
        lua_setfield(L, -2, "energy");
        push_index_spins(L, x, m->n);
        lua_setfield(L, -2, "spins");
        lua_pushnumber(L, P[x]);
        lua_setfield(L, -2, "prob");
        lua_pushinteger(L, cnt ? (lua_Integer)cnt[x] : 0);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    setstr(L, "sampler", "exact");
    setnum(L, "time", el);
    setnum(L, "T", T);
    setint(L, "steps", steps);
    setint(L, "sweeps", steps);
    setint(L, "reads", reads);
    setnum(L, "flip_attempts", 0);
    setnum(L, "p_ground", pg);
    setnum(L, "ground_energy", emin);
    setint(L, "ground_degeneracy", (lua_Integer)ng);
    return 1;
}

static int sample_grover(lua_State *L, qnn_ising *m, int o) {
    const char *W = "qnn.ising.sample(grover)";
    if (m->n < 1 || m->n > 16)
        lerr(L, "%s: Durr-Hoyer search over 2^n states needs 1 <= n <= 16 spins, the model "
                      "has %d", W, m->n);
    int reads = (int)qnn_lua_optfield_int(L, o, "reads", 1, 1, 1 << 20);
    double lambda = qnn_lua_optfield_num(L, o, "lambda", 0.0, 0.0, 100.0);
    double budget = qnn_lua_optfield_num(L, o, "budget", 0.0, 0.0, 1e15);
    if (lambda != 0.0 && !(lambda > 1.0))
        lerr(L, "%s: lambda must be > 1 (BBHT growth factor), got %f", W, lambda);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, o, &local);
    size_t N = (size_t)1 << m->n;
    double *E = scratch_n(L, N, sizeof(double), W);
    qnn_error e = {0};
    fail_status(L, qnn_ising_energies(m, E, NULL, &e), &e, W);
    int8_t *S = scratch_n(L, (size_t)reads * (size_t)m->n + 1, 1, W);
    double *Er = scratch_n(L, (size_t)reads, sizeof(double), W);
    qnn_grover_min_opts go = {0};
    go.n = m->n;
    go.lambda = lambda;
    go.budget = budget;
    double queries = 0, rounds = 0, evals = 0;
    double t0 = now();
    for (int r = 0; r < reads; r++) {
        qnn_grover_min_result res;
        memset(&res, 0, sizeof res);
        qnn_rng child;
        qnn_rng_split(rng, (uint64_t)r, &child);
        int rc = qnn_grover_minimum(E, N, &go, NULL, &child, &res, &e);
        fail_status(L, rc, &e, W);
        for (int q = 0; q < m->n; q++) S[(size_t)r * m->n + q] = (res.index >> q) & 1 ? -1 : 1;
        Er[r] = E[res.index];
        queries += (double)res.queries;
        rounds += (double)res.rounds;
        evals += (double)res.evaluations;
        if (qnn_interrupt_pending()) fail_status(L, QNN_EINTR, NULL, W);
    }
    double el = now() - t0;
    push_distinct(L, Er, S, reads, m->n);
    setstr(L, "sampler", "grover");
    setnum(L, "time", el);
    setint(L, "reads", reads);
    setint(L, "sweeps", 0);
    setnum(L, "flip_attempts", 0);
    setnum(L, "queries", queries);
    setnum(L, "queries_per_read", queries / reads);
    setnum(L, "rounds", rounds);
    setnum(L, "evaluations", evals);
    return 1;
}

static int l_sample(lua_State *L) {
    static const char *const SAMPLERS[] = {"sa", "sqa", "exact", "grover", NULL};
    qnn_ising *m = check_model(L, 1);
    int has = qnn_lua_checkopts(L, 2, SAMPLE_OPTS);
    int o = has ? 2 : 0;
    int which = qnn_lua_optfield_choice(L, o, "sampler", SAMPLERS, 0);
    qnn_error e = {0};
    fail_status(L, qnn_ising_prepare(m, &e), &e, "qnn.ising.sample");
    switch (which) {
    case 0: return sample_sa(L, m, o);
    case 1: return sample_sqa(L, m, o);
    case 2: return sample_exact(L, m, o);
    default: return sample_grover(L, m, o);
    }
}

/* ---------------- spectrum and gaps ---------------- */
static void check_spectrum_n(lua_State *L, qnn_ising *m, const char *where) {
    if (m->n < 1 || m->n > QNN_ISING_MAX_SPECTRUM)
        lerr(L, "%s: the dense spectrum needs 1 <= n <= %d spins, the model has %d", where,
                   QNN_ISING_MAX_SPECTRUM, m->n);
}

static int l_spectrum(lua_State *L) {
    const char *W = "qnn.ising.spectrum";
    qnn_ising *m = check_model(L, 1);
    check_spectrum_n(L, m, W);
    double s = qnn_lua_checknum(L, 2, "s", 0.0, 1.0);
    lua_Integer N = (lua_Integer)1 << m->n;
    int k = (int)qnn_lua_optint(L, 3, "k", 2 < N ? 2 : N, 1, N);
    static const char *const allowed[] = {"A", "B", "schedule", NULL};
    int has = qnn_lua_checkopts(L, 4, allowed);
    int o = has ? 4 : 0;
    int sidx = opt_sched(L, o, W);
    double A, B;
    if (sidx) {
        /* s is the anneal parameter: curves A(s), B(s) of the schedule (its path is not used) */
        if (lua_isfunction(L, sidx)) {
            A = 1 - s;
            B = s;
        } else {
            A = sched_has(L, sidx, "A") ? sched_call(L, sidx, "A", s, 0.0, HUGE_VAL, W) : 1 - s;
            B = sched_has(L, sidx, "B") ? sched_call(L, sidx, "B", s, 0.0, HUGE_VAL, W) : s;
        }
    } else {
        A = 1 - s;
        B = s;
    }
    A = qnn_lua_optfield_num(L, o, "A", A, 0.0, HUGE_VAL);
    B = qnn_lua_optfield_num(L, o, "B", B, 0.0, HUGE_VAL);
    double *w = scratch_n(L, (size_t)k, sizeof(double), W);
    qnn_error e = {0};
    fail_status(L, qnn_ising_spectrum(m, A, B, k, w, &e), &e, W);
    lua_createtable(L, k, 0);
    for (int i = 0; i < k; i++) {
        lua_pushnumber(L, w[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_min_gap(lua_State *L) {
    const char *W = "qnn.ising.min_gap";
    qnn_ising *m = check_model(L, 1);
    check_spectrum_n(L, m, W);
    int sidx = 0;
    if (!lua_isnoneornil(L, 2)) {
        check_sched_type(L, 2, W);
        sidx = 2;
    }
    static const char *const allowed[] = {"points", "levels", "tol", "progress", NULL};
    static const char *const LEVELS[] = {"above_ground", "first", NULL};
    int has = qnn_lua_checkopts(L, 3, allowed);
    int o = has ? 3 : 0;
    int points = (int)qnn_lua_optfield_int(L, o, "points", 51, 2, 100000);
    int mode = qnn_lua_optfield_choice(L, o, "levels", LEVELS, 0);
    double tolr = qnn_lua_optfield_num(L, o, "tol", 1e-8, 0.0, 1.0);
    int k = m->n <= 10 ? 12 : 6;
    if (k > (1 << m->n)) k = 1 << m->n;
    double *w = scratch_n(L, (size_t)k, sizeof(double), W);
    lua_createtable(L, 0, 4);
    int res = lua_gettop(L);
    lua_createtable(L, points, 0);
    int curve = lua_gettop(L);
    double best = INFINITY, best_s = 0, best_t = 0;
    qnn_error e = {0};
    for (int p = 0; p < points; p++) {
        double t = (double)p / (points - 1), s, A, B;
        sched_sab(L, sidx, t, &s, &A, &B, W);
        fail_status(L, qnn_ising_spectrum(m, A, B, k, w, &e), &e, W);
        double tol = tolr * fmax(1.0, fabs(w[0]));
        double gap = NAN;
        if (mode == 1) gap = k > 1 ? w[1] - w[0] : NAN;
        else
            for (int i = 1; i < k; i++)
                if (w[i] - w[0] > tol) {
                    gap = w[i] - w[0];
                    break;
                }
        lua_createtable(L, 0, 6);
        setnum(L, "t", t);
        setnum(L, "s", s);
        setnum(L, "A", A);
        setnum(L, "B", B);
        setnum(L, "e0", w[0]);
        if (k > 1) setnum(L, "e1", w[1]);
        if (!isnan(gap)) setnum(L, "gap", gap);
        lua_rawseti(L, curve, p + 1);
        if (!isnan(gap) && gap < best) {
            best = gap;
            best_s = s;
            best_t = t;
        }
        if (qnn_interrupt_pending()) fail_status(L, QNN_EINTR, NULL, W);
    }
    lua_setfield(L, res, "curve");
    if (isinf(best)) {
        lua_pushnil(L);
        lua_setfield(L, res, "gap");
    } else {
        setnum(L, "gap", best);
    }
    setnum(L, "s", best_s);
    setnum(L, "t", best_t);
    setstr(L, "levels", LEVELS[mode]);
    return 1;
}

/* ---------------- registration ---------------- */
static const qnn_lua_reg methods[] = {
    {"n", m_n, "Ising:n() -> integer", "Returns the number of spins."},
    {"energy", m_energy, "Ising:energy(spins) -> number",
     "spins: table or Tensor of n values, each -1 or +1.\nReturns E(s) = offset + sum_i h_i s_i + "
     "sum_{i<j} J_ij s_i s_j."},
    {"add", m_add, "Ising:add(i, v) | Ising:add(i, j, v) | Ising:add{h=, J=, offset=} -> self",
     "i, j: spin indices in [1, n], i ~= j; v: finite number. Adds v to h_i, to J_ij, or adds "
     "whole terms given as for qnn.ising.model. Duplicate couplings are summed."},
    {"edges", m_edges, "Ising:edges() -> {{i, j, Jij}, ...}",
     "Returns the nonzero couplings, coalesced, i < j, sorted by (i, j)."},
    {"fields", m_fields, "Ising:fields() -> {h_1, ..., h_n}", "Returns the fields h."},
    {"offset", m_offset, "Ising:offset() -> number", "Returns the constant energy offset."},
    {"copy", m_copy, "Ising:copy() -> Ising", "Returns an independent copy."},
    {"to_qubo", m_to_qubo, "Ising:to_qubo() -> Q, offset",
     "Returns an upper-triangular n x n table Q and offset with E(s) = offset + x^T Q x for "
     "x = (1 + s)/2 (exact for dyadic coefficients)."},
    {"ground_state", m_ground_state, "Ising:ground_state([{progress=}]) -> {energy=, spins=, degeneracy=}",
     "n <= 30. Exhaustive Gray-code enumeration of all 2^n states with incremental energy "
     "updates (O(2^n * degree)); Ctrl-C interrupts. degeneracy counts states within 1e-9 * "
     "sum|coefficients| of the minimum."},
    {"clamp", m_clamp, "Ising:clamp(indices, values) -> Ising, map",
     "indices: spin indices in [1, n]; values: the same number of -1/+1. Returns the reduced "
     "model of the free spins (couplings to clamped spins become fields, clamped terms go to "
     "the offset, so energies agree) and map[old index] = new index (nil when clamped)."},
    {NULL, NULL, NULL, NULL}};

static const luaL_Reg meta[] = {
    {"__tostring", m_tostring}, {"__gc", m_gc}, {"__close", m_gc}, {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"model", l_model, "qnn.ising.model{n=, h=, J=, offset=} -> Ising",
     "n: spins in [0, 2^26] (inferred from h or a matrix J when absent); h: n numbers (table "
     "or Tensor); J: edge list {{i, j, Jij}, ...} (1-based, i ~= j, duplicates summed) or a "
     "symmetric n x n table/Tensor with zero diagonal (then E uses J_ij once per pair: "
     "E = offset + h.s + s^T J s / 2); offset: number. Energy: E(s) = offset + sum_i h_i s_i + "
     "sum_{i<j} J_ij s_i s_j, s_i = -1 or +1. Asymmetric, NaN or infinite entries raise errors."},
    {"from_qubo", l_from_qubo, "qnn.ising.from_qubo(Q [, offset=0]) -> Ising",
     "Q: square matrix (table or Tensor, any, not necessarily symmetric), finite entries. "
     "Returns the Ising model with E(s) = offset + x^T Q x at x = (1 + s)/2 (the constant is "
     "kept in the model's offset)."},
    {"sample", l_sample, "qnn.ising.sample(model, {sampler=, reads=, sweeps=, schedule=, seed=, ...}) -> result",
     "sampler: \"sa\" (default), \"sqa\", \"exact\" or \"grover\". Common: reads (>= 1), seed or "
     "rng, schedule (see qnn.anneal), initial_state (n spins), progress.\n"
     "sa: sweeps (default 1000), schedule = beta(t) function, table with :beta(t), or array of "
     "sweeps betas; default geometric beta from beta_range={hot, cold} (default ln2/max dE to "
     "ln100/min dE).\n"
     "sqa: sweeps, slices (P, default 16), beta (default P/scale), gamma (multiplies A(s), default "
     "3*scale; scale = rms of the nonzero h and J), readout \"best\" (lowest-energy slice, default) "
     "or \"last\"; schedule = path s(t) or :s/:A/:B (H = -gamma A(s) sum X + B(s) H_P).\n"
     "exact (n <= 20): T (default 10), steps (default 1000), reads (shots drawn, default 0), "
     "top (default 64) and min_prob (default 1e-9) limit the listed states; H(s) = -A(s) sum X "
     "+ B(s) H_P from |+>^n.\n"
     "grover (n <= 16): Durr-Hoyer minimum finding via qnn.grover (ideal engine); reads = "
     "independent runs; lambda, budget as in qnn.grover.minimum.\n"
     "Returns a list of distinct states sorted by energy {energy=, spins=, count=} (exact: also "
     "prob=), with fields sampler, time, sweeps, reads, flip_attempts and sampler-specific ones "
     "(sa: flips, beta_range, ns_per_attempt; sqa: slices, beta, gamma, flips, worldline_flips, "
     "ns_per_update; exact: p_ground, ground_energy, ground_degeneracy, T, steps; grover: "
     "queries, queries_per_read, rounds, evaluations)."},
    {"spectrum", l_spectrum, "qnn.ising.spectrum(model, s, k [, {A=, B=, schedule=}]) -> {E_1, ..., E_k}",
     "model: n <= 12 spins; s in [0, 1]; k in [1, 2^n] (default 2). The k lowest eigenvalues "
     "(ascending, LAPACK dsyevr on the dense 2^n x 2^n matrix) of H = -A sum X + B H_P with "
     "A = 1 - s, B = s, or the schedule's A(s), B(s), or explicit A=, B= (>= 0)."},
    {"min_gap", l_min_gap, "qnn.ising.min_gap(model [, schedule [, {points=, levels=, tol=}]]) -> {gap=, s=, t=, curve=}",
     "model: n <= 12; schedule: path/curves as for sqa (default linear); points >= 2 (default "
     "51) evenly spaced t in [0, 1]; levels: \"above_ground\" (default: gap from E_0 to the "
     "first level more than tol*max(1,|E_0|) above it, so degenerate ground manifolds are not "
     "counted as gap 0) or \"first\" (E_1 - E_0). Returns the minimum gap, where it occurs and "
     "the curve {t=, s=, A=, B=, e0=, e1=, gap=} per point."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(ising) {
    qnn_lua_newclass(L, ISING_T, methods, meta);
    qnn_lua_subtable(L, 1, "ising");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.ising.");
    lua_pop(L, 1);
    return 0;
}
