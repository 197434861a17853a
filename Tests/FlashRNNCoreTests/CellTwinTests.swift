import CellTwins
import Foundation
import Testing
@testable import FlashRNNCore

/// Each CUDA cell struct (compiled for the host by the CellTwins target, AccurateMath: float64
/// with libm, each output rounded to float32 once) against its Swift twin as the CPU float32
/// backend runs it (in Double, rounded once), on many random float32 inputs: same constants,
/// same forward and backward bit for bit (the same libm calls and operations in the same order,
/// FP_CONTRACT off; the device's own exp/expm1/reciprocal differ from libm by float64 ulps).
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
        var first: (String, Float, Float)? = nil
        var mismatches = 0, compared = 0
        for _ in 0..<20_000 {
            let (pre, previous, dNew) = Self.randomInputs(cell, &rng)
            var next = [Float](repeating: .nan, count: 4), dPre = next, dPrevious = next
            #expect(flashrnn_twin_forward(Self.index(cell), pre, previous, &next) == 0)
            #expect(flashrnn_twin_backward(Self.index(cell), pre, previous, dNew, &dPre, &dPrevious) == 0)
            let p = SIMD4(pre[0], pre[1], pre[2], pre[3]), s = SIMD4(previous[0], previous[1], previous[2], previous[3])
            let d = SIMD4(dNew[0], dNew[1], dNew[2], dNew[3])
            let swiftNext = swiftCell.forwardRoundedOnce(pre: p, previous: s)
            let (swiftDPre, swiftDPrevious) = swiftCell.backwardRoundedOnce(pre: p, previous: s, dNew: d)
            for lane in 0..<4 {
                for (name, cuda, ours) in [("next", next[lane], swiftNext[lane]), ("dPre", dPre[lane], swiftDPre[lane]),
                                           ("dPrevious", dPrevious[lane], swiftDPrevious[lane])] {
                    compared += 1
                    if cuda != ours {
                        mismatches += 1
                        first = first ?? ("\(name)[\(lane)] pre \(pre) previous \(previous) dNew \(dNew)", cuda, ours)
                    }
                }
            }
        }
        #expect(mismatches == 0, "\(cell): \(mismatches) of \(compared) differ; first \(String(describing: first))")
    }
}
