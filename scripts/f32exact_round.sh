#!/usr/bin/env bash
# Device call of round f32exact (seventh session): the float32 check grids of cudaAlternating and
# cudaFused, every cell, the full grid, two fresh seeds each (16 processes), then cudaAlternating
# float32 LSTM B = 16, T = 1024, 64 x 12 timings (forward, forward+backward).
# Usage: scripts/f32exact_round.sh BIN_DIR; logs in $OUT/f32exact-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/f32exact}
export FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" f32exact
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
base=$(( $(date +%s) * 1000 ))
# No cache fill: the first seed's eight processes (disjoint backend x cell) compile the modules
# their grids need (about a second each here), the second seed finds them in the disk cache.
for seed in $((base + 1)) $((base + 2)); do
  stamp "check float32, full grid, every cell, both backends, seed $seed"
  for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
    timeout 60 "$F" check --backend $b --cell $c --dtype float32 --seed $seed > "$L/check-$b-$c-$seed.log" 2>&1 &
  done; done
  wait
done
wait
for f in "$L"/check-*.log; do
  echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f" | tr '\n' ' ')"
  grep -E "^FAIL" "$f" | head -6
done
stamp "cudaAlternating float32 LSTM 16 x 1024, 64 x 12 and 64 x 1"
for rep in 1 2; do
  timeout 20 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype float32 --shapes "16,1024,12,64;16,1024,1,64" $B | grep -v "^device\|^backend"
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/f32exact-round.tgz" -C "$L" .
