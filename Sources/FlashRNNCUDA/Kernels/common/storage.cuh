// Storage types: how a kernel loads and stores float32/float16/bfloat16 elements.
//
// No CUDA headers are included (NVRTC then needs no include path): half types are plain
// 16-bit integers, converted with inline PTX `cvt` (round to nearest even), so the same
// source compiles on any machine that has only libnvrtc.
#pragma once

namespace flashrnn {

struct F32 {
    typedef float Bits;
    static constexpr const char* name = "float32";
    __device__ __forceinline__ static float load(const Bits* p) { return *p; }
    __device__ __forceinline__ static void store(Bits* p, float v) { *p = v; }
};

struct F16 {
    typedef unsigned short Bits;
    __device__ __forceinline__ static float load(const Bits* p) {
        float f;
        asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(*p));
        return f;
    }
    __device__ __forceinline__ static void store(Bits* p, float v) {
        unsigned short h;
        asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
        *p = h;
    }
};

struct BF16 {
    typedef unsigned short Bits;
    __device__ __forceinline__ static float load(const Bits* p) {
        return __uint_as_float(static_cast<unsigned int>(*p) << 16);
    }
    __device__ __forceinline__ static void store(Bits* p, float v) {
        unsigned short h;
        asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
        *p = h;
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
