#!/usr/bin/env bash
# Issue 12 item 8: an experiment's --out with $(...) and backquotes must create exactly that
# directory and run nothing (bin/qnnlab examples/grover_wine.lua --quick '--out=...').
# Env: O = build output dir (default .). Prints "no_shell: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-.}
Q=$O/bin/qnnlab
export QNN_DATA_DIR=${QNN_DATA_DIR:-$(pwd)/data}
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad() { fail=$((fail+1)); echo "FAIL no_shell: $*"; }
if [ ! -f data/wine_data.csv ]; then
  echo "no_shell: wine data missing (make data): skipped"; echo "no_shell: 0 passed, 0 failed"; exit 0
fi
out="$tmp/o\`touch pwned_bq\`\$(touch pwned_dollar) 'q\"
x"
( cd "$tmp" && QNN_QUIET=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    "$OLDPWD/$Q" "$OLDPWD/examples/grover_wine.lua" --quick "--out=$out" >"$tmp/log" 2>&1 ) \
  || bad "grover_wine.lua --quick exited non-zero: $(tail -5 "$tmp/log")"
if [ -e "$tmp/pwned_bq" ] || [ -e "$tmp/pwned_dollar" ] || [ -e pwned_bq ] || [ -e pwned_dollar ]; then
  bad "a command in --out ran"
else pass=$((pass+1)); fi
if [ -d "$out" ] && [ -n "$(ls "$out")" ]; then pass=$((pass+1)); else bad "nothing written into the --out directory"; fi
echo "no_shell: $pass passed, $fail failed"
