/* Internal header shared by the Lua binding files in src/lua/.
 *
 * Conventions (read before adding a binding):
 *  - One userdata type per file, metatable named "qnn.<Type>" (luaL_newmetatable name), with
 *    __tostring, __gc, __close and __name. Use qnn_lua_newclass().
 *  - Each binding file defines exactly one opener with QNN_LUA_OPENER(name) { ... return 0; }.
 *    The Makefile scans src/lua/ *.c for QNN_LUA_OPENER(...) and luaopen_qnn calls every opener
 *    with the qnn module table at stack index 1 (the opener adds its functions/subtables to it
 *    and must leave the stack as it found it).
 *  - Every public function and method is registered with a doc string (qnn_lua_reg): the
 *    signature line, then arguments with allowed ranges, then what it returns. qnn.help() shows
 *    them and a test checks that every public function has one.
 *  - Arguments are checked before any memory is touched; errors name the function, the argument
 *    and the allowed range (use the qnn_lua_check* helpers below).
 *  - Core status codes become Lua errors only here: qnn_lua_check_status().
 */
#ifndef QNN_LUA_INTERNAL_H
#define QNN_LUA_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "qnn/common.h"
#include "qnn/rng.h"

#define QNN_LUA_OPENER(name) int qnn_lua_open_##name(lua_State *L)

typedef struct qnn_lua_reg {
    const char *name;   /* Lua name of the function/method */
    lua_CFunction fn;
    const char *sig;    /* e.g. "qnn.state(n) -> State" or "State:h(q) -> State" */
    const char *doc;    /* arguments with ranges, returns; may span lines */
} qnn_lua_reg;

/* ---- registration ---- */
/* Sets the functions of `regs` (NULL-name terminated) into the table at index t, registering
 * their docs under "<prefix><name>" (prefix like "qnn." or "qnn.grover."). */
void qnn_lua_setfuncs(lua_State *L, int t, const qnn_lua_reg *regs, const char *prefix);
/* Creates (or fetches) the sub-table qnn[name] of the module table at index t and pushes it. */
void qnn_lua_subtable(lua_State *L, int t, const char *name);
/* Creates the metatable `tname` ("qnn.State"): methods (doc'ed, registered as "State:name"),
 * plus metamethods `meta` (luaL_Reg, may be NULL). __index = methods table unless meta has
 * __index. Leaves the stack unchanged. */
void qnn_lua_newclass(lua_State *L, const char *tname, const qnn_lua_reg *methods,
                      const luaL_Reg *meta);
/* Attach a doc to the value on top of the stack (any function/table) under `name`. */
void qnn_lua_document(lua_State *L, int idx, const char *name, const char *sig, const char *doc);

/* ---- argument checks (all raise a Lua error naming function, argument and range) ---- */
int qnn_lua_argerror(lua_State *L, int arg, const char *argname, const char *fmt, ...);
lua_Integer qnn_lua_checkint(lua_State *L, int arg, const char *argname, lua_Integer lo,
                             lua_Integer hi);
lua_Integer qnn_lua_optint(lua_State *L, int arg, const char *argname, lua_Integer def,
                           lua_Integer lo, lua_Integer hi);
double qnn_lua_checknum(lua_State *L, int arg, const char *argname, double lo, double hi);
double qnn_lua_optnum(lua_State *L, int arg, const char *argname, double def, double lo,
                      double hi);
/* Finite number (no NaN/inf), any value. */
double qnn_lua_checkfinite(lua_State *L, int arg, const char *argname);

/* ---- option tables ({epochs=10, seed=1}) ---- */
/* Raises if the value at arg is neither nil nor a table; errors on keys not in `allowed`
 * (NULL-terminated) so typos like {epoch=5} are caught. Returns 1 if a table is present. */
int qnn_lua_checkopts(lua_State *L, int arg, const char *const allowed[]);
lua_Integer qnn_lua_optfield_int(lua_State *L, int t, const char *key, lua_Integer def,
                                 lua_Integer lo, lua_Integer hi);
double qnn_lua_optfield_num(lua_State *L, int t, const char *key, double def, double lo,
                            double hi);
int qnn_lua_optfield_bool(lua_State *L, int t, const char *key, int def);
const char *qnn_lua_optfield_str(lua_State *L, int t, const char *key, const char *def);
/* Returns index into `choices` (NULL-terminated) of string field `key`, or def_index if absent. */
int qnn_lua_optfield_choice(lua_State *L, int t, const char *key, const char *const choices[],
                            int def_index);

/* ---- status -> Lua error ---- */
/* If status != QNN_OK raise "<where>: <message>" (err->msg if set, else qnn_strerror).
 * QNN_EINTR becomes the error "interrupted". */
void qnn_lua_check_status(lua_State *L, int status, const qnn_error *err, const char *where);

/* ---- random streams ---- */
/* The default stream of this lua_State (set by qnn.seed(n)). */
qnn_rng *qnn_lua_default_rng(lua_State *L);
/* Stream to use for a call with option table at index t (0 = none): if t has `seed` (integer),
 * seeds `local` and returns it; if t has `rng` (a qnn.Rng), returns that stream; else the
 * default stream. */
qnn_rng *qnn_lua_getrng(lua_State *L, int t, qnn_rng *local);
/* Check a qnn.Rng userdata. */
qnn_rng *qnn_lua_checkrng(lua_State *L, int arg);

/* ---- progress ---- */
/* A progress adapter that drives a Lua progress bar (lua/qnn/progress.lua) from C loops.
 * Init pushes nothing permanent onto the stack except one value at the returned slot; call
 * qnn_lua_progress_done() afterwards (also on error paths before raising). If `opts` table at
 * index t has `progress=false` or QNN_QUIET=1 or stdout is not a TTY the bar is silent. */
typedef struct qnn_lua_progress {
    lua_State *L;
    int ref;          /* registry ref of the bar object, LUA_NOREF if silent */
    int failed;       /* set if the Lua callback raised */
    qnn_progress cb;  /* pass &p.cb to core loops */
} qnn_lua_progress;
void qnn_lua_progress_init(lua_State *L, qnn_lua_progress *p, int t, const char *label);
void qnn_lua_progress_done(qnn_lua_progress *p);

/* ---- limits on user-given counts ----
 * Shots are drawn one by one (each a table update in Lua): 2^30 shots take about a minute, so
 * larger counts are refused with an error naming the limit instead of running for hours. */
#define QNN_LUA_MAX_SHOTS ((lua_Integer)1 << 30)
/* Products of counts (reads x sweeps x spins, points x 2^3n, ...) are bounded by this many
 * elementary updates (about a quarter of an hour at 1 ns each); the error names the product. */
#define QNN_LUA_MAX_WORK 1e12
/* Raises "<where>: <what> = <work> exceeds the limit of <limit> (<hint>)" if work > limit. */
void qnn_lua_checkwork(lua_State *L, const char *where, const char *what, double work,
                       double limit, const char *hint);

/* ---- misc ---- */
/* Name of the qnn userdata type at idx ("State"), or NULL. */
const char *qnn_lua_typename(lua_State *L, int idx);

#endif

/* ---- shared userdata accessors (each implemented in its type's binding file) ---- */
#include "qnn/tensor.h"
/* qnn.Tensor (src/lua/tensor.c). The userdata holds a qnn_tensor; views keep their parent
 * alive through user value 1. */
qnn_tensor *qnn_lua_checktensor(lua_State *L, int arg);
qnn_tensor *qnn_lua_testtensor(lua_State *L, int arg);           /* NULL if not a Tensor */
/* Pushes a new zero-filled owning Tensor; raises a Lua error on OOM. */
qnn_tensor *qnn_lua_newtensor(lua_State *L, size_t rows, size_t cols, int ndim);
/* Accepts a Tensor or a (nested) Lua table of numbers at arg and returns a tensor; a table is
 * converted into a new Tensor pushed on the stack (so it stays alive), else nothing is pushed.
 * *pushed tells which. */
qnn_tensor *qnn_lua_totensor(lua_State *L, int arg, const char *argname, int *pushed);
/* Pushes a non-owning Tensor view of `data` (rows x cols, row stride ld, ndim 1 or 2) whose
 * memory belongs to the userdata at stack index `anchor` (kept alive through the view's user
 * value). `anchor_closed` (may be NULL) points at the owner's "closed" flag: when it becomes
 * non-zero the view raises "Tensor is closed" instead of touching freed memory. */
qnn_tensor *qnn_lua_newview(lua_State *L, int anchor, const int *anchor_closed, double *data,
                            size_t rows, size_t cols, size_t ld, int ndim);

/* Opaque simulator types (src/lua/state.c, density.c, circuit.c). */
struct qnn_state;
struct qnn_density;
struct qnn_circuit;
struct qnn_state *qnn_lua_checkstate(lua_State *L, int arg);
struct qnn_density *qnn_lua_checkdensity(lua_State *L, int arg);
struct qnn_circuit *qnn_lua_checkcircuit(lua_State *L, int arg);
/* Noise model (src/lua/circuit.c): nil/false -> 0 (no noise, *nm zeroed); a table with fields
 * p1, p2, amp_damp, phase_damp, bit_flip, phase_flip in [0, 1] -> 1; anything else raises an
 * error prefixed with `where`. */
struct qnn_noise;
int qnn_lua_checknoise(lua_State *L, int idx, const char *where, struct qnn_noise *nm);
/* State/Density helpers (src/lua/state.c, density.c): test* return NULL if the value at arg is
 * not an open State/Density; push* create a new |0..0> object on n qubits and push it (raise a
 * Lua error, nothing allocated, if n is out of range or too large). */
struct qnn_state *qnn_lua_teststate(lua_State *L, int arg);
struct qnn_density *qnn_lua_testdensity(lua_State *L, int arg);
struct qnn_state *qnn_lua_pushstate(lua_State *L, int n);
struct qnn_density *qnn_lua_pushdensity(lua_State *L, int n);

/* qnn.Net (src/lua/nn.c). */
struct qnn_net;
struct qnn_net *qnn_lua_checknet(lua_State *L, int arg);
/* Layer specs for qnn.nn.sequential: a Lua table with field `_build`, a C function called as
 * _build(net_lightuserdata, spec) that appends one layer to the (unbuilt) struct qnn_net with
 * qnn_net_add_layer()/qnn_net_add_dense()/... and raises a Lua error on failure. Fields `in`,
 * `out` (integers) are optional hints. For qnn.nn.load of custom layers, register a function
 * qnn.nn.layer_loaders[name] = function(in, out, nparams, fparam_table) -> spec. */

/* ---- object lifetime: open checks and borrowed objects ----
 * Every closable userdata type registers how to tell whether an instance is open
 * (qnn_lua_setlife after qnn_lua_newclass). A userdata that points into another one (trainer ->
 * net, generator -> net, net -> its last input) borrows it: qnn_lua_borrow keeps the borrowed
 * object alive in one of the borrower's user values, and the borrower's check function calls
 * qnn_lua_checkborrow at every entry, so a borrowed object closed by the user raises a Lua
 * error ("GroverTrainer: the Net it uses is closed") instead of touching freed memory. */
#ifndef QNN_LUA_LIFE_H
#define QNN_LUA_LIFE_H
typedef struct qnn_lua_life {
    const char *name;                /* "State" */
    int (*isopen)(const void *ud);   /* 1 while usable */
    int *(*busy)(void *ud);          /* pin counter (NULL: the type cannot be pinned) */
} qnn_lua_life;
/* Sets the life record of metatable `tname` (a static object). */
void qnn_lua_setlife(lua_State *L, const char *tname, const qnn_lua_life *life);
/* 1 if the value at idx is an open qnn object, 0 if it is a closed one, -1 if it is no qnn
 * object with a life record. */
int qnn_lua_isopen(lua_State *L, int idx);
/* Raises "bad argument #arg 'argname' to 'f' (<Type> is closed)" if the value at arg is a
 * closed qnn object; returns otherwise. */
void qnn_lua_checkopen(lua_State *L, int arg, const char *argname);
/* Error for a closed object of type `tname` ("State") passed as argument arg. */
int qnn_lua_closederror(lua_State *L, int arg, const char *argname, const char *tname);
/* Userdata `self` borrows the value at `obj`: stored in user value `uv` (keeps it alive). */
void qnn_lua_borrow(lua_State *L, int self, int uv, int obj);
/* Raises "<Self>: the <Type> it uses is closed" if user value `uv` of `self` holds a closed
 * qnn object (nil or a non-qnn value passes). */
void qnn_lua_checkborrow(lua_State *L, int self, int uv);
/* Pins (delta +1) or unpins (-1) the object at idx (and, with uv > 0, the object in that user
 * value) while a C loop that runs Lua callbacks uses it: close() of a pinned object raises
 * "<Type> is in use ..." instead of freeing memory under the loop. Unpin before raising. */
void qnn_lua_pin(lua_State *L, int idx, int uv, int delta);
/* For close(): raises if the object at idx is pinned. */
void qnn_lua_checknotbusy(lua_State *L, int idx);

/* ---- C memory accounting (qnn.memory(), garbage collection) ----
 * Lua does not see the C memory behind a userdata, so a loop creating large States would let
 * garbage pile up. Each userdata records its C bytes in a qnn_lua_mem; the per-lua_State
 * totals drive full collections: when the live C bytes would pass a threshold (twice the live
 * bytes after the last collection, at least that plus max(64 MiB, Lua heap)), qnn runs a full
 * collection first, which frees (finalizes) unreachable objects before the new allocation. */
enum {
    QNN_MEM_STATE, QNN_MEM_DENSITY, QNN_MEM_TENSOR, QNN_MEM_CIRCUIT, QNN_MEM_NET,
    QNN_MEM_OPTIMIZER, QNN_MEM_GROVER_TRAINER, QNN_MEM_QUANTUM_TRAIN, QNN_MEM_ISING,
    QNN_MEM_ISING_NET, QNN_MEM_NKINDS
};
typedef struct qnn_lua_mem {
    size_t bytes; /* accounted to the totals */
    int kind;     /* QNN_MEM_* */
} qnn_lua_mem;
/* Call before allocating `bytes` of C memory for a new object: may run a full collection. */
void qnn_lua_mem_reserve(lua_State *L, size_t bytes);
/* Sets the accounted size of an object (new or resized); growth may run a collection (the
 * object itself must be reachable, e.g. on the stack). */
void qnn_lua_mem_set(lua_State *L, qnn_lua_mem *m, int kind, size_t bytes);
/* The object freed its memory (close or __gc). */
void qnn_lua_mem_release(lua_State *L, qnn_lua_mem *m);
/* qnn.memory() */
int qnn_lua_memory(lua_State *L);
#endif
