import Foundation
import Testing
import FlashRNNCore
@testable import FlashRNNCUDA

/// The alternating backend's variant choice per head dimension, on the CPU (no GPU needed).
/// Numerics are checked on the GPU by `flashrnn check --backend cuda-alternating`.
struct AlternatingVariantTests {
    @Test(arguments: [(1, 1), (3, 1), (16, 1), (127, 1), (128, 1), (129, 2), (256, 2), (257, 6), (500, 6), (768, 6), (1001, 6)])
    func forwardChunksCoverTheRowWhereTheyCan(headDim: Int, chunks: Int) {
        #expect(AlternatingKernels.Variant.forHeadDim(headDim, dtype: .bfloat16).forwardChunks == chunks)
    }

    @Test(arguments: [DType.float32, .float16, .bfloat16])
    func everyVariantTheBackendPicksIsInTheCatalog(dtype: DType) {
        let labels = Set(KernelCatalog.all().map(\.label))
        for d in [1, 7, 64, 200, 768, 999] {
            let variant = AlternatingKernels.Variant.forHeadDim(d, dtype: dtype)
            for cell in CellKind.allCases {
                #expect(labels.contains(AlternatingKernels.spec(cell: cell, dtype: dtype, variant: variant).label), "D=\(d) \(cell)")
            }
        }
    }

    @Test(arguments: [DType.float32, .float16, .bfloat16], [16, 768])
    func backwardHoldsAtMostThreeChunks(dtype: DType, headDim: Int) {
        let variant = AlternatingKernels.Variant.forHeadDim(headDim, dtype: dtype)
        #expect(variant.backwardChunks == min(variant.forwardChunks, 3))
        #expect(variant.backwardWarps == 8)
    }

    @Test func float32WithAllOfALargeRowHeldUsesFourWarpsPerForwardBlock() {
        #expect(AlternatingKernels.Variant.forHeadDim(768, dtype: .float32).forwardWarps == 4)
        #expect(AlternatingKernels.Variant.forHeadDim(768, dtype: .bfloat16).forwardWarps == 8)
        #expect(AlternatingKernels.Variant.forHeadDim(64, dtype: .float32).forwardWarps == 8)
    }
}
