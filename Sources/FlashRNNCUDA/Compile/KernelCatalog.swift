import FlashRNNCore

/// One module to compile: a main source that #includes embedded files, and the template
/// instantiations (NVRTC name expressions) to export from it.
public struct KernelModuleSpec: Sendable, Hashable {
    /// For reports, e.g. `alternating lstm bfloat16`.
    public var label: String
    public var mainSource: String
    public var nameExpressions: [String]
    /// The oldest compute capability (major·10 + minor, 90 for sm_90) whose devices can launch
    /// these kernels; `compile-kernels` skips older architectures. 0: every architecture.
    public var minimumComputeCapability: Int

    public init(label: String, mainSource: String, nameExpressions: [String], minimumComputeCapability: Int = 0) {
        self.label = label; self.mainSource = mainSource; self.nameExpressions = nameExpressions
        self.minimumComputeCapability = minimumComputeCapability
    }

    /// Whether devices of an NVRTC architecture such as `sm_80` or `sm_90a` can launch the module.
    public func runs(on architecture: String) -> Bool {
        let digits = architecture.drop { !$0.isNumber }.prefix { $0.isNumber }
        return (Int(digits) ?? 0) >= minimumComputeCapability
    }
}

/// The C++ names the kernels use for cells and storage types.
public enum KernelNames {
    public static func cell(_ cell: CellKind) -> String {
        switch cell {
        case .lstm: "flashrnn::LSTMCell"
        case .slstm: "flashrnn::SLSTMCell"
        case .gru: "flashrnn::GRUCell"
        case .elman: "flashrnn::ElmanCell"
        }
    }

    public static func storage(_ dtype: DType) -> String? {
        switch dtype {
        case .float32: "flashrnn::F32"
        case .float16: "flashrnn::F16"
        case .bfloat16: "flashrnn::BF16"
        case .float64: nil
        }
    }

    /// The includes every module starts with: the parameter struct, storage types and all cells.
    public static let prelude = """
    #include "flashrnn_params.h"
    #include "common/storage.cuh"
    #include "cells/lstm.cuh"
    #include "cells/slstm.cuh"
    #include "cells/gru.cuh"
    #include "cells/elman.cuh"

    """
}

/// Every kernel module the backends can request; `flashrnn compile-kernels` compiles them all.
/// Backends register their variants here (the fused backend adds its own list).
public enum KernelCatalog {
    /// Storage types of the GPU backends.
    public static let dtypes: [DType] = [.float32, .float16, .bfloat16]

    public static func all() -> [KernelModuleSpec] {
        var specs: [KernelModuleSpec] = []
        for cell in CellKind.allCases {
            for dtype in dtypes {
                for variant in AlternatingKernels.Variant.catalog(dtype: dtype) {
                    specs.append(AlternatingKernels.forwardSpec(cell: cell, dtype: dtype, variant: variant))
                    specs.append(AlternatingKernels.backwardSpec(cell: cell, dtype: dtype, variant: variant))
                }
            }
        }
        specs += FusedVariant.all.flatMap { [$0.forwardSpec, $0.backwardSpec] }
        specs += FusedVariant.all.compactMap(\.otherSplitForwardSpec)
        specs += FusedVariant.all.compactMap(\.otherFloat32BackwardSpec)
        specs += FusedSlicedVariant.all.flatMap { [$0.forwardSpec, $0.backwardSpec] }
        specs += WeightGradientModule.all.map(\.spec)
        return specs
    }
}
