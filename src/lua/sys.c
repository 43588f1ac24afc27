/* qnn.sys: the few operating-system services the Lua half needs (directories, listings,
 * starting a program), done with system calls so that no path or argument ever reaches a shell.
 * OS failures return nil, message (like io.open); bad argument types raise errors. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qnn_lua.h"

extern char **environ;

/* A string argument without embedded NUL bytes (the OS would silently cut it there). */
static const char *check_path(lua_State *L, int arg, const char *argname) {
    size_t n;
    if (lua_type(L, arg) != LUA_TSTRING)
        qnn_lua_argerror(L, arg, argname, "must be a string, got %s", luaL_typename(L, arg));
    const char *s = lua_tolstring(L, arg, &n);
    if (n == 0) qnn_lua_argerror(L, arg, argname, "must not be empty");
    if (strlen(s) != n) qnn_lua_argerror(L, arg, argname, "must not contain a NUL byte");
    return s;
}

static int push_oserror(lua_State *L, const char *what, const char *path, int err) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    return 2;
}

/* mkdir -p: creates each missing component; an existing directory is fine. */
static int l_mkdir(lua_State *L) {
    const char *path = check_path(L, 1, "path");
    size_t n = strlen(path);
    char *buf = (char *)lua_newuserdatauv(L, n + 1, 0); /* freed by the GC, also on errors */
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (buf[i - 1] == '/') continue; /* "a//b" */
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0) {
            int err = errno;
            struct stat st;
            if (!(err == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))) {
                if (err == EEXIST) err = ENOTDIR;
                return push_oserror(L, "cannot create directory", buf, err);
            }
        }
        buf[i] = c;
    }
    lua_pushstring(L, path);
    return 1;
}

typedef struct {
    DIR *d;
} dir_handle;

static int dir_handle_gc(lua_State *L) {
    dir_handle *h = (dir_handle *)lua_touserdata(L, 1);
    if (h && h->d) {
        closedir(h->d);
        h->d = NULL;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names in a directory, without "." and "..". */
static int l_dir(lua_State *L) {
    const char *path = check_path(L, 1, "path");
    dir_handle *h = (dir_handle *)lua_newuserdatauv(L, sizeof *h, 0);
    h->d = NULL;
    lua_newtable(L); /* metatable closing the DIR if a Lua error (OOM) interrupts the loop */
    lua_pushcfunction(L, dir_handle_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    h->d = opendir(path);
    if (!h->d) return push_oserror(L, "cannot list", path, errno);
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(h->d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
        errno = 0;
    }
    int err = errno;
    closedir(h->d);
    h->d = NULL;
    if (err) return push_oserror(L, "cannot list", path, err);
    /* sort by byte order: stable across locales */
    const char **names = (const char **)lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *names, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        names[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1); /* still referenced by the table */
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushstring(L, names[i - 1]);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* Full path of an executable found on PATH (or the name itself if it contains '/'). */
static int l_which(lua_State *L) {
    const char *name = check_path(L, 1, "name");
    if (strchr(name, '/')) {
        if (access(name, X_OK) == 0) {
            lua_pushstring(L, name);
            return 1;
        }
        lua_pushnil(L);
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    luaL_Buffer b;
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        luaL_buffinit(L, &b);
        if (len == 0) luaL_addchar(&b, '.');
        else luaL_addlstring(&b, p, len);
        luaL_addchar(&b, '/');
        luaL_addstring(&b, name);
        luaL_pushresult(&b);
        struct stat st;
        const char *full = lua_tostring(L, -1);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) return 1;
        lua_pop(L, 1);
        if (!end) break;
        p = end + 1;
    }
    lua_pushnil(L);
    return 1;
}

/* Starts argv[1] (looked up on PATH) with the given arguments, no shell, and waits for it. */
static int l_run(lua_State *L) {
    static const char *const allowed[] = {"quiet", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    int has = qnn_lua_checkopts(L, 2, allowed);
    int quiet = has ? qnn_lua_optfield_bool(L, 2, "quiet", 1) : 1;
    lua_Integer argc = (lua_Integer)lua_rawlen(L, 1);
    if (argc < 1 || argc > 4096)
        qnn_lua_argerror(L, 1, "argv", "must list 1 to 4096 strings, got %d", (int)argc);
    const char **argv = (const char **)lua_newuserdatauv(L, (size_t)(argc + 1) * sizeof *argv, 0);
    int top = lua_gettop(L);
    for (lua_Integer i = 1; i <= argc; i++) {
        lua_rawgeti(L, 1, i);
        size_t n;
        if (lua_type(L, -1) != LUA_TSTRING)
            qnn_lua_argerror(L, 1, "argv", "entry %d must be a string, got %s", (int)i,
                             luaL_typename(L, -1));
        argv[i - 1] = lua_tolstring(L, -1, &n);
        if (strlen(argv[i - 1]) != n)
            qnn_lua_argerror(L, 1, "argv", "entry %d contains a NUL byte", (int)i);
        lua_pop(L, 1); /* the table at 1 keeps the string alive; no Lua code runs until the spawn */
    }
    argv[argc] = NULL;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return luaL_error(L, "qnn.sys.run: out of memory");
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && quiet) rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (rc == 0 && quiet) rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    if (rc == 0) rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    lua_settop(L, top);
    if (rc != 0) return push_oserror(L, "cannot start", argv[0], rc);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return push_oserror(L, "cannot wait for", argv[0], errno);
    }
    if (WIFEXITED(status)) {
        lua_pushboolean(L, WEXITSTATUS(status) == 0);
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WEXITSTATUS(status));
    } else {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    return 3;
}

static const qnn_lua_reg funcs[] = {
    {"mkdir", l_mkdir, "qnn.sys.mkdir(path) -> path | nil, message",
     "path: non-empty string without NUL bytes.\nCreates the directory and its missing parents "
     "with mkdir(2) (like mkdir -p; no shell). Returns path, or nil and a message naming the "
     "component that could not be created."},
    {"dir", l_dir, "qnn.sys.dir(path) -> {names} | nil, message",
     "path: non-empty string without NUL bytes.\nReturns the entries of a directory (without . "
     "and ..), sorted by bytes, or nil and a message."},
    {"which", l_which, "qnn.sys.which(name) -> path | nil",
     "name: program name (searched on PATH) or a path containing '/'.\nReturns the executable's "
     "path, or nil if there is none."},
    {"run", l_run, "qnn.sys.run(argv [, {quiet=true}]) -> ok, \"exit\"|\"signal\", code",
     "argv: list of 1 to 4096 strings, argv[1] the program (searched on PATH). quiet: send its "
     "output to /dev/null (default true).\nStarts the program with exactly these arguments "
     "(posix_spawn, no shell, stdin /dev/null) and waits for it. Returns true when it exited "
     "with status 0, like os.execute; nil and a message if it could not be started."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(sys) {
    qnn_lua_subtable(L, 1, "sys");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.sys.");
    lua_pop(L, 1);
    return 0;
}
