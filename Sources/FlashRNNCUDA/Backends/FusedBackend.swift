import Foundation
import FlashRNNCore
import FlashRNNKernelParams

extension FlashRNNFusedParams: KernelArgument {}
extension FlashRNNWeightGradientParams: KernelArgument {}

/// One persistent kernel runs the whole sequence (upstream's `cuda_fused`, rebuilt; see
/// docs/design-fused.md). A head that fits one SM: one CTA per (head, batch slice of 8) keeps R
/// on chip for all T steps, computes `R·h` on tensor cores (`mma.sync`, float32 accumulation) and
/// the cell on the product's registers, with one `__syncthreads` per step. Backward is the same
/// reverse sweep (`Rᵀ·dG` on chip), then `dR = Σ dG ⊗ h` as one product over all B·T rows and
/// `db` reduced in the sweep. A head beyond one SM is split over a thread-block cluster
/// (`FusedSlicedVariant`, h exchanged through distributed shared memory). Storage
/// float16/bfloat16, and float32 on one SM (float32 FMA forward and backward sweeps); heads beyond what a
/// decomposition holds are refused with a reason, and the automatic backend falls back to
/// `cudaAlternating`.
public struct CUDAFusedBackend: RecurrentBackend {
    public let name = "cudaFused"
    public var supportedDTypes: [DType] { FusedVariant.dtypes + FusedVariant.oneSMOnlyDTypes }

    public init() {}

    /// Why this backend cannot run on this machine, or nil.
    public static func unavailableReason() -> String? {
        switch CUDARuntime.shared {
        case .failure(let error): return "\(error)"
        case .success: break
        }
        if case .failure(let error) = NVRTCLibrary.shared { return "\(error)" }
        return nil
    }

    public func limitation(for problem: RecurrentProblem, dtype: DType) -> String? {
        if let reason = Self.unavailableReason() { return reason }
        guard let runtime = try? CUDARuntime.get() else { return "CUDA unavailable" }
        // float32 runs on one SM only: FusedVariant names its largest head.
        if problem.shape.headDim > FusedVariant.maxHeadDim && FusedVariant.dtypes.contains(dtype) {
            return FusedSlicedVariant.limitation(cell: problem.cell, headDim: problem.shape.headDim, dtype: dtype,
                                                 batch: problem.shape.batch, heads: problem.shape.heads,
                                                 sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn,
                                                 supportsClusters: runtime.properties.supportsClusters,
                                                 multiprocessors: runtime.properties.multiprocessors)
        }
        return FusedVariant.limitation(cell: problem.cell, headDim: problem.shape.headDim, dtype: dtype,
                                       sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn)
    }

    // MARK: Kernels

    /// The one kernel of a sweep module (`FusedVariant` / `FusedSlicedVariant` forward or
    /// backward spec).
    static func sweepKernel(_ runtime: CUDARuntime, _ spec: KernelModuleSpec) throws -> Kernel {
        try runtime.kernels(spec)[spec.nameExpressions[0]]!
    }

    /// Grid of the sweeps: one CTA per (head, batch slice).
    static func sweepGrid(_ shape: ProblemShape) -> (Int, Int, Int) {
        (shape.heads, (shape.batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice, 1)
    }

    // MARK: Forward

    public func forward(_ problem: RecurrentProblem, dtype: DType, saveForBackward: Bool) throws -> ForwardResult {
        let runtime = try CUDARuntime.get()
        try runtime.makeCurrent()
        let shape = problem.shape, cell = problem.cell
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, cell.states)
        // Training: the backward sweep and dR modules compile on other threads meanwhile (the
        // backward's plan may differ from the forward's: small clusters are chosen per sweep).
        if saveForBackward {
            let backwardPlan = try Self.sweepPlan(runtime, cell: cell, dtype: dtype, shape: shape, backward: true, askingFit: false)
            runtime.prefetch(backwardPlan.backwardModules(length: T))
        }
        let plan = try Self.sweepPlan(runtime, cell: cell, dtype: dtype, shape: shape, backward: false)
        let hostOutputs = !problem.wx.isOnDevice

        let (wx, r, b, s0, states, last) = try runtime.forwardOperands(problem, dtype: dtype)
        let pre = saveForBackward ? try CUDABuffer(runtime: runtime, dtype: .float32, count: B * T * cell.gatesT * N * D) : nil
        // Backward reads the states as the forward carried them (float32), not rounded to dtype.
        let states32 = saveForBackward ? try CUDABuffer(runtime: runtime, dtype: .float32, count: S * B * T * N * D) : nil

        var p = Self.parameters(problem)
        p.wx = wx.cudaBuffer!.address; p.r = r.cudaBuffer!.address; p.bias = b.cudaBuffer!.address
        p.s0 = s0?.cudaBuffer?.address ?? 0
        p.states = states.address; p.last = last.address; p.pre = pre?.address ?? 0
        p.states32 = states32?.address ?? 0
        try runtime.traceSpan("fused forward: sweep") { try plan.launchForward(runtime, p) }

        let (statesTensor, lastTensor) = try runtime.forwardOutputs(states: states, last: last, shape: shape,
                                                                    hostOutputs: hostOutputs)
        let context = saveForBackward
            ? BackwardContext(problem: problem, dtype: dtype, backend: self,
                              saved: FusedSaved(wx: wx, r: r, s0: s0, states32: states32!, pre: pre!, hostOutputs: hostOutputs))
            : nil
        return ForwardResult(states: statesTensor, lastStates: lastTensor, context: context)
    }

    /// Sizes, strides and options; addresses are filled in by the caller.
    static func parameters(_ problem: RecurrentProblem) -> FlashRNNFusedParams {
        let shape = problem.shape, options = problem.options
        let (B, T, N, D, GW) = (shape.batch, shape.length, shape.heads, shape.headDim, problem.cell.gatesW)
        var p = FlashRNNFusedParams()
        p.B = Int32(B); p.T = Int32(T); p.N = Int32(N); p.D = Int32(D)
        let step = GW * N * D
        if options.inputLayout == .tbgnd {
            p.wxStrideB = Int64(step); p.wxStrideT = Int64(B * step)
        } else {
            p.wxStrideB = Int64(T * step); p.wxStrideT = Int64(step)
        }
        if let clip = options.forwardClip { p.hasForwardClip = 1; p.forwardClip = Float(clip) }
        if let clip = options.gradientRecurrentClip { p.hasGradientClip = 1; p.gradientClip = Float(clip) }
        p.gradientCut = options.gradientRecurrentCut ? 1 : 0
        return p
    }

    // MARK: Backward

    public func backward(_ context: BackwardContext, dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        guard let saved = context.saved as? FusedSaved else {
            throw FlashRNNError.invalidContext("this backward context was not made by the cudaFused backend")
        }
        let runtime = try CUDARuntime.get()
        try runtime.makeCurrent()
        let problem = context.problem, dtype = context.dtype, cell = problem.cell, shape = problem.shape
        let (B, T, N, D, S) = (shape.batch, shape.length, shape.heads, shape.headDim, cell.states)
        let (GR, GW, GT) = (cell.gatesR, cell.gatesW, cell.gatesT)
        let plan = try Self.sweepPlan(runtime, cell: cell, dtype: dtype, shape: shape, backward: true)

        let dS = try dStates?.onDevice(dtype, runtime: runtime)
        let dL = try dLast?.onDevice(dtype, runtime: runtime)
        let dWx = try CUDABuffer(runtime: runtime, dtype: dtype, count: B * T * GW * N * D)
        let dGR = try CUDABuffer(runtime: runtime, dtype: .float32, count: B * T * GR * N * D)
        let db32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: GT * N * D)
        let dR32 = try CUDABuffer(runtime: runtime, dtype: .float32, count: GR * N * D * D)
        let dInitial = try CUDABuffer(runtime: runtime, dtype: dtype, count: S * B * N * D)
        let dR = try CUDABuffer(runtime: runtime, dtype: dtype, count: GR * N * D * D)
        let db = try CUDABuffer(runtime: runtime, dtype: dtype, count: GT * N * D)
        try runtime.fill32(db32.address, pattern: 0, count: db32.count)
        try runtime.fill32(dR32.address, pattern: 0, count: dR32.count)

        var p = Self.parameters(problem)
        p.r = saved.r.cudaBuffer!.address; p.s0 = saved.s0?.cudaBuffer?.address ?? 0
        p.states32 = saved.states32.address; p.pre = saved.pre.address
        p.dStates = dS?.cudaBuffer?.address ?? 0; p.dLast = dL?.cudaBuffer?.address ?? 0
        p.dWx = dWx.address; p.dGR = dGR.address; p.db = db32.address; p.dInitial = dInitial.address
        // float32 FMA backward: db's float64 sums across CTAs and their arrival counter (FusedVariant.float32BackwardDB64).
        let dbScratch = dtype == .float32 && FusedVariant.float32BackwardFMA && FusedVariant.float32BackwardDB64
            ? try CUDABuffer(runtime: runtime, dtype: .float32, count: 2 * GT * N * D + 4) : nil
        if let dbScratch {
            try runtime.fill32(dbScratch.address, pattern: 0, count: dbScratch.count)
            p.dbScratch = dbScratch.address
        }
        try runtime.traceSpan("fused backward: sweep") { try plan.launchBackward(runtime, p) }

        // dR: large heads (`WeightGradientChoice`) take cuBLAS products for the rows with t > 0
        // and the tiled kernel for the t = 0 rows (h_{-1} = s0, only when initial states are given);
        // otherwise the kernel does all rows (FMA or, for 16-bit storage, tensor-core products):
        // square output tiles (16, 32 or 64 wide) per (gate, head), the B·T rows split so the grid
        // fills the device.
        var w = FlashRNNWeightGradientParams()
        w.B = Int32(B); w.T = Int32(T); w.N = Int32(N); w.D = Int32(D); w.GR = Int32(GR); w.GT = Int32(GT)
        w.dGRowGates = Int32(GR)
        w.dGR = dGR.address; w.states32 = saved.states32.address; w.s0 = p.s0
        w.dR32 = dR32.address; w.db32 = db32.address; w.dR = dR.address; w.db = db.address
        let dRPath = WeightGradientChoice.path(headDim: D, length: T, dtype: dtype)
        let dRKernels = try plan.weightGradientModule(dRPath).kernels(runtime)
        let byProducts = dRPath == .products
        if byProducts {
            try runtime.traceSpan("fused backward: dR products") {
                try Self.weightGradientProducts(dGR: dGR.address, states32: saved.states32.address, dR32: dR32.address,
                                                B: B, T: T, N: N, D: D, GR: GR, dtype: dtype)
            }
            w.initialRowsOnly = 1
        }
        if !byProducts || p.s0 != 0 {
            let launch = WeightGradientChoice.kernelLaunch(rows: byProducts ? B : B * T, headDim: D, tile: plan.weightTile,
                                                           gates: GR, heads: N, multiprocessors: runtime.properties.multiprocessors)
            w.rowsPerBlock = Int32(launch.rowsPerBlock)
            try runtime.traceSpan("fused backward: dR kernel") {
                try runtime.launch(try plan.weightGradientModule(dRPath).weightGradientKernel(runtime, for: w),
                                   grid: launch.grid, block: (256, 1, 1), arguments: [w])
            }
        }
        let converted = GR * N * D * D + GT * N * D
        try runtime.traceSpan("fused backward: finish") {
            try runtime.launch(dRKernels.finish, grid: (max(1, min((converted + 255) / 256, runtime.properties.multiprocessors * 8)), 1, 1),
                               block: (256, 1, 1), arguments: [w])
        }

        let gradients = try runtime.backwardOutputs(dWx: dWx, wxShape: problem.wx.shape, dR: dR, db: db, dInitial: dInitial,
                                                    shape: shape, hostOutputs: saved.hostOutputs)
        // Work buffers must outlive the launches that use them; freed stream-ordered
        // (cuMemFreeAsync), their memory is reused only by work enqueued after those kernels.
        withExtendedLifetime((dGR, db32, dR32, dS, dL, saved, dbScratch)) {}
        return gradients
    }
}

extension CUDAFusedBackend {
    /// dR[k, n] += Σ_{rows with t > 0} dG[row, k, n, :] ⊗ h[row − 1, n, :] as cuBLAS products, one
    /// per gate batched over the heads (column-major dRᵀ(q × d) = H(q × rows) · dG(d × rows)ᵀ). With
    /// rows r = (b, t) in order, h_{t-1} of row r is saved h row r − 1 whenever t > 0, so one product
    /// pairs dG rows 1 … B·T−1 with h rows 0 … B·T−2, and a second one (alpha = −1) takes back the
    /// B − 1 pairs that cross from (b − 1, T − 1) into (b, 0). Precision as cudaAlternating's dR
    /// (`CUBLASContext.weightGradient`).
    static func weightGradientProducts(dGR: CUdeviceptr, states32: CUdeviceptr, dR32: CUdeviceptr,
                                       B: Int, T: Int, N: Int, D: Int, GR: Int, dtype: DType) throws {
        let blas = try CUBLASContext.shared.get()
        let ND = N * D, rowG = GR * ND
        for k in 0..<GR {
            let dR = dR32 + UInt64(k * N * D * D * 4)
            try blas.weightGradient(dtype: dtype, rows: B * T - 1, headDim: D, heads: N, h: states32, ldh: ND,
                                    dG: dGR + UInt64((rowG + k * ND) * 4), ldg: rowG, dR: dR)
            if B > 1 {
                try blas.weightGradient(dtype: dtype, rows: B - 1, headDim: D, heads: N,
                                        h: states32 + UInt64((T - 1) * ND * 4), ldh: T * ND,
                                        dG: dGR + UInt64((T * rowG + k * ND) * 4), ldg: T * rowG, dR: dR, alpha: -1)
            }
        }
    }
}

/// What the fused forward keeps for backward (device memory).
final class FusedSaved: @unchecked Sendable {
    let wx: Tensor
    let r: Tensor
    let s0: Tensor?
    /// `[S, B, T, N, D]` float32
    let states32: CUDABuffer
    /// `[B, T, G_T, N, D]` float32
    let pre: CUDABuffer
    let hostOutputs: Bool

    init(wx: Tensor, r: Tensor, s0: Tensor?, states32: CUDABuffer, pre: CUDABuffer, hostOutputs: Bool) {
        self.wx = wx; self.r = r; self.s0 = s0; self.states32 = states32; self.pre = pre; self.hostOutputs = hostOutputs
    }
}
