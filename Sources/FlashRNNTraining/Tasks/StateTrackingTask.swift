/// State-tracking tasks: read a string left to right and output, after every symbol, the
/// state so far. Labels are per step; the label at the last step is the answer for the whole
/// string, which is what the evaluation scores.
public enum StateTrackingTask: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Bits; the label is the parity of the bits read so far (vocabulary 2, classes 2).
    case parity
    /// Digits 0–4; the label is their sum modulo 5 so far (vocabulary 5, classes 5).
    case modularSum = "modular-sum"
    /// Digits 1–4; the label is their product modulo 5 so far. Digit 0 is left out because
    /// a single 0 would fix every later label (vocabulary 5, classes 5).
    case modularProduct = "modular-product"

    public var vocabulary: Int { self == .parity ? 2 : 5 }
    public var classes: Int { self == .parity ? 2 : 5 }
    public var description: String { rawValue }

    /// The per-step labels of one string.
    public func labels(_ tokens: [Int]) -> [Int] {
        var state = self == .modularProduct ? 1 : 0
        return tokens.map { token in
            switch self {
            case .parity: state ^= token
            case .modularSum: state = (state + token) % 5
            case .modularProduct: state = (state * token) % 5
            }
            return state
        }
    }

    /// A random string of `length` symbols.
    public func sample(length: Int, rng: inout SplitMix64) -> [Int] {
        (0..<length).map { _ in
            switch self {
            case .parity: Int(rng.next() & 1)
            case .modularSum: rng.int(in: 0...4)
            case .modularProduct: rng.int(in: 1...4)
            }
        }
    }

    /// `B` strings of one length: tokens and labels, both `[B, T]`.
    public func batch(size: Int, length: Int, rng: inout SplitMix64) -> (tokens: [Int], labels: [Int]) {
        var tokens: [Int] = [], labels: [Int] = []
        tokens.reserveCapacity(size * length); labels.reserveCapacity(size * length)
        for _ in 0..<size {
            let string = sample(length: length, rng: &rng)
            tokens += string
            labels += self.labels(string)
        }
        return (tokens, labels)
    }
}
