#!/usr/bin/env bash
# The eighth session's last device call, after the closing call: the forwards back on load_b's
# seventh-session form (one-SM forward SASS as in 464b96f), the sweep plan's portable clusters
# where clusters of 16 outnumber what the device runs at once. Quick check grids of cudaFused,
# the sweep, the cluster shapes the plan rule touches, the batch sweep, sanitizers.
# Usage: scripts/verify_round8.sh BIN_DIR; logs in $OUT/verify8-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
FLASHRNN_DEVICE_FILL=${FLASHRNN_DEVICE_FILL:-0}
source "$(dirname "$0")/round_setup.sh" verify8
bench() { T 90 "$F" gpu-bench "$@" $B | grep -v "^device\|^backend"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "quick checks, cudaFused, every cell, float16 and bfloat16"
for c in lstm slstm gru elman; do for t in float16 bfloat16; do
  T 100 "$F" check --backend cuda-fused --cell $c --dtype $t --quick > "$L/check-$c-$t.log" 2>&1 &
done; done; wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f")"; grep -E "^FAIL|rror" "$f" | head -4; done
stamp "LSTM bfloat16 head-dimension sweep (fused), twice"
for r in 1 2; do bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768"; done
stamp "cluster shapes: default plan, then clusters of 16 forced (FLASHRNN_FUSED_CLUSTER_MIN_SIZE=16 takes the rule out)"
for v in default 16; do echo "-- $v"
  E=$([ $v = default ] && echo FLASHRNN_NOTHING=1 || echo FLASHRNN_FUSED_CLUSTER_MIN_SIZE=16)
  env $E timeout -k 5 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,4,192;16,1024,3,256;32,1024,3,256;16,1024,2,384" $B | grep -v "^device\|^backend"
done
stamp "other cells at 128 x 6 and 256 x 3 (fused, bfloat16)"
for c in slstm gru elman; do bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,6,128;16,1024,3,256"; done
stamp "batch sweep (fused, LSTM bfloat16 64 x 12, T = 1024)"
T 120 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch $B --json "$L/batch.json" | grep -v "^device\|^backend"
stamp "sanitizers: cluster forward (D = 128), the plan's clusters of 8 at D = 192 (B = 9, N = 4: eight clusters)"
sanitize_fused "lstm bfloat16 9,5,2,128" "lstm bfloat16 9,5,4,192"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/verify8-round.tgz" -C "$L" .
