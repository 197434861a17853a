/// Eight-lane float64 exp, sigmoid and tanh for the float32 LSTM loops, which run the cell in
/// float64 and round each output once (see CellsInFloat64.swift). Within a few float64 ulps of
/// libm (2^-50 relative), so a result rounded to float32 is libm's rounded result except when
/// the float64 value lies within that distance of a float32 rounding boundary (about one output
/// in 2^26); no libm call per element.
typealias Double8 = SIMD8<Double>

/// `x = n·ln2 + r`, |r| ≤ ln2/2: `(expm1(r), 2^n)`, so `exp(x) = 2^n + 2^n·expm1(r)` and
/// `expm1(x) = (2^n − 1) + 2^n·expm1(r)` (no cancellation at n = 0, where expm1 needs it).
/// x is clamped to ±708 so 2^n stays a normal float64 (a NaN passes through).
@inline(__always)
private func reducedExp(_ x: Double8) -> (q: Double8, scale: Double8) {
    var x = x
    x.replace(with: Double8(repeating: -708), where: x .< -708)
    x.replace(with: Double8(repeating: 708), where: x .> 708)
    // Adding 1.5·2^52 rounds to the nearest integer and leaves it in the low mantissa bits.
    let shifted = x * 1.442_695_040_888_963_4 + 6_755_399_441_055_744
    let n = shifted - 6_755_399_441_055_744
    let nBits = unsafeBitCast(shifted, to: SIMD8<Int64>.self) &- 0x4338_0000_0000_0000
    // ln2 split in two: the high part has 21 trailing zero bits, so n·high is exact.
    var r = x.addingProduct(n, Double8(repeating: -6.931_471_803_691_238_164_90e-1))
    r = r.addingProduct(n, Double8(repeating: -1.908_214_929_270_587_700_02e-10))
    // expm1(r) = r + r²·(1/2! + r/3! + … + r^11/13!): the truncation is below 2^-56 relative.
    var p = Double8(repeating: 1.0 / 6_227_020_800)   // 1/13!
    p = Double8(repeating: 1.0 / 479_001_600).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 39_916_800).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 3_628_800).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 362_880).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 40_320).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 5_040).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 720).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 120).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 24).addingProduct(p, r)
    p = Double8(repeating: 1.0 / 6).addingProduct(p, r)
    p = Double8(repeating: 0.5).addingProduct(p, r)
    let q = r.addingProduct(p, r * r)
    let scale = unsafeBitCast((nBits &+ 1023) &<< 52, to: Double8.self)
    return (q, scale)
}

@inline(__always)
func wideExp(_ x: Double8) -> Double8 {
    let (q, scale) = reducedExp(x)
    return scale.addingProduct(q, scale)
}

/// `1 / (1 + e^-x)`: accurate on both sides in float64 (no cancellation); e^-x is capped at
/// e^708, where σ is far below the smallest float32.
@inline(__always)
func wideSigmoid(_ x: Double8) -> Double8 { 1 / (1 + wideExp(-x)) }

/// `tanh|x| = e / (e + 2)`, `e = expm1(2|x|)`, with the sign of x: no cancellation near 0; from
/// |x| = 20 on it is 1 in float64. The same formula as the device's AccurateMath::tanh.
@inline(__always)
func wideTanh(_ x: Double8) -> Double8 {
    let sign = unsafeBitCast(x, to: SIMD8<UInt64>.self) & 0x8000_0000_0000_0000
    var a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF, to: Double8.self)
    a.replace(with: Double8(repeating: 20), where: a .> 20)
    let (q, scale) = reducedExp(2 * a)
    let e = (scale - 1).addingProduct(q, scale)
    let t = e / (e + 2)
    return unsafeBitCast(unsafeBitCast(t, to: SIMD8<UInt64>.self) | sign, to: Double8.self)
}

/// The float32 lanes widened to float64 (exact).
@inline(__always)
func widened(_ x: Float8) -> Double8 {
    Double8(lowHalf: SIMD4<Double>(x.lowHalf), highHalf: SIMD4<Double>(x.highHalf))
}

/// The float64 lanes rounded to float32 (to nearest, once).
@inline(__always)
func rounded(_ x: Double8) -> Float8 {
    Float8(lowHalf: SIMD4<Float>(x.lowHalf), highHalf: SIMD4<Float>(x.highHalf))
}
