#!/usr/bin/env bash
# make fuzz: builds the ASan+UBSan copy (O=build/asan SAN=1, like make asan) and runs the random
# API + file fuzzer (tests/fuzz/fuzz.lua) for FUZZ_S seconds (default 60).
# Env: FUZZ_S, FUZZ_SEED, FUZZ_HANG, FUZZ_MODE, FUZZ_LINES, FUZZ_PROGRAM, FUZZ_SHRINK_S, FUZZ_KEEP
# (see tests/fuzz/fuzz.lua). Exit 0: nothing found; 1: a finding (minimal reproducer printed).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FUZZ_NOBUILD:-}" ]; then
  make --no-print-directory -j2 O=build/asan SAN=1 OPT=-O1 all >/dev/null
fi
export QNN_ROOT=$(pwd)
exec lua5.4 tests/fuzz/fuzz.lua
