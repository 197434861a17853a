#!/usr/bin/env bash
# Device call for the float32 cells in float64 (AccurateMath::Scalar, Newton reciprocals): the
# float32 check grids of both GPU backends (every cell, 8 processes), float32 timings of both
# backends at dense H = 64 and 64 x 12, and cuDNN float32 H = 64 with TF32 allowed (PyTorch's
# default) and off, in the same call. Usage: scripts/f32cells_round.sh BIN_DIR; logs in
# $OUT/f32cells-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/f32cells}
source "$(dirname "$0")/round_setup.sh" f32cells
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check float32, full grids of both backends, every cell (8 processes)"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  timeout 100 "$F" check --backend $b --cell $c --dtype float32 > "$L/check-$b-$c.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL" "$f" | head -6; done
stamp "float32 timings, dense H = 64 and 64 x 12"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  timeout 40 "$F" gpu-bench --backend $b --cell $c --dtype float32 --shapes "16,1024,1,64;16,1024,12,64" $B | grep -v "^device\|^backend"
done; done
stamp "cuDNN float32 H = 64: TF32 as PyTorch's default, then off"
for m in default off; do
  PYTHONUNBUFFERED=1 timeout 40 python3 "$BIN/cudnn_baseline.py" --cells lstm,gru,elman --dtypes float32 --shapes "16,1024,64" --tf32 $m 2>&1 | grep -v Warning | grep -v "_VF"
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/f32cells-round.tgz" -C "$L" .
