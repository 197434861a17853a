import Testing
@testable import FlashRNNCore

/// The float32 path of the CPU backend (packed products, vector cell loops, thread teams)
/// against the float64 reference, on odd sizes, every option, one thread, teams and heads in
/// parallel. Rule (spec 6): relative error of every output ≤ 1e-5.
@Suite struct CPUFloat32PathTests {
    struct Case: CustomStringConvertible, Sendable {
        var B: Int, T: Int, N: Int, D: Int
        var description: String { "B=\(B) T=\(T) N=\(N) D=\(D)" }
    }

    static let shapes = [Case(B: 1, T: 1, N: 1, D: 1), Case(B: 3, T: 5, N: 2, D: 7), Case(B: 5, T: 9, N: 1, D: 16),
                         Case(B: 4, T: 6, N: 3, D: 13), Case(B: 6, T: 4, N: 1, D: 33), Case(B: 2, T: 7, N: 1, D: 24)]
    static let options: [RecurrentOptions] = [
        RecurrentOptions(),
        RecurrentOptions(forwardClip: 0.3),
        RecurrentOptions(gradientRecurrentCut: true),
        RecurrentOptions(gradientRecurrentClip: 0.05),
        RecurrentOptions(inputLayout: .tbgnd),
    ]
    /// (threads, team threshold): one thread; a team sharing every step (2 and 3 threads);
    /// heads in parallel without a team (where N ≥ threads).
    static let splits: [(Int, Int?)] = [(1, nil), (2, 0), (3, 0), (2, Int.max)]

    @Test(arguments: CellKind.allCases, shapes)
    func float32MatchesFloat64(cell: CellKind, shape: Case) throws {
        var rng = TestRandom(seed: seed("float32 path \(cell) \(shape)"))
        let (B, T, N, D) = (shape.B, shape.T, shape.N, shape.D)
        func normal(_ count: Int, _ scale: Double = 1) -> [Double] { (0..<count).map { _ in rng.normal() * scale } }
        let wx = normal(B * T * cell.gatesW * N * D)
        let r = normal(cell.gatesR * N * D * D, 1 / Double(D).squareRoot())
        let b = normal(cell.gatesT * N * D)
        var s0 = normal(cell.states * B * N * D, 0.5)
        if cell == .slstm { for i in (2 * B * N * D)..<(3 * B * N * D) { s0[i] = 1 + abs(s0[i]) } }
        let dS = normal(cell.states * B * T * N * D)
        let dL = normal(cell.states * B * N * D)
        for options in Self.options {
            let wxShape = options.inputLayout == .btgnd ? [B, T, cell.gatesW, N, D] : [T, B, cell.gatesW, N, D]
            func run(_ dtype: DType, _ backend: CPUBackend) throws -> [(String, [Double])] {
                let problem = try RecurrentProblem(
                    cell: cell, wx: Tensor(shape: wxShape, values: wx, dtype: dtype),
                    r: Tensor(shape: [cell.gatesR, N, D, D], values: r, dtype: dtype),
                    b: Tensor(shape: [cell.gatesT, N, D], values: b, dtype: dtype),
                    initialStates: Tensor(shape: [cell.states, B, N, D], values: s0, dtype: dtype), options: options)
                let result = try backend.run(problem, dtype: dtype, saveForBackward: true)
                let grads = try runBackward(try #require(result.context),
                                            dStates: Tensor(shape: [cell.states, B, T, N, D], values: dS, dtype: dtype),
                                            dLast: Tensor(shape: [cell.states, B, N, D], values: dL, dtype: dtype))
                var dInitial = try grads.dInitialStates.doubles()
                if cell == .slstm { dInitial = Array(dInitial[..<(3 * B * N * D)]) }
                return [("states", try result.states.doubles()), ("last", try result.lastStates.doubles()),
                        ("dWx", try grads.dWx.doubles()), ("dR", try grads.dR.doubles()),
                        ("db", try grads.db.doubles()), ("dInitial", dInitial)]
            }
            let reference = try run(.float64, CPUBackend(threads: 1))
            for (threads, threshold) in Self.splits {
                var backend = CPUBackend(threads: threads)
                backend.minimumStepWorkForTeam = threshold
                let ours = try run(.float32, backend)
                for ((name, a), (_, ref)) in zip(ours, reference) {
                    let error = relativeError(a, ref)
                    #expect(error <= 1e-5, "\(cell) \(shape) \(options) threads=\(threads) \(name): \(error)")
                }
            }
        }
    }
}
