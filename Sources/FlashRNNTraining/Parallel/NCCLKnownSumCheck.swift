import FlashRNN
import RealModule

/// All-reduces buffers with a known sum through a ``GradientAllReduce`` and compares exactly:
/// the check of the NCCL path that needs no model (`flashrnn nccl-check`).
///
/// Rank r, bucket k, element i holds (r + 1)·(i mod 7 + 1) + k/2, so the sum over R ranks is
/// R(R+1)/2·(i mod 7 + 1) + R·k/2: small integers and halves, exact in float32 and float64
/// whatever order the ranks are added in.
public enum NCCLKnownSumCheck {
    /// Odd sizes, one bucket of a single element, one large enough for several NCCL chunks.
    public static let bucketSizes = [5, 1, 1000, 3, 300_001]

    public static func buckets<F: CellScalar>(ranks: Int, as _: F.Type = F.self) -> [[[F]]] {
        (0..<ranks).map { r in
            bucketSizes.enumerated().map { k, size in
                (0..<size).map { i in F((r + 1) * (i % 7 + 1)) + F(k) / 2 }
            }
        }
    }

    public static func expected<F: CellScalar>(ranks: Int, as _: F.Type = F.self) -> [[F]] {
        bucketSizes.enumerated().map { k, size in
            (0..<size).map { i in F(ranks * (ranks + 1) / 2 * (i % 7 + 1)) + F(ranks) * F(k) / 2 }
        }
    }

    /// Sums the known buffers in `F` through `allReduce`; nil if every rank got the exact sum,
    /// else the first wrong element.
    public static func mismatch<F: CellScalar>(_ allReduce: any GradientAllReduce, as _: F.Type) throws -> String? {
        let ranks = allReduce.replicas
        var data: [[[F]]] = buckets(ranks: ranks)
        try allReduce.allReduceSum(&data)
        let want: [[F]] = expected(ranks: ranks)
        for r in 0..<ranks {
            for (k, bucket) in want.enumerated() {
                if let i = bucket.indices.first(where: { data[r][k][$0] != bucket[$0] }) {
                    return "rank \(r) bucket \(k) element \(i): got \(data[r][k][i]), expected \(bucket[i])"
                }
            }
        }
        return nil
    }

    /// The check over the first `gpus` devices through NCCL, in place and into a NaN-filled second
    /// region; one line per element type and placement, throws on a mismatch.
    public static func run(gpus: Int) throws -> [String] {
        let allReduce = try MultiGPURequest.allReduce(gpus: gpus)
        let communicator = allReduce.communicator
        var lines = ["nccl \(try communicator.nccl.version()) (\(communicator.nccl.path)), \(gpus) rank(s), "
                     + "buckets of \(bucketSizes) elements"]
        defer { communicator.inPlace = true }
        for inPlace in [false, true] {
            communicator.inPlace = inPlace
            let placement = inPlace ? "in place" : "out of place, into NaN"
            for (name, result) in [("float32", try mismatch(allReduce, as: Float.self)),
                                   ("float64", try mismatch(allReduce, as: Double.self))] {
                if let result { throw TrainingError.invalidConfig("nccl-check \(name) \(placement): \(result)") }
                lines.append("\(name) \(placement): every rank holds the exact sum")
            }
        }
        return lines
    }
}
