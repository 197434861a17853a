/// Read-only inputs and shared outputs of one float32 pass, handed to the team's threads.
/// Each unit writes only its own chunks of D.
struct Float32Buffers: @unchecked Sendable {
    var wx: UnsafePointer<Float>, bias: UnsafePointer<Float>, s0: UnsafePointer<Float>
    var packedR: UnsafePointer<Float>
    var states: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>?
    /// `[N][2][B][D]`: h of the previous and of the current step, contiguous (rows of `states`
    /// are T·N·D apart, often a multiple of 4 KiB, and six such rows read together collide in
    /// the L1 cache). Step t writes buffer t % 2 and reads the other.
    var h: UnsafeMutablePointer<Float>
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
    /// member (its chunks of D, all gates), then the cell on the same chunks, in float64 with
    /// each output rounded once (CellsInFloat64.swift).
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
        var h = [Float](repeating: 0, count: N * 2 * B * D)
        for n in 0..<N { for b in 0..<B { for d in 0..<D {
            h[(n * 2 + 1) * B * D + b * D + d] = s0[L.initial(0, b) + n * D + d]
        } } }

        wx.withUnsafeBufferPointer { wx in
        bias.withUnsafeBufferPointer { bias in
        s0.withUnsafeBufferPointer { s0 in
        packed.values.withUnsafeBufferPointer { packedR in
        states.withUnsafeMutableBufferPointer { states in
        pre.withUnsafeMutableBufferPointer { pre in
        h.withUnsafeMutableBufferPointer { h in
            let buffers = Float32Buffers(wx: wx.baseAddress!, bias: bias.baseAddress!, s0: s0.baseAddress!,
                                         packedR: packedR.baseAddress!, states: states.baseAddress!,
                                         pre: saveForBackward ? pre.baseAddress! : nil, h: h.baseAddress!)
            plan.run(phases: T) { t, n, group in
                // The cell type travels as its kind (metatypes are not Sendable); each case is a
                // concrete call, so the cell code is specialised.
                switch kind {
                case .lstm: forwardUnit(LSTMCell.self, L, plan, buffers, step: t, head: n, group: group,
                                        panelsPerHead: panelsPerHead, clip: clip)
                case .slstm: forwardUnit(SLSTMCell.self, L, plan, buffers, step: t, head: n, group: group,
                                         panelsPerHead: panelsPerHead, clip: clip)
                case .gru: forwardUnit(GRUCell.self, L, plan, buffers, step: t, head: n, group: group,
                                       panelsPerHead: panelsPerHead, clip: clip)
                case .elman: forwardUnit(ElmanCell.self, L, plan, buffers, step: t, head: n, group: group,
                                         panelsPerHead: panelsPerHead, clip: clip)
                }
            }
        } } } } } } }

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

/// Step t of head n for the chunks of group `group`: their gate columns of `R·h_{t-1}`, then
/// the cell on them.
private func forwardUnit<C: RecurrentCell>(_: C.Type, _ L: CPULayout, _ plan: Float32Plan, _ x: Float32Buffers,
                                           step t: Int, head n: Int, group: Int,
                                           panelsPerHead: Int, clip: Float?) {
    let (B, N, D, S, GR, GW, GT) = (L.B, L.N, L.D, L.S, L.GR, L.GW, L.GT)
    let rOff = L.shape.cell.recurrentGateOffset, wOff = L.shape.cell.inputGateOffset
    let chunks = plan.groupRange(group)
    let panels = chunks.count * GR
    let packed = x.packedR + (n * panelsPerHead + chunks.lowerBound * GR) * D * 8
    let hPrevious = x.h + (n * 2 + (t + 1) % 2) * B * D, hNext = x.h + (n * 2 + t % 2) * B * D
    let isLSTM = C.self == LSTMCell.self
    withUnsafeTemporaryAllocation(of: Float.self, capacity: B * panels * 8) { scratch in
        // rh[b, panel, 8]: this unit's columns of R·h for the step.
        let rh = scratch.baseAddress!
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
                    // The cell in float64, h and c rounded once (CellsInFloat64.swift).
                    let i = wideSigmoid(widened(gi)), f = wideSigmoid(widened(gf))
                    let z = wideTanh(widened(gz)), o = wideSigmoid(widened(go))
                    let cNew = f * widened(loadFloat8(cPrevious + d0, count: count)) + i * z
                    var h = rounded(o * wideTanh(cNew))
                    if let clip { h = vectorClamp(h, limit: clip) }
                    storeFloat8(h, hOut + d0, count: count)
                    storeFloat8(h, hNext + b * D + d0, count: count)
                    storeFloat8(rounded(cNew), cOut + d0, count: count)
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
                        var next = C.forwardRoundedOnce(pre: p, previous: previous)
                        if let clip { next[0] = min(max(next[0], -clip), clip) }
                        for s in 0..<S { x.states[L.state(s, b, t) + n * D + d] = next[s] }
                        hNext[b * D + d] = next[0]
                        if let preRow { for k in 0..<GT { preRow[k * N * D + d] = p[k] } }
                    }
                }
            }
        }
    }
}
