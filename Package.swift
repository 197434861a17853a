// swift-tools-version: 6.0
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
        // The umbrella the users import: re-exports the core and chooses backends.
        .target(name: "FlashRNN", dependencies: ["FlashRNNCore"]),
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
            name: "FlashRNNTrainingTests",
            dependencies: ["FlashRNNTraining", "FlashRNN"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
