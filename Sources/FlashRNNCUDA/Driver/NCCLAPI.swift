#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where to look for NCCL (`libnccl.so.2`), in the same order as ``LibrarySearch`` uses for the
/// other CUDA libraries:
/// 1. `FLASHRNN_LIBNCCL` naming the file;
/// 2. `$CUDA_HOME/lib64`, `$CUDA_PATH/lib64`, `/usr/local/cuda/lib64`;
/// 3. the loader's default search by soname;
/// 4. NVIDIA's wheel (`nvidia/nccl/lib`, or `nvidia/cu13/lib`) in the Python site-packages folders
///    ``LibrarySearch`` finds, then in those of the prefixes whose `bin` is on `PATH`.
///
/// Kept apart from ``CUDALibraryKind`` because NCCL is optional: single-GPU training never needs it,
/// and the kinds there are all loaded by the single-GPU path.
public struct NCCLLibrarySearch: Sendable {
    public static let environmentVariable = "FLASHRNN_LIBNCCL"
    static let sonames = ["libnccl.so.2", "libnccl.so"]
    static let wheelPaths = ["nvidia/nccl/lib/libnccl.so.2", "nvidia/cu13/lib/libnccl.so.2"]

    public var environment: [String: String]
    public var sitePackages: [String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, sitePackages: [String]? = nil) {
        self.environment = environment
        self.sitePackages = sitePackages
            ?? LibrarySearch.discoverSitePackages(environment) + Self.sitePackagesOfPathPrefixes(environment)
    }

    /// `site-packages` of every prefix whose `bin` is on `PATH` (a virtual environment on `PATH`
    /// without `VIRTUAL_ENV` set, as in images that put their Python's venv first on `PATH`):
    /// NCCL usually comes with a framework's wheels rather than with the toolkit.
    static func sitePackagesOfPathPrefixes(_ environment: [String: String]) -> [String] {
        let fm = FileManager.default
        var folders: [String] = []
        for entry in (environment["PATH"] ?? "").split(separator: ":") where entry.hasSuffix("/bin") {
            let lib = "\(entry.dropLast(4))/lib"
            guard let names = try? fm.contentsOfDirectory(atPath: lib) else { continue }
            for name in names.sorted().reversed() where name.hasPrefix("python3") {
                let folder = "\(lib)/\(name)/site-packages"
                if fm.fileExists(atPath: folder) { folders.append(folder) }
            }
        }
        return folders
    }

    /// Candidate files or sonames in search order; a candidate containing `/` is a path.
    public var candidates: [String] {
        LibrarySearch.candidates(environment: environment, sitePackages: sitePackages, variable: Self.environmentVariable,
                                 sonames: Self.sonames, wheelPaths: Self.wheelPaths, inToolkit: true)
    }
}

/// A failed NCCL call, worded like the other CUDA errors: `ncclAllReduce failed: invalid usage (5)`.
/// Its own type so that ``CUDAError``'s exhaustive switches elsewhere stay untouched.
public struct NCCLError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String
    public var description: String { "\(call) failed: \(message) (\(code))" }
}

/// NCCL's opaque unique id (`ncclUniqueId`, 128 bytes), passed by value to `ncclCommInitRank`.
public struct NCCLUniqueId: Sendable {
    public static let byteCount = 128
    public var bytes = [UInt8](repeating: 0, count: byteCount)
    public init() {}
}

/// NCCL, resolved from `libnccl.so.2` with `dlsym`. Opened with `dlopen` and never closed:
/// communicators and NCCL's proxy threads may outlive any one caller.
public final class NCCLAPI: @unchecked Sendable {
    public typealias Comm = OpaquePointer?
    /// The candidate that loaded.
    public let path: String
    let handle: UnsafeMutableRawPointer

    let ncclGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    /// Writes the 128-byte `ncclUniqueId` (see ``NCCLUniqueId``) through the pointer.
    let ncclGetUniqueId: @convention(c) (UnsafeMutableRawPointer) -> Int32
    /// Resolved but not typed: it takes the 128-byte `ncclUniqueId` by value, which a Swift
    /// `@convention(c)` type cannot express (a Swift struct is not C-representable). Only the
    /// one-process-per-GPU or multi-host path needs it; calling it will go through a small C shim.
    /// The one-process design uses ``ncclCommInitAll`` instead.
    let ncclCommInitRank: UnsafeMutableRawPointer
    let ncclCommInitAll: @convention(c) (UnsafeMutablePointer<Comm>, Int32, UnsafePointer<Int32>?) -> Int32
    /// (sendbuff, recvbuff, count, datatype, op, comm, stream)
    let ncclAllReduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int, Int32, Int32, Comm,
                                       OpaquePointer?) -> Int32
    let ncclCommDestroy: @convention(c) (Comm) -> Int32
    let ncclGetErrorString: @convention(c) (Int32) -> UnsafePointer<CChar>?
    let ncclGroupStart: @convention(c) () -> Int32
    let ncclGroupEnd: @convention(c) () -> Int32

    /// `ncclDataType_t` and `ncclRedOp_t` values we use (nccl.h).
    public static let float32: Int32 = 7, float64: Int32 = 8
    public static let sum: Int32 = 0

    /// NCCL from the default search, loaded on first use, or why it did not load.
    public static let shared: Result<NCCLAPI, CUDAError> = {
        do { return .success(try open()) } catch let error as CUDAError { return .failure(error) } catch {
            return .failure(.libraryMissing(library: "libnccl", tried: ["\(error)"], hint: "unexpected error"))
        }
    }()

    /// Opens the first candidate that loads; the error lists every candidate tried and why it failed.
    public static func open(search: NCCLLibrarySearch = NCCLLibrarySearch()) throws -> NCCLAPI {
        var failures: [String] = []
        for candidate in search.candidates {
            if candidate.contains("/"), !FileManager.default.fileExists(atPath: candidate) {
                failures.append("\(candidate): no such file")
                continue
            }
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_GLOBAL) {
                return try NCCLAPI(path: candidate, handle: handle)
            }
            failures.append("\(candidate): \(String(cString: dlerror()))")
        }
        throw CUDAError.libraryMissing(library: "libnccl", tried: failures,
                                       hint: "set \(NCCLLibrarySearch.environmentVariable) to the library file, or CUDA_HOME to the toolkit")
    }

    init(path: String, handle: UnsafeMutableRawPointer) throws {
        self.path = path; self.handle = handle
        func f<T>(_ name: String) throws -> T {
            guard let pointer = dlsym(handle, name) else { throw CUDAError.symbolMissing(library: path, symbol: name) }
            return unsafeBitCast(pointer, to: T.self)
        }
        ncclGetVersion = try f("ncclGetVersion")
        ncclGetUniqueId = try f("ncclGetUniqueId")
        ncclCommInitRank = try f("ncclCommInitRank")  // a raw address; f's bit cast is the identity here
        ncclCommInitAll = try f("ncclCommInitAll")
        ncclAllReduce = try f("ncclAllReduce")
        ncclCommDestroy = try f("ncclCommDestroy")
        ncclGetErrorString = try f("ncclGetErrorString")
        ncclGroupStart = try f("ncclGroupStart")
        ncclGroupEnd = try f("ncclGroupEnd")
    }

    /// Throws a ``CUDAError`` naming `call` unless `result` is ncclSuccess.
    func check(_ result: Int32, _ call: String) throws {
        guard result != 0 else { return }
        let message = ncclGetErrorString(result).map { String(cString: $0) } ?? "NCCL error"
        throw NCCLError(call: call, code: result, message: message)
    }

    /// `major.minor.patch`, decoded from NCCL's integer (`major*10000 + minor*100 + patch` since 2.9).
    public func version() throws -> String {
        var code: Int32 = 0
        try check(ncclGetVersion(&code), "ncclGetVersion")
        return "\(code / 10000).\(code / 100 % 100).\(code % 100)"
    }

    /// One communicator per device of `devices` (rank i on `devices[i]`), all in this process.
    /// No unique id to exchange: this is the single-process initialisation.
    public func communicators(devices: [Int32]) throws -> [Comm] {
        var comms = [Comm](repeating: nil, count: devices.count)
        try devices.withUnsafeBufferPointer { list in
            try check(ncclCommInitAll(&comms, Int32(devices.count), list.baseAddress), "ncclCommInitAll")
        }
        return comms
    }

    /// Releases a communicator from ``communicators(devices:)``.
    public func destroy(_ comm: Comm) throws {
        try check(ncclCommDestroy(comm), "ncclCommDestroy")
    }

    /// Enqueues the sum over ranks of `count` elements of `dataType` at device address `source`
    /// into `destination` (the same address for in place) on `stream`.
    /// Between ``groupStart()`` and ``groupEnd()`` when one thread drives several ranks.
    public func allReduceSum(_ source: UInt64, into destination: UInt64, count: Int, dataType: Int32, comm: Comm,
                             stream: OpaquePointer?) throws {
        try check(ncclAllReduce(UnsafeRawPointer(bitPattern: UInt(source)), UnsafeMutableRawPointer(bitPattern: UInt(destination)),
                                count, dataType, Self.sum, comm, stream), "ncclAllReduce")
    }

    public func groupStart() throws { try check(ncclGroupStart(), "ncclGroupStart") }
    public func groupEnd() throws { try check(ncclGroupEnd(), "ncclGroupEnd") }

    /// A fresh id for ``ncclCommInitRank`` (made by rank 0 and shared with the others).
    public func uniqueId() throws -> NCCLUniqueId {
        var id = NCCLUniqueId()
        try id.bytes.withUnsafeMutableBytes { buffer in
            try check(ncclGetUniqueId(buffer.baseAddress!), "ncclGetUniqueId")
        }
        return id
    }
}
