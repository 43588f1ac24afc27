#!/usr/bin/env bash
# Runs the C test programs given as arguments, then the busted Lua suites twice (stock lua5.4
# with lib/qnn.so, and through bin/qnnlab), and prints one final "N passed, N failed" line.
# Env: O (output dir), SAN (sanitizer build: Lua suites run through bin/qnnlab only),
#      TEST_FILTER (busted --filter pattern), LUA_TESTS (spec files/dirs; default tests/lua).
set -uo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
root=$(pwd)
export QNN_QUIET=1
export QNN_LUA_DIR="$root/lua"
export QNN_ROOT="$root"
pass=0; fail=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

if [ -n "${SAN:-}" ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
fi

for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^C .*: [0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out"
    echo "C $(basename "$t"): crashed or printed no summary (exit $rc)"
    fail=$((fail+1)); continue
  fi
  p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
  f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
  [ "$f" -gt 0 ] || [ $rc -ne 0 ] && printf '%s\n' "$out"
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "$line"
  pass=$((pass+p)); fail=$((fail+f))
done

# shell tests (tests/sh/*.sh, e.g. the qnnlab CLI and the tmux-driven REPL): each prints
# "<name>: N passed, N failed" as its last summary line
for t in tests/sh/*.sh; do
  [ -f "$t" ] || continue
  out=$(O="$O" SAN="${SAN:-}" bash "$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out"
    echo "sh $(basename "$t"): crashed or printed no summary (exit $rc)"
    fail=$((fail+1)); continue
  fi
  p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
  f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
  [ "$f" -gt 0 ] || [ $rc -ne 0 ] && printf '%s\n' "$out"
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "sh $line"
  pass=$((pass+p)); fail=$((fail+f))
done

# busted, TAP output; count "ok"/"not ok" lines
run_busted() { # label, interpreter...
  local label=$1; shift
  local specs=${LUA_TESTS:-tests/lua}
  local filt=()
  [ -n "${TEST_FILTER:-}" ] && filt=(--filter "$TEST_FILTER")
  LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/tests/lua/?.lua;;" \
  LUA_CPATH="$root/$O/lib/?.so;;" \
    "$@" /usr/bin/busted -o TAP "${filt[@]}" $specs >"$log/$label.out" 2>&1
  local rc=$?
  local p f
  p=$(grep -cE '^ok ' "$log/$label.out")
  f=$(grep -cE '^not ok ' "$log/$label.out")
  if [ "$f" -gt 0 ] || [ $rc -ne 0 ]; then
    grep -vE '^ok ' "$log/$label.out" | head -n 200
    [ "$f" -eq 0 ] && f=1
  fi
  echo "Lua ($label): $p passed, $f failed"
  pass=$((pass+p)); fail=$((fail+f))
}
if [ -z "${SAN:-}" ]; then
  run_busted lua5.4 lua5.4
fi
if [ -x "$O/bin/qnnlab" ]; then
  run_busted qnnlab "$O/bin/qnnlab"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
