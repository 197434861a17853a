import Foundation
import Testing
@testable import FlashRNNCore

/// PyTorch's nn.LSTM, nn.GRU and nn.RNN (tanh), written here from PyTorch's documented equations
/// (weight_ih `[G·H, I]`, weight_hh `[G·H, H]`, bias_ih, bias_hh; gate rows i, f, g, o for LSTM and
/// r, z, n for GRU), mapped to our tensors as spec sections 3.1, 3.3 and 3.4 say.
@Suite struct PyTorchMappingTests {
    enum Module: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case lstm, gru, rnn
        var gates: Int { switch self { case .lstm: 4; case .gru: 3; case .rnn: 1 } }
        var cell: CellKind { switch self { case .lstm: .lstm; case .gru: .gru; case .rnn: .elman } }
        var testDescription: String { "nn.\(rawValue.uppercased())" }
    }

    static let (B, T, I, H) = (2, 4, 3, 5)

    struct Weights {
        var weightIH: [Double], weightHH: [Double], biasIH: [Double], biasHH: [Double]
        var x: [Double]           // [B, T, I] (batch_first)
        var h0: [Double], c0: [Double]   // [B, H]
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// `W[rows g·H ..< (g+1)·H] · v` for a row-major `[rows, cols]` matrix.
    static func block(_ w: [Double], gate g: Int, cols: Int, _ v: ArraySlice<Double>) -> [Double] {
        (0..<H).map { j in
            let row = g * H + j
            return (0..<cols).reduce(0.0) { $0 + w[row * cols + $1] * v[v.startIndex + $1] }
        }
    }

    /// PyTorch's recurrence: the h sequence `[B, T, H]` and, for LSTM, the c sequence.
    static func pytorch(_ module: Module, _ w: Weights) -> (h: [Double], c: [Double]) {
        var hs = [Double](repeating: 0, count: B * T * H), cs = hs
        for b in 0..<B {
            var h = Array(w.h0[b * H ..< (b + 1) * H]), c = Array(w.c0[b * H ..< (b + 1) * H])
            for t in 0..<T {
                let x = w.x[(b * T + t) * I ..< (b * T + t + 1) * I]
                func gi(_ g: Int) -> [Double] { zip(block(w.weightIH, gate: g, cols: I, x), w.biasIH[g * H ..< (g + 1) * H]).map(+) }
                func gh(_ g: Int) -> [Double] { zip(block(w.weightHH, gate: g, cols: H, h[...]), w.biasHH[g * H ..< (g + 1) * H]).map(+) }
                switch module {
                case .lstm:
                    // i, f, g, o = σ, σ, tanh, σ of W_i· x + b_i· + W_h· h + b_h·
                    let pre = (0..<4).map { g in zip(gi(g), gh(g)).map(+) }
                    for j in 0..<H {
                        let i = sigmoid(pre[0][j]), f = sigmoid(pre[1][j]), gg = tanh(pre[2][j]), o = sigmoid(pre[3][j])
                        c[j] = f * c[j] + i * gg
                        h[j] = o * tanh(c[j])
                    }
                case .gru:
                    let (ir, iz, inn) = (gi(0), gi(1), gi(2)), (hr, hz, hn) = (gh(0), gh(1), gh(2))
                    for j in 0..<H {
                        let r = sigmoid(ir[j] + hr[j]), z = sigmoid(iz[j] + hz[j])
                        let n = tanh(inn[j] + r * hn[j])
                        h[j] = (1 - z) * n + z * h[j]
                    }
                case .rnn:
                    let pre = zip(gi(0), gh(0)).map(+)
                    for j in 0..<H { h[j] = tanh(pre[j]) }
                }
                for j in 0..<H { hs[(b * T + t) * H + j] = h[j]; cs[(b * T + t) * H + j] = c[j] }
            }
        }
        return (hs, cs)
    }

    /// The spec's mapping onto `Wx [B, T, G_W, 1, H]`, `R [G_R, 1, H, H]`, `b [G_T, 1, H]`.
    static func mapped(_ module: Module, _ w: Weights) throws -> RecurrentProblem {
        let G = module.gates
        // x · weight_ihᵀ: [B, T, G·H], gate blocks in PyTorch's row order.
        var projected = [Double](repeating: 0, count: B * T * G * H)
        for bt in 0..<B * T { for row in 0..<G * H {
            projected[bt * G * H + row] = (0..<I).reduce(0.0) { $0 + w.weightIH[row * I + $1] * w.x[bt * I + $1] }
        } }
        func hhBlock(_ g: Int) -> ArraySlice<Double> { w.weightHH[g * H * H ..< (g + 1) * H * H] }
        func bias(_ array: [Double], _ g: Int) -> ArraySlice<Double> { array[g * H ..< (g + 1) * H] }
        let wx: [Double], r: [Double], b: [Double]
        switch module {
        case .lstm, .rnn:
            wx = projected
            r = w.weightHH                            // weight_hh.view(G, 1, H, H)
            b = zip(w.biasIH, w.biasHH).map(+)        // bias_ih + bias_hh
        case .gru:
            wx = projected                            // [W_ir x, W_iz x, W_in x]
            r = Array(hhBlock(2) + hhBlock(0) + hhBlock(1))   // [W_hn; W_hr; W_hz]
            b = Array(bias(w.biasHH, 2)) + zip(bias(w.biasIH, 0), bias(w.biasHH, 0)).map(+)
                + zip(bias(w.biasIH, 1), bias(w.biasHH, 1)).map(+) + Array(bias(w.biasIH, 2))
        }
        let cell = module.cell
        let s0 = module == .lstm ? w.h0 + w.c0 : w.h0
        return try RecurrentProblem(cell: cell, wx: Tensor(shape: [B, T, G, 1, H], values: wx),
                                    r: Tensor(shape: [cell.gatesR, 1, H, H], values: r),
                                    b: Tensor(shape: [cell.gatesT, 1, H], values: b),
                                    initialStates: Tensor(shape: [cell.states, B, 1, H], values: s0))
    }

    @Test(arguments: Module.allCases)
    func matchesPyTorchEquations(module: Module) throws {
        let (B, T, I, H) = (Self.B, Self.T, Self.I, Self.H)
        var rng = TestRandom(seed: seed("pytorch \(module)"))
        let G = module.gates, k = 1 / Double(H).squareRoot()
        // PyTorch initialises every weight uniformly in ±1/√H.
        func uniform(_ n: Int) -> [Double] { (0..<n).map { _ in rng.uniform(-k, k) * 3 } }
        let w = Weights(weightIH: uniform(G * H * I), weightHH: uniform(G * H * H), biasIH: uniform(G * H),
                        biasHH: uniform(G * H), x: rng.normals(B * T * I), h0: rng.normals(B * H), c0: rng.normals(B * H))
        let expected = Self.pytorch(module, w)
        let result = try CPUBackend().run(Self.mapped(module, w), dtype: .float64, saveForBackward: false)
        let states = try result.states.doubles()     // [S, B, T, 1, H]
        #expect(relativeError(Array(states[0 ..< B * T * H]), expected.h) <= 1e-12, "h")
        if module == .lstm {
            #expect(relativeError(Array(states[B * T * H ..< 2 * B * T * H]), expected.c) <= 1e-12, "c")
        }
    }
}
