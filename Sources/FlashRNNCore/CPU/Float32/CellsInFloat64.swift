/// The float32 path's cells run in float64 on float32 inputs, each output rounded to float32
/// once: the twin of the GPU's float32 arithmetic, so that the check's "CPU run in the dtype"
/// (spec 6) carries the GPU's roundings, not one per operation.
///
/// Where the CUDA kernels for float32 storage round, and the CPU float32 path with them:
///
///     quantity                           GPU (AccurateMath, Kernels/cells/*.cuh)        CPU float32 path
///     R·h                                float32 (FMA chains)                            float32 (packed product)
///     Rᵀ·dG                              fused: float32 per gate, gates summed in         float32 over all gates
///                                        float64; alternating: float32 partials          (one packed product)
///     dR                                 weight_gradient kernel: float64 sums            float32 (packed product)
///     pre = (R·h + b) + Wx               float32, in this order                          float32, same order
///     dh = dNext + external + Rᵀ·dG      float32                                         float32
///     cell forward / backward            float64 from the float32 pre, states, dNew;     the Swift cell in Double,
///                                        each output (next[s], dPre[k], dPrevious[s])     each output rounded once
///                                        rounded once                                    (LSTM: Double8 lanes)
///     forward clip                       on the rounded h                                on the rounded h
///     db = Σ_{b,t} dPre                  float64 running sums, rounded once               float64 sums, rounded once
///
/// The device's exp/expm1 and reciprocals differ from libm by float64 ulps, far below a
/// float32 rounding. The products stay float32 here (their speed matters most), so the CPU run
/// is the GPU's twin where a product is a single term (D = 1: R·h, and Rᵀ·dG of one gate), not
/// for dR or the fused backward's multi-gate Rᵀ·dG.
extension RecurrentCell {
    @inline(__always)
    static func forwardRoundedOnce(pre: SIMD4<Float>, previous: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4<Float>(forward(pre: SIMD4<Double>(pre), previous: SIMD4<Double>(previous)))
    }

    @inline(__always)
    static func backwardRoundedOnce(pre: SIMD4<Float>, previous: SIMD4<Float>, dNew: SIMD4<Float>)
        -> (dPre: SIMD4<Float>, dPrevious: SIMD4<Float>) {
        let (dPre, dPrevious) = backward(pre: SIMD4<Double>(pre), previous: SIMD4<Double>(previous),
                                         dNew: SIMD4<Double>(dNew))
        return (SIMD4<Float>(dPre), SIMD4<Float>(dPrevious))
    }
}
