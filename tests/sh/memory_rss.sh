#!/usr/bin/env bash
# The garbage collector sees the C memory of qnn objects (issue 12): loops that create large
# States, Densities, Tensors and Nets without close() keep a bounded peak RSS (VmHWM), under
# bin/qnnlab (generational GC) and stock lua5.4 (incremental GC). Without the accounting each
# loop below peaks at 0.7-1.3 GB; with it about one or two objects' memory.
# Env: O = build output dir. Prints "memory_rss: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
O=${O:-.}
case $O in /*) out=$O ;; *) out=$root/$O ;; esac
pass=0; fail=0
export QNN_QUIET=1 QNN_LUA_DIR=$root/lua OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
if [ -n "${SAN:-}" ]; then # ASan's quarantine holds freed memory: RSS says nothing there
  echo "memory_rss: 0 passed, 0 failed"; exit 0
fi
limit_kb=$((600 * 1024)) # without the accounting every loop below passes 900 MB
hwm='local f = io.open("/proc/self/status"); local s = f:read("a"); f:close(); print(s:match("VmHWM:%s*(%d+)"))'
check() { # name interpreter code
  local name=$1 interp=$2 code=$3 kb
  if [ "$interp" = lua5.4 ]; then
    kb=$(LUA_CPATH="$out/lib/?.so;;" LUA_PATH="$root/lua/?.lua;;" lua5.4 -e "local qnn = require 'qnn'; $code; $hwm" 2>&1 | tail -n1)
  else
    kb=$("$out/bin/qnnlab" -e "local qnn = require 'qnn'; $code; $hwm" 2>&1 | tail -n1)
  fi
  if [[ $kb =~ ^[0-9]+$ ]] && [ "$kb" -le $limit_kb ]; then
    pass=$((pass+1)); echo "ok $name ($interp): peak ${kb} kB"
  else
    fail=$((fail+1)); echo "FAIL memory_rss: $name ($interp): peak '$kb' kB > $limit_kb kB"
  fi
}
for interp in qnnlab lua5.4; do
  check "state(22) x 20" $interp 'for i = 1, 20 do local s = qnn.state(22) end'
  check "density(11) x 20" $interp 'for i = 1, 20 do local d = qnn.density(11) end'
  check "tensor.zeros(2048,2048) x 30" $interp 'for i = 1, 30 do local t = qnn.tensor.zeros(2048, 2048):fill(1) end'
  check "mlp{1000,2000,10} x 30" $interp 'for i = 1, 30 do local n = qnn.nn.mlp{1000, 2000, 10} n:params():fill(1) end'
  check "state copies kept in a ring of 3" $interp 'local r = {} for i = 1, 30 do r[i % 3] = qnn.state(21):h(0) end'
done
echo "memory_rss: $pass passed, $fail failed"
[ $fail -eq 0 ]
