import Foundation
import Testing
import FlashRNNCore
@testable import FlashRNNCUDA

/// The alternating backend's variant choice per head dimension, on the CPU (no GPU needed).
/// Numerics are checked on the GPU by `flashrnn check --backend cuda-alternating`.
struct AlternatingVariantTests {
    @Test(arguments: [(1, 1), (3, 1), (16, 1), (127, 1), (128, 1), (129, 2), (256, 2), (257, 6), (500, 6), (768, 6), (1001, 6)])
    func forwardChunksCoverTheRowWhereTheyCan(headDim: Int, chunks: Int) {
        #expect(AlternatingKernels.Variant.forHeadDim(headDim, dtype: .bfloat16, policy: .off).forwardChunks == chunks)
        #expect(AlternatingKernels.Variant.forHeadDim(headDim, dtype: .float32).forwardChunks == chunks)
    }

    @Test(arguments: [DType.float32, .float16, .bfloat16])
    func everyVariantTheBackendPicksIsInTheCatalog(dtype: DType) {
        let labels = Set(KernelCatalog.all().map(\.label))
        for d in [1, 7, 64, 200, 256, 288, 300, 384, 512, 768, 999, 1024] {
            let variant = AlternatingKernels.Variant.forHeadDim(d, dtype: dtype, policy: .largeHeads)
            for cell in CellKind.allCases {
                #expect(labels.contains(AlternatingKernels.forwardSpec(cell: cell, dtype: dtype, variant: variant).label), "D=\(d) \(cell)")
                #expect(labels.contains(AlternatingKernels.backwardSpec(cell: cell, dtype: dtype, variant: variant).label), "D=\(d) \(cell)")
            }
        }
    }

    @Test(arguments: [DType.float32, .float16, .bfloat16], [16, 768])
    func backwardHoldsAtMostThreeChunks(dtype: DType, headDim: Int) {
        let variant = AlternatingKernels.Variant.forHeadDim(headDim, dtype: dtype, policy: .off)
        #expect(variant.backwardChunks == min(variant.forwardChunks, 3))
        #expect(variant.backwardWarps == 8)
    }

    @Test func float32WithAllOfALargeRowHeldUsesFourWarpsPerForwardBlock() {
        #expect(AlternatingKernels.Variant.forHeadDim(768, dtype: .float32).forwardWarps == 4)
        #expect(AlternatingKernels.Variant.forHeadDim(768, dtype: .bfloat16, policy: .off).forwardWarps == 8)
        #expect(AlternatingKernels.Variant.forHeadDim(64, dtype: .float32).forwardWarps == 8)
    }

    typealias Variant = AlternatingKernels.Variant

    /// (D, 16-bit dtypes take the mma steps by default (D a multiple of 32), the forward chunks per warp).
    @Test(arguments: [(1, false, 0), (16, false, 0), (32, true, 1), (64, true, 1), (100, false, 0), (128, true, 1),
                      (224, true, 1), (250, false, 0), (256, true, 1),
                      (288, true, 3), (300, false, 0), (384, true, 3), (512, true, 3), (768, true, 3), (800, true, 3),
                      (1024, true, 3)])
    func headsOf16BitStorageThatAreMultiplesOf32TakeTheTensorCoreSteps(headDim: Int, mma: Bool, chunks: Int) {
        for dtype in [DType.bfloat16, .float16] {
            let variant = Variant.forHeadDim(headDim, dtype: dtype, policy: .largeHeads)
            #expect((variant.forwardProduct == .mma) == mma, "D=\(headDim) \(dtype)")
            if mma {
                #expect(variant.forwardChunks == chunks)
                #expect(variant.forwardWarps == Variant.mmaWarps)
            }
            #expect((variant.backwardProduct == .mma) == mma, "D=\(headDim) \(dtype)")
            // The forward-only switch keeps the FFMA backward of the same D.
            let forwardOnly = Variant.forHeadDim(headDim, dtype: dtype, policy: .forwardOnly)
            let ffma = Variant.forHeadDim(headDim, dtype: dtype, policy: .off)
            #expect(forwardOnly.forwardProduct == variant.forwardProduct && forwardOnly.backwardProduct == .ffma)
            #expect(forwardOnly.backwardChunks == ffma.backwardChunks && forwardOnly.backwardWarps == ffma.backwardWarps)
        }
        let float32 = Variant.forHeadDim(headDim, dtype: .float32, policy: .largeHeads)
        #expect(float32.forwardProduct == .ffma && float32.backwardProduct == .ffma)
    }

    /// (D, backward chunks per warp: K = 4·D over 16 warps, in the classes 2 and 6).
    @Test(arguments: [(256, 2), (288, 6), (512, 6), (768, 6), (1024, 6)])
    func theMMABackwardHoldsTheFourGateCellsChunks(headDim: Int, chunks: Int) {
        let variant = Variant.forHeadDim(headDim, dtype: .bfloat16, policy: .largeHeads)
        #expect(variant.backwardChunks == chunks)
        #expect(variant.backwardWarps == Variant.mmaBackwardWarps)
        #expect(Variant.mmaBackwardFeatures * 8 * Variant.mmaBackwardBatchTiles <= 32 * Variant.mmaBackwardWarps)
    }

    @Test(arguments: [32, 64, 96, 128, 256, 768])
    func theSwitchTurnsTheTensorCoreForwardOffOrOnForEveryEligibleHead(headDim: Int) {
        #expect(Variant.forHeadDim(headDim, dtype: .bfloat16, policy: .off).forwardProduct == .ffma)
        #expect(Variant.forHeadDim(headDim, dtype: .bfloat16, policy: .everyEligibleHead).forwardProduct == .mma)
        #expect(Variant.forHeadDim(headDim, dtype: .bfloat16, policy: .everyEligibleHead).backwardProduct == .mma)
        #expect(Variant.forHeadDim(headDim + 16, dtype: .float16, policy: .everyEligibleHead).forwardProduct == .ffma)
    }

    /// A block holds whole features: 16 · row tiles is a multiple of G_R, and the cell threads
    /// (features × 16 batch rows) fit the block.
    @Test(arguments: CellKind.allCases)
    func mmaBlocksHoldWholeFeatures(cell: CellKind) {
        let rows = 16 * Variant.mmaRowTiles(cell)
        #expect(rows % cell.gatesR == 0)
        #expect(Variant.mmaFeatures(cell) * cell.gatesR == rows)
        #expect(Variant.mmaFeatures(cell) * 8 * Variant.mmaBatchTiles <= 32 * Variant.mmaWarps)
    }

    @Test func mmaModulesNameTheirKernelAndIncludeItsSource() {
        let variant = Variant.forHeadDim(768, dtype: .bfloat16, policy: .largeHeads)
        let forward = AlternatingKernels.forwardSpec(cell: .lstm, dtype: .bfloat16, variant: variant)
        let backward = AlternatingKernels.backwardSpec(cell: .lstm, dtype: .bfloat16, variant: variant)
        #expect(forward.label.hasSuffix("mma forward") && backward.label.hasSuffix("mma backward"))
        #expect(forward.nameExpressions.contains { $0.hasPrefix("&flashrnn::forward_step_mma<") })
        #expect(forward.mainSource.contains("alternating/alternating_forward_mma.cuh"))
        #expect(backward.nameExpressions.contains { $0.hasPrefix("&flashrnn::backward_step_mma<") })
        #expect(backward.mainSource.contains("alternating/alternating_backward_mma.cuh"))
        // Each module includes only its own step's source: inference never compiles the backward.
        #expect(!forward.mainSource.contains("alternating_backward_mma") && !backward.mainSource.contains("alternating_forward_mma"))
        let forwardOnly = AlternatingKernels.backwardSpec(cell: .lstm, dtype: .bfloat16,
                                                          variant: Variant.forHeadDim(768, dtype: .bfloat16, policy: .forwardOnly))
        #expect(forwardOnly.nameExpressions.contains { $0.hasPrefix("&flashrnn::backward_step<") })
        #expect(!forwardOnly.mainSource.contains("alternating_backward_mma"))
        #expect(forwardOnly.label != backward.label)
        let ffma = AlternatingKernels.forwardSpec(cell: .lstm, dtype: .bfloat16, variant: Variant.forHeadDim(768, dtype: .bfloat16, policy: .off))
        #expect(!ffma.mainSource.contains("alternating_forward_mma"))
        #expect(ffma.label != forward.label)
    }
}
