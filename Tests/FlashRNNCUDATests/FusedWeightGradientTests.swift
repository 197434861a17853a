import Testing
import FlashRNNCore
@testable import FlashRNNCUDA

/// Which heads sum dR's t > 0 rows with cuBLAS products (D > 64, the crossover measured on the H200) (on the CPU; the sums themselves are
/// checked on the GPU by `flashrnn check` for both GPU backends, whose grid has D > 128 with
/// and without initial states, B = 1 and T = 1).
struct FusedWeightGradientTests {
    @Test(arguments: [1, 16, 33, 64])
    func smallHeadsUseTheTiledKernel(headDim: Int) {
        #expect(!WeightGradientChoice.byProducts(headDim: headDim, length: 1024, environment: [:]))
    }

    @Test(arguments: [65, FusedVariant.maxHeadDim, FusedVariant.maxHeadDim + 1, 256, 768, 1024])
    func largerHeadsUseProducts(headDim: Int) {
        #expect(WeightGradientChoice.byProducts(headDim: headDim, length: 1024, environment: [:]))
        #expect(WeightGradientChoice.byProducts(headDim: headDim, length: 2, environment: [:]))
    }

    /// One step has no row with t > 0: everything is the t = 0 rows of the kernel.
    @Test(arguments: [16, 768])
    func oneStepAlwaysUsesTheKernel(headDim: Int) {
        #expect(!WeightGradientChoice.byProducts(headDim: headDim, length: 1, environment: [:]))
        #expect(!WeightGradientChoice.byProducts(headDim: headDim, length: 1, environment: ["FLASHRNN_DR": "products"]))
    }

    @Test func environmentOverridesTheChoice() {
        #expect(WeightGradientChoice.byProducts(headDim: 64, length: 100, environment: ["FLASHRNN_DR": "products"]))
        #expect(!WeightGradientChoice.byProducts(headDim: 768, length: 100, environment: ["FLASHRNN_DR": "kernel"]))
        #expect(WeightGradientChoice.byProducts(headDim: 768, length: 100, environment: ["FLASHRNN_DR": "other"]))
    }
}
