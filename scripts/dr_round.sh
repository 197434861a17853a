#!/usr/bin/env bash
# Seventh session, round dR: the dR kernels' loads without branches (WeightGradientRows::load).
# One device call: quick check grids of both backends with the new binary (every dR path:
# tensor-core and FMA tiles, fused and alternating layouts, t = 0 rows), then old binary against
# new in the same call: phase breakdown (FLASHRNN_TRACE) and fw / fw+bw of LSTM bfloat16 at 16 × 48,
# 64 × 12, 128 × 6 (tensor-core dR up to 64; above, cuBLAS products against FLASHRNN_DR=mma),
# float32 H = 64 (the FMA dR with float64 sums).
# Usage: scripts/dr_round.sh NEW_BIN_DIR OLD_BIN_DIR; logs in $OUT/dr-round.tgz.
set -uo pipefail
BIN=$1; OLD=$2
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" dr
unpack_old "$OLD"
OLD_CACHE=/tmp/dr-old-kernel-cache; mkdir -p "$OLD_CACHE"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "quick check grids, both backends, every cell and dtype (8 processes, new binary)"
check_grids --quick
stamp "phase breakdown, old then new (FLASHRNN_TRACE, stream times of the second call)"
for s in "bfloat16 16,1024,12,64" "bfloat16 16,1024,6,128" "bfloat16 16,1024,48,16" "float32 16,1024,1,64"; do set -- $s
  for v in old new; do
    if [ $v = old ]; then X=$O; C=$OLD_CACHE; else X=$F; C=$FLASHRNN_CACHE_DIR; fi
    echo "-- $v lstm $1 $2"
    FLASHRNN_CACHE_DIR=$C FLASHRNN_TRACE=1 T 60 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype $1 --shapes "$2" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
  done
done
stamp "timings, old and new interleaved: LSTM bfloat16 fused sweep points and float32 H = 64 (fused, alternating)"
for r in 1 2; do for v in old new; do
  if [ $v = old ]; then X=$O; C=$OLD_CACHE; else X=$F; C=$FLASHRNN_CACHE_DIR; fi
  echo "-- $v (round $r)"
  FLASHRNN_CACHE_DIR=$C T 90 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,12,64;16,1024,6,128;16,1024,3,256" $B | grep -v "^device\|^backend"
  FLASHRNN_CACHE_DIR=$C T 60 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64;16,1024,12,64" $B | grep -v "^device\|^backend"
  FLASHRNN_CACHE_DIR=$C T 60 "$X" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" $B | grep -v "^device\|^backend"
done; done
stamp "dR path above D = 64 (new binary): cuBLAS products (default) against the tensor-core tiles (FLASHRNN_DR=mma)"
for d in default mma; do echo "-- FLASHRNN_DR=$d"
  FLASHRNN_DR=$d T 90 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,6,128;16,1024,3,256;16,1024,1,768" $B | grep -v "^device\|^backend"
  FLASHRNN_DR=$d T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768" $B | grep -v "^device\|^backend"
done
stamp "check with FLASHRNN_DR=mma above D = 64 (cudaFused, 16-bit, D 65-768)"
for c in lstm gru; do for t in float16 bfloat16; do
  FLASHRNN_DR=mma T 120 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 65 > "$L/check-mma-$c-$t.log" 2>&1 &
done; done; wait
for f in "$L"/check-mma-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f")"; grep -E "^FAIL|rror" "$f" | head -6; done
stamp "done"
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/dr-round.tgz" -C /tmp dr-round
