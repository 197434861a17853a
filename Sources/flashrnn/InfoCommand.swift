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
    }
}
