import ArgumentParser
import FlashRNN
import FlashRNNTraining
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint written by `flashrnn train` on fresh strings, by length bucket."
    )

    @Argument(help: "A checkpoint.safetensors written by flashrnn train.") var checkpoint: String
    @Option(help: "Evaluate up to this string length.") var maxLength: Int = 256
    @Option(help: "Evaluation strings per length bucket.") var evalSequences: Int = 512
    @Option(help: "cpu, cuda-alternating, cuda-fused or auto.") var backend: BackendArgument = .auto
    @Option(help: "Seed of the evaluation strings.") var seed: UInt64 = 2
    @Option(help: "Where to write accuracy.svg (none when omitted).") var out: String?

    func run() throws {
        try reportingTrainingErrors { try evaluate() }
    }

    private func evaluate() throws {
        let (config, metadata) = try Checkpoint.config(at: checkpoint)
        guard let taskName = metadata["task"], let task = StateTrackingTask(rawValue: taskName) else {
            throw ValidationError("\(checkpoint): the metadata names no known task (field task)")
        }
        var trainLengths = 3...40
        if let text = metadata["train.lengths"], let dash = text.firstIndex(of: "-"),
           let lo = Int(text[..<dash]), let hi = Int(text[text.index(after: dash)...]), lo <= hi { trainLengths = lo...hi }
        let model = try SequenceModel<Float>(config: config, backend: backend.choice, seed: 0)
        try Checkpoint.load(into: model, from: checkpoint)
        trainingLog("evaluating \(config) on \(task)")
        let buckets = Evaluation.buckets(trainLengths: trainLengths, maxLength: max(maxLength, trainLengths.upperBound))
        let result = try Evaluation.run(model: model, task: task, buckets: buckets, sequencesPerBucket: evalSequences, seed: seed)
        print(Evaluation.table([(config.cell.rawValue, result)], trainLengths: trainLengths))
        if let out {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let plot = (out as NSString).appendingPathComponent("accuracy.svg")
            try AccuracyPlot.svg([(config.cell.rawValue, result)], trainLengths: trainLengths, title: "\(task): accuracy vs length")
                .write(toFile: plot, atomically: true, encoding: .utf8)
            print("plot: \(plot)")
        }
    }
}
