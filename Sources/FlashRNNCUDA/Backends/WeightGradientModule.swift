import Foundation
import FlashRNNCore
import FlashRNNKernelParams

/// The tiled dR kernel of one storage type, output tile and product kind, with the pass that
/// converts dR and db to the storage type (`Kernels/fused/fused_weight_gradient*.cuh`): one module,
/// shared by both GPU backends and every cell and head of that tile, so a new head dimension does
/// not compile dR again, and a backward compiles only the kind `WeightGradientChoice` picks.
struct WeightGradientModule: Hashable, Sendable {
    let dtype: DType
    /// Side of the square output tile: 16, 32 or 64.
    let tile: Int
    /// Tensor-core products of bfloat16 parts (16-bit storage only), else FMA products.
    let tensorCores: Bool

    static let tiles = [16, 32, 64]

    init(dtype: DType, tile: Int, tensorCores: Bool) {
        precondition(Self.tiles.contains(tile), "dR tile \(tile) is not one of \(Self.tiles)")
        precondition(!(tensorCores && dtype == .float32), "the tensor-core dR kernel takes 16-bit storage only")
        self.dtype = dtype; self.tile = tile; self.tensorCores = tensorCores
    }

    /// The module for `path` (`.kernel` or `.tensorCores`; cuBLAS products still use the kernel
    /// for the t = 0 rows of the fused backend, so `.products` maps to the FMA kernel).
    init(dtype: DType, tile: Int, path: WeightGradientChoice.Path) {
        self.init(dtype: dtype, tile: tile, tensorCores: path == .tensorCores)
    }

    private var storage: String { KernelNames.storage(dtype)! }
    var weightGradientKernelName: String {
        "&flashrnn::fused::\(tensorCores ? "weight_gradient_mma_kernel" : "weight_gradient_kernel")<\(storage), \(tile)>"
    }
    /// The tensor-core kernel with 16-byte loads of four columns (`quadsAllowed`).
    var quadsKernelName: String? {
        tensorCores ? "&flashrnn::fused::weight_gradient_mma_quads_kernel<\(storage), \(tile)>" : nil
    }
    var finishKernelName: String { "&flashrnn::fused::finish_gradients_kernel<\(storage)>" }

    var spec: KernelModuleSpec {
        KernelModuleSpec(label: "dR \(dtype) tile=\(tile) \(tensorCores ? "mma" : "fma")",
                         mainSource: "#include \"flashrnn_params.h\"\n#include \"common/storage.cuh\"\n"
                             + "#include \"fused/fused_weight_gradient.cuh\"\n",
                         nameExpressions: [weightGradientKernelName] + (quadsKernelName.map { [$0] } ?? []) + [finishKernelName])
    }

    /// Whether the quads kernel may read these operands: every row and column offset a multiple of
    /// four elements (D % 4 == 0), dG and states32 16-byte aligned, s0 8-byte aligned (four 16-bit
    /// elements). `FLASHRNN_DR_QUADS=0` keeps the 4-byte loads (for measuring).
    static func quadsAllowed(_ w: FlashRNNWeightGradientParams,
                             environment: [String: String] = WeightGradientChoice.launchEnvironment) -> Bool {
        environment["FLASHRNN_DR_QUADS"] != "0" && w.D % 4 == 0 && w.dGR % 16 == 0 && w.states32 % 16 == 0 && w.s0 % 8 == 0
    }

    /// Every module a backward can request (the catalog).
    static let all: [WeightGradientModule] = KernelCatalog.dtypes.flatMap { dtype in
        tiles.flatMap { tile in
            [WeightGradientModule(dtype: dtype, tile: tile, tensorCores: false)]
                + (dtype == .float32 ? [] : [WeightGradientModule(dtype: dtype, tile: tile, tensorCores: true)])
        }
    }

    /// The dR kernel and the finishing conversion.
    func kernels(_ runtime: CUDARuntime) throws -> (weightGradient: Kernel, finish: Kernel) {
        let kernels = try runtime.kernels(spec)
        return (kernels[weightGradientKernelName]!, kernels[finishKernelName]!)
    }

    /// The dR kernel for the operands of `w`: the quads kernel where `quadsAllowed`, else the
    /// kernel of 4-byte loads.
    func weightGradientKernel(_ runtime: CUDARuntime, for w: FlashRNNWeightGradientParams) throws -> Kernel {
        let kernels = try runtime.kernels(spec)
        if let quadsKernelName, Self.quadsAllowed(w) { return kernels[quadsKernelName]! }
        return kernels[weightGradientKernelName]!
    }
}
