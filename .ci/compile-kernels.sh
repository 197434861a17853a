#!/usr/bin/env bash
# CI without a GPU: install NVRTC from NVIDIA's wheels into a private folder, then compile every
# kernel variant the backends can request for sm_80 and sm_90a, printing registers and spills.
# Fails on any compile error. The lead wires this into .ci/run after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${FLASHRNN_NVRTC_PREFIX:-.ci-cache/nvrtc}
if [ ! -e "$PREFIX/nvidia/cu13/lib/libnvrtc.so.13" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$PREFIX" "nvidia-cuda-nvrtc==13.0.*"
fi
LIB="$(cd "$PREFIX/nvidia/cu13/lib" && pwd)"
export FLASHRNN_LIBNVRTC="$LIB/libnvrtc.so.13"
# libnvrtc loads libnvrtc-builtins.so.13.0 from the loader path.
export LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
swift build --product flashrnn
"$(swift build --show-bin-path)/flashrnn" compile-kernels --arch "${FLASHRNN_ARCHS:-sm_80,sm_90a}"
