#!/usr/bin/env bash
# One device call for the fused speed work: the library timings first (the head-dimension sweep,
# LSTM bfloat16, B=16 T=1024 N·D=768, forward and forward+backward; the other cells at 64 × 12),
# then correctness of the fused backend (quick grid, every cell and 16-bit dtype) with the time
# left. With BIN_DIR/flashrnn-before.gz (an earlier commit's binary) the LSTM sweep is also timed
# with it, in the same call, for a before/after comparison.
# Usage: scripts/fused/speed_round.sh BIN_DIR (holds flashrnn.gz). Logs and JSON go to $OUT.
set -uo pipefail
BIN=${1:-.device-bin/fspeed}
OUT=${OUT:-/tmp/fused-speed-round}; mkdir -p "$OUT"
. "$(dirname "$0")/speed_common.sh"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
bench_sweep
if [ -e "$BIN/flashrnn-before.gz" ]; then
  G=/tmp/flashrnn-before; gunzip -c "$BIN/flashrnn-before.gz" > "$G"; chmod +x "$G"
  stamp "bench (before): head-dimension sweep, lstm bfloat16"
  FLASHRNN_CACHE_DIR=/tmp/fspeed-kernel-cache-before timeout 40 "$G" gpu-bench --backend cuda-fused --cell lstm \
      --dtype bfloat16 --shapes "$SHAPES" --warmup 2 --reps 5 --json "$OUT/bench-lstm-before.json"
fi
stamp "check cudaFused --quick"
timeout "${CHECK_TIMEOUT:-120}" "$F" check --backend cuda-fused --quick > "$OUT/check-fused.log" 2>&1
grep -E "^FAIL" "$OUT/check-fused.log" | head -20; tail -1 "$OUT/check-fused.log"
stamp "done"
} 2>&1 | tee "$OUT/speed-round.log"
