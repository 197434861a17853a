/// Read-only inputs and shared outputs of one float32 pass, handed to the team's threads.
/// Each thread writes only the chunks of D it owns.
struct Float32Buffers: @unchecked Sendable {
    var wx: UnsafePointer<Float>, bias: UnsafePointer<Float>, s0: UnsafePointer<Float>
    var packedR: UnsafePointer<Float>
    var states: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?
}

@available(macOS 15.0, *)
extension CPUBackend {
    func forwardFloat32(_ problem: RecurrentProblem, saveForBackward: Bool) throws -> ForwardResult {
        switch problem.cell {
        case .lstm: try forwardFloat32(problem, LSTMCell.self, saveForBackward: saveForBackward)
        case .slstm: try forwardFloat32(problem, SLSTMCell.self, saveForBackward: saveForBackward)
        case .gru: try forwardFloat32(problem, GRUCell.self, saveForBackward: saveForBackward)
        case .elman: try forwardFloat32(problem, ElmanCell.self, saveForBackward: saveForBackward)
        }
    }

    /// The float64 path's recurrence in float32: per step one packed product `R·h` per team
    /// member (its chunks of D, all gates), then the cell on the same chunks.
    func forwardFloat32<C: RecurrentCell>(_ problem: RecurrentProblem, _: C.Type,
                                          saveForBackward: Bool) throws -> ForwardResult {
        let L = CPULayout(shape: problem.shape, inputLayout: problem.options.inputLayout)
        let (B, T, N, D, S, GT) = (L.B, L.T, L.N, L.D, L.S, L.GT)
        let wx = try problem.wx.floats(), r = try problem.r.floats(), bias = try problem.b.floats()
        let s0 = try problem.initialStates?.floats() ?? [Float](repeating: 0, count: S * B * N * D)
        let clip = problem.options.forwardClip.map { Float($0) }
        let plan = Float32Plan(shape: problem.shape, workers: workerCount, minimumStepWork: minimumStepWorkForTeam)
        let packed = PackedRecurrent.forward(r, L, plan)
        let kind = problem.cell, panelsPerHead = packed.panelsPerHead

        // Every element of both is written below.
        var states = [Float](unsafeUninitializedCapacity: S * B * T * N * D) { _, n in n = S * B * T * N * D }
        let preCount = saveForBackward ? B * T * GT * N * D : 0
        var pre = [Float](unsafeUninitializedCapacity: preCount) { _, n in n = preCount }

        wx.withUnsafeBufferPointer { wx in
        bias.withUnsafeBufferPointer { bias in
        s0.withUnsafeBufferPointer { s0 in
        packed.values.withUnsafeBufferPointer { packedR in
        states.withUnsafeMutableBufferPointer { states in
        pre.withUnsafeMutableBufferPointer { pre in
            let buffers = Float32Buffers(wx: wx.baseAddress!, bias: bias.baseAddress!, s0: s0.baseAddress!,
                                         packedR: packedR.baseAddress!, states: states.baseAddress!,
                                         pre: saveForBackward ? pre.baseAddress! : nil)
            plan.run { n, member, barrier in
                // The cell type travels as its kind: metatypes are not Sendable.
                let run = { (cell: any RecurrentCell.Type) in
                    func open<Cell: RecurrentCell>(_ cell: Cell.Type) {
                        forwardHead(cell, L, plan, buffers, head: n, member: member, barrier: barrier,
                                    panelsPerHead: panelsPerHead, clip: clip)
                    }
                    open(cell)
                }
                run(kind.cellType)
            }
        } } } } } }

        var last = [Float](repeating: 0, count: S * B * N * D)
        for s in 0..<S { for b in 0..<B {
            let from = L.state(s, b, T - 1), to = L.initial(s, b)
            for i in 0..<N * D { last[to + i] = states[from + i] }
        } }
        let context = saveForBackward
            ? BackwardContext(problem: problem, dtype: .float32, backend: self,
                              saved: CPUSaved(layout: L, r: r, s0: s0, states: states, pre: pre))
            : nil
        return ForwardResult(states: Tensor(shape: problem.shape.statesShape, floats: states),
                             lastStates: Tensor(shape: problem.shape.lastStatesShape, floats: last),
                             context: context)
    }
}

/// All T steps of head `n` for the chunks of D that `member` owns.
@available(macOS 15.0, *)
private func forwardHead<C: RecurrentCell>(_: C.Type, _ L: CPULayout, _ plan: Float32Plan, _ x: Float32Buffers,
                                           head n: Int, member: Int, barrier: StepBarrier,
                                           panelsPerHead: Int, clip: Float?) {
    let (B, T, N, D, S, GR, GW, GT) = (L.B, L.T, L.N, L.D, L.S, L.GR, L.GW, L.GT)
    let rOff = L.shape.cell.recurrentGateOffset, wOff = L.shape.cell.inputGateOffset
    let chunks = plan.chunkRange(member: member)
    let panels = chunks.count * GR
    // rh[b, panel, 8]: this member's columns of R·h for the step.
    let rh = UnsafeMutablePointer<Float>.allocate(capacity: B * panels * 8)
    // h_{t-1} of all rows, contiguous: rows of `states` are T·N·D apart, often a multiple of
    // 4 KiB, and six such rows read together collide in the L1 cache.
    let hPrevious = UnsafeMutablePointer<Float>.allocate(capacity: B * D)
    defer { rh.deallocate(); hPrevious.deallocate() }
    let packed = x.packedR + (n * panelsPerHead + chunks.lowerBound * GR) * D * 8
    let isLSTM = C.self == LSTMCell.self
    var passed = 0
    for t in 0..<T {
        // h_{t-1} for all rows, from the initial states or the previous step's output.
        for b in 0..<B {
            let from = t == 0 ? UnsafePointer(x.s0 + L.initial(0, b) + n * D) : UnsafePointer(x.states + L.state(0, b, t - 1) + n * D)
            (hPrevious + b * D).update(from: from, count: D)
        }
        panelProduct(rows: B, panels: panels, k: D,
                     ProductOperands(a: hPrevious, aRow: D, aStep: 1, b: packed, bStep: 16, bPanel: 8,
                                     c: rh, cRow: panels * 8, cPanel: 8),
                     accumulate: false, pairedB: true)
        for b in 0..<B {
            let rhRow = rh + b * panels * 8
            let wxRow = x.wx + L.wx(b, t) + n * D
            let preRow = x.pre.map { $0 + L.pre(b, t) + n * D }
            if isLSTM {
                let cPrevious = t == 0 ? UnsafePointer(x.s0 + L.initial(1, b) + n * D)
                                       : UnsafePointer(x.states + L.state(1, b, t - 1) + n * D)
                let hOut = x.states + L.state(0, b, t) + n * D, cOut = x.states + L.state(1, b, t) + n * D
                for c in chunks {
                    let d0 = c * 8, count = min(8, D - d0), q = rhRow + (c - chunks.lowerBound) * 4 * 8
                    @inline(__always) func gate(_ k: Int) -> Float8 {
                        (UnsafeRawPointer(q + k * 8).loadUnaligned(as: Float8.self)
                            + loadFloat8(x.bias + (k * N + n) * D + d0, count: count))
                            + loadFloat8(wxRow + k * N * D + d0, count: count)
                    }
                    let gi = gate(0), gf = gate(1), gz = gate(2), go = gate(3)
                    let i = vectorSigmoid(gi), f = vectorSigmoid(gf), z = vectorTanh(gz), o = vectorSigmoid(go)
                    let cNew = f * loadFloat8(cPrevious + d0, count: count) + i * z
                    var h = o * vectorTanh(cNew)
                    if let clip { h = vectorClamp(h, limit: clip) }
                    storeFloat8(h, hOut + d0, count: count)
                    storeFloat8(cNew, cOut + d0, count: count)
                    if let preRow {
                        storeFloat8(gi, preRow + d0, count: count)
                        storeFloat8(gf, preRow + N * D + d0, count: count)
                        storeFloat8(gz, preRow + 2 * N * D + d0, count: count)
                        storeFloat8(go, preRow + 3 * N * D + d0, count: count)
                    }
                }
            } else {
                for c in chunks {
                    let q = rhRow + (c - chunks.lowerBound) * GR * 8
                    for d in (c * 8)..<min(c * 8 + 8, D) {
                        let lane = d - c * 8
                        var p = SIMD4<Float>.zero
                        for k in 0..<GT { p[k] = x.bias[(k * N + n) * D + d] }
                        for k in 0..<GR { p[k + rOff] += q[k * 8 + lane] }
                        for w in 0..<GW { p[w + wOff] += wxRow[w * N * D + d] }
                        var previous = SIMD4<Float>.zero
                        for s in 0..<S {
                            previous[s] = t == 0 ? x.s0[L.initial(s, b) + n * D + d] : x.states[L.state(s, b, t - 1) + n * D + d]
                        }
                        var next = C.forward(pre: p, previous: previous)
                        if let clip { next[0] = min(max(next[0], -clip), clip) }
                        for s in 0..<S { x.states[L.state(s, b, t) + n * D + d] = next[s] }
                        if let preRow { for k in 0..<GT { preRow[k * N * D + d] = p[k] } }
                    }
                }
            }
        }
        barrier.wait(&passed)
    }
}
