import FlashRNNCore

/// What shapes one variant of the fused kernels at compile time, and how it is launched.
///
/// Decomposition "a head fits one SM": one CTA per (head n, batch slice of 8 columns), D/16 warps,
/// warp w owning features [16w, 16w+16) of every recurrent gate. R stays on chip for all T steps:
/// the first `forwardRegisterTiles` (backward: `backwardRegisterTiles`) of the warp's
/// G_R · DP/kK tensor-core A tiles live in registers, the rest in shared memory. Batch size and
/// length are run-time values and never select a variant.
public struct FusedVariant: Hashable, Sendable, CustomStringConvertible {
    public let cell: CellKind
    public let dtype: DType
    /// D padded to a multiple of 16 (the tensor-core tile height).
    public let paddedHeadDim: Int

    /// The largest head dimension one CTA holds with no register spill (checked by
    /// `flashrnn compile-kernels` for every variant). Beyond it a head needs a thread-block
    /// cluster, which this backend does not implement yet.
    public static let maxHeadDim = 128
    /// Batch columns one CTA carries (the N extent of one tensor-core product).
    public static let batchSlice = 8
    /// A tiles in registers per warp, forward and backward. Chosen so that every variant up to
    /// `maxHeadDim` compiles without spills under `__launch_bounds__(threads, 1)` on sm_90
    /// (255 registers per thread); the backward sweep holds more per-step values, so fewer tiles.
    static let forwardRegisterTileLimit = 24
    static let backwardRegisterTileLimit = 12

    public init(cell: CellKind, dtype: DType, headDim: Int) {
        self.cell = cell
        self.dtype = dtype
        self.paddedHeadDim = (headDim + 15) / 16 * 16
    }

    /// K extent of one tensor-core product: m16n8k16 for 16-bit types, m16n8k8 (TF32) for float32.
    var productK: Int { dtype == .float32 ? 8 : 16 }
    /// Operand elements per 32-bit shared-memory word.
    var elementsPerWord: Int { dtype == .float32 ? 1 : 2 }
    /// A tiles of R per warp (forward) or of Rᵀ per warp (backward): G_R · DP / kK.
    public var tiles: Int { cell.gatesR * paddedHeadDim / productK }
    public var warps: Int { paddedHeadDim / 16 }
    public var threads: Int { warps * 32 }
    public var forwardRegisterTiles: Int { min(tiles, Self.forwardRegisterTileLimit) }
    public var backwardRegisterTiles: Int { min(tiles, Self.backwardRegisterTileLimit) }

    /// Bytes of shared memory per CTA: R tiles not in registers (16 bytes per lane), plus the
    /// double-buffered operand tile [2, 8 batch, K] with rows padded by 4 words.
    public var forwardSharedBytes: Int {
        (tiles - forwardRegisterTiles) * warps * 32 * 16 + 2 * 8 * (paddedHeadDim / elementsPerWord + 4) * 4
    }
    public var backwardSharedBytes: Int {
        (tiles - backwardRegisterTiles) * warps * 32 * 16
            + 2 * 8 * (cell.gatesR * paddedHeadDim / elementsPerWord + 4) * 4
    }

    /// The CUDA spelling of the storage type.
    var storageTypeName: String {
        switch dtype {
        case .float32: "float"
        case .float16: "__half"
        case .bfloat16: "__nv_bfloat16"
        case .float64: "double"
        }
    }

    var cellTypeName: String {
        switch cell {
        case .lstm: "flashrnn::LSTMCell"
        case .slstm: "flashrnn::SLSTMCell"
        case .gru: "flashrnn::GRUCell"
        case .elman: "flashrnn::ElmanCell"
        }
    }

    /// The translation unit NVRTC compiles; the kernels are instantiated by name expression.
    static let mainSource = "#include \"fused/fused_entry.cuh\"\n"

    public var forwardKernelName: String {
        "&flashrnn::fused::forward_kernel<\(cellTypeName), \(storageTypeName), \(paddedHeadDim), \(forwardRegisterTiles)>"
    }
    public var backwardKernelName: String {
        "&flashrnn::fused::backward_kernel<\(cellTypeName), \(storageTypeName), \(paddedHeadDim), \(backwardRegisterTiles)>"
    }
    public var weightGradientKernelName: String { "&flashrnn::fused::weight_gradient_kernel<\(storageTypeName)>" }
    public var finishKernelName: String { "&flashrnn::fused::finish_gradients_kernel<\(storageTypeName)>" }
    public var kernelNames: [String] { [forwardKernelName, backwardKernelName, weightGradientKernelName, finishKernelName] }

    public var description: String { "fused \(cell) \(dtype) DP=\(paddedHeadDim)" }

    /// Why the fused backend cannot run a head of `headDim` in `dtype`, or nil.
    /// `sharedMemoryLimit` is the device's opt-in shared memory per block.
    public static func limitation(cell: CellKind, headDim: Int, dtype: DType, sharedMemoryLimit: Int = 227 * 1024) -> String? {
        guard dtype != .float64 else {
            return "cudaFused computes in float32, float16 or bfloat16, not float64; use the cpu backend for float64"
        }
        guard headDim <= maxHeadDim else {
            return "cudaFused keeps a head on one SM, which holds D ≤ \(maxHeadDim); D = \(headDim) needs a "
                + "thread-block cluster, not implemented yet: use cudaAlternating (automatic falls back to it)"
        }
        let variant = FusedVariant(cell: cell, dtype: dtype, headDim: headDim)
        let needed = max(variant.forwardSharedBytes, variant.backwardSharedBytes)
        guard needed <= sharedMemoryLimit else {
            return "cudaFused needs \(needed) bytes of shared memory per block for \(cell) D = \(headDim) in \(dtype); "
                + "the device allows \(sharedMemoryLimit): use cudaAlternating"
        }
        return nil
    }

    /// Every variant the backend can select, for ahead-of-time compilation and spill checks.
    public static var all: [FusedVariant] {
        var result: [FusedVariant] = []
        for cell in CellKind.allCases {
            for dtype in [DType.float32, .float16, .bfloat16] {
                for dp in stride(from: 16, through: maxHeadDim, by: 16) {
                    result.append(FusedVariant(cell: cell, dtype: dtype, headDim: dp))
                }
            }
        }
        return result
    }
}
