import Foundation
import PackagePlugin

/// Embeds the CUDA sources of a target (`Kernels/**/*.cuh`, `*.cu`) and the shared parameter
/// header into a generated Swift file, so the binary needs no resource files next to it.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernels = target.directoryURL.appending(path: "Kernels")
        let header = context.package.directoryURL
            .appending(path: "Sources/FlashRNNKernelParams/include/flashrnn_params.h")
        var inputs: [URL] = []
        if let walk = FileManager.default.enumerator(at: kernels, includingPropertiesForKeys: nil) {
            for case let url as URL in walk where ["cuh", "cu"].contains(url.pathExtension) {
                inputs.append(url)
            }
        }
        inputs.sort { $0.path < $1.path }
        inputs.append(header)
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedKernelSources.swift")
        return [.buildCommand(
            displayName: "Embedding CUDA kernel sources of \(target.name)",
            executable: try context.tool(named: "KernelEmbedder").url,
            arguments: [output.path, kernels.path] + inputs.map(\.path),
            inputFiles: inputs,
            outputFiles: [output]
        )]
    }
}
