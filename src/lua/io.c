/* qnn.io: the library's one way of writing files (atomic replacement, include/qnn/fileio.h),
 * for the Lua half (qnn.report's CSV/JSON writers) and user scripts. */
#include <string.h>

#include "qnn/fileio.h"
#include "qnn_lua.h"

static const char *checkpath(lua_State *L, int arg, const char *argname) {
    size_t n = 0;
    const char *p = lua_type(L, arg) == LUA_TSTRING ? lua_tolstring(L, arg, &n) : NULL;
    if (!p) qnn_lua_argerror(L, arg, argname, "must be a string, got %s", luaL_typename(L, arg));
    if (n == 0 || strlen(p) != n)
        qnn_lua_argerror(L, arg, argname, "must be a non-empty path without NUL bytes");
    return p;
}

static int l_write_atomic(lua_State *L) {
    const char *path = checkpath(L, 1, "path");
    size_t n = 0;
    const char *data = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &n) : NULL;
    if (!data) return qnn_lua_argerror(L, 2, "data", "must be a string, got %s", luaL_typename(L, 2));
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_write_atomic(path, data, n, &err), &err, "qnn.io.write_atomic");
    lua_settop(L, 1);
    return 1;
}

static int l_install(lua_State *L) {
    const char *src = checkpath(L, 1, "src");
    const char *path = checkpath(L, 2, "path");
    qnn_error err;
    qnn_error_clear(&err);
    qnn_lua_check_status(L, qnn_atomic_install(src, path, &err), &err, "qnn.io.install");
    lua_settop(L, 2);
    return 1;
}

static int l_clean_stale(lua_State *L) {
    lua_pushinteger(L, qnn_atomic_clean_stale(checkpath(L, 1, "path")));
    return 1;
}

static const qnn_lua_reg funcs[] = {
    {"write_atomic", l_write_atomic, "qnn.io.write_atomic(path, data) -> path",
     "path: non-empty string; data: string (bytes).\nReplaces the file at path atomically: the "
     "data go to a temp file beside the target (\"<target>.tmp.<pid>.<hex>\"), fsync'ed, then "
     "renamed over it, so readers see the old or the new file, never a part. A symbolic link "
     "is followed and its target replaced. An existing target that is not a regular file "
     "(device, FIFO, socket, directory) is refused with an error and left untouched. The old "
     "file's mode is kept (a new file gets 0666 minus the umask). The temp file is removed on "
     "every error; stale temp files of writers that died (kill -9) are removed first. The "
     "directory must exist. Raises \"qnn.io.write_atomic: <reason>\" on failure."},
    {"install", l_install, "qnn.io.install(src, path) -> path",
     "src: a finished regular file on the same file system as path (e.g. written by gnuplot "
     "beside the target); path: destination.\nMoves src over path with the rules of "
     "qnn.io.write_atomic (symlinks followed, non-regular targets refused, old mode kept); src "
     "is removed if the move fails."},
    {"clean_stale", l_clean_stale, "qnn.io.clean_stale(path) -> n",
     "path: a file path.\nRemoves temp files \"<path>.tmp.<pid>[.<hex>]\" left by writers whose "
     "process no longer exists (temp files of live processes are kept); returns how many."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(io) {
    qnn_lua_subtable(L, 1, "io");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.io.");
    lua_pop(L, 1);
    return 0;
}
