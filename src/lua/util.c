/* Shared helpers for the Lua bindings: registration with docs, argument checks, options,
 * status conversion, random streams and progress adapters. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qnn_lua.h"

static const char DOCS_KEY[] = "qnn.docs";

static void push_docs(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
    }
}

void qnn_lua_document(lua_State *L, int idx, const char *name, const char *sig, const char *doc) {
    idx = lua_absindex(L, idx);
    push_docs(L);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, sig ? sig : name);
    lua_setfield(L, -2, "sig");
    lua_pushstring(L, doc ? doc : "");
    lua_setfield(L, -2, "doc");
    /* docs[value] = rec; docs[name] = rec */
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_settable(L, -4);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void qnn_lua_setfuncs(lua_State *L, int t, const qnn_lua_reg *regs, const char *prefix) {
    t = lua_absindex(L, t);
    char full[256];
    for (; regs && regs->name; regs++) {
        lua_pushcfunction(L, regs->fn);
        snprintf(full, sizeof full, "%s%s", prefix ? prefix : "", regs->name);
        qnn_lua_document(L, -1, full, regs->sig, regs->doc);
        lua_setfield(L, t, regs->name);
    }
}

void qnn_lua_subtable(lua_State *L, int t, const char *name) {
    t = lua_absindex(L, t);
    if (lua_getfield(L, t, name) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, t, name);
    }
}

void qnn_lua_newclass(lua_State *L, const char *tname, const qnn_lua_reg *methods,
                      const luaL_Reg *meta) {
    char prefix[128];
    const char *shortname = strncmp(tname, "qnn.", 4) == 0 ? tname + 4 : tname;
    snprintf(prefix, sizeof prefix, "%s:", shortname);
    luaL_newmetatable(L, tname); /* sets __name */
    int mt = lua_gettop(L);
    if (meta) luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    qnn_lua_setfuncs(L, -1, methods, prefix);
    if (lua_getfield(L, mt, "__index") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, mt, "__index");
    } else {
        lua_pop(L, 1);
    }
    lua_setfield(L, mt, "methods"); /* metatable.methods = methods table (for help/completion) */
    lua_pop(L, 1);
}

static const char *fname(lua_State *L, char *buf, size_t n) {
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) {
        snprintf(buf, n, "%s", ar.name);
    } else {
        snprintf(buf, n, "?");
        /* no call-site name (e.g. called through pcall): use the documented name, if any */
        if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "f", &ar)) {
            push_docs(L);
            lua_pushvalue(L, -2);
            if (lua_gettable(L, -2) == LUA_TTABLE && lua_getfield(L, -1, "name") == LUA_TSTRING) {
                snprintf(buf, n, "%s", lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 3);
        }
    }
    return buf;
}

int qnn_lua_argerror(lua_State *L, int arg, const char *argname, const char *fmt, ...) {
    char msg[400], fn[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lua_Debug ar;
    int is_method = lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.namewhat &&
                    strcmp(ar.namewhat, "method") == 0;
    if (is_method) arg--; /* do not count self, as luaL_argerror does */
    fname(L, fn, sizeof fn);
    if (arg > 0)
        return luaL_error(L, "bad argument #%d '%s' to '%s' (%s)", arg, argname, fn, msg);
    return luaL_error(L, "bad argument '%s' to '%s' (%s)", argname, fn, msg);
}

static const char *describe(lua_State *L, int arg, char *buf, size_t n) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
        if (lua_isinteger(L, arg))
            snprintf(buf, n, "%lld", (long long)lua_tointeger(L, arg));
        else
            snprintf(buf, n, "%.17g", lua_tonumber(L, arg));
    } else if (lua_type(L, arg) == LUA_TSTRING) {
        snprintf(buf, n, "\"%.40s\"", lua_tostring(L, arg));
    } else {
        snprintf(buf, n, "%s", luaL_typename(L, arg));
    }
    return buf;
}

static void range_text(char *buf, size_t n, lua_Integer lo, lua_Integer hi) {
    if (lo == LUA_MININTEGER && hi == LUA_MAXINTEGER) snprintf(buf, n, "an integer");
    else if (hi == LUA_MAXINTEGER) snprintf(buf, n, "an integer >= %lld", (long long)lo);
    else if (lo == LUA_MININTEGER) snprintf(buf, n, "an integer <= %lld", (long long)hi);
    else snprintf(buf, n, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
}

static void nrange_text(char *buf, size_t n, double lo, double hi) {
    if (isinf(lo) && isinf(hi)) snprintf(buf, n, "a finite number");
    else if (isinf(hi)) snprintf(buf, n, "a number >= %g", lo);
    else if (isinf(lo)) snprintf(buf, n, "a number <= %g", hi);
    else snprintf(buf, n, "a number in [%g, %g]", lo, hi);
}

lua_Integer qnn_lua_checkint(lua_State *L, int arg, const char *argname, lua_Integer lo,
                             lua_Integer hi) {
    char r[96], got[64];
    int ok = 0;
    lua_Integer v = lua_tointegerx(L, arg, &ok);
    if (!ok || v < lo || v > hi) {
        range_text(r, sizeof r, lo, hi);
        qnn_lua_argerror(L, arg, argname, "must be %s, got %s", r, describe(L, arg, got, sizeof got));
    }
    return v;
}

lua_Integer qnn_lua_optint(lua_State *L, int arg, const char *argname, lua_Integer def,
                           lua_Integer lo, lua_Integer hi) {
    if (lua_isnoneornil(L, arg)) return def;
    return qnn_lua_checkint(L, arg, argname, lo, hi);
}

double qnn_lua_checknum(lua_State *L, int arg, const char *argname, double lo, double hi) {
    char r[96], got[64];
    int ok = 0;
    double v = lua_tonumberx(L, arg, &ok);
    if (!ok || isnan(v) || isinf(v) || v < lo || v > hi) {
        nrange_text(r, sizeof r, lo, hi);
        qnn_lua_argerror(L, arg, argname, "must be %s, got %s", r, describe(L, arg, got, sizeof got));
    }
    return v;
}

double qnn_lua_optnum(lua_State *L, int arg, const char *argname, double def, double lo,
                      double hi) {
    if (lua_isnoneornil(L, arg)) return def;
    return qnn_lua_checknum(L, arg, argname, lo, hi);
}

double qnn_lua_checkfinite(lua_State *L, int arg, const char *argname) {
    return qnn_lua_checknum(L, arg, argname, -INFINITY, INFINITY);
}

int qnn_lua_checkopts(lua_State *L, int arg, const char *const allowed[]) {
    if (lua_isnoneornil(L, arg)) return 0;
    if (!lua_istable(L, arg))
        return qnn_lua_argerror(L, arg, "options", "must be a table of options, got %s",
                                luaL_typename(L, arg)), 0;
    arg = lua_absindex(L, arg);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            continue; /* positional entries are the caller's business (keep the key for next) */
        }
        const char *k = lua_tostring(L, -1);
        int found = 0;
        for (const char *const *a = allowed; a && *a; a++)
            if (strcmp(*a, k) == 0) found = 1;
        if (!found) {
            luaL_Buffer b;
            char head[160];
            snprintf(head, sizeof head, "unknown option '%.60s'; allowed: ", k);
            luaL_buffinit(L, &b);
            luaL_addstring(&b, head);
            for (const char *const *a = allowed; a && *a; a++) {
                if (a != allowed) luaL_addstring(&b, ", ");
                luaL_addstring(&b, *a);
            }
            luaL_pushresult(&b);
            return qnn_lua_argerror(L, arg, "options", "%s", lua_tostring(L, -1));
        }
    }
    return 1;
}

static int field_error(lua_State *L, const char *key, const char *what, int vidx) {
    char fn[64], got[64];
    fname(L, fn, sizeof fn);
    return luaL_error(L, "bad option '%s' to '%s' (must be %s, got %s)", key, fn, what,
                      describe(L, vidx, got, sizeof got));
}

lua_Integer qnn_lua_optfield_int(lua_State *L, int t, const char *key, lua_Integer def,
                                 lua_Integer lo, lua_Integer hi) {
    if (t == 0 || !lua_istable(L, t)) return def;
    lua_getfield(L, t, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return def;
    }
    int ok = 0;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < lo || v > hi) {
        char r[96];
        range_text(r, sizeof r, lo, hi);
        field_error(L, key, r, lua_gettop(L));
    }
    lua_pop(L, 1);
    return v;
}

double qnn_lua_optfield_num(lua_State *L, int t, const char *key, double def, double lo,
                            double hi) {
    if (t == 0 || !lua_istable(L, t)) return def;
    lua_getfield(L, t, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return def;
    }
    int ok = 0;
    double v = lua_tonumberx(L, -1, &ok);
    if (!ok || isnan(v) || isinf(v) || v < lo || v > hi) {
        char r[96];
        nrange_text(r, sizeof r, lo, hi);
        field_error(L, key, r, lua_gettop(L));
    }
    lua_pop(L, 1);
    return v;
}

int qnn_lua_optfield_bool(lua_State *L, int t, const char *key, int def) {
    if (t == 0 || !lua_istable(L, t)) return def;
    lua_getfield(L, t, key);
    int v = def;
    if (lua_isboolean(L, -1)) v = lua_toboolean(L, -1);
    else if (!lua_isnil(L, -1)) field_error(L, key, "a boolean", lua_gettop(L));
    lua_pop(L, 1);
    return v;
}

const char *qnn_lua_optfield_str(lua_State *L, int t, const char *key, const char *def) {
    if (t == 0 || !lua_istable(L, t)) return def;
    lua_getfield(L, t, key);
    const char *v = def;
    if (lua_type(L, -1) == LUA_TSTRING) v = lua_tostring(L, -1); /* anchored in the table */
    else if (!lua_isnil(L, -1)) field_error(L, key, "a string", lua_gettop(L));
    lua_pop(L, 1);
    return v;
}

int qnn_lua_optfield_choice(lua_State *L, int t, const char *key, const char *const choices[],
                            int def_index) {
    if (t == 0 || !lua_istable(L, t)) return def_index;
    lua_getfield(L, t, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return def_index;
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        for (int i = 0; choices[i]; i++)
            if (strcmp(choices[i], s) == 0) {
                lua_pop(L, 1);
                return i;
            }
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "one of ");
    for (int i = 0; choices[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addchar(&b, '"');
        luaL_addstring(&b, choices[i]);
        luaL_addchar(&b, '"');
    }
    luaL_pushresult(&b);
    field_error(L, key, lua_tostring(L, -1), lua_gettop(L) - 1);
    return def_index;
}

void qnn_lua_check_status(lua_State *L, int status, const qnn_error *err, const char *where) {
    if (status == QNN_OK) return;
    if (status == QNN_EINTR) {
        qnn_interrupt_clear();
        luaL_error(L, "interrupted");
    }
    const char *msg = (err && err->msg[0]) ? err->msg : qnn_strerror(status);
    luaL_error(L, "%s: %s", where ? where : "qnn", msg);
}

/* ---------------- random streams ---------------- */
static const char RNG_T[] = "qnn.Rng";
static const char DEFAULT_RNG_KEY[] = "qnn.default_rng";

qnn_rng *qnn_lua_checkrng(lua_State *L, int arg) {
    return (qnn_rng *)luaL_checkudata(L, arg, RNG_T);
}

qnn_rng *qnn_lua_default_rng(lua_State *L) {
    qnn_rng *r;
    if (lua_getfield(L, LUA_REGISTRYINDEX, DEFAULT_RNG_KEY) == LUA_TUSERDATA) {
        r = (qnn_rng *)lua_touserdata(L, -1);
        lua_pop(L, 1);
        return r;
    }
    lua_pop(L, 1);
    r = (qnn_rng *)lua_newuserdatauv(L, sizeof *r, 0);
    qnn_rng_seed(r, 5489u);
    luaL_setmetatable(L, RNG_T);
    lua_setfield(L, LUA_REGISTRYINDEX, DEFAULT_RNG_KEY);
    return r;
}

qnn_rng *qnn_lua_getrng(lua_State *L, int t, qnn_rng *local) {
    if (t != 0 && lua_istable(L, t)) {
        lua_getfield(L, t, "seed");
        if (!lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_Integer s = qnn_lua_optfield_int(L, t, "seed", 0, LUA_MININTEGER, LUA_MAXINTEGER);
            qnn_rng_seed(local, (uint64_t)s);
            return local;
        }
        lua_pop(L, 1);
        lua_getfield(L, t, "rng");
        if (!lua_isnil(L, -1)) {
            qnn_rng *r = (qnn_rng *)luaL_testudata(L, -1, RNG_T);
            if (!r) field_error(L, "rng", "a qnn.Rng (from qnn.rng(seed))", lua_gettop(L));
            lua_pop(L, 1); /* the table keeps it alive */
            return r;
        }
        lua_pop(L, 1);
    }
    return qnn_lua_default_rng(L);
}

/* ---------------- progress ---------------- */
static int progress_cb(void *ud, double done, double total) {
    qnn_lua_progress *p = (qnn_lua_progress *)ud;
    lua_State *L = p->L;
    if (p->ref == LUA_NOREF) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    if (lua_getfield(L, -1, "update") != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return 0;
    }
    lua_pushvalue(L, -2);
    lua_pushnumber(L, done);
    lua_pushnumber(L, total);
    int rc = lua_pcall(L, 3, 0, 0);
    if (rc != LUA_OK) {
        lua_pop(L, 1); /* drop error; progress bars must never stop work */
        p->failed = 1;
    }
    lua_pop(L, 1);
    return 0;
}

static int quiet_env(void) {
    const char *q = getenv("QNN_QUIET");
    return q && *q && strcmp(q, "0") != 0;
}

void qnn_lua_progress_init(lua_State *L, qnn_lua_progress *p, int t, const char *label) {
    p->L = L;
    p->ref = LUA_NOREF;
    p->failed = 0;
    p->cb.fn = progress_cb;
    p->cb.ud = p;
    if (t != 0 && lua_istable(L, t)) {
        lua_getfield(L, t, "progress");
        int off = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (off) return;
    }
    if (quiet_env() || !isatty(STDOUT_FILENO)) return;
    /* bar = require("qnn.progress").bar{label=label} */
    lua_getglobal(L, "require");
    lua_pushstring(L, "qnn.progress");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    if (lua_getfield(L, -1, "bar") != LUA_TFUNCTION) {
        lua_pop(L, 2);
        return;
    }
    lua_createtable(L, 0, 1);
    lua_pushstring(L, label ? label : "");
    lua_setfield(L, -2, "label");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 2);
        return;
    }
    p->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
}

void qnn_lua_progress_done(qnn_lua_progress *p) {
    lua_State *L = p->L;
    if (p->ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
    if (lua_getfield(L, -1, "finish") == LUA_TFUNCTION) {
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, p->ref);
    p->ref = LUA_NOREF;
}

const char *qnn_lua_typename(lua_State *L, int idx) {
    const char *name = NULL;
    if (lua_type(L, idx) != LUA_TUSERDATA) return NULL;
    if (!lua_getmetatable(L, idx)) return NULL;
    if (lua_getfield(L, -1, "__name") == LUA_TSTRING) {
        const char *n = lua_tostring(L, -1);
        if (strncmp(n, "qnn.", 4) == 0) name = n + 4; /* points into an interned string kept by the metatable */
    }
    lua_pop(L, 2);
    return name;
}

void qnn_lua_checkwork(lua_State *L, const char *where, const char *what, double work,
                       double limit, const char *hint) {
    if (!(work <= limit)) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s: %s = %.3g exceeds the limit of %.3g (%s)", where, what, work,
                 limit, hint);
        lua_pushstring(L, msg);
        lua_error(L);
    }
}

/* ---------------- object lifetime ---------------- */
static const char LIFE_FIELD[] = "__qnn_life";

void qnn_lua_setlife(lua_State *L, const char *tname, const qnn_lua_life *life) {
    luaL_getmetatable(L, tname);
    lua_pushlightuserdata(L, (void *)life);
    lua_setfield(L, -2, LIFE_FIELD);
    lua_pop(L, 1);
}

static const qnn_lua_life *life_of(lua_State *L, int idx) {
    const qnn_lua_life *life = NULL;
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
    if (lua_getfield(L, -1, LIFE_FIELD) == LUA_TLIGHTUSERDATA)
        life = (const qnn_lua_life *)lua_touserdata(L, -1);
    lua_pop(L, 2);
    return life;
}

int qnn_lua_isopen(lua_State *L, int idx) {
    const qnn_lua_life *life = life_of(L, idx);
    if (!life) return -1;
    return life->isopen(lua_touserdata(L, idx)) ? 1 : 0;
}

int qnn_lua_closederror(lua_State *L, int arg, const char *argname, const char *tname) {
    lua_Debug ar;
    int is_method = lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.namewhat &&
                    (strcmp(ar.namewhat, "method") == 0 || strcmp(ar.namewhat, "metamethod") == 0);
    /* self of a method or metamethod, or a value that is not an argument (a user value) */
    if (arg <= 0 || (arg == 1 && is_method)) return luaL_error(L, "%s is closed", tname);
    return qnn_lua_argerror(L, arg, argname, "%s is closed", tname);
}

void qnn_lua_checkopen(lua_State *L, int arg, const char *argname) {
    const qnn_lua_life *life = life_of(L, arg);
    if (life && !life->isopen(lua_touserdata(L, arg)))
        qnn_lua_closederror(L, arg, argname, life->name);
}

void qnn_lua_borrow(lua_State *L, int self, int uv, int obj) {
    self = lua_absindex(L, self);
    lua_pushvalue(L, obj);
    lua_setiuservalue(L, self, uv);
}

void qnn_lua_checkborrow(lua_State *L, int self, int uv) {
    self = lua_absindex(L, self);
    lua_getiuservalue(L, self, uv);
    const qnn_lua_life *life = life_of(L, -1);
    if (life && !life->isopen(lua_touserdata(L, -1))) {
        const qnn_lua_life *me = life_of(L, self);
        const char *who = me ? me->name : qnn_lua_typename(L, self);
        luaL_error(L, "%s: the %s it uses is closed (close it only after the %s)",
                   who ? who : "object", life->name, who ? who : "object");
    }
    lua_pop(L, 1);
}

static void pin1(lua_State *L, int idx, int delta) {
    const qnn_lua_life *life = life_of(L, idx);
    if (life && life->busy) *life->busy(lua_touserdata(L, idx)) += delta;
}

void qnn_lua_pin(lua_State *L, int idx, int uv, int delta) {
    idx = lua_absindex(L, idx);
    pin1(L, idx, delta);
    if (uv > 0) {
        lua_getiuservalue(L, idx, uv);
        pin1(L, -1, delta);
        lua_pop(L, 1);
    }
}

void qnn_lua_checknotbusy(lua_State *L, int idx) {
    const qnn_lua_life *life = life_of(L, idx);
    if (life && life->busy && *life->busy(lua_touserdata(L, idx)) > 0)
        luaL_error(L, "%s is in use by a running method (e.g. inside a callback of "
                      "GroverTrainer:pass); close it after that method returns", life->name);
}

/* ---------------- C memory accounting ---------------- */
static const char MEM_KEY = 'm';
static const char *const mem_names[QNN_MEM_NKINDS] = {
    "State", "Density", "Tensor", "Circuit", "Net", "Optimizer", "GroverTrainer",
    "QuantumTrain", "Ising", "IsingNet"};
#define MEM_MIN_SLACK ((size_t)64 << 20)

typedef struct mem_stats {
    size_t live[QNN_MEM_NKINDS];
    size_t count[QNN_MEM_NKINDS];
    size_t total;
    size_t threshold;  /* a full collection runs before total would pass this */
    size_t collections;
    int collecting;
} mem_stats;

/* The stats of this lua_State; created on first use when `create` (never from a finalizer). */
static mem_stats *get_stats(lua_State *L, int create) {
    mem_stats *s = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &MEM_KEY) == LUA_TUSERDATA)
        s = (mem_stats *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (s || !create) return s;
    s = (mem_stats *)lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->threshold = MEM_MIN_SLACK;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &MEM_KEY);
    return s;
}

static void maybe_collect(lua_State *L, mem_stats *s, size_t incoming) {
    if (s->collecting || s->total + incoming <= s->threshold) return;
    if (!lua_gc(L, LUA_GCISRUNNING)) return; /* the user stopped the collector */
    s->collecting = 1;
    lua_gc(L, LUA_GCCOLLECT);
    s->collecting = 0;
    s->collections++;
    size_t heap = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024u;
    size_t slack = s->total > MEM_MIN_SLACK ? s->total : MEM_MIN_SLACK;
    if (heap > slack) slack = heap;
    s->threshold = s->total + incoming + slack; /* the incoming object does not count twice */
}

void qnn_lua_mem_reserve(lua_State *L, size_t bytes) {
    maybe_collect(L, get_stats(L, 1), bytes);
}

void qnn_lua_mem_set(lua_State *L, qnn_lua_mem *m, int kind, size_t bytes) {
    if (bytes == m->bytes && (bytes == 0 || kind == m->kind)) return; /* hot path: unchanged */
    mem_stats *s = get_stats(L, 1);
    size_t prev = m->bytes;
    if (prev) { /* drop the old record */
        s->live[m->kind] -= prev;
        s->total -= prev;
        s->count[m->kind]--;
        m->bytes = 0;
    }
    if (!bytes) return;
    if (bytes > prev) maybe_collect(L, s, bytes); /* the object itself is reachable */
    m->kind = kind;
    m->bytes = bytes;
    s->live[kind] += bytes;
    s->count[kind]++;
    s->total += bytes;
}

void qnn_lua_mem_release(lua_State *L, qnn_lua_mem *m) {
    if (!m->bytes) return;
    mem_stats *s = get_stats(L, 0);
    if (s) {
        s->live[m->kind] -= m->bytes;
        s->total -= m->bytes;
        s->count[m->kind]--;
    }
    m->bytes = 0;
}

/* qnn.memory() -> {total=, State=, ..., counts={State=, ...}, collections=} */
int qnn_lua_memory(lua_State *L) {
    mem_stats *s = get_stats(L, 1);
    lua_createtable(L, 0, QNN_MEM_NKINDS + 3);
    lua_createtable(L, 0, QNN_MEM_NKINDS);
    for (int k = 0; k < QNN_MEM_NKINDS; k++) {
        lua_pushinteger(L, (lua_Integer)s->live[k]);
        lua_setfield(L, -3, mem_names[k]);
        lua_pushinteger(L, (lua_Integer)s->count[k]);
        lua_setfield(L, -2, mem_names[k]);
    }
    lua_setfield(L, -2, "counts");
    lua_pushinteger(L, (lua_Integer)s->total);
    lua_setfield(L, -2, "total");
    lua_pushinteger(L, (lua_Integer)s->collections);
    lua_setfield(L, -2, "collections");
    return 1;
}
