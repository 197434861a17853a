import Foundation
import Testing
@testable import FlashRNNCore

/// The eight-lane float64 exp, sigmoid and tanh of the float32 LSTM loops against libm: within
/// 4 float64 ulps (2^-50 relative) over the whole range the cells see, the tails included, with
/// the limits and NaN right. A float32 output rounded from them is libm's rounded result except
/// within that distance of a float32 rounding boundary.
@Suite struct WideVectorMathTests {
    static func within(_ ours: Double, _ libm: Double, ulps: Double = 4) -> Bool {
        ours == libm || abs(ours - libm) <= ulps * libm.ulp
    }

    /// Eight lanes at a time of `values` through `wide`, each lane against `libm`.
    static func mismatches(_ values: [Double], _ wide: (Double8) -> Double8, _ libm: (Double) -> Double) -> [String] {
        var found: [String] = []
        for start in stride(from: 0, to: values.count, by: 8) {
            var x = Double8.zero
            for lane in 0..<8 { x[lane] = values[min(start + lane, values.count - 1)] }
            let y = wide(x)
            for lane in 0..<8 where !within(y[lane], libm(x[lane])) {
                found.append("x \(x[lane]): \(y[lane]) libm \(libm(x[lane]))")
            }
        }
        return found
    }

    /// Values spread over `±scale` (uniform) and tiny to huge magnitudes (log-uniform), both signs.
    static func values(_ scale: Double, seed text: String) -> [Double] {
        var rng = TestRandom(seed: seed(text))
        return (0..<40_000).map { i in
            let sign: Double = rng.next() % 2 == 0 ? 1 : -1
            return i % 2 == 0 ? rng.uniform(-scale, scale) : sign * Foundation.exp(rng.uniform(-40, Foundation.log(scale)))
        }
    }

    @Test func expMatchesLibm() {
        let found = Self.mismatches(Self.values(700, seed: "wide exp"), wideExp, Foundation.exp)
        #expect(found.isEmpty, "\(found.count) differ; first \(found.prefix(3))")
    }

    @Test func sigmoidMatchesLibm() {
        // The float64 cell's sigmoid, split by sign as the Swift cells compute it.
        let found = Self.mismatches(Self.values(700, seed: "wide sigmoid"), wideSigmoid) { x in
            x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        }
        #expect(found.isEmpty, "\(found.count) differ; first \(found.prefix(3))")
    }

    @Test func tanhMatchesLibm() {
        let found = Self.mismatches(Self.values(40, seed: "wide tanh"), wideTanh, Foundation.tanh)
        #expect(found.isEmpty, "\(found.count) differ; first \(found.prefix(3))")
    }

    @Test func limitsAndNaN() {
        let x = Double8(.infinity, -.infinity, .nan, 0, -0.0, 800, -800, 1e-300)
        let t = wideTanh(x), s = wideSigmoid(x)
        #expect([t[0], t[1], t[3], t[5], t[6]] == [1, -1, 0, 1, -1])
        #expect(t[2].isNaN && s[2].isNaN && wideExp(x)[2].isNaN)
        #expect(t[4] == 0 && t[4].sign == .minus)
        #expect(t[7] == 1e-300)
        #expect(s[0] == 1 && Float(s[1]) == 0 && s[3] == 0.5 && s[5] == 1 && Float(s[6]) == 0)
    }

    @Test func widenAndRoundLaneByLane() {
        let x = Float8(1, -2, 0.1, 3e-40, .infinity, -0.0, 65_504, 1e-7)
        #expect(widened(x) == Double8((0..<8).map { Double(x[$0]) }))
        let y = Double8(1 + 0x1p-30, -0.1, 1e300, 0x1p-150, 2.5, -3, 1e-8, 7)
        #expect(rounded(y) == Float8((0..<8).map { Float(y[$0]) }))
    }
}
