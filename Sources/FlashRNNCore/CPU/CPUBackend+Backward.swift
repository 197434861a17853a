extension CPUBackend {
    func backward<F: CellScalar>(_ saved: CPUSaved<F>, _ problem: RecurrentProblem,
                                 dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        switch problem.cell {
        case .lstm: try backward(saved, problem, LSTMCell.self, dStates: dStates, dLast: dLast)
        case .slstm: try backward(saved, problem, SLSTMCell.self, dStates: dStates, dLast: dLast)
        case .gru: try backward(saved, problem, GRUCell.self, dStates: dStates, dLast: dLast)
        case .elman: try backward(saved, problem, ElmanCell.self, dStates: dStates, dLast: dLast)
        }
    }

    func backward<C: RecurrentCell, F: CellScalar>(_ saved: CPUSaved<F>, _ problem: RecurrentProblem, _: C.Type,
                                                    dStates: Tensor?, dLast: Tensor?) throws -> Gradients {
        let L = saved.layout
        let (B, T, N, D, S, GR, GW, GT) = (L.B, L.T, L.N, L.D, L.S, L.GR, L.GW, L.GT)
        let rOff = problem.cell.recurrentGateOffset, wOff = problem.cell.inputGateOffset
        let options = problem.options
        let dS = try dStates?.scalars(as: F.self)
        let dL = try dLast?.scalars(as: F.self)
        let clip = options.forwardClip.map { F($0) }
        let recurrentClip = options.gradientRecurrentClip.map { F($0) }
        let cut = options.gradientRecurrentCut

        // Per head, R as [G_R·D_out, D_in] so that dh_{t-1}[rows, D] = dG[rows, G_R·D] · R_n.
        var rn = [F](repeating: 0, count: N * GR * D * D)
        for k in 0..<GR { for n in 0..<N { for d in 0..<D { for p in 0..<D {
            rn[((n * GR + k) * D + d) * D + p] = saved.r[((k * N + n) * D + d) * D + p]
        } } } }

        let rHeads = rn
        var dPre = [F](repeating: 0, count: B * T * GT * N * D)     // [B, T, G_T, N, D]
        var dInitial = [F](repeating: 0, count: S * B * N * D)
        let units = self.units(problem.shape)
        dPre.withSharedPointer { dPreOut in
        dInitial.withSharedPointer { dInitialOut in
            parallel(units.count) { u in
                let unit = units[u], n = unit.head, rows = unit.rows, nb = rows.count
                var dNext = [F](repeating: 0, count: S * nb * D)   // direct paths from step t+1
                var dRecurrent = [F](repeating: 0, count: nb * D)  // Rᵀ·dG from step t+1
                var dG = [F](repeating: 0, count: nb * GR * D)
                let states = saved.states, s0 = saved.s0, pre = saved.pre
                @inline(__always) func recurrentTerm(_ x: F) -> F {
                    if cut { return 0 }
                    if let recurrentClip { return min(max(x, -recurrentClip), recurrentClip) }
                    return x
                }
                rHeads.withUnsafeBufferPointer { rn in
                dG.withUnsafeMutableBufferPointer { dG in
                dRecurrent.withUnsafeMutableBufferPointer { dRecurrent in
                    let rnn = rn.baseAddress! + n * GR * D * D
                    for t in stride(from: T - 1, through: 0, by: -1) {
                        for bi in 0..<nb {
                            let b = rows.lowerBound + bi
                            for d in 0..<D {
                                var dNew = SIMD4<F>.zero, previous = SIMD4<F>.zero, p = SIMD4<F>.zero
                                for s in 0..<S {
                                    var g = dNext[(s * nb + bi) * D + d]
                                    if let dS { g += dS[L.state(s, b, t) + n * D + d] }
                                    if t == T - 1, let dL { g += dL[L.initial(s, b) + n * D + d] }
                                    dNew[s] = g
                                    previous[s] = t > 0 ? states[L.state(s, b, t - 1) + n * D + d]
                                                        : s0[L.initial(s, b) + n * D + d]
                                }
                                dNew[0] += recurrentTerm(dRecurrent[bi * D + d])
                                for k in 0..<GT { p[k] = pre[L.pre(b, t) + k * N * D + n * D + d] }
                                // The clamp passes gradient only where it did not bind.
                                if let clip, abs(C.forward(pre: p, previous: previous)[0]) > clip { dNew[0] = 0 }
                                let (dp, dPrevious) = C.backward(pre: p, previous: previous, dNew: dNew)
                                for s in 0..<S { dNext[(s * nb + bi) * D + d] = dPrevious[s] }
                                for k in 0..<GT { dPreOut.base[L.pre(b, t) + k * N * D + n * D + d] = dp[k] }
                                for k in 0..<GR { dG[bi * GR * D + k * D + d] = dp[k + rOff] }
                            }
                        }
                        if !cut {
                            // dRecurrent[nb, D] = dG[nb, G_R·D] · R_n[G_R·D, D]
                            matrixProduct(m: nb, n: D, k: GR * D, a: UnsafePointer(dG.baseAddress!), lda: GR * D,
                                          b: rnn, ldb: D, c: dRecurrent.baseAddress!, ldc: D, accumulate: false)
                        }
                    }
                    for s in 0..<S { for bi in 0..<nb { for d in 0..<D {
                        var g = dNext[(s * nb + bi) * D + d]
                        if s == 0 { g += recurrentTerm(dRecurrent[bi * D + d]) }
                        dInitialOut.base[L.initial(s, rows.lowerBound + bi) + n * D + d] = g
                    } } }
                } } }
            }
        } }

        // dWx in the caller's layout.
        var dWx = [F](repeating: 0, count: B * T * GW * N * D)
        for b in 0..<B { for t in 0..<T { for w in 0..<GW {
            let from = L.pre(b, t) + (w + wOff) * N * D, to = L.wx(b, t) + w * N * D
            for i in 0..<N * D { dWx[to + i] = dPre[from + i] }
        } } }
        // db[k, n, d] = Σ_{b,t} dPre
        var db = [F](repeating: 0, count: GT * N * D)
        for b in 0..<B { for t in 0..<T {
            let from = L.pre(b, t)
            for i in 0..<GT * N * D { db[i] += dPre[from + i] }
        } }
        let dR = recurrentWeightGradient(saved, dPre: dPre, recurrentGateOffset: rOff)
        if problem.cell == .slstm {
            // m carries no gradient.
            for b in 0..<B { for i in 0..<N * D { dInitial[L.initial(3, b) + i] = 0 } }
        }
        return Gradients(dWx: Tensor(shape: problem.wx.shape, cpuScalars: dWx),
                         dR: Tensor(shape: problem.shape.rShape, cpuScalars: dR),
                         db: Tensor(shape: problem.shape.bShape, cpuScalars: db),
                         dInitialStates: Tensor(shape: problem.shape.lastStatesShape, cpuScalars: dInitial))
    }

    /// `dR[k, n] = Σ_{b,t} dG[b, t, k, n, :] ⊗ h_{t-1}[b, n, :]` as one product per (head, gate)
    /// over all B·T rows.
    func recurrentWeightGradient<F: CellScalar>(_ saved: CPUSaved<F>, dPre: [F], recurrentGateOffset rOff: Int) -> [F] {
        let L = saved.layout
        let (B, T, N, D, GR) = (L.B, L.T, L.N, L.D, L.GR)
        var dR = [F](repeating: 0, count: GR * N * D * D)
        let rowsTotal = B * T
        dR.withSharedPointer { dROut in
            parallel(N * GR) { u in
                let n = u / GR, k = u % GR
                // gT[D_out, B·T] (dG transposed) and hPrev[B·T, D_in]
                var gT = [F](repeating: 0, count: D * rowsTotal)
                var hPrev = [F](repeating: 0, count: rowsTotal * D)
                for b in 0..<B { for t in 0..<T {
                    let row = b * T + t
                    let g = L.pre(b, t) + (k + rOff) * L.N * D + n * D
                    for d in 0..<D { gT[d * rowsTotal + row] = dPre[g + d] }
                    let h = t > 0 ? L.state(0, b, t - 1) + n * D : L.initial(0, b) + n * D
                    let source = t > 0 ? saved.states : saved.s0
                    for p in 0..<D { hPrev[row * D + p] = source[h + p] }
                } }
                gT.withUnsafeBufferPointer { gT in
                hPrev.withUnsafeBufferPointer { hPrev in
                    matrixProduct(m: D, n: D, k: rowsTotal, a: gT.baseAddress!, lda: rowsTotal,
                                  b: hPrev.baseAddress!, ldb: D,
                                  c: dROut.base + ((k * N + n) * D) * D, ldc: D, accumulate: false)
                } }
            }
        }
        return dR
    }
}
