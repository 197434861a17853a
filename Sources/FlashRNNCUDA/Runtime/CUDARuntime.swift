import Foundation

/// What the GPU reports about itself (issue 3, point 2).
public struct DeviceProperties: Sendable, CustomStringConvertible {
    public var name: String
    public var computeCapability: (major: Int, minor: Int)
    public var multiprocessors: Int
    public var registersPerMultiprocessor: Int
    public var registersPerBlock: Int
    public var sharedMemoryPerMultiprocessor: Int
    public var sharedMemoryPerBlock: Int
    public var sharedMemoryPerBlockOptIn: Int
    public var l2CacheBytes: Int
    public var supportsClusters: Bool
    public var totalMemory: Int
    public var driverVersion: String

    /// The NVRTC target for this device: `sm_90a` on Hopper (wgmma, setmaxnreg), else `sm_XY`.
    public var architecture: String {
        let base = "sm_\(computeCapability.major)\(computeCapability.minor)"
        return computeCapability.major == 9 && computeCapability.minor == 0 ? base + "a" : base
    }

    public var description: String {
        """
        \(name), compute capability \(computeCapability.major).\(computeCapability.minor) (\(architecture)), \
        \(multiprocessors) SMs, \(registersPerMultiprocessor) registers/SM (\(registersPerBlock)/block), \
        shared memory \(sharedMemoryPerMultiprocessor / 1024) KiB/SM (\(sharedMemoryPerBlock / 1024) KiB/block, \
        \(sharedMemoryPerBlockOptIn / 1024) KiB opt-in), L2 \(l2CacheBytes / (1024 * 1024)) MiB, \
        clusters \(supportsClusters ? "yes" : "no"), memory \(totalMemory / (1 << 20)) MiB, driver \(driverVersion)
        """
    }
}

/// The CUDA driver, the device's primary context and one stream, loaded on first use.
///
/// Every call is checked (``CUDAError`` names the call, error name and message). The
/// libraries are never unloaded. All work goes to ``stream``; host-visible results are
/// synchronised explicitly.
public final class CUDARuntime: @unchecked Sendable {
    let driver: DriverAPI
    let context: CUhandle?
    /// The stream every backend uses, so work on it is ordered.
    let stream: CUhandle?
    public let device: Int32
    public let properties: DeviceProperties
    /// Serialises host-side state (module cache, graph cache) of this runtime.
    let lock = NSLock()
    /// Loaded modules by cache key (guarded by `lock`).
    var loadedModules: [String: [String: Kernel]] = [:]
    /// The same modules by their spec (guarded by `lock`): a lookup without hashing every source.
    var loadedSpecs: [KernelModuleSpec: [String: Kernel]] = [:]
    /// The compiler for this device's architecture, created on first use (guarded by `lock`).
    var compilerStorage: KernelCompiler?
    /// Instantiated graphs by plan key (guarded by `lock`).
    var graphs: [String: CUDAGraph] = [:]

    /// The runtime of device 0, or why there is none. Evaluated once.
    public static let shared: Result<CUDARuntime, CUDAError> = {
        if ProcessInfo.processInfo.environment["FLASHRNN_DISABLE_CUDA"] == "1" { return .failure(.disabled) }
        do { return .success(try CUDARuntime(device: 0)) } catch let error as CUDAError {
            return .failure(error)
        } catch {
            return .failure(.driver(call: "initialisation", code: -1, name: "unknown", message: "\(error)", detail: ""))
        }
    }()

    /// The shared runtime or the reason it is unavailable, thrown. The first call also prepares
    /// what later calls would otherwise wait for once per process (`prepared`).
    public static func get() throws -> CUDARuntime {
        let runtime = try shared.get()
        _ = prepared
        return runtime
    }

    /// Once per process, on the first `get()`: dlopen NVRTC and cuBLAS (with cuBLASLt ≈ 55 ms on
    /// the H200), create the cuBLAS handle and let cuBLAS load its kernels (60–125 ms on a
    /// handle's first products), so neither a first forward nor a first backward of a new shape
    /// waits for them: they are part of the runtime's start (`gpu-bench --first-call` reports it
    /// as "runtime init"). Synchronous on purpose: loading them on another thread crashed the
    /// process now and then on the H200 (a library's initialisation racing the main thread).
    /// Either failing only makes the backends that need them unavailable, as before.
    private static let prepared: Void = {
        _ = NVRTCLibrary.shared
        _ = CUBLASContext.shared
    }()

    init(device ordinal: Int32) throws {
        let driver = try DriverAPI(try LoadedLibrary.open(.driver))
        try driver.check(driver.cuInit(0), "cuInit")
        var count: Int32 = 0
        try driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard count > ordinal else { throw CUDAError.noDevice }
        var device: Int32 = 0
        try driver.check(driver.cuDeviceGet(&device, ordinal), "cuDeviceGet")
        var context: CUhandle?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain")
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var stream: CUhandle?
        try driver.check(driver.cuStreamCreate(&stream, 1 /* CU_STREAM_NON_BLOCKING */), "cuStreamCreate")

        // Keep freed stream-ordered memory in the pool instead of returning it at every
        // synchronisation, so repeated calls of one shape do not pay for fresh allocations.
        if let getPool = try? driver.library.symbol("cuDeviceGetDefaultMemPool"),
           let setAttribute = try? driver.library.symbol("cuMemPoolSetAttribute") {
            typealias GetPool = @convention(c) (UnsafeMutablePointer<CUhandle?>, Int32) -> Int32
            typealias SetAttribute = @convention(c) (CUhandle?, Int32, UnsafeMutableRawPointer) -> Int32
            var pool: CUhandle?
            try driver.check(unsafeBitCast(getPool, to: GetPool.self)(&pool, device), "cuDeviceGetDefaultMemPool")
            var threshold = UInt64.max
            try driver.check(unsafeBitCast(setAttribute, to: SetAttribute.self)(pool, 4 /* RELEASE_THRESHOLD */, &threshold),
                             "cuMemPoolSetAttribute(CU_MEMPOOL_ATTR_RELEASE_THRESHOLD)")
        }
        func attribute(_ a: Int32) throws -> Int {
            var value: Int32 = 0
            try driver.check(driver.cuDeviceGetAttribute(&value, a, device), "cuDeviceGetAttribute(\(a))")
            return Int(value)
        }
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try driver.check(driver.cuDeviceGetName(&nameBuffer, 255, device), "cuDeviceGetName")
        var total = 0
        try driver.check(driver.cuDeviceTotalMem(&total, device), "cuDeviceTotalMem_v2")
        var version: Int32 = 0
        try driver.check(driver.cuDriverGetVersion(&version), "cuDriverGetVersion")
        properties = DeviceProperties(
            name: String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
            computeCapability: (try attribute(CUAttribute.computeCapabilityMajor), try attribute(CUAttribute.computeCapabilityMinor)),
            multiprocessors: try attribute(CUAttribute.multiprocessorCount),
            registersPerMultiprocessor: try attribute(CUAttribute.maxRegistersPerMultiprocessor),
            registersPerBlock: try attribute(CUAttribute.maxRegistersPerBlock),
            sharedMemoryPerMultiprocessor: try attribute(CUAttribute.maxSharedMemoryPerMultiprocessor),
            sharedMemoryPerBlock: try attribute(CUAttribute.maxSharedMemoryPerBlock),
            sharedMemoryPerBlockOptIn: try attribute(CUAttribute.maxSharedMemoryPerBlockOptin),
            l2CacheBytes: try attribute(CUAttribute.l2CacheSize),
            supportsClusters: (try? attribute(CUAttribute.clusterLaunch)) == 1,
            totalMemory: total,
            driverVersion: "\(version / 1000).\(version % 1000 / 10)"
        )
        self.driver = driver
        self.context = context
        self.stream = stream
        self.device = device
    }

    /// Binds the primary context to the calling thread; every entry point calls this first.
    public func makeCurrent() throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    /// Waits until the stream has finished all work.
    public func synchronize() throws {
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize",
                         "an earlier asynchronous launch or copy on this stream failed")
    }

    /// Free and total device memory in bytes.
    public func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try driver.check(driver.cuMemGetInfo(&free, &total), "cuMemGetInfo_v2")
        return (free, total)
    }

    // MARK: Memory

    /// Stream-ordered allocation; out of memory is a thrown ``CUDAError/outOfMemory(bytes:detail:)``.
    func allocate(bytes: Int) throws -> CUdeviceptr {
        var address: CUdeviceptr = 0
        // Rounded up to whole 8-byte words so 32-bit fills (NaN poisoning) of 16-bit buffers stay in bounds.
        let result = driver.cuMemAllocAsync(&address, max((bytes + 7) / 8 * 8, 8), stream)
        if result == CUAttribute.outOfMemory {
            let info = try? memoryInfo()
            throw CUDAError.outOfMemory(bytes: bytes, detail: info.map { "\($0.free) of \($0.total) bytes free" } ?? "")
        }
        try driver.check(result, "cuMemAllocAsync", "\(bytes) bytes")
        return address
    }

    func free(_ address: CUdeviceptr) {
        // Errors here would come from earlier asynchronous work; the next checked call reports them.
        _ = driver.cuMemFreeAsync(address, stream)
    }

    func upload(_ source: UnsafeRawPointer, to address: CUdeviceptr, bytes: Int) throws {
        try driver.check(driver.cuMemcpyHtoDAsync(address, source, bytes, stream), "cuMemcpyHtoDAsync_v2", "\(bytes) bytes")
    }

    /// Copies to the host and waits for the copy.
    func download(_ address: CUdeviceptr, to destination: UnsafeMutableRawPointer, bytes: Int) throws {
        try driver.check(driver.cuMemcpyDtoHAsync(destination, address, bytes, stream), "cuMemcpyDtoHAsync_v2", "\(bytes) bytes")
        try synchronize()
    }

    func copy(_ source: CUdeviceptr, to destination: CUdeviceptr, bytes: Int) throws {
        try driver.check(driver.cuMemcpyDtoDAsync(destination, source, bytes, stream), "cuMemcpyDtoDAsync_v2", "\(bytes) bytes")
    }

    /// Fills `count` 32-bit words with `pattern` (0x7fc00000 is a float NaN, used to poison outputs).
    func fill32(_ address: CUdeviceptr, pattern: UInt32, count: Int) throws {
        try driver.check(driver.cuMemsetD32Async(address, pattern, count, stream), "cuMemsetD32Async")
    }

    // MARK: Launch

    /// Launches `kernel` on the stream; a failure names the kernel, grid, block and shared memory.
    public func launch(_ kernel: Kernel, grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int = 0,
                       arguments: [any KernelArgument]) throws {
        try kernel.allowSharedMemory(sharedBytes)   // static + dynamic beyond 48 KiB needs the opt-in
        let storage = arguments.map { $0.boxed() }
        defer { storage.forEach { $0.deallocate() } }
        var pointers: [UnsafeMutableRawPointer?] = storage.map { $0 }
        let result = pointers.withUnsafeMutableBufferPointer { buffer in
            driver.cuLaunchKernel(kernel.function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2),
                                  UInt32(block.0), UInt32(block.1), UInt32(block.2), UInt32(sharedBytes), stream,
                                  buffer.baseAddress, nil)
        }
        try driver.check(result, "cuLaunchKernel",
                         "kernel \(kernel.name), grid \(grid), block \(block), shared memory \(sharedBytes) bytes")
    }

    // MARK: Graphs

    /// Records the launches `body` makes on the stream into a graph, instantiated once.
    public func captureGraph(label: String = "graph", _ body: () throws -> Void) throws -> CUDAGraph {
        try driver.check(driver.cuStreamBeginCapture(stream, 2 /* relaxed */), "cuStreamBeginCapture_v2")
        var graph: CUhandle?
        do {
            try HostTrace.measure("\(label): capture") { try body() }
        } catch {
            _ = driver.cuStreamEndCapture(stream, &graph)
            if graph != nil { _ = driver.cuGraphDestroy(graph) }
            throw error
        }
        try driver.check(driver.cuStreamEndCapture(stream, &graph), "cuStreamEndCapture")
        var exec: CUhandle?
        let result = HostTrace.measure("\(label): instantiate") { driver.cuGraphInstantiateWithFlags(&exec, graph, 0) }
        _ = driver.cuGraphDestroy(graph)
        try driver.check(result, "cuGraphInstantiateWithFlags")
        return CUDAGraph(exec: exec)
    }

    public func launch(_ graph: CUDAGraph) throws {
        try driver.check(driver.cuGraphLaunch(graph.exec, stream), "cuGraphLaunch")
    }
}

/// An instantiated CUDA graph; kept for the life of the process (graphs are cached per shape).
public final class CUDAGraph: @unchecked Sendable {
    let exec: CUhandle?
    init(exec: CUhandle?) { self.exec = exec }
}

/// A value passed to a kernel by value (`cuLaunchKernel` takes pointers to each argument).
public protocol KernelArgument {
    func boxed() -> UnsafeMutableRawPointer
}

extension KernelArgument {
    public func boxed() -> UnsafeMutableRawPointer {
        let box = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Self>.size, alignment: MemoryLayout<Self>.alignment)
        box.storeBytes(of: self, as: Self.self)
        return box
    }
}

extension Int32: KernelArgument {}
extension UInt64: KernelArgument {}
extension Float: KernelArgument {}

/// Times work on the runtime's stream with CUDA events.
public final class CUDAEventPair {
    let runtime: CUDARuntime
    var start: CUhandle?
    var stop: CUhandle?

    public init(_ runtime: CUDARuntime) throws {
        self.runtime = runtime
        try runtime.driver.check(runtime.driver.cuEventCreate(&start, 0), "cuEventCreate")
        try runtime.driver.check(runtime.driver.cuEventCreate(&stop, 0), "cuEventCreate")
    }

    deinit {
        _ = runtime.driver.cuEventDestroy(start)
        _ = runtime.driver.cuEventDestroy(stop)
    }

    /// Records the start event on the runtime's stream.
    public func recordStart() throws {
        try runtime.driver.check(runtime.driver.cuEventRecord(start, runtime.stream), "cuEventRecord")
    }

    /// Records the stop event, waits for it, and returns the milliseconds since ``recordStart()``.
    public func stopAndElapsed() throws -> Double {
        try runtime.driver.check(runtime.driver.cuEventRecord(stop, runtime.stream), "cuEventRecord")
        try runtime.driver.check(runtime.driver.cuEventSynchronize(stop), "cuEventSynchronize")
        var ms: Float = 0
        try runtime.driver.check(runtime.driver.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime")
        return Double(ms)
    }

    /// Milliseconds of stream time between recording before and after `body`.
    public func milliseconds(_ body: () throws -> Void) throws -> Double {
        try runtime.driver.check(runtime.driver.cuEventRecord(start, runtime.stream), "cuEventRecord")
        try body()
        try runtime.driver.check(runtime.driver.cuEventRecord(stop, runtime.stream), "cuEventRecord")
        try runtime.driver.check(runtime.driver.cuEventSynchronize(stop), "cuEventSynchronize")
        var ms: Float = 0
        try runtime.driver.check(runtime.driver.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime")
        return Double(ms)
    }
}
