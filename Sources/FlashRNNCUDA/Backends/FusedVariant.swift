import Foundation
import FlashRNNCore

/// What shapes one variant of the fused kernels at compile time, and how it is launched.
///
/// Decomposition "a head fits one SM": one CTA per (head n, batch slice of 8 columns). Forward:
/// a warp owns `forwardFeaturesPerWarp` features of every recurrent gate (8 up to DP = 96, two
/// gates per tensor-core tile; 16 beyond, where 8 would leave too few registers per thread).
/// Backward: each 16 input features have one warp, or up to DP = 64 two warps that split the
/// product's K range and exchange partial sums (`backwardSplit`). R stays on chip for all T
/// steps: the first `forwardRegisterTiles` (backward: `backwardRegisterTiles`) of a warp's
/// tensor-core A tiles live in registers, the rest in shared memory. Batch size and length are
/// run-time values and never select a variant.
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
    /// `maxHeadDim` compiles without spills under `__launch_bounds__(threads, 1)` on sm_80 and
    /// sm_90 (255 registers per thread); the backward sweep holds more per-step values (all of a
    /// step's inputs are loaded together), so fewer tiles.
    static let forwardRegisterTileLimit = 24
    static let backwardRegisterTileLimit = 8

    public init(cell: CellKind, dtype: DType, headDim: Int) {
        self.cell = cell
        self.dtype = dtype
        self.paddedHeadDim = (headDim + 15) / 16 * 16
    }

    /// K extent of one tensor-core product: m16n8k16 for 16-bit types, m16n8k8 (TF32) for float32.
    var productK: Int { dtype == .float32 ? 8 : 16 }
    /// Operand elements per 32-bit shared-memory word.
    var elementsPerWord: Int { dtype == .float32 ? 1 : 2 }
    /// Warps sharing one 16-feature group of the backward sweep (splitting its K range): 2 while
    /// the doubled warps leave enough registers per thread, else 1. Mirrors `BackwardShape`.
    public var backwardSplit: Int { paddedHeadDim <= 64 ? 2 : 1 }
    /// A tiles of Rᵀ per warp of the backward sweep: ⌈G_R · DP / kK / split⌉.
    public var tiles: Int { (cell.gatesR * paddedHeadDim / productK + backwardSplit - 1) / backwardSplit }
    /// Warps and threads of the backward sweep.
    public var warps: Int { paddedHeadDim / 16 * backwardSplit }
    public var threads: Int { warps * 32 }
    /// Features per warp of the forward sweep: 8 (two gates per A tile, so twice the warps to hide
    /// latency) while DP · 4 threads leave enough registers for R, else 16 (one gate per tile).
    /// Mirrors `ForwardShape` in fused_forward.cuh.
    public var forwardFeaturesPerWarp: Int { paddedHeadDim <= 96 ? 8 : 16 }
    public var forwardWarps: Int { paddedHeadDim / forwardFeaturesPerWarp }
    public var forwardThreads: Int { forwardWarps * 32 }
    /// A tiles of R per warp of the forward sweep: ⌈G_R / gates per tile⌉ · DP / kK.
    public var forwardTiles: Int {
        let gatesPerTile = 16 / forwardFeaturesPerWarp
        return (cell.gatesR + gatesPerTile - 1) / gatesPerTile * (paddedHeadDim / productK)
    }
    public var forwardRegisterTiles: Int { min(forwardTiles, Self.forwardRegisterTileLimit) }
    public var backwardRegisterTiles: Int { min(tiles, Self.backwardRegisterTileLimit) }

    /// Bytes of shared memory per CTA: R tiles not in registers (16 bytes per lane), plus the
    /// double-buffered operand tile [2, 8 batch, K] with rows padded by 4 words.
    public var forwardSharedBytes: Int { forwardSharedBytes(stagingWx: Self.stagesWx) }
    public func forwardSharedBytes(stagingWx: Bool) -> Int {
        (forwardTiles - forwardRegisterTiles) * forwardWarps * 32 * 16 + 2 * 8 * (paddedHeadDim / elementsPerWord + 4) * 4
            + (stagingWx ? forwardWxRingBytes : 0)
    }
    /// Whether the forward stages Wx through a shared-memory ring filled by cp.async three steps
    /// ahead (`ForwardShape::kWxStages` in fused_forward.cuh; 16-bit types, D % 8 == 0, 16-byte
    /// aligned Wx rows, else the kernel loads Wx into registers as without it). Off unless
    /// FLASHRNN_FUSED_STAGE_WX=1: not yet checked on a GPU (docs/performance-fused.md, round onesm).
    public static let stagesWx = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_STAGE_WX"] == "1"
    /// Bytes of that ring: 4 steps × 8 batch rows × (G_W · DP + 8) 16-bit elements.
    public var forwardWxRingBytes: Int { dtype == .float32 ? 0 : 4 * 8 * (cell.gatesW * paddedHeadDim + 8) * 2 }
    public var backwardSharedBytes: Int {
        (tiles - backwardRegisterTiles) * warps * 32 * 16
            + 2 * 2 * 8 * (cell.gatesR * paddedHeadDim / elementsPerWord + 4) * 4   // dG tiles: 2 steps, high and low part
            + (backwardSplit > 1 ? warps * 32 * 8 : 0)   // partial sums handed between split warps
    }

    public var forwardKernelName: String { forwardKernelName(stagingWx: Self.stagesWx) }
    public func forwardKernelName(stagingWx: Bool) -> String {
        "&flashrnn::fused::\(stagingWx ? "forward_staged_kernel" : "forward_kernel")<\(KernelNames.cell(cell)), \(storage), \(paddedHeadDim), \(forwardRegisterTiles)>"
    }
    public var backwardKernelName: String {
        "&flashrnn::fused::backward_kernel<\(KernelNames.cell(cell)), \(storage), \(paddedHeadDim), \(backwardRegisterTiles)>"
    }
    /// Side of the dR kernel's output tile: the smallest of 16, 32, 64 that covers the head, so a
    /// small head does not pay for a 64 × 64 tile it mostly leaves empty.
    public var weightTile: Int { paddedHeadDim <= 16 ? 16 : paddedHeadDim <= 32 ? 32 : 64 }
    public var weightGradientKernelName: String { "&flashrnn::fused::weight_gradient_kernel<\(storage), \(weightTile)>" }
    public var finishKernelName: String { "&flashrnn::fused::finish_gradients_kernel<\(storage)>" }
    public var kernelNames: [String] { [forwardKernelName, backwardKernelName, weightGradientKernelName, finishKernelName] }
    private var storage: String { KernelNames.storage(dtype) ?? "flashrnn::F32" }

    /// The NVRTC module of this variant.
    public var spec: KernelModuleSpec {
        KernelModuleSpec(label: "fused \(cell) \(dtype) DP=\(paddedHeadDim)",
                         mainSource: KernelNames.prelude + "#include \"fused/fused_entry.cuh\"\n",
                         nameExpressions: kernelNames)
    }

    public var description: String { "fused \(cell) \(dtype) DP=\(paddedHeadDim)" }

    /// Why the fused backend cannot run a head of `headDim` in `dtype`, or nil.
    /// `sharedMemoryLimit` is the device's opt-in shared memory per block.
    public static func limitation(cell: CellKind, headDim: Int, dtype: DType, sharedMemoryLimit: Int = 227 * 1024) -> String? {
        guard dtypes.contains(dtype) else {
            return dtype == .float32
                ? "cudaFused computes float32 products in TF32 (about 1e-4 relative error), which misses the spec's "
                    + "float32 tolerance of 1e-5: use cudaAlternating for float32"
                : "cudaFused computes in float16 or bfloat16, not \(dtype)"
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

    /// Storage types the fused backend computes in. float32 would run its products in TF32
    /// (the kernels support it, `MmaTraits<F32>`), which misses the spec's 1e-5 for float32.
    public static let dtypes: [DType] = [.float16, .bfloat16]

    /// Every variant the backend can select, for ahead-of-time compilation and spill checks.
    public static var all: [FusedVariant] {
        var result: [FusedVariant] = []
        for cell in CellKind.allCases {
            for dtype in dtypes {
                for dp in stride(from: 16, through: maxHeadDim, by: 16) {
                    result.append(FusedVariant(cell: cell, dtype: dtype, headDim: dp))
                }
            }
        }
        return result
    }
}
