import ArgumentParser
import FlashRNN
import FlashRNNTraining

struct NCCLCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nccl-check",
        abstract: "All-reduce known float32 and float64 buffers through NCCL over the first N GPUs and check the sums."
    )

    @Option(help: "Ranks (GPUs 0..<N).") var gpus: Int = 1

    func run() throws {
        try reportingTrainingErrors {
            for line in try NCCLKnownSumCheck.run(gpus: gpus) { print(line) }
        }
    }
}
