/* qnnlab core: status codes, error buffers, interrupt flag, progress callbacks, allocation.
 * No Lua here. Every core function that can fail returns a qnn_status (0 = QNN_OK) and, when
 * given a non-NULL qnn_error*, fills a human-readable message naming what went wrong. */
#ifndef QNN_COMMON_H
#define QNN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#define QNN_VERSION_MAJOR 0
#define QNN_VERSION_MINOR 1
#define QNN_VERSION_PATCH 0
#define QNN_VERSION "0.1.0"

typedef enum qnn_status {
    QNN_OK = 0,
    QNN_ENOMEM,    /* allocation failed or would exceed a size limit */
    QNN_EINVAL,    /* invalid argument (value out of range, NaN, wrong shape ...) */
    QNN_ERANGE,    /* index out of range */
    QNN_EIO,       /* file could not be opened/read/written */
    QNN_EFORMAT,   /* malformed file or text */
    QNN_EINTR,     /* interrupted by the user (Ctrl-C) */
    QNN_ENOTFOUND, /* named thing does not exist */
    QNN_ESTATE,    /* object in the wrong state (closed, not initialised) */
    QNN_ECALLBACK  /* a user callback asked to stop or failed */
} qnn_status;

/* Optional detailed error message. Core functions take `qnn_error *err` that may be NULL. */
typedef struct qnn_error {
    int code;
    char msg[512];
} qnn_error;

const char *qnn_strerror(int code);
/* Sets err (if non-NULL) and returns code, so callers can `return qnn_error_set(err, ...)`. */
int qnn_error_set(qnn_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void qnn_error_clear(qnn_error *err);

/* ---- Interrupt flag: the one piece of global mutable state. Set from a SIGINT handler,
 * polled by long core loops, which then return QNN_EINTR. ---- */
void qnn_interrupt_raise(void);   /* async-signal-safe */
void qnn_interrupt_clear(void);
int qnn_interrupt_pending(void);

/* ---- Progress: long loops call this every so often. Return non-zero to ask the loop to
 * stop (it then returns QNN_ECALLBACK). `done` counts up to `total`. ---- */
typedef int (*qnn_progress_fn)(void *ud, double done, double total);
typedef struct qnn_progress {
    qnn_progress_fn fn;
    void *ud;
} qnn_progress;
/* Calls p->fn if set. Also polls the interrupt flag: returns QNN_EINTR, QNN_ECALLBACK or QNN_OK. */
int qnn_progress_step(const qnn_progress *p, double done, double total);

/* ---- Memory ---- */
void *qnn_aligned_alloc(size_t alignment, size_t bytes); /* zero-filled; NULL on failure */
void qnn_aligned_free(void *p);
/* Multiplication with overflow check: returns 0 and sets *out, or QNN_ENOMEM on overflow. */
int qnn_mul_size(size_t a, size_t b, size_t *out);
/* Bytes of physical memory, 0 if unknown. */
size_t qnn_physical_memory(void);
/* Largest allocation a simulator object may make: env QNN_MAX_BYTES, else half of physical memory. */
size_t qnn_max_bytes(void);

#endif
