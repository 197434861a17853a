#!/usr/bin/env bash
# One device call that profiles the kernels of one GPU backend per shape with Nsight Compute
# (hardware counters; `--clock-control none`: the clocks are left alone) and dumps, per kernel,
# the details page (speed of light, warp stalls, occupancy, memory) and the SASS with its
# stall samples, for reading on a machine without ncu. Usage:
#   scripts/profile/profile-round.sh BIN_DIR "label backend cell dtype B,T,N,D kernel-regex" ...
# BIN_DIR holds flashrnn.gz. Results: one archive $OUT/profile.tgz (the device returns few files).
set -uo pipefail
BIN=$1; shift
P=/tmp/profile; mkdir -p "$P"
F=/tmp/flashrnn-profile; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/profile-kernel-cache
NCU=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for spec in "$@"; do
  read -r label backend cell dtype shape regex <<<"$spec"
  echo "== $label: $backend $cell $dtype $shape kernel ~ $regex ($(date -u +%T))"
  # Compile outside the profiler first (NVRTC under ncu is slow), then one profiled launch.
  timeout 60 "$F" gpu-bench --backend "$backend" --cell "$cell" --dtype "$dtype" --shapes "$shape" --warmup 1 --reps 3 | tail -2
  timeout 120 "$NCU" --clock-control none --kernel-name-base function -k "regex:$regex" -c 1 --set full \
    --import-source no -f -o "$P/$label" "$F" gpu-bench --backend "$backend" --cell "$cell" --dtype "$dtype" \
    --shapes "$shape" --warmup 0 --reps 1 > "$P/$label.ncu.log" 2>&1 || echo "ncu exit $? (see $label.ncu.log)"
  if [ -e "$P/$label.ncu-rep" ]; then
    "$NCU" --import "$P/$label.ncu-rep" --page details > "$P/$label.details.txt" 2>&1
    "$NCU" --import "$P/$label.ncu-rep" --page source --print-source sass --csv > "$P/$label.sass.csv" 2>&1
    grep -E "Duration|Registers Per|Achieved Occupancy|Warp Cycles Per Issued|Issued Ipc|Compute \(SM\) Throughput|Memory Throughput|Stall" "$P/$label.details.txt" | head -12
  fi
done
tar -czf "${OUT:-/tmp}/profile.tgz" -C "$P" --exclude='*.ncu-rep' . && ls -la "${OUT:-/tmp}/profile.tgz"
