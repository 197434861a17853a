#!/usr/bin/env bash
# Sixth session, first device call: the split kernel modules (forward, backward, dR apart,
# compiled side by side on a cold call). First calls of a new shape with an empty kernel cache
# (inference forward then forward+backward; and a training call alone, each in a new process and
# cache), then with the disk cache warm; then the quick check grid of both backends, every cell.
# Usage: scripts/modules_round.sh BIN_DIR; logs in $OUT/modules-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" modules
T() { timeout -k 5 "$@"; }
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "first call of a new shape (gru float16 7,300,5,40; lstm bfloat16 16,1024,12,64): cold, cold training call, warm"
for b in cuda-fused cuda-alternating; do for s in "gru float16 7,300,5,40" "lstm bfloat16 16,1024,12,64"; do set -- $s
  echo "-- cold $b $s"
  FLASHRNN_CACHE_DIR=/tmp/fc-$b-$1 T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
  echo "-- cold training call $b $s"
  FLASHRNN_CACHE_DIR=/tmp/fct-$b-$1 T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-training-call 2>&1 | grep -v "^device\|^backend"
  echo "-- warm $b $s"
  FLASHRNN_CACHE_DIR=/tmp/fc-$b-$1 T 40 "$F" gpu-bench --backend $b --cell $1 --dtype $2 --shapes "$3" --first-call 2>&1 | grep -v "^device\|^backend"
done; done
stamp "quick check grids, both backends, every cell (8 processes)"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  T 150 "$F" check --quick --backend $b --cell $c > "$L/check-$b-$c.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL|rror" "$f" | head -6; done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/modules-round.tgz" -C "$L" .
