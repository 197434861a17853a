/// `dR` of the float32 path summed in float64 and rounded once, as both GPU backends sum it for
/// float32 storage (`fused_weight_gradient.cuh`: float64 accumulators). A product of two float32
/// is exact in float64, so the only roundings are the float64 additions and the final one; at
/// D = 1 (dR one element, a sum of B·T products) the CPU and GPU results are then the same float32
/// number unless the float64 sum lies within float64 rounding noise of a float32 rounding boundary.
/// The float32-accumulated product it replaces made the CPU run's own error on such outputs an
/// independent draw of about an ulp, so the 2× rule of the check failed on a fraction of draws.

/// Read-only operands of one tile: `A(i, r) = a[i + r·aStep]` (i < 6, the dG columns of 6 output
/// rows), `B(r, j) = b[r·bStep + j]` (j < `lanes` ≤ 8, 8 columns of h); `c` holds the tile's 6 × 8
/// float64 running sums, rows 8 apart.
struct WideProductOperands {
    var a: UnsafePointer<Float>, aStep: Int
    var b: UnsafePointer<Float>, bStep: Int, lanes: Int
    var c: UnsafeMutablePointer<Double>
}

/// `C[rows × 8] += A · B` over `k` rows of B·T in float64, the first `rows` ≤ 6 rows stored.
/// 6 accumulators of 8 float64 (12 AVX2 registers) + 2 for the widened h + 1 broadcast: the
/// float32 tile's register plan at half its lanes.
@inline(never)
func wideProductTile6x1(rows: Int, k: Int, _ o: WideProductOperands) {
    let last = rows - 1
    var a = o.a
    let i1 = min(1, last), i2 = min(2, last), i3 = min(3, last), i4 = min(4, last), i5 = min(5, last)
    var b = o.b
    let aStep = o.aStep, bStep = o.bStep, lanes = o.lanes
    var c0 = Double8.zero, c1 = Double8.zero, c2 = Double8.zero
    var c3 = Double8.zero, c4 = Double8.zero, c5 = Double8.zero
    @inline(__always) func broadcast(_ x: Float) -> Double8 { Double8(repeating: Double(x)) }
    if lanes == 8 {
        for _ in 0..<k {
            let h = widened(UnsafeRawPointer(b).loadUnaligned(as: Float8.self))
            c0 = c0.addingProduct(broadcast(a[0]), h)
            c1 = c1.addingProduct(broadcast(a[i1]), h)
            c2 = c2.addingProduct(broadcast(a[i2]), h)
            c3 = c3.addingProduct(broadcast(a[i3]), h)
            c4 = c4.addingProduct(broadcast(a[i4]), h)
            c5 = c5.addingProduct(broadcast(a[i5]), h)
            a += aStep; b += bStep
        }
    } else {
        // The last panel of a head whose D is not a multiple of 8: no read past D.
        for _ in 0..<k {
            let h = widened(loadFloat8(b, count: lanes))
            c0 = c0.addingProduct(broadcast(a[0]), h)
            c1 = c1.addingProduct(broadcast(a[i1]), h)
            c2 = c2.addingProduct(broadcast(a[i2]), h)
            c3 = c3.addingProduct(broadcast(a[i3]), h)
            c4 = c4.addingProduct(broadcast(a[i4]), h)
            c5 = c5.addingProduct(broadcast(a[i5]), h)
            a += aStep; b += bStep
        }
    }
    @inline(__always) func add(_ v: Double8, _ row: Int) {
        let p = UnsafeMutableRawPointer(o.c + row * 8)
        p.storeBytes(of: v + p.loadUnaligned(as: Double8.self), as: Double8.self)
    }
    add(c0, 0)
    if rows > 1 { add(c1, 1) }
    if rows > 2 { add(c2, 2) }
    if rows > 3 { add(c3, 3) }
    if rows > 4 { add(c4, 4) }
    if rows > 5 { add(c5, 5) }
}

/// The read-only operands of the `dR` product, handed to worker threads.
struct WeightGradientInputs: @unchecked Sendable {
    var dPre: UnsafePointer<Float>, states: UnsafePointer<Float>, s0: UnsafePointer<Float>
}

@available(macOS 15.0, *)
extension CPUBackend {
    /// `dR[k, n] = Σ_{b,t} dG[b, t, k, n, :] ⊗ h_{t-1}[b, n, :]`, every D, reading dG and h in
    /// place; split over (head, gate, block of 48 output rows), each unit's sums in float64
    /// scratch until they are rounded once.
    func recurrentWeightGradientFloat64Sum(_ saved: CPUSaved<Float>, dPre: [Float], recurrentGateOffset rOff: Int) -> [Float] {
        let L = saved.layout
        let (B, T, N, D, GR, GT) = (L.B, L.T, L.N, L.D, L.GR, L.GT)
        let rowBlock = 48, blocks = (D + rowBlock - 1) / rowBlock
        let panels = (D + 7) / 8
        // Rows of B·T at a time: a 128-row slice of a panel of h stays in L1 across the row tiles.
        let depth = 128
        var dR = [Float](repeating: 0, count: GR * N * D * D)
        dR.withUnsafeMutableBufferPointer { dROut in
        dPre.withUnsafeBufferPointer { dPre in
        saved.states.withUnsafeBufferPointer { states in
        saved.s0.withUnsafeBufferPointer { s0 in
            let out = SharedPointer(dROut.baseAddress!)
            let x = WeightGradientInputs(dPre: dPre.baseAddress!, states: states.baseAddress!, s0: s0.baseAddress!)
            parallel(N * GR * blocks) { u in
                let n = u / (GR * blocks), k = (u / blocks) % GR, i0 = (u % blocks) * rowBlock
                let rows = min(rowBlock, D - i0)
                let column = (k + rOff) * N * D + n * D + i0
                // sums[panel][row][8]: a tile's 6 rows of one panel are contiguous.
                withUnsafeTemporaryAllocation(of: Double.self, capacity: panels * rows * 8) { scratch in
                    let sums = scratch.baseAddress!
                    sums.initialize(repeating: 0, count: panels * rows * 8)
                    // Every tile of the unit over `k` rows: dG from `a` (rows aStep apart), h from `h`.
                    func tiles(a: UnsafePointer<Float>, aStep: Int, h: UnsafePointer<Float>, hStep: Int, k: Int) {
                        for j in 0..<panels {
                            var i = 0
                            while i < rows {
                                wideProductTile6x1(rows: min(6, rows - i), k: k,
                                                   WideProductOperands(a: a + i, aStep: aStep, b: h + j * 8, bStep: hStep,
                                                                       lanes: min(8, D - j * 8), c: sums + (j * rows + i) * 8))
                                i += 6
                            }
                        }
                    }
                    for b in 0..<B {
                        // Rows t = 1…T−1: h_{t-1} is in the states, rows N·D apart.
                        var p0 = 1
                        while p0 < T {
                            let k = min(depth, T - p0)
                            tiles(a: x.dPre + L.pre(b, p0) + column, aStep: GT * N * D,
                                  h: x.states + L.state(0, b, p0 - 1) + n * D, hStep: N * D, k: k)
                            p0 += k
                        }
                    }
                    // Rows t = 0 of every b: h_{-1} is the initial state.
                    tiles(a: x.dPre + L.pre(0, 0) + column, aStep: T * GT * N * D,
                          h: x.s0 + L.initial(0, 0) + n * D, hStep: N * D, k: B)
                    let c = out.base + ((k * N + n) * D + i0) * D
                    for j in 0..<panels {
                        let lanes = min(8, D - j * 8)
                        for i in 0..<rows {
                            let v = UnsafeRawPointer(sums + (j * rows + i) * 8).loadUnaligned(as: Double8.self)
                            storeFloat8(rounded(v), c + i * D + j * 8, count: lanes)
                        }
                    }
                }
            }
        } } } }
        return dR
    }
}
