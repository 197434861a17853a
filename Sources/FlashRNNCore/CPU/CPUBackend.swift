import Dispatch

/// The reference backend: pure Swift, float64 or float32, every cell and option.
///
/// Heads and batch rows are independent for the whole sequence, so the work is split into
/// units of (head, slice of rows) that each run all T steps without synchronisation.
public struct CPUBackend: RecurrentBackend {
    public let name = "cpu"
    public let supportedDTypes: [DType] = [.float64, .float32]
    /// Upper bound on worker threads; nil means `FLASHRNN_CPU_THREADS` when set, else all
    /// active processors.
    public var threads: Int?

    /// Recurrent work per step (B·G_R·D² multiply-adds) from which the float32 path splits a
    /// head over a team of threads; nil means `FLASHRNN_CPU_TEAM_MIN_WORK` when set (for
    /// benchmark rounds), else ``Float32Plan/minimumStepWorkForTeam``. Tests set it to 0 to
    /// exercise the team on small problems.
    var minimumStepWorkForTeam: Int? = {
        guard let text = getenv("FLASHRNN_CPU_TEAM_MIN_WORK") else { return nil }
        return Int(String(cString: text))
    }()

    public init(threads: Int? = nil) { self.threads = threads }

    public func limitation(for problem: RecurrentProblem, dtype: DType) -> String? { nil }

    public func forward(_ problem: RecurrentProblem, dtype: DType, saveForBackward: Bool) throws -> ForwardResult {
        switch dtype {
        case .float64: try forward(problem, Double.self, saveForBackward: saveForBackward)
        case .float32:
            if #available(macOS 15.0, *) { try forwardFloat32(problem, saveForBackward: saveForBackward) }
            else { try forward(problem, Float.self, saveForBackward: saveForBackward) }
        default: throw FlashRNNError.unsupportedDType(backend: name, dtype: dtype, supported: supportedDTypes)
        }
    }

    public func backward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        if let saved = context.saved as? CPUSaved<Double> {
            return try backward(saved, context.problem, dStates: dStates, dLast: dLast)
        }
        if let saved = context.saved as? CPUSaved<Float> {
            if #available(macOS 15.0, *) {
                return try backwardFloat32(saved, context.problem, dStates: dStates, dLast: dLast)
            }
            return try backward(saved, context.problem, dStates: dStates, dLast: dLast)
        }
        throw FlashRNNError.invalidContext("this backward context was not made by the cpu backend")
    }

    // MARK: Work split

    struct Unit: Sendable { var head: Int; var rows: Range<Int> }

    func units(_ shape: ProblemShape) -> [Unit] {
        let workers = workerCount
        // Enough slices that every worker has work; at least 4 rows each where possible
        // so the per-step product keeps its row blocking.
        let wantedSlices = max(1, (2 * workers + shape.heads - 1) / shape.heads)
        let slices = max(1, min(wantedSlices, shape.batch / 4, shape.batch))
        var result: [Unit] = []
        for n in 0..<shape.heads {
            for s in 0..<slices {
                let lo = shape.batch * s / slices, hi = shape.batch * (s + 1) / slices
                if hi > lo { result.append(Unit(head: n, rows: lo..<hi)) }
            }
        }
        return result
    }

    /// Threads this backend runs on.
    var workerCount: Int {
        if let threads { return max(1, threads) }
        if let text = getenv("FLASHRNN_CPU_THREADS"), let n = Int(String(cString: text)), n >= 1 { return n }
        return activeProcessorCount()
    }

    func parallel(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count == 1 || workerCount == 1 {
            for i in 0..<count { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }
}

/// Everything backward needs, in the compute type.
struct CPUSaved<F: CellScalar>: @unchecked Sendable {
    let layout: CPULayout
    let r: [F]          // [G_R, N, D, D]
    let s0: [F]         // [S, B, N, D]
    let states: [F]     // [S, B, T, N, D]
    let pre: [F]        // [B, T, G_T, N, D] pre-activations
}

/// Index arithmetic for the tensors of one problem.
struct CPULayout: Sendable {
    let shape: ProblemShape
    let inputLayout: InputLayout
    var B: Int { shape.batch }
    var T: Int { shape.length }
    var N: Int { shape.heads }
    var D: Int { shape.headDim }
    var S: Int { shape.cell.states }
    var GR: Int { shape.cell.gatesR }
    var GW: Int { shape.cell.gatesW }
    var GT: Int { shape.cell.gatesT }

    /// Offset of `Wx[b, t, 0, 0, 0]` in the caller's layout.
    @inline(__always) func wx(_ b: Int, _ t: Int) -> Int {
        (inputLayout == .btgnd ? b * T + t : t * B + b) * GW * N * D
    }
    /// Offset of `states[s, b, t, 0, 0]`.
    @inline(__always) func state(_ s: Int, _ b: Int, _ t: Int) -> Int { ((s * B + b) * T + t) * N * D }
    /// Offset of `s0[s, b, 0, 0]`.
    @inline(__always) func initial(_ s: Int, _ b: Int) -> Int { (s * B + b) * N * D }
    /// Offset of `pre[b, t, 0, 0, 0]`.
    @inline(__always) func pre(_ b: Int, _ t: Int) -> Int { (b * T + t) * GT * N * D }
}

func activeProcessorCount() -> Int {
    #if canImport(Glibc)
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
    return 4
    #endif
}

#if canImport(Glibc)
import Glibc
#endif
