#!/usr/bin/env bash
# A device call to confirm a main branch: the full check grids of both GPU backends (every cell,
# 8 processes), the LSTM bfloat16 head-dimension sweep of both backends, the other cells at
# 64 x 12 and 768 x 1, dR kernel against products, a phase breakdown, and first-call times with
# the host-side trace (FLASHRNN_TRACE=1: module loads, graph capture and instantiation, cuBLAS
# handle). Usage: scripts/check_round.sh BIN_DIR (flashrnn.gz, optionally cache.tgz); logs in
# $OUT/check-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" check
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check, full grids of both backends, every cell (8 processes)"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  timeout "${CHECK_S:-170}" "$F" check --backend $b --cell $c > "$L/check-$b-$c.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL" "$f" | head -6; done
stamp "LSTM bfloat16 head-dimension sweep"
for b in cuda-fused cuda-alternating; do
  timeout 60 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "$SWEEP" $B --json "$L/bench-$b.json" | grep -v "^device"
done
stamp "other cells, bfloat16 64 x 12 and 768 x 1"
for b in cuda-fused cuda-alternating; do for c in slstm gru elman; do
  timeout 40 "$F" gpu-bench --backend $b --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,1,768" $B --json "$L/bench-$b-$c.json" | grep -v "^device\|^backend"
done; done
stamp "dR: tiled kernel against cuBLAS products (FLASHRNN_DR), LSTM bfloat16"
for b in cuda-fused cuda-alternating; do for v in kernel products; do
  echo "-- $b FLASHRNN_DR=$v"
  FLASHRNN_DR=$v timeout 40 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,12,64;16,1024,6,128" $B | grep -v "^device\|^backend"
done; done
stamp "cudaAlternating: FFMA steps (FLASHRNN_ALTERNATING_MMA=0) against the default, LSTM bfloat16"
FLASHRNN_ALTERNATING_MMA=0 timeout 40 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,24,32;16,1024,12,64;16,1024,6,128" $B | grep -v "^device"
stamp "float32 (fused: FFMA forward, 3xTF32 backward), dense H = 64 and 64 x 12, every cell"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  timeout 40 "$F" gpu-bench --backend $b --cell $c --dtype float32 --shapes "16,1024,1,64;16,1024,12,64" $B | grep -v "^device\|^backend"
done; done
stamp "phase breakdown (FLASHRNN_TRACE stream times of a second call)"
for b in cuda-fused cuda-alternating; do for s in "16,1024,12,64" "16,1024,1,768"; do
  echo "-- $b lstm bfloat16 $s"
  FLASHRNN_TRACE=1 timeout 40 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
done; done
stamp "first call of a new shape with the host trace: empty kernel cache, then the disk cache warm (new process)"
for k in cold warm; do for b in cuda-fused cuda-alternating; do for s in "gru float16 7,300,5,40" "lstm bfloat16 16,1024,12,64"; do
  set -- $s
  echo "-- $k $b $1 $2 $3"
  FLASHRNN_TRACE=1 FLASHRNN_CACHE_DIR=/tmp/first-call-cache timeout 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
done; done; done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/check-round.tgz" -C "$L" .
