#!/usr/bin/env bash
# One round on the GPU machine (build nothing there): correctness check, alternating-backend
# benchmark on upstream's head-dimension sweep, first-call times (cold and warm disk cache),
# the PyTorch cuDNN baseline, then a table of ratios. Logs and JSON go to $OUT.
#
#   scripts/gpu-round.sh BIN_DIR      (BIN_DIR holds the static `flashrnn` and these scripts)
# Results: $OUT/results.json (every JSON merged), check.log, bench.log, first-call.log, cudnn.log, info.log.
# Environment: CHECK_ARGS (default --quick), BENCH_CELLS (default lstm), BENCH_DTYPES
# (default bfloat16), SKIP_CHECK=1, SKIP_CUDNN=1.
set -uo pipefail
BIN=${1:-.device-bin/cuda}
OUT=${OUT:-/tmp/flashrnn-round}
mkdir -p "$OUT"
FLASHRNN="$BIN/flashrnn"
# The kernel cache lives outside $OUT: only 8 files come back from the device machine.
export FLASHRNN_CACHE_DIR="${TMPDIR:-/tmp}/flashrnn-round-cache"
rm -rf "$FLASHRNN_CACHE_DIR"
status=0

echo "== info"; "$FLASHRNN" info 2>&1 | tee "$OUT/info.log"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv 2>&1 | tee -a "$OUT/info.log"

echo "== first call (cold disk cache, then warm disk cache in a new process)"
for round in cold warm; do
  "$FLASHRNN" gpu-bench --first-call --cell lstm --dtype bfloat16 --shapes "16,1024,12,64" \
      --json "$OUT/first-call-$round.json" 2>&1 | sed "s/^/[$round] /" | tee -a "$OUT/first-call.log"
done

if [ "${SKIP_CHECK:-0}" != 1 ]; then
  echo "== check"
  timeout ${CHECK_TIMEOUT:-150} "$FLASHRNN" check ${CHECK_ARGS:---quick} > "$OUT/check.log" 2>&1 || status=1
  grep -E "^FAIL" "$OUT/check.log" | head -40
  tail -1 "$OUT/check.log"
fi

echo "== benchmark (alternating, head-dimension sweep B=16 T=1024 N*D=768)"
for cell in ${BENCH_CELLS:-lstm}; do
  for dtype in ${BENCH_DTYPES:-bfloat16}; do
    "$FLASHRNN" gpu-bench --backend cuda-alternating --cell "$cell" --dtype "$dtype" --preset head-dim \
        --warmup 2 --reps 10 --json "$OUT/bench-$cell-$dtype.json" 2>&1 | tee -a "$OUT/bench.log" || status=1
  done
done

echo "== benchmark (fused, head dimensions it runs: D <= 128 of the sweep, B=16 T=1024)"
for cell in ${BENCH_CELLS:-lstm}; do
  for dtype in ${BENCH_DTYPES:-bfloat16}; do
    "$FLASHRNN" gpu-bench --backend cuda-fused --cell "$cell" --dtype "$dtype" \
        --shapes "16,1024,48,16;16,1024,24,32;16,1024,12,64;16,1024,6,128" \
        --warmup 2 --reps 10 --json "$OUT/bench-fused-$cell-$dtype.json" 2>&1 | tee -a "$OUT/bench.log" || status=1
  done
done

if [ "${SKIP_CUDNN:-0}" != 1 ]; then
  echo "== cuDNN baseline"
  PYTHONUNBUFFERED=1 python3 "$BIN/cudnn_baseline.py" --cells lstm --dtypes bfloat16,float16 \
      --shapes "16,1024,768" --json "$OUT/cudnn.json" 2>&1 | tee "$OUT/cudnn.log"
fi

echo "== ratios (upstream alternating from docs: fw 17.6/14.3/16.3/13.5/13.1/12.1, fw+bw 41.3/32.2/33.3/34.0/28.4/36.8 ms)"
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
up_fw = {16: 17.6, 32: 14.3, 64: 16.3, 128: 13.5, 256: 13.1, 768: 12.1}
up_fb = {16: 41.3, 32: 32.2, 64: 33.3, 128: 34.0, 256: 28.4, 768: 36.8}
path = os.path.join(out, "bench-lstm-bfloat16.json")
cudnn = {}
try:
    for r in json.load(open(os.path.join(out, "cudnn.json"))):
        cudnn[(r["dtype"], r["H"])] = r
except Exception:
    pass
if os.path.exists(path):
    print("D x N      ours fw  ours fw+bw   upstream fw/ours   upstream fw+bw/ours   cuDNN bf16 fw/ours")
    for r in json.load(open(path)):
        D = r["D"]
        c = cudnn.get(("bfloat16", r["N"] * D))
        cr = f'{c["forwardMs"] / r["forwardMs"]:.2f}' if c else "-"
        print(f'{D:3} x {r["N"]:2}  {r["forwardMs"]:8.3f} {r["forwardBackwardMs"]:11.3f} {up_fw[D] / r["forwardMs"]:18.2f} '
              f'{up_fb[D] / r["forwardBackwardMs"]:21.2f} {cr:>20}')
for name in ("first-call-cold.json", "first-call-warm.json"):
    p = os.path.join(out, name)
    if os.path.exists(p):
        for r in json.load(open(p)):
            print(f'{name}: init {r["runtimeInitMs"]:.0f} ms, first forward {r["firstForwardMs"]:.0f} ms, first fw+bw {r["firstForwardBackwardMs"]:.0f} ms')
PY
# One results file instead of many (the device machine returns at most 8 files).
python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
merged = {}
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    name = os.path.basename(path)
    if name == "results.json":
        continue
    merged[name[:-5]] = json.load(open(path))
    os.remove(path)
json.dump(merged, open(os.path.join(out, "results.json"), "w"), indent=1)
PY
exit $status
