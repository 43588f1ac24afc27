/* Data set readers and helpers: numeric CSV, IDX (optionally gzip-compressed, read through
 * zlib), a small JSON number-array reader, and the per-column statistics, standardisation,
 * stratified splits and row gathers that qnn.data's Dataset methods use.
 *
 * Every reader opens its file with zlib's gzopen, so plain and gzip-compressed files are both
 * accepted. Errors name the file and the place: "<path>:<line>: column <c>: ..." for CSV,
 * "<path>: byte offset <k>: ..." for IDX (offset in the decompressed stream) and JSON.
 * Tensors filled by these functions are initialised by the callee with qnn_tensor_init (release
 * them with qnn_tensor_release); int arrays are malloc'ed (free them with free). */
#ifndef QNN_DATA_H
#define QNN_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/rng.h"
#include "qnn/tensor.h"

/* ---------------- CSV ---------------- */
#define QNN_CSV_NO_LABEL (-2L)
#define QNN_CSV_LAST (-1L)
typedef struct qnn_csv_options {
    int header;      /* 1: the first line is a header and is skipped */
    long label_col;  /* 0-based column of an integer label; QNN_CSV_LAST; QNN_CSV_NO_LABEL */
} qnn_csv_options;

/* Reads a numeric CSV (comma separated; blank lines ignored; CRLF accepted). All rows must have
 * the same number of columns. X becomes rows x (columns - 1 if a label column) doubles; if a
 * label column is given, *labels (malloc'ed, X->rows entries) receives its values, which must be
 * integers. A file with no data rows is an error (QNN_EFORMAT). */
int qnn_data_read_csv(const char *path, const qnn_csv_options *opt, qnn_tensor *X, int **labels,
                      qnn_error *err);

/* ---------------- IDX ---------------- */
/* IDX: bytes 0,1 = 0; byte 2 = type (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64);
 * byte 3 = number of dimensions (1..8); then one big-endian uint32 per dimension; then the
 * values, big-endian, row-major. */
#define QNN_IDX_MAXDIMS 8
typedef struct qnn_idx_info {
    int type;                        /* type byte (0x08 ...) */
    int ndims;
    uint32_t dims[QNN_IDX_MAXDIMS];
    size_t rows;                     /* dims[0] */
    size_t cols;                     /* product of dims[1..]; 1 when ndims == 1 */
    size_t header_bytes;             /* 4 + 4 * ndims */
} qnn_idx_info;

/* Reads and validates the header only. */
int qnn_data_idx_info(const char *path, qnn_idx_info *info, qnn_error *err);
/* Reads the whole file as doubles. If dst->data is NULL, dst is initialised (rows x cols, ndim 2);
 * otherwise dst must already have exactly rows x cols (so the caller can supply memory, e.g. a
 * Lua-owned tensor). Truncated data, a wrong magic or trailing bytes are QNN_EFORMAT with the
 * byte offset. info (may be NULL) receives the header. */
int qnn_data_read_idx(const char *path, qnn_tensor *dst, qnn_idx_info *info, qnn_error *err);
/* Reads a 1-D integer IDX file (labels) into a malloc'ed int array of *n entries. */
int qnn_data_read_idx_labels(const char *path, int **labels, size_t *n, qnn_error *err);

/* ---------------- JSON ---------------- */
/* Reads the numbers of a JSON document that is an array of numbers, an array of arrays of
 * numbers (rows, flattened), or an object whose value under `key` (NULL: the first array-valued
 * member) is such an array; other members may be numbers, strings, literals, arrays or objects
 * and are skipped. *vals is malloc'ed with *n entries; *rows (may be NULL) gets the number of
 * inner arrays (0 for a flat array). */
int qnn_data_read_json_numbers(const char *path, const char *key, double **vals, size_t *n,
                               size_t *rows, qnn_error *err);
/* Same, parsing a memory buffer; `name` is used in messages. */
int qnn_data_parse_json_numbers(const char *text, size_t len, const char *name, const char *key,
                                double **vals, size_t *n, size_t *rows, qnn_error *err);

/* ---------------- helpers for Dataset methods ---------------- */
/* Column means and population standard deviations (divide by n) of X (n >= 1). */
int qnn_data_colstats(const qnn_tensor *X, double *mean, double *std, qnn_error *err);
/* In place: x[i][j] = (x[i][j] - mean[j]) / std[j]; a column with std[j] <= 1e-12 (zero
 * variance in the data the statistics came from) is only centred: x - mean (scale 1, as
 * scikit-learn's StandardScaler), so it is 0 in that data. */
int qnn_data_standardize(qnn_tensor *X, const double *mean, const double *std, qnn_error *err);
/* In place: x = x * a + b. */
void qnn_data_affine(qnn_tensor *X, double a, double b);
/* dst (initialised by callee, rows n x src->cols) = rows idx[0..n) of src (0-based). */
int qnn_data_gather_rows(const qnn_tensor *src, const size_t *idx, size_t n, qnn_tensor *dst,
                         qnn_error *err);
/* Seeded train/test split of n items with labels in [0, nclasses). The test set gets
 * ceil(test_frac * n) items (clamped to [1, n - 1]); with `stratify` its per-class counts are
 * the class counts times test_frac, rounded by largest remainder so they sum to that total
 * (never more than a class holds). train_idx and test_idx (each of capacity n) receive 0-based
 * indices in a seeded random order; *ntrain + *ntest == n. Needs n >= 2 and
 * 0 < test_frac < 1. */
int qnn_data_split(const int *labels, size_t n, int nclasses, double test_frac, int stratify,
                   qnn_rng *rng, size_t *train_idx, size_t *ntrain, size_t *test_idx,
                   size_t *ntest, qnn_error *err);

/* Parses a decimal number at s (no leading spaces): [+-]digits[.digits][(e|E)[+-]digits], also
 * "nan"/"inf" are NOT accepted. Returns the number of characters consumed (0 = not a number)
 * and stores the value (correctly rounded, same as strtod) in *out. A number beyond the double
 * range (1e999) stores +-inf: the CSV and JSON readers refuse it with an error naming the file
 * and line, as they refuse the text "inf". */
size_t qnn_data_parse_number(const char *s, const char *end, double *out);

#endif
