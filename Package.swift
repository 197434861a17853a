// swift-tools-version: 6.1
import PackageDescription

// The CPU backend's float32 kernels are written with SIMD8<Float> and fused multiply-add; on
// x86-64 they need AVX2 and FMA enabled at compile time (without them each fused multiply-add
// becomes a library call). Every x86-64 CPU since 2013–2015 has both. Set
// FLASHRNN_PORTABLE_X86=1 to build for baseline x86-64 instead.
#if arch(x86_64)
let coreSwiftSettings: [SwiftSetting] = Context.environment["FLASHRNN_PORTABLE_X86"] == nil
    ? [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
    : []
#else
let coreSwiftSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "FlashRNN",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "FlashRNN", targets: ["FlashRNN"]),
        .executable(name: "flashrnn", targets: ["flashrnn"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // API, tensors, cells and the CPU reference backend: pure Swift, no C or CUDA.
        .target(
            name: "FlashRNNCore",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: coreSwiftSettings
        ),
        // The run-time parameter struct of the kernels: one C header read by Swift and by CUDA.
        .target(name: "FlashRNNKernelParams"),
        // Turns the kernel sources into Swift string literals at build time (used by EmbedKernels).
        .executableTarget(name: "KernelEmbedder"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["KernelEmbedder"]),
        // CUDA at run time (dlopen): driver, NVRTC, cuBLAS, kernel cache, GPU backends.
        .target(
            name: "FlashRNNCUDA",
            dependencies: ["FlashRNNCore", "FlashRNNKernelParams"],
            exclude: ["Kernels", "README.md"],
            plugins: ["EmbedKernels"]
        ),
        // The umbrella the users import: re-exports the core and chooses backends.
        .target(name: "FlashRNN", dependencies: ["FlashRNNCore", "FlashRNNCUDA"]),
        // Layers, optimiser, checkpoints and the state-tracking tasks, on top of the umbrella.
        .target(
            name: "FlashRNNTraining",
            dependencies: ["FlashRNN", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .executableTarget(
            name: "flashrnn",
            dependencies: [
                "FlashRNN",
                "FlashRNNTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support: the CUDA cell structs compiled for the host, so tests pin them to the Swift cells.
        .target(name: "CellTwins", path: "Tests/CellTwins"),
        .testTarget(
            name: "FlashRNNCoreTests",
            dependencies: ["FlashRNNCore", "FlashRNN", "CellTwins"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FlashRNNCUDATests",
            dependencies: ["FlashRNNCUDA", "FlashRNN"]
        ),
        .testTarget(
            name: "FlashRNNTrainingTests",
            dependencies: ["FlashRNNTraining", "FlashRNN"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
