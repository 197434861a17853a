#!/bin/bash
# One device round for the fused kernels' stand-alone harness (binaries built on the CPU machine
# with scripts/fused/build_harness.sh and carried in .device-bin/fused). Logs go to $OUT.
set -o pipefail
BIN=$(dirname "$0")
OUT=${OUT:-/tmp/fused-out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv | tee "$OUT/machine.txt"
echo "== checks" | tee "$OUT/check.log"
for c in 0 1 2 3; do timeout 60 "$BIN/h$c" check > "$OUT/check$c.log" 2>&1 & done
wait
cat "$OUT"/check?.log | tee -a "$OUT/check.log" | grep -E "FAIL|checks failed|CUDA"
echo "== timing" | tee "$OUT/time.log"
for c in 0 1 2 3; do timeout 60 "$BIN/h$c" time 2>&1 | grep TIME | tee -a "$OUT/time.log"; done
echo "== cuDNN baseline (same run)" | tee "$OUT/cudnn.log"
timeout 60 python3 "$BIN/cudnn_lstm.py" 2>&1 | tee -a "$OUT/cudnn.log"
echo "== compute-sanitizer" | tee "$OUT/sanitizer.log"
timeout 40 compute-sanitizer --tool memcheck "$BIN/h0" small 2>&1 | tail -4 | tee -a "$OUT/sanitizer.log"
timeout 40 compute-sanitizer --tool racecheck "$BIN/h0" small 2>&1 | tail -4 | tee -a "$OUT/sanitizer.log"
