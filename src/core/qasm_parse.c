/* OpenQASM import: all of OpenQASM 2.0 and a subset of OpenQASM 3, into the circuit IR.
 *
 * OpenQASM 2.0: header, include "qelib1.inc", qreg/creg (several, concatenated in order),
 * gate definitions (parameterised, nested, bodies resolved when applied), opaque (an error
 * when applied), every qelib1 gate (u3 u2 u1 u0 u p U CX cx id x y z h s sdg t tdg sx sxdg rx
 * ry rz cy cz swap ch ccx cswap crx cry crz cu1 cp cu3 csx cu rxx rzz rccx rc3x c3x c3sqrtx
 * c4x; also ryy rzy), broadcasting over registers, measure, reset, barrier,
 * if(creg==n) qop, comments. Expressions: numbers, pi, + - * / ^, unary signs, parentheses,
 * sin cos tan exp ln sqrt asin acos atan.
 * OpenQASM 3 subset: `OPENQASM 3;`, include "stdgates.inc", qubit[n] q; bit[n] c; (and the
 * single forms), gate calls with parameters, c[i] = measure q[j]; c = measure q;, reset,
 * if (c[i] == 1) { ... } else { ... }, if (c == n) ..., gate definitions, `input float
 * theta;` (a named circuit parameter; angles must stay affine in it: offset + scale * theta).
 * Other OpenQASM 3 constructs raise an error naming the construct and the line.
 *
 * Limits (errors, never crashes): expression and block nesting <= 200, gate definitions
 * nested <= 64 deep when applied, recursive definitions refused, at most 4,000,000 ops after
 * expansion. Every error names the line, the column and the offending text.
 *
 * Gate semantics follow qnn's gates (rz(t) = exp(-i t/2 Z), u1/p = diag(1, e^{il}), ...).
 * Library gates without a qnn kind are expanded from their definitions (cu3, csx, cu, rccx,
 * rc3x) or become exact dense gates (ch, cswap, c3sqrtx). */
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

#define MAX_NEST 200
#define MAX_GATE_DEPTH 64
#define MAX_OPS 4000000
#define MAX_STACK (2 * MAX_NEST + 16)
#define MAX_ARGS 64
#define MAX_PARAMS 64

enum { T_EOF, T_ID, T_NUM, T_STR, T_SYM, T_OP2, T_BAD };

typedef struct tok {
    int type;
    int line, col;
    const char *s;
    size_t len;
    double num;
    int isint;
    char sym;
} tok;

/* ---- expressions: RPN over affine values ---- */
enum { X_NUM, X_PAR, X_INP, X_NEG, X_ADD, X_SUB, X_MUL, X_DIV, X_POW, X_FN };
typedef struct xop {
    int op, idx;
    double v;
} xop;
typedef struct xcode {
    xop *ops;
    int n, cap;
    int line, col; /* where the expression starts */
} xcode;
typedef struct aff {
    double c, s; /* value = c + s * param */
    int p;       /* circuit parameter, -1: constant */
} aff;

static const char *FNS[] = {"sin",  "cos",    "tan",    "exp",    "ln", "sqrt", "asin",
                            "acos", "atan",   "arcsin", "arccos", "arctan", "log", NULL};

/* ---- gate definitions ---- */
typedef struct gcall {
    char *name;
    int line, col;
    int barrier;
    int np, nargs;
    xcode *params;
    int *args;
} gcall;

typedef struct gdef {
    char *name;
    int np, nq;
    char **pnames, **qnames;
    gcall *body;
    int nbody, cap;
    int opaque, lib, line;
    int expanding;
} gdef;

typedef struct qreg {
    char name[72];
    int size, offset;
} qreg;

typedef struct parser {
    const char *text, *p, *line_start;
    int line;
    tok t;
    int version;   /* 0 until OPENQASM */
    int nstmt;
    int lib;       /* parsing the built-in library */
    int depth;     /* expression / block nesting */
    qnn_error *err;
    int failed;
    qreg qregs[QNN_CIRCUIT_MAXQ];
    int nq_regs, nqubits;
    gdef *defs;
    int ndefs, capdefs;
    int *hash; /* def index + 1, 0 = empty */
    size_t hcap;
    qnn_circuit *c;
    const gdef *cur; /* definition whose body is being parsed (param names) */
} parser;

/* ====================================================================== */
/* errors                                                                  */
/* ====================================================================== */
static int perr_at(parser *P, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int perr_at(parser *P, int line, int col, const char *fmt, ...) {
    if (P->failed) return QNN_EFORMAT;
    P->failed = 1;
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (P->lib) {
        qnn_error_set(P->err, QNN_EFORMAT, "built-in gate library, line %d: %s", line, msg);
        return QNN_EFORMAT;
    }
    const char *s = P->text;
    for (int l = 1; l < line && *s; s++)
        if (*s == '\n') l++;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = 0;
    while (s[n] && s[n] != '\n' && s[n] != '\r') n++;
    if (n > 100) n = 100;
    if (col > 0)
        qnn_error_set(P->err, QNN_EFORMAT, "line %d, column %d: %s (in \"%.*s\")", line, col, msg,
                      (int)n, s);
    else
        qnn_error_set(P->err, QNN_EFORMAT, "line %d: %s (in \"%.*s\")", line, msg, (int)n, s);
    return QNN_EFORMAT;
}

/* error at the current token; `%T` is not available, so callers quote P->t themselves */
#define TOKF "'%.*s'"
#define TOKA(P) (int)((P)->t.len > 40 ? 40 : (P)->t.len), (P)->t.s
#define PERR(P, ...) perr_at((P), (P)->t.line, (P)->t.col, __VA_ARGS__)

static int oom(parser *P) {
    if (!P->failed) {
        P->failed = 1;
        qnn_error_set(P->err, QNN_ENOMEM, "out of memory");
    }
    return QNN_ENOMEM;
}

/* ====================================================================== */
/* lexer                                                                   */
/* ====================================================================== */
static void next(parser *P) {
    const char *p = P->p;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f' || *p == '\v') {
            if (*p == '\n') {
                P->line++;
                P->line_start = p + 1;
            }
            p++;
        }
        if (p[0] == '/' && p[1] == '/') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) {
                if (*p == '\n') {
                    P->line++;
                    P->line_start = p + 1;
                }
                p++;
            }
            if (*p) p += 2;
            continue;
        }
        break;
    }
    tok *t = &P->t;
    t->line = P->line;
    t->col = (int)(p - P->line_start) + 1;
    t->s = p;
    t->len = 0;
    t->isint = 0;
    unsigned char c0 = (unsigned char)*p;
    if (!c0) {
        t->type = T_EOF;
    } else if (isalpha(c0) || c0 == '_') {
        while (isalnum((unsigned char)p[t->len]) || p[t->len] == '_') t->len++;
        t->type = T_ID;
    } else if (c0 == 0xCF && (unsigned char)p[1] == 0x80) { /* UTF-8 pi */
        t->len = 2;
        t->type = T_ID;
    } else if (isdigit(c0) || (c0 == '.' && isdigit((unsigned char)p[1]))) {
        size_t n = 0;
        int isint = 1;
        while (isdigit((unsigned char)p[n])) n++;
        if (p[n] == '.') {
            isint = 0;
            n++;
            while (isdigit((unsigned char)p[n])) n++;
        }
        if ((p[n] == 'e' || p[n] == 'E') &&
            (isdigit((unsigned char)p[n + 1]) ||
             ((p[n + 1] == '+' || p[n + 1] == '-') && isdigit((unsigned char)p[n + 2])))) {
            isint = 0;
            n += 2;
            while (isdigit((unsigned char)p[n])) n++;
        }
        t->len = n;
        t->type = T_NUM;
        t->isint = isint;
        if (isalpha((unsigned char)p[n]) || p[n] == '_') { /* 10ns, 1im, 0x1f ... */
            while (isalnum((unsigned char)p[t->len]) || p[t->len] == '_') t->len++;
            t->type = T_BAD;
        } else if (n > 400) {
            t->type = T_BAD;
        } else {
            char buf[420];
            memcpy(buf, p, n);
            buf[n] = '\0';
            t->num = strtod(buf, NULL);
            if (!isfinite(t->num)) t->type = T_BAD;
        }
    } else if (c0 == '"') {
        size_t n = 1;
        while (p[n] && p[n] != '"' && p[n] != '\n') n++;
        t->len = p[n] == '"' ? n + 1 : n;
        t->type = p[n] == '"' ? T_STR : T_BAD;
    } else {
        static const char *OPS2[] = {"->", "==", "!=", "<=", ">=", "&&", "||", "**", "++", "+=",
                                     "-=", "*=", "/=", "<<", ">>", NULL};
        t->type = T_SYM;
        t->len = 1;
        t->sym = (char)c0;
        for (int i = 0; OPS2[i]; i++)
            if (p[0] == OPS2[i][0] && p[1] == OPS2[i][1]) {
                t->type = T_OP2;
                t->len = 2;
            }
        if (t->type == T_SYM && !strchr(";,()[]{}+-*/^=<>!~&|%:@#$.", c0)) {
            /* invalid byte: one UTF-8 sequence at most */
            t->type = T_BAD;
            if (c0 >= 0x80)
                while (t->len < 4 && ((unsigned char)p[t->len] & 0xC0) == 0x80) t->len++;
        }
    }
    P->p = p + t->len;
}

static int is_sym(parser *P, char c) { return P->t.type == T_SYM && P->t.sym == c; }
static int is_op2(parser *P, const char *s) {
    return P->t.type == T_OP2 && P->t.s[0] == s[0] && P->t.s[1] == s[1];
}
static int is_id(parser *P, const char *s) {
    return P->t.type == T_ID && P->t.len == strlen(s) && strncmp(P->t.s, s, P->t.len) == 0;
}

static int bad_token(parser *P) {
    if (isdigit((unsigned char)P->t.s[0]) || P->t.s[0] == '.')
        return PERR(P, "invalid number " TOKF " (out of range, or units/suffixes, which are not "
                       "supported)", TOKA(P));
    if (P->t.s[0] == '"') return PERR(P, "unterminated string " TOKF, TOKA(P));
    return PERR(P, "invalid character " TOKF, TOKA(P));
}

static int unexpected(parser *P, const char *what) {
    if (P->t.type == T_EOF) return PERR(P, "%s expected before the end of the text", what);
    if (P->t.type == T_BAD) return bad_token(P);
    return PERR(P, "%s expected, got " TOKF, what, TOKA(P));
}

static int expect_sym(parser *P, char c) {
    if (!is_sym(P, c)) {
        char what[8] = {'\'', c, '\'', 0};
        return unexpected(P, what);
    }
    next(P);
    return QNN_OK;
}

static char *tokdup(parser *P) {
    char *s = (char *)malloc(P->t.len + 1);
    if (!s) return NULL;
    memcpy(s, P->t.s, P->t.len);
    s[P->t.len] = '\0';
    return s;
}

static int get_name(parser *P, char *buf, size_t n, const char *what) {
    if (P->t.type != T_ID) return unexpected(P, what);
    if (P->t.len >= n) return PERR(P, "identifier " TOKF " longer than %zu characters", TOKA(P), n - 1);
    memcpy(buf, P->t.s, P->t.len);
    buf[P->t.len] = '\0';
    next(P);
    return QNN_OK;
}

static int get_index(parser *P, int *out, const char *what) {
    if (P->t.type != T_NUM || !P->t.isint) return unexpected(P, what);
    if (P->t.num > 1e6) return PERR(P, "%s " TOKF " is too large", what, TOKA(P));
    *out = (int)P->t.num;
    next(P);
    return QNN_OK;
}

/* ====================================================================== */
/* expressions                                                             */
/* ====================================================================== */
static int emit(parser *P, xcode *x, int op, int idx, double v) {
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 8;
        xop *o = (xop *)realloc(x->ops, sizeof(xop) * (size_t)cap);
        if (!o) return oom(P);
        x->ops = o;
        x->cap = cap;
    }
    x->ops[x->n].op = op;
    x->ops[x->n].idx = idx;
    x->ops[x->n].v = v;
    x->n++;
    return QNN_OK;
}

static int expr(parser *P, xcode *x);

static int primary(parser *P, xcode *x) {
    if (P->t.type == T_NUM) {
        double v = P->t.num;
        next(P);
        return emit(P, x, X_NUM, 0, v);
    }
    if (is_sym(P, '(')) {
        next(P);
        int st = expr(P, x);
        return st ? st : expect_sym(P, ')');
    }
    if (P->t.type == T_ID) {
        if (is_id(P, "pi") || is_id(P, "\xCF\x80")) {
            next(P);
            return emit(P, x, X_NUM, 0, M_PI);
        }
        if (is_id(P, "tau")) {
            next(P);
            return emit(P, x, X_NUM, 0, 2 * M_PI);
        }
        if (is_id(P, "euler")) {
            next(P);
            return emit(P, x, X_NUM, 0, exp(1.0));
        }
        for (int i = 0; FNS[i]; i++)
            if (is_id(P, FNS[i])) {
                next(P);
                int st = expect_sym(P, '(');
                if (!st) st = expr(P, x);
                if (!st) st = expect_sym(P, ')');
                return st ? st : emit(P, x, X_FN, i, 0);
            }
        if (P->cur)
            for (int i = 0; i < P->cur->np; i++)
                if (is_id(P, P->cur->pnames[i])) {
                    next(P);
                    return emit(P, x, X_PAR, i, 0);
                }
        /* an `input` parameter of the circuit (OpenQASM 3) */
        char name[256];
        if (P->t.len < sizeof name) {
            memcpy(name, P->t.s, P->t.len);
            name[P->t.len] = '\0';
            int k = qnn_circuit_param_index(P->c, name);
            if (k >= 0) {
                next(P);
                return emit(P, x, X_INP, k, 0);
            }
        }
        return PERR(P, "unknown identifier " TOKF " in expression", TOKA(P));
    }
    return unexpected(P, "expression");
}

static int unary(parser *P, xcode *x) {
    if (++P->depth > MAX_NEST) return PERR(P, "expression nested more than %d levels", MAX_NEST);
    int neg = 0;
    while (is_sym(P, '-') || is_sym(P, '+')) { /* a loop: no recursion per sign */
        if (is_sym(P, '-')) neg = !neg;
        next(P);
    }
    int st = primary(P, x);
    if (!st && (is_sym(P, '^') || is_op2(P, "**"))) {
        next(P);
        st = unary(P, x); /* right associative */
        if (!st) st = emit(P, x, X_POW, 0, 0);
    }
    if (!st && neg) st = emit(P, x, X_NEG, 0, 0);
    P->depth--;
    return st;
}

static int term(parser *P, xcode *x) {
    int st = unary(P, x);
    while (!st && (is_sym(P, '*') || is_sym(P, '/'))) {
        int op = is_sym(P, '*') ? X_MUL : X_DIV;
        next(P);
        st = unary(P, x);
        if (!st) st = emit(P, x, op, 0, 0);
    }
    return st;
}

static int expr(parser *P, xcode *x) {
    if (++P->depth > MAX_NEST) return PERR(P, "expression nested more than %d levels", MAX_NEST);
    int st = term(P, x);
    while (!st && (is_sym(P, '+') || is_sym(P, '-'))) {
        int op = is_sym(P, '+') ? X_ADD : X_SUB;
        next(P);
        st = term(P, x);
        if (!st) st = emit(P, x, op, 0, 0);
    }
    P->depth--;
    return st;
}

static int parse_expr(parser *P, xcode *x) {
    memset(x, 0, sizeof *x);
    x->line = P->t.line;
    x->col = P->t.col;
    return expr(P, x);
}

static void xfree(xcode *x) {
    free(x->ops);
    x->ops = NULL;
}

static int not_affine(parser *P, const xcode *x, const char *why) {
    return perr_at(P, x->line, x->col,
                   "angle expression %s; qnn angles are offset + scale * one parameter", why);
}

/* Evaluates x with gate parameters env (may be NULL). */
static int xeval(parser *P, const xcode *x, const aff *env, aff *out) {
    aff st[MAX_STACK];
    int sp = 0;
    for (int i = 0; i < x->n; i++) {
        const xop *o = &x->ops[i];
        if (sp >= MAX_STACK - 1) return not_affine(P, x, "is too deep");
        aff a, b;
        switch (o->op) {
        case X_NUM: st[sp].c = o->v, st[sp].s = 0, st[sp].p = -1, sp++; break;
        case X_PAR: st[sp++] = env[o->idx]; break;
        case X_INP: st[sp].c = 0, st[sp].s = 1, st[sp].p = o->idx, sp++; break;
        case X_NEG: st[sp - 1].c = -st[sp - 1].c, st[sp - 1].s = -st[sp - 1].s; break;
        case X_ADD: case X_SUB: {
            b = st[--sp];
            a = st[sp - 1];
            double sg = o->op == X_ADD ? 1.0 : -1.0;
            if (a.p >= 0 && b.p >= 0 && a.p != b.p)
                return not_affine(P, x, "combines two different parameters");
            aff r = {a.c + sg * b.c, a.s + sg * b.s, a.p >= 0 ? a.p : b.p};
            if (r.p >= 0 && r.s == 0) r.p = -1;
            st[sp - 1] = r;
            break;
        }
        case X_MUL: {
            b = st[--sp];
            a = st[sp - 1];
            if (a.p >= 0 && b.p >= 0) return not_affine(P, x, "multiplies two parameters");
            aff r;
            if (b.p < 0) r.c = a.c * b.c, r.s = a.s * b.c, r.p = a.p;
            else r.c = a.c * b.c, r.s = b.s * a.c, r.p = b.p;
            if (r.s == 0) r.p = -1;
            st[sp - 1] = r;
            break;
        }
        case X_DIV: {
            b = st[--sp];
            a = st[sp - 1];
            if (b.p >= 0) return not_affine(P, x, "divides by a parameter");
            st[sp - 1].c = a.c / b.c, st[sp - 1].s = a.s / b.c;
            if (a.p >= 0 && st[sp - 1].s == 0) st[sp - 1].p = -1;
            break;
        }
        case X_POW:
            b = st[--sp];
            a = st[sp - 1];
            if (a.p >= 0 || b.p >= 0) return not_affine(P, x, "raises a parameter to a power");
            st[sp - 1].c = pow(a.c, b.c);
            break;
        case X_FN: {
            a = st[sp - 1];
            if (a.p >= 0)
                return not_affine(P, x, "applies a function to a parameter");
            double v = a.c, r;
            switch (o->idx) {
            case 0: r = sin(v); break;
            case 1: r = cos(v); break;
            case 2: r = tan(v); break;
            case 3: r = exp(v); break;
            case 4: case 12: r = log(v); break;
            case 5: r = sqrt(v); break;
            case 6: case 9: r = asin(v); break;
            case 7: case 10: r = acos(v); break;
            default: r = atan(v); break;
            }
            st[sp - 1].c = r;
            break;
        }
        default: break;
        }
    }
    if (sp != 1) return not_affine(P, x, "is malformed");
    *out = st[0];
    if (!isfinite(out->c) || !isfinite(out->s))
        return perr_at(P, x->line, x->col, "expression is not finite (division by zero or overflow)");
    return QNN_OK;
}

/* ====================================================================== */
/* gate table                                                              */
/* ====================================================================== */
static size_t hash_name(const char *s, size_t len) {
    size_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static gdef *find_def(parser *P, const char *s, size_t len) {
    if (!P->hcap) return NULL;
    for (size_t i = hash_name(s, len) & (P->hcap - 1);; i = (i + 1) & (P->hcap - 1)) {
        int k = P->hash[i];
        if (!k) return NULL;
        gdef *d = &P->defs[k - 1];
        if (strlen(d->name) == len && memcmp(d->name, s, len) == 0) return d;
    }
}

/* puts def idx in the table; an entry of the same name is replaced (later definitions win) */
static void hash_put(int *h, size_t cap, const gdef *defs, int idx) {
    const char *nm = defs[idx].name;
    size_t i = hash_name(nm, strlen(nm)) & (cap - 1);
    while (h[i] && strcmp(defs[h[i] - 1].name, nm) != 0) i = (i + 1) & (cap - 1);
    h[i] = idx + 1;
}

static int hash_insert(parser *P, int idx) {
    if ((size_t)(P->ndefs + 1) * 2 > P->hcap) {
        size_t cap = P->hcap ? P->hcap * 2 : 64;
        int *h = (int *)calloc(cap, sizeof(int));
        if (!h) return oom(P);
        for (int k = 0; k < P->ndefs; k++)
            if (k != idx && find_def(P, P->defs[k].name, strlen(P->defs[k].name)) == &P->defs[k])
                hash_put(h, cap, P->defs, k);
        free(P->hash);
        P->hash = h;
        P->hcap = cap;
    }
    hash_put(P->hash, P->hcap, P->defs, idx);
    return QNN_OK;
}

static void free_def(gdef *d) {
    free(d->name);
    for (int i = 0; i < d->np; i++) free(d->pnames[i]);
    for (int i = 0; i < d->nq; i++) free(d->qnames[i]);
    free(d->pnames);
    free(d->qnames);
    for (int i = 0; i < d->nbody; i++) {
        gcall *g = &d->body[i];
        free(g->name);
        for (int j = 0; j < g->np; j++) xfree(&g->params[j]);
        free(g->params);
        free(g->args);
    }
    free(d->body);
}

/* ---- native gates ---- */
enum { SP_U2 = -2, SP_MCX = -3, SP_CH = -4, SP_CSWAP = -5, SP_C3SX = -6, SP_U0 = -7 };
typedef struct native {
    const char *name;
    int kind, nq, np;
} native;

static const native NATIVE[] = {
    {"U", QNN_G_U3, 1, 3},       {"u3", QNN_G_U3, 1, 3},      {"u", QNN_G_U3, 1, 3},
    {"u2", SP_U2, 1, 2},         {"u1", QNN_G_PHASE, 1, 1},   {"p", QNN_G_PHASE, 1, 1},
    {"phase", QNN_G_PHASE, 1, 1}, {"u0", SP_U0, 1, 1},        {"CX", QNN_G_CX, 2, 0},
    {"cx", QNN_G_CX, 2, 0},      {"cnot", QNN_G_CX, 2, 0},    {"id", QNN_G_ID, 1, 0},
    {"x", QNN_G_X, 1, 0},        {"y", QNN_G_Y, 1, 0},        {"z", QNN_G_Z, 1, 0},
    {"h", QNN_G_H, 1, 0},        {"s", QNN_G_S, 1, 0},        {"sdg", QNN_G_SDG, 1, 0},
    {"t", QNN_G_T, 1, 0},        {"tdg", QNN_G_TDG, 1, 0},    {"sx", QNN_G_SX, 1, 0},
    {"sxdg", QNN_G_SXDG, 1, 0},  {"rx", QNN_G_RX, 1, 1},      {"ry", QNN_G_RY, 1, 1},
    {"rz", QNN_G_RZ, 1, 1},      {"cy", QNN_G_CY, 2, 0},      {"cz", QNN_G_CZ, 2, 0},
    {"swap", QNN_G_SWAP, 2, 0},  {"crx", QNN_G_CRX, 2, 1},    {"cry", QNN_G_CRY, 2, 1},
    {"crz", QNN_G_CRZ, 2, 1},    {"cu1", QNN_G_CPHASE, 2, 1}, {"cp", QNN_G_CPHASE, 2, 1},
    {"cphase", QNN_G_CPHASE, 2, 1}, {"rxx", QNN_G_RXX, 2, 1}, {"ryy", QNN_G_RYY, 2, 1},
    {"rzz", QNN_G_RZZ, 2, 1},    {"rzy", QNN_G_RZY, 2, 1},    {"ccx", SP_MCX, 3, 0},
    {"c3x", SP_MCX, 4, 0},       {"c4x", SP_MCX, 5, 0},       {"ch", SP_CH, 2, 0},
    {"cswap", SP_CSWAP, 3, 0},   {"c3sqrtx", SP_C3SX, 4, 0},  {NULL, 0, 0, 0}};

/* Library gates defined by their (exact) decompositions into the gates above. */
static const char LIBRARY[] =
    "gate cu3(theta,phi,lambda) c,t { u1((lambda+phi)/2) c; u1((lambda-phi)/2) t; cx c,t;\n"
    "  u3(-theta/2,0,-(phi+lambda)/2) t; cx c,t; u3(theta/2,phi,0) t; }\n"
    "gate csx a,b { h b; cu1(pi/2) a,b; h b; }\n"
    "gate cu(theta,phi,lambda,gamma) c,t { p(gamma) c; cu3(theta,phi,lambda) c,t; }\n"
    "gate rccx a,b,c { u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c; cx a,c; u1(pi/4) c;\n"
    "  cx b,c; u1(-pi/4) c; u2(0,pi) c; }\n"
    "gate rc3x a,b,c,d { u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d; cx a,d;\n"
    "  u1(pi/4) d; cx b,d; u1(-pi/4) d; cx a,d; u1(pi/4) d; cx b,d; u1(-pi/4) d; u2(0,pi) d;\n"
    "  u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d; }\n";

static const native *find_native(const char *s, size_t len) {
    for (int i = 0; NATIVE[i].name; i++)
        if (strlen(NATIVE[i].name) == len && memcmp(NATIVE[i].name, s, len) == 0) return &NATIVE[i];
    return NULL;
}

static int check_ops(parser *P, int line, int col) {
    if (qnn_circuit_ngates(P->c) > MAX_OPS)
        return perr_at(P, line, col, "more than %d operations after expanding gate definitions",
                       MAX_OPS);
    return QNN_OK;
}

static int add_native(parser *P, const native *g, const int *q, const aff *par, int line,
                      int col) {
    qnn_error e2;
    qnn_error_clear(&e2);
    int st = QNN_OK;
    qnn_circuit *c = P->c;
    qnn_angle a[3];
    for (int i = 0; i < g->np && i < 3; i++) {
        a[i].offset = par[i].c;
        a[i].scale = par[i].p >= 0 ? par[i].s : 0.0;
        a[i].param = par[i].p;
    }
    switch (g->kind) {
    case SP_U2: {
        qnn_angle b[3] = {qnn_angle_const(M_PI / 2), a[0], a[1]};
        st = qnn_circuit_add(c, QNN_G_U3, q, 1, b, &e2);
        break;
    }
    case SP_U0: st = qnn_circuit_add(c, QNN_G_ID, q, 1, NULL, &e2); break;
    case SP_MCX: st = qnn_circuit_mcx(c, q, g->nq - 1, q[g->nq - 1], &e2); break;
    case SP_CH: case SP_CSWAP: case SP_C3SX: {
        int k = g->nq;
        size_t d = (size_t)1 << k;
        double *mm = (double *)calloc(2 * d * d, sizeof(double));
        if (!mm) return oom(P);
        for (size_t i = 0; i < d; i++) mm[2 * (i * d + i)] = 1.0;
        if (g->kind == SP_CSWAP) {
            /* control q[0] (bit 0): swap bits 1 and 2 when bit 0 is 1: 3 <-> 5 */
            mm[2 * (3 * d + 3)] = mm[2 * (5 * d + 5)] = 0.0;
            mm[2 * (3 * d + 5)] = mm[2 * (5 * d + 3)] = 1.0;
        } else {
            double u[8];
            size_t lo = d / 2 - 1, hi = d - 1; /* all controls 1, target (top bit) 0 / 1 */
            if (g->kind == SP_CH) {
                double r = 1.0 / sqrt(2.0);
                u[0] = r, u[1] = 0, u[2] = r, u[3] = 0, u[4] = r, u[5] = 0, u[6] = -r, u[7] = 0;
            } else { /* sqrt(X) = (1/2) [[1+i, 1-i], [1-i, 1+i]] */
                u[0] = 0.5, u[1] = 0.5, u[2] = 0.5, u[3] = -0.5;
                u[4] = 0.5, u[5] = -0.5, u[6] = 0.5, u[7] = 0.5;
            }
            size_t idx[2] = {lo, hi};
            for (int r = 0; r < 2; r++)
                for (int cc = 0; cc < 2; cc++) {
                    mm[2 * (idx[r] * d + idx[cc])] = u[2 * (r * 2 + cc)];
                    mm[2 * (idx[r] * d + idx[cc]) + 1] = u[2 * (r * 2 + cc) + 1];
                }
        }
        st = qnn_circuit_unitary_gate(c, q, k, mm, 1e-9, &e2);
        free(mm);
        break;
    }
    default: st = qnn_circuit_add(c, g->kind, q, g->nq, a, &e2);
    }
    if (st == QNN_ENOMEM) return oom(P);
    if (st) return perr_at(P, line, col, "%s", e2.msg[0] ? e2.msg : qnn_strerror(st));
    return check_ops(P, line, col);
}

/* Applies gate `name` (user definition or native) with parameters par[np] to qubits q[nq]. */
static int apply_gate(parser *P, const char *name, size_t len, const aff *par, int np,
                      const int *q, int nq, int line, int col, int depth) {
    gdef *d = find_def(P, name, len);
    const native *g = d ? NULL : find_native(name, len);
    if (!d && !g) return perr_at(P, line, col, "unknown gate '%.*s'", (int)(len > 60 ? 60 : len), name);
    int want_p = d ? d->np : g->np, want_q = d ? d->nq : g->nq;
    if (np != want_p)
        return perr_at(P, line, col, "gate '%.*s' takes %d parameter(s), got %d",
                       (int)(len > 60 ? 60 : len), name, want_p, np);
    if (nq != want_q)
        return perr_at(P, line, col, "gate '%.*s' acts on %d qubit(s), got %d",
                       (int)(len > 60 ? 60 : len), name, want_q, nq);
    if (g) return add_native(P, g, q, par, line, col);
    if (d->opaque)
        return perr_at(P, line, col,
                       "gate '%s' is opaque (declared on line %d): it has no definition to simulate",
                       d->name, d->line);
    if (d->expanding)
        return perr_at(P, line, col, "recursive gate definition: '%s' (line %d) uses itself",
                       d->name, d->line);
    if (depth >= MAX_GATE_DEPTH)
        return perr_at(P, line, col, "gate definitions nested more than %d levels deep",
                       MAX_GATE_DEPTH);
    d->expanding = 1;
    int st = QNN_OK;
    for (int i = 0; i < d->nbody && !st; i++) {
        const gcall *gc = &d->body[i];
        int qq[MAX_ARGS];
        for (int j = 0; j < gc->nargs; j++) qq[j] = q[gc->args[j]];
        if (gc->barrier) {
            qnn_error e2;
            qnn_error_clear(&e2);
            st = qnn_circuit_barrier(P->c, qq, gc->nargs, &e2);
            if (st) st = perr_at(P, gc->line, gc->col, "%s", e2.msg);
            continue;
        }
        aff pp[MAX_PARAMS];
        for (int j = 0; j < gc->np && !st; j++) st = xeval(P, &gc->params[j], par, &pp[j]);
        if (!st)
            st = apply_gate(P, gc->name, strlen(gc->name), pp, gc->np, qq, gc->nargs, gc->line,
                            gc->col, depth + 1);
    }
    d->expanding = 0;
    return st;
}

/* ====================================================================== */
/* statements                                                              */
/* ====================================================================== */
static qreg *find_qreg(parser *P, const char *name) {
    for (int i = 0; i < P->nq_regs; i++)
        if (strcmp(P->qregs[i].name, name) == 0) return &P->qregs[i];
    return NULL;
}

typedef struct qarg {
    int first, count, whole;
    int line, col;
} qarg;

/* reg or reg[i]; quantum: qreg, else creg */
static int get_arg(parser *P, int quantum, qarg *a) {
    char name[72];
    a->line = P->t.line;
    a->col = P->t.col;
    if (is_sym(P, '$')) return PERR(P, "unsupported OpenQASM 3 construct: physical qubits ($n)");
    int st = get_name(P, name, sizeof name, quantum ? "qubit argument" : "classical bit");
    if (st) return st;
    int first, size;
    if (quantum) {
        qreg *r = find_qreg(P, name);
        if (!r) return perr_at(P, a->line, a->col, "undeclared quantum register '%s'", name);
        first = r->offset;
        size = r->size;
    } else {
        int k = qnn_circuit_creg_index(P->c, name);
        if (k < 0) return perr_at(P, a->line, a->col, "undeclared classical register '%s'", name);
        qnn_circuit_creg(P->c, k, &first, &size);
    }
    if (is_sym(P, '[')) {
        next(P);
        if (P->t.type != T_NUM)
            return PERR(P, "unsupported index " TOKF " (only integer literals; no ranges, sets "
                           "or expressions)", TOKA(P));
        int i;
        st = get_index(P, &i, "index");
        if (st) return st;
        if (!is_sym(P, ']'))
            return PERR(P, "unsupported index syntax at " TOKF " (only reg[integer])", TOKA(P));
        next(P);
        if (i >= size)
            return perr_at(P, a->line, a->col, "index %d out of range for %s[%d]", i, name, size);
        a->first = first + i;
        a->count = 1;
        a->whole = 0;
    } else {
        a->first = first;
        a->count = size;
        a->whole = 1;
    }
    return QNN_OK;
}

static int add_creg(parser *P, const char *name, int size, int line, int col) {
    if (find_qreg(P, name)) return perr_at(P, line, col, "register '%s' declared twice", name);
    qnn_error e2;
    qnn_error_clear(&e2);
    if (qnn_circuit_add_creg(P->c, name, size, &e2) < 0)
        return perr_at(P, line, col, "%s", e2.msg);
    return QNN_OK;
}

static int add_qreg(parser *P, const char *name, int size, int line, int col) {
    if (find_qreg(P, name) || qnn_circuit_creg_index(P->c, name) >= 0)
        return perr_at(P, line, col, "register '%s' declared twice", name);
    if (size < 1) return perr_at(P, line, col, "register size must be >= 1");
    if (qnn_circ_is_reserved(name))
        return perr_at(P, line, col, "register name '%s' is a keyword or constant", name);
    if (P->nqubits + size > QNN_CIRCUIT_MAXQ)
        return perr_at(P, line, col, "more than %d qubits in total", QNN_CIRCUIT_MAXQ);
    qreg *r = &P->qregs[P->nq_regs++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->size = size;
    r->offset = P->nqubits;
    P->nqubits += size;
    return QNN_OK;
}

/* gate call at top level: name [(exprs)] args ; with broadcasting */
static int gate_stmt(parser *P) {
    int line = P->t.line, col = P->t.col;
    const char *name = P->t.s;
    size_t len = P->t.len;
    next(P);
    if (P->nq_regs == 0) return perr_at(P, line, col, "gate '%.*s' before any qubit declaration",
                                        (int)(len > 60 ? 60 : len), name);
    aff par[MAX_PARAMS];
    int np = 0, st;
    if (is_sym(P, '(')) {
        next(P);
        if (!is_sym(P, ')'))
            for (;;) {
                if (np >= MAX_PARAMS) return PERR(P, "more than %d parameters", MAX_PARAMS);
                xcode x;
                st = parse_expr(P, &x);
                if (!st) st = xeval(P, &x, NULL, &par[np++]);
                xfree(&x);
                if (st) return st;
                if (!is_sym(P, ',')) break;
                next(P);
            }
        st = expect_sym(P, ')');
        if (st) return st;
    }
    if (is_sym(P, '@')) return PERR(P, "unsupported OpenQASM 3 construct: gate modifiers (@)");
    qarg args[MAX_ARGS];
    int na = 0;
    for (;;) {
        if (na >= MAX_ARGS) return PERR(P, "more than %d arguments", MAX_ARGS);
        st = get_arg(P, 1, &args[na++]);
        if (st) return st;
        if (!is_sym(P, ',')) break;
        next(P);
    }
    st = expect_sym(P, ';');
    if (st) return st;
    int reps = 1;
    for (int i = 0; i < na; i++)
        if (args[i].whole && args[i].count != 1) {
            if (reps != 1 && args[i].count != reps)
                return perr_at(P, args[i].line, args[i].col,
                               "registers of different sizes (%d and %d) in one gate", reps,
                               args[i].count);
            reps = args[i].count;
        }
    for (int r = 0; r < reps && !st; r++) {
        int q[MAX_ARGS];
        for (int i = 0; i < na; i++) q[i] = args[i].first + (args[i].whole && args[i].count > 1 ? r : 0);
        st = apply_gate(P, name, len, par, np, q, na, line, col, 0);
    }
    return st;
}

static int measure_pair(parser *P, const qarg *a, const qarg *b, int line, int col) {
    if (a->count != b->count || (a->whole != b->whole && a->count != 1))
        return perr_at(P, line, col, "measure: %d qubit(s) into %d bit(s)", a->count, b->count);
    qnn_error e2;
    qnn_error_clear(&e2);
    for (int i = 0; i < a->count; i++) {
        int st = qnn_circuit_measure(P->c, a->first + i, b->first + i, &e2);
        if (st) return perr_at(P, line, col, "%s", e2.msg);
    }
    return check_ops(P, line, col);
}

static int statement(parser *P, int in_block);

/* stmt or { stmts } (if bodies) */
static int body_or_stmt(parser *P) {
    if (!is_sym(P, '{')) return statement(P, 1);
    next(P);
    while (!is_sym(P, '}')) {
        if (P->t.type == T_EOF) return unexpected(P, "'}'");
        int st = statement(P, 1);
        if (st) return st;
    }
    next(P);
    return QNN_OK;
}

/* if ( cond ) body [else body] */
static int if_stmt(parser *P) {
    int line = P->t.line, col = P->t.col;
    next(P);
    int st = expect_sym(P, '(');
    if (st) return st;
    int neg = 0;
    if (is_sym(P, '!')) {
        neg = 1;
        next(P);
    }
    qarg b;
    int bl = P->t.line, bc = P->t.col;
    st = get_arg(P, 0, &b);
    if (st) return st;
    uint64_t v = 1;
    int op = 0; /* 0: ==, 1: != */
    if (is_op2(P, "==") || is_op2(P, "!=")) {
        op = is_op2(P, "!=");
        next(P);
        if (is_id(P, "true") || is_id(P, "false")) {
            v = is_id(P, "true");
            next(P);
        } else {
            if (P->t.type != T_NUM || !P->t.isint)
                return unexpected(P, "integer to compare with");
            if (b.count < 64 && P->t.num >= ldexp(1.0, b.count))
                return PERR(P, "value " TOKF " does not fit in %d bit(s)", TOKA(P), b.count);
            if (P->t.num >= 18446744073709551615.0)
                return PERR(P, "value " TOKF " too large", TOKA(P));
            v = (uint64_t)P->t.num;
            next(P);
        }
    } else if (!is_sym(P, ')')) {
        return PERR(P, "unsupported condition at " TOKF " (use bit == 0/1 or register == "
                       "integer)", TOKA(P));
    } else if (b.count != 1) {
        return perr_at(P, bl, bc, "a register in a condition needs '== value'");
    }
    st = expect_sym(P, ')');
    if (st) return st;
    if (neg || op) {
        if (b.count != 1)
            return perr_at(P, bl, bc, "'!=' and '!' are supported on single bits only");
        v = (neg ^ op) ? !v : v;
    }
    uint64_t mask = (b.count >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << b.count) - 1)) << b.first;
    uint64_t val = v << b.first;
    if (++P->depth > MAX_NEST) return perr_at(P, line, col, "if blocks nested more than %d levels", MAX_NEST);
    size_t from = qnn_circuit_ngates(P->c);
    st = body_or_stmt(P);
    qnn_error e2;
    qnn_error_clear(&e2);
    if (!st && qnn_circuit_condition(P->c, from, mask, val, &e2))
        st = perr_at(P, line, col, "%s", e2.msg);
    if (!st && is_id(P, "else")) {
        if (b.count != 1) {
            st = PERR(P, "'else' after a multi-bit condition is not supported");
        } else {
            next(P);
            from = qnn_circuit_ngates(P->c);
            st = body_or_stmt(P);
            if (!st && qnn_circuit_condition(P->c, from, mask, val ^ mask, &e2))
                st = perr_at(P, line, col, "%s", e2.msg);
        }
    }
    P->depth--;
    return st;
}

/* gate / opaque definition */
static int def_stmt(parser *P, int opaque) {
    int line = P->t.line;
    next(P);
    if (P->t.type != T_ID) return unexpected(P, "gate name");
    gdef *old = find_def(P, P->t.s, P->t.len);
    if (old && !old->lib && !P->lib)
        return PERR(P, "gate " TOKF " already defined on line %d", TOKA(P), old->line);
    if (P->ndefs == P->capdefs) {
        int cap = P->capdefs ? 2 * P->capdefs : 16;
        gdef *nd = (gdef *)realloc(P->defs, sizeof(gdef) * (size_t)cap);
        if (!nd) return oom(P);
        P->defs = nd;
        P->capdefs = cap;
    }
    gdef *d = &P->defs[P->ndefs];
    memset(d, 0, sizeof *d);
    d->line = line;
    d->opaque = opaque;
    d->lib = P->lib;
    d->name = tokdup(P);
    if (!d->name) return oom(P);
    P->ndefs++; /* owned by the table from here (freed at the end) */
    next(P);
    int st = QNN_OK;
    char **names = NULL;
    int n = 0, cap = 0;
    for (int pass = 0; pass < 2 && !st; pass++) {
        /* pass 0: (params), pass 1: qubit args */
        if (pass == 0 && !is_sym(P, '(')) continue;
        if (pass == 0) next(P);
        n = 0, cap = 0, names = NULL;
        while (!st) {
            if (pass == 0 && is_sym(P, ')') && n == 0) break;
            if (P->t.type != T_ID) {
                st = unexpected(P, pass ? "qubit argument name" : "parameter name");
                break;
            }
            if (n >= (pass ? MAX_ARGS : MAX_PARAMS)) {
                st = PERR(P, "too many %s", pass ? "qubit arguments" : "parameters");
                break;
            }
            for (int i = 0; i < n; i++)
                if (strlen(names[i]) == P->t.len && memcmp(names[i], P->t.s, P->t.len) == 0)
                    st = PERR(P, "duplicate name " TOKF, TOKA(P));
            if (st) break;
            if (n == cap) {
                cap = cap ? 2 * cap : 4;
                char **nn = (char **)realloc(names, sizeof(char *) * (size_t)cap);
                if (!nn) {
                    st = oom(P);
                    break;
                }
                names = nn;
            }
            names[n] = tokdup(P);
            if (!names[n]) {
                st = oom(P);
                break;
            }
            n++;
            next(P);
            if (!is_sym(P, ',')) break;
            next(P);
        }
        if (pass == 0) {
            d->pnames = names;
            d->np = n;
            if (!st) st = expect_sym(P, ')');
        } else {
            d->qnames = names;
            d->nq = n;
        }
    }
    if (st) return st;
    if (d->nq == 0) return unexpected(P, "qubit argument name");
    if (opaque) {
        st = expect_sym(P, ';');
        if (st) return st;
        return hash_insert(P, P->ndefs - 1);
    }
    st = expect_sym(P, '{');
    if (st) return st;
    P->cur = d;
    while (!st && !is_sym(P, '}')) {
        /* body statement: name [(exprs)] ids ; | barrier ids ; */
        if (P->t.type != T_ID) {
            st = P->t.type == T_EOF ? unexpected(P, "'}'") : unexpected(P, "gate call in definition");
            break;
        }
        if (is_id(P, "measure") || is_id(P, "reset") || is_id(P, "if") || is_id(P, "gate") ||
            is_id(P, "opaque") || is_id(P, "qreg") || is_id(P, "creg")) {
            st = PERR(P, TOKF " is not allowed inside a gate definition", TOKA(P));
            break;
        }
        if (is_id(P, "gphase") || is_id(P, "ctrl") || is_id(P, "negctrl") || is_id(P, "inv") ||
            is_id(P, "pow") || is_id(P, "for") || is_id(P, "while") || is_id(P, "let")) {
            st = PERR(P, "unsupported OpenQASM 3 construct " TOKF, TOKA(P));
            break;
        }
        if (d->nbody == d->cap) {
            int c2 = d->cap ? 2 * d->cap : 8;
            gcall *nb = (gcall *)realloc(d->body, sizeof(gcall) * (size_t)c2);
            if (!nb) {
                st = oom(P);
                break;
            }
            d->body = nb;
            d->cap = c2;
        }
        gcall *g = &d->body[d->nbody];
        memset(g, 0, sizeof *g);
        g->line = P->t.line;
        g->col = P->t.col;
        g->barrier = is_id(P, "barrier");
        g->name = tokdup(P);
        if (!g->name) {
            st = oom(P);
            break;
        }
        d->nbody++;
        next(P);
        if (!g->barrier && is_sym(P, '(')) {
            next(P);
            while (!st && !is_sym(P, ')')) {
                if (g->np >= MAX_PARAMS) {
                    st = PERR(P, "more than %d parameters", MAX_PARAMS);
                    break;
                }
                xcode *np = (xcode *)realloc(g->params, sizeof(xcode) * (size_t)(g->np + 1));
                if (!np) {
                    st = oom(P);
                    break;
                }
                g->params = np;
                st = parse_expr(P, &g->params[g->np]);
                g->np++;
                if (st || !is_sym(P, ',')) break;
                next(P);
            }
            if (!st) st = expect_sym(P, ')');
        }
        if (!st && is_sym(P, '@')) st = PERR(P, "unsupported OpenQASM 3 construct: gate modifiers (@)");
        while (!st) {
            if (P->t.type != T_ID) {
                st = unexpected(P, "qubit argument of the definition");
                break;
            }
            int k = -1;
            for (int i = 0; i < d->nq; i++)
                if (is_id(P, d->qnames[i])) k = i;
            if (k < 0) {
                st = PERR(P, TOKF " is not a qubit argument of gate '%s'", TOKA(P), d->name);
                break;
            }
            if (g->nargs >= MAX_ARGS) {
                st = PERR(P, "more than %d arguments", MAX_ARGS);
                break;
            }
            int *na = (int *)realloc(g->args, sizeof(int) * (size_t)(g->nargs + 1));
            if (!na) {
                st = oom(P);
                break;
            }
            g->args = na;
            g->args[g->nargs++] = k;
            next(P);
            if (is_sym(P, '['))
                st = PERR(P, "indexing is not allowed on gate arguments");
            if (st || !is_sym(P, ',')) break;
            next(P);
        }
        if (!st) st = expect_sym(P, ';');
    }
    P->cur = NULL;
    if (st) return st;
    next(P); /* '}' */
    return hash_insert(P, P->ndefs - 1);
}

static const char *const UNSUPPORTED3[] = {
    "for", "while", "def", "defcal", "defcalgrammar", "cal", "let", "const", "int", "uint",
    "float", "angle", "bool", "complex", "duration", "stretch", "delay", "box", "extern",
    "return", "break", "continue", "switch", "case", "default", "output", "array", "gphase",
    "ctrl", "negctrl", "inv", "pow", "durationof", "sizeof", "end", "pragma", NULL};

static int statement(parser *P, int in_block) {
    int line = P->t.line, col = P->t.col;
    int first = P->nstmt++ == 0;
    if (P->t.type == T_BAD) return bad_token(P);
    if (is_sym(P, ';')) {
        next(P);
        return QNN_OK;
    }
    if (is_sym(P, '#') || is_sym(P, '@'))
        return PERR(P, "unsupported OpenQASM 3 construct " TOKF " (pragmas and annotations)",
                    TOKA(P));
    if (P->t.type != T_ID) return unexpected(P, "statement");
    if (is_id(P, "OPENQASM")) {
        if (!first || in_block) return PERR(P, "OPENQASM must be the first statement");
        next(P);
        if (P->t.type != T_NUM) return unexpected(P, "version number");
        if (P->t.num >= 2.0 && P->t.num < 3.0) P->version = 2;
        else if (P->t.num >= 3.0 && P->t.num < 4.0) P->version = 3;
        else return PERR(P, "OpenQASM version " TOKF " is not supported (2.x or 3.x)", TOKA(P));
        next(P);
        return expect_sym(P, ';');
    }
    if (is_id(P, "include")) {
        if (in_block) return PERR(P, "include inside a block");
        next(P);
        if (P->t.type != T_STR) return unexpected(P, "file name in quotes");
        if (!((P->t.len == 12 && strncmp(P->t.s, "\"qelib1.inc\"", 12) == 0) ||
              (P->t.len == 14 && strncmp(P->t.s, "\"stdgates.inc\"", 14) == 0)))
            return PERR(P, "only include \"qelib1.inc\" or \"stdgates.inc\" is supported, got " TOKF,
                        TOKA(P));
        next(P);
        return expect_sym(P, ';');
    }
    int decl_q = is_id(P, "qreg") || is_id(P, "qubit"), decl_c = is_id(P, "creg") || is_id(P, "bit");
    if (decl_q || decl_c) {
        if (in_block) return PERR(P, "declaration inside a block");
        int v3 = is_id(P, "qubit") || is_id(P, "bit");
        next(P);
        char name[72];
        int size = 1, st = QNN_OK;
        if (v3 && is_sym(P, '[')) {
            next(P);
            st = get_index(P, &size, "register size");
            if (!st) st = expect_sym(P, ']');
        }
        int nl = P->t.line, nc = P->t.col;
        if (!st) st = get_name(P, name, sizeof name, "register name");
        if (!st && !v3) {
            st = expect_sym(P, '[');
            if (!st) st = get_index(P, &size, "register size");
            if (!st) st = expect_sym(P, ']');
        }
        if (!st && is_sym(P, '=')) return PERR(P, "unsupported OpenQASM 3 construct: declaration with initialiser");
        if (!st) st = expect_sym(P, ';');
        if (st) return st;
        if (size < 1) return perr_at(P, nl, nc, "register size must be >= 1");
        return decl_q ? add_qreg(P, name, size, nl, nc) : add_creg(P, name, size, nl, nc);
    }
    if (is_id(P, "input")) {
        if (in_block) return PERR(P, "declaration inside a block");
        next(P);
        if (!(is_id(P, "float") || is_id(P, "angle")))
            return PERR(P, "unsupported input type " TOKF " (only float and angle)", TOKA(P));
        next(P);
        int st = QNN_OK, bits;
        if (is_sym(P, '[')) {
            next(P);
            st = get_index(P, &bits, "width");
            if (!st) st = expect_sym(P, ']');
        }
        char name[256];
        int nl = P->t.line, nc = P->t.col;
        if (!st) st = get_name(P, name, sizeof name, "parameter name");
        if (!st) st = expect_sym(P, ';');
        if (st) return st;
        if (qnn_circuit_param_index(P->c, name) >= 0)
            return perr_at(P, nl, nc, "input '%s' declared twice", name);
        qnn_error e2;
        qnn_error_clear(&e2);
        if (qnn_circuit_param(P->c, name, &e2) < 0) return perr_at(P, nl, nc, "%s", e2.msg);
        return QNN_OK;
    }
    if (is_id(P, "gate") || is_id(P, "opaque")) {
        if (in_block) return PERR(P, "gate definition inside a block");
        return def_stmt(P, is_id(P, "opaque"));
    }
    if (is_id(P, "measure")) {
        next(P);
        qarg a, b;
        int st = get_arg(P, 1, &a);
        if (st) return st;
        if (is_sym(P, ';')) return perr_at(P, line, col, "unsupported: measure without a target bit (use c[i] = measure q[j];)");
        if (!is_op2(P, "->")) return unexpected(P, "'->'");
        next(P);
        st = get_arg(P, 0, &b);
        if (!st) st = expect_sym(P, ';');
        return st ? st : measure_pair(P, &a, &b, line, col);
    }
    if (is_id(P, "reset")) {
        next(P);
        qarg a;
        int st = get_arg(P, 1, &a);
        if (!st) st = expect_sym(P, ';');
        if (st) return st;
        qnn_error e2;
        qnn_error_clear(&e2);
        for (int i = 0; i < a.count; i++)
            if (qnn_circuit_reset(P->c, a.first + i, &e2)) return perr_at(P, line, col, "%s", e2.msg);
        return check_ops(P, line, col);
    }
    if (is_id(P, "barrier")) {
        next(P);
        int q[QNN_CIRCUIT_MAXQ], nq = 0;
        unsigned long long seen = 0;
        if (is_sym(P, ';')) { /* all qubits (OpenQASM 3) */
            for (int i = 0; i < P->nqubits; i++) q[nq++] = i;
        } else {
            for (;;) {
                qarg a;
                int st = get_arg(P, 1, &a);
                if (st) return st;
                for (int i = 0; i < a.count; i++)
                    if (!(seen >> (a.first + i) & 1)) {
                        seen |= 1ULL << (a.first + i);
                        q[nq++] = a.first + i;
                    }
                if (!is_sym(P, ',')) break;
                next(P);
            }
        }
        int st = expect_sym(P, ';');
        if (st) return st;
        if (nq == 0) return QNN_OK;
        qnn_error e2;
        qnn_error_clear(&e2);
        if (qnn_circuit_barrier(P->c, q, nq, &e2)) return perr_at(P, line, col, "%s", e2.msg);
        return check_ops(P, line, col);
    }
    if (is_id(P, "if")) return if_stmt(P);
    if (is_id(P, "else")) return PERR(P, "'else' without 'if'");
    for (int i = 0; UNSUPPORTED3[i]; i++)
        if (is_id(P, UNSUPPORTED3[i]))
            return PERR(P, "unsupported OpenQASM 3 construct " TOKF, TOKA(P));
    /* c[i] = measure q[j];  c = measure q; */
    {
        char name[72];
        if (P->t.len < sizeof name) {
            memcpy(name, P->t.s, P->t.len);
            name[P->t.len] = '\0';
            /* a bit register followed by '=' (or [i] '='); otherwise a gate of that name */
            const char *sp = P->p, *sls = P->line_start;
            int sline = P->line;
            tok st0 = P->t;
            int assign = 0;
            if (qnn_circuit_creg_index(P->c, name) >= 0) {
                next(P);
                if (is_sym(P, '[')) {
                    next(P);
                    next(P);
                    if (is_sym(P, ']')) next(P);
                }
                assign = is_sym(P, '=');
                P->p = sp, P->line_start = sls, P->line = sline, P->t = st0;
            }
            if (assign) {
                qarg b, a;
                int st = get_arg(P, 0, &b);
                if (st) return st;
                if (!is_sym(P, '=')) return PERR(P, "unsupported classical statement at " TOKF " (only bit = measure qubit;)", TOKA(P));
                next(P);
                if (!is_id(P, "measure"))
                    return PERR(P, "unsupported classical expression " TOKF " (only measure)", TOKA(P));
                next(P);
                st = get_arg(P, 1, &a);
                if (!st) st = expect_sym(P, ';');
                return st ? st : measure_pair(P, &a, &b, line, col);
            }
        }
    }
    return gate_stmt(P);
}

static void free_parser(parser *P) {
    for (int i = 0; i < P->ndefs; i++) free_def(&P->defs[i]);
    free(P->defs);
    free(P->hash);
    free(P);
}

int qnn_circuit_from_qasm(qnn_circuit **out, const char *text, qnn_error *err) {
    *out = NULL;
    if (!text) return qnn_error_set(err, QNN_EINVAL, "from_qasm: no text");
    parser *P = (parser *)calloc(1, sizeof *P);
    if (!P) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    P->err = err;
    int st = qnn_circuit_new(&P->c, QNN_CIRCUIT_MAXQ, err);
    if (st) {
        free(P);
        return st;
    }
    /* the built-in library */
    P->lib = 1;
    P->text = P->p = P->line_start = LIBRARY;
    P->line = 1;
    next(P);
    while (!st && P->t.type != T_EOF) st = def_stmt(P, 0);
    P->lib = 0;
    P->nstmt = 0;
    /* the text */
    P->text = P->p = P->line_start = text;
    P->line = 1;
    if (!st) next(P);
    while (!st && P->t.type != T_EOF) {
        P->depth = 0;
        st = statement(P, 0);
    }
    if (!st && P->nqubits == 0)
        st = qnn_error_set(err, QNN_EFORMAT, "no qubits declared (qreg q[n]; or qubit[n] q;)");
    if (st) {
        qnn_circuit_free(P->c);
        free_parser(P);
        return st;
    }
    P->c->n = P->nqubits;
    *out = P->c;
    free_parser(P);
    return QNN_OK;
}
