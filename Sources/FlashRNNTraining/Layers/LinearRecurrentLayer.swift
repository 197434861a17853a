import FlashRNN
import RealModule

/// The contrast model: a linear, diagonal recurrence with no nonlinearity on the state path,
/// as in modern linear RNNs and state-space models:
///
///     u_t = W·x_t + b        h_t = a ⊙ h_{t-1} + u_t        y_t = tanh(h_t)
///
/// `a [N·D]` is learnable. The tanh acts on the output only (the way SSM stacks put their
/// nonlinearity between layers), so the state itself can only add up scaled inputs.
/// Shapes: `W [N·D, input]`, `a [N·D]`, `b [N·D]`, state `[1, B, N, D]`.
public final class LinearRecurrentLayer<F: CellScalar>: SequenceLayer {
    public typealias Scalar = F
    public let heads: Int      // N
    public let headDim: Int    // D
    public let inputSize: Int
    public var outputSize: Int { heads * headDim }
    public let w: Parameter<F>
    public let a: Parameter<F>
    public let b: Parameter<F>
    public var parameters: [Parameter<F>] { [w, a, b] }

    private var saved: (x: [F], h0: [F], h: [F], y: [F], batch: Int, length: Int)?

    /// `W` and `b` uniform in ±1/√(N·D); `a` uniform in [0.5, 1) so the state starts by remembering.
    public init(inputSize: Int, heads: Int, headDim: Int, name: String, rng: inout SplitMix64) {
        self.inputSize = inputSize; self.heads = heads; self.headDim = headDim
        let hidden = heads * headDim, bound = 1 / Double(hidden).squareRoot()
        w = .uniform("\(name).W", [hidden, inputSize], bound: bound, decays: true, rng: &rng)
        a = Parameter(name: "\(name).a", shape: [hidden],
                      value: (0..<hidden).map { _ in F(rng.uniform(0.5, 1)) }, decays: false)
        b = .uniform("\(name).b", [hidden], bound: bound, decays: false, rng: &rng)
    }

    public func stateShape(batch: Int) -> [Int] { [1, batch, heads, headDim] }

    public func forward(_ x: [F], batch: Int, length: Int, initialState: Tensor?, training: Bool) throws
        -> (output: [F], lastState: Tensor) {
        let H = outputSize, rows = batch * length
        precondition(x.count == rows * inputSize, "input must be [B, T, \(inputSize)]")
        if let initialState, initialState.shape != stateShape(batch: batch) {
            throw FlashRNNError.shape(tensor: "initial states", expected: "[S=1, B=\(batch), N=\(heads), D=\(headDim)]",
                                      actual: initialState.shape, context: "linear")
        }
        let h0 = try initialState.map { try $0.scalars(as: F.self) } ?? [F](repeating: 0, count: batch * H)
        var h = [F](repeating: 0, count: rows * H)      // [B, T, H], u first, then h in place
        multiply(x, transposed(w.value, rows: H, columns: inputSize), into: &h, m: rows, n: H, k: inputSize)
        var y = [F](repeating: 0, count: rows * H)
        var last = [F](repeating: 0, count: batch * H)
        for bi in 0..<batch {
            for j in 0..<H {
                var state = h0[bi * H + j]
                let aj = a.value[j], bj = b.value[j]
                for t in 0..<length {
                    let i = (bi * length + t) * H + j
                    state = aj * state + h[i] + bj
                    h[i] = state
                    y[i] = F.tanh(state)
                }
                last[bi * H + j] = state
            }
        }
        saved = training ? (x, h0, h, y, batch, length) : nil
        return (y, TensorBridge.tensor(last, stateShape(batch: batch)))
    }

    public func backward(_ dOutput: [F]) throws -> [F] {
        guard let saved else { preconditionFailure("backward needs a forward with training: true") }
        self.saved = nil
        let H = outputSize, rows = saved.batch * saved.length, T = saved.length
        var du = [F](repeating: 0, count: rows * H)     // gradient of u_t = h_t's total gradient
        for bi in 0..<saved.batch {
            for j in 0..<H {
                let aj = a.value[j]
                var carried: F = 0                       // a ⊙ g_{t+1}
                var da: F = 0, db: F = 0
                for t in stride(from: T - 1, through: 0, by: -1) {
                    let i = (bi * T + t) * H + j
                    let y = saved.y[i]
                    let g = dOutput[i] * (1 - y * y) + carried
                    du[i] = g
                    let previous = t > 0 ? saved.h[i - H] : saved.h0[bi * H + j]
                    da += g * previous
                    db += g
                    carried = aj * g
                }
                a.gradient[j] += da
                b.gradient[j] += db
            }
        }
        multiply(transposed(du, rows: rows, columns: H), saved.x, into: &w.gradient,
                 m: H, n: inputSize, k: rows, accumulate: true)
        var dx = [F](repeating: 0, count: rows * inputSize)
        multiply(du, w.value, into: &dx, m: rows, n: inputSize, k: H)
        return dx
    }
}
