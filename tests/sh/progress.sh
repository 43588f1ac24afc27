#!/usr/bin/env bash
# Progress output on a terminal (through script(1), which gives the program a pty): one live
# line per long run with the inner bars inside it, one summary line at the end, no per-layer
# lines unless verbose=true; nothing at all when stdout is not a terminal or QNN_QUIET=1.
# Env: O = build output dir. Prints "progress: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-.}
Q=$O/bin/qnnlab
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL progress: $*"; }
if ! command -v script >/dev/null; then
  echo "progress: 0 passed, 0 failed (script(1) missing: skipped)"; exit 0
fi
# tty CODE: runs bin/qnnlab -e CODE on a pty; its output (redraws separated by \r) in $tmp/raw
tty() {
  env -u QNN_QUIET OMP_NUM_THREADS=1 script -qec "$Q -e '$1'" /dev/null >"$tmp/raw" 2>&1
  rc=$?
}

# a run with three inner bars: the inner bars draw inside the run's line, only the summary ends a line
tty 'local p = qnn.progress; local r = p.run{label = "demo", total = 3, unit = "epoch"}
for e = 1, 3 do local c = p.bar{label = "layer " .. e, total = 10}; for i = 1, 10 do c:update(i) end; c:finish(); r:update(e) end
r:finish("3 epochs, fine")'
nl=$(grep -c '' "$tmp/raw")
[ $rc = 0 ] && [ "$nl" = 1 ] && ok || bad "run with inner bars: $nl lines (want 1), rc $rc: $(cat -v "$tmp/raw")"
grep -q 'demo: 3 epochs, fine (00:00)' "$tmp/raw" && ok || bad "summary line: $(cat -v "$tmp/raw")"
grep -q 'epoch 0/3 | layer 1  10%' "$tmp/raw" && ok || bad "inner bar not drawn inside the run's line: $(cat -v "$tmp/raw")"
grep -q 'done in' "$tmp/raw" && bad "an inner bar printed its own line: $(cat -v "$tmp/raw")" || ok
# a run that raises is closed by <close>: a later bar draws its own line again
tty 'local p = qnn.progress; pcall(function() local r <close> = p.run{label = "x", total = 2}; error("boom") end)
print(p.current() == nil)'
grep -q '^true' <(tr -d '\r' <"$tmp/raw") && ok || bad "run not closed after an error: $(cat -v "$tmp/raw")"

# qnn.optim.grover: one summary line; per-layer lines only with verbose=true
cat >"$tmp/g.lua" <<'LUA'
local X, y = {}, {}
local r = qnn.rng(1)
for i = 1, 20 do X[i] = {r:normal(), r:normal(), r:normal()}; y[i] = (X[i][1] > 0) and 1 or 2 end
local net = qnn.nn.mlp{3, 4, 2, seed = 1}
qnn.optim.grover{net = net, data = {X = qnn.tensor(X), y = y}, epochs = 3, resolution = 4, shots = 4,
  verbose = VERBOSE}
LUA
tty "VERBOSE = false; dofile(\"$tmp/g.lua\")"
nl=$(grep -c '' "$tmp/raw")
[ $rc = 0 ] && [ "$nl" = 1 ] && grep -q 'grover: 3 epochs, train acc' "$tmp/raw" && ok ||
  bad "grover, not verbose: $nl lines (want 1 summary line): $(cat -v "$tmp/raw")"
tty "VERBOSE = true; dofile(\"$tmp/g.lua\")"
nlayer=$(grep -c 'layer [12]: loss' "$tmp/raw")
[ $rc = 0 ] && [ "$nlayer" = 6 ] && ok || bad "grover, verbose: $nlayer per-layer lines (want 3 epochs x 2 layers): $(cat -v "$tmp/raw")"

# not a terminal, or QNN_QUIET=1: silent
out=$(env -u QNN_QUIET "$Q" -e "VERBOSE = false; dofile(\"$tmp/g.lua\")" 2>&1)
[ -z "$out" ] && ok || bad "output when stdout is not a terminal: $out"
env QNN_QUIET=1 OMP_NUM_THREADS=1 script -qec "$Q -e 'VERBOSE = false; dofile(\"$tmp/g.lua\")'" /dev/null >"$tmp/raw" 2>&1
[ ! -s "$tmp/raw" ] && ok || bad "output with QNN_QUIET=1: $(cat -v "$tmp/raw")"

echo "progress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
