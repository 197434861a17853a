import FlashRNNCore

/// The kernels of the alternating backend for one (cell, dtype, R chunk count): one NVRTC module.
struct AlternatingKernels {
    /// Batch rows per block (compile-time; see alternating.cuh).
    static let batchTile = 8

    /// Warps per forward block: 4 where all of R is held (U = 6; ≈ 150 registers, three blocks
    /// per SM, so the D = 768 grid of 384 blocks is one wave), else 8.
    static func forwardWarps(chunks: Int) -> Int { chunks >= 6 ? 4 : 8 }
    /// Warps per backward block: 8 (its dG tile, 96 KiB at D = 768, allows two blocks per SM).
    static let backwardWarps = 8
    /// R chunks the backward step holds: at most 3 (two blocks of 256 threads per SM leave
    /// 128 registers; all 6 chunks of D = 768 spilled).
    static func backwardChunks(chunks: Int) -> Int { min(chunks, 3) }
    /// The compiled choices of U, the 128-column chunks of a warp's R rows held in registers
    /// (loaded before the wait for the previous step).
    static let chunkClasses = [1, 2, 6]

    /// U for head dimension D: all of a row (D ≤ 768 when D is a multiple of 4), else 6 per pass.
    static func chunks(headDim D: Int) -> Int {
        let needed = (D + 127) / 128
        return chunkClasses.first { $0 >= needed } ?? chunkClasses.last!
    }

    let chunks: Int
    let initStates: Kernel
    let forwardStep: Kernel
    let copyLast: Kernel
    let transposeR: Kernel
    let backwardStep: Kernel
    let finishDWx: Kernel
    let reduceDb: Kernel
    let convert: Kernel

    static func names(cell: CellKind, dtype: DType, chunks: Int) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let forward = "\(batchTile), \(forwardWarps(chunks: chunks)), \(chunks)"
        let backward = "\(batchTile), \(backwardWarps), \(backwardChunks(chunks: chunks))"
        return [
            "&flashrnn::init_states<\(c), \(s)>",
            "&flashrnn::forward_step<\(c), \(s), \(forward)>",
            "&flashrnn::copy_last<\(c), \(s)>",
            "&flashrnn::transpose_r<\(c), \(s)>",
            "&flashrnn::backward_step<\(c), \(s), \(backward)>",
            "&flashrnn::finish_dwx<\(c), \(s)>",
            "&flashrnn::reduce_db<\(c)>",
            "&flashrnn::convert_from_f32<\(s)>",
        ]
    }

    static func spec(cell: CellKind, dtype: DType, chunks: Int) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype) U=\(chunks)",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n",
                         nameExpressions: names(cell: cell, dtype: dtype, chunks: chunks))
    }

    init(runtime: CUDARuntime, cell: CellKind, dtype: DType, chunks: Int) throws {
        let spec = Self.spec(cell: cell, dtype: dtype, chunks: chunks)
        let kernels = try runtime.kernels(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
        let n = spec.nameExpressions
        self.chunks = chunks
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
