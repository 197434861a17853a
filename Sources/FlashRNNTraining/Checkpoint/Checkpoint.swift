import FlashRNN

/// A model's parameters and its optimiser state in one safetensors file.
///
/// Tensors: every parameter by name (`embedding.weight`, `layers.0.R`, …) and the AdamW
/// moments as `optimizer.m.<name>` / `optimizer.v.<name>`. Metadata: the model config
/// (`model.*`), the optimiser's step and hyper-parameters (`optimizer.*`) and whatever the
/// caller adds (the task, the training options).
public enum Checkpoint {
    public static func save<F: CellScalar>(model: SequenceModel<F>, optimizer: AdamW<F>?, extra: [String: String] = [:],
                                            to path: String) throws {
        var tensors: [String: SafeTensors.Entry] = [:]
        var metadata = extra.merging(model.config.metadata) { _, config in config }
        metadata["format"] = "flashrnn-training-1"
        for p in model.parameters {
            tensors[p.name] = SafeTensors.Entry(shape: p.shape, values: p.value.map { Float($0) })
            if let optimizer {
                if let m = optimizer.firstMoment[p.name] { tensors["optimizer.m.\(p.name)"] = .init(shape: p.shape, values: m.map { Float($0) }) }
                if let v = optimizer.secondMoment[p.name] { tensors["optimizer.v.\(p.name)"] = .init(shape: p.shape, values: v.map { Float($0) }) }
            }
        }
        if let optimizer {
            metadata["optimizer.step"] = "\(optimizer.step)"
            metadata["optimizer.lr"] = "\(optimizer.learningRate)"
            metadata["optimizer.beta1"] = "\(optimizer.beta1)"
            metadata["optimizer.beta2"] = "\(optimizer.beta2)"
            metadata["optimizer.eps"] = "\(optimizer.epsilon)"
            metadata["optimizer.weight_decay"] = "\(optimizer.weightDecay)"
        }
        try SafeTensors.write(tensors, metadata: metadata, to: path)
    }

    /// The config stored in a checkpoint, and the rest of its metadata.
    public static func config(at path: String) throws -> (config: ModelConfig, metadata: [String: String]) {
        let file = try SafeTensors.read(path: path)
        return (try ModelConfig(metadata: file.metadata), file.metadata)
    }

    /// Loads parameters (and, when given, the optimiser state) into an existing model.
    /// Throws naming the config field or the tensor that does not match.
    public static func load<F: CellScalar>(into model: SequenceModel<F>, optimizer: AdamW<F>? = nil, from path: String) throws {
        let file = try SafeTensors.read(path: path)
        try model.config.checkMatches(try ModelConfig(metadata: file.metadata))
        func take(_ name: String, shape: [Int]) throws -> [F] {
            guard let entry = file.tensors[name] else { throw TrainingError.checkpoint("\(path) lacks the tensor \(name)") }
            guard entry.shape == shape else {
                throw TrainingError.checkpoint("tensor \(name) must be \(shape), the checkpoint has \(entry.shape)")
            }
            return entry.values.map { F($0) }
        }
        let parameters = model.parameters
        let values = try parameters.map { try take($0.name, shape: $0.shape) }
        var first: [String: [F]] = [:], second: [String: [F]] = [:]
        var step = 0
        if optimizer != nil {
            guard let text = file.metadata["optimizer.step"], let s = Int(text) else {
                throw TrainingError.checkpoint("\(path) holds no optimizer state (metadata optimizer.step)")
            }
            step = s
            for p in parameters {
                first[p.name] = try take("optimizer.m.\(p.name)", shape: p.shape)
                second[p.name] = try take("optimizer.v.\(p.name)", shape: p.shape)
            }
        }
        // Only change the model once everything has been read and checked.
        for (p, v) in zip(parameters, values) { p.value = v }
        if let optimizer {
            optimizer.restore(step: step, first: first, second: second)
            if let lr = file.metadata["optimizer.lr"].flatMap(Double.init) { optimizer.learningRate = lr }
            if let wd = file.metadata["optimizer.weight_decay"].flatMap(Double.init) { optimizer.weightDecay = wd }
        }
    }
}
