#!/usr/bin/env bash
# qnn.sweep's MPI backend (lua/qnn/sweep/mpi.lua, lib/qnn_mpi.so) with 2 and 4 ranks on this
# machine (oversubscribed, loopback): every result written once through rank 0, a rank killed
# mid-sweep (with and without mpirun --enable-recovery), resume, and qnn.sweep starting mpirun
# itself. Skipped (0 passed) where mpirun or lib/qnn_mpi.so is missing, and under sanitizers.
# Prints "mpi_sweep: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
case $O in /*) out=$O ;; *) out=$root/$O ;; esac
Q=$out/bin/qnnlab
FIX=tests/lua/fixtures/sweep_mpi.lua
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL mpi_sweep: $*"; }

if [ -n "${SAN:-}" ] || ! command -v mpirun >/dev/null 2>&1 || [ ! -f "$out/lib/qnn_mpi.so" ]; then
  echo "mpi_sweep: skipped (needs mpirun from openmpi-bin and lib/qnn_mpi.so; not under sanitizers)"
  echo "mpi_sweep: 0 passed, 0 failed"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export QNN_QUIET=1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check_rows DIR WANT_OK WANT_FAILED: the latest row per run: 40 runs, each once, counts by status
cat >"$tmp/check.lua" <<'LUA'
    local qnn = require "qnn"
    local dir, want_ok, want_failed = arg[1], tonumber(arg[2]), tonumber(arg[3])
    local latest, n = {}, 0
    for line in io.lines(dir .. "/runs.jsonl") do
      local r = qnn.sweep._decode(line)
      if r then latest[r.index] = r end
    end
    local okc, failc = 0, 0
    for i = 1, 40 do
      local r = latest[i]
      if not r then print("missing run " .. i) os.exit(1) end
      if r.status == "ok" then
        okc = okc + 1
        local x, seed = (i - 1) // 4 + 1, (i - 1) % 4 + 1
        if r.metrics.y ~= 100 * x + seed then print("wrong metric in run " .. i) os.exit(1) end
      else failc = failc + 1 end
    end
    for k in pairs(latest) do n = n + 1 end
    if n ~= 40 or okc ~= want_ok or failc ~= want_failed then
      print(string.format("runs %d ok %d failed %d, want 40 %d %d", n, okc, failc, want_ok, want_failed)) os.exit(1)
    end
LUA
check_rows() { "$Q" "$tmp/check.lua" "$1" "$2" "$3"; }
# lines DIR: number of lines in runs.jsonl
lines() { wc -l <"$1/runs.jsonl" | tr -d ' '; }

# 1. two ranks: 40 runs, each once, both ranks worked
d=$tmp/two
o=$(timeout 120 mpirun --oversubscribe -np 2 "$Q" --mpi $FIX "$d" 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "2 ranks: exit $rc: $(tail -5 "$tmp/err")"
elif ! [[ $o == *"rank 0: done=40 failed=0 skipped=0 rows=40"* ]]; then bad "2 ranks: output '$o'"
elif ! msg=$(check_rows "$d" 40 0); then bad "2 ranks: $msg"
elif [ "$(lines "$d")" != 40 ]; then bad "2 ranks: $(lines "$d") lines, want 40"
elif ! grep -q '"rank":1' "$d/runs.jsonl"; then bad "2 ranks: rank 1 ran nothing"
else ok; fi

# 1b. a run that crashes (SIGSEGV) is recorded failed with its signal; its rank goes on
d=$tmp/crash
o=$(timeout 120 mpirun --oversubscribe -np 2 "$Q" --mpi $FIX "$d" crashrun 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "crashing run: exit $rc: $(tail -5 "$tmp/err")"
elif ! [[ $o == *"rank 0: done=39 failed=1 skipped=0 rows=40"* ]]; then bad "crashing run: output '$o'"
elif ! msg=$(check_rows "$d" 39 1); then bad "crashing run: $msg"
elif ! grep -q '"signal":11' "$d/runs.jsonl"; then bad "crashing run: no signal 11 row"
else ok; fi

# 2. four ranks, one killed mid-sweep, under --enable-recovery: only its run is lost
d=$tmp/kill
o=$(timeout 120 mpirun --oversubscribe --enable-recovery -np 4 "$Q" --mpi $FIX "$d" killrank="$tmp/kill.marker" 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "killed rank: exit $rc: $(tail -5 "$tmp/err")"
elif ! [[ $o == *"rank 0: done=39 failed=1 skipped=0 rows=40"* ]]; then bad "killed rank: output '$o'"
elif ! msg=$(check_rows "$d" 39 1); then bad "killed rank: $msg"
elif ! grep -q 'stopped responding' "$d/runs.jsonl"; then bad "killed rank: no 'stopped responding' row"
else ok; fi

# 3. resume it with four ranks: only the lost run is rerun
o=$(timeout 120 mpirun --oversubscribe --enable-recovery -np 4 "$Q" --mpi $FIX "$d" resume 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "resume: exit $rc: $(tail -5 "$tmp/err")"
elif ! [[ $o == *"rank 0: done=1 failed=0 skipped=39 rows=40"* ]]; then bad "resume: output '$o'"
elif ! msg=$(check_rows "$d" 40 0); then bad "resume: $msg"
else ok; fi

# 4. without --enable-recovery Open MPI ends the whole job when a rank dies; resume finishes it
d=$tmp/abort
timeout 120 mpirun --oversubscribe -np 4 "$Q" --mpi $FIX "$d" killrank="$tmp/abort.marker" >/dev/null 2>&1; rc=$?
if [ $rc -eq 0 ]; then bad "abort: mpirun exit 0 after a rank was killed"; fi
o=$(timeout 120 mpirun --oversubscribe -np 4 "$Q" --mpi $FIX "$d" resume 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "abort+resume: exit $rc: $(tail -5 "$tmp/err")"
elif ! msg=$(check_rows "$d" 40 0); then bad "abort+resume: $msg"
else ok; fi

# 5. qnn.sweep{backend = "mpi", ranks = 2} starts mpirun itself
d=$tmp/launch
o=$(timeout 120 "$Q" $FIX "$d" launch=2 2>"$tmp/err"); rc=$?
if [ $rc -ne 0 ]; then bad "launch: exit $rc: $(tail -5 "$tmp/err")"
elif ! [[ $o == *"rank 0: done=40 failed=0 skipped=0 rows=40"* ]]; then bad "launch: output '$o'"
elif ! msg=$(check_rows "$d" 40 0); then bad "launch: $msg"
else ok; fi

echo "mpi_sweep: $pass passed, $fail failed"
[ $fail -eq 0 ]
