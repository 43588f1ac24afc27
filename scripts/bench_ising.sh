#!/usr/bin/env bash
# Ising sampler benchmark: builds scripts/bench_ising.c against lib/libqnn.a and runs it
# single-threaded. Usage: scripts/bench_ising.sh [--quick]   (env O = output dir, default .)
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
mkdir -p "$O/build/bench"
[ -f "$O/lib/libqnn.a" ] || make O="$O" -s "$O/lib/libqnn.a"
cc -std=c11 -O2 ${NATIVE:+-march=native} -fopenmp -D_POSIX_C_SOURCE=200809L -Iinclude \
  scripts/bench_ising.c -o "$O/build/bench/bench_ising" "$O/lib/libqnn.a" \
  $(pkg-config --libs lapacke openblas zlib) -lm -fopenmp
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$O/build/bench/bench_ising" "$@"
