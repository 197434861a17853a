// The kernels of the fused backend, instantiated by NVRTC name expressions such as
//   &flashrnn::fused::forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, 64, 16, true>
// Template arguments: the cell, the storage type (flashrnn::F32 | F16 | BF16), DP (the head
// dimension padded to a multiple of 16), AREG (R tiles per warp kept in registers; the rest
// sit in shared memory) and, forward only, SPLIT_H (16-bit storage: h_{t-1} in two parts, see
// fused_forward.cuh). Backends/FusedVariant.swift chooses them.
#pragma once
#include "common/storage.cuh"
#include "cells/lstm.cuh"
#include "cells/slstm.cuh"
#include "cells/gru.cuh"
#include "cells/elman.cuh"
#include "fused/fused_forward.cuh"
#include "fused/fused_backward.cuh"
#include "fused/fused_weight_gradient.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, class S, int DP, int AREG, bool SPLIT_H>
__global__ void __launch_bounds__(ForwardShape<Cell, S, DP, AREG, SPLIT_H>::kThreads, 1) forward_kernel(const FusedParams p) {
    forward_sweep<Cell, S, DP, AREG, SPLIT_H, false>(p);
}

// The forward with Wx staged through shared memory (cp.async ring, see ForwardShape).
template <class Cell, class S, int DP, int AREG, bool SPLIT_H>
__global__ void __launch_bounds__(ForwardShape<Cell, S, DP, AREG, SPLIT_H>::kThreads, 1) forward_staged_kernel(const FusedParams p) {
    forward_sweep<Cell, S, DP, AREG, SPLIT_H, true>(p);
}

template <class Cell, class S, int DP, int AREG>
__global__ void __launch_bounds__(BackwardShape<Cell, S, DP, AREG>::kThreads, 1) backward_kernel(const FusedParams p) {
    backward_sweep<Cell, S, DP, AREG>(p);
}

// The backward with its step inputs staged through shared memory (cp.async ring, see BackwardShape).
template <class Cell, class S, int DP, int AREG>
__global__ void __launch_bounds__(BackwardShape<Cell, S, DP, AREG>::kThreads, 1) backward_staged_kernel(const FusedParams p) {
    backward_sweep<Cell, S, DP, AREG, true>(p);
}

}  // namespace fused
}  // namespace flashrnn
