#define _POSIX_C_SOURCE 200809L
#include "qnn/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupt_flag = 0;

void qnn_interrupt_raise(void) { interrupt_flag = 1; }
void qnn_interrupt_clear(void) { interrupt_flag = 0; }
int qnn_interrupt_pending(void) { return interrupt_flag != 0; }

const char *qnn_strerror(int code) {
    switch (code) {
    case QNN_OK: return "ok";
    case QNN_ENOMEM: return "out of memory or over the size limit";
    case QNN_EINVAL: return "invalid argument";
    case QNN_ERANGE: return "index out of range";
    case QNN_EIO: return "input/output error";
    case QNN_EFORMAT: return "malformed input";
    case QNN_EINTR: return "interrupted";
    case QNN_ENOTFOUND: return "not found";
    case QNN_ESTATE: return "object in the wrong state";
    case QNN_ECALLBACK: return "stopped by callback";
    default: return "unknown error";
    }
}

int qnn_error_set(qnn_error *err, int code, const char *fmt, ...) {
    if (err) {
        err->code = code;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->msg, sizeof err->msg, fmt, ap);
            va_end(ap);
        } else {
            snprintf(err->msg, sizeof err->msg, "%s", qnn_strerror(code));
        }
    }
    return code;
}

void qnn_error_clear(qnn_error *err) {
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

int qnn_progress_step(const qnn_progress *p, double done, double total) {
    if (interrupt_flag) return QNN_EINTR;
    if (p && p->fn && p->fn(p->ud, done, total) != 0) return QNN_ECALLBACK;
    return QNN_OK;
}

void *qnn_aligned_alloc(size_t alignment, size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = alignment;
    if (posix_memalign(&p, alignment, bytes) != 0) return NULL;
    memset(p, 0, bytes);
    return p;
}

void qnn_aligned_free(void *p) { free(p); }

int qnn_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return QNN_ENOMEM;
    *out = a * b;
    return QNN_OK;
}

size_t qnn_physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES);
    long size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || size <= 0) return 0;
    return (size_t)pages * (size_t)size;
}

size_t qnn_max_bytes(void) {
    const char *env = getenv("QNN_MAX_BYTES");
    if (env && *env) {
        char *end = NULL;
        unsigned long long v = strtoull(env, &end, 10);
        if (end && end != env && v > 0) return (size_t)v;
    }
    size_t phys = qnn_physical_memory();
    return phys ? phys / 2 : (size_t)1 << 32;
}
