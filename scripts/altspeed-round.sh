#!/usr/bin/env bash
# One device round for the alternating backend (one call): check of every cell and dtype
# (--quick); float32 check with one seed for this binary and a reference binary (regression);
# the LSTM bf16 head-dimension sweep; at 64 × 12 and 768 × 1 the variants without PDL
# (FLASHRNN_ALTERNATING_PDL=0) and with other warps per block (FLASHRNN_ALTERNATING_WARPS),
# LSTM fp16 and the other cells. One process per shape, so a time-out loses one line only.
# Usage: scripts/altspeed-round.sh BIN_DIR [REFERENCE_BIN_DIR] (each holds flashrnn.gz).
set -uo pipefail
BIN=${1:-.device-bin/altspeed}; REF=${2:-}
OUT=${OUT:-/tmp/altspeed-round}; mkdir -p "$OUT"
F=/tmp/flashrnn-altspeed; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/altspeed-kernel-cache
bench() {  # cell dtype shape [env...]
  local cell=$1 dtype=$2 shape=$3; shift 3
  env "$@" timeout 25 "$F" gpu-bench --backend cuda-alternating --cell "$cell" --dtype "$dtype" --shapes "$shape" \
      --warmup 2 --reps 5 2>&1 | grep cudaAlternating | sed "s/^/$* /"
}
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
echo "== check cudaAlternating (quick grid, every cell and dtype)"
timeout 60 "$F" check --backend cuda-alternating --quick > "$OUT/check.log" 2>&1
grep -E "^FAIL" "$OUT/check.log" | head -20; tail -1 "$OUT/check.log"
if [ -n "$REF" ]; then
  echo "== float32 check, seed 20261129: this binary, then the reference binary"
  gunzip -c "$REF/flashrnn.gz" > /tmp/flashrnn-ref; chmod +x /tmp/flashrnn-ref
  timeout 25 "$F" check --backend cuda-alternating --dtype float32 --quick --seed 20261129 > "$OUT/check-f32-seed.log" 2>&1
  grep -E "^FAIL" "$OUT/check-f32-seed.log"; tail -1 "$OUT/check-f32-seed.log"
  FLASHRNN_CACHE_DIR=/tmp/ref-cache timeout 25 /tmp/flashrnn-ref check --backend cuda-alternating --dtype float32 --quick --seed 20261129 > "$OUT/check-f32-seed-ref.log" 2>&1
  grep -E "^FAIL" "$OUT/check-f32-seed-ref.log"; tail -1 "$OUT/check-f32-seed-ref.log"
fi
echo "== LSTM bf16 head-dimension sweep (B=16 T=1024 N*D=768), default variant"
for s in "16,1024,48,16" "16,1024,24,32" "16,1024,12,64" "16,1024,6,128" "16,1024,3,256" "16,1024,1,768"; do bench lstm bfloat16 "$s"; done
echo "== variants at 64 x 12 and 768 x 1"
for s in "16,1024,12,64" "16,1024,1,768"; do
  bench lstm bfloat16 "$s" FLASHRNN_ALTERNATING_PDL=0
  bench lstm bfloat16 "$s" FLASHRNN_ALTERNATING_WARPS=8,8
  bench lstm bfloat16 "$s" FLASHRNN_ALTERNATING_WARPS=4,4
done
echo "== other cells and dtypes"
for s in "16,1024,12,64" "16,1024,1,768"; do
  bench lstm float16 "$s"
  for cell in gru elman slstm; do bench $cell bfloat16 "$s"; done
done
echo "== done $(date -u)"
} 2>&1 | tee "$OUT/round.log"
