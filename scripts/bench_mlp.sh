#!/usr/bin/env bash
# Wrapper for scripts/bench_mlp.lua (Digits MLP vs scikit-learn and PyTorch), single-threaded.
# `make bench` runs this wrapper instead of the Lua script (a .sh wins over a .lua of the same
# name). Usage: bash scripts/bench_mlp.sh [--append]  (--append records the table
# in docs/performance.md under "Networks (MLP)"). Env: O (build dir), QNN_BENCH_SEEDS,
# QNN_BENCH_EPOCHS, QNN_BENCH_NO_INSTALL=1.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export QNN_LUA_DIR="$PWD/lua" QNN_ROOT="$PWD"
[ "${1:-}" = "--append" ] && export QNN_BENCH_APPEND=1
if [ -x "$O/bin/qnnlab" ]; then
  exec "$O/bin/qnnlab" scripts/bench_mlp.lua
else
  LUA_CPATH="$O/lib/?.so;;" exec lua5.4 scripts/bench_mlp.lua
fi
