#!/usr/bin/env bash
# One device call for round "mbarrier" (docs/performance-fused.md): is the cluster sweeps' mbarrier
# exchange safe, and what does it cost?
# 1. compute-sanitizer racecheck and memcheck, FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier: LSTM bfloat16
#    9,5,1,200 forward and forward+backward (gpu-bench), and `flashrnn run` forward+backward with
#    forward clip 0.5 of Elman and LSTM float16 at B=5 T=9 N=3 D=144 (inputs in BIN_DIR/in-*);
# 2. the same `run` problems (and LSTM bfloat16 D = 200 without clip) under split, mbarrier and
#    mbarrier again: a race-free exchange gives bit-identical states, dWx and dInitial (the same
#    products in the same order; db and dR sum with atomics);
# 3. replays of the fifth session's two forward-clip outliers by seed (Elman float16 closing call,
#    LSTM float16 on portable clusters) under split and mbarrier;
# 4. `flashrnn check --backend cuda-fused --min-head-dim 129 --dtype float16|bfloat16`, every cell,
#    mbarrier, twice (fresh seeds), logs straight into $OUT;
# 5. gpu-bench LSTM bfloat16 B = 16, T = 1024, 256 x 3, 192 x 4, 384 x 2, 512 x 1, split and mbarrier.
# Usage: scripts/fused/mbarrier_round.sh BIN_DIR (flashrnn.gz, cache.tgz, in-*/ from mbarrier_inputs.py); logs in $OUT/mbarrier-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/mbarrier}
source scripts/fused/mbarrier_setup.sh mbarrier
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader) $(cat $BIN/commit.txt 2>/dev/null)"
stamp "1. compute-sanitizer, mbarrier"
export FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier
for tool in racecheck memcheck; do
  echo "-- $tool gpu-bench lstm bfloat16 9,5,1,200"
  timeout 40 $CS --tool $tool "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 --shapes "9,5,1,200" --warmup 0 --reps 1 > "$L/$tool-lstm200.log" 2>&1
  grep -E "$G" "$L/$tool-lstm200.log" | sort | uniq -c | head -8
  for c in elman lstm; do
    echo "-- $tool run $c float16 5,9,3,144 forward clip 0.5, forward+backward"
    timeout 30 $CS --tool $tool "$F" run --cell $c --backend cuda-fused --dtype float16 $(runargs ${c}144) --forward-clip 0.5 --out /tmp/san-$c > "$L/$tool-${c}144.log" 2>&1
    grep -E "$G" "$L/$tool-${c}144.log" | sort | uniq -c | head -8
  done
done
unset FLASHRNN_FUSED_CLUSTER_SYNC
save
stamp "4. check --backend cuda-fused --min-head-dim 129, mbarrier, every cell, float16 and bfloat16, twice"
for i in 1 2; do
  for c in lstm slstm gru elman; do for t in float16 bfloat16; do
    FLASHRNN_FUSED_CLUSTER_SYNC=mbarrier timeout 60 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 129 > "$RESULTS/check-$i-$c-$t.log" 2>&1 &
  done; done
  wait; sleep 1
done
for f in "$RESULTS"/check-*.log; do
  echo "-- $(basename "$f" .log): $(grep -c '^PASS' "$f") PASS, $(grep -c '^FAIL' "$f") FAIL; $(head -1 "$f" | cut -c1-40)"
  grep -E "^FAIL" "$f" | cut -c1-400
done
tar -czf "$RESULTS/checks.tgz" -C "$RESULTS" $(cd "$RESULTS" && ls check-*.log) && rm -f "$RESULTS"/check-*.log
save
stamp "2. bitwise: split, mbarrier, mbarrier"
for p in elman144:elman:float16:0.5 lstm144:lstm:float16:0.5 lstm200:lstm:bfloat16:; do
  IFS=: read -r d c t clip <<< "$p"
  for s in split mbarrier mbarrier2; do
    FLASHRNN_FUSED_CLUSTER_SYNC=${s%2} timeout 30 "$F" run --cell $c --backend cuda-fused --dtype $t $(runargs $d) ${clip:+--forward-clip $clip} --out /tmp/bw-$d-$s 2>&1 | tail -1
  done
  for f in states last_states d_wx d_states d_r d_b; do
    for s in mbarrier mbarrier2; do
      cmp -s /tmp/bw-$d-split/$f.npy /tmp/bw-$d-$s/$f.npy && r=identical || r=$(python3 -c "import numpy as n;a=n.load('/tmp/bw-$d-split/$f.npy');b=n.load('/tmp/bw-$d-$s/$f.npy');print('differs: max |diff| %.3e of max %.3e'%(abs(a-b).max(),abs(a).max()))" 2>&1)
      echo "$d $f split vs $s: $r"
    done
  done
done
save
stamp "5. gpu-bench LSTM bfloat16 B = 16, T = 1024 ($B)"
for s in split mbarrier; do
  FLASHRNN_FUSED_CLUSTER_SYNC=$s timeout 40 "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
    --shapes "16,1024,3,256;16,1024,4,192;16,1024,2,384;16,1024,1,512" $B 2>&1 | grep -v "^device" | sed "s/^/$s /"
done
stamp "3. replays of the fifth session's forward-clip outliers (Elman float16 closing seed 1795977373864 as case 7 of --min-head-dim 129; LSTM float16 portable 1795977046692)"
for s in split mbarrier; do
  FLASHRNN_FUSED_CLUSTER_SYNC=$s timeout 40 "$F" check --backend cuda-fused --cell elman --dtype float16 --min-head-dim 129 --seed 1795977468892 2>&1 | grep "forward clip, cluster" | sed "s/^/$s /"
  FLASHRNN_FUSED_CLUSTER_SYNC=$s FLASHRNN_FUSED_CLUSTER_MIN_SIZE=8 timeout 40 "$F" check --backend cuda-fused --cell lstm --dtype float16 --min-head-dim 129 --seed 1795977046692 2>&1 | grep "forward clip, cluster" | sed "s/^/$s portable /"
done
save
stamp done
} 2>&1 | tee "$L/round.log"
save
