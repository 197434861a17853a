#!/usr/bin/env bash
# hsplit round (one device call): the fused forward's h split (SPLIT_H) on (FLASHRNN_FUSED_SPLIT_H=1) and off
# (FLASHRNN_FUSED_SPLIT_H=0) on the same inputs: quick check of every cell in float16 and bfloat16
# over several seeds, then library timings. Usage: scripts/fused/hsplit_round.sh BIN_DIR (flashrnn.gz,
# cache.tgz from scripts/fused/hsplit_fill_cache.sh); logs in $OUT/hsplit.tgz.
set -uo pipefail
BIN=${1:-.device-bin/hsplit}
L=/tmp/hsplit; mkdir -p "$L"
F=/tmp/flashrnn-hsplit; FLASHRNN_CACHE_DIR=/tmp/hsplit-kernel-cache
source scripts/device_binary.sh
B="--warmup 2 --reps 5"
SMALL="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128"
stamp() { echo "== $(date -u +%T) [${SECONDS}s] $*"; }
check() {  # seed dtype split(""|0)
  FLASHRNN_FUSED_SPLIT_H=$3 timeout 60 "$F" check --backend cuda-fused --quick --dtype $2 --seed $1 > "$L/check-$2-split$3-seed$1.log" 2>&1
}
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
stamp "check cudaFused --quick, float16 + bfloat16, every cell; FLASHRNN_FUSED_SPLIT_H=1 vs 0, same seeds"
for group in "101 202 303 404" "505 606 707 808"; do
  for s in $group; do for d in float16 bfloat16; do for h in 1 0; do check $s $d "$h" & done; done; done
  wait
done
stamp "check summary (passed / failed per dtype and split setting, summed over seeds)"
for d in float16 bfloat16; do for h in 1 0; do
  p=0; f=0
  for x in "$L"/check-$d-split$h-seed*.log; do
    line=$(grep -E "passed, [0-9]+ failed" "$x" | tail -1)
    p=$((p + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/;t;s/.*/0/'))); f=$((f + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/;t;s/.*/0/')))
    [ -z "$line" ] && echo "   no summary in $(basename "$x"): $(tail -1 "$x")"
  done
  echo "-- $d split=$h: $p passed, $f failed"
  grep -h "^FAIL" "$L"/check-$d-split$h-seed*.log | head -12
done; done
stamp "gpu-bench LSTM bfloat16, split on / off / on / off"
for h in 1 0 1 0; do
  [ $SECONDS -gt 140 ] && break
  FLASHRNN_FUSED_SPLIT_H=$h timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SMALL" $B --json "$L/bench-lstm-split$h-$SECONDS.json" | grep -v "^device" | sed "s/^/split=$h /"
done
stamp "gpu-bench sLSTM, GRU, Elman bfloat16 64 x 12 and 128 x 6"
for c in gru elman slstm; do for h in 1 0; do
  [ $SECONDS -gt 165 ] && break
  FLASHRNN_FUSED_SPLIT_H=$h timeout 15 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,6,128" $B --json "$L/bench-$c-split$h.json" | grep -v "^device\|^backend" | sed "s/^/split=$h /"
done; done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$OUT/hsplit.tgz" -C "$L" .
cp "$L/round.log" "$OUT/round.log"
