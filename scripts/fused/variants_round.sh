#!/usr/bin/env bash
# One device call (after scripts/session-round.sh in the same command) for the fused choices not
# yet settled: the forward's Wx staging ring (FLASHRNN_FUSED_STAGE_WX=1: quick check of every cell
# in float16/bfloat16, then the head-dimension sweep D ≤ 128) and dR by cuBLAS products against
# the tiled kernel (FLASHRNN_DR=products|kernel: quick check with products for D ≤ 128,
# timings at 16 × 48 … 768 × 1). Usage: scripts/fused/variants_round.sh BIN_DIR check|bench
# (BIN_DIR: flashrnn.gz, optionally cache.tgz). `check` may run beside session-round.sh's checks;
# `bench` must have the GPU to itself. Logs land in $OUT/variants-MODE.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}; MODE=${2:-check}
RESULTS=${OUT:-/tmp}
L=/tmp/variants-$MODE; mkdir -p "$L"
F=/tmp/flashrnn-variants-$MODE; FLASHRNN_CACHE_DIR=/tmp/variants-kernel-cache-$MODE
source "$(dirname "$0")/../device_binary.sh"
B="--warmup 2 --reps 5"
SMALL="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128"
stamp() { echo "== $(date -u +%T) $*"; }
{
if [ "$MODE" = check ]; then
stamp "check cudaFused --quick, float16/bfloat16: Wx staged (lstm, gru) and dR by products (slstm, elman), 8 processes"
for d in float16 bfloat16; do
  for c in lstm gru; do FLASHRNN_FUSED_STAGE_WX=1 timeout 100 "$F" check --backend cuda-fused --quick --cell $c --dtype $d > "$L/check-staged-$c-$d.log" 2>&1 & done
  for c in slstm elman; do FLASHRNN_DR=products timeout 100 "$F" check --backend cuda-fused --quick --cell $c --dtype $d > "$L/check-products-$c-$d.log" 2>&1 & done
done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(tail -1 "$f")"; grep -E "^FAIL" "$f" | head -4; done
else
stamp "Wx staged: lstm bfloat16, D ≤ 128 (default forward in session-round's sweep)"
FLASHRNN_FUSED_STAGE_WX=1 timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SMALL" $B --json "$L/bench-staged.json" | grep -v "^device"
for v in kernel products; do
  stamp "dR by $v: lstm bfloat16 head-dimension sweep, float16 768 x 1"
  FLASHRNN_DR=$v timeout 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SMALL;16,1024,3,256;16,1024,1,768" $B --json "$L/bench-dr-$v.json" | grep -v "^device"
  FLASHRNN_DR=$v timeout 30 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,1,768" $B --json "$L/bench-dr-$v-f16.json" | grep -v "^device\|^backend"
done
fi
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/variants-$MODE.tgz" -C "$L" .
