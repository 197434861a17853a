import FlashRNN
@testable import FlashRNNTraining
import Testing

@Suite struct TrainingTests {
    /// A tiny LSTM on short parity strings; its mean loss over the last 20 steps must fall
    /// below 0.05 (chance is ln 2 ≈ 0.69).
    @Test func shortSeededRunLearnsParity() throws {
        var options = TrainingOptions()
        options.hidden = 8; options.steps = 200; options.batch = 16; options.trainLengths = 3...10
        options.learningRate = 2e-2; options.seed = 1; options.backend = .cpu
        let trainer = try Trainer(options: options)
        var losses: [Double] = []
        for i in 0..<options.steps { losses.append(try trainer.step(i).loss) }
        let tail = losses.suffix(20).reduce(0, +) / 20
        #expect(tail < 0.05, "mean loss of the last 20 steps: \(tail)")
    }

    @Test(arguments: [ModelCell.lstm, .linear])
    func sameSeedGivesBitwiseSameTraining(_ cell: ModelCell) throws {
        var options = TrainingOptions()
        options.cell = cell; options.hidden = 8; options.heads = 2; options.steps = 6; options.batch = 9
        options.trainLengths = 3...12; options.backend = .cpu
        let a = try Trainer(options: options), b = try Trainer(options: options)
        for i in 0..<options.steps { #expect(try a.step(i) == b.step(i)) }
        for (p, q) in zip(a.model.parameters, b.model.parameters) { #expect(p.value == q.value, "\(p.name)") }
        options.seed = 2
        let c = try Trainer(options: options)
        #expect(c.model.parameters[0].value != a.model.parameters[0].value)
    }

    /// Units (head, slice of rows) of the CPU backend are independent, so the thread split
    /// cannot change a result: forward and backward are bitwise equal for 1 and 3 threads.
    @Test(arguments: CellKind.allCases)
    func cpuThreadSplitDoesNotChangeResults(_ cell: CellKind) throws {
        var rng = SplitMix64(seed: 21)
        let (B, T, N, D) = (13, 5, 2, 3)
        func random(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float(rng.normal()) })
        }
        let problem = try RecurrentProblem(cell: cell, wx: random([B, T, cell.gatesW, N, D]), r: random([cell.gatesR, N, D, D]),
                                           b: random([cell.gatesT, N, D]))
        let dStates = random([cell.states, B, T, N, D])
        var outputs: [[Float]] = []
        for threads in [1, 3] {
            let backend = CPUBackend(threads: threads)
            let forward = try backend.run(problem, dtype: .float32, saveForBackward: true)
            let grads = try backend.backward(forward.context!, dStates: dStates, dLast: nil)
            outputs.append(try forward.states.floats() + grads.dWx.floats() + grads.dR.floats() + grads.db.floats())
        }
        #expect(outputs[0] == outputs[1])
    }

    /// Continuing from the returned state gives the same outputs as one long call.
    @Test(arguments: ModelCell.allCases)
    func streamingContinuesTheSequence(_ cell: ModelCell) throws {
        let config = ModelConfig(cell: cell, vocabulary: 2, classes: 2, hidden: 4, heads: 2, layers: 2)
        let model = try SequenceModel<Double>(config: config, backend: .cpu, seed: 5)
        var rng = SplitMix64(seed: 6)
        let (B, T1, T2) = (2, 3, 4)
        let tokens = StateTrackingTask.parity.batch(size: B, length: T1 + T2, rng: &rng).tokens
        let whole = try model.forward(tokens: tokens, batch: B, length: T1 + T2)
        func slice(_ range: Range<Int>) -> [Int] { (0..<B).flatMap { b in range.map { tokens[b * (T1 + T2) + $0] } } }
        let first = try model.forward(tokens: slice(0..<T1), batch: B, length: T1)
        let second = try model.forward(tokens: slice(T1..<(T1 + T2)), batch: B, length: T2, initialStates: first.lastStates)
        for b in 0..<B {
            for t in 0..<(T1 + T2) {
                let expected = Array(whole.logits[((b * (T1 + T2) + t) * 2)..<((b * (T1 + T2) + t) * 2 + 2)])
                let got = t < T1 ? Array(first.logits[((b * T1 + t) * 2)..<((b * T1 + t) * 2 + 2)])
                                 : Array(second.logits[((b * T2 + t - T1) * 2)..<((b * T2 + t - T1) * 2 + 2)])
                #expect(zip(expected, got).allSatisfy { abs($0 - $1) < 1e-12 }, "b=\(b) t=\(t)")
            }
        }
        for (a, b) in zip(whole.lastStates, second.lastStates) {
            #expect(try zip(a.doubles(), b.doubles()).allSatisfy { abs($0 - $1) < 1e-12 })
        }
    }
}
