import ArgumentParser
import FlashRNN

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Time forward and forward+backward (TODO).")
    func run() throws { throw ValidationError("not implemented yet") }
}
