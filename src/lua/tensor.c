/* qnn.Tensor: dense row-major double matrices (2-D) and vectors (1-D) as userdata.
 * Views (t:rows, t[i] for 2-D, net:params()) share memory with their owner, which they keep
 * alive through user value 1; a closed owner makes its views raise "Tensor is closed". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qnn/blas.h"

#include "qnn_lua.h"

#define TENSOR_T "qnn.Tensor"
#define MAX_DIM ((lua_Integer)0x7fffffff)

typedef struct ltensor {
    qnn_tensor t;
    int closed;
    const int *anchor_closed; /* owner's closed flag for views, else NULL */
    qnn_lua_mem mem;
} ltensor;

/* ---------------- accessors ---------------- */
static ltensor *lt_test(lua_State *L, int arg) {
    return (ltensor *)luaL_testudata(L, arg, TENSOR_T);
}

static ltensor *lt_check(lua_State *L, int arg) {
    ltensor *u = lt_test(L, arg);
    if (!u) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, "tensor", "must be a Tensor, got %s",
                         tn ? tn : luaL_typename(L, arg));
    }
    if (u->closed || (u->anchor_closed && *u->anchor_closed)) {
        qnn_lua_closederror(L, arg, "tensor", "Tensor");
    }
    return u;
}

qnn_tensor *qnn_lua_checktensor(lua_State *L, int arg) { return &lt_check(L, arg)->t; }

qnn_tensor *qnn_lua_testtensor(lua_State *L, int arg) {
    ltensor *u = lt_test(L, arg);
    if (!u) return NULL;
    if (u->closed || (u->anchor_closed && *u->anchor_closed))
        qnn_lua_closederror(L, arg, "tensor", "Tensor");
    return &u->t;
}

static int lt_isopen(const void *ud) {
    const ltensor *u = (const ltensor *)ud;
    return !u->closed && !(u->anchor_closed && *u->anchor_closed);
}
static const qnn_lua_life lt_life = {"Tensor", lt_isopen, NULL};

static ltensor *lt_push(lua_State *L) {
    ltensor *u = (ltensor *)lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, TENSOR_T);
    return u;
}

qnn_tensor *qnn_lua_newtensor(lua_State *L, size_t rows, size_t cols, int ndim) {
    size_t bytes = rows && cols <= SIZE_MAX / sizeof(double) / rows ? rows * cols * sizeof(double)
                                                                     : 0;
    if (bytes) qnn_lua_mem_reserve(L, bytes);
    ltensor *u = lt_push(L);
    int rc = qnn_tensor_init(&u->t, rows, cols, ndim);
    if (rc) {
        if (rc == QNN_ENOMEM)
            luaL_error(L, "qnn.tensor: cannot allocate %I x %I doubles (out of memory or over "
                          "QNN_MAX_BYTES)", (lua_Integer)rows, (lua_Integer)cols);
        luaL_error(L, "qnn.tensor: invalid shape %Ix%I (ndim %d)", (lua_Integer)rows,
                   (lua_Integer)cols, ndim);
    }
    qnn_lua_mem_set(L, &u->mem, QNN_MEM_TENSOR, bytes);
    return &u->t;
}

qnn_tensor *qnn_lua_newview(lua_State *L, int anchor, const int *anchor_closed, double *data,
                            size_t rows, size_t cols, size_t ld, int ndim) {
    anchor = lua_absindex(L, anchor);
    ltensor *u = lt_push(L);
    qnn_tensor_wrap(&u->t, data, rows, cols, ld, ndim);
    u->anchor_closed = anchor_closed;
    lua_pushvalue(L, anchor);
    lua_setiuservalue(L, -2, 1);
    return &u->t;
}

/* view of `src` (Tensor at index idx): anchors to src's own anchor if src is a view */
static qnn_tensor *push_subview(lua_State *L, int idx, double *data, size_t rows, size_t cols,
                                size_t ld, int ndim) {
    idx = lua_absindex(L, idx);
    ltensor *src = (ltensor *)lua_touserdata(L, idx);
    if (src->t.owns) return qnn_lua_newview(L, idx, &src->closed, data, rows, cols, ld, ndim);
    lua_getiuservalue(L, idx, 1);
    if (lua_isnil(L, -1)) { /* view without an anchor (should not happen): anchor to src */
        lua_pop(L, 1);
        return qnn_lua_newview(L, idx, &src->closed, data, rows, cols, ld, ndim);
    }
    qnn_tensor *t = qnn_lua_newview(L, -1, src->anchor_closed, data, rows, cols, ld, ndim);
    lua_remove(L, -2);
    return t;
}

/* ---------------- tables -> tensors ---------------- */
static double table_number(lua_State *L, int idx, const char *argname, lua_Integer i,
                           lua_Integer j) {
    int ok = 0;
    double v = lua_tonumberx(L, idx, &ok);
    if (!ok) {
        if (j > 0)
            luaL_error(L, "bad argument '%s' (entry [%d][%d] must be a number, got %s)", argname,
                       (int)i, (int)j, luaL_typename(L, idx));
        luaL_error(L, "bad argument '%s' (entry [%d] must be a number, got %s)", argname, (int)i,
                   luaL_typename(L, idx));
    }
    return v;
}

qnn_tensor *qnn_lua_totensor(lua_State *L, int arg, const char *argname, int *pushed) {
    arg = lua_absindex(L, arg);
    *pushed = 0;
    if (lt_test(L, arg)) return qnn_lua_checktensor(L, arg);
    if (!lua_istable(L, arg)) {
        const char *tn = qnn_lua_typename(L, arg);
        qnn_lua_argerror(L, arg, argname, "must be a Tensor or a table of numbers, got %s",
                         tn ? tn : luaL_typename(L, arg));
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, arg);
    if (n > MAX_DIM) luaL_error(L, "bad argument '%s' (too many rows)", argname);
    int first = n > 0 ? lua_rawgeti(L, arg, 1) : LUA_TNIL;
    int twod = first == LUA_TTABLE || (first == LUA_TUSERDATA && lt_test(L, -1));
    if (n > 0) lua_pop(L, 1);
    qnn_tensor *t;
    if (!twod) {
        t = qnn_lua_newtensor(L, 1, (size_t)n, 1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, arg, i);
            t->data[i - 1] = table_number(L, -1, argname, i, 0);
            lua_pop(L, 1);
        }
    } else {
        lua_rawgeti(L, arg, 1);
        size_t cols;
        qnn_tensor *r0 = qnn_lua_testtensor(L, -1);
        cols = r0 ? qnn_tensor_numel(r0) : lua_rawlen(L, -1);
        lua_pop(L, 1);
        t = qnn_lua_newtensor(L, (size_t)n, cols, 2);
        int tidx = lua_gettop(L);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, arg, i);
            double *row = qnn_tensor_row(t, (size_t)(i - 1));
            qnn_tensor *rt = qnn_lua_testtensor(L, -1);
            if (rt) {
                if (qnn_tensor_numel(rt) != cols)
                    luaL_error(L, "bad argument '%s' (row %d has %d entries, expected %d)", argname,
                               (int)i, (int)qnn_tensor_numel(rt), (int)cols);
                for (size_t r = 0, k = 0; r < rt->rows; r++)
                    for (size_t c = 0; c < rt->cols; c++) row[k++] = qnn_tensor_get(rt, r, c);
            } else {
                if (!lua_istable(L, -1))
                    luaL_error(L, "bad argument '%s' (row %d must be a table, got %s)", argname,
                               (int)i, luaL_typename(L, -1));
                if (lua_rawlen(L, -1) != cols)
                    luaL_error(L, "bad argument '%s' (row %d has %d entries, expected %d)", argname,
                               (int)i, (int)lua_rawlen(L, -1), (int)cols);
                for (size_t j = 1; j <= cols; j++) {
                    lua_rawgeti(L, -1, (lua_Integer)j);
                    row[j - 1] = table_number(L, -1, argname, i, (lua_Integer)j);
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
        lua_settop(L, tidx);
    }
    *pushed = 1;
    return t;
}

/* ---------------- helpers ---------------- */
static void raise_status(lua_State *L, int rc, qnn_error *err, const char *where) {
    qnn_lua_check_status(L, rc, err, where);
}

static qnn_tensor *new_like(lua_State *L, const qnn_tensor *a) {
    return qnn_lua_newtensor(L, a->rows, a->cols, a->ndim);
}

/* Dims: (n) -> 1-D, (r, c) -> 2-D, or a shape table {n} / {r, c}. Returns next arg index. */
static int parse_dims(lua_State *L, int arg, size_t *rows, size_t *cols, int *ndim) {
    if (lua_istable(L, arg)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, arg);
        if (n != 1 && n != 2) qnn_lua_argerror(L, arg, "shape", "must be {n} or {rows, cols}");
        lua_Integer d[2] = {0, 0};
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, arg, i);
            int ok = 0;
            d[i - 1] = lua_tointegerx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok || d[i - 1] < 0 || d[i - 1] > MAX_DIM)
                qnn_lua_argerror(L, arg, "shape", "entries must be integers in [0, %d]",
                                 (int)MAX_DIM);
        }
        if (n == 1) {
            *rows = 1, *cols = (size_t)d[0], *ndim = 1;
        } else {
            *rows = (size_t)d[0], *cols = (size_t)d[1], *ndim = 2;
        }
        return arg + 1;
    }
    lua_Integer r = qnn_lua_checkint(L, arg, "rows", 0, MAX_DIM);
    if (lua_isinteger(L, arg + 1)) {
        lua_Integer c = qnn_lua_checkint(L, arg + 1, "cols", 0, MAX_DIM);
        *rows = (size_t)r, *cols = (size_t)c, *ndim = 2;
        return arg + 2;
    }
    *rows = 1, *cols = (size_t)r, *ndim = 1;
    return arg + 1;
}

static void shape_error(lua_State *L, const char *fn, const qnn_tensor *a, const qnn_tensor *b) {
    char sa[48], sb[48];
    luaL_error(L, "%s: shape mismatch: %s vs %s", fn, qnn_tensor_shape_str(a, sa, sizeof sa),
               qnn_tensor_shape_str(b, sb, sizeof sb));
}

/* ---------------- constructors ---------------- */
static int l_new(lua_State *L) {
    int base = 1;
    if (lua_type(L, base) == LUA_TNUMBER) {
        size_t r, c;
        int nd;
        parse_dims(L, base, &r, &c, &nd);
        qnn_lua_newtensor(L, r, c, nd);
        return 1;
    }
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, base, "data", &pushed);
    if (!pushed) {
        qnn_tensor *c = new_like(L, t);
        for (size_t i = 0; i < t->rows; i++)
            memcpy(qnn_tensor_row(c, i), qnn_tensor_row(t, i), t->cols * sizeof(double));
    }
    return 1;
}

static int l_call(lua_State *L) {
    lua_remove(L, 1); /* the qnn.tensor table */
    return l_new(L);
}

static int l_from(lua_State *L) {
    int pushed = 0;
    qnn_tensor *t = qnn_lua_totensor(L, 1, "data", &pushed);
    if (!pushed) {
        qnn_tensor *c = new_like(L, t);
        for (size_t i = 0; i < t->rows; i++)
            memcpy(qnn_tensor_row(c, i), qnn_tensor_row(t, i), t->cols * sizeof(double));
    }
    return 1;
}

static int l_zeros(lua_State *L) {
    size_t r, c;
    int nd;
    parse_dims(L, 1, &r, &c, &nd);
    qnn_lua_newtensor(L, r, c, nd);
    return 1;
}

static int l_ones(lua_State *L) {
    size_t r, c;
    int nd;
    parse_dims(L, 1, &r, &c, &nd);
    qnn_tensor_fill(qnn_lua_newtensor(L, r, c, nd), 1.0);
    return 1;
}

static int l_eye(lua_State *L) {
    lua_Integer n = qnn_lua_checkint(L, 1, "n", 0, 1 << 20);
    qnn_tensor *t = qnn_lua_newtensor(L, (size_t)n, (size_t)n, 2);
    for (lua_Integer i = 0; i < n; i++) qnn_tensor_set(t, (size_t)i, (size_t)i, 1.0);
    return 1;
}

static const char *const rand_opts[] = {"seed", "rng", NULL};

static int l_randn(lua_State *L) {
    size_t r, c;
    int nd;
    int next = parse_dims(L, 1, &r, &c, &nd);
    double mean = 0.0, sd = 1.0;
    if (lua_type(L, next) == LUA_TNUMBER) {
        mean = qnn_lua_checkfinite(L, next, "mean");
        sd = qnn_lua_optnum(L, next + 1, "std", 1.0, 0.0, HUGE_VAL);
        next += 2;
    }
    qnn_lua_checkopts(L, next, rand_opts);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, lua_istable(L, next) ? next : 0, &local);
    qnn_tensor *t = qnn_lua_newtensor(L, r, c, nd);
    size_t n = qnn_tensor_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = mean + sd * qnn_rng_normal(rng);
    return 1;
}

static int l_uniform(lua_State *L) {
    size_t r, c;
    int nd;
    int next = parse_dims(L, 1, &r, &c, &nd);
    double a = 0.0, b = 1.0;
    if (lua_type(L, next) == LUA_TNUMBER) {
        a = qnn_lua_checkfinite(L, next, "a");
        b = qnn_lua_checknum(L, next + 1, "b", a, HUGE_VAL);
        next += 2;
    }
    qnn_lua_checkopts(L, next, rand_opts);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, lua_istable(L, next) ? next : 0, &local);
    qnn_tensor *t = qnn_lua_newtensor(L, r, c, nd);
    size_t n = qnn_tensor_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = a + (b - a) * qnn_rng_uniform(rng);
    return 1;
}

/* threads of the matrix products (qnn/blas.h) */
static int l_blas_threads(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = qnn_lua_checkint(L, 1, "n", 1, 1024);
        qnn_blas_set_threads((int)n);
    }
    lua_pushinteger(L, qnn_blas_threads());
    return 1;
}

/* ---------------- element access ---------------- */
static size_t check_index(lua_State *L, int arg, const char *name, size_t n) {
    return (size_t)qnn_lua_checkint(L, arg, name, 1, (lua_Integer)n) - 1;
}

static int m_shape(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim == 1) {
        lua_pushinteger(L, (lua_Integer)t->cols);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)t->rows);
    lua_pushinteger(L, (lua_Integer)t->cols);
    return 2;
}

static int m_ndim(lua_State *L) {
    lua_pushinteger(L, qnn_lua_checktensor(L, 1)->ndim);
    return 1;
}

static int m_numel(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)qnn_tensor_numel(qnn_lua_checktensor(L, 1)));
    return 1;
}

static int m_get(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim == 1) {
        size_t i = check_index(L, 2, "i", t->cols);
        lua_pushnumber(L, t->data[i]);
        return 1;
    }
    size_t i = check_index(L, 2, "i", t->rows), j = check_index(L, 3, "j", t->cols);
    lua_pushnumber(L, qnn_tensor_get(t, i, j));
    return 1;
}

static int m_set(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim == 1) {
        size_t i = check_index(L, 2, "i", t->cols);
        t->data[i] = luaL_checknumber(L, 3);
    } else {
        size_t i = check_index(L, 2, "i", t->rows), j = check_index(L, 3, "j", t->cols);
        qnn_tensor_set(t, i, j, luaL_checknumber(L, 4));
    }
    lua_settop(L, 1);
    return 1;
}

static int m_totable(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim == 1) {
        lua_createtable(L, (int)t->cols, 0);
        for (size_t j = 0; j < t->cols; j++) {
            lua_pushnumber(L, t->data[j]);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        return 1;
    }
    lua_createtable(L, (int)t->rows, 0);
    for (size_t i = 0; i < t->rows; i++) {
        const double *r = qnn_tensor_row(t, i);
        lua_createtable(L, (int)t->cols, 0);
        for (size_t j = 0; j < t->cols; j++) {
            lua_pushnumber(L, r[j]);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int m_rows(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    size_t n = t->ndim == 1 ? t->cols : t->rows;
    lua_Integer i0 = qnn_lua_checkint(L, 2, "i0", 1, (lua_Integer)n + 1);
    lua_Integer i1 = qnn_lua_optint(L, 3, "i1", (lua_Integer)n, i0 - 1, (lua_Integer)n);
    size_t cnt = (size_t)(i1 - i0 + 1);
    if (t->ndim == 1)
        push_subview(L, 1, t->data + (i0 - 1), 1, cnt, cnt, 1);
    else
        push_subview(L, 1, t->data + (size_t)(i0 - 1) * t->ld, cnt, t->cols, t->ld, 2);
    return 1;
}

static int m_row(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim != 2) luaL_error(L, "Tensor:row: needs a 2-D tensor");
    size_t i = check_index(L, 2, "i", t->rows);
    push_subview(L, 1, qnn_tensor_row(t, i), 1, t->cols, t->cols, 1);
    return 1;
}

/* index list (table or Tensor of 1-based indices) -> size_t array in a userdata box */
static size_t *check_indices(lua_State *L, int arg, size_t limit, size_t *count) {
    size_t n = 0;
    qnn_tensor *it = qnn_lua_testtensor(L, arg);
    if (it) n = qnn_tensor_numel(it);
    else if (lua_istable(L, arg)) n = lua_rawlen(L, arg);
    else
        return qnn_lua_argerror(L, arg, "idx", "must be a table or Tensor of indices, got %s",
                                luaL_typename(L, arg)),
               (size_t *)NULL;
    size_t *idx = (size_t *)lua_newuserdatauv(L, (n ? n : 1) * sizeof(size_t), 0);
    for (size_t k = 0; k < n; k++) {
        double v;
        if (it) {
            v = it->data[(k / it->cols) * it->ld + k % it->cols];
        } else {
            lua_rawgeti(L, arg, (lua_Integer)k + 1);
            int ok = 0;
            v = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok) v = NAN;
        }
        if (!(v >= 1 && v <= (double)limit) || v != floor(v))
            qnn_lua_argerror(L, arg, "idx", "entry %d must be an integer in [1, %d], got %g",
                             (int)k + 1, (int)limit, v);
        idx[k] = (size_t)v - 1;
    }
    *count = n;
    return idx;
}

static int m_gather(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    size_t n = 0;
    size_t *idx = check_indices(L, 2, t->ndim == 1 ? t->cols : t->rows, &n);
    if (t->ndim == 1) {
        qnn_tensor *o = qnn_lua_newtensor(L, 1, n, 1);
        for (size_t k = 0; k < n; k++) o->data[k] = t->data[idx[k]];
        return 1;
    }
    qnn_tensor *o = qnn_lua_newtensor(L, n, t->cols, 2);
    qnn_error err;
    qnn_error_clear(&err);
    raise_status(L, qnn_tensor_gather_rows(o, t, idx, n, &err), &err, "Tensor:gather");
    return 1;
}

static int m_copy(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    qnn_tensor *c = new_like(L, t);
    for (size_t i = 0; i < t->rows; i++)
        memcpy(qnn_tensor_row(c, i), qnn_tensor_row(t, i), t->cols * sizeof(double));
    return 1;
}

static int m_transpose(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (t->ndim == 1) return m_copy(L);
    qnn_tensor *o = qnn_lua_newtensor(L, t->cols, t->rows, 2);
    for (size_t i = 0; i < t->rows; i++) {
        const double *r = qnn_tensor_row(t, i);
        for (size_t j = 0; j < t->cols; j++) o->data[j * o->ld + i] = r[j];
    }
    return 1;
}

static int m_reshape(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    size_t r, c;
    int nd;
    parse_dims(L, 2, &r, &c, &nd);
    if (r * c != qnn_tensor_numel(t)) {
        char sa[48];
        luaL_error(L, "Tensor:reshape: cannot reshape %s (%d values) into %dx%d",
                   qnn_tensor_shape_str(t, sa, sizeof sa), (int)qnn_tensor_numel(t), (int)r,
                   (int)c);
    }
    qnn_tensor *o = qnn_lua_newtensor(L, r, c, nd);
    size_t k = 0;
    for (size_t i = 0; i < t->rows; i++) {
        memcpy(o->data + k, qnn_tensor_row(t, i), t->cols * sizeof(double));
        k += t->cols;
    }
    return 1;
}

static int m_matmul(lua_State *L) {
    qnn_tensor *a = qnn_lua_checktensor(L, 1);
    int pushed = 0;
    qnn_tensor *b = qnn_lua_totensor(L, 2, "u", &pushed);
    qnn_error err;
    qnn_error_clear(&err);
    if (a->ndim == 1 && b->ndim == 1) {
        if (a->cols != b->cols) shape_error(L, "Tensor:matmul", a, b);
        double s = 0.0;
        for (size_t j = 0; j < a->cols; j++) s += a->data[j] * b->data[j];
        lua_pushnumber(L, s);
        return 1;
    }
    if (b->ndim == 1) { /* (m x k) (k) -> (m) */
        if (a->cols != b->cols) shape_error(L, "Tensor:matmul", a, b);
        qnn_tensor *y = qnn_lua_newtensor(L, 1, a->rows, 1);
        raise_status(L, qnn_tensor_gemv(y->data, a->rows, a, 0, b->data, b->cols, 1.0, 0.0, &err),
                     &err, "Tensor:matmul");
        return 1;
    }
    if (a->ndim == 1) { /* (k) (k x n) -> (n) */
        if (a->cols != b->rows) shape_error(L, "Tensor:matmul", a, b);
        qnn_tensor *y = qnn_lua_newtensor(L, 1, b->cols, 1);
        raise_status(L, qnn_tensor_gemv(y->data, b->cols, b, 1, a->data, a->cols, 1.0, 0.0, &err),
                     &err, "Tensor:matmul");
        return 1;
    }
    if (a->cols != b->rows) shape_error(L, "Tensor:matmul", a, b);
    qnn_tensor *c = qnn_lua_newtensor(L, a->rows, b->cols, 2);
    raise_status(L, qnn_tensor_matmul(c, a, 0, b, 0, 1.0, 0.0, &err), &err, "Tensor:matmul");
    return 1;
}

static const char *const op_names[] = {"Tensor:add", "Tensor:sub", "Tensor:mul", "Tensor:div"};

static int binop(lua_State *L, int op) {
    /* metamethods may have the scalar first */
    if (lua_type(L, 1) == LUA_TNUMBER) {
        double s = lua_tonumber(L, 1);
        qnn_tensor *b = qnn_lua_checktensor(L, 2);
        qnn_tensor *o = new_like(L, b);
        qnn_tensor_scalar_op(o, b, s, op, 1);
        return 1;
    }
    qnn_tensor *a = qnn_lua_checktensor(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        double s = lua_tonumber(L, 2);
        qnn_tensor *o = new_like(L, a);
        qnn_tensor_scalar_op(o, a, s, op, 0);
        return 1;
    }
    int pushed = 0;
    qnn_tensor *b = qnn_lua_totensor(L, 2, "u", &pushed);
    if (!(a->rows == b->rows && a->cols == b->cols) && !(b->rows == 1 && b->cols == a->cols))
        shape_error(L, op_names[op], a, b);
    qnn_tensor *o = new_like(L, a);
    qnn_error err;
    qnn_error_clear(&err);
    raise_status(L, qnn_tensor_binop(o, a, b, op, &err), &err, op_names[op]);
    return 1;
}

static int m_add(lua_State *L) { return binop(L, QNN_TENSOR_ADD); }
static int m_sub(lua_State *L) { return binop(L, QNN_TENSOR_SUB); }
static int m_mul(lua_State *L) { return binop(L, QNN_TENSOR_MUL); }
static int m_div(lua_State *L) { return binop(L, QNN_TENSOR_DIV); }

static int m_unm(lua_State *L) {
    qnn_tensor *a = qnn_lua_checktensor(L, 1);
    qnn_tensor *o = new_like(L, a);
    qnn_tensor_scalar_op(o, a, -1.0, QNN_TENSOR_MUL, 0);
    return 1;
}

static int m_apply(lua_State *L) {
    qnn_tensor *a = qnn_lua_checktensor(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    qnn_tensor *o = new_like(L, a);
    for (size_t i = 0; i < a->rows; i++) {
        for (size_t j = 0; j < a->cols; j++) {
            lua_pushvalue(L, 2);
            lua_pushnumber(L, qnn_tensor_get(a, i, j));
            if (a->ndim == 1) {
                lua_pushinteger(L, (lua_Integer)j + 1);
                lua_call(L, 2, 1);
            } else {
                lua_pushinteger(L, (lua_Integer)i + 1);
                lua_pushinteger(L, (lua_Integer)j + 1);
                lua_call(L, 3, 1);
            }
            a = qnn_lua_checktensor(L, 1); /* the function may have closed it */
            int ok = 0;
            double v = lua_tonumberx(L, -1, &ok);
            if (!ok) luaL_error(L, "Tensor:apply: function must return a number, got %s",
                                luaL_typename(L, -1));
            qnn_tensor_set(o, i, j, v);
            lua_pop(L, 1);
        }
    }
    return 1;
}

static int m_fill(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    qnn_tensor_fill(t, luaL_checknumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int reduce(lua_State *L, int kind, const char *where) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    lua_Integer axis = qnn_lua_optint(L, 2, "axis", 0, t->ndim == 1 ? 0 : 0, t->ndim == 1 ? 1 : 2);
    if (t->ndim == 1) axis = 0;
    qnn_error err;
    qnn_error_clear(&err);
    if (axis == 0) {
        double s = 0;
        raise_status(L, qnn_tensor_reduce(t, 0, kind, NULL, &s, &err), &err, where);
        if (kind == QNN_REDUCE_ARGMAX) {
            if (s < 0) {
                lua_pushnil(L);
                return 1;
            }
            size_t k = (size_t)s;
            if (t->ndim == 1) {
                lua_pushinteger(L, (lua_Integer)k + 1);
                return 1;
            }
            lua_pushinteger(L, (lua_Integer)(k / t->cols) + 1);
            lua_pushinteger(L, (lua_Integer)(k % t->cols) + 1);
            return 2;
        }
        lua_pushnumber(L, s);
        return 1;
    }
    size_t n = axis == 1 ? t->cols : t->rows;
    qnn_tensor *o = qnn_lua_newtensor(L, 1, n, 1);
    raise_status(L, qnn_tensor_reduce(t, (int)axis, kind, o, NULL, &err), &err, where);
    if (kind == QNN_REDUCE_ARGMAX)
        for (size_t k = 0; k < n; k++) o->data[k] += 1.0;
    return 1;
}

static int m_sum(lua_State *L) { return reduce(L, QNN_REDUCE_SUM, "Tensor:sum"); }
static int m_mean(lua_State *L) { return reduce(L, QNN_REDUCE_MEAN, "Tensor:mean"); }
static int m_max(lua_State *L) { return reduce(L, QNN_REDUCE_MAX, "Tensor:max"); }
static int m_min(lua_State *L) { return reduce(L, QNN_REDUCE_MIN, "Tensor:min"); }
static int m_argmax(lua_State *L) { return reduce(L, QNN_REDUCE_ARGMAX, "Tensor:argmax"); }

static int m_close(lua_State *L) {
    ltensor *u = (ltensor *)luaL_checkudata(L, 1, TENSOR_T);
    if (!u->closed) {
        qnn_tensor_release(&u->t);
        qnn_lua_mem_release(L, &u->mem);
        u->closed = 1;
    }
    return 0;
}

static int m_isview(lua_State *L) {
    lua_pushboolean(L, !qnn_lua_checktensor(L, 1)->owns);
    return 1;
}

/* ---------------- metamethods ---------------- */
static void fmt_num(char *buf, size_t n, double v) { snprintf(buf, n, "%.4g", v); }

static int mm_tostring(lua_State *L) {
    ltensor *u = (ltensor *)luaL_checkudata(L, 1, TENSOR_T);
    if (u->closed || (u->anchor_closed && *u->anchor_closed)) {
        lua_pushliteral(L, "qnn.Tensor (closed)");
        return 1;
    }
    qnn_tensor *t = &u->t;
    luaL_Buffer b;
    char s[64];
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "qnn.Tensor ");
    luaL_addstring(&b, qnn_tensor_shape_str(t, s, sizeof s));
    if (!t->owns) luaL_addstring(&b, " view");
    luaL_addchar(&b, ' ');
    const size_t MAXR = 6, MAXC = 6;
    size_t nr = t->ndim == 1 ? 1 : t->rows;
    if (t->ndim == 2) luaL_addchar(&b, '[');
    for (size_t i = 0; i < nr; i++) {
        if (t->ndim == 2 && nr > MAXR && i == MAXR - 1 && i != nr - 1) {
            luaL_addstring(&b, "..., ");
            i = nr - 1;
        }
        luaL_addchar(&b, '[');
        const double *r = qnn_tensor_row(t, i);
        for (size_t j = 0; j < t->cols; j++) {
            if (t->cols > MAXC && j == MAXC - 1 && j != t->cols - 1) {
                luaL_addstring(&b, "..., ");
                j = t->cols - 1;
            }
            fmt_num(s, sizeof s, r[j]);
            luaL_addstring(&b, s);
            if (j + 1 < t->cols) luaL_addstring(&b, ", ");
        }
        luaL_addchar(&b, ']');
        if (i + 1 < nr) luaL_addstring(&b, ", ");
    }
    if (t->ndim == 2) luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
}

static int mm_len(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    lua_pushinteger(L, (lua_Integer)(t->ndim == 1 ? t->cols : t->rows));
    return 1;
}

static int mm_index(lua_State *L) {
    if (lua_type(L, 2) == LUA_TNUMBER) {
        qnn_tensor *t = qnn_lua_checktensor(L, 1);
        lua_Integer i = qnn_lua_checkint(L, 2, "index", 1, (lua_Integer)(t->ndim == 1 ? t->cols : t->rows));
        if (t->ndim == 1) {
            lua_pushnumber(L, t->data[i - 1]);
            return 1;
        }
        push_subview(L, 1, qnn_tensor_row(t, (size_t)i - 1), 1, t->cols, t->cols, 1);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int mm_newindex(lua_State *L) {
    qnn_tensor *t = qnn_lua_checktensor(L, 1);
    if (lua_type(L, 2) != LUA_TNUMBER)
        return luaL_error(L, "Tensor: cannot assign field '%s' (use t[i] = v or t:set)",
                          lua_tostring(L, 2) ? lua_tostring(L, 2) : luaL_typename(L, 2));
    lua_Integer i = qnn_lua_checkint(L, 2, "index", 1, (lua_Integer)(t->ndim == 1 ? t->cols : t->rows));
    if (t->ndim == 1) {
        t->data[i - 1] = luaL_checknumber(L, 3);
        return 0;
    }
    double *row = qnn_tensor_row(t, (size_t)i - 1);
    if (lua_type(L, 3) == LUA_TNUMBER) {
        double v = lua_tonumber(L, 3);
        for (size_t j = 0; j < t->cols; j++) row[j] = v;
        return 0;
    }
    int pushed = 0;
    qnn_tensor *r = qnn_lua_totensor(L, 3, "row", &pushed);
    if (qnn_tensor_numel(r) != t->cols)
        return luaL_error(L, "Tensor: row assignment needs %d values, got %d", (int)t->cols,
                          (int)qnn_tensor_numel(r));
    for (size_t k = 0; k < t->cols; k++) row[k] = r->data[(k / r->cols) * r->ld + k % r->cols];
    return 0;
}

static int mm_gc(lua_State *L) {
    /* also reachable from Lua (getmetatable(t).__gc(x)): only ever touch a Tensor */
    ltensor *u = (ltensor *)luaL_testudata(L, 1, TENSOR_T);
    if (u && !u->closed) {
        qnn_tensor_release(&u->t);
        qnn_lua_mem_release(L, &u->mem);
        u->closed = 1;
    }
    return 0;
}

static const qnn_lua_reg methods[] = {
    {"shape", m_shape, "Tensor:shape() -> rows, cols | n",
     "Returns rows and cols of a 2-D tensor, or the length n of a 1-D tensor."},
    {"ndim", m_ndim, "Tensor:ndim() -> 1 | 2", "Returns the number of dimensions."},
    {"numel", m_numel, "Tensor:numel() -> integer", "Returns the number of elements."},
    {"get", m_get, "Tensor:get(i [, j]) -> number",
     "i, j: 1-based indices in range (j only for 2-D).\nReturns one element."},
    {"set", m_set, "Tensor:set(i [, j], v) -> Tensor",
     "i, j: 1-based indices in range (j only for 2-D); v: number.\nSets one element in place; "
     "returns the tensor."},
    {"totable", m_totable, "Tensor:totable() -> table",
     "Returns a nested table (2-D) or a flat table (1-D) of numbers."},
    {"rows", m_rows, "Tensor:rows(i0 [, i1=#t]) -> Tensor view",
     "i0 in [1, #t+1], i1 in [i0-1, #t] (inclusive).\nReturns a view of rows i0..i1 sharing "
     "memory (elements for a 1-D tensor); the view keeps the parent alive."},
    {"row", m_row, "Tensor:row(i) -> 1-D Tensor view",
     "i: 1-based row of a 2-D tensor.\nReturns the row as a 1-D view (same as t[i])."},
    {"gather", m_gather, "Tensor:gather(idx) -> Tensor",
     "idx: table or Tensor of 1-based row indices (elements for 1-D).\nReturns a new tensor "
     "with those rows copied in order."},
    {"copy", m_copy, "Tensor:copy() -> Tensor", "Returns a deep copy (owning, contiguous)."},
    {"T", m_transpose, "Tensor:T() -> Tensor",
     "Returns the transpose as a new tensor (a 1-D tensor is copied)."},
    {"reshape", m_reshape, "Tensor:reshape(rows [, cols]) -> Tensor",
     "rows, cols: integers with rows*cols = numel (one argument gives 1-D).\nReturns a reshaped "
     "copy."},
    {"matmul", m_matmul, "Tensor:matmul(u) -> Tensor | number",
     "u: Tensor or nested table. 2-D x 2-D via OpenBLAS dgemm; 2-D x 1-D and 1-D x 2-D via "
     "dgemv (1-D result); 1-D x 1-D gives the dot product.\nShape mismatch raises an "
     "error stating both shapes."},
    {"add", m_add, "Tensor:add(u) -> Tensor",
     "u: number, Tensor of the same shape, or one row (1 x cols or 1-D) broadcast over rows.\n"
     "Returns the elementwise sum (also the + operator)."},
    {"sub", m_sub, "Tensor:sub(u) -> Tensor",
     "u: number or Tensor (same shape or broadcast row).\nReturns the elementwise difference "
     "(also -)."},
    {"mul", m_mul, "Tensor:mul(u) -> Tensor",
     "u: number or Tensor (same shape or broadcast row).\nReturns the elementwise product (also "
     "*; use matmul for matrix products)."},
    {"div", m_div, "Tensor:div(u) -> Tensor",
     "u: number or Tensor (same shape or broadcast row).\nReturns the elementwise quotient "
     "(also /)."},
    {"apply", m_apply, "Tensor:apply(fn) -> Tensor",
     "fn(x, i [, j]) -> number.\nReturns a new tensor with fn applied to every element."},
    {"sum", m_sum, "Tensor:sum([axis]) -> number | Tensor",
     "axis: nil (all elements -> number), 1 (over rows -> 1-D of length cols) or 2 (over "
     "columns -> 1-D of length rows)."},
    {"mean", m_mean, "Tensor:mean([axis]) -> number | Tensor",
     "axis: nil, 1 or 2 as for sum.\nReturns the mean (NaN for an empty reduction)."},
    {"max", m_max, "Tensor:max([axis]) -> number | Tensor",
     "axis: nil, 1 or 2 as for sum.\nReturns the maximum."},
    {"min", m_min, "Tensor:min([axis]) -> number | Tensor",
     "axis: nil, 1 or 2 as for sum.\nReturns the minimum."},
    {"argmax", m_argmax, "Tensor:argmax([axis]) -> i [, j] | Tensor",
     "axis: nil, 1 or 2.\nWithout axis: 1-based index of the maximum (row, col for 2-D; nil if "
     "empty). axis 1: row index of each column's maximum; axis 2: column index of each row's "
     "maximum (1-based, as a 1-D Tensor)."},
    {"fill", m_fill, "Tensor:fill(v) -> Tensor", "v: number.\nSets every element; returns the tensor."},
    {"isview", m_isview, "Tensor:isview() -> boolean",
     "Returns true if the tensor shares memory with another object."},
    {"close", m_close, "Tensor:close()",
     "Frees the memory now; later use raises \"Tensor is closed\" (views of it too)."},
    {NULL, NULL, NULL, NULL}};

static int mm_add(lua_State *L) { return binop(L, QNN_TENSOR_ADD); }
static int mm_sub(lua_State *L) { return binop(L, QNN_TENSOR_SUB); }
static int mm_mul(lua_State *L) { return binop(L, QNN_TENSOR_MUL); }
static int mm_div(lua_State *L) { return binop(L, QNN_TENSOR_DIV); }

static const luaL_Reg meta[] = {{"__tostring", mm_tostring},
                                {"__gc", mm_gc},
                                {"__close", m_close},
                                {"__len", mm_len},
                                {"__newindex", mm_newindex},
                                {"__add", mm_add},
                                {"__sub", mm_sub},
                                {"__mul", mm_mul},
                                {"__div", mm_div},
                                {"__unm", m_unm},
                                {NULL, NULL}};

static const qnn_lua_reg funcs[] = {
    {"new", l_new, "qnn.tensor(data) | qnn.tensor(rows [, cols]) -> Tensor",
     "data: nested table {{1,2},{3,4}} (2-D), flat table {1,2,3} (1-D) or a Tensor (copied); "
     "rows, cols: integers >= 0 (zero-filled; one integer gives 1-D).\nqnn.tensor.new is the "
     "same as calling qnn.tensor."},
    {"from", l_from, "qnn.tensor.from(t) -> Tensor",
     "t: nested/flat table of numbers or a Tensor.\nReturns a new owning tensor."},
    {"zeros", l_zeros, "qnn.tensor.zeros(rows [, cols]) -> Tensor",
     "rows, cols: integers >= 0, or a shape table {n} / {rows, cols}.\nZero-filled tensor."},
    {"ones", l_ones, "qnn.tensor.ones(rows [, cols]) -> Tensor",
     "rows, cols: integers >= 0, or a shape table.\nTensor of ones."},
    {"blas_threads", l_blas_threads, "qnn.tensor.blas_threads([n]) -> integer",
     "n: integer in [1, 1024] (optional).\nSets (optionally) and returns the number of threads "
     "of the matrix products of matmul and the networks (OPENBLAS_NUM_THREADS, else "
     "OMP_NUM_THREADS, sets the start value). OpenBLAS itself runs on one thread; products are "
     "cut into row blocks fixed by their shape, so results never depend on this number."},
    {"eye", l_eye, "qnn.tensor.eye(n) -> Tensor", "n: integer in [0, 2^20].\nIdentity matrix."},
    {"randn", l_randn, "qnn.tensor.randn(rows [, cols] [, mean, std] [, {seed=, rng=}]) -> Tensor",
     "rows, cols: integers >= 0 or a shape table; mean finite, std >= 0 (default 0, 1); seed: "
     "integer or rng: qnn.Rng (default stream otherwise).\nGaussian entries."},
    {"uniform", l_uniform, "qnn.tensor.uniform(rows [, cols] [, a, b] [, {seed=, rng=}]) -> Tensor",
     "rows, cols: integers >= 0 or a shape table ({n} for 1-D with bounds); a, b finite with "
     "b >= a (default 0, 1).\nUniform entries in [a, b)."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(tensor) {
    qnn_lua_newclass(L, TENSOR_T, methods, meta);
    qnn_lua_setlife(L, TENSOR_T, &lt_life);
    /* __index: integer keys -> rows/elements, other keys -> methods (upvalue) */
    luaL_getmetatable(L, TENSOR_T);
    lua_getfield(L, -1, "methods");
    lua_pushcclosure(L, mm_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    qnn_lua_subtable(L, 1, "tensor");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.tensor.");
    lua_newtable(L);
    lua_pushcfunction(L, l_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
    return 0;
}
