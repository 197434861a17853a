/// Storage type of a tensor's elements.
///
/// GPU backends store in `float32`, `float16` or `bfloat16` and compute in float32;
/// the CPU backend computes in `float64` (the reference) or `float32`.
public enum DType: String, CaseIterable, Sendable, CustomStringConvertible {
    case float64, float32, float16, bfloat16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64: 8
        case .float32: 4
        case .float16, .bfloat16: 2
        }
    }

    /// Round-trip of a value through this storage type, in double precision.
    public func round(_ value: Double) -> Double {
        switch self {
        case .float64: value
        case .float32: Double(Float(value))
        // One rounding from Double, like the storage conversion; going through Float would round twice.
        case .float16: Double(Float(Float16(value)))
        case .bfloat16: Double(BFloat16(roundingDouble: value).float)
        }
    }

    public var description: String { rawValue }
}
