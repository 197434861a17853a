/// Memory order of `Wx`.
public enum InputLayout: String, Sendable, CaseIterable {
    /// `[B, T, G_W, N, D]`, the default.
    case btgnd
    /// `[T, B, G_W, N, D]`, time-major.
    case tbgnd
}

/// Options of the recurrence (spec section 4).
public struct RecurrentOptions: Sendable, Equatable {
    /// Drop the `Rᵀ·dG` contribution to `dh_{t-1}`; direct state paths still carry gradient.
    public var gradientRecurrentCut: Bool
    /// Clamp the recurrent part of `dh` (the `Rᵀ·dG` term) to ±value.
    public var gradientRecurrentClip: Double?
    /// Clamp `h_t` to ±value in the forward pass.
    public var forwardClip: Double?
    /// Memory order of `Wx` (and of `dWx`).
    public var inputLayout: InputLayout

    public init(gradientRecurrentCut: Bool = false, gradientRecurrentClip: Double? = nil,
                forwardClip: Double? = nil, inputLayout: InputLayout = .btgnd) {
        self.gradientRecurrentCut = gradientRecurrentCut
        self.gradientRecurrentClip = gradientRecurrentClip
        self.forwardClip = forwardClip
        self.inputLayout = inputLayout
    }

    func validate() throws {
        for (name, value) in [("gradientRecurrentClip", gradientRecurrentClip), ("forwardClip", forwardClip)] {
            if let value, !(value.isFinite && value >= 0) {
                throw FlashRNNError.invalidOption("\(name) must be a finite value ≥ 0, got \(value)")
            }
        }
    }
}

/// Which implementation runs the recurrence.
public enum BackendChoice: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The fastest available backend that supports the problem.
    case automatic
    /// The pure-Swift reference, always available.
    case cpu
    /// One matrix product and one pointwise kernel per step on a CUDA GPU.
    case cudaAlternating
    /// One persistent kernel for the whole sequence on a CUDA GPU.
    case cudaFused

    public var description: String { rawValue }
}
