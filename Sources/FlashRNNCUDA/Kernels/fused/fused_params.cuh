// Run-time values of the fused kernels (the C structs of flashrnn_params.h, shared with Swift,
// passed by value) and the predicated loads the sweeps read them with. Everything that shapes the code (cell, storage type, padded D, register
// tiling) is a template argument instead, so a new B or T never recompiles.
#pragma once
#include "flashrnn_params.h"
#include "common/storage.cuh"

namespace flashrnn {

typedef FlashRNNFusedParams FusedParams;
typedef FlashRNNWeightGradientParams WeightGradientParams;

template <typename T> __device__ __forceinline__ T* address(unsigned long long a) { return reinterpret_cast<T*>(a); }

namespace fused {

// The element at p in storage type S, or 0 where !valid. The raw bits are loaded under the
// predicate and converted afterwards, so the compiler emits one predicated load instead of a
// branch around the conversion.
template <class S>
__device__ __forceinline__ float load_if(const typename S::Bits* p, bool valid) {
    typename S::Bits raw{};
    if (valid) raw = *p;
    return S::load(&raw);
}

// Running sums over rows (db, dR): float64 for float32 storage, whose check compares against
// the CPU float32 backend's rounding (float32 running sums over ~10³ rows of both signs came out
// 2.3–6.7x it at D = 1), float32 for 16-bit storage.
template <class S> struct RowSum { typedef float Type; };
template <> struct RowSum<F32> { typedef double Type; };

// Steps ahead that the one-SM sweeps ask L2 to fetch their per-step inputs.
constexpr int kPrefetchSteps = 8;

template <typename T>
__device__ __forceinline__ void prefetch_l2(const T* p) {
    asm volatile("prefetch.global.L2 [%0];" :: "l"(p));
}

// The element at p as stored, or zero bits (0.0 in every storage type) where !valid: one PTX
// predicated load. Written in C++ (as load_if), the compiler may version the loads of a step
// on a kernel-uniform part of the predicate and put some inside branches; volatile keeps each
// load where the sweep issues it (not sunk towards its use in the next step).
__device__ __forceinline__ unsigned short predicated_load(const unsigned short* p, bool valid) {
    unsigned short v;
    asm volatile("{ .reg .pred q; .reg .u64 g; setp.ne.b32 q, %2, 0; cvta.to.global.u64 g, %1; mov.b16 %0, 0; @q ld.global.b16 %0, [g]; }"
                 : "=h"(v) : "l"(p), "r"(static_cast<int>(valid)));
    return v;
}

__device__ __forceinline__ float predicated_load(const float* p, bool valid) {
    float v;
    asm volatile("{ .reg .pred q; .reg .u64 g; setp.ne.b32 q, %2, 0; cvta.to.global.u64 g, %1; mov.b32 %0, 0f00000000; @q ld.global.f32 %0, [g]; }"
                 : "=f"(v) : "l"(p), "r"(static_cast<int>(valid)));
    return v;
}

// Four floats at p (16-byte aligned), or zeros where !valid: one predicated vector load.
__device__ __forceinline__ float4 predicated_load4(const float* p, bool valid) {
    float4 v;
    asm volatile("{ .reg .pred q; .reg .u64 g; setp.ne.b32 q, %5, 0; cvta.to.global.u64 g, %4; mov.b32 %0, 0f00000000; mov.b32 %1, 0f00000000;"
                 " mov.b32 %2, 0f00000000; mov.b32 %3, 0f00000000; @q ld.global.v4.f32 {%0, %1, %2, %3}, [g]; }"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p), "r"(static_cast<int>(valid)));
    return v;
}

// Eight bytes at p (8-byte aligned; four 16-bit elements), or zero bits where !valid.
__device__ __forceinline__ Bits64 predicated_load8(const void* p, bool valid) {
    Bits64 v;
    asm volatile("{ .reg .pred q; .reg .u64 g; setp.ne.b32 q, %3, 0; cvta.to.global.u64 g, %2; mov.b32 %0, 0; mov.b32 %1, 0;"
                 " @q ld.global.v2.b32 {%0, %1}, [g]; }"
                 : "=r"(v.x), "=r"(v.y) : "l"(p), "r"(static_cast<int>(valid)));
    return v;
}

// The raw element at p, or zero bits where !valid, to be widened with S::load where it is used.
// A sweep that loads a step ahead keeps these raw bits across the step: widened at the load,
// the conversion is scheduled right behind it and waits out the memory latency in the step
// that issued the load.
template <class S>
__device__ __forceinline__ typename S::Bits raw_if(const typename S::Bits* p, bool valid) {
    return predicated_load(p, valid);
}

// The float at p, or 0 where !valid (one predicated load, no branch).
__device__ __forceinline__ float load_float_if(const float* p, bool valid) {
    float v = 0.0f;
    if (valid) v = *p;
    return v;
}

}  // namespace fused

}  // namespace flashrnn
