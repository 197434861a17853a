import Foundation
import Testing
import FlashRNNCore
@testable import FlashRNNCUDA

/// Forward, backward and dR live in separate modules, so inference compiles only its forward, a
/// cold training call compiles its three modules side by side, and dR compiles once per
/// (storage, tile, product kind) for every cell and head.
struct ModuleSplitTests {
    static let dtypes: [DType] = [.float32, .float16, .bfloat16]

    /// Every dR module a backward of either GPU backend can pick, for every head and override, is
    /// in the catalog that CI compiles.
    @Test(arguments: dtypes)
    func everyWeightGradientModuleABackwardPicksIsInTheCatalog(dtype: DType) {
        let labels = Set(KernelCatalog.all().map(\.label))
        for environment in [[:], ["FLASHRNN_DR": "kernel"], ["FLASHRNN_DR": "mma"], ["FLASHRNN_DR": "products"]] {
            for D in [1, 15, 16, 17, 32, 33, 64, 65, 128, 129, 256, 768] {
                for T in [1, 9] {
                    let path = WeightGradientChoice.path(headDim: D, length: T, dtype: dtype, environment: environment)
                    let tile = AlternatingKernels.weightGradientTile(headDim: D)
                    #expect(labels.contains(WeightGradientModule(dtype: dtype, tile: tile, path: path).spec.label), "D=\(D) T=\(T) \(environment)")
                }
            }
        }
        #expect(WeightGradientModule.all.count == 3 + 3 + 3 + 3 + 3)
    }

    @Test func aWeightGradientModuleHoldsOneProductKindItsLoadWidthsAndTheConversion() {
        let mma = WeightGradientModule(dtype: .bfloat16, tile: 32, path: .tensorCores)
        #expect(mma.spec.nameExpressions == ["&flashrnn::fused::weight_gradient_mma_kernel<flashrnn::BF16, 32>",
                                             "&flashrnn::fused::weight_gradient_mma_quads_kernel<flashrnn::BF16, 32>",
                                             "&flashrnn::fused::finish_gradients_kernel<flashrnn::BF16>"])
        #expect(mma.spec.label == "dR bfloat16 tile=32 mma")
        // cuBLAS products still run the FMA kernel on the t = 0 rows of the fused backward.
        let products = WeightGradientModule(dtype: .float16, tile: 64, path: .products)
        #expect(products.spec.nameExpressions.first == "&flashrnn::fused::weight_gradient_kernel<flashrnn::F16, 64>")
        #expect(WeightGradientModule(dtype: .float32, tile: 16, path: .kernel).spec.label == "dR float32 tile=16 fma")
    }

    /// Each sweep module exports only its own kernel, and the catalog has both of every variant.
    @Test(arguments: CellKind.allCases, [DType.float16, .float32])
    func sweepModulesHoldOneKernelEach(cell: CellKind, dtype: DType) {
        let labels = Set(KernelCatalog.all().map(\.label))
        let v = FusedVariant(cell: cell, dtype: dtype, headDim: 40)
        #expect(v.forwardSpec.nameExpressions == [v.forwardKernelName])
        #expect(v.backwardSpec.nameExpressions == [v.backwardKernelName])
        #expect(labels.contains(v.forwardSpec.label) && labels.contains(v.backwardSpec.label))
        let variant = AlternatingKernels.Variant.forHeadDim(40, dtype: dtype)
        let forward = AlternatingKernels.forwardSpec(cell: cell, dtype: dtype, variant: variant)
        let backward = AlternatingKernels.backwardSpec(cell: cell, dtype: dtype, variant: variant)
        #expect(Set(forward.nameExpressions).isDisjoint(with: backward.nameExpressions))
        #expect(!forward.nameExpressions.contains { $0.contains("weight_gradient") || $0.contains("backward") })
        #expect(labels.contains(forward.label) && labels.contains(backward.label))
    }

    /// Module names are unique in the catalog (labels are what `compile-kernels --only` filters on).
    @Test func catalogLabelsAreUnique() {
        let labels = KernelCatalog.all().map(\.label)
        #expect(Set(labels).count == labels.count)
    }

    /// With NVRTC present (CI): modules prefetched on background threads compile side by side,
    /// each once; a later lookup finds them in memory, and asking twice at once compiles once.
    @Test func prefetchedModulesCompileOnceAndAreFoundInMemory() throws {
        guard (try? NVRTCLibrary.version()) != nil else {
            print("NVRTC not found; concurrent compilation not exercised here")
            return
        }
        let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_90a"), useDiskCache: false)
        let specs = [WeightGradientModule(dtype: .float16, tile: 16, path: .kernel).spec,
                     WeightGradientModule(dtype: .bfloat16, tile: 16, path: .tensorCores).spec,
                     WeightGradientModule(dtype: .float32, tile: 16, path: .kernel).spec]
        compiler.prefetch(specs + specs)
        for spec in specs {
            let (module, _) = try compiler.module(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
            #expect(Set(module.loweredNames.keys) == Set(spec.nameExpressions))
            let (again, secondOrigin) = try compiler.module(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
            #expect(secondOrigin == .memory && again == module)
        }
        // Six prefetches and six lookups of three modules: three compilations, whichever thread
        // got to each first.
        #expect(compiler.compilations == 3)
    }
}
