#!/usr/bin/env bash
# Determinism as a tested promise: short trainings of every method (tests/sh/determinism.lua:
# matrix products, Grover on Wine, annealing on a tiny net, SA/SQA reads, natural quantization,
# DiffQAS-QT classify (small and 15-qubit) and RL) under OMP_NUM_THREADS=1/2 x
# OPENBLAS_NUM_THREADS=1/2 must print identical numbers (hex floats). One check per method.
# Env: O = build output dir (default .). Prints "determinism: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
case $O in /*) out=$O ;; *) out=$root/$O ;; esac
Q=$out/bin/qnnlab
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export QNN_QUIET=1 QNN_LUA_DIR="$root/lua"
# results never depend on it; it keeps the 2-thread runs fast on a loaded (shared) machine
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

if [ ! -x "$Q" ]; then
  echo "FAIL determinism: $Q not built"
  echo "determinism: 0 passed, 1 failed"
  exit 1
fi
if [ ! -f data/wine.csv ] && [ ! -d data/wine ] && ! ls data 2>/dev/null | grep -qi wine; then
  echo "determinism: data sets missing (make data); skipped"
  echo "determinism: 0 passed, 0 failed"
  exit 0
fi

methods="blas grover anneal sa nq qt_classify qt_big rl"
configs="1:1 2:2 1:2 2:1"
for c in $configs; do
  omp=${c%:*}; ob=${c#*:}
  if ! OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$ob "$Q" tests/sh/determinism.lua \
      >"$tmp/out.$omp$ob" 2>"$tmp/err.$omp$ob"; then
    echo "FAIL determinism: run with OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$ob failed:"
    cat "$tmp/err.$omp$ob"
  fi
done
ref="$tmp/out.11"
for m in $methods; do
  want=$(grep "^$m " "$ref" 2>/dev/null)
  if [ -z "$want" ]; then
    echo "FAIL determinism: $m printed nothing with 1 thread"
    fail=$((fail+1)); continue
  fi
  ok=1
  for c in $configs; do
    omp=${c%:*}; ob=${c#*:}
    got=$(grep "^$m " "$tmp/out.$omp$ob" 2>/dev/null)
    if [ "$got" != "$want" ]; then
      echo "FAIL determinism: $m differs with OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$ob"
      echo "  1/1: $want"
      echo "  $omp/$ob: ${got:-(nothing)}"
      ok=0
    fi
  done
  if [ $ok = 1 ]; then pass=$((pass+1)); else fail=$((fail+1)); fi
done
echo "determinism: $pass passed, $fail failed"
[ $fail = 0 ]
