@_exported import FlashRNNCore
@_exported import FlashRNNCUDA
import Foundation

/// The entry points: run a recurrence forward, and backward from its saved context.
public enum RNN {
    /// Runs the recurrence of `cell` over the sequence.
    ///
    /// - Parameters:
    ///   - wx: the input projection `[B, T, G_W, N, D]` (or `[T, B, G_W, N, D]` with
    ///     `options.inputLayout = .tbgnd`).
    ///   - r: the recurrent matrix `[G_R, N, D_out, D_in]`.
    ///   - b: the bias `[G_T, N, D]`.
    ///   - initialStates: `[S, B, N, D]` or `[S, B, 1, N, D]`; nil means zeros.
    ///   - dtype: the storage type to compute in; nil means the type of `wx`.
    ///   - backend: which implementation runs; `.automatic` picks the fastest that can.
    ///   - requiresGradient: keep what ``backward(_:dStates:dLast:)`` needs.
    /// - Returns: all states `[S, B, T, N, D]`, last states `[S, B, N, D]`, and the context.
    public static func forward(
        cell: CellKind, wx: Tensor, r: Tensor, b: Tensor, initialStates: Tensor? = nil,
        options: RecurrentOptions = RecurrentOptions(), dtype: DType? = nil,
        backend: BackendChoice = .automatic, requiresGradient: Bool = false
    ) throws -> ForwardResult {
        let problem = try RecurrentProblem(cell: cell, wx: wx, r: r, b: b, initialStates: initialStates, options: options)
        let dtype = dtype ?? wx.dtype
        let chosen = try BackendRegistry.resolve(backend, for: problem, dtype: dtype)
        return try chosen.run(problem, dtype: dtype, saveForBackward: requiresGradient)
    }

    /// Gradients of every input from the gradients of the outputs.
    ///
    /// - Parameters:
    ///   - dStates: `[S, B, T, N, D]`, the gradient at all states; nil means zeros.
    ///   - dLast: `[S, B, N, D]`, added to `dStates[:, :, T-1]`; nil means zeros.
    /// - Returns: `dWx` (shape and layout of `Wx`), `dR [G_R, N, D, D]`, `db [G_T, N, D]`,
    ///   `dInitialStates [S, B, N, D]`.
    public static func backward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        try runBackward(context, dStates: dStates, dLast: dLast)
    }
}

/// Maps a backend choice to an implementation.
///
/// Automatic choice: `cudaFused` if it is available and supports the problem, else
/// `cudaAlternating`, else `cpu`; each fallback's reason is reported once on stderr.
public enum BackendRegistry {
    /// The fused backend (nil: not part of this build).
    nonisolated(unsafe) public static var fusedBackend: (any RecurrentBackend)? = CUDAFusedBackend()
    /// Why the fused backend is unavailable on this machine, when it is built in.
    nonisolated(unsafe) public static var fusedUnavailableReason: () -> String? = { CUDAFusedBackend.unavailableReason() }

    /// Why each backend is unavailable on this machine, or nil for those that are.
    public static func availability() -> [(BackendChoice, String?)] {
        [(.cpu, nil),
         (.cudaAlternating, CUDAAlternatingBackend.unavailableReason()),
         (.cudaFused, fusedBackend == nil ? "not built into this version" : fusedUnavailableReason())]
    }

    /// The storage type used when a caller names none: float64 on the CPU, bfloat16 on a GPU.
    public static func defaultDType(for choice: BackendChoice) -> DType {
        switch choice {
        case .cpu: return .float64
        case .cudaAlternating, .cudaFused: return .bfloat16
        case .automatic:
            let gpu = availability().contains { $0.0 != .cpu && $0.1 == nil }
            return gpu ? .bfloat16 : .float64
        }
    }

    public static func resolve(_ choice: BackendChoice, for problem: RecurrentProblem, dtype: DType) throws -> any RecurrentBackend {
        let (backend, fallbacks) = try resolveExplained(choice, for: problem, dtype: dtype)
        if !fallbacks.isEmpty { reportFallback("automatic backend: using \(backend.name) (" + fallbacks.joined(separator: "; ") + ")") }
        return backend
    }

    /// The backend for `choice`, and for automatic choice why each faster one was passed over.
    public static func resolveExplained(_ choice: BackendChoice, for problem: RecurrentProblem,
                                        dtype: DType) throws -> (any RecurrentBackend, [String]) {
        switch choice {
        case .cpu:
            return (CPUBackend(), [])
        case .cudaAlternating:
            if let reason = CUDAAlternatingBackend.unavailableReason() {
                throw FlashRNNError.backendUnavailable(backend: choice.rawValue, reason: reason)
            }
            return (CUDAAlternatingBackend(), [])
        case .cudaFused:
            guard let fused = fusedBackend else {
                throw FlashRNNError.backendUnavailable(backend: choice.rawValue, reason: "not built into this version")
            }
            if let reason = fusedUnavailableReason() {
                throw FlashRNNError.backendUnavailable(backend: choice.rawValue, reason: reason)
            }
            return (fused, [])
        case .automatic:
            var passed: [String] = []
            var candidates: [(any RecurrentBackend, String?)] = []
            if let fused = fusedBackend { candidates.append((fused, fusedUnavailableReason())) }
            else { passed.append("cudaFused: not built into this version") }
            candidates.append((CUDAAlternatingBackend(), CUDAAlternatingBackend.unavailableReason()))
            for (backend, unavailable) in candidates {
                if let unavailable { passed.append("\(backend.name): \(unavailable)"); continue }
                if !backend.supportedDTypes.contains(dtype) {
                    passed.append("\(backend.name): does not compute in \(dtype)"); continue
                }
                if let limit = backend.limitation(for: problem, dtype: dtype) {
                    passed.append("\(backend.name): \(limit)"); continue
                }
                return (backend, passed)
            }
            return (CPUBackend(), passed)
        }
    }

    private static let reportLock = NSLock()
    nonisolated(unsafe) private static var reported: Set<String> = []

    static func reportFallback(_ message: String) {
        reportLock.lock(); defer { reportLock.unlock() }
        guard ProcessInfo.processInfo.environment["FLASHRNN_QUIET"] != "1", reported.insert(message).inserted else { return }
        FileHandle.standardError.write(Data("flashrnn: \(message)\n".utf8))
    }
}
