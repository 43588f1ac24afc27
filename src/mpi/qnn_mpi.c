/* qnn_mpi: the MPI glue of qnn.sweep's MPI backend (lua/qnn/sweep/mpi.lua), a separate Lua
 * module (lib/qnn_mpi.so) built with mpicc only where it exists (make MPI=1 or auto-detected),
 * so the rest of the library never sees MPI. It moves strings between ranks: init, rank/size,
 * blocking send, polled receive with a timeout, abort, finalize (also at exit). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <mpi.h>

#define QNN_STR2(x) #x
#define QNN_STR(x) QNN_STR2(x)

static int finalize_registered = 0;
static int finalize_skipped = 0;

static void finalize_at_exit(void) {
    if (finalize_skipped) return;
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (inited && !fin) MPI_Finalize();
}

static int l_init(lua_State *L) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        /* Open MPI's plug-ins need libmpi's symbols globally visible; Lua loaded us RTLD_LOCAL.
         * Pin this module too: finalize_at_exit runs after lua_close would unload it. */
        void *h = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
        if (!h) h = dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
        (void)h;
        Dl_info info;
        if (dladdr((void *)&l_init, &info) && info.dli_fname) {
            void *self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
            (void)self;
        }
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS)
            return luaL_error(L, "qnn_mpi.init: MPI_Init failed");
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        if (!finalize_registered) {
            atexit(finalize_at_exit);
            finalize_registered = 1;
        }
    }
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    lua_pushinteger(L, rank);
    lua_pushinteger(L, size);
    return 2;
}

static int l_initialized(lua_State *L) {
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    lua_pushboolean(L, inited && !fin);
    return 1;
}

static void check_inited(lua_State *L) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) luaL_error(L, "qnn_mpi: call init() first");
}

static int l_rank(lua_State *L) {
    check_inited(L);
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    lua_pushinteger(L, r);
    return 1;
}

static int l_size(lua_State *L) {
    check_inited(L);
    int s;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    lua_pushinteger(L, s);
    return 1;
}

/* ranks on this node (shared-memory communicator) */
static int l_local_size(lua_State *L) {
    check_inited(L);
    MPI_Comm node;
    int s = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &s);
        MPI_Comm_free(&node);
    }
    lua_pushinteger(L, s);
    return 1;
}

static int l_send(lua_State *L) {
    check_inited(L);
    lua_Integer dest = luaL_checkinteger(L, 1);
    lua_Integer tag = luaL_checkinteger(L, 2);
    size_t n;
    const char *s = luaL_checklstring(L, 3, &n);
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (dest < 0 || dest >= size) return luaL_argerror(L, 1, "rank out of range");
    if (tag < 0 || tag > 32767) return luaL_argerror(L, 2, "tag must be in [0, 32767]");
    if (n > (size_t)1 << 30) return luaL_argerror(L, 3, "message longer than 1 GiB");
    int rc = MPI_Send(s, (int)n, MPI_CHAR, (int)dest, (int)tag, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        lua_pushnil(L);
        lua_pushfstring(L, "MPI_Send to rank %d failed (error %d)", (int)dest, rc);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* recv([timeout=-1 [, source=any]]) -> source, tag, string | nil on timeout */
static int l_recv(lua_State *L) {
    check_inited(L);
    double timeout = luaL_optnumber(L, 1, -1.0);
    int src = (int)luaL_optinteger(L, 2, MPI_ANY_SOURCE);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long nap_us = 100;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        int rc = MPI_Iprobe(src, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (rc != MPI_SUCCESS) return luaL_error(L, "qnn_mpi.recv: MPI_Iprobe failed (error %d)", rc);
        if (flag) {
            int count = 0;
            MPI_Get_count(&st, MPI_CHAR, &count);
            char *buf = (char *)malloc(count > 0 ? (size_t)count : 1);
            if (!buf) return luaL_error(L, "qnn_mpi.recv: out of memory (%d bytes)", count);
            rc = MPI_Recv(buf, count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) {
                free(buf);
                return luaL_error(L, "qnn_mpi.recv: MPI_Recv failed (error %d)", rc);
            }
            lua_pushinteger(L, st.MPI_SOURCE);
            lua_pushinteger(L, st.MPI_TAG);
            lua_pushlstring(L, buf, (size_t)count);
            free(buf);
            return 3;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec);
        if (timeout >= 0 && el >= timeout) break;
        struct timespec ts = {0, nap_us * 1000};
        nanosleep(&ts, NULL);
        if (nap_us < 5000) nap_us *= 2;
    }
    lua_pushnil(L);
    return 1;
}

static int l_abort(lua_State *L) {
    check_inited(L);
    int code = (int)luaL_optinteger(L, 1, 1);
    MPI_Abort(MPI_COMM_WORLD, code);
    return 0;
}

static int l_finalize(lua_State *L) {
    (void)L;
    finalize_at_exit();
    return 0;
}

/* exit_now([code=0]): flushes stdio and ends the process without MPI_Finalize (whose fence can
 * wait forever for a rank that died, even under mpirun --enable-recovery). */
static int l_exit_now(lua_State *L) {
    int code = (int)luaL_optinteger(L, 1, 0);
    fflush(NULL);
    _exit(code);
    return 0;
}

/* skip_finalize(): at exit, end without MPI_Finalize. Used after a rank died: Open MPI's
 * finalize can then wait forever; under mpirun --enable-recovery ending without it is fine. */
static int l_skip_finalize(lua_State *L) {
    (void)L;
    finalize_skipped = 1;
    return 0;
}

/* Sends this process's standard output to /dev/null (ranks > 0: only rank 0 prints). */
static int l_silence_stdout(lua_State *L) {
    fflush(stdout);
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) return luaL_error(L, "qnn_mpi.silence_stdout: %s", strerror(errno));
    dup2(fd, 1);
    close(fd);
    return 0;
}

static const luaL_Reg funcs[] = {{"init", l_init},       {"initialized", l_initialized},
                                 {"rank", l_rank},       {"size", l_size},
                                 {"local_size", l_local_size}, {"send", l_send},
                                 {"recv", l_recv},       {"abort", l_abort},
                                 {"finalize", l_finalize}, {"silence_stdout", l_silence_stdout},
                                 {"exit_now", l_exit_now},
                                 {"skip_finalize", l_skip_finalize},
                                 {NULL, NULL}};

int luaopen_qnn_mpi(lua_State *L) {
    luaL_newlib(L, funcs);
    lua_pushliteral(L, "MPI " QNN_STR(MPI_VERSION) "." QNN_STR(MPI_SUBVERSION));
    lua_setfield(L, -2, "version");
    return 1;
}
