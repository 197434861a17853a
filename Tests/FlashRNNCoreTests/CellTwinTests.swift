import CellTwins
import Foundation
import Testing
@testable import FlashRNNCore

/// Each CUDA cell struct (compiled for the host by the CellTwins target) against its Swift twin,
/// in float32, on many random inputs: same constants, same forward and backward to a few ulps.
@Suite struct CellTwinTests {
    static func index(_ cell: CellKind) -> Int32 { Int32(CellKind.allCases.firstIndex(of: cell)!) }

    @Test(arguments: CellKind.allCases)
    func constantsMatch(cell: CellKind) {
        var constants = [Int32](repeating: -7, count: 6)
        #expect(flashrnn_twin_constants(Self.index(cell), &constants) == 0)
        #expect(constants.map(Int.init) == [cell.gatesR, cell.gatesW, cell.gatesT, cell.states,
                                           cell.recurrentGateOffset, cell.inputGateOffset])
        #expect(flashrnn_twin_constants(99, &constants) == -1)
    }

    /// Agreement to `ulps` units in the last place of the larger magnitude.
    static func close(_ a: Float, _ b: Float, ulps: Float = 4) -> Bool {
        if a == b { return true }
        guard a.isFinite, b.isFinite else { return false }
        return abs(a - b) <= ulps * max(abs(a), abs(b)).ulp
    }

    /// Random element inputs: pre-activations mostly N(0, 2²) with some far in the saturated tails,
    /// previous states N(0,1) with n either 0 (fresh) or in [1, 5) and m spread wide.
    static func randomInputs(_ cell: CellKind, _ rng: inout TestRandom) -> (pre: [Float], previous: [Float], dNew: [Float]) {
        var pre = [Float](repeating: 0, count: 4), previous = pre, dNew = pre
        for k in 0..<cell.gatesT {
            pre[k] = Float(rng.next() % 8 == 0 ? rng.uniform(-25, 25) : 2 * rng.normal())
        }
        for s in 0..<cell.states {
            previous[s] = Float(rng.normal())
            dNew[s] = Float(rng.normal())
        }
        if cell == .slstm {
            previous[2] = rng.next() % 4 == 0 ? 0 : Float(rng.uniform(1, 5))
            previous[3] = Float(3 * rng.normal())
        }
        return (pre, previous, dNew)
    }

    @Test(arguments: CellKind.allCases)
    func forwardAndBackwardMatchSwiftCells(cell: CellKind) {
        var rng = TestRandom(seed: seed("twins \(cell)"))
        let swiftCell = cell.cellType
        var worst: (String, Float, Float)? = nil
        var mismatches = 0, exact = 0, compared = 0
        for _ in 0..<20_000 {
            let (pre, previous, dNew) = Self.randomInputs(cell, &rng)
            var next = [Float](repeating: .nan, count: 4), dPre = next, dPrevious = next
            #expect(flashrnn_twin_forward(Self.index(cell), pre, previous, &next) == 0)
            #expect(flashrnn_twin_backward(Self.index(cell), pre, previous, dNew, &dPre, &dPrevious) == 0)
            let p = SIMD4(pre[0], pre[1], pre[2], pre[3]), s = SIMD4(previous[0], previous[1], previous[2], previous[3])
            let d = SIMD4(dNew[0], dNew[1], dNew[2], dNew[3])
            let swiftNext = swiftCell.forward(pre: p, previous: s)
            let (swiftDPre, swiftDPrevious) = swiftCell.backward(pre: p, previous: s, dNew: d)
            for lane in 0..<4 {
                for (name, cuda, ours) in [("next", next[lane], swiftNext[lane]), ("dPre", dPre[lane], swiftDPre[lane]),
                                           ("dPrevious", dPrevious[lane], swiftDPrevious[lane])] {
                    compared += 1
                    if cuda == ours { exact += 1 }
                    if !Self.close(cuda, ours) {
                        mismatches += 1
                        worst = worst ?? ("\(name)[\(lane)] pre \(pre) previous \(previous) dNew \(dNew)", cuda, ours)
                    }
                }
            }
        }
        #expect(mismatches == 0, "\(cell): \(mismatches) of \(compared) differ by more than 4 ulps; first \(String(describing: worst))")
        // Unused lanes are zero in both; at least those agree bitwise, so exact agreement is never zero.
        #expect(exact > 0)
    }
}
