import FlashRNN

/// Accuracy by length bucket on fresh strings.
public enum Evaluation {
    public struct Bucket: Sendable, Equatable {
        public var lengths: ClosedRange<Int>
        public var sequences: Int
        /// Fraction of strings whose last-step prediction (the answer for the whole string) is right.
        public var accuracy: Double
        /// Fraction of all per-step predictions that are right.
        public var stepAccuracy: Double
    }

    /// The training range, then 41–64, 65–128, 129–192, 193–256, then doubling up to `maxLength`.
    public static func buckets(trainLengths: ClosedRange<Int>, maxLength: Int) -> [ClosedRange<Int>] {
        var edges = [trainLengths.upperBound, 64, 128, 192, 256]
        while edges.last! < maxLength { edges.append(edges.last! * 2) }
        var result = [trainLengths]
        var lower = trainLengths.upperBound + 1
        for edge in edges.dropFirst() where lower <= maxLength {
            let upper = min(edge, maxLength)
            if upper >= lower { result.append(lower...upper) }
            lower = upper + 1
        }
        return result
    }

    /// Evaluates `model` on `sequencesPerBucket` strings per bucket, in batches of one length
    /// each; the lengths are spread evenly over the bucket and include both ends.
    public static func run<F: CellScalar>(model: SequenceModel<F>, task: StateTrackingTask, buckets: [ClosedRange<Int>],
                                          sequencesPerBucket: Int = 256, batch: Int = 64, seed: UInt64) throws -> [Bucket] {
        var rng = SplitMix64.stream(seed, 0xE7A1)
        return try buckets.map { lengths in
            let chunks = max(1, (sequencesPerBucket + batch - 1) / batch)
            var strings = 0, right = 0, steps = 0, rightSteps = 0
            for chunk in 0..<chunks {
                let size = min(batch, sequencesPerBucket - chunk * batch)
                let length = chunks == 1 ? lengths.upperBound
                    : lengths.lowerBound + (lengths.count - 1) * chunk / (chunks - 1)
                let data = task.batch(size: size, length: length, rng: &rng)
                let logits = try model.forward(tokens: data.tokens, batch: size, length: length).logits
                let predictions = CrossEntropy.evaluate(logits: logits, labels: data.labels, classes: task.classes).predictions
                for i in predictions.indices where predictions[i] == data.labels[i] { rightSteps += 1 }
                for s in 0..<size where predictions[s * length + length - 1] == data.labels[s * length + length - 1] { right += 1 }
                strings += size; steps += predictions.count
            }
            return Bucket(lengths: lengths, sequences: strings, accuracy: Double(right) / Double(strings),
                          stepAccuracy: Double(rightSteps) / Double(steps))
        }
    }

    /// A plain-text table; one accuracy column per model.
    public static func table(_ results: [(name: String, buckets: [Bucket])], trainLengths: ClosedRange<Int>) -> String {
        var lines = ["lengths    strings  " + results.map { pad("\($0.name) string", 15) + "  " + pad("\($0.name) step", 13) }.joined(separator: "  ")]
        for (index, bucket) in (results.first?.buckets ?? []).enumerated() {
            let label = "\(bucket.lengths.lowerBound)–\(bucket.lengths.upperBound)" + (bucket.lengths == trainLengths ? "*" : "")
            var line = pad(label, 9) + "  " + pad("\(bucket.sequences)", 7, right: true) + "  "
            line += results.map { result in
                let b = result.buckets[index]
                return pad(percent(b.accuracy), 15, right: true) + "  " + pad(percent(b.stepAccuracy), 13, right: true)
            }.joined(separator: "  ")
            lines.append(line)
        }
        lines.append("* training lengths. string: last-step answer (the whole string) right; step: every per-step prediction.")
        return lines.joined(separator: "\n")
    }

    static func percent(_ x: Double) -> String {
        let tenths = Int((x * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
