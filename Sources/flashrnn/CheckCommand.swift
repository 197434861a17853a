import ArgumentParser
import Foundation
import FlashRNN

/// `flashrnn check`: the GPU correctness matrix against the float64 CPU reference (spec 6).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every available GPU backend × cell × dtype × forward/backward against the float64 CPU reference.")

    @Option(help: "Only this backend (cuda-alternating, cuda-fused).") var backend: BackendArgument?
    @Option(help: "Only this cell.") var cell: CellKind?
    @Option(help: "Only this storage type (float32, float16, bfloat16).") var dtype: DType?
    @Flag(help: "The small shapes only (no upstream benchmark shapes).") var quick = false
    @Option(help: "Only shapes whose head dimension D is at least this (e.g. 129: the cluster and grid sweeps).") var minHeadDim = 0
    @Option(help: "Only shapes whose head dimension D is at most this (e.g. 128 with --min-head-dim 64: the small clusters).") var maxHeadDim = Int.max
    @Option(help: "Seed of the random inputs (default: from the clock, so every run draws fresh inputs).") var seed: UInt64?

    func run() throws {
        var backends: [BackendChoice] = []
        for (choice, reason) in BackendRegistry.availability() where choice != .cpu {
            if let wanted = backend?.choice, wanted != choice { continue }
            if let reason {
                print("skipping \(choice): unavailable: \(reason)")
                continue
            }
            backends.append(choice)
        }
        guard !backends.isEmpty else {
            printError("error: no GPU backend is available to check")
            throw ExitCode(1)
        }
        CUDABuffer.poisonNewBuffers = true
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        print("check: seed \(seed); pass = no NaN/Inf, error ≤ 2 × rounded-input error and ≤ cap (fp32 1e-5, fp16 1e-2, bf16 3e-2)")
        var passed = 0, failed = 0, unsupported = 0, failedAsRounded = 0
        var caseIndex: UInt64 = 0
        let cells = cell.map { [$0] } ?? CellKind.allCases
        let dtypes = dtype.map { [$0] } ?? [.float32, .float16, .bfloat16]
        for cell in cells {
            // One input set and one float64 reference per shape, shared by the backends and dtypes.
            for template in CorrectnessCheck.shapes(cell: cell, dtype: .float32, backend: .cpu, quick: quick)
            where template.headDim >= minHeadDim && template.headDim <= maxHeadDim {
                caseIndex += 1
                let inputs = CorrectnessCheck.Inputs(cell: cell, batch: template.batch, length: template.length,
                                                     heads: template.heads, headDim: template.headDim,
                                                     initialStates: template.initialStates,
                                                     layout: template.options.inputLayout, seed: seed &+ caseIndex &* 7919)
                let reference = try CorrectnessCheck.outputs(inputs, cell: cell, options: template.options,
                                                             dtype: .float64, backend: .cpu)
                for backend in backends {
                    for dtype in dtypes {
                        var c = template
                        c.backend = backend; c.dtype = dtype
                        // A shape or dtype the backend declines (with its reason) is listed, not run;
                        // the automatic backend sends such problems elsewhere.
                        if let reason = try Self.unsupportedReason(c, inputs: inputs) {
                            unsupported += 1
                            print("UNSUPPORTED \(c) [\(c.note)]: \(reason)")
                            continue
                        }
                        do {
                            let judgements = try CorrectnessCheck.run(c, inputs: inputs, reference: reference)
                            for (direction, names) in [("forward", ["states", "last"]), ("backward", ["dWx", "dR", "db", "dInitial"])] {
                                let part = judgements.filter { names.contains($0.name) }
                                let ok = part.allSatisfy(\.passed)
                                if ok { passed += 1 } else { failed += 1 }
                                if !ok && part.filter({ !$0.passed }).allSatisfy(\.failsOnlyWithTheRoundedRun) { failedAsRounded += 1 }
                                let detail = part.map { j in
                                    String(format: "%@ %.2e (ref %.2e)", j.name, j.error, j.roundedError)
                                        + (j.nonFinite > 0 ? " \(j.nonFinite) non-finite" : "")
                                        + (j.failure.map { " [\($0)]" } ?? "")
                                }.joined(separator: ", ")
                                print("\(ok ? "PASS" : "FAIL") \(c) \(direction) [\(c.note)]: \(detail)")
                            }
                        } catch {
                            failed += 2
                            print("FAIL \(c) forward+backward [\(c.note)]: error: \(error)")
                        }
                    }
                }
            }
        }
        print("\(passed) passed, \(failed) failed, \(unsupported) cases unsupported by the backend (listed above)")
        if failedAsRounded > 0 {
            print("of the failed: \(failedAsRounded) within 2× of the CPU run on rounded inputs, which itself misses the dtype's cap")
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// Why the backend of `c` declines the case (dtype or shape), or nil when it runs it.
    static func unsupportedReason(_ c: CheckCase, inputs: CorrectnessCheck.Inputs) throws -> String? {
        let problem = try RecurrentProblem(cell: c.cell, wx: inputs.wx, r: inputs.r, b: inputs.b,
                                           initialStates: inputs.s0, options: c.options)
        let backend = try BackendRegistry.resolve(c.backend, for: problem, dtype: c.dtype)
        if !backend.supportedDTypes.contains(c.dtype) { return "\(backend.name) does not compute in \(c.dtype)" }
        return backend.limitation(for: problem, dtype: c.dtype)
    }
}
