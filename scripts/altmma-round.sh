#!/usr/bin/env bash
# One device round for cudaAlternating's tensor-core forward (one call, ≤ 180 s): timings first
# (new path, then FLASHRNN_ALTERNATING_MMA=0 for the FFMA path, one process each), then the
# 16-bit checks of the large heads (--min-head-dim 129), one process per cell in parallel, and a
# check with the mma forward on every eligible D (FLASHRNN_ALTERNATING_MMA=all).
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
echo "== LSTM bf16 256x3 and 768x1: mma forward (default), then FFMA (FLASHRNN_ALTERNATING_MMA=0)"
bench lstm bfloat16 "16,1024,3,256;16,1024,1,768"
bench lstm bfloat16 "16,1024,3,256;16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
echo "== other cells bf16 768x1, LSTM fp16 768x1: mma, then FFMA"
for cell in gru elman slstm; do
  bench $cell bfloat16 "16,1024,1,768"; bench $cell bfloat16 "16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
done
bench lstm float16 "16,1024,1,768"; bench lstm float16 "16,1024,1,768" FLASHRNN_ALTERNATING_MMA=0
echo "== threshold: LSTM bf16 64x12 and 128x6 with the mma forward (default there: FFMA)"
bench lstm bfloat16 "16,1024,12,64;16,1024,6,128" FLASHRNN_ALTERNATING_MMA=all
bench lstm bfloat16 "16,1024,12,64;16,1024,6,128"
echo "== benches done $(date -u)"
} 2>&1 | tee "$OUT/bench.log"
for cell in lstm slstm gru elman; do
  ( for dtype in bfloat16 float16; do
      timeout 120 "$F" check --backend cuda-alternating --cell $cell --dtype $dtype --min-head-dim 129 2>&1
    done > "$OUT/check-$cell.log" ) &
done
( FLASHRNN_ALTERNATING_MMA=all timeout 120 "$F" check --backend cuda-alternating --cell lstm --dtype bfloat16 2>&1
  FLASHRNN_ALTERNATING_MMA=all timeout 120 "$F" check --backend cuda-alternating --cell gru --dtype float16 2>&1 ) > "$OUT/check-mma-all.log" &
wait
echo "== checks done $(date -u)" >> "$OUT/bench.log"
for f in "$OUT"/check-*.log; do echo "$f: $(grep -c '^FAIL' "$f") FAIL lines; $(tail -1 "$f")"; done
