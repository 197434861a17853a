#!/usr/bin/env bash
# One device round for the alternating backend (one call): check of every cell and dtype
# (--quick), `flashrnn run` on .npy files against the CPU, the LSTM bf16 head-dimension sweep
# with and without PDL (FLASHRNN_ALTERNATING_PDL=0) and with 8-warp forward blocks, the other
# cells at 64 × 12 and 768 × 1.
# Usage: scripts/altspeed-round.sh BIN_DIR (holds flashrnn.gz and check_run_gpu.py).
set -uo pipefail
BIN=${1:-.device-bin/altspeed}
OUT=${OUT:-/tmp/altspeed-round}; mkdir -p "$OUT"
F=/tmp/flashrnn-altspeed; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/altspeed-kernel-cache
SHAPES_OTHER="16,1024,12,64;16,1024,1,768"
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
echo "== check cudaAlternating (quick grid, every cell and dtype)"
timeout 80 "$F" check --backend cuda-alternating --quick > "$OUT/check.log" 2>&1
grep -E "^FAIL" "$OUT/check.log" | head -20; tail -1 "$OUT/check.log"
echo "== bench LSTM bf16 head-dim sweep (PDL on)"
timeout 30 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --preset head-dim --warmup 2 --reps 5 --json "$OUT/bench-lstm.json"
echo "== flashrnn run on .npy, GPU vs CPU (float32, bfloat16)"
timeout 25 python3 "$BIN/check_run_gpu.py" "$F" float32 2>/dev/null
timeout 25 python3 "$BIN/check_run_gpu.py" "$F" bfloat16 2>/dev/null
echo "== bench LSTM bf16 head-dim sweep (PDL off)"
FLASHRNN_ALTERNATING_PDL=0 timeout 25 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --preset head-dim --warmup 2 --reps 5
echo "== bench LSTM bf16 head-dim sweep (PDL on, forward blocks of 8 warps)"
FLASHRNN_ALTERNATING_WARPS=8,8 timeout 25 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --preset head-dim --warmup 2 --reps 5
for cell in gru elman slstm; do
  echo "== bench $cell bf16"
  timeout 20 "$F" gpu-bench --backend cuda-alternating --cell $cell --dtype bfloat16 --shapes "$SHAPES_OTHER" --warmup 2 --reps 5
done
echo "== done $(date -u)"
} 2>&1 | tee "$OUT/round.log"
