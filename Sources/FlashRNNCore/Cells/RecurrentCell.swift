import RealModule

/// The scalar types the CPU cells compute in (Double for the reference, Float for speed).
public typealias CellScalar = BinaryFloatingPoint & Real & SIMDScalar & Sendable

/// One recurrent cell, element by element. Twin of the CUDA structs in `Kernels/cells/*.cuh`:
/// same members, same order of gates and states, pinned together by tests.
///
/// Per element `(b, n, d)` of one step a cell sees its G_T pre-activations
/// `pre[k] = R·h + Wx + b` for that gate (a gate without an R or Wx term leaves it out,
/// see ``CellKind/recurrentGateOffset`` and ``CellKind/inputGateOffset``) and its S
/// previous states. Unused lanes of the SIMD4 values are zero.
public protocol RecurrentCell {
    static var kind: CellKind { get }

    /// The new states `[S]` from the pre-activations `[G_T]` and the previous states `[S]`.
    static func forward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> SIMD4<F>

    /// From the total gradient at the new states `[S]`: the gradient of the pre-activations
    /// `[G_T]` and the gradient sent to the previous states along direct (non-R) paths `[S]`.
    /// Recomputes what it needs from `pre` and `previous`.
    static func backward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>, dNew: SIMD4<F>)
        -> (dPre: SIMD4<F>, dPrevious: SIMD4<F>)
}

@inline(__always) func sigmoid<F: CellScalar>(_ x: F) -> F {
    // Split by sign so exp never overflows.
    if x >= 0 { return 1 / (1 + F.exp(-x)) }
    let e = F.exp(x)
    return e / (1 + e)
}

/// `log σ(x)` without overflow or cancellation: `min(x, 0) − log(1 + exp(−|x|))`.
@inline(__always) func logSigmoid<F: CellScalar>(_ x: F) -> F {
    min(x, 0) - F.log(onePlus: F.exp(-abs(x)))
}

extension CellKind {
    /// The Swift cell type for this kind.
    public var cellType: any RecurrentCell.Type {
        switch self {
        case .lstm: LSTMCell.self
        case .slstm: SLSTMCell.self
        case .gru: GRUCell.self
        case .elman: ElmanCell.self
        }
    }
}
