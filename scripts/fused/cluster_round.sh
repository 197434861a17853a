#!/usr/bin/env bash
# A round of cudaFused's decompositions beyond one SM on the H200, one call: correctness (every
# cell, the full check grid with the cluster and grid shapes), timings at the sweep's shapes
# beyond one SM with cuDNN in the same call, compute-sanitizer memcheck on a small grid shape.
set -uo pipefail
# Usage: scripts/fused/cluster_round.sh (from the repository root on the device; BIN holds
# flashrnn.gz, cudnn_baseline.py and optionally cache.tgz from `flashrnn compile-kernels --fill-cache`).
BIN=${BIN:-.device-bin/cluster}
OUT=${OUT:-/tmp/cluster-out}; mkdir -p "$OUT"
F=/tmp/flashrnn-cluster; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/cluster-kernel-cache; mkdir -p "$FLASHRNN_CACHE_DIR"
[ -e "$BIN/cache.tgz" ] && tar -xzf "$BIN/cache.tgz" -C "$FLASHRNN_CACHE_DIR"
CHECK_S=${CHECK_S:-95}
{
echo "== $(date -u) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
"$F" info 2>&1 | head -8
# The cache folder carries the NVRTC version it was filled with; offer it under the device's too.
V=$(ls /usr/local/cuda/lib64/libnvrtc.so.* 2>/dev/null | head -3); echo "device NVRTC: $V"; ls "$FLASHRNN_CACHE_DIR"
for d in "$FLASHRNN_CACHE_DIR"/*; do for v in 13.0 13.1 13.2; do n=$(echo "$d" | sed "s/nvrtc13\.[0-9]*/nvrtc$v/"); [ -e "$n" ] || cp -r "$d" "$n"; done; done
echo "== check cudaFused, full grid, the four cells in parallel"
for c in lstm slstm gru elman; do
  timeout "$CHECK_S" "$F" check --backend cuda-fused --cell $c > "$OUT/check-$c.log" 2>&1 &
done
wait
for c in lstm slstm gru elman; do
  echo "-- $c: $(tail -1 "$OUT/check-$c.log")"
  grep -E "^FAIL" "$OUT/check-$c.log" | head -8
  grep -E "D=(129|144|160|200|256|257|512|529|768|896)" "$OUT/check-$c.log" | grep -v "^PASS\|float32" | head -6
done
echo "== timings, B=16 T=1024 (median of 5)"
timeout 25 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,1,768;16,1024,3,256" --warmup 2 --reps 5 2>&1 | grep -v "^device"
timeout 15 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768" --warmup 2 --reps 5 2>&1 | grep -v "^device\|^backend"
for c in slstm gru elman; do
  timeout 15 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,1,768" --warmup 2 --reps 5 2>&1 | grep -v "^device\|^backend"
done
echo "== cuDNN baseline, same call (dense LSTM H=768 fp16)"
PYTHONUNBUFFERED=1 timeout 30 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float16,bfloat16 --shapes "16,1024,768" 2>&1 | tail -4
echo "== compute-sanitizer memcheck on lstm bfloat16 B=9 T=5 N=1 D=529 (cooperative grid, 2 x 18 CTAs)"
timeout 30 /usr/local/cuda/bin/compute-sanitizer --tool memcheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,529" --warmup 0 --reps 1 2>&1 | grep -v "^device" | tail -4
echo "== done $(date -u)"
} 2>&1 | tee "$OUT/round.log"
