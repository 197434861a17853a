import Foundation
import FlashRNNCore
import FlashRNNKernelParams

extension FlashRNNStepParams: KernelArgument {}

/// Upstream's `cuda` backend, rebuilt: per step one launch that does the batched `R·h` and the
/// cell (alternating.cuh), the whole time loop captured once per shape in a CUDA graph.
/// Backward: per step one launch (`Rᵀ·dG` then the cell backward), then `dR` as one cuBLAS
/// product over all T·B rows and `db` as a reduction. Storage float32/float16/bfloat16,
/// arithmetic and accumulation float32; states are carried in float32 between steps.
public struct CUDAAlternatingBackend: RecurrentBackend {
    public let name = "cudaAlternating"
    public let supportedDTypes: [DType] = [.float32, .float16, .bfloat16]

    public init() {}

    /// Why this backend cannot run on this machine, or nil.
    public static func unavailableReason() -> String? {
        switch CUDARuntime.shared {
        case .failure(let error): return "\(error)"
        case .success: break
        }
        if case .failure(let error) = NVRTCLibrary.shared { return "\(error)" }
        if case .failure(let error) = CUBLASLibrary.shared { return "\(error)" }
        return nil
    }

    public func limitation(for problem: RecurrentProblem, dtype: DType) -> String? {
        if let reason = Self.unavailableReason() { return reason }
        guard let runtime = try? CUDARuntime.get() else { return "CUDA unavailable" }
        let limit = runtime.properties.sharedMemoryPerBlockOptIn
        let cell = problem.cell, D = problem.shape.headDim
        let needed = AlternatingKernels.batchTile * cell.gatesR * D * 4
        if needed > limit {
            let maxD = limit / (AlternatingKernels.batchTile * cell.gatesR * 4)
            return "head dimension D=\(D) needs \(needed) bytes of shared memory per block for \(cell); the device allows \(limit), so D ≤ \(maxD)"
        }
        return nil
    }

    // MARK: Kernels and per-shape state

    private static let lock = NSLock()
    nonisolated(unsafe) private static var kernelCache: [String: AlternatingKernels] = [:]
    nonisolated(unsafe) private static var parameterBuffers: [String: CUDABuffer] = [:]

    static func kernels(_ runtime: CUDARuntime, cell: CellKind, dtype: DType, headDim D: Int) throws -> AlternatingKernels {
        let variant = AlternatingKernels.Variant.forHeadDim(D, dtype: dtype)
        let key = "\(cell)|\(dtype)|\(variant)"
        lock.lock()
        if let cached = kernelCache[key] { lock.unlock(); return cached }
        lock.unlock()
        let kernels = try AlternatingKernels(runtime: runtime, cell: cell, dtype: dtype, variant: variant)
        lock.lock(); kernelCache[key] = kernels; lock.unlock()
        return kernels
    }

    /// What a backward loads: its module and the dR module `WeightGradientChoice` picks (none for
    /// cuBLAS products).
    static func backwardModules(cell: CellKind, dtype: DType, variant: AlternatingKernels.Variant, headDim D: Int, length T: Int) -> [KernelModuleSpec] {
        let path = WeightGradientChoice.path(headDim: D, length: T, dtype: dtype)
        return [AlternatingKernels.backwardSpec(cell: cell, dtype: dtype, variant: variant)]
            + (path == .products ? [] : [WeightGradientModule(dtype: dtype, tile: AlternatingKernels.weightGradientTile(headDim: D), path: path).spec])
    }

    /// The device copy of the parameters that the graph of `key` reads.
    static func parameterBuffer(_ runtime: CUDARuntime, key: String) throws -> CUDABuffer {
        lock.lock(); defer { lock.unlock() }
        if let buffer = parameterBuffers[key] { return buffer }
        let buffer = try CUDABuffer(runtime: runtime, dtype: .float32, count: (MemoryLayout<FlashRNNStepParams>.size + 3) / 4)
        parameterBuffers[key] = buffer
        return buffer
    }

    static func upload(_ params: FlashRNNStepParams, to buffer: CUDABuffer, _ runtime: CUDARuntime) throws {
        var copy = params
        try withUnsafeBytes(of: &copy) { try runtime.upload($0.baseAddress!, to: buffer.address, bytes: $0.count) }
    }

    static func gridStride(_ count: Int) -> (Int, Int, Int) { (max(1, min((count + 255) / 256, 132 * 8)), 1, 1) }

    /// Whether steps after the first are launched with programmatic dependent launch (each step
    /// then overlaps its loads of R, bias and Wx with the previous step). On by default where
    /// the device takes it; `FLASHRNN_ALTERNATING_PDL=0` turns it off (to measure the difference).
    static func usesProgrammaticLaunch(_ runtime: CUDARuntime) -> Bool {
        runtime.supportsProgrammaticDependentLaunch && ProcessInfo.processInfo.environment["FLASHRNN_ALTERNATING_PDL"] != "0"
    }

    /// Launches time step `t` of a sweep; every step but the sweep's first may overlap its predecessor.
    static func launchStep(_ runtime: CUDARuntime, _ kernel: Kernel, grid: (Int, Int, Int), block: (Int, Int, Int),
                           sharedBytes: Int, parameters: CUdeviceptr, t: Int, first: Bool, programmatic: Bool) throws {
        try runtime.launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes,
                           attributes: programmatic && !first ? [.programmaticStreamSerialization] : [],
                           arguments: [parameters, Int32(t)])
    }

    // MARK: Forward

    public func forward(_ problem: RecurrentProblem, dtype: DType, saveForBackward: Bool) throws -> ForwardResult {
        let runtime = try CUDARuntime.get()
        try runtime.makeCurrent()
        let shape = problem.shape, cell = problem.cell
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, cell.states)
        // Training: the backward and dR modules compile on other threads while the forward's does.
        if saveForBackward {
            runtime.prefetch(Self.backwardModules(cell: cell, dtype: dtype, variant: AlternatingKernels.Variant.forHeadDim(D, dtype: dtype),
                                                  headDim: D, length: T))
        }
        let kernels = try Self.kernels(runtime, cell: cell, dtype: dtype, headDim: shape.headDim)
        let hostOutputs = !problem.wx.isOnDevice

        let (wx, r, b, s0, states, last) = try runtime.forwardOperands(problem, dtype: dtype)
        let states32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: S * (T + 1) * B * N * D)
        let pre32 = saveForBackward ? try CUDABuffer(runtime: runtime, dtype: .float32, count: T * B * cell.gatesT * N * D) : nil

        var p = FlashRNNStepParams()
        p.B = Int32(B); p.T = Int32(T); p.N = Int32(N); p.D = Int32(D)
        p.inputLayoutTB = problem.options.inputLayout == .tbgnd ? 1 : 0
        p.hasInitialStates = s0 == nil ? 0 : 1
        if let clip = problem.options.forwardClip { p.hasForwardClip = 1; p.forwardClip = Float(clip) }
        p.savePre = saveForBackward ? 1 : 0
        p.wx = wx.cudaBuffer!.address; p.r = r.cudaBuffer!.address; p.b = b.cudaBuffer!.address
        p.s0 = s0?.cudaBuffer?.address ?? 0
        p.states = states.address; p.last = last.address; p.states32 = states32.address
        p.pre32 = pre32?.address ?? 0

        let programmatic = Self.usesProgrammaticLaunch(runtime)
        let key = "alternating-forward|\(cell)|\(dtype)|B\(B)|T\(T)|N\(N)|D\(D)|PDL\(programmatic)|\(kernels.variant)"
        let parameters = try Self.parameterBuffer(runtime, key: key)
        try Self.upload(p, to: parameters, runtime)
        let v = kernels.variant
        let (stepGrid, block, shared) = Self.stepLaunch(v.forwardProduct, warps: v.forwardWarps, tileRows: 1,
                                                        features: AlternatingKernels.Variant.mmaFeatures(cell),
                                                        batchRows: 8 * AlternatingKernels.Variant.mmaBatchTiles, shape: shape)
        let graph = try runtime.cachedGraph(key) {
            try runtime.launch(kernels.initStates, grid: Self.gridStride(S * B * N * D), block: (256, 1, 1),
                               arguments: [parameters.address])
            for t in 0..<T {
                try Self.launchStep(runtime, kernels.forwardStep, grid: stepGrid, block: block, sharedBytes: shared,
                                    parameters: parameters.address, t: t, first: t == 0, programmatic: programmatic)
            }
            try runtime.launch(kernels.copyLast, grid: Self.gridStride(S * B * N * D), block: (256, 1, 1),
                               arguments: [parameters.address])
        }
        try runtime.traceSpan("alternating forward: graph") { try runtime.launch(graph) }

        let (statesTensor, lastTensor) = try runtime.forwardOutputs(states: states, last: last, shape: shape,
                                                                    hostOutputs: hostOutputs)
        let context = saveForBackward
            ? BackwardContext(problem: problem, dtype: dtype, backend: self,
                              saved: AlternatingSaved(wx: wx, r: r, states32: states32, pre32: pre32!, hostOutputs: hostOutputs))
            : nil
        return ForwardResult(states: statesTensor, lastStates: lastTensor, context: context)
    }

    /// Grid, block and dynamic shared memory of a step kernel. FFMA: one warp per output row,
    /// 8 batch rows per block, the block's operand tile (8 batch rows × `tileRows` × D float32:
    /// h forward, the R gates of dG backward) in dynamic shared memory. mma: a block per (head,
    /// `features`, `batchRows`); its partial sums are static shared memory.
    static func stepLaunch(_ product: AlternatingKernels.Variant.Product, warps: Int, tileRows: Int,
                           features: Int, batchRows: Int, shape: ProblemShape)
        -> (grid: (Int, Int, Int), block: (Int, Int, Int), shared: Int) {
        let (B, N, D) = (shape.batch, shape.heads, shape.headDim)
        switch product {
        case .ffma:
            let tile = AlternatingKernels.batchTile
            return ((N * ((D + warps - 1) / warps), (B + tile - 1) / tile, 1), (warps * 32, 1, 1), tile * tileRows * D * 4)
        case .mma:
            return ((N * ((D + features - 1) / features), (B + batchRows - 1) / batchRows, 1), (warps * 32, 1, 1), 0)
        }
    }

    // MARK: Backward

    public func backward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        guard let saved = context.saved as? AlternatingSaved else {
            throw FlashRNNError.invalidContext("this backward context was not made by the cudaAlternating backend")
        }
        let runtime = try CUDARuntime.get()
        try runtime.makeCurrent()
        let problem = context.problem, dtype = context.dtype, cell = problem.cell, shape = problem.shape
        let variant = AlternatingKernels.Variant.forHeadDim(shape.headDim, dtype: dtype)
        let kernels = try AlternatingKernels.backward(runtime: runtime, cell: cell, dtype: dtype, variant: variant)
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, cell.states)
        let (GR, GW, GT) = (cell.gatesR, cell.gatesW, cell.gatesT)

        let dS = try dStates?.onDevice(dtype, runtime: runtime)
        let dL = try dLast?.onDevice(dtype, runtime: runtime)
        let rT = try CUDABuffer(runtime: runtime, dtype: dtype, count: GR * N * D * D)
        let dPre32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: T * B * GT * N * D)
        let dDirect32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: 2 * S * B * N * D)
        let dInitial = try CUDABuffer(runtime: runtime, dtype: dtype, count: S * B * N * D)
        let dWx = try CUDABuffer(runtime: runtime, dtype: dtype, count: B * T * GW * N * D)
        let db32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: GT * N * D)
        let db = try CUDABuffer(runtime: runtime, dtype: dtype, count: GT * N * D)
        let dR32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: GR * N * D * D)
        let dR = try CUDABuffer(runtime: runtime, dtype: dtype, count: GR * N * D * D)

        var p = FlashRNNStepParams()
        p.B = Int32(B); p.T = Int32(T); p.N = Int32(N); p.D = Int32(D)
        p.inputLayoutTB = problem.options.inputLayout == .tbgnd ? 1 : 0
        if let clip = problem.options.forwardClip { p.hasForwardClip = 1; p.forwardClip = Float(clip) }
        if let clip = problem.options.gradientRecurrentClip { p.hasRecurrentClip = 1; p.recurrentClip = Float(clip) }
        p.recurrentCut = problem.options.gradientRecurrentCut ? 1 : 0
        p.r = saved.r.cudaBuffer!.address
        p.states32 = saved.states32.address; p.pre32 = saved.pre32.address
        p.dStates = dS?.cudaBuffer?.address ?? 0; p.dLast = dL?.cudaBuffer?.address ?? 0
        p.dPre32 = dPre32.address; p.dDirect32 = dDirect32.address; p.rT = rT.address
        p.dInitial = dInitial.address; p.dWx = dWx.address; p.db32 = db32.address

        let programmatic = Self.usesProgrammaticLaunch(runtime)
        let key = "alternating-backward|\(cell)|\(dtype)|B\(B)|T\(T)|N\(N)|D\(D)|PDL\(programmatic)|\(variant)"
        let parameters = try Self.parameterBuffer(runtime, key: key)
        try Self.upload(p, to: parameters, runtime)
        try runtime.fill32(db32.address, pattern: 0, count: GT * N * D)
        let v = variant
        let (stepGrid, block, shared) = Self.stepLaunch(v.backwardProduct, warps: v.backwardWarps, tileRows: GR,
                                                        features: AlternatingKernels.Variant.mmaBackwardFeatures,
                                                        batchRows: 8 * AlternatingKernels.Variant.mmaBackwardBatchTiles, shape: shape)
        let columns = GT * N * D, rows = T * B
        // At least 256 rows per slice (each slice sums in float64; see reduce_db).
        let slices = max(1, min((rows + 255) / 256, (runtime.properties.multiprocessors * 8 * 256) / max(columns, 1)))
        let rowsPerSlice = (rows + slices - 1) / slices
        let graph = try runtime.cachedGraph(key) {
            try runtime.launch(kernels.transposeR, grid: Self.gridStride(GR * N * D * D), block: (256, 1, 1),
                               arguments: [parameters.address])
            // The sweep's first step reads Rᵀ before its wait: it follows transposeR without overlap.
            for t in stride(from: T - 1, through: -1, by: -1) {
                try Self.launchStep(runtime, kernels.backwardStep, grid: stepGrid, block: block, sharedBytes: shared,
                                    parameters: parameters.address, t: t, first: t == T - 1, programmatic: programmatic)
            }
            try runtime.launch(kernels.finishDWx, grid: Self.gridStride(B * T * GW * N * D), block: (256, 1, 1),
                               arguments: [parameters.address])
            try runtime.launch(kernels.reduceDb, grid: ((columns + 255) / 256, (rows + rowsPerSlice - 1) / rowsPerSlice, 1),
                               block: (256, 1, 1), arguments: [parameters.address, Int32(rowsPerSlice)])
        }
        try runtime.traceSpan("alternating backward: sweep graph (transposeR, steps, dWx, db)") { try runtime.launch(graph) }

        // dR[k, n] = Σ_rows dG[row, k, n, :] ⊗ h_{t-1}[row, n, :], rows = (t, b), h_{t-1} of row r
        // being row r of states32's slots. Large heads: cuBLAS, column-major
        // dRᵀ(q × d) = H(q × rows) · dG(d × rows)ᵀ with H = states32[0][0..T-1] (ld N·D), precision
        // as CUBLASContext.weightGradient says; else the tiled kernel (WeightGradientChoice: FMA or,
        // for 16-bit storage, tensor-core products).
        let dRPath = WeightGradientChoice.path(headDim: D, length: T, dtype: dtype)
        if dRPath == .products {
            let blas = try CUBLASContext.shared.get()
            try runtime.traceSpan("alternating backward: dR products") {
                for k in 0..<GR {
                    try blas.weightGradient(dtype: dtype, rows: rows, headDim: D, heads: N,
                                            h: saved.states32.address, ldh: N * D,
                                            dG: dPre32.address + UInt64((k + cell.recurrentGateOffset) * N * D * 4), ldg: GT * N * D,
                                            dR: dR32.address + UInt64(k * N * D * D * 4), overwrite: true)
                }
            }
        } else {
            var w = FlashRNNWeightGradientParams()
            w.B = Int32(B); w.T = Int32(T); w.N = Int32(N); w.D = Int32(D); w.GR = Int32(GR); w.GT = Int32(GT)
            w.dGRowGates = Int32(GT); w.dGGateOffset = Int32(cell.recurrentGateOffset); w.hRowAligned = 1
            w.dGR = dPre32.address; w.states32 = saved.states32.address; w.dR32 = dR32.address
            let tile = AlternatingKernels.weightGradientTile(headDim: D)
            let launch = WeightGradientChoice.kernelLaunch(rows: rows, headDim: D, tile: tile, gates: GR, heads: N,
                                                           multiprocessors: runtime.properties.multiprocessors)
            w.rowsPerBlock = Int32(launch.rowsPerBlock)
            try runtime.fill32(dR32.address, pattern: 0, count: GR * N * D * D)
            try runtime.traceSpan("alternating backward: dR kernel") {
                try runtime.launch(try WeightGradientModule(dtype: dtype, tile: tile, path: dRPath).weightGradientKernel(runtime, for: w),
                                   grid: launch.grid, block: (256, 1, 1), arguments: [w])
            }
        }
        try runtime.launch(kernels.convert, grid: Self.gridStride(GR * N * D * D), block: (256, 1, 1),
                           arguments: [dR32.address, dR.address, Int64(GR * N * D * D)])
        try runtime.launch(kernels.convert, grid: Self.gridStride(GT * N * D), block: (256, 1, 1),
                           arguments: [db32.address, db.address, Int64(GT * N * D)])

        let gradients = try runtime.backwardOutputs(dWx: dWx, wxShape: problem.wx.shape, dR: dR, db: db, dInitial: dInitial,
                                                    shape: shape, hostOutputs: saved.hostOutputs)
        // The work buffers must outlive the graph's use of them.
        withExtendedLifetime((rT, dPre32, dDirect32, db32, dR32, dS, dL, saved)) {}
        return gradients
    }
}

extension Int64: KernelArgument {}

/// What the alternating forward keeps for backward (device memory).
final class AlternatingSaved: @unchecked Sendable {
    let wx: Tensor
    let r: Tensor
    let states32: CUDABuffer
    let pre32: CUDABuffer
    let hostOutputs: Bool

    init(wx: Tensor, r: Tensor, states32: CUDABuffer, pre32: CUDABuffer, hostOutputs: Bool) {
        self.wx = wx; self.r = r; self.states32 = states32; self.pre32 = pre32; self.hostOutputs = hostOutputs
    }
}
