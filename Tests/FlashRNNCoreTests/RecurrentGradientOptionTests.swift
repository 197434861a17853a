import Foundation
import Testing
@testable import FlashRNNCore

/// gradientRecurrentCut and gradientRecurrentClip (spec section 4).
@Suite struct RecurrentGradientOptionTests {
    /// With the cut, backward is the gradient of a stop-gradient function: the forward in which
    /// `R·h_{t-1}` reads a frozen copy of h from the unperturbed forward, while the direct state
    /// paths (c, n, GRU's z ⊙ h_{t-1}) stay live.
    @Test(arguments: CellKind.allCases)
    func cutMatchesFiniteDifferencesOfStopGradientForward(cell: CellKind) throws {
        for (B, T, N, D) in gradientShapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("cut \(shape)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: true, rng: &rng)
            let (dS, dL) = randomOutputGradients(shape, rng: &rng)
            let (_, grads) = try cpuForwardBackward(inputs, options: RecurrentOptions(gradientRecurrentCut: true),
                                                    dStates: dS, dLast: dL)
            let frozen = ReferenceRecurrence(inputs: inputs).forward().hPrevious
            let step = FiniteDifferenceTests.step
            func lossAt(_ x: RecurrenceInputs) -> Double {
                let states = ReferenceRecurrence(inputs: x).forward(frozenH: frozen).states
                let perState = B * N * D
                var total = 0.0
                for i in states.indices { total += states[i] * dS[i] }
                // last = states[:, :, T-1]
                for s in 0..<cell.states { for b in 0..<B { for j in 0..<N * D {
                    total += states[((s * B + b) * T + T - 1) * N * D + j] * dL[s * perState + b * N * D + j]
                } } }
                return total
            }
            func numeric(_ keyPath: WritableKeyPath<RecurrenceInputs, [Double]>) -> [Double] {
                inputs[keyPath: keyPath].indices.map { i in
                    var plus = inputs, minus = inputs
                    plus[keyPath: keyPath][i] += step
                    minus[keyPath: keyPath][i] -= step
                    return (lossAt(plus) - lossAt(minus)) / (2 * step)
                }
            }
            let tolerance = FiniteDifferenceTests.tolerance
            #expect(relativeError(try grads.dWx.doubles(), numeric(\.wx)) <= tolerance, "dWx \(shape)")
            #expect(relativeError(try grads.dR.doubles(), numeric(\.r)) <= tolerance, "dR \(shape)")
            #expect(relativeError(try grads.db.doubles(), numeric(\.b)) <= tolerance, "db \(shape)")
            var analytic = try grads.dInitialStates.doubles(), fd = numeric(\.s0!)
            if cell == .slstm {
                let kept = 3 * analytic.count / 4
                analytic = Array(analytic[..<kept]); fd = Array(fd[..<kept])
            }
            #expect(relativeError(analytic, fd) <= tolerance, "dInitialStates \(shape)")
        }
    }

    static func allGradients(_ g: Gradients) throws -> [[Double]] {
        [try g.dWx.doubles(), try g.dR.doubles(), try g.db.doubles(), try g.dInitialStates.doubles()]
    }

    @Test(arguments: CellKind.allCases, [DType.float64, .float32])
    func hugeClipEqualsNoClipAndZeroClipEqualsCut(cell: CellKind, dtype: DType) throws {
        for (B, T, N, D) in gradientShapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("clip-limits \(shape) \(dtype)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: true, rng: &rng)
            let (dS, dL) = randomOutputGradients(shape, rng: &rng, hOnly: false)
            func gradients(_ options: RecurrentOptions) throws -> [[Double]] {
                try Self.allGradients(cpuForwardBackward(inputs, options: options, dtype: dtype, dStates: dS, dLast: dL).gradients)
            }
            let plain = try gradients(RecurrentOptions())
            let cut = try gradients(RecurrentOptions(gradientRecurrentCut: true))
            #expect(try gradients(RecurrentOptions(gradientRecurrentClip: 1e300)) == plain, "huge clip \(shape)")
            #expect(try gradients(RecurrentOptions(gradientRecurrentClip: 0)) == cut, "zero clip \(shape)")
            // The cut changes something (h₀ at least receives Rᵀ·dG without it), so the comparisons above bite.
            #expect(cut != plain, "\(shape)")
        }
    }

    /// An intermediate clip against the test's per-element backward with the clamp on `Rᵀ·dG`.
    /// The clip is a fraction of the largest `|Rᵀ·dG|` of the unclipped backward, so it binds.
    @Test(arguments: CellKind.allCases, [0.3, 0.8])
    func intermediateClipMatchesReferenceBackward(cell: CellKind, fraction: Double) throws {
        for (B, T, N, D) in gradientShapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("clip \(shape) \(fraction)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: true, rng: &rng)
            let (dS, dL) = randomOutputGradients(shape, rng: &rng, hOnly: false)
            var largest = 0.0
            _ = ReferenceRecurrence(inputs: inputs).backward(dStates: dS, dLast: dL) { largest = max(largest, abs($0)); return $0 }
            let clip = fraction * largest
            let (_, grads) = try cpuForwardBackward(inputs, options: RecurrentOptions(gradientRecurrentClip: clip),
                                                    dStates: dS, dLast: dL)
            let reference = ReferenceRecurrence(inputs: inputs)
            let clipped = reference.backward(dStates: dS, dLast: dL) { min(max($0, -clip), clip) }
            let unclipped = reference.backward(dStates: dS, dLast: dL)
            #expect(relativeError(try grads.dWx.doubles(), clipped.dWx) <= 1e-12, "dWx \(shape)")
            #expect(relativeError(try grads.dR.doubles(), clipped.dR) <= 1e-12, "dR \(shape)")
            #expect(relativeError(try grads.db.doubles(), clipped.db) <= 1e-12, "db \(shape)")
            #expect(relativeError(try grads.dInitialStates.doubles(), clipped.dInitial) <= 1e-12, "dInitialStates \(shape)")
            // The clip binds somewhere, so the case is not the unclipped one in disguise.
            #expect(relativeError(clipped.dInitial, unclipped.dInitial) > 1e-6, "clip \(clip) does not bind for \(shape)")
        }
    }
}
