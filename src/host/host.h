/* qnnlab host (bin/qnnlab): shared declarations of the command line front end (qnnlab.c), the
 * protected runner with Ctrl-C handling (run.c), the REPL (repl.c) and tab completion
 * (complete.c). */
#ifndef QNN_HOST_H
#define QNN_HOST_H

#include <lua.h>

#define HOST_PROGNAME "qnnlab"

/* src/lua/qnn.c */
int luaopen_qnn(lua_State *L);

/* ---- run.c ---- */
/* Calls the function below `narg` arguments on the stack in protected mode with a traceback
 * message handler; Ctrl-C during the call raises the Lua error "interrupted". Returns the
 * lua_pcall status; on error the message (with traceback) is left on the stack. */
int host_docall(lua_State *L, int narg, int nres);
/* Wraps coroutine.resume and coroutine.wrap so Ctrl-C also reaches a running coroutine. */
void host_track_coroutines(lua_State *L);
/* 1 if Ctrl-C was pressed during the last host_docall. */
int host_docall_interrupted(void);
/* If status != LUA_OK prints the message on top of the stack to stderr (prefixed with
 * "progname: " when progname is non-NULL) and pops it. Returns status. */
int host_report(lua_State *L, int status, const char *progname);
/* Loads and runs a chunk from a string with the given chunk name. */
int host_dostring(lua_State *L, const char *code, const char *chunkname);
/* Sets `_G[name] = require(modname)`. */
int host_dolibrary(lua_State *L, const char *globname, const char *modname);

/* ---- repl.c ---- */
/* Interactive loop: reads lines (GNU readline when stdin is a terminal, else plain stdin),
 * echoes expression values, continues incomplete chunks, keeps history. Returns when input
 * ends (Ctrl-D). */
void host_repl(lua_State *L);

/* ---- complete.c ---- */
/* Completions for `text` (an identifier path such as "qnn.st" or "s:me"): a malloc'ed,
 * NULL-terminated array of malloc'ed strings in readline's format (entry 0 = the common
 * prefix; NULL if there is no match). *append receives the character to append after a unique
 * match: '(' for a function, else 0 (nothing appended). */
char **host_complete(lua_State *L, const char *text, int *append);

#endif
