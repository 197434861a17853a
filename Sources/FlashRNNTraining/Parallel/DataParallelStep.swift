import FlashRNN

/// One data-parallel optimisation step over R model replicas.
///
/// The global batch of B sequences is cut into R contiguous slices of ⌈B/R⌉ or ⌊B/R⌋ sequences.
/// Each replica computes the gradient of the mean loss over its own slice; since every sequence
/// of a batch has the same length, the mean over the global batch is Σ_r (b_r / B) · mean_r, so
/// each replica scales its gradient by b_r / B before the all-reduce sums them. (Dividing the sum
/// by R instead would be wrong whenever the slices are unequal.) Every replica then clips and
/// steps its own optimiser on the identical summed gradient, so the replicas stay identical.
public final class DataParallelStep<F: CellScalar> {
    public let replicas: [SequenceModel<F>]
    public let optimizers: [AdamW<F>]
    public let allReduce: any GradientAllReduce
    public let buckets: GradientBuckets
    /// Global gradient-norm limit, applied to the summed gradient; nil means no clipping.
    public var gradientClip: Double?

    /// - Parameters:
    ///   - replicas: the model copies; replica 0's values are copied to the others (the broadcast
    ///     a multi-GPU start does), so they need only share the configuration.
    ///   - optimizers: one per replica, configured alike.
    ///   - bucketBytes: the bucket budget; 25 MiB is the usual choice for overlapping with backward.
    public init(replicas: [SequenceModel<F>], optimizers: [AdamW<F>], allReduce: any GradientAllReduce,
                bucketBytes: Int = 25 << 20, gradientClip: Double? = nil) throws {
        guard !replicas.isEmpty, replicas.count == optimizers.count, replicas.count == allReduce.replicas else {
            throw TrainingError.invalidConfig("data parallel: \(replicas.count) replicas, \(optimizers.count) optimisers, "
                                              + "all-reduce over \(allReduce.replicas)")
        }
        for replica in replicas.dropFirst() {
            try replica.config.checkMatches(replicas[0].config, otherName: "replica 0")
            for (mine, source) in zip(replica.parameters, replicas[0].parameters) { mine.value = source.value }
        }
        self.replicas = replicas; self.optimizers = optimizers; self.allReduce = allReduce
        self.gradientClip = gradientClip
        buckets = GradientBuckets(parameters: replicas[0].parameters, budgetBytes: bucketBytes)
    }

    /// Sequences per replica for a global batch of `batch`: the first `batch % R` get one more.
    public static func sliceSizes(batch: Int, replicas: Int) -> [Int] {
        (0..<replicas).map { batch / replicas + ($0 < batch % replicas ? 1 : 0) }
    }

    /// Computes every replica's gradient on its slice and leaves the all-reduced gradient of the
    /// mean loss over the global batch in every replica's parameters. Returns the global mean loss
    /// and the fraction of correct per-step predictions.
    /// - Parameters:
    ///   - tokens: `[B, T]`.
    ///   - labels: `[B, T]`.
    @discardableResult
    public func computeGradients(tokens: [Int], labels: [Int], batch: Int, length: Int,
                                 classes: Int) throws -> (loss: Double, accuracy: Double) {
        precondition(tokens.count == batch * length && labels.count == batch * length, "tokens and labels must be [B, T]")
        let r = replicas.count
        guard batch >= r else {
            throw TrainingError.invalidConfig("data parallel: a batch of \(batch) cannot feed \(r) replicas")
        }
        let sizes = Self.sliceSizes(batch: batch, replicas: r)
        var packed: [[[F]]] = []
        var loss = 0.0, right = 0, start = 0
        for (replica, size) in zip(replicas, sizes) {
            let range = (start * length)..<((start + size) * length)
            start += size
            let sliceLabels = Array(labels[range])
            replica.zeroGradients()
            let logits = try replica.forward(tokens: Array(tokens[range]), batch: size, length: length, training: true).logits
            let result = CrossEntropy.evaluate(logits: logits, labels: sliceLabels, classes: classes)
            try replica.backward(result.dLogits)
            let weight = Double(size) / Double(batch)
            loss += weight * result.loss
            right += zip(result.predictions, sliceLabels).filter { $0 == $1 }.count
            packed.append(buckets.pack(replica.parameters, scale: F(weight)))
        }
        try allReduce.allReduceSum(&packed)
        for (replica, reduced) in zip(replicas, packed) { buckets.unpack(reduced, into: replica.parameters) }
        return (loss, Double(right) / Double(labels.count))
    }

    /// ``computeGradients(tokens:labels:batch:length:classes:)``, then clipping and the optimiser
    /// step at `learningRate` on every replica.
    @discardableResult
    public func step(tokens: [Int], labels: [Int], batch: Int, length: Int, classes: Int,
                     learningRate: Double) throws -> (loss: Double, accuracy: Double) {
        let result = try computeGradients(tokens: tokens, labels: labels, batch: batch, length: length, classes: classes)
        for (replica, optimizer) in zip(replicas, optimizers) {
            if let gradientClip { clipGradientNorm(replica.parameters, maxNorm: gradientClip) }
            optimizer.learningRate = learningRate
            optimizer.update(replica.parameters)
        }
        return result
    }
}
