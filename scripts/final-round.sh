#!/usr/bin/env bash
# The lead's closing round on the H200, one call: correctness of both GPU backends, the
# head-dimension sweep for both, the cuDNN baseline in the same call, and the training demo
# on the GPU. Usage: scripts/final-round.sh BIN_DIR (holds flashrnn.gz and cudnn_baseline.py).
set -uo pipefail
BIN=${1:-.device-bin/final}
OUT=${OUT:-/tmp/final-round}; mkdir -p "$OUT"
F=/tmp/flashrnn-final; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/final-kernel-cache
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$F" info
echo "== check cudaFused (quick grid, every cell and dtype)"
timeout 150 "$F" check --backend cuda-fused --quick > "$OUT/check-fused.log" 2>&1
grep -E "^FAIL" "$OUT/check-fused.log" | head -20; tail -1 "$OUT/check-fused.log"
echo "== check cudaAlternating float32 (quick grid)"
timeout 90 "$F" check --backend cuda-alternating --dtype float32 --quick > "$OUT/check-alt-f32.log" 2>&1
grep -E "^FAIL" "$OUT/check-alt-f32.log" | head -20; tail -1 "$OUT/check-alt-f32.log"
echo "== bench: head-dimension sweep, lstm bfloat16, B=16 T=1024 N*D=768"
timeout 60 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --preset head-dim --warmup 2 --reps 5 --json "$OUT/bench-alt.json"
timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128" --warmup 2 --reps 5 --json "$OUT/bench-fused.json"
echo "== cuDNN baseline, same call"
PYTHONUNBUFFERED=1 timeout 60 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16 --shapes "16,1024,768;16,1024,128;16,1024,64" --json "$OUT/cudnn.json"
echo "== train parity on the GPU (--backend auto, short)"
timeout 60 "$F" train parity --backend auto --steps 300 --eval-sequences 128 --out /tmp/train-gpu 2>&1 | tail -12
} 2>&1 | tee "$OUT/final-round.log"
