#!/usr/bin/env bash
# Where the time of a call goes (FLASHRNN_TRACE=1), on the device: first calls of a new shape
# with the kernel disk cache warm (library loads, module loads, graph capture/instantiation,
# cuBLAS), then the per-phase stream times of forward and backward of both GPU backends on the
# LSTM bfloat16 head-dimension sweep (one warm-up call, then one traced call).
# Usage: scripts/trace_round.sh BIN_DIR (flashrnn.gz, cache.tgz); logs in $OUT/trace-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" trace
{
stamp "first calls, disk cache warm, new process each"
for b in cuda-fused cuda-alternating; do for s in "gru float16 7,300,5,40" "lstm bfloat16 16,1024,12,64" "lstm bfloat16 16,1024,1,768"; do
  set -- $s
  echo "-- $b $1 $2 $3"
  FLASHRNN_TRACE=1 timeout 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
done; done
stamp "phase breakdown (second call of each shape)"
for b in cuda-fused cuda-alternating; do for s in "16,1024,48,16" "16,1024,12,64" "16,1024,6,128" "16,1024,3,256" "16,1024,1,768"; do
  echo "-- $b lstm bfloat16 $s"
  FLASHRNN_TRACE=1 timeout 40 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 \
    | grep "stream time" | tail -8
done; done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/trace-round.tgz" -C "$L" .
