import Foundation

/// Host-side timing of the one-off work behind a first call (module compile or cache load,
/// graph capture and instantiation, the cuBLAS handle), printed to stderr when
/// `FLASHRNN_TRACE=1`. Off by default: the check is one cached environment read.
public enum HostTrace {
    public static let enabled = ProcessInfo.processInfo.environment["FLASHRNN_TRACE"] == "1"

    /// Runs `body`; with tracing on, prints `what` and the milliseconds it took.
    @discardableResult
    public static func measure<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        FileHandle.standardError.write(Data(String(format: "[flashrnn trace] %8.2f ms  %@\n", ms, what()).utf8))
        return result
    }
}

extension CUDARuntime {
    /// Runs `body`, which enqueues work on the runtime's stream; with `FLASHRNN_TRACE=1`, also
    /// waits for that work and prints its stream time (CUDA events), so a backward call shows
    /// where its time goes. Tracing serialises the phases: use it to read a breakdown, not to
    /// time the whole call.
    public func traceSpan(_ what: @autoclosure () -> String, _ body: () throws -> Void) throws {
        guard HostTrace.enabled else { return try body() }
        let ms = try CUDAEventPair(self).milliseconds(body)
        FileHandle.standardError.write(Data(String(format: "[flashrnn trace] %8.3f ms  %@ (stream time)\n", ms, what()).utf8))
    }
}
