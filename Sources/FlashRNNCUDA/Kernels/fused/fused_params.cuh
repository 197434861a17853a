// Run-time values of one fused launch: addresses, sizes, strides, options, passed by value.
// Everything that shapes the code (cell, storage type, padded D, register tiling) is a template
// argument instead, so a new B or T never recompiles. The Swift twin writing these bytes is
// Backends/FusedParams.swift: keep the order; 8-byte fields first so the C layout has no holes.
#pragma once

namespace flashrnn {

struct FusedParams {
    // Forward inputs, storage type.
    unsigned long long wx;        // [B, T, G_W, N, D] or [T, B, G_W, N, D]; strides below
    unsigned long long r;         // [G_R, N, D, D]  (out × in)
    unsigned long long bias;      // [G_T, N, D]
    unsigned long long s0;        // [S, B, N, D], or 0 for zeros
    // Forward outputs.
    unsigned long long states;    // [S, B, T, N, D]
    unsigned long long last;      // [S, B, N, D]
    unsigned long long pre;       // [B, T, G_T, N, D] float32 pre-activations for backward, or 0
    // Backward.
    unsigned long long dStates;   // [S, B, T, N, D], or 0 for zeros
    unsigned long long dLast;     // [S, B, N, D], or 0 for zeros
    unsigned long long dWx;       // shape and layout of wx
    unsigned long long dGR;       // [B, T, G_R, N, D] float32 recurrent-gate gradients, for dR
    unsigned long long db;        // [G_T, N, D] float32, accumulated with atomics (zeroed first)
    unsigned long long dInitial;  // [S, B, N, D]
    long long wxStrideB;          // elements between consecutive b in wx and dWx
    long long wxStrideT;          // elements between consecutive t in wx and dWx
    int B, T, N, D;
    int hasForwardClip, hasGradientClip, gradientCut;
    float forwardClip, gradientClip;
    int padding0;
};

// Run-time values of the dR product and the float32 → storage conversion after it.
struct WeightGradientParams {
    unsigned long long dGR;       // [B, T, G_R, N, D] float32
    unsigned long long states;    // [S, B, T, N, D]; state 0 is h
    unsigned long long s0;        // [S, B, N, D], or 0 for zeros
    unsigned long long dR32;      // [G_R, N, D, D] float32 accumulator (zeroed first)
    unsigned long long db32;      // [G_T, N, D] float32
    unsigned long long dR;        // [G_R, N, D, D] storage type
    unsigned long long db;        // [G_T, N, D] storage type
    int B, T, N, D;
    int GR, GT, rowsPerBlock, padding0;
};

template <typename T> __device__ __forceinline__ T* address(unsigned long long a) { return reinterpret_cast<T*>(a); }

}  // namespace flashrnn
