import Foundation
import ArgumentParser
import FlashRNN

/// Measures how long one piece of work takes, in milliseconds.
///
/// The seam for device timing: the wall clock is right for the CPU backend (its calls return
/// when the work is done); a GPU backend can supply a timer that records CUDA events around
/// `body` and synchronises before reading them.
protocol BenchTimer {
    func milliseconds(_ body: () throws -> Void) rethrows -> Double
}

/// Host wall-clock time around a synchronous call.
struct WallClockTimer: BenchTimer {
    func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
}

/// One benchmark shape.
struct BenchShape: Codable, CustomStringConvertible {
    var batch: Int, length: Int, heads: Int, headDim: Int
    var description: String { "B=\(batch) T=\(length) N=\(heads) D=\(headDim)" }
}

/// One row of the result table and of the JSON file.
struct BenchRecord: Codable {
    var cell: String, dtype: String, backend: String, threads: Int?
    var batch: Int, length: Int, heads: Int, headDim: Int
    var forwardMedianMs: Double, forwardMinMs: Double
    var forwardBackwardMedianMs: Double?, forwardBackwardMinMs: Double?
    /// Work of the recurrent matrix products: forward `2·B·T·N·G_R·D²`, backward twice that.
    var forwardGFlop: Double, forwardBackwardGFlop: Double
    var forwardGFlopPerSecond: Double, forwardBackwardGFlopPerSecond: Double?
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time forward and forward+backward on a backend and print a table (and JSON).",
        discussion: """
        Times are the median and minimum of --repeats runs after --warmup untimed runs. \
        Inputs are random (Wx and b of unit scale, R scaled by 1/sqrt(D)); the input projection \
        is not part of the work, as upstream's benchmarks. GFLOP/s counts the recurrent matrix \
        products only (forward 2·B·T·N·G_R·D², backward twice that).
        """)

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case cpu, cudaAlternating = "cuda-alternating", cudaFused = "cuda-fused", auto
        var choice: BackendChoice {
            switch self {
            case .cpu: .cpu
            case .cudaAlternating: .cudaAlternating
            case .cudaFused: .cudaFused
            case .auto: .automatic
            }
        }
    }

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case cpu, upstreamHead = "upstream-head", upstreamBatch = "upstream-batch", upstreamLength = "upstream-length"

        var shapes: [BenchShape] {
            switch self {
            case .cpu:
                [BenchShape(batch: 16, length: 256, heads: 1, headDim: 256),
                 BenchShape(batch: 16, length: 1024, heads: 1, headDim: 64),
                 BenchShape(batch: 16, length: 1024, heads: 1, headDim: 768)]
            case .upstreamHead:
                [16, 32, 64, 128, 256, 768].map { BenchShape(batch: 16, length: 1024, heads: 768 / $0, headDim: $0) }
            case .upstreamBatch:
                [2, 4, 8, 16, 32, 64, 128, 256].map { BenchShape(batch: $0, length: 1024, heads: 1, headDim: 768) }
            case .upstreamLength:
                [256, 512, 1024, 2048].map { BenchShape(batch: 16, length: $0, heads: 1, headDim: 768) }
            }
        }
    }

    @Option(help: "cpu | cuda-alternating | cuda-fused | auto")
    var backend: Backend = .cpu
    @Option(help: "lstm | slstm | gru | elman")
    var cell: String = "lstm"
    @Option(help: "float64 | float32 | float16 | bfloat16")
    var dtype: String = "float32"
    @Option(name: [.customShort("b"), .long], help: "Batch sizes B, comma-separated.")
    var batch: String = "16"
    @Option(name: [.customShort("t"), .long], help: "Sequence lengths T, comma-separated.")
    var length: String = "1024"
    @Option(name: [.customShort("n"), .long], help: "Head counts N, comma-separated.")
    var heads: String = "1"
    @Option(name: [.customShort("d"), .customLong("head-dim")], help: "Head sizes D, comma-separated.")
    var headDim: String = "64"
    @Option(help: "cpu | upstream-head | upstream-batch | upstream-length (replaces -b -t -n -d)")
    var preset: Preset?
    @Option(help: "Untimed runs before timing.")
    var warmup: Int = 1
    @Option(help: "Timed runs; the table shows their median and minimum.")
    var repeats: Int = 5
    @Option(help: "Write the results as JSON to this file.")
    var json: String?
    @Option(help: "Worker threads for the CPU backend (default: all processors).")
    var threads: Int?
    @Flag(help: "Time forward only.")
    var forwardOnly = false

    func validate() throws {
        guard CellKind(rawValue: cell) != nil else { throw ValidationError("--cell must be lstm, slstm, gru or elman, got \(cell)") }
        guard DType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be float64, float32, float16 or bfloat16, got \(dtype)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be ≥ 1, got \(repeats)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        _ = try shapes()
    }

    func shapes() throws -> [BenchShape] {
        if let preset { return preset.shapes }
        func list(_ text: String, _ name: String) throws -> [Int] {
            let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                throw ValidationError("\(name) must be a comma-separated list of positive integers, got \(text)")
            }
            return values.map { $0! }
        }
        let bs = try list(batch, "--batch"), ts = try list(length, "--length")
        let ns = try list(heads, "--heads"), ds = try list(headDim, "--head-dim")
        return bs.flatMap { b in ts.flatMap { t in ns.flatMap { n in ds.map { d in
            BenchShape(batch: b, length: t, heads: n, headDim: d) } } } }
    }

    func run() throws {
        if let threads { setenv("FLASHRNN_CPU_THREADS", String(threads), 1) }
        let cell = CellKind(rawValue: cell)!, dtype = DType(rawValue: dtype)!
        let timer: any BenchTimer = WallClockTimer()
        var records: [BenchRecord] = []
        let shapes = try shapes()
        print(BenchCommand.header)
        for (index, shape) in shapes.enumerated() {
            progress("[\(index + 1)/\(shapes.count)] \(cell) \(dtype) \(shape): preparing inputs")
            let inputs = BenchInputs(cell: cell, shape: shape, dtype: dtype)
            let record = try measure(inputs, cell: cell, dtype: dtype, shape: shape, timer: timer,
                                     label: "[\(index + 1)/\(shapes.count)]")
            records.append(record)
            print(BenchCommand.row(record))
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(records).write(to: URL(fileURLWithPath: json))
            progress("wrote \(json)")
        }
    }

    func measure(_ inputs: BenchInputs, cell: CellKind, dtype: DType, shape: BenchShape,
                 timer: any BenchTimer, label: String) throws -> BenchRecord {
        let choice = backend.choice
        func forward(_ gradient: Bool) throws -> ForwardResult {
            try RNN.forward(cell: cell, wx: inputs.wx, r: inputs.r, b: inputs.b, initialStates: inputs.states,
                            dtype: dtype, backend: choice, requiresGradient: gradient)
        }
        func forwardBackward() throws {
            let result = try forward(true)
            _ = try RNN.backward(result.context!, dStates: inputs.dStates, dLast: nil)
        }
        var fw: [Double] = [], fwbw: [Double] = []
        for i in 0..<warmup {
            progress("\(label) warm-up \(i + 1)/\(warmup)")
            try _ = forward(false)
            if !forwardOnly { try forwardBackward() }
        }
        for i in 0..<repeats {
            fw.append(try timer.milliseconds { _ = try forward(false) })
            if !forwardOnly { fwbw.append(try timer.milliseconds { try forwardBackward() }) }
            progress("\(label) run \(i + 1)/\(repeats): forward \(format(fw.last!)) ms"
                     + (fwbw.last.map { ", forward+backward \(format($0)) ms" } ?? ""))
        }
        let flop = 2.0 * Double(shape.batch * shape.length * shape.heads * cell.gatesR) * Double(shape.headDim * shape.headDim)
        let fwMedian = median(fw), fwbwMedian = fwbw.isEmpty ? nil : median(fwbw)
        return BenchRecord(
            cell: cell.rawValue, dtype: dtype.rawValue, backend: backend.rawValue,
            threads: threads, batch: shape.batch, length: shape.length, heads: shape.heads, headDim: shape.headDim,
            forwardMedianMs: fwMedian, forwardMinMs: fw.min()!,
            forwardBackwardMedianMs: fwbwMedian, forwardBackwardMinMs: fwbw.min(),
            forwardGFlop: flop / 1e9, forwardBackwardGFlop: 3 * flop / 1e9,
            forwardGFlopPerSecond: flop / 1e6 / fwMedian,
            forwardBackwardGFlopPerSecond: fwbwMedian.map { 3 * flop / 1e6 / $0 })
    }

    static let header = [pad("cell", 6), pad("dtype", 8), pad("B", 5), pad("T", 6), pad("N", 4), pad("D", 5),
                         pad("fw ms (min)", 20), pad("fw+bw ms (min)", 22), pad("fw GFLOP/s", 11), "fw+bw GFLOP/s"]
        .joined(separator: " ")

    static func row(_ r: BenchRecord) -> String {
        let fwbw = r.forwardBackwardMedianMs.map { "\(format($0)) (\(format(r.forwardBackwardMinMs!)))" } ?? "-"
        return [pad(r.cell, 6), pad(r.dtype, 8), pad("\(r.batch)", 5), pad("\(r.length)", 6), pad("\(r.heads)", 4),
                pad("\(r.headDim)", 5), pad("\(format(r.forwardMedianMs)) (\(format(r.forwardMinMs)))", 20),
                pad(fwbw, 22), pad(format(r.forwardGFlopPerSecond), 11),
                r.forwardBackwardGFlopPerSecond.map { format($0) } ?? "-"].joined(separator: " ")
    }
}

/// Random inputs of one benchmark shape, stored in the benchmark's dtype.
struct BenchInputs {
    let wx: Tensor, r: Tensor, b: Tensor, states: Tensor, dStates: Tensor

    init(cell: CellKind, shape: BenchShape, dtype: DType) {
        let (B, T, N, D) = (shape.batch, shape.length, shape.heads, shape.headDim)
        var rng = SplitMix(0x5eed)   // the same draws every run
        // Uniform with unit variance: the scale of upstream's normal inputs, cheap to draw.
        func draw(_ count: Int, scale: Double) -> [Float] {
            let a = 3.0.squareRoot() * scale
            return (0..<count).map { _ in Float((rng.uniform() * 2 - 1) * a) }
        }
        func tensor(_ shape: [Int], scale: Double) -> Tensor {
            let values = draw(shape.reduce(1, *), scale: scale)
            return Tensor(shape: shape, floats: values).convertedOrSelf(to: dtype)
        }
        wx = tensor([B, T, cell.gatesW, N, D], scale: 1)
        r = tensor([cell.gatesR, N, D, D], scale: 1 / Double(D).squareRoot())
        b = tensor([cell.gatesT, N, D], scale: 1)
        // Non-negative so that sLSTM's normaliser state n starts valid.
        states = Tensor(shape: [cell.states, B, N, D], floats: draw(cell.states * B * N * D, scale: 0.5).map { abs($0) })
            .convertedOrSelf(to: dtype)
        dStates = tensor([cell.states, B, T, N, D], scale: 1)
    }
}

private extension Tensor {
    /// float32 benchmark inputs in another dtype; a dtype no conversion exists for stays float32
    /// and the backend reports it.
    func convertedOrSelf(to dtype: DType) -> Tensor {
        dtype == .float32 ? self : ((try? converted(to: dtype)) ?? self)
    }
}

private func median(_ values: [Double]) -> Double {
    let s = values.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

private func format(_ value: Double) -> String {
    value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

private func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
