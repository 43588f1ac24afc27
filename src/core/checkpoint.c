/* Checkpoint files for nets and optimizers; see docs/checkpoint-format.md. All integers and
 * doubles are little-endian; doubles are IEEE-754 binary64. */
#include "qnn/checkpoint.h"
#include "qnn/fileio.h"
#include "qnn/qlayer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_BYTES 24 /* magic 8, version 4, flags 4, total length 8 */
#define MAX_LAYERS 100000u

/* ---------------- growable write buffer ---------------- */
typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void wb_put(wbuf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n) cap *= 2;
        unsigned char *np = (unsigned char *)realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void wb_u16(wbuf *b, uint16_t v) {
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    wb_put(b, c, 2);
}
static void wb_u32(wbuf *b, uint32_t v) {
    unsigned char c[4];
    for (int i = 0; i < 4; i++) c[i] = (unsigned char)(v >> (8 * i));
    wb_put(b, c, 4);
}
static void wb_u64(wbuf *b, uint64_t v) {
    unsigned char c[8];
    for (int i = 0; i < 8; i++) c[i] = (unsigned char)(v >> (8 * i));
    wb_put(b, c, 8);
}
static void wb_f64(wbuf *b, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    wb_u64(b, v);
}

static void wb_header_v(wbuf *b, const char *magic, uint32_t version) {
    char m[8] = {0};
    memcpy(m, magic, strlen(magic) < 7 ? strlen(magic) : 7);
    wb_put(b, m, 8);
    wb_u32(b, version);
    wb_u32(b, 0);
    wb_u64(b, 0); /* total length, patched in finish */
}

static void wb_header(wbuf *b, const char *magic) { wb_header_v(b, magic, QNN_CKPT_VERSION); }

/* patch the length, append CRC32, write atomically (qnn/fileio.h) */
static int wb_finish(wbuf *b, const char *path, qnn_error *err) {
    if (b->oom) return qnn_error_set(err, QNN_ENOMEM, "out of memory while serialising");
    uint64_t total = (uint64_t)b->n + 4;
    for (int i = 0; i < 8; i++) b->p[16 + i] = (unsigned char)(total >> (8 * i));
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t off = 0;
    while (off < b->n) {
        size_t chunk = b->n - off > 0x40000000u ? 0x40000000u : b->n - off;
        crc = crc32(crc, b->p + off, (uInt)chunk);
        off += chunk;
    }
    wb_u32(b, (uint32_t)crc);
    if (b->oom) return qnn_error_set(err, QNN_ENOMEM, "out of memory while serialising");
    return qnn_write_atomic(path, b->p, b->n, err);
}

/* ---------------- reading ---------------- */
typedef struct rbuf {
    const unsigned char *p;
    size_t n, off;
    int bad;
} rbuf;

static int rb_need(rbuf *r, size_t n) {
    if (r->bad || r->n - r->off < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}
static uint16_t rb_u16(rbuf *r) {
    if (!rb_need(r, 2)) return 0;
    uint16_t v = (uint16_t)(r->p[r->off] | (r->p[r->off + 1] << 8));
    r->off += 2;
    return v;
}
static uint32_t rb_u32(rbuf *r) {
    if (!rb_need(r, 4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[r->off + i] << (8 * i);
    r->off += 4;
    return v;
}
static uint64_t rb_u64(rbuf *r) {
    if (!rb_need(r, 8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += 8;
    return v;
}
static double rb_f64(rbuf *r) {
    uint64_t v = rb_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* Reads the whole file, checks magic/version/length/CRC. On success *data (malloc'ed) holds
 * the payload bytes [0, len - 4) and r is positioned after the header. */
static int read_checked(const char *path, const char *magic, const char *what, unsigned char **data,
                        rbuf *r, uint32_t maxver, uint32_t *ver, qnn_error *err) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return qnn_error_set(err, QNN_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return qnn_error_set(err, QNN_EIO, "%s is not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    if ((uint64_t)st.st_size > (uint64_t)qnn_max_bytes()) {
        fclose(f);
        return qnn_error_set(err, QNN_ENOMEM, "%s is too large (%lld bytes)", path,
                             (long long)st.st_size);
    }
    unsigned char *buf = (unsigned char *)malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) {
        free(buf);
        return qnn_error_set(err, QNN_EIO, "cannot read %s", path);
    }
    char m[8] = {0};
    memcpy(m, magic, strlen(magic) < 7 ? strlen(magic) : 7);
    if (len < 8 || memcmp(buf, m, 8) != 0) {
        int prefix = len < 8 && len > 0 && memcmp(buf, m, len) == 0;
        free(buf);
        if (prefix)
            return qnn_error_set(err, QNN_EFORMAT, "%s: truncated %s checkpoint (%zu bytes)", path,
                                 what, len);
        return qnn_error_set(err, QNN_EFORMAT, "%s: not a qnn %s checkpoint (bad magic)", path,
                             what);
    }
    if (len < HEADER_BYTES + 4) {
        free(buf);
        return qnn_error_set(err, QNN_EFORMAT, "%s: truncated %s checkpoint (%zu bytes)", path,
                             what, len);
    }
    rbuf rr = {buf, len, 8, 0};
    uint32_t version = rb_u32(&rr);
    (void)rb_u32(&rr); /* flags */
    uint64_t total = rb_u64(&rr);
    if (version < 1 || version > maxver) {
        free(buf);
        if (maxver > 1)
            return qnn_error_set(err, QNN_EFORMAT,
                                 "%s: unsupported %s checkpoint version %u (this build reads "
                                 "versions 1 to %u)", path, what, version, maxver);
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: unsupported %s checkpoint version %u (this build reads version %u)",
                             path, what, version, QNN_CKPT_VERSION);
    }
    if (ver) *ver = version;
    if (total > len) {
        free(buf);
        return qnn_error_set(err, QNN_EFORMAT, "%s: truncated %s checkpoint (%zu of %llu bytes)",
                             path, what, len, (unsigned long long)total);
    }
    if (total < len) {
        free(buf);
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: %s checkpoint has %zu bytes but its header says %llu (trailing "
                             "data or corrupted header)",
                             path, what, len, (unsigned long long)total);
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t off = 0;
    while (off < len - 4) {
        size_t chunk = len - 4 - off > 0x40000000u ? 0x40000000u : len - 4 - off;
        crc = crc32(crc, buf + off, (uInt)chunk);
        off += chunk;
    }
    rbuf tail = {buf, len, len - 4, 0};
    uint32_t stored = rb_u32(&tail);
    if ((uint32_t)crc != stored) {
        free(buf);
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: %s checkpoint is corrupted (CRC32 mismatch: stored %08x, "
                             "computed %08x)",
                             path, what, stored, (unsigned)(uint32_t)crc);
    }
    r->p = buf;
    r->n = len - 4;
    r->off = HEADER_BYTES;
    r->bad = 0;
    *data = buf;
    return QNN_OK;
}

/* ---------------- nets ---------------- */
int qnn_ckpt_save_net(const qnn_net *net, const char *path, qnn_error *err) {
    if (!net->built) return qnn_error_set(err, QNN_ESTATE, "net is not built");
    /* layers that need more than fparam to be rebuilt (quantum layers: their circuit) store a
     * text description; files with one are version 2 */
    char **cfg = (char **)calloc(net->nlayers ? net->nlayers : 1, sizeof(char *));
    if (!cfg) return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    int any = 0;
    for (size_t k = 0; k < net->nlayers; k++)
        if (qnn_qlayer_is(&net->layers[k])) {
            int st = qnn_qlayer_describe(&net->layers[k], &cfg[k], err);
            if (st) {
                for (size_t j = 0; j < k; j++) free(cfg[j]);
                free(cfg);
                return st;
            }
            any = 1;
        }
    wbuf b = {NULL, 0, 0, 0};
    wb_header_v(&b, QNN_CKPT_NET_MAGIC, any ? QNN_CKPT_NET_VERSION_MAX : QNN_CKPT_VERSION);
    wb_u64(&b, net->nlayers);
    for (size_t k = 0; k < net->nlayers; k++) {
        const qnn_layer *l = &net->layers[k];
        size_t nl = strlen(l->vt->name);
        if (nl > 63) nl = 63;
        wb_u16(&b, (uint16_t)nl);
        wb_put(&b, l->vt->name, nl);
        wb_u32(&b, (uint32_t)l->kind);
        wb_u64(&b, l->in);
        wb_u64(&b, l->out);
        wb_u64(&b, l->nparams);
        wb_u32(&b, (uint32_t)l->has_bias);
        for (int q = 0; q < 4; q++) wb_f64(&b, l->fparam[q]);
    }
    wb_u64(&b, net->nparams);
    for (size_t k = 0; k < net->nparams; k++) wb_f64(&b, net->params[k]);
    for (int q = 0; q < 4; q++) wb_u64(&b, net->rng.s[q]);
    if (any)
        for (size_t k = 0; k < net->nlayers; k++) {
            size_t len = cfg[k] ? strlen(cfg[k]) : 0;
            wb_u64(&b, len);
            if (len) wb_put(&b, cfg[k], len);
        }
    for (size_t k = 0; k < net->nlayers; k++) free(cfg[k]);
    free(cfg);
    int rc = wb_finish(&b, path, err);
    free(b.p);
    return rc;
}

void qnn_ckpt_net_free(qnn_ckpt_net *c) {
    if (!c) return;
    if (c->layers)
        for (size_t k = 0; k < c->nlayers; k++) free(c->layers[k].config);
    free(c->layers);
    free(c->params);
    memset(c, 0, sizeof *c);
}

int qnn_ckpt_read_net(const char *path, qnn_ckpt_net *out, qnn_error *err) {
    memset(out, 0, sizeof *out);
    unsigned char *data;
    rbuf r;
    uint32_t version = 1;
    int rc = read_checked(path, QNN_CKPT_NET_MAGIC, "net", &data, &r, QNN_CKPT_NET_VERSION_MAX,
                          &version, err);
    if (rc) return rc;
    qnn_ckpt_net c;
    memset(&c, 0, sizeof c);
    uint64_t nl = rb_u64(&r);
    if (r.bad || nl == 0 || nl > MAX_LAYERS) {
        free(data);
        return qnn_error_set(err, QNN_EFORMAT, "%s: bad layer count %llu", path,
                             (unsigned long long)nl);
    }
    c.layers = (qnn_ckpt_layer *)calloc((size_t)nl, sizeof *c.layers);
    if (!c.layers) {
        free(data);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    c.nlayers = (size_t)nl;
    uint64_t sum = 0;
    for (size_t k = 0; k < c.nlayers && !r.bad; k++) {
        qnn_ckpt_layer *l = &c.layers[k];
        uint16_t len = rb_u16(&r);
        if (len == 0 || len > 63 || !rb_need(&r, len)) {
            r.bad = 1;
            break;
        }
        memcpy(l->name, r.p + r.off, len);
        l->name[len] = '\0';
        r.off += len;
        l->kind = (int)rb_u32(&r);
        uint64_t in = rb_u64(&r), o = rb_u64(&r), np = rb_u64(&r);
        l->has_bias = (int)rb_u32(&r);
        for (int q = 0; q < 4; q++) l->fparam[q] = rb_f64(&r);
        if (in == 0 || o == 0 || in > 0x7fffffff || o > 0x7fffffff || np > ((uint64_t)1 << 40)) {
            r.bad = 1;
            break;
        }
        l->in = (size_t)in, l->out = (size_t)o, l->nparams = (size_t)np;
        sum += np;
    }
    uint64_t total = rb_u64(&r);
    if (r.bad || total != sum || total > (r.n - r.off) / 8) {
        free(data);
        qnn_ckpt_net_free(&c);
        return qnn_error_set(err, QNN_EFORMAT, "%s: malformed layer table", path);
    }
    c.nparams = (size_t)total;
    c.params = (double *)malloc((c.nparams ? c.nparams : 1) * sizeof(double));
    if (!c.params) {
        free(data);
        qnn_ckpt_net_free(&c);
        return qnn_error_set(err, QNN_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < c.nparams; k++) c.params[k] = rb_f64(&r);
    for (int q = 0; q < 4; q++) c.rng[q] = rb_u64(&r);
    if (version >= 2)
        for (size_t k = 0; k < c.nlayers && !r.bad; k++) {
            uint64_t len = rb_u64(&r);
            if (len == 0) continue;
            if (len > r.n - r.off || !rb_need(&r, (size_t)len)) {
                r.bad = 1;
                break;
            }
            char *t = (char *)malloc((size_t)len + 1);
            if (!t) {
                free(data);
                qnn_ckpt_net_free(&c);
                return qnn_error_set(err, QNN_ENOMEM, "out of memory");
            }
            memcpy(t, r.p + r.off, (size_t)len);
            t[len] = 0;
            r.off += (size_t)len;
            c.layers[k].config = t;
        }
    if (r.bad || r.off != r.n) {
        free(data);
        qnn_ckpt_net_free(&c);
        return qnn_error_set(err, QNN_EFORMAT, "%s: malformed parameter section", path);
    }
    free(data);
    *out = c;
    return QNN_OK;
}

int qnn_ckpt_load_net(const char *path, qnn_net **out, qnn_error *err) {
    *out = NULL;
    qnn_ckpt_net c;
    int rc = qnn_ckpt_read_net(path, &c, err);
    if (rc) return rc;
    qnn_net *n;
    rc = qnn_net_new(&n, err);
    for (size_t k = 0; k < c.nlayers && !rc; k++) {
        const qnn_ckpt_layer *l = &c.layers[k];
        int kind = -1;
        const qnn_layer_vtable *vt = qnn_layer_builtin(l->name, &kind);
        int r2;
        if (!vt && l->config && strcmp(l->name, "quantum") == 0) {
            r2 = qnn_net_add_qlayer_text(n, l->config, err);
            if (r2 < 0) rc = -r2;
            else if (n->layers[k].nparams != l->nparams || n->layers[k].out != l->out)
                rc = qnn_error_set(err, QNN_EFORMAT, "%s: layer %zu does not match its shape", path, k + 1);
            if (rc) break;
            continue;
        }
        if (!vt) {
            rc = qnn_error_set(err, QNN_ENOTFOUND, "%s: unknown layer type '%s'", path, l->name);
            break;
        }
        if (kind == QNN_LAYER_DENSE) r2 = qnn_net_add_dense(n, l->in, l->out, l->has_bias, NULL, 0, 0, err);
        else r2 = qnn_net_add_activation(n, kind, l->in, err);
        if (r2 < 0) rc = -r2;
        else if (kind == QNN_LAYER_DENSE && l->fparam[0] == 1.0)
            rc = qnn_layer_dense_set_single(&n->layers[k], 1, err);
        if (rc) break;
        if (n->layers[k].nparams != l->nparams || n->layers[k].out != l->out)
            rc = qnn_error_set(err, QNN_EFORMAT, "%s: layer %zu does not match its shape", path, k + 1);
    }
    if (!rc) rc = qnn_net_build(n, 0, err);
    if (!rc && n->nparams != c.nparams)
        rc = qnn_error_set(err, QNN_EFORMAT, "%s: parameter count mismatch", path);
    if (rc) {
        if (n) qnn_net_free(n);
        qnn_ckpt_net_free(&c);
        return rc;
    }
    memcpy(n->params, c.params, c.nparams * sizeof(double));
    memcpy(n->rng.s, c.rng, sizeof c.rng);
    qnn_ckpt_net_free(&c);
    *out = n;
    return QNN_OK;
}

/* ---------------- optimizers ---------------- */
int qnn_ckpt_save_optim(const qnn_optim *o, const char *path, qnn_error *err) {
    wbuf b = {NULL, 0, 0, 0};
    wb_header(&b, QNN_CKPT_OPT_MAGIC);
    wb_u32(&b, (uint32_t)o->kind);
    wb_f64(&b, o->lr);
    wb_f64(&b, o->momentum);
    wb_f64(&b, o->dampening);
    wb_u32(&b, (uint32_t)o->nesterov);
    wb_f64(&b, o->weight_decay);
    wb_f64(&b, o->beta1);
    wb_f64(&b, o->beta2);
    wb_f64(&b, o->eps);
    wb_f64(&b, o->alpha);
    wb_u64(&b, (uint64_t)o->t);
    int has = o->n > 0 && o->m && o->v;
    wb_u64(&b, has ? o->n : 0);
    for (size_t k = 0; has && k < o->n; k++) wb_f64(&b, o->m[k]);
    for (size_t k = 0; has && k < o->n; k++) wb_f64(&b, o->v[k]);
    int rc = wb_finish(&b, path, err);
    free(b.p);
    return rc;
}

int qnn_ckpt_load_optim(const char *path, qnn_optim *out, qnn_error *err) {
    unsigned char *data;
    rbuf r;
    int rc = read_checked(path, QNN_CKPT_OPT_MAGIC, "optimizer", &data, &r, QNN_CKPT_VERSION, NULL, err);
    if (rc) return rc;
    qnn_optim o;
    memset(&o, 0, sizeof o);
    o.kind = (int)rb_u32(&r);
    o.lr = rb_f64(&r);
    o.momentum = rb_f64(&r);
    o.dampening = rb_f64(&r);
    o.nesterov = (int)rb_u32(&r);
    o.weight_decay = rb_f64(&r);
    o.beta1 = rb_f64(&r);
    o.beta2 = rb_f64(&r);
    o.eps = rb_f64(&r);
    o.alpha = rb_f64(&r);
    o.t = (int64_t)rb_u64(&r);
    uint64_t n = rb_u64(&r);
    if (r.bad || o.t < 0 || n > (r.n - r.off) / 16 || (r.n - r.off) != n * 16) {
        free(data);
        return qnn_error_set(err, QNN_EFORMAT, "%s: malformed optimizer state", path);
    }
    qnn_error why;
    qnn_error_clear(&why);
    rc = qnn_optim_check(&o, &why);
    if (rc) {
        free(data);
        return qnn_error_set(err, QNN_EFORMAT, "%s: invalid optimizer settings: %s", path, why.msg);
    }
    if (n > 0) {
        o.m = (double *)qnn_aligned_alloc(64, (size_t)n * sizeof(double));
        o.v = (double *)qnn_aligned_alloc(64, (size_t)n * sizeof(double));
        if (!o.m || !o.v) {
            qnn_optim_release(&o);
            free(data);
            return qnn_error_set(err, QNN_ENOMEM, "out of memory");
        }
        o.n = (size_t)n;
        for (size_t k = 0; k < o.n; k++) o.m[k] = rb_f64(&r);
        for (size_t k = 0; k < o.n; k++) o.v[k] = rb_f64(&r);
        /* moments must be finite; second moments (Adam, RMSprop) are averages of squares */
        for (size_t k = 0; k < o.n; k++) {
            int bad_v = !isfinite(o.v[k]) || (o.kind != QNN_OPTIM_SGD && o.v[k] < 0);
            if (!isfinite(o.m[k]) || bad_v) {
                size_t kk = k;
                int is_v = bad_v;
                double val = is_v ? o.v[k] : o.m[k];
                qnn_optim_release(&o);
                free(data);
                return qnn_error_set(err, QNN_EFORMAT,
                                     "%s: invalid optimizer state: %s[%zu] = %g (must be %s)", path,
                                     is_v ? "second moment" : "first moment", kk + 1, val,
                                     is_v ? "finite and >= 0" : "finite");
            }
        }
    }
    free(data);
    *out = o;
    return QNN_OK;
}
