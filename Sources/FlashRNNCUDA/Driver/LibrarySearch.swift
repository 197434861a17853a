#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The CUDA libraries loaded at run time.
public enum CUDALibraryKind: String, Sendable, CaseIterable {
    case driver = "libcuda"
    case nvrtc = "libnvrtc"
    case cublas = "libcublas"

    /// The environment variable that names the library file directly.
    public var environmentVariable: String {
        switch self {
        case .driver: "FLASHRNN_LIBCUDA"
        case .nvrtc: "FLASHRNN_LIBNVRTC"
        case .cublas: "FLASHRNN_LIBCUBLAS"
        }
    }

    /// Sonames, newest first (CUDA 13, then 12).
    var sonames: [String] {
        switch self {
        case .driver: ["libcuda.so.1", "libcuda.so"]
        case .nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
        case .cublas: ["libcublas.so.13", "libcublas.so.12", "libcublas.so"]
        }
    }

    /// Paths inside a Python environment's site-packages where NVIDIA's wheels put the library.
    var wheelPaths: [String] {
        switch self {
        case .driver: []
        case .nvrtc: ["nvidia/cu13/lib/libnvrtc.so.13", "nvidia/cuda_nvrtc/lib/libnvrtc.so.12"]
        case .cublas: ["nvidia/cu13/lib/libcublas.so.13", "nvidia/cublas/lib/libcublas.so.12"]
        }
    }
}

/// Where to look for a CUDA library, in order (issue 3, point 1):
/// 1. the environment variable naming the file (`FLASHRNN_LIBNVRTC`, ...);
/// 2. `$CUDA_HOME/lib64`, then `$CUDA_PATH/lib64` (not for the driver: toolkits ship only a stub);
/// 3. `/usr/local/cuda/lib64` (not for the driver);
/// 4. the loader's default search by soname (CUDA 13, then 12);
/// 5. NVIDIA's wheels in Python site-packages folders (`$FLASHRNN_PYTHON_SITE_PACKAGES`, `$PYTHONPATH`,
///    `$VIRTUAL_ENV`, then the usual system folders).
public struct LibrarySearch: Sendable {
    public var environment: [String: String]
    /// Existing site-packages folders; computed from the file system unless given.
    public var sitePackages: [String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, sitePackages: [String]? = nil) {
        self.environment = environment
        self.sitePackages = sitePackages ?? LibrarySearch.discoverSitePackages(environment)
    }

    /// Candidate files or sonames in search order; a candidate containing `/` is a path.
    public func candidates(for kind: CUDALibraryKind) -> [String] {
        Self.candidates(environment: environment, sitePackages: sitePackages, variable: kind.environmentVariable,
                        sonames: kind.sonames, wheelPaths: kind.wheelPaths, inToolkit: kind != .driver)
    }

    /// The search order above for one library (also NCCL's, which is not a ``CUDALibraryKind``);
    /// `inToolkit` false skips the toolkit folders (the driver there is only a stub).
    static func candidates(environment: [String: String], sitePackages: [String], variable: String,
                           sonames: [String], wheelPaths: [String], inToolkit: Bool) -> [String] {
        var result: [String] = []
        if let named = environment[variable], !named.isEmpty { result.append(named) }
        if inToolkit {
            var roots: [String] = []
            for variable in ["CUDA_HOME", "CUDA_PATH"] {
                if let root = environment[variable], !root.isEmpty { roots.append(root) }
            }
            roots.append("/usr/local/cuda")
            for root in roots {
                for soname in sonames { result.append("\(root)/lib64/\(soname)") }
            }
        }
        result += sonames
        for site in sitePackages {
            for path in wheelPaths { result.append("\(site)/\(path)") }
        }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    static func discoverSitePackages(_ environment: [String: String]) -> [String] {
        var folders: [String] = []
        for variable in ["FLASHRNN_PYTHON_SITE_PACKAGES", "PYTHONPATH"] {
            folders += (environment[variable] ?? "").split(separator: ":").map(String.init)
        }
        var prefixes: [String] = []
        if let venv = environment["VIRTUAL_ENV"] { prefixes.append(venv) }
        if let home = environment["HOME"] { prefixes.append("\(home)/.local") }
        prefixes += ["/usr/local", "/usr", "/opt/conda"]
        let fm = FileManager.default
        for prefix in prefixes {
            let lib = "\(prefix)/lib"
            guard let names = try? fm.contentsOfDirectory(atPath: lib) else { continue }
            for name in names.sorted().reversed() where name.hasPrefix("python3") {
                for leaf in ["site-packages", "dist-packages"] {
                    let folder = "\(lib)/\(name)/\(leaf)"
                    if fm.fileExists(atPath: folder) { folders.append(folder) }
                }
            }
        }
        return folders
    }
}

/// A library opened with `dlopen`; never closed (the process keeps it until exit).
public final class LoadedLibrary: @unchecked Sendable {
    public let kind: CUDALibraryKind
    /// The candidate that loaded.
    public let path: String
    let handle: UnsafeMutableRawPointer

    init(kind: CUDALibraryKind, path: String, handle: UnsafeMutableRawPointer) {
        self.kind = kind; self.path = path; self.handle = handle
    }

    /// Opens the first candidate that loads; the error lists every candidate tried and why it failed.
    public static func open(_ kind: CUDALibraryKind, search: LibrarySearch = LibrarySearch()) throws -> LoadedLibrary {
        var failures: [String] = []
        for candidate in search.candidates(for: kind) {
            if candidate.contains("/"), !FileManager.default.fileExists(atPath: candidate) {
                failures.append("\(candidate): no such file")
                continue
            }
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_GLOBAL) {
                return LoadedLibrary(kind: kind, path: candidate, handle: handle)
            }
            failures.append("\(candidate): \(String(cString: dlerror()))")
        }
        throw CUDAError.libraryMissing(library: kind.rawValue, tried: failures,
                                       hint: "set \(kind.environmentVariable) to the library file, or CUDA_HOME to the toolkit")
    }

    /// The address of `names[0]`, or of the first alternative name that exists.
    public func symbol(_ names: String...) throws -> UnsafeMutableRawPointer {
        for name in names {
            if let pointer = dlsym(handle, name) { return pointer }
        }
        throw CUDAError.symbolMissing(library: path, symbol: names.joined(separator: " or "))
    }
}
