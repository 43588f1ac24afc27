#!/usr/bin/env bash
# make test-examples: smoke test of every script in examples/ with --quick (each must exit 0 and
# write only into its --out under a temporary directory). Prints one line per example with its
# time and ends with "examples: N passed, N failed".
# Env: O (build dir, default .), EXAMPLES_TIMEOUT (seconds per example, default 600),
#      EXAMPLES (space-separated subset, e.g. "hello grover_wine").
# Per-example extra flags (documented here, keep short):
#   grover_resolution: --data=wine   (its --quick sweeps N on Digits, ~2 min on a shared 2-core
#                                     machine; on Wine the same code paths take seconds)
#   grover_digits: --epochs=1 (1 min or more for its 2 quick epochs when the machine is busy)
#   nq_*: --epochs=1 (the --quick runs train 2 epochs on 5000 MNIST images per config, 50-90 s
#         each on the shared machine; one epoch runs every code path), nq_sweep_g: one g point
set -uo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
host="$O/bin/qnnlab"
[ -x "$host" ] || { echo "test-examples: $host not built (make)"; exit 2; }
bash scripts/fetch-data.sh --quiet-if-present >/dev/null 2>&1 || echo "test-examples: data sets unavailable; examples needing them will fail"
tmp=$(mktemp -d /tmp/qnn-examples.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export QNN_QUIET=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
declare -A extra=([grover_resolution]="--data=wine" [grover_digits]="--epochs=1" [nq_mnist]="--epochs=1" [nq_fashion]="--epochs=1"
                  [nq_sweep_a]="--epochs=1" [nq_sweep_g]="--epochs=1 --g=0.125")
pass=0; fail=0; t_all=$(date +%s)
list=${EXAMPLES:-}
if [ -z "$list" ]; then
  for f in examples/*.lua; do
    n=$(basename "$f" .lua)
    case $n in *_common) continue ;; esac  # shared helpers, not scripts
    list="$list $n"
  done
fi
before=$(ls results 2>/dev/null | wc -l)
for n in $list; do
  out="$tmp/$n"
  mkdir -p "$out"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  timeout "${EXAMPLES_TIMEOUT:-600}" "$host" "examples/$n.lua" --quick "--out=$out/out" ${extra[$n]:-} \
    >"$tmp/$n.log" 2>&1 </dev/null
  rc=$?
  dt=$(echo "$(date +%s.%N) - $t0" | bc)
  if [ $rc -eq 0 ]; then
    printf 'ok   %-22s %6.1f s\n' "$n" "$dt"; pass=$((pass+1))
  else
    printf 'FAIL %-22s %6.1f s (exit %d)\n' "$n" "$dt" "$rc"; tail -n 20 "$tmp/$n.log"; fail=$((fail+1))
  fi
done
# sweep mode (qnn.sweep runs a script once per seed): --seed=N must run that seed only and
# report its metrics through QNN_SWEEP_RESULT
for spec in vqc_iris:acc_vqc_head reupload_moons:acc_moons_L4 hybrid_digits:acc_hybrid; do
  n=${spec%%:*}; key=${spec#*:}
  case " $list " in *" $n "*) ;; *) continue ;; esac
  res="$tmp/$n.result.json"
  if QNN_SWEEP_RESULT="$res" timeout "${EXAMPLES_TIMEOUT:-600}" "$host" "examples/$n.lua" --quick --seed=2 --epochs=2 \
       "--out=$tmp/$n/seed" >"$tmp/$n.seed.log" 2>&1 </dev/null && grep -q "\"$key\":" "$res" 2>/dev/null &&
     cat "$tmp/$n/seed/"*.json | tr -d ' \n' | grep -q '"seeds":\[2\]'; then
    printf 'ok   %-22s --seed=2 reports %s\n' "$n" "$key"; pass=$((pass+1))
  else
    printf 'FAIL %-22s --seed=2 (no %s in its sweep result)\n' "$n" "$key"; tail -n 20 "$tmp/$n.seed.log"; fail=$((fail+1))
  fi
done
after=$(ls results 2>/dev/null | wc -l)
if [ "$after" -ne "$before" ]; then
  echo "FAIL an example wrote into results/ despite --out"; fail=$((fail+1))
fi
echo "examples: total $(( $(date +%s) - t_all )) s"
echo "examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
