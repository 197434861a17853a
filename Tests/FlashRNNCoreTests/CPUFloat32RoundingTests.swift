import Testing
@testable import FlashRNNCore

/// The CPU float32 path runs every cell in float64 and rounds each output to float32 once, as
/// the GPU's float32 kernels do (CPU/Float32/CellsInFloat64.swift). At T = B = D = 1 with inputs
/// whose float32 sums and products ahead of the cell are exact (multiples of 1/64, R and h_0
/// powers of two), the float64 run sees the very same cell inputs, so each float32 output is
/// the float64 output rounded once, bit for bit: states, last states, dWx, db (the sum of one
/// row) and dR (dG times a power of two). dInitial is the direct path (rounded once) plus
/// Rᵀ·dG of the rounded dG: with the recurrent gradient cut it is the float64 run's rounded once,
/// else that plus the gates' parts R_k·dG_k (exact products here) summed in float64 from zero in
/// gate order and rounded once, the order of both GPU backends' float32 backwards.
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
                // db holds dPre (B = T = 1); the recurrent gates' parts summed in float64 in gate
                // order and rounded once, then added to the direct path in float32.
                let db = ours["db"]!, rOff = cell.recurrentGateOffset
                var recurrent: Double = 0
                for k in 0..<cell.gatesR { recurrent += Double(Float(inputs.r[k]) * Float(db[k + rOff])) }
                let direct = try outputs64Cut(inputs, dStates: dStates, dLast: dLast)
                expected["dInitial"]![0] = Double(Float(direct[0]) + Float(recurrent))
            }
            for (name, values) in ours where values != expected[name]! {
                mismatches.append("draw \(draw) \(name): float32 \(values) float64 rounded \(expected[name]!)")
            }
        }
        #expect(mismatches.isEmpty, "\(cell) cut=\(cut): \(mismatches.count) outputs differ; first \(mismatches.prefix(3))")
    }

    /// Shapes of the float64-sum test: the check's `D=1, B>8` case, a single step with a few rows,
    /// an odd D with two heads (a full and a partial panel of 8 in the dR kernel), and the largest
    /// D whose dR is summed in float64 (two blocks of output rows).
    static let sumShapes: [(batch: Int, length: Int, heads: Int, headDim: Int)] =
        [(11, 20, 1, 1), (4, 1, 1, 1), (3, 5, 2, 9), (2, 3, 1, CPUBackend.float64WeightGradientMaxHeadDim)]

    /// dR and db of the float32 run are float64 sums of its own float32 pre-activation gradients
    /// (products of two float32 are exact in float64), rounded once: what both GPU backends compute
    /// for float32 storage (dR up to D = 64). At D = 1 each is one element summed over B·T rows, where a float32
    /// running sum lands about an ulp away and the check's 2× rule then fails on a fraction of draws.
    @Test(arguments: CellKind.allCases, 0..<sumShapes.count)
    func weightAndBiasGradientsAreFloat64Sums(cell: CellKind, shapeIndex: Int) throws {
        let (B, T, N, D) = Self.sumShapes[shapeIndex]
        let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
        var rng = TestRandom(seed: seed("float64 sums \(cell) \(shapeIndex)"))
        let (GR, GT) = (cell.gatesR, cell.gatesT)
        var mismatches: [String] = []
        for draw in 0..<20 {
            let inputs = RecurrenceInputs.random(shape, initialStates: true, rng: &rng)
            let (dStates, dLast) = randomOutputGradients(shape, rng: &rng)
            let problem = try inputs.problem(dtype: .float32)
            let backend = CPUBackend(threads: 1)
            let result = try backend.run(problem, dtype: .float32, saveForBackward: true)
            let context = try #require(result.context)
            let saved = try #require(context.saved as? CPUSaved<Float>)
            let dS = Tensor(shape: shape.statesShape, values: dStates, dtype: .float32)
            let dL = Tensor(shape: shape.lastStatesShape, values: dLast, dtype: .float32)
            let grads = try runBackward(context, dStates: dS, dLast: dL)
            let (dPre, _) = try backend.backwardSweepFloat32(saved, problem, dStates: dS, dLast: dL)
            let states = try result.states.floats(), s0 = saved.s0
            // dPre [B, T, G_T, N, D]; states [S, B, T, N, D]; s0 [S, B, N, D].
            func g(_ b: Int, _ t: Int, _ k: Int, _ n: Int, _ d: Int) -> Double {
                Double(dPre[(((b * T + t) * GT + k) * N + n) * D + d])
            }
            func hPrevious(_ b: Int, _ t: Int, _ n: Int, _ p: Int) -> Double {
                Double(t > 0 ? states[((b * T + t - 1) * N + n) * D + p] : s0[(b * N + n) * D + p])
            }
            var db = [Float](), dR = [Float]()
            for k in 0..<GT { for n in 0..<N { for d in 0..<D {
                var sum = 0.0
                for b in 0..<B { for t in 0..<T { sum += g(b, t, k, n, d) } }
                db.append(Float(sum))
            } } }
            for k in 0..<GR { for n in 0..<N { for d in 0..<D { for p in 0..<D {
                var sum = 0.0
                for b in 0..<B { for t in 0..<T { sum += g(b, t, k + cell.recurrentGateOffset, n, d) * hPrevious(b, t, n, p) } }
                dR.append(Float(sum))
            } } } }
            if try grads.db.floats() != db { mismatches.append("draw \(draw) db") }
            if try grads.dR.floats() != dR { mismatches.append("draw \(draw) dR") }
        }
        #expect(mismatches.isEmpty, "\(cell) B=\(B) T=\(T) N=\(N) D=\(D): \(mismatches.count) of 40 outputs differ: \(mismatches.prefix(6))")
    }

    /// dInitial of the float64 run with the recurrent gradient cut: the direct paths only.
    func outputs64Cut(_ inputs: RecurrenceInputs, dStates: [Double], dLast: [Double]) throws -> [Double] {
        let (_, grads) = try cpuForwardBackward(inputs, options: RecurrentOptions(gradientRecurrentCut: true),
                                                dStates: dStates, dLast: dLast, threads: 1)
        return try grads.dInitialStates.doubles()
    }
}
