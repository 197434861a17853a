# Sourced by the one-call device-round scripts, after BIN is set, with the round's name:
#   source "$(dirname "$0")/round_setup.sh" NAME
# Sets RESULTS ($OUT, else /tmp: where the script leaves its archive), L (/tmp/NAME-round, the
# logs), F (the unpacked binary) and the kernel cache folder, unpacks BIN (device_binary.sh), and
# defines B (the timing arguments) and stamp (a timestamped section line).
ROUND=$1
RESULTS=${OUT:-/tmp}
L=/tmp/$ROUND-round; mkdir -p "$L"
F=/tmp/flashrnn-$ROUND; FLASHRNN_CACHE_DIR=/tmp/$ROUND-kernel-cache
source "$(dirname "${BASH_SOURCE[0]}")/device_binary.sh"
B="--warmup 2 --reps 5"
stamp() { echo "== $(date -u +%T) $*"; }
# The upstream head-dimension sweep (B = 16, T = 1024, N·D = 768); bench: gpu-bench with the
# round's timing arguments; sweep_both_backends: the LSTM bfloat16 sweep of both GPU backends,
# JSON in $L/bench-BACKEND.json.
SWEEP="16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128;16,1024,3,256;16,1024,1,768"
bench() { timeout -k 5 90 "$F" gpu-bench "$@" $B | grep -v "^device"; }
sweep_both_backends() {
  for b in cuda-fused cuda-alternating; do bench --backend $b --cell lstm --dtype bfloat16 --shapes "$SWEEP" --json "$L/bench-$b.json"; done
}
# The opening of a closing call: the machine line, full check grids of both backends (each
# check limited to $1 seconds), then the LSTM bfloat16 sweep of both backends.
closing_checks_and_sweep() {
  stamp "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
  stamp "check, full grids of both backends, every cell and dtype (8 processes)"
  CHECK_S=$1 check_grids
  stamp "LSTM bfloat16 head-dimension sweep, both backends"
  sweep_both_backends
}
T() { timeout -k 5 "$@"; }   # kill what outlives its limit (a stuck process must not hold the GPU)
CS=/usr/local/cuda/bin/compute-sanitizer
# Runs `flashrnn check` of both GPU backends for every cell side by side (8 processes; arguments
# go to every check, e.g. --quick; CHECK_S limits each), logs in $L/check-BACKEND-CELL.log, then
# prints each one's summary line and failures.
check_grids() {
  for c in lstm slstm gru elman; do for b in cuda-fused cuda-alternating; do
    timeout -k 5 "${CHECK_S:-150}" "$F" check --backend $b --cell $c "$@" > "$L/check-$b-$c.log" 2>&1 &
  done; done
  wait
  for f in "$L"/check-cuda-*.log; do
    echo "-- $(basename "$f" .log): $(grep -E "passed, .* failed" "$f" | tr '\n' ' ')"; grep -E "^FAIL|rror" "$f" | head -8
  done
}
# compute-sanitizer racecheck, then memcheck, of one cudaFused gpu-bench call per argument
# "cell dtype B,T,N,D"; prints each one's summary line.
sanitize_fused() {
  local runs=("$@") tool run cell dtype shape
  for tool in ${SANITIZERS:-racecheck memcheck}; do for run in "${runs[@]}"; do
    read -r cell dtype shape <<<"$run"
    echo "-- $tool $run"
    timeout -k 5 90 /usr/local/cuda/bin/compute-sanitizer --tool $tool "$F" gpu-bench --backend cuda-fused --cell "$cell" --dtype "$dtype" \
      --shapes "$shape" --warmup 0 --reps 1 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Error|error" | head -3
  done; done
}
# First calls of a new shape (gru float16 7,300,5,40) for both GPU backends: an empty kernel cache
# (inference forward then fw+bw; a training call alone, in another empty cache), then the disk
# cache warm (a new process); each line says how many modules the process compiled.
first_calls() {
  local b c1 c2
  for b in cuda-fused cuda-alternating; do
    c1=$(mktemp -d); c2=$(mktemp -d)
    echo "-- cold $b"; FLASHRNN_CACHE_DIR=$c1 timeout -k 5 40 "$F" gpu-bench --backend $b --cell gru --dtype float16 --shapes 7,300,5,40 --first-call 2>&1 | grep "^first"
    echo "-- cold training call $b"; FLASHRNN_CACHE_DIR=$c2 timeout -k 5 40 "$F" gpu-bench --backend $b --cell gru --dtype float16 --shapes 7,300,5,40 --first-training-call 2>&1 | grep "^first"
    echo "-- warm $b"; FLASHRNN_CACHE_DIR=$c1 timeout -k 5 40 "$F" gpu-bench --backend $b --cell gru --dtype float16 --shapes 7,300,5,40 --first-call 2>&1 | grep "^first"
  done
}
# compute-sanitizer memcheck of `check --quick` up to D = 33 for LSTM bfloat16 of both backends, and
# racecheck of cudaFused's (small shapes with and without s0, odd D, B > 8, both layouts).
sanitize_checks() {
  local run
  for run in "memcheck cuda-fused" "memcheck cuda-alternating" "racecheck cuda-fused"; do set -- $run
    echo "-- $1 check $2 lstm bfloat16 --quick --max-head-dim 33"
    timeout -k 5 60 /usr/local/cuda/bin/compute-sanitizer --tool $1 "$F" check --backend $2 --cell lstm --dtype bfloat16 --quick --max-head-dim 33 2>&1 \
      | grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed, .* failed" | head -3
  done
}
# Unpacks a second binary (OLD_DIR/flashrnn.gz) to $O for rounds that time an earlier build in the same call.
unpack_old() { O=/tmp/flashrnn-old; gunzip -c "$1/flashrnn.gz" > "$O"; chmod +x "$O"; }
