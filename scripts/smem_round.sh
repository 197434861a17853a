#!/usr/bin/env bash
# Seventh session, last call: launches after Kernel.allowSharedMemory compares static + dynamic
# shared memory (every sweep with dynamic shared memory goes through it): quick check grids of both
# backends, then the LSTM bfloat16 sweep of both (the launch path of every decomposition).
# Usage: scripts/smem_round.sh BIN_DIR; logs in $OUT/smem-round.tgz.
set -uo pipefail
BIN=$1
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" smem
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "quick check grids, both backends, every cell and dtype (8 processes)"
check_grids --quick
stamp "LSTM bfloat16 head-dimension sweep, both backends; float32 H = 64 fused"
for b in cuda-fused cuda-alternating; do
  timeout -k 5 90 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" $B | grep -v "^device"
done
timeout -k 5 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64" $B | grep -v "^device\|^backend"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/smem-round.tgz" -C "$L" .
