#!/usr/bin/env bash
# Builds the static flashrnn binary for the GPU machine from scratch and packs it with the cuDNN
# baseline script into BIN_DIR (default .device-bin/round, ignored by git). A clean build on
# purpose: an incremental release build once left the executable reading CUDARuntime's stored
# properties at the offset of the previous layout (fifth session, docs/performance.md).
# Fill the kernel cache separately (`flashrnn compile-kernels --arch sm_90a --fill-cache`, then
# tar it as BIN_DIR/cache.tgz) or let the device fill it (scripts/device_binary.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.device-bin/round}
rm -rf .build/release "$(swift build -c release --show-bin-path 2>/dev/null || echo .build/release-unused)"
swift build -c release --static-swift-stdlib --product flashrnn
mkdir -p "$BIN"
gzip -c "$(swift build -c release --show-bin-path)/flashrnn" > "$BIN/flashrnn.gz"
cp scripts/cudnn_baseline.py "$BIN/"
echo "$BIN: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
