import Dispatch

/// How the float32 path splits one problem over threads, and R packed for its products.
///
/// Each head is either run whole by one thread (when there are at least as many heads as
/// threads: no synchronisation at all) or by a team of threads that split its D outputs in
/// chunks of 8 (one SIMD8 each): a member owns the same chunks for all T steps, so it owns
/// those columns of R (they stay in its caches) and its part of every state. Members meet at
/// one barrier per step, where the new h (forward) or dG (backward) becomes visible to all.
struct Float32Plan: Sendable {
    let heads: Int, headDim: Int
    /// Chunks of 8 along D (the last one may be partial).
    let chunks: Int
    /// Threads on one head.
    let teamSize: Int
    /// Heads run concurrently, each by one thread.
    let headsInParallel: Bool
    let workers: Int

    init(shape: ProblemShape, workers: Int, minimumStepWork: Int? = nil) {
        heads = shape.heads
        headDim = shape.headDim
        chunks = (shape.headDim + 7) / 8
        self.workers = workers
        let gates = shape.cell.gatesR
        // A step of less recurrent work than this is not worth a barrier per step (measured:
        // see docs/performance-cpu.md).
        let stepWork = shape.batch * gates * shape.headDim * shape.headDim
        if workers > 1 && shape.heads >= workers {
            teamSize = 1; headsInParallel = true
        } else if workers > 1 && stepWork >= (minimumStepWork ?? Float32Plan.minimumStepWorkForTeam) {
            teamSize = min(workers, chunks); headsInParallel = false
        } else {
            teamSize = 1; headsInParallel = false
        }
    }

    static let minimumStepWorkForTeam = 1 << 18

    /// The chunks member `member` of a team owns.
    func chunkRange(member: Int) -> Range<Int> {
        (chunks * member / teamSize)..<(chunks * (member + 1) / teamSize)
    }

    /// Runs `body(head, member)` for every head and team member, with the concurrency the plan
    /// says; `barrier` is shared by the members working on the same head.
    @available(macOS 15.0, *)
    func run(_ body: @escaping @Sendable (_ head: Int, _ member: Int, _ barrier: StepBarrier) -> Void) {
        if headsInParallel {
            let workers = min(heads, self.workers)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var n = w
                while n < heads { body(n, 0, StepBarrier(parties: 1)); n += workers }
            }
            return
        }
        for n in 0..<heads {
            let barrier = StepBarrier(parties: teamSize)
            if !runTeam(teamSize, { member in body(n, member, barrier) }) {
                // No threads to be had: one member runs every chunk.
                let single = Float32Plan(copying: self, teamSize: 1)
                single.run(body)
                return
            }
        }
    }

    private init(copying other: Float32Plan, teamSize: Int) {
        heads = other.heads; headDim = other.headDim; chunks = other.chunks; workers = 1
        self.teamSize = teamSize; headsInParallel = false
    }
}

/// R of every head packed into panels of 8 columns, `[head][panel][K][8]`, zero past D, each
/// team member's panels in pairs from its first panel (a pair interleaved: `[K][2][8]`).
///
/// Forward (`R·h`): K = D_in, and the panels of chunk c are its G_R gates in order, so a
/// member's columns are contiguous and a chunk's gates come out next to each other.
/// Backward (`Rᵀ·dG`): K = G_R·D_out (gate-major), one panel per chunk of D_in.
struct PackedRecurrent {
    var values: [Float]
    let panelsPerHead: Int, k: Int

    /// Offset of panel `panel` (of `panelsPerHead`), row `p`, in a head's packed block, for a
    /// member whose panels are `first..<first+count`.
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
                for n in 0..<N { for member in 0..<plan.teamSize {
                    let owned = plan.chunkRange(member: member)
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
        let chunks = plan.chunks, k = GR * D
        var values = [Float](repeating: 0, count: N * chunks * k * 8)
        values.withUnsafeMutableBufferPointer { out in
            r.withUnsafeBufferPointer { r in
                for n in 0..<N { for member in 0..<plan.teamSize {
                    let owned = plan.chunkRange(member: member)
                    let head = out.baseAddress! + n * chunks * k * 8
                    for c in owned {
                        for g in 0..<GR { for dOut in 0..<D {
                            let row = r.baseAddress! + ((g * N + n) * D + dOut) * D + c * 8
                            let at = offset(panel: c, p: g * D + dOut, first: owned.lowerBound, count: owned.count, k: k)
                            for lane in 0..<min(8, D - c * 8) { head[at + lane] = row[lane] }
                        } }
                    }
                } }
            }
        }
        return PackedRecurrent(values: values, panelsPerHead: chunks, k: k)
    }
}
