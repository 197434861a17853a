import FlashRNN
import Foundation
import RealModule

/// What a training run does. The defaults are the ones `flashrnn train parity` uses.
public struct TrainingOptions: Sendable {
    public var task: StateTrackingTask = .parity
    public var cell: ModelCell = .lstm
    public var hidden = 32
    public var heads = 1
    public var layers = 1
    public var steps = 1500
    public var batch = 32
    public var learningRate = 1e-2
    public var weightDecay = 0.01
    /// Global gradient-norm limit.
    public var gradientClip = 1.0
    /// Lengths of the training strings; each batch has one length drawn uniformly.
    public var trainLengths: ClosedRange<Int> = 3...40
    /// Fraction of the steps over which the longest training length grows from the shortest
    /// bucket to `trainLengths.upperBound` (a curriculum); 0 trains on every length from the start.
    public var curriculumFraction = 0.0
    /// Fraction of the steps with a linear learning-rate warm-up; the rest decays as a cosine to 10%.
    public var warmupFraction = 0.05
    public var seed: UInt64 = 1
    public var backend: BackendChoice = .automatic

    public init() {}

    public var modelConfig: ModelConfig {
        ModelConfig(cell: cell, vocabulary: task.vocabulary, classes: task.classes, hidden: hidden, heads: heads, layers: layers)
    }

    /// The options as checkpoint metadata.
    public var metadata: [String: String] {
        ["task": task.rawValue, "train.steps": "\(steps)", "train.batch": "\(batch)", "train.lr": "\(learningRate)",
         "train.weight_decay": "\(weightDecay)", "train.gradient_clip": "\(gradientClip)",
         "train.lengths": "\(trainLengths.lowerBound)-\(trainLengths.upperBound)", "train.seed": "\(seed)"]
    }

    /// Learning rate at `step` (0-based).
    public func learningRate(at step: Int) -> Double {
        let warmup = max(1, Int(Double(steps) * warmupFraction))
        if step < warmup { return learningRate * Double(step + 1) / Double(warmup) }
        let progress = Double(step - warmup) / Double(max(1, steps - warmup))
        return learningRate * (0.1 + 0.9 * 0.5 * (1 + Double.cos(Double.pi * progress)))
    }

    /// The longest training length at `step` under the curriculum.
    public func longestLength(at step: Int) -> Int {
        let ramp = Int(Double(steps) * curriculumFraction)
        guard ramp > 0, step < ramp else { return trainLengths.upperBound }
        let start = min(trainLengths.upperBound, trainLengths.lowerBound + 7)
        return start + (trainLengths.upperBound - start) * step / ramp
    }
}

/// One line of progress.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var steps: Int
    /// Mean over the steps since the last report.
    public var loss: Double
    /// Per-step accuracy over the steps since the last report.
    public var accuracy: Double
    public var sequencesPerSecond: Double
    public var elapsedSeconds: Double
    public var secondsLeft: Double
}

/// Trains a ``SequenceModel`` in float32 on a state-tracking task.
public final class Trainer: TrainingLoop {
    public let options: TrainingOptions
    public let model: SequenceModel<Float>
    public let optimizer: AdamW<Float>
    private var rng: SplitMix64

    public init(options: TrainingOptions) throws {
        self.options = options
        model = try SequenceModel<Float>(config: options.modelConfig, backend: options.backend, seed: options.seed)
        optimizer = AdamW<Float>(learningRate: options.learningRate, weightDecay: options.weightDecay)
        rng = SplitMix64.stream(options.seed, 2)
    }

    /// One optimisation step on a fresh batch; returns the loss and the per-step accuracy.
    public func step(_ index: Int) throws -> (loss: Double, accuracy: Double) {
        let data = options.batch(at: index, rng: &rng)
        model.zeroGradients()
        let logits = try model.forward(tokens: data.tokens, batch: options.batch, length: data.length, training: true).logits
        let result = CrossEntropy.evaluate(logits: logits, labels: data.labels, classes: options.task.classes)
        try model.backward(result.dLogits)
        clipGradientNorm(model.parameters, maxNorm: options.gradientClip)
        optimizer.learningRate = options.learningRate(at: index)
        optimizer.update(model.parameters)
        let right = zip(result.predictions, data.labels).filter { $0 == $1 }.count
        return (result.loss, Double(right) / Double(data.labels.count))
    }
}
