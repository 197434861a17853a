import Foundation
import FlashRNNCore

/// NVRTC options, rendered in a fixed order so the cache key is stable.
public struct KernelOptions: Sendable, Hashable {
    /// `sm_90a`, `sm_80`, ...
    public var architecture: String
    /// Print registers, stack frame and spills per kernel into the log.
    public var verbosePTXAS = false
    /// Extra `-D` definitions, rendered sorted.
    public var definitions: [String: String] = [:]

    public init(architecture: String, verbosePTXAS: Bool = false, definitions: [String: String] = [:]) {
        self.architecture = architecture; self.verbosePTXAS = verbosePTXAS; self.definitions = definitions
    }

    /// No fast-math: float32 results must match the float64 reference to 1e-5.
    /// No include paths: the kernels include no CUDA headers (conversions are inline PTX).
    public var rendered: [String] {
        var options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-DFLASHRNN_NVRTC=1"]
        options += definitions.keys.sorted().map { "-D\($0)=\(definitions[$0]!)" }
        if verbosePTXAS { options.append("--ptxas-options=-v") }
        return options
    }
}

/// NVRTC loaded on its own, so kernels compile on machines without a GPU (CI).
public enum NVRTCLibrary {
    static let shared: Result<NVRTCAPI, CUDAError> = {
        if ProcessInfo.processInfo.environment["FLASHRNN_DISABLE_CUDA"] == "1" { return .failure(.disabled) }
        do { return .success(try HostTrace.measure("NVRTC library load") { try NVRTCAPI(try LoadedLibrary.open(.nvrtc)) }) } catch let error as CUDAError {
            return .failure(error)
        } catch { return .failure(.nvrtc(call: "load", code: -1, message: "\(error)")) }
    }()

    /// NVRTC's version, or why it is unavailable.
    public static func version() throws -> String { try shared.get().version() }
    /// The file NVRTC was loaded from.
    public static func path() throws -> String { try shared.get().library.path }
}

/// Compiles embedded kernel sources with NVRTC, caching modules in memory and on disk.
public final class KernelCompiler: @unchecked Sendable {
    let nvrtc: NVRTCAPI
    public let options: KernelOptions
    public let diskCache: KernelDiskCache?
    /// Every embedded source (`.cuh` and the parameter header) by include name.
    public let sources: [String: String]
    private var memory: [String: CompiledModule] = [:]
    /// One lock per module key being looked up or compiled: a second caller of the same module
    /// waits for the first, while different modules compile side by side (NVRTC programs are
    /// independent; a cold call compiles its forward, backward and dR modules at once).
    private var keyLocks: [String: NSLock] = [:]
    private var compiledCount = 0
    private let lock = NSLock()

    /// Modules this compiler has compiled (not found in memory or on disk), for reports and tests.
    public var compilations: Int {
        lock.lock(); defer { lock.unlock() }
        return compiledCount
    }

    public init(options: KernelOptions, useDiskCache: Bool = true, sources: [String: String] = EmbeddedKernelSources.files) throws {
        nvrtc = try NVRTCLibrary.shared.get()
        self.options = options
        self.sources = sources
        diskCache = useDiskCache && ProcessInfo.processInfo.environment["FLASHRNN_NO_DISK_CACHE"] != "1"
            ? KernelDiskCache(nvrtcVersion: try nvrtc.version(), architecture: options.architecture) : nil
    }

    /// Where a compiled module came from, for first-call timing reports.
    public enum Origin: String, Sendable { case memory, disk, compiled }

    /// The module for `mainSource` (which #includes embedded files) exporting `nameExpressions`.
    public func module(mainSource: String, nameExpressions: [String]) throws -> (CompiledModule, Origin) {
        var all = sources
        all["<main>"] = mainSource
        let key = KernelDiskCache.key(sources: all, options: options.rendered, nameExpressions: nameExpressions)
        lock.lock()
        if let cached = memory[key] { lock.unlock(); return (cached, .memory) }
        let keyLock = keyLocks[key] ?? NSLock()
        keyLocks[key] = keyLock
        lock.unlock()
        keyLock.lock(); defer { keyLock.unlock() }
        // Whoever held the key lock before may have finished the module meanwhile.
        if let cached = memoryModule(key) { return (cached, .memory) }
        if let disk = diskCache?.load(key), Set(disk.loweredNames.keys) == Set(nameExpressions) {
            storeInMemory(disk, key: key)
            return (disk, .disk)
        }
        let compiled = try compile(mainSource: mainSource, nameExpressions: nameExpressions)
        storeInMemory(compiled, key: key)
        lock.lock(); compiledCount += 1; lock.unlock()
        // A cache that cannot be written only costs the next process a compile.
        try? diskCache?.store(compiled, key: key)
        return (compiled, .compiled)
    }

    /// Starts looking up or compiling `specs` on background threads, one each, and returns at
    /// once; a later `module` call for one of them waits for its compile instead of starting
    /// another. Failures are dropped here: the later call compiles again and reports them.
    public func prefetch(_ specs: [KernelModuleSpec]) {
        for spec in specs {
            DispatchQueue.global(qos: .userInitiated).async {
                _ = try? self.module(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
            }
        }
    }

    private func memoryModule(_ key: String) -> CompiledModule? {
        lock.lock(); defer { lock.unlock() }
        return memory[key]
    }

    private func storeInMemory(_ module: CompiledModule, key: String) {
        lock.lock(); defer { lock.unlock() }
        memory[key] = module
    }

    /// One NVRTC compilation; the error carries the full log.
    public func compile(mainSource: String, nameExpressions: [String]) throws -> CompiledModule {
        // NVRTC looks headers up by the exact include text, not relative to the including
        // file, so each header is also offered under its file name (`cell_common.cuh`).
        var headers = sources
        for (name, text) in sources {
            let base = String(name.split(separator: "/").last!)
            if headers[base] == nil { headers[base] = text }
        }
        let headerNames = headers.keys.sorted()
        let headerTexts = headerNames.map { headers[$0]! }
        var program: OpaquePointer?
        try withCStrings(headerNames) { names in
            try withCStrings(headerTexts) { texts in
                try nvrtc.check(nvrtc.nvrtcCreateProgram(&program, mainSource, "flashrnn_main.cu", Int32(headerNames.count),
                                                         texts, names), "nvrtcCreateProgram")
            }
        }
        defer { _ = nvrtc.nvrtcDestroyProgram(&program) }
        for expression in nameExpressions {
            try nvrtc.check(nvrtc.nvrtcAddNameExpression(program, expression), "nvrtcAddNameExpression(\(expression))")
        }
        let rendered = options.rendered
        let result = withCStrings(rendered) { nvrtc.nvrtcCompileProgram(program, Int32(rendered.count), $0) }
        var logSize = 0
        try nvrtc.check(nvrtc.nvrtcGetProgramLogSize(program, &logSize), "nvrtcGetProgramLogSize")
        var logBuffer = [CChar](repeating: 0, count: max(logSize, 1))
        try nvrtc.check(nvrtc.nvrtcGetProgramLog(program, &logBuffer), "nvrtcGetProgramLog")
        let log = String(decoding: logBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard result == 0 else {
            throw CUDAError.compile(kernels: nameExpressions, options: rendered, log: log)
        }
        var size = 0
        try nvrtc.check(nvrtc.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize")
        var cubin = [CChar](repeating: 0, count: size)
        try nvrtc.check(nvrtc.nvrtcGetCUBIN(program, &cubin), "nvrtcGetCUBIN")
        var lowered: [String: String] = [:]
        for expression in nameExpressions {
            var name: UnsafePointer<CChar>?
            try nvrtc.check(nvrtc.nvrtcGetLoweredName(program, expression, &name), "nvrtcGetLoweredName(\(expression))")
            lowered[expression] = String(cString: name!)
        }
        return CompiledModule(cubin: cubin.map { UInt8(bitPattern: $0) }, loweredNames: lowered, log: log)
    }
}

/// Runs `body` with a C array of C strings that lives for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
}
