import FlashRNN

/// A layer that maps a sequence `[B, T, input]` to `[B, T, output]` and carries a recurrent
/// state across calls. Forward keeps what backward needs; backward accumulates parameter
/// gradients and returns the gradient of the input.
public protocol SequenceLayer<Scalar>: AnyObject {
    associatedtype Scalar: CellScalar
    var inputSize: Int { get }
    var outputSize: Int { get }
    var parameters: [Parameter<Scalar>] { get }
    /// Shape of the state for batch B, e.g. `[S, B, N, D]`.
    func stateShape(batch: Int) -> [Int]

    /// - Parameters:
    ///   - x: `[B, T, input]`.
    ///   - initialState: the state to continue from (``stateShape(batch:)``); nil means zeros.
    ///   - training: keep what ``backward(_:)`` needs.
    /// - Returns: `[B, T, output]` and the state after step T.
    func forward(_ x: [Scalar], batch: Int, length: Int, initialState: Tensor?, training: Bool) throws
        -> (output: [Scalar], lastState: Tensor)

    /// From the gradient of the output `[B, T, output]`: the gradient of the input `[B, T, input]`.
    func backward(_ dOutput: [Scalar]) throws -> [Scalar]
}
