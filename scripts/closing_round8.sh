#!/usr/bin/env bash
# The closing device call of the eighth session: full check grids of both GPU backends (every
# cell and dtype); the LSTM bfloat16 head-dimension sweep of both backends, cuDNN, dense
# float16/float32 and the other cells in the same call; the cluster forward's Wx placement
# (FLASHRNN_FUSED_CLUSTER_FW=0 policy | 2 the step's start) at 192 x 4 and 256 x 3 on clusters of
# 16 and 8; batch sweep; phase breakdown; compute-sanitizer on the kernels the session changed
# (one-SM backward with the K split in four at DP = 16, the cluster forward, the alternating steps).
# Usage: scripts/closing_round8.sh BIN_DIR (flashrnn.gz, cudnn_baseline.py); logs in $OUT/closing8-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
FLASHRNN_DEVICE_FILL=${FLASHRNN_DEVICE_FILL:-0}
source "$(dirname "$0")/round_setup.sh" closing8
{
closing_checks_and_sweep 150
stamp "cuDNN (PyTorch, dense), same call: TF32 as PyTorch's default, then float32 with TF32 off"
PYTHONUNBUFFERED=1 T 100 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF"
PYTHONUNBUFFERED=1 T 60 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float32 --shapes "16,1024,64" --tf32 off --json "$L/cudnn-f32-notf32.json" 2>&1 | grep -v Warning | grep -v "_VF"
stamp "dense LSTM float16 H = 768, 256, 64 and float32 H = 64 (fused)"
bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" --json "$L/dense-f16.json" | grep -v "^backend"
bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64" | grep -v "^backend"
stamp "other cells, bfloat16, fused: 16 x 48, 64 x 12, 128 x 6, 256 x 3, 768 x 1"
for c in slstm gru elman; do
  bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,48,16;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" --json "$L/bench-cuda-fused-$c.json" | grep -v "^backend"
done
stamp "cluster forward Wx placement: FLASHRNN_FUSED_CLUSTER_FW=0 (policy) | 2 (the step's start), clusters of 16 | 8 (MIN_SIZE)"
for fw in 0 2; do for m in 16 8; do echo "-- FW=$fw MIN_SIZE=$m"
  FLASHRNN_FUSED_CLUSTER_FW=$fw FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$m T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,4,192;16,1024,3,256" $B 2>&1 | grep -E "^cudaFused|rror"
done; done
stamp "batch sweep (fused, LSTM bfloat16 64 x 12, T = 1024)"
T 120 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch $B --json "$L/batch.json" | grep -v "^device\|^backend"
stamp "phase breakdown (FLASHRNN_TRACE stream times of a second call)"
for s in "16,1024,48,16" "16,1024,12,64" "16,1024,6,128"; do echo "-- cuda-fused lstm bfloat16 $s"
  FLASHRNN_TRACE=1 T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
done
stamp "compute-sanitizer: one-SM backward split in four (DP = 16: LSTM bf16, GRU fp16 odd D), cluster forward (D = 128, 200, GRU fp16 64), alternating (check --quick up to D = 33)"
sanitize_fused "lstm bfloat16 11,5,3,16" "gru float16 9,4,2,13" "lstm bfloat16 9,5,2,128" "lstm bfloat16 9,5,1,200" "gru float16 3,7,2,64"
SANITIZERS=memcheck; echo "-- memcheck check cuda-alternating lstm bfloat16 --quick --max-head-dim 33"
T 60 $CS --tool memcheck "$F" check --backend cuda-alternating --cell lstm --dtype bfloat16 --quick --max-head-dim 33 2>&1 | grep -E "ERROR SUMMARY|passed, .* failed" | head -2
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/closing8-round.tgz" -C "$L" .
