import Foundation
import FlashRNNCore

/// The kernels of the alternating backend for one (cell, dtype, variant): one NVRTC module.
struct AlternatingKernels {
    /// Batch rows per block (compile-time; see alternating.cuh).
    static let batchTile = 8

    /// The compile-time shape of the step kernels for one head-dimension class.
    struct Variant: Hashable, CustomStringConvertible {
        /// How the forward step computes R·h.
        enum ForwardProduct: Hashable {
            /// forward_step (alternating.cuh): one warp per output row, FFMA.
            case ffma
            /// forward_step_mma (alternating_forward_mma.cuh): mma.sync on 16-bit R with h split
            /// into a high and a low 16-bit part; 16-bit storage and D a multiple of 32 only.
            case mma
        }

        /// U: forward with FFMA: 128-column chunks of a warp's R rows held in registers (loaded
        /// before the wait for the previous step); forward with mma: 32-column chunks of K per warp
        /// held the same way. Backward (always FFMA): 128-column chunks.
        var forwardChunks: Int
        var backwardChunks: Int
        /// Warps per block (FFMA: one output row each; mma: a share of K each).
        var forwardWarps: Int
        var backwardWarps: Int
        var forwardProduct: ForwardProduct = .ffma

        var description: String {
            "U=\(forwardChunks)/\(backwardChunks) W=\(forwardWarps)/\(backwardWarps)" + (forwardProduct == .mma ? " mma" : "")
        }

        /// The compiled choices of forward U (FFMA).
        static let chunkClasses = [1, 2, 6]
        /// The compiled choices of forward U with mma: D ≤ 256 in one 32-column chunk per warp,
        /// D ≤ 768 in three (larger D loop over passes of three).
        static let mmaChunkClasses = [1, 3]
        /// Warps per block of the mma forward: K = D is split over them.
        static let mmaWarps = 8
        /// n8 tiles of batch rows per mma block: 16 rows, so B = 16 reads each R row once per step.
        static let mmaBatchTiles = 2

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

        /// `base` with the mma forward of `chunks` chunks per warp (the backward stays).
        static func mma(_ base: Variant, chunks: Int) -> Variant {
            var variant = base
            variant.forwardProduct = .mma
            variant.forwardChunks = chunks
            variant.forwardWarps = mmaWarps
            return variant
        }

        /// Which head dimensions take the mma forward (16-bit storage, D a multiple of 32 only).
        /// `FLASHRNN_ALTERNATING_MMA`: `0` none, `all` every eligible D, otherwise (default)
        /// D ≥ `mmaMinimumHeadDim`. Read once per process.
        enum MMAPolicy: Sendable {
            case off, largeHeads, everyEligibleHead

            static let current: MMAPolicy = {
                switch ProcessInfo.processInfo.environment["FLASHRNN_ALTERNATING_MMA"] {
                case "0": return .off
                case "all": return .everyEligibleHead
                default: return .largeHeads
                }
            }()
        }
        /// The smallest D whose forward runs on tensor cores by default: at D ≤ 128 the FFMA
        /// forward (≈ 4.3 ms for B = 16, T = 1024) is near its launch floor.
        static let mmaMinimumHeadDim = 256

        static func usesMMA(headDim D: Int, dtype: DType, policy: MMAPolicy) -> Bool {
            guard dtype != .float32, D % 32 == 0 else { return false }
            switch policy {
            case .off: return false
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
                variant = mma(variant, chunks: mmaChunkClasses.first { $0 >= perWarp } ?? mmaChunkClasses.last!)
            }
            return variant
        }

        /// Every variant `forHeadDim` picks for `dtype` with the default policy (the catalog).
        static func catalog(dtype: DType) -> [Variant] {
            var variants = chunkClasses.map { standard(chunks: $0, dtype: dtype) }
            if usesMMA(headDim: 256, dtype: dtype, policy: .largeHeads) {
                // D = 256 (FFMA backward of 2 chunks); D ≥ 288 (backward of 3 chunks).
                variants.append(mma(standard(chunks: 2, dtype: dtype), chunks: 1))
                variants.append(mma(standard(chunks: 6, dtype: dtype), chunks: 3))
            }
            return variants
        }
    }

    let variant: Variant
    let initStates: Kernel
    let forwardStep: Kernel
    let copyLast: Kernel
    let transposeR: Kernel
    let backwardStep: Kernel
    let finishDWx: Kernel
    let reduceDb: Kernel
    let convert: Kernel

    static func names(cell: CellKind, dtype: DType, variant v: Variant) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let forward = v.forwardProduct == .mma
            ? "&flashrnn::forward_step_mma<\(c), \(s), \(Variant.mmaRowTiles(cell)), \(Variant.mmaBatchTiles), \(v.forwardWarps), \(v.forwardChunks)>"
            : "&flashrnn::forward_step<\(c), \(s), \(batchTile), \(v.forwardWarps), \(v.forwardChunks)>"
        let backward = "\(batchTile), \(v.backwardWarps), \(v.backwardChunks)"
        return [
            "&flashrnn::init_states<\(c), \(s)>",
            forward,
            "&flashrnn::copy_last<\(c), \(s)>",
            "&flashrnn::transpose_r<\(c), \(s)>",
            "&flashrnn::backward_step<\(c), \(s), \(backward)>",
            "&flashrnn::finish_dwx<\(c), \(s)>",
            "&flashrnn::reduce_db<\(c)>",
            "&flashrnn::convert_from_f32<\(s)>",
        ]
    }

    static func spec(cell: CellKind, dtype: DType, variant: Variant) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype) \(variant)",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n"
                             + (variant.forwardProduct == .mma ? "#include \"alternating/alternating_forward_mma.cuh\"\n" : ""),
                         nameExpressions: names(cell: cell, dtype: dtype, variant: variant))
    }

    init(runtime: CUDARuntime, cell: CellKind, dtype: DType, variant: Variant) throws {
        let spec = Self.spec(cell: cell, dtype: dtype, variant: variant)
        let kernels = try runtime.kernels(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
        let n = spec.nameExpressions
        self.variant = variant
        initStates = kernels[n[0]]!
        forwardStep = kernels[n[1]]!
        copyLast = kernels[n[2]]!
        transposeR = kernels[n[3]]!
        backwardStep = kernels[n[4]]!
        finishDWx = kernels[n[5]]!
        reduceDb = kernels[n[6]]!
        convert = kernels[n[7]]!
    }
}
