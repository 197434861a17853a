#!/usr/bin/env bash
# Second device call of the fused speed work: library timings (head-dimension sweep, LSTM bfloat16;
# the other cells at 64 × 12), per-kernel durations under Nsight Compute (LSTM bf16 64 × 12 and
# 16 × 48, forward + backward), the quick check of the fused backend, and an A/B check of the Elman
# cells on identical inputs (one seed) with this binary and BIN_DIR/flashrnn-before.gz.
# Usage: scripts/fused/speed_round2.sh BIN_DIR [SEED]. Logs and JSON go to $OUT.
set -uo pipefail
BIN=${1:-.device-bin/fspeed}; SEED=${2:-1795943240511}
OUT=${OUT:-/tmp/fused-speed-round}; mkdir -p "$OUT"
. "$(dirname "$0")/speed_common.sh"
G=/tmp/flashrnn-before; gunzip -c "$BIN/flashrnn-before.gz" > "$G"; chmod +x "$G"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
bench_sweep
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
stamp "kernel durations under $NCU (lstm bf16, warm-up 1, 1 timed run)"
timeout 45 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv --log-file "$OUT/ncu.csv" \
    "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,12,64;16,1024,48,16" \
    --warmup 1 --reps 1 > /dev/null 2>&1
grep -E "gpu__time_duration" "$OUT/ncu.csv" | awk -F'","' '{print $5, $(NF)}' | sed 's/(flashrnn::FlashRNN[A-Za-z]*Params)//' | cut -c1-160
stamp "check cudaFused --quick"
timeout 70 "$F" check --backend cuda-fused --quick > "$OUT/check-fused.log" 2>&1
grep -E "^FAIL" "$OUT/check-fused.log" | head -20; tail -1 "$OUT/check-fused.log"
for b in "$F" "$G"; do
  stamp "check elman --seed $SEED with $b"
  timeout 25 "$b" check --backend cuda-fused --quick --cell elman --seed "$SEED" 2>&1 | grep -E "D=1 |passed"
done
stamp "done"
} 2>&1 | tee "$OUT/speed-round.log"
