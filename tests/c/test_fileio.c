/* Atomic writes (include/qnn/fileio.h): symlinks, FIFOs, devices, modes, unwritable
 * directories, stale temp files, install. */
#define _XOPEN_SOURCE 700 /* nftw, mknod */
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "qnn/checkpoint.h"
#include "qnn/fileio.h"

static char dir[256];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static int read_all(const char *p, char *buf, size_t n) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    size_t r = fread(buf, 1, n - 1, f);
    buf[r] = 0;
    fclose(f);
    return (int)r;
}

/* number of entries in dir whose name contains ".tmp." */
static int count_tmp(void) {
    DIR *d = opendir(dir);
    int c = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) c += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return c;
}

TEST(plain_write_and_replace) {
    char p[512], buf[64];
    path_in(p, sizeof p, "a.txt");
    qnn_error err;
    CHECK(qnn_write_atomic(p, "one", 3, &err) == QNN_OK);
    CHECK(read_all(p, buf, sizeof buf) == 3 && strcmp(buf, "one") == 0);
    CHECK(qnn_write_atomic(p, "second", 6, &err) == QNN_OK);
    CHECK(read_all(p, buf, sizeof buf) == 6 && strcmp(buf, "second") == 0);
    CHECK(count_tmp() == 0);
}

TEST(symlink_target_replaced) {
    char target[512], link[512], buf[64];
    path_in(target, sizeof target, "target.ckpt");
    path_in(link, sizeof link, "link.ckpt");
    qnn_error err;
    CHECK(qnn_write_atomic(target, "old", 3, &err) == QNN_OK);
    CHECK(symlink("target.ckpt", link) == 0); /* relative link */
    CHECK(qnn_write_atomic(link, "new", 3, &err) == QNN_OK);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode)); /* still a link */
    CHECK(read_all(target, buf, sizeof buf) == 3 && strcmp(buf, "new") == 0);
    /* dangling link: the target is created */
    char dl[512], dt[512];
    path_in(dl, sizeof dl, "dangling");
    path_in(dt, sizeof dt, "created-through-link");
    CHECK(symlink(dt, dl) == 0); /* absolute link */
    CHECK(qnn_write_atomic(dl, "x", 1, &err) == QNN_OK);
    CHECK(read_all(dt, buf, sizeof buf) == 1);
    CHECK(lstat(dl, &st) == 0 && S_ISLNK(st.st_mode));
    /* a loop of links is refused */
    char l1[512], l2[512];
    path_in(l1, sizeof l1, "loop1");
    path_in(l2, sizeof l2, "loop2");
    CHECK(symlink("loop2", l1) == 0 && symlink("loop1", l2) == 0);
    CHECK(qnn_write_atomic(l1, "x", 1, &err) == QNN_EIO);
    CHECK(strstr(err.msg, "symbolic links") != NULL);
    CHECK(count_tmp() == 0);
}

TEST(fifo_refused_untouched) {
    char p[512];
    path_in(p, sizeof p, "fifo");
    CHECK(mkfifo(p, 0600) == 0);
    qnn_error err;
    qnn_error_clear(&err);
    CHECK(qnn_write_atomic(p, "x", 1, &err) == QNN_EIO); /* must not block either */
    CHECK(strstr(err.msg, "FIFO") != NULL);
    struct stat st;
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    /* through a symlink too */
    char l[512];
    path_in(l, sizeof l, "fifo-link");
    CHECK(symlink(p, l) == 0);
    CHECK(qnn_write_atomic(l, "x", 1, &err) == QNN_EIO);
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(qnn_write_atomic(dir, "x", 1, &err) == QNN_EIO); /* a directory */
    CHECK(strstr(err.msg, "directory") != NULL);
    CHECK(count_tmp() == 0);
}

TEST(char_device_refused) {
    char p[512];
    path_in(p, sizeof p, "null");
    if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        printf("note: mknod failed (%s): character-device case skipped\n", strerror(errno));
        return;
    }
    qnn_error err;
    CHECK(qnn_write_atomic(p, "x", 1, &err) == QNN_EIO);
    CHECK(strstr(err.msg, "character device") != NULL);
    struct stat st;
    CHECK(lstat(p, &st) == 0 && S_ISCHR(st.st_mode));
    /* checkpoints go through the same helper */
    CHECK(qnn_write_atomic("/dev/null", "x", 1, &err) == QNN_EIO);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
}

TEST(mode_kept) {
    char p[512];
    path_in(p, sizeof p, "mode.txt");
    qnn_error err;
    CHECK(qnn_write_atomic(p, "a", 1, &err) == QNN_OK);
    CHECK(chmod(p, 0640) == 0);
    CHECK(qnn_write_atomic(p, "b", 1, &err) == QNN_OK);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640);
    /* a new file gets 0666 & ~umask */
    mode_t old = umask(022);
    char q[512];
    path_in(q, sizeof q, "new.txt");
    CHECK(qnn_write_atomic(q, "a", 1, &err) == QNN_OK);
    CHECK(stat(q, &st) == 0 && (st.st_mode & 07777) == 0644);
    umask(old);
}

TEST(unwritable_dir_leaves_nothing) {
    char p[512];
    path_in(p, sizeof p, "no-such-dir/x.txt");
    qnn_error err;
    qnn_error_clear(&err);
    CHECK(qnn_write_atomic(p, "a", 1, &err) == QNN_EIO);
    CHECK(strstr(err.msg, "temp file") != NULL);
    if (geteuid() != 0) { /* root ignores permissions */
        char d[512], q[600];
        path_in(d, sizeof d, "ro");
        CHECK(mkdir(d, 0500) == 0);
        snprintf(q, sizeof q, "%s/x.txt", d);
        CHECK(qnn_write_atomic(q, "a", 1, &err) == QNN_EIO);
        chmod(d, 0700);
    }
    CHECK(count_tmp() == 0);
}

TEST(stale_temp_files_of_dead_writers_removed) {
    char p[512], stale[600], live[600], other[600];
    path_in(p, sizeof p, "stale.csv");
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* child's pid is now dead */
    snprintf(stale, sizeof stale, "%s.tmp.%ld.abc123", p, (long)child);
    snprintf(live, sizeof live, "%s.tmp.%ld.abc123", p, (long)getppid());
    snprintf(other, sizeof other, "%s.tmp.notapid", p);
    char legacy[600];
    snprintf(legacy, sizeof legacy, "%s.tmp.%ld", p, (long)child); /* older name format */
    const char *names[] = {stale, live, other, legacy};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(names[i], "w");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    qnn_error err;
    CHECK(qnn_write_atomic(p, "x", 1, &err) == QNN_OK);
    CHECK(access(stale, F_OK) != 0);  /* dead writer: removed */
    CHECK(access(legacy, F_OK) != 0);
    CHECK(access(live, F_OK) == 0);   /* live process: kept */
    CHECK(access(other, F_OK) == 0);  /* not our pattern: kept */
    unlink(live);
    unlink(other);
}

TEST(install_moves_with_rules) {
    char src[512], dst[512], buf[64];
    path_in(src, sizeof src, "fig.png.part");
    path_in(dst, sizeof dst, "fig.png");
    qnn_error err;
    CHECK(qnn_write_atomic(dst, "old", 3, &err) == QNN_OK);
    CHECK(chmod(dst, 0604) == 0);
    FILE *f = fopen(src, "w");
    fputs("PNG", f);
    fclose(f);
    CHECK(qnn_atomic_install(src, dst, &err) == QNN_OK);
    CHECK(read_all(dst, buf, sizeof buf) == 3 && strcmp(buf, "PNG") == 0);
    struct stat st;
    CHECK(stat(dst, &st) == 0 && (st.st_mode & 07777) == 0604);
    CHECK(access(src, F_OK) != 0);
    char fifo[512];
    path_in(fifo, sizeof fifo, "fig-fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    f = fopen(src, "w");
    fclose(f);
    CHECK(qnn_atomic_install(src, fifo, &err) == QNN_EIO);
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(access(src, F_OK) != 0); /* removed on error */
}

TEST(checkpoint_through_symlink_keeps_link) {
    char target[512], link[512];
    path_in(target, sizeof target, "opt.ckpt");
    path_in(link, sizeof link, "opt-link.ckpt");
    qnn_error err;
    CHECK(qnn_write_atomic(target, "placeholder", 11, &err) == QNN_OK);
    CHECK(symlink(target, link) == 0);
    CHECK(qnn_write_atomic(link, "ckpt", 4, &err) == QNN_OK);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(target, &st) == 0 && st.st_size == 4);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p) == 0 ? 0 : 0;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/qnn-fileio-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(plain_write_and_replace);
    RUN(symlink_target_replaced);
    RUN(fifo_refused_untouched);
    RUN(char_device_refused);
    RUN(mode_kept);
    RUN(unwritable_dir_leaves_nothing);
    RUN(stale_temp_files_of_dead_writers_removed);
    RUN(install_moves_with_rules);
    RUN(checkpoint_through_symlink_keeps_link);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return harness_done();
}
