/* OpenQASM export (versions 2.0 and 3).
 *
 * Export: `OPENQASM 2.0; include "qelib1.inc"; qreg q[n];` then one line per gate, angles
 * written as their current numeric values (shortest exact %g form). Gates with a qelib1 name are written
 * directly (phase -> u1, cphase -> cu1, mcx with 0/1/2 controls -> x/cx/ccx, mcz on 1/2
 * qubits -> z/cz). The others are decomposed EXACTLY (including the global phase) into qelib1
 * gates:
 *   ryy(t) a,b   = sdg a; sdg b; rxx(t) a,b; s a; s b;
 *   rzy(t) a,b   = sdg b; h b; rzz(t) a,b; h b; s b;
 *   diagonal     = Walsh (phase-polynomial) expansion: one rz on the parity of every subset of
 *                  its qubits (cx ladders), plus the global phase;
 *   mcx (>= 3 controls), mcz (>= 3 qubits) = h-conjugated / plain diagonal as above;
 *   unitary(k=1) = u3 + global phase;  unitary(k>=2) = Givens (two-level) elimination in
 *                  Gray-code order: multi-controlled single-qubit gates (ABC decomposition with
 *                  the mcx above) and a final diagonal.
 * A global phase e^{ia} is written as `u1(a) q[0]; x q[0]; u1(a) q[0]; x q[0];` (= e^{ia} I),
 * so the unitary of the exported text equals the circuit's unitary exactly (rz is read back as
 * exp(-i t/2 Z), rzz as exp(-i t/2 ZZ), like qnn's gates; QASM 2 ignores global phases anyway).
 *
 * Measurement, reset, barriers and classical registers are written as `measure q[i] -> c[j];`,
 * `reset`, `barrier`, `creg`; a condition as the prefix `if(reg==v) ` on every line of the op
 * (OpenQASM 2 can only test a whole register; other conditions are an error pointing to
 * version 3). A conditional op's global phase is dropped (it is not observable).
 *
 * Version 3 (qnn_circuit_to_qasm_version(c, 3, ...)): `OPENQASM 3.0; include "stdgates.inc";`,
 * gate definitions for the used gates stdgates lacks (sxdg rxx ryy rzz rzy), `input float[64]
 * name;` per parameter (names made identifiers), angles `scale*name + offset`, `qubit[n] q;`,
 * `bit[m] reg;`, `reg[j] = measure q[i];`, conditions as `if (reg == v) { ... }` or nested
 * single-bit `if (reg[j] == b) { ... }` blocks around runs of ops with the same condition.
 *
 * Import lives in qasm_parse.c.
 */
#include "circuit_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ====================================================================== */
/* Export                                                                  */
/* ====================================================================== */

typedef struct emitter {
    qnn_sbuf *b;
    double gphase;
    const char *pre; /* line prefix: "if(c==1) " (version 2) or indentation (version 3) */
    const char *qn;  /* quantum register name */
    int v3;
} emitter;

/* shortest %g form that reads back exactly */
static const char *num(double v, char *buf) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static const char *gname(const emitter *e, const char *g) {
    if (e->v3 && strcmp(g, "cu1") == 0) return "cp";
    return g;
}

static void em1(emitter *e, const char *g, int q) {
    qnn_sb_printf(e->b, "%s%s %s[%d];\n", e->pre, gname(e, g), e->qn, q);
}
static void em1s(emitter *e, const char *g, const char *a, int q) {
    qnn_sb_printf(e->b, "%s%s(%s) %s[%d];\n", e->pre, gname(e, g), a, e->qn, q);
}
static void em1a(emitter *e, const char *g, double a, int q) {
    char b1[32];
    em1s(e, g, num(a, b1), q);
}
static void em2(emitter *e, const char *g, int a, int b) {
    qnn_sb_printf(e->b, "%s%s %s[%d],%s[%d];\n", e->pre, gname(e, g), e->qn, a, e->qn, b);
}
static void em2s(emitter *e, const char *g, const char *t, int a, int b) {
    qnn_sb_printf(e->b, "%s%s(%s) %s[%d],%s[%d];\n", e->pre, gname(e, g), t, e->qn, a, e->qn, b);
}
static void em2a(emitter *e, const char *g, double t, int a, int b) {
    char b1[32];
    em2s(e, g, num(t, b1), a, b);
}
static void em_u3s(emitter *e, const char *t, const char *p, const char *l, int q) {
    qnn_sb_printf(e->b, "%su3(%s,%s,%s) %s[%d];\n", e->pre, t, p, l, e->qn, q);
}
static void em_u3(emitter *e, double t, double p, double l, int q) {
    char b1[32], b2[32], b3[32];
    em_u3s(e, num(t, b1), num(p, b2), num(l, b3), q);
}

/* exp(i sum_S a_S chi_S(x)) with phases[x] over qubits q[0..m-1] (bit j of x <-> q[j]). */
static int emit_diagonal(emitter *e, const int *q, int m, const double *phases) {
    size_t d = (size_t)1 << m;
    double *a = (double *)malloc(sizeof(double) * d);
    if (!a) return QNN_ENOMEM;
    memcpy(a, phases, sizeof(double) * d);
    /* Walsh-Hadamard transform: a_S = 2^-m sum_x phi(x) (-1)^{|x & S|} */
    for (size_t h = 1; h < d; h <<= 1)
        for (size_t i = 0; i < d; i += 2 * h)
            for (size_t j = i; j < i + h; j++) {
                double u = a[j], v = a[j + h];
                a[j] = u + v;
                a[j + h] = u - v;
            }
    for (size_t s = 0; s < d; s++) a[s] /= (double)d;
    e->gphase += a[0];
    for (size_t s = 1; s < d; s++) {
        if (fabs(a[s]) < 1e-15) continue;
        int bits[64], nb = 0;
        for (int j = 0; j < m; j++)
            if (s >> j & 1) bits[nb++] = q[j];
        int top = bits[nb - 1];
        for (int j = 0; j < nb - 1; j++) em2(e, "cx", bits[j], top);
        /* exp(i a Z) = rz(-2a) */
        em1a(e, "rz", -2.0 * a[s], top);
        for (int j = nb - 2; j >= 0; j--) em2(e, "cx", bits[j], top);
    }
    free(a);
    return QNN_OK;
}

/* phase -1 when all of q[0..m-1] are 1 */
static int emit_mcz(emitter *e, const int *q, int m) {
    if (m == 1) {
        em1(e, "z", q[0]);
        return QNN_OK;
    }
    if (m == 2) {
        em2(e, "cz", q[0], q[1]);
        return QNN_OK;
    }
    size_t d = (size_t)1 << m;
    double *ph = (double *)calloc(d, sizeof(double));
    if (!ph) return QNN_ENOMEM;
    ph[d - 1] = M_PI;
    int st = emit_diagonal(e, q, m, ph);
    free(ph);
    return st;
}

static int emit_mcx(emitter *e, const int *ctrl, int nc, int t) {
    if (nc == 0) {
        em1(e, "x", t);
        return QNN_OK;
    }
    if (nc == 1) {
        em2(e, "cx", ctrl[0], t);
        return QNN_OK;
    }
    if (nc == 2) {
        qnn_sb_printf(e->b, "%sccx %s[%d],%s[%d],%s[%d];\n", e->pre, e->qn, ctrl[0], e->qn, ctrl[1],
                      e->qn, t);
        return QNN_OK;
    }
    int q[QNN_CIRCUIT_MAXQ];
    for (int i = 0; i < nc; i++) q[i] = ctrl[i];
    q[nc] = t;
    em1(e, "h", t);
    int st = emit_mcz(e, q, nc + 1);
    em1(e, "h", t);
    return st;
}

/* 2x2 unitary m (re/im interleaved) = e^{i alpha} U3(t, p, l). */
static void zyz(const double *m, double *t, double *p, double *l, double *alpha) {
    double a00 = hypot(m[0], m[1]), a10 = hypot(m[4], m[5]);
    double arg00 = atan2(m[1], m[0]), arg10 = atan2(m[5], m[4]);
    double argm01 = atan2(-m[3], -m[2]), arg11 = atan2(m[7], m[6]);
    *t = 2.0 * atan2(a10, a00);
    if (a10 < 1e-14) {
        *alpha = arg00;
        *p = 0.0;
        *l = arg11 - arg00;
    } else if (a00 < 1e-14) {
        *l = 0.0;
        *alpha = argm01;
        *p = arg10 - argm01;
    } else {
        *alpha = arg00;
        *p = arg10 - arg00;
        *l = argm01 - arg00;
    }
}

/* Multi-controlled 2x2 unitary v on target t, controls ctrl[0..nc-1] (all 1 to act). */
static int emit_mcu(emitter *e, const int *ctrl, int nc, int t, const double *v) {
    double th, ph, la, al;
    zyz(v, &th, &ph, &la, &al);
    if (nc == 0) {
        em_u3(e, th, ph, la, t);
        e->gphase += al;
        return QNN_OK;
    }
    /* v = e^{i(al + (ph+la)/2)} Rz(ph) Ry(th) Rz(la) = e^{i beta} A X B X C */
    double beta = al + 0.5 * (ph + la);
    /* C = Rz((la - ph)/2) */
    em1a(e, "rz", 0.5 * (la - ph), t);
    int st = emit_mcx(e, ctrl, nc, t);
    if (st) return st;
    /* B = Ry(-th/2) Rz(-(la + ph)/2): Rz first in time */
    em1a(e, "rz", -0.5 * (la + ph), t);
    em1a(e, "ry", -0.5 * th, t);
    st = emit_mcx(e, ctrl, nc, t);
    if (st) return st;
    /* A = Rz(ph) Ry(th/2) */
    em1a(e, "ry", 0.5 * th, t);
    em1a(e, "rz", ph, t);
    /* phase e^{i beta} when all controls are 1 */
    if (fabs(beta) > 1e-15) {
        if (nc == 1) {
            em1a(e, "u1", beta, ctrl[0]);
        } else if (nc == 2) {
            em2a(e, "cu1", beta, ctrl[0], ctrl[1]);
        } else {
            size_t d = (size_t)1 << nc;
            double *phs = (double *)calloc(d, sizeof(double));
            if (!phs) return QNN_ENOMEM;
            phs[d - 1] = beta;
            st = emit_diagonal(e, ctrl, nc, phs);
            free(phs);
        }
    }
    return st;
}

/* Dense k-qubit unitary m on qubits q (bit j of the matrix index <-> q[j]). */
static int emit_unitary(emitter *e, const int *q, int k, const double *m) {
    if (k == 1) return emit_mcu(e, NULL, 0, q[0], m);
    size_t d = (size_t)1 << k;
    /* V = P U P^T with V's index i <-> basis gray(i) */
    double *V = (double *)malloc(sizeof(double) * 2 * d * d);
    size_t *g = (size_t *)malloc(sizeof(size_t) * d);
    /* recorded two-level ops: (row index i (upper), 2x2 matrix G acting on rows (i, i+1)) */
    size_t nops = d * (d - 1) / 2;
    double *G = (double *)malloc(sizeof(double) * 8 * (nops ? nops : 1));
    size_t *gi = (size_t *)malloc(sizeof(size_t) * (nops ? nops : 1));
    double *ph = (double *)malloc(sizeof(double) * d);
    if (!V || !g || !G || !gi || !ph) {
        free(V), free(g), free(G), free(gi), free(ph);
        return QNN_ENOMEM;
    }
    for (size_t i = 0; i < d; i++) g[i] = i ^ (i >> 1);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            V[2 * (i * d + j)] = m[2 * (g[i] * d + g[j])];
            V[2 * (i * d + j) + 1] = m[2 * (g[i] * d + g[j]) + 1];
        }
    size_t n2 = 0;
    for (size_t c = 0; c + 1 < d; c++) {
        for (size_t r = d - 1; r > c; r--) {
            /* zero V[r][c] by a unitary on rows (r-1, r) */
            double ar = V[2 * ((r - 1) * d + c)], ai = V[2 * ((r - 1) * d + c) + 1];
            double br = V[2 * (r * d + c)], bi = V[2 * (r * d + c) + 1];
            double nb = hypot(br, bi);
            if (nb < 1e-15) continue;
            double na = hypot(ar, ai);
            double nn = hypot(na, nb);
            /* G = [[conj(a), conj(b)], [-b, a]] / nn : maps (a, b) -> (nn, 0) */
            double *M = G + 8 * n2;
            M[0] = ar / nn, M[1] = -ai / nn, M[2] = br / nn, M[3] = -bi / nn;
            M[4] = -br / nn, M[5] = -bi / nn, M[6] = ar / nn, M[7] = ai / nn;
            gi[n2++] = r - 1;
            for (size_t j = 0; j < d; j++) {
                double xr = V[2 * ((r - 1) * d + j)], xi = V[2 * ((r - 1) * d + j) + 1];
                double yr = V[2 * (r * d + j)], yi = V[2 * (r * d + j) + 1];
                V[2 * ((r - 1) * d + j)] = M[0] * xr - M[1] * xi + M[2] * yr - M[3] * yi;
                V[2 * ((r - 1) * d + j) + 1] = M[0] * xi + M[1] * xr + M[2] * yi + M[3] * yr;
                V[2 * (r * d + j)] = M[4] * xr - M[5] * xi + M[6] * yr - M[7] * yi;
                V[2 * (r * d + j) + 1] = M[4] * xi + M[5] * xr + M[6] * yi + M[7] * yr;
            }
        }
    }
    /* now G_n2 ... G_1 V = D (diagonal), so U = P^T G_1^+ ... G_n2^+ D P: in time order
     * D first, then G_n2^+, ..., G_1^+. D in original basis: phases at g[i]. */
    for (size_t i = 0; i < d; i++) ph[g[i]] = atan2(V[2 * (i * d + i) + 1], V[2 * (i * d + i)]);
    int st = emit_diagonal(e, q, k, ph);
    for (size_t o = n2; o-- > 0 && !st;) {
        size_t i = gi[o];
        size_t x0 = g[i], x1 = g[i + 1];
        size_t diff = x0 ^ x1;
        int tb = 0;
        while (!((diff >> tb) & 1)) tb++;
        /* two-level op on basis states x0 (row i) and x1 (row i+1), which differ in bit tb.
         * As a gate on q[tb]: |bit=0> <-> the state whose bit tb is 0. */
        const double *M = G + 8 * o;
        double Md[8]; /* dagger of M, in the (x0, x1) basis */
        Md[0] = M[0], Md[1] = -M[1], Md[2] = M[4], Md[3] = -M[5];
        Md[4] = M[2], Md[5] = -M[3], Md[6] = M[6], Md[7] = -M[7];
        double W[8];
        if (((x0 >> tb) & 1) == 0) {
            memcpy(W, Md, sizeof W);
        } else { /* swap the basis order */
            W[0] = Md[6], W[1] = Md[7], W[2] = Md[4], W[3] = Md[5];
            W[4] = Md[2], W[5] = Md[3], W[6] = Md[0], W[7] = Md[1];
        }
        int ctrl[QNN_CIRCUIT_MAXQ], nc = 0;
        for (int j = 0; j < k; j++)
            if (j != tb) ctrl[nc++] = q[j];
        for (int j = 0; j < k; j++)
            if (j != tb && !((x0 >> j) & 1)) em1(e, "x", q[j]);
        st = emit_mcu(e, ctrl, nc, q[tb], W);
        for (int j = 0; j < k; j++)
            if (j != tb && !((x0 >> j) & 1)) em1(e, "x", q[j]);
    }
    free(V), free(g), free(G), free(gi), free(ph);
    return st;
}

/* Names of parameters in OpenQASM 3: identifiers, made unique (a non-identifier name gets its
 * other characters replaced by '_' and a numeric suffix if needed). */
static char **param_names3(const qnn_circuit *c) {
    int np = qnn_circuit_nparams(c);
    char **nm = (char **)calloc((size_t)(np ? np : 1), sizeof(char *));
    if (!nm) return NULL;
    for (int i = 0; i < np; i++) {
        const char *src = qnn_circuit_param_name(c, i);
        size_t len = strlen(src);
        char *d = (char *)malloc(len + 16);
        if (!d) goto fail;
        size_t k = 0;
        if (!(isalpha((unsigned char)src[0]) || src[0] == '_')) d[k++] = '_';
        for (size_t j = 0; j < len; j++)
            d[k++] = (isalnum((unsigned char)src[j]) || src[j] == '_') ? src[j] : '_';
        d[k] = '\0';
        static const char *const RES[] = {
            "pi",   "tau",  "euler", "q",    "U",      "CX",     "input",  "float", "gate",
            "measure", "reset", "if", "else", "sin",  "cos",    "tan",    "exp",    "ln",
            "sqrt", "asin", "acos",  "atan", "arcsin", "arccos", "arctan", "log",   NULL};
        int clash = 0;
        for (int r = 0; RES[r]; r++) clash |= strcmp(d, RES[r]) == 0;
        for (int r = 0; r < qnn_circuit_ncregs(c); r++)
            clash |= strcmp(d, qnn_circuit_creg(c, r, NULL, NULL)) == 0;
        for (int j = 0; j < i; j++) clash |= strcmp(d, nm[j]) == 0;
        if (clash || strcmp(d, src) != 0) {
            for (int sfx = 1;; sfx++) {
                snprintf(d + k, 16, "_%d", sfx);
                int again = 0;
                for (int j = 0; j < i; j++) again |= strcmp(d, nm[j]) == 0;
                for (int j = 0; j < np; j++) again |= strcmp(d, qnn_circuit_param_name(c, j)) == 0;
                if (!again) break;
            }
        }
        nm[i] = d;
    }
    return nm;
fail:
    for (int i = 0; i < np; i++) free(nm[i]);
    free(nm);
    return NULL;
}

/* angle text: the value (version 2) or offset + scale * name (version 3) */
static const char *angle_str(const qnn_circuit *c, const qnn_angle *a, char **pn, char *buf,
                             size_t n) {
    char b1[32], b2[32];
    if (!pn || a->param < 0) {
        num(qnn_circuit_angle_value(c, a), b1);
        snprintf(buf, n, "%s", b1);
        return buf;
    }
    const char *name = pn[a->param];
    if (a->scale == 1.0) snprintf(buf, n, "%s", name);
    else if (a->scale == -1.0) snprintf(buf, n, "-%s", name);
    else snprintf(buf, n, "%s*%s", num(a->scale, b1), name);
    if (a->offset != 0.0) {
        size_t k = strlen(buf);
        snprintf(buf + k, n - k, " + %s", num(a->offset, b2));
    }
    return buf;
}

/* register whose bits are exactly mask, or -1 */
static int whole_creg(const qnn_circuit *c, uint64_t mask) {
    for (int r = 0; r < qnn_circuit_ncregs(c); r++) {
        int off, size;
        qnn_circuit_creg(c, r, &off, &size);
        uint64_t m = (size >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << size) - 1)) << off;
        if (m == mask) return r;
    }
    return -1;
}

/* register and index of classical bit b */
static const char *bit_name(const qnn_circuit *c, int b, int *idx) {
    for (int r = 0; r < qnn_circuit_ncregs(c); r++) {
        int off, size;
        const char *nm = qnn_circuit_creg(c, r, &off, &size);
        if (b >= off && b < off + size) {
            *idx = b - off;
            return nm;
        }
    }
    *idx = b;
    return "c";
}

static int emit_op(const qnn_circuit *c, emitter *e, const qnn_op *op, char **pn, size_t i,
                   qnn_error *err) {
    const int *q = qnn_op_qubits(op);
    char s0[400], s1[400], s2[400];
    int st = QNN_OK;
    switch (op->kind) {
    case QNN_G_H: case QNN_G_X: case QNN_G_Y: case QNN_G_Z: case QNN_G_S: case QNN_G_SDG:
    case QNN_G_T: case QNN_G_TDG: case QNN_G_SX: case QNN_G_SXDG: case QNN_G_ID:
        em1(e, qnn_op_kind_name(op->kind), q[0]);
        break;
    case QNN_G_RX: case QNN_G_RY: case QNN_G_RZ:
        em1s(e, qnn_op_kind_name(op->kind), angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0]);
        break;
    case QNN_G_PHASE:
        em1s(e, e->v3 ? "p" : "u1", angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0]);
        break;
    case QNN_G_U3:
        em_u3s(e, angle_str(c, &op->ang[0], pn, s0, sizeof s0),
               angle_str(c, &op->ang[1], pn, s1, sizeof s1),
               angle_str(c, &op->ang[2], pn, s2, sizeof s2), q[0]);
        break;
    case QNN_G_CX: case QNN_G_CY: case QNN_G_CZ: case QNN_G_SWAP:
        em2(e, qnn_op_kind_name(op->kind), q[0], q[1]);
        break;
    case QNN_G_CRX: case QNN_G_CRY: case QNN_G_CRZ: case QNN_G_RXX: case QNN_G_RZZ:
        em2s(e, qnn_op_kind_name(op->kind), angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0],
             q[1]);
        break;
    case QNN_G_CPHASE:
        em2s(e, "cu1", angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0], q[1]);
        break;
    case QNN_G_RYY: case QNN_G_RZY:
        if (e->v3) { /* defined in the header */
            em2s(e, qnn_op_kind_name(op->kind), angle_str(c, &op->ang[0], pn, s0, sizeof s0),
                 q[0], q[1]);
        } else if (op->kind == QNN_G_RYY) {
            em1(e, "sdg", q[0]), em1(e, "sdg", q[1]);
            em2s(e, "rxx", angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0], q[1]);
            em1(e, "s", q[0]), em1(e, "s", q[1]);
        } else {
            em1(e, "sdg", q[1]), em1(e, "h", q[1]);
            em2s(e, "rzz", angle_str(c, &op->ang[0], pn, s0, sizeof s0), q[0], q[1]);
            em1(e, "h", q[1]), em1(e, "s", q[1]);
        }
        break;
    case QNN_G_MCX: st = emit_mcx(e, q, op->nq - 1, q[op->nq - 1]); break;
    case QNN_G_MCZ: st = emit_mcz(e, q, op->nq); break;
    case QNN_G_DIAGONAL: st = emit_diagonal(e, q, op->nq, op->data); break;
    case QNN_G_UNITARY: st = emit_unitary(e, q, op->nq, op->data); break;
    case QNN_OP_MEASURE: {
        int k;
        const char *nm = bit_name(c, op->cbit, &k);
        if (e->v3)
            qnn_sb_printf(e->b, "%s%s[%d] = measure %s[%d];\n", e->pre, nm, k, e->qn, q[0]);
        else
            qnn_sb_printf(e->b, "%smeasure %s[%d] -> %s[%d];\n", e->pre, e->qn, q[0], nm, k);
        break;
    }
    case QNN_OP_RESET: qnn_sb_printf(e->b, "%sreset %s[%d];\n", e->pre, e->qn, q[0]); break;
    case QNN_OP_BARRIER:
        qnn_sb_printf(e->b, "%sbarrier ", e->pre);
        for (int j = 0; j < op->nq; j++)
            qnn_sb_printf(e->b, "%s%s[%d]", j ? "," : "", e->qn, q[j]);
        qnn_sb_puts(e->b, ";\n");
        break;
    default: st = qnn_error_set(err, QNN_EINVAL, "qasm: unknown op kind %d (op %zu)", op->kind, i + 1);
    }
    return st;
}

int qnn_circuit_to_qasm_version(const qnn_circuit *c, int version, char **out, qnn_error *err) {
    *out = NULL;
    if (version != 2 && version != 3)
        return qnn_error_set(err, QNN_EINVAL, "version must be 2 or 3, got %d", version);
    int v3 = version == 3;
    /* version 2: every condition must test one whole register */
    for (size_t i = 0; i < c->nops && !v3; i++)
        if (c->ops[i].cmask && whole_creg(c, c->ops[i].cmask) < 0)
            return qnn_error_set(err, QNN_EINVAL,
                                 "op %zu (%s) is conditioned on classical bits that are not "
                                 "one whole register, which OpenQASM 2 cannot express (use "
                                 "version 3)", i + 1, qnn_op_kind_name(c->ops[i].kind));
    const char *qn = "q";
    static const char *const QN[] = {"q", "qr", "qb", "qubits", "qreg_"};
    for (int k = 0; k < 5; k++) {
        qn = QN[k];
        if (qnn_circuit_creg_index(c, qn) < 0 && (!v3 || qnn_circuit_param_index(c, qn) < 0)) break;
    }
    char **pn = NULL;
    if (v3) {
        pn = param_names3(c);
        if (!pn) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    qnn_sbuf b = {0};
    emitter e = {&b, 0.0, "", qn, v3};
    if (v3) {
        qnn_sb_puts(&b, "OPENQASM 3.0;\ninclude \"stdgates.inc\";\n");
        int used[QNN_OP_COUNT] = {0};
        for (size_t i = 0; i < c->nops; i++) used[c->ops[i].kind] = 1;
        if (used[QNN_G_SXDG]) qnn_sb_puts(&b, "gate sxdg a { h a; sdg a; h a; }\n");
        if (used[QNN_G_RZZ] || used[QNN_G_RZY])
            qnn_sb_puts(&b, "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }\n");
        if (used[QNN_G_RXX] || used[QNN_G_RYY])
            qnn_sb_puts(&b, "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }\n");
        if (used[QNN_G_RYY])
            qnn_sb_puts(&b, "gate ryy(theta) a, b { sdg a; sdg b; rxx(theta) a, b; s a; s b; }\n");
        if (used[QNN_G_RZY])
            qnn_sb_puts(&b, "gate rzy(theta) a, b { sdg b; h b; rzz(theta) a, b; h b; s b; }\n");
        for (int i = 0; i < qnn_circuit_nparams(c); i++)
            qnn_sb_printf(&b, "input float[64] %s;\n", pn[i]);
        qnn_sb_printf(&b, "qubit[%d] %s;\n", c->n, qn);
        for (int r = 0; r < qnn_circuit_ncregs(c); r++) {
            int size;
            const char *nm = qnn_circuit_creg(c, r, NULL, &size);
            qnn_sb_printf(&b, "bit[%d] %s;\n", size, nm);
        }
    } else {
        qnn_sb_printf(&b, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg %s[%d];\n", qn, c->n);
        for (int r = 0; r < qnn_circuit_ncregs(c); r++) {
            int size;
            const char *nm = qnn_circuit_creg(c, r, NULL, &size);
            qnn_sb_printf(&b, "creg %s[%d];\n", nm, size);
        }
    }
    int st = QNN_OK;
    char pre[512];
    uint64_t open_mask = 0, open_val = 0;
    int open_depth = 0;
    for (size_t i = 0; i < c->nops && !st; i++) {
        const qnn_op *op = &c->ops[i];
        if (v3 && (op->cmask != open_mask || op->cval != open_val)) {
            for (int k = open_depth; k-- > 0;) {
                for (int j = 0; j < k; j++) qnn_sb_puts(&b, "  ");
                qnn_sb_puts(&b, "}\n");
            }
            open_depth = 0;
            open_mask = op->cmask;
            open_val = op->cval;
            if (op->cmask) {
                int r = whole_creg(c, op->cmask);
                if (r >= 0 && __builtin_popcountll(op->cmask) > 1) {
                    int off;
                    const char *nm = qnn_circuit_creg(c, r, &off, NULL);
                    qnn_sb_printf(&b, "if (%s == %llu) {\n", nm,
                                  (unsigned long long)(op->cval >> off));
                    open_depth = 1;
                } else {
                    for (int bit = 0; bit < QNN_CIRCUIT_MAXBITS; bit++)
                        if (op->cmask >> bit & 1) {
                            int k;
                            const char *nm = bit_name(c, bit, &k);
                            for (int j = 0; j < open_depth; j++) qnn_sb_puts(&b, "  ");
                            qnn_sb_printf(&b, "if (%s[%d] == %d) {\n", nm, k,
                                          (int)(op->cval >> bit & 1));
                            open_depth++;
                        }
                }
            }
            int k = 0;
            for (int j = 0; j < open_depth && k < 400; j++) pre[k++] = ' ', pre[k++] = ' ';
            pre[k] = '\0';
            e.pre = pre;
        }
        if (!v3) {
            if (op->cmask) {
                int off, r = whole_creg(c, op->cmask);
                const char *nm = qnn_circuit_creg(c, r, &off, NULL);
                snprintf(pre, sizeof pre, "if(%s==%llu) ", nm, (unsigned long long)(op->cval >> off));
                e.pre = pre;
            } else {
                e.pre = "";
            }
        }
        double keep = e.gphase; /* a conditional op's global phase is not observable */
        st = emit_op(c, &e, op, pn, i, err);
        if (op->cmask) e.gphase = keep;
    }
    for (int k = open_depth; k-- > 0;) {
        for (int j = 0; j < k; j++) qnn_sb_puts(&b, "  ");
        qnn_sb_puts(&b, "}\n");
    }
    e.pre = "";
    double gp = remainder(e.gphase, 2.0 * M_PI);
    if (!st && fabs(gp) > 1e-14) {
        qnn_sb_puts(&b, "// global phase\n");
        em1a(&e, "u1", gp, 0), em1(&e, "x", 0), em1a(&e, "u1", gp, 0), em1(&e, "x", 0);
    }
    if (pn) {
        for (int i = 0; i < qnn_circuit_nparams(c); i++) free(pn[i]);
        free(pn);
    }
    if (st == QNN_ENOMEM || b.oom || !b.p) {
        free(b.p);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    if (st) {
        free(b.p);
        return st;
    }
    *out = b.p;
    return QNN_OK;
}

int qnn_circuit_to_qasm(const qnn_circuit *c, char **out, qnn_error *err) {
    return qnn_circuit_to_qasm_version(c, 2, out, err);
}
