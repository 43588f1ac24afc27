/* OpenQASM 2.0 export and import.
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
 * Import: OPENQASM header, include, qreg (several, concatenated in order), creg, barrier
 * (ignored), measure (ignored: the simulator keeps the state), comments (// and block),
 * gates u3 u2 u1 u p U cx CX id x y z h s sdg t tdg sx sxdg rx ry rz cy cz swap ch ccx cswap crx
 * cry crz cu1 cp cu3 rxx ryy rzz rzy c3x c4x, applied to single qubits or broadcast over whole
 * registers, with parameter expressions (numbers, pi, + - * / ^, unary minus, parentheses,
 * sin cos tan exp ln sqrt asin acos atan). Errors name the line number and its text.
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
} emitter;

/* shortest %g form that reads back exactly */
static const char *num(double v, char *buf) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static void em1(emitter *e, const char *g, int q) { qnn_sb_printf(e->b, "%s q[%d];\n", g, q); }
static void em1a(emitter *e, const char *g, double a, int q) {
    char b1[32];
    qnn_sb_printf(e->b, "%s(%s) q[%d];\n", g, num(a, b1), q);
}
static void em2(emitter *e, const char *g, int a, int b) {
    qnn_sb_printf(e->b, "%s q[%d],q[%d];\n", g, a, b);
}
static void em2a(emitter *e, const char *g, double t, int a, int b) {
    char b1[32];
    qnn_sb_printf(e->b, "%s(%s) q[%d],q[%d];\n", g, num(t, b1), a, b);
}
static void em_u3(emitter *e, double t, double p, double l, int q) {
    char b1[32], b2[32], b3[32];
    qnn_sb_printf(e->b, "u3(%s,%s,%s) q[%d];\n", num(t, b1), num(p, b2), num(l, b3), q);
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
        qnn_sb_printf(e->b, "ccx q[%d],q[%d],q[%d];\n", ctrl[0], ctrl[1], t);
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

int qnn_circuit_to_qasm(const qnn_circuit *c, char **out, qnn_error *err) {
    *out = NULL;
    qnn_sbuf b = {0};
    emitter e = {&b, 0.0};
    qnn_sb_printf(&b, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[%d];\n", c->n);
    int st = QNN_OK;
    for (size_t i = 0; i < c->nops && !st; i++) {
        const qnn_op *op = &c->ops[i];
        const int *q = qnn_op_qubits(op);
        double p[3];
        for (int j = 0; j < 3; j++) p[j] = qnn_circuit_angle_value(c, &op->ang[j]);
        switch (op->kind) {
        case QNN_G_H: case QNN_G_X: case QNN_G_Y: case QNN_G_Z: case QNN_G_S: case QNN_G_SDG:
        case QNN_G_T: case QNN_G_TDG: case QNN_G_SX: case QNN_G_SXDG: case QNN_G_ID:
            em1(&e, qnn_op_kind_name(op->kind), q[0]);
            break;
        case QNN_G_RX: case QNN_G_RY: case QNN_G_RZ:
            em1a(&e, qnn_op_kind_name(op->kind), p[0], q[0]);
            break;
        case QNN_G_PHASE: em1a(&e, "u1", p[0], q[0]); break;
        case QNN_G_U3:
            em_u3(&e, p[0], p[1], p[2], q[0]);
            break;
        case QNN_G_CX: case QNN_G_CY: case QNN_G_CZ: case QNN_G_SWAP:
            em2(&e, qnn_op_kind_name(op->kind), q[0], q[1]);
            break;
        case QNN_G_CRX: case QNN_G_CRY: case QNN_G_CRZ: case QNN_G_RXX: case QNN_G_RZZ:
            em2a(&e, qnn_op_kind_name(op->kind), p[0], q[0], q[1]);
            break;
        case QNN_G_CPHASE: em2a(&e, "cu1", p[0], q[0], q[1]); break;
        case QNN_G_RYY:
            em1(&e, "sdg", q[0]), em1(&e, "sdg", q[1]);
            em2a(&e, "rxx", p[0], q[0], q[1]);
            em1(&e, "s", q[0]), em1(&e, "s", q[1]);
            break;
        case QNN_G_RZY:
            em1(&e, "sdg", q[1]), em1(&e, "h", q[1]);
            em2a(&e, "rzz", p[0], q[0], q[1]);
            em1(&e, "h", q[1]), em1(&e, "s", q[1]);
            break;
        case QNN_G_MCX: st = emit_mcx(&e, q, op->nq - 1, q[op->nq - 1]); break;
        case QNN_G_MCZ: st = emit_mcz(&e, q, op->nq); break;
        case QNN_G_DIAGONAL: st = emit_diagonal(&e, q, op->nq, op->data); break;
        case QNN_G_UNITARY: st = emit_unitary(&e, q, op->nq, op->data); break;
        default: st = qnn_error_set(err, QNN_EINVAL, "qasm: unknown gate kind %d", op->kind);
        }
    }
    double gp = remainder(e.gphase, 2.0 * M_PI);
    if (!st && fabs(gp) > 1e-14) {
        qnn_sb_puts(&b, "// global phase\n");
        em1a(&e, "u1", gp, 0), em1(&e, "x", 0), em1a(&e, "u1", gp, 0), em1(&e, "x", 0);
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

/* ====================================================================== */
/* Import                                                                  */
/* ====================================================================== */

enum { T_EOF, T_ID, T_NUM, T_STR, T_SYM, T_ARROW };

typedef struct tok {
    int type;
    int line;
    const char *s; /* start in the text */
    size_t len;
    double num;
    char sym;
} tok;

typedef struct reg {
    char name[64];
    int size, offset;
} reg;

typedef struct parser {
    const char *text;
    const char *p;
    int line;
    tok t;          /* current token */
    int stmt_line;  /* line of the statement being parsed */
    qnn_error *err;
    reg qregs[64];
    int nq_regs, nqubits;
    reg cregs[64];
    int nc_regs;
    qnn_circuit *c;
    int failed;
} parser;

static int perr(parser *P, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int perr(parser *P, int line, const char *fmt, ...) {
    if (P->failed) return QNN_EFORMAT;
    P->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* text of that line */
    const char *s = P->text;
    for (int l = 1; l < line && *s; s++)
        if (*s == '\n') l++;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = 0;
    while (s[n] && s[n] != '\n' && s[n] != '\r') n++;
    if (n > 120) n = 120;
    qnn_error_set(P->err, QNN_EFORMAT, "line %d: %s (in \"%.*s\")", line, msg, (int)n, s);
    return QNN_EFORMAT;
}

static void next(parser *P) {
    const char *p = P->p;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            if (*p == '\n') P->line++;
            p++;
        }
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) {
                if (*p == '\n') P->line++;
                p++;
            }
            if (*p) p += 2;
            continue;
        }
        break;
    }
    tok *t = &P->t;
    t->line = P->line;
    t->s = p;
    t->len = 0;
    if (!*p) {
        t->type = T_EOF;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        while (isalnum((unsigned char)p[t->len]) || p[t->len] == '_') t->len++;
        t->type = T_ID;
    } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        char *end;
        t->num = strtod(p, &end);
        t->len = (size_t)(end - p);
        t->type = T_NUM;
    } else if (*p == '"') {
        size_t n = 1;
        while (p[n] && p[n] != '"' && p[n] != '\n') n++;
        t->len = p[n] == '"' ? n + 1 : n;
        t->type = T_STR;
    } else if (p[0] == '-' && p[1] == '>') {
        t->len = 2;
        t->type = T_ARROW;
    } else {
        t->len = 1;
        t->type = T_SYM;
        t->sym = *p;
    }
    P->p = p + t->len;
}

static int is_sym(parser *P, char c) { return P->t.type == T_SYM && P->t.sym == c; }
static int is_id(parser *P, const char *s) {
    return P->t.type == T_ID && P->t.len == strlen(s) && strncmp(P->t.s, s, P->t.len) == 0;
}

static int expect_sym(parser *P, char c) {
    if (!is_sym(P, c)) {
        if (P->t.type == T_EOF) return perr(P, P->stmt_line, "expected '%c' before end of input", c);
        return perr(P, P->t.line, "expected '%c', got '%.*s'", c, (int)P->t.len, P->t.s);
    }
    next(P);
    return QNN_OK;
}

/* ---- expressions ---- */
static int expr(parser *P, double *v);

static int primary(parser *P, double *v) {
    if (P->t.type == T_NUM) {
        *v = P->t.num;
        next(P);
        return QNN_OK;
    }
    if (is_sym(P, '(')) {
        next(P);
        int st = expr(P, v);
        if (st) return st;
        return expect_sym(P, ')');
    }
    if (P->t.type == T_ID) {
        if (is_id(P, "pi")) {
            *v = M_PI;
            next(P);
            return QNN_OK;
        }
        static const char *fn[] = {"sin", "cos", "tan", "exp", "ln", "sqrt", "asin", "acos",
                                   "atan", NULL};
        for (int i = 0; fn[i]; i++)
            if (is_id(P, fn[i])) {
                next(P);
                double a;
                int st = expect_sym(P, '(');
                if (!st) st = expr(P, &a);
                if (!st) st = expect_sym(P, ')');
                if (st) return st;
                switch (i) {
                case 0: *v = sin(a); break;
                case 1: *v = cos(a); break;
                case 2: *v = tan(a); break;
                case 3: *v = exp(a); break;
                case 4: *v = log(a); break;
                case 5: *v = sqrt(a); break;
                case 6: *v = asin(a); break;
                case 7: *v = acos(a); break;
                default: *v = atan(a); break;
                }
                return QNN_OK;
            }
        return perr(P, P->t.line, "unknown identifier '%.*s' in expression", (int)P->t.len,
                    P->t.s);
    }
    if (P->t.type == T_EOF) return perr(P, P->stmt_line, "expression expected before end of input");
    return perr(P, P->t.line, "expression expected, got '%.*s'", (int)P->t.len, P->t.s);
}

static int unary(parser *P, double *v) {
    if (is_sym(P, '-') || is_sym(P, '+')) {
        int neg = is_sym(P, '-');
        next(P);
        int st = unary(P, v);
        if (!st && neg) *v = -*v;
        return st;
    }
    int st = primary(P, v);
    if (st) return st;
    if (is_sym(P, '^')) {
        next(P);
        double e;
        st = unary(P, &e);
        if (!st) *v = pow(*v, e);
    }
    return st;
}

static int term(parser *P, double *v) {
    int st = unary(P, v);
    while (!st && (is_sym(P, '*') || is_sym(P, '/'))) {
        int mul = is_sym(P, '*');
        next(P);
        double r;
        st = unary(P, &r);
        if (!st) *v = mul ? *v * r : *v / r;
    }
    return st;
}

static int expr(parser *P, double *v) {
    int st = term(P, v);
    while (!st && (is_sym(P, '+') || is_sym(P, '-'))) {
        int add = is_sym(P, '+');
        next(P);
        double r;
        st = term(P, &r);
        if (!st) *v = add ? *v + r : *v - r;
    }
    return st;
}

/* ---- statements ---- */
static int get_int(parser *P, int *out) {
    if (P->t.type != T_NUM || P->t.num != floor(P->t.num) || P->t.num < 0 || P->t.num > 1e6)
        return perr(P, P->t.line, "non-negative integer expected, got '%.*s'", (int)P->t.len,
                    P->t.s);
    *out = (int)P->t.num;
    next(P);
    return QNN_OK;
}

static int get_name(parser *P, char *buf, size_t n) {
    if (P->t.type != T_ID)
        return perr(P, P->t.line, "identifier expected, got '%.*s'", (int)P->t.len, P->t.s);
    if (P->t.len >= n) return perr(P, P->t.line, "identifier too long");
    memcpy(buf, P->t.s, P->t.len);
    buf[P->t.len] = '\0';
    next(P);
    return QNN_OK;
}

static reg *find_reg(reg *regs, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(regs[i].name, name) == 0) return &regs[i];
    return NULL;
}

/* argument: reg or reg[i]. *first = first qubit, *len = 1 (indexed) or register size (-size) */
typedef struct qarg {
    int first, count, whole;
} qarg;

static int get_arg(parser *P, int quantum, qarg *a) {
    char name[64];
    int line = P->t.line;
    int st = get_name(P, name, sizeof name);
    if (st) return st;
    reg *r = quantum ? find_reg(P->qregs, P->nq_regs, name) : find_reg(P->cregs, P->nc_regs, name);
    if (!r)
        return perr(P, line, "undeclared %s register '%s'", quantum ? "quantum" : "classical", name);
    if (is_sym(P, '[')) {
        next(P);
        int i;
        st = get_int(P, &i);
        if (!st) st = expect_sym(P, ']');
        if (st) return st;
        if (i >= r->size) return perr(P, line, "index %d out of range for %s[%d]", i, name, r->size);
        a->first = r->offset + i;
        a->count = 1;
        a->whole = 0;
    } else {
        a->first = r->offset;
        a->count = r->size;
        a->whole = 1;
    }
    return QNN_OK;
}

typedef struct gate_def {
    const char *name;
    int kind;   /* qnn kind, or special (< 0) */
    int nq, np; /* qubit args, parameters */
} gate_def;

enum { SP_U2 = -2, SP_CCX = -3, SP_C3X = -4, SP_C4X = -5, SP_CH = -6, SP_CU3 = -7, SP_CSWAP = -8 };

static const gate_def GATES[] = {
    {"u3", QNN_G_U3, 1, 3},     {"u", QNN_G_U3, 1, 3},       {"U", QNN_G_U3, 1, 3},
    {"u2", SP_U2, 1, 2},        {"u1", QNN_G_PHASE, 1, 1},   {"p", QNN_G_PHASE, 1, 1},
    {"phase", QNN_G_PHASE, 1, 1}, {"cx", QNN_G_CX, 2, 0},    {"CX", QNN_G_CX, 2, 0},
    {"id", QNN_G_ID, 1, 0},     {"x", QNN_G_X, 1, 0},        {"y", QNN_G_Y, 1, 0},
    {"z", QNN_G_Z, 1, 0},       {"h", QNN_G_H, 1, 0},        {"s", QNN_G_S, 1, 0},
    {"sdg", QNN_G_SDG, 1, 0},   {"t", QNN_G_T, 1, 0},        {"tdg", QNN_G_TDG, 1, 0},
    {"sx", QNN_G_SX, 1, 0},     {"sxdg", QNN_G_SXDG, 1, 0},  {"rx", QNN_G_RX, 1, 1},
    {"ry", QNN_G_RY, 1, 1},     {"rz", QNN_G_RZ, 1, 1},      {"cy", QNN_G_CY, 2, 0},
    {"cz", QNN_G_CZ, 2, 0},     {"swap", QNN_G_SWAP, 2, 0},  {"ch", SP_CH, 2, 0},
    {"ccx", SP_CCX, 3, 0},      {"cswap", SP_CSWAP, 3, 0},   {"crx", QNN_G_CRX, 2, 1},
    {"cry", QNN_G_CRY, 2, 1},   {"crz", QNN_G_CRZ, 2, 1},    {"cu1", QNN_G_CPHASE, 2, 1},
    {"cp", QNN_G_CPHASE, 2, 1}, {"cphase", QNN_G_CPHASE, 2, 1}, {"cu3", SP_CU3, 2, 3},
    {"rxx", QNN_G_RXX, 2, 1},   {"ryy", QNN_G_RYY, 2, 1},    {"rzz", QNN_G_RZZ, 2, 1},
    {"rzy", QNN_G_RZY, 2, 1},   {"c3x", SP_C3X, 4, 0},       {"c4x", SP_C4X, 5, 0},
    {NULL, 0, 0, 0}};

static int add_gate(parser *P, const gate_def *g, const int *q, const double *par, int line) {
    qnn_error e2;
    qnn_error_clear(&e2);
    int st = QNN_OK;
    qnn_circuit *c = P->c;
    switch (g->kind) {
    case SP_U2: {
        qnn_angle a[3] = {qnn_angle_const(M_PI / 2), qnn_angle_const(par[0]),
                          qnn_angle_const(par[1])};
        st = qnn_circuit_add(c, QNN_G_U3, q, 1, a, &e2);
        break;
    }
    case SP_CCX: case SP_C3X: case SP_C4X:
        st = qnn_circuit_mcx(c, q, g->nq - 1, q[g->nq - 1], &e2);
        break;
    case SP_CH: case SP_CU3: case SP_CSWAP: {
        double m[2 * 64];
        memset(m, 0, sizeof m);
        int k = g->nq;
        size_t d = (size_t)1 << k;
        for (size_t i = 0; i < d; i++) m[2 * (i * d + i)] = 1.0;
        if (g->kind == SP_CSWAP) {
            /* control q[0] (bit 0); swap bits 1 and 2 when bit 0 is 1: 3 <-> 5 */
            m[2 * (3 * d + 3)] = m[2 * (5 * d + 5)] = 0.0;
            m[2 * (3 * d + 5)] = m[2 * (5 * d + 3)] = 1.0;
        } else {
            double u[8];
            if (g->kind == SP_CH) {
                double r = 1.0 / sqrt(2.0);
                u[0] = r, u[1] = 0, u[2] = r, u[3] = 0, u[4] = r, u[5] = 0, u[6] = -r, u[7] = 0;
            } else {
                qnn_gate_matrix(QNN_G_U3, par, u);
            }
            /* control bit 0 = q[0]; target bit 1: indices 1 (t=0) and 3 (t=1) */
            size_t idx[2] = {1, 3};
            for (int r = 0; r < 2; r++)
                for (int cc = 0; cc < 2; cc++) {
                    m[2 * (idx[r] * d + idx[cc])] = u[2 * (r * 2 + cc)];
                    m[2 * (idx[r] * d + idx[cc]) + 1] = u[2 * (r * 2 + cc) + 1];
                }
        }
        st = qnn_circuit_unitary_gate(c, q, k, m, 1e-9, &e2);
        break;
    }
    default: {
        qnn_angle a[3];
        for (int i = 0; i < g->np; i++) a[i] = qnn_angle_const(par[i]);
        st = qnn_circuit_add(c, g->kind, q, g->nq, a, &e2);
    }
    }
    if (st) return perr(P, line, "%s", e2.msg[0] ? e2.msg : qnn_strerror(st));
    return QNN_OK;
}

static int gate_stmt(parser *P) {
    int line = P->t.line;
    char name[64];
    int st = get_name(P, name, sizeof name);
    if (st) return st;
    const gate_def *g = NULL;
    for (int i = 0; GATES[i].name; i++)
        if (strcmp(GATES[i].name, name) == 0) g = &GATES[i];
    if (!g) return perr(P, line, "unknown gate '%s'", name);
    double par[8];
    int np = 0;
    if (is_sym(P, '(')) {
        next(P);
        if (!is_sym(P, ')'))
            for (;;) {
                double v;
                st = expr(P, &v);
                if (st) return st;
                if (np < 8) par[np] = v;
                np++;
                if (is_sym(P, ',')) {
                    next(P);
                    continue;
                }
                break;
            }
        st = expect_sym(P, ')');
        if (st) return st;
    }
    if (np != g->np)
        return perr(P, line, "gate '%s' takes %d parameter(s), got %d", name, g->np, np);
    for (int i = 0; i < np; i++)
        if (!isfinite(par[i])) return perr(P, line, "parameter %d of '%s' is not finite", i + 1, name);
    qarg args[8];
    int na = 0;
    for (;;) {
        if (na >= 8) return perr(P, line, "too many arguments");
        st = get_arg(P, 1, &args[na++]);
        if (st) return st;
        if (is_sym(P, ',')) {
            next(P);
            continue;
        }
        break;
    }
    st = expect_sym(P, ';');
    if (st) return st;
    if (na != g->nq)
        return perr(P, line, "gate '%s' acts on %d qubit(s), got %d argument(s)", name, g->nq, na);
    int reps = 1;
    for (int i = 0; i < na; i++)
        if (args[i].whole) {
            if (reps != 1 && args[i].count != reps)
                return perr(P, line, "registers of different sizes in one gate");
            reps = args[i].count;
        }
    for (int r = 0; r < reps; r++) {
        int q[8];
        for (int i = 0; i < na; i++) q[i] = args[i].first + (args[i].whole ? r : 0);
        st = add_gate(P, g, q, par, line);
        if (st) return st;
    }
    return QNN_OK;
}

static int statement(parser *P) {
    P->stmt_line = P->t.line;
    int line = P->t.line;
    if (is_id(P, "OPENQASM")) {
        next(P);
        if (P->t.type != T_NUM) return perr(P, line, "version number expected after OPENQASM");
        if (P->t.num < 2.0 || P->t.num >= 3.0)
            return perr(P, line, "only OpenQASM 2.x is supported, got %g", P->t.num);
        next(P);
        return expect_sym(P, ';');
    }
    if (is_id(P, "include")) {
        next(P);
        if (P->t.type != T_STR) return perr(P, line, "file name in quotes expected after include");
        if (!(P->t.len == 12 && strncmp(P->t.s, "\"qelib1.inc\"", 12) == 0))
            return perr(P, line, "only include \"qelib1.inc\" is supported");
        next(P);
        return expect_sym(P, ';');
    }
    if (is_id(P, "qreg") || is_id(P, "creg")) {
        int quantum = is_id(P, "qreg");
        next(P);
        reg r;
        int st = get_name(P, r.name, sizeof r.name);
        if (!st) st = expect_sym(P, '[');
        if (!st) st = get_int(P, &r.size);
        if (!st) st = expect_sym(P, ']');
        if (!st) st = expect_sym(P, ';');
        if (st) return st;
        if (r.size < 1) return perr(P, line, "register size must be >= 1");
        if (find_reg(P->qregs, P->nq_regs, r.name) || find_reg(P->cregs, P->nc_regs, r.name))
            return perr(P, line, "register '%s' declared twice", r.name);
        if (quantum) {
            if (P->nq_regs >= 64) return perr(P, line, "too many quantum registers");
            if (P->nqubits + r.size > QNN_CIRCUIT_MAXQ)
                return perr(P, line, "more than %d qubits in total", QNN_CIRCUIT_MAXQ);
            r.offset = P->nqubits;
            P->nqubits += r.size;
            P->qregs[P->nq_regs++] = r;
        } else {
            if (P->nc_regs >= 64) return perr(P, line, "too many classical registers");
            r.offset = 0;
            P->cregs[P->nc_regs++] = r;
        }
        return QNN_OK;
    }
    if (is_id(P, "barrier")) {
        next(P);
        for (;;) {
            qarg a;
            int st = get_arg(P, 1, &a);
            if (st) return st;
            if (is_sym(P, ',')) {
                next(P);
                continue;
            }
            break;
        }
        return expect_sym(P, ';');
    }
    if (is_id(P, "measure")) {
        next(P);
        qarg a, b;
        int st = get_arg(P, 1, &a);
        if (st) return st;
        if (P->t.type != T_ARROW) return perr(P, line, "expected '->' in measure");
        next(P);
        st = get_arg(P, 0, &b);
        if (st) return st;
        if (a.count != b.count) return perr(P, line, "measure: register sizes differ");
        return expect_sym(P, ';');
    }
    if (is_id(P, "gate") || is_id(P, "opaque") || is_id(P, "if") || is_id(P, "reset")) {
        return perr(P, line, "'%.*s' statements are not supported", (int)P->t.len, P->t.s);
    }
    if (P->t.type == T_ID) {
        if (P->nq_regs == 0) return perr(P, line, "gate before any qreg declaration");
        return gate_stmt(P);
    }
    if (is_sym(P, ';')) { /* empty statement */
        next(P);
        return QNN_OK;
    }
    return perr(P, line, "unexpected '%.*s'", (int)P->t.len, P->t.s);
}

int qnn_circuit_from_qasm(qnn_circuit **out, const char *text, qnn_error *err) {
    *out = NULL;
    if (!text) return qnn_error_set(err, QNN_EINVAL, "from_qasm: no text");
    parser *P = (parser *)calloc(1, sizeof *P);
    if (!P) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    P->text = P->p = text;
    P->line = 1;
    P->err = err;
    int st = qnn_circuit_new(&P->c, QNN_CIRCUIT_MAXQ, err);
    if (st) {
        free(P);
        return st;
    }
    next(P);
    while (!st && P->t.type != T_EOF) st = statement(P);
    if (!st && P->nqubits == 0) st = qnn_error_set(err, QNN_EFORMAT, "no qreg declared");
    if (st) {
        qnn_circuit_free(P->c);
        free(P);
        return st;
    }
    P->c->n = P->nqubits;
    *out = P->c;
    free(P);
    return QNN_OK;
}
int qnn_circuit_to_qasm_version(const qnn_circuit *c, int version, char **out, qnn_error *err) {
    (void)version;
    return qnn_circuit_to_qasm(c, out, err);
}
