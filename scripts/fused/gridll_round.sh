#!/usr/bin/env bash
# One device call for round "gridll" (docs/performance-fused.md): does the grid sweeps' tagged-word
# exchange (FLASHRNN_FUSED_GRID_EXCHANGE=tagged) pass the checks, and what does it save over the
# arrival counter?
# 1. `flashrnn check --backend cuda-fused --min-head-dim 512`, tagged: the largest cluster head
#    (512) and every grid head of the check (529, 768, 896, 1024), every cell, float16 and
#    bfloat16, eight processes side by side;
# 2. `flashrnn run` LSTM bfloat16 B = 16, T = 256, 768 x 1 forward+backward (inputs from
#    gridll_inputs.py) under counter, tagged and tagged again: the same products in the same order
#    give bit-identical states, last states, dWx and dInitial (dR and db sum with atomics);
# 3. gpu-bench B = 16, T = 1024, 768 x 1: LSTM bfloat16 and float16 under counter, tagged, counter
#    (drift), then sLSTM and GRU bfloat16 under counter and tagged;
# 4. compute-sanitizer memcheck, tagged, LSTM bfloat16 9,5,1,529 forward+backward (racecheck sees
#    shared memory only, not the exchange through global memory, so it is not run).
# Usage: scripts/fused/gridll_round.sh BIN_DIR (flashrnn.gz, this script, gridll_inputs.py);
# logs in $OUT/gridll-round.tgz.
set -uo pipefail
BIN=${1:-.device-bin/gridll}
FLASHRNN_DEVICE_FILL=0
source scripts/round_setup.sh gridll
save() { tar -czf "$RESULTS/gridll-round.tgz" -C "$L" .; }
CS=/usr/local/cuda/bin/compute-sanitizer
G="ERROR SUMMARY|Error:|Warning:"
{
stamp "$(nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader) $(cat $BIN/commit.txt 2>/dev/null)"
python3 "$BIN/gridll_inputs.py" /tmp/gridll-inputs &
stamp "1. check --backend cuda-fused --min-head-dim 512, tagged, every cell, float16 and bfloat16"
for c in lstm slstm gru elman; do for t in float16 bfloat16; do
  FLASHRNN_FUSED_GRID_EXCHANGE=tagged timeout 60 "$F" check --backend cuda-fused --cell $c --dtype $t --min-head-dim 512 > "$L/check-$c-$t.log" 2>&1 &
done; done
wait
for f in "$L"/check-*.log; do
  echo "-- $(basename "$f" .log): $(grep -c '^PASS' "$f") PASS, $(grep -c '^FAIL' "$f") FAIL, $(grep -c '^UNSUPPORTED' "$f") unsupported; $(head -1 "$f" | cut -c1-40)"
  grep -E "^FAIL" "$f" | cut -c1-400
done
save
stamp "2. run lstm bfloat16 16,256,1,768: counter, tagged, tagged"
d=/tmp/gridll-inputs/in-lstm768
for s in counter tagged tagged2; do
  FLASHRNN_FUSED_GRID_EXCHANGE=${s%2} timeout 30 "$F" run --cell lstm --backend cuda-fused --dtype bfloat16 \
    --wx $d/wx.npy --r $d/r.npy --b $d/b.npy --states $d/s0.npy --d-states $d/ds.npy --d-last $d/dl.npy --out /tmp/gridll-run-$s 2>&1 | tail -1
done
for f in states last_states d_wx d_states d_r d_b; do
  for s in tagged tagged2; do
    cmp -s /tmp/gridll-run-counter/$f.npy /tmp/gridll-run-$s/$f.npy && r=identical || r=$(python3 -c "import numpy as n;a=n.load('/tmp/gridll-run-counter/$f.npy');b=n.load('/tmp/gridll-run-$s/$f.npy');print('differs: max |diff| %.3e of max %.3e'%(abs(a-b).max(),abs(a).max()))" 2>&1)
    echo "$f counter vs $s: $r"
  done
done
save
stamp "3. gpu-bench B = 16, T = 1024, 768 x 1 ($B)"
for ct in lstm:bfloat16 lstm:float16; do
  for s in counter tagged counter; do
    FLASHRNN_FUSED_GRID_EXCHANGE=$s timeout 25 "$F" gpu-bench --backend cuda-fused --cell ${ct%:*} --dtype ${ct#*:} \
      --shapes "16,1024,1,768" $B 2>&1 | grep -v "^device" | sed "s/^/$s ${ct} /"
  done
done
for c in slstm gru; do
  for s in counter tagged; do
    FLASHRNN_FUSED_GRID_EXCHANGE=$s timeout 25 "$F" gpu-bench --backend cuda-fused --cell $c --dtype bfloat16 \
      --shapes "16,1024,1,768" $B 2>&1 | grep -v "^device" | sed "s/^/$s $c:bfloat16 /"
  done
done
save
stamp "4. memcheck, tagged, gpu-bench lstm bfloat16 9,5,1,529"
FLASHRNN_FUSED_GRID_EXCHANGE=tagged timeout 35 $CS --tool memcheck "$F" gpu-bench --backend cuda-fused --cell lstm --dtype bfloat16 \
  --shapes "9,5,1,529" --warmup 0 --reps 1 > "$L/memcheck-lstm529.log" 2>&1
echo "rc=$?"; grep -E "$G" "$L/memcheck-lstm529.log" | sort | uniq -c | head -8
save
stamp done
} 2>&1 | tee "$L/round.log"
save
