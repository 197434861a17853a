#!/usr/bin/env bash
# A session's last device call, after the closing call set new defaults: the full check grids of
# cudaFused (every cell, 4 processes) and a quick grid of cudaAlternating; the LSTM bfloat16
# head-dimension sweep with the defaults; the other cells at 64 x 12 and 128 x 6; compute-sanitizer
# memcheck and racecheck on the kernels the defaults now take (sixth session: one-SM heads on small
# clusters per sweep; the mbarrier cluster exchange).
# Usage: scripts/defaults_round.sh BIN_DIR; logs in $OUT/defaults-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" defaults
CS=/usr/local/cuda/bin/compute-sanitizer
T() { timeout -k 5 "$@"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "check: cudaFused full grids, every cell; cudaAlternating quick grids (8 processes)"
for c in lstm slstm gru elman; do
  T 170 "$F" check --backend cuda-fused --cell $c > "$L/check-cuda-fused-$c.log" 2>&1 &
  T 170 "$F" check --backend cuda-alternating --quick --cell $c > "$L/check-cuda-alternating-$c.log" 2>&1 &
done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL|rror" "$f" | cut -c1-240 | head -8; done
stamp "LSTM bfloat16 head-dimension sweep (defaults), cudaFused"
T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --preset head-dim $B --json "$L/bench-cuda-fused.json" | grep -v "^device"
stamp "other cells, bfloat16, fused: 64 x 12, 128 x 6 (defaults)"
for c in slstm gru elman; do
  T 60 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,6,128" $B | grep -v "^device\|^backend"
done
stamp "compute-sanitizer memcheck and racecheck (fw+bw): small clusters of the policy (LSTM bf16 D = 128 on 8, D = 64 forward on 4), mbarrier cluster exchange (LSTM bf16 D = 200, Elman fp16 D = 144 forward clip is in the check grid)"
for tool in memcheck racecheck; do
  for args in "lstm bfloat16 9,5,2,128" "gru float16 16,5,2,64" "lstm bfloat16 9,5,1,200" "elman float16 5,9,3,144"; do set -- $args
    echo "-- $tool $args"
    T 90 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell $1 --dtype $2 --shapes "$3" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -3
  done
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/defaults-round.tgz" -C "$L" .
