import Dispatch
import FlashRNN

/// GPU timing for `flashrnn bench`: CUDA events on the runtime's stream around the call
/// (falls back to the wall clock when CUDA is unavailable).
///
/// It has the shape of the bench's `BenchTimer` seam (`milliseconds(_:) rethrows -> Double`);
/// the bench uses it when the backend is a GPU one: `extension DeviceTimer: BenchTimer {}` and
/// `let timer: any BenchTimer = backend.choice == .cpu ? WallClockTimer() : DeviceTimer()`.
/// GPU backends return device tensors when given device tensors, so the bench should move its
/// inputs once with `tensor.onDevice(dtype)` to keep host copies out of the timing.
struct DeviceTimer {
    func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        guard let runtime = try? CUDARuntime.get(), let events = try? CUDAEventPair(runtime),
              (try? events.recordStart()) != nil else {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        try body()
        return (try? events.stopAndElapsed()) ?? .nan
    }
}
