// Arithmetic and transcendental functions for the cell structs, as two interchangeable policies.
//
// AccurateMath: for float32 storage, where the check's bound is within 2x of the CPU float32
// backend. The whole cell computes in float64 (`Scalar`) and each output is rounded to float32
// once, on the device and on the host (the twin tests, with libm), as the CPU float32 backend runs
// the Swift cells (CPU/Float32/CellsInFloat64.swift); only the device's exp/expm1/reciprocal
// differ from libm, by float64 ulps.
// ApproximateMath: float32 arithmetic with the special-function unit's ex2/rcp/lg2 approximations
// (about 2 ulp, absolute error ~1e-7 on sigmoid and tanh), far inside the float16/bfloat16 bounds,
// with no branches and no division fix-ups. The storage type chooses
// (`S::Math` in common/storage.cuh); the cells take the policy as a template argument.
#ifndef FLASHRNN_CELL_MATH_CUH
#define FLASHRNN_CELL_MATH_CUH

#ifndef FLASHRNN_HD
#define FLASHRNN_HD __device__ __forceinline__
#endif

namespace flashrnn {

struct AccurateMath {
#ifdef __CUDA_ARCH__
    // float64 on the device: CUDA's float32 expf/tanhf are up to 2 ulp off, and float32 arithmetic
    // in another order than the CPU's left D = 1 gradients (a handful of elements, no averaging)
    // 2-3x the CPU float32 run's error on some draws, against the check's 2x.
    typedef double Scalar;
    // 1/x for a finite x whose reciprocal is normal: the unit's approximation (≈ 2^-20) and two
    // Newton steps (2^-40, then the float64 rounding). IEEE float64 division calls a slow-path
    // routine per use; its last bit is irrelevant to a result rounded to float32.
    FLASHRNN_HD static double reciprocal(double x) {
        double y;
        asm("rcp.approx.ftz.f64 %0, %1;" : "=d"(y) : "d"(x));
        y = ::fma(y, ::fma(-x, y, 1.0), y);
        return ::fma(y, ::fma(-x, y, 1.0), y);
    }
    FLASHRNN_HD static double exp(double x) { return ::exp(x); }
    // tanh|x| = e / (e + 2), e = expm1(2|x|): no cancellation near 0; from 20 on it is 1 in
    // float64. NaN stays NaN (both comparisons are false).
    FLASHRNN_HD static double tanh(double x) {
        const double a = fabs(x);
        const double e = ::expm1(2.0 * (a < 20.0 ? a : 20.0));
        return a < 20.0 ? copysign(e * reciprocal(e + 2.0), x) : a >= 20.0 ? copysign(1.0, x) : x;
    }
    // exp(−x) capped at e^700 so 1 + e stays finite with a normal reciprocal (σ(−700) is 0 in
    // float32); a NaN passes the cap and comes out NaN.
    FLASHRNN_HD static double sigmoid(double x) {
        const double m = -x;
        return reciprocal(1.0 + ::exp(m > 700.0 ? 700.0 : m));
    }
    // log σ(x) = min(x, 0) − log(1 + exp(−|x|)), without overflow or cancellation.
    FLASHRNN_HD static double log_sigmoid(double x) { return fmin(x, 0.0) - ::log1p(::exp(-fabs(x))); }
    // a / b for b ≥ 1 (sLSTM's normaliser): a·(1/b) with one residual correction.
    FLASHRNN_HD static double divide(double a, double b) {
        const double y = reciprocal(b), q = a * y;
        return ::fma(::fma(-b, q, a), y, q);
    }
    FLASHRNN_HD static double max(double a, double b) { return fmax(a, b); }
    FLASHRNN_HD static double min(double a, double b) { return fmin(a, b); }
#else
    // float64 on the host too (the twin tests), with libm and IEEE division as the Swift cells
    // compute in Double: the CPU float32 backend runs them so and rounds each output once, as here.
    typedef double Scalar;
    FLASHRNN_HD static double exp(double x) { return ::exp(x); }
    FLASHRNN_HD static double tanh(double x) { return ::tanh(x); }
    FLASHRNN_HD static double sigmoid(double x) {
        // Split by sign so exp never overflows.
        if (x >= 0.0) return 1.0 / (1.0 + ::exp(-x));
        const double e = ::exp(x);
        return e / (1.0 + e);
    }
    // log σ(x) = min(x, 0) − log(1 + exp(−|x|)), without overflow or cancellation.
    FLASHRNN_HD static double log_sigmoid(double x) { return fmin(x, 0.0) - ::log1p(::exp(-fabs(x))); }
    // Correctly rounded, as the Swift cells divide.
    FLASHRNN_HD static double divide(double a, double b) { return a / b; }
    FLASHRNN_HD static double max(double a, double b) { return fmax(a, b); }
    FLASHRNN_HD static double min(double a, double b) { return fmin(a, b); }
#endif
};

#ifdef __CUDA_ARCH__
struct ApproximateMath {
    typedef float Scalar;
    static constexpr float kLog2E = 1.4426950408889634f, kLn2 = 0.6931471805599453f;
    __device__ __forceinline__ static float ex2(float x) {
        float y;
        asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
        return y;
    }
    __device__ __forceinline__ static float rcp(float x) {
        float y;
        asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
        return y;
    }
    __device__ __forceinline__ static float lg2(float x) {
        float y;
        asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
        return y;
    }
    __device__ __forceinline__ static float exp(float x) { return ex2(x * kLog2E); }
    // exp(−x) → ∞ for very negative x gives rcp(∞) = 0, the right limit: no sign split needed.
    __device__ __forceinline__ static float sigmoid(float x) { return rcp(1.0f + ex2(-x * kLog2E)); }
    // tanh x = 1 − 2 / (1 + e^{2x}); both limits (±1) come out exactly.
    __device__ __forceinline__ static float tanh(float x) { return 1.0f - 2.0f * rcp(1.0f + ex2(2.0f * kLog2E * x)); }
    __device__ __forceinline__ static float log_sigmoid(float x) {
        return fminf(x, 0.0f) - kLn2 * lg2(1.0f + ex2(-fabsf(x) * kLog2E));
    }
    // a · (1/b) with the approximate reciprocal: one MUFU op on the step's dependent chain
    // instead of IEEE division's Newton iterations and slow-path branch (sLSTM divides by n ≥ 1).
    __device__ __forceinline__ static float divide(float a, float b) { return a * rcp(b); }
    __device__ __forceinline__ static float max(float a, float b) { return fmaxf(a, b); }
    __device__ __forceinline__ static float min(float a, float b) { return fminf(a, b); }
};
#endif

}  // namespace flashrnn

#endif  // FLASHRNN_CELL_MATH_CUH
