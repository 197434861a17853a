// The kernels of the fused backend, instantiated by NVRTC name expressions such as
//   &flashrnn::fused::forward_kernel<flashrnn::LSTMCell, __nv_bfloat16, 64, 16>
// Template arguments: the cell, the storage type (float | __half | __nv_bfloat16), DP (the head
// dimension padded to a multiple of 16) and AREG (R tiles per warp kept in registers; the rest
// sit in shared memory). Backends/FusedVariant.swift chooses them.
#pragma once
#include "../cells/lstm.cuh"
#include "../cells/slstm.cuh"
#include "../cells/gru.cuh"
#include "../cells/elman.cuh"
#include "fused_forward.cuh"
#include "fused_backward.cuh"
#include "fused_weight_gradient.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, typename Store, int DP, int AREG>
__global__ void __launch_bounds__(DP / 16 * 32, 1) forward_kernel(const FusedParams p) {
    forward_sweep<Cell, Store, DP, AREG>(p);
}

template <class Cell, typename Store, int DP, int AREG>
__global__ void __launch_bounds__(DP / 16 * 32, 1) backward_kernel(const FusedParams p) {
    backward_sweep<Cell, Store, DP, AREG>(p);
}

template <typename Store>
__global__ void __launch_bounds__(kWeightThreads) weight_gradient_kernel(const WeightGradientParams p) {
    weight_gradient<Store>(p);
}

template <typename Store>
__global__ void finish_gradients_kernel(const WeightGradientParams p) {
    finish_gradients<Store>(p);
}

}  // namespace fused
}  // namespace flashrnn
