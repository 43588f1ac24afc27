/* Internal to the circuit sources (circuit.c, circuit_run.c, circuit_grad.c, qasm.c). */
#ifndef QNN_CIRCUIT_INTERNAL_H
#define QNN_CIRCUIT_INTERNAL_H

#include "qnn/circuit.h"

#define QNN_CIRCUIT_MAXQ 30     /* qubits per circuit */
#define QNN_CIRCUIT_MAXU 10     /* qubits of a dense unitary gate */
#define QNN_CIRCUIT_MAXDIAG 26  /* qubits of a circuit holding a diagonal gate */
#define QNN_CIRCUIT_MAXUNITARY 10 /* qnn_circuit_unitary */

struct qnn_circuit {
    int n;          /* qubits */
    qnn_op *ops;
    size_t nops, cap;
    char **names;   /* parameter names */
    double *values; /* parameter values */
    int np, pcap;
    size_t data_doubles; /* sum of qnn_circ_op_datalen over ops (memory accounting) */
    /* classical registers: names, first bit, size; nbits = total bits */
    char *creg_name[QNN_CIRCUIT_MAXBITS];
    int creg_off[QNN_CIRCUIT_MAXBITS], creg_size[QNN_CIRCUIT_MAXBITS];
    int ncregs, nbits;
    struct qnn_fuse_prog *fuse; /* compiled program cache (circuit_fuse.c), NULL if none */
};

/* 1 if name is an identifier [A-Za-z_][A-Za-z0-9_]* of 1..64 characters */
int qnn_circ_is_ident(const char *name);
/* 1 if name is an OpenQASM keyword or constant (not usable as a register name) */
int qnn_circ_is_reserved(const char *name);
/* Runs the non-unitary path of qnn_circuit_run / qnn_circuit_run_density (circuit_measure.c). */
int qnn_circ_run_classical(const qnn_circuit *c, qnn_state *s, const qnn_noise *noise,
                           qnn_rng *rng, uint64_t *bits, qnn_error *err);
/* Noise channels after one gate (circuit_run.c). */
int qnn_circ_noise_state(const qnn_op *op, const qnn_noise *nm, qnn_state *s, qnn_rng *rng,
                         qnn_error *err);
int qnn_circ_noise_density(const qnn_op *op, const qnn_noise *nm, qnn_density *d,
                           qnn_error *err);
/* For the gradient entry points: *view = NULL if c is all gates; a gates-only copy if c only
 * adds barriers and terminal measurements (and, when terms != NULL, the observable has no X/Y
 * on a measured qubit); otherwise QNN_EINVAL naming `what`. */
int qnn_circ_unitary_view(const qnn_circuit *c, const char *what, const qnn_pauli_term *terms,
                          int nterms, qnn_circuit **view, qnn_error *err);

int qnn_circ_push(qnn_circuit *c, qnn_op *op, qnn_error *err);
int qnn_circ_op_clone(qnn_op *dst, const qnn_op *src, int n);
size_t qnn_circ_op_datalen(const qnn_op *op, int n);
int qnn_circ_check_unitary(const double *m, int k, double tol);
/* numeric angles of op into p (unitary/diagonal: op->data) */
const double *qnn_circ_op_params(const qnn_circuit *c, const qnn_op *op, double p[3]);
/* applies op (or its inverse) to s */
int qnn_circ_apply_op(const qnn_circuit *c, const qnn_op *op, qnn_state *s, int inverse,
                      qnn_error *err);

/* fusion (circuit_fuse.c): frees the cached program; runs c on s with it */
void qnn_circ_fuse_free(qnn_circuit *c);
int qnn_circ_run_fused(const qnn_circuit *c, qnn_state *s, qnn_error *err);
/* Block b of the compiled program (qnn_circuit_compile first) on s, in place. */
int qnn_circ_run_fused_block(const qnn_circuit *c, size_t b, qnn_state *s, qnn_error *err);

/* growable string */
typedef struct qnn_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} qnn_sbuf;
void qnn_sb_add(qnn_sbuf *b, const char *s, size_t n);
void qnn_sb_puts(qnn_sbuf *b, const char *s);
void qnn_sb_printf(qnn_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
