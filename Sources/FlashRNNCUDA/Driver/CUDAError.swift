/// Everything that can go wrong on the CUDA path. Each case names the call and what failed.
public enum CUDAError: Error, Sendable, CustomStringConvertible {
    /// No candidate file for a library loaded.
    case libraryMissing(library: String, tried: [String], hint: String)
    /// A library loaded but lacks a symbol we use.
    case symbolMissing(library: String, symbol: String)
    /// `FLASHRNN_DISABLE_CUDA=1` is set.
    case disabled
    /// A driver call failed: `cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)`.
    case driver(call: String, code: Int32, name: String, message: String, detail: String)
    /// Device memory is exhausted; callers may free memory and retry.
    case outOfMemory(bytes: Int, detail: String)
    /// An NVRTC call failed.
    case nvrtc(call: String, code: Int32, message: String)
    /// NVRTC rejected a kernel source; `log` is the full compiler log.
    case compile(kernels: [String], options: [String], log: String)
    /// A cuBLAS call failed.
    case cublas(call: String, code: Int32, message: String)
    /// No CUDA device is present.
    case noDevice

    public var description: String {
        switch self {
        case let .libraryMissing(library, tried, hint):
            "could not load \(library) (\(hint)); tried:\n  " + tried.joined(separator: "\n  ")
        case let .symbolMissing(library, symbol):
            "\(library) has no symbol \(symbol); the library is too old or not a CUDA library"
        case .disabled:
            "disabled by FLASHRNN_DISABLE_CUDA=1"
        case let .driver(call, code, name, message, detail):
            "\(call) failed: \(name) (\(code)): \(message)" + (detail.isEmpty ? "" : " [\(detail)]")
        case let .outOfMemory(bytes, detail):
            "out of device memory allocating \(bytes) bytes" + (detail.isEmpty ? "" : " [\(detail)]")
        case let .nvrtc(call, code, message):
            "\(call) failed: \(message) (\(code))"
        case let .compile(kernels, options, log):
            "NVRTC could not compile \(kernels.joined(separator: ", ")) with options \(options.joined(separator: " ")):\n\(log)"
        case let .cublas(call, code, message):
            "\(call) failed: \(message) (\(code))"
        case .noDevice:
            "no CUDA device found"
        }
    }
}
