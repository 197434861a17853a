import Foundation
import Testing
@testable import FlashRNNCore

/// How a gradient-check case hands its inputs and options to the backend.
enum GradientVariant: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case plain               // [S, B, N, D] initial states, default options
    case noInitialStates     // zeros, the backend's default
    case initialWithOne      // initial states given as [S, B, 1, N, D]
    case timeMajor           // inputLayout = .tbgnd
    case forwardClip         // a clip value that binds some elements of h
    case combined            // forwardClip, .tbgnd and [S, B, 1, N, D] initial states together

    var testDescription: String { rawValue }
}

/// Small shapes with the odd sizes: T = 1, B = 1, D = 1, N > 1.
let gradientShapes: [(B: Int, T: Int, N: Int, D: Int)] = [(1, 1, 1, 1), (2, 3, 2, 3), (3, 4, 1, 2), (1, 5, 3, 1)]

/// Backward of the CPU backend is the true gradient: central finite differences in float64.
@Suite struct FiniteDifferenceTests {
    static let step = 1e-6
    static let tolerance = 1e-6

    @Test(arguments: CellKind.allCases, GradientVariant.allCases)
    func backwardMatchesFiniteDifferences(cell: CellKind, variant: GradientVariant) throws {
        for (B, T, N, D) in gradientShapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("fd \(shape) \(variant)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: variant != .noInitialStates, rng: &rng)
            var options = RecurrentOptions()
            if variant == .timeMajor || variant == .combined { options.inputLayout = .tbgnd }
            if variant == .forwardClip || variant == .combined {
                let clip = try #require(Self.bindingForwardClip(inputs), "no usable clip value for \(shape)")
                options.forwardClip = clip
            }
            let withOne = variant == .initialWithOne || variant == .combined
            let (dS, dL) = randomOutputGradients(shape, rng: &rng)

            let problem = try inputs.problem(options: options, initialStatesWithOne: withOne)
            let result = try CPUBackend(threads: 1).run(problem, dtype: .float64, saveForBackward: true)
            let grads = try runBackward(try #require(result.context),
                                        dStates: Tensor(shape: shape.statesShape, values: dS),
                                        dLast: Tensor(shape: shape.lastStatesShape, values: dL))
            #expect(grads.dWx.shape == problem.wx.shape)
            #expect(grads.dInitialStates.shape == shape.lastStatesShape)

            func lossAt(_ perturbed: RecurrenceInputs) throws -> Double {
                let p = try perturbed.problem(options: options, initialStatesWithOne: withOne)
                return try loss(CPUBackend(threads: 1).run(p, dtype: .float64, saveForBackward: false), dStates: dS, dLast: dL)
            }
            func numeric(_ keyPath: WritableKeyPath<RecurrenceInputs, [Double]>) throws -> [Double] {
                try inputs[keyPath: keyPath].indices.map { i in
                    var plus = inputs, minus = inputs
                    plus[keyPath: keyPath][i] += Self.step
                    minus[keyPath: keyPath][i] -= Self.step
                    return (try lossAt(plus) - lossAt(minus)) / (2 * Self.step)
                }
            }
            var dWx = try grads.dWx.doubles()
            if options.inputLayout == .tbgnd { dWx = swapLeadingDims(dWx, T, B) }
            let label = "\(shape) \(variant)"
            #expect(relativeError(dWx, try numeric(\.wx)) <= Self.tolerance, "dWx \(label)")
            #expect(relativeError(try grads.dR.doubles(), try numeric(\.r)) <= Self.tolerance, "dR \(label)")
            #expect(relativeError(try grads.db.doubles(), try numeric(\.b)) <= Self.tolerance, "db \(label)")
            if inputs.s0 != nil {
                var analytic = try grads.dInitialStates.doubles(), fd = try numeric(\.s0!)
                if cell == .slstm {
                    // m carries no gradient by definition; finite differences see the rescaling (spec 3.2).
                    let kept = 3 * analytic.count / 4
                    analytic = Array(analytic[..<kept]); fd = Array(fd[..<kept])
                }
                #expect(relativeError(analytic, fd) <= Self.tolerance, "dInitialStates \(label)")
            } else {
                // With no initial states given, the gradient of the zero initial states is still reported.
                var zeroed = inputs
                zeroed.s0 = [Double](repeating: 0, count: shape.lastStatesShape.reduce(1, *))
                var analytic = try grads.dInitialStates.doubles(), fd = try Self.numericInitial(zeroed, options, dS, dL)
                if cell == .slstm {
                    // n₀ = 0 selects the fresh-state rule, which any perturbation of n₀ switches off:
                    // the loss is discontinuous there, so only h₀ and c₀ are compared.
                    let kept = analytic.count / 2
                    analytic = Array(analytic[..<kept]); fd = Array(fd[..<kept])
                }
                #expect(relativeError(analytic, fd) <= Self.tolerance, "dInitialStates \(label)")
            }
        }
    }

    /// Finite differences with respect to explicit initial states (used where the case passed none).
    static func numericInitial(_ inputs: RecurrenceInputs, _ options: RecurrentOptions,
                               _ dS: [Double], _ dL: [Double]) throws -> [Double] {
        try inputs.s0!.indices.map { i in
            var plus = inputs, minus = inputs
            plus.s0![i] += step
            minus.s0![i] -= step
            let lp = try loss(CPUBackend(threads: 1).run(plus.problem(options: options), dtype: .float64, saveForBackward: false),
                              dStates: dS, dLast: dL)
            let lm = try loss(CPUBackend(threads: 1).run(minus.problem(options: options), dtype: .float64, saveForBackward: false),
                              dStates: dS, dLast: dL)
            return (lp - lm) / (2 * step)
        }
    }

    /// A forwardClip value that binds at least one element of h while every pre-clip |h| stays at
    /// least 1e-4 away from it, so perturbations of 1e-6 never cross the clamp's kink.
    static func bindingForwardClip(_ inputs: RecurrenceInputs) -> Double? {
        let unclipped = ReferenceRecurrence(inputs: inputs).forward().hUnclipped.map(abs).sorted()
        var candidates: [(gap: Double, value: Double)] = [(unclipped.last! / 2, unclipped.last! / 2)]
        for (lo, hi) in zip(unclipped, unclipped.dropFirst()) where hi - lo > 2e-4 {
            candidates.append((hi - lo, (lo + hi) / 2))
        }
        for candidate in candidates.sorted(by: { $0.gap > $1.gap }) {
            let clipped = ReferenceRecurrence(inputs: inputs, forwardClip: candidate.value).forward().hUnclipped.map(abs)
            let binds = clipped.contains { $0 > candidate.value }
            let margin = clipped.map { abs($0 - candidate.value) }.min()!
            if binds && margin >= 1e-4 { return candidate.value }
        }
        return nil
    }

    /// The test's own per-element implementation of the spec agrees with the backend, forward and
    /// backward, so it can serve as the independent reference of the option tests.
    @Test(arguments: CellKind.allCases, [false, true])
    func referenceImplementationAgrees(cell: CellKind, clip: Bool) throws {
        for (B, T, N, D) in gradientShapes {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            var rng = TestRandom(seed: seed("reference \(shape) \(clip)"))
            let inputs = RecurrenceInputs.random(shape, initialStates: true, rng: &rng)
            let (dS, dL) = randomOutputGradients(shape, rng: &rng, hOnly: false)
            var options = RecurrentOptions()
            if clip {
                let value = try #require(Self.bindingForwardClip(inputs), "no usable clip value for \(shape)")
                options.forwardClip = value
            }
            let (result, grads) = try cpuForwardBackward(inputs, options: options, dStates: dS, dLast: dL)
            let reference = ReferenceRecurrence(inputs: inputs, forwardClip: options.forwardClip)
            let expected = reference.backward(dStates: dS, dLast: dL)
            #expect(relativeError(try result.states.doubles(), reference.forward().states) <= 1e-14, "states \(shape)")
            #expect(relativeError(try grads.dWx.doubles(), expected.dWx) <= 1e-12, "dWx \(shape)")
            #expect(relativeError(try grads.dR.doubles(), expected.dR) <= 1e-12, "dR \(shape)")
            #expect(relativeError(try grads.db.doubles(), expected.db) <= 1e-12, "db \(shape)")
            #expect(relativeError(try grads.dInitialStates.doubles(), expected.dInitial) <= 1e-12, "dInitialStates \(shape)")
        }
    }
}
