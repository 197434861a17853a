/// Eight-lane float32 exp, sigmoid and tanh for the float32 cell loops. Accurate to a few ulp
/// (the float32 results are judged against float64 at 1e-5 relative); no libm call per element.
typealias Float8 = SIMD8<Float>

/// `a·b + c` with one rounding (one FMA instruction with AVX2+FMA).
@inline(__always)
func muladd(_ a: Float8, _ b: Float8, _ c: Float8) -> Float8 { c.addingProduct(a, b) }

@inline(__always)
func muladd(_ a: Float8, _ b: Float8, _ c: Float) -> Float8 { Float8(repeating: c).addingProduct(a, b) }

@inline(__always)
func muladd(_ a: Float8, _ b: Float, _ c: Float8) -> Float8 { c.addingProduct(a, Float8(repeating: b)) }

@inline(__always)
func vectorExp(_ x: Float8) -> Float8 {
    // exp(x) = 2^n · exp(r), x = n·ln2 + r, |r| ≤ ln2/2; degree-6 polynomial for exp(r).
    // (Written with selects and bit casts: the generic SIMD clamp and rounding conversions
    // are library calls, not instructions.)
    var x = x
    x.replace(with: Float8(repeating: -87.3), where: x .< -87.3)
    x.replace(with: Float8(repeating: 88.3), where: x .> 88.3)
    // Adding 1.5·2^23 rounds to the nearest integer (ties to even) and leaves it in the low
    // mantissa bits.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    // ln2 split in two so that n·ln2 is exact to float32 precision.
    var r = muladd(n, -0.693_359_375, x)
    r = muladd(n, 2.121_944_4e-4, r)
    var p = Float8(repeating: 1.987_569_15e-4)
    p = muladd(p, r, 1.398_199_95e-3)
    p = muladd(p, r, 8.333_451_9e-3)
    p = muladd(p, r, 4.166_579_6e-2)
    p = muladd(p, r, 1.666_666_55e-1)
    p = muladd(p, r, 5.000_000_1e-1)
    p = muladd(p, r * r, r) + 1
    // 2^n through the exponent bits; n ∈ [-126, 127] after the clamp.
    let scale = (nBits &+ 127) &<< 23
    return p * unsafeBitCast(scale, to: Float8.self)
}

/// `min(max(x, -limit), limit)` lane by lane.
@inline(__always)
func vectorClamp(_ x: Float8, limit: Float) -> Float8 {
    var x = x
    x.replace(with: Float8(repeating: -limit), where: x .< -limit)
    x.replace(with: Float8(repeating: limit), where: x .> limit)
    return x
}

@inline(__always)
func vectorSigmoid(_ x: Float8) -> Float8 {
    // 1 / (1 + e^-x) is exact enough on both sides: e^-x overflowing is clamped above.
    1 / (1 + vectorExp(-x))
}

@inline(__always)
func vectorTanh(_ x: Float8) -> Float8 {
    // Small |x|: odd polynomial (no cancellation); otherwise 1 − 2/(e^{2|x|} + 1) with the sign.
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Float8.self)
    let x2 = x * x
    var p = Float8(repeating: -5.704_988_7e-3)
    p = muladd(p, x2, 2.063_908_8e-2)
    p = muladd(p, x2, -5.373_971_0e-2)
    p = muladd(p, x2, 1.333_144_2e-1)
    p = muladd(p, x2, -3.333_328_19e-1)
    let small = muladd(p * x2, x, x)
    let e = vectorExp(2 * ax)
    var large = 1 - 2 / (e + 1)
    large.replace(with: -large, where: x .< 0)
    var result = large
    result.replace(with: small, where: ax .< 0.625)
    return result
}

/// Loads `count` ≤ 8 floats, zero in the other lanes.
@inline(__always)
func loadFloat8(_ p: UnsafePointer<Float>, count: Int) -> Float8 {
    if count == 8 { return UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
    var v = Float8.zero
    for i in 0..<count { v[i] = p[i] }
    return v
}

/// Stores the first `count` ≤ 8 lanes.
@inline(__always)
func storeFloat8(_ v: Float8, _ p: UnsafeMutablePointer<Float>, count: Int) {
    if count == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self); return }
    for i in 0..<count { p[i] = v[i] }
}
