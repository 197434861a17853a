/// What the backward sweep of one float32 pass reads and writes, handed to the team's threads.
struct Float32BackwardBuffers: @unchecked Sendable {
    var states: UnsafePointer<Float>, s0: UnsafePointer<Float>, pre: UnsafePointer<Float>
    var dStates: UnsafePointer<Float>?, dLast: UnsafePointer<Float>?
    var packedR: UnsafePointer<Float>
    /// `[N][B][G_R·D]`: dG of the step (the A operand of `dG·R`).
    var dG: UnsafeMutablePointer<Float>
    /// `[N][G_R][B][D8]`: each gate's float32 part of `dG_{t+1}·R` (G_R > 1).
    var dParts: UnsafeMutablePointer<Float>
    /// `[N][S][B][D8]` (D8 = D rounded up to 8): what step t+1 sent to step t along direct paths.
    var dNext: UnsafeMutablePointer<Float>
    /// `[N][B][D8]`: `dG_{t+1}·R`, the recurrent part of the gradient at h_t.
    var dRecurrent: UnsafeMutablePointer<Float>
    var dPre: UnsafeMutablePointer<Float>
}

@available(macOS 15.0, *)
extension CPUBackend {
    /// `dWx`, `dR` and `db` from the sweep's pre-activation gradients: db summed in float64 and
    /// rounded once, dR likewise up to D = 64.
    func backwardFloat32(_ saved: CPUSaved<Float>, _ problem: RecurrentProblem,
                         dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        let L = saved.layout
        let (B, T, N, D, GW, GT) = (L.B, L.T, L.N, L.D, L.GW, L.GT)
        let rOff = problem.cell.recurrentGateOffset, wOff = problem.cell.inputGateOffset
        let (dPre, dInitial) = try backwardSweepFloat32(saved, problem, dStates: dStates, dLast: dLast)
        // dWx in the caller's layout: dPre itself when the layouts agree.
        let dWx: [Float]
        if L.inputLayout == .btgnd && GW == GT && wOff == 0 {
            dWx = dPre
        } else {
            var copy = [Float](repeating: 0, count: B * T * GW * N * D)
            for b in 0..<B { for t in 0..<T { for w in 0..<GW {
                let from = L.pre(b, t) + (w + wOff) * N * D, to = L.wx(b, t) + w * N * D
                for i in 0..<N * D { copy[to + i] = dPre[from + i] }
            } } }
            dWx = copy
        }
        // db[k, n, d] = Σ_{b,t} dPre in float64, rounded once, as the GPU's float32 backwards sum
        // it (CellsInFloat64.swift).
        var db64 = [Double](repeating: 0, count: GT * N * D)
        dPre.withUnsafeBufferPointer { dPre in
            db64.withUnsafeMutableBufferPointer { db in
                let width = GT * N * D
                for row in 0..<(B * T) {
                    let from = dPre.baseAddress! + row * width
                    for i in 0..<width { db[i] += Double(from[i]) }
                }
            }
        }
        let db = db64.map { Float($0) }
        // dR: float64 sums up to D = 64, as both GPU backends (Float32WeightGradient.swift).
        let dR = recurrentWeightGradientOfFloat32(saved, dPre: dPre, recurrentGateOffset: rOff)
        return Gradients(dWx: Tensor(shape: problem.wx.shape, floats: dWx),
                         dR: Tensor(shape: problem.shape.rShape, floats: dR),
                         db: Tensor(shape: problem.shape.bShape, floats: db),
                         dInitialStates: Tensor(shape: problem.shape.lastStatesShape, floats: dInitial))
    }

    /// The backward sweep in float32: per step the cell backward on a member's chunks of D,
    /// a barrier, then its chunks of `dh_{t-1} = dG·R`, one packed product per gate, the gates'
    /// parts summed in float64 and rounded once. Returns dPre `[B, T, G_T, N, D]` and dInitial.
    func backwardSweepFloat32(_ saved: CPUSaved<Float>, _ problem: RecurrentProblem,
                              dStates: Tensor?, dLast: Tensor?) throws -> (dPre: [Float], dInitial: [Float]) {
        let L = saved.layout
        let (B, T, N, D, S, GR, GT) = (L.B, L.T, L.N, L.D, L.S, L.GR, L.GT)
        let options = problem.options
        let dS = try dStates?.floats(), dL = try dLast?.floats()
        let clip = options.forwardClip.map { Float($0) }
        let recurrentClip = options.gradientRecurrentClip.map { Float($0) }
        let cut = options.gradientRecurrentCut
        let plan = Float32Plan(shape: problem.shape, workers: workerCount, minimumStepWork: minimumStepWorkForTeam)
        let packed = cut ? PackedRecurrent(values: [0], panelsPerHead: 0, k: 0) : PackedRecurrent.backward(saved.r, L, plan)
        let kind = problem.cell

        // Every element of both is written by the sweep.
        let preCount = B * T * GT * N * D
        var dPre = [Float](unsafeUninitializedCapacity: preCount) { _, n in n = preCount }
        var dInitial = [Float](repeating: 0, count: S * B * N * D)
        let D8 = plan.chunks * 8
        var dG = [Float](repeating: 0, count: N * B * GR * D)
        var dNext = [Float](repeating: 0, count: N * S * B * D8)
        var dRecurrent = [Float](repeating: 0, count: N * B * D8)
        var dParts = [Float](repeating: 0, count: GR > 1 && !cut ? N * GR * B * D8 : 1)
        let none = [Float]()

        saved.states.withUnsafeBufferPointer { states in
        saved.s0.withUnsafeBufferPointer { s0 in
        saved.pre.withUnsafeBufferPointer { pre in
        (dS ?? none).withUnsafeBufferPointer { dS in
        (dL ?? none).withUnsafeBufferPointer { dL in
        packed.values.withUnsafeBufferPointer { packedR in
        dG.withUnsafeMutableBufferPointer { dG in
        dNext.withUnsafeMutableBufferPointer { dNext in
        dRecurrent.withUnsafeMutableBufferPointer { dRecurrent in
        dParts.withUnsafeMutableBufferPointer { dParts in
        dPre.withUnsafeMutableBufferPointer { dPre in
            let buffers = Float32BackwardBuffers(
                states: states.baseAddress!, s0: s0.baseAddress!, pre: pre.baseAddress!,
                dStates: dS.isEmpty ? nil : dS.baseAddress!, dLast: dL.isEmpty ? nil : dL.baseAddress!,
                packedR: packedR.baseAddress!, dG: dG.baseAddress!, dParts: dParts.baseAddress!, dNext: dNext.baseAddress!,
                dRecurrent: dRecurrent.baseAddress!, dPre: dPre.baseAddress!)
            // Per step, from t = T−1 down: the cell backward, then (unless cut) dG·R.
            let perStep = cut ? 1 : 2
            plan.run(phases: perStep * T) { phase, n, group in
                let t = T - 1 - phase / perStep
                if phase % perStep == 1 {
                    recurrentProductUnit(L, plan, buffers, head: n, group: group)
                    return
                }
                // The cell type travels as its kind (metatypes are not Sendable); each case is a
                // concrete call, so the cell code is specialised.
                switch kind {
                case .lstm: backwardCellUnit(LSTMCell.self, L, plan, buffers, step: t, head: n, group: group,
                                             clip: clip, recurrentClip: recurrentClip, cut: cut)
                case .slstm: backwardCellUnit(SLSTMCell.self, L, plan, buffers, step: t, head: n, group: group,
                                              clip: clip, recurrentClip: recurrentClip, cut: cut)
                case .gru: backwardCellUnit(GRUCell.self, L, plan, buffers, step: t, head: n, group: group,
                                            clip: clip, recurrentClip: recurrentClip, cut: cut)
                case .elman: backwardCellUnit(ElmanCell.self, L, plan, buffers, step: t, head: n, group: group,
                                              clip: clip, recurrentClip: recurrentClip, cut: cut)
                }
            }
        } } } } } } } } } } }

        // The gradient reaching the initial states.
        for n in 0..<N { for s in 0..<S { for b in 0..<B { for d in 0..<D {
            var g = dNext[((n * S + s) * B + b) * D8 + d]
            if s == 0 { g += recurrentTerm(dRecurrent[(n * B + b) * D8 + d], cut: cut, clip: recurrentClip) }
            dInitial[L.initial(s, b) + n * D + d] = g
        } } } }

        if problem.cell == .slstm {
            // m carries no gradient.
            for b in 0..<B { for i in 0..<N * D { dInitial[L.initial(3, b) + i] = 0 } }
        }
        return (dPre, dInitial)
    }
}

@inline(__always)
private func recurrentTerm(_ v: Float, cut: Bool, clip: Float?) -> Float {
    if cut { return 0 }
    if let clip { return min(max(v, -clip), clip) }
    return v
}

/// `dRecurrent[:, chunks of the group] = Σ_k dG_k · R_{k,n}[:, those columns]` for head n: each
/// gate's part a float32 product of its own, the G_R parts summed in float64 from 0 in gate order
/// and rounded once. That is the order of cudaFused's float32 backward (`recurrentOf`) and of
/// cudaAlternating's float32 `backward_step`; at D = 1 each part is one product, rounded once by
/// every backend (an FMA onto zero), so the three compute dh_rec bit for bit alike there.
private func recurrentProductUnit(_ L: CPULayout, _ plan: Float32Plan, _ x: Float32BackwardBuffers,
                                  head n: Int, group: Int) {
    let (B, D, GR) = (L.B, L.D, L.GR)
    let chunks = plan.groupRange(group), k = GR * D, D8 = plan.chunks * 8
    let dRecurrent = x.dRecurrent + n * B * D8
    @inline(__always) func part(_ g: Int) -> UnsafeMutablePointer<Float> {
        GR == 1 ? dRecurrent : x.dParts + (n * GR + g) * B * D8
    }
    for g in 0..<GR {
        panelProduct(rows: B, panels: chunks.count, k: D,
                     ProductOperands(a: x.dG + n * B * k + g * D, aRow: k, aStep: 1,
                                     b: x.packedR + ((n * GR + g) * plan.chunks + chunks.lowerBound) * D * 8, bStep: 16, bPanel: 8,
                                     c: part(g) + chunks.lowerBound * 8, cRow: D8, cPanel: 8),
                     accumulate: false, pairedB: true)
    }
    if GR == 1 { return }
    for b in 0..<B {
        for c in chunks {
            let at = b * D8 + c * 8
            var sum = Double8.zero
            for g in 0..<GR { sum += widened(UnsafeRawPointer(part(g) + at).loadUnaligned(as: Float8.self)) }
            UnsafeMutableRawPointer(dRecurrent + at).storeBytes(of: rounded(sum), as: Float8.self)
        }
    }
}

/// The cell backward of step t, head n, on the chunks of group `group`: the pre-activation
/// gradients (into dPre and dG) and what goes to step t−1 along direct paths.
private func backwardCellUnit<C: RecurrentCell>(_: C.Type, _ L: CPULayout, _ plan: Float32Plan, _ x: Float32BackwardBuffers,
                                                step t: Int, head n: Int, group: Int,
                                                clip: Float?, recurrentClip: Float?, cut: Bool) {
    let (B, T, N, D, S, GR, GT) = (L.B, L.T, L.N, L.D, L.S, L.GR, L.GT)
    let rOff = L.shape.cell.recurrentGateOffset
    let chunks = plan.groupRange(group)
    let D8 = plan.chunks * 8, k = GR * D
    let dNext = x.dNext + n * S * B * D8, dRecurrent = x.dRecurrent + n * B * D8
    let isLSTM = C.self == LSTMCell.self
    let limit = recurrentClip ?? .infinity
    @inline(__always) func recurrentTerm(_ v: Float8) -> Float8 {
        cut ? .zero : (recurrentClip == nil ? v : vectorClamp(v, limit: limit))
    }
    let dG = x.dG + n * B * k
    for b in 0..<B {
        let preRow = x.pre + L.pre(b, t) + n * D
        let dPreRow = x.dPre + L.pre(b, t) + n * D
        let dGRow = dG + b * k
        for c in chunks {
            let d0 = c * 8, count = min(8, D - d0), local = c * 8
            let width = D8
            // The total gradient at the new states of step t.
            @inline(__always) func total(_ s: Int) -> Float8 {
                var g = UnsafeRawPointer(dNext + (s * B + b) * width + local).loadUnaligned(as: Float8.self)
                if let dS = x.dStates { g += loadFloat8(dS + L.state(s, b, t) + n * D + d0, count: count) }
                if t == T - 1, let dL = x.dLast { g += loadFloat8(dL + L.initial(s, b) + n * D + d0, count: count) }
                return g
            }
            let recurrent = recurrentTerm(UnsafeRawPointer(dRecurrent + b * width + local).loadUnaligned(as: Float8.self))
            if isLSTM {
                var dh = total(0) + recurrent
                let dcNext = total(1)
                // The cell in float64 from the saved pre-activations, each output rounded once
                // (CellsInFloat64.swift).
                let i = wideSigmoid(widened(loadFloat8(preRow + d0, count: count)))
                let f = wideSigmoid(widened(loadFloat8(preRow + N * D + d0, count: count)))
                let z = wideTanh(widened(loadFloat8(preRow + 2 * N * D + d0, count: count)))
                let o = wideSigmoid(widened(loadFloat8(preRow + 3 * N * D + d0, count: count)))
                let cPrevious = widened(t > 0 ? loadFloat8(x.states + L.state(1, b, t - 1) + n * D + d0, count: count)
                                              : loadFloat8(x.s0 + L.initial(1, b) + n * D + d0, count: count))
                let cNew = f * cPrevious + i * z
                let tc = wideTanh(cNew)
                if let clip {
                    // The clamp passes gradient only where it did not bind (on the rounded h).
                    let h = rounded(o * tc)
                    dh.replace(with: Float8.zero, where: (h .> clip) .| (h .< -clip))
                }
                let dhWide = widened(dh)
                let dc = widened(dcNext) + dhWide * o * (1 - tc * tc)
                let di = rounded(dc * z * i * (1 - i))
                let df = rounded(dc * cPrevious * f * (1 - f))
                let dz = rounded(dc * i * (1 - z * z))
                let dout = rounded(dhWide * tc * o * (1 - o))
                storeFloat8(di, dPreRow + d0, count: count)
                storeFloat8(df, dPreRow + N * D + d0, count: count)
                storeFloat8(dz, dPreRow + 2 * N * D + d0, count: count)
                storeFloat8(dout, dPreRow + 3 * N * D + d0, count: count)
                storeFloat8(di, dGRow + d0, count: count)
                storeFloat8(df, dGRow + D + d0, count: count)
                storeFloat8(dz, dGRow + 2 * D + d0, count: count)
                storeFloat8(dout, dGRow + 3 * D + d0, count: count)
                UnsafeMutableRawPointer(dNext + b * width + local).storeBytes(of: .zero, as: Float8.self)
                UnsafeMutableRawPointer(dNext + (B + b) * width + local).storeBytes(of: rounded(dc * f), as: Float8.self)
            } else {
                let totals = (total(0), S > 1 ? total(1) : .zero, S > 2 ? total(2) : .zero, S > 3 ? total(3) : .zero)
                for lane in 0..<count {
                    let d = d0 + lane
                    var dNewLane = SIMD4<Float>.zero, previous = SIMD4<Float>.zero, p = SIMD4<Float>.zero
                    for s in 0..<S {
                        dNewLane[s] = (s == 0 ? totals.0 : s == 1 ? totals.1 : s == 2 ? totals.2 : totals.3)[lane]
                        previous[s] = t > 0 ? x.states[L.state(s, b, t - 1) + n * D + d] : x.s0[L.initial(s, b) + n * D + d]
                    }
                    dNewLane[0] += recurrent[lane]
                    for g in 0..<GT { p[g] = preRow[g * N * D + d] }
                    if let clip, abs(C.forwardRoundedOnce(pre: p, previous: previous)[0]) > clip { dNewLane[0] = 0 }
                    let (dp, dPrevious) = C.backwardRoundedOnce(pre: p, previous: previous, dNew: dNewLane)
                    for s in 0..<S { dNext[(s * B + b) * width + local + lane] = dPrevious[s] }
                    for g in 0..<GT { dPreRow[g * N * D + d] = dp[g] }
                    for g in 0..<GR { dGRow[g * D + d] = dp[g + rOff] }
                }
            }
        }
    }
}
