import Foundation
import Testing
@testable import FlashRNNCore

/// Gate order is part of the API (spec section 3). Each cell gets limit cases named by gate
/// ("a huge forget gate keeps c"); the same cases run with the gate slots permuted must fail,
/// which shows every swap of two gates is caught, for gates fed by b, by Wx and by R.
@Suite struct GateOrderTests {
    enum Injection: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case bias, input, recurrent
        var testDescription: String { rawValue }
    }

    /// Pre-activations by gate in the spec's order and the expected new states (nil: not checked).
    struct LimitCase { var pre: [Double]; var expected: [Double?] }

    static let big = 30.0
    static let h0 = 0.5

    /// Previous states `[S]` of the one element.
    static func previous(_ cell: CellKind) -> [Double] {
        switch cell {
        case .lstm: [h0, 0.7]
        case .slstm: [h0, 0.7, 1.5, 0.2]
        case .gru, .elman: [h0]
        }
    }

    static func cases(_ cell: CellKind) -> [LimitCase] {
        let z = 0.4
        switch cell {
        case .lstm:    // i, f, z, o; states h, c
            return [
                // A huge forget gate and a closed input gate keep c.
                LimitCase(pre: [-big, big, z, big], expected: [tanh(0.7), 0.7]),
                // A closed forget gate and an open input gate replace c by z.
                LimitCase(pre: [big, -big, z, big], expected: [tanh(tanh(z)), tanh(z)]),
                // A closed output gate hides c from h.
                LimitCase(pre: [big, big, z, -big], expected: [0, 0.7 + tanh(z)]),
            ]
        case .slstm:   // i, f, z, o; states h, c, n, m (previous n = 1.5, m = 0.2)
            return [
                LimitCase(pre: [-big, big, z, big], expected: [0.7 / 1.5, 0.7, 1.5, 0.2]),
                LimitCase(pre: [big, -big, z, big], expected: [tanh(z), tanh(z), 1, big]),
                LimitCase(pre: [big, big, z, -big], expected: [0, tanh(z), 1, big]),
            ]
        case .gru:     // g, r, z, n; state h (previous h = 0.5)
            let g = 0.3, n = -0.2
            return [
                // A huge update gate keeps h.
                LimitCase(pre: [g, 0.1, big, n], expected: [h0]),
                // A closed update gate and a closed reset gate give tanh(ñ).
                LimitCase(pre: [g, -big, -big, n], expected: [tanh(n)]),
                // An open reset gate adds the recurrent term g.
                LimitCase(pre: [g, big, -big, n], expected: [tanh(n + g)]),
            ]
        case .elman:
            return [LimitCase(pre: [0.3], expected: [tanh(0.3)])]
        }
    }

    /// Runs one step of one element (B = T = N = D = 1), with the G_T pre-activations fed through
    /// `injection`; `slots` permutes the slots of the injected tensor (identity: the spec's order).
    static func step(_ cell: CellKind, _ injection: Injection, pre: [Double], slots: [Int]) throws -> [Double] {
        let sources = ReferenceRecurrence.gateSources(cell)
        var b = [Double](repeating: 0, count: cell.gatesT)
        var wx = [Double](repeating: 0, count: cell.gatesW)
        var r = [Double](repeating: 0, count: cell.gatesR)
        for (k, source) in sources.enumerated() {
            switch injection {
            case .bias: b[k] = pre[k]
            case .input: if let w = source.w { wx[w] = pre[k] } else { b[k] = pre[k] }
            case .recurrent: if let kr = source.r { r[kr] = pre[k] / h0 } else { b[k] = pre[k] }
            }
        }
        switch injection {
        case .bias: b = slots.map { b[$0] }
        case .input: wx = slots.map { wx[$0] }
        case .recurrent: r = slots.map { r[$0] }
        }
        let problem = try RecurrentProblem(
            cell: cell, wx: Tensor(shape: [1, 1, cell.gatesW, 1, 1], values: wx),
            r: Tensor(shape: [cell.gatesR, 1, 1, 1], values: r), b: Tensor(shape: [cell.gatesT, 1, 1], values: b),
            initialStates: Tensor(shape: [cell.states, 1, 1, 1], values: previous(cell)))
        return try CPUBackend(threads: 1).run(problem, dtype: .float64, saveForBackward: false).lastStates.doubles()
    }

    static func allCasesHold(_ cell: CellKind, _ injection: Injection, slots: [Int]) throws -> Bool {
        for limit in cases(cell) {
            let states = try step(cell, injection, pre: limit.pre, slots: slots)
            for (s, expected) in limit.expected.enumerated() {
                if let expected, !(abs(states[s] - expected) <= 1e-9 * max(1, abs(expected))) { return false }
            }
        }
        return true
    }

    static func permutations(_ n: Int) -> [[Int]] {
        if n <= 1 { return [Array(0..<n)] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    @Test(arguments: CellKind.allCases, Injection.allCases)
    func limitCasesPinGateOrder(cell: CellKind, injection: Injection) throws {
        let slotCount = switch injection { case .bias: cell.gatesT; case .input: cell.gatesW; case .recurrent: cell.gatesR }
        #expect(try Self.allCasesHold(cell, injection, slots: Array(0..<slotCount)))
        for slots in Self.permutations(slotCount) where slots != Array(0..<slotCount) {
            #expect(try !Self.allCasesHold(cell, injection, slots: slots), "gate slots \(slots) are not told apart")
        }
    }

    /// R is stored out × in: `(R·h)[d] = Σ_p R[d, p] h[p]`, checked where the transpose differs.
    @Test func recurrentMatrixIsOutByIn() throws {
        let r = [0.9, -0.4, 0.2, 0.6], h = [0.5, -1.0]
        let problem = try RecurrentProblem(
            cell: .elman, wx: Tensor.zeros([1, 1, 1, 1, 2]), r: Tensor(shape: [1, 1, 2, 2], values: r),
            b: Tensor.zeros([1, 1, 2]), initialStates: Tensor(shape: [1, 1, 1, 2], values: h))
        let out = try CPUBackend().run(problem, dtype: .float64, saveForBackward: false).lastStates.doubles()
        let expected = [tanh(r[0] * h[0] + r[1] * h[1]), tanh(r[2] * h[0] + r[3] * h[1])]
        let transposed = [tanh(r[0] * h[0] + r[2] * h[1]), tanh(r[1] * h[0] + r[3] * h[1])]
        #expect(relativeError(out, expected) <= 1e-15)
        #expect(relativeError(transposed, expected) > 0.1)
    }
}
