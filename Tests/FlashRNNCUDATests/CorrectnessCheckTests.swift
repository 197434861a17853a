import Testing
@testable import FlashRNN

@Suite struct CorrectnessCheckTests {
    @Test func relativeErrorIsWholeTensorAndCountsNonFinite() {
        let (e, bad) = CorrectnessCheck.relativeError([1, 2, .nan], [1, 2, 2])
        #expect(bad == 1)
        #expect(e == 0)
        let (e2, _) = CorrectnessCheck.relativeError([1.1, 0], [1, 0])
        #expect(abs(e2 - 0.1) < 1e-12)
        // A zero reference compares absolutely.
        #expect(CorrectnessCheck.relativeError([0, 0], [0, 0]).error == 0)
        #expect(CorrectnessCheck.relativeError([0.5, 0], [0, 0]).error == 0.5)
    }

    @Test func judgementNeedsBothTheRoundedBoundAndTheCap() {
        let ref: [Double] = [1, 1, 1, 1]
        func j(_ out: Double, _ rounded: Double, _ dtype: DType) -> OutputJudgement {
            CorrectnessCheck.judge("x", output: ref.map { $0 + out }, reference: ref, rounded: ref.map { $0 + rounded }, dtype: dtype)
        }
        #expect(j(1e-3, 1e-3, .bfloat16).passed)
        #expect(j(1.9e-3, 1e-3, .bfloat16).passed)      // under 2×
        #expect(!j(2.1e-3, 1e-3, .bfloat16).passed)     // over 2×
        #expect(!j(4e-2, 3e-2, .bfloat16).passed)       // over the cap
        #expect(!j(2e-5, 1e-4, .float32).passed)        // over the float32 cap 1e-5
        let nan = CorrectnessCheck.judge("x", output: [.nan, 1], reference: [1, 1], rounded: [1, 1], dtype: .float16)
        #expect(!nan.passed)
    }

    /// The failure text names the part of the rule that failed; a rounded-input run above the cap
    /// is reported as such and still fails.
    @Test func failureNamesThePartOfTheRule() {
        let ref: [Double] = [1, 1, 1, 1]
        func j(_ out: Double, _ rounded: Double) -> OutputJudgement {
            CorrectnessCheck.judge("x", output: ref.map { $0 + out }, reference: ref, rounded: ref.map { $0 + rounded }, dtype: .bfloat16)
        }
        #expect(j(1e-3, 1e-3).failure == nil)
        #expect(j(3e-3, 1e-3).failure == "3.0× ref")
        #expect(j(4e-2, 3.5e-2).failure == "> cap, as the rounded-input CPU run")
        #expect(j(4e-2, 3.5e-2).roundedAboveCap && !j(4e-2, 3.5e-2).passed)
        #expect(j(4e-2, 1e-2).failure == "4.0× ref, > cap")
        #expect(CorrectnessCheck.judge("x", output: [.nan, 1], reference: [1, 1], rounded: [1, 1], dtype: .float16).failure == "non-finite")
    }

    /// The CPU float32 backend judged by the same rule against float64, as a sanity check of
    /// the harness (inputs, rounding, output order).
    @Test(arguments: CellKind.allCases)
    func harnessRunsEndToEndOnTheCPU(cell: CellKind) throws {
        let inputs = CorrectnessCheck.Inputs(cell: cell, batch: 2, length: 5, heads: 2, headDim: 3,
                                             initialStates: true, layout: .btgnd, seed: 11)
        let reference = try CorrectnessCheck.outputs(inputs, cell: cell, options: RecurrentOptions(), dtype: .float64, backend: .cpu)
        #expect(reference.values.count == CorrectnessCheck.Outputs.names.count)
        let c = CheckCase(backend: .cpu, cell: cell, dtype: .float64, batch: 2, length: 5, heads: 2, headDim: 3, initialStates: true)
        let judgements = try CorrectnessCheck.run(c, inputs: inputs, reference: reference)
        #expect(judgements.allSatisfy { $0.error == 0 && $0.nonFinite == 0 })
        if cell == .slstm {
            let values = try inputs.s0!.doubles()
            #expect(values[(2 * 2 * 2 * 3)..<(3 * 2 * 2 * 3)].allSatisfy { $0 >= 1 })
        }
    }

    @Test func shapeGridCoversTheRequiredEdges() {
        let cases = CorrectnessCheck.shapes(cell: .lstm, dtype: .bfloat16, backend: .cudaAlternating, quick: false)
        #expect(cases.contains { $0.length == 1 && $0.batch == 1 })
        #expect(cases.contains { $0.headDim % 2 == 1 })
        #expect(cases.contains { $0.heads > 1 })
        #expect(cases.contains { $0.initialStates })
        #expect(cases.contains { $0.options.inputLayout == .tbgnd })
        #expect(cases.contains { $0.options.gradientRecurrentCut })
        #expect(cases.contains { $0.options.gradientRecurrentClip != nil })
        #expect(cases.contains { $0.options.forwardClip != nil })
        #expect(cases.contains { $0.batch == 16 && $0.heads * $0.headDim == 768 })
    }
}
