#!/usr/bin/env bash
# Seventh session, round mbwait: the mbarrier cluster exchange waits in one thread per CTA
# (acquire at cluster scope) and a CTA barrier, instead of every thread waiting at cluster scope
# (ncu: CCTL.IVALL with long_sb, 21 % of the 128 x 6 backward's stall samples). One call: old binary
# (NEW_BIN's parent) against new in the same call, cluster checks of the new one, sanitizers.
# Usage: scripts/fused/mbwait_round.sh NEW_BIN OLD_BIN; logs in $OUT/mbwait-round.tgz.
set -uo pipefail
BIN=$1; OLD=$2
FLASHRNN_DEVICE_FILL=0
source "$(dirname "$0")/../round_setup.sh" mbwait
unpack_old "$OLD"
SH="16,1024,12,64;16,1024,6,128;16,1024,4,192;16,1024,3,256;16,1024,1,512"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
stamp "cluster checks of the new binary (cudaFused, D >= 64, every cell, float16 and bfloat16: small clusters, clusters)"
for c in lstm slstm gru elman; do for t in float16 bfloat16; do
  T 150 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 64 --max-head-dim 512 > "$L/check-$c-$t.log" 2>&1 &
done; done; wait
for f in "$L"/check-*.log; do echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f")"; grep -E "^FAIL|rror" "$f" | head -4; done
stamp "LSTM bfloat16, old and new interleaved twice"
for r in 1 2; do for v in old new; do echo "-- $v ($r)"
  X=$([ $v = old ] && echo "$O" || echo "$F")
  T 90 "$X" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "$SH" $B | grep -v "^device\\|^backend"
done; done
stamp "sanitizers on the new binary: LSTM bf16 D = 200 (16 CTAs), D = 128 (8 CTAs), Elman fp16 D = 144, GRU fp16 D = 64 (forward on 4)"
sanitize_fused "lstm bfloat16 9,5,1,200" "lstm bfloat16 9,5,2,128" "elman float16 5,9,3,144" "gru float16 3,7,2,64"
stamp done
} 2>&1 | tee "$L/round.log"
tar -czf "$RESULTS/mbwait-round.tgz" -C "$L" .
