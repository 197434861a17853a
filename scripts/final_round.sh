#!/usr/bin/env bash
# The closing device call of a session, after check_round.sh: ours and PyTorch cuDNN in the same
# call (LSTM bfloat16 head-dimension sweep of both backends, dense LSTM float16 and float32),
# compute-sanitizer on the kernels new since the last clean run, and the training demo.
# Usage: scripts/final_round.sh BIN_DIR (flashrnn.gz, cudnn_baseline.py, cache.tgz); logs in
# $OUT/final-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" final
CS=/usr/local/cuda/bin/compute-sanitizer
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "LSTM bfloat16 head-dimension sweep, both backends"
for b in cuda-fused cuda-alternating; do
  timeout 80 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "$SWEEP" $B --json "$L/bench-$b.json" | grep -v "^device"
done
stamp "dense LSTM: float16 H = 768, 256, 64 (fused, alternating), float32 H = 64 (both)"
timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" $B --json "$L/dense-fused-f16.json" | grep -v "^device"
timeout 40 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" $B --json "$L/dense-alt-f16.json" | grep -v "^device\|^backend"
for b in cuda-fused cuda-alternating; do
  timeout 30 "$F" gpu-bench --backend $b --cell lstm --dtype float32 --shapes "16,1024,1,64" $B --json "$L/dense-$b-f32.json" | grep -v "^device\|^backend"
done
stamp "cuDNN (PyTorch nn.LSTM, dense), same call"
PYTHONUNBUFFERED=1 timeout 100 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF.lstm"
stamp "cuDNN float32 H = 64 with TF32 off (the line above runs PyTorch's default, TF32 allowed)"
PYTHONUNBUFFERED=1 timeout 40 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float32 --shapes "16,1024,64" --tf32 off --json "$L/cudnn-f32-notf32.json" 2>&1 | grep -v Warning | grep -v "_VF.lstm"
stamp "compute-sanitizer memcheck and racecheck: alternating tensor-core steps (LSTM bf16 D = 64), fused float32 forward (GRU D = 33), fused h split (LSTM bf16 D = 16, N = 3)"
for tool in memcheck racecheck; do
  for args in "cuda-alternating lstm bfloat16 9,5,1,64" "cuda-fused gru float32 9,5,1,33" "cuda-fused lstm bfloat16 9,5,3,16"; do set -- $args
    echo "-- $tool $args"
    timeout 40 $CS --tool $tool "$F" gpu-bench --backend $1 --cell $2 --dtype $3 --shapes "$4" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -3
  done
done
stamp "training demo on the GPU (parity, --backend auto, 300 steps)"
timeout 50 "$F" train parity --backend auto --steps 300 --eval-sequences 128 --out /tmp/train-gpu 2>&1 | tail -5
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/final-round.tgz" -C "$L" .
