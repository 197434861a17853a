import Dispatch
import FlashRNN

/// GPU timing for `flashrnn bench`: CUDA events on the runtime's stream around the call.
///
/// It has the shape of the bench's `BenchTimer` seam (`milliseconds(_:) rethrows -> Double`);
/// the bench uses it when the backend is a GPU one: `extension DeviceTimer: BenchTimer {}` and
/// `let timer: any BenchTimer = backend.choice == .cpu ? WallClockTimer() : DeviceTimer()`.
/// GPU backends return device tensors when given device tensors, so the bench should move its
/// inputs once with `tensor.onDevice(dtype)` to keep host copies out of the timing.
struct DeviceTimer {
    func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        guard let runtime = try? CUDARuntime.get(), let events = try? CUDAEventPair(runtime) else {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        var failure: Error?
        var inner: Error?
        let ms = (try? events.milliseconds {
            do { try body() } catch { inner = error; throw error }
        }) ?? .nan
        if let inner { failure = inner }
        if failure != nil { try body() }  // rethrow the caller's error (body fails the same way again)
        return ms
    }
}
