/// The bfloat16 format: the upper 16 bits of an IEEE float32.
///
/// Conversion from `Float` rounds to nearest, ties to even; NaN stays NaN (quiet).
public struct BFloat16: Sendable, Hashable, CustomStringConvertible {
    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            // Keep the sign and force a quiet NaN so truncation cannot produce infinity.
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        bitPattern = UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// Rounds once (see ``init(roundingDouble:)``); rounding through `Float` first could round twice.
    public init(_ value: Double) { self.init(roundingDouble: value) }

    public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    public var description: String { float.description }
}
