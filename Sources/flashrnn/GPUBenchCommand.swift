import ArgumentParser
import Dispatch
import Foundation
import FlashRNN

/// `flashrnn gpu-bench`: times a GPU backend on device-resident tensors with CUDA events
/// (median of many runs after a warm-up), forward and forward+backward, on upstream's sweeps.
struct GPUBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-bench",
        abstract: "Time a GPU backend with CUDA events on device tensors (forward, forward+backward).")

    enum Preset: String, ExpressibleByArgument { case headDim = "head-dim", batch, length }

    @Option(help: "cuda-alternating or cuda-fused.") var backend: BackendArgument = .cudaAlternating
    @Option(help: "Cell.") var cell: CellKind = .lstm
    @Option(help: "Storage type.") var dtype: DType = .bfloat16
    @Option(help: "head-dim (B=16, T=1024, N·D=768), batch (B 2…256), length (T 256…2048).") var preset: Preset = .headDim
    @Option(help: "Explicit shapes B,T,N,D separated by ';' (overrides --preset).") var shapes: String?
    @Option(help: "Warm-up runs.") var warmup = 3
    @Option(help: "Timed runs (median reported).") var reps = 20
    @Option(help: "Write the results as JSON here.") var json: String?
    @Flag(help: "Only time the first forward and forward+backward of each shape (compile, load, graph capture).") var firstCall = false
    @Flag(help: "Only time the first forward+backward of each shape, with no forward before it (a training loop's first step: compile, load, graph capture).")
    var firstTrainingCall = false

    struct Record: Codable {
        var backend: String, cell: String, dtype: String
        var B: Int, T: Int, N: Int, D: Int
        var forwardMs: Double?, forwardBackwardMs: Double?
        var firstForwardMs: Double?, firstForwardBackwardMs: Double?
        var runtimeInitMs: Double?
    }

    func validate() throws {
        _ = try presetShapes()
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard reps >= 1 else { throw ValidationError("--reps must be ≥ 1, got \(reps)") }
    }

    /// Timing inputs drawn as the check draws them (N(0, 1) · scale), in float32 and in parallel
    /// chunks: the check's serial float64 draw took over a minute at B = 256, T = 1024, N·D = 768.
    static func normal(_ shape: [Int], scale: Float = 1, seed: UInt64) -> Tensor {
        let count = shape.reduce(1, *), chunk = 1 << 20
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { buffer in
            // Each chunk writes its own range.
            nonisolated(unsafe) let base = buffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { c in
                var rng = SplitMix(seed &* 0x1_0000_0000 &+ UInt64(c))
                for i in c * chunk..<min(count, (c + 1) * chunk) { base[i] = Float(rng.normal()) * scale }
            }
        }
        return Tensor(shape: shape, floats: values)
    }

    func presetShapes() throws -> [(Int, Int, Int, Int)] {
        if let shapes {
            return try shapes.split(separator: ";").map { part in
                let v = part.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard v.count == 4, let B = v[0], let T = v[1], let N = v[2], let D = v[3], B > 0, T > 0, N > 0, D > 0 else {
                    throw ValidationError("--shapes takes B,T,N,D (positive integers) separated by ';', got \"\(part)\"")
                }
                return (B, T, N, D)
            }
        }
        switch preset {
        case .headDim: return [(16, 48), (32, 24), (64, 12), (128, 6), (256, 3), (768, 1)].map { (16, 1024, $0.1, $0.0) }
        case .batch: return [2, 4, 8, 16, 32, 64, 128, 256].map { ($0, 1024, 12, 64) }
        case .length: return [256, 512, 1024, 2048].map { (16, $0, 12, 64) }
        }
    }

    func run() throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let runtime: CUDARuntime
        do { runtime = try CUDARuntime.get() } catch {
            printError("error: CUDA unavailable: \(error)")
            throw ExitCode(1)
        }
        let initMs = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        print("device: \(runtime.properties)")
        let events = try CUDAEventPair(runtime)
        var records: [Record] = []
        print("backend          cell  dtype     B     T    N    D   forward ms   fw+bw ms")
        for (B, T, N, D) in try presetShapes() {
            let shape = ProblemShape(cell: cell, batch: B, length: T, heads: N, headDim: D)
            let wx = try Self.normal(shape.wxShape(.btgnd), seed: 1).onDevice(dtype)
            let r = try Self.normal(shape.rShape, scale: 1 / Float(D).squareRoot(), seed: 2).onDevice(dtype)
            let b = try Self.normal(shape.bShape, seed: 3).onDevice(dtype)
            let dS = try Self.normal(shape.statesShape, seed: 4).onDevice(dtype)
            try runtime.synchronize()
            func forward(_ gradient: Bool) throws -> ForwardResult {
                try RNN.forward(cell: cell, wx: wx, r: r, b: b, dtype: dtype, backend: backend.choice, requiresGradient: gradient)
            }
            func forwardBackward() throws {
                let result = try forward(true)
                _ = try RNN.backward(result.context!, dStates: dS, dLast: nil)
            }
            // How many modules this process has compiled so far (neither in memory nor on disk):
            // tells a cold first call from one the disk cache answered.
            func compiledModules() -> String {
                guard let compiler = try? runtime.compiler() else { return "" }
                return " (\(compiler.compilations) modules compiled so far)"
            }
            var record = Record(backend: backend.choice.rawValue, cell: cell.rawValue, dtype: dtype.rawValue, B: B, T: T, N: N, D: D)
            if firstTrainingCall {
                let s = DispatchTime.now().uptimeNanoseconds
                try forwardBackward()
                try runtime.synchronize()   // device outputs are stream-ordered: wait for them
                record.runtimeInitMs = initMs
                record.firstForwardBackwardMs = Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6
                print(String(format: "first training call %@ %@ B=%d T=%d N=%d D=%d: runtime init %.1f ms, forward+backward %.1f ms%@",
                             cell.rawValue, dtype.rawValue, B, T, N, D, initMs, record.firstForwardBackwardMs!, compiledModules()))
            } else if firstCall {
                func wall(_ body: () throws -> Void) throws -> Double {
                    let s = DispatchTime.now().uptimeNanoseconds
                    try body()
                    try runtime.synchronize()   // device outputs are stream-ordered: wait for them
                    return Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6
                }
                record.runtimeInitMs = initMs
                record.firstForwardMs = try wall { _ = try forward(false) }
                let forwardModules = compiledModules()
                record.firstForwardBackwardMs = try wall { try forwardBackward() }
                print(String(format: "first call %@ %@ B=%d T=%d N=%d D=%d: runtime init %.1f ms, forward %.1f ms%@, forward+backward %.1f ms%@",
                             cell.rawValue, dtype.rawValue, B, T, N, D, initMs, record.firstForwardMs!, forwardModules,
                             record.firstForwardBackwardMs!, compiledModules()))
            } else {
                for _ in 0..<warmup { _ = try forward(false); try forwardBackward() }
                var fw: [Double] = [], fwbw: [Double] = []
                for _ in 0..<reps { fw.append(try events.milliseconds { _ = try forward(false) }) }
                for _ in 0..<reps { fwbw.append(try events.milliseconds { try forwardBackward() }) }
                record.forwardMs = median(fw); record.forwardBackwardMs = median(fwbw)
                print(String(format: "%-16@ %-5@ %-8@ %4d %5d %4d %4d %11.3f %10.3f", backend.choice.rawValue, cell.rawValue,
                             dtype.rawValue, B, T, N, D, record.forwardMs!, record.forwardBackwardMs!))
            }
            records.append(record)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(records).write(to: URL(fileURLWithPath: json))
        }
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}
