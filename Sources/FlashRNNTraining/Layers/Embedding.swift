import FlashRNN

/// Token embedding: `table [vocabulary, size]`, rows drawn from N(0, 1) as in PyTorch.
public final class Embedding<F: CellScalar> {
    public let vocabulary: Int
    public let size: Int
    public let table: Parameter<F>
    private var savedTokens: [Int]?

    public init(vocabulary: Int, size: Int, name: String, rng: inout SplitMix64) {
        self.vocabulary = vocabulary; self.size = size
        table = Parameter(name: "\(name).weight", shape: [vocabulary, size],
                          value: (0..<(vocabulary * size)).map { _ in F(rng.normal()) }, decays: false)
    }

    /// `[B·T]` token ids to `[B·T, size]`.
    public func forward(_ tokens: [Int], training: Bool) -> [F] {
        var out = [F](repeating: 0, count: tokens.count * size)
        for (i, token) in tokens.enumerated() {
            precondition(token >= 0 && token < vocabulary, "token \(token) outside the vocabulary 0..<\(vocabulary)")
            for j in 0..<size { out[i * size + j] = table.value[token * size + j] }
        }
        savedTokens = training ? tokens : nil
        return out
    }

    public func backward(_ dOutput: [F]) {
        guard let tokens = savedTokens else { preconditionFailure("backward needs a forward with training: true") }
        savedTokens = nil
        for (i, token) in tokens.enumerated() {
            for j in 0..<size { table.gradient[token * size + j] += dOutput[i * size + j] }
        }
    }
}
