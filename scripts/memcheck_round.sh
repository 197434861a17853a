#!/usr/bin/env bash
# Seventh session: compute-sanitizer memcheck of the dR tiles with 16-byte loads above D = 64
# (tensor-core tiles up to D = 256 now), the cluster backward's one-waiter exchange and the tagged
# grid forward, which the closing call's memcheck missed (a script error).
# Usage: scripts/memcheck_round.sh BIN_DIR; logs in $OUT/memcheck-round.tgz.
set -uo pipefail
BIN=$1
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" memcheck
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
SANITIZERS=memcheck sanitize_fused "gru float16 3,7,1,128" "lstm bfloat16 9,5,2,128" "lstm bfloat16 5,6,3,256" "lstm bfloat16 9,5,1,529" "elman float16 5,9,3,144"
echo "-- memcheck check cuda-alternating gru float16 --quick --min-head-dim 96"
timeout -k 5 90 /usr/local/cuda/bin/compute-sanitizer --tool memcheck "$F" check --backend cuda-alternating --cell gru --dtype float16 --quick --min-head-dim 96 2>&1 | grep -E "ERROR SUMMARY|passed, .* failed" | head -3
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/memcheck-round.tgz" -C "$L" .
