#!/usr/bin/env bash
# Seventh session, round ring: the dR quads kernel copies its chunks through a 4-slot cp.async ring
# instead of one chunk of register prefetch. One call: quick check grids of both backends, the
# sanitizers on the dR kernels, then the previous binary against this one (interleaved) and the
# dR stream times.
# Usage: scripts/ring_round.sh NEW_BIN OLD_BIN; logs in $OUT/ring-round.tgz.
set -uo pipefail
BIN=$1; OLD=$2
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" ring
unpack_old "$OLD"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "quick check grids, both backends, every cell and dtype (8 processes)"
check_grids --quick
stamp "sanitizers: check --quick up to D = 33 (memcheck both backends, racecheck fused); gpu-bench D = 128, 256 (memcheck, racecheck)"
sanitize_checks
sanitize_fused "gru float16 3,7,1,128" "lstm bfloat16 5,6,3,256" "lstm float16 9,40,4,24"
stamp "LSTM bfloat16 fused, old and new interleaved twice (and float16 16 x 48 for tile 16)"
for r in 1 2; do for v in old new; do echo "-- $v ($r)"
  X=$([ $v = old ] && echo "$O" || echo "$F")
  T 90 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256" $B | grep -v "^device\\|^backend"
  T 60 "$X" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" $B | grep -v "^device\\|^backend"
done; done
stamp "dR stream times (FLASHRNN_TRACE), new"
for s in 16,1024,48,16 16,1024,24,32 16,1024,12,64 16,1024,6,128 16,1024,3,256; do echo "-- $s"
  FLASHRNN_TRACE=1 T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "dR" | tail -1
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/ring-round.tgz" -C "$L" .
