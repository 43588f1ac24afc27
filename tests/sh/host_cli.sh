#!/usr/bin/env bash
# Command-line behaviour of bin/qnnlab: exit codes, -e/-l/-i/-v/-E/-, arg, LUA_INIT, package
# paths (checkout and installed layouts), non-interactive Ctrl-C, and stock lua5.4 loading
# lib/qnn.so. Env: O = build output dir (default .). Prints "host_cli: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
case $O in /*) out=$O ;; *) out=$root/$O ;; esac
out=$(cd "$out" 2>/dev/null && pwd -P || echo "$out")
Q=$out/bin/qnnlab
pass=0; fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL host_cli: $*"; }
# run CMD...: sets rc, so (stdout), se (stderr)
run() { "$@" >"$tmp/so" 2>"$tmp/se"; rc=$?; so=$(cat "$tmp/so"); se=$(cat "$tmp/se"); }
# expect NAME RC STDOUT_ERE [STDERR_ERE]: bash regexes over the whole (multi-line) output
expect() {
  local name=$1 erc=$2 sre=$3 ere=${4:-}
  if [ "$rc" != "$erc" ]; then bad "$name: exit $rc, want $erc (stdout: $so; stderr: $se)"; return; fi
  if ! [[ $so =~ $sre ]]; then bad "$name: stdout '$so' does not match /$sre/"; return; fi
  if [ -n "$ere" ] && ! [[ $se =~ $ere ]]; then bad "$name: stderr '$se' does not match /$ere/"; return; fi
  ok
}

if [ ! -x "$Q" ]; then
  echo "FAIL host_cli: $Q not built"
  echo "host_cli: 0 passed, 1 failed"; exit 1
fi

run "$Q" -e 'print(require("qnn").version)'
expect "require qnn" 0 '^[0-9]+\.[0-9]+\.[0-9]+'
ver=$so

run "$Q" --version
expect "--version" 0 "^qnnlab $ver \(Lua 5\.4\.[0-9]+\)$"
run "$Q" -v -e 'print("after")'
expect "-v then -e" 0 "qnnlab $ver.*after"
run "$Q" --help
expect "--help" 0 'usage: qnnlab'

# a script's --help / -h (qnn.report.flags / args): its leading comment block, exit 0, nothing run
printf -- '-- A tool.\n--   usage: t.lua [--x=1]\nlocal qnn = require "qnn"\nlocal o = qnn.report.flags(arg, {x = 1})\nprint("ran " .. o.x)\n' >"$tmp/t.lua"
run "$Q" "$tmp/t.lua" --help
expect "script --help" 0 '^A tool\.'$'\n''  usage: t\.lua \[--x=1\]$'
run "$Q" "$tmp/t.lua" -h
expect "script -h" 0 '^A tool\.'
run "$Q" "$tmp/t.lua" --x=3
expect "script flags" 0 '^ran 3$'
run "$Q" examples/anneal_digits.lua --help
expect "example --help (report.args)" 0 'Digits'
run "$Q" examples/grover_resolution.lua -h
expect "example -h (grover_common)" 0 '^Resolution sweep'

run "$Q" -x
expect "unknown flag -x" 2 '^$' 'unrecognized option.*usage'
run "$Q" --bogus
expect "unknown flag --bogus" 2 '^$' 'usage'
run "$Q" -e
expect "-e without argument" 2 '^$' "'-e' needs an argument"
run "$Q" -ix
expect "-ix" 2 '^$' 'usage'

run "$Q" -e 'print(1+1)'
expect "-e" 0 '^2$'
run "$Q" -e 'x = 20' -e 'x = x + 1' -e 'print(x * 2)'
expect "-e repeated in order" 0 '^42$'
run "$Q" '-eprint("glued")'
expect "-e glued to its argument" 0 '^glued$'
run "$Q" -l qnn -e 'print(type(qnn), qnn.version)'
expect "-l mod" 0 "^table	$ver$"
run "$Q" -l q=qnn -e 'print(q == require("qnn"), q == qnn)'
expect "-l g=mod" 0 '^true	true$'
run "$Q" -l no_such_module_xyz
expect "-l missing module" 1 '^$' "module 'no_such_module_xyz' not found"

run "$Q" -e 'error("boom")'
expect "runtime error in -e" 1 '^$' 'boom.*'
grep -q 'stack traceback' <<<"$se" && ok || bad "runtime error lacks a traceback: $se"

printf 'local t = {}\nprint("before")\nlocal x = t.a.b\n' >"$tmp/rt.lua"
run "$Q" "$tmp/rt.lua"
expect "runtime error in script" 1 '^before$' 'rt\.lua:3: attempt to index'
grep -q 'stack traceback' <<<"$se" && ok || bad "script error lacks a traceback"

printf 'print("never")\nlocal x = = 1\n' >"$tmp/syn.lua"
run "$Q" "$tmp/syn.lua"
expect "syntax error" 1 '^$' 'syn\.lua:2:'
run "$Q" "$tmp/does_not_exist.lua"
expect "missing script" 1 '^$' 'cannot open'

printf 'print(arg[0], ...)\nprint(#arg, arg[1], arg[3], select("#", ...))\nprint(arg[-1], arg[-2])\n' >"$tmp/args.lua"
run "$Q" "$tmp/args.lua" a 'b c' d
expect "arg passing" 0 "^$tmp/args.lua	a	b c	d
3	a	d	3
$Q	nil$"
run "$Q" -e 'y=1' "$tmp/args.lua" z
expect "arg with options before the script" 0 "y=1	-e$"
run "$Q" "$tmp/args.lua" -e x
expect "options after the script go to the script" 0 "args.lua	-e	x"
run "$Q" -- "$tmp/args.lua" q
expect "-- before the script" 0 "args.lua	q"

run bash -c "echo 'print(\"stdin\", ...)' | '$Q' - u v"
expect "- runs stdin" 0 '^stdin	u	v$'
run bash -c "echo 'print(40 + 2)' | '$Q'"
expect "stdin without arguments (not a tty)" 0 '^42$'
run "$Q" -e 'os.exit(3)'
expect "os.exit code" 3 '^$'
run "$Q" -e 'os.exit(true)'
expect "os.exit(true)" 0 '^$'

run env LUA_INIT='init_ok = 5' "$Q" -e 'print(init_ok)'
expect "LUA_INIT" 0 '^5$'
run env LUA_INIT='init_ok = 5' "$Q" -E -e 'print(init_ok)'
expect "-E ignores LUA_INIT" 0 '^nil$'
run env LUA_PATH="$tmp/?.lua;;" "$Q" -e 'print(package.path:find(os.getenv("LUA_PATH"):sub(1, -3), 1, true) ~= nil)'
expect "LUA_PATH honoured" 0 '^true$'
run env LUA_PATH="$tmp/?.lua;;" "$Q" -E -e 'print(package.path:find("'"$tmp"'", 1, true) == nil)'
expect "-E ignores LUA_PATH" 0 '^true$'

# package paths and the built-in module
run "$Q" -e 'print(package.preload.qnn ~= nil, require("qnn") == require("qnn"), package.searchpath("qnn.help", package.path) ~= nil)'
expect "qnn preloaded, Lua half on package.path" 0 '^true	true	true$'
mkdir -p "$tmp/luadir" && cp -R "$root/lua/qnn" "$tmp/luadir/"
run env QNN_LUA_DIR="$tmp/luadir" "$Q" -e 'print(package.path:match("^[^;]*"))'
expect "QNN_LUA_DIR overrides" 0 "^$tmp/luadir/\?\.lua$"
run "$Q" -e 'print(package.cpath:match("^[^;]*"))'
expect "cpath starts with <exe>/../lib/lua/5.4, <exe>/../lib" 0 "^$out/lib/lua/5\.4/\?\.so$"
run "$Q" -e 'print(package.cpath:match("^[^;]*;([^;]*)"))'
expect "cpath: <exe>/../lib second" 0 "^$out/lib/\?\.so$"

# installed layout: <prefix>/bin/qnnlab finds <prefix>/share/lua/5.4 and <prefix>/lib/lua/5.4
# (tests/sh/install.sh runs the real make install)
mkdir -p "$tmp/inst/bin" "$tmp/inst/lib" "$tmp/inst/share/lua/5.4"
cp "$Q" "$tmp/inst/bin/qnnlab"
cp -R "$root/lua/qnn" "$tmp/inst/share/lua/5.4/"
run env -u QNN_LUA_DIR -u LUA_PATH -u LUA_CPATH "$tmp/inst/bin/qnnlab" -e 'print(package.searchpath("qnn.help", package.path))' -e 'print(package.cpath:match("^[^;]*"))'
expect "installed layout paths" 0 "^$tmp/inst/share/lua/5.4/qnn/help.lua
$tmp/inst/lib/lua/5.4/\?\.so$"

# REPL with stdin not a terminal (-i): echo, multi-line, errors, qnn/help globals
printf 'x = 5\n' >"$tmp/pre.lua"
run bash -c "printf '1+1\nx * 2\nfunction f()\nreturn 7 end\nf()\nerror(\"oops\")\n{1,\n2}\nqnn.version, type(help)\nqnn.rng(1)\n' | '$Q' -i '$tmp/pre.lua'"
expect "-i REPL echo" 0 "qnn> 2
qnn> 10
qnn> >> qnn> 7
qnn> qnn> >> \{1, 2\}
qnn> $ver	function
qnn> qnn.Rng\(" 'stdin:1: oops'
grep -q 'stack traceback' <<<"$se" && ok || bad "REPL error lacks a traceback"
run bash -c "printf 'for i = 1, 2 do\n' | '$Q' -i"
expect "-i input ends inside a chunk" 0 'qnn> >> ' "<eof>"

# non-interactive Ctrl-C: "interrupted", exit 1 (a pure Lua loop, a loop polling the flag, loops
# inside coroutines, including one whose resumer ignores the error)
for code in 'while true do end' 'local qnn = require "qnn" while true do qnn.check_interrupt() end' \
    'coroutine.wrap(function() while true do end end)()' \
    'local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end'; do
  rm -f "$tmp/started"
  "$Q" -e "io.open('$tmp/started', 'w'):close() $code" >"$tmp/so" 2>"$tmp/se" &
  pid=$!
  for _ in $(seq 1 200); do [ -e "$tmp/started" ] && break; sleep 0.02; done
  sleep 0.05
  kill -INT "$pid" 2>/dev/null
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    bad "Ctrl-C did not stop: $code"
  else
    wait "$pid"; rc=$?
    se=$(cat "$tmp/se")
    if [ "$rc" = 1 ] && grep -q 'interrupted' <<<"$se"; then ok; else bad "Ctrl-C on '$code': exit $rc, stderr $se"; fi
  fi
done

# stock lua5.4 loads lib/qnn.so
if [ -n "${SAN:-}" ]; then
  : # a sanitizer-built qnn.so cannot be loaded by the uninstrumented stock lua5.4
elif command -v lua5.4 >/dev/null; then
  run env -u LUA_CPATH lua5.4 -e "package.cpath='$out/lib/?.so;'..package.cpath; print(require('qnn').version)"
  expect "stock lua5.4 require qnn" 0 "^$ver$"
else
  bad "lua5.4 not installed"
fi

echo "host_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
