import Foundation
import FlashRNNCore

/// The kernels of the alternating backend for one (cell, dtype, variant): a forward module,
/// loaded here, and a backward module (`backward(runtime:…)`).
struct AlternatingKernels {
    /// Batch rows per block (compile-time; see alternating.cuh).
    static let batchTile = 8

    /// The compile-time shape of the step kernels for one head-dimension class.
    struct Variant: Hashable, CustomStringConvertible {
        /// How a step computes its product (R·h forward, Rᵀ·dG backward).
        enum Product: Hashable {
            /// forward_step / backward_step (alternating.cuh): one warp per output row, FFMA.
            case ffma
            /// forward_step_mma / backward_step_mma (alternating_{forward,backward}_mma.cuh):
            /// mma.sync on 16-bit R with the float32 operand split into a high and a low 16-bit
            /// part; 16-bit storage and D a multiple of 32 only.
            case mma
        }

        /// U: with FFMA, 128-column chunks of a warp's R rows held in registers (loaded before the
        /// wait for the previous step); with mma, 32-column chunks of K per warp held the same way.
        var forwardChunks: Int
        var backwardChunks: Int
        /// Warps per block (FFMA: one output row each; mma: a share of K each).
        var forwardWarps: Int
        var backwardWarps: Int
        var forwardProduct: Product = .ffma
        var backwardProduct: Product = .ffma

        var description: String {
            let products: String
            switch (forwardProduct, backwardProduct) {
            case (.ffma, .ffma): products = ""
            case (.mma, .mma): products = " mma"
            case (.mma, .ffma): products = " mma-fw"
            case (.ffma, .mma): products = " mma-bw"
            }
            return "U=\(forwardChunks)/\(backwardChunks) W=\(forwardWarps)/\(backwardWarps)" + products
        }

        /// The compiled choices of forward U (FFMA).
        static let chunkClasses = [1, 2, 6]
        /// The compiled choices of forward U with mma: D ≤ 256 in one 32-column chunk per warp,
        /// D ≤ 768 in three (larger D loop over passes of three).
        static let mmaChunkClasses = [1, 3]
        /// Warps per block of the mma forward: K = D is split over them.
        static let mmaWarps = 8
        /// n8 tiles of batch rows per mma forward block: 16 rows, so B = 16 reads each R row once per step.
        static let mmaBatchTiles = 2
        /// The compiled choices of backward U with mma (K = G_R·D over 16 warps): D ≤ 256 in two
        /// chunks per warp, D ≤ 768 in six (larger D loop).
        static let mmaBackwardChunkClasses = [2, 6]
        /// Warps per block of the mma backward.
        static let mmaBackwardWarps = 16
        /// n8 tiles of batch rows per mma backward block: 8 rows (96 blocks at D = 768, B = 16;
        /// its dG operand is G_R·D float32 per batch row).
        static let mmaBackwardBatchTiles = 1
        /// Features (Rᵀ rows) per mma backward block.
        static let mmaBackwardFeatures = 16

        /// m16 tiles of R rows per mma block for a cell: whole features (G_R rows each), 8
        /// features for the four-gate cells (96 blocks at D = 768), else 16.
        static func mmaRowTiles(_ cell: CellKind) -> Int { cell.gatesR == 4 ? 2 : cell.gatesR }
        /// Features per mma block (16 · row tiles / G_R).
        static func mmaFeatures(_ cell: CellKind) -> Int { 16 * mmaRowTiles(cell) / cell.gatesR }

        /// The default for a forward chunk class. Backward holds at most 3 chunks: its blocks of
        /// 8 warps must fit two per SM (its dG tile is 96 KiB at D = 768), which leaves 128
        /// registers, and all 6 chunks spilled. Forward blocks of 8 warps (measured faster than
        /// 4 at 64 × 12 and 768 × 1, docs/performance-gpu.md round 4), except float32 with all
        /// 6 chunks held: at the 128 registers that two such blocks per SM leave it spilled
        /// 2.4 KB, so 4 warps (three blocks per SM, 170 registers).
        static func standard(chunks: Int, dtype: DType) -> Variant {
            Variant(forwardChunks: chunks, backwardChunks: min(chunks, 3),
                    forwardWarps: chunks >= 6 && dtype == .float32 ? 4 : 8, backwardWarps: 8)
        }

        /// `base` with the mma forward and/or backward of the given chunks per warp.
        static func mma(_ base: Variant, forwardChunks: Int? = nil, backwardChunks: Int? = nil) -> Variant {
            var variant = base
            if let chunks = forwardChunks {
                variant.forwardProduct = .mma; variant.forwardChunks = chunks; variant.forwardWarps = mmaWarps
            }
            if let chunks = backwardChunks {
                variant.backwardProduct = .mma; variant.backwardChunks = chunks; variant.backwardWarps = mmaBackwardWarps
            }
            return variant
        }

        /// Which head dimensions take the mma steps (16-bit storage, D a multiple of 32 only).
        /// `FLASHRNN_ALTERNATING_MMA`: `0` none, `forward` the forward only (D ≥
        /// `mmaMinimumHeadDim`), `all` both on every eligible D, otherwise (default) both for
        /// D ≥ `mmaMinimumHeadDim`. Read once per process.
        enum MMAPolicy: Sendable {
            case off, forwardOnly, largeHeads, everyEligibleHead

            static let current: MMAPolicy = {
                switch ProcessInfo.processInfo.environment["FLASHRNN_ALTERNATING_MMA"] {
                case "0": return .off
                case "forward": return .forwardOnly
                case "all": return .everyEligibleHead
                default: return .largeHeads
                }
            }()
        }
        /// The smallest D whose steps run on tensor cores by default: every eligible D. Round
        /// altmma (H200, LSTM bf16, B = 16, T = 1024, `FLASHRNN_ALTERNATING_MMA=all` against the
        /// FFMA steps) measured D = 64 fw 2.21 vs 4.49 ms, fw+bw 6.83 vs 11.45; D = 128 2.31 vs
        /// 4.36, 7.30 vs 11.71; D = 256 2.57 vs 5.48, 7.88 vs 15.51.
        static let mmaMinimumHeadDim = 32

        /// Whether the forward (`backward` false) or backward step of D takes the mma product.
        static func usesMMA(headDim D: Int, dtype: DType, policy: MMAPolicy, backward: Bool = false) -> Bool {
            guard dtype != .float32, D % 32 == 0 else { return false }
            switch policy {
            case .off: return false
            case .forwardOnly: return !backward && D >= mmaMinimumHeadDim
            case .largeHeads: return D >= mmaMinimumHeadDim
            case .everyEligibleHead: return true
            }
        }

        /// The variant for head dimension D: all of a row held (D ≤ 768 when D is a multiple of 4),
        /// else 6 chunks per pass; the mma forward where `policy` takes it.
        /// `FLASHRNN_ALTERNATING_WARPS=F,B` overrides the warps per block (F only for the FFMA
        /// forward; to measure the difference; such variants compile at run time only).
        static func forHeadDim(_ D: Int, dtype: DType, policy: MMAPolicy = .current) -> Variant {
            let needed = (D + 127) / 128
            var variant = standard(chunks: chunkClasses.first { $0 >= needed } ?? chunkClasses.last!, dtype: dtype)
            if let text = ProcessInfo.processInfo.environment["FLASHRNN_ALTERNATING_WARPS"] {
                let parts = text.split(separator: ",").compactMap { Int($0) }
                if parts.count == 2, parts.allSatisfy({ [1, 2, 4, 8].contains($0) }) {
                    variant.forwardWarps = parts[0]; variant.backwardWarps = parts[1]
                }
            }
            if usesMMA(headDim: D, dtype: dtype, policy: policy) {
                let perWarp = (D / 32 + mmaWarps - 1) / mmaWarps
                variant = mma(variant, forwardChunks: mmaChunkClasses.first { $0 >= perWarp } ?? mmaChunkClasses.last!)
            }
            if usesMMA(headDim: D, dtype: dtype, policy: policy, backward: true) {
                // Chunks per warp of the four-gate cells (the most any cell needs).
                let perWarp = (4 * D / 32 + mmaBackwardWarps - 1) / mmaBackwardWarps
                variant = mma(variant, backwardChunks: mmaBackwardChunkClasses.first { $0 >= perWarp } ?? mmaBackwardChunkClasses.last!)
            }
            return variant
        }

        /// Every variant `forHeadDim` picks for `dtype` with the default policy (the catalog).
        static func catalog(dtype: DType) -> [Variant] {
            var variants = chunkClasses.map { standard(chunks: $0, dtype: dtype) }
            for d in stride(from: 32, through: catalogLimit, by: 32) {
                let v = forHeadDim(d, dtype: dtype, policy: .largeHeads)
                if !variants.contains(v) { variants.append(v) }
            }
            return variants
        }
        /// The largest D the catalog enumerates (the backend's shared-memory limit is below it).
        static let catalogLimit = 2048
    }

    let variant: Variant
    let initStates: Kernel
    let forwardStep: Kernel
    let copyLast: Kernel

    /// The backward's kernels, in a module of their own (`backwardSpec`) so that inference does
    /// not compile them; dR is the shared `WeightGradientModule`.
    struct Backward {
        let transposeR: Kernel
        let backwardStep: Kernel
        let finishDWx: Kernel
        let reduceDb: Kernel
        let convert: Kernel
    }

    static func forwardNames(cell: CellKind, dtype: DType, variant v: Variant) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let forward = v.forwardProduct == .mma
            ? "&flashrnn::forward_step_mma<\(c), \(s), \(Variant.mmaRowTiles(cell)), \(Variant.mmaBatchTiles), \(v.forwardWarps), \(v.forwardChunks)>"
            : "&flashrnn::forward_step<\(c), \(s), \(batchTile), \(v.forwardWarps), \(v.forwardChunks)>"
        return ["&flashrnn::init_states<\(c), \(s)>", forward, "&flashrnn::copy_last<\(c), \(s)>"]
    }

    static func backwardNames(cell: CellKind, dtype: DType, variant v: Variant) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let backward = v.backwardProduct == .mma
            ? "&flashrnn::backward_step_mma<\(c), \(s), \(Variant.mmaBackwardBatchTiles), \(v.backwardWarps), \(v.backwardChunks)>"
            : "&flashrnn::backward_step<\(c), \(s), \(batchTile), \(v.backwardWarps), \(v.backwardChunks)>"
        return [
            "&flashrnn::transpose_r<\(c), \(s)>",
            backward,
            "&flashrnn::finish_dwx<\(c), \(s)>",
            "&flashrnn::reduce_db<\(c)>",
            "&flashrnn::convert_from_f32<\(s)>",
        ]
    }

    /// dR's output tile (`WeightGradientModule`): the smallest of 16, 32, 64 that covers D.
    static func weightGradientTile(headDim D: Int) -> Int { WeightGradientModule.tiles.first { $0 >= D } ?? 64 }

    static func forwardSpec(cell: CellKind, dtype: DType, variant: Variant) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype) \(variant) forward",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n"
                             + (variant.forwardProduct == .mma ? "#include \"alternating/alternating_forward_mma.cuh\"\n" : ""),
                         nameExpressions: forwardNames(cell: cell, dtype: dtype, variant: variant))
    }

    static func backwardSpec(cell: CellKind, dtype: DType, variant: Variant) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype) \(variant) backward",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n"
                             + (variant.backwardProduct == .mma ? "#include \"alternating/alternating_backward_mma.cuh\"\n" : ""),
                         nameExpressions: backwardNames(cell: cell, dtype: dtype, variant: variant))
    }

    init(runtime: CUDARuntime, cell: CellKind, dtype: DType, variant: Variant) throws {
        let spec = Self.forwardSpec(cell: cell, dtype: dtype, variant: variant)
        let kernels = try runtime.kernels(spec)
        let n = spec.nameExpressions
        self.variant = variant
        initStates = kernels[n[0]]!
        forwardStep = kernels[n[1]]!
        copyLast = kernels[n[2]]!
    }

    static func backward(runtime: CUDARuntime, cell: CellKind, dtype: DType, variant: Variant) throws -> Backward {
        let spec = backwardSpec(cell: cell, dtype: dtype, variant: variant)
        let kernels = try runtime.kernels(spec)
        let n = spec.nameExpressions
        return Backward(transposeR: kernels[n[0]]!, backwardStep: kernels[n[1]]!, finishDWx: kernels[n[2]]!,
                        reduceDb: kernels[n[3]]!, convert: kernels[n[4]]!)
    }
}
