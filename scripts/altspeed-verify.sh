#!/usr/bin/env bash
# The alternating backend's full check grid (includes the upstream shapes 256 × 3 and 768 × 1,
# which the quick grid lacks: they run the U = 2 and U = 6 step variants and backward's second
# pass over R). Usage: scripts/altspeed-verify.sh BIN_DIR (holds flashrnn.gz). ≈ 2 minutes.
set -uo pipefail
BIN=${1:-.device-bin/altspeed}
OUT=${OUT:-/tmp/altspeed-verify}; mkdir -p "$OUT"
F=/tmp/flashrnn-altspeed; gunzip -c "$BIN/flashrnn.gz" > "$F"; chmod +x "$F"
export FLASHRNN_CACHE_DIR=/tmp/altspeed-kernel-cache
timeout 170 "$F" check --backend cuda-alternating > "$OUT/check-full.log" 2>&1
grep -E "^FAIL" "$OUT/check-full.log" | head -30; tail -1 "$OUT/check-full.log"
