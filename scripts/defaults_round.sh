#!/usr/bin/env bash
# A short device call after a change of defaults: the quick check grids of both GPU backends in
# every dtype and cell (8 processes; the quick grid reaches D = 129, the first cluster
# head), and the LSTM bfloat16 timings at 16 x 48, 64 x 12 and 256 x 3.
# Usage: scripts/defaults_round.sh BIN_DIR; logs in $OUT/defaults-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/round}
source "$(dirname "$0")/round_setup.sh" defaults
{
stamp "quick check, both backends, every dtype and cell"
for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
  timeout -k 5 90 "$F" check --backend $b --cell $c --quick > "$L/check-$b-$c.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed|^of the failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL|rror" "$f" | head -4; done
stamp "LSTM bfloat16 timings, both backends"
for b in cuda-fused cuda-alternating; do
  timeout -k 5 40 "$F" gpu-bench --backend $b --cell lstm --dtype bfloat16 --shapes "16,1024,48,16;16,1024,12,64;16,1024,3,256" $B | grep -v "^device"
done
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/defaults-round.tgz" -C "$L" .
