import FlashRNN
import RealModule

/// Softmax cross-entropy averaged over rows, with its gradient.
public enum CrossEntropy {
    /// - Parameters:
    ///   - logits: `[M, C]`.
    ///   - labels: `[M]`, each in `0..<C`.
    /// - Returns: the mean loss, `dLogits [M, C]` (gradient of the mean), and the argmax
    ///   prediction of every row.
    public static func evaluate<F: CellScalar>(logits: [F], labels: [Int], classes: Int)
        -> (loss: Double, dLogits: [F], predictions: [Int]) {
        let rows = labels.count
        precondition(logits.count == rows * classes, "logits must be [M, C]")
        var dLogits = [F](repeating: 0, count: logits.count)
        var predictions = [Int](repeating: 0, count: rows)
        var total = 0.0
        let scale = 1 / F(rows)
        for i in 0..<rows {
            let row = i * classes
            var best = 0, largest = logits[row]
            for c in 1..<max(classes, 1) where logits[row + c] > largest { largest = logits[row + c]; best = c }
            predictions[i] = best
            var sum: F = 0
            for c in 0..<classes {
                let e = F.exp(logits[row + c] - largest)
                dLogits[row + c] = e
                sum += e
            }
            total += Double(F.log(sum) + largest - logits[row + labels[i]])
            for c in 0..<classes { dLogits[row + c] = dLogits[row + c] / sum * scale }
            dLogits[row + labels[i]] -= scale
        }
        return (total / Double(rows), dLogits, predictions)
    }
}
