import FlashRNN

/// A trainable tensor: its values, the gradient accumulated by backward, and whether
/// AdamW decays it (weight matrices yes; biases, embeddings and decay rates no).
public final class Parameter<F: CellScalar> {
    /// The name in checkpoints, e.g. `layers.0.R`.
    public let name: String
    public let shape: [Int]
    public var value: [F]
    public var gradient: [F]
    public let decays: Bool

    public init(name: String, shape: [Int], value: [F], decays: Bool) {
        precondition(value.count == shape.reduce(1, *), "\(name): \(value.count) values for shape \(shape)")
        self.name = name; self.shape = shape; self.value = value; self.decays = decays
        gradient = [F](repeating: 0, count: value.count)
    }

    /// Uniform in ±bound, the PyTorch recurrent-layer initialisation with bound = 1/√hidden.
    public static func uniform(_ name: String, _ shape: [Int], bound: Double, decays: Bool,
                               rng: inout SplitMix64) -> Parameter {
        let count = shape.reduce(1, *)
        return Parameter(name: name, shape: shape,
                         value: (0..<count).map { _ in F(rng.uniform(-bound, bound)) }, decays: decays)
    }

    public func zeroGradient() {
        for i in gradient.indices { gradient[i] = 0 }
    }
}
