#!/usr/bin/env bash
# Round f32bwd, one H200 call: the float32 FMA backward (backward_f32_kernel). The float32 check
# grid of every cell (4 processes), beside it a quick grid of every cell on a second seed, LSTM
# and GRU quick grids with the slice forced to 4, and compute-sanitizer (memcheck, racecheck) on
# one shape; then float32 timings: LSTM with the FMA and the 3xTF32 backward
# (FLASHRNN_FUSED_F32_BACKWARD=tf32), the other cells at 1 x 64, a stream-time trace, and cuDNN.
# Usage: scripts/fused/f32bwd_round.sh BIN_DIR (flashrnn.gz, cache.tgz, cudnn_baseline.py);
# logs in $OUT/f32bwd-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/f32bwd}
source "$(dirname "$0")/../round_setup.sh" f32bwd
CS=/usr/local/cuda/bin/compute-sanitizer
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
for c in lstm slstm gru elman; do
  timeout 90 "$F" check --backend cuda-fused --dtype float32 --cell $c > "$L/check-$c.log" 2>&1 &
done
timeout 90 "$F" check --backend cuda-fused --dtype float32 --quick --seed 424242 > "$L/check-quick-seed.log" 2>&1 &
for c in lstm gru; do
  FLASHRNN_FUSED_F32_SLICE=4 timeout 90 "$F" check --backend cuda-fused --dtype float32 --cell $c --quick > "$L/check-$c-slice4.log" 2>&1 &
done
# gru D = 33: register loads, slice 1; lstm D = 20: the staged ring, slice 4 (3 CTAs per head, the last partial).
( for tool in memcheck racecheck; do echo "-- $tool gru float32 9,5,2,33 and lstm 9,6,2,20 (slice 4)"
    for s in "gru 9,5,2,33 0" "lstm 9,6,2,20 4"; do set -- $s
      FLASHRNN_FUSED_F32_SLICE=$3 timeout 45 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell $1 --dtype float32 --shapes "$2" --warmup 0 --reps 1 2>&1 | grep -E "SUMMARY|rror" | head -4
    done
  done ) > "$L/sanitizer.log" 2>&1 &
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(tail -1 "$f")"; grep -E "^FAIL" "$f" | head -8; done
cat "$L/sanitizer.log"
tar -czf "$RESULTS/f32bwd-round.tgz" -C "$L" .
stamp "timings float32 fused (CUDA events, median of 5 after 2 warm-ups)"
for v in fma tf32; do echo "-- lstm backward $v"
  FLASHRNN_FUSED_F32_BACKWARD=$v timeout 25 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64;16,1024,12,64;16,1024,48,16" $B --json "$L/bench-lstm-$v.json" | grep -v "^device"
done
for c in gru elman slstm; do timeout 12 "$F" gpu-bench --backend cuda-fused --cell $c --dtype float32 --shapes "16,1024,1,64" $B --json "$L/bench-$c.json" | grep -v "^device\|^backend"; done
stamp "stream times, lstm float32 16,1024,1,64 (FLASHRNN_TRACE, second call)"
for v in fma tf32; do echo "-- backward $v"
  FLASHRNN_FUSED_F32_BACKWARD=$v FLASHRNN_TRACE=1 timeout 12 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -6
done
stamp "cuDNN float32 H = 64"
PYTHONUNBUFFERED=1 timeout 30 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float32 --shapes "16,1024,64" --json "$L/cudnn.json"
stamp done
} 2>&1 | tee "$L/round.log" "$RESULTS/f32bwd-round.log"
tar -czf "$RESULTS/f32bwd-round.tgz" -C "$L" .
