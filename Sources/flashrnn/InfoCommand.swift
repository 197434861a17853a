import Foundation
import ArgumentParser
import FlashRNN

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Version, backends and why any is unavailable.")

    func run() throws {
        print("flashrnn \(FlashRNNVersion.string)")
        print("backends:")
        for (backend, reason) in BackendRegistry.availability() {
            print("  \(backend.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(reason.map { "unavailable: \($0)" } ?? "available")")
        }
        printCUDA()
    }
}

extension InfoCommand {
    /// The GPU, the loaded libraries and the kernel cache, or why CUDA is unavailable.
    func printCUDA() {
        print("cuda:")
        switch CUDARuntime.shared {
        case .success(let runtime):
            print("  device: \(runtime.properties)")
            if let free = try? runtime.memoryInfo() { print("  memory free: \(free.free / (1 << 20)) MiB of \(free.total / (1 << 20)) MiB") }
        case .failure(let error):
            print("  driver unavailable: \(error)")
        }
        do {
            print("  nvrtc: \(try NVRTCLibrary.version()) (\(try NVRTCLibrary.path()))")
            if case .success(let runtime) = CUDARuntime.shared, let compiler = try? runtime.compiler() {
                print("  kernel cache: \(compiler.diskCache?.folder ?? "disabled")")
            }
        } catch {
            print("  nvrtc unavailable: \(error)")
        }
    }
}
