#!/usr/bin/env bash
# One device round for cudaAlternating's tensor-core steps (one call, ≤ 180 s): timings first,
# one process per configuration (default: mma forward and backward for 16-bit D ≥ 256;
# FLASHRNN_ALTERNATING_MMA=forward: mma forward only; =0: FFMA), then checks in parallel: every
# cell, every dtype, --min-head-dim 129 (float32 runs the FFMA path), and the mma steps on every
# eligible D (=all) for LSTM bf16 and GRU fp16 over the full grid.
# Usage: scripts/altmma-round.sh BIN_DIR (holds flashrnn.gz and cache.tgz); logs under $OUT.
set -uo pipefail
BIN=${1:-.device-bin/altmma}
OUT=${OUT:-/tmp/altmma-round}; mkdir -p "$OUT"
F=/tmp/flashrnn-altmma
FLASHRNN_CACHE_DIR=/tmp/altmma-kernel-cache
source scripts/device_binary.sh
bench() {  # cell dtype shapes [env...]
  local cell=$1 dtype=$2 shape=$3; shift 3
  env "$@" timeout 30 "$F" gpu-bench --backend cuda-alternating --cell "$cell" --dtype "$dtype" --shapes "$shape" \
      --warmup 2 --reps 10 2>&1 | grep -v "^$" | sed "s/^/$cell $dtype $* | /"
}
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
echo "== LSTM bf16 256x3 and 768x1: mma fw+bw (default), mma forward only, FFMA"
bench lstm bfloat16 "16,1024,3,256;16,1024,1,768"
bench lstm bfloat16 "16,1024,3,256;16,1024,1,768" FLASHRNN_ALTERNATING_MMA=forward
bench lstm bfloat16 "16,1024,3,256;16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
echo "== other cells bf16 768x1, LSTM fp16 768x1: mma, then FFMA"
for cell in gru elman slstm; do
  bench $cell bfloat16 "16,1024,1,768"; bench $cell bfloat16 "16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
done
bench lstm float16 "16,1024,1,768"; bench lstm float16 "16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
echo "== threshold: LSTM bf16 64x12 and 128x6 with the mma steps (default there: FFMA)"
bench lstm bfloat16 "16,1024,12,64;16,1024,6,128" FLASHRNN_ALTERNATING_MMA=all
bench lstm bfloat16 "16,1024,12,64;16,1024,6,128"
echo "== benches done $(date -u)"
} 2>&1 | tee "$OUT/bench.log"
for cell in lstm slstm gru elman; do
  timeout 105 "$F" check --backend cuda-alternating --cell $cell --min-head-dim 129 > "$OUT/check-$cell.log" 2>&1 &
done
( FLASHRNN_ALTERNATING_MMA=all timeout 100 "$F" check --backend cuda-alternating --cell lstm --dtype bfloat16 2>&1
  FLASHRNN_ALTERNATING_MMA=all timeout 60 "$F" check --backend cuda-alternating --cell gru --dtype float16 2>&1 ) > "$OUT/check-mma-all.log" &
wait
echo "== checks done $(date -u)" >> "$OUT/bench.log"
for f in "$OUT"/check-*.log; do echo "$f: $(grep -c '^FAIL' "$f") FAIL lines; $(tail -1 "$f")"; done
