import Dispatch

/// How the float32 path splits one problem over threads.
///
/// Time steps are *phases* (backward: two per step, the cell and then `dG·R`); a phase is
/// split into *units* of (head, group of chunks of 8 along D). A unit of the forward is the
/// product `R·h` for its chunks' gate columns followed by the cell on those chunks, so it
/// needs nothing from other units of its phase. When a step has enough work, all threads
/// share every phase (``PhaseSchedule``); otherwise, with at least as many heads as threads,
/// each head runs whole on one thread (no synchronisation at all), else one thread runs all.
struct Float32Plan: Sendable {
    let heads: Int, headDim: Int
    /// Chunks of 8 along D (the last one may be partial).
    let chunks: Int
    /// Chunks per unit.
    let groupChunks: Int
    /// Threads sharing each phase; 1 when heads run in parallel or the work is small.
    let teamSize: Int
    /// Heads run concurrently, each by one thread.
    let headsInParallel: Bool
    let workers: Int

    init(shape: ProblemShape, workers: Int, minimumStepWork: Int? = nil) {
        heads = shape.heads
        headDim = shape.headDim
        chunks = (shape.headDim + 7) / 8
        self.workers = workers
        // A step of less recurrent work than this is not worth synchronising threads each
        // step (see docs/performance-cpu.md).
        let stepWork = shape.batch * shape.cell.gatesR * shape.headDim * shape.headDim * shape.heads
        if workers > 1 && stepWork >= (minimumStepWork ?? Float32Plan.minimumStepWorkForTeam) {
            // About four units per thread and phase, small enough that a stalled thread
            // holds little, but at least 2^17 multiply-adds each so that claiming one and
            // waiting at the end of the phase stay small beside it. All heads share each
            // phase, so a step reads its rows of Wx and writes its states contiguously.
            teamSize = workers; headsInParallel = false
            let chunkWork = shape.batch * shape.cell.gatesR * shape.headDim * 8
            groupChunks = min(chunks, max(1, chunks * shape.heads / (4 * workers), ((1 << 17) + chunkWork - 1) / chunkWork))
        } else if workers > 1 && shape.heads >= workers {
            // Little work per step: each head whole on one thread, no synchronisation.
            teamSize = 1; headsInParallel = true; groupChunks = chunks
        } else {
            teamSize = 1; headsInParallel = false; groupChunks = chunks
        }
    }

    static let minimumStepWorkForTeam = 1 << 18

    var groups: Int { (chunks + groupChunks - 1) / groupChunks }

    /// The chunks of group `g`.
    func groupRange(_ g: Int) -> Range<Int> { (g * groupChunks)..<min(chunks, (g + 1) * groupChunks) }

    /// Runs `body(phase, head, group)` for every phase in order and every unit of it.
    @available(macOS 15.0, *)
    func run(phases: Int, _ body: @escaping @Sendable (_ phase: Int, _ head: Int, _ group: Int) -> Void) {
        let groups = self.groups, heads = self.heads
        if headsInParallel {
            let workers = min(heads, self.workers)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for n in stride(from: w, to: heads, by: workers) {
                    for phase in 0..<phases { for g in 0..<groups { body(phase, n, g) } }
                }
            }
            return
        }
        if teamSize > 1 {
            let schedule = PhaseSchedule(phases: phases, unitsPerPhase: heads * groups)
            if runTeam(teamSize, { _ in schedule.work { phase, u in body(phase, u / groups, u % groups) } }) {
                return
            }
            // No threads to be had: run the phases here.
        }
        for phase in 0..<phases { for n in 0..<heads { for g in 0..<groups { body(phase, n, g) } } }
    }
}

/// R of every head packed into panels of 8 columns, `[head][panel][K][8]`, zero past D, each
/// unit's panels in pairs from its first panel (a pair interleaved: `[K][2][8]`).
///
/// Forward (`R·h`): K = D_in, and the panels of chunk c are its G_R gates in order, so a
/// unit's columns are contiguous and a chunk's gates come out next to each other.
/// Backward (`Rᵀ·dG`): one packed matrix per gate, `[head][gate][panel][K][8]`, K = D_out, one
/// panel per chunk of D_in: each gate's part is a product of its own, so the parts can be summed
/// over gates in float64 as the GPU backwards do (CPUBackend+Float32Backward.swift).
struct PackedRecurrent {
    var values: [Float]
    let panelsPerHead: Int, k: Int

    /// Offset of panel `panel` (of `panelsPerHead`), row `p`, in a head's packed block, for a
    /// unit whose panels are `first..<first+count`.
    @inline(__always)
    static func offset(panel: Int, p: Int, first: Int, count: Int, k: Int) -> Int {
        let local = panel - first
        let lone = count % 2 == 1 && local == count - 1
        return lone ? panel * k * 8 + p * 8
                    : (first + local - local % 2) * k * 8 + p * 16 + (local % 2) * 8
    }

    static func forward(_ r: [Float], _ L: CPULayout, _ plan: Float32Plan) -> PackedRecurrent {
        let (N, D, GR) = (L.N, L.D, L.GR)
        let chunks = plan.chunks, panels = chunks * GR
        var values = [Float](repeating: 0, count: N * panels * D * 8)
        values.withUnsafeMutableBufferPointer { out in
            r.withUnsafeBufferPointer { r in
                for n in 0..<N { for group in 0..<plan.groups {
                    let owned = plan.groupRange(group)
                    let first = owned.lowerBound * GR, count = owned.count * GR
                    let head = out.baseAddress! + n * panels * D * 8
                    for c in owned { for g in 0..<GR {
                        let panel = c * GR + g
                        for lane in 0..<min(8, D - c * 8) {
                            let row = r.baseAddress! + ((g * N + n) * D + c * 8 + lane) * D
                            for p in 0..<D {
                                head[offset(panel: panel, p: p, first: first, count: count, k: D) + lane] = row[p]
                            }
                        }
                    } }
                } }
            }
        }
        return PackedRecurrent(values: values, panelsPerHead: panels, k: D)
    }

    static func backward(_ r: [Float], _ L: CPULayout, _ plan: Float32Plan) -> PackedRecurrent {
        let (N, D, GR) = (L.N, L.D, L.GR)
        let chunks = plan.chunks
        var values = [Float](repeating: 0, count: N * GR * chunks * D * 8)
        values.withUnsafeMutableBufferPointer { out in
            r.withUnsafeBufferPointer { r in
                for n in 0..<N { for g in 0..<GR { for group in 0..<plan.groups {
                    let owned = plan.groupRange(group)
                    let gate = out.baseAddress! + (n * GR + g) * chunks * D * 8
                    for c in owned {
                        for dOut in 0..<D {
                            let row = r.baseAddress! + ((g * N + n) * D + dOut) * D + c * 8
                            let at = offset(panel: c, p: dOut, first: owned.lowerBound, count: owned.count, k: D)
                            for lane in 0..<min(8, D - c * 8) { gate[at + lane] = row[lane] }
                        }
                    }
                } } }
            }
        }
        return PackedRecurrent(values: values, panelsPerHead: chunks, k: D)
    }
}
