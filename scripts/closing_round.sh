#!/usr/bin/env bash
# The closing device call of a session (sixth session's version): full check grids of both GPU
# backends (every cell and dtype, 8 processes); the LSTM bfloat16 head-dimension sweep of both
# backends and the other cells; dense LSTM float16/float32 and cuDNN (TF32 default and off) in the
# same call; the measuring switches of the session (cluster exchange, small clusters for one-SM
# heads); batch and length sweeps; phase breakdown; first calls (cold, cold training call, warm);
# compute-sanitizer on the kernels the session changed.
# Usage: scripts/closing_round.sh BIN_DIR (flashrnn.gz, cudnn_baseline.py, optionally cache.tgz);
# logs in $OUT/closing-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" closing
CS=/usr/local/cuda/bin/compute-sanitizer
T() { timeout -k 5 "$@"; }   # kill what outlives its limit (a stuck process must not hold the GPU)
bench() { T 60 "$F" gpu-bench "$@" $B | grep -v "^device"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check, full grids of both backends, every cell and dtype (8 processes)"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  T "${CHECK_S:-170}" "$F" check --backend $b --cell $c > "$L/check-$b-$c.log" 2>&1 &
done; done
wait
stamp "check with one-SM heads on small clusters (FLASHRNN_FUSED_SMALL_CLUSTER 2 | 4 | 8), cudaFused, D 64-128, every cell"
for s in 2 4 8; do for c in lstm slstm gru elman; do
  FLASHRNN_FUSED_SMALL_CLUSTER=$s T 120 "$F" check --backend cuda-fused --cell $c --min-head-dim 64 --max-head-dim 128 > "$L/check-small$s-$c.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL|rror" "$f" | head -8; done
stamp "LSTM bfloat16 head-dimension sweep, both backends"
for b in cuda-fused cuda-alternating; do bench --backend $b --cell lstm --dtype bfloat16 --shapes "$SWEEP" --json "$L/bench-$b.json"; done
stamp "other cells, bfloat16, fused: 64 x 12, 128 x 6, 256 x 3, 768 x 1"
for c in slstm gru elman; do
  bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" --json "$L/bench-cuda-fused-$c.json" | grep -v "^backend"
done
stamp "dense LSTM float16 H = 768, 256, 64 (both backends); float32 H = 64 every cell (both backends)"
for b in cuda-fused cuda-alternating; do
  bench --backend $b --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" --json "$L/dense-$b-f16.json" | grep -v "^backend"
  for c in lstm gru elman slstm; do bench --backend $b --cell $c --dtype float32 --shapes "16,1024,1,64" | grep -v "^backend"; done
done
stamp "cuDNN (PyTorch, dense), same call: TF32 as PyTorch's default, then float32 with TF32 off"
PYTHONUNBUFFERED=1 T 120 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF"
PYTHONUNBUFFERED=1 T 60 python3 "$BIN/cudnn_baseline.py" --cells lstm,gru,elman --dtypes float32 --shapes "16,1024,64" --tf32 off --json "$L/cudnn-f32-notf32.json" 2>&1 | grep -v Warning | grep -v "_VF"
stamp "switches: cluster exchange (FLASHRNN_FUSED_CLUSTER_SYNC split | mbarrier), LSTM bfloat16 192 x 4, 256 x 3, 512 x 1"
for s in split mbarrier; do echo "-- $s"
  FLASHRNN_FUSED_CLUSTER_SYNC=$s T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,4,192;16,1024,3,256;16,1024,1,512" $B | grep -v "^device\|^backend"
done
stamp "switches: one-SM heads on small clusters (FLASHRNN_FUSED_SMALL_CLUSTER 0 | 2 | 4 | 8), LSTM bfloat16 12 x 64, 8 x 96, 6 x 128"
for s in 0 2 4 8; do echo "-- $s"
  FLASHRNN_FUSED_SMALL_CLUSTER=$s T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,12,64;16,1024,8,96;16,1024,6,128" $B | grep -v "^device\|^backend"
done
stamp "switches: float32 forward cell in float64 (the policy) against FLASHRNN_FUSED_F32_CELL=approximate (float32, approximate transcendentals), dense H = 64"
for v in accurate approximate; do echo "-- $v"
  for c in lstm gru; do FLASHRNN_FUSED_F32_CELL=$v T 40 "$F" gpu-bench --backend cuda-fused --cell $c --dtype float32 --shapes "16,1024,1,64" $B | grep -v "^device\|^backend"; done
done
stamp "batch sweep (fused, LSTM bfloat16 64 x 12, T = 1024) and length sweep (B = 16)"
T 150 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch $B --json "$L/batch.json" | grep -v "^device\|^backend"
bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset length --json "$L/length.json" | grep -v "^backend"
stamp "phase breakdown (FLASHRNN_TRACE stream times of a second call)"
for s in "16,1024,12,64" "16,1024,6,128"; do echo "-- cuda-fused lstm bfloat16 $s"
  FLASHRNN_TRACE=1 T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
done
stamp "first call of a new shape: empty kernel cache (cold: inference forward then forward+backward; a training call alone), then the disk cache warm (new process)"
for b in cuda-fused cuda-alternating; do s="gru float16 7,300,5,40"; set -- $s
  echo "-- cold $b $s"; FLASHRNN_CACHE_DIR=/tmp/fc-$b T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
  echo "-- cold training call $b $s"; FLASHRNN_CACHE_DIR=/tmp/fct-$b T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-training-call 2>&1 | grep -v "^device\|^backend"
  echo "-- warm $b $s"; FLASHRNN_CACHE_DIR=/tmp/fc-$b T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
done
stamp "compute-sanitizer memcheck and racecheck: cluster sweeps with the default exchange and mbarrier (LSTM bf16 D = 200; Elman fp16 D = 144), one-SM heads on small clusters (LSTM bf16 D = 128, FLASHRNN_FUSED_SMALL_CLUSTER=4)"
for tool in memcheck racecheck; do
  for args in "lstm bfloat16 9,5,1,200 FLASHRNN_FUSED_CLUSTER_SYNC=default" "lstm bfloat16 9,5,1,200 FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier" \
              "elman float16 5,9,3,144 FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier" "lstm bfloat16 9,5,2,128 FLASHRNN_FUSED_SMALL_CLUSTER=4"; do set -- $args
    echo "-- $tool $args"
    env "$4" timeout -k 5 60 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell $1 --dtype $2 --shapes "$3" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -3
  done
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/closing-round.tgz" -C "$L" .
