import FlashRNN

/// Embedding → stacked recurrent layers → linear read-out, one prediction per step.
public final class SequenceModel<F: CellScalar> {
    public let config: ModelConfig
    public let embedding: Embedding<F>
    public let layers: [any SequenceLayer<F>]
    public let readout: Linear<F>
    private var savedShape: (batch: Int, length: Int)?

    public init(config: ModelConfig, backend: BackendChoice = .automatic, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = SplitMix64.stream(seed, 1)
        embedding = Embedding(vocabulary: config.vocabulary, size: config.hidden, name: "embedding", rng: &rng)
        var layers: [any SequenceLayer<F>] = []
        for index in 0..<config.layers {
            let name = "layers.\(index)"
            if let cell = config.cell.recurrentCell {
                layers.append(RecurrentLayer<F>(cell: cell, inputSize: config.hidden, heads: config.heads,
                                                headDim: config.headDim, name: name, backend: backend, rng: &rng))
            } else {
                layers.append(LinearRecurrentLayer<F>(inputSize: config.hidden, heads: config.heads,
                                                      headDim: config.headDim, name: name, rng: &rng))
            }
        }
        self.layers = layers
        readout = Linear(inputSize: config.hidden, outputSize: config.classes, name: "readout", rng: &rng)
    }

    /// Every parameter, in checkpoint order.
    public var parameters: [Parameter<F>] {
        [embedding.table] + layers.flatMap { $0.parameters } + [readout.weight, readout.bias]
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// - Parameters:
    ///   - tokens: `[B, T]`.
    ///   - initialStates: one state per layer to continue a sequence; nil means zeros.
    /// - Returns: logits `[B, T, classes]` and each layer's state after step T.
    public func forward(tokens: [Int], batch: Int, length: Int, initialStates: [Tensor]? = nil,
                        training: Bool = false) throws -> (logits: [F], lastStates: [Tensor]) {
        precondition(tokens.count == batch * length, "tokens must be [B, T]")
        if let initialStates, initialStates.count != layers.count {
            throw TrainingError.invalidConfig("initial states: one per layer (\(layers.count)), got \(initialStates.count)")
        }
        var x = embedding.forward(tokens, training: training)
        var last: [Tensor] = []
        for (index, layer) in layers.enumerated() {
            let result = try layer.forward(x, batch: batch, length: length,
                                           initialState: initialStates?[index], training: training)
            x = result.output
            last.append(result.lastState)
        }
        savedShape = training ? (batch, length) : nil
        return (readout.forward(x, training: training), last)
    }

    /// Backward through the whole model from `dLogits [B, T, classes]`; accumulates every
    /// parameter's gradient.
    public func backward(_ dLogits: [F]) throws {
        precondition(savedShape != nil, "backward needs a forward with training: true")
        savedShape = nil
        var dx = readout.backward(dLogits)
        for layer in layers.reversed() { dx = try layer.backward(dx) }
        embedding.backward(dx)
    }

    public func zeroGradients() { for p in parameters { p.zeroGradient() } }
}
