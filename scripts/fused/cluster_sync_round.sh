#!/usr/bin/env bash
# One device call for the cluster sweeps' per-step cost (round "cluster", docs/performance-fused.md):
# 1. timings of LSTM bfloat16, B = 16, T = 1024, over the grid cluster sync (barrier, split,
#    mbarrier: FLASHRNN_FUSED_CLUSTER_SYNC) × smallest cluster (4, 8, 16:
#    FLASHRNN_FUSED_CLUSTER_MIN_SIZE) at 256 × 3 and 192 × 4, 384 × 2 and 512 × 1 where the
#    cluster holds them, plus 768 × 1 (grid) once;
# 2. the two fastest settings at 256 × 3 (fw+bw) go through `flashrnn check --backend cuda-fused
#    --min-head-dim 129` for every cell (8 processes);
# 3. compute-sanitizer memcheck and racecheck on a small cluster shape with the fastest setting.
# Usage: scripts/fused/cluster_sync_round.sh BIN_DIR (flashrnn.gz, optionally cache.tgz); logs in
# $OUT/cluster-round.tgz, rewritten after each part, the check's logs straight into $OUT (a call
# cut at its limit still returns them: the first call of round cluster lost them in the archive).
set -uo pipefail
BIN=${1:-.device-bin/cluster}
# Run from the repository root; the script may be a copy outside scripts/ (a device folder).
source scripts/round_setup.sh cluster
save() { tar -czf "$RESULTS/cluster-round.tgz" -C "$L" .; }
CS=/usr/local/cuda/bin/compute-sanitizer
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader)"
stamp "timings: sync x smallest cluster (LSTM bfloat16, B = 16, T = 1024; $B)"
for s in barrier split mbarrier; do for k in 4 8 16; do
  shapes="16,1024,3,256;16,1024,4,192"
  [ $k -ge 8 ] && shapes="$shapes;16,1024,2,384"
  [ $k -ge 16 ] && shapes="$shapes;16,1024,1,512"
  FLASHRNN_FUSED_CLUSTER_SYNC=$s FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$k timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm \
    --dtype bfloat16 --shapes "$shapes" $B 2>&1 | grep -v "^device\|^backend" | sed "s/^/$s KS>=$k /" | tee -a "$L/grid.txt"
done; done
echo "-- grid path and the policy's default, 768 x 1 and 256 x 3"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,1,768;16,1024,3,256" $B 2>&1 | grep -v "^device"
save
# The two settings with the smallest fw+bw at 256 x 3 (columns: sync KS>=k backend cell dtype B T N D fw fwbw).
awk '$8 == 3 && $9 == 256 { print $11, $1, substr($2, 5) }' "$L/grid.txt" | sort -g | head -2 > "$L/chosen.txt"
stamp "chosen for the check (fw+bw ms, sync, smallest cluster):"; cat "$L/chosen.txt"
stamp "check --backend cuda-fused --min-head-dim 129, every cell, the two settings (8 processes)"
i=0
while read -r _ s k; do
  i=$((i + 1))
  for c in lstm slstm gru elman; do
    FLASHRNN_FUSED_CLUSTER_SYNC=$s FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$k timeout "${CHECK_S:-70}" "$F" check --backend cuda-fused \
      --cell $c --min-head-dim 129 > "$RESULTS/check-$s-$k-$c.log" 2>&1 &
  done
done < "$L/chosen.txt"
wait
for f in "$RESULTS"/check-*.log; do
  echo "-- $(basename "$f" .log): $(grep -c '^PASS' "$f") PASS lines; last: $(tail -1 "$f")"
  grep -E "^FAIL" "$f" | head -6
done
save
read -r _ s k < "$L/chosen.txt"
stamp "compute-sanitizer, LSTM bfloat16 B = 9, T = 5, D = 200 (cluster), sync $s, smallest cluster $k"
for tool in memcheck racecheck; do
  echo "-- $tool"
  FLASHRNN_FUSED_CLUSTER_SYNC=$s FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$k timeout 20 $CS --tool $tool "$F" gpu-bench --backend cuda-fused \
    --cell lstm --dtype bfloat16 --shapes "9,5,1,200" --warmup 0 --reps 1 2>&1 | grep -E "SUMMARY|rror" | head -4
done
stamp done
} 2>&1 | tee "$L/round.log"
save
