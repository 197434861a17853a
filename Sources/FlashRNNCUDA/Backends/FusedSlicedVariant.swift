import FlashRNNCore

/// A variant of the fused kernels for a head larger than one SM (D > `FusedVariant.maxHeadDim`):
/// decomposition "a head over a thread-block cluster" (docs/design-fused.md).
///
/// The head's output features are split into `clusterSize` slices of `slice` features (a
/// multiple of 16, one warp per 16); the CTAs of one cluster are the slices of one (head, batch
/// slice of 8 columns). Each CTA keeps R's rows of its slice (all gates, all of K) on chip and
/// publishes its part of h_t (backward: dG_t) to every CTA of the cluster through distributed
/// shared memory, with one cluster barrier per step. B and T never select a variant.
public struct FusedSlicedVariant: Hashable, Sendable, CustomStringConvertible {
    public let cell: CellKind
    public let dtype: DType
    /// Features per CTA (DS).
    public let slice: Int
    /// CTAs per head, the cluster size (KS): a power of two.
    public let clusterSize: Int

    /// Cluster sizes tried, smallest first: 8 is the portable limit, 16 needs the non-portable
    /// attribute (Hopper allows it).
    public static let clusterSizes = [2, 4, 8, 16]
    /// The largest slice: 4 warps per CTA, one per SM sub-partition.
    public static let maxSlice = 64
    /// A tiles in registers per warp. Forward holds fewer than the one-SM sweep (24): publishing
    /// h to the cluster needs registers of its own, and 24 spills for LSTM at DS = 64.
    static let forwardRegisterTileLimit = 20
    static let backwardRegisterTileLimit = 12

    public init(cell: CellKind, dtype: DType, slice: Int, clusterSize: Int) {
        self.cell = cell; self.dtype = dtype; self.slice = slice; self.clusterSize = clusterSize
    }

    /// The smallest cluster whose slices are at most `maxSlice` features and whose forward and
    /// backward fit `sharedMemoryLimit` bytes per CTA; nil when no cluster holds the head.
    public init?(cell: CellKind, dtype: DType, headDim: Int, sharedMemoryLimit: Int = 227 * 1024) {
        let padded = (headDim + 15) / 16 * 16
        for size in Self.clusterSizes {
            let slice = ((padded + size - 1) / size + 15) / 16 * 16
            guard slice <= Self.maxSlice else { continue }
            let variant = FusedSlicedVariant(cell: cell, dtype: dtype, slice: slice, clusterSize: size)
            if max(variant.forwardSharedBytes, variant.backwardSharedBytes) <= sharedMemoryLimit {
                self = variant
                return
            }
        }
        return nil
    }

    /// DP = KS · DS, the head dimension as the kernels see it (padding is zero).
    public var paddedHeadDim: Int { slice * clusterSize }
    /// A tiles of R per warp (forward) or of Rᵀ per warp (backward): G_R · DP / 16.
    public var tiles: Int { cell.gatesR * paddedHeadDim / 16 }
    public var warps: Int { slice / 16 }
    public var threads: Int { warps * 32 }
    /// Whole K columns (all G_R gates of one 16-wide column) go to registers, so one B fragment
    /// serves every gate: G_R · min(columns, limit / G_R) tiles.
    public var forwardRegisterTiles: Int { registerTiles(limit: Self.forwardRegisterTileLimit) }
    public var backwardRegisterTiles: Int { registerTiles(limit: Self.backwardRegisterTileLimit) }
    private func registerTiles(limit: Int) -> Int { cell.gatesR * min(paddedHeadDim / 16, limit / cell.gatesR) }

    /// R tiles not in registers (16 bytes per lane) plus the double-buffered operand tile
    /// [2, 8 batch, K] (16-bit operands, rows padded by 4 words): K = DP forward (h), G_R · DP backward (dG).
    public var forwardSharedBytes: Int {
        (tiles - forwardRegisterTiles) * warps * 32 * 16 + 2 * 8 * (paddedHeadDim / 2 + 4) * 4
    }
    public var backwardSharedBytes: Int {
        (tiles - backwardRegisterTiles) * warps * 32 * 16 + 2 * 8 * (cell.gatesR * paddedHeadDim / 2 + 4) * 4
    }

    private var arguments: String { "\(KernelNames.cell(cell)), \(storage), \(slice), \(clusterSize)" }
    public var forwardKernelName: String { "&flashrnn::fused::sliced_forward_kernel<\(arguments), \(forwardRegisterTiles)>" }
    public var backwardKernelName: String { "&flashrnn::fused::sliced_backward_kernel<\(arguments), \(backwardRegisterTiles)>" }
    public var weightGradientKernelName: String { "&flashrnn::fused::weight_gradient_kernel<\(storage)>" }
    public var finishKernelName: String { "&flashrnn::fused::finish_gradients_kernel<\(storage)>" }
    public var kernelNames: [String] { [forwardKernelName, backwardKernelName, weightGradientKernelName, finishKernelName] }
    private var storage: String { KernelNames.storage(dtype) ?? "flashrnn::F16" }

    public var spec: KernelModuleSpec {
        KernelModuleSpec(label: description, mainSource: KernelNames.prelude + "#include \"fused/fused_sliced_entry.cuh\"\n",
                         nameExpressions: kernelNames)
    }

    public var description: String { "fused sliced \(cell) \(dtype) DS=\(slice) KS=\(clusterSize)" }

    /// The largest head dimension one cluster holds for `cell` in `dtype`.
    public static func maxHeadDim(cell: CellKind, dtype: DType, sharedMemoryLimit: Int = 227 * 1024) -> Int {
        var d = FusedVariant.maxHeadDim
        while FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d + 16, sharedMemoryLimit: sharedMemoryLimit) != nil { d += 16 }
        return d
    }

    /// Why the cluster kernels cannot run a head of `headDim`, or nil. Needs a device that
    /// launches clusters (sm_90 or later).
    public static func limitation(cell: CellKind, headDim: Int, dtype: DType, sharedMemoryLimit: Int = 227 * 1024,
                                  supportsClusters: Bool = true) -> String? {
        if let reason = FusedVariant.limitation(cell: cell, headDim: 16, dtype: dtype) { return reason }
        guard supportsClusters else {
            return "cudaFused splits a head of D = \(headDim) > \(FusedVariant.maxHeadDim) over a thread-block cluster, "
                + "which this device cannot launch (needs sm_90 or later): use cudaAlternating"
        }
        guard FusedSlicedVariant(cell: cell, dtype: dtype, headDim: headDim, sharedMemoryLimit: sharedMemoryLimit) != nil else {
            let largest = maxHeadDim(cell: cell, dtype: dtype, sharedMemoryLimit: sharedMemoryLimit)
            return "cudaFused holds a \(cell) head in \(dtype) on one thread-block cluster of at most "
                + "\(clusterSizes.last!) CTAs, which fits D ≤ \(largest); D = \(headDim) needs a cooperative grid, "
                + "not implemented yet: use cudaAlternating (automatic falls back to it)"
        }
        return nil
    }

    /// Every variant a head of D ∈ (one-SM limit, 1024] selects, for ahead-of-time compilation and spill checks.
    public static var all: [FusedSlicedVariant] {
        var result: [FusedSlicedVariant] = []
        for cell in CellKind.allCases {
            for dtype in FusedVariant.dtypes {
                for d in stride(from: FusedVariant.maxHeadDim + 16, through: 1024, by: 16) {
                    if let v = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d), !result.contains(v) { result.append(v) }
                }
            }
        }
        return result
    }
}
