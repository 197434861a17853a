#!/usr/bin/env bash
# One device call for the one-SM backward with staged step inputs (FLASHRNN_FUSED_STAGE_BW=1,
# backward_staged_kernel): the quick check of cudaFused with the variable set, every cell in
# float16 and bfloat16 plus float32 LSTM and sLSTM (which must stay green: float32 never stages),
# then the head-dimension sweep (LSTM bf16) without and with the variable, then compute-sanitizer
# racecheck and memcheck of the staged sweep (partial batch slice, D < DP).
# Usage: scripts/fused/onesm2_round.sh BIN_DIR, where BIN_DIR holds flashrnn.gz and optionally
# cache.tgz (a kernel cache filled by `flashrnn compile-kernels --arch sm_90a --fill-cache`).
# Everything lands in $OUT/onesm2.tgz.
set -uo pipefail
BIN=${1:-.device-bin/onesm2}
OUT=${OUT:-/tmp/onesm2-round}; L=/tmp/onesm2-logs; mkdir -p "$OUT" "$L"
F=/tmp/flashrnn-onesm2; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/onesm2-kernel-cache; mkdir -p "$FLASHRNN_CACHE_DIR"
[ -e "$BIN/cache.tgz" ] && tar -xzf "$BIN/cache.tgz" -C "$FLASHRNN_CACHE_DIR"
stamp() { echo "== $(date -u +%T) $*"; }
SHAPES="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
stamp "check cudaFused --quick with FLASHRNN_FUSED_STAGE_BW=1: every cell in float16 and bfloat16, lstm and slstm in float32"
for c in lstm slstm gru elman; do for d in float16 bfloat16; do
  FLASHRNN_FUSED_STAGE_BW=1 timeout 90 "$F" check --backend cuda-fused --quick --cell $c --dtype $d > "$L/check-$c-$d.log" 2>&1 &
done; done
for c in lstm slstm; do
  FLASHRNN_FUSED_STAGE_BW=1 timeout 90 "$F" check --backend cuda-fused --quick --cell $c --dtype float32 > "$L/check-$c-float32.log" 2>&1 &
done
wait
for c in lstm slstm gru elman; do for d in float16 bfloat16 float32; do
  [ -e "$L/check-$c-$d.log" ] || continue
  echo "-- $c $d: $(tail -1 "$L/check-$c-$d.log")"; grep -E "^FAIL" "$L/check-$c-$d.log" | head -4
done; done
stamp "bench: head-dimension sweep, lstm bfloat16, register backward (default)"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SHAPES" --warmup 2 --reps 5 --json "$L/bench-default.json"
stamp "bench: the same with FLASHRNN_FUSED_STAGE_BW=1 (staged backward)"
FLASHRNN_FUSED_STAGE_BW=1 timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SHAPES" --warmup 2 --reps 5 --json "$L/bench-staged.json"
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
stamp "racecheck: staged backward, lstm bf16 B=11 T=12 N=2 D=64"
FLASHRNN_FUSED_STAGE_BW=1 timeout 25 "$CS" --tool racecheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "11,12,2,64" --warmup 0 --reps 1 > "$L/racecheck.log" 2>&1; echo "racecheck exit $?"; tail -3 "$L/racecheck.log"
stamp "memcheck: staged backward, gru bf16 B=11 T=9 N=1 D=40 and slstm bf16 B=3 T=5 N=1 D=128"
FLASHRNN_FUSED_STAGE_BW=1 timeout 25 "$CS" --tool memcheck "$F" gpu-bench --backend cuda-fused --cell gru --dtype bfloat16 \
    --shapes "11,9,1,40" --warmup 0 --reps 1 > "$L/memcheck-gru.log" 2>&1; echo "memcheck gru exit $?"; tail -3 "$L/memcheck-gru.log"
FLASHRNN_FUSED_STAGE_BW=1 timeout 20 "$CS" --tool memcheck "$F" gpu-bench --backend cuda-fused --cell slstm --dtype bfloat16 \
    --shapes "3,5,1,128" --warmup 0 --reps 1 > "$L/memcheck-slstm.log" 2>&1; echo "memcheck slstm exit $?"; tail -3 "$L/memcheck-slstm.log"
stamp "done"
} 2>&1 | tee "$L/round.log"
tar -czf "$OUT/onesm2.tgz" -C "$L" . && ls -la "$OUT/onesm2.tgz"
