/* Data readers (CSV, IDX via zlib, JSON) and Dataset helpers on small files made here. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "qnn/data.h"

static char dir[] = "/tmp/qnn_test_data_XXXXXX";

static const char *path_of(const char *name) {
    static char buf[4][256];
    static int k = 0;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_text(const char *name, const char *text) {
    FILE *f = fopen(path_of(name), "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void write_gz(const char *name, const void *data, size_t n) {
    gzFile f = gzopen(path_of(name), "wb");
    if (!f) return;
    gzwrite(f, data, (unsigned)n);
    gzclose(f);
}

static void write_raw(const char *name, const void *data, size_t n) {
    FILE *f = fopen(path_of(name), "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static int contains(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

TEST(parse_number) {
    double v = 0;
    const char *s = "0.1";
    CHECK(qnn_data_parse_number(s, s + 3, &v) == 3);
    CHECK(v == 0.1);
    const char *cases[] = {"14.23", "-3.5e-2", "1065", "0.00466", "1e300", "123456789012345678901",
                           "2.2250738585072014e-308", "0.992", "+7", "5.", "-0"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *c = cases[i];
        size_t len = strlen(c);
        CHECK(qnn_data_parse_number(c, c + len, &v) == len);
        CHECK(v == strtod(c, NULL));
    }
    const char *bad = "abc";
    CHECK(qnn_data_parse_number(bad, bad + 3, &v) == 0);
    const char *part = "12x";
    CHECK(qnn_data_parse_number(part, part + 3, &v) == 2);
    CHECK(v == 12.0);
    const char *e = "3e";
    CHECK(qnn_data_parse_number(e, e + 2, &v) == 1); /* 'e' without digits is not consumed */
}

TEST(csv_basic) {
    write_text("a.csv", "3,2,x,y\n1.5,2,0\n-1,4e1,1\r\n\n7,8,1\n");
    qnn_csv_options o = {1, QNN_CSV_LAST};
    qnn_tensor X;
    int *lab = NULL;
    qnn_error err = {0};
    int rc = qnn_data_read_csv(path_of("a.csv"), &o, &X, &lab, &err);
    CHECK(rc == QNN_OK);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(X.rows == 3 && X.cols == 2);
    CHECK(qnn_tensor_get(&X, 0, 0) == 1.5);
    CHECK(qnn_tensor_get(&X, 1, 1) == 40.0);
    CHECK(qnn_tensor_get(&X, 2, 0) == 7.0);
    CHECK(lab[0] == 0 && lab[1] == 1 && lab[2] == 1);
    qnn_tensor_release(&X);
    free(lab);
    /* label in the first column, no header */
    write_text("b.csv", "2, 1.0, 2.0\n0, 3.0, 4.0");
    qnn_csv_options o2 = {0, 0};
    rc = qnn_data_read_csv(path_of("b.csv"), &o2, &X, &lab, &err);
    CHECK(rc == QNN_OK);
    if (!rc) {
        CHECK(X.rows == 2 && X.cols == 2 && lab[0] == 2 && lab[1] == 0);
        CHECK(qnn_tensor_get(&X, 1, 1) == 4.0);
        qnn_tensor_release(&X);
        free(lab);
    }
    /* no label column, gzip-compressed */
    const char *t = "1,2,3\n4,5,6\n";
    write_gz("c.csv.gz", t, strlen(t));
    qnn_csv_options o3 = {0, QNN_CSV_NO_LABEL};
    rc = qnn_data_read_csv(path_of("c.csv.gz"), &o3, &X, NULL, &err);
    CHECK(rc == QNN_OK);
    if (!rc) {
        CHECK(X.rows == 2 && X.cols == 3 && qnn_tensor_get(&X, 1, 2) == 6.0);
        qnn_tensor_release(&X);
    }
}

TEST(csv_errors) {
    qnn_csv_options o = {1, QNN_CSV_LAST};
    qnn_tensor X;
    int *lab = NULL;
    qnn_error err = {0};
    write_text("bad1.csv", "h\n1,2,0\n3,abc,1\n");
    CHECK(qnn_data_read_csv(path_of("bad1.csv"), &o, &X, &lab, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "bad1.csv:3: column 2: invalid number 'abc'"));
    write_text("bad2.csv", "h\n1,2,0\n3,1\n");
    CHECK(qnn_data_read_csv(path_of("bad2.csv"), &o, &X, &lab, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "bad2.csv:3: 2 columns, expected 3"));
    write_text("bad3.csv", "h\n1,,0\n");
    CHECK(qnn_data_read_csv(path_of("bad3.csv"), &o, &X, &lab, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "bad3.csv:2: column 2: empty field"));
    write_text("bad4.csv", "h\n1,2,0.5\n");
    CHECK(qnn_data_read_csv(path_of("bad4.csv"), &o, &X, &lab, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "bad4.csv:2: column 3: label 0.5 is not an integer"));
    write_text("empty.csv", "header only\n");
    CHECK(qnn_data_read_csv(path_of("empty.csv"), &o, &X, &lab, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "no data rows"));
    qnn_csv_options o5 = {0, 5};
    write_text("ok.csv", "1,2\n");
    CHECK(qnn_data_read_csv(path_of("ok.csv"), &o5, &X, &lab, &err) == QNN_EINVAL);
    CHECK(contains(err.msg, "label column 6 out of range"));
    CHECK(qnn_data_read_csv(path_of("missing.csv"), &o, &X, &lab, &err) == QNN_EIO);
    CHECK(contains(err.msg, "missing.csv: cannot open"));
    write_text("bad5.csv", "1,2,3,\n");
    CHECK(qnn_data_read_csv(path_of("bad5.csv"), &o5, &X, &lab, &err) != QNN_OK);
}

static size_t idx_bytes(unsigned char *buf, int type, int ndims, const uint32_t *dims,
                        const unsigned char *vals, size_t nvals_bytes) {
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndims;
    size_t k = 4;
    for (int i = 0; i < ndims; i++) {
        buf[k++] = (unsigned char)(dims[i] >> 24);
        buf[k++] = (unsigned char)(dims[i] >> 16);
        buf[k++] = (unsigned char)(dims[i] >> 8);
        buf[k++] = (unsigned char)dims[i];
    }
    memcpy(buf + k, vals, nvals_bytes);
    return k + nvals_bytes;
}

TEST(idx_read) {
    unsigned char buf[256], vals[24];
    for (int i = 0; i < 24; i++) vals[i] = (unsigned char)(i * 10);
    uint32_t dims[3] = {2, 3, 4};
    size_t n = idx_bytes(buf, 0x08, 3, dims, vals, 24);
    write_gz("img.idx.gz", buf, n);
    write_raw("img.idx", buf, n);
    const char *names[] = {"img.idx.gz", "img.idx"};
    for (int f = 0; f < 2; f++) {
        qnn_tensor X = {0};
        qnn_idx_info info;
        qnn_error err = {0};
        int rc = qnn_data_read_idx(path_of(names[f]), &X, &info, &err);
        CHECK(rc == QNN_OK);
        if (rc) {
            fprintf(stderr, "%s\n", err.msg);
            continue;
        }
        CHECK(X.rows == 2 && X.cols == 12 && info.ndims == 3 && info.dims[2] == 4);
        CHECK(qnn_tensor_get(&X, 1, 11) == 230.0);
        CHECK(qnn_tensor_get(&X, 0, 1) == 10.0);
        qnn_tensor_release(&X);
    }
    /* labels */
    unsigned char lv[5] = {9, 0, 3, 3, 1};
    uint32_t d1[1] = {5};
    n = idx_bytes(buf, 0x08, 1, d1, lv, 5);
    write_gz("lab.idx.gz", buf, n);
    int *lab = NULL;
    size_t nl = 0;
    qnn_error err = {0};
    CHECK(qnn_data_read_idx_labels(path_of("lab.idx.gz"), &lab, &nl, &err) == QNN_OK);
    CHECK(nl == 5 && lab && lab[0] == 9 && lab[4] == 1);
    free(lab);
    /* big-endian int32 and float64 */
    unsigned char iv[8] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0};
    uint32_t d2[2] = {1, 2};
    n = idx_bytes(buf, 0x0C, 2, d2, iv, 8);
    write_raw("i32.idx", buf, n);
    qnn_tensor X = {0};
    CHECK(qnn_data_read_idx(path_of("i32.idx"), &X, NULL, &err) == QNN_OK);
    CHECK(X.rows == 1 && X.cols == 2 && qnn_tensor_get(&X, 0, 0) == -2.0 && qnn_tensor_get(&X, 0, 1) == 256.0);
    qnn_tensor_release(&X);
    double dv = -1.25;
    uint64_t u;
    memcpy(&u, &dv, 8);
    unsigned char dbe[8];
    for (int i = 0; i < 8; i++) dbe[i] = (unsigned char)(u >> (56 - 8 * i));
    uint32_t d3[1] = {1};
    n = idx_bytes(buf, 0x0E, 1, d3, dbe, 8);
    write_raw("f64.idx", buf, n);
    CHECK(qnn_data_read_idx(path_of("f64.idx"), &X, NULL, &err) == QNN_OK);
    CHECK(X.rows == 1 && X.cols == 1 && qnn_tensor_get(&X, 0, 0) == -1.25);
    qnn_tensor_release(&X);
}

TEST(idx_errors) {
    unsigned char buf[256], vals[24] = {0};
    uint32_t dims[2] = {2, 12};
    qnn_error err = {0};
    qnn_tensor X = {0};
    /* truncated data */
    size_t n = idx_bytes(buf, 0x08, 2, dims, vals, 24);
    write_gz("trunc.idx.gz", buf, n - 5);
    CHECK(qnn_data_read_idx(path_of("trunc.idx.gz"), &X, NULL, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "byte offset 31: truncated IDX data"));
    CHECK(X.data == NULL);
    /* wrong magic */
    buf[0] = 0x1f;
    write_raw("magic.idx", buf, n);
    CHECK(qnn_data_read_idx(path_of("magic.idx"), &X, NULL, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "byte offset 0: bad IDX magic 0x1f000802"));
    buf[0] = 0;
    buf[2] = 0x07; /* unknown type */
    write_raw("type.idx", buf, n);
    CHECK(qnn_data_read_idx(path_of("type.idx"), &X, NULL, &err) == QNN_EFORMAT);
    /* truncated header */
    write_raw("short.idx", buf, 2);
    CHECK(qnn_data_read_idx(path_of("short.idx"), &X, NULL, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "truncated IDX header"));
    buf[2] = 0x08;
    write_raw("short2.idx", buf, 7);
    CHECK(qnn_data_read_idx(path_of("short2.idx"), &X, NULL, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "truncated IDX header"));
    /* trailing data */
    unsigned char big[300];
    memcpy(big, buf, n);
    big[n] = 7;
    write_raw("trail.idx", big, n + 1);
    CHECK(qnn_data_read_idx(path_of("trail.idx"), &X, NULL, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "trailing data"));
    /* corrupt gzip stream: flip bytes in the middle */
    unsigned char gzb[512];
    write_gz("ok.idx.gz", buf, n);
    FILE *f = fopen(path_of("ok.idx.gz"), "rb");
    size_t gn = f ? fread(gzb, 1, sizeof gzb, f) : 0;
    if (f) fclose(f);
    for (size_t i = 12; i < gn - 8; i++) gzb[i] ^= 0x5a;
    write_raw("corrupt.idx.gz", gzb, gn);
    CHECK(qnn_data_read_idx(path_of("corrupt.idx.gz"), &X, NULL, &err) == QNN_EFORMAT);
    /* labels file that is 2-D */
    CHECK(qnn_data_read_idx_labels(path_of("ok.idx.gz"), &(int *){0}, &(size_t){0}, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "not an IDX label file"));
    /* preallocated destination of the wrong shape */
    qnn_tensor Y;
    CHECK(qnn_tensor_init(&Y, 3, 3, 2) == QNN_OK);
    CHECK(qnn_data_read_idx(path_of("ok.idx.gz"), &Y, NULL, &err) == QNN_EINVAL);
    qnn_tensor_release(&Y);
}

TEST(json) {
    double *v = NULL;
    size_t n = 0, rows = 0;
    qnn_error err = {0};
    const char *t1 = "{ \"data\": [0,0.5,1,0.992, 1e-3] }";
    CHECK(qnn_data_parse_json_numbers(t1, strlen(t1), "t1", "data", &v, &n, &rows, &err) == QNN_OK);
    CHECK(n == 5 && rows == 0 && v[1] == 0.5 && v[3] == 0.992 && v[4] == 1e-3);
    free(v);
    const char *t2 = " [[1,2],[3,4],[5,6]] ";
    CHECK(qnn_data_parse_json_numbers(t2, strlen(t2), "t2", NULL, &v, &n, &rows, &err) == QNN_OK);
    CHECK(n == 6 && rows == 3 && v[5] == 6.0);
    free(v);
    const char *t3 = "{\"name\": \"x\\\"y\", \"meta\": {\"a\": [1, {\"b\": null}]}, \"ok\": true, \"values\": [7, -8]}";
    CHECK(qnn_data_parse_json_numbers(t3, strlen(t3), "t3", "values", &v, &n, &rows, &err) == QNN_OK);
    CHECK(n == 2 && v[0] == 7.0 && v[1] == -8.0);
    free(v);
    const char *e1 = "{\"data\": [1, 2, x]}";
    CHECK(qnn_data_parse_json_numbers(e1, strlen(e1), "e1", "data", &v, &n, &rows, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "e1: byte offset 16: expected a number, found 'x'"));
    const char *e2 = "[1, 2";
    CHECK(qnn_data_parse_json_numbers(e2, strlen(e2), "e2", NULL, &v, &n, &rows, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "byte offset 5: unexpected end of input"));
    const char *e3 = "[[1,2],[3]]";
    CHECK(qnn_data_parse_json_numbers(e3, strlen(e3), "e3", NULL, &v, &n, &rows, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "row 2 has 1 numbers, expected 2"));
    const char *e4 = "{\"other\": [1]}";
    CHECK(qnn_data_parse_json_numbers(e4, strlen(e4), "e4", "data", &v, &n, &rows, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "no array member named \"data\""));
    const char *e5 = "[1] x";
    CHECK(qnn_data_parse_json_numbers(e5, strlen(e5), "e5", NULL, &v, &n, &rows, &err) == QNN_EFORMAT);
    CHECK(contains(err.msg, "byte offset 4: expected end of input"));
    write_text("m.json", "{ \"data\": [0,0.25,1] }");
    CHECK(qnn_data_read_json_numbers(path_of("m.json"), "data", &v, &n, NULL, &err) == QNN_OK);
    CHECK(n == 3 && v[1] == 0.25);
    free(v);
}

TEST(stats_standardize) {
    qnn_tensor X;
    CHECK(qnn_tensor_init(&X, 4, 3, 2) == QNN_OK);
    double vals[4][3] = {{1, 5, 2}, {2, 5, 4}, {3, 5, 6}, {4, 5, 8}};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) qnn_tensor_set(&X, (size_t)i, (size_t)j, vals[i][j]);
    double m[3], s[3];
    CHECK(qnn_data_colstats(&X, m, s, NULL) == QNN_OK);
    CHECK_NEAR(m[0], 2.5, 1e-15);
    CHECK_NEAR(s[0], sqrt(1.25), 1e-15);
    CHECK_NEAR(s[1], 0.0, 1e-15);
    CHECK(qnn_data_standardize(&X, m, s, NULL) == QNN_OK);
    double m2[3], s2[3];
    qnn_data_colstats(&X, m2, s2, NULL);
    CHECK_NEAR(m2[0], 0.0, 1e-15);
    CHECK_NEAR(s2[0], 1.0, 1e-14);
    CHECK_NEAR(s2[2], 1.0, 1e-14);
    CHECK(qnn_tensor_get(&X, 2, 1) == 0.0); /* zero-variance column centred to 0 */
    qnn_data_affine(&X, 2.0, 1.0);
    CHECK_NEAR(qnn_tensor_get(&X, 0, 1), 1.0, 1e-15);
    size_t idx[3] = {3, 0, 3};
    qnn_tensor G;
    CHECK(qnn_data_gather_rows(&X, idx, 3, &G, NULL) == QNN_OK);
    CHECK(G.rows == 3 && qnn_tensor_get(&G, 0, 0) == qnn_tensor_get(&X, 3, 0));
    CHECK(qnn_tensor_get(&G, 1, 2) == qnn_tensor_get(&X, 0, 2));
    qnn_tensor_release(&G);
    size_t badidx[1] = {4};
    qnn_error err = {0};
    CHECK(qnn_data_gather_rows(&X, badidx, 1, &G, &err) == QNN_ERANGE);
    qnn_tensor_release(&X);
    qnn_tensor E = {0};
    CHECK(qnn_data_colstats(&E, m, s, &err) == QNN_EINVAL);
}

TEST(split) {
    enum { N = 150 };
    int lab[N];
    for (int i = 0; i < N; i++) lab[i] = i < 50 ? 0 : (i < 130 ? 1 : 2); /* 50, 80, 20 */
    size_t tr[N], te[N], ntr, nte;
    qnn_rng r;
    qnn_rng_seed(&r, 42);
    CHECK(qnn_data_split(lab, N, 3, 0.2, 1, &r, tr, &ntr, te, &nte, NULL) == QNN_OK);
    CHECK(nte == 30 && ntr == 120);
    int cnt[3] = {0, 0, 0}, seen[N] = {0};
    for (size_t i = 0; i < nte; i++) cnt[lab[te[i]]]++, seen[te[i]]++;
    for (size_t i = 0; i < ntr; i++) seen[tr[i]]++;
    CHECK(cnt[0] == 10 && cnt[1] == 16 && cnt[2] == 4);
    int all_once = 1;
    for (int i = 0; i < N; i++) all_once &= seen[i] == 1;
    CHECK(all_once);
    /* determinism */
    size_t tr2[N], te2[N], ntr2, nte2;
    qnn_rng_seed(&r, 42);
    qnn_data_split(lab, N, 3, 0.2, 1, &r, tr2, &ntr2, te2, &nte2, NULL);
    CHECK(ntr2 == ntr && memcmp(tr, tr2, ntr * sizeof(size_t)) == 0 &&
          memcmp(te, te2, nte * sizeof(size_t)) == 0);
    /* largest remainder: 7 per class of 3 classes (21), test 1/3 -> 7 = 2.33*3 -> 3,2,2 */
    int l2[21];
    for (int i = 0; i < 21; i++) l2[i] = i % 3;
    qnn_rng_seed(&r, 1);
    CHECK(qnn_data_split(l2, 21, 3, 1.0 / 3.0, 1, &r, tr, &ntr, te, &nte, NULL) == QNN_OK);
    CHECK(nte == 7);
    /* unstratified */
    CHECK(qnn_data_split(lab, N, 3, 0.5, 0, &r, tr, &ntr, te, &nte, NULL) == QNN_OK);
    CHECK(nte == 75 && ntr == 75);
    qnn_error err = {0};
    CHECK(qnn_data_split(lab, N, 3, 0.0, 1, &r, tr, &ntr, te, &nte, &err) == QNN_EINVAL);
    CHECK(contains(err.msg, "(0, 1)"));
    CHECK(qnn_data_split(lab, N, 3, 1.0, 1, &r, tr, &ntr, te, &nte, &err) == QNN_EINVAL);
    CHECK(qnn_data_split(lab, 1, 3, 0.5, 1, &r, tr, &ntr, te, &nte, &err) == QNN_EINVAL);
    CHECK(qnn_data_split(lab, N, 2, 0.5, 1, &r, tr, &ntr, te, &nte, &err) == QNN_EINVAL);
    CHECK(contains(err.msg, "outside [0, 2)"));
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(parse_number);
    RUN(csv_basic);
    RUN(csv_errors);
    RUN(idx_read);
    RUN(idx_errors);
    RUN(json);
    RUN(stats_standardize);
    RUN(split);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
