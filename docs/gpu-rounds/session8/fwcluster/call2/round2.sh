#!/usr/bin/env bash
# Eighth session, helper fwcluster, call 2: the policy (Wx loads after publishing) against the old
# binary (main 464b96f), interleaved twice; further FW experiments (L2-only loads, no prefetch);
# cluster checks and sanitizers of the default build.
set -uo pipefail
BIN=.device-bin/fwcluster
FLASHRNN_DEVICE_FILL=0
source scripts/round_setup.sh fwcluster
unpack_old .device-bin/fwcluster/old
SH="16,1024,12,64;16,1024,6,128;16,1024,4,192;16,1024,3,256;16,1024,1,512"
SX="16,1024,12,64;16,1024,6,128;16,1024,3,256"
bench() { T 60 "$@" 2>&1 | grep -E "^cudaFused|rror"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "LSTM bfloat16, old and new (default), interleaved twice"
for r in 1 2; do for v in old new; do echo "-- $v ($r)"
  X=$([ $v = old ] && echo "$O" || echo "$F")
  bench "$X" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SH" $B
done; done
stamp "sLSTM, GRU, Elman bf16 6x128, old and new, interleaved twice"
for c in slstm gru elman; do for r in 1 2; do for v in old new; do echo "-- $v $c ($r)"
  X=$([ $v = old ] && echo "$O" || echo "$F")
  bench "$X" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,6,128" $B
done; done; done
stamp "experiments (new binary, FLASHRNN_FUSED_CLUSTER_FW; 0 policy, 2 old placement, 3 no Wx loads, 32 L2-only loads, 64 no prefetch, 96 both, 16 two steps of lead)"
for r in 1 2; do for fw in 0 2 3 32 64 96 16; do
  echo "-- FW=$fw ($r)"; FLASHRNN_FUSED_CLUSTER_FW=$fw bench "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SX" $B
done; done
stamp "cluster checks of the default build (cudaFused, D 64..512, every cell, float16 and bfloat16)"
for c in lstm slstm gru elman; do for t in float16 bfloat16; do
  T 60 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 64 --max-head-dim 512 > "$L/check-$c-$t.log" 2>&1 &
done; done; wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f")"; grep -E "^FAIL|rror" "$f" | head -4 | cut -c1-250; done
stamp "sanitizers of the default build"
sanitize_fused "lstm bfloat16 9,5,2,128" "lstm bfloat16 9,5,1,200" "gru float16 3,7,2,64" "elman float16 5,9,3,144"
stamp done
} 2>&1 | tee "$L/round.log"
cp "$L"/round.log "$RESULTS/round.log"
tar -czf "$RESULTS/fwcluster-round2.tgz" -C "$L" .
