#!/usr/bin/env bash
# One device call for the K-split cluster and grid sweeps (D > 128): the fused check of every
# cell restricted to D ≥ 129 (four processes), the upstream shapes 256 × 3 and 768 × 1 in bfloat16
# and dense H = 768 / 256 in float16, then compute-sanitizer on one cluster and one grid shape.
# Usage: scripts/fused/large_round.sh BIN_DIR, where BIN_DIR holds flashrnn.gz and optionally
# cache.tgz (scripts/device_binary.sh).
# Logs and JSON go to /tmp/large-round and, as one archive, to $OUT/large-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/large}
RESULTS=${OUT:-}
LOG=/tmp/large-round; mkdir -p "$LOG"
F=/tmp/flashrnn-large; FLASHRNN_CACHE_DIR=/tmp/large-kernel-cache
source "$(dirname "$0")/../device_binary.sh"
CHECK_S=${CHECK_S:-85}
B="--warmup 2 --reps 5"
CS=/usr/local/cuda/bin/compute-sanitizer
# The archive is rewritten after each part, so a call cut at its limit still returns what ran.
save() { [ -n "$RESULTS" ] && tar -czf "$RESULTS/large-round.tgz" -C "$LOG" .; }
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
echo "== check --backend cuda-fused --min-head-dim 129, every cell (4 processes, ${CHECK_S} s each at most)"
for c in lstm slstm gru elman; do
  timeout "$CHECK_S" "$F" check --backend cuda-fused --cell $c --min-head-dim 129 > "$LOG/check-$c.log" 2>&1 &
done
wait
for c in lstm slstm gru elman; do
  echo "-- $c: $(grep -c '^PASS' "$LOG/check-$c.log") PASS lines; last: $(tail -1 "$LOG/check-$c.log")"
  grep -E "^FAIL" "$LOG/check-$c.log" | head -8
done
save
echo "== timings (CUDA events, median of 5 after 2 warm-ups)"
timeout 25 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,3,256;16,1024,1,768" $B --json "$LOG/bench-bf16.json"
timeout 20 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256" $B --json "$LOG/bench-f16.json" | grep -v "^device"
for c in slstm gru elman; do
  timeout 10 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,1,768" $B | grep -v "^device\|^backend"
done
save
echo "== compute-sanitizer, LSTM bfloat16 forward+backward: cluster D = 200, grid D = 529"
echo "-- memcheck 9,5,1,200"; timeout 15 $CS --tool memcheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,200" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|Error|error" | head -4
echo "-- racecheck 9,5,1,200"; timeout 25 $CS --tool racecheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,200" --warmup 0 --reps 1 2>&1 | grep -E "RACECHECK SUMMARY|Error|error" | head -4
echo "-- memcheck 9,5,1,529"; timeout 15 $CS --tool memcheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,529" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|Error|error" | head -4
echo "== done $(date -u)"
} 2>&1 | tee "$LOG/round.log"
save
