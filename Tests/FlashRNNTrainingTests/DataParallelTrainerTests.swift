import FlashRNN
@testable import FlashRNNTraining
import Testing

/// The data-parallel training loop against ``Trainer`` (CPU backend, simulated all-reduce), the
/// `--gpus` refusals, and the known-sum check that `flashrnn nccl-check` runs through NCCL.
@Suite struct DataParallelTrainerTests {
    static func options(_ cell: ModelCell, batch: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.cell = cell
        options.hidden = 8
        options.heads = cell == .linear ? 1 : 2
        options.steps = 6
        options.batch = batch
        options.trainLengths = 3...9
        options.backend = .cpu
        options.seed = 4
        return options
    }

    /// One replica through the data-parallel step is the plain trainer, bit for bit: the slice is
    /// the whole batch (weight 1), and the sum over one rank returns its input.
    @Test(arguments: [ModelCell.lstm, .slstm, .gru, .elman, .linear])
    func oneReplicaIsBitwiseThePlainTrainer(_ cell: ModelCell) throws {
        let options = Self.options(cell, batch: 5)
        let plain = try Trainer(options: options)
        let parallel = try DataParallelTrainer(options: options, allReduce: SimulatedAllReduce(replicas: 1))
        for index in 0..<options.steps {
            let a = try plain.step(index), b = try parallel.step(index)
            #expect(a.loss == b.loss && a.accuracy == b.accuracy, "step \(index)")
        }
        for (p, q) in zip(plain.model.parameters, parallel.model.parameters) { #expect(p.value == q.value, "\(p.name)") }
        #expect(plain.optimizer.step == parallel.optimizer.step)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var cell: ModelCell, replicas: Int, batch: Int
        var testDescription: String { "\(cell) R=\(replicas) B=\(batch)" }
    }

    /// Several replicas on slices of the same global batch: the same training as one model up to
    /// float32 rounding (the slices' gradients are summed in another order).
    @Test(arguments: [Case(cell: .lstm, replicas: 2, batch: 6), Case(cell: .lstm, replicas: 3, batch: 7),
                      Case(cell: .gru, replicas: 2, batch: 5), Case(cell: .linear, replicas: 3, batch: 7)])
    func replicasTrainLikeOneModelOnTheGlobalBatch(_ c: Case) throws {
        let options = Self.options(c.cell, batch: c.batch)
        let plain = try Trainer(options: options)
        let parallel = try DataParallelTrainer(options: options, allReduce: SimulatedAllReduce(replicas: c.replicas),
                                               bucketBytes: 512)
        for index in 0..<options.steps {
            let a = try plain.step(index), b = try parallel.step(index)
            #expect(abs(a.loss - b.loss) <= 1e-5 * abs(a.loss), "step \(index): loss \(a.loss) vs \(b.loss)")
            #expect(a.accuracy == b.accuracy, "step \(index)")
        }
        for (p, q) in zip(plain.model.parameters, parallel.model.parameters) {
            let scale = p.value.reduce(Float(0)) { max($0, abs($1)) }
            let difference = zip(p.value, q.value).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            #expect(difference <= 1e-5 * scale, "\(p.name): max difference \(difference), scale \(scale)")
        }
        for replica in parallel.parallel.replicas.dropFirst() {
            for (p, q) in zip(replica.parameters, parallel.model.parameters) { #expect(p.value == q.value) }
        }
    }

    struct Missing: Error, CustomStringConvertible { var description: String }

    @Test func gpuRequestsNameWhatIsMissing() {
        let ok = Result<String, any Error>.success("2.27.3")
        #expect(MultiGPURequest.refusal(gpus: 1, devices: .success(1), nccl: ok) == nil)
        #expect(MultiGPURequest.refusal(gpus: 0, devices: .success(1), nccl: ok) == "--gpus must be at least 1, got 0")
        let noCUDA = MultiGPURequest.refusal(gpus: 2, devices: .failure(Missing(description: "could not load libcuda")), nccl: ok)
        #expect(noCUDA == "--gpus 2 needs CUDA, which is unavailable: could not load libcuda")
        let tooFew = MultiGPURequest.refusal(gpus: 4, devices: .success(1), nccl: ok)
        #expect(tooFew == "--gpus 4 asks for 4 GPUs; this machine has 1. Use --gpus 1 or fewer")
        let noNCCL = MultiGPURequest.refusal(gpus: 1, devices: .success(1), nccl: .failure(Missing(description: "could not load libnccl")))
        #expect(noNCCL == "--gpus 1 needs NCCL (libnccl.so.2) to all-reduce the gradients: could not load libnccl")
        // Enough GPUs and NCCL, but the backends run on device 0 only: refused by name.
        let several = MultiGPURequest.refusal(gpus: 2, devices: .success(8), nccl: ok) ?? ""
        #expect(several.hasPrefix("--gpus 2: training over several GPUs is not built yet"), "\(several)")
        #expect(several.contains("device 0 only"), "\(several)")
    }

    @Test(arguments: [1, 2, 3])
    func knownSumsAreExactThroughTheSimulatedAllReduce(ranks: Int) throws {
        #expect(try NCCLKnownSumCheck.mismatch(SimulatedAllReduce(replicas: ranks), as: Float.self) == nil)
        #expect(try NCCLKnownSumCheck.mismatch(SimulatedAllReduce(replicas: ranks), as: Double.self) == nil)
    }

    /// An all-reduce that leaves the buffers as they are is caught once there is more than one rank.
    @Test func theKnownSumCheckCatchesAMissingSum() throws {
        struct Identity: GradientAllReduce {
            var replicas: Int
            func allReduceSum<F: CellScalar>(_ buckets: inout [[[F]]]) throws {}
        }
        let found = try NCCLKnownSumCheck.mismatch(Identity(replicas: 2), as: Float.self)
        #expect(found == "rank 0 bucket 0 element 0: got 1.0, expected 3.0")
    }
}
