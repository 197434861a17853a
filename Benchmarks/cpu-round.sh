#!/usr/bin/env bash
# One CPU benchmark round: our release `flashrnn bench --preset cpu` and the ONNX Runtime / JAX
# baselines (Benchmarks/cpu_baseline.py), one after the other on the same machine, then the
# ratios against the targets (forward ≤ ONNX Runtime, forward+backward ≤ JAX / 2).
#
# usage: Benchmarks/cpu-round.sh [OUTDIR]     (default: .build-bench/<UTC time>)
# env:   PYTHON (default: .build-py/venv/bin/python, else python3; needs onnxruntime, onnx,
#        jax, numpy), REPEATS (default 5), THREADS (default: all processors), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.build-bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
REPEATS=${REPEATS:-5}
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN)}
PYTHON=${PYTHON:-$( [ -x .build-py/venv/bin/python ] && echo .build-py/venv/bin/python || echo python3 )}

[ "${SKIP_BUILD:-0}" = 1 ] || swift build -c release --product flashrnn >&2
BIN=$(swift build -c release --show-bin-path)/flashrnn

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift || echo ' (modified)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(getconf _NPROCESSORS_ONLN) processors"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/round.txt"

"$BIN" bench --preset cpu --warmup 1 --repeats "$REPEATS" --threads "$THREADS" --json "$OUT/flashrnn.json" | tee -a "$OUT/round.txt"
"$PYTHON" Benchmarks/cpu_baseline.py --threads "$THREADS" --repeats "$REPEATS" --json "$OUT/baseline.json" | tee -a "$OUT/round.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/round.txt"

"$PYTHON" - "$OUT/flashrnn.json" "$OUT/baseline.json" <<'PY' | tee -a "$OUT/round.txt"
import json, sys
ours = {(r["batch"], r["length"], r["headDim"]): r for r in json.load(open(sys.argv[1]))}
base = {(r["batch"], r["length"], r["hidden"]): r for r in json.load(open(sys.argv[2]))}
print(f"{'B x T x H':<14} {'ours fw':>9} {'ORT fw':>9} {'ORT/ours':>9} {'ours fw+bw':>11} {'JAX fw+bw':>10} {'JAX/ours':>9}  target (ORT/ours ≥ 1, JAX/ours ≥ 2)")
for key, r in sorted(ours.items()):
    b = base.get(key, {})
    fw, fwbw = r["forwardMedianMs"], r.get("forwardBackwardMedianMs")
    ort, jax = b.get("ortForwardMedianMs"), b.get("jaxForwardBackwardMedianMs")
    f = lambda v: "n/a" if v is None else f"{v:.1f}"
    q = lambda a, c: "n/a" if a is None or c is None else f"{a / c:.2f}"
    met = (ort is not None and ort / fw >= 1) and (jax is not None and fwbw is not None and jax / fwbw >= 2)
    print(f"{'x'.join(map(str, key)):<14} {f(fw):>9} {f(ort):>9} {q(ort, fw):>9} {f(fwbw):>11} {f(jax):>10} {q(jax, fwbw):>9}  {'met' if met else 'not met'}")
PY
echo "results in $OUT" >&2
