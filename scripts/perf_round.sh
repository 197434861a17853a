#!/usr/bin/env bash
# Seventh session, round perf: asynchronous device outputs (FLASHRNN_SYNCHRONOUS=1 is the old
# behaviour) and the dR tensor-core kernel's 16-byte loads (FLASHRNN_DR_QUADS=0 the 4-byte ones),
# each against its switch in the same call; quick check grids of both backends; first calls with
# the number of modules compiled.
# Usage: scripts/perf_round.sh BIN_DIR; logs in $OUT/perf-round.tgz.
set -uo pipefail
BIN=$1
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/round_setup.sh" perf
bench() { T 90 "$F" gpu-bench "$@" $B | grep -v "^device\|^backend"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "quick check grids, both backends, every cell and dtype (8 processes)"
check_grids --quick
stamp "phase breakdown (FLASHRNN_TRACE): dR kernel with 16-byte loads (default) and 4-byte loads (FLASHRNN_DR_QUADS=0)"
for s in 16,1024,48,16 16,1024,24,32 16,1024,12,64; do for q in 1 0; do echo "-- quads=$q lstm bfloat16 $s"
  FLASHRNN_DR_QUADS=$q FLASHRNN_TRACE=1 T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$s" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -4
done; done
stamp "timings: default | FLASHRNN_SYNCHRONOUS=1 (outputs waited for, the former behaviour) | FLASHRNN_DR_QUADS=0, interleaved twice"
for r in 1 2; do for v in default sync noquads; do echo "-- $v (round $r)"
  case $v in default) E="X=1";; sync) E="FLASHRNN_SYNCHRONOUS=1";; noquads) E="FLASHRNN_DR_QUADS=0";; esac
  env $E timeout -k 5 90 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" $B | grep -v "^device\|^backend"
  env $E timeout -k 5 60 "$F" gpu-bench --backend cuda-alternating --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" $B | grep -v "^device\|^backend"
  env $E timeout -k 5 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768;16,1024,1,64" $B | grep -v "^device\|^backend"
done; done
stamp "dR above D = 64: cuBLAS products (default) against the tensor-core tiles with 16-byte loads (FLASHRNN_DR=mma)"
for d in default mma; do echo "-- FLASHRNN_DR=$d"
  FLASHRNN_DR=$d T 90 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,8,96;16,1024,6,128;16,1024,4,192;16,1024,3,256" $B | grep -v "^device\|^backend"
done
stamp "first call of a new shape (gru float16 7,300,5,40): empty cache (cold; cold training call), then warm; each with the modules it compiled"
first_calls
stamp "done"
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/perf-round.tgz" -C /tmp perf-round
