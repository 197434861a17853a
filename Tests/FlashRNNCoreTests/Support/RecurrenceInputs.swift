import Foundation
@testable import FlashRNNCore

/// The inputs of one recurrence as float64 arrays, `Wx` in the default `[B, T, G_W, N, D]` layout.
struct RecurrenceInputs {
    var shape: ProblemShape
    var wx: [Double]        // [B, T, G_W, N, D]
    var r: [Double]         // [G_R, N, D, D]
    var b: [Double]         // [G_T, N, D]
    var s0: [Double]?       // [S, B, N, D]; nil means zeros

    var cell: CellKind { shape.cell }

    /// Draws inputs as upstream's tests do: `Wx ~ N(0,1)`, `R ~ N(0,1)/√D`, `b ~ N(0,1)`.
    /// Initial states are N(0,1) except the sLSTM normaliser n, drawn in [1, 2) (spec section 6).
    static func random(_ shape: ProblemShape, initialStates: Bool, rng: inout TestRandom) -> RecurrenceInputs {
        let cell = shape.cell
        let wx = rng.normals(shape.wxShape(.btgnd).reduce(1, *))
        let r = rng.normals(shape.rShape.reduce(1, *), scale: 1 / Double(shape.headDim).squareRoot())
        let b = rng.normals(shape.bShape.reduce(1, *))
        var s0: [Double]? = nil
        if initialStates {
            let perState = shape.batch * shape.heads * shape.headDim
            var values = rng.normals(cell.states * perState)
            if cell == .slstm {
                for i in 0..<perState { values[2 * perState + i] = rng.uniform(1, 2) }
            }
            s0 = values
        }
        return RecurrenceInputs(shape: shape, wx: wx, r: r, b: b, s0: s0)
    }

    /// `Wx` in `layout`.
    func wx(in layout: InputLayout) -> [Double] {
        layout == .btgnd ? wx : swapLeadingDims(wx, shape.batch, shape.length)
    }

    /// The problem the backend sees, with initial states `[S, B, N, D]` or `[S, B, 1, N, D]`.
    func problem(options: RecurrentOptions = RecurrentOptions(), dtype: DType = .float64,
                 initialStatesWithOne: Bool = false) throws -> RecurrentProblem {
        let s = shape
        let s0Tensor = s0.map {
            Tensor(shape: initialStatesWithOne ? [s.cell.states, s.batch, 1, s.heads, s.headDim] : s.lastStatesShape,
                   values: $0, dtype: dtype)
        }
        return try RecurrentProblem(cell: s.cell,
                                    wx: Tensor(shape: s.wxShape(options.inputLayout), values: wx(in: options.inputLayout), dtype: dtype),
                                    r: Tensor(shape: s.rShape, values: r, dtype: dtype),
                                    b: Tensor(shape: s.bShape, values: b, dtype: dtype),
                                    initialStates: s0Tensor, options: options)
    }

    /// The same inputs rounded to `dtype` and back.
    func rounded(to dtype: DType) -> RecurrenceInputs {
        RecurrenceInputs(shape: shape, wx: wx.map(dtype.round), r: r.map(dtype.round), b: b.map(dtype.round),
                         s0: s0.map { $0.map(dtype.round) })
    }
}

/// `[X, Y, rest…]` → `[Y, X, rest…]` for a row-major array.
func swapLeadingDims(_ a: [Double], _ x: Int, _ y: Int) -> [Double] {
    let inner = a.count / (x * y)
    var out = [Double](repeating: 0, count: a.count)
    for i in 0..<x { for j in 0..<y {
        let from = (i * y + j) * inner, to = (j * x + i) * inner
        for k in 0..<inner { out[to + k] = a[from + k] }
    } }
    return out
}

/// Random output gradients for `shape`; for sLSTM only h receives gradient (spec section 6).
func randomOutputGradients(_ shape: ProblemShape, rng: inout TestRandom, hOnly: Bool? = nil)
    -> (dStates: [Double], dLast: [Double]) {
    var dS = rng.normals(shape.statesShape.reduce(1, *))
    var dL = rng.normals(shape.lastStatesShape.reduce(1, *))
    if hOnly ?? (shape.cell == .slstm) {
        let perStateS = dS.count / shape.cell.states, perStateL = dL.count / shape.cell.states
        for i in perStateS..<dS.count { dS[i] = 0 }
        for i in perStateL..<dL.count { dL[i] = 0 }
    }
    return (dS, dL)
}

/// `Σ states·dS + Σ last·dL`.
func loss(_ result: ForwardResult, dStates: [Double], dLast: [Double]) throws -> Double {
    let s = try result.states.doubles(), l = try result.lastStates.doubles()
    var total = 0.0
    for i in s.indices { total += s[i] * dStates[i] }
    for i in l.indices { total += l[i] * dLast[i] }
    return total
}

/// Runs the CPU backend forward and backward on `inputs`.
func cpuForwardBackward(_ inputs: RecurrenceInputs, options: RecurrentOptions = RecurrentOptions(), dtype: DType = .float64,
                        dStates: [Double], dLast: [Double], threads: Int? = 1)
    throws -> (forward: ForwardResult, gradients: Gradients) {
    let problem = try inputs.problem(options: options, dtype: dtype)
    let result = try CPUBackend(threads: threads).run(problem, dtype: dtype, saveForBackward: true)
    guard let context = result.context else { throw FlashRNNError.invalidContext("no context") }
    let s = inputs.shape
    let grads = try runBackward(context, dStates: Tensor(shape: s.statesShape, values: dStates, dtype: dtype),
                                dLast: Tensor(shape: s.lastStatesShape, values: dLast, dtype: dtype))
    return (result, grads)
}
