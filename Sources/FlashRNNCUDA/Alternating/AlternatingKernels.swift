import Foundation
import FlashRNNCore

/// The kernels of the alternating backend for one (cell, dtype, variant): one NVRTC module.
struct AlternatingKernels {
    /// Batch rows per block (compile-time; see alternating.cuh).
    static let batchTile = 8

    /// The compile-time shape of the step kernels for one head-dimension class.
    struct Variant: Hashable, CustomStringConvertible {
        /// U: 128-column chunks of a warp's R rows held in registers (loaded before the wait
        /// for the previous step), forward and backward.
        var forwardChunks: Int
        var backwardChunks: Int
        /// Warps per block (one output row each).
        var forwardWarps: Int
        var backwardWarps: Int

        var description: String { "U=\(forwardChunks)/\(backwardChunks) W=\(forwardWarps)/\(backwardWarps)" }

        /// The compiled choices of forward U.
        static let chunkClasses = [1, 2, 6]

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

        /// The variant for head dimension D: all of a row held (D ≤ 768 when D is a multiple of 4),
        /// else 6 chunks per pass. `FLASHRNN_ALTERNATING_WARPS=F,B` overrides the warps per
        /// block (to measure the difference; such variants compile at run time only).
        static func forHeadDim(_ D: Int, dtype: DType) -> Variant {
            let needed = (D + 127) / 128
            var variant = standard(chunks: chunkClasses.first { $0 >= needed } ?? chunkClasses.last!, dtype: dtype)
            if let text = ProcessInfo.processInfo.environment["FLASHRNN_ALTERNATING_WARPS"] {
                let parts = text.split(separator: ",").compactMap { Int($0) }
                if parts.count == 2, parts.allSatisfy({ [1, 2, 4, 8].contains($0) }) {
                    variant.forwardWarps = parts[0]; variant.backwardWarps = parts[1]
                }
            }
            return variant
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
    /// weight_gradient_kernel by its tile (16, 32, 64).
    let weightGradient: [Int: Kernel]

    static func names(cell: CellKind, dtype: DType, variant v: Variant) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let forward = "\(batchTile), \(v.forwardWarps), \(v.forwardChunks)"
        let backward = "\(batchTile), \(v.backwardWarps), \(v.backwardChunks)"
        return [
            "&flashrnn::init_states<\(c), \(s)>",
            "&flashrnn::forward_step<\(c), \(s), \(forward)>",
            "&flashrnn::copy_last<\(c), \(s)>",
            "&flashrnn::transpose_r<\(c), \(s)>",
            "&flashrnn::backward_step<\(c), \(s), \(backward)>",
            "&flashrnn::finish_dwx<\(c), \(s)>",
            "&flashrnn::reduce_db<\(c)>",
            "&flashrnn::convert_from_f32<\(s)>",
        ] + weightGradientTiles.map { "&flashrnn::fused::weight_gradient_kernel<\(s), \($0)>" }
    }

    /// dR by the tiled kernel (shared with cudaFused) for the heads `WeightGradientChoice` gives
    /// it: the smallest square output tile that covers D.
    static let weightGradientTiles = [16, 32, 64]
    static func weightGradientTile(headDim D: Int) -> Int { weightGradientTiles.first { $0 >= D } ?? 64 }

    static func spec(cell: CellKind, dtype: DType, variant: Variant) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype) \(variant)",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n"
                             + "#include \"fused/fused_weight_gradient.cuh\"\n",
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
        weightGradient = Dictionary(uniqueKeysWithValues: Self.weightGradientTiles.enumerated().map { ($1, kernels[n[8 + $0]]!) })
    }
}
