#!/usr/bin/env bash
# One device call for the one-SM fused sweeps (D ≤ 128, 16-bit): the quick check of cudaFused for
# every cell in float16 and bfloat16 (8 processes), the head-dimension sweep (LSTM bf16) and the
# other cells at 64 × 12, then Nsight Compute on the D = 64 forward and backward sweeps (SASS
# stall samples, for scripts/profile/stalls.py). Usage: scripts/fused/onesm_round.sh BIN_DIR
# (with FLASHRNN_FUSED_STAGE_WX=1 in the environment: the same round of the staged forward)
# BIN_DIR holds flashrnn.gz and optionally cache/ (a kernel cache filled by
# `flashrnn compile-kernels --arch sm_90a --fill-cache`). Everything lands in $OUT/onesm.tgz.
set -uo pipefail
BIN=${1:-.device-bin/onesm}
OUT=${OUT:-/tmp/onesm-round}; L=/tmp/onesm-logs; mkdir -p "$OUT" "$L"
F=/tmp/flashrnn-onesm; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/onesm-kernel-cache; mkdir -p "$FLASHRNN_CACHE_DIR"
[ -d "$BIN/cache" ] && cp -r "$BIN/cache/." "$FLASHRNN_CACHE_DIR/"
stamp() { echo "== $(date -u +%T) $*"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
stamp "FLASHRNN_FUSED_STAGE_WX=${FLASHRNN_FUSED_STAGE_WX:-0} (1: the forward stages Wx through shared memory)"
stamp "check cudaFused --quick: every cell, float16 and bfloat16 (8 processes)"
for c in lstm slstm gru elman; do for d in float16 bfloat16; do
  timeout 100 "$F" check --backend cuda-fused --quick --cell $c --dtype $d > "$L/check-$c-$d.log" 2>&1 &
done; done
wait
for c in lstm slstm gru elman; do for d in float16 bfloat16; do
  echo "-- $c $d: $(tail -1 "$L/check-$c-$d.log")"; grep -E "^FAIL" "$L/check-$c-$d.log" | head -4
done; done
stamp "bench: head-dimension sweep, lstm bfloat16"
timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128" --warmup 2 --reps 5 --json "$L/bench-lstm.json"
for cell in slstm gru elman; do
  stamp "bench: $cell bfloat16 64 x 12"
  timeout 15 "$F" gpu-bench --backend cuda-fused --cell $cell --dtype bfloat16 --shapes "16,1024,12,64" \
      --warmup 2 --reps 5 --json "$L/bench-$cell.json"
done
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for k in forward backward; do
  stamp "ncu: one-SM $k sweep, lstm bf16 64 x 12 (one launch)"
  timeout 40 "$NCU" --clock-control none --kernel-name-base function -k "regex:^${k}(_staged)?_kernel" -c 1 --set full \
      --import-source no -f -o "$L/f64$k" "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
      --shapes "16,1024,12,64" --warmup 0 --reps 1 > "$L/f64$k.ncu.log" 2>&1 || echo "ncu exit $?"
  if [ -e "$L/f64$k.ncu-rep" ]; then
    "$NCU" --import "$L/f64$k.ncu-rep" --page details > "$L/f64$k.details.txt" 2>&1
    "$NCU" --import "$L/f64$k.ncu-rep" --page source --print-source sass --csv > "$L/f64$k.sass.csv" 2>&1
    grep -E "Duration|Warp Cycles Per Issued" "$L/f64$k.details.txt" | head -4
  fi
done
stamp "done"
} 2>&1 | tee "$L/round.log"
tar -czf "$OUT/onesm.tgz" -C "$L" --exclude='*.ncu-rep' . && ls -la "$OUT/onesm.tgz"
