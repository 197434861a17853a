import FlashRNN

/// The read-out: `y = x·Wᵀ + bias` with `W [output, input]`, both uniform in ±1/√input.
public final class Linear<F: CellScalar> {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter<F>
    public let bias: Parameter<F>
    private var savedInput: [F]?

    public init(inputSize: Int, outputSize: Int, name: String, rng: inout SplitMix64) {
        self.inputSize = inputSize; self.outputSize = outputSize
        let bound = 1 / Double(inputSize).squareRoot()
        weight = .uniform("\(name).weight", [outputSize, inputSize], bound: bound, decays: true, rng: &rng)
        bias = .uniform("\(name).bias", [outputSize], bound: bound, decays: false, rng: &rng)
    }

    /// `[M, input]` to `[M, output]`.
    public func forward(_ x: [F], training: Bool) -> [F] {
        let rows = x.count / inputSize
        var y = [F](repeating: 0, count: rows * outputSize)
        for i in 0..<rows { for j in 0..<outputSize { y[i * outputSize + j] = bias.value[j] } }
        multiply(x, transposed(weight.value, rows: outputSize, columns: inputSize), into: &y,
                 m: rows, n: outputSize, k: inputSize, accumulate: true)
        savedInput = training ? x : nil
        return y
    }

    /// From `dy [M, output]`: accumulates the parameter gradients, returns `dx [M, input]`.
    public func backward(_ dy: [F]) -> [F] {
        guard let x = savedInput else { preconditionFailure("backward needs a forward with training: true") }
        savedInput = nil
        let rows = x.count / inputSize
        for i in 0..<rows { for j in 0..<outputSize { bias.gradient[j] += dy[i * outputSize + j] } }
        multiply(transposed(dy, rows: rows, columns: outputSize), x, into: &weight.gradient,
                 m: outputSize, n: inputSize, k: rows, accumulate: true)
        var dx = [F](repeating: 0, count: rows * inputSize)
        multiply(dy, weight.value, into: &dx, m: rows, n: inputSize, k: outputSize)
        return dx
    }
}
