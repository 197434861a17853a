import FlashRNN
@testable import FlashRNNTraining
import Testing

/// Finite differences in float64 through the whole model: embedding, input projection,
/// recurrence (every cell and the linear contrast), stacking, read-out and cross-entropy.
@Suite struct GradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var cell: ModelCell, hidden: Int, heads: Int, layers: Int, batch: Int, length: Int
        var testDescription: String { "\(cell) H=\(hidden) N=\(heads) layers=\(layers) B=\(batch) T=\(length)" }
    }

    static let cases: [Case] = ModelCell.allCases.flatMap { cell in [
        Case(cell: cell, hidden: 4, heads: 2, layers: 2, batch: 2, length: 3),
        Case(cell: cell, hidden: 3, heads: 1, layers: 1, batch: 1, length: 1),
        Case(cell: cell, hidden: 1, heads: 1, layers: 1, batch: 3, length: 4),
    ] }

    /// Non-zero initial states; for sLSTM n ≥ 1.5 so n_t stays above its clamp at 1 (spec 6).
    static func initialStates(_ model: SequenceModel<Double>, batch: Int, rng: inout SplitMix64) -> [Tensor] {
        model.layers.map { layer in
            let shape = layer.stateShape(batch: batch)
            let perState = shape.dropFirst().reduce(1, *)
            let values = (0..<shape.reduce(1, *)).map { i -> Double in
                let s = i / perState
                if model.config.cell == .slstm && s == 2 { return rng.uniform(1.5, 2.5) }
                return rng.uniform(-0.5, 0.5)
            }
            return Tensor(shape: shape, values: values)
        }
    }

    @Test(arguments: cases)
    func modelGradientsMatchFiniteDifferences(_ c: Case) throws {
        let config = ModelConfig(cell: c.cell, vocabulary: 3, classes: 3, hidden: c.hidden, heads: c.heads, layers: c.layers)
        let model = try SequenceModel<Double>(config: config, backend: .cpu, seed: 7)
        var rng = SplitMix64(seed: 11)
        let tokens = (0..<(c.batch * c.length)).map { _ in rng.int(in: 0...2) }
        let labels = (0..<(c.batch * c.length)).map { _ in rng.int(in: 0...2) }
        let states = Self.initialStates(model, batch: c.batch, rng: &rng)
        func loss() throws -> Double {
            let logits = try model.forward(tokens: tokens, batch: c.batch, length: c.length, initialStates: states).logits
            return CrossEntropy.evaluate(logits: logits, labels: labels, classes: 3).loss
        }
        model.zeroGradients()
        let logits = try model.forward(tokens: tokens, batch: c.batch, length: c.length, initialStates: states, training: true).logits
        try model.backward(CrossEntropy.evaluate(logits: logits, labels: labels, classes: 3).dLogits)

        let h = 1e-6
        for p in model.parameters {
            var numeric = [Double](repeating: 0, count: p.value.count)
            for i in p.value.indices {
                let saved = p.value[i]
                p.value[i] = saved + h; let plus = try loss()
                p.value[i] = saved - h; let minus = try loss()
                p.value[i] = saved
                numeric[i] = (plus - minus) / (2 * h)
            }
            let error = relativeError(p.gradient, numeric)
            #expect(error <= 1e-6, "\(p.name): relative error \(error)")
        }
    }

    @Test func crossEntropyMatchesHandComputedCase() {
        // logits [0, ln 3] → softmax [1/4, 3/4]; label 1: loss = −ln(3/4); dLogits = [1/4, −1/4].
        let result = CrossEntropy.evaluate(logits: [0.0, Double.log(3)], labels: [1], classes: 2)
        #expect(abs(result.loss + Double.log(0.75)) < 1e-15)
        #expect(abs(result.dLogits[0] - 0.25) < 1e-15 && abs(result.dLogits[1] + 0.25) < 1e-15)
        #expect(result.predictions == [1])
    }

    @Test func matrixProductMatchesNaiveLoops() {
        var rng = SplitMix64(seed: 3)
        for (m, n, k) in [(1, 1, 1), (5, 7, 3), (8, 4, 9), (3, 1, 2)] {
            let a = (0..<(m * k)).map { _ in rng.normal() }, b = (0..<(k * n)).map { _ in rng.normal() }
            var c = [Double](repeating: 1, count: m * n)
            multiply(a, b, into: &c, m: m, n: n, k: k, accumulate: true)
            for i in 0..<m { for j in 0..<n {
                let expected = 1 + (0..<k).reduce(0.0) { $0 + a[i * k + $1] * b[$1 * n + j] }
                #expect(abs(c[i * n + j] - expected) < 1e-12)
            } }
            #expect(transposed(transposed(a, rows: m, columns: k), rows: k, columns: m) == a)
        }
    }
}

func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    let diff = zip(a, b).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    let norm = b.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
    return norm == 0 ? diff : diff / norm
}
