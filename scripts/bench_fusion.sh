#!/usr/bin/env bash
# Circuit compiler benchmark (issue 15): builds scripts/bench_fusion.c against lib/libqnn.a and
# runs it with 1 and 2 OpenMP threads. Usage: scripts/bench_fusion.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
mkdir -p "$O/build/bench"
[ -f "$O/lib/libqnn.a" ] || make O="$O" -s "$O/lib/libqnn.a"
${CC:-cc} -std=c11 -O2 ${NATIVE:+-march=native} -fopenmp -D_POSIX_C_SOURCE=200809L -Iinclude \
  scripts/bench_fusion.c -o "$O/build/bench/bench_fusion" "$O/lib/libqnn.a" \
  $(pkg-config --libs lapacke openblas zlib) -lm -fopenmp
for t in 1 2; do
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=1 "$O/build/bench/bench_fusion" "$@"
  echo
done
