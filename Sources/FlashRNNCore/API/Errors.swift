/// Every error the library reports to a caller.
public enum FlashRNNError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A tensor has the wrong shape: `R must be [G=4, N=2, D=4, D=4] for lstm, got [4, 2, 4, 3]`.
    case shape(tensor: String, expected: String, actual: [Int], context: String)
    /// A dimension is zero.
    case emptyDimension(tensor: String, letter: String, actual: [Int])
    /// An option value is out of its range.
    case invalidOption(String)
    /// The backend cannot compute in this storage type.
    case unsupportedDType(backend: String, dtype: DType, supported: [DType])
    /// The backend cannot run this problem (a size limit, a missing feature).
    case unsupportedProblem(backend: String, reason: String)
    /// The backend cannot run on this machine.
    case backendUnavailable(backend: String, reason: String)
    /// A tensor's storage type differs from the problem's.
    case dtypeMismatch(tensor: String, expected: DType, actual: DType)
    /// A backward context was used with the wrong backend, or twice where that is not allowed.
    case invalidContext(String)
    /// A file could not be read or written.
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case let .shape(tensor, expected, actual, context):
            "\(tensor) must be \(expected)\(context.isEmpty ? "" : " for \(context)"), got \(actual)"
        case let .emptyDimension(tensor, letter, actual):
            "\(tensor) has an empty dimension \(letter)=0 (shape \(actual)); every dimension must be at least 1"
        case let .invalidOption(message):
            message
        case let .unsupportedDType(backend, dtype, supported):
            "the \(backend) backend cannot compute in \(dtype); it supports \(supported.map(\.rawValue).joined(separator: ", "))"
        case let .unsupportedProblem(backend, reason):
            "the \(backend) backend cannot run this problem: \(reason)"
        case let .backendUnavailable(backend, reason):
            "the \(backend) backend is unavailable: \(reason)"
        case let .dtypeMismatch(tensor, expected, actual):
            "\(tensor) must be stored as \(expected) like the other inputs, got \(actual)"
        case let .invalidContext(message):
            message
        case let .file(path, reason):
            "\(path): \(reason)"
        }
    }
}

/// Renders an expected shape: `[G=4, N=2, D=4, D=4]`, or `[B, T, G=4, ...]` for free letters.
func shapeText(_ dims: [(String, Int?)]) -> String {
    "[" + dims.map { letter, value in value.map { "\(letter)=\($0)" } ?? letter }.joined(separator: ", ") + "]"
}
