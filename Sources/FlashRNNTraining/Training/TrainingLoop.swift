import FlashRNN
import RealModule
import Foundation

/// A float32 trainer that takes one optimisation step at a time: ``Trainer`` on one model, or
/// ``DataParallelTrainer`` over replicas. The loop, the progress reports and the batches are shared,
/// so both see the same data for the same seed.
public protocol TrainingLoop: AnyObject {
    var options: TrainingOptions { get }
    /// The model that is evaluated and saved (replica 0 for data-parallel training).
    var model: SequenceModel<Float> { get }
    var optimizer: AdamW<Float> { get }
    /// One optimisation step on a fresh batch; returns the loss and the per-step accuracy.
    func step(_ index: Int) throws -> (loss: Double, accuracy: Double)
}

extension TrainingOptions {
    /// The training batch of step `index`: one length drawn from the (curriculum) range, then the strings.
    func batch(at index: Int, rng: inout SplitMix64) -> (length: Int, tokens: [Int], labels: [Int]) {
        let length = rng.int(in: trainLengths.lowerBound...max(trainLengths.lowerBound, longestLength(at: index)))
        let data = task.batch(size: batch, length: length, rng: &rng)
        return (length, data.tokens, data.labels)
    }
}

extension TrainingLoop {
    /// Runs every step, calling `progress` about every `reportEvery` seconds and at the end.
    /// Returns the wall time in seconds.
    @discardableResult
    public func train(reportEvery: Double = 1.0, progress: (TrainingProgress) -> Void = { _ in }) throws -> Double {
        let start = Date()
        var lastReport = start, lossSum = 0.0, accuracySum = 0.0, count = 0, sequences = 0
        for index in 0..<options.steps {
            let (loss, accuracy) = try step(index)
            lossSum += loss; accuracySum += accuracy; count += 1; sequences += options.batch
            let now = Date()
            if now.timeIntervalSince(lastReport) >= reportEvery || index == options.steps - 1 {
                let elapsed = now.timeIntervalSince(start)
                let interval = now.timeIntervalSince(lastReport)
                progress(TrainingProgress(step: index + 1, steps: options.steps, loss: lossSum / Double(count),
                                          accuracy: accuracySum / Double(count),
                                          sequencesPerSecond: Double(sequences) / max(interval, 1e-9),
                                          elapsedSeconds: elapsed,
                                          secondsLeft: elapsed / Double(index + 1) * Double(options.steps - index - 1)))
                lastReport = now; lossSum = 0; accuracySum = 0; count = 0; sequences = 0
            }
        }
        return Date().timeIntervalSince(start)
    }
}
