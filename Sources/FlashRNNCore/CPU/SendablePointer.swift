/// A pointer handed to worker threads that write disjoint parts of one buffer.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}

extension Array {
    /// Runs `body` with a pointer other threads may write through (each to its own part).
    mutating func withSharedPointer<R>(_ body: (SharedPointer<Element>) throws -> R) rethrows -> R {
        try withUnsafeMutableBufferPointer { try body(SharedPointer($0.baseAddress!)) }
    }
}
