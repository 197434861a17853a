#!/usr/bin/env bash
# Round mbarrier's second call (the first one's forward-clip sanitizer runs hit a script typo):
# 1. compute-sanitizer racecheck and memcheck, mbarrier, `flashrnn run` forward+backward with
#    forward clip 0.5, Elman and LSTM float16, B=5 T=9 N=3 D=144 (inputs in BIN_DIR/in-*);
# 2. the first call's three forward-clip failures that are not "as the rounded-input CPU run",
#    replayed by seed under split and mbarrier: the same numbers under both = the clamp's mask,
#    not the exchange.
# Usage: scripts/fused/mbarrier_round2.sh BIN_DIR; logs in $OUT/mbarrier2-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/mbarrier}
source scripts/fused/mbarrier_setup.sh mbarrier2
{
stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader) $(cat $BIN/commit.txt 2>/dev/null)"
stamp "2. replays by seed under split and mbarrier (in the background)"
for s in split mbarrier; do
  for r in elman:float16:1795985161265 lstm:bfloat16:1795985161264 slstm:float16:1795985192019; do
    IFS=: read -r c t seed <<< "$r"
    FLASHRNN_FUSED_CLUSTER_SYNC=$s timeout 70 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 129 --seed $seed > "$L/replay-$s-$c-$t.log" 2>&1 &
  done
done
stamp "1. compute-sanitizer, mbarrier, forward clip"
export FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier
for tool in racecheck memcheck; do
  for c in elman lstm; do
    echo "-- $tool run $c float16 5,9,3,144 forward clip 0.5, forward+backward"
    timeout 40 $CS --tool $tool "$F" run --cell $c --backend cuda-fused --dtype float16 $(runargs ${c}144) --forward-clip 0.5 --out /tmp/san-$c > "$L/$tool-${c}144.log" 2>&1
    grep -E "$G" "$L/$tool-${c}144.log" | sort | uniq -c | head -8; tail -1 "$L/$tool-${c}144.log"
  done
done
unset FLASHRNN_FUSED_CLUSTER_SYNC
save
wait
for f in "$L"/replay-*.log; do echo "-- $(basename "$f" .log)"; grep "forward clip, cluster" "$f" | cut -c1-420; done
stamp done
} 2>&1 | tee "$L/round.log"
save
