/* Atomic file replacement (include/qnn/fileio.h): symlinks followed, non-regular targets
 * refused, old mode kept, temp file beside the target removed on every error path, stale temp
 * files of dead writers cleaned up. */
#define _POSIX_C_SOURCE 200809L
#include "qnn/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINKS 40
#define PID_LIMIT 4194304L /* PID_MAX_LIMIT on 64-bit Linux */

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* directory part of p ("." if none), newly allocated */
static char *dir_of(const char *p) {
    const char *slash = strrchr(p, '/');
    if (!slash) return dupstr(".");
    if (slash == p) return dupstr("/");
    size_t n = (size_t)(slash - p);
    char *d = (char *)malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = 0;
    }
    return d;
}

static const char *base_of(const char *p) {
    const char *slash = strrchr(p, '/');
    return slash ? slash + 1 : p;
}

static const char *type_name(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* Follows symlinks from path; returns the final target (allocated) or NULL with err set. */
static char *resolve(const char *path, qnn_error *err) {
    char *cur = dupstr(path);
    if (!cur) return NULL;
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur; /* absent or not a link */
        if (hops >= MAX_LINKS) {
            qnn_error_set(err, QNN_EIO, "cannot write %s: more than %d symbolic links", path,
                          MAX_LINKS);
            free(cur);
            return NULL;
        }
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        char *link = (char *)malloc(cap);
        if (!link) {
            free(cur);
            return NULL;
        }
        ssize_t n = readlink(cur, link, cap - 1);
        if (n < 0) {
            qnn_error_set(err, QNN_EIO, "cannot write %s: cannot read link %s: %s", path, cur,
                          strerror(errno));
            free(link);
            free(cur);
            return NULL;
        }
        link[n] = 0;
        char *next;
        if (link[0] == '/') {
            next = link;
        } else {
            char *d = dir_of(cur);
            next = d ? (char *)malloc(strlen(d) + strlen(link) + 2) : NULL;
            if (next) sprintf(next, "%s/%s", d, link);
            free(d);
            free(link);
        }
        free(cur);
        if (!next) return NULL;
        cur = next;
    }
}

/* "<base>.tmp.<digits>" or "<base>.tmp.<digits>.<hex>": the pid, or -1 if name does not match */
static long stale_pid(const char *name, const char *base) {
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp.", 5) != 0) return -1;
    const char *p = name + bl + 5;
    if (*p < '0' || *p > '9') return -1;
    long pid = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 12) return -1;
        pid = pid * 10 + (*p++ - '0');
    }
    if (*p == '.') {
        p++;
        if (!*p) return -1;
        for (; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return -1;
    } else if (*p) {
        return -1;
    }
    return pid;
}

int qnn_atomic_clean_stale(const char *path) {
    char *target = resolve(path, NULL);
    if (!target) return 0;
    char *dir = dir_of(target);
    const char *base = base_of(target);
    int removed = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            long pid = stale_pid(e->d_name, base);
            if (pid < 0) continue;
            /* numbers above Linux's PID_MAX_LIMIT (2^22) are no live process: older versions
             * named temp files "<target>.tmp.<random>" */
            if (pid > 0 && pid <= PID_LIMIT &&
                (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH))
                continue; /* our own or a live (or foreign-owned) writer */
            char *full = (char *)malloc(strlen(dir) + strlen(e->d_name) + 2);
            if (!full) break;
            sprintf(full, "%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && unlink(full) == 0) removed++;
            free(full);
        }
        closedir(d);
    }
    free(dir);
    free(target);
    return removed;
}

/* Resolves and checks the target: *mode_out = old mode or -1 if absent. */
static char *check_target(const char *path, long *mode_out, uid_t *uid, gid_t *gid,
                          qnn_error *err) {
    if (!path || !*path) {
        qnn_error_set(err, QNN_EINVAL, "cannot write: empty path");
        return NULL;
    }
    char *target = resolve(path, err);
    if (!target) {
        if (err && !err->msg[0]) qnn_error_set(err, QNN_ENOMEM, "out of memory");
        return NULL;
    }
    struct stat st;
    *mode_out = -1;
    if (stat(target, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            qnn_error_set(err, QNN_EIO,
                          "refusing to replace %s: it is %s, not a regular file (qnnlab only "
                          "replaces regular files)", path, type_name(st.st_mode));
            free(target);
            return NULL;
        }
        *mode_out = (long)(st.st_mode & 07777);
        *uid = st.st_uid;
        *gid = st.st_gid;
    } else if (errno != ENOENT) {
        qnn_error_set(err, QNN_EIO, "cannot write %s: %s", path, strerror(errno));
        free(target);
        return NULL;
    }
    return target;
}

static void fsync_dir(const char *target) {
    char *dir = dir_of(target);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* restores the old owner (root only; ignored otherwise) and mode on the new file */
static int apply_mode(int fd, long mode, uid_t uid, gid_t gid) {
    if (mode < 0) return 0;
    if (geteuid() == 0) (void)!fchown(fd, uid, gid);
    return fchmod(fd, (mode_t)mode);
}

int qnn_atomic_open(qnn_atomic_file *af, const char *path, qnn_error *err) {
    memset(af, 0, sizeof *af);
    af->fd = -1;
    long mode;
    uid_t uid = 0;
    gid_t gid = 0;
    char *target = check_target(path, &mode, &uid, &gid, err);
    if (!target) return err ? (err->code ? err->code : QNN_EIO) : QNN_EIO;
    qnn_atomic_clean_stale(target);
    size_t cap = strlen(target) + 64;
    char *tmp = (char *)malloc(cap);
    if (!tmp) {
        free(target);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)af;
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(tmp, cap, "%s.tmp.%ld.%llx", target, (long)getpid(),
                 (unsigned long long)(x >> 24) & 0xffffffffffull);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        qnn_error_set(err, QNN_EIO, "cannot write %s: cannot create a temp file beside it: %s",
                      path, strerror(e));
        free(tmp);
        free(target);
        return QNN_EIO;
    }
    if (apply_mode(fd, mode, uid, gid) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        free(target);
        return qnn_error_set(err, QNN_EIO, "cannot write %s: cannot set its mode: %s", path,
                             strerror(e));
    }
    af->target = target;
    af->tmp = tmp;
    af->fd = fd;
    return QNN_OK;
}

void qnn_atomic_abort(qnn_atomic_file *af) {
    if (af->fd >= 0) close(af->fd);
    af->fd = -1;
    if (af->tmp) unlink(af->tmp);
    free(af->tmp);
    free(af->target);
    af->tmp = af->target = NULL;
}

int qnn_atomic_write(qnn_atomic_file *af, const void *data, size_t n, qnn_error *err) {
    const char *p = (const char *)data;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? (size_t)1 << 30 : n;
        ssize_t w = write(af->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return qnn_error_set(err, QNN_EIO, "cannot write %s: %s", af->target,
                                 strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return QNN_OK;
}

int qnn_atomic_commit(qnn_atomic_file *af, qnn_error *err) {
    int rc = QNN_OK;
    if (af->fd < 0 || !af->tmp) return qnn_error_set(err, QNN_ESTATE, "atomic write not open");
    if (fsync(af->fd) != 0 && errno != EINVAL)
        rc = qnn_error_set(err, QNN_EIO, "cannot write %s: %s", af->target, strerror(errno));
    if (close(af->fd) != 0 && !rc)
        rc = qnn_error_set(err, QNN_EIO, "cannot write %s: %s", af->target, strerror(errno));
    af->fd = -1;
    if (!rc) {
        /* the target may have changed since open: never rename over a non-regular file */
        struct stat st;
        if (stat(af->target, &st) == 0 && !S_ISREG(st.st_mode))
            rc = qnn_error_set(err, QNN_EIO, "refusing to replace %s: it is %s, not a regular file",
                               af->target, type_name(st.st_mode));
        else if (rename(af->tmp, af->target) != 0)
            rc = qnn_error_set(err, QNN_EIO, "cannot rename onto %s: %s", af->target,
                               strerror(errno));
    }
    if (!rc) {
        fsync_dir(af->target);
        free(af->tmp);
        af->tmp = NULL;
    }
    qnn_atomic_abort(af); /* removes tmp if still there, frees */
    return rc;
}

int qnn_write_atomic(const char *path, const void *data, size_t n, qnn_error *err) {
    qnn_atomic_file af;
    int rc = qnn_atomic_open(&af, path, err);
    if (rc) return rc;
    rc = qnn_atomic_write(&af, data, n, err);
    if (rc) {
        qnn_atomic_abort(&af);
        return rc;
    }
    return qnn_atomic_commit(&af, err);
}

int qnn_atomic_install(const char *src, const char *path, qnn_error *err) {
    long mode;
    uid_t uid = 0;
    gid_t gid = 0;
    struct stat ss;
    if (!src || lstat(src, &ss) != 0 || !S_ISREG(ss.st_mode)) {
        if (src) unlink(src);
        return qnn_error_set(err, QNN_EIO, "cannot install %s: not a regular file",
                             src ? src : "(null)");
    }
    char *target = check_target(path, &mode, &uid, &gid, err);
    if (!target) {
        unlink(src);
        return err ? (err->code ? err->code : QNN_EIO) : QNN_EIO;
    }
    int rc = QNN_OK;
    int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || (mode >= 0 && apply_mode(fd, mode, uid, gid) != 0) ||
        (fsync(fd) != 0 && errno != EINVAL))
        rc = qnn_error_set(err, QNN_EIO, "cannot install %s: %s", src, strerror(errno));
    if (fd >= 0) close(fd);
    if (!rc && rename(src, target) != 0)
        rc = qnn_error_set(err, QNN_EIO, "cannot rename %s onto %s: %s", src, target,
                           strerror(errno));
    if (rc) unlink(src);
    else fsync_dir(target);
    free(target);
    return rc;
}
