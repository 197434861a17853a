import FlashRNN

/// ``GradientAllReduce`` through NCCL: replica r's buckets are summed on device r.
///
/// The gradients are host arrays (the projection and read-out of the layers run on the CPU), so
/// each sum stages through device memory: copy in, all-reduce, copy out (``NCCLCommunicator``).
/// float32 and float64 gradients are reduced in their own precision; other element types are refused.
public struct NCCLGradientAllReduce: GradientAllReduce {
    public let communicator: NCCLCommunicator
    public var replicas: Int { communicator.ranks }

    public init(communicator: NCCLCommunicator) {
        self.communicator = communicator
    }

    public func allReduceSum<F: CellScalar>(_ buckets: inout [[[F]]]) throws {
        if F.self == Float.self {
            var typed = unsafeBitCast(buckets, to: [[[Float]]].self)
            buckets = []  // keeps the arrays uniquely referenced, so the copy back is not a second copy
            try communicator.allReduceSum(&typed)
            buckets = unsafeBitCast(typed, to: [[[F]]].self)
        } else if F.self == Double.self {
            var typed = unsafeBitCast(buckets, to: [[[Double]]].self)
            buckets = []
            try communicator.allReduceSum(&typed)
            buckets = unsafeBitCast(typed, to: [[[F]]].self)
        } else {
            throw TrainingError.invalidConfig("NCCL all-reduce: gradients of \(F.self) are not supported; train in float32 or float64")
        }
    }
}
