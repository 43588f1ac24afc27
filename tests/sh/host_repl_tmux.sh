#!/usr/bin/env bash
# Drives the bin/qnnlab REPL in a detached tmux session (private tmux server/socket): echo of
# expressions, tab completion, Ctrl-C on a running loop and at a partial prompt, multi-line
# chunks, errors with traceback, history file, Ctrl-D exit status. Every wait polls the pane
# (no fixed long sleeps). Env: O = build output dir. Prints "host_repl_tmux: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
case $O in /*) out=$O ;; *) out=$root/$O ;; esac
Q=$out/bin/qnnlab
name=host_repl_tmux
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL $name: $*"; }

if ! command -v tmux >/dev/null 2>&1; then
  echo "FAIL $name: tmux is not installed (scripts/deps.sh installs it: apt-get install tmux)"
  echo "$name: 0 passed, 1 failed"; exit 1
fi
if [ ! -x "$Q" ]; then
  echo "FAIL $name: $Q not built"
  echo "$name: 0 passed, 1 failed"; exit 1
fi

tmp=$(mktemp -d)
T=(tmux -S "$tmp/sock" -f /dev/null)
cleanup() { "${T[@]}" kill-server >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
hist=$tmp/history
TIMEOUT=${HOST_TMUX_TIMEOUT:-8}   # seconds per wait (generous for sanitizer builds)

"${T[@]}" new-session -d -s repl -x 200 -y 50 \
  "env QNNLAB_HISTORY='$hist' QNN_QUIET=1 '$Q'; echo \$? > '$tmp/status.tmp'; mv '$tmp/status.tmp' '$tmp/status'" || { bad "tmux new-session failed"; echo "$name: $pass passed, $fail failed"; exit 1; }

pane() { "${T[@]}" capture-pane -p -J -S - -t repl 2>/dev/null; }
# count ERE: number of pane lines matching
count() { pane | grep -cE -- "$1"; }
last_line() { pane | sed -e 's/[[:space:]]*$//' | grep -v '^$' | tail -n1; }
# wait_count ERE N: until at least N lines match
wait_count() {
  local deadline=$((SECONDS + TIMEOUT))
  while [ "$(count "$1")" -lt "$2" ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
# wait_last ERE: until the last non-empty line matches
wait_last() {
  local deadline=$((SECONDS + TIMEOUT))
  until last_line | grep -qE -- "$1"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
show() { pane | grep -v '^[[:space:]]*$'; }
keys() { "${T[@]}" send-keys -t repl "$@"; }
# step NAME INPUT ERE: types INPUT + Enter and waits for one more line matching ERE, then the prompt
step() {
  local n; n=$(count "$3")
  keys -l "$2"; keys Enter
  if wait_count "$3" $((n + 1)) && wait_last '^qnn>$'; then ok; else bad "$1: no /$3/ after '$2'"; show | tail -n 15; fi
}
prompt='^qnn>$'

wait_count 'qnnlab [0-9.]+ .* type help\(\)' 1 && ok || bad "banner not shown"
wait_last "$prompt" || bad "no prompt"

step "1+1 echoes 2" '1+1' '^2$'
step "several results, tab-separated" '1, "a", nil' '^1 +a +nil$'  # tmux expands tabs

# completion of a field: qnn.ve<TAB> -> qnn.version
keys -l 'qnn.ve'; keys Tab
if wait_last '^qnn> qnn\.version$'; then ok; else bad "qnn.ve<TAB> did not complete to qnn.version"; show | tail -n 5; fi
n=$(count '^[0-9]+\.[0-9]+\.[0-9]+$'); keys Enter
wait_count '^[0-9]+\.[0-9]+\.[0-9]+$' $((n + 1)) && ok || bad "qnn.version did not print a version"
wait_last "$prompt"

# completion sees lazily loaded Lua modules (qnn.loadall() runs before completing qnn.*)
keys -l 'qnn.prog'; keys Tab
if wait_last '^qnn> qnn\.progress$'; then ok; else bad "qnn.prog<TAB> did not complete to qnn.progress"; show | tail -n 5; fi
keys C-u
wait_last "$prompt"

# completion of a method: r:uni<TAB> -> r:uniform(
step "statement" 'r = qnn.rng(1) print("assigned")' '^assigned$'
keys -l 'r:uni'; keys Tab
if wait_last '^qnn> r:uniform\($'; then ok; else bad "r:uni<TAB> did not complete to r:uniform("; show | tail -n 5; fi
n=$(count '^true$'); keys -l '0, 1) >= 0'; keys Enter
wait_count '^true$' $((n + 1)) && ok || bad "completed method call failed"
wait_last "$prompt"

# Ctrl-C stops a running loop; the prompt returns and the session goes on
n=$(count '^interrupted'); s=$(count '^spinning$')
keys -l 'print("spinning") while true do end'; keys Enter
if wait_count '^spinning$' $((s + 1)); then
  sleep 0.1
  keys C-c
  if wait_count 'interrupted' $((n + 1)) && wait_last "$prompt"; then ok; else bad "Ctrl-C did not stop 'while true do end'"; show | tail -n 8; fi
else
  bad "loop did not start"
fi
step "REPL works after Ctrl-C" '2+3' '^5$'

# a burst of Ctrl-C (the later ones land between lines or at the prompt) does not kill the REPL
s=$(count '^spin2$')
keys -l 'print("spin2") while true do end'; keys Enter
if wait_count '^spin2$' $((s + 1)); then
  sleep 0.1
  keys C-c C-c C-c
  wait_last "$prompt"
  step "REPL survives a burst of Ctrl-C" '2+4' '^6$'
else
  bad "second loop did not start"
fi

# Ctrl-C stops a long C loop (qnn.ising.sample polls the core interrupt flag) when the ising
# module is there (checked first, so this test does not depend on that module existing)
keys -l 'ok_cl = pcall(function() local h = {} for i = 1, 64 do h[i] = 0.1 end cm = qnn.ising.model{n = 64, h = h, J = {{1, 2, 1}}} end) print(ok_cl and "cloop-ready" or "cloop-skip")'
keys Enter
if wait_count '^cloop-(ready|skip)$' 1 && wait_last "$prompt"; then
  if [ "$(count '^cloop-ready$')" -ge 1 ]; then
    n=$(count 'interrupted')
    keys -l 'print("cloop-start") qnn.ising.sample(cm, {sampler = "sa", reads = 100000, sweeps = 100000, seed = 1})'
    keys Enter
    if wait_count '^cloop-start$' 1; then
      sleep 0.1
      keys C-c
      if wait_count 'interrupted' $((n + 1)) && wait_last "$prompt"; then ok; else bad "Ctrl-C did not stop qnn.ising.sample"; show | tail -n 8; fi
      step "REPL works after interrupting C" '3+4' '^7$'
    else
      bad "C loop did not start"
    fi
  fi
else
  bad "C-loop setup line did not run"
fi

# Ctrl-C at a partial prompt clears the line
keys -l 'abc'
wait_last '^qnn> abc$' || bad "typed text not shown"
keys C-c
if wait_count '^qnn> abc\^C$' 1 && wait_last "$prompt"; then ok; else bad "Ctrl-C at the prompt did not give a fresh prompt"; show | tail -n 5; fi
step "line is empty after Ctrl-C" '10+1' '^11$'

# multi-line chunk
keys -l 'function f()'; keys Enter
wait_last '^>>$' && ok || bad "no continuation prompt '>>' after 'function f()'"
keys -l 'return 7 end'; keys Enter
wait_last "$prompt" || bad "no prompt after the chunk"
step "multi-line function" 'f()' '^7$'

# an error shows a traceback, the REPL goes on
n=$(count 'stack traceback:')
step "error message" 'error("oops-" .. 41 + 1)' 'oops-42'
[ "$(count 'stack traceback:')" -gt "$n" ] && ok || bad "error without a traceback"
step "REPL works after an error" '6*7' '^42$'

# help is there
step "help()" 'help(qnn.seed)' 'qnn\.seed\(n\)'

# Ctrl-D exits with status 0 (the pane's shell records it)
keys C-d
deadline=$((SECONDS + TIMEOUT))
until [ -f "$tmp/status" ]; do
  [ $SECONDS -ge $deadline ] && break
  sleep 0.05
done
if [ -f "$tmp/status" ]; then
  st=$(cat "$tmp/status")
  [ "$st" = 0 ] && ok || { bad "Ctrl-D exit status $st"; show | tail -n 20; }
else
  bad "Ctrl-D did not exit"; show | tail -n 5
fi

# persistent history (with the multi-line chunk kept as one entry)
if [ -f "$hist" ] && grep -qx '1+1' "$hist" && grep -qx 'function f()' "$hist"; then ok; else bad "history file $hist lacks the session's lines"; fi

echo "$name: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
