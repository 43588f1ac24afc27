/* Protected calls for the qnnlab host: a traceback message handler, error reporting, and the
 * Ctrl-C machinery. While Lua code runs, SIGINT (a) raises the core interrupt flag, which long C
 * loops poll (they return QNN_EINTR, turned into the Lua error "interrupted"), and (b) arms a
 * one-shot Lua hook that raises "interrupted" at the next Lua call, return or instruction, so a
 * pure-Lua loop such as `while true do end` stops too. Hooks are per thread, so the host also
 * tracks the coroutine being resumed (coroutine.resume/wrap are wrapped) and arms the hook
 * there as well. Three unanswered Ctrl-C in a row (code stuck in C that never polls) restore
 * the default action and kill the process. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "host.h"
#include "qnn/common.h"

/* Signal handlers take no arguments, so what they need lives at file level: the state and the
 * coroutine being run, and the bookkeeping of Ctrl-C presses not yet answered by a hook. */
static lua_State *volatile running_L = NULL;
static lua_State *volatile running_co = NULL; /* innermost coroutine resumed through the host */
static volatile sig_atomic_t pending_sigints = 0;
static volatile sig_atomic_t sigint_seen = 0; /* a Ctrl-C arrived during the last host_docall */
static volatile long last_sigint_ms = 0;       /* monotonic time of the last counted Ctrl-C */

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    pending_sigints = 0;
    /* A C loop may already have turned the flag into an error (and cleared it): then the hook
     * only disarms itself, so the message handler of that error is not interrupted again. */
    if (qnn_interrupt_pending()) {
        qnn_interrupt_clear();
        luaL_error(L, "interrupted");
    }
}

/* Armed in a thread whose coroutine.resume returned an "interrupted" error: carries the
 * interrupt on outwards even if the loop around resume ignores the failure. */
static void unwind_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    qnn_interrupt_clear();
    luaL_error(L, "interrupted");
}

#define HOOK_MASK (LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT)

static void on_sigint(int sig) {
    qnn_interrupt_raise();
    lua_State *L = running_L;
    if (L) {
        lua_sethook(L, interrupt_hook, HOOK_MASK, 1);
        lua_State *co = running_co;
        if (co) lua_sethook(co, interrupt_hook, HOOK_MASK, 1);
    }
    sigint_seen = 1;
    /* a burst of Ctrl-C (key repeat, impatient double press) counts once */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long now_ms = (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (pending_sigints > 0 && now_ms - last_sigint_ms < 300) return;
    last_sigint_ms = now_ms;
    int n = pending_sigints + 1;
    pending_sigints = n;
    if (n == 2) {
        static const char msg[] = "\n" HOST_PROGNAME ": still busy in C code; Ctrl-C once more kills it\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    } else if (n >= 3) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static int msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int host_docall(lua_State *L, int narg, int nres) {
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read returns so the hook can fire */
    pending_sigints = 0;
    sigint_seen = 0;
    lua_State *outer_L = running_L, *outer_co = running_co; /* nested docall (REPL echo) */
    running_L = L;
    running_co = NULL;
    sigaction(SIGINT, &sa, &old);
    int status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &old, NULL);
    running_L = outer_L;
    running_co = outer_co;
    lua_sethook(L, NULL, 0, 0); /* a Ctrl-C right at the end must not leak into the next call */
    pending_sigints = 0;
    lua_remove(L, base);
    return status;
}

int host_docall_interrupted(void) { return sigint_seen != 0; }

int host_report(lua_State *L, int status, const char *progname) {
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (msg == NULL) msg = "(error object is not a string)";
        if (progname) fprintf(stderr, "%s: ", progname);
        fprintf(stderr, "%s\n", msg);
        fflush(stderr);
        lua_pop(L, 1);
    }
    return status;
}

int host_dostring(lua_State *L, const char *code, const char *chunkname) {
    int status = luaL_loadbuffer(L, code, strlen(code), chunkname);
    if (status == LUA_OK) status = host_docall(L, 0, 0);
    return host_report(L, status, HOST_PROGNAME);
}

int host_dolibrary(lua_State *L, const char *globname, const char *modname) {
    lua_getglobal(L, "require");
    lua_pushstring(L, modname);
    int status = host_docall(L, 1, 1);
    if (status == LUA_OK) lua_setglobal(L, globname);
    return host_report(L, status, HOST_PROGNAME);
}

/* ---------------- coroutine tracking ---------------- */
static int ends_with_interrupted(lua_State *L, int idx) {
    size_t n;
    const char *m = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
    static const char tail[] = "interrupted";
    return m && n >= sizeof tail - 1 && strcmp(m + n - (sizeof tail - 1), tail) == 0;
}

/* Calls the function at `first` (the original resume or wrapped function) with the values
 * above it while `co` is the tracked coroutine; errors are re-raised unchanged. */
static int tracked_call(lua_State *L, lua_State *co, int first) {
    lua_State *prev = running_co;
    running_co = co;
    int st = lua_pcall(L, lua_gettop(L) - first, LUA_MULTRET, 0);
    running_co = prev;
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L) - first + 1;
}

/* coroutine.resume(co, ...) */
static int co_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co != NULL, 1, "coroutine");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int n = tracked_call(L, co, 1);
    if (n >= 2 && sigint_seen && !lua_toboolean(L, 1) && ends_with_interrupted(L, 2))
        lua_sethook(L, unwind_hook, HOOK_MASK, 1);
    return n;
}

/* the function returned by coroutine.wrap: upvalue 1 = original wrapper, 2 = its thread */
static int co_wrapped(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    return tracked_call(L, co, 1);
}

/* coroutine.wrap(f) */
static int co_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 1, 1); /* original wrap(f) */
    if (lua_getupvalue(L, -1, 1) == NULL || !lua_isthread(L, -1)) {
        lua_settop(L, 1); /* unexpected layout: hand back the untracked wrapper */
        return 1;
    }
    lua_pushcclosure(L, co_wrapped, 2);
    return 1;
}

void host_track_coroutines(lua_State *L) {
    if (lua_getglobal(L, "coroutine") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    if (lua_getfield(L, -1, "resume") == LUA_TFUNCTION) {
        lua_pushcclosure(L, co_resume, 1);
        lua_setfield(L, -2, "resume");
    } else {
        lua_pop(L, 1);
    }
    if (lua_getfield(L, -1, "wrap") == LUA_TFUNCTION) {
        lua_pushcclosure(L, co_wrap, 1);
        lua_setfield(L, -2, "wrap");
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
