#!/usr/bin/env bash
# Round tcdr, one device call (≤ 180 s): dR on tensor cores for 16-bit storage. The full check
# grids of both GPU backends for float16 and bfloat16, every cell, with FLASHRNN_DR=mma (16 processes); the LSTM
# bfloat16 head-dimension sweep (B = 16, T = 1024) of cudaFused with dR on tensor cores
# (FLASHRNN_DR=mma) against kernel and products, cudaAlternating at 64 x 12 and 768 x 1;
# FLASHRNN_TRACE phase times at 64 x 12. Usage (repository root): scripts/tcdr_round.sh BIN_DIR
# (flashrnn.gz); logs in $OUT/tcdr-round.tgz, re-packed after every stage.
set -uo pipefail
BIN=${1:-.device-bin/tcdr}
source "$(dirname "$0")/round_setup.sh" tcdr
pack() { tar -czf "$RESULTS/tcdr-round.tgz" -C "$L" .; }
bench() {  # backend, FLASHRNN_DR value, shapes, log name (timeout -k: a process stuck in the driver ignores SIGTERM)
  echo "-- $1 FLASHRNN_DR=$2"
  FLASHRNN_DR=$2 timeout -k 5 40 "$F" gpu-bench --backend "$1" --cell lstm --dtype bfloat16 --shapes "$3" $B --json "$L/bench-$4.json" | grep -v "^device"
}
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check with dR on tensor cores (FLASHRNN_DR=mma), full grids, float16 and bfloat16, both backends, every cell (16 processes)"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do for d in float16 bfloat16; do
  FLASHRNN_DR=mma timeout -k 5 "${CHECK_S:-75}" "$F" check --backend $b --cell $c --dtype $d > "$L/check-$b-$c-$d.log" 2>&1 &
done; done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(tail -1 "$f")"; grep -E "^FAIL" "$f" | head -6; done
pack
stamp "cudaFused LSTM bfloat16 sweep: dR on tensor cores (FLASHRNN_DR=mma; 64 x 12 alone first), FMA kernel, cuBLAS products"
bench cuda-fused mma "16,1024,12,64" fused-mma-probe
bench cuda-fused mma "$SWEEP" fused-mma
bench cuda-fused kernel "16,1024,48,16;16,1024,12,64" fused-kernel
bench cuda-fused products "16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768" fused-products
pack
stamp "cudaAlternating LSTM bfloat16: tensor cores (FLASHRNN_DR=mma) against products"
bench cuda-alternating mma "16,1024,12,64;16,1024,1,768" alt-mma
bench cuda-alternating products "16,1024,12,64;16,1024,1,768" alt-products
pack
stamp "phase breakdown at 64 x 12 (FLASHRNN_TRACE stream times of a second call)"
for v in mma kernel products; do
  echo "-- cuda-fused FLASHRNN_DR=$v"
  FLASHRNN_DR=$v FLASHRNN_TRACE=1 timeout -k 5 20 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" --warmup 1 --reps 1 2>&1 | grep "stream time" | tail -6
done
stamp done
} 2>&1 | tee "$L/round.log"
pack
