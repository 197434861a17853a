import ArgumentParser
import FlashRNN
import FlashRNNTraining
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a recurrent model on a state-tracking task and test it on longer strings.",
        discussion: """
        parity: bit strings; the label after every bit is the parity of the bits read so far.
        modular: digits; the label is their sum (or, with --op product, product) modulo 5 so far.

        Trains on lengths 3–40, then reports accuracy per length bucket up to --max-length, \
        writes accuracy.svg and checkpoint.safetensors to --out. Unless --no-contrast is given, \
        the linear diagonal recurrence is trained the same way and put in the same table and plot.
        """
    )

    enum TaskName: String, ExpressibleByArgument, CaseIterable { case parity, modular }
    enum Operation: String, ExpressibleByArgument, CaseIterable { case sum, product }

    @Argument(help: "parity or modular") var task: TaskName = .parity
    @Option(help: "For modular: sum or product.") var op: Operation = .sum
    @Option(help: "lstm, slstm, gru, elman, or linear (the diagonal linear contrast).") var cell: String = "lstm"
    @Option(help: "Hidden size N·D per layer.") var hidden: Int = TrainingOptions().hidden
    @Option(help: "Heads N per layer.") var heads: Int = 1
    @Option(help: "Stacked recurrent layers.") var layers: Int = 1
    @Option(help: "Optimisation steps.") var steps: Int = TrainingOptions().steps
    @Option(help: "Strings per batch.") var batch: Int = TrainingOptions().batch
    @Option(help: "Peak learning rate (AdamW).") var lr: Double = TrainingOptions().learningRate
    @Option(help: "Evaluate up to this string length.") var maxLength: Int = 256
    @Option(help: "Evaluation strings per length bucket.") var evalSequences: Int = 512
    @Option(help: "cpu, cuda-alternating, cuda-fused or auto.") var backend: BackendArgument = .auto
    @Option(help: "Seed of the data, the initialisation and the evaluation.") var seed: UInt64 = 1
    @Option(help: "Where to write checkpoint.safetensors and accuracy.svg.") var out: String = "train-out"
    @Flag(inversion: .prefixedNo, help: "Also train the linear diagonal recurrence the same way, for contrast.")
    var contrast = true
    @Option(help: "GPUs to split each batch over (one replica each, gradients summed through NCCL); 1 trains as without the flag.")
    var gpus: Int = 1
    @Flag(help: "Sum the gradients through NCCL even with --gpus 1 (one rank), to check the NCCL path against the plain run.")
    var nccl = false
    @Option(help: "Seconds between progress lines; 0 logs every step (to compare two runs step by step).")
    var reportEvery: Double = 1

    func run() throws {
        try reportingTrainingErrors { try train() }
    }

    private func train() throws {
        var options = TrainingOptions()
        options.task = task == .parity ? .parity : (op == .sum ? .modularSum : .modularProduct)
        guard let modelCell = ModelCell(rawValue: cell.lowercased()) else {
            throw ValidationError("--cell must be one of \(ModelCell.allCases.map(\.rawValue).joined(separator: ", ")), got \(cell)")
        }
        options.cell = modelCell
        options.backend = backend.choice
        options.hidden = hidden
        options.heads = heads
        options.layers = layers
        options.steps = steps
        options.batch = batch
        options.learningRate = lr
        options.seed = seed
        guard maxLength >= options.trainLengths.upperBound else {
            throw ValidationError("--max-length must be at least the longest training length \(options.trainLengths.upperBound)")
        }
        try options.modelConfig.validate()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        var runs = [options]
        if contrast && options.cell != .linear {
            var linear = options
            linear.cell = .linear
            runs.append(linear)
        }
        var results: [(name: String, buckets: [Evaluation.Bucket])] = []
        let buckets = Evaluation.buckets(trainLengths: options.trainLengths, maxLength: maxLength)
        for run in runs {
            let trainer: any TrainingLoop = gpus == 1 && !nccl
                ? try Trainer(options: run)
                : try DataParallelTrainer(options: run, allReduce: try MultiGPURequest.allReduce(gpus: gpus))
            if gpus > 1 || nccl { trainingLog("gradients summed through NCCL over \(gpus) GPU(s), \(run.batch / gpus)+ strings each") }
            trainingLog("training \(run.modelConfig) (\(trainer.model.parameterCount) parameters) on \(run.task), lengths \(run.trainLengths.lowerBound)–\(run.trainLengths.upperBound), \(run.steps) steps of \(run.batch), seed \(run.seed)")
            let seconds = try trainer.train(reportEvery: reportEvery) { p in
                trainingLog(String(format: "step %5d/%d  loss %.4f  acc %5.1f%%  %6.0f seq/s  %@ elapsed  %@ left",
                           p.step, p.steps, p.loss, 100 * p.accuracy, p.sequencesPerSecond,
                           durationText(p.elapsedSeconds), durationText(p.secondsLeft)))
            }
            trainingLog(String(format: "trained in %@; evaluating %d strings per bucket up to length %d", durationText(seconds), evalSequences, maxLength))
            let evalStart = Date()
            let result = try Evaluation.run(model: trainer.model, task: run.task, buckets: buckets,
                                            sequencesPerBucket: evalSequences, seed: run.seed)
            trainingLog(String(format: "evaluated in %@", durationText(Date().timeIntervalSince(evalStart))))
            results.append((run.cell.rawValue, result))
            let name = runs.count > 1 ? "checkpoint-\(run.cell.rawValue).safetensors" : "checkpoint.safetensors"
            let path = (out as NSString).appendingPathComponent(name)
            try Checkpoint.save(model: trainer.model, optimizer: trainer.optimizer,
                                extra: run.metadata.merging(["train.seconds": String(format: "%.1f", seconds)]) { a, _ in a },
                                to: path)
            trainingLog("saved \(path)")
        }
        print("\(options.task), trained on lengths \(options.trainLengths.lowerBound)–\(options.trainLengths.upperBound):")
        print(Evaluation.table(results, trainLengths: options.trainLengths))
        let plot = (out as NSString).appendingPathComponent("accuracy.svg")
        try AccuracyPlot.svg(results, trainLengths: options.trainLengths, title: "\(options.task): accuracy vs length")
            .write(toFile: plot, atomically: true, encoding: .utf8)
        print("plot: \(plot)")
    }
}

/// A progress line on stderr (the table and the plot path go to stdout).
func trainingLog(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

/// `42s` or `3m05s`.
func durationText(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}

/// Like `reportingErrors`, for the training target's errors too: a message on stderr, exit code 1.
func reportingTrainingErrors(_ body: () throws -> Void) throws {
    do {
        try reportingErrors(body)
    } catch let error as TrainingError {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
