import Foundation
import Testing
import FlashRNNCore
import FlashRNN
@testable import FlashRNNCUDA

/// The cluster ("sliced") variants of the fused backend for D > 128: choice, limits and names, on
/// the CPU. Numerics are checked on the GPU by `flashrnn check --backend cuda-fused`.
struct FusedSlicedVariantTests {
    static let dtypes: [DType] = [.float16, .bfloat16]

    @Test(arguments: CellKind.allCases, dtypes)
    func everyHeadDimFromTheOneSMLimitToTheClusterLimitRunsOnACluster(cell: CellKind, dtype: DType) throws {
        let largest = FusedSlicedVariant.maxHeadDim(cell: cell, dtype: dtype)
        #expect(largest >= 512, "a cluster of 16 holds at least D = 512 for \(cell)")
        for d in [129, 130, 143, 144, 145, 200, 255, 256, 257, 333, 384, 511, largest - 1, largest] {
            #expect(FusedSlicedVariant.limitation(cell: cell, headDim: d, dtype: dtype) == nil, "D=\(d)")
            let v = try #require(FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d))
            #expect(v.paddedHeadDim >= d && v.paddedHeadDim < d + 16 * v.ctasPerHead, "D=\(d) \(v)")
            #expect(v.slice % 16 == 0 && v.slice <= FusedSlicedVariant.maxSlice)
            #expect(FusedSlicedVariant.clusterSizes.contains(v.ctasPerHead) && v.exchange == .cluster)
            #expect(v.forwardSharedBytes <= 227 * 1024 && v.backwardSharedBytes <= 227 * 1024, "\(v)")
        }
    }

    @Test func theUpstreamSweepShapesPickTheirClusters() throws {
        // The policy: clusters of 16 with the mbarrier exchange (measured fastest; racecheck-clean
        // since round mbarrier, docs/performance-fused.md).
        let d129 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 129))
        #expect(d129.ctasPerHead == 16 && d129.slice == 16 && d129.sync == .mbarrier)
        let d256 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 256))
        #expect(d256.ctasPerHead == 16 && d256.slice == 16 && d256.threads == 256 && d256.sync == .mbarrier)
        let d384 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 384))
        #expect(d384.ctasPerHead == 16 && d384.slice == 32 && d384.split == 4)
        let d512 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .float16, headDim: 512))
        #expect(d512.ctasPerHead == 16 && d512.slice == 32 && d512.exchange == .cluster)
        let elman768 = try #require(FusedSlicedVariant(cell: .elman, dtype: .bfloat16, headDim: 768))
        #expect(elman768.ctasPerHead == 16 && elman768.slice == 48)
    }

    @Test(arguments: CellKind.allCases, dtypes)
    func aHeadBeyondOneClusterRunsOnACooperativeGrid(cell: CellKind, dtype: DType) throws {
        let clusterLimit = FusedSlicedVariant.maxHeadDim(cell: cell, dtype: dtype)
        let gridLimit = FusedSlicedVariant.maxHeadDim(cell: cell, dtype: dtype, allowGrid: true)
        #expect(gridLimit >= 896, "\(cell)")
        for d in [clusterLimit + 1, clusterLimit + 16, gridLimit - 15, gridLimit] where d > clusterLimit {
            let v = try #require(FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d), "D=\(d)")
            #expect(v.exchange == .grid && v.paddedHeadDim >= d && v.paddedHeadDim % FusedSlicedVariant.gridPadding == 0)
            #expect(v.forwardSharedBytes <= 227 * 1024 && v.backwardSharedBytes <= 227 * 1024, "\(v)")
            #expect(v.ctasPerHead <= FusedSlicedVariant.maxGridCTAsPerHead)
            #expect(FusedSlicedVariant.limitation(cell: cell, headDim: d, dtype: dtype, batch: 8, heads: 1) == nil, "D=\(d)")
        }
    }

    @Test func theSweepsLargestHeadRunsOnTheGridAndItsLimitsAreNamed() throws {
        let v = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 768))
        #expect(v.exchange == .grid && v.slice == 16 && v.ctasPerHead == 48)
        #expect(v.ctas(batch: 16, heads: 1) == 96)
        let forwardProtocol = GridExchangeProtocol.selected(backward: false) == .tagged ? ", 1" : ""
        #expect(v.forwardKernelName == "&flashrnn::fused::grid_forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, 16, 48, 8, 20\(forwardProtocol)>")
        // More co-resident CTAs than SMs: refused, naming the count.
        let crowded = try #require(FusedSlicedVariant.limitation(cell: .lstm, headDim: 768, dtype: .bfloat16, batch: 64, heads: 1))
        #expect(crowded.contains("384 CTAs") && crowded.contains("132 SMs") && crowded.contains("cudaAlternating"))
        // Beyond the grid path: refused, naming its largest D.
        let largest = FusedSlicedVariant.maxHeadDim(cell: .lstm, dtype: .bfloat16, allowGrid: true)
        #expect(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: largest + 1) == nil)
        let reason = try #require(FusedSlicedVariant.limitation(cell: .lstm, headDim: 2048, dtype: .bfloat16))
        #expect(reason.contains("D ≤ \(largest)") && reason.contains("D = 2048") && reason.contains("cudaAlternating"))
    }

    @Test func aDeviceWithoutClustersAndFloat32AreRefused() throws {
        let noClusters = try #require(FusedSlicedVariant.limitation(cell: .gru, headDim: 256, dtype: .float16, supportsClusters: false))
        #expect(noClusters.contains("cluster") && noClusters.contains("D = 256"))
        // float32 runs on one SM only: the backend refuses a larger float32 head before it asks
        // the sliced kernels (CUDAFusedBackend.limitation), naming the largest float32 D.
        #expect(!FusedVariant.dtypes.contains(.float32))
        let float32 = try #require(FusedVariant.limitation(cell: .lstm, headDim: 256, dtype: .float32))
        #expect(float32.contains("float32") && float32.contains("D ≤ 64"))
    }

    @Test func kernelNamesCarryTheSliceAndClusterSize() throws {
        let v = try #require(FusedSlicedVariant(cell: .gru, dtype: .float16, headDim: 256, overrides: .init(minimumClusterSize: 4, sync: .barrier)))
        #expect(v.forwardKernelName == "&flashrnn::fused::sliced_forward_kernel<flashrnn::GRUCell, flashrnn::F16, 64, 4, 2, 18, 0>")
        #expect(v.backwardKernelName == "&flashrnn::fused::sliced_backward_kernel<flashrnn::GRUCell, flashrnn::F16, 64, 4, 2, 18, 0>")
        let policy = try #require(FusedSlicedVariant(cell: .gru, dtype: .float16, headDim: 256))
        #expect(policy.forwardKernelName == "&flashrnn::fused::sliced_forward_kernel<flashrnn::GRUCell, flashrnn::F16, 16, 16, 8, 6, 2>")
        // One kernel per sweep module; dR is the shared module of the widest tile.
        #expect(v.forwardSpec.nameExpressions == [v.forwardKernelName] && v.backwardSpec.nameExpressions == [v.backwardKernelName])
        #expect(v.weightTile == 64)
    }

    @Test func bothSweepsSplitKOverTheWarpsOfACTA() throws {
        // 768 × 1: one group of 16 features per CTA, its 48 K columns over 8 warps (6 each).
        let d768 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 768))
        #expect(d768.split == 8 && d768.threads == 256)
        #expect(d768.tilesPerWarp == 24 && d768.registerTiles == 20)
        // 256 × 3 on the policy's 16 × 16: one feature group, 16 K columns over 8 warps: every tile in registers.
        let d256 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 256))
        #expect(d256.split == 8 && d256.threads == 256 && d256.tilesPerWarp == 8 && d256.registerTiles == 8)
        // On 4 × 64: four feature groups, 16 K columns over 2 warps each: 8 warps.
        let wide = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 256, overrides: .init(minimumClusterSize: 4)))
        #expect(wide.split == 2 && wide.threads == 256 && wide.tilesPerWarp == 32 && wide.registerTiles == 20)
    }

    @Test(arguments: CellKind.allCases)
    func everySlicedVariantSplitsKEvenly(cell: CellKind) {
        for v in FusedSlicedVariant.all where v.cell == cell {
            let columns = v.paddedHeadDim / 16
            #expect([1, 2, 4, 8].contains(v.split) && columns % v.split == 0, "\(v)")
            #expect(v.warps <= FusedSlicedVariant.maxWarps && v.threads <= 1024, "\(v)")
            #expect(v.registerTiles % cell.gatesR == 0 && v.registerTiles <= v.tilesPerWarp, "\(v)")
            // A cluster names its sync, a grid sweep its protocol where it is not counter.
            func suffix(_ grid: GridExchangeProtocol?) -> String {
                ", \(v.split), \(v.registerTiles)"
                    + (v.exchange == .cluster ? ", \(v.sync.templateValue)>" : grid == .tagged ? ", 1>" : ">")
            }
            #expect(v.forwardKernelName.hasSuffix(suffix(v.forwardGridExchange)), "\(v)")
            #expect(v.backwardKernelName.hasSuffix(suffix(v.backwardGridExchange)), "\(v)")
            #expect(v.sync != .mbarrier || v.split > 1, "\(v)")
            #expect(v.forwardSharedBytes <= 227 * 1024 && v.backwardSharedBytes <= 227 * 1024, "\(v)")
        }
    }

    /// FLASHRNN_FUSED_CLUSTER_MIN_SIZE / _SPLIT / _SYNC (measuring): the asked cluster, split and
    /// sync where they are valid, the policy where not.
    @Test(arguments: [(4, 64, 2), (8, 32, 4), (16, 16, 8)])
    func theOverridesPickTheAskedClusterOfD256(size: Int, slice: Int, split: Int) throws {
        for sync in FusedSlicedVariant.ClusterSync.allCases {
            let asked = FusedSlicedVariant.Overrides(minimumClusterSize: size, sync: sync)
            let v = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 256, overrides: asked))
            #expect(v.exchange == .cluster && v.ctasPerHead == size && v.slice == slice && v.split == split && v.sync == sync)
            #expect(v.threads == 256 && v.description.hasSuffix("KW=\(split) \(sync)"))
        }
    }

    @Test func aMinimumClusterSizeTakesTheSmallestFittingClusterFromThere() throws {
        // LSTM 512 on 8 × 64 does not fit (the backward's Rᵀ slices and dG tiles): 16 × 32.
        let d512 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 512, overrides: .init(minimumClusterSize: 8)))
        #expect(d512.exchange == .cluster && d512.ctasPerHead == 16 && d512.slice == 32)
        let d129 = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 129, overrides: .init(minimumClusterSize: 8)))
        #expect(d129.ctasPerHead == 8 && d129.slice == 32)
    }

    /// A device that cannot place clusters of 16 (cuOccupancyMaxActiveClusters = 0) runs the
    /// heads that take them on at most 8 CTAs, and the catalog compiles those variants too.
    @Test(arguments: CellKind.allCases)
    func headsOnClustersOf16HaveAPortableFallbackInTheCatalog(cell: CellKind) throws {
        let all = FusedSlicedVariant.all
        for d in [129, 144, 200, 256] {
            let v = try #require(FusedSlicedVariant(cell: cell, dtype: .bfloat16, headDim: d))
            #expect(v.ctasPerHead == 16)
            let p = try #require(FusedSlicedVariant.portableFallback(cell: cell, dtype: .bfloat16, headDim: d))
            #expect(p.exchange == .cluster && p.ctasPerHead <= 8 && p.ctasPerHead * p.slice >= d)
            #expect(all.contains(p))
        }
    }

    @Test func anInvalidSplitOrAnMbarrierWithoutSplitFallsBackToThePolicy() throws {
        // 256 on 4 × 64: 4 feature warps, so KW = 4 would need 16 warps; KW = 3 does not divide 16 columns.
        for split in [3, 4, 0] {
            let v = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 256,
                                                    overrides: .init(minimumClusterSize: 4, split: split)))
            #expect(v.split == 2, "KW=\(split)")
        }
        let one = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 64, ctasPerHead: 4, split: 1, sync: .mbarrier)
        #expect(one.split == 1 && one.sync == .split)
        // Grid variants have their own exchange: the cluster sync does not apply.
        let grid = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 768, overrides: .init(sync: .mbarrier)))
        #expect(grid.exchange == .grid && grid.sync == .barrier && grid.backwardKernelName.hasSuffix(", 8, 20>"))
    }

    @Test(arguments: CellKind.allCases)
    func theMbarrierExchangeAddsItsTwoMbarriersAndASecondPartialSumCopyToSharedMemory(cell: CellKind) throws {
        for d in [129, 256, 333, 512] {
            let barrier = try #require(FusedSlicedVariant(cell: cell, dtype: .float16, headDim: d, overrides: .init(sync: .barrier)))
            let mbarrier = try #require(FusedSlicedVariant(cell: cell, dtype: .float16, headDim: d, overrides: .init(sync: .mbarrier)))
            #expect(mbarrier.slice == barrier.slice && mbarrier.ctasPerHead == barrier.ctasPerHead, "D=\(d)")
            #expect(mbarrier.split > 1 && barrier.partialSumBuffers == 1 && mbarrier.partialSumBuffers == 2, "D=\(d)")
            // One more float32 copy of the partial sums: [warps, G_R, 4, 32] forward, [warps, 4, 32] backward.
            let forwardCopy = mbarrier.warps * cell.gatesR * 4 * 32 * 4, backwardCopy = mbarrier.warps * 4 * 32 * 4
            #expect(mbarrier.forwardSharedBytes == barrier.forwardSharedBytes + forwardCopy + 16, "D=\(d)")
            #expect(mbarrier.backwardSharedBytes == barrier.backwardSharedBytes + backwardCopy + 16, "D=\(d)")
        }
    }

    @Test func theCatalogCompilesEverySlicedVariant() {
        let labels = Set(KernelCatalog.all().map(\.label))
        #expect(!FusedSlicedVariant.all.isEmpty)
        for variant in FusedSlicedVariant.all {
            for spec in [variant.forwardSpec, variant.backwardSpec] {
                #expect(labels.contains(spec.label))
                // Devices without clusters never load them, so compile-kernels skips sm_80 for them.
                #expect(spec.runs(on: "sm_90a") && spec.runs(on: "sm_100") && !spec.runs(on: "sm_80"))
            }
        }
    }

    @Test(arguments: [CellKind.lstm, .gru])
    func theCheckGridCoversTheClusterBoundaries(cell: CellKind) {
        let cases = CorrectnessCheck.shapes(cell: cell, dtype: .bfloat16, backend: .cudaFused, quick: false)
        let largest = FusedSlicedVariant.maxHeadDim(cell: cell, dtype: .bfloat16)
        for d in [FusedVariant.maxHeadDim + 1, 256, largest, 768] { #expect(cases.contains { $0.headDim == d }, "D=\(d)") }
        #expect(cases.contains { $0.headDim > FusedVariant.maxHeadDim && $0.length == 1 && $0.batch == 1 })
        #expect(cases.contains { $0.headDim > FusedVariant.maxHeadDim && $0.headDim % 2 == 1 && $0.batch > 8 && $0.heads > 1 })
        #expect(cases.contains { $0.headDim > FusedVariant.maxHeadDim && $0.options.gradientRecurrentCut })
        #expect(cases.contains { $0.headDim > FusedVariant.maxHeadDim && $0.options.forwardClip != nil })
        #expect(cases.contains { $0.headDim > FusedVariant.maxHeadDim && $0.options.inputLayout == .tbgnd })
    }

    /// The plan leaves clusters of 16 only where they would need a second wave and the portable
    /// clusters would not (e.g. eight clusters of 16 where seven run at once: 192 × 4 at B = 16).
    @Test(arguments: [(8, 7, 16, true), (6, 7, 16, false), (7, 7, 16, false), (12, 7, 12, true), (12, 7, 11, false),
                      (8, nil, 16, false), (8, 7, nil, false), (8, 0, 16, true)] as [(Int, Int?, Int?, Bool)])
    func portableClustersOnlyWhereTheLargeOnesNeedASecondWave(needed: Int, active: Int?, activePortable: Int?, takes: Bool) {
        #expect(CUDAFusedBackend.takesPortableClusters(needed: needed, active: active, activePortable: activePortable) == takes)
    }

    /// With NVRTC present (CI), the largest cluster and grid variants of each cell compile for Hopper.
    @Test(arguments: CellKind.allCases, [false, true])
    func theLargestSlicedVariantCompiles(cell: CellKind, grid: Bool) throws {
        guard (try? NVRTCLibrary.version()) != nil else {
            print("NVRTC not found; sliced kernel compilation not exercised here")
            return
        }
        let d = FusedSlicedVariant.maxHeadDim(cell: cell, dtype: .bfloat16, allowGrid: grid)
        let variant = try #require(FusedSlicedVariant(cell: cell, dtype: .bfloat16, headDim: d))
        let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_90a"), useDiskCache: false)
        for spec in [variant.forwardSpec, variant.backwardSpec] {
            let module = try compiler.compile(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
            #expect(!module.cubin.isEmpty)
            #expect(Set(module.loweredNames.keys) == Set(spec.nameExpressions))
        }
    }
}
