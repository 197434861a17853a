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
