import Foundation
import Testing
import FlashRNNCore
import FlashRNN
@testable import FlashRNNCUDA

/// 16-bit heads one SM holds (padded D 64–128) split over a portable cluster of 2, 4 or 8 CTAs
/// (`FusedSlicedVariant.smallCluster`): which sizes exist, the override and the policy, on the
/// CPU. Numerics are checked on the GPU by `flashrnn check --backend cuda-fused` with
/// FLASHRNN_FUSED_SMALL_CLUSTER set.
struct FusedSmallClusterTests {
    static let dtypes: [DType] = [.float16, .bfloat16]

    /// Sizes that cut the padded head into slices of a multiple of 16: D = 128 every size, 96 a
    /// cluster of 2, 64 of 2 or 4; 80 and 112 (odd multiples of 16) none.
    @Test(arguments: CellKind.allCases, dtypes)
    func aSmallClusterCutsThePaddedHeadIntoEqualSlices(cell: CellKind, dtype: DType) throws {
        let expected: [Int: [Int]] = [64: [2, 4], 65: [], 80: [], 96: [2], 97: [], 112: [], 113: [2, 4, 8], 121: [2, 4, 8], 128: [2, 4, 8]]
        for (d, sizes) in expected {
            for size in FusedSlicedVariant.smallClusterSizes {
                let v = FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: dtype, headDim: d, size: size)
                #expect((v != nil) == sizes.contains(size), "D=\(d) KS=\(size)")
                guard let v else { continue }
                #expect(v.exchange == .cluster && v.ctasPerHead == size && v.slice * size == (d + 15) / 16 * 16, "\(v)")
                #expect(v.slice % 16 == 0 && v.slice <= FusedSlicedVariant.maxSlice && v.warps <= FusedSlicedVariant.maxWarps, "\(v)")
                #expect(v.sync == FusedSlicedVariant.defaultSync && (v.paddedHeadDim / 16) % v.split == 0, "\(v)")
                #expect(max(v.forwardSharedBytes, v.backwardSharedBytes) <= 227 * 1024, "\(v)")
            }
        }
        // Below the smallest small-cluster head, beyond one SM, other sizes: none.
        for (d, size) in [(48, 2), (16, 2), (144, 2), (128, 16), (128, 3), (128, 1)] {
            #expect(FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: dtype, headDim: d, size: size) == nil, "D=\(d) KS=\(size)")
        }
    }

    @Test(arguments: CellKind.allCases)
    func float32HeadsStayOnOneSM(cell: CellKind) {
        for size in FusedSlicedVariant.smallClusterSizes {
            #expect(FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: .float32, headDim: 128, size: size) == nil)
            let forced = FusedSlicedVariant.Overrides(smallCluster: size)
            #expect(FusedSlicedVariant.smallCluster(cell: cell, dtype: .float32, headDim: 64, batch: 16, heads: 12, backward: false, overrides: forced) == nil)
        }
    }

    /// FLASHRNN_FUSED_SMALL_CLUSTER: 0 keeps one SM, a size forces that cluster where it exists,
    /// even beyond the SMs (clusters need no co-residency); the other overrides apply to it.
    @Test func theOverrideForcesTheAskedCluster() throws {
        let none = FusedSlicedVariant.Overrides(smallCluster: 0)
        #expect(FusedSlicedVariant.smallCluster(cell: .lstm, dtype: .bfloat16, headDim: 128, batch: 16, heads: 6, backward: false, overrides: none) == nil)
        for (size, slice, split) in [(2, 64, 2), (4, 32, 4), (8, 16, 8)] {
            let asked = FusedSlicedVariant.Overrides(smallCluster: size)
            let v = try #require(FusedSlicedVariant.smallCluster(cell: .lstm, dtype: .bfloat16, headDim: 128, batch: 256, heads: 6,
                                                                 backward: true, overrides: asked))
            #expect(v.ctasPerHead == size && v.slice == slice && v.split == split && v.threads == 256, "\(v)")
            #expect(v.forwardKernelName == "&flashrnn::fused::sliced_forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, \(slice), \(size), \(split), \(v.registerTiles), \(FusedSlicedVariant.defaultSync.templateValue)>")
        }
        // 96 holds no cluster of 4: one SM.
        #expect(FusedSlicedVariant.smallCluster(cell: .gru, dtype: .float16, headDim: 96, batch: 16, heads: 8,
                                                backward: false, overrides: .init(smallCluster: 4)) == nil)
        let mbarrier = try #require(FusedSlicedVariant.smallCluster(cell: .elman, dtype: .float16, headDim: 128, batch: 16, heads: 6,
                                                                    backward: false, overrides: .init(sync: .mbarrier, smallCluster: 4)))
        #expect(mbarrier.sync == .mbarrier && mbarrier.forwardSharedBytes > 0)
    }

    @Test func theEnvironmentSwitchIsRead() {
        #expect(FusedSlicedVariant.Overrides(environment: ["FLASHRNN_FUSED_SMALL_CLUSTER": "4"]).smallCluster == 4)
        #expect(FusedSlicedVariant.Overrides(environment: ["FLASHRNN_FUSED_SMALL_CLUSTER": "0"]).smallCluster == 0)
        #expect(FusedSlicedVariant.Overrides(environment: [:]).smallCluster == nil)
    }

    /// Every small cluster the override can ask for is in the catalog (compile-kernels, cache fill).
    @Test(arguments: CellKind.allCases, dtypes)
    func theCatalogHoldsEverySmallCluster(cell: CellKind, dtype: DType) {
        let all = FusedSlicedVariant.all
        for d in stride(from: 64, through: 128, by: 16) {
            for size in FusedSlicedVariant.smallClusterSizes {
                guard let v = FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: dtype, headDim: d, size: size) else { continue }
                #expect(all.contains(v), "\(v)")
            }
        }
    }

    @Test(arguments: [CellKind.lstm, .elman])
    func theCheckGridCoversTheSmallClusterHeads(cell: CellKind) {
        let cases = CorrectnessCheck.shapes(cell: cell, dtype: .bfloat16, backend: .cudaFused, quick: false)
        func small(_ c: CheckCase) -> Bool {
            FusedSlicedVariant.smallClusterSizes.contains {
                FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: .bfloat16, headDim: c.headDim, size: $0) != nil
            }
        }
        #expect(cases.contains { small($0) && $0.headDim % 16 != 0 && $0.batch > 8 && $0.heads > 1 && $0.options.inputLayout == .tbgnd })
        #expect(cases.contains { small($0) && $0.options.forwardClip != nil })
        #expect(cases.contains { small($0) && $0.options.gradientRecurrentClip != nil })
        #expect(cases.contains { small($0) && $0.options.gradientRecurrentCut && !$0.initialStates })
        // Every small size is exercised by some case (D = 128 takes all three).
        for size in FusedSlicedVariant.smallClusterSizes {
            #expect(cases.contains { FusedSlicedVariant.smallClusterVariant(cell: cell, dtype: .bfloat16, headDim: $0.headDim, size: size) != nil })
        }
    }
}

/// The policy's choice for heads one SM holds (measured in the sixth session's closing call).
struct FusedSmallClusterPolicyTests {
    /// Forward: the largest cluster with slices of 16-32 features whose N·⌈B/8⌉·KS CTAs fit the
    /// SMs; backward: the same from padded D 128 only; one SM when none does.
    @Test(arguments: [
        // (D, B, N, forward KS, backward KS)
        (128, 16, 6, 8, 8),     // 12 groups: 96 CTAs
        (128, 16, 8, 8, 8),     // 16 groups: 128 CTAs
        (128, 16, 12, 4, 4),    // 24 groups: 192 on 8, 96 on 4
        (128, 64, 6, 0, 0),     // 48 groups: 192 on 4; 2 would leave slices of 64
        (121, 9, 2, 8, 8),      // odd D: padded 128
        (113, 16, 6, 8, 8),     // padded 128
        (96, 16, 8, 0, 0),      // 96: slices of 48 on 2 (measured slower)
        (64, 16, 12, 4, 0),     // 64: forward on 4 (slices of 16), backward on one SM
        (64, 16, 48, 0, 0),     // 96 groups: 384 on 4, 192 on 2
        (80, 16, 6, 0, 0),      // 80: no equal slices
        (48, 16, 16, 0, 0),     // below the smallest small-cluster head
    ])
    func thePolicyTakesSlicesOf16To32WhereTheCTAsFit(d: Int, b: Int, n: Int, forward: Int, backward: Int) {
        #expect(FusedSlicedVariant.defaultSmallClusterSize(headDim: d, batch: b, heads: n, multiprocessors: 132, backward: false) == forward,
                "D=\(d) B=\(b) N=\(n)")
        #expect(FusedSlicedVariant.defaultSmallClusterSize(headDim: d, batch: b, heads: n, multiprocessors: 132, backward: true) == backward,
                "D=\(d) B=\(b) N=\(n)")
        let v = FusedSlicedVariant.smallCluster(cell: .lstm, dtype: .bfloat16, headDim: d, batch: b, heads: n, backward: false, overrides: .init())
        #expect(v?.ctasPerHead == (forward == 0 ? nil : forward))
    }

    @Test func aSmallerDeviceTakesASmallerCluster() {
        // 12 groups × 8 CTAs do not fit 78 SMs, 12 × 4 do.
        #expect(FusedSlicedVariant.defaultSmallClusterSize(headDim: 128, batch: 16, heads: 6, multiprocessors: 78, backward: true) == 4)
    }

    /// float32 heads stay on one SM whatever the policy says.
    @Test func float32IsNeverSplit() {
        #expect(FusedSlicedVariant.smallCluster(cell: .lstm, dtype: .float32, headDim: 128, batch: 16, heads: 6, backward: false, overrides: .init()) == nil)
    }
}
