/* The qnnlab REPL. Lines come from GNU readline (callback interface, so Ctrl-C at the prompt can
 * be handled outside a signal handler) when stdin is a terminal, else from plain stdin. Each
 * chunk is first tried as an expression ("return <line>;"), whose values are printed; a chunk
 * whose syntax error ends at "<eof>" is incomplete and continued with a ">> " prompt. Errors are
 * shown with a traceback and the loop goes on; Ctrl-D (end of input) leaves it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lualib.h>

#include "host.h"
#include "qnn/common.h"

#define PROMPT "qnn> "
#define PROMPT2 ">> "
#define HISTORY_MAX 1000

enum { READ_EOF = 0, READ_LINE = 1, READ_INTERRUPTED = -1 };

/* State of the line reader. Readline's line callback and the signal handlers take no user data,
 * so it lives at file level; only one REPL runs per process. */
static struct {
    int tty;              /* 1: GNU readline on a terminal, 0: plain stdin */
    int sigpipe[2];       /* self-pipe: handlers write 'i' (SIGINT), 'w' (SIGWINCH), 't' (SIGTSTP) */
    int got_line;         /* the readline callback fired */
    char *line;           /* ... with this line (NULL = end of input) */
    char *histfile;       /* NULL: no history file */
    lua_State *L;         /* for the completion function */
} R = {0, {-1, -1}, 0, NULL, NULL, NULL};

/* ---------------- history ---------------- */
static void history_open(void) {
    const char *path = getenv("QNNLAB_HISTORY");
    char buf[4096];
    if (path == NULL) {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0') return;
        snprintf(buf, sizeof buf, "%s/.qnnlab_history", home);
        path = buf;
    }
    if (path[0] == '\0') return; /* QNNLAB_HISTORY= disables the file */
    R.histfile = strdup(path);
    if (!R.histfile) return;
    /* timestamps mark entry starts, so multi-line chunks come back as one entry */
    history_comment_char = '#';
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    stifle_history(HISTORY_MAX);
    if (read_history(R.histfile) != 0) {
        int fd = open(R.histfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) close(fd);
    }
}

static void history_save(const char *chunk) {
    const char *p = chunk;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p == '\0') return;
    if (history_length > 0) {
        HIST_ENTRY *last = history_get(history_base + history_length - 1);
        if (last && last->line && strcmp(last->line, chunk) == 0) return;
    }
    add_history(chunk);
    if (R.histfile) append_history(1, R.histfile);
}

static void history_close(void) {
    if (R.histfile) {
        history_truncate_file(R.histfile, HISTORY_MAX);
        free(R.histfile);
        R.histfile = NULL;
    }
    clear_history();
}

/* ---------------- reading lines ---------------- */
static void on_read_signal(int sig) {
    int saved = errno;
    char c = sig == SIGINT ? 'i' : sig == SIGTSTP ? 't' : 'w';
    ssize_t w = write(R.sigpipe[1], &c, 1);
    (void)w;
    errno = saved;
}

static void line_callback(char *line) {
    R.line = line;
    R.got_line = 1;
    rl_callback_handler_remove();
}

static char **attempt_completion(const char *text, int start, int end) {
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    int append = 0;
    char **m = host_complete(R.L, text, &append);
    if (m) {
        if (append) rl_completion_append_character = append;
        else rl_completion_suppress_append = 1;
    }
    return m;
}

/* Drops the partial line after Ctrl-C and leaves the terminal ready for a fresh prompt. */
static void abandon_line(void) {
    FILE *out = rl_outstream ? rl_outstream : stdout;
    rl_point = rl_end; /* "^C" goes after the text, as a shell shows it */
    rl_redisplay();
    fputs("^C", out);
    fflush(out);
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_cleanup_after_signal(); /* restores the terminal (may emit a carriage return) */
    rl_replace_line("", 0);
    rl_point = rl_end = rl_mark = 0;
    rl_callback_handler_remove();
    fputs("\n", out);
    fflush(out);
}

/* Ctrl-Z at the prompt: give the terminal back in its normal mode, stop with the disposition the
 * host had before (normally the default: stop), and redraw the line when continued. */
static void suspend(const struct sigaction *before) {
    struct sigaction mine;
    rl_deprep_terminal();
    sigaction(SIGTSTP, before, &mine);
    raise(SIGTSTP);
    sigaction(SIGTSTP, &mine, NULL);
    rl_prep_terminal(0);
    rl_forced_update_display();
}

static int read_tty(const char *prompt, char **out) {
    struct sigaction sa, old_int, old_winch, old_tstp;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_read_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGWINCH, &sa, &old_winch);
    sigaction(SIGTSTP, &sa, &old_tstp);
    char drain[64];
    while (read(R.sigpipe[0], drain, sizeof drain) > 0) {
    }
    R.got_line = 0;
    R.line = NULL;
    rl_callback_handler_install(prompt, line_callback);
    int result = READ_LINE;
    while (!R.got_line) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        FD_SET(R.sigpipe[0], &fds);
        int maxfd = R.sigpipe[0] > STDIN_FILENO ? R.sigpipe[0] : STDIN_FILENO;
        int r = select(maxfd + 1, &fds, NULL, NULL, NULL);
        if (r < 0) {
            if (errno == EINTR) continue;
            result = READ_EOF;
            rl_callback_handler_remove();
            break;
        }
        if (FD_ISSET(R.sigpipe[0], &fds)) {
            char buf[64];
            ssize_t k = read(R.sigpipe[0], buf, sizeof buf);
            int intr = 0, winch = 0, tstp = 0;
            for (ssize_t i = 0; i < k; i++) {
                if (buf[i] == 'i') intr = 1;
                else if (buf[i] == 't') tstp = 1;
                else winch = 1;
            }
            if (tstp) suspend(&old_tstp);
            if (winch || tstp) rl_resize_terminal();
            if (intr) {
                abandon_line();
                result = READ_INTERRUPTED;
                break;
            }
        }
        if (FD_ISSET(STDIN_FILENO, &fds)) rl_callback_read_char();
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    sigaction(SIGTSTP, &old_tstp, NULL);
    if (result != READ_LINE) return result;
    *out = R.line;
    return R.line ? READ_LINE : READ_EOF;
}

static int read_plain(const char *prompt, char **out) {
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return READ_EOF;
    }
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    *out = line;
    return READ_LINE;
}

/* READ_LINE with a malloc'ed line in *out, READ_EOF or READ_INTERRUPTED. */
static int read_line(const char *prompt, char **out) {
    *out = NULL;
    return R.tty ? read_tty(prompt, out) : read_plain(prompt, out);
}

/* ---------------- evaluating chunks ---------------- */
static int incomplete(lua_State *L, int status) {
    if (status != LUA_ERRSYNTAX) return 0;
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    static const char mark[] = "<eof>";
    size_t ml = sizeof mark - 1;
    return msg && len >= ml && strcmp(msg + len - ml, mark) == 0;
}

/* Tries `code` as an expression; on success leaves the function on the stack. */
static int load_expression(lua_State *L, const char *code) {
    const char *src = lua_pushfstring(L, "return %s;", code);
    int st = luaL_loadbuffer(L, src, strlen(src), "=stdin");
    lua_remove(L, -2); /* the source string */
    if (st != LUA_OK) lua_pop(L, 1);
    return st;
}

/* 1 if `code` is an unfinished expression such as "{1," (invalid as a statement). */
static int expression_incomplete(lua_State *L, const char *code) {
    const char *src = lua_pushfstring(L, "return %s", code); /* no ';': "{1," must stay open */
    int st = luaL_loadbuffer(L, src, strlen(src), "=stdin");
    int more = incomplete(L, st);
    lua_pop(L, 2);
    return more;
}

/* Reads one complete chunk and leaves its compiled function (LUA_OK) or a syntax error message
 * on the stack. Returns the load status, or -1 at end of input, -2 after Ctrl-C. */
static int read_chunk(lua_State *L) {
    char *line;
    int r = read_line(PROMPT, &line);
    if (r == READ_EOF) return -1;
    if (r == READ_INTERRUPTED) return -2;
    lua_pushstring(L, line); /* the chunk so far */
    free(line);
    int status;
    for (;;) {
        const char *chunk = lua_tostring(L, -1);
        status = load_expression(L, chunk);
        if (status == LUA_OK) break;
        status = luaL_loadbuffer(L, chunk, strlen(chunk), "=stdin");
        if (status == LUA_OK) break;
        if (!incomplete(L, status) && !expression_incomplete(L, chunk)) break;
        lua_pop(L, 1); /* the "<eof>" error */
        r = read_line(PROMPT2, &line);
        if (r == READ_INTERRUPTED) {
            lua_pop(L, 1);
            return -2;
        }
        if (r == READ_EOF) { /* input ends inside a chunk: report the error as it stands */
            status = luaL_loadbuffer(L, chunk, strlen(chunk), "=stdin");
            break;
        }
        lua_pushfstring(L, "%s\n%s", chunk, line);
        free(line);
        lua_remove(L, -2);
    }
    /* stack: chunk text, then the function or the error message */
    if (R.tty) history_save(lua_tostring(L, -2));
    lua_remove(L, -2);
    return status;
}

/* Echo of REPL results: plain tables (no __tostring/__name) become a one-line preview such as
 * {1, 2, x = "a", sub = {...}} (depth 2, 24 entries per table, cycles marked); everything else
 * goes to the global print as is, so __tostring is honoured. */
static const char ECHO_KEY[] = "qnnlab.echo";
static const char ECHO_SRC[] =
    "local MAXN, MAXDEPTH, MAXLEN = 24, 3, 2000\n"
    "local function plain(t)\n"
    "  local mt = getmetatable(t)\n"
    "  return type(mt) ~= 'table' or (mt.__tostring == nil and mt.__name == nil)\n"
    "end\n"
    "local function key(k)\n"
    "  if type(k) == 'string' and k:match('^[%a_][%w_]*$') then return k end\n"
    "  if type(k) == 'string' then return string.format('[%q]', k) end\n"
    "  return '[' .. tostring(k) .. ']'\n"
    "end\n"
    "local fmt\n"
    "local function val(v, depth, seen)\n"
    "  if type(v) == 'string' then return (string.format('%q', v):gsub('\\\\\\n', '\\\\n')) end\n"
    "  if type(v) == 'table' and plain(v) then return fmt(v, depth, seen) end\n"
    "  return tostring(v)\n"
    "end\n"
    "fmt = function(t, depth, seen)\n"
    "  if seen[t] then return '<cycle>' end\n"
    "  if depth > MAXDEPTH then return next(t) == nil and '{}' or '{...}' end\n"
    "  seen[t] = true\n"
    "  local parts, n, len = {}, 0, rawlen(t)\n"
    "  for i = 1, len do\n"
    "    n = n + 1\n"
    "    if n > MAXN then break end\n"
    "    parts[n] = val(rawget(t, i), depth + 1, seen)\n"
    "  end\n"
    "  local keys = {}\n"
    "  for k in next, t do\n"
    "    if not (math.type(k) == 'integer' and k >= 1 and k <= len) then keys[#keys + 1] = k end\n"
    "  end\n"
    "  table.sort(keys, function(a, b)\n"
    "    local ta, tb = type(a), type(b)\n"
    "    if ta ~= tb then return ta < tb end\n"
    "    if ta == 'string' or ta == 'number' then return a < b end\n"
    "    return tostring(a) < tostring(b)\n"
    "  end)\n"
    "  for _, k in ipairs(keys) do\n"
    "    n = n + 1\n"
    "    if n > MAXN then break end\n"
    "    parts[n] = key(k) .. ' = ' .. val(rawget(t, k), depth + 1, seen)\n"
    "  end\n"
    "  seen[t] = nil\n"
    "  local total = len + #keys\n"
    "  local s = '{' .. table.concat(parts, ', ', 1, math.min(n, MAXN))\n"
    "  if total > MAXN then s = s .. ', ... (' .. total .. ' entries)' end\n"
    "  s = s .. '}'\n"
    "  if #s > MAXLEN then s = s:sub(1, MAXLEN) .. ' ...' end\n"
    "  return s\n"
    "end\n"
    "return function(...)\n"
    "  local out = table.pack(...)\n"
    "  for i = 1, out.n do\n"
    "    local v = out[i]\n"
    "    if type(v) == 'table' and plain(v) then out[i] = fmt(v, 1, {}) end\n"
    "  end\n"
    "  return print(table.unpack(out, 1, out.n))\n"
    "end\n";

/* Pushes the echo function (built on first use), or the global print if that fails. */
static void push_echo(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, ECHO_KEY) == LUA_TFUNCTION) return;
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, ECHO_SRC, sizeof ECHO_SRC - 1, "=(echo)") == LUA_OK &&
        lua_pcall(L, 0, 1, 0) == LUA_OK && lua_isfunction(L, -1)) {
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, ECHO_KEY);
        return;
    }
    lua_pop(L, 1);
    lua_getglobal(L, "print");
}

/* Prints the values on the stack (all of them, tab-separated). */
static void print_results(lua_State *L) {
    int n = lua_gettop(L);
    if (n == 0) return;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    push_echo(L);
    lua_insert(L, 1);
    int st = host_docall(L, n, 0);
    if (st != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "error calling 'print' (%s)\n", msg ? msg : "?");
        lua_pop(L, 1);
    }
}

/* qnn as a global, help = qnn.help */
static void load_qnn(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "qnn");
    int st = host_docall(L, 1, 1);
    if (st != LUA_OK) {
        host_report(L, st, HOST_PROGNAME);
        return;
    }
    lua_getfield(L, -1, "help");
    lua_setglobal(L, "help");
    lua_setglobal(L, "qnn");
}

static void setup_readline(lua_State *L) {
    R.L = L;
    rl_readline_name = HOST_PROGNAME;
    rl_catch_signals = 0; /* SIGINT/SIGWINCH are ours: see read_tty */
    rl_catch_sigwinch = 0;
    rl_attempted_completion_function = attempt_completion;
    rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^#~";
    rl_basic_word_break_characters = rl_completer_word_break_characters;
    if (pipe(R.sigpipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(R.sigpipe[i], F_SETFL, fcntl(R.sigpipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(R.sigpipe[i], F_SETFD, FD_CLOEXEC);
        }
    } else {
        R.sigpipe[0] = R.sigpipe[1] = -1;
        R.tty = 0; /* cannot watch for Ctrl-C at the prompt: fall back to plain reading */
    }
    if (R.tty) history_open();
}

void host_repl(lua_State *L) {
    R.tty = isatty(STDIN_FILENO);
    if (R.tty) setup_readline(L);
    /* Between lines (echo, bookkeeping) a late Ctrl-C must not kill the session: it goes to the
     * self-pipe and is drained before the next prompt. */
    struct sigaction sa, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_read_signal;
    sigemptyset(&sa.sa_mask);
    if (R.tty) sigaction(SIGINT, &sa, &old_int);
    load_qnn(L);
    if (R.tty) {
        printf(HOST_PROGNAME " %s \xe2\x80\x94 type help() or help(qnn.state); Ctrl-D exits\n", QNN_VERSION);
        fflush(stdout);
    }
    lua_settop(L, 0);
    for (;;) {
        qnn_interrupt_clear();
        int st = read_chunk(L);
        if (st == -1) break;
        if (st == -2) continue;
        if (st == LUA_OK) st = host_docall(L, 0, LUA_MULTRET);
        if (st == LUA_OK) {
            print_results(L);
        } else {
            if (R.tty && host_docall_interrupted()) {
                fflush(stdout);
                fputs("\n", stderr); /* the terminal echoed "^C": start a fresh line */
            }
            host_report(L, st, NULL);
        }
        lua_settop(L, 0);
    }
    lua_settop(L, 0);
    fputs("\n", stdout);
    fflush(stdout);
    if (R.tty) {
        sigaction(SIGINT, &old_int, NULL);
        history_close();
        rl_callback_handler_remove();
        for (int i = 0; i < 2; i++) {
            if (R.sigpipe[i] >= 0) close(R.sigpipe[i]);
            R.sigpipe[i] = -1;
        }
    }
    R.L = NULL;
}
