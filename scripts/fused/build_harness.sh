#!/bin/bash
# Builds the stand-alone harness (one binary per cell) with nvcc; NVCC and the output folder
# are arguments so it runs on the CPU machine (nvcc from the CUDA wheels) or the GPU machine.
set -e
NVCC=${NVCC:-nvcc}; OUTDIR=${1:-.device-bin/fused}; EXTRA=${EXTRA:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUTDIR"
for c in 0 1 2 3; do
  $NVCC -O3 -arch=sm_90a -std=c++17 -DONLY_CELL_$c -I "$ROOT/Sources/FlashRNNCUDA/Kernels" -I "$ROOT/Sources/FlashRNNKernelParams/include" $EXTRA -cudart static \
    "$ROOT/scripts/fused/fused_harness.cu" -o "$OUTDIR/h$c" &
done
wait
cp "$ROOT/scripts/fused/fused_round.sh" "$ROOT/scripts/fused/fused_round2.sh" "$ROOT/scripts/cudnn_baseline.py" "$OUTDIR/"
