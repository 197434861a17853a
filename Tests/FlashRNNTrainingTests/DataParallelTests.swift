import FlashRNN
@testable import FlashRNNTraining
import Testing

/// Data-parallel gradient averaging against a single-replica run on the same global batch,
/// through the in-process simulated all-reduce (no GPU needed).
@Suite struct DataParallelTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var cell: ModelCell, replicas: Int, batch: Int, bucketBytes: Int
        var testDescription: String { "\(cell) R=\(replicas) B=\(batch) bucket=\(bucketBytes)B" }
    }

    // B=7 over 2 and 3 replicas gives unequal slices (4+3, 3+2+2); a small bucket budget forces
    // several buckets and parameters larger than a bucket.
    static let cases: [Case] = [ModelCell.lstm, .gru, .linear].flatMap { cell in [
        Case(cell: cell, replicas: 1, batch: 6, bucketBytes: 1 << 20),
        Case(cell: cell, replicas: 2, batch: 6, bucketBytes: 256),
        Case(cell: cell, replicas: 2, batch: 7, bucketBytes: 1 << 20),
        Case(cell: cell, replicas: 3, batch: 7, bucketBytes: 256),
        Case(cell: cell, replicas: 3, batch: 3, bucketBytes: 64),
    ] }

    static func model(_ cell: ModelCell) throws -> SequenceModel<Double> {
        let task = StateTrackingTask.modularSum
        let config = ModelConfig(cell: cell, vocabulary: task.vocabulary, classes: task.classes, hidden: 6, heads: 2, layers: 2)
        return try SequenceModel<Double>(config: config, backend: .cpu, seed: 11)
    }

    /// max |a − b| / max |b| over the whole tensor: a relative error that stays meaningful for
    /// entries that are near zero.
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        let scale = b.reduce(0) { max($0, abs($1)) }
        let difference = zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
        return scale == 0 ? difference : difference / scale
    }

    @Test(arguments: cases)
    func matchesSingleReplicaOnTheGlobalBatch(_ c: Case) throws {
        let task = StateTrackingTask.modularSum
        let reference = try Self.model(c.cell)
        let referenceOptimizer = AdamW<Double>(learningRate: 0.05, weightDecay: 0.1)
        // Replicas built with another seed: the broadcast from replica 0 must make them equal.
        var replicas = [try Self.model(c.cell)]
        for r in 1..<c.replicas {
            replicas.append(try SequenceModel<Double>(config: replicas[0].config, backend: .cpu, seed: 100 + UInt64(r)))
        }
        let parallel = try DataParallelStep(replicas: replicas,
                                            optimizers: replicas.map { _ in AdamW<Double>(learningRate: 0.05, weightDecay: 0.1) },
                                            allReduce: SimulatedAllReduce(replicas: c.replicas),
                                            bucketBytes: c.bucketBytes, gradientClip: 1.0)
        var rng = SplitMix64.stream(5, 3)
        for step in 0..<4 {
            let length = 3 + step
            let data = task.batch(size: c.batch, length: length, rng: &rng)
            let learningRate = 0.05 / Double(step + 1)

            reference.zeroGradients()
            let logits = try reference.forward(tokens: data.tokens, batch: c.batch, length: length, training: true).logits
            let expected = CrossEntropy.evaluate(logits: logits, labels: data.labels, classes: task.classes)
            try reference.backward(expected.dLogits)

            let got = try parallel.computeGradients(tokens: data.tokens, labels: data.labels, batch: c.batch,
                                                    length: length, classes: task.classes)
            #expect(abs(got.loss - expected.loss) <= 1e-12 * abs(expected.loss), "step \(step) loss")
            let right = zip(expected.predictions, data.labels).filter { $0 == $1 }.count
            #expect(got.accuracy == Double(right) / Double(data.labels.count), "step \(step) accuracy")
            for replica in parallel.replicas {
                for (p, q) in zip(replica.parameters, reference.parameters) {
                    let error = Self.relativeError(p.gradient, q.gradient)
                    #expect(error <= 1e-12, "step \(step) gradient \(p.name): relative error \(error)")
                }
            }

            // The same clipping and optimiser step on both sides.
            clipGradientNorm(reference.parameters, maxNorm: 1.0)
            referenceOptimizer.learningRate = learningRate
            referenceOptimizer.update(reference.parameters)
            for (replica, optimizer) in zip(parallel.replicas, parallel.optimizers) {
                clipGradientNorm(replica.parameters, maxNorm: 1.0)
                optimizer.learningRate = learningRate
                optimizer.update(replica.parameters)
            }
            for replica in parallel.replicas {
                for (p, q) in zip(replica.parameters, reference.parameters) {
                    let error = Self.relativeError(p.value, q.value)
                    #expect(error <= 1e-12, "step \(step) parameter \(p.name): relative error \(error)")
                }
            }
            // Replicas stay bit-identical to each other: they stepped on the same reduced gradient.
            for replica in parallel.replicas.dropFirst() {
                for (p, q) in zip(replica.parameters, parallel.replicas[0].parameters) { #expect(p.value == q.value) }
            }
        }
    }

    @Test func stepEqualsComputeGradientsThenClipAndUpdate() throws {
        let task = StateTrackingTask.modularSum
        func make() throws -> DataParallelStep<Double> {
            let replicas = [try Self.model(.lstm), try Self.model(.lstm)]
            return try DataParallelStep(replicas: replicas, optimizers: [AdamW<Double>(learningRate: 0.05), AdamW<Double>(learningRate: 0.05)],
                                        allReduce: SimulatedAllReduce(replicas: 2), gradientClip: 0.5)
        }
        let a = try make(), b = try make()
        var rng = SplitMix64.stream(9, 1)
        let data = task.batch(size: 5, length: 4, rng: &rng)
        try a.step(tokens: data.tokens, labels: data.labels, batch: 5, length: 4, classes: task.classes, learningRate: 0.02)
        try b.computeGradients(tokens: data.tokens, labels: data.labels, batch: 5, length: 4, classes: task.classes)
        for (replica, optimizer) in zip(b.replicas, b.optimizers) {
            clipGradientNorm(replica.parameters, maxNorm: 0.5)
            optimizer.learningRate = 0.02
            optimizer.update(replica.parameters)
        }
        for (x, y) in zip(a.replicas, b.replicas) {
            for (p, q) in zip(x.parameters, y.parameters) { #expect(p.value == q.value) }
        }
    }

    @Test func sliceSizesCoverTheBatchWithTheRemainderFirst() {
        #expect(DataParallelStep<Double>.sliceSizes(batch: 7, replicas: 3) == [3, 2, 2])
        #expect(DataParallelStep<Double>.sliceSizes(batch: 8, replicas: 2) == [4, 4])
        #expect(DataParallelStep<Double>.sliceSizes(batch: 5, replicas: 1) == [5])
    }

    @Test func aBatchSmallerThanTheReplicaCountIsRejected() throws {
        let replicas = [try Self.model(.gru), try Self.model(.gru), try Self.model(.gru)]
        let parallel = try DataParallelStep(replicas: replicas, optimizers: replicas.map { _ in AdamW<Double>() },
                                            allReduce: SimulatedAllReduce(replicas: 3))
        #expect(throws: TrainingError.self) {
            try parallel.computeGradients(tokens: [0, 1], labels: [0, 1], batch: 2, length: 1, classes: 5)
        }
    }

    @Test(arguments: [8, 40, 256, 1 << 20])
    func bucketingRoundTripsExactly(budgetBytes: Int) throws {
        let model = try Self.model(.lstm)
        var rng = SplitMix64.stream(3, 7)
        for p in model.parameters { p.gradient = p.gradient.map { _ in rng.uniform(-1, 1) } }
        let original = model.parameters.map(\.gradient)
        let layout = GradientBuckets(parameters: model.parameters, budgetBytes: budgetBytes)
        // Every element lands in exactly one bucket, and no bucket holding several parameters
        // exceeds the budget.
        #expect(layout.sizes.reduce(0, +) == model.parameterCount)
        #expect(layout.slots.flatMap { $0.map(\.parameter) }.sorted() == Array(model.parameters.indices))
        for (bucket, size) in zip(layout.slots, layout.sizes) where bucket.count > 1 {
            #expect(size * MemoryLayout<Double>.stride <= budgetBytes)
        }
        // The read-out (last parameter) goes first: its gradient is ready first in backward.
        #expect(layout.slots[0][0].parameter == model.parameters.count - 1)
        let buckets = layout.pack(model.parameters)
        for p in model.parameters { p.zeroGradient() }
        layout.unpack(buckets, into: model.parameters)
        #expect(model.parameters.map(\.gradient) == original)
    }

    @Test func simulatedAllReduceSumsAcrossReplicasInPlace() throws {
        var buckets: [[[Float]]] = [[[1, 2], [3]], [[10, 20], [30]], [[100, 200], [300]]]
        try SimulatedAllReduce(replicas: 3).allReduceSum(&buckets)
        #expect(buckets == Array(repeating: [[111, 222], [333]], count: 3))
        var mismatched: [[[Float]]] = [[[1, 2]], [[1]]]
        #expect(throws: TrainingError.self) { try SimulatedAllReduce(replicas: 2).allReduceSum(&mismatched) }
    }
}
