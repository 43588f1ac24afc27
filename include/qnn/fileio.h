/* Atomic file replacement: the one way qnnlab writes files (checkpoints, CSV, JSON, figures).
 *
 * Rules (qnn_atomic_open/commit and qnn_write_atomic):
 *  - A symbolic link is followed (up to 40 links, relative targets resolved against the
 *    link's directory) and its final target is replaced; the link itself stays a link.
 *  - An existing target that is not a regular file (character/block device, FIFO, socket,
 *    directory) is refused with QNN_EIO and a message naming its type; nothing is created,
 *    renamed or written (so "/dev/null" stays a device).
 *  - The new file keeps the old file's permission bits (and, when permitted, its owner); a new
 *    file gets 0666 minus the umask, as fopen would give it.
 *  - The data go to a temp file beside the target, named "<target>.tmp.<pid>.<hex>", which is
 *    fsync'ed, then renamed over the target (the directory is fsync'ed after). The temp file is
 *    removed on every error path.
 *  - Before writing, stale temp files "<target>.tmp.<pid>[.<hex>]" whose writer process no
 *    longer exists (kill(pid, 0) fails with ESRCH, or the number is above Linux's pid limit
 *    2^22, as in the "<target>.tmp.<random>" names of older versions) are removed; temp files
 *    of live processes are left alone. (A pid is only meaningful on this host: on a shared network file system a
 *    temp file of a writer on another machine could be taken for a dead one.)
 */
#ifndef QNN_FILEIO_H
#define QNN_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "qnn/common.h"

typedef struct qnn_atomic_file {
    char *target; /* resolved target path (symlinks followed) */
    char *tmp;    /* temp file beside it */
    int fd;       /* open on tmp, -1 once closed */
} qnn_atomic_file;

/* Resolves `path`, checks the target, cleans stale temp files and creates the temp file
 * (af->fd open for writing). On error nothing is left behind and af needs no abort. */
int qnn_atomic_open(qnn_atomic_file *af, const char *path, qnn_error *err);
/* Writes n bytes to the temp file (retries short writes). */
int qnn_atomic_write(qnn_atomic_file *af, const void *data, size_t n, qnn_error *err);
/* fsync, close, copy the old mode, rename over the target. Frees af; on error the temp file is
 * removed. */
int qnn_atomic_commit(qnn_atomic_file *af, qnn_error *err);
/* Closes and removes the temp file, frees af (safe after a failed commit or twice). */
void qnn_atomic_abort(qnn_atomic_file *af);

/* open + write + commit. */
int qnn_write_atomic(const char *path, const void *data, size_t n, qnn_error *err);

/* Moves the finished file `src` (a file the caller wrote, e.g. by an external program) over
 * `path` with the same rules: the target is resolved and checked, src is renamed onto it
 * (src must be on the same file system, e.g. from qnn_atomic_open's directory) and gets the
 * old file's mode. src is removed on error. */
int qnn_atomic_install(const char *src, const char *path, qnn_error *err);

/* Removes stale temp files of `path` (see above); returns how many were removed. */
int qnn_atomic_clean_stale(const char *path);

#endif
