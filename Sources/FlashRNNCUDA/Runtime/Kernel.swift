import Foundation

/// A kernel function in a loaded module.
public final class Kernel: @unchecked Sendable {
    let function: CUhandle?
    /// The name expression it was requested by, e.g. `&flashrnn::forward_step<...>`.
    public let name: String
    let runtime: CUDARuntime
    /// The kernel's static shared memory (asked once) and the dynamic shared memory a launch may
    /// ask for without raising the attribute (nil: the default, 48 KiB less the static part).
    private var staticSharedBytes: Int?
    private var dynamicLimit: Int?
    private let lock = NSLock()

    init(function: CUhandle?, name: String, runtime: CUDARuntime) {
        self.function = function; self.name = name; self.runtime = runtime
    }

    /// The default per-block shared memory: static and dynamic together, beyond it the opt-in.
    static let defaultSharedBytes = 48 * 1024

    /// The dynamic limit a launch of `dynamicBytes` needs raised to, or nil when `limit` (nil: the
    /// default, 48 KiB less the kernel's static shared memory) already allows it. The default
    /// covers static and dynamic memory together, so a kernel with static shared memory needs
    /// the opt-in below 48 KiB of dynamic memory.
    static func raisedDynamicLimit(staticBytes: Int, dynamicBytes: Int, limit: Int?) -> Int? {
        dynamicBytes > (limit ?? defaultSharedBytes - staticBytes) ? dynamicBytes : nil
    }

    /// Raises the dynamic shared-memory limit where a launch of `bytes` needs it (static and
    /// dynamic beyond 48 KiB together); the device's opt-in maximum bounds both.
    func allowSharedMemory(_ bytes: Int) throws {
        guard bytes > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        let staticBytes: Int
        if let known = staticSharedBytes {
            staticBytes = known
        } else {
            var value: Int32 = 0
            try runtime.driver.check(runtime.driver.cuFuncGetAttribute(&value, CUAttribute.funcSharedSizeBytes, function),
                                     "cuFuncGetAttribute(SHARED_SIZE_BYTES)", "kernel \(name)")
            staticBytes = Int(value)
            staticSharedBytes = staticBytes
        }
        guard let raised = Self.raisedDynamicLimit(staticBytes: staticBytes, dynamicBytes: bytes, limit: dynamicLimit) else { return }
        guard staticBytes + raised <= runtime.properties.sharedMemoryPerBlockOptIn else {
            throw CUDAError.driver(call: "cuFuncSetAttribute", code: 1, name: "CUDA_ERROR_INVALID_VALUE",
                                   message: "kernel \(name) needs \(raised) bytes of dynamic and \(staticBytes) of static shared memory; the device allows \(runtime.properties.sharedMemoryPerBlockOptIn) in all",
                                   detail: "")
        }
        try runtime.driver.check(runtime.driver.cuFuncSetAttribute(function, CUAttribute.funcMaxDynamicSharedSizeBytes, Int32(raised)),
                                 "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", "kernel \(name), \(raised) bytes")
        dynamicLimit = raised
    }

    /// Registers per thread and local (spill/stack) bytes, as loaded.
    public func resources() throws -> (registers: Int, localBytes: Int) {
        var registers: Int32 = 0, local: Int32 = 0
        try runtime.driver.check(runtime.driver.cuFuncGetAttribute(&registers, CUAttribute.funcNumRegisters, function), "cuFuncGetAttribute")
        try runtime.driver.check(runtime.driver.cuFuncGetAttribute(&local, CUAttribute.funcLocalSizeBytes, function), "cuFuncGetAttribute")
        return (Int(registers), Int(local))
    }
}

extension CUDARuntime {
    /// The NVRTC compiler for this device's architecture.
    public func compiler() throws -> KernelCompiler {
        lock.lock(); defer { lock.unlock() }
        if let compilerStorage { return compilerStorage }
        let compiler = try KernelCompiler(options: KernelOptions(architecture: properties.architecture))
        compilerStorage = compiler
        return compiler
    }

    /// The kernels of `spec`, by name expression (`kernels(mainSource:nameExpressions:)`), found
    /// by the spec itself once loaded, so backends need no cache of their own.
    public func kernels(_ spec: KernelModuleSpec) throws -> [String: Kernel] {
        lock.lock()
        if let loaded = loadedSpecs[spec] { lock.unlock(); return loaded }
        lock.unlock()
        let loaded = try kernels(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
        lock.lock(); loadedSpecs[spec] = loaded; lock.unlock()
        return loaded
    }

    /// Starts compiling (or reading from the disk cache) modules a later call will load, on
    /// background threads, so that a cold first call compiles its modules side by side.
    public func prefetch(_ specs: [KernelModuleSpec]) {
        guard !specs.isEmpty, let compiler = try? compiler() else { return }
        compiler.prefetch(specs)
    }

    /// Compiles (or finds in the memory or disk cache) `mainSource` and loads the kernels named by
    /// `nameExpressions`, e.g. `["&flashrnn::forward_step<flashrnn::LSTMCell, flashrnn::BF16, 8>"]`.
    public func kernels(mainSource: String, nameExpressions: [String]) throws -> [String: Kernel] {
        let compiler = try self.compiler()
        var all = compiler.sources
        all["<main>"] = mainSource
        let key = KernelDiskCache.key(sources: all, options: compiler.options.rendered, nameExpressions: nameExpressions)
        lock.lock()
        if let loaded = loadedModules[key] { lock.unlock(); return loaded }
        lock.unlock()
        let label = nameExpressions.first ?? "module"
        let (compiled, origin) = try HostTrace.measure("module \(label) …: compile or cache lookup") {
            try compiler.module(mainSource: mainSource, nameExpressions: nameExpressions)
        }
        // Another thread may have loaded it while this one waited for the compile.
        lock.lock()
        if let loaded = loadedModules[key] { lock.unlock(); return loaded }
        lock.unlock()
        try makeCurrent()
        var module: CUhandle?
        try HostTrace.measure("module \(label) …: cuModuleLoadData (\(origin))") {
            try compiled.cubin.withUnsafeBytes { bytes in
                try driver.check(driver.cuModuleLoadData(&module, bytes.baseAddress), "cuModuleLoadData",
                                 "module of \(nameExpressions.joined(separator: ", "))")
            }
        }
        var result: [String: Kernel] = [:]
        for expression in nameExpressions {
            guard let lowered = compiled.loweredNames[expression] else { continue }
            var function: CUhandle?
            try driver.check(driver.cuModuleGetFunction(&function, module, lowered), "cuModuleGetFunction", "\(expression) as \(lowered)")
            result[expression] = Kernel(function: function, name: expression, runtime: self)
        }
        lock.lock(); loadedModules[key] = result; lock.unlock()
        return result
    }

    /// The graph cached under `key`, or the one `capture` records (then cached).
    public func cachedGraph(_ key: String, capture: () throws -> Void) throws -> CUDAGraph {
        lock.lock()
        if let graph = graphs[key] { lock.unlock(); return graph }
        lock.unlock()
        let graph = try captureGraph(label: key, capture)
        lock.lock(); graphs[key] = graph; lock.unlock()
        return graph
    }
}
