#!/bin/bash
# Short GPU round for the fused backend: the library-level check on all cells (--quick: every
# option, odd sizes and the D=128/129 boundary, no D=768 references) and the batch sweep.
set -uo pipefail
BIN=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/fused-round}; mkdir -p "$OUT"
F=/tmp/flashrnn-fused; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/fused-kernel-cache
echo "== flashrnn check --backend cuda-fused --quick"
timeout ${CHECK_TIMEOUT:-75} "$F" check --backend cuda-fused --quick > "$OUT/check.log" 2>&1
grep -E "^FAIL" "$OUT/check.log" | head -20; tail -1 "$OUT/check.log"
echo "== gpu-bench batch and length sweeps (lstm bfloat16, D=64 N=12)" | tee "$OUT/bench.log"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch --warmup 2 --reps 5 2>&1 | tee -a "$OUT/bench.log"
timeout 20 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset length --warmup 2 --reps 5 2>&1 | tee -a "$OUT/bench.log"
