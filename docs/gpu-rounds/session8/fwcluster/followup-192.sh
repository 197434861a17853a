#!/usr/bin/env bash
# Follow-up of round fwcluster (not run): why LSTM bf16 192 x 4 (eight clusters of 16, the same
# kernel as 256 x 3) got slower with the Wx loads after publishing (1.25 -> 1.59 ms forward) while
# 256 x 3 gained (0.99 -> 0.84). Needs a binary of branch fwcluster in BIN (default
# .device-bin/fwcluster); copy this script there and run `bash .device-bin/fwcluster/followup-192.sh`.
# FLASHRNN_FUSED_CLUSTER_FW: 0 policy (after publishing), 2 at the step's start (main's placement),
# 16 two steps of lead, 32 L2-only loads; FLASHRNN_FUSED_CLUSTER_MIN_SIZE=8: 192 x 4 on 8 x 32.
set -uo pipefail
BIN=${BIN:-.device-bin/fwcluster}
FLASHRNN_DEVICE_FILL=0
source scripts/round_setup.sh fw192
S="16,1024,4,192;16,1024,3,256;8,1024,4,192;16,1024,3,192"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
for r in 1 2; do for fw in 0 2 16 32; do for m in 16 8; do
  echo "-- FW=$fw MIN_SIZE=$m ($r)"
  FLASHRNN_FUSED_CLUSTER_FW=$fw FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$m T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$S" $B 2>&1 | grep -E "^cudaFused|rror"
done; done; done
stamp done
} 2>&1 | tee "$L/round.log"
cp "$L/round.log" "$RESULTS/fw192-round.log"
