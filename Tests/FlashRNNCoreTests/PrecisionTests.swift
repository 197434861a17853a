import Foundation
import Testing
@testable import FlashRNNCore

/// The float32 CPU path against the float64 reference, by the rule of spec section 6:
/// whole-tensor relative error at most 1e-5 for every output of forward and backward.
@Suite struct PrecisionTests {
    static let shapes: [(B: Int, T: Int, N: Int, D: Int)] = [(1, 1, 1, 1), (3, 17, 1, 5), (2, 256, 2, 8), (1, 256, 1, 1)]

    @Test(arguments: CellKind.allCases, [true, false])
    func float32AgreesWithFloat64(cell: CellKind, initialStates: Bool) throws {
        for (B, T, N, D) in Self.shapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("precision \(shape) \(initialStates)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: initialStates, rng: &rng)
            let (dS, dL) = randomOutputGradients(shape, rng: &rng, hOnly: false)
            let (f64, g64) = try cpuForwardBackward(inputs, dtype: .float64, dStates: dS, dLast: dL, threads: nil)
            let (f32, g32) = try cpuForwardBackward(inputs, dtype: .float32, dStates: dS, dLast: dL, threads: nil)
            #expect(f32.states.dtype == .float32 && g32.dR.dtype == .float32)
            let outputs: [(String, Tensor, Tensor)] = [
                ("states", f32.states, f64.states), ("last", f32.lastStates, f64.lastStates),
                ("dWx", g32.dWx, g64.dWx), ("dR", g32.dR, g64.dR), ("db", g32.db, g64.db),
                ("dInitialStates", g32.dInitialStates, g64.dInitialStates),
            ]
            for (name, ours, reference) in outputs {
                let values = try ours.doubles()
                #expect(values.allSatisfy { $0.isFinite }, "\(name) \(shape): NaN or Inf")
                let measured = relativeError(values, try reference.doubles())
                #expect(measured <= 1e-5, "\(name) \(shape): relative error \(measured)")
            }
        }
    }
}
