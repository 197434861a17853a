@testable import FlashRNNTraining
import Testing

@Suite struct TaskTests {
    @Test func labelsFollowTheStringLeftToRight() {
        #expect(StateTrackingTask.parity.labels([1, 0, 1, 1, 0]) == [1, 1, 0, 1, 1])
        #expect(StateTrackingTask.parity.labels([0]) == [0])
        #expect(StateTrackingTask.modularSum.labels([3, 4, 2, 0, 1]) == [3, 2, 4, 4, 0])
        #expect(StateTrackingTask.modularProduct.labels([2, 3, 4, 4, 1]) == [2, 1, 4, 1, 1])
    }

    @Test(arguments: StateTrackingTask.allCases)
    func batchesHaveTheirShapeAlphabetAndLabels(_ task: StateTrackingTask) {
        var rng = SplitMix64(seed: 5)
        let (tokens, labels) = task.batch(size: 3, length: 7, rng: &rng)
        #expect(tokens.count == 21 && labels.count == 21)
        let alphabet = task == .parity ? 0...1 : (task == .modularSum ? 0...4 : 1...4)
        #expect(tokens.allSatisfy { alphabet.contains($0) })
        for s in 0..<3 { #expect(Array(labels[(s * 7)..<(s * 7 + 7)]) == task.labels(Array(tokens[(s * 7)..<(s * 7 + 7)]))) }
        // Both symbols/labels occur: the generator is not degenerate.
        #expect(Set(tokens).count > 1 && Set(labels).count > 1)
    }

    @Test func generatorIsSeeded() {
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9), c = SplitMix64(seed: 10)
        let x = StateTrackingTask.parity.sample(length: 64, rng: &a)
        #expect(x == StateTrackingTask.parity.sample(length: 64, rng: &b))
        #expect(x != StateTrackingTask.parity.sample(length: 64, rng: &c))
    }

    @Test func bucketsCoverTheLengths() {
        #expect(Evaluation.buckets(trainLengths: 3...40, maxLength: 256) == [3...40, 41...64, 65...128, 129...192, 193...256])
        #expect(Evaluation.buckets(trainLengths: 3...40, maxLength: 600).suffix(2) == [257...512, 513...600])
        #expect(Evaluation.buckets(trainLengths: 3...40, maxLength: 50) == [3...40, 41...50])
    }
}
