#!/usr/bin/env bash
# Eighth session, the one-SM backward sweep's step (rounds bwdiet and split4), one script for its
# three calls, each old (main 464b96f) against new in the same call:
#   1        fewer instructions a step (B fragments and staged inputs at constant offsets from
#            one base, staging predicates as bit masks); checks up to D = 128, every dtype;
#   2        the B fragments back to load_b (ptxas interleaves them with the mma); quick checks;
#   split4   the K range over four warps per 16-feature group up to DP = 64; checks up to 64.
# Usage: scripts/fused/bwdiet_round.sh NEW_BIN OLD_BIN CALL; logs in $OUT/bwdiet-CALL-round.tgz.
set -uo pipefail
BIN=$1; OLD=$2; CALL=$3
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/../round_setup.sh" "bwdiet-$CALL"
unpack_old "$OLD"
case $CALL in
  1) SH="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,8,96;16,1024,1,64"; DTYPES="float32 float16 bfloat16"; CHECK="--max-head-dim 128"; REPS=3;;
  2) SH="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,8,96;16,1024,1,64"; DTYPES="float16 bfloat16"; CHECK="--max-head-dim 64 --quick"; REPS=3;;
  *) SH="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,1,64"; DTYPES="float16 bfloat16"; CHECK="--max-head-dim 64"; REPS=3;;
esac
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "checks of the new binary (cudaFused $CHECK, every cell, $DTYPES)"
for c in lstm slstm gru elman; do for t in $DTYPES; do
  T 150 "$F" check --backend cuda-fused --cell $c --dtype $t $CHECK > "$L/check-$c-$t.log" 2>&1 &
done; done; wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f")"; grep -E "^FAIL|rror" "$f" | head -4; done
stamp "LSTM bfloat16 and float16, old and new interleaved $REPS times"
for r in $(seq $REPS); do for v in old new; do echo "-- $v ($r)"
  X=$([ $v = old ] && echo "$O" || echo "$F")
  T 90 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SH" $B | grep -v "^device\\|^backend"
  T 90 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype float16 --shapes "16,1024,12,64;16,1024,1,64" $B | grep -v "^device\\|^backend"
done; done
stamp "other cells at 64 x 12 and 32 x 24, old and new"
for v in old new; do X=$([ $v = old ] && echo "$O" || echo "$F")
  for c in slstm gru elman; do echo "-- $v $c"; T 60 "$X" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 --shapes "16,1024,12,64;16,1024,24,32" $B | tail -2; done
done
stamp "trace of the new binary at 64 x 12"
FLASHRNN_TRACE=1 T 60 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" --warmup 1 --reps 2 2>&1 | grep -i "sweep\|dR" | tail -3
stamp "sanitizers on the new binary (staged D = 64 B > 8, unstaged odd D, GRU fp16 D = 48, Elman D = 16, sLSTM)"
sanitize_fused "lstm bfloat16 9,5,2,64" "lstm bfloat16 11,4,1,33" "gru float16 11,6,3,48" "elman bfloat16 3,5,2,16" "slstm bfloat16 9,5,2,64"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/bwdiet-$CALL-round.tgz" -C "$L" .
