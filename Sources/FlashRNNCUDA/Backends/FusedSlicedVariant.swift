import Foundation
import FlashRNNCore

/// A variant of the fused kernels for a head larger than one SM (D > `FusedVariant.maxHeadDim`),
/// or a 16-bit head one SM holds, split over a small cluster to shorten each step (`smallCluster`):
/// the head's output features are split into `ctasPerHead` slices of `slice` features (a multiple
/// of 16; `split` warps per 16, which share the product's K range), one CTA per slice and (head,
/// batch slice of 8 columns). Each CTA keeps R's rows of its slice (all gates, all of K) on chip and publishes its part of h_t (backward:
/// dG_t) to the other CTAs of its head once per step (docs/design-fused.md):
/// * `.cluster`: the CTAs of a head form one thread-block cluster and exchange through
///   distributed shared memory with one cluster barrier per step;
/// * `.grid`: beyond a cluster's capacity, the CTAs of a head exchange through global memory
///   (L2) with a barrier on a global counter; the launch is cooperative, so every CTA of the
///   grid must be resident at once (N·⌈B/8⌉·ctasPerHead CTAs, one per SM).
/// B and T never select a variant.
public struct FusedSlicedVariant: Hashable, Sendable, CustomStringConvertible {
    public enum Exchange: String, Hashable, Sendable { case cluster, grid }
    /// How a cluster completes a step's exchange (`SYNC` of the cluster kernels,
    /// fused_sliced_cluster.cuh): `barrier`, one cluster barrier after the step's stores (its
    /// release fence waits for the step's global stores and loads too); `split`, the barrier's
    /// arrive right after the publishing stores and the step's global stores and next-step loads
    /// before its wait; `mbarrier`, `st.async` stores counted on the receiving CTA's mbarrier, no
    /// cluster barrier in the loop (needs the K split, `split` > 1, for its CTA barrier).
    public enum ClusterSync: String, Hashable, Sendable, CaseIterable {
        case barrier, split, mbarrier
        /// The kernels' template value (kSyncBarrier, kSyncSplitBarrier, kSyncMbarrier).
        var templateValue: Int { switch self { case .barrier: 0; case .split: 1; case .mbarrier: 2 } }
    }

    public let cell: CellKind
    public let dtype: DType
    /// Features per CTA (DS).
    public let slice: Int
    /// CTAs per head (KS): the cluster size for `.cluster`.
    public let ctasPerHead: Int
    public let exchange: Exchange
    /// KW: warps that split the product's K range (forward: the DP / 16 columns of h; backward:
    /// the DP / 16 columns of every gate's dG) for each group of 16 features, so a step's product
    /// is KW short chains instead of one long one and R spreads over KW warps' registers; their
    /// partial sums meet in shared memory. `defaultSplit` unless asked for.
    public let split: Int
    /// How the cluster completes each step (`.barrier` for grid variants, which have their own).
    public let sync: ClusterSync
    /// How a grid variant's CTAs exchange through global memory, per sweep
    /// (`GridExchangeProtocol.selected(backward:)` unless asked for); nil for a cluster.
    public let forwardGridExchange: GridExchangeProtocol?
    public let backwardGridExchange: GridExchangeProtocol?

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
    /// Grid variants of at most this many CTAs per head are preferred: B = 16 (two batch slices)
    /// then fits the 132 SMs.
    public static let preferredGridCTAsPerHead = 64
    /// Warps per CTA at most: DS/16 feature groups times the K split. 16 warps leave a thread
    /// 128 registers, and the sweeps spilled there (LSTM/sLSTM DS = 32, KS = 16: 436–584 B
    /// forward with 8 register tiles, 212 B backward with 4); 8 warps leave 255.
    public static let maxWarps = 8
    /// A tiles in registers per warp (both sweeps): 24 put the whole A array on the stack (NVRTC
    /// 13, LSTM forward DS = 16, KW = 8), 20 do not.
    static let registerTileLimit = 20

    /// `split` and `sync` nil: the policy (`defaultSplit`, `defaultSync`); an asked-for split that
    /// does not divide the K columns within `maxWarps` warps, or `.mbarrier` without a split,
    /// falls back to the policy too.
    public init(cell: CellKind, dtype: DType, slice: Int, ctasPerHead: Int, exchange: Exchange = .cluster,
                split: Int? = nil, sync: ClusterSync? = nil, gridExchange: GridExchangeProtocol? = nil) {
        self.cell = cell; self.dtype = dtype; self.slice = slice; self.ctasPerHead = ctasPerHead; self.exchange = exchange
        let columns = slice * ctasPerHead / 16, featureWarps = slice / 16
        if let split, split >= 1, columns % split == 0, featureWarps * split <= Self.maxWarps {
            self.split = split
        } else {
            self.split = Self.defaultSplit(featureWarps: featureWarps, columns: columns)
        }
        forwardGridExchange = exchange == .grid ? gridExchange ?? GridExchangeProtocol.selected(backward: false) : nil
        backwardGridExchange = exchange == .grid ? gridExchange ?? GridExchangeProtocol.selected(backward: true) : nil
        if exchange == .grid {
            self.sync = .barrier
        } else {
            let asked = sync ?? Self.defaultSync
            self.sync = asked == .mbarrier && self.split == 1 ? .split : asked
        }
    }

    /// The largest of 8, 4, 2 that divides the K columns and keeps the CTA at `maxWarps` warps.
    static func defaultSplit(featureWarps: Int, columns: Int) -> Int {
        [8, 4, 2].first { featureWarps * $0 <= maxWarps && columns % $0 == 0 } ?? 1
    }

    /// The cluster sync of the policy. On the H200 (round cluster, docs/performance-fused.md; LSTM
    /// bfloat16, B = 16, T = 1024, fw / fw+bw ms) 256 × 3 on 16 × 16: barrier 1.632 / 5.997, split
    /// 1.504 / 5.425, mbarrier 0.972 / 4.846; mbarrier was the fastest at every shape and cluster
    /// size measured. The fifth session's racecheck hazards in it (a single copy of the partial
    /// sums, the mbarrier init) are fixed (round mbarrier: racecheck and memcheck clean, outputs
    /// bit-identical to split; 256 × 3 1.004 / 5.015 against split's 1.532 / 5.452), and its
    /// forward-clip outliers replay identically under split, so it is the policy (sixth session);
    /// FLASHRNN_FUSED_CLUSTER_SYNC=split|barrier selects the others for measuring.
    public static let defaultSync = ClusterSync.mbarrier
    /// The smallest cluster the policy tries (it takes the smallest from here whose slices fit).
    /// 16 (slices of 16-32 features, KW = 4-8 short mma chains per feature group): with mbarrier,
    /// 256 × 3 0.972 / 4.846 against 1.104 / 4.953 on 8 × 32 and 1.870 / 7.055 on 4 × 64; 384 × 2
    /// 1.733 / 7.237 against 2.196 / 7.977 on 8 × 48. 192 × 4 was faster on 8 × 32 (1.138 / 5.163
    /// against 1.238 / 5.764: eight clusters of 16), not taken: the choice does not see N or B.
    public static let defaultMinimumClusterSize = 16

    /// Measuring overrides, read once: FLASHRNN_FUSED_CLUSTER_MIN_SIZE (the smallest cluster
    /// tried: the choice is the smallest from there whose slices fit), FLASHRNN_FUSED_CLUSTER_SPLIT
    /// (KW), FLASHRNN_FUSED_CLUSTER_SYNC (barrier | split | mbarrier), FLASHRNN_FUSED_SMALL_CLUSTER
    /// (a head one SM holds: 0 keeps it on one SM, 2, 4 or 8 splits it over that cluster where
    /// `smallClusterVariant` allows it). Unset: the policy.
    public struct Overrides: Sendable {
        public var minimumClusterSize: Int?
        public var split: Int?
        public var sync: ClusterSync?
        public var smallCluster: Int?
        public init(minimumClusterSize: Int? = nil, split: Int? = nil, sync: ClusterSync? = nil, smallCluster: Int? = nil) {
            self.minimumClusterSize = minimumClusterSize; self.split = split; self.sync = sync; self.smallCluster = smallCluster
        }
        init(environment: [String: String]) {
            minimumClusterSize = environment["FLASHRNN_FUSED_CLUSTER_MIN_SIZE"].flatMap { Int($0) }
            split = environment["FLASHRNN_FUSED_CLUSTER_SPLIT"].flatMap { Int($0) }
            sync = environment["FLASHRNN_FUSED_CLUSTER_SYNC"].flatMap { ClusterSync(rawValue: $0) }
            smallCluster = environment["FLASHRNN_FUSED_SMALL_CLUSTER"].flatMap { Int($0) }
        }
    }
    public static let overrides = Overrides(environment: ProcessInfo.processInfo.environment)

    /// The smallest cluster of at least `defaultMinimumClusterSize` CTAs whose slices are at most
    /// `maxSlice` features and whose forward and backward fit `sharedMemoryLimit` bytes per CTA; beyond a cluster, the grid variant with the
    /// narrowest slice that fits, preferring at most `preferredGridCTAsPerHead` CTAs per head; nil
    /// when neither holds the head.
    public init?(cell: CellKind, dtype: DType, headDim: Int, sharedMemoryLimit: Int = 227 * 1024, allowGrid: Bool = true,
                 overrides: Overrides = Self.overrides) {
        let padded = (headDim + 15) / 16 * 16
        var candidates: [FusedSlicedVariant] = []
        for size in Self.clusterSizes where size >= overrides.minimumClusterSize ?? Self.defaultMinimumClusterSize {
            let slice = ((padded + size - 1) / size + 15) / 16 * 16
            if slice <= Self.maxSlice {
                candidates.append(FusedSlicedVariant(cell: cell, dtype: dtype, slice: slice, ctasPerHead: size,
                                                     split: overrides.split, sync: overrides.sync))
            }
        }
        if allowGrid {
            let gridPadded = (headDim + Self.gridPadding - 1) / Self.gridPadding * Self.gridPadding
            var grid: [FusedSlicedVariant] = []
            for slice in stride(from: 16, through: Self.maxSlice, by: 16)
            where gridPadded % slice == 0 && gridPadded / slice <= Self.maxGridCTAsPerHead {
                grid.append(FusedSlicedVariant(cell: cell, dtype: dtype, slice: slice, ctasPerHead: gridPadded / slice, exchange: .grid))
            }
            // Narrow slices first (KW = 8 warps per 16 features: the fewest R tiles per warp), but
            // first those whose two batch slices (B = 16) fit the SMs.
            candidates += grid.filter { $0.ctasPerHead <= Self.preferredGridCTAsPerHead }
                + grid.filter { $0.ctasPerHead > Self.preferredGridCTAsPerHead }
        }
        guard let fit = candidates.first(where: { max($0.forwardSharedBytes, $0.backwardSharedBytes) <= sharedMemoryLimit }) else {
            return nil
        }
        self = fit
    }

    /// DP = KS · DS, the head dimension as the kernels see it (padding is zero).
    public var paddedHeadDim: Int { slice * ctasPerHead }
    /// A tiles of R (forward) or Rᵀ (backward) per group of 16 features: G_R · DP / 16.
    public var tiles: Int { cell.gatesR * paddedHeadDim / 16 }
    /// Warps per group of 16 features: DS / 16 groups per CTA.
    public var featureWarps: Int { slice / 16 }
    public var warps: Int { featureWarps * split }
    public var threads: Int { warps * 32 }
    /// A tiles per warp: G_R · DP / 16 / KW (R forward, Rᵀ backward).
    public var tilesPerWarp: Int { tiles / split }
    /// A tiles per warp kept in registers, both sweeps: whole K columns (all G_R gates of one
    /// 16-wide column), so one B fragment serves every gate forward: G_R · min(columns, limit / G_R).
    public var registerTiles: Int { cell.gatesR * min(tilesPerWarp / cell.gatesR, Self.registerTileLimit / cell.gatesR) }

    /// 32-bit words of one operand tile [8 batch, K] (16-bit operands, rows padded by 4 words):
    /// K = DP forward (h), G_R · DP backward (dG).
    public var forwardTileWords: Int { 8 * (paddedHeadDim / 2 + 4) }
    public var backwardTileWords: Int { 8 * (cell.gatesR * paddedHeadDim / 2 + 4) }
    /// R tiles not in registers (16 bytes per lane), the double-buffered operand tile, the K
    /// split's float32 partial sums ([warps, G_R, 4 cells, 32 lanes] forward; backward sums the
    /// gates first: [warps, 4, 32]; `partialSumBuffers` copies) and the mbarrier exchange's two mbarriers.
    public var forwardSharedBytes: Int {
        (tilesPerWarp - registerTiles) * warps * 32 * 16 + 2 * forwardTileWords * 4
            + (split > 1 ? partialSumBuffers * warps * cell.gatesR * 4 * 32 * 4 : 0) + syncSharedBytes
    }
    public var backwardSharedBytes: Int {
        (tilesPerWarp - registerTiles) * warps * 32 * 16 + 2 * backwardTileWords * 4
            + (split > 1 ? partialSumBuffers * warps * 4 * 32 * 4 : 0) + syncSharedBytes
    }
    /// kExchangeSyncBytes of fused_sliced_cluster.cuh: two 8-byte mbarriers.
    var syncSharedBytes: Int { exchange == .cluster && sync == .mbarrier ? 16 : 0 }
    /// kPartialSumBuffers of the exchange (fused_sliced_cluster.cuh): the mbarrier exchange has no
    /// cluster barrier per step, so the partial sums alternate between two copies by step parity,
    /// which puts a CTA barrier between a copy's last reads and its next writes.
    var partialSumBuffers: Int { exchange == .cluster && sync == .mbarrier ? 2 : 1 }

    private var arguments: String { "\(KernelNames.cell(cell)), \(storage), \(slice), \(ctasPerHead)" }
    private var prefix: String { exchange == .cluster ? "sliced" : "grid" }
    /// The cluster kernels take the sync as their last template argument, the grid kernels the
    /// sweep's protocol where it is not counter (the default argument, so the counter modules keep
    /// their names).
    private func kernelArguments(_ gridExchange: GridExchangeProtocol?, forwardWait: Int = 0) -> String {
        "\(arguments), \(split), \(registerTiles)"
            + (gridExchange.map { $0 == .counter ? "" : ", \($0.templateValue)" } ?? ", \(sync.templateValue + Self.forwardWaitStride * forwardWait)")
    }
    public var forwardKernelName: String {
        "&flashrnn::fused::\(prefix)_forward_kernel<\(kernelArguments(forwardGridExchange, forwardWait: forwardWait))>"
    }
    /// Measuring: FLASHRNN_FUSED_CLUSTER_FW=2 has the mbarrier cluster forward issue its Wx loads
    /// at the step's start (`ClusterExchange::kForwardLoadsAtStart`), the place before round
    /// fwcluster; anything else: the policy (after publishing h_t). The round's other experiments
    /// (codes 1 and 3-127) were measured and removed (docs/performance-fused.md).
    public static let forwardWaitOverride = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_CLUSTER_FW"].flatMap { Int($0) } ?? 0
    /// kForwardWaitStride of fused_sliced_cluster.cuh.
    static let forwardWaitStride = 8
    var forwardWait: Int { exchange == .cluster && sync == .mbarrier && Self.forwardWaitOverride == 2 ? 2 : 0 }
    public var backwardKernelName: String { "&flashrnn::fused::\(prefix)_backward_kernel<\(kernelArguments(backwardGridExchange))>" }
    /// dR output tile: heads beyond one SM are wider than 128, so the widest tile (a small-cluster
    /// head keeps its one-SM tile: `CUDAFusedBackend.sweepPlan`).
    public var weightTile: Int { 64 }
    private var storage: String { KernelNames.storage(dtype) ?? "flashrnn::F16" }

    /// The forward sweep's module. sm_90 and later only: the backend refuses every sliced variant
    /// on a device without thread-block clusters (`limitation`), so older architectures never load them.
    public var forwardSpec: KernelModuleSpec {
        spec(label: forwardWait == 0 ? "forward" : "forward FW=\(forwardWait)", kernel: forwardKernelName, gridExchange: forwardGridExchange)
    }
    /// The backward sweep's module (dR and the conversions are `weightGradientModule`'s).
    public var backwardSpec: KernelModuleSpec { spec(label: "backward", kernel: backwardKernelName, gridExchange: backwardGridExchange) }
    private func spec(label: String, kernel: String, gridExchange: GridExchangeProtocol?) -> KernelModuleSpec {
        KernelModuleSpec(label: baseName + exchangeSuffix(gridExchange) + " " + label,
                         mainSource: KernelNames.prelude + "#include \"fused/fused_sliced_entry.cuh\"\n",
                         nameExpressions: [kernel], minimumComputeCapability: 90)
    }

    private var baseName: String {
        "fused \(exchange == .cluster ? "sliced" : "grid") \(cell) \(dtype) DS=\(slice) KS=\(ctasPerHead) KW=\(split)"
    }
    /// A cluster's sync, a grid sweep's protocol where it is not counter.
    private func exchangeSuffix(_ gridExchange: GridExchangeProtocol?) -> String {
        gridExchange.map { $0 == .counter ? "" : " \($0)" } ?? " \(sync)"
    }

    /// The variant with its cluster sync or, for the grid, each sweep's protocol.
    public var description: String {
        if let forward = forwardGridExchange, let backward = backwardGridExchange, forward != backward {
            return baseName + " forward \(forward), backward \(backward)"
        }
        return baseName + exchangeSuffix(forwardGridExchange)
    }

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
        // The sliced kernels have no split-TF32 products: float32 stops at one SM (FusedVariant names its limit).
        if FusedVariant.oneSMOnlyDTypes.contains(dtype) {
            return FusedVariant.limitation(cell: cell, headDim: headDim, dtype: dtype)
                ?? "cudaFused runs \(dtype) on one SM only: use cudaAlternating (automatic falls back to it)"
        }
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

    // MARK: Heads one SM holds, on a small cluster

    /// Cluster sizes a 16-bit head of D ≤ `FusedVariant.maxHeadDim` may take instead of one SM:
    /// the portable sizes, which need no fallback.
    public static let smallClusterSizes = [2, 4, 8]
    /// The smallest padded head split over a small cluster: below it a cluster of 2 leaves slices
    /// of 16 features with a K range of 32, a step short already on one SM (not measured).
    public static let smallClusterMinHeadDim = 64

    /// The policy's largest slice: each CTA of a small cluster takes at most 32 features (16 or 32),
    /// so padded heads of 64 and 128 are split, 96 (slices of 48) is not. On the H200 (sixth
    /// session's closing call, LSTM bfloat16, B = 16, T = 1024, fw / fw+bw ms, one SM → clusters of
    /// 2 | 4 | 8): 12 × 64 0.804 / 2.550 → 0.768 / 3.526 | 0.624 / 3.045 | –; 8 × 96 1.277 / 4.573 →
    /// 1.355 / 5.286 (2 only); 6 × 128 1.618 / 5.536 → 1.402 / 5.813 | 0.988 / 4.494 | 0.788 / 4.196.
    /// The forward gained at every slice of 16 or 32; the backward only at 128 on 4 or 8 CTAs (3.51,
    /// 3.41 against 3.92 ms on one SM; at 64 on 4: 2.42 against 1.75), so it stays on one SM below
    /// `smallClusterBackwardMinHeadDim`.
    static let smallClusterPolicyMaxSlice = 32
    /// The smallest padded head whose backward the policy splits.
    static let smallClusterBackwardMinHeadDim = 128

    /// The policy's cluster size for a head one SM holds (0: one SM), before the overrides: the
    /// largest small cluster that cuts the padded head into equal slices of 16 to
    /// `smallClusterPolicyMaxSlice` features, from padded D 64 (forward) or
    /// `smallClusterBackwardMinHeadDim` (backward), whose CTAs, N·⌈B/8⌉·KS, each have an SM (beyond
    /// that a second wave of clusters would wait for the first). The forward and backward sweeps
    /// may differ: both read and write the saved states and pre-activations in the same layouts.
    static func defaultSmallClusterSize(headDim: Int, batch: Int, heads: Int, multiprocessors: Int, backward: Bool) -> Int {
        let padded = (headDim + 15) / 16 * 16
        guard padded >= (backward ? smallClusterBackwardMinHeadDim : smallClusterMinHeadDim) else { return 0 }
        let groups = heads * ((batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice)
        return smallClusterSizes.reversed().first { size in
            padded % (16 * size) == 0 && padded / size <= smallClusterPolicyMaxSlice && groups * size <= multiprocessors
        } ?? 0
    }

    /// The cluster a 16-bit head one SM holds runs on instead (`FLASHRNN_FUSED_SMALL_CLUSTER`, else
    /// the policy, `defaultSmallClusterSize`), or nil for one SM. The override forces the size
    /// wherever the variant exists, even beyond the SMs (clusters need no co-residency).
    public static func smallCluster(cell: CellKind, dtype: DType, headDim: Int, batch: Int, heads: Int, backward: Bool,
                                    multiprocessors: Int = 132, sharedMemoryLimit: Int = 227 * 1024,
                                    overrides: Overrides = Self.overrides) -> FusedSlicedVariant? {
        let size = overrides.smallCluster
            ?? defaultSmallClusterSize(headDim: headDim, batch: batch, heads: heads, multiprocessors: multiprocessors, backward: backward)
        return smallClusterVariant(cell: cell, dtype: dtype, headDim: headDim, size: size,
                                   sharedMemoryLimit: sharedMemoryLimit, overrides: overrides)
    }

    /// A head of D ≤ `FusedVariant.maxHeadDim` (16-bit storage, padded D ≥ `smallClusterMinHeadDim`)
    /// over a cluster of `size` ∈ `smallClusterSizes` CTAs, where the size divides the padded head
    /// into slices of a multiple of 16 (no padding beyond the one-SM kernel's), or nil.
    static func smallClusterVariant(cell: CellKind, dtype: DType, headDim: Int, size: Int, sharedMemoryLimit: Int = 227 * 1024,
                                    overrides: Overrides = Self.overrides) -> FusedSlicedVariant? {
        let padded = (headDim + 15) / 16 * 16
        guard FusedVariant.dtypes.contains(dtype), smallClusterSizes.contains(size),
              padded >= smallClusterMinHeadDim, padded <= FusedVariant.maxHeadDim, padded % (16 * size) == 0 else { return nil }
        let v = FusedSlicedVariant(cell: cell, dtype: dtype, slice: padded / size, ctasPerHead: size,
                                   split: overrides.split, sync: overrides.sync)
        return max(v.forwardSharedBytes, v.backwardSharedBytes) <= sharedMemoryLimit ? v : nil
    }

    /// The cluster variant for a device that cannot place clusters above the portable 8 CTAs
    /// (`cuOccupancyMaxActiveClusters` = 0: a partitioned GPU), when the policy's choice is larger:
    /// the policy from a smallest cluster of at most 8, without the grid; nil when no such cluster
    /// holds the head.
    public static func portableFallback(cell: CellKind, dtype: DType, headDim: Int, sharedMemoryLimit: Int = 227 * 1024,
                                        overrides: Overrides = Self.overrides) -> FusedSlicedVariant? {
        var portable = overrides
        portable.minimumClusterSize = min(overrides.minimumClusterSize ?? 8, 8)
        guard let v = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: headDim, sharedMemoryLimit: sharedMemoryLimit,
                                         allowGrid: false, overrides: portable), v.ctasPerHead <= 8 else { return nil }
        return v
    }

    /// Every variant a head of D ∈ (one-SM limit, `gridCatalogLimit`] selects, with the portable
    /// fallbacks of the heads that take clusters of 16, and every small cluster a head one SM holds
    /// may take, for ahead-of-time compilation and spill checks.
    public static var all: [FusedSlicedVariant] {
        var result: [FusedSlicedVariant] = []
        for cell in CellKind.allCases {
            for dtype in FusedVariant.dtypes {
                for d in stride(from: smallClusterMinHeadDim, through: FusedVariant.maxHeadDim, by: 16) {
                    for size in smallClusterSizes {
                        if let v = smallClusterVariant(cell: cell, dtype: dtype, headDim: d, size: size), !result.contains(v) { result.append(v) }
                    }
                }
                for d in stride(from: FusedVariant.maxHeadDim + 16, through: gridCatalogLimit, by: 16) {
                    guard let v = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d) else { continue }
                    if !result.contains(v) { result.append(v) }
                    if v.exchange == .cluster, v.ctasPerHead > 8,
                       let p = portableFallback(cell: cell, dtype: dtype, headDim: d), !result.contains(p) { result.append(p) }
                }
            }
        }
        return result
    }
}
