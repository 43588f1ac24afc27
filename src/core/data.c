/* Data set readers (CSV, IDX, JSON number arrays; plain or gzip through zlib) and the helpers
 * behind qnn.data's Dataset methods. See include/qnn/data.h. */
#include "qnn/data.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---------------- numbers ---------------- */

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

size_t qnn_data_parse_number(const char *s, const char *end, double *out) {
    const char *p = s;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = (*p == '-');
        p++;
    }
    uint64_t mant = 0;
    int ndig = 0, inexact = 0, any = 0;
    long dexp = 0;
    while (p < end && is_digit(*p)) {
        any = 1;
        if (ndig < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant) ndig++;
        } else {
            dexp++;
            if (*p != '0') inexact = 1;
        }
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p)) {
            any = 1;
            if (ndig < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) ndig++;
                dexp--;
            } else if (*p != '0') {
                inexact = 1;
            }
            p++;
        }
    }
    if (!any) return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        int eneg = 0;
        if (q < end && (*q == '+' || *q == '-')) {
            eneg = (*q == '-');
            q++;
        }
        if (q < end && is_digit(*q)) {
            long e = 0;
            while (q < end && is_digit(*q)) {
                if (e < 100000) e = e * 10 + (*q - '0');
                q++;
            }
            dexp += eneg ? -e : e;
            p = q;
        }
    }
    size_t used = (size_t)(p - s);
    if (!inexact && mant <= (1ULL << 53) && dexp >= -22 && dexp <= 22) {
        /* Clinger's fast path: both operands exact, one correctly rounded operation */
        double v = (double)mant;
        v = dexp < 0 ? v / POW10[-dexp] : v * POW10[dexp];
        *out = neg ? -v : v;
        return used;
    }
    char small[128];
    char *buf = small;
    if (used >= sizeof small) {
        buf = (char *)malloc(used + 1);
        if (!buf) return 0;
    }
    memcpy(buf, s, used);
    buf[used] = '\0';
    *out = strtod(buf, NULL);
    if (buf != small) free(buf);
    return used;
}

/* ---------------- whole-file reading through zlib ---------------- */

static int open_gz(const char *path, gzFile *out, qnn_error *err) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        return qnn_error_set(err, QNN_EIO, "%s: cannot open: %s", path,
                             errno ? strerror(errno) : "out of memory");
    }
    gzbuffer(f, 1 << 17);
    *out = f;
    return QNN_OK;
}

/* gzread wrapper that reads up to n bytes (looping over the int limit); returns bytes read or
 * -1 on a stream error (message in err). */
static long long gz_read_full(gzFile f, void *buf, size_t n, const char *path, size_t offset,
                              qnn_error *err) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(f, (char *)buf + got, (unsigned)want);
        if (r < 0) {
            int zerr = 0;
            const char *m = gzerror(f, &zerr);
            qnn_error_set(err, QNN_EFORMAT, "%s: byte offset %zu: corrupt or truncated gzip data (%s)",
                          path, offset + got, m ? m : "zlib error");
            return -1;
        }
        if (r == 0) {
            /* a truncated gzip member reports its error only through gzerror */
            int zerr = 0;
            const char *m = gzerror(f, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                qnn_error_set(err, QNN_EFORMAT,
                              "%s: byte offset %zu: corrupt or truncated gzip data (%s)", path,
                              offset + got, m ? m : "zlib error");
                return -1;
            }
            break;
        }
        got += (size_t)r;
    }
    return (long long)got;
}

/* Reads a whole (possibly gzip-compressed) file into a NUL-terminated malloc'ed buffer. */
static int read_all(const char *path, char **text, size_t *len, qnn_error *err) {
    gzFile f;
    int rc = open_gz(path, &f, err);
    if (rc) return rc;
    size_t cap = 1 << 16, n = 0;
    char *buf = (char *)malloc(cap + 1);
    if (!buf) {
        gzclose(f);
        return qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)1 << 40)) {
                free(buf);
                gzclose(f);
                return qnn_error_set(err, QNN_ENOMEM, "%s: file too large", path);
            }
            size_t ncap = cap * 2;
            char *nb = (char *)realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                gzclose(f);
                return qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        long long r = gz_read_full(f, buf + n, cap - n, path, n, err);
        if (r < 0) {
            free(buf);
            gzclose(f);
            return QNN_EFORMAT;
        }
        n += (size_t)r;
        if (n < cap) break; /* end of file */
        if (qnn_interrupt_pending()) {
            free(buf);
            gzclose(f);
            return qnn_error_set(err, QNN_EINTR, "interrupted");
        }
    }
    gzclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return QNN_OK;
}

/* ---------------- growable double array ---------------- */
typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x) {
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 1024;
        if (ncap > SIZE_MAX / sizeof(double)) return QNN_ENOMEM;
        double *nv = (double *)realloc(d->v, ncap * sizeof(double));
        if (!nv) return QNN_ENOMEM;
        d->v = nv;
        d->cap = ncap;
    }
    d->v[d->n++] = x;
    return QNN_OK;
}

/* ---------------- CSV ---------------- */

static void field_text(const char *p, const char *eol, char *out, size_t n) {
    const char *q = p;
    while (q < eol && *q != ',' && (size_t)(q - p) < n - 1) q++;
    size_t k = (size_t)(q - p);
    memcpy(out, p, k);
    out[k] = '\0';
    while (k > 0 && (out[k - 1] == '\r' || out[k - 1] == ' ')) out[--k] = '\0';
}

int qnn_data_read_csv(const char *path, const qnn_csv_options *opt, qnn_tensor *X, int **labels,
                      qnn_error *err) {
    if (!path || !X) return qnn_error_set(err, QNN_EINVAL, "read_csv: NULL argument");
    memset(X, 0, sizeof *X);
    if (labels) *labels = NULL;
    int header = opt ? opt->header : 0;
    long label_col = opt ? opt->label_col : QNN_CSV_NO_LABEL;
    if (label_col < QNN_CSV_NO_LABEL)
        return qnn_error_set(err, QNN_EINVAL, "read_csv: label column %ld is invalid", label_col);
    if (label_col != QNN_CSV_NO_LABEL && !labels)
        return qnn_error_set(err, QNN_EINVAL, "read_csv: a label column needs a labels pointer");

    char *text;
    size_t len;
    int rc = read_all(path, &text, &len, err);
    if (rc) return rc;

    dvec vals = {0};
    size_t ncols = 0, nrows = 0, line = 0;
    long lc = -1; /* resolved 0-based label column, -1 = none */
    const char *p = text, *end = text + len;
    char ftxt[48];
    rc = QNN_OK;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        line++;
        const char *lend = eol;
        if (lend > p && lend[-1] == '\r') lend--;
        const char *s = p;
        while (s < lend && (*s == ' ' || *s == '\t')) s++;
        int blank = (s == lend);
        if ((line == 1 && header) || blank) {
            p = eol < end ? eol + 1 : end;
            continue;
        }
        size_t col = 0;
        const char *q = p;
        for (;;) {
            while (q < lend && (*q == ' ' || *q == '\t')) q++;
            int quoted = 0;
            if (q < lend && *q == '"') {
                quoted = 1;
                q++;
            }
            double v = 0;
            size_t used = qnn_data_parse_number(q, lend, &v);
            const char *r = q + used;
            if (quoted) {
                if (r < lend && *r == '"') r++;
                else used = 0;
            }
            while (r < lend && (*r == ' ' || *r == '\t')) r++;
            if (used > 0 && isinf(v)) {
                field_text(quoted ? q - 1 : q, lend, ftxt, sizeof ftxt);
                rc = qnn_error_set(err, QNN_EFORMAT,
                                   "%s:%zu: column %zu: number '%s' is out of the double range "
                                   "(|x| > 1.8e308, it would be inf)", path, line, col + 1, ftxt);
                goto fail;
            }
            if (used == 0 || (r < lend && *r != ',')) {
                field_text(quoted ? q - 1 : q, lend, ftxt, sizeof ftxt);
                if (ftxt[0] == '\0')
                    rc = qnn_error_set(err, QNN_EFORMAT, "%s:%zu: column %zu: empty field", path,
                                       line, col + 1);
                else
                    rc = qnn_error_set(err, QNN_EFORMAT, "%s:%zu: column %zu: invalid number '%s'",
                                       path, line, col + 1, ftxt);
                goto fail;
            }
            if (nrows > 0 && col >= ncols) {
                rc = qnn_error_set(err, QNN_EFORMAT,
                                   "%s:%zu: too many columns (more than %zu, as in the first data row)",
                                   path, line, ncols);
                goto fail;
            }
            if (dvec_push(&vals, v)) {
                rc = qnn_error_set(err, QNN_ENOMEM, "%s:%zu: out of memory", path, line);
                goto fail;
            }
            col++;
            if (r >= lend) break;
            q = r + 1; /* past ',' */
            if (q >= lend) {
                rc = qnn_error_set(err, QNN_EFORMAT, "%s:%zu: column %zu: empty field", path, line,
                                   col + 1);
                goto fail;
            }
        }
        if (nrows == 0) {
            ncols = col;
            if (label_col != QNN_CSV_NO_LABEL) {
                lc = label_col == QNN_CSV_LAST ? (long)ncols - 1 : label_col;
                if ((size_t)lc >= ncols) {
                    rc = qnn_error_set(err, QNN_EINVAL,
                                       "%s:%zu: label column %ld out of range: the file has %zu columns",
                                       path, line, label_col + 1, ncols);
                    goto fail;
                }
            }
        } else if (col != ncols) {
            rc = qnn_error_set(err, QNN_EFORMAT, "%s:%zu: %zu columns, expected %zu (as in the first data row)",
                               path, line, col, ncols);
            goto fail;
        }
        if (lc >= 0) {
            double lv = vals.v[vals.n - ncols + (size_t)lc];
            if (!(lv == floor(lv)) || lv < INT_MIN || lv > INT_MAX) {
                rc = qnn_error_set(err, QNN_EFORMAT, "%s:%zu: column %ld: label %g is not an integer",
                                   path, line, lc + 1, lv);
                goto fail;
            }
        }
        nrows++;
        p = eol < end ? eol + 1 : end;
    }
    if (nrows == 0) {
        rc = qnn_error_set(err, QNN_EFORMAT, "%s: no data rows", path);
        goto fail;
    }
    size_t xcols = label_col == QNN_CSV_NO_LABEL ? ncols : ncols - 1;
    int *lab = NULL;
    if (label_col != QNN_CSV_NO_LABEL) {
        lab = (int *)malloc((nrows ? nrows : 1) * sizeof(int));
        if (!lab) {
            rc = qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    rc = qnn_tensor_init(X, nrows, xcols, 2);
    if (rc) {
        free(lab);
        rc = qnn_error_set(err, rc, "%s: cannot allocate %zu x %zu tensor", path, nrows, xcols);
        goto fail;
    }
    /* second pass over the parsed values: split off the label column */
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++) {
        double *row = qnn_tensor_row(X, i);
        size_t j = 0;
        for (size_t c = 0; c < ncols; c++, k++) {
            double v = vals.v[k];
            if (lab && (long)c == lc) {
                lab[i] = (int)v;
            } else {
                row[j++] = v;
            }
        }
    }
    free(vals.v);
    free(text);
    if (labels) *labels = lab;
    return QNN_OK;
fail:
    free(vals.v);
    free(text);
    return rc;
}

/* ---------------- IDX ---------------- */

static int idx_elem_size(int type) {
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

static int idx_header(gzFile f, const char *path, qnn_idx_info *info, qnn_error *err) {
    unsigned char h[4];
    memset(info, 0, sizeof *info);
    long long r = gz_read_full(f, h, 4, path, 0, err);
    if (r < 0) return QNN_EFORMAT;
    if (r < 4)
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: byte offset %lld: truncated IDX header (file has %lld bytes, "
                             "the magic number needs 4)", path, r, r);
    if (h[0] != 0 || h[1] != 0 || idx_elem_size(h[2]) == 0 || h[3] < 1 || h[3] > QNN_IDX_MAXDIMS)
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: byte offset 0: bad IDX magic 0x%02x%02x%02x%02x (expected 00 00, a "
                             "type byte 08/09/0B/0C/0D/0E and 1..%d dimensions)",
                             path, h[0], h[1], h[2], h[3], QNN_IDX_MAXDIMS);
    info->type = h[2];
    info->ndims = h[3];
    unsigned char d[4 * QNN_IDX_MAXDIMS];
    size_t nd = (size_t)info->ndims;
    r = gz_read_full(f, d, 4 * nd, path, 4, err);
    if (r < 0) return QNN_EFORMAT;
    if ((size_t)r < 4 * nd)
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: byte offset %lld: truncated IDX header (%zu dimensions need %zu bytes)",
                             path, 4 + r, nd, 4 + 4 * nd);
    size_t cols = 1;
    for (size_t i = 0; i < nd; i++) {
        info->dims[i] = ((uint32_t)d[4 * i] << 24) | ((uint32_t)d[4 * i + 1] << 16) |
                        ((uint32_t)d[4 * i + 2] << 8) | (uint32_t)d[4 * i + 3];
        if (i > 0 && qnn_mul_size(cols, info->dims[i], &cols))
            return qnn_error_set(err, QNN_EFORMAT, "%s: IDX dimensions overflow", path);
    }
    info->rows = info->dims[0];
    info->cols = cols;
    info->header_bytes = 4 + 4 * nd;
    size_t total;
    if (qnn_mul_size(info->rows, cols, &total) || qnn_mul_size(total, 8, &total))
        return qnn_error_set(err, QNN_EFORMAT, "%s: IDX dimensions overflow", path);
    return QNN_OK;
}

int qnn_data_idx_info(const char *path, qnn_idx_info *info, qnn_error *err) {
    if (!path || !info) return qnn_error_set(err, QNN_EINVAL, "idx_info: NULL argument");
    gzFile f;
    int rc = open_gz(path, &f, err);
    if (rc) return rc;
    rc = idx_header(f, path, info, err);
    gzclose(f);
    return rc;
}

static double idx_value(const unsigned char *b, int type) {
    switch (type) {
    case 0x08: return (double)b[0];
    case 0x09: return (double)(int8_t)b[0];
    case 0x0B: return (double)(int16_t)(uint16_t)(((unsigned)b[0] << 8) | b[1]);
    case 0x0C: {
        uint32_t u = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
        return (double)(int32_t)u;
    }
    case 0x0D: {
        uint32_t u = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
        float x;
        memcpy(&x, &u, 4);
        return (double)x;
    }
    default: {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | b[i];
        double x;
        memcpy(&x, &u, 8);
        return x;
    }
    }
}

/* Streams the values of an open IDX file (header already read) to `sink`: either a double
 * array (dst) or an int array (ilab). */
static int idx_values(gzFile f, const char *path, const qnn_idx_info *info, qnn_tensor *dst,
                      int *ilab, qnn_error *err) {
    int es = idx_elem_size(info->type);
    size_t total = info->rows * info->cols; /* checked in idx_header */
    size_t chunk_vals = (1u << 20) / (size_t)es;
    unsigned char *buf = (unsigned char *)malloc(chunk_vals * (size_t)es);
    if (!buf) return qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", path);
    size_t done = 0;
    size_t cols = info->cols;
    while (done < total) {
        if (qnn_interrupt_pending()) {
            free(buf);
            return qnn_error_set(err, QNN_EINTR, "interrupted");
        }
        size_t want = total - done < chunk_vals ? total - done : chunk_vals;
        size_t off = info->header_bytes + done * (size_t)es;
        long long r = gz_read_full(f, buf, want * (size_t)es, path, off, err);
        if (r < 0) {
            free(buf);
            return QNN_EFORMAT;
        }
        if ((size_t)r < want * (size_t)es) {
            free(buf);
            return qnn_error_set(err, QNN_EFORMAT,
                                 "%s: byte offset %zu: truncated IDX data (expected %zu bytes of "
                                 "values after the %zu-byte header, file ends after %zu)",
                                 path, off + (size_t)r, total * (size_t)es, info->header_bytes,
                                 done * (size_t)es + (size_t)r);
        }
        if (ilab) {
            for (size_t k = 0; k < want; k++) {
                double v = idx_value(buf + k * (size_t)es, info->type);
                if (!(v == floor(v)) || v < INT_MIN || v > INT_MAX) {
                    free(buf);
                    return qnn_error_set(err, QNN_EFORMAT,
                                         "%s: byte offset %zu: label %g is not an integer", path,
                                         off + k * (size_t)es, v);
                }
                ilab[done + k] = (int)v;
            }
        } else if (info->type == 0x08 && dst->ld == cols) {
            double *o = dst->data + done;
            for (size_t k = 0; k < want; k++) o[k] = (double)buf[k];
        } else {
            for (size_t k = 0; k < want; k++) {
                size_t g = done + k;
                dst->data[(g / cols) * dst->ld + g % cols] = idx_value(buf + k * (size_t)es, info->type);
            }
        }
        done += want;
    }
    free(buf);
    unsigned char extra;
    long long r = gz_read_full(f, &extra, 1, path, info->header_bytes + total * (size_t)es, err);
    if (r < 0) return QNN_EFORMAT;
    if (r > 0)
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: byte offset %zu: trailing data after the %zu values the header "
                             "announces", path, info->header_bytes + total * (size_t)es, total);
    return QNN_OK;
}

int qnn_data_read_idx(const char *path, qnn_tensor *dst, qnn_idx_info *info_out, qnn_error *err) {
    if (!path || !dst) return qnn_error_set(err, QNN_EINVAL, "read_idx: NULL argument");
    gzFile f;
    int rc = open_gz(path, &f, err);
    if (rc) return rc;
    qnn_idx_info info;
    rc = idx_header(f, path, &info, err);
    if (rc) {
        gzclose(f);
        return rc;
    }
    int allocated = 0;
    if (dst->data == NULL) {
        rc = qnn_tensor_init(dst, info.rows, info.cols, 2);
        if (rc) {
            gzclose(f);
            return qnn_error_set(err, rc, "%s: cannot allocate %zu x %zu tensor", path, info.rows,
                                 info.cols);
        }
        allocated = 1;
    } else if (dst->rows != info.rows || dst->cols != info.cols) {
        gzclose(f);
        return qnn_error_set(err, QNN_EINVAL, "%s: destination is %zux%zu, file holds %zux%zu", path,
                             dst->rows, dst->cols, info.rows, info.cols);
    }
    rc = idx_values(f, path, &info, dst, NULL, err);
    gzclose(f);
    if (rc && allocated) qnn_tensor_release(dst);
    if (!rc && info_out) *info_out = info;
    return rc;
}

int qnn_data_read_idx_labels(const char *path, int **labels, size_t *n, qnn_error *err) {
    if (!path || !labels || !n) return qnn_error_set(err, QNN_EINVAL, "read_idx_labels: NULL argument");
    *labels = NULL;
    *n = 0;
    gzFile f;
    int rc = open_gz(path, &f, err);
    if (rc) return rc;
    qnn_idx_info info;
    rc = idx_header(f, path, &info, err);
    if (rc) {
        gzclose(f);
        return rc;
    }
    if (info.ndims != 1 || info.type == 0x0D || info.type == 0x0E) {
        gzclose(f);
        return qnn_error_set(err, QNN_EFORMAT,
                             "%s: not an IDX label file (need 1 dimension of integers, file has "
                             "%d dimension(s) of type 0x%02x)", path, info.ndims, info.type);
    }
    int *lab = (int *)malloc((info.rows ? info.rows : 1) * sizeof(int));
    if (!lab) {
        gzclose(f);
        return qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", path);
    }
    rc = idx_values(f, path, &info, NULL, lab, err);
    gzclose(f);
    if (rc) {
        free(lab);
        return rc;
    }
    *labels = lab;
    *n = info.rows;
    return QNN_OK;
}

/* ---------------- JSON ---------------- */

typedef struct jparser {
    const char *s, *p, *end;
    const char *name;
    qnn_error *err;
} jparser;

static void jws(jparser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static int jfail(jparser *j, const char *what);

/* 1-based line of the parser position */
static size_t jline(const jparser *j) {
    size_t line = 1;
    for (const char *c = j->s; c < j->p && c < j->end; c++) line += *c == '\n';
    return line;
}

/* parses a number at j->p; refuses overflow to inf (as the text "inf" is refused) */
static int jnumber(jparser *j, double *v) {
    size_t used = qnn_data_parse_number(j->p, j->end, v);
    if (used == 0) return jfail(j, "a number");
    if (isinf(*v)) {
        int n = used > 40 ? 40 : (int)used;
        return qnn_error_set(j->err, QNN_EFORMAT,
                             "%s: line %zu (byte offset %zu): number '%.*s' is out of the double "
                             "range (|x| > 1.8e308, it would be inf)",
                             j->name, jline(j), (size_t)(j->p - j->s), n, j->p);
    }
    j->p += used;
    return QNN_OK;
}

static int jfail(jparser *j, const char *what) {
    if (j->p >= j->end)
        return qnn_error_set(j->err, QNN_EFORMAT, "%s: byte offset %zu: unexpected end of input, expected %s",
                             j->name, (size_t)(j->p - j->s), what);
    char c = *j->p;
    if (c >= 32 && c < 127)
        return qnn_error_set(j->err, QNN_EFORMAT, "%s: byte offset %zu: expected %s, found '%c'",
                             j->name, (size_t)(j->p - j->s), what, c);
    return qnn_error_set(j->err, QNN_EFORMAT, "%s: byte offset %zu: expected %s, found byte 0x%02x",
                         j->name, (size_t)(j->p - j->s), what, (unsigned char)c);
}

/* Parses a JSON string at j->p (which is '"'); sets [*ks, *ke) to the raw contents. */
static int jstring(jparser *j, const char **ks, const char **ke) {
    if (j->p >= j->end || *j->p != '"') return jfail(j, "a string");
    j->p++;
    *ks = j->p;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p == '\\') j->p++;
        j->p++;
    }
    if (j->p >= j->end) return jfail(j, "the closing '\"' of a string");
    *ke = j->p;
    j->p++;
    return QNN_OK;
}

static int jskip(jparser *j, int depth) {
    jws(j);
    if (depth > 64) return qnn_error_set(j->err, QNN_EFORMAT, "%s: byte offset %zu: nesting too deep",
                                         j->name, (size_t)(j->p - j->s));
    if (j->p >= j->end) return jfail(j, "a value");
    char c = *j->p;
    const char *a, *b;
    if (c == '"') return jstring(j, &a, &b);
    if (c == '[' || c == '{') {
        char close = c == '[' ? ']' : '}';
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return QNN_OK;
        }
        for (;;) {
            if (c == '{') {
                jws(j);
                int rc = jstring(j, &a, &b);
                if (rc) return rc;
                jws(j);
                if (j->p >= j->end || *j->p != ':') return jfail(j, "':'");
                j->p++;
            }
            int rc = jskip(j, depth + 1);
            if (rc) return rc;
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                return QNN_OK;
            }
            return jfail(j, c == '[' ? "',' or ']'" : "',' or '}'");
        }
    }
    static const char *lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(j->end - j->p) >= l && memcmp(j->p, lits[i], l) == 0) {
            j->p += l;
            return QNN_OK;
        }
    }
    double v;
    if (qnn_data_parse_number(j->p, j->end, &v) == 0) return jfail(j, "a value");
    return jnumber(j, &v);
}

/* Array of numbers, or (outer level only) array of arrays of numbers of one length. */
static int jnumbers(jparser *j, dvec *out, size_t *rows) {
    if (j->p >= j->end || *j->p != '[') return jfail(j, "'['");
    j->p++;
    jws(j);
    *rows = 0;
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return QNN_OK;
    }
    int nested = -1;
    size_t rowlen = 0;
    for (;;) {
        jws(j);
        if (j->p < j->end && *j->p == '[') {
            if (nested == 0) return jfail(j, "a number (the array mixes numbers and arrays)");
            nested = 1;
            const char *row_start = j->p;
            size_t before = out->n;
            j->p++;
            jws(j);
            if (j->p < j->end && *j->p == ']') {
                j->p++;
            } else {
                for (;;) {
                    jws(j);
                    double v;
                    int jrc = jnumber(j, &v);
                    if (jrc) return jrc;
                    if (dvec_push(out, v))
                        return qnn_error_set(j->err, QNN_ENOMEM, "%s: out of memory", j->name);
                    jws(j);
                    if (j->p < j->end && *j->p == ',') {
                        j->p++;
                        continue;
                    }
                    if (j->p < j->end && *j->p == ']') {
                        j->p++;
                        break;
                    }
                    return jfail(j, "',' or ']'");
                }
            }
            size_t len = out->n - before;
            if (*rows == 0) rowlen = len;
            else if (len != rowlen)
                return qnn_error_set(j->err, QNN_EFORMAT,
                                     "%s: byte offset %zu: row %zu has %zu numbers, expected %zu",
                                     j->name, (size_t)(row_start - j->s), *rows + 1, len, rowlen);
            (*rows)++;
        } else {
            if (nested == 1) return jfail(j, "'[' (the array mixes arrays and numbers)");
            nested = 0;
            double v;
            int jrc = jnumber(j, &v);
            if (jrc) return jrc;
            if (dvec_push(out, v)) return qnn_error_set(j->err, QNN_ENOMEM, "%s: out of memory", j->name);
        }
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            if ((out->n & 0xFFFF) == 0 && qnn_interrupt_pending())
                return qnn_error_set(j->err, QNN_EINTR, "interrupted");
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return QNN_OK;
        }
        return jfail(j, "',' or ']'");
    }
}

int qnn_data_parse_json_numbers(const char *text, size_t len, const char *name, const char *key,
                                double **vals, size_t *n, size_t *rows, qnn_error *err) {
    if (!text || !vals || !n) return qnn_error_set(err, QNN_EINVAL, "parse_json: NULL argument");
    *vals = NULL;
    *n = 0;
    if (rows) *rows = 0;
    jparser j = {text, text, text + len, name ? name : "json", err};
    dvec out = {0};
    size_t nrows = 0;
    int found = 0, rc;
    jws(&j);
    if (j.p < j.end && *j.p == '[') {
        rc = jnumbers(&j, &out, &nrows);
        if (rc) goto fail;
        found = 1;
    } else if (j.p < j.end && *j.p == '{') {
        j.p++;
        jws(&j);
        if (j.p < j.end && *j.p == '}') {
            j.p++;
        } else {
            for (;;) {
                const char *ks, *ke;
                jws(&j);
                rc = jstring(&j, &ks, &ke);
                if (rc) goto fail;
                jws(&j);
                if (j.p >= j.end || *j.p != ':') {
                    rc = jfail(&j, "':'");
                    goto fail;
                }
                j.p++;
                jws(&j);
                int take = !found && j.p < j.end && *j.p == '[' &&
                           (!key || ((size_t)(ke - ks) == strlen(key) && memcmp(ks, key, (size_t)(ke - ks)) == 0));
                if (take) {
                    rc = jnumbers(&j, &out, &nrows);
                    found = 1;
                } else {
                    rc = jskip(&j, 1);
                }
                if (rc) goto fail;
                jws(&j);
                if (j.p < j.end && *j.p == ',') {
                    j.p++;
                    continue;
                }
                if (j.p < j.end && *j.p == '}') {
                    j.p++;
                    break;
                }
                rc = jfail(&j, "',' or '}'");
                goto fail;
            }
        }
    } else {
        rc = jfail(&j, "'[' or '{'");
        goto fail;
    }
    jws(&j);
    if (j.p < j.end) {
        rc = jfail(&j, "end of input");
        goto fail;
    }
    if (!found) {
        if (key)
            rc = qnn_error_set(err, QNN_EFORMAT, "%s: no array member named \"%s\"", j.name, key);
        else
            rc = qnn_error_set(err, QNN_EFORMAT, "%s: no array of numbers found", j.name);
        goto fail;
    }
    if (!out.v) { /* empty array: return a valid pointer */
        out.v = (double *)malloc(sizeof(double));
        if (!out.v) return qnn_error_set(err, QNN_ENOMEM, "%s: out of memory", j.name);
    }
    *vals = out.v;
    *n = out.n;
    if (rows) *rows = nrows;
    return QNN_OK;
fail:
    free(out.v);
    return rc;
}

int qnn_data_read_json_numbers(const char *path, const char *key, double **vals, size_t *n,
                               size_t *rows, qnn_error *err) {
    if (!path) return qnn_error_set(err, QNN_EINVAL, "read_json: NULL path");
    char *text;
    size_t len;
    int rc = read_all(path, &text, &len, err);
    if (rc) return rc;
    rc = qnn_data_parse_json_numbers(text, len, path, key, vals, n, rows, err);
    free(text);
    return rc;
}

/* ---------------- helpers ---------------- */

int qnn_data_colstats(const qnn_tensor *X, double *mean, double *std, qnn_error *err) {
    if (!X || !mean || !std) return qnn_error_set(err, QNN_EINVAL, "colstats: NULL argument");
    size_t n = X->rows, d = X->cols;
    if (n == 0) return qnn_error_set(err, QNN_EINVAL, "colstats: no rows");
    for (size_t j = 0; j < d; j++) mean[j] = 0.0, std[j] = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *r = qnn_tensor_row(X, i);
        for (size_t j = 0; j < d; j++) mean[j] += r[j];
    }
    for (size_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        const double *r = qnn_tensor_row(X, i);
        for (size_t j = 0; j < d; j++) {
            double t = r[j] - mean[j];
            std[j] += t * t;
        }
    }
    for (size_t j = 0; j < d; j++) std[j] = sqrt(std[j] / (double)n);
    return QNN_OK;
}

int qnn_data_standardize(qnn_tensor *X, const double *mean, const double *std, qnn_error *err) {
    if (!X || !mean || !std) return qnn_error_set(err, QNN_EINVAL, "standardize: NULL argument");
    size_t d = X->cols;
    double *inv = (double *)malloc((d ? d : 1) * sizeof(double));
    if (!inv) return qnn_error_set(err, QNN_ENOMEM, "standardize: out of memory");
    for (size_t j = 0; j < d; j++) inv[j] = std[j] > 1e-12 ? 1.0 / std[j] : 1.0;
    for (size_t i = 0; i < X->rows; i++) {
        double *r = qnn_tensor_row(X, i);
        for (size_t j = 0; j < d; j++) r[j] = (r[j] - mean[j]) * inv[j];
    }
    free(inv);
    return QNN_OK;
}

void qnn_data_affine(qnn_tensor *X, double a, double b) {
    for (size_t i = 0; i < X->rows; i++) {
        double *r = qnn_tensor_row(X, i);
        for (size_t j = 0; j < X->cols; j++) r[j] = r[j] * a + b;
    }
}

int qnn_data_gather_rows(const qnn_tensor *src, const size_t *idx, size_t n, qnn_tensor *dst,
                         qnn_error *err) {
    if (!src || !dst || (n && !idx)) return qnn_error_set(err, QNN_EINVAL, "gather_rows: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= src->rows)
            return qnn_error_set(err, QNN_ERANGE, "gather_rows: index %zu (0-based) out of range [0, %zu)",
                                 idx[i], src->rows);
    int rc = qnn_tensor_init(dst, n, src->cols, 2);
    if (rc) return qnn_error_set(err, rc, "gather_rows: cannot allocate %zu x %zu tensor", n, src->cols);
    for (size_t i = 0; i < n; i++)
        memcpy(qnn_tensor_row(dst, i), qnn_tensor_row(src, idx[i]), src->cols * sizeof(double));
    return QNN_OK;
}

typedef struct rem_entry {
    size_t rem;
    int cls;
} rem_entry;

static int rem_cmp(const void *a, const void *b) {
    const rem_entry *x = (const rem_entry *)a, *y = (const rem_entry *)b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return x->cls - y->cls;
}

int qnn_data_split(const int *labels, size_t n, int nclasses, double test_frac, int stratify,
                   qnn_rng *rng, size_t *train_idx, size_t *ntrain, size_t *test_idx,
                   size_t *ntest, qnn_error *err) {
    if (!rng || !train_idx || !test_idx || !ntrain || !ntest || (stratify && !labels))
        return qnn_error_set(err, QNN_EINVAL, "split: NULL argument");
    if (n < 2) return qnn_error_set(err, QNN_EINVAL, "split: need at least 2 items, got %zu", n);
    if (!(test_frac > 0.0 && test_frac < 1.0))
        return qnn_error_set(err, QNN_EINVAL, "split: test fraction must be in (0, 1), got %g", test_frac);
    size_t nt = (size_t)ceil(test_frac * (double)n - 1e-9);
    if (nt < 1) nt = 1;
    if (nt > n - 1) nt = n - 1;
    *ntrain = 0;
    *ntest = 0;
    if (!stratify) {
        for (size_t i = 0; i < n; i++) train_idx[i] = i;
        qnn_rng_shuffle(rng, train_idx, n);
        memcpy(test_idx, train_idx, nt * sizeof(size_t));
        memmove(train_idx, train_idx + nt, (n - nt) * sizeof(size_t));
        *ntest = nt;
        *ntrain = n - nt;
        return QNN_OK;
    }
    if (nclasses < 1) return qnn_error_set(err, QNN_EINVAL, "split: need at least 1 class");
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= nclasses)
            return qnn_error_set(err, QNN_EINVAL, "split: label %d of item %zu outside [0, %d)",
                                 labels[i], i, nclasses);
    size_t K = (size_t)nclasses;
    size_t *count = (size_t *)calloc(K, sizeof(size_t));
    size_t *take = (size_t *)calloc(K, sizeof(size_t));
    size_t *start = (size_t *)calloc(K + 1, sizeof(size_t));
    size_t *byclass = (size_t *)malloc(n * sizeof(size_t));
    rem_entry *rem = (rem_entry *)malloc(K * sizeof(rem_entry));
    int rc = QNN_OK;
    if (!count || !take || !start || !byclass || !rem) {
        rc = qnn_error_set(err, QNN_ENOMEM, "split: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) count[labels[i]]++;
    size_t assigned = 0;
    for (size_t k = 0; k < K; k++) {
        /* exact integer quota: count * nt / n */
        __uint128_t q = (__uint128_t)count[k] * nt;
        take[k] = (size_t)(q / n);
        rem[k].rem = (size_t)(q % n);
        rem[k].cls = (int)k;
        assigned += take[k];
    }
    qsort(rem, K, sizeof *rem, rem_cmp);
    for (size_t r = 0; assigned < nt && r < K; r++) {
        size_t k = (size_t)rem[r].cls;
        if (rem[r].rem > 0 && take[k] < count[k]) {
            take[k]++;
            assigned++;
        }
    }
    for (size_t k = 0; k < K; k++) start[k + 1] = start[k] + count[k];
    {
        size_t *fill = (size_t *)malloc(K * sizeof(size_t));
        if (!fill) {
            rc = qnn_error_set(err, QNN_ENOMEM, "split: out of memory");
            goto done;
        }
        memcpy(fill, start, K * sizeof(size_t));
        for (size_t i = 0; i < n; i++) byclass[fill[labels[i]]++] = i;
        free(fill);
    }
    for (size_t k = 0; k < K; k++) {
        size_t *cls = byclass + start[k];
        qnn_rng_shuffle(rng, cls, count[k]);
        for (size_t i = 0; i < count[k]; i++) {
            if (i < take[k]) test_idx[(*ntest)++] = cls[i];
            else train_idx[(*ntrain)++] = cls[i];
        }
    }
    qnn_rng_shuffle(rng, train_idx, *ntrain);
    qnn_rng_shuffle(rng, test_idx, *ntest);
done:
    free(count);
    free(take);
    free(start);
    free(byclass);
    free(rem);
    return rc;
}
