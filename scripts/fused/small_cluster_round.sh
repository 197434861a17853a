#!/usr/bin/env bash
# One device call for round cluster128 (docs/performance-fused.md): 16-bit heads one SM holds
# (padded D 64-128) on a portable cluster of 2, 4 or 8 CTAs (FLASHRNN_FUSED_SMALL_CLUSTER).
# 1. timings (gpu-bench, median of 5 after 2 warm-ups): LSTM bfloat16 T = 1024 at 6 x 128, 8 x 96,
#    12 x 64 (B = 16) and 6 x 128 at B = 64 and 128, 1 x 128 at B = 16 (where the CTAs outgrow the
#    SMs), one SM and each cluster size; then sLSTM, GRU, Elman at 6 x 128 the same way; LSTM with
#    the mbarrier exchange once;
# 2. `flashrnn check --backend cuda-fused --min-head-dim 64 --max-head-dim 128` for each cluster
#    size and cell (12 processes), logs straight into $OUT;
# 3. compute-sanitizer memcheck and racecheck on LSTM bfloat16 B = 9, T = 5, D = 128, cluster of 8.
# Usage: run from the repository root: bash BIN_DIR/small_cluster_round.sh BIN_DIR (flashrnn.gz, cache.tgz).
set -uo pipefail
BIN=${1:-.device-bin/cluster128}
source scripts/round_setup.sh cluster128
save() { tar -czf "$RESULTS/cluster128-round.tgz" -C "$L" .; }
CS=/usr/local/cuda/bin/compute-sanitizer
bench() {  # label, env assignment, cell, shapes
  env $2 timeout 25 "$F" gpu-bench --backend cuda-fused --cell $3 --dtype bfloat16 --shapes "$4" $B 2>&1 \
    | grep -v "^device\|^backend" | sed "s/^/$1 /" | tee -a "$L/timings.txt"
}
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
stamp "timings, LSTM bfloat16 (label = FLASHRNN_FUSED_SMALL_CLUSTER)"
LSTM="16,1024,6,128;16,1024,8,96;16,1024,12,64;64,1024,6,128;128,1024,6,128;16,1024,1,128"
for k in 0 2 4 8; do bench "ks=$k" "FLASHRNN_FUSED_SMALL_CLUSTER=$k" lstm "$LSTM"; done
for k in 2 4 8; do bench "ks=$k-mbarrier" "FLASHRNN_FUSED_SMALL_CLUSTER=$k FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier" lstm "16,1024,6,128;16,1024,12,64"; done
stamp "timings, other cells at 6 x 128"
for c in slstm gru elman; do for k in 0 2 4 8; do bench "ks=$k" "FLASHRNN_FUSED_SMALL_CLUSTER=$k" $c "16,1024,6,128;16,1024,12,64"; done; done
save
stamp "check --backend cuda-fused --min-head-dim 64 --max-head-dim 128, each cluster size x cell (12 processes)"
for k in 2 4 8; do for c in lstm slstm gru elman; do
  FLASHRNN_FUSED_SMALL_CLUSTER=$k timeout "${CHECK_S:-60}" "$F" check --backend cuda-fused --cell $c --min-head-dim 64 \
    --max-head-dim 128 > "$RESULTS/check-ks$k-$c.log" 2>&1 &
done; done
wait
for f in "$RESULTS"/check-*.log; do
  echo "-- $(basename "$f" .log): $(grep -c '^PASS' "$f") PASS, $(grep -c '^FAIL' "$f") FAIL lines; last: $(tail -1 "$f")"
  grep -E "^FAIL" "$f" | head -6
done
save
stamp "compute-sanitizer, LSTM bfloat16 B = 9, T = 5, N = 2, D = 128, cluster of 8 (split)"
for tool in memcheck racecheck; do
  echo "-- $tool"
  FLASHRNN_FUSED_SMALL_CLUSTER=8 timeout 20 $CS --tool $tool "$F" gpu-bench --backend cuda-fused \
    --cell lstm --dtype bfloat16 --shapes "9,5,2,128" --warmup 0 --reps 1 2>&1 | grep -E "SUMMARY|rror|ms" | head -6
done
stamp done
} 2>&1 | tee "$L/round.log"
save
cp "$L/round.log" "$RESULTS/round.log"
