import FlashRNNCore

/// A variant of the fused kernels for a head larger than one SM (D > `FusedVariant.maxHeadDim`):
/// the head's output features are split into `ctasPerHead` slices of `slice` features (a multiple
/// of 16, one warp per 16), one CTA per slice and (head, batch slice of 8 columns). Each CTA keeps
/// R's rows of its slice (all gates, all of K) on chip and publishes its part of h_t (backward:
/// dG_t) to the other CTAs of its head once per step (docs/design-fused.md):
/// * `.cluster`: the CTAs of a head form one thread-block cluster and exchange through
///   distributed shared memory with one cluster barrier per step;
/// * `.grid`: beyond a cluster's capacity, the CTAs of a head exchange through global memory
///   (L2) with a barrier on a global counter; the launch is cooperative, so every CTA of the
///   grid must be resident at once (N·⌈B/8⌉·ctasPerHead CTAs, one per SM).
/// B and T never select a variant.
public struct FusedSlicedVariant: Hashable, Sendable, CustomStringConvertible {
    public enum Exchange: String, Hashable, Sendable { case cluster, grid }

    public let cell: CellKind
    public let dtype: DType
    /// Features per CTA (DS).
    public let slice: Int
    /// CTAs per head (KS): the cluster size for `.cluster`.
    public let ctasPerHead: Int
    public let exchange: Exchange

    /// Cluster sizes tried, smallest first: 8 is the portable limit, 16 needs the non-portable
    /// attribute (Hopper allows it).
    public static let clusterSizes = [2, 4, 8, 16]
    /// The largest slice: 4 warps per CTA, one per SM sub-partition.
    public static let maxSlice = 64
    /// Grid variants pad D to a multiple of this, so few variants cover all D (CI compiles them all).
    public static let gridPadding = 64
    /// The largest head the grid variants are enumerated for (compile-kernels).
    public static let gridCatalogLimit = 2048
    /// A head never spans more CTAs than an H200 has SMs (132), rounded down to a power of two.
    public static let maxGridCTAsPerHead = 128
    /// A tiles in registers per warp. Forward holds fewer than the one-SM sweep (24): publishing
    /// h needs registers of its own, and 24 spills for LSTM at DS = 64.
    static let forwardRegisterTileLimit = 20
    static let backwardRegisterTileLimit = 12

    public init(cell: CellKind, dtype: DType, slice: Int, ctasPerHead: Int, exchange: Exchange = .cluster) {
        self.cell = cell; self.dtype = dtype; self.slice = slice; self.ctasPerHead = ctasPerHead; self.exchange = exchange
    }

    /// The smallest cluster whose slices are at most `maxSlice` features and whose forward and
    /// backward fit `sharedMemoryLimit` bytes per CTA; beyond a cluster, the grid variant with the
    /// widest slice that fits (fewest CTAs); nil when neither holds the head.
    public init?(cell: CellKind, dtype: DType, headDim: Int, sharedMemoryLimit: Int = 227 * 1024, allowGrid: Bool = true) {
        let padded = (headDim + 15) / 16 * 16
        var candidates: [FusedSlicedVariant] = []
        for size in Self.clusterSizes {
            let slice = ((padded + size - 1) / size + 15) / 16 * 16
            if slice <= Self.maxSlice { candidates.append(FusedSlicedVariant(cell: cell, dtype: dtype, slice: slice, ctasPerHead: size)) }
        }
        if allowGrid {
            let gridPadded = (headDim + Self.gridPadding - 1) / Self.gridPadding * Self.gridPadding
            for slice in stride(from: Self.maxSlice, through: 16, by: -16)
            where gridPadded % slice == 0 && gridPadded / slice <= Self.maxGridCTAsPerHead {
                candidates.append(FusedSlicedVariant(cell: cell, dtype: dtype, slice: slice, ctasPerHead: gridPadded / slice,
                                                     exchange: .grid))
            }
        }
        guard let fit = candidates.first(where: { max($0.forwardSharedBytes, $0.backwardSharedBytes) <= sharedMemoryLimit }) else {
            return nil
        }
        self = fit
    }

    /// DP = KS · DS, the head dimension as the kernels see it (padding is zero).
    public var paddedHeadDim: Int { slice * ctasPerHead }
    /// A tiles of R per warp (forward) or of Rᵀ per warp (backward): G_R · DP / 16.
    public var tiles: Int { cell.gatesR * paddedHeadDim / 16 }
    public var warps: Int { slice / 16 }
    public var threads: Int { warps * 32 }
    /// Whole K columns (all G_R gates of one 16-wide column) go to registers, so one B fragment
    /// serves every gate: G_R · min(columns, limit / G_R) tiles.
    public var forwardRegisterTiles: Int { registerTiles(limit: Self.forwardRegisterTileLimit) }
    public var backwardRegisterTiles: Int { registerTiles(limit: Self.backwardRegisterTileLimit) }
    private func registerTiles(limit: Int) -> Int { cell.gatesR * min(paddedHeadDim / 16, limit / cell.gatesR) }

    /// 32-bit words of one operand tile [8 batch, K] (16-bit operands, rows padded by 4 words):
    /// K = DP forward (h), G_R · DP backward (dG).
    public var forwardTileWords: Int { 8 * (paddedHeadDim / 2 + 4) }
    public var backwardTileWords: Int { 8 * (cell.gatesR * paddedHeadDim / 2 + 4) }
    /// R tiles not in registers (16 bytes per lane) plus the double-buffered operand tile.
    public var forwardSharedBytes: Int { (tiles - forwardRegisterTiles) * warps * 32 * 16 + 2 * forwardTileWords * 4 }
    public var backwardSharedBytes: Int { (tiles - backwardRegisterTiles) * warps * 32 * 16 + 2 * backwardTileWords * 4 }

    private var arguments: String { "\(KernelNames.cell(cell)), \(storage), \(slice), \(ctasPerHead)" }
    private var prefix: String { exchange == .cluster ? "sliced" : "grid" }
    public var forwardKernelName: String { "&flashrnn::fused::\(prefix)_forward_kernel<\(arguments), \(forwardRegisterTiles)>" }
    public var backwardKernelName: String { "&flashrnn::fused::\(prefix)_backward_kernel<\(arguments), \(backwardRegisterTiles)>" }
    /// dR output tile: sliced heads are wider than 128, so the widest tile.
    public var weightTile: Int { 64 }
    public var weightGradientKernelName: String { "&flashrnn::fused::weight_gradient_kernel<\(storage), \(weightTile)>" }
    public var finishKernelName: String { "&flashrnn::fused::finish_gradients_kernel<\(storage)>" }
    public var kernelNames: [String] { [forwardKernelName, backwardKernelName, weightGradientKernelName, finishKernelName] }
    private var storage: String { KernelNames.storage(dtype) ?? "flashrnn::F16" }

    public var spec: KernelModuleSpec {
        KernelModuleSpec(label: description, mainSource: KernelNames.prelude + "#include \"fused/fused_sliced_entry.cuh\"\n",
                         nameExpressions: kernelNames)
    }

    public var description: String { "fused \(exchange == .cluster ? "sliced" : "grid") \(cell) \(dtype) DS=\(slice) KS=\(ctasPerHead)" }

    /// CTAs of one launch: every (head, batch slice) has its KS CTAs.
    public func ctas(batch: Int, heads: Int) -> Int { heads * ((batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice) * ctasPerHead }

    /// The largest head dimension one cluster (`allowGrid` false) or the grid path holds.
    public static func maxHeadDim(cell: CellKind, dtype: DType, sharedMemoryLimit: Int = 227 * 1024, allowGrid: Bool = false) -> Int {
        var d = FusedVariant.maxHeadDim
        while d < 4096,
              FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d + 16, sharedMemoryLimit: sharedMemoryLimit, allowGrid: allowGrid) != nil {
            d += 16
        }
        return d
    }

    /// Why the sliced kernels cannot run a head of `headDim` for `batch` × `heads`, or nil.
    /// Clusters need sm_90 or later; the grid path needs all its CTAs resident at once (one per SM,
    /// `multiprocessors`).
    public static func limitation(cell: CellKind, headDim: Int, dtype: DType, batch: Int = 1, heads: Int = 1,
                                  sharedMemoryLimit: Int = 227 * 1024, supportsClusters: Bool = true,
                                  multiprocessors: Int = 132) -> String? {
        if let reason = FusedVariant.limitation(cell: cell, headDim: 16, dtype: dtype) { return reason }
        guard supportsClusters else {
            return "cudaFused splits a head of D = \(headDim) > \(FusedVariant.maxHeadDim) over a thread-block cluster, "
                + "which this device cannot launch (needs sm_90 or later): use cudaAlternating"
        }
        guard let variant = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: headDim, sharedMemoryLimit: sharedMemoryLimit) else {
            let largest = maxHeadDim(cell: cell, dtype: dtype, sharedMemoryLimit: sharedMemoryLimit, allowGrid: true)
            return "cudaFused holds a \(cell) head in \(dtype) with R's slices in the shared memory of its CTAs up to "
                + "D ≤ \(largest); D = \(headDim) needs K split across CTAs as well, not implemented yet: use "
                + "cudaAlternating (automatic falls back to it)"
        }
        let ctas = variant.ctas(batch: batch, heads: heads)
        if variant.exchange == .grid && ctas > multiprocessors {
            return "cudaFused runs a \(cell) head of D = \(headDim) over \(variant.ctasPerHead) co-resident CTAs per "
                + "(head, batch slice of \(FusedVariant.batchSlice)); N = \(heads), B = \(batch) need \(ctas) CTAs at once, "
                + "more than the device's \(multiprocessors) SMs: use cudaAlternating (automatic falls back to it), "
                + "or fewer heads or a smaller batch per call"
        }
        return nil
    }

    /// Every variant a head of D ∈ (one-SM limit, `gridCatalogLimit`] selects, for ahead-of-time
    /// compilation and spill checks.
    public static var all: [FusedSlicedVariant] {
        var result: [FusedSlicedVariant] = []
        for cell in CellKind.allCases {
            for dtype in FusedVariant.dtypes {
                for d in stride(from: FusedVariant.maxHeadDim + 16, through: gridCatalogLimit, by: 16) {
                    if let v = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d), !result.contains(v) { result.append(v) }
                }
            }
        }
        return result
    }
}
