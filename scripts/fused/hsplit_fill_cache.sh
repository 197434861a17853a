#!/usr/bin/env bash
# Fills $FLASHRNN_CACHE_DIR with the sm_90a modules of the hsplit round, with the h split on
# (FLASHRNN_FUSED_SPLIT_H=1) and off (=0). Usage: scripts/fused/hsplit_fill_cache.sh FLASHRNN_BINARY
F=$1
for h in 1 0; do
  for c in lstm slstm gru elman; do
    for d in float16 bfloat16; do
      for dp in 16 32 48 128; do FLASHRNN_FUSED_SPLIT_H=$h "$F" compile-kernels --arch sm_90a --fill-cache --only "fused $c $d DP=$dp" | grep -v "^NVRTC"; done
      [ "$h" = 1 ] && "$F" compile-kernels --arch sm_90a --fill-cache --only "fused sliced $c $d DS=48 KS=4" | grep -v "^NVRTC"
    done
    FLASHRNN_FUSED_SPLIT_H=$h "$F" compile-kernels --arch sm_90a --fill-cache --only "fused $c bfloat16 DP=64" | grep -v "^NVRTC"
  done
done
