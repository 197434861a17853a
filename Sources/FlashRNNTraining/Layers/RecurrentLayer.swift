import FlashRNN

/// A recurrent layer of one of the four cells, owning its parameters.
///
/// `W [G_W·N·D, input]` projects the input: `Wx = x·Wᵀ` is `[B·T, G_W·N·D]`, which is the
/// memory of `[B, T, G_W, N, D]`, so it goes to ``RNN/forward`` without a copy. The layer's
/// output is the hidden state h `[B, T, N·D]` (state 0 of `[S, B, T, N, D]`).
public final class RecurrentLayer<F: CellScalar>: SequenceLayer {
    public typealias Scalar = F
    public let cell: CellKind
    public let heads: Int      // N
    public let headDim: Int    // D
    public let inputSize: Int
    public var outputSize: Int { heads * headDim }
    /// `[G_W·N·D, input]`
    public let w: Parameter<F>
    /// `[G_R, N, D, D]`
    public let r: Parameter<F>
    /// `[G_T, N, D]`
    public let b: Parameter<F>
    public var backend: BackendChoice
    public var parameters: [Parameter<F>] { [w, r, b] }

    private var saved: (x: [F], context: BackwardContext, batch: Int, length: Int)?

    /// PyTorch-like initialisation: every parameter uniform in ±1/√(N·D).
    public init(cell: CellKind, inputSize: Int, heads: Int, headDim: Int, name: String,
                backend: BackendChoice = .automatic, rng: inout SplitMix64) {
        self.cell = cell; self.inputSize = inputSize; self.heads = heads; self.headDim = headDim
        self.backend = backend
        let bound = 1 / Double(heads * headDim).squareRoot()
        w = .uniform("\(name).W", [cell.gatesW * heads * headDim, inputSize], bound: bound, decays: true, rng: &rng)
        r = .uniform("\(name).R", [cell.gatesR, heads, headDim, headDim], bound: bound, decays: true, rng: &rng)
        b = .uniform("\(name).b", [cell.gatesT, heads, headDim], bound: bound, decays: false, rng: &rng)
    }

    public func stateShape(batch: Int) -> [Int] { [cell.states, batch, heads, headDim] }

    public func forward(_ x: [F], batch: Int, length: Int, initialState: Tensor?, training: Bool) throws
        -> (output: [F], lastState: Tensor) {
        let rows = batch * length, width = cell.gatesW * heads * headDim
        precondition(x.count == rows * inputSize, "input must be [B, T, \(inputSize)]")
        var wx = [F](repeating: 0, count: rows * width)
        multiply(x, transposed(w.value, rows: width, columns: inputSize), into: &wx, m: rows, n: width, k: inputSize)
        let result = try RNN.forward(
            cell: cell,
            wx: TensorBridge.tensor(wx, [batch, length, cell.gatesW, heads, headDim]),
            r: TensorBridge.tensor(r.value, r.shape), b: TensorBridge.tensor(b.value, b.shape),
            initialStates: try initialState.map { try $0.converted(to: TensorBridge.dtype(F.self)) },
            dtype: TensorBridge.dtype(F.self), backend: backend, requiresGradient: training)
        let states = try TensorBridge.values(result.states, as: F.self)   // [S, B, T, N, D]
        saved = training ? (x, result.context!, batch, length) : nil
        return (Array(states[0..<(rows * outputSize)]), result.lastStates)
    }

    public func backward(_ dOutput: [F]) throws -> [F] {
        guard let saved else { preconditionFailure("backward needs a forward with training: true") }
        self.saved = nil
        let rows = saved.batch * saved.length, width = cell.gatesW * heads * headDim
        // dStates [S, B, T, N, D]: only h (state 0) reaches the output.
        var dStates = [F](repeating: 0, count: cell.states * rows * outputSize)
        dStates.replaceSubrange(0..<(rows * outputSize), with: dOutput)
        let grads = try RNN.backward(saved.context,
                                     dStates: TensorBridge.tensor(dStates, [cell.states, saved.batch, saved.length, heads, headDim]),
                                     dLast: nil)
        let dWx = try TensorBridge.values(grads.dWx, as: F.self)   // [B·T, G_W·N·D]
        let dR = try TensorBridge.values(grads.dR, as: F.self)
        let db = try TensorBridge.values(grads.db, as: F.self)
        for i in dR.indices { r.gradient[i] += dR[i] }
        for i in db.indices { b.gradient[i] += db[i] }
        // dW += dWxᵀ · x
        multiply(transposed(dWx, rows: rows, columns: width), saved.x, into: &w.gradient,
                 m: width, n: inputSize, k: rows, accumulate: true)
        // dx = dWx · W
        var dx = [F](repeating: 0, count: rows * inputSize)
        multiply(dWx, w.value, into: &dx, m: rows, n: inputSize, k: width)
        return dx
    }
}
