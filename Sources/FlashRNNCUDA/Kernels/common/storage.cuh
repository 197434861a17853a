// Storage types: how a kernel loads and stores float32/float16/bfloat16 elements, and which
// transcendental policy (cells/cell_math.cuh) its cells use.
//
// No CUDA headers are included (NVRTC then needs no include path): half types are plain
// 16-bit integers, converted with inline PTX `cvt` (round to nearest even), so the same
// source compiles on any machine that has only libnvrtc.
#pragma once
#include "cells/cell_math.cuh"

namespace flashrnn {

// 16- and 8-byte vectors for wide loads (no CUDA headers, so no float4/uint2).
struct alignas(16) Float4 { float x, y, z, w; };
struct alignas(8) Bits64 { unsigned int x, y; };

struct F32 {
    typedef float Bits;
    using Math = AccurateMath;
    static constexpr const char* name = "float32";
    __device__ __forceinline__ static float load(const Bits* p) { return *p; }
    __device__ __forceinline__ static void store(Bits* p, float v) { *p = v; }
    // Four consecutive elements; p must be 16-byte aligned.
    __device__ __forceinline__ static void load4(const Bits* p, float (&v)[4]) {
        const Float4 f = *reinterpret_cast<const Float4*>(p);
        v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
    }
};

struct F16 {
    typedef unsigned short Bits;
    using Math = ApproximateMath;
    __device__ __forceinline__ static float widen(unsigned short h) {
        float f;
        asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
        return f;
    }
    __device__ __forceinline__ static float load(const Bits* p) { return widen(*p); }
    // Four consecutive elements; p must be 8-byte aligned.
    __device__ __forceinline__ static void load4(const Bits* p, float (&v)[4]) {
        const Bits64 u = *reinterpret_cast<const Bits64*>(p);
        v[0] = widen(static_cast<unsigned short>(u.x & 0xffffu));
        v[1] = widen(static_cast<unsigned short>(u.x >> 16));
        v[2] = widen(static_cast<unsigned short>(u.y & 0xffffu));
        v[3] = widen(static_cast<unsigned short>(u.y >> 16));
    }
    __device__ __forceinline__ static void store(Bits* p, float v) {
        unsigned short h;
        asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
        *p = h;
    }
    // v rounded to float16 (nearest even), as a float.
    __device__ __forceinline__ static float rounded(float v) {
        unsigned short h;
        asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
        return widen(h);
    }
};

struct BF16 {
    typedef unsigned short Bits;
    using Math = ApproximateMath;
    __device__ __forceinline__ static float load(const Bits* p) {
        return __uint_as_float(static_cast<unsigned int>(*p) << 16);
    }
    // Four consecutive elements; p must be 8-byte aligned.
    __device__ __forceinline__ static void load4(const Bits* p, float (&v)[4]) {
        const Bits64 u = *reinterpret_cast<const Bits64*>(p);
        v[0] = __uint_as_float(u.x << 16);
        v[1] = __uint_as_float(u.x & 0xffff0000u);
        v[2] = __uint_as_float(u.y << 16);
        v[3] = __uint_as_float(u.y & 0xffff0000u);
    }
    __device__ __forceinline__ static void store(Bits* p, float v) {
        unsigned short h;
        asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
        *p = h;
    }
    // v rounded to bfloat16 (nearest even), as a float.
    __device__ __forceinline__ static float rounded(float v) {
        unsigned short h;
        asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
        return __uint_as_float(static_cast<unsigned int>(h) << 16);
    }
};

template <class S>
__device__ __forceinline__ float load_at(unsigned long long base, long long index) {
    return S::load(reinterpret_cast<const typename S::Bits*>(base) + index);
}

template <class S>
__device__ __forceinline__ void store_at(unsigned long long base, long long index, float v) {
    S::store(reinterpret_cast<typename S::Bits*>(base) + index, v);
}

__device__ __forceinline__ float* f32(unsigned long long base) { return reinterpret_cast<float*>(base); }

}  // namespace flashrnn
