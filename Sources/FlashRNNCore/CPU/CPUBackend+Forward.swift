extension CPUBackend {
    func forward<F: CellScalar>(_ problem: RecurrentProblem, _: F.Type, saveForBackward: Bool) throws -> ForwardResult {
        switch problem.cell {
        case .lstm: try forward(problem, LSTMCell.self, F.self, saveForBackward: saveForBackward)
        case .slstm: try forward(problem, SLSTMCell.self, F.self, saveForBackward: saveForBackward)
        case .gru: try forward(problem, GRUCell.self, F.self, saveForBackward: saveForBackward)
        case .elman: try forward(problem, ElmanCell.self, F.self, saveForBackward: saveForBackward)
        }
    }

    func forward<C: RecurrentCell, F: CellScalar>(_ problem: RecurrentProblem, _: C.Type, _: F.Type,
                                                   saveForBackward: Bool) throws -> ForwardResult {
        let L = CPULayout(shape: problem.shape, inputLayout: problem.options.inputLayout)
        let (B, T, N, D, S, GR, GW, GT) = (L.B, L.T, L.N, L.D, L.S, L.GR, L.GW, L.GT)
        let rOff = problem.cell.recurrentGateOffset, wOff = problem.cell.inputGateOffset
        let wx = try problem.wx.scalars(as: F.self)
        let r = try problem.r.scalars(as: F.self)
        let bias = try problem.b.scalars(as: F.self)
        let s0 = try problem.initialStates?.scalars(as: F.self) ?? [F](repeating: 0, count: S * B * N * D)
        let clip = problem.options.forwardClip.map { F($0) }

        // Per head, R transposed to [D_in, G_R·D_out] so the step is h[rows, D] · Rt.
        var rt = [F](repeating: 0, count: N * D * GR * D)
        for k in 0..<GR { for n in 0..<N { for d in 0..<D { for p in 0..<D {
            rt[(n * D + p) * GR * D + k * D + d] = r[((k * N + n) * D + d) * D + p]
        } } } }

        let rtHeads = rt
        var states = [F](repeating: 0, count: S * B * T * N * D)
        var pre = [F](repeating: 0, count: saveForBackward ? B * T * GT * N * D : 0)
        let units = self.units(problem.shape)
        states.withSharedPointer { statesOut in
            pre.withSharedPointer { preOut in
                parallel(units.count) { u in
                    let unit = units[u], n = unit.head, rows = unit.rows, nb = rows.count
                    // cur: [S, nb, D] the states of this unit's rows; cur[0] is h.
                    var cur = [F](repeating: 0, count: S * nb * D)
                    var rh = [F](repeating: 0, count: nb * GR * D)
                    for s in 0..<S { for bi in 0..<nb { for d in 0..<D {
                        cur[(s * nb + bi) * D + d] = s0[L.initial(s, rows.lowerBound + bi) + n * D + d]
                    } } }
                    wx.withUnsafeBufferPointer { wx in
                    bias.withUnsafeBufferPointer { bias in
                    rtHeads.withUnsafeBufferPointer { rt in
                    cur.withUnsafeMutableBufferPointer { cur in
                    rh.withUnsafeMutableBufferPointer { rh in
                        let rtn = rt.baseAddress! + n * D * GR * D
                        for t in 0..<T {
                            // rh[nb, G_R·D] = h[nb, D] · Rt_n[D, G_R·D]
                            matrixProduct(m: nb, n: GR * D, k: D, a: UnsafePointer(cur.baseAddress!), lda: D,
                                          b: rtn, ldb: GR * D, c: rh.baseAddress!, ldc: GR * D, accumulate: false)
                            for bi in 0..<nb {
                                let b = rows.lowerBound + bi
                                let wxRow = L.wx(b, t) + n * D
                                for d in 0..<D {
                                    var p = SIMD4<F>.zero
                                    for k in 0..<GT { p[k] = bias[(k * N + n) * D + d] }
                                    for k in 0..<GR { p[k + rOff] += rh[bi * GR * D + k * D + d] }
                                    for w in 0..<GW { p[w + wOff] += wx[wxRow + w * N * D + d] }
                                    var previous = SIMD4<F>.zero
                                    for s in 0..<S { previous[s] = cur[(s * nb + bi) * D + d] }
                                    var next = C.forward(pre: p, previous: previous)
                                    if let clip { next[0] = min(max(next[0], -clip), clip) }
                                    for s in 0..<S {
                                        cur[(s * nb + bi) * D + d] = next[s]
                                        statesOut.base[L.state(s, b, t) + n * D + d] = next[s]
                                    }
                                    if saveForBackward {
                                        for k in 0..<GT { preOut.base[L.pre(b, t) + k * N * D + n * D + d] = p[k] }
                                    }
                                }
                            }
                        }
                    } } } } }
                }
            }
        }

        var last = [F](repeating: 0, count: S * B * N * D)
        for s in 0..<S { for b in 0..<B {
            let from = L.state(s, b, T - 1), to = L.initial(s, b)
            for i in 0..<N * D { last[to + i] = states[from + i] }
        } }
        let context = saveForBackward
            ? BackwardContext(problem: problem, dtype: F.self == Double.self ? .float64 : .float32, backend: self,
                              saved: CPUSaved(layout: L, r: r, s0: s0, states: states, pre: pre))
            : nil
        return ForwardResult(states: Tensor(shape: problem.shape.statesShape, cpuScalars: states),
                             lastStates: Tensor(shape: problem.shape.lastStatesShape, cpuScalars: last),
                             context: context)
    }
}

extension Tensor {
    /// A float64 or float32 tensor from CPU compute results.
    init<F: BinaryFloatingPoint>(shape: [Int], cpuScalars: [F]) {
        if let d = cpuScalars as? [Double] { self.init(shape: shape, storage: .float64(d)) }
        else if let f = cpuScalars as? [Float] { self.init(shape: shape, storage: .float32(f)) }
        else { self.init(shape: shape, values: cpuScalars.map { Double($0) }) }
    }
}
