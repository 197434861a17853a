// Run-time values of the fused kernels: the C structs of flashrnn_params.h (shared with Swift),
// passed by value. Everything that shapes the code (cell, storage type, padded D, register
// tiling) is a template argument instead, so a new B or T never recompiles.
#pragma once
#include "flashrnn_params.h"

namespace flashrnn {

typedef FlashRNNFusedParams FusedParams;
typedef FlashRNNWeightGradientParams WeightGradientParams;

template <typename T> __device__ __forceinline__ T* address(unsigned long long a) { return reinterpret_cast<T*>(a); }

}  // namespace flashrnn
