#!/usr/bin/env bash
# Single-thread benchmark of the natural-quantization layer (see scripts/bench_nq.lua).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-.}
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$O/bin/qnnlab" scripts/bench_nq.lua "$@"
