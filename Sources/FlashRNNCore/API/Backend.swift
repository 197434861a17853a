/// The result of a forward pass.
public struct ForwardResult: Sendable {
    /// `[S, B, T, N, D]`: the states after steps 1…T (the initial state is not included).
    public let states: Tensor
    /// `[S, B, N, D]`: the states after step T.
    public let lastStates: Tensor
    /// What backward needs; present when gradients were requested.
    public let context: BackwardContext?

    public init(states: Tensor, lastStates: Tensor, context: BackwardContext?) {
        self.states = states; self.lastStates = lastStates; self.context = context
    }
}

/// Gradients of a scalar loss with respect to every input of the recurrence.
public struct Gradients: Sendable {
    /// Same shape and layout as `Wx`.
    public let dWx: Tensor
    /// `[G_R, N, D, D]`
    public let dR: Tensor
    /// `[G_T, N, D]`
    public let db: Tensor
    /// `[S, B, N, D]`; for sLSTM the entry for m is zero (m carries no gradient).
    public let dInitialStates: Tensor

    public init(dWx: Tensor, dR: Tensor, db: Tensor, dInitialStates: Tensor) {
        self.dWx = dWx; self.dR = dR; self.db = db; self.dInitialStates = dInitialStates
    }
}

/// What a forward pass saved for its backward pass. Opaque to callers.
public final class BackwardContext: @unchecked Sendable {
    public let problem: RecurrentProblem
    public let dtype: DType
    public let backend: any RecurrentBackend
    /// Backend-specific saved tensors; immutable after creation.
    public let saved: any Sendable

    public init(problem: RecurrentProblem, dtype: DType, backend: any RecurrentBackend, saved: any Sendable) {
        self.problem = problem; self.dtype = dtype; self.backend = backend; self.saved = saved
    }
}

/// An implementation of the recurrence.
public protocol RecurrentBackend: Sendable {
    /// The name used in messages and on the command line, e.g. `cpu`.
    var name: String { get }
    /// Storage types this backend computes in.
    var supportedDTypes: [DType] { get }
    /// Why this backend cannot run `problem` in `dtype`, or nil when it can.
    func limitation(for problem: RecurrentProblem, dtype: DType) -> String?
    /// Runs the recurrence. Outputs are stored in `dtype`.
    func forward(_ problem: RecurrentProblem, dtype: DType, saveForBackward: Bool) throws -> ForwardResult
    /// Gradients from the output gradients; `nil` output gradients mean zeros.
    func backward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients
}

extension RecurrentBackend {
    /// Checks the dtype and the problem, then runs forward.
    public func run(_ problem: RecurrentProblem, dtype: DType, saveForBackward: Bool) throws -> ForwardResult {
        guard supportedDTypes.contains(dtype) else {
            throw FlashRNNError.unsupportedDType(backend: name, dtype: dtype, supported: supportedDTypes)
        }
        if let reason = limitation(for: problem, dtype: dtype) {
            throw FlashRNNError.unsupportedProblem(backend: name, reason: reason)
        }
        return try forward(problem, dtype: dtype, saveForBackward: saveForBackward)
    }
}

/// Runs backward with the backend that produced `context`, after checking the shapes.
public func runBackward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
    try context.problem.validateOutputGradients(dStates: dStates, dLast: dLast)
    return try context.backend.backward(context, dStates: dStates, dLast: dLast)
}
