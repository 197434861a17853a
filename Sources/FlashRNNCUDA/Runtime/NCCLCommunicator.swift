import FlashRNNCore
import Foundation

/// NCCL communicators over the first R devices of this process, with one device staging buffer
/// per rank, for summing host arrays across ranks.
///
/// One process drives every GPU (rank r on device r, communicators from `ncclCommInitAll`), so no
/// unique id travels between processes and no launcher is needed. Rank r uses device r's primary
/// context and that runtime's stream, the stream its backend work is ordered on.
///
/// The training layers hand over gradients as host arrays (the projection and read-out run on the
/// CPU), so a sum is: copy each rank's buckets into its staging buffer, one in-place
/// `ncclAllReduce` per bucket for every rank inside one NCCL group, copy back.
public final class NCCLCommunicator: @unchecked Sendable {
    public let nccl: NCCLAPI
    /// `runtimes[r]`: device r (device 0 is the shared runtime the backends use).
    public let runtimes: [CUDARuntime]
    let comms: [NCCLAPI.Comm]
    /// Per rank, grown to the largest sum asked for; float64 buffers hold float32 sums too.
    private var staging: [CUDABuffer?]
    /// Guards `staging` and the NCCL group: one sum at a time.
    private let lock = NSLock()

    public var ranks: Int { runtimes.count }

    /// When false, each sum reads the staged buckets and writes a second, NaN-filled region: with
    /// one rank an in-place sum is the identity whether or not NCCL ran, so checks use this to
    /// see NCCL's result written. Training keeps it true (half the staging memory, no fill).
    public var inPlace = true

    /// CUDA devices this process can see, or the reason CUDA is unavailable (thrown).
    public static func deviceCount() throws -> Int {
        let runtime = try CUDARuntime.get()
        var count: Int32 = 0
        try runtime.driver.check(runtime.driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        return Int(count)
    }

    /// Communicators over devices 0..<`ranks`.
    public init(ranks: Int, nccl: NCCLAPI) throws {
        precondition(ranks >= 1, "at least one rank")
        let available = try Self.deviceCount()
        guard available >= ranks else {
            throw NCCLError(call: "ncclCommInitAll", code: 4, message: "invalid argument: \(ranks) ranks asked, \(available) CUDA devices found")
        }
        var runtimes = [try CUDARuntime.get()]
        for device in 1..<max(1, ranks) { runtimes.append(try CUDARuntime(device: Int32(device))) }
        self.nccl = nccl
        self.runtimes = runtimes
        comms = try nccl.communicators(devices: runtimes.map(\.device))
        staging = Array(repeating: nil, count: ranks)
    }

    deinit {
        for comm in comms { try? nccl.destroy(comm) }
    }

    /// Sums `buckets[r][k]` over r in place: afterwards every rank's bucket k holds the sum.
    public func allReduceSum(_ buckets: inout [[[Float]]]) throws {
        try allReduceSum(&buckets, dtype: .float32, dataType: NCCLAPI.float32)
    }

    public func allReduceSum(_ buckets: inout [[[Double]]]) throws {
        try allReduceSum(&buckets, dtype: .float64, dataType: NCCLAPI.float64)
    }

    private func allReduceSum<T: BitwiseCopyable>(_ buckets: inout [[[T]]], dtype: DType, dataType: Int32) throws {
        guard buckets.count == ranks else {
            throw NCCLError(call: "ncclAllReduce", code: 4,
                            message: "invalid argument: buckets of \(buckets.count) ranks for \(ranks) communicators")
        }
        let sizes = buckets[0].map(\.count)
        for rank in buckets where rank.map(\.count) != sizes {
            throw NCCLError(call: "ncclAllReduce", code: 4, message: "invalid argument: bucket sizes differ between ranks")
        }
        let total = sizes.reduce(0, +)
        guard total > 0 else { return }
        let elementBytes = MemoryLayout<T>.stride
        lock.lock(); defer { lock.unlock() }

        // The result region: the staged buckets themselves, or the 8-byte aligned region after them.
        let resultOffset = inPlace ? 0 : (total * elementBytes + 7) / 8 * 8
        let neededBytes = resultOffset + total * elementBytes

        // Copy in: one upload per rank of its buckets laid end to end.
        var buffers: [CUDABuffer] = []
        for (r, runtime) in runtimes.enumerated() {
            try runtime.makeCurrent()
            if staging[r] == nil || staging[r]!.byteCount < neededBytes {
                staging[r] = try CUDABuffer(runtime: runtime, dtype: .float64, count: (neededBytes + 7) / 8)
            }
            let buffer = staging[r]!
            let flat = Array(buckets[r].joined())
            try flat.withUnsafeBytes { try runtime.upload($0.baseAddress!, to: buffer.address, bytes: $0.count) }
            if !inPlace { try runtime.fill32(buffer.address + UInt64(resultOffset), pattern: 0x7fc0_0000, count: neededBytes / 4 - resultOffset / 4) }
            buffers.append(buffer)
        }
        // One group for every rank and bucket: a single thread may drive all ranks only inside a group.
        try nccl.groupStart()
        var failure: (any Error)?
        outer: for (r, runtime) in runtimes.enumerated() {
            var offset = 0
            for size in sizes {
                do {
                    let source = buffers[r].address + UInt64(offset * elementBytes)
                    try nccl.allReduceSum(source, into: source + UInt64(resultOffset), count: size,
                                          dataType: dataType, comm: comms[r], stream: runtime.stream)
                } catch { failure = error; break outer }
                offset += size
            }
        }
        try nccl.groupEnd()
        if let failure { throw failure }
        // Copy out (each download waits for its stream, so for that rank's all-reduce).
        for (r, runtime) in runtimes.enumerated() {
            try runtime.makeCurrent()
            var flat = [T](unsafeUninitializedCapacity: total) { _, count in count = total }
            try flat.withUnsafeMutableBytes {
                try runtime.download(buffers[r].address + UInt64(resultOffset), to: $0.baseAddress!, bytes: $0.count)
            }
            var offset = 0
            for (k, size) in sizes.enumerated() {
                buckets[r][k] = Array(flat[offset..<(offset + size)])
                offset += size
            }
        }
    }
}
