import Testing
import FlashRNNCore
import FlashRNNKernelParams
@testable import FlashRNNCUDA

/// How each backward sums dR (on the CPU; the sums themselves are checked on the GPU by
/// `flashrnn check` for both GPU backends, whose grid has D > 128 with and without initial
/// states, B = 1 and T = 1): float32 storage the FMA kernel through D = 64 and cuBLAS products
/// beyond, 16-bit storage the tensor-core kernel through D = 256 (`tensorCoreProductsAbove`) and
/// products beyond (the crossovers measured on the H200), and the tensor-core kernel wherever
/// `FLASHRNN_DR=mma` asks for it.
struct FusedWeightGradientTests {
    typealias Path = WeightGradientChoice.Path

    static let dtypes: [DType] = [.float32, .float16, .bfloat16]

    /// The path of a 16-bit head without an override when tensor cores are the default.
    static func defaultPath(_ byFMA: Path, dtype: DType) -> Path {
        dtype != .float32 && WeightGradientChoice.tensorCoresByDefault ? .tensorCores : byFMA
    }

    @Test(arguments: dtypes, [1, 5, 16, 33, 64])
    func smallHeadsUseTheTiledKernel(dtype: DType, headDim: Int) {
        #expect(WeightGradientChoice.path(headDim: headDim, length: 1024, dtype: dtype, environment: [:])
                == Self.defaultPath(.kernel, dtype: dtype))
    }

    @Test(arguments: [65, FusedVariant.maxHeadDim, FusedVariant.maxHeadDim + 1, 256, 768, 1024])
    func largerFloat32HeadsUseProducts(headDim: Int) {
        for T in [1024, 2] {
            #expect(WeightGradientChoice.path(headDim: headDim, length: T, dtype: .float32, environment: [:]) == .products)
        }
    }

    @Test(arguments: [DType.float16, .bfloat16], [65, FusedVariant.maxHeadDim, FusedVariant.maxHeadDim + 1, 255, 256])
    func sixteenBitHeadsThrough256UseTensorCores(dtype: DType, headDim: Int) {
        for T in [1024, 2] {
            #expect(WeightGradientChoice.path(headDim: headDim, length: T, dtype: dtype, environment: [:]) == .tensorCores)
        }
    }

    @Test(arguments: [DType.float16, .bfloat16], [257, 768, 1024])
    func sixteenBitHeadsBeyond256UseProducts(dtype: DType, headDim: Int) {
        for T in [1024, 2] {
            #expect(WeightGradientChoice.path(headDim: headDim, length: T, dtype: dtype, environment: [:]) == .products)
        }
    }

    /// The 16-byte-load kernel only where every offset is a multiple of four elements and the
    /// operands are aligned (else the kernel of 4-byte loads reads every D).
    @Test(arguments: [(4, true), (8, true), (64, true), (1, false), (5, false), (6, false), (33, false), (66, false)])
    func quadsNeedHeadDimensionsOfFourAndAlignedOperands(headDim: Int, allowed: Bool) {
        var w = FlashRNNWeightGradientParams()
        w.D = Int32(headDim); w.dGR = 0x1000; w.states32 = 0x2000; w.s0 = 0x3008
        #expect(WeightGradientModule.quadsAllowed(w, environment: [:]) == allowed)
        w.s0 = 0
        #expect(WeightGradientModule.quadsAllowed(w, environment: [:]) == allowed)
        if allowed {
            #expect(!WeightGradientModule.quadsAllowed(w, environment: ["FLASHRNN_DR_QUADS": "0"]))
            var misaligned = w
            misaligned.s0 = 0x3004
            #expect(!WeightGradientModule.quadsAllowed(misaligned, environment: [:]))
            misaligned = w
            misaligned.dGR = 0x1008
            #expect(!WeightGradientModule.quadsAllowed(misaligned, environment: [:]))
            misaligned = w
            misaligned.states32 = 0x2004
            #expect(!WeightGradientModule.quadsAllowed(misaligned, environment: [:]))
        }
    }

    /// Only the tensor-core modules carry the quads kernel, next to the kernel of 4-byte loads.
    @Test(arguments: WeightGradientModule.all)
    func quadsKernelOnlyInTensorCoreModules(module: WeightGradientModule) {
        #expect((module.quadsKernelName != nil) == module.tensorCores)
        #expect(module.spec.nameExpressions.contains(module.weightGradientKernelName))
        if let quads = module.quadsKernelName { #expect(module.spec.nameExpressions.contains(quads)) }
    }

    @Test(arguments: [DType.float16, .bfloat16], [1, 5, 16, 33, 64, 65, 128, 256, 768])
    func sixteenBitHeadsTakeTensorCoresOnRequest(dtype: DType, headDim: Int) {
        #expect(WeightGradientChoice.path(headDim: headDim, length: 1024, dtype: dtype, environment: ["FLASHRNN_DR": "mma"]) == .tensorCores)
    }

    /// One step has no row with t > 0: everything is the tiled kernel's t = 0 rows.
    @Test(arguments: [16, 768], dtypes)
    func oneStepAlwaysUsesTheTiledKernel(headDim: Int, dtype: DType) {
        let tiled: Path = dtype == .float32 ? .kernel : .tensorCores
        #expect(WeightGradientChoice.path(headDim: headDim, length: 1, dtype: dtype, environment: [:]) == Self.defaultPath(.kernel, dtype: dtype))
        #expect(WeightGradientChoice.path(headDim: headDim, length: 1, dtype: dtype, environment: ["FLASHRNN_DR": "products"])
                == Self.defaultPath(.kernel, dtype: dtype))
        #expect(WeightGradientChoice.path(headDim: headDim, length: 1, dtype: dtype, environment: ["FLASHRNN_DR": "mma"]) == tiled)
    }

    @Test func environmentOverridesTheChoice() {
        let path = { (D: Int, dtype: DType, value: String) in
            WeightGradientChoice.path(headDim: D, length: 100, dtype: dtype, environment: ["FLASHRNN_DR": value])
        }
        #expect(path(64, .bfloat16, "products") == .products)
        #expect(path(64, .float32, "products") == .products)
        #expect(path(768, .float16, "kernel") == .kernel)
        #expect(path(768, .float32, "kernel") == .kernel)
        #expect(path(768, .bfloat16, "mma") == .tensorCores)
        // float32 has no tensor-core path: mma keeps its FMA kernel.
        #expect(path(768, .float32, "mma") == .kernel)
        #expect(path(768, .float32, "other") == .products)
        #expect(path(16, .float32, "other") == .kernel)
    }

    /// The tiled kernel's CTAs cover every row exactly once, in whole 16-row steps, and the grid
    /// has one x index per output tile and one y index per (gate, head), odd sizes included.
    @Test(arguments: [(1, 1, 16), (7, 5, 16), (16384, 64, 64), (16384, 16, 16), (3000, 33, 64), (16384, 768, 64), (11, 100, 32)])
    func kernelLaunchCoversEveryRow(rows: Int, headDim: Int, tile: Int) {
        let (grid, rowsPerBlock) = WeightGradientChoice.kernelLaunch(rows: rows, headDim: headDim, tile: tile, gates: 4, heads: 3,
                                                                     multiprocessors: 132)
        let tiles = (headDim + tile - 1) / tile
        #expect(grid.0 == tiles * tiles)
        #expect(grid.1 == 4 * 3)
        #expect(rowsPerBlock % 16 == 0)
        #expect(grid.2 * rowsPerBlock >= rows)
        #expect((grid.2 - 1) * rowsPerBlock < rows)
    }
}
