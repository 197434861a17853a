import ArgumentParser
import FlashRNN

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run one problem from .npy files (TODO).")
    func run() throws { throw ValidationError("not implemented yet") }
}
