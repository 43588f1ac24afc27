/* qnn.data: file readers (CSV, IDX, JSON) and the fast helpers behind the Lua Dataset class
 * (lua/qnn/ext/data.lua adds qnn.data.load, qnn.data.from and the Dataset methods). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qnn/data.h"
#include "qnn_lua.h"

/* Scratch memory owned by the Lua GC (freed even if a later check raises). */
static void *scratch(lua_State *L, size_t bytes) {
    return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

/* Reads a Lua array of 1-based integer indices in [1, n] at arg into a 0-based size_t array
 * (pushed as scratch userdata). Entries [i0, i1] (1-based, inclusive) only. */
static size_t *check_indices(lua_State *L, int arg, const char *argname, size_t n, lua_Integer i0,
                             lua_Integer i1, size_t *count) {
    size_t k = i1 >= i0 ? (size_t)(i1 - i0 + 1) : 0;
    size_t *idx = (size_t *)scratch(L, k * sizeof(size_t));
    for (lua_Integer i = i0; i <= i1; i++) {
        lua_rawgeti(L, arg, i);
        int ok = 0;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 1 || (size_t)v > n) {
            const char *tn = luaL_typename(L, -1);
            if (ok)
                luaL_error(L, "bad argument '%s' (entry [%d] = %d outside [1, %d])", argname, (int)i,
                           (int)v, (int)n);
            luaL_error(L, "bad argument '%s' (entry [%d] must be an integer index, got %s)",
                       argname, (int)i, tn);
        }
        idx[i - i0] = (size_t)(v - 1);
        lua_pop(L, 1);
    }
    *count = k;
    return idx;
}

/* Labels table (1-based integers >= 1) at arg -> 0-based int array (scratch). */
static int *check_labels(lua_State *L, int arg, const char *argname, size_t *n, int *maxlab) {
    luaL_checktype(L, arg, LUA_TTABLE);
    size_t len = lua_rawlen(L, arg);
    int *lab = (int *)scratch(L, len * sizeof(int));
    int mx = 0;
    for (size_t i = 1; i <= len; i++) {
        lua_rawgeti(L, arg, (lua_Integer)i);
        int ok = 0;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 1 || v > 1000000)
            luaL_error(L, "bad argument '%s' (label [%d] must be an integer in [1, 1000000], got %s)",
                       argname, (int)i, luaL_tolstring(L, -1, NULL));
        lab[i - 1] = (int)(v - 1);
        if (v > mx) mx = (int)v;
        lua_pop(L, 1);
    }
    *n = len;
    *maxlab = mx;
    return lab;
}

static void push_int_table(lua_State *L, const int *v, size_t n, int add) {
    lua_createtable(L, (int)(n < 0x7fffffff ? n : 0), 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)v[i] + add);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

static void push_index_table(lua_State *L, const size_t *v, size_t n) {
    lua_createtable(L, (int)(n < 0x7fffffff ? n : 0), 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)v[i] + 1);
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
}

/* Copies a core-allocated tensor into a new Lua Tensor and releases the core one. */
static qnn_tensor *push_moved(lua_State *L, qnn_tensor *src) {
    qnn_tensor tmp = *src;
    memset(src, 0, sizeof *src);
    qnn_tensor *t = qnn_lua_newtensor(L, tmp.rows, tmp.cols, 2);
    for (size_t i = 0; i < tmp.rows; i++)
        memcpy(qnn_tensor_row(t, i), qnn_tensor_row(&tmp, i), tmp.cols * sizeof(double));
    qnn_tensor_release(&tmp);
    return t;
}

/* ---------------- readers ---------------- */
static const char *const csv_opts[] = {"label", "header", NULL};

static int l_csv(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int has = qnn_lua_checkopts(L, 2, csv_opts);
    qnn_csv_options o = {0, QNN_CSV_NO_LABEL};
    if (has) {
        o.header = qnn_lua_optfield_bool(L, 2, "header", 0);
        lua_getfield(L, 2, "label");
        int present = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (present) {
            lua_Integer c = qnn_lua_optfield_int(L, 2, "label", -1, -1, 1000000);
            if (c == 0)
                return luaL_error(L, "bad option 'label' to 'csv' (must be a 1-based column or -1 "
                                     "for the last, got 0)");
            o.label_col = c == -1 ? QNN_CSV_LAST : (long)(c - 1);
        }
    }
    qnn_tensor X;
    int *labels = NULL;
    qnn_error err = {0};
    int rc = qnn_data_read_csv(path, &o, &X, o.label_col == QNN_CSV_NO_LABEL ? NULL : &labels, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.csv");
    size_t n = X.rows;
    /* copy labels into scratch first so a Lua error below cannot leak them */
    int *lab = NULL;
    if (labels) {
        lab = (int *)scratch(L, n * sizeof(int));
        memcpy(lab, labels, n * sizeof(int));
        free(labels);
    }
    int top = lua_gettop(L);
    push_moved(L, &X);
    if (!lab) return 1;
    push_int_table(L, lab, n, 0);
    lua_remove(L, top); /* scratch */
    return 2;
}

static const char *const idx_opts[] = {"labels", "into", "row", NULL};

static int l_idx(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    qnn_lua_checkopts(L, 2, idx_opts);
    qnn_error err = {0};
    qnn_idx_info info;
    int rc = qnn_data_idx_info(path, &info, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.idx");
    int has_into = 0;
    if (lua_istable(L, 2)) {
        has_into = lua_getfield(L, 2, "into") != LUA_TNIL;
        lua_pop(L, 1);
    }
    int as_labels = qnn_lua_optfield_bool(L, 2, "labels", !has_into && info.ndims == 1 &&
                                                              info.type != 0x0D && info.type != 0x0E);
    if (as_labels && has_into)
        return luaL_error(L, "bad option 'into' to 'idx' (cannot be combined with labels=true)");
    if (as_labels) {
        int *lab = NULL;
        size_t n = 0;
        rc = qnn_data_read_idx_labels(path, &lab, &n, &err);
        qnn_lua_check_status(L, rc, &err, "qnn.data.idx");
        int *s = (int *)scratch(L, n * sizeof(int));
        memcpy(s, lab, n * sizeof(int));
        free(lab);
        push_int_table(L, s, n, 0);
        return 1;
    }
    qnn_tensor *t, view;
    if (lua_istable(L, 2) && lua_getfield(L, 2, "into") != LUA_TNIL) {
        /* read into rows [row, row + n) of an existing Tensor (no copy) */
        qnn_tensor *into = qnn_lua_testtensor(L, -1);
        if (!into || into->ndim != 2)
            return luaL_error(L, "bad option 'into' to 'idx' (must be an open 2-D Tensor)");
        lua_Integer row = qnn_lua_optfield_int(L, 2, "row", 1, 1, 0x7fffffff);
        if (into->cols != info.cols || (size_t)(row - 1) + info.rows > into->rows)
            return luaL_error(L, "qnn.data.idx: %s holds %dx%d values, which do not fit rows %d.. of "
                                 "the %dx%d 'into' Tensor", path, (int)info.rows, (int)info.cols,
                              (int)row, (int)into->rows, (int)into->cols);
        if (info.rows == 0) return 1;
        qnn_tensor_rows_view(&view, into, (size_t)(row - 1), info.rows);
        t = &view;
    } else {
        if (lua_istable(L, 2)) lua_pop(L, 1);
        t = qnn_lua_newtensor(L, info.rows, info.cols, 2);
    }
    rc = qnn_data_read_idx(path, t, NULL, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.idx");
    lua_createtable(L, info.ndims, 0);
    for (int i = 0; i < info.ndims; i++) {
        lua_pushinteger(L, (lua_Integer)info.dims[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

static const char *const json_opts[] = {"key", "cols", NULL};

static int l_json(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    qnn_lua_checkopts(L, 2, json_opts);
    const char *key = qnn_lua_optfield_str(L, 2, "key", NULL);
    lua_Integer cols = qnn_lua_optfield_int(L, 2, "cols", 0, 0, 0x7fffffff);
    double *vals = NULL;
    size_t n = 0, rows = 0;
    qnn_error err = {0};
    int rc = qnn_data_read_json_numbers(path, key, &vals, &n, &rows, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.json");
    size_t r, c;
    if (cols > 0) {
        if (n % (size_t)cols != 0) {
            free(vals);
            return luaL_error(L, "qnn.data.json: %s holds %d numbers, not a multiple of cols=%d",
                              path, (int)n, (int)cols);
        }
        r = n / (size_t)cols;
        c = (size_t)cols;
    } else if (rows > 0) {
        r = rows;
        c = n / rows;
    } else {
        r = 1;
        c = n;
    }
    /* move vals into scratch so the allocation below cannot leak it */
    double *s = (double *)scratch(L, n * sizeof(double));
    memcpy(s, vals, n * sizeof(double));
    free(vals);
    qnn_tensor *t = qnn_lua_newtensor(L, r, c, (cols > 0 || rows > 0) ? 2 : 1);
    memcpy(t->data, s, n * sizeof(double));
    lua_remove(L, -2);
    return 1;
}

/* ---------------- helpers for Dataset ---------------- */
static int l_colstats(lua_State *L) {
    qnn_tensor *X = qnn_lua_checktensor(L, 1);
    if (X->rows == 0) return luaL_error(L, "qnn.data.colstats: empty data set (0 rows)");
    qnn_tensor *m = qnn_lua_newtensor(L, 1, X->cols, 1);
    qnn_tensor *s = qnn_lua_newtensor(L, 1, X->cols, 1);
    qnn_error err = {0};
    int rc = qnn_data_colstats(X, m->data, s->data, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.colstats");
    return 2;
}

static int l_standardize(lua_State *L) {
    qnn_tensor *X = qnn_lua_checktensor(L, 1);
    qnn_tensor *m = qnn_lua_checktensor(L, 2);
    qnn_tensor *s = qnn_lua_checktensor(L, 3);
    if (qnn_tensor_numel(m) != X->cols || qnn_tensor_numel(s) != X->cols || m->rows != 1 ||
        s->rows != 1)
        return luaL_error(L, "qnn.data.standardize: mean and std must have %d entries (the columns "
                             "of X), got %d and %d", (int)X->cols, (int)qnn_tensor_numel(m),
                          (int)qnn_tensor_numel(s));
    qnn_error err = {0};
    int rc = qnn_data_standardize(X, m->data, s->data, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.standardize");
    lua_settop(L, 1);
    return 1;
}

static int l_affine(lua_State *L) {
    qnn_tensor *X = qnn_lua_checktensor(L, 1);
    double a = qnn_lua_checkfinite(L, 2, "a");
    double b = qnn_lua_optnum(L, 3, "b", 0.0, -HUGE_VAL, HUGE_VAL);
    qnn_data_affine(X, a, b);
    lua_settop(L, 1);
    return 1;
}

static int l_gather(lua_State *L) {
    lua_settop(L, 4);
    qnn_tensor *X = qnn_lua_checktensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer len = (lua_Integer)lua_rawlen(L, 2);
    lua_Integer i0 = qnn_lua_optint(L, 3, "i0", 1, 1, len + 1);
    lua_Integer i1 = qnn_lua_optint(L, 4, "i1", len, i0 - 1, len);
    size_t k;
    size_t *idx = check_indices(L, 2, "idx", X->rows, i0, i1, &k);
    qnn_tensor *out = qnn_lua_newtensor(L, k, X->cols, 2);
    for (size_t i = 0; i < k; i++)
        memcpy(qnn_tensor_row(out, i), qnn_tensor_row(X, idx[i]), X->cols * sizeof(double));
    return 1;
}

static const char *const split_opts[] = {"test", "stratify", "seed", "rng", NULL};

static int l_split_indices(lua_State *L) {
    lua_settop(L, 3); /* scratch buffers go above the arguments */
    size_t n;
    int mx;
    int *lab = check_labels(L, 1, "y", &n, &mx);
    lua_Integer K = qnn_lua_optint(L, 2, "nclasses", mx, 1, 1000000);
    if (mx > K)
        return qnn_lua_argerror(L, 2, "nclasses", "must be >= the largest label %d, got %d", mx,
                                (int)K);
    qnn_lua_checkopts(L, 3, split_opts);
    double test = qnn_lua_optfield_num(L, 3, "test", 0.2, -HUGE_VAL, HUGE_VAL);
    if (!(test > 0.0 && test < 1.0))
        return luaL_error(L, "bad option 'test' to 'split_indices' (must be a fraction in (0, 1), "
                             "got %f)", test);
    int strat = qnn_lua_optfield_bool(L, 3, "stratify", 1);
    if (n < 2) return luaL_error(L, "qnn.data.split_indices: need at least 2 samples, got %d", (int)n);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, lua_istable(L, 3) ? 3 : 0, &local);
    size_t *tr = (size_t *)scratch(L, n * sizeof(size_t));
    size_t *te = (size_t *)scratch(L, n * sizeof(size_t));
    size_t ntr = 0, nte = 0;
    qnn_error err = {0};
    int rc = qnn_data_split(lab, n, (int)K, test, strat, rng, tr, &ntr, te, &nte, &err);
    qnn_lua_check_status(L, rc, &err, "qnn.data.split_indices");
    push_index_table(L, tr, ntr);
    push_index_table(L, te, nte);
    return 2;
}

static const char *const perm_opts[] = {"seed", "rng", NULL};

static int l_permutation(lua_State *L) {
    lua_Integer n = qnn_lua_checkint(L, 1, "n", 0, 0x7fffffff);
    qnn_lua_checkopts(L, 2, perm_opts);
    qnn_rng local;
    qnn_rng *rng = qnn_lua_getrng(L, lua_istable(L, 2) ? 2 : 0, &local);
    size_t *p = (size_t *)scratch(L, (size_t)n * sizeof(size_t));
    for (lua_Integer i = 0; i < n; i++) p[i] = (size_t)i;
    qnn_rng_shuffle(rng, p, (size_t)n);
    push_index_table(L, p, (size_t)n);
    return 1;
}

static int l_onehot(lua_State *L) {
    lua_settop(L, 2);
    size_t n;
    int mx;
    int *lab = check_labels(L, 1, "y", &n, &mx);
    lua_Integer K = qnn_lua_optint(L, 2, "nclasses", mx, 1, 1000000);
    if (mx > K)
        return qnn_lua_argerror(L, 2, "nclasses", "must be >= the largest label %d, got %d", mx,
                                (int)K);
    qnn_tensor *t = qnn_lua_newtensor(L, n, (size_t)K, 2);
    for (size_t i = 0; i < n; i++) qnn_tensor_row(t, i)[lab[i]] = 1.0;
    return 1;
}

static int l_vstack(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer k = (lua_Integer)lua_rawlen(L, 1);
    if (k < 1) return qnn_lua_argerror(L, 1, "tensors", "must be a non-empty list of Tensors");
    size_t rows = 0, cols = 0;
    for (lua_Integer i = 1; i <= k; i++) {
        lua_rawgeti(L, 1, i);
        qnn_tensor *t = qnn_lua_testtensor(L, -1);
        if (!t) return luaL_error(L, "bad argument #1 'tensors' to 'vstack' (entry [%d] is not an open Tensor)", (int)i);
        size_t c = t->ndim == 1 ? t->cols : t->cols;
        if (i == 1) cols = c;
        else if (c != cols)
            return luaL_error(L, "qnn.data.vstack: entry [%d] has %d columns, entry [1] has %d",
                              (int)i, (int)c, (int)cols);
        rows += t->rows;
        lua_pop(L, 1);
    }
    qnn_tensor *out = qnn_lua_newtensor(L, rows, cols, 2);
    size_t r = 0;
    for (lua_Integer i = 1; i <= k; i++) {
        lua_rawgeti(L, 1, i);
        qnn_tensor *t = qnn_lua_checktensor(L, -1);
        for (size_t j = 0; j < t->rows; j++, r++)
            memcpy(qnn_tensor_row(out, r), qnn_tensor_row(t, j), cols * sizeof(double));
        lua_pop(L, 1);
    }
    return 1;
}

static const qnn_lua_reg funcs[] = {
    {"csv", l_csv, "qnn.data.csv(path [, {label=col, header=false}]) -> Tensor [, labels]",
     "path: a CSV file of numbers (gzip-compressed files are read too).\n"
     "label: 1-based column holding an integer label, or -1 for the last column (default: no "
     "label column); header: true to skip the first line.\n"
     "Returns X (rows x feature columns Tensor) and, with label=, a table of the labels exactly "
     "as written in the file (e.g. 0-based). Malformed input raises '<path>:<line>: column <c>: ...'."},
    {"idx", l_idx, "qnn.data.idx(path [, {labels=bool, into=Tensor, row=1}]) -> Tensor, dims | labels",
     "path: an IDX file (plain or .gz), as MNIST/Fashion-MNIST ship.\n"
     "labels: read as a Lua table of integers (default: true for 1-D integer files); into: read "
     "the values into rows row, row+1, ... of this existing 2-D Tensor instead of a new one "
     "(returned).\n"
     "Returns a Tensor dims[1] x (product of the other dims) and the dims table, or the labels "
     "table (values as in the file). Errors give the byte offset (bad magic, truncation, "
     "trailing data)."},
    {"json", l_json, "qnn.data.json(path [, {key=, cols=}]) -> Tensor",
     "path: JSON holding an array of numbers, an array of equal-length arrays, or an object whose "
     "member `key` (default: the first array member) is such an array.\n"
     "cols: reshape the numbers into rows of `cols` (integer >= 1).\n"
     "Returns a Tensor (1-D for a flat array without cols). Errors give the byte offset."},
    {"colstats", l_colstats, "qnn.data.colstats(X) -> mean, std",
     "X: Tensor with >= 1 row.\nReturns 1-D Tensors of column means and population standard "
     "deviations (divide by n)."},
    {"standardize", l_standardize, "qnn.data.standardize(X, mean, std) -> X",
     "X: Tensor (modified in place); mean, std: 1-D Tensors with one entry per column.\n"
     "x = (x - mean) / std; columns with std <= 1e-12 are only centred (x - mean). Returns X."},
    {"affine", l_affine, "qnn.data.affine(X, a [, b=0]) -> X",
     "X: Tensor (modified in place); a, b: finite numbers.\nx = a*x + b. Returns X."},
    {"gather", l_gather, "qnn.data.gather(X, idx [, i0=1 [, i1=#idx]]) -> Tensor",
     "X: Tensor; idx: list of 1-based row indices in [1, rows]; i0, i1: the range of idx to use.\n"
     "Returns a new Tensor with rows X[idx[i0]], ..., X[idx[i1]]."},
    {"split_indices", l_split_indices,
     "qnn.data.split_indices(y [, nclasses] [, {test=0.2, stratify=true, seed=, rng=}]) -> train_idx, test_idx",
     "y: list of labels (integers >= 1, at least 2); nclasses: >= max(y); test: fraction in (0, 1); "
     "stratify: keep class proportions; seed/rng: random stream (default: qnn's default stream).\n"
     "The test part gets ceil(test*n) items (at least 1, at most n-1), split over classes by "
     "largest remainder. Returns two lists of 1-based indices, each in seeded random order."},
    {"permutation", l_permutation, "qnn.data.permutation(n [, {seed=, rng=}]) -> table",
     "n: integer >= 0.\nReturns a seeded random permutation of 1..n."},
    {"onehot", l_onehot, "qnn.data.onehot(y [, nclasses]) -> Tensor",
     "y: list of labels (integers >= 1); nclasses: >= max(y).\nReturns an #y x nclasses Tensor "
     "with a 1 in column y[i] of row i."},
    {"vstack", l_vstack, "qnn.data.vstack({T1, T2, ...}) -> Tensor",
     "Ti: Tensors with the same number of columns.\nReturns a new Tensor with their rows stacked."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(data) {
    qnn_lua_subtable(L, 1, "data");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.data.");
    lua_pop(L, 1);
    return 0;
}
