#!/usr/bin/env bash
# One device call for round cluster128 (docs/performance-fused.md): 16-bit heads one SM holds
# (padded D 64-128) on a portable cluster of 2, 4 or 8 CTAs (FLASHRNN_FUSED_SMALL_CLUSTER).
# First a smoke launch on each cluster size (stops the round if one does not finish), then the
# parts (PARTS, default all, in this order; ~160 s in all):
#  timings  gpu-bench LSTM bfloat16 B = 16, T = 1024 (median of 5 after 2 warm-ups): one SM (0) at
#           6 x 128, 8 x 96, 12 x 64; a cluster of 2 at the three, of 4 at 6 x 128 and 12 x 64, of 8
#           at 6 x 128 (the sizes each head has); <= 50 s: gpu-bench draws each shape's inputs on
#           the host (serially before commit 6de1f0d: ~4 s a B = 16 shape; B = 64, 128 not timed here);
#  check    `flashrnn check --backend cuda-fused --min-head-dim 64 --max-head-dim 128` for each
#           cluster size and cell, 12 processes at once, ~30-60 s;
#  cells    sLSTM, GRU, Elman bfloat16 at 6 x 128, one SM and CELL_KS (default 8), ~40 s;
#  sanitizer compute-sanitizer memcheck and racecheck, LSTM bfloat16 B = 9, T = 5, N = 2, D = 128 on 8.
# Every process writes its own log into $OUT as it ends, so a call cut at its limit keeps what
# finished (the first call of this round, 21:00 UTC, lost everything to one archive at the end).
# Usage, from the repository root: bash BIN_DIR/small_cluster_round.sh BIN_DIR (flashrnn.gz, cache.tgz).
set -uo pipefail
BIN=${1:-.device-bin/cluster128}
PARTS=${PARTS:-timings check cells sanitizer}
source scripts/round_setup.sh cluster128
R=$RESULTS
# Line-buffered output where stdbuf exists, so a process cut by its timeout leaves its lines.
SB=""; command -v stdbuf > /dev/null && SB="stdbuf -oL"
bench() {  # log name, FLASHRNN_FUSED_SMALL_CLUSTER, cell, shapes
  FLASHRNN_FUSED_SMALL_CLUSTER=$2 timeout "${BENCH_S:-30}" $SB "$F" gpu-bench --backend cuda-fused --cell $3 --dtype bfloat16 \
    --shapes "$4" $B > "$R/$1.txt" 2>&1
  echo "$1 (rc $?): $(grep -v '^device\|^backend' "$R/$1.txt" | tr '\n' ' ')"
}
has() { [[ " $PARTS " == *" $1 "* ]]; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader); parts: $PARTS"
# Smoke: a tiny launch on each cluster size (a hang here would otherwise eat the call).
stamp "smoke: LSTM bfloat16 B = 9, T = 5, N = 2, D = 128 on clusters of 2, 4, 8 (15 s each at most)"
for k in 2 4 8; do
  FLASHRNN_FUSED_SMALL_CLUSTER=$k timeout 15 $SB "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "9,5,2,128" --warmup 1 --reps 1 > "$R/smoke-ks$k.txt" 2>&1
  rc=$?; echo "smoke ks=$k (rc $rc): $(tail -1 "$R/smoke-ks$k.txt")"
  [ $rc -ne 0 ] && { echo "the cluster of $k did not finish: skipping every other part"; PARTS=""; break; }
done
if has timings; then
  stamp "timings, LSTM bfloat16 B = 16, T = 1024 (ks = FLASHRNN_FUSED_SMALL_CLUSTER)"
  bench bench-lstm-ks0 0 lstm "16,1024,6,128;16,1024,8,96;16,1024,12,64"
  bench bench-lstm-ks2 2 lstm "16,1024,6,128;16,1024,8,96;16,1024,12,64"
  bench bench-lstm-ks4 4 lstm "16,1024,6,128;16,1024,12,64"
  bench bench-lstm-ks8 8 lstm "16,1024,6,128"
fi
if has check; then
  stamp "check --backend cuda-fused --min-head-dim 64 --max-head-dim 128, each cluster size x cell (12 processes)"
  for k in 2 4 8; do for c in lstm slstm gru elman; do
    FLASHRNN_FUSED_SMALL_CLUSTER=$k timeout "${CHECK_S:-60}" $SB "$F" check --backend cuda-fused --cell $c --min-head-dim 64 \
      --max-head-dim 128 > "$R/check-ks$k-$c.log" 2>&1 &
  done; done
  wait
  for f in "$R"/check-ks*.log; do
    echo "-- $(basename "$f" .log): $(grep -c '^PASS' "$f") PASS, $(grep -c '^FAIL' "$f") FAIL lines; last: $(tail -1 "$f")"
    grep -E "^FAIL" "$f" | head -6
  done
fi
if has cells; then
  stamp "timings, other cells bfloat16 at 6 x 128: one SM and a cluster of ${CELL_KS:-8}"
  for c in slstm gru elman; do for k in 0 ${CELL_KS:-8}; do bench bench-$c-ks$k $k $c "16,1024,6,128"; done; done
fi
if has sanitizer; then
  stamp "compute-sanitizer, LSTM bfloat16 B = 9, T = 5, N = 2, D = 128, cluster of 8 (the policy's exchange)"
  for tool in memcheck racecheck; do
    FLASHRNN_FUSED_SMALL_CLUSTER=8 timeout 25 /usr/local/cuda/bin/compute-sanitizer --tool $tool "$F" gpu-bench --backend cuda-fused \
      --cell lstm --dtype bfloat16 --shapes "9,5,2,128" --warmup 0 --reps 1 > "$R/sanitizer-$tool.txt" 2>&1
    echo "-- $tool (rc $?): $(grep -E 'SUMMARY' "$R/sanitizer-$tool.txt" | head -2)"
  done
fi
stamp done
} 2>&1 | tee "$R/round.log"
