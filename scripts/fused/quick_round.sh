#!/usr/bin/env bash
# A short device call after a change to the fused kernels' defaults: the quick check of cudaFused
# for every cell in float32, float16 and bfloat16 (12 processes), then the head-dimension sweep
# (LSTM bf16), the other cells at 64 × 12, dense LSTM float16 H = 64 and 768 against cuDNN in the
# same call. Usage: scripts/fused/quick_round.sh BIN_DIR (flashrnn.gz, cudnn_baseline.py,
# optionally cache.tgz). Logs land in $OUT/quick.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/../round_setup.sh" quick
{
stamp "check cudaFused --quick: every cell × float32, float16, bfloat16 (12 processes)"
for c in lstm slstm gru elman; do for d in float32 float16 bfloat16; do
  timeout "${CHECK_S:-100}" "$F" check --backend cuda-fused --quick --cell $c --dtype $d > "$L/check-$c-$d.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(tail -1 "$f")"; grep -E "^FAIL" "$f" | head -4; done
stamp "LSTM bfloat16 head-dimension sweep"
timeout 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" $B --json "$L/bench-lstm.json" | grep -v "^device"
stamp "other cells, bfloat16 64 x 12"
for c in slstm gru elman; do
  timeout 20 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64" $B --json "$L/bench-$c.json" | grep -v "^device\|^backend"
done
stamp "dense LSTM float16 H = 64, 768: ours, then cuDNN"
timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,64;16,1024,1,768" $B --json "$L/bench-dense-f16.json" | grep -v "^device"
PYTHONUNBUFFERED=1 timeout 60 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes float16 --shapes "16,1024,768;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF.lstm"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/quick.tgz" -C "$L" .
