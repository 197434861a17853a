import Foundation

/// One case of the GPU correctness matrix (spec section 6).
public struct CheckCase: Sendable, CustomStringConvertible {
    public var backend: BackendChoice
    public var cell: CellKind
    public var dtype: DType
    public var batch: Int, length: Int, heads: Int, headDim: Int
    public var initialStates: Bool
    public var options: RecurrentOptions
    /// What the shape exercises, e.g. `odd D, N>1`.
    public var note: String

    public init(backend: BackendChoice, cell: CellKind, dtype: DType, batch: Int, length: Int, heads: Int, headDim: Int,
                initialStates: Bool, options: RecurrentOptions = RecurrentOptions(), note: String = "") {
        self.backend = backend; self.cell = cell; self.dtype = dtype
        self.batch = batch; self.length = length; self.heads = heads; self.headDim = headDim
        self.initialStates = initialStates; self.options = options; self.note = note
    }

    public var description: String {
        var parts = ["\(backend)", "\(cell)", "\(dtype)", "B=\(batch) T=\(length) N=\(heads) D=\(headDim)"]
        if initialStates { parts.append("s0") }
        if options.inputLayout == .tbgnd { parts.append("tbgnd") }
        if options.gradientRecurrentCut { parts.append("cut") }
        if let v = options.gradientRecurrentClip { parts.append("rclip=\(v)") }
        if let v = options.forwardClip { parts.append("fclip=\(v)") }
        return parts.joined(separator: " ")
    }
}

/// The verdict on one output tensor.
public struct OutputJudgement: Sendable {
    public var name: String
    /// ‖out − ref64‖ / ‖ref64‖ (absolute ‖out − ref64‖ when ‖ref64‖ = 0).
    public var error: Double
    /// The same measure for a CPU run on inputs rounded to the dtype, outputs rounded too
    /// (computed in float32 for float32, in float64 for float16 and bfloat16).
    public var roundedError: Double
    public var cap: Double
    /// NaN or Inf where the reference is finite.
    public var nonFinite: Int
    public var passed: Bool { nonFinite == 0 && error <= 2 * roundedError && error <= cap }
    /// The CPU run on rounded inputs itself misses the cap: every implementation that receives
    /// its inputs in this dtype fails the cap on this draw (it is still a failure).
    public var roundedAboveCap: Bool { roundedError > cap }
    /// Failed only by the cap, which the rounded-input CPU run misses too (finite, within 2× of it).
    public var failsOnlyWithTheRoundedRun: Bool { !passed && nonFinite == 0 && roundedAboveCap && error <= 2 * roundedError }

    /// Which part of the rule failed, or nil when it passed.
    public var failure: String? {
        if passed { return nil }
        if nonFinite > 0 { return "non-finite" }
        var parts: [String] = []
        if error > 2 * roundedError { parts.append(String(format: "%.1f× ref", error / roundedError)) }
        if error > cap { parts.append(roundedAboveCap ? "> cap, as the rounded-input CPU run" : "> cap") }
        return parts.joined(separator: ", ")
    }
}

/// The correctness check of spec section 6, usable by every GPU backend.
public enum CorrectnessCheck {
    /// Never worse than this, whatever the rounded reference allows (spec 6, no TF32 for float32).
    public static func cap(_ dtype: DType) -> Double {
        switch dtype {
        case .float64: 1e-12
        case .float32: 1e-5
        case .float16: 1e-2
        case .bfloat16: 3e-2
        }
    }

    /// Relative whole-tensor error and the count of non-finite values where `reference` is finite.
    public static func relativeError(_ output: [Double], _ reference: [Double]) -> (error: Double, nonFinite: Int) {
        precondition(output.count == reference.count)
        var difference = 0.0, norm = 0.0, nonFinite = 0
        for (o, r) in zip(output, reference) {
            if !o.isFinite && r.isFinite { nonFinite += 1; continue }
            difference += (o - r) * (o - r)
            norm += r * r
        }
        let error = norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
        return (error, nonFinite)
    }

    /// Judges one output against the float64 reference and the rounded-input reference.
    public static func judge(_ name: String, output: [Double], reference: [Double], rounded: [Double], dtype: DType) -> OutputJudgement {
        let (error, nonFinite) = relativeError(output, reference)
        let (roundedError, _) = relativeError(rounded, reference)
        return OutputJudgement(name: name, error: error, roundedError: roundedError, cap: cap(dtype), nonFinite: nonFinite)
    }

    /// Inputs drawn as upstream's tests draw them: Wx ~ N(0,1), R ~ N(0,1)/√D, b ~ N(0,1);
    /// initial states N(0,1) (sLSTM: n ≥ 1, so the state is not fresh); output gradients N(0,1).
    public struct Inputs: Sendable {
        public var wx, r, b: Tensor
        public var s0: Tensor?
        public var dStates, dLast: Tensor

        public init(cell: CellKind, batch B: Int, length T: Int, heads N: Int, headDim D: Int,
                    initialStates: Bool, layout: InputLayout, seed: UInt64) {
            var rng = SplitMix(seed)
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            func normal(_ shape: [Int], scale: Double = 1) -> Tensor {
                Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in rng.normal() * scale })
            }
            wx = normal(shape.wxShape(layout))
            r = normal(shape.rShape, scale: 1 / Double(D).squareRoot())
            b = normal(shape.bShape)
            if initialStates {
                var values = (0..<(cell.states * B * N * D)).map { _ in rng.normal() }
                if cell == .slstm {
                    for i in 2 * B * N * D..<3 * B * N * D { values[i] = 1 + abs(values[i]) }
                }
                s0 = Tensor(shape: shape.lastStatesShape, values: values)
            } else {
                s0 = nil
            }
            dStates = normal(shape.statesShape)
            dLast = normal(shape.lastStatesShape)
        }

        /// The same inputs rounded to `dtype`, held as float64.
        public func rounded(to dtype: DType) throws -> Inputs {
            func round(_ t: Tensor) throws -> Tensor { Tensor(shape: t.shape, values: try t.doubles().map { dtype.round($0) }) }
            var copy = self
            copy.wx = try round(wx); copy.r = try round(r); copy.b = try round(b)
            copy.s0 = try s0.map(round); copy.dStates = try round(dStates); copy.dLast = try round(dLast)
            return copy
        }
    }

    /// Every output of a forward+backward run, as float64 arrays in a fixed order.
    public struct Outputs: Sendable {
        public static let names = ["states", "last", "dWx", "dR", "db", "dInitial"]
        public var values: [[Double]]
    }

    /// Runs forward and backward with `backend` in `dtype`.
    public static func outputs(_ inputs: Inputs, cell: CellKind, options: RecurrentOptions, dtype: DType,
                               backend: BackendChoice) throws -> Outputs {
        let result = try RNN.forward(cell: cell, wx: inputs.wx, r: inputs.r, b: inputs.b, initialStates: inputs.s0,
                                     options: options, dtype: dtype, backend: backend, requiresGradient: true)
        let g = try RNN.backward(result.context!, dStates: inputs.dStates, dLast: inputs.dLast)
        return Outputs(values: try [result.states, result.lastStates, g.dWx, g.dR, g.db, g.dInitialStates].map { try $0.doubles() })
    }

    /// Runs one case on fresh inputs; `reference` (float64 CPU on the same inputs) may be shared
    /// between dtypes of one input set.
    public static func run(_ c: CheckCase, inputs: Inputs, reference: Outputs) throws -> [OutputJudgement] {
        let roundedInputs = try inputs.rounded(to: c.dtype)
        // The CPU run "in the dtype": it computes in float32 itself; float16 and bfloat16 it
        // cannot compute in, so those run in float64 on rounded inputs.
        let cpuType: DType = c.dtype == .float32 ? .float32 : .float64
        var rounded = try outputs(roundedInputs, cell: c.cell, options: c.options, dtype: cpuType, backend: .cpu)
        rounded.values = rounded.values.map { $0.map { c.dtype.round($0) } }
        let gpu = try outputs(inputs, cell: c.cell, options: c.options, dtype: c.dtype, backend: c.backend)
        return zip(Outputs.names.indices, Outputs.names).map { i, name in
            judge(name, output: gpu.values[i], reference: reference.values[i], rounded: rounded.values[i], dtype: c.dtype)
        }
    }

    /// The shape grid: T=1, B=1, odd D, N>1, initial states, both layouts, each option, batch
    /// tiles (B > 8), and upstream's benchmark shapes (B=16, N·D=768) at reduced T.
    public static func shapes(cell: CellKind, dtype: DType, backend: BackendChoice, quick: Bool) -> [CheckCase] {
        func c(_ B: Int, _ T: Int, _ N: Int, _ D: Int, s0: Bool, o options: RecurrentOptions = RecurrentOptions(), _ note: String) -> CheckCase {
            CheckCase(backend: backend, cell: cell, dtype: dtype, batch: B, length: T, heads: N, headDim: D,
                      initialStates: s0, options: options, note: note)
        }
        var cases = [
            c(1, 1, 1, 8, s0: false, "T=1 B=1"),
            c(3, 7, 2, 5, s0: true, "odd D, N>1, s0"),
            c(4, 16, 1, 33, s0: true, o: RecurrentOptions(inputLayout: .tbgnd), "time-major"),
            c(5, 9, 3, 16, s0: true, o: RecurrentOptions(forwardClip: 0.5), "forward clip"),
            c(2, 12, 2, 24, s0: true, o: RecurrentOptions(gradientRecurrentClip: 0.1), "recurrent clip"),
            c(2, 12, 2, 24, s0: true, o: RecurrentOptions(gradientRecurrentCut: true), "recurrent cut"),
            c(11, 20, 1, 1, s0: true, "D=1, B>8"),
            // The fused backend's decomposition boundary: the largest head one SM holds, the first beyond.
            c(3, 12, 1, 128, s0: true, "D=128, one-SM limit of cudaFused"),
            c(2, 8, 1, 129, s0: true, "D=129, first D beyond one SM"),
        ]
        if !quick {
            cases += [
                c(1, 1, 1, 1, s0: false, "T=1 B=1 D=1"),
                c(16, 64, 48, 16, s0: true, "upstream 16x48"),
                c(16, 64, 12, 64, s0: true, "upstream 64x12"),
                // cudaFused float32 holds D ≤ 64 on one SM for the gated cells: the first D beyond.
                c(3, 10, 1, 65, s0: true, "D=65, first float32 head beyond one SM of cudaFused (lstm, slstm, gru)"),
                // Heads one SM holds that cudaFused may split over a small cluster (16-bit, padded
                // D 64–128, FLASHRNN_FUSED_SMALL_CLUSTER): padding, options, B > 8, N > 1.
                c(9, 6, 2, 121, s0: true, o: RecurrentOptions(inputLayout: .tbgnd), "odd D, B>8, N>1, time-major, small cluster"),
                c(5, 9, 3, 96, s0: true, o: RecurrentOptions(forwardClip: 0.5), "forward clip, small cluster"),
                c(2, 9, 1, 128, s0: true, o: RecurrentOptions(gradientRecurrentClip: 0.1), "recurrent clip, small cluster"),
                c(2, 9, 1, 128, s0: false, o: RecurrentOptions(gradientRecurrentCut: true), "recurrent cut, no s0, small cluster"),
                c(16, 64, 3, 256, s0: true, "upstream 256x3"),
                c(16, 32, 1, 768, s0: true, "upstream 768x1"),
                // cudaFused's cluster decomposition (D > 128): odd sizes, options, its largest head.
                c(1, 1, 1, 200, s0: false, "T=1 B=1 odd D, cluster"),
                // dR of heads beyond one SM comes from cuBLAS products with a correction at each
                // batch row's t = 0: one batch row (no correction) and no initial states (no t = 0 rows).
                c(1, 7, 1, 136, s0: false, "B=1 T>1 no s0, cluster"),
                c(9, 6, 2, 257, s0: true, o: RecurrentOptions(inputLayout: .tbgnd), "odd D, B>8, N>1, time-major, cluster"),
                // The forward-clip case above at a cluster head (same B, T, N, clip). With B=9, T=6,
                // N=2, D=257 the CPU run on rounded inputs alone missed the float16/bfloat16 caps
                // for gru and elman (the clamp's mask flips under rounding): docs/performance-fused.md.
                c(5, 9, 3, 144, s0: true, o: RecurrentOptions(forwardClip: 0.5), "forward clip, cluster"),
                c(2, 9, 1, 160, s0: true, o: RecurrentOptions(gradientRecurrentClip: 0.1), "recurrent clip, cluster"),
                c(2, 9, 1, 160, s0: true, o: RecurrentOptions(gradientRecurrentCut: true), "recurrent cut, cluster"),
                c(3, 10, 1, 512, s0: true, "D=512, largest cluster head of cudaFused (lstm, slstm, gru)"),
                c(9, 5, 1, 529, s0: true, "D=529, first head beyond a cluster: cooperative grid (lstm, slstm, gru)"),
                c(2, 6, 1, 896, s0: true, "D=896, grid head (lstm, slstm)"),
                c(2, 4, 1, 1024, s0: true, "D=1024, largest grid head of cudaFused (lstm, slstm)"),
                // cudaAlternating's tensor-core forward (16-bit, D ≥ 256, a multiple of 32): two
                // batch blocks (16 rows each, the second partial), time-major, 9 K chunks over 8 warps.
                c(19, 6, 2, 288, s0: true, o: RecurrentOptions(inputLayout: .tbgnd), "B>16, time-major, D=288, alternating mma"),
                // The forward clip on cudaAlternating's tensor-core steps (16-bit, D a multiple of 32).
                c(5, 9, 3, 32, s0: true, o: RecurrentOptions(forwardClip: 0.5), "forward clip, D=32, alternating mma"),
            ]
        }
        return cases
    }
}

/// A small deterministic generator (SplitMix64) with Box–Muller normals.
public struct SplitMix: Sendable {
    var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
