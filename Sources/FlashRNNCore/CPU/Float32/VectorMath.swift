/// Eight-lane float32 loads, stores and clamps for the float32 cell loops (the LSTM's float64
/// activations are in WideVectorMath.swift).
typealias Float8 = SIMD8<Float>

/// `min(max(x, -limit), limit)` lane by lane.
@inline(__always)
func vectorClamp(_ x: Float8, limit: Float) -> Float8 {
    var x = x
    x.replace(with: Float8(repeating: -limit), where: x .< -limit)
    x.replace(with: Float8(repeating: limit), where: x .> limit)
    return x
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
