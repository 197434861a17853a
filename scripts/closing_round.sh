#!/usr/bin/env bash
# The fifth session's closing device call: full check grids of both GPU backends (every cell and
# dtype, 8 processes) plus the cluster heads on the portable clusters (the fallback for devices
# that cannot place clusters of 16); the LSTM bfloat16 head-dimension sweep of both backends; the
# other cells; dense LSTM float16/float32 and cuDNN (TF32 default and off) in the same call; the
# measuring switches of this session's changes (dR on tensor cores, the float32 backward, the
# cluster exchange); batch sweep; phase breakdown; first calls; sanitizers on the new kernels.
# Usage: scripts/closing_round.sh BIN_DIR (flashrnn.gz, cudnn_baseline.py, optionally cache.tgz);
# logs in $OUT/closing-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" closing
SWEEP="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768"
CS=/usr/local/cuda/bin/compute-sanitizer
T() { timeout -k 5 "$@"; }   # kill what outlives its limit (a stuck process must not hold the GPU)
bench() { T 60 "$F" gpu-bench "$@" $B | grep -v "^device"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check, full grids of both backends, every cell and dtype (8 processes), and cluster heads on portable clusters"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  T "${CHECK_S:-170}" "$F" check --backend $b --cell $c > "$L/check-$b-$c.log" 2>&1 &
done; done
for c in lstm gru; do
  FLASHRNN_FUSED_CLUSTER_MIN_SIZE=8 T 120 "$F" check --backend cuda-fused --cell $c --min-head-dim 129 > "$L/check-portable-$c.log" 2>&1 &
done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL" "$f" | head -8; done
stamp "LSTM bfloat16 head-dimension sweep, both backends"
for b in cuda-fused cuda-alternating; do bench --backend $b --cell lstm --dtype bfloat16 --shapes "$SWEEP" --json "$L/bench-$b.json"; done
stamp "other cells, bfloat16, fused: 64 x 12, 256 x 3, 768 x 1"
for c in slstm gru elman; do
  bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,3,256;16,1024,1,768" --json "$L/bench-cuda-fused-$c.json" | grep -v "^backend"
done
stamp "dense LSTM float16 H = 768, 256, 64 (both backends); float32 H = 64 every cell (both backends)"
for b in cuda-fused cuda-alternating; do
  bench --backend $b --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" --json "$L/dense-$b-f16.json" | grep -v "^backend"
  for c in lstm gru elman slstm; do bench --backend $b --cell $c --dtype float32 --shapes "16,1024,1,64" | grep -v "^backend"; done
done
stamp "cuDNN (PyTorch, dense), same call: TF32 as PyTorch's default, then float32 with TF32 off"
PYTHONUNBUFFERED=1 T 120 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF"
PYTHONUNBUFFERED=1 T 60 python3 "$BIN/cudnn_baseline.py" --cells lstm,gru,elman --dtypes float32 --shapes "16,1024,64" --tf32 off --json "$L/cudnn-f32-notf32.json" 2>&1 | grep -v Warning | grep -v "_VF"
stamp "switches: dR (FLASHRNN_DR kernel | mma | products), LSTM bfloat16, both backends"
for b in cuda-fused cuda-alternating; do for v in kernel mma; do
  echo "-- $b FLASHRNN_DR=$v"; FLASHRNN_DR=$v T 30 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,12,64" $B | grep -v "^device\|^backend"
done; done
echo "-- cuda-fused FLASHRNN_DR=mma 6 x 128 and 3 x 256 (against products, the default there)"
FLASHRNN_DR=mma T 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,6,128;16,1024,3,256" $B | grep -v "^device\|^backend"
stamp "switches: float32 backward (FMA default | FLASHRNN_FUSED_F32_BACKWARD=tf32), LSTM float32 1 x 64 and 12 x 64"
for v in default tf32; do echo "-- $v"; FLASHRNN_FUSED_F32_BACKWARD=$v T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float32 --shapes "16,1024,1,64;16,1024,12,64" $B | grep -v "^device\|^backend"; done
stamp "switches: smallest cluster 8 (the portable fallback) against the default 16, LSTM bfloat16 256 x 3 and 512 x 1"
for s in mbarrier; do for m in 8; do echo "-- sync $s, min cluster $m"
  FLASHRNN_FUSED_CLUSTER_SYNC=$s FLASHRNN_FUSED_CLUSTER_MIN_SIZE=$m T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,3,256;16,1024,1,512" $B | grep -v "^device\|^backend"
done; done
stamp "batch sweep (fused, LSTM bfloat16 64 x 12, T = 1024) and length sweep (B = 16)"
bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "2,1024,12,64;16,1024,12,64;64,1024,12,64;256,1024,12,64" --json "$L/batch.json" | grep -v "^backend"
bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,256,12,64;16,512,12,64;16,1024,12,64;16,2048,12,64" --json "$L/length.json" | grep -v "^backend"
stamp "phase breakdown (FLASHRNN_TRACE stream times of a second call)"
for s in "16,1024,12,64"; do echo "-- cuda-fused lstm bfloat16 $s"
  FLASHRNN_TRACE=1 T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
done
stamp "first call of a new shape: empty kernel cache (cold), then the disk cache warm (new process)"
for k in cold warm; do for b in cuda-fused cuda-alternating; do echo "-- $k $b gru float16 7,300,5,40"
  FLASHRNN_CACHE_DIR=/tmp/first-call-cache T 40 "$F" gpu-bench --backend $b --cell gru --dtype float16 --shapes "7,300,5,40" --first-call 2>&1 | grep -v "^device\|^backend"
done; done
stamp "compute-sanitizer memcheck and racecheck: cluster mbarrier sweeps (LSTM bf16 D = 200), float32 FMA backward (GRU D = 33), tensor-core dR (LSTM bf16 D = 64, FLASHRNN_DR=mma)"
for tool in memcheck racecheck; do
  for args in "cuda-fused lstm bfloat16 9,5,1,200 -" "cuda-fused gru float32 9,5,1,33 -" "cuda-fused lstm bfloat16 9,5,2,64 mma"; do set -- $args
    echo "-- $tool $args"
    FLASHRNN_DR=$([ "$5" = mma ] && echo mma || echo "") T 60 $CS --tool $tool "$F" gpu-bench --backend $1 --cell $2 --dtype $3 --shapes "$4" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -3
  done
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/closing-round.tgz" -C "$L" .
