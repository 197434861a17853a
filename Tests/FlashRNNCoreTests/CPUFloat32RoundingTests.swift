import Testing
@testable import FlashRNNCore

/// The CPU float32 path runs every cell in float64 and rounds each output to float32 once, as
/// the GPU's float32 kernels do (CPU/Float32/CellsInFloat64.swift). At T = B = D = 1 with inputs
/// whose float32 sums and products ahead of the cell are exact (multiples of 1/64, R and h_0
/// powers of two), the float64 run sees the very same cell inputs, so each float32 output is
/// the float64 output rounded once, bit for bit: states, last states, dWx, db (the sum of one
/// row) and dR (dG times a power of two). dInitial is the direct path (rounded once) plus
/// Rᵀ·dG, a float32 product of the rounded dG: with the recurrent gradient cut it is the float64
/// run's rounded once, else that plus the float32 sum of R_k·dG_k (exact products) over the gates.
@Suite struct CPUFloat32RoundingTests {
    /// k/64 for an integer k in [−128, 128).
    static func dyadic(_ rng: inout TestRandom) -> Double { Double(Int(rng.uniform(-128, 128))) / 64 }

    /// ±2^−j for j in 0…2.
    static func powerOfTwo(_ rng: inout TestRandom) -> Double {
        Double(sign: rng.next() % 2 == 0 ? .plus : .minus, exponent: -Int(rng.next() % 3), significand: 1)
    }

    static func inputs(_ cell: CellKind, initialStates: Bool, _ rng: inout TestRandom) -> RecurrenceInputs {
        let shape = ProblemShape(cell: cell, batch: 1, length: 1, heads: 1, headDim: 1)
        var s0: [Double]? = nil
        if initialStates {
            var values = (0..<cell.states).map { _ in dyadic(&rng) }
            values[0] = powerOfTwo(&rng)
            // The sLSTM normaliser n is 0 (a fresh state) or at least 1.
            if cell == .slstm { values[2] = rng.next() % 4 == 0 ? 0 : 1 + abs(dyadic(&rng)) }
            s0 = values
        }
        return RecurrenceInputs(shape: shape, wx: (0..<cell.gatesW).map { _ in dyadic(&rng) },
                                r: (0..<cell.gatesR).map { _ in powerOfTwo(&rng) },
                                b: (0..<cell.gatesT).map { _ in dyadic(&rng) }, s0: s0)
    }

    @Test(arguments: CellKind.allCases, [false, true])
    func singleElementOutputsAreFloat64RoundedOnce(cell: CellKind, cut: Bool) throws {
        var rng = TestRandom(seed: seed("rounded once \(cell) cut \(cut)"))
        let options = RecurrentOptions(gradientRecurrentCut: cut)
        var mismatches: [String] = []
        for draw in 0..<300 {
            let inputs = Self.inputs(cell, initialStates: draw % 4 != 0, &rng)
            let dStates = (0..<cell.states).map { _ in Self.dyadic(&rng) }
            let dLast = (0..<cell.states).map { _ in Self.dyadic(&rng) }
            func outputs(_ dtype: DType) throws -> [String: [Double]] {
                let (forward, grads) = try cpuForwardBackward(inputs, options: options, dtype: dtype,
                                                              dStates: dStates, dLast: dLast, threads: 1)
                return ["states": try forward.states.doubles(), "last": try forward.lastStates.doubles(),
                        "dWx": try grads.dWx.doubles(), "db": try grads.db.doubles(), "dR": try grads.dR.doubles(),
                        "dInitial": try grads.dInitialStates.doubles()]
            }
            let ours = try outputs(.float32), reference = try outputs(.float64)
            var expected = reference.mapValues { $0.map { Double(Float($0)) } }
            if !cut {
                // db holds dPre (B = T = 1); the recurrent gates' terms summed in float32 as the
                // packed product does (gate by gate from zero), then added to the direct path.
                let db = ours["db"]!, rOff = cell.recurrentGateOffset
                var recurrent: Float = 0
                for k in 0..<cell.gatesR { recurrent += Float(inputs.r[k]) * Float(db[k + rOff]) }
                let direct = try outputs64Cut(inputs, dStates: dStates, dLast: dLast)
                expected["dInitial"]![0] = Double(Float(direct[0]) + recurrent)
            }
            for (name, values) in ours where values != expected[name]! {
                mismatches.append("draw \(draw) \(name): float32 \(values) float64 rounded \(expected[name]!)")
            }
        }
        #expect(mismatches.isEmpty, "\(cell) cut=\(cut): \(mismatches.count) outputs differ; first \(mismatches.prefix(3))")
    }

    /// dInitial of the float64 run with the recurrent gradient cut: the direct paths only.
    func outputs64Cut(_ inputs: RecurrenceInputs, dStates: [Double], dLast: [Double]) throws -> [Double] {
        let (_, grads) = try cpuForwardBackward(inputs, options: RecurrentOptions(gradientRecurrentCut: true),
                                                dStates: dStates, dLast: dLast, threads: 1)
        return try grads.dInitialStates.doubles()
    }
}
