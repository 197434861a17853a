@_exported import FlashRNNCore

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
public enum BackendRegistry {
    /// Why each GPU backend is unavailable on this machine, or nil for those that are.
    public static func availability() -> [(BackendChoice, String?)] {
        [(.cpu, nil),
         (.cudaAlternating, "not built into this version"),
         (.cudaFused, "not built into this version")]
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
        switch choice {
        case .cpu, .automatic:
            return CPUBackend()
        case .cudaAlternating, .cudaFused:
            throw FlashRNNError.backendUnavailable(backend: choice.rawValue, reason: "not built into this version")
        }
    }
}
