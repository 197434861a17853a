#!/usr/bin/env bash
# The closing device call of the seventh session: full check grids of both GPU backends (every
# cell and dtype); the LSTM bfloat16 head-dimension sweep of both backends, the other cells, dense
# float16/float32 and cuDNN in the same call; this session's switches against their defaults
# (FLASHRNN_SYNCHRONOUS=1: outputs waited for as before; FLASHRNN_DR_QUADS=0: the dR tiles' 4-byte
# loads; FLASHRNN_DR=products above D = 64; FLASHRNN_FUSED_GRID_EXCHANGE=counter|tagged for both
# grid sweeps); batch and length sweeps; phase breakdown; first calls; compute-sanitizer on the
# kernels the session changed (dR tiles with 16-byte loads, the tagged grid forward).
# Usage: scripts/closing_round7.sh BIN_DIR [OLD_BIN_DIR] (flashrnn.gz, cudnn_baseline.py; OLD: a binary to
# time cudaAlternating float32 against); logs in $OUT/closing7-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}; OLD=${2:-}
FLASHRNN_DEVICE_FILL=${FLASHRNN_DEVICE_FILL:-0}
source "$(dirname "$0")/round_setup.sh" closing7
{
closing_checks_and_sweep 200
stamp "cuDNN (PyTorch, dense), same call: TF32 as PyTorch's default, then float32 with TF32 off"
PYTHONUNBUFFERED=1 T 120 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16,float32 --shapes "16,1024,768;16,1024,256;16,1024,64" --json "$L/cudnn.json" 2>&1 | grep -v Warning | grep -v "_VF"
PYTHONUNBUFFERED=1 T 60 python3 "$BIN/cudnn_baseline.py" --cells lstm,gru,elman --dtypes float32 --shapes "16,1024,64" --tf32 off --json "$L/cudnn-f32-notf32.json" 2>&1 | grep -v Warning | grep -v "_VF"
stamp "dense LSTM float16 H = 768, 256, 64 (fused); float32 H = 64 every cell (fused)"
bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,256;16,1024,1,64" --json "$L/dense-f16.json" | grep -v "^backend"
for c in lstm gru elman slstm; do bench --backend cuda-fused --cell $c --dtype float32 --shapes "16,1024,1,64" | grep -v "^backend"; done
stamp "other cells, bfloat16, fused: 64 x 12, 128 x 6, 256 x 3, 768 x 1"
for c in slstm gru elman; do
  bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" --json "$L/bench-cuda-fused-$c.json" | grep -v "^backend"
done
stamp "switches against the defaults, LSTM bfloat16 (fused): FLASHRNN_SYNCHRONOUS=1 | FLASHRNN_DR_QUADS=0 | FLASHRNN_DR=products, interleaved with the default"
for v in default sync default noquads default products; do echo "-- $v"
  case $v in default) E="FLASHRNN_NOTHING=1";; sync) E="FLASHRNN_SYNCHRONOUS=1";; noquads) E="FLASHRNN_DR_QUADS=0";; products) E="FLASHRNN_DR=products";; esac
  env $E timeout -k 5 90 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256" $B | grep -v "^device\|^backend"
done
echo "-- sync, cudaAlternating"; FLASHRNN_SYNCHRONOUS=1 T 60 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,12,64;16,1024,1,768" $B | grep -v "^device\|^backend"
echo "-- default, cudaAlternating"; T 60 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,12,64;16,1024,1,768" $B | grep -v "^device\|^backend"
stamp "switches: grid exchange at 768 x 1 (default: tagged forward, counter backward; FLASHRNN_FUSED_GRID_EXCHANGE=counter | tagged for both)"
for v in default counter tagged; do echo "-- $v"
  E=$([ $v = default ] && echo FLASHRNN_NOTHING=1 || echo FLASHRNN_FUSED_GRID_EXCHANGE=$v)
  for t in bfloat16 float16; do env $E timeout -k 5 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype $t --shapes "16,1024,1,768" $B | grep -v "^device\|^backend"; done
done
if [ -n "${OLD:-}" ]; then
  stamp "cudaAlternating float32 (f32exact's per-gate float64 sums): the binary before the merge ($OLD) against this one, interleaved"
  unpack_old "$OLD"
  for r in 1 2; do for X in "$O" "$F"; do echo "-- $([ "$X" = "$O" ] && echo before || echo after) ($r)"
    T 90 "$X" gpu-bench --backend cuda-alternating --cell lstm --dtype float32 --shapes "16,1024,12,64;16,1024,1,64" $B | grep -v "^device\|^backend"
  done; done
fi
stamp "batch sweep (fused, LSTM bfloat16 64 x 12, T = 1024) and length sweep (B = 16)"
T 150 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset batch $B --json "$L/batch.json" | grep -v "^device\|^backend"
T 100 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset length $B --json "$L/length.json" | grep -v "^device\|^backend"
stamp "phase breakdown (FLASHRNN_TRACE stream times of a second call)"
for s in "16,1024,12,64" "16,1024,6,128" "16,1024,1,768"; do echo "-- cuda-fused lstm bfloat16 $s"
  FLASHRNN_TRACE=1 T 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -5
done
stamp "first call of a new shape (gru float16 7,300,5,40): empty cache (cold; cold training call), then warm; with the modules each compiled"
first_calls
stamp "compute-sanitizer: dR tiles with 16-byte loads (check --quick up to D = 33 of both backends: s0, odd D, B > 8; GRU fp16 D = 128 fw+bw), tagged grid forward (LSTM bf16 D = 529)"
sanitize_checks
sanitize_fused "gru float16 3,7,1,128" "lstm bfloat16 9,5,1,529" "lstm bfloat16 9,5,2,128"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/closing7-round.tgz" -C "$L" .
