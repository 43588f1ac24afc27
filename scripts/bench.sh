#!/usr/bin/env bash
# make bench: runs every benchmark under scripts/: bench_<name>.sh, or bench_<name>.lua through
# bin/qnnlab when there is no .sh of the same name (the .sh wraps it with its settings).
# BENCH=name runs only that one. Lua benchmarks run single-threaded BLAS unless they set
# otherwise. Each prints ratios against baselines measured in the same run; recorded tables
# are in docs/performance.md.
set -uo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
export QNN_LUA_DIR="$PWD/lua"
rc=0
names=$(ls scripts/bench_*.sh scripts/bench_*.lua 2>/dev/null | sed -E 's|scripts/bench_(.*)\.(sh\|lua)$|\1|' | sort -u)
for name in $names; do
  if [ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ]; then continue; fi
  if [ -f "scripts/bench_$name.sh" ]; then
    echo "=== scripts/bench_$name.sh"
    O="$O" bash "scripts/bench_$name.sh" || rc=1
  else
    echo "=== scripts/bench_$name.lua"
    OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} "$O/bin/qnnlab" "scripts/bench_$name.lua" || rc=1
  fi
done
exit $rc
