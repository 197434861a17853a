#!/bin/bash
# One GPU round for the fused backend (build nothing there). BIN (this script's folder) holds the
# static `flashrnn` (or flashrnn.gz), the stand-alone harness h0..h3 and the cuDNN baseline scripts. Logs in $OUT.
#   kernel level: harness check (float32 host reference) and timing with CUDA events;
#   library level: `flashrnn check --backend cuda-fused` (full matrix, float64 CPU reference),
#   `flashrnn gpu-bench` fused and alternating, then cuDNN in the same run; compute-sanitizer.
set -uo pipefail
BIN=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/fused-round}; mkdir -p "$OUT/json"
F=/tmp/flashrnn-fused
if [ -f "$BIN/flashrnn.gz" ]; then gunzip -c "$BIN/flashrnn.gz" > "$F"; else cp "$BIN/flashrnn" "$F"; fi
chmod +x "$F"
H=/tmp/fused-harness; mkdir -p $H
for c in 0 1 2 3; do gunzip -c "$BIN/h$c.gz" > "$H/h$c" 2>/dev/null || cp "$BIN/h$c" "$H/h$c"; chmod +x "$H/h$c"; done
export FLASHRNN_CACHE_DIR=/tmp/fused-kernel-cache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv; date -u; } > "$OUT/harness.log"

echo "== harness check" | tee -a "$OUT/harness.log"
for c in 0 1 2 3; do timeout 60 "$H/h$c" check > "/tmp/hc$c.log" 2>&1 & done
wait
cat /tmp/hc?.log >> "$OUT/harness.log"; grep -E "FAIL|checks failed|CUDA" /tmp/hc?.log
echo "== harness timing" | tee -a "$OUT/harness.log"
for c in 0 1 2 3; do timeout 40 "$H/h$c" time 2>&1 | grep TIME | tee -a "$OUT/harness.log"; done

echo "== flashrnn check --backend cuda-fused"
timeout ${CHECK_TIMEOUT:-90} "$F" check --backend cuda-fused > "$OUT/check.log" 2>&1
grep -E "^FAIL" "$OUT/check.log" | head -20; tail -1 "$OUT/check.log"

echo "== gpu-bench" | tee "$OUT/bench.log"
SWEEP="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128"
bench() { local name=$1; shift; timeout 40 "$F" gpu-bench "$@" --json "$OUT/json/$name.json" 2>&1 | grep -v "^device" | tee -a "$OUT/bench.log"; }
bench fused-lstm-bf16-headdim --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SWEEP" --warmup 3 --reps 15
bench alt-lstm-bf16-headdim --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "$SWEEP" --warmup 2 --reps 5
for cell in slstm gru elman; do
  bench fused-$cell-bf16-64x12 --backend cuda-fused --cell $cell --dtype bfloat16 --shapes "16,1024,12,64" --warmup 3 --reps 15
done
bench fused-lstm-fp16-dense --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,64;16,1024,1,128" --warmup 3 --reps 15
bench fused-lstm-bf16-batch --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch --warmup 2 --reps 7
bench fused-lstm-bf16-length --backend cuda-fused --cell lstm --dtype bfloat16 --preset length --warmup 2 --reps 7

echo "== cuDNN baseline (same run)" | tee "$OUT/cudnn.log"
PYTHONUNBUFFERED=1 timeout 60 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float16,float32,bfloat16 \
    --shapes "16,1024,64;16,1024,128;16,1024,768" --json "$OUT/json/cudnn.json" 2>&1 | tee -a "$OUT/cudnn.log"

echo "== compute-sanitizer (harness, lstm bfloat16 B=9 T=5 N=2 D=33)" | tee "$OUT/sanitizer.log"
timeout 30 compute-sanitizer --tool memcheck "$H/h0" small 2>&1 | tail -3 | tee -a "$OUT/sanitizer.log"
timeout 30 compute-sanitizer --tool racecheck "$H/h0" small 2>&1 | tail -3 | tee -a "$OUT/sanitizer.log"
tar -C "$OUT" -cf "$OUT/json.tar" json && rm -rf "$OUT/json"
