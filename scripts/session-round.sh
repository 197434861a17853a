#!/usr/bin/env bash
# One call on the H200 for a whole round: correctness of both GPU backends (full check grids, the
# four cells in parallel processes), then timings with nothing else on the GPU (head-dimension
# sweep of both backends, the other cells, dense LSTM, batch and length sweeps), PyTorch cuDNN in
# the same call, first-call times, compute-sanitizer on one shape per fused decomposition, and the
# training demo (ROUND_SWEEPS=0 leaves out the batch and length sweeps, ~4 min).
# Usage: scripts/session-round.sh BIN_DIR, where BIN_DIR holds flashrnn.gz, cudnn_baseline.py and
# optionally cache.tgz (a kernel cache filled on a CPU machine with
# `flashrnn compile-kernels --arch sm_90a --fill-cache`). Logs and JSON go to /tmp/session-round and,
# as one archive (the device tool returns at most 8 files), to $OUT/session-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
RESULTS=${OUT:-}
OUT=/tmp/session-round; mkdir -p "$OUT"
F=/tmp/flashrnn-round; FLASHRNN_CACHE_DIR=/tmp/round-kernel-cache
source "$(dirname "$0")/device_binary.sh"
CHECK_S=${CHECK_S:-170}
B="--warmup 2 --reps 5"
SWEEP="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768"
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
"$F" info 2>&1 | head -12
echo "== check, full grids: cudaFused and cudaAlternating, every cell (8 processes)"
# ROUND_CHECK="fused" checks one backend only (the other unchanged since its last full round).
CHECKED=${ROUND_CHECK:-fused alt}
for c in lstm slstm gru elman; do
  [[ " $CHECKED " == *" fused "* ]] && timeout "$CHECK_S" "$F" check --backend cuda-fused --cell $c > "$OUT/check-fused-$c.log" 2>&1 &
  [[ " $CHECKED " == *" alt "* ]] && timeout "$CHECK_S" "$F" check --backend cuda-alternating --cell $c > "$OUT/check-alt-$c.log" 2>&1 &
done
wait
for b in $CHECKED; do for c in lstm slstm gru elman; do
  echo "-- $b $c: $(tail -1 "$OUT/check-$b-$c.log")"; grep -E "^FAIL" "$OUT/check-$b-$c.log" | head -6
done; done
echo "== timings (CUDA events, median of 5 after 2 warm-ups); LSTM bfloat16 head-dimension sweep"
timeout 60 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "$SWEEP" $B --json "$OUT/bench-alt-lstm.json"
timeout 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SWEEP" $B --json "$OUT/bench-fused-lstm.json"
echo "== the other cells, bfloat16, 64 x 12 and 768 x 1"
for c in slstm gru elman; do
  timeout 30 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,1,768" $B --json "$OUT/bench-fused-$c.json" | grep -v "^device\|^backend"
  timeout 30 "$F" gpu-bench --backend cuda-alternating --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,1,768" $B --json "$OUT/bench-alt-$c.json" | grep -v "^device\|^backend"
done
echo "== dense LSTM: float16 H = 768, 256, 64 (fused), float32 H = 64 (both backends; fused where it runs float32)"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" $B --json "$OUT/bench-fused-dense-f16.json" | grep -v "^device"
timeout 30 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype float32 --shapes "16,1024,1,64;16,1024,1,768;16,1024,48,16" $B --json "$OUT/bench-alt-dense-f32.json" | grep -v "^device"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64;16,1024,48,16" $B --json "$OUT/bench-fused-dense-f32.json" | grep -v "^device"
if [ "${ROUND_SWEEPS:-1}" = 1 ]; then
echo "== batch and length sweeps, fused LSTM bfloat16 64 x 12"
# Generating the B = 256 inputs on the host takes over a minute.
timeout 200 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch $B --json "$OUT/bench-fused-batch.json" | grep -v "^device"
timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset length $B --json "$OUT/bench-fused-length.json" | grep -v "^device"
fi
echo "== cuDNN (PyTorch nn.LSTM, dense), same call"
PYTHONUNBUFFERED=1 timeout 90 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$OUT/cudnn.json"
echo "== first call of a new shape: empty kernel cache, then the disk cache warm (new process)"
for k in cold warm; do
  for s in "gru float16 7,300,5,40" "lstm bfloat16 16,1024,12,64" "lstm bfloat16 16,1024,1,768"; do set -- $s
    FLASHRNN_CACHE_DIR=/tmp/first-call-cache timeout 30 "$F" gpu-bench --backend cuda-fused --cell $1 --dtype $2 --shapes "$3" --first-call | grep -v "^device\|^backend"
    FLASHRNN_CACHE_DIR=/tmp/first-call-cache timeout 30 "$F" gpu-bench --backend cuda-alternating --cell $1 --dtype $2 --shapes "$3" --first-call | grep -v "^device\|^backend"
  done
done
echo "-- the same warm, with the host trace (FLASHRNN_TRACE=1)"
for b in cuda-fused cuda-alternating; do
  FLASHRNN_TRACE=1 FLASHRNN_CACHE_DIR=/tmp/first-call-cache timeout 30 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "16,1024,1,768" --first-call 2>&1 | grep -v "^device\|^backend"
done
echo "== training demo on the GPU (parity, --backend auto, 300 steps)"
timeout 40 "$F" train parity --backend auto --steps 300 --eval-sequences 128 --out /tmp/train-gpu 2>&1 | tail -6
echo "== compute-sanitizer: one SM (D = 33), cluster (D = 200), grid (D = 529); LSTM bfloat16, forward+backward"
CS=/usr/local/cuda/bin/compute-sanitizer
# ROUND_SANITIZER=0: only the grid memcheck below (the one-SM and cluster kernels unchanged since their last clean run).
[ "${ROUND_SANITIZER:-1}" = 1 ] && for s in "9,5,2,33" "9,5,1,200"; do for tool in memcheck racecheck; do
  echo "-- $tool $s"; timeout 45 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -4
done; done
echo "-- memcheck and racecheck: cudaAlternating tensor-core steps (LSTM bf16 D = 64) and the fused float32 forward (GRU D = 33)"
for tool in memcheck racecheck; do
  timeout 60 $CS --tool $tool "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "9,5,1,64" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -4
  timeout 60 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell gru --dtype float32 --shapes "9,5,1,33" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -4
done
echo "-- memcheck 9,5,1,529"; timeout 45 $CS --tool memcheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,529" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|Error" | head -4
echo "== done $(date -u)"
} 2>&1 | tee "$OUT/round.log"
[ -n "$RESULTS" ] && tar -czf "$RESULTS/session-round.tgz" -C "$OUT" .
