import Foundation
import Testing
@testable import FlashRNNCore

/// bfloat16 conversion: round to nearest, ties to even, from float32 and (in one rounding) from float64.
/// The reference reasons on bit patterns: every finite non-negative bfloat16 is one of the
/// patterns 0x0000…0x7F7F, ascending in value, and their midpoints are exact in Double.
@Suite struct BFloat16Tests {
    /// Values of the patterns 0x0000…0x7F7F.
    static let magnitudes: [Double] = (0...0x7F7F).map { Double(Float(bitPattern: UInt32($0) << 16)) }

    /// The correctly rounded bfloat16 of a non-NaN double.
    static func reference(_ x: Double) -> UInt16 {
        let sign: UInt16 = x.sign == .minus ? 0x8000 : 0
        let a = abs(x)
        if a == .infinity { return sign | 0x7F80 }
        // Largest pattern whose value is ≤ a.
        var lo = 0, hi = magnitudes.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if magnitudes[mid] <= a { lo = mid } else { hi = mid - 1 }
        }
        if magnitudes[lo] == a { return sign | UInt16(lo) }
        // The value above 0x7F7F is 2^128, which the pattern 0x7F80 (infinity) stands for.
        let upper = lo == 0x7F7F ? 0x1p128 : magnitudes[lo + 1]
        let midpoint = (magnitudes[lo] + upper) / 2
        let pattern: Int = a < midpoint ? lo : a > midpoint ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1)
        return sign | UInt16(pattern)
    }

    @Test func midpointsOfTheTableAreExact() {
        // The reasoning above needs each midpoint representable; 9 significant bits fit a Double.
        for i in stride(from: 0, to: Self.magnitudes.count - 1, by: 97) {
            let m = (Self.magnitudes[i] + Self.magnitudes[i + 1]) / 2
            #expect(m > Self.magnitudes[i] && m < Self.magnitudes[i + 1])
        }
    }

    /// Every upper half-word with the low half-words that decide the rounding:
    /// exact, just below a tie, the tie, just above, the largest.
    @Test(arguments: [0x0000 as UInt32, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF])
    func fromFloatEveryUpperPattern(low: UInt32) {
        var mismatches = 0
        for upper in UInt32(0)...0xFFFF {
            let f = Float(bitPattern: upper << 16 | low)
            if f.isNaN { continue }
            if BFloat16(f).bitPattern != Self.reference(Double(f)) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func namedCases() {
        func bits(_ pattern: UInt32) -> UInt16 { BFloat16(Float(bitPattern: pattern)).bitPattern }
        #expect(bits(0x3F80_8000) == 0x3F80)        // tie, lower neighbour even
        #expect(bits(0x3F81_8000) == 0x3F82)        // tie, upper neighbour even
        #expect(bits(0x3F80_8001) == 0x3F81)        // just above a tie
        #expect(bits(0xBF81_8000) == 0xBF82)        // negative tie
        #expect(BFloat16(Float.infinity).bitPattern == 0x7F80)
        #expect(BFloat16(-Float.infinity).bitPattern == 0xFF80)
        #expect(BFloat16(Float.greatestFiniteMagnitude).bitPattern == 0x7F80)   // rounds past 0x7F7F
        #expect(bits(0x7F7F_7FFF) == 0x7F7F)        // largest value that stays finite
        #expect(bits(0x7F7F_8000) == 0x7F80)        // tie at the top goes to even: infinity
        #expect(bits(0x0000_0001) == 0x0000)        // smallest float subnormal
        #expect(bits(0x0000_8000) == 0x0000)        // subnormal tie to even
        #expect(bits(0x0001_8000) == 0x0002)
        #expect(bits(0x0001_0000) == 0x0001)        // smallest bfloat16 subnormal, exact
        #expect(bits(0x807F_FFFF) == 0x8080)        // largest negative subnormal rounds to -min normal
        #expect(bits(0x8000_0000) == 0x8000)        // -0 keeps its sign
        #expect(BFloat16(bitPattern: 0x0001).float == Float(bitPattern: 0x0001_0000))
    }

    @Test(arguments: [0x7FC0_0000 as UInt32, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF, 0xFFC0_0000])
    func nanStaysNaNWithItsSign(pattern: UInt32) {
        let f = Float(bitPattern: pattern)
        let b = BFloat16(f)
        #expect(b.float.isNaN, "a NaN whose payload sits in the low bits must not become infinity")
        #expect(b.float.sign == f.sign)
        #expect(b.bitPattern & 0x0040 != 0, "quiet")
        #expect(BFloat16(roundingDouble: Double(f)).float.isNaN)
    }

    /// Doubles whose rounding to float32 lands on a bfloat16 tie: naive double rounding gets these wrong.
    @Test func roundingDoubleAvoidsDoubleRounding() {
        let cases: [(Double, UInt16)] = [
            (1 + 0x1p-8 + 0x1p-30, 0x3F81),      // above the tie between 1 and 1 + 2⁻⁷
            (1 + 0x1p-8 - 0x1p-30, 0x3F80),
            (1 + 0x1p-8, 0x3F80),                // the tie itself: even
            (-(1 + 0x1p-8 + 0x1p-30), 0xBF81),
            (1.5 * 0x1p-133 + 0x1p-170, 0x0002), // subnormal, above a tie
            (0x1p-200, 0x0000),                  // below everything float32 holds
            (-0x1p-200, 0x8000),
            (Double(Float.greatestFiniteMagnitude) * 2, 0x7F80),
            (0x1.FFp127, 0x7F80),                // the overflow midpoint (max + half an ulp): even is infinity
            (0x1.FFp127 - 0x1p80, 0x7F7F),       // just below it, although float32 rounds it onto the midpoint
            (0x1.FFp127 + 0x1p80, 0x7F80),
        ]
        for (value, expected) in cases {
            #expect(Self.reference(value) == expected, "reference \(value)")
            #expect(BFloat16(roundingDouble: value).bitPattern == expected, "\(value)")
        }
    }

    /// Random doubles over the whole float range, and doubles a few ulps around bfloat16 midpoints.
    @Test func roundingDoubleIsCorrectlyRounded() {
        var rng = TestRandom(seed: 2024)
        var values: [Double] = []
        for _ in 0..<20_000 {
            let exponent = Int(rng.next() % 280) - 150
            values.append(Double(sign: rng.next() & 1 == 0 ? .plus : .minus, exponent: exponent, significand: 1 + rng.uniform()))
        }
        for _ in 0..<20_000 {
            let i = Int(rng.next() % UInt64(Self.magnitudes.count - 1))
            let midpoint = (Self.magnitudes[i] + Self.magnitudes[i + 1]) / 2
            var v = midpoint
            for _ in 0..<Int(rng.next() % 5) { v = rng.next() & 1 == 0 ? v.nextUp : v.nextDown }
            values.append(v)
        }
        let mismatches = values.filter { BFloat16(roundingDouble: $0).bitPattern != Self.reference($0) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        // The Double initialiser and the storage conversions round the same way.
        #expect(values.allSatisfy { BFloat16($0).bitPattern == Self.reference($0) })
        let stored = Tensor(shape: [values.count], values: values, dtype: .bfloat16)
        if case .bfloat16(let b) = stored.storage {
            #expect(zip(b, values).allSatisfy { $0.bitPattern == Self.reference($1) })
        } else {
            Issue.record("bfloat16 tensor stored as \(stored.dtype)")
        }
        #expect(values.allSatisfy { DType.bfloat16.round($0) == Double(BFloat16(bitPattern: Self.reference($0)).float) })
    }

    /// `DType.round` rounds once, like the storage conversion (float16 included).
    @Test func dtypeRoundMatchesStorage() {
        var rng = TestRandom(seed: 7)
        let values = (0..<5_000).map { _ in rng.normal() * 100 } + [1 + 0x1p-11 + 0x1p-40, 1 + 0x1p-8 + 0x1p-30]
        for dtype in DType.allCases {
            let stored = Tensor(shape: [values.count], values: values, dtype: dtype).storage.doubles()
            #expect(values.map(dtype.round) == stored, "\(dtype)")
        }
    }
}
