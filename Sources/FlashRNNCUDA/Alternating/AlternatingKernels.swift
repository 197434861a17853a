import FlashRNNCore

/// The kernels of the alternating backend for one (cell, dtype): one NVRTC module.
struct AlternatingKernels {
    /// Batch rows per block and warps per block (compile-time; see alternating.cuh).
    static let batchTile = 8
    static let warps = 8

    let initStates: Kernel
    let forwardStep: Kernel
    let copyLast: Kernel
    let transposeR: Kernel
    let backwardStep: Kernel
    let finishDWx: Kernel
    let reduceDb: Kernel
    let convert: Kernel

    static func names(cell: CellKind, dtype: DType) -> [String] {
        let c = KernelNames.cell(cell), s = KernelNames.storage(dtype)!
        let tile = "\(batchTile), \(warps)"
        return [
            "&flashrnn::init_states<\(c), \(s)>",
            "&flashrnn::forward_step<\(c), \(s), \(tile)>",
            "&flashrnn::copy_last<\(c), \(s)>",
            "&flashrnn::transpose_r<\(c), \(s)>",
            "&flashrnn::backward_step<\(c), \(s), \(tile)>",
            "&flashrnn::finish_dwx<\(c), \(s)>",
            "&flashrnn::reduce_db<\(c)>",
            "&flashrnn::convert_from_f32<\(s)>",
        ]
    }

    static func spec(cell: CellKind, dtype: DType) -> KernelModuleSpec {
        KernelModuleSpec(label: "alternating \(cell) \(dtype)",
                         mainSource: KernelNames.prelude + "#include \"alternating/alternating.cuh\"\n",
                         nameExpressions: names(cell: cell, dtype: dtype))
    }

    init(runtime: CUDARuntime, cell: CellKind, dtype: DType) throws {
        let spec = Self.spec(cell: cell, dtype: dtype)
        let kernels = try runtime.kernels(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
        let n = spec.nameExpressions
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
