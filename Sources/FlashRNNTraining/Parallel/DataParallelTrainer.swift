import FlashRNN
import RealModule

/// ``Trainer``'s loop over R replicas through ``DataParallelStep``: the same batches, learning-rate
/// schedule, clipping and AdamW for the same options and seed, with each global batch split over
/// the replicas and the gradients summed by `allReduce`. With one replica and any all-reduce that
/// returns its input, every step is bitwise the one ``Trainer`` takes.
///
/// The replicas run one after another on the calling thread. The design for several GPUs is one
/// thread per replica, each with device r's context current (a CUDA context is current per thread,
/// and a replica's forward/backward would then run concurrently with the others), the all-reduce
/// issued from one thread inside one NCCL group. That waits on the recurrent backends taking a
/// device (today they use device 0's shared runtime), see ``MultiGPURequest``.
public final class DataParallelTrainer: TrainingLoop {
    public let options: TrainingOptions
    public let parallel: DataParallelStep<Float>
    public var model: SequenceModel<Float> { parallel.replicas[0] }
    public var optimizer: AdamW<Float> { parallel.optimizers[0] }
    private var rng: SplitMix64

    /// - Parameter bucketBytes: the gradient bucket budget (25 MiB by default).
    public init(options: TrainingOptions, allReduce: any GradientAllReduce, bucketBytes: Int = 25 << 20) throws {
        self.options = options
        let replicas = try (0..<allReduce.replicas).map { _ in
            try SequenceModel<Float>(config: options.modelConfig, backend: options.backend, seed: options.seed)
        }
        let optimizers = replicas.map { _ in AdamW<Float>(learningRate: options.learningRate, weightDecay: options.weightDecay) }
        parallel = try DataParallelStep(replicas: replicas, optimizers: optimizers, allReduce: allReduce,
                                        bucketBytes: bucketBytes, gradientClip: options.gradientClip)
        rng = SplitMix64.stream(options.seed, 2)
    }

    public func step(_ index: Int) throws -> (loss: Double, accuracy: Double) {
        let data = options.batch(at: index, rng: &rng)
        return try parallel.step(tokens: data.tokens, labels: data.labels, batch: options.batch, length: data.length,
                                 classes: options.task.classes, learningRate: options.learningRate(at: index))
    }
}
