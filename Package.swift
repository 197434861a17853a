// swift-tools-version: 6.1
import PackageDescription

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
            dependencies: [.product(name: "RealModule", package: "swift-numerics")]
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
        .executableTarget(
            name: "flashrnn",
            dependencies: [
                "FlashRNN",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "FlashRNNCoreTests",
            dependencies: ["FlashRNNCore", "FlashRNN"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FlashRNNCUDATests",
            dependencies: ["FlashRNNCUDA", "FlashRNN"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
