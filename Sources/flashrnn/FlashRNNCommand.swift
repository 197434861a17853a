import ArgumentParser
import FlashRNN

@main
struct FlashRNNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flashrnn",
        abstract: "Fast traditional RNNs (LSTM, sLSTM, GRU, Elman): run, check, benchmark and train.",
        version: FlashRNNVersion.string,
        // One file per subcommand: Sources/flashrnn/<Name>Command.swift
        subcommands: [RunCommand.self, InfoCommand.self, BenchCommand.self, CheckCommand.self,
                      CompileKernelsCommand.self, GPUBenchCommand.self, TrainCommand.self, EvalCommand.self,
                      NCCLCheckCommand.self]
    )
}
