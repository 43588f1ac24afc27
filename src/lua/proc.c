/* qnn.proc: the few operating-system calls qnn.sweep needs, without a shell: start a program
 * with a fixed argv and environment (fork + execve, output to files), wait for children with a
 * timeout, kill, run a program and capture its output, append a line atomically (one write(2)
 * on an O_APPEND descriptor), mkdir -p, host name, CPU count, the running executable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "qnn_lua.h"

extern char **environ;

#define PROC_MAX_ARGS 4096
#define PROC_MAX_CAPTURE (64u << 20)

/* ---- argv / envp building (all memory in one Lua userdata so an error frees it) ---- */

/* Pushes a userdata holding a NULL-terminated char* array of n+1 entries. */
static char **push_ptrarray(lua_State *L, size_t n) {
    char **a = (char **)lua_newuserdatauv(L, (n + 1) * sizeof *a, 0);
    memset(a, 0, (n + 1) * sizeof *a);
    return a;
}

/* argv from the list at index idx (strings or numbers, >= 1 entry). Pushes the array and a
 * table that keeps the strings alive. */
static char **check_argv(lua_State *L, int idx, const char *fname) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) luaL_error(L, "%s: argv must be a list of strings", fname);
    lua_Integer n = luaL_len(L, idx);
    if (n < 1 || n > PROC_MAX_ARGS)
        luaL_error(L, "%s: argv must hold 1 to %d strings, got %d", fname, PROC_MAX_ARGS, (int)n);
    char **a = push_ptrarray(L, (size_t)n);
    lua_createtable(L, (int)n, 0); /* anchors the strings (numbers converted to new strings) */
    int anchors = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, idx, i);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            luaL_error(L, "%s: argv[%d] must be a string, got %s", fname, (int)i, lua_typename(L, t));
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (strlen(s) != len) luaL_error(L, "%s: argv[%d] contains a zero byte", fname, (int)i);
        a[i - 1] = (char *)s;
        lua_rawseti(L, anchors, i);
    }
    return a;
}

/* Environment = the current one with the entries of the table at idx (key = value string or
 * number; false removes the variable) applied. Pushes the userdata array and a table that
 * keeps the new "K=V" strings alive. */
static char **build_env(lua_State *L, int idx, const char *fname) {
    size_t n0 = 0;
    while (environ && environ[n0]) n0++;
    size_t nover = 0;
    if (idx) {
        idx = lua_absindex(L, idx);
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "%s: env keys must be strings", fname);
            int t = lua_type(L, -1);
            if (t != LUA_TSTRING && t != LUA_TNUMBER && !(t == LUA_TBOOLEAN && !lua_toboolean(L, -1)))
                luaL_error(L, "%s: env.%s must be a string, a number or false", fname, lua_tostring(L, -2));
            const char *k = lua_tostring(L, -2);
            if (!*k || strchr(k, '='))
                luaL_error(L, "%s: env key '%s' must be non-empty without '='", fname, k);
            nover++;
            lua_pop(L, 1);
        }
    }
    char **e = push_ptrarray(L, n0 + nover);
    lua_newtable(L); /* anchors */
    int anchors = lua_gettop(L);
    size_t m = 0;
    for (size_t i = 0; i < n0; i++) {
        const char *kv = environ[i];
        const char *eq = strchr(kv, '=');
        if (idx && eq) {
            lua_pushlstring(L, kv, (size_t)(eq - kv));
            int t = lua_rawget(L, idx);
            lua_pop(L, 1);
            if (t != LUA_TNIL) continue; /* overridden or removed */
        }
        e[m++] = (char *)kv;
    }
    if (idx) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -1) != LUA_TBOOLEAN) {
                lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
                e[m++] = (char *)lua_tostring(L, -1);
                lua_rawseti(L, anchors, (lua_Integer)m);
            }
            lua_pop(L, 1);
        }
    }
    e[m] = NULL;
    return e;
}

/* Child side after fork: only async-signal-safe calls. Never returns. */
static void child_exec(char **argv, char **envp, const char *out, const char *err, int merge,
                       const char *cwd, int errpipe, int outfd, int die_with_parent) {
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 0);
        if (fd > 2) close(fd);
    }
    if (outfd >= 0) {
        dup2(outfd, 1);
        close(outfd);
    } else if (out) {
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) goto fail;
        dup2(fd, 1);
        if (fd > 2) close(fd);
    }
    if (merge) {
        dup2(1, 2);
    } else if (err) {
        fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) goto fail;
        dup2(fd, 2);
        if (fd > 2) close(fd);
    }
    if (cwd && chdir(cwd) != 0) goto fail;
#ifdef __linux__
    if (die_with_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
#else
    (void)die_with_parent;
#endif
    /* default signal dispositions and an empty mask for the new program */
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGPIPE, &sa, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    if (strchr(argv[0], '/'))
        execve(argv[0], argv, envp);
    else
        execvpe(argv[0], argv, envp);
fail:;
    int e = errno;
    ssize_t w = write(errpipe, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Forks and execs; returns the pid, or -1 with *err_no set (exec failure reported through a
 * close-on-exec pipe). */
static pid_t do_spawn(char **argv, char **envp, const char *out, const char *err, int merge,
                      const char *cwd, int outfd, int die_with_parent, int *err_no) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        *err_no = errno;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *err_no = errno;
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        child_exec(argv, envp, out, err, merge, cwd, p[1], outfd, die_with_parent);
    }
    close(p[1]);
    int e = 0;
    ssize_t r;
    do r = read(p[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(p[0]);
    if (r == (ssize_t)sizeof e) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        *err_no = e;
        return -1;
    }
    return pid;
}

static const char *const spawn_keys[] = {"argv", "env", "stdout", "stderr", "cwd", "die_with_parent", NULL};

/* qnn.proc.spawn{argv=, env=, stdout=, stderr=, cwd=, die_with_parent=true} -> pid */
static int l_spawn(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    qnn_lua_checkopts(L, 1, spawn_keys);
    lua_getfield(L, 1, "argv");
    int argv_idx = lua_gettop(L);
    char **argv = check_argv(L, argv_idx, "qnn.proc.spawn");
    int envt = 0;
    if (lua_getfield(L, 1, "env") != LUA_TNIL) {
        if (!lua_istable(L, -1)) return luaL_error(L, "qnn.proc.spawn: env must be a table");
        envt = lua_gettop(L);
    }
    char **envp = build_env(L, envt, "qnn.proc.spawn");
    const char *out = qnn_lua_optfield_str(L, 1, "stdout", NULL);
    const char *err = qnn_lua_optfield_str(L, 1, "stderr", NULL);
    const char *cwd = qnn_lua_optfield_str(L, 1, "cwd", NULL);
    int dwp = qnn_lua_optfield_bool(L, 1, "die_with_parent", 1);
    int merge = err && strcmp(err, "stdout") == 0;
    if (merge) err = NULL;
    int e = 0;
    fflush(NULL);
    pid_t pid = do_spawn(argv, envp, out, err, merge, cwd, -1, dwp, &e);
    if (pid < 0) return luaL_error(L, "qnn.proc.spawn: cannot start '%s': %s", argv[0], strerror(e));
    lua_pushinteger(L, pid);
    return 1;
}

static void push_status(lua_State *L, int st) {
    if (WIFEXITED(st)) {
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WTERMSIG(st));
    } else {
        lua_pushliteral(L, "unknown");
        lua_pushinteger(L, st);
    }
}

/* qnn.proc.wait(pids [, timeout=-1]) -> pid, "exit"|"signal", code, cpu  |  nil on timeout */
static int l_wait(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    double timeout = qnn_lua_optnum(L, 2, "timeout", -1.0, -1.0, 1e9);
    lua_Integer n = luaL_len(L, 1);
    if (n < 1 || n > 1 << 20) return luaL_error(L, "qnn.proc.wait: pids must be a non-empty list");
    pid_t *pids = (pid_t *)lua_newuserdatauv(L, (size_t)n * sizeof *pids, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        int isnum = 0;
        lua_Integer v = lua_tointegerx(L, -1, &isnum);
        if (!isnum || v <= 0 || v > INT_MAX)
            return luaL_error(L, "qnn.proc.wait: pids[%d] must be a positive integer", (int)i);
        pids[i - 1] = (pid_t)v;
        lua_pop(L, 1);
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long nap_us = 200;
    for (;;) {
        for (lua_Integer i = 0; i < n; i++) {
            int st;
            struct rusage ru;
            pid_t r = wait4(pids[i], &st, WNOHANG, &ru);
            if (r == pids[i]) {
                lua_pushinteger(L, r);
                push_status(L, st);
                lua_pushnumber(L, (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
                                      (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec);
                return 4;
            }
            if (r < 0 && errno == ECHILD) {
                return luaL_error(L, "qnn.proc.wait: %d is not a child of this process", (int)pids[i]);
            }
        }
        if (qnn_interrupt_pending()) {
            qnn_interrupt_clear();
            return luaL_error(L, "interrupted");
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
        if (timeout >= 0 && el >= timeout) break;
        struct timespec ts = {0, nap_us * 1000};
        nanosleep(&ts, NULL);
        if (nap_us < 5000) nap_us *= 2; /* 0.2 ms .. 5 ms between polls */
    }
    lua_pushnil(L);
    return 1;
}

static const struct {
    const char *name;
    int sig;
} signames[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},
                {"ABRT", SIGABRT}, {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV},
                {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"BUS", SIGBUS},
                {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"XCPU", SIGXCPU}, {NULL, 0}};

/* qnn.proc.kill(pid [, sig="TERM"]) -> true | nil, message */
static int l_kill(lua_State *L) {
    lua_Integer pid = qnn_lua_checkint(L, 1, "pid", 1, INT_MAX);
    int sig = SIGTERM;
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *s = lua_tostring(L, 2);
        if (strncmp(s, "SIG", 3) == 0) s += 3;
        sig = -1;
        for (int i = 0; signames[i].name; i++)
            if (strcmp(s, signames[i].name) == 0) sig = signames[i].sig;
        if (sig < 0) return qnn_lua_argerror(L, 2, "sig", "unknown signal name '%s'", lua_tostring(L, 2));
    } else if (!lua_isnoneornil(L, 2)) {
        sig = (int)qnn_lua_checkint(L, 2, "sig", 0, 64);
    }
    if (kill((pid_t)pid, sig) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* qnn.proc.signame(n) -> "SIGKILL" */
static int l_signame(lua_State *L) {
    lua_Integer s = qnn_lua_checkint(L, 1, "n", 0, 64);
    for (int i = 0; signames[i].name; i++)
        if (signames[i].sig == s) {
            lua_pushfstring(L, "SIG%s", signames[i].name);
            return 1;
        }
    lua_pushfstring(L, "signal %d", (int)s);
    return 1;
}

/* qnn.proc.run(argv [, {env=, cwd=}]) -> exit code (or 128+signal), stdout text | nil, message */
static int l_run(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const keys[] = {"env", "cwd", NULL};
    int have = qnn_lua_checkopts(L, 2, keys);
    char **argv = check_argv(L, 1, "qnn.proc.run");
    int envt = 0;
    if (have && lua_getfield(L, 2, "env") != LUA_TNIL) {
        if (!lua_istable(L, -1)) return luaL_error(L, "qnn.proc.run: env must be a table");
        envt = lua_gettop(L);
    }
    char **envp = build_env(L, envt, "qnn.proc.run");
    const char *cwd = have ? qnn_lua_optfield_str(L, 2, "cwd", NULL) : NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return luaL_error(L, "qnn.proc.run: pipe: %s", strerror(errno));
    int e = 0;
    fflush(NULL);
    pid_t pid = do_spawn(argv, envp, NULL, "/dev/null", 0, cwd, p[1], 1, &e);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot start '%s': %s", argv[0], strerror(e));
        return 2;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t total = 0;
    char chunk[4096];
    for (;;) {
        ssize_t r = read(p[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (total + (size_t)r <= PROC_MAX_CAPTURE) luaL_addlstring(&b, chunk, (size_t)r);
        total += (size_t)r;
    }
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 255;
    luaL_pushresult(&b);
    lua_pushinteger(L, code);
    lua_insert(L, -2);
    return 2;
}

/* qnn.proc.append(path, text) -> true: one write(2) on an O_APPEND descriptor */
static int l_append(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return luaL_error(L, "qnn.proc.append: cannot open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, s + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return luaL_error(L, "qnn.proc.append: cannot write %s: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return luaL_error(L, "qnn.proc.append: cannot write %s: %s", path, strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* qnn.proc.mkdir(path) -> path (mkdir -p) */
static int l_mkdir(lua_State *L) {
    size_t n;
    const char *path = luaL_checklstring(L, 1, &n);
    if (n == 0 || n >= PATH_MAX) return qnn_lua_argerror(L, 1, "path", "must be 1 to %d characters", PATH_MAX - 1);
    char buf[PATH_MAX];
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return luaL_error(L, "qnn.proc.mkdir: cannot create %s: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return luaL_error(L, "qnn.proc.mkdir: %s exists and is not a directory", path);
    lua_settop(L, 1);
    return 1;
}

static int l_ncpu(lua_State *L) {
    long n = 0;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n < 1 ? 1 : n);
    return 1;
}

static int l_exe(lua_State *L) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return luaL_error(L, "qnn.proc.exe: cannot read /proc/self/exe: %s", strerror(errno));
    buf[n] = '\0';
    lua_pushstring(L, buf);
    return 1;
}

static int l_hostname(lua_State *L) {
    char buf[256];
    if (gethostname(buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "unknown");
    buf[sizeof buf - 1] = '\0';
    lua_pushstring(L, buf);
    return 1;
}

static int l_pid(lua_State *L) {
    lua_pushinteger(L, getpid());
    return 1;
}

static int l_ppid(lua_State *L) {
    lua_pushinteger(L, getppid());
    return 1;
}

static int l_sleep(lua_State *L) {
    double s = qnn_lua_checknum(L, 1, "seconds", 0.0, 1e6);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        if (qnn_interrupt_pending()) {
            qnn_interrupt_clear();
            return luaL_error(L, "interrupted");
        }
    }
    return 0;
}

static int l_time(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}

static const qnn_lua_reg funcs[] = {
    {"spawn", l_spawn,
     "qnn.proc.spawn{argv={prog, args...}, env={K=V|false}, stdout=path, stderr=path|\"stdout\", cwd=, die_with_parent=true} -> pid",
     "argv: 1 to 4096 strings (prog is looked up on PATH unless it contains '/'); no shell is involved.\n"
     "env: changes to the current environment (false removes a variable). stdout/stderr: files (truncated) "
     "for the child's output, stderr=\"stdout\" merges; stdin is /dev/null. die_with_parent: the child is "
     "killed (SIGKILL) if this process dies (Linux).\nReturns the child's pid; raises an error if the "
     "program cannot be started."},
    {"wait", l_wait, "qnn.proc.wait(pids [, timeout=-1]) -> pid, \"exit\"|\"signal\", code, cpu | nil",
     "pids: non-empty list of child pids; timeout: seconds (-1 = wait forever).\nReaps the first of them "
     "that has ended and returns its pid, how it ended (exit code or signal number) and the CPU seconds "
     "(user + system) it used; nil on timeout. "
     "Ctrl-C raises \"interrupted\"."},
    {"kill", l_kill, "qnn.proc.kill(pid [, sig=\"TERM\"]) -> true | nil, message",
     "pid: positive integer; sig: a name (\"TERM\", \"KILL\", \"INT\", ...) or a number in [0, 64]."},
    {"signame", l_signame, "qnn.proc.signame(n) -> string", "n: signal number in [0, 64]. Returns \"SIGKILL\" etc."},
    {"run", l_run, "qnn.proc.run(argv [, {env=, cwd=}]) -> code, stdout | nil, message",
     "argv: list of strings (no shell). Runs the program to the end with stderr discarded and returns its "
     "exit code (128 + signal if killed) and its standard output (up to 64 MiB); nil and a message if it "
     "cannot be started."},
    {"append", l_append, "qnn.proc.append(path, text) -> true",
     "Appends text to path (created if missing) with a single write(2) on an O_APPEND descriptor, so "
     "lines from several writers never interleave."},
    {"mkdir", l_mkdir, "qnn.proc.mkdir(path) -> path", "Creates path and its parents (mkdir -p)."},
    {"ncpu", l_ncpu, "qnn.proc.ncpu() -> integer", "Number of CPUs this process may run on (affinity mask)."},
    {"exe", l_exe, "qnn.proc.exe() -> string", "Absolute path of the running executable (bin/qnnlab or lua5.4)."},
    {"hostname", l_hostname, "qnn.proc.hostname() -> string", "The machine's host name."},
    {"pid", l_pid, "qnn.proc.pid() -> integer", "This process's id."},
    {"ppid", l_ppid, "qnn.proc.ppid() -> integer", "The parent process's id."},
    {"sleep", l_sleep, "qnn.proc.sleep(seconds)", "seconds: in [0, 1e6]. Ctrl-C raises \"interrupted\"."},
    {"time", l_time, "qnn.proc.time() -> number", "Wall-clock time (seconds since the epoch, fractional)."},
    {NULL, NULL, NULL, NULL}};

QNN_LUA_OPENER(proc) {
    qnn_lua_subtable(L, 1, "proc");
    qnn_lua_setfuncs(L, -1, funcs, "qnn.proc.");
    lua_pop(L, 1);
    return 0;
}
