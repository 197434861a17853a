import FlashRNN

/// Sums gradient buckets across replicas, in place: afterwards every replica's bucket `k` holds
/// the element-wise sum of all replicas' buckets `k`.
///
/// The call takes every replica's buckets at once because the planned GPU path is one process
/// driving all GPUs of a host (one thread and stream per GPU, communicators from
/// `ncclCommInitAll`, the per-GPU `ncclAllReduce` calls inside one `ncclGroupStart`/`ncclGroupEnd`):
/// no launcher, no rendezvous, and the same model code as the single-GPU run.
/// Float32 is what training reduces; the element type is generic so float64 models can be
/// checked exactly on the CPU.
public protocol GradientAllReduce {
    /// The number of replicas the collective spans.
    var replicas: Int { get }
    /// - Parameter buckets: `[replica][bucket][element]`; the same bucket sizes on every replica.
    func allReduceSum<F: CellScalar>(_ buckets: inout [[[F]]]) throws
}

/// An in-process stand-in for NCCL: the replicas are model copies in one process, so the
/// gradient-averaging logic can be tested without GPUs.
public struct SimulatedAllReduce: GradientAllReduce {
    public let replicas: Int

    public init(replicas: Int) {
        precondition(replicas >= 1, "at least one replica")
        self.replicas = replicas
    }

    public func allReduceSum<F: CellScalar>(_ buckets: inout [[[F]]]) throws {
        guard buckets.count == replicas else {
            throw TrainingError.invalidConfig("all-reduce over \(replicas) replicas got buckets of \(buckets.count)")
        }
        let sizes = buckets[0].map(\.count)
        for replica in buckets where replica.map(\.count) != sizes {
            throw TrainingError.invalidConfig("all-reduce: bucket sizes differ between replicas")
        }
        // Summed in replica order, then copied to all, so every replica ends bit-identical
        // (as NCCL guarantees for its result).
        for k in sizes.indices {
            var total = buckets[0][k]
            for r in 1..<replicas {
                for i in total.indices { total[i] += buckets[r][k][i] }
            }
            for r in 0..<replicas { buckets[r][k] = total }
        }
    }
}
