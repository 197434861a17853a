import Foundation
@testable import FlashRNNCore

/// A straightforward float64 implementation of the spec's formulas (sections 3 and 5), written
/// independently of the library's cells and backend: gates by name, per-element loops.
struct ReferenceRecurrence {
    let inputs: RecurrenceInputs
    var forwardClip: Double? = nil

    var shape: ProblemShape { inputs.shape }

    struct Forward {
        var states: [Double]       // [S, B, T, N, D]
        var hUnclipped: [Double]   // [B, T, N, D]: h_t before forwardClip
        var hPrevious: [Double]    // [B, T, N, D]: h_{t-1} as fed to R at step t
    }

    // MARK: Indexing

    func wxIndex(_ b: Int, _ t: Int, _ k: Int, _ n: Int, _ d: Int) -> Int {
        (((b * shape.length + t) * shape.cell.gatesW + k) * shape.heads + n) * shape.headDim + d
    }
    func rIndex(_ k: Int, _ n: Int, _ d: Int, _ p: Int) -> Int { ((k * shape.heads + n) * shape.headDim + d) * shape.headDim + p }
    func bIndex(_ k: Int, _ n: Int, _ d: Int) -> Int { (k * shape.heads + n) * shape.headDim + d }
    func stateIndex(_ s: Int, _ b: Int, _ t: Int, _ n: Int, _ d: Int) -> Int {
        (((s * shape.batch + b) * shape.length + t) * shape.heads + n) * shape.headDim + d
    }
    func initialIndex(_ s: Int, _ b: Int, _ n: Int, _ d: Int) -> Int {
        ((s * shape.batch + b) * shape.heads + n) * shape.headDim + d
    }
    func btndIndex(_ b: Int, _ t: Int, _ n: Int, _ d: Int) -> Int {
        ((b * shape.length + t) * shape.heads + n) * shape.headDim + d
    }

    // MARK: Cell math from the spec

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    static func logSigmoid(_ x: Double) -> Double { min(x, 0) - Foundation.log1p(Foundation.exp(-abs(x))) }

    /// sLSTM activations (spec 3.2): i, f, z, o and the new stabiliser m.
    static func slstmGates(_ pre: [Double], _ prev: [Double]) -> (i: Double, f: Double, z: Double, o: Double, m: Double) {
        let L = logSigmoid(pre[1]) + prev[3]
        let m = prev[2] == 0 ? pre[0] : max(pre[0], L)
        return (min(Foundation.exp(pre[0] - m), 1), min(Foundation.exp(L - m), 1), Foundation.tanh(pre[2]), sigmoid(pre[3]), m)
    }

    /// New states from the G_T pre-activations and the previous states.
    static func cellForward(_ cell: CellKind, _ pre: [Double], _ prev: [Double]) -> [Double] {
        switch cell {
        case .lstm:
            let (i, f, z, o) = (sigmoid(pre[0]), sigmoid(pre[1]), Foundation.tanh(pre[2]), sigmoid(pre[3]))
            let c = f * prev[1] + i * z
            return [o * Foundation.tanh(c), c]
        case .slstm:
            let g = slstmGates(pre, prev)
            let c = g.f * prev[1] + g.i * g.z
            let n = max(g.f * prev[2] + g.i, 1)
            return [g.o * c / n, c, n, g.m]
        case .gru:
            let (gRec, r, z) = (pre[0], sigmoid(pre[1]), sigmoid(pre[2]))
            let n = Foundation.tanh(pre[3] + r * gRec)
            return [z * prev[0] + (1 - z) * n]
        case .elman:
            return [Foundation.tanh(pre[0])]
        }
    }

    /// Pre-activation gradients and direct-path gradients to the previous states (spec 3.x backward).
    static func cellBackward(_ cell: CellKind, _ pre: [Double], _ prev: [Double], _ dNew: [Double])
        -> (dPre: [Double], dPrev: [Double]) {
        switch cell {
        case .lstm:
            let (i, f, z, o) = (sigmoid(pre[0]), sigmoid(pre[1]), Foundation.tanh(pre[2]), sigmoid(pre[3]))
            let c = f * prev[1] + i * z, tc = Foundation.tanh(c)
            let (dh, dc) = (dNew[0], dNew[1] + dNew[0] * o * (1 - tc * tc))
            return ([dc * z * i * (1 - i), dc * prev[1] * f * (1 - f), dc * i * (1 - z * z), dh * tc * o * (1 - o)],
                    [0, dc * f])
        case .slstm:
            let g = slstmGates(pre, prev)
            let c = g.f * prev[1] + g.i * g.z
            let n = max(g.f * prev[2] + g.i, 1)
            let h = g.o * c / n
            let dh = dNew[0]
            let dc = dNew[1] + dh * g.o / n
            let dn = dNew[2] - dh * h / n
            return ([g.i * (g.z * dc + dn),
                     g.f * (dc * prev[1] + dn * prev[2]) * (1 - sigmoid(pre[1])),
                     dc * g.i * (1 - g.z * g.z),
                     dh * (c / n) * g.o * (1 - g.o)],
                    [0, dc * g.f, dn * g.f, 0])
        case .gru:
            let (gRec, r, z) = (pre[0], sigmoid(pre[1]), sigmoid(pre[2]))
            let n = Foundation.tanh(pre[3] + r * gRec)
            let dy = dNew[0]
            let dnTilde = dy * (1 - z) * (1 - n * n)
            return ([dnTilde * r, dnTilde * gRec * r * (1 - r), dy * (prev[0] - n) * z * (1 - z), dnTilde], [z * dy])
        case .elman:
            let h = Foundation.tanh(pre[0])
            return ([dNew[0] * (1 - h * h)], [0])
        }
    }

    /// Where gate k of G_T takes its R term (an index into G_R) and its Wx term (an index into G_W).
    static func gateSources(_ cell: CellKind) -> [(r: Int?, w: Int?)] {
        switch cell {
        case .lstm, .slstm: [(0, 0), (1, 1), (2, 2), (3, 3)]
        case .gru: [(0, nil), (1, 0), (2, 1), (nil, 2)]    // g, r, z, n
        case .elman: [(0, 0)]
        }
    }

    // MARK: Recurrence

    /// Runs the recurrence. With `frozenH` (h_{t-1} per step, `[B, T, N, D]`) the R term uses those
    /// values instead of the live hidden state: the stop-gradient function of gradientRecurrentCut.
    func forward(frozenH: [Double]? = nil) -> Forward {
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, shape.cell.states)
        let cell = shape.cell, sources = Self.gateSources(cell)
        var states = [Double](repeating: 0, count: S * B * T * N * D)
        var hUnclipped = [Double](repeating: 0, count: B * T * N * D)
        var hPrevious = [Double](repeating: 0, count: B * T * N * D)
        let s0 = inputs.s0 ?? [Double](repeating: 0, count: S * B * N * D)
        func state(_ s: Int, _ b: Int, _ t: Int, _ n: Int, _ d: Int) -> Double {
            t < 0 ? s0[initialIndex(s, b, n, d)] : states[stateIndex(s, b, t, n, d)]
        }
        for t in 0..<T { for b in 0..<B { for n in 0..<N {
            for p in 0..<D { hPrevious[btndIndex(b, t, n, p)] = state(0, b, t - 1, n, p) }
            let hR = (0..<D).map { p in frozenH?[btndIndex(b, t, n, p)] ?? state(0, b, t - 1, n, p) }
            for d in 0..<D {
                var pre = [Double](repeating: 0, count: sources.count)
                for (k, source) in sources.enumerated() {
                    var x = inputs.b[bIndex(k, n, d)]
                    if let kr = source.r { for p in 0..<D { x += inputs.r[rIndex(kr, n, d, p)] * hR[p] } }
                    if let kw = source.w { x += inputs.wx[wxIndex(b, t, kw, n, d)] }
                    pre[k] = x
                }
                let prev = (0..<S).map { state($0, b, t - 1, n, d) } + [Double](repeating: 0, count: 4 - S)
                var next = Self.cellForward(cell, pre, prev)
                hUnclipped[btndIndex(b, t, n, d)] = next[0]
                if let clip = forwardClip { next[0] = min(max(next[0], -clip), clip) }
                for s in 0..<S { states[stateIndex(s, b, t, n, d)] = next[s] }
            }
        } } }
        return Forward(states: states, hUnclipped: hUnclipped, hPrevious: hPrevious)
    }

    struct Backward {
        var dWx: [Double], dR: [Double], db: [Double], dInitial: [Double]
    }

    /// Backward by spec section 5, per element. `recurrentTerm` maps the `Rᵀ·dG` term before it is
    /// added to the gradient at h_{t-1} (identity, clip, or cut).
    func backward(dStates: [Double], dLast: [Double], recurrentTerm: (Double) -> Double = { $0 }) -> Backward {
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, shape.cell.states)
        let cell = shape.cell, sources = Self.gateSources(cell), GT = sources.count
        let fwd = forward()
        let s0 = inputs.s0 ?? [Double](repeating: 0, count: S * B * N * D)
        var dWx = [Double](repeating: 0, count: inputs.wx.count)
        var dR = [Double](repeating: 0, count: inputs.r.count)
        var db = [Double](repeating: 0, count: inputs.b.count)
        var dNext = [Double](repeating: 0, count: S * B * N * D)        // direct paths, [S, B, N, D]
        var dRecurrent = [Double](repeating: 0, count: B * N * D)       // Rᵀ·dG, [B, N, D]
        for t in stride(from: T - 1, through: 0, by: -1) {
            var dPre = [Double](repeating: 0, count: B * GT * N * D)   // [B, G_T, N, D]
            for b in 0..<B { for n in 0..<N {
                // Recompute the pre-activations of step t from the saved h_{t-1}.
                for d in 0..<D {
                    var pre = [Double](repeating: 0, count: GT)
                    for (k, source) in sources.enumerated() {
                        var x = inputs.b[bIndex(k, n, d)]
                        if let kr = source.r { for p in 0..<D { x += inputs.r[rIndex(kr, n, d, p)] * fwd.hPrevious[btndIndex(b, t, n, p)] } }
                        if let kw = source.w { x += inputs.wx[wxIndex(b, t, kw, n, d)] }
                        pre[k] = x
                    }
                    var prev = [Double](repeating: 0, count: 4), dNew = [Double](repeating: 0, count: 4)
                    for s in 0..<S {
                        prev[s] = t == 0 ? s0[initialIndex(s, b, n, d)] : fwd.states[stateIndex(s, b, t - 1, n, d)]
                        dNew[s] = dStates[stateIndex(s, b, t, n, d)] + dNext[initialIndex(s, b, n, d)]
                        if t == T - 1 { dNew[s] += dLast[initialIndex(s, b, n, d)] }
                    }
                    dNew[0] += recurrentTerm(dRecurrent[(b * N + n) * D + d])
                    if let clip = forwardClip, abs(fwd.hUnclipped[btndIndex(b, t, n, d)]) > clip { dNew[0] = 0 }
                    let (dp, dPrev) = Self.cellBackward(cell, pre, prev, dNew)
                    for s in 0..<S { dNext[initialIndex(s, b, n, d)] = dPrev[s] }
                    for k in 0..<GT { dPre[((b * GT + k) * N + n) * D + d] = dp[k] }
                }
                // Rᵀ·dG to h_{t-1}; dR, db, dWx from this step's dG.
                for p in 0..<D { dRecurrent[(b * N + n) * D + p] = 0 }
                for (k, source) in sources.enumerated() {
                    for d in 0..<D {
                        let g = dPre[((b * GT + k) * N + n) * D + d]
                        db[bIndex(k, n, d)] += g
                        if let kw = source.w { dWx[wxIndex(b, t, kw, n, d)] = g }
                        if let kr = source.r {
                            for p in 0..<D {
                                dR[rIndex(kr, n, d, p)] += g * fwd.hPrevious[btndIndex(b, t, n, p)]
                                dRecurrent[(b * N + n) * D + p] += inputs.r[rIndex(kr, n, d, p)] * g
                            }
                        }
                    }
                }
            } }
        }
        var dInitial = dNext
        for b in 0..<B { for n in 0..<N { for d in 0..<D {
            dInitial[initialIndex(0, b, n, d)] += recurrentTerm(dRecurrent[(b * N + n) * D + d])
        } } }
        if cell == .slstm {
            for b in 0..<B { for n in 0..<N { for d in 0..<D { dInitial[initialIndex(3, b, n, d)] = 0 } } }
        }
        return Backward(dWx: dWx, dR: dR, db: db, dInitial: dInitial)
    }
}
