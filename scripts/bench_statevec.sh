#!/usr/bin/env bash
# State-vector benchmark: builds scripts/bench_statevec.c against lib/libqnn.a, runs it (1 and
# 2 threads inside), then the Lua per-call overhead (scripts/statevec_overhead.lua).
# Usage: scripts/bench_statevec.sh [--quick]   (env O = output dir, default .)
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
mkdir -p "$O/build/bench"
[ -f "$O/lib/libqnn.a" ] || make O="$O" -s "$O/lib/libqnn.a"
cc -std=c11 -O2 ${NATIVE:+-march=native} -fopenmp -D_POSIX_C_SOURCE=200809L -Iinclude \
  scripts/bench_statevec.c -o "$O/build/bench/bench_statevec" "$O/lib/libqnn.a" \
  $(pkg-config --libs lapacke openblas zlib) -lm -fopenmp
"$O/build/bench/bench_statevec" "$@"
export QNN_LUA_DIR="$PWD/lua"
if [ -x "$O/bin/qnnlab" ]; then
  "$O/bin/qnnlab" scripts/statevec_overhead.lua "$@"
else
  LUA_CPATH="$O/lib/?.so;;" lua5.4 scripts/statevec_overhead.lua "$@"
fi
