#!/usr/bin/env bash
# make bench: runs every scripts/bench_*.sh and scripts/bench_*.lua (through bin/qnnlab).
# BENCH=name runs only bench_<name>.*. Benchmarks print ratios against baselines measured in
# the same run; see docs/performance.md for recorded tables.
set -uo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
export QNN_LUA_DIR="$PWD/lua"
rc=0
for f in scripts/bench_*.sh scripts/bench_*.lua; do
  [ -e "$f" ] || continue
  name=$(basename "$f"); name=${name#bench_}; name=${name%.*}
  if [ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ]; then continue; fi
  echo "=== $f"
  case "$f" in
    *.sh) O="$O" bash "$f" || rc=1 ;;
    *.lua) "$O/bin/qnnlab" "$f" || rc=1 ;;
  esac
done
exit $rc
