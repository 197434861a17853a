# Sourced by the round-mbarrier device scripts, after BIN is set, with the round's name: the shared
# setup (round_setup.sh without a device cache fill), the archive `save`, the sanitizer and what to
# keep of its output, and `runargs NAME`: the `flashrnn run` input arguments of BIN/in-NAME
# (written by scripts/fused/mbarrier_inputs.py).
FLASHRNN_DEVICE_FILL=0
source scripts/round_setup.sh "$1"
save() { tar -czf "$RESULTS/$ROUND-round.tgz" -C "$L" .; }
CS=/usr/local/cuda/bin/compute-sanitizer
G="ERROR SUMMARY|RACECHECK SUMMARY|Error:|Warning:"
runargs() {
  local d=$BIN/in-$1
  echo "--wx $d/wx.npy --r $d/r.npy --b $d/b.npy --states $d/s0.npy --d-states $d/ds.npy --d-last $d/dl.npy"
}
