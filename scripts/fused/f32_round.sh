#!/usr/bin/env bash
# One H200 call for cudaFused in float32 (3xTF32): the float32 check grid of every cell (four
# parallel processes) with a quick 16-bit regression grid and compute-sanitizer (memcheck,
# racecheck) on one float32 shape beside it, then timings of fused and alternating float32 and
# PyTorch cuDNN float32 at H = 64. Usage: scripts/fused/f32_round.sh BIN_DIR (flashrnn.gz,
# cudnn_baseline.py, optionally cache.tgz from `compile-kernels --arch sm_90a --fill-cache`).
# Everything goes to $OUT/f32-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/f32}
RESULTS=${OUT:-}
LOG=/tmp/f32-round; mkdir -p "$LOG"
. scripts/fused/speed_common.sh     # $F (the binary), FLASHRNN_CACHE_DIR
mkdir -p "$FLASHRNN_CACHE_DIR"
# A cache filled on the CPU machine, offered under the NVRTC versions the device may report.
if [ -e "$BIN/cache.tgz" ]; then
  tar -xzf "$BIN/cache.tgz" -C "$FLASHRNN_CACHE_DIR"
  for d in "$FLASHRNN_CACHE_DIR"/*; do for v in 13.0 13.1 13.2; do n=${d/nvrtc13.?/nvrtc$v}; [ -e "$n" ] || cp -r "$d" "$n"; done; done
fi
CHECK_S=${CHECK_S:-90}
B="--warmup 2 --reps 5"
CS=/usr/local/cuda/bin/compute-sanitizer
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
"$F" info 2>&1 | head -8
echo "== check: cudaFused float32, every cell; quick 16-bit grid; sanitizer on float32 (parallel)"
for c in lstm slstm gru elman; do
  timeout "$CHECK_S" "$F" check --backend cuda-fused --dtype float32 --cell $c > "$LOG/check-f32-$c.log" 2>&1 &
done
for d in float16 bfloat16; do
  timeout "$CHECK_S" "$F" check --backend cuda-fused --dtype $d --quick > "$LOG/check-quick-$d.log" 2>&1 &
done
( for s in "9,5,2,33" "3,4,1,64"; do for tool in memcheck racecheck; do
    echo "-- $tool lstm float32 $s"
    timeout 20 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "$s" --warmup 0 --reps 1 2>&1 \
      | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -4
  done; done ) > "$LOG/sanitizer.log" 2>&1 &
wait
for f in "$LOG"/check-*.log; do
  echo "-- $(basename "$f"): $(tail -1 "$f")"; grep -E "^FAIL" "$f" | head -8
done
cat "$LOG/sanitizer.log"
[ -n "$RESULTS" ] && tar -czf "$RESULTS/f32-round.tgz" -C "$LOG" .    # in case the timings overrun
echo "== timings float32 (CUDA events, median of 5 after 2 warm-ups), LSTM"
S="16,1024,1,64;16,1024,48,16;16,1024,12,64"
timeout 25 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "$S" $B --json "$LOG/bench-fused-f32.json"
timeout 25 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype float32 --shapes "$S" $B --json "$LOG/bench-alt-f32.json" | grep -v "^device"
echo "== cuDNN float32 H = 64"
PYTHONUNBUFFERED=1 timeout 30 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float32 --shapes "16,1024,64" --json "$LOG/cudnn.json"
echo "== done $(date -u)"
} 2>&1 | tee "$LOG/round.log"
[ -n "$RESULTS" ] && tar -czf "$RESULTS/f32-round.tgz" -C "$LOG" .
