import FlashRNNCore

/// Device memory holding `count` elements of `dtype`; freed (stream-ordered) when released.
public final class CUDABuffer: DeviceBuffer, @unchecked Sendable {
    public let dtype: DType
    public let count: Int
    public let address: CUdeviceptr
    let runtime: CUDARuntime

    public var byteCount: Int { count * dtype.byteSize }
    public var deviceName: String { "cuda:\(runtime.device)" }

    /// When set, every new buffer is filled with NaN, so outputs a kernel never wrote show up
    /// in checks (`flashrnn check` sets it). Off by default: it costs a fill per allocation.
    nonisolated(unsafe) public static var poisonNewBuffers = false

    /// Uninitialised memory for `count` elements (NaN-filled under ``poisonNewBuffers``).
    public init(runtime: CUDARuntime, dtype: DType, count: Int) throws {
        self.runtime = runtime
        self.dtype = dtype
        self.count = count
        self.address = try runtime.allocate(bytes: count * dtype.byteSize)
        if CUDABuffer.poisonNewBuffers { try poison() }
    }

    deinit { runtime.free(address) }

    public func hostStorage() throws -> TensorStorage {
        try runtime.makeCurrent()
        switch dtype {
        case .float64:
            var a = [Double](repeating: 0, count: count)
            try a.withUnsafeMutableBytes { try runtime.download(address, to: $0.baseAddress!, bytes: byteCount) }
            return .float64(a)
        case .float32:
            var a = [Float](repeating: 0, count: count)
            try a.withUnsafeMutableBytes { try runtime.download(address, to: $0.baseAddress!, bytes: byteCount) }
            return .float32(a)
        case .float16:
            var a = [Float16](repeating: 0, count: count)
            try a.withUnsafeMutableBytes { try runtime.download(address, to: $0.baseAddress!, bytes: byteCount) }
            return .float16(a)
        case .bfloat16:
            var a = [BFloat16](repeating: BFloat16(Float(0)), count: count)
            try a.withUnsafeMutableBytes { try runtime.download(address, to: $0.baseAddress!, bytes: byteCount) }
            return .bfloat16(a)
        }
    }

    /// Fills the buffer with NaN (float32/float16/bfloat16 bit patterns), so unwritten elements show.
    public func poison() throws {
        switch dtype {
        case .float32: try runtime.fill32(address, pattern: 0x7fc0_0000, count: count)
        case .float16: try runtime.fill32(address, pattern: 0x7e00_7e00, count: (byteCount + 3) / 4)
        case .bfloat16: try runtime.fill32(address, pattern: 0x7fc0_7fc0, count: (byteCount + 3) / 4)
        case .float64: try runtime.fill32(address, pattern: 0x7ff8_0000, count: byteCount / 4)
        }
    }
}

extension TensorStorage {
    /// Runs `body` with the raw bytes of host storage.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch self {
        case .float64(let a): return try a.withUnsafeBytes(body)
        case .float32(let a): return try a.withUnsafeBytes(body)
        case .float16(let a): return try a.withUnsafeBytes(body)
        case .bfloat16(let a): return try a.withUnsafeBytes(body)
        case .device: preconditionFailure("device storage has no host bytes")
        }
    }
}

extension Tensor {
    /// This tensor in device memory as `dtype` (converted on the host first when needed).
    /// A tensor already on the device in `dtype` is returned unchanged.
    public func onDevice(_ dtype: DType? = nil, runtime: CUDARuntime? = nil) throws -> Tensor {
        let dtype = dtype ?? self.dtype
        if case .device(let buffer) = storage, buffer.dtype == dtype, buffer is CUDABuffer { return self }
        let runtime = try runtime ?? CUDARuntime.get()
        try runtime.makeCurrent()
        let host = try converted(to: dtype).storage
        let buffer = try CUDABuffer(runtime: runtime, dtype: dtype, count: count)
        try host.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { try runtime.upload(base, to: buffer.address, bytes: bytes.count) }
        }
        // Pageable uploads return once the source is staged, so the host array may go away now.
        return Tensor(shape: shape, storage: .device(buffer))
    }

    /// A host copy (a host tensor is returned unchanged).
    public func onHost() throws -> Tensor {
        Tensor(shape: shape, storage: try hostStorage())
    }

    /// The CUDA buffer behind a device tensor, or nil for host tensors.
    public var cudaBuffer: CUDABuffer? {
        if case .device(let buffer) = storage { return buffer as? CUDABuffer }
        return nil
    }
}
